"""Decisions as the services see them: recent ones in memory, the rest from the recorder's queue
or the store, and ids that are time-ordered and unguessable."""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections import OrderedDict
from itertools import chain
from typing import Any, Generic, TypeVar

from router.core.errors import UnknownDecision
from router.core.records import Attribution, CandidateRecord, DecisionRecord
from router.store.base import RecordStore
from router.store.recorder import Recorder

K = TypeVar("K")
V = TypeVar("V")


def new_id(prefix: str, now_us: int) -> str:
    """Time-ordered, unguessable id: 13 hex digits of microseconds, 12 of randomness."""
    return f"{prefix}{now_us:013x}{secrets.token_hex(6)}"


Packed = tuple[Any, ...]


def pack(d: DecisionRecord) -> Packed:
    """``d`` as a plain tuple of strings and numbers (and flat tuples of them), which the
    garbage collector stops tracking after it has seen it once or twice.

    Why: a full collection pauses the event loop while it walks every tracked object, and a
    DecisionRecord is ~18 of them (the record, its attribution, every candidate); 100,000
    cached decisions made each full collection a pause of ~0.5 s, and the p99 of Route with
    it. Packed, the cache costs the collector one visit per entry. Unpacking costs a few
    microseconds per lookup (a usage's decision, a replay)."""
    a = d.attribution
    return (d.decision_id, d.request_id, d.request_hash, d.created_us, a.team, a.agent,
            a.task_id, a.task_type, a.user, tuple(chain.from_iterable(a.labels.items())),
            d.model, d.provider, d.complexity_label, d.complexity_score, d.quality_target,
            d.predicted_quality, d.input_tokens, d.output_tokens, d.predicted_cost, d.currency,
            d.reason_code, d.reason_message, tuple(d.fallbacks),
            tuple(chain.from_iterable(d.candidates)), d.classifier_version, d.prior_quality)


_CANDIDATE_FIELDS = len(CandidateRecord._fields)


def unpack(p: Packed) -> DecisionRecord:
    labels, flat = p[9], p[23]
    n = _CANDIDATE_FIELDS
    return DecisionRecord(
        decision_id=p[0], request_id=p[1], request_hash=p[2], created_us=p[3],
        attribution=Attribution(p[4], p[5], p[6], p[7], p[8],
                                dict(zip(labels[::2], labels[1::2], strict=True))),
        model=p[10], provider=p[11], complexity_label=p[12], complexity_score=p[13],
        quality_target=p[14], predicted_quality=p[15], input_tokens=p[16],
        output_tokens=p[17], predicted_cost=p[18], currency=p[19], reason_code=p[20],
        reason_message=p[21], fallbacks=p[22],
        candidates=tuple(CandidateRecord(*flat[i:i + n]) for i in range(0, len(flat), n)),
        classifier_version=p[24], prior_quality=p[25])


class Lru(Generic[K, V]):
    """A bounded mapping that forgets the least recently used entry."""

    def __init__(self, capacity: int) -> None:
        self._data: OrderedDict[K, V] = OrderedDict()
        self._capacity = max(1, capacity)
        self._lock = threading.Lock()  # the event loop and the offload threads share it

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            if len(self._data) > self._capacity:
                self._data.popitem(last=False)

    def discard(self, key: K, value: V) -> bool:
        """Forget ``key`` if it still maps to ``value`` (an identity check); True if it did."""
        with self._lock:
            if self._data.get(key) is not value:
                return False
            del self._data[key]
            return True

    def replace(self, key: K, old: V, new: V) -> None:
        """Map ``key`` to ``new`` if it still maps to ``old``, keeping its recency."""
        with self._lock:
            if self._data.get(key) is old:
                self._data[key] = new

    def __len__(self) -> int:
        return len(self._data)


class Decisions:
    """Where a decision is found: this process's recent ones, the queue not yet committed, the
    store; and, for replays, which decision a request_id produced.

    A request_id is answered from memory whenever this process knows it: its own decisions
    (remembered when routed, before their commit), and any decision it has read from the store
    (by request_id or by id). Only an id it does not know costs a store read: after a restart,
    or one another replica answered. The store's unique request_id decides a race (two replicas,
    or two concurrent Routes here, answering one request_id before either committed): the first
    committed keeps it, and the recorder tells this process of its decisions that lost
    (``request_taken``), so its replays then answer what every replica answers.
    """

    def __init__(self, store: RecordStore, recorder: Recorder, capacity: int,
                 lookup_grace_ms: int = 0) -> None:
        self._store = store
        self._recorder = recorder
        self._capacity = capacity
        self._grace_s = lookup_grace_ms / 1000
        # packed (``pack``): out of the garbage collector's walk
        self._by_id: Lru[str, Packed] = Lru(capacity)
        self._by_request: Lru[str, Packed] = Lru(capacity)

    def remember(self, record: DecisionRecord) -> None:
        packed = pack(record)
        self._by_id.put(record.decision_id, packed)
        if record.request_id:
            self._by_request.put(record.request_id, packed)

    def forget(self) -> None:
        """Drop everything held in memory (what a restart does); the store still answers."""
        self._by_id = Lru(self._capacity)
        self._by_request = Lru(self._capacity)

    def cached(self, decision_id: str) -> bool:
        return self._by_id.get(decision_id) is not None

    def cached_request(self, request_id: str) -> bool:
        return self._by_request.get(request_id) is not None

    def request_taken(self, lost: list[DecisionRecord]) -> None:
        """The recorder committed ``lost`` without their request_ids (another decision had them
        first): each is kept as stored, and its request_id is read again from the store, which
        answers with the first decision."""
        for d in lost:
            if d.request_id:
                held = self._by_request.get(d.request_id)
                if held is not None and held[0] == d.decision_id:
                    self._by_request.discard(d.request_id, held)
            cached = self._by_id.get(d.decision_id)
            if cached is not None:
                self._by_id.replace(d.decision_id, cached,
                                    pack(dataclasses.replace(unpack(cached), request_id=None)))

    def get(self, decision_id: str) -> DecisionRecord | None:
        cached = self._by_id.get(decision_id)
        if cached is not None:
            return unpack(cached)
        found = self._recorder.pending_decision(decision_id) \
            or self._store.get_decision(decision_id)
        if found is not None:
            # remembered under its request_id too: a replay of it needs no store read
            self.remember(found)
        return found

    def find(self, decision_id: str) -> DecisionRecord:
        """The decision, waiting the lookup grace once for one another replica has not flushed;
        UnknownDecision when there is none."""
        decision = self.get(decision_id)
        if decision is None and self._grace_s > 0:
            time.sleep(self._grace_s)
            decision = self.get(decision_id)
        if decision is None:
            raise UnknownDecision(decision_id)
        return decision

    def by_request(self, request_id: str) -> DecisionRecord | None:
        """The decision ``request_id`` produced: from memory when this process knows it, else
        one store read (remembered, so the replays after it are answered from memory)."""
        cached = self._by_request.get(request_id)
        if cached is not None:
            return unpack(cached)
        found = self._store.find_decision_by_request(request_id)
        if found is not None:
            self.remember(found)
        return found
