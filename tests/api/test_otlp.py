"""OTLP trace ingestion end to end: the OpenTelemetry SDK's own exporters (gRPC, and HTTP with
protobuf and gzip) pointed at a real server, their GenAI spans found in QuerySpend with the
right keys, tokens and costs; a re-export counting once; OTLP/JSON with hex ids; partial success
for the spans that cannot be recorded; the callers that may not report usage refused; and a
store outage answered UNAVAILABLE, so that the exporter retries."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpExporter,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode
from prometheus_client import REGISTRY

from router import v1 as pb
from router.client import connect, stub
from router.core.clock import ManualClock
from router.core.errors import StoreUnavailable
from tests.conftest import RunningServer, make_settings

TOKEN = "otlp-admin-token"
NOW_S = 1_795_867_200  # 2026-11-28 12:00 UTC, the server's clock
START_NS = (NOW_S - 60) * 10**9
USD = "USD"
# gpt-4o per 1M tokens: input 2.50, cached input 1.25, output 10 (models/catalog.toml)
CHAT = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 200}
CHAT_NANOS = 1000 * 2500 + 200 * 10_000  # 4.5 millidollars


@dataclass
class World:
    server: RunningServer
    admin: Any  # Router stub with the admin token
    keys: dict[str, str]  # finance, ops (team keys), reader (finance)

    def spend(self, agent: str, *dims: int) -> pb.QuerySpendResponse:
        return self.admin.QuerySpend(pb.QuerySpendRequest(
            start_time=Timestamp(seconds=NOW_S - 3600), end_time=Timestamp(seconds=NOW_S + 60),
            filter=pb.Attribution(agent=agent), group_by=list(dims)))

    def traces(self, key: str) -> tuple[grpc.Channel, Any]:
        channel = connect(self.server.address, key=key, tls=False)
        return channel, trace_service_pb2_grpc.TraceServiceStub(channel)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp("otlp")
    server = RunningServer(make_settings(tmp, admin_token=TOKEN, anomaly_interval_s=0.0),
                           ManualClock(NOW_S * 10**6))
    try:
        with connect(server.address, key=TOKEN, tls=False) as channel:
            admin = stub(channel)
            keys = {name: admin.CreateApiKey(pb.CreateApiKeyRequest(key=key)).secret
                    for name, key in (
                        ("finance", pb.ApiKey(role=pb.ROLE_TEAM, team="finance")),
                        ("ops", pb.ApiKey(role=pb.ROLE_TEAM, team="ops")),
                        ("reader", pb.ApiKey(role=pb.ROLE_READER, team="finance")))}
            yield World(server, admin, keys)
    finally:
        server.stop()


def make_spans(resource: dict[str, Any], *spans: dict[str, Any]) -> list[ReadableSpan]:
    """Spans as the SDK records them: each ``{"name", "attributes", "ms", "error"}`` a second
    after the last, lasting ``ms`` milliseconds."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests.otlp")
    for i, s in enumerate(spans):
        start = START_NS + i * 10**9
        span = tracer.start_span(s.get("name", "chat gpt-4o"), start_time=start,
                                 attributes=s.get("attributes", CHAT))
        if s.get("error"):
            span.set_status(Status(StatusCode.ERROR, "rate limited"))
        span.end(end_time=start + s.get("ms", 250) * 10**6)
    provider.shutdown()
    return list(memory.get_finished_spans())


def usage_id(span: ReadableSpan) -> str:
    return f"otlp:{span.context.trace_id:032x}:{span.context.span_id:016x}"


def counted(result: str) -> float:
    return REGISTRY.get_sample_value("router_otlp_spans_total", {"result": result}) or 0.0


def grpc_exporter(world: World, key: str, **options: Any) -> GrpcExporter:
    return GrpcExporter(endpoint=world.server.address, insecure=True, timeout=10,
                        headers=(("authorization", f"Bearer {key}"),) if key else None,
                        **options)


def http_exporter(world: World, key: str, **options: Any) -> HttpExporter:
    return HttpExporter(endpoint=world.server.http_url + "/v1/traces", timeout=10,
                        headers={"Authorization": f"Bearer {key}"} if key else None, **options)


def post(world: World, body: bytes, content_type: str, key: str | None,
         **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        world.server.http_url + "/v1/traces", data=body, method="POST",
        headers={"Content-Type": content_type, **({"Authorization": f"Bearer {key}"}
                                                   if key else {}), **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


# -- the SDK's exporters ---------------------------------------------------------------------

def test_genai_spans_from_the_grpc_exporter_are_spend_with_their_keys_tokens_and_costs(world):
    spans = make_spans(
        {"service.name": "reconciler", "router.team": "finance"},
        {"attributes": {**CHAT, "router.task_id": "inv-1", "enduser.id": "ana",
                        "router.label.env": "prod"}, "ms": 1500},
        {"attributes": {**CHAT, "gen_ai.usage.input_tokens": 2000,
                        "gen_ai.usage.cache_read.input_tokens": 1500,
                        "gen_ai.usage.output_tokens": 300,
                        "gen_ai.usage.reasoning.output_tokens": 100}, "error": True},
        {"attributes": {**CHAT, "gen_ai.usage.cost": "0.0123"}},
        {"name": "GET /ledger", "attributes": {"http.request.method": "GET"}},
        {"name": "invoke_agent reconciler",  # sums the calls above: not counted again
         "attributes": {**CHAT, "gen_ai.operation.name": "invoke_agent"}},
    )
    ignored = counted("ignored")
    assert grpc_exporter(world, TOKEN, compression=grpc.Compression.Gzip).export(spans) \
        == SpanExportResult.SUCCESS
    assert counted("ignored") == ignored + 2

    total = world.spend("reconciler").total
    assert total.calls == 3 and total.failures == 1
    assert (total.tokens.input, total.tokens.cached_input, total.tokens.output,
            total.tokens.reasoning) == (1000 + 500 + 1000, 1500, 200 + 200 + 200, 100)
    # gpt-4o has no reasoning price of its own: its reasoning tokens cost its output's
    second = 500 * 2500 + 1500 * 1250 + 200 * 10_000 + 100 * 10_000
    assert total.cost.total == pb.Money(currency_code=USD,
                                        nanos=CHAT_NANOS + second + 12_300_000)
    rows = world.spend("reconciler", pb.SPEND_DIMENSION_TEAM, pb.SPEND_DIMENSION_MODEL,
                       pb.SPEND_DIMENSION_PROVIDER, pb.SPEND_DIMENSION_TASK_ID,
                       pb.SPEND_DIMENSION_USER).rows
    assert {(r.team, r.model, r.provider, r.task_id, r.user, r.calls) for r in rows} == {
        ("finance", "gpt-4o", "openai", "inv-1", "ana", 1),
        ("finance", "gpt-4o", "openai", "", "", 2)}

    stored = world.server.app.store.get_usage(usage_id(spans[0]))
    assert stored is not None
    assert stored.attribution.labels == {"env": "prod"} and stored.attribution.agent \
        == "reconciler"
    assert stored.latency_ms == 1500 and stored.recorded_us == (START_NS + 1500 * 10**6) // 1000
    assert stored.decision_id is None  # observe-only: no Route, no hold


def test_re_exporting_the_same_spans_counts_them_once(world):
    spans = make_spans({"service.name": "retrier", "router.team": "finance"},
                       {"attributes": CHAT}, {"attributes": CHAT})
    exporter = grpc_exporter(world, world.keys["finance"])
    accepted = counted("accepted")
    for _ in range(3):  # the exporter's retries of a batch it heard nothing back for
        assert exporter.export(spans) == SpanExportResult.SUCCESS
    assert counted("accepted") == accepted + 6  # a replay is accepted, and records nothing
    total = world.spend("retrier").total
    assert total.calls == 2 and total.cost.total.nanos == 2 * CHAT_NANOS
    # the same spans over HTTP are the same usage too
    assert http_exporter(world, world.keys["finance"]).export(spans) == SpanExportResult.SUCCESS
    assert world.spend("retrier").total.calls == 2


def test_the_http_exporter_gzip_protobuf_and_a_team_key_fills_its_team(world):
    spans = make_spans({"service.name": "http-bot"}, {"attributes": CHAT}, {"attributes": CHAT})
    exporter = http_exporter(world, world.keys["finance"], compression=Compression.Gzip)
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    rows = world.spend("http-bot", pb.SPEND_DIMENSION_TEAM).rows
    assert [(r.team, r.calls, r.cost.total.nanos) for r in rows] == [
        ("finance", 2, 2 * CHAT_NANOS)]


# -- OTLP/JSON and raw requests --------------------------------------------------------------

def json_request(trace: str, span: str, agent: str, **overrides: Any) -> dict[str, Any]:
    """An OTLP/JSON body as the spec writes one: hex ids, enums as numbers, int64 as strings."""
    attrs = [{"key": "gen_ai.response.model", "value": {"stringValue": "gpt-4o"}},
             {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1000"}},
             {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 200}},
             {"key": "router.label.tags", "value": {"arrayValue": {"values": []}}}]
    span_doc = {"traceId": trace, "spanId": span, "parentSpanId": "", "name": "chat gpt-4o",
                "kind": 3, "startTimeUnixNano": str(START_NS),
                "endTimeUnixNano": str(START_NS + 400 * 10**6), "attributes": attrs,
                "status": {"code": 1}, "someFutureField": True, **overrides}
    return {"resourceSpans": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": agent}},
            {"key": "router.team", "value": {"stringValue": "finance"}}]},
        "scopeSpans": [{"scope": {"name": "manual"}, "spans": [span_doc]}]}]}


def test_otlp_json_with_hex_ids_plain_and_gzip(world):
    trace, span = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
    body = json.dumps(json_request(trace, span, "json-bot")).encode()
    # a string-valued label is required: the empty array is refused by name, the span alone
    status, headers, answer = post(world, body, "application/json", TOKEN)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    partial = json.loads(answer)["partialSuccess"]
    assert partial["rejectedSpans"] == "1" and "router.label.tags" in partial["errorMessage"]
    assert f"span {trace}:{span}" in partial["errorMessage"]

    doc = json_request(trace, span, "json-bot")
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"].pop()
    status, _, answer = post(world, gzip.compress(json.dumps(doc).encode()),
                             "application/json", TOKEN, **{"Content-Encoding": "gzip"})
    assert (status, json.loads(answer)) == (200, {})  # everything accepted: no partial success
    stored = world.server.app.store.get_usage(f"otlp:{trace}:{span}")  # the hex ids, as sent
    assert stored is not None and stored.latency_ms == 400 and stored.tokens.input == 1000


def test_a_body_that_is_no_request_is_invalid_argument_in_the_requests_encoding(world):
    bad_hex = json.dumps(json_request("not-hex", "eee19b7ec3c1b174", "x")).encode()
    status, _, answer = post(world, bad_hex, "application/json", TOKEN)
    assert status == 400
    assert "resourceSpans[0].scopeSpans[0].spans[0].traceId" in answer.decode()

    status, headers, answer = post(world, b"\xff\xff\xff", "application/x-protobuf", TOKEN)
    assert status == 400 and headers["Content-Type"].startswith("application/x-protobuf")
    assert status_pb2.Status.FromString(answer).code == grpc.StatusCode.INVALID_ARGUMENT.value[0]

    status, _, _ = post(world, b"not gzip", "application/x-protobuf", TOKEN,
                        **{"Content-Encoding": "gzip"})
    assert status == 400
    status, _, _ = post(world, b"{}", "text/plain", TOKEN)
    assert status == 415


# -- partial success -------------------------------------------------------------------------

def raw_span(name: str, attributes: dict[str, Any], *, trace: bytes = b"\x0a" * 16,
             span: bytes = b"\x01" * 8, end_ns: int = START_NS + 10**9) -> trace_pb2.Span:
    kvs = []
    for key, value in attributes.items():
        any_value = common_pb2.AnyValue()
        if isinstance(value, str):
            any_value.string_value = value
        else:
            any_value.int_value = value
        kvs.append(common_pb2.KeyValue(key=key, value=any_value))
    return trace_pb2.Span(trace_id=trace, span_id=span, name=name,
                          start_time_unix_nano=end_ns - 10**9, end_time_unix_nano=end_ns,
                          attributes=kvs)


def export_request(agent: str, *spans: trace_pb2.Span, team: str = "finance"
                   ) -> trace_service_pb2.ExportTraceServiceRequest:
    resource_attrs = [common_pb2.KeyValue(key="service.name",
                                          value=common_pb2.AnyValue(string_value=agent))]
    if team:
        resource_attrs.append(common_pb2.KeyValue(key="router.team",
                                                  value=common_pb2.AnyValue(string_value=team)))
    return trace_service_pb2.ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans(
        resource={"attributes": resource_attrs},
        scope_spans=[trace_pb2.ScopeSpans(spans=list(spans))])])


def test_spans_that_cannot_be_recorded_are_rejected_alone_and_named(world):
    good = raw_span("good", CHAT, span=b"\x01" * 8)
    unknown = raw_span("unknown", {**CHAT, "gen_ai.response.model": "mystery-9",
                                   "gen_ai.request.model": "mystery-9"}, span=b"\x02" * 8)
    negative = raw_span("negative", {**CHAT, "gen_ai.usage.output_tokens": -5},
                        span=b"\x03" * 8)
    too_old = raw_span("too old", CHAT, span=b"\x04" * 8,
                       end_ns=(NOW_S - 400 * 86_400) * 10**9)  # past max_backfill_days
    channel, traces = world.traces(TOKEN)
    with channel:
        answer = traces.Export(export_request("partial-bot", good, unknown, negative, too_old))
    partial = answer.partial_success
    assert partial.rejected_spans == 3
    message = partial.error_message
    assert "span 0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a:0202020202020202 'unknown'" in message
    assert "unknown model" in message and "'openai/mystery-9'" in message
    assert "gen_ai.usage.output_tokens: must not be negative" in message
    assert "'too old': end_time_unix_nano: must lie within the last 35 days" in message
    assert world.spend("partial-bot").total.calls == 1

    # the same over HTTP with protobuf: the answer in protobuf
    status, _, body = post(world, export_request("partial-bot", good, unknown)
                           .SerializeToString(), "application/x-protobuf", TOKEN)
    assert status == 200
    assert trace_service_pb2.ExportTraceServiceResponse.FromString(body) \
        .partial_success.rejected_spans == 1
    assert world.spend("partial-bot").total.calls == 1  # the good one replayed


def test_a_span_whose_id_holds_another_payload_is_rejected(world):
    first = raw_span("first", CHAT, trace=b"\x0b" * 16)
    changed = raw_span("changed", {**CHAT, "gen_ai.usage.output_tokens": 999},
                       trace=b"\x0b" * 16)
    channel, traces = world.traces(TOKEN)
    with channel:
        assert not traces.Export(export_request("conflict-bot", first)) \
            .HasField("partial_success")
        answer = traces.Export(export_request("conflict-bot", changed))
    assert answer.partial_success.rejected_spans == 1
    assert "different payload" in answer.partial_success.error_message


# -- who may export --------------------------------------------------------------------------

def test_callers_that_may_not_report_usage_are_refused(world):
    spans = make_spans({"service.name": "refused-bot", "router.team": "finance"},
                       {"attributes": CHAT})
    request = export_request("refused-bot", raw_span("s", CHAT, trace=b"\x0c" * 16))
    for key, code, http in (("", grpc.StatusCode.UNAUTHENTICATED, 401),
                            ("garbage", grpc.StatusCode.UNAUTHENTICATED, 401),
                            (world.keys["reader"], grpc.StatusCode.PERMISSION_DENIED, 403)):
        channel, traces = world.traces(key)
        with channel, pytest.raises(grpc.RpcError) as info:
            traces.Export(request)
        assert info.value.code() == code
        assert post(world, request.SerializeToString(), "application/x-protobuf", key)[0] \
            == http
        assert grpc_exporter(world, key).export(spans) == SpanExportResult.FAILURE
        assert http_exporter(world, key).export(spans) == SpanExportResult.FAILURE
    assert world.spend("refused-bot").total.calls == 0


def test_a_team_keys_spans_naming_another_team_are_rejected_like_its_report_usage(world):
    theirs = raw_span("theirs", CHAT, trace=b"\x0d" * 16, span=b"\x01" * 8)
    channel, traces = world.traces(world.keys["ops"])
    with channel:
        answer = traces.Export(export_request("team-bot", theirs, team="finance"))
        assert answer.partial_success.rejected_spans == 1
        assert "this key spends only as team 'ops'" in answer.partial_success.error_message
        # its own spans, with no team named, are the key's team's
        mine = raw_span("mine", CHAT, trace=b"\x0d" * 16, span=b"\x02" * 8)
        assert not traces.Export(export_request("team-bot", mine, team="")) \
            .HasField("partial_success")
    rows = world.spend("team-bot", pb.SPEND_DIMENSION_TEAM).rows
    assert [(r.team, r.calls) for r in rows] == [("ops", 1)]

    # finance re-sending ops's span: not its report, and not said to exist
    channel, traces = world.traces(world.keys["finance"])
    with channel:
        answer = traces.Export(export_request("team-bot", mine, team=""))
    assert answer.partial_success.rejected_spans == 1
    assert "outside this key's scope" in answer.partial_success.error_message


# -- the store away --------------------------------------------------------------------------

def test_a_store_outage_is_unavailable_and_the_retry_records_once(world, monkeypatch):
    request = export_request("outage-bot", raw_span("a", CHAT, trace=b"\x0e" * 16),
                             raw_span("b", CHAT, trace=b"\x0e" * 16, span=b"\x02" * 8))
    recorder = world.server.app.recorder
    real = recorder.record_usage
    queued = []

    def down_after_one(record):
        if queued:
            raise StoreUnavailable("the store is unreachable (test); retry with backoff")
        queued.append(record)
        return real(record)

    monkeypatch.setattr(recorder, "record_usage", down_after_one)
    channel, traces = world.traces(TOKEN)
    with channel:
        with pytest.raises(grpc.RpcError) as info:
            traces.Export(request)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        status, _, body = post(world, request.SerializeToString(), "application/x-protobuf",
                               TOKEN)
        assert status == 503  # which OTLP/HTTP exporters retry
        assert status_pb2.Status.FromString(body).code == grpc.StatusCode.UNAVAILABLE.value[0]
        monkeypatch.setattr(recorder, "record_usage", real)
        assert not traces.Export(request).HasField("partial_success")
    total = world.spend("outage-bot").total
    assert total.calls == 2 and total.cost.total.nanos == 2 * CHAT_NANOS


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_an_exporter_configured_as_the_readme_says(world, monkeypatch, protocol):
    """The SDK's standard variables, as the README sets them, and nothing in code."""
    endpoint = (f"http://{world.server.address}" if protocol == "grpc"
                else f"{world.server.http_url}/v1/traces")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", protocol)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                       f"authorization=Bearer%20{world.keys['finance']}")
    monkeypatch.setenv("OTEL_SERVICE_NAME", f"env-{protocol}")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "router.label.deployment=eu-1")
    exporter = GrpcExporter() if protocol == "grpc" else HttpExporter()
    spans = make_spans({}, {"attributes": CHAT})
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    rows = world.spend(f"env-{protocol}", pb.SPEND_DIMENSION_TEAM).rows
    assert [(r.team, r.calls) for r in rows] == [("finance", 1)]
    stored = world.server.app.store.get_usage(usage_id(spans[0]))
    assert stored is not None and stored.attribution.labels == {"deployment": "eu-1"}


def test_a_span_sent_twice_in_one_batch_is_recorded_once(world):
    same = raw_span("twice", CHAT, trace=b"\x0f" * 16)
    changed = raw_span("changed", {**CHAT, "gen_ai.usage.output_tokens": 1}, trace=b"\x0f" * 16,
                       span=b"\x02" * 8)
    changed_too = raw_span("changed", CHAT, trace=b"\x0f" * 16, span=b"\x02" * 8)
    channel, traces = world.traces(TOKEN)
    with channel:
        assert not traces.Export(export_request("twice-bot", same, same)) \
            .HasField("partial_success")
        answer = traces.Export(export_request("twice-bot", changed, changed_too))
    assert answer.partial_success.rejected_spans == 1
    assert "different payload" in answer.partial_success.error_message
    assert world.spend("twice-bot").total.calls == 2
