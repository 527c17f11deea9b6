"""The SQL store: SQLite (embedded default, WAL) and PostgreSQL through one SQLAlchemy Core path.

Writes are set-based: one multi-row INSERT per table per batch, conflicts resolved by the database
(``ON CONFLICT DO NOTHING ... RETURNING``), so replicas sharing PostgreSQL never double-record.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from router.core.anomalies import Anomaly, HourBucket, Kind, Series, TaskCount
from router.core.budgets import Hold, Totals
from router.core.calibration import Factor
from router.core.errors import PreconditionFailed, StoreUnavailable
from router.core.pricing import CostBreakdown, TokenCounts
from router.core.records import (
    Attribution,
    CandidateRecord,
    DecisionRecord,
    Outcome,
    UsageRecord,
)
from router.core.savings import UsageGroup
from router.core.spend import MEASURES, Bucket, Source, SpendQuery, bucket_starts
from router.store import ledger_sql
from router.store.base import PausedRow, UsageWrite, WriteStatus
from router.store.ledger_sql import LedgerSql, WindowKey
from router.store.tables import (
    anomalies,
    budget_charges,
    budget_holds,
    budget_rules,
    budget_windows,
    calibration,
    decisions,
    paused_scopes,
    usage_daily,
    usage_hourly,
    usages,
)

_MIGRATIONS = Path(__file__).parent / "migrations"
# the rollup's summed columns in the order _roll_up accumulates them (provider first, a key)
_ROLLUP_SUMS = ("provider", "calls", "input_tokens", "cached_input_tokens", "output_tokens",
                "reasoning_tokens", "cost_tokens", "cost_tools", "cost_compute", "cost_review",
                "cost_total", "predicted_cost", "predicted_calls", "actual_of_predicted",
                "failures", "review_calls", "review_ms", "tool_calls", "compute_ms")
T = TypeVar("T")
_MIGRATION_LOCK = 0x726F75746572  # pg advisory lock key: replicas migrate one at a time


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


class SqlStore:
    """``router.store.base.Store`` over SQLAlchemy Core."""

    def __init__(self, url: str, *, pool_size: int = 8, sqlite_synchronous: str = "FULL",
                 timeout_s: float = 5.0) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size,
                                    sqlite_synchronous=sqlite_synchronous, timeout_s=timeout_s)
        self._pool_size, self._timeout_s = pool_size, timeout_s
        self._fast_engine: Engine | None = None  # PostgreSQL holds: autocommit, async commit
        self._fast_lock = threading.Lock()
        self._insert = postgresql.insert if self.engine.dialect.name == "postgresql" \
            else sqlite.insert
        # an embedded file answers an indexed read in microseconds; a server may stall
        self.local_reads = self.engine.dialect.name == "sqlite"
        dbapi = self.engine.dialect.dbapi
        self._driver_unavailable: tuple[type[BaseException], ...] = (
            dbapi.OperationalError, dbapi.InterfaceError)
        self._local = threading.local()
        self._raw_connections: list[Any] = []
        mark = self._mark = "%s" if self.engine.dialect.name == "postgresql" else "?"
        self._ledger = LedgerSql(mark)
        self._rollups = [
            (self._upsert_sql("usage_hourly", ("hour_us", "team", "agent", "model")),
             3_600_000_000, lambda u: (u.attribution.team, u.attribution.agent, u.model)),
            (self._upsert_sql("usage_daily", ("day_us", "team", "agent", "user_name",
                                              "task_type", "model")),
             86_400_000_000, lambda u: (u.attribution.team, u.attribution.agent,
                                        u.attribution.user, u.attribution.task_type, u.model)),
        ]
        # do holds live in this database (a shared ledger), or in the process (embedded)?
        self.holds_in_sql = not self.local_reads
        self._request_exists_sql = f"SELECT 1 FROM decisions WHERE request_id = {mark}"
        self._usage_columns = tuple(c.name for c in usages.columns)
        self._usage_columns_sql = ", ".join(self._usage_columns)
        self._usage_row_marks = "(" + ", ".join([mark] * len(self._usage_columns)) + ")"
        self._usage_chunk = 30_000 // len(self._usage_columns)  # under SQLite's variable limit
        self._decision_columns = tuple(c.name for c in decisions.columns)
        self._decision_insert_sql = (
            f"INSERT INTO decisions ({', '.join(self._decision_columns)}) VALUES "
            f"({', '.join([mark] * len(self._decision_columns))}) ON CONFLICT DO NOTHING")

    def _upsert_sql(self, table: str, keys: tuple[str, ...]) -> str:
        sums = (*_ROLLUP_SUMS[1:], "abs_error_ratio_sum")
        columns = (*keys, "provider", *sums)
        return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                f"({', '.join([self._mark] * len(columns))}) ON CONFLICT ({', '.join(keys)}) "
                "DO UPDATE SET " + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in sums))

    def _probe(self, sql: str, params: tuple[Any, ...]) -> bool:
        """Does ``sql`` return a row? On a per-thread DBAPI connection in autocommit mode.

        The hot path asks this for every new request_id; SQLAlchemy's execution machinery costs
        ~25x the query itself on SQLite, so this one indexed probe skips it.
        """
        raw = getattr(self._local, "raw", None)
        try:
            if raw is None:
                raw = self.engine.raw_connection()
                if self.engine.dialect.name == "postgresql":
                    raw.driver_connection.autocommit = True
                self._local.raw = raw
                self._raw_connections.append(raw)
            cur = raw.cursor()
            try:
                cur.execute(sql, params)
                return cur.fetchone() is not None
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

    def migrate(self) -> None:
        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with self._connect(write=True) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def ping(self) -> None:
        with self._connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def write_batch(
        self, decision_records: Sequence[DecisionRecord], usage_records: Sequence[UsageRecord],
        factors: Sequence[Factor] = (),
    ) -> list[UsageWrite]:
        with self._connect(write=True) as conn:
            if factors:
                stmt = self._insert(calibration)
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=["model", "task_type", "agent"],
                    set_={c: stmt.excluded[c] for c in ("log_factor", "count", "updated_us")},
                    where=calibration.c.updated_us <= stmt.excluded.updated_us,
                ), [{"model": f.model, "task_type": f.task_type, "agent": f.agent,
                     "log_factor": f.log_factor, "count": f.count, "updated_us": f.updated_us}
                    for f in sorted(factors, key=lambda f: (f.model, f.task_type, f.agent))])
            if decision_records:
                self._insert_decisions(conn, decision_records)
            if not usage_records:
                return []
            first: dict[str, UsageRecord] = {}
            for u in usage_records:
                first.setdefault(u.usage_id, u)
            # sorted: two replicas writing overlapping ids lock rows in the same order
            inserted = self._insert_usages(conn, sorted(first.values(),
                                                        key=lambda u: u.usage_id))
            settled = [first[uid] for uid in sorted(inserted)]
            totals: dict[WindowKey, Totals] = {}
            if any(u.charges or (self.holds_in_sql and u.decision_id) for u in settled):
                cursor = conn.connection.cursor()
                try:
                    totals = ledger_sql.settle(cursor, self._ledger, [
                        (u.usage_id, u.decision_id, u.recorded_us, u.charges) for u in settled],
                        self.holds_in_sql)
                finally:
                    cursor.close()
            if settled:
                self._roll_up(conn, settled)
            stored = {uid: first[uid] for uid in inserted}
            missing = [uid for uid in first if uid not in inserted]
            if missing:
                rows = conn.execute(sa.select(usages).where(usages.c.usage_id.in_(missing)))
                stored.update({r.usage_id: _usage_record(r) for r in rows})
        results: list[UsageWrite] = []
        claimed: set[str] = set()
        for u in usage_records:
            rec = stored[u.usage_id]
            if u.usage_id in inserted and u.usage_id not in claimed:
                claimed.add(u.usage_id)
                results.append(UsageWrite(WriteStatus.INSERTED, rec, {
                    (c.budget_id, c.window_key): totals[(c.budget_id, c.window_key)]
                    for c in u.charges}))
            elif rec.payload_hash == u.payload_hash:
                results.append(UsageWrite(WriteStatus.REPLAYED, rec))
            else:
                results.append(UsageWrite(WriteStatus.CONFLICT, rec))
        return results

    def _roll_up(self, conn: Connection, records: Sequence[UsageRecord]) -> None:
        """Add newly recorded usage to both rollups, one upsert per (bucket, keys), in key order
        (replicas lock rollup rows in the same order)."""
        cursor = conn.connection.cursor()
        try:
            for sql, step, key_of in self._rollups:
                groups: dict[tuple[Any, ...], list[Any]] = {}
                for u in records:
                    key = (u.recorded_us - u.recorded_us % step, *key_of(u))
                    acc = groups.get(key)
                    if acc is None:
                        acc = groups[key] = [u.provider] + [0] * (len(_ROLLUP_SUMS) - 1) + [0.0]
                    _accumulate(acc, u)
                cursor.executemany(sql, [(*k, *groups[k]) for k in sorted(groups)])
        finally:
            cursor.close()

    def _insert_decisions(self, conn: Connection, records: Sequence[DecisionRecord]) -> None:
        """The busiest insert (one row per Route), straight to the DBAPI cursor: SQLAlchemy's
        per-row parameter processing costs ~4x the database's own work.

        A decision whose request_id another replica stored first is still kept, without the
        request_id, so the decision id its client holds keeps resolving.
        """
        rows = sorted(map(_decision_row, records), key=lambda r: r["decision_id"])
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(self._decision_insert_sql,
                               [tuple(r[c] for c in self._decision_columns) for r in rows])
            keyed = [r for r in rows if r["request_id"] is not None]
            if keyed:
                marks = ", ".join([self._mark] * len(keyed))
                cursor.execute(f"SELECT decision_id FROM decisions WHERE decision_id IN ({marks})",
                               [r["decision_id"] for r in keyed])
                stored = {row[0] for row in cursor.fetchall()}
                losers = [{**r, "request_id": None} for r in keyed
                          if r["decision_id"] not in stored]
                if losers:
                    cursor.executemany(self._decision_insert_sql, [
                        tuple(r[c] for c in self._decision_columns) for r in losers])
        finally:
            cursor.close()

    def _insert_usages(self, conn: Connection, records: list[UsageRecord]) -> set[str]:
        """One multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING usage_id`` per chunk,
        straight to the DBAPI cursor; returns the ids that were new."""
        inserted: set[str] = set()
        cursor = conn.connection.cursor()
        try:
            for start in range(0, len(records), self._usage_chunk):
                chunk = records[start:start + self._usage_chunk]
                sql = (f"INSERT INTO usages ({self._usage_columns_sql}) VALUES "
                       + ", ".join([self._usage_row_marks] * len(chunk))
                       + " ON CONFLICT (usage_id) DO NOTHING RETURNING usage_id")
                params = [row[c] for row in map(_usage_row, chunk) for c in self._usage_columns]
                cursor.execute(sql, params)
                inserted.update(r[0] for r in cursor.fetchall())
        finally:
            cursor.close()
        return inserted

    def get_decision(self, decision_id: str) -> DecisionRecord | None:
        with self._connect() as conn:
            row = conn.execute(
                sa.select(decisions).where(decisions.c.decision_id == decision_id)
            ).first()
        return _decision_record(row) if row else None

    def find_decision_by_request(self, request_id: str) -> DecisionRecord | None:
        if not self._probe(self._request_exists_sql, (request_id,)):
            return None
        with self._connect() as conn:
            row = conn.execute(
                sa.select(decisions).where(decisions.c.request_id == request_id)
            ).first()
        return _decision_record(row) if row else None

    def usages_for_decision(self, decision_id: str) -> list[UsageRecord]:
        with self._connect() as conn:
            rows = conn.execute(
                sa.select(usages).where(usages.c.decision_id == decision_id)
                .order_by(usages.c.recorded_us, usages.c.usage_id)
            )
            return [_usage_record(r) for r in rows]

    def get_usage(self, usage_id: str) -> UsageRecord | None:
        with self._connect() as conn:
            row = conn.execute(sa.select(usages).where(usages.c.usage_id == usage_id)).first()
        return _usage_record(row) if row else None

    def usage_groups(self, since_us: int | None = None, until_us: int | None = None
                     ) -> list[UsageGroup]:
        """Usage summed per (team, agent, model) over [since, until): one GROUP BY."""
        u = usages.c
        query = sa.select(
            u.team, u.agent, u.model, sa.func.count().label("calls"),
            *(sa.func.sum(c).label(c.name) for c in (
                u.input_tokens, u.cached_input_tokens, u.output_tokens, u.reasoning_tokens,
                u.cost_tokens, u.cost_total)),
        ).group_by(u.team, u.agent, u.model)
        if since_us is not None:
            query = query.where(u.recorded_us >= since_us)
        if until_us is not None:
            query = query.where(u.recorded_us < until_us)
        with self._connect() as conn:
            try:
                rows = conn.execute(query).all()
            except sa.exc.OperationalError as exc:
                if "integer overflow" in str(exc.orig):  # SQLite's SUM past int64
                    raise PreconditionFailed("usage totals exceed int64 nanos; narrow the "
                                             "time range") from exc
                raise
            return [UsageGroup(r.team, r.agent, r.model, int(r.calls),
                               TokenCounts(int(r.input_tokens), int(r.cached_input_tokens),
                                           int(r.output_tokens), int(r.reasoning_tokens)),
                               int(r.cost_tokens), int(r.cost_total))
                    for r in rows]

    # -- Budgets -------------------------------------------------------------------------------

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

    def place_holds(self, decision_id: str,
                    holds: Sequence[tuple[Hold, int | None, int | None]]
                    ) -> dict[WindowKey, Totals]:
        """Hold (hold, limit, limit_tokens) on every window atomically, each only if its limits
        have room; HoldRefused (nothing written) otherwise. Returns the totals after."""
        if self.engine.dialect.name == "postgresql":
            return self._fast(lambda cur: ledger_sql.place_holds_pg(cur, self._ledger,
                                                                    decision_id, holds))
        try:
            with self._cursor(synchronous=False) as cur:
                return ledger_sql.place_holds(cur, self._ledger, decision_id, holds)
        except sa.exc.IntegrityError as exc:  # the same decision held twice: a bug upstream
            raise PreconditionFailed(f"decision {decision_id} already holds budget") from exc

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
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError,
                *self._driver_unavailable) as exc:
            raise StoreUnavailable(f"store unreachable: {exc}") from exc
        try:
            with raw.driver_connection.cursor() as cur:
                return work(cur)
        except self._driver_unavailable as exc:
            raw.invalidate()
            raise StoreUnavailable(f"store unreachable: {exc}") from exc
        finally:
            raw.close()  # back to the pool (or gone, when invalidated)

    def release_holds(self, decision_id: str) -> dict[WindowKey, Totals]:
        with self._cursor(synchronous=False) as cur:
            deltas = ledger_sql.release(cur, self._ledger, (decision_id,))
            return ledger_sql.apply_deltas(cur, self._ledger, deltas)

    def sweep_holds(self, now_us: int, limit: int = 500) -> tuple[int, dict[WindowKey, Totals]]:
        with self._cursor() as cur:
            return ledger_sql.sweep(cur, self._ledger, now_us, limit)

    def budget_totals(self, keys: Sequence[WindowKey]) -> dict[WindowKey, Totals]:
        """Totals of the given windows (absent windows are empty)."""
        if not keys:
            return {}
        w = budget_windows.c
        with self._connect() as conn:
            rows = conn.execute(sa.select(w.budget_id, w.window_key, w.spent, w.held,
                                          w.tokens_spent, w.tokens_held).where(
                sa.tuple_(w.budget_id, w.window_key).in_(list(set(keys))))).all()
        found = {(r[0], r[1]): Totals(*map(int, r[2:])) for r in rows}
        return {k: found.get(k, Totals()) for k in keys}

    def ledger_sums(self) -> dict[WindowKey, Totals]:
        """Totals recomputed from the ledger rows (charges and open holds): an audit of
        ``budget_windows``, which must equal this."""
        c, h = budget_charges.c, budget_holds.c
        out: dict[WindowKey, Totals] = {}
        with self._connect() as conn:
            for r in conn.execute(sa.select(c.budget_id, c.window_key, sa.func.sum(c.amount),
                                            sa.func.sum(c.tokens))
                                  .group_by(c.budget_id, c.window_key)):
                out[(r[0], r[1])] = Totals(spent=int(r[2]), tokens_spent=int(r[3]))
            for r in conn.execute(sa.select(h.budget_id, h.window_key, sa.func.sum(h.amount),
                                            sa.func.sum(h.tokens))
                                  .group_by(h.budget_id, h.window_key)):
                out[(r[0], r[1])] = out.get((r[0], r[1]), Totals()).plus(
                    held=int(r[2]), tokens_held=int(r[3]))
            windows = {(r[0], r[1]): Totals(*map(int, r[2:])) for r in conn.execute(
                sa.select(budget_windows.c.budget_id, budget_windows.c.window_key,
                          budget_windows.c.spent, budget_windows.c.held,
                          budget_windows.c.tokens_spent, budget_windows.c.tokens_held))}
        return {k: out.get(k, Totals()) for k in set(out) | set(windows)}

    def window_rows(self) -> dict[WindowKey, Totals]:
        w = budget_windows.c
        with self._connect() as conn:
            return {(r[0], r[1]): Totals(*map(int, r[2:])) for r in conn.execute(
                sa.select(w.budget_id, w.window_key, w.spent, w.held, w.tokens_spent,
                          w.tokens_held))}

    def load_budget_rules(self) -> list[tuple[str, str]]:
        with self._connect() as conn:
            return [(r.id, r.spec) for r in conn.execute(
                sa.select(budget_rules).order_by(budget_rules.c.id))]

    def put_budget_rule(self, budget_id: str, spec: str, now_us: int) -> None:
        stmt = self._insert(budget_rules).values(id=budget_id, spec=spec, updated_us=now_us)
        with self._connect(write=True) as conn:
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["id"], set_={"spec": stmt.excluded.spec,
                                             "updated_us": stmt.excluded.updated_us}))

    def delete_budget_rule(self, budget_id: str) -> bool:
        with self._connect(write=True) as conn:
            return conn.execute(sa.delete(budget_rules).where(
                budget_rules.c.id == budget_id)).rowcount > 0

    def load_pauses(self) -> list[PausedRow]:
        with self._connect() as conn:
            return [PausedRow(r.scope_key, r.scope, r.reason, r.paused_us)
                    for r in conn.execute(sa.select(paused_scopes))]

    def put_pause(self, row: PausedRow) -> None:
        stmt = self._insert(paused_scopes).values(scope_key=row.scope_key, scope=row.scope,
                                                  reason=row.reason, paused_us=row.paused_us)
        with self._connect(write=True) as conn:
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["scope_key"], set_={"reason": stmt.excluded.reason,
                                                    "paused_us": stmt.excluded.paused_us}))

    def delete_pause(self, scope_key: str) -> bool:
        with self._connect(write=True) as conn:
            return conn.execute(sa.delete(paused_scopes).where(
                paused_scopes.c.scope_key == scope_key)).rowcount > 0

    # -- Spend reports -------------------------------------------------------------------------

    def spend_rows(self, query: SpendQuery) -> list[tuple[dict[str, str], int | None,
                                                          dict[str, int | float]]]:
        """Usage summed per the query's keys (and per hour, or per quarter hour from the raw
        ledger, when it buckets by time): the hourly rollup when it can answer, else the raw
        ledger. One GROUP BY either way."""
        keys = [k for k in (*query.sql_keys(), *query.filters) if k != "cost_kind"]
        keys = list(dict.fromkeys(keys))
        source = query.source()
        bucketed = query.bucket is not Bucket.NONE
        if source is Source.RAW:
            table, time_col = usages, usages.c.recorded_us
            step = 900_000_000 if bucketed else None  # quarter hours nest in every zone's days
            sums = _raw_sums(usages.c)
        else:
            table = usage_hourly if source is Source.HOURLY else usage_daily
            time_col = table.c.hour_us if source is Source.HOURLY else table.c.day_us
            step = (3_600_000_000 if source is Source.HOURLY else 86_400_000_000) \
                if bucketed else None
            sums = [sa.func.sum(table.c[m]).label(m) for m in MEASURES]
        columns = [table.c[_COLUMN.get(k, k)].label(k) for k in keys]
        time_key = None
        if step:
            starts = bucket_starts(query) if query.bucket is not Bucket.HOUR else None
            if starts is not None and len(starts) <= 2_000:
                # each row straight into its local day/week/month: the database returns the
                # final groups, not one row per hour for Python to fold
                time_key = sa.case(*((time_col < end, start) for start, end in
                                     itertools.pairwise([*starts, query.end_us])
                                     if end > start), else_=starts[-1]).label("at")
            else:
                time_key = (time_col - time_col % step).label("at")
        stmt = sa.select(*columns, *([time_key] if time_key is not None else []), *sums).where(
            time_col >= query.start_us, time_col < query.end_us)
        for k, v in query.filters.items():
            if k != "cost_kind":
                stmt = stmt.where(table.c[_COLUMN.get(k, k)] == v)
        for k, v in sorted(query.labels.items()):
            stmt = stmt.where(usages.c.labels.contains(json.dumps({k: v})[1:-1],
                                                       autoescape=True))
        stmt = stmt.group_by(*columns, *([time_key] if time_key is not None else []))
        with self._connect() as conn:
            try:
                rows = conn.execute(stmt).all()
            except sa.exc.OperationalError as exc:
                if "integer overflow" in str(exc.orig):
                    raise PreconditionFailed("spend totals exceed int64 nanos; narrow the "
                                             "query") from exc
                raise
        out = []
        for r in rows:
            m = r._mapping
            out.append(({k: m[k] for k in keys}, m["at"] if step else None,
                        {k: (float(m[k] or 0) if k == "abs_error_ratio_sum" else int(m[k] or 0))
                         for k in MEASURES}))
        return out

    # -- Anomalies -----------------------------------------------------------------------------

    def anomaly_inputs(self, since_us: int, until_us: int, tasks_since_us: int
                       ) -> tuple[list[Series], list[Series], list[TaskCount]]:
        """What the detectors read: hourly series per agent and per team over [since, until)
        (from the rollup), and calls per task_id over [tasks_since, until) (from the ledger)."""
        h, u = usage_hourly.c, usages.c
        sums = (sa.func.sum(h.calls), sa.func.sum(h.cost_total), sa.func.sum(h.predicted_cost),
                sa.func.sum(h.predicted_calls), sa.func.sum(h.actual_of_predicted),
                sa.func.sum(h.failures))
        window = sa.and_(h.hour_us >= since_us, h.hour_us < until_us)
        with self._connect() as conn:
            first_seen = {(r[0], r[1]): int(r[2]) for r in conn.execute(
                sa.select(h.team, h.agent, sa.func.min(h.hour_us)).group_by(h.team, h.agent))}
            agent_rows = conn.execute(
                sa.select(h.team, h.agent, h.hour_us, *sums).where(window, h.agent != "")
                .group_by(h.team, h.agent, h.hour_us).order_by(h.team, h.agent, h.hour_us)).all()
            team_rows = conn.execute(
                sa.select(h.team, sa.literal(""), h.hour_us, *sums).where(window, h.team != "")
                .group_by(h.team, h.hour_us).order_by(h.team, h.hour_us)).all()
            tasks = [TaskCount(r[0], r[1], r[2], r[3], int(r[4]), int(r[5] or 0), int(r[6]),
                               int(r[7])) for r in conn.execute(
                sa.select(u.task_id, u.task_type, u.team, u.agent, sa.func.count(),
                          sa.func.sum(sa.case((u.outcome == int(Outcome.FAILURE), 1),
                                              else_=0)),
                          sa.func.min(u.recorded_us), sa.func.max(u.recorded_us))
                .where(u.recorded_us >= tasks_since_us, u.recorded_us < until_us,
                       u.task_id != "")
                .group_by(u.task_id, u.task_type, u.team, u.agent))]
        team_first = {}
        for (team, _), first in first_seen.items():
            team_first[team] = min(first, team_first.get(team, first))
        return (_series(agent_rows, lambda t, a: first_seen.get((t, a), since_us)),
                _series(team_rows, lambda t, _: team_first.get(t, since_us)), tasks)

    def save_anomalies(self, found: Sequence[Anomaly], now_us: int) -> list[Anomaly]:
        """Store anomalies not seen before (by key); returns those that are new."""
        if not found:
            return []
        new: list[Anomaly] = []
        with self._connect(write=True) as conn:
            for a in sorted(found, key=lambda a: a.key()):
                inserted = conn.execute(self._insert(anomalies).values(
                    key=a.key(), kind=a.kind.value, team=a.team, agent=a.agent,
                    task_id=a.task_id, window_start_us=a.window_start_us,
                    window_end_us=a.window_end_us, observed=float(a.observed),
                    baseline=float(a.baseline), message=a.message,
                    evidence=json.dumps(dict(a.evidence), sort_keys=True, default=str),
                    detected_us=now_us).on_conflict_do_nothing()).rowcount
                if inserted:
                    new.append(a)
        return new

    def list_anomalies(self, since_us: int | None = None, kinds: Sequence[str] = (),
                       limit: int = 1000) -> list[tuple[Anomaly, int]]:
        """Stored anomalies, newest first, with when each was detected."""
        a = anomalies.c
        stmt = sa.select(anomalies).order_by(a.detected_us.desc(), a.key).limit(limit)
        if since_us is not None:
            stmt = stmt.where(a.detected_us >= since_us)
        if kinds:
            stmt = stmt.where(a.kind.in_(list(kinds)))
        with self._connect() as conn:
            return [(Anomaly(Kind(r.kind), r.team, r.agent, r.task_id, r.window_start_us,
                             r.window_end_us, r.observed, r.baseline, r.message,
                             json.loads(r.evidence)), r.detected_us)
                    for r in conn.execute(stmt)]

    def load_calibration(self) -> list[Factor]:
        with self._connect() as conn:
            return [Factor(r.model, r.task_type, r.agent, r.log_factor, r.count, r.updated_us)
                    for r in conn.execute(sa.select(calibration))]

    def close(self) -> None:
        for raw in self._raw_connections:
            with contextlib.suppress(Exception):  # closing a broken connection: best effort
                raw.invalidate()
        self._raw_connections.clear()
        self.engine.dispose()
        if self._fast_engine is not None:
            self._fast_engine.dispose()


_COLUMN = {"user": "user_name"}


def _raw_sums(u: Any) -> list[Any]:
    """The rollup's measures computed from raw usage rows (same definitions as ``_roll_up``)."""
    predicted = u.predicted_cost.isnot(None)
    one = sa.literal(1)
    zero = sa.literal(0)
    return [
        sa.func.count().label("calls"),
        *(sa.func.sum(u[c]).label(c) for c in (
            "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens",
            "cost_tokens", "cost_tools", "cost_compute")),
        sa.func.sum(u.cost_review).label("cost_review"),
        sa.func.sum(u.cost_total).label("cost_total"),
        sa.func.sum(sa.func.coalesce(u.predicted_cost, 0)).label("predicted_cost"),
        sa.func.sum(sa.case((predicted, one), else_=zero)).label("predicted_calls"),
        sa.func.sum(sa.case((predicted, u.cost_tokens), else_=zero)).label(
            "actual_of_predicted"),
        sa.func.sum(sa.case((sa.and_(predicted, u.predicted_cost != 0),
                             sa.func.abs(u.cost_tokens - u.predicted_cost) * 1.0
                             / u.predicted_cost), else_=sa.literal(0.0))).label(
            "abs_error_ratio_sum"),
        sa.func.sum(sa.case((u.outcome == int(Outcome.FAILURE), one), else_=zero)).label(
            "failures"),
        sa.func.sum(sa.case((u.review_ms > 0, one), else_=zero)).label("review_calls"),
        sa.func.sum(u.review_ms).label("review_ms"),
        sa.func.sum(u.tool_calls).label("tool_calls"),
        sa.func.sum(u.compute_ms).label("compute_ms"),
    ]


def _accumulate(acc: list[Any], u: UsageRecord) -> None:
    """Add one usage to a rollup row's sums (the order of _ROLLUP_SUMS, then the error sum)."""
    t, c, predicted = u.tokens, u.cost, u.predicted_cost
    for i, v in enumerate((
            1, t.input, t.cached_input, t.output, t.reasoning, c.tokens, c.tools, c.compute,
            c.human_review, c.total, predicted or 0, predicted is not None,
            c.tokens if predicted is not None else 0, u.outcome == Outcome.FAILURE,
            u.review_ms > 0, u.review_ms, u.tool_calls, u.compute_ms), start=1):
        acc[i] += int(v)
    if predicted:
        acc[-1] += abs(c.tokens - predicted) / predicted


def _series(rows: Sequence[Any], first_seen: Callable[[str, str], int]) -> list[Series]:
    """Group (team, agent, hour, sums...) rows, sorted by key and hour, into series."""
    out: list[Series] = []
    for (team, agent), group in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
        buckets = tuple(HourBucket(int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]),
                                   int(r[7]), int(r[8])) for r in group)
        out.append(Series(team, agent, first_seen(team, agent), buckets))
    return out


def _keys_row(a: Attribution) -> dict[str, Any]:
    return {"team": a.team, "agent": a.agent, "task_id": a.task_id, "task_type": a.task_type,
            "user_name": a.user, "labels": json.dumps(dict(a.labels), sort_keys=True)}


def _attribution(row: Any) -> Attribution:
    return Attribution(team=row.team, agent=row.agent, task_id=row.task_id,
                       task_type=row.task_type, user=row.user_name, labels=json.loads(row.labels))


def _decision_row(d: DecisionRecord) -> dict[str, Any]:
    return {
        **_keys_row(d.attribution),
        "decision_id": d.decision_id, "request_id": d.request_id,
        "request_hash": d.request_hash, "created_us": d.created_us, "model": d.model,
        "provider": d.provider, "complexity_label": d.complexity_label,
        "complexity_score": d.complexity_score, "quality_target": d.quality_target,
        "predicted_quality": d.predicted_quality, "input_tokens": d.input_tokens,
        "output_tokens": d.output_tokens, "predicted_cost": d.predicted_cost,
        "currency": d.currency, "reason_code": d.reason_code,
        "reason_message": d.reason_message, "fallbacks": json.dumps(list(d.fallbacks)),
        "candidates": json.dumps(d.candidates),  # named tuples: compact JSON arrays
        "classifier_version": d.classifier_version,
    }


def _decision_record(r: Any) -> DecisionRecord:
    return DecisionRecord(
        decision_id=r.decision_id, request_id=r.request_id, request_hash=r.request_hash,
        created_us=r.created_us, attribution=_attribution(r), model=r.model,
        provider=r.provider, complexity_label=r.complexity_label,
        complexity_score=r.complexity_score, quality_target=r.quality_target,
        predicted_quality=r.predicted_quality, input_tokens=r.input_tokens,
        output_tokens=r.output_tokens, predicted_cost=r.predicted_cost, currency=r.currency,
        reason_code=r.reason_code, reason_message=r.reason_message,
        fallbacks=tuple(json.loads(r.fallbacks)),
        candidates=tuple(CandidateRecord(*c) for c in json.loads(r.candidates)),
        classifier_version=r.classifier_version,
    )


def _usage_row(u: UsageRecord) -> dict[str, Any]:
    return {
        **_keys_row(u.attribution),
        "usage_id": u.usage_id, "payload_hash": u.payload_hash, "decision_id": u.decision_id,
        "recorded_us": u.recorded_us, "model": u.model, "provider": u.provider,
        "input_tokens": u.tokens.input, "cached_input_tokens": u.tokens.cached_input,
        "output_tokens": u.tokens.output, "reasoning_tokens": u.tokens.reasoning,
        "tool_calls": u.tool_calls, "compute_ms": u.compute_ms, "review_ms": u.review_ms,
        "outcome": int(u.outcome), "latency_ms": u.latency_ms,
        "cost_tokens": u.cost.tokens, "cost_tools": u.cost.tools,
        "cost_compute": u.cost.compute, "cost_review": u.cost.human_review,
        "cost_total": u.cost.total, "currency": u.currency,
        "predicted_cost": u.predicted_cost, "predicted_output_tokens": u.predicted_output_tokens,
    }


def _usage_record(r: Any) -> UsageRecord:
    return UsageRecord(
        usage_id=r.usage_id, payload_hash=r.payload_hash, decision_id=r.decision_id,
        recorded_us=r.recorded_us, attribution=_attribution(r), model=r.model,
        provider=r.provider,
        tokens=TokenCounts(r.input_tokens, r.cached_input_tokens, r.output_tokens,
                           r.reasoning_tokens),
        tool_calls=r.tool_calls, compute_ms=r.compute_ms, review_ms=r.review_ms,
        outcome=Outcome(r.outcome), latency_ms=r.latency_ms,
        cost=CostBreakdown(r.cost_tokens, r.cost_tools, r.cost_compute, r.cost_review),
        currency=r.currency, predicted_cost=r.predicted_cost,
        predicted_output_tokens=r.predicted_output_tokens,
    )
