"""The metric helpers: capped labels fold what is past the cap into ``other``, usage counters
bind each pair once, and the scrape collector merges its live sources."""

from __future__ import annotations

import gc
import threading
import uuid

import pytest
from prometheus_client import REGISTRY

from router import metrics
from router.metrics import OTHER, SOURCES, CappedLabel, UsageCounters


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_capped_label_keeps_the_first_values_and_folds_the_rest_into_other():
    team = CappedLabel(2)
    assert [team(v) for v in ("a", "b", "c", "a", "d", "b")] == ["a", "b", OTHER, "a", OTHER, "b"]
    assert len(team) == 2


def test_a_capped_label_never_exceeds_its_cap_under_concurrent_first_sightings():
    team = CappedLabel(10)
    names = [f"t{i}" for i in range(200)]
    threads = [threading.Thread(target=lambda: [team(n) for n in names]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(team) == 10
    kept = {team(n) for n in names} - {OTHER}
    assert len(kept) == 10


def test_a_cap_needs_room_for_one_value():
    with pytest.raises(ValueError):
        CappedLabel(0)


def test_usage_counters_fold_teams_and_models_past_the_cap_into_other():
    run = uuid.uuid4().hex[:8]
    counters = UsageCounters(max_label_values=1)
    first, second = f"first-{run}", f"second-{run}"
    other_before = value("router_spend_nanos_total", team=OTHER, model=OTHER)
    counters.add(first, f"m-{run}", 100, (1, 2, 3, 4, 5))
    counters.add(second, f"n-{run}", 50, (10, 0, 0, 0, 0))  # past the cap: folded
    counters.add(first, f"n-{run}", 7, (0, 0, 0, 0, 0))  # a known team with a folded model
    assert value("router_spend_nanos_total", team=first, model=f"m-{run}") == 100
    assert value("router_tokens_total", team=first, model=f"m-{run}", kind="reasoning") == 4
    assert value("router_tokens_total", team=first, model=f"m-{run}", kind="cache_write") == 5
    assert value("router_spend_nanos_total", team=second, model=f"n-{run}") == 0
    assert value("router_spend_nanos_total", team=OTHER, model=OTHER) - other_before == 50
    assert value("router_spend_nanos_total", team=first, model=OTHER) == 7


class _Source:
    def __init__(self, samples: list[tuple[str, dict[str, str], float]]) -> None:
        self._samples = samples

    def samples(self):
        return self._samples


def _scraped(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_the_collector_sums_process_gauges_keeps_the_first_budget_and_forgets_dropped_sources():
    budget = f"b-{uuid.uuid4().hex[:8]}"
    before = _scraped("router_writer_queue_depth") or 0.0
    one = _Source([("router_writer_queue_depth", {}, 3),
                   ("router_budget_limit_nanos", {"budget": budget}, 10)])
    two = _Source([("router_writer_queue_depth", {}, 4),
                   ("router_budget_limit_nanos", {"budget": budget}, 99)])
    SOURCES.add(one)
    SOURCES.add(two)
    try:
        assert _scraped("router_writer_queue_depth") == before + 7
        assert _scraped("router_budget_limit_nanos", budget=budget) in (10, 99)
        SOURCES.remove(two)
        assert _scraped("router_budget_limit_nanos", budget=budget) == 10
        del one
        gc.collect()  # held weakly: services dropped without close leave nothing behind
        assert _scraped("router_budget_limit_nanos", budget=budget) is None
    finally:
        SOURCES.remove(two)


def test_every_scraped_gauge_is_described():
    assert set(metrics.GAUGES) == {m.name for m in SOURCES.describe()}
