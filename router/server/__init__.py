"""The server process: wiring (``app``), the gRPC listener with health and reflection
(``grpc_server``), periodic tasks (``tasks``), and run / graceful shutdown (``run``)."""

from __future__ import annotations

from router.server.app import App, build_app
from router.server.grpc_server import Server, create_server
from router.server.run import run, serve

__all__ = ["App", "Server", "build_app", "create_server", "run", "serve"]
