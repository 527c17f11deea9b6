"""Request-time complexity classifier: plain numpy over arrays exported by training.

For a task description it predicts

- per model "head" (a model with outcome data): the probability that the model answers well;
- a difficulty z on an IRT scale, reported as a score in [0, 1] (its quantile among training
  prompts) with an easy / medium / hard label at the terciles;
- per model: output tokens.

Models without outcome data share the IRT scale: ``P = sigmoid(ability - z(text))``, with the
ability given directly or mapped from a public MMLU score by a fit stored in the artifact.

Every prediction is linear in the same features (sublinear TF-IDF terms, standardised structure
cues and their pairwise products), so one request costs a tokenisation, one dictionary lookup per
token, and a few vectorised steps: the terms' keys looked up in a sorted array, counted, and one
(terms x outputs) gather and matrix-vector product, plus one for the cues. The
artifact is a single ``.npz`` read with ``allow_pickle=False``: loading runs no code.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from bisect import bisect_right
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

from router.core.features import (
    CUES,
    HEAD_CHARS,
    N_PAIRS,
    PAIR_INDEX,
    TAIL_CHARS,
    bounded,
    cue_values,
    tokenize_bounded,
)

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
        self._layout_terms(vocab, arrays["idf"], arrays["w"])
        self._layout_cues(arrays)
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
        out[tokens] (a head's own length model, else the global one).

        ``assess`` reads both through one gather, index = pick then tokens: it computes
        exp(min(sign * (out[index] + add), cap)) with sign -1 and cap +inf on the logits (add 0,
        sign 1 and cap the log of the output cap on the tokens), which is exactly exp(-logit)
        and exp(min(log tokens, cap)).
        """
        n, extra = self._n, np.array(self._extra, dtype=np.float64)
        pick = np.concatenate([np.arange(n), np.full(len(extra), n)])
        add = np.concatenate([np.zeros(n), extra])
        tokens = np.concatenate([np.arange(n + 2, 2 * n + 2), np.full(len(extra), n + 1)])
        s = len(pick)
        # one tuple: a concurrent ``assess`` sees old or new
        self._slots = (np.concatenate([pick, tokens]), np.concatenate([add, np.zeros(s)]),
                       np.concatenate([np.full(s, -1.0), np.ones(s)]),
                       np.concatenate([np.full(s, np.inf), np.full(s, _LOG_MAX_OUTPUT)]), s)

    def assess(self, text: str) -> Assessment:
        """Quality per slot, difficulty and output tokens for one task description."""
        out = self._linear(text)
        index, add, sign, cap, s = self._slots
        e = out[index]  # a fresh array, worked in place (see _set_slots)
        e += add
        e *= sign
        np.minimum(e, cap, out=e)
        np.exp(e, out=e)
        quality, expected = e[:s], e[s:]
        quality += 1.0  # 1 / (1 + exp(-logit))
        np.divide(1.0, quality, out=quality)
        expected += 0.5  # tokens: max(expected + 0.5, 1), floored
        np.maximum(expected, 1.0, out=expected)
        score = self._score(-float(out[self._n]))
        return Assessment(score, LABELS[min(int(score * 3.0), 2)], tuple(quality.tolist()),
                          tuple(expected.astype(np.int64).tolist()))

    def difficulty(self, text: str) -> float:
        """The text's difficulty logit z (``assess`` reports its quantile as the score)."""
        return -float(self._linear(text)[self._n])

    def _linear(self, text: str) -> np.ndarray:
        """Every linear output at once (the O columns described at ``_SHAPES``).

        A term occurring n times weighs (1 + ln n) x its idf (sublinear TF-IDF, L2-normalised):
        repetition counts, with diminishing returns.

        The hot path, written for few Python-level steps: each small numpy call costs about as
        much as its arithmetic (``.dot`` is used over ``@`` for that reason).
        """
        head = bounded(text)
        tokens = tokenize_bounded(head)
        # structure: [1, z] x [1, z] holds the constant, the cues and their pairs (see
        # _layout_cues), so one product gives the bias, cue and pair terms
        z = np.array([1.0, *cue_values(text, head, len(tokens))])
        z = ((np.minimum(np.maximum(z, self._cue_lo), self._cue_hi) - self._cue_mean)
             * self._cue_scale)
        out: np.ndarray = np.multiply.outer(z, z).ravel().dot(self._w_struct)
        # terms: token ids, then the keys of the unigrams and of the bigrams between the two
        # sentinel keys (_layout_terms); sorted, the terms found come out in runs, one a term
        ids = np.array(list(map(self._token_ids.get, tokens, repeat(self._unknown))),
                       dtype=np.intp)
        keys = np.concatenate((self._sentinels, ids, ids[:-1] * self._radix + ids[1:]))
        keys.sort()
        at = self._keys.searchsorted(keys)
        at = at[self._keys[at] == keys]  # the sentinels' places, first and last, and the terms'
        if at.size > 2:
            ends = (at[1:] != at[:-1]).nonzero()[0]  # 0 (the low sentinel), then each run's last
            last = ends[1:]
            rows, counts = at[last], last - ends[:-1]
            tf = self._tf[counts] if len(tokens) < len(self._tf) else 1.0 + np.log(counts)
            v = self._idf[rows] * tf
            out += v.dot(self._w.take(rows, axis=0)) / math.sqrt(v.dot(v))
        return out

    def _layout_terms(self, vocab: list[str], idf: np.ndarray, w: np.ndarray) -> None:
        """The vocabulary as integer keys over token ids, with the term arrays in key order.

        The tokens of the terms get ids 1..U, any other token ``_unknown`` = U + 1; with radix
        R = U + 2 a unigram's key is its id and a bigram's t1 * R + t2: distinct, the bigrams'
        above the unigrams', and never the key of a pair holding an unknown token. ``_keys`` is
        sorted between two sentinels, 0 and R * R, below and above any key a text makes: a
        search lands on an element, and ``_linear`` adds both to a text's keys so that the terms'
        runs are bracketed. ``_idf`` and ``_w`` hold the terms' rows in the same order (row 0,
        the low sentinel's, is never read), so where a key is found is the row to read.
        """
        token_ids: dict[str, int] = {}
        for term in vocab:
            for token in term.split(" "):
                token_ids.setdefault(token, len(token_ids) + 1)
        unknown = len(token_ids) + 1
        radix = unknown + 1
        row_of: dict[int, int] = {}  # a repeated term keeps its last row, as a dict did
        for i, term in enumerate(vocab):
            parts = [token_ids[t] for t in term.split(" ")]
            if len(parts) == 1:
                row_of[parts[0]] = i
            elif len(parts) == 2:  # longer terms are never looked up (terms are 1 or 2 tokens)
                row_of[parts[0] * radix + parts[1]] = i
        keys = sorted(row_of)
        rows = [row_of[k] for k in keys]
        self._token_ids, self._unknown, self._radix = token_ids, unknown, radix
        self._sentinels = np.array([0, radix * radix], dtype=np.intp)
        self._keys = np.array([0, *keys, radix * radix], dtype=np.intp)
        self._idf = np.concatenate([[0.0], idf.astype(np.float64)[rows]])
        w = w.astype(np.float64)
        self._w = np.concatenate([np.zeros((1, w.shape[1])), w[rows]])
        # 1 + ln n for every count n a bounded text can reach (each token is a character or more;
        # lower-casing can lengthen a text, which _linear checks)
        counts = np.arange(HEAD_CHARS + TAIL_CHARS + 2, dtype=np.float64)
        counts[0] = 1.0  # (no term occurs 0 times)
        self._tf = 1.0 + np.log(counts)

    def _layout_cues(self, arrays: dict[str, np.ndarray]) -> None:
        """Cues are clipped to the range seen in training and standardised; their pairwise
        products are standardised too, which is folded into the weights:
        (p - mean) / std @ W = p @ W' + b'. With a constant 1 put before the K cues (clipped to
        [1, 1], standardised by mean 0 and scale 1, so it stays 1), the outer product of that
        vector with itself holds 1, the cues and every pair: its (K + 1)^2 weights are the bias,
        the cue weights, the pair weights on the upper triangle, and zeros."""
        k = len(CUES)
        f64 = {name: arrays[name].astype(np.float64) for name in
               ("cue_lo", "cue_hi", "cue_mean", "cue_std", "w_cues", "w_pairs", "pair_mean",
                "pair_std", "bias")}
        one, zero = np.ones(1), np.zeros(1)
        self._cue_lo = np.concatenate([one, f64["cue_lo"]])
        self._cue_hi = np.concatenate([one, f64["cue_hi"]])
        self._cue_mean = np.concatenate([zero, f64["cue_mean"]])
        self._cue_scale = np.concatenate([one, 1.0 / f64["cue_std"]])
        pair_scale = 1.0 / f64["pair_std"]
        w_pairs = f64["w_pairs"]
        w_struct = np.zeros((k + 1, k + 1, w_pairs.shape[1]))
        w_struct[0, 0] = f64["bias"] - (f64["pair_mean"] * pair_scale) @ w_pairs
        w_struct[0, 1:] = f64["w_cues"]
        w_struct[PAIR_INDEX[0] + 1, PAIR_INDEX[1] + 1] = w_pairs * pair_scale[:, None]
        self._w_struct = w_struct.reshape((k + 1) ** 2, -1)

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
