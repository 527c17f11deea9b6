"""Group commit: one writer thread turns many queued records into one transaction.

``Route()`` queues its decision and returns; ``ReportUsage()`` waits on a future that resolves only
after its record is committed. While one batch commits, the next accumulates, so throughput grows
with load instead of paying one commit per request. Everything is bounded: the queue, the batch,
and the time ``close()`` spends draining.

Nobody waits for a decision's commit, so a batch of decisions alone lingers up to ``linger_s``
for more to join it (a usage or a barrier, which somebody waits for, ends the wait at once). At
a thousand Routes a second that is one transaction of a few dozen rows instead of one per row or
two: the writer thread takes the interpreter's lock a few times per batch rather than a few
times per decision, and each handoff of that lock costs the event loop as much as a small
handler does.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

import structlog

from router import metrics
from router.core.calibration import Factor
from router.core.errors import StoreUnavailable
from router.core.records import DecisionRecord, UsageRecord
from router.store.base import Store, UsageWrite, WriteStatus

log = structlog.get_logger("router.recorder")


@dataclass(frozen=True, slots=True)
class _Decision:
    record: DecisionRecord


@dataclass(frozen=True, slots=True)
class _Usage:
    record: UsageRecord
    future: Future[UsageWrite]


@dataclass(frozen=True, slots=True)
class _Factors:
    rows: list[Factor]


@dataclass(frozen=True, slots=True)
class _Barrier:
    future: Future[None]


class Recorder:
    """Batches decision and usage records into single transactions on a background thread."""

    def __init__(self, store: Store, *, max_batch: int = 1024, queue_limit: int = 100_000,
                 linger_s: float = 0.0, retry_backoff_s: float = 0.05, max_backoff_s: float = 2.0,
                 on_commit: Callable[[list[UsageWrite]], None] | None = None) -> None:
        self._store = store
        # told of every newly recorded usage, after its commit and before its caller is answered
        self.on_commit = on_commit
        # told, after their commit, of the decisions whose request_id another decision (another
        # replica's, or a racing one of this process) had stored first: they are kept without it
        self.on_request_taken: Callable[[list[DecisionRecord]], None] | None = None
        self._max_batch = max_batch
        self._queue_limit = queue_limit
        self._linger_s = linger_s
        self._retry_backoff_s = retry_backoff_s
        self._max_backoff_s = max_backoff_s
        self._items: deque[_Decision | _Usage | _Factors | _Barrier] = deque()
        self._pending: dict[str, DecisionRecord] = {}
        self._waited_for = 0  # queued usages and barriers: somebody waits for their commit
        self._cond = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self.batches = 0
        self.failures = 0
        # set while the writer retries a batch the store refused: new usage is refused at once
        # (the caller retries) instead of queueing behind the retries
        self._down: StoreUnavailable | None = None

    def start(self) -> Recorder:
        self._thread.start()
        return self

    def _put(self, item: _Decision | _Usage | _Factors | _Barrier) -> None:
        with self._cond:
            if self._closing:
                raise StoreUnavailable("the service is shutting down")
            if len(self._items) >= self._queue_limit:
                raise StoreUnavailable("the write queue is full; retry with backoff")
            self._items.append(item)
            if isinstance(item, _Decision):
                self._pending[item.record.decision_id] = item.record
            elif isinstance(item, _Usage | _Barrier):
                self._waited_for += 1
            self._cond.notify()

    def record_decision(self, record: DecisionRecord) -> None:
        """Queue a decision; it is committed with the next batch."""
        self._put(_Decision(record))

    def record_usage(self, record: UsageRecord) -> Future[UsageWrite]:
        """Queue a usage record; the future resolves once it is committed (or was already).
        StoreUnavailable at once while the store is known to be down."""
        if self._down is not None:
            raise StoreUnavailable(f"the store is unreachable ({self._down}); retry with backoff")
        future: Future[UsageWrite] = Future()
        self._put(_Usage(record, future))
        return future

    def record_factors(self, rows: list[Factor]) -> None:
        """Queue calibration factors; committed (upserted) with the next batch."""
        if rows:
            self._put(_Factors(rows))

    def pending_decision(self, decision_id: str) -> DecisionRecord | None:
        """A decision queued but not yet committed, so a quick ReportUsage can still find it."""
        with self._cond:
            return self._pending.get(decision_id)

    def flush(self, timeout: float | None = 10.0) -> None:
        """Wait until everything queued before this call is committed."""
        barrier: Future[None] = Future()
        self._put(_Barrier(barrier))
        barrier.result(timeout)

    def queued(self) -> int:
        with self._cond:
            return len(self._items)

    def samples(self) -> list[tuple[str, dict[str, str], float]]:
        """The writer's gauges (``router.metrics.GAUGES``), read at scrape time."""
        return [("router_writer_queue_depth", {}, len(self._items))]

    def close(self, timeout: float = 30.0) -> None:
        """Stop accepting records, commit what is queued, stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("recorder.close_timeout", queued=self.queued())

    def _take(self) -> list[_Decision | _Usage | _Factors | _Barrier] | None:
        with self._cond:
            while not self._items and not self._closing:
                self._cond.wait()
            if not self._items:
                return None
            if self._linger_s > 0:
                deadline = time.monotonic() + self._linger_s
                while (not self._waited_for and not self._closing
                       and len(self._items) < self._max_batch):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            n = min(len(self._items), self._max_batch)
            batch = [self._items.popleft() for _ in range(n)]
            self._waited_for -= sum(isinstance(i, _Usage | _Barrier) for i in batch)
            return batch

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            try:
                self._commit(batch)
            except BaseException as exc:  # the writer must outlive any one batch
                log.exception("recorder.batch_crashed", size=len(batch))
                self._fail(batch, StoreUnavailable(f"write failed: {exc}"))

    def _fail_queued_usages(self, exc: StoreUnavailable) -> None:
        """Usage queued behind a failing write is told now, not after the retries."""
        with self._cond:
            waiting = [i for i in self._items if isinstance(i, _Usage)]
            if not waiting:
                return
            self._items = deque(i for i in self._items if not isinstance(i, _Usage))
            self._waited_for -= len(waiting)
        for item in waiting:
            if not item.future.done():
                item.future.set_exception(exc)

    def _fail(self, batch: list[_Decision | _Usage | _Factors | _Barrier],
              exc: Exception) -> None:
        """Resolve whatever a crashed batch left open: callers get an error, never a hang."""
        for item in batch:
            if isinstance(item, _Usage | _Barrier) and not item.future.done():
                item.future.set_exception(exc)

    def _commit(self, batch: list[_Decision | _Usage | _Factors | _Barrier]) -> None:
        started = time.perf_counter()
        decisions = [i.record for i in batch if isinstance(i, _Decision)]
        usage_items = [i for i in batch if isinstance(i, _Usage)]
        latest: dict[tuple[str, str, str], Factor] = {}
        for item in batch:
            if isinstance(item, _Factors):
                latest.update({(f.model, f.task_type, f.agent): f for f in item.rows})
        factors = list(latest.values())
        backoff = self._retry_backoff_s
        taken: list[str] = []
        while True:
            try:
                taken.clear()  # what a failed attempt saw was rolled back with it
                results = self._write(decisions, usage_items, factors, taken)
                break
            except StoreUnavailable as exc:
                self.failures += 1
                self._fail_queued_usages(exc)
                # Usage callers are told at once (they retry; the usage_id makes it safe).
                # Decisions are kept and retried, unless we are shutting down for good.
                for item in usage_items:
                    if not item.future.done():
                        item.future.set_exception(exc)
                usage_items = []
                if not decisions and not factors:
                    results = []
                    break
                self._down = exc  # until this batch commits, new usage is refused at once
                log.warning("recorder.retry", error=str(exc), decisions=len(decisions),
                            factors=len(factors), backoff_s=backoff)
                if self._closing and backoff >= self._max_backoff_s:
                    log.error("recorder.dropped", decisions=len(decisions), factors=len(factors))
                    results = []
                    break
                time.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
        self._down = None
        self.batches += 1
        metrics.WRITER_COMMIT.observe(time.perf_counter() - started)
        metrics.WRITER_BATCH.observe(len(batch))
        if self.on_commit is not None:
            inserted = [r for r in results if r is not None and r.status is WriteStatus.INSERTED]
            if inserted:
                try:
                    self.on_commit(inserted)
                except Exception:
                    log.exception("recorder.on_commit_failed", usages=len(inserted))
        for item, result in zip(usage_items, results, strict=True):
            if not item.future.done():  # isolated failures already carry their exception
                item.future.set_result(result)
        with self._cond:
            for d in decisions:
                self._pending.pop(d.decision_id, None)
        if taken and self.on_request_taken is not None:  # once the queue no longer has them
            lost = set(taken)
            try:
                self.on_request_taken([d for d in decisions if d.decision_id in lost])
            except Exception:
                log.exception("recorder.on_request_taken_failed", decisions=len(lost))
        for item in batch:
            if isinstance(item, _Barrier) and not item.future.done():
                item.future.set_result(None)

    def _write(self, decisions: list[DecisionRecord], usage_items: list[_Usage],
               factors: list[Factor], taken: list[str]) -> list[UsageWrite]:
        usages = [i.record for i in usage_items]
        try:
            return self._store.write_batch(decisions, usages, factors, taken)
        except StoreUnavailable:
            raise
        except Exception:
            if len(decisions) + len(usages) <= 1:
                raise
        # A batch failed for a reason other than reachability: isolate the bad record so one
        # malformed row cannot hold everyone else's back.
        log.exception("recorder.batch_failed_isolating", size=len(decisions) + len(usages))
        try:
            self._store.write_batch([], [], factors)
        except StoreUnavailable:
            raise
        except Exception:
            log.exception("recorder.factors_rejected", count=len(factors))
        for d in decisions:
            try:
                self._store.write_batch([d], [], (), taken)
            except StoreUnavailable:
                raise
            except Exception:
                log.exception("recorder.decision_rejected", decision_id=d.decision_id)
        results: list[UsageWrite] = []
        for item in usage_items:
            try:
                results.extend(self._store.write_batch([], [item.record]))
            except StoreUnavailable:
                raise
            except Exception as exc:
                if not item.future.done():
                    item.future.set_exception(exc)
                results.append(None)  # type: ignore[arg-type]
        return results
