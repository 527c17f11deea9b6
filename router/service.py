"""The application service: Route and ReportUsage over the core, the store and the recorder.

No gRPC and no SQL here: the edge maps protobuf to the inputs of ``router.core.requests`` and this
module's results back; the store seam does the persistence.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog
from prometheus_client import Counter

from router.budgeting import BudgetBook, HoldRefused, Ledger, Pause, Throttle, ledger_for
from router.core.anomalies import Anomaly, DetectorConfig, detect
from router.core.budgets import (
    Action,
    BudgetRule,
    BudgetStatus,
    Scope,
    applicable,
    charges_for,
    enforcement,
    exhausted,
)
from router.core.calibration import OutputCalibrator
from router.core.catalog import Catalog, ModelSpec
from router.core.classifier import Classifier
from router.core.clock import Clock, SystemClock
from router.core.errors import (
    BudgetExhausted,
    Conflict,
    InvalidRequest,
    PreconditionFailed,
    StoreUnavailable,
    UnknownDecision,
)
from router.core.policy import (
    Constraints,
    Exclusion,
    ReasonCode,
    RoutableModel,
    choose,
    evaluate,
)
from router.core.pricing import ComputeUse, ReviewUse, ToolUse, check_cost_bounds, usage_cost
from router.core.records import (
    Attribution,
    CandidateRecord,
    DecisionRecord,
    Outcome,
    UsageRecord,
    payload_hash,
)
from router.core.requests import (
    MAX_MONEY_NANOS,
    RouteInput,
    UsageInput,
    Violations,
    validate_route,
    validate_usage,
)
from router.core.savings import SavingsReport, savings
from router.core.spend import DIMENSIONS, SpendQuery, SpendRow, fold, total
from router.core.tokens import estimate_tokens
from router.core.windows import zone
from router.notify import AnomalyHub, Detected, Webhook
from router.recorder import Recorder
from router.settings import Settings
from router.store.base import Store, UsageWrite, WriteStatus

_CALIBRATION_SAVE_S = 1.0
log = structlog.get_logger("router.service")
FAIL_OPEN = Counter("router_budget_fail_open_total",
                    "Routes admitted without budget checks because the store was unreachable")
K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A bounded mapping that forgets the least recently used entry."""

    def __init__(self, capacity: int) -> None:
        self._data: OrderedDict[K, V] = OrderedDict()
        self._capacity = max(1, capacity)
        self._lock = threading.Lock()  # the event loop and the offload threads share it

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            if len(self._data) > self._capacity:
                self._data.popitem(last=False)


@dataclass(frozen=True, slots=True)
class RouteResult:
    decision: DecisionRecord
    replayed: bool = False
    budgets: tuple[BudgetStatus, ...] = ()


@dataclass(frozen=True, slots=True)
class UsageResult:
    usage: UsageRecord
    replayed: bool
    budgets: tuple[BudgetStatus, ...] = ()


class _Retry(Exception):
    """A hold lost a race for the last of a budget's room: route again on fresh totals."""


def new_id(prefix: str, now_us: int) -> str:
    """Time-ordered, unguessable id: 13 hex digits of microseconds, 12 of randomness."""
    return f"{prefix}{now_us:013x}{secrets.token_hex(6)}"


class RouterService:
    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        classifier: Classifier,
        store: Store,
        recorder: Recorder,
        clock: Clock | None = None,
        budgets: BudgetBook | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.classifier = classifier
        self.store = store
        self.recorder = recorder
        self.clock = clock or SystemClock()
        self._routable = tuple(
            RoutableModel(spec, classifier.resolve(spec.quality)) for spec in catalog.enabled()
        )
        self._known = {name.lower(): spec for spec in catalog
                       for name in (spec.id, *spec.aliases)}
        self.calibrator = OutputCalibrator()
        self.calibrator.load(store.load_calibration())
        self._calibration_lock = threading.Lock()
        self._calibration_saved = time.monotonic()
        self._decisions: _Lru[str, DecisionRecord] = _Lru(settings.decision_cache_size)
        self._by_request: _Lru[str, DecisionRecord] = _Lru(settings.decision_cache_size)
        self.budgets = budgets if budgets is not None else BudgetBook(
            store, settings.budgets_path or None)
        self.ledger: Ledger = ledger if ledger is not None else ledger_for(store)
        self.throttle = Throttle()
        self.fail_open_count = 0
        self._refreshed = time.monotonic()
        recorder.on_commit = self.ledger.on_commit
        self.detector_config = DetectorConfig()
        self.anomaly_hub = AnomalyHub()
        self.webhook = Webhook(settings.anomaly_webhook_url) \
            if settings.anomaly_webhook_url else None

    # -- Route -------------------------------------------------------------------------------

    def route(self, req: RouteInput) -> RouteResult:
        currency = self.catalog.currency
        validate_route(req, currency=currency,
                       max_description_chars=self.settings.max_description_chars,
                       known_models=self._known)
        request_hash = ""
        if req.request_id:
            request_hash = payload_hash(_route_payload(req))
            prior = self._by_request.get(req.request_id) or \
                self.store.find_decision_by_request(req.request_id)
            if prior is not None:
                if prior.request_hash != request_hash:
                    raise Conflict(f"request_id {req.request_id!r} was used for a different "
                                   "request")
                rules = applicable(self.budgets.rules, prior.attribution, prior.model)
                return RouteResult(prior, replayed=True, budgets=tuple(
                    self._statuses(rules, self.clock.now_us())))

        try:
            return self._route(req, request_hash, fresh=False)
        except _Retry:  # a hold lost the race for a budget's last room: once more, fresh
            return self._route(req, request_hash, fresh=True)

    def _route(self, req: RouteInput, request_hash: str, fresh: bool) -> RouteResult:
        now = self.clock.now_us()
        pause, paused_models = self.budgets.paused(req.attribution)
        if pause is not None:
            raise PreconditionFailed(
                f"routing is paused for {pause.scope.describe()}"
                + (f": {pause.reason}" if pause.reason else "") + " (ResumeScope to resume)")
        statuses = self._statuses(applicable(self.budgets.rules, req.attribution), now, fresh)
        assessment = self.classifier.assess(req.task_description)
        input_tokens = req.estimated_input_tokens
        if input_tokens is None:
            input_tokens = estimate_tokens(req.task_description)
        target = req.quality_target if req.quality_target is not None \
            else self.settings.default_quality_target
        caller_budget = req.remaining_budget.nanos if req.remaining_budget is not None else None
        budget, token_budget, model_room = caller_budget, None, None
        if statuses:
            ladder = enforcement(statuses)
            for s in ladder.throttled:
                wait = self.throttle.wait(s, now)
                if wait > 0:
                    raise BudgetExhausted(
                        f"budget {s.rule.id!r} is {s.fraction:.0%} used and throttled to "
                        f"{s.rule.throttle_per_minute} calls a minute", [s.violation()],
                        retry_after_seconds=wait)
            if ladder.quality_cap is not None:
                target = min(target, ladder.quality_cap)
            if ladder.money_room is not None:
                budget = ladder.money_room if budget is None else min(budget, ladder.money_room)
            token_budget, model_room = ladder.token_room, ladder.model_room or None
        constraints = Constraints(
            capabilities=req.capabilities,
            min_context_tokens=req.min_context_tokens,
            allowed=frozenset(self._known[m.lower()].id for m in req.allowed_models) or None,
            excluded=frozenset(self._known[m.lower()].id for m in req.excluded_models)
            | paused_models,
            max_output_tokens=req.max_output_tokens,
        )
        task_type, agent = req.attribution.task_type, req.attribution.agent
        factor = None
        if len(self.calibrator) > 0:  # skip per-model lookups until anything is calibrated
            def factor(model: str) -> float:
                return self.calibrator.factor(model, task_type, agent)
        candidates = evaluate(self._routable, assessment, input_tokens, constraints, target,
                              budget, factor, token_budget, model_room)
        try:
            decision = choose(candidates, target, budget, input_tokens, self.catalog.currency)
        except BudgetExhausted as exc:
            over = next((c for c in candidates if c.exclusion == Exclusion.OVER_BUDGET), None)
            if over is not None and statuses:
                raise self._refusal(statuses, over, input_tokens, now, all_rules=True) from exc
            raise
        if decision.reason is ReasonCode.BEST_AFFORDABLE and statuses:
            # a budget priced the adequate models out: downgrade only where its rule allows
            adequate = next((c for c in candidates if c.exclusion == Exclusion.OVER_BUDGET
                             and c.quality >= target and (caller_budget is None
                                                          or c.cost <= caller_budget)), None)
            if adequate is not None:
                refusal = self._refusal(statuses, adequate, input_tokens, now, all_rules=False)
                if refusal.violations:
                    raise refusal
        chosen = decision.chosen
        record = DecisionRecord(
            decision_id=new_id("d", now),
            request_id=req.request_id or None,
            request_hash=request_hash,
            created_us=now,
            attribution=req.attribution,
            model=chosen.model,
            provider=chosen.provider,
            complexity_label=assessment.label,
            complexity_score=assessment.score,
            quality_target=target,
            predicted_quality=chosen.quality,
            input_tokens=input_tokens,
            output_tokens=chosen.output_tokens,
            predicted_cost=chosen.cost,
            currency=self.catalog.currency,
            reason_code=int(decision.reason),
            reason_message=decision.reason_message,
            fallbacks=tuple(c.model for c in decision.fallbacks),
            candidates=decision.candidates,
            classifier_version=self.classifier.version,
        )
        held: tuple[BudgetStatus, ...] = ()
        holding = [s for s in statuses if s.rule.scope.model in (None, chosen.model)]
        if holding:
            held = self._hold(record, holding, fresh, now)
        try:
            self.recorder.record_decision(record)
        except BaseException:
            if held:  # a Route that fails never leaves a hold behind
                self.ledger.release(record.decision_id)
            raise
        self._decisions.put(record.decision_id, record)
        if req.request_id:
            self._by_request.put(req.request_id, record)
        return RouteResult(record, budgets=held)

    def _statuses(self, rules: list[BudgetRule], now: int, fresh: bool = False
                  ) -> list[BudgetStatus]:
        if not rules:
            return []
        try:
            return self.ledger.statuses(rules, now, fresh)
        except StoreUnavailable:
            if not self.settings.budget_fail_open:
                raise
            self._failed_open("statuses")
            return []

    def _hold(self, record: DecisionRecord, statuses: list[BudgetStatus], fresh: bool,
              now: int) -> tuple[BudgetStatus, ...]:
        tokens = record.input_tokens + record.output_tokens
        try:
            return tuple(self.ledger.hold(record.decision_id, statuses, record.predicted_cost,
                                          tokens, now))
        except HoldRefused as refused:
            if not fresh:
                raise _Retry() from refused
            full = [s for s in statuses if s.rule.id == refused.budget_id]
            raise exhausted(full, now, f"budget {refused.budget_id!r} has no room left for "
                            "this call") from refused
        except StoreUnavailable:
            if not self.settings.budget_fail_open:
                raise
            self._failed_open("hold")
            return ()

    def _failed_open(self, stage: str) -> None:
        self.fail_open_count += 1
        log.warning("budgets.fail_open", stage=stage, count=self.fail_open_count)
        FAIL_OPEN.inc()

    def _refusal(self, statuses: list[BudgetStatus], candidate: CandidateRecord,
                 input_tokens: int, now: int, all_rules: bool) -> BudgetExhausted:
        """RESOURCE_EXHAUSTED naming the budgets without room for ``candidate`` (only the
        blocking ones unless ``all_rules``)."""
        tokens = input_tokens + candidate.output_tokens
        full = [s for s in statuses if s.rule.scope.model in (None, candidate.model)
                and not s.fits(candidate.cost, tokens)
                and (all_rules or s.rule.on_exhausted is Action.BLOCK)]
        if not full:
            return BudgetExhausted("no model fits the remaining budget")
        names = ", ".join(repr(s.rule.id) for s in full)
        return exhausted(full, now, f"budget {names} has no room for {candidate.model} "
                         f"(predicted {candidate.cost} nanos, {tokens} tokens)")

    def route_needs_store_read(self, req: RouteInput) -> bool:
        """True when ``route`` may wait on a remote store (the edge then runs it off-loop):
        a shared ledger is asked on every Route that budgets apply to."""
        if self.store.local_reads:
            return False
        return self.budgets.active or (bool(req.request_id)
                                       and self._by_request.get(req.request_id) is None)

    # -- ReportUsage -------------------------------------------------------------------------

    def needs_store_read(self, req: UsageInput) -> bool:
        """True when ``prepare_usage`` would have to read the store (the edge runs it off-loop)."""
        return bool(req.decision_id) and self._decisions.get(req.decision_id) is None

    def prepare_usage(self, req: UsageInput) -> UsageRecord | UsageWrite:
        """Validate a report and compute its cost; may read the store for the decision.

        Returns the record to commit, or, when the report can no longer be checked against
        current state (its decision or model is gone) but was stored before, the stored answer.
        """
        currency = self.catalog.currency
        validate_usage(req, currency=currency, known_models=self._known)
        digest = payload_hash(_usage_payload(req))
        try:
            decision = self._find_decision(req.decision_id) if req.decision_id else None
            model = self._model_for(req, decision)
        except (UnknownDecision, PreconditionFailed):
            stored = self.store.get_usage(req.usage_id)
            if stored is None:
                raise
            return UsageWrite(WriteStatus.REPLAYED if stored.payload_hash == digest
                              else WriteStatus.CONFLICT, stored)
        base = decision.attribution if decision else Attribution()
        attribution = base.overridden_by(req.attribution)
        predicted = next((c for c in decision.candidates if c.model == model.id), None) \
            if decision else None
        review_ms = round(req.review_seconds * 1000)
        cost = usage_cost(
            model.prices,
            self.catalog.rates,
            req.tokens,
            tools=tuple(ToolUse(t.name, t.count or 1, t.cost.nanos if t.cost else None)
                        for t in req.tool_calls),
            compute=ComputeUse(round(req.cpu_seconds * 1000), round(req.gpu_seconds * 1000),
                               req.compute_cost.nanos if req.compute_cost else None),
            review=ReviewUse(review_ms, req.review_hourly_rate.nanos
                             if req.review_hourly_rate else None),
            token_cost_override=req.actual_cost.nanos if req.actual_cost else None,
        )
        check_cost_bounds(cost, MAX_MONEY_NANOS)
        recorded_us = self._occurred(req)
        t = req.tokens
        charges = charges_for(applicable(self.budgets.rules, attribution, model.id), recorded_us,
                              cost.total, t.input + t.cached_input + t.output + t.reasoning)
        return UsageRecord(
            usage_id=req.usage_id,
            payload_hash=digest,
            decision_id=decision.decision_id if decision else None,
            recorded_us=recorded_us,
            attribution=attribution,
            model=model.id,
            provider=model.provider,
            tokens=req.tokens,
            tool_calls=sum(t.count or 1 for t in req.tool_calls),
            compute_ms=round((req.cpu_seconds + req.gpu_seconds) * 1000),
            review_ms=review_ms,
            outcome=Outcome(req.outcome),
            latency_ms=req.latency_ms,
            cost=cost,
            currency=currency,
            # against the prediction for the model actually used, which may be a fallback
            predicted_cost=predicted.cost if predicted else None,
            predicted_output_tokens=predicted.output_tokens if predicted else None,
            charges=charges,
        )

    def _occurred(self, req: UsageInput) -> int:
        now = self.clock.now_us()
        if req.occurred_us is None:
            return now
        oldest = now - self.settings.max_backfill_days * 86_400_000_000
        if not oldest <= req.occurred_us <= now + 300_000_000:
            raise InvalidRequest.of("occurred_at", f"must lie within the last "
                                    f"{self.settings.max_backfill_days} days (and not more than "
                                    "5 minutes ahead)")
        return req.occurred_us

    def submit_usage(self, record: UsageRecord) -> Future:
        """Queue the record for group commit; the future resolves to a UsageResult."""
        return self.recorder.record_usage(record)

    def finish_usage(self, write: UsageWrite, usage_id: str) -> UsageResult:
        """Turn a committed write into the answer; learn from a first-time report."""
        if write.status is WriteStatus.CONFLICT:
            raise Conflict(f"usage_id {usage_id!r} was already recorded with a different payload")
        if write.status is WriteStatus.INSERTED:
            self._calibrate(write.record)
        return UsageResult(write.record, replayed=write.status is WriteStatus.REPLAYED,
                           budgets=self._usage_statuses(write))

    def _usage_statuses(self, write: UsageWrite) -> tuple[BudgetStatus, ...]:
        """The budgets the usage was charged to, as they stand after the charge."""
        u = write.record
        if write.status is WriteStatus.INSERTED:
            rules = [r for c in u.charges if (r := self._rule(c.budget_id)) is not None]
        else:
            rules = applicable(self.budgets.rules, u.attribution, u.model)
        if not rules:
            return ()
        try:
            return tuple(self.ledger.statuses(rules, u.recorded_us))
        except StoreUnavailable:
            return ()  # the usage is recorded; only its report of the budgets is missing

    def _rule(self, budget_id: str) -> BudgetRule | None:
        return next((r for r in self.budgets.rules if r.id == budget_id), None)

    def report_usage(self, req: UsageInput, timeout: float = 30.0) -> UsageResult:
        """Blocking convenience over prepare/submit/finish, for the CLI and tests."""
        prepared = self.prepare_usage(req)
        write = prepared if isinstance(prepared, UsageWrite) else \
            self.submit_usage(prepared).result(timeout)
        return self.finish_usage(write, req.usage_id)

    def _calibrate(self, usage: UsageRecord) -> None:
        """Fold the actual output of a routed call into the output-token calibration."""
        decision = self.decision(usage.decision_id) if usage.decision_id else None
        if decision is None:
            return
        predicted = next((c.output_tokens for c in decision.candidates
                          if c.model == usage.model), None)
        actual = usage.tokens.output + usage.tokens.reasoning
        if predicted is None or actual <= 0:
            return
        keys = decision.attribution
        with self._calibration_lock:
            self.calibrator.update(usage.model, keys.task_type, keys.agent, predicted, actual,
                                   usage.recorded_us)
            if time.monotonic() - self._calibration_saved >= _CALIBRATION_SAVE_S:
                self.save_calibration()

    def save_calibration(self) -> None:
        """Queue the changed calibration factors for the next group commit."""
        self._calibration_saved = time.monotonic()
        self.recorder.record_factors(self.calibrator.take_dirty())

    def _model_for(self, req: UsageInput, decision: DecisionRecord | None) -> ModelSpec:
        if req.model:
            return self._known[req.model.lower()]
        assert decision is not None  # validate_usage requires model or decision_id
        spec = self._known.get(decision.model.lower())
        if spec is None:
            raise PreconditionFailed(f"the decision's model {decision.model!r} is no longer in "
                                     "the catalog: report the model used")
        return spec

    def _find_decision(self, decision_id: str) -> DecisionRecord:
        decision = self.decision(decision_id)
        if decision is None and self.settings.decision_lookup_grace_ms > 0:
            # Another replica may have routed it and not flushed yet.
            time.sleep(self.settings.decision_lookup_grace_ms / 1000)
            decision = self.decision(decision_id)
        if decision is None:
            raise UnknownDecision(decision_id)
        return decision

    # -- Reads -------------------------------------------------------------------------------

    def decision(self, decision_id: str) -> DecisionRecord | None:
        found = self._decisions.get(decision_id) or self.recorder.pending_decision(decision_id) \
            or self.store.get_decision(decision_id)
        if found is not None:
            self._decisions.put(decision_id, found)
        return found

    def get_decision(self, decision_id: str) -> tuple[DecisionRecord, list[UsageRecord], int]:
        """The decision, its usage oldest first, and their total cost."""
        violations = Violations()
        violations.identifier("decision_id", decision_id, required=True)
        violations.raise_if_any()
        decision = self.decision(decision_id)
        if decision is None:
            raise UnknownDecision(decision_id)
        usages = self.store.usages_for_decision(decision_id)
        return decision, usages, _representable(sum(u.cost.total for u in usages), "actual cost")

    def savings(self, since_us: int | None, until_us: int | None, baseline: str
                ) -> SavingsReport:
        """Recorded usage re-priced at ``baseline`` (default: the catalog's default model)."""
        baseline = baseline or self.catalog.default_model
        if self.catalog.find(baseline) is None:
            raise InvalidRequest.of("baseline_model", f"unknown model {baseline[:80]!r}")
        if since_us is not None and until_us is not None and until_us <= since_us:
            raise InvalidRequest.of("end_time", "must be after start_time")
        report = savings(self.store.usage_groups(since_us, until_us), self.catalog, baseline)
        for line in (report.total, *report.by_team, *report.by_agent):
            _representable(max(line.actual, line.counterfactual), "total cost")
        return report

    # -- Budgets -----------------------------------------------------------------------------

    def set_budget(self, rule: BudgetRule) -> BudgetRule:
        if rule.scope.model is not None and self.catalog.find(rule.scope.model) is None:
            raise InvalidRequest.of("budget.scope.model",
                                    f"unknown model {rule.scope.model[:80]!r}")
        if rule.scope.model is not None:
            rule = dataclasses.replace(rule, scope=dataclasses.replace(
                rule.scope, model=self._known[rule.scope.model.lower()].id))
        self.budgets.put(rule, self.clock.now_us())
        return rule

    def get_budget(self, budget_id: str) -> BudgetRule:
        return self.budgets.get(budget_id)

    def list_budgets(self) -> tuple[tuple[BudgetRule, ...], list[Pause]]:
        return self.budgets.rules, self.budgets.pauses()

    def delete_budget(self, budget_id: str) -> None:
        self.budgets.delete(budget_id)

    def budget_status(self, budget_id: str, at_us: int | None = None) -> BudgetStatus:
        rule = self.budgets.get(budget_id)
        return self.ledger.statuses([rule], self.clock.now_us() if at_us is None else at_us,
                                    fresh=True)[0]

    def pause(self, scope: Scope, reason: str) -> Pause:
        return self.budgets.pause(scope, reason, self.clock.now_us())

    def resume(self, scope: Scope) -> bool:
        return self.budgets.resume(scope)

    def tick(self) -> int:
        """Housekeeping, off the hot path: release expired holds, pick up budget changes."""
        released = self.ledger.sweep(self.clock.now_us())
        if released:
            log.info("budgets.holds_expired", released=released)
        self.budgets.reload_file()
        if time.monotonic() - self._refreshed >= self.settings.budget_refresh_s:
            self._refreshed = time.monotonic()
            self.budgets.refresh()
        return released

    # -- Reports -----------------------------------------------------------------------------

    def spend(self, query: SpendQuery) -> tuple[list[SpendRow], SpendRow]:
        """Usage grouped by the query's keys and buckets, and the total over all of it."""
        v = Violations()
        if query.end_us <= query.start_us:
            v.add("end_time", "must be after start_time")
        bad = [d for d in (*query.group_by, *query.filters) if d not in DIMENSIONS]
        if bad:
            v.add("group_by", f"unknown dimension {bad[0]!r}")
        try:
            zone(query.timezone)
        except ValueError as exc:
            v.add("time_zone", str(exc))
        v.raise_if_any()
        rows = fold(query, self.store.spend_rows(query))
        summed = total(rows)
        _representable(int(summed["cost_total"]), "total cost")
        return rows, summed

    # -- Anomalies ---------------------------------------------------------------------------

    def detect_anomalies(self) -> list[Detected]:
        """Run every detector over the recent history; store, log and announce what is new.
        The work is bounded by the history window (hourly rollup rows) and one day of tasks."""
        now = self.clock.now_us()
        found = find_anomalies(self.store, now, self.settings.anomaly_history_days,
                               self.detector_config)
        new = [Detected(a, now) for a in self.store.save_anomalies(found, now)]
        pause_kinds = {k.strip() for k in self.settings.anomaly_pause_kinds.split(",")
                       if k.strip()}
        for d in new:
            a = d.anomaly
            log.warning("anomaly.detected", kind=a.kind.value, team=a.team, agent=a.agent,
                        task_id=a.task_id, observed=a.observed, baseline=a.baseline,
                        message=a.message)
            if a.kind.value in pause_kinds and a.agent:
                scope = Scope(team=a.team or None, agent=a.agent)
                self.budgets.pause(scope, f"auto-paused: {a.message}", now)
                log.warning("anomaly.paused", scope=scope.describe(), kind=a.kind.value)
        if new:
            self.anomaly_hub.publish(new)
            if self.webhook is not None:
                self.webhook.send(new)
        return new

    def anomalies(self, since_us: int | None, kinds: tuple[str, ...], limit: int
                  ) -> list[Detected]:
        return [Detected(a, at) for a, at in self.store.list_anomalies(since_us, kinds, limit)]

    def models(self, include_disabled: bool = False) -> tuple[ModelSpec, ...]:
        return self.catalog.models if include_disabled else self.catalog.enabled()


def find_anomalies(store: Store, now_us: int, history_days: int,
                   config: DetectorConfig) -> list[Anomaly]:
    """Every detector over the store's recent history (what the service runs on its schedule
    and ``router anomalies detect`` runs on demand). Judged as of now and as of the previous
    hour's end, so a run just after an hour boundary (or a restart) still sees the hour that
    just closed; keys dedupe the overlap."""
    day = 86_400_000_000
    agents, teams, tasks = store.anomaly_inputs(now_us - history_days * day, now_us,
                                                now_us - day)
    found = {a.key(): a for at in (now_us - 3_600_000_000, now_us)
             for a in detect(at, agents, teams, tasks, config)}
    return list(found.values())


INT64_MAX = 2**63 - 1


def _representable(nanos: int, what: str) -> int:
    """A total must fit the API's int64 nanos; a sum of many huge reports might not."""
    if abs(nanos) > INT64_MAX:
        raise PreconditionFailed(f"the {what} exceeds what the API can represent "
                                 f"({INT64_MAX} nanos); narrow the query")
    return nanos


def _route_payload(req: RouteInput) -> dict:
    return {
        "d": req.task_description, "a": req.attribution.as_dict(),
        "b": (req.remaining_budget.nanos, req.remaining_budget.currency)
        if req.remaining_budget else None,
        "i": req.estimated_input_tokens, "o": req.max_output_tokens, "q": req.quality_target,
        "c": sorted(req.capabilities), "m": req.min_context_tokens,
        "al": list(req.allowed_models), "ex": list(req.excluded_models),
    }


def _usage_payload(req: UsageInput) -> dict:
    return {
        "d": req.decision_id, "a": req.attribution.as_dict() if req.attribution else None,
        "m": req.model, "t": [req.tokens.input, req.tokens.cached_input, req.tokens.output,
                              req.tokens.reasoning],
        "tc": [(t.name, t.count, t.cost.nanos if t.cost else None) for t in req.tool_calls],
        "c": [req.cpu_seconds, req.gpu_seconds,
              req.compute_cost.nanos if req.compute_cost else None],
        "r": [req.review_seconds,
              req.review_hourly_rate.nanos if req.review_hourly_rate else None],
        "o": req.outcome, "l": req.latency_ms,
        "x": req.actual_cost.nanos if req.actual_cost else None,
        **({"at": req.occurred_us} if req.occurred_us is not None else {}),
    }
