"""Budget rules as code: parsing with line-numbered errors, scopes, and the threshold ladder."""

import tomllib
from pathlib import Path

import pytest

from router.core.budgets import (
    Action,
    BudgetError,
    Scope,
    State,
    load_budgets,
    parse_budgets,
    rule_from_mapping,
)
from router.core.records import Attribution
from router.core.windows import WindowKind

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "budgets.toml"


def test_the_worked_example_file_parses():
    agent, team = load_budgets(EXAMPLE)
    assert agent.limit_tokens == 100_000 and agent.limit is None
    assert agent.window is WindowKind.DAY and agent.scope == Scope(agent="reconciler")
    assert team.limit == 5_000 * 10**9 and team.window is WindowKind.MONTH
    assert team.on_exhausted is Action.DOWNGRADE and team.throttle_per_minute == 10
    assert str(team.tz) == "Europe/London"


def test_the_ladder_climbs_with_the_fraction_used():
    _, team = load_budgets(EXAMPLE)
    assert [team.state(f) for f in (0.1, 0.8, 0.9, 0.95, 1.0, 1.3)] == [
        State.OK, State.ALERT, State.DOWNGRADE, State.THROTTLE, State.EXHAUSTED,
        State.EXHAUSTED]
    assert team.used_fraction(spent=4_000 * 10**9, held=500 * 10**9) == pytest.approx(0.9)


def test_the_fuller_of_money_and_tokens_counts():
    both = rule_from_mapping({"id": "b", "limit": "10", "limit_tokens": 1000, "window": "day"})
    assert both.used_fraction(spent=10**9, held=0, tokens_spent=900) == pytest.approx(0.9)
    assert both.used_fraction(spent=9 * 10**9, held=0, tokens_spent=10) == pytest.approx(0.9)


def test_scopes_match_every_key_they_set():
    keys = Attribution(team="finance", agent="reconciler", user="ana", task_type="match")
    assert Scope().matches(keys)
    assert Scope(team="finance", agent="reconciler").matches(keys)
    assert not Scope(team="finance", agent="other").matches(keys)
    assert Scope(team="finance", model="gpt-4o").matches(keys, "gpt-4o")
    assert not Scope(team="finance", model="gpt-4o").matches(keys, "gpt-4o-mini")
    assert Scope(model="gpt-4o").matches(keys, None)  # before a model is chosen: may apply


BASE = '''schema_version = 1

[[budgets]]
id = "a"
scope = { team = "t" }
limit = "10"
window = "day"
timezone = "Europe/London"
alert_at = 0.5
'''


@pytest.mark.parametrize(("change", "line", "words"), [
    (('window = "day"', 'window = "fortnight"'), 7, "window must be one of"),
    (('timezone = "Europe/London"', 'timezone = "Mars/Base"'), 8, "Mars/Base"),
    (('limit = "10"', 'limit = "-3"'), 6, "positive"),
    (('scope = { team = "t" }', 'scope = { squad = "t" }'), 5, "squad"),
    (('alert_at = 0.5', 'alert_at = 1.5'), 9, "fraction"),
    (('alert_at = 0.5', 'alert_at = 0.5\nthrottle_at = 0.9'), 10, "throttle_per_minute"),
    (('alert_at = 0.5', 'alert_at = 0.5\ncolour = "red"'), 10, "colour"),
    (('limit = "10"\n', ''), 4, "needs limit"),
])
def test_bad_rules_fail_naming_the_line(change, line, words):
    with pytest.raises(BudgetError) as info:
        parse_budgets(BASE.replace(*change), source="b.toml")
    assert f"b.toml:{line}:" in str(info.value) and words in str(info.value)


@pytest.mark.parametrize(("thresholds", "field", "line", "words"), [
    ("alert_at = 0.9\ndowngrade_at = 0.8", "downgrade_at", 10,
     "alert_at (0.9) must not exceed downgrade_at (0.8)"),
    ("alert_at = 0.9\nthrottle_at = 0.5\nthrottle_per_minute = 5", "throttle_at", 10,
     "alert_at (0.9) must not exceed throttle_at (0.5)"),
    ("downgrade_at = 0.9\nthrottle_at = 0.5\nthrottle_per_minute = 5", "throttle_at", 10,
     "downgrade_at (0.9) must not exceed throttle_at (0.5)"),
    ("alert_at = 0.5\ndowngrade_at = 0.9\nthrottle_at = 0.8\nthrottle_per_minute = 5",
     "throttle_at", 11, "downgrade_at (0.9) must not exceed throttle_at (0.8)"),
])
def test_thresholds_out_of_order_name_the_fields_that_are(thresholds, field, line, words):
    text = BASE.replace("alert_at = 0.5", thresholds)
    with pytest.raises(BudgetError) as info:
        parse_budgets(text, source="b.toml")
    assert f"b.toml:{line}:" in str(info.value) and words in str(info.value)
    with pytest.raises(BudgetError) as info:
        rule_from_mapping(tomllib.loads(text)["budgets"][0])
    assert info.value.key == field and words in str(info.value)


def test_duplicate_ids_and_falling_thresholds_are_rejected():
    with pytest.raises(BudgetError, match="used twice"):
        parse_budgets(BASE + BASE.split("schema_version = 1\n")[1])
    with pytest.raises(BudgetError, match="thresholds must rise"):
        parse_budgets(BASE.replace("alert_at = 0.5", "alert_at = 0.9\ndowngrade_at = 0.5"))
