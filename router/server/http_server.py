"""The HTTP listener (``ROUTER_HTTP_ADDRESS``): the JSON API, the anomaly event stream,
OTLP/HTTP's ``/v1/traces``, ``/metrics`` and ``/healthz``, on the gRPC server's event loop,
over its servicers and health.

With ``ROUTER_TLS_CERT``/``ROUTER_TLS_KEY`` it serves HTTPS with the same certificate, and with
``ROUTER_TLS_CLIENT_CA`` requires client certificates as gRPC does (callers still authenticate
with a bearer key over HTTP).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from aiohttp import web

from router.api.grpc import SERVICE
from router.api.http import HttpEdge
from router.api.http.focus import PATH as FOCUS_PATH
from router.api.http.focus import FocusCsv
from router.api.http.otlp import PATH as TRACES_PATH
from router.api.http.otlp import OtlpHttp
from router.server.app import App
from router.server.grpc_server import TRANSPORT_ROOM, Server

KEEPALIVE_S = 75.0  # an idle keep-alive connection is closed after this


@dataclass
class HttpServer:
    runner: web.ServerRunner
    edge: HttpEdge
    port: int

    async def stop(self) -> None:
        """End the event streams, stop listening, let in-flight calls finish within the
        shutdown grace (then cancel them), close idle connections."""
        self.edge.close()
        await self.runner.cleanup()


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) -> (host, port); ValueError naming the setting."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"ROUTER_HTTP_ADDRESS={address!r}: use host:port (port 0: a free one), "
                         "or empty to turn HTTP off")
    return host.strip("[]"), int(port)


def _ssl_context(app: App) -> ssl.SSLContext | None:
    settings = app.settings
    if not settings.tls_cert:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(settings.tls_cert, settings.tls_key)
    if settings.tls_client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=settings.tls_client_ca)
    context.set_alpn_protocols(["http/1.1"])
    return context


async def create_http_server(app: App, server: Server, address: str) -> HttpServer:
    """Listening on ``address`` (port 0 picks a free one) over ``server``'s servicer."""
    host, port = split_address(address)
    settings = app.settings
    edge = HttpEdge(server.servicer, SERVICE, server.health,
                    max_message_bytes=settings.max_message_bytes,
                    max_body_bytes=TRANSPORT_ROOM * settings.max_message_bytes,
                    max_in_flight=settings.max_concurrent_rpcs,
                    posts={TRACES_PATH: OtlpHttp(server.traces.Export,
                                                 settings.max_message_bytes)}
                    if server.traces is not None else None,
                    gets={FOCUS_PATH: FocusCsv(server.servicer.ListFocusCharges)})
    # a client that goes away cancels its call's handler, as a cancelled gRPC call does
    lowlevel = web.Server(edge, handler_cancellation=True, access_log=None,
                          keepalive_timeout=KEEPALIVE_S)
    runner = web.ServerRunner(lowlevel, shutdown_timeout=settings.shutdown_grace_s)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host or None, port, ssl_context=_ssl_context(app))
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return HttpServer(runner, edge, runner.addresses[0][1])
