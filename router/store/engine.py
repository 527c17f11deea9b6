"""Engines and the connection plumbing every SQL concern shares (SQLite and PostgreSQL).

``SqlBase`` owns the engine, maps reachability errors to ``StoreUnavailable`` and offers the three
ways to reach the database: a SQLAlchemy connection (``_connect``), a DBAPI cursor in one
transaction (``_cursor``), and the hot path's shortcuts (``_probe``, ``_fast``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from router.core.errors import PreconditionFailed, StoreUnavailable
from router.store.ledger_sql import LedgerSql

T = TypeVar("T")
# a JSON \u0000 escape (after an even run of backslashes, so not an escaped backslash): text
# cannot hold NUL, so PostgreSQL cannot read that JSON, and one such row would fail every label
# filter; such a row matches none instead
_NUL_ESCAPE = r"(^|[^\\])(\\\\)*\\u0000"


def create_engine(url: str, *, pool_size: int = 8, sqlite_synchronous: str = "FULL",
                  timeout_s: float = 5.0, **options: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and the chosen fsync level."""
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size, max_overflow=pool_size,
        )

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={sqlite_synchronous}")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # every wait on the server is bounded: a pooled connection, a new one, a statement
    engine = sa.create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
        pool_timeout=timeout_s,
        # a peer that vanished without closing the connection is noticed too: TCP keepalives,
        # and unacknowledged writes give up after the timeout
        connect_args={"connect_timeout": max(2, round(timeout_s)), "keepalives": 1,
                      "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 2,
                      "tcp_user_timeout": max(1000, round(timeout_s * 1000))},
        **options,
    )

    @sa.event.listens_for(engine, "connect")
    def _statement_timeout(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:  # not in the URL's options: those may set search_path
            cur.execute(f"SET statement_timeout = {round(timeout_s * 1000)}")
        dbapi_conn.commit()

    return engine


class SqlBase:
    """The engine and connection helpers; the concern mixins of ``SqlStore`` build on it."""

    def __init__(self, url: str, *, pool_size: int = 8, sqlite_synchronous: str = "FULL",
                 timeout_s: float = 5.0, holds_in_sql: bool | None = None) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size,
                                    sqlite_synchronous=sqlite_synchronous, timeout_s=timeout_s)
        self._pool_size, self._timeout_s = pool_size, timeout_s
        self._fast_engine: Engine | None = None  # PostgreSQL holds: autocommit, async commit
        self._fast_lock = threading.Lock()
        self.dialect = self.engine.dialect.name
        self._insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        # an embedded file answers an indexed read in microseconds; a server may stall
        self.local_reads = self.dialect == "sqlite"
        # Do budget holds live in this database (the shared ledger of replicas) or in the one
        # process that owns an embedded file? Decided once, here; the ledger follows it.
        self.holds_in_sql = (not self.local_reads) if holds_in_sql is None else holds_in_sql
        dbapi = self.engine.dialect.dbapi
        assert dbapi is not None
        self._driver_unavailable: tuple[type[BaseException], ...] = (
            dbapi.OperationalError, dbapi.InterfaceError)
        self._local = threading.local()
        self._raw_connections: list[Any] = []
        self._mark = "%s" if self.dialect == "postgresql" else "?"
        self._ledger = LedgerSql(self._mark)  # budget SQL: settled with usage, held on Route

    def _probe(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """The first row ``sql`` returns, or None. On a per-thread DBAPI connection in
        autocommit mode.

        The hot path asks this for every request_id it does not know; SQLAlchemy's execution
        machinery costs ~25x the query itself on SQLite, so this one indexed read skips it.
        """
        raw = getattr(self._local, "raw", None)
        try:
            if raw is None:
                raw = self.engine.raw_connection()
                if self.dialect == "postgresql":
                    raw.driver_connection.autocommit = True  # type: ignore[union-attr]
                self._local.raw = raw
                self._raw_connections.append(raw)
            cur = raw.cursor()
            try:
                cur.execute(sql, params)
                row = cur.fetchone()
                return None if row is None else tuple(row)
            finally:
                cur.close()
        except Exception as exc:
            self._local.raw = None
            if raw is not None:
                self._raw_connections.remove(raw)
                raw.invalidate()
            raise StoreUnavailable(f"store unreachable: {exc}") from exc

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[Connection]:
        """A connection (a transaction when ``write``); reachability errors, whether wrapped by
        SQLAlchemy or raised by the driver's own cursor on the fast paths, become
        StoreUnavailable so callers retry instead of treating them as bad data."""
        try:
            with (self.engine.begin() if write else self.engine.connect()) as conn:
                yield conn
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            raise StoreUnavailable(f"store unreachable: {exc.orig or exc}") from exc
        except self._driver_unavailable as exc:
            raise StoreUnavailable(f"store unreachable: {exc}") from exc

    @contextmanager
    def _cursor(self, *, synchronous: bool = True) -> Iterator[Any]:
        """A DBAPI cursor in one transaction. ``synchronous=False`` lets PostgreSQL acknowledge
        the commit before its WAL reaches disk: for holds, which a crash may forget (the calls in
        flight are still charged when reported) but which must not wait on an fsync while they
        lock a hot budget row."""
        with self._connect(write=True) as conn:
            cursor = conn.connection.cursor()
            try:
                if not synchronous and conn.dialect.name == "postgresql":
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
                yield cursor
            finally:
                cursor.close()

    def _fast(self, work: Callable[[Any], T]) -> T:
        """Run ``work(cursor)`` on an autocommit connection of its own small pool: one
        statement is one transaction and one round trip, committed without waiting for the WAL
        flush (holds are provisional; a crash forgets at most the last few, never a usage)."""
        if self._fast_engine is None:
            with self._fast_lock:
                if self._fast_engine is None:
                    engine = create_engine(self.url, pool_size=self._pool_size,
                                           timeout_s=self._timeout_s,
                                           isolation_level="AUTOCOMMIT")

                    @sa.event.listens_for(engine, "connect")
                    def _async_commit(dbapi_conn: Any, _record: Any) -> None:
                        with dbapi_conn.cursor() as cur:
                            cur.execute("SET synchronous_commit TO OFF")

                    self._fast_engine = engine
        try:
            raw = self._fast_engine.raw_connection()
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
            raise StoreUnavailable(f"store unreachable: {exc}") from exc
        except self._driver_unavailable as exc:
            raise StoreUnavailable(f"store unreachable: {exc}") from exc
        try:
            with raw.driver_connection.cursor() as cur:  # type: ignore[union-attr]
                return work(cur)
        except self._driver_unavailable as exc:
            raw.invalidate()
            raise StoreUnavailable(f"store unreachable: {exc}") from exc
        finally:
            raw.close()  # back to the pool (or gone, when invalidated)

    def _rows(self, stmt: Any, too_large: str) -> list[Any]:
        """All rows of a summing query; SQLite's SUM past int64 becomes PreconditionFailed
        naming ``too_large`` (PostgreSQL sums into numeric and never overflows)."""
        with self._connect() as conn:
            try:
                return list(conn.execute(stmt).all())
            except sa.exc.OperationalError as exc:
                if "integer overflow" in str(exc.orig):
                    raise PreconditionFailed(f"{too_large} exceed int64 nanos; narrow the "
                                             "query") from exc
                raise

    def _label_is(self, labels: sa.ColumnElement[str], key: str, value: str
                  ) -> sa.ColumnElement[bool]:
        """Rows whose label ``key`` is exactly ``value``, read from the ``labels`` column's JSON
        (not a pattern over its text, which other keys and values could contain); both are
        bound parameters, and the key is an object key, never a path."""
        if self.dialect == "postgresql":
            text = sa.cast(labels, postgresql.JSONB)[key].astext
            # CASE, unlike AND, evaluates in order: no row with a NUL reaches the cast
            return sa.case((labels.regexp_match(_NUL_ESCAPE), sa.null()), else_=text) == value
        each = sa.func.json_each(labels).table_valued("key", "value")
        return sa.exists().where(each.c.key == key, each.c.value == value)

    def ping(self) -> None:
        with self._connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        for raw in self._raw_connections:
            with contextlib.suppress(Exception):  # closing a broken connection: best effort
                raw.invalidate()
        self._raw_connections.clear()
        self.engine.dispose()
        if self._fast_engine is not None:
            self._fast_engine.dispose()

