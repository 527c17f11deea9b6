"""``router``: the command line over the same core the server runs.

    router serve [--address HOST:PORT] [--database-url URL] ...   run the gRPC service
    router train [--data DIR] [--out FILE] [--readme FILE]          train the complexity classifier
    router eval --data FILE.csv [--data ...] --out DIR              offline routing evaluation
    router eval --store URL [--since T] [--until T] [--baseline M] --out DIR
                                                                    savings on recorded traffic
    router budgets check FILE | list | status ID | pause/resume --agent A ...
                                                                    budgets as code and over the API
    router report spend --since D --until D [--group-by K,...] [--bucket B]
    router report chargeback --period 2026-11 [--mode showback]    spend reports, chargeback
    router report focus --period 2026-11 [--format csv|parquet]     FinOps FOCUS 1.2 export
    router anomalies detect | list | watch                          spend anomalies
    router keys create --team T [--role R] | list | revoke KEY_ID  API keys (admin)
    router audit list [--since 24h] [--action A]                    administrative acts (admin)
    router simulate [--scenario small|default] [--days N] [--score] drive a server with traffic
    router models [--catalog FILE]                                  show the catalog with prices
    router catalog import --litellm FILE [--only P,...] [--merge CATALOG] [--mmlu FILE]
                          [--out PATH]                              prices from LiteLLM's map
    router learning show [--task-type T] [--agent A] [--json]       what outcomes taught it
    router settings                                                 list settings and defaults

Commands that talk to a server send --token (default $ROUTER_API_KEY, else $ROUTER_ADMIN_TOKEN;
admin commands the other way round) and take TLS from ROUTER_TLS_CA, ROUTER_TLS_CLIENT_CERT,
ROUTER_TLS_CLIENT_KEY and ROUTER_TLS_SERVER_NAME.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from router import simulate
from router.cli import (
    anomalies,
    audit,
    budgets,
    catalog,
    evaluate,
    keys,
    learning,
    models,
    report,
    serve,
    train,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="router", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    groups = {"serve": serve, "train": train, "eval": evaluate, "models": models,
              "catalog": catalog, "budgets": budgets, "report": report, "anomalies": anomalies,
              "keys": keys, "audit": audit, "simulate": simulate, "learning": learning}
    for group in groups.values():
        group.add_parser(sub)  # serve also adds `settings`
    args = parser.parse_args(argv)
    group = groups.get(args.command, serve)  # `settings` lives with serve
    return int(group.run(args))
