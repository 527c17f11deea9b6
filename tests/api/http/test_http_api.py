"""The JSON API over HTTP: the URL scheme derived from the service descriptor, the proto's
canonical JSON mapping both ways, refusals as HTTP statuses with google.rpc.Status bodies (and
their details), authentication by the Authorization header, idempotent replays, and the
request edges (content type, JSON, size, methods, paths)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format

from router import v1 as pb
from router.api.grpc import SERVICE
from router.api.http.routes import routes
from router.client import bearer, stub
from tests.api.http.conftest import NOW_S, TEAM, TOKEN, Served, serve

TASK = "Summarise this paragraph in one sentence."
DAY_S = 86_400


def rfc3339(seconds: int) -> str:
    return json_format.MessageToDict(pb.QuerySpendRequest(
        start_time={"seconds": seconds}))["startTime"]


def camel_keys(value: object) -> list[str]:
    """Every key at any depth of a JSON value that is not lowerCamelCase."""
    if isinstance(value, dict):
        bad = [k for k in value if "_" in k or (k[:1].isupper() and k != "@type")]
        return bad + [b for v in value.values() for b in camel_keys(v)]
    if isinstance(value, list):
        return [b for v in value for b in camel_keys(v)]
    return []


def violation_fields(status: dict) -> list[str]:
    return [v.get("field", "") for d in status.get("details", [])
            if d["@type"].endswith("google.rpc.BadRequest") for v in d["fieldViolations"]]


# -- the URL scheme ------------------------------------------------------------------------------

def test_every_rpc_of_the_service_descriptor_is_served(served: Served):
    """POST /v1/{Method} for every unary RPC (GET for the streaming one): each reaches its
    servicer, which refuses a call without a key now that a key exists (401, its Status),
    never a 404 or 405 of the HTTP layer; GET /v1/ lists them all."""
    for method in SERVICE.methods:
        if method.server_streaming:
            answer = served.http.get(f"/v1/{method.name}")
        else:
            answer = served.http.post(f"/v1/{method.name}", {})
        assert answer.status == 401, (method.name, answer.text)
        assert answer.json["code"] == 16 and answer.headers["WWW-Authenticate"] == "Bearer"
    index = served.http.get("/v1/").json["methods"]
    assert [m["name"] for m in index] == [m.name for m in SERVICE.methods]


def test_the_table_follows_the_descriptor_so_a_new_rpc_needs_no_edit():
    """A service with RPCs the router does not have: each gets its route, by its kind."""
    proto = descriptor_pb2.FileDescriptorProto(name="x/v1/x.proto", package="x.v1",
                                               syntax="proto3")
    proto.message_type.add(name="Req")
    proto.message_type.add(name="Resp")
    service = proto.service.add(name="X")
    service.method.add(name="DoThing", input_type=".x.v1.Req", output_type=".x.v1.Resp")
    service.method.add(name="ListThings", input_type=".x.v1.Req", output_type=".x.v1.Resp")
    service.method.add(name="WatchThings", input_type=".x.v1.Req", output_type=".x.v1.Resp",
                       server_streaming=True)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    table = routes(pool.FindServiceByName("x.v1.X"))
    assert {p: (r.methods, r.streaming) for p, r in table.items()} == {
        "/v1/DoThing": (("POST",), False), "/v1/ListThings": (("POST", "GET"), False),
        "/v1/WatchThings": (("GET",), True)}
    router = routes(SERVICE)
    assert set(router) == {f"/v1/{m.name}" for m in SERVICE.methods}
    assert router["/v1/QuerySpend"].methods == ("POST", "GET")
    assert router["/v1/Route"].methods == ("POST",)


def test_unknown_paths_wrong_methods_and_the_root(served: Served):
    for path in ("/v1/Nope", "/v2/Route", "/v1/route"):
        answer = served.http.post(path, {}, served.team_key)
        assert answer.status == 404 and answer.json["code"] == 5, (path, answer.text)
    answer = served.http.post("/", {}, served.team_key)  # the dashboard's page: GET only
    assert answer.status == 405 and answer.headers["Allow"] == "GET"
    answer = served.http.get("/v1/Route", served.team_key)
    assert answer.status == 405 and answer.headers["Allow"] == "POST"
    assert answer.json["code"] == 12
    answer = served.http.post("/v1/WatchAnomalies", {}, served.team_key)
    assert answer.status == 405 and answer.headers["Allow"] == "GET"
    assert served.http.request("DELETE", "/v1/QuerySpend").headers["Allow"] == "POST, GET"


# -- the JSON mapping ---------------------------------------------------------------------------

def test_responses_are_the_canonical_json_of_the_grpc_answer(served: Served):
    """A Route replayed (same request_id) over gRPC and over HTTP: the HTTP body is exactly
    MessageToDict of the gRPC response: lowerCamelCase names, int64 as strings."""
    request = {"requestId": "canon-1", "taskDescription": TASK,
               "attribution": {"agent": "bot", "taskId": "t-1"}, "includeCandidates": True}
    fresh = served.http.post("/v1/Route", request, served.team_key)
    assert fresh.status == 200 and fresh.headers["Content-Type"].startswith(
        "application/json")
    assert camel_keys(fresh.json) == [] and len(fresh.json["candidates"]) > 1
    replay = stub(served.grpc).Route(json_format.ParseDict(request, pb.RouteRequest()),
                                     metadata=bearer(served.team_key), timeout=10)
    body = served.http.post("/v1/Route", request, served.team_key).json
    assert body == json_format.MessageToDict(replay)
    assert body["decisionId"] == fresh.json["decisionId"]
    assert camel_keys(body) == [] and "decision_id" not in body
    assert isinstance(body["predicted"]["inputTokens"], str)  # int64, as the mapping says
    assert isinstance(body["predicted"]["cost"]["nanos"], str)
    assert body["reason"]["code"].startswith("REASON_CODE_")  # enums by name
    # a request may use the proto names too (json_format accepts both)
    snake = served.http.post("/v1/Route", {"request_id": "canon-1", "task_description": TASK,
                                           "attribution": {"agent": "bot", "task_id": "t-1"},
                                           "include_candidates": True}, served.team_key)
    assert snake.json == body


def test_route_report_then_the_spend_shows_in_query_spend(served: Served):
    """The orchestrator's loop in JSON: the team is filled from the team key, the usage is
    priced and charged, and QuerySpend (POST and its GET alias) shows the call and its cost."""
    http, key = served.http, served.team_key
    decision = http.post("/v1/Route", {"requestId": "loop-1", "taskDescription": TASK,
                                       "attribution": {"agent": "reconciler"}}, key).json
    receipt = http.post("/v1/ReportUsage", {
        "usageId": "loop-1-call-1", "decisionId": decision["decisionId"],
        "tokens": {"input": "1200", "output": 300}, "outcome": "OUTCOME_SUCCESS",
        "latencyMs": 850}, key)
    assert receipt.status == 200, receipt.text
    cost = receipt.json["cost"]["total"]["nanos"]
    assert int(cost) > 0 and receipt.json["decisionId"] == decision["decisionId"]
    query = {"startTime": rfc3339(NOW_S - DAY_S), "endTime": rfc3339(NOW_S + 3600),
             "groupBy": ["SPEND_DIMENSION_TEAM", "SPEND_DIMENSION_AGENT"]}
    served.server.app.recorder.flush()
    spend = http.post("/v1/QuerySpend", query, key).json
    assert spend["total"]["calls"] == "1" and spend["total"]["cost"]["total"]["nanos"] == cost
    [row] = spend["rows"]
    assert (row["team"], row["agent"]) == (TEAM, "reconciler")
    alias = http.get("/v1/QuerySpend?startTime={}&endTime={}&groupBy=SPEND_DIMENSION_TEAM"
                     "&group_by=SPEND_DIMENSION_AGENT".format(query["startTime"],
                                                                query["endTime"]), key)
    assert alias.status == 200 and alias.json == spend
    decided = http.get(f"/v1/GetDecision?decisionId={decision['decisionId']}", key).json
    assert decided["attribution"]["team"] == TEAM
    assert [u["usageId"] for u in decided["usages"]] == ["loop-1-call-1"]


def test_list_decisions_pages_over_http_as_over_grpc(served: Served):
    """The drill-down's read: a team key's decisions newest first (POST and its GET alias),
    page after page by nextPageToken, each with its usage's cost and outcome; bad paging
    fields are 400 naming the field."""
    http, key = served.http, served.team_key
    made = []
    for i in range(5):
        served.clock.advance(seconds=1 if i != 3 else 0)  # the 3rd and 4th share a time
        made.append(http.post("/v1/Route", {"taskDescription": TASK, "attribution": {
            "agent": "reconciler" if i % 2 else "auditor", "taskType": "match"}},
            key).json["decisionId"])
    http.post("/v1/ReportUsage", {"usageId": "listed-1", "decisionId": made[0],
                                  "tokens": {"input": "100"}, "outcome": "OUTCOME_FAILURE"},
              key)
    served.server.app.recorder.flush()
    seen, token, pages = [], "", 0
    while True:
        body = {"pageSize": 2, **({"pageToken": token} if token else {})}
        page = http.post("/v1/ListDecisions", body, key)
        assert page.status == 200, page.text
        seen += page.json.get("decisions", [])
        token, pages = page.json.get("nextPageToken", ""), pages + 1
        if not token:
            break
    assert pages == 3 and len({d["decisionId"] for d in seen}) == 5
    over_grpc = stub(served.grpc).ListDecisions(pb.ListDecisionsRequest(page_size=10),
                                               metadata=bearer(key), timeout=10)
    assert seen == json_format.MessageToDict(over_grpc)["decisions"]
    assert {d["attribution"]["team"] for d in seen} == {TEAM}
    oldest = seen[-1]
    assert oldest["decisionId"] == made[0] and oldest["outcome"] == "OUTCOME_FAILURE"
    assert oldest["usageCount"] == "1" and int(oldest["actualCost"]["nanos"]) > 0
    assert "actualCost" not in seen[0] and "outcome" not in seen[0]
    alias = http.get("/v1/ListDecisions?filter.agent=reconciler&pageSize=10", key)
    assert [d["decisionId"] for d in alias.json["decisions"]] == [made[3], made[1]]
    for query, field in (("pageSize=-1", "page_size"), ("pageSize=501", "page_size"),
                         ("pageToken=bm90LWEtdG9rZW4", "page_token")):
        bad = http.get(f"/v1/ListDecisions?{query}", key)
        assert bad.status == 400 and violation_fields(bad.json) == [field], bad.text
    other = http.post("/v1/ListDecisions", {"filter": {"team": "legal"}}, key)
    assert other.status == 403 and "filter.team" in other.json["message"]


def test_replays_are_idempotent_and_a_reused_id_is_a_conflict(served: Served):
    http, key = served.http, served.team_key
    route = {"requestId": "again-1", "taskDescription": TASK, "attribution": {"agent": "a"}}
    first = http.post("/v1/Route", route, key).json
    assert http.post("/v1/Route", route, key).json["decisionId"] == first["decisionId"]
    other = http.post("/v1/Route", {**route, "taskDescription": "Something else."}, key)
    assert other.status == 409 and other.json["code"] == 6
    usage = {"usageId": "again-u1", "decisionId": first["decisionId"],
             "tokens": {"input": "100", "output": "10"}}
    once = http.post("/v1/ReportUsage", usage, key).json
    twice = http.post("/v1/ReportUsage", usage, key).json
    assert twice.pop("replayed") is True and "replayed" not in once
    assert twice == once
    changed = http.post("/v1/ReportUsage", {**usage, "tokens": {"input": "101"}}, key)
    assert changed.status == 409 and changed.json["code"] == 6
    assert "different payload" in changed.json["message"]


# -- refusals -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("payload", "field", "words"), [
    ({"taskDescription": TASK, "qualityTarget": 2}, "quality_target", "between 0 and 1"),
    ({"taskDescription": TASK, "attribution": {"tam": "x"}}, "attribution.tam", "no field"),
    ({"taskDescription": TASK, "nope": 1}, "nope", "no field named"),
    ({"taskDescription": TASK, "capabilities": ["CAPABILITY_NOPE"]}, "capabilities",
     "Invalid enum value"),
    ({"taskDescription": TASK, "minContextTokens": "many"}, "min_context_tokens", "many"),
    ({"taskDescription": TASK, "remainingBudget": {"nanos": "x"}}, "remaining_budget.nanos",
     "x"),
    ({"taskDescription": "a\u0000b"}, "task_description", "NUL"),
    ({"taskDescription": TASK, "remainingBudget": {"currencyCode": "usd", "nanos": "9"}},
     "remaining_budget.currency_code", "USD"),
])
def test_an_invalid_request_is_400_naming_the_field(served: Served, payload: dict, field: str,
                                                    words: str):
    answer = served.http.post("/v1/Route", payload, served.team_key)
    assert answer.status == 400, answer.text
    status = answer.json
    assert status["code"] == 3 and words in status["message"], status
    assert violation_fields(status) == [field], status


def test_budget_refusals_carry_quota_failure_and_pauses_are_failed_precondition(
        served: Served):
    http, key = served.http, served.team_key
    poor = http.post("/v1/Route", {"taskDescription": TASK, "attribution": {"agent": "a"},
                                   "remainingBudget": {"nanos": "1"}}, key)
    assert poor.status == 429 and poor.json["code"] == 8
    [detail] = poor.json["details"]
    assert detail["@type"] == "type.googleapis.com/google.rpc.QuotaFailure"
    assert detail["violations"][0]["subject"] == "remaining_budget"
    paused = http.post("/v1/PauseScope", {"scope": {"team": TEAM, "agent": "loopy"},
                                          "reason": "runaway"}, key)
    assert paused.status == 200 and paused.json["paused"]["scope"]["agent"] == "loopy"
    refused = http.post("/v1/Route", {"taskDescription": TASK,
                                      "attribution": {"agent": "loopy"}}, key)
    assert refused.status == 400 and refused.json["code"] == 9  # FAILED_PRECONDITION
    assert "runaway" in refused.json["message"]


def test_an_exhausted_budget_is_429_with_quota_failure_and_retry_after(served: Served):
    http, key = served.http, served.team_key
    made = http.post("/v1/SetBudget", {"budget": {
        "id": "tiny", "scope": {"team": TEAM, "agent": "spender"},
        "limit": {"currencyCode": "USD", "nanos": "1"}, "window": "BUDGET_WINDOW_DAY"}}, key)
    assert made.status == 200, made.text
    answer = http.post("/v1/Route", {"taskDescription": TASK,
                                     "attribution": {"agent": "spender"}}, key)
    assert answer.status == 429, answer.text
    types = {d["@type"].rpartition(".")[2] for d in answer.json["details"]}
    assert "QuotaFailure" in types
    if "RetryInfo" in types:
        assert int(answer.headers["Retry-After"]) >= 0
    status = http.get("/v1/GetBudgetStatus?id=tiny", key).json
    assert status["budgetId"] == "tiny" and status["limit"]["nanos"] == "1"


def test_credentials_come_from_the_authorization_header(served: Served):
    http = served.http
    assert http.post("/v1/ListModels", {}).status == 401
    for header in ("Bearer not-a-key", "Basic dXNlcjpwYXNz", served.team_key):
        answer = http.request("POST", "/v1/ListModels", b"{}", {
            "Content-Type": "application/json", "Authorization": header})
        assert answer.status == 401 and answer.json["code"] == 16, header
    assert http.post("/v1/ListModels", {}, served.team_key).status == 200
    assert http.post("/v1/ListModels", {}, TOKEN).status == 200
    # a team key may not administer (403); another team's decision is refused in the same
    # words as one that does not exist (as over gRPC)
    assert http.post("/v1/ListApiKeys", {}, served.team_key).status == 403
    other = http.post("/v1/Route", {"taskDescription": TASK,
                                    "attribution": {"team": "ops", "agent": "x"}}, TOKEN).json
    hidden = http.get(f"/v1/GetDecision?decisionId={other['decisionId']}", served.team_key)
    missing = http.get("/v1/GetDecision?decisionId=nonexistent00000000000000", served.team_key)
    assert hidden.status == missing.status == 403 and hidden.json == missing.json
    assert http.post("/v1/Route", {"taskDescription": TASK, "attribution": {"team": "ops"}},
                     served.team_key).status == 403


def test_the_body_must_be_a_json_object_of_the_right_content_type(served: Served):
    http, auth = served.http, {"Authorization": f"Bearer {served.team_key}"}
    cases = [
        (b'{"taskDescription": "x"}', "text/plain", "application/json"),
        (b'{"taskDescription": "x"}', None, "application/json"),
        (b'{"taskDescription": ', "application/json", "not valid JSON"),
        (b'[{"taskDescription": "x"}]', "application/json", "JSON object"),
        (b'"x"', "application/json", "JSON object"),
        (b'\xff{}', "application/json", "UTF-8"),
        (b'{"taskDescription": "x", "taskDescription": "y"}', "application/json", "duplicate"),
    ]
    for body, content_type, words in cases:
        headers = {**auth, **({"Content-Type": content_type} if content_type else {})}
        answer = http.request("POST", "/v1/Route", body, headers)
        assert answer.status == 400 and words in answer.json["message"], (body, answer.text)
    # ...but only a caller with a valid key learns that (authentication comes first)
    answer = http.request("POST", "/v1/Route", b"{", {"Content-Type": "application/json"})
    assert answer.status == 401
    # an empty body is the empty request; a JSON subtype is JSON
    assert http.request("POST", "/v1/ListModels", b"", auth).status == 200
    assert http.request("POST", "/v1/ListModels", b"{}", {
        **auth, "Content-Type": "application/merge-patch+json"}).status == 200


def test_query_strings_map_onto_the_request_fields(served: Served):
    http, key = served.http, served.team_key
    every = http.get("/v1/ListModels?includeDisabled=true", key).json["models"]
    enabled = http.get("/v1/ListModels?include_disabled=false", key).json["models"]
    assert len(every) >= len(enabled) > 0
    for query, field in (("nope=1", "nope"), ("filter.tam=x", "filter.tam"),
                         ("includeDisabled=yes", "include_disabled")):
        path = "/v1/ListModels?" if "filter" not in query and "nope" not in query else (
            "/v1/QuerySpend?")
        answer = http.get(path + query, key)
        assert answer.status == 400 and violation_fields(answer.json) == [field], answer.text
    labels = http.get(f"/v1/QuerySpend?startTime={rfc3339(NOW_S - 60)}"
                      f"&endTime={rfc3339(NOW_S)}&filter.labels.env=prod", key)
    assert labels.status == 200, labels.text


def test_sizes_are_bounded_as_over_grpc(tmp_path: Path):
    """Up to twice ROUTER_MAX_MESSAGE_BYTES a too large request is INVALID_ARGUMENT naming
    its largest field (the gRPC edge's parser's words); beyond, 413 unread."""
    for served in serve(tmp_path, max_message_bytes=4096):
        http, key = served.http, served.team_key
        answer = http.post("/v1/Route", {"taskDescription": "x" * 5000}, key)
        assert answer.status == 400 and violation_fields(answer.json) == ["task_description"]
        assert "ROUTER_MAX_MESSAGE_BYTES" in answer.json["message"]
        answer = http.post("/v1/Route", {"taskDescription": "x" * 9000}, key)
        assert answer.status == 413 and answer.json["code"] == 8
        chunked = http.request("POST", "/v1/Route", _chunks(b'{"taskDescription": "'
                                                            + b"x" * 9000 + b'"}'),
                               {"Content-Type": "application/json",
                                "Authorization": f"Bearer {key}"})
        assert chunked.status == 413


def _chunks(data: bytes):
    async def gen():
        for i in range(0, len(data), 1000):
            yield data[i:i + 1000]
    return gen()


def test_a_deadline_header_bounds_the_call(served: Served):
    http, key = served.http, served.team_key
    ok = http.request("POST", "/v1/ListModels", b"", {
        "Authorization": f"Bearer {key}", "X-Server-Timeout": "5"})
    assert ok.status == 200
    bad = http.request("POST", "/v1/ListModels", b"", {
        "Authorization": f"Bearer {key}", "X-Server-Timeout": "soon"})
    assert bad.status == 400 and "X-Server-Timeout" in bad.json["message"]


def test_every_refusal_body_is_a_status(served: Served):
    """Whatever refuses a call (the HTTP layer or the servicer), the body is a
    google.rpc.Status in JSON: code, message, details."""
    from google.rpc import status_pb2
    for answer in (served.http.post("/v1/Nope", {}), served.http.get("/v1/Route"),
                   served.http.post("/v1/Route", {"taskDescription": ""}, served.team_key),
                   served.http.post("/v1/ListApiKeys", {}, served.team_key)):
        status = json_format.Parse(answer.text, status_pb2.Status())
        assert status.code and status.message
        assert json.loads(answer.text).keys() <= {"code", "message", "details"}
