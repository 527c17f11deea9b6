"""Spend in SQL: the rollups kept on write, and the GROUP BY queries reports and savings read.

Three rollups are kept in the transaction that records each usage: hourly by team/agent/model
(time reports, the detectors), daily by the same keys (month reports, the dashboard) and daily by
every key but task_id. A query reads the smallest table that answers it exactly
(``SpendQuery.source``); the raw ledger answers the rest.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from router.core.pricing import TokenCounts
from router.core.records import Outcome, UsageRecord
from router.core.savings import UsageGroup
from router.core.spend import (
    MEASURES,
    Bucket,
    Source,
    SpendGroup,
    SpendQuery,
    bucket_starts,
    fold,
)
from router.core.timeunits import DAY_US, HOUR_US, MINUTE_US
from router.store.base import ScopeSeries
from router.store.engine import SqlBase
from router.store.tables import (
    COLUMN_OF,
    feedback,
    usage_daily,
    usage_daily_agents,
    usage_hourly,
    usages,
)

# the rollup's summed columns in the order _accumulate adds them (provider first, a key)
ROLLUP_SUMS = ("provider", "calls", "input_tokens", "cached_input_tokens", "output_tokens",
               "reasoning_tokens", "cost_tokens", "cost_tools", "cost_compute", "cost_review",
               "cost_total", "predicted_cost", "predicted_calls", "actual_of_predicted",
               "failures", "review_calls", "review_ms", "tool_calls", "compute_ms",
               "cache_write_tokens")


class Rollup:
    """One rollup table: its upsert statement, bucket width and the keys of a usage."""

    def __init__(self, table: str, time_column: str, step_us: int, keys: tuple[str, ...],
                 key_of: Callable[[UsageRecord], tuple[str, ...]], mark: str) -> None:
        sums = (*ROLLUP_SUMS[1:], "abs_error_ratio_sum")
        columns = (time_column, *keys, "provider", *sums)
        self.step_us, self.key_of = step_us, key_of
        self.sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                    f"({', '.join([mark] * len(columns))}) ON CONFLICT "
                    f"({', '.join((time_column, *keys))}) DO UPDATE SET "
                    + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in sums))


def rollups(mark: str) -> list[Rollup]:
    return [
        Rollup("usage_hourly", "hour_us", HOUR_US, ("team", "agent", "model"),
               lambda u: (u.attribution.team, u.attribution.agent, u.model), mark),
        Rollup("usage_daily_agents", "day_us", DAY_US, ("team", "agent", "model"),
               lambda u: (u.attribution.team, u.attribution.agent, u.model), mark),
        Rollup("usage_daily", "day_us", DAY_US, ("team", "agent", "user_name", "task_type",
                                                  "model"),
               lambda u: (u.attribution.team, u.attribution.agent, u.attribution.user,
                          u.attribution.task_type, u.model), mark),
    ]


def roll_up(cursor: Any, tables: Sequence[Rollup], records: Sequence[UsageRecord]) -> None:
    """Add newly recorded usage to every rollup, one upsert per (bucket, keys), in key order
    (replicas lock rollup rows in the same order). Runs in the usage's own transaction."""
    for rollup in tables:
        groups: dict[tuple[Any, ...], list[Any]] = {}
        for u in records:
            key = (u.recorded_us - u.recorded_us % rollup.step_us, *rollup.key_of(u))
            acc = groups.get(key)
            if acc is None:
                acc = groups[key] = [u.provider] + [0] * (len(ROLLUP_SUMS) - 1) + [0.0]
            _accumulate(acc, u)
        cursor.executemany(rollup.sql, [(*k, *groups[k]) for k in sorted(groups)])


# the rollup that answers each source: its table, time column and bucket width
_ROLLUP_OF = {Source.DAILY_AGENTS: (usage_daily_agents, usage_daily_agents.c.day_us, DAY_US),
              Source.HOURLY: (usage_hourly, usage_hourly.c.hour_us, HOUR_US),
              Source.DAILY: (usage_daily, usage_daily.c.day_us, DAY_US)}
_HOURLY_KEYS = frozenset({"team", "agent", "model"})
_DAILY_KEYS = _HOURLY_KEYS | {"user", "task_type"}
_FOREVER_US = 2**62  # the end of an open range (year 148,000: after every recorded usage)
SERIES_PER_STATEMENT = 100  # scopes per UNION ALL (SQLite allows 500 compound terms)


class SqlSpend(SqlBase):
    """Reports' reads: savings groups and QuerySpend rows; forecasts' scope series."""

    def scope_series(self, scopes: Sequence[Mapping[str, str]], since_us: int, until_us: int
                     ) -> list[ScopeSeries | None]:
        """Each scope's cost and tokens per bucket: one UNION ALL of per-scope GROUP BYs per
        rollup (and per SERIES_PER_STATEMENT scopes), over the rollups' time ranges."""
        out: list[ScopeSeries | None] = [None] * len(scopes)
        for table, time_name, step, fits in (
                (usage_hourly, "hour_us", HOUR_US, lambda k: k <= _HOURLY_KEYS),
                (usage_daily, "day_us", DAY_US,
                 lambda k: not k <= _HOURLY_KEYS and k <= _DAILY_KEYS)):
            wanted = [i for i, s in enumerate(scopes) if fits(set(s))]
            if not wanted:
                continue
            t = table.c
            time_col = t[time_name]
            tokens = (t.input_tokens + t.cached_input_tokens + t.output_tokens
                      + t.reasoning_tokens + t.cache_write_tokens)
            start = since_us - since_us % step
            found: dict[int, list[tuple[int, int, int]]] = {i: [] for i in wanted}
            for at in range(0, len(wanted), SERIES_PER_STATEMENT):
                chunk = wanted[at:at + SERIES_PER_STATEMENT]
                selects = [sa.select(sa.literal_column(str(int(i))).label("i"),
                                     time_col.label("at"),
                                     sa.func.sum(t.cost_total).label("cost"),
                                     sa.func.sum(tokens).label("tokens"))
                           .where(time_col >= start, time_col < until_us,
                                  *(t[COLUMN_OF.get(k, k)] == v for k, v in scopes[i].items()))
                           .group_by(time_col) for i in chunk]
                stmt = selects[0] if len(selects) == 1 else sa.union_all(*selects)
                for r in self._rows(stmt, "forecast series"):
                    found[int(r.i)].append((int(r.at), int(r.cost or 0), int(r.tokens or 0)))
            for i, rows in found.items():
                out[i] = ScopeSeries(step, tuple(sorted(rows)))
        return out

    def usage_groups(self, since_us: int | None = None, until_us: int | None = None,
                     team: str | None = None) -> list[UsageGroup]:
        """Usage summed per (team, agent, model) over [since, until), of one team when
        ``team`` is given: read as QuerySpend reads it (the rollups, and the ledger only for
        the partial hours at the ends of the range), never a GROUP BY of the whole ledger."""
        query = SpendQuery(since_us or 0, _FOREVER_US if until_us is None else until_us,
                           ("team", "agent", "model"),
                           filters={} if team is None else {"team": team})
        return [UsageGroup(r.keys["team"], r.keys["agent"], r.keys["model"], int(r["calls"]),
                           TokenCounts(int(r["input_tokens"]), int(r["cached_input_tokens"]),
                                       int(r["output_tokens"]), int(r["reasoning_tokens"]),
                                       int(r["cache_write_tokens"])),
                           int(r["cost_tokens"]), int(r["cost_total"]))
                for r in fold(query, self.spend_rows(query))]

    def spend_rows(self, query: SpendQuery) -> list[SpendGroup]:
        """Usage summed per the query's keys (and per time bucket, or per quarter hour from
        the raw ledger, when it buckets by time): one GROUP BY per part of the query's plan
        (the smallest rollup that answers each part exactly, else the raw ledger); ``fold``
        sums the parts' rows into the query's groups."""
        out: list[SpendGroup] = []
        for part in query.plan():
            if part.moves:
                out += part.moved(self._spend_rows(
                    part.query, part.source, ranges=[(lo, hi) for lo, hi, _ in part.moves]))
            else:
                out += self._spend_rows(part.query, part.source, part.days)
        return out

    def score_rows(self, query: SpendQuery) -> list[SpendGroup]:
        """One statement: the scored usages (along their partial index) and the feedback (along
        its call-time index), each grouped by the query's keys and into its buckets as the raw
        ledger's rows are (``_bucket_key``, a quarter hour for ``fold`` otherwise), UNION ALL;
        ``fold`` adds a group's two rows."""
        keys = list(dict.fromkeys(k for k in (*query.sql_keys(), *query.filters)
                                  if k != "cost_kind"))
        step = 15 * MINUTE_US if query.bucket is not Bucket.NONE else None
        selects = []
        for table, time_col, score, scored in (
                (usages, usages.c.recorded_us, usages.c.quality, usages.c.quality.isnot(None)),
                (feedback, feedback.c.call_us, feedback.c.score, None)):
            selected = [table.c[COLUMN_OF.get(k, k)].label(k) for k in keys]
            if step:
                selected.append(_bucket_key(query, time_col, step))
            stmt = sa.select(*selected, sa.func.sum(score).label("quality_sum"),
                             sa.func.count().label("quality_count")).where(
                time_col >= query.start_us, time_col < query.end_us)
            if scored is not None:
                stmt = stmt.where(scored)
            for k, v in query.filters.items():
                if k != "cost_kind":
                    stmt = stmt.where(table.c[COLUMN_OF.get(k, k)] == v)
            for k, v in sorted(query.labels.items()):
                stmt = stmt.where(self._label_is(table.c.labels, k, v))
            selects.append(stmt.group_by(*selected) if selected else stmt)
        out: list[SpendGroup] = []
        for r in self._rows(sa.union_all(*selects), "quality scores"):
            m = r._mapping
            if not m["quality_count"]:
                continue  # no group: the aggregate of no rows
            out.append(({k: m[k] for k in keys}, m["at"] if step else None,
                        {"quality_sum": float(m["quality_sum"] or 0.0),
                         "quality_count": int(m["quality_count"])}))
        return out

    def _spend_rows(self, query: SpendQuery, source: Source,
                    days: Sequence[tuple[int, int]] = (),
                    ranges: Sequence[tuple[int, int]] = ()) -> list[SpendGroup]:
        """One GROUP BY of ``source`` over the query's range (or only over ``ranges``, then per
        hour or quarter hour), into the query's buckets, or a daily table's ``days`` into the
        buckets they count in."""
        keys = [k for k in (*query.sql_keys(), *query.filters) if k != "cost_kind"]
        keys = list(dict.fromkeys(keys))
        bucketed = query.bucket is not Bucket.NONE or bool(ranges)
        if source is Source.RAW:
            table, time_col = usages, usages.c.recorded_us
            step = 15 * MINUTE_US if bucketed else None  # quarter hours nest in every zone's days
            sums = _raw_sums(usages.c)
        else:
            table, time_col, width = _ROLLUP_OF[source]
            step = width if bucketed else None
            sums = [sa.func.sum(table.c[m]).label(m) for m in MEASURES]
        columns = [table.c[COLUMN_OF.get(k, k)].label(k) for k in keys]
        time_key = None
        if step and days:
            time_key = sa.case(*((time_col < end, bucket) for end, bucket in days),
                               else_=days[-1][1]).label("at")
        elif step:
            time_key = _bucket_key(query, time_col, step)
        selected = [*columns, *([time_key] if time_key is not None else [])]
        base = sa.select(*selected, *sums)
        for k, v in query.filters.items():
            if k != "cost_kind":
                base = base.where(table.c[COLUMN_OF.get(k, k)] == v)
        for k, v in sorted(query.labels.items()):
            base = base.where(self._label_is(usages.c.labels, k, v))
        # scattered ranges (the hours a plan moves): one index search each, UNION ALL (an OR
        # of ranges is one scan over everything between them)
        selects = [base.where(time_col >= lo, time_col < hi).group_by(*selected)
                   for lo, hi in (ranges or [(query.start_us, query.end_us)])]
        stmt = selects[0] if len(selects) == 1 else sa.union_all(*selects)
        out: list[SpendGroup] = []
        for r in self._rows(stmt, "spend totals"):
            m = r._mapping
            out.append(({k: m[k] for k in keys}, m["at"] if step else None,
                        {k: (float(m[k] or 0) if k == "abs_error_ratio_sum" else int(m[k] or 0))
                         for k in MEASURES}))
        return out


def _bucket_key(query: SpendQuery, time_col: Any, step: int) -> Any:
    """The time a row is grouped at: its local day, week or month's start (a CASE over the
    query's buckets), or, for hours and very many buckets, its ``step`` for ``fold`` to
    bucket."""
    starts = (bucket_starts(query) if query.bucket not in (Bucket.HOUR, Bucket.NONE)
              else None)
    if starts is not None and len(starts) <= 2_000:
        # each row straight into its local day/week/month: the database returns the final
        # groups, not one row per hour for Python to fold
        return sa.case(*((time_col < end, start) for start, end in
                         itertools.pairwise([*starts, query.end_us])
                         if end > start), else_=starts[-1]).label("at")
    return (time_col - time_col % step).label("at")


def _raw_sums(u: Any) -> list[Any]:
    """The rollup's measures computed from raw usage rows (same definitions as ``roll_up``)."""
    predicted = u.predicted_cost.isnot(None)
    one = sa.literal(1)
    zero = sa.literal(0)
    return [
        sa.func.count().label("calls"),
        *(sa.func.sum(u[c]).label(c) for c in (
            "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens",
            "cost_tokens", "cost_tools", "cost_compute")),
        sa.func.sum(u.cost_review).label("cost_review"),
        sa.func.sum(u.cost_total).label("cost_total"),
        sa.func.sum(sa.func.coalesce(u.predicted_cost, 0)).label("predicted_cost"),
        sa.func.sum(sa.case((predicted, one), else_=zero)).label("predicted_calls"),
        sa.func.sum(sa.case((predicted, u.cost_tokens), else_=zero)).label(
            "actual_of_predicted"),
        sa.func.sum(sa.case((sa.and_(predicted, u.predicted_cost != 0),
                             sa.func.abs(u.cost_tokens - u.predicted_cost) * 1.0
                             / u.predicted_cost), else_=sa.literal(0.0))).label(
            "abs_error_ratio_sum"),
        sa.func.sum(sa.case((u.outcome == int(Outcome.FAILURE), one), else_=zero)).label(
            "failures"),
        sa.func.sum(sa.case((u.review_ms > 0, one), else_=zero)).label("review_calls"),
        sa.func.sum(u.review_ms).label("review_ms"),
        sa.func.sum(u.tool_calls).label("tool_calls"),
        sa.func.sum(u.compute_ms).label("compute_ms"),
        sa.func.sum(u.cache_write_tokens).label("cache_write_tokens"),
    ]


def _accumulate(acc: list[Any], u: UsageRecord) -> None:
    """Add one usage to a rollup row's sums (the order of ROLLUP_SUMS, then the error sum)."""
    t, c, predicted = u.tokens, u.cost, u.predicted_cost
    for i, v in enumerate((
            1, t.input, t.cached_input, t.output, t.reasoning, c.tokens, c.tools, c.compute,
            c.human_review, c.total, predicted or 0, predicted is not None,
            c.tokens if predicted is not None else 0, u.outcome == Outcome.FAILURE,
            u.review_ms > 0, u.review_ms, u.tool_calls, u.compute_ms, t.cache_write), start=1):
        acc[i] += int(v)
    if predicted:
        acc[-1] += abs(c.tokens - predicted) / predicted

