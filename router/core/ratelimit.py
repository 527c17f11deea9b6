"""A token bucket per scope, for throttling a budget that is nearly spent. Time is passed in."""

from __future__ import annotations

from dataclasses import dataclass

_US_PER_MINUTE = 60_000_000


@dataclass(slots=True)
class TokenBucket:
    """``per_minute`` calls a minute on average, bursts up to ``burst`` calls."""

    per_minute: int
    burst: int
    tokens: float
    updated_us: int

    @classmethod
    def full(cls, per_minute: int, now_us: int, burst: int | None = None) -> TokenBucket:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        size = burst if burst is not None else max(1, per_minute // 6)  # ten seconds' worth
        return cls(per_minute, size, float(size), now_us)

    def _refill(self, now_us: int) -> None:
        elapsed = max(0, now_us - self.updated_us)
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.per_minute
                          / _US_PER_MINUTE)
        self.updated_us = max(self.updated_us, now_us)

    def try_take(self, now_us: int) -> float:
        """Take one call: 0.0 when allowed, else the seconds until one will be."""
        self._refill(now_us)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) * 60.0 / self.per_minute
