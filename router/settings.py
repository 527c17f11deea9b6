"""Every setting in one place, each with a default and a description.

Values come from, in rising precedence: the defaults below, ``ROUTER_<NAME>`` environment
variables, and command-line flags (``router serve --help``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from router.core.otlp import DEFAULT_ATTRIBUTES, parse_attribute_map

ROOT = Path(__file__).resolve().parent.parent


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    address: str = _setting("127.0.0.1:50051", "host:port the gRPC server listens on")
    http_address: str = _setting(
        "127.0.0.1:8080", "host:port of the HTTP/JSON API, the anomaly event stream, /metrics "
        "and /healthz (same process and service as gRPC; port 0 picks a free one); empty: off")
    database_url: str = _setting(
        f"sqlite:///{ROOT / 'var' / 'router.db'}",
        "SQLAlchemy URL of the store: sqlite:///path (default) or postgresql://user@host/db")
    catalog_path: str = _setting(str(ROOT / "models" / "catalog.toml"), "model catalog (TOML)")
    classifier_path: str = _setting(str(ROOT / "models" / "complexity.npz"),
                                    "trained complexity classifier artifact")
    default_quality_target: float = _setting(
        0.7, "predicted quality (0-1) a model must reach when the request sets none")
    learning: bool = _setting(
        True, "learn from reported outcomes: a Bayesian correction of the classifier's quality "
        "per (task type, model) and (agent, model), with Thompson-sampling exploration")
    learning_explore_share: float = _setting(
        0.05, "most that exploration may add to the predicted spend of the calls the learner "
        "speaks for, and most of those calls that may explore (a share, 0-1; 0: never explore)")
    learning_prior_sd: float = _setting(
        0.5, "the prior's standard deviation of a learned logit offset (how far, before any "
        "outcome, the classifier may be off)")
    learning_max_precision: float = _setting(
        50.0, "cap on the precision a learned offset's update sees (1/sd^2), so it keeps "
        "tracking a model whose quality changes (must exceed 1 / learning_prior_sd^2)")
    learning_min_agent_count: int = _setting(
        30, "outcomes an agent needs before its own offset adds to its task type's")
    learning_no_explore: str = _setting(
        "", "comma-separated scopes that never explore (the learned means still apply), e.g. "
        "team:finance,agent:payroll-bot,task_type:invoice-matching")
    max_description_chars: int = _setting(
        100_000, "longest task_description accepted; longer is INVALID_ARGUMENT")
    max_message_bytes: int = _setting(
        4 << 20, "largest request message accepted, in bytes (room for the longest description "
        "in any script); up to twice this, a larger one is INVALID_ARGUMENT naming its largest "
        "field, and logged; beyond that gRPC refuses it (RESOURCE_EXHAUSTED) before the service "
        "sees it")
    max_batch: int = _setting(1024, "most records committed in one group-commit transaction")
    queue_limit: int = _setting(100_000, "most records waiting to be written before UNAVAILABLE")
    writer_linger_ms: float = _setting(
        2.0, "how long a batch of decisions alone waits for more to join it before it is "
        "committed (nobody waits for a decision's commit; a usage ends the wait at once)")
    pool_size: int = _setting(8, "database connections per process")
    sqlite_synchronous: str = _setting(
        "FULL", "SQLite fsync level: FULL (every commit durable) or NORMAL (faster, WAL-safe)")
    decision_lookup_grace_ms: int = _setting(
        50, "how long ReportUsage waits for a decision another replica has not flushed yet")
    decision_cache_size: int = _setting(100_000, "recent decisions kept in memory")
    max_concurrent_rpcs: int = _setting(4096, "RPCs in flight before RESOURCE_EXHAUSTED")
    shutdown_grace_s: float = _setting(10.0, "on SIGTERM, how long in-flight RPCs may finish")
    max_backfill_days: int = _setting(
        35, "how far in the past a ReportUsage may date its call (occurred_at)")
    budgets_path: str = _setting(
        "", "budgets file (TOML, policies as code; reloaded when it changes); empty: none")
    admin_token: str = _setting(
        "", "bootstrap admin credential (sent as 'authorization: Bearer <token>'): makes the "
        "first API keys, and administers like an admin key; empty: none")
    auth: str = _setting(
        "auto", "when calls need an API key: auto (once the first key exists; until then the "
        "server runs open on loopback only, and elsewhere needs ROUTER_ADMIN_TOKEN or refuses "
        "to start), on (always), off (never: anyone may route, report and read)")
    tls_cert: str = _setting("", "PEM certificate chain the server presents; with "
                             "ROUTER_TLS_KEY, serve TLS (and the CLI and client trust it)")
    tls_key: str = _setting("", "PEM private key of ROUTER_TLS_CERT")
    tls_client_ca: str = _setting(
        "", "PEM CA bundle: the server requires client certificates signed by it (mTLS); a "
        "certificate's subject may authenticate as a key (`router keys create --subject`)")
    store_timeout_ms: int = _setting(
        2000, "bound on any wait for the store (connect, pool, statement) before UNAVAILABLE")
    budget_fail_open: bool = _setting(
        False, "route without budget checks when the store is unreachable (logged and counted) "
        "instead of answering UNAVAILABLE")
    ledger: str = _setting(
        "auto", "where budget holds live: auto (in the process on SQLite, in the database on "
        "PostgreSQL), local, or shared (in the database; for replicas)")
    hold_abandon_s: int = _setting(
        3_600, "how long a Route's budget hold waits for its ReportUsage before it is abandoned "
        "and its room released (a budget's hold_ttl_seconds may extend it); until then the room "
        "stays taken, so late reports cannot overspend a block budget")
    budget_tick_s: float = _setting(
        1.0, "how often expired holds are swept and the budgets file checked for changes")
    budget_refresh_s: float = _setting(
        2.0, "how often API-managed budgets and pauses are re-read (other replicas' changes)")
    anomaly_interval_s: float = _setting(
        60.0, "how often the anomaly detectors run in the background; 0: only on demand")
    anomaly_history_days: int = _setting(14, "history the detectors learn baselines from")
    anomaly_webhook_url: str = _setting("", "POST each new anomaly here as JSON; empty: off")
    anomaly_pause_kinds: str = _setting(
        "", "comma-separated anomaly kinds that pause the agent (e.g. spend_spike,retry_loop)")
    max_watch_streams: int = _setting(
        256, "WatchAnomalies streams open at once (the rest of max_concurrent_rpcs stays for "
        "Route, ReportUsage and the other calls); past it RESOURCE_EXHAUSTED")
    max_watch_streams_per_peer: int = _setting(
        16, "WatchAnomalies streams one client host may hold open at once")
    otlp_attributes: str = _setting(
        DEFAULT_ATTRIBUTES,
        "which attributes of an OTLP span (then of its resource) set a usage's attribution: "
        "comma-separated attribute=key, key one of team, agent, task_id, task_type, user or "
        "labels.NAME; prefix.*=labels makes every attribute under the prefix a label; for a "
        "key, the first attribute present wins (replaces the default: copy it to extend it)")
    metrics_port: int = _setting(0, "port of the Prometheus /metrics endpoint; 0: off")
    metrics_max_label_values: int = _setting(
        100, "distinct teams (and, apart, models) the spend and token metrics name; the rest "
        "are counted as 'other'")
    log_level: str = _setting("info", "debug, info, warning or error")
    log_format: str = _setting("json", "json (one object per line) or console")
    log_flush_ms: float = _setting(
        100.0, "JSON info lines are written in batches at most this far apart (warnings and "
        "errors at once; 0: every line as it comes)")

    def __post_init__(self) -> None:
        if self.ledger not in ("auto", "local", "shared"):
            raise ValueError(f"ROUTER_LEDGER={self.ledger!r}: use auto, local or shared")
        if not 0 <= self.writer_linger_ms <= 1000:
            raise ValueError(f"ROUTER_WRITER_LINGER_MS={self.writer_linger_ms!r}: use 0 to 1000")
        if not 0 <= self.log_flush_ms <= 10_000:
            raise ValueError(f"ROUTER_LOG_FLUSH_MS={self.log_flush_ms!r}: use 0 to 10000")
        if self.auth not in ("auto", "on", "off"):
            raise ValueError(f"ROUTER_AUTH={self.auth!r}: use auto, on or off")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("ROUTER_TLS_CERT and ROUTER_TLS_KEY go together: set both or "
                             "neither")
        if self.tls_client_ca and not self.tls_cert:
            raise ValueError("ROUTER_TLS_CLIENT_CA needs ROUTER_TLS_CERT and ROUTER_TLS_KEY "
                             "(client certificates are checked over TLS)")
        if not 0 <= self.learning_explore_share <= 1:
            raise ValueError(f"ROUTER_LEARNING_EXPLORE_SHARE={self.learning_explore_share!r}: "
                             "use 0 to 1")
        if not self.learning_prior_sd > 0:
            raise ValueError(f"ROUTER_LEARNING_PRIOR_SD={self.learning_prior_sd!r}: use > 0")
        if not self.learning_max_precision > 1 / self.learning_prior_sd ** 2:
            raise ValueError("ROUTER_LEARNING_MAX_PRECISION must exceed the prior's precision, "
                             f"1 / ROUTER_LEARNING_PRIOR_SD^2 = {1 / self.learning_prior_sd ** 2}")
        no_explore_scopes(self.learning_no_explore)  # raises ValueError naming a bad entry
        parse_attribute_map(self.otlp_attributes)  # raises ValueError naming a bad entry
        if not 0 <= self.max_watch_streams <= self.max_concurrent_rpcs // 2:
            raise ValueError("ROUTER_MAX_WATCH_STREAMS must be between 0 and half of "
                             f"ROUTER_MAX_CONCURRENT_RPCS ({self.max_concurrent_rpcs // 2}), so "
                             "streams can never take the capacity Route and ReportUsage need")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f"ROUTER_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _coerce(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @classmethod
    def describe(cls) -> list[tuple[str, str, Any]]:
        """(environment variable, description, default) for every setting."""
        return [(f"ROUTER_{f.name.upper()}", f.metadata["help"], f.default)
                for f in dataclasses.fields(cls)]


NO_EXPLORE_KEYS = ("team", "agent", "task_type", "user")


def no_explore_scopes(text: str) -> frozenset[tuple[str, str]]:
    """``ROUTER_LEARNING_NO_EXPLORE`` as (key, value) pairs: ``team:finance,agent:bot``."""
    scopes = set()
    for entry in filter(None, (e.strip() for e in text.split(","))):
        key, sep, value = entry.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or key not in NO_EXPLORE_KEYS or not value:
            raise ValueError(f"ROUTER_LEARNING_NO_EXPLORE: {entry!r} is not one of "
                             f"{', '.join(k + ':NAME' for k in NO_EXPLORE_KEYS)}")
        scopes.add((key, value))
    return frozenset(scopes)


def _coerce(name: str, type_name: Any, raw: str) -> Any:
    if str(type_name) == "bool":
        if raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if raw.strip().lower() in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"ROUTER_{name.upper()}={raw!r} is not a valid bool")
    kind = {"int": int, "float": float, "str": str}.get(str(type_name), str)
    try:
        return kind(raw)
    except ValueError as exc:
        raise ValueError(f"ROUTER_{name.upper()}={raw!r} is not a valid {kind.__name__}") from exc
