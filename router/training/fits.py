"""The fits of training and their held-out metrics, every one linear in the features:

- one logistic-regression head per model with outcomes (soft labels: a score s counts as s of a
  positive and 1 - s of a negative);
- an explanatory IRT model: one logistic regression over all (prompt, model) outcomes with text
  weights shared by every model and one ability per model, ``P = sigmoid(ability_m - z(text))``.
  z is the difficulty; a Theil-Sen line from public MMLU to ability places models without data;
- ridge regressions of log(output tokens): one per head with length data, and a global one with
  a per-model offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.stats import theilslopes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from router.core.classifier import LABELS
from router.training.corpus import PUBLIC_MMLU, Corpus
from router.training.params import (
    DEFAULT_OUTPUT_TOKENS,
    HEAD_C,
    IRT_C,
    LENGTH_ALPHA,
    MIN_LENGTH_ROWS,
    ONE_HOT_SCALE,
)


@dataclass
class Outcomes:
    """The (prompt, model, score) observations as arrays; ``fit`` marks the training ones."""

    rows: np.ndarray
    model: np.ndarray
    score: np.ndarray
    fit: np.ndarray

    @classmethod
    def of(cls, corpus: Corpus, heads: list[str], val: np.ndarray) -> Outcomes:
        index = {h: i for i, h in enumerate(heads)}
        rows = np.array([r for r, _, _, _ in corpus.outcomes], dtype=np.intp)
        model = np.array([index[m] for _, m, _, _ in corpus.outcomes], dtype=np.intp)
        score = np.array([s for _, _, s, _ in corpus.outcomes], dtype=np.float64)
        return cls(rows, model, score, ~val[rows])


def soft_logistic(x: sparse.csr_matrix, scores: np.ndarray, c: float, *,
                  intercept: bool = True) -> LogisticRegression:
    """Logistic regression on scores in [0, 1]: a row with score s counts as s of a positive and
    1 - s of a negative (rows with 0 or 1 appear once)."""
    soft = (scores > 0) & (scores < 1)
    xx = sparse.vstack([x, x[soft]]).tocsr()
    y = np.concatenate([scores >= 0.5, ~(scores[soft] >= 0.5)]).astype(int)
    w = np.concatenate([np.where(soft, np.maximum(scores, 1 - scores), 1.0),
                        np.minimum(scores, 1 - scores)[soft]])
    if y.min() == y.max():  # one class only: nothing to separate
        y = np.concatenate([y, 1 - y[:1]])
        xx = sparse.vstack([xx, xx[:1]]).tocsr()
        w = np.concatenate([w, [1e-6]])
    model = LogisticRegression(C=c, max_iter=3000, fit_intercept=intercept)
    return model.fit(xx, y, sample_weight=w)


def classification(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, log loss and Brier of probabilities ``p`` against outcomes ``y`` >= 0.5."""
    label = y >= 0.5
    auc = roc_auc_score(label, p) if 0 < label.sum() < len(label) else float("nan")
    return {"auc": float(auc),
            "log_loss": float(log_loss(label, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1])),
            "brier": float(brier_score_loss(label, p)), "base_rate": float(label.mean())}


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function: a logit to a probability."""
    return 1.0 / (1.0 + np.exp(-x))


def fit_heads(x: sparse.csr_matrix, obs: Outcomes, heads: list[str], w: np.ndarray,
              bias: np.ndarray) -> dict[str, dict[str, float]]:
    """One logistic regression per model on its training prompts; fills ``w`` and ``bias``
    columns 0..H-1 and returns each head's held-out metrics."""
    metrics: dict[str, dict[str, float]] = {}
    for h, name in enumerate(heads):
        mine = obs.model == h
        train_, check = mine & obs.fit, mine & ~obs.fit
        model = soft_logistic(x[obs.rows[train_]], obs.score[train_], HEAD_C)
        w[:, h], bias[h] = model.coef_[0], model.intercept_[0]
        metrics[name] = {"n_train": int(train_.sum()), "n_val": int(check.sum())}
        if check.any():
            p = sigmoid(x[obs.rows[check]] @ w[:, h] + bias[h])
            metrics[name] |= classification(obs.score[check], p)
    return metrics


def fit_irt(x: sparse.csr_matrix, obs: Outcomes, n_heads: int) -> tuple[np.ndarray, np.ndarray]:
    """Explanatory IRT as one logistic regression over every training (prompt, model) outcome:
    text weights shared by all models (the ease, -z) plus one ability per model, no intercept.
    Returns (ease weights over the features, abilities)."""
    one_hot = sparse.csr_matrix(
        (np.full(len(obs.rows), ONE_HOT_SCALE), (np.arange(len(obs.rows)), obs.model)),
        shape=(len(obs.rows), n_heads))
    design = sparse.hstack([x[obs.rows], one_hot]).tocsr()
    irt = soft_logistic(design[obs.fit], obs.score[obs.fit], IRT_C, intercept=False)
    coef = irt.coef_[0]
    return coef[:x.shape[1]], coef[x.shape[1]:] * ONE_HOT_SCALE


def difficulty_metrics(obs: Outcomes, heads: list[str], ability: np.ndarray, z: np.ndarray,
                       fit_rows: np.ndarray, val: np.ndarray, mmlu_fit: dict[str, Any]
                       ) -> dict[str, Any]:
    """How well ``sigmoid(ability - z)`` predicts held-out outcomes, with each head's fitted
    ability and with the ability its public MMLU maps to (how models without data are judged)."""
    check = ~obs.fit
    terciles = np.quantile(z[fit_rows], [1 / 3, 2 / 3])
    label = np.searchsorted(terciles, z[val], side="right")
    out: dict[str, Any] = {
        "abilities": {name: float(a) for name, a in zip(heads, ability, strict=True)},
        "ability_path": _per_head(obs.score[check], sigmoid(ability[obs.model[check]]
                                                            - z[obs.rows[check]]),
                                  obs.model[check]),
        "tercile_z": terciles.tolist(),
        "label_share_held_out": {name: float((label == i).mean())
                                 for i, name in enumerate(LABELS)},
        "mmlu_fit": mmlu_fit,
    }
    mapped = np.array([mmlu_fit["intercept"] + mmlu_fit["slope"] * PUBLIC_MMLU[h]
                       if h in PUBLIC_MMLU else np.nan for h in heads])
    sel = check & np.isfinite(mapped[obs.model])
    if sel.any():
        out["mmlu_path"] = _per_head(obs.score[sel], sigmoid(mapped[obs.model[sel]]
                                                             - z[obs.rows[sel]]),
                                     obs.model[sel])
    return out


def mean_auc(head_metrics: dict[str, dict[str, float]]) -> float:
    """The mean AUC over the heads that have one (NaN when none has)."""
    aucs = [m["auc"] for m in head_metrics.values() if not math.isnan(m.get("auc", math.nan))]
    return float(np.mean(aucs)) if aucs else math.nan


def _per_head(y: np.ndarray, p: np.ndarray, model: np.ndarray) -> dict[str, float]:
    """Mean over heads of the per-head AUC, and the pooled log loss and Brier."""
    aucs = [classification(y[model == h], p[model == h])["auc"] for h in np.unique(model)]
    pooled = classification(y, p)
    return {"mean_auc": mean_auc({str(i): {"auc": a} for i, a in enumerate(aucs)}),
            "log_loss": pooled["log_loss"], "brier": pooled["brier"]}


def fit_mmlu(heads: list[str], ability: np.ndarray) -> dict[str, Any]:
    """ability ~ intercept + slope x MMLU over the heads with a public MMLU score.

    Theil-Sen (the median of pairwise slopes): a few models score far below their MMLU here
    because of answer format (claude-v2 on RouterBench), and least squares would let them tilt
    the line that places every model without outcome data.
    """
    known = [(PUBLIC_MMLU[name], ability[h]) for h, name in enumerate(heads)
             if name in PUBLIC_MMLU]
    if len(known) >= 3:
        mmlu, ab = np.array(known).T
        slope, intercept = theilslopes(ab, mmlu)[:2]
        if slope > 0:
            return {"intercept": float(intercept), "slope": float(slope), "models": len(known),
                    "corr": float(np.corrcoef(mmlu, ab)[0, 1])}
    # too few anchors (tests, new data): the mean head sits at MMLU 70, 0.04 ability per point
    slope = 0.04
    return {"intercept": float(ability.mean() - 70 * slope), "slope": slope, "models": 0,
            "corr": float("nan")}


def fit_lengths(corpus: Corpus, x: sparse.csr_matrix, heads: list[str], val: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Output-token models: log(tokens) ~ text, one ridge regression per head with length data,
    and a global one (shared text weights plus a per-model offset, at the mean offset) for the
    other heads and for models without outcome data.

    Per-head models because verbosity depends on the model and the task together: on
    RouteProfile one model answers multiple choice in 2 tokens, another in 70 (shared text
    weights: 68% held-out median error there, per-head: 46%). Returns (weights over the features
    with columns [global, head 0, head 1, ...], intercepts, held-out metrics by source).
    """
    n_feat = x.shape[1]
    coef = np.zeros((n_feat, len(heads) + 1))
    intercept = np.full(len(heads) + 1, math.log(DEFAULT_OUTPUT_TOKENS))
    if not corpus.lengths:
        return coef, intercept, {}
    index = {h: i for i, h in enumerate(heads)}
    rows = np.array([r for r, _, _, _ in corpus.lengths], dtype=np.intp)
    model = np.array([index.get(m, len(heads)) for _, m, _, _ in corpus.lengths])  # H: no head
    y = np.log([t for _, _, t, _ in corpus.lengths])
    fit = ~val[rows]
    one_hot = sparse.csr_matrix((np.ones(len(rows)), (np.arange(len(rows)), model)),
                                shape=(len(rows), len(heads) + 1))
    design = sparse.hstack([x[rows], one_hot]).tocsr()
    shared = Ridge(alpha=LENGTH_ALPHA).fit(design[fit], y[fit])
    seen = sorted(set(model[fit].tolist()))
    coef[:, 0] = shared.coef_[:n_feat]
    intercept[:] = shared.intercept_ + np.mean(shared.coef_[n_feat:][seen])
    for h in range(len(heads)):
        mine = fit & (model == h)
        if mine.sum() >= MIN_LENGTH_ROWS:
            ridge = Ridge(alpha=LENGTH_ALPHA).fit(x[rows[mine]], y[mine])
            coef[:, h + 1], intercept[h + 1] = ridge.coef_, ridge.intercept_
        else:
            coef[:, h + 1] = coef[:, 0]
    column = np.where(model < len(heads), model + 1, 0)
    log_pred = np.asarray((x[rows] @ coef)[np.arange(len(rows)), column]) + intercept[column]
    predicted = np.maximum(np.floor(np.exp(log_pred) + 0.5), 1.0)  # what ``assess`` returns
    tokens = np.exp(y)
    per_model = {m: np.median(tokens[fit & (model == m)]) for m in set(model[fit].tolist())}
    everyone = np.median(tokens[fit])
    sources = np.array([s for _, _, _, s in corpus.lengths])

    def mdape(guess: np.ndarray | float, sel: np.ndarray) -> float:
        return float(np.median(np.abs(guess - tokens[sel]) / tokens[sel]))

    metrics: dict[str, Any] = {}
    for source in sorted(set(sources.tolist())):
        sel = ~fit & (sources == source)
        if sel.any():
            metrics[source] = {
                "n": int(sel.sum()), "median_tokens": float(np.median(tokens[sel])),
                "mdape": mdape(predicted[sel], sel),
                # baselines: one number for everything; the source's median (which a router
                # cannot know); each model's median over the training rows
                "mdape_constant": mdape(everyone, sel),
                "mdape_source_median": mdape(np.median(tokens[fit & (sources == source)]), sel),
                "mdape_model_median": mdape(np.array([per_model.get(m, everyone)
                                                      for m in model[sel]]), sel)}
    return coef, intercept, metrics
