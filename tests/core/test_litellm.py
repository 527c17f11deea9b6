"""LiteLLM's price map as catalog models (router.core.litellm): every mapped field, tiers as
LiteLLM bills them, exact decimal prices and their rounding, what is skipped and why, and the
malformed entries named by model and key. The maps are small and written here."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from router.core.catalog import PriceTier
from router.core.litellm import (
    NO_MODE,
    ImportedModel,
    LiteLLMError,
    MapImport,
    Rounded,
    import_map,
    loads,
    price_text,
)


def imported(entries: dict[str, Any], providers: tuple[str, ...] = ()) -> MapImport:
    """The map as LiteLLM ships it: JSON text (a float as its shortest repr, ``number`` as
    written), parsed the way the importer parses it."""
    text = json.dumps(entries).replace('"#', "").replace('#"', "")
    return import_map(loads(text), providers)


def number(text: str) -> str:
    """A JSON number written exactly as ``text`` (more digits than a float holds)."""
    return f"#{text}#"


def chat(**keys: Any) -> dict[str, Any]:
    """A chat entry with the keys a model needs, plus ``keys``."""
    return {"litellm_provider": "acme", "mode": "chat", "input_cost_per_token": 1e-06,
            "output_cost_per_token": 2e-06, "max_input_tokens": 8000} | keys


def one(entries: dict[str, Any]) -> ImportedModel:
    result = imported(entries)
    assert len(result.models) == 1, result.skipped
    return result.models[0]


SONNET = {
    "litellm_provider": "anthropic", "mode": "chat",
    "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
    "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06,
    "output_cost_per_reasoning_token": 1.6e-05,
    "max_input_tokens": 1000000, "max_output_tokens": 64000, "max_tokens": 32000,
    "supports_function_calling": True, "supports_vision": True,
    "supports_response_schema": True, "supports_reasoning": True,
    "supports_audio_input": True, "supports_prompt_caching": True,
    "deprecation_date": "2026-06-06",
    "source": "https://example.com/pricing",
}


def test_every_mapped_field_of_a_chat_entry():
    m = one({"claude-sonnet-4": SONNET})
    assert m.id == "claude-sonnet-4" and m.provider == "anthropic"
    assert dict(m.prices) == {"input_per_mtok": 3_000_000_000,
                              "cached_input_per_mtok": 300_000_000,
                              "cache_write_per_mtok": 3_750_000_000,
                              "output_per_mtok": 15_000_000_000,
                              "reasoning_per_mtok": 16_000_000_000}
    assert m.context_window == 1_000_000
    assert m.max_output_tokens == 64000  # max_output_tokens wins over the legacy max_tokens
    assert m.capabilities == {"tools", "vision", "json", "reasoning", "audio", "long_context"}
    assert m.deprecated_after == date(2026, 6, 6)
    assert m.tiers == () and m.rounded == () and m.unmapped == ()
    assert m.table() == {
        "id": "claude-sonnet-4", "provider": "anthropic", "input_per_mtok": "3.00",
        "cached_input_per_mtok": "0.30", "cache_write_per_mtok": "3.75",
        "output_per_mtok": "15.00", "reasoning_per_mtok": "16.00", "context_window": 1000000,
        "max_output_tokens": 64000,
        "capabilities": ["tools", "vision", "json", "reasoning", "long_context", "audio"],
        "deprecated_after": date(2026, 6, 6)}


def test_prices_are_exact_decimals_never_floats():
    assert 8e-07 * 1_000_000 == 0.7999999999999999  # what float arithmetic would have kept
    m = one({"m": chat(input_cost_per_token=3e-06, output_cost_per_token=1.25e-07,
                       cache_read_input_token_cost=8e-07)})
    assert m.prices["input_per_mtok"] == 3 * 10**9
    assert m.prices["output_per_mtok"] == 125_000_000
    assert m.prices["cached_input_per_mtok"] == 800_000_000
    assert (m.table()["input_per_mtok"], m.table()["output_per_mtok"]) == ("3.00", "0.125")
    assert m.rounded == ()


def test_a_price_finer_than_a_nano_per_million_is_rounded_half_up_and_reported():
    # 1.0000000005e-06 per token = 1.0000000005 per 1M = 1000000000.5 nanos: a tie, kept half
    # up as money.to_nanos keeps a hand-written price; 2.9999900000000002e-06 (float residue,
    # as in the real map) is 2999990000.0000002 nanos, kept as 2999990000
    m = one({"m": chat(input_cost_per_token=number("1.0000000005e-06"),
                       output_cost_per_token=number("0.0000029999900000000002"))})
    assert m.prices["input_per_mtok"] == 1_000_000_001
    assert m.prices["output_per_mtok"] == 2_999_990_000
    assert m.rounded == (
        Rounded("m", "input_cost_per_token", Decimal("1.0000000005e-06"), 1_000_000_001),
        Rounded("m", "output_cost_per_token", Decimal("0.0000029999900000000002"),
                2_999_990_000))
    assert m.rounded[0].describe() == ("m input_cost_per_token: 0.0000010000000005 per token "
                                       "-> 1.000000001 per 1M")
    assert m.table()["input_per_mtok"] == "1.000000001"


def test_a_price_given_to_the_nano_per_million_is_not_rounded():
    m = one({"m": chat(input_cost_per_token=number("1.234567891e-06"))})  # 1.234567891 per 1M
    assert m.prices["input_per_mtok"] == 1_234_567_891 and m.rounded == ()


def test_price_text_writes_at_least_two_decimals():
    assert [price_text(n) for n in (0, 3 * 10**9, 125_000_000, 1_000_000_001)] == \
        ["0.00", "3.00", "0.125", "1.000000001"]


def test_above_threshold_keys_become_tiers_resolved_as_litellm_bills_them():
    m = one({"m": chat(
        input_cost_per_token=1e-06, output_cost_per_token=4e-06,
        cache_read_input_token_cost=1e-07,
        # listed out of order: tiers come sorted by threshold
        input_cost_per_token_above_500k_tokens=4e-06,
        input_cost_per_token_above_128k_tokens=2e-06,
        output_cost_per_token_above_128k_tokens=8e-06,
        cache_read_input_token_cost_above_128k_tokens=2e-07,
        cache_creation_input_token_cost_above_500k_tokens=5e-06,
        max_input_tokens=1000000)})
    assert m.tiers == (
        # no cache write price anywhere: a write costs the tier's input price
        PriceTier(128_000, input=2 * 10**9, cached_input=200_000_000, cache_write=2 * 10**9,
                  output=8 * 10**9, reasoning=8 * 10**9),
        # output and cache read not given at 500k: the 128k tier's, not the base's
        PriceTier(500_000, input=4 * 10**9, cached_input=200_000_000, cache_write=5 * 10**9,
                  output=8 * 10**9, reasoning=8 * 10**9))
    assert m.table()["tiers"][0] == {
        "above_input_tokens": 128000, "input_per_mtok": "2.00",
        "cached_input_per_mtok": "0.20", "cache_write_per_mtok": "2.00",
        "output_per_mtok": "8.00", "reasoning_per_mtok": "8.00"}


def test_a_tier_keeps_the_models_own_reasoning_price_and_its_base_cache_prices():
    m = one({"m": chat(output_cost_per_token=4e-06, output_cost_per_reasoning_token=5e-06,
                       cache_read_input_token_cost=1e-07, cache_creation_input_token_cost=2e-06,
                       input_cost_per_token_above_200k_tokens=2e-06,
                       output_cost_per_token_above_200k_tokens=6e-06)})
    assert m.tiers == (PriceTier(200_000, input=2 * 10**9, cached_input=100_000_000,
                                 cache_write=2 * 10**9, output=6 * 10**9,
                                 reasoning=5 * 10**9),)


def test_a_threshold_without_k_counts_tokens_and_xai_thresholds_are_inclusive():
    plain = one({"m": chat(input_cost_per_token_above_128_tokens=2e-06)})
    assert [t.above_input_tokens for t in plain.tiers] == [128]
    xai = one({"grok": chat(litellm_provider="xai", input_cost_per_token_above_128k_tokens=2e-06)})
    assert [t.above_input_tokens for t in xai.tiers] == [127_999]  # billed from 128,000 on


def test_capabilities_are_what_the_flags_say_and_long_context_from_200k():
    m = one({"m": chat(supports_vision=True, supports_function_calling=False,
                       max_input_tokens=199_999)})
    assert m.capabilities == {"vision"}
    assert one({"m": chat(max_input_tokens=200_000)}).capabilities == {"long_context"}


def test_max_output_falls_back_to_the_legacy_max_tokens_and_zero_means_unknown():
    assert one({"m": chat(max_tokens=4096)}).max_output_tokens == 4096
    assert one({"m": chat(max_output_tokens=0)}).max_output_tokens is None
    assert one({"m": chat()}).max_output_tokens is None


def test_only_chat_entries_are_models_the_others_are_counted_by_mode():
    result = imported({
        "sample_spec": {"mode": "one of: chat, embedding", "input_cost_per_token": "0.0"},
        "chatty": chat(),
        "embedder": {"mode": "embedding", "input_cost_per_token": "not validated"},
        "embedder-2": {"mode": "embedding"},
        "pointer": {"alias_of": "chatty"},
        "painter": {"mode": "image_generation", "litellm_provider": "acme"},
    })
    assert [m.id for m in result.models] == ["chatty"]
    assert result.entries == 5  # sample_spec aside
    assert dict(result.by_mode) == {"embedding": 2, NO_MODE: 1, "image_generation": 1}
    assert result.skipped == ()


def test_only_filters_on_the_litellm_provider():
    result = imported({"a": chat(litellm_provider="anthropic"),
                       "g": chat(litellm_provider="gemini"),
                       "o": chat(litellm_provider="openai"),
                       "e": {"mode": "embedding", "litellm_provider": "voyage"}},
                      providers=("Anthropic", " gemini", "mistral"))
    assert [m.id for m in result.models] == ["a", "g"]
    assert result.by_provider == 1  # chat entries only: the embedding counts by its mode
    assert result.providers_not_found == ("mistral",)


def test_keys_not_understood_are_counted_with_examples_not_dropped():
    result = imported({
        f"m{i}": chat(supports_web_search=True, input_cost_per_token_batches=5e-07,
                      cache_creation_input_token_cost_above_1hr=2e-06,
                      input_cost_per_token_above_200k_tokens_priority=3e-06,
                      supports_pdf_input=i == 0,  # false in the others: nothing lost there
                      search_context_cost_per_query={"search_context_size_low": 0.01},
                      successor_model=None,
                      source="https://example.com", supports_prompt_caching=True)
        for i in range(4)})
    assert {k: (u.count, u.examples) for k, u in result.unmapped.items()} == {
        "cache_creation_input_token_cost_above_1hr": (4, ("m0", "m1", "m2")),
        "input_cost_per_token_above_200k_tokens_priority": (4, ("m0", "m1", "m2")),
        "input_cost_per_token_batches": (4, ("m0", "m1", "m2")),
        "search_context_cost_per_query": (4, ("m0", "m1", "m2")),
        "supports_web_search": (4, ("m0", "m1", "m2")),
        "supports_pdf_input": (1, ("m0",)),
    }
    assert list(result.unmapped)[-1] == "supports_pdf_input"  # most common first
    assert all(m.tiers == () for m in result.models)  # a _priority tier is not a tier


def test_names_the_catalog_cannot_hold_and_case_collisions_are_skipped_and_reported():
    result = imported({"vertex/claude@2024": chat(), "has space": chat(), "Model-A": chat(),
                       "model-a": chat(), "fine/name:v1": chat()})
    assert [m.id for m in result.models] == ["fine/name:v1"]
    reasons = {s.model: s.reason for s in result.skipped}
    assert set(reasons) == {"vertex/claude@2024", "has space", "Model-A", "model-a"}
    assert reasons["vertex/claude@2024"].startswith("not a catalog id")
    assert reasons["Model-A"].startswith("differs only in case from model-a")


def test_entries_that_cannot_be_models_are_skipped_with_the_reason():
    result = imported({
        "no-output": chat(output_cost_per_token=None),
        "no-prices": {"mode": "chat", "litellm_provider": "acme", "max_input_tokens": 8000,
                      "tiered_pricing": [{"input_cost_per_token": 1e-06, "range": [0, 1000]}]},
        "no-context": chat(max_input_tokens=None),
        "zero-context": chat(max_input_tokens=0),
        "no-provider": {k: v for k, v in chat().items() if k != "litellm_provider"},
        "absurd": chat(output_cost_per_token=0.02),  # 20,000 per 1M: above the catalog's bound
    })
    assert result.models == ()
    assert {s.model: s.reason for s in result.skipped} == {
        "no-output": "no output_cost_per_token",
        "no-prices": "no input_cost_per_token or output_cost_per_token",
        "no-context": "no context window (max_input_tokens missing or 0)",
        "zero-context": "no context window (max_input_tokens missing or 0)",
        "no-provider": "no litellm_provider",
        "absurd": "a price above the catalog's bound (10000 per 1M tokens)",
    }


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("input_cost_per_token", "3e-06", "a price must be a JSON number"),
    ("output_cost_per_token", True, "a price must be a JSON number"),
    ("cache_read_input_token_cost", -1e-07, "a price cannot be negative"),
    ("output_cost_per_reasoning_token", {"usd": 1}, "a price must be a JSON number"),
    ("input_cost_per_token_above_200k_tokens", "6e-06", "a price must be a JSON number"),
    ("output_cost_per_token_above_200k_tokens", -1, "a price cannot be negative"),
    ("input_cost_per_token_above_0k_tokens", 1e-06, "threshold must be positive"),
    ("max_input_tokens", -1, "must be a positive integer"),
    ("max_output_tokens", 4096.0, "must be a positive integer"),
    ("max_tokens", "4096", "must be a positive integer"),
    ("deprecation_date", "06/06/2025", "must be a date as YYYY-MM-DD"),
    ("deprecation_date", "2025-13-01", "must be a date as YYYY-MM-DD"),
    ("deprecation_date", 20250606, "must be a date as YYYY-MM-DD"),
    ("supports_vision", "yes", "must be true or false"),
    ("mode", 1, "must be a string"),
    ("litellm_provider", "", "must be a name of 1-64 characters"),
])
def test_a_malformed_entry_is_named_by_model_and_key(key, value, problem):
    with pytest.raises(LiteLLMError) as err:
        imported({"fine": chat(), "broken-model": chat(**{key: value})})
    assert str(err.value).startswith(f"model 'broken-model', key '{key}': ")
    assert problem in str(err.value)


def test_a_malformed_entry_is_named_even_when_it_would_be_skipped():
    with pytest.raises(LiteLLMError, match="'bad@name', key 'input_cost_per_token'"):
        imported({"bad@name": chat(input_cost_per_token="free")})


def test_an_entry_that_is_not_an_object_and_a_map_that_is_not_one():
    with pytest.raises(LiteLLMError, match="model 'gpt-x': an entry must be a JSON object, got "
                                           "an array"):
        imported({"gpt-x": [1, 2]})
    with pytest.raises(LiteLLMError, match=r"the map must be a JSON object .* got an array"):
        import_map(loads("[]"))
    with pytest.raises(LiteLLMError, match="not JSON"):
        loads("{")
    with pytest.raises(LiteLLMError, match="a price must be a JSON number, got nan"):
        import_map(loads('{"m": {"mode": "chat", "input_cost_per_token": NaN}}'))


def test_loads_keeps_every_fraction_as_its_decimal_text():
    data = loads('{"m": {"input_cost_per_token": 3e-06, "max_input_tokens": 200000}}')
    assert data["m"]["input_cost_per_token"] == Decimal("3e-06")
    assert type(data["m"]["max_input_tokens"]) is int
