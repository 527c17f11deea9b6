"""GenAI spans as usage reports (router.core.otlp): tokens split as TokenUsage prices them, the
model resolved in the catalog, cost in exact nanos, attribution through the attribute map, and
every unreadable attribute named."""

from __future__ import annotations

import dataclasses

import pytest

from router.core.catalog import parse_catalog
from router.core.errors import InvalidRequest
from router.core.otlp import (
    DEFAULT_ATTRIBUTES,
    Ignored,
    Span,
    SpanUsage,
    model_names,
    parse_attribute_map,
    span_usage,
)
from router.core.pricing import TokenCounts
from router.core.records import Attribution, Outcome

CATALOG = parse_catalog("""\
schema_version = 1
currency = "USD"
default_model = "gpt-4o"

[[models]]
id = "gpt-4o"
provider = "openai"
input_per_mtok = "2.50"
output_per_mtok = "10"
context_window = 128000
aliases = ["gpt-4o-2024-08-06"]
quality = { mmlu = 88.7 }

[[models]]
id = "azure/gpt-4o"
provider = "azure"
input_per_mtok = "2.75"
output_per_mtok = "11"
context_window = 128000
quality = { mmlu = 88.7 }

[[models]]
id = "gemini-2.5-pro"
provider = "google"
input_per_mtok = "1.25"
output_per_mtok = "10"
context_window = 1000000
quality = { mmlu = 86.0 }
""")
MAP = parse_attribute_map(DEFAULT_ATTRIBUTES)
TRACE, SPAN = bytes(range(1, 17)), bytes(range(1, 9))
START_NS = 1_795_867_200 * 10**9
END_NS = START_NS + 1_234_567_890  # 1234.57 ms later


def span(attributes: dict | None = None, resource: dict | None = None, **fields) -> Span:
    attrs = {"gen_ai.response.model": "gpt-4o", "gen_ai.usage.input_tokens": 1000,
             "gen_ai.usage.output_tokens": 200, **(attributes or {})}
    values = dict(trace_id=TRACE, span_id=SPAN, name="chat gpt-4o", start_ns=START_NS,
                  end_ns=END_NS, attributes={k: v for k, v in attrs.items() if v is not None},
                  resource={"service.name": "reconciler", "router.team": "finance",
                            **(resource or {})})
    return Span(**{**values, **fields})


def mapped(s: Span) -> SpanUsage:
    result = span_usage(s, MAP, CATALOG)
    assert isinstance(result, SpanUsage), result
    return result


def refused(s: Span) -> dict[str, str]:
    with pytest.raises(InvalidRequest) as info:
        span_usage(s, MAP, CATALOG)
    return {v.field: v.description for v in info.value.violations}


def test_a_chat_span_becomes_the_usage_report_of_its_call():
    m = mapped(span())
    u = m.usage
    assert u.usage_id == f"otlp:{TRACE.hex()}:{SPAN.hex()}"
    assert u.model == "gpt-4o" and m.model.provider == "openai"
    assert u.tokens == TokenCounts(input=1000, cached_input=0, output=200, reasoning=0)
    assert u.attribution == Attribution(team="finance", agent="reconciler")
    assert u.outcome == Outcome.SUCCESS
    assert u.occurred_us == END_NS // 1000  # the call ended then
    assert u.latency_ms == 1235  # rounded half up
    assert u.actual_cost is None and u.decision_id == ""


def test_cached_and_reasoning_tokens_are_taken_out_of_the_totals_that_include_them():
    m = mapped(span({"gen_ai.usage.input_tokens": 1000,
                     "gen_ai.usage.cache_read.input_tokens": 600,
                     "gen_ai.usage.cache_creation.input_tokens": 100,
                     "gen_ai.usage.output_tokens": 500,
                     "gen_ai.usage.reasoning.output_tokens": 300}))
    assert m.usage.tokens == TokenCounts(input=300, cached_input=600, output=200,
                                         reasoning=300, cache_write=100)
    assert m.cache_write == 100


def test_a_total_smaller_than_its_parts_is_taken_as_the_remainder():
    # an instrumentation that reports input_tokens without the cached ones (Anthropic's API)
    m = mapped(span({"gen_ai.usage.input_tokens": 20,
                     "gen_ai.usage.cache_read.input_tokens": 5000,
                     "gen_ai.usage.output_tokens": 10,
                     "gen_ai.usage.reasoning.output_tokens": 40}))
    assert m.usage.tokens == TokenCounts(input=20, cached_input=5000, output=10, reasoning=40)


def test_the_older_attribute_names_are_read_too():
    m = mapped(span({"gen_ai.usage.input_tokens": None, "gen_ai.usage.output_tokens": None,
                     "gen_ai.usage.prompt_tokens": 70, "gen_ai.usage.completion_tokens": 30,
                     "gen_ai.usage.cache_read_input_tokens": 20,
                     "gen_ai.usage.reasoning_tokens": 5,
                     "gen_ai.response.model": None, "gen_ai.request.model": "gpt-4o"}))
    assert m.usage.tokens == TokenCounts(input=50, cached_input=20, output=25, reasoning=5)
    assert m.usage.model == "gpt-4o"


def test_counts_sent_as_integral_doubles_or_digit_strings_are_read():
    m = mapped(span({"gen_ai.usage.input_tokens": 12.0, "gen_ai.usage.output_tokens": "7"}))
    assert (m.usage.tokens.input, m.usage.tokens.output) == (12, 7)


@pytest.mark.parametrize(("attributes", "model"), [
    # provider/model first: Azure's own price of the model
    ({"gen_ai.provider.name": "azure", "gen_ai.response.model": "gpt-4o"}, "azure/gpt-4o"),
    ({"gen_ai.system": "azure", "gen_ai.response.model": "gpt-4o"}, "azure/gpt-4o"),
    # else the model as named (an alias counts), whatever the provider
    ({"gen_ai.provider.name": "openai", "gen_ai.response.model": "GPT-4o-2024-08-06"},
     "gpt-4o"),
    # a path prefix, as Google's API names its models
    ({"gen_ai.provider.name": "gcp.gemini", "gen_ai.response.model": "models/gemini-2.5-pro"},
     "gemini-2.5-pro"),
    # a response model the catalog does not know falls back to the model asked for
    ({"gen_ai.response.model": "gpt-4o-2099-01-01", "gen_ai.request.model": "gpt-4o"},
     "gpt-4o"),
])
def test_the_model_is_resolved_in_the_catalog(attributes, model):
    assert mapped(span(attributes)).usage.model == model


def test_an_unknown_model_is_named_with_every_name_tried():
    problems = refused(span({"gen_ai.provider.name": "acme", "gen_ai.response.model": "x-1"}))
    assert "'acme/x-1', 'x-1'" in problems["gen_ai.response.model"]
    assert "gen_ai.response.model" in refused(span({"gen_ai.response.model": None}))
    assert model_names("a/b", "p") == ("p/a/b", "a/b", "b")


@pytest.mark.parametrize(("cost", "nanos"), [
    ("0.0123", 12_300_000), (0.1, 100_000_000), (2, 2_000_000_000),
    ("0.0000000015", 2),  # a fraction of a nano rounds half up, once
])
def test_the_cost_attribute_is_the_calls_token_cost_in_exact_nanos(cost, nanos):
    m = mapped(span({"gen_ai.usage.cost": cost}))
    assert m.usage.actual_cost is not None
    assert (m.usage.actual_cost.nanos, m.usage.actual_cost.currency) == (nanos, "USD")


def test_a_span_with_a_cost_and_no_tokens_is_usage_too():
    m = mapped(span({"gen_ai.usage.input_tokens": None, "gen_ai.usage.output_tokens": None,
                     "gen_ai.usage.cost": "0.5"}))
    assert m.usage.tokens == TokenCounts() and m.usage.actual_cost.nanos == 500_000_000


def test_spans_without_usage_and_agent_spans_are_ignored():
    plain = dataclasses.replace(span(), attributes={"http.method": "GET"})
    assert isinstance(span_usage(plain, MAP, CATALOG), Ignored)
    agent = span({"gen_ai.operation.name": "invoke_agent"})
    ignored = span_usage(agent, MAP, CATALOG)
    assert isinstance(ignored, Ignored) and "invoke_agent" in ignored.reason
    assert isinstance(span_usage(span({"gen_ai.operation.name": "chat"}), MAP, CATALOG),
                      SpanUsage)


def test_an_error_status_is_a_failed_call():
    assert mapped(span(error=True)).usage.outcome == Outcome.FAILURE


def test_attribution_comes_from_the_span_before_its_resource():
    m = mapped(span({"router.agent": "matcher", "router.task_id": "inv-1", "enduser.id": 42,
                     "router.label.env": "prod", "router.task_type": "matching"},
                    resource={"router.label.env": "dev", "router.label.region": "eu",
                              "team": "ignored-as-router.team-comes-first"}))
    assert m.usage.attribution == Attribution(
        team="finance", agent="matcher", task_id="inv-1", task_type="matching", user="42",
        labels={"env": "prod", "region": "eu"})
    assert m.source("attribution.agent") == "router.agent"
    assert m.source("attribution.team") == "router.team (resource)"
    assert m.source("attribution.labels[region]") == "router.label.region (resource)"


def test_a_configured_map_replaces_the_default():
    custom = parse_attribute_map("gen_ai.agent.name=agent, deployment.environment=labels.env,"
                                 "acme.*=labels")
    m = span_usage(span({"gen_ai.agent.name": "Math Tutor", "acme.cost_center": "cc-9"},
                        resource={"deployment.environment": "prod"}), custom, CATALOG)
    assert isinstance(m, SpanUsage)
    assert m.usage.attribution == Attribution(agent="Math Tutor",
                                              labels={"env": "prod", "cost_center": "cc-9"})


@pytest.mark.parametrize("text", ["service.name", "x=colour", "x.*=agent", "=team", "x=labels."])
def test_a_bad_map_is_refused_naming_the_setting_and_entry(text):
    with pytest.raises(ValueError, match="ROUTER_OTLP_ATTRIBUTES"):
        parse_attribute_map(text)


def test_every_unreadable_attribute_is_named_at_once():
    problems = refused(span({"gen_ai.usage.input_tokens": -1,
                             "gen_ai.usage.output_tokens": 1.5,
                             "gen_ai.usage.cost": "a lot",
                             "router.agent": ("a", "b")},
                            trace_id=bytes(16), span_id=b"\x01", end_ns=START_NS - 1))
    assert problems["gen_ai.usage.input_tokens"] == "must not be negative"
    assert "integer" in problems["gen_ai.usage.output_tokens"]
    assert "decimal" in problems["gen_ai.usage.cost"]
    assert problems["router.agent"] == "must be a string"
    assert "16 bytes" in problems["trace_id"] and "8 bytes" in problems["span_id"]
    assert "before" in problems["end_time_unix_nano"]
    assert "required" in refused(span(end_ns=0))["end_time_unix_nano"]


def test_usage_that_names_no_count_this_service_reads_is_refused_not_ignored():
    s = dataclasses.replace(span(), attributes={"gen_ai.response.model": "gpt-4o",
                                                "gen_ai.usage.total_tokens": 900})
    assert "gen_ai.usage.input_tokens" in refused(s)
