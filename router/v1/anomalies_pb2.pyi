import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AnomalyKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ANOMALY_KIND_UNSPECIFIED: _ClassVar[AnomalyKind]
    ANOMALY_KIND_SPEND_SPIKE: _ClassVar[AnomalyKind]
    ANOMALY_KIND_NEW_AGENT_SPEND: _ClassVar[AnomalyKind]
    ANOMALY_KIND_COST_PER_CALL_RISE: _ClassVar[AnomalyKind]
    ANOMALY_KIND_RETRY_LOOP: _ClassVar[AnomalyKind]
    ANOMALY_KIND_PREDICTION_DRIFT: _ClassVar[AnomalyKind]
    ANOMALY_KIND_BUDGET_FORECAST: _ClassVar[AnomalyKind]
ANOMALY_KIND_UNSPECIFIED: AnomalyKind
ANOMALY_KIND_SPEND_SPIKE: AnomalyKind
ANOMALY_KIND_NEW_AGENT_SPEND: AnomalyKind
ANOMALY_KIND_COST_PER_CALL_RISE: AnomalyKind
ANOMALY_KIND_RETRY_LOOP: AnomalyKind
ANOMALY_KIND_PREDICTION_DRIFT: AnomalyKind
ANOMALY_KIND_BUDGET_FORECAST: AnomalyKind

class Anomaly(_message.Message):
    __slots__ = ("id", "kind", "team", "agent", "task_id", "window_start", "window_end", "observed", "baseline", "message", "evidence", "detected_at")
    class EvidenceEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    DETECTED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: AnomalyKind
    team: str
    agent: str
    task_id: str
    window_start: _timestamp_pb2.Timestamp
    window_end: _timestamp_pb2.Timestamp
    observed: float
    baseline: float
    message: str
    evidence: _containers.ScalarMap[str, str]
    detected_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[AnomalyKind, str]] = ..., team: _Optional[str] = ..., agent: _Optional[str] = ..., task_id: _Optional[str] = ..., window_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., observed: _Optional[float] = ..., baseline: _Optional[float] = ..., message: _Optional[str] = ..., evidence: _Optional[_Mapping[str, str]] = ..., detected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListAnomaliesRequest(_message.Message):
    __slots__ = ("since", "kinds", "page_size")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    kinds: _containers.RepeatedScalarFieldContainer[AnomalyKind]
    page_size: int
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kinds: _Optional[_Iterable[_Union[AnomalyKind, str]]] = ..., page_size: _Optional[int] = ...) -> None: ...

class ListAnomaliesResponse(_message.Message):
    __slots__ = ("anomalies",)
    ANOMALIES_FIELD_NUMBER: _ClassVar[int]
    anomalies: _containers.RepeatedCompositeFieldContainer[Anomaly]
    def __init__(self, anomalies: _Optional[_Iterable[_Union[Anomaly, _Mapping]]] = ...) -> None: ...

class DetectAnomaliesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DetectAnomaliesResponse(_message.Message):
    __slots__ = ("anomalies",)
    ANOMALIES_FIELD_NUMBER: _ClassVar[int]
    anomalies: _containers.RepeatedCompositeFieldContainer[Anomaly]
    def __init__(self, anomalies: _Optional[_Iterable[_Union[Anomaly, _Mapping]]] = ...) -> None: ...

class WatchAnomaliesRequest(_message.Message):
    __slots__ = ("kinds", "since")
    KINDS_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    kinds: _containers.RepeatedScalarFieldContainer[AnomalyKind]
    since: _timestamp_pb2.Timestamp
    def __init__(self, kinds: _Optional[_Iterable[_Union[AnomalyKind, str]]] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
