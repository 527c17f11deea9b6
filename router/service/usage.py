"""ReportUsage: price what a call consumed, attribute it, and record it exactly once.

A report is validated and priced here (``prepare``), committed by the group commit (``submit``:
the future resolves only after the transaction that also settles its budget charges), then
answered (``finish``), which is also where a first-time report teaches the calibration and,
when it scores the answer (``quality``), the ``OutcomeSink``.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future
from dataclasses import dataclass

import structlog

from router.auth import SYSTEM, Principal, Role
from router.budgeting import BudgetBook, Ledger
from router.core import decision_token
from router.core.budgets import BudgetRule, BudgetStatus, applicable, charges_for
from router.core.catalog import Catalog, ModelSpec
from router.core.clock import Clock
from router.core.errors import (
    Conflict,
    InvalidRequest,
    PreconditionFailed,
    StoreUnavailable,
    UnknownDecision,
    quoted,
)
from router.core.pricing import ComputeUse, ReviewUse, ToolUse, check_cost_bounds, usage_cost
from router.core.records import Attribution, DecisionRecord, Outcome, UsageRecord, payload_hash
from router.core.requests import (
    MAX_MONEY_NANOS,
    UsageInput,
    occurred_at,
    usage_payload,
    valid_identifier,
    validate_usage,
)
from router.service.calibration import Calibration
from router.service.decisions import Decisions
from router.service.learning import NoLearning, OutcomeSink
from router.settings import Settings
from router.store.base import RecordStore, UsageWrite, WriteStatus
from router.store.recorder import Recorder

log = structlog.get_logger("router.usage")


@dataclass(frozen=True, slots=True)
class UsageResult:
    usage: UsageRecord
    replayed: bool
    budgets: tuple[BudgetStatus, ...] = ()


def observe(outcomes: OutcomeSink, decision: DecisionRecord, model: str, score: float,
            now_us: int) -> None:
    """Tell ``outcomes`` of a first-time score. The score is recorded by now: a learner that
    fails is logged, never the caller's error (its retry would be a replay, and teach nothing)."""
    try:
        outcomes.observe(decision, model, score, now_us)
    except Exception:
        log.exception("outcomes.observe_failed", decision_id=decision.decision_id, model=model)


class UsageService:
    def __init__(self, settings: Settings, catalog: Catalog, store: RecordStore,
                 recorder: Recorder, decisions: Decisions, book: BudgetBook, ledger: Ledger,
                 calibration: Calibration, clock: Clock, *, decision_key: bytes,
                 outcomes: OutcomeSink | None = None) -> None:
        self.catalog = catalog
        self._store = store
        self._recorder = recorder
        self._decisions = decisions
        self._book = book
        self._ledger = ledger
        self._calibration = calibration
        self._clock = clock
        self._max_backfill_days = settings.max_backfill_days
        self._decision_key = decision_key
        self._outcomes: OutcomeSink = outcomes if outcomes is not None else NoLearning()

    def needs_store_read(self, req: UsageInput) -> bool:
        """True when ``prepare`` would have to read the store (the edge runs it off-loop)."""
        return bool(req.decision_id) and not self._decisions.cached(req.decision_id)

    def finish_needs_store_read(self) -> bool:
        """True when ``finish`` may wait on a remote store (budget statuses)."""
        return not self._store.local_reads

    def prepare(self, req: UsageInput, who: Principal = SYSTEM) -> UsageRecord | UsageWrite:
        """Validate a report and compute its cost; may read the store for the decision.

        Returns the record to commit, or, when the report can no longer be checked against
        current state (its decision or model is gone) but was stored before, the stored answer.
        ``who`` may report only against its own decisions and as its own team (an empty team
        is filled from its key), and replay only its own reports.
        """
        digest = payload_hash(usage_payload(req))
        if (who.role is Role.TEAM and not req.decision_id
                and (req.attribution is None or req.attribution.is_empty())):
            # a team key's report names its team by the key, as its Route does
            req = dataclasses.replace(req, attribution=who.attribute(Attribution()))
        try:
            validate_usage(req, catalog=self.catalog)
            recorded_us = occurred_at(req.occurred_us, self._clock.now_us(),
                                      self._max_backfill_days)
            decision = self._decision_of(req, who) if req.decision_id else None
            model = self._model_for(req, decision)
        except InvalidRequest:
            # a retry of a report that was valid when it was stored (its model has left the
            # catalog since, its occurred_at has aged out) still gets its stored answer
            stored = self._stored(req.usage_id)
            if stored is None or stored.payload_hash != digest:
                raise
            who.check_owns(stored.attribution, "the usage_id's report")
            return UsageWrite(WriteStatus.REPLAYED, stored)
        except (UnknownDecision, PreconditionFailed) as exc:
            stored = self._stored(req.usage_id)
            if stored is None:
                if isinstance(exc, UnknownDecision):
                    raise who.missing("the decision", exc) from None
                raise
            who.check_owns(stored.attribution, "the usage_id's report")
            return UsageWrite(WriteStatus.REPLAYED if stored.payload_hash == digest
                              else WriteStatus.CONFLICT, stored)
        base = decision.attribution if decision else Attribution()
        attribution = who.attribute(base.overridden_by(req.attribution))
        predicted = next((c for c in decision.candidates if c.model == model.id), None) \
            if decision else None
        review_ms = round(req.review_seconds * 1000)
        memory_gb_ms = round(req.memory_gb_seconds * 1000)
        cost = usage_cost(
            model.prices,
            self.catalog.rates,
            req.tokens,
            tools=tuple(ToolUse(t.name, t.count or 1, t.cost.nanos if t.cost else None)
                        for t in req.tool_calls),
            compute=ComputeUse(round(req.cpu_seconds * 1000), round(req.gpu_seconds * 1000),
                               req.compute_cost.nanos if req.compute_cost else None,
                               memory_gb_ms),
            review=ReviewUse(review_ms, req.review_hourly_rate.nanos
                             if req.review_hourly_rate else None),
            token_cost_override=req.actual_cost.nanos if req.actual_cost else None,
        )
        check_cost_bounds(cost, MAX_MONEY_NANOS)
        t = req.tokens
        charges = charges_for(applicable(self._book.rules, attribution, model.id), recorded_us,
                              cost.total, t.input + t.cached_input + t.cache_write + t.output
                              + t.reasoning)
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
            currency=self.catalog.currency,
            # against the prediction for the model actually used, which may be a fallback
            predicted_cost=predicted.cost if predicted else None,
            predicted_output_tokens=predicted.output_tokens if predicted else None,
            charges=charges,
            quality=req.quality,
            memory_gb_ms=memory_gb_ms,
        )

    def submit(self, record: UsageRecord) -> Future[UsageWrite]:
        """Queue the record for group commit; the future resolves to its UsageWrite once the
        transaction that stores (and settles) it has committed."""
        return self._recorder.record_usage(record)

    def finish(self, write: UsageWrite, usage_id: str, who: Principal = SYSTEM, *,
               budgets: bool = True) -> UsageResult:
        """Turn a committed write into the answer; learn from a first-time report. A usage_id
        that another team's report already holds tells ``who`` nothing of that report.
        ``budgets=False`` leaves out the budget statuses (and the ledger read they take): a
        batch of spans is answered without them."""
        if write.status is not WriteStatus.INSERTED:
            who.check_owns(write.record.attribution, "the usage_id's report")
        if write.status is WriteStatus.CONFLICT:
            raise Conflict(f"usage_id {quoted(usage_id)} was already recorded with a different "
                           "payload")
        if write.status is WriteStatus.INSERTED:
            usage = write.record
            decision = self._decisions.get(usage.decision_id) if usage.decision_id else None
            if decision is not None:
                self._calibration.learn(decision, usage)
                if usage.quality is not None:
                    observe(self._outcomes, decision, usage.model, usage.quality,
                            self._clock.now_us())
        return UsageResult(write.record, replayed=write.status is WriteStatus.REPLAYED,
                           budgets=self._statuses(write) if budgets else ())

    def report(self, req: UsageInput, timeout: float = 30.0,
               who: Principal = SYSTEM) -> UsageResult:
        """Blocking convenience over prepare/submit/finish, for the CLI and tests."""
        prepared = self.prepare(req, who)
        write = prepared if isinstance(prepared, UsageWrite) else \
            self.submit(prepared).result(timeout)
        return self.finish(write, req.usage_id, who)

    def _statuses(self, write: UsageWrite) -> tuple[BudgetStatus, ...]:
        """The budgets the usage was charged to, as they stand after the charge."""
        u = write.record
        if write.status is WriteStatus.INSERTED:
            rules = [r for c in u.charges if (r := self._rule(c.budget_id)) is not None]
        else:
            rules = applicable(self._book.rules, u.attribution, u.model)
        if not rules:
            return ()
        try:
            return tuple(self._ledger.statuses(rules, u.recorded_us))
        except StoreUnavailable:
            return ()  # the usage is recorded; only its report of the budgets is missing

    def _decision_of(self, req: UsageInput, who: Principal) -> DecisionRecord:
        """The usage's decision, if ``who`` owns it: known here, in the queue or the store;
        else, with a valid token, the decision it carries, restored (queued for commit before
        the usage, so the store has it as the caller was told; never for another team)."""
        if not req.decision_token:
            known = self._decisions.find(req.decision_id)
            who.check_owns(known.attribution, "the decision")
            return known
        found = self._decisions.get(req.decision_id)
        if found is not None:
            who.check_owns(found.attribution, "the decision")
            return found
        restored = decision_token.verify(req.decision_token, self._decision_key,
                                         req.decision_id)
        who.check_owns(restored.attribution, "the decision")
        self._recorder.record_decision(restored)
        self._decisions.remember(restored)
        return restored

    def _stored(self, usage_id: str) -> UsageRecord | None:
        """The usage stored under ``usage_id``, if the id is one that could have been stored."""
        if not valid_identifier(usage_id):
            return None
        return self._store.get_usage(usage_id)

    def _rule(self, budget_id: str) -> BudgetRule | None:
        return next((r for r in self._book.rules if r.id == budget_id), None)

    def _model_for(self, req: UsageInput, decision: DecisionRecord | None) -> ModelSpec:
        if req.model:
            return self.catalog.get(req.model)
        assert decision is not None  # validate_usage requires model or decision_id
        spec = self.catalog.find(decision.model)
        if spec is None:
            raise PreconditionFailed(f"the decision's model {decision.model!r} is no longer in "
                                     "the catalog: report the model used")
        return spec
