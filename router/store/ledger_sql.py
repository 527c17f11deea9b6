"""The budget ledger in SQL: holds, charges and window totals, on a DBAPI cursor.

Every change to ``budget_windows`` happens in the transaction that writes (or deletes) the ledger
rows it sums, so totals and ledger never disagree. Rows are touched in key order so replicas
sharing PostgreSQL take their row locks in the same order and cannot deadlock. Admission is one
conditional ``UPDATE ... WHERE spent + held + amount <= limit`` per budget: the database, not a
process, decides whether there is room, so any number of replicas enforce the same limit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from router.core.budgets import Charge, Hold, Totals
from router.store.base import HoldRefused, WindowKey


class LedgerSql:
    """SQL text for one dialect (``?`` or ``%s`` placeholders), built once."""

    def __init__(self, mark: str) -> None:
        self.mark = m = mark
        self.ensure_window = (f"INSERT INTO budget_windows (budget_id, window_key, spent, held, "
                              f"tokens_spent, tokens_held) VALUES ({m}, {m}, 0, 0, 0, 0) "
                              "ON CONFLICT DO NOTHING")
        self.add = (
            "INSERT INTO budget_windows (budget_id, window_key, spent, held, tokens_spent, "
            f"tokens_held) VALUES ({m}, {m}, {m}, {m}, {m}, {m}) "
            "ON CONFLICT (budget_id, window_key) DO UPDATE SET "
            "spent = budget_windows.spent + excluded.spent, "
            "held = budget_windows.held + excluded.held, "
            "tokens_spent = budget_windows.tokens_spent + excluded.tokens_spent, "
            "tokens_held = budget_windows.tokens_held + excluded.tokens_held "
            "RETURNING spent, held, tokens_spent, tokens_held")
        self.insert_hold = (
            "INSERT INTO budget_holds (decision_id, budget_id, window_key, amount, tokens, "
            f"expires_us) VALUES ({m}, {m}, {m}, {m}, {m}, {m})")
        self.insert_charge = (
            "INSERT INTO budget_charges (usage_id, budget_id, window_key, amount, tokens, "
            f"recorded_us) VALUES ({m}, {m}, {m}, {m}, {m}, {m}) ON CONFLICT DO NOTHING")
        self._release: dict[int, str] = {}
        self._hold: dict[int, str] = {}
        self.expired = (f"SELECT DISTINCT decision_id FROM budget_holds WHERE expires_us <= {m} "
                        f"ORDER BY decision_id LIMIT {m}")
        self.release_expired = (
            f"DELETE FROM budget_holds WHERE decision_id = {m} AND expires_us <= {m} "
            "RETURNING budget_id, window_key, amount, tokens")
        self._take: dict[tuple[bool, bool], str] = {}

    def hold_in_one_statement(self, n: int) -> str:
        """PostgreSQL: the whole all-or-nothing hold on ``n`` windows as one statement, so a
        hot budget's row is locked only while the server runs it, never across a round trip
        or a client thread's scheduling. ``locked`` takes the rows in key order and sees their
        latest committed values; the UPDATE and the INSERT run only if every row has room."""
        if n not in self._hold:
            row = "(%s::text, %s::text, %s::bigint, %s::bigint, %s::bigint, %s::bigint, " \
                  "%s::bigint)"
            self._hold[n] = f"""
WITH req (budget_id, window_key, amount, tokens, lim, lim_tokens, expires_us) AS (
    VALUES {", ".join([row] * n)}),
locked AS (
    SELECT w.budget_id, w.window_key, w.spent, w.held, w.tokens_spent, w.tokens_held
    FROM budget_windows w JOIN req r USING (budget_id, window_key)
    ORDER BY w.budget_id, w.window_key FOR UPDATE OF w),
ok AS (
    SELECT count(*) = {n} AND coalesce(bool_and(
        (r.lim IS NULL OR l.spent + l.held + r.amount <= r.lim) AND
        (r.lim_tokens IS NULL OR l.tokens_spent + l.tokens_held + r.tokens <= r.lim_tokens)),
        false) AS fits
    FROM locked l JOIN req r USING (budget_id, window_key)),
upd AS (
    UPDATE budget_windows w SET held = w.held + r.amount, tokens_held = w.tokens_held + r.tokens
    FROM req r, ok
    WHERE ok.fits AND w.budget_id = r.budget_id AND w.window_key = r.window_key
    RETURNING w.budget_id, w.window_key, w.spent, w.held, w.tokens_spent, w.tokens_held),
ins AS (
    INSERT INTO budget_holds (decision_id, budget_id, window_key, amount, tokens, expires_us)
    SELECT %s, r.budget_id, r.window_key, r.amount, r.tokens, r.expires_us FROM req r, ok
    WHERE ok.fits)
SELECT true, budget_id, window_key, spent, held, tokens_spent, tokens_held FROM upd
UNION ALL
SELECT false, budget_id, window_key, spent, held, tokens_spent, tokens_held FROM locked
"""
        return self._hold[n]

    def release(self, n: int) -> str:
        """Delete the open holds of ``n`` decisions (PostgreSQL walks the primary key in order,
        so concurrent releases lock rows in the same order)."""
        if n not in self._release:
            marks = ", ".join([self.mark] * n)
            self._release[n] = (f"DELETE FROM budget_holds WHERE decision_id IN ({marks}) "
                                "RETURNING budget_id, window_key, amount, tokens")
        return self._release[n]

    def take(self, money: bool, tokens: bool) -> str:
        """The conditional hold: adds to ``held`` only if the limits still have room."""
        key = (money, tokens)
        if key not in self._take:
            m = self.mark
            where = [f"budget_id = {m}", f"window_key = {m}"]
            if money:
                where.append(f"spent + held + {m} <= {m}")
            if tokens:
                where.append(f"tokens_spent + tokens_held + {m} <= {m}")
            self._take[key] = (
                f"UPDATE budget_windows SET held = held + {m}, tokens_held = tokens_held + {m} "
                f"WHERE {' AND '.join(where)} RETURNING spent, held, tokens_spent, tokens_held")
        return self._take[key]


def _totals(row: Sequence[Any]) -> Totals:
    return Totals(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def place_holds(cur: Any, sql: LedgerSql, decision_id: str,
                holds: Sequence[tuple[Hold, int | None, int | None]]) -> dict[WindowKey, Totals]:
    """Hold on every window or raise HoldRefused; the caller commits or rolls back."""
    ordered = sorted(holds, key=lambda h: (h[0].budget_id, h[0].window_key))
    after: dict[WindowKey, Totals] = {}
    for hold, limit, limit_tokens in ordered:
        params: list[Any] = [hold.amount, hold.tokens, hold.budget_id, hold.window_key]
        if limit is not None:
            params += [hold.amount, limit]
        if limit_tokens is not None:
            params += [hold.tokens, limit_tokens]
        take = sql.take(limit is not None, limit_tokens is not None)
        cur.execute(take, params)
        row = cur.fetchone()
        if row is None:  # no room, or the window's first call: create the row and try again
            cur.execute(sql.ensure_window, (hold.budget_id, hold.window_key))
            if cur.rowcount == 1:
                cur.execute(take, params)
                row = cur.fetchone()
        if row is None:
            raise HoldRefused(hold.budget_id)
        after[(hold.budget_id, hold.window_key)] = _totals(row)
    cur.executemany(sql.insert_hold, [(decision_id, h.budget_id, h.window_key, h.amount,
                                       h.tokens, h.expires_us) for h, _, _ in ordered])
    return after


def place_holds_pg(cur: Any, sql: LedgerSql, decision_id: str,
                   holds: Sequence[tuple[Hold, int | None, int | None]]
                   ) -> dict[WindowKey, Totals]:
    """``place_holds`` as one statement (PostgreSQL); the caller commits (or runs autocommit)."""
    ordered = sorted(holds, key=lambda h: (h[0].budget_id, h[0].window_key))
    params: list[Any] = []
    for hold, limit, limit_tokens in ordered:
        params += [hold.budget_id, hold.window_key, hold.amount, hold.tokens, limit,
                   limit_tokens, hold.expires_us]
    statement = sql.hold_in_one_statement(len(ordered))
    for attempt in range(2):
        cur.execute(statement, [*params, decision_id])
        rows = cur.fetchall()
        held = {(r[1], r[2]): _totals(r[3:]) for r in rows if r[0]}
        if held:
            return held
        before = {(r[1], r[2]): _totals(r[3:]) for r in rows}
        missing = [h for h, _, _ in ordered if (h.budget_id, h.window_key) not in before]
        if not missing or attempt:
            for hold, limit, limit_tokens in ordered:  # name the first without room
                t = before.get((hold.budget_id, hold.window_key), Totals())
                if (limit is not None and t.spent + t.held + hold.amount > limit) or (
                        limit_tokens is not None
                        and t.tokens_spent + t.tokens_held + hold.tokens > limit_tokens):
                    raise HoldRefused(hold.budget_id)
            raise HoldRefused(ordered[0][0].budget_id)
        for hold in missing:  # a window's first call creates its row, then tries again
            cur.execute(sql.ensure_window, (hold.budget_id, hold.window_key))
    raise AssertionError("unreachable")


def apply_deltas(cur: Any, sql: LedgerSql, deltas: dict[WindowKey, list[int]]
                 ) -> dict[WindowKey, Totals]:
    """Add [spent, held, tokens_spent, tokens_held] deltas to each window, in key order."""
    after: dict[WindowKey, Totals] = {}
    for key in sorted(deltas):
        cur.execute(sql.add, (*key, *deltas[key]))
        after[key] = _totals(cur.fetchone())
    return after


def _released(rows: Iterable[Sequence[Any]], deltas: dict[WindowKey, list[int]]) -> int:
    n = 0
    for budget_id, window_key, amount, tokens in rows:
        d = deltas[(budget_id, window_key)]
        d[1] -= int(amount)
        d[3] -= int(tokens)
        n += 1
    return n


def release(cur: Any, sql: LedgerSql, decision_ids: Iterable[str],
            deltas: dict[WindowKey, list[int]] | None = None) -> dict[WindowKey, list[int]]:
    """Delete the decisions' open holds, adding their release to ``deltas``."""
    deltas = deltas if deltas is not None else defaultdict(lambda: [0, 0, 0, 0])
    ids = sorted(set(decision_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        cur.execute(sql.release(len(chunk)), chunk)
        _released(cur.fetchall(), deltas)
    return deltas


def settle(cur: Any, sql: LedgerSql, usages: Sequence[tuple[str, str | None, int,
                                                         Sequence[Charge]]],
           holds_in_sql: bool = True) -> dict[WindowKey, Totals]:
    """For newly recorded usages (usage_id, decision_id, recorded_us, charges): release their
    decisions' holds (when holds are kept here) and write their charges; returns the totals of
    every window touched."""
    deltas: dict[WindowKey, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    if holds_in_sql:
        release(cur, sql, (d for _, d, _, _ in usages if d), deltas)
    rows = []
    for usage_id, _, recorded_us, charges in usages:
        for c in charges:
            rows.append((usage_id, c.budget_id, c.window_key, c.amount, c.tokens, recorded_us))
            d = deltas[(c.budget_id, c.window_key)]
            d[0] += c.amount
            d[2] += c.tokens
    if rows:
        cur.executemany(sql.insert_charge, sorted(rows))
    return apply_deltas(cur, sql, deltas) if deltas else {}


def sweep(cur: Any, sql: LedgerSql, now_us: int, limit: int) -> tuple[int, dict[WindowKey,
                                                                             Totals]]:
    """Release up to ``limit`` holds whose TTL has passed."""
    deltas: dict[WindowKey, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    cur.execute(sql.expired, (now_us, limit))
    n = 0
    # one decision at a time, in id order: the order settlement takes hold rows in
    for (decision_id,) in cur.fetchall():
        cur.execute(sql.release_expired, (decision_id, now_us))
        n += _released(cur.fetchall(), deltas)
    return n, apply_deltas(cur, sql, deltas) if deltas else {}
