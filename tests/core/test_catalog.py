import pytest

from router.core.catalog import CatalogError, load_catalog, parse_catalog
from router.settings import Settings

GOOD = """\
schema_version = 1
currency = "USD"
default_model = "big"

[[models]]
id = "small"
provider = "acme"
input_per_mtok = "0.15"
output_per_mtok = 0.6
context_window = 128000
capabilities = ["tools", "json"]
aliases = ["small-2024"]
quality = { mmlu = 70.0 }

[[models]]
id = "big"
provider = "acme"
input_per_mtok = "2.50"
cached_input_per_mtok = "1.25"
output_per_mtok = "10"
reasoning_per_mtok = "12"
context_window = 200000
max_output_tokens = 16000
quality = { head = "gpt-4-1106-preview" }

[tools]
web_search = "0.01"

[compute]
cpu_second = "0.000012"

[human_review]
hourly_rate = "45"
"""


def test_parses_prices_to_integer_nanos_with_defaults():
    catalog = parse_catalog(GOOD)
    small, big = catalog.get("small"), catalog.get("BIG")
    assert small.prices.input == 150_000_000
    assert small.prices.cached_input == small.prices.input  # defaults to the input price
    assert small.prices.output == small.prices.reasoning == 600_000_000
    assert small.max_output_tokens == small.context_window
    assert big.prices.cached_input == 1_250_000_000 and big.prices.reasoning == 12 * 10**9
    assert catalog.get("small-2024") is small
    assert catalog.default_model == "big"
    assert catalog.rates.tool_price("web_search") == 10_000_000
    assert catalog.rates.tool_price("unknown") == 0
    assert catalog.rates.review_hour == 45 * 10**9


@pytest.mark.parametrize(("change", "line", "words"), [
    (("input_per_mtok = \"0.15\"", "input_per_mtok = \"cheap\""), 8, "input_per_mtok"),
    (("output_per_mtok = 0.6", "output_per_mtok = -1"), 9, "between 0"),
    (("capabilities = [\"tools\", \"json\"]", "capabilities = [\"teleport\"]"), 11, "teleport"),
    (("aliases = [\"small-2024\"]", "aliases = [\"big\"]"), 16, "already used"),
    (("quality = { mmlu = 70.0 }", "quality = { mmlu = 170.0 }"), 13, "percentage"),
    (("default_model = \"big\"", "default_model = \"huge\""), 3, "huge"),
    (("currency = \"USD\"", "currency = \"XYZ\""), 2, "XYZ"),
    (("context_window = 128000", "context_window = \"lots\""), 10, "context_window"),
    (("provider = \"acme\"\ninput", "provider = \"acme\"\nspeed = 3\ninput"), 8, "speed"),
])
def test_bad_catalog_fails_with_a_message_naming_the_line(change, line, words):
    text = GOOD.replace(*change, 1)
    with pytest.raises(CatalogError) as info:
        parse_catalog(text, source="cat.toml")
    assert f"cat.toml:{line}:" in str(info.value)
    assert words in str(info.value)


def test_toml_syntax_error_names_the_line():
    with pytest.raises(CatalogError, match=r"line 6"):
        parse_catalog(GOOD.replace('id = "small"', 'id = "small'), source="cat.toml")


def test_missing_file_is_a_catalog_error(tmp_path):
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "nope.toml")


def test_shipped_catalog_loads_and_names_a_default_model():
    catalog = load_catalog(Settings().catalog_path)
    assert len(catalog.enabled()) >= 20
    assert catalog.get(catalog.default_model).enabled
    assert all(m.prices.output > 0 for m in catalog)
