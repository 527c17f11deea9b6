"""Ordinary traffic: the daily profile, the teams' local clocks, one task's calls, and an agent's
calls over the history."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from router import v1 as pb
from router.core.timeunits import DAY_US, HOUR_US, MINUTE_US, SECOND_US
from router.simulate import SCENARIOS
from router.simulate.catalog import Catalog
from router.simulate.population import Org, population
from router.simulate.traffic import Call, Clock, floor_hour, profile, task_calls, traffic


def _us(year: int, month: int, day: int, hour: int = 0) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp()) * SECOND_US


END = _us(2026, 11, 30)  # a Monday, 00:00 UTC


def test_the_daily_profile_is_flat_in_business_hours_with_a_lunch_dip_and_quiet_nights():
    assert [profile(h) for h in range(9, 18)] == [1.0, 1.0, 1.0, 0.85, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert all(profile(h) == 0.12 for h in (23, 0, 1, 2, 3, 4, 5, 6))
    # the shoulders rise into the morning and fall off in the evening
    assert profile(6) < profile(7) < profile(8) < profile(9)
    assert profile(17) > profile(18) > profile(19) > profile(20) > profile(21) > profile(22)
    assert profile(22) > profile(23)


def test_the_clock_gives_each_team_its_local_hour_weekday_and_date():
    first = _us(2026, 10, 31, 22)  # Saturday 22:00 UTC, the night New York leaves summer time
    clock = Clock({"tokyo": "Asia/Tokyo", "ny": "America/New_York"}, first, 12)
    saturday = datetime(2026, 10, 31).toordinal()
    assert clock.at("tokyo", first) == (7, 6, saturday + 1)  # Sunday 07:00 JST
    assert clock.at("ny", first) == (18, 5, saturday)  # Saturday 18:00 EDT
    # 05:00 and 06:00 UTC are both 01:00 in New York (the hour repeats), then 02:00
    hours = [clock.at("ny", first + i * HOUR_US)[0] for i in range(7, 10)]
    assert hours == [1, 1, 2]
    # within an hour it is that hour; outside the history, its first or last hour
    assert clock.at("ny", first + 59 * MINUTE_US) == clock.at("ny", first)
    assert clock.at("ny", first - DAY_US) == clock.at("ny", first)
    assert clock.at("ny", first + DAY_US) == clock.at("ny", first + 11 * HOUR_US)


def test_floor_hour_is_the_start_of_the_utc_hour():
    assert floor_hour(END + 59 * MINUTE_US + 7) == END
    assert floor_hour(END) == END
    assert floor_hour(END - 1) == END - HOUR_US


def test_a_task_makes_one_to_six_steps_each_retried_until_it_succeeds(catalog: Catalog):
    org = population(SCENARIOS["small"], 1, catalog)
    rng = random.Random(0)
    steps: Counter[int] = Counter()
    for agent in org.agents:
        for _ in range(100):
            task_id = agent.next_task_id(1)
            calls = task_calls(rng, catalog, agent, END, task_id)
            assert {(c.task_id, c.model, c.user, c.agent.name) for c in calls} == \
                {(task_id, calls[0].model, calls[0].user, agent.name)}
            assert calls[0].model in (agent.model, agent.secondary)
            assert [c.t_us for c in calls] == sorted(c.t_us for c in calls)
            assert calls[0].t_us == END
            assert calls[-1].outcome == pb.OUTCOME_SUCCESS
            failed = 0  # at most two failed attempts before each step succeeds
            for c in calls:
                if c.outcome == pb.OUTCOME_SUCCESS:
                    failed = 0
                else:
                    failed += 1
                    assert failed <= 2 and c.output < 100 and not c.route
            steps[sum(c.outcome == pb.OUTCOME_SUCCESS for c in calls)] += 1
    assert set(steps) == {1, 2, 3, 4, 5, 6}
    assert steps[1] > steps[3] > steps[6]  # mostly short tasks


def test_a_failing_step_is_retried_at_most_twice_mostly_as_transient(catalog: Catalog):
    agent = replace(population(SCENARIOS["small"], 1, catalog).agents[0], fail_rate=0.9)
    rng = random.Random(0)
    runs: Counter[int] = Counter()  # failed attempts before a step's success
    outcomes: Counter[int] = Counter()
    for _ in range(200):
        failed = 0
        for c in task_calls(rng, catalog, agent, END, agent.next_task_id(1)):
            if c.outcome == pb.OUTCOME_SUCCESS:
                runs[failed] += 1
                failed = 0
            else:
                failed += 1
                outcomes[c.outcome] += 1
    assert set(runs) == {0, 1, 2}  # never a third failed attempt
    assert 0.6 < outcomes[pb.OUTCOME_RETRY] / sum(outcomes.values()) < 0.8


def _history(catalog: Catalog, seed: int, days: int = 14) -> tuple[Org, Clock, list[Call]]:
    sc = SCENARIOS["small"]
    org = population(sc, seed, catalog)
    start = END - days * DAY_US
    clock = Clock(org.teams, start, days * 24 + 2)
    return org, clock, traffic(catalog, org, clock, seed, start, END)


def test_the_same_seed_sends_the_same_traffic_inside_the_history(catalog: Catalog):
    _, _, calls = _history(catalog, 3)
    _, _, again = _history(catalog, 3)
    assert [(c.t_us, c.task_id, c.model, c.input, c.output, c.outcome) for c in calls] == \
        [(c.t_us, c.task_id, c.model, c.input, c.output, c.outcome) for c in again]
    assert all(END - 14 * DAY_US <= c.t_us < END for c in calls)
    _, _, other = _history(catalog, 4)
    assert [c.t_us for c in other] != [c.t_us for c in calls]


@pytest.mark.parametrize("seed", [1, 2])
def test_tasks_arrive_mostly_in_local_business_hours_and_half_as_often_at_weekends(
        seed: int, catalog: Catalog):
    _, clock, calls = _history(catalog, seed)
    first_calls: dict[str, Call] = {}
    for c in calls:
        first_calls.setdefault(c.task_id, c)
    local = [clock.at(c.agent.team, c.t_us) for c in first_calls.values()]
    business = sum(9 <= hour < 18 for hour, _, _ in local) / len(local)
    assert business > 0.6
    days = Counter(day for _, _, day in local)
    weekday = {day: wd for _, wd, day in local}
    weekdays = [n for day, n in days.items() if weekday[day] < 5]
    weekends = [n for day, n in days.items() if weekday[day] >= 5]
    ratio = (sum(weekends) / len(weekends)) / (sum(weekdays) / len(weekdays))
    assert 0.35 < ratio < 0.65, ratio


def test_an_agents_volume_follows_its_calls_per_weekday(catalog: Catalog):
    org, _, calls = _history(catalog, 1)
    per_agent = Counter(c.agent.index for c in calls)
    for agent in org.agents:  # 14 days: ten weekdays and four weekend days at half
        expected = agent.calls_per_weekday * (10 + 4 * 0.5)
        assert 0.75 * expected < per_agent[agent.index] < 1.25 * expected, agent.name
