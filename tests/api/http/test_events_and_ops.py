"""WatchAnomalies as server-sent events, /metrics and /healthz on the HTTP listener, and the
listener's life in `router serve` (its port in the start-up line, the stop on SIGTERM)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp.test_utils import RawTestServer, TestClient
from grpc_health.v1 import health, health_pb2
from prometheus_client import CONTENT_TYPE_LATEST

from router.api.grpc import SERVICE
from router.api.http import edge as edge_module
from router.api.http.edge import HttpEdge
from router.core.anomalies import Anomaly, Kind
from router.server.http_server import split_address
from router.service.notify import Detected
from tests.api.http.client import Http
from tests.api.http.conftest import TEAM, TOKEN, Served, serve
from tests.api.test_auth_defaults import env_without_router, read_lines_until
from tests.conftest import RunningServer, make_settings

HOUR_US = 3600 * 10**6


def inject(served: Served, team: str, agent: str) -> str:
    """An anomaly stored and announced as the detectors do; its id."""
    app = served.server.app
    now = served.clock.now_us()
    anomaly = Anomaly(Kind.SPEND_SPIKE, team, agent, "", now - 2 * HOUR_US, now - HOUR_US,
                      10.0 * 10**9, 10**9, f"injected for {agent}")
    [saved] = app.store.save_anomalies([anomaly], now)
    app.services.anomalies.hub.publish([Detected(saved, now)])
    return saved.key()


@pytest.fixture
def quick_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edge_module, "HEARTBEAT_S", 0.2)


def test_a_new_anomaly_arrives_as_an_event_of_the_callers_team(served: Served):
    """Another team's anomaly is not shown to a team key; its own arrives with its id."""
    ids: list[str] = []

    def announce() -> None:
        time.sleep(0.2)  # the stream is subscribed by the time its headers are in
        ids.append(inject(served, "ops", "elsewhere"))
        ids.append(inject(served, TEAM, "spender"))

    stream = served.http.stream("/v1/WatchAnomalies", served.team_key, events=1,
                                opened=announce)
    assert stream.status == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    [event] = stream.events
    data = json.loads(event.data)
    assert event.id == data["id"] == ids[1]
    assert (data["team"], data["agent"], data["kind"]) == (TEAM, "spender",
                                                           "ANOMALY_KIND_SPEND_SPIKE")
    assert "windowStart" in data and "window_start" not in data  # the JSON mapping's names


def test_the_stream_replays_since_and_filters_by_kind_from_the_query(served: Served):
    first = inject(served, TEAM, "a")
    served.clock.advance(seconds=1)
    second = inject(served, TEAM, "b")
    since = "2026-11-27T12:00:00Z"
    stream = served.http.stream(f"/v1/WatchAnomalies?since={since}&kinds=ANOMALY_KIND_SPEND_SPIKE",
                                served.team_key, events=2)
    assert [e.id for e in stream.events] == [first, second]  # oldest first
    other_kind = served.http.stream(f"/v1/WatchAnomalies?since={since}"
                                    "&kinds=ANOMALY_KIND_RETRY_LOOP", served.team_key,
                                    events=1, timeout_s=1.0)
    assert other_kind.status == 200 and other_kind.events == []


def test_a_refused_watch_is_an_http_error_not_a_stream(served: Served):
    no_key = served.http.stream("/v1/WatchAnomalies", None)
    assert no_key.status == 401 and json.loads(no_key.body)["code"] == 16
    bad = served.http.stream("/v1/WatchAnomalies?kinds=ANOMALY_KIND_NOPE", served.team_key)
    assert bad.status == 400 and json.loads(bad.body)["details"][0]["fieldViolations"]
    unknown = served.http.stream("/v1/WatchAnomalies?nope=1", served.team_key)
    assert unknown.status == 400 and "nope" in json.loads(unknown.body)["message"]


def test_heartbeats_keep_an_idle_stream_alive(tmp_path: Path, quick_heartbeat: None):
    for served in serve(tmp_path):
        stream = served.http.stream("/v1/WatchAnomalies", served.team_key, events=0,
                                    comments=4, timeout_s=5)
        assert stream.comments[0].startswith("streaming")
        assert stream.comments[1:4] == ["heartbeat"] * 3


def test_a_key_revoked_meanwhile_ends_the_stream_with_an_error_event(served: Served):
    made = served.http.post("/v1/CreateApiKey", {"key": {"role": "ROLE_TEAM", "team": TEAM}},
                            TOKEN).json

    def revoke_then_announce() -> None:
        time.sleep(0.2)
        served.http.post("/v1/RevokeApiKey", {"keyId": made["key"]["keyId"]}, TOKEN)
        inject(served, TEAM, "after-revoke")

    stream = served.http.stream("/v1/WatchAnomalies", made["secret"], events=2,
                                opened=revoke_then_announce)
    [event] = stream.events  # the anomaly is not sent: the error is, and the stream ends
    assert event.event == "error" and json.loads(event.data)["code"] == 16
    assert stream.status == 200 and stream.ended


def test_streams_end_when_the_server_shuts_down(tmp_path: Path):
    server = RunningServer(make_settings(tmp_path, anomaly_interval_s=0.0))
    http = Http(server.http_url)
    result: list = []
    reader = threading.Thread(target=lambda: result.append(
        http.stream("/v1/WatchAnomalies", events=1, timeout_s=20)))
    reader.start()
    time.sleep(0.5)
    started = time.monotonic()
    server.stop()
    reader.join(20)
    [stream] = result
    assert stream.status == 200 and stream.ended and stream.events == []
    assert time.monotonic() - started < 5  # at once, not after the shutdown grace


# -- /metrics and /healthz ----------------------------------------------------------------------

def test_metrics_and_health_share_the_listener(served: Served):
    metrics = served.http.get("/metrics")
    assert metrics.status == 200 and metrics.headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert "router_budget_fail_open_total" in metrics.text
    healthz = served.http.get("/healthz")
    assert healthz.status == 200 and healthz.json == {"status": "SERVING"}
    assert served.http.post("/healthz", {}).status == 405
    assert served.http.post("/metrics", {}).status == 405


def test_healthz_follows_the_grpc_health_status():
    """503 while the gRPC health service says NOT_SERVING (the store is unreachable, or the
    server is shutting down), and once the edge is closing."""
    asyncio.run(_healthz_follows_grpc_health())


async def _healthz_follows_grpc_health() -> None:
    checker = health.aio.HealthServicer()
    methods = {m.name: None for m in SERVICE.methods}
    edge = HttpEdge(SimpleNamespace(**methods), SERVICE, checker, max_message_bytes=1024,
                    max_body_bytes=2048, max_in_flight=4)
    async with TestClient(RawTestServer(edge)) as client:
        for status, code in ((health_pb2.HealthCheckResponse.NOT_SERVING, 503),
                             (health_pb2.HealthCheckResponse.SERVING, 200)):
            await checker.set("", status)
            answer = await client.get("/healthz")
            assert answer.status == code
        await checker.enter_graceful_shutdown()
        assert (await client.get("/healthz")).status == 503
        await checker.set("", health_pb2.HealthCheckResponse.SERVING)  # ignored from now on
        assert (await client.get("/healthz")).status == 503
        fresh = health.aio.HealthServicer()
        await fresh.set("", health_pb2.HealthCheckResponse.SERVING)
        edge._health = fresh
        assert (await client.get("/healthz")).status == 200
        edge.close()
        assert (await client.get("/healthz")).status == 503


# -- the listener in `router serve` -------------------------------------------------------------

def test_router_serve_logs_its_http_port_and_stops_on_sigterm(tmp_path: Path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "router", "serve", "--address", "127.0.0.1:0",
         "--http-address", "127.0.0.1:0", "--admin-token", TOKEN,
         "--database-url", f"sqlite:///{tmp_path / 'router.db'}", "--log-level", "info",
         "--anomaly-interval-s", "0"],
        env=env_without_router(), cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        started = read_lines_until(proc, "server.started", 60)[-1]
        assert started["http_address"] == "127.0.0.1:0" and started["http_port"] > 0
        http = Http(f"http://127.0.0.1:{started['http_port']}")
        deadline = time.monotonic() + 10
        while http.get("/healthz").status != 200:  # SERVING once the store answered
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert http.post("/v1/ListModels", {}, TOKEN).status == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_an_empty_address_turns_http_off(tmp_path: Path):
    server = RunningServer(make_settings(tmp_path, http_address="", anomaly_interval_s=0.0))
    try:
        assert server.http_port is None and server.port > 0
    finally:
        server.stop()


@pytest.mark.parametrize("address", ["8080", "host:", "127.0.0.1:http", "127.0.0.1:70000"])
def test_a_bad_http_address_names_the_setting(address: str):
    with pytest.raises(ValueError, match="ROUTER_HTTP_ADDRESS"):
        split_address(address)
    assert split_address("[::1]:8080") == ("::1", 8080)
