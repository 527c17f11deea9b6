"""The one way to open a channel to a router: for the CLI, the simulator, the benchmark and users.

    from router.client import connect, stub
    with connect() as channel:               # $ROUTER_ADDRESS, else 127.0.0.1:50051
        router = stub(channel)               # $ROUTER_API_KEY sent with every call
        router.Route(...)

Every caller gets the same defaults (address, key and TLS from the environment, a message size
that fits the largest responses, a bounded wait for the server to answer), so a setting changes
in one place.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import grpc

from router.auth.tls import ClientTls, client_tls

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
