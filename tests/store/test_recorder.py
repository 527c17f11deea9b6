"""Group commit: futures resolve after the commit, close() drains, outages become UNAVAILABLE."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import wait

import pytest
import sqlalchemy as sa

from router.core.errors import StoreUnavailable
from router.store.base import WriteStatus
from router.store.recorder import Recorder
from router.store.sql import SqlStore
from tests.store.test_sql_store import decision, usage


@pytest.fixture
def store(tmp_path):
    s = SqlStore(f"sqlite:///{tmp_path / 'r.db'}", sqlite_synchronous="NORMAL")
    s.migrate()
    yield s
    s.close()


def test_usage_future_resolves_only_after_the_row_is_committed(store):
    rec = Recorder(store).start()
    fut = rec.record_usage(usage())
    write = fut.result(5)
    assert write.status is WriteStatus.INSERTED
    assert store.get_usage("u1") is not None  # committed before the future resolved
    rec.close()


def test_many_concurrent_records_are_batched_into_few_transactions(store):
    rec = Recorder(store, max_batch=256).start()
    futures = []
    lock = threading.Lock()

    def produce(k: int) -> None:
        for i in range(200):
            f = rec.record_usage(dataclasses.replace(usage(f"u{k}-{i}"), decision_id=None))
            with lock:
                futures.append(f)

    threads = [threading.Thread(target=produce, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait(futures, 10)
    assert all(f.result().status is WriteStatus.INSERTED for f in futures)
    assert rec.batches < len(futures)  # group commit: fewer transactions than records
    rec.close()


def test_the_writer_tells_which_decisions_lost_their_request_id_once_committed(store):
    store.write_batch([decision("d1", "r1")], [])  # another replica's, committed first
    rec = Recorder(store)  # started once all is queued: one batch
    told: list[list[tuple[str, object]]] = []
    rec.on_request_taken = lambda lost: told.append(
        [(d.decision_id, rec.pending_decision(d.decision_id)) for d in lost])
    for d in (decision("d2", "r1"), decision("d3", "r3"), decision("d4", "r3"),
              decision("d5", None)):
        rec.record_decision(d)
    rec.start()
    rec.flush()
    rec.close()
    assert told == [[("d2", None), ("d4", None)]]  # and no longer in the queue by then
    assert store.get_decision("d2").request_id is None
    assert store.find_decision_by_request("r3").decision_id == "d3"


def test_close_commits_everything_queued(store):
    rec = Recorder(store).start()
    for i in range(500):
        rec.record_decision(decision(f"d{i}", None))
    rec.close()
    assert all(store.get_decision(f"d{i}") is not None for i in range(0, 500, 50))
    with pytest.raises(StoreUnavailable):
        rec.record_decision(decision("late", None))


class GatedStore:
    """The real store behind a gate: writes wait until the test opens it."""

    def __init__(self, store: SqlStore) -> None:
        self.store, self.gate = store, threading.Event()

    def write_batch(self, decisions, usages, factors=(), taken=None):
        self.gate.wait(5)
        return self.store.write_batch(decisions, usages, factors, taken)


def test_pending_decisions_are_visible_until_committed(store):
    gated = GatedStore(store)
    rec = Recorder(gated).start()  # type: ignore[arg-type]
    rec.record_decision(decision("d-pending", None))
    assert rec.pending_decision("d-pending") is not None
    gated.gate.set()
    rec.flush()
    assert rec.pending_decision("d-pending") is None
    assert store.get_decision("d-pending") is not None
    rec.close()


def test_store_outage_fails_usage_futures_and_retries_decisions(store):
    failures = {"left": 2}

    class FlakyStore:
        def write_batch(self, decisions, usages, factors=(), taken=None):
            if failures["left"] > 0:
                failures["left"] -= 1
                raise StoreUnavailable("down")
            return store.write_batch(decisions, usages, factors, taken)

    rec = Recorder(FlakyStore(), retry_backoff_s=0.01).start()  # type: ignore[arg-type]
    rec.record_decision(decision("d-retry", None))
    fut = rec.record_usage(usage("u-fail"))
    with pytest.raises(StoreUnavailable):
        fut.result(5)
    rec.flush()
    assert store.get_decision("d-retry") is not None  # kept and retried, not lost
    assert store.get_usage("u-fail") is None  # the client was told; it retries with the same id
    rec.close()


def test_queue_bound_turns_into_unavailable(store):
    gated = GatedStore(store)
    rec = Recorder(gated, queue_limit=3, max_batch=1).start()  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailable, match="queue is full"):
        for i in range(10):
            rec.record_decision(decision(f"q{i}", None))
    gated.gate.set()
    rec.close()


def test_a_locked_database_is_unavailable_and_the_writer_survives(tmp_path):
    """A driver-level error (SQLite's 'database is locked') must neither kill the writer thread
    nor drop decisions: usage callers get UNAVAILABLE, decisions are retried until they land."""
    import sqlite3

    path = tmp_path / "locked.db"
    store = SqlStore(f"sqlite:///{path}", sqlite_synchronous="NORMAL")
    store.migrate()
    store.engine.dispose()

    @sa.event.listens_for(store.engine, "connect")
    def short_timeout(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA busy_timeout=50")

    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    rec = Recorder(store, retry_backoff_s=0.02, max_backoff_s=0.05).start()
    rec.record_decision(decision("d-locked", None))
    fut = rec.record_usage(usage("u-locked", did=None))
    with pytest.raises(StoreUnavailable):
        fut.result(10)
    blocker.execute("ROLLBACK")
    blocker.close()
    rec.flush(10)  # the writer is alive and the retried decision landed
    assert store.get_decision("d-locked") is not None
    assert rec.record_usage(usage("u-after", did=None)).result(10).status is WriteStatus.INSERTED
    rec.close()
    store.close()


def test_a_crashing_batch_fails_its_callers_and_the_writer_goes_on(store):
    class Exploding:
        calls = 0

        def write_batch(self, decisions, usages, factors=(), taken=None):
            Exploding.calls += 1
            if Exploding.calls == 1:
                raise RuntimeError("boom")
            return store.write_batch(decisions, usages, factors, taken)

    rec = Recorder(Exploding()).start()  # type: ignore[arg-type]
    first = rec.record_usage(usage("u-boom", did=None))
    with pytest.raises(Exception, match="boom"):
        first.result(5)
    assert rec.record_usage(usage("u-ok", did=None)).result(5).status is WriteStatus.INSERTED
    rec.close()


def test_decisions_alone_linger_into_one_batch(store):
    rec = Recorder(store, linger_s=30.0).start()
    for i in range(5):
        rec.record_decision(decision(f"d{i}", f"r{i}"))
    rec.flush(5)  # a barrier is waited for: it ends the linger at once
    assert rec.batches == 1
    assert all(store.get_decision(f"d{i}") is not None for i in range(5))
    rec.close()


def test_a_usage_ends_the_linger_at_once(store):
    rec = Recorder(store, linger_s=30.0).start()
    rec.record_decision(decision("d1", "r1"))
    # the writer lingers on d1; the usage joins the batch and is committed without the 30 s
    write = rec.record_usage(dataclasses.replace(usage("u1"), decision_id=None)).result(5)
    assert write.status is WriteStatus.INSERTED
    assert store.get_decision("d1") is not None
    rec.close()


def test_close_commits_lingering_decisions_without_waiting_out_the_linger(store):
    rec = Recorder(store, linger_s=30.0).start()
    rec.record_decision(decision("d1", "r1"))
    closer = threading.Thread(target=rec.close, kwargs={"timeout": 5.0})
    closer.start()
    closer.join(10)
    assert not closer.is_alive()
    assert store.get_decision("d1") is not None


def test_failed_usages_no_longer_count_as_waited_for(store):
    """A usage refused while the store is down leaves the queue; the decisions behind it
    linger again instead of being written one transaction each."""
    rec = Recorder(store, linger_s=30.0)
    fut = rec.record_usage(dataclasses.replace(usage("u1"), decision_id=None))
    rec._fail_queued_usages(StoreUnavailable("down"))
    with pytest.raises(StoreUnavailable):
        fut.result(1)
    assert rec._waited_for == 0
    rec.start().close()
