"""Money as integer nano-units of one configured currency.

Floats never touch money: prices are parsed from decimal text into nanos, costs are computed in
integers and rounded once, half up, where a fraction of a nano would appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

NANOS_PER_UNIT = 1_000_000_000

# ISO 4217 codes the service accepts as its configured currency. Kept short on purpose: a typo in
# the configuration should fail loudly, not silently invent a currency.
KNOWN_CURRENCIES = frozenset(
    {"USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN", "CZK",
     "INR", "CNY", "SGD", "HKD", "BRL", "MXN", "ZAR", "KRW"}
)


class MoneyError(ValueError):
    """A value that cannot be read as money."""


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in nano-units (1e-9) of ``currency``."""

    nanos: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.nanos, int) or isinstance(self.nanos, bool):
            raise MoneyError(f"nanos must be an integer, got {type(self.nanos).__name__}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str | int | float | Decimal, currency: str) -> Money:
        """Read a decimal amount in whole currency units ("0.15", 2, 1e-6) into nanos."""
        return cls(to_nanos(text), currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.nanos + other.nanos, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.nanos - other.nanos, self.currency)

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise MoneyError(f"cannot mix {self.currency} and {other.currency}")

    def to_decimal(self) -> Decimal:
        return Decimal(self.nanos) / NANOS_PER_UNIT

    def __str__(self) -> str:
        return f"{self.to_decimal().normalize():f} {self.currency}"


def to_nanos(value: str | int | float | Decimal) -> int:
    """Convert a decimal amount in whole units to integer nanos, rounding half up.

    Floats are accepted only because TOML writes ``0.15`` as one; they go through their shortest
    decimal text (``repr``), so ``0.15`` is exactly 150_000_000 nanos.
    """
    if isinstance(value, bool):
        raise MoneyError("a boolean is not an amount")
    try:
        dec = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise MoneyError(f"not a decimal amount: {value!r}") from exc
    if not dec.is_finite():
        raise MoneyError(f"not a finite amount: {value!r}")
    return int((dec * NANOS_PER_UNIT).to_integral_value(rounding=ROUND_HALF_UP))


def units(nanos: int) -> str:
    """Nanos as a plain decimal amount in whole units: 1500000000 -> "1.5", 5e12 -> "5000"."""
    return f"{(Decimal(nanos) / NANOS_PER_UNIT).normalize():f}"


def mul_div_round(a: int, b: int, denominator: int) -> int:
    """``round(a * b / denominator)`` in integers, half away from zero; ``denominator`` > 0."""
    num = a * b
    q, r = divmod(abs(num), denominator)
    if 2 * r >= denominator:
        q += 1
    return q if num >= 0 else -q


def validate_currency(code: str) -> str:
    code = code.strip().upper()
    if code not in KNOWN_CURRENCIES:
        raise MoneyError(f"unknown currency code {code!r}")
    return code
