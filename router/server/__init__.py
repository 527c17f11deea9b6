"""The server process: wiring (``app``), the gRPC listener with health and reflection
(``grpc_server``), periodic tasks (``tasks``), run / graceful shutdown (``run``), and the
same server on a thread of this process (``embedded``)."""

from __future__ import annotations

from router.server.app import App, build_app
from router.server.embedded import EmbeddedServer
from router.server.grpc_server import Server, create_server
from router.server.run import run, serve

__all__ = ["App", "EmbeddedServer", "Server", "build_app", "create_server", "run", "serve"]
