"""Held-out routing as the model card reports it: policies, single models, oracle, cost bases."""

import math

import numpy as np
import pytest

from router.training.corpus import Corpus
from router.training.params import QUALITY_FRACTIONS, THRESHOLDS
from router.training.routing_metrics import policy_table, routing_metrics

# "small" solves prompts 0 and 2 and costs 1; "big" solves all four and costs 10
MODELS = ["big", "small"]
SCORE = np.array([[1.0, 1.0], [1.0, 0.0], [1.0, 1.0], [1.0, 0.0]])
PRED = np.array([[0.95, 0.9], [0.95, 0.1], [0.95, 0.9], [0.95, 0.1]])
COST = np.tile([10.0, 1.0], (4, 1))


def test_the_policy_sends_each_prompt_to_the_cheapest_model_predicted_good_enough():
    table = policy_table(MODELS, SCORE, PRED, COST, COST)
    assert table["n"] == 4 and table["models"] == 2 and table["has_costs"]
    assert table["best_single"] == {"model": "big", "quality": 1.0, "cost": 10.0}
    assert table["cheapest_single"] == {"model": "small", "quality": 0.5, "cost": 1.0}
    assert table["oracle"] == {"quality": 1.0, "cost": 5.5}
    assert [p["t"] for p in table["policy"]] == list(THRESHOLDS)
    at_half = table["policy"][0]
    assert at_half == {"t": 0.5, "quality": 1.0, "cost": 5.5, "quality_vs_best": 1.0,
                       "cost_vs_best": 0.55, "best_share": 0.5}
    assert list(table["cost_vs_best_at_quality"]) == [f"{f:.2f}" for f in QUALITY_FRACTIONS]
    assert table["cost_vs_best_at_quality"]["1.00"] == pytest.approx(0.55)


def test_when_no_model_clears_the_threshold_the_policy_takes_the_likeliest():
    pred = np.array([[0.4, 0.3], [0.2, 0.35], [0.4, 0.3], [0.2, 0.35]])
    table = policy_table(MODELS, SCORE, pred, COST, COST)
    strict = table["policy"][-1]  # t = 0.9: nothing qualifies
    assert strict["best_share"] == 0.5 and strict["quality"] == 0.5  # small on 1 and 3 fails


def test_without_costs_the_table_has_qualities_but_no_cost_targets():
    table = policy_table(MODELS, SCORE, PRED, np.zeros_like(COST), None)
    assert not table["has_costs"] and table["best_single"]["cost"] == 0.0
    assert set(table["cost_vs_best_at_quality"].values()) == {None}
    assert math.isnan(table["policy"][0]["cost_vs_best"])


def corpus_of(source, costs=True, prices=False):
    corpus = Corpus()
    for r in range(4):
        corpus.row(source, f"r{r}", f"prompt {r}")
        for j, m in enumerate(MODELS):
            corpus.outcomes.append((r, m, SCORE[r, j], source))
            if costs:
                corpus.costs[(r, m, source)] = COST[r, j]
    if prices:
        corpus.prices |= {(source, "big"): (10.0, 30.0), (source, "small"): (1.0, 1.0)}
    return corpus


def linear_of(pred, heads):
    """The artifact's linear outputs: heads' logits, -z, global length, one length per head."""
    out = np.zeros((len(pred), 2 * len(heads) + 2))
    out[:, :len(heads)] = np.log(pred / (1 - pred))
    out[:, len(heads) + 2:] = np.log(100.0)  # 100 output tokens each
    return out


VAL = np.ones(4, dtype=bool)


def test_routing_metrics_use_recorded_costs_where_the_source_records_them():
    results = routing_metrics(corpus_of("rb"), linear_of(PRED, MODELS), MODELS, VAL)
    assert results["rb"]["cost_basis"] == "recorded"
    assert results["rb"]["oracle"] == {"quality": 1.0, "cost": 5.5}


def test_routing_metrics_price_tokens_when_a_source_has_prices_and_no_costs():
    results = routing_metrics(corpus_of("lr", costs=False, prices=True),
                              linear_of(PRED, MODELS), MODELS, VAL)
    assert results["lr"]["cost_basis"] == "prices x tokens"
    big = results["lr"]["best_single"]
    assert big["model"] == "big" and big["cost"] > 100 * 30 / 1e6  # output alone: 100 tokens


def test_routing_metrics_report_no_cost_basis_without_costs_or_prices():
    results = routing_metrics(corpus_of("x", costs=False), linear_of(PRED, MODELS), MODELS, VAL)
    assert results["x"]["cost_basis"] == "none" and not results["x"]["has_costs"]


def test_routing_metrics_skip_training_rows_incomplete_rows_and_one_model_sources():
    corpus = corpus_of("rb")
    corpus.outcomes.append((0, "big", 1.0, "solo"))
    corpus.row("rb", "r4", "prompt 4")
    corpus.outcomes.append((4, "big", 1.0, "rb"))  # no "small" outcome: not comparable
    val = np.array([True, True, True, False, True])
    linear = linear_of(np.vstack([PRED, PRED[:1]]), MODELS)
    results = routing_metrics(corpus, linear, MODELS, val)
    assert list(results) == ["rb"] and results["rb"]["n"] == 3
