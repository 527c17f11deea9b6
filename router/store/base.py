"""The store seam: everything the services persist or read goes through these interfaces.

``Store`` is the whole seam; each service depends only on the part it uses (``RecordStore``,
``FeedbackStore``, ``BudgetStore``, ``SpendStore``, ``AnomalyStore``, ``AccessStore``). One
implementation (``router.store.sql.SqlStore``) serves SQLite and PostgreSQL. Tests use it on a
temporary SQLite file, which is a real implementation of the seam rather than a mock.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from router.auth.audit import AuditEvent
from router.auth.keys import KeyRecord
from router.core.anomalies import Anomaly, Series, TaskCount
from router.core.budgets import Hold, Totals
from router.core.calibration import Factor
from router.core.learning import Evidence
from router.core.records import (
    DecisionQuery,
    DecisionRecord,
    DecisionSummary,
    FeedbackRecord,
    UsageQuery,
    UsageRecord,
)
from router.core.savings import UsageGroup
from router.core.spend import SpendGroup, SpendQuery

WindowKey = tuple[str, str]  # (budget_id, window_key)


class HoldRefused(Exception):
    """A budget had no room for the hold; nothing was written."""

    def __init__(self, budget_id: str) -> None:
        self.budget_id = budget_id
        super().__init__(budget_id)


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
class FeedbackWrite:
    status: WriteStatus
    record: FeedbackRecord  # the stored record (for REPLAYED/CONFLICT, the one stored first)


@dataclass(frozen=True, slots=True)
class PausedRow:
    scope_key: str
    scope: str  # JSON mapping of scope keys
    reason: str
    paused_us: int


@runtime_checkable
class RecordStore(Protocol):
    """Decisions, usage and calibration: what the recorder writes and the services read back."""

    local_reads: bool  # point reads are cheap enough for the event loop (embedded database)

    def write_batch(
        self, decisions: Sequence[DecisionRecord], usages: Sequence[UsageRecord],
        factors: Sequence[Factor] = (), taken: list[str] | None = None,
    ) -> list[UsageWrite]:
        """Persist factors, decisions, then usages in one transaction; one result per usage.

        Decisions whose request_id is already stored are kept without it (the first one wins;
        their ids are appended to ``taken`` when it is given); a
        usage whose usage_id is already stored (or repeated within the batch) is not written
        again. A usage written for the first time settles in the same transaction: its charges
        are added to the budget ledger and, when holds live here, its decision's holds released
        (so replays settle nothing).
        """

    def get_decision(self, decision_id: str) -> DecisionRecord | None: ...

    def find_decision_by_request(self, request_id: str) -> DecisionRecord | None: ...

    def usages_for_decision(self, decision_id: str) -> list[UsageRecord]:
        """The usage reported against a decision, oldest first."""

    def get_usage(self, usage_id: str) -> UsageRecord | None: ...

    def usages_between(self, query: UsageQuery) -> list[UsageRecord]:
        """A page of the usage ``query`` selects, oldest first (recorded time, then usage_id),
        read along a time index in that order with the cursor as its bound: never sorted,
        each page as cheap as the first."""

    def list_decisions(self, query: DecisionQuery) -> list[DecisionSummary]:
        """The decisions ``query`` selects, newest first (created time, then decision_id),
        at most its limit, each with the count, total cost and latest outcome of the usage
        reported against it. Set-based: one statement, read along an index in that order."""

    def unreported_decisions(self, since_us: int, limit: int) -> list[DecisionRecord]:
        """Decisions made since ``since_us`` that no usage has been reported against yet, oldest
        first, at most ``limit`` (what an embedded ledger holds again after a restart)."""

    def load_calibration(self) -> list[Factor]:
        """Every stored output-token calibration factor."""

    def secret(self, name: str, make: Callable[[], str], now_us: int) -> str:
        """The deployment's secret ``name``, made with ``make`` by the first replica to ask."""


@runtime_checkable
class FeedbackStore(Protocol):
    """Scores of calls given after them (ReportFeedback)."""

    def write_feedback(self, record: FeedbackRecord) -> FeedbackWrite:
        """Store ``record`` in its own transaction, committed before this returns, unless its
        feedback_id is already stored (by any replica): then the stored one, REPLAYED when its
        payload hash is the same, else CONFLICT."""

    def get_feedback(self, feedback_id: str) -> FeedbackRecord | None: ...

    def feedback_for_decision(self, decision_id: str) -> list[FeedbackRecord]:
        """The feedback on a decision and on its usages, oldest first (recorded time, then
        feedback_id)."""


@runtime_checkable
class BudgetStore(Protocol):
    """The budget ledger (windows keyed (budget_id, window_key)), API budgets and pauses."""

    holds_in_sql: bool  # budget holds are rows here (shared ledger), not in the process

    def place_holds(self, decision_id: str,
                    holds: Sequence[tuple[Hold, int | None, int | None]]
                    ) -> dict[WindowKey, Totals]:
        """Hold (hold, limit, limit_tokens) on every window atomically if each limit has room;
        else raise HoldRefused and write nothing. Returns the totals after."""

    def release_holds(self, decision_id: str) -> dict[WindowKey, Totals]: ...

    def sweep_holds(self, now_us: int, limit: int = 500
                    ) -> tuple[int, dict[WindowKey, Totals]]:
        """Release holds whose TTL passed: (how many, totals of the windows touched)."""

    def budget_totals(self, keys: Sequence[WindowKey]) -> dict[WindowKey, Totals]:
        """Totals of the given windows (absent windows are empty)."""

    def load_budget_rules(self) -> list[tuple[str, str]]:
        """API-managed budgets as (id, JSON spec)."""

    def put_budget_rule(self, budget_id: str, spec: str, now_us: int) -> None: ...

    def delete_budget_rule(self, budget_id: str) -> bool: ...

    def load_pauses(self) -> list[PausedRow]: ...

    def put_pause(self, row: PausedRow) -> None: ...

    def delete_pause(self, scope_key: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class ScopeSeries:
    """One scope's spend per rollup bucket (an hour, or a UTC day from the daily rollup)."""

    step_us: int
    buckets: tuple[tuple[int, int, int], ...]  # (bucket start, cost nanos, tokens), oldest first


@runtime_checkable
class SpendStore(Protocol):
    """The reports' reads."""

    def usage_groups(self, since_us: int | None = None, until_us: int | None = None,
                     team: str | None = None) -> list[UsageGroup]:
        """Usage summed per (team, agent, model) recorded in [since_us, until_us), of one
        team when ``team`` is given."""

    def spend_rows(self, query: SpendQuery) -> list[SpendGroup]:
        """Usage summed per the query's keys (and time step when it buckets by time), from the
        coarsest table that answers exactly; the service folds them into the query's buckets."""

    def scope_series(self, scopes: Sequence[Mapping[str, str]], since_us: int, until_us: int
                     ) -> list[ScopeSeries | None]:
        """For each scope (budget scope keys: team, agent, user, task_type, model; task_id
        none), its total cost and tokens per bucket in [since_us, until_us), from the finest
        rollup that holds its keys (hourly by team, agent and model; else daily), never the raw
        usage; None for a scope no rollup holds (a task_id). Set-based: one statement per
        rollup for many scopes."""

    def score_rows(self, query: SpendQuery) -> list[SpendGroup]:
        """The scores of the calls the query selects (usage qualities and feedback, by the
        time of their call), summed per its keys and time bucket as ``spend_rows`` sums spend
        (``quality_sum``, ``quality_count``); ``fold`` merges them into the same groups."""


@runtime_checkable
class AnomalyStore(Protocol):
    """The detectors' inputs and their findings."""

    def anomaly_inputs(self, since_us: int, until_us: int, tasks_since_us: int
                       ) -> tuple[list[Series], list[Series], list[TaskCount]]:
        """Hourly series per agent and per team over [since, until), and calls per task_id over
        [tasks_since, until)."""

    def save_anomalies(self, found: Sequence[Anomaly], now_us: int) -> list[Anomaly]:
        """Store ``found`` as incidents: a detection that continues a stored incident (same
        subject, overlapping or meeting windows: ``router.core.anomalies.same_incident``)
        updates it to the latest window, values, message and evidence; the others are stored
        as new incidents, and returned (the caller announces those)."""

    def list_anomalies(self, since_us: int | None = None, kinds: Sequence[str] = (),
                       limit: int = 1000, team: str | None = None
                       ) -> list[tuple[Anomaly, int]]:
        """Stored incidents as last updated (of one team, when given), newest first, each
        with when it was first detected."""


@runtime_checkable
class AccessStore(Protocol):
    """API keys (their digests) and the audit trail."""

    def load_api_keys(self) -> list[KeyRecord]:
        """Every key ever made, revoked ones included, oldest first."""

    def insert_api_key(self, record: KeyRecord, event: AuditEvent) -> None:
        """Store a new key and its audit entry in one transaction."""

    def revoke_api_key(self, key_id: str, now_us: int,
                       audit: Callable[[KeyRecord, KeyRecord], AuditEvent]
                       ) -> tuple[KeyRecord, bool] | None:
        """Mark the key revoked (once: a second revocation keeps the first time) and, when it
        was active, store ``audit(before, after)`` in the same transaction. The key as it
        stands after, and whether this call revoked it; None when no such key exists."""

    def add_audit(self, event: AuditEvent) -> None: ...

    def list_audit(self, since_us: int | None, actions: Sequence[str], limit: int
                   ) -> list[AuditEvent]:
        """Audit entries at or after ``since_us`` (of those actions, when given), newest
        first."""


@runtime_checkable
class LearningStore(Protocol):
    """The learner's evidence (``router.core.learning``): sums every replica adds to."""

    def load_learning(self) -> list[Evidence]:
        """Every stored (level, scope, model)'s sums."""

    def add_learning(self, rows: Sequence[Evidence]) -> None:
        """Add the increments ``rows`` to the stored sums (precision, weighted and count
        added, updated_us the later) in one transaction."""


@runtime_checkable
class Store(RecordStore, FeedbackStore, BudgetStore, SpendStore, AnomalyStore, AccessStore,
            LearningStore,
            Protocol):
    """The whole seam, as the server wires it."""

    def migrate(self) -> None:
        """Bring the schema to the current version."""

    def ping(self) -> None:
        """Raise StoreUnavailable when the store cannot be reached."""

    def close(self) -> None: ...
