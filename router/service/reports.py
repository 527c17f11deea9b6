"""Reads for people and finance: one decision with its usage, spend by any keys, savings."""

from __future__ import annotations

import dataclasses
from typing import Protocol

from router.auth import SYSTEM, Principal
from router.core.catalog import Catalog
from router.core.errors import InvalidRequest, PreconditionFailed, UnknownDecision, quoted
from router.core.records import Attribution, DecisionRecord, UsageRecord
from router.core.requests import Violations
from router.core.savings import SavingsReport, savings
from router.core.spend import DIMENSIONS, SpendQuery, SpendRow, buckets_fit, fold, total
from router.core.windows import zone
from router.service.decisions import Decisions
from router.store.base import RecordStore, SpendStore

INT64_MAX = 2**63 - 1


class ReportStore(RecordStore, SpendStore, Protocol):
    """What the reports read: usage per decision, and the spend tables."""


def representable(nanos: int, what: str) -> int:
    """A total must fit the API's int64 nanos; a sum of many huge reports might not."""
    if abs(nanos) > INT64_MAX:
        raise PreconditionFailed(f"the {what} exceeds what the API can represent "
                                 f"({INT64_MAX} nanos); narrow the query")
    return nanos


def _filter(v: Violations, query: SpendQuery) -> None:
    """The query's filter within the bounds of what a usage can carry (an Attribution's), so no
    key or label reaches SQL larger than any recorded one; no NUL, which PostgreSQL text cannot
    hold (recorded labels store it escaped in their JSON)."""
    keys = {k: query.filters.get(k, "") for k in ("team", "agent", "task_id", "task_type", "user")}
    v.attribution("filter", Attribution(**keys, labels=query.labels))
    for key, value in query.labels.items():
        if "\0" in key or "\0" in value:
            v.add(f"filter.labels[{key[:40]}]", "must not contain NUL characters")


class ReportService:
    def __init__(self, catalog: Catalog, store: ReportStore, decisions: Decisions) -> None:
        self.catalog = catalog
        self._store = store
        self._decisions = decisions

    def decision(self, decision_id: str, who: Principal = SYSTEM
                 ) -> tuple[DecisionRecord, list[UsageRecord], int]:
        """The decision, its usage oldest first, and their total cost, as ``who`` may see
        them (a team's caller: its team's only; users left out where they are not visible)."""
        violations = Violations()
        violations.identifier("decision_id", decision_id, required=True)
        violations.raise_if_any()
        decision = self._decisions.get(decision_id)
        if decision is None:
            raise who.missing("the decision", UnknownDecision(decision_id))
        who.check_sees(decision.attribution.team, "the decision")
        usages = [u for u in self._store.usages_for_decision(decision_id)
                  if who.sees(u.attribution.team)]
        total = representable(sum(u.cost.total for u in usages), "actual cost")
        if not who.sees_users:
            decision = dataclasses.replace(decision, attribution=who.visible(decision.attribution))
            usages = [dataclasses.replace(u, attribution=who.visible(u.attribution))
                      for u in usages]
        return decision, usages, total

    def savings(self, since_us: int | None, until_us: int | None, baseline: str,
                who: Principal = SYSTEM) -> SavingsReport:
        """Recorded usage re-priced at ``baseline`` (default: the catalog's default model), of
        ``who``'s team when it sees one team."""
        baseline = baseline or self.catalog.default_model
        if self.catalog.find(baseline) is None:
            raise InvalidRequest.of("baseline_model", f"unknown model {quoted(baseline)}")
        if since_us is not None and until_us is not None and until_us <= since_us:
            raise InvalidRequest.of("end_time", "must be after start_time")
        report = savings(self._store.usage_groups(since_us, until_us, who.team or None),
                         self.catalog, baseline)
        for line in (report.total, *report.by_team, *report.by_agent):
            representable(max(line.actual, line.counterfactual), "total cost")
        return report

    def spend(self, query: SpendQuery, who: Principal = SYSTEM
              ) -> tuple[list[SpendRow], SpendRow]:
        """Usage grouped by the query's keys and buckets, and the total over all of it; a
        team's caller sees its team only (a filter naming another team is refused)."""
        if who.team:
            asked = query.filters.get("team")
            if asked not in (None, "", who.team):
                who.check_sees(asked, "filter.team")
            query = dataclasses.replace(query, filters={**query.filters, "team": who.team})
        if "user" in query.group_by or query.filters.get("user"):
            who.require_users_visible("group_by / filter user")
        v = Violations()
        if query.end_us <= query.start_us:
            v.add("end_time", "must be after start_time")
        bad = [d for d in (*query.group_by, *query.filters) if d not in DIMENSIONS]
        if bad:
            v.add("group_by", f"unknown dimension {quoted(bad[0])}")
        try:
            zone(query.timezone)
        except ValueError as exc:
            v.add("time_zone", str(exc))
        else:
            if not buckets_fit(query):
                v.add("end_time", f"its {query.bucket.value} bucket in {query.timezone} ends "
                                  "after the year 9999; end earlier")
        _filter(v, query)
        v.raise_if_any()
        rows = fold(query, self._store.spend_rows(query))
        summed = total(rows)
        representable(int(summed["cost_total"]), "total cost")
        return rows, summed
