"""One simulation run against a server: the population and its history are sent, then (unless
told not to) the five anomalies are injected into the last day, and the ground truth is returned.

Idempotent: usage ids (and Route request ids) derive from the scenario, days, seed and call
number, and every value from seeded generators, so a rerun within the same hour sends exactly the
same requests and the server records nothing new.
"""

from __future__ import annotations

import asyncio
import random
import time

from router import v1 as pb
from router.client import CONNECT_TIMEOUT_S, AsyncClient, Retry
from router.core.money import NANOS_PER_UNIT
from router.core.timeunits import DAY_US, HOUR_US
from router.simulate.catalog import Catalog
from router.simulate.driver import Driver, Progress
from router.simulate.injection import cost_rise, drift, new_agent, retry_loop, spike
from router.simulate.injection.context import Context
from router.simulate.population import population
from router.simulate.scenario import MAX_DAYS, Scenario
from router.simulate.traffic import Call, Clock, floor_hour, traffic
from router.simulate.truth import KINDS, Anomaly, Truth


def simulate(address: str, scenario: Scenario, *, seed: int, now_us: int | None = None,
             concurrency: int = 32, inject: bool = True,
             progress: Progress | None = None) -> Truth:
    """Drive the server at ``address`` with the scenario's traffic; return the ground truth.

    The history spans ``scenario.days`` days ending at ``now_us`` (default: the top of the current
    hour, so that a rerun within the hour is an exact replay). ``progress(done, total, phase)``
    is called as calls complete.
    """
    if not 2 <= scenario.days <= MAX_DAYS:
        raise ValueError(f"days must be between 2 and {MAX_DAYS}")
    end_us = now_us if now_us is not None else floor_hour(time.time_ns() // 1000)
    return asyncio.run(_simulate(address, scenario, seed, end_us, concurrency, inject, progress))


async def _simulate(address: str, sc: Scenario, seed: int, end_us: int, concurrency: int,
                    inject: bool, progress: Progress | None) -> Truth:
    # every call waits at most 30 s (the server is busy with 32 in flight), retried for 60
    async with AsyncClient(address, deadlines=dict.fromkeys(("Route", "ReportUsage"), 30.0),
                           retry=Retry(total_s=60.0)) as router:
        await router.wait_ready(CONNECT_TIMEOUT_S)
        cat = Catalog(await router.ListModels(pb.ListModelsRequest(), timeout=10))
        sim = Simulation(sc, seed, end_us, cat, Driver(
            router, concurrency, {"sim": f"{sc.name}-s{seed}"}, progress, catalog=cat))
        return await sim.run(inject)


class Simulation:
    """The run: the population, its history, the anomalies in their order, the truth."""

    def __init__(self, sc: Scenario, seed: int, end_us: int, cat: Catalog,
                 driver: Driver) -> None:
        start = end_us - sc.days * DAY_US
        org = population(sc, seed, cat)
        first = floor_hour(start)
        self.ctx = Context(
            sc=sc, seed=seed, start=start, end=end_us, prefix=f"sim-{sc.name}-{sc.days}d-s{seed}",
            cat=cat, org=org, clock=Clock(org.teams, first, (end_us - first) // HOUR_US + 2),
            driver=driver, rng=random.Random(f"anomalies:{sc.name}:{seed}"))

    async def run(self, inject: bool) -> Truth:
        ctx = self.ctx
        d, org = ctx.driver, ctx.org
        calls = traffic(ctx.cat, org, ctx.clock, ctx.seed, ctx.start, ctx.end)
        for n, call in enumerate(calls):
            call.usage_id = f"{ctx.prefix}-{n:07d}"
        held: list[Call] = []
        if inject:  # the drift agent's and the cost team's last day are sent changed, later
            held = [c for c in calls if c.t_us >= ctx.day
                    and (c.agent is org.drift or c.agent.team == org.cost_team)]
            keep = {id(c) for c in held}
            calls = [c for c in calls if id(c) not in keep]
        calls.sort(key=lambda c: c.t_us)
        d.plan(len(calls) + len(held), "history")
        results = await d.send(calls)
        history = list(zip(calls, results, strict=True))
        anomalies: list[Anomaly] = []
        if inject:
            before = [(c, r) for c, r in history if c.t_us < ctx.day]
            anomalies.append(await cost_rise.inject(ctx, before, held))
            anomalies.append(await drift.inject(ctx, held))
            anomalies.append(await retry_loop.inject(ctx))
            anomalies.append(await spike.inject(ctx, before))
            anomalies.append(await new_agent.inject(ctx, before))
            anomalies.sort(key=lambda a: KINDS.index(a.kind))
        return self._truth(anomalies)

    def _truth(self, anomalies: list[Anomaly]) -> Truth:
        ctx = self.ctx
        d, sc = ctx.driver, ctx.sc
        return Truth(
            scenario=sc.name, seed=ctx.seed, days=sc.days, start_us=ctx.start,
            now_us=ctx.end, calls=d.stats["calls"], teams=sorted(ctx.org.teams),
            agents=[{"team": a.team, "agent": a.name, "task_type": a.task_type,
                     "models": sorted({a.model, a.secondary}), "quality_target": a.quality,
                     "route_share": a.route_share, "human_review_share": a.review_share,
                     "calls_per_weekday": round(a.calls_per_weekday, 1)}
                    for a in ctx.org.agents],
            anomalies=anomalies, stats=dict(sorted(d.stats.items())), errors=list(d.errors),
            spend_by_team={t: round(v / NANOS_PER_UNIT, 6)
                           for t, v in sorted(d.spend.items(), key=lambda kv: -kv[1])},
            quality=self._quality())

    def _quality(self) -> dict[str, dict[str, float]]:
        sums: dict[tuple[str, str], list[float]] = {}
        for call, result in self.ctx.driver.sent:
            if result.quality is not None and result.recorded:
                sums.setdefault((call.agent.task_type, call.model), []).append(result.quality)
        out: dict[str, dict[str, float]] = {}
        for (task_type, model), scores in sorted(sums.items()):
            out.setdefault(task_type, {})[model] = round(sum(scores) / len(scores), 4)
        return out
