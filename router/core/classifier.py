"""Request-time complexity classifier: plain numpy over arrays exported by training.

For a task description it predicts, per model "head" (a model with outcome data), the probability
that the model answers well; a difficulty in [0, 1] with an easy/medium/hard label; and how many
output tokens each model will write. Models without outcome data are placed on the same scale by
an IRT-style ability (``P = sigmoid(ability - z(text))``, z the text's difficulty logit), given
directly or derived from a public MMLU score through a fit stored in the artifact.

The artifact is one ``.npz`` loaded with ``allow_pickle=False``: no code runs at load time.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from router.core.features import cues, terms, tokenize

LABELS = ("easy", "medium", "hard")
MAX_OUTPUT_TOKENS = 100_000


@dataclass(frozen=True, slots=True)
class QualityRef:
    """How a catalog model's quality is judged: exactly one of the three."""

    head: str | None = None  # a head of the artifact, e.g. "gpt-4-1106-preview"
    ability: float | None = None  # IRT ability on the artifact's difficulty scale
    mmlu: float | None = None  # public MMLU score in percent, mapped to an ability


def _text(arr: np.ndarray) -> str:
    return arr.tobytes().decode("utf-8")


def _pack(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


@dataclass(frozen=True, slots=True)
class Assessment:
    score: float  # difficulty in [0, 1]
    label: str  # one of LABELS
    _quality: np.ndarray = field(repr=False)  # per slot
    _output: np.ndarray = field(repr=False)  # per slot

    def quality(self, slot: int) -> float:
        """Predicted probability that the model in ``slot`` answers well."""
        return float(self._quality[slot])

    def output_tokens(self, slot: int) -> int:
        """Predicted output tokens of the model in ``slot`` (>= 1)."""
        return int(self._output[slot])


class Classifier:
    """Loaded once at start-up; ``assess`` is the hot path."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        meta = json.loads(_text(arrays["meta"]))
        self.version: str = meta["version"]
        self.meta: dict[str, Any] = meta
        self.heads: tuple[str, ...] = tuple(_text(arrays["heads"]).split("\n"))
        vocab = _text(arrays["vocab"]).split("\n")
        self._vocab = {term: i for i, term in enumerate(vocab)}
        self._idf = arrays["idf"].astype(np.float64)
        self._w = arrays["w"].astype(np.float64)  # (V, H)
        self._wd = arrays["wd"].astype(np.float64)  # (K, H)
        self._b = arrays["b"].astype(np.float64)  # (H,)
        self._cue_mean = arrays["cue_mean"].astype(np.float64)
        self._cue_std = arrays["cue_std"].astype(np.float64)
        self._ability = arrays["ability"].astype(np.float64)  # (H,) head abilities
        self._mmlu_fit = arrays["mmlu_fit"].astype(np.float64)  # ability = a + b * mmlu
        self._difficulty_q = arrays["difficulty_quantiles"].astype(np.float64)
        self._score_grid = np.linspace(0.0, 1.0, len(self._difficulty_q))
        self._out_w = arrays["out_w"].astype(np.float64)  # (V,)
        self._out_wd = arrays["out_wd"].astype(np.float64)  # (K,)
        # difficulty: a regression of the logit of the share of models answering well
        self._dif_w = arrays["difficulty_w"].astype(np.float64)  # (V,)
        self._dif_wd = arrays["difficulty_wd"].astype(np.float64)  # (K,)
        self._dif_b = float(arrays["difficulty_b"])
        self._out_b = float(arrays["out_b"])
        self._out_offset = arrays["out_offset"].astype(np.float64)  # (H,), NaN: no data
        self._out_default = float(np.nanmean(self._out_offset))
        self._head_index = {h.lower(): i for i, h in enumerate(self.heads)}
        self._extra: list[float] = []  # abilities of slots past the heads
        if self._w.shape != (len(vocab), len(self.heads)):
            raise ValueError("classifier artifact is inconsistent: weights do not match "
                             "vocabulary and heads")
        self._refresh()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Classifier:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
            return cls(arrays)
        except FileNotFoundError:
            raise ValueError(f"{path}: classifier artifact not found (run `make train`)") from None
        except (KeyError, OSError, ValueError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not a valid classifier artifact: {exc}") from None

    def _refresh(self) -> None:
        self._extra_ability = np.array(self._extra, dtype=np.float64)
        offsets = np.where(np.isnan(self._out_offset), self._out_default, self._out_offset)
        self._slot_offset = np.concatenate([offsets, np.full(len(self._extra),
                                                             self._out_default)])

    def resolve(self, ref: QualityRef) -> int:
        """A slot for a catalog model's quality reference; call once per model at start-up."""
        if ref.head is not None:
            try:
                return self._head_index[ref.head.lower()]
            except KeyError:
                raise KeyError(f"the classifier has no head {ref.head!r}") from None
        if ref.ability is not None:
            ability = ref.ability
        elif ref.mmlu is not None:
            ability = float(self._mmlu_fit[0] + self._mmlu_fit[1] * ref.mmlu)
        else:
            raise ValueError("a quality reference needs a head, an ability or an MMLU score")
        self._extra.append(ability)
        self._refresh()
        return len(self.heads) + len(self._extra) - 1

    def head_ability(self, head: str) -> float:
        return float(self._ability[self._head_index[head.lower()]])

    def assess(self, text: str) -> Assessment:
        tokens = tokenize(text)
        counts: dict[int, int] = {}
        for i in map(self._vocab.get, terms(tokens)):
            if i is not None:
                counts[i] = counts.get(i, 0) + 1
        dense = (cues(text, tokens) - self._cue_mean) / self._cue_std
        logits = dense @ self._wd + self._b
        out_log = float(dense @ self._out_wd) + self._out_b
        ease = float(dense @ self._dif_wd) + self._dif_b
        if counts:
            idx = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
            n = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            weights = (1.0 + np.log(n)) * self._idf[idx]  # sublinear tf x idf, then L2
            weights /= math.sqrt(float(weights @ weights))
            logits = logits + weights @ self._w[idx]
            out_log += float(weights @ self._out_w[idx])
            ease += float(weights @ self._dif_w[idx])
        z = -ease  # the text's difficulty logit
        quality = 1.0 / (1.0 + np.exp(np.concatenate([-logits, z - self._extra_ability])))
        output = np.maximum(np.minimum(np.exp(out_log + self._slot_offset) + 0.5,
                                       MAX_OUTPUT_TOKENS).astype(np.int64), 1)
        score = float(np.interp(z, self._difficulty_q, self._score_grid))
        return Assessment(score, LABELS[min(int(score * 3), 2)], quality, output)


def save_artifact(path: str | os.PathLike[str], *, meta: dict[str, Any], heads: list[str],
                  vocab: list[str], arrays: dict[str, np.ndarray]) -> None:
    """Write an artifact ``Classifier.load`` reads (used by training)."""
    if any("\n" in t for t in vocab) or any("\n" in h for h in heads):
        raise ValueError("vocabulary terms and head names may not contain newlines")
    np.savez_compressed(
        path, meta=_pack(json.dumps(meta, sort_keys=True)), heads=_pack("\n".join(heads)),
        vocab=_pack("\n".join(vocab)),
        **{k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()})
