"""The gRPC server: wiring, health, reflection and graceful shutdown.

On SIGTERM (or SIGINT) health turns NOT_SERVING, in-flight RPCs get ``shutdown_grace_s`` to
finish, the recorder commits everything it accepted, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import grpc
import prometheus_client
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from router.api.servicer import RouterServicer
from router.budgeting import BudgetBook
from router.core.catalog import Catalog, load_catalog
from router.core.classifier import Classifier
from router.core.clock import Clock
from router.core.errors import StoreUnavailable
from router.recorder import Recorder
from router.service import RouterService
from router.settings import Settings
from router.store.sql import SqlStore
from router.v1 import router_pb2, router_pb2_grpc

log = structlog.get_logger("router.server")
SERVICE_NAME = router_pb2.DESCRIPTOR.services_by_name["Router"].full_name
_STORE_CHECK_INTERVAL_S = 2.0


@dataclass
class App:
    """Everything one server process runs on, built once at start-up."""

    settings: Settings
    catalog: Catalog
    classifier: Classifier
    store: SqlStore
    recorder: Recorder
    service: RouterService
    offload: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(8, thread_name_prefix="router-io"))

    def close(self) -> None:
        """Commit what was accepted, then release the store."""
        self.service.save_calibration()
        if self.service.webhook is not None:
            self.service.webhook.close()
        self.recorder.close()
        self.offload.shutdown(wait=True)
        self.store.close()


def build_app(settings: Settings, clock: Clock | None = None) -> App:
    """Load catalog and classifier, migrate the store, start the recorder."""
    catalog = load_catalog(settings.catalog_path)
    classifier = Classifier.load(settings.classifier_path)
    store = SqlStore(settings.database_url, pool_size=settings.pool_size,
                     sqlite_synchronous=settings.sqlite_synchronous,
                     timeout_s=settings.store_timeout_ms / 1000)
    try:
        store.migrate()
        budgets = BudgetBook(store, settings.budgets_path or None)  # a bad file stops here
    except BaseException:
        store.close()
        raise
    recorder = Recorder(store, max_batch=settings.max_batch,
                        queue_limit=settings.queue_limit).start()
    service = RouterService(settings, catalog, classifier, store, recorder, clock, budgets)
    return App(settings, catalog, classifier, store, recorder, service)


@dataclass
class Server:
    grpc_server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer

    async def set_serving(self, serving: bool) -> None:
        status = (health_pb2.HealthCheckResponse.SERVING if serving
                  else health_pb2.HealthCheckResponse.NOT_SERVING)
        for name in ("", SERVICE_NAME):
            await self.health.set(name, status)


async def create_server(app: App, address: str) -> Server:
    """A server bound to ``address`` (port 0 picks a free one); health starts NOT_SERVING."""
    server = grpc.aio.server(
        maximum_concurrent_rpcs=app.settings.max_concurrent_rpcs,
        options=[("grpc.max_receive_message_length",
                  4 * app.settings.max_description_chars + (1 << 20)),
                 ("grpc.so_reuseport", 0)],
    )
    router_pb2_grpc.add_RouterServicer_to_server(RouterServicer(app.service, app.offload,
                                                                app.settings.admin_token),
                                                 server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
         reflection.SERVICE_NAME), server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    wrapped = Server(server, port, health_servicer)
    await wrapped.set_serving(False)
    return wrapped


async def _watch_store(app: App, server: Server, stop: asyncio.Event) -> None:
    """Health follows the store: NOT_SERVING while it cannot be reached."""
    loop = asyncio.get_running_loop()
    serving: bool | None = None
    while not stop.is_set():
        try:
            await loop.run_in_executor(app.offload, app.store.ping)
            ok = True
        except StoreUnavailable as exc:
            ok = False
            log.warning("store.unreachable", error=str(exc))
        if ok != serving and not stop.is_set():
            await server.set_serving(ok)
            serving = ok
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _STORE_CHECK_INTERVAL_S)


async def _every(app: App, stop: asyncio.Event, interval_s: float, work: Callable[[], object],
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


async def run(app: App, stop: asyncio.Event | None = None,
              on_started: Callable[[int], None] | None = None) -> None:
    """Serve until SIGTERM/SIGINT (or ``stop`` is set), then shut down gracefully."""
    stop = stop or asyncio.Event()
    server = await create_server(app, app.settings.address)
    await server.grpc_server.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # off the main thread (tests) there are no signal handlers: the caller sets ``stop``
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    watcher = asyncio.create_task(_watch_store(app, server, stop))
    # expired holds swept and budget changes picked up; anomaly detectors on their schedule
    keeper = asyncio.create_task(_every(app, stop, app.settings.budget_tick_s,
                                        app.service.tick, "budgets.tick"))
    detector = asyncio.create_task(_every(app, stop, app.settings.anomaly_interval_s,
                                          app.service.detect_anomalies, "anomalies.detect",
                                          first_at_once=False))
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError, AttributeError):
        loop.add_signal_handler(signal.SIGHUP, app.service.budgets.reload_file, True)
    if app.settings.metrics_port:
        prometheus_client.start_http_server(app.settings.metrics_port, addr="127.0.0.1")
    log.info("server.started", address=app.settings.address, port=server.port,
             database=_redact(app.settings.database_url), models=len(app.catalog.enabled()),
             classifier=app.classifier.version)
    if on_started is not None:
        on_started(server.port)
    await stop.wait()
    log.info("server.stopping", grace_s=app.settings.shutdown_grace_s)
    await server.health.enter_graceful_shutdown()
    await server.grpc_server.stop(app.settings.shutdown_grace_s)
    await watcher
    await keeper
    await detector
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
    asyncio.run(run(app))
