"""The budget ledger's store side: holds, totals, audits, and the API's budgets and pauses.

The SQL text and the cursor-level steps live in ``router.store.ledger_sql``; this mixin picks the
connection each step runs on (PostgreSQL holds on the autocommit, async-commit pool).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from router.core.budgets import Hold, Totals
from router.core.errors import PreconditionFailed
from router.store import ledger_sql
from router.store.base import PausedRow
from router.store.engine import SqlBase
from router.store.ledger_sql import WindowKey
from router.store.tables import (
    budget_charges,
    budget_holds,
    budget_rules,
    budget_windows,
    paused_scopes,
)


class SqlBudgets(SqlBase):
    """Budget windows, holds and charges; API-managed rules and paused scopes."""

    def place_holds(self, decision_id: str,
                    holds: Sequence[tuple[Hold, int | None, int | None]]
                    ) -> dict[WindowKey, Totals]:
        """Hold (hold, limit, limit_tokens) on every window atomically, each only if its limits
        have room; HoldRefused (nothing written) otherwise. Returns the totals after."""
        if self.dialect == "postgresql":
            return self._fast(lambda cur: ledger_sql.place_holds_pg(cur, self._ledger,
                                                                    decision_id, holds))
        try:
            with self._cursor(synchronous=False) as cur:
                return ledger_sql.place_holds(cur, self._ledger, decision_id, holds)
        except sa.exc.IntegrityError as exc:  # the same decision held twice: a bug upstream
            raise PreconditionFailed(f"decision {decision_id} already holds budget") from exc

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
