"""``GET /v1/focus.csv``: the FOCUS export as a download, scoped by the caller's key, its bad
queries answered 400, and a failure after the first row a truncated transfer, never a short
file that looks whole."""

from __future__ import annotations

import asyncio
import csv
import io
from decimal import Decimal

import aiohttp
import grpc
import pytest
from aiohttp import web

from router import v1 as pb
from router.api.http.context import Aborted
from router.api.http.focus import FocusCsv
from router.client import connect, stub
from router.core import focus
from tests.api.http.conftest import TEAM, TOKEN, Served

PERIOD = "2026-11"  # the served clock is 2026-11-28 12:00 UTC


def seed(served: Served) -> None:
    with connect(served.server.address, key=TOKEN, tls=False) as channel:
        admin = stub(channel)
        for i, team in enumerate((TEAM, TEAM, "legal")):
            admin.ReportUsage(pb.ReportUsageRequest(
                usage_id=f"u-{i}", model="gpt-4o-mini",
                attribution=pb.Attribution(team=team, agent="bot", user=f"u{i}@x.example"),
                tokens=pb.TokenUsage(input=1000 * (i + 1), output=100),
                tool_calls=[pb.ToolCall(name="web_search")]))


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_download_is_the_callers_scope_as_focus_csv(served: Served):
    seed(served)
    everything = served.http.get(f"/v1/focus.csv?period={PERIOD}", TOKEN)
    assert everything.status == 200, everything.text
    assert everything.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert everything.headers["Content-Disposition"] == \
        f'attachment; filename="focus-{PERIOD}.csv"'
    assert everything.text.splitlines()[0].split(",") == list(focus.COLUMNS)
    assert {r["SubAccountId"] for r in rows(everything.text)} == {TEAM, "legal"}
    mine = rows(served.http.get(f"/v1/focus.csv?period={PERIOD}&billingAccount=acme",
                                served.team_key).text)
    assert {r["SubAccountId"] for r in mine} == {TEAM}
    assert {r["BillingAccountId"] for r in mine} == {"acme"}
    with connect(served.server.address, key=served.team_key, tls=False) as channel:
        total = stub(channel).QuerySpend(pb.QuerySpendRequest(
            start_time={"seconds": 1_793_491_200}, end_time={"seconds": 1_796_083_200})).total
    assert sum(Decimal(r["BilledCost"]) for r in mine) * 10**9 == total.cost.total.nanos > 0
    # the same as the range spelled out
    ranged = served.http.get("/v1/focus.csv?startTime=2026-11-01T00:00:00Z"
                             "&endTime=2026-12-01T00:00:00Z", served.team_key)
    assert ranged.headers["Content-Disposition"] == 'attachment; filename="focus.csv"'

    def unbilled(found: list[dict[str, str]]) -> list[dict[str, str]]:
        return [{k: v for k, v in r.items() if not k.startswith("BillingAccount")}
                for r in found]

    assert unbilled(rows(ranged.text)) == unbilled(mine) and len(mine) == 4  # 2 x (tokens, tools)


@pytest.mark.parametrize(("query", "says"), [
    ("", "startTime is required"),
    ("period=2026-13", "period must be a calendar month"),
    ("period=2026-1", "period must be a calendar month"),
    ("period=2026-11&startTime=2026-11-01T00:00:00Z", "not both"),
    ("startTime=yesterday&endTime=2026-12-01T00:00:00Z", "startTime must be an RFC 3339"),
    ("period=2026-11&colour=red", "unknown parameter 'colour'"),
    ("period=2026-11&team=" + "t" * 200, "filter.team"),
])
def test_a_bad_query_is_400_saying_what(served: Served, query: str, says: str):
    answer = served.http.get(f"/v1/focus.csv?{query}", TOKEN)
    assert answer.status == 400 and says in answer.text, answer.text


def test_no_key_is_401_and_a_post_405(served: Served):
    assert served.http.get(f"/v1/focus.csv?period={PERIOD}").status == 401
    assert served.http.post("/v1/focus.csv", {}, TOKEN).status == 405


def test_a_failure_after_the_first_page_truncates_the_transfer():
    """The servicer refuses the second page (a key revoked meanwhile, the store gone): the
    client must see a broken transfer, not a complete file of one page."""
    calls = []

    async def list_charges(request, context):
        calls.append(request.page_token)
        if request.page_token:
            raise Aborted(grpc.StatusCode.UNAVAILABLE, "the store is unavailable", ())
        return pb.ListFocusChargesResponse(next_page_token="next", charges=[pb.FocusCharge(
            usage_id="u1", cost_kind="tokens", cost=pb.Money(currency_code="USD", nanos=5),
            consumed_quantity="10", consumed_unit="Tokens")])

    async def go() -> str:
        server = web.Server(FocusCsv(list_charges))
        runner = web.ServerRunner(server)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with aiohttp.ClientSession() as session, session.get(
                    f"http://127.0.0.1:{port}/v1/focus.csv?period=2026-11") as r:
                assert r.status == 200
                with pytest.raises(aiohttp.ClientPayloadError):
                    await r.read()
                return "truncated"
        finally:
            await runner.cleanup()

    assert asyncio.run(go()) == "truncated"
    assert calls == ["", "next"]
