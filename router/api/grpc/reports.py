"""GetDecision, ListDecisions, GetSavings, QuerySpend and ListFocusCharges at the gRPC edge."""

from __future__ import annotations

from typing import Any

from router import v1 as pb
from router.api import convert
from router.api.grpc.auth import Callers
from router.api.grpc.base import Context, Offload, RpcBase
from router.auth import Principal
from router.core.focus import FOCUS_VERSION
from router.service.reports import ReportService


class ReportRpcs(RpcBase):
    def __init__(self, reports: ReportService, offload: Offload, callers: Callers) -> None:
        super().__init__(offload, callers)
        self._reports = reports

    async def GetDecision(self, request: pb.GetDecisionRequest,
                          context: Context) -> pb.GetDecisionResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.GetDecisionResponse:
            line["decision_id"] = request.decision_id
            report = await self._blocking(self._reports.decision, request.decision_id, who)
            line.update(usages=len(report.usages), feedback=len(report.feedback))
            return convert.decision_response(report)

        return await self._handle("GetDecision", request, context, body)

    async def ListDecisions(self, request: pb.ListDecisionsRequest,
                            context: Context) -> pb.ListDecisionsResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.ListDecisionsResponse:
            query = convert.decision_query(request)
            page, following = await self._blocking(self._reports.decisions, query,
                                                   request.page_token, who)
            line.update(decisions=len(page), more=bool(following))
            return pb.ListDecisionsResponse(
                decisions=[convert.decision_summary(d) for d in page],
                next_page_token=following)

        return await self._handle("ListDecisions", request, context, body)

    async def GetSavings(self, request: pb.GetSavingsRequest,
                         context: Context) -> pb.GetSavingsResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.GetSavingsResponse:
            since = convert.optional_time_us(request, "start_time")
            until = convert.optional_time_us(request, "end_time")
            report = await self._blocking(self._reports.savings, since, until,
                                          request.baseline_model, who)
            line.update(baseline=report.baseline, calls=report.total.calls,
                        savings_nanos=report.total.savings)
            return convert.savings_response(report)

        return await self._handle("GetSavings", request, context, body)

    async def QuerySpend(self, request: pb.QuerySpendRequest,
                         context: Context) -> pb.QuerySpendResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.QuerySpendResponse:
            query = convert.spend_query(request)
            rows, summed = await self._blocking(self._reports.spend, query, who)
            line.update(group_by=",".join(query.group_by), bucket=query.bucket.value,
                        rows=len(rows), cost_nanos=int(summed["cost_total"]))
            currency = self._reports.catalog.currency
            return pb.QuerySpendResponse(rows=[convert.spend_row(r, currency) for r in rows],
                                         total=convert.spend_row(summed, currency))

        return await self._handle("QuerySpend", request, context, body)

    async def ListFocusCharges(self, request: pb.ListFocusChargesRequest,
                               context: Context) -> pb.ListFocusChargesResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.ListFocusChargesResponse:
            query = convert.focus_query(request)
            charges, following = await self._blocking(self._reports.focus, query,
                                                      request.page_token, who)
            line.update(charges=len(charges), more=bool(following),
                        cost_nanos=sum(c.cost for c in charges))
            return pb.ListFocusChargesResponse(
                charges=[convert.focus_charge(c) for c in charges],
                next_page_token=following, focus_version=FOCUS_VERSION)

        return await self._handle("ListFocusCharges", request, context, body)
