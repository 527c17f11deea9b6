"""The store goes away: Route fails closed (UNAVAILABLE within the bound, health NOT_SERVING),
or open when configured (logged and counted); when the store is back, the service serves again.

PostgreSQL is reached through a TCP proxy the test can cut."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import struct
import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from router import v1 as pb
from router.v1 import router_pb2_grpc
from tests.api.test_e2e import EASY, rpc_error
from tests.conftest import RunningServer, make_settings

BUDGETS = '''schema_version = 1
[[budgets]]
id = "bot"
scope = { agent = "bot" }
limit = "100"
window = "day"
'''


class Proxy:
    """Forwards a local port to PostgreSQL until cut; ``cut`` resets every connection;
    ``silence`` keeps every connection open and accepts new ones, but forwards nothing (a
    black-holed peer); ``heal`` resets what was silenced and forwards again."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._silent = threading.Event()
        self.start()

    def silence(self) -> None:
        self._silent.set()

    def heal(self) -> None:
        self.cut()
        self._silent.clear()
        self.start()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self._silent.is_set():  # accept, then read and drop whatever comes
                with self._lock:
                    self._conns.append(client)
                threading.Thread(target=self._pump, args=(client, None), daemon=True).start()
                continue
            upstream = socket.create_connection(self.upstream)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket | None) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if dst is not None and not self._silent.is_set():
                    dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError, AttributeError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        assert self._listener is not None
        with contextlib.suppress(OSError):  # wakes the accepting thread (close alone does not)
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with contextlib.suppress(OSError):  # wakes a pump blocked in recv (close does not)
                s.shutdown(socket.SHUT_RDWR)
            s.close()


@pytest.fixture
def proxied_pg(pg_url: str):
    proxy = Proxy(("127.0.0.1", 5432))
    yield proxy, pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    with contextlib.suppress(Exception):
        proxy.cut()


def _health(channel: grpc.Channel) -> int:
    return health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(), timeout=5).status


def _eventually(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return
        time.sleep(0.1)
    raise AssertionError("condition never became true")


def _server(tmp_path: Path, url: str, **overrides) -> RunningServer:
    path = tmp_path / "budgets.toml"
    path.write_text(BUDGETS)
    settings = make_settings(tmp_path, budgets_path=str(path), store_timeout_ms=1000,
                             **overrides)
    return RunningServer(dataclasses.replace(settings, database_url=url))


def route(stub) -> pb.RouteResponse:
    return stub.Route(pb.RouteRequest(task_description=EASY,
                                      attribution=pb.Attribution(agent="bot")), timeout=10)


@pytest.mark.postgres
def test_route_fails_closed_within_the_bound_and_recovers(tmp_path, proxied_pg):
    proxy, url = proxied_pg
    server = _server(tmp_path, url)
    try:
        with grpc.insecure_channel(server.address) as ch:
            stub = router_pb2_grpc.RouterStub(ch)
            _eventually(lambda: _health(ch) == health_pb2.HealthCheckResponse.SERVING)
            assert route(stub).budgets[0].budget_id == "bot"
            proxy.cut()
            started = time.monotonic()
            err = rpc_error(route, stub)
            elapsed = time.monotonic() - started
            assert err.code() is grpc.StatusCode.UNAVAILABLE
            assert elapsed < 3.0, f"UNAVAILABLE took {elapsed:.1f} s"
            _eventually(lambda: _health(ch) == health_pb2.HealthCheckResponse.NOT_SERVING)
            proxy.start()
            _eventually(lambda: _health(ch) == health_pb2.HealthCheckResponse.SERVING)
            _eventually(lambda: route(stub).budgets[0].budget_id == "bot")
    finally:
        server.stop()


@pytest.mark.postgres
def test_fail_open_routes_without_budgets_and_counts_it(tmp_path, proxied_pg):
    proxy, url = proxied_pg
    server = _server(tmp_path, url, budget_fail_open=True)
    try:
        with grpc.insecure_channel(server.address) as ch:
            stub = router_pb2_grpc.RouterStub(ch)
            _eventually(lambda: _health(ch) == health_pb2.HealthCheckResponse.SERVING)
            route(stub)
            proxy.cut()
            unchecked = route(stub)
            assert unchecked.model and not unchecked.budgets
            assert server.app.services.gate.fail_open_count >= 1
            proxy.start()
            _eventually(lambda: _health(ch) == health_pb2.HealthCheckResponse.SERVING)
            server.app.recorder.flush(timeout=15)  # the queued decision reaches the store
    finally:
        server.stop()


def _timed(call, *args):
    started = time.monotonic()
    err = rpc_error(call, *args)
    return err, time.monotonic() - started


def _month_by_team() -> pb.QuerySpendRequest:
    request = pb.QuerySpendRequest(group_by=[pb.SPEND_DIMENSION_TEAM], time_zone="Europe/London")
    request.start_time.FromJsonString("2026-09-30T23:00:00Z")
    request.end_time.FromJsonString("2026-11-01T00:00:00Z")
    return request


def _month_of_charges() -> pb.ListFocusChargesRequest:
    month = _month_by_team()
    return pb.ListFocusChargesRequest(start_time=month.start_time, end_time=month.end_time)


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["reset", "silent"])
def test_store_bound_rpcs_answer_unavailable_within_the_bound_and_lose_nothing(
        tmp_path, proxied_pg, mode):
    """Route (budgets on the shared ledger), ReportUsage and the reads answer UNAVAILABLE
    within the store timeout (1 s) plus a margin, whether the database resets connections or
    goes silent; once it is back, the retried usage is recorded once and an acknowledged one
    replays."""
    proxy, url = proxied_pg
    server = _server(tmp_path, url)
    try:
        with grpc.insecure_channel(server.address) as ch:
            stub = router_pb2_grpc.RouterStub(ch)
            _eventually(lambda: _health(ch) == health_pb2.HealthCheckResponse.SERVING)
            decision = route(stub)
            first = pb.ReportUsageRequest(usage_id="out-1", decision_id=decision.decision_id,
                                          tokens=pb.TokenUsage(input=10, output=5))
            acked = stub.ReportUsage(first, timeout=10)
            retried = pb.ReportUsageRequest(usage_id="out-2", decision_id=decision.decision_id,
                                            tokens=pb.TokenUsage(input=20, output=7))
            rated = pb.ReportFeedbackRequest(feedback_id="fb-1", decision_id=decision.decision_id,
                                             score=0.8, source="user")
            assert not stub.ReportFeedback(rated, timeout=10).replayed
            rerated = pb.ReportFeedbackRequest(feedback_id="fb-2", usage_id="out-1", score=0.4,
                                               source="evaluator")
            proxy.cut() if mode == "reset" else proxy.silence()
            # a Route no budget applies to needs no store: its decision waits in the write queue,
            # and the writer retries it while the store is away
            unbudgeted = stub.Route(pb.RouteRequest(
                task_description=EASY, attribution=pb.Attribution(agent="free")), timeout=10)
            for call, request in ((stub.Route, pb.RouteRequest(
                    task_description=EASY, attribution=pb.Attribution(agent="bot"))),
                                  (stub.ReportUsage, retried),
                                  (stub.ReportFeedback, rerated),
                                  # reads too: decisions, spend along the rollups, FOCUS charges
                                  (stub.ListDecisions, pb.ListDecisionsRequest()),
                                  (stub.QuerySpend, _month_by_team()),
                                  (stub.ListFocusCharges, _month_of_charges())):
                err, elapsed = _timed(lambda c=call, r=request: c(r, timeout=30))
                assert err.code() is grpc.StatusCode.UNAVAILABLE, err.details()
                assert elapsed < 2.5, f"{mode}: UNAVAILABLE took {elapsed:.1f} s"
            _eventually(lambda: _health(ch) == health_pb2.HealthCheckResponse.NOT_SERVING)
            proxy.heal() if mode == "silent" else proxy.start()
            _eventually(lambda: _health(ch) == health_pb2.HealthCheckResponse.SERVING)
            _eventually(lambda: stub.ReportUsage(retried, timeout=5) is not None)
            again = stub.ReportUsage(first, timeout=10)
            assert again.replayed and again.cost == acked.cost
            usages = stub.GetDecision(pb.GetDecisionRequest(decision_id=decision.decision_id),
                                      timeout=10).usages
            assert sorted(u.usage_id for u in usages) == ["out-1", "out-2"]
            # feedback too: the one refused is taken once the store is back, the acked replays
            _eventually(lambda: stub.ReportFeedback(rerated, timeout=5) is not None)
            assert stub.ReportFeedback(rated, timeout=10).replayed
            feedback = stub.GetDecision(pb.GetDecisionRequest(decision_id=decision.decision_id),
                                        timeout=10).feedback
            assert sorted(f.feedback_id for f in feedback) == ["fb-1", "fb-2"]
            server.app.recorder.flush(timeout=15)  # the queued decision reached the store
            assert server.app.store.get_decision(unbudgeted.decision_id) is not None
    finally:
        server.stop()
