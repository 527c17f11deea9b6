import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from router.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

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

class ForecastMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FORECAST_METHOD_UNSPECIFIED: _ClassVar[ForecastMethod]
    FORECAST_METHOD_RUN_RATE: _ClassVar[ForecastMethod]
    FORECAST_METHOD_SEASONAL: _ClassVar[ForecastMethod]
    FORECAST_METHOD_NO_HISTORY: _ClassVar[ForecastMethod]
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
FORECAST_METHOD_UNSPECIFIED: ForecastMethod
FORECAST_METHOD_RUN_RATE: ForecastMethod
FORECAST_METHOD_SEASONAL: ForecastMethod
FORECAST_METHOD_NO_HISTORY: ForecastMethod

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
    __slots__ = ("id", "description", "scope", "limit", "limit_tokens", "window", "time_zone", "alert_at", "downgrade_at", "downgrade_quality", "throttle_at", "throttle_per_minute", "on_exhausted", "hold_ttl_seconds", "source", "forecast_alert_at")
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
    FORECAST_ALERT_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    description: str
    scope: BudgetScope
    limit: _common_pb2.Money
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
    forecast_alert_at: float
    def __init__(self, id: _Optional[str] = ..., description: _Optional[str] = ..., scope: _Optional[_Union[BudgetScope, _Mapping]] = ..., limit: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., limit_tokens: _Optional[int] = ..., window: _Optional[_Union[BudgetWindow, str]] = ..., time_zone: _Optional[str] = ..., alert_at: _Optional[float] = ..., downgrade_at: _Optional[float] = ..., downgrade_quality: _Optional[float] = ..., throttle_at: _Optional[float] = ..., throttle_per_minute: _Optional[int] = ..., on_exhausted: _Optional[_Union[ExhaustedAction, str]] = ..., hold_ttl_seconds: _Optional[int] = ..., source: _Optional[_Union[BudgetSource, str]] = ..., forecast_alert_at: _Optional[float] = ...) -> None: ...

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
    __slots__ = ("budget_id", "window_key", "window_start", "window_end", "limit", "spent", "held", "remaining", "limit_tokens", "tokens_spent", "tokens_held", "tokens_remaining", "state", "used_fraction", "forecast")
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
    FORECAST_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    window_key: str
    window_start: _timestamp_pb2.Timestamp
    window_end: _timestamp_pb2.Timestamp
    limit: _common_pb2.Money
    spent: _common_pb2.Money
    held: _common_pb2.Money
    remaining: _common_pb2.Money
    limit_tokens: int
    tokens_spent: int
    tokens_held: int
    tokens_remaining: int
    state: BudgetState
    used_fraction: float
    forecast: BudgetForecast
    def __init__(self, budget_id: _Optional[str] = ..., window_key: _Optional[str] = ..., window_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., limit: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., spent: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., held: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., remaining: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., limit_tokens: _Optional[int] = ..., tokens_spent: _Optional[int] = ..., tokens_held: _Optional[int] = ..., tokens_remaining: _Optional[int] = ..., state: _Optional[_Union[BudgetState, str]] = ..., used_fraction: _Optional[float] = ..., forecast: _Optional[_Union[BudgetForecast, _Mapping]] = ...) -> None: ...

class ForecastBudgetRequest(_message.Message):
    __slots__ = ("budget_id", "horizon_seconds")
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    HORIZON_SECONDS_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    horizon_seconds: int
    def __init__(self, budget_id: _Optional[str] = ..., horizon_seconds: _Optional[int] = ...) -> None: ...

class BudgetForecast(_message.Message):
    __slots__ = ("budget_id", "window_key", "as_of", "forecast_end", "projected_spend", "projected_tokens", "spend_per_hour", "tokens_per_hour", "run_out_at", "projected_fraction", "method", "history_hours", "alert")
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_KEY_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    FORECAST_END_FIELD_NUMBER: _ClassVar[int]
    PROJECTED_SPEND_FIELD_NUMBER: _ClassVar[int]
    PROJECTED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    SPEND_PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    RUN_OUT_AT_FIELD_NUMBER: _ClassVar[int]
    PROJECTED_FRACTION_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    HISTORY_HOURS_FIELD_NUMBER: _ClassVar[int]
    ALERT_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    window_key: str
    as_of: _timestamp_pb2.Timestamp
    forecast_end: _timestamp_pb2.Timestamp
    projected_spend: _common_pb2.Money
    projected_tokens: int
    spend_per_hour: _common_pb2.Money
    tokens_per_hour: int
    run_out_at: _timestamp_pb2.Timestamp
    projected_fraction: float
    method: ForecastMethod
    history_hours: int
    alert: bool
    def __init__(self, budget_id: _Optional[str] = ..., window_key: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., forecast_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., projected_spend: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., projected_tokens: _Optional[int] = ..., spend_per_hour: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., tokens_per_hour: _Optional[int] = ..., run_out_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., projected_fraction: _Optional[float] = ..., method: _Optional[_Union[ForecastMethod, str]] = ..., history_hours: _Optional[int] = ..., alert: _Optional[bool] = ...) -> None: ...

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
