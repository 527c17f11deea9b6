"""Decisions, usage and calibration factors in SQL: the group commit's batch and the point reads.

Writes are set-based: one multi-row INSERT per table per batch, conflicts resolved by the database
(``ON CONFLICT DO NOTHING ... RETURNING``), so replicas sharing PostgreSQL never double-record. A
usage settles its budget charges and enters the rollups in the same transaction.
"""

from __future__ import annotations

import dataclasses
import json
from collections import namedtuple
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from router.core.budgets import Totals
from router.core.calibration import Factor
from router.core.pricing import CostBreakdown, TokenCounts
from router.core.records import (
    Attribution,
    CandidateRecord,
    DecisionQuery,
    DecisionRecord,
    DecisionSummary,
    Outcome,
    UsageQuery,
    UsageRecord,
)
from router.store import ledger_sql
from router.store.base import UsageWrite, WriteStatus
from router.store.engine import SqlBase
from router.store.ledger_sql import WindowKey
from router.store.spend_sql import roll_up, rollups
from router.store.tables import COLUMN_OF, calibration, decisions, secrets, usages


class SqlRecords(SqlBase):
    """What the recorder writes and the services read back, one decision or usage at a time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        mark = self._mark
        self._rollups = rollups(mark)
        self._usage_columns = tuple(c.name for c in usages.columns)
        self._usage_columns_sql = ", ".join(self._usage_columns)
        self._usage_row_marks = "(" + ", ".join([mark] * len(self._usage_columns)) + ")"
        self._usage_chunk = 30_000 // len(self._usage_columns)  # under SQLite's variable limit
        self._decision_columns = tuple(c.name for c in decisions.columns)
        self._decision_values = itemgetter(*self._decision_columns)  # a row's, in column order
        self._decision_by_request_sql = (f"SELECT {', '.join(self._decision_columns)} "
                                         f"FROM decisions WHERE request_id = {mark}")
        self._decision_insert_sql = (
            f"INSERT INTO decisions ({', '.join(self._decision_columns)}) VALUES "
            f"({', '.join([mark] * len(self._decision_columns))}) ON CONFLICT DO NOTHING")

    def write_batch(
        self, decision_records: Sequence[DecisionRecord], usage_records: Sequence[UsageRecord],
        factors: Sequence[Factor] = (), taken: list[str] | None = None,
    ) -> list[UsageWrite]:
        with self._connect(write=True) as conn:
            if factors:
                stmt = self._insert(calibration)
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=["model", "task_type", "agent"],
                    set_={c: stmt.excluded[c] for c in ("log_factor", "count", "updated_us")},
                    where=calibration.c.updated_us <= stmt.excluded.updated_us,
                ), [{"model": f.model, "task_type": f.task_type, "agent": f.agent,
                     "log_factor": f.log_factor, "count": f.count, "updated_us": f.updated_us}
                    for f in sorted(factors, key=lambda f: (f.model, f.task_type, f.agent))])
            if decision_records:
                losers = self._insert_decisions(conn, decision_records)
                if taken is not None:
                    taken.extend(losers)
            if not usage_records:
                return []
            first: dict[str, UsageRecord] = {}
            for u in usage_records:
                first.setdefault(u.usage_id, u)
            # sorted: two replicas writing overlapping ids lock rows in the same order
            inserted = self._insert_usages(conn, sorted(first.values(),
                                                        key=lambda u: u.usage_id))
            settled = [first[uid] for uid in sorted(inserted)]
            totals: dict[WindowKey, Totals] = {}
            if any(u.charges or (self.holds_in_sql and u.decision_id) for u in settled):
                cursor = conn.connection.cursor()
                try:
                    totals = ledger_sql.settle(cursor, self._ledger, [
                        (u.usage_id, u.decision_id, u.recorded_us, u.charges) for u in settled],
                        self.holds_in_sql)
                finally:
                    cursor.close()
            if settled:
                self._roll_up(conn, settled)
            stored = {uid: first[uid] for uid in inserted}
            missing = [uid for uid in first if uid not in inserted]
            if missing:
                rows = conn.execute(sa.select(usages).where(usages.c.usage_id.in_(missing)))
                stored.update({r.usage_id: _usage_record(r) for r in rows})
        results: list[UsageWrite] = []
        claimed: set[str] = set()
        for u in usage_records:
            rec = stored[u.usage_id]
            if u.usage_id in inserted and u.usage_id not in claimed:
                claimed.add(u.usage_id)
                results.append(UsageWrite(WriteStatus.INSERTED, rec, {
                    (c.budget_id, c.window_key): totals[(c.budget_id, c.window_key)]
                    for c in u.charges}))
            elif rec.payload_hash == u.payload_hash:
                results.append(UsageWrite(WriteStatus.REPLAYED, rec))
            else:
                results.append(UsageWrite(WriteStatus.CONFLICT, rec))
        return results

    def _roll_up(self, conn: Connection, records: Sequence[UsageRecord]) -> None:
        cursor = conn.connection.cursor()
        try:
            roll_up(cursor, self._rollups, records)
        finally:
            cursor.close()

    def _insert_decisions(self, conn: Connection, records: Sequence[DecisionRecord]
                          ) -> list[str]:
        """The busiest insert (one row per Route), straight to the DBAPI cursor: SQLAlchemy's
        per-row parameter processing costs ~4x the database's own work.

        A decision whose request_id another replica (or another decision of this batch) stored
        first is still kept, without the request_id, so the decision id its client holds keeps
        resolving; their ids are returned.
        """
        rows = sorted(map(_decision_row, records), key=lambda r: r["decision_id"])
        cursor = conn.connection.cursor()
        try:
            values = self._decision_values
            cursor.executemany(self._decision_insert_sql, list(map(values, rows)))
            keyed = [r for r in rows if r["request_id"] is not None]
            if keyed:
                marks = ", ".join([self._mark] * len(keyed))
                cursor.execute(f"SELECT decision_id FROM decisions WHERE decision_id IN ({marks})",
                               [r["decision_id"] for r in keyed])
                stored = {row[0] for row in cursor.fetchall()}
                losers = [{**r, "request_id": None} for r in keyed
                          if r["decision_id"] not in stored]
                if losers:
                    cursor.executemany(self._decision_insert_sql, list(map(values, losers)))
                    return [r["decision_id"] for r in losers]
        finally:
            cursor.close()
        return []

    def _insert_usages(self, conn: Connection, records: list[UsageRecord]) -> set[str]:
        """One multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING usage_id`` per chunk,
        straight to the DBAPI cursor; returns the ids that were new."""
        inserted: set[str] = set()
        cursor = conn.connection.cursor()
        try:
            for start in range(0, len(records), self._usage_chunk):
                chunk = records[start:start + self._usage_chunk]
                sql = (f"INSERT INTO usages ({self._usage_columns_sql}) VALUES "
                       + ", ".join([self._usage_row_marks] * len(chunk))
                       + " ON CONFLICT (usage_id) DO NOTHING RETURNING usage_id")
                params = [row[c] for row in map(_usage_row, chunk) for c in self._usage_columns]
                cursor.execute(sql, params)
                inserted.update(r[0] for r in cursor.fetchall())
        finally:
            cursor.close()
        return inserted

    def get_decision(self, decision_id: str) -> DecisionRecord | None:
        with self._connect() as conn:
            row = conn.execute(
                sa.select(decisions).where(decisions.c.decision_id == decision_id)
            ).first()
        return _decision_record(row) if row else None

    def find_decision_by_request(self, request_id: str) -> DecisionRecord | None:
        """One indexed read on the hot path's own connection (a miss is the common case: every
        Route with a request_id this process does not know asks)."""
        row = self._probe(self._decision_by_request_sql, (request_id,))
        return _decision_record(_DecisionRow(*row)) if row is not None else None

    def usages_for_decision(self, decision_id: str) -> list[UsageRecord]:
        with self._connect() as conn:
            rows = conn.execute(
                sa.select(usages).where(usages.c.decision_id == decision_id)
                .order_by(usages.c.recorded_us, usages.c.usage_id)
            )
            return [_usage_record(r) for r in rows]

    def unreported_decisions(self, since_us: int, limit: int) -> list[DecisionRecord]:
        d, u = decisions.c, usages.c
        reported = sa.select(sa.literal(1)).where(u.decision_id == d.decision_id).exists()
        with self._connect() as conn:
            rows = conn.execute(sa.select(decisions).where(d.created_us >= since_us, ~reported)
                                .order_by(d.created_us).limit(limit))
            return [_decision_record(r) for r in rows]

    def get_usage(self, usage_id: str) -> UsageRecord | None:
        with self._connect() as conn:
            row = conn.execute(sa.select(usages).where(usages.c.usage_id == usage_id)).first()
        return _usage_record(row) if row else None

    def usages_between(self, query: UsageQuery) -> list[UsageRecord]:
        with self._connect() as conn:
            return [_usage_record(r) for r in conn.execute(self._usage_page(query))]

    def _usage_page(self, query: UsageQuery) -> sa.Select[Any]:
        """The usage ``query`` selects, oldest first, after its cursor, LIMIT: read along
        ``ix_usages_team_recorded`` or ``ix_usages_recorded`` in that order (both end in
        usage_id), so never sorted; the cursor, spelled out rather than as a row comparison,
        bounds the index scan by recorded_us on either database."""
        u = usages.c
        stmt = sa.select(usages).where(u.recorded_us >= query.start_us,
                                       u.recorded_us < query.end_us)
        for key, value in query.filters.items():
            stmt = stmt.where(u[COLUMN_OF.get(key, key)] == value)
        if query.agents:
            stmt = stmt.where(u.agent.in_(query.agents))
        if query.after is not None:
            at, last = query.after
            stmt = stmt.where(u.recorded_us >= at,
                              sa.or_(u.recorded_us > at, u.usage_id > last))
        return stmt.order_by(u.recorded_us, u.usage_id).limit(query.limit)

    def list_decisions(self, query: DecisionQuery) -> list[DecisionSummary]:
        """One statement: the page of decisions (``_decision_page``) as a subquery, LEFT
        JOINed to the usage reported against each (by the usage's decision index), a row per
        (decision, usage) folded here."""
        u = usages.c
        page = self._decision_page(query).subquery("page")
        joined = u.decision_id == page.c.decision_id
        if query.usage_team is not None:
            joined = sa.and_(joined, u.team == query.usage_team)
        rows = sa.select(page, u.usage_id, u.cost_total, u.outcome).select_from(
            page.outerjoin(usages, joined)).order_by(
            page.c.created_us.desc(), page.c.decision_id.desc(), u.recorded_us, u.usage_id)
        out: list[DecisionSummary] = []
        with self._connect() as conn:
            for r in conn.execute(rows):
                if not out or out[-1].decision_id != r.decision_id:
                    out.append(DecisionSummary(
                        decision_id=r.decision_id, created_us=r.created_us,
                        attribution=_attribution(r), model=r.model, provider=r.provider,
                        complexity_label=r.complexity_label,
                        complexity_score=r.complexity_score, predicted_cost=r.predicted_cost,
                        currency=r.currency))
                if r.usage_id is not None:  # the latest usage comes last: its outcome stays
                    last_seen = out[-1]
                    out[-1] = dataclasses.replace(
                        last_seen, usage_count=last_seen.usage_count + 1,
                        actual_cost=last_seen.actual_cost + r.cost_total,
                        outcome=Outcome(r.outcome))
        return out

    def _decision_page(self, query: DecisionQuery) -> sa.Select[Any]:
        """The decisions ``query`` selects, newest first, after its cursor, LIMIT: read along
        ``ix_decisions_team_created``, ``ix_decisions_agent_created`` or
        ``ix_decisions_created`` in that order (each ends in decision_id), so never sorted,
        the cursor bounding the scan."""
        d = decisions.c
        stmt = sa.select(d.decision_id, d.created_us, d.team, d.agent, d.task_id, d.task_type,
                         d.user_name, d.labels, d.model, d.provider, d.complexity_label,
                         d.complexity_score, d.predicted_cost, d.currency)
        for key, value in query.filters.items():
            stmt = stmt.where(d[COLUMN_OF.get(key, key)] == value)
        for key, value in sorted(query.labels.items()):
            stmt = stmt.where(self._label_is(d.labels, key, value))
        if query.agents:
            stmt = stmt.where(d.agent.in_(query.agents))
        if query.start_us is not None:
            stmt = stmt.where(d.created_us >= query.start_us)
        if query.end_us is not None:
            stmt = stmt.where(d.created_us < query.end_us)
        if query.after is not None:
            at, last = query.after
            # spelled out rather than as a row comparison, so either database bounds the
            # index scan by created_us
            stmt = stmt.where(d.created_us <= at,
                              sa.or_(d.created_us < at, d.decision_id < last))
        return stmt.order_by(d.created_us.desc(), d.decision_id.desc()).limit(query.limit)

    def secret(self, name: str, make: Callable[[], str], now_us: int) -> str:
        with self._connect(write=True) as conn:
            conn.execute(self._insert(secrets).values(
                name=name, value=make(), created_us=now_us).on_conflict_do_nothing())
            return str(conn.execute(sa.select(secrets.c.value).where(
                secrets.c.name == name)).scalar_one())

    def load_calibration(self) -> list[Factor]:
        with self._connect() as conn:
            return [Factor(r.model, r.task_type, r.agent, r.log_factor,
                           r._mapping["count"], r.updated_us)  # r.count is tuple's method
                    for r in conn.execute(sa.select(calibration))]


# a decision row read straight from the DBAPI cursor, by column name like SQLAlchemy's rows
_DecisionRow = namedtuple("_DecisionRow", [c.name for c in decisions.columns])  # type: ignore[misc]


def _keys_row(a: Attribution) -> dict[str, Any]:
    return {"team": a.team, "agent": a.agent, "task_id": a.task_id, "task_type": a.task_type,
            "user_name": a.user,
            "labels": json.dumps(dict(a.labels), sort_keys=True) if a.labels else "{}"}


def _attribution(row: Any) -> Attribution:
    return Attribution(team=row.team, agent=row.agent, task_id=row.task_id,
                       task_type=row.task_type, user=row.user_name, labels=json.loads(row.labels))


def _candidates_json(candidates: Sequence[CandidateRecord]) -> str:
    """The kept candidates as JSON arrays, by orjson: the group commit serialises one list per
    decision, on a thread that shares the GIL with Route (the standard encoder only for what
    orjson refuses, such as an integer past 64 bits). Read back with ``json.loads``."""
    rows = [tuple(c) for c in candidates]  # orjson encodes tuples, not their subclasses
    try:
        return orjson.dumps(rows).decode()
    except TypeError:
        return json.dumps(rows)


def _decision_row(d: DecisionRecord) -> dict[str, Any]:
    return {
        **_keys_row(d.attribution),
        "decision_id": d.decision_id, "request_id": d.request_id,
        "request_hash": d.request_hash, "created_us": d.created_us, "model": d.model,
        "provider": d.provider, "complexity_label": d.complexity_label,
        "complexity_score": d.complexity_score, "quality_target": d.quality_target,
        "predicted_quality": d.predicted_quality, "input_tokens": d.input_tokens,
        "output_tokens": d.output_tokens, "predicted_cost": d.predicted_cost,
        "currency": d.currency, "reason_code": d.reason_code,
        "reason_message": d.reason_message, "fallbacks": orjson.dumps(d.fallbacks).decode(),
        "candidates": _candidates_json(d.candidates),
        "classifier_version": d.classifier_version,
        "prior_quality": d.prior_quality,
    }


def _decision_record(r: Any) -> DecisionRecord:
    return DecisionRecord(
        decision_id=r.decision_id, request_id=r.request_id, request_hash=r.request_hash,
        created_us=r.created_us, attribution=_attribution(r), model=r.model,
        provider=r.provider, complexity_label=r.complexity_label,
        complexity_score=r.complexity_score, quality_target=r.quality_target,
        predicted_quality=r.predicted_quality, input_tokens=r.input_tokens,
        output_tokens=r.output_tokens, predicted_cost=r.predicted_cost, currency=r.currency,
        reason_code=r.reason_code, reason_message=r.reason_message,
        fallbacks=tuple(json.loads(r.fallbacks)),
        candidates=tuple(CandidateRecord(*c) for c in json.loads(r.candidates)),
        classifier_version=r.classifier_version, prior_quality=r.prior_quality,
    )


def _usage_row(u: UsageRecord) -> dict[str, Any]:
    return {
        **_keys_row(u.attribution),
        "usage_id": u.usage_id, "payload_hash": u.payload_hash, "decision_id": u.decision_id,
        "recorded_us": u.recorded_us, "model": u.model, "provider": u.provider,
        "input_tokens": u.tokens.input, "cached_input_tokens": u.tokens.cached_input,
        "output_tokens": u.tokens.output, "reasoning_tokens": u.tokens.reasoning,
        "tool_calls": u.tool_calls, "compute_ms": u.compute_ms, "review_ms": u.review_ms,
        "outcome": int(u.outcome), "latency_ms": u.latency_ms,
        "cost_tokens": u.cost.tokens, "cost_tools": u.cost.tools,
        "cost_compute": u.cost.compute, "cost_review": u.cost.human_review,
        "cost_total": u.cost.total, "currency": u.currency,
        "predicted_cost": u.predicted_cost, "predicted_output_tokens": u.predicted_output_tokens,
        "quality": u.quality, "cache_write_tokens": u.tokens.cache_write,
        "memory_gb_ms": u.memory_gb_ms,
    }


def _usage_record(r: Any) -> UsageRecord:
    return UsageRecord(
        usage_id=r.usage_id, payload_hash=r.payload_hash, decision_id=r.decision_id,
        recorded_us=r.recorded_us, attribution=_attribution(r), model=r.model,
        provider=r.provider,
        tokens=TokenCounts(r.input_tokens, r.cached_input_tokens, r.output_tokens,
                           r.reasoning_tokens, r.cache_write_tokens),
        tool_calls=r.tool_calls, compute_ms=r.compute_ms, review_ms=r.review_ms,
        outcome=Outcome(r.outcome), latency_ms=r.latency_ms,
        cost=CostBreakdown(r.cost_tokens, r.cost_tools, r.cost_compute, r.cost_review),
        currency=r.currency, predicted_cost=r.predicted_cost,
        predicted_output_tokens=r.predicted_output_tokens, quality=r.quality,
        memory_gb_ms=r.memory_gb_ms,
    )
