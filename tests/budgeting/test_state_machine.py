"""A Hypothesis state machine over route / report / replay / expire / window-roll / reset.

Invariants, after every step, against a plain model of the ledger:
- a Route is admitted exactly when spent + held + its predicted cost fits the limit, so at
  admission held + spent never exceeds the limit;
- every window's spent is the sum of the usage charged in it, its held the sum of open holds;
- replays change nothing; a window roll starts from nothing and loses nothing; changing the
  limit ("reset") keeps the spend.
Run against both ledgers: in-process (embedded default) and SQL (shared, here over SQLite).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from router.budgeting import LocalLedger, SharedLedger
from router.core.budgets import rule_from_mapping
from router.core.clock import ManualClock
from router.core.errors import BudgetExhausted
from router.core.money import Money
from router.core.pricing import TokenCounts
from router.core.records import Attribution
from router.core.requests import RouteInput, UsageInput
from router.server import build_app
from router.service import build_services
from router.store.recorder import Recorder
from tests.conftest import make_settings

TASK = "Draft a polite reply declining the meeting invitation."
MODEL = "gpt-4o-mini"
TTL_S = 60
ABANDON_S = 5400  # unreported holds keep their room this long (longer than the TTL)
_ids = itertools.count()


@dataclass
class Call:
    decision_id: str
    window: str
    cost: int
    input_tokens: int
    output_tokens: int
    expires_us: int
    open: bool = True
    usage: UsageInput | None = None


@pytest.mark.parametrize("ledger_kind", ["local", "sql"])
def test_budget_invariants_hold_over_any_sequence(tmp_path, ledger_kind):
    clock = ManualClock(1_795_867_200_000_000)  # 2026-11-28 12:00 London
    app = build_app(make_settings(tmp_path, ledger="local" if ledger_kind == "local"
                                  else "shared"), clock)
    ledger = LocalLedger(app.store, abandon_s=ABANDON_S) if ledger_kind == "local" \
        else SharedLedger(app.store, abandon_s=ABANDON_S)
    recorder = Recorder(app.store).start()
    service = build_services(app.settings, app.catalog, app.classifier, app.store, recorder,
                             clock, ledger=ledger)
    probe = service.routing.route(RouteInput(task_description=TASK,
                                             allowed_models=(MODEL,))).decision
    cost = probe.predicted_cost

    class Budgets(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            n = next(_ids)
            self.budget_id, self.keys = f"b{n}", Attribution(agent=f"agent{n}", team="t")
            self.limit = cost * 5
            self.seen: dict[str, int] = {}
            self.set_limit(self.limit)
            self.calls: list[Call] = []
            self.spent: dict[str, int] = {}
            self.usages = 0

        def set_limit(self, limit: int) -> None:
            self.limit = limit
            service.budgets.set(rule_from_mapping({
                "id": self.budget_id, "scope": {"agent": self.keys.agent},
                "limit": str(Money(limit, "USD").to_decimal()), "window": "day",
                "timezone": "Europe/London", "hold_ttl_seconds": TTL_S}))

        def window(self) -> str:
            key = service.budgets.status(self.budget_id).window.key
            self.seen.setdefault(key, clock.now_us())  # an instant inside each window seen
            return key

        def held(self, window: str) -> int:
            return sum(c.cost for c in self.calls if c.open and c.window == window)

        @rule()
        def route(self) -> None:
            w = self.window()
            fits = self.spent.get(w, 0) + self.held(w) + cost <= self.limit
            try:
                result = service.routing.route(RouteInput(
                    task_description=TASK, attribution=self.keys, allowed_models=(MODEL,)))
            except BudgetExhausted:
                assert not fits, "refused although the budget had room"
                return
            assert fits, "admitted beyond the limit"
            d = result.decision
            [status] = result.budgets
            assert status.totals.spent + status.totals.held <= self.limit
            self.calls.append(Call(d.decision_id, w, d.predicted_cost, d.input_tokens,
                                   d.output_tokens,
                                   clock.now_us() + max(TTL_S, ABANDON_S) * 10**6))

        @precondition(lambda self: any(c.usage is None for c in self.calls))
        @rule(data=st.data(), ratio=st.integers(0, 300))
        def report(self, data, ratio: int) -> None:
            call = data.draw(st.sampled_from([c for c in self.calls if c.usage is None]))
            actual = cost * ratio // 100
            self.usages += 1
            call.usage = UsageInput(
                usage_id=f"{self.budget_id}-u{self.usages}", decision_id=call.decision_id,
                tokens=TokenCounts(input=call.input_tokens, output=call.output_tokens),
                actual_cost=Money(actual, "USD"))
            result = service.usage.report(call.usage)
            assert not result.replayed and result.usage.cost.total == actual
            call.open = False
            w = self.window()
            self.spent[w] = self.spent.get(w, 0) + actual

        @precondition(lambda self: any(c.usage is not None for c in self.calls))
        @rule(data=st.data())
        def replay(self, data) -> None:
            call = data.draw(st.sampled_from([c for c in self.calls if c.usage is not None]))
            assert service.usage.report(call.usage).replayed

        @rule(seconds=st.sampled_from([1, TTL_S - 1, TTL_S, 3600, ABANDON_S]))
        def wait_and_expire(self, seconds: int) -> None:
            clock.advance(seconds=seconds)
            service.budgets.tick()
            for c in self.calls:
                if c.open and c.expires_us <= clock.now_us():
                    c.open = False

        @rule()
        def roll_window(self) -> None:
            end = service.budgets.status(self.budget_id).window.end_us
            clock.set(end - 1)  # 23:59:59.999999 local: still the old day
            before = self.window()
            clock.set(end)  # midnight: a new day, nothing in it yet
            assert self.window() != before
            status = service.budgets.status(self.budget_id)
            assert status.totals.spent == self.spent.get(status.window.key, 0)

        @rule(factor=st.integers(1, 8))
        def reset_limit(self, factor: int) -> None:
            self.set_limit(cost * factor)

        @invariant()
        def ledger_matches_the_model(self) -> None:
            rule_ = service.budgets.get(self.budget_id)
            self.window()
            for w, at in self.seen.items():
                [status] = ledger.statuses([rule_], at, fresh=True)
                assert status.window.key == w
                assert status.totals.spent == self.spent.get(w, 0)
                assert status.totals.held == self.held(w)
            if ledger_kind == "sql":
                assert app.store.ledger_sums() == app.store.window_rows()

    try:
        run_state_machine_as_test(Budgets, settings=settings(
            max_examples=40, stateful_step_count=25, deadline=None,
            suppress_health_check=list(HealthCheck)))
    finally:
        recorder.close()
        app.close()
