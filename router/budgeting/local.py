"""Holds in memory, spend from the store: the ledger of the one process that owns an embedded file.

A restart forgets open holds; the calls they covered are still charged when reported.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Sequence

from router.budgeting.ledger import DEFAULT_ABANDON_S, hold_of
from router.core.budgets import BudgetRule, BudgetStatus, Hold, Totals, applicable, window_of
from router.core.records import DecisionRecord
from router.core.timeunits import SECOND_US
from router.store.base import BudgetStore, HoldRefused, UsageWrite, WindowKey

MAX_CACHED_WINDOWS = 100_000  # past this, windows without open holds are re-read when needed


class LocalLedger:
    """Holds in memory, spend from the store; for a store this process alone writes."""

    def __init__(self, store: BudgetStore, abandon_s: int = DEFAULT_ABANDON_S) -> None:
        if store.holds_in_sql:
            raise ValueError("this store keeps budget holds in SQL: use SharedLedger")
        self._store = store  # settlement there only adds charges; the holds are here
        self._abandon_s = abandon_s
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
                hold = hold_of(s, amount, tokens, now_us, self._abandon_s)
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

    def restore(self, decisions: Sequence[DecisionRecord], rules: tuple[BudgetRule, ...],
                now_us: int) -> int:
        """Hold again what the decisions held before this process started (a restart, or a
        crash, forgets in-memory holds): each unreported decision's predicted cost on the
        windows of the budgets that apply to it. No admission check: they were admitted then.
        Returns how many holds were restored."""
        n = 0
        with self._lock:
            for d in decisions:
                mine = self._holds.setdefault(d.decision_id, {})
                for rule in applicable(rules, d.attribution, d.model):
                    tokens = d.input_tokens + d.output_tokens
                    ttl_s = max(rule.hold_ttl_s, self._abandon_s)
                    hold = Hold(rule.id, window_of(rule, d.created_us).key, d.predicted_cost,
                                tokens, d.created_us + ttl_s * SECOND_US)
                    if hold.expires_us <= now_us or rule.id in mine:
                        continue
                    held = self._held.setdefault((hold.budget_id, hold.window_key), [0, 0])
                    held[0] += hold.amount
                    held[1] += hold.tokens
                    mine[rule.id] = hold
                    heapq.heappush(self._expiry, (hold.expires_us, d.decision_id, rule.id))
                    n += 1
                if not mine:
                    del self._holds[d.decision_id]
        return n

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
            if len(self._spent) > MAX_CACHED_WINDOWS:
                self._spent = {k: v for k, v in self._spent.items() if k in self._held}
        return n

    def peek(self, key: WindowKey) -> Totals | None:
        with self._lock:
            return self._totals(key) if key in self._spent or key in self._held else None

    def open_holds(self) -> int:
        with self._lock:
            return sum(len(h) for h in self._holds.values())

