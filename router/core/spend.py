"""Spend reports: grouping recorded usage by any key and time bucket, and chargeback.

Pure: the store hands over rows already summed per (hour, keys) (the hourly rollup it maintains on
write, or the raw ledger when a query needs keys the rollup lacks); this module buckets hours into
local days, weeks and months, folds rows into groups, derives the measures, and allocates shared
costs. Money stays integer nanos throughout, so every report's total equals the ledger's.
"""

from __future__ import annotations

import bisect
import enum
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from router.core.timeunits import DAY_US
from router.core.windows import WindowKind, window_at

DIMENSIONS = ("team", "agent", "user", "task_id", "task_type", "model", "provider", "cost_kind")
COST_KINDS = ("tokens", "tools", "compute", "human_review")
# summed per group; the rollup keeps exactly these columns
MEASURES = ("calls", "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens",
            "cost_tokens", "cost_tools", "cost_compute", "cost_review", "cost_total",
            "predicted_cost", "predicted_calls", "actual_of_predicted", "abs_error_ratio_sum",
            "failures", "review_calls", "review_ms", "tool_calls", "compute_ms",
            "cache_write_tokens")
# Grouped by cost kind, each measure sits on the one kind row that owns it (0 on the other three),
# so it appears once per call in the rows and in any sum of them. A usage report is one model
# call, whose own cost is its tokens: the call itself (calls, failures), its token counts and its
# prediction belong to the tokens row; tools, compute and review are what the call added.
# The scores of the calls (usage qualities and feedback): summed apart from spend, by the time of
# their call (``SpendStore.score_rows``), into the same groups; a score is of the call itself, so
# grouped by cost kind it sits on the tokens row.
SCORES = ("quality_sum", "quality_count")
KIND_MEASURES = {
    "tokens": ("calls", "failures", "input_tokens", "cached_input_tokens", "output_tokens",
               "reasoning_tokens", "cost_tokens", "predicted_cost", "predicted_calls",
               "actual_of_predicted", "abs_error_ratio_sum", "cache_write_tokens", *SCORES),
    "tools": ("cost_tools", "tool_calls"),
    "compute": ("cost_compute", "compute_ms"),
    "human_review": ("cost_review", "review_calls", "review_ms"),
}
KIND_COST = {"tokens": "cost_tokens", "tools": "cost_tools", "compute": "cost_compute",
             "human_review": "cost_review"}
# what each rollup is grouped by (provider follows from the model); task_id and labels are only
# in the raw ledger
HOURLY_KEYS = frozenset({"team", "agent", "model", "provider", "cost_kind"})
DAILY_KEYS = frozenset({"team", "agent", "user", "task_type", "model", "provider", "cost_kind"})


MAX_PLAN_MOVES = 400  # more hours to move than this: the query reads one table instead
MAX_PLAN_DAYS = 20_000  # buckets over more days than this (55 years): one table, one query


class Source(enum.Enum):
    """Where a query is answered from, cheapest first."""

    DAILY_AGENTS = "usage_daily_agents"
    HOURLY = "usage_hourly"
    DAILY = "usage_daily"
    RAW = "usages"


class Bucket(enum.Enum):
    NONE = "none"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


SpendGroup = tuple[dict[str, str], int | None, dict[str, int | float]]  # keys, bucket, measures


class Part(NamedTuple):
    """One GROUP BY of a query's plan: ``source`` over ``query``'s range (its keys, bucket
    and zone). A daily part's ``days`` are the bucket each run of UTC days counts in: (end of
    the run, bucket start). A part of ``moves`` reads the hours (start, end, the bucket their
    day counted them in) by time, to add to their own bucket and take from that one."""

    source: Source
    query: SpendQuery
    days: tuple[tuple[int, int], ...] = ()
    moves: tuple[tuple[int, int, int], ...] = ()

    def moved(self, rows: Iterable[SpendGroup]) -> list[SpendGroup]:
        """This part's rows (per hour or quarter hour of its moves) as ``fold`` takes them:
        each as it is (``fold`` puts it in its own bucket), and negated in the bucket its day
        was counted in."""
        begins = [lo for lo, _, _ in self.moves]
        out: list[SpendGroup] = []
        for keys, at, sums in rows:
            assert at is not None
            home = self.moves[bisect.bisect_right(begins, at) - 1][2]
            out.append((keys, at, sums))
            out.append((keys, home, {m: -v for m, v in sums.items()}))
        return out


@dataclass(frozen=True, slots=True)
class SpendQuery:
    start_us: int
    end_us: int
    group_by: tuple[str, ...] = ()
    bucket: Bucket = Bucket.NONE
    timezone: str = "UTC"
    filters: Mapping[str, str] = field(default_factory=dict)  # dimension -> value
    labels: Mapping[str, str] = field(default_factory=dict)

    def source(self) -> Source:
        """The smallest table that answers exactly: the daily rollup by team, agent and model
        (by UTC day), the hourly one (the same keys by UTC hour), the daily one by every key
        but task_id, or the raw ledger."""
        keys = set(self.group_by) | set(self.filters)
        if self.labels or not keys <= DAILY_KEYS:
            return Source.RAW
        utc_days = (self.bucket is Bucket.NONE or (
            self.timezone == "UTC" and self.bucket is not Bucket.HOUR)) and not (
            self.start_us % DAY_US or self.end_us % DAY_US)
        if keys <= HOURLY_KEYS and utc_days:
            return Source.DAILY_AGENTS
        if keys <= HOURLY_KEYS and not (self.start_us % _HOUR or self.end_us % _HOUR) and (
                self.bucket is Bucket.NONE
                or whole_hour_zone(self.timezone, self.start_us, self.end_us)):
            return Source.HOURLY
        if utc_days:
            return Source.DAILY
        return Source.RAW

    def plan(self) -> list[Part]:
        """The parts of the range, in order, and the table each is read from; their rows fold
        into the query's groups. A range that does not start and end on UTC midnights (the
        dashboard's "last 30 days" ends at the next top of the hour; a month in London starts
        at 23:00 UTC), or buckets that are not UTC days (London's days and months), still read
        its whole UTC days from a daily rollup: each day counts in the bucket that holds most
        of it, and the hours of it that belong to another bucket (from 23:00 UTC on a day of
        BST) are read from the hourly rollup or the ledger and moved: added to their own
        bucket, taken from the day's. Integer sums make that exact. Only the partial days at
        the range's ends are read from hours alone."""
        whole = self.source()
        keys = set(self.group_by) | set(self.filters)
        if whole in (Source.DAILY_AGENTS, Source.DAILY) or self.labels or not (
                keys <= DAILY_KEYS) or self.bucket is Bucket.HOUR:
            return [Part(whole, self)]
        first = -(-self.start_us // DAY_US) * DAY_US
        last = self.end_us // DAY_US * DAY_US
        if first >= last or (  # not one whole UTC day inside, or too many to walk
                self.bucket is not Bucket.NONE and (last - first) // DAY_US > MAX_PLAN_DAYS):
            return [Part(whole, self)]
        days: list[tuple[int, int]] = []  # (end of a run of days, the bucket they count in)
        moves: list[tuple[int, int, int]] = []  # (start, end, the bucket their day counts in)
        starts = bucket_starts(self) or []
        # one bucket (none): every day in it, nothing moves
        for day in range(first, last, DAY_US) if starts else ():
            at = bisect.bisect_right(starts, day) - 1
            pieces = [day, *(b for b in starts[at + 1:at + 4] if b < day + DAY_US),
                      day + DAY_US]  # a day meets at most three buckets (a 23-hour local day)
            spans = [(hi - lo, lo, hi, starts[at + i]) for i, (lo, hi) in
                     enumerate(itertools.pairwise(pieces))]
            home = max(spans)[3]  # the bucket that holds most of the day
            moves += [(lo, hi, home) for _, lo, hi, bucket in spans if bucket != home]
            if days and days[-1][1] == home:
                days[-1] = (day + DAY_US, home)
            else:
                days.append((day + DAY_US, home))
            if len(moves) > MAX_PLAN_MOVES:  # e.g. years of London days: one table instead
                return [Part(whole, self)]
        rollup = Source.DAILY_AGENTS if keys <= HOURLY_KEYS else Source.DAILY
        plan = []
        if self.start_us < first:
            head = replace(self, end_us=first)
            plan.append(Part(head.source(), head))
        plan.append(Part(rollup, replace(self, start_us=first, end_us=last), tuple(days)))
        if moves:
            hours = replace(self, start_us=moves[0][0], end_us=moves[-1][1], bucket=Bucket.NONE)
            hourly = keys <= HOURLY_KEYS and all(
                not (lo % _HOUR or hi % _HOUR) for lo, hi, _ in moves)
            plan.append(Part(Source.HOURLY if hourly else Source.RAW, hours, moves=tuple(moves)))
        if last < self.end_us:
            tail = replace(self, start_us=last)
            plan.append(Part(tail.source(), tail))
        return plan

    def needs_raw(self) -> bool:
        """Is any part of it read from the raw ledger?"""
        return any(part.source is Source.RAW for part in self.plan())

    def sql_keys(self) -> tuple[str, ...]:
        """Dimensions the store groups by (cost_kind is unpivoted here, not in SQL)."""
        return tuple(d for d in self.group_by if d != "cost_kind")


@dataclass(frozen=True, slots=True)
class SpendRow:
    keys: Mapping[str, str]  # the group's dimension values (cost_kind included when grouped)
    bucket_start_us: int | None
    sums: Mapping[str, int | float]  # MEASURES

    def __getitem__(self, measure: str) -> int | float:
        return self.sums.get(measure, 0)

    @property
    def mape(self) -> float | None:
        """Mean absolute percentage error of actual token cost against its prediction."""
        n = self["predicted_calls"]
        return self["abs_error_ratio_sum"] / n if n else None

    @property
    def quality_mean(self) -> float | None:
        """Mean score of the group's calls (usage qualities and feedback); None: none scored."""
        n = self["quality_count"]
        return self["quality_sum"] / n if n else None

    @property
    def bias(self) -> float | None:
        """Over (+) or under (-) prediction overall: (actual - predicted) / predicted."""
        p = self["predicted_cost"]
        return (self["actual_of_predicted"] - p) / p if p else None


_HOUR = 3_600_000_000


def whole_hour_zone(name: str, start_us: int, end_us: int) -> bool:
    """Are the zone's offsets whole hours over [start, end) (so UTC hours nest in its local
    buckets)? Sampled every 30 days and at both ends, which catches every zone that uses a
    fractional offset in the range (they keep it for months at a time)."""
    tz = ZoneInfo(name)
    step = 30 * DAY_US
    for at in (*range(start_us, end_us, step), end_us - 1):
        moment = datetime.fromtimestamp(at / 1e6, UTC)
        if (moment.astimezone(tz).utcoffset() or timedelta()).total_seconds() % 3600:
            return False
    return True


def bucket_start(bucket: Bucket, tz: ZoneInfo, at_us: int) -> int | None:
    if bucket is Bucket.NONE:
        return None
    if bucket is Bucket.HOUR:
        return at_us - at_us % _HOUR if tz.key == "UTC" else \
            window_at(WindowKind.HOUR, tz, at_us).start_us
    return window_at(WindowKind(bucket.value), tz, at_us).start_us


def buckets_fit(query: SpendQuery) -> bool:
    """Do the query's time buckets end within the year 9999 in its zone, the last a datetime
    holds? Then every bucket, its local time and its end can be computed: the last bucket, the
    one holding ``end_us - 1``, ends latest. (The API's times start in 1970, far from year 1.)"""
    if query.bucket is Bucket.NONE:
        return True
    try:
        window_at(WindowKind(query.bucket.value), ZoneInfo(query.timezone), query.end_us - 1)
    except (OverflowError, ValueError):  # "date value out of range", "year 10000 is out of range"
        return False
    return True


def bucket_starts(query: SpendQuery) -> list[int] | None:
    """Start of every bucket meeting [start, end) (the first may begin before start)."""
    if query.bucket is Bucket.NONE:
        return None
    tz = ZoneInfo(query.timezone)
    kind = WindowKind(query.bucket.value)
    starts: list[int] = []
    at = query.start_us
    while at < query.end_us and len(starts) <= 100_000:
        window = window_at(kind, tz, at)
        starts.append(window.start_us)
        at = window.end_us
    return starts


def fold(query: SpendQuery, rows: Iterable[tuple[Mapping[str, str], int | None,
                                                  Mapping[str, int | float]]]
         ) -> list[SpendRow]:
    """Sum (keys, hour or time, sums) rows into the query's groups and buckets; unpivot cost
    kinds when grouped by them (each measure on the kind row that owns it, ``KIND_MEASURES``).
    Groups come out sorted by bucket, then keys."""
    tz = ZoneInfo(query.timezone)
    groups: dict[tuple[tuple[str, ...], int | None], dict[str, int | float]] = {}
    keys_of = query.sql_keys()
    cache: dict[int, int | None] = {}
    for keys, at_us, sums in rows:
        start = None
        if query.bucket is not Bucket.NONE and at_us is not None:
            start = cache.get(at_us)
            if start is None:
                start = cache[at_us] = bucket_start(query.bucket, tz, at_us)
        group = (tuple(keys.get(k, "") for k in keys_of), start)
        acc = groups.get(group)
        if acc is None:
            groups[group] = dict(sums)
        else:
            for m, v in sums.items():
                acc[m] = acc.get(m, 0) + v
    out: list[SpendRow] = []
    for (values, start), sums in sorted(groups.items(), key=lambda g: (g[0][1] or 0, g[0][0])):
        keys = dict(zip(keys_of, values, strict=True))
        if "cost_kind" in query.group_by:
            for kind in COST_KINDS:
                if query.filters.get("cost_kind", kind) != kind:
                    continue
                owned = KIND_MEASURES[kind]
                only = {m: sums.get(m, 0) if m in owned else 0 for m in (*MEASURES, *SCORES)}
                only["cost_total"] = sums.get(KIND_COST[kind], 0)
                out.append(SpendRow({**keys, "cost_kind": kind}, start, only))
        else:
            out.append(SpendRow(keys, start, sums))
    return out


def total(rows: Sequence[SpendRow]) -> SpendRow:
    """Every measure summed over the rows: each row holds each call's measures at most once
    (cost-kind rows split them, ``KIND_MEASURES``), so this is the ledger's sum."""
    sums: dict[str, int | float] = {}
    for r in rows:
        for m, v in r.sums.items():
            sums[m] = sums.get(m, 0) + v
    return SpendRow({}, None, sums)


# -- Chargeback / showback ----------------------------------------------------------------------


def largest_remainder(total_nanos: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split ``total_nanos`` in proportion to integer ``weights``; the parts sum exactly to the
    total (Hamilton's method: floor shares, then one nano each to the largest remainders, ties
    broken by key so the result is deterministic)."""
    positive = {k: w for k, w in weights.items() if w > 0}
    if total_nanos == 0 or not positive:
        return {k: 0 for k in weights}
    whole = sum(positive.values())
    shares = {k: divmod(total_nanos * w, whole) for k, w in positive.items()}
    out = {k: 0 for k in weights} | {k: q for k, (q, _) in shares.items()}
    left = total_nanos - sum(out.values())
    for k, _ in sorted(shares.items(), key=lambda kv: (-kv[1][1], kv[0]))[:left]:
        out[k] += 1
    return out


@dataclass(frozen=True, slots=True)
class SharedCost:
    name: str
    amount: int  # nanos for the period


@dataclass(frozen=True, slots=True)
class ChargebackLine:
    team: str  # "" is the unattributed row
    direct: Mapping[str, int]  # cost kind -> nanos
    shared: Mapping[str, int]  # shared cost name -> nanos allocated
    calls: int
    tokens: int
    budget: int | None = None  # the team's budget limits for the period, when budgets exist

    @property
    def direct_total(self) -> int:
        return sum(self.direct.values())

    @property
    def total(self) -> int:
        return self.direct_total + sum(self.shared.values())

    @property
    def variance(self) -> int | None:
        """Budget minus total (negative: over budget)."""
        return None if self.budget is None else self.budget - self.total


def chargeback(by_team: Sequence[SpendRow], shared: Sequence[SharedCost], basis: str = "cost",
               budgets: Mapping[str, int] | None = None) -> list[ChargebackLine]:
    """One line per team (rows grouped by team), shared costs allocated by each team's actual
    usage (``basis``: "cost" or "tokens"); unattributed spend (team "") keeps its own line and
    is not allocated shared costs, since no team used it knowingly."""
    if basis not in ("cost", "tokens"):
        raise ValueError("basis must be cost or tokens")
    weights = {}
    for r in by_team:
        team = r.keys.get("team", "")
        if team:
            weights[team] = int(r["cost_total"]) if basis == "cost" else int(
                r["input_tokens"] + r["cached_input_tokens"] + r["output_tokens"]
                + r["reasoning_tokens"] + r["cache_write_tokens"])
    allocations = {s.name: largest_remainder(s.amount, weights) for s in shared}
    lines = []
    for r in sorted(by_team, key=lambda r: (r.keys.get("team", "") == "",
                                            r.keys.get("team", ""))):
        team = r.keys.get("team", "")
        lines.append(ChargebackLine(
            team=team,
            direct={"tokens": int(r["cost_tokens"]), "tools": int(r["cost_tools"]),
                    "compute": int(r["cost_compute"]), "human_review": int(r["cost_review"])},
            shared={name: alloc.get(team, 0) for name, alloc in allocations.items()},
            calls=int(r["calls"]),
            tokens=int(r["input_tokens"] + r["cached_input_tokens"] + r["output_tokens"]
                       + r["reasoning_tokens"] + r["cache_write_tokens"]),
            budget=(budgets or {}).get(team)))
    if shared and not weights:  # nothing attributed: the shared costs stay visible, unallocated
        lines.append(ChargebackLine("", {k: 0 for k in COST_KINDS},
                                    {s.name: s.amount for s in shared}, 0, 0))
    return lines
