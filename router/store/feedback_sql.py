"""Feedback in SQL: one score per feedback_id, written in its own transaction before the answer.

The write is ``INSERT ... ON CONFLICT (feedback_id) DO NOTHING RETURNING``: of concurrent
identical calls (on one replica or several) exactly one inserts; the others read the stored row
and are replays (or conflicts, when its payload differs).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from router.core.records import FeedbackRecord
from router.store.base import FeedbackWrite, WriteStatus
from router.store.engine import SqlBase
from router.store.records_sql import _attribution, _keys_row
from router.store.tables import feedback


class SqlFeedback(SqlBase):
    """ReportFeedback's write and GetDecision's read of it."""

    def write_feedback(self, record: FeedbackRecord) -> FeedbackWrite:
        with self._connect(write=True) as conn:
            inserted = conn.execute(
                self._insert(feedback).values(_feedback_row(record))
                .on_conflict_do_nothing(index_elements=["feedback_id"])
                .returning(feedback.c.feedback_id)).first()
            if inserted is not None:
                return FeedbackWrite(WriteStatus.INSERTED, record)
            row = conn.execute(sa.select(feedback).where(
                feedback.c.feedback_id == record.feedback_id)).one()
        stored = _feedback_record(row)
        return FeedbackWrite(WriteStatus.REPLAYED if stored.payload_hash == record.payload_hash
                             else WriteStatus.CONFLICT, stored)

    def get_feedback(self, feedback_id: str) -> FeedbackRecord | None:
        with self._connect() as conn:
            row = conn.execute(sa.select(feedback).where(
                feedback.c.feedback_id == feedback_id)).first()
        return _feedback_record(row) if row else None

    def feedback_for_decision(self, decision_id: str) -> list[FeedbackRecord]:
        with self._connect() as conn:
            rows = conn.execute(sa.select(feedback).where(feedback.c.decision_id == decision_id)
                                .order_by(feedback.c.recorded_us, feedback.c.feedback_id))
            return [_feedback_record(r) for r in rows]


def _feedback_row(f: FeedbackRecord) -> dict[str, Any]:
    return {
        **_keys_row(f.attribution),
        "feedback_id": f.feedback_id, "payload_hash": f.payload_hash,
        "decision_id": f.decision_id, "usage_id": f.usage_id, "model": f.model,
        "provider": f.provider, "score": f.score, "source": f.source, "comment": f.comment,
        "call_us": f.call_us, "recorded_us": f.recorded_us, "occurred_us": f.occurred_us,
    }


def _feedback_record(r: Any) -> FeedbackRecord:
    return FeedbackRecord(
        feedback_id=r.feedback_id, payload_hash=r.payload_hash, decision_id=r.decision_id,
        usage_id=r.usage_id, attribution=_attribution(r), model=r.model, provider=r.provider,
        score=r.score, source=r.source, comment=r.comment, call_us=r.call_us,
        recorded_us=r.recorded_us, occurred_us=r.occurred_us)
