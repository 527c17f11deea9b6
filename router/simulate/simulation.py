"""One simulation run against a server: the population and its history are sent, then (unless
told not to) the five anomalies are injected into the last day, and the ground truth is returned.

Idempotent: usage ids (and Route request ids) derive from the scenario, days, seed and call
number, and every value from seeded generators, so a rerun within the same hour sends exactly the
same requests and the server records nothing new.
"""

from __future__ import annotations

import asyncio
import math
import random
import statistics
import time
from collections import defaultdict
from dataclasses import replace

from router import client
from router.client import CONNECT_TIMEOUT_S
from router.core.anomalies import Kind
from router.core.money import NANOS_PER_UNIT
from router.core.timeunits import DAY_US, HOUR_US, MINUTE_US
from router.simulate.catalog import Catalog, Model
from router.simulate.draws import clip
from router.simulate.driver import Driver, Progress, Result, cost_per_call
from router.simulate.population import Agent, population, roles
from router.simulate.scenario import (
    COST_RISE_FACTOR,
    COST_RISE_RANGE,
    DRIFT_RANGE,
    MAX_DAYS,
    MIN_ANOMALY_NANOS,
    NEW_AGENT_FACTOR,
    SPIKE_FACTOR,
    Scenario,
)
from router.simulate.traffic import Call, Clock, floor_hour, task_calls, traffic
from router.simulate.truth import KINDS, Anomaly, Truth
from router.v1 import router_pb2 as pb


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
    async with client.connect_aio(address) as channel:
        try:  # router.client has no asyncio wait_ready yet
            await asyncio.wait_for(channel.channel_ready(), timeout=CONNECT_TIMEOUT_S)
        except TimeoutError as exc:
            raise ConnectionError(f"no router answering at {address}") from exc
        stub = client.stub(channel)
        cat = Catalog(await stub.ListModels(pb.ListModelsRequest(), timeout=10))
        sim = Simulation(sc, seed, end_us, cat, Driver(
            stub, concurrency, {"sim": f"{sc.name}-s{seed}"}, progress))
        return await sim.run(inject)


class Simulation:
    def __init__(self, sc: Scenario, seed: int, end_us: int, cat: Catalog,
                 driver: Driver) -> None:
        self.sc, self.seed, self.end, self.cat, self.driver = sc, seed, end_us, cat, driver
        self.start = end_us - sc.days * DAY_US
        self.day = end_us - DAY_US  # the anomalies' day
        self.prefix = f"sim-{sc.name}-{sc.days}d-s{seed}"
        self.org = population(sc, seed, cat)
        first = floor_hour(self.start)
        self.clock = Clock(self.org.teams, first, (end_us - first) // HOUR_US + 2)
        self.rng = random.Random(f"anomalies:{sc.name}:{seed}")
        self.upgrades: dict[str, tuple[str, float]] = {}  # the cost team's new model, scale
        self.upgraded_cost: dict[str, float] = {}  # its agents' new cost per call

    async def run(self, inject: bool) -> Truth:
        d, org = self.driver, self.org
        calls = traffic(self.cat, org, self.clock, self.seed, self.start, self.end)
        for n, call in enumerate(calls):
            call.usage_id = f"{self.prefix}-{n:07d}"
        held: list[Call] = []
        if inject:  # the drift agent's and the cost team's last day are sent changed, later
            held = [c for c in calls if c.t_us >= self.day
                    and (c.agent is org.drift or c.agent.team == org.cost_team)]
            keep = {id(c) for c in held}
            calls = [c for c in calls if id(c) not in keep]
        calls.sort(key=lambda c: c.t_us)
        d.plan(len(calls) + len(held), "history")
        results = await d.send(calls)
        history = list(zip(calls, results, strict=True))
        anomalies: list[Anomaly] = []
        if inject:
            before = [(c, r) for c, r in history if c.t_us < self.day]
            anomalies.append(await self._cost_rise(before, held))
            anomalies.append(await self._drift(held))
            anomalies.append(await self._retry_loop())
            anomalies.append(await self._spike(before, history))
            anomalies.append(await self._new_agent(before))
            anomalies.sort(key=lambda a: KINDS.index(a.kind))
        stats = dict(sorted(d.stats.items()))
        return Truth(
            scenario=self.sc.name, seed=self.seed, days=self.sc.days, start_us=self.start,
            now_us=self.end, calls=d.stats["calls"], teams=sorted(org.teams),
            agents=[{"team": a.team, "agent": a.name, "task_type": a.task_type,
                     "models": sorted({a.model, a.secondary}), "quality_target": a.quality,
                     "route_share": a.route_share, "human_review_share": a.review_share,
                     "calls_per_weekday": round(a.calls_per_weekday, 1)}
                    for a in org.agents],
            anomalies=anomalies, stats=stats, errors=list(d.errors),
            spend_by_team={t: round(v / NANOS_PER_UNIT, 6)
                           for t, v in sorted(d.spend.items(), key=lambda kv: -kv[1])})

    # -- the five anomalies

    async def _cost_rise(self, before: list[tuple[Call, Result]],
                         held: list[Call]) -> Anomaly:
        """The cost team's last day on a much more expensive model (or much longer prompts),
        pinned in the team's own configuration: reported without Route."""
        team = self.org.cost_team
        upgrades: dict[str, tuple[str, float]] = {}
        usual: dict[str, float] = {}
        fixed: dict[str, float] = {}  # tools, compute, review: the model does not change them
        for agent in (a for a in self.org.agents if a.team == team):
            mine = [(c, r) for c, r in before if c.agent is agent and r.recorded]
            upgrades[agent.name] = self._upgrade(agent, mine)
            usual[agent.name] = cost_per_call([r for _, r in mine])
            fixed[agent.name] = sum(r.cost - r.tokens_cost for _, r in mine) / max(1, len(mine))
        changed = [c for c in held if c.agent.team == team]
        base = [r for c, r in before if c.agent.team == team]

        def moved(c: Call, grow: float) -> tuple[Model, int, int, int]:
            model, scale = upgrades[c.agent.name]
            spec = self.cat.models[model]
            room = max(1000, int(spec.context * 0.8) - c.output)
            total = min(room, round((c.input + c.cached) * scale * grow))
            cached = round(total * c.cached / max(1, c.input + c.cached))
            return spec, total - cached, cached, c.reasoning if spec.can_reason else 0

        def estimate(grow: float) -> tuple[float, float]:
            """The team's cost per call ratio, and the highest of its agents'."""
            costs: defaultdict[str, list[float]] = defaultdict(list)
            for c in changed:
                spec, inp, cached, reasoning = moved(c, grow)
                costs[c.agent.name].append(spec.cost(inp, cached, c.output, reasoning)
                                           + fixed[c.agent.name])
            every = [x for xs in costs.values() for x in xs]
            team_ratio = (sum(every) / len(every)) / max(cost_per_call(base), 1e-9) if every else 0
            worst = max((sum(xs) / len(xs) / max(usual[a], 1e-9) for a, xs in costs.items()),
                        default=0.0)
            return team_ratio, worst

        # the calls of the last day may mix the agents differently from the usual days: grow
        # every prompt alike until the team's cost per call is well past 3x, as long as no
        # agent's own calls get more than 6x dearer
        grow = 1.0
        for step in (1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5, 3.0):
            team_ratio, worst = estimate(step)
            if worst > 6.0:
                break
            grow = step
            if team_ratio >= COST_RISE_FACTOR - 0.4:
                break
        for c in changed:
            spec, c.input, c.cached, c.reasoning = moved(c, grow)
            c.model = spec.id
            c.route = False
            c.usage_id += "-a"
        self.driver.plan(0, "cost per call rise")
        changed.sort(key=lambda c: c.t_us)
        results = await self.driver.send(changed)
        self.upgrades = upgrades
        self.upgraded_cost = {name: cost_per_call([r for c, r in zip(changed, results, strict=True)
                                               if c.agent.name == name]) for name in upgrades}
        ratio = cost_per_call(results) / max(cost_per_call(base), 1e-9)
        return Anomaly(Kind.COST_PER_CALL_RISE.value, team, "", "", self.day, self.end, {
            "calls": len(results), "baseline_calls_per_day": round(len(base) / (self.sc.days - 1)),
            "baseline_cost_per_call_usd": cost_per_call(base) / NANOS_PER_UNIT,
            "cost_per_call_usd": cost_per_call(results) / NANOS_PER_UNIT, "ratio": round(ratio, 3),
            "spend_usd": sum(r.cost for r in results) / NANOS_PER_UNIT,
            "models": ",".join(sorted({m for m, _ in upgrades.values()})),
            "prompt_scale": round(grow * max(s for _, s in upgrades.values()), 2)})

    def _upgrade(self, agent: Agent, mine: list[tuple[Call, Result]]) -> tuple[str, float]:
        """A dearer model (and a prompt scale) making the agent's calls ~COST_RISE_FACTOR x
        dearer: a model that does it alone if one lands in COST_RISE_RANGE, else the dearest
        model short of it with longer prompts, else the cheapest model beyond it."""
        if not mine:
            return self.cat.pool[-1].id, 1.0
        n = len(mine)
        usual = sum(r.cost for _, r in mine) / n
        fixed = sum(r.cost - r.tokens_cost for _, r in mine) / n  # tools, compute, review
        lo, hi = COST_RISE_RANGE
        options: list[tuple[float, Model, float, float]] = []  # ratio, model, input, output
        for m in self.cat.pool:
            if m.index <= self.cat.models[agent.model].index:
                continue
            inp = sum(m.cost(c.input, c.cached, 0, 0) for c, _ in mine) / n
            out = sum(m.cost(0, 0, c.output, c.reasoning if m.can_reason else 0)
                      for c, _ in mine) / n
            options.append(((fixed + inp + out) / max(usual, 1e-9), m, inp, out))
        alone = [o for o in options if lo <= o[0] <= hi]
        if alone:
            return min(alone, key=lambda o: abs(math.log(o[0] / COST_RISE_FACTOR)))[1].id, 1.0
        short = [o for o in options if o[0] < lo]
        if short:
            _, m, inp, out = short[-1]
            scale = (COST_RISE_FACTOR * usual - fixed - out) / max(inp, 1e-9)
            return m.id, round(clip(scale, 1.0, 30.0), 2)
        if options:
            return options[0][1].id, 1.0
        return self.cat.pool[-1].id, 1.0

    async def _drift(self, held: list[Call]) -> Anomaly:
        """Route every call of the drift agent's last day, then report 3-4x the output."""
        agent = self.org.drift
        changed = sorted((c for c in held if c.agent is agent), key=lambda c: c.t_us)
        for c in changed:
            c.route = True
            c.drift = round(self.rng.uniform(*DRIFT_RANGE), 3)
            c.reasoning = 0
            c.usage_id += "-a"
        self.driver.plan(0, "prediction drift")
        results = await self.driver.send_routed_first(changed)
        ok = [r for r in results if r.recorded and r.routed]
        return Anomaly(Kind.PREDICTION_DRIFT.value, agent.team, agent.name, "", self.day,
                       self.end, {
            "calls": len(changed), "routed": len(ok),
            "output_ratio": round(sum(r.actual_output for r in ok)
                                  / max(1, sum(r.predicted_output for r in ok)), 3),
            "cost_ratio": round(sum(r.tokens_cost for r in ok)
                                / max(1, sum(r.predicted_cost for r in ok)), 3)})

    async def _spike(self, before: list[tuple[Call, Result]],
                     history: list[tuple[Call, Result]]) -> Anomaly:
        """A burst of the spike agent's ordinary tasks in the last complete hour."""
        agent, busiest, _, target = self._choose_spike(before)
        self.org.spike = next(a for a in self.org.agents if a.index == agent.index)
        hour_end = floor_hour(self.end)
        hour_start = hour_end - HOUR_US
        usual_in_hour = sum(r.cost for c, r in self.driver.sent
                            if c.agent.index == agent.index and hour_start <= c.t_us < hour_end)
        limit = self.sc.max_anomaly_calls
        tasks = self._tasks(agent, hour_start, hour_end - 10 * MINUTE_US, limit=limit,
                            kind="spike")
        self.driver.plan(0, "spend spike")
        sent, results = await self.driver.send_until(tasks, target)
        spend = sum(r.cost for r in results)
        return Anomaly(Kind.SPEND_SPIKE.value, agent.team, agent.name, "", hour_start,
                       hour_end, {
            "calls": len(sent), "spend_usd": (spend + usual_in_hour) / NANOS_PER_UNIT,
            "usual_busiest_hour_usd": busiest / NANOS_PER_UNIT,
            "ratio": round((spend + usual_in_hour) / max(busiest, 1e-9), 2)})

    def _choose_loop(self, n: int, duration: int) -> Agent:
        """A busy agent whose loop (``n`` calls re-sending one prompt) keeps its team's cost
        per call within 1.5x of its median day and its hours within 4x its busiest one."""
        mine: defaultdict[int, list[tuple[Call, Result]]] = defaultdict(list)
        for c, r in self.driver.sent:
            if c.t_us < self.day:
                mine[c.agent.index].append((c, r))
        state = self._team_state()
        options = []  # (misfit, score, -volume, index)
        for a in self.org.agents:
            if a.team == self.org.cost_team or a is self.org.drift or not mine[a.index]:
                continue
            prompt = statistics.median(c.input + c.cached for c, _ in mine[a.index])
            cost = n * self.cat.models[a.model].cost(0.13 * prompt + 100, 0.87 * prompt, 45, 0)
            mix = mix_ratio(state[a.team], n, cost)
            busiest = max(self._busiest_hour(a, mine[a.index]), 10_000_000.0)
            hourly = cost / (duration / HOUR_US) / busiest
            fits = mix <= 1.5 and hourly <= 4.0
            options.append((not fits, 0.0 if fits else max(mix / 1.5, hourly / 4.0),
                            -a.calls_per_weekday, a.index))
        if not options:
            return self.org.loop
        return self.org.agents[min(options)[3]]

    def _choose_spike(self, before: list[tuple[Call, Result]]
                      ) -> tuple[Agent, float, float, float]:
        """The agent whose burst reaches its target in the fewest calls while its team's cost
        per call over the last day stays within 1.4x of its median day (a burst of calls
        dearer than the team's others would read as the team's cost per call rising).

        Returns the agent, its busiest usual hour, its cost per call and the burst's target."""
        mine: defaultdict[int, list[tuple[Call, Result]]] = defaultdict(list)
        for c, r in before:
            mine[c.agent.index].append((c, r))
        state = self._team_state()
        taken = {self.org.drift.index, self.org.loop.index}
        cap = 0.8 * self.sc.max_anomaly_calls
        options = []  # (preference, calls or ratio, index, busiest, per call, target)
        for a in self.org.agents:
            in_cost_team = a.team == self.org.cost_team
            per_call = self.upgraded_cost.get(a.name, 0.0) if in_cost_team else \
                cost_per_call([r for _, r in mine[a.index]])
            if a.index in taken or not per_call:
                continue
            busiest = self._busiest_hour(a, mine[a.index])
            target = max(SPIKE_FACTOR * busiest, MIN_ANOMALY_NANOS)
            calls = target / per_call
            ratio = mix_ratio(state[a.team], calls, target)
            # harm: another team's cost per call must not rise (1.4x at most); the cost
            # team's has risen already, and must stay at 3x or more
            harm = 3.0 / ratio if in_cost_team else ratio / 1.4
            if calls <= cap and harm <= 1:
                # another team's agent if one can; else a cost-team agent on its new model
                options.append((1 if in_cost_team else 0, calls, a.index, busiest, per_call,
                                target))
            elif calls <= cap:
                options.append((2, harm, a.index, busiest, per_call, target))
            else:
                options.append((3, calls, a.index, busiest, per_call, target))
        if not options:
            raise RuntimeError("no usage recorded to model a spike on")
        _, _, i, busiest, per_call, target = min(options)
        agent = self.org.agents[i]
        if agent.name in self.upgrades:
            model, scale = self.upgrades[agent.name]
            agent = replace(agent, model=model, secondary=model, route_share=0.0,
                            input_scale=agent.input_scale * scale)
        return agent, busiest, per_call, target

    def _team_state(self) -> dict[str, tuple[float, float, int]]:
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

    def _busiest_hour(self, agent: Agent, mine: list[tuple[Call, Result]]) -> float:
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

    def _tasks(self, agent: Agent, lo: int, hi: int, *, limit: int, kind: str
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

    async def _new_agent(self, before: list[tuple[Call, Result]]) -> Anomaly:
        """A new deployment of a typical agent that spends ~20x an average agent's day in its
        first day: volume at the team's usual cost per call, so the team's cost per call holds.
        """
        per_agent_day = (sum(r.cost for _, r in before) / len(self.org.agents)
                         / (self.sc.days - 1))
        target = max(NEW_AGENT_FACTOR * per_agent_day, MIN_ANOMALY_NANOS)
        team, template, usual, _ = self._new_agent_like(before, target)
        taken = {a.name for a in self.org.agents}
        name = next(n for n in (f"{template.name}-v2", f"{template.name}-next",
                                f"{template.name}-s{self.seed}") if n not in taken)
        agent = replace(template, index=len(self.org.agents), name=name, calls_per_weekday=0.0,
                        route_share=0.3 if template.team != self.org.cost_team else 0.0,
                        tasks=0)
        limit = self.sc.max_anomaly_calls
        first = self.end - 20 * HOUR_US
        tasks = self._tasks(agent, first, self.end - 10 * MINUTE_US, limit=limit, kind="new")
        self.driver.plan(0, "new agent")
        sent, results = await self.driver.send_until(tasks, target)
        spend = sum(r.cost for r in results)
        return Anomaly(Kind.NEW_AGENT_SPEND.value, team, name, "", min(c.t_us for c in sent),
                       self.end, {
            "calls": len(sent), "spend_usd": spend / NANOS_PER_UNIT,
            "usual_agent_day_usd": per_agent_day / NANOS_PER_UNIT,
            "ratio": round(spend / max(per_agent_day, 1e-9), 2),
            "cost_per_call_usd": cost_per_call(results) / NANOS_PER_UNIT,
            "team_cost_per_call_usd": usual / NANOS_PER_UNIT, "like": template.name})

    def _new_agent_like(self, before: list[tuple[Call, Result]], target: float
                        ) -> tuple[str, Agent, float, float]:
        """The team and the agent the new agent copies: reaching ``target`` in as few calls as
        possible while the team's cost per call stays within 1.4x (more calls at its usual
        price, not dearer calls: the cost per call rise is another team's anomaly).

        Returns the team, the agent, the team's usual and the agent's usual cost per call."""
        by_team: defaultdict[str, list[Result]] = defaultdict(list)
        by_agent: defaultdict[int, list[Result]] = defaultdict(list)
        for c, r in before:
            by_team[c.agent.team].append(r)
            by_agent[c.agent.index].append(r)
        taken = roles(self.org)
        state = self._team_state()  # after the drift and the loop
        options = []  # (misfit, unsteady or another anomaly's, calls needed or ratio, index)
        for a in self.org.agents:
            cost = cost_per_call(by_agent[a.index])
            if a.team == self.org.cost_team or not cost:
                continue
            calls = target / cost
            ratio = mix_ratio(state[a.team], calls, target)
            fits = calls <= 0.8 * self.sc.max_anomaly_calls and ratio <= 1.4
            # its calls cost about the same every time: no human review dominating them
            steady = a.index not in taken and not a.review_share
            options.append((not fits, not steady, calls if fits else ratio, a.index))
        if options and not min(options)[0]:
            best = self.org.agents[min(options)[3]]
            return (best.team, best, cost_per_call(by_team[best.team]),
                    cost_per_call(by_agent[best.index]))
        # no other team can: the cost team deploys it, on the model it just moved to (its cost
        # per call is already the anomaly, and the new agent's calls cost what its others do)
        mine = [a for a in self.org.agents if a.team == self.org.cost_team
                and self.upgraded_cost.get(a.name)]
        if not mine:
            if not options:
                raise RuntimeError("no usage recorded to model a new agent on")
            best = self.org.agents[min(options)[3]]
            return (best.team, best, cost_per_call(by_team[best.team]),
                    cost_per_call(by_agent[best.index]))
        like = max(mine, key=lambda a: self.upgraded_cost[a.name])
        model, scale = self.upgrades[like.name]
        copy = replace(like, model=model, secondary=model,
                       input_scale=like.input_scale * scale)
        return like.team, copy, cost_per_call(by_team[like.team]), self.upgraded_cost[like.name]

    async def _retry_loop(self) -> Anomaly:
        """One task of an ordinary agent failing and retrying 100-300 times in a few hours."""
        rng = self.rng
        n = rng.randint(*self.sc.retry_loop_calls)
        duration = round(rng.uniform(4.0, 6.0) * HOUR_US)
        agent = self.org.loop = self._choose_loop(n, duration)
        latest = floor_hour(self.end) - HOUR_US - duration  # before the spike hour
        start = latest - rng.randrange(3 * HOUR_US)
        for back in range(0, 12):  # prefer the team's working hours
            t = latest - back * HOUR_US
            if t >= self.day and 9 <= self.clock.at(agent.team, t)[0] <= 12:
                start = t
                break
        task_id = agent.next_task_id(self.seed)
        base = task_calls(rng, self.cat, agent, start, task_id, model=agent.model, steps=1)[-1]
        prompt = base.input + base.cached
        times = sorted(start + rng.randrange(duration) for _ in range(n))
        calls = []
        for k, t in enumerate(times):
            last = k == n - 1
            draw = rng.random()
            outcome = pb.OUTCOME_FAILURE  # the same error again (bad tool call, bad JSON, ...)
            if not last and draw < 0.12:
                outcome = pb.OUTCOME_RETRY  # rate limited on the way
            elif not last and draw < 0.15:
                outcome = pb.OUTCOME_SUCCESS  # a step gets through, the next one fails again
            # the same prompt again: after the first attempt mostly a prompt-cache hit
            cached = round(prompt * rng.uniform(0.8, 0.95)) if k else 0
            calls.append(replace(
                base, t_us=t, input=prompt - cached + rng.randint(0, 200), cached=cached,
                output=rng.randint(10, 80), reasoning=0, tools=(), cpu=0.0, gpu=0.0, review=0.0,
                outcome=outcome, latency_ms=rng.randint(800, 30000), route=False,
                usage_id=f"{self.prefix}-loop-{k:05d}"))
        self.driver.plan(len(calls), "retry loop")
        results = await self.driver.send(calls)
        return Anomaly(Kind.RETRY_LOOP.value, agent.team, agent.name, task_id, times[0],
                       times[-1] + 1, {
            "calls": n, "failures": sum(c.outcome == pb.OUTCOME_FAILURE for c in calls),
            "spend_usd": sum(r.cost for r in results) / NANOS_PER_UNIT})


def mix_ratio(state: tuple[float, float, int], calls: float, cost: float) -> float:
    """A team's cost per call over the last day, with ``calls`` more costing ``cost``, as a
    multiple of its median day's."""
    median, last_cost, last_calls = state
    if not median:
        return math.inf
    return (last_cost + cost) / max(1.0, last_calls + calls) / median
