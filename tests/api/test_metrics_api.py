"""The Prometheus output of a real server, scraped (``generate_latest``, what /metrics serves):
every metric is there and moves when calls are made, replays count nothing, and a refused
call's log line says who was refused and why.

The metrics are process-wide (``router.metrics`` argues why), and other tests' servers run in
this process: each test names its own team and budget and asserts deltas."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from router import v1 as pb
from router.api.grpc import base
from router.auth import SYSTEM
from router.core.clock import ManualClock
from router.core.errors import InvalidRequest
from router.v1 import router_pb2_grpc
from tests.api.test_anomalies_api import NOW, history
from tests.api.test_e2e import EASY, rpc_error, usd
from tests.conftest import RunningServer, make_settings

TOKEN = "metrics-admin"
ADMIN = (("authorization", f"Bearer {TOKEN}"),)
UNIT = 10**9

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape() -> Samples:
    """Every sample of the default registry's text output, by name and labels."""
    out: Samples = {}
    for family in text_string_to_metric_families(generate_latest().decode()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def at(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return at(after, name, **labels) - at(before, name, **labels)


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = RunningServer(make_settings(tmp_path, admin_token=TOKEN, budget_tick_s=3600.0,
                                          anomaly_interval_s=0.0), ManualClock(NOW * 10**6))
    yield running
    running.stop()


@pytest.fixture
def stub(server: RunningServer) -> Iterator[router_pb2_grpc.RouterStub]:
    with grpc.insecure_channel(server.address) as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield router_pb2_grpc.RouterStub(ch)


def team_key(stub: router_pb2_grpc.RouterStub, team: str) -> tuple[str, tuple[tuple[str, str]]]:
    made = stub.CreateApiKey(pb.CreateApiKeyRequest(key=pb.ApiKey(role=pb.ROLE_TEAM, team=team)),
                             metadata=ADMIN)
    return made.key.key_id, (("authorization", f"Bearer {made.secret}"),)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_route_report_and_a_budget_move_their_metrics_and_a_replay_counts_nothing(stub):
    team, budget = unique("team"), unique("budget")
    stub.SetBudget(pb.SetBudgetRequest(budget=pb.Budget(
        id=budget, scope=pb.BudgetScope(team=team), limit=usd(10 * UNIT),
        window=pb.BUDGET_WINDOW_DAY)), metadata=ADMIN)
    _, as_team = team_key(stub, team)
    route = {"method": "Route", "code": "OK", "transport": "grpc"}
    report = {"method": "ReportUsage", "code": "OK", "transport": "grpc"}
    s0 = scrape()
    routed = stub.Route(pb.RouteRequest(task_description=EASY,
                                        attribution=pb.Attribution(agent="bot")),
                        metadata=as_team)
    s1 = scrape()
    assert moved(s0, s1, "router_rpc_requests_total", **route) == 1
    assert moved(s0, s1, "router_rpc_latency_seconds_count", **route) == 1
    assert moved(s0, s1, "router_rpc_latency_seconds_sum", **route) > 0
    assert moved(s0, s1, "router_classifier_latency_seconds_count") == 1
    assert moved(s0, s1, "router_budget_open_holds") == 1
    held = routed.predicted.cost.nanos
    assert held > 0
    assert at(s1, "router_budget_held_nanos", budget=budget) == held
    assert at(s1, "router_budget_spent_nanos", budget=budget) == 0
    assert at(s1, "router_budget_limit_nanos", budget=budget) == 10 * UNIT
    assert at(s1, "router_budget_state", budget=budget, state="ok") == 1
    assert at(s1, "router_budget_state", budget=budget, state="exhausted") == 0
    assert ("router_writer_queue_depth", frozenset()) in s1

    request = pb.ReportUsageRequest(usage_id=unique("u"), decision_id=routed.decision_id,
                                    tokens=pb.TokenUsage(input=120, output=80, reasoning=5))
    answer = stub.ReportUsage(request, metadata=as_team)
    cost = answer.cost.total.nanos
    s2 = scrape()
    spend = {"team": team, "model": routed.model}
    assert cost > 0 and moved(s1, s2, "router_spend_nanos_total", **spend) == cost
    assert moved(s1, s2, "router_tokens_total", **spend, kind="input") == 120
    assert moved(s1, s2, "router_tokens_total", **spend, kind="output") == 80
    assert moved(s1, s2, "router_tokens_total", **spend, kind="reasoning") == 5
    assert moved(s1, s2, "router_rpc_requests_total", **report) == 1
    assert moved(s0, s2, "router_writer_batch_size_count") >= 2  # the decision, the usage
    assert moved(s0, s2, "router_writer_batch_size_sum") >= 2
    assert moved(s0, s2, "router_writer_commit_seconds_count") >= 2
    assert at(s2, "router_budget_spent_nanos", budget=budget) == cost
    assert at(s2, "router_budget_held_nanos", budget=budget) == 0
    assert moved(s1, s2, "router_budget_open_holds") == -1

    assert stub.ReportUsage(request, metadata=as_team).replayed
    s3 = scrape()
    assert moved(s2, s3, "router_rpc_requests_total", **report) == 1
    assert moved(s2, s3, "router_spend_nanos_total", **spend) == 0  # a replay counts nothing
    assert moved(s2, s3, "router_tokens_total", **spend, kind="input") == 0
    assert at(s3, "router_budget_spent_nanos", budget=budget) == cost


class Captured:
    """The RPC log lines written while it is installed (structlog's capture)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._cm = structlog.testing.capture_logs()
        self.lines = self._cm.__enter__()
        # the module's logger is cached with the suite's configuration: a fresh one sees the
        # capture's
        monkeypatch.setattr(base, "log", structlog.get_logger("router.rpc"))

    def close(self) -> None:
        self._cm.__exit__(None, None, None)

    def rpc(self, code: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["event"] == "rpc" and line["code"] == code]


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[Captured]:
    c = Captured(monkeypatch)
    yield c
    c.close()


def test_refusals_are_counted_by_reason_and_their_lines_say_who_and_why(stub, captured):
    team, budget = unique("team"), unique("budget")
    key_id, as_team = team_key(stub, team)
    attribution = pb.Attribution(team=team, agent="runner", task_id="t-9", user="ana")
    stub.SetBudget(pb.SetBudgetRequest(budget=pb.Budget(
        id=budget, scope=pb.BudgetScope(team=team, agent="runner"), limit=usd(1),
        window=pb.BUDGET_WINDOW_DAY)), metadata=ADMIN)
    s0 = scrape()
    exhausted = rpc_error(stub.Route, pb.RouteRequest(task_description=EASY,
                                                      attribution=attribution),
                          metadata=as_team)
    assert exhausted.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    stub.PauseScope(pb.PauseScopeRequest(scope=pb.BudgetScope(team=team, agent="paused-bot"),
                                         reason="runaway"), metadata=ADMIN)
    paused = pb.Attribution(team=team, agent="paused-bot", task_id="t-1", user="bo")
    err = rpc_error(stub.Route, pb.RouteRequest(task_description=EASY, attribution=paused),
                    metadata=as_team)
    assert err.code() is grpc.StatusCode.FAILED_PRECONDITION
    other = pb.Attribution(team=unique("other-team"), agent="spy")
    err = rpc_error(stub.Route, pb.RouteRequest(task_description=EASY, attribution=other),
                    metadata=as_team)
    assert err.code() is grpc.StatusCode.PERMISSION_DENIED
    err = rpc_error(stub.Route, pb.RouteRequest(task_description="", attribution=attribution,
                                                request_id="req-1"), metadata=as_team)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    forged = f"{key_id}_{'x' * 43}"  # a well-formed key of a real id, with a wrong secret
    err = rpc_error(stub.ReportUsage, pb.ReportUsageRequest(usage_id="u-forged"),
                    metadata=(("authorization", f"Bearer {forged}"),))
    assert err.code() is grpc.StatusCode.UNAUTHENTICATED
    s1 = scrape()

    assert moved(s0, s1, "router_budget_refusals_total", reason="exhausted") == 1
    assert moved(s0, s1, "router_budget_refusals_total", reason="paused") == 1
    assert moved(s0, s1, "router_budget_refusals_total", reason="throttled") == 0
    for code in ("RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "PERMISSION_DENIED",
                 "INVALID_ARGUMENT"):
        assert moved(s0, s1, "router_rpc_requests_total", method="Route", code=code,
                     transport="grpc") == 1, code

    # the suite logs at warning: refusals are warnings, so their lines are written
    by_reason = {line["reason"]: line for line in captured.lines
                 if line["event"] == "rpc" and "reason" in line}
    assert all(line["log_level"] == "warning" for line in by_reason.values())
    budget_line = by_reason["budget"]
    assert (budget_line["rpc"], budget_line["code"]) == ("Route", "RESOURCE_EXHAUSTED")
    assert {k: budget_line[k] for k in ("key", "team", "agent", "task_id", "user")} == {
        "key": key_id, "team": team, "agent": "runner", "task_id": "t-9", "user": "ana"}
    assert budget in budget_line["error"]
    pause_line = by_reason["paused"]
    assert (pause_line["key"], pause_line["team"], pause_line["agent"]) == (
        key_id, team, "paused-bot")
    assert "runaway" in pause_line["error"]
    denied = by_reason["permission"]
    assert (denied["key"], denied["team"], denied["agent"]) == (key_id, other.team, "spy")
    invalid = by_reason["invalid"]
    assert (invalid["key"], invalid["team"], invalid["request_id"]) == (key_id, team, "req-1")
    unauth = by_reason["unauthenticated"]
    assert (unauth["rpc"], unauth["code"]) == ("ReportUsage", "UNAUTHENTICATED")
    assert unauth["key"] == key_id and unauth["usage_id"] == "u-forged"  # the key presented


def test_a_detected_anomaly_and_a_closed_watch_stream_are_counted(server, stub):
    s0 = scrape()
    watch = stub.WatchAnomalies(pb.WatchAnomaliesRequest())
    streamed: list[pb.Anomaly] = []
    reader = threading.Thread(target=lambda: streamed.extend([next(watch)]), daemon=True)
    reader.start()
    history(stub)
    new = server.app.services.anomalies.detect()
    assert [d.anomaly.kind.value for d in new] == ["spend_spike"]
    reader.join(10)
    assert len(streamed) == 1
    watch.cancel()
    stream = {"method": "WatchAnomalies", "code": "CANCELLED", "transport": "grpc"}
    deadline = time.monotonic() + 10
    while moved(s0, scrape(), "router_rpc_requests_total", **stream) < 1:  # ends server-side
        assert time.monotonic() < deadline, "the stream's end was never counted"
        time.sleep(0.02)
    s1 = scrape()
    assert moved(s0, s1, "router_anomalies_total", kind="spend_spike") == 1
    assert moved(s0, s1, "router_rpc_latency_seconds_count", **stream) == 1
    assert moved(s0, s1, "router_spend_nanos_total", team="eng", model="gpt-4o") > 0
    assert moved(s0, s1, "router_budget_refusals_total", reason="paused") == 0
    assert server.app.services.anomalies.detect() == []  # not new again: not counted again
    assert moved(s1, scrape(), "router_anomalies_total", kind="spend_spike") == 0


def test_every_documented_metric_is_in_the_output(stub):
    """What the README's metrics table lists (each a family of the output)."""
    stub.Route(pb.RouteRequest(task_description=EASY))
    out = names(scrape())
    for name in ("router_rpc_requests_total", "router_rpc_latency_seconds_bucket",
                 "router_classifier_latency_seconds_bucket", "router_writer_batch_size_bucket",
                 "router_writer_commit_seconds_bucket", "router_writer_queue_depth",
                 "router_paused_scopes", "router_budget_open_holds"):
        assert name in out, name
    text = generate_latest().decode()
    for family in ("router_spend_nanos_total", "router_tokens_total",
                   "router_budget_refusals_total", "router_anomalies_total",
                   "router_budget_spent_nanos", "router_budget_held_nanos",
                   "router_budget_limit_nanos", "router_budget_state",
                   "router_budget_fail_open_total", "router_otlp_spans_total"):
        assert f"# TYPE {family.removesuffix('_total')}" in text, family


class _HttpContext:
    """What the HTTP edge hands a servicer: a context that says it is HTTP."""

    transport = "http"

    def invocation_metadata(self) -> tuple[()]:
        return ()

    async def abort_with_status(self, status: object) -> None:
        raise RuntimeError("aborted")


class _Anyone:
    def of(self, context: object) -> object:
        return SYSTEM


def test_a_call_through_the_http_edge_is_counted_as_http():
    rpcs = base.RpcBase(base.Offload(None, None), _Anyone())  # type: ignore[arg-type]

    async def ok(line: dict[str, Any], who: object) -> str:
        return "answer"

    async def refused(line: dict[str, Any], who: object) -> str:
        raise InvalidRequest.of("x", "bad")

    method = unique("Probe")
    assert asyncio.run(rpcs._handle(method, None, _HttpContext(), ok)) == "answer"
    with pytest.raises(RuntimeError, match="aborted"):
        asyncio.run(rpcs._handle(method, None, _HttpContext(), refused))
    out = scrape()
    assert at(out, "router_rpc_requests_total", method=method, code="OK", transport="http") == 1
    assert at(out, "router_rpc_requests_total", method=method, code="INVALID_ARGUMENT",
              transport="http") == 1
    assert at(out, "router_rpc_requests_total", method=method, code="OK", transport="grpc") == 0
