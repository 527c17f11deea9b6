"""Budget administration: budgets and pauses over the API, their status and forecast, and
housekeeping.

Every call names its caller: a team's caller sees and (with the ``budgets`` permission)
changes only budgets and pauses whose scope lies in its team; every change is audited.

Forecasts (``router.core.forecast``) read the scopes' hourly rollups, never the raw usage: one
set-based read for all the budgets forecast together. Housekeeping checks every budget with a
``forecast_alert_at`` about once a minute; a window forecast to close at or past it is raised as
an anomaly of kind ``budget_forecast`` through the anomalies' path (stored as an incident, so
once per window however many checks and replicas see it; then logged, streamed to
WatchAnomalies and POSTed to the webhook)."""

from __future__ import annotations

import builtins
import dataclasses
import time
from collections.abc import Callable, Sequence

import structlog

from router import metrics
from router.auth import SYSTEM, Principal
from router.budgeting import BudgetBook, Ledger, Pause
from router.core.anomalies import Anomaly, Kind
from router.core.budgets import BudgetRule, BudgetStatus, Scope, rule_to_mapping, window_of
from router.core.catalog import Catalog
from router.core.clock import Clock
from router.core.errors import InvalidRequest, NotFound, quoted
from router.core.forecast import BudgetForecast, forecast, history_start, hourly, judge
from router.core.money import units
from router.core.requests import Violations
from router.core.timeunits import SECOND_US
from router.core.windows import WindowKind
from router.service.access import AuditLog
from router.service.notify import AnomalyHub, Detected, Webhook
from router.store.base import AnomalyStore, SpendStore

log = structlog.get_logger("router.budgets")
DEFAULT_HORIZON_S = 30 * 86_400  # a total budget's forecast, unless the request says
MAX_HORIZON_S = 366 * 86_400
FORECAST_CHECK_S = 60.0  # housekeeping checks the forecast alerts this often

Announce = Callable[[Sequence[Anomaly]], list[Detected]]


class ForecastAlerts:
    """Raises forecast alerts as the detectors' anomalies are raised: stored as incidents (one
    per budget window: a later check of the same window updates it), and only the new ones
    logged, published to the WatchAnomalies streams and sent to the webhook."""

    def __init__(self, store: AnomalyStore, hub: AnomalyHub, webhook: Webhook | None,
                 clock: Clock) -> None:
        self._store, self._hub, self._webhook, self._clock = store, hub, webhook, clock

    def __call__(self, found: Sequence[Anomaly]) -> list[Detected]:
        now = self._clock.now_us()
        new = [Detected(a, now) for a in self._store.save_anomalies(found, now)]
        for d in new:
            a = d.anomaly
            metrics.ANOMALIES.labels(a.kind.value).inc()
            log.warning("budget.forecast_alert", budget_id=a.evidence.get("budget_id"),
                        team=a.team, agent=a.agent, observed=a.observed, baseline=a.baseline,
                        message=a.message)
        if new:
            self._hub.publish(new)
            if self._webhook is not None:
                self._webhook.send(new)
        return new


class BudgetService:
    def __init__(self, catalog: Catalog, book: BudgetBook, ledger: Ledger, clock: Clock, *,
                 refresh_s: float, audit: AuditLog, spend: SpendStore,
                 alerts: Announce | None = None,
                 forecast_check_s: float = FORECAST_CHECK_S) -> None:
        self.catalog = catalog
        self._spend = spend
        self._alerts = alerts
        self._forecast_check_s = forecast_check_s
        self._forecast_checked: float | None = None
        self._audit = audit
        self.book = book
        self._ledger = ledger
        self._clock = clock
        self._refresh_s = refresh_s
        self._refreshed = time.monotonic()

    def set(self, rule: BudgetRule, who: Principal = SYSTEM) -> BudgetRule:
        """Create or replace an API-managed budget; a model scope is stored by its catalog id.
        A team's caller may replace only a budget of its own team."""
        scope = who.budget_scope(rule.scope, "setting budgets")
        if scope is not rule.scope:
            rule = dataclasses.replace(rule, scope=scope)
        before = self._existing(rule.id, who, "setting budgets")
        if rule.scope.model is not None:
            spec = self.catalog.find(rule.scope.model)
            if spec is None:
                raise InvalidRequest.of("budget.scope.model",
                                        f"unknown model {quoted(rule.scope.model)}")
            rule = dataclasses.replace(rule, scope=dataclasses.replace(rule.scope,
                                                                       model=spec.id))
        self.book.put(rule, self._clock.now_us())
        self._audit.record(who, "budget.set", rule.id,
                           rule_to_mapping(before) if before else None, rule_to_mapping(rule))
        return rule

    def _existing(self, budget_id: str, who: Principal, action: str) -> BudgetRule | None:
        """The budget ``budget_id`` if one exists, after checking ``who`` may change it (one
        outside its team is refused in the words used for one that does not exist)."""
        who.require_budget_permission(action)
        try:
            rule = self.book.get(budget_id)
        except NotFound:
            return None
        if not who.owns_scope(rule.scope):
            raise who.missing("the budget", NotFound(f"budget {quoted(budget_id)} not found"))
        return rule

    def get(self, budget_id: str, who: Principal = SYSTEM) -> BudgetRule:
        _check_id(budget_id)
        try:
            rule = self.book.get(budget_id)
        except NotFound as exc:
            raise who.missing("the budget", exc) from None
        if not who.sees_scope(rule.scope):
            raise who.missing("the budget", NotFound(f"budget {quoted(budget_id)} not found"))
        return rule

    def list(self, who: Principal = SYSTEM) -> tuple[tuple[BudgetRule, ...], list[Pause]]:
        """The budgets and pauses in force that ``who`` may see."""
        return (tuple(r for r in self.book.rules if who.sees_scope(r.scope)),
                [p for p in self.book.pauses() if who.sees_scope(p.scope)])

    def delete(self, budget_id: str, who: Principal = SYSTEM) -> None:
        _check_id(budget_id)
        rule = self._existing(budget_id, who, "deleting budgets")
        if rule is None:
            raise who.missing("the budget", NotFound(f"budget {quoted(budget_id)} not found"))
        self.book.delete(budget_id)
        self._audit.record(who, "budget.delete", budget_id, rule_to_mapping(rule), None)

    def is_from_file(self, budget_id: str) -> bool:
        return self.book.is_from_file(budget_id)

    def status(self, budget_id: str, at_us: int | None = None,
               who: Principal = SYSTEM) -> BudgetStatus:
        """The budget's window containing ``at_us`` (default: now), on fresh totals."""
        rule = self.get(budget_id, who)
        at = self._clock.now_us() if at_us is None else at_us
        try:
            window_of(rule, at)  # a client's far-future moment may have no window
        except ValueError as exc:
            raise InvalidRequest.of("at", str(exc)) from None
        return self._ledger.statuses([rule], at, fresh=True)[0]

    def status_and_forecast(self, budget_id: str, at_us: int | None = None,
                            who: Principal = SYSTEM
                            ) -> tuple[BudgetStatus, BudgetForecast | None]:
        """``status``, with the window's forecast when it is the current window."""
        status = self.status(budget_id, at_us, who)
        now = self._clock.now_us()
        if not status.window.contains(now):
            return status, None
        return status, self._forecasts([status], now, DEFAULT_HORIZON_S)[0]

    def forecast(self, budget_id: str, horizon_s: int = 0,
                 who: Principal = SYSTEM) -> BudgetForecast:
        """Where the budget's current window will close, and when it would run out; a total
        budget is forecast ``horizon_s`` ahead (0: 30 days)."""
        if not 0 <= horizon_s <= MAX_HORIZON_S:
            raise InvalidRequest.of("horizon_seconds", f"must be 0-{MAX_HORIZON_S}")
        _check_id(budget_id, "budget_id")
        rule = self.get(budget_id, who)
        now = self._clock.now_us()
        status = self._ledger.statuses([rule], now, fresh=True)[0]
        return self._forecasts([status], now, horizon_s or DEFAULT_HORIZON_S)[0]

    def _forecasts(self, statuses: Sequence[BudgetStatus], now: int,
                   horizon_s: int) -> builtins.list[BudgetForecast]:
        """The statuses' windows forecast from one read of their scopes' rollups."""
        series = self._spend.scope_series([s.rule.scope.as_dict() for s in statuses],
                                          history_start(now), now + 1)
        out = []
        for s, found in zip(statuses, series, strict=True):
            end = (now + horizon_s * SECOND_US if s.window.kind is WindowKind.TOTAL
                   else s.window.end_us)
            t, r = s.totals, s.rule
            money = tokens = None
            if found is not None:
                money = hourly(((b, c) for b, c, _ in found.buckets), found.step_us, now)
                tokens = hourly(((b, n) for b, _, n in found.buckets), found.step_us, now)
            out.append(judge(
                s, forecast(money, now_us=now, end_us=end, so_far=t.spent + t.held,
                            limit=r.limit, window_start_us=s.window.start_us, tz=r.tz),
                forecast(tokens, now_us=now, end_us=end, so_far=t.tokens_spent + t.tokens_held,
                         limit=r.limit_tokens, window_start_us=s.window.start_us, tz=r.tz)))
        return out

    def check_forecasts(self) -> builtins.list[Detected]:
        """Forecast every budget with a ``forecast_alert_at`` (one read) and raise an alert for
        each window forecast to close at or past it; returns the alerts that are new."""
        rules = [r for r in self.book.rules
                 if r.forecast_alert_at is not None and r.window is not WindowKind.TOTAL]
        if not rules or self._alerts is None:
            return []
        now = self._clock.now_us()
        found = [_alert(f) for f in self._forecasts(
            self._ledger.statuses(rules, now, fresh=True), now, DEFAULT_HORIZON_S)
            if f.alert]
        return self._alerts(found) if found else []

    def pause(self, scope: Scope, reason: str, who: Principal = SYSTEM) -> Pause:
        scope = who.budget_scope(scope, "pausing scopes")
        pause = self.book.pause(scope, reason, self._clock.now_us())
        self._audit.record(who, "scope.pause", scope.key() or "everything", None,
                           {"scope": scope.as_dict(), "reason": reason})
        return pause

    def resume(self, scope: Scope, who: Principal = SYSTEM) -> bool:
        scope = who.budget_scope(scope, "resuming scopes")
        before = next((p for p in self.book.pauses() if p.scope == scope), None)
        was = self.book.resume(scope)
        if was:
            self._audit.record(who, "scope.resume", scope.key() or "everything",
                               {"scope": scope.as_dict(),
                                "reason": before.reason if before else ""}, None)
        return was

    def reload_file(self) -> bool:
        """Re-read the budgets file now (SIGHUP)."""
        return self.book.reload_file(force=True)

    def tick(self) -> int:
        """Housekeeping, off the hot path: release expired holds, pick up budget changes (the
        file's, and other replicas' through the store). Returns how many holds expired."""
        released = self._ledger.sweep(self._clock.now_us())
        if released:
            log.info("budgets.holds_expired", released=released)
        self.book.reload_file()
        if time.monotonic() - self._refreshed >= self._refresh_s:
            self._refreshed = time.monotonic()
            self.book.refresh()
        if self._forecast_checked is None or (
                time.monotonic() - self._forecast_checked >= self._forecast_check_s):
            self._forecast_checked = time.monotonic()
            self.check_forecasts()
        return released


def _check_id(budget_id: str, field: str = "id") -> None:
    """A budget id the request names (field ``id``): required and bounded like every id."""
    v = Violations()
    v.identifier(field, budget_id, required=True)
    v.raise_if_any()


def _alert(f: BudgetForecast) -> Anomaly:
    """A forecast past its alert as an anomaly incident of the budget's window: the subject
    names the budget (task_id "budget:<id>"), and the window ends a microsecond before the next
    one starts, so the next window's alert is a new incident rather than this one continued."""
    s, rule = f.status, f.status.rule
    money = rule.limit is not None
    projected = f.money.projected if money else f.tokens.projected
    limit = rule.limit if money else rule.limit_tokens
    unit = "nanos" if money else "tokens"
    shown = (lambda n: f"{units(n)}") if money else (lambda n: f"{n:,} tokens")
    run_out = f.run_out_us
    message = (f"budget {rule.id!r} ({rule.scope.describe()}, {rule.window.value} "
               f"{s.window.key}) is forecast to close at {shown(projected)} of "
               f"{shown(limit or 0)} ({f.fraction:.0%}, alert at "
               f"{rule.forecast_alert_at:.0%})"
               + (" and to run out before the window ends" if run_out is not None else ""))
    evidence: dict[str, float | int | str] = {
        "budget_id": rule.id, "window_key": s.window.key, "method": f.method.value,
        "unit": unit, "projected_fraction": round(f.fraction, 4),
        "history_hours": f.history_hours}
    if run_out is not None:
        evidence["run_out_us"] = run_out
    return Anomaly(Kind.BUDGET_FORECAST, rule.scope.team or "", rule.scope.agent or "",
                   f"budget:{rule.id}", s.window.start_us, s.window.end_us - 1,
                   float(projected), float(limit or 0), message, evidence)
