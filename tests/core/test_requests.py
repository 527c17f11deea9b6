"""Request validation names the API's field paths; payload hashes tell a replay from a reuse."""

from __future__ import annotations

import dataclasses

import pytest

from router.core.catalog import load_catalog
from router.core.errors import InvalidRequest
from router.core.money import Money
from router.core.pricing import TokenCounts
from router.core.records import Attribution, Outcome, payload_hash
from router.core.requests import (
    MAX_ID_CHARS,
    MAX_KEY_CHARS,
    MAX_LABELS,
    MAX_MONEY_NANOS,
    MAX_TOKENS,
    RouteInput,
    ToolInput,
    UsageInput,
    route_payload,
    usage_payload,
    validate_route,
    validate_usage,
)
from router.settings import Settings

MAX_DESCRIPTION = 200
KEYS = Attribution(team="growth", agent="mailer")
ROUTE = RouteInput(task_description="Summarise the meeting notes.")
USAGE = UsageInput(usage_id="u-1", attribution=KEYS, model="gpt-4o-mini",
                   tokens=TokenCounts(input=10, output=5))


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(Settings().catalog_path)


def route_fields(catalog, req: RouteInput) -> list[str]:
    try:
        validate_route(req, catalog=catalog, max_description_chars=MAX_DESCRIPTION)
    except InvalidRequest as exc:
        return [v.field for v in exc.violations]
    return []


def usage_fields(catalog, req: UsageInput) -> list[str]:
    try:
        validate_usage(req, catalog=catalog)
    except InvalidRequest as exc:
        return [v.field for v in exc.violations]
    return []


def route(**changes) -> RouteInput:
    return dataclasses.replace(ROUTE, **changes)


def usage(**changes) -> UsageInput:
    return dataclasses.replace(USAGE, **changes)


# --- Route ------------------------------------------------------------------------------------

@pytest.mark.parametrize("req", [
    ROUTE,
    route(task_description="x" * MAX_DESCRIPTION),
    route(request_id="a" * MAX_ID_CHARS),
    route(request_id="req.1:a/b@c+d=e-f_g"),
    route(quality_target=0.0), route(quality_target=1.0),
    route(capabilities=frozenset({"tools", "vision"})),
    route(attribution=Attribution(labels={f"k{i}": "v" for i in range(MAX_LABELS)})),
    route(allowed_models=("GPT-4o", "gpt-4o-mini-2024-07-18"), excluded_models=("o3",)),
    route(remaining_budget=Money(10, "USD")), route(remaining_budget=Money(10, "")),
    route(max_output_tokens=1, estimated_input_tokens=0, min_context_tokens=MAX_TOKENS),
])
def test_a_valid_route_passes(catalog, req):
    assert route_fields(catalog, req) == []


@pytest.mark.parametrize(("req", "field"), [
    (route(task_description=""), "task_description"),
    (route(task_description=" \n\t "), "task_description"),
    (route(task_description="x" * (MAX_DESCRIPTION + 1)), "task_description"),
    (route(request_id="has space"), "request_id"),
    (route(request_id="semi;colon"), "request_id"),
    (route(request_id="a" * (MAX_ID_CHARS + 1)), "request_id"),
    (route(quality_target=1.01), "quality_target"),
    (route(quality_target=-0.01), "quality_target"),
    (route(quality_target=float("nan")), "quality_target"),
    (route(capabilities=frozenset({"tools", "telepathy"})), "capabilities"),
    (route(attribution=Attribution(labels={f"k{i}": "v" for i in range(MAX_LABELS + 1)})),
     "attribution.labels"),
    (route(attribution=Attribution(labels={"": "v"})), "attribution.labels[]"),
    (route(attribution=Attribution(labels={"k": "v" * 257})), "attribution.labels[k]"),
    (route(attribution=Attribution(team=" growth")), "attribution.team"),
    (route(attribution=Attribution(agent="a\tb")), "attribution.agent"),
    (route(attribution=Attribution(user="u" * (MAX_KEY_CHARS + 1))), "attribution.user"),
    (route(remaining_budget=Money(10, "EUR")), "remaining_budget.currency_code"),
    (route(remaining_budget=Money(-1, "USD")), "remaining_budget.nanos"),
    (route(remaining_budget=Money(MAX_MONEY_NANOS + 1, "USD")), "remaining_budget.nanos"),
    (route(estimated_input_tokens=-1), "estimated_input_tokens"),
    (route(max_output_tokens=0), "max_output_tokens"),
    (route(min_context_tokens=MAX_TOKENS + 1), "min_context_tokens"),
    (route(allowed_models=("gpt-4o", "gpt-99")), "allowed_models[1]"),
    (route(excluded_models=("nope",)), "excluded_models[0]"),
    (route(allowed_models=("gpt-4o",) * 257), "allowed_models"),
])
def test_an_invalid_route_names_its_field(catalog, req, field):
    assert route_fields(catalog, req) == [field]


def test_every_problem_of_a_route_is_reported_at_once(catalog):
    req = route(task_description="", request_id="bad id", quality_target=2.0,
                capabilities=frozenset({"telepathy"}), allowed_models=("nope",))
    assert route_fields(catalog, req) == ["task_description", "request_id", "quality_target",
                                          "capabilities", "allowed_models[0]"]


# --- ReportUsage ------------------------------------------------------------------------------

@pytest.mark.parametrize("req", [
    USAGE,
    usage(attribution=None, model="", decision_id="d123"),  # the decision supplies both
    usage(tokens=TokenCounts(MAX_TOKENS, MAX_TOKENS, MAX_TOKENS, MAX_TOKENS)),
    usage(tool_calls=(ToolInput("web_search", 3), ToolInput("t" * MAX_KEY_CHARS))),
    usage(cpu_seconds=0.0, gpu_seconds=1.5, review_seconds=30.0),
    usage(outcome=Outcome.RETRY), usage(outcome=int(Outcome.FAILURE)),
    usage(actual_cost=Money(MAX_MONEY_NANOS, "USD")),
])
def test_a_valid_usage_report_passes(catalog, req):
    assert usage_fields(catalog, req) == []


@pytest.mark.parametrize(("req", "field"), [
    (usage(usage_id=""), "usage_id"),
    (usage(usage_id="u 1"), "usage_id"),
    (usage(decision_id="d#1"), "decision_id"),
    (usage(attribution=None), "attribution"),
    (usage(attribution=Attribution()), "attribution"),
    (usage(attribution=Attribution(labels={f"k{i}": "v" for i in range(MAX_LABELS + 1)})),
     "attribution.labels"),
    (usage(model=""), "model"),
    (usage(model="gpt-99"), "model"),
    (usage(tokens=TokenCounts(input=-1)), "tokens.input"),
    (usage(tokens=TokenCounts(cached_input=MAX_TOKENS + 1)), "tokens.cached_input"),
    (usage(tokens=TokenCounts(output=MAX_TOKENS + 1)), "tokens.output"),
    (usage(tokens=TokenCounts(output=-5)), "tokens.output"),
    (usage(tokens=TokenCounts(reasoning=-1)), "tokens.reasoning"),
    (usage(tool_calls=(ToolInput("ok"), ToolInput(""))), "tool_calls[1].name"),
    (usage(tool_calls=(ToolInput("t" * (MAX_KEY_CHARS + 1)),)), "tool_calls[0].name"),
    (usage(tool_calls=(ToolInput("ok", -1),)), "tool_calls[0].count"),
    (usage(tool_calls=(ToolInput("ok", 1, Money(-1, "USD")),)), "tool_calls[0].cost.nanos"),
    (usage(tool_calls=(ToolInput("ok"),) * 257), "tool_calls"),
    (usage(cpu_seconds=-0.5), "compute.cpu_seconds"),
    (usage(cpu_seconds=float("nan")), "compute.cpu_seconds"),
    (usage(cpu_seconds=float("inf")), "compute.cpu_seconds"),
    (usage(cpu_seconds=31 * 24 * 3600.0), "compute.cpu_seconds"),
    (usage(gpu_seconds=-1.0), "compute.gpu_seconds"),
    (usage(compute_cost=Money(1, "GBP")), "compute.cost.currency_code"),
    (usage(review_seconds=float("nan")), "human_review.seconds"),
    (usage(review_hourly_rate=Money(-1, "USD")), "human_review.hourly_rate.nanos"),
    (usage(actual_cost=Money(MAX_MONEY_NANOS + 1, "USD")), "actual_cost.nanos"),
    (usage(latency_ms=-1), "latency_ms"),
    (usage(outcome=99), "outcome"),
    (usage(outcome=-1), "outcome"),
])
def test_an_invalid_usage_report_names_its_field(catalog, req, field):
    assert usage_fields(catalog, req) == [field]


def test_without_a_decision_both_model_and_attribution_are_required(catalog):
    assert usage_fields(catalog, usage(model="", attribution=None)) == ["attribution", "model"]


# --- payload hashes ---------------------------------------------------------------------------

FULL_ROUTE = RouteInput(
    task_description="Summarise the meeting notes.", request_id="req-1",
    attribution=Attribution(team="growth", agent="mailer", task_id="t1", task_type="sum",
                            user="ana", labels={"env": "prod"}),
    remaining_budget=Money(1000, "USD"), estimated_input_tokens=100, max_output_tokens=200,
    quality_target=0.7, capabilities=frozenset({"tools"}), min_context_tokens=1000,
    allowed_models=("gpt-4o",), excluded_models=("o3",))

FULL_USAGE = UsageInput(
    usage_id="u-1", decision_id="d1",
    attribution=Attribution(team="growth", agent="mailer", labels={"env": "prod"}),
    model="gpt-4o-mini", tokens=TokenCounts(10, 20, 30, 40),
    tool_calls=(ToolInput("web_search", 2, Money(5, "USD")),), cpu_seconds=1.5,
    gpu_seconds=0.5, compute_cost=Money(7, "USD"), review_seconds=60.0,
    review_hourly_rate=Money(9, "USD"), outcome=Outcome.SUCCESS, latency_ms=900,
    actual_cost=Money(11, "USD"), occurred_us=1_767_225_600_000_000)


def route_hash(req: RouteInput) -> str:
    return payload_hash(route_payload(req))


def usage_hash(req: UsageInput) -> str:
    return payload_hash(usage_payload(req))


def test_equal_routes_hash_equal():
    copy = dataclasses.replace(FULL_ROUTE, attribution=dataclasses.replace(
        FULL_ROUTE.attribution, labels=dict(FULL_ROUTE.attribution.labels)))
    assert route_hash(copy) == route_hash(FULL_ROUTE)
    # the request_id is the key the payload stands for, not part of it
    assert route_hash(dataclasses.replace(FULL_ROUTE, request_id="req-2")) == \
        route_hash(FULL_ROUTE)
    # capabilities are a set: their order is not the payload
    assert route_hash(dataclasses.replace(FULL_ROUTE, capabilities=frozenset(
        {"tools", "vision"}))) == route_hash(dataclasses.replace(
            FULL_ROUTE, capabilities=frozenset({"vision", "tools"})))


@pytest.mark.parametrize("change", [
    {"task_description": "Summarise the meeting notes!"},
    {"attribution": Attribution(team="growth")},
    {"attribution": dataclasses.replace(FULL_ROUTE.attribution, team="ops")},
    {"attribution": dataclasses.replace(FULL_ROUTE.attribution, agent="other")},
    {"attribution": dataclasses.replace(FULL_ROUTE.attribution, task_id="t2")},
    {"attribution": dataclasses.replace(FULL_ROUTE.attribution, task_type="other")},
    {"attribution": dataclasses.replace(FULL_ROUTE.attribution, user="bob")},
    {"attribution": dataclasses.replace(FULL_ROUTE.attribution, labels={"env": "dev"})},
    {"remaining_budget": None},
    {"remaining_budget": Money(1001, "USD")},
    {"estimated_input_tokens": None},
    {"estimated_input_tokens": 101},
    {"max_output_tokens": 201},
    {"quality_target": None},
    {"quality_target": 0.71},
    {"capabilities": frozenset()},
    {"capabilities": frozenset({"vision"})},
    {"min_context_tokens": 0},
    {"allowed_models": ()},
    {"allowed_models": ("gpt-4o-mini",)},
    {"excluded_models": ()},
    {"excluded_models": ("o4-mini",)},
], ids=lambda c: next(iter(c)))
def test_any_route_field_change_changes_the_hash(change):
    assert route_hash(dataclasses.replace(FULL_ROUTE, **change)) != route_hash(FULL_ROUTE)


def test_equal_usage_reports_hash_equal():
    assert usage_hash(dataclasses.replace(FULL_USAGE)) == usage_hash(FULL_USAGE)
    assert usage_hash(dataclasses.replace(FULL_USAGE, usage_id="u-2")) == usage_hash(FULL_USAGE)


@pytest.mark.parametrize("change", [
    {"decision_id": ""},
    {"decision_id": "d2"},
    {"attribution": None},
    {"attribution": Attribution(team="growth", agent="other", labels={"env": "prod"})},
    {"attribution": Attribution(team="growth", agent="mailer", labels={"env": "dev"})},
    {"model": "gpt-4o"},
    {"tokens": TokenCounts(11, 20, 30, 40)},
    {"tokens": TokenCounts(10, 21, 30, 40)},
    {"tokens": TokenCounts(10, 20, 31, 40)},
    {"tokens": TokenCounts(10, 20, 30, 41)},
    {"tool_calls": ()},
    {"tool_calls": (ToolInput("file_search", 2, Money(5, "USD")),)},
    {"tool_calls": (ToolInput("web_search", 3, Money(5, "USD")),)},
    {"tool_calls": (ToolInput("web_search", 2, None),)},
    {"tool_calls": (ToolInput("web_search", 2, Money(6, "USD")),)},
    {"cpu_seconds": 1.25},
    {"gpu_seconds": 0.0},
    {"compute_cost": None},
    {"compute_cost": Money(8, "USD")},
    {"review_seconds": 61.0},
    {"review_hourly_rate": None},
    {"review_hourly_rate": Money(10, "USD")},
    {"outcome": Outcome.FAILURE},
    {"latency_ms": 901},
    {"actual_cost": None},
    {"actual_cost": Money(12, "USD")},
    {"occurred_us": None},
    {"occurred_us": 1_767_225_600_000_001},
], ids=lambda c: next(iter(c)))
def test_any_usage_field_change_changes_the_hash(change):
    assert usage_hash(dataclasses.replace(FULL_USAGE, **change)) != usage_hash(FULL_USAGE)
