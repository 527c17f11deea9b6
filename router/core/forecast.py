"""Budget forecasts: where a budget's window will close at the recent rate, and when it would
reach its limit. Pure: the caller passes the scope's hourly spend, the window and the clock's now.

The method, per quantity (money in nanos, or tokens), over the scope's hourly series (UTC hours
from the rollups; missing hours are zero, hours before the scope's first use are no history):

1. **Run rate** ``r``: what the scope spent over the last ``recent_hours`` (24) up to now, the
   current hour's part included, per hour; over less time when the scope is newer, but never
   over less than ``min_rate_hours`` (1), so one call a minute into a new window does not
   extrapolate to sixty an hour.
2. **Hour-of-week profile**, once the scope has at least one complete week of history (at most
   ``history_weeks``, 4): the mean spend of each of the week's 168 hours, in the budget's time
   zone (a 09:00 Monday is compared with earlier 09:00 Mondays), over the complete hours seen.
   It is scaled to the recent level: ``k`` = spend over the last ``recent_hours`` complete hours
   / what the profile expected of those same hours, so a scope that grew keeps its new level
   but the week's shape (busy weekdays, quiet nights and weekends) is kept.
3. **Blend**: each hour to come is expected to cost ``w * k * profile[slot] + (1 - w) * r``, the
   weight ``w`` growing with the history to 1 at ``full_weight_weeks`` (2) weeks: one week is a
   noisy profile, so it is only half trusted.
4. **Projection**: spent + held now (the ledger's exact totals, which the budget bar shows) plus
   the expected spend of every hour from now to the window's end (the partial hours at either end
   pro rata). **Run-out**: the first moment the running total reaches the limit, interpolated
   linearly within its hour; now when it already has; none when it would not in the window.

Fallbacks: no complete week (a new scope, or a window that just started with little history):
the run rate alone (``RUN_RATE``); nothing spent in the history at all: the projection is what is
spent now (``NO_HISTORY``); a scope whose keys no rollup holds (``series=None``: a task_id
scope): the window's own spend per hour elapsed in it, the run rate of the window.

Assumptions, stated: the recent level continues to the window's end (no trend beyond it); the
week is the season (daily and weekly cycles; not month-end or holiday effects); holds settle at
their predicted cost. Rates and the profile are exact fractions, each hour's expectation is
rounded to a millionth of a nano (or token) for the hour-by-hour walk, and the results are rounded
once, half up, to integer nanos or tokens: estimates, but no float touches money.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from fractions import Fraction

from router.core.budgets import BudgetStatus
from router.core.timeunits import HOUR_US

WEEK_US = 7 * 24 * HOUR_US
SCALE = 10**6  # the walk adds hours' expectations in millionths of a nano (or token)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Method(enum.Enum):
    RUN_RATE = "run_rate"
    SEASONAL = "seasonal"
    NO_HISTORY = "no_history"


@dataclass(frozen=True, slots=True)
class ForecastConfig:
    history_weeks: int = 4  # the profile learns from at most this many weeks
    recent_hours: int = 24  # the run rate's and the level's window
    min_rate_hours: int = 1  # the run rate is never taken over less time than this
    full_weight_weeks: int = 2  # the profile's weight reaches 1 with this much history
    max_horizon_hours: int = 366 * 24  # bound on the hours a forecast walks


@dataclass(frozen=True, slots=True)
class Forecast:
    """One quantity's forecast to ``end_us``: money in nanos or tokens."""

    method: Method
    now_us: int
    end_us: int
    so_far: int  # spent + held at now
    projected: int  # at end_us
    per_hour: int  # the recent run rate
    run_out_us: int | None  # when the running total reaches the limit, if before end_us
    history_hours: int  # hours of history learnt from


def history_start(now_us: int, config: ForecastConfig = ForecastConfig()) -> int:
    """The first hour a forecast at ``now_us`` reads from the rollups."""
    return now_us - now_us % HOUR_US - config.history_weeks * WEEK_US


def hourly(buckets: Iterable[tuple[int, int]], step_us: int, now_us: int
           ) -> list[tuple[int, int]]:
    """Buckets of ``step_us`` (a multiple of an hour: the daily rollup's days) spread evenly over
    their hours, the one containing ``now_us`` over its hours up to now only; the sum is kept
    exactly (the remainder goes to the first hours)."""
    out: list[tuple[int, int]] = []
    hours_per = step_us // HOUR_US
    for start, amount in buckets:
        if hours_per <= 1:
            out.append((start, amount))
            continue
        n = max(1, min(hours_per, -(-(now_us - start) // HOUR_US)))
        q, r = divmod(amount, n)
        out.extend((start + i * HOUR_US, q + (1 if i < r else 0)) for i in range(n))
    return out


def forecast(series: Sequence[tuple[int, int]] | None, *, now_us: int, end_us: int,
             so_far: int, limit: int | None, window_start_us: int, tz: tzinfo = UTC,
             config: ForecastConfig = ForecastConfig()) -> Forecast:
    """Forecast the total at ``end_us`` from ``so_far`` at ``now_us`` (see the module's method).

    ``series``: the scope's (hour start, amount) over the hours from ``history_start`` to now,
    the current hour included (None when no rollup holds the scope); ``window_start_us`` bounds
    the window's own run rate used then; ``tz`` is the zone of the hour-of-week profile."""
    end_us = max(end_us, now_us)
    now_hour = now_us - now_us % HOUR_US
    recent_from = now_hour - config.recent_hours * HOUR_US
    min_span = config.min_rate_hours * HOUR_US
    if series is None:
        # the window's own spend per hour elapsed in it; a total budget's has no such span
        start = window_start_us
        if so_far <= 0 or start < -(2**61):
            return _flat(Method.NO_HISTORY, now_us, end_us, so_far, limit, 0, 0)
        rate = Fraction(so_far, max(now_us - start, min_span))  # per microsecond
        own = _scaled(rate * HOUR_US)
        return _walk(Method.RUN_RATE, now_us, end_us, so_far, limit, lambda _h: own, rate,
                     max(0, (now_us - start) // HOUR_US), config)
    amounts: dict[int, int] = {}
    for hour, amount in series:
        if hour <= now_hour:
            amounts[hour] = amounts.get(hour, 0) + amount
    seen = [h for h, a in amounts.items() if a]
    if not seen:
        return _flat(Method.NO_HISTORY, now_us, end_us, so_far, limit, 0, 0)
    first = min(seen)
    rate_from = max(first, recent_from)
    recent = sum(a for h, a in amounts.items() if h >= rate_from)
    rate = Fraction(recent, max(now_us - rate_from, min_span))
    history_us = now_hour - first
    flat = rate * HOUR_US
    flat_scaled = _scaled(flat)
    if history_us < WEEK_US:
        return _walk(Method.RUN_RATE, now_us, end_us, so_far, limit, lambda _h: flat_scaled,
                     rate, history_us // HOUR_US, config)
    slot = _Slots(tz)
    sums = [0] * 168
    counts = [0] * 168
    for h in range(first, now_hour, HOUR_US):
        s = slot(h)
        sums[s] += amounts.get(h, 0)
        counts[s] += 1
    profile = [Fraction(sums[s], counts[s]) if counts[s] else Fraction(0) for s in range(168)]
    level_from = max(first, recent_from)
    expected = sum((profile[slot(h)] for h in range(level_from, now_hour, HOUR_US)), Fraction(0))
    if expected == 0:  # the profile says these hours are idle, yet they spent: trust the rate
        return _walk(Method.RUN_RATE, now_us, end_us, so_far, limit, lambda _h: flat_scaled,
                     rate, history_us // HOUR_US, config)
    actual = sum(amounts.get(h, 0) for h in range(level_from, now_hour, HOUR_US))
    k = Fraction(actual) / expected
    w = min(Fraction(1), Fraction(history_us, config.full_weight_weeks * WEEK_US))
    expect = [_scaled(w * k * p + (1 - w) * flat) for p in profile]  # per slot
    return _walk(Method.SEASONAL, now_us, end_us, so_far, limit, lambda h: expect[slot(h)],
                 rate, history_us // HOUR_US, config)


class _Slots:
    """Hour of the week (Monday 00:00 = 0) of a UTC hour in zone ``tz``."""

    def __init__(self, tz: tzinfo) -> None:
        self._tz = tz

    def __call__(self, hour_us: int) -> int:
        return _slot(self._tz, hour_us)


@functools.lru_cache(maxsize=1 << 16)  # shared by every budget of a zone: ~9 weeks of hours
def _slot(tz: tzinfo, hour_us: int) -> int:
    local = (_EPOCH + timedelta(microseconds=hour_us)).astimezone(tz)
    return local.weekday() * 24 + local.hour


def _flat(method: Method, now_us: int, end_us: int, so_far: int, limit: int | None,
          per_hour: int, history_hours: int) -> Forecast:
    run_out = now_us if limit is not None and so_far >= limit else None
    return Forecast(method, now_us, end_us, so_far, so_far, per_hour, run_out, history_hours)


def _scaled(x: Fraction) -> int:
    """An hour's expectation in integer units of 1 / SCALE (the walk's fixed point)."""
    return _round(x * SCALE)


def _walk(method: Method, now_us: int, end_us: int, so_far: int, limit: int | None,
          scaled_at: Callable[[int], int], rate: Fraction, history_hours: int,
          config: ForecastConfig) -> Forecast:
    """Add each hour's expectation (``scaled_at``: in units of 1 / SCALE) from now to
    ``end_us``, pro rata at the ends, noting when the running total first reaches ``limit``."""
    end_us = min(end_us, now_us + config.max_horizon_hours * HOUR_US)
    total = so_far * SCALE
    cap = None if limit is None else limit * SCALE
    run_out = now_us if cap is not None and total >= cap else None
    hour = now_us - now_us % HOUR_US
    while hour < end_us:
        start, stop = max(hour, now_us), min(hour + HOUR_US, end_us)
        per_hour = scaled_at(hour)
        amount = per_hour if stop - start == HOUR_US else per_hour * (stop - start) // HOUR_US
        if run_out is None and cap is not None and amount > 0 and total + amount >= cap:
            run_out = start + -(-(cap - total) * (stop - start) // amount)
        total += amount
        hour += HOUR_US
    return Forecast(method, now_us, end_us, so_far, _round(Fraction(total, SCALE)),
                    _round(rate * HOUR_US), run_out, history_hours)


def _round(x: Fraction) -> int:
    """Half up (amounts here are never negative)."""
    return int(x + Fraction(1, 2)) if x >= 0 else -int(-x + Fraction(1, 2))




@dataclass(frozen=True, slots=True)
class BudgetForecast:
    """A budget window's forecast in money and tokens, judged against its limits."""

    status: BudgetStatus
    money: Forecast
    tokens: Forecast
    fraction: float  # projected / limit, the fuller of money and tokens (0 without a limit)
    alert: bool  # fraction reached the budget's forecast_alert_at

    @property
    def run_out_us(self) -> int | None:
        """The sooner of the limits' run-outs."""
        r = self.status.rule
        outs = [f.run_out_us for f, lim in ((self.money, r.limit), (self.tokens, r.limit_tokens))
                if lim is not None and f.run_out_us is not None]
        return min(outs) if outs else None

    @property
    def method(self) -> Method:
        """The method of the limited quantity (money's when both are)."""
        limited = self.money if self.status.rule.limit is not None else self.tokens
        return limited.method

    @property
    def history_hours(self) -> int:
        return max(self.money.history_hours, self.tokens.history_hours)


def judge(status: BudgetStatus, money: Forecast, tokens: Forecast) -> BudgetForecast:
    """The budget's forecast from its two quantities' (``forecast`` of its spend and tokens)."""
    rule = status.rule
    fraction = rule.used_fraction(money.projected, 0, tokens.projected, 0)
    alert = rule.forecast_alert_at is not None and fraction >= rule.forecast_alert_at
    return BudgetForecast(status, money, tokens, fraction, alert)
