"""``router models``: the catalog with its prices."""

from __future__ import annotations

import argparse
import sys

from router.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser("models", help="show the model catalog")
    models.add_argument("--catalog", default=Settings().catalog_path)


def run(args: argparse.Namespace) -> int:
    path = args.catalog
    from rich.console import Console
    from rich.table import Table

    from router.core.catalog import CatalogError, load_catalog
    from router.core.money import Money

    try:
        catalog = load_catalog(path)
    except CatalogError as exc:
        print(f"router models: {exc}", file=sys.stderr)
        return 2
    table = Table(title=f"{len(catalog)} models, prices in {catalog.currency} per 1M tokens")
    for col in ("id", "provider", "input", "cached", "output", "context", "capabilities"):
        table.add_column(col)
    for m in sorted(catalog, key=lambda m: (m.prices.input + m.prices.output, m.id)):
        table.add_row(
            m.id + ("" if m.enabled else " (disabled)"), m.provider,
            *(f"{Money(n, '').to_decimal().normalize():f}"
              for n in (m.prices.input, m.prices.cached_input, m.prices.output)),
            f"{m.context_window:,}", ", ".join(sorted(m.capabilities)),
        )
    Console().print(table)
    return 0
