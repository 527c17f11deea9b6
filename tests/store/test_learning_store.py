"""The learner's evidence in the store, on SQLite and PostgreSQL: replicas' increments add up,
prior_quality round-trips, and a failed save loses nothing."""

from __future__ import annotations

import dataclasses

import pytest

from router.core.errors import StoreUnavailable
from router.core.learning import AGENT, TASK, Evidence
from router.service.learning import Learning
from router.settings import Settings
from router.store.sql import SqlStore
from tests.store.test_sql_store import KEYS, decision

SETTINGS = Settings(learning_min_agent_count=1)


def outcomes(learning: Learning, scores: list[float], start_us: int) -> None:
    d = decision()
    for i, score in enumerate(scores):
        learning.observe(d, d.model, score, start_us + i)


def test_two_replicas_each_learn_save_and_refresh_to_the_sum(store: SqlStore):
    a, b = Learning(store, SETTINGS), Learning(store, SETTINGS)
    outcomes(a, [1.0] * 12, 100)
    outcomes(b, [0.0] * 5 + [1.0] * 3, 200)
    a.save()
    b.save()
    a.save()  # nothing new: adds nothing
    a.refresh()
    b.refresh()
    for level, scope in ((TASK, KEYS.task_type), (AGENT, KEYS.agent)):
        pa = a.learner.posterior(level, scope, "gpt-4o-mini")
        assert pa == b.learner.posterior(level, scope, "gpt-4o-mini")
        assert pa.count == 20 and pa.updated_us == 207
    stored = {(e.level, e.scope): e for e in store.load_learning()}
    assert stored[(TASK, KEYS.task_type)].count == 20
    # a third replica starting now reads the same
    c = Learning(store, SETTINGS)
    assert c.learner.posteriors() == a.learner.posteriors()
    # learning on after the refresh keeps adding
    outcomes(b, [1.0], 300)
    b.save()
    a.refresh()
    assert a.learner.posterior(TASK, KEYS.task_type, "gpt-4o-mini").count == 21


def test_add_learning_adds_to_the_sums_and_keeps_the_latest_time(store: SqlStore):
    row = Evidence(TASK, "t", "m", 1.5, 0.5, 3, 10)
    store.add_learning([row, dataclasses.replace(row, updated_us=5)])  # one key twice
    store.add_learning([dataclasses.replace(row, precision=0.5, weighted=-1.0, count=1,
                                            updated_us=7)])
    [stored] = store.load_learning()
    assert stored == Evidence(TASK, "t", "m", 3.5, 0.0, 7, 10)
    store.add_learning([])


def test_a_failed_save_loses_nothing(store: SqlStore, monkeypatch: pytest.MonkeyPatch):
    a = Learning(store, SETTINGS)
    outcomes(a, [1.0] * 6, 100)
    before = a.learner.posteriors()

    def down(rows: object) -> None:
        raise StoreUnavailable("store unreachable: down for the test")

    monkeypatch.setattr(store, "add_learning", down)
    with pytest.raises(StoreUnavailable):
        a.save()
    assert a.learner.posteriors() == before
    outcomes(a, [1.0] * 2, 200)  # learning goes on meanwhile
    monkeypatch.undo()
    a.save()
    a.refresh()
    assert a.learner.posterior(TASK, KEYS.task_type, "gpt-4o-mini").count == 8
    assert {e.count for e in store.load_learning()} == {8}


def test_a_decisions_prior_quality_round_trips(store: SqlStore):
    learned = dataclasses.replace(decision("d1", None), prior_quality=0.42)
    plain = decision("d2", None)
    store.write_batch([learned, plain], [])
    assert store.get_decision("d1") == learned
    assert store.get_decision("d2") == plain and plain.prior_quality is None
