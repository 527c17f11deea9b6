"""OTLP export while PostgreSQL goes away: UNAVAILABLE within the store's bound (so that the
exporter retries), and once the store is back, the retried batch is recorded and charged to the
budget once, whatever part of it had committed before.

PostgreSQL is reached through the TCP proxy of ``test_store_outage``, which the test cuts."""

from __future__ import annotations

import time

import grpc
import pytest
from grpc_health.v1 import health_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from router import v1 as pb
from router.v1 import router_pb2_grpc
from tests.api.test_otlp import CHAT, CHAT_NANOS, export_request, raw_span
from tests.integration.test_store_outage import (  # noqa: F401  (proxied_pg: a fixture)
    _eventually,
    _health,
    _server,
    proxied_pg,
)


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["reset", "silent"])
def test_export_is_unavailable_within_the_bound_and_the_retry_records_once(
        tmp_path, proxied_pg, mode):  # noqa: F811
    proxy, url = proxied_pg
    server = _server(tmp_path, url)  # its budget "bot" covers agent bot, per day
    now_ns = time.time_ns()
    spans = [raw_span(f"call {i}", CHAT, trace=bytes([i + 1]) * 16, end_ns=now_ns)
             for i in range(3)]
    request = export_request("bot", *spans, team="")
    try:
        with grpc.insecure_channel(server.address) as ch:
            traces = trace_service_pb2_grpc.TraceServiceStub(ch)
            router = router_pb2_grpc.RouterStub(ch)
            _eventually(lambda: _health(ch) == health_pb2.HealthCheckResponse.SERVING)
            assert not traces.Export(export_request("bot", spans[0], team=""), timeout=10) \
                .HasField("partial_success")
            proxy.cut() if mode == "reset" else proxy.silence()
            started = time.monotonic()
            with pytest.raises(grpc.RpcError) as info:
                traces.Export(request, timeout=10)
            elapsed = time.monotonic() - started
            assert info.value.code() is grpc.StatusCode.UNAVAILABLE
            assert elapsed < 3.0, f"UNAVAILABLE took {elapsed:.1f} s"
            proxy.start() if mode == "reset" else proxy.heal()
            _eventually(lambda: not traces.Export(request, timeout=10)
                        .HasField("partial_success"))
            server.app.recorder.flush(timeout=15)
            status = router.GetBudgetStatus(pb.GetBudgetStatusRequest(id="bot"), timeout=10)
            assert status.spent.nanos == 3 * CHAT_NANOS  # each span charged once
    finally:
        server.stop()
