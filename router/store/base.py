"""The store seam: everything the service persists goes through this interface.

One implementation (``router.store.sql.SqlStore``) serves SQLite and PostgreSQL. Tests use it on a
temporary SQLite file, which is a real implementation of the seam rather than a mock.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

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


@runtime_checkable
class Store(Protocol):
    local_reads: bool  # point reads are cheap enough for the event loop (embedded database)

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
        usage_id is already stored (or repeated within the batch) is not written again.
        """

    def get_decision(self, decision_id: str) -> DecisionRecord | None: ...

    def find_decision_by_request(self, request_id: str) -> DecisionRecord | None: ...

    def usages_for_decision(self, decision_id: str) -> list[UsageRecord]: ...

    def get_usage(self, usage_id: str) -> UsageRecord | None: ...

    def usage_groups(self, since_us: int | None = None, until_us: int | None = None
                     ) -> list[UsageGroup]:
        """Usage summed per (team, agent, model) recorded in [since_us, until_us)."""

    def load_calibration(self) -> list[Factor]:
        """Every stored output-token calibration factor."""

    def close(self) -> None: ...
