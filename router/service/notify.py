"""Where detected anomalies go besides the store and the log: live watchers and a webhook.

``AnomalyHub`` fans new anomalies out to the WatchAnomalies streams (asyncio queues, each on its
own event loop, fed thread-safely from the detector's thread). ``Webhook`` POSTs them as JSON
from a background thread with bounded retries and a bounded queue, so a slow or dead receiver
never holds up detection.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from router.core.anomalies import Anomaly

log = structlog.get_logger("router.notify")


@dataclass(frozen=True, slots=True)
class Detected:
    anomaly: Anomaly
    detected_us: int


def as_json(d: Detected) -> dict[str, Any]:
    a = d.anomaly
    return {"id": a.key(), "kind": a.kind.value, "team": a.team, "agent": a.agent,
            "task_id": a.task_id, "window_start_us": a.window_start_us,
            "window_end_us": a.window_end_us, "observed": a.observed, "baseline": a.baseline,
            "message": a.message, "evidence": dict(a.evidence), "detected_us": d.detected_us}


class AnomalyHub:
    def __init__(self, max_queue: int = 1000) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Detected]]] = []
        self._max_queue = max_queue

    def subscribe(self) -> asyncio.Queue[Detected]:
        q: asyncio.Queue[Detected] = asyncio.Queue(self._max_queue)
        with self._lock:
            self._subscribers.append((asyncio.get_running_loop(), q))
        return q

    def unsubscribe(self, q: asyncio.Queue[Detected]) -> None:
        with self._lock:
            self._subscribers = [(loop, s) for loop, s in self._subscribers if s is not q]

    def publish(self, items: Sequence[Detected]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, q in subscribers:
            for item in items:
                try:
                    loop.call_soon_threadsafe(_offer, q, item)
                except RuntimeError:  # that loop has closed; its stream is gone
                    self.unsubscribe(q)
                    break


def _offer(q: asyncio.Queue[Detected], item: Detected) -> None:
    if q.full():  # a watcher that does not read loses the oldest, not the service's memory
        q.get_nowait()
    q.put_nowait(item)


class Webhook:
    """POST each anomaly to ``url`` (JSON), retrying ``retries`` times with backoff."""

    def __init__(self, url: str, *, retries: int = 3, timeout_s: float = 5.0,
                 backoff_s: float = 0.5, max_queue: int = 1000,
                 post: Callable[[str, bytes, float], int] | None = None) -> None:
        self.url = url
        self.retries, self.timeout_s, self.backoff_s = retries, timeout_s, backoff_s
        self._post = post or _post
        self._queue: queue.Queue[Detected | None] = queue.Queue(max_queue)
        self.sent = self.failed = self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="webhook", daemon=True)
        self._thread.start()

    def send(self, items: Sequence[Detected]) -> None:
        for item in items:
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                self.dropped += 1
                log.warning("webhook.dropped", url=self.url, id=item.anomaly.key())

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            body = json.dumps(as_json(item)).encode()
            for attempt in range(self.retries + 1):
                try:
                    status = self._post(self.url, body, self.timeout_s)
                    if 200 <= status < 300:
                        self.sent += 1
                        break
                    error = f"HTTP {status}"
                except Exception as exc:  # network errors of every kind: retry, then give up
                    error = str(exc)
                if attempt == self.retries:
                    self.failed += 1
                    log.error("webhook.failed", url=self.url, id=item.anomaly.key(),
                              error=error, attempts=attempt + 1)
                else:
                    time.sleep(self.backoff_s * 2**attempt)


def _post(url: str, body: bytes, timeout_s: float) -> int:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return int(response.status)
