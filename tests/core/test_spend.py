"""Spend folding, bucketing in a time zone, and exact allocation."""

import itertools
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from router.core.spend import (
    COST_KINDS,
    KIND_COST,
    KIND_MEASURES,
    MEASURES,
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


def test_a_range_of_partial_days_reads_its_whole_days_from_a_daily_rollup():
    def plan(group_by, span, bucket=Bucket.NONE, tz="UTC", **kw):
        return [(source, part.start_us, part.end_us) for source, part in
                SpendQuery(*span, group_by, bucket, tz, **kw).plan()]
    last_30 = (OCT + 5 * H, OCT + 30 * DAY + 5 * H)  # ends at a top of the hour
    assert plan(("team",), last_30) == [
        (Source.HOURLY, OCT + 5 * H, OCT + DAY), (Source.DAILY_AGENTS, OCT + DAY, OCT + 30 * DAY),
        (Source.HOURLY, OCT + 30 * DAY, OCT + 30 * DAY + 5 * H)]
    # users are only in the daily rollup and the ledger: the partial days come from the ledger
    assert plan(("user",), (OCT - H, OCT + 31 * DAY)) == [
        (Source.RAW, OCT - H, OCT), (Source.DAILY, OCT, OCT + 31 * DAY)]
    assert plan(("team",), last_30, Bucket.DAY) == [
        (Source.HOURLY, OCT + 5 * H, OCT + DAY), (Source.DAILY_AGENTS, OCT + DAY, OCT + 30 * DAY),
        (Source.HOURLY, OCT + 30 * DAY, OCT + 30 * DAY + 5 * H)]
    # London's months start at 23:00 UTC (BST): the day a boundary cuts comes from the hours
    london = (OCT - H, OCT + 31 * DAY)  # October in London, into November (GMT)
    assert plan(("team",), (OCT - H, OCT + 61 * DAY), Bucket.MONTH, "Europe/London") == [
        (Source.HOURLY, OCT - H, OCT), (Source.DAILY_AGENTS, OCT, OCT + 61 * DAY)]
    september = OCT - 30 * DAY - H  # 1 September in London
    assert plan(("user",), (september, OCT + DAY), Bucket.MONTH, "Europe/London") == [
        (Source.RAW, september, september + H), (Source.DAILY, september + H, OCT - DAY),
        (Source.RAW, OCT - DAY, OCT), (Source.DAILY, OCT, OCT + DAY)]
    # London's days: while on BST every UTC day spans two of them (the hourly rollup); from
    # the end of BST on 25 October they are UTC days
    assert plan(("team",), london, Bucket.DAY, "Europe/London") == [
        (Source.HOURLY, OCT - H, OCT + 24 * DAY),
        (Source.DAILY_AGENTS, OCT + 24 * DAY, OCT + 31 * DAY)]
    # nothing to split: less than one whole UTC day, labels, task ids, hours, and a range
    # that is whole days already
    assert plan(("team",), last_30, Bucket.HOUR) == [(Source.HOURLY, *last_30)]
    assert plan(("user",), (OCT + H, OCT + DAY + 5 * H)) == [
        (Source.RAW, OCT + H, OCT + DAY + 5 * H)]
    assert plan(("team",), last_30, labels={"env": "prod"}) == [(Source.RAW, *last_30)]
    assert plan(("task_id",), last_30) == [(Source.RAW, *last_30)]
    assert plan(("team",), (OCT, OCT + DAY)) == [(Source.DAILY_AGENTS, OCT, OCT + DAY)]


@given(start=st.integers(OCT - 3 * DAY, OCT + 3 * DAY), length=st.integers(1, 5 * DAY),
       group_by=st.sampled_from([(), ("team",), ("user",), ("task_id",), ("model", "cost_kind")]),
       bucket=st.sampled_from(list(Bucket)), tz=st.sampled_from(["UTC", "Asia/Kolkata"]))
def test_the_parts_of_a_plan_cover_the_range_once(start, length, group_by, bucket, tz):
    query = SpendQuery(start, start + length, group_by, bucket, tz)
    parts = [part for _, part in query.plan()]
    assert parts[0].start_us == start and parts[-1].end_us == start + length
    assert all(a.end_us == b.start_us for a, b in itertools.pairwise(parts))
    assert all(p.start_us < p.end_us for p in parts)


@given(start=st.integers(OCT - 400 * DAY, OCT), days=st.integers(1, 400),
       bucket=st.sampled_from([Bucket.DAY, Bucket.WEEK, Bucket.MONTH]),
       tz=st.sampled_from(["Europe/London", "America/Los_Angeles", "Asia/Kolkata",
                           "Australia/Lord_Howe", "UTC"]))
def test_a_part_read_from_a_daily_rollup_lies_in_one_bucket_per_utc_day(start, days, bucket, tz):
    """The daily rollups know UTC days only: every UTC day of such a part must fall in one of
    the query's buckets (and the rest come from tables of hours or the ledger)."""
    query = SpendQuery(start, start + days * DAY, ("team",), bucket, tz)
    zone = ZoneInfo(tz)
    for source, part in query.plan():
        if source in (Source.DAILY_AGENTS, Source.DAILY):
            assert part.start_us % DAY == 0 and part.end_us % DAY == 0
            for day in range(part.start_us, part.end_us, DAY):
                assert bucket_start(bucket, zone, day) == bucket_start(bucket, zone, day + DAY - 1)


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
    assert sorted(owned) == sorted(m for m in MEASURES if m != "cost_total")
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
