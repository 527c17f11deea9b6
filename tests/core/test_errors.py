"""Error messages: client input is echoed for recognition, never whole."""

from router.core.errors import MAX_ECHO_CHARS, UnknownDecision, quoted


def test_quoted_keeps_short_text_and_cuts_long_text_to_a_prefix():
    assert quoted("d-42") == "'d-42'"
    long = quoted("x" * 100_000)
    assert long.startswith("'" + "x" * MAX_ECHO_CHARS + "'") and "100000 characters" in long
    assert len(long) < 2 * MAX_ECHO_CHARS
    assert len(str(UnknownDecision("d" * 100_000))) < 2 * MAX_ECHO_CHARS
