"""Budget forecasts (router.core.forecast): run rate, the hour-of-week profile, run-out times."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from router.core.budgets import BudgetRule, BudgetStatus, Scope, Totals, parse_budgets
from router.core.forecast import (
    WEEK_US,
    Forecast,
    ForecastConfig,
    Method,
    forecast,
    history_start,
    hourly,
    judge,
)
from router.core.timeunits import DAY_US, HOUR_US
from router.core.windows import FOREVER, WindowKind, window_at


def us(*args: int, tz: ZoneInfo | None = None) -> int:
    moment = datetime(*args, tzinfo=tz or UTC)  # type: ignore[misc]
    return int(moment.timestamp()) * 1_000_000


def series(now_us: int, per_hour) -> list[tuple[int, int]]:
    """The history a forecast at ``now_us`` reads, each hour's amount from ``per_hour(hour)``;
    the current hour pro rata."""
    now_hour = now_us - now_us % HOUR_US
    out = [(h, per_hour(h)) for h in range(history_start(now_us), now_hour, HOUR_US)]
    out.append((now_hour, per_hour(now_hour) * (now_us - now_hour) // HOUR_US))
    return out


def at(start: int, end: int, now: int, hist, so_far: int, limit: int | None = None,
       tz: ZoneInfo | None = None) -> Forecast:
    return forecast(hist, now_us=now, end_us=end, so_far=so_far, limit=limit,
                    window_start_us=start, tz=tz or UTC)


# 2026-03-02 is a Monday
MONDAY = us(2026, 3, 2)


def test_a_flat_rate_projects_the_rate_to_the_window_end():
    now = MONDAY + 12 * HOUR_US  # noon, a day window
    f = at(MONDAY, MONDAY + DAY_US, now, series(now, lambda h: 100), so_far=1200, limit=10_000)
    assert f.method is Method.SEASONAL  # four weeks of a flat series: the profile is flat too
    assert f.projected == 2400 and f.per_hour == 100
    assert f.run_out_us is None


def test_a_flat_rate_runs_out_when_the_total_reaches_the_limit():
    now = MONDAY + 12 * HOUR_US
    f = at(MONDAY, MONDAY + DAY_US, now, series(now, lambda h: 100), so_far=1200, limit=2000)
    assert f.run_out_us == now + 8 * HOUR_US  # 800 more at 100 an hour


def test_run_out_is_interpolated_within_the_hour():
    now = MONDAY + 12 * HOUR_US
    f = at(MONDAY, MONDAY + DAY_US, now, series(now, lambda h: 100), so_far=1200, limit=1250)
    assert f.run_out_us == now + HOUR_US // 2


def weekday_weekend(h: int) -> int:
    """100 an hour on weekdays, 10 on Saturdays and Sundays (UTC)."""
    return 10 if datetime.fromtimestamp(h / 1e6, UTC).weekday() >= 5 else 100


def test_a_weekly_season_beats_the_run_rate_over_a_weekend():
    """A week window seen on Friday night: the run rate extrapolates the busy weekdays over the
    quiet weekend; the hour-of-week profile knows the weekend is quiet."""
    week = MONDAY + 7 * DAY_US  # a Monday, with four weeks of history before it
    now = week + 5 * DAY_US  # Saturday 00:00
    so_far = 5 * 24 * 100
    truth = so_far + 2 * 24 * 10
    hist = series(now, weekday_weekend)
    seasonal = at(week, week + WEEK_US, now, hist, so_far)
    naive = forecast(hist, now_us=now, end_us=week + WEEK_US, so_far=so_far, limit=None,
                     window_start_us=week,
                     config=ForecastConfig(history_weeks=4, full_weight_weeks=10**6))
    assert seasonal.method is Method.SEASONAL
    assert naive.per_hour == 100  # the last 24 hours were a Friday
    assert abs(seasonal.projected - truth) < abs(naive.projected - truth) / 10
    assert seasonal.projected == truth


def test_a_day_and_night_season_in_the_budgets_zone():
    """Busy 09-17 in New York: a New York day window seen at local 08:00 expects the day's
    peak, not the night's rate."""
    ny = ZoneInfo("America/New_York")

    def day_night(h: int) -> int:
        return 50 if 9 <= datetime.fromtimestamp(h / 1e6, ny).hour < 17 else 1

    start = us(2026, 3, 3, tz=ny)  # a Tuesday, local midnight
    now = start + 8 * HOUR_US
    f = at(start, start + DAY_US, now, series(now, day_night), so_far=8, tz=ny)
    assert f.method is Method.SEASONAL
    assert f.projected == 8 + 8 * 50 + 8 * 1
    assert f.per_hour < 50  # the last 24 hours' mean


def test_the_profile_is_scaled_to_the_recent_level():
    """The same weekly shape at twice the level this past day: the forecast rises with it (by
    200 / 125: the profile's Wednesday hours average this doubled one with three usual ones)."""
    week = MONDAY + 7 * DAY_US
    now = week + 3 * DAY_US  # Thursday 00:00
    hist = series(now, lambda h: 2 * weekday_weekend(h) if h >= now - DAY_US
                  else weekday_weekend(h))
    f = at(week, week + WEEK_US, now, hist, so_far=0)
    usual = 2 * 24 * 100 + 2 * 24 * 10  # Thursday to Sunday at the old level
    assert f.projected == usual * 200 // 125


def test_a_window_that_just_started_with_little_history_uses_the_run_rate():
    """A scope first used 3 hours ago, 5 minutes into a day window."""
    now = MONDAY + 5 * 60 * 1_000_000
    hist = [(MONDAY - 3 * HOUR_US, 30), (MONDAY - 2 * HOUR_US, 30), (MONDAY - HOUR_US, 30),
            (MONDAY, 1)]
    f = at(MONDAY, MONDAY + DAY_US, now, hist, so_far=1)
    assert f.method is Method.RUN_RATE
    assert f.history_hours == 3
    # 91 over the 3 h 5 min since the first use
    assert f.per_hour == round(91 * 60 / 185)
    assert f.projected == 1 + round(91 / (185 * 60) * (DAY_US - 5 * 60 * 1_000_000) / 1e6)


def test_one_call_a_minute_into_a_new_scope_is_not_sixty_an_hour():
    now = MONDAY + 60 * 1_000_000
    f = at(MONDAY, MONDAY + HOUR_US, now, [(MONDAY, 10)], so_far=10)
    assert f.per_hour == 10  # taken over min_rate_hours (1), not over one minute


def test_no_history_projects_what_is_spent():
    now = MONDAY + 12 * HOUR_US
    for hist in ([], [(MONDAY, 0)]):
        f = at(MONDAY, MONDAY + DAY_US, now, hist, so_far=0, limit=100)
        assert (f.method, f.projected, f.per_hour, f.run_out_us) == (Method.NO_HISTORY, 0, 0,
                                                                      None)


def test_a_scope_no_rollup_holds_uses_the_windows_own_rate():
    now = MONDAY + 6 * HOUR_US
    f = at(MONDAY, MONDAY + DAY_US, now, None, so_far=600, limit=1800)
    assert f.method is Method.RUN_RATE and f.per_hour == 100
    assert f.projected == 2400 and f.run_out_us == MONDAY + 18 * HOUR_US
    total = at(FOREVER[0], now + DAY_US, now, None, so_far=600)
    assert total.method is Method.NO_HISTORY and total.projected == 600


def test_a_budget_already_over_its_limit_ran_out_now():
    now = MONDAY + 12 * HOUR_US
    f = at(MONDAY, MONDAY + DAY_US, now, series(now, lambda h: 100), so_far=5000, limit=2000)
    assert f.run_out_us == now and f.projected == 6200
    idle = at(MONDAY, MONDAY + DAY_US, now, [], so_far=5000, limit=2000)
    assert idle.run_out_us == now


def test_a_month_window_in_a_time_zone():
    """January 2026 in New York (31 local days), at a flat 1 an hour: run-out and close follow
    the local month's bounds."""
    ny = ZoneInfo("America/New_York")
    window = window_at(WindowKind.MONTH, ny, us(2026, 1, 15, tz=ny))
    assert (window.start_us, window.end_us) == (us(2026, 1, 1, tz=ny), us(2026, 2, 1, tz=ny))
    now = us(2026, 1, 11, tz=ny)
    f = at(window.start_us, window.end_us, now, series(now, lambda h: 1), so_far=240,
           limit=500, tz=ny)
    assert f.projected == 744 and f.run_out_us == now + 260 * HOUR_US
    assert f.end_us == window.end_us


def test_daily_buckets_are_spread_over_their_hours_up_to_now():
    now = MONDAY + DAY_US + 6 * HOUR_US
    spread = hourly([(MONDAY, 25), (MONDAY + DAY_US, 7)], DAY_US, now)
    assert len(spread) == 24 + 6
    assert sum(a for _, a in spread[:24]) == 25 and sum(a for _, a in spread[24:]) == 7
    assert spread[0] == (MONDAY, 2) and spread[24] == (MONDAY + DAY_US, 2)
    assert hourly([(MONDAY, 5)], HOUR_US, now) == [(MONDAY, 5)]


def test_the_walk_is_bounded():
    now = MONDAY
    f = at(FOREVER[0], FOREVER[1], now, [(MONDAY - HOUR_US, 1)], so_far=0)
    assert f.end_us == now + 366 * DAY_US


RULES = parse_budgets('''
[[budgets]]
id = "money"
limit = "1"
window = "day"
forecast_alert_at = 0.9

[[budgets]]
id = "tokens"
limit_tokens = 1000
window = "day"
''')


def _fc(projected: int, run_out: int | None, method: Method = Method.RUN_RATE) -> Forecast:
    return Forecast(method, MONDAY, MONDAY + DAY_US, 0, projected, 0, run_out, 0)


def test_a_budget_is_judged_on_its_limited_quantities():
    money, tokens = RULES
    window = window_at(WindowKind.DAY, money.tz, MONDAY)
    s = BudgetStatus(money, window, Totals())
    f = judge(s, _fc(950_000_000, MONDAY + 5), _fc(10**9, MONDAY + 1, Method.SEASONAL))
    assert f.alert and f.fraction == pytest.approx(0.95)
    assert f.run_out_us == MONDAY + 5  # tokens are not limited here
    assert f.method is Method.RUN_RATE
    calm = judge(s, _fc(800_000_000, None), _fc(0, None))
    assert not calm.alert and calm.run_out_us is None
    t = judge(BudgetStatus(tokens, window, Totals()), _fc(10**12, MONDAY),
              _fc(1200, MONDAY + 7, Method.SEASONAL))
    assert not t.alert  # no forecast_alert_at
    assert t.fraction == pytest.approx(1.2) and t.run_out_us == MONDAY + 7
    assert t.method is Method.SEASONAL


def test_forecast_alert_at_is_a_fraction_of_a_window_that_closes():
    with pytest.raises(ValueError, match="forecast_alert_at must be a fraction"):
        parse_budgets('[[budgets]]\nid = "x"\nlimit = "1"\nwindow = "day"\n'
                      'forecast_alert_at = 2\n')
    with pytest.raises(ValueError, match="needs a window that closes"):
        parse_budgets('[[budgets]]\nid = "x"\nlimit = "1"\nwindow = "total"\n'
                      'forecast_alert_at = 0.5\n')
    rule = BudgetRule("x", Scope(), WindowKind.DAY, limit=1, forecast_alert_at=0.5)
    assert rule.forecast_alert_at == 0.5
