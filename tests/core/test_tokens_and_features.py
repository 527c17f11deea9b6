from router.core.features import HEAD_CHARS, TAIL_CHARS, bounded, cues, terms, tokenize
from router.core.tokens import estimate_tokens


def test_token_estimate_grows_with_text_and_counts_words_digits_symbols():
    assert estimate_tokens("") == 4  # the chat framing alone
    short, longer = estimate_tokens("Sum a list."), estimate_tokens("Sum a list. " * 50)
    assert 5 <= short <= 10 and longer > 40 * (short - 4)
    assert estimate_tokens("x = 12345") > estimate_tokens("x = y")  # digits cost tokens
    assert estimate_tokens("你好世界") > estimate_tokens("")  # non-ASCII is not free


def test_token_estimate_is_near_the_usual_four_characters_a_token_on_prose():
    text = ("The quick brown fox jumps over the lazy dog while the committee reviews the "
            "quarterly budget and drafts its recommendations for the board. ") * 10
    assert 0.7 < estimate_tokens(text) / (len(text) / 4) < 1.4


def test_features_are_deterministic_and_bounded():
    text = "Solve: 3x + 5 = 20. What is x?\nA. 3\nB. 5\nC. 7\nD. 9"
    assert tokenize(text) == tokenize(text)
    assert "5 =" in terms(tokenize(text)) and "3x" in terms(tokenize(text))
    huge = "word " * 1_000_000
    assert len(bounded(huge)) == HEAD_CHARS + TAIL_CHARS + 1
    assert len(tokenize(huge)) <= (HEAD_CHARS + TAIL_CHARS) // 2 + 1


def test_cues_see_code_math_and_multiple_choice():
    choice = cues("Q?\nA. one\nB. two\nC. three", tokenize("Q?\nA. one\nB. two\nC. three"))
    code = cues("def f(x):\n    return x", tokenize("def f(x):\n    return x"))
    plain = cues("hello there", tokenize("hello there"))
    names = ("log_chars", "log_tokens", "log_lines", "digit_share", "code", "math", "choices",
             "few_shot", "questions")
    c, k, p = (dict(zip(names, v, strict=True)) for v in (choice, code, plain))
    assert c["choices"] == 1.0 and p["choices"] == 0.0
    assert k["code"] == 1.0 and p["code"] == 0.0
