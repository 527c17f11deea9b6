"""AnomalyService: which kinds pause, what a run finds, who hears of it, and that a finding is
announced once."""

from __future__ import annotations

import asyncio

import pytest

from router.budgeting import BudgetBook
from router.core.anomalies import HourBucket, Kind, Series, TaskCount
from router.core.catalog import load_catalog
from router.core.classifier import Classifier
from router.core.clock import ManualClock
from router.core.errors import PreconditionFailed
from router.core.pricing import TokenCounts
from router.core.records import Attribution
from router.core.requests import RouteInput, UsageInput
from router.core.timeunits import DAY_US, HOUR_US
from router.service import build_services
from router.service.anomalies import AnomalyService, pause_kinds
from router.settings import Settings
from router.store.recorder import Recorder
from router.store.sql import SqlStore

SETTINGS = Settings(decision_lookup_grace_ms=0)


class LoopingTask:
    """An AnomalyStore whose history holds one task that called far past the retry floor; its
    findings are kept (and deduplicated) by a real SqlStore."""

    def __init__(self, findings: SqlStore, now_us: int, team: str = "finance",
                 agent: str = "reconciler") -> None:
        self._findings = findings
        self.task = TaskCount("t-42", "match", team, agent, calls=150, failures=0,
                              first_us=now_us - HOUR_US, last_us=now_us - 1)

    def anomaly_inputs(self, since_us, until_us, tasks_since_us):
        return [], [], [self.task]

    def save_anomalies(self, found, now_us):
        return self._findings.save_anomalies(found, now_us)

    def list_anomalies(self, since_us=None, kinds=(), limit=1000, team=None):
        return self._findings.list_anomalies(since_us, kinds, limit, team)


def test_pause_kinds_parses_a_comma_separated_setting():
    assert pause_kinds("") == frozenset()
    assert pause_kinds(" spend_spike , retry_loop,, ") == {Kind.SPEND_SPIKE, Kind.RETRY_LOOP}
    assert pause_kinds(",".join(k.value for k in Kind)) == frozenset(Kind)


def test_pause_kinds_rejects_an_unknown_kind_naming_it():
    with pytest.raises(ValueError, match="'spend_spikes'") as bad:
        pause_kinds("retry_loop,spend_spikes")
    assert "retry_loop" in str(bad.value)  # the message lists the known kinds


def test_detect_on_an_empty_store_finds_nothing(store, clock):
    service = AnomalyService(store, BudgetBook(store), clock, history_days=14,
                             pause_on=frozenset(Kind))
    assert service.detect() == []
    assert service.list(None, (), 100) == []
    assert BudgetBook(store).pauses() == []


def test_a_configured_kind_pauses_the_agent_and_is_published(store, clock):
    book = BudgetBook(store)
    service = AnomalyService(LoopingTask(store, clock.now_us()), book, clock, history_days=14,
                             pause_on=frozenset({Kind.RETRY_LOOP}))

    async def watch():
        q = service.hub.subscribe()
        new = await asyncio.to_thread(service.detect)  # detection runs off the loop
        published = await asyncio.wait_for(q.get(), 5)
        return new, published

    new, published = asyncio.run(watch())
    [found] = new
    assert found.anomaly.kind is Kind.RETRY_LOOP and found.anomaly.task_id == "t-42"
    assert found.detected_us == clock.now_us()
    assert published == found
    [pause] = book.pauses()
    assert pause.scope.team == "finance" and pause.scope.agent == "reconciler"
    assert pause.reason.startswith("auto-paused:")
    assert book.paused(Attribution(team="finance", agent="reconciler"))[0] == pause
    assert book.paused(Attribution(team="finance", agent="other"))[0] is None
    assert [p.scope for p in BudgetBook(store).pauses()] == [pause.scope]  # in the store


def test_an_unconfigured_kind_is_reported_but_pauses_nothing(store, clock):
    book = BudgetBook(store)
    service = AnomalyService(LoopingTask(store, clock.now_us()), book, clock, history_days=14,
                             pause_on=frozenset({Kind.SPEND_SPIKE}))
    assert [d.anomaly.kind for d in service.detect()] == [Kind.RETRY_LOOP]
    assert book.pauses() == []


def test_the_same_anomaly_is_new_only_once(store, clock):
    book = BudgetBook(store)
    service = AnomalyService(LoopingTask(store, clock.now_us()), book, clock, history_days=14,
                             pause_on=frozenset({Kind.RETRY_LOOP}))

    async def watch():
        q = service.hub.subscribe()
        first = await asyncio.to_thread(service.detect)
        await asyncio.wait_for(q.get(), 5)
        clock.advance(seconds=60)
        second = await asyncio.to_thread(service.detect)
        for _ in range(3):
            await asyncio.sleep(0)  # let any (wrongly) published item arrive
        return first, second, q.qsize()

    first, second, waiting = asyncio.run(watch())
    assert len(first) == 1 and second == [] and waiting == 0
    [(stored, detected_us)] = store.list_anomalies()
    assert stored.key() == first[0].anomaly.key() and detected_us == first[0].detected_us
    assert [d.anomaly for d in service.list(None, ("retry_loop",), 10)] == [stored]
    assert service.list(None, ("spend_spike",), 10) == []


def test_a_retry_loop_in_recorded_usage_pauses_the_agent_end_to_end(store, clock):
    settings = Settings(decision_lookup_grace_ms=0, anomaly_pause_kinds="retry_loop")
    recorder = Recorder(store).start()
    try:
        services = build_services(settings, load_catalog(settings.catalog_path),
                                  Classifier.load(settings.classifier_path), store, recorder,
                                  clock)
        keys = Attribution(team="finance", agent="reconciler", task_id="t-7", task_type="match")
        futures = []
        for i in range(120):  # past the retry floor of 100 calls for a rare task type
            record = services.usage.prepare(UsageInput(
                usage_id=f"u{i}", attribution=keys, model="gpt-4o-mini",
                tokens=TokenCounts(input=10, output=10), occurred_us=clock.now_us() - i))
            futures.append(services.usage.submit(record))
        for f in futures:
            f.result(10)
        [found] = services.anomalies.detect()
        assert found.anomaly.kind is Kind.RETRY_LOOP and found.anomaly.task_id == "t-7"
        with pytest.raises(PreconditionFailed, match="agent=reconciler"):
            services.routing.route(RouteInput(task_description="Match the invoices.",
                                              attribution=keys))
        assert services.anomalies.detect() == []
    finally:
        recorder.close()


class RisingTeam:
    """An AnomalyStore whose history is one team's 14 days: 50 calls an hour at 0.01, and from
    ``since_us`` on at 0.03, so the 24 h windows ending at several hours all see one rise."""

    def __init__(self, findings: SqlStore, since_us: int) -> None:
        self._findings = findings
        self.since_us = since_us

    def anomaly_inputs(self, since_us, until_us, tasks_since_us):
        buckets = tuple(HourBucket(h, calls=50, cost=50 * (30 if h >= self.since_us else 10)
                                   * 1_000_000)
                        for h in range(since_us - since_us % HOUR_US, until_us, HOUR_US))
        return [], [Series("search", "", since_us - 30 * DAY_US, buckets)], []

    def save_anomalies(self, found, now_us):
        return self._findings.save_anomalies(found, now_us)

    def list_anomalies(self, since_us=None, kinds=(), limit=1000, team=None):
        return self._findings.list_anomalies(since_us, kinds, limit, team)


def test_one_incident_judged_at_several_hours_is_one_anomaly_updated_as_it_grows(store):
    # the rise began 20 hours ago; a run judges the 24 h to the last two hour boundaries
    clock = ManualClock(1_795_867_200_000_000 + 5 * 60 * 1_000_000)  # 2026-11-28 12:05 UTC
    top = clock.now_us() - clock.now_us() % HOUR_US
    service = AnomalyService(RisingTeam(store, top - 20 * HOUR_US), BudgetBook(store), clock,
                             history_days=14)

    async def watch():
        q = service.hub.subscribe()
        first = await asyncio.to_thread(service.detect)
        announced = [await asyncio.wait_for(q.get(), 5) for _ in first]
        clock.advance(seconds=3600)  # an hour later the incident is still on, and bigger
        second = await asyncio.to_thread(service.detect)
        for _ in range(3):
            await asyncio.sleep(0)  # let any (wrongly) published item arrive
        return first, announced, second, q.qsize()

    first, announced, second, waiting = asyncio.run(watch())
    [new] = first  # not one per judged window
    assert announced == first
    assert new.anomaly.kind is Kind.COST_PER_CALL_RISE and new.anomaly.window_end_us == top
    assert second == [] and waiting == 0  # growth is stored, not announced again
    [(stored, detected_us)] = store.list_anomalies()
    assert detected_us == new.detected_us  # when it was first detected
    assert stored.key() == new.anomaly.key()  # the incident keeps its id
    assert stored.window_start_us == new.anomaly.window_start_us
    assert stored.window_end_us == top + HOUR_US  # the latest window judged
    assert stored.observed > new.anomaly.observed  # 21 dear hours in the day now, not 20
    assert stored.evidence["cost_nanos"] > new.anomaly.evidence["cost_nanos"]
    assert "2026-11-28 13:00 UTC" in stored.message
