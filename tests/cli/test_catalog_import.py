"""`router catalog import --litellm`: the catalog it writes loads and prices calls as worked out by
hand; --merge keeps the catalog's comments, quality and hand-written models; the report on
stderr says what was updated, skipped and not carried over."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from router.cli import main
from router.core.catalog import PriceTier, parse_catalog
from router.core.litellm import import_map, loads
from router.core.pricing import TokenCounts, token_cost

SONNET = {
    "litellm_provider": "anthropic", "mode": "chat",
    "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
    "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06,
    "input_cost_per_token_above_200k_tokens": 6e-06,
    "output_cost_per_token_above_200k_tokens": 2.25e-05,
    "cache_read_input_token_cost_above_200k_tokens": 6e-07,
    "cache_creation_input_token_cost_above_200k_tokens": 7.5e-06,
    "max_input_tokens": 1000000, "max_output_tokens": 64000,
    "supports_function_calling": True, "supports_vision": True, "supports_reasoning": True,
    "supports_response_schema": True, "deprecation_date": "2026-09-29",
    "supports_web_search": True,
}
SEPT_29_US = int(datetime(2026, 9, 29, tzinfo=UTC).timestamp()) * 10**6
CHEAP = {"litellm_provider": "acme", "mode": "chat", "input_cost_per_token": 1e-07,
         "output_cost_per_token": 4e-07, "max_input_tokens": 32000}
MAP = {
    "sample_spec": {"mode": "one of: chat, embedding", "input_cost_per_token": 0.0},
    "sonnet-x": SONNET,
    "cheap-1": CHEAP,
    "embedder": {"litellm_provider": "acme", "mode": "embedding",
                 "input_cost_per_token": 1e-08},
    "vertex/claude@2024": SONNET,
    "rounded-1": CHEAP | {"input_cost_per_token": 3.0001999999999996e-07},
}


def write(tmp_path: Path, name: str, content: Any) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content),
                    encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["catalog", "import", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_new_catalog_loads_and_prices_a_long_call_with_cache_writes_as_worked_by_hand(
        tmp_path, capsys):
    code, out, err = run(capsys, "--litellm", write(tmp_path, "map.json", MAP))
    assert code == 0, err
    catalog = parse_catalog(out)
    assert [m.id for m in catalog] == ["sonnet-x", "cheap-1", "rounded-1"]
    sonnet = catalog.get("sonnet-x")
    assert sonnet.prices.tiers == (PriceTier(200_000, input=6 * 10**9, cached_input=600_000_000,
                                             cache_write=7_500_000_000, output=22_500_000_000,
                                             reasoning=22_500_000_000),)
    # 150,000 input + 40,000 cache reads + 20,000 cache writes = a 210,000-token prompt, over
    # 200k: the whole call at the tier's prices (USD per 1M), reasoning billed as output:
    #   150,000 x 6.00 = 0.9000;  40,000 x 0.60 = 0.0240;  20,000 x 7.50 = 0.1500
    #     2,000 x 22.50 = 0.0450;  1,000 x 22.50 = 0.0225   total 1.1415 USD = 1,141,500,000 nanos
    long_call = TokenCounts(input=150_000, cached_input=40_000, cache_write=20_000,
                            output=2_000, reasoning=1_000)
    assert token_cost(sonnet.prices, long_call) == 1_141_500_000
    # a 200,000-token prompt is not over 200k: the base prices
    #   150,000 x 3.00 = 0.4500;  40,000 x 0.30 = 0.0120;  10,000 x 3.75 = 0.0375
    #     2,000 x 15.00 = 0.0300;  1,000 x 15.00 = 0.0150   total 0.5445 USD = 544,500,000 nanos
    at_threshold = TokenCounts(input=150_000, cached_input=40_000, cache_write=10_000,
                               output=2_000, reasoning=1_000)
    assert token_cost(sonnet.prices, at_threshold) == 544_500_000
    # the catalog parser reads back exactly the prices the import meant
    meant = {m.id: m.token_prices() for m in import_map(loads(json.dumps(MAP))).models}
    assert {m.id: m.prices for m in catalog} == meant


def test_a_new_catalog_has_every_mapped_field_and_no_model_routable_without_quality(
        tmp_path, capsys):
    code, out, _ = run(capsys, "--litellm", write(tmp_path, "map.json", MAP))
    assert code == 0
    catalog = parse_catalog(out)
    sonnet = catalog.get("sonnet-x")
    assert sonnet.provider == "anthropic"
    assert (sonnet.context_window, sonnet.max_output_tokens) == (1_000_000, 64_000)
    assert sonnet.capabilities == {"tools", "vision", "json", "reasoning", "long_context"}
    assert sonnet.deprecated_after_us == SEPT_29_US
    assert not any(m.enabled for m in catalog) and catalog.default_model == "sonnet-x"
    assert 'input_per_mtok = "3.00"' in out and 'cached_input_per_mtok = "0.30"' in out
    assert out.startswith("# Model catalog written by `router catalog import --litellm`")
    assert "deprecated_after = 2026-09-29" in out


@pytest.mark.parametrize("name", ["mmlu.json", "mmlu.toml"])
def test_mmlu_scores_give_new_models_their_quality_and_the_cheapest_is_the_default(
        name, tmp_path, capsys):
    scores = '{"SONNET-X": 89.1, "cheap-1": 70, "gone": 50}' if name.endswith(".json") else \
        '"SONNET-X" = 89.1\n"cheap-1" = 70\ngone = 50\n'
    code, out, err = run(capsys, "--litellm", write(tmp_path, "map.json", MAP),
                         "--mmlu", write(tmp_path, name, scores))
    assert code == 0, err
    catalog = parse_catalog(out)
    sonnet, cheap = catalog.get("sonnet-x"), catalog.get("cheap-1")
    assert sonnet.enabled and sonnet.quality is not None and sonnet.quality.mmlu == 89.1
    assert cheap.enabled and cheap.quality is not None and cheap.quality.mmlu == 70.0
    assert not catalog.get("rounded-1").enabled and catalog.get("rounded-1").quality is None
    assert catalog.default_model == "cheap-1"
    assert "--mmlu ids that name no new model: gone" in err


def test_the_report_counts_what_was_skipped_unmapped_and_rounded(tmp_path, capsys):
    code, _, err = run(capsys, "--litellm", write(tmp_path, "map.json", MAP))
    assert code == 0
    assert "LiteLLM map: 5 entries, 3 chat models mapped" in err
    assert "written: 3 models (3 enabled = false: no quality); default_model sonnet-x" in err
    assert "skipped by mode (not chat): 1 (embedding 1)" in err
    assert "1 not a catalog id" in err and "vertex/claude@2024" in err
    assert "supports_web_search: 1 models (e.g. sonnet-x)" in err
    assert "prices rounded to the nano per 1M tokens: 1" in err
    assert ("rounded-1 input_cost_per_token: 3.0001999999999996E-7 per token -> 0.30002 per 1M"
            in err)


def test_only_imports_the_named_providers(tmp_path, capsys):
    code, out, err = run(capsys, "--litellm", write(tmp_path, "map.json", MAP),
                         "--only", "anthropic,nobody")
    assert code == 0
    assert [m.id for m in parse_catalog(out)] == ["sonnet-x"]
    assert "skipped by provider (--only): 2 chat entries" in err
    assert "--only names providers no entry has: nobody" in err


CATALOG = """\
# Our catalog: hand-kept.
schema_version = 1
currency = "USD"
default_model = "gpt-4o"   # the baseline

[[models]]
id = "gpt-4o"
provider = "openai"
input_per_mtok = "2.50"     # list price
cached_input_per_mtok = "1.25"
output_per_mtok = "10.00"
context_window = 128000
max_output_tokens = 16384
capabilities = ["tools", "vision", "json", "code"]
aliases = ["gpt-4o-2024-08-06"]
quality = { mmlu = 88.7 }   # openai/simple-evals

[[models]]
id = "claude-sonnet-4-5-20250929"
provider = "anthropic"
input_per_mtok = "3.00"
cached_input_per_mtok = "0.30"
cache_write_per_mtok = "3.75"   # 5-minute write
output_per_mtok = "15.00"
context_window = 200000
max_output_tokens = 64000
capabilities = ["tools", "vision", "json", "reasoning", "code", "long_context"]
aliases = ["claude-sonnet-4-5"]
quality = { mmlu = 89.1 }   # proxy: MMMLU

[[models.tiers]]   # the whole call above 200k
above_input_tokens = 200000
input_per_mtok = "6.00"
cached_input_per_mtok = "0.60"
cache_write_per_mtok = "7.50"
output_per_mtok = "22.50"
reasoning_per_mtok = "22.50"

[[models]]
id = "gemini-2.5-pro"
provider = "google"
input_per_mtok = "1.25"
cached_input_per_mtok = "0.31"
output_per_mtok = "10.00"
context_window = 1048576
max_output_tokens = 65536
capabilities = ["tools", "vision", "json", "reasoning", "code", "long_context", "audio"]
aliases = ["gemini/gemini-2.5-pro"]
quality = { mmlu = 89.8 }

[[models.tiers]]   # prompts over 200k
above_input_tokens = 200000
input_per_mtok = "2.50"
cached_input_per_mtok = "0.625"
output_per_mtok = "15.00"
reasoning_per_mtok = "15.00"

[[models]]
id = "llama-3.1-8b-instruct"   # hand-written, not in LiteLLM
provider = "meta"
input_per_mtok = "0.20"
output_per_mtok = "0.20"
context_window = 131072
capabilities = []
quality = { head = "llama-3.1-8b-instruct" }

[tools]
web_search = "0.01"   # per call
"""
GPT_4O = {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2.5e-06,
          "cache_read_input_token_cost": 1.25e-06, "output_cost_per_token": 1.2e-05,
          "max_input_tokens": 128000, "max_output_tokens": 16384,
          "supports_function_calling": True, "supports_vision": True,
          "supports_response_schema": True}
MERGE_MAP = {
    "gpt-4o": GPT_4O,
    "gpt-4o-2024-08-06": GPT_4O | {"output_cost_per_token": 9e-06},  # named by its alias
    "claude-sonnet-4-5-20250929": {
        "litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 3e-06,
        "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06,
        "output_cost_per_token": 1.5e-05, "max_input_tokens": 200000,
        "max_output_tokens": 64000, "input_cost_per_token_above_200k_tokens": 6e-06,
        "output_cost_per_token_above_200k_tokens": 2.25e-05,
        "cache_read_input_token_cost_above_200k_tokens": 6e-07,
        "cache_creation_input_token_cost_above_200k_tokens": 7.5e-06,
        "supports_function_calling": True, "supports_vision": True,
        "supports_response_schema": True, "supports_reasoning": True,
        "supports_audio_input": True, "deprecation_date": "2026-09-29"},
    "gemini/gemini-2.5-pro": {  # the catalog's gemini-2.5-pro names it as an alias
        "litellm_provider": "gemini", "mode": "chat", "input_cost_per_token": 1.25e-06,
        "cache_read_input_token_cost": 1.25e-07, "output_cost_per_token": 1e-05,
        "input_cost_per_token_above_200k_tokens": 2.5e-06,
        "output_cost_per_token_above_200k_tokens": 1.5e-05,
        "cache_read_input_token_cost_above_200k_tokens": 2.5e-07,
        "max_input_tokens": 1048576, "max_output_tokens": 65536,
        "supports_function_calling": True, "supports_vision": True,
        "supports_response_schema": True, "supports_reasoning": True,
        "supports_audio_input": True},
    "brand-new": CHEAP,
}
LLAMA_BLOCK = CATALOG[CATALOG.index('[[models]]\nid = "llama'):CATALOG.index("[tools]")]


def merged(tmp_path: Path, capsys: pytest.CaptureFixture[str],
           *extra: str) -> tuple[str, str, str]:
    catalog_path = write(tmp_path, "catalog.toml", CATALOG)
    code, out, err = run(capsys, "--litellm", write(tmp_path, "map.json", MERGE_MAP),
                         "--merge", catalog_path, *extra)
    assert code == 0, err
    return out, err, catalog_path


def test_merge_keeps_comments_quality_and_hand_written_models_and_updates_prices(
        tmp_path, capsys):
    out, _, catalog_path = merged(tmp_path, capsys)
    assert Path(catalog_path).read_text() == CATALOG  # printed, not overwritten
    for comment in ("# Our catalog: hand-kept.", 'default_model = "gpt-4o"   # the baseline',
                    'input_per_mtok = "2.50"     # list price',
                    "quality = { mmlu = 88.7 }   # openai/simple-evals",
                    'cache_write_per_mtok = "3.75"   # 5-minute write',
                    "[[models.tiers]]   # the whole call above 200k",
                    'web_search = "0.01"   # per call'):
        assert comment in out
    assert LLAMA_BLOCK in out  # a model LiteLLM does not have is left as written
    catalog = parse_catalog(out)
    assert catalog.default_model == "gpt-4o"
    assert {m.id: m.quality for m in catalog if m.id != "brand-new"} == \
        {m.id: m.quality for m in parse_catalog(CATALOG)}
    gpt, claude, gemini = (catalog.get(n) for n in ("gpt-4o", "claude-sonnet-4-5-20250929",
                                                    "gemini-2.5-pro"))
    assert gpt.prices.output == 12 * 10**9 and gpt.prices.input == 2_500_000_000
    assert gpt.aliases == ("gpt-4o-2024-08-06",) and gpt.provider == "openai"
    assert gpt.capabilities == {"tools", "vision", "json", "code"}  # code: the catalog's
    assert claude.capabilities == {"tools", "vision", "json", "reasoning", "code",
                                   "long_context", "audio"}
    assert claude.deprecated_after_us == SEPT_29_US
    assert gemini.provider == "google"  # updated from gemini/gemini-2.5-pro, its alias
    assert gemini.prices.cached_input == 125_000_000
    assert gemini.prices.tiers == (PriceTier(200_000, input=2_500_000_000,
                                             cached_input=250_000_000,
                                             cache_write=2_500_000_000,
                                             output=15 * 10**9, reasoning=15 * 10**9),)
    new = catalog.get("brand-new")
    assert not new.enabled and new.quality is None
    assert '[[models]]   # new from LiteLLM\'s map\nid = "brand-new"' in out


def test_merge_writes_only_what_changes_and_says_old_and_new(tmp_path, capsys):
    out, err, _ = merged(tmp_path, capsys)
    assert "merged: 3 updated, 0 unchanged, 1 added (1 of them enabled = false: no quality); " \
           "1 catalog models no entry names, kept as they are" in err
    assert "gpt-4o: output_per_mtok 10.00 -> 12.00" in err
    assert ("claude-sonnet-4-5-20250929: capabilities tools, vision, json, reasoning, code, "
            "long_context -> +audio; deprecated_after - -> 2026-09-29") in err
    assert "gemini-2.5-pro: cached_input_per_mtok 0.31 -> 0.125; tiers >200000: in 2.5 " \
           "cached 0.625 write 1.25 out 15 reasoning 15 -> >200000: in 2.5 cached 0.25 " \
           "write 2.5 out 15 reasoning 15" in err
    # the alias entry did not overwrite gpt-4o's own (9e-06 would be 9.00)
    assert "1 a catalog alias of a model updated from another entry: gpt-4o-2024-08-06 " \
           "(of gpt-4o)" in err
    # same value, other spelling: left as written; a tier with the same prices keeps its
    # comment, a changed one is written anew
    assert 'cached_input_per_mtok = "1.25"' in out and 'input_per_mtok = "3.00"' in out
    assert "# prompts over 200k" not in out and out.count("[[models.tiers]]") == 2


def test_merge_again_changes_nothing(tmp_path, capsys):
    once, _, _ = merged(tmp_path, capsys)
    catalog_path = write(tmp_path, "once.toml", once)
    code, twice, err = run(capsys, "--litellm", str(tmp_path / "map.json"), "--merge",
                           catalog_path)
    assert code == 0
    assert twice == once
    assert "merged: 0 updated, 4 unchanged, 0 added" in err


def test_merge_into_the_same_file_only_with_out(tmp_path, capsys):
    out, _, catalog_path = merged(tmp_path, capsys)
    code, printed, err = run(capsys, "--litellm", str(tmp_path / "map.json"),
                             "--merge", catalog_path, "--out", catalog_path)
    assert code == 0 and printed == ""
    assert Path(catalog_path).read_text() == out
    assert f"wrote {catalog_path}" in err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_merge_gives_new_models_their_mmlu_but_keeps_the_catalogs_quality(tmp_path, capsys):
    scores = write(tmp_path, "mmlu.json", {"brand-new": 61.5, "gpt-4o": 10})
    out, err, _ = merged(tmp_path, capsys, "--mmlu", scores)
    catalog = parse_catalog(out)
    new = catalog.get("brand-new")
    assert new.enabled and new.quality is not None and new.quality.mmlu == 61.5
    gpt = catalog.get("gpt-4o")
    assert gpt.quality is not None and gpt.quality.mmlu == 88.7
    assert "--mmlu ids that name no new model: gpt-4o" in err


@pytest.mark.parametrize(("entry", "named"), [
    ({"mode": "chat", "litellm_provider": "acme", "input_cost_per_token": "cheap"},
     "model 'broken', key 'input_cost_per_token': a price must be a JSON number"),
    ({"mode": "chat", "litellm_provider": "acme", "input_cost_per_token": -1e-06},
     "model 'broken', key 'input_cost_per_token': a price cannot be negative"),
    ({"mode": "chat", "litellm_provider": "acme", "max_input_tokens": -5},
     "model 'broken', key 'max_input_tokens': must be a positive integer"),
    ({"mode": "chat", "litellm_provider": "acme", "deprecation_date": "soon"},
     "model 'broken', key 'deprecation_date': must be a date as YYYY-MM-DD"),
    ("not an object", "model 'broken': an entry must be a JSON object"),
])
def test_a_malformed_map_exits_2_naming_the_file_model_and_key(entry, named, tmp_path, capsys):
    path = write(tmp_path, "map.json", {"fine": CHEAP, "broken": entry})
    code, out, err = run(capsys, "--litellm", path)
    assert code == 2 and out == ""
    assert err.startswith(f"router catalog import: {path}: {named}")


@pytest.mark.parametrize(("content", "named"), [
    ("[1, 2]", "the map must be a JSON object of model name -> entry, got an array"),
    ("{", "not JSON"),
])
def test_a_map_that_is_not_an_object_exits_2(content, named, tmp_path, capsys):
    path = write(tmp_path, "map.json", content)
    code, _, err = run(capsys, "--litellm", path)
    assert code == 2 and f"{path}: {named}" in err


def test_files_that_cannot_be_used_exit_2_with_the_reason(tmp_path, capsys):
    good = write(tmp_path, "map.json", MAP)
    code, _, err = run(capsys, "--litellm", str(tmp_path / "missing.json"))
    assert code == 2 and "missing.json: cannot read the LiteLLM map" in err
    code, _, err = run(capsys, "--litellm", good, "--mmlu",
                       write(tmp_path, "mmlu.json", {"sonnet-x": 101}))
    assert code == 2 and "'sonnet-x': MMLU must be a percentage (0-100), got 101" in err
    code, _, err = run(capsys, "--litellm", good, "--merge",
                       write(tmp_path, "bad.toml", CATALOG.replace('"2.50"', '"-1"')))
    assert code == 2 and "bad.toml:9: input_per_mtok must be between 0 and 10000" in err


def test_nothing_to_import_exits_2_after_the_report(tmp_path, capsys):
    code, out, err = run(capsys, "--litellm", write(tmp_path, "map.json", MAP),
                         "--only", "nobody")
    assert code == 2 and out == ""
    assert "skipped by provider (--only): 4 chat entries" in err
    assert err.rstrip().endswith("no model to import (see the report above)")


def test_the_catalog_group_is_registered_with_its_help(capsys):
    usage = importlib.import_module("router.cli.main").__doc__ or ""
    assert "router catalog import --litellm FILE" in usage
    with pytest.raises(SystemExit) as done:
        main(["catalog", "import", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--litellm FILE" in text and "--merge CATALOG" in text and "--mmlu FILE" in text
