from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.core.money import Money, MoneyError, mul_div_round, to_nanos, validate_currency


@pytest.mark.parametrize(("text", "nanos"), [
    ("0.15", 150_000_000), ("2", 2_000_000_000), (0.15, 150_000_000), (30, 30_000_000_000),
    ("0.0000000005", 1), ("0.0000000004", 0), (Decimal("1.5"), 1_500_000_000), ("-1", -10**9),
])
def test_to_nanos_reads_decimal_text_exactly(text, nanos):
    assert to_nanos(text) == nanos


@pytest.mark.parametrize("bad", ["abc", "", "nan", "inf", True])
def test_to_nanos_rejects_what_is_not_an_amount(bad):
    with pytest.raises(MoneyError):
        to_nanos(bad)


def test_money_refuses_mixed_currencies_and_floats():
    with pytest.raises(MoneyError):
        Money(1, "USD") + Money(1, "EUR")
    with pytest.raises(MoneyError):
        Money(1.5, "USD")  # type: ignore[arg-type]
    assert Money(1, "USD") + Money(2, "USD") == Money(3, "USD")
    assert str(Money.parse("1.50", "GBP")) == "1.5 GBP"


def test_validate_currency_normalises_and_rejects_unknown():
    assert validate_currency(" usd ") == "USD"
    with pytest.raises(MoneyError):
        validate_currency("XXX")


@given(st.integers(-10**15, 10**15), st.integers(0, 10**12), st.integers(1, 10**9))
def test_mul_div_round_is_round_half_away_from_zero(a, b, d):
    exact = Decimal(a) * Decimal(b) / Decimal(d)
    expected = int(exact.to_integral_value(rounding="ROUND_HALF_UP"))
    assert mul_div_round(a, b, d) == expected
