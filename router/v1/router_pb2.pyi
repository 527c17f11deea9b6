import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Capability(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAPABILITY_UNSPECIFIED: _ClassVar[Capability]
    CAPABILITY_TOOLS: _ClassVar[Capability]
    CAPABILITY_VISION: _ClassVar[Capability]
    CAPABILITY_JSON: _ClassVar[Capability]
    CAPABILITY_REASONING: _ClassVar[Capability]
    CAPABILITY_CODE: _ClassVar[Capability]
    CAPABILITY_LONG_CONTEXT: _ClassVar[Capability]
    CAPABILITY_AUDIO: _ClassVar[Capability]

class ReasonCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REASON_CODE_UNSPECIFIED: _ClassVar[ReasonCode]
    REASON_CODE_CHEAPEST_ADEQUATE: _ClassVar[ReasonCode]
    REASON_CODE_BEST_AFFORDABLE: _ClassVar[ReasonCode]
    REASON_CODE_ONLY_CANDIDATE: _ClassVar[ReasonCode]

class Exclusion(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXCLUSION_UNSPECIFIED: _ClassVar[Exclusion]
    EXCLUSION_OVER_BUDGET: _ClassVar[Exclusion]
    EXCLUSION_BELOW_QUALITY: _ClassVar[Exclusion]
    EXCLUSION_MISSING_CAPABILITY: _ClassVar[Exclusion]
    EXCLUSION_CONTEXT_TOO_SMALL: _ClassVar[Exclusion]
    EXCLUSION_NOT_ALLOWED: _ClassVar[Exclusion]

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    OUTCOME_SUCCESS: _ClassVar[Outcome]
    OUTCOME_FAILURE: _ClassVar[Outcome]
    OUTCOME_RETRY: _ClassVar[Outcome]

class BudgetWindow(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUDGET_WINDOW_UNSPECIFIED: _ClassVar[BudgetWindow]
    BUDGET_WINDOW_HOUR: _ClassVar[BudgetWindow]
    BUDGET_WINDOW_DAY: _ClassVar[BudgetWindow]
    BUDGET_WINDOW_WEEK: _ClassVar[BudgetWindow]
    BUDGET_WINDOW_MONTH: _ClassVar[BudgetWindow]
    BUDGET_WINDOW_TOTAL: _ClassVar[BudgetWindow]

class ExhaustedAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXHAUSTED_ACTION_UNSPECIFIED: _ClassVar[ExhaustedAction]
    EXHAUSTED_ACTION_BLOCK: _ClassVar[ExhaustedAction]
    EXHAUSTED_ACTION_DOWNGRADE: _ClassVar[ExhaustedAction]

class BudgetSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUDGET_SOURCE_UNSPECIFIED: _ClassVar[BudgetSource]
    BUDGET_SOURCE_FILE: _ClassVar[BudgetSource]
    BUDGET_SOURCE_API: _ClassVar[BudgetSource]

class BudgetState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUDGET_STATE_UNSPECIFIED: _ClassVar[BudgetState]
    BUDGET_STATE_OK: _ClassVar[BudgetState]
    BUDGET_STATE_ALERT: _ClassVar[BudgetState]
    BUDGET_STATE_DOWNGRADE: _ClassVar[BudgetState]
    BUDGET_STATE_THROTTLE: _ClassVar[BudgetState]
    BUDGET_STATE_EXHAUSTED: _ClassVar[BudgetState]

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

class AnomalyKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ANOMALY_KIND_UNSPECIFIED: _ClassVar[AnomalyKind]
    ANOMALY_KIND_SPEND_SPIKE: _ClassVar[AnomalyKind]
    ANOMALY_KIND_NEW_AGENT_SPEND: _ClassVar[AnomalyKind]
    ANOMALY_KIND_COST_PER_CALL_RISE: _ClassVar[AnomalyKind]
    ANOMALY_KIND_RETRY_LOOP: _ClassVar[AnomalyKind]
    ANOMALY_KIND_PREDICTION_DRIFT: _ClassVar[AnomalyKind]
CAPABILITY_UNSPECIFIED: Capability
CAPABILITY_TOOLS: Capability
CAPABILITY_VISION: Capability
CAPABILITY_JSON: Capability
CAPABILITY_REASONING: Capability
CAPABILITY_CODE: Capability
CAPABILITY_LONG_CONTEXT: Capability
CAPABILITY_AUDIO: Capability
REASON_CODE_UNSPECIFIED: ReasonCode
REASON_CODE_CHEAPEST_ADEQUATE: ReasonCode
REASON_CODE_BEST_AFFORDABLE: ReasonCode
REASON_CODE_ONLY_CANDIDATE: ReasonCode
EXCLUSION_UNSPECIFIED: Exclusion
EXCLUSION_OVER_BUDGET: Exclusion
EXCLUSION_BELOW_QUALITY: Exclusion
EXCLUSION_MISSING_CAPABILITY: Exclusion
EXCLUSION_CONTEXT_TOO_SMALL: Exclusion
EXCLUSION_NOT_ALLOWED: Exclusion
OUTCOME_UNSPECIFIED: Outcome
OUTCOME_SUCCESS: Outcome
OUTCOME_FAILURE: Outcome
OUTCOME_RETRY: Outcome
BUDGET_WINDOW_UNSPECIFIED: BudgetWindow
BUDGET_WINDOW_HOUR: BudgetWindow
BUDGET_WINDOW_DAY: BudgetWindow
BUDGET_WINDOW_WEEK: BudgetWindow
BUDGET_WINDOW_MONTH: BudgetWindow
BUDGET_WINDOW_TOTAL: BudgetWindow
EXHAUSTED_ACTION_UNSPECIFIED: ExhaustedAction
EXHAUSTED_ACTION_BLOCK: ExhaustedAction
EXHAUSTED_ACTION_DOWNGRADE: ExhaustedAction
BUDGET_SOURCE_UNSPECIFIED: BudgetSource
BUDGET_SOURCE_FILE: BudgetSource
BUDGET_SOURCE_API: BudgetSource
BUDGET_STATE_UNSPECIFIED: BudgetState
BUDGET_STATE_OK: BudgetState
BUDGET_STATE_ALERT: BudgetState
BUDGET_STATE_DOWNGRADE: BudgetState
BUDGET_STATE_THROTTLE: BudgetState
BUDGET_STATE_EXHAUSTED: BudgetState
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
ANOMALY_KIND_UNSPECIFIED: AnomalyKind
ANOMALY_KIND_SPEND_SPIKE: AnomalyKind
ANOMALY_KIND_NEW_AGENT_SPEND: AnomalyKind
ANOMALY_KIND_COST_PER_CALL_RISE: AnomalyKind
ANOMALY_KIND_RETRY_LOOP: AnomalyKind
ANOMALY_KIND_PREDICTION_DRIFT: AnomalyKind

class Money(_message.Message):
    __slots__ = ("currency_code", "nanos")
    CURRENCY_CODE_FIELD_NUMBER: _ClassVar[int]
    NANOS_FIELD_NUMBER: _ClassVar[int]
    currency_code: str
    nanos: int
    def __init__(self, currency_code: _Optional[str] = ..., nanos: _Optional[int] = ...) -> None: ...

class Attribution(_message.Message):
    __slots__ = ("team", "agent", "task_id", "task_type", "user", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TEAM_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    team: str
    agent: str
    task_id: str
    task_type: str
    user: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, team: _Optional[str] = ..., agent: _Optional[str] = ..., task_id: _Optional[str] = ..., task_type: _Optional[str] = ..., user: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RouteRequest(_message.Message):
    __slots__ = ("request_id", "task_description", "attribution", "remaining_budget", "estimated_input_tokens", "max_output_tokens", "quality_target", "capabilities", "min_context_tokens", "allowed_models", "excluded_models")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    REMAINING_BUDGET_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    QUALITY_TARGET_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    MIN_CONTEXT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_MODELS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_MODELS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    task_description: str
    attribution: Attribution
    remaining_budget: Money
    estimated_input_tokens: int
    max_output_tokens: int
    quality_target: float
    capabilities: _containers.RepeatedScalarFieldContainer[Capability]
    min_context_tokens: int
    allowed_models: _containers.RepeatedScalarFieldContainer[str]
    excluded_models: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., task_description: _Optional[str] = ..., attribution: _Optional[_Union[Attribution, _Mapping]] = ..., remaining_budget: _Optional[_Union[Money, _Mapping]] = ..., estimated_input_tokens: _Optional[int] = ..., max_output_tokens: _Optional[int] = ..., quality_target: _Optional[float] = ..., capabilities: _Optional[_Iterable[_Union[Capability, str]]] = ..., min_context_tokens: _Optional[int] = ..., allowed_models: _Optional[_Iterable[str]] = ..., excluded_models: _Optional[_Iterable[str]] = ...) -> None: ...

class Complexity(_message.Message):
    __slots__ = ("label", "score")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    label: str
    score: float
    def __init__(self, label: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class Prediction(_message.Message):
    __slots__ = ("complexity", "input_tokens", "output_tokens", "cost", "quality")
    COMPLEXITY_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    complexity: Complexity
    input_tokens: int
    output_tokens: int
    cost: Money
    quality: float
    def __init__(self, complexity: _Optional[_Union[Complexity, _Mapping]] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost: _Optional[_Union[Money, _Mapping]] = ..., quality: _Optional[float] = ...) -> None: ...

class Reason(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: ReasonCode
    message: str
    def __init__(self, code: _Optional[_Union[ReasonCode, str]] = ..., message: _Optional[str] = ...) -> None: ...

class Candidate(_message.Message):
    __slots__ = ("model", "provider", "predicted_quality", "predicted_output_tokens", "predicted_cost", "exclusion")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_QUALITY_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_COST_FIELD_NUMBER: _ClassVar[int]
    EXCLUSION_FIELD_NUMBER: _ClassVar[int]
    model: str
    provider: str
    predicted_quality: float
    predicted_output_tokens: int
    predicted_cost: Money
    exclusion: Exclusion
    def __init__(self, model: _Optional[str] = ..., provider: _Optional[str] = ..., predicted_quality: _Optional[float] = ..., predicted_output_tokens: _Optional[int] = ..., predicted_cost: _Optional[_Union[Money, _Mapping]] = ..., exclusion: _Optional[_Union[Exclusion, str]] = ...) -> None: ...

class RouteResponse(_message.Message):
    __slots__ = ("decision_id", "model", "provider", "predicted", "fallbacks", "reason", "candidates", "quality_target", "classifier_version", "budgets")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_FIELD_NUMBER: _ClassVar[int]
    FALLBACKS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    QUALITY_TARGET_FIELD_NUMBER: _ClassVar[int]
    CLASSIFIER_VERSION_FIELD_NUMBER: _ClassVar[int]
    BUDGETS_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    model: str
    provider: str
    predicted: Prediction
    fallbacks: _containers.RepeatedScalarFieldContainer[str]
    reason: Reason
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    quality_target: float
    classifier_version: str
    budgets: _containers.RepeatedCompositeFieldContainer[BudgetStatus]
    def __init__(self, decision_id: _Optional[str] = ..., model: _Optional[str] = ..., provider: _Optional[str] = ..., predicted: _Optional[_Union[Prediction, _Mapping]] = ..., fallbacks: _Optional[_Iterable[str]] = ..., reason: _Optional[_Union[Reason, _Mapping]] = ..., candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., quality_target: _Optional[float] = ..., classifier_version: _Optional[str] = ..., budgets: _Optional[_Iterable[_Union[BudgetStatus, _Mapping]]] = ...) -> None: ...

class TokenUsage(_message.Message):
    __slots__ = ("input", "cached_input", "output", "reasoning")
    INPUT_FIELD_NUMBER: _ClassVar[int]
    CACHED_INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    input: int
    cached_input: int
    output: int
    reasoning: int
    def __init__(self, input: _Optional[int] = ..., cached_input: _Optional[int] = ..., output: _Optional[int] = ..., reasoning: _Optional[int] = ...) -> None: ...

class ToolCall(_message.Message):
    __slots__ = ("name", "count", "cost")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    name: str
    count: int
    cost: Money
    def __init__(self, name: _Optional[str] = ..., count: _Optional[int] = ..., cost: _Optional[_Union[Money, _Mapping]] = ...) -> None: ...

class Compute(_message.Message):
    __slots__ = ("cpu_seconds", "gpu_seconds", "cost")
    CPU_SECONDS_FIELD_NUMBER: _ClassVar[int]
    GPU_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    cpu_seconds: float
    gpu_seconds: float
    cost: Money
    def __init__(self, cpu_seconds: _Optional[float] = ..., gpu_seconds: _Optional[float] = ..., cost: _Optional[_Union[Money, _Mapping]] = ...) -> None: ...

class HumanReview(_message.Message):
    __slots__ = ("seconds", "hourly_rate")
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    HOURLY_RATE_FIELD_NUMBER: _ClassVar[int]
    seconds: float
    hourly_rate: Money
    def __init__(self, seconds: _Optional[float] = ..., hourly_rate: _Optional[_Union[Money, _Mapping]] = ...) -> None: ...

class ReportUsageRequest(_message.Message):
    __slots__ = ("usage_id", "decision_id", "attribution", "model", "tokens", "tool_calls", "compute", "human_review", "outcome", "latency_ms", "actual_cost", "occurred_at")
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
    usage_id: str
    decision_id: str
    attribution: Attribution
    model: str
    tokens: TokenUsage
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    compute: Compute
    human_review: HumanReview
    outcome: Outcome
    latency_ms: int
    actual_cost: Money
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, usage_id: _Optional[str] = ..., decision_id: _Optional[str] = ..., attribution: _Optional[_Union[Attribution, _Mapping]] = ..., model: _Optional[str] = ..., tokens: _Optional[_Union[TokenUsage, _Mapping]] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., compute: _Optional[_Union[Compute, _Mapping]] = ..., human_review: _Optional[_Union[HumanReview, _Mapping]] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., latency_ms: _Optional[int] = ..., actual_cost: _Optional[_Union[Money, _Mapping]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CostBreakdown(_message.Message):
    __slots__ = ("tokens", "tools", "compute", "human_review", "total")
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_FIELD_NUMBER: _ClassVar[int]
    HUMAN_REVIEW_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    tokens: Money
    tools: Money
    compute: Money
    human_review: Money
    total: Money
    def __init__(self, tokens: _Optional[_Union[Money, _Mapping]] = ..., tools: _Optional[_Union[Money, _Mapping]] = ..., compute: _Optional[_Union[Money, _Mapping]] = ..., human_review: _Optional[_Union[Money, _Mapping]] = ..., total: _Optional[_Union[Money, _Mapping]] = ...) -> None: ...

class PredictionError(_message.Message):
    __slots__ = ("predicted_cost", "cost_error", "cost_error_ratio", "output_tokens_error")
    PREDICTED_COST_FIELD_NUMBER: _ClassVar[int]
    COST_ERROR_FIELD_NUMBER: _ClassVar[int]
    COST_ERROR_RATIO_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_ERROR_FIELD_NUMBER: _ClassVar[int]
    predicted_cost: Money
    cost_error: Money
    cost_error_ratio: float
    output_tokens_error: int
    def __init__(self, predicted_cost: _Optional[_Union[Money, _Mapping]] = ..., cost_error: _Optional[_Union[Money, _Mapping]] = ..., cost_error_ratio: _Optional[float] = ..., output_tokens_error: _Optional[int] = ...) -> None: ...

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
    budgets: _containers.RepeatedCompositeFieldContainer[BudgetStatus]
    def __init__(self, usage_id: _Optional[str] = ..., decision_id: _Optional[str] = ..., cost: _Optional[_Union[CostBreakdown, _Mapping]] = ..., prediction_error: _Optional[_Union[PredictionError, _Mapping]] = ..., replayed: _Optional[bool] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., budgets: _Optional[_Iterable[_Union[BudgetStatus, _Mapping]]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("include_disabled",)
    INCLUDE_DISABLED_FIELD_NUMBER: _ClassVar[int]
    include_disabled: bool
    def __init__(self, include_disabled: _Optional[bool] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("id", "provider", "input_price_per_mtok", "cached_input_price_per_mtok", "output_price_per_mtok", "reasoning_price_per_mtok", "context_window", "max_output_tokens", "capabilities", "aliases", "enabled")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    INPUT_PRICE_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    CACHED_INPUT_PRICE_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PRICE_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    REASONING_PRICE_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_WINDOW_FIELD_NUMBER: _ClassVar[int]
    MAX_OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    id: str
    provider: str
    input_price_per_mtok: Money
    cached_input_price_per_mtok: Money
    output_price_per_mtok: Money
    reasoning_price_per_mtok: Money
    context_window: int
    max_output_tokens: int
    capabilities: _containers.RepeatedScalarFieldContainer[Capability]
    aliases: _containers.RepeatedScalarFieldContainer[str]
    enabled: bool
    def __init__(self, id: _Optional[str] = ..., provider: _Optional[str] = ..., input_price_per_mtok: _Optional[_Union[Money, _Mapping]] = ..., cached_input_price_per_mtok: _Optional[_Union[Money, _Mapping]] = ..., output_price_per_mtok: _Optional[_Union[Money, _Mapping]] = ..., reasoning_price_per_mtok: _Optional[_Union[Money, _Mapping]] = ..., context_window: _Optional[int] = ..., max_output_tokens: _Optional[int] = ..., capabilities: _Optional[_Iterable[_Union[Capability, str]]] = ..., aliases: _Optional[_Iterable[str]] = ..., enabled: _Optional[bool] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "currency_code", "default_model")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_CODE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MODEL_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    currency_code: str
    default_model: str
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., currency_code: _Optional[str] = ..., default_model: _Optional[str] = ...) -> None: ...

class GetDecisionRequest(_message.Message):
    __slots__ = ("decision_id",)
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    def __init__(self, decision_id: _Optional[str] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("usage_id", "model", "tokens", "cost", "outcome", "latency_ms", "recorded_at")
    USAGE_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    usage_id: str
    model: str
    tokens: TokenUsage
    cost: CostBreakdown
    outcome: Outcome
    latency_ms: int
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, usage_id: _Optional[str] = ..., model: _Optional[str] = ..., tokens: _Optional[_Union[TokenUsage, _Mapping]] = ..., cost: _Optional[_Union[CostBreakdown, _Mapping]] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., latency_ms: _Optional[int] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetDecisionResponse(_message.Message):
    __slots__ = ("decision_id", "request_id", "attribution", "model", "provider", "predicted", "reason", "candidates", "created_at", "usages", "actual_cost")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    USAGES_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_COST_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    request_id: str
    attribution: Attribution
    model: str
    provider: str
    predicted: Prediction
    reason: Reason
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    created_at: _timestamp_pb2.Timestamp
    usages: _containers.RepeatedCompositeFieldContainer[Usage]
    actual_cost: Money
    def __init__(self, decision_id: _Optional[str] = ..., request_id: _Optional[str] = ..., attribution: _Optional[_Union[Attribution, _Mapping]] = ..., model: _Optional[str] = ..., provider: _Optional[str] = ..., predicted: _Optional[_Union[Prediction, _Mapping]] = ..., reason: _Optional[_Union[Reason, _Mapping]] = ..., candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., usages: _Optional[_Iterable[_Union[Usage, _Mapping]]] = ..., actual_cost: _Optional[_Union[Money, _Mapping]] = ...) -> None: ...

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
    actual_cost: Money
    counterfactual_cost: Money
    savings: Money
    savings_ratio: float
    def __init__(self, team: _Optional[str] = ..., agent: _Optional[str] = ..., calls: _Optional[int] = ..., actual_cost: _Optional[_Union[Money, _Mapping]] = ..., counterfactual_cost: _Optional[_Union[Money, _Mapping]] = ..., savings: _Optional[_Union[Money, _Mapping]] = ..., savings_ratio: _Optional[float] = ...) -> None: ...

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

class BudgetScope(_message.Message):
    __slots__ = ("team", "agent", "user", "task_id", "task_type", "model")
    TEAM_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    team: str
    agent: str
    user: str
    task_id: str
    task_type: str
    model: str
    def __init__(self, team: _Optional[str] = ..., agent: _Optional[str] = ..., user: _Optional[str] = ..., task_id: _Optional[str] = ..., task_type: _Optional[str] = ..., model: _Optional[str] = ...) -> None: ...

class Budget(_message.Message):
    __slots__ = ("id", "description", "scope", "limit", "limit_tokens", "window", "time_zone", "alert_at", "downgrade_at", "downgrade_quality", "throttle_at", "throttle_per_minute", "on_exhausted", "hold_ttl_seconds", "source")
    ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    ALERT_AT_FIELD_NUMBER: _ClassVar[int]
    DOWNGRADE_AT_FIELD_NUMBER: _ClassVar[int]
    DOWNGRADE_QUALITY_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_AT_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    ON_EXHAUSTED_FIELD_NUMBER: _ClassVar[int]
    HOLD_TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    description: str
    scope: BudgetScope
    limit: Money
    limit_tokens: int
    window: BudgetWindow
    time_zone: str
    alert_at: float
    downgrade_at: float
    downgrade_quality: float
    throttle_at: float
    throttle_per_minute: int
    on_exhausted: ExhaustedAction
    hold_ttl_seconds: int
    source: BudgetSource
    def __init__(self, id: _Optional[str] = ..., description: _Optional[str] = ..., scope: _Optional[_Union[BudgetScope, _Mapping]] = ..., limit: _Optional[_Union[Money, _Mapping]] = ..., limit_tokens: _Optional[int] = ..., window: _Optional[_Union[BudgetWindow, str]] = ..., time_zone: _Optional[str] = ..., alert_at: _Optional[float] = ..., downgrade_at: _Optional[float] = ..., downgrade_quality: _Optional[float] = ..., throttle_at: _Optional[float] = ..., throttle_per_minute: _Optional[int] = ..., on_exhausted: _Optional[_Union[ExhaustedAction, str]] = ..., hold_ttl_seconds: _Optional[int] = ..., source: _Optional[_Union[BudgetSource, str]] = ...) -> None: ...

class SetBudgetRequest(_message.Message):
    __slots__ = ("budget",)
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    budget: Budget
    def __init__(self, budget: _Optional[_Union[Budget, _Mapping]] = ...) -> None: ...

class GetBudgetRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListBudgetsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListBudgetsResponse(_message.Message):
    __slots__ = ("budgets", "paused")
    BUDGETS_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    budgets: _containers.RepeatedCompositeFieldContainer[Budget]
    paused: _containers.RepeatedCompositeFieldContainer[PausedScope]
    def __init__(self, budgets: _Optional[_Iterable[_Union[Budget, _Mapping]]] = ..., paused: _Optional[_Iterable[_Union[PausedScope, _Mapping]]] = ...) -> None: ...

class DeleteBudgetRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteBudgetResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetBudgetStatusRequest(_message.Message):
    __slots__ = ("id", "at")
    ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BudgetStatus(_message.Message):
    __slots__ = ("budget_id", "window_key", "window_start", "window_end", "limit", "spent", "held", "remaining", "limit_tokens", "tokens_spent", "tokens_held", "tokens_remaining", "state", "used_fraction")
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_KEY_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SPENT_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    LIMIT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_SPENT_FIELD_NUMBER: _ClassVar[int]
    TOKENS_HELD_FIELD_NUMBER: _ClassVar[int]
    TOKENS_REMAINING_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    USED_FRACTION_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    window_key: str
    window_start: _timestamp_pb2.Timestamp
    window_end: _timestamp_pb2.Timestamp
    limit: Money
    spent: Money
    held: Money
    remaining: Money
    limit_tokens: int
    tokens_spent: int
    tokens_held: int
    tokens_remaining: int
    state: BudgetState
    used_fraction: float
    def __init__(self, budget_id: _Optional[str] = ..., window_key: _Optional[str] = ..., window_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., limit: _Optional[_Union[Money, _Mapping]] = ..., spent: _Optional[_Union[Money, _Mapping]] = ..., held: _Optional[_Union[Money, _Mapping]] = ..., remaining: _Optional[_Union[Money, _Mapping]] = ..., limit_tokens: _Optional[int] = ..., tokens_spent: _Optional[int] = ..., tokens_held: _Optional[int] = ..., tokens_remaining: _Optional[int] = ..., state: _Optional[_Union[BudgetState, str]] = ..., used_fraction: _Optional[float] = ...) -> None: ...

class PausedScope(_message.Message):
    __slots__ = ("scope", "reason", "paused_at")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PAUSED_AT_FIELD_NUMBER: _ClassVar[int]
    scope: BudgetScope
    reason: str
    paused_at: _timestamp_pb2.Timestamp
    def __init__(self, scope: _Optional[_Union[BudgetScope, _Mapping]] = ..., reason: _Optional[str] = ..., paused_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PauseScopeRequest(_message.Message):
    __slots__ = ("scope", "reason")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    scope: BudgetScope
    reason: str
    def __init__(self, scope: _Optional[_Union[BudgetScope, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class PauseScopeResponse(_message.Message):
    __slots__ = ("paused",)
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    paused: PausedScope
    def __init__(self, paused: _Optional[_Union[PausedScope, _Mapping]] = ...) -> None: ...

class ResumeScopeRequest(_message.Message):
    __slots__ = ("scope",)
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    scope: BudgetScope
    def __init__(self, scope: _Optional[_Union[BudgetScope, _Mapping]] = ...) -> None: ...

class ResumeScopeResponse(_message.Message):
    __slots__ = ("was_paused",)
    WAS_PAUSED_FIELD_NUMBER: _ClassVar[int]
    was_paused: bool
    def __init__(self, was_paused: _Optional[bool] = ...) -> None: ...

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
    filter: Attribution
    model: str
    provider: str
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., group_by: _Optional[_Iterable[_Union[SpendDimension, str]]] = ..., bucket: _Optional[_Union[TimeBucket, str]] = ..., time_zone: _Optional[str] = ..., filter: _Optional[_Union[Attribution, _Mapping]] = ..., model: _Optional[str] = ..., provider: _Optional[str] = ...) -> None: ...

class SpendRow(_message.Message):
    __slots__ = ("team", "agent", "user", "task_id", "task_type", "model", "provider", "cost_kind", "bucket_start", "calls", "tokens", "cost", "predicted_cost", "actual_cost_of_predicted", "predicted_calls", "mape", "bias", "failures", "review_calls", "review_seconds", "tool_calls")
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
    tokens: TokenUsage
    cost: CostBreakdown
    predicted_cost: Money
    actual_cost_of_predicted: Money
    predicted_calls: int
    mape: float
    bias: float
    failures: int
    review_calls: int
    review_seconds: float
    tool_calls: int
    def __init__(self, team: _Optional[str] = ..., agent: _Optional[str] = ..., user: _Optional[str] = ..., task_id: _Optional[str] = ..., task_type: _Optional[str] = ..., model: _Optional[str] = ..., provider: _Optional[str] = ..., cost_kind: _Optional[str] = ..., bucket_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., calls: _Optional[int] = ..., tokens: _Optional[_Union[TokenUsage, _Mapping]] = ..., cost: _Optional[_Union[CostBreakdown, _Mapping]] = ..., predicted_cost: _Optional[_Union[Money, _Mapping]] = ..., actual_cost_of_predicted: _Optional[_Union[Money, _Mapping]] = ..., predicted_calls: _Optional[int] = ..., mape: _Optional[float] = ..., bias: _Optional[float] = ..., failures: _Optional[int] = ..., review_calls: _Optional[int] = ..., review_seconds: _Optional[float] = ..., tool_calls: _Optional[int] = ...) -> None: ...

class QuerySpendResponse(_message.Message):
    __slots__ = ("rows", "total")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[SpendRow]
    total: SpendRow
    def __init__(self, rows: _Optional[_Iterable[_Union[SpendRow, _Mapping]]] = ..., total: _Optional[_Union[SpendRow, _Mapping]] = ...) -> None: ...

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

class WatchAnomaliesRequest(_message.Message):
    __slots__ = ("kinds", "since")
    KINDS_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    kinds: _containers.RepeatedScalarFieldContainer[AnomalyKind]
    since: _timestamp_pb2.Timestamp
    def __init__(self, kinds: _Optional[_Iterable[_Union[AnomalyKind, str]]] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
