"""Where anomalies go besides the store: the hub's watcher queues and the webhook."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from router.core.anomalies import Anomaly, Kind
from router.service.notify import AnomalyHub, Detected, Webhook, as_json


def detected(n: int = 0) -> Detected:
    return Detected(Anomaly(Kind.SPEND_SPIKE, "finance", f"agent/{n}", "", 3_600_000_000 * n,
                            3_600_000_000 * (n + 1), 5e9 + n, 1e8, f"spike #{n}",
                            {"ratio": 50.0, "method": "seasonal"}), 1_767_225_600_000_000 + n)


async def settle() -> None:
    """Let callbacks already handed to this loop run (call_soon_threadsafe queues them FIFO)."""
    for _ in range(3):
        await asyncio.sleep(0)


def publish_from_thread(hub: AnomalyHub, items: list[Detected]) -> None:
    t = threading.Thread(target=hub.publish, args=(items,))
    t.start()
    t.join(5)
    assert not t.is_alive(), "publish blocked"


def test_the_hub_delivers_to_a_watcher_from_another_thread():
    hub = AnomalyHub()

    async def watch():
        q = hub.subscribe()
        publish_from_thread(hub, [detected(1), detected(2)])
        return [await asyncio.wait_for(q.get(), 5) for _ in range(2)]

    assert asyncio.run(watch()) == [detected(1), detected(2)]


def test_a_full_watcher_queue_drops_the_oldest_instead_of_blocking():
    hub = AnomalyHub(max_queue=2)

    async def watch():
        q = hub.subscribe()
        publish_from_thread(hub, [detected(i) for i in range(5)])
        await settle()
        return [q.get_nowait() for _ in range(q.qsize())]

    assert asyncio.run(watch()) == [detected(3), detected(4)]


def test_an_unsubscribed_watcher_gets_nothing_more():
    hub = AnomalyHub()

    async def watch():
        gone, kept = hub.subscribe(), hub.subscribe()
        publish_from_thread(hub, [detected(1)])
        await settle()
        hub.unsubscribe(gone)
        publish_from_thread(hub, [detected(2)])
        await settle()
        return ([gone.get_nowait() for _ in range(gone.qsize())],
                [kept.get_nowait() for _ in range(kept.qsize())])

    gone, kept = asyncio.run(watch())
    assert gone == [detected(1)] and kept == [detected(1), detected(2)]


def test_a_watcher_whose_loop_closed_is_dropped_on_publish():
    hub = AnomalyHub()

    async def subscribe():
        return hub.subscribe()

    asyncio.run(subscribe())  # that loop is closed now
    hub.publish([detected(1)])  # does not raise
    assert hub._subscribers == []


def test_as_json_round_trips_every_field():
    d = detected(7)
    a = d.anomaly
    data = json.loads(json.dumps(as_json(d)))
    assert data == {"id": a.key(), "kind": "spend_spike", "team": "finance", "agent": "agent/7",
                    "task_id": "", "window_start_us": a.window_start_us,
                    "window_end_us": a.window_end_us, "observed": a.observed,
                    "baseline": a.baseline, "message": "spike #7",
                    "evidence": {"ratio": 50.0, "method": "seasonal"},
                    "detected_us": d.detected_us}
    again = Anomaly(Kind(data["kind"]), data["team"], data["agent"], data["task_id"],
                    data["window_start_us"], data["window_end_us"], data["observed"],
                    data["baseline"], data["message"], data["evidence"])
    assert again == a and again.key() == data["id"] and dict(again.evidence) == a.evidence


class Receiver:
    """A local HTTP endpoint answering each POST with the next status of ``statuses`` (the last
    one repeats), recording the bodies."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append(body)
                i = min(len(receiver.bodies), len(receiver.statuses)) - 1
                self.send_response(receiver.statuses[i])
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


@pytest.fixture
def receiver_factory():
    made: list[Receiver] = []

    def make(statuses: list[int]) -> Receiver:
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_the_webhook_retries_after_a_failing_first_attempt(receiver_factory):
    receiver = receiver_factory([500, 204])
    hook = Webhook(receiver.url, retries=3, backoff_s=0.01, timeout_s=5)
    hook.send([detected(1)])
    hook.close(timeout=10)  # drains the queue first
    assert len(receiver.bodies) == 2
    assert [json.loads(b) for b in receiver.bodies] == [as_json(detected(1))] * 2
    assert (hook.sent, hook.failed, hook.dropped) == (1, 0, 0)


def test_the_webhook_gives_up_after_its_retries(receiver_factory):
    receiver = receiver_factory([503])
    hook = Webhook(receiver.url, retries=2, backoff_s=0.01, timeout_s=5)
    hook.send([detected(1), detected(2)])
    hook.close(timeout=10)
    assert len(receiver.bodies) == 2 * 3  # each: the first attempt and two retries
    assert (hook.sent, hook.failed) == (0, 2)


def test_the_webhook_retries_network_errors_too():
    attempts: list[str] = []

    def post(url: str, body: bytes, timeout_s: float) -> int:
        attempts.append(url)
        if len(attempts) == 1:
            raise ConnectionRefusedError("nobody home")
        return 200

    hook = Webhook("http://example.invalid/hook", retries=1, backoff_s=0.01, post=post)
    hook.send([detected(1)])
    hook.close(timeout=10)
    assert len(attempts) == 2 and (hook.sent, hook.failed) == (1, 0)


def test_the_webhook_drops_rather_than_blocks_when_its_queue_is_full():
    release = threading.Event()

    def post(url: str, body: bytes, timeout_s: float) -> int:
        release.wait(10)
        return 200

    hook = Webhook("http://example.invalid/hook", max_queue=1, post=post)
    try:
        hook.send([detected(i) for i in range(5)])  # one in flight at most, one queued
        assert hook.dropped >= 3
    finally:
        release.set()
        hook.close(timeout=10)
    assert hook.sent + hook.dropped == 5 and hook.failed == 0
