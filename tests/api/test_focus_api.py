"""The FOCUS export of a simulated month: `router report focus` writes CSV and Parquet that carry
FOCUS 1.2's columns with their types and reconcile with QuerySpend to the nano; the same charges
over gRPC and HTTP, and its bad requests named."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import grpc
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from router import simulate as sim
from router import v1 as pb
from router.cli import main
from router.core import focus
from router.core.clock import ManualClock
from router.v1 import router_pb2_grpc
from tests.api.http.client import Http
from tests.api.test_e2e import bad_request_fields, rpc_error
from tests.conftest import RunningServer, make_settings

NOV_S = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
DEC_S = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp())


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, int]]:
    """A server holding the small scenario's traffic for the 30 days of November 2026."""
    tmp = tmp_path_factory.mktemp("focus")
    server = RunningServer(make_settings(tmp), ManualClock((DEC_S + 3600) * 10**6))
    try:
        truth = sim.simulate(server.address, sim.scenario("small", days=30), seed=7,
                             now_us=DEC_S * 10**6)
        assert truth.calls > 3000 and not truth.errors
        yield server, truth.calls
    finally:
        server.stop()


@pytest.fixture(scope="module")
def stub(month) -> Iterator[router_pb2_grpc.RouterStub]:
    with grpc.insecure_channel(month[0].address) as channel:
        yield router_pb2_grpc.RouterStub(channel)


def spend(stub, **filters: str) -> pb.SpendRow:
    request = pb.QuerySpendRequest(start_time={"seconds": NOV_S}, end_time={"seconds": DEC_S},
                                   filter=pb.Attribution(**filters))
    return stub.QuerySpend(request).total


def export(server: RunningServer, out: Path, *extra: str) -> int:
    return main(["report", "focus", "--period", "2026-11", "--address", server.address,
                 "--out", str(out), *extra])


def test_the_csv_export_has_focus_columns_and_reconciles_to_the_nano(month, stub, tmp_path,
                                                                      capsys):
    server, calls = month
    out = tmp_path / "focus.csv"
    assert export(server, out) == 0
    with out.open(newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == list(focus.COLUMNS)
        rows = list(reader)
    total = spend(stub)
    assert sum(Decimal(r["BilledCost"]) for r in rows) * 10**9 == total.cost.total.nanos > 0
    for name in ("EffectiveCost", "ListCost", "ContractedCost"):
        assert sum(Decimal(r[name]) for r in rows) * 10**9 == total.cost.total.nanos
    assert sum(Decimal(r["BilledCost"]) for r in rows if r["x_CostKind"] == "tools") \
        * 10**9 == total.cost.tools.nanos > 0
    tokens = [r for r in rows if r["x_CostKind"] == "tokens"]
    assert len(tokens) == total.calls == calls  # the simulation is all in November
    assert sum(int(r["x_InputTokens"]) for r in tokens) == total.tokens.input
    for row in rows:
        for name in focus.MANDATORY:
            assert row[name] != "", name
        for name, kind in focus.COLUMNS.items():
            value = row[name]
            if not value:
                continue
            if kind == "decimal":
                assert "E" not in value and Decimal(value) == Decimal(value)
            elif kind == "datetime":
                assert value.endswith("Z") and datetime.fromisoformat(value)
            elif kind == "json":
                assert isinstance(json.loads(value), dict)
        assert row["BillingPeriodStart"] == "2026-11-01T00:00:00Z"
        assert row["BillingPeriodEnd"] == "2026-12-01T00:00:00Z"
        assert row["ChargePeriodStart"] < row["ChargePeriodEnd"]
        assert json.loads(row["Tags"])["router/team"] == row["SubAccountId"]
    assert f"{len(rows)} rows ({calls} usages)" in capsys.readouterr().err
    # one team's rows are that team's QuerySpend
    team = tokens[0]["SubAccountId"]
    mine = tmp_path / "team.csv"
    assert export(server, mine, "--team", team) == 0
    with mine.open(newline="") as f:
        theirs = list(csv.DictReader(f))
    assert {r["SubAccountId"] for r in theirs} == {team}
    assert sum(Decimal(r["BilledCost"]) for r in theirs) * 10**9 == \
        spend(stub, team=team).cost.total.nanos


def test_the_parquet_export_types_each_column_and_reconciles_to_the_nano(month, stub,
                                                                          tmp_path):
    server, calls = month
    out = tmp_path / "focus.parquet"
    assert export(server, out, "--format", "parquet", "--billing-account", "acme-agents") == 0
    table = pq.read_table(out)
    assert table.schema.names == list(focus.COLUMNS)
    want = {"string": pa.string(), "json": pa.string(), "decimal": pa.decimal128(38, 9),
            "datetime": pa.timestamp("us", tz="UTC")}
    for name, kind in focus.COLUMNS.items():
        assert table.schema.field(name).type == want[kind], name
    for name in focus.MANDATORY:
        assert table.column(name).null_count == 0, name
    billed = sum(table.column("BilledCost").to_pylist(), Decimal(0))
    assert billed * 10**9 == spend(stub).cost.total.nanos
    assert set(table.column("BillingAccountId").to_pylist()) == {"acme-agents"}
    assert table.column("x_CostKind").to_pylist().count("tokens") == calls
    assert table.schema.metadata[b"focus_version"] == b"1.2"


def test_parquet_needs_a_file(month, capsys):
    assert main(["report", "focus", "--period", "2026-11", "--format", "parquet",
                 "--address", month[0].address]) == 2
    assert "--out FILE" in capsys.readouterr().err


def test_the_charges_over_grpc_and_http_are_the_same_pages(month, stub):
    server, _ = month
    request = pb.ListFocusChargesRequest(start_time={"seconds": NOV_S},
                                         end_time={"seconds": DEC_S}, page_size=25)
    first = stub.ListFocusCharges(request)
    assert first.focus_version == "1.2" and first.next_page_token
    assert len({c.usage_id for c in first.charges}) == 25
    assert {c.cost_kind for c in first.charges} <= set(focus.KINDS)
    answer = Http(server.http_url).get(
        "/v1/ListFocusCharges?startTime=2026-11-01T00:00:00Z&endTime=2026-12-01T00:00:00Z"
        "&pageSize=25")
    assert answer.status == 200, answer.text
    body = answer.json
    assert [c["usageId"] for c in body["charges"]] == [c.usage_id for c in first.charges]
    assert body["nextPageToken"] == first.next_page_token
    request.page_token = first.next_page_token
    second = stub.ListFocusCharges(request)
    assert not {c.usage_id for c in first.charges} & {c.usage_id for c in second.charges}


@pytest.mark.parametrize(("request_", "field"), [
    (pb.ListFocusChargesRequest(end_time={"seconds": DEC_S}), "start_time"),
    (pb.ListFocusChargesRequest(start_time={"seconds": NOV_S}), "end_time"),
    (pb.ListFocusChargesRequest(start_time={"seconds": DEC_S}, end_time={"seconds": NOV_S}),
     "end_time"),
    (pb.ListFocusChargesRequest(start_time={"seconds": NOV_S}, end_time={"seconds": DEC_S},
                                page_size=10_001), "page_size"),
    (pb.ListFocusChargesRequest(start_time={"seconds": NOV_S}, end_time={"seconds": DEC_S},
                                page_token="bm90LWEtdG9rZW4"), "page_token"),
    (pb.ListFocusChargesRequest(start_time={"seconds": NOV_S}, end_time={"seconds": DEC_S},
                                filter=pb.Attribution(labels={"env": "prod"})),
     "filter.labels"),
])
def test_a_bad_request_is_invalid_argument_naming_its_field(stub, request_, field):
    err = rpc_error(stub.ListFocusCharges, request_)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in bad_request_fields(err)
