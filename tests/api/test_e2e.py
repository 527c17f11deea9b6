"""End to end over a real channel: a server on port 0, SQLite underneath."""

from __future__ import annotations

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf import descriptor_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from router import v1 as pb
from router.core.records import TOP_CANDIDATES

KEYS = pb.Attribution(team="finance", agent="reconciler", task_id="t-42", task_type="match",
                      user="ana", labels={"env": "prod"})
EASY = "What is the capital of France?"
HARD = ("Prove that for every prime p > 3, p^2 - 1 is divisible by 24, then generalise the "
        "argument to characterise all integers n such that n^2 - 1 is divisible by 24. Give a "
        "rigorous proof with all cases and a counterexample for each weaker claim.")


def usd(amount_nanos: int) -> pb.Money:
    return pb.Money(currency_code="USD", nanos=amount_nanos)


def rpc_error(call, *args, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(*args, **kwargs)
    return info.value


def bad_request_fields(err: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(err)
    assert status is not None, "error carries no google.rpc.Status"
    fields = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            br = error_details_pb2.BadRequest()
            detail.Unpack(br)
            fields += [v.field for v in br.field_violations]
    return fields


def test_route_picks_a_catalog_model_and_explains_why(stub):
    resp = stub.Route(pb.RouteRequest(task_description=EASY, attribution=KEYS))
    models = {m.id for m in stub.ListModels(pb.ListModelsRequest()).models}
    assert resp.decision_id and resp.model in models
    assert resp.predicted.cost.currency_code == "USD" and resp.predicted.cost.nanos > 0
    assert resp.predicted.complexity.label in ("easy", "medium", "hard")
    assert resp.predicted.input_tokens > 0 and resp.predicted.output_tokens > 0
    assert resp.reason.code != pb.REASON_CODE_UNSPECIFIED and resp.reason.message
    # by default the chosen model, its fallbacks and a few others; every one when asked
    shown = [c.model for c in resp.candidates]
    assert {resp.model, *resp.fallbacks} <= set(shown) <= models
    assert len(shown) == 1 + len(resp.fallbacks) + TOP_CANDIDATES
    every = stub.Route(pb.RouteRequest(task_description=EASY, attribution=KEYS,
                                       include_candidates=True))
    assert len(every.candidates) == len(models)
    chosen = next(c for c in every.candidates if c.model == every.model)
    assert chosen.predicted_cost.nanos == every.predicted.cost.nanos
    # nothing cheaper was adequate: every cheaper candidate is excluded for a reason
    cheaper = [c for c in every.candidates if c.predicted_cost.nanos < chosen.predicted_cost.nanos]
    assert all(c.exclusion != pb.EXCLUSION_UNSPECIFIED for c in cheaper)


def test_every_candidate_only_on_request_and_a_replay_or_getdecision_has_what_was_kept(stub):
    def names(resp) -> list[str]:
        return [c.model for c in resp.candidates]

    req = pb.RouteRequest(task_description=HARD, request_id="cands-1", attribution=KEYS,
                          include_candidates=True)
    every = stub.Route(req)
    assert len(every.candidates) == len(stub.ListModels(pb.ListModelsRequest()).models)
    kept = stub.GetDecision(pb.GetDecisionRequest(decision_id=every.decision_id))
    assert len(kept.candidates) == 1 + len(every.fallbacks) + TOP_CANDIDATES
    assert set(names(kept)) <= set(names(every))
    assert {every.model, *every.fallbacks} <= set(names(kept))
    # cheapest first, with the same predictions as the live answer
    by_model = {c.model: c for c in every.candidates}
    assert names(kept) == [m for m in names(every) if m in set(names(kept))]
    assert all(c == by_model[c.model] for c in kept.candidates)
    # the flag is not part of the request: a replay with or without it is the same decision,
    # answered from its record (what it kept)
    for flag in (True, False):
        req.include_candidates = flag
        again = stub.Route(req)
        assert again.decision_id == every.decision_id and names(again) == names(kept)


def test_a_higher_quality_target_never_picks_a_cheaper_model(stub):
    costs = []
    for target in (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0):
        resp = stub.Route(pb.RouteRequest(task_description=HARD, quality_target=target))
        assert resp.quality_target == pytest.approx(target)
        costs.append(resp.predicted.cost.nanos)
    assert costs == sorted(costs) and costs[0] < costs[-1]


def test_route_respects_constraints(stub):
    resp = stub.Route(pb.RouteRequest(task_description=EASY,
                                      capabilities=[pb.CAPABILITY_VISION, pb.CAPABILITY_TOOLS],
                                      min_context_tokens=150_000))
    info = {m.id: m for m in stub.ListModels(pb.ListModelsRequest()).models}[resp.model]
    assert {pb.CAPABILITY_VISION, pb.CAPABILITY_TOOLS} <= set(info.capabilities)
    assert info.context_window >= 150_000
    only = stub.Route(pb.RouteRequest(task_description=EASY, allowed_models=["gpt-4o"]))
    assert only.model == "gpt-4o"


def test_route_with_the_same_request_id_returns_the_same_decision(stub):
    req = pb.RouteRequest(request_id="req-1", task_description=EASY, attribution=KEYS)
    first, again = stub.Route(req), stub.Route(req)
    assert first.decision_id == again.decision_id and first.model == again.model
    other = pb.RouteRequest(request_id="req-1", task_description=HARD)
    assert rpc_error(stub.Route, other).code() is grpc.StatusCode.ALREADY_EXISTS


def test_route_loop_records_cost_once_and_replays_do_not_double_count(stub, server):
    route = stub.Route(pb.RouteRequest(task_description=EASY, attribution=KEYS))
    report = pb.ReportUsageRequest(
        usage_id="use-1", decision_id=route.decision_id,
        tokens=pb.TokenUsage(input=1200, cached_input=300, output=450, reasoning=0),
        tool_calls=[pb.ToolCall(name="web_search", count=2)],
        compute=pb.Compute(cpu_seconds=1.5),
        human_review=pb.HumanReview(seconds=60),
        outcome=pb.OUTCOME_SUCCESS, latency_ms=900)
    first = stub.ReportUsage(report)
    assert not first.replayed and first.decision_id == route.decision_id
    c = first.cost
    assert c.total.nanos == c.tokens.nanos + c.tools.nanos + c.compute.nanos + \
        c.human_review.nanos
    assert c.tokens.nanos > 0 and c.tools.nanos > 0 and c.human_review.nanos > 0
    assert first.prediction_error.predicted_cost.nanos == route.predicted.cost.nanos
    assert first.prediction_error.cost_error.nanos == c.tokens.nanos - route.predicted.cost.nanos

    replay = stub.ReportUsage(report)
    assert replay.replayed and replay.cost == first.cost and replay.recorded_at == \
        first.recorded_at
    changed = pb.ReportUsageRequest()
    changed.CopyFrom(report)
    changed.tokens.output = 9999
    assert rpc_error(stub.ReportUsage, changed).code() is grpc.StatusCode.ALREADY_EXISTS

    got = stub.GetDecision(pb.GetDecisionRequest(decision_id=route.decision_id))
    assert [u.usage_id for u in got.usages] == ["use-1"]
    assert got.actual_cost.nanos == c.total.nanos
    assert got.attribution.team == "finance" and got.model == route.model
    with server.app.store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*), sum(cost_total), max(team) FROM usages"))
        assert rows.one() == (1, c.total.nanos, "finance")


def test_usage_without_a_decision_needs_attribution_and_model(stub):
    resp = stub.ReportUsage(pb.ReportUsageRequest(
        usage_id="solo-1", attribution=KEYS, model="gpt-4o-mini",
        tokens=pb.TokenUsage(input=1_000_000)))
    assert resp.cost.tokens.nanos == 150_000_000  # gpt-4o-mini: 0.15 per 1M input tokens
    assert not resp.HasField("prediction_error")
    err = rpc_error(stub.ReportUsage, pb.ReportUsageRequest(usage_id="solo-2",
                                                            model="gpt-4o-mini"))
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "attribution" in bad_request_fields(err)


def test_actual_cost_override_replaces_the_token_cost(stub):
    resp = stub.ReportUsage(pb.ReportUsageRequest(
        usage_id="inv-1", attribution=KEYS, model="gpt-4o", tokens=pb.TokenUsage(input=10),
        actual_cost=usd(123_456)))
    assert resp.cost.tokens.nanos == 123_456


@pytest.mark.parametrize(("request_", "field"), [
    (pb.RouteRequest(task_description=""), "task_description"),
    (pb.RouteRequest(task_description="x" * 100_001), "task_description"),
    (pb.RouteRequest(task_description=EASY, remaining_budget=pb.Money(currency_code="XXX",
                                                                      nanos=1)),
     "remaining_budget.currency_code"),
    (pb.RouteRequest(task_description=EASY, remaining_budget=usd(-1)), "remaining_budget.nanos"),
    (pb.RouteRequest(task_description=EASY, quality_target=1.5), "quality_target"),
    (pb.RouteRequest(task_description=EASY, estimated_input_tokens=-5), "estimated_input_tokens"),
    (pb.RouteRequest(task_description=EASY, allowed_models=["gpt-99"]), "allowed_models[0]"),
    (pb.RouteRequest(task_description=EASY, capabilities=[42]), "capabilities"),
    (pb.RouteRequest(task_description=EASY, attribution=pb.Attribution(team="x" * 200)),
     "attribution.team"),
    (pb.RouteRequest(task_description=EASY, request_id="has space"), "request_id"),
])
def test_bad_route_fields_are_invalid_argument_naming_the_field(stub, request_, field):
    err = rpc_error(stub.Route, request_)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in bad_request_fields(err)


@pytest.mark.parametrize(("request_", "field"), [
    (pb.ReportUsageRequest(attribution=KEYS, model="gpt-4o"), "usage_id"),
    (pb.ReportUsageRequest(usage_id="u", attribution=KEYS, model="gpt-4o",
                           tokens=pb.TokenUsage(output=-1)), "tokens.output"),
    (pb.ReportUsageRequest(usage_id="u", attribution=KEYS, model="not-a-model"), "model"),
    (pb.ReportUsageRequest(usage_id="u", attribution=KEYS, model="gpt-4o",
                           actual_cost=pb.Money(currency_code="EUR", nanos=5)),
     "actual_cost.currency_code"),
    (pb.ReportUsageRequest(usage_id="u", attribution=KEYS, model="gpt-4o",
                           compute=pb.Compute(gpu_seconds=float("nan"))), "compute.gpu_seconds"),
    (pb.ReportUsageRequest(usage_id="u", attribution=KEYS, model="gpt-4o",
                           tool_calls=[pb.ToolCall(name="", count=1)]), "tool_calls[0].name"),
    (pb.ReportUsageRequest(usage_id="u", attribution=KEYS, model="gpt-4o", outcome=17),
     "outcome"),
    # each part within bounds, their products not: refused, never an int64 overflow
    (pb.ReportUsageRequest(usage_id="u", attribution=KEYS, model="gpt-4o", tool_calls=[
        pb.ToolCall(name="t", count=1, cost=usd(10**15)),
        pb.ToolCall(name="t", count=1, cost=usd(10**15))]), "tool_calls"),
    (pb.ReportUsageRequest(usage_id="u", attribution=KEYS, model="gpt-4o",
                           compute=pb.Compute(gpu_seconds=2.5e6, cost=usd(10**15)),
                           actual_cost=usd(10**15)), "usage"),
])
def test_bad_usage_fields_are_invalid_argument_naming_the_field(stub, request_, field):
    err = rpc_error(stub.ReportUsage, request_)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in bad_request_fields(err)


def test_unknown_decision_is_not_found(stub):
    err = rpc_error(stub.ReportUsage, pb.ReportUsageRequest(usage_id="u9", decision_id="d-nope"))
    assert err.code() is grpc.StatusCode.NOT_FOUND
    assert rpc_error(stub.GetDecision, pb.GetDecisionRequest(decision_id="d-nope")).code() is \
        grpc.StatusCode.NOT_FOUND


def test_budget_too_small_for_any_model_is_resource_exhausted_with_quota_details(stub):
    err = rpc_error(stub.Route, pb.RouteRequest(task_description=HARD, remaining_budget=usd(1)))
    assert err.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    status = rpc_status.from_call(err)
    assert any(d.Is(error_details_pb2.QuotaFailure.DESCRIPTOR) for d in status.details)


def test_a_budget_that_rules_out_the_adequate_model_picks_the_best_affordable(stub):
    free = stub.Route(pb.RouteRequest(task_description=HARD, quality_target=0.99))
    cheap = min(c.predicted_cost.nanos for c in free.candidates)
    resp = stub.Route(pb.RouteRequest(task_description=HARD, quality_target=0.99,
                                      remaining_budget=usd(cheap)))
    assert resp.predicted.cost.nanos <= cheap
    assert resp.reason.code == pb.REASON_CODE_BEST_AFFORDABLE


def test_health_and_reflection(channel):
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", "router.v1.Router"):
        assert health.Check(health_pb2.HealthCheckRequest(service=name)).status == \
            health_pb2.HealthCheckResponse.SERVING
    refl = reflection_pb2_grpc.ServerReflectionStub(channel)
    answer = next(refl.ServerReflectionInfo(iter([
        reflection_pb2.ServerReflectionRequest(list_services="")])))
    names = {s.name for s in answer.list_services_response.service}
    assert {"router.v1.Router", "grpc.health.v1.Health"} <= names


def test_reflection_v1_lists_and_describes_the_services(channel):
    """grpcurl and other current clients speak grpc.reflection.v1 first; the wire is v1alpha's
    under another package, so a v1 client is v1alpha's messages on v1's method."""
    info = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    listed, router_file, v1_file = info(iter([
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="router.v1.Router"),
        reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="grpc.reflection.v1.ServerReflection")]), timeout=10)
    names = {s.name for s in listed.list_services_response.service}
    assert {"router.v1.Router", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection"} <= names
    files = {descriptor_pb2.FileDescriptorProto.FromString(raw).name: raw
             for raw in router_file.file_descriptor_response.file_descriptor_proto}
    assert "router/v1/router.proto" in files
    [v1] = [descriptor_pb2.FileDescriptorProto.FromString(raw)
            for raw in v1_file.file_descriptor_response.file_descriptor_proto]
    assert v1.package == "grpc.reflection.v1" and v1.service[0].name == "ServerReflection"
    assert v1.service[0].method[0].input_type == ".grpc.reflection.v1.ServerReflectionRequest"


def test_list_models_reports_prices_in_the_configured_currency(stub):
    resp = stub.ListModels(pb.ListModelsRequest())
    assert resp.currency_code == "USD" and resp.default_model
    mini = next(m for m in resp.models if m.id == "gpt-4o-mini")
    assert mini.input_price_per_mtok.nanos == 150_000_000
    assert mini.output_price_per_mtok.nanos == 600_000_000


def test_prediction_error_is_against_the_model_actually_used(stub):
    route = stub.Route(pb.RouteRequest(task_description=HARD, attribution=KEYS))
    fallback = next(c for c in route.candidates if c.model != route.model)
    resp = stub.ReportUsage(pb.ReportUsageRequest(
        usage_id="fb-1", decision_id=route.decision_id, model=fallback.model,
        tokens=pb.TokenUsage(input=100, output=10)))
    assert resp.prediction_error.predicted_cost.nanos == fallback.predicted_cost.nanos


def test_partial_attribution_on_a_report_keeps_the_decisions_other_keys(stub):
    route = stub.Route(pb.RouteRequest(task_description=EASY, attribution=KEYS))
    stub.ReportUsage(pb.ReportUsageRequest(
        usage_id="attr-1", decision_id=route.decision_id,
        attribution=pb.Attribution(user="bob", labels={"step": "2"}),
        tokens=pb.TokenUsage(input=10)))
    savings = stub.GetSavings(pb.GetSavingsRequest())
    assert {(a.team, a.agent) for a in savings.by_agent} == {("finance", "reconciler")}


@pytest.mark.parametrize(("call", "request_", "field"), [
    ("GetDecision", pb.GetDecisionRequest(decision_id="d\0x"), "decision_id"),
    ("GetDecision", pb.GetDecisionRequest(), "decision_id"),
    ("ReportUsage", pb.ReportUsageRequest(usage_id="u1\n", attribution=KEYS, model="gpt-4o"),
     "usage_id"),
    ("GetSavings", pb.GetSavingsRequest(end_time={"seconds": -5}), "end_time"),
    ("GetSavings", pb.GetSavingsRequest(start_time={"seconds": 2**62}), "start_time"),
])
def test_malformed_ids_and_times_are_invalid_argument(stub, call, request_, field):
    err = rpc_error(getattr(stub, call), request_)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in bad_request_fields(err)


def test_a_replay_is_answered_even_when_its_decision_is_gone(server, stub):
    """Replays return the stored answer before anything is checked against current state."""
    route = stub.Route(pb.RouteRequest(task_description=EASY, attribution=KEYS))
    report = pb.ReportUsageRequest(usage_id="gone-1", decision_id=route.decision_id,
                                   tokens=pb.TokenUsage(input=10, output=5))
    first = stub.ReportUsage(report)
    with server.app.store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM decisions"))
    server.app.services.decisions.forget()  # forget the cached decision
    again = stub.ReportUsage(report)
    assert again.replayed and again.cost == first.cost



def test_what_start_up_built_is_out_of_the_collectors_sight(monkeypatch, settings):
    """A full garbage collection pauses the event loop while it walks every tracked object; the
    modules, catalog, classifier and engines that ``router serve`` builds at start-up are
    frozen out of that walk before it serves."""
    import gc
    import importlib

    running = importlib.import_module("router.server.run")  # the module, not its run()
    seen: list[int] = []

    async def serving(app):
        seen.append(gc.get_freeze_count())

    monkeypatch.setattr(running, "build_app", lambda s: object())
    monkeypatch.setattr(running, "run", serving)
    try:
        running.serve(settings)
    finally:
        gc.unfreeze()
    assert seen and seen[0] > 50_000  # the start-up heap (~120k objects here)
