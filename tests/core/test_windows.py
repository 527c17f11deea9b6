"""Budget windows in a time zone: boundaries, calendar months, ISO weeks, daylight saving."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.core.windows import FOREVER, WindowKind, window_at, zone

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")


def us(year, month, day, hour=0, minute=0, second=0, tz=UTC, fold=0) -> int:
    moment = datetime(year, month, day, hour, minute, second, tzinfo=tz, fold=fold)
    return int(moment.timestamp() * 1_000_000)


def test_a_second_before_and_at_local_midnight_fall_in_different_days():
    before = window_at(WindowKind.DAY, NEW_YORK, us(2026, 3, 3, 23, 59, 59, tz=NEW_YORK))
    at = window_at(WindowKind.DAY, NEW_YORK, us(2026, 3, 4, 0, 0, 0, tz=NEW_YORK))
    assert before.key == "2026-03-03" and at.key == "2026-03-04"
    assert before.end_us == at.start_us == us(2026, 3, 4, tz=NEW_YORK)


def test_a_month_is_a_calendar_month_in_the_zone():
    feb = window_at(WindowKind.MONTH, LONDON, us(2026, 2, 14, 12, tz=LONDON))
    assert feb.key == "2026-02"
    assert (feb.end_us - feb.start_us) == 28 * 86_400 * 1_000_000
    jan = window_at(WindowKind.MONTH, LONDON, us(2026, 1, 31, 23, 59, 59, tz=LONDON))
    assert jan.key == "2026-01" and jan.end_us == feb.start_us
    dec = window_at(WindowKind.MONTH, LONDON, us(2026, 12, 31, 23, tz=LONDON))
    assert dec.end_us == us(2027, 1, 1, tz=LONDON)
    # 00:30 on 1 March in Kolkata is still February in UTC, but March where the budget lives
    assert window_at(WindowKind.MONTH, KOLKATA, us(2026, 3, 1, 0, 30, tz=KOLKATA)).key == "2026-03"


def test_iso_weeks_start_on_monday():
    sunday = window_at(WindowKind.WEEK, LONDON, us(2026, 11, 29, 23, tz=LONDON))
    monday = window_at(WindowKind.WEEK, LONDON, us(2026, 11, 30, 0, tz=LONDON))
    assert sunday.key == "2026-W48" and monday.key == "2026-W49"
    assert sunday.start_us == us(2026, 11, 23, tz=LONDON)
    assert window_at(WindowKind.WEEK, LONDON, us(2027, 1, 1, tz=LONDON)).key == "2026-W53"


def test_daylight_saving_days_have_23_and_25_hours():
    spring = window_at(WindowKind.DAY, LONDON, us(2026, 3, 29, 12, tz=LONDON))
    autumn = window_at(WindowKind.DAY, LONDON, us(2026, 10, 25, 12, tz=LONDON))
    assert spring.end_us - spring.start_us == 23 * 3600 * 1_000_000
    assert autumn.end_us - autumn.start_us == 25 * 3600 * 1_000_000


def test_the_repeated_autumn_hour_is_two_windows():
    first = window_at(WindowKind.HOUR, LONDON, us(2026, 10, 25, 1, 30, tz=LONDON, fold=0))
    second = window_at(WindowKind.HOUR, LONDON, us(2026, 10, 25, 1, 30, tz=LONDON, fold=1))
    assert first.key != second.key and first.end_us == second.start_us


def test_total_is_forever_and_unknown_zones_fail():
    w = window_at(WindowKind.TOTAL, LONDON, 123)
    assert (w.start_us, w.end_us, w.key) == (*FOREVER, "total")
    with pytest.raises(ValueError, match="Mars/Olympus"):
        zone("Mars/Olympus")


@pytest.mark.parametrize("name", ["x" * 256, "Europe/" + "x" * 300, "America", "zone.tab",
                                  "Europe/London/", "../etc/passwd", "UTC\0", ""])
def test_a_name_that_is_no_zone_is_a_value_error_never_an_os_error(name):
    with pytest.raises(ValueError, match="unknown time zone"):
        zone(name)


@given(st.integers(0, 4_000_000_000 * 1_000_000),
       st.sampled_from(["Europe/London", "America/New_York", "Asia/Kolkata",
                        "Australia/Lord_Howe", "America/Santiago", "UTC"]),
       st.sampled_from([WindowKind.HOUR, WindowKind.DAY, WindowKind.WEEK, WindowKind.MONTH]))
def test_every_instant_lies_in_exactly_one_window_and_windows_tile(at, tz_name, kind):
    tz = zone(tz_name)
    w = window_at(kind, tz, at)
    assert w.contains(at)
    nxt = window_at(kind, tz, w.end_us)
    prev = window_at(kind, tz, w.start_us - 1)
    assert nxt.start_us == w.end_us and prev.end_us == w.start_us
    assert nxt.key != w.key != prev.key
    assert window_at(kind, tz, w.start_us) == w


@pytest.mark.parametrize("kind", [WindowKind.HOUR, WindowKind.DAY, WindowKind.WEEK,
                                  WindowKind.MONTH])
@pytest.mark.parametrize("tz_name", ["UTC", "Europe/London", "Pacific/Kiritimati"])
def test_a_window_that_would_end_after_year_9999_is_a_value_error(kind, tz_name):
    last = us(9999, 12, 31, 23, 59, 59)
    with pytest.raises(ValueError, match="9999"):
        window_at(kind, zone(tz_name), last)
    assert window_at(kind, zone(tz_name), us(9999, 11, 1)).end_us <= last + 1_000_000
