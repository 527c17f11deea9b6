"""The FOCUS mapping: a usage's charges, their columns and types, tags, and the text rendering."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from router.core import focus
from router.core.pricing import CostBreakdown, TokenCounts
from router.core.records import Attribution, Outcome, UsageRecord

NOV = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()) * 10**6
DEC = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp()) * 10**6
AT = int(datetime(2026, 11, 14, 9, 41, 7, 250_000, tzinfo=UTC).timestamp() * 10**6)
KEYS = Attribution(team="growth", agent="mailer", task_id="t-1", task_type="email",
                   user="ana@example.com", labels={"env": "prod", "router/team": "spoof"})


def usage(cost: CostBreakdown, **kw) -> UsageRecord:
    base = dict(
        usage_id="u-1", payload_hash="h", decision_id="d-1", recorded_us=AT, attribution=KEYS,
        model="claude-sonnet-4", provider="anthropic",
        tokens=TokenCounts(input=1200, cached_input=300, output=250, reasoning=50,
                           cache_write=100),
        tool_calls=3, compute_ms=1_500, review_ms=90_250, outcome=Outcome.SUCCESS,
        latency_ms=800, cost=cost, currency="USD", predicted_cost=None,
        predicted_output_tokens=None)
    base.update(kw)
    return UsageRecord(**base)


def test_a_usage_is_one_charge_per_kind_it_paid_for_and_always_its_tokens():
    full = focus.charges(usage(CostBreakdown(7_654_321, 30_000_000, 1, 250_000_001)), NOV, DEC)
    assert [c.cost_kind for c in full] == ["tokens", "tools", "compute", "human_review"]
    assert sum(c.cost for c in full) == 7_654_321 + 30_000_000 + 1 + 250_000_001
    assert [c.consumed for c in full] == [Decimal(1900), Decimal(3), Decimal("1.5"),
                                          Decimal("90.25")]
    assert full[0].tokens is not None and all(c.tokens is None for c in full[1:])
    # a free call still shows up (its tokens, at zero); the kinds it did not pay for do not
    free = focus.charges(usage(CostBreakdown(0, 0, 0, 0)), NOV, DEC)
    assert [(c.cost_kind, c.cost) for c in free] == [("tokens", 0)]
    tools_only = focus.charges(usage(CostBreakdown(5, 7, 0, 0)), NOV, DEC)
    assert [c.cost_kind for c in tools_only] == ["tokens", "tools"]


def test_columns_are_every_focus_column_with_its_type_and_the_mandatory_ones_set():
    for charge in focus.charges(usage(CostBreakdown(7_654_321, 30_000_000, 1, 9)), NOV, DEC):
        row = focus.columns(charge)
        assert list(row) == list(focus.COLUMNS)
        for name in focus.MANDATORY:
            assert row[name] is not None, name
        kinds = {"decimal": Decimal, "datetime": datetime, "string": str, "json": dict}
        for name, value in row.items():
            if value is not None:
                assert isinstance(value, kinds[focus.COLUMNS[name]]), (name, value)
        for name in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost",
                     "ListUnitPrice", "ContractedUnitPrice"):
            assert row[name] * 10**9 == charge.cost  # exact, to the nano
        assert row["ChargeCategory"] == "Usage" and row["PricingQuantity"] == 1
        assert row["BillingCurrency"] == row["PricingCurrency"] == "USD"
        assert (row["BillingPeriodStart"], row["BillingPeriodEnd"]) == (
            datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
        # the UTC hour of the call
        assert (row["ChargePeriodStart"], row["ChargePeriodEnd"]) == (
            datetime(2026, 11, 14, 9, tzinfo=UTC), datetime(2026, 11, 14, 10, tzinfo=UTC))
        assert row["ResourceId"] == "growth/mailer" and row["SubAccountId"] == "growth"
        assert row["x_UsageId"] == "u-1" and row["x_DecisionId"] == "d-1"


def test_token_charges_are_the_providers_and_the_rest_the_organisations():
    tokens, tools, compute, review = (focus.columns(c) for c in focus.charges(
        usage(CostBreakdown(1, 2, 3, 4)), NOV, DEC))
    assert (tokens["ProviderName"], tokens["InvoiceIssuerName"], tokens["SkuId"]) == (
        "anthropic", "anthropic", "claude-sonnet-4")
    assert tokens["ServiceCategory"] == "AI and Machine Learning"
    assert tokens["ServiceSubcategory"] == "Generative AI" and tokens["ConsumedUnit"] == "Tokens"
    assert (tokens["x_InputTokens"], tokens["x_CachedInputTokens"], tokens["x_CacheWriteTokens"],
            tokens["x_OutputTokens"], tokens["x_ReasoningTokens"]) == (1200, 300, 100, 250, 50)
    assert tokens["ChargeDescription"] == ("claude-sonnet-4 tokens: 1,200 input, 300 cached "
                                           "input, 100 cache write, 250 output, 50 reasoning")
    for row in (tools, compute, review):
        assert row["ProviderName"] == row["PublisherName"] == focus.INTERNAL
        assert row["x_InputTokens"] is None
    assert (tools["SkuId"], tools["ConsumedUnit"], tools["ConsumedQuantity"]) == (
        "tools", "Calls", 3)
    assert compute["ServiceCategory"] == "Compute" and compute["ConsumedQuantity"] == Decimal("1.5")
    assert review["ChargeDescription"] == "Human review of a claude-sonnet-4 call: 90.25 seconds"
    assert tools["ChargeDescription"] == "Agent tool calls of a claude-sonnet-4 call: 3 calls"
    one = focus.columns(focus.charges(usage(CostBreakdown(1, 2), tool_calls=1), NOV, DEC)[1])
    assert one["ChargeDescription"] == "Agent tool calls of a claude-sonnet-4 call: 1 call"


def test_tags_carry_the_keys_under_the_router_prefix_and_the_labels_as_given():
    tags = focus.tags(KEYS)
    assert tags == {"router/team": "growth", "router/agent": "mailer",
                    "router/task_type": "email", "router/task_id": "t-1",
                    "router/user": "ana@example.com", "env": "prod",
                    # a label cannot pose as one of our keys
                    "router/label/router/team": "spoof"}
    assert focus.tags(Attribution(team="t")) == {"router/team": "t"}


def test_an_unattributed_charge_has_no_resource_or_sub_account():
    row = focus.columns(focus.charges(usage(CostBreakdown(1), attribution=Attribution(),
                                            decision_id=None), NOV, DEC)[0])
    assert row["ResourceId"] is row["SubAccountId"] is row["x_DecisionId"] is None
    assert row["Tags"] == {}


def test_text_rows_are_plain_decimals_iso_times_and_compact_json():
    row = focus.columns(focus.charges(usage(CostBreakdown(1_000_000_000, 1, 0, 0)),
                                      NOV, DEC)[1])  # the tools charge: 1 nano
    text = focus.text_row(row)
    assert text["BilledCost"] == "0.000000001"  # never 1E-9
    assert text["ChargePeriodStart"] == "2026-11-14T09:00:00Z"
    assert text["BillingPeriodEnd"] == "2026-12-01T00:00:00Z"
    assert text["x_InputTokens"] == ""  # null
    assert json.loads(text["Tags"])["router/agent"] == "mailer"
    whole = focus.text_row(focus.columns(focus.charges(
        usage(CostBreakdown(2_500_000_000)), NOV, DEC)[0]))
    assert whole["BilledCost"] == "2.5" and whole["PricingQuantity"] == "1"
    assert focus.decimal_text(Decimal("120E+1")) == "1200"
    assert focus.decimal_text(Decimal(0)) == "0"
