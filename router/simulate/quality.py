"""How well a simulated call went: a quality score drawn from the model's ability on the call's
task type, so a demo's learner has outcomes to learn from and the dashboard has quality to show
next to cost.

A model's ability is where it sits in the pool's price order (the dearest near the top), less
the task type's difficulty; on some task types a cheap model is as good as the dearest
(``EASY_FOR_ALL``: routine work any model does well), which is what the learner can find and
save on. A call's score is a Beta draw around that ability, in [0, 1] with three decimals.
"""

from __future__ import annotations

import random

from router.simulate.catalog import Catalog

# how hard each task type is: 0 every model does it well, 1 only the best models do
DIFFICULTY = {
    "summarise": 0.25, "support-reply": 0.3, "classification": 0.1, "extraction": 0.15,
    "code-review": 0.7, "sql-generation": 0.6, "research": 0.65, "translation": 0.35,
    "reconciliation": 0.5, "contract-review": 0.75, "report-writing": 0.45,
    "data-analysis": 0.6,
}
EASY_FOR_ALL = frozenset({"classification", "extraction"})
CONCENTRATION = 12.0  # Beta(a, b) with a + b this: a call's spread around the ability


def ability(cat: Catalog, model: str, task_type: str) -> float:
    """The mean quality of ``model`` on ``task_type``, in (0, 1)."""
    order = [m.id for m in cat.pool]
    rank = order.index(model) / max(1, len(order) - 1) if model in order else 0.5
    difficulty = DIFFICULTY.get(task_type, 0.5)
    if task_type in EASY_FOR_ALL:
        rank = 1.0
    return min(0.97, max(0.05, 0.95 - difficulty * (1.0 - rank) * 0.9 - 0.1 * difficulty))


def draw_quality(rng: random.Random, cat: Catalog, model: str, task_type: str) -> float:
    mean = ability(cat, model, task_type)
    return round(rng.betavariate(mean * CONCENTRATION, (1.0 - mean) * CONCENTRATION), 3)
