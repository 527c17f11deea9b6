"""ReportFeedback: a score of a routed call's answer, given after the call, recorded exactly once.

The feedback names its call by decision or by usage (a usage resolves to its decision); it is
refused unless the caller may report usage for that call (a team's key: its team's, and its
agents' when narrowed), and a call outside the caller's scope is answered as one that does not
exist. The record copies its call's keys, model and time, so scores group like spend; it is
committed in its own transaction before the answer, and a first-time score teaches the
``OutcomeSink``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

from router.auth import SYSTEM, Principal
from router.core.clock import Clock
from router.core.errors import Conflict, InvalidRequest, UnknownDecision, UnknownUsage, quoted
from router.core.records import Attribution, DecisionRecord, FeedbackRecord, payload_hash
from router.core.requests import (
    FeedbackInput,
    feedback_payload,
    occurred_at,
    valid_identifier,
    validate_feedback,
)
from router.service.decisions import Decisions
from router.service.learning import NoLearning, OutcomeSink
from router.service.usage import observe
from router.settings import Settings
from router.store.base import FeedbackStore, RecordStore, WriteStatus


class FeedbackStores(RecordStore, FeedbackStore, Protocol):
    """What feedback reads (its call's usage) and writes."""


class _Call(NamedTuple):
    """The call a feedback scores, as its record copies it."""

    decision: DecisionRecord | None  # None: a usage reported without a decision
    decision_id: str | None
    usage_id: str | None
    attribution: Attribution
    model: str
    provider: str
    at_us: int  # when the call happened: the usage's recorded time, else the decision's


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    feedback: FeedbackRecord
    replayed: bool


class FeedbackService:
    def __init__(self, settings: Settings, store: FeedbackStores, decisions: Decisions,
                 clock: Clock, *, outcomes: OutcomeSink | None = None) -> None:
        self._store = store
        self._decisions = decisions
        self._clock = clock
        self._max_backfill_days = settings.max_backfill_days
        self._outcomes: OutcomeSink = outcomes if outcomes is not None else NoLearning()

    def report(self, req: FeedbackInput, who: Principal = SYSTEM) -> FeedbackResult:
        """Record the score (committed when this returns), or answer the stored one for a
        replay of its feedback_id. May wait on the store: the edge runs it off the loop."""
        who.require_spender("report feedback")
        digest = payload_hash(feedback_payload(req))
        now = self._clock.now_us()
        try:
            validate_feedback(req)
            occurred = occurred_at(req.occurred_us, now, self._max_backfill_days)
        except InvalidRequest:
            # a retry of feedback that was valid when it was stored (its occurred_at has aged
            # out since) still gets its stored answer
            stored = self._store.get_feedback(req.feedback_id) \
                if valid_identifier(req.feedback_id) else None
            if stored is None or stored.payload_hash != digest:
                raise
            who.check_owns(stored.attribution, "the feedback_id's feedback")
            return FeedbackResult(stored, replayed=True)
        call = self._call(req, who)
        assert req.score is not None  # validated
        record = FeedbackRecord(
            feedback_id=req.feedback_id, payload_hash=digest, decision_id=call.decision_id,
            usage_id=call.usage_id, attribution=call.attribution, model=call.model,
            provider=call.provider, score=req.score, source=req.source, comment=req.comment,
            call_us=call.at_us, recorded_us=now, occurred_us=occurred)
        write = self._store.write_feedback(record)
        if write.status is not WriteStatus.INSERTED:
            # the id may be another team's: its feedback is not shown, nor confirmed
            who.check_owns(write.record.attribution, "the feedback_id's feedback")
        if write.status is WriteStatus.CONFLICT:
            raise Conflict(f"feedback_id {quoted(req.feedback_id)} was already recorded with a "
                           "different payload")
        if write.status is WriteStatus.INSERTED and call.decision is not None:
            observe(self._outcomes, call.decision, record.model, record.score,
                    self._clock.now_us())
        return FeedbackResult(write.record, replayed=write.status is WriteStatus.REPLAYED)

    def _call(self, req: FeedbackInput, who: Principal) -> _Call:
        """The call the feedback scores, if ``who`` may report for it: the decision, or the
        usage and its decision (none when it was reported without one). A call outside the
        caller's scope is refused in the same words as one that does not exist."""
        if req.usage_id:
            usage = self._store.get_usage(req.usage_id)
            if usage is None:
                raise who.missing("the usage", UnknownUsage(req.usage_id))
            who.check_owns(usage.attribution, "the usage")
            decision = self._decisions.get(usage.decision_id) if usage.decision_id else None
            if decision is not None:
                who.check_owns(decision.attribution, "the usage")
            # the usage's keys and model: what its spend is grouped by
            return _Call(decision, usage.decision_id, usage.usage_id, usage.attribution,
                         usage.model, usage.provider, usage.recorded_us)
        try:
            decision = self._decisions.find(req.decision_id)
        except UnknownDecision as exc:
            raise who.missing("the decision", exc) from None
        who.check_owns(decision.attribution, "the decision")
        return _Call(decision, decision.decision_id, None, decision.attribution,
                     decision.model, decision.provider, decision.created_us)

