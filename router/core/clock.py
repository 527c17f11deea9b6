"""Time, injected: the service asks a Clock, so tests control every window and timestamp."""

from __future__ import annotations

import time
from typing import Protocol

from router.core.timeunits import SECOND_US


class Clock(Protocol):
    def now_us(self) -> int:
        """Microseconds since the Unix epoch, UTC."""


class SystemClock:
    def now_us(self) -> int:
        return time.time_ns() // 1_000


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start_us: int = 1_767_225_600_000_000) -> None:  # 2026-01-01T00:00Z
        self._now = start_us

    def now_us(self) -> int:
        return self._now

    def advance(self, *, seconds: float = 0, us: int = 0) -> None:
        self._now += us + round(seconds * SECOND_US)

    def set(self, now_us: int) -> None:
        self._now = now_us
