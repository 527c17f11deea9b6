"""The ledger's vocabulary and the enforcement ladder, without a store."""

import pytest

from router.core.budgets import (
    BudgetStatus,
    Totals,
    applicable,
    charges_for,
    enforcement,
    exhausted,
    rule_from_mapping,
    rule_to_mapping,
    window_of,
)
from router.core.records import Attribution
from router.core.windows import WindowKind

UNIT = 10**9
NOW = 1_795_000_000_000_000  # 2026-11-18T09:46:40Z


def rule(**raw):
    return rule_from_mapping({"id": "b", "window": "day", **raw})


def status(r, spent=0, held=0, tokens_spent=0, tokens_held=0, at=NOW):
    return BudgetStatus(r, window_of(r, at), Totals(spent, held, tokens_spent, tokens_held))


def test_remaining_counts_spend_and_holds_and_never_goes_negative():
    r = rule(limit="10", limit_tokens=1000)
    s = status(r, spent=4 * UNIT, held=5 * UNIT, tokens_spent=100, tokens_held=850)
    assert s.remaining == UNIT and s.tokens_remaining == 50
    assert s.fits(UNIT, 50) and not s.fits(UNIT + 1, 0) and not s.fits(0, 51)
    over = status(r, spent=12 * UNIT)  # actual cost exceeded the predictions
    assert over.remaining == 0 and not over.fits(1, 0)


def test_a_token_only_budget_has_no_money_room():
    s = status(rule(limit_tokens=100), spent=10**15)
    assert s.remaining is None and s.fits(10**15, 100) and not s.fits(0, 101)


def test_the_ladder_takes_the_least_room_and_the_lowest_downgrade_target():
    team = rule(id="team", limit="100", scope={"team": "t"}, downgrade_at=0.5,
                downgrade_quality=0.6)
    agent = rule(id="agent", limit="10", scope={"agent": "a"}, downgrade_at=0.5,
                 downgrade_quality=0.4, throttle_at=0.9, throttle_per_minute=6)
    tokens = rule(id="tok", limit_tokens=5000)
    ladder = enforcement([status(team, spent=60 * UNIT), status(agent, spent=2 * UNIT),
                          status(tokens, tokens_spent=1000)])
    assert ladder.money_room == 8 * UNIT  # the agent's, not the team's 40
    assert ladder.token_room == 4000
    assert ladder.quality_cap == 0.6  # only the team is past its downgrade threshold
    assert ladder.throttled == ()
    ladder = enforcement([status(agent, spent=9 * UNIT + 1)])
    assert ladder.quality_cap == 0.4 and [s.rule.id for s in ladder.throttled] == ["agent"]


def test_model_scoped_budgets_cap_only_their_model():
    r = rule(id="gpt", limit="1", scope={"model": "gpt-4o"})
    ladder = enforcement([status(r, spent=UNIT // 4)])
    assert ladder.money_room is None
    assert ladder.model_room == {"gpt-4o": (3 * UNIT // 4, None)}


def test_rules_apply_by_scope():
    rules = (rule(id="t", limit="1", scope={"team": "t"}),
             rule(id="u", limit="1", scope={"user": "u"}),
             rule(id="m", limit="1", scope={"model": "gpt-4o"}))
    keys = Attribution(team="t", user="x")
    assert [r.id for r in applicable(rules, keys)] == ["t", "m"]  # model not chosen yet
    assert [r.id for r in applicable(rules, keys, "gpt-4o-mini")] == ["t"]


def test_charges_land_in_the_window_of_the_moment_in_the_budgets_zone():
    london = rule(limit="1", timezone="Europe/London")
    # 2026-07-01 22:59:59 UTC is 23:59:59 in London (BST); a second later is the next day
    before, after = 1_782_946_799_000_000, 1_782_946_800_000_000
    assert charges_for([london], before, 5, 7)[0].window_key == "2026-07-01"
    assert charges_for([london], after, 5, 7)[0].window_key == "2026-07-02"
    monthly = rule(limit="1", window="month", timezone="Europe/London")
    assert charges_for([monthly], before, 5, 7)[0].window_key == "2026-07"


def test_refusal_names_the_budgets_and_retries_when_the_soonest_resets():
    day = rule(id="day", limit="1")
    total = rule(id="forever", limit="1", window="total")
    err = exhausted([status(day), status(total)], NOW, "no room")
    assert [v.subject for v in err.violations] == ["budget:day", "budget:forever"]
    assert err.retry_after_seconds == pytest.approx(window_of(day, NOW).seconds_left(NOW))
    assert exhausted([status(total)], NOW, "no room").retry_after_seconds is None


@pytest.mark.parametrize("raw", [
    {"limit": "12.5", "window": "month", "timezone": "Europe/London", "alert_at": 0.8,
     "downgrade_at": 0.9, "downgrade_quality": 0.5, "throttle_at": 0.95,
     "throttle_per_minute": 10, "on_exhausted": "downgrade", "scope": {"team": "f"}},
    {"limit_tokens": 100000, "window": "total", "hold_ttl_seconds": 30,
     "description": "tokens", "scope": {"agent": "a", "model": "gpt-4o"}},
])
def test_a_rule_survives_its_stored_form(raw):
    r = rule(**raw)
    assert rule_from_mapping(rule_to_mapping(r)) == r
    assert r.window is WindowKind(raw["window"])
