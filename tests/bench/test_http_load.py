"""The HTTP-vs-gRPC Route benchmark runs end to end (briefly; its numbers are not judged here)
and reports the keys the issue asks for."""

from __future__ import annotations

import json

import pytest

from router.bench import http_load


def test_it_reports_both_rates_and_the_cpu_overhead(capsys: pytest.CaptureFixture[str]):
    assert http_load.main(["--rounds", "2", "--seconds", "0.3", "--concurrency", "4"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["grpc_route_rps"] > 0 and result["http_route_rps"] > 0
    assert {"grpc_route_cpu_us", "http_route_cpu_us", "http_cpu_overhead_pct"} <= set(result)
