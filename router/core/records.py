"""What the service records: decisions and usage, with their attribution keys.

Plain frozen values; the store persists them and the edge maps them to protobuf.
Times are integer microseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from router.core.pricing import CostBreakdown, TokenCounts


class Outcome(enum.IntEnum):
    UNSPECIFIED = 0
    SUCCESS = 1
    FAILURE = 2
    RETRY = 3


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who spends: team > agent > task > user, plus free labels."""

    team: str = ""
    agent: str = ""
    task_id: str = ""
    task_type: str = ""
    user: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.team or self.agent or self.task_id or self.task_type or self.user
                    or self.labels)

    def overridden_by(self, other: Attribution | None) -> Attribution:
        """These keys with every non-empty key of ``other`` taking precedence, labels merged."""
        if other is None:
            return self
        return Attribution(
            team=other.team or self.team, agent=other.agent or self.agent,
            task_id=other.task_id or self.task_id, task_type=other.task_type or self.task_type,
            user=other.user or self.user, labels={**self.labels, **other.labels})

    def as_dict(self) -> dict[str, Any]:
        return {"team": self.team, "agent": self.agent, "task_id": self.task_id,
                "task_type": self.task_type, "user": self.user, "labels": dict(self.labels)}


class CandidateRecord(NamedTuple):
    """One model the policy considered. A named tuple: Route builds one per catalog model, and a
    tuple is several times cheaper to create than a frozen dataclass."""

    model: str
    provider: str
    quality: float
    output_tokens: int
    cost: int  # predicted nanos
    exclusion: int  # router.core.policy.Exclusion


TOP_CANDIDATES = 5  # the others a decision keeps besides its chosen model and fallbacks


def kept_candidates(candidates: Sequence[CandidateRecord], model: str,
                    fallbacks: Collection[str], others: int = TOP_CANDIDATES
                    ) -> tuple[CandidateRecord, ...]:
    """What a decision record keeps of the policy's candidates (sorted cheapest first): the
    chosen ``model``, its ``fallbacks`` (so a usage on any of them finds its prediction), and
    ``others`` more, the nearest the chosen one in that order: first the ones the policy passed
    over just before it (why nothing cheaper was chosen), then the next pricier ones. Still
    cheapest first.

    Every candidate is computed for the live Route (and may be answered with
    ``include_candidates``); only these few are recorded, signed into nothing and serialised
    once per decision by the group commit."""
    keep = {model, *fallbacks}
    n = len(candidates)
    if n <= len(keep) + others:
        return tuple(candidates)
    pos = next((i for i, c in enumerate(candidates) if c.model == model), n)
    # widen a window around the chosen one until it holds ``others`` candidates not kept anyway:
    # downwards first, then upwards (it runs on every Route, so no per-index sets)
    lo, hi, room = pos, pos + 1, others
    while room and lo > 0:
        lo -= 1
        if candidates[lo].model not in keep:
            room -= 1
    while room and hi < n:
        if candidates[hi].model not in keep:
            room -= 1
        hi += 1
    return (*(c for c in candidates[:lo] if c.model in keep), *candidates[lo:hi],
            *(c for c in candidates[hi:] if c.model in keep))


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    decision_id: str
    request_id: str | None
    request_hash: str
    created_us: int
    attribution: Attribution
    model: str
    provider: str
    complexity_label: str
    complexity_score: float
    quality_target: float
    predicted_quality: float
    input_tokens: int
    output_tokens: int
    predicted_cost: int
    currency: str
    reason_code: int
    reason_message: str
    fallbacks: tuple[str, ...]
    # the candidates kept (``kept_candidates``): the chosen model, the fallbacks, a few others
    candidates: tuple[CandidateRecord, ...]
    classifier_version: str
    # the classifier's own quality for the chosen model, when the learner's offsets moved it
    # (``predicted_quality`` is then the learned one); None: the two are the same
    prior_quality: float | None = None


@dataclass(frozen=True, slots=True)
class DecisionQuery:
    """Which recorded decisions a listing reads: those whose keys equal ``filters`` (team,
    agent, task_id, task_type, user, model), with every label of ``labels``, of one of
    ``agents`` when given, made in [start_us, end_us) (None: open), newest first (by created
    time, then decision_id), after the keyset cursor ``after`` (the previous page's last
    (created_us, decision_id)), at most ``limit``. Only usage of ``usage_team`` (when given)
    counts towards a decision's actual cost."""

    filters: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    agents: tuple[str, ...] = ()
    start_us: int | None = None
    end_us: int | None = None
    after: tuple[int, str] | None = None
    limit: int = 50
    usage_team: str | None = None


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """Which recorded usage an export reads: recorded in [start_us, end_us), whose keys equal
    ``filters`` (team, agent, task_id, task_type, user, model, provider), of one of ``agents``
    when given, oldest first (by recorded time, then usage_id), after the keyset cursor
    ``after`` (the previous page's last (recorded_us, usage_id)), at most ``limit``."""

    start_us: int
    end_us: int
    filters: Mapping[str, str] = field(default_factory=dict)
    agents: tuple[str, ...] = ()
    after: tuple[int, str] | None = None
    limit: int = 1000


@dataclass(frozen=True, slots=True)
class DecisionSummary:
    """A decision as a listing shows it, with the usage reported against it: how many, their
    total cost, and the latest one's outcome (None when none was reported)."""

    decision_id: str
    created_us: int
    attribution: Attribution
    model: str
    provider: str
    complexity_label: str
    complexity_score: float
    predicted_cost: int
    currency: str
    usage_count: int = 0
    actual_cost: int = 0
    outcome: Outcome | None = None


@dataclass(frozen=True, slots=True)
class Charge:
    """What one reported usage adds to one budget window (its actual cost and tokens)."""

    budget_id: str
    window_key: str
    amount: int
    tokens: int


@dataclass(frozen=True, slots=True)
class UsageRecord:
    usage_id: str
    payload_hash: str
    decision_id: str | None
    recorded_us: int
    attribution: Attribution
    model: str
    provider: str
    tokens: TokenCounts
    tool_calls: int
    compute_ms: int
    review_ms: int
    outcome: Outcome
    latency_ms: int
    cost: CostBreakdown
    currency: str
    predicted_cost: int | None
    predicted_output_tokens: int | None
    # what this usage adds to each budget that applies (not stored on the usage row itself)
    charges: tuple[Charge, ...] = ()
    # the caller's score of the call's answer in [0, 1], when it gave one
    quality: float | None = None
    memory_gb_ms: int = 0  # memory the call held: GB x milliseconds


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """A score of a call's answer given after the fact (ReportFeedback), once per feedback_id.

    Its target's keys are copied onto it (the usage's when it names one, else the decision's),
    with the model that answered and the time of the call (``call_us``: the usage's recorded
    time, else the decision's), so scores group like spend without a join."""

    feedback_id: str
    payload_hash: str
    decision_id: str | None  # None: feedback on a usage reported without a decision
    usage_id: str | None
    attribution: Attribution
    model: str
    provider: str
    score: float
    source: str
    comment: str
    call_us: int
    recorded_us: int  # when the service recorded it
    occurred_us: int  # when it was given: the request's occurred_at, else recorded_us


@dataclass(frozen=True, slots=True)
class Quality:
    """The scores of some calls (usage qualities and feedback): their count and mean."""

    count: int = 0
    total: float = 0.0

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0


def quality_of(usages: Sequence[UsageRecord], feedback: Sequence[FeedbackRecord]) -> Quality:
    scores = [u.quality for u in usages if u.quality is not None] + [f.score for f in feedback]
    return Quality(len(scores), sum(scores))


def payload_hash(payload: Mapping[str, Any]) -> str:
    """A stable digest of a request's content: tells a replay from a conflicting reuse of an id."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class PredictionError:
    """How far a call's actual token cost and output landed from the prediction for its model."""

    predicted_cost: int
    cost_error: int  # actual token cost - predicted, nanos
    cost_error_ratio: float  # cost_error / predicted_cost (0 when nothing was predicted)
    output_tokens_error: int  # actual (output + reasoning) - predicted output tokens


def prediction_error(usage: UsageRecord) -> PredictionError | None:
    if usage.predicted_cost is None:
        return None
    error = usage.cost.tokens - usage.predicted_cost
    return PredictionError(
        predicted_cost=usage.predicted_cost, cost_error=error,
        cost_error_ratio=error / usage.predicted_cost if usage.predicted_cost else 0.0,
        output_tokens_error=usage.tokens.output + usage.tokens.reasoning
        - (usage.predicted_output_tokens or 0))
