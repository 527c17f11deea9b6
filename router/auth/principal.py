"""Who is calling, and what that caller may spend and read. Pure: no gRPC, no HTTP, no store.

Every edge turns a call's credentials into a ``Principal`` (``router.auth.keyring``) and the
services ask it before they act:

    role     scope                     may
    admin    everything                everything: keys, budgets, pauses, detection, audit
    team     one team (maybe agents)   Route and ReportUsage as that team (and those agents);
                                       read its team's spend, decisions, savings, budgets and
                                       anomalies; with the ``budgets`` permission, set, delete,
                                       pause and resume budgets whose scope lies in its team
    reader   one team, or all          read only, like a team key's reads (a reader of all
                                       teams sees every team but no user identifiers)

A refusal never says whether the other team's decision, budget or usage exists: what lies
outside the caller's scope is refused with the same words as what does not exist at all.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Protocol, TypeVar

from router.core.budgets import BudgetStatus, Scope
from router.core.errors import PermissionDenied, Unauthenticated, quoted
from router.core.records import Attribution


class Role(enum.Enum):
    ADMIN = "admin"
    TEAM = "team"
    READER = "reader"
    # not a key's role: the caller of a server that runs open (no key exists yet on loopback,
    # or ROUTER_AUTH=off), which may spend and read everything but administer nothing
    ANONYMOUS = "anonymous"


PERMISSIONS = frozenset({"budgets"})  # what a team key may be granted besides its role


def _outside(what: str) -> PermissionDenied:
    return PermissionDenied(f"{what} is outside this key's scope (or does not exist)")


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller: the key it used (its id, never its secret), its role and its scope."""

    key_id: str
    role: Role
    team: str = ""  # "" for admin and anonymous callers, and for a reader of every team
    agents: frozenset[str] = frozenset()  # a team key narrowed to these agents; empty: all
    permissions: frozenset[str] = frozenset()

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def scoped(self) -> bool:
        """True when the caller sees one team only."""
        return bool(self.team)

    @property
    def sees_users(self) -> bool:
        """Users' identifiers (often e-mail addresses) are shown inside their team's scope,
        to an administrator, and on a server that runs open; not to a reader of all teams."""
        return self.role is not Role.READER or bool(self.team)

    # -- spending --------------------------------------------------------------------------

    def attribute(self, a: Attribution, path: str = "attribution") -> Attribution:
        """The attribution a Route or ReportUsage of this caller records: an empty team (and,
        for a key of one agent, an empty agent) filled from the key. PermissionDenied when
        the caller may not spend, or not as these keys."""
        if self.role is Role.ADMIN or self.role is Role.ANONYMOUS:
            return a
        if self.role is not Role.TEAM:
            raise PermissionDenied(f"a {self.role.value} key may read, not route or report usage")
        agent = a.agent or (next(iter(self.agents)) if len(self.agents) == 1 else "")
        if not a.team or agent != a.agent:
            a = dataclasses.replace(a, team=a.team or self.team, agent=agent)
        self.check_spends_as(a, path)
        return a

    def require_spender(self, action: str) -> None:
        """PermissionDenied for a reader, which may read but not record (spend, scores)."""
        if self.role is Role.READER:
            raise PermissionDenied(f"a {self.role.value} key may read, not {action}")

    def check_spends_as(self, a: Attribution, path: str = "attribution") -> None:
        """PermissionDenied unless this caller may record spend with attribution ``a``."""
        if self.role is Role.ADMIN or self.role is Role.ANONYMOUS:
            return
        if self.role is not Role.TEAM:
            raise PermissionDenied(f"a {self.role.value} key may read, not route or report usage")
        if a.team != self.team:
            raise PermissionDenied(f"{path}.team {quoted(a.team)}: this key spends only as team "
                                   f"{quoted(self.team)}")
        if self.agents and a.agent not in self.agents:
            allowed = ", ".join(sorted(self.agents))
            raise PermissionDenied(f"{path}.agent {quoted(a.agent)}: this key spends only as "
                                   f"agent(s) {allowed}")

    def check_owns(self, a: Attribution, what: str) -> None:
        """A recorded decision or usage (one a call refers to, or replays) is this caller's
        only when its keys are ones it may spend as; the refusal does not confirm it exists."""
        try:
            self.check_spends_as(a)
        except PermissionDenied:
            raise _outside(what) from None

    # -- reading ---------------------------------------------------------------------------

    def sees(self, team: str) -> bool:
        return not self.team or team == self.team

    def missing(self, what: str, error: Exception) -> Exception:
        """What a caller is told of a resource that does not exist: a team's caller the same
        as of one outside its scope (else the difference would say the other team's exists);
        others, ``error`` itself."""
        return _outside(what) if self.team else error

    def check_sees(self, team: str, what: str) -> None:
        if not self.sees(team):
            raise _outside(what)

    def agents_seen(self, asked: str, what: str) -> tuple[str, ...]:
        """The agents a listing that asks for agent ``asked`` (empty: any) must keep to for
        this caller: a key narrowed to agents lists those only (``asked`` must be one of them,
        else it is refused as outside the scope); every other caller, none (no restriction)."""
        if not self.agents:
            return ()
        if asked:
            if asked not in self.agents:
                raise _outside(what)
            return ()  # the filter itself narrows to one of them
        return tuple(sorted(self.agents))

    def sees_scope(self, scope: Scope) -> bool:
        """A budget or pause is visible to a team's callers when its scope lies in the team
        (one over every team would reveal every team's spend)."""
        return not self.team or scope.team == self.team

    def require_users_visible(self, what: str) -> None:
        if not self.sees_users:
            raise PermissionDenied(f"{what}: users' identifiers are visible only within a "
                                   "team's scope (use a team or team-reader key)")

    def visible(self, a: Attribution) -> Attribution:
        """``a`` as this caller may see it (the user left out where users are not visible)."""
        return a if self.sees_users or not a.user else dataclasses.replace(a, user="")

    # -- administering ---------------------------------------------------------------------

    def require_admin(self, action: str) -> None:
        if self.role is Role.ADMIN:
            return
        if self.role is Role.ANONYMOUS:
            raise Unauthenticated(f"{action} needs the metadata 'authorization: Bearer <key>' "
                                  "with an admin key (or ROUTER_ADMIN_TOKEN)")
        raise PermissionDenied(f"{action} needs an admin key; this is a {self.role.value} key")

    def require_budget_permission(self, action: str) -> None:
        """May this caller change budgets and pauses at all (an admin, or a team key with
        the ``budgets`` permission)?"""
        if self.role is Role.ADMIN:
            return
        if self.role is not Role.TEAM:
            self.require_admin(action)  # raises: not an admin
        if "budgets" not in self.permissions:
            raise PermissionDenied(f"{action} needs an admin key, or a team key with the "
                                   "'budgets' permission")

    def owns_scope(self, scope: Scope) -> bool:
        """Does ``scope`` lie inside what this caller administers?"""
        return self.role is Role.ADMIN or (
            scope.team == self.team and (not self.agents or scope.agent in self.agents))

    def budget_scope(self, scope: Scope, action: str) -> Scope:
        """The scope a budget mutation of this caller may touch: an admin's as given; a team
        key with the ``budgets`` permission only inside its team (an empty team filled)."""
        self.require_budget_permission(action)
        if self.role is Role.ADMIN:
            return scope
        if scope.team is None:
            scope = dataclasses.replace(scope, team=self.team)
        if not self.owns_scope(scope):
            raise _outside("the scope")
        return scope

    def describe(self) -> str:
        scope = f" team={self.team}" if self.team else ""
        return f"{self.key_id} ({self.role.value}{scope})"


R = TypeVar("R", bound="HasBudgets")


class HasBudgets(Protocol):
    @property
    def budgets(self) -> tuple[BudgetStatus, ...]: ...


def budgets_seen_by(who: Principal, result: R) -> R:
    """A Route's or ReportUsage's ``result`` with only the budget statuses ``who`` may see: a
    budget whose scope is not inside a team's caller's team (one over every team) would show
    the other teams' spend. The budget still applies to the call; only its totals are not
    shown (as ListBudgets and GetBudgetStatus do not show them)."""
    shown = tuple(s for s in result.budgets if who.sees_scope(s.rule.scope))
    if len(shown) == len(result.budgets):
        return result
    return dataclasses.replace(result, budgets=shown)  # type: ignore[type-var]


ANONYMOUS = Principal("anonymous", Role.ANONYMOUS)
SYSTEM = Principal("system", Role.ADMIN)  # the server's own work and in-process callers
BOOTSTRAP = Principal("bootstrap", Role.ADMIN)  # ROUTER_ADMIN_TOKEN
