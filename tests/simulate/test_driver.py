"""The gRPC driver against a stub server: what it sends, what it retries, and how it tallies the
answers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import grpc
import pytest

from router import v1 as pb
from router.simulate import SCENARIOS
from router.simulate.catalog import Catalog
from router.simulate.driver import Driver, Result, cost_per_call, timestamp
from router.simulate.population import population
from router.simulate.traffic import Call


def _error(code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details="stub")


class _Stub:
    """Answers Route with a prediction of 100 output tokens, and ReportUsage with a cost of 10
    nanos a token (and the predicted cost, when routed), after failing with each of
    ``report_errors`` in turn."""

    def __init__(self, report_errors: Sequence[grpc.StatusCode] = (),
                 route_error: bool = False) -> None:
        self.report_errors = list(report_errors)
        self.route_error = route_error
        self.reports: list[pb.ReportUsageRequest] = []
        self.routes: list[pb.RouteRequest] = []

    async def Route(self, request: pb.RouteRequest, timeout: float) -> pb.RouteResponse:
        self.routes.append(request)
        if self.route_error:
            raise _error(grpc.StatusCode.RESOURCE_EXHAUSTED)
        return pb.RouteResponse(decision_id=f"d-{request.request_id}",
                                predicted=pb.Prediction(output_tokens=100))

    async def ReportUsage(self, request: pb.ReportUsageRequest, timeout: float) -> Any:
        self.reports.append(request)
        if self.report_errors:
            raise _error(self.report_errors.pop(0))
        cost = 10 * (request.tokens.input + request.tokens.output)
        resp = pb.ReportUsageResponse(cost=pb.CostBreakdown(
            total=pb.Money(nanos=cost), tokens=pb.Money(nanos=cost)))
        if request.decision_id:
            resp.prediction_error.predicted_cost.nanos = 10 * (request.tokens.input + 100)
        return resp


@pytest.fixture
def call(catalog: Catalog) -> Call:
    agent = population(SCENARIOS["small"], 1, catalog).agents[0]
    return Call(t_us=1_700_000_000_123_456, agent=agent, task_id="t-1", user="ana.finance",
                model=agent.model, description="Summarise.", input=1000, cached=0, output=50,
                reasoning=0, tools=(("web_search", 2),), cpu=0.0, gpu=0.0, review=0.0,
                outcome=pb.OUTCOME_SUCCESS, latency_ms=900, route=False, usage_id="u-1")


def _send(stub: _Stub, calls: list[Call], concurrency: int = 4) -> tuple[Driver, list[Result]]:
    driver = Driver(stub, concurrency, {"sim": "test"}, None)  # type: ignore[arg-type]
    return driver, asyncio.run(driver.send(calls))


def test_timestamp_splits_microseconds_into_seconds_and_nanos():
    ts = timestamp(1_700_000_000_123_456)
    assert (ts.seconds, ts.nanos) == (1_700_000_000, 123_456_000)


def test_cost_per_call_averages_only_the_calls_the_server_recorded():
    results = [Result("new", cost=10), Result("replayed", cost=30), Result("conflict", cost=99),
               Result("error")]
    assert [r.recorded for r in results] == [True, True, False, False]
    assert cost_per_call(results) == 20
    assert cost_per_call([Result("error")]) == 0.0


def test_a_report_carries_the_call_its_attribution_and_its_time(call: Call):
    stub = _Stub()
    driver, [result] = _send(stub, [call])
    [req] = stub.reports
    assert (req.usage_id, req.model, req.tokens.input, req.tokens.output) == \
        ("u-1", call.model, 1000, 50)
    assert (req.attribution.team, req.attribution.agent, req.attribution.task_id,
            req.attribution.user, dict(req.attribution.labels)) == \
        (call.agent.team, call.agent.name, "t-1", "ana.finance", {"sim": "test"})
    assert [(t.name, t.count) for t in req.tool_calls] == [("web_search", 2)]
    assert req.occurred_at.seconds == 1_700_000_000 and not req.decision_id
    assert (result.status, result.cost, result.routed) == ("new", 10_500, False)
    assert driver.spend == {call.agent.team: 10_500} and driver.stats["new"] == 1


def test_a_report_is_retried_while_the_server_is_unavailable(call: Call):
    stub = _Stub([grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED])
    driver, [result] = _send(stub, [call])
    assert len(stub.reports) == 3 and result.status == "new"
    assert driver.stats["calls"] == 1 and not driver.errors


def test_a_usage_id_recorded_with_other_values_is_a_conflict_and_no_spend(call: Call):
    stub = _Stub([grpc.StatusCode.ALREADY_EXISTS])
    driver, [result] = _send(stub, [call])
    assert len(stub.reports) == 1  # not retried
    assert result.status == "conflict" and not result.recorded
    assert driver.stats["conflict"] == 1 and not driver.spend and not driver.errors


def test_a_refused_report_is_an_error_noted_with_its_usage_id(call: Call):
    stub = _Stub([grpc.StatusCode.INVALID_ARGUMENT])
    driver, [result] = _send(stub, [call])
    assert result.status == "error"
    assert driver.errors == ["ReportUsage u-1: INVALID_ARGUMENT: stub"]


def test_a_routed_call_is_reported_against_its_decision(call: Call):
    stub = _Stub()
    _, [result] = _send(stub, [replace(call, route=True)])
    [route], [report] = stub.routes, stub.reports
    assert route.request_id == "u-1/route" and list(route.allowed_models) == [call.model]
    assert route.quality_target == call.agent.quality
    assert report.decision_id == "d-u-1/route" and result.routed
    assert (result.predicted_output, result.predicted_cost) == (100, 11_000)


def test_a_refused_route_reports_the_call_without_a_decision(call: Call):
    stub = _Stub(route_error=True)
    driver, [result] = _send(stub, [replace(call, route=True)])
    assert len(stub.routes) == 1  # RESOURCE_EXHAUSTED is not retried for Route
    assert not stub.reports[0].decision_id and not result.routed
    assert driver.stats["route_refused"] == 1 and result.status == "new"


def test_a_drifting_call_reports_its_factor_times_the_predicted_output(call: Call):
    stub = _Stub()
    _, [result] = _send(stub, [replace(call, route=True, drift=3.5)])
    assert stub.reports[0].tokens.output == 350
    assert (result.predicted_output, result.actual_output) == (100, 350)


def test_send_until_sends_whole_batches_until_the_spend_reaches_the_target(call: Call):
    stub = _Stub()
    driver = Driver(stub, 2, {}, None)  # type: ignore[arg-type]
    tasks = [[replace(call, usage_id=f"u-{i}")] for i in range(10)]  # 10,500 nanos each
    sent, results = asyncio.run(driver.send_until(tasks, 3 * 10_500))
    assert [c.usage_id for c in sent] == ["u-0", "u-1", "u-2", "u-3"]  # two batches of two
    assert len(results) == 4 and driver.total == 4


def test_a_successful_call_reports_a_quality_drawn_from_its_models_ability(catalog: Catalog,
                                                                         call: Call):
    from router.simulate.quality import ability

    stub = _Stub()
    driver = Driver(stub, 4, {"sim": "test"}, None, catalog=catalog)  # type: ignore[arg-type]
    failed = replace(call, usage_id="u-2", outcome=pb.OUTCOME_RETRY)
    results = asyncio.run(driver.send([call, failed]))
    ok, retried = sorted(stub.reports, key=lambda r: r.usage_id)
    assert ok.HasField("quality") and 0.0 <= ok.quality <= 1.0
    assert results[0].quality == ok.quality
    assert not retried.HasField("quality") and results[1].quality is None
    # the same call draws the same score (its own id seeds it)
    again = Driver(_Stub(), 4, {}, None, catalog=catalog)  # type: ignore[arg-type]
    assert asyncio.run(again.send([call]))[0].quality == ok.quality
    # without a catalog (as before) no quality is sent
    _, [plain] = _send(_Stub(), [call])
    assert plain.quality is None
    assert 0.05 <= ability(catalog, call.model, call.agent.task_type) <= 0.97
