"""What the servicers use of ``grpc.aio.ServicerContext``, for a call that came over HTTP.

The servicers are the gRPC edge's (``router.api.grpc``): they read the caller's credential from
the metadata (the HTTP ``Authorization`` header is its ``authorization``), the peer (to bound
watch streams per client host), the deadline and whether the client went away, and end a
refused call with ``abort_with_status``. Here that raises ``Aborted`` with the status, which the
HTTP edge answers as an HTTP status and a google.rpc.Status JSON body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

import grpc

Metadata = Sequence[tuple[str, str | bytes]]


class Aborted(Exception):
    """A servicer ended its call with this code, message and trailing metadata."""

    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: Metadata) -> None:
        super().__init__(code, details)
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


class HttpContext:
    """A ServicerContext over one HTTP request; ``transport`` tells the edges apart (metrics
    label calls by it). Cheap to make: a few slots, the peer formatted only when asked."""

    __slots__ = ("_code", "_deadline", "_details", "_metadata", "_peername", "_request",
                 "_trailing")
    transport = "http"

    def __init__(self, request: Any, authorization: str | None,
                 timeout_s: float | None = None) -> None:
        self._request = request  # aiohttp's request: its transport says whether the client left
        self._metadata: tuple[tuple[str, str], ...] = (
            (("authorization", authorization),) if authorization else ())
        loop = asyncio.get_running_loop()
        self._deadline = None if timeout_s is None else loop.time() + timeout_s
        self._peername: Any = None
        self._code: grpc.StatusCode | None = None
        self._details = ""
        self._trailing: Metadata = ()

    # -- what the servicers read ---------------------------------------------------------------

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def peer(self) -> str:
        """As gRPC spells it: ``ipv4:127.0.0.1:5555``, ``ipv6:[::1]:5555``."""
        transport = self._request.transport
        name = transport.get_extra_info("peername") if transport is not None else None
        if not name:
            return "unknown"
        host, port = name[0], name[1]
        return f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{host}:{port}"

    def auth_context(self) -> dict[str, list[bytes]]:
        return {}  # over HTTP a caller is known by its bearer key only

    def time_remaining(self) -> float | None:
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - asyncio.get_running_loop().time())

    def cancelled(self) -> bool:
        transport = self._request.transport
        return transport is None or transport.is_closing()

    def done(self) -> bool:
        return self.cancelled()

    # -- how a servicer ends or annotates its call ----------------------------------------------

    async def abort(self, code: grpc.StatusCode, details: str = "",
                    trailing_metadata: Metadata = ()) -> None:
        raise Aborted(code, details, trailing_metadata)

    async def abort_with_status(self, status: Any) -> None:
        raise Aborted(status.code, status.details, status.trailing_metadata)

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def set_details(self, details: str) -> None:
        self._details = details

    def details(self) -> str:
        return self._details

    def set_trailing_metadata(self, trailing_metadata: Metadata) -> None:
        self._trailing = trailing_metadata

    def trailing_metadata(self) -> Metadata:
        return self._trailing

    async def send_initial_metadata(self, initial_metadata: Iterable[tuple[str, str]]) -> None:
        return None

    async def write(self, message: object) -> None:
        raise NotImplementedError("the HTTP edge iterates a streaming servicer's answers")
