"""The HTTP edge: one aiohttp request handler over the gRPC edge's servicer.

Each request is routed by the table ``routes`` derives from the service descriptor, its JSON
parsed into the RPC's request (``codec``), and handed, with an ``HttpContext``, to the very
servicer method gRPC calls: authentication, validation, scopes, the log line and the error
mapping are the servicer's, once. A call the servicer aborts is answered with the HTTP status
of its code and its google.rpc.Status as JSON (details included). WatchAnomalies streams as
server-sent events; ``/metrics``, ``/healthz``, the spend dashboard (``/``, ``assets``),
OTLP's ``POST /v1/traces`` and the FOCUS export's ``GET /v1/focus.csv`` share the listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import prometheus_client
from aiohttp import web
from google.protobuf.descriptor import ServiceDescriptor
from google.rpc import code_pb2, status_pb2
from grpc_health.v1 import health_pb2

from router.api.grpc.base import request_parser
from router.api.http import codec
from router.api.http.assets import Assets
from router.api.http.context import Aborted, HttpContext
from router.api.http.routes import PREFIX, Route, routes

JSON = "application/json"
TIMEOUT_HEADER = "X-Server-Timeout"  # seconds, as Google's REST APIs take a deadline
HEARTBEAT_S = 15.0
_SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no"}
# a POST endpoint besides the RPCs (OTLP's /v1/traces): the request and its body, read within
# the limit, to its answer
BodyHandler = Callable[[web.BaseRequest, bytes], Awaitable[web.StreamResponse]]
# a GET endpoint besides the RPCs (the FOCUS export's /v1/focus.csv)
GetHandler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


class HttpEdge:
    """``await edge(request)`` answers one HTTP request. ``close()`` ends the event streams
    and makes ``/healthz`` answer 503 (the server is shutting down)."""

    def __init__(self, servicer: object, service: ServiceDescriptor, health: Any, *,
                 max_message_bytes: int, max_body_bytes: int, max_in_flight: int,
                 heartbeat_s: float | None = None,
                 posts: Mapping[str, BodyHandler] | None = None,
                 gets: Mapping[str, GetHandler] | None = None) -> None:
        self._routes = routes(service)
        self._posts = dict(posts or {})
        self._gets = dict(gets or {})
        self._methods = {path: getattr(servicer, r.name) for path, r in self._routes.items()}
        self._parsers = {path: request_parser(r.request, max_message_bytes)
                         for path, r in self._routes.items()}
        self._health = health
        self._max_body = max_body_bytes
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        self._heartbeat_s = heartbeat_s or HEARTBEAT_S
        self._closing = asyncio.Event()
        self._assets = Assets()

    def close(self) -> None:
        self._closing.set()

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        route = self._routes.get(path)
        post = self._posts.get(path) if route is None else None
        get = self._gets.get(path) if route is None else None
        if route is None and post is None and get is None:
            return await self._other(request, path)
        methods = route.methods if route is not None else ("POST",) if post else ("GET",)
        if request.method not in methods:
            return not_allowed(methods)
        if self._in_flight >= self._max_in_flight:
            return problem(code_pb2.RESOURCE_EXHAUSTED, f"the server has its maximum of "
                           f"{self._max_in_flight} HTTP calls in flight; retry later")
        self._in_flight += 1
        try:
            if get is not None:
                return await get(request)
            if post is not None:
                body = await self._body(request)
                return body if isinstance(body, web.StreamResponse) else \
                    await post(request, body)
            assert route is not None
            if route.streaming:
                return await self._stream(request, path)
            return await self._unary(request, path, route)
        finally:
            self._in_flight -= 1

    # -- unary calls ---------------------------------------------------------------------------

    async def _unary(self, request: web.BaseRequest, path: str,
                     route: Route) -> web.StreamResponse:
        if request.method == "GET":
            parsed = codec.from_query(request.query.items(), route.request, self._parsers[path])
        else:
            body = await self._body(request)
            if isinstance(body, web.StreamResponse):
                return body
            parsed = self._from_body(request, body, route)
        timeout = _timeout(request)
        if isinstance(timeout, codec.Refused):
            parsed, timeout = timeout, None
        context = HttpContext(request, request.headers.get("Authorization"), timeout)
        call = self._methods[path](parsed, context)
        try:
            response = await (call if timeout is None else asyncio.wait_for(call, timeout))
        except Aborted as exc:
            return failed(codec.status_of(exc.code, exc.details, exc.trailing_metadata))
        except TimeoutError:
            return problem(code_pb2.DEADLINE_EXCEEDED,
                           f"the call took longer than its {TIMEOUT_HEADER} ({timeout:g} s)")
        return web.Response(body=codec.to_json(response), content_type=JSON)

    def _from_body(self, request: web.BaseRequest, body: bytes, route: Route) -> codec.Parsed:
        if body and not _is_json(request.content_type):
            return codec.refused("", f"the body must be {JSON} (the request's Content-Type is "
                                     f"{request.headers.get('Content-Type', 'missing')!r})")
        return codec.from_body(body, route.request, self._parsers[request.path])

    async def _body(self, request: web.BaseRequest) -> bytes | web.StreamResponse:
        """The body, read within the limit (a larger one is refused unread, 413). A body with
        a Content-Encoding (gzip, as OTLP exporters send) is decompressed by aiohttp as it is
        read, so its Content-Length, the compressed size, bounds nothing: the decompressed
        bytes are counted instead."""
        length = request.content_length
        if request.headers.get("Content-Encoding", "identity").lower() != "identity":
            length = None
        if length is not None and length > self._max_body:
            return too_large(length, self._max_body)
        if length == 0:
            return b""
        if length is not None:
            try:
                return await request.content.readexactly(length)
            except asyncio.IncompleteReadError:
                return problem(code_pb2.INVALID_ARGUMENT, "the body ended before its "
                                                          "Content-Length")
        chunks, size = [], 0
        try:
            while chunk := await request.content.readany():
                size += len(chunk)
                if size > self._max_body:
                    return too_large(size, self._max_body)
                chunks.append(chunk)
        except web.RequestPayloadError as exc:  # e.g. a gzip body that does not decompress
            reason = " ".join(str(exc).split())  # aiohttp's message spans lines
            return problem(code_pb2.INVALID_ARGUMENT, f"the body cannot be read: {reason}")
        return b"".join(chunks)

    # -- the event stream ----------------------------------------------------------------------

    async def _stream(self, request: web.BaseRequest, path: str) -> web.StreamResponse:
        """A server-streaming RPC as server-sent events: ``id:`` and ``data:`` (the message as
        JSON) per message, a comment every ``heartbeat_s`` while none comes. A refusal before
        the first message is an HTTP error like a unary call's; one after it (a key revoked
        meanwhile) is an ``event: error`` whose data is the Status, and ends the stream."""
        route = self._routes[path]
        parsed = codec.from_query(request.query.items(), route.request, self._parsers[path])
        context = HttpContext(request, request.headers.get("Authorization"))
        stream = self._methods[path](parsed, context)
        following = asyncio.ensure_future(stream.__anext__())
        # one turn of the loop runs the servicer up to its first wait: authentication, the
        # stream slot and the request's checks are done by then, or have refused the call
        await asyncio.sleep(0)
        if following.done() and isinstance(following.exception(), Aborted):
            exc = following.exception()
            assert isinstance(exc, Aborted)
            return failed(codec.status_of(exc.code, exc.details, exc.trailing_metadata))
        response = web.StreamResponse(headers=_SSE_HEADERS)
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            await response.prepare(request)
            await response.write(b": streaming " + route.name.encode() + b"\n\n")
            while True:
                done, _ = await asyncio.wait((following, closing), timeout=self._heartbeat_s,
                                             return_when=asyncio.FIRST_COMPLETED)
                if closing in done:
                    break
                if not done:
                    await response.write(b": heartbeat\n\n")
                    continue
                try:
                    message = following.result()
                except StopAsyncIteration:
                    break
                except Aborted as exc:
                    status = codec.status_of(exc.code, exc.details, exc.trailing_metadata)
                    await response.write(b"event: error\ndata: " + codec.status_json(status)
                                         + b"\n\n")
                    break
                await response.write(_event(message))
                following = asyncio.ensure_future(stream.__anext__())
            await response.write_eof()
        except (ConnectionResetError, ConnectionError):
            pass  # the client went away
        finally:
            closing.cancel()
            if not following.done():
                following.cancel()  # the servicer's stream ends CANCELLED, as over gRPC
                with contextlib.suppress(BaseException):
                    await following
            await stream.aclose()
        return response

    # -- the rest of the listener --------------------------------------------------------------

    async def _other(self, request: web.BaseRequest, path: str) -> web.StreamResponse:
        if path == "/healthz":
            return await self._healthz() if request.method == "GET" else not_allowed(("GET",))
        if path == "/metrics":
            if request.method != "GET":
                return not_allowed(("GET",))
            return web.Response(body=prometheus_client.generate_latest(),
                                headers={"Content-Type": prometheus_client.CONTENT_TYPE_LATEST})
        if path in (PREFIX, PREFIX.rstrip("/")):
            return self._index()
        asset = self._assets.answer(path)
        if asset is not None:
            return asset if request.method in ("GET", "HEAD") else not_allowed(("GET",))
        return problem(code_pb2.NOT_FOUND, f"no such path: {path[:200]!r}; the API is POST "
                                           f"{PREFIX}{{Method}} (GET {PREFIX} lists them)")

    async def _healthz(self) -> web.Response:
        """200 while the gRPC health service says SERVING, else 503 (its status as JSON)."""
        try:  # the server's status ("") is set from the start; the guard costs nothing
            answer = await self._health.Check(health_pb2.HealthCheckRequest(service=""), None)
            serving = answer.status == health_pb2.HealthCheckResponse.SERVING
        except AttributeError:
            serving = False
        serving = serving and not self._closing.is_set()
        name = "SERVING" if serving else "NOT_SERVING"
        return web.Response(status=200 if serving else 503, content_type=JSON,
                            text=f'{{"status":"{name}"}}')

    def _index(self) -> web.Response:
        methods = [{"name": r.name, "path": path, "httpMethods": list(r.methods),
                    "request": r.request.DESCRIPTOR.full_name,
                    "response": r.response.DESCRIPTOR.full_name,
                    "serverSentEvents": r.streaming} for path, r in self._routes.items()]
        return web.json_response({"methods": methods})


def _is_json(content_type: str) -> bool:
    return content_type == JSON or content_type.endswith("+json")


def _timeout(request: web.BaseRequest) -> float | codec.Refused | None:
    raw = request.headers.get(TIMEOUT_HEADER)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        return codec.refused("", f"{TIMEOUT_HEADER} must be a positive number of seconds")
    return value


def _event(message: Any) -> bytes:
    data = codec.to_json(message)
    ident = getattr(message, "id", "")
    return (b"id: " + ident.encode() + b"\n" if ident else b"") + b"data: " + data + b"\n\n"


# -- error answers -----------------------------------------------------------------------------

def failed(status: status_pb2.Status) -> web.Response:
    """The HTTP answer to a call that failed with ``status``."""
    headers = {}
    if status.code == code_pb2.UNAUTHENTICATED:
        headers["WWW-Authenticate"] = "Bearer"
    retry = codec.retry_after_s(status)
    if retry is not None:
        headers["Retry-After"] = str(retry)
    return web.Response(status=codec.http_status(status.code), body=codec.status_json(status),
                        content_type=JSON, headers=headers)


def problem(code: int, message: str) -> web.Response:
    return failed(codec.error(code, message))


def not_allowed(methods: tuple[str, ...]) -> web.Response:
    response = problem(code_pb2.UNIMPLEMENTED, f"use {' or '.join(methods)} here")
    response.set_status(405)
    response.headers["Allow"] = ", ".join(methods)
    return response


def too_large(size: int, limit: int) -> web.Response:
    response = problem(code_pb2.RESOURCE_EXHAUSTED,
                       f"the body is {size} bytes; the limit is {limit} (twice "
                       "ROUTER_MAX_MESSAGE_BYTES, room for JSON's escapes)")
    response.set_status(413)
    response.force_close()
    return response
