"""What routing saved: recorded calls re-priced at a baseline model with their actual tokens.

Only the token cost depends on the model; tools, compute and human review cost the same either
way, so they appear in both the actual and the counterfactual totals. Re-pricing is done on token
sums per (team, agent, model) group, so it rounds once per group rather than once per call (a
difference of at most half a nano-unit per call).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from router.core.catalog import Catalog
from router.core.pricing import TokenCounts, token_cost


@dataclass(frozen=True, slots=True)
class UsageGroup:
    """Recorded usage summed per (team, agent, model)."""

    team: str
    agent: str
    model: str
    calls: int
    tokens: TokenCounts
    cost_tokens: int
    cost_total: int


@dataclass(frozen=True, slots=True)
class SavingsLine:
    team: str
    agent: str
    calls: int
    actual: int  # nanos, everything recorded
    counterfactual: int  # nanos, the same calls on the baseline model

    @property
    def savings(self) -> int:
        return self.counterfactual - self.actual

    @property
    def savings_ratio(self) -> float:
        return self.savings / self.counterfactual if self.counterfactual else 0.0


@dataclass(frozen=True, slots=True)
class SavingsReport:
    baseline: str
    currency: str
    total: SavingsLine
    by_team: tuple[SavingsLine, ...]
    by_agent: tuple[SavingsLine, ...]


def savings(groups: Iterable[UsageGroup], catalog: Catalog, baseline: str) -> SavingsReport:
    """Actual vs counterfactual cost in total, per team and per (team, agent); largest first."""
    prices = catalog.get(baseline).prices
    team: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    agent: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for g in groups:
        counterfactual = g.cost_total - g.cost_tokens + token_cost(prices, g.tokens)
        for acc in (team[g.team], agent[(g.team, g.agent)]):
            acc[0] += g.calls
            acc[1] += g.cost_total
            acc[2] += counterfactual

    def lines(items: Iterable[tuple[tuple[str, str], list[int]]]) -> tuple[SavingsLine, ...]:
        out = [SavingsLine(t, a, calls, actual, cf) for (t, a), (calls, actual, cf) in items]
        return tuple(sorted(out, key=lambda s: (-s.counterfactual, s.team, s.agent)))

    by_team = lines(((t, ""), v) for t, v in team.items())
    total = SavingsLine("", "", sum(s.calls for s in by_team), sum(s.actual for s in by_team),
                        sum(s.counterfactual for s in by_team))
    return SavingsReport(catalog.get(baseline).id, catalog.currency, total, by_team,
                         lines(agent.items()))
