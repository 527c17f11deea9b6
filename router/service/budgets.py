"""Budget administration: budgets and pauses over the API, their status, and housekeeping."""

from __future__ import annotations

import dataclasses
import time

import structlog

from router.budgeting import BudgetBook, Ledger, Pause
from router.core.budgets import BudgetRule, BudgetStatus, Scope, window_of
from router.core.catalog import Catalog
from router.core.clock import Clock
from router.core.errors import InvalidRequest, quoted
from router.core.requests import Violations

log = structlog.get_logger("router.budgets")


class BudgetService:
    def __init__(self, catalog: Catalog, book: BudgetBook, ledger: Ledger, clock: Clock, *,
                 refresh_s: float) -> None:
        self.catalog = catalog
        self.book = book
        self._ledger = ledger
        self._clock = clock
        self._refresh_s = refresh_s
        self._refreshed = time.monotonic()

    def set(self, rule: BudgetRule) -> BudgetRule:
        """Create or replace an API-managed budget; a model scope is stored by its catalog id."""
        if rule.scope.model is not None:
            spec = self.catalog.find(rule.scope.model)
            if spec is None:
                raise InvalidRequest.of("budget.scope.model",
                                        f"unknown model {quoted(rule.scope.model)}")
            rule = dataclasses.replace(rule, scope=dataclasses.replace(rule.scope,
                                                                       model=spec.id))
        self.book.put(rule, self._clock.now_us())
        return rule

    def get(self, budget_id: str) -> BudgetRule:
        _check_id(budget_id)
        return self.book.get(budget_id)

    def list(self) -> tuple[tuple[BudgetRule, ...], list[Pause]]:
        return self.book.rules, self.book.pauses()

    def delete(self, budget_id: str) -> None:
        _check_id(budget_id)
        self.book.delete(budget_id)

    def is_from_file(self, budget_id: str) -> bool:
        return self.book.is_from_file(budget_id)

    def status(self, budget_id: str, at_us: int | None = None) -> BudgetStatus:
        """The budget's window containing ``at_us`` (default: now), on fresh totals."""
        _check_id(budget_id)
        rule = self.book.get(budget_id)
        at = self._clock.now_us() if at_us is None else at_us
        try:
            window_of(rule, at)  # a client's far-future moment may have no window
        except ValueError as exc:
            raise InvalidRequest.of("at", str(exc)) from None
        return self._ledger.statuses([rule], at, fresh=True)[0]

    def pause(self, scope: Scope, reason: str) -> Pause:
        return self.book.pause(scope, reason, self._clock.now_us())

    def resume(self, scope: Scope) -> bool:
        return self.book.resume(scope)

    def reload_file(self) -> bool:
        """Re-read the budgets file now (SIGHUP)."""
        return self.book.reload_file(force=True)

    def tick(self) -> int:
        """Housekeeping, off the hot path: release expired holds, pick up budget changes (the
        file's, and other replicas' through the store). Returns how many holds expired."""
        released = self._ledger.sweep(self._clock.now_us())
        if released:
            log.info("budgets.holds_expired", released=released)
        self.book.reload_file()
        if time.monotonic() - self._refreshed >= self._refresh_s:
            self._refreshed = time.monotonic()
            self.book.refresh()
        return released


def _check_id(budget_id: str) -> None:
    """A budget id the request names (field ``id``): required and bounded like every id."""
    v = Violations()
    v.identifier("id", budget_id, required=True)
    v.raise_if_any()
