"""Throttles: token buckets for budgets past their throttle threshold."""

from __future__ import annotations

import threading

from router.core.budgets import BudgetStatus
from router.core.ratelimit import TokenBucket

MAX_BUCKETS = 10_000  # one per (budget, window, rate); forgotten all at once past this


class Throttle:
    """Token buckets per (budget, window) for budgets past their throttle threshold.

    Per process: N replicas admit up to N x the configured rate (documented); spend itself is
    never per process.
    """

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str, int], TokenBucket] = {}
        self._lock = threading.Lock()

    def wait(self, status: BudgetStatus, now_us: int) -> float:
        """Seconds until a call may go (0.0: go now, and the call is counted)."""
        per_minute = status.rule.throttle_per_minute or 0
        key = (status.rule.id, status.window.key, per_minute)
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) > MAX_BUCKETS:
                    self._buckets.clear()
                bucket = self._buckets[key] = TokenBucket.full(per_minute, now_us)
            return bucket.try_take(now_us)

