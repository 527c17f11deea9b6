"""OTLP's ``opentelemetry.proto.collector.trace.v1.TraceService/Export`` at the gRPC edge: an
exporter's batch of spans, recorded as usage (``router.service.otlp``), behind the same keys
and scopes as ReportUsage.

The batch is mapped and priced off the event loop (it may be large, and a replay may read the
store), queued for the group commit at once, and answered once it has committed, within the
store's bound; past it UNAVAILABLE, which the exporter retries (each span's usage_id makes the
retry a replay)."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import grpc

from router.api import otlp
from router.api.grpc.auth import Callers
from router.api.grpc.base import Context, Offload, RpcBase
from router.auth import Principal
from router.service import Services
from router.service.otlp import TraceIngest
from router.store.base import UsageWrite

SERVICE_NAME = otlp.trace_service_pb2.DESCRIPTOR.services_by_name["TraceService"].full_name
RPC = "TraceService.Export"  # the name its log line and metrics give it


class TraceRpcs(RpcBase):
    def __init__(self, traces: TraceIngest, offload: Offload, callers: Callers) -> None:
        super().__init__(offload, callers)
        self._traces = traces

    async def Export(self, request: Any, context: Context) -> Any:
        async def body(line: dict[str, Any], who: Principal) -> Any:
            spans = otlp.spans(request)
            batch = await self._blocking(self._traces.prepare, spans, who)
            futures = self._traces.submit(batch)
            writes = await self._offload.wait(asyncio.ensure_future(_all(futures))) \
                if futures else []
            result = self._traces.finish(batch, writes, who)
            line.update(spans=result.spans, accepted=result.accepted, ignored=result.ignored,
                        rejected=result.rejected)
            return otlp.response(result)

        return await self._handle(RPC, request, context, body)


async def _all(futures: list[Future[UsageWrite]]) -> list[UsageWrite]:
    """The futures' writes, once every one has resolved; the first failure raised (each one
    retrieved, so none is logged as never retrieved)."""
    done = await asyncio.gather(*map(asyncio.wrap_future, futures), return_exceptions=True)
    for write in done:
        if isinstance(write, BaseException):
            raise write
    return done  # type: ignore[return-value]  # no exceptions left


def add_traces(server: grpc.aio.Server, services: Services, executor: ThreadPoolExecutor,
               store_bound_s: float | None = 5.0, *, max_message_bytes: int,
               client_certificates: bool = False) -> TraceRpcs:
    """Register the OTLP trace service on ``server``, its callers authenticated and its store
    waits bounded as ``add_router`` does the Router's; returns its servicer, for the HTTP edge
    to serve ``POST /v1/traces`` with."""
    servicer = TraceRpcs(services.traces, Offload(executor, store_bound_s),
                         Callers(services.keys, client_certificates=client_certificates))
    handlers = {"Export": grpc.unary_unary_rpc_method_handler(
        servicer.Export, request_deserializer=otlp.request_parser(max_message_bytes),
        response_serializer=otlp.ExportResponse.SerializeToString)}
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME,
                                                                          handlers),))
    server.add_registered_method_handlers(SERVICE_NAME, handlers)
    return servicer
