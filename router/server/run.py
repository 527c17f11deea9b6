"""Run a server until SIGTERM or SIGINT, then shut down gracefully.

On SIGTERM (or SIGINT) health turns NOT_SERVING, in-flight RPCs get ``shutdown_grace_s`` to
finish, the recorder commits everything it accepted, and the process exits 0. SIGHUP re-reads the
budgets file.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Callable

import prometheus_client
import structlog

from router.server.app import App, build_app
from router.server.grpc_server import create_server
from router.server.http_server import create_http_server
from router.server.tasks import every, watch_store
from router.service.learning import SAVE_INTERVAL_S as LEARNING_SAVE_INTERVAL_S
from router.settings import Settings

log = structlog.get_logger("router.server")


async def run(app: App, stop: asyncio.Event | None = None,
              on_started: Callable[[int, int | None], None] | None = None) -> None:
    """Serve until SIGTERM/SIGINT (or ``stop`` is set), then shut down gracefully.
    ``on_started`` gets the gRPC port and the HTTP port (None: HTTP is off)."""
    stop = stop or asyncio.Event()
    server = await create_server(app, app.settings.address)
    await server.grpc_server.start()
    try:
        http = (await create_http_server(app, server, app.settings.http_address)
                if app.settings.http_address else None)
    except BaseException:  # e.g. the HTTP port is taken: gRPC does not serve alone
        await server.grpc_server.stop(0)
        raise
    http_port = http.port if http is not None else None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # off the main thread (tests) there are no signal handlers: the caller sets ``stop``
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    watcher = asyncio.create_task(watch_store(app, server, stop))
    # expired holds swept and budget changes picked up; anomaly detectors on their schedule
    keeper = asyncio.create_task(every(app, stop, app.settings.budget_tick_s,
                                       app.services.budgets.tick, "budgets.tick"))
    # keys made or revoked on other replicas reach this one within the refresh interval
    keyring = asyncio.create_task(every(app, stop, app.settings.budget_refresh_s,
                                        app.services.keys.refresh, "keys.refresh",
                                        first_at_once=False))
    detector = asyncio.create_task(every(app, stop, app.settings.anomaly_interval_s,
                                         app.services.anomalies.detect, "anomalies.detect",
                                         first_at_once=False))
    # what this replica learned from outcomes is added to the store's sums; what the others
    # added is read back on the refresh schedule
    learning = app.services.learning
    learning_save = asyncio.create_task(every(app, stop, LEARNING_SAVE_INTERVAL_S,
                                              learning.save, "learning.save",
                                              first_at_once=False))
    learning_refresh = asyncio.create_task(every(app, stop, app.settings.budget_refresh_s,
                                                 learning.refresh, "learning.refresh",
                                                 first_at_once=False))
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError, AttributeError):
        loop.add_signal_handler(signal.SIGHUP, app.services.budgets.reload_file)
    if app.settings.metrics_port:
        prometheus_client.start_http_server(app.settings.metrics_port, addr="127.0.0.1")
    (log.info if app.auth.enforce or app.services.keys.keyring.enforcing
     else log.warning)("server.auth", message=app.auth.message)
    log.info("server.started", address=app.settings.address, port=server.port,
             http_address=app.settings.http_address or None, http_port=http_port,
             database=_redact(app.settings.database_url), models=len(app.catalog.enabled()),
             classifier=app.classifier.version)
    if on_started is not None:
        on_started(server.port, http_port)
    await stop.wait()
    log.info("server.stopping", grace_s=app.settings.shutdown_grace_s)
    await server.health.enter_graceful_shutdown()
    await asyncio.gather(server.grpc_server.stop(app.settings.shutdown_grace_s),
                         *([http.stop()] if http is not None else []))
    await watcher
    await keeper
    await keyring
    await detector
    await learning_save
    await learning_refresh
    queued = app.recorder.queued()
    await loop.run_in_executor(None, app.close)
    log.info("server.stopped", flushed=queued)


def _redact(url: str) -> str:
    """The database URL without a password, for logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    return f"{scheme}://{creds.split(':', 1)[0]}@{host}"


def serve(settings: Settings) -> None:
    app = build_app(settings)
    # Everything built so far (modules, the catalog, the classifier, the engines) lives as long
    # as the process: out of the collector's sight, so a full collection, which pauses the
    # event loop for as long as it takes to walk every tracked object, walks only what serving
    # made (~65 ms of every such pause here before).
    gc.collect()
    gc.freeze()
    asyncio.run(run(app))
