import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReportFeedbackRequest(_message.Message):
    __slots__ = ("feedback_id", "decision_id", "usage_id", "score", "source", "comment", "occurred_at")
    FEEDBACK_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    USAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    feedback_id: str
    decision_id: str
    usage_id: str
    score: float
    source: str
    comment: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, feedback_id: _Optional[str] = ..., decision_id: _Optional[str] = ..., usage_id: _Optional[str] = ..., score: _Optional[float] = ..., source: _Optional[str] = ..., comment: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReportFeedbackResponse(_message.Message):
    __slots__ = ("feedback_id", "decision_id", "replayed", "recorded_at")
    FEEDBACK_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    feedback_id: str
    decision_id: str
    replayed: bool
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, feedback_id: _Optional[str] = ..., decision_id: _Optional[str] = ..., replayed: _Optional[bool] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Feedback(_message.Message):
    __slots__ = ("feedback_id", "score", "source", "comment", "usage_id", "recorded_at", "occurred_at")
    FEEDBACK_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    USAGE_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    feedback_id: str
    score: float
    source: str
    comment: str
    usage_id: str
    recorded_at: _timestamp_pb2.Timestamp
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, feedback_id: _Optional[str] = ..., score: _Optional[float] = ..., source: _Optional[str] = ..., comment: _Optional[str] = ..., usage_id: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class QualitySummary(_message.Message):
    __slots__ = ("mean", "count")
    MEAN_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    mean: float
    count: int
    def __init__(self, mean: _Optional[float] = ..., count: _Optional[int] = ...) -> None: ...
