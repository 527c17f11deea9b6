"""How ``router.client`` fails and retries: the typed errors a call surfaces with, which codes
are transient, the backoff between attempts, and the idempotency keys every retry reuses."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

import grpc

# the RPCs that carry an idempotency key, and its field: filled in once per call when empty
IDEMPOTENCY_KEYS = {"Route": "request_id", "ReportUsage": "usage_id",
                    "ReportFeedback": "feedback_id"}
# safe to send twice: keyed, read-only, or setting a state (a DEADLINE_EXCEEDED is retried)
IDEMPOTENT = {*IDEMPOTENCY_KEYS, "ForecastBudget", "SetBudget", "PauseScope", "ResumeScope"}
_CODE_BY_VALUE = {c.value[0]: c for c in grpc.StatusCode}


def idempotent(method: str) -> bool:
    return method in IDEMPOTENT or method.startswith(("Get", "List", "Query"))


class RouterCallError(grpc.RpcError):
    """A call that failed for good: ``code()`` and ``details()`` as a ``grpc.RpcError`` has
    them, ``status`` the server's google.rpc.Status (None when it sent none), ``method`` and
    how many ``attempts`` were made."""

    def __init__(self, method: str, code: grpc.StatusCode, message: str,
                 status: Any = None, attempts: int = 1) -> None:
        super().__init__(f"{method}: {code.name}: {message}")
        self.method, self.status_code, self.message = method, code, message
        self.status, self.attempts = status, attempts

    def code(self) -> grpc.StatusCode:
        return self.status_code

    def details(self) -> str:
        return self.message

    def _detail(self, kind: Any) -> Any:
        for any_ in self.status.details if self.status is not None else ():
            if any_.Is(kind.DESCRIPTOR):
                found = kind()
                any_.Unpack(found)
                return found
        return None

    @property
    def retry_delay_s(self) -> float | None:
        """The server's RetryInfo.retry_delay in seconds; None when it gave none."""
        from google.rpc import error_details_pb2

        info = self._detail(error_details_pb2.RetryInfo)
        return None if info is None else info.retry_delay.ToMilliseconds() / 1000

    @property
    def field_violations(self) -> dict[str, str]:
        """BadRequest's fields at fault (INVALID_ARGUMENT): field -> description."""
        from google.rpc import error_details_pb2

        bad = self._detail(error_details_pb2.BadRequest)
        return {v.field: v.description for v in bad.field_violations} if bad else {}

    @property
    def quota_violations(self) -> dict[str, str]:
        """QuotaFailure's budgets (RESOURCE_EXHAUSTED): subject -> description."""
        from google.rpc import error_details_pb2

        quota = self._detail(error_details_pb2.QuotaFailure)
        return {v.subject: v.description for v in quota.violations} if quota else {}


class RouterUnavailable(RouterCallError):
    """The server stayed unavailable (or slow) through every retry the total time allowed."""


class RouteRefused(RouterCallError):
    """Route declined to choose a model: FAILED_PRECONDITION (a paused scope, or no model
    meets the constraints) or, as ``BudgetExhausted``, RESOURCE_EXHAUSTED."""


class BudgetExhausted(RouteRefused):
    """Nothing fits the budgets (or a throttled budget allows no call before the time bound);
    ``quota_violations`` names them, ``retry_delay_s`` says when one reopens, if known."""


def _status_of(err: Any) -> Any:
    from grpc_status import rpc_status

    try:
        return rpc_status.from_call(err)
    except (ValueError, TypeError, AttributeError):  # a status that disagrees with the call's
        return None


def failure(method: str, err: Any, attempts: int, exhausted: bool) -> RouterCallError:
    code = err.code() if callable(getattr(err, "code", None)) else grpc.StatusCode.UNKNOWN
    code = code if isinstance(code, grpc.StatusCode) else _CODE_BY_VALUE.get(code, code)
    kind: type[RouterCallError] = RouterCallError
    if method == "Route" and code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        kind = BudgetExhausted
    elif method == "Route" and code == grpc.StatusCode.FAILED_PRECONDITION:
        kind = RouteRefused
    elif exhausted and code != grpc.StatusCode.RESOURCE_EXHAUSTED:
        kind = RouterUnavailable
    message = err.details() or ""
    if code == grpc.StatusCode.UNAVAILABLE and not transient(method, err):
        message += (f" (not sent again: {method} is not idempotent and may have taken effect; "
                    "check before you repeat it)")
    return kind(method, code, message, _status_of(err), attempts)


@dataclass(frozen=True)
class Retry:
    """How a call is retried: attempts until ``total_s`` has passed (waits included), each
    wait drawn uniformly from [0, min(max_backoff_s, first_backoff_s * 2**n)] ("full
    jitter", so clients that failed together do not retry together), and never shorter than
    the server's RetryInfo. ``Retry(total_s=0)`` makes one attempt."""

    total_s: float = 30.0
    first_backoff_s: float = 0.05
    max_backoff_s: float = 2.0

    def wait(self, method: str, err: Any, attempt: int, left_s: float,
             rng: random.Random) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``; None when the error is final (not
        transient, or no time left to wait for what the server asked)."""
        if not transient(method, err):
            return None
        server = _retry_delay(err)
        backoff = rng.uniform(0, min(self.max_backoff_s, self.first_backoff_s * 2 ** attempt))
        wait = max(backoff, server or 0.0)
        return wait if wait < left_s else None


def _retry_delay(err: Any) -> float | None:
    return RouterCallError("", grpc.StatusCode.UNKNOWN, "", _status_of(err)).retry_delay_s


def transient(method: str, err: Any) -> bool:
    """Whether ``err`` may pass if ``method`` is sent again: UNAVAILABLE of an idempotent call,
    or the server's own UNAVAILABLE (its google.rpc.Status says it refused the call, so did
    nothing) of any call; DEADLINE_EXCEEDED of an idempotent call; RESOURCE_EXHAUSTED with a
    RetryInfo (a throttle, a full stream limit; one without is over budget or too large, and
    stays so). An UNAVAILABLE without the server's status (a connection lost while the call
    was in flight) may follow work done: a call that is not idempotent (CreateApiKey, say)
    is not sent again, lest a second key be made."""
    code = err.code()
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return _retry_delay(err) is not None
    if code == grpc.StatusCode.UNAVAILABLE:
        return idempotent(method) or _status_of(err) is not None
    return code == grpc.StatusCode.DEADLINE_EXCEEDED and idempotent(method)


def keyed(method: str, request: Any) -> Any:
    """``request`` with its idempotency key, generated when empty: the copy every attempt of
    this call sends, so the server records the call once however often it is retried."""
    field = IDEMPOTENCY_KEYS.get(method)
    if field is None or getattr(request, field):
        return request
    keyed = type(request)()
    keyed.CopyFrom(request)
    setattr(keyed, field, f"{method[0].lower()}-{uuid.uuid4().hex}")
    return keyed
