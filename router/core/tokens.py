"""Input token estimate without a tokenizer (none can be downloaded at run time).

    tokens ~ 1.112 x words + 0.946 x digits + 0.833 x symbols + 0.588 x newlines
             + 0.7 x non-ASCII characters + 4

Where the numbers come from: a least-squares fit on RouteProfile's real ``prompt_tokens``
(``../shared/data/routing/routeprofile_tokens.csv``: 219 prompts, Llama 3.1 tokenizer), with one
intercept per task to absorb the benchmark template its harness wrapped around each prompt
(``router.training.calibration.token_calibration`` refits it and measures the errors below).
Median absolute percentage error of the fit: 4.4% in sample, 4.6% leave-one-out. With one
template intercept per (task, tokenizer), this estimate is off by a median 4.4% over all eight
tokenizers in the file (Llama 3.1/3.2/3.3, Qwen 2.5, Gemma 2, Mistral, Mixtral; 3.8% on Llama's),
a chars / 4 rule by 5.9% (4.9%). The 4 is the chat framing every call adds. 0.7 per non-ASCII
character is not fitted (the data is English): CJK runs about one token per character, accented
Latin letters less.

Counting runs at C speed: one ``translate`` maps every ASCII character to its class, then
``count`` tallies the classes; a 2,000-character prompt costs a few microseconds. An ASCII text
(most prompts) is translated as bytes, by a 256-byte table, which is several times quicker than
``str.translate``'s dictionary; any other text takes the ``str`` path, which leaves non-ASCII
characters as they are (counted as "other", and no word starts after one).
"""

from __future__ import annotations

WORD, DIGIT, SYMBOL, NEWLINE, OTHER, FRAMING = 1.112, 0.946, 0.833, 0.588, 0.7, 4

_CLASSES: dict[int, str] = {}
for _code in range(128):
    _ch = chr(_code)
    if _ch.isalpha():
        _CLASSES[_code] = "a"
    elif _ch.isdigit():
        _CLASSES[_code] = "0"
    elif _ch == "\n":
        _CLASSES[_code] = "\n"
    elif _ch.isspace() or _ch == "_" or not _ch.isprintable():
        _CLASSES[_code] = " "
    else:
        _CLASSES[_code] = "."
_SEPARATORS = (" ", "0", ".", "\n")
_BYTE_CLASSES = bytes(ord(_CLASSES[code]) for code in range(128)) + bytes(128)  # ASCII only


def counts(text: str) -> tuple[int, int, int, int, int]:
    """(words, digits, symbols, newlines, non-ASCII characters) of ``text``.

    A word is a run of ASCII letters; symbols are printable ASCII other than letters, digits,
    spaces and "_" (which counts as a space).
    """
    if text.isascii():
        b = text.encode().translate(_BYTE_CLASSES)
        words = (b.startswith(b"a") + b.count(b" a") + b.count(b"0a") + b.count(b".a")
                 + b.count(b"\na"))
        return words, b.count(b"0"), b.count(b"."), b.count(b"\n"), 0
    return _counts_of_str(text)


def _counts_of_str(text: str) -> tuple[int, int, int, int, int]:
    """``counts`` of any text, by ``str.translate`` (the ASCII path must agree with it)."""
    s = text.translate(_CLASSES)
    letters, digits, symbols, newlines, spaces = (s.count(c) for c in ("a", "0", ".", "\n", " "))
    words = s.startswith("a") + sum(s.count(sep + "a") for sep in _SEPARATORS)
    return words, digits, symbols, newlines, len(s) - letters - digits - symbols - newlines - spaces


def estimate_tokens(text: str) -> int:
    """Estimated input tokens of ``text`` (>= 1)."""
    words, digits, symbols, newlines, other = counts(text)
    estimate = (WORD * words + DIGIT * digits + SYMBOL * symbols + NEWLINE * newlines
                + OTHER * other + FRAMING)
    return max(1, round(estimate))
