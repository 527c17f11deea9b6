"""The named scenarios and their sizes."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from router.simulate import SCENARIOS, scenario


def test_a_named_scenario_over_other_days_changes_only_the_days():
    small = scenario("small", days=3)
    assert small.days == 3
    assert asdict(small) | {"days": SCENARIOS["small"].days} == asdict(SCENARIOS["small"])
    assert scenario("small") is SCENARIOS["small"]
    assert scenario() is SCENARIOS["default"]


def test_an_unknown_scenario_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="unknown scenario 'huge' \\(one of default, small\\)"):
        scenario("huge")


def test_the_small_scenario_is_the_default_scaled_down():
    small, default = SCENARIOS["small"], SCENARIOS["default"]
    assert (small.teams, small.agents, small.users_per_team) == (3, 8, 3)
    assert (default.teams, default.agents, default.users_per_team) == (6, 40, 12)
    assert small.calls_per_weekday < default.calls_per_weekday
    assert small.max_anomaly_calls < default.max_anomaly_calls
