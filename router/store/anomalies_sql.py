"""What the anomaly detectors read (hourly series, calls per task) and the anomalies they found."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from router.core.anomalies import (
    Anomaly,
    HourBucket,
    Kind,
    Series,
    TaskCount,
    grow,
    incidents,
)
from router.core.records import Outcome
from router.store.engine import SqlBase
from router.store.tables import anomalies, usage_hourly, usages


class SqlAnomalies(SqlBase):
    def anomaly_inputs(self, since_us: int, until_us: int, tasks_since_us: int
                       ) -> tuple[list[Series], list[Series], list[TaskCount]]:
        """What the detectors read: hourly series per agent and per team over [since, until)
        (from the rollup), and calls per task_id over [tasks_since, until) (from the ledger)."""
        h, u = usage_hourly.c, usages.c
        sums = (sa.func.sum(h.calls), sa.func.sum(h.cost_total), sa.func.sum(h.predicted_cost),
                sa.func.sum(h.predicted_calls), sa.func.sum(h.actual_of_predicted),
                sa.func.sum(h.failures))
        window = sa.and_(h.hour_us >= since_us, h.hour_us < until_us)
        with self._connect() as conn:
            first_seen = {(r[0], r[1]): int(r[2]) for r in conn.execute(
                sa.select(h.team, h.agent, sa.func.min(h.hour_us)).group_by(h.team, h.agent))}
            agent_rows = conn.execute(
                sa.select(h.team, h.agent, h.hour_us, *sums).where(window, h.agent != "")
                .group_by(h.team, h.agent, h.hour_us).order_by(h.team, h.agent, h.hour_us)).all()
            team_rows = conn.execute(
                sa.select(h.team, sa.literal(""), h.hour_us, *sums).where(window, h.team != "")
                .group_by(h.team, h.hour_us).order_by(h.team, h.hour_us)).all()
            tasks = [TaskCount(r[0], r[1], r[2], r[3], int(r[4]), int(r[5] or 0), int(r[6]),
                               int(r[7])) for r in conn.execute(
                sa.select(u.task_id, u.task_type, u.team, u.agent, sa.func.count(),
                          sa.func.sum(sa.case((u.outcome == int(Outcome.FAILURE), 1),
                                              else_=0)),
                          sa.func.min(u.recorded_us), sa.func.max(u.recorded_us))
                .where(u.recorded_us >= tasks_since_us, u.recorded_us < until_us,
                       u.task_id != "")
                .group_by(u.task_id, u.task_type, u.team, u.agent))]
        team_first: dict[str, int] = {}
        for (team, _), first in first_seen.items():
            team_first[team] = min(first, team_first.get(team, first))
        return (_series(agent_rows, lambda t, a: first_seen.get((t, a), since_us)),
                _series(team_rows, lambda t, _: team_first.get(t, since_us)), tasks)

    def save_anomalies(self, found: Sequence[Anomaly], now_us: int) -> list[Anomaly]:
        """Store ``found`` as incidents; returns the new ones.

        One run's detections are first merged into incidents (``incidents``); each is then
        looked up among the stored incidents of its subject by window (``ix_anomalies_incident``
        ): one that it continues is grown (``grow``: its key and start kept, the latest window
        end, values, message and evidence) and its ``last_detected_us`` set; otherwise the
        incident is inserted. Runs take turns: in this process, and across replicas on
        PostgreSQL (a transaction-scoped advisory lock), so two runs cannot both insert one
        incident under two starts.
        """
        if not found:
            return []
        a = anomalies.c
        new: list[Anomaly] = []
        with _SAVING, self._connect(write=True) as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SAVE_LOCK})
            for seen in incidents(found):
                row = conn.execute(
                    sa.select(anomalies)
                    .where(a.kind == seen.kind.value, a.team == seen.team,
                           a.agent == seen.agent, a.task_id == seen.task_id,
                           a.window_end_us >= seen.window_start_us,
                           a.window_start_us <= seen.window_end_us)
                    .order_by(a.window_end_us.desc()).limit(1)).first()
                if row is None:
                    inserted = conn.execute(self._insert(anomalies).values(
                        key=seen.key(), kind=seen.kind.value, team=seen.team, agent=seen.agent,
                        task_id=seen.task_id, **_values(seen), detected_us=now_us,
                        last_detected_us=now_us).on_conflict_do_nothing()).rowcount
                    if inserted:
                        new.append(seen)
                    continue
                grown = grow(_anomaly(row), seen)
                conn.execute(anomalies.update().where(a.key == row.key).values(
                    **_values(grown), last_detected_us=max(now_us, row.last_detected_us)))
        return new

    def list_anomalies(self, since_us: int | None = None, kinds: Sequence[str] = (),
                       limit: int = 1000, team: str | None = None
                       ) -> list[tuple[Anomaly, int]]:
        """Stored anomalies (of one team, when given), newest first, with when each was
        detected."""
        a = anomalies.c
        stmt = sa.select(anomalies).order_by(a.detected_us.desc(), a.key).limit(limit)
        if since_us is not None:
            stmt = stmt.where(a.detected_us >= since_us)
        if kinds:
            stmt = stmt.where(a.kind.in_(list(kinds)))
        if team is not None:
            stmt = stmt.where(a.team == team)
        with self._connect() as conn:
            return [(_anomaly(r), r.detected_us) for r in conn.execute(stmt)]


_SAVING = threading.Lock()  # one save at a time in this process (SQLite has no row locks)
_SAVE_LOCK = 0x726F757465720007  # pg advisory lock key: replicas save anomalies in turn


def _values(a: Anomaly) -> dict[str, Any]:
    """The columns a detection sets (and a later detection of the incident updates)."""
    return {"window_start_us": a.window_start_us, "window_end_us": a.window_end_us,
            "observed": float(a.observed), "baseline": float(a.baseline), "message": a.message,
            "evidence": json.dumps(dict(a.evidence), sort_keys=True, default=str)}


def _anomaly(r: Any) -> Anomaly:
    return Anomaly(Kind(r.kind), r.team, r.agent, r.task_id, r.window_start_us,
                   r.window_end_us, r.observed, r.baseline, r.message, json.loads(r.evidence))


def _series(rows: Sequence[Any], first_seen: Callable[[str, str], int]) -> list[Series]:
    """Group (team, agent, hour, sums...) rows, sorted by key and hour, into series."""
    out: list[Series] = []
    for (team, agent), group in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
        buckets = tuple(HourBucket(int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]),
                                   int(r[7]), int(r[8])) for r in group)
        out.append(Series(team, agent, first_seen(team, agent), buckets))
    return out

