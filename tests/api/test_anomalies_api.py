"""Anomalies end to end: usage history over the API, detection in the service, ListAnomalies,
the WatchAnomalies stream, the webhook, and auto-pause."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from router import v1 as pb
from router.cli import main
from router.core.clock import ManualClock
from router.v1 import router_pb2_grpc
from tests.conftest import RunningServer, make_settings

NOW = 1_795_867_200  # 2026-11-28 12:00 UTC, a Saturday
HOUR = 3600


class Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []
    fail_first = 1

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if Hook.fail_first > 0:  # the first attempt fails: the sender must retry
            Hook.fail_first -= 1
            self.send_response(503)
        else:
            Hook.received.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def hook():
    Hook.received, Hook.fail_first = [], 1
    httpd = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/anomalies"
    httpd.shutdown()


@pytest.fixture
def server(tmp_path, hook):
    running = RunningServer(make_settings(tmp_path, anomaly_interval_s=0.0,
                                          anomaly_webhook_url=hook,
                                          anomaly_pause_kinds="spend_spike"),
                            ManualClock(NOW * 10**6))
    running.app.services.anomalies.webhook.backoff_s = 0.01
    yield running
    running.stop()


@pytest.fixture
def stub(server):
    with grpc.insecure_channel(server.address) as ch:
        yield router_pb2_grpc.RouterStub(ch)


def history(stub) -> None:
    """Ten days of a steady agent (one call an hour), then a runaway last hour."""
    calls = []
    for h in range(10 * 24, 1, -1):
        calls.append((f"n{h}", h, 2_000))
    calls += [(f"spike{i}", 1, 2_000) for i in range(40)]  # 40x in the last complete hour
    for uid, hours_ago, tokens in calls:
        stub.ReportUsage(pb.ReportUsageRequest(
            usage_id=uid, model="gpt-4o", tokens=pb.TokenUsage(input=tokens, output=tokens),
            attribution=pb.Attribution(team="eng", agent="looper", task_id=f"t-{uid}"),
            occurred_at=Timestamp(seconds=NOW - hours_ago * HOUR + 60)))


def test_a_spend_spike_is_detected_stored_streamed_posted_and_paused(server, stub, hook):
    watch = stub.WatchAnomalies(pb.WatchAnomaliesRequest())
    streamed: list[pb.Anomaly] = []
    reader = threading.Thread(target=lambda: streamed.extend([next(watch)]), daemon=True)
    reader.start()
    history(stub)
    new = server.app.services.anomalies.detect()
    assert [d.anomaly.kind.value for d in new] == ["spend_spike"]
    assert server.app.services.anomalies.detect() == []  # the same incident is not new again
    listed = stub.ListAnomalies(pb.ListAnomaliesRequest()).anomalies
    assert [(a.kind, a.team, a.agent) for a in listed] == [
        (pb.ANOMALY_KIND_SPEND_SPIKE, "eng", "looper")]
    spike = listed[0]
    assert spike.observed >= 10 * spike.baseline > 0 and spike.message and spike.evidence
    reader.join(10)
    assert [a.id for a in streamed] == [spike.id]
    watch.cancel()
    server.app.services.anomalies.webhook.close()
    assert [h["id"] for h in Hook.received] == [spike.id]  # after one failed attempt
    route = pb.RouteRequest(task_description="next step",
                            attribution=pb.Attribution(team="eng", agent="looper"))
    with pytest.raises(grpc.RpcError) as paused:
        stub.Route(route)
    assert paused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "auto-paused" in paused.value.details()


def test_watch_replays_since_and_filters_by_kind(server, stub):
    history(stub)
    server.app.services.anomalies.detect()
    since = Timestamp(seconds=NOW - HOUR)
    replay = stub.WatchAnomalies(pb.WatchAnomaliesRequest(since=since))
    assert next(replay).kind == pb.ANOMALY_KIND_SPEND_SPIKE
    replay.cancel()
    only_drift = stub.ListAnomalies(pb.ListAnomaliesRequest(
        kinds=[pb.ANOMALY_KIND_PREDICTION_DRIFT]))
    assert list(only_drift.anomalies) == []


def test_the_anomalies_cli_detects_on_the_store_and_lists_from_the_server(
        server, stub, capsys, monkeypatch):
    history(stub)
    server.app.recorder.flush()
    monkeypatch.setattr("router.core.clock.SystemClock.now_us", lambda self: NOW * 10**6)
    assert main(["anomalies", "detect", "--database-url", server.app.settings.database_url,
                 "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(x["kind"], x["agent"], x["new"]) for x in lines] == [
        ("spend_spike", "looper", True)]
    assert main(["anomalies", "list", "--address", server.address]) == 0
    assert "spend_spike" in capsys.readouterr().out


def test_detection_on_demand_over_the_api_needs_the_admin_token(tmp_path):
    running = RunningServer(make_settings(tmp_path, anomaly_interval_s=0.0, admin_token="t"),
                            ManualClock(NOW * 10**6))
    try:
        with grpc.insecure_channel(running.address) as ch:
            stub = router_pb2_grpc.RouterStub(ch)
            with pytest.raises(grpc.RpcError) as denied:
                stub.DetectAnomalies(pb.DetectAnomaliesRequest())
            assert denied.value.code() is grpc.StatusCode.UNAUTHENTICATED
            history(stub)
            found = stub.DetectAnomalies(pb.DetectAnomaliesRequest(),
                                         metadata=(("authorization", "Bearer t"),)).anomalies
            assert [a.kind for a in found] == [pb.ANOMALY_KIND_SPEND_SPIKE]
    finally:
        running.stop()
