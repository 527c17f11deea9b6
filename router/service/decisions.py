"""Decisions as the services see them: recent ones in memory, the rest from the recorder's queue
or the store, and ids that are time-ordered and unguessable."""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections import OrderedDict
from typing import Generic, TypeVar

from router.core.errors import UnknownDecision
from router.core.records import DecisionRecord
from router.store.base import RecordStore
from router.store.recorder import Recorder

K = TypeVar("K")
V = TypeVar("V")


def new_id(prefix: str, now_us: int) -> str:
    """Time-ordered, unguessable id: 13 hex digits of microseconds, 12 of randomness."""
    return f"{prefix}{now_us:013x}{secrets.token_hex(6)}"


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
        self._by_id: Lru[str, DecisionRecord] = Lru(capacity)
        self._by_request: Lru[str, DecisionRecord] = Lru(capacity)

    def remember(self, record: DecisionRecord) -> None:
        self._by_id.put(record.decision_id, record)
        if record.request_id:
            self._by_request.put(record.request_id, record)

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
                self._by_request.discard(d.request_id, d)
            self._by_id.replace(d.decision_id, d, dataclasses.replace(d, request_id=None))

    def get(self, decision_id: str) -> DecisionRecord | None:
        found = self._by_id.get(decision_id)
        if found is None:
            found = self._recorder.pending_decision(decision_id) \
                or self._store.get_decision(decision_id)
            if found is not None:
                self._by_id.put(decision_id, found)
                if found.request_id:  # a replay of its request_id needs no store read
                    self._by_request.put(found.request_id, found)
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
        found = self._by_request.get(request_id)
        if found is None:
            found = self._store.find_decision_by_request(request_id)
            if found is not None:
                self.remember(found)
        return found
