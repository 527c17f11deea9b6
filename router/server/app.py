"""Everything one server process runs on, built once at start-up and closed once at the end."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from router.auth import AuthMode, Startup, startup_mode
from router.budgeting import BudgetBook
from router.core.catalog import Catalog, load_catalog
from router.core.classifier import Classifier
from router.core.clock import Clock
from router.service import Services, build_services
from router.settings import Settings
from router.store.recorder import Recorder
from router.store.sql import SqlStore

OFFLOAD_THREADS = 8  # calls that may wait on a remote store run here, off the event loop


@dataclass
class App:
    settings: Settings
    catalog: Catalog
    classifier: Classifier
    store: SqlStore
    recorder: Recorder
    services: Services
    auth: Startup
    offload: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(OFFLOAD_THREADS,
                                                   thread_name_prefix="router-io"))

    def close(self) -> None:
        """Commit what was accepted, then release the store."""
        self.services.close()
        self.recorder.close()
        self.offload.shutdown(wait=True)
        self.store.close()


def holds_in_sql(settings: Settings) -> bool | None:
    """Where budget holds live, from ``ROUTER_LEDGER``; None: the store's default."""
    return {"auto": None, "local": False, "shared": True}[settings.ledger]


def build_app(settings: Settings, clock: Clock | None = None) -> App:
    """Load catalog and classifier, migrate the store, start the recorder, wire the services."""
    catalog = load_catalog(settings.catalog_path)
    classifier = Classifier.load(settings.classifier_path)
    store = SqlStore(settings.database_url, pool_size=settings.pool_size,
                     sqlite_synchronous=settings.sqlite_synchronous,
                     timeout_s=settings.store_timeout_ms / 1000,
                     holds_in_sql=holds_in_sql(settings))
    try:
        store.migrate()
        # listening beyond loopback with nothing to authenticate stops here (StartRefused)
        auth = startup_mode(AuthMode(settings.auth),
                            [settings.address, settings.http_address],
                            bool(store.load_api_keys()), settings.admin_token)
        budgets = BudgetBook(store, settings.budgets_path or None)  # a bad file stops here
    except BaseException:
        store.close()
        raise
    recorder = Recorder(store, max_batch=settings.max_batch, queue_limit=settings.queue_limit,
                        linger_s=settings.writer_linger_ms / 1000).start()
    try:  # the services' learner learns from the scores of routed calls
        services = build_services(settings, catalog, classifier, store, recorder, clock,
                                  budgets, enforce_auth=auth.enforce)
    except BaseException:
        recorder.close()
        store.close()
        raise
    return App(settings, catalog, classifier, store, recorder, services, auth)
