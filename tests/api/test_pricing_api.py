"""Cache writes, memory, long-context tiers and deprecation through the real server: priced to
the nano, kept by the usage's idempotency, summed by QuerySpend, shown by ListModels."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from router import v1 as pb
from router.core.clock import ManualClock
from router.v1 import router_pb2_grpc
from tests.api.test_e2e import bad_request_fields, rpc_error
from tests.conftest import RunningServer, make_settings

NOW = 1_795_867_200  # 2026-11-28 12:00 UTC
SONNET = "claude-sonnet-4-5-20250929"
SHIPPED = Path(__file__).resolve().parents[2] / "models" / "catalog.toml"


def ts(seconds: int) -> Timestamp:
    return Timestamp(seconds=seconds)


@pytest.fixture
def clock():
    return ManualClock(NOW * 10**6)


@pytest.fixture
def catalog_path(tmp_path):
    """The shipped catalog with gpt-4o-mini deprecated a day after NOW."""
    text = SHIPPED.read_text().replace(
        'id = "gpt-4o-mini"\n', 'id = "gpt-4o-mini"\ndeprecated_after = 2026-11-29\n', 1)
    path = tmp_path / "catalog.toml"
    path.write_text(text)
    return path


@pytest.fixture
def stub(tmp_path, clock, catalog_path):
    server = RunningServer(make_settings(tmp_path, catalog_path=str(catalog_path)), clock)
    channel = grpc.insecure_channel(server.address)
    yield router_pb2_grpc.RouterStub(channel)
    channel.close()
    server.stop()


def usage(usage_id: str = "u-1", **tokens: int) -> pb.ReportUsageRequest:
    counts = {"input": 1_000, "output": 500, "cache_write": 20_000, **tokens}
    return pb.ReportUsageRequest(
        usage_id=usage_id, model=SONNET, attribution=pb.Attribution(team="eng", agent="a"),
        tokens=pb.TokenUsage(**counts),
        compute=pb.Compute(cpu_seconds=2, memory_gb_seconds=1_920),
        outcome=pb.OUTCOME_SUCCESS)


def test_cache_writes_and_memory_are_priced_recorded_once_and_summed(stub):
    resp = stub.ReportUsage(usage())
    # tokens: 1,000 x $3 + 20,000 x $3.75 (cache write) + 500 x $15 per 1M = $0.0855
    assert resp.cost.tokens.nanos == 85_500_000
    # compute: 2 CPU-s x 11,240 nanos + 1,920 GB-s x 16,667 nanos
    assert resp.cost.compute.nanos == 22_480 + 32_000_640
    again = stub.ReportUsage(usage())
    assert again.replayed and again.cost == resp.cost
    err = rpc_error(stub.ReportUsage, usage(cache_write=20_001))
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    spend = stub.QuerySpend(pb.QuerySpendRequest(start_time=ts(NOW - 3600),
                                                 end_time=ts(NOW + 3600)))
    assert spend.total.calls == 1 and spend.total.tokens.cache_write == 20_000
    assert spend.total.cost.total.nanos == resp.cost.total.nanos


def test_a_prompt_past_the_tier_is_priced_at_the_tier(stub):
    # 150,000 + 40,000 cached + 20,000 written > 200,000: the whole call at $6 / $0.60 / $7.50 /
    # $22.50 = 900,000 + 24,000 + 150,000 + 22,500 (1,000 output) = 1,096,500 x 1,000 nanos
    resp = stub.ReportUsage(usage("u-long", input=150_000, cached_input=40_000, output=1_000))
    assert resp.cost.tokens.nanos == 1_096_500_000


@pytest.mark.parametrize(("field", "request_"), [
    ("tokens.cache_write", usage(cache_write=-1)),
    ("compute.memory_gb_seconds",
     pb.ReportUsageRequest(usage_id="u", model=SONNET, attribution=pb.Attribution(team="t"),
                           compute=pb.Compute(memory_gb_seconds=float("nan")))),
])
def test_bad_cache_writes_and_memory_name_their_field(stub, field, request_):
    err = rpc_error(stub.ReportUsage, request_)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in bad_request_fields(err)


def test_list_models_shows_cache_write_prices_tiers_and_deprecation(stub):
    models = {m.id: m for m in stub.ListModels(pb.ListModelsRequest()).models}
    sonnet = models[SONNET]
    assert sonnet.cache_write_price_per_mtok.nanos == 3_750_000_000
    (tier,) = sonnet.tiers
    assert tier.above_input_tokens == 200_000 and tier.output_price_per_mtok.nanos == 22_500_000_000
    assert models["gpt-4o-mini"].deprecated_after.ToSeconds() == NOW + 12 * 3600
    assert not models["gpt-4o"].HasField("deprecated_after")


def test_a_deprecated_model_is_not_routed_from_its_date_on(stub, clock):
    def routed() -> str:
        return stub.Route(pb.RouteRequest(
            task_description="Say hello.", attribution=pb.Attribution(team="eng"),
            quality_target=0.0, allowed_models=["gpt-4o-mini", "gpt-4o"])).model

    assert routed() == "gpt-4o-mini"  # the cheaper while it is not deprecated
    clock.advance(seconds=12 * 3600)
    assert routed() == "gpt-4o"
    # its usage is still priced
    late = stub.ReportUsage(pb.ReportUsageRequest(
        usage_id="u-mini", model="gpt-4o-mini", attribution=pb.Attribution(team="eng"),
        tokens=pb.TokenUsage(input=1_000_000), outcome=pb.OUTCOME_SUCCESS))
    assert late.cost.tokens.nanos == 150_000_000
