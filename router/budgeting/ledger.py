"""The ledger seam: where budget holds are admitted and spend is read, in two forms.

- ``LocalLedger`` (``router.budgeting.local``): the embedded SQLite default, one process owns the
  file. Holds live in memory under one lock: admission costs microseconds and is exact.
- ``SharedLedger`` (``router.budgeting.shared``): PostgreSQL shared by replicas. Every hold is one
  conditional statement in the database, so replicas cannot overshoot together.

The store decides where holds live (``holds_in_sql``), once, when it is built; ``ledger_for``
follows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from router.core.budgets import BudgetRule, BudgetStatus, Hold
from router.core.timeunits import SECOND_US
from router.store.base import UsageWrite


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


def hold_of(s: BudgetStatus, amount: int, tokens: int, now_us: int) -> Hold:
    """The hold a decision places on ``s``'s window, expiring after the rule's hold TTL."""
    return Hold(s.rule.id, s.window.key, amount, tokens, now_us + s.rule.hold_ttl_s * SECOND_US)

