"""Time is integer microseconds since the Unix epoch throughout the domain; these are its units."""

from __future__ import annotations

SECOND_US = 1_000_000
MINUTE_US = 60 * SECOND_US
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US
