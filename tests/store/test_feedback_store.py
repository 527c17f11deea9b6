"""Scores in SQL on both databases: feedback written once per id however many replicas race,
QuerySpend's scores grouped and bucketed like its spend, and the upgrade from 0010."""

from __future__ import annotations

import dataclasses
import threading

import pytest
import sqlalchemy as sa

from router.core.records import Attribution, FeedbackRecord
from router.core.spend import Bucket, SpendQuery, fold
from router.store.base import WriteStatus
from router.store.sql import SqlStore
from tests.store.conftest import written_as_today
from tests.store.test_sql_store import KEYS, decision, usage

H = 3_600_000_000
MIDNIGHT_LONDON = 1_782_946_800_000_000  # 2026-07-02 00:00 London (23:00 UTC the day before)


def feedback(fid: str = "f1", score: float = 0.5, *, call_us: int = 1_000,
             keys: Attribution = KEYS, payload: str = "p1", usage_id: str | None = None,
             model: str = "gpt-4o-mini") -> FeedbackRecord:
    return FeedbackRecord(feedback_id=fid, payload_hash=payload, decision_id="d1",
                          usage_id=usage_id, attribution=keys, model=model, provider="openai",
                          score=score, source="user", comment="ok", call_us=call_us,
                          recorded_us=call_us + 5, occurred_us=call_us + 5)


def test_feedback_round_trips_replays_and_conflicts(store: SqlStore):
    assert store.write_feedback(feedback()).status is WriteStatus.INSERTED
    assert store.get_feedback("f1") == feedback()
    again = store.write_feedback(dataclasses.replace(feedback(), recorded_us=99))
    assert again.status is WriteStatus.REPLAYED and again.record == feedback()
    other = store.write_feedback(feedback(payload="p2", score=0.9))
    assert other.status is WriteStatus.CONFLICT and other.record == feedback()
    store.write_feedback(dataclasses.replace(feedback("f0", usage_id="u1"), recorded_us=2))
    assert [f.feedback_id for f in store.feedback_for_decision("d1")] == ["f0", "f1"]
    assert store.feedback_for_decision("d2") == [] and store.get_feedback("nope") is None


def test_concurrent_identical_feedback_is_recorded_once(store_url: str):
    """Replicas (a store each) racing to write the same feedback ids."""
    stores = [SqlStore(store_url, pool_size=2, sqlite_synchronous="NORMAL") for _ in range(4)]
    stores[0].migrate()
    ids = [f"f{i}" for i in range(20)]
    results: list[list] = [[] for _ in stores]
    start = threading.Barrier(len(stores))

    def writer(k: int) -> None:
        start.wait()
        for fid in ids:
            results[k].append(stores[k].write_feedback(feedback(fid)).status)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = [s for r in results for s in r]
    assert statuses.count(WriteStatus.INSERTED) == len(ids)
    assert statuses.count(WriteStatus.REPLAYED) == len(ids) * (len(stores) - 1)
    with stores[0].engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM feedback")).scalar_one() == len(ids)
    for s in stores:
        s.close()


def scored(store: SqlStore) -> None:
    """Usage on both sides of London's midnight, some with a quality, and feedback on them and
    on a call without usage (another model's)."""
    eng, ops = (dataclasses.replace(KEYS, team=t) for t in ("eng", "ops"))
    before, after = MIDNIGHT_LONDON - H // 2, MIDNIGHT_LONDON + H // 2
    store.write_batch([], [
        dataclasses.replace(usage("u1", did=None), attribution=eng, recorded_us=before,
                            quality=0.2),
        dataclasses.replace(usage("u2", did=None), attribution=eng, recorded_us=after,
                            quality=0.6),
        dataclasses.replace(usage("u3", did=None), attribution=ops, recorded_us=after),
    ])
    store.write_feedback(feedback("f1", 1.0, call_us=after, keys=eng, usage_id="u2"))
    store.write_feedback(feedback("f2", 0.4, call_us=after, keys=ops, usage_id="u3"))
    store.write_feedback(feedback("f3", 0.0, call_us=before, keys=ops, model="gpt-4o"))
    store.write_feedback(feedback("f4", 0.9, call_us=MIDNIGHT_LONDON + 48 * H, keys=ops))


def spend(store: SqlStore, query: SpendQuery):
    return fold(query, [*store.spend_rows(query), *store.score_rows(query)])


def quality(rows) -> dict:
    return {(tuple(r.keys.values()), r.bucket_start_us):
            (r["calls"], r["quality_count"], pytest.approx(r.quality_mean))
            for r in rows if r["calls"] or r["quality_count"]}


def test_scores_group_and_bucket_like_the_spend(store: SqlStore):
    scored(store)
    span = (MIDNIGHT_LONDON - 24 * H, MIDNIGHT_LONDON + 24 * H)
    by_team = SpendQuery(*span, ("team",))
    assert quality(spend(store, by_team)) == {
        (("eng",), None): (2, 3, 0.6), (("ops",), None): (1, 2, 0.2)}
    by_day = SpendQuery(*span, ("team",), Bucket.DAY, "Europe/London")
    day = 24 * H
    assert quality(spend(store, by_day)) == {
        (("eng",), MIDNIGHT_LONDON - day): (1, 1, 0.2),
        (("eng",), MIDNIGHT_LONDON): (1, 2, 0.8),
        # a group with scores and no spend: feedback on a call whose usage is not here
        (("ops",), MIDNIGHT_LONDON - day): (0, 1, 0.0),
        (("ops",), MIDNIGHT_LONDON): (1, 1, 0.4)}
    by_model = SpendQuery(*span, ("model", "provider"), filters={"team": "ops"})
    assert quality(spend(store, by_model)) == {
        (("gpt-4o-mini", "openai"), None): (1, 1, 0.4), (("gpt-4o", "openai"), None): (0, 1, 0.0)}
    labelled = SpendQuery(*span, labels={"env": "prod"})
    assert quality(spend(store, labelled)) == {((), None): (3, 5, 0.44)}
    assert quality(spend(store, SpendQuery(*span, labels={"env": "dev"}))) == {}
    hours = SpendQuery(MIDNIGHT_LONDON, span[1], ("team",), Bucket.HOUR)
    assert quality(spend(store, hours)) == {(("eng",), MIDNIGHT_LONDON): (1, 2, 0.8),
                                            (("ops",), MIDNIGHT_LONDON): (1, 1, 0.4)}


def test_by_cost_kind_the_scores_sit_on_the_tokens_row(store: SqlStore):
    scored(store)
    query = SpendQuery(MIDNIGHT_LONDON - 24 * H, MIDNIGHT_LONDON + 24 * H, ("cost_kind",))
    rows = {r.keys["cost_kind"]: r for r in spend(store, query)}
    assert rows["tokens"]["quality_count"] == 5
    assert all(rows[k]["quality_count"] == 0 for k in ("tools", "compute", "human_review"))


def test_scores_are_read_along_their_indexes(store: SqlStore):
    """The scored usages by the partial index (never the whole ledger), feedback by time."""
    query = SpendQuery(0, H, ("team",), filters={"team": "eng"})
    with store.engine.connect() as conn:
        indexes = {i["name"] for t in ("usages", "feedback")
                   for i in sa.inspect(conn).get_indexes(t)}
    assert {"ix_usages_quality_recorded", "ix_feedback_call", "ix_feedback_team_call",
            "ix_feedback_decision"} <= indexes
    if store.dialect == "sqlite":
        with store.engine.connect() as conn:
            plan = " / ".join(str(r[-1]) for r in conn.execute(sa.text(
                "EXPLAIN QUERY PLAN SELECT team, sum(quality), count(*) FROM usages "
                "WHERE recorded_us >= 0 AND recorded_us < 10 AND quality IS NOT NULL "
                "GROUP BY team")))
        assert "ix_usages_quality_recorded" in plan, plan
    assert store.score_rows(query) == []


def test_upgrading_from_0010_keeps_the_usage_and_adds_the_scores(store_url: str):
    old = SqlStore(store_url, pool_size=2, sqlite_synchronous="NORMAL")
    try:
        old.migrate("0010")
        with written_as_today(old):
            old.write_batch([decision()], [])
        with old.engine.begin() as conn:
            columns = [c["name"] for c in sa.inspect(conn).get_columns("usages")]
            assert "quality" not in columns and not sa.inspect(conn).has_table("feedback")
        old.migrate()
        assert old.get_decision("d1") == decision()
        old.write_batch([], [dataclasses.replace(usage(), quality=0.5)])
        assert old.get_usage("u1").quality == 0.5
        assert old.write_feedback(feedback()).status is WriteStatus.INSERTED
        assert old.feedback_for_decision("d1") == [feedback()]
    finally:
        old.close()
