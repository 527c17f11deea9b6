"""What routing asks of the budgets, in one place: paused scopes, the statuses that apply, the
throttles, the holds, and the refusals that name the budgets without room.

The gate fails closed: when the store cannot answer, Route gets UNAVAILABLE, unless the operator
chose ``ROUTER_BUDGET_FAIL_OPEN``, in which case the call goes unchecked and is counted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import structlog
from prometheus_client import Counter

from router import metrics
from router.budgeting.ledger import Ledger
from router.budgeting.rules import BudgetBook
from router.budgeting.throttle import Throttle
from router.core.budgets import (
    Action,
    BudgetRule,
    BudgetStatus,
    Enforcement,
    State,
    applicable,
    exhausted,
    window_of,
)
from router.core.errors import BudgetExhausted, PreconditionFailed, StoreUnavailable
from router.core.records import Attribution, CandidateRecord
from router.store.base import HoldRefused

log = structlog.get_logger("router.budgets")
FAIL_OPEN = Counter("router_budget_fail_open_total",
                    "Routes admitted without budget checks because the store was unreachable")
PAUSED = metrics.BUDGET_REFUSALS.labels("paused")
THROTTLED = metrics.BUDGET_REFUSALS.labels("throttled")
EXHAUSTED = metrics.BUDGET_REFUSALS.labels("exhausted")
STATES = tuple((s, s.name.lower()) for s in State)


class ScopePaused(PreconditionFailed):
    """Routing is paused for the call's scope (FAILED_PRECONDITION; ResumeScope resumes it)."""


class HoldRaced(Exception):
    """A hold lost a race for the last of a budget's room: route again on fresh totals."""


class BudgetGate:
    def __init__(self, book: BudgetBook, ledger: Ledger, *, fail_open: bool = False,
                 throttle: Throttle | None = None) -> None:
        self.book = book
        self.ledger = ledger
        self.fail_open = fail_open
        self.throttle = throttle or Throttle()
        self.fail_open_count = 0

    @property
    def active(self) -> bool:
        """Does any budget or pause exist (else Route skips the ladder entirely)?"""
        return self.book.active

    def check_paused(self, keys: Attribution) -> frozenset[str]:
        """FAILED_PRECONDITION when a pause stops this call; else the models paused for it."""
        pause, models = self.book.paused(keys)
        if pause is not None:
            PAUSED.inc()
            raise ScopePaused(
                f"routing is paused for {pause.scope.describe()}"
                + (f": {pause.reason}" if pause.reason else "") + " (ResumeScope to resume)")
        return models

    def rules_for(self, keys: Attribution, model: str | None = None) -> list[BudgetRule]:
        return applicable(self.book.rules, keys, model)

    def statuses(self, rules: Sequence[BudgetRule], now_us: int, fresh: bool = False
                 ) -> list[BudgetStatus]:
        """Each rule's current window and totals ([] when the store is down and failing open)."""
        if not rules:
            return []
        try:
            return self.ledger.statuses(rules, now_us, fresh)
        except StoreUnavailable:
            if not self.fail_open:
                raise
            self._failed_open("statuses")
            return []

    def check_throttles(self, ladder: Enforcement, now_us: int) -> None:
        """RESOURCE_EXHAUSTED with RetryInfo when a throttled budget has no call left now."""
        for s in ladder.throttled:
            wait = self.throttle.wait(s, now_us)
            if wait > 0:
                THROTTLED.inc()
                raise BudgetExhausted(
                    f"budget {s.rule.id!r} is {s.fraction:.0%} used and throttled to "
                    f"{s.rule.throttle_per_minute} calls a minute", [s.violation()],
                    retry_after_seconds=wait)

    def hold(self, decision_id: str, statuses: Sequence[BudgetStatus], amount: int,
             tokens: int, now_us: int, *, fresh: bool) -> tuple[BudgetStatus, ...]:
        """Hold the predicted cost on every status's window, all or none.

        A refused hold on cached totals raises HoldRaced (route again, fresh); on fresh totals it
        is RESOURCE_EXHAUSTED naming the budget."""
        try:
            return tuple(self.ledger.hold(decision_id, statuses, amount, tokens, now_us))
        except HoldRefused as refused:
            if not fresh:
                raise HoldRaced() from refused
            full = [s for s in statuses if s.rule.id == refused.budget_id]
            EXHAUSTED.inc()
            raise exhausted(full, now_us, f"budget {refused.budget_id!r} has no room left for "
                            "this call") from refused
        except StoreUnavailable:
            if not self.fail_open:
                raise
            self._failed_open("hold")
            return ()

    def release(self, decision_id: str) -> None:
        """Give back a decision's holds: its Route failed after holding."""
        self.ledger.release(decision_id)

    def refusal(self, statuses: Sequence[BudgetStatus], candidate: CandidateRecord,
                input_tokens: int, now_us: int, *, all_rules: bool) -> BudgetExhausted:
        """RESOURCE_EXHAUSTED naming the budgets without room for ``candidate`` (only the
        blocking ones unless ``all_rules``). Counted as a refusal when it names a budget: Route
        raises every refusal that does."""
        tokens = input_tokens + candidate.output_tokens
        full = [s for s in statuses if s.rule.scope.model in (None, candidate.model)
                and not s.fits(candidate.cost, tokens)
                and (all_rules or s.rule.on_exhausted is Action.BLOCK)]
        if not full:
            return BudgetExhausted("no model fits the remaining budget")
        EXHAUSTED.inc()
        names = ", ".join(repr(s.rule.id) for s in full)
        return exhausted(full, now_us, f"budget {names} has no room for {candidate.model} "
                         f"(predicted {candidate.cost} nanos, {tokens} tokens)")

    def samples(self, now_us: int) -> Iterator[tuple[str, dict[str, str], float]]:
        """The budget gauges (``router.metrics.GAUGES``), read at scrape time from memory only:
        each budget's limits, and its current window's totals and state where this process
        has read or settled them (else they are left out rather than read from the store)."""
        book, ledger = self.book, self.ledger
        for rule in book.rules:
            labels = {"budget": rule.id}
            if rule.limit is not None:
                yield "router_budget_limit_nanos", labels, rule.limit
            if rule.limit_tokens is not None:
                yield "router_budget_limit_tokens", labels, rule.limit_tokens
            totals = ledger.peek((rule.id, window_of(rule, now_us).key))
            if totals is None:
                continue
            yield "router_budget_spent_nanos", labels, totals.spent
            yield "router_budget_held_nanos", labels, totals.held
            yield "router_budget_spent_tokens", labels, totals.tokens_spent
            state = rule.state(rule.used_fraction(totals.spent, totals.held,
                                                  totals.tokens_spent, totals.tokens_held))
            for s, name in STATES:
                yield "router_budget_state", {"budget": rule.id, "state": name}, \
                    float(s is state)
        yield "router_paused_scopes", {}, len(book.pauses())
        open_holds = getattr(ledger, "open_holds", None)  # the embedded ledger's; shared: SQL
        if open_holds is not None:
            yield "router_budget_open_holds", {}, open_holds()

    def _failed_open(self, stage: str) -> None:
        self.fail_open_count += 1
        log.warning("budgets.fail_open", stage=stage, count=self.fail_open_count)
        FAIL_OPEN.inc()
