"""``router report focus``: a month of recorded usage as FinOps FOCUS 1.2 rows, CSV or Parquet.

    router report focus --period 2026-11 > focus-2026-11.csv
    router report focus --period 2026-11 --format parquet --out focus-2026-11.parquet

Pages through ListFocusCharges (a team's key gets its team's rows only) and writes each page as
it arrives, so a month of millions of calls never sits in memory. The columns and what each
holds are ``router.core.focus``'s; Parquet needs the ``parquet`` extra (pyarrow).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from decimal import Decimal
from typing import IO, Any, Protocol

from router.cli import common
from router.core import focus

PAGE_SIZE = 5000  # usages per ListFocusCharges page


class Writer(Protocol):
    def write(self, rows: list[dict[str, Any]]) -> None: ...

    def close(self) -> None: ...


def add_parser(kinds: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = kinds.add_parser("focus", help="recorded usage as FinOps FOCUS 1.2 rows (CSV, Parquet)",
                         description=__doc__,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--period", required=True, help="a calendar month, e.g. 2026-11")
    p.add_argument("--tz", default="UTC", help="IANA zone of the month's bounds")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv")
    p.add_argument("--out", default="-", help="file to write ('-': stdout, CSV only)")
    for key in ("team", "agent", "model", "provider"):
        p.add_argument(f"--{key}", default="", help=f"only this {key}")
    p.add_argument("--billing-account", default=focus.BillingAccount().id,
                   help="BillingAccountId (and Name) of the rows (default: %(default)s)")
    common.add_server_options(p)
    return p


def run(args: argparse.Namespace, start: datetime, end: datetime) -> int:
    import grpc

    from router import v1 as pb
    from router.api.convert import focus_charge_of

    if args.format == "parquet" and args.out == "-":
        raise common.UsageError("--format parquet needs --out FILE")
    request = pb.ListFocusChargesRequest(
        filter=pb.Attribution(team=args.team, agent=args.agent), model=args.model,
        provider=args.provider, page_size=PAGE_SIZE)
    request.start_time.FromDatetime(start)
    request.end_time.FromDatetime(end)
    start_us, end_us = request.start_time.ToMicroseconds(), request.end_time.ToMicroseconds()
    account = focus.BillingAccount(args.billing_account, args.billing_account)
    rows = usages = 0
    total = Decimal(0)
    with ExitStack() as stack:
        router = stack.enter_context(common.client(args))
        writer = _writer(args.format, args.out, stack)
        try:
            for page in _pages(router, request):
                out = [focus.columns(focus_charge_of(c, start_us, end_us), account)
                       for c in page.charges]
                writer.write(out)
                rows += len(out)
                usages += len({c.usage_id for c in page.charges})
                total += sum((r["BilledCost"] for r in out), Decimal(0))
        except grpc.RpcError as err:
            return common.rpc_failed("router report focus", err)
        writer.close()
    where = "stdout" if args.out == "-" else args.out
    print(f"router report focus: {rows} rows ({usages} usages), BilledCost "
          f"{focus.decimal_text(total)}, FOCUS {focus.FOCUS_VERSION} {args.format} to {where}",
          file=sys.stderr)
    return 0


def _pages(router: Any, request: Any) -> Iterator[Any]:
    while True:
        page = router.ListFocusCharges(request, timeout=60)
        yield page
        if not page.next_page_token:
            return
        request.page_token = page.next_page_token


def _writer(fmt: str, out: str, stack: ExitStack) -> Writer:
    if fmt == "parquet":
        return ParquetWriter(out)
    stream: IO[str] = sys.stdout if out == "-" else stack.enter_context(
        open(out, "w", newline="", encoding="utf-8"))  # noqa: SIM115 (closed by the stack)
    return CsvWriter(stream)


class CsvWriter:
    """FOCUS rows as CSV: the header, then one line per charge (``focus.to_csv``)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        stream.write(focus.to_csv([], header=True))

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._stream.write(focus.to_csv(rows))

    def close(self) -> None:
        pass


class ParquetWriter:
    """FOCUS rows as Parquet, one row group per page: decimals as decimal128(38, 9) (every
    cost to the nano, exactly), date-times as UTC microsecond timestamps, Tags as JSON text."""

    def __init__(self, path: str) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise common.UsageError("--format parquet needs pyarrow: pip install "
                                    "'cost-router[parquet]'") from None
        self._pa = pa
        types = {"string": pa.string(), "json": pa.string(),
                 "decimal": pa.decimal128(38, 9), "datetime": pa.timestamp("us", tz="UTC")}
        self.schema = pa.schema([(name, types[kind]) for name, kind in focus.COLUMNS.items()],
                                metadata={"focus_version": focus.FOCUS_VERSION})
        self._file = pq.ParquetWriter(path, self.schema)

    def write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = {}
        for name, kind in focus.COLUMNS.items():
            values = [r[name] for r in rows]
            if kind == "json":
                values = [None if v is None else focus.json_text(v) for v in values]
            columns[name] = values
        self._file.write_table(self._pa.table(columns, schema=self.schema))

    def close(self) -> None:
        self._file.close()
