"""OTLP/HTTP's ``POST /v1/traces`` on the HTTP listener, served by the gRPC edge's own trace
servicer (``router.api.grpc.otlp``), as every RPC is.

The body is an ExportTraceServiceRequest, ``application/x-protobuf`` (binary) or
``application/json`` (OTLP/JSON: ``router.api.otlp.from_json``), possibly gzip-compressed (the
listener decompresses it as it reads it); the answer, and a refusal's google.rpc.Status, are in
the request's encoding, as the OTLP/HTTP spec asks. Codes map to HTTP statuses as for every
call (UNAVAILABLE is 503, which exporters retry; INVALID_ARGUMENT 400, which they do not).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from google.rpc import code_pb2, status_pb2

from router.api import otlp
from router.api.grpc.base import Refused
from router.api.http import codec
from router.api.http.context import Aborted, HttpContext
from router.api.http.edge import JSON, failed, problem
from router.core.errors import InvalidRequest

PATH = "/v1/traces"
PROTOBUF = "application/x-protobuf"
_PROTOBUF_TYPES = (PROTOBUF, "application/protobuf")

Export = Callable[[Any, Any], Awaitable[Any]]


class OtlpHttp:
    """``await traces(request, body)`` answers one ``POST /v1/traces``."""

    def __init__(self, export: Export, max_message_bytes: int) -> None:
        self._export = export
        self._parse = otlp.request_parser(max_message_bytes)

    async def __call__(self, request: web.BaseRequest, body: bytes) -> web.StreamResponse:
        kind = request.content_type
        binary = kind in _PROTOBUF_TYPES
        if not binary and kind != JSON:
            response = problem(code_pb2.INVALID_ARGUMENT,
                               f"the body must be {PROTOBUF} or {JSON} (an OTLP "
                               f"ExportTraceServiceRequest); the Content-Type is "
                               f"{request.headers.get('Content-Type', 'missing')[:100]!r}")
            response.set_status(415)
            return response
        parsed = self._parse(body) if binary else self._from_json(body)
        context = HttpContext(request, request.headers.get("Authorization"))
        try:
            answer = await self._export(parsed, context)
        except Aborted as exc:
            return _failed(codec.status_of(exc.code, exc.details, exc.trailing_metadata),
                           binary)
        if binary:
            return web.Response(body=answer.SerializeToString(), content_type=PROTOBUF)
        return web.Response(body=orjson.dumps(otlp.to_json(answer)), content_type=JSON)

    def _from_json(self, body: bytes) -> Any:
        """The request in an OTLP/JSON body, through the same parser as a binary one's (its
        size bound), or why it is refused."""
        try:
            document = orjson.loads(body) if body.strip() else {}
        except orjson.JSONDecodeError as exc:
            return Refused(InvalidRequest.of("", f"not valid JSON: {exc}"))
        try:
            message = otlp.from_json(document)
        except InvalidRequest as exc:
            return Refused(exc)
        return self._parse(message.SerializeToString())


def _failed(status: status_pb2.Status, binary: bool) -> web.Response:
    """A refusal as every call's (its HTTP status and headers), its Status in the request's
    encoding."""
    response = failed(status)
    if binary:
        response.body = status.SerializeToString()
        response.content_type = PROTOBUF
    return response
