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

from router.core.budgets import BudgetRule, BudgetStatus, Hold, Totals
from router.core.timeunits import SECOND_US
from router.store.base import UsageWrite, WindowKey


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

    def peek(self, key: WindowKey) -> Totals | None:
        """A window's totals as this process last knew them, without asking the store (None:
        never read nor settled here); for gauges read at scrape time."""


DEFAULT_ABANDON_S = 3_600  # an hour: longer than any call and its retries


def hold_of(s: BudgetStatus, amount: int, tokens: int, now_us: int,
            abandon_s: int = DEFAULT_ABANDON_S) -> Hold:
    """The hold a decision places on ``s``'s window.

    A hold ends when its usage settles or its Route fails. One whose usage never comes is
    released only when it is abandoned: ``abandon_s`` after it was placed (or the rule's
    ``hold_ttl_s`` if that is longer). Releasing earlier would free room that the late report
    then spends again, letting a block budget overspend by the calls in flight (a replica that
    died, a slow agent)."""
    ttl_s = max(s.rule.hold_ttl_s, abandon_s)
    return Hold(s.rule.id, s.window.key, amount, tokens, now_us + ttl_s * SECOND_US)

