"""Budget administration at the gRPC edge (who may see and change what: ``BudgetService``)."""

from __future__ import annotations

from typing import Any

from router import v1 as pb
from router.api import convert
from router.api.grpc.auth import Callers
from router.api.grpc.base import Context, Offload, RpcBase
from router.auth import Principal
from router.core.budgets import BudgetRule
from router.core.errors import InvalidRequest
from router.service.budgets import BudgetService

MAX_REASON_CHARS = 1000


class BudgetRpcs(RpcBase):
    def __init__(self, budgets: BudgetService, offload: Offload, callers: Callers) -> None:
        super().__init__(offload, callers)
        self._budgets = budgets

    def _currency(self) -> str:
        return self._budgets.catalog.currency

    def _budget_msg(self, rule: BudgetRule) -> pb.Budget:
        return convert.budget(rule, self._currency(),
                              self._budgets.is_from_file(rule.id))

    async def SetBudget(self, request: pb.SetBudgetRequest,
                        context: Context) -> pb.Budget:
        async def body(line: dict[str, Any], who: Principal) -> pb.Budget:
            rule = convert.budget_rule(request.budget, self._currency())
            line["budget_id"] = rule.id
            return self._budget_msg(await self._blocking(self._budgets.set, rule, who))

        return await self._handle("SetBudget", request, context, body)

    async def GetBudget(self, request: pb.GetBudgetRequest,
                        context: Context) -> pb.Budget:
        async def body(line: dict[str, Any], who: Principal) -> pb.Budget:
            line["budget_id"] = request.id
            return self._budget_msg(self._budgets.get(request.id, who))

        return await self._handle("GetBudget", request, context, body)

    async def ListBudgets(self, request: pb.ListBudgetsRequest,
                          context: Context) -> pb.ListBudgetsResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.ListBudgetsResponse:
            rules, pauses = self._budgets.list(who)
            line.update(budgets=len(rules), paused=len(pauses))
            return pb.ListBudgetsResponse(
                budgets=[self._budget_msg(r) for r in sorted(rules, key=lambda r: r.id)],
                paused=[convert.paused_scope(p) for p in pauses])

        return await self._handle("ListBudgets", request, context, body)

    async def DeleteBudget(self, request: pb.DeleteBudgetRequest,
                           context: Context) -> pb.DeleteBudgetResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.DeleteBudgetResponse:
            line["budget_id"] = request.id
            await self._blocking(self._budgets.delete, request.id, who)
            return pb.DeleteBudgetResponse()

        return await self._handle("DeleteBudget", request, context, body)

    async def GetBudgetStatus(self, request: pb.GetBudgetStatusRequest,
                              context: Context) -> pb.BudgetStatus:
        async def body(line: dict[str, Any], who: Principal) -> pb.BudgetStatus:
            line["budget_id"] = request.id
            at = convert.optional_time_us(request, "at")
            status, forecast = await self._blocking(self._budgets.status_and_forecast,
                                                    request.id, at, who)
            line.update(window=status.window.key, state=status.state.name)
            return convert.budget_status(status, self._currency(), forecast)

        return await self._handle("GetBudgetStatus", request, context, body)

    async def ForecastBudget(self, request: pb.ForecastBudgetRequest,
                             context: Context) -> pb.BudgetForecast:
        async def body(line: dict[str, Any], who: Principal) -> pb.BudgetForecast:
            line["budget_id"] = request.budget_id
            forecast = await self._blocking(self._budgets.forecast, request.budget_id,
                                            request.horizon_seconds, who)
            line.update(window=forecast.status.window.key, method=forecast.method.value,
                        alert=forecast.alert)
            return convert.budget_forecast(forecast, self._currency())

        return await self._handle("ForecastBudget", request, context, body)

    async def PauseScope(self, request: pb.PauseScopeRequest,
                         context: Context) -> pb.PauseScopeResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.PauseScopeResponse:
            scope = convert.scope(request.scope)
            if len(request.reason) > MAX_REASON_CHARS:
                raise InvalidRequest.of("reason", f"at most {MAX_REASON_CHARS} characters")
            line["scope"] = scope.describe()
            pause = await self._blocking(self._budgets.pause, scope, request.reason, who)
            return pb.PauseScopeResponse(paused=convert.paused_scope(pause))

        return await self._handle("PauseScope", request, context, body)

    async def ResumeScope(self, request: pb.ResumeScopeRequest,
                          context: Context) -> pb.ResumeScopeResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.ResumeScopeResponse:
            scope = convert.scope(request.scope)
            line["scope"] = scope.describe()
            return pb.ResumeScopeResponse(
                was_paused=await self._blocking(self._budgets.resume, scope, who))

        return await self._handle("ResumeScope", request, context, body)
