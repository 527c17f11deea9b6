"""``cost_per_call_rise``: the cost team's last day on much dearer models (and longer prompts where
no model is dear enough), pinned in the team's own configuration and reported without Route: ~4x
its cost per call (>= 3x) at its usual call counts, no agent's calls more than 6x dearer (so that
it does not read as a spend spike)."""

from __future__ import annotations

import math
from collections import defaultdict

from router.core.anomalies import Kind
from router.core.money import NANOS_PER_UNIT
from router.simulate.catalog import Catalog, Model
from router.simulate.draws import clip
from router.simulate.driver import cost_per_call
from router.simulate.injection.context import Context, Sent
from router.simulate.population import Agent
from router.simulate.scenario import COST_RISE_FACTOR, COST_RISE_RANGE
from router.simulate.traffic import Call
from router.simulate.truth import Anomaly

MAX_AGENT_RISE = 6.0  # no agent's calls get dearer than this (x its usual cost per call)
PROMPT_GROWTH = (1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5, 3.0)  # tried in turn, on every prompt


async def inject(ctx: Context, before: Sent, held: list[Call]) -> Anomaly:
    """Send the cost team's ``held`` last day moved to dearer models; record the moves (and the
    agents' new cost per call) in ``ctx`` for the spike and the new agent."""
    team = ctx.org.cost_team
    upgrades: dict[str, tuple[str, float]] = {}
    usual: dict[str, float] = {}
    fixed: dict[str, float] = {}  # tools, compute, review: the model does not change them
    for agent in (a for a in ctx.org.agents if a.team == team):
        mine = [(c, r) for c, r in before if c.agent is agent and r.recorded]
        upgrades[agent.name] = upgrade(ctx.cat, agent, mine)
        usual[agent.name] = cost_per_call([r for _, r in mine])
        fixed[agent.name] = sum(r.cost - r.tokens_cost for _, r in mine) / max(1, len(mine))
    changed = [c for c in held if c.agent.team == team]
    base = [r for c, r in before if c.agent.team == team]

    def moved(c: Call, grow: float) -> tuple[Model, int, int, int]:
        model, scale = upgrades[c.agent.name]
        spec = ctx.cat.models[model]
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
    for step in PROMPT_GROWTH:
        team_ratio, worst = estimate(step)
        if worst > MAX_AGENT_RISE:
            break
        grow = step
        if team_ratio >= COST_RISE_FACTOR - 0.4:
            break
    for c in changed:
        spec, c.input, c.cached, c.reasoning = moved(c, grow)
        c.model = spec.id
        c.route = False
        c.usage_id += "-a"
    ctx.driver.plan(0, "cost per call rise")
    changed.sort(key=lambda c: c.t_us)
    results = await ctx.driver.send(changed)
    ctx.upgrades = upgrades
    ctx.upgraded_cost = {name: cost_per_call([r for c, r in zip(changed, results, strict=True)
                                              if c.agent.name == name]) for name in upgrades}
    ratio = cost_per_call(results) / max(cost_per_call(base), 1e-9)
    return Anomaly(Kind.COST_PER_CALL_RISE.value, team, "", "", ctx.day, ctx.end, {
        "calls": len(results), "baseline_calls_per_day": round(len(base) / (ctx.sc.days - 1)),
        "baseline_cost_per_call_usd": cost_per_call(base) / NANOS_PER_UNIT,
        "cost_per_call_usd": cost_per_call(results) / NANOS_PER_UNIT, "ratio": round(ratio, 3),
        "spend_usd": sum(r.cost for r in results) / NANOS_PER_UNIT,
        "models": ",".join(sorted({m for m, _ in upgrades.values()})),
        "prompt_scale": round(grow * max(s for _, s in upgrades.values()), 2)})


def upgrade(cat: Catalog, agent: Agent, mine: Sent) -> tuple[str, float]:
    """A dearer model (and a prompt scale) making the agent's calls ~COST_RISE_FACTOR x
    dearer: a model that does it alone if one lands in COST_RISE_RANGE, else the dearest
    model short of it with longer prompts, else the cheapest model beyond it."""
    if not mine:
        return cat.pool[-1].id, 1.0
    n = len(mine)
    usual = sum(r.cost for _, r in mine) / n
    fixed = sum(r.cost - r.tokens_cost for _, r in mine) / n  # tools, compute, review
    lo, hi = COST_RISE_RANGE
    options: list[tuple[float, Model, float, float]] = []  # ratio, model, input, output
    for m in cat.pool:
        if m.index <= cat.models[agent.model].index:
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
    return cat.pool[-1].id, 1.0
