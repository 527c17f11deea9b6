"""Spend queries on both databases: the rollup kept on write agrees with the raw ledger, totals
reconcile exactly, and time buckets split at local midnight."""

from __future__ import annotations

import dataclasses
import random

import pytest
import sqlalchemy as sa

from router.core.pricing import CostBreakdown, TokenCounts
from router.core.records import Attribution, Outcome
from router.core.spend import Bucket, SpendQuery, fold, total
from router.store.sql import SqlStore
from tests.store.test_sql_store import usage

H = 3_600_000_000
MIDNIGHT_LONDON = 1_782_946_800_000_000  # 2026-07-02 00:00 London


@pytest.fixture
def store(store_url: str):
    s = SqlStore(store_url, pool_size=4, sqlite_synchronous="NORMAL")
    s.migrate()
    yield s
    s.close()


def traffic(n: int = 400, seed: int = 3):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        keys = Attribution(team=rng.choice(["eng", "ops", ""]), agent=f"a{rng.randrange(5)}",
                           task_id=f"t{rng.randrange(40)}", task_type=rng.choice(["x", "y"]),
                           user=rng.choice(["ana", "bo"]),
                           labels={"env": rng.choice(["prod", "dev"])})
        tokens = rng.randrange(1, 10**6)
        predicted = rng.choice([None, rng.randrange(1, 10**7)])
        out.append(dataclasses.replace(
            usage(f"u{seed}-{i}", did=None), attribution=keys,
            recorded_us=MIDNIGHT_LONDON + rng.randrange(-48 * H, 48 * H),
            model=rng.choice(["gpt-4o", "gpt-4o-mini"]),
            tokens=TokenCounts(tokens, 0, tokens // 3, 0),
            cost=CostBreakdown(tokens * 7, rng.randrange(0, 10**6), rng.randrange(0, 99),
                               rng.choice([0, 0, 0, 5 * 10**8])),
            predicted_cost=predicted, outcome=rng.choice(list(Outcome)),
            review_ms=rng.choice([0, 0, 0, 90_000])))
    return out


def ledger_total(store: SqlStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT sum(cost_total) FROM usages")).scalar())


def test_totals_reconcile_with_the_ledger_and_the_rollup_matches_the_raw_rows(store):
    records = traffic()
    for start in range(0, len(records), 64):  # several batches, as the recorder writes them
        store.write_batch([], records[start:start + 64])
    store.write_batch([], records[:10])  # replays add nothing
    span = (MIDNIGHT_LONDON - 72 * H, MIDNIGHT_LONDON + 72 * H)
    rolled = SpendQuery(*span, ("team", "model"), Bucket.DAY, "Europe/London")
    assert not rolled.needs_raw()
    rows = fold(rolled, store.spend_rows(rolled))
    assert total(rows)["cost_total"] == ledger_total(store) == sum(r.cost.total for r in records)
    assert total(rows)["calls"] == len(records)
    raw = SpendQuery(*span, ("team", "model"), Bucket.DAY, "Asia/Kolkata")  # a half-hour zone
    assert raw.needs_raw()
    assert total(fold(raw, store.spend_rows(raw)))["cost_total"] == ledger_total(store)
    # the same grouping from both sources
    utc_rolled = fold(dataclasses.replace(rolled, timezone="UTC"),
                      store.spend_rows(dataclasses.replace(rolled, timezone="UTC")))
    utc_raw_query = dataclasses.replace(rolled, timezone="UTC", labels={"env": "prod"})
    prod = [r for r in records if r.attribution.labels["env"] == "prod"]
    assert total(fold(utc_raw_query, store.spend_rows(utc_raw_query)))["cost_total"] == \
        sum(r.cost.total for r in prod)
    day = 86_400_000_000
    days = (MIDNIGHT_LONDON // day * day - 3 * day, MIDNIGHT_LONDON // day * day + 3 * day)
    by_user = SpendQuery(*days, ("user", "task_type"), Bucket.DAY)
    assert by_user.source().value == "usage_daily"
    by_user_raw = dataclasses.replace(by_user, labels={"env": "prod"})
    assert {(r.keys["user"], r.keys["task_type"], r.bucket_start_us): r["cost_total"]
            for r in fold(by_user, store.spend_rows(by_user))} == _expected_by(
        records, lambda r: (r.attribution.user, r.attribution.task_type), "UTC")
    assert total(fold(by_user_raw, store.spend_rows(by_user_raw)))["cost_total"] == \
        sum(r.cost.total for r in prod)
    by_task = SpendQuery(*span, ("task_id",))
    assert total(fold(by_task, store.spend_rows(by_task)))["cost_total"] == ledger_total(store)
    assert {(r.keys["team"], r.keys["model"], r.bucket_start_us): r["cost_total"]
            for r in utc_rolled} == _expected(records, "UTC")


def _expected_by(records, key, tz):
    from zoneinfo import ZoneInfo

    from router.core.spend import bucket_start
    out: dict = {}
    for r in records:
        k = (*key(r), bucket_start(Bucket.DAY, ZoneInfo(tz), r.recorded_us))
        out[k] = out.get(k, 0) + r.cost.total
    return out


def _expected(records, tz):
    from zoneinfo import ZoneInfo

    from router.core.spend import bucket_start
    out: dict = {}
    for r in records:
        k = (r.attribution.team, r.model, bucket_start(Bucket.DAY, ZoneInfo(tz), r.recorded_us))
        out[k] = out.get(k, 0) + r.cost.total
    return out


def test_measures_include_prediction_error_failures_and_review(store):
    a = Attribution(team="eng", agent="a", labels={"env": "prod"})
    store.write_batch([], [
        dataclasses.replace(usage("p1", did=None), attribution=a, recorded_us=MIDNIGHT_LONDON,
                            cost=CostBreakdown(150, 0, 0, 0), predicted_cost=100,
                            review_ms=60_000, outcome=Outcome.FAILURE),
        dataclasses.replace(usage("p2", did=None), attribution=a, recorded_us=MIDNIGHT_LONDON,
                            cost=CostBreakdown(50, 0, 0, 0), predicted_cost=100, review_ms=0),
        dataclasses.replace(usage("p3", did=None), attribution=a, recorded_us=MIDNIGHT_LONDON,
                            cost=CostBreakdown(999, 0, 0, 0), predicted_cost=None)])
    q = SpendQuery(MIDNIGHT_LONDON - H, MIDNIGHT_LONDON + H, ("agent",))
    for query in (q, dataclasses.replace(q, labels={"env": "prod"})):  # rollup, raw
        [row] = fold(query, store.spend_rows(query))
        assert row["calls"] == 3 and row["predicted_calls"] == 2
        assert row.mape == pytest.approx(0.5) and row.bias == pytest.approx(0.0)
        assert row["failures"] == 1 and row["review_calls"] == 1 and row["review_ms"] == 60_000


def test_local_midnight_splits_day_buckets(store):
    a = Attribution(team="eng")
    store.write_batch([], [
        dataclasses.replace(usage("late", did=None), attribution=a,
                            recorded_us=MIDNIGHT_LONDON - 1_000_000),
        dataclasses.replace(usage("early", did=None), attribution=a,
                            recorded_us=MIDNIGHT_LONDON)])
    for start in (MIDNIGHT_LONDON - 24 * H, MIDNIGHT_LONDON - 23 * H - 1):  # rollup, raw
        q = SpendQuery(start, MIDNIGHT_LONDON + 24 * H, ("team",), Bucket.DAY,
                       "Europe/London")
        rows = fold(q, store.spend_rows(q))
        assert [(r.bucket_start_us, r["calls"]) for r in rows] == [
            (MIDNIGHT_LONDON - 24 * H, 1), (MIDNIGHT_LONDON, 1)]
