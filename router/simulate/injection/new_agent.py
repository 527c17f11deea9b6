"""``new_agent_spend``: a new deployment of an existing agent (``<agent>-v2``), first seen in the
last 20 hours, spends ~20x an average agent's day: more calls at its team's usual price, so that
the team's cost per call holds."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from router.core.anomalies import Kind
from router.core.money import NANOS_PER_UNIT
from router.core.timeunits import HOUR_US, MINUTE_US
from router.simulate.driver import Result, cost_per_call
from router.simulate.injection.context import Context, Sent, mix_ratio
from router.simulate.population import Agent, roles
from router.simulate.scenario import MIN_ANOMALY_NANOS, NEW_AGENT_FACTOR
from router.simulate.truth import Anomaly


async def inject(ctx: Context, before: Sent) -> Anomaly:
    """A new deployment of a typical agent that spends ~20x an average agent's day in its
    first day: volume at the team's usual cost per call, so the team's cost per call holds.
    """
    org = ctx.org
    per_agent_day = (sum(r.cost for _, r in before) / len(org.agents) / (ctx.sc.days - 1))
    target = max(NEW_AGENT_FACTOR * per_agent_day, MIN_ANOMALY_NANOS)
    team, template, usual, _ = choose(ctx, before, target)
    taken = {a.name for a in org.agents}
    name = next(n for n in (f"{template.name}-v2", f"{template.name}-next",
                            f"{template.name}-s{ctx.seed}") if n not in taken)
    agent = replace(template, index=len(org.agents), name=name, calls_per_weekday=0.0,
                    route_share=0.3 if template.team != org.cost_team else 0.0, tasks=0)
    limit = ctx.sc.max_anomaly_calls
    first = ctx.end - 20 * HOUR_US
    tasks = ctx.tasks(agent, first, ctx.end - 10 * MINUTE_US, limit=limit, kind="new")
    ctx.driver.plan(0, "new agent")
    sent, results = await ctx.driver.send_until(tasks, target)
    spend = sum(r.cost for r in results)
    return Anomaly(Kind.NEW_AGENT_SPEND.value, team, name, "", min(c.t_us for c in sent),
                   ctx.end, {
                       "calls": len(sent), "spend_usd": spend / NANOS_PER_UNIT,
                       "usual_agent_day_usd": per_agent_day / NANOS_PER_UNIT,
                       "ratio": round(spend / max(per_agent_day, 1e-9), 2),
                       "cost_per_call_usd": cost_per_call(results) / NANOS_PER_UNIT,
                       "team_cost_per_call_usd": usual / NANOS_PER_UNIT,
                       "like": template.name})


def choose(ctx: Context, before: Sent, target: float) -> tuple[str, Agent, float, float]:
    """The team and the agent the new agent copies: reaching ``target`` in as few calls as
    possible while the team's cost per call stays within 1.4x (more calls at its usual
    price, not dearer calls: the cost per call rise is another team's anomaly).

    Returns the team, the agent, the team's usual and the agent's usual cost per call."""
    org = ctx.org
    by_team: defaultdict[str, list[Result]] = defaultdict(list)
    by_agent: defaultdict[int, list[Result]] = defaultdict(list)
    for c, r in before:
        by_team[c.agent.team].append(r)
        by_agent[c.agent.index].append(r)
    taken = roles(org)
    state = ctx.team_state()  # after the drift and the loop
    options = []  # (misfit, unsteady or another anomaly's, calls needed or ratio, index)
    for a in org.agents:
        cost = cost_per_call(by_agent[a.index])
        if a.team == org.cost_team or not cost:
            continue
        calls = target / cost
        ratio = mix_ratio(state[a.team], calls, target)
        fits = calls <= 0.8 * ctx.sc.max_anomaly_calls and ratio <= 1.4
        # its calls cost about the same every time: no human review dominating them
        steady = a.index not in taken and not a.review_share
        options.append((not fits, not steady, calls if fits else ratio, a.index))
    if options and not min(options)[0]:
        best = org.agents[min(options)[3]]
        return (best.team, best, cost_per_call(by_team[best.team]),
                cost_per_call(by_agent[best.index]))
    # no other team can: the cost team deploys it, on the model it just moved to (its cost
    # per call is already the anomaly, and the new agent's calls cost what its others do)
    mine = [a for a in org.agents if a.team == org.cost_team and ctx.upgraded_cost.get(a.name)]
    if not mine:
        if not options:
            raise RuntimeError("no usage recorded to model a new agent on")
        best = org.agents[min(options)[3]]
        return (best.team, best, cost_per_call(by_team[best.team]),
                cost_per_call(by_agent[best.index]))
    like = max(mine, key=lambda a: ctx.upgraded_cost[a.name])
    model, scale = ctx.upgrades[like.name]
    copy = replace(like, model=model, secondary=model, input_scale=like.input_scale * scale)
    return like.team, copy, cost_per_call(by_team[like.team]), ctx.upgraded_cost[like.name]
