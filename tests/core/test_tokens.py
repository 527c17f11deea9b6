"""Input token estimate: the fitted linear formula over character classes."""

from hypothesis import given
from hypothesis import strategies as st

from router.core.tokens import DIGIT, FRAMING, NEWLINE, OTHER, SYMBOL, WORD, counts, estimate_tokens


def test_counts_split_text_into_words_digits_symbols_newlines_and_other():
    assert counts("") == (0, 0, 0, 0, 0)
    # words: Hello, world, na(ïve) (a non-ASCII letter neither starts nor splits a word), snake
    assert counts("Hello, world 42!\nnaïve_snake") == (4, 2, 2, 1, 1)


def test_estimate_is_the_fitted_formula():
    assert estimate_tokens("") == FRAMING
    text = "def f(x):\n    return x * 42  # é"
    w, d, s, n, o = counts(text)
    expected = WORD * w + DIGIT * d + SYMBOL * s + NEWLINE * n + OTHER * o + FRAMING
    assert estimate_tokens(text) == round(expected)


def test_english_prose_costs_about_a_token_a_word():
    text = ("The quick brown fox jumps over the lazy dog while the committee reviews the "
            "quarterly budget and drafts its recommendations for the board. ") * 10
    assert 1.0 < estimate_tokens(text) / len(text.split()) < 1.25
    assert 0.7 < estimate_tokens(text) / (len(text) / 4) < 1.0  # long words: under chars / 4


def test_digits_symbols_and_non_ascii_cost_tokens():
    assert estimate_tokens("x = 12345") > estimate_tokens("x = y")
    assert estimate_tokens("a + b - c") > estimate_tokens("a b c")
    assert estimate_tokens("你好世界你好世界") > estimate_tokens("")


@given(st.text(max_size=300), st.text(max_size=300))
def test_estimate_is_positive_and_grows_with_appended_text(a, b):
    assert estimate_tokens(a) >= 1
    assert estimate_tokens(a + "\n" + b) >= estimate_tokens(a)


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=400))
def test_the_ascii_path_counts_as_the_general_one(text):
    from router.core.tokens import _counts_of_str

    assert counts(text) == _counts_of_str(text)


def test_the_ascii_path_on_the_bench_prompts():
    from router.bench.grpc_load import _prompts
    from router.core.tokens import _counts_of_str

    prompts = [p for p in _prompts() if p.isascii()]
    assert prompts
    assert all(counts(p) == _counts_of_str(p) for p in prompts)
