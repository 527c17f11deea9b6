"""`python -m router.bench.http_load`: the JSON Route over HTTP against the gRPC Route, on one
`router serve` process (gRPC and HTTP on the same event loop, over the same servicer).

Both edges are driven from this process (aiohttp's client, keep-alive connections; the gRPC
aio stub), with the same prompts and attribution, in closed-loop rounds ordered ABBA
(``router.bench.grpc_load.interleaved``), so neither always runs first and a drift in the
machine's load reaches both alike. The server's CPU time per call is read from /proc around
each round (``cpu_seconds``): the issue's measure is that the JSON Route costs at most 30% more
server CPU per call than the gRPC Route (``http_cpu_overhead_pct``). Rates are reported too
(``*_rps``), but on a shared machine they move with whatever else runs, and here they include
the client's own cost, which differs between the two.

The last line printed is one JSON object with the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from router import v1 as pb
from router.bench.grpc_load import (
    BUDGETED,
    Call,
    _budgets_file,
    _prompts,
    _stop,
    interleaved,
    launch,
)
from router.client import connect_aio, stub

TARGET_PCT = 30.0
TEAM = BUDGETED  # the team the --budgets apply to


def _serve(url: str, budgets: Path) -> tuple[subprocess.Popen, int, int]:
    """A `router serve` on free gRPC and HTTP ports: (process, gRPC port, HTTP port)."""
    proc, event = launch(
        [sys.executable, "-m", "router.cli", "serve", "--address", "127.0.0.1:0",
         "--http-address", "127.0.0.1:0", "--database-url", url, "--budgets-path",
         str(budgets), "--log-level", "info", "--anomaly-interval-s", "0"])
    return proc, int(event["port"]), int(event["http_port"])


def _request(prompts: list[str], tag: str, i: int) -> dict[str, Any]:
    """The same Route each way, as JSON (the gRPC side builds its message from it)."""
    return {"requestId": f"bench-{os.getpid()}-{tag}-{i}",
            "taskDescription": prompts[i % len(prompts)],
            "attribution": {"team": TEAM, "agent": f"agent-{i % 31}", "taskId": f"task-{i // 5}",
                            "user": f"user-{i % 101}"}}


async def _bench(args: argparse.Namespace, grpc_port: int, http_port: int,
                 pid: int) -> dict[str, Any]:
    prompts = _prompts()
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    url = f"http://127.0.0.1:{http_port}/v1/Route"
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector) as session, \
            connect_aio(f"127.0.0.1:{grpc_port}", key="") as channel:
        router = stub(channel)

        async def http_route(i: int) -> object:
            async with session.post(url, data=orjson.dumps(_request(prompts, "http", i)),
                                    headers=headers) as r:
                body = await r.read()
                if r.status != 200:
                    raise RuntimeError(f"HTTP Route: {r.status} {body[:200]!r}")
                return body

        async def grpc_route(i: int) -> object:
            r = _request(prompts, "grpc", i)
            return await router.Route(pb.RouteRequest(
                request_id=r["requestId"], task_description=r["taskDescription"],
                attribution=pb.Attribution(team=TEAM, agent=r["attribution"]["agent"],
                                           task_id=r["attribution"]["taskId"],
                                           user=r["attribution"]["user"])))

        calls: dict[str, Call] = {"grpc": grpc_route, "http": http_route}
        for i in range(300):  # warm up both alike: connections, caches
            for call in calls.values():
                await call(-i - 1)
        rounds = await interleaved(calls, args.rounds, args.seconds, args.concurrency,
                                   {"grpc": pid, "http": pid})
    g, h = rounds["grpc"], rounds["http"]
    result: dict[str, Any] = {
        "grpc_route_rps": round(statistics.median(g.rps), 1),
        "http_route_rps": round(statistics.median(h.rps), 1),
        "rounds": args.rounds, "round_seconds": args.seconds, "concurrency": args.concurrency}
    if g.cpu_us and h.cpu_us:
        g_cpu, h_cpu = statistics.median(g.cpu_us), statistics.median(h.cpu_us)
        result |= {"grpc_route_cpu_us": round(g_cpu, 1), "http_route_cpu_us": round(h_cpu, 1),
                   "http_cpu_overhead_pct": round(100 * (h_cpu - g_cpu) / g_cpu, 2),
                   # the same, round by round (each round's two ways ran back to back)
                   "http_cpu_overhead_paired_pct": round(statistics.median(
                       100 * (b - a) / a for a, b in zip(g.cpu_us, h.cpu_us, strict=True)), 2),
                   "http_cpu_target_pct": TARGET_PCT}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="router.bench.http_load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10, help="ABBA rounds (default 10)")
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="closed loop per round and side (default 2)")
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight (32)")
    parser.add_argument("--budgets", type=int, default=0,
                        help="budgets applying to every call (default 0: the edge alone)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="router-bench-http-") as tmp:
        budgets = _budgets_file(Path(tmp) / "budgets.toml", args.budgets)
        proc, grpc_port, http_port = _serve(f"sqlite:///{Path(tmp) / 'bench.db'}", budgets)
        try:
            results = asyncio.run(_bench(args, grpc_port, http_port, proc.pid))
        finally:
            _stop([proc])
    line = (f"Route: gRPC {results['grpc_route_rps']:.0f} RPS, JSON over HTTP "
            f"{results['http_route_rps']:.0f} RPS")
    if "http_cpu_overhead_pct" in results:
        line += (f"; server CPU per call {results['grpc_route_cpu_us']:.0f} us gRPC, "
                 f"{results['http_route_cpu_us']:.0f} us HTTP "
                 f"({results['http_cpu_overhead_pct']:+}%, target <= +{TARGET_PCT:g}%)")
    print(line, file=sys.stderr)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
