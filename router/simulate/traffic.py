"""Ordinary traffic: the calls of one task, the business-hours profile of task arrivals in each
team's local time, and every agent's calls over the history."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from router import v1 as pb
from router.core.timeunits import HOUR_US, SECOND_US
from router.simulate.catalog import Catalog
from router.simulate.draws import clip
from router.simulate.population import Agent, Org
from router.simulate.task_types import STEP_WEIGHTS, STEPS, describe


def profile(hour: int) -> float:
    """Relative task arrivals by local hour: business hours peak, quiet nights."""
    if 9 <= hour < 18:
        return 0.85 if hour == 12 else 1.0
    return {7: 0.35, 8: 0.7, 18: 0.6, 19: 0.35, 20: 0.3, 21: 0.2, 22: 0.15}.get(hour, 0.12)


DAY_WEIGHT = sum(profile(h) for h in range(24))
WEEKEND = 0.5  # x a weekday's arrivals


@dataclass(slots=True)
class Call:
    t_us: int
    agent: Agent
    task_id: str
    user: str
    model: str
    description: str
    input: int
    cached: int
    output: int
    reasoning: int
    tools: tuple[tuple[str, int], ...]
    cpu: float
    gpu: float
    review: float
    outcome: pb.Outcome
    latency_ms: int
    route: bool
    usage_id: str = ""
    drift: float = 0.0  # > 0: output = this x the decision's predicted output tokens


def task_calls(rng: random.Random, cat: Catalog, agent: Agent, t0: int, task_id: str,
               *, model: str | None = None, steps: int | None = None) -> list[Call]:
    """The calls of one task: 1-6 steps, a failed attempt now and then (retried)."""
    tt = agent.tt
    if model is None:
        model = agent.model if rng.random() < 0.85 else agent.secondary
    spec = cat.models[model]
    n = steps or rng.choices(range(1, 7), STEP_WEIGHTS)[0]
    base = describe(rng, tt)
    user = rng.choice(agent.users)
    in_med = tt.input_tokens * agent.input_scale
    out_med = tt.output_tokens * agent.output_scale
    calls: list[Call] = []
    t = t0
    for step in range(n):
        total_in = round(in_med * clip(rng.lognormvariate(0, 0.5), 0.3, 3.0)
                         * (1 + 0.1 * step))
        cached = round(total_in * agent.cache_share * rng.uniform(0.7, 1.0)) if step else 0
        out = max(1, round(out_med * clip(rng.lognormvariate(0, 0.4), 0.35, 2.5)))
        reasoning = round(out * rng.uniform(0.1, 0.4)) if tt.reasoning and spec.can_reason \
            else 0
        tools = tuple((name, rng.randint(1, most)) for name, share, most in tt.tools
                      if rng.random() < share)
        computes = rng.random() < tt.compute_share
        cpu = round(tt.cpu_seconds * rng.lognormvariate(0, 0.4), 2) if computes else 0.0
        gpu = round(tt.gpu_seconds * rng.lognormvariate(0, 0.4), 2) if computes else 0.0
        description = base if n == 1 else f"{base} Step {step + 1} of {n}: {STEPS[step]}."
        attempts = 0
        while agent.fail_rate and rng.random() < agent.fail_rate and attempts < 2:
            attempts += 1  # a failed attempt, retried at once against the same model
            latency = rng.randint(1500, 30000)
            # mostly transient (rate limited, overloaded: RETRY), sometimes an error (FAILURE)
            outcome = pb.OUTCOME_RETRY if rng.random() < 0.7 else pb.OUTCOME_FAILURE
            calls.append(Call(t, agent, task_id, user, model, description, total_in - cached,
                              cached, rng.randint(5, 60), 0, (), 0.0, 0.0, 0.0, outcome,
                              latency, False))
            t += latency * 1000 + rng.randint(200_000, 3_000_000)
        latency = round(300 + (out + reasoning) * rng.uniform(8, 25))
        review = 0.0
        if step == n - 1 and rng.random() < agent.review_share:
            review = round(clip(rng.lognormvariate(math.log(15), 0.35), 5, 60), 1)
        calls.append(Call(t, agent, task_id, user, model, description, total_in - cached,
                          cached, out, reasoning, tools, cpu, gpu, review, pb.OUTCOME_SUCCESS,
                          latency, rng.random() < agent.route_share))
        t += latency * 1000 + rng.randint(500_000, 20_000_000)
    return calls


class Clock:
    """Local hour and weekday of every hour of the history, per team."""

    def __init__(self, teams: dict[str, str], first_hour_us: int, hours: int) -> None:
        self.first = first_hour_us
        self.hours = hours
        self.local: dict[str, list[tuple[int, int, int]]] = {}
        for team, tz in teams.items():
            zone = ZoneInfo(tz)
            rows = []
            for i in range(hours):
                d = datetime.fromtimestamp((first_hour_us + i * HOUR_US) / SECOND_US, UTC)
                d = d.astimezone(zone)
                rows.append((d.hour, d.weekday(), d.toordinal()))
            self.local[team] = rows

    def at(self, team: str, t_us: int) -> tuple[int, int, int]:
        """(local hour, weekday, local date ordinal) of ``t_us``."""
        i = (t_us - self.first) // HOUR_US
        return self.local[team][min(max(i, 0), self.hours - 1)]


def traffic(cat: Catalog, org: Org, clock: Clock, seed: int, start_us: int,
            end_us: int) -> list[Call]:
    """Ordinary traffic of every agent over the history, in generation order."""
    calls: list[Call] = []
    for agent in org.agents:
        rng = random.Random(f"traffic:{seed}:{agent.index}")
        tasks_per_weekday = agent.calls_per_weekday / mean_calls(agent)
        day_factor: dict[int, float] = {}
        for i in range(clock.hours):
            hour_us = clock.first + i * HOUR_US
            local_hour, weekday, day = clock.local[agent.team][i]
            if day not in day_factor:
                day_factor[day] = clip(rng.lognormvariate(0, 0.1), 0.8, 1.25)
            lam = tasks_per_weekday * profile(local_hour) / DAY_WEIGHT * day_factor[day]
            if weekday >= 5:
                lam *= WEEKEND
            # arrivals steadier than Poisson: an hour's count stays near its seasonal level, so
            # that only the injected anomalies stand out
            n = math.floor(lam * clip(rng.lognormvariate(0, 0.2), 0.6, 1.6) + rng.random())
            for _ in range(n):
                t0 = hour_us + rng.randrange(HOUR_US)
                task = task_calls(rng, cat, agent, t0, agent.next_task_id(seed))
                if start_us <= t0 and task[-1].t_us < end_us:
                    calls.extend(task)
    return calls


def mean_calls(agent: Agent) -> float:
    """The calls an agent's task makes on average, failed attempts included."""
    steps = sum((k + 1) * w for k, w in enumerate(STEP_WEIGHTS)) / sum(STEP_WEIGHTS)
    return steps * (1 + agent.fail_rate)


def floor_hour(t_us: int) -> int:
    """The start of the UTC hour ``t_us`` falls in."""
    return t_us - t_us % HOUR_US
