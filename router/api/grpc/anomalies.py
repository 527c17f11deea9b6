"""Anomalies at the gRPC edge: list, detect on demand (admin), and watch as a stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from router import v1 as pb
from router.api import convert
from router.api.errors import to_status
from router.api.grpc.auth import AdminCheck
from router.api.grpc.base import Context, Offload, RpcBase, log
from router.core.errors import InvalidRequest, RouterError
from router.service.anomalies import AnomalyService

MAX_PAGE = 1000


class AnomalyRpcs(RpcBase):
    def __init__(self, anomalies: AnomalyService, admin: AdminCheck,
                 offload: Offload) -> None:
        super().__init__(offload)
        self._anomalies = anomalies
        self._admin = admin

    async def ListAnomalies(self, request: pb.ListAnomaliesRequest,
                            context: Context) -> pb.ListAnomaliesResponse:
        async def body(line: dict[str, Any]) -> pb.ListAnomaliesResponse:
            kinds = convert.anomaly_kinds(request.kinds)
            if not 0 <= request.page_size <= MAX_PAGE:
                raise InvalidRequest.of("page_size", f"must be 0-{MAX_PAGE}")
            found = await self._blocking(self._anomalies.list,
                                         convert.optional_time_us(request, "since"), kinds,
                                         request.page_size or 100)
            line["anomalies"] = len(found)
            return pb.ListAnomaliesResponse(anomalies=[convert.anomaly(d) for d in found])

        return await self._handle("ListAnomalies", context, body)

    async def DetectAnomalies(self, request: pb.DetectAnomaliesRequest,
                              context: Context) -> pb.DetectAnomaliesResponse:
        async def body(line: dict[str, Any]) -> pb.DetectAnomaliesResponse:
            self._admin.require(context)
            found = await self._blocking(self._anomalies.detect)
            line["new"] = len(found)
            return pb.DetectAnomaliesResponse(anomalies=[convert.anomaly(d) for d in found])

        return await self._handle("DetectAnomalies", context, body)

    async def WatchAnomalies(self, request: pb.WatchAnomaliesRequest,
                             context: Context) -> AsyncIterator[pb.Anomaly]:
        """Stream anomalies; the log line is written when the stream ends."""
        started = time.perf_counter()
        sent, code = 0, "OK"
        hub = self._anomalies.hub
        queue = hub.subscribe()  # before the replay, so nothing detected meanwhile is missed
        try:
            try:
                kinds = set(convert.anomaly_kinds(request.kinds))
                since = convert.optional_time_us(request, "since")
                seen: set[str] = set()
                if since is not None:
                    past = await self._blocking(self._anomalies.list, since,
                                                tuple(kinds), MAX_PAGE)
                    for d in reversed(past):  # oldest first
                        seen.add(d.anomaly.key())
                        sent += 1
                        yield convert.anomaly(d)
                while True:
                    d = await queue.get()
                    if (kinds and d.anomaly.kind.value not in kinds) or d.anomaly.key() in seen:
                        continue
                    sent += 1
                    yield convert.anomaly(d)
            except RouterError as exc:
                status = to_status(exc)
                code = status.code.name
                await context.abort_with_status(status)
        except asyncio.CancelledError:
            code = "CANCELLED"
            raise
        finally:
            hub.unsubscribe(queue)
            log.info("rpc", rpc="WatchAnomalies", code=code, sent=sent,
                     latency_ms=round((time.perf_counter() - started) * 1000, 3))
