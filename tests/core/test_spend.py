"""Spend folding, bucketing in a time zone, and exact allocation."""

import collections
import functools
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from router.core.spend import (
    COST_KINDS,
    KIND_COST,
    KIND_MEASURES,
    MEASURES,
    SCORES,
    Bucket,
    SharedCost,
    Source,
    SpendQuery,
    SpendRow,
    bucket_start,
    buckets_fit,
    chargeback,
    fold,
    largest_remainder,
    total,
)

H = 3_600_000_000
# 2026-07-01 23:00 UTC is 00:00 on 2 July in London (BST)
MIDNIGHT_LONDON = 1_782_946_800_000_000


def sums(cost: int, calls: int = 1, **kw):
    return {"calls": calls, "cost_tokens": cost, "cost_total": cost, **kw}


def test_hours_fold_into_local_days():
    q = SpendQuery(0, 10**18, ("team",), Bucket.DAY, "Europe/London")
    rows = fold(q, [({"team": "a"}, MIDNIGHT_LONDON - H, sums(5)),
                    ({"team": "a"}, MIDNIGHT_LONDON, sums(7)),
                    ({"team": "a"}, MIDNIGHT_LONDON + 5 * H, sums(1))])
    assert [(r.bucket_start_us, r["cost_total"]) for r in rows] == [
        (MIDNIGHT_LONDON - 24 * H, 5), (MIDNIGHT_LONDON, 8)]


DAY = 24 * H
OCT = 1_790_812_800_000_000  # 2026-10-01 00:00 UTC


def test_a_query_reads_the_smallest_table_that_answers_it_exactly():
    month = (OCT, OCT + 31 * DAY)
    def source(group_by, bucket=Bucket.NONE, tz="UTC", span=month, **kw):
        return SpendQuery(*span, group_by, bucket, tz, **kw).source()
    # team / agent / model over whole UTC days: the daily rollup of those keys
    assert source(()) is Source.DAILY_AGENTS
    assert source(("team",), Bucket.DAY) is Source.DAILY_AGENTS
    assert source(("model", "cost_kind"), Bucket.MONTH) is Source.DAILY_AGENTS
    assert source(("agent",), filters={"team": "a"}) is Source.DAILY_AGENTS
    # local days, hours, or a range of whole hours: the hourly rollup
    assert source(("team",), Bucket.DAY, "Europe/London") is Source.HOURLY
    assert source(("team",), Bucket.HOUR) is Source.HOURLY
    assert source(("team",), span=(OCT + H, OCT + 5 * H)) is Source.HOURLY
    # users and task types: the daily rollup of every key, in UTC days only
    assert source(("user",)) is Source.DAILY
    assert source(("task_type",), Bucket.DAY, "Europe/London") is Source.RAW
    # task ids, labels, a range that is not whole hours: the ledger
    assert source(("task_id",)) is Source.RAW
    assert source(("team",), labels={"env": "prod"}) is Source.RAW
    assert source(("team",), span=(OCT + 17, OCT + DAY)) is Source.RAW


def plan_of(group_by, span, bucket=Bucket.NONE, tz="UTC", **kw):
    return [(p.source, p.query.start_us, p.query.end_us) for p in
            SpendQuery(*span, group_by, bucket, tz, **kw).plan()]


def test_a_range_of_partial_days_reads_its_whole_days_from_a_daily_rollup():
    last_30 = (OCT + 5 * H, OCT + 30 * DAY + 5 * H)  # ends at a top of the hour
    for bucket in (Bucket.NONE, Bucket.DAY):
        assert plan_of(("team",), last_30, bucket) == [
            (Source.HOURLY, OCT + 5 * H, OCT + DAY),
            (Source.DAILY_AGENTS, OCT + DAY, OCT + 30 * DAY),
            (Source.HOURLY, OCT + 30 * DAY, OCT + 30 * DAY + 5 * H)]
    # users are only in the daily rollup and the ledger: the partial day comes from the ledger
    assert plan_of(("user",), (OCT - H, OCT + 31 * DAY)) == [
        (Source.RAW, OCT - H, OCT), (Source.DAILY, OCT, OCT + 31 * DAY)]
    # nothing to split: less than one whole UTC day, labels, task ids, hours, whole days
    assert plan_of(("user",), (OCT + H, OCT + DAY + 5 * H)) == [
        (Source.RAW, OCT + H, OCT + DAY + 5 * H)]
    assert plan_of(("team",), last_30, labels={"env": "prod"}) == [(Source.RAW, *last_30)]
    assert plan_of(("task_id",), last_30) == [(Source.RAW, *last_30)]
    assert plan_of(("team",), last_30, Bucket.HOUR) == [(Source.HOURLY, *last_30)]
    assert plan_of(("team",), (OCT, OCT + DAY)) == [(Source.DAILY_AGENTS, OCT, OCT + DAY)]


def test_the_hours_of_a_day_that_belong_to_another_bucket_are_moved_there():
    # London's October by day: while on BST (to the 25th) each UTC day's last hour is the
    # next local day's first; the days come from the daily rollup, those hours are moved
    query = SpendQuery(OCT - H, OCT + 31 * DAY, ("team",), Bucket.DAY, "Europe/London")
    head, days, hours = query.plan()
    assert (head.source, head.query.start_us, head.query.end_us) == (Source.HOURLY, OCT - H, OCT)
    assert days.source is Source.DAILY_AGENTS and not days.moves
    assert days.days[0] == (OCT + DAY, OCT - H)  # 1 October (UTC) counts in 1 October (local)
    assert hours.source is Source.HOURLY and hours.moves[:2] == (
        (OCT + 23 * H, OCT + DAY, OCT - H), (OCT + DAY + 23 * H, OCT + 2 * DAY, OCT + 23 * H))
    assert len(hours.moves) == 24  # 1-24 October; from the 25th London's days are UTC days
    # a month in London: only the day the month begins in is cut
    september = OCT - 30 * DAY - H  # 1 September in London
    plan = SpendQuery(september, OCT + DAY, ("user",), Bucket.MONTH, "Europe/London").plan()
    assert [(p.source, p.query.start_us, p.query.end_us) for p in plan] == [
        (Source.RAW, september, september + H), (Source.DAILY, september + H, OCT + DAY),
        (Source.RAW, OCT - H, OCT)]
    assert plan[1].days == ((OCT, september), (OCT + DAY, OCT - H))
    assert plan[2].moves == ((OCT - H, OCT, september),)


ZONES = ["Europe/London", "America/Los_Angeles", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]


@settings(max_examples=60, deadline=None)
@given(start=st.integers(OCT - 200 * DAY, OCT).map(lambda t: t - t % (15 * 60_000_000)),
       quarters=st.integers(1, 45 * 96), group_by=st.sampled_from([("team",), ("user",)]),
       bucket=st.sampled_from([Bucket.NONE, Bucket.DAY, Bucket.WEEK, Bucket.MONTH]),
       tz=st.sampled_from(ZONES))
def test_a_plan_counts_every_quarter_hour_once_in_its_own_bucket(start, quarters, group_by,
                                                                 bucket, tz):
    """Account for each quarter hour of the range as the store would: a daily part counts each
    UTC day in the bucket its run names, a part of moves adds its hours to their own bucket and
    takes them from the named one, any other part buckets each quarter hour itself. Every
    quarter hour must end up counted once, in its own bucket (0 elsewhere)."""
    q = 15 * 60_000_000
    query = SpendQuery(start, start + quarters * q, group_by, bucket, tz)
    zone = ZoneInfo(tz)
    own = functools.lru_cache(maxsize=None)(lambda t: bucket_start(bucket, zone, t))
    counted: collections.Counter = collections.Counter()
    parts = query.plan()
    for part in parts:
        lo, hi = part.query.start_us, part.query.end_us
        if part.moves:
            for m_lo, m_hi, home in part.moves:
                for t in range(m_lo, m_hi, q):
                    counted[(t, own(t))] += 1
                    counted[(t, home)] -= 1
        elif part.days:
            assert lo % DAY == 0 and hi % DAY == 0 and part.days[-1][0] == hi
            for t in range(lo, hi, q):
                day = t - t % DAY
                counted[(t, next(b for end, b in part.days if day < end))] += 1
        else:
            for t in range(lo, hi, q):
                counted[(t, own(t))] += 1
    expected = {(t, own(t)): 1 for t in range(query.start_us, query.end_us, q)}
    assert {k: v for k, v in counted.items() if v} == expected
    if bucket is Bucket.NONE:
        assert not any(p.moves for p in parts)


def test_cost_kinds_unpivot_and_still_sum_to_the_total():
    q = SpendQuery(0, 1, ("team", "cost_kind"))
    group = {"calls": 3, "input_tokens": 900, "cost_tokens": 10, "cost_tools": 4,
             "cost_compute": 2, "cost_review": 1, "cost_total": 17, "predicted_cost": 9,
             "failures": 1, "tool_calls": 5, "compute_ms": 70, "review_calls": 1,
             "review_ms": 6000}
    rows = fold(q, [({"team": "a"}, None, group)])
    assert [(r.keys["cost_kind"], r["cost_total"]) for r in rows] == [
        ("tokens", 10), ("tools", 4), ("compute", 2), ("human_review", 1)]
    # each measure once, on the row of its kind; the total is the group's
    assert {r.keys["cost_kind"]: {m: v for m, v in r.sums.items() if v} for r in rows} == {
        "tokens": {"calls": 3, "input_tokens": 900, "cost_tokens": 10, "cost_total": 10,
                   "predicted_cost": 9, "failures": 1},
        "tools": {"cost_tools": 4, "cost_total": 4, "tool_calls": 5},
        "compute": {"cost_compute": 2, "cost_total": 2, "compute_ms": 70},
        "human_review": {"cost_review": 1, "cost_total": 1, "review_calls": 1,
                         "review_ms": 6000}}
    assert {m: v for m, v in total(rows).sums.items() if v} == group


def test_every_measure_but_the_total_has_one_owning_kind():
    owned = [m for kind in COST_KINDS for m in KIND_MEASURES[kind]]
    assert sorted(owned) == sorted(m for m in (*MEASURES, *SCORES) if m != "cost_total")
    assert all(KIND_COST[k] in KIND_MEASURES[k] for k in COST_KINDS)


def test_prediction_error_measures():
    r = SpendRow({}, None, {"predicted_calls": 2, "abs_error_ratio_sum": 0.5,
                            "predicted_cost": 100, "actual_of_predicted": 130})
    assert r.mape == 0.25 and r.bias == 0.3
    assert SpendRow({}, None, {}).mape is None


@given(st.integers(0, 10**15), st.dictionaries(st.text(min_size=1, max_size=4),
                                                 st.integers(0, 10**12), max_size=12))
def test_largest_remainder_sums_exactly_and_is_proportional(amount, weights):
    parts = largest_remainder(amount, weights)
    assert set(parts) == set(weights)
    whole = sum(weights.values())
    if whole:
        assert sum(parts.values()) == amount
        for k, w in weights.items():
            assert abs(parts[k] - amount * w / whole) < 1 + 1e-6
    else:
        assert all(v == 0 for v in parts.values())


def test_largest_remainder_breaks_ties_deterministically():
    assert largest_remainder(10, {"b": 1, "a": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}


def test_chargeback_allocates_shared_costs_by_usage_and_keeps_unattributed_spend():
    by_team = [SpendRow({"team": "eng"}, None, sums(300, cost_tools=0)),
               SpendRow({"team": "ops"}, None, sums(100)),
               SpendRow({"team": ""}, None, sums(50))]
    lines = chargeback(by_team, [SharedCost("platform", 1001)], budgets={"eng": 1000})
    assert [(ln.team, ln.shared["platform"]) for ln in lines] == [
        ("eng", 751), ("ops", 250), ("", 0)]
    assert sum(ln.total for ln in lines) == 300 + 100 + 50 + 1001
    assert lines[0].variance == 1000 - 300 - 751 and lines[1].variance is None


def test_buckets_must_end_within_the_year_9999_in_their_zone():
    dec_9999, end = 253_399_622_400_000_000, 253_402_300_800_000_000  # 9999-12-01, 10000-01-01
    assert buckets_fit(SpendQuery(0, end, timezone="Asia/Tokyo"))  # no buckets, no local times
    assert not buckets_fit(SpendQuery(0, end, bucket=Bucket.HOUR))
    assert buckets_fit(SpendQuery(0, dec_9999, bucket=Bucket.MONTH))
    # 9999-12-01 00:00 UTC is still November in Los Angeles, already December in Tokyo
    assert buckets_fit(SpendQuery(0, dec_9999, bucket=Bucket.MONTH, timezone="America/Los_Angeles"))
    assert not buckets_fit(SpendQuery(0, dec_9999, bucket=Bucket.MONTH, timezone="Asia/Tokyo"))
