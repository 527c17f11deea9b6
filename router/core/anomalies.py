"""Spend anomaly detectors: pure functions from hourly usage history to a list of anomalies.

The caller reads ~14 days of per-key hourly buckets (agents, and teams with ``agent == ""``) and
per-task call counts, and passes them in with ``now_us``; nothing here reads a clock or a store.

Every detector compares a key with its own history using robust statistics (medians, quantiles,
MAD), so one earlier incident does not become the new normal and one noisy hour does not fire:

- SPEND_SPIKE: the last complete hour and the last 24 h, each against the same window on previous
  days of the same kind (weekday or weekend, UTC) and, once a key has two weeks of history, the
  same window one week earlier; a 09:00 peak is compared with earlier 09:00s, not with the night.
- NEW_AGENT_SPEND: an agent first seen in the last 24 h against what other new agents spent in
  their first day.
- COST_PER_CALL_RISE: a team's calls over the last 24 h against what the same calls cost on a
  usual day of the previous week, each agent's calls at that agent's own median price: dearer
  calls, not a change in who made them (a new agent's burst, or an established agent's burst
  at its usual price, moves the team's average but is NEW_AGENT_SPEND or SPEND_SPIKE).
- RETRY_LOOP: a task with far more calls or failures than the tasks of its task_type.
- PREDICTION_DRIFT: an agent whose actual cost exceeded its predicted cost in most hours of the
  last 24 h, not just in total.

Missing hours mean zero usage; hours before a key's first use are not history at all. Absolute
floors (``min_spend_nanos``, ``min_baseline_nanos_per_hour``) keep tiny keys quiet: going from
1 to 10 nanos is a 10x spike nobody needs to hear about. Statistics are floats (they are
estimates, not money); money in messages is shown in units.
"""

from __future__ import annotations

import enum
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import chain
from operator import attrgetter
from urllib.parse import quote

import numpy as np

from router.core.money import NANOS_PER_UNIT
from router.core.timeunits import DAY_US, HOUR_US

MAD_TO_SIGMA = 1.4826  # MAD x this estimates the standard deviation of normally spread data
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


class Kind(str, enum.Enum):  # noqa: UP042 - the interface the store and API code expect
    SPEND_SPIKE = "spend_spike"
    NEW_AGENT_SPEND = "new_agent_spend"
    COST_PER_CALL_RISE = "cost_per_call_rise"
    RETRY_LOOP = "retry_loop"
    PREDICTION_DRIFT = "prediction_drift"
    # not a detector's: a budget forecast to close past its forecast_alert_at
    # (router.service.budgets raises it through the same store, streams and webhook)
    BUDGET_FORECAST = "budget_forecast"


_KIND_ORDER = {kind: i for i, kind in enumerate(Kind)}
DETECTOR_KINDS = tuple(k for k in Kind if k is not Kind.BUDGET_FORECAST)  # what detect() finds


@dataclass(frozen=True, slots=True)
class HourBucket:
    """One key's usage in one UTC hour; money in integer nanos."""

    hour_us: int  # start of the hour (a multiple of HOUR_US)
    calls: int
    cost: int  # actual cost of all the calls
    predicted_cost: int = 0  # summed over the calls that had a prediction
    predicted_calls: int = 0  # how many calls had a prediction
    actual_of_predicted: int = 0  # actual cost of those same calls
    failures: int = 0


@dataclass(frozen=True, slots=True)
class Series:
    """An agent's (or, with ``agent == ""``, a team's) hours with usage, oldest first."""

    team: str
    agent: str
    first_seen_us: int  # first usage ever; may be earlier than the buckets given
    buckets: tuple[HourBucket, ...]


@dataclass(frozen=True, slots=True)
class TaskCount:
    """One task_id's calls over the detection window."""

    task_id: str
    task_type: str
    team: str
    agent: str
    calls: int
    failures: int
    first_us: int
    last_us: int


@dataclass(frozen=True, slots=True)
class Anomaly:
    kind: Kind
    team: str
    agent: str  # "" when the anomaly is about a team
    task_id: str  # "" unless RETRY_LOOP
    window_start_us: int
    window_end_us: int  # exclusive
    observed: float  # spend (nanos), cost per call (nanos), calls, or actual/predicted ratio
    baseline: float  # what was expected, in the same unit
    message: str
    # JSON-serialisable details; excluded from the hash so an Anomaly can sit in a set
    evidence: Mapping[str, float | int | str] = field(default_factory=dict, hash=False)

    def key(self) -> str:
        """The incident's id: kind, team, agent, task and the incident's start. A detection
        that continues an incident (``same_incident``) is merged into it by ``grow``, which
        keeps the start, so the incident keeps its key however long it lasts. Parts are
        percent-encoded so a "/" in a name cannot make two different keys collide."""
        parts = (self.kind.value, self.team, self.agent, self.task_id, str(self.window_start_us))
        return "/".join(quote(part, safe="") for part in parts)

    def subject(self) -> tuple[Kind, str, str, str]:
        """What the anomaly is about: its kind, team, agent and task."""
        return self.kind, self.team, self.agent, self.task_id


def same_incident(a: Anomaly, b: Anomaly) -> bool:
    """Whether two detections are one incident: the same kind about the same team, agent and
    task, in windows that overlap or meet. A detector judging every hour sees an ongoing
    incident in a window that slides on (the 24 h to 19:00, then to 20:00), both windows of a
    spike (its hour and its day), a task or a new agent over a growing window: each is one
    incident. Windows with a gap between them are two."""
    return (a.subject() == b.subject() and a.window_start_us <= b.window_end_us
            and b.window_start_us <= a.window_end_us)


def grow(incident: Anomaly, seen: Anomaly) -> Anomaly:
    """``incident`` continued by the detection ``seen`` (``same_incident``): its start (and so
    its key) kept, its end the later one, and what was seen (observed, baseline, message,
    evidence) from the detection whose window ends later (on a tie, the one that starts later,
    the more specific window: a spike's hour before its day)."""
    latest = max(incident, seen, key=lambda a: (a.window_end_us, a.window_start_us))
    return replace(latest, window_start_us=incident.window_start_us,
                   window_end_us=max(incident.window_end_us, seen.window_end_us))


def incidents(found: Iterable[Anomaly]) -> list[Anomaly]:
    """One anomaly per incident among ``found`` (one run's detections, as of several hours):
    detections of the same subject whose windows chain together are grown into the earliest."""
    by_subject: dict[tuple[Kind, str, str, str], list[Anomaly]] = defaultdict(list)
    for a in found:
        by_subject[a.subject()].append(a)
    out = []
    for group in by_subject.values():
        group.sort(key=lambda a: (a.window_start_us, a.window_end_us))
        current = group[0]
        for a in group[1:]:
            if same_incident(current, a):
                current = grow(current, a)
            else:
                out.append(current)
                current = a
        out.append(current)
    return sorted(out, key=_order)


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Every threshold, with defaults chosen to alert on incidents, not on ordinary variation."""

    # hourly history the caller passes (and the detectors read): older buckets are ignored, and
    # hours inside it with no bucket count as zero usage, so it must match what is passed
    history_days: int = 14
    # no money alert below this spend in the window: 1 unit (tiny keys stay quiet at any ratio)
    min_spend_nanos: int = NANOS_PER_UNIT

    # SPEND_SPIKE fires at >= k x baseline
    spike_k: float = 10.0
    # the baseline is never below this much per hour of window (0.01 unit/h), so a key that is
    # usually idle needs real money, not a ratio against almost nothing, to fire
    min_baseline_nanos_per_hour: int = 10_000_000
    # comparable earlier windows needed before a key is judged (younger keys: NEW_AGENT_SPEND)
    spike_min_samples: int = 3
    # ... and the spend must also be this multiple of the 90th percentile of those windows, so an
    # erratic key (low median, often high) does not fire on one of its ordinary busy hours
    spike_over_p90: float = 2.0
    # the same window one week earlier also sets the baseline once a key is this old (a weekly
    # batch job is compared with last week's run, not with the idle days in between)
    weekly_min_days: int = 14

    # NEW_AGENT_SPEND fires at >= factor x this quantile of other agents' first-day spend
    new_agent_quantile: float = 0.9
    new_agent_factor: float = 3.0
    # agents whose whole first day is in the history needed to trust that quantile
    new_agent_min_reference: int = 3
    # with fewer references: this absolute ceiling on first-day spend when set, otherwise
    new_agent_ceiling_nanos: int | None = None
    # ... fallback_k x the median established agent's daily spend
    new_agent_fallback_k: float = 10.0

    # COST_PER_CALL_RISE fires when the team's established agents' calls over the last 24 h cost
    # >= ratio x what the same calls cost at each agent's median day's price (with no agent
    # breakdown, the team is its own one agent: cost per call against its median day)
    cpc_ratio: float = 2.0
    cpc_baseline_days: int = 7  # the days before the last 24 h that make the median day
    cpc_min_days: int = 3  # of them, days with calls needed
    cpc_min_calls: int = 20  # judged calls in the last 24 h needed (fewer: noise)
    # cost growth (vs the median day) must be >= margin x call growth: the bill outgrew usage
    cpc_growth_margin: float = 1.5
    # ... and >= this: a shrinking bill is not a cost alert even if each call got dearer
    cpc_min_cost_growth: float = 1.0

    # RETRY_LOOP: per task_type, a task fires at calls >= max(k x median, median + z x sigma,
    # min_calls), sigma = 1.4826 x MAD; failures likewise with min_failures
    retry_k: float = 5.0
    retry_z: float = 6.0
    retry_min_calls: int = 20
    retry_min_failures: int = 10
    # tasks of a type needed for its median to mean anything; smaller types use absolute floors
    retry_min_tasks: int = 5
    retry_floor_calls: int = 100
    retry_floor_failures: int = 30

    # PREDICTION_DRIFT fires at sum(actual) / sum(predicted) >= ratio over the last 24 h
    drift_ratio: float = 1.5
    drift_min_calls: int = 20  # predicted calls in the last 24 h needed
    # the excess must be sustained: over the ratio in at least this fraction of the hours with
    # predictions, in at least min_hours of them (or in every one of fewer hours when the agent's
    # previous days were over the ratio too), and still over it without its worst hour
    drift_sustained_fraction: float = 0.5
    drift_min_hours: int = 3
    drift_history_days: int = 3  # previous days with predictions needed to call drift chronic

    def __post_init__(self) -> None:
        positive = ("spike_k", "spike_over_p90", "new_agent_factor", "new_agent_fallback_k",
                    "cpc_ratio", "cpc_growth_margin", "retry_k", "drift_ratio")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        at_least_one = ("cpc_baseline_days", "cpc_min_days", "spike_min_samples",
                        "new_agent_min_reference", "retry_min_tasks", "drift_min_hours")
        for name in at_least_one:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.history_days < 2:
            raise ValueError("history_days must be at least 2 (a day to judge, one to compare)")
        for name in ("new_agent_quantile", "drift_sustained_fraction"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1]")


DEFAULTS = DetectorConfig()


def floor_hour(at_us: int) -> int:
    """The start of the UTC hour containing ``at_us``."""
    return at_us - at_us % HOUR_US


# --- the public detectors -------------------------------------------------------------------

def detect(now_us: int, agents: Sequence[Series], teams: Sequence[Series],
           tasks: Sequence[TaskCount], config: DetectorConfig = DEFAULTS) -> list[Anomaly]:
    """Every anomaly in the windows ending at ``now_us`` (the caller passes ~14 days of hourly
    history), ordered by kind, team, agent, task and window. The agents' grid is built once and
    shared by the three detectors that read it."""
    agent_grid = _Grid.build(now_us, agents, config.history_days, _AGENT_FIELDS)
    team_grid = _Grid.build(now_us, teams, config.history_days, _TEAM_FIELDS)
    found = [*_spend_spikes(agent_grid, config),
             *_new_agent_spend(agent_grid, config),
             *_cost_per_call_rise(team_grid, config, agent_grid),
             *retry_loops(now_us, tasks, config),
             *_prediction_drift(agent_grid, config)]
    return sorted(found, key=_order)


def spend_spikes(now_us: int, agents: Sequence[Series],
                 config: DetectorConfig = DEFAULTS) -> list[Anomaly]:
    """Agents that spent >= spike_k x their seasonal baseline in the last complete hour or the
    last 24 h (at most one anomaly per agent per window; both windows may fire)."""
    grid = _Grid.build(now_us, agents, config.history_days, ("cost",))
    return sorted(_spend_spikes(grid, config), key=_order)


def new_agent_spend(now_us: int, agents: Sequence[Series],
                    config: DetectorConfig = DEFAULTS) -> list[Anomaly]:
    """Agents first seen in the last 24 h whose spend since then is far above what new agents
    usually spend in their whole first day."""
    grid = _Grid.build(now_us, agents, config.history_days, ("cost",))
    return sorted(_new_agent_spend(grid, config), key=_order)


def cost_per_call_rise(now_us: int, teams: Sequence[Series], config: DetectorConfig = DEFAULTS,
                       *, agents: Sequence[Series] = ()) -> list[Anomaly]:
    """Teams whose calls over the last 24 h cost >= cpc_ratio x what the same calls cost on a
    usual day of the previous week, while their bill grew clearly faster than their calls.

    With ``agents`` (the teams' agents, as ``detect`` gets them), each agent that has calls in
    the baseline is priced at its own median day's cost per call, and agents without (new ones)
    are left out; without, each team is judged as one agent."""
    grid = _Grid.build(now_us, teams, config.history_days, _TEAM_FIELDS)
    agent_grid = _Grid.build(now_us, agents, config.history_days, _TEAM_FIELDS)
    return sorted(_cost_per_call_rise(grid, config, agent_grid), key=_order)


def prediction_drift(now_us: int, agents: Sequence[Series],
                     config: DetectorConfig = DEFAULTS) -> list[Anomaly]:
    """Agents whose actual cost kept exceeding their predicted cost over the last 24 h."""
    grid = _Grid.build(now_us, agents, config.history_days, _DRIFT_FIELDS)
    return sorted(_prediction_drift(grid, config), key=_order)


def retry_loops(now_us: int, tasks: Sequence[TaskCount],
                config: DetectorConfig = DEFAULTS) -> list[Anomaly]:
    """Tasks with far more calls, or failures, than the tasks of their task_type.

    Each type is judged against its own median and MAD, so a type whose tasks all take many
    calls is its own normal; types with fewer than retry_min_tasks tasks use absolute floors.
    ``now_us`` is unused (the tasks already cover the window) and kept for a uniform signature.
    """
    del now_us
    by_type: dict[str, list[TaskCount]] = defaultdict(list)
    for task in tasks:
        by_type[task.task_type].append(task)
    found = []
    for group in by_type.values():
        calls = np.fromiter((t.calls for t in group), np.float64, len(group))
        failures = np.fromiter((t.failures for t in group), np.float64, len(group))
        if len(group) >= config.retry_min_tasks:
            call_limit, call_median, call_mad = _outlier_limit(
                calls, config.retry_k, config.retry_z, config.retry_min_calls)
            failure_limit, failure_median, _ = _outlier_limit(
                failures, config.retry_k, config.retry_z, config.retry_min_failures)
            method = "task_type median/MAD"
        else:
            call_limit, failure_limit = config.retry_floor_calls, config.retry_floor_failures
            call_median, failure_median = float(call_limit), float(failure_limit)
            call_mad = 0.0
            method = f"absolute floor (type has fewer than {config.retry_min_tasks} tasks)"
        for i in np.flatnonzero((calls >= call_limit) | (failures >= failure_limit)):
            found.append(_retry_anomaly(group[i], method, len(group), call_limit, call_median,
                                        call_mad, failure_limit, failure_median, config))
    return sorted(found, key=_order)


# --- the hourly grid ------------------------------------------------------------------------

_AGENT_FIELDS = ("cost", "calls", "predicted_cost", "predicted_calls", "actual_of_predicted")
_DRIFT_FIELDS = ("predicted_cost", "predicted_calls", "actual_of_predicted")
_TEAM_FIELDS = ("cost", "calls")


@dataclass(frozen=True, slots=True)
class _Grid:
    """Series laid on a dense (key x hour) grid of the complete hours before ``end_us``.

    Dense arrays turn every window sum into a difference of cumulative sums and every baseline
    into a column selection, so 2,000 agents x 14 days is a few small matrix operations.
    """

    series: Sequence[Series]
    now_us: int
    end_us: int  # floor_hour(now_us): the grid's exclusive end
    hours: int
    first_us: np.ndarray  # (n,) first use: first_seen_us, or an earlier bucket if there is one
    first_col: np.ndarray  # (n,) grid column of that hour; negative when before the grid
    values: dict[str, np.ndarray]  # field -> (n, hours) float64, missing hours are zero
    current_cost: np.ndarray  # (n,) cost in the incomplete hour [end_us, now_us)

    @property
    def start_us(self) -> int:
        return self.end_us - self.hours * HOUR_US

    @classmethod
    def build(cls, now_us: int, series: Sequence[Series], days: int,
              fields: Sequence[str]) -> _Grid:
        end_us, hours = floor_hour(now_us), days * 24
        start_us, n = end_us - hours * HOUR_US, len(series)
        # one flat pass over every bucket: attribute reads are the cost that matters here
        buckets = list(chain.from_iterable(s.buckets for s in series))
        width = 1 + len(fields)
        flat = np.fromiter(chain.from_iterable(map(attrgetter("hour_us", *fields), buckets)),
                           np.int64, len(buckets) * width).reshape(len(buckets), width)
        row = np.repeat(np.arange(n), [len(s.buckets) for s in series])
        hour = flat[:, 0]
        # first use is first_seen_us, unless a bucket says usage began in an earlier hour
        first_us = np.fromiter((s.first_seen_us for s in series), np.int64, n)
        first_bucket = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(first_bucket, row, hour)
        first_us = np.where(first_bucket < first_us - first_us % HOUR_US, first_bucket, first_us)
        col = (hour - start_us) // HOUR_US
        inside = (col >= 0) & (col < hours)
        cell = row[inside] * hours + col[inside]
        values = {name: np.bincount(cell, weights=flat[inside, i + 1],
                                    minlength=n * hours).reshape(n, hours)
                  for i, name in enumerate(fields)}
        current = (hour >= end_us) & (hour < now_us)
        current_cost = (np.bincount(row[current], weights=flat[current, 1 + fields.index("cost")],
                                    minlength=n) if "cost" in fields else np.zeros(n))
        first_col = (first_us - first_us % HOUR_US - start_us) // HOUR_US
        return cls(series, now_us, end_us, hours, first_us, first_col, values, current_cost)

    def weekend(self, col: np.ndarray | int) -> np.ndarray:
        """Whether grid column ``col`` is a Saturday or Sunday hour (UTC)."""
        day = (self.start_us + np.asarray(col) * HOUR_US) // DAY_US
        return (day + _EPOCH_WEEKDAY) % 7 >= 5


def _cumulative(values: np.ndarray) -> np.ndarray:
    """(n, hours + 1) running sums, leading zero: window [a, b) sums to c[:, b] - c[:, a]."""
    out = np.zeros((values.shape[0], values.shape[1] + 1))
    np.cumsum(values, axis=1, out=out[:, 1:])
    return out


# --- SPEND_SPIKE ----------------------------------------------------------------------------

def _spend_spikes(grid: _Grid, config: DetectorConfig) -> list[Anomaly]:
    if not grid.series:
        return []
    running = _cumulative(grid.values["cost"])
    return [*_spikes_in_window(grid, running, 1, config),
            *_spikes_in_window(grid, running, 24, config)]


def _spikes_in_window(grid: _Grid, running: np.ndarray, length: int,
                      config: DetectorConfig) -> list[Anomaly]:
    """Agents whose spend over the last ``length`` complete hours is a spike.

    The baseline is the median of the same window on previous days of the same kind (weekday or
    weekend, by the window's last hour) when there are enough of them, else of all previous days;
    raised to the same window one week earlier for keys with two weeks of history. A key usually
    idle at that time (median 0) is compared with its typical non-idle window instead, so a
    sparse agent's ordinary busy hour is not a spike against zero.
    """
    hours = grid.hours
    observed = running[:, hours] - running[:, hours - length]
    rows = np.flatnonzero(observed >= config.min_spend_nanos)  # the cheap test first
    if rows.size == 0:
        return []
    run, first, observed = running[rows], grid.first_col[rows], observed[rows]

    shifts = np.arange(1, grid.hours // 24)  # in days
    shifts = shifts[hours - length - 24 * shifts >= 0]
    ends = hours - 24 * shifts  # exclusive end column of each earlier window
    samples = run[:, ends] - run[:, ends - length]
    existed = (ends - length)[None, :] >= first[:, None]  # the whole window after first use
    same_kind = grid.weekend(ends - 1) == grid.weekend(hours - 1)
    enough_same = (existed & same_kind).sum(axis=1) >= config.spike_min_samples
    seasonal = existed & np.where(enough_same[:, None], same_kind[None, :], True)
    median, p90 = _row_quantiles(np.where(seasonal, samples, np.nan), (0.5, 0.9))

    old = grid.first_us[rows] <= grid.end_us - config.weekly_min_days * DAY_US
    weekly_mask = existed & (shifts % 7 == 0)[None, :] & old[:, None]
    (weekly,) = _row_quantiles(np.where(weekly_mask, samples, np.nan), (0.5,))
    expected = np.fmax(median, weekly)  # fmax: NaN (no weekly sample) loses

    eligible = existed.sum(axis=1) >= config.spike_min_samples
    idle = np.flatnonzero(eligible & (expected == 0))
    if idle.size:
        expected[idle] = np.nan_to_num(_active_level(run[idle], first[idle], length, hours))
    baseline = np.maximum(expected, config.min_baseline_nanos_per_hour * length)
    threshold = np.maximum(np.maximum(config.spike_k * baseline, config.min_spend_nanos),
                           config.spike_over_p90 * np.nan_to_num(p90))
    fired = np.flatnonzero(eligible & (observed >= threshold))
    from_active = set(idle.tolist())
    found = []
    for i in fired:
        s = grid.series[rows[i]]
        if i in from_active:
            method = "typical non-idle window"
        elif weekly[i] > median[i]:
            method = "same window last week"
        else:
            method = "same hour, " + ("same kind of day" if enough_same[i] else "all days")
        if baseline[i] > expected[i]:
            method += ", raised to the floor"
        start, end = grid.end_us - length * HOUR_US, grid.end_us
        span = (f"the hour from {_when(start)}" if length == 1
                else f"the 24 h to {_when(end)}")
        found.append(Anomaly(
            Kind.SPEND_SPIKE, s.team, s.agent, "", start, end,
            float(observed[i]), float(baseline[i]),
            f"{_who(s)} spent {_money(observed[i])} in {span}, "
            f"{observed[i] / baseline[i]:.1f}x its baseline of {_money(baseline[i])} ({method})",
            _evidence(window_hours=length, baseline_method=method,
                      samples=int(seasonal[i].sum()), median_nanos=median[i],
                      p90_nanos=p90[i], last_week_nanos=weekly[i], k=config.spike_k,
                      threshold_nanos=threshold[i])))
    return found


def _active_level(run: np.ndarray, first: np.ndarray, length: int, hours: int) -> np.ndarray:
    """Median non-zero spend over earlier non-overlapping windows of ``length`` hours."""
    ends = hours - length * np.arange(1, hours // length)
    values = run[:, ends] - run[:, ends - length]
    keep = ((ends - length)[None, :] >= first[:, None]) & (values > 0)
    (level,) = _row_quantiles(np.where(keep, values, np.nan), (0.5,))
    return level


# --- NEW_AGENT_SPEND ------------------------------------------------------------------------

def _new_agent_spend(grid: _Grid, config: DetectorConfig) -> list[Anomaly]:
    if not grid.series:
        return []
    hours, running = grid.hours, _cumulative(grid.values["cost"])
    is_new = grid.first_us >= grid.now_us - DAY_US
    first = np.clip(grid.first_col, 0, hours)
    spent = running[:, hours] - running[np.arange(len(first)), first] + grid.current_cost
    candidates = np.flatnonzero(is_new & (spent >= config.min_spend_nanos))
    if candidates.size == 0:
        return []

    # agents whose whole first day lies inside the history (and who are not new themselves)
    refs = np.flatnonzero(~is_new & (grid.first_col >= 0) & (grid.first_col + 24 <= hours))
    first_day = running[refs, grid.first_col[refs] + 24] - running[refs, grid.first_col[refs]]
    if refs.size >= config.new_agent_min_reference:
        baseline = float(np.quantile(first_day, config.new_agent_quantile))
        threshold = max(config.new_agent_factor * baseline, config.min_spend_nanos)
        method = (f"p{round(100 * config.new_agent_quantile)} of {refs.size} earlier new "
                  "agents' first-day spend")
        factor = config.new_agent_factor
    elif config.new_agent_ceiling_nanos is not None:
        baseline = float(config.new_agent_ceiling_nanos)
        threshold = max(baseline, config.min_spend_nanos)
        method, factor = "configured first-day ceiling", 1.0
    else:
        established = np.flatnonzero(~is_new)
        if established.size == 0:
            return []  # nothing to compare with
        days = np.maximum((hours - first[established]) / 24, 1.0)
        daily = (running[established, hours] - running[established, first[established]]) / days
        baseline = float(np.median(daily))
        threshold = max(config.new_agent_fallback_k * baseline, config.min_spend_nanos)
        method = f"median daily spend of {established.size} established agents"
        factor = config.new_agent_fallback_k

    found = []
    for r in candidates:
        if spent[r] < threshold:
            continue
        s = grid.series[int(r)]
        start = int(grid.first_us[r])
        ratio = f"{spent[r] / baseline:.1f}x " if baseline > 0 else ""
        found.append(Anomaly(
            Kind.NEW_AGENT_SPEND, s.team, s.agent, "", start, grid.now_us,
            float(spent[r]), baseline,
            f"new {_who(s)} spent {_money(spent[r])} since it was first seen at {_when(start)}, "
            f"{ratio}the {_money(baseline)} expected ({method})",
            _evidence(baseline_method=method, reference_agents=int(refs.size),
                      reference_median_nanos=float(np.median(first_day)) if refs.size else None,
                      factor=factor, threshold_nanos=threshold,
                      hours_since_first_seen=(grid.now_us - start) / HOUR_US)))
    return found


# --- COST_PER_CALL_RISE ---------------------------------------------------------------------

def _cost_per_call_rise(grid: _Grid, config: DetectorConfig,
                        agents: _Grid | None = None) -> list[Anomaly]:
    """Compares whole days aligned on the hour: the last 24 h and the cpc_baseline_days before.

    A team's cost per call is a mix: its agents' prices weighted by who made the calls. A burst
    of calls by a dear agent (a new deployment, or an established agent's spike at its usual
    price) moves the average without any call getting dearer, and those bursts have their own
    kinds. So the last day is judged per member, a price index: the members' cost over the last
    24 h against what the same calls would have cost at each member's usual price (the median of
    its daily cost per call in the baseline days). Members are the team's agents and the team's
    usage without an agent; members with no calls in the baseline have no usual price and are
    left out (reported as ``unjudged_calls``). Without agents the team is its one member, and
    the index is its cost per call against its median day's.
    """
    if not grid.series:
        return []
    n, days = len(grid.series), grid.hours // 24
    cost, calls = _daily(grid.values["cost"], days), _daily(grid.values["calls"], days)
    m_team, m_cost, m_calls = _members(grid, cost, calls, agents, days)
    before = slice(max(days - 1 - config.cpc_baseline_days, 0), days - 1)

    # each member's usual price, and the team's last day priced at it
    with np.errstate(divide="ignore", invalid="ignore"):
        member_cpc = np.where(m_calls[:, before] > 0, m_cost[:, before] / m_calls[:, before],
                              np.nan)
    (usual,) = _row_quantiles(member_cpc, (0.5,))
    known = ~np.isnan(usual)
    judged_cost = np.bincount(m_team[known], weights=m_cost[known, -1], minlength=n)
    judged_calls = np.bincount(m_team[known], weights=m_calls[known, -1], minlength=n)
    expected = np.bincount(m_team[known], weights=m_calls[known, -1] * usual[known],
                           minlength=n)
    rows = np.flatnonzero((judged_calls >= config.cpc_min_calls)
                          & (judged_cost >= config.min_spend_nanos) & (expected > 0))
    if rows.size == 0:
        return []

    # the team's usual day (the days it judges from, and how much it usually spends and calls)
    cost_days, call_days = cost[rows, before], calls[rows, before]
    used = call_days > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        per_call = np.where(used, cost_days / call_days, np.nan)
    (median_cpc,) = _row_quantiles(per_call, (0.5,))
    (median_cost,) = _row_quantiles(np.where(used, cost_days, np.nan), (0.5,))
    (median_calls,) = _row_quantiles(np.where(used, call_days, np.nan), (0.5,))
    judged_cost, judged_calls, expected = judged_cost[rows], judged_calls[rows], expected[rows]
    judged = (used.sum(axis=1) >= config.cpc_min_days) & (median_cpc > 0) & (median_cost > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cpc_now = judged_cost / judged_calls
        cpc_usual = expected / judged_calls
        ratio = judged_cost / expected
        cost_growth = judged_cost / median_cost
        call_growth = judged_calls / median_calls
    fired = np.flatnonzero(judged & (ratio >= config.cpc_ratio)
                           & (cost_growth >= config.cpc_min_cost_growth)
                           & (cost_growth >= config.cpc_growth_margin * call_growth))
    found = []
    start, end = grid.end_us - DAY_US, grid.end_us
    baseline_span = before.stop - before.start
    by_member = agents is not None and len(agents.series) > 0
    method = (f"each agent's median daily cost per call, previous {baseline_span} days, for "
              "its calls in the last 24 h" if by_member
              else f"median daily cost per call, previous {baseline_span} days")
    for i in fired:
        r = rows[i]
        s = grid.series[r]
        who = f"team {s.team!r}" + (f" agent {s.agent!r}" if s.agent else "")
        versus = (f"the {_money(cpc_usual[i])} the same calls cost at its agents' usual prices"
                  if by_member else f"its median day's {_money(cpc_usual[i])}")
        unjudged_calls = calls[r, -1] - judged_calls[i]
        left_out = (f"; {int(unjudged_calls)} calls of agents new since then not judged"
                    if unjudged_calls > 0 else "")
        found.append(Anomaly(
            Kind.COST_PER_CALL_RISE, s.team, s.agent, "", start, end,
            float(cpc_now[i]), float(cpc_usual[i]),
            f"{who} paid {_money(cpc_now[i])} per call in the 24 h to {_when(end)}, "
            f"{ratio[i]:.1f}x {versus} "
            f"(cost x{cost_growth[i]:.1f}, calls x{call_growth[i]:.1f}){left_out}",
            _evidence(baseline_method=method, baseline_days=int(used[i].sum()),
                      cost_nanos=judged_cost[i], calls=int(judged_calls[i]),
                      cost_growth=cost_growth[i], call_growth=call_growth[i], ratio=ratio[i],
                      team_cost_per_call_nanos=cost[r, -1] / calls[r, -1],
                      team_median_cost_per_call_nanos=median_cpc[i],
                      unjudged_calls=int(unjudged_calls),
                      unjudged_cost_nanos=cost[r, -1] - judged_cost[i])))
    return found


def _daily(hourly: np.ndarray, days: int) -> np.ndarray:
    """(n, hours) -> (n, days): whole days aligned on the grid's end."""
    return hourly.reshape(hourly.shape[0], days, 24).sum(axis=2)


def _members(teams: _Grid, cost: np.ndarray, calls: np.ndarray, agents: _Grid | None,
             days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The members of each team, as (team row, daily cost, daily calls): its agents, and what
    the team spent without an agent (the team's series minus its agents'). Agents of a team
    that has no series are ignored."""
    n = len(teams.series)
    row_of = {s.team: i for i, s in enumerate(teams.series)}
    if agents is None or not agents.series:
        return np.arange(n), cost, calls
    team_of = np.fromiter((row_of.get(s.team, -1) for s in agents.series), np.intp,
                          len(agents.series))
    mine = np.flatnonzero(team_of >= 0)
    a_cost = _daily(agents.values["cost"][mine], days)
    a_calls = _daily(agents.values["calls"][mine], days)
    rest_cost, rest_calls = cost.copy(), calls.copy()
    np.subtract.at(rest_cost, team_of[mine], a_cost)
    np.subtract.at(rest_calls, team_of[mine], a_calls)
    return (np.concatenate([team_of[mine], np.arange(n)]),
            np.vstack([a_cost, np.maximum(rest_cost, 0)]),
            np.vstack([a_calls, np.maximum(rest_calls, 0)]))


# --- RETRY_LOOP -----------------------------------------------------------------------------

def _outlier_limit(values: np.ndarray, k: float, z: float,
                   floor: float) -> tuple[float, float, float]:
    """(limit, median, MAD): values at or over the limit are far out for this population."""
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median)))
    return max(k * median, median + z * MAD_TO_SIGMA * mad, floor), median, mad


def _retry_anomaly(task: TaskCount, method: str, tasks_of_type: int, call_limit: float,
                   call_median: float, call_mad: float, failure_limit: float,
                   failure_median: float, config: DetectorConfig) -> Anomaly:
    by_calls = task.calls >= call_limit
    metric = "calls" if by_calls else "failures"
    observed = float(task.calls if by_calls else task.failures)
    baseline = call_median if by_calls else failure_median
    if method.startswith("absolute"):
        versus = f"at or over the floor of {baseline:g} for rare task types"
    elif baseline > 0:
        versus = f"{observed / baseline:.1f}x the median {task.task_type!r} task's {baseline:g}"
    else:
        versus = f"where the median {task.task_type!r} task has none"
    return Anomaly(
        Kind.RETRY_LOOP, task.team, task.agent, task.task_id, task.first_us, task.last_us + 1,
        observed, baseline,
        f"task {task.task_id!r} ({task.task_type}) of agent {task.agent!r} in team "
        f"{task.team!r} made {task.calls} calls ({task.failures} failed) between "
        f"{_when(task.first_us)} and {_when(task.last_us)}: {metric} {versus}",
        _evidence(metric=metric, baseline_method=method, tasks_of_type=tasks_of_type,
                  calls=task.calls, failures=task.failures, call_limit=call_limit,
                  call_median=call_median, call_mad=call_mad, failure_limit=failure_limit,
                  k=config.retry_k, z=config.retry_z))


# --- PREDICTION_DRIFT -----------------------------------------------------------------------

def _prediction_drift(grid: _Grid, config: DetectorConfig) -> list[Anomaly]:
    if not grid.series:
        return []
    hours, last = grid.hours, slice(grid.hours - 24, grid.hours)
    actual_h = grid.values["actual_of_predicted"]
    predicted_h = grid.values["predicted_cost"]
    calls_h = grid.values["predicted_calls"]
    actual, predicted = actual_h[:, last].sum(axis=1), predicted_h[:, last].sum(axis=1)
    calls = calls_h[:, last].sum(axis=1)
    rows = np.flatnonzero((calls >= config.drift_min_calls) & (predicted > 0)
                          & (actual >= config.drift_ratio * predicted))
    if rows.size == 0:
        return []
    a, p, c = actual_h[rows, last], predicted_h[rows, last], calls_h[rows, last]
    actual, predicted, calls = actual[rows], predicted[rows], calls[rows]
    ratio = actual / predicted

    with_prediction = (c > 0) & (p > 0)
    over = with_prediction & (a >= config.drift_ratio * p)
    hours_pred, hours_over = with_prediction.sum(axis=1), over.sum(axis=1)
    # the total without the hour that contributed most of the excess: one hour cannot carry it
    worst = np.argmax(np.where(with_prediction, a - p, -np.inf), axis=1)
    pick = np.arange(rows.size)
    rest_p = predicted - p[pick, worst]
    with np.errstate(divide="ignore", invalid="ignore"):
        without_worst = np.where(rest_p > 0, (actual - a[pick, worst]) / rest_p, 0.0)

    # the agent's own previous days: chronic drift is still drift (the prediction is wrong), and
    # it lets an agent with few hours of predictions fire when every one of them is over
    days = hours // 24 - 1
    day_a = actual_h[rows, : hours - 24].reshape(rows.size, days, 24).sum(axis=2)
    day_p = predicted_h[rows, : hours - 24].reshape(rows.size, days, 24).sum(axis=2)
    day_c = calls_h[rows, : hours - 24].reshape(rows.size, days, 24).sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        day_ratio = np.where((day_p > 0) & (day_c > 0), day_a / day_p, np.nan)
    (history,) = _row_quantiles(day_ratio, (0.5,))
    history_days = np.count_nonzero(~np.isnan(day_ratio), axis=1)
    chronic = (history_days >= config.drift_history_days) & (history >= config.drift_ratio)

    sustained = ((hours_over >= config.drift_sustained_fraction * hours_pred)
                 & ((hours_over >= config.drift_min_hours) | chronic)
                 & (without_worst >= config.drift_ratio))
    found = []
    start, end = grid.end_us - DAY_US, grid.end_us
    for i in np.flatnonzero(sustained):
        s = grid.series[rows[i]]
        past = (f"; it ran at {history[i]:.2f}x over its previous {history_days[i]} days"
                if history_days[i] else "")
        found.append(Anomaly(
            Kind.PREDICTION_DRIFT, s.team, s.agent, "", start, end, float(ratio[i]), 1.0,
            f"{_who(s)} cost {ratio[i]:.2f}x its predicted cost in the 24 h to {_when(end)} "
            f"(actual {_money(actual[i])} vs predicted {_money(predicted[i])} over "
            f"{int(calls[i])} calls, {hours_over[i]} of {hours_pred[i]} hours over "
            f"{config.drift_ratio:g}x){past}",
            _evidence(actual_nanos=actual[i], predicted_nanos=predicted[i],
                      predicted_calls=int(calls[i]), hours_with_predictions=int(hours_pred[i]),
                      hours_over=int(hours_over[i]), ratio_without_worst_hour=without_worst[i],
                      history_ratio=history[i], history_days=int(history_days[i]),
                      chronic=bool(chronic[i]), ratio_threshold=config.drift_ratio)))
    return found


# --- helpers --------------------------------------------------------------------------------

def _row_quantiles(values: np.ndarray, qs: Sequence[float]) -> list[np.ndarray]:
    """Per-row quantiles (linear interpolation) ignoring NaN; NaN for a row with no values.

    np.nanquantile handles a 2-D array row by row in Python and warns on empty rows; one sort
    (NaN sorts last) and a gather per quantile does every row at once.
    """
    rows, width = values.shape
    if width == 0:
        return [np.full(rows, np.nan) for _ in qs]
    ordered = np.sort(values, axis=1)
    count = np.count_nonzero(~np.isnan(values), axis=1)
    top = np.maximum(count - 1, 0)
    out = []
    for q in qs:
        pos = q * top
        lo = np.floor(pos).astype(np.intp)
        hi = np.ceil(pos).astype(np.intp)
        low = np.take_along_axis(ordered, lo[:, None], axis=1)[:, 0]
        high = np.take_along_axis(ordered, hi[:, None], axis=1)[:, 0]
        estimate = low + (high - low) * (pos - lo)
        estimate[count == 0] = np.nan
        out.append(estimate)
    return out


def _evidence(**items: float | int | str | np.generic | None) -> dict[str, float | int | str]:
    """Plain JSON values: numpy scalars unwrapped, NaN/inf and None left out."""
    out: dict[str, float | int | str] = {}
    for key, value in items.items():
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            continue
        out[key] = value
    return out


def _order(a: Anomaly) -> tuple[int, str, str, str, int, int]:
    return (_KIND_ORDER[a.kind], a.team, a.agent, a.task_id, a.window_start_us, a.window_end_us)


def _who(s: Series) -> str:
    return f"agent {s.agent!r} of team {s.team!r}"


def _money(nanos: float) -> str:
    """Nanos shown in units: two decimals from 1 unit up, four significant digits below."""
    units = float(nanos) / NANOS_PER_UNIT
    return f"{units:,.2f}" if abs(units) >= 1 else f"{units:.4g}"


def _when(at_us: int) -> str:
    return (_EPOCH + timedelta(microseconds=int(at_us))).strftime("%Y-%m-%d %H:%M UTC")
