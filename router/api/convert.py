"""Protobuf <-> domain mapping. No rules live here: validation is the core's job, but for the one
rule every request shares and only its message can check (no NUL in any string)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from router import v1 as pb
from router.auth import AuditEvent, KeyRecord, KeySpec, Role
from router.budgeting import Pause
from router.core import focus
from router.core.anomalies import Kind
from router.core.budgets import (
    SCOPE_KEYS,
    Action,
    BudgetError,
    BudgetRule,
    BudgetStatus,
    Scope,
    State,
    rule_from_mapping,
)
from router.core.catalog import ModelSpec
from router.core.errors import FieldViolation, InvalidRequest
from router.core.focus import FocusCharge
from router.core.forecast import BudgetForecast, Method
from router.core.money import Money, units
from router.core.pricing import CostBreakdown, TokenCounts
from router.core.records import (
    Attribution,
    CandidateRecord,
    DecisionQuery,
    DecisionRecord,
    DecisionSummary,
    FeedbackRecord,
    UsageQuery,
    UsageRecord,
    prediction_error,
)
from router.core.requests import FeedbackInput, RouteInput, ToolInput, UsageInput, Violations
from router.core.savings import SavingsLine, SavingsReport
from router.core.spend import Bucket, SpendQuery, SpendRow
from router.core.timeunits import SECOND_US
from router.core.windows import FOREVER, WindowKind
from router.service.feedback import FeedbackResult
from router.service.notify import Detected
from router.service.reports import DecisionReport
from router.service.routing import RouteResult
from router.service.usage import UsageResult

CAPABILITY_NAMES = {
    pb.CAPABILITY_TOOLS: "tools",
    pb.CAPABILITY_VISION: "vision",
    pb.CAPABILITY_JSON: "json",
    pb.CAPABILITY_REASONING: "reasoning",
    pb.CAPABILITY_CODE: "code",
    pb.CAPABILITY_LONG_CONTEXT: "long_context",
    pb.CAPABILITY_AUDIO: "audio",
}
CAPABILITY_VALUES = {name: value for value, name in CAPABILITY_NAMES.items()}


# -- any request ---------------------------------------------------------------------------------

NUL_FREE = "must not contain NUL characters"
# how to walk a field: a string, repeated strings, a message, repeated messages, a map (of strings
# or of messages)
_STRING, _STRINGS, _MESSAGE, _MESSAGES, _STRING_MAP, _MESSAGE_MAP = range(6)
_PLANS: dict[str, tuple[tuple[str, int], ...]] = {}


def nul_violations(msg: Message, prefix: str = "") -> list[FieldViolation]:
    """Every string of ``msg`` that holds a NUL, at any depth (nested and repeated messages,
    repeated strings, map keys and values), by field path.

    No id, key, name or text needs one, and PostgreSQL cannot store one in text (the store would
    fail the call, or drop a queued decision): refused once, for every request, at the edge."""
    out: list[FieldViolation] = []
    for name, kind in _plan(cast(Descriptor, msg.DESCRIPTOR)):
        path = prefix + name
        value = getattr(msg, name)
        if kind == _STRING:
            if "\0" in value:
                out.append(FieldViolation(path, NUL_FREE))
        elif kind == _STRINGS:
            out += [FieldViolation(f"{path}[{i}]", NUL_FREE)
                    for i, text in enumerate(value) if "\0" in text]
        elif kind == _MESSAGE:
            if msg.HasField(name):
                out += nul_violations(value, f"{path}.")
        elif kind == _MESSAGES:
            for i, item in enumerate(value):
                out += nul_violations(item, f"{path}[{i}].")
        else:
            for key in value:
                if isinstance(key, str) and "\0" in key:
                    out.append(FieldViolation(path, f"keys {NUL_FREE}"))
                elif kind == _STRING_MAP:
                    if "\0" in value[key]:
                        out.append(FieldViolation(f"{path}[{str(key)[:40]}]", NUL_FREE))
                else:
                    out += nul_violations(value[key], f"{path}[{str(key)[:40]}].")
    return out


def largest_field(msg: Message, prefix: str = "") -> str:
    """The path of what makes ``msg`` large: its largest field, and within that, if it is a
    message, its largest; ``prefix`` alone when no field is set (only unknown ones)."""
    best: tuple[int, FieldDescriptor, Any] | None = None
    for fd, value in msg.ListFields():
        size = _size(fd, value)
        if best is None or size > best[0]:
            best = (size, fd, value)
    if best is None:
        return prefix.removesuffix(".")
    _, fd, value = best
    path = prefix + fd.name
    if fd.message_type is not None and not fd.is_repeated:
        return largest_field(value, f"{path}.")
    return path


def _size(fd: FieldDescriptor, value: Any) -> int:
    """About the bytes a set field takes on the wire."""
    if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
        return sum(len(str(k)) + (v.ByteSize() if isinstance(v, Message) else len(str(v)))
                   for k, v in value.items())
    items = value if fd.is_repeated else (value,)
    return sum(x.ByteSize() if isinstance(x, Message) else len(x.encode()) if isinstance(x, str)
               else len(x) if isinstance(x, bytes) else 8 for x in items)


def _plan(descriptor: Descriptor) -> tuple[tuple[str, int], ...]:
    """The fields of a message type that are or may hold strings, each with how to walk it;
    built once per type, as the walk runs on the hot path."""
    plan = _PLANS.get(descriptor.full_name)
    if plan is None:
        steps = []
        for fd in descriptor.fields:
            if fd.type == FieldDescriptor.TYPE_STRING:
                steps.append((fd.name, _STRINGS if fd.is_repeated else _STRING))
            elif (sub := fd.message_type) is not None and _holds_strings(sub):
                if sub.GetOptions().map_entry:
                    value = sub.fields_by_name["value"]
                    steps.append((fd.name, _STRING_MAP if value.type == FieldDescriptor.TYPE_STRING
                                  else _MESSAGE_MAP))
                else:
                    steps.append((fd.name, _MESSAGES if fd.is_repeated else _MESSAGE))
        plan = _PLANS[descriptor.full_name] = tuple(steps)
    return plan


def _holds_strings(descriptor: Descriptor, seen: frozenset[str] = frozenset()) -> bool:
    """Does the type have a string field, at any depth? (a recursive type stops at itself)"""
    if descriptor.full_name in seen:
        return False
    return any(fd.type == FieldDescriptor.TYPE_STRING
               or (fd.message_type is not None
                   and _holds_strings(fd.message_type, seen | {descriptor.full_name}))
               for fd in descriptor.fields)


# -- requests ------------------------------------------------------------------------------------

def _money(msg: pb.Money) -> Money:
    return Money(msg.nanos, msg.currency_code)  # as sent: validation wants the exact code


def _opt_money(parent: object, name: str) -> Money | None:
    return _money(getattr(parent, name)) if parent.HasField(name) else None  # type: ignore[attr-defined]


def attribution(msg: pb.Attribution) -> Attribution:
    return Attribution(team=msg.team, agent=msg.agent, task_id=msg.task_id,
                       task_type=msg.task_type, user=msg.user, labels=dict(msg.labels))


def route_input(req: pb.RouteRequest) -> RouteInput:
    return RouteInput(
        task_description=req.task_description,
        request_id=req.request_id,
        attribution=attribution(req.attribution),
        remaining_budget=_opt_money(req, "remaining_budget"),
        estimated_input_tokens=req.estimated_input_tokens
        if req.HasField("estimated_input_tokens") else None,
        max_output_tokens=req.max_output_tokens if req.HasField("max_output_tokens") else None,
        quality_target=req.quality_target if req.HasField("quality_target") else None,
        # Unknown enum numbers pass through as text so validation can name them.
        capabilities=frozenset(CAPABILITY_NAMES.get(c, f"capability#{c}")
                               for c in req.capabilities),
        min_context_tokens=req.min_context_tokens,
        allowed_models=tuple(req.allowed_models),
        excluded_models=tuple(req.excluded_models),
    )


def usage_input(req: pb.ReportUsageRequest) -> UsageInput:
    return UsageInput(
        usage_id=req.usage_id,
        decision_id=req.decision_id,
        attribution=attribution(req.attribution) if req.HasField("attribution") else None,
        model=req.model,
        tokens=TokenCounts(req.tokens.input, req.tokens.cached_input, req.tokens.output,
                           req.tokens.reasoning, req.tokens.cache_write),
        tool_calls=tuple(ToolInput(t.name, t.count, _opt_money(t, "cost"))
                         for t in req.tool_calls),
        cpu_seconds=req.compute.cpu_seconds,
        gpu_seconds=req.compute.gpu_seconds,
        compute_cost=_opt_money(req.compute, "cost"),
        memory_gb_seconds=req.compute.memory_gb_seconds,
        review_seconds=req.human_review.seconds,
        review_hourly_rate=_opt_money(req.human_review, "hourly_rate"),
        outcome=req.outcome,
        occurred_us=optional_time_us(req, "occurred_at"),
        decision_token=req.decision_token,
        latency_ms=req.latency_ms,
        actual_cost=_opt_money(req, "actual_cost"),
        quality=req.quality if req.HasField("quality") else None,
    )


def feedback_input(req: pb.ReportFeedbackRequest) -> FeedbackInput:
    return FeedbackInput(
        feedback_id=req.feedback_id, decision_id=req.decision_id, usage_id=req.usage_id,
        score=req.score if req.HasField("score") else None, source=req.source,
        comment=req.comment, occurred_us=optional_time_us(req, "occurred_at"))


# -- responses -----------------------------------------------------------------------------------

def money(nanos: int, currency: str) -> pb.Money:
    return pb.Money(currency_code=currency, nanos=nanos)


def _timestamp(us: int) -> Timestamp:
    ts = Timestamp()
    ts.FromMicroseconds(us)
    return ts


def _attribution_msg(a: Attribution) -> pb.Attribution:
    return pb.Attribution(team=a.team, agent=a.agent, task_id=a.task_id, task_type=a.task_type,
                          user=a.user, labels=dict(a.labels))


def _prediction(d: DecisionRecord) -> pb.Prediction:
    return pb.Prediction(
        complexity=pb.Complexity(label=d.complexity_label, score=d.complexity_score),
        input_tokens=d.input_tokens, output_tokens=d.output_tokens,
        cost=money(d.predicted_cost, d.currency), quality=d.predicted_quality,
    )


def _add_candidates(field: Any, candidates: Sequence[CandidateRecord], currency: str) -> None:
    # add() then set fields: about twice as fast as building Candidate and Money messages
    # separately, and this runs for several models on every Route.
    add = field.add
    for c in candidates:
        m = add(model=c.model, provider=c.provider, predicted_quality=c.quality,
                predicted_output_tokens=c.output_tokens, exclusion=c.exclusion)
        m.predicted_cost.currency_code = currency
        m.predicted_cost.nanos = c.cost


def route_response(result: RouteResult, include_candidates: bool = False) -> pb.RouteResponse:
    """The response to a Route: its candidates are what the decision keeps (chosen, fallbacks,
    a few others) unless the request asked for every one considered (``include_candidates``)."""
    d = result.decision
    resp = pb.RouteResponse(
        decision_id=d.decision_id, model=d.model, provider=d.provider,
        predicted=_prediction(d), fallbacks=d.fallbacks,
        reason=pb.Reason(code=d.reason_code, message=d.reason_message),
        quality_target=d.quality_target, classifier_version=d.classifier_version,
        decision_token=result.token,
    )
    _add_candidates(resp.candidates,
                    result.considered if include_candidates and result.considered
                    else d.candidates, d.currency)
    if result.budgets:
        _add_statuses(resp.budgets, result.budgets, d.currency)
    return resp


def cost_breakdown(c: CostBreakdown, currency: str) -> pb.CostBreakdown:
    return pb.CostBreakdown(
        tokens=money(c.tokens, currency), tools=money(c.tools, currency),
        compute=money(c.compute, currency), human_review=money(c.human_review, currency),
        total=money(c.total, currency),
    )


def _tokens(t: TokenCounts) -> pb.TokenUsage:
    return pb.TokenUsage(input=t.input, cached_input=t.cached_input, output=t.output,
                         reasoning=t.reasoning, cache_write=t.cache_write)


def usage_response(result: UsageResult) -> pb.ReportUsageResponse:
    u = result.usage
    resp = pb.ReportUsageResponse(
        usage_id=u.usage_id, decision_id=u.decision_id or "",
        cost=cost_breakdown(u.cost, u.currency), replayed=result.replayed,
        recorded_at=_timestamp(u.recorded_us),
    )
    error = prediction_error(u)
    if error is not None:
        resp.prediction_error.CopyFrom(pb.PredictionError(
            predicted_cost=money(error.predicted_cost, u.currency),
            cost_error=money(error.cost_error, u.currency),
            cost_error_ratio=error.cost_error_ratio,
            output_tokens_error=error.output_tokens_error))
    if result.budgets:
        _add_statuses(resp.budgets, result.budgets, u.currency)
    return resp


def feedback_response(result: FeedbackResult) -> pb.ReportFeedbackResponse:
    f = result.feedback
    return pb.ReportFeedbackResponse(feedback_id=f.feedback_id, decision_id=f.decision_id or "",
                                     replayed=result.replayed,
                                     recorded_at=_timestamp(f.recorded_us))


def _usage(u: UsageRecord) -> pb.Usage:
    msg = pb.Usage(usage_id=u.usage_id, model=u.model, tokens=_tokens(u.tokens),
                   cost=cost_breakdown(u.cost, u.currency), outcome=int(u.outcome),
                   latency_ms=u.latency_ms, recorded_at=_timestamp(u.recorded_us))
    if u.quality is not None:
        msg.quality = u.quality
    return msg


def _feedback(f: FeedbackRecord) -> pb.Feedback:
    return pb.Feedback(feedback_id=f.feedback_id, score=f.score, source=f.source,
                       comment=f.comment, usage_id=f.usage_id or "",
                       recorded_at=_timestamp(f.recorded_us),
                       occurred_at=_timestamp(f.occurred_us))


def model_info(m: ModelSpec, currency: str) -> pb.ModelInfo:
    return pb.ModelInfo(
        id=m.id, provider=m.provider,
        input_price_per_mtok=money(m.prices.input, currency),
        cached_input_price_per_mtok=money(m.prices.cached_input, currency),
        output_price_per_mtok=money(m.prices.output, currency),
        reasoning_price_per_mtok=money(m.prices.reasoning, currency),
        context_window=m.context_window, max_output_tokens=m.max_output_tokens,
        capabilities=sorted(CAPABILITY_VALUES[c] for c in m.capabilities),
        aliases=m.aliases, enabled=m.enabled,
        cache_write_price_per_mtok=money(m.prices.cache_write, currency),
        tiers=[pb.PriceTier(
            above_input_tokens=t.above_input_tokens,
            input_price_per_mtok=money(t.input, currency),
            cached_input_price_per_mtok=money(t.cached_input, currency),
            cache_write_price_per_mtok=money(t.cache_write, currency),
            output_price_per_mtok=money(t.output, currency),
            reasoning_price_per_mtok=money(t.reasoning, currency)) for t in m.prices.tiers],
        deprecated_after=None if m.deprecated_after_us is None
        else _timestamp(m.deprecated_after_us),
    )


def decision_response(report: DecisionReport) -> pb.GetDecisionResponse:
    d = report.decision
    resp = pb.GetDecisionResponse(
        decision_id=d.decision_id, request_id=d.request_id or "",
        attribution=_attribution_msg(d.attribution), model=d.model, provider=d.provider,
        predicted=_prediction(d), reason=pb.Reason(code=d.reason_code, message=d.reason_message),
        created_at=_timestamp(d.created_us),
        usages=[_usage(u) for u in report.usages],
        actual_cost=money(report.actual_cost, d.currency),
        feedback=[_feedback(f) for f in report.feedback],
        quality=pb.QualitySummary(mean=report.quality.mean, count=report.quality.count),
    )
    _add_candidates(resp.candidates, d.candidates, d.currency)
    return resp


def _key_filters(f: pb.Attribution, model: str = "", provider: str = "") -> dict[str, str]:
    """A listing's or report's filter: the keys it gives (an empty one does not filter)."""
    return {k: v for k, v in (("team", f.team), ("agent", f.agent), ("user", f.user),
                              ("task_id", f.task_id), ("task_type", f.task_type),
                              ("model", model), ("provider", provider)) if v}


def decision_query(req: pb.ListDecisionsRequest) -> DecisionQuery:
    """The request's selection; its page_size as sent (0: the default), for the service to
    check, and its page_token apart."""
    f = req.filter
    return DecisionQuery(filters=_key_filters(f, req.model), labels=dict(f.labels),
                         start_us=optional_time_us(req, "start_time"),
                         end_us=optional_time_us(req, "end_time"), limit=req.page_size)


def decision_summary(d: DecisionSummary) -> pb.DecisionSummary:
    msg = pb.DecisionSummary(
        decision_id=d.decision_id, created_at=_timestamp(d.created_us),
        attribution=_attribution_msg(d.attribution), model=d.model, provider=d.provider,
        complexity=pb.Complexity(label=d.complexity_label, score=d.complexity_score),
        predicted_cost=money(d.predicted_cost, d.currency), usage_count=d.usage_count)
    if d.usage_count:
        msg.actual_cost.CopyFrom(money(d.actual_cost, d.currency))
        msg.outcome = int(d.outcome or 0)
    return msg


def _savings_line(line: SavingsLine, currency: str) -> pb.SavingsLine:
    return pb.SavingsLine(
        team=line.team, agent=line.agent, calls=line.calls,
        actual_cost=money(line.actual, currency),
        counterfactual_cost=money(line.counterfactual, currency),
        savings=money(line.savings, currency), savings_ratio=line.savings_ratio)


def savings_response(report: SavingsReport) -> pb.GetSavingsResponse:
    cur = report.currency
    return pb.GetSavingsResponse(
        baseline_model=report.baseline, total=_savings_line(report.total, cur),
        by_team=[_savings_line(s, cur) for s in report.by_team],
        by_agent=[_savings_line(s, cur) for s in report.by_agent])


_TIME_RANGE_US = (0, 253_402_300_799_999_999)  # 1970 .. 9999-12-31, what a store can hold


def optional_time_us(parent: object, name: str) -> int | None:
    if not parent.HasField(name):  # type: ignore[attr-defined]
        return None
    try:
        value = getattr(parent, name).ToMicroseconds()
    except (ValueError, OverflowError):
        value = -1
    if not _TIME_RANGE_US[0] <= value <= _TIME_RANGE_US[1]:
        raise InvalidRequest.of(name, "must lie between 1970 and 9999")
    return value


# -- budgets -------------------------------------------------------------------------------------

_WINDOWS = {
    pb.BUDGET_WINDOW_HOUR: WindowKind.HOUR, pb.BUDGET_WINDOW_DAY: WindowKind.DAY,
    pb.BUDGET_WINDOW_WEEK: WindowKind.WEEK, pb.BUDGET_WINDOW_MONTH: WindowKind.MONTH,
    pb.BUDGET_WINDOW_TOTAL: WindowKind.TOTAL,
}
_WINDOW_VALUES = {kind: value for value, kind in _WINDOWS.items()}
_ACTIONS = {pb.EXHAUSTED_ACTION_BLOCK: Action.BLOCK,
            pb.EXHAUSTED_ACTION_DOWNGRADE: Action.DOWNGRADE}
_ACTION_VALUES = {action: value for value, action in _ACTIONS.items()}
_STATES = {State.OK: pb.BUDGET_STATE_OK, State.ALERT: pb.BUDGET_STATE_ALERT,
           State.DOWNGRADE: pb.BUDGET_STATE_DOWNGRADE, State.THROTTLE: pb.BUDGET_STATE_THROTTLE,
           State.EXHAUSTED: pb.BUDGET_STATE_EXHAUSTED}


def scope(msg: pb.BudgetScope, field: str = "scope") -> Scope:
    raw = {k: v for k in SCOPE_KEYS if (v := getattr(msg, k))}
    try:
        return Scope.parse(raw)
    except BudgetError as exc:
        raise InvalidRequest.of(field, str(exc)) from None


def budget_rule(msg: pb.Budget, currency: str) -> BudgetRule:
    """A SetBudget request's budget, validated by the same parser as the budgets file."""
    raw: dict[str, Any] = {"id": msg.id, "scope": scope(msg.scope, "budget.scope").as_dict()}
    if msg.description:
        raw["description"] = msg.description
    if msg.HasField("limit"):
        v = Violations()
        v.currency("budget.limit.currency_code", msg.limit.currency_code, currency)
        v.raise_if_any()
        if msg.limit.nanos <= 0:
            raise InvalidRequest.of("budget.limit.nanos", "must be positive")
        raw["limit"] = units(msg.limit.nanos)
    if msg.limit_tokens:
        raw["limit_tokens"] = msg.limit_tokens
    if msg.window not in _WINDOWS:
        raise InvalidRequest.of("budget.window", "required: hour, day, week, month or total")
    raw["window"] = _WINDOWS[msg.window].value
    raw["timezone"] = msg.time_zone or "UTC"
    for key in ("alert_at", "downgrade_at", "downgrade_quality", "throttle_at",
                "forecast_alert_at"):
        if msg.HasField(key):
            raw[key] = getattr(msg, key)
    if msg.throttle_per_minute:
        raw["throttle_per_minute"] = msg.throttle_per_minute
    if msg.on_exhausted:
        if msg.on_exhausted not in _ACTIONS:
            raise InvalidRequest.of("budget.on_exhausted", "must be BLOCK or DOWNGRADE")
        raw["on_exhausted"] = _ACTIONS[msg.on_exhausted].value
    if msg.hold_ttl_seconds:
        raw["hold_ttl_seconds"] = msg.hold_ttl_seconds
    try:
        return rule_from_mapping(raw)
    except BudgetError as exc:
        key = {"timezone": "time_zone", None: ""}.get(exc.key, exc.key or "")
        raise InvalidRequest.of(f"budget.{key}" if key else "budget", str(exc)) from None


def _scope_msg(s: Scope) -> pb.BudgetScope:
    return pb.BudgetScope(**s.as_dict())


def budget(rule: BudgetRule, currency: str, from_file: bool) -> pb.Budget:
    msg = pb.Budget(
        id=rule.id, description=rule.description, scope=_scope_msg(rule.scope),
        limit_tokens=rule.limit_tokens or 0, window=_WINDOW_VALUES[rule.window],
        time_zone=rule.timezone, throttle_per_minute=rule.throttle_per_minute or 0,
        on_exhausted=_ACTION_VALUES[rule.on_exhausted], hold_ttl_seconds=rule.hold_ttl_s,
        source=pb.BUDGET_SOURCE_FILE if from_file else pb.BUDGET_SOURCE_API,
    )
    if rule.limit is not None:
        msg.limit.CopyFrom(money(rule.limit, currency))
    for key in ("alert_at", "downgrade_at", "downgrade_quality", "throttle_at",
                "forecast_alert_at"):
        if (value := getattr(rule, key)) is not None:
            setattr(msg, key, value)
    return msg


_METHODS = {Method.RUN_RATE: pb.FORECAST_METHOD_RUN_RATE,
            Method.SEASONAL: pb.FORECAST_METHOD_SEASONAL,
            Method.NO_HISTORY: pb.FORECAST_METHOD_NO_HISTORY}


def budget_forecast(f: BudgetForecast, currency: str) -> pb.BudgetForecast:
    msg = pb.BudgetForecast(
        budget_id=f.status.rule.id, window_key=f.status.window.key,
        as_of=_timestamp(f.money.now_us), forecast_end=_timestamp(f.money.end_us),
        projected_spend=money(f.money.projected, currency), projected_tokens=f.tokens.projected,
        spend_per_hour=money(f.money.per_hour, currency), tokens_per_hour=f.tokens.per_hour,
        projected_fraction=f.fraction, method=_METHODS[f.method],
        history_hours=f.history_hours, alert=f.alert)
    if (run_out := f.run_out_us) is not None:
        msg.run_out_at.CopyFrom(_timestamp(run_out))
    return msg


def budget_status(s: BudgetStatus, currency: str,
                  forecast: BudgetForecast | None = None) -> pb.BudgetStatus:
    rule, t = s.rule, s.totals
    msg = pb.BudgetStatus(
        budget_id=rule.id, window_key=s.window.key,
        spent=money(t.spent, currency), held=money(t.held, currency),
        limit_tokens=rule.limit_tokens or 0, tokens_spent=t.tokens_spent,
        tokens_held=t.tokens_held, tokens_remaining=s.tokens_remaining or 0,
        state=_STATES[s.state], used_fraction=s.fraction,
    )
    if s.window.start_us != FOREVER[0]:
        msg.window_start.CopyFrom(_timestamp(s.window.start_us))
        msg.window_end.CopyFrom(_timestamp(s.window.end_us))
    if rule.limit is not None:
        msg.limit.CopyFrom(money(rule.limit, currency))
        msg.remaining.CopyFrom(money(s.remaining or 0, currency))
    if forecast is not None:
        msg.forecast.CopyFrom(budget_forecast(forecast, currency))
    return msg


def _add_statuses(field: Any, statuses: tuple[BudgetStatus, ...], currency: str) -> None:
    """``budget_status`` for the hot path: add() and set fields in place (about 3x faster than
    building each message), as every Route and ReportUsage answers with these."""
    for s in statuses:
        rule, t, w = s.rule, s.totals, s.window
        fraction = s.fraction
        m = field.add(budget_id=rule.id, window_key=w.key, limit_tokens=rule.limit_tokens or 0,
                      tokens_spent=t.tokens_spent, tokens_held=t.tokens_held,
                      tokens_remaining=s.tokens_remaining or 0,
                      state=_STATES[rule.state(fraction)], used_fraction=fraction)
        m.spent.currency_code = m.held.currency_code = currency
        m.spent.nanos, m.held.nanos = t.spent, t.held
        if w.start_us != FOREVER[0]:
            m.window_start.seconds, m.window_start.nanos = divmod(w.start_us, SECOND_US)
            m.window_end.seconds, m.window_end.nanos = divmod(w.end_us, SECOND_US)
            m.window_start.nanos *= 1000
            m.window_end.nanos *= 1000
        if rule.limit is not None:
            m.limit.currency_code = m.remaining.currency_code = currency
            m.limit.nanos, m.remaining.nanos = rule.limit, s.remaining or 0


def paused_scope(p: Pause) -> pb.PausedScope:
    return pb.PausedScope(scope=_scope_msg(p.scope), reason=p.reason,
                          paused_at=_timestamp(p.paused_us))


# -- spend ---------------------------------------------------------------------------------------

SPEND_DIMENSIONS = {pb.SPEND_DIMENSION_TEAM: "team", pb.SPEND_DIMENSION_AGENT: "agent",
               pb.SPEND_DIMENSION_USER: "user", pb.SPEND_DIMENSION_TASK_ID: "task_id",
               pb.SPEND_DIMENSION_TASK_TYPE: "task_type", pb.SPEND_DIMENSION_MODEL: "model",
               pb.SPEND_DIMENSION_PROVIDER: "provider",
               pb.SPEND_DIMENSION_COST_KIND: "cost_kind"}
DIMENSION_BY_NAME = {name: value for value, name in SPEND_DIMENSIONS.items()}
_BUCKETS = {pb.TIME_BUCKET_UNSPECIFIED: Bucket.NONE, pb.TIME_BUCKET_HOUR: Bucket.HOUR,
            pb.TIME_BUCKET_DAY: Bucket.DAY, pb.TIME_BUCKET_WEEK: Bucket.WEEK,
            pb.TIME_BUCKET_MONTH: Bucket.MONTH}


def spend_query(req: pb.QuerySpendRequest) -> SpendQuery:
    start = optional_time_us(req, "start_time")
    end = optional_time_us(req, "end_time")
    if start is None or end is None:
        raise InvalidRequest.of("start_time" if start is None else "end_time", "is required")
    dims = []
    for d in req.group_by:
        if d not in SPEND_DIMENSIONS:
            raise InvalidRequest.of("group_by", f"unknown dimension {d}")
        dims.append(SPEND_DIMENSIONS[d])
    if req.bucket not in _BUCKETS:
        raise InvalidRequest.of("bucket", f"unknown bucket {req.bucket}")
    f = req.filter
    return SpendQuery(start, end, tuple(dict.fromkeys(dims)), _BUCKETS[req.bucket],
                      req.time_zone or "UTC", _key_filters(f, req.model, req.provider),
                      dict(f.labels))


def focus_query(req: pb.ListFocusChargesRequest) -> UsageQuery:
    """The request's selection; its page_size as sent (0: the default) for the service to
    check, and its page_token apart."""
    start = optional_time_us(req, "start_time")
    end = optional_time_us(req, "end_time")
    if start is None or end is None:
        raise InvalidRequest.of("start_time" if start is None else "end_time", "is required")
    f = req.filter
    if f.labels:
        raise InvalidRequest.of("filter.labels", "labels do not filter the FOCUS export "
                                                 "(every row carries them in Tags)")
    return UsageQuery(start, end, _key_filters(f, req.model, req.provider),
                      limit=req.page_size)


def focus_charge(c: FocusCharge) -> pb.FocusCharge:
    msg = pb.FocusCharge(
        usage_id=c.usage_id, decision_id=c.decision_id, cost_kind=c.cost_kind,
        cost=money(c.cost, c.currency), occurred_time=_timestamp(c.occurred_us),
        provider=c.provider, model=c.model, attribution=_attribution_msg(c.attribution),
        consumed_quantity=focus.decimal_text(c.consumed),
        consumed_unit=focus.KINDS[c.cost_kind].unit)
    if c.tokens is not None:
        msg.tokens.CopyFrom(_tokens(c.tokens))
    return msg


def focus_charge_of(msg: pb.FocusCharge, start_us: int, end_us: int) -> FocusCharge:
    """A charge as a client received it, billed in [start_us, end_us): what the CLI renders
    as FOCUS rows with ``router.core.focus.columns``."""
    t = msg.tokens
    return FocusCharge(
        usage_id=msg.usage_id, decision_id=msg.decision_id, cost_kind=msg.cost_kind,
        cost=msg.cost.nanos, currency=msg.cost.currency_code,
        occurred_us=msg.occurred_time.ToMicroseconds(), billing_start_us=start_us,
        billing_end_us=end_us, provider=msg.provider, model=msg.model,
        attribution=attribution(msg.attribution), consumed=Decimal(msg.consumed_quantity),
        tokens=TokenCounts(t.input, t.cached_input, t.output, t.reasoning, t.cache_write)
        if msg.HasField("tokens") else None)


def spend_row(r: SpendRow, currency: str) -> pb.SpendRow:
    row = pb.SpendRow(
        **r.keys,
        calls=int(r["calls"]),
        tokens=pb.TokenUsage(input=int(r["input_tokens"]),
                             cached_input=int(r["cached_input_tokens"]),
                             output=int(r["output_tokens"]), reasoning=int(r["reasoning_tokens"]),
                             cache_write=int(r["cache_write_tokens"])),
        cost=cost_breakdown(CostBreakdown(int(r["cost_tokens"]), int(r["cost_tools"]),
                                          int(r["cost_compute"]), int(r["cost_review"])),
                            currency),
        predicted_cost=money(int(r["predicted_cost"]), currency),
        actual_cost_of_predicted=money(int(r["actual_of_predicted"]), currency),
        predicted_calls=int(r["predicted_calls"]), mape=r.mape or 0.0, bias=r.bias or 0.0,
        failures=int(r["failures"]), review_calls=int(r["review_calls"]),
        review_seconds=r["review_ms"] / 1000, tool_calls=int(r["tool_calls"]),
        quality_mean=r.quality_mean or 0.0, quality_count=int(r["quality_count"]),
    )
    if r.bucket_start_us is not None:
        row.bucket_start.CopyFrom(_timestamp(r.bucket_start_us))
    return row


# -- anomalies -----------------------------------------------------------------------------------

# the core's kinds are the list; the proto names each ANOMALY_KIND_<KIND>
ANOMALY_KINDS = {pb.AnomalyKind.Value(f"ANOMALY_KIND_{k.value.upper()}"): k.value for k in Kind}
ANOMALY_KIND_BY_NAME = {name: value for value, name in ANOMALY_KINDS.items()}


def anomaly_kinds(values: Any) -> tuple[str, ...]:
    out = []
    for v in values:
        if v not in ANOMALY_KINDS:
            raise InvalidRequest.of("kinds", f"unknown anomaly kind {v}")
        out.append(ANOMALY_KINDS[v])
    return tuple(out)


def anomaly(d: Detected) -> pb.Anomaly:
    a = d.anomaly
    return pb.Anomaly(
        id=a.key(), kind=ANOMALY_KIND_BY_NAME[a.kind.value], team=a.team, agent=a.agent,
        task_id=a.task_id, window_start=_timestamp(a.window_start_us),
        window_end=_timestamp(a.window_end_us), observed=float(a.observed),
        baseline=float(a.baseline), message=a.message,
        evidence={str(k): str(v) for k, v in a.evidence.items()},
        detected_at=_timestamp(d.detected_us))


# -- access --------------------------------------------------------------------------------------

_ROLES = {pb.ROLE_ADMIN: Role.ADMIN, pb.ROLE_TEAM: Role.TEAM, pb.ROLE_READER: Role.READER}
_ROLE_VALUES = {role: value for value, role in _ROLES.items()}


def key_spec(msg: pb.ApiKey, field: str = "key") -> KeySpec:
    if msg.role not in _ROLES:
        raise InvalidRequest.of(f"{field}.role", "is required: ROLE_ADMIN, ROLE_TEAM or "
                                                 "ROLE_READER")
    return KeySpec(role=_ROLES[msg.role], team=msg.team, agents=frozenset(msg.agents),
                   permissions=frozenset(msg.permissions), subject=msg.subject,
                   description=msg.description,
                   expires_us=optional_time_us(msg, "expire_time"))


def api_key(r: KeyRecord) -> pb.ApiKey:
    s = r.spec
    msg = pb.ApiKey(key_id=r.key_id, role=_ROLE_VALUES[s.role], team=s.team,
                    agents=sorted(s.agents), permissions=sorted(s.permissions),
                    subject=s.subject, description=s.description,
                    create_time=_timestamp(r.created_us), created_by=r.created_by)
    if s.expires_us is not None:
        msg.expire_time.CopyFrom(_timestamp(s.expires_us))
    if r.revoked_us is not None:
        msg.revoke_time.CopyFrom(_timestamp(r.revoked_us))
    return msg


def audit_event(e: AuditEvent) -> pb.AuditEvent:
    msg = pb.AuditEvent(event_id=e.event_id, time=_timestamp(e.at_us), principal=e.principal,
                        action=e.action, target=e.target)
    if e.before is not None:
        msg.before.update(e.before)
    if e.after is not None:
        msg.after.update(e.after)
    return msg
