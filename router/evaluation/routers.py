"""Routers as matrices: every router predicts a quality for each (prompt, model); the policy turns
predictions into choices; a sweep over the quality target traces the cost-quality curve.

``choose_models`` is the vectorised form of ``router.core.policy.choose`` without constraints:
the cheapest model predicted to reach the target, else the best predicted one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def choose_models(pred_quality: np.ndarray, pred_cost: np.ndarray, target: float) -> np.ndarray:
    """Index of the chosen model per row."""
    adequate = pred_quality >= target
    cost = np.where(adequate, pred_cost, np.inf)
    # ties on cost go to the higher predicted quality, as in the service
    order = np.lexsort((-pred_quality, cost), axis=1)[:, 0]
    best = np.argmax(pred_quality, axis=1)
    return np.where(adequate.any(axis=1), order, best)


@dataclass(frozen=True)
class CurvePoint:
    param: float
    quality: float
    cost_usd_per_query: float
    strong_share: float  # share of calls to the most expensive model (RouteLLM's cost axis)


def thresholds(pred_quality: np.ndarray, n: int = 200) -> np.ndarray:
    """Quality targets spanning the predictions: from 'always cheapest' to 'always best'."""
    qs = np.quantile(pred_quality, np.linspace(0.0, 1.0, n))
    return np.unique(np.concatenate([[0.0], qs, [np.nextafter(pred_quality.max(), 2.0)]]))


def sweep(pred_quality: np.ndarray, pred_cost: np.ndarray, scores: np.ndarray,
          costs: np.ndarray, strong: int, targets: np.ndarray | None = None) -> list[CurvePoint]:
    targets = thresholds(pred_quality) if targets is None else targets
    rows = np.arange(len(scores))
    points = []
    for t in targets:
        pick = choose_models(pred_quality, pred_cost, float(t))
        points.append(CurvePoint(float(t), float(scores[rows, pick].mean()),
                                 float(costs[rows, pick].mean()),
                                 float((pick == strong).mean())))
    return points
