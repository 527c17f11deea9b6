import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from router.v1 import budgets_pb2 as _budgets_pb2
from router.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    OUTCOME_SUCCESS: _ClassVar[Outcome]
    OUTCOME_FAILURE: _ClassVar[Outcome]
    OUTCOME_RETRY: _ClassVar[Outcome]
OUTCOME_UNSPECIFIED: Outcome
OUTCOME_SUCCESS: Outcome
OUTCOME_FAILURE: Outcome
OUTCOME_RETRY: Outcome

class TokenUsage(_message.Message):
    __slots__ = ("input", "cached_input", "output", "reasoning", "cache_write")
    INPUT_FIELD_NUMBER: _ClassVar[int]
    CACHED_INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_FIELD_NUMBER: _ClassVar[int]
    input: int
    cached_input: int
    output: int
    reasoning: int
    cache_write: int
    def __init__(self, input: _Optional[int] = ..., cached_input: _Optional[int] = ..., output: _Optional[int] = ..., reasoning: _Optional[int] = ..., cache_write: _Optional[int] = ...) -> None: ...

class ToolCall(_message.Message):
    __slots__ = ("name", "count", "cost")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    name: str
    count: int
    cost: _common_pb2.Money
    def __init__(self, name: _Optional[str] = ..., count: _Optional[int] = ..., cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class Compute(_message.Message):
    __slots__ = ("cpu_seconds", "gpu_seconds", "cost", "memory_gb_seconds")
    CPU_SECONDS_FIELD_NUMBER: _ClassVar[int]
    GPU_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    MEMORY_GB_SECONDS_FIELD_NUMBER: _ClassVar[int]
    cpu_seconds: float
    gpu_seconds: float
    cost: _common_pb2.Money
    memory_gb_seconds: float
    def __init__(self, cpu_seconds: _Optional[float] = ..., gpu_seconds: _Optional[float] = ..., cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., memory_gb_seconds: _Optional[float] = ...) -> None: ...

class HumanReview(_message.Message):
    __slots__ = ("seconds", "hourly_rate")
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    HOURLY_RATE_FIELD_NUMBER: _ClassVar[int]
    seconds: float
    hourly_rate: _common_pb2.Money
    def __init__(self, seconds: _Optional[float] = ..., hourly_rate: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class ReportUsageRequest(_message.Message):
    __slots__ = ("usage_id", "decision_id", "attribution", "model", "tokens", "tool_calls", "compute", "human_review", "outcome", "latency_ms", "actual_cost", "occurred_at", "decision_token", "quality")
    USAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_FIELD_NUMBER: _ClassVar[int]
    HUMAN_REVIEW_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_COST_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    DECISION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    usage_id: str
    decision_id: str
    attribution: _common_pb2.Attribution
    model: str
    tokens: TokenUsage
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    compute: Compute
    human_review: HumanReview
    outcome: Outcome
    latency_ms: int
    actual_cost: _common_pb2.Money
    occurred_at: _timestamp_pb2.Timestamp
    decision_token: str
    quality: float
    def __init__(self, usage_id: _Optional[str] = ..., decision_id: _Optional[str] = ..., attribution: _Optional[_Union[_common_pb2.Attribution, _Mapping]] = ..., model: _Optional[str] = ..., tokens: _Optional[_Union[TokenUsage, _Mapping]] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., compute: _Optional[_Union[Compute, _Mapping]] = ..., human_review: _Optional[_Union[HumanReview, _Mapping]] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., latency_ms: _Optional[int] = ..., actual_cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decision_token: _Optional[str] = ..., quality: _Optional[float] = ...) -> None: ...

class CostBreakdown(_message.Message):
    __slots__ = ("tokens", "tools", "compute", "human_review", "total")
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_FIELD_NUMBER: _ClassVar[int]
    HUMAN_REVIEW_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    tokens: _common_pb2.Money
    tools: _common_pb2.Money
    compute: _common_pb2.Money
    human_review: _common_pb2.Money
    total: _common_pb2.Money
    def __init__(self, tokens: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., tools: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., compute: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., human_review: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class PredictionError(_message.Message):
    __slots__ = ("predicted_cost", "cost_error", "cost_error_ratio", "output_tokens_error")
    PREDICTED_COST_FIELD_NUMBER: _ClassVar[int]
    COST_ERROR_FIELD_NUMBER: _ClassVar[int]
    COST_ERROR_RATIO_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_ERROR_FIELD_NUMBER: _ClassVar[int]
    predicted_cost: _common_pb2.Money
    cost_error: _common_pb2.Money
    cost_error_ratio: float
    output_tokens_error: int
    def __init__(self, predicted_cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., cost_error: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., cost_error_ratio: _Optional[float] = ..., output_tokens_error: _Optional[int] = ...) -> None: ...

class ReportUsageResponse(_message.Message):
    __slots__ = ("usage_id", "decision_id", "cost", "prediction_error", "replayed", "recorded_at", "budgets")
    USAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    PREDICTION_ERROR_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    BUDGETS_FIELD_NUMBER: _ClassVar[int]
    usage_id: str
    decision_id: str
    cost: CostBreakdown
    prediction_error: PredictionError
    replayed: bool
    recorded_at: _timestamp_pb2.Timestamp
    budgets: _containers.RepeatedCompositeFieldContainer[_budgets_pb2.BudgetStatus]
    def __init__(self, usage_id: _Optional[str] = ..., decision_id: _Optional[str] = ..., cost: _Optional[_Union[CostBreakdown, _Mapping]] = ..., prediction_error: _Optional[_Union[PredictionError, _Mapping]] = ..., replayed: _Optional[bool] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., budgets: _Optional[_Iterable[_Union[_budgets_pb2.BudgetStatus, _Mapping]]] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("usage_id", "model", "tokens", "cost", "outcome", "latency_ms", "recorded_at", "quality")
    USAGE_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    usage_id: str
    model: str
    tokens: TokenUsage
    cost: CostBreakdown
    outcome: Outcome
    latency_ms: int
    recorded_at: _timestamp_pb2.Timestamp
    quality: float
    def __init__(self, usage_id: _Optional[str] = ..., model: _Optional[str] = ..., tokens: _Optional[_Union[TokenUsage, _Mapping]] = ..., cost: _Optional[_Union[CostBreakdown, _Mapping]] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., latency_ms: _Optional[int] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., quality: _Optional[float] = ...) -> None: ...
