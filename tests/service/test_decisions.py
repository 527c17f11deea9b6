"""Decisions: the bounded memory, the recorder's queue, the store; and their ids."""

from __future__ import annotations

import pytest

from router.core.errors import UnknownDecision
from router.core.records import Attribution, CandidateRecord, DecisionRecord
from router.service.decisions import Decisions, Lru, new_id
from router.store.recorder import Recorder

NOW = 1_767_225_600_000_000


def decision(decision_id: str, request_id: str | None = None) -> DecisionRecord:
    return DecisionRecord(
        decision_id=decision_id, request_id=request_id, request_hash="h" if request_id else "",
        created_us=NOW, attribution=Attribution(team="growth", agent="mailer"),
        model="gpt-4o-mini", provider="openai", complexity_label="easy",
        complexity_score=0.25, quality_target=0.7, predicted_quality=0.8, input_tokens=14,
        output_tokens=36, predicted_cost=24_000, currency="USD", reason_code=1,
        reason_message="cheapest adequate", fallbacks=("gpt-4o",),
        candidates=(CandidateRecord("gpt-4o-mini", "openai", 0.8, 36, 24_000, 0),
                    CandidateRecord("gpt-4o", "openai", 0.9, 36, 395_000, 0)),
        classifier_version="test")


def test_lru_evicts_the_least_recently_used():
    lru: Lru[str, int] = Lru(2)
    lru.put("a", 1)
    lru.put("b", 2)
    lru.put("c", 3)
    assert (lru.get("a"), lru.get("b"), lru.get("c")) == (None, 2, 3) and len(lru) == 2


def test_lru_get_refreshes_recency():
    lru: Lru[str, int] = Lru(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1  # now "b" is the least recently used
    lru.put("c", 3)
    assert (lru.get("a"), lru.get("b"), lru.get("c")) == (1, None, 3)


def test_lru_put_refreshes_recency_and_replaces_the_value():
    lru: Lru[str, int] = Lru(2)
    lru.put("a", 1)
    lru.put("b", 2)
    lru.put("a", 10)
    lru.put("c", 3)
    assert (lru.get("a"), lru.get("b")) == (10, None)


def test_lru_keeps_at_least_one_entry():
    lru: Lru[str, int] = Lru(0)
    lru.put("a", 1)
    assert lru.get("a") == 1
    lru.put("b", 2)
    assert (lru.get("a"), lru.get("b"), len(lru)) == (None, 2, 1)


def test_a_pending_decision_is_found_through_the_recorder_then_in_the_store(store):
    recorder = Recorder(store)  # not started yet: what is queued stays queued
    decisions = Decisions(store, recorder, capacity=10)
    d = decision("d1")
    recorder.record_decision(d)
    assert store.get_decision("d1") is None
    assert decisions.get("d1") == d
    assert decisions.find("d1") == d
    recorder.start()
    try:
        recorder.flush()
    finally:
        recorder.close()
    assert recorder.pending_decision("d1") is None
    decisions.forget()
    assert not decisions.cached("d1")
    assert decisions.get("d1") == d  # from the store now
    assert decisions.cached("d1")  # and remembered again


def test_a_remembered_decision_is_found_by_id_and_by_request(store):
    recorder = Recorder(store)
    decisions = Decisions(store, recorder, capacity=10)
    d = decision("d1", request_id="req-1")
    decisions.remember(d)
    assert decisions.cached("d1") and decisions.cached_request("req-1")
    assert decisions.get("d1") == d and decisions.by_request("req-1") == d
    decisions.forget()
    assert decisions.get("d1") is None and decisions.by_request("req-1") is None


def test_by_request_falls_back_to_the_store(store):
    recorder = Recorder(store).start()
    try:
        recorder.record_decision(decision("d1", request_id="req-1"))
        recorder.flush()
    finally:
        recorder.close()
    decisions = Decisions(store, recorder, capacity=10)
    assert decisions.by_request("req-1").decision_id == "d1"
    assert decisions.by_request("req-2") is None


def test_find_raises_unknown_decision(store):
    decisions = Decisions(store, Recorder(store), capacity=10)
    with pytest.raises(UnknownDecision) as unknown:
        decisions.find("d-missing")
    assert unknown.value.decision_id == "d-missing"
    assert decisions.get("d-missing") is None


def test_new_ids_follow_time_in_lexicographic_order():
    times = [0, 1, 15, 16, 255, 4095, 4096, NOW, NOW + 1, 2**52 - 1]
    ids = [new_id("d", t) for t in times]
    assert sorted(ids) == ids
    made_backwards = [new_id("d", t) for t in reversed(times)]
    assert [int(i[1:14], 16) for i in sorted(made_backwards)] == times
    assert all(i.startswith("d") and len(i) == 1 + 13 + 12 for i in ids)
    assert int(ids[7][1:14], 16) == NOW


def test_new_ids_are_unique_within_one_microsecond():
    ids = {new_id("u", NOW) for _ in range(2000)}
    assert len(ids) == 2000


def test_cached_decisions_are_out_of_the_garbage_collectors_walk(store, recorder):
    """A full collection walks every tracked object while the event loop waits: a cache of
    100,000 decision objects made that a pause of ~0.5 s. Packed, an entry is a plain tuple of
    strings and numbers (and flat tuples of them), which the collector stops tracking, and it
    unpacks to the same decision."""
    import gc

    from router.core.records import Attribution, CandidateRecord, DecisionRecord
    from router.service.decisions import pack, unpack

    d = DecisionRecord(
        decision_id="d1", request_id="r1", request_hash="h", created_us=1,
        attribution=Attribution(team="t", agent="a", user="u", labels={"env": "prod"}),
        model="m1", provider="p", complexity_label="easy", complexity_score=0.2,
        quality_target=0.7, predicted_quality=0.8, input_tokens=10, output_tokens=5,
        predicted_cost=123, currency="USD", reason_code=1, reason_message="cheapest",
        fallbacks=("m2",), candidates=(CandidateRecord("m1", "p", 0.8, 5, 123, 0),
                                       CandidateRecord("m2", "p", 0.9, 6, 456, 0)),
        classifier_version="v")
    assert unpack(pack(d)) == d
    decisions = Decisions(store, recorder, 10)
    decisions.remember(d)
    gc.collect()
    gc.collect()  # a tuple is untracked once what it holds is: the flat ones first, then it
    assert not gc.is_tracked(decisions._by_id.get("d1"))
    assert decisions.get("d1") == d and decisions.by_request("r1") == d
