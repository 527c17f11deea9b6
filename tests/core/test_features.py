"""Text features: the same terms and cues in every process, and bounded work on huge input."""

import json
import os
import subprocess
import sys

import numpy as np

from router.core.features import (
    CUES,
    HEAD_CHARS,
    N_PAIRS,
    TAIL_CHARS,
    analyzer,
    bigrams,
    bounded,
    cue_pairs,
    cues,
    terms,
    tokenize,
)

TEXT = "Solve: 3x + 5 = 20. What is x?\nA. 3\nB. 5\nC. 7\nD. 9"


def named(text: str) -> dict[str, float]:
    return dict(zip(CUES, cues(text, tokenize(text)), strict=True))


def test_terms_are_lowercased_words_numbers_and_symbols_then_bigrams():
    tokens = tokenize("Hello, World! x=42")
    assert tokens == ["hello", ",", "world", "!", "x", "=", "42"]
    assert bigrams(tokens) == ["hello ,", ", world", "world !", "! x", "x =", "= 42"]
    assert terms(tokens) == tokens + bigrams(tokens)
    assert analyzer("Hello, World! x=42") == terms(tokens)


def test_features_are_the_same_on_every_call_and_in_another_process():
    expected = {"terms": analyzer(TEXT), "cues": cues(TEXT, tokenize(TEXT)).tolist()}
    assert analyzer(TEXT) == expected["terms"]
    code = ("import json, sys; from router.core.features import analyzer, cues, tokenize; "
            "t = sys.stdin.read(); "
            "print(json.dumps({'terms': analyzer(t), 'cues': cues(t, tokenize(t)).tolist()}))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # a different str hash salt
    out = subprocess.run([sys.executable, "-c", code], input=TEXT, capture_output=True,
                         text=True, env=env, check=True, cwd=os.getcwd())
    assert json.loads(out.stdout) == expected


def test_only_a_bounded_head_and_tail_are_read():
    head, tail = "integral " * 1000, " lemma" * 500
    one = head + "lorem ipsum " * 500_000 + tail
    other = head + "prove that " * 545_454 + "x" * 6 + tail
    assert len(one) == len(other)
    assert len(bounded(one)) == HEAD_CHARS + TAIL_CHARS + 1
    assert bounded(one) == bounded(other)
    assert analyzer(one) == analyzer(other)
    np.testing.assert_array_equal(cues(one, tokenize(one)), cues(other, tokenize(other)))
    assert len(tokenize("word " * 2_000_000)) <= (HEAD_CHARS + TAIL_CHARS) // 2 + 1


def test_short_texts_are_read_whole():
    text = "a" * (HEAD_CHARS + TAIL_CHARS)
    assert bounded(text) is text


def test_cues_see_structure():
    choice, code = named(TEXT), named("```python\ndef f(x):\n    return x\n```")
    fewshot = named("Q: 1+1?\nA: 2\nQ: 2+2?\nA: 4\nQ: 3+3?\nA:")
    plain = named("tell me a story about a dragon")
    assert choice["choices"] == 1.0 and plain["choices"] == 0.0
    assert code["code"] == 1.0 and plain["code"] == 0.0
    assert choice["math"] > plain["math"] == 0.0
    assert choice["log_digits"] > 0.0 == plain["log_digits"]
    assert fewshot["few_shot"] > 0.0 == plain["few_shot"]
    assert choice["questions"] > 0.0 == plain["questions"]
    assert named("x" * 5000)["log_chars"] > named("x" * 50)["log_chars"]


def test_odd_input_does_not_break_featurisation():
    for text in ("", "\n\n", "\ud800 lone surrogate", "日本語のテキスト", "\x00\x01"):
        values = cues(text, tokenize(text))
        assert values.shape == (len(CUES),) and np.isfinite(values).all()


def test_cue_pairs_are_every_product_of_two_cues_squares_included_once():
    z = np.arange(1.0, len(CUES) + 1)
    pairs = cue_pairs(z)
    k = len(CUES)
    assert N_PAIRS == k * (k + 1) // 2 == len(pairs)
    expected = sorted(z[i] * z[j] for i in range(k) for j in range(i, k))
    assert sorted(pairs.tolist()) == expected
    assert pairs[0] == 1.0 and pairs[-1] == k * k  # first cue squared ... last cue squared
    rows = np.vstack([z, -z, np.zeros(k)])
    np.testing.assert_array_equal(cue_pairs(rows), [pairs, pairs, np.zeros(N_PAIRS)])
