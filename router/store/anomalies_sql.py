"""What the anomaly detectors read (hourly series, calls per task) and the anomalies they found."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from router.core.anomalies import Anomaly, HourBucket, Kind, Series, TaskCount
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
        """Store anomalies not seen before (by key); returns those that are new."""
        if not found:
            return []
        new: list[Anomaly] = []
        with self._connect(write=True) as conn:
            for a in sorted(found, key=lambda a: a.key()):
                inserted = conn.execute(self._insert(anomalies).values(
                    key=a.key(), kind=a.kind.value, team=a.team, agent=a.agent,
                    task_id=a.task_id, window_start_us=a.window_start_us,
                    window_end_us=a.window_end_us, observed=float(a.observed),
                    baseline=float(a.baseline), message=a.message,
                    evidence=json.dumps(dict(a.evidence), sort_keys=True, default=str),
                    detected_us=now_us).on_conflict_do_nothing()).rowcount
                if inserted:
                    new.append(a)
        return new

    def list_anomalies(self, since_us: int | None = None, kinds: Sequence[str] = (),
                       limit: int = 1000) -> list[tuple[Anomaly, int]]:
        """Stored anomalies, newest first, with when each was detected."""
        a = anomalies.c
        stmt = sa.select(anomalies).order_by(a.detected_us.desc(), a.key).limit(limit)
        if since_us is not None:
            stmt = stmt.where(a.detected_us >= since_us)
        if kinds:
            stmt = stmt.where(a.kind.in_(list(kinds)))
        with self._connect() as conn:
            return [(Anomaly(Kind(r.kind), r.team, r.agent, r.task_id, r.window_start_us,
                             r.window_end_us, r.observed, r.baseline, r.message,
                             json.loads(r.evidence)), r.detected_us)
                    for r in conn.execute(stmt)]


def _series(rows: Sequence[Any], first_seen: Callable[[str, str], int]) -> list[Series]:
    """Group (team, agent, hour, sums...) rows, sorted by key and hour, into series."""
    out: list[Series] = []
    for (team, agent), group in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
        buckets = tuple(HourBucket(int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]),
                                   int(r[7]), int(r[8])) for r in group)
        out.append(Series(team, agent, first_seen(team, agent), buckets))
    return out

