"""QuerySpend at scale: fill a fresh store with N usage rows (default 10 million, one month,
20 teams, 400 agents, 200 users, 12 models), build the rollups as the write path keeps them, and
time the reports (`python -m router.bench.spend [--rows N] [--database-url URL]`).

Rows are bulk-loaded (not through ReportUsage, which would take hours) and the rollups are then
computed with the same definitions the migration's backfill uses; the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from router.core.spend import Bucket, SpendQuery, fold, total
from router.store.sql import SqlStore

MONTH = (int(datetime(2026, 10, 1, tzinfo=UTC).timestamp() * 1e6),
         int(datetime(2026, 11, 1, tzinfo=UTC).timestamp() * 1e6))
HOUR = 3_600_000_000
LAST_30_DAYS = (MONTH[1] - 30 * 24 * HOUR - 5 * HOUR, MONTH[1] - 5 * HOUR)
LONDON_MONTH = (MONTH[0] - HOUR, MONTH[1])  # October in London: BST until the 25th, then GMT
MODELS = [("gpt-4o", "openai"), ("gpt-4o-mini", "openai"), ("claude-3-5-sonnet", "anthropic"),
          ("claude-3-5-haiku", "anthropic"), ("gemini-1.5-pro", "google"),
          ("gemini-1.5-flash", "google"), ("llama-3.1-70b", "meta"), ("llama-3.1-8b", "meta"),
          ("mistral-large", "mistral"), ("mixtral-8x7b", "mistral"), ("o1-mini", "openai"),
          ("gpt-4-turbo", "openai")]


def _chunk(rng: np.random.Generator, start: int, n: int) -> list[tuple]:
    agent = rng.integers(0, 400, n)
    team = agent % 20
    user = team * 10 + rng.integers(0, 10, n)
    model = (agent * 7 + rng.integers(0, 2, n)) % len(MODELS)
    at = rng.integers(MONTH[0], MONTH[1], n)
    tin = rng.lognormal(7, 1, n).astype(np.int64) + 1
    tout = rng.lognormal(5.5, 1, n).astype(np.int64) + 1
    cost_tokens = tin * 2500 + tout * 10000
    tools = rng.integers(0, 3, n) * 5_000_000
    review = np.where(rng.random(n) < 0.01, 500_000_000, 0)
    predicted = np.where(rng.random(n) < 0.3, (cost_tokens * rng.uniform(0.5, 1.5, n))
                         .astype(np.int64), -1)
    outcome = np.where(rng.random(n) < 0.03, 2, 1)
    rows = []
    for i in range(n):
        m = int(model[i])
        p = int(predicted[i])
        rows.append((f"b{start + i}", "", None, int(at[i]), f"team-{team[i]}", f"agent-{agent[i]}",
                     "" if i % 3 else f"task-{(start + i) // 4}", f"type-{agent[i] % 30}",
                     f"user-{user[i]}", "{}", MODELS[m][0], MODELS[m][1], int(tin[i]), 0,
                     int(tout[i]), 0, int(tools[i] > 0), 0, int(review[i] > 0) * 60_000,
                     int(outcome[i]), 900, int(cost_tokens[i]), int(tools[i]), 0,
                     int(review[i]), int(cost_tokens[i] + tools[i] + review[i]), "USD",
                     p if p >= 0 else None, None))
    return rows


COLUMNS = ("usage_id", "payload_hash", "decision_id", "recorded_us", "team", "agent", "task_id",
           "task_type", "user_name", "labels", "model", "provider", "input_tokens",
           "cached_input_tokens", "output_tokens", "reasoning_tokens", "tool_calls",
           "compute_ms", "review_ms", "outcome", "latency_ms", "cost_tokens", "cost_tools",
           "cost_compute", "cost_review", "cost_total", "currency", "predicted_cost",
           "predicted_output_tokens")


def fill(store: SqlStore, rows: int, seed: int = 1) -> float:
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    chunk = 200_000
    pg = store.engine.dialect.name == "postgresql"
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        if not pg:
            cur.execute("PRAGMA synchronous=OFF")
        for start in range(0, rows, chunk):
            batch = _chunk(rng, start, min(chunk, rows - start))
            if pg:
                with cur.copy(f"COPY usages ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for r in batch:
                        copy.write_row(r)
            else:
                cur.executemany(f"INSERT INTO usages ({', '.join(COLUMNS)}) VALUES "
                                f"({', '.join('?' * len(COLUMNS))})", batch)
            raw.commit()
            print(f"  {start + len(batch):,} rows", file=sys.stderr, end="\r")
        # the rollups, exactly as the migration backfills them
        cur.execute("DELETE FROM usage_hourly")
        cur.execute("DELETE FROM usage_daily")
        cur.execute("DELETE FROM usage_daily_agents")
        raw.commit()
    finally:
        raw.close()
    from importlib import import_module

    backfill = import_module("router.store.migrations.versions.0004_usage_hourly")
    by_day = import_module("router.store.migrations.versions.0009_usage_daily_agents")
    with store.engine.begin() as conn:
        for table in backfill._ROLLUPS:
            conn.execute(sa.text(backfill.backfill_sql(table)))
        conn.execute(sa.text(by_day.BACKFILL_SQL))
        conn.execute(sa.text("ANALYZE"))
    return time.perf_counter() - started


def timed(store: SqlStore, query: SpendQuery, repeat: int = 3) -> tuple[float, int, int]:
    best, rows, cost = float("inf"), 0, 0
    for _ in range(repeat):
        started = time.perf_counter()
        result = fold(query, store.spend_rows(query))
        best = min(best, time.perf_counter() - started)
        rows, cost = len(result), int(total(result)["cost_total"])
    return best, rows, cost


def _sources(query: SpendQuery) -> str:
    """The tables the query's plan reads, in range order (e.g. usages+usage_daily+usages)."""
    return "+".join(part.source.value for part in query.plan())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="router.bench.spend", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="router-spend-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'spend.db'}"
        store = SqlStore(url, timeout_s=600)
        store.migrate()
        with store.engine.connect() as conn:
            existing = conn.execute(sa.text("SELECT count(*) FROM usages")).scalar()
        fill_s = fill(store, args.rows) if existing < args.rows else 0.0
        queries = {
            "month_by_team_and_model": SpendQuery(*MONTH, ("team", "model"), Bucket.MONTH),
            "month_by_team_and_model_london": SpendQuery(*MONTH, ("team", "model"), Bucket.MONTH,
                                                         "Europe/London"),
            "daily_by_agent": SpendQuery(*MONTH, ("agent",), Bucket.DAY),
            "month_by_user_and_task_type": SpendQuery(*MONTH, ("user", "task_type")),
            "month_by_cost_kind_for_one_team": SpendQuery(*MONTH, ("cost_kind",),
                                                          filters={"team": "team-3"}),
            # the dashboard's month overview: one QuerySpend per panel (issue 13: <= 1 s each)
            "dashboard_month_total": SpendQuery(*MONTH, ()),
            "dashboard_daily_by_team": SpendQuery(*MONTH, ("team",), Bucket.DAY),
            "dashboard_top_agents": SpendQuery(*MONTH, ("agent",)),
            "dashboard_top_models": SpendQuery(*MONTH, ("model",)),
            "dashboard_top_task_types": SpendQuery(*MONTH, ("task_type",)),
            "dashboard_top_users": SpendQuery(*MONTH, ("user",)),
            "dashboard_one_team_daily_by_agent": SpendQuery(*MONTH, ("agent",), Bucket.DAY,
                                                            filters={"team": "team-3"}),
            # ranges that are not whole UTC days: the dashboard's "last 30 days" (ending at a
            # top of the hour) and a month in London (23:00 UTC to 23:00 UTC)
            "last_30_days_by_team": SpendQuery(*LAST_30_DAYS, ("team",)),
            "last_30_days_by_user": SpendQuery(*LAST_30_DAYS, ("user",)),
            "london_month_by_task_type": SpendQuery(*LONDON_MONTH, ("task_type",),
                                                    timezone="Europe/London"),
            # the dashboard's chart of that month: London days (BST's span UTC days)
            "london_month_daily_by_team": SpendQuery(*LONDON_MONTH, ("team",), Bucket.DAY,
                                                     "Europe/London"),
        }
        results: dict[str, object] = {"rows": args.rows, "fill_s": round(fill_s, 1),
                                      "database": store.engine.dialect.name}
        ledgers: dict[tuple[int, int], int] = {}
        for name, query in queries.items():
            seconds, n, cost = timed(store, query)
            span = (query.start_us, query.end_us)
            if span not in ledgers:
                with store.engine.connect() as conn:
                    ledgers[span] = int(conn.execute(sa.text(
                        "SELECT coalesce(sum(cost_total), 0) FROM usages WHERE recorded_us >= :s "
                        "AND recorded_us < :e"), {"s": span[0], "e": span[1]}).scalar_one())
            results[name] = {"seconds": round(seconds, 3), "rows": n,
                             "source": _sources(query),
                             "reconciles": bool(query.filters) or cost == ledgers[span]}
            print(f"{name:>34}: {seconds:6.3f} s, {n:,} rows from {_sources(query)}",
                  file=sys.stderr)
        store.close()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
