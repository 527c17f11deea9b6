"""The gRPC server: the Router service, OTLP's trace service, health and reflection (v1 and
v1alpha) on one port."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from router.api.grpc import SERVICE, add_router
from router.api.grpc.anomalies import StreamSlots
from router.api.grpc.otlp import SERVICE_NAME as TRACE_SERVICE_NAME
from router.api.grpc.otlp import TraceRpcs, add_traces
from router.auth.tls import server_tls
from router.server.app import App
from router.server.reflection import enable_reflection

SERVICE_NAME = SERVICE.full_name
# gRPC refuses a message over its limit before any code of ours runs, so nothing could name or
# log it: its limit is a multiple of the setting, and the request parser refuses by name (and the
# RPC's log line records) what lies between; only what lies beyond goes unlogged
TRANSPORT_ROOM = 2
STORE_MARGIN_S = 0.5  # an RPC waits for the store at most its timeout plus this


@dataclass
class Server:
    grpc_server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    servicer: SimpleNamespace  # the Router's methods, which the HTTP edge serves too
    traces: TraceRpcs | None = None  # OTLP's trace service, which it serves too (/v1/traces)

    async def set_serving(self, serving: bool) -> None:
        status = (health_pb2.HealthCheckResponse.SERVING if serving
                  else health_pb2.HealthCheckResponse.NOT_SERVING)
        for name in ("", SERVICE_NAME):
            await self.health.set(name, status)


async def create_server(app: App, address: str) -> Server:
    """A server bound to ``address`` (port 0 picks a free one); health starts NOT_SERVING."""
    server = grpc.aio.server(
        maximum_concurrent_rpcs=app.settings.max_concurrent_rpcs,
        options=[("grpc.max_receive_message_length",
                  TRANSPORT_ROOM * app.settings.max_message_bytes),
                 ("grpc.so_reuseport", 0)],
    )
    settings = app.settings
    tls = server_tls(settings.tls_cert, settings.tls_key, settings.tls_client_ca)
    # a remote store may go silent: bound every wait; an embedded file cannot
    bound_s = None if app.store.local_reads else settings.store_timeout_ms / 1000 + STORE_MARGIN_S
    client_certificates = tls is not None and tls.client_ca is not None
    servicer = add_router(server, app.services, app.offload, store_bound_s=bound_s,
                          streams=StreamSlots(settings.max_watch_streams,
                                              settings.max_watch_streams_per_peer),
                          max_message_bytes=settings.max_message_bytes,
                          client_certificates=client_certificates)
    traces = add_traces(server, app.services, app.offload, bound_s,
                        max_message_bytes=settings.max_message_bytes,
                        client_certificates=client_certificates)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    enable_reflection(server, (SERVICE_NAME, TRACE_SERVICE_NAME,
                               health_pb2.DESCRIPTOR.services_by_name["Health"].full_name))
    if tls is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, grpc.ssl_server_credentials(
            [(tls.private_key, tls.certificate_chain)], root_certificates=tls.client_ca,
            require_client_auth=tls.client_ca is not None))
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    wrapped = Server(server, port, health_servicer, servicer, traces)
    await wrapped.set_serving(False)
    return wrapped
