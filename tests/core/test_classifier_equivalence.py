"""``Classifier.assess`` against a frozen copy of the inference it replaced (the oracle below).

The hot path was rewritten for speed (issue 14); the model must not change: the same label and
output tokens, quality and score within 1e-9, on real prompts and on edge cases. The oracle is
the code of ``Classifier._linear`` / ``assess`` and ``features.tokenize`` / ``cues`` as they were
(artifact format 3), reading the artifact's arrays itself so it shares nothing with the code
under test but numpy.
"""

from __future__ import annotations

import csv
import json
import math
import random
import re
import sys
from bisect import bisect_right
from collections import Counter
from itertools import chain, pairwise

import numpy as np
import pytest

from router.core.classifier import LABELS, Classifier, QualityRef, save_artifact, unpack_text
from router.settings import ROOT, Settings

DATA = ROOT.parent / "shared" / "data" / "routing"
TOL = 1e-9


class Oracle:
    """The reference inference, frozen (compact, same arithmetic in the same order)."""

    TOKEN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")
    LINE_MARK = re.compile(
        r"^[ \t]*(?:(\(?[A-Ea-e][.):]\s)|(?:Q|Question|Problem|Input|Example)[ \t]*\d*[ \t]*:)",
        re.MULTILINE)
    CODE = ("```", "def ", "return ", "function", "class ", "import ", "#include", "=>", "};")
    MATH = ("\\frac", "\\sqrt", "√", "∑", "∫")

    def __init__(self, path: str) -> None:
        with np.load(path, allow_pickle=False) as data:
            a = {k: data[k] for k in data.files}
        self.vocab = a.pop("vocab").tobytes().decode("utf-8").split("\n")
        a.pop("meta")
        a = {k: v.astype(np.float64) for k, v in a.items()}
        self.uni = {t: i for i, t in enumerate(self.vocab) if " " not in t}
        self.bi = {tuple(t.split(" ")): i for i, t in enumerate(self.vocab) if " " in t}
        k = len(a["cue_lo"])
        self.pairs = [np.array(ix) for ix in zip(*[(i, j) for i in range(k)
                                                  for j in range(i, k)], strict=True)]
        pair_scale = 1.0 / a["pair_std"]
        self.w_struct = np.vstack([a["w_cues"], a["w_pairs"] * pair_scale[:, None]])
        self.bias = a["bias"] - (a["pair_mean"] * pair_scale) @ a["w_pairs"]
        self.a, self.cue_scale = a, 1.0 / a["cue_std"]

    @staticmethod
    def bounded(text: str) -> str:
        return text if len(text) <= 5_000 else text[:4_000] + "\n" + text[-1_000:]

    def cues(self, text: str, tokens: list[str]) -> np.ndarray:
        head = self.bounded(text)
        raw = head.encode("utf-8", "ignore")
        if "\n" in head:
            marks = self.LINE_MARK.findall(head)
        else:
            first = self.LINE_MARK.match(head)
            marks = [first.group(1) or ""] if first else []
        choices = sum(map(bool, marks))
        maths = len(raw) - len(raw.translate(None, b"$^=+*/")) + sum(map(head.count, self.MATH))
        return np.array([
            math.log1p(len(text)), math.log1p(len(tokens)), math.log1p(head.count("\n")),
            math.log1p(len(raw) - len(raw.translate(None, b"0123456789"))),
            float(any(map(head.__contains__, self.CODE))), math.log1p(maths),
            float(choices >= 2), math.log1p(len(marks) - choices), math.log1p(head.count("?"))])

    def linear(self, text: str) -> np.ndarray:
        a = self.a
        tokens = self.TOKEN.findall(self.bounded(text).lower())
        counts = Counter(chain(map(self.uni.get, tokens), map(self.bi.get, pairwise(tokens))))
        counts.pop(None, None)
        z = (np.minimum(np.maximum(self.cues(text, tokens), a["cue_lo"]), a["cue_hi"])
             - a["cue_mean"]) * self.cue_scale
        out = np.concatenate([z, z[self.pairs[0]] * z[self.pairs[1]]]) @ self.w_struct + self.bias
        if counts:
            n = len(counts)
            rows = np.fromiter(counts, dtype=np.intp, count=n)
            v = a["idf"][rows] * (1.0 + np.log(np.fromiter(counts.values(), np.float64, n)))
            out += (v @ a["w"].take(rows, axis=0)) / math.sqrt(v @ v)
        return out

    def mmlu_ability(self, mmlu: float) -> float:
        return float(self.a["mmlu_fit"][0]) + float(self.a["mmlu_fit"][1]) * mmlu

    def assess(self, text: str, extra: list[float]) -> tuple[float, str, list[float], list[int]]:
        """(score, label, quality per slot, output tokens per slot): heads, then ``extra``."""
        out, h = self.linear(text), len(self.a["ability"])
        pick = np.concatenate([np.arange(h), np.full(len(extra), h)])
        add = np.concatenate([np.zeros(h), np.array(extra, dtype=np.float64)])
        tokens = np.concatenate([np.arange(h + 2, 2 * h + 2), np.full(len(extra), h + 1)])
        quality = 1.0 / (1.0 + np.exp(-(out[pick] + add)))
        expected = np.exp(np.minimum(out[tokens], math.log(100_000)))
        tokens_out = np.maximum(expected + 0.5, 1.0).astype(np.int64)
        z, q = -float(out[h]), [float(x) for x in self.a["z_quantiles"]]
        k = bisect_right(q, z)
        if k == 0:
            score = 0.0
        elif k == len(q):
            score = 1.0
        else:
            lo, hi = q[k - 1], q[k]
            score = (k - 1 + ((z - lo) / (hi - lo) if hi > lo else 0.0)) / (len(q) - 1)
        return score, LABELS[min(int(score * 3.0), 2)], quality.tolist(), tokens_out.tolist()


@pytest.fixture(scope="module")
def oracle() -> Oracle:
    return Oracle(Settings().classifier_path)


@pytest.fixture
def clf() -> Classifier:
    """A fresh instance per test with two extra slots: an ability and an MMLU score."""
    clf = Classifier.load(Settings().classifier_path)
    clf.resolve(QualityRef(ability=0.7))
    clf.resolve(QualityRef(mmlu=71.5))
    return clf


def real_prompts(per_file: int = 120) -> list[str]:
    """A fixed sample of every ``*_train.csv`` file's prompts, plus its longest ones."""
    if not DATA.is_dir():
        pytest.skip(f"{DATA}: routing data not available")
    csv.field_size_limit(sys.maxsize)
    rng, out = random.Random(14), []
    for path in sorted(DATA.glob("*_train.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            prompts = [rec["prompt"] for rec in csv.DictReader(fh)]
        out += rng.sample(prompts, min(per_file, len(prompts)))
        out += sorted(prompts, key=len)[-5:]
    if not out:
        pytest.skip(f"{DATA}: no prompts in *_train.csv")
    return out


CODE = "Fix this:\n```python\ndef f(x):\n    return x ** 2 => 1\n```\nclass A: pass };"
EDGE = [
    "", " ", "\n\n\t  \r\n", "a", "?", "the", "the the the the the", "zqxjkv wvvqz pfftkk",
    "ЖЭЮ ñandú 数学 ∑ ∫ √ 🙂🙂🙂 café", "Ünïcödé MIXED case ÀÉÎ and ascii",
    "x " * 3_000, "What is 2+2? " * 800, "word " * 4_999 + "tail", "a" * 20_000,
    "0123456789" * 700, CODE, CODE * 60, "$\\frac{1}{2} + \\sqrt{x^2}$ = ?",
    "Q: 1+1?\nA: 2\nQ: 2+2?\nA: 4\nQ: 3+3?\nA:",
    "Which is right?\nA. one\nB. two\nC) three\n(D) four",
    "the cat sat on the mat and the cat sat on the mat",
    "\x00\x01\x1f\x7f control \u2028 line\u2029 sep \x0c\x1c\x1d",
    # lower-cased, "İ" is two characters: more tokens than the bounded text has characters
    "İ" * 3_000 + " the cat sat" * 400,
]


def check(clf: Classifier, oracle: Oracle, text: str, extra: list[float]) -> None:
    score, label, quality, tokens = oracle.assess(text, extra)
    got = clf.assess(text)
    slots = range(len(quality))
    assert got.label == label, text[:80]
    assert [got.output_tokens(s) for s in slots] == tokens, text[:80]
    assert abs(got.score - score) <= TOL, text[:80]
    assert max(abs(got.quality(s) - q) for s, q in zip(slots, quality, strict=True)) <= TOL
    assert abs(clf.difficulty(text) + float(oracle.linear(text)[len(clf.heads)])) <= TOL


def test_real_prompts_give_the_reference_outputs(clf, oracle):
    extra = [0.7, oracle.mmlu_ability(71.5)]
    prompts = real_prompts()
    assert len(prompts) >= 300
    for text in prompts:
        check(clf, oracle, text, extra)


@pytest.mark.parametrize("text", EDGE, ids=range(len(EDGE)))
def test_edge_cases_give_the_reference_outputs(clf, oracle, text):
    check(clf, oracle, text, [0.7, oracle.mmlu_ability(71.5)])


def test_the_linear_outputs_match_the_reference(clf, oracle):
    """``_linear`` is what training's parity check compares with its own predictions."""
    for text in [*EDGE, *real_prompts(30)]:
        assert np.abs(clf._linear(text) - oracle.linear(text)).max() <= TOL, text[:80]


def test_the_output_cap_the_floor_and_saturated_qualities_match_the_reference(tmp_path):
    """An artifact with its biases pushed out: output tokens past the cap and below the floor
    of 1, qualities near 0 and 1 (the shipped model reaches none of them)."""
    with np.load(Settings().classifier_path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta, vocab = json.loads(unpack_text(arrays.pop("meta"))), unpack_text(arrays.pop("vocab"))
    h = len(meta["heads"])
    push = np.where(np.arange(h) % 2 == 0, 30.0, -30.0)
    arrays["bias"] = arrays["bias"].astype(np.float64)
    arrays["bias"][:h] += push
    arrays["bias"][h + 1] += 30.0
    arrays["bias"][h + 2:] += push
    path = tmp_path / "pushed.npz"
    save_artifact(path, meta=meta, vocab=vocab.split("\n"), arrays=arrays)
    oracle, clf = Oracle(str(path)), Classifier.load(path)
    clf.resolve(QualityRef(ability=-40.0))
    tokens = [oracle.assess(text, [-40.0])[3] for text in EDGE]
    assert 100_000 in tokens[0] and 1 in tokens[0]  # both ends reached
    for text in EDGE:
        check(clf, oracle, text, [-40.0])
