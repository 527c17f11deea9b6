"""Budget windows: hour, day, ISO week, calendar month, or all time, in an IANA time zone.

A window is a half-open interval [start, end) of UTC microseconds, computed from wall-clock
boundaries in the budget's zone: a day is local midnight to local midnight (23 or 25 hours on a
daylight-saving change), a month is a calendar month, a week starts on Monday (ISO 8601). Every
window also has a stable key ("2026-11-28", "2026-W48", "2026-11", "2026-11-28T13", "total")
under which spend is recorded, so a new window starts from nothing without resetting any counter.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from router.core.errors import quoted
from router.core.timeunits import SECOND_US

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FOREVER = (-(2**62), 2**62)  # bounds of the all-time window, in microseconds
MAX_ZONE_CHARS = 64  # the longest IANA name is about half this


class WindowKind(enum.Enum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    TOTAL = "total"


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError when it does not exist.

    The one place a zone name from a request or a file is opened: ``ZoneInfo`` reads it as a
    path, so anything that is not a zone (a directory, a name longer than a file name can be, a
    non-zone file) must end here as ValueError, never OSError."""
    if len(name) > MAX_ZONE_CHARS:
        raise ValueError(f"unknown time zone: names have at most {MAX_ZONE_CHARS} characters")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {quoted(name)}") from exc


@dataclass(frozen=True, slots=True)
class Window:
    kind: WindowKind
    key: str
    start_us: int
    end_us: int

    def contains(self, at_us: int) -> bool:
        return self.start_us <= at_us < self.end_us

    def seconds_left(self, now_us: int) -> float:
        """Until the window resets (a RetryInfo delay)."""
        return max(0.0, (self.end_us - now_us) / SECOND_US)


def _to_us(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * SECOND_US + delta.microseconds


def _local_start(kind: WindowKind, local: datetime) -> datetime:
    if kind is WindowKind.HOUR:
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)
    if kind is WindowKind.DAY:
        return day
    if kind is WindowKind.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)  # MONTH


def _local_next(kind: WindowKind, start: datetime) -> datetime:
    if kind is WindowKind.HOUR:
        # wall-clock arithmetic would repeat or skip an hour on a DST change: step in UTC
        return (start.astimezone(UTC) + timedelta(hours=1)).astimezone(start.tzinfo)
    if kind is WindowKind.DAY:
        return (start + timedelta(days=1)).replace(fold=0)
    if kind is WindowKind.WEEK:
        return (start + timedelta(days=7)).replace(fold=0)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start.replace(year=year, month=month, day=1, fold=0)


def _key(kind: WindowKind, start: datetime) -> str:
    if kind is WindowKind.HOUR:
        return start.strftime("%Y-%m-%dT%H") + ("b" if start.fold else "")
    if kind is WindowKind.DAY:
        return start.strftime("%Y-%m-%d")
    if kind is WindowKind.WEEK:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return start.strftime("%Y-%m")


def window_at(kind: WindowKind, tz: ZoneInfo, at_us: int) -> Window:
    """The window of ``kind`` in zone ``tz`` that contains the instant ``at_us``; ValueError
    when that window does not end by the end of year 9999 (nor can a Timestamp say when it
    does): the calendar ``datetime`` computes in stops there."""
    if kind is WindowKind.TOTAL:
        return Window(kind, "total", *FOREVER)
    try:
        local = (_EPOCH + timedelta(microseconds=at_us)).astimezone(tz)
        start = _local_start(kind, local)
        end = _local_next(kind, start)
        return Window(kind, _key(kind, start), _to_us(start.astimezone(UTC)),
                      _to_us(end.astimezone(UTC)))
    except (OverflowError, ValueError) as exc:
        raise ValueError(f"the {kind.value} window in {tz.key} that contains this moment does "
                         "not end by year 9999") from exc
