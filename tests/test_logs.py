"""The log set-up: JSON lines rendered by orjson straight to stderr's bytes, and nothing
computed for an RPC line while info is off."""

from __future__ import annotations

import io
import json
import logging
import sys

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
