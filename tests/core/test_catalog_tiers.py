"""The catalog's cache-write prices, long-context tiers, deprecation dates and memory price, and
what pricing does with them (hand-worked to the nano)."""

from datetime import UTC, datetime

import pytest

from router.core.catalog import CatalogError, parse_catalog
from router.core.pricing import ComputeUse, TokenCounts, predicted_cost, token_cost, usage_cost

CATALOG = """\
schema_version = 1
currency = "USD"
default_model = "sonnet"

[[models]]
id = "sonnet"
provider = "anthropic"
input_per_mtok = "3.00"
cached_input_per_mtok = "0.30"
cache_write_per_mtok = "3.75"
output_per_mtok = "15.00"
context_window = 1000000
quality = { mmlu = 86.5 }

[[models.tiers]]
above_input_tokens = 200000
input_per_mtok = "6.00"
output_per_mtok = "22.50"
cached_input_per_mtok = "0.60"
cache_write_per_mtok = "7.50"

[[models]]
id = "flash"
provider = "google"
input_per_mtok = "0.30"
output_per_mtok = "2.50"
context_window = 1000000
deprecated_after = 2026-06-01
quality = { mmlu = 80.0 }
tiers = [{ above_input_tokens = 128000, input_per_mtok = "0.60" }, \
{ above_input_tokens = 500000, input_per_mtok = "1.20", output_per_mtok = "5.00" }]

[[models]]
id = "imported"
provider = "acme"
input_per_mtok = "1"
output_per_mtok = "2"
context_window = 8000
enabled = false

[compute]
cpu_second = "0.000012"
memory_gb_second = "0.0000025"
"""


def test_cache_write_and_tier_prices_parse_with_their_defaults():
    catalog = parse_catalog(CATALOG)
    sonnet, flash = catalog.get("sonnet").prices, catalog.get("flash").prices
    assert sonnet.cache_write == 3_750_000_000
    assert flash.cache_write == flash.input == 300_000_000  # none given: priced as input
    (tier,) = sonnet.tiers
    assert (tier.above_input_tokens, tier.input, tier.cached_input, tier.cache_write,
            tier.output, tier.reasoning) == (200_000, 6 * 10**9, 600_000_000, 7_500_000_000,
                                             22_500_000_000, 15 * 10**9)  # reasoning: the base's
    low, high = flash.tiers
    assert (low.input, low.output, low.cached_input) == (600_000_000, 2_500_000_000,
                                                         300_000_000)
    assert (high.input, high.output) == (1_200_000_000, 5 * 10**9)
    assert catalog.rates.memory_gb_second == 2_500


def test_a_long_call_with_cache_writes_is_priced_at_its_tier_to_the_nano():
    prices = parse_catalog(CATALOG).get("sonnet").prices
    # prompt = 150,000 input + 40,000 cached + 20,000 written = 210,000 > 200,000: every token
    # of the call at the tier's prices (nanos per 1M tokens):
    #   150,000 x 6.00    = 900,000,000,000,000
    #    40,000 x 0.60    =  24,000,000,000,000
    #    20,000 x 7.50    = 150,000,000,000,000
    #     3,001 x 22.50   =  67,522,500,000,000   (output)
    #       999 x 15.00   =  14,985,000,000,000   (reasoning: the tier keeps the base price)
    #   sum               = 1,156,507,500,000,000 / 1,000,000 = 1,156,507,500 nanos ($1.1565075)
    long_call = TokenCounts(input=150_000, cached_input=40_000, output=3_001, reasoning=999,
                            cache_write=20_000)
    assert token_cost(prices, long_call) == 1_156_507_500
    # the same call with 10,001 fewer tokens written stays under the threshold (199,999):
    #   150,000 x 3 + 40,000 x 0.30 + 9,999 x 3.75 + 3,001 x 15 + 999 x 15
    #   = 450,000 + 12,000 + 37,496.25 + 45,015 + 14,985 (x 10^9 / 10^6 nanos) = 559,496,250
    short_call = TokenCounts(input=150_000, cached_input=40_000, output=3_001, reasoning=999,
                             cache_write=9_999)
    assert token_cost(prices, short_call) == 559_496_250
    # exactly at the threshold is not above it
    at = TokenCounts(input=200_000)
    assert token_cost(prices, at) == 600_000_000
    assert token_cost(prices, TokenCounts(input=200_001)) == 1_200_006_000


def test_the_highest_tier_exceeded_wins_and_predictions_use_it():
    prices = parse_catalog(CATALOG).get("flash").prices
    assert predicted_cost(prices, 100_000, 1_000) == 30_000_000 + 2_500_000
    assert predicted_cost(prices, 200_000, 1_000) == 120_000_000 + 2_500_000
    assert predicted_cost(prices, 600_000, 1_000) == 720_000_000 + 5_000_000


def test_memory_is_priced_per_gb_second():
    rates = parse_catalog(CATALOG).rates
    prices = parse_catalog(CATALOG).get("flash").prices
    # 2 CPU seconds at 12,000 nanos + 64 GB for 30 s = 1,920 GB-s at 2,500 nanos
    cost = usage_cost(prices, rates, TokenCounts(),
                      compute=ComputeUse(cpu_ms=2_000, memory_gb_ms=1_920_000))
    assert cost.compute == 24_000 + 4_800_000


def test_deprecated_models_leave_the_routable_set_at_their_date():
    catalog = parse_catalog(CATALOG)
    june = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp()) * 1_000_000
    assert catalog.get("flash").deprecated_after_us == june
    assert [m.id for m in catalog.routable(june - 1)] == ["sonnet", "flash"]
    assert [m.id for m in catalog.routable(june)] == ["sonnet"]
    assert catalog.next_deprecation_us(june - 1) == june
    assert catalog.next_deprecation_us(june) is None


def test_a_model_without_quality_must_be_disabled():
    catalog = parse_catalog(CATALOG)
    assert catalog.get("imported").quality is None
    with pytest.raises(CatalogError, match="missing 'quality'"):
        parse_catalog(CATALOG.replace("enabled = false", "enabled = true"))


@pytest.mark.parametrize(("change", "words"), [
    (('cache_write_per_mtok = "3.75"', 'cache_write_per_mtok = "lots"'), "cache_write_per_mtok"),
    (('above_input_tokens = 200000', 'above_input_tokens = 0'), "above_input_tokens"),
    (('above_input_tokens = 500000', 'above_input_tokens = 100000'), "must increase"),
    (('{ above_input_tokens = 128000, input_per_mtok = "0.60" }',
      '{ above_input_tokens = 128000, input_per_mtok = "0.60", speed = 2 }'), "speed"),
    (('input_per_mtok = "6.00"', 'input_per_mtok = "-6"'), "between 0"),
    (('deprecated_after = 2026-06-01', 'deprecated_after = "soon"'), "deprecated_after"),
    (('deprecated_after = 2026-06-01', 'deprecated_after = 2026-06-01T00:00:00'),
     "UTC offset"),
    (('memory_gb_second = "0.0000025"', 'memory_gb_second = "x"'), "memory_gb_second"),
    (('tiers = [{ above_input_tokens = 128000', 'tiers = "many"\nx = [{ above_input_tokens = '
      '128000'), "unknown key 'x'"),
    (('tiers = [{ above_input_tokens = 128000, input_per_mtok = "0.60" }, ',
      'tiers = [1, '), "list of tables"),
])
def test_bad_tiers_dates_and_prices_name_the_key(change, words):
    with pytest.raises(CatalogError) as info:
        parse_catalog(CATALOG.replace(*change, 1), source="cat.toml")
    assert words in str(info.value) and "cat.toml:" in str(info.value)
