"""Budgets at run time: the rules in force (``rules``), throttles (``throttle``), the ledger that
holds and settles (``ledger``, ``local``, ``shared``) and the gate Route passes (``gate``)."""

from __future__ import annotations

from router.budgeting.gate import BudgetGate, HoldRaced, ScopePaused
from router.budgeting.ledger import DEFAULT_ABANDON_S, Ledger
from router.budgeting.local import LocalLedger
from router.budgeting.rules import BudgetBook, Pause
from router.budgeting.shared import SharedLedger
from router.budgeting.throttle import Throttle
from router.store.base import BudgetStore, HoldRefused

__all__ = ["BudgetBook", "BudgetGate", "HoldRaced", "HoldRefused", "Ledger", "LocalLedger",
           "Pause", "ScopePaused", "SharedLedger", "Throttle", "ledger_for"]


def ledger_for(store: BudgetStore, abandon_s: int = DEFAULT_ABANDON_S
               ) -> LocalLedger | SharedLedger:
    """The ledger that matches where the store keeps holds (decided when the store was built);
    holds whose usage never comes are released ``abandon_s`` after they were placed."""
    if store.holds_in_sql:
        return SharedLedger(store, abandon_s=abandon_s)
    return LocalLedger(store, abandon_s=abandon_s)
