"""The router's Python client: ``Client`` (blocking) and ``AsyncClient`` (asyncio), over the one
channel factory (``connect``, ``connect_aio``) that the CLI, the simulator and the benchmark use.

    from router.client import Client
    with Client() as router:                 # $ROUTER_ADDRESS, $ROUTER_API_KEY, ROUTER_TLS_*
        with router.call("Summarise this thread ...", team="support", agent="triage") as call:
            answer = openai.chat.completions.create(model=call.model, ...)
            call.record(answer)              # its usage, cached and reasoning tokens apart

A client retries what is transient (UNAVAILABLE, for a call that is not idempotent only when
the server itself refused it; DEADLINE_EXCEEDED for idempotent calls; a RESOURCE_EXHAUSTED
whose RetryInfo says when; a call that is not idempotent waits for the connection rather than
failing before it is sent) with exponential backoff and full jitter, never
sooner than the server's RetryInfo asks and within a bounded total time, and fills in the
idempotency key of Route, ReportUsage and ReportFeedback once per call, so that every retry of
it carries the same key and the server records it once. What still fails surfaces as a
``RouterCallError`` (a ``grpc.RpcError``: ``code()``, ``details()``, and the google.rpc.Status).
Every other RPC is an attribute of the client (``router.QuerySpend(request)``), with the same
retries.

Importable without the server's dependencies (``pip install cost-router``): grpcio,
grpcio-status and protobuf only.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import grpc

from router.auth.tls import ClientTls, client_tls
from router.client_call import AsyncCallScope, CallScope, route_request
from router.client_errors import (
    IDEMPOTENCY_KEYS,
    IDEMPOTENT,
    BudgetExhausted,
    Retry,
    RouterCallError,
    RouteRefused,
    RouterUnavailable,
    failure,
    idempotent,
    keyed,
    transient,
)

DEFAULT_ADDRESS = "127.0.0.1:50051"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a ListAnomalies or QuerySpend page is far below this
CONNECT_TIMEOUT_S = 10.0

ChannelOptions = Sequence[tuple[str, Any]]


def default_address() -> str:
    """``$ROUTER_ADDRESS``, else the address ``router serve`` listens on by default."""
    return os.environ.get("ROUTER_ADDRESS") or DEFAULT_ADDRESS


def _options(extra: ChannelOptions, tls: ClientTls | None) -> list[tuple[str, Any]]:
    options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES), *extra]
    if tls is not None and tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    return options


def _credentials(tls: ClientTls) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(tls.root_certificates, tls.private_key,
                                        tls.certificate_chain)


def default_key() -> str:
    """``$ROUTER_API_KEY``: the key a client sends when it is given none."""
    return os.environ.get("ROUTER_API_KEY", "")


class _Bearer(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds ``authorization: Bearer <key>`` to every call that does not carry its own."""

    def __init__(self, key: str) -> None:
        self._header = ("authorization", f"Bearer {key}")

    def _details(self, details: Any) -> Any:
        metadata = list(details.metadata or ())
        if not any(k == "authorization" for k, _ in metadata):
            metadata.append(self._header)
        return details._replace(metadata=metadata)

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)


class _AioBearer(grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, key: str) -> None:
        self._header = ("authorization", f"Bearer {key}")

    def _details(self, details: Any) -> Any:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        if "authorization" not in metadata:
            metadata.add(*self._header)
        return details._replace(metadata=metadata)

    async def intercept_unary_unary(self, continuation: Any, details: Any,
                                    request: Any) -> Any:
        return await continuation(self._details(details), request)

    async def intercept_unary_stream(self, continuation: Any, details: Any,
                                     request: Any) -> Any:
        return await continuation(self._details(details), request)


def connect(address: str | None = None, *, key: str | None = None,
            tls: ClientTls | bool | None = True, options: ChannelOptions = ()) -> grpc.Channel:
    """A blocking channel to ``address`` (default: :func:`default_address`) that sends ``key``
    (default: ``$ROUTER_API_KEY``; "" sends none) with every call. ``tls``: True (default)
    takes TLS from the ``ROUTER_TLS_*`` environment (plain text when none is set), False is
    plain text, or a ``ClientTls``. Use it as a context manager so it is closed."""
    address = address or default_address()
    settings = client_tls() if tls is True else (tls or None)
    opts = _options(options, settings)
    channel = (grpc.insecure_channel(address, options=opts) if settings is None
               else grpc.secure_channel(address, _credentials(settings), options=opts))
    key = default_key() if key is None else key
    return grpc.intercept_channel(channel, _Bearer(key)) if key else channel


def connect_aio(address: str | None = None, *, key: str | None = None,
                tls: ClientTls | bool | None = True, options: ChannelOptions = ()
                ) -> grpc.aio.Channel:
    """An asyncio channel to ``address``, like :func:`connect`; ``async with`` closes it."""
    address = address or default_address()
    settings = client_tls() if tls is True else (tls or None)
    opts = _options(options, settings)
    key = default_key() if key is None else key
    interceptors = [_AioBearer(key)] if key else None
    if settings is None:
        return grpc.aio.insecure_channel(address, options=opts, interceptors=interceptors)
    return grpc.aio.secure_channel(address, _credentials(settings), options=opts,
                                   interceptors=interceptors)


def wait_ready(channel: grpc.Channel, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Block until the channel is connected; ConnectionError when nothing answers in time."""
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout_s)
    except grpc.FutureTimeoutError as exc:
        raise ConnectionError("no router answering") from exc


def stub(channel: grpc.Channel | grpc.aio.Channel) -> Any:
    """The Router stub over ``channel`` (sync or asyncio)."""
    from router.v1 import router_pb2_grpc

    return router_pb2_grpc.RouterStub(channel)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying ``token`` as ``authorization: Bearer``; empty when no token."""
    return (("authorization", f"Bearer {token}"),) if token else ()


# --- the client ---------------------------------------------------------------------------

DEADLINES_S = {"Route": 5.0, "ReportUsage": 20.0, "ReportFeedback": 20.0}
DEFAULT_DEADLINE_S = 30.0  # every other RPC (QuerySpend over a long range is the slowest)
# a restarted server is reached within a second, not after the channel's default backoff
# (which grows to two minutes while the server is down)
CLIENT_OPTIONS: ChannelOptions = (("grpc.initial_reconnect_backoff_ms", 100),
                                  ("grpc.min_reconnect_backoff_ms", 100),
                                  ("grpc.max_reconnect_backoff_ms", 1000))


def _methods() -> dict[str, bool]:
    """The Router service's RPCs, each with whether it streams its answer."""
    from router.v1 import router_pb2

    service = router_pb2.DESCRIPTOR.services_by_name["Router"]
    return {m.name: m.server_streaming for m in service.methods}


def _waits(method: str) -> dict[str, bool]:
    """A call that may not be sent twice waits for a connection that is not up yet (within
    its deadline) rather than failing before it is sent: its retries are the server's own
    refusals only (``transient``)."""
    return {} if idempotent(method) else {"wait_for_ready": True}


class _Base:
    """What both clients share: settings, the stub, and the plan of one call's attempts."""

    _METHODS: dict[str, bool] | None = None

    def __init__(self, deadlines: Mapping[str, float] | None, retry: Retry | None,
                 rng: random.Random | None, monotonic: Callable[[], float]) -> None:
        self.deadlines = {**DEADLINES_S, **(deadlines or {})}
        self.retry = retry or Retry()
        self._rng = rng or random.Random()
        self._monotonic = monotonic
        if _Base._METHODS is None:
            _Base._METHODS = _methods()

    def _deadline(self, method: str, timeout: float | None) -> float:
        return timeout if timeout is not None else self.deadlines.get(method, DEFAULT_DEADLINE_S)

    def _attempt_timeout(self, method: str, timeout: float | None, started: float) -> float:
        """One attempt's deadline: the RPC's, cut to what the retry policy's total has left."""
        left = self.retry.total_s - (self._monotonic() - started)
        return max(0.001, min(self._deadline(method, timeout), left))

    def _backoff(self, method: str, err: grpc.RpcError, attempt: int, started: float) -> float:
        """How long to wait before the next attempt; RouterCallError when there is none."""
        left = self.retry.total_s - (self._monotonic() - started)
        wait = self.retry.wait(method, err, attempt, left, self._rng)
        if wait is None:
            raise failure(method, err, attempt + 1, transient(method, err)) from err
        return wait

    def _streams(self, name: str) -> bool | None:
        """Whether RPC ``name`` streams; None when the service has no such RPC."""
        assert _Base._METHODS is not None
        return _Base._METHODS.get(name)

    def _route_request(self, task: str, **kw: Any) -> Any:
        return route_request(task, **kw)


class Client(_Base):
    """A blocking client. Address, key and TLS as ``connect`` takes them (the ``ROUTER_*``
    environment by default); ``deadlines`` overrides the per-RPC deadline in seconds by RPC
    name (Route 5, ReportUsage 20, others 30); ``retry`` the retry policy. ``channel`` uses
    an open channel instead (the client then does not close it)."""

    def __init__(self, address: str | None = None, *, key: str | None = None,
                 tls: ClientTls | bool | None = True, options: ChannelOptions = (),
                 deadlines: Mapping[str, float] | None = None, retry: Retry | None = None,
                 channel: grpc.Channel | None = None, rng: random.Random | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(deadlines, retry, rng, monotonic)
        self.address = address or default_address()
        self._owned = channel is None
        self.channel = channel or connect(self.address, key=key, tls=tls,
                                          options=(*CLIENT_OPTIONS, *options))
        self.stub = stub(self.channel)
        self._sleep = sleep

    def close(self) -> None:
        if self._owned:
            self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_ready(self, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        wait_ready(self.channel, timeout_s)

    def invoke(self, method: str, request: Any, *, timeout: float | None = None,
               metadata: Sequence[tuple[str, str]] | None = None) -> Any:
        """Call unary RPC ``method`` with retries; its answer, or RouterCallError."""
        request = keyed(method, request)
        rpc = getattr(self.stub, method)
        started, attempt = self._monotonic(), 0
        while True:
            try:
                return rpc(request, timeout=self._attempt_timeout(method, timeout, started),
                           metadata=metadata, **_waits(method))
            except grpc.RpcError as err:
                self._sleep(self._backoff(method, err, attempt, started))
                attempt += 1

    def __getattr__(self, name: str) -> Any:
        streams = self._streams(name)
        if streams is None:
            raise AttributeError(name)
        if streams:
            return getattr(self.stub, name)  # a stream is not retried: its caller resumes it
        return functools.partial(self.invoke, name)

    def route(self, task: str, **kw: Any) -> Any:
        """Route ``task`` (the keyword arguments of ``call``); the RouteResponse."""
        timeout = kw.pop("timeout", None)
        return self.invoke("Route", self._route_request(task, **kw), timeout=timeout)

    def report_usage(self, request: Any, *, timeout: float | None = None) -> Any:
        return self.invoke("ReportUsage", request, timeout=timeout)

    def report_feedback(self, request: Any, *, timeout: float | None = None) -> Any:
        return self.invoke("ReportFeedback", request, timeout=timeout)

    def call(self, task: str, **kw: Any) -> CallScope:
        """Route on enter, report usage once on exit: see ``CallScope``."""
        usage_id = kw.pop("usage_id", None)
        return CallScope(self, self._route_request(task, **kw), usage_id)


class AsyncClient(_Base):
    """``Client`` for asyncio: the same arguments, every RPC awaited, ``async with``."""

    def __init__(self, address: str | None = None, *, key: str | None = None,
                 tls: ClientTls | bool | None = True, options: ChannelOptions = (),
                 deadlines: Mapping[str, float] | None = None, retry: Retry | None = None,
                 channel: grpc.aio.Channel | None = None, rng: random.Random | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(deadlines, retry, rng, monotonic)
        self.address = address or default_address()
        self._owned = channel is None
        self.channel = channel or connect_aio(self.address, key=key, tls=tls,
                                              options=(*CLIENT_OPTIONS, *options))
        self.stub = stub(self.channel)

    async def close(self) -> None:
        if self._owned:
            await self.channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait_ready(self, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        try:
            await asyncio.wait_for(self.channel.channel_ready(), timeout=timeout_s)
        except TimeoutError as exc:
            raise ConnectionError(f"no router answering at {self.address}") from exc

    async def invoke(self, method: str, request: Any, *, timeout: float | None = None,
                     metadata: Sequence[tuple[str, str]] | None = None) -> Any:
        request = keyed(method, request)
        rpc = getattr(self.stub, method)
        started, attempt = self._monotonic(), 0
        while True:
            try:
                return await rpc(request, timeout=self._attempt_timeout(method, timeout, started),
                                 metadata=metadata, **_waits(method))
            except grpc.RpcError as err:
                await asyncio.sleep(self._backoff(method, err, attempt, started))
                attempt += 1

    def __getattr__(self, name: str) -> Any:
        streams = self._streams(name)
        if streams is None:
            raise AttributeError(name)
        return getattr(self.stub, name) if streams else functools.partial(self.invoke, name)

    async def route(self, task: str, **kw: Any) -> Any:
        timeout = kw.pop("timeout", None)
        return await self.invoke("Route", self._route_request(task, **kw), timeout=timeout)

    async def report_usage(self, request: Any, *, timeout: float | None = None) -> Any:
        return await self.invoke("ReportUsage", request, timeout=timeout)

    async def report_feedback(self, request: Any, *, timeout: float | None = None) -> Any:
        return await self.invoke("ReportFeedback", request, timeout=timeout)

    def call(self, task: str, **kw: Any) -> AsyncCallScope:
        usage_id = kw.pop("usage_id", None)
        return AsyncCallScope(self, self._route_request(task, **kw), usage_id)




__all__ = ["CONNECT_TIMEOUT_S", "DEADLINES_S", "DEFAULT_ADDRESS", "IDEMPOTENCY_KEYS",
           "IDEMPOTENT", "AsyncCallScope", "AsyncClient", "BudgetExhausted", "CallScope",
           "Client", "Retry", "RouteRefused", "RouterCallError", "RouterUnavailable", "bearer",
           "connect", "connect_aio", "default_address", "default_key", "stub", "wait_ready"]
