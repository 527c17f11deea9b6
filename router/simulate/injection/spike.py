"""``spend_spike``: an established agent spends >= 20x its busiest usual hour (and >= 2.50) in the
last complete hour, in a burst of its ordinary tasks; chosen so that the burst does not move its
team's cost per call."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from router.core.anomalies import Kind
from router.core.money import NANOS_PER_UNIT
from router.core.timeunits import HOUR_US, MINUTE_US
from router.simulate.driver import cost_per_call
from router.simulate.injection.context import Context, Sent, mix_ratio
from router.simulate.population import Agent
from router.simulate.scenario import MIN_ANOMALY_NANOS, SPIKE_FACTOR
from router.simulate.traffic import floor_hour
from router.simulate.truth import Anomaly


async def inject(ctx: Context, before: Sent) -> Anomaly:
    """A burst of the spike agent's ordinary tasks in the last complete hour."""
    agent, busiest, _, target = choose(ctx, before)
    ctx.org.spike = next(a for a in ctx.org.agents if a.index == agent.index)
    hour_end = floor_hour(ctx.end)
    hour_start = hour_end - HOUR_US
    usual_in_hour = sum(r.cost for c, r in ctx.driver.sent
                        if c.agent.index == agent.index and hour_start <= c.t_us < hour_end)
    limit = ctx.sc.max_anomaly_calls
    tasks = ctx.tasks(agent, hour_start, hour_end - 10 * MINUTE_US, limit=limit, kind="spike")
    ctx.driver.plan(0, "spend spike")
    sent, results = await ctx.driver.send_until(tasks, target)
    spend = sum(r.cost for r in results)
    return Anomaly(Kind.SPEND_SPIKE.value, agent.team, agent.name, "", hour_start, hour_end, {
        "calls": len(sent), "spend_usd": (spend + usual_in_hour) / NANOS_PER_UNIT,
        "usual_busiest_hour_usd": busiest / NANOS_PER_UNIT,
        "ratio": round((spend + usual_in_hour) / max(busiest, 1e-9), 2)})


def choose(ctx: Context, before: Sent) -> tuple[Agent, float, float, float]:
    """The agent whose burst reaches its target in the fewest calls while its team's cost
    per call over the last day stays within 1.4x of its median day (a burst of calls
    dearer than the team's others would read as the team's cost per call rising).

    Returns the agent, its busiest usual hour, its cost per call and the burst's target."""
    mine: defaultdict[int, Sent] = defaultdict(list)
    for c, r in before:
        mine[c.agent.index].append((c, r))
    state = ctx.team_state()
    taken = {ctx.org.drift.index, ctx.org.loop.index}
    cap = 0.8 * ctx.sc.max_anomaly_calls
    options = []  # (preference, calls or ratio, index, busiest, per call, target)
    for a in ctx.org.agents:
        in_cost_team = a.team == ctx.org.cost_team
        per_call = ctx.upgraded_cost.get(a.name, 0.0) if in_cost_team else \
            cost_per_call([r for _, r in mine[a.index]])
        if a.index in taken or not per_call:
            continue
        busiest = ctx.busiest_hour(a, mine[a.index])
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
    agent = ctx.org.agents[i]
    if agent.name in ctx.upgrades:
        model, scale = ctx.upgrades[agent.name]
        agent = replace(agent, model=model, secondary=model, route_share=0.0,
                        input_scale=agent.input_scale * scale)
    return agent, busiest, per_call, target
