"""Route and ListModels at the gRPC edge."""

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
from router.service.routing import RoutingService


class RoutingRpcs(RpcBase):
    def __init__(self, routing: RoutingService, offload: Offload, callers: Callers) -> None:
        super().__init__(offload, callers)
        self._routing = routing
        self._models: dict[bool, pb.ListModelsResponse] = {}  # the catalog never changes

    async def Route(self, request: pb.RouteRequest, context: Context) -> pb.RouteResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.RouteResponse:
            inp = convert.route_input(request)
            if self._routing.needs_store_read(inp):  # remote store: off the loop, bounded
                result = await self._offload.run(self._routing.route, inp, who,
                                                 on_abandoned=self._routing.abandon)
            else:
                result = self._routing.route(inp, who)
            remaining = context.time_remaining()  # None: the caller set no deadline
            if context.cancelled() or (remaining is not None and remaining <= 0):
                self._routing.abandon(result)  # nobody will report usage against it
            d = result.decision
            if line is not UNLOGGED:
                line.update(decision_id=d.decision_id, model=d.model,
                            predicted_cost_nanos=d.predicted_cost,
                            complexity=d.complexity_label, replayed=result.replayed,
                            **log_keys(d.attribution))
            return convert.route_response(budgets_seen_by(who, result),
                                          request.include_candidates)

        return await self._handle("Route", request, context, body)

    async def ListModels(self, request: pb.ListModelsRequest,
                         context: Context) -> pb.ListModelsResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.ListModelsResponse:
            key = request.include_disabled
            if key not in self._models:
                catalog = self._routing.catalog
                self._models[key] = pb.ListModelsResponse(
                    models=[convert.model_info(m, catalog.currency)
                            for m in self._routing.models(key)],
                    currency_code=catalog.currency, default_model=catalog.default_model)
            line["models"] = len(self._models[key].models)
            return self._models[key]

        return await self._handle("ListModels", request, context, body)
