"""Domain errors -> google.rpc.Status with details, in one place."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from router.core.errors import (
    BudgetExhausted,
    Conflict,
    InvalidRequest,
    NotFound,
    Overloaded,
    PermissionDenied,
    PreconditionFailed,
    RouterError,
    StoreUnavailable,
    Unauthenticated,
)

_CODES: list[tuple[type[RouterError], int]] = [
    (InvalidRequest, code_pb2.INVALID_ARGUMENT),
    (NotFound, code_pb2.NOT_FOUND),
    (Conflict, code_pb2.ALREADY_EXISTS),
    (BudgetExhausted, code_pb2.RESOURCE_EXHAUSTED),
    (Overloaded, code_pb2.RESOURCE_EXHAUSTED),
    (PreconditionFailed, code_pb2.FAILED_PRECONDITION),
    (StoreUnavailable, code_pb2.UNAVAILABLE),
    (Unauthenticated, code_pb2.UNAUTHENTICATED),
    (PermissionDenied, code_pb2.PERMISSION_DENIED),
]


def _pack(message: object) -> any_pb2.Any:
    detail = any_pb2.Any()
    detail.Pack(message)  # type: ignore[arg-type]
    return detail


def to_status(error: RouterError) -> grpc.Status:
    """The wire status for a domain error, with BadRequest/QuotaFailure/RetryInfo details."""
    code = next((c for kind, c in _CODES if isinstance(error, kind)), code_pb2.INTERNAL)
    details: list[any_pb2.Any] = []
    if isinstance(error, InvalidRequest):
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations
        ])))
    elif isinstance(error, BudgetExhausted):
        if error.violations:
            details.append(_pack(error_details_pb2.QuotaFailure(violations=[
                error_details_pb2.QuotaFailure.Violation(subject=v.subject,
                                                         description=v.description)
                for v in error.violations
            ])))
        if error.retry_after_seconds is not None:
            details.append(_pack(_retry_info(error.retry_after_seconds)))
    elif isinstance(error, Overloaded):
        details.append(_pack(_retry_info(error.retry_after_seconds)))
    elif isinstance(error, StoreUnavailable):
        details.append(_pack(_retry_info(0.1)))
    return rpc_status.to_status(status_pb2.Status(code=code, message=str(error), details=details))


def _retry_info(seconds: float) -> error_details_pb2.RetryInfo:
    delay = duration_pb2.Duration()
    delay.FromMilliseconds(max(0, round(seconds * 1000)))
    return error_details_pb2.RetryInfo(retry_delay=delay)


def internal_status() -> grpc.Status:
    """What a client sees of a bug: a generic message, never a stack trace."""
    return rpc_status.to_status(status_pb2.Status(
        code=code_pb2.INTERNAL, message="internal error; it has been logged"))
