"""The budget ledger in SQL (SQLite and PostgreSQL): conditional holds, settlement exactly once,
expiry, and totals that always equal the ledger rows they sum."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from router.core.budgets import Hold, Totals
from router.core.records import Charge
from router.store.base import HoldRefused
from router.store.sql import SqlStore
from tests.store.test_sql_store import decision, usage

W = ("team", "2026-11")
T = ("agent", "2026-11-28")


@pytest.fixture
def store(store_url: str):
    # the SQL ledger on both databases (SQLite serves it in tests only)
    s = SqlStore(store_url, pool_size=8, sqlite_synchronous="NORMAL", holds_in_sql=True)
    s.migrate()
    yield s
    s.close()


def hold(budget: str, window: str, amount: int, tokens: int = 0, expires: int = 10_000):
    return Hold(budget, window, amount, tokens, expires)


def test_a_hold_is_taken_only_while_the_limit_has_room(store):
    after = store.place_holds("d1", [(hold(*W, 60), 100, None)])
    assert after == {W: Totals(held=60)}
    with pytest.raises(HoldRefused) as refused:
        store.place_holds("d2", [(hold(*W, 41), 100, None)])
    assert refused.value.budget_id == "team"
    assert store.place_holds("d3", [(hold(*W, 40), 100, None)])[W].held == 100
    assert store.budget_totals([W]) == {W: Totals(held=100)}


def test_holds_on_several_budgets_are_all_or_nothing(store):
    store.place_holds("d1", [(hold(*T, 0, tokens=90), None, 100)])
    with pytest.raises(HoldRefused) as refused:  # the team has room, the agent's tokens not
        store.place_holds("d2", [(hold(*W, 10, tokens=20), 100, None),
                                 (hold(*T, 10, tokens=20), None, 100)])
    assert refused.value.budget_id == "agent"
    assert store.budget_totals([W, T]) == {W: Totals(), T: Totals(tokens_held=90)}
    assert store.ledger_sums() == store.window_rows()


def test_settlement_releases_the_hold_and_charges_the_actual_cost_once(store):
    store.place_holds("d1", [(hold(*W, 60, 500), 100, None)])
    charged = dataclasses.replace(usage(), charges=(Charge(*W, 75, 370),))
    first = store.write_batch([decision()], [charged])
    assert first[0].budgets == {W: Totals(spent=75, tokens_spent=370)}
    replay = store.write_batch([], [charged])  # the same usage_id again: nothing moves
    assert replay[0].budgets == {}
    assert store.budget_totals([W]) == {W: Totals(spent=75, tokens_spent=370)}
    assert store.ledger_sums() == store.window_rows()


def test_expired_holds_are_released_once_and_live_ones_kept(store):
    store.place_holds("d1", [(hold(*W, 10, expires=1_000), 100, None)])
    store.place_holds("d2", [(hold(*W, 20, expires=5_000), 100, None)])
    assert store.sweep_holds(now_us=999)[0] == 0
    released, totals = store.sweep_holds(now_us=1_000)
    assert released == 1 and totals == {W: Totals(held=20)}
    assert store.sweep_holds(now_us=1_000)[0] == 0
    assert store.release_holds("d2") == {W: Totals()}
    assert store.release_holds("d2") == {}  # released exactly once


def test_concurrent_holds_never_exceed_the_limit(store):
    admitted, refused = [], []
    lock = threading.Lock()

    def route(i: int) -> None:
        try:
            store.place_holds(f"d{i:03d}", [(hold(*W, 7), 100, None),
                                            (hold(*T, 7), 1000, None)])
            outcome = admitted
        except HoldRefused:
            outcome = refused
        with lock:
            outcome.append(i)

    threads = [threading.Thread(target=route, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 100 // 7 and len(refused) == 40 - 100 // 7
    assert store.budget_totals([W])[W].held == 7 * (100 // 7)
    assert store.ledger_sums() == store.window_rows()
