"""``GET /v1/focus.csv``: the FOCUS export as a CSV download, for a browser or ``curl``.

    curl -H "Authorization: Bearer $KEY" "http://127.0.0.1:8080/v1/focus.csv?period=2026-11"

The query names the range (``period=2026-11``, a UTC month, or ``startTime`` and ``endTime``
as RFC 3339) and may filter (``team``, ``agent``, ``model``, ``provider``); ``billingAccount``
names the rows' BillingAccountId. The pages come from the gRPC edge's own ListFocusCharges (its
authentication, scopes, checks and log line, once per page) and are written as they arrive. A
refusal before the first row is answered like any call's (its HTTP status and Status JSON);
a failure after it cuts the response short, without its final chunk, so no client takes a
partial month for a whole one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from google.rpc import code_pb2

from router import v1 as pb
from router.api.convert import focus_charge_of
from router.api.http import codec
from router.api.http.context import Aborted, HttpContext
from router.api.http.edge import failed, problem
from router.core import focus

PATH = "/v1/focus.csv"
PAGE_SIZE = 5000
_FILTERS = ("team", "agent", "model", "provider")
_KNOWN = frozenset({"period", "startTime", "endTime", "billingAccount", *_FILTERS})

ListCharges = Callable[[Any, Any], Awaitable[Any]]


class FocusCsv:
    """``await download(request)`` answers one ``GET /v1/focus.csv``."""

    def __init__(self, list_charges: ListCharges) -> None:
        self._list = list_charges

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        built = _request(request.query)
        if isinstance(built, str):
            return problem(code_pb2.INVALID_ARGUMENT, built)
        query, account, name = built
        start_us = query.start_time.ToMicroseconds()
        end_us = query.end_time.ToMicroseconds()
        authorization = request.headers.get("Authorization")
        try:
            page = await self._list(query, HttpContext(request, authorization))
        except Aborted as exc:
            return failed(codec.status_of(exc.code, exc.details, exc.trailing_metadata))
        response = web.StreamResponse(headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Focus-Version": focus.FOCUS_VERSION})
        response.enable_chunked_encoding()
        await response.prepare(request)
        header = True
        while True:
            rows = [focus.columns(focus_charge_of(c, start_us, end_us), account)
                    for c in page.charges]
            await response.write(focus.to_csv(rows, header=header).encode())
            header = False
            if not page.next_page_token:
                break
            query.page_token = page.next_page_token
            try:
                page = await self._list(query, HttpContext(request, authorization))
            except Aborted:
                # the status line is gone: end without the last chunk, a truncated transfer
                if request.transport is not None:
                    request.transport.close()
                return response
        await response.write_eof()
        return response


def _request(params: Any) -> tuple[pb.ListFocusChargesRequest, focus.BillingAccount, str] | str:
    """The first page's request, the billing account and the file's name; or why not."""
    unknown = sorted(set(params) - _KNOWN)
    if unknown:
        return f"unknown parameter {unknown[0][:40]!r} (known: {', '.join(sorted(_KNOWN))})"
    req = pb.ListFocusChargesRequest(page_size=PAGE_SIZE, model=params.get("model", ""),
                                     provider=params.get("provider", ""),
                                     filter=pb.Attribution(team=params.get("team", ""),
                                                           agent=params.get("agent", "")))
    period = params.get("period", "")
    if period:
        if "startTime" in params or "endTime" in params:
            return "give period or startTime and endTime, not both"
        try:
            start_us, end_us = focus.month_us(period)
        except ValueError as exc:
            return f"period {exc}"
        req.start_time.FromMicroseconds(start_us)
        req.end_time.FromMicroseconds(end_us)
        name = f"focus-{period}.csv"
    else:
        for key, target in (("startTime", req.start_time), ("endTime", req.end_time)):
            if key not in params:
                return f"{key} is required (or give period=YYYY-MM)"
            try:
                target.FromJsonString(params[key])
            except ValueError:
                return f"{key} must be an RFC 3339 time like 2026-11-01T00:00:00Z"
        name = "focus.csv"
    account = params.get("billingAccount", "") or focus.BillingAccount().id
    if len(account) > 128:
        return "billingAccount must be at most 128 characters"
    return req, focus.BillingAccount(account, account), name
