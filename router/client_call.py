"""``client.call(...)``: one routed LLM call as a context manager (the Route on enter, the
provider requests' usage recorded by the body, one ReportUsage on exit)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from router.client_errors import RouterCallError

if TYPE_CHECKING:
    from router.client import AsyncClient, Client


def _capability(value: Any) -> int:
    from router import v1 as pb

    if isinstance(value, str):  # "json", "CAPABILITY_JSON"
        name = value.upper()
        return int(pb.Capability.Value(name if name.startswith("CAPABILITY_")
                                       else f"CAPABILITY_{name}"))
    return int(value)


def route_request(task: str, *, team: str = "", agent: str = "", task_type: str = "",
                   task_id: str = "", user: str = "", labels: Mapping[str, str] | None = None,
                   remaining_budget: Any = None, quality_target: float | None = None,
                   capabilities: Sequence[Any] = (), min_context_tokens: int = 0,
                   allowed_models: Sequence[str] = (), excluded_models: Sequence[str] = (),
                   max_output_tokens: int | None = None,
                   estimated_input_tokens: int | None = None,
                   include_candidates: bool = False, request_id: str = "") -> Any:
    """The RouteRequest of ``call``/``route``'s arguments. ``remaining_budget``: integer nanos
    of the catalog's currency, or a ``Money``; ``capabilities`` by name ("json") or enum."""
    from router import v1 as pb

    req = pb.RouteRequest(
        request_id=request_id or f"r-{uuid.uuid4().hex}", task_description=task,
        attribution=pb.Attribution(team=team, agent=agent, task_type=task_type,
                                   task_id=task_id, user=user, labels=dict(labels or {})),
        capabilities=[_capability(c) for c in capabilities],
        min_context_tokens=min_context_tokens, allowed_models=list(allowed_models),
        excluded_models=list(excluded_models), include_candidates=include_candidates)
    if remaining_budget is not None:
        req.remaining_budget.CopyFrom(remaining_budget if isinstance(remaining_budget, pb.Money)
                                      else pb.Money(nanos=int(remaining_budget)))
    if quality_target is not None:
        req.quality_target = quality_target
    if max_output_tokens is not None:
        req.max_output_tokens = max_output_tokens
    if estimated_input_tokens is not None:
        req.estimated_input_tokens = estimated_input_tokens
    return req


class _Scope:
    """One routed LLM call: its decision on enter, what the body recorded, one usage on exit.

    ``model`` is the chosen model and ``models`` it then its fallbacks, to try in order;
    ``record(usage, model=..., tools=..., quality=...)`` notes what a provider request used
    (an OpenAI or Anthropic response or usage, a TokenUsage, or a dict; several records add
    up); on exit ReportUsage is sent once, under ``usage_id`` (the Route's request id +
    "/usage" unless given, so a rerun of the same step with the same request id is recorded
    once too): SUCCESS with what was recorded, or, if the body raised, FAILURE (the exception
    propagates). A refused Route raises RouteRefused (BudgetExhausted) on enter and reports
    nothing. ``receipt`` is the ReportUsageResponse, ``sent`` the request it answered."""

    def __init__(self, request: Any, usage_id: str | None,
                 monotonic: Callable[[], float]) -> None:
        from router import v1 as pb

        self.request = request
        self.usage_id = usage_id or f"{request.request_id}/usage"
        self.decision: Any = None
        self.receipt: Any = None
        self.sent: Any = None  # the ReportUsageRequest of the exit, as sent
        self.report_error: RouterCallError | None = None
        self._tokens = pb.TokenUsage()
        self._tools: dict[str, int] = {}
        self._model = ""
        self._quality: float | None = None
        self._outcome: int | None = None
        self._latency_ms: int | None = None
        self._monotonic = monotonic
        self._started = 0.0

    @property
    def model(self) -> str:
        return str(self.decision.model)

    @property
    def models(self) -> list[str]:
        return [self.decision.model, *self.decision.fallbacks]

    @property
    def decision_id(self) -> str:
        return str(self.decision.decision_id)

    def record(self, usage: Any = None, *, model: str | None = None,
               tools: Mapping[str, int] | Sequence[str] | None = None,
               quality: float | None = None, outcome: int | None = None,
               latency_ms: int | None = None) -> None:
        """Note a provider request's usage; ``model`` the one called (default: the routed
        one), ``tools`` its tool calls ({name: count} or names), ``quality`` a score in [0,
        1], ``outcome`` an explicit pb.Outcome, ``latency_ms`` instead of the measured one."""
        from router.client_usage import add, token_usage

        if usage is not None:
            add(self._tokens, token_usage(usage))
        if model is not None:
            self._model = model
        for name, count in (tools.items() if isinstance(tools, Mapping)
                            else ((t, 1) for t in tools or ())):
            self._tools[name] = self._tools.get(name, 0) + count
        if quality is not None:
            self._quality = quality
        if outcome is not None:
            self._outcome = outcome
        if latency_ms is not None:
            self._latency_ms = latency_ms

    def _entered(self, decision: Any) -> None:
        self.decision = decision
        self._started = self._monotonic()

    def _usage(self, failed: bool) -> Any:
        from router import v1 as pb

        outcome = pb.OUTCOME_FAILURE if failed else (self._outcome or pb.OUTCOME_SUCCESS)
        latency = self._latency_ms if self._latency_ms is not None else \
            round((self._monotonic() - self._started) * 1000)
        req = pb.ReportUsageRequest(
            usage_id=self.usage_id, decision_id=self.decision.decision_id,
            decision_token=self.decision.decision_token, model=self._model or self.model,
            tokens=self._tokens, outcome=outcome, latency_ms=latency,
            tool_calls=[pb.ToolCall(name=n, count=c) for n, c in sorted(self._tools.items())])
        if self._quality is not None:
            req.quality = self._quality
        self.sent = req
        return req

    def _reported(self, error: RouterCallError, failed: bool) -> None:
        """A report that failed for good: raised after a successful body, only kept (and
        logged) after a failed one, whose own exception is the one to see."""
        self.report_error = error
        if not failed:
            raise error
        logging.getLogger(__name__).warning("usage %s not reported: %s", self.usage_id, error)


class CallScope(_Scope):
    """``with client.call(task, ...) as call:`` (see ``_Scope``)."""

    def __init__(self, client: Client, request: Any, usage_id: str | None) -> None:
        super().__init__(request, usage_id, client._monotonic)
        self._client = client

    def __enter__(self) -> CallScope:
        self._entered(self._client.invoke("Route", self.request))
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        failed = kind is not None
        try:
            self.receipt = self._client.invoke("ReportUsage", self._usage(failed))
        except RouterCallError as error:
            self._reported(error, failed)


class AsyncCallScope(_Scope):
    """``async with client.call(task, ...) as call:`` (see ``_Scope``)."""

    def __init__(self, client: AsyncClient, request: Any, usage_id: str | None) -> None:
        super().__init__(request, usage_id, client._monotonic)
        self._client = client

    async def __aenter__(self) -> AsyncCallScope:
        self._entered(await self._client.invoke("Route", self.request))
        return self

    async def __aexit__(self, kind: Any, exc: Any, tb: Any) -> None:
        failed = kind is not None
        try:
            self.receipt = await self._client.invoke("ReportUsage", self._usage(failed))
        except RouterCallError as error:
            self._reported(error, failed)
