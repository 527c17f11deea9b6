"""The retry policy on its own: which errors are transient, the jittered exponential backoff, the
server's RetryInfo as the floor, the total bound; and the keys filled in once per call."""

from __future__ import annotations

import random

import grpc
import pytest
from grpc_status import rpc_status

from router import v1 as pb
from router.api.errors import to_status
from router.client_errors import Retry, failure, keyed, transient
from router.core.errors import BudgetExhausted, Overloaded, StoreUnavailable


class Err(grpc.RpcError):
    """A failed call as grpc hands it over, trailers (the google.rpc.Status) included."""

    def __init__(self, code: grpc.StatusCode, status: grpc.Status | None = None) -> None:
        self._code, self._status = code, status

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._status.details if self._status else "no details"

    def trailing_metadata(self):
        return self._status.trailing_metadata if self._status else ()


def server_error(error: Exception) -> Err:
    """What the server sends for a domain error (router.api.errors, the one mapping)."""
    status = to_status(error)
    return Err(status.code, status)


@pytest.mark.parametrize(("code", "method", "expected"), [
    (grpc.StatusCode.UNAVAILABLE, "Route", True),
    (grpc.StatusCode.UNAVAILABLE, "ListApiKeys", True),
    # a connection lost in flight: the key may have been made
    (grpc.StatusCode.UNAVAILABLE, "CreateApiKey", False),
    (grpc.StatusCode.DEADLINE_EXCEEDED, "Route", True),
    (grpc.StatusCode.DEADLINE_EXCEEDED, "ReportUsage", True),
    (grpc.StatusCode.DEADLINE_EXCEEDED, "QuerySpend", True),
    (grpc.StatusCode.DEADLINE_EXCEEDED, "CreateApiKey", False),  # may have made a key
    (grpc.StatusCode.DEADLINE_EXCEEDED, "DetectAnomalies", False),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, "Route", False),  # no RetryInfo: over budget
    (grpc.StatusCode.INVALID_ARGUMENT, "Route", False),
    (grpc.StatusCode.ALREADY_EXISTS, "ReportUsage", False),
    (grpc.StatusCode.INTERNAL, "ReportUsage", False),
])
def test_what_is_transient(code, method, expected):
    assert transient(method, Err(code)) is expected


def test_the_servers_own_unavailable_is_transient_for_any_call():
    assert transient("CreateApiKey", server_error(StoreUnavailable("the store is down")))


def test_resource_exhausted_with_retry_info_is_transient():
    assert transient("Route", server_error(BudgetExhausted("throttled", retry_after_seconds=2)))
    assert transient("WatchAnomalies", server_error(Overloaded("too many streams")))


def test_backoff_doubles_under_full_jitter_up_to_its_cap():
    policy = Retry(first_backoff_s=0.1, max_backoff_s=0.5)
    err = Err(grpc.StatusCode.UNAVAILABLE)
    for attempt, cap in [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.5), (8, 0.5)]:
        waits = [policy.wait("Route", err, attempt, 60, random.Random(seed))
                 for seed in range(200)]
        assert all(0 <= w <= cap for w in waits)
        assert max(waits) > cap * 0.9 and min(waits) < cap * 0.1  # spread over the range


def test_the_servers_retry_info_is_the_shortest_wait():
    err = server_error(StoreUnavailable("store down"))  # the server's 100 ms RetryInfo
    waits = [Retry().wait("ReportUsage", err, 0, 60, random.Random(s)) for s in range(50)]
    assert min(waits) == pytest.approx(0.1) and max(waits) <= 0.1


def test_no_wait_past_the_time_left_nor_for_a_final_error():
    throttled = server_error(BudgetExhausted("throttled", retry_after_seconds=5))
    assert Retry().wait("Route", throttled, 0, 4.9, random.Random(1)) is None
    assert Retry().wait("Route", throttled, 0, 6.0, random.Random(1)) == pytest.approx(5)
    assert Retry().wait("Route", Err(grpc.StatusCode.INVALID_ARGUMENT), 0, 60,
                        random.Random(1)) is None


def test_failures_keep_the_code_details_and_status():
    err = server_error(StoreUnavailable("store down"))
    gave_up = failure("ReportUsage", err, 7, exhausted=True)
    assert type(gave_up).__name__ == "RouterUnavailable" and gave_up.attempts == 7
    assert gave_up.code() == grpc.StatusCode.UNAVAILABLE and gave_up.details() == "store down"
    assert gave_up.status == rpc_status.from_call(err) and gave_up.retry_delay_s == 0.1
    refused = failure("Route", server_error(BudgetExhausted("no room", retry_after_seconds=60)),
                      1, exhausted=True)
    assert type(refused).__name__ == "BudgetExhausted" and refused.retry_delay_s == 60


def test_keys_are_filled_once_and_a_given_key_is_kept():
    request = pb.ReportUsageRequest(decision_id="d1")
    first = keyed("ReportUsage", request)
    assert first.usage_id and not request.usage_id  # the caller's request is left alone
    assert keyed("ReportUsage", first) is first  # a retry sends the same
    assert keyed("ReportUsage", request).usage_id != first.usage_id  # another call, another
    given = pb.ReportFeedbackRequest(feedback_id="mine")
    assert keyed("ReportFeedback", given).feedback_id == "mine"
    assert keyed("QuerySpend", pb.QuerySpendRequest()) == pb.QuerySpendRequest()
