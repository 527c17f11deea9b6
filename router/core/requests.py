"""Requests as the domain sees them, and the rules that make one valid.

Field paths in errors are the API's (``tokens.output``, ``attribution.team``), so a client can find
the field it got wrong. Every size is bounded.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from router.core.catalog import CAPABILITIES, Catalog
from router.core.errors import FieldViolation, InvalidRequest, quoted
from router.core.money import Money
from router.core.pricing import TokenCounts
from router.core.records import Attribution, Outcome
from router.core.timeunits import DAY_US, MINUTE_US

MAX_ID_CHARS = 128
MAX_KEY_CHARS = 128
MAX_LABELS = 32
MAX_LABEL_CHARS = 256
MAX_MODELS_LISTED = 256
MAX_TOOL_ENTRIES = 256
MAX_TOKENS = 100_000_000  # per call and kind: far above any context window, below overflow
MAX_COUNT = 1_000_000
MAX_SECONDS = 30 * 24 * 3600.0
MAX_GB_SECONDS = 1e9  # memory held for one call: 1 TB for about 12 days
MAX_MONEY_NANOS = 10**15  # a million currency units for one call: totals stay within int64
MAX_SOURCE_CHARS = 64  # a feedback's source: "user", "evaluator:gpt-judge"
MAX_COMMENT_CHARS = 2000
MAX_AHEAD_US = 5 * MINUTE_US  # an occurred_at this far ahead of our clock is still accepted
_OUTCOMES = frozenset(int(o) for o in Outcome)
_ID_RE = re.compile(r"^[A-Za-z0-9._:/@+=-]+$")


@dataclass(frozen=True, slots=True)
class RouteInput:
    task_description: str
    request_id: str = ""
    attribution: Attribution = field(default_factory=Attribution)
    remaining_budget: Money | None = None
    estimated_input_tokens: int | None = None
    max_output_tokens: int | None = None
    quality_target: float | None = None
    capabilities: frozenset[str] = frozenset()
    min_context_tokens: int = 0
    allowed_models: tuple[str, ...] = ()
    excluded_models: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolInput:
    name: str
    count: int = 1
    cost: Money | None = None


@dataclass(frozen=True, slots=True)
class UsageInput:
    usage_id: str
    decision_id: str = ""
    attribution: Attribution | None = None
    model: str = ""
    tokens: TokenCounts = field(default_factory=TokenCounts)
    tool_calls: tuple[ToolInput, ...] = ()
    cpu_seconds: float = 0.0
    gpu_seconds: float = 0.0
    compute_cost: Money | None = None
    memory_gb_seconds: float = 0.0
    review_seconds: float = 0.0
    review_hourly_rate: Money | None = None
    outcome: int = Outcome.UNSPECIFIED
    latency_ms: int = 0
    actual_cost: Money | None = None
    occurred_us: int | None = None  # when the call happened; None: now
    decision_token: str = ""  # RouteResponse.decision_token; not part of the payload hash
    quality: float | None = None  # the caller's score of the answer in [0, 1]; None: none


@dataclass(frozen=True, slots=True)
class FeedbackInput:
    """A score of a call given after it (ReportFeedback): of a decision or of one usage."""

    feedback_id: str
    decision_id: str = ""
    usage_id: str = ""  # exactly one of decision_id and usage_id
    score: float | None = None  # required, in [0, 1]
    source: str = ""  # who scored: "user", "evaluator:gpt-judge"
    comment: str = ""
    occurred_us: int | None = None  # when it was given; None: now


def valid_identifier(value: str) -> bool:
    """Could ``value`` be a stored id (a usage_id, a request_id)? The rule ``identifier`` checks."""
    return bool(value) and len(value) <= MAX_ID_CHARS and _ID_RE.fullmatch(value) is not None


class Violations:
    """Collects every problem of a request, so the client learns them all at once."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, path: str, description: str) -> None:
        self.items.append(FieldViolation(path, description))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidRequest(self.items)

    def identifier(self, path: str, value: str, *, required: bool) -> None:
        if not value:
            if required:
                self.add(path, "is required")
            return
        if len(value) > MAX_ID_CHARS:
            self.add(path, f"must be at most {MAX_ID_CHARS} characters")
        elif not _ID_RE.fullmatch(value):
            self.add(path, "may contain only letters, digits and ._:/@+=-")

    def count(self, path: str, value: int | None, *, upper: int = MAX_TOKENS,
              positive: bool = False) -> None:
        if value is None:
            return
        if value < 0 or (positive and value == 0):
            self.add(path, "must be positive" if positive else "must not be negative")
        elif value > upper:
            self.add(path, f"must be at most {upper}")

    def seconds(self, path: str, value: float) -> None:
        if not math.isfinite(value) or value < 0:
            self.add(path, "must be a finite, non-negative number of seconds")
        elif value > MAX_SECONDS:
            self.add(path, f"must be at most {MAX_SECONDS:.0f} seconds")

    def score(self, path: str, value: float | None, *, required: bool) -> None:
        """A score of an answer: a number in [0, 1] (0 the worst, 1 the best)."""
        if value is None:
            if required:
                self.add(path, "is required: a number between 0 and 1")
        elif not (math.isfinite(value) and 0.0 <= value <= 1.0):
            self.add(path, "must be a number between 0 and 1")

    def currency(self, path: str, code: str, currency: str) -> None:
        """``code`` must be the service's ISO 4217 code exactly ("usd" is not "USD"); empty
        means that one."""
        if code not in ("", currency):
            self.add(path, f"currency {quoted(code)} is not {currency}: this service accounts "
                           f"in {currency} (the ISO 4217 code as written, or empty)")

    def money(self, path: str, value: Money | None, currency: str) -> None:
        if value is None:
            return
        self.currency(f"{path}.currency_code", value.currency, currency)
        if value.nanos < 0:
            self.add(f"{path}.nanos", "must not be negative")
        elif value.nanos > MAX_MONEY_NANOS:
            self.add(f"{path}.nanos", f"must be at most {MAX_MONEY_NANOS}")

    def attribution(self, path: str, a: Attribution) -> None:
        for name in ("team", "agent", "task_id", "task_type", "user"):
            value = getattr(a, name)
            if len(value) > MAX_KEY_CHARS:
                self.add(f"{path}.{name}", f"must be at most {MAX_KEY_CHARS} characters")
            elif value != value.strip() or any(ch in value for ch in "\n\r\t\0"):
                self.add(f"{path}.{name}", "must not have surrounding spaces or control characters")
        if len(a.labels) > MAX_LABELS:
            self.add(f"{path}.labels", f"at most {MAX_LABELS} labels")
        for key, value in a.labels.items():
            if not key or len(key) > MAX_KEY_CHARS or len(value) > MAX_LABEL_CHARS:
                self.add(f"{path}.labels[{key[:40]}]",
                         f"keys need 1-{MAX_KEY_CHARS} characters, values at most "
                         f"{MAX_LABEL_CHARS}")

    def model_list(self, path: str, names: tuple[str, ...], catalog: Catalog) -> None:
        if len(names) > MAX_MODELS_LISTED:
            self.add(path, f"at most {MAX_MODELS_LISTED} models")
            return
        for i, name in enumerate(names):
            if catalog.find(name) is None:
                self.add(f"{path}[{i}]", f"unknown model {quoted(name)}")


def validate_route(req: RouteInput, *, catalog: Catalog, max_description_chars: int) -> None:
    """InvalidRequest naming every bad field of a Route (BadRequest field violations)."""
    currency = catalog.currency
    v = Violations()
    if not req.task_description.strip():
        v.add("task_description", "is required")
    elif len(req.task_description) > max_description_chars:
        v.add("task_description", f"is {len(req.task_description)} characters; the limit is "
                                  f"{max_description_chars}")
    v.identifier("request_id", req.request_id, required=False)
    v.attribution("attribution", req.attribution)
    v.money("remaining_budget", req.remaining_budget, currency)
    v.count("estimated_input_tokens", req.estimated_input_tokens)
    v.count("max_output_tokens", req.max_output_tokens, positive=True)
    v.count("min_context_tokens", req.min_context_tokens)
    if req.quality_target is not None and not (0.0 <= req.quality_target <= 1.0):
        v.add("quality_target", "must be between 0 and 1")
    unknown = req.capabilities - CAPABILITIES
    if unknown:
        v.add("capabilities", f"unknown capabilities {sorted(unknown)}")
    v.model_list("allowed_models", req.allowed_models, catalog)
    v.model_list("excluded_models", req.excluded_models, catalog)
    v.raise_if_any()


def validate_usage(req: UsageInput, *, catalog: Catalog) -> None:
    """InvalidRequest naming every bad field of a usage report."""
    currency = catalog.currency
    v = Violations()
    v.identifier("usage_id", req.usage_id, required=True)
    v.identifier("decision_id", req.decision_id, required=False)
    if not req.decision_id and (req.attribution is None or req.attribution.is_empty()):
        v.add("attribution", "is required when decision_id is not given")
    if req.attribution is not None:
        v.attribution("attribution", req.attribution)
    if not req.model and not req.decision_id:
        v.add("model", "is required when decision_id is not given")
    elif req.model and catalog.find(req.model) is None:
        v.add("model", f"unknown model {quoted(req.model)}")
    for name in ("input", "cached_input", "output", "reasoning", "cache_write"):
        v.count(f"tokens.{name}", getattr(req.tokens, name))
    if len(req.tool_calls) > MAX_TOOL_ENTRIES:
        v.add("tool_calls", f"at most {MAX_TOOL_ENTRIES} entries")
    for i, tool in enumerate(req.tool_calls[:MAX_TOOL_ENTRIES]):
        if not tool.name or len(tool.name) > MAX_KEY_CHARS:
            v.add(f"tool_calls[{i}].name", f"needs 1-{MAX_KEY_CHARS} characters")
        v.count(f"tool_calls[{i}].count", tool.count, upper=MAX_COUNT)
        v.money(f"tool_calls[{i}].cost", tool.cost, currency)
    v.seconds("compute.cpu_seconds", req.cpu_seconds)
    v.seconds("compute.gpu_seconds", req.gpu_seconds)
    v.money("compute.cost", req.compute_cost, currency)
    if not math.isfinite(req.memory_gb_seconds) or req.memory_gb_seconds < 0:
        v.add("compute.memory_gb_seconds", "must be a finite, non-negative number")
    elif req.memory_gb_seconds > MAX_GB_SECONDS:
        v.add("compute.memory_gb_seconds", f"must be at most {MAX_GB_SECONDS:.0f}")
    v.seconds("human_review.seconds", req.review_seconds)
    v.money("human_review.hourly_rate", req.review_hourly_rate, currency)
    v.money("actual_cost", req.actual_cost, currency)
    v.count("latency_ms", req.latency_ms, upper=MAX_TOKENS)
    if req.outcome not in _OUTCOMES:
        v.add("outcome", f"unknown outcome {req.outcome}")
    v.score("quality", req.quality, required=False)
    v.raise_if_any()


def validate_feedback(req: FeedbackInput) -> None:
    """InvalidRequest naming every bad field of a ReportFeedback."""
    v = Violations()
    v.identifier("feedback_id", req.feedback_id, required=True)
    if not req.decision_id and not req.usage_id:
        v.add("decision_id", "is required, or usage_id: the call the feedback scores")
    elif req.decision_id and req.usage_id:
        v.add("usage_id", "give decision_id or usage_id, not both")
    v.identifier("decision_id", req.decision_id, required=False)
    v.identifier("usage_id", req.usage_id, required=False)
    v.score("score", req.score, required=True)
    if len(req.source) > MAX_SOURCE_CHARS:
        v.add("source", f"must be at most {MAX_SOURCE_CHARS} characters")
    elif req.source and not _ID_RE.fullmatch(req.source):
        v.add("source", "may contain only letters, digits and ._:/@+=-")
    if len(req.comment) > MAX_COMMENT_CHARS:
        v.add("comment", f"must be at most {MAX_COMMENT_CHARS} characters")
    v.raise_if_any()


def occurred_at(occurred_us: int | None, now_us: int, max_backfill_days: int) -> int:
    """When a reported call happened: ``occurred_us`` if it lies within the last
    ``max_backfill_days`` (and at most ``MAX_AHEAD_US`` ahead of ``now_us``), ``now_us`` when
    not given; else INVALID_ARGUMENT naming occurred_at. Usage and feedback date alike."""
    if occurred_us is None:
        return now_us
    oldest = now_us - max_backfill_days * DAY_US
    if not oldest <= occurred_us <= now_us + MAX_AHEAD_US:
        raise InvalidRequest.of("occurred_at", f"must lie within the last {max_backfill_days} "
                                "days (and not more than 5 minutes ahead)")
    return occurred_us


def route_payload(req: RouteInput) -> dict[str, Any]:
    """What a Route's request_id stands for: a replay must carry the same (see payload_hash)."""
    return {
        "d": req.task_description, "a": req.attribution.as_dict(),
        "b": (req.remaining_budget.nanos, req.remaining_budget.currency)
        if req.remaining_budget else None,
        "i": req.estimated_input_tokens, "o": req.max_output_tokens, "q": req.quality_target,
        "c": sorted(req.capabilities), "m": req.min_context_tokens,
        "al": list(req.allowed_models), "ex": list(req.excluded_models),
    }


def usage_payload(req: UsageInput) -> dict[str, Any]:
    """What a usage_id stands for: a replay must carry the same."""
    return {
        "d": req.decision_id, "a": req.attribution.as_dict() if req.attribution else None,
        "m": req.model, "t": [req.tokens.input, req.tokens.cached_input, req.tokens.output,
                              req.tokens.reasoning],
        "tc": [(t.name, t.count, t.cost.nanos if t.cost else None) for t in req.tool_calls],
        "c": [req.cpu_seconds, req.gpu_seconds,
              req.compute_cost.nanos if req.compute_cost else None],
        "r": [req.review_seconds,
              req.review_hourly_rate.nanos if req.review_hourly_rate else None],
        "o": req.outcome, "l": req.latency_ms,
        "x": req.actual_cost.nanos if req.actual_cost else None,
        **({"at": req.occurred_us} if req.occurred_us is not None else {}),
        # only when non-zero: a report without them hashes as it did before they existed
        **({"cw": req.tokens.cache_write} if req.tokens.cache_write else {}),
        **({"mem": req.memory_gb_seconds} if req.memory_gb_seconds else {}),
        # only when given: a report without a quality hashes as it did before there was one
        **({"q": req.quality} if req.quality is not None else {}),
    }


def feedback_payload(req: FeedbackInput) -> dict[str, Any]:
    """What a feedback_id stands for: a replay must carry the same."""
    return {"d": req.decision_id, "u": req.usage_id, "s": req.score, "src": req.source,
            "c": req.comment, "at": req.occurred_us}
