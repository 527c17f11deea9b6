"""Request-time complexity classifier: plain numpy over arrays exported by training.

For a task description it predicts

- per model "head" (a model with outcome data): the probability that the model answers well;
- a difficulty z on an IRT scale, reported as a score in [0, 1] (its quantile among training
  prompts) with an easy / medium / hard label at the terciles;
- per model: output tokens.

Models without outcome data share the IRT scale: ``P = sigmoid(ability - z(text))``, with the
ability given directly or mapped from a public MMLU score by a fit stored in the artifact.

Every prediction is linear in the same features (sublinear TF-IDF terms, standardised structure
cues and their pairwise products), so one request costs a tokenisation, a dictionary lookup per
term, and one (terms x outputs) gather and matrix-vector product. The
artifact is a single ``.npz`` read with ``allow_pickle=False``: loading runs no code.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from itertools import chain, pairwise
from pathlib import Path
from typing import Any

import numpy as np

from router.core.features import CUES, N_PAIRS, cue_pairs, cues, tokenize

LABELS = ("easy", "medium", "hard")
FORMAT = 3  # bumped whenever the arrays below change meaning
MAX_OUTPUT_TOKENS = 100_000
_LOG_MAX_OUTPUT = math.log(MAX_OUTPUT_TOKENS)
# The arrays of an artifact, their shapes in V (vocabulary), K (cues), P (cue pairs), H (heads),
# Q (quantiles) and O = 2H + 2 linear outputs: H head logits, the ease -z, the global log output
# tokens, then H per-head log output tokens.
_SHAPES = {
    "idf": ("V",), "w": ("V", "O"), "w_cues": ("K", "O"), "bias": ("O",),
    "cue_lo": ("K",), "cue_hi": ("K",), "cue_mean": ("K",), "cue_std": ("K",),
    "w_pairs": ("P", "O"), "pair_mean": ("P",), "pair_std": ("P",),
    "ability": ("H",), "mmlu_fit": (2,), "z_quantiles": ("Q",),
}


@dataclass(frozen=True, slots=True)
class QualityRef:
    """How a catalog model's quality is judged: by one of the three, tried in this order."""

    head: str | None = None  # a per-model head of the artifact, e.g. "gpt-4-1106-preview"
    ability: float | None = None  # IRT ability on the artifact's difficulty scale
    mmlu: float | None = None  # public MMLU score in percent, mapped to an ability


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the classifier says about one text; per-model values are indexed by slot."""

    score: float  # difficulty in [0, 1]: 0 easy, 1 hard
    label: str  # one of LABELS
    _quality: tuple[float, ...]
    _output: tuple[int, ...]

    def quality(self, slot: int) -> float:
        """Predicted probability that the model in ``slot`` answers well."""
        return self._quality[slot]

    def output_tokens(self, slot: int) -> int:
        """Predicted output tokens of the model in ``slot`` (>= 1)."""
        return self._output[slot]


def pack_text(text: str) -> np.ndarray:
    """A string as a uint8 array: stored in the .npz without pickling."""
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def unpack_text(arr: np.ndarray) -> str:
    return arr.tobytes().decode("utf-8")


class Classifier:
    """Loaded once at start-up. ``resolve`` maps catalog models to slots; ``assess`` is the hot
    path and only reads state, so one instance serves every thread."""

    def __init__(self, meta: dict[str, Any], vocab: list[str], arrays: dict[str, np.ndarray]
                 ) -> None:
        self.meta = meta
        self.version: str = meta["version"]
        self.heads: tuple[str, ...] = tuple(meta["heads"])
        _check_shapes(arrays, v=len(vocab), h=len(self.heads), k=len(CUES))
        self._n = len(self.heads)
        # Bigrams are keyed by token pairs: a tuple of two tokens hashes from the tokens' cached
        # hashes, cheaper than joining them into a new string.
        self._unigrams: dict[str, int] = {}
        self._bigrams: dict[tuple[str, ...], int] = {}
        for i, term in enumerate(vocab):
            if " " in term:
                self._bigrams[tuple(term.split(" "))] = i
            else:
                self._unigrams[term] = i
        self._idf = arrays["idf"].astype(np.float64)
        self._w = arrays["w"].astype(np.float64)
        # cues are clipped to the range seen in training and standardised; their pairwise
        # products are standardised too, which is folded into the weights:
        # (p - mean) / std @ W = p @ W' + b'. Cues and pairs then share one product.
        self._cue_lo = arrays["cue_lo"].astype(np.float64)
        self._cue_hi = arrays["cue_hi"].astype(np.float64)
        self._cue_mean = arrays["cue_mean"].astype(np.float64)
        self._cue_scale = 1.0 / arrays["cue_std"].astype(np.float64)
        pair_scale = 1.0 / arrays["pair_std"].astype(np.float64)
        w_pairs = arrays["w_pairs"].astype(np.float64)
        self._w_struct = np.vstack([arrays["w_cues"].astype(np.float64),
                                    w_pairs * pair_scale[:, None]])
        self._bias = (arrays["bias"].astype(np.float64)
                      - (arrays["pair_mean"].astype(np.float64) * pair_scale) @ w_pairs)
        self._ability = arrays["ability"].astype(np.float64)
        self._mmlu_fit = tuple(float(x) for x in arrays["mmlu_fit"])
        self._z_quantiles = [float(x) for x in arrays["z_quantiles"]]
        self._head_index = {h.lower(): i for i, h in enumerate(self.heads)}
        self._extra: list[float] = []  # abilities of the slots after the heads
        self._set_slots()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Classifier:
        """Read an artifact written by ``save_artifact``; ValueError says what is wrong."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"{path}: classifier artifact not found (train one with "
                             "`router train`)")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
            meta = json.loads(unpack_text(arrays.pop("meta")))
            if not isinstance(meta, dict):
                raise ValueError("metadata is not a JSON object")
            if meta.get("format") != FORMAT:
                raise ValueError(f"artifact format {meta.get('format')!r}, this code reads "
                                 f"{FORMAT}: retrain")
            vocab = unpack_text(arrays.pop("vocab")).split("\n")
            return cls(meta, vocab, arrays)
        except (KeyError, OSError, ValueError, TypeError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{path}: not a valid classifier artifact: {exc}") from None

    def resolve(self, ref: QualityRef) -> int:
        """The slot judging a catalog model: its head, else an ability, else its MMLU score.

        Unknown head: KeyError; a reference with nothing set: ValueError. Called once per model
        at start-up (each ability or MMLU reference adds a slot).
        """
        if ref.head is not None:
            try:
                return self._head_index[ref.head.lower()]
            except KeyError:
                raise KeyError(f"the classifier has no head {ref.head!r}") from None
        if ref.ability is not None:
            ability = float(ref.ability)
        elif ref.mmlu is not None:
            ability = self.mmlu_ability(ref.mmlu)
        else:
            raise ValueError("a quality reference needs a head, an ability or an MMLU score")
        if not math.isfinite(ability):
            raise ValueError(f"ability must be finite, got {ability}")
        self._extra.append(ability)
        self._set_slots()
        return self._n + len(self._extra) - 1

    def mmlu_ability(self, mmlu: float) -> float:
        """The ability the artifact's fit gives a public MMLU score (percent)."""
        intercept, slope = self._mmlu_fit
        return intercept + slope * float(mmlu)

    def head_ability(self, head: str) -> float:
        """A head's IRT ability (what a model of the same strength without data would get)."""
        return float(self._ability[self._head_index[head.lower()]])

    def _set_slots(self) -> None:
        """Per-slot gathers from the linear outputs ``out``: a slot's logit is out[pick] + add
        (a head's own logit, or ability - z = ability + out[n]); its log output tokens are
        out[tokens] (a head's own length model, else the global one)."""
        n, extra = self._n, np.array(self._extra, dtype=np.float64)
        pick = np.concatenate([np.arange(n), np.full(len(extra), n)])
        add = np.concatenate([np.zeros(n), extra])
        tokens = np.concatenate([np.arange(n + 2, 2 * n + 2), np.full(len(extra), n + 1)])
        self._slots = (pick, add, tokens)  # one tuple: a concurrent ``assess`` sees old or new

    def assess(self, text: str) -> Assessment:
        """Quality per slot, difficulty and output tokens for one task description."""
        out = self._linear(text)
        pick, add, tokens = self._slots
        quality = 1.0 / (1.0 + np.exp(-(out[pick] + add)))
        expected = np.exp(np.minimum(out[tokens], _LOG_MAX_OUTPUT))
        tokens_out = np.maximum(expected + 0.5, 1.0).astype(np.int64)
        score = self._score(-float(out[self._n]))
        return Assessment(score, LABELS[min(int(score * 3.0), 2)], tuple(quality.tolist()),
                          tuple(tokens_out.tolist()))

    def difficulty(self, text: str) -> float:
        """The text's difficulty logit z (``assess`` reports its quantile as the score)."""
        return -float(self._linear(text)[self._n])

    def _linear(self, text: str) -> np.ndarray:
        """Every linear output at once (the O columns described at ``_SHAPES``).

        A term occurring n times weighs (1 + ln n) x its idf (sublinear TF-IDF, L2-normalised):
        repetition counts, with diminishing returns.
        """
        tokens = tokenize(text)
        counts = Counter(chain(map(self._unigrams.get, tokens),
                               map(self._bigrams.get, pairwise(tokens))))
        counts.pop(None, None)
        clipped = np.minimum(np.maximum(cues(text, tokens), self._cue_lo), self._cue_hi)
        z = (clipped - self._cue_mean) * self._cue_scale
        out = np.concatenate([z, cue_pairs(z)]) @ self._w_struct + self._bias
        if counts:
            n = len(counts)
            rows = np.fromiter(counts, dtype=np.intp, count=n)
            v = self._idf[rows] * (1.0 + np.log(np.fromiter(counts.values(), np.float64, n)))
            out += (v @ self._w.take(rows, axis=0)) / math.sqrt(v @ v)
        return out

    def _score(self, z: float) -> float:
        """Quantile of ``z`` among the training prompts' difficulties, interpolated."""
        q = self._z_quantiles
        k = bisect_right(q, z)
        if k == 0:
            return 0.0
        if k == len(q):
            return 1.0
        lo, hi = q[k - 1], q[k]
        frac = (z - lo) / (hi - lo) if hi > lo else 0.0
        return (k - 1 + frac) / (len(q) - 1)


def _check_shapes(arrays: dict[str, np.ndarray], *, v: int, h: int, k: int) -> None:
    sizes = {"V": v, "H": h, "O": 2 * h + 2, "K": k, "P": N_PAIRS,
             "Q": len(arrays.get("z_quantiles", ()))}
    for name, shape in _SHAPES.items():
        if name not in arrays:
            raise KeyError(f"missing array {name!r}")
        want = tuple(sizes[d] if isinstance(d, str) else d for d in shape)
        if arrays[name].shape != want:
            raise ValueError(f"array {name!r} has shape {arrays[name].shape}, expected {want}")
        if not np.isfinite(arrays[name]).all():
            raise ValueError(f"array {name!r} has non-finite values")
    if sizes["Q"] < 2 or np.any(np.diff(arrays["z_quantiles"]) < 0):
        raise ValueError("z_quantiles must be at least two non-decreasing values")


def save_artifact(path: str | os.PathLike[str], *, meta: dict[str, Any], vocab: list[str],
                  arrays: dict[str, np.ndarray]) -> None:
    """Write an artifact ``Classifier.load`` reads (used by training). Weights go as float32."""
    if any("\n" in t for t in vocab):
        raise ValueError("vocabulary terms may not contain newlines")
    meta = {**meta, "format": FORMAT}
    with open(path, "wb") as fh:  # an explicit file: savez would append ".npz" to other names
        columns: dict[str, np.ndarray] = {
            "meta": pack_text(json.dumps(meta, sort_keys=True)),
            "vocab": pack_text("\n".join(vocab)),
            **{k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()}}
        np.savez_compressed(fh, **columns)  # type: ignore[arg-type]  # numpy types **kwds poorly
