"""Anomalies at the gRPC edge: list, detect on demand (admin), and watch as a stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from router import v1 as pb
from router.api import convert
from router.api.errors import to_status
from router.api.grpc.auth import Callers
from router.api.grpc.base import Context, Offload, RpcBase, accepted, log, refusal_line
from router.auth import Principal
from router.core.errors import InvalidRequest, Overloaded, RouterError
from router.metrics import RPCS
from router.service.anomalies import AnomalyService

MAX_PAGE = 1000


class StreamSlots:
    """Bounds on open streams, for the server and per client host, so watchers can never take
    the capacity every other call needs."""

    def __init__(self, total: int, per_peer: int) -> None:
        self._total, self._per_peer = total, per_peer
        self._open: dict[str, int] = {}

    @staticmethod
    def host(peer: str) -> str:
        """``ipv4:127.0.0.1:5555`` -> ``ipv4:127.0.0.1``: a client's connections share a host."""
        return peer.rsplit(":", 1)[0] if peer.count(":") >= 2 else peer

    def take(self, peer: str) -> str:
        """A slot for ``peer`` (the key to give back), or Overloaded. Runs on the event loop."""
        host = self.host(peer)
        if sum(self._open.values()) >= self._total:
            raise Overloaded(f"the server has its maximum of {self._total} open watch streams; "
                             "retry later", retry_after_seconds=5.0)
        if self._open.get(host, 0) >= self._per_peer:
            raise Overloaded(f"this client has its maximum of {self._per_peer} open watch "
                             "streams; close one first", retry_after_seconds=5.0)
        self._open[host] = self._open.get(host, 0) + 1
        return host

    def give_back(self, host: str) -> None:
        left = self._open.get(host, 0) - 1
        if left > 0:
            self._open[host] = left
        else:
            self._open.pop(host, None)

    def __len__(self) -> int:
        return sum(self._open.values())


class AnomalyRpcs(RpcBase):
    def __init__(self, anomalies: AnomalyService, offload: Offload, callers: Callers,
                 streams: StreamSlots) -> None:
        super().__init__(offload, callers)
        self._anomalies = anomalies
        self._streams = streams

    async def ListAnomalies(self, request: pb.ListAnomaliesRequest,
                            context: Context) -> pb.ListAnomaliesResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.ListAnomaliesResponse:
            kinds = convert.anomaly_kinds(request.kinds)
            if not 0 <= request.page_size <= MAX_PAGE:
                raise InvalidRequest.of("page_size", f"must be 0-{MAX_PAGE}")
            found = await self._blocking(self._anomalies.list,
                                         convert.optional_time_us(request, "since"), kinds,
                                         request.page_size or 100, who)
            line["anomalies"] = len(found)
            return pb.ListAnomaliesResponse(anomalies=[convert.anomaly(d) for d in found])

        return await self._handle("ListAnomalies", request, context, body)

    async def DetectAnomalies(self, request: pb.DetectAnomaliesRequest,
                              context: Context) -> pb.DetectAnomaliesResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.DetectAnomaliesResponse:
            found = await self._blocking(self._anomalies.detect_now, who)
            line["new"] = len(found)
            return pb.DetectAnomaliesResponse(anomalies=[convert.anomaly(d) for d in found])

        return await self._handle("DetectAnomalies", request, context, body)

    async def WatchAnomalies(self, request: pb.WatchAnomaliesRequest,
                             context: Context) -> AsyncIterator[pb.Anomaly]:
        """Stream the anomalies the caller may see; the log line is written when the stream
        ends. The caller's key is checked again before each anomaly, so a key revoked (or
        expired) meanwhile ends the stream UNAUTHENTICATED."""
        started = time.perf_counter()
        transport = getattr(context, "transport", "grpc")
        sent, code = 0, "OK"
        refused: dict[str, Any] = {}
        caller: Principal | None = None
        try:
            who = caller = self._callers.of(context)
            slot = self._streams.take(context.peer() or "")
        except RouterError as exc:
            status = to_status(exc)
            elapsed = time.perf_counter() - started
            RPCS.observe("WatchAnomalies", status.code.name, transport, elapsed)
            log.warning("rpc", rpc="WatchAnomalies", code=status.code.name,
                        latency_ms=round(elapsed * 1000, 3),
                        **refusal_line({}, request, context, caller, exc))
            await context.abort_with_status(status)
            return
        hub = self._anomalies.hub
        queue = hub.subscribe()  # before the replay, so nothing detected meanwhile is missed
        try:
            try:
                kinds = set(convert.anomaly_kinds(accepted(request).kinds))
                since = convert.optional_time_us(request, "since")
                seen: set[str] = set()
                if since is not None:
                    past = await self._blocking(self._anomalies.list, since,
                                                tuple(kinds), MAX_PAGE, who)
                    for d in reversed(past):  # oldest first
                        seen.add(d.anomaly.key())
                        sent += 1
                        yield convert.anomaly(d)
                while True:
                    d = await queue.get()
                    if ((kinds and d.anomaly.kind.value not in kinds) or d.anomaly.key() in seen
                            or not who.sees(d.anomaly.team)):
                        continue
                    self._callers.of(context)  # still valid?
                    sent += 1
                    yield convert.anomaly(d)
            except RouterError as exc:
                status = to_status(exc)
                code = status.code.name
                refused = refusal_line({}, request, context, who, exc)
                await context.abort_with_status(status)
        except asyncio.CancelledError:
            code = "CANCELLED"
            raise
        finally:
            hub.unsubscribe(queue)
            self._streams.give_back(slot)
            elapsed = time.perf_counter() - started
            RPCS.observe("WatchAnomalies", code, transport, elapsed)
            if code in ("OK", "CANCELLED"):
                log.info("rpc", rpc="WatchAnomalies", code=code, sent=sent, key=who.key_id,
                         latency_ms=round(elapsed * 1000, 3))
            else:
                log.warning("rpc", rpc="WatchAnomalies", code=code, sent=sent,
                            latency_ms=round(elapsed * 1000, 3), **refused)
