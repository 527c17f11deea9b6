"""The log set-up: JSON lines rendered by orjson straight to stderr's bytes, and nothing
computed for an RPC line while info is off."""

from __future__ import annotations

import io
import json
import logging
import sys
import time
import types

import structlog

from router import logs
from router import v1 as pb
from router.api.grpc import routing as routing_rpcs


def test_json_lines_are_written_as_bytes_and_survive_what_orjson_refuses():
    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="utf-8")  # a stderr, over bytes the test reads
    stderr, sys.stderr = sys.stderr, text
    try:
        logs.configure("info")
        assert logs.enabled(logging.INFO) and not logs.enabled(logging.DEBUG)
        log = structlog.get_logger("test.logs")  # a fresh logger: cached with this config
        log.info("rpc", rpc="Route", latency_ms=0.25, team="growth", note="é")
        log.debug("hidden", n=1)
        log.warning("huge", nanos=2**70, kinds={"a"})  # past int64: the stdlib encoder
    finally:
        sys.stderr = stderr
        logs.configure("warning")  # what the suite runs with, on the real stderr
    lines = [json.loads(line) for line in raw.getvalue().decode().splitlines()]
    text.detach()
    assert [(line["event"], line["level"]) for line in lines] == [("rpc", "info"),
                                                                   ("huge", "warning")]
    assert lines[0]["rpc"] == "Route" and lines[0]["note"] == "é" and "timestamp" in lines[0]
    assert lines[1]["nanos"] == 2**70 and lines[1]["kinds"] == "{'a'}"


class Sink:
    """A binary file that shows what has been flushed (written out), apart from what waits."""

    def __init__(self) -> None:
        self.waiting, self.out, self.flushes = b"", b"", 0

    def write(self, data: bytes) -> int:
        self.waiting += data
        return len(data)

    def flush(self) -> None:
        self.out, self.waiting = self.out + self.waiting, b""
        self.flushes += 1


def events(data: bytes) -> list[str]:
    return [json.loads(line)["event"] for line in data.splitlines()]


def test_serve_batches_info_lines_and_writes_a_warning_at_once():
    sink = Sink()
    lines = logs.BatchedLines(sink, flush_s=60)  # no timer tick within the test
    lines.info(b'{"event":"rpc-1"}')
    lines.info(b'{"event":"rpc-2"}')
    assert sink.out == b"" and events(sink.waiting) == ["rpc-1", "rpc-2"]
    lines.warning(b'{"event":"refused"}')  # at once, after the lines before it
    assert events(sink.out) == ["rpc-1", "rpc-2", "refused"] and sink.waiting == b""
    lines.info(b'{"event":"rpc-3"}')
    lines.flush()  # at exit (atexit) or a shutdown
    assert events(sink.out)[-1] == "rpc-3"
    flushes = sink.flushes
    lines.flush()  # nothing waiting: no write
    assert sink.flushes == flushes


def test_a_quiet_server_still_writes_its_last_lines_within_the_interval():
    sink = Sink()
    lines = logs.BatchedLines(sink, flush_s=0.2)
    lines.info(b'{"event":"first"}')
    lines.info(b'{"event":"last"}')  # nothing more comes: the timer writes them
    assert sink.out == b""
    deadline = time.monotonic() + 5
    while "last" not in events(sink.out) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert events(sink.out) == ["first", "last"]


def test_configure_with_a_flush_interval_writes_through_batched_lines():
    sink = Sink()
    stderr, sys.stderr = sys.stderr, types.SimpleNamespace(buffer=sink)
    try:
        logs.configure("info", flush_ms=60_000)
        log = structlog.get_logger("test.batched")
        log.info("waits")
        written = sink.out
        log.error("failed")
    finally:
        sys.stderr = stderr
        logs.configure("warning")
    assert written == b"" and events(sink.out) == ["waits", "failed"]


def test_while_info_is_off_an_rpc_computes_no_line(stub, monkeypatch):
    built: list[object] = []

    def counting_log_keys(attribution):
        built.append(attribution)
        return {}

    monkeypatch.setattr(routing_rpcs, "log_keys", counting_log_keys)
    assert not logs.enabled(logging.INFO)  # the suite runs at warning
    assert stub.Route(pb.RouteRequest(task_description="Say hello.")).decision_id
    assert built == []
    monkeypatch.setattr(logs, "_level", logging.INFO)  # as configured at info
    assert stub.Route(pb.RouteRequest(task_description="Say hello.")).decision_id
    assert len(built) == 1
