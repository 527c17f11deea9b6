"""BudgetGate: failing closed (or open when so configured), held races, refusals that name the
right budgets, pauses and throttles."""

from __future__ import annotations

import pytest

from router.budgeting import BudgetBook, BudgetGate, HoldRaced, LocalLedger
from router.core.budgets import (
    BudgetStatus,
    Scope,
    Totals,
    enforcement,
    rule_from_mapping,
    window_of,
)
from router.core.errors import BudgetExhausted, PreconditionFailed, StoreUnavailable
from router.core.records import Attribution, CandidateRecord

NOW = 1_767_225_600_000_000  # 2026-01-01T00:00Z
KEYS = Attribution(team="growth", agent="mailer")


class DownLedger:
    """A ledger whose store cannot be reached."""

    def __init__(self) -> None:
        self.released: list[str] = []

    def statuses(self, rules, now_us, fresh=False):
        raise StoreUnavailable("store unreachable: connection refused")

    def hold(self, decision_id, statuses, amount, tokens, now_us):
        raise StoreUnavailable("store unreachable: connection refused")

    def release(self, decision_id):
        self.released.append(decision_id)

    def on_commit(self, writes):
        pass

    def sweep(self, now_us):
        return 0


@pytest.fixture
def book(store):
    return BudgetBook(store)


def rule(budget_id: str, nanos: int = 100, **raw):
    return rule_from_mapping({"id": budget_id, "limit": f"{nanos / 1e9:.9f}", "window": "day",
                              **raw})


def status(r, spent: int = 0) -> BudgetStatus:
    return BudgetStatus(r, window_of(r, NOW), Totals(spent=spent))


def candidate(model: str = "gpt-4o-mini", cost: int = 20) -> CandidateRecord:
    return CandidateRecord(model, "openai", 0.8, 10, cost, 1)


def test_statuses_fail_closed_when_the_ledger_is_unreachable(book):
    gate = BudgetGate(book, DownLedger(), fail_open=False)
    with pytest.raises(StoreUnavailable):
        gate.statuses([rule("growth")], NOW)
    with pytest.raises(StoreUnavailable):
        gate.hold("d1", [status(rule("growth"))], 10, 0, NOW, fresh=False)
    assert gate.fail_open_count == 0


def test_statuses_fail_open_when_so_configured_and_count_it(book):
    gate = BudgetGate(book, DownLedger(), fail_open=True)
    assert gate.statuses([rule("growth")], NOW) == []
    assert gate.fail_open_count == 1
    assert gate.hold("d1", [status(rule("growth"))], 10, 0, NOW, fresh=True) == ()
    assert gate.fail_open_count == 2


def test_no_rules_need_no_ledger(book):
    gate = BudgetGate(book, DownLedger(), fail_open=False)
    assert gate.statuses([], NOW) == []


def test_a_refused_hold_on_cached_totals_is_a_race_and_on_fresh_ones_exhaustion(store, book):
    ledger = LocalLedger(store)
    gate = BudgetGate(book, ledger)
    tight = rule("tight", 100)
    [seen] = gate.statuses([tight], NOW)  # what a Route read before another took the room
    [after] = gate.hold("d1", [seen], 100, 0, NOW, fresh=False)
    assert after.totals.held == 100
    with pytest.raises(HoldRaced):
        gate.hold("d2", [seen], 1, 0, NOW, fresh=False)
    with pytest.raises(BudgetExhausted) as full:
        gate.hold("d2", [seen], 1, 0, NOW, fresh=True)
    assert "'tight'" in str(full.value)
    assert [v.subject for v in full.value.violations] == ["budget:tight"]
    assert full.value.retry_after_seconds == seen.window.seconds_left(NOW) == 86_400
    assert ledger.open_holds() == 1  # the refused holds left nothing


def test_release_gives_back_a_decisions_holds(store, book):
    ledger = LocalLedger(store)
    gate = BudgetGate(book, ledger)
    [seen] = gate.statuses([rule("tight", 100)], NOW)
    gate.hold("d1", [seen], 100, 0, NOW, fresh=False)
    gate.release("d1")
    assert ledger.open_holds() == 0
    [again] = gate.hold("d2", [seen], 100, 0, NOW, fresh=False)
    assert again.totals.held == 100


def test_refusal_names_only_the_blocking_budgets_unless_all_rules(book):
    gate = BudgetGate(book, DownLedger())
    blocker = status(rule("blocker", 100), spent=90)
    soft = status(rule("soft", 100, on_exhausted="downgrade"), spent=95)
    roomy = status(rule("roomy", 10**12), spent=90)
    elsewhere = status(rule("elsewhere", 100, scope={"model": "gpt-4o"}), spent=100)
    statuses = [blocker, soft, roomy, elsewhere]
    some = gate.refusal(statuses, candidate(cost=20), 5, NOW, all_rules=False)
    assert [v.subject for v in some.violations] == ["budget:blocker"]
    assert "'blocker'" in str(some) and "gpt-4o-mini" in str(some)
    every = gate.refusal(statuses, candidate(cost=20), 5, NOW, all_rules=True)
    assert [v.subject for v in every.violations] == ["budget:blocker", "budget:soft"]
    # the model-scoped budget counts for its own model
    for_it = gate.refusal(statuses, candidate("gpt-4o", cost=20), 5, NOW, all_rules=True)
    assert "budget:elsewhere" in [v.subject for v in for_it.violations]


def test_refusal_without_a_blocking_budget_names_none(book):
    gate = BudgetGate(book, DownLedger())
    soft = status(rule("soft", 100, on_exhausted="downgrade"), spent=95)
    refusal = gate.refusal([soft], candidate(cost=20), 5, NOW, all_rules=False)
    assert refusal.violations == [] and "no model fits" in str(refusal)
    fits = gate.refusal([soft], candidate(cost=5), 5, NOW, all_rules=True)
    assert fits.violations == []


def test_throttles_refuse_with_a_retry_hint_once_the_bucket_is_empty(book):
    gate = BudgetGate(book, DownLedger())
    throttled = status(rule("hot", 100, throttle_at=0.5, throttle_per_minute=6), spent=60)
    ladder = enforcement([throttled])
    assert ladder.throttled == (throttled,)
    gate.check_throttles(ladder, NOW)  # the bucket holds max(1, 6 // 6) = 1 call
    with pytest.raises(BudgetExhausted) as slow:
        gate.check_throttles(ladder, NOW)
    assert slow.value.retry_after_seconds > 0
    assert slow.value.retry_after_seconds == pytest.approx(10.0)
    assert [v.subject for v in slow.value.violations] == ["budget:hot"]
    gate.check_throttles(ladder, NOW + 10_000_000)  # one call's worth has refilled


def test_a_budget_below_its_throttle_threshold_is_not_throttled(book):
    gate = BudgetGate(book, DownLedger())
    cool = status(rule("hot", 100, throttle_at=0.5, throttle_per_minute=6), spent=40)
    ladder = enforcement([cool])
    for _ in range(5):
        gate.check_throttles(ladder, NOW)


def test_check_paused_refuses_a_paused_scope_and_returns_paused_models(book):
    gate = BudgetGate(book, DownLedger())
    assert not gate.active
    book.pause(Scope(model="gpt-4o"), "incident", NOW)
    assert gate.active
    assert gate.check_paused(KEYS) == {"gpt-4o"}
    book.pause(Scope(team="growth"), "over budget", NOW)
    with pytest.raises(PreconditionFailed, match="team=growth: over budget"):
        gate.check_paused(KEYS)
    assert gate.check_paused(Attribution(team="ops")) == {"gpt-4o"}


def test_rules_for_matches_the_keys_and_model(book):
    book.put(rule("team", scope={"team": "growth"}), NOW)
    book.put(rule("mini", scope={"model": "gpt-4o-mini"}), NOW)
    book.put(rule("ops", scope={"team": "ops"}), NOW)
    gate = BudgetGate(book, DownLedger())
    assert [r.id for r in gate.rules_for(KEYS)] == ["mini", "team"]
    assert [r.id for r in gate.rules_for(KEYS, "gpt-4o")] == ["team"]
    assert [r.id for r in gate.rules_for(KEYS, "gpt-4o-mini")] == ["mini", "team"]
