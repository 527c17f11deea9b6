from router.core.catalog import RateCard, TokenPrices
from router.core.pricing import (
    ComputeUse,
    ReviewUse,
    TokenCounts,
    ToolUse,
    predicted_cost,
    token_cost,
    usage_cost,
)

# gpt-4o-like prices: 2.50 in, 1.25 cached, 10.00 out per 1M tokens (nanos per 1M tokens)
PRICES = TokenPrices(input=2_500_000_000, cached_input=1_250_000_000, output=10_000_000_000,
                     reasoning=10_000_000_000)
RATES = RateCard(tool_call={"default": 0, "web_search": 10_000_000}, cpu_second=12_000,
                 gpu_second=1_100_000, review_hour=45_000_000_000)


def test_token_cost_prices_every_kind_of_token():
    tokens = TokenCounts(input=1000, cached_input=2000, output=500, reasoning=300)
    # 1000*2.5 + 2000*1.25 + 500*10 + 300*10 = 2500+2500+5000+3000 = 13000 per 1M -> 0.013
    assert token_cost(PRICES, tokens) == 13_000_000


def test_token_cost_rounds_once_half_up():
    # one input token at 2.50 per 1M = 2500 nanos exactly; one at 0.15 = 150 nanos
    assert token_cost(TokenPrices(150, 150, 150, 150), TokenCounts(input=1)) == 0
    assert token_cost(TokenPrices(500_000, 0, 0, 0), TokenCounts(input=1)) == 1  # 0.5 -> 1
    assert token_cost(TokenPrices(499_999, 0, 0, 0), TokenCounts(input=1)) == 0


def test_predicted_cost_matches_token_cost_for_input_and_output():
    for i, o in [(0, 0), (1, 1), (123, 456), (10**6, 10**5)]:
        assert predicted_cost(PRICES, i, o) == token_cost(PRICES, TokenCounts(input=i, output=o))


def test_usage_cost_breaks_down_by_kind():
    cost = usage_cost(
        PRICES, RATES, TokenCounts(input=1000),
        tools=(ToolUse("web_search", 3), ToolUse("mystery", 2), ToolUse("billed", 1, cost=7)),
        compute=ComputeUse(cpu_ms=2_000, gpu_ms=500),
        review=ReviewUse(ms=90_000),  # 1.5 minutes at 45/hour = 1.125
    )
    assert cost.tokens == 2_500_000
    assert cost.tools == 3 * 10_000_000 + 0 + 7
    assert cost.compute == 2 * 12_000 + 550_000
    assert cost.human_review == 1_125_000_000
    assert cost.total == cost.tokens + cost.tools + cost.compute + cost.human_review


def test_explicit_costs_override_the_rate_card():
    cost = usage_cost(PRICES, RATES, TokenCounts(input=10**6),
                      compute=ComputeUse(cpu_ms=10**6, cost=5),
                      review=ReviewUse(ms=3_600_000, hourly_rate=60_000_000_000),
                      token_cost_override=42)
    assert (cost.tokens, cost.compute, cost.human_review) == (42, 5, 60_000_000_000)
