"""Scores over gRPC: ReportUsage's quality and ReportFeedback on a real server, their refusals
(the field named, NOT_FOUND, ALREADY_EXISTS), and what GetDecision and QuerySpend show of them."""

from __future__ import annotations

import math
import time

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from router import v1 as pb
from tests.api.test_e2e import bad_request_fields, rpc_error

TASK = "Summarise this paragraph in one sentence."


def invalid(call, request) -> list[str]:
    err = rpc_error(call, request, timeout=10)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
    return bad_request_fields(err)


def test_bad_scores_are_invalid_naming_the_field(stub):
    d = stub.Route(pb.RouteRequest(task_description=TASK, attribution=pb.Attribution(
        team="eng")), timeout=10)
    for quality in (math.nan, -0.1, 1.1):
        assert invalid(stub.ReportUsage, pb.ReportUsageRequest(
            usage_id="u1", decision_id=d.decision_id, quality=quality)) == ["quality"]
    base = {"feedback_id": "f1", "decision_id": d.decision_id, "score": 0.5}
    for change, field in (({"feedback_id": ""}, "feedback_id"),
                          ({"feedback_id": "a b"}, "feedback_id"),
                          ({"decision_id": ""}, "decision_id"),
                          ({"score": math.nan}, "score"), ({"score": -1.0}, "score"),
                          ({"score": 2.0}, "score"), ({"source": "x" * 65}, "source"),
                          ({"source": "no spaces"}, "source"),
                          ({"comment": "x" * 2001}, "comment"),
                          ({"occurred_at": Timestamp(seconds=int(time.time()) + 3600)},
                           "occurred_at")):
        assert invalid(stub.ReportFeedback, pb.ReportFeedbackRequest(
            **{**base, **change})) == [field], change
    assert invalid(stub.ReportFeedback, pb.ReportFeedbackRequest(
        feedback_id="f1", decision_id=d.decision_id)) == ["score"]  # required, 0 is a score


def test_feedback_is_recorded_once_and_shown_by_get_decision_and_query_spend(stub, server):
    d = stub.Route(pb.RouteRequest(task_description=TASK, attribution=pb.Attribution(
        team="eng", agent="bot")), timeout=10)
    used = stub.ReportUsage(pb.ReportUsageRequest(
        usage_id="u1", decision_id=d.decision_id, tokens=pb.TokenUsage(input=100, output=10),
        quality=0.5), timeout=10)
    assert not used.replayed
    scored = pb.ReportFeedbackRequest(feedback_id="f1", usage_id="u1", score=0.0,
                                      source="user", comment="wrong")
    first = stub.ReportFeedback(scored, timeout=10)
    assert first.decision_id == d.decision_id and not first.replayed
    again = stub.ReportFeedback(scored, timeout=10)
    assert again.replayed and again.recorded_at == first.recorded_at
    changed = rpc_error(stub.ReportFeedback, pb.ReportFeedbackRequest(
        feedback_id="f1", usage_id="u1", score=1.0), timeout=10)
    assert changed.code() is grpc.StatusCode.ALREADY_EXISTS
    stub.ReportFeedback(pb.ReportFeedbackRequest(feedback_id="f2", decision_id=d.decision_id,
                                                 score=1.0), timeout=10)
    for target in ({"decision_id": "d0000000000000000000000000"}, {"usage_id": "nope"}):
        missing = rpc_error(stub.ReportFeedback, pb.ReportFeedbackRequest(
            feedback_id="f3", score=0.5, **target), timeout=10)
        assert missing.code() is grpc.StatusCode.NOT_FOUND
    got = stub.GetDecision(pb.GetDecisionRequest(decision_id=d.decision_id), timeout=10)
    assert [u.quality for u in got.usages] == [0.5] and got.usages[0].HasField("quality")
    assert [(f.feedback_id, f.usage_id, f.score, f.source, f.comment) for f in got.feedback] \
        == [("f1", "u1", 0.0, "user", "wrong"), ("f2", "", 1.0, "", "")]
    assert got.quality.count == 3 and got.quality.mean == pytest.approx(0.5)
    server.app.recorder.flush()
    now = int(time.time())
    spend = stub.QuerySpend(pb.QuerySpendRequest(
        start_time=Timestamp(seconds=now - 3600), end_time=Timestamp(seconds=now + 3600),
        group_by=[pb.SPEND_DIMENSION_TEAM]), timeout=10)
    [row] = spend.rows
    assert (row.team, row.calls, row.quality_count) == ("eng", 1, 3)
    assert row.quality_mean == pytest.approx(0.5) and spend.total.quality_count == 3
