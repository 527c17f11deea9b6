"""The Prometheus metrics of the service, defined once, here (no I/O; the core imports none).

Every metric lives in prometheus_client's default registry, defined at module level: one
process serves one ``/metrics`` (the metrics port, the HTTP listener), and a metric may be
registered only once per registry. A registry per App would make the tests' many servers in
one process independent, but then each listener would have to know its App's registry and a
metric could not be touched from code that has no App (the gate, the recorder). So the counters
are process-wide and tests assert deltas on labels of their own (a team, a budget id of their
own).

What is read at scrape time (budgets, open holds, the writer's queue) comes from ``SOURCES``:
each running set of services registers a source; a scrape asks every live source. Sources are
held weakly, so a set of services that is dropped without ``close`` leaves nothing behind.

Cardinality is bounded: team and model labels go through ``CappedLabel`` (a setting caps the
distinct values, the rest fold into ``other``); budget ids are bounded by the budgets in force;
every other label takes values from a closed set (RPC method, status code, transport, kind).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator
from typing import Protocol

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

OTHER = "other"  # the label value that the values past a cap fold into
DEFAULT_MAX_LABEL_VALUES = 100

# RPCs: fast calls sit in the sub-millisecond buckets; a store-bound one in the upper ones
RPC_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
               0.5, 1.0, 2.5, 5.0, 10.0)
CLASSIFIER_BUCKETS = (0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                      0.005, 0.01, 0.025, 0.05)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)

RPC_REQUESTS = Counter("router_rpc_requests_total", "RPCs answered, by method, status code and "
                       "transport (grpc, http)", ("method", "code", "transport"))
RPC_LATENCY = Histogram("router_rpc_latency_seconds", "Time to answer an RPC (a stream: how long "
                        "it stayed open), by method, status code and transport",
                        ("method", "code", "transport"), buckets=RPC_BUCKETS)
CLASSIFIER_LATENCY = Histogram("router_classifier_latency_seconds",
                               "Time the complexity classifier takes per Route",
                               buckets=CLASSIFIER_BUCKETS)
SPEND = Counter("router_spend_nanos_total", "Cost of committed usage in nanos (billionths) of "
                "the catalog's currency, by team and model (replays are not counted)",
                ("team", "model"))
TOKENS = Counter("router_tokens_total", "Tokens of committed usage, by team, model and kind "
                 "(input, cached_input, output, reasoning, cache_write)", ("team", "model", "kind"))
BUDGET_REFUSALS = Counter("router_budget_refusals_total", "Routes a budget or a pause refused, "
                          "by reason: throttled (RESOURCE_EXHAUSTED with a retry delay), "
                          "exhausted (RESOURCE_EXHAUSTED, no room) or paused "
                          "(FAILED_PRECONDITION)", ("reason",))
ANOMALIES = Counter("router_anomalies_total", "Anomalies detected (new incidents), by kind",
                    ("kind",))
OTLP_SPANS = Counter("router_otlp_spans_total", "Spans received over OTLP, by result: accepted "
                     "(recorded as usage, or a replay of a recorded span), ignored (no GenAI "
                     "usage) or rejected (named in the export's partial success)", ("result",))
WRITER_BATCH = Histogram("router_writer_batch_size", "Records committed per group-commit "
                         "transaction", buckets=BATCH_BUCKETS)
WRITER_COMMIT = Histogram("router_writer_commit_seconds", "Time to commit one group-commit "
                          "batch, retries included", buckets=RPC_BUCKETS)

TOKEN_KINDS = ("input", "cached_input", "output", "reasoning", "cache_write")


class CappedLabel:
    """The values one label may take, at most ``max_values`` distinct ones: the first ones seen
    keep their name, later new ones become ``other``. Thread-safe; a known value costs one set
    lookup."""

    def __init__(self, max_values: int = DEFAULT_MAX_LABEL_VALUES) -> None:
        if max_values < 1:
            raise ValueError("a capped label needs room for at least one value")
        self.max_values = max_values
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) < self.max_values:
                self._seen.add(value)
                return value
        return OTHER

    def __len__(self) -> int:
        return len(self._seen)


class UsageCounters:
    """Spend and tokens of committed usage, by capped team and model, with each pair's counter
    children bound once (a commit then costs dictionary lookups and additions)."""

    def __init__(self, max_label_values: int = DEFAULT_MAX_LABEL_VALUES) -> None:
        self.team = CappedLabel(max_label_values)
        self.model = CappedLabel(max_label_values)
        # bounded: at most max_label_values + 1 teams times as many models
        self._children: dict[tuple[str, str], tuple[Counter, tuple[Counter, ...]]] = {}

    def add(self, team: str, model: str, cost_nanos: int, tokens: tuple[int, ...]
            ) -> None:
        """Count one committed usage; ``tokens`` in the order of ``TOKEN_KINDS``."""
        key = (self.team(team), self.model(model))
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                SPEND.labels(*key), tuple(TOKENS.labels(*key, k) for k in TOKEN_KINDS))
        spend, kinds = children
        if cost_nanos > 0:  # a counter never goes down (a negative override is not counted)
            spend.inc(cost_nanos)
        for child, n in zip(kinds, tokens, strict=True):
            if n > 0:
                child.inc(n)


class RpcCounters:
    """The RPC count and latency children of each (method, code, transport), bound once."""

    def __init__(self) -> None:
        self._children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, code: str, transport: str, seconds: float) -> None:
        key = (method, code, transport)
        children = self._children.get(key)
        if children is None:  # bounded: methods x codes x transports
            children = self._children[key] = (RPC_REQUESTS.labels(*key),
                                              RPC_LATENCY.labels(*key))
        children[0].inc()
        children[1].observe(seconds)


RPCS = RpcCounters()


class Source(Protocol):
    """Something whose state is read at scrape time: its families' samples."""

    def samples(self) -> Iterable[tuple[str, dict[str, str], float]]:
        """(family name, labels, value) of each sample; the family is one of ``GAUGES``."""


# the gauges read at scrape time: name -> help
GAUGES = {
    "router_budget_spent_nanos": "Settled spend of each budget's current window, in nanos "
                                 "(as this process last read or settled it)",
    "router_budget_held_nanos": "Open holds on each budget's current window, in nanos",
    "router_budget_limit_nanos": "Each budget's money limit per window, in nanos",
    "router_budget_spent_tokens": "Settled tokens of each budget's current window",
    "router_budget_limit_tokens": "Each budget's token limit per window",
    "router_budget_state": "Each budget's state: 1 for the state it is in, 0 for the others "
                           "(ok, alert, downgrade, throttle, exhausted)",
    "router_paused_scopes": "Scopes routing is paused for",
    "router_budget_open_holds": "Budget holds open in this process (the embedded ledger; a "
                                "shared ledger keeps them in the database)",
    "router_writer_queue_depth": "Records waiting for the group-commit writer",
}


class _ScrapeCollector(Collector):
    """Reads every live source at scrape time. In one process (tests run many servers in one)
    the same labels may come from two sources: sums for the process-wide gauges, the first for
    the per-budget ones."""

    SUMMED = frozenset({"router_paused_scopes", "router_budget_open_holds",
                        "router_writer_queue_depth"})

    def __init__(self) -> None:
        self._sources: weakref.WeakSet[Source] = weakref.WeakSet()
        self._lock = threading.Lock()

    def add(self, source: Source) -> None:
        with self._lock:
            self._sources.add(source)

    def remove(self, source: Source) -> None:
        with self._lock:
            self._sources.discard(source)

    def describe(self) -> Iterable[Metric]:
        return [Metric(name, text, "gauge") for name, text in GAUGES.items()]

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            sources = list(self._sources)
        values: dict[str, dict[tuple[tuple[str, str], ...], float]] = {n: {} for n in GAUGES}
        for source in sources:
            for name, labels, value in source.samples():
                family = values[name]
                key = tuple(sorted(labels.items()))
                if name in self.SUMMED:
                    family[key] = family.get(key, 0.0) + value
                else:
                    family.setdefault(key, value)
        for name, text in GAUGES.items():
            metric = Metric(name, text, "gauge")
            for key, value in values[name].items():
                metric.add_sample(name, dict(key), value)
            yield metric


SOURCES = _ScrapeCollector()
REGISTRY.register(SOURCES)

