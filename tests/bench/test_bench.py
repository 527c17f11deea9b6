"""The benchmark's own machinery (fast; no server is started): call numbering, the interleaved
with/without-auth rounds, and the authentication micro-benchmark."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from pathlib import Path

import pytest

from router.bench import auth, grpc_load


def test_closed_then_open_loop_never_repeat_an_id() -> None:
    seen: list[int] = []

    async def call(i: int) -> None:
        seen.append(i)
        await asyncio.sleep(0)

    async def both() -> None:
        ids = itertools.count()
        await grpc_load._closed_loop(call, 0.02, 4, ids)
        await grpc_load._open_loop(call, 2000.0, 0.02, ids)

    asyncio.run(both())
    assert len(seen) > 10
    assert len(seen) == len(set(seen))  # else the open loop would time replays


def test_interleaved_alternates_abba_and_numbers_each_side_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    ids: dict[str, list[int]] = {"a": [], "b": []}

    def side(name: str) -> grpc_load.Call:
        async def call(i: int) -> None:
            ids[name].append(i)
        return call

    calls = {"a": side("a"), "b": side("b")}

    async def fake_loop(call: grpc_load.Call, seconds: float, concurrency: int,
                        counter: itertools.count) -> tuple[int, float]:
        order.append(next(n for n, c in calls.items() if c is call))
        for _ in range(3):
            await call(next(counter))
        return 3, 0.5

    monkeypatch.setattr(grpc_load, "_closed_loop_n", fake_loop)
    out = asyncio.run(grpc_load.interleaved(calls, 4, 1.0, 8, {"a": os.getpid()}))
    assert order == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert ids["a"] == list(range(12)) and ids["b"] == list(range(12))
    assert out["a"].rps == out["b"].rps == [6.0] * 4
    if Path(f"/proc/{os.getpid()}/stat").exists():
        assert len(out["a"].cpu_us) == 4 and all(x >= 0 for x in out["a"].cpu_us)
    assert out["b"].cpu_us == []  # no pid given for b


def test_overhead_pct() -> None:
    assert grpc_load.overhead_pct(1000.0, 970.0) == 3.0
    assert grpc_load.overhead_pct(1000.0, 1010.0) == -1.0


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_cpu_seconds_of_this_process() -> None:
    used = grpc_load.cpu_seconds(os.getpid())
    assert used is not None and used > 0
    assert grpc_load.cpu_seconds(2**22 + 12345) is None  # no such process


def test_auth_micro_benchmark() -> None:
    result = auth.bench(n=2000, n_keys=5)
    assert result["n"] == 2000 and result["keys"] == 5
    for name in ("team", "bootstrap"):
        assert 0 < result[f"{name}_p50_us"] <= result[f"{name}_p99_us"]


def test_the_overhead_at_a_fixed_rate_is_route_minus_the_empty_handler() -> None:
    async def empty(i: int) -> None:
        await asyncio.sleep(0)

    async def route(i: int) -> None:
        await asyncio.sleep(0.005)

    out = asyncio.run(grpc_load._overhead(empty, route, 200.0, 0.2, 2, itertools.count()))
    assert out["fixed_rate"] == 200.0
    assert 4.0 <= out["route_overhead_p50_ms"] <= 50.0  # the route's 5 ms, not the empty's
    assert out["route_overhead_p50_ms"] == round(
        out["route_p50_at_fixed_ms"] - out["empty_p50_at_fixed_ms"], 3)


def test_the_floor_server_answers_route_with_a_real_response() -> None:
    import sys

    from router import v1 as pb
    from router.client import connect, stub

    proc, port = grpc_load._start([sys.executable, "-m", "router.bench", "--floor-server"])
    try:
        with connect(f"127.0.0.1:{port}") as channel:
            request = grpc_load._route_request(1, ["Prove that 17 is prime."], "-t")
            resp = stub(channel).Route(request, timeout=10)
            again = stub(channel).Route(request, timeout=10)
    finally:
        grpc_load._stop([proc])
    assert isinstance(resp, pb.RouteResponse)
    assert resp.model and resp.decision_id and resp.decision_token and resp.candidates
    assert again == resp  # the same canned answer: no service work per call


def test_the_learning_bench_times_every_part(capsys):
    from router.bench import learning

    assert learning.main(["--number", "20"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["models"] >= 2
    for key in ("classifier_us", "policy_us", "policy_with_offsets_us", "draw_us",
                "mean_choice_us", "offsets_rebuild_us", "observe_us"):
        assert out[key] > 0
