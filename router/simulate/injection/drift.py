"""``prediction_drift``: an agent that routes every call writes 3-4x the output tokens Route()
predicted, so its actual cost is 2-3x the predicted cost."""

from __future__ import annotations

from router.core.anomalies import Kind
from router.simulate.injection.context import Context
from router.simulate.scenario import DRIFT_RANGE
from router.simulate.traffic import Call
from router.simulate.truth import Anomaly


async def inject(ctx: Context, held: list[Call]) -> Anomaly:
    """Route every call of the drift agent's ``held`` last day, then report 3-4x the output."""
    agent = ctx.org.drift
    changed = sorted((c for c in held if c.agent is agent), key=lambda c: c.t_us)
    for c in changed:
        c.route = True
        c.drift = round(ctx.rng.uniform(*DRIFT_RANGE), 3)
        c.reasoning = 0
        c.usage_id += "-a"
    ctx.driver.plan(0, "prediction drift")
    results = await ctx.driver.send_routed_first(changed)
    ok = [r for r in results if r.recorded and r.routed]
    return Anomaly(Kind.PREDICTION_DRIFT.value, agent.team, agent.name, "", ctx.day, ctx.end, {
        "calls": len(changed), "routed": len(ok),
        "output_ratio": round(sum(r.actual_output for r in ok)
                              / max(1, sum(r.predicted_output for r in ok)), 3),
        "cost_ratio": round(sum(r.tokens_cost for r in ok)
                            / max(1, sum(r.predicted_cost for r in ok)), 3)})
