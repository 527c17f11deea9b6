"""ReportUsage at the gRPC edge: the answer waits for the group commit, never for a thread."""

from __future__ import annotations

from typing import Any

from router import v1 as pb
from router.api import convert
from router.api.grpc.auth import Callers
from router.api.grpc.base import (
    UNLOGGED,
    Context,
    Offload,
    RpcBase,
    log_keys,
)
from router.auth import Principal
from router.auth.principal import budgets_seen_by
from router.service.usage import UsageService
from router.store.base import UsageWrite


class UsageRpcs(RpcBase):
    def __init__(self, usage: UsageService, offload: Offload, callers: Callers) -> None:
        super().__init__(offload, callers)
        self._usage = usage

    async def ReportUsage(self, request: pb.ReportUsageRequest,
                          context: Context) -> pb.ReportUsageResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.ReportUsageResponse:
            inp = convert.usage_input(request)
            line.update(usage_id=inp.usage_id, decision_id=inp.decision_id)
            if self._usage.needs_store_read(inp):
                prepared = await self._blocking(self._usage.prepare, inp, who)
            else:
                prepared = self._usage.prepare(inp, who)
            # answered once committed, or UNAVAILABLE past the store's bound (the write may
            # still land: the usage_id makes the client's retry a replay)
            write = prepared if isinstance(prepared, UsageWrite) else \
                await self._offload.wait(self._usage.submit(prepared))
            if self._usage.finish_needs_store_read():
                result = await self._blocking(self._usage.finish, write, inp.usage_id, who)
            else:
                result = self._usage.finish(write, inp.usage_id, who)
            u = result.usage
            if line is not UNLOGGED:
                line.update(model=u.model, cost_nanos=u.cost.total,
                            predicted_cost_nanos=u.predicted_cost, replayed=result.replayed,
                            **log_keys(u.attribution))
            return convert.usage_response(budgets_seen_by(who, result))

        return await self._handle("ReportUsage", request, context, body)
