"""Budgets hold under real concurrency: 200 simultaneous Routes against room for 50.

On SQLite with threads (through the gRPC server, and through the shared SQL ledger directly),
and on PostgreSQL with two `router serve` processes sharing one database. After every admitted
call reports, spent equals the sum of actual costs exactly and nothing is held.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from router import v1 as pb
from router.budgeting import LocalLedger, SharedLedger
from router.core.errors import BudgetExhausted
from router.core.pricing import TokenCounts
from router.core.records import Attribution
from router.core.requests import RouteInput, UsageInput
from router.server import build_app
from router.service import build_services
from router.settings import ROOT
from router.store.recorder import Recorder
from router.v1 import router_pb2_grpc
from tests.conftest import RunningServer, make_settings

CALLS, ROOM_FOR = 200, 50
TASK = "Summarise this support ticket in two sentences."
MODEL = "gpt-4o-mini"


def budgets_file(tmp_path: Path, limit_nanos: int) -> Path:
    path = tmp_path / "budgets.toml"
    limit = f"{limit_nanos // 10**9}.{limit_nanos % 10**9:09d}"
    path.write_text(f'''schema_version = 1
[[budgets]]
id = "swarm"
scope = {{ agent = "swarm" }}
limit = "{limit}"
window = "day"
[[budgets]]
id = "team"
scope = {{ team = "load" }}
limit = "1000000"
window = "month"
[[budgets]]
id = "user"
scope = {{ user = "ana" }}
limit_tokens = 1000000000
window = "week"
''')
    return path


def route_request() -> pb.RouteRequest:
    return pb.RouteRequest(task_description=TASK, allowed_models=[MODEL],
                           attribution=pb.Attribution(team="load", agent="swarm", user="ana"))


def predicted_cost(tmp_path: Path) -> int:
    """What one of these calls is predicted to cost, from a server without budgets."""
    app = build_app(make_settings(tmp_path / "probe"))
    try:
        return app.services.routing.route(RouteInput(task_description=TASK, allowed_models=(MODEL,))
                                 ).decision.predicted_cost
    finally:
        app.close()


def storm(stubs: list[router_pb2_grpc.RouterStub]) -> tuple[list[pb.RouteResponse], list[str]]:
    """CALLS Routes at once, spread over the stubs; (admitted, refusal codes)."""
    def one(i: int):
        try:
            return stubs[i % len(stubs)].Route(route_request(), timeout=30)
        except grpc.RpcError as err:
            return err.code().name

    with ThreadPoolExecutor(64) as pool:
        results = list(pool.map(one, range(CALLS)))
    return [r for r in results if isinstance(r, pb.RouteResponse)], \
        [r for r in results if isinstance(r, str)]


def settle_all(stubs, admitted: list[pb.RouteResponse]) -> tuple[int, int]:
    """Report every admitted call with an actual output that differs from the prediction;
    replay each report once. Returns the sum of actual costs, and of the amounts by which
    actual costs exceeded their predictions (the bound on overspend)."""
    def one(i: int) -> tuple[int, int]:
        d = admitted[i]
        actual_output = max(1, d.predicted.output_tokens * (80 + 2 * (i % 50)) // 100)
        req = pb.ReportUsageRequest(
            usage_id=f"u-{d.decision_id}", decision_id=d.decision_id,
            tokens=pb.TokenUsage(input=d.predicted.input_tokens,
                                 output=actual_output))
        stub = stubs[i % len(stubs)]
        first = stub.ReportUsage(req, timeout=30)
        assert stub.ReportUsage(req, timeout=30).replayed
        return first.cost.total.nanos, max(0, first.cost.total.nanos - d.predicted.cost.nanos)

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(one, range(len(admitted))))
    return sum(r[0] for r in results), sum(r[1] for r in results)


def check_settled(stub, limit: int, settled: tuple[int, int]) -> None:
    actual_total, excess = settled
    status = stub.GetBudgetStatus(pb.GetBudgetStatusRequest(id="swarm"))
    assert status.held.nanos == 0
    assert status.spent.nanos == actual_total  # exact, integer nanos
    overspend = max(0, status.spent.nanos - limit)
    assert 0 < overspend <= excess
    print(f"\nlimit {limit} nanos, spent {status.spent.nanos}, overspend {overspend} "
          f"({overspend / limit:.1%}, bounded by the prediction error of calls in flight)")


def test_sqlite_server_admits_at_most_the_room_under_200_concurrent_routes(tmp_path):
    cost = predicted_cost(tmp_path)
    limit = cost * ROOM_FOR
    server = RunningServer(make_settings(tmp_path,
                                         budgets_path=str(budgets_file(tmp_path, limit))))
    try:
        with grpc.insecure_channel(server.address) as ch:
            stub = router_pb2_grpc.RouterStub(ch)
            admitted, refused = storm([stub])
            assert len(admitted) == ROOM_FOR  # every call costs the same: exactly 50 fit
            assert set(refused) == {"RESOURCE_EXHAUSTED"}
            assert sum(a.predicted.cost.nanos for a in admitted) <= limit
            check_settled(stub, limit, settle_all([stub], admitted))
    finally:
        server.stop()


@pytest.mark.parametrize("ledger_kind", ["local", "sql"])
def test_each_ledger_admits_at_most_the_room_from_200_threads(tmp_path, ledger_kind):
    """The in-process ledger's lock, and the shared ledger's conditional updates on SQLite's
    locking, from plain threads racing between reading the room and holding it."""
    cost = predicted_cost(tmp_path)
    settings = make_settings(tmp_path, budgets_path=str(budgets_file(tmp_path, cost * ROOM_FOR)),
                             ledger="local" if ledger_kind == "local" else "shared")
    app = build_app(settings)
    recorder = Recorder(app.store).start()
    service = build_services(settings, app.catalog, app.classifier, app.store, recorder,
                             ledger=LocalLedger(app.store) if ledger_kind == "local"
                             else SharedLedger(app.store))
    keys = Attribution(team="load", agent="swarm", user="ana")

    def one(_: int):
        try:
            return service.routing.route(RouteInput(task_description=TASK, attribution=keys,
                                                    allowed_models=(MODEL,))).decision
        except BudgetExhausted:
            return None

    with ThreadPoolExecutor(200) as pool:
        decisions = [d for d in pool.map(one, range(CALLS)) if d is not None]
    assert len(decisions) == ROOM_FOR
    total = 0
    for d in decisions:
        total += service.usage.report(UsageInput(
            usage_id=f"u-{d.decision_id}", decision_id=d.decision_id,
            tokens=TokenCounts(input=d.input_tokens, output=d.output_tokens * 2))).usage.cost.total
    status = service.budgets.status("swarm")
    assert status.totals.held == 0 and status.totals.spent == total
    if ledger_kind == "sql":
        assert app.store.ledger_sums() == app.store.window_rows()
    recorder.close()
    app.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.postgres
def test_two_server_processes_on_postgres_admit_at_most_the_room(tmp_path, pg_url):
    cost = predicted_cost(tmp_path)
    limit = cost * ROOM_FOR
    path = budgets_file(tmp_path, limit)
    ports = [_free_port(), _free_port()]
    env = {**os.environ, "ROUTER_LOG_LEVEL": "warning", "ROUTER_DATABASE_URL": pg_url,
           "ROUTER_BUDGETS_PATH": str(path), "ROUTER_DECISION_LOOKUP_GRACE_MS": "200",
           "ROUTER_ADMIN_TOKEN": "t0k3n", "ROUTER_BUDGET_TICK_S": "0.1",
           "ROUTER_BUDGET_REFRESH_S": "0.1"}
    procs = []
    try:
        for i, port in enumerate(ports):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "router.cli", "serve", "--address", f"127.0.0.1:{port}"],
                env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                stderr=open(tmp_path / f"server{i}.log", "w")))  # noqa: SIM115
            if i == 0:  # the first migrates; the second starts on a ready schema
                _wait_serving(port, procs[0], tmp_path / "server0.log")
        _wait_serving(ports[1], procs[1], tmp_path / "server1.log")
        channels = [grpc.insecure_channel(f"127.0.0.1:{p}") for p in ports]
        stubs = [router_pb2_grpc.RouterStub(c) for c in channels]
        admitted, refused = storm(stubs)
        assert len(admitted) == ROOM_FOR, (len(admitted), refused[:3])
        assert set(refused) == {"RESOURCE_EXHAUSTED"}
        check_settled(stubs[1], limit, settle_all(stubs, admitted))
        # a pause made on one replica stops routing on the other within the refresh interval
        stubs[0].PauseScope(pb.PauseScopeRequest(scope=pb.BudgetScope(user="ana")),
                            metadata=(("authorization", "Bearer t0k3n"),))
        deadline = time.monotonic() + 10
        while True:
            try:
                stubs[1].Route(pb.RouteRequest(task_description=TASK,
                                               attribution=pb.Attribution(user="ana")),
                               timeout=10)
            except grpc.RpcError as err:
                assert err.code() is grpc.StatusCode.FAILED_PRECONDITION
                break
            assert time.monotonic() < deadline, "the other replica never saw the pause"
            time.sleep(0.05)
        for c in channels:
            c.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            assert p.wait(30) == 0  # graceful: SIGTERM drains and exits 0


def _wait_serving(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        health = health_pb2_grpc.HealthStub(ch)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"server exited: {log.read_text()[-2000:]}")
            try:
                if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise AssertionError(f"server on {port} never served: {log.read_text()[-2000:]}")
