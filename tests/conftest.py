"""Shared fixtures: a real server on port 0 over a temporary SQLite file, and PostgreSQL URLs."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa

from router.core.catalog import load_catalog
from router.core.classifier import Classifier
from router.core.clock import ManualClock
from router.logs import configure
from router.server import EmbeddedServer
from router.settings import Settings
from router.store.recorder import Recorder
from router.store.sql import SqlStore
from router.v1 import router_pb2_grpc

configure("warning")
# the `router serve` processes tests start listen for HTTP on a free port, never the default's
os.environ.setdefault("ROUTER_HTTP_ADDRESS", "127.0.0.1:0")
PG_URL = os.environ.get("ROUTER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


RunningServer = EmbeddedServer  # the tests' name for it


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    defaults: dict[str, object] = {"http_address": "127.0.0.1:0"}
    return Settings(address="127.0.0.1:0",
                    database_url=f"sqlite:///{tmp_path / 'router.db'}",
                    sqlite_synchronous="NORMAL", log_level="warning", shutdown_grace_s=2.0,
                    decision_lookup_grace_ms=0,
                    **{**defaults, **overrides})  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def server(settings: Settings) -> Iterator[RunningServer]:
    running = RunningServer(settings)
    yield running
    running.stop()


@pytest.fixture
def channel(server: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield ch


@pytest.fixture
def stub(channel: grpc.Channel) -> router_pb2_grpc.RouterStub:
    return router_pb2_grpc.RouterStub(channel)


def _pg_reachable() -> bool:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_available() -> bool:
    ok = _pg_reachable()
    if not ok and os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required when CI=true and {PG_URL} is unreachable")
    return ok


@pytest.fixture
def pg_url(pg_available: bool) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    if not pg_available:
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        # a connection a test left behind (a server thread still closing) must not hold the
        # drop, and with it the suite, hostage
        conn.execute(sa.text(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l "
            "JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = "
            "c.relnamespace WHERE n.nspname = :s AND l.pid <> pg_backend_pid()"),
            {"s": schema})
        conn.execute(sa.text("SET LOCAL lock_timeout = '30s'"))
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_url")


# -- the unit tests' double of the seam: a real SQLite store, migrated once per module and copied
# per test, with a running recorder, the real catalog and classifier, and a manual clock --------

@pytest.fixture(scope="module")
def catalog():
    return load_catalog(Settings().catalog_path)


@pytest.fixture(scope="module")
def classifier():
    return Classifier.load(Settings().classifier_path)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """A migrated database file, copied for each test (migrating each one is the slow part)."""
    path = tmp_path_factory.mktemp("schema") / "r.db"
    s = SqlStore(f"sqlite:///{path}")
    s.migrate()
    s.close()
    return path


@pytest.fixture
def store(migrated, tmp_path):
    shutil.copyfile(migrated, tmp_path / "r.db")
    s = SqlStore(f"sqlite:///{tmp_path / 'r.db'}", sqlite_synchronous="NORMAL")
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def recorder(store):
    r = Recorder(store).start()
    yield r
    r.close()


@pytest.fixture
def clock():
    return ManualClock()


