"""Recorded usage as FinOps FOCUS 1.2 cost-and-usage rows, so agent spend joins the cloud bills.

FOCUS (the FinOps Open Cost and Usage Specification, https://focus.finops.org) is the shape in
which organisations read their cloud bills. A usage report becomes one *charge* per cost kind
it paid for: its tokens always (the model call itself, even when it cost nothing, so every call
is counted), and its tools, compute and human review when each cost anything. The charges of a
period therefore add up to exactly what QuerySpend totals for it.

The mapping is pure: ``charges`` turns a stored usage into ``FocusCharge`` values (integers:
nanos and microseconds), ``columns`` renders one as the FOCUS columns in ``COLUMNS`` (exact
decimals, UTC date-times, the tags as a JSON object). The edges and the CLI only move these.

Choices the specification leaves to the data generator, and ours:

* Every cost column (BilledCost, EffectiveCost, ListCost, ContractedCost) holds the recorded
  cost: the router prices at list price and knows no discount or commitment. A charge is priced
  per call, so its PricingQuantity is 1 ``Requests`` and its unit prices equal its cost; what it
  consumed is ConsumedQuantity in ``Tokens``, ``Calls`` or ``Seconds``.
* The charge period is the UTC hour of the call; the billing period is the exported range.
* Token charges are the model provider's (ProviderName, PublisherName and InvoiceIssuerName);
  tools, compute and review are the organisation's own (``INTERNAL``).
* The resource is the agent (ResourceId ``team/agent``); the sub account is the team.
* Tags: the attribution keys are provider-defined tags under the ``router/`` prefix
  (``router/team``, ``router/agent``, ``router/task_type``, ``router/task_id``,
  ``router/user``); the usage's labels are the one user-defined scheme, unprefixed, except a
  label that itself starts with the reserved ``router/``, which is moved to ``router/label/...``.
* ``x_``-prefixed custom columns carry what FOCUS has no column for: the usage and decision
  ids, the cost kind, the model, and the tokens by kind.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from router.core.money import NANOS_PER_UNIT
from router.core.pricing import TokenCounts
from router.core.records import Attribution, UsageRecord
from router.core.timeunits import HOUR_US
from router.core.windows import WindowKind, window_at, zone

FOCUS_VERSION = "1.2"
INTERNAL = "Internal"  # the provider of what the organisation itself pays for
TAG_PREFIX = "router/"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PERIOD = re.compile(r"[1-9][0-9]{3}-(0[1-9]|1[0-2])")

ColumnType = Literal["string", "decimal", "datetime", "json"]

# The columns written, in order, with their FOCUS data type. Every Mandatory column of FOCUS 1.2,
# the Conditional ones that apply to this data, then our x_ columns. Not written: commitment
# discounts and capacity reservations (the router sees none), regions and zones (a model API
# call has none we know), SKU meters and price details.
COLUMNS: dict[str, ColumnType] = {
    "BilledCost": "decimal",
    "BillingAccountId": "string",
    "BillingAccountName": "string",
    "BillingCurrency": "string",
    "BillingPeriodEnd": "datetime",
    "BillingPeriodStart": "datetime",
    "ChargeCategory": "string",
    "ChargeClass": "string",
    "ChargeDescription": "string",
    "ChargeFrequency": "string",
    "ChargePeriodEnd": "datetime",
    "ChargePeriodStart": "datetime",
    "ConsumedQuantity": "decimal",
    "ConsumedUnit": "string",
    "ContractedCost": "decimal",
    "ContractedUnitPrice": "decimal",
    "EffectiveCost": "decimal",
    "InvoiceIssuerName": "string",
    "ListCost": "decimal",
    "ListUnitPrice": "decimal",
    "PricingCategory": "string",
    "PricingCurrency": "string",
    "PricingQuantity": "decimal",
    "PricingUnit": "string",
    "ProviderName": "string",
    "PublisherName": "string",
    "ResourceId": "string",
    "ResourceName": "string",
    "ResourceType": "string",
    "ServiceCategory": "string",
    "ServiceName": "string",
    "ServiceSubcategory": "string",
    "SkuId": "string",
    "SkuPriceId": "string",
    "SubAccountId": "string",
    "SubAccountName": "string",
    "SubAccountType": "string",
    "Tags": "json",
    "x_UsageId": "string",
    "x_DecisionId": "string",
    "x_CostKind": "string",
    "x_Model": "string",
    "x_InputTokens": "decimal",
    "x_CachedInputTokens": "decimal",
    "x_CacheWriteTokens": "decimal",
    "x_OutputTokens": "decimal",
    "x_ReasoningTokens": "decimal",
}
# Mandatory in FOCUS 1.2: never null in what ``columns`` writes
MANDATORY = (
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
    "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeDescription",
    "ChargePeriodEnd", "ChargePeriodStart", "ContractedCost", "EffectiveCost",
    "InvoiceIssuerName", "ListCost", "PricingQuantity", "PricingUnit", "ProviderName",
    "PublisherName", "ServiceCategory", "ServiceName",
)


@dataclass(frozen=True, slots=True)
class Kind:
    """How one cost kind reads in FOCUS."""

    service: str
    category: str
    subcategory: str
    unit: str  # ConsumedUnit


KINDS: Mapping[str, Kind] = {
    "tokens": Kind("LLM tokens", "AI and Machine Learning", "Generative AI", "Tokens"),
    "tools": Kind("Agent tool calls", "AI and Machine Learning",
                  "Other (AI and Machine Learning)", "Calls"),
    "compute": Kind("Agent compute", "Compute", "Other (Compute)", "Seconds"),
    "human_review": Kind("Human review", "Other", "Other (Other)", "Seconds"),
}


@dataclass(frozen=True, slots=True)
class BillingAccount:
    """Who the export is for: FOCUS's billing account (a deployment of the router)."""

    id: str = "cost-router"
    name: str = "cost-router"


@dataclass(frozen=True, slots=True)
class FocusCharge:
    """One cost kind of one usage: the integers a FOCUS row is rendered from."""

    usage_id: str
    decision_id: str
    cost_kind: str  # a key of KINDS
    cost: int  # nanos
    currency: str
    occurred_us: int
    billing_start_us: int
    billing_end_us: int
    provider: str
    model: str
    attribution: Attribution
    consumed: Decimal  # in the kind's unit
    tokens: TokenCounts | None = None  # on the tokens charge only

    @property
    def charge_start_us(self) -> int:
        return self.occurred_us - self.occurred_us % HOUR_US

    @property
    def charge_end_us(self) -> int:
        return self.charge_start_us + HOUR_US


def charges(usage: UsageRecord, billing_start_us: int, billing_end_us: int,
            attribution: Attribution | None = None) -> list[FocusCharge]:
    """The charges of one usage: its tokens, then each other kind it paid anything for.
    ``attribution`` replaces the usage's own (a caller who may not see users gets it
    without)."""
    keys = usage.attribution if attribution is None else attribution
    cost = usage.cost
    consumed = {
        "tokens": Decimal(usage.tokens.prompt + usage.tokens.output + usage.tokens.reasoning),
        "tools": Decimal(usage.tool_calls),
        "compute": Decimal(usage.compute_ms) / 1000,
        "human_review": Decimal(usage.review_ms) / 1000,
    }
    amounts = {"tokens": cost.tokens, "tools": cost.tools, "compute": cost.compute,
               "human_review": cost.human_review}
    return [FocusCharge(
        usage_id=usage.usage_id, decision_id=usage.decision_id or "", cost_kind=kind,
        cost=amount, currency=usage.currency, occurred_us=usage.recorded_us,
        billing_start_us=billing_start_us, billing_end_us=billing_end_us,
        provider=usage.provider, model=usage.model, attribution=keys,
        consumed=consumed[kind], tokens=usage.tokens if kind == "tokens" else None)
        for kind, amount in amounts.items() if kind == "tokens" or amount]


def columns(charge: FocusCharge, account: BillingAccount = BillingAccount()
            ) -> dict[str, Any]:
    """``charge`` as the FOCUS columns of ``COLUMNS`` (None where a column is null): costs as
    exact ``Decimal``, date-times as aware UTC ``datetime``, Tags as a dict."""
    kind = KINDS[charge.cost_kind]
    cost = Decimal(charge.cost) / NANOS_PER_UNIT
    a = charge.attribution
    vendor = charge.provider if charge.cost_kind == "tokens" else INTERNAL
    sku = charge.model if charge.cost_kind == "tokens" else charge.cost_kind
    t = charge.tokens
    return {
        "BilledCost": cost,
        "BillingAccountId": account.id,
        "BillingAccountName": account.name,
        "BillingCurrency": charge.currency,
        "BillingPeriodEnd": instant(charge.billing_end_us),
        "BillingPeriodStart": instant(charge.billing_start_us),
        "ChargeCategory": "Usage",
        "ChargeClass": None,  # not a correction of an earlier period
        "ChargeDescription": description(charge),
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodEnd": instant(charge.charge_end_us),
        "ChargePeriodStart": instant(charge.charge_start_us),
        "ConsumedQuantity": charge.consumed,
        "ConsumedUnit": kind.unit,
        "ContractedCost": cost,
        "ContractedUnitPrice": cost,
        "EffectiveCost": cost,
        "InvoiceIssuerName": vendor,
        "ListCost": cost,
        "ListUnitPrice": cost,
        "PricingCategory": "Standard",
        "PricingCurrency": charge.currency,
        "PricingQuantity": Decimal(1),
        "PricingUnit": "Requests",
        "ProviderName": vendor,
        "PublisherName": vendor,
        "ResourceId": f"{a.team}/{a.agent}" if a.agent else None,
        "ResourceName": a.agent or None,
        "ResourceType": "Agent" if a.agent else None,
        "ServiceCategory": kind.category,
        "ServiceName": kind.service,
        "ServiceSubcategory": kind.subcategory,
        "SkuId": sku,
        "SkuPriceId": f"{sku}:{charge.cost_kind}",
        "SubAccountId": a.team or None,
        "SubAccountName": a.team or None,
        "SubAccountType": "Team" if a.team else None,
        "Tags": tags(a),
        "x_UsageId": charge.usage_id,
        "x_DecisionId": charge.decision_id or None,
        "x_CostKind": charge.cost_kind,
        "x_Model": charge.model,
        "x_InputTokens": Decimal(t.input) if t else None,
        "x_CachedInputTokens": Decimal(t.cached_input) if t else None,
        "x_CacheWriteTokens": Decimal(t.cache_write) if t else None,
        "x_OutputTokens": Decimal(t.output) if t else None,
        "x_ReasoningTokens": Decimal(t.reasoning) if t else None,
    }


def tags(a: Attribution) -> dict[str, str]:
    """The FOCUS Tags of a charge: our keys under ``router/``, the labels as given."""
    out = {TAG_PREFIX + name: value for name, value in (
        ("team", a.team), ("agent", a.agent), ("task_type", a.task_type),
        ("task_id", a.task_id), ("user", a.user)) if value}
    for key, value in sorted(a.labels.items()):
        out[f"{TAG_PREFIX}label/{key}" if key.startswith(TAG_PREFIX) else key] = value
    return out


def description(charge: FocusCharge) -> str:
    """A self-contained summary, as ChargeDescription asks: what was paid for, and how much."""
    if charge.cost_kind == "tokens":
        t = charge.tokens or TokenCounts()
        parts = [f"{n:,} {name}" for n, name in (
            (t.input, "input"), (t.cached_input, "cached input"),
            (t.cache_write, "cache write"), (t.output, "output"),
            (t.reasoning, "reasoning")) if n]
        return f"{charge.model} tokens: {', '.join(parts) or 'none'}"
    unit = KINDS[charge.cost_kind].unit.lower()
    if charge.consumed == 1:
        unit = unit.removesuffix("s")
    return f"{KINDS[charge.cost_kind].service} of a {charge.model} call: " \
           f"{decimal_text(charge.consumed)} {unit}"


def instant(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def decimal_text(value: Decimal) -> str:
    """Plain decimal notation without exponent or trailing zeros (FOCUS's NumericFormat)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


@functools.lru_cache(maxsize=4096)
def datetime_text(value: datetime) -> str:
    """FOCUS's DateTimeFormat: ISO 8601 in UTC with a ``Z`` (cached: a month's rows share a
    few hundred charge hours and one billing period)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_TYPED = tuple(COLUMNS.items())


def _text(kind: ColumnType, value: Any) -> str:
    if value is None:
        return ""
    if kind == "decimal":
        return decimal_text(value)
    if kind == "datetime":
        return datetime_text(value)
    if kind == "json":
        return json_text(value)
    return str(value)


def json_text(value: Mapping[str, Any]) -> str:
    """A JSON column (Tags) as compact text, keys sorted."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def text_row(row: Mapping[str, Any]) -> dict[str, str]:
    """A rendered row as CSV text: decimals plain, date-times ISO 8601 Z, Tags as compact JSON,
    null as the empty string."""
    return {name: _text(kind, row[name]) for name, kind in _TYPED}


def to_csv(rows: Sequence[Mapping[str, Any]], header: bool = False) -> str:
    """Rendered rows as CSV text (as ``text_row``), the header line first when asked: what the
    CLI writes to a file and the HTTP listener streams, page by page."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(COLUMNS)
    writer.writerows([_text(kind, r[name]) for name, kind in _TYPED] for r in rows)
    return out.getvalue()


def month_us(period: str) -> tuple[int, int]:
    """The UTC calendar month ``period`` (``2026-11``) as [start, end) microseconds (the
    budgets' month window in UTC); a ValueError saying what a period is otherwise."""
    if not _PERIOD.fullmatch(period):
        raise ValueError(f"must be a calendar month like 2026-11, not {period[:20]!r}")
    first = datetime(int(period[:4]), int(period[5:]), 1, tzinfo=UTC)
    month = window_at(WindowKind.MONTH, zone("UTC"),
                      (first - _EPOCH) // timedelta(microseconds=1))
    return month.start_us, month.end_us
