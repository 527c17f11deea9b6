"""Train the complexity classifier on routing outcomes (``router train``). scikit-learn, offline.

Data (``../shared/data/routing/`` or ``--data``): the three wide ``*_train.csv`` files and
RouteProfile's long table give (prompt, model, score) labels; RouteProfile's completion_tokens and
RouterBench's responses give output lengths. A stable 20% of prompts, chosen by a hash of
(source, id), is held out for validation (``router.evaluation.data.is_validation``), the same rows
``router eval`` treats as unseen.

Model: TF-IDF over word uni/bigrams plus structure cues, shared by one logistic-regression head
per model (soft labels: a score s counts as s positive and 1 - s negative); an IRT-style ability
per head and a linear map from public MMLU to ability place models without outcome data; a ridge
regression of log output tokens with a per-model offset.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from router.core.classifier import Classifier, save_artifact
from router.core.features import CUES, analyzer, cues, tokenize
from router.core.tokens import FRAMING, estimate_tokens
from router.evaluation.data import SCORE, is_validation

# Public MMLU (5-shot, percent) of the data's models, for the MMLU -> ability fit. Sources: the
# model cards and release posts (GPT-4 Turbo 86.4 per OpenAI's simple-evals lineage, Mixtral 70.6,
# Llama 2 70B 68.9, Mistral 7B 60.1, Yi-34B 76.3, Claude 2 78.5, Claude Instant 73.4, GPT-3.5
# 70.0, Qwen2.5-7B-Instruct 74.2, Gemma 2 9B 71.3, Llama 3.1 8B 69.4, Llama 3.3 70B 86.0,
# Llama 3.2 3B 63.4, Mistral Small 3 81.0, Mixtral 8x22B 77.8, Mistral 7B v0.3 62.5). Models whose
# numbers are uncertain or whose data scores are format-bound (ChatQA, CodeGemma, Code Llama,
# WizardLM, Claude 1, Nemotron) are left out of the fit.
PUBLIC_MMLU = {
    "gpt-4-1106-preview": 86.4, "mixtral-8x7b-instruct": 70.6, "mixtral-8x7b-chat": 70.6,
    "llama-2-70b-chat": 68.9, "mistral-7b-chat": 60.1, "Yi-34B-Chat": 76.3, "claude-v2": 78.5,
    "claude-instant-v1": 73.4, "gpt-3.5-turbo-1106": 70.0, "qwen2.5-7b-instruct": 74.2,
    "gemma-2-9b-it": 71.3, "llama-3.1-8b-instruct": 69.4, "llama-3.3-70b-instruct": 86.0,
    "llama-3.2-3b-instruct": 63.4, "mistral-small-24b-instruct-2501-bf16": 81.0,
    "mixtral-8x22b-instruct-v0.1": 77.8, "mistral-7b-instruct-v0.3": 62.5,
}


@dataclass
class Corpus:
    """Every labelled prompt once, with per-head labels and output lengths."""

    prompts: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    validation: list[bool] = field(default_factory=list)
    index: dict[tuple[str, str], int] = field(default_factory=dict)
    labels: dict[str, list[tuple[int, float]]] = field(default_factory=lambda: defaultdict(list))
    lengths: list[tuple[int, str, float]] = field(default_factory=list)  # row, head, tokens

    def row(self, source: str, key: str, prompt: str) -> int:
        if (source, key) not in self.index:
            self.index[(source, key)] = len(self.prompts)
            self.prompts.append(prompt)
            self.sources.append(source)
            self.validation.append(is_validation(source, key))
        return self.index[(source, key)]


def load_corpus(data_dir: Path) -> Corpus:
    csv.field_size_limit(sys.maxsize)
    corpus = Corpus()
    wide = sorted(data_dir.glob("*_train.csv"))
    if not wide:
        raise ValueError(f"{data_dir}: no *_train.csv files")
    for path in wide:
        with path.open(newline="", encoding="utf-8") as fh:
            for rec in csv.DictReader(fh):
                i = corpus.row(rec["source"], rec["id"], rec["prompt"])
                for col, value in rec.items():
                    if col.startswith(SCORE) and value not in ("", None):
                        corpus.labels[col[len(SCORE):]].append((i, float(value)))
    profile = data_dir / "routeprofile_tokens.csv"
    if profile.exists():
        with profile.open(newline="", encoding="utf-8") as fh:
            for rec in csv.DictReader(fh):
                i = corpus.row("routeprofile", f"{rec['task']}:{rec['qid']}", rec["prompt"])
                corpus.labels[rec["model"]].append((i, float(rec["score"])))
                corpus.lengths.append((i, rec["model"], float(rec["completion_tokens"])))
    responses = data_dir / "routerbench_train_responses.jsonl"
    if responses.exists():
        with responses.open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                i = corpus.index.get(("routerbench", rec["sample_id"]))
                if i is None:
                    continue
                for model, text in rec["responses"].items():
                    tokens = max(1, estimate_tokens(text or "") - FRAMING)
                    corpus.lengths.append((i, model, float(tokens)))
    return corpus


def _features(prompts: list[str], vectorizer: TfidfVectorizer, mean: np.ndarray,
              std: np.ndarray) -> sparse.csr_matrix:
    tfidf = vectorizer.transform(prompts)
    dense = np.array([cues(p, tokenize(p)) for p in prompts])
    return sparse.hstack([tfidf, sparse.csr_matrix((dense - mean) / std)]).tocsr()


def _fit_head(x: sparse.csr_matrix, rows: np.ndarray, scores: np.ndarray, c: float
              ) -> LogisticRegression:
    """Soft labels: each row counts as ``s`` of a positive and ``1 - s`` of a negative."""
    xx = sparse.vstack([x[rows], x[rows]])
    y = np.concatenate([np.ones(len(rows)), np.zeros(len(rows))])
    w = np.concatenate([scores, 1.0 - scores])
    keep = w > 0
    return LogisticRegression(C=c, max_iter=2000).fit(xx[keep], y[keep], sample_weight=w[keep])


DEFAULT_OUTPUT_TOKENS = 256  # when the data has no output lengths at all


def _fit_lengths(corpus: Corpus, x: sparse.csr_matrix, heads: list[str], val: np.ndarray
                 ) -> tuple[np.ndarray, float, np.ndarray, float, float]:
    """log(output tokens) ~ features + per-model offset; returns coefficients over the
    features, the intercept, per-head offsets (NaN: no data), and held-out MdAPE vs a constant."""
    if not corpus.lengths:
        return (np.zeros(x.shape[1]), float(np.log(DEFAULT_OUTPUT_TOKENS)),
                np.zeros(len(heads)), float("nan"), float("nan"))
    rows = np.array([r for r, _, _ in corpus.lengths], dtype=int)
    models = [m for _, m, _ in corpus.lengths]
    y = np.log(np.array([t for _, _, t in corpus.lengths]))
    column = [heads.index(m) if m in heads else len(heads) for m in models]
    onehot = sparse.csr_matrix((np.ones(len(models)), (np.arange(len(models)), column)),
                               shape=(len(models), len(heads) + 1))
    xl = sparse.hstack([x[rows], onehot]).tocsr()
    fit = ~val[rows]
    ridge = Ridge(alpha=1.0).fit(xl[fit], y[fit])
    offsets = np.full(len(heads), np.nan)
    for h, name in enumerate(heads):
        if name in set(models):
            offsets[h] = ridge.coef_[x.shape[1] + h]
    if np.isnan(offsets).all():
        offsets[:] = 0.0
    mdape = naive = float("nan")
    if (~fit).any():
        truth = np.exp(y[~fit])
        mdape = float(np.median(np.abs(np.exp(ridge.predict(xl[~fit])) - truth) / truth))
        naive = float(np.median(np.abs(np.exp(np.median(y[fit])) - truth) / truth))
    return ridge.coef_[:x.shape[1]], float(ridge.intercept_), offsets, mdape, naive


def train(data_dir: Path, out_path: Path, *, c: float = 2.0, max_terms: int = 60_000,
          log: Any = print) -> dict[str, Any]:
    started = time.perf_counter()
    corpus = load_corpus(data_dir)
    val = np.array(corpus.validation)
    train_rows = np.flatnonzero(~val)
    log(f"{len(corpus.prompts)} prompts ({val.sum()} held out), {len(corpus.labels)} models")

    vectorizer = TfidfVectorizer(analyzer=analyzer, min_df=3, max_features=max_terms,
                                 sublinear_tf=True, dtype=np.float64)
    vectorizer.fit([corpus.prompts[i] for i in train_rows])
    raw_cues = np.array([cues(p, tokenize(p)) for p in corpus.prompts])
    mean, std = raw_cues[train_rows].mean(axis=0), raw_cues[train_rows].std(axis=0) + 1e-6
    x = _features(corpus.prompts, vectorizer, mean, std)
    vocab_size = len(vectorizer.vocabulary_)

    heads = sorted(corpus.labels)
    weights = np.zeros((x.shape[1], len(heads)))
    bias = np.zeros(len(heads))
    head_metrics: dict[str, dict[str, float]] = {}
    for h, name in enumerate(heads):
        pairs = np.array(corpus.labels[name])
        rows, scores = pairs[:, 0].astype(int), pairs[:, 1]
        fit_mask = ~val[rows]
        model = _fit_head(x, rows[fit_mask], scores[fit_mask], c)
        weights[:, h], bias[h] = model.coef_[0], model.intercept_[0]
        vrows, vscores = rows[~fit_mask], scores[~fit_mask]
        if len(vrows):
            p = model.predict_proba(x[vrows])[:, 1]
            y = vscores >= 0.5
            head_metrics[name] = {
                "n_train": int(fit_mask.sum()), "n_val": len(vrows),
                "auc": float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan"),
                "log_loss": float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1])),
                "brier": float(brier_score_loss(y, p)), "base_rate": float(y.mean())}
        log(f"  head {name}: {head_metrics.get(name, {})}")

    # IRT-style scale. A difficulty regression predicts, from the text alone, the logit of the
    # share of models that answered a prompt well; z = -that is the text's difficulty logit.
    # A head's ability is then its mean (logit + z) over training prompts, so that
    # P(head answers well) ~ sigmoid(ability - z) for a model known only by its ability.
    share = np.zeros(len(corpus.prompts))
    n_labels = np.zeros(len(corpus.prompts))
    for pairs in corpus.labels.values():
        arr = np.array(pairs)
        np.add.at(share, arr[:, 0].astype(int), arr[:, 1])
        np.add.at(n_labels, arr[:, 0].astype(int), 1)
    share = np.clip(share / np.maximum(n_labels, 1), 0.05, 0.95)
    difficulty = Ridge(alpha=3.0).fit(x[train_rows], np.log(share / (1 - share))[train_rows])
    z_all = -difficulty.predict(x)
    logits = x[train_rows] @ weights + bias
    ability = (logits + z_all[train_rows, None]).mean(axis=0)
    quantiles = np.quantile(z_all[train_rows], np.linspace(0, 1, 101))
    share_val = np.log(share / (1 - share))[val]
    difficulty_r = float(np.corrcoef(-z_all[val], share_val)[0, 1])
    known = [(ability[heads.index(k)], v) for k, v in PUBLIC_MMLU.items() if k in heads]
    if len(known) >= 3:
        slope, intercept = np.polyfit([m for _, m in known], [a for a, _ in known], 1)
    else:  # data without public MMLU anchors (tests, new sources): one ability unit per 12 pts
        slope, intercept = 1 / 12, float(ability.mean()) - 70 / 12

    out_coef, out_bias, offsets, length_mdape, naive_mdape = _fit_lengths(corpus, x, heads, val)

    n_vocab = vocab_size
    vocab = [None] * n_vocab
    for term, i in vectorizer.vocabulary_.items():
        vocab[i] = term
    version = f"complexity-v1-{datetime.now(UTC):%Y%m%d}"
    summary = {
        "prompts": len(corpus.prompts), "held_out": int(val.sum()), "heads": len(heads),
        "vocabulary": n_vocab, "mean_auc": float(np.nanmean([m["auc"] for m in
                                                             head_metrics.values()])),
        "difficulty_corr": difficulty_r, "output_tokens_mdape": length_mdape, "output_tokens_mdape_constant": naive_mdape,
        "mmlu_fit": {"intercept": float(intercept), "slope": float(slope),
                     "models": len(known)},
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    meta = {"version": version, "cues": list(CUES), "summary": summary,
            "heads": head_metrics, "c": c}
    save_artifact(
        out_path, meta=meta, heads=heads, vocab=vocab,
        arrays={
            "idf": vectorizer.idf_, "w": weights[:n_vocab], "wd": weights[n_vocab:], "b": bias,
            "cue_mean": mean, "cue_std": std, "ability": ability,
            "mmlu_fit": np.array([intercept, slope]), "difficulty_quantiles": quantiles,
            "out_w": out_coef[:n_vocab], "out_wd": out_coef[n_vocab:],
            "out_b": np.array(out_bias), "out_offset": offsets,
            "difficulty_w": difficulty.coef_[:n_vocab], "difficulty_wd": difficulty.coef_[n_vocab:],
            "difficulty_b": np.array(difficulty.intercept_),
        })
    Classifier.load(out_path)  # the artifact must load before anyone relies on it
    summary["artifact_bytes"] = out_path.stat().st_size
    log(json.dumps(summary, indent=2))
    return {"summary": summary, "heads": head_metrics, "version": version}


def run(data_dir: str, out: str, readme: str | None = None) -> dict[str, Any]:
    """Entry point of ``router train``."""
    result = train(Path(data_dir), Path(out))
    if readme:
        from router.training.model_card import write_training_section

        write_training_section(Path(readme), result)
    return result
