"""The two ledgers: which one a store gets, which stores each refuses, and that both hold,
refuse, release, expire and settle alike (over SQLite here)."""

from __future__ import annotations

import shutil

import pytest

from router.budgeting import BudgetBook, BudgetGate, LocalLedger, SharedLedger, ledger_for
from router.core.budgets import BudgetStatus, rule_from_mapping
from router.core.pricing import CostBreakdown, TokenCounts
from router.core.records import Attribution, Charge, Outcome, UsageRecord
from router.store.base import HoldRefused, WriteStatus
from router.store.sql import SqlStore

NOW = 1_767_225_600_000_000
SECOND = 1_000_000


@pytest.fixture
def open_store(migrated, tmp_path):
    opened: list[SqlStore] = []

    def make(holds_in_sql: bool | None = None) -> SqlStore:
        path = tmp_path / f"r{len(opened)}.db"
        shutil.copyfile(migrated, path)
        s = SqlStore(f"sqlite:///{path}", sqlite_synchronous="NORMAL", holds_in_sql=holds_in_sql)
        s.migrate()
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()


def usage(usage_id: str, decision_id: str | None, charges: tuple[Charge, ...]) -> UsageRecord:
    amount, tokens = charges[0].amount, charges[0].tokens
    return UsageRecord(
        usage_id=usage_id, payload_hash="p", decision_id=decision_id, recorded_us=NOW,
        attribution=Attribution(team="growth"), model="gpt-4o-mini", provider="openai",
        tokens=TokenCounts(input=tokens), tool_calls=0, compute_ms=0, review_ms=0,
        outcome=Outcome.SUCCESS, latency_ms=0, cost=CostBreakdown(tokens=amount),
        currency="USD", predicted_cost=None, predicted_output_tokens=None, charges=charges)


def rule(budget_id: str, nanos: int = 100, ttl_s: int = 60, **raw):
    return rule_from_mapping({"id": budget_id, "limit": f"{nanos / 1e9:.9f}", "window": "day",
                              "hold_ttl_seconds": ttl_s, **raw})


def test_ledger_for_follows_where_the_store_keeps_holds(open_store):
    embedded = open_store()
    assert embedded.holds_in_sql is False
    assert isinstance(ledger_for(embedded), LocalLedger)
    assert isinstance(ledger_for(open_store(holds_in_sql=True)), SharedLedger)
    assert isinstance(ledger_for(open_store(holds_in_sql=False)), LocalLedger)


def test_each_ledger_refuses_the_other_kind_of_store(open_store):
    with pytest.raises(ValueError, match="SharedLedger"):
        LocalLedger(open_store(holds_in_sql=True))
    with pytest.raises(ValueError, match="LocalLedger"):
        SharedLedger(open_store(holds_in_sql=False))


@pytest.fixture(params=[False, True], ids=["local", "shared"])
def store(request, open_store):
    return open_store(holds_in_sql=request.param)


@pytest.fixture
def ledger(store):
    return ledger_for(store, abandon_s=1)  # the rules' hold TTLs are longer, so they govern


def test_a_hold_is_kept_until_abandoned_however_short_its_ttl(store):
    """An unreported hold keeps its room for the abandonment timeout, not just its TTL: room
    freed earlier would be spent again by the late report (a block budget's overspend)."""
    ledger = ledger_for(store, abandon_s=3600)
    r = rule("b", 100, ttl_s=60)
    ledger.hold("d1", ledger.statuses([r], NOW), 10, 0, NOW)
    assert ledger.sweep(NOW + 61 * SECOND) == 0
    assert held(ledger, r, NOW + 61 * SECOND) == 10
    assert ledger.sweep(NOW + 3600 * SECOND) == 1
    assert held(ledger, r, NOW + 3600 * SECOND) == 0


def held(ledger, r, at_us: int = NOW) -> int:
    [s] = ledger.statuses([r], at_us, fresh=True)
    return s.totals.held


def test_holds_are_admitted_while_there_is_room_all_or_none(ledger):
    team, agent = rule("team", 100), rule("agent", 1000)
    statuses = ledger.statuses([team, agent], NOW)
    after = ledger.hold("d1", statuses, 60, 5, NOW)
    assert [s.totals.held for s in after] == [60, 60]
    assert all(isinstance(s, BudgetStatus) for s in after)
    with pytest.raises(HoldRefused) as refused:
        ledger.hold("d2", ledger.statuses([agent, team], NOW, fresh=True), 41, 5, NOW)
    assert refused.value.budget_id == "team"
    assert (held(ledger, team), held(ledger, agent)) == (60, 60)  # the agent's hold not kept
    ledger.hold("d3", ledger.statuses([team, agent], NOW, fresh=True), 40, 5, NOW)
    assert (held(ledger, team), held(ledger, agent)) == (100, 100)


def test_release_gives_a_decisions_holds_back_once(ledger):
    team = rule("team", 100)
    ledger.hold("d1", ledger.statuses([team], NOW), 70, 0, NOW)
    ledger.hold("d2", ledger.statuses([team], NOW, fresh=True), 30, 0, NOW)
    ledger.release("d1")
    assert held(ledger, team) == 30
    ledger.release("d1")
    assert held(ledger, team) == 30


def test_sweep_releases_holds_past_their_ttl(ledger):
    short, long = rule("short", 100, ttl_s=60), rule("long", 100, ttl_s=600)
    ledger.hold("d1", ledger.statuses([short, long], NOW), 10, 0, NOW)
    assert ledger.sweep(NOW + 59 * SECOND) == 0
    assert ledger.sweep(NOW + 60 * SECOND) == 1
    assert (held(ledger, short), held(ledger, long)) == (0, 10)
    assert ledger.sweep(NOW + 600 * SECOND) == 1
    assert ledger.sweep(NOW + 600 * SECOND) == 0


def test_settled_usage_counts_as_spent_and_frees_its_hold(store, ledger):
    team = rule("team", 100)
    [s] = ledger.statuses([team], NOW)
    ledger.hold("d1", [s], 60, 500, NOW)
    charged = usage("u1", "d1", (Charge("team", s.window.key, 75, 370),))
    writes = store.write_batch([], [charged])
    assert [w.status for w in writes] == [WriteStatus.INSERTED]
    ledger.on_commit(writes)  # what the recorder tells the ledger after the commit
    [after] = ledger.statuses([team], NOW, fresh=True)
    assert (after.totals.spent, after.totals.held) == (75, 0)
    assert (after.totals.tokens_spent, after.totals.tokens_held) == (370, 0)
    assert after.remaining == 25
    with pytest.raises(HoldRefused):
        ledger.hold("d2", [after], 26, 0, NOW)
    # a replay settles nothing more
    replay = store.write_batch([], [charged])
    assert [w.status for w in replay] == [WriteStatus.REPLAYED]
    ledger.on_commit([w for w in replay if w.status is WriteStatus.INSERTED])
    [same] = ledger.statuses([team], NOW, fresh=True)
    assert same.totals == after.totals


def test_a_ledger_reads_spend_settled_before_it_started(store):
    team = rule("team", 100)
    [s] = ledger_for(store).statuses([team], NOW)
    store.write_batch([], [usage("u1", None, (Charge("team", s.window.key, 40, 0),))])
    restarted = ledger_for(store)  # a new process: nothing cached, the store answers
    [after] = restarted.statuses([team], NOW)
    assert after.totals.spent == 40


def test_peek_tells_what_the_ledger_knows_without_asking_the_store(store, ledger):
    """What the budget gauges read at scrape time: the totals last read, held or settled here
    (a shared ledger keeps them when its cache drops them), None for a window never seen."""
    team = rule("team", 100)
    [s] = ledger.statuses([team], NOW)
    key = (team.id, s.window.key)
    ledger.hold("d1", [s], 60, 500, NOW)
    assert ledger.peek(key).held == 60
    writes = store.write_batch([], [usage("u1", "d1", (Charge("team", s.window.key, 75, 370),))])
    ledger.on_commit(writes)
    assert (ledger.peek(key).spent, ledger.peek(key).tokens_spent) == (75, 370)
    assert ledger.peek(("team", "another-window")) is None
    assert ledger.peek(("nobody", s.window.key)) is None


def test_the_gate_reads_its_gauges_from_memory(store, ledger):
    team, unseen = rule("team", 100), rule("unseen", 50)
    book = BudgetBook(store)
    book.put(team, NOW)
    book.put(unseen, NOW)
    gate = BudgetGate(book, ledger)
    ledger.hold("d1", ledger.statuses([team], NOW), 95, 0, NOW)
    reads = []
    original = store.budget_totals
    store.budget_totals = lambda keys: reads.append(keys) or original(keys)
    samples = {(name, tuple(sorted(labels.items()))): v for name, labels, v in gate.samples(NOW)}
    assert reads == []  # a scrape never waits on the store
    assert samples[("router_budget_limit_nanos", (("budget", "team"),))] == 100
    assert samples[("router_budget_held_nanos", (("budget", "team"),))] == 95
    assert samples[("router_budget_state", (("budget", "team"), ("state", "ok")))] == 1
    assert sum(v for (name, labels), v in samples.items() if name == "router_budget_state"
               and ("budget", "team") in labels) == 1  # one state at a time
    assert samples[("router_budget_limit_nanos", (("budget", "unseen"),))] == 50
    assert ("router_budget_spent_nanos", (("budget", "unseen"),)) not in samples
