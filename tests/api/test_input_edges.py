"""Hostile input at the edge (issue 11): every bad field is INVALID_ARGUMENT naming it, never
INTERNAL, a metadata overflow on the client, or a silent transport refusal."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from router import v1 as pb
from router.client import bearer, connect, stub
from tests.api.test_e2e import bad_request_fields, rpc_error
from tests.conftest import RunningServer, make_settings

TOKEN = "t"
ADMIN = bearer(TOKEN)
UNIT = 10**9
START, END = Timestamp(seconds=1_700_000_000), Timestamp(seconds=1_700_086_400)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = RunningServer(make_settings(tmp_path, admin_token=TOKEN))
    yield running
    running.stop()


@pytest.fixture
def router(server: RunningServer) -> Iterator[object]:
    with connect(server.address) as channel:
        yield stub(channel)


def invalid_fields(call, request, **kwargs) -> list[str]:
    err = rpc_error(call, request, timeout=10, **kwargs)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
    return bad_request_fields(err)


def budget(**fields) -> pb.Budget:
    return pb.Budget(**{"id": "b", "limit": pb.Money(nanos=UNIT),
                        "window": pb.BUDGET_WINDOW_DAY, **fields})


# -- 7: time zones longer than a file name --------------------------------------------------------

@pytest.mark.parametrize("name", ["x" * 256, "Europe/" + "x" * 300, "America", "zone.tab"])
def test_an_impossible_time_zone_is_invalid_argument_naming_it(router, name):
    assert invalid_fields(router.SetBudget, pb.SetBudgetRequest(budget=budget(time_zone=name)),
                          metadata=ADMIN) == ["budget.time_zone"]
    assert invalid_fields(router.QuerySpend, pb.QuerySpendRequest(
        start_time=START, end_time=END, time_zone=name)) == ["time_zone"]
