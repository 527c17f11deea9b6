"""The HTTP/JSON edge: every RPC of ``router.v1.Router`` as JSON over HTTP (the proto's
canonical JSON mapping), WatchAnomalies as server-sent events, served by the gRPC edge's own
servicer through a ServicerContext adapter (``context``), so no rule exists twice."""

from router.api.http.context import Aborted, HttpContext
from router.api.http.edge import HttpEdge
from router.api.http.routes import Route, routes

__all__ = ["Aborted", "HttpContext", "HttpEdge", "Route", "routes"]
