"""The training corpus: every outcome file of the data folder, read into one table of distinct
prompts with their outcomes, output lengths, costs and prices.

Data (``../shared/data/routing/`` or ``--data``; its README documents the columns): the wide
``*_train.csv`` files and RouteProfile's long table give (prompt, model, score) outcomes;
RouteProfile's ``completion_tokens`` and the RouterBench answers give output lengths;
``models.csv`` gives prices. Prompts are merged by their text (a few appear in two sources), and
a prompt is held out when any of its copies is in the validation split
(``router.evaluation.split``). The split is per row, so each source is held out at the same rate.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from router.core.tokens import FRAMING, estimate_tokens
from router.evaluation.split import is_validation

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


def parse_number(text: str | None) -> float | None:
    """A cell's finite number, or None (empty, missing, not a number, NaN or infinite)."""
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
                    number = parse_number(value)
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
                if (score := parse_number(rec.get("score"))) is not None:
                    corpus.outcomes.append((i, model, score, "routeprofile"))
                if (tokens := parse_number(rec.get("completion_tokens"))) is not None:
                    corpus.lengths.append((i, model, max(tokens, 1.0), "routeprofile"))
                if (cost := parse_number(rec.get("cost_usd"))) is not None:
                    corpus.costs[(i, model, "routeprofile")] = cost
                if (given := parse_number(rec.get("prompt_tokens"))) is not None:
                    corpus.prompt_tokens.append((rec["prompt"], rec["task"], model, int(given)))
    responses = data_dir / "routerbench_train_responses.jsonl"
    if responses.exists():
        with responses.open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                row = by_id.get(("routerbench", rec["sample_id"]))
                if row is None:
                    continue
                for model, text in rec["responses"].items():
                    tokens = max(1, estimate_tokens(text or "") - FRAMING)
                    corpus.lengths.append((row, model, float(tokens), "routerbench"))
    models = data_dir / "models.csv"
    if models.exists():
        with models.open(newline="", encoding="utf-8") as fh:
            for rec in csv.DictReader(fh):
                pin, pout = (parse_number(rec.get(k))
                             for k in ("input_usd_per_1m", "output_usd_per_1m"))
                if pin is not None and pout is not None:
                    corpus.prices[(rec["source"], rec["model"])] = (pin, pout)
    for model, price in ROUTELLM_PRICES.items():
        corpus.prices.setdefault(("routellm", model), price)
    return corpus


def source_counts(corpus: Corpus) -> dict[str, dict[str, int]]:
    """Prompts and held-out prompts of each source (a prompt in two sources counts in both)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"prompts": 0, "held_out": 0})
    for sources, held in zip(corpus.sources, corpus.held_out, strict=True):
        for s in sources:
            counts[s]["prompts"] += 1
            counts[s]["held_out"] += int(held)
    return dict(sorted(counts.items()))
