"""What the learner adds to a Route and to a reported outcome, on the shipped catalog and
classifier (``python -m router.bench.learning``): timeit minima of the core calls, in µs.

Prints one JSON line: the classifier alone; ``evaluate`` + ``choose`` without and with learned
offsets (the same choice, so only the offsets' arithmetic differs); the Thompson draw and the
posterior mean's choice cost an exploring Route adds; rebuilding a scope's offsets; and one
``Learner.observe`` (both levels).
"""

from __future__ import annotations

import argparse
import json
import sys
import timeit
from collections.abc import Callable

import numpy as np

from router.core.catalog import load_catalog
from router.core.classifier import Classifier
from router.core.learning import Learner, adjusted
from router.core.policy import (
    CandidateTable,
    Constraints,
    RoutableModel,
    choice_cost,
    choose,
    evaluate,
)
from router.settings import Settings

TEXT = "Match these invoice lines to the purchase order and flag discrepancies in the totals."


def _us(call: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(call, number=number, repeat=7)) / number * 1e6


def measure(number: int = 2000) -> dict[str, float]:
    settings = Settings()
    catalog, classifier = load_catalog(settings.catalog_path), Classifier.load(
        settings.classifier_path)
    table = CandidateTable(RoutableModel(m, classifier.resolve(m.judged_by))
                           for m in catalog.enabled())
    a = classifier.assess(TEXT)
    learner = Learner(settings.learning_prior_sd, settings.learning_max_precision,
                      settings.learning_min_agent_count)
    for i, model in enumerate(table.ids):
        learner.observe("invoices", "matcher", model, 0.6, float(i % 2), i)
    learned = learner.offsets("invoices", "matcher", table.ids)
    assert learned is not None
    means, sds = learned
    zero = np.zeros(table.size)
    rng = np.random.default_rng(1)
    open_ = Constraints()
    candidates = evaluate(table, a, 500, open_, 0.7, None, quality_offset=means)

    def mean_choice() -> object:
        prior = np.fromiter(map(a.quality, table.slots), np.float64, table.size)
        return choice_cost(candidates, adjusted(prior, means), 0.7)

    return {
        "models": float(table.size),
        "classifier_us": _us(lambda: classifier.assess(TEXT), number // 2),
        "policy_us": _us(lambda: choose(evaluate(table, a, 500, open_, 0.7, None), 0.7, None,
                                        500), number),
        "policy_with_offsets_us": _us(lambda: choose(evaluate(
            table, a, 500, open_, 0.7, None, quality_offset=zero), 0.7, None, 500), number),
        "draw_us": _us(lambda: means + sds * rng.standard_normal(table.size), number),
        "mean_choice_us": _us(mean_choice, number),
        "offsets_rebuild_us": _us(lambda: learner.offsets("invoices", "matcher", table.ids),
                                  max(1, number // 10)),
        "observe_us": _us(lambda: learner.observe("invoices", "matcher", table.ids[3], 0.6,
                                                  1.0, 5), number),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="router.bench.learning", description=__doc__)
    parser.add_argument("--number", type=int, default=2000, help="calls per timing")
    args = parser.parse_args(argv)
    print(json.dumps({k: round(v, 2) for k, v in measure(args.number).items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
