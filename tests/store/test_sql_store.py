"""The SQL store on SQLite and on PostgreSQL (the latter when reachable; always when CI=true)."""

from __future__ import annotations

import dataclasses
import threading

import sqlalchemy as sa

from router.core.pricing import CostBreakdown, TokenCounts
from router.core.records import (
    Attribution,
    CandidateRecord,
    DecisionRecord,
    Outcome,
    UsageRecord,
)
from router.store.base import Store, WriteStatus
from router.store.sql import SqlStore

KEYS = Attribution(team="finance", agent="reconciler", task_id="t-1", task_type="match",
                   user="ana", labels={"env": "prod"})


def decision(did: str = "d1", request_id: str | None = "r1") -> DecisionRecord:
    return DecisionRecord(
        decision_id=did, request_id=request_id, request_hash="h", created_us=1_000,
        attribution=KEYS,
        model="gpt-4o-mini", provider="openai", complexity_label="easy", complexity_score=0.2,
        quality_target=0.7, predicted_quality=0.81, input_tokens=120, output_tokens=300,
        predicted_cost=198_000, currency="USD", reason_code=1, reason_message="cheapest",
        fallbacks=("gpt-4o",), classifier_version="v1",
        candidates=(CandidateRecord("gpt-4o-mini", "openai", 0.81, 300, 198_000, 0),
                    CandidateRecord("gpt-4o", "openai", 0.9, 300, 3_300_000, 0)))


def usage(uid: str = "u1", payload: str = "p1", did: str | None = "d1") -> UsageRecord:
    return UsageRecord(
        usage_id=uid, payload_hash=payload, decision_id=did, recorded_us=2_000,
        attribution=KEYS, model="gpt-4o-mini", provider="openai",
        tokens=TokenCounts(100, 20, 250, 0), tool_calls=2, compute_ms=1500, review_ms=0,
        outcome=Outcome.SUCCESS, latency_ms=800, cost=CostBreakdown(180_000, 20_000_000, 18, 0),
        currency="USD", predicted_cost=198_000, predicted_output_tokens=300)


def test_implements_the_store_seam(store):
    assert isinstance(store, Store)


def test_round_trips_decisions_and_usage_with_their_keys(store):
    assert store.write_batch([decision()], [usage()])[0].status is WriteStatus.INSERTED
    assert store.get_decision("d1") == decision()
    assert store.find_decision_by_request("r1") == decision()
    assert store.usages_for_decision("d1") == [usage()]
    assert store.get_usage("u1") == usage()
    assert store.get_decision("nope") is None and store.get_usage("nope") is None


def test_same_usage_id_is_recorded_once_replay_or_conflict(store):
    first = store.write_batch([], [usage()])
    again = store.write_batch([], [usage(), usage(payload="other")])
    assert [w.status for w in first] == [WriteStatus.INSERTED]
    assert [w.status for w in again] == [WriteStatus.REPLAYED, WriteStatus.CONFLICT]
    assert all(w.record == usage() for w in again)  # the stored answer, not the new payload
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM usages")).scalar() == 1


def test_duplicates_within_one_batch_insert_once(store):
    statuses = [w.status for w in store.write_batch([], [usage(), usage(), usage(payload="x")])]
    assert statuses == [WriteStatus.INSERTED, WriteStatus.REPLAYED, WriteStatus.CONFLICT]


def test_first_decision_for_a_request_id_owns_it_and_later_ones_keep_their_ids(store):
    """Two replicas answering the same request_id: both decision ids stay resolvable."""
    taken: list[str] = []
    store.write_batch([decision("d1", "r1")], [], (), taken)
    assert taken == []
    store.write_batch([decision("d2", "r1"), decision("d3", None), decision("d4", None),
                       decision("d5", "r5"), decision("d6", "r5")], [], (), taken)
    assert taken == ["d2", "d6"]  # the writer is told which lost (in one batch: the later id)
    assert store.find_decision_by_request("r1").decision_id == "d1"
    assert store.find_decision_by_request("r5").decision_id == "d5"
    assert store.get_decision("d2").request_id is None
    taken.clear()
    store.write_batch([decision("d2", "r1")], [], (), taken)  # a replay changes nothing
    assert store.get_decision("d2").request_id is None and taken == []
    assert store.get_decision("d3") is not None and store.get_decision("d4") is not None


def test_migrate_is_idempotent(store):
    store.migrate()
    store.write_batch([decision()], [])
    store.migrate()
    assert store.get_decision("d1") is not None


def test_concurrent_writers_record_each_usage_exactly_once(store_url):
    """Several store instances (as replicas would) race to write the same usage ids."""
    stores = [SqlStore(store_url, pool_size=2, sqlite_synchronous="NORMAL") for _ in range(4)]
    stores[0].migrate()
    ids = [f"u{i}" for i in range(40)]
    results: list[list] = [[] for _ in stores]

    def writer(k: int) -> None:
        for start in range(0, len(ids), 8):
            batch = [dataclasses.replace(usage(uid), decision_id=None) for uid in
                     ids[start:start + 8]]
            results[k].extend(stores[k].write_batch([], batch))

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    inserted = [w.record.usage_id for r in results for w in r if w.status is WriteStatus.INSERTED]
    replayed = [w for r in results for w in r if w.status is WriteStatus.REPLAYED]
    assert sorted(inserted) == sorted(ids)
    assert len(replayed) == len(ids) * (len(stores) - 1)
    with stores[0].engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*), sum(cost_total) FROM usages")).one() == \
            (40, 40 * usage().cost.total)
    for s in stores:
        s.close()


def test_migrations_match_the_table_definitions(store):
    """Alembic's autogenerate finds nothing to change: the migration and the models agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from router.store.tables import metadata

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
