"""What the injectors share: the run (scenario, seed, the history's bounds, the anomalies' day),
the population, the catalog, the driver with everything sent so far, and the measurements they
size and place the anomalies with."""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from router.core.timeunits import DAY_US, HOUR_US
from router.simulate.catalog import Catalog
from router.simulate.driver import Driver, Result, cost_per_call
from router.simulate.population import Agent, Org
from router.simulate.scenario import Scenario
from router.simulate.traffic import Call, Clock, task_calls

Sent = list[tuple[Call, Result]]  # calls with what the server answered
TeamState = tuple[float, float, int]  # median day's cost per call; last day's cost and calls


@dataclass
class Context:
    """The state the injectors share, and the measurements on what the driver has sent."""

    sc: Scenario
    seed: int
    start: int  # the history's first microsecond
    end: int  # the end of the history (exclusive)
    prefix: str  # of the usage ids
    cat: Catalog
    org: Org
    clock: Clock
    driver: Driver
    rng: random.Random  # the anomalies' own draws (the drift's ratios, the retry loop)
    # the cost per call rise, for the injectors after it: the cost team's agents' new model and
    # prompt scale, and their new cost per call
    upgrades: dict[str, tuple[str, float]] = field(default_factory=dict)
    upgraded_cost: dict[str, float] = field(default_factory=dict)

    @property
    def day(self) -> int:
        """The start of the anomalies' day: the last 24 hours of the history."""
        return self.end - DAY_US

    def team_state(self) -> dict[str, TeamState]:
        """Per team: the median cost per call of its earlier days, and its cost and calls in
        the last day so far (everything sent up to now)."""
        days: defaultdict[str, defaultdict[int, list[float]]] = defaultdict(
            lambda: defaultdict(lambda: [0.0, 0.0]))
        last: defaultdict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for c, r in self.driver.sent:
            if not r.recorded:
                continue
            row = last[c.agent.team] if c.t_us >= self.day else \
                days[c.agent.team][(self.day - 1 - c.t_us) // DAY_US]
            row[0] += r.cost
            row[1] += 1
        out = {}
        for team in self.org.teams:
            per_day = [cost / n for cost, n in days[team].values() if n]
            cost, n = last[team]
            out[team] = (statistics.median(per_day) if per_day else 0.0, cost, int(n))
        return out

    def busiest_hour(self, agent: Agent, mine: Sent) -> float:
        """The agent's mean spend in its busiest local hour of the day (weekdays if any)."""
        spend: defaultdict[tuple[int, int], float] = defaultdict(float)
        days: dict[int, int] = {}
        for c, r in mine:
            hour, _, day = self.clock.at(agent.team, c.t_us)
            spend[(day, hour)] += r.cost
        for i in range(self.clock.hours):
            t = self.clock.first + i * HOUR_US
            if self.start <= t < self.day:
                _, weekday, day = self.clock.local[agent.team][i]
                days[day] = weekday
        weekdays = [day for day, wd in days.items() if wd < 5] or list(days)
        if not weekdays:
            return cost_per_call([r for _, r in mine])
        best = max(sum(spend[(day, h)] for day in weekdays) / len(weekdays) for h in range(24))
        return best or cost_per_call([r for _, r in mine])

    def tasks(self, agent: Agent, lo: int, hi: int, *, limit: int, kind: str
              ) -> list[list[Call]]:
        """Ordinary tasks of ``agent`` starting in [lo, hi), up to ``limit`` calls."""
        rng = random.Random(f"{kind}:{self.sc.name}:{self.seed}")
        tasks: list[list[Call]] = []
        n = 0
        while n < limit:
            t0 = lo + rng.randrange(max(1, hi - lo))
            task = task_calls(rng, self.cat, agent, t0, agent.next_task_id(self.seed))
            for call in task:
                call.t_us = min(call.t_us, self.end - 1)
                call.usage_id = f"{self.prefix}-{kind}-{n:05d}"
                n += 1
            tasks.append(task)
        return tasks


def mix_ratio(state: TeamState, calls: float, cost: float) -> float:
    """A team's cost per call over the last day, with ``calls`` more costing ``cost``, as a
    multiple of its median day's."""
    median, last_cost, last_calls = state
    if not median:
        return math.inf
    return (last_cost + cost) / max(1.0, last_calls + calls) / median
