"""The store seam: everything the service persists goes through this interface.

One implementation (``router.store.sql.SqlStore``) serves SQLite and PostgreSQL. Tests use it on a
temporary SQLite file, which is a real implementation of the seam rather than a mock.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from router.core.budgets import Hold, Totals
from router.core.calibration import Factor
from router.core.records import DecisionRecord, UsageRecord
from router.core.savings import UsageGroup


class WriteStatus(enum.Enum):
    INSERTED = "inserted"
    REPLAYED = "replayed"  # same id, same payload: the stored record is the answer
    CONFLICT = "conflict"  # same id, different payload


@dataclass(frozen=True, slots=True)
class UsageWrite:
    status: WriteStatus
    record: UsageRecord  # the stored record (for REPLAYED/CONFLICT, the one stored first)
    # INSERTED: the totals of every budget window the usage was charged to, after the batch
    budgets: Mapping[tuple[str, str], Totals] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PausedRow:
    scope_key: str
    scope: str  # JSON mapping of scope keys
    reason: str
    paused_us: int


@runtime_checkable
class Store(Protocol):
    local_reads: bool  # point reads are cheap enough for the event loop (embedded database)
    holds_in_sql: bool  # budget holds are rows here (shared ledger), not in the process

    def migrate(self) -> None:
        """Bring the schema to the current version."""

    def ping(self) -> None:
        """Raise StoreUnavailable when the store cannot be reached."""

    def write_batch(
        self, decisions: Sequence[DecisionRecord], usages: Sequence[UsageRecord],
        factors: Sequence[Factor] = (),
    ) -> list[UsageWrite]:
        """Persist factors, decisions, then usages in one transaction; one result per usage.

        Decisions whose request_id is already stored are skipped (the first one wins); a usage whose
        usage_id is already stored (or repeated within the batch) is not written again. A usage
        written for the first time settles in the same transaction: its decision's holds are
        released and its charges added to the budget ledger (so replays settle nothing).
        """

    def get_decision(self, decision_id: str) -> DecisionRecord | None: ...

    def find_decision_by_request(self, request_id: str) -> DecisionRecord | None: ...

    def usages_for_decision(self, decision_id: str) -> list[UsageRecord]: ...

    def get_usage(self, usage_id: str) -> UsageRecord | None: ...

    def usage_groups(self, since_us: int | None = None, until_us: int | None = None
                     ) -> list[UsageGroup]:
        """Usage summed per (team, agent, model) recorded in [since_us, until_us)."""

    # -- Budget ledger (windows keyed (budget_id, window_key)) ----------------------------------

    def place_holds(self, decision_id: str,
                    holds: Sequence[tuple[Hold, int | None, int | None]]
                    ) -> dict[tuple[str, str], Totals]:
        """Hold on every window atomically if each limit has room; else raise HoldRefused."""

    def release_holds(self, decision_id: str) -> dict[tuple[str, str], Totals]: ...

    def sweep_holds(self, now_us: int, limit: int = 500
                    ) -> tuple[int, dict[tuple[str, str], Totals]]:
        """Release holds whose TTL passed: (how many, totals of the windows touched)."""

    def budget_totals(self, keys: Sequence[tuple[str, str]]
                      ) -> dict[tuple[str, str], Totals]: ...

    def load_budget_rules(self) -> list[tuple[str, str]]:
        """API-managed budgets as (id, JSON spec)."""

    def put_budget_rule(self, budget_id: str, spec: str, now_us: int) -> None: ...

    def delete_budget_rule(self, budget_id: str) -> bool: ...

    def load_pauses(self) -> list[PausedRow]: ...

    def put_pause(self, row: PausedRow) -> None: ...

    def delete_pause(self, scope_key: str) -> bool: ...

    def load_calibration(self) -> list[Factor]:
        """Every stored output-token calibration factor."""

    def close(self) -> None: ...
