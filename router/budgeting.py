"""Budgets at run time: the rules in force, paused scopes, and the ledger that holds and settles.

Two ledgers sit behind one interface, chosen by the store:

- ``LocalLedger`` (the embedded SQLite default; one process owns the file). Holds live in memory
  and are admitted under one lock, so admission costs microseconds and is exact. Spend comes from
  the store, where every usage settles in the transaction that records it. A restart forgets open
  holds; the calls they covered are still charged when reported.
- ``SharedLedger`` (PostgreSQL shared by replicas). Every hold is one transaction of conditional
  ``UPDATE``s in the database (``router.store.ledger_sql``), so replicas cannot overshoot
  together. A short-lived cache of totals feeds only the ladder's soft thresholds; room is always
  decided by the database.
"""

from __future__ import annotations

import heapq
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import structlog

from router.core.budgets import (
    BudgetError,
    BudgetRule,
    BudgetStatus,
    Hold,
    Scope,
    Totals,
    load_budgets,
    rule_from_mapping,
    rule_to_mapping,
    window_of,
)
from router.core.errors import NotFound, PreconditionFailed
from router.core.ratelimit import TokenBucket
from router.core.records import Attribution
from router.store.base import PausedRow, Store, UsageWrite
from router.store.ledger_sql import HoldRefused, WindowKey

log = structlog.get_logger("router.budgets")
_US = 1_000_000

__all__ = ["BudgetBook", "HoldRefused", "Ledger", "LocalLedger", "SharedLedger", "Throttle"]


# -- Rules and pauses ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pause:
    scope: Scope
    reason: str
    paused_us: int


class BudgetBook:
    """The budgets in force: the file's (policies as code, read-only over the API) and the
    API's (in the store, shared by replicas), plus paused scopes. Readers get an immutable
    snapshot; writers swap it."""

    def __init__(self, store: Store, path: str | None = None) -> None:
        self._store = store
        self._path = Path(path) if path else None
        self._file_mtime: float | None = None
        self._file: tuple[BudgetRule, ...] = ()
        self._api: dict[str, BudgetRule] = {}
        self._pauses: dict[str, Pause] = {}
        self._lock = threading.Lock()
        self.rules: tuple[BudgetRule, ...] = ()
        if self._path is not None:
            self._file = load_budgets(self._path)  # a bad file fails start-up, naming the line
            self._file_mtime = self._path.stat().st_mtime
        self.refresh()

    @property
    def active(self) -> bool:
        """Does any budget or pause exist (else Route skips the ladder entirely)?"""
        return bool(self.rules or self._pauses)

    @property
    def file_ids(self) -> frozenset[str]:
        return frozenset(r.id for r in self._file)

    def _rebuild(self) -> None:
        file_ids = self.file_ids
        self.rules = self._file + tuple(r for i, r in sorted(self._api.items())
                                        if i not in file_ids)

    def refresh(self) -> None:
        """Re-read the API's budgets and the pauses from the store (other replicas' changes)."""
        api: dict[str, BudgetRule] = {}
        for budget_id, spec in self._store.load_budget_rules():
            try:
                api[budget_id] = rule_from_mapping(json.loads(spec))
            except (BudgetError, ValueError) as exc:
                log.error("budgets.bad_stored_rule", budget_id=budget_id, error=str(exc))
        pauses = {}
        for row in self._store.load_pauses():
            pauses[row.scope_key] = Pause(Scope(**json.loads(row.scope)), row.reason,
                                          row.paused_us)
        with self._lock:
            self._api, self._pauses = api, pauses
            self._rebuild()

    def reload_file(self, force: bool = False) -> bool:
        """Re-read the budgets file if it changed; a bad file is logged and the old rules kept."""
        if self._path is None:
            return False
        try:
            mtime = self._path.stat().st_mtime
            if not force and mtime == self._file_mtime:
                return False
            rules = load_budgets(self._path)
        except (BudgetError, OSError) as exc:
            log.error("budgets.reload_failed", path=str(self._path), error=str(exc))
            return False
        with self._lock:
            self._file, self._file_mtime = rules, mtime
            self._rebuild()
        log.info("budgets.reloaded", path=str(self._path), rules=len(rules))
        return True

    def get(self, budget_id: str) -> BudgetRule:
        for rule in self.rules:
            if rule.id == budget_id:
                return rule
        raise NotFound(f"budget {budget_id!r} not found")

    def is_from_file(self, budget_id: str) -> bool:
        return budget_id in self.file_ids

    def put(self, rule: BudgetRule, now_us: int) -> None:
        if self.is_from_file(rule.id):
            raise PreconditionFailed(f"budget {rule.id!r} is declared in the budgets file; "
                                     "change it there")
        self._store.put_budget_rule(rule.id, json.dumps(rule_to_mapping(rule)), now_us)
        with self._lock:
            self._api[rule.id] = rule
            self._rebuild()

    def delete(self, budget_id: str) -> None:
        if self.is_from_file(budget_id):
            raise PreconditionFailed(f"budget {budget_id!r} is declared in the budgets file; "
                                     "remove it there")
        if not self._store.delete_budget_rule(budget_id):
            raise NotFound(f"budget {budget_id!r} not found")
        with self._lock:
            self._api.pop(budget_id, None)
            self._rebuild()

    def pause(self, scope: Scope, reason: str, now_us: int) -> Pause:
        self._store.put_pause(PausedRow(scope.key(), json.dumps(scope.as_dict()), reason,
                                        now_us))
        pause = Pause(scope, reason, now_us)
        with self._lock:
            self._pauses[scope.key()] = pause
        return pause

    def resume(self, scope: Scope) -> bool:
        was = self._store.delete_pause(scope.key())
        with self._lock:
            was = self._pauses.pop(scope.key(), None) is not None or was
        return was

    def pauses(self) -> list[Pause]:
        return sorted(self._pauses.values(), key=lambda p: p.scope.key())

    def paused(self, keys: Attribution) -> tuple[Pause | None, frozenset[str]]:
        """The pause that stops this call (if any), and the models paused for it."""
        models: set[str] = set()
        for p in list(self._pauses.values()):
            if p.scope.model is None:
                if p.scope.matches(keys):
                    return p, frozenset()
            elif p.scope.matches(keys, p.scope.model):
                models.add(p.scope.model)
        return None, frozenset(models)


# -- Throttling ----------------------------------------------------------------------------------


class Throttle:
    """Token buckets per (budget, window) for budgets past their throttle threshold.

    Per process: N replicas admit up to N x the configured rate (documented); spend itself is
    never per process.
    """

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str, int], TokenBucket] = {}
        self._lock = threading.Lock()

    def wait(self, status: BudgetStatus, now_us: int) -> float:
        """Seconds until a call may go (0.0: go now, and the call is counted)."""
        per_minute = status.rule.throttle_per_minute or 0
        key = (status.rule.id, status.window.key, per_minute)
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) > 10_000:
                    self._buckets.clear()
                bucket = self._buckets[key] = TokenBucket.full(per_minute, now_us)
            return bucket.try_take(now_us)


# -- Ledgers -------------------------------------------------------------------------------------


class Ledger(Protocol):
    def statuses(self, rules: Sequence[BudgetRule], now_us: int,
                 fresh: bool = False) -> list[BudgetStatus]:
        """Each rule's current window with its totals."""

    def hold(self, decision_id: str, statuses: Sequence[BudgetStatus], amount: int,
             tokens: int, now_us: int) -> list[BudgetStatus]:
        """Hold on every status's window, all or none; HoldRefused names a budget without room.
        Returns the statuses after the hold."""

    def release(self, decision_id: str) -> None:
        """Give back a decision's holds (its Route failed after holding)."""

    def on_commit(self, writes: list[UsageWrite]) -> None:
        """Usage just settled in the store (its holds released, its charges added)."""

    def sweep(self, now_us: int) -> int:
        """Release holds whose TTL has passed; how many."""


def _hold_of(s: BudgetStatus, amount: int, tokens: int, now_us: int) -> Hold:
    return Hold(s.rule.id, s.window.key, amount, tokens, now_us + s.rule.hold_ttl_s * _US)


class LocalLedger:
    """Holds in memory, spend from the store; for a store this process alone writes."""

    def __init__(self, store: Store) -> None:
        self._store = store
        store.holds_in_sql = False  # holds live here; settlement only adds charges
        self._lock = threading.Lock()
        self._spent: dict[WindowKey, tuple[int, int]] = {}  # (money, tokens) settled
        self._held: dict[WindowKey, list[int]] = {}  # [money, tokens] open
        self._holds: dict[str, dict[str, Hold]] = {}  # decision -> budget -> hold
        self._expiry: list[tuple[int, str, str]] = []  # (expires_us, decision, budget)

    def _totals(self, key: WindowKey) -> Totals:
        spent, tokens_spent = self._spent.get(key, (0, 0))
        held = self._held.get(key)
        return Totals(spent, held[0], tokens_spent, held[1]) if held else \
            Totals(spent, 0, tokens_spent, 0)

    def statuses(self, rules: Sequence[BudgetRule], now_us: int,
                 fresh: bool = False) -> list[BudgetStatus]:
        windows = [(r, window_of(r, now_us)) for r in rules]
        missing = [(r.id, w.key) for r, w in windows if (r.id, w.key) not in self._spent]
        if missing:
            loaded = self._store.budget_totals(missing)  # I/O outside the lock
            with self._lock:
                for key, t in loaded.items():
                    self._spent.setdefault(key, (t.spent, t.tokens_spent))
        with self._lock:
            return [BudgetStatus(r, w, self._totals((r.id, w.key))) for r, w in windows]

    def hold(self, decision_id: str, statuses: Sequence[BudgetStatus], amount: int,
             tokens: int, now_us: int) -> list[BudgetStatus]:
        with self._lock:
            current = [BudgetStatus(s.rule, s.window, self._totals((s.rule.id, s.window.key)))
                       for s in statuses]
            for s in current:
                if not s.fits(amount, tokens):
                    raise HoldRefused(s.rule.id)
            mine = self._holds.setdefault(decision_id, {})
            for s in current:
                hold = _hold_of(s, amount, tokens, now_us)
                held = self._held.setdefault((hold.budget_id, hold.window_key), [0, 0])
                held[0] += amount
                held[1] += tokens
                mine[hold.budget_id] = hold
                heapq.heappush(self._expiry, (hold.expires_us, decision_id, hold.budget_id))
            return [BudgetStatus(s.rule, s.window, s.totals.plus(held=amount, tokens_held=tokens))
                    for s in current]

    def _drop(self, decision_id: str, budget_id: str | None = None) -> None:
        """Release one hold (or all of a decision's); the caller holds the lock."""
        mine = self._holds.get(decision_id)
        if not mine:
            return
        for bid in [budget_id] if budget_id is not None else list(mine):
            hold = mine.pop(bid, None)
            if hold is None:
                continue
            key = (hold.budget_id, hold.window_key)
            held = self._held[key]
            held[0] -= hold.amount
            held[1] -= hold.tokens
            if held == [0, 0]:
                del self._held[key]
        if not mine:
            del self._holds[decision_id]

    def release(self, decision_id: str) -> None:
        with self._lock:
            self._drop(decision_id)

    def on_commit(self, writes: list[UsageWrite]) -> None:
        with self._lock:
            for w in writes:
                if w.record.decision_id:
                    self._drop(w.record.decision_id)
                for key, t in w.budgets.items():
                    # batches commit in order, but keep the larger if answers cross
                    spent, tokens = self._spent.get(key, (0, 0))
                    self._spent[key] = (max(spent, t.spent), max(tokens, t.tokens_spent))

    def sweep(self, now_us: int) -> int:
        n = 0
        with self._lock:
            while self._expiry and self._expiry[0][0] <= now_us:
                _, decision_id, budget_id = heapq.heappop(self._expiry)
                before = len(self._holds.get(decision_id, ()))
                self._drop(decision_id, budget_id)
                n += before - len(self._holds.get(decision_id, ()))
            if len(self._spent) > 100_000:  # old windows: re-read from the store when needed
                self._spent = {k: v for k, v in self._spent.items() if k in self._held}
        return n

    def open_holds(self) -> int:
        with self._lock:
            return sum(len(h) for h in self._holds.values())


class SharedLedger:
    """Holds in the shared database; replicas enforce the same limits exactly."""

    def __init__(self, store: Store, cache_us: int = 250_000) -> None:
        self._store = store
        store.holds_in_sql = True  # settlement must release the holds kept in the database
        self._cache_us = cache_us
        self._lock = threading.Lock()
        self._cache: dict[WindowKey, tuple[Totals, int]] = {}

    def _remember(self, totals: dict[WindowKey, Totals], now_us: int) -> None:
        with self._lock:
            if len(self._cache) > 100_000:
                self._cache.clear()
            for key, t in totals.items():
                self._cache[key] = (t, now_us)

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
                (_hold_of(s, amount, tokens, now_us), s.rule.limit, s.rule.limit_tokens)
                for s in statuses])
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
                for key in w.budgets:
                    self._cache.pop(key, None)

    def sweep(self, now_us: int) -> int:
        n, after = self._store.sweep_holds(now_us)
        self._remember(after, now_us)
        return n


def ledger_for(store: Store) -> LocalLedger | SharedLedger:
    """The embedded store is owned by one process; a server database is shared."""
    return LocalLedger(store) if store.local_reads else SharedLedger(store)
