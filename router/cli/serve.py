"""``router serve`` (every setting as a flag, else from ``ROUTER_*``) and ``router settings``."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from router.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the gRPC service")
    for f in dataclasses.fields(Settings):
        flag = "--" + f.name.replace("_", "-")
        if str(f.type) == "bool":
            p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction,
                           default=None, help=f"{f.metadata['help']} (env "
                           f"ROUTER_{f.name.upper()}, default {f.default})")
            continue
        kind = {"int": int, "float": float}.get(str(f.type), str)
        p.add_argument(flag, dest=f.name, type=kind, default=None,
                       help=f"{f.metadata['help']} (env ROUTER_{f.name.upper()}, "
                            f"default {f.default})")
    sub.add_parser("settings", help="list every setting with its default")


def run(args: argparse.Namespace) -> int:
    if args.command == "settings":
        for env, help_text, default in Settings.describe():
            print(f"{env:36} {help_text} [default: {default}]")
        return 0
    from router.core.catalog import CatalogError
    from router.core.errors import StoreUnavailable
    from router.logs import configure
    from router.server import serve

    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(Settings)}
    try:
        settings = Settings.from_env(**overrides)
        configure(settings.log_level, settings.log_format, settings.log_flush_ms)
        serve(settings)
    except (CatalogError, StoreUnavailable, ValueError, OSError) as exc:
        print(f"router serve: {exc}", file=sys.stderr)
        return 2
    return 0
