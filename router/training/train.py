"""Train the complexity classifier (``router train``): scikit-learn, offline, a minute or two.

Data (``../shared/data/routing/`` or ``--data``): the wide ``*_train.csv`` files and RouteProfile's
long table give (prompt, model, score) outcomes; RouteProfile's ``completion_tokens`` and the
RouterBench answers give output lengths. Prompts are merged by their text (a few appear in two
sources), and 20% of them are held out for validation: those whose (source, id) falls in the
split ``router eval`` also treats as unseen (seed 0), or a seeded hash of it (other seeds);
a prompt is held out when any of its copies is. The split is per row, so each source is held out
at the same rate.

Model, every part linear in the same features (``router.core.features``: sublinear TF-IDF over
word uni- and bigrams, structure cues and their pairwise products), so inference is one gather
and matrix-vector product:

- one logistic-regression head per model with outcomes (soft labels: a score s counts as s of a
  positive and 1 - s of a negative);
- an explanatory IRT model: one logistic regression over all (prompt, model) outcomes with text
  weights shared by every model and one ability per model, ``P = sigmoid(ability_m - z(text))``.
  z is the difficulty; a Theil-Sen line from public MMLU to ability places models without data;
- a ridge regression of log(output tokens) with a per-model offset.

Held-out metrics (per head, the IRT scale, routing per source, output and input tokens, latency)
are returned and, by ``run``, written into the model card.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from scipy.stats import theilslopes
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from router.core.classifier import LABELS, Classifier, save_artifact
from router.core.features import CUES, analyzer, cue_pairs, cues, tokenize
from router.core.tokens import FRAMING, estimate_tokens
from router.core.tokens import counts as token_counts
from router.evaluation.split import is_validation

Log = Callable[..., None]

MAX_TERMS = 20_000  # held-out mean AUC moved < 0.002 between 10k and 60k; small tables stay cached
MIN_DF = 3
HEAD_C = 1.0  # inverse L2 strength of the per-model heads (0.5-2 within 0.001 AUC)
IRT_C = 0.25  # of the shared difficulty model (best held-out log loss among 0.1-2)
PAIR_SHRINK = 0.3  # cue-pair columns are scaled by this in training: 1/0.3² ≈ 11x the L2 penalty
ONE_HOT_SCALE = 10.0  # model columns of the IRT fit, scaled so the L2 penalty barely touches them
LENGTH_ALPHA = 1.0
MIN_LENGTH_ROWS = 20  # a head with fewer output lengths uses the global length model
DEFAULT_OUTPUT_TOKENS = 256  # when the data has no output lengths at all
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
QUALITY_FRACTIONS = (0.95, 0.98, 1.0)

# Public MMLU (5-shot, percent) of the data's models, for the MMLU -> ability fit. Sources: model
# cards and release posts (GPT-4 Turbo 86.4, Mixtral 8x7B 70.6, Llama 2 70B 68.9, Mistral 7B
# 60.1, Yi-34B 76.3, Claude 2 78.5, Claude Instant 73.4, GPT-3.5 Turbo 70.0, Qwen2.5-7B-Instruct
# 74.2, Gemma 2 9B 71.3, Llama 3.1 8B 69.4, Llama 3.3 70B 86.0, Llama 3.2 3B 63.4, Mistral Small 3
# 81.0, Mixtral 8x22B 77.8, Mistral 7B v0.3 62.5). Models whose public numbers are uncertain or
# whose scores here are dominated by answer format (ChatQA, CodeGemma, Code Llama, WizardLM,
# Claude 1, Nemotron) are left out of the fit.
PUBLIC_MMLU = {
    "gpt-4-1106-preview": 86.4, "mixtral-8x7b-instruct": 70.6, "mixtral-8x7b-chat": 70.6,
    "mixtral-8x7b-instruct-v0.1": 70.6, "llama-2-70b-chat": 68.9, "mistral-7b-chat": 60.1,
    "Yi-34B-Chat": 76.3, "claude-v2": 78.5, "claude-instant-v1": 73.4, "gpt-3.5-turbo-1106": 70.0,
    "qwen2.5-7b-instruct": 74.2, "gemma-2-9b-it": 71.3, "llama-3.1-8b-instruct": 69.4,
    "llama-3.3-70b-instruct": 86.0, "llama-3.2-3b-instruct": 63.4,
    "mistral-small-24b-instruct-2501-bf16": 81.0, "mixtral-8x22b-instruct-v0.1": 77.8,
    "mistral-7b-instruct-v0.3": 62.5,
}
# RouteLLM records no costs; its README gives the list prices of the time (USD per 1M tokens).
ROUTELLM_PRICES = {"gpt-4-1106-preview": (10.0, 30.0), "mixtral-8x7b-instruct": (0.6, 0.6)}


@dataclass
class Corpus:
    """Every distinct prompt once (merged by whitespace- and case-folded text), with its
    outcomes, output lengths and costs. Rows index ``prompts``."""

    seed: int = 0
    prompts: list[str] = field(default_factory=list)
    held_out: list[bool] = field(default_factory=list)
    sources: list[set[str]] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)  # folded text -> row
    # (row, model, score, source) and (row, model, output tokens, source)
    outcomes: list[tuple[int, str, float, str]] = field(default_factory=list)
    lengths: list[tuple[int, str, float, str]] = field(default_factory=list)
    costs: dict[tuple[int, str, str], float] = field(default_factory=dict)  # recorded USD a call
    prices: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)  # USD / 1M
    # RouteProfile's real input token counts: (prompt, task, model, tokens)
    prompt_tokens: list[tuple[str, str, str, int]] = field(default_factory=list)

    def row(self, source: str, row_id: str, prompt: str) -> int:
        key = " ".join(prompt.split()).lower()
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = len(self.prompts)
            self.prompts.append(prompt)
            self.held_out.append(False)
            self.sources.append(set())
        self.held_out[i] = self.held_out[i] or is_validation(source, row_id, self.seed)
        self.sources[i].add(source)
        return i


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def load_corpus(data_dir: Path, seed: int = 0) -> Corpus:
    """Read every outcome file of ``data_dir`` (only ``*_train.csv`` is required)."""
    csv.field_size_limit(sys.maxsize)
    corpus = Corpus(seed=seed)
    wide = sorted(data_dir.glob("*_train.csv"))
    if not wide:
        raise ValueError(f"{data_dir}: no *_train.csv files")
    by_id: dict[tuple[str, str], int] = {}
    for path in wide:
        with path.open(newline="", encoding="utf-8") as fh:
            for rec in csv.DictReader(fh):
                source = rec.get("source") or path.stem.removesuffix("_train")
                i = corpus.row(source, rec["id"], rec["prompt"])
                by_id[(source, rec["id"])] = i
                for col, value in rec.items():
                    number = _number(value)
                    if number is None:
                        continue
                    if col.startswith("score__"):
                        corpus.outcomes.append((i, col[7:], number, source))
                    elif col.startswith("cost_usd__"):
                        corpus.costs[(i, col[10:], source)] = number
    profile = data_dir / "routeprofile_tokens.csv"
    if profile.exists():
        with profile.open(newline="", encoding="utf-8") as fh:
            for rec in csv.DictReader(fh):
                i = corpus.row("routeprofile", f"{rec['task']}:{rec['qid']}", rec["prompt"])
                model = rec["model"]
                if (score := _number(rec.get("score"))) is not None:
                    corpus.outcomes.append((i, model, score, "routeprofile"))
                if (tokens := _number(rec.get("completion_tokens"))) is not None:
                    corpus.lengths.append((i, model, max(tokens, 1.0), "routeprofile"))
                if (cost := _number(rec.get("cost_usd"))) is not None:
                    corpus.costs[(i, model, "routeprofile")] = cost
                if (given := _number(rec.get("prompt_tokens"))) is not None:
                    corpus.prompt_tokens.append((rec["prompt"], rec["task"], model, int(given)))
    responses = data_dir / "routerbench_train_responses.jsonl"
    if responses.exists():
        with responses.open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                i = by_id.get(("routerbench", rec["sample_id"]))
                for model, text in rec["responses"].items() if i is not None else ():
                    tokens = max(1, estimate_tokens(text or "") - FRAMING)
                    corpus.lengths.append((i, model, float(tokens), "routerbench"))
    models = data_dir / "models.csv"
    if models.exists():
        with models.open(newline="", encoding="utf-8") as fh:
            for rec in csv.DictReader(fh):
                pin, pout = (_number(rec.get(k)) for k in ("input_usd_per_1m",
                                                           "output_usd_per_1m"))
                if pin is not None and pout is not None:
                    corpus.prices[(rec["source"], rec["model"])] = (pin, pout)
    for model, price in ROUTELLM_PRICES.items():
        corpus.prices.setdefault(("routellm", model), price)
    return corpus


@dataclass
class Features:
    """The design matrix of every prompt: TF-IDF terms, scaled cues, then scaled cue pairs."""

    x: sparse.csr_matrix
    vocab: list[str]
    idf: np.ndarray
    cue_lo: np.ndarray
    cue_hi: np.ndarray
    cue_mean: np.ndarray
    cue_std: np.ndarray
    pair_mean: np.ndarray
    pair_std: np.ndarray


def featurize(prompts: list[str], fit_rows: np.ndarray, max_terms: int = MAX_TERMS) -> Features:
    """Sublinear TF-IDF as ``Classifier`` computes it ((1 + ln count) x the smoothed idf of the
    training rows, each text's vector L2-normalised), then standardised cues, then their
    standardised pairwise products scaled by ``PAIR_SHRINK`` (interactions get a stronger prior
    than main effects).

    Chosen on three held-out splits (seeds 0-2) against TF-IDF + LR trained on the same rows,
    means over the splits: GSM8K APGR 0.560 (binary TF-IDF and cues alone, v2: 0.508; the
    baseline 0.525), MMLU 0.666 (v2 0.673, baseline 0.641), RouterBench AIQ 0.812 (v2 0.807,
    baseline 0.806). Unshrunk pairs did as well in distribution but transferred badly: heads
    trained on RouteLLM alone (MMLU and GSM8K, where "multiple choice" names the task) misjudged
    RouterBench's prompts, AIQ 0.768 retrained without RouterBench against 0.817 shrunk."""
    counter = CountVectorizer(analyzer=analyzer, min_df=min(MIN_DF, len(fit_rows)),
                              max_features=max_terms, dtype=np.float64)
    counter.fit([prompts[i] for i in fit_rows])
    counts = counter.transform(prompts).tocsr()
    df = np.asarray((counts[fit_rows] > 0).sum(axis=0)).ravel()
    idf = np.log((1.0 + len(fit_rows)) / (1.0 + df)) + 1.0
    tf = counts.copy()
    tf.data = 1.0 + np.log(tf.data)
    weighted = tf.multiply(idf).tocsr()
    norm = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    terms = sparse.diags(1.0 / np.where(norm > 0, norm, 1.0)) @ weighted
    raw = np.array([cues(p, tokenize(p)) for p in prompts])
    lo, hi = raw[fit_rows].min(axis=0), raw[fit_rows].max(axis=0)
    raw = np.clip(raw, lo, hi)  # no linear extrapolation past what training saw
    mean, std = raw[fit_rows].mean(axis=0), raw[fit_rows].std(axis=0) + 1e-6
    scaled = (raw - mean) / std
    pairs = cue_pairs(scaled)
    pair_mean, pair_std = pairs[fit_rows].mean(axis=0), pairs[fit_rows].std(axis=0) + 1e-6
    x = sparse.hstack([terms, sparse.csr_matrix(scaled),
                       sparse.csr_matrix(PAIR_SHRINK * (pairs - pair_mean) / pair_std)])
    vocab = [""] * len(counter.vocabulary_)
    for term, j in counter.vocabulary_.items():
        vocab[j] = term
    return Features(x.tocsr(), vocab, idf, lo, hi, mean, std, pair_mean, pair_std)


def _soft_logistic(x: sparse.csr_matrix, scores: np.ndarray, c: float, *,
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


def _classification(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, log loss and Brier of probabilities ``p`` against outcomes ``y`` >= 0.5."""
    label = y >= 0.5
    auc = roc_auc_score(label, p) if 0 < label.sum() < len(label) else float("nan")
    return {"auc": float(auc),
            "log_loss": float(log_loss(label, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1])),
            "brier": float(brier_score_loss(label, p)), "base_rate": float(label.mean())}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


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
    head_metrics = _fit_heads(x, obs, heads, w, bias)
    log(f"heads: mean held-out AUC {_mean_auc(head_metrics):.3f}")
    # The shared scales (difficulty, output tokens) see terms and cues only: the cue pairs lift
    # the per-model heads in distribution, but on a source training never saw they extrapolate
    # (cross-source LLMRouter AIQ 0.518 with pairs in the difficulty model, 0.544 without), and
    # they overfit RouteProfile's 219 answer lengths (median error 48% against 46%).
    shared = x[:, :len(feats.vocab) + len(CUES)]
    w[:shared.shape[1], len(heads)], ability = _fit_irt(shared, obs, len(heads))
    z = -(x @ w[:, len(heads)])
    mmlu_fit = _mmlu_fit(heads, ability)
    difficulty = _difficulty_metrics(obs, heads, ability, z, fit_rows, val, mmlu_fit)
    log(f"difficulty: ability path {difficulty['ability_path']}")
    w[:shared.shape[1], len(heads) + 1:], bias[len(heads) + 1:], lengths = _fit_lengths(
        corpus, shared, heads, val)

    vocab_size = len(feats.vocab)
    version = f"complexity-v3-{datetime.now(UTC):%Y%m%d}-s{seed}"
    summary = {
        "version": version, "seed": seed, "prompts": len(corpus.prompts),
        "held_out": int(val.sum()), "by_source": _source_counts(corpus), "heads": len(heads),
        "vocabulary": vocab_size, "mean_auc": _mean_auc(head_metrics),
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
        "output_tokens": lengths, "routing": _routing(corpus, x @ w + bias, heads, val),
        "input_tokens": token_calibration(corpus), "parity_max_abs_diff": parity,
    }
    summary["artifact_bytes"] = out_path.stat().st_size
    summary["train_seconds"] = round(time.perf_counter() - started, 1)
    if bench:
        from router.training.bench_classifier import bench as run_bench

        metrics["latency_us"] = run_bench(clf, [corpus.prompts[i] for i in np.flatnonzero(val)])
    log(json.dumps(summary, indent=2))
    return metrics


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


def _fit_heads(x: sparse.csr_matrix, obs: Outcomes, heads: list[str], w: np.ndarray,
               bias: np.ndarray) -> dict[str, dict[str, float]]:
    """One logistic regression per model on its training prompts; fills ``w`` and ``bias``
    columns 0..H-1 and returns each head's held-out metrics."""
    metrics: dict[str, dict[str, float]] = {}
    for h, name in enumerate(heads):
        mine = obs.model == h
        train_, check = mine & obs.fit, mine & ~obs.fit
        model = _soft_logistic(x[obs.rows[train_]], obs.score[train_], HEAD_C)
        w[:, h], bias[h] = model.coef_[0], model.intercept_[0]
        metrics[name] = {"n_train": int(train_.sum()), "n_val": int(check.sum())}
        if check.any():
            p = _sigmoid(x[obs.rows[check]] @ w[:, h] + bias[h])
            metrics[name] |= _classification(obs.score[check], p)
    return metrics


def _fit_irt(x: sparse.csr_matrix, obs: Outcomes, n_heads: int) -> tuple[np.ndarray, np.ndarray]:
    """Explanatory IRT as one logistic regression over every training (prompt, model) outcome:
    text weights shared by all models (the ease, -z) plus one ability per model, no intercept.
    Returns (ease weights over the features, abilities)."""
    one_hot = sparse.csr_matrix(
        (np.full(len(obs.rows), ONE_HOT_SCALE), (np.arange(len(obs.rows)), obs.model)),
        shape=(len(obs.rows), n_heads))
    design = sparse.hstack([x[obs.rows], one_hot]).tocsr()
    irt = _soft_logistic(design[obs.fit], obs.score[obs.fit], IRT_C, intercept=False)
    coef = irt.coef_[0]
    return coef[:x.shape[1]], coef[x.shape[1]:] * ONE_HOT_SCALE


def _difficulty_metrics(obs: Outcomes, heads: list[str], ability: np.ndarray, z: np.ndarray,
                        fit_rows: np.ndarray, val: np.ndarray, mmlu_fit: dict[str, Any]
                        ) -> dict[str, Any]:
    """How well ``sigmoid(ability - z)`` predicts held-out outcomes, with each head's fitted
    ability and with the ability its public MMLU maps to (how models without data are judged)."""
    check = ~obs.fit
    terciles = np.quantile(z[fit_rows], [1 / 3, 2 / 3])
    label = np.searchsorted(terciles, z[val], side="right")
    out: dict[str, Any] = {
        "abilities": {name: float(a) for name, a in zip(heads, ability, strict=True)},
        "ability_path": _per_head(obs.score[check], _sigmoid(ability[obs.model[check]]
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
        out["mmlu_path"] = _per_head(obs.score[sel], _sigmoid(mapped[obs.model[sel]]
                                                              - z[obs.rows[sel]]),
                                     obs.model[sel])
    return out


def _mean_auc(head_metrics: dict[str, dict[str, float]]) -> float:
    aucs = [m["auc"] for m in head_metrics.values() if not math.isnan(m.get("auc", math.nan))]
    return float(np.mean(aucs)) if aucs else math.nan


def _per_head(y: np.ndarray, p: np.ndarray, model: np.ndarray) -> dict[str, float]:
    """Mean over heads of the per-head AUC, and the pooled log loss and Brier."""
    aucs = [_classification(y[model == h], p[model == h])["auc"] for h in np.unique(model)]
    pooled = _classification(y, p)
    return {"mean_auc": _mean_auc({str(i): {"auc": a} for i, a in enumerate(aucs)}),
            "log_loss": pooled["log_loss"], "brier": pooled["brier"]}


def _mmlu_fit(heads: list[str], ability: np.ndarray) -> dict[str, Any]:
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


def _fit_lengths(corpus: Corpus, x: sparse.csr_matrix, heads: list[str], val: np.ndarray
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


def _source_counts(corpus: Corpus) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"prompts": 0, "held_out": 0})
    for sources, held in zip(corpus.sources, corpus.held_out, strict=True):
        for s in sources:
            counts[s]["prompts"] += 1
            counts[s]["held_out"] += int(held)
    return dict(sorted(counts.items()))


def _routing(corpus: Corpus, linear: np.ndarray, heads: list[str],
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
        cols = [heads.index(m) for m in models]
        score = np.array([[cells[(r, m)] for m in models] for r in rows])
        pred = _sigmoid(linear[np.ix_(idx, cols)])
        in_tokens = np.array([estimate_tokens(corpus.prompts[r]) for r in rows], dtype=float)
        out_tokens = np.exp(linear[np.ix_(idx, [len(heads) + 2 + c for c in cols])])
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
        results[source] = _policy_table(models, score, pred, predicted_cost, cost)
        results[source]["cost_basis"] = basis
    return results


def _policy_table(models: list[str], score: np.ndarray, pred: np.ndarray,
                  predicted_cost: np.ndarray, cost: np.ndarray | None) -> dict[str, Any]:
    n = len(score)
    cost_ = cost if cost is not None else np.zeros_like(score)
    singles = {m: {"quality": float(score[:, j].mean()), "cost": float(cost_[:, j].mean())}
               for j, m in enumerate(models)}
    best = max(models, key=lambda m: (singles[m]["quality"], -singles[m]["cost"]))
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
        "cheapest_single": min(({"model": m, **v} for m, v in singles.items()),
                               key=lambda d: d["cost"]),
        "oracle": {"quality": float(score[ranks, oracle].mean()),
                   "cost": float(cost_[ranks, oracle].mean())},
        "policy": [point(t) for t in THRESHOLDS],
        "cost_vs_best_at_quality": at_quality, "has_costs": cost is not None,
    }


def token_calibration(corpus: Corpus, tokenizer_of: str = "llama-3.1-8b-instruct"
                      ) -> dict[str, Any]:
    """Refit ``router.core.tokens``' coefficients on RouteProfile's real prompt tokens, and
    measure the shipped estimate.

    RouteProfile's prompts lack the template its harness added (instructions, answer options),
    so each (task, tokenizer) gets its own intercept: the errors are of the text-dependent part
    plus a fixed template, as a router sees them. Median absolute percentage errors.
    """
    if not corpus.prompt_tokens:
        return {}
    texts, tasks, models, real = zip(*corpus.prompt_tokens, strict=True)
    y = np.array(real, dtype=float)
    counted = np.array([token_counts(t)[:4] for t in texts], dtype=float)
    groups = sorted(set(zip(tasks, models, strict=True)))
    group = np.array([groups.index(g) for g in zip(tasks, models, strict=True)])
    one_hot = np.eye(len(groups))[group]

    def mdape(pred: np.ndarray, sel: np.ndarray) -> float:
        return float(np.median(np.abs(pred[sel] - y[sel]) / y[sel]))

    def with_intercepts(est: np.ndarray) -> np.ndarray:
        """The estimate plus each group's median residual (its template)."""
        resid = {g: np.median((y - est)[group == g]) for g in range(len(groups))}
        return est + np.array([resid[g] for g in group])

    if tokenizer_of not in models:
        tokenizer_of = min(models)
    out: dict[str, Any] = {"rows": len(y), "tokenizer_fit": tokenizer_of}
    mine = np.array([m == tokenizer_of for m in models])
    if mine.sum() > 10:
        design = np.hstack([counted, one_hot[:, one_hot[mine].any(axis=0)]])[mine]
        coef = np.linalg.lstsq(design, y[mine], rcond=None)[0]
        loo = [abs(design[i] @ np.linalg.lstsq(np.delete(design, i, 0), np.delete(y[mine], i),
                                               rcond=None)[0] - y[mine][i]) / y[mine][i]
               for i in range(len(design))]
        out |= {"coefficients": dict(zip(("word", "digit", "symbol", "newline"),
                                         (round(float(c), 3) for c in coef[:4]), strict=True)),
                "fit_mdape": float(np.median(np.abs(design @ coef - y[mine]) / y[mine])),
                "fit_mdape_leave_one_out": float(np.median(loo))}
    shipped = np.array([estimate_tokens(t) for t in texts], dtype=float)
    quarter = np.array([len(t) / 4 for t in texts])
    everyone = np.ones(len(y), dtype=bool)
    for name, est in (("estimate_tokens", shipped), ("chars_div_4", quarter)):
        full = with_intercepts(est)
        out[name] = {"mdape_all_tokenizers": mdape(full, everyone),
                     "mdape_" + tokenizer_of: mdape(full, mine)}
    return out


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


# --- model card -----------------------------------------------------------------------------

START, END = "<!-- training:start -->", "<!-- training:end -->"


def _pct(x: float | None) -> str:
    return "never" if x is None else "n/a" if math.isnan(x) else f"{100 * x:.1f}%"


def _f(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def card_section(m: dict[str, Any]) -> str:
    """The generated part of the model card: held-out metrics of one training run."""
    s, d = m["summary"], m["difficulty"]
    src = ", ".join(f"{k} {v['prompts']:,} ({v['held_out']:,} held out)"
                    for k, v in s["by_source"].items())
    lines = [
        START,
        f"Artifact `{m['version']}`: {s['prompts']:,} distinct prompts, {s['held_out']:,} held "
        f"out ({src}); {s['heads']} heads; {s['vocabulary']:,} terms; "
        f"{s['artifact_bytes'] / 1e6:.1f} MB; trained in {s['train_seconds']} s.",
        "",
        "**Per-model heads** (held-out prompts of the sources that have the model):",
        "",
        "| head | train | held out | AUC | log loss | Brier | base rate |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, h in sorted(m["heads"].items()):
        lines.append(f"| {name} | {h['n_train']} | {h['n_val']} | {_f(h.get('auc'))} | "
                     f"{_f(h.get('log_loss'))} | {_f(h.get('brier'))} | "
                     f"{_f(h.get('base_rate'))} |")
    lines.append(f"| **mean** | | | {_f(s['mean_auc'])} | | | |")
    ap, mf = d["ability_path"], d["mmlu_fit"]
    lines += [
        "",
        "**Difficulty (IRT) scale.** Predicting every head's outcomes from its ability and the "
        f"text's difficulty alone, `sigmoid(ability - z)`: mean AUC {_f(ap['mean_auc'])}, log "
        f"loss {_f(ap['log_loss'])}, Brier {_f(ap['brier'])}.",
    ]
    if "mmlu_path" in d:
        mp = d["mmlu_path"]
        lines.append(
            f"With the ability taken from public MMLU instead (how models without outcome data "
            f"are judged): mean AUC {_f(mp['mean_auc'])}, log loss {_f(mp['log_loss'])}, Brier "
            f"{_f(mp['brier'])}. MMLU fit over {mf['models']} models: ability = "
            f"{mf['intercept']:.3f} + {mf['slope']:.4f} x MMLU (correlation {_f(mf['corr'], 2)}).")
    shares = d["label_share_held_out"]
    lines.append("Labels on held-out prompts: " + ", ".join(
        f"{k} {100 * v:.0f}%" for k, v in shares.items()) + ".")
    lines += ["", "**Routing on each source's held-out prompts**: the cheapest model whose "
              "predicted P(good) >= t (else the most likely), against the best single model.",
              "", "| source | n | models | policy | quality | cost / query | vs best: quality "
              "| vs best: cost |", "|---|---:|---:|---|---:|---:|---:|---:|"]
    for source, r in m["routing"].items():
        b, ch, o = r["best_single"], r["cheapest_single"], r["oracle"]
        head = f"| {source} | {r['n']} | {r['models']}"
        lines.append(f"{head} | best single ({b['model']}) | {b['quality']:.3f} | "
                     f"${b['cost']:.6f} | 100% | 100% |")
        lines.append(f"| | | | cheapest single ({ch['model']}) | {ch['quality']:.3f} | "
                     f"${ch['cost']:.6f} | {_pct(ch['quality'] / b['quality'])} | "
                     f"{_pct(ch['cost'] / b['cost'] if b['cost'] else math.nan)} |")
        for p in r["policy"]:
            lines.append(f"| | | | t = {p['t']:.1f} | {p['quality']:.3f} | ${p['cost']:.6f} | "
                         f"{_pct(p['quality_vs_best'])} | {_pct(p['cost_vs_best'])} |")
        lines.append(f"| | | | oracle | {o['quality']:.3f} | ${o['cost']:.6f} | "
                     f"{_pct(o['quality'] / b['quality'])} | "
                     f"{_pct(o['cost'] / b['cost'] if b['cost'] else math.nan)} |")
    lines += ["", "Least cost (share of the best single model's) reaching a share of its "
              "quality, over a sweep of t:", "",
              "| source | cost basis | " + " | ".join(f"{float(f):.0%} quality"
                                                    for f in QUALITY_FRACTIONS) + " |",
              "|---|---|" + "---:|" * len(QUALITY_FRACTIONS)]
    for source, r in m["routing"].items():
        lines.append(f"| {source} | {r['cost_basis']} | " + " | ".join(
            _pct(v) for v in r["cost_vs_best_at_quality"].values()) + " |")
    ot = m["output_tokens"]
    lines += ["", "**Output tokens** (held-out prompts; median absolute percentage error):", ""]
    for source, v in ot.items():
        lines.append(f"- {source} (n {v['n']:,}, median {v['median_tokens']:.0f} tokens): "
                     f"{_pct(v['mdape'])}; baselines: one constant "
                     f"{_pct(v['mdape_constant'])}, the source's median "
                     f"{_pct(v['mdape_source_median'])}, each model's median "
                     f"{_pct(v['mdape_model_median'])}")
    it = m.get("input_tokens") or {}
    if it:
        ours, quarter = it["estimate_tokens"], it["chars_div_4"]
        llama = f"mdape_{it['tokenizer_fit']}"
        lines += ["", f"**Input tokens** (RouteProfile: {it['rows']:,} prompt x model rows with "
                  "real counts; one template intercept per task and tokenizer): "
                  f"`estimate_tokens` {_pct(ours['mdape_all_tokenizers'])} median error over "
                  f"all tokenizers, {_pct(ours[llama])} on {it['tokenizer_fit']}'s it was "
                  f"fitted on; chars / 4: {_pct(quarter['mdape_all_tokenizers'])} and "
                  f"{_pct(quarter[llama])}."]
        if "coefficients" in it:
            coef = ", ".join(f"{k} {v}" for k, v in it["coefficients"].items())
            lines.append(f"Refit today: {coef} (in sample {_pct(it['fit_mdape'])}, "
                         f"leave-one-out {_pct(it['fit_mdape_leave_one_out'])}).")
    lat = m.get("latency_us")
    if lat:
        lines += ["", f"**Latency** of `assess` ({lat['n']:,} held-out prompts, mean "
                  f"{lat['mean_chars']:.0f} characters, one thread, best of 3 passes per "
                  f"prompt): p50 {lat['p50']:.0f} µs, p90 {lat['p90']:.0f} µs, p99 "
                  f"{lat['p99']:.0f} µs, max {lat['max']:.0f} µs; 500-character prompts: p50 "
                  f"{lat['p50_500']:.0f} µs, p99 {lat['p99_500']:.0f} µs."]
    lines.append(END)
    return "\n".join(lines)


def update_card(readme: Path, metrics: dict[str, Any]) -> None:
    """Replace the text between the training markers (or append it) with fresh numbers."""
    section = card_section(metrics)
    text = readme.read_text(encoding="utf-8") if readme.exists() else "# Model card\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        text = before + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## Validation metrics\n\n" + section + "\n"
    readme.write_text(text, encoding="utf-8")


def run(data_dir: str, out: str, readme: str | None = None) -> dict[str, Any]:
    """Entry point of ``router train``: train, write the artifact and, if asked, the card."""
    metrics = train(Path(data_dir), Path(out))
    if readme:
        update_card(Path(readme), metrics)
    return metrics
