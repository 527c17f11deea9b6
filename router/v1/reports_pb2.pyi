import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from router.v1 import common_pb2 as _common_pb2
from router.v1 import usage_pb2 as _usage_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SpendDimension(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPEND_DIMENSION_UNSPECIFIED: _ClassVar[SpendDimension]
    SPEND_DIMENSION_TEAM: _ClassVar[SpendDimension]
    SPEND_DIMENSION_AGENT: _ClassVar[SpendDimension]
    SPEND_DIMENSION_USER: _ClassVar[SpendDimension]
    SPEND_DIMENSION_TASK_ID: _ClassVar[SpendDimension]
    SPEND_DIMENSION_TASK_TYPE: _ClassVar[SpendDimension]
    SPEND_DIMENSION_MODEL: _ClassVar[SpendDimension]
    SPEND_DIMENSION_PROVIDER: _ClassVar[SpendDimension]
    SPEND_DIMENSION_COST_KIND: _ClassVar[SpendDimension]

class TimeBucket(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIME_BUCKET_UNSPECIFIED: _ClassVar[TimeBucket]
    TIME_BUCKET_HOUR: _ClassVar[TimeBucket]
    TIME_BUCKET_DAY: _ClassVar[TimeBucket]
    TIME_BUCKET_WEEK: _ClassVar[TimeBucket]
    TIME_BUCKET_MONTH: _ClassVar[TimeBucket]
SPEND_DIMENSION_UNSPECIFIED: SpendDimension
SPEND_DIMENSION_TEAM: SpendDimension
SPEND_DIMENSION_AGENT: SpendDimension
SPEND_DIMENSION_USER: SpendDimension
SPEND_DIMENSION_TASK_ID: SpendDimension
SPEND_DIMENSION_TASK_TYPE: SpendDimension
SPEND_DIMENSION_MODEL: SpendDimension
SPEND_DIMENSION_PROVIDER: SpendDimension
SPEND_DIMENSION_COST_KIND: SpendDimension
TIME_BUCKET_UNSPECIFIED: TimeBucket
TIME_BUCKET_HOUR: TimeBucket
TIME_BUCKET_DAY: TimeBucket
TIME_BUCKET_WEEK: TimeBucket
TIME_BUCKET_MONTH: TimeBucket

class GetSavingsRequest(_message.Message):
    __slots__ = ("start_time", "end_time", "baseline_model")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    BASELINE_MODEL_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    baseline_model: str
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., baseline_model: _Optional[str] = ...) -> None: ...

class SavingsLine(_message.Message):
    __slots__ = ("team", "agent", "calls", "actual_cost", "counterfactual_cost", "savings", "savings_ratio")
    TEAM_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_COST_FIELD_NUMBER: _ClassVar[int]
    COUNTERFACTUAL_COST_FIELD_NUMBER: _ClassVar[int]
    SAVINGS_FIELD_NUMBER: _ClassVar[int]
    SAVINGS_RATIO_FIELD_NUMBER: _ClassVar[int]
    team: str
    agent: str
    calls: int
    actual_cost: _common_pb2.Money
    counterfactual_cost: _common_pb2.Money
    savings: _common_pb2.Money
    savings_ratio: float
    def __init__(self, team: _Optional[str] = ..., agent: _Optional[str] = ..., calls: _Optional[int] = ..., actual_cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., counterfactual_cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., savings: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., savings_ratio: _Optional[float] = ...) -> None: ...

class GetSavingsResponse(_message.Message):
    __slots__ = ("baseline_model", "total", "by_team", "by_agent")
    BASELINE_MODEL_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    BY_TEAM_FIELD_NUMBER: _ClassVar[int]
    BY_AGENT_FIELD_NUMBER: _ClassVar[int]
    baseline_model: str
    total: SavingsLine
    by_team: _containers.RepeatedCompositeFieldContainer[SavingsLine]
    by_agent: _containers.RepeatedCompositeFieldContainer[SavingsLine]
    def __init__(self, baseline_model: _Optional[str] = ..., total: _Optional[_Union[SavingsLine, _Mapping]] = ..., by_team: _Optional[_Iterable[_Union[SavingsLine, _Mapping]]] = ..., by_agent: _Optional[_Iterable[_Union[SavingsLine, _Mapping]]] = ...) -> None: ...

class QuerySpendRequest(_message.Message):
    __slots__ = ("start_time", "end_time", "group_by", "bucket", "time_zone", "filter", "model", "provider")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    group_by: _containers.RepeatedScalarFieldContainer[SpendDimension]
    bucket: TimeBucket
    time_zone: str
    filter: _common_pb2.Attribution
    model: str
    provider: str
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., group_by: _Optional[_Iterable[_Union[SpendDimension, str]]] = ..., bucket: _Optional[_Union[TimeBucket, str]] = ..., time_zone: _Optional[str] = ..., filter: _Optional[_Union[_common_pb2.Attribution, _Mapping]] = ..., model: _Optional[str] = ..., provider: _Optional[str] = ...) -> None: ...

class SpendRow(_message.Message):
    __slots__ = ("team", "agent", "user", "task_id", "task_type", "model", "provider", "cost_kind", "bucket_start", "calls", "tokens", "cost", "predicted_cost", "actual_cost_of_predicted", "predicted_calls", "mape", "bias", "failures", "review_calls", "review_seconds", "tool_calls", "quality_mean", "quality_count")
    TEAM_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    COST_KIND_FIELD_NUMBER: _ClassVar[int]
    BUCKET_START_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_COST_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_COST_OF_PREDICTED_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_CALLS_FIELD_NUMBER: _ClassVar[int]
    MAPE_FIELD_NUMBER: _ClassVar[int]
    BIAS_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    REVIEW_CALLS_FIELD_NUMBER: _ClassVar[int]
    REVIEW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    QUALITY_MEAN_FIELD_NUMBER: _ClassVar[int]
    QUALITY_COUNT_FIELD_NUMBER: _ClassVar[int]
    team: str
    agent: str
    user: str
    task_id: str
    task_type: str
    model: str
    provider: str
    cost_kind: str
    bucket_start: _timestamp_pb2.Timestamp
    calls: int
    tokens: _usage_pb2.TokenUsage
    cost: _usage_pb2.CostBreakdown
    predicted_cost: _common_pb2.Money
    actual_cost_of_predicted: _common_pb2.Money
    predicted_calls: int
    mape: float
    bias: float
    failures: int
    review_calls: int
    review_seconds: float
    tool_calls: int
    quality_mean: float
    quality_count: int
    def __init__(self, team: _Optional[str] = ..., agent: _Optional[str] = ..., user: _Optional[str] = ..., task_id: _Optional[str] = ..., task_type: _Optional[str] = ..., model: _Optional[str] = ..., provider: _Optional[str] = ..., cost_kind: _Optional[str] = ..., bucket_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., calls: _Optional[int] = ..., tokens: _Optional[_Union[_usage_pb2.TokenUsage, _Mapping]] = ..., cost: _Optional[_Union[_usage_pb2.CostBreakdown, _Mapping]] = ..., predicted_cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., actual_cost_of_predicted: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., predicted_calls: _Optional[int] = ..., mape: _Optional[float] = ..., bias: _Optional[float] = ..., failures: _Optional[int] = ..., review_calls: _Optional[int] = ..., review_seconds: _Optional[float] = ..., tool_calls: _Optional[int] = ..., quality_mean: _Optional[float] = ..., quality_count: _Optional[int] = ...) -> None: ...

class QuerySpendResponse(_message.Message):
    __slots__ = ("rows", "total")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[SpendRow]
    total: SpendRow
    def __init__(self, rows: _Optional[_Iterable[_Union[SpendRow, _Mapping]]] = ..., total: _Optional[_Union[SpendRow, _Mapping]] = ...) -> None: ...

class ListFocusChargesRequest(_message.Message):
    __slots__ = ("start_time", "end_time", "filter", "model", "provider", "page_size", "page_token")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    filter: _common_pb2.Attribution
    model: str
    provider: str
    page_size: int
    page_token: str
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., filter: _Optional[_Union[_common_pb2.Attribution, _Mapping]] = ..., model: _Optional[str] = ..., provider: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class FocusCharge(_message.Message):
    __slots__ = ("usage_id", "decision_id", "cost_kind", "cost", "occurred_time", "provider", "model", "attribution", "consumed_quantity", "consumed_unit", "tokens")
    USAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    COST_KIND_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_TIME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    CONSUMED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    CONSUMED_UNIT_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    usage_id: str
    decision_id: str
    cost_kind: str
    cost: _common_pb2.Money
    occurred_time: _timestamp_pb2.Timestamp
    provider: str
    model: str
    attribution: _common_pb2.Attribution
    consumed_quantity: str
    consumed_unit: str
    tokens: _usage_pb2.TokenUsage
    def __init__(self, usage_id: _Optional[str] = ..., decision_id: _Optional[str] = ..., cost_kind: _Optional[str] = ..., cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., occurred_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., attribution: _Optional[_Union[_common_pb2.Attribution, _Mapping]] = ..., consumed_quantity: _Optional[str] = ..., consumed_unit: _Optional[str] = ..., tokens: _Optional[_Union[_usage_pb2.TokenUsage, _Mapping]] = ...) -> None: ...

class ListFocusChargesResponse(_message.Message):
    __slots__ = ("charges", "next_page_token", "focus_version")
    CHARGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FOCUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    charges: _containers.RepeatedCompositeFieldContainer[FocusCharge]
    next_page_token: str
    focus_version: str
    def __init__(self, charges: _Optional[_Iterable[_Union[FocusCharge, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., focus_version: _Optional[str] = ...) -> None: ...
