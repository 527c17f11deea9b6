"""Offline evaluation of routing policies on outcome tables (``router eval --data``).

For one file: predict every (prompt, model) quality with the shipped classifier and with the
baselines, sweep the policy's quality target, and score each router's choices with the recorded
outcomes. Costs are the file's recorded per-call costs where it has them, else catalog prices x
tokens (input estimated as the service does, output predicted), identical for every router.

Rows the shipped classifier was trained on are never evaluated: for the shared training files
that leaves their held-out split; a new file from the same sources is evaluated whole.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from router.core.catalog import Catalog, ModelSpec
from router.core.classifier import Classifier, QualityRef
from router.core.tokens import estimate_tokens
from router.evaluation.baselines import KnnRouter, TfidfLogReg
from router.evaluation.data import DataError, OutcomeTable, load_table
from router.evaluation.metrics import aiq, apgr, cost_fraction_at_quality, cpt
from router.evaluation.routers import CurvePoint, sweep
from router.evaluation.split import validation_mask

FRACTIONS = ("0.95", "0.98", "1.00")
Progress = Callable[[str], None]


def training_rows(train_dir: Path) -> dict[str, OutcomeTable]:
    """The shared training files, restricted to the rows the classifier was trained on."""
    tables = {}
    for path in sorted(train_dir.glob("*_train.csv")):
        table = load_table(path)
        tables[table.name] = table.subset(~validation_mask(table))
    return tables


def _resolve(models: list[str], catalog: Catalog, classifier: Classifier
             ) -> tuple[list[ModelSpec], list[int]]:
    specs, slots, unknown = [], [], []
    for name in models:
        spec = catalog.find(name)
        if spec is None:
            unknown.append(name)
            continue
        slot = None
        for ref in (QualityRef(head=name), spec.quality, _public_mmlu(name, spec)):
            if ref is None:
                continue
            try:
                slot = classifier.resolve(ref)
                break
            except (KeyError, ValueError):
                continue
        if slot is None:
            raise DataError(f"the classifier cannot judge {name}: no head, and no MMLU score "
                            "in the catalog")
        specs.append(spec)
        slots.append(slot)
    if unknown:
        raise DataError(f"unknown model(s) {', '.join(unknown)}: add them to the catalog "
                        "(id or alias) so they can be priced and judged")
    return specs, slots


# Rough MMLU of data models the training fit leaves out (their data scores are format-bound or
# their public numbers uncertain); used only to place such a model when the artifact has no head
# for it, as in cross-source validation. Approximations from their base models' model cards.
APPROX_MMLU = {"llama3-chatqa-1.5-8b": 64.0, "llama3-chatqa-1.5-70b": 79.0,
               "llama-3.1-nemotron-51b-instruct": 80.0, "llama-3.3-nemotron-super-49b-v1": 84.0,
               "codegemma-7b": 53.0, "code-llama-instruct-34b-chat": 54.0,
               "WizardLM-13B-V1.2": 52.7, "claude-v1": 75.0}


def _public_mmlu(name: str, spec: ModelSpec) -> QualityRef | None:
    """A model whose head the artifact lacks (cross-source validation) is judged by its MMLU."""
    from router.training.corpus import PUBLIC_MMLU

    known = {**APPROX_MMLU, **PUBLIC_MMLU}
    for key in (name, spec.id, *spec.aliases, (spec.quality.head if spec.quality else None) or ""):
        if key in known:
            return QualityRef(mmlu=known[key])
    return None


def _baseline_training(table: OutcomeTable, trained: dict[str, OutcomeTable],
                       own_rows: bool = True) -> tuple[list[str], np.ndarray] | None:
    """Prompts and scores for the baselines: the shared training rows with this file's models
    (else, when ``own_rows``, the file's own training split; else None)."""
    prompts: list[str] = []
    parts: list[np.ndarray] = []
    for t in trained.values():
        if set(table.models) <= set(t.models):
            cols = [t.models.index(m) for m in table.models]
            prompts += t.prompts
            parts.append(t.scores[:, cols])
    if not parts:
        if not own_rows:
            return None
        own = table.subset(~validation_mask(table))
        if len(own) == 0:
            raise DataError(f"{table.name}: no training rows for the baselines")
        return own.prompts, own.scores
    return prompts, np.vstack(parts)


def _summary(curve: list[CurvePoint], singles: dict[str, dict[str, float]], best: str,
             cost_range: tuple[float, float], two_models: tuple[float, float] | None
             ) -> dict[str, Any]:
    pts = [(p.cost_usd_per_query, p.quality) for p in curve]
    best_q, best_c = singles[best]["quality"], singles[best]["cost_usd_per_query"]
    out: dict[str, Any] = {
        "router_curve": [{"param": round(p.param, 6), "quality": round(p.quality, 6),
                          "cost_usd_per_query": p.cost_usd_per_query,
                          "strong_share": round(p.strong_share, 6)} for p in curve],
        "cost_fraction_at_quality": {f: cost_fraction_at_quality(pts, best_c, best_q, float(f))
                                     for f in FRACTIONS},
        "aiq": aiq(pts, *cost_range),
    }
    if two_models is not None:
        weak_q, strong_q = two_models
        share = [(p.strong_share, p.quality) for p in curve]
        out |= {"apgr": apgr(share, weak_q, strong_q), "cpt50": cpt(share, weak_q, strong_q, 0.5),
                "cpt80": cpt(share, weak_q, strong_q, 0.8)}
    return out


def evaluate_table(table: OutcomeTable, trained: dict[str, OutcomeTable], catalog: Catalog,
                   classifier: Classifier, progress: Progress = lambda _: None,
                   baselines_on_own_rows: bool = True) -> dict[str, Any]:
    specs, slots = _resolve(table.models, catalog, classifier)
    seen = {(s, i) for t in trained.values() for s, i in zip(t.sources, t.ids, strict=True)}
    fresh = np.array([(s, i) not in seen for s, i in zip(table.sources, table.ids, strict=True)])
    test = table.subset(fresh)
    if len(test) == 0:
        raise DataError(f"{table.name}: every row was used to train the classifier")

    progress(f"{table.name}: classifier on {len(test)} prompts")
    n, m = len(test), len(table.models)
    ours, out_tokens = np.empty((n, m)), np.empty((n, m))
    in_tokens = np.empty(n)
    for i, prompt in enumerate(test.prompts):
        a = classifier.assess(prompt)
        ours[i] = [a.quality(s) for s in slots]
        out_tokens[i] = [a.output_tokens(s) for s in slots]
        in_tokens[i] = estimate_tokens(prompt)
    price_in = np.array([s.prices.input for s in specs]) / 1e15  # USD per token
    price_out = np.array([s.prices.output for s in specs]) / 1e15
    pred_cost = in_tokens[:, None] * price_in + out_tokens * price_out
    costs = test.costs if test.costs is not None else pred_cost

    singles = {mdl: {"quality": float(test.scores[:, j].mean()),
                     "cost_usd_per_query": float(costs[:, j].mean())}
               for j, mdl in enumerate(table.models)}
    best = max(singles, key=lambda k: (singles[k]["quality"], -singles[k]["cost_usd_per_query"]))
    cheapest = min(singles, key=lambda k: singles[k]["cost_usd_per_query"])
    strong = table.models.index(max(singles, key=lambda k: singles[k]["cost_usd_per_query"]))
    single_costs = [v["cost_usd_per_query"] for v in singles.values()]
    cost_range = (min(single_costs), max(single_costs))
    two = None
    if m == 2:
        weak = table.models[1 - strong]
        two = (singles[weak]["quality"], singles[table.models[strong]]["quality"])

    # oracle: per prompt the cheapest model among those with the best score
    top = test.scores == test.scores.max(axis=1, keepdims=True)
    pick = np.argmin(np.where(top, costs, np.inf), axis=1)
    rows = np.arange(n)
    oracle = {"quality": float(test.scores[rows, pick].mean()),
              "cost_usd_per_query": float(costs[rows, pick].mean())}

    result: dict[str, Any] = {
        "n": n, "models": table.models, "cost_source": "file" if test.costs is not None
        else "catalog",
        "best_single": {"model": best, **singles[best]}, "oracle": oracle,
        "single_models": singles,
    }
    def metrics(predicted: np.ndarray) -> dict[str, Any]:
        out = _summary(sweep(predicted, pred_cost, test.scores, costs, strong), singles, best,
                       cost_range, two)
        if two is not None:
            out["by_task"] = _by_task(test, predicted, pred_cost, costs, strong)
        return out

    result |= metrics(ours)
    result["classifier_version"] = classifier.version
    baselines: dict[str, Any] = {}
    training = _baseline_training(table, trained, baselines_on_own_rows)
    if training is not None:
        train_prompts, train_scores = training
        for router in (TfidfLogReg(), KnnRouter()):
            progress(f"{table.name}: baseline {router.name} on {len(train_prompts)} prompts")
            baselines[router.name] = metrics(
                router.fit(train_prompts, train_scores).predict(test.prompts))
    baselines["random"] = _summary(
        _random_curve(singles, cheapest, best, table.models.index(best) == strong),
        singles, best, cost_range, two)
    result["baselines"] = baselines
    return result


def _random_curve(singles: dict[str, dict[str, float]], cheapest: str, best: str,
                  best_is_strong: bool) -> list[CurvePoint]:
    """A router that sends a random share p of calls to the best model, the rest to the cheapest:
    its expected quality and cost move on the line between the two."""
    lo, hi = singles[cheapest], singles[best]
    return [CurvePoint(p, (1 - p) * lo["quality"] + p * hi["quality"],
                       (1 - p) * lo["cost_usd_per_query"] + p * hi["cost_usd_per_query"],
                       p if best_is_strong else 0.0)
            for p in np.linspace(0, 1, 101)]


def _by_task(test: OutcomeTable, predicted: np.ndarray, pred_cost: np.ndarray,
             costs: np.ndarray, strong: int) -> dict[str, Any]:
    """APGR / CPT per task family (mmlu, gsm8k, ...) for a two-model file."""
    families = np.array([t.split("/")[0] for t in test.tasks])
    out: dict[str, Any] = {}
    weak = 1 - strong
    for fam in sorted(set(families)):
        rows = families == fam
        scores = test.scores[rows]
        q_weak, q_strong = scores[:, weak].mean(), scores[:, strong].mean()
        if q_strong <= q_weak:
            out[fam] = {"n": int(rows.sum()), "note": "the strong model is not better here"}
            continue
        curve = sweep(predicted[rows], pred_cost[rows], scores, costs[rows], strong)
        share = [(p.strong_share, p.quality) for p in curve]
        out[fam] = {"n": int(rows.sum()), "apgr": apgr(share, q_weak, q_strong),
                    "cpt50": cpt(share, q_weak, q_strong, 0.5),
                    "cpt80": cpt(share, q_weak, q_strong, 0.8)}
    return out


def evaluate_files(paths: list[Path], train_dir: Path, catalog: Catalog, classifier: Classifier,
                   progress: Progress = lambda _: None) -> dict[str, Any]:
    trained = training_rows(train_dir) if train_dir.exists() else {}
    return {Path(p).stem: evaluate_table(load_table(p), trained, catalog, classifier, progress)
            for p in paths}


__all__ = ["DataError", "evaluate_files", "evaluate_table", "training_rows"]
