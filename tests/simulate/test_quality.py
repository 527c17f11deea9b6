"""The simulator's quality model: dearer models do better on hard work, every model does the
routine task types well, and the draws centre on the ability."""

from __future__ import annotations

import random
import statistics

from router.simulate.catalog import Catalog
from router.simulate.quality import DIFFICULTY, EASY_FOR_ALL, ability, draw_quality


def test_dearer_models_are_better_on_hard_work_and_equal_on_routine_work(catalog: Catalog):
    cheap, dear = catalog.pool[0].id, catalog.pool[-1].id
    assert ability(catalog, dear, "contract-review") > ability(catalog, cheap, "contract-review")
    assert ability(catalog, cheap, "contract-review") < ability(catalog, cheap, "summarise")
    for task_type in EASY_FOR_ALL:
        assert ability(catalog, cheap, task_type) == ability(catalog, dear, task_type)
    assert set(EASY_FOR_ALL) <= set(DIFFICULTY)


def test_draws_lie_in_0_1_and_centre_on_the_ability(catalog: Catalog):
    model = catalog.pool[len(catalog.pool) // 2].id
    rng = random.Random(4)
    draws = [draw_quality(rng, catalog, model, "code-review") for _ in range(4000)]
    assert all(0.0 <= q <= 1.0 for q in draws)
    assert abs(statistics.fmean(draws) - ability(catalog, model, "code-review")) < 0.01
