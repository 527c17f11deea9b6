"""A real server on port 0 (tests/conftest.py's), and a flaky gRPC proxy in front of it that fails
the first calls of a method as the server itself would when its store is down."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest

from router import v1 as pb
from router.api.errors import to_status
from router.core.errors import StoreUnavailable
from tests.conftest import make_settings

ADMIN = "s3cret"  # the server's admin token, which every test's client sends
SERVICE = "/router.v1.Router/"
REQUESTS = {"Route": pb.RouteRequest, "ReportUsage": pb.ReportUsageRequest,
            "ReportFeedback": pb.ReportFeedbackRequest}


@dataclass
class Fault:
    """The next ``times`` calls of a method: ``unavailable`` (refused before the server sees
    them, with the server's own UNAVAILABLE status and RetryInfo), ``lost`` (the server
    answers, the answer is lost: UNAVAILABLE to the client, without the server's status, as
    a connection reset gives it) or ``slow`` (answered after ``delay_s``)."""

    mode: str
    times: int
    delay_s: float = 0.0


@dataclass
class FlakyProxy:
    upstream: grpc.Channel
    faults: dict[str, Fault] = field(default_factory=dict)
    seen: list[tuple[str, Any]] = field(default_factory=list)  # (method, request) per attempt
    address: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def requests(self, method: str) -> list[Any]:
        return [r for m, r in self.seen if m == method]

    def _fault(self, method: str) -> Fault | None:
        with self._lock:
            fault = self.faults.get(method)
            if fault is None or fault.times <= 0:
                return None
            fault.times -= 1
            return fault

    def handle(self, method: str, raw: bytes, context: grpc.ServicerContext) -> bytes:
        kind = REQUESTS.get(method)
        self.seen.append((method, kind.FromString(raw) if kind else raw))
        fault = self._fault(method)
        if fault is not None and fault.mode == "unavailable":
            context.abort_with_status(to_status(StoreUnavailable("the store is down")))
        if fault is not None and fault.mode == "slow":
            time.sleep(fault.delay_s)
        forward = self.upstream.unary_unary(SERVICE + method)
        try:
            answer = forward(raw, timeout=30, metadata=context.invocation_metadata())
        except grpc.RpcError as err:
            context.set_trailing_metadata(err.trailing_metadata() or ())
            context.abort(err.code(), err.details())
        if fault is not None and fault.mode == "lost":
            context.abort(grpc.StatusCode.UNAVAILABLE, "connection reset")
        return answer


class _Handler(grpc.GenericRpcHandler):
    def __init__(self, proxy: FlakyProxy) -> None:
        self.proxy = proxy

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = details.method.removeprefix(SERVICE)
        return grpc.unary_unary_rpc_method_handler(
            lambda raw, context: self.proxy.handle(method, raw, context))


@pytest.fixture
def settings(tmp_path: Path):
    return make_settings(tmp_path, admin_token=ADMIN)


@pytest.fixture
def proxy(server) -> Iterator[FlakyProxy]:
    upstream = grpc.insecure_channel(server.address)
    flaky = FlakyProxy(upstream)
    front = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    front.add_generic_rpc_handlers([_Handler(flaky)])
    flaky.address = f"127.0.0.1:{front.add_insecure_port('127.0.0.1:0')}"
    front.start()
    yield flaky
    front.stop(0)
    upstream.close()
