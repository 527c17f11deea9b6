"""`make bench`: load-test a real `router serve` over loopback from a separate process.

For each of an empty gRPC handler (the ceiling on this machine), Route() and ReportUsage(), and
both again with budgets applying to every call (``--budgets``, default three: a team's day, week
and month), optionally over several server processes sharing one database (``--replicas``):
  1. closed loop, N calls in flight, for a few seconds -> the maximum rate (RPS);
  2. open loop at 70% of that rate -> p50/p99 latency, timed from each call's scheduled start
     (so queueing delay counts, no coordinated omission).
Then it checks that every acknowledged report is in the database.

The floor of Route (``route_floor_rps``): the same Route calls against a server that has the
router's server options, request parser and response serializer and answers every call with one
real RouteResponse made at start-up, nothing else. The gap from ``empty_rps`` to it is what
gRPC and protobuf cost for Route's messages (``--floor-server``); the gap from it to
``route_rps`` (``route_pct_of_floor``) is the service's own work per call.

What authentication costs (``--auth-rounds``): one more fresh server (on its own temporary
SQLite database, without the periodic anomaly detectors, which would land a burst of unrelated
work on whichever round they hit) with ``ROUTER_AUTH=off`` and an admin token. A team key is
made there with CreateApiKey. With authentication off a call without a credential is served as
on a server that runs open, while a call that sends one has it checked all the same (the same
HMAC, lookup and team-scope checks as when keys are required): so one process serves Route
without a key and Route with the team key (``authorization: Bearer``), and the comparison is
free of what differs between two processes (start order, database, heap: in trials on a 2-core
machine a comparison over two servers moved by 10-15% with which of them started first). A
wrong key is checked to be refused first. Route's closed-loop rate, each way in turn, in short
rounds ordered A B, B A, B A, A B, ... (ABBA): the medians are ``route_noauth_rps`` and
``route_auth_rps``, and ``auth_overhead_pct`` = (noauth - auth) / noauth * 100, how much slower
the authenticated Route is (must stay under 5%); ``auth_overhead_paired_pct`` is the median of
the rounds' own such figures. The rate on a shared machine swings with whatever else runs, so
the server's CPU time per Route is read as well (``route_*_cpu_us``, ``auth_cpu_overhead_pct``;
Linux /proc), which others' load moves less. ``auth_us_per_call`` is the in-process cost of
``Keyring.authenticate`` for a team key, ``auth_bootstrap_us_per_call`` for the admin token
(``router.bench.auth``).

The last line printed is one JSON object with the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import sqlalchemy as sa

from router import v1 as pb
from router.bench.auth import bench as auth_bench
from router.bench.classifier import bench as classifier_bench
from router.client import bearer, connect_aio, stub
from router.core.classifier import Classifier
from router.settings import ROOT, Settings

EMPTY_METHOD = "/bench.Empty/Ping"
_DATA = ROOT.parent / "shared" / "data" / "routing" / "llmrouter_train.csv"


# -- the empty server (runs as its own process: `python -m router.bench --empty-server`) ---------

async def _empty_server() -> None:
    async def ping(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return b""

    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler("bench.Empty", {
        "Ping": grpc.unary_unary_rpc_method_handler(ping)})
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(json.dumps({"event": "server.started", "port": port}), file=sys.stderr, flush=True)
    await server.wait_for_termination()


async def _floor_server() -> None:
    """Route as gRPC alone can serve it: the router's server options, request parser and
    response serializer, and a handler that answers every call with one real RouteResponse
    made at start-up (no classifier, no policy, no store, no log). What separates
    ``route_floor_rps`` from ``empty_rps`` is the Route messages and the server's settings;
    what separates ``route_rps`` from it is the service's own work."""
    import dataclasses

    from router.api import convert
    from router.api.grpc.base import request_parser
    from router.server.app import build_app

    tmp = tempfile.TemporaryDirectory(prefix="router-floor-")
    settings = dataclasses.replace(Settings(), database_url=f"sqlite:///{tmp.name}/floor.db",
                                   http_address="")
    app = build_app(settings)
    try:
        prompt = _prompts()[0]
        made = app.services.routing.route(convert.route_input(pb.RouteRequest(
            request_id="floor", task_description=prompt,
            attribution=pb.Attribution(team="team-0", agent="agent-0", task_id="task-0",
                                       user="user-0"))))
        canned = convert.route_response(made)
    finally:
        app.close()
        tmp.cleanup()

    async def route(request: object, context: grpc.aio.ServicerContext) -> pb.RouteResponse:
        return canned

    server = grpc.aio.server(maximum_concurrent_rpcs=settings.max_concurrent_rpcs, options=[
        ("grpc.max_receive_message_length", 2 * settings.max_message_bytes)])
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("router.v1.Router", {
        "Route": grpc.unary_unary_rpc_method_handler(
            route, request_deserializer=request_parser(pb.RouteRequest,
                                                       settings.max_message_bytes),
            response_serializer=pb.RouteResponse.SerializeToString)}),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(json.dumps({"event": "server.started", "port": port}), file=sys.stderr, flush=True)
    await server.wait_for_termination()


# -- processes -----------------------------------------------------------------------------------

def launch(cmd: list[str], env: dict[str, str] | None = None
           ) -> tuple[subprocess.Popen, dict[str, Any]]:
    """Start a server process and wait for its ``server.started`` line: (process, that line).

    Its log goes to a temporary file (removed by ``_stop``), as a deployment's goes to a file
    or the journal: read through a pipe by a thread of this process, which also drives the
    load, the server's writes would wait on this process's GIL and the bench would time that."""
    log = tempfile.NamedTemporaryFile(prefix="router-bench-", suffix=".log")  # noqa: SIM115
    proc = subprocess.Popen(cmd, stderr=log, stdout=subprocess.DEVNULL,
                            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"})
    proc.log_file = log  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    with open(log.name, "rb") as lines:
        pending = b""
        while time.monotonic() < deadline and proc.poll() is None:
            chunk = lines.readline()
            if not chunk.endswith(b"\n"):  # nothing new, or half a line: wait for the rest
                pending += chunk
                time.sleep(0.02)
                continue
            line, pending = pending + chunk, b""
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "server.started":
                return proc, event
    proc.kill()
    log.close()
    raise RuntimeError(f"{cmd} did not start")


def _start(cmd: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen, int]:
    proc, event = launch(cmd, env)
    return proc, int(event["port"])


def _prompts(n: int = 512) -> list[str]:
    """Real prompts from the routing data when present, else varied synthetic ones."""
    rng = random.Random(7)
    if _DATA.exists():
        with _DATA.open(newline="", encoding="utf-8") as fh:
            rows = [r["prompt"] for r in csv.DictReader(fh)]
        return rng.sample(rows, min(n, len(rows)))
    words = ("sum", "list", "parse", "invoice", "prove", "theorem", "translate", "summarise",
             "code", "review")
    return [" ".join(rng.choices(words, k=rng.randint(5, 200))) for _ in range(n)]


# -- load ----------------------------------------------------------------------------------------

Call = Callable[[int], Awaitable[object]]


async def _closed_loop(call: Call, seconds: float, concurrency: int,
                       ids: Iterator[int] | None = None) -> float:
    """Calls completed per second with ``concurrency`` calls always in flight. ``ids`` numbers
    the calls; share one between the phases over the same call, or their request and usage ids
    repeat and the later phase times idempotent replays instead of new calls."""
    done, elapsed = await _closed_loop_n(call, seconds, concurrency, ids)
    return done / elapsed


async def _closed_loop_n(call: Call, seconds: float, concurrency: int,
                         ids: Iterator[int] | None = None) -> tuple[int, float]:
    """(calls completed, seconds taken) of a closed loop (see ``_closed_loop``)."""
    done = 0
    counter = itertools.count() if ids is None else ids
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call(next(counter))
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, time.perf_counter() - start


async def _open_loop(call: Call, rate: float, seconds: float,
                     ids: Iterator[int] | None = None) -> list[float]:
    """Latencies (ms) of calls started at a fixed ``rate``, from their scheduled start."""
    counter = itertools.count() if ids is None else ids
    latencies: list[float] = []
    tasks = []
    interval = 1.0 / rate
    start = time.perf_counter()
    n = int(rate * seconds)

    async def one(i: int, scheduled: float) -> None:
        await call(i)
        latencies.append((time.perf_counter() - scheduled) * 1000)

    for i in range(n):
        scheduled = start + i * interval
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(next(counter), scheduled)))
    await asyncio.gather(*tasks)
    return latencies


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


async def _measure(name: str, call: Call, seconds: float, concurrency: int) -> dict[str, float]:
    for i in range(200):  # warm up: connections, caches, JIT-less but allocator-warm
        await call(-i - 1)
    ids = itertools.count()  # one numbering for both loops: every call is a new one
    rps = await _closed_loop(call, seconds, concurrency, ids)
    rate = 0.7 * rps
    lat = await _open_loop(call, rate, seconds, ids)
    result = {f"{name}_rps": round(rps, 1), f"{name}_p50_ms": _pct(lat, 0.5),
              f"{name}_p99_ms": _pct(lat, 0.99), f"{name}_latency_at_rps": round(rate, 1)}
    print(f"{name:>7}: {rps:8.0f} RPS max; at {rate:.0f} RPS p50 {result[f'{name}_p50_ms']} ms, "
          f"p99 {result[f'{name}_p99_ms']} ms", file=sys.stderr)
    return result


BUDGETED = "bench-budgeted"
_WINDOWS = ("day", "month", "week", "hour", "total")


def _budgets_file(path: Path, n: int) -> Path:
    """``n`` budgets that apply to every call of the budgeted phases (one team), with limits
    far above what a run spends, so every call is admitted and every budget is written."""
    rules = ["schema_version = 1"]
    for i in range(n):
        rules.append(f'[[budgets]]\nid = "bench-{i}"\nscope = {{ team = "{BUDGETED}" }}\n'
                     f'limit = "1000000000"\nwindow = "{_WINDOWS[i % len(_WINDOWS)]}"\n'
                     'alert_at = 0.8\ndowngrade_at = 0.9\ndowngrade_quality = 0.5')
    path.write_text("\n".join(rules) + "\n")
    return path


async def _overhead(empty: Call, route: Call, rate: float, seconds: float, rounds: int,
                    ids: Iterator[int]) -> dict[str, float]:
    """Route's latency minus the empty handler's at the same fixed, moderate ``rate``: what the
    service adds to a call when neither is saturated. Alternating rounds, so drift in the
    machine's load reaches both alike; percentiles over all rounds' calls."""
    lat: dict[str, list[float]] = {"empty": [], "route": []}
    for _ in range(rounds):
        lat["empty"] += await _open_loop(empty, rate, seconds / rounds)
        lat["route"] += await _open_loop(route, rate, seconds / rounds, ids)
    out = {"fixed_rate": rate}
    for q, name in ((0.5, "p50"), (0.99, "p99")):
        e, r = _pct(lat["empty"], q), _pct(lat["route"], q)
        out |= {f"empty_{name}_at_fixed_ms": e, f"route_{name}_at_fixed_ms": r,
                f"route_overhead_{name}_ms": round(r - e, 3)}
    print(f"at {rate:.0f}/s: empty p50 {out['empty_p50_at_fixed_ms']} ms p99 "
          f"{out['empty_p99_at_fixed_ms']} ms; Route p50 {out['route_p50_at_fixed_ms']} ms p99 "
          f"{out['route_p99_at_fixed_ms']} ms; overhead p50 {out['route_overhead_p50_ms']} ms, "
          f"p99 {out['route_overhead_p99_ms']} ms", file=sys.stderr)
    return out


def _route_request(i: int, prompts: list[str], tag: str, team: str | None = None
                   ) -> pb.RouteRequest:
    return pb.RouteRequest(
        request_id=f"bench-{os.getpid()}{tag}-{i}", task_description=prompts[i % len(prompts)],
        attribution=pb.Attribution(team=team or f"team-{i % 7}", agent=f"agent-{i % 31}",
                                   task_id=f"task-{i // 5}", user=f"user-{i % 101}"))


async def _bench(args: argparse.Namespace, router_ports: list[int], empty_port: int,
                 floor_port: int | None = None) -> dict:
    prompts = _prompts()
    results: dict[str, float] = {}
    empty_channel = connect_aio(f"127.0.0.1:{empty_port}")
    ping = empty_channel.unary_unary(EMPTY_METHOD, request_serializer=None,
                                     response_deserializer=None)

    async def empty(i: int) -> object:
        return await ping(b"")

    results |= await _measure("empty", empty, args.seconds, args.concurrency)
    if floor_port is not None:
        async with connect_aio(f"127.0.0.1:{floor_port}") as floor_channel:
            floor = stub(floor_channel)

            async def route_floor(i: int) -> object:
                return await floor.Route(_route_request(i, prompts, "-floor"))

            results |= await _measure("route_floor", route_floor, args.seconds,
                                      args.concurrency)

    acked: list[str] = []
    channels = [connect_aio(f"127.0.0.1:{p}") for p in router_ports]
    stubs = [stub(ch) for ch in channels]
    try:
        for suffix, team in (("", None), ("_budgets", BUDGETED)):
            if suffix and not args.budgets:
                continue
            decisions: list[str] = []

            async def route(i: int, team: str | None = team, decisions: list[str] = decisions,
                            suffix: str = suffix) -> object:
                resp = await stubs[i % len(stubs)].Route(
                    _route_request(i, prompts, suffix, team))
                if len(decisions) < 200_000:
                    decisions.append(resp.decision_id)
                return resp

            results |= await _measure(f"route{suffix}", route, args.seconds, args.concurrency)
            if not suffix and args.fixed_rate > 0:
                results |= await _overhead(empty, route, args.fixed_rate, args.fixed_seconds,
                                           4, itertools.count(10**9))

            async def report(i: int, decisions: list[str] = decisions,
                             suffix: str = suffix) -> object:
                usage_id = f"bench-{os.getpid()}{suffix}-u{i}"
                resp = await stubs[i % len(stubs)].ReportUsage(pb.ReportUsageRequest(
                    usage_id=usage_id, decision_id=decisions[i % len(decisions)],
                    tokens=pb.TokenUsage(input=800 + i % 400, cached_input=100,
                                         output=200 + i % 300),
                    tool_calls=[pb.ToolCall(name="web_search", count=1)],
                    outcome=pb.OUTCOME_SUCCESS, latency_ms=700))
                acked.append(usage_id)
                return resp

            results |= await _measure(f"report{suffix}", report, args.seconds, args.concurrency)
    finally:
        for ch in channels:
            await ch.close()
        await empty_channel.close()
    results["acked_reports"] = len(set(acked))
    return results


AUTH_TEAM = "bench-auth"


def _serve(url: str, budgets: Path, env: dict[str, str] | None = None
           ) -> tuple[subprocess.Popen, int]:
    return _start([sys.executable, "-m", "router.cli", "serve", "--address", "127.0.0.1:0",
                   "--database-url", url, "--budgets-path", str(budgets), "--log-level", "info"],
                  env)


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(30)
        if (log := getattr(proc, "log_file", None)) is not None:
            log.close()


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) process ``pid`` has used so far; None where /proc is not."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Rounds:
    """One side of an interleaved comparison: its rate and, where the server's CPU time can
    be read, the server's CPU time per call, round by round."""

    rps: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)


async def interleaved(calls: dict[str, Call], rounds: int, seconds: float, concurrency: int,
                      pids: dict[str, int] | None = None) -> dict[str, Rounds]:
    """The closed-loop rate of each of ``calls``, ``rounds`` times, the order reversed every
    round (A B, B A, B A, A B, ...: ABBA, so neither always runs first, and a steady drift
    falls on both alike), and, for the calls served by a process in ``pids``, that process's
    CPU time per call (which others' load on the machine barely changes, unlike the rate)."""
    ids = {name: itertools.count() for name in calls}  # never a request_id twice
    out = {name: Rounds() for name in calls}
    names = list(calls)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            pid = (pids or {}).get(name)
            before = cpu_seconds(pid) if pid else None
            done, elapsed = await _closed_loop_n(calls[name], seconds, concurrency, ids[name])
            after = cpu_seconds(pid) if pid else None
            out[name].rps.append(done / elapsed)
            if before is not None and after is not None and done:
                out[name].cpu_us.append((after - before) / done * 1e6)
    return out


def overhead_pct(noauth: float, auth: float) -> float:
    """How much lower the authenticated rate is, in percent of the open one."""
    return round(100 * (noauth - auth) / noauth, 2)


async def _auth_bench(args: argparse.Namespace, port: int, admin_token: str,
                      pid: int) -> dict[str, Any]:
    prompts = _prompts()
    address = f"127.0.0.1:{port}"
    async with connect_aio(address, key=admin_token) as admin:
        made = await stub(admin).CreateApiKey(pb.CreateApiKeyRequest(key=pb.ApiKey(
            role=pb.ROLE_TEAM, team=AUTH_TEAM, description="router.bench")))
    # key="": the channel sends no $ROUTER_API_KEY and has no interceptor; the team key goes in
    # each call's metadata, as a client sends it
    async with connect_aio(address, key="") as channel:
        router = stub(channel)

        def route(tag: str, token: str) -> Call:
            metadata = bearer(token) or None

            async def one(i: int) -> object:
                return await router.Route(pb.RouteRequest(
                    request_id=f"bench-{os.getpid()}-{tag}-{i}",
                    task_description=prompts[i % len(prompts)],
                    attribution=pb.Attribution(team=AUTH_TEAM, agent=f"agent-{i % 31}",
                                               task_id=f"task-{i // 5}",
                                               user=f"user-{i % 101}")), metadata=metadata)
            return one

        wrong = made.secret[:-1] + ("A" if made.secret[-1] != "A" else "B")
        try:  # the key is checked: a wrong one is refused
            await route("wrong", wrong)(0)
            raise RuntimeError("the server accepted a wrong key: it does not authenticate")
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNAUTHENTICATED:
                raise
        calls = {"noauth": route("open", ""), "auth": route("auth", made.secret)}
        for i in range(300):  # warm up both alike
            for call in calls.values():
                await call(-i - 1)
        rounds = await interleaved(calls, args.auth_rounds, args.auth_seconds, args.concurrency,
                                   {"noauth": pid, "auth": pid})
    noauth, auth = rounds["noauth"], rounds["auth"]
    noauth_rps, auth_rps = statistics.median(noauth.rps), statistics.median(auth.rps)
    result: dict[str, Any] = {
        "route_noauth_rps": round(noauth_rps, 1), "route_auth_rps": round(auth_rps, 1),
        "auth_overhead_pct": overhead_pct(noauth_rps, auth_rps),
        # the same, round by round (each round's two ways ran back to back)
        "auth_overhead_paired_pct": round(statistics.median(
            overhead_pct(a, b) for a, b in zip(noauth.rps, auth.rps, strict=True)), 2),
        "auth_rounds": args.auth_rounds, "auth_round_seconds": args.auth_seconds,
        "route_noauth_rounds_rps": [round(x) for x in noauth.rps],
        "route_auth_rounds_rps": [round(x) for x in auth.rps]}
    line = (f"   auth: Route {noauth_rps:.0f} RPS without a key, {auth_rps:.0f} RPS with a team "
            f"key (medians of {args.auth_rounds} ABBA rounds of {args.auth_seconds:g} s): "
            f"{result['auth_overhead_pct']}% slower ({result['auth_overhead_paired_pct']}% "
            "the median round)")
    if noauth.cpu_us and auth.cpu_us:
        noauth_cpu, auth_cpu = statistics.median(noauth.cpu_us), statistics.median(auth.cpu_us)
        result |= {"route_noauth_cpu_us": round(noauth_cpu, 1),
                   "route_auth_cpu_us": round(auth_cpu, 1),
                   "auth_cpu_overhead_pct": round(100 * (auth_cpu - noauth_cpu) / noauth_cpu, 2)}
        line += (f"; server CPU per Route {noauth_cpu:.0f} us without, {auth_cpu:.0f} us with "
                 f"({result['auth_cpu_overhead_pct']:+}%)")
    print(line, file=sys.stderr)
    return result


def _auth_server(args: argparse.Namespace, tmp: Path, budgets: Path) -> dict[str, Any]:
    """Route with and without a team key on one fresh server (see above)."""
    token = secrets.token_urlsafe(32)
    env = {"ROUTER_ADMIN_TOKEN": token, "ROUTER_AUTH": "off", "ROUTER_ANOMALY_INTERVAL_S": "0"}
    proc, port = _serve(f"sqlite:///{tmp / 'auth.db'}", budgets, env)
    try:
        return asyncio.run(_auth_bench(args, port, token, proc.pid))
    finally:
        _stop([proc])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="router.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="per phase (default 5)")
    parser.add_argument("--concurrency", type=int, default=64, help="calls in flight (64)")
    parser.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    parser.add_argument("--budgets", type=int, default=3,
                        help="budgets applying to every call of the budgeted phases (3; 0 skips)")
    parser.add_argument("--replicas", type=int, default=1,
                        help="server processes sharing the database (needs PostgreSQL for > 1)")
    parser.add_argument("--auth-rounds", type=int, default=20,
                        help="rounds of Route with and without a key, ABBA (20; 0 skips)")
    parser.add_argument("--auth-seconds", type=float, default=1.5,
                        help="closed loop per round and side (default 1.5)")
    parser.add_argument("--fixed-rate", type=float, default=200.0,
                        help="the moderate rate at which Route's overhead over the empty "
                             "handler is measured (default 200/s; 0: skip)")
    parser.add_argument("--fixed-seconds", type=float, default=8.0,
                        help="seconds of each at the fixed rate, in 4 alternating rounds")
    parser.add_argument("--empty-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--floor-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.empty_server:
        asyncio.run(_empty_server())
        return 0
    if args.floor_server:
        asyncio.run(_floor_server())
        return 0

    with tempfile.TemporaryDirectory(prefix="router-bench-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        if args.replicas > 1 and url.startswith("sqlite"):
            parser.error("--replicas > 1 needs a shared database (--database-url postgresql://)")
        budgets = _budgets_file(Path(tmp) / "budgets.toml", args.budgets)
        procs, ports = [], []
        for _ in range(args.replicas):  # one at a time: the first migrates the schema
            proc, port = _serve(url, budgets)
            procs.append(proc)
            ports.append(port)
        empty, empty_port = _start([sys.executable, "-m", "router.bench", "--empty-server"])
        floor, floor_port = _start([sys.executable, "-m", "router.bench", "--floor-server"])
        try:
            results: dict[str, Any] = asyncio.run(_bench(args, ports, empty_port, floor_port))
        finally:
            _stop([empty, floor, *procs])
        if args.auth_rounds > 0:  # after the others stopped: nothing else on the machine
            results |= _auth_server(args, Path(tmp), budgets)
        micro = auth_bench()
        results["auth_us_per_call"] = round(micro["team_p50_us"], 3)
        results["auth_bootstrap_us_per_call"] = round(micro["bootstrap_p50_us"], 3)
        print(f"   auth: Keyring.authenticate {micro['team_p50_us']:.2f} us per call for a team "
              f"key, {micro['bootstrap_p50_us']:.2f} us for the admin token (p50 over "
              f"{micro['n'] // 1000} batches of 1000)", file=sys.stderr)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            stored = conn.execute(sa.text(
                "SELECT count(*) FROM usages WHERE usage_id LIKE 'bench-%'")).scalar()
        engine.dispose()
    results["replicas"] = args.replicas
    results["budgets"] = args.budgets
    results["stored_reports"] = stored
    results["route_pct_of_floor"] = round(100 * results["route_rps"]
                                          / results["route_floor_rps"], 1)
    for name in ("route_floor", "route", "route_budgets", "report", "report_budgets"):
        if f"{name}_rps" in results:
            results[f"{name}_pct_of_empty"] = round(
                100 * results[f"{name}_rps"] / results["empty_rps"], 1)
    # the classifier alone, on the same prompts the Routes carried (issue 14's measure)
    results["classifier_p50_us"] = round(classifier_bench(
        Classifier.load(Settings().classifier_path), _prompts(), n=2000)["p50"], 1)
    results["durable"] = stored >= results["acked_reports"]
    print(json.dumps(results))
    return 0 if results["durable"] else 1


if __name__ == "__main__":
    sys.exit(main())
