"""The gRPC edge: protobuf in, service call, protobuf out, one log line per RPC."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import grpc
import structlog

from router.api import convert
from router.api.errors import internal_status, to_status
from router.core.errors import (
    InvalidRequest,
    PermissionDenied,
    RouterError,
    Unauthenticated,
)
from router.service import RouterService
from router.store.base import UsageWrite
from router.v1 import router_pb2 as pb
from router.v1 import router_pb2_grpc as pb_grpc

log = structlog.get_logger("router.rpc")
T = TypeVar("T")


def _keys(a: Any) -> dict[str, str]:
    return {k: v for k, v in (("team", a.team), ("agent", a.agent), ("task_id", a.task_id),
                              ("user", a.user)) if v}


class RouterServicer(pb_grpc.RouterServicer):
    def __init__(self, service: RouterService, offload: ThreadPoolExecutor,
                 admin_token: str = "") -> None:
        self._service = service
        self._offload = offload
        self._admin_token = admin_token.encode()
        self._models: dict[bool, pb.ListModelsResponse] = {}

    def _require_admin(self, context: grpc.aio.ServicerContext) -> None:
        """Mutating budget RPCs need ``authorization: Bearer <admin token>``."""
        header = dict(context.invocation_metadata() or ()).get("authorization", "")
        if not header:
            raise Unauthenticated("this call needs the metadata 'authorization: Bearer <admin "
                                  "token>'")
        scheme, _, token = header.partition(" ")
        if not self._admin_token:
            raise PermissionDenied("budget management is disabled: no admin token is "
                                   "configured (ROUTER_ADMIN_TOKEN)")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                                  self._admin_token):
            raise PermissionDenied("the admin token is not valid")

    async def _handle(self, rpc: str, context: grpc.aio.ServicerContext,
                      body: Callable[[dict[str, Any]], Awaitable[T]]) -> T:
        started = time.perf_counter()
        line: dict[str, Any] = {}
        code = "OK"
        try:
            return await body(line)
        except RouterError as exc:
            status = to_status(exc)
            code = status.code.name
            line["error"] = str(exc)
            await context.abort_with_status(status)
        except asyncio.CancelledError:
            code = "CANCELLED"
            raise
        except Exception:
            code = "INTERNAL"
            log.exception("rpc.internal_error", rpc=rpc)
            await context.abort_with_status(internal_status())
        finally:
            log.info("rpc", rpc=rpc, code=code,
                     latency_ms=round((time.perf_counter() - started) * 1000, 3), **line)
        raise AssertionError("unreachable")  # abort_with_status always raises

    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._offload, fn, *args)

    async def Route(self, request: pb.RouteRequest, context: grpc.aio.ServicerContext
                    ) -> pb.RouteResponse:
        async def body(line: dict[str, Any]) -> pb.RouteResponse:
            inp = convert.route_input(request)
            if self._service.route_needs_store_read(inp):  # remote store: off the loop
                result = await self._blocking(self._service.route, inp)
            else:
                result = self._service.route(inp)
            d = result.decision
            line.update(decision_id=d.decision_id, model=d.model,
                        predicted_cost_nanos=d.predicted_cost, complexity=d.complexity_label,
                        replayed=result.replayed, **_keys(d.attribution))
            return convert.route_response(result)

        return await self._handle("Route", context, body)

    async def ReportUsage(self, request: pb.ReportUsageRequest,
                          context: grpc.aio.ServicerContext) -> pb.ReportUsageResponse:
        async def body(line: dict[str, Any]) -> pb.ReportUsageResponse:
            inp = convert.usage_input(request)
            line.update(usage_id=inp.usage_id, decision_id=inp.decision_id)
            if self._service.needs_store_read(inp):
                prepared = await self._blocking(self._service.prepare_usage, inp)
            else:
                prepared = self._service.prepare_usage(inp)
            write = prepared if isinstance(prepared, UsageWrite) else \
                await asyncio.wrap_future(self._service.submit_usage(prepared))
            if self._service.store.local_reads:
                result = self._service.finish_usage(write, inp.usage_id)
            else:
                result = await self._blocking(self._service.finish_usage, write, inp.usage_id)
            u = result.usage
            line.update(model=u.model, cost_nanos=u.cost.total,
                        predicted_cost_nanos=u.predicted_cost, replayed=result.replayed,
                        **_keys(u.attribution))
            return convert.usage_response(result)

        return await self._handle("ReportUsage", context, body)

    async def ListModels(self, request: pb.ListModelsRequest,
                         context: grpc.aio.ServicerContext) -> pb.ListModelsResponse:
        async def body(line: dict[str, Any]) -> pb.ListModelsResponse:
            key = request.include_disabled
            if key not in self._models:
                catalog = self._service.catalog
                self._models[key] = pb.ListModelsResponse(
                    models=[convert.model_info(m, catalog.currency)
                            for m in self._service.models(key)],
                    currency_code=catalog.currency, default_model=catalog.default_model)
            line["models"] = len(self._models[key].models)
            return self._models[key]

        return await self._handle("ListModels", context, body)

    async def GetDecision(self, request: pb.GetDecisionRequest,
                          context: grpc.aio.ServicerContext) -> pb.GetDecisionResponse:
        async def body(line: dict[str, Any]) -> pb.GetDecisionResponse:
            line["decision_id"] = request.decision_id
            decision, usages, total = await self._blocking(self._service.get_decision,
                                                           request.decision_id)
            line["usages"] = len(usages)
            return convert.decision_response(decision, usages, total)

        return await self._handle("GetDecision", context, body)

    async def GetSavings(self, request: pb.GetSavingsRequest,
                         context: grpc.aio.ServicerContext) -> pb.GetSavingsResponse:
        async def body(line: dict[str, Any]) -> pb.GetSavingsResponse:
            since = convert.optional_time_us(request, "start_time")
            until = convert.optional_time_us(request, "end_time")
            report = await self._blocking(self._service.savings, since, until,
                                          request.baseline_model)
            line.update(baseline=report.baseline, calls=report.total.calls,
                        savings_nanos=report.total.savings)
            return convert.savings_response(report)

        return await self._handle("GetSavings", context, body)

    # -- Budgets ---------------------------------------------------------------------------------

    def _currency(self) -> str:
        return self._service.catalog.currency

    def _budget_msg(self, rule: Any) -> pb.Budget:
        return convert.budget(rule, self._currency(),
                              self._service.budgets.is_from_file(rule.id))

    async def SetBudget(self, request: pb.SetBudgetRequest,
                        context: grpc.aio.ServicerContext) -> pb.Budget:
        async def body(line: dict[str, Any]) -> pb.Budget:
            self._require_admin(context)
            rule = convert.budget_rule(request.budget, self._currency())
            line["budget_id"] = rule.id
            return self._budget_msg(await self._blocking(self._service.set_budget, rule))

        return await self._handle("SetBudget", context, body)

    async def GetBudget(self, request: pb.GetBudgetRequest,
                        context: grpc.aio.ServicerContext) -> pb.Budget:
        async def body(line: dict[str, Any]) -> pb.Budget:
            line["budget_id"] = request.id
            return self._budget_msg(self._service.get_budget(request.id))

        return await self._handle("GetBudget", context, body)

    async def ListBudgets(self, request: pb.ListBudgetsRequest,
                          context: grpc.aio.ServicerContext) -> pb.ListBudgetsResponse:
        async def body(line: dict[str, Any]) -> pb.ListBudgetsResponse:
            rules, pauses = self._service.list_budgets()
            line.update(budgets=len(rules), paused=len(pauses))
            return pb.ListBudgetsResponse(
                budgets=[self._budget_msg(r) for r in sorted(rules, key=lambda r: r.id)],
                paused=[convert.paused_scope(p) for p in pauses])

        return await self._handle("ListBudgets", context, body)

    async def DeleteBudget(self, request: pb.DeleteBudgetRequest,
                           context: grpc.aio.ServicerContext) -> pb.DeleteBudgetResponse:
        async def body(line: dict[str, Any]) -> pb.DeleteBudgetResponse:
            self._require_admin(context)
            line["budget_id"] = request.id
            await self._blocking(self._service.delete_budget, request.id)
            return pb.DeleteBudgetResponse()

        return await self._handle("DeleteBudget", context, body)

    async def GetBudgetStatus(self, request: pb.GetBudgetStatusRequest,
                              context: grpc.aio.ServicerContext) -> pb.BudgetStatus:
        async def body(line: dict[str, Any]) -> pb.BudgetStatus:
            line["budget_id"] = request.id
            at = convert.optional_time_us(request, "at")
            status = await self._blocking(self._service.budget_status, request.id, at)
            line.update(window=status.window.key, state=status.state.name)
            return convert.budget_status(status, self._currency())

        return await self._handle("GetBudgetStatus", context, body)

    async def PauseScope(self, request: pb.PauseScopeRequest,
                         context: grpc.aio.ServicerContext) -> pb.PauseScopeResponse:
        async def body(line: dict[str, Any]) -> pb.PauseScopeResponse:
            self._require_admin(context)
            scope = convert.scope(request.scope)
            if len(request.reason) > 1000:
                raise InvalidRequest.of("reason", "at most 1000 characters")
            line["scope"] = scope.describe()
            pause = await self._blocking(self._service.pause, scope, request.reason)
            return pb.PauseScopeResponse(paused=convert.paused_scope(pause))

        return await self._handle("PauseScope", context, body)

    async def ResumeScope(self, request: pb.ResumeScopeRequest,
                          context: grpc.aio.ServicerContext) -> pb.ResumeScopeResponse:
        async def body(line: dict[str, Any]) -> pb.ResumeScopeResponse:
            self._require_admin(context)
            scope = convert.scope(request.scope)
            line["scope"] = scope.describe()
            return pb.ResumeScopeResponse(
                was_paused=await self._blocking(self._service.resume, scope))

        return await self._handle("ResumeScope", context, body)

    # -- Reports ---------------------------------------------------------------------------------

    async def QuerySpend(self, request: pb.QuerySpendRequest,
                         context: grpc.aio.ServicerContext) -> pb.QuerySpendResponse:
        async def body(line: dict[str, Any]) -> pb.QuerySpendResponse:
            query = convert.spend_query(request)
            rows, summed = await self._blocking(self._service.spend, query)
            line.update(group_by=",".join(query.group_by), bucket=query.bucket.value,
                        rows=len(rows), cost_nanos=int(summed["cost_total"]))
            currency = self._currency()
            return pb.QuerySpendResponse(rows=[convert.spend_row(r, currency) for r in rows],
                                         total=convert.spend_row(summed, currency))

        return await self._handle("QuerySpend", context, body)

    # -- Anomalies -------------------------------------------------------------------------------

    async def ListAnomalies(self, request: pb.ListAnomaliesRequest,
                            context: grpc.aio.ServicerContext) -> pb.ListAnomaliesResponse:
        async def body(line: dict[str, Any]) -> pb.ListAnomaliesResponse:
            kinds = convert.anomaly_kinds(request.kinds)
            if not 0 <= request.page_size <= 1000:
                raise InvalidRequest.of("page_size", "must be 0-1000")
            found = await self._blocking(self._service.anomalies,
                                         convert.optional_time_us(request, "since"), kinds,
                                         request.page_size or 100)
            line["anomalies"] = len(found)
            return pb.ListAnomaliesResponse(anomalies=[convert.anomaly(d) for d in found])

        return await self._handle("ListAnomalies", context, body)

    async def DetectAnomalies(self, request: pb.DetectAnomaliesRequest,
                              context: grpc.aio.ServicerContext) -> pb.ListAnomaliesResponse:
        async def body(line: dict[str, Any]) -> pb.ListAnomaliesResponse:
            self._require_admin(context)
            found = await self._blocking(self._service.detect_anomalies)
            line["new"] = len(found)
            return pb.ListAnomaliesResponse(anomalies=[convert.anomaly(d) for d in found])

        return await self._handle("DetectAnomalies", context, body)

    async def WatchAnomalies(self, request: pb.WatchAnomaliesRequest,
                             context: grpc.aio.ServicerContext) -> AsyncIterator[pb.Anomaly]:
        """Stream anomalies; the log line is written when the stream ends."""
        started = time.perf_counter()
        sent, code = 0, "OK"
        hub = self._service.anomaly_hub
        queue = hub.subscribe()  # before the replay, so nothing detected meanwhile is missed
        try:
            try:
                kinds = set(convert.anomaly_kinds(request.kinds))
                since = convert.optional_time_us(request, "since")
                seen: set[str] = set()
                if since is not None:
                    past = await self._blocking(self._service.anomalies, since,
                                                tuple(kinds), 1000)
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
