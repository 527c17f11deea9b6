"""ReportService.spend on both databases: label filters match keys and values exactly, and a
query's filter and time range are validated before any SQL runs."""

from __future__ import annotations

import dataclasses

import pytest

from router.core.catalog import load_catalog
from router.core.errors import InvalidRequest
from router.core.records import Attribution
from router.core.requests import MAX_KEY_CHARS, MAX_LABEL_CHARS, MAX_LABELS
from router.core.spend import SpendQuery
from router.service.decisions import Decisions
from router.service.reports import ReportService
from router.settings import Settings
from router.store.sql import SqlStore
from tests.store.test_sql_store import usage

AT = 1_782_946_800_000_000  # 2026-07-02 00:00 London
H = 3_600_000_000
LABELLED = {  # usage id -> its labels
    "plain": {"env": "prod"},
    "quote-in-key": {'"env': "prod"},  # its JSON text contains '"env": "prod"'
    "other-value": {"env": "prod-eu"},
    "two": {"env": "prod", "tier": "gold"},
    "wildcards": {"e%v_": "prod"},
    "wildcard-lookalike": {"eXvY": "prod"},
    "unicode": {"région": "été"},
    "escape-text": {"esc": "\\u0000"},  # a backslash, then u0000
    "nul": {"nul": "a\0b"},  # its JSON (\u0000) cannot become PostgreSQL text: it fails no query
    "none": {},
}


@pytest.fixture
def store(store_url: str):
    s = SqlStore(store_url, pool_size=4, sqlite_synchronous="NORMAL")
    s.migrate()
    s.write_batch([], [dataclasses.replace(usage(uid, did=None), recorded_us=AT,
                                           attribution=Attribution(team="eng", labels=labels))
                       for uid, labels in LABELLED.items()])
    yield s
    s.close()


@pytest.fixture
def reports(store: SqlStore) -> ReportService:
    catalog = load_catalog(Settings().catalog_path)
    return ReportService(catalog, store, Decisions(store, None, 16))  # type: ignore[arg-type]


def calls(reports: ReportService, labels: dict[str, str]) -> int:
    _, summed = reports.spend(SpendQuery(AT - H, AT + H, ("team",), labels=labels))
    return int(summed["calls"])


@pytest.mark.parametrize("labels, expected", [
    ({"env": "prod"}, ["plain", "two"]),
    ({'"env': "prod"}, ["quote-in-key"]),
    ({"env": "prod", "tier": "gold"}, ["two"]),
    ({"e%v_": "prod"}, ["wildcards"]),
    ({"e%": "prod"}, []),
    ({"région": "été"}, ["unicode"]),
    ({"esc": "\\u0000"}, ["escape-text"]),
    ({"env": "pro"}, []),
    ({"tier": "gold", "env": "prod-eu"}, []),
])
def test_label_filters_match_keys_and_values_exactly(reports, labels, expected):
    assert expected == [uid for uid, have in LABELLED.items()
                        if all(have.get(k) == v for k, v in labels.items())]  # the oracle
    assert calls(reports, labels) == len(expected)


@pytest.mark.parametrize("labels, field", [
    ({"k" * 60_000: "prod"}, "filter.labels[" + "k" * 40 + "]"),
    ({"env": "v" * (MAX_LABEL_CHARS + 1)}, "filter.labels[env]"),
    ({"": "prod"}, "filter.labels[]"),
    ({"env": "a\0b"}, "filter.labels[env]"),
    ({f"k{i}": "v" for i in range(MAX_LABELS + 1)}, "filter.labels"),
])
def test_bad_label_filters_are_invalid_requests_naming_the_field(reports, labels, field):
    with pytest.raises(InvalidRequest) as info:
        calls(reports, labels)
    assert field in [v.field for v in info.value.violations]


def test_bad_attribution_filters_name_the_field(reports):
    query = SpendQuery(AT - H, AT + H, filters={"team": "t" * (MAX_KEY_CHARS + 1)})
    with pytest.raises(InvalidRequest) as info:
        reports.spend(query)
    assert [v.field for v in info.value.violations] == ["filter.team"]
