"""What a call costs, from the catalog's prices and the usage it reports. Integers throughout."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router.core.catalog import RateCard, TokenPrices
from router.core.errors import InvalidRequest
from router.core.money import mul_div_round

_PER_MTOK = 1_000_000
_MS_PER_SECOND = 1_000
_MS_PER_HOUR = 3_600_000


@dataclass(frozen=True, slots=True)
class TokenCounts:
    """Tokens of one call. ``input`` excludes ``cached_input`` (read from the prompt cache) and
    ``cache_write`` (written to it); ``output`` excludes ``reasoning``."""

    input: int = 0
    cached_input: int = 0
    output: int = 0
    reasoning: int = 0
    cache_write: int = 0

    @property
    def prompt(self) -> int:
        """Every token of the prompt, however it is priced: what a price tier is chosen by."""
        return self.input + self.cached_input + self.cache_write


@dataclass(frozen=True, slots=True)
class ToolUse:
    name: str
    count: int = 1
    cost: int | None = None  # explicit nanos for all calls; overrides the rate card


@dataclass(frozen=True, slots=True)
class ComputeUse:
    cpu_ms: int = 0
    gpu_ms: int = 0
    cost: int | None = None  # explicit nanos; overrides the per-second prices
    memory_gb_ms: int = 0  # gigabytes held x milliseconds


@dataclass(frozen=True, slots=True)
class ReviewUse:
    ms: int = 0
    hourly_rate: int | None = None  # nanos per hour; the rate card's default when None


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """Cost of one call by kind, in nanos."""

    tokens: int = 0
    tools: int = 0
    compute: int = 0
    human_review: int = 0

    @property
    def total(self) -> int:
        return self.tokens + self.tools + self.compute + self.human_review


def token_cost(prices: TokenPrices, tokens: TokenCounts) -> int:
    """Nanos for ``tokens`` at ``prices`` (the tier the prompt's length picks), rounded once
    (half up) after summing every kind."""
    p = prices.for_prompt(tokens.prompt)
    per_mtok = (
        tokens.input * p.input
        + tokens.cached_input * p.cached_input
        + tokens.cache_write * p.cache_write
        + tokens.output * p.output
        + tokens.reasoning * p.reasoning
    )
    return mul_div_round(per_mtok, 1, _PER_MTOK)


def predicted_cost(prices: TokenPrices, input_tokens: int, output_tokens: int) -> int:
    """Nanos for a call predicted to send ``input_tokens`` and receive ``output_tokens``, at the
    tier ``input_tokens`` picks."""
    p = prices.for_prompt(input_tokens)
    per_mtok = input_tokens * p.input + output_tokens * p.output
    return (per_mtok + _PER_MTOK // 2) // _PER_MTOK  # non-negative: floor of x + 1/2 is half-up


def predicted_costs(input_prices: np.ndarray, output_prices: np.ndarray, input_tokens: int,
                    output_tokens: np.ndarray) -> np.ndarray:
    """``predicted_cost`` of many models at once: numpy arrays of prices (nanos per 1M tokens)
    and of output tokens, one element per model.

    The same integer expression, so the same integers: the arrays are int64 where no term can
    overflow it, else object arrays of Python ints (the caller decides; see
    ``router.core.policy.CandidateTable``). Floor division floors in numpy as in Python.
    """
    per_mtok = input_tokens * input_prices + output_tokens * output_prices
    return (per_mtok + _PER_MTOK // 2) // _PER_MTOK


def usage_cost(
    prices: TokenPrices,
    rates: RateCard,
    tokens: TokenCounts,
    tools: tuple[ToolUse, ...] = (),
    compute: ComputeUse | None = None,
    review: ReviewUse | None = None,
    token_cost_override: int | None = None,
) -> CostBreakdown:
    """The full cost of one reported call."""
    tool_total = sum(
        t.cost if t.cost is not None else t.count * rates.tool_price(t.name) for t in tools
    )
    compute_total = 0
    if compute is not None:
        compute_total = compute.cost if compute.cost is not None else mul_div_round(
            compute.cpu_ms * rates.cpu_second + compute.gpu_ms * rates.gpu_second
            + compute.memory_gb_ms * rates.memory_gb_second, 1, _MS_PER_SECOND,
        )
    review_total = 0
    if review is not None and review.ms:
        rate = review.hourly_rate if review.hourly_rate is not None else rates.review_hour
        review_total = mul_div_round(review.ms, rate, _MS_PER_HOUR)
    return CostBreakdown(
        tokens=token_cost(prices, tokens) if token_cost_override is None else token_cost_override,
        tools=tool_total,
        compute=compute_total,
        human_review=review_total,
    )


def check_cost_bounds(cost: CostBreakdown, limit: int) -> None:
    """Every input is bounded, but a product of two bounds can still exceed what one ledger row
    (and an int64 on the wire) should hold: refuse the report rather than overflow."""
    for name, value in (("tokens", cost.tokens), ("tool_calls", cost.tools),
                        ("compute", cost.compute), ("human_review", cost.human_review)):
        if value > limit:
            raise InvalidRequest.of(name, f"costs {value} nanos, more than the {limit} one call "
                                          "may record")
    if cost.total > limit:
        raise InvalidRequest.of("usage", f"the call's total cost exceeds {limit} nanos")
