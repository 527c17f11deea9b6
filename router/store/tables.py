"""SQLModel tables. The ORM classes define the schema; the hot path writes through their Core
``__table__`` with set-based statements, never an ORM session per request.

Money columns are BIGINT nanos; times are BIGINT microseconds since the epoch (UTC), which bucket
and compare the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Text
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata


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
        Index("ix_decisions_created", "created_us"),
        Index("ix_decisions_team_created", "team", "created_us"),
        Index("ix_decisions_agent_created", "agent", "created_us"),
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


class UsageRow(_Keys, table=True):
    __tablename__ = "usages"
    __table_args__ = (
        Index("ix_usages_decision", "decision_id"),
        Index("ix_usages_recorded", "recorded_us"),
        Index("ix_usages_team_recorded", "team", "recorded_us"),
        Index("ix_usages_agent_recorded", "agent", "recorded_us"),
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


decisions = DecisionRow.__table__
usages = UsageRow.__table__


class CalibrationRow(SQLModel, table=True):
    """Online output-token correction per (model, task_type, agent); '' is a wildcard level."""

    __tablename__ = "output_calibration"

    model: str = Field(primary_key=True, max_length=128)
    task_type: str = Field(primary_key=True, max_length=128)
    agent: str = Field(primary_key=True, max_length=128)
    log_factor: float
    count: int = Field(sa_type=BigInteger)
    updated_us: int = Field(sa_type=BigInteger)


calibration = CalibrationRow.__table__
