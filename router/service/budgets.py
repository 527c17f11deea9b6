"""Budget administration: budgets and pauses over the API, their status, and housekeeping.

Every call names its caller: a team's caller sees and (with the ``budgets`` permission)
changes only budgets and pauses whose scope lies in its team; every change is audited."""

from __future__ import annotations

import dataclasses
import time

import structlog

from router.auth import SYSTEM, Principal
from router.budgeting import BudgetBook, Ledger, Pause
from router.core.budgets import BudgetRule, BudgetStatus, Scope, rule_to_mapping, window_of
from router.core.catalog import Catalog
from router.core.clock import Clock
from router.core.errors import InvalidRequest, NotFound, quoted
from router.core.requests import Violations
from router.service.access import AuditLog

log = structlog.get_logger("router.budgets")


class BudgetService:
    def __init__(self, catalog: Catalog, book: BudgetBook, ledger: Ledger, clock: Clock, *,
                 refresh_s: float, audit: AuditLog) -> None:
        self.catalog = catalog
        self._audit = audit
        self.book = book
        self._ledger = ledger
        self._clock = clock
        self._refresh_s = refresh_s
        self._refreshed = time.monotonic()

    def set(self, rule: BudgetRule, who: Principal = SYSTEM) -> BudgetRule:
        """Create or replace an API-managed budget; a model scope is stored by its catalog id.
        A team's caller may replace only a budget of its own team."""
        scope = who.budget_scope(rule.scope, "setting budgets")
        if scope is not rule.scope:
            rule = dataclasses.replace(rule, scope=scope)
        before = self._existing(rule.id, who, "setting budgets")
        if rule.scope.model is not None:
            spec = self.catalog.find(rule.scope.model)
            if spec is None:
                raise InvalidRequest.of("budget.scope.model",
                                        f"unknown model {quoted(rule.scope.model)}")
            rule = dataclasses.replace(rule, scope=dataclasses.replace(rule.scope,
                                                                       model=spec.id))
        self.book.put(rule, self._clock.now_us())
        self._audit.record(who, "budget.set", rule.id,
                           rule_to_mapping(before) if before else None, rule_to_mapping(rule))
        return rule

    def _existing(self, budget_id: str, who: Principal, action: str) -> BudgetRule | None:
        """The budget ``budget_id`` if one exists, after checking ``who`` may change it (one of
        another team's is refused in the words a missing one is)."""
        try:
            rule = self.book.get(budget_id)
        except NotFound:
            return None
        if not who.sees_scope(rule.scope):
            raise who.missing("the budget", NotFound(f"budget {quoted(budget_id)} not found"))
        who.budget_scope(rule.scope, action)
        return rule

    def get(self, budget_id: str, who: Principal = SYSTEM) -> BudgetRule:
        _check_id(budget_id)
        try:
            rule = self.book.get(budget_id)
        except NotFound as exc:
            raise who.missing("the budget", exc) from None
        if not who.sees_scope(rule.scope):
            raise who.missing("the budget", NotFound(f"budget {quoted(budget_id)} not found"))
        return rule

    def list(self, who: Principal = SYSTEM) -> tuple[tuple[BudgetRule, ...], list[Pause]]:
        """The budgets and pauses in force that ``who`` may see."""
        return (tuple(r for r in self.book.rules if who.sees_scope(r.scope)),
                [p for p in self.book.pauses() if who.sees_scope(p.scope)])

    def delete(self, budget_id: str, who: Principal = SYSTEM) -> None:
        _check_id(budget_id)
        who.require_budget_rights("deleting budgets")  # the same whether or not it exists
        rule = self._existing(budget_id, who, "deleting budgets")
        if rule is None:
            raise who.missing("the budget", NotFound(f"budget {quoted(budget_id)} not found"))
        self.book.delete(budget_id)
        self._audit.record(who, "budget.delete", budget_id, rule_to_mapping(rule), None)

    def is_from_file(self, budget_id: str) -> bool:
        return self.book.is_from_file(budget_id)

    def status(self, budget_id: str, at_us: int | None = None,
               who: Principal = SYSTEM) -> BudgetStatus:
        """The budget's window containing ``at_us`` (default: now), on fresh totals."""
        rule = self.get(budget_id, who)
        at = self._clock.now_us() if at_us is None else at_us
        try:
            window_of(rule, at)  # a client's far-future moment may have no window
        except ValueError as exc:
            raise InvalidRequest.of("at", str(exc)) from None
        return self._ledger.statuses([rule], at, fresh=True)[0]

    def pause(self, scope: Scope, reason: str, who: Principal = SYSTEM) -> Pause:
        scope = who.budget_scope(scope, "pausing scopes")
        pause = self.book.pause(scope, reason, self._clock.now_us())
        self._audit.record(who, "scope.pause", scope.key() or "everything", None,
                           {"scope": scope.as_dict(), "reason": reason})
        return pause

    def resume(self, scope: Scope, who: Principal = SYSTEM) -> bool:
        scope = who.budget_scope(scope, "resuming scopes")
        before = next((p for p in self.book.pauses() if p.scope == scope), None)
        was = self.book.resume(scope)
        if was:
            self._audit.record(who, "scope.resume", scope.key() or "everything",
                               {"scope": scope.as_dict(),
                                "reason": before.reason if before else ""}, None)
        return was

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
