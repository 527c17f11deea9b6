"""The server's periodic work: health following the store, and the schedules of housekeeping
and detection, each in a worker thread so the event loop never waits on the store."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from router.core.errors import StoreUnavailable
from router.server.app import App
from router.server.grpc_server import Server

log = structlog.get_logger("router.server")
STORE_CHECK_INTERVAL_S = 2.0
PING_MARGIN_S = 0.5


async def watch_store(app: App, server: Server, stop: asyncio.Event) -> None:
    """Health follows the store: NOT_SERVING while it cannot be reached."""
    loop = asyncio.get_running_loop()
    serving: bool | None = None
    while not stop.is_set():
        try:
            await asyncio.wait_for(loop.run_in_executor(app.offload, app.store.ping),
                                   app.settings.store_timeout_ms / 1000 + PING_MARGIN_S)
            ok = True
        except TimeoutError:  # a silent store: connected, never answering
            ok = False
            log.warning("store.unreachable", error="the store did not answer the ping in time")
        except StoreUnavailable as exc:
            ok = False
            log.warning("store.unreachable", error=str(exc))
        if ok != serving and not stop.is_set():
            await server.set_serving(ok)
            serving = ok
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STORE_CHECK_INTERVAL_S)


async def every(app: App, stop: asyncio.Event, interval_s: float, work: Callable[[], object],
                name: str, *, first_at_once: bool = True) -> None:
    """Run ``work`` in a worker thread every ``interval_s`` until ``stop``; a failure is logged
    and the schedule goes on. ``interval_s <= 0`` disables it."""
    if interval_s <= 0:
        return
    loop = asyncio.get_running_loop()
    wait = not first_at_once
    while not stop.is_set():
        if wait:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
            if stop.is_set():
                return
        wait = True
        try:
            await loop.run_in_executor(app.offload, work)
        except StoreUnavailable as exc:
            log.warning(f"{name}.failed", error=str(exc))
        except Exception:
            log.exception(f"{name}.crashed")
