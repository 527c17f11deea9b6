"""``retry_loop``: one task of an ordinary agent makes 100-300 calls in 4-6 hours, nearly all
failures, re-sending one prompt; placed before the spike's hour, and on an agent whose loop keeps
its team's cost per call and its hours in line (so that it reads as neither)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import replace

from router import v1 as pb
from router.core.anomalies import Kind
from router.core.money import NANOS_PER_UNIT
from router.core.timeunits import HOUR_US
from router.simulate.injection.context import Context, Sent, mix_ratio
from router.simulate.population import Agent
from router.simulate.traffic import Call, floor_hour, task_calls
from router.simulate.truth import Anomaly

MIN_BUSIEST_HOUR_NANOS = 10_000_000.0  # 0.01: a quiet agent's busiest hour, at least


async def inject(ctx: Context) -> Anomaly:
    """One task of an ordinary agent failing and retrying 100-300 times in a few hours."""
    rng = ctx.rng
    n = rng.randint(*ctx.sc.retry_loop_calls)
    duration = round(rng.uniform(4.0, 6.0) * HOUR_US)
    agent = ctx.org.loop = choose(ctx, n, duration)
    latest = floor_hour(ctx.end) - HOUR_US - duration  # before the spike hour
    start = latest - rng.randrange(3 * HOUR_US)
    for back in range(0, 12):  # prefer the team's working hours
        t = latest - back * HOUR_US
        if t >= ctx.day and 9 <= ctx.clock.at(agent.team, t)[0] <= 12:
            start = t
            break
    task_id = agent.next_task_id(ctx.seed)
    base = task_calls(rng, ctx.cat, agent, start, task_id, model=agent.model, steps=1)[-1]
    prompt = base.input + base.cached
    times = sorted(start + rng.randrange(duration) for _ in range(n))
    calls: list[Call] = []
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
            usage_id=f"{ctx.prefix}-loop-{k:05d}"))
    ctx.driver.plan(len(calls), "retry loop")
    results = await ctx.driver.send(calls)
    return Anomaly(Kind.RETRY_LOOP.value, agent.team, agent.name, task_id, times[0],
                   times[-1] + 1, {
                       "calls": n,
                       "failures": sum(c.outcome == pb.OUTCOME_FAILURE for c in calls),
                       "spend_usd": sum(r.cost for r in results) / NANOS_PER_UNIT})


def choose(ctx: Context, n: int, duration: int) -> Agent:
    """A busy agent whose loop (``n`` calls re-sending one prompt) keeps its team's cost
    per call within 1.5x of its median day and its hours within 4x its busiest one."""
    mine: defaultdict[int, Sent] = defaultdict(list)
    for c, r in ctx.driver.sent:
        if c.t_us < ctx.day:
            mine[c.agent.index].append((c, r))
    state = ctx.team_state()
    options = []  # (misfit, score, -volume, index)
    for a in ctx.org.agents:
        if a.team == ctx.org.cost_team or a is ctx.org.drift or not mine[a.index]:
            continue
        prompt = statistics.median(c.input + c.cached for c, _ in mine[a.index])
        cost = n * ctx.cat.models[a.model].cost(0.13 * prompt + 100, 0.87 * prompt, 45, 0)
        mix = mix_ratio(state[a.team], n, cost)
        busiest = max(ctx.busiest_hour(a, mine[a.index]), MIN_BUSIEST_HOUR_NANOS)
        hourly = cost / (duration / HOUR_US) / busiest
        fits = mix <= 1.5 and hourly <= 4.0
        options.append((not fits, 0.0 if fits else max(mix / 1.5, hourly / 4.0),
                        -a.calls_per_weekday, a.index))
    if not options:
        return ctx.org.loop
    return ctx.org.agents[min(options)[3]]
