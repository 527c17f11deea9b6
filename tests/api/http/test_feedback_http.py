"""ReportFeedback over HTTP/JSON: served like every RPC, by the same servicer as gRPC."""

from __future__ import annotations

from tests.api.http.conftest import Served

TASK = "Summarise this paragraph in one sentence."


def test_feedback_over_http(served: Served):
    http, key = served.http, served.team_key
    decision = http.post("/v1/Route", {"taskDescription": TASK,
                                       "attribution": {"agent": "bot"}}, key).json
    body = {"feedbackId": "fb-1", "decisionId": decision["decisionId"], "score": 0.8,
            "source": "user", "comment": "good"}
    first = http.post("/v1/ReportFeedback", body, key)
    assert first.status == 200, first.text
    assert first.json["decisionId"] == decision["decisionId"] and "replayed" not in first.json
    assert http.post("/v1/ReportFeedback", body, key).json["replayed"] is True
    changed = http.post("/v1/ReportFeedback", {**body, "score": 0.1}, key)
    assert changed.status == 409
    bad = http.post("/v1/ReportFeedback", {**body, "feedbackId": "fb-2", "score": 1.5}, key)
    assert bad.status == 400 and "score" in bad.text
    assert http.get("/v1/ReportFeedback", key).status == 405  # a write: POST only
    decided = http.get(f"/v1/GetDecision?decisionId={decision['decisionId']}", key).json
    assert [f["feedbackId"] for f in decided["feedback"]] == ["fb-1"]
    assert decided["quality"] == {"mean": 0.8, "count": "1"}
