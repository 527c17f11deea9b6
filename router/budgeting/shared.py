"""Holds in the shared database: replicas enforce the same limits exactly.

A short-lived cache of totals feeds only the ladder's soft thresholds (alert, downgrade,
throttle); room is always decided by the database, in the statement that holds.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from router.budgeting.ledger import DEFAULT_ABANDON_S, hold_of
from router.core.budgets import BudgetRule, BudgetStatus, Totals, window_of
from router.store.base import BudgetStore, HoldRefused, UsageWrite, WindowKey

MAX_CACHED_WINDOWS = 100_000


class SharedLedger:
    """Holds in the shared database; replicas enforce the same limits exactly."""

    def __init__(self, store: BudgetStore, cache_us: int = 250_000,
                 abandon_s: int = DEFAULT_ABANDON_S) -> None:
        if not store.holds_in_sql:
            raise ValueError("this store keeps budget holds in the process: use LocalLedger")
        self._store = store  # settlement there releases the holds it keeps
        self._abandon_s = abandon_s
        self._cache_us = cache_us
        self._lock = threading.Lock()
        self._cache: dict[WindowKey, tuple[Totals, int]] = {}
        # the last totals read, kept when the cache drops them (for gauges, never for room)
        self._last: dict[WindowKey, Totals] = {}

    def _remember(self, totals: dict[WindowKey, Totals], now_us: int) -> None:
        with self._lock:
            if len(self._cache) > MAX_CACHED_WINDOWS:
                self._cache.clear()
            if len(self._last) > MAX_CACHED_WINDOWS:
                self._last.clear()
            for key, t in totals.items():
                self._cache[key] = (t, now_us)
                self._last[key] = t

    def statuses(self, rules: Sequence[BudgetRule], now_us: int,
                 fresh: bool = False) -> list[BudgetStatus]:
        windows = [(r, window_of(r, now_us)) for r in rules]
        with self._lock:
            cached = {(r.id, w.key): self._cache.get((r.id, w.key)) for r, w in windows}
        stale = [k for k, v in cached.items() if fresh or v is None or now_us - v[1] >
                 self._cache_us]
        totals = {k: v[0] for k, v in cached.items() if v is not None}
        if stale:
            loaded = self._store.budget_totals(stale)
            self._remember(loaded, now_us)
            totals.update(loaded)
        return [BudgetStatus(r, w, totals[(r.id, w.key)]) for r, w in windows]

    def hold(self, decision_id: str, statuses: Sequence[BudgetStatus], amount: int,
             tokens: int, now_us: int) -> list[BudgetStatus]:
        try:
            after = self._store.place_holds(decision_id, [
                (hold_of(s, amount, tokens, now_us, self._abandon_s), s.rule.limit,
                 s.rule.limit_tokens) for s in statuses])
        except HoldRefused:
            with self._lock:
                for s in statuses:
                    self._cache.pop((s.rule.id, s.window.key), None)
            raise
        self._remember(after, now_us)
        return [BudgetStatus(s.rule, s.window, after[(s.rule.id, s.window.key)])
                for s in statuses]

    def release(self, decision_id: str) -> None:
        released = self._store.release_holds(decision_id)
        with self._lock:
            for key in released:
                self._cache.pop(key, None)

    def on_commit(self, writes: list[UsageWrite]) -> None:
        # settlement changed the windows' totals; the next Route re-reads the ones it needs
        with self._lock:
            for w in writes:
                for key, t in w.budgets.items():
                    self._cache.pop(key, None)
                    self._last[key] = t

    def peek(self, key: WindowKey) -> Totals | None:
        with self._lock:
            return self._last.get(key)

    def sweep(self, now_us: int) -> int:
        n, after = self._store.sweep_holds(now_us)
        self._remember(after, now_us)
        return n

