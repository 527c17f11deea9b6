"""The one way to open a channel to a router: for the CLI, the simulator, the benchmark and users.

    from router.client import connect, stub
    with connect() as channel:               # $ROUTER_ADDRESS, else 127.0.0.1:50051
        router = stub(channel)
        router.Route(...)

Every caller gets the same defaults (address from the environment, a message size that fits the
largest responses, a bounded wait for the server to answer), so a setting changes in one place.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import grpc

DEFAULT_ADDRESS = "127.0.0.1:50051"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a ListAnomalies or QuerySpend page is far below this
CONNECT_TIMEOUT_S = 10.0

ChannelOptions = Sequence[tuple[str, Any]]


def default_address() -> str:
    """``$ROUTER_ADDRESS``, else the address ``router serve`` listens on by default."""
    return os.environ.get("ROUTER_ADDRESS") or DEFAULT_ADDRESS


def _options(extra: ChannelOptions) -> list[tuple[str, Any]]:
    return [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES), *extra]


def connect(address: str | None = None, *, options: ChannelOptions = ()) -> grpc.Channel:
    """A blocking channel to ``address`` (default: :func:`default_address`); use it as a
    context manager so it is closed."""
    return grpc.insecure_channel(address or default_address(), options=_options(options))


def connect_aio(address: str | None = None, *, options: ChannelOptions = ()
                ) -> grpc.aio.Channel:
    """An asyncio channel to ``address``; ``async with`` closes it."""
    return grpc.aio.insecure_channel(address or default_address(), options=_options(options))


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
