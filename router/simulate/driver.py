"""The gRPC driver: sends the simulated calls (Route when a call is routed, then ReportUsage) with
a bounded number of RPCs in flight through ``router.client.AsyncClient`` (which retries what is
transient, with each call's own idempotency key), and tallies the answers."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from router import v1 as pb
from router.client import AsyncClient, RouterCallError
from router.core.timeunits import SECOND_US
from router.simulate.catalog import Catalog
from router.simulate.quality import draw_quality
from router.simulate.traffic import Call

Progress = Callable[[int, int, str], None]


@dataclass(slots=True)
class Result:
    """What the server answered to one reported call."""

    status: str = "error"  # new, replayed, conflict, error
    cost: int = 0  # total, nanos
    tokens_cost: int = 0
    predicted_cost: int = 0  # of the decision's model, when routed
    predicted_output: int = 0
    actual_output: int = 0
    routed: bool = False
    quality: float | None = None  # the score reported with the call

    @property
    def recorded(self) -> bool:
        """The server holds the call as sent (recorded now or before): its cost counts."""
        return self.status in ("new", "replayed")


def timestamp(t_us: int) -> Timestamp:
    return Timestamp(seconds=t_us // SECOND_US, nanos=(t_us % SECOND_US) * 1000)


class Driver:
    """Sends calls with ``concurrency`` RPCs in flight and tallies what the server answered."""

    def __init__(self, router: AsyncClient, concurrency: int, labels: dict[str, str],
                 progress: Progress | None, catalog: Catalog | None = None) -> None:
        self.router = router
        self.catalog = catalog  # when given, a successful call reports a quality score
        self.concurrency = max(1, concurrency)
        self.labels = labels
        self.progress = progress
        self.stats: Counter[str] = Counter()
        self.errors: list[str] = []
        self.done = 0
        self.total = 0
        self.phase = ""
        self.spend: Counter[str] = Counter()
        self.sent: list[tuple[Call, Result]] = []  # every report, as answered

    def plan(self, more: int, phase: str | None = None) -> None:
        self.total += more
        if phase is not None:
            self.phase = phase
        self._tick()

    def _tick(self) -> None:
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done), self.phase)

    def _attribution(self, call: Call) -> pb.Attribution:
        a = call.agent
        return pb.Attribution(team=a.team, agent=a.name, task_id=call.task_id,
                              task_type=a.task_type, user=call.user, labels=self.labels)

    async def route(self, call: Call) -> pb.RouteResponse | None:
        """Route pinned to the call's model; None (report without a decision) when refused."""
        self.stats["routes"] += 1
        try:
            decision: pb.RouteResponse = await self.router.Route(pb.RouteRequest(
                request_id=f"{call.usage_id}/route", task_description=call.description,
                attribution=self._attribution(call), allowed_models=[call.model],
                quality_target=call.agent.quality,
                estimated_input_tokens=call.input + call.cached))
            return decision
        except RouterCallError as err:
            self.stats["route_refused"] += 1
            self._note(f"Route {call.usage_id}: {err.code().name}: {err.details()}")
            return None

    async def report(self, call: Call, decision: pb.RouteResponse | None) -> Result:
        output = call.output
        predicted = decision.predicted.output_tokens if decision is not None else 0
        if call.drift:
            output = max(1, round((predicted or call.output) * call.drift))
        req = pb.ReportUsageRequest(
            usage_id=call.usage_id, decision_id=decision.decision_id if decision else "",
            attribution=self._attribution(call), model=call.model,
            tokens=pb.TokenUsage(input=call.input, cached_input=call.cached, output=output,
                                 reasoning=call.reasoning),
            tool_calls=[pb.ToolCall(name=name, count=count) for name, count in call.tools],
            outcome=call.outcome, latency_ms=call.latency_ms, occurred_at=timestamp(call.t_us))
        if call.cpu or call.gpu:
            req.compute.CopyFrom(pb.Compute(cpu_seconds=call.cpu, gpu_seconds=call.gpu))
        if call.review:
            req.human_review.CopyFrom(pb.HumanReview(seconds=call.review))
        result = Result(routed=decision is not None, predicted_output=predicted,
                         actual_output=output)
        if self.catalog is not None and call.outcome == pb.OUTCOME_SUCCESS:
            # drawn from the call's own id: the traffic's random stream stays as it was
            req.quality = result.quality = draw_quality(
                random.Random(call.usage_id), self.catalog, call.model, call.agent.task_type)
        self.stats["calls"] += 1
        try:
            resp = await self.router.ReportUsage(req)
        except RouterCallError as err:
            if err.code().name == "ALREADY_EXISTS":
                result.status = "conflict"
            else:
                self._note(f"ReportUsage {call.usage_id}: {err.code().name}: {err.details()}")
        else:
            result.status = "replayed" if resp.replayed else "new"
            result.cost = resp.cost.total.nanos
            result.tokens_cost = resp.cost.tokens.nanos
            if resp.HasField("prediction_error"):
                result.predicted_cost = resp.prediction_error.predicted_cost.nanos
            self.spend[call.agent.team] += result.cost
        self.stats[result.status] += 1
        self.sent.append((call, result))
        self.done += 1
        self._tick()
        return result

    def _note(self, message: str) -> None:
        if len(self.errors) < 20:
            self.errors.append(message)

    async def _map(self, items: Sequence[Any], fn: Callable[[Any], Any]) -> list[Any]:
        out: list[Any] = [None] * len(items)
        queue = iter(range(len(items)))

        async def worker() -> None:
            for i in queue:
                out[i] = await fn(items[i])

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(items)))))
        return out

    async def send(self, calls: Sequence[Call]) -> list[Result]:
        async def one(call: Call) -> Result:
            decision = await self.route(call) if call.route else None
            return await self.report(call, decision)

        return await self._map(calls, one)

    async def send_routed_first(self, calls: Sequence[Call]) -> list[Result]:
        """Route every call, then report them all (predictions made before any report)."""
        decisions = await self._map(calls, self.route)
        pairs = list(zip(calls, decisions, strict=True))
        return await self._map(pairs, lambda p: self.report(*p))

    async def send_until(self, tasks: Sequence[list[Call]], target_nanos: float
                         ) -> tuple[list[Call], list[Result]]:
        """Send whole tasks, a batch at a time, until their spend reaches the target."""
        sent: list[Call] = []
        results: list[Result] = []
        spent = 0
        i = 0
        while i < len(tasks) and spent < target_nanos:
            batch: list[Call] = []
            while i < len(tasks) and len(batch) < self.concurrency:
                batch.extend(tasks[i])
                i += 1
            self.plan(len(batch))
            got = await self.send(batch)
            sent.extend(batch)
            results.extend(got)
            spent += sum(r.cost for r in got)
            if any(r.status in ("conflict", "error") for r in got):
                break  # not this run's history (or the server is failing): measure nothing
        return sent, results


def cost_per_call(results: Sequence[Result]) -> float:
    """Mean cost (nanos) of the recorded calls among ``results``; 0.0 when there are none."""
    ok = [r for r in results if r.recorded]
    return sum(r.cost for r in ok) / len(ok) if ok else 0.0
