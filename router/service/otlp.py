"""OTLP trace ingestion: a batch of exported spans recorded as the usage reports they carry.

Observe-only: each GenAI span becomes the usage report ReportUsage would record without a
decision (no Route, no hold), priced, attributed and charged to the budgets that apply, and
deduplicated by its usage_id (the span's identity), so an exporter's retry records nothing new.
A batch goes through ReportUsage's own steps (``UsageService.prepare``, ``submit``,
``finish``): every span is prepared, all of them are queued for the group commit together, and
the batch is answered once they have committed, not after one blocking write per span.

A span the service cannot record (unknown model, a time out of range, a bad attribute, another
team's keys) is rejected alone, counted and named in OTLP's partial success; the batch is never
refused for it. A caller that may not report usage at all (a reader key) is refused, and a store
that is down answers UNAVAILABLE for the batch (the exporter retries it; what did commit
replays).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import structlog

from router.auth import SYSTEM, Principal
from router.core.errors import (
    Conflict,
    FieldViolation,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RouterError,
)
from router.core.otlp import AttributeMap, Ignored, Span, SpanUsage, span_usage
from router.core.records import UsageRecord
from router.metrics import OTLP_SPANS
from router.service.usage import UsageService
from router.store.base import UsageWrite

log = structlog.get_logger("router.otlp")
MAX_ERRORS_NAMED = 10  # spans a partial success's message names; the rest are counted
# what refuses one span, not the batch: the store's troubles (StoreUnavailable) refuse the batch
SPAN_ERRORS = (InvalidRequest, PermissionDenied, Conflict, PreconditionFailed, NotFound)


@dataclass
class Batch:
    """A request's spans after ``prepare``: the records to commit, the stored answers of the
    ones that could no longer be checked (``UsageWrite``), and the tallies so far."""

    pending: list[tuple[Span, UsageRecord | UsageWrite]] = field(default_factory=list)
    accepted: int = 0
    ignored: int = 0
    errors: list[str] = field(default_factory=list)  # one per rejected span

    def records(self) -> list[UsageRecord]:
        return [p for _, p in self.pending if isinstance(p, UsageRecord)]


@dataclass(frozen=True, slots=True)
class ExportResult:
    accepted: int  # spans recorded (or already recorded: a replay)
    ignored: int  # spans without GenAI usage
    rejected: int
    error_message: str = ""  # names the first rejected spans and why

    @property
    def spans(self) -> int:
        return self.accepted + self.ignored + self.rejected


class TraceIngest:
    def __init__(self, usage: UsageService, attributes: AttributeMap) -> None:
        self._usage = usage
        self._attributes = attributes

    def prepare(self, spans: Sequence[Span], who: Principal = SYSTEM) -> Batch:
        """Map and price every span (ReportUsage's ``prepare``); may read the store (a replay
        of a span whose model has left the catalog since). PermissionDenied for a caller that
        may only read; StoreUnavailable when the store is needed and down."""
        who.require_spender("report usage")
        batch = Batch()
        for span in spans:
            try:
                mapped = span_usage(span, self._attributes, self._usage.catalog)
            except InvalidRequest as exc:
                batch.errors.append(_rejection(span, exc, None))
                continue
            if isinstance(mapped, Ignored):
                batch.ignored += 1
                continue
            try:
                batch.pending.append((span, self._usage.prepare(mapped.usage, who)))
            except SPAN_ERRORS as exc:
                batch.errors.append(_rejection(span, exc, mapped))
        return batch

    def submit(self, batch: Batch) -> list[Future[UsageWrite]]:
        """Queue the batch's records for one group commit; their futures resolve once it has
        committed. StoreUnavailable at once while the store is known to be down (what was
        queued before still commits; the exporter's retry replays it)."""
        return [self._usage.submit(r) for r in batch.records()]

    def finish(self, batch: Batch, writes: Sequence[UsageWrite],
               who: Principal = SYSTEM) -> ExportResult:
        """The answer once the records have committed (``writes`` in the order of
        ``records()``): a span whose usage_id another payload already holds is rejected."""
        committed = iter(writes)
        for span, prepared in batch.pending:
            write = next(committed) if isinstance(prepared, UsageRecord) else prepared
            try:
                self._usage.finish(write, write.record.usage_id, who, budgets=False)
            except SPAN_ERRORS as exc:
                batch.errors.append(_rejection(span, exc, None))
                continue
            batch.accepted += 1
        result = ExportResult(batch.accepted, batch.ignored, len(batch.errors),
                              _summary(batch.errors))
        OTLP_SPANS.labels("accepted").inc(result.accepted)
        OTLP_SPANS.labels("ignored").inc(result.ignored)
        OTLP_SPANS.labels("rejected").inc(result.rejected)
        if result.rejected:
            log.info("otlp.spans_rejected", rejected=result.rejected,
                     first=batch.errors[0][:300])
        return result


def _rejection(span: Span, error: RouterError, mapped: SpanUsage | None) -> str:
    """Why ``span`` was not recorded, naming it and the attribute (or field) at fault."""
    if isinstance(error, InvalidRequest):
        reasons = "; ".join(_violation(v, mapped) for v in error.violations)
    else:
        reasons = str(error)
    return f"{span.describe()}: {reasons}"


def _violation(v: FieldViolation, mapped: SpanUsage | None) -> str:
    name = mapped.source(v.field) if mapped is not None and v.field else v.field
    return f"{name}: {v.description}" if name else v.description


def _summary(errors: list[str]) -> str:
    if not errors:
        return ""
    named = "; ".join(errors[:MAX_ERRORS_NAMED])
    more = len(errors) - MAX_ERRORS_NAMED
    return named + (f"; and {more} more span(s)" if more > 0 else "")
