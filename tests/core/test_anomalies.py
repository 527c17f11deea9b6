"""Spend anomaly detectors: each fires on an injected incident and stays quiet on normal traffic."""

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from router.core.anomalies import (
    DAY_US,
    HOUR_US,
    Anomaly,
    DetectorConfig,
    HourBucket,
    Kind,
    Series,
    TaskCount,
    cost_per_call_rise,
    detect,
    floor_hour,
    grow,
    incidents,
    new_agent_spend,
    prediction_drift,
    retry_loops,
    same_incident,
    spend_spikes,
)

UNIT = 1_000_000_000  # nanos


def us(year, month, day, hour=0, minute=0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()) * 1_000_000


NOW = us(2026, 3, 11, 10, 20)  # a Wednesday; the last complete hour is 09:00-10:00
END = floor_hour(NOW)


def hour_of_day(h: int) -> int:
    return h // HOUR_US % 24


def is_weekend(h: int) -> bool:
    return datetime.fromtimestamp(h / 1e6, UTC).weekday() >= 5


def series(agent, cost_at, *, team="t", first_seen=None, end=END, days=14, with_current=False):
    """Hourly buckets from first_seen (default: before the history) up to ``end``; ``cost_at``
    returns a cost, a bucket, or 0/None for an idle hour (left out, as the store would)."""
    first = end - days * DAY_US if first_seen is None else first_seen
    hours = range(max(floor_hour(first), end - days * DAY_US), end + (HOUR_US if with_current
                                                                     else 0), HOUR_US)
    buckets = []
    for h in hours:
        got = cost_at(h)
        if isinstance(got, HourBucket):
            buckets.append(got)
        elif got:
            buckets.append(HourBucket(h, calls=10, cost=int(got)))
    return Series(team, "" if agent is None else agent,
                  first - 30 * DAY_US if first_seen is None else first, tuple(buckets))


# --- SPEND_SPIKE ----------------------------------------------------------------------------

def test_a_spike_in_the_last_hour_fires_against_the_agents_own_baseline():
    agent = series("busy", lambda h: UNIT // 2 if h < END - HOUR_US else 20 * UNIT)
    [spike] = spend_spikes(NOW, [agent])
    assert (spike.kind, spike.team, spike.agent, spike.task_id) == (Kind.SPEND_SPIKE, "t",
                                                                    "busy", "")
    assert (spike.window_start_us, spike.window_end_us) == (END - HOUR_US, END)
    assert spike.observed == 20 * UNIT
    assert spike.baseline == pytest.approx(UNIT / 2)
    assert spike.evidence["window_hours"] == 1
    assert "20.00" in spike.message and "0.5" in spike.message


def test_a_day_long_runaway_fires_once_in_each_window():
    agent = series("runaway", lambda h: UNIT // 2 if h < END - DAY_US else 15 * UNIT // 2)
    spikes = spend_spikes(NOW, [agent])
    assert [(s.window_start_us, s.evidence["window_hours"]) for s in spikes] == [
        (END - DAY_US, 24), (END - HOUR_US, 1)]
    assert spikes[0].observed == pytest.approx(24 * 7.5 * UNIT)
    assert spikes[0].baseline == pytest.approx(12 * UNIT)


def test_a_day_of_small_hours_fires_only_in_the_24h_window():
    # 0.3/h is under the 1-unit floor for an hour, but 7.2 over a day is 15x the usual 0.48
    agent = series("creep", lambda h: 0.02 * UNIT if h < END - DAY_US else 0.3 * UNIT)
    [spike] = spend_spikes(NOW, [agent])
    assert spike.evidence["window_hours"] == 24
    assert spike.observed == pytest.approx(7.2 * UNIT)


def test_a_daily_nine_oclock_peak_is_compared_with_earlier_nine_oclocks():
    def peaky(h):
        return 5 * UNIT if hour_of_day(h) == 9 else UNIT

    def peaky_then_spike(h):
        return 60 * UNIT if h == END - HOUR_US else peaky(h)

    assert spend_spikes(NOW, [series("peaky", peaky)]) == []
    [spike] = spend_spikes(NOW, [series("spiky", peaky_then_spike)])
    assert spike.baseline == pytest.approx(5 * UNIT)  # not the night's 1
    assert spike.observed == 60 * UNIT


@pytest.mark.parametrize("now", [us(2026, 3, 14, 10, 20), us(2026, 3, 15, 10, 20),
                                 us(2026, 3, 16, 10, 20)], ids=["sat", "sun", "mon"])
def test_a_weekend_batch_agent_is_quiet_through_the_weekend(now):
    def weekend_heavy(h):
        return 10 * UNIT if is_weekend(h) else UNIT // 2

    end = floor_hour(now)
    young = series("young", weekend_heavy, end=end, first_seen=end - 10 * DAY_US)
    old = series("old", weekend_heavy, end=end)
    assert spend_spikes(now, [young, old]) == []


def test_a_weekday_agent_is_judged_on_saturday_against_its_weekends():
    # 5 units is only 2.5x a weekday hour, but 25x this agent's usual weekend hour
    now = us(2026, 3, 14, 10, 20)
    end = floor_hour(now)

    def weekdays(h):
        return 5 * UNIT if h == end - HOUR_US else UNIT // 5 if is_weekend(h) else 2 * UNIT

    [spike] = spend_spikes(now, [series("office", weekdays, end=end)])
    assert spike.baseline == pytest.approx(UNIT / 5)
    assert spike.evidence["baseline_method"] == "same hour, same kind of day"


def test_a_small_agent_below_the_spend_floor_stays_quiet():
    tiny = series("tiny", lambda h: 1 if h < END - DAY_US else 10)  # 10x, but in nanos
    assert spend_spikes(NOW, [tiny]) == []


def test_a_sparse_agents_ordinary_busy_hour_is_not_a_spike_against_zero():
    # busy one hour in five at 3 units: the median 09:00 is idle, the typical busy hour is 3
    def sparse(h):
        return 3 * UNIT if h // HOUR_US % 5 == 0 or h == END - HOUR_US else 0

    assert spend_spikes(NOW, [series("sparse", sparse)]) == []


def test_a_young_agent_is_not_judged_on_too_little_history():
    agent = series("young", lambda h: UNIT // 2 if h < END - HOUR_US else 50 * UNIT,
                   first_seen=END - 2 * DAY_US)
    assert spend_spikes(NOW, [agent]) == []


# --- NEW_AGENT_SPEND ------------------------------------------------------------------------

def _earlier_new_agents(first_day_units=(1.0, 1.5, 2.0, 2.5, 3.0)):
    """Agents first seen 3..7 days ago, spending ``units`` over their first day, little after."""
    agents = []
    for i, units in enumerate(first_day_units):
        first = END - (3 + i) * DAY_US - 7 * HOUR_US

        def cost(h, first=first, units=units):
            return units * UNIT / 24 if h < first + DAY_US else UNIT // 100

        agents.append(series(f"ref{i}", cost, first_seen=first))
    return agents


def _new_agent(units_per_hour, hours=5):
    first = NOW - hours * HOUR_US
    return series("newbie", lambda h: units_per_hour * UNIT, first_seen=first, with_current=True)


def test_a_new_agent_spending_far_above_earlier_new_agents_fires():
    [found] = new_agent_spend(NOW, [*_earlier_new_agents(), _new_agent(10)])
    assert (found.kind, found.agent, found.window_start_us) == (Kind.NEW_AGENT_SPEND, "newbie",
                                                                NOW - 5 * HOUR_US)
    assert found.window_end_us == NOW
    assert found.observed == pytest.approx(60 * UNIT)  # 5 complete hours + the current one
    assert found.baseline == pytest.approx(2.8 * UNIT)  # p90 of 1, 1.5, 2, 2.5, 3
    assert found.evidence["reference_agents"] == 5


def test_a_new_agent_spending_like_other_new_agents_is_quiet():
    assert new_agent_spend(NOW, [*_earlier_new_agents(), _new_agent(0.5)]) == []


def test_with_few_reference_agents_a_ceiling_or_the_median_agents_day_is_used():
    refs = _earlier_new_agents((2.0,))
    established = series("steady", lambda h: UNIT // 10)  # 2.4 a day
    agents = [*refs, established, _new_agent(5)]  # 30 since first seen
    [by_median] = new_agent_spend(NOW, agents)
    # median of the two established agents' daily spend: steady 2.4, ref0 2.55 over 79 hours
    assert by_median.baseline == pytest.approx((2.4 + 2.55 / (79 / 24)) / 2 * UNIT)
    assert "median daily spend" in by_median.evidence["baseline_method"]
    ceiling = DetectorConfig(new_agent_ceiling_nanos=50 * UNIT)
    assert new_agent_spend(NOW, agents, ceiling) == []
    [by_ceiling] = new_agent_spend(NOW, agents, DetectorConfig(new_agent_ceiling_nanos=20 * UNIT))
    assert by_ceiling.baseline == 20 * UNIT


# --- COST_PER_CALL_RISE ---------------------------------------------------------------------

def team(calls_before, cpc_before, calls_now, cpc_now, name="search"):
    def bucket(h):
        calls, cpc = (calls_before, cpc_before) if h < END - DAY_US else (calls_now, cpc_now)
        return HourBucket(h, calls=calls, cost=int(calls * cpc))

    return series(None, bucket, team=name)


def test_a_team_paying_more_per_call_fires():
    [rise] = cost_per_call_rise(NOW, [team(50, 0.01 * UNIT, 55, 0.03 * UNIT)])
    assert (rise.kind, rise.team, rise.agent, rise.task_id) == (Kind.COST_PER_CALL_RISE,
                                                                "search", "", "")
    assert (rise.window_start_us, rise.window_end_us) == (END - DAY_US, END)
    assert rise.observed == pytest.approx(0.03 * UNIT)
    assert rise.baseline == pytest.approx(0.01 * UNIT)
    assert rise.evidence["ratio"] == pytest.approx(3.0)


def test_a_team_whose_cost_grows_with_its_calls_is_quiet():
    assert cost_per_call_rise(NOW, [team(50, 0.01 * UNIT, 150, 0.01 * UNIT)]) == []


def test_dearer_calls_on_a_shrinking_bill_are_quiet():
    # a quarter of the calls at twice the price: cost per call doubled, the bill halved
    assert cost_per_call_rise(NOW, [team(200, 0.01 * UNIT, 50, 0.02 * UNIT)]) == []


def member(agent, calls_before, cpc_before, calls_now, cpc_now, name="ops", first_seen=None):
    """An agent of team ``name``: calls per hour and cost per call before and in the last day
    (0 calls before: an agent first seen in the last day)."""
    def bucket(h):
        calls, cpc = (calls_before, cpc_before) if h < END - DAY_US else (calls_now, cpc_now)
        return HourBucket(h, calls=calls, cost=int(calls * cpc)) if calls else None

    return series(agent, bucket, team=name, first_seen=first_seen)


def team_of(agents, name="ops"):
    """The team's series as the store gives it: its agents' hours summed."""
    hours: dict[int, list[int]] = {}
    for s in agents:
        for b in s.buckets:
            calls, cost = hours.setdefault(b.hour_us, [0, 0])
            hours[b.hour_us] = [calls + b.calls, cost + b.cost]
    return Series(name, "", min(s.first_seen_us for s in agents),
                  tuple(HourBucket(h, calls=c, cost=v) for h, (c, v) in sorted(hours.items())))


def _rises(agents):
    return [a for a in detect(NOW, agents, [team_of(agents)], [])
            if a.kind is Kind.COST_PER_CALL_RISE]


def test_a_new_agents_burst_does_not_make_its_team_dearer_per_call():
    # a cheap agent and a dearer one as usual; a new deployment makes 20 calls an hour at
    # 0.04: the team's cost per call is 2.5x its usual 0.0133, but no call got dearer
    # (the burst is the new agent's own anomaly, NEW_AGENT_SPEND)
    agents = [member("cheap", 5, 0.01 * UNIT, 5, 0.01 * UNIT),
              member("dear", 1, 0.03 * UNIT, 1, 0.03 * UNIT),
              member("dear-v2", 0, 0, 20, 0.04 * UNIT, first_seen=END - 20 * HOUR_US)]
    assert _rises(agents) == []


def test_an_established_agents_burst_at_its_usual_price_is_not_a_rise():
    # the dear agent makes 40x its calls at its usual price: the team's cost per call is 2.1x,
    # but that is a spend spike, not dearer calls
    agents = [member("cheap", 5, 0.01 * UNIT, 5, 0.01 * UNIT),
              member("dear", 1, 0.03 * UNIT, 40, 0.03 * UNIT)]
    assert _rises(agents) == []


def test_a_rise_across_established_agents_still_fires_beside_a_new_agent():
    agents = [member("cheap", 5, 0.01 * UNIT, 5, 0.03 * UNIT),
              member("dear", 1, 0.03 * UNIT, 1, 0.09 * UNIT),
              member("dear-v2", 0, 0, 20, 0.05 * UNIT, first_seen=END - 20 * HOUR_US)]
    [rise] = _rises(agents)
    assert (rise.team, rise.agent) == ("ops", "")
    # judged on the established agents' calls: 0.24 for 6 calls an hour, 3x their usual prices
    assert rise.observed == pytest.approx(0.04 * UNIT)
    assert rise.baseline == pytest.approx(0.08 / 6 * UNIT)
    assert rise.evidence["ratio"] == pytest.approx(3.0)
    assert rise.evidence["unjudged_calls"] == 20 * 20  # the new agent's 20 hours, left out
    [alone] = cost_per_call_rise(NOW, [team_of(agents)], agents=agents)
    assert alone == rise


# --- RETRY_LOOP -----------------------------------------------------------------------------

def task(task_id, calls, failures=0, task_type="summarize"):
    return TaskCount(task_id, task_type, "t", "a", calls, failures, END - 3 * HOUR_US,
                     END - HOUR_US)


def _ordinary(n=20, task_type="summarize", low=3, high=6):
    return [task(f"{task_type}-{i}", low + i % (high - low + 1), task_type=task_type)
            for i in range(n)]


def test_a_task_with_far_more_calls_than_its_type_fires():
    [loop] = retry_loops(NOW, [*_ordinary(), task("stuck", 80)])
    assert (loop.kind, loop.team, loop.agent, loop.task_id) == (Kind.RETRY_LOOP, "t", "a",
                                                                "stuck")
    assert (loop.window_start_us, loop.window_end_us) == (END - 3 * HOUR_US, END - HOUR_US + 1)
    assert loop.observed == 80 and loop.baseline == pytest.approx(5.0)
    assert loop.evidence["metric"] == "calls"


def test_a_task_failing_far_more_than_its_type_fires_on_failures():
    [loop] = retry_loops(NOW, [*_ordinary(), task("failing", 15, failures=12)])
    assert loop.task_id == "failing" and loop.evidence["metric"] == "failures"
    assert loop.observed == 12


def test_a_task_type_whose_tasks_all_take_many_calls_is_quiet():
    assert retry_loops(NOW, _ordinary(20, "research", low=40, high=60)) == []


def test_a_rare_task_type_uses_the_absolute_floor():
    rare = [task("big", 150, task_type="migrate"), task("fine", 60, task_type="migrate")]
    [loop] = retry_loops(NOW, rare)
    assert loop.task_id == "big" and loop.baseline == 100
    assert loop.evidence["baseline_method"].startswith("absolute floor")


# --- PREDICTION_DRIFT -----------------------------------------------------------------------

def predicted(agent, ratio_at, *, calls=10, hours_used=None):
    """10 predicted calls an hour, 1 unit predicted, actual = ratio_at(h) units."""
    def bucket(h):
        if hours_used is not None and hour_of_day(h) not in hours_used:
            return None
        actual = int(ratio_at(h) * UNIT)
        return HourBucket(h, calls=calls, cost=actual, predicted_cost=UNIT,
                          predicted_calls=calls, actual_of_predicted=actual)

    return series(agent, bucket)


def test_an_agent_costing_twice_its_prediction_all_day_fires():
    agent = predicted("drifty", lambda h: 1.0 if h < END - DAY_US else 2.0)
    [drift] = prediction_drift(NOW, [agent])
    assert (drift.kind, drift.agent, drift.window_start_us) == (Kind.PREDICTION_DRIFT,
                                                                "drifty", END - DAY_US)
    assert drift.observed == pytest.approx(2.0) and drift.baseline == 1.0
    assert drift.evidence["hours_over"] == 24 and drift.evidence["chronic"] is False


def test_chronic_drift_that_is_already_known_still_fires():
    [drift] = prediction_drift(NOW, [predicted("chronic", lambda h: 1.6)])
    assert drift.observed == pytest.approx(1.6)
    assert drift.evidence["history_ratio"] == pytest.approx(1.6)
    assert drift.evidence["chronic"] is True


def test_one_noisy_hour_of_actual_over_predicted_is_quiet():
    # 23 hours on prediction, one at 20x: the day totals 1.8x, but it is one hour
    agent = predicted("noisy", lambda h: 20.0 if h == END - 5 * HOUR_US else 1.0)
    assert prediction_drift(NOW, [agent]) == []


def test_too_few_predicted_calls_are_quiet():
    # 3x in every hour it is used, but 10 predicted calls a day are not enough to judge
    rare = predicted("rare", lambda h: 3.0, calls=1, hours_used=set(range(10)))
    assert prediction_drift(NOW, [rare]) == []


def test_two_hours_a_day_fire_only_when_the_agents_history_shows_the_same_drift():
    chronic = predicted("chronic", lambda h: 2.0, hours_used={9, 14})
    fresh = predicted("fresh", lambda h: 1.0 if h < END - DAY_US else 2.0, hours_used={9, 14})
    assert [d.agent for d in prediction_drift(NOW, [chronic, fresh])] == ["chronic"]


# --- all together ---------------------------------------------------------------------------

def _fleet(rng: np.random.Generator, n=30):
    """Ordinary agents: a weekday 09:00-17:00 peak, quiet weekends, noisy hours, predictions
    about right."""
    agents = []
    for i in range(n):
        level = UNIT * (0.2 + i / 10)
        noise = rng.lognormal(0.0, 0.3, size=14 * 24 + 1)

        def bucket(h, level=level, noise=noise):
            season = 5.0 if 9 <= hour_of_day(h) < 17 else 1.0
            cost = int(level * season * (0.3 if is_weekend(h) else 1.0)
                       * noise[(h - END) // HOUR_US])
            return HourBucket(h, calls=20, cost=cost, predicted_cost=int(cost / 1.1),
                              predicted_calls=20, actual_of_predicted=cost)

        agents.append(series(f"ok{i:02d}", bucket))
    return agents


def _incidents():
    spike = series("spiky", lambda h: UNIT if h < END - HOUR_US else 30 * UNIT, team="ml")
    drifty = predicted("drifty", lambda h: 1.0 if h < END - DAY_US else 2.5)
    return [spike, drifty, *_earlier_new_agents(), _new_agent(10)]


def test_detect_runs_all_five_detectors_and_stays_quiet_on_the_rest():
    rng = np.random.default_rng(7)
    agents = [*_fleet(rng), *_incidents()]
    teams = [team(50, 0.01 * UNIT, 50, 0.01 * UNIT, "steady"),
             team(50, 0.01 * UNIT, 55, 0.03 * UNIT, "search")]
    tasks = [*_ordinary(), *_ordinary(20, "research", 40, 60), task("stuck", 80)]
    found = detect(NOW, agents, teams, tasks)
    assert [(a.kind, a.team, a.agent, a.task_id) for a in found] == [
        (Kind.SPEND_SPIKE, "ml", "spiky", ""),
        (Kind.NEW_AGENT_SPEND, "t", "newbie", ""),
        (Kind.COST_PER_CALL_RISE, "search", "", ""),
        (Kind.RETRY_LOOP, "t", "a", "stuck"),
        (Kind.PREDICTION_DRIFT, "t", "drifty", ""),
    ]
    for anomaly in found:
        json.dumps(dict(anomaly.evidence), allow_nan=False)
        assert anomaly.message and anomaly.window_start_us < anomaly.window_end_us
    # a later run in the same hour finds the same incidents under the same keys
    later = detect(NOW + 30 * 60 * 1_000_000, agents, teams, tasks)
    assert [a.key() for a in later] == [a.key() for a in found]


def test_detect_on_nothing_finds_nothing():
    assert detect(NOW, [], [], []) == []


def test_anomaly_key_is_stable_and_unambiguous():
    def anomaly(agent="a/b", start=END):
        return Anomaly(Kind.SPEND_SPIKE, "t", agent, "", start, start + HOUR_US, 1.0, 0.1, "m",
                       {"k": 10.0})

    assert anomaly().key() == anomaly().key() == f"spend_spike/t/a%2Fb//{END}"
    assert anomaly(agent="a").key() != anomaly(agent="a/").key()
    assert anomaly(start=END + HOUR_US).key() != anomaly().key()
    assert len({anomaly(), anomaly()}) == 1  # hashable despite the evidence mapping


def _seen(end, hours=24, observed=2.0, agent="a", kind=Kind.PREDICTION_DRIFT):
    return Anomaly(kind, "t", agent, "", end - hours * HOUR_US, end, observed, 1.0,
                   f"{observed} to {end}", {"end": end})


def test_detections_of_one_incident_in_sliding_windows_are_one_anomaly():
    # the 24 h to 09:00 and to 10:00, and a 1 h window ending 10:00: one incident
    [one] = incidents([_seen(END, observed=2.5), _seen(END - HOUR_US, observed=2.2),
                       _seen(END, hours=1, observed=9.0)])
    assert (one.window_start_us, one.window_end_us) == (END - 25 * HOUR_US, END)
    assert one.observed == 9.0 and one.message == f"9.0 to {END}"  # the latest, most specific
    assert one.key() == _seen(END - HOUR_US).key()  # named after its earliest start


def test_windows_with_a_gap_or_other_subjects_are_other_incidents():
    found = incidents([_seen(END, hours=1), _seen(END - 2 * HOUR_US, hours=1),
                       _seen(END, hours=1, agent="b"),
                       _seen(END, hours=1, kind=Kind.SPEND_SPIKE)])
    assert [(a.kind, a.agent, a.window_end_us) for a in found] == [
        (Kind.SPEND_SPIKE, "a", END), (Kind.PREDICTION_DRIFT, "a", END - 2 * HOUR_US),
        (Kind.PREDICTION_DRIFT, "a", END), (Kind.PREDICTION_DRIFT, "b", END)]
    assert same_incident(_seen(END, hours=1), _seen(END + HOUR_US, hours=1))  # they meet


def test_growing_keeps_the_incidents_start_and_key_and_takes_the_latest_values():
    stored = _seen(END, hours=1, observed=3.0)
    grown = grow(stored, _seen(END + HOUR_US, observed=2.0))  # a later, longer window
    assert grown.key() == stored.key() and grown.window_start_us == stored.window_start_us
    assert (grown.window_end_us, grown.observed) == (END + HOUR_US, 2.0)
    assert grow(grown, _seen(END, observed=1.0)) == grown  # an older window changes nothing


@pytest.mark.parametrize("bad", [{"spike_k": 0}, {"history_days": 1}, {"retry_min_tasks": 0},
                                 {"new_agent_quantile": 1.5}])
def test_bad_thresholds_are_refused(bad):
    with pytest.raises(ValueError):
        DetectorConfig(**bad)
