"""``router simulate --score --seeds N``: the detectors scored over many seeds, each simulated
against a fresh server of its own.

A score needs a clean store: a second seed's history on the first one's store would overlap it
(the same teams, the same hours) and its anomalies would be judged against both. So each seed
starts an embedded server (the real gRPC server, in this process, as ``router serve`` runs it)
on a temporary SQLite file with its clock pinned at the end of the simulated history, drives it
with the scenario's traffic, asks it to detect over gRPC, scores what it found, and removes it.
The command runs seeds in worker processes (``--jobs`` at once), each its own server and client,
so the command's own process keeps its state (logging, gRPC) untouched.
"""

from __future__ import annotations

import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import grpc

from router import v1 as pb
from router.api.convert import ANOMALY_KINDS
from router.client import Client
from router.core.clock import ManualClock
from router.settings import Settings
from router.simulate.scenario import scenario
from router.simulate.simulation import simulate
from router.simulate.truth import KINDS, Key, Truth, score


def detected(address: str, token: str) -> list[Key]:
    """Ask the server at ``address`` to detect now; every anomaly it has stored, as keys."""
    with Client(address, key=token) as router:
        router.DetectAnomalies(pb.DetectAnomaliesRequest(), timeout=120)
        found = router.ListAnomalies(pb.ListAnomaliesRequest(page_size=1000),
                                     timeout=30).anomalies
    return [(ANOMALY_KINDS[a.kind], a.team, a.agent, a.task_id) for a in found]


@dataclass(frozen=True)
class SeedScore:
    """One seed's run: its truth, what the server found, the score, and how long it took."""

    seed: int
    truth: Truth
    found: list[Key]
    scores: dict[str, dict[str, float]]
    seconds: float


def run_seed(name: str, days: int, seed: int, end_us: int, inject: bool = True,
             concurrency: int = 32) -> SeedScore:
    """Simulate one seed against a fresh embedded server and score its detectors."""
    from router.server import EmbeddedServer  # the server stack, only in the seed's worker

    started = time.monotonic()
    token = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="router-sim-") as tmp:
        settings = Settings(address="127.0.0.1:0",
                            database_url=f"sqlite:///{Path(tmp) / 'router.db'}",
                            http_address="", sqlite_synchronous="OFF", admin_token=token,
                            anomaly_interval_s=0.0, log_level="error", shutdown_grace_s=2.0)
        server = EmbeddedServer(settings, ManualClock(end_us))
        try:
            truth = simulate(server.address, scenario(name, days=days), seed=seed,
                             now_us=end_us, concurrency=concurrency, inject=inject)
            if truth.errors:
                raise RuntimeError(f"seed {seed}: {truth.errors[0]}")
            found = detected(server.address, token)
        except grpc.RpcError as err:
            raise RuntimeError(f"seed {seed}: {err.code().name}: {err.details()}") from err
        finally:
            server.stop()
    return SeedScore(seed, truth, found, score(truth, found), time.monotonic() - started)


def run_seeds(name: str, days: int, seeds: Iterable[int], end_us: int, *, inject: bool = True,
              concurrency: int = 32, workers: int = 0,
              done: Callable[[SeedScore], None] | None = None) -> list[SeedScore]:
    """Every seed through ``run_seed``, calling ``done`` as each finishes; the results in seed
    order. ``workers=0`` runs them here, one after the other; ``workers=N`` in N worker
    processes at once, whose logs are quiet (the servers' anomaly warnings are what is being
    scored, and every call's log line would drown the output)."""
    seeds = list(seeds)
    results: list[SeedScore] = []
    if workers <= 0:
        for seed in seeds:
            results.append(run_seed(name, days, seed, end_us, inject, concurrency))
            if done is not None:
                done(results[-1])
        return results
    # spawned, not forked: the parent's gRPC and threads do not belong in a child
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                             initializer=_quiet) as pool:
        futures = [pool.submit(run_seed, name, days, seed, end_us, inject, concurrency)
                   for seed in seeds]
        for future in as_completed(futures):
            results.append(future.result())
            if done is not None:
                done(results[-1])
    return sorted(results, key=lambda r: r.seed)


def _quiet() -> None:
    """A worker's logging: errors only."""
    from router.logs import configure

    configure("error")


def summary(results: list[SeedScore]) -> dict[str, dict[str, float]]:
    """Per kind (and ``all``): the minimum and mean precision and recall over the seeds, and
    the true positives, false positives and misses summed."""
    out: dict[str, dict[str, float]] = {}
    for kind in [*KINDS, "all"]:
        rows = [r.scores[kind] for r in results if kind in r.scores]
        if not rows:
            continue
        out[kind] = {
            "precision_min": min(s["precision"] for s in rows),
            "precision_mean": statistics.fmean(s["precision"] for s in rows),
            "recall_min": min(s["recall"] for s in rows),
            "recall_mean": statistics.fmean(s["recall"] for s in rows),
            **{k: sum(s[k] for s in rows) for k in ("tp", "fp", "fn")}}
    return out
