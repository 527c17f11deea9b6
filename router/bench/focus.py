"""The FOCUS export at scale: fill a fresh store with N usage rows in one month (the spend
bench's traffic, default 1 million) and time a whole month's export, page by page as
ListFocusCharges reads it (`python -m router.bench.focus [--rows N] [--database-url URL]`).

Two timings: the store's pages alone (the keyset read along the time index), and the whole
path a page takes in the server and the CLI (the charges, their protobuf messages and back,
the FOCUS columns, CSV text). The exported cost must equal the ledger's sum over the month to
the nano; the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from router.api import convert
from router.bench.spend import MONTH, fill
from router.core import focus
from router.core.records import UsageQuery
from router.store.sql import SqlStore

PAGE = 5000  # the CLI's page size


def pages(store: SqlStore, render: bool) -> tuple[float, int, int, int]:
    """Seconds, usages, rows and exported nanos of the whole month."""
    started = time.perf_counter()
    after: tuple[int, str] | None = None
    usages = rows = nanos = 0
    while True:
        page = store.usages_between(UsageQuery(*MONTH, after=after, limit=PAGE))
        usages += len(page)
        charges = [c for u in page for c in focus.charges(u, *MONTH)]
        if render:
            back = [convert.focus_charge_of(convert.focus_charge(c), *MONTH) for c in charges]
            focus.to_csv([focus.columns(c) for c in back])
        rows += len(charges)
        nanos += sum(c.cost for c in charges)
        if len(page) < PAGE:
            return time.perf_counter() - started, usages, rows, nanos
        after = (page[-1].recorded_us, page[-1].usage_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="router.bench.focus", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="router-focus-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'focus.db'}"
        store = SqlStore(url, timeout_s=600)
        store.migrate()
        with store.engine.connect() as conn:
            existing = conn.execute(sa.text("SELECT count(*) FROM usages")).scalar_one()
        fill_s = fill(store, args.rows) if existing < args.rows else 0.0
        with store.engine.connect() as conn:
            ledger = int(conn.execute(sa.text(
                "SELECT coalesce(sum(cost_total), 0) FROM usages WHERE recorded_us >= :s "
                "AND recorded_us < :e"), {"s": MONTH[0], "e": MONTH[1]}).scalar_one())
        read_s, usages, rows, nanos = pages(store, render=False)
        full_s, _, _, rendered = pages(store, render=True)
        store.close()
    results = {
        "rows": args.rows, "database": store.engine.dialect.name, "fill_s": round(fill_s, 1),
        "usages": usages, "focus_rows": rows,
        "store_pages_s": round(read_s, 2), "store_usages_per_s": round(usages / read_s),
        "export_s": round(full_s, 2), "export_rows_per_s": round(rows / full_s),
        "reconciles": nanos == rendered == ledger,
    }
    print(f"month of {usages:,} usages: store pages {read_s:.1f} s, whole export {full_s:.1f} s "
          f"({rows:,} FOCUS rows, {rows / full_s:,.0f} rows/s)", file=sys.stderr)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
