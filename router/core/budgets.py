"""Budget rules: who they apply to, how much, over which window, and what happens as they fill.

Declared as code in a TOML file (validated with errors naming the line) or managed over the API.
Pure: the ledger that tracks spend and holds per window lives behind the store seam.

    [[budgets]]
    id = "finance-monthly"
    scope = { team = "finance" }         # any of team, agent, user, task_id, task_type, model
    limit = "5000"                       # money, in the service currency; and/or limit_tokens
    window = "month"                     # hour, day, week (ISO), month (calendar), total
    timezone = "Europe/London"
    alert_at = 0.8                       # soft thresholds, fractions of the limit
    downgrade_at = 0.9
    downgrade_quality = 0.5              # quality target applied past downgrade_at
    throttle_at = 0.95
    throttle_per_minute = 10
    on_exhausted = "block"               # or "downgrade": only models that still fit
    forecast_alert_at = 0.9              # alert when the window is forecast to close past this
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from router.core import tomlfile
from router.core.errors import BudgetExhausted, QuotaViolation
from router.core.money import MoneyError, to_nanos, units
from router.core.records import Attribution, Charge
from router.core.windows import Window, WindowKind, window_at, zone

SCOPE_KEYS = ("team", "agent", "user", "task_id", "task_type", "model")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_KEYS = {"id", "description", "scope", "limit", "limit_tokens", "window", "timezone", "alert_at",
         "downgrade_at", "downgrade_quality", "throttle_at", "throttle_per_minute",
         "on_exhausted", "hold_ttl_seconds", "forecast_alert_at"}


class BudgetError(ValueError):
    """A budget rule is malformed; the message names the file and line when there is one, and
    ``key`` the offending entry key."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class Action(enum.Enum):
    BLOCK = "block"
    DOWNGRADE = "downgrade"


class State(enum.IntEnum):
    """Where a budget stands, in the order the enforcement ladder climbs."""

    OK = 0
    ALERT = 1
    DOWNGRADE = 2
    THROTTLE = 3
    EXHAUSTED = 4


@dataclass(frozen=True, slots=True)
class Scope:
    """The calls a budget applies to: every key that is set must match."""

    team: str | None = None
    agent: str | None = None
    user: str | None = None
    task_id: str | None = None
    task_type: str | None = None
    model: str | None = None

    def matches(self, keys: Attribution, model: str | None = None) -> bool:
        return ((self.team is None or self.team == keys.team)
                and (self.agent is None or self.agent == keys.agent)
                and (self.user is None or self.user == keys.user)
                and (self.task_id is None or self.task_id == keys.task_id)
                and (self.task_type is None or self.task_type == keys.task_type)
                and (self.model is None or model is None or self.model == model))

    def describe(self) -> str:
        parts = [f"{k}={getattr(self, k)}" for k in SCOPE_KEYS if getattr(self, k) is not None]
        return ", ".join(parts) or "everything"

    def key(self) -> str:
        """A canonical string for the scope (stable across processes): the pause table's key."""
        return ",".join(f"{k}={getattr(self, k)}" for k in SCOPE_KEYS
                        if getattr(self, k) is not None)

    def as_dict(self) -> dict[str, str]:
        return {k: v for k in SCOPE_KEYS if (v := getattr(self, k)) is not None}

    @classmethod
    def parse(cls, raw: Any) -> Scope:
        """From a mapping of scope keys to non-empty strings; BudgetError otherwise."""
        if not isinstance(raw, dict):
            raise BudgetError("scope must be a table, e.g. { team = \"finance\" }")
        bad = sorted(set(raw) - set(SCOPE_KEYS))
        if bad:
            raise BudgetError(f"unknown scope key {bad[0]!r} (known: {', '.join(SCOPE_KEYS)})")
        if any(not isinstance(v, str) or not v or len(v) > 128 for v in raw.values()):
            raise BudgetError("scope values must be strings of 1-128 characters")
        return cls(**raw)


@dataclass(frozen=True, slots=True)
class BudgetRule:
    id: str
    scope: Scope
    window: WindowKind
    timezone: str = "UTC"
    limit: int | None = None  # nanos
    limit_tokens: int | None = None
    alert_at: float | None = None
    downgrade_at: float | None = None
    downgrade_quality: float | None = None
    throttle_at: float | None = None
    throttle_per_minute: int | None = None
    on_exhausted: Action = Action.BLOCK
    hold_ttl_s: int = 300
    description: str = ""
    # the forecast's alert: the window is forecast to close at or past this fraction of the limit
    forecast_alert_at: float | None = None
    tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", zone(self.timezone))

    def used_fraction(self, spent: int, held: int, tokens_spent: int = 0,
                      tokens_held: int = 0) -> float:
        """The fuller of the money and token limits, as a fraction (may exceed 1)."""
        fractions = [0.0]
        if self.limit is not None:
            fractions.append((spent + held) / self.limit if self.limit else float("inf"))
        if self.limit_tokens is not None:
            fractions.append((tokens_spent + tokens_held) / self.limit_tokens
                             if self.limit_tokens else float("inf"))
        return max(fractions)

    def state(self, fraction: float) -> State:
        if fraction >= 1.0:
            return State.EXHAUSTED
        for threshold, state in ((self.throttle_at, State.THROTTLE),
                                 (self.downgrade_at, State.DOWNGRADE),
                                 (self.alert_at, State.ALERT)):
            if threshold is not None and fraction >= threshold:
                return state
        return State.OK


def load_budgets(path: str | Path) -> tuple[BudgetRule, ...]:
    text, data = tomlfile.read(path, BudgetError, "budgets")
    return _Parser(text, str(path)).rules(data)


def parse_budgets(text: str, source: str = "budgets.toml") -> tuple[BudgetRule, ...]:
    return _Parser(text, source).rules(tomlfile.loads(text, source, BudgetError))


def rule_from_mapping(raw: dict[str, Any]) -> BudgetRule:
    """One rule from a mapping shaped like a ``[[budgets]]`` entry (the API's SetBudget)."""
    return _Parser("", "request").rule(0, raw)


def rule_to_mapping(rule: BudgetRule) -> dict[str, Any]:
    """The inverse of ``rule_from_mapping``: the rule as a ``[[budgets]]`` entry."""
    out: dict[str, Any] = {"id": rule.id, "scope": rule.scope.as_dict(),
                           "window": rule.window.value, "timezone": rule.timezone,
                           "on_exhausted": rule.on_exhausted.value,
                           "hold_ttl_seconds": rule.hold_ttl_s}
    if rule.description:
        out["description"] = rule.description
    if rule.limit is not None:
        out["limit"] = units(rule.limit)
    if rule.limit_tokens is not None:
        out["limit_tokens"] = rule.limit_tokens
    for key in ("alert_at", "downgrade_at", "downgrade_quality", "throttle_at",
                "throttle_per_minute", "forecast_alert_at"):
        if (value := getattr(rule, key)) is not None:
            out[key] = value
    return out


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self._lines = tomlfile.TomlLines(text, "budgets")
        self._source = source
        self._lines_known = bool(text)

    def _fail(self, message: str, key: str, index: int | None = None,
              field: str | None = None) -> BudgetError:
        """The error for entry ``index``, located at ``key``'s line, about ``field``."""
        where = f"{self._source}:{self._lines.line_of(key, index)}: " if self._lines_known \
            else ""
        return BudgetError(f"{where}{message}", field or key)

    def rules(self, data: dict[str, Any]) -> tuple[BudgetRule, ...]:
        if data.get("schema_version", 1) != 1:
            raise self._fail("unsupported schema_version (expected 1)", "schema_version")
        raw = data.get("budgets", [])
        if not isinstance(raw, list):
            raise self._fail("budgets must be an array of tables ([[budgets]])", "budgets")
        rules = tuple(self.rule(i, r) for i, r in enumerate(raw))
        seen: set[str] = set()
        for i, r in enumerate(rules):
            if r.id in seen:
                raise self._fail(f"budget id {r.id!r} is used twice", "id", i)
            seen.add(r.id)
        return rules

    def rule(self, i: int, raw: Any) -> BudgetRule:
        if not isinstance(raw, dict):
            raise self._fail("each [[budgets]] entry must be a table", "id", i)
        unknown = sorted(set(raw) - _KEYS)
        if unknown:
            raise self._fail(f"unknown key {unknown[0]!r}", unknown[0], i)
        rid = raw.get("id")
        if not isinstance(rid, str) or not _ID_RE.fullmatch(rid):
            raise self._fail("id must be 1-64 of a-z, 0-9, '.', '_', '-'", "id", i)
        scope = self._scope(i, raw.get("scope", {}))
        limit = self._money(i, raw["limit"]) if "limit" in raw else None
        tokens = raw.get("limit_tokens")
        if tokens is not None and (not isinstance(tokens, int) or isinstance(tokens, bool)
                                   or tokens <= 0):
            raise self._fail(f"budget {rid!r}: limit_tokens must be a positive integer",
                             "limit_tokens", i)
        if limit is None and tokens is None:
            raise self._fail(f"budget {rid!r} needs limit (money) or limit_tokens", "id", i,
                             field="limit")
        try:
            window = WindowKind(raw.get("window", ""))
        except ValueError:
            raise self._fail(f"budget {rid!r}: window must be one of "
                             f"{', '.join(k.value for k in WindowKind)}", "window", i) from None
        thresholds = {k: self._fraction(i, rid, k, raw.get(k))
                      for k in ("alert_at", "downgrade_at", "throttle_at", "downgrade_quality",
                                "forecast_alert_at")}
        # the ladder's rungs that are set, in order: each must not exceed the next, and the
        # error names the pair that does not, against the later one (the one out of place)
        rungs = [(k, t) for k in ("alert_at", "downgrade_at", "throttle_at")
                 if (t := thresholds[k]) is not None]
        for (low, low_at), (high, high_at) in pairwise(rungs):
            if low_at > high_at:
                raise self._fail(f"budget {rid!r}: thresholds must rise: {low} ({low_at:g}) "
                                 f"must not exceed {high} ({high_at:g})", high, i)
        if window is WindowKind.TOTAL and thresholds["forecast_alert_at"] is not None:
            raise self._fail(f"budget {rid!r}: forecast_alert_at needs a window that closes "
                             "(hour, day, week or month)", "forecast_alert_at", i)
        per_minute = raw.get("throttle_per_minute")
        if thresholds["throttle_at"] is not None and not (
                isinstance(per_minute, int) and not isinstance(per_minute, bool)
                and per_minute > 0):
            raise self._fail(f"budget {rid!r}: throttle_at needs a positive "
                             "throttle_per_minute", "throttle_at" if per_minute is None
                             else "throttle_per_minute", i)
        try:
            action = Action(raw.get("on_exhausted", "block"))
        except ValueError:
            raise self._fail(f"budget {rid!r}: on_exhausted must be block or downgrade",
                             "on_exhausted", i) from None
        ttl = raw.get("hold_ttl_seconds", 300)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= 86_400:
            raise self._fail(f"budget {rid!r}: hold_ttl_seconds must be 1-86400",
                             "hold_ttl_seconds", i)
        try:
            return BudgetRule(
                id=rid, scope=scope, window=window, timezone=str(raw.get("timezone", "UTC")),
                limit=limit, limit_tokens=tokens, alert_at=thresholds["alert_at"],
                downgrade_at=thresholds["downgrade_at"],
                downgrade_quality=thresholds["downgrade_quality"],
                throttle_at=thresholds["throttle_at"], throttle_per_minute=per_minute,
                on_exhausted=action, hold_ttl_s=ttl,
                description=str(raw.get("description", "")),
                forecast_alert_at=thresholds["forecast_alert_at"])
        except ValueError as exc:  # the time zone
            raise self._fail(f"budget {rid!r}: {exc}", "timezone", i) from None

    def _scope(self, i: int, raw: Any) -> Scope:
        try:
            return Scope.parse(raw)
        except BudgetError as exc:
            raise self._fail(str(exc), "scope", i) from None

    def _money(self, i: int, raw: Any) -> int:
        try:
            nanos = to_nanos(raw)
        except MoneyError as exc:
            raise self._fail(f"limit: {exc}", "limit", i) from None
        if nanos <= 0:
            raise self._fail("limit must be positive", "limit", i)
        return nanos

    def _fraction(self, i: int, rid: str, key: str, raw: Any) -> float | None:
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= 1:
            raise self._fail(f"budget {rid!r}: {key} must be a fraction between 0 and 1", key, i)
        return float(raw)


# -- The ledger's vocabulary ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hold:
    """Money and tokens a routed call reserves in one budget window until it is settled."""

    budget_id: str
    window_key: str
    amount: int
    tokens: int
    expires_us: int


@dataclass(frozen=True, slots=True)
class Totals:
    """One budget window's ledger: settled spend and open holds, in money and tokens."""

    spent: int = 0
    held: int = 0
    tokens_spent: int = 0
    tokens_held: int = 0

    def plus(self, spent: int = 0, held: int = 0, tokens_spent: int = 0,
             tokens_held: int = 0) -> Totals:
        return Totals(self.spent + spent, self.held + held, self.tokens_spent + tokens_spent,
                      self.tokens_held + tokens_held)


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    rule: BudgetRule
    window: Window
    totals: Totals

    @property
    def remaining(self) -> int | None:
        """Money left for new holds (never negative); None when only tokens are limited."""
        if self.rule.limit is None:
            return None
        return max(0, self.rule.limit - self.totals.spent - self.totals.held)

    @property
    def tokens_remaining(self) -> int | None:
        if self.rule.limit_tokens is None:
            return None
        return max(0, self.rule.limit_tokens - self.totals.tokens_spent - self.totals.tokens_held)

    @property
    def fraction(self) -> float:
        t = self.totals
        return self.rule.used_fraction(t.spent, t.held, t.tokens_spent, t.tokens_held)

    @property
    def state(self) -> State:
        return self.rule.state(self.fraction)

    def fits(self, amount: int, tokens: int) -> bool:
        """Would a hold of ``amount`` and ``tokens`` keep spent + held within both limits?"""
        t, r = self.totals, self.rule
        return ((r.limit is None or t.spent + t.held + amount <= r.limit)
                and (r.limit_tokens is None
                     or t.tokens_spent + t.tokens_held + tokens <= r.limit_tokens))

    def violation(self) -> QuotaViolation:
        return QuotaViolation(
            f"budget:{self.rule.id}",
            f"budget {self.rule.id!r} ({self.rule.scope.describe()}, {self.rule.window.value} "
            f"{self.window.key}) has no room: spent {self.totals.spent}, held {self.totals.held}"
            + (f" of {self.rule.limit} nanos" if self.rule.limit is not None else "")
            + (f"; tokens {self.totals.tokens_spent + self.totals.tokens_held} of "
               f"{self.rule.limit_tokens}" if self.rule.limit_tokens is not None else ""))


def applicable(rules: tuple[BudgetRule, ...], keys: Attribution,
               model: str | None = None) -> list[BudgetRule]:
    """The rules whose scope matches the keys (and ``model`` when given; model-scoped rules are
    included when ``model`` is None, for the caller to resolve per candidate)."""
    return [r for r in rules if r.scope.matches(keys, model)]


_WINDOWS: dict[tuple[WindowKind, str], Window] = {}


def window_of(rule: BudgetRule, at_us: int) -> Window:
    """The rule's window containing ``at_us``; the last one found per (kind, zone) is reused
    while it still contains the moment (time-zone arithmetic is the costly part of a Route's
    budget work)."""
    key = (rule.window, rule.timezone)
    last = _WINDOWS.get(key)
    if last is not None and last.start_us <= at_us < last.end_us:
        return last
    found = window_at(rule.window, rule.tz, at_us)
    _WINDOWS[key] = found
    return found


def charges_for(rules: list[BudgetRule], at_us: int, amount: int, tokens: int
                ) -> tuple[Charge, ...]:
    """One charge per rule, in the window of each that contains ``at_us``."""
    return tuple(Charge(r.id, window_of(r, at_us).key, amount, tokens) for r in rules)


# -- The enforcement ladder (pure) ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enforcement:
    """What the budgets that apply to a call allow, before a model is chosen."""

    money_room: int | None  # the least remaining money over the model-independent budgets
    token_room: int | None
    quality_cap: float | None  # past downgrade_at: the target is lowered to this
    throttled: tuple[BudgetStatus, ...]  # past throttle_at: rate-limit the scope
    model_room: dict[str, tuple[int | None, int | None]]  # model-scoped budgets' rooms


def _least(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def enforcement(statuses: list[BudgetStatus]) -> Enforcement:
    money: int | None = None
    tokens: int | None = None
    cap: float | None = None
    model_room: dict[str, tuple[int | None, int | None]] = {}
    for s in statuses:
        state = s.state
        if state >= State.DOWNGRADE and s.rule.downgrade_quality is not None:
            cap = s.rule.downgrade_quality if cap is None else min(cap, s.rule.downgrade_quality)
        if s.rule.scope.model is not None:
            m, t = model_room.get(s.rule.scope.model, (None, None))
            model_room[s.rule.scope.model] = (_least(m, s.remaining),
                                              _least(t, s.tokens_remaining))
            continue
        money = _least(money, s.remaining)
        tokens = _least(tokens, s.tokens_remaining)
    throttled = tuple(s for s in statuses if s.state >= State.THROTTLE
                      and s.rule.throttle_per_minute)
    return Enforcement(money, tokens, cap, throttled, model_room)


def exhausted(statuses: list[BudgetStatus], now_us: int, message: str) -> BudgetExhausted:
    """RESOURCE_EXHAUSTED naming the budgets, retrying when the soonest of them resets."""
    waits = [s.window.seconds_left(now_us) for s in statuses
             if s.window.end_us < 2**61]  # a total budget never resets
    return BudgetExhausted(message, [s.violation() for s in statuses],
                           retry_after_seconds=min(waits) if waits else None)
