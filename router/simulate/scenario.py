"""The size of the simulated organisation (the scenarios) and of the anomalies injected into it."""

from __future__ import annotations

from dataclasses import dataclass, replace

MAX_DAYS = 34  # ReportUsage accepts occurred_at up to max_backfill_days (35 by default) back

# the anomalies' sizes (targets; the truth records what was reached)
SPIKE_FACTOR = 20.0  # x the agent's busiest usual hour (>= 15x required)
NEW_AGENT_FACTOR = 20.0  # x an average agent's daily spend
COST_RISE_FACTOR = 4.0  # x the agent's usual cost per call (>= 3x required, well below a spike)
COST_RISE_RANGE = (3.4, 5.0)  # acceptable per agent
DRIFT_RANGE = (3.0, 4.0)  # actual / predicted output tokens
MIN_ANOMALY_NANOS = 2_500_000_000  # a spike or a new agent spends at least this (2.50 USD)


@dataclass(frozen=True)
class Scenario:
    """The size of the simulated organisation."""

    name: str
    teams: int
    agents: int
    users_per_team: int
    calls_per_weekday: int  # expected calls of all agents together on a weekday
    days: int = 14
    volume_sigma: float = 1.0  # lognormal spread of the agents' volumes
    min_agent_calls: float = 6.0  # floor of an agent's weekday calls
    review_agents: int = 2  # agents whose tasks sometimes get human review
    retry_loop_calls: tuple[int, int] = (100, 300)
    max_anomaly_calls: int = 3000  # bound on the calls of the spike and of the new agent
    tier_bias: tuple[float, float, float] = (1.0, 1.0, 1.0)  # x the cheap, mid, premium odds
    drift_min_calls: float = 120.0  # weekday calls of the drifting agent, at least
    cost_team_min_calls: float = 150.0  # weekday calls of the cost team, at least


SCENARIOS: dict[str, Scenario] = {
    "default": Scenario("default", teams=6, agents=40, users_per_team=12,
                        calls_per_weekday=3000),
    "small": Scenario("small", teams=3, agents=8, users_per_team=3, calls_per_weekday=50,
                      volume_sigma=0.5, min_agent_calls=10.0, review_agents=1,
                      retry_loop_calls=(100, 140), max_anomaly_calls=600,
                      tier_bias=(0.3, 1.0, 2.0), drift_min_calls=80.0,
                      cost_team_min_calls=100.0),
}


def scenario(name: str = "default", days: int | None = None) -> Scenario:
    """A named scenario, optionally over another number of days."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r} (one of {', '.join(sorted(SCENARIOS))})")
    sc = SCENARIOS[name]
    return sc if days is None else replace(sc, days=days)
