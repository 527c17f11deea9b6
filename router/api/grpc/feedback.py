"""ReportFeedback at the gRPC edge: answered once its own transaction has committed."""

from __future__ import annotations

from typing import Any

from router import v1 as pb
from router.api import convert
from router.api.grpc.auth import Callers
from router.api.grpc.base import UNLOGGED, Context, Offload, RpcBase, log_keys
from router.auth import Principal
from router.service.feedback import FeedbackService


class FeedbackRpcs(RpcBase):
    def __init__(self, feedback: FeedbackService, offload: Offload, callers: Callers) -> None:
        super().__init__(offload, callers)
        self._feedback = feedback

    async def ReportFeedback(self, request: pb.ReportFeedbackRequest,
                             context: Context) -> pb.ReportFeedbackResponse:
        async def body(line: dict[str, Any], who: Principal) -> pb.ReportFeedbackResponse:
            inp = convert.feedback_input(request)
            line.update(feedback_id=inp.feedback_id, decision_id=inp.decision_id,
                        usage_id=inp.usage_id)
            # reads the call and writes in a transaction: off the loop, within the store's
            # bound (past it UNAVAILABLE; the write may still land, and the retry replays it)
            result = await self._blocking(self._feedback.report, inp, who)
            f = result.feedback
            if line is not UNLOGGED:
                line.update(decision_id=f.decision_id or "", model=f.model, score=f.score,
                            source=f.source, replayed=result.replayed,
                            **log_keys(f.attribution))
            return convert.feedback_response(result)

        return await self._handle("ReportFeedback", request, context, body)
