"""Text features shared by training (scikit-learn) and request-time inference (numpy).

Word unigrams and bigrams (looked up in a vocabulary learned at training time, then TF-IDF
weighted) plus a few structure cues: length, code, math, multiple choice, few-shot examples.
Everything is deterministic across processes and bounded: only the first ``HEAD_CHARS`` and last
``TAIL_CHARS`` characters of a long text are read.
"""

from __future__ import annotations

import math
import re

import numpy as np

HEAD_CHARS = 2_500
TAIL_CHARS = 500
_TOKEN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")
_CHOICE = re.compile(r"(?:^|\n)\s*\(?[A-Ea-e][.):]\s")
_FEWSHOT = re.compile(r"(?:^|\n)\s*(?:Q|Question|Problem|Input|Example)\s*\d*\s*:")
_CODE_MARKS = ("```", "def ", "return ", "function", "class ", "import ", "#include", "=>", "};")
_MATH_MARKS = ("$", "^", "\\frac", "\\sqrt", "=", "+", "*", "/", "√", "∑", "∫")

_DIGIT_CLASS = {ord(d): "0" for d in "123456789"}

CUES = ("log_chars", "log_tokens", "log_lines", "digit_share", "code", "math", "choices",
        "few_shot", "questions")


def bounded(text: str) -> str:
    """The part of ``text`` that is read: all of it, or its head and tail when long."""
    if len(text) <= HEAD_CHARS + TAIL_CHARS:
        return text
    return text[:HEAD_CHARS] + "\n" + text[-TAIL_CHARS:]


def tokenize(text: str) -> list[str]:
    """Lower-cased words, numbers and single symbols of the bounded text."""
    return _TOKEN.findall(bounded(text).lower())


def terms(tokens: list[str]) -> list[str]:
    """Unigrams and bigrams (joined by a space): the vocabulary's units."""
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]


def analyzer(text: str) -> list[str]:
    """scikit-learn's ``TfidfVectorizer(analyzer=...)`` hook: the same terms as inference."""
    return terms(tokenize(text))


def cues(text: str, tokens: list[str]) -> np.ndarray:
    """Structure cues of a text, unscaled (training stores their mean and spread)."""
    head = bounded(text)
    n = max(len(head), 1)
    digits = head.translate(_DIGIT_CLASS).count("0")
    return np.array([
        math.log1p(len(text)),
        math.log1p(len(tokens)),
        math.log1p(head.count("\n")),
        digits / n,
        float(sum(head.count(m) for m in _CODE_MARKS) > 0),
        math.log1p(sum(head.count(m) for m in _MATH_MARKS)),
        float(len(_CHOICE.findall(head)) >= 2),
        math.log1p(len(_FEWSHOT.findall(head))),
        math.log1p(head.count("?")),
    ])
