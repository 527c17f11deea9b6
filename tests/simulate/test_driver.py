"""The gRPC driver against a stub server: what it sends, what it retries, and how it tallies the
answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from router import v1 as pb
from router.client import AsyncClient
from router.simulate import SCENARIOS
from router.simulate.catalog import Catalog
from router.simulate.driver import Driver, Result, cost_per_call, timestamp
from router.simulate.population import population
from router.simulate.traffic import Call


def _error(code: grpc.StatusCode, retry_after_s: float | None = None) -> grpc.aio.AioRpcError:
    """The error as the server sends it: with RetryInfo in its status when ``retry_after_s``."""
    trailing = grpc.aio.Metadata()
    if retry_after_s is not None:
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(round(retry_after_s * 1000))
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
        status = status_pb2.Status(code=code.value[0], message="stub", details=[detail])
        trailing = grpc.aio.Metadata(("grpc-status-details-bin", status.SerializeToString()))
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), trailing, details="stub")


class _Stub:
    """Answers Route with a prediction of 100 output tokens, and ReportUsage with a cost of 10
    nanos a token (and the predicted cost, when routed), after failing with each of
    ``report_errors`` in turn."""

    def __init__(self, report_errors: Sequence[grpc.StatusCode | grpc.aio.AioRpcError] = (),
                 route_error: bool = False) -> None:
        self.report_errors = list(report_errors)
        self.route_error = route_error
        self.reports: list[pb.ReportUsageRequest] = []
        self.routes: list[pb.RouteRequest] = []

    async def Route(self, request: pb.RouteRequest, timeout: float,
                    metadata: Any = None) -> pb.RouteResponse:
        self.routes.append(request)
        if self.route_error:
            raise _error(grpc.StatusCode.RESOURCE_EXHAUSTED)
        return pb.RouteResponse(decision_id=f"d-{request.request_id}",
                                predicted=pb.Prediction(output_tokens=100))

    async def ReportUsage(self, request: pb.ReportUsageRequest, timeout: float,
                          metadata: Any = None) -> Any:
        self.reports.append(request)
        if self.report_errors:
            error = self.report_errors.pop(0)
            raise error if isinstance(error, grpc.aio.AioRpcError) else _error(error)
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


def _drive(stub: _Stub, action: Callable[[Driver], Awaitable[Any]], concurrency: int = 4,
           labels: dict[str, str] | None = None, catalog: Catalog | None = None
           ) -> tuple[Driver, Any]:
    """``action`` on a driver over a real AsyncClient (its retries) whose stub is ``stub``."""
    async def run() -> tuple[Driver, Any]:
        async with AsyncClient("127.0.0.1:1", key="") as router:
            router.stub = stub
            driver = Driver(router, concurrency, {"sim": "test"} if labels is None else labels,
                            None, catalog=catalog)
            return driver, await action(driver)

    return asyncio.run(run())


def _send(stub: _Stub, calls: list[Call], concurrency: int = 4) -> tuple[Driver, list[Result]]:
    return _drive(stub, lambda d: d.send(calls), concurrency)


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


def test_a_report_is_retried_while_the_server_is_unavailable_or_overloaded(call: Call):
    stub = _Stub([grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                  _error(grpc.StatusCode.RESOURCE_EXHAUSTED, retry_after_s=0.01)])
    driver, [result] = _send(stub, [call])
    assert len(stub.reports) == 4 and result.status == "new"
    assert {r.usage_id for r in stub.reports} == {"u-1"}  # the same key on every retry
    assert driver.stats["calls"] == 1 and not driver.errors


def test_a_report_over_budget_or_too_large_is_not_retried(call: Call):
    stub = _Stub([grpc.StatusCode.RESOURCE_EXHAUSTED])  # no RetryInfo: it would stay so
    _, [result] = _send(stub, [call])
    assert len(stub.reports) == 1 and result.status == "error"


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
    tasks = [[replace(call, usage_id=f"u-{i}")] for i in range(10)]  # 10,500 nanos each
    driver, (sent, results) = _drive(stub, lambda d: d.send_until(tasks, 3 * 10_500), 2, {})
    assert [c.usage_id for c in sent] == ["u-0", "u-1", "u-2", "u-3"]  # two batches of two
    assert len(results) == 4 and driver.total == 4


def test_a_successful_call_reports_a_quality_drawn_from_its_models_ability(catalog: Catalog,
                                                                         call: Call):
    from router.simulate.quality import ability

    stub = _Stub()
    failed = replace(call, usage_id="u-2", outcome=pb.OUTCOME_RETRY)
    _, results = _drive(stub, lambda d: d.send([call, failed]), catalog=catalog)
    ok, retried = sorted(stub.reports, key=lambda r: r.usage_id)
    assert ok.HasField("quality") and 0.0 <= ok.quality <= 1.0
    assert results[0].quality == ok.quality
    assert not retried.HasField("quality") and results[1].quality is None
    # the same call draws the same score (its own id seeds it)
    _, [again] = _drive(_Stub(), lambda d: d.send([call]), labels={}, catalog=catalog)
    assert again.quality == ok.quality
    # without a catalog (as before) no quality is sent
    _, [plain] = _send(_Stub(), [call])
    assert plain.quality is None
    assert 0.05 <= ability(catalog, call.model, call.agent.task_type) <= 0.97
