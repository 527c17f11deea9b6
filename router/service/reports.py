"""Reads for people and finance: one decision with its usage and feedback, the recorded decisions
a page at a time, spend (and the calls' scores) by any keys, savings."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import re
from collections.abc import Mapping
from typing import NamedTuple, Protocol

from router.auth import SYSTEM, Principal
from router.core.catalog import Catalog
from router.core.errors import InvalidRequest, PreconditionFailed, UnknownDecision, quoted
from router.core.focus import FocusCharge
from router.core.focus import charges as focus_charges
from router.core.records import (
    Attribution,
    DecisionQuery,
    DecisionRecord,
    DecisionSummary,
    FeedbackRecord,
    Quality,
    UsageQuery,
    UsageRecord,
    quality_of,
)
from router.core.requests import MAX_ID_CHARS, MAX_KEY_CHARS, Violations
from router.core.savings import SavingsReport, savings
from router.core.spend import DIMENSIONS, SpendQuery, SpendRow, buckets_fit, fold, total
from router.core.windows import zone
from router.service.decisions import Decisions
from router.store.base import FeedbackStore, RecordStore, SpendStore

INT64_MAX = 2**63 - 1
DECISIONS_PAGE, MAX_DECISIONS_PAGE = 50, 500  # ListDecisions' default and largest page_size
FOCUS_PAGE, MAX_FOCUS_PAGE = 1000, 10_000  # ListFocusCharges' default and largest page (usages)
DECISION_ID_CHARS = 40  # the longest decision id a listing's cursor takes (as before)


@functools.lru_cache(maxsize=4)
def _cursor_pattern(id_chars: int) -> re.Pattern[str]:
    return re.compile(rf"(0|[1-9][0-9]{{0,18}})\.([0-9A-Za-z._:/@+=-]{{1,{id_chars}}})")


class ReportStore(RecordStore, FeedbackStore, SpendStore, Protocol):
    """What the reports read: usage and feedback per decision, and the spend tables."""


class DecisionReport(NamedTuple):
    """One decision as GetDecision shows it: the usage and feedback reported against it, oldest
    first, the usages' total cost, and the scores of both."""

    decision: DecisionRecord
    usages: list[UsageRecord]
    actual_cost: int
    feedback: list[FeedbackRecord]
    quality: Quality


def representable(nanos: int, what: str) -> int:
    """A total must fit the API's int64 nanos; a sum of many huge reports might not."""
    if abs(nanos) > INT64_MAX:
        raise PreconditionFailed(f"the {what} exceeds what the API can represent "
                                 f"({INT64_MAX} nanos); narrow the query")
    return nanos


def _scoped(filters: Mapping[str, str], who: Principal) -> dict[str, str]:
    """``filters`` as ``who`` may ask: a team's caller's kept to its team (a filter naming
    another team is refused)."""
    out = dict(filters)
    if who.team:
        asked = out.get("team")
        if asked not in (None, "", who.team):
            who.check_sees(asked, "filter.team")
        out["team"] = who.team
    return out


def _filter(v: Violations, filters: Mapping[str, str], labels: Mapping[str, str]) -> None:
    """A filter within the bounds of what a record can carry (an Attribution's), so no key or
    label reaches SQL larger than any recorded one; no NUL, which PostgreSQL text cannot hold
    (recorded labels store it escaped in their JSON)."""
    keys = {k: filters.get(k, "") for k in ("team", "agent", "task_id", "task_type", "user")}
    v.attribution("filter", Attribution(**keys, labels=dict(labels)))
    for key, value in labels.items():
        if "\0" in key or "\0" in value:
            v.add(f"filter.labels[{key[:40]}]", "must not contain NUL characters")


def page_token(after: tuple[int, str]) -> str:
    """The opaque token of a listing's next page: its keyset cursor, the last decision's
    (created_us, decision_id), as URL-safe base64 without padding."""
    raw = f"{after[0]}.{after[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor(v: Violations, token: str, id_chars: int = DECISION_ID_CHARS
           ) -> tuple[int, str] | None:
    """The keyset cursor ``token`` (made by ``page_token``) holds, its id at most
    ``id_chars`` long (a decision's by default; a usage's for the FOCUS export); None for the
    first page. Anything else, a token not exactly as ``page_token`` writes it, is a
    violation."""
    if not token:
        return None
    match = None
    if len(token) <= -(-4 * (20 + id_chars) // 3):  # base64 of the longest cursor
        try:
            text = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_",
                                    validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            text = ""
        match = _cursor_pattern(id_chars).fullmatch(text)
    if match is None or page_token((int(match[1]), match[2])) != token:
        v.add("page_token", "is not a page token of this listing (pass next_page_token as "
                            "it came, or none for the first page)")
        return None
    return int(match[1]), match[2]


class ReportService:
    def __init__(self, catalog: Catalog, store: ReportStore, decisions: Decisions) -> None:
        self.catalog = catalog
        self._store = store
        self._decisions = decisions

    def decision(self, decision_id: str, who: Principal = SYSTEM) -> DecisionReport:
        """The decision, its usage and feedback oldest first, their total cost and scores, as
        ``who`` may see them (a team's caller: its team's only; users left out where they are
        not visible)."""
        violations = Violations()
        violations.identifier("decision_id", decision_id, required=True)
        violations.raise_if_any()
        decision = self._decisions.get(decision_id)
        if decision is None:
            raise who.missing("the decision", UnknownDecision(decision_id))
        who.check_sees(decision.attribution.team, "the decision")
        usages = [u for u in self._store.usages_for_decision(decision_id)
                  if who.sees(u.attribution.team)]
        feedback = [f for f in self._store.feedback_for_decision(decision_id)
                    if who.sees(f.attribution.team)]
        total = representable(sum(u.cost.total for u in usages), "actual cost")
        if not who.sees_users:
            decision = dataclasses.replace(decision, attribution=who.visible(decision.attribution))
            usages = [dataclasses.replace(u, attribution=who.visible(u.attribution))
                      for u in usages]
            feedback = [dataclasses.replace(f, attribution=who.visible(f.attribution))
                        for f in feedback]
        return DecisionReport(decision, usages, total, feedback, quality_of(usages, feedback))

    def decisions(self, query: DecisionQuery, token: str = "", who: Principal = SYSTEM
                  ) -> tuple[list[DecisionSummary], str]:
        """A page of the decisions ``query`` selects (its limit 0: the default page size),
        newest first, after the page ``token`` continues from, and the next page's token ("":
        this one is the last). As ``who`` may see them: a team's caller its team only (a
        filter naming another team is refused) and, for a key narrowed to agents, those agents
        only; users left out where they are not visible (and no filtering by them)."""
        filters = _scoped(query.filters, who)
        agents = who.agents_seen(filters.get("agent", ""), "filter.agent")
        if filters.get("user"):
            who.require_users_visible("filter user")
        v = Violations()
        if not 0 <= query.limit <= MAX_DECISIONS_PAGE:
            v.add("page_size", f"must be 0-{MAX_DECISIONS_PAGE}")
        if (query.start_us is not None and query.end_us is not None
                and query.end_us <= query.start_us):
            v.add("end_time", "must be after start_time")
        _filter(v, filters, query.labels)
        if len(filters.get("model", "")) > MAX_KEY_CHARS:
            v.add("model", f"must be at most {MAX_KEY_CHARS} characters")
        after = cursor(v, token)
        v.raise_if_any()
        limit = query.limit or DECISIONS_PAGE
        found = self._store.list_decisions(dataclasses.replace(
            query, filters=filters, agents=agents, after=after, limit=limit + 1,
            usage_team=who.team or None))
        page = found[:limit]
        for d in page:
            representable(d.actual_cost, "actual cost of a decision")
        following = page_token((page[-1].created_us, page[-1].decision_id)) \
            if len(found) > limit else ""
        if not who.sees_users:
            page = [dataclasses.replace(d, attribution=who.visible(d.attribution))
                    for d in page]
        return page, following

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
        """Usage grouped by the query's keys and buckets, with the scores of those calls
        (usage qualities and feedback, read apart and folded into the same groups: a group may
        have scores and no spend), and the total over all of it; a team's caller sees its team
        only (a filter naming another team is refused)."""
        if who.team:
            query = dataclasses.replace(query, filters=_scoped(query.filters, who))
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
        _filter(v, query.filters, query.labels)
        v.raise_if_any()
        rows = fold(query, [*self._store.spend_rows(query), *self._store.score_rows(query)])
        summed = total(rows)
        representable(int(summed["cost_total"]), "total cost")
        return rows, summed

    def focus(self, query: UsageQuery, token: str = "", who: Principal = SYSTEM
              ) -> tuple[list[FocusCharge], str]:
        """A page of the FOCUS charges of the usage recorded in the query's range (its limit:
        usages, 0 the default page), oldest first, after the page ``token`` continues from,
        and the next page's token ("": this one is the last). The billing period is the
        query's range; the charges of every page add up to QuerySpend's total over it. As
        ``who`` may see them: a team's caller its team only (a filter naming another team is
        refused), a key narrowed to agents those agents; users left out of the tags where
        they are not visible (and no filtering by them)."""
        filters = _scoped(query.filters, who)
        agents = who.agents_seen(filters.get("agent", ""), "filter.agent")
        if filters.get("user"):
            who.require_users_visible("filter user")
        v = Violations()
        if query.end_us <= query.start_us:
            v.add("end_time", "must be after start_time")
        if not 0 <= query.limit <= MAX_FOCUS_PAGE:
            v.add("page_size", f"must be 0-{MAX_FOCUS_PAGE}")
        _filter(v, filters, {})
        for key in ("model", "provider"):
            if len(filters.get(key, "")) > MAX_KEY_CHARS:
                v.add(key, f"must be at most {MAX_KEY_CHARS} characters")
        after = cursor(v, token, MAX_ID_CHARS)
        v.raise_if_any()
        limit = query.limit or FOCUS_PAGE
        found = self._store.usages_between(dataclasses.replace(
            query, filters=filters, agents=agents,
            after=after, limit=limit + 1))
        page = found[:limit]
        following = page_token((page[-1].recorded_us, page[-1].usage_id)) \
            if len(found) > limit else ""
        out: list[FocusCharge] = []
        for u in page:
            keys = who.visible(u.attribution)
            out += focus_charges(u, query.start_us, query.end_us, keys)
        return out, following
