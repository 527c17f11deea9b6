"""The simulated organisation drawn for a scenario: its sizes, its determinism, and the agents
the anomalies need."""

from __future__ import annotations

from dataclasses import replace

import pytest

from router.simulate import SCENARIOS
from router.simulate.catalog import Catalog
from router.simulate.population import population, roles


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_population_has_the_scenarios_teams_agents_and_users(name: str, catalog: Catalog):
    sc = SCENARIOS[name]
    org = population(sc, 1, catalog)
    assert len(org.teams) == sc.teams
    assert len(org.agents) == sc.agents
    assert {team: len(users) for team, users in org.users.items()} == \
        dict.fromkeys(org.teams, sc.users_per_team)
    assert [a.index for a in org.agents] == list(range(sc.agents))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_team_has_two_agents_or_more_and_agent_names_are_unique(name: str,
                                                                     catalog: Catalog):
    org = population(SCENARIOS[name], 1, catalog)
    for team in org.teams:
        assert sum(a.team == team for a in org.agents) >= 2, team
    assert len({a.name for a in org.agents}) == len(org.agents)
    for a in org.agents:  # each agent does its team's kind of work, for its team's users
        assert a.task_type in org.themes[a.team] or a is org.drift
        assert a.users == org.users[a.team] and a.tz == org.teams[a.team]


def test_the_same_seed_draws_the_same_population_and_another_seed_another(catalog: Catalog):
    sc = SCENARIOS["small"]
    assert population(sc, 7, catalog) == population(sc, 7, catalog)
    assert population(sc, 7, catalog).agents != population(sc, 8, catalog).agents


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_drifting_agent_routes_every_call_on_one_model_and_never_fails(seed: int,
                                                                           catalog: Catalog):
    sc = SCENARIOS["small"]
    drift = population(sc, seed, catalog).drift
    assert drift.route_share == 1.0 and drift.fail_rate == 0.0
    assert drift.model == drift.secondary and not catalog.models[drift.model].can_reason
    assert drift.tt.output_heavy and drift.calls_per_weekday >= sc.drift_min_calls


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_anomalies_agents_are_three_outside_the_cost_team(seed: int, catalog: Catalog):
    org = population(SCENARIOS["small"], seed, catalog)
    assert len(roles(org)) == 3
    assert org.cost_team not in {org.spike.team, org.drift.team, org.loop.team}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_cost_team_makes_at_least_its_minimum_weekday_calls(name: str, catalog: Catalog):
    sc = SCENARIOS[name]
    org = population(sc, 1, catalog)
    calls = sum(a.calls_per_weekday for a in org.agents if a.team == org.cost_team)
    assert calls >= sc.cost_team_min_calls - 1e-9


def test_a_scenario_with_fewer_than_two_agents_a_team_is_refused(catalog: Catalog):
    with pytest.raises(ValueError, match="at least 2 agents a team"):
        population(replace(SCENARIOS["small"], agents=5), 1, catalog)
    with pytest.raises(ValueError, match="2-10 teams"):
        population(replace(SCENARIOS["small"], teams=11, agents=40), 1, catalog)
