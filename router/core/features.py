"""Text features shared by training (scikit-learn) and request-time inference (plain numpy).

Two parts, both deterministic across processes (no salted ``hash()``, no randomness):

- terms: lower-cased word unigrams and bigrams, looked up in a vocabulary learned at training
  time and weighted by sublinear TF-IDF (``analyzer`` is the hook scikit-learn's vectorizer uses,
  so training and inference see exactly the same terms);
- structure cues: length, lines, digits, code, math, multiple choice, few-shot examples,
  questions; standardised, then also their pairwise products (``cue_pairs``), so a linear model
  can weigh one cue by another (many digits mean more in a long word problem than in a table).

Work is bounded: only the first ``HEAD_CHARS`` and last ``TAIL_CHARS`` characters of a text are
read (the total length still counts as a cue), so a 10 MB paste costs what a 5 kB prompt does.
"""

from __future__ import annotations

import math
import re
from itertools import pairwise

import numpy as np

HEAD_CHARS = 4_000
TAIL_CHARS = 1_000

_TOKEN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")
# a line opening with an answer option ("B) ...", group 1) or a worked-example marker ("Q:")
_LINE_MARK = re.compile(
    r"^[ \t]*(?:(\(?[A-Ea-e][.):]\s)|(?:Q|Question|Problem|Input|Example)[ \t]*\d*[ \t]*:)",
    re.MULTILINE)
_CODE_MARKS = ("```", "def ", "return ", "function", "class ", "import ", "#include", "=>", "};")
_MATH_BYTES = b"$^=+*/"  # single ASCII math symbols, counted in one pass over the bytes
_TEX_MARKS = ("\\frac", "\\sqrt")  # the ASCII math marks: both open with a backslash
_MATH_MARKS = (*_TEX_MARKS, "√", "∑", "∫")
_DIGIT_BYTES = b"0123456789"

CUES = ("log_chars", "log_tokens", "log_lines", "log_digits", "code", "math", "choices",
        "few_shot", "questions")
# the upper triangle (squares included) of the cues' outer product, in a fixed order
PAIR_INDEX = tuple(np.array(ix) for ix in zip(*[(i, j) for i in range(len(CUES))
                                               for j in range(i, len(CUES))], strict=True))
N_PAIRS = len(PAIR_INDEX[0])


def bounded(text: str) -> str:
    """The part of ``text`` that is read: all of it, or its head and tail joined by a newline."""
    if len(text) <= HEAD_CHARS + TAIL_CHARS:
        return text
    return text[:HEAD_CHARS] + "\n" + text[-TAIL_CHARS:]


def tokenize(text: str) -> list[str]:
    """Lower-cased words, numbers and single symbols of the bounded text."""
    return _TOKEN.findall(bounded(text).lower())


def tokenize_bounded(head: str) -> list[str]:
    """``tokenize`` of a text whose ``bounded`` part is ``head`` (for a caller that has it)."""
    return _TOKEN.findall(head.lower())


def bigrams(tokens: list[str]) -> list[str]:
    """Adjacent token pairs joined by a space."""
    return list(map(" ".join, pairwise(tokens)))


def terms(tokens: list[str]) -> list[str]:
    """Unigrams then bigrams: the vocabulary's units."""
    return tokens + bigrams(tokens)


def analyzer(text: str) -> list[str]:
    """scikit-learn's ``TfidfVectorizer(analyzer=...)`` hook: the terms inference looks up."""
    return terms(tokenize(text))


def cues(text: str, tokens: list[str]) -> np.ndarray:
    """Structure cues of ``text`` in ``CUES`` order, unscaled (the artifact stores their range and
    scaling). Counts are logged, not divided by the length: a share explodes on short texts.

    ``tokens`` is ``tokenize(text)``, passed in because the caller already has it.
    """
    return np.array(cue_values(text, bounded(text), len(tokens)))


def cue_values(text: str, head: str, n_tokens: int) -> list[float]:
    """``cues`` as a list, from ``head = bounded(text)`` and the number of its tokens.

    Written for speed: every count is one C-level pass (bytes.translate, str.count, one regex).
    """
    raw = head.encode("utf-8", "ignore")
    if "\n" in head:
        marks = _LINE_MARK.findall(head)
    else:
        first = _LINE_MARK.match(head)
        marks = [first.group(1) or ""] if first else []
    choices = sum(map(bool, marks))
    maths = len(raw) - len(raw.translate(None, _MATH_BYTES))
    if not head.isascii():
        maths += sum(map(head.count, _MATH_MARKS))
    elif "\\" in head:  # (an ASCII text can only hold the TeX marks)
        maths += sum(map(head.count, _TEX_MARKS))
    return [
        math.log1p(len(text)),
        math.log1p(n_tokens),
        math.log1p(head.count("\n")),
        math.log1p(len(raw) - len(raw.translate(None, _DIGIT_BYTES))),
        float(any(map(head.__contains__, _CODE_MARKS))),
        math.log1p(maths),
        float(choices >= 2),
        math.log1p(len(marks) - choices),
        math.log1p(head.count("?")),
    ]


def cue_pairs(standardised: np.ndarray) -> np.ndarray:
    """Pairwise products of standardised cues (``N_PAIRS`` of them, ``PAIR_INDEX`` order); works
    on one vector or on a matrix of rows."""
    return standardised[..., PAIR_INDEX[0]] * standardised[..., PAIR_INDEX[1]]
