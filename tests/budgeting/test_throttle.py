"""Throttle: one token bucket per (budget, window, rate), refilled by the clock passed in."""

from __future__ import annotations

import pytest

from router.budgeting import Throttle
from router.core.budgets import BudgetStatus, Totals, rule_from_mapping, window_of

NOW = 1_767_225_600_000_000  # 2026-01-01T00:00Z
SECOND = 1_000_000


def status(budget_id: str = "hot", per_minute: int = 60, at_us: int = NOW,
           window: str = "day") -> BudgetStatus:
    r = rule_from_mapping({"id": budget_id, "limit": "1", "window": window, "throttle_at": 0.5,
                           "throttle_per_minute": per_minute})
    return BudgetStatus(r, window_of(r, at_us), Totals(spent=600_000_000))


def test_a_burst_of_ten_seconds_worth_goes_then_calls_wait():
    throttle = Throttle()
    s = status(per_minute=60)  # one a second on average; bursts of 10
    assert [throttle.wait(s, NOW) for _ in range(10)] == [0.0] * 10
    assert throttle.wait(s, NOW) == pytest.approx(1.0)


def test_a_slow_rate_still_lets_one_call_through():
    throttle = Throttle()
    s = status(per_minute=2)  # burst max(1, 2 // 6) = 1
    assert throttle.wait(s, NOW) == 0.0
    assert throttle.wait(s, NOW) == pytest.approx(30.0)


def test_the_bucket_refills_with_time_and_a_refused_call_is_not_counted():
    throttle = Throttle()
    s = status(per_minute=60)
    for _ in range(10):
        throttle.wait(s, NOW)
    for _ in range(5):  # refused calls take nothing
        assert throttle.wait(s, NOW) > 0
    assert throttle.wait(s, NOW + SECOND // 2) == pytest.approx(0.5)
    assert throttle.wait(s, NOW + SECOND) == 0.0
    assert throttle.wait(s, NOW + SECOND) > 0
    assert [throttle.wait(s, NOW + 60 * SECOND) for _ in range(11)].count(0.0) == 10


def test_each_budget_has_its_own_bucket():
    throttle = Throttle()
    a, b = status("a", per_minute=6), status("b", per_minute=6)
    assert throttle.wait(a, NOW) == 0.0 and throttle.wait(a, NOW) > 0
    assert throttle.wait(b, NOW) == 0.0


def test_a_new_window_or_a_new_rate_starts_a_full_bucket():
    throttle = Throttle()
    today = status(per_minute=6)
    assert throttle.wait(today, NOW) == 0.0 and throttle.wait(today, NOW) > 0
    tomorrow_at = NOW + 86_400 * SECOND
    tomorrow = status(per_minute=6, at_us=tomorrow_at)
    assert tomorrow.window.key != today.window.key
    assert throttle.wait(tomorrow, tomorrow_at) == 0.0
    faster = status(per_minute=12)
    assert throttle.wait(faster, NOW) == 0.0
