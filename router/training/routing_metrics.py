"""Routing on each source's held-out prompts, as the model card reports it: the policy "the
cheapest model whose predicted P(good) >= t" against single models and the oracle."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from router.core.tokens import estimate_tokens
from router.training.corpus import Corpus
from router.training.fits import sigmoid
from router.training.params import QUALITY_FRACTIONS, THRESHOLDS


def routing_metrics(corpus: Corpus, linear: np.ndarray, heads: list[str],
                    val: np.ndarray) -> dict[str, Any]:
    """Per source, on its held-out prompts: "the cheapest model whose predicted P(good) >= t"
    against single models. Costs are recorded where the source records them (RouterBench,
    RouteProfile), else prices x (estimated input + predicted output tokens)."""
    results: dict[str, Any] = {}
    table: dict[str, dict[tuple[int, str], float]] = defaultdict(dict)
    for r, m, s, src in corpus.outcomes:
        if val[r]:
            table[src][(r, m)] = s
    for source, cells in sorted(table.items()):
        models = sorted({m for _, m in cells})
        rows = sorted({r for r, m in cells if all((r, mm) in cells for mm in models)})
        if len(models) < 2 or not rows:
            continue
        idx = np.array(rows)
        cols = np.array([heads.index(m) for m in models])
        score = np.array([[cells[(r, m)] for m in models] for r in rows])
        pred = sigmoid(linear[np.ix_(idx, cols)])
        in_tokens = np.array([estimate_tokens(corpus.prompts[r]) for r in rows], dtype=float)
        out_tokens = np.exp(linear[np.ix_(idx, len(heads) + 2 + cols)])
        recorded = np.array([[corpus.costs.get((r, m, source), np.nan) for m in models]
                             for r in rows])
        if all((source, m) in corpus.prices for m in models):
            p_in, p_out = (np.array([corpus.prices[(source, m)][k] for m in models]) / 1e6
                           for k in (0, 1))
            predicted_cost = in_tokens[:, None] * p_in + out_tokens * p_out
        else:  # no prices: the router knows each model's mean recorded cost in training
            typical = [np.mean([c for (r, mm, s), c in corpus.costs.items()
                                if mm == m and s == source and not val[r]] or [np.nan])
                       for m in models]
            predicted_cost = np.tile(typical, (len(rows), 1))
        if not np.isnan(recorded).any():
            cost, basis = recorded, "recorded"
        elif not np.isnan(predicted_cost).any():
            cost, basis = predicted_cost, "prices x tokens"
        else:
            cost, basis = None, "none"
            predicted_cost = np.zeros_like(pred)
        results[source] = policy_table(models, score, pred, predicted_cost, cost)
        results[source]["cost_basis"] = basis
    return results


def policy_table(models: list[str], score: np.ndarray, pred: np.ndarray,
                 predicted_cost: np.ndarray, cost: np.ndarray | None) -> dict[str, Any]:
    """One source's held-out table: the threshold policies, the best and the cheapest single
    model, the oracle, and the least cost reaching each share of the best model's quality.

    ``score``, ``pred``, ``predicted_cost`` and ``cost`` are (prompt, model) arrays: the
    outcomes, the predicted P(good), the cost the router expects (it chooses by it) and the cost
    it is charged (None: the source has no costs)."""
    n = len(score)
    cost_ = cost if cost is not None else np.zeros_like(score)
    singles = {m: {"quality": float(score[:, j].mean()), "cost": float(cost_[:, j].mean())}
               for j, m in enumerate(models)}
    best = max(models, key=lambda m: (singles[m]["quality"], -singles[m]["cost"]))
    cheapest = min(models, key=lambda m: singles[m]["cost"])
    bq, bc = singles[best]["quality"], singles[best]["cost"]
    ranks = np.arange(n)

    def choose(t: float) -> np.ndarray:
        ok = pred >= t
        pick = np.argmin(np.where(ok, predicted_cost, np.inf), axis=1)
        return np.where(ok.any(axis=1), pick, np.argmax(pred, axis=1))

    def point(t: float) -> dict[str, float]:
        pick = choose(t)
        q, c = float(score[ranks, pick].mean()), float(cost_[ranks, pick].mean())
        return {"t": t, "quality": q, "cost": c, "quality_vs_best": q / bq if bq else math.nan,
                "cost_vs_best": c / bc if bc else math.nan,
                "best_share": float((pick == models.index(best)).mean())}

    sweep = [point(float(t)) for t in np.linspace(0.0, 1.0, 201)]
    at_quality = {}
    for f in QUALITY_FRACTIONS:
        ok = [p["cost_vs_best"] for p in sweep if p["quality"] >= f * bq - 1e-12]
        at_quality[f"{f:.2f}"] = min(ok) if ok and cost is not None else None
    top = score == score.max(axis=1, keepdims=True)
    oracle = np.argmin(np.where(top, cost_, np.inf), axis=1)
    return {
        "n": n, "models": len(models), "best_single": {"model": best, **singles[best]},
        "cheapest_single": {"model": cheapest, **singles[cheapest]},
        "oracle": {"quality": float(score[ranks, oracle].mean()),
                   "cost": float(cost_[ranks, oracle].mean())},
        "policy": [point(t) for t in THRESHOLDS],
        "cost_vs_best_at_quality": at_quality, "has_costs": cost is not None,
    }
