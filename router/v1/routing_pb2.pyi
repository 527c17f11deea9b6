import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from router.v1 import budgets_pb2 as _budgets_pb2
from router.v1 import common_pb2 as _common_pb2
from router.v1 import feedback_pb2 as _feedback_pb2
from router.v1 import usage_pb2 as _usage_pb2
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

class RouteRequest(_message.Message):
    __slots__ = ("request_id", "task_description", "attribution", "remaining_budget", "estimated_input_tokens", "max_output_tokens", "quality_target", "capabilities", "min_context_tokens", "allowed_models", "excluded_models", "include_candidates")
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
    INCLUDE_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    task_description: str
    attribution: _common_pb2.Attribution
    remaining_budget: _common_pb2.Money
    estimated_input_tokens: int
    max_output_tokens: int
    quality_target: float
    capabilities: _containers.RepeatedScalarFieldContainer[Capability]
    min_context_tokens: int
    allowed_models: _containers.RepeatedScalarFieldContainer[str]
    excluded_models: _containers.RepeatedScalarFieldContainer[str]
    include_candidates: bool
    def __init__(self, request_id: _Optional[str] = ..., task_description: _Optional[str] = ..., attribution: _Optional[_Union[_common_pb2.Attribution, _Mapping]] = ..., remaining_budget: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., estimated_input_tokens: _Optional[int] = ..., max_output_tokens: _Optional[int] = ..., quality_target: _Optional[float] = ..., capabilities: _Optional[_Iterable[_Union[Capability, str]]] = ..., min_context_tokens: _Optional[int] = ..., allowed_models: _Optional[_Iterable[str]] = ..., excluded_models: _Optional[_Iterable[str]] = ..., include_candidates: _Optional[bool] = ...) -> None: ...

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
    cost: _common_pb2.Money
    quality: float
    def __init__(self, complexity: _Optional[_Union[Complexity, _Mapping]] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., quality: _Optional[float] = ...) -> None: ...

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
    predicted_cost: _common_pb2.Money
    exclusion: Exclusion
    def __init__(self, model: _Optional[str] = ..., provider: _Optional[str] = ..., predicted_quality: _Optional[float] = ..., predicted_output_tokens: _Optional[int] = ..., predicted_cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., exclusion: _Optional[_Union[Exclusion, str]] = ...) -> None: ...

class RouteResponse(_message.Message):
    __slots__ = ("decision_id", "model", "provider", "predicted", "fallbacks", "reason", "candidates", "quality_target", "classifier_version", "budgets", "decision_token")
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
    DECISION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    model: str
    provider: str
    predicted: Prediction
    fallbacks: _containers.RepeatedScalarFieldContainer[str]
    reason: Reason
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    quality_target: float
    classifier_version: str
    budgets: _containers.RepeatedCompositeFieldContainer[_budgets_pb2.BudgetStatus]
    decision_token: str
    def __init__(self, decision_id: _Optional[str] = ..., model: _Optional[str] = ..., provider: _Optional[str] = ..., predicted: _Optional[_Union[Prediction, _Mapping]] = ..., fallbacks: _Optional[_Iterable[str]] = ..., reason: _Optional[_Union[Reason, _Mapping]] = ..., candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., quality_target: _Optional[float] = ..., classifier_version: _Optional[str] = ..., budgets: _Optional[_Iterable[_Union[_budgets_pb2.BudgetStatus, _Mapping]]] = ..., decision_token: _Optional[str] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("include_disabled",)
    INCLUDE_DISABLED_FIELD_NUMBER: _ClassVar[int]
    include_disabled: bool
    def __init__(self, include_disabled: _Optional[bool] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("id", "provider", "input_price_per_mtok", "cached_input_price_per_mtok", "output_price_per_mtok", "reasoning_price_per_mtok", "context_window", "max_output_tokens", "capabilities", "aliases", "enabled", "cache_write_price_per_mtok", "tiers", "deprecated_after")
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
    CACHE_WRITE_PRICE_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    DEPRECATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    id: str
    provider: str
    input_price_per_mtok: _common_pb2.Money
    cached_input_price_per_mtok: _common_pb2.Money
    output_price_per_mtok: _common_pb2.Money
    reasoning_price_per_mtok: _common_pb2.Money
    context_window: int
    max_output_tokens: int
    capabilities: _containers.RepeatedScalarFieldContainer[Capability]
    aliases: _containers.RepeatedScalarFieldContainer[str]
    enabled: bool
    cache_write_price_per_mtok: _common_pb2.Money
    tiers: _containers.RepeatedCompositeFieldContainer[PriceTier]
    deprecated_after: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., provider: _Optional[str] = ..., input_price_per_mtok: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., cached_input_price_per_mtok: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., output_price_per_mtok: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., reasoning_price_per_mtok: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., context_window: _Optional[int] = ..., max_output_tokens: _Optional[int] = ..., capabilities: _Optional[_Iterable[_Union[Capability, str]]] = ..., aliases: _Optional[_Iterable[str]] = ..., enabled: _Optional[bool] = ..., cache_write_price_per_mtok: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., tiers: _Optional[_Iterable[_Union[PriceTier, _Mapping]]] = ..., deprecated_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PriceTier(_message.Message):
    __slots__ = ("above_input_tokens", "input_price_per_mtok", "cached_input_price_per_mtok", "cache_write_price_per_mtok", "output_price_per_mtok", "reasoning_price_per_mtok")
    ABOVE_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    INPUT_PRICE_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    CACHED_INPUT_PRICE_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_PRICE_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PRICE_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    REASONING_PRICE_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    above_input_tokens: int
    input_price_per_mtok: _common_pb2.Money
    cached_input_price_per_mtok: _common_pb2.Money
    cache_write_price_per_mtok: _common_pb2.Money
    output_price_per_mtok: _common_pb2.Money
    reasoning_price_per_mtok: _common_pb2.Money
    def __init__(self, above_input_tokens: _Optional[int] = ..., input_price_per_mtok: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., cached_input_price_per_mtok: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., cache_write_price_per_mtok: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., output_price_per_mtok: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., reasoning_price_per_mtok: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

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

class GetDecisionResponse(_message.Message):
    __slots__ = ("decision_id", "request_id", "attribution", "model", "provider", "predicted", "reason", "candidates", "created_at", "usages", "actual_cost", "feedback", "quality")
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
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    request_id: str
    attribution: _common_pb2.Attribution
    model: str
    provider: str
    predicted: Prediction
    reason: Reason
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    created_at: _timestamp_pb2.Timestamp
    usages: _containers.RepeatedCompositeFieldContainer[_usage_pb2.Usage]
    actual_cost: _common_pb2.Money
    feedback: _containers.RepeatedCompositeFieldContainer[_feedback_pb2.Feedback]
    quality: _feedback_pb2.QualitySummary
    def __init__(self, decision_id: _Optional[str] = ..., request_id: _Optional[str] = ..., attribution: _Optional[_Union[_common_pb2.Attribution, _Mapping]] = ..., model: _Optional[str] = ..., provider: _Optional[str] = ..., predicted: _Optional[_Union[Prediction, _Mapping]] = ..., reason: _Optional[_Union[Reason, _Mapping]] = ..., candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., usages: _Optional[_Iterable[_Union[_usage_pb2.Usage, _Mapping]]] = ..., actual_cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., feedback: _Optional[_Iterable[_Union[_feedback_pb2.Feedback, _Mapping]]] = ..., quality: _Optional[_Union[_feedback_pb2.QualitySummary, _Mapping]] = ...) -> None: ...

class ListDecisionsRequest(_message.Message):
    __slots__ = ("filter", "model", "start_time", "end_time", "page_size", "page_token")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filter: _common_pb2.Attribution
    model: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, filter: _Optional[_Union[_common_pb2.Attribution, _Mapping]] = ..., model: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class DecisionSummary(_message.Message):
    __slots__ = ("decision_id", "created_at", "attribution", "model", "provider", "complexity", "predicted_cost", "usage_count", "actual_cost", "outcome")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    COMPLEXITY_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_COST_FIELD_NUMBER: _ClassVar[int]
    USAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_COST_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    created_at: _timestamp_pb2.Timestamp
    attribution: _common_pb2.Attribution
    model: str
    provider: str
    complexity: Complexity
    predicted_cost: _common_pb2.Money
    usage_count: int
    actual_cost: _common_pb2.Money
    outcome: _usage_pb2.Outcome
    def __init__(self, decision_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attribution: _Optional[_Union[_common_pb2.Attribution, _Mapping]] = ..., model: _Optional[str] = ..., provider: _Optional[str] = ..., complexity: _Optional[_Union[Complexity, _Mapping]] = ..., predicted_cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., usage_count: _Optional[int] = ..., actual_cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., outcome: _Optional[_Union[_usage_pb2.Outcome, str]] = ...) -> None: ...

class ListDecisionsResponse(_message.Message):
    __slots__ = ("decisions", "next_page_token")
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    decisions: _containers.RepeatedCompositeFieldContainer[DecisionSummary]
    next_page_token: str
    def __init__(self, decisions: _Optional[_Iterable[_Union[DecisionSummary, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
