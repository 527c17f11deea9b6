"""SQLModel tables. The ORM classes define the schema; the hot path writes through their Core
``__table__`` with set-based statements, never an ORM session per request.

Money columns are BIGINT nanos; times are BIGINT microseconds since the epoch (UTC), which bucket
and compare the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import BigInteger, Index, Text
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata


def _table(row: type[SQLModel]) -> sa.Table:
    """The Core table of a row class (SQLModel declares ``__table__`` without a type)."""
    return metadata.tables[str(row.__tablename__)]


def _money() -> int:
    return Field(default=0, sa_type=BigInteger, nullable=False)


class _Keys(SQLModel):
    """Attribution keys, denormalised onto every row so spend can be grouped without joins."""

    team: str = Field(default="", max_length=128)
    agent: str = Field(default="", max_length=128)
    task_id: str = Field(default="", max_length=128)
    task_type: str = Field(default="", max_length=128)
    user_name: str = Field(default="", max_length=128)
    labels: str = Field(default="{}", sa_type=Text)


class DecisionRow(_Keys, table=True):
    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_request_id", "request_id", unique=True),
        # ending in decision_id, the listing's tie-break: read newest first along them, a page
        # of decisions is found without sorting (migration 0010)
        Index("ix_decisions_created", "created_us", "decision_id"),
        Index("ix_decisions_team_created", "team", "created_us", "decision_id"),
        Index("ix_decisions_agent_created", "agent", "created_us", "decision_id"),
    )

    decision_id: str = Field(primary_key=True, max_length=40)
    request_id: str | None = Field(default=None, max_length=128)
    request_hash: str = Field(max_length=64)
    created_us: int = Field(sa_type=BigInteger)
    model: str = Field(max_length=128)
    provider: str = Field(max_length=64)
    complexity_label: str = Field(max_length=16)
    complexity_score: float
    quality_target: float
    predicted_quality: float
    input_tokens: int = Field(sa_type=BigInteger)
    output_tokens: int = Field(sa_type=BigInteger)
    predicted_cost: int = _money()
    currency: str = Field(max_length=3)
    reason_code: int
    reason_message: str = Field(sa_type=Text)
    fallbacks: str = Field(sa_type=Text)
    candidates: str = Field(sa_type=Text)
    classifier_version: str = Field(max_length=64)
    # the classifier's own quality when the learner moved predicted_quality (migration 0012)
    prior_quality: float | None = Field(default=None)


class UsageRow(_Keys, table=True):
    __tablename__ = "usages"
    __table_args__ = (
        Index("ix_usages_decision", "decision_id"),
        # ending in usage_id, the export's tie-break: a page of usage, oldest first, is read
        # along them without sorting (migration 0014)
        Index("ix_usages_recorded", "recorded_us", "usage_id"),
        Index("ix_usages_team_recorded", "team", "recorded_us", "usage_id"),
        Index("ix_usages_agent_recorded", "agent", "recorded_us"),
        # the few usages that carry a quality score, by time: QuerySpend's scores read these
        # without walking the ledger (migration 0011)
        Index("ix_usages_quality_recorded", "recorded_us",
              sqlite_where=sa.text("quality IS NOT NULL"),
              postgresql_where=sa.text("quality IS NOT NULL")),
    )

    usage_id: str = Field(primary_key=True, max_length=128)
    payload_hash: str = Field(max_length=64)
    decision_id: str | None = Field(default=None, max_length=40)
    recorded_us: int = Field(sa_type=BigInteger)
    model: str = Field(max_length=128)
    provider: str = Field(max_length=64)
    input_tokens: int = Field(sa_type=BigInteger)
    cached_input_tokens: int = Field(sa_type=BigInteger)
    output_tokens: int = Field(sa_type=BigInteger)
    reasoning_tokens: int = Field(sa_type=BigInteger)
    tool_calls: int = Field(sa_type=BigInteger)
    compute_ms: int = Field(sa_type=BigInteger)
    review_ms: int = Field(sa_type=BigInteger)
    outcome: int
    latency_ms: int = Field(sa_type=BigInteger)
    cost_tokens: int = _money()
    cost_tools: int = _money()
    cost_compute: int = _money()
    cost_review: int = _money()
    cost_total: int = _money()
    currency: str = Field(max_length=3)
    predicted_cost: int | None = Field(default=None, sa_type=BigInteger)
    predicted_output_tokens: int | None = Field(default=None, sa_type=BigInteger)
    quality: float | None = Field(default=None)  # the report's score of the answer, in [0, 1]
    cache_write_tokens: int = _money()  # migration 0013
    memory_gb_ms: int = _money()


decisions = _table(DecisionRow)
usages = _table(UsageRow)


class FeedbackRow(_Keys, table=True):
    """A score of a call given after it (ReportFeedback), written once per feedback_id, with
    its call's keys, model and time (``call_us``) so scores group like spend without a join."""

    __tablename__ = "feedback"
    __table_args__ = (
        Index("ix_feedback_decision", "decision_id"),
        Index("ix_feedback_call", "call_us"),
        Index("ix_feedback_team_call", "team", "call_us"),
    )

    feedback_id: str = Field(primary_key=True, max_length=128)
    payload_hash: str = Field(max_length=64)
    decision_id: str | None = Field(default=None, max_length=40)
    usage_id: str | None = Field(default=None, max_length=128)
    model: str = Field(max_length=128)
    provider: str = Field(max_length=64)
    score: float
    source: str = Field(default="", max_length=64)
    comment: str = Field(default="", sa_type=Text)
    call_us: int = Field(sa_type=BigInteger)
    recorded_us: int = Field(sa_type=BigInteger)
    occurred_us: int = Field(sa_type=BigInteger)


feedback = _table(FeedbackRow)


class SecretRow(SQLModel, table=True):
    """A deployment secret, made once by whichever replica comes first (e.g. the decision key)."""

    __tablename__ = "secrets"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=256)
    created_us: int = Field(sa_type=BigInteger)


secrets = _table(SecretRow)


class CalibrationRow(SQLModel, table=True):
    """Online output-token correction per (model, task_type, agent); '' is a wildcard level."""

    __tablename__ = "output_calibration"

    model: str = Field(primary_key=True, max_length=128)
    task_type: str = Field(primary_key=True, max_length=128)
    agent: str = Field(primary_key=True, max_length=128)
    log_factor: float
    count: int = Field(sa_type=BigInteger)
    updated_us: int = Field(sa_type=BigInteger)


calibration = _table(CalibrationRow)


class LearningEvidenceRow(SQLModel, table=True):
    """The learner's sums per (level, scope, model) (``router.core.learning.Evidence``): every
    replica adds its increments, so each reads what all of them learned (migration 0012)."""

    __tablename__ = "learning_evidence"

    level: str = Field(primary_key=True, max_length=16)  # task_type or agent
    scope: str = Field(primary_key=True, max_length=128)
    model: str = Field(primary_key=True, max_length=128)
    precision: float
    weighted: float
    count: int = Field(sa_type=BigInteger)
    updated_us: int = Field(sa_type=BigInteger)


learning_evidence = _table(LearningEvidenceRow)


class BudgetRuleRow(SQLModel, table=True):
    """A budget managed over the API (the budgets file's rules live in the file)."""

    __tablename__ = "budget_rules"

    id: str = Field(primary_key=True, max_length=64)
    spec: str = Field(sa_type=Text)  # JSON, shaped like a [[budgets]] entry of the file
    updated_us: int = Field(sa_type=BigInteger)


class BudgetWindowRow(SQLModel, table=True):
    """One budget window's totals, changed only in the transactions that write the ledger rows
    they sum (holds, charges): a new window is a new row, so nothing is ever reset."""

    __tablename__ = "budget_windows"

    budget_id: str = Field(primary_key=True, max_length=64)
    window_key: str = Field(primary_key=True, max_length=32)
    spent: int = _money()
    held: int = _money()
    tokens_spent: int = _money()
    tokens_held: int = _money()


class BudgetHoldRow(SQLModel, table=True):
    """An open reservation of a routed call; deleted when settled or expired (so it is released
    exactly once)."""

    __tablename__ = "budget_holds"
    __table_args__ = (Index("ix_budget_holds_expires", "expires_us"),)

    decision_id: str = Field(primary_key=True, max_length=40)
    budget_id: str = Field(primary_key=True, max_length=64)
    window_key: str = Field(max_length=32)
    amount: int = _money()
    tokens: int = _money()
    expires_us: int = Field(sa_type=BigInteger)


class BudgetChargeRow(SQLModel, table=True):
    """The ledger: what each usage added to each budget window, written once per usage_id."""

    __tablename__ = "budget_charges"
    __table_args__ = (Index("ix_budget_charges_window", "budget_id", "window_key"),)

    usage_id: str = Field(primary_key=True, max_length=128)
    budget_id: str = Field(primary_key=True, max_length=64)
    window_key: str = Field(max_length=32)
    amount: int = _money()
    tokens: int = _money()
    recorded_us: int = Field(sa_type=BigInteger)


class PausedScopeRow(SQLModel, table=True):
    __tablename__ = "paused_scopes"

    scope_key: str = Field(primary_key=True, max_length=800)
    scope: str = Field(sa_type=Text)  # JSON mapping of scope keys
    reason: str = Field(default="", sa_type=Text)
    paused_us: int = Field(sa_type=BigInteger)


budget_rules = _table(BudgetRuleRow)
budget_windows = _table(BudgetWindowRow)
budget_holds = _table(BudgetHoldRow)
budget_charges = _table(BudgetChargeRow)
paused_scopes = _table(PausedScopeRow)


class _Sums(SQLModel):
    """The measures every rollup keeps (see router.core.spend.MEASURES)."""

    provider: str = Field(max_length=64)
    calls: int = _money()
    input_tokens: int = _money()
    cached_input_tokens: int = _money()
    output_tokens: int = _money()
    reasoning_tokens: int = _money()
    cost_tokens: int = _money()
    cost_tools: int = _money()
    cost_compute: int = _money()
    cost_review: int = _money()
    cost_total: int = _money()
    predicted_cost: int = _money()
    predicted_calls: int = _money()
    actual_of_predicted: int = _money()
    abs_error_ratio_sum: float = Field(default=0.0)
    failures: int = _money()
    review_calls: int = _money()
    review_ms: int = _money()
    tool_calls: int = _money()
    compute_ms: int = _money()
    cache_write_tokens: int = _money()


class UsageHourlyRow(_Sums, table=True):
    """Usage summed per UTC hour, team, agent and model, maintained in the transaction that
    records the usage: hourly reports and the anomaly detectors read this."""

    __tablename__ = "usage_hourly"
    __table_args__ = (Index("ix_usage_hourly_team_hour", "team", "hour_us"),)

    hour_us: int = Field(primary_key=True, sa_type=BigInteger)
    team: str = Field(primary_key=True, max_length=128)
    agent: str = Field(primary_key=True, max_length=128)
    model: str = Field(primary_key=True, max_length=128)


class UsageDailyRow(_Sums, table=True):
    """Usage summed per UTC day and every key but task_id: reports by user and task type."""

    __tablename__ = "usage_daily"

    day_us: int = Field(primary_key=True, sa_type=BigInteger)
    team: str = Field(primary_key=True, max_length=128)
    agent: str = Field(primary_key=True, max_length=128)
    user_name: str = Field(primary_key=True, max_length=128)
    task_type: str = Field(primary_key=True, max_length=128)
    model: str = Field(primary_key=True, max_length=128)


class UsageDailyAgentsRow(_Sums, table=True):
    """Usage summed per UTC day, team, agent and model (the hourly rollup's keys, a day at a
    time): month reports and the dashboard's month panels."""

    __tablename__ = "usage_daily_agents"
    __table_args__ = (Index("ix_usage_daily_agents_team_day", "team", "day_us"),)

    day_us: int = Field(primary_key=True, sa_type=BigInteger)
    team: str = Field(primary_key=True, max_length=128)
    agent: str = Field(primary_key=True, max_length=128)
    model: str = Field(primary_key=True, max_length=128)


# a record's key -> its column in the ledgers and rollups ("user" is reserved in SQL)
COLUMN_OF = {"user": "user_name"}
usage_hourly = _table(UsageHourlyRow)
usage_daily = _table(UsageDailyRow)
usage_daily_agents = _table(UsageDailyAgentsRow)


class AnomalyRow(SQLModel, table=True):
    """A detected incident with its evidence, one row however many runs see it: the key names
    its subject and start; a detection that continues it (same subject, a window that overlaps
    or meets its window, found by ``ix_anomalies_incident``) updates the row instead."""

    __tablename__ = "anomalies"
    __table_args__ = (Index("ix_anomalies_detected", "detected_us"),
                      Index("ix_anomalies_incident", "kind", "team", "agent", "task_id",
                            "window_end_us"))

    key: str = Field(primary_key=True, max_length=600)
    kind: str = Field(max_length=32)
    team: str = Field(default="", max_length=128)
    agent: str = Field(default="", max_length=128)
    task_id: str = Field(default="", max_length=128)
    window_start_us: int = Field(sa_type=BigInteger)
    window_end_us: int = Field(sa_type=BigInteger)
    observed: float
    baseline: float
    message: str = Field(sa_type=Text)
    evidence: str = Field(sa_type=Text)  # JSON
    detected_us: int = Field(sa_type=BigInteger)  # first detected (announced then)
    last_detected_us: int = Field(sa_type=BigInteger)  # detected again most recently


anomalies = _table(AnomalyRow)


class ApiKeyRow(SQLModel, table=True):
    """An API key: its digest (HMAC of the key under the deployment's pepper), never the key;
    revoked keys stay, so a revoked key is named as such and its id is never reused."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ux_api_keys_subject", "subject", unique=True,
                            sqlite_where=sa.text("subject <> '' AND revoked_us IS NULL"),
                            postgresql_where=sa.text("subject <> '' AND revoked_us IS NULL")),)

    key_id: str = Field(primary_key=True, max_length=32)
    digest: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    team: str = Field(default="", max_length=128)
    agents: str = Field(default="[]", sa_type=Text)  # JSON list
    permissions: str = Field(default="[]", sa_type=Text)  # JSON list
    subject: str = Field(default="", max_length=512)
    description: str = Field(default="", max_length=200)
    created_us: int = Field(sa_type=BigInteger)
    created_by: str = Field(max_length=32)
    expires_us: int | None = Field(default=None, sa_type=BigInteger)
    revoked_us: int | None = Field(default=None, sa_type=BigInteger)


api_keys = _table(ApiKeyRow)


class AuditRow(SQLModel, table=True):
    """One administrative act: who, when, what, and the state before and after (JSON)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at_us"),)

    id: int | None = Field(default=None, primary_key=True,
                           sa_type=BigInteger().with_variant(sa.Integer(), "sqlite"))
    at_us: int = Field(sa_type=BigInteger)
    principal: str = Field(max_length=32)
    action: str = Field(max_length=32)
    target: str = Field(max_length=600)
    before: str | None = Field(default=None, sa_type=Text)
    after: str | None = Field(default=None, sa_type=Text)


audit_events = _table(AuditRow)
