"""Train the complexity classifier (``router train``): scikit-learn, offline, a minute or two.

The steps, each in its module of ``router.training``: read the data folder into one corpus of
distinct prompts, 20% of them held out for validation (``corpus``; the split is
``router.evaluation.split``'s: seed 0 is the one ``router eval`` also treats as unseen);
featurize them (``features``); fit the per-model heads, the IRT difficulty scale and the
output-length models (``fits``); write the artifact; measure routing (``routing_metrics``),
input tokens (``calibration``) and latency (``router.bench.classifier``) on the held-out
prompts. The hyper-parameters are in ``params``.

Every part of the model is linear in the same features (``router.core.features``: sublinear
TF-IDF over word uni- and bigrams, structure cues and their pairwise products), so inference is
one gather and matrix-vector product.

The held-out metrics (per head, the IRT scale, routing per source, output and input tokens,
latency) are returned and, by ``run``, written into the model card (``card``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from router.core.classifier import LABELS, Classifier, save_artifact
from router.core.features import CUES
from router.training.calibration import token_calibration
from router.training.card import update_card
from router.training.corpus import load_corpus, source_counts
from router.training.features import featurize
from router.training.fits import (
    Outcomes,
    difficulty_metrics,
    fit_heads,
    fit_irt,
    fit_lengths,
    fit_mmlu,
    mean_auc,
)
from router.training.params import MAX_TERMS, PAIR_SHRINK
from router.training.routing_metrics import routing_metrics

Log = Callable[..., None]


def train(data_dir: Path, out_path: Path, *, seed: int = 0, log: Log = print,
          max_terms: int = MAX_TERMS, bench: bool = True) -> dict[str, Any]:
    """Train on ``data_dir``, write the artifact to ``out_path``, return held-out metrics."""
    started = time.perf_counter()
    corpus = load_corpus(Path(data_dir), seed)
    val = np.array(corpus.held_out)
    fit_rows = np.flatnonzero(~val)
    if len(fit_rows) == 0 or val.sum() == 0:
        raise ValueError(f"{data_dir}: too few prompts for a training and a validation split")
    feats = featurize(corpus.prompts, fit_rows, max_terms)
    x = feats.x
    heads = sorted({m for _, m, _, _ in corpus.outcomes})
    log(f"{len(corpus.prompts)} prompts ({val.sum()} held out), {len(heads)} heads, "
        f"{x.shape[1]} features")
    obs = Outcomes.of(corpus, heads, val)

    # one weight column per output: the heads' logits, -z (the IRT ease), then log output
    # tokens: the global model, then one per head
    w = np.zeros((x.shape[1], 2 * len(heads) + 2))
    bias = np.zeros(2 * len(heads) + 2)
    head_metrics = fit_heads(x, obs, heads, w, bias)
    log(f"heads: mean held-out AUC {mean_auc(head_metrics):.3f}")
    # The shared scales (difficulty, output tokens) see terms and cues only: the cue pairs lift
    # the per-model heads in distribution, but on a source training never saw they extrapolate
    # (cross-source LLMRouter AIQ 0.518 with pairs in the difficulty model, 0.544 without), and
    # they overfit RouteProfile's 219 answer lengths (median error 48% against 46%).
    shared = x[:, :len(feats.vocab) + len(CUES)]
    w[:shared.shape[1], len(heads)], ability = fit_irt(shared, obs, len(heads))
    z = -(x @ w[:, len(heads)])
    mmlu_fit = fit_mmlu(heads, ability)
    difficulty = difficulty_metrics(obs, heads, ability, z, fit_rows, val, mmlu_fit)
    log(f"difficulty: ability path {difficulty['ability_path']}")
    w[:shared.shape[1], len(heads) + 1:], bias[len(heads) + 1:], lengths = fit_lengths(
        corpus, shared, heads, val)

    vocab_size = len(feats.vocab)
    version = f"complexity-v3-{datetime.now(UTC):%Y%m%d}-s{seed}"
    summary = {
        "version": version, "seed": seed, "prompts": len(corpus.prompts),
        "held_out": int(val.sum()), "by_source": source_counts(corpus), "heads": len(heads),
        "vocabulary": vocab_size, "mean_auc": mean_auc(head_metrics),
    }
    meta = {"version": version, "heads": heads, "cues": list(CUES), "labels": list(LABELS),
            "summary": summary, "trained_at": datetime.now(UTC).isoformat(timespec="seconds")}
    arrays = {
        "idf": feats.idf, "w": w[:vocab_size], "w_cues": w[vocab_size:vocab_size + len(CUES)],
        "w_pairs": w[vocab_size + len(CUES):] * PAIR_SHRINK, "bias": bias,
        "cue_lo": feats.cue_lo, "cue_hi": feats.cue_hi, "cue_mean": feats.cue_mean,
        "cue_std": feats.cue_std, "pair_mean": feats.pair_mean, "pair_std": feats.pair_std,
        "ability": ability,
        "mmlu_fit": np.array([mmlu_fit["intercept"], mmlu_fit["slope"]]),
        "z_quantiles": np.quantile(z[fit_rows], np.linspace(0.0, 1.0, 101)),
    }
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    save_artifact(out_path, meta=meta, vocab=feats.vocab, arrays=arrays)
    clf = Classifier.load(out_path)
    parity = _check_parity(clf, corpus.prompts, np.flatnonzero(val)[:200], x, w, bias)

    metrics: dict[str, Any] = {
        "summary": summary, "heads": head_metrics, "version": version, "difficulty": difficulty,
        "output_tokens": lengths, "routing": routing_metrics(corpus, x @ w + bias, heads, val),
        "input_tokens": token_calibration(corpus), "parity_max_abs_diff": parity,
    }
    summary["artifact_bytes"] = out_path.stat().st_size
    summary["train_seconds"] = round(time.perf_counter() - started, 1)
    if bench:
        from router.bench.classifier import bench as run_bench

        metrics["latency_us"] = run_bench(clf, [corpus.prompts[i] for i in np.flatnonzero(val)])
    log(json.dumps(summary, indent=2))
    return metrics


def _check_parity(clf: Classifier, prompts: list[str], rows: np.ndarray, x: sparse.csr_matrix,
                  w: np.ndarray, bias: np.ndarray) -> float:
    """The shipped inference code must reproduce training's linear outputs (float32 weights)."""
    if len(rows) == 0:
        return 0.0
    expected = np.asarray(x[rows] @ w + bias)
    got = np.array([clf._linear(prompts[r]) for r in rows])
    worst = float(np.abs(got - expected).max())
    if worst > 1e-3:
        raise RuntimeError(f"inference disagrees with training by {worst:.2e}: features differ")
    return worst


def run(data_dir: str, out: str, readme: str | None = None) -> dict[str, Any]:
    """Entry point of ``router train``: train, write the artifact and, if asked, the card."""
    metrics = train(Path(data_dir), Path(out))
    if readme:
        update_card(Path(readme), metrics)
    return metrics
