"""``router simulate``: realistic traffic for many teams, agents and users, driven through the gRPC
API of a running server, with injected anomalies and a ground-truth file.

    router simulate [--address 127.0.0.1:50051] [--scenario default|small] [--days 14]
                    [--seed 1] [--concurrency 32] [--truth truth.json] [--no-anomalies]

The traffic: teams in their own time zones, each with agents (one task type, a quality target, a
primary and a secondary model from the enabled catalog, a lognormal volume) and users. Tasks
arrive with a business-hours daily profile and quieter weekends, steadier than Poisson, so an
agent's hourly spend does not jump by chance; each task makes 1-6 calls with lognormal input and
output tokens, some tools, compute and human review, and now and then a failed attempt
(OUTCOME_RETRY when transient, OUTCOME_FAILURE otherwise) that is retried. Part of the calls (all
of them for some agents) first ask Route() with the model pinned in ``allowed_models`` and report
against the decision; the rest report usage with attribution and model only. Every call is dated
with ``occurred_at`` over ``--days`` days ending at the top of the current hour, and labelled
``sim=<scenario>-s<seed>``.

Anomalies (unless ``--no-anomalies``), all in the last 24 hours, recorded in the truth with what
was reached (``detail``):

- ``spend_spike``: an established agent spends >= 20x its busiest usual hour (and >= 2.50) in the
  last complete hour, in a burst of its ordinary tasks;
- ``new_agent_spend``: a new deployment of an existing agent (``<agent>-v2``), first seen in the
  last 20 hours, spends ~20x an average agent's day;
- ``cost_per_call_rise``: one team pins much dearer models (and longer prompts where no model is
  dear enough) without Route: ~4x its cost per call (>= 3x) at its usual call counts;
- ``retry_loop``: one task of an ordinary agent makes 100-300 calls in 4-6 hours, nearly all
  failures;
- ``prediction_drift``: an agent that routes every call writes 3-4x the output tokens Route()
  predicted, so its actual cost is 2-3x the predicted cost.

The anomalies are sized from the costs the server reported for the history and placed so that
one does not read as another: a burst (spike, new agent, retry loop) lands where it does not move
its team's cost per call, the cost team's agents get at most 6x dearer (no spend spike), and the
drifting agent is a small part of its team's bill.

Idempotent: usage ids (and Route request ids) derive from the scenario, days, seed and call
number, and every value from seeded generators, so a rerun within the same hour sends exactly the
same requests and the server records nothing new. A rerun in a later hour sends the same ids with
other times: the server refuses them (counted as conflicts, nothing recorded); use another seed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from router import client
from router.client import CONNECT_TIMEOUT_S, DEFAULT_ADDRESS
from router.core.anomalies import Kind
from router.core.money import NANOS_PER_UNIT, to_nanos, units
from router.core.timeunits import DAY_US, HOUR_US, MINUTE_US, SECOND_US
from router.v1 import router_pb2 as pb
from router.v1 import router_pb2_grpc

KINDS: tuple[str, ...] = tuple(k.value for k in Kind)  # the detectors' kinds, in their order
MAX_DAYS = 34  # ReportUsage accepts occurred_at up to max_backfill_days (35 by default) back

# the anomalies' sizes (targets; the truth records what was reached)
SPIKE_FACTOR = 20.0  # x the agent's busiest usual hour (>= 15x required)
NEW_AGENT_FACTOR = 20.0  # x an average agent's daily spend
COST_RISE_FACTOR = 4.0  # x the agent's usual cost per call (>= 3x required, well below a spike)
COST_RISE_RANGE = (3.4, 5.0)  # acceptable per agent
DRIFT_RANGE = (3.0, 4.0)  # actual / predicted output tokens
MIN_ANOMALY_NANOS = 2_500_000_000  # a spike or a new agent spends at least this (2.50 USD)

Progress = Callable[[int, int, str], None]


# -- scenarios ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    """The size of the simulated organisation."""

    name: str
    teams: int
    agents: int
    users_per_team: int
    calls_per_weekday: int  # expected calls of all agents together on a weekday
    days: int = 14
    volume_sigma: float = 1.0  # lognormal spread of the agents' volumes
    min_agent_calls: float = 6.0  # floor of an agent's weekday calls
    review_agents: int = 2  # agents whose tasks sometimes get human review
    retry_loop_calls: tuple[int, int] = (100, 300)
    max_anomaly_calls: int = 3000  # bound on the calls of the spike and of the new agent
    tier_bias: tuple[float, float, float] = (1.0, 1.0, 1.0)  # x the cheap, mid, premium odds
    drift_min_calls: float = 120.0  # weekday calls of the drifting agent, at least
    cost_team_min_calls: float = 150.0  # weekday calls of the cost team, at least


SCENARIOS: dict[str, Scenario] = {
    "default": Scenario("default", teams=6, agents=40, users_per_team=12,
                        calls_per_weekday=3000),
    "small": Scenario("small", teams=3, agents=8, users_per_team=3, calls_per_weekday=50,
                      volume_sigma=0.5, min_agent_calls=10.0, review_agents=1,
                      retry_loop_calls=(100, 140), max_anomaly_calls=600,
                      tier_bias=(0.3, 1.0, 2.0), drift_min_calls=80.0,
                      cost_team_min_calls=100.0),
}


def scenario(name: str = "default", days: int | None = None) -> Scenario:
    """A named scenario, optionally over another number of days."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r} (one of {', '.join(sorted(SCENARIOS))})")
    sc = SCENARIOS[name]
    return sc if days is None else replace(sc, days=days)


# -- ground truth ---------------------------------------------------------------------------------

@dataclass
class Anomaly:
    """One injected anomaly. ``agent`` is empty for a team anomaly, ``task_id`` unless a loop."""

    kind: str
    team: str
    agent: str
    task_id: str
    start_us: int
    end_us: int
    detail: dict[str, Any] = field(default_factory=dict)  # what was reached (USD, ratios)

    def key(self) -> tuple[str, str, str, str]:
        return _key(self.kind, self.team, self.agent, self.task_id)


@dataclass
class Truth:
    """What was simulated: the scenario, the population, the anomalies and the run's counts."""

    scenario: str
    seed: int
    days: int
    start_us: int
    now_us: int  # the end of the history (the top of the hour it was run in)
    calls: int  # ReportUsage calls sent
    teams: list[str]
    agents: list[dict[str, Any]]  # team, agent, task_type, models, route_share, calls_per_weekday
    anomalies: list[Anomaly] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)  # new, replayed, conflicts, errors, ...
    spend_by_team: dict[str, float] = field(default_factory=dict)  # USD, this run's calls
    errors: list[str] = field(default_factory=list)  # the first RPC errors, if any

    def keys(self) -> set[tuple[str, str, str, str]]:
        return {a.key() for a in self.anomalies}

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def write(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def from_json(cls, text: str) -> Truth:
        raw = json.loads(text)
        raw["anomalies"] = [Anomaly(**a) for a in raw.get("anomalies", [])]
        return cls(**raw)

    @classmethod
    def load(cls, path: str | Path) -> Truth:
        return cls.from_json(Path(path).read_text())


def _key(kind: str, team: str, agent: str, task_id: str) -> tuple[str, str, str, str]:
    """What a detection must match: kind, team, agent, and the task only for retry loops."""
    return kind, team, agent, task_id if kind == Kind.RETRY_LOOP else ""


def score(truth: Truth, detected: Iterable[tuple[str, str, str, str]]
          ) -> dict[str, dict[str, float]]:
    """Precision and recall per kind of ``detected`` (kind, team, agent, task_id) tuples.

    A detection matches an injected anomaly on kind, team and agent (agent "" for the team-level
    ``cost_per_call_rise``) and, for ``retry_loop`` only, task_id; duplicates count once, and any
    detection that matches no injected anomaly is a false positive. Precision is 1.0 when nothing
    was detected, recall 1.0 when nothing was injected. ``"all"`` is the micro-average.
    """
    expected = truth.keys()
    found = {_key(*d) for d in detected}
    kinds = list(KINDS) + sorted({k for k, *_ in found} - set(KINDS))
    out: dict[str, dict[str, float]] = {}
    for kind in [*kinds, "all"]:
        exp = {k for k in expected if kind in ("all", k[0])}
        got = {k for k in found if kind in ("all", k[0])}
        tp, fp, fn = len(exp & got), len(got - exp), len(exp - got)
        out[kind] = {"precision": tp / (tp + fp) if tp + fp else 1.0,
                     "recall": tp / (tp + fn) if tp + fn else 1.0,
                     "tp": tp, "fp": fp, "fn": fn}
    return out


# -- the organisation -----------------------------------------------------------------------------

# team name, time zone, task types it runs
_TEAMS = (
    ("finance", "Europe/London", ("reconciliation", "extraction", "data-analysis",
                                  "report-writing")),
    ("support", "America/New_York", ("support-reply", "classification", "summarise",
                                     "translation")),
    ("engineering", "America/Los_Angeles", ("code-review", "sql-generation", "summarise",
                                            "data-analysis")),
    ("legal", "Europe/Berlin", ("contract-review", "summarise", "translation", "extraction")),
    ("marketing", "Europe/Paris", ("report-writing", "translation", "research",
                                   "classification")),
    ("sales", "America/Chicago", ("research", "support-reply", "extraction", "summarise")),
    ("data", "Asia/Kolkata", ("sql-generation", "data-analysis", "classification",
                              "report-writing")),
    ("operations", "Asia/Singapore", ("extraction", "classification", "summarise",
                                      "reconciliation")),
    ("people", "Australia/Sydney", ("summarise", "support-reply", "classification",
                                    "translation")),
    ("research", "Asia/Tokyo", ("research", "report-writing", "data-analysis", "code-review")),
)
_USERS = ("ana", "ben", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jo", "kemal",
          "lena", "mateo", "nia", "omar", "priya", "quinn", "rosa", "sam", "tariq", "uma",
          "viktor", "wen", "xena", "yusuf", "zoe")


@dataclass(frozen=True)
class _TaskType:
    input_tokens: int  # median per call
    output_tokens: int  # median per call (kept where the calibrated prediction can follow)
    tier: tuple[float, float, float]  # weights of the cheap, mid and premium model tiers
    names: tuple[str, ...]  # agent names
    templates: tuple[str, ...]
    tools: tuple[tuple[str, float, int], ...] = ()  # name, share of calls, most per call
    cpu_seconds: float = 0.0  # median per call when used
    gpu_seconds: float = 0.0
    compute_share: float = 0.0
    reasoning: bool = False  # uses hidden reasoning on models that have it
    output_heavy: bool = False


_SLOTS: dict[str, tuple[str, ...]] = {
    "topic": ("a delayed refund", "a login failure", "the Q3 price change", "a damaged delivery",
              "an invoice dispute", "the API rate limits", "a data export request"),
    "audience": ("the account manager", "the on-call engineer", "the head of support",
                 "the customer", "the weekly digest"),
    "service": ("payments", "checkout", "search", "billing", "notifications", "auth"),
    "doc": ("scanned invoice", "purchase order", "bank statement", "delivery note",
            "expense receipt", "supplier contract"),
    "lang": ("German", "French", "Spanish", "Japanese", "Portuguese", "Italian", "Dutch"),
    "contract": ("master services agreement", "NDA", "data processing agreement",
                 "reseller agreement", "lease"),
    "metric": ("revenue", "churn", "refunds", "active users", "gross margin", "ticket volume"),
    "period": ("last quarter", "last month", "the past 90 days", "this fiscal year"),
    "market": ("European e-bike", "US payroll software", "Japanese skincare",
               "Nordic grocery delivery", "Indian fintech"),
    "month": ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"),
    "product": ("travel backpack", "noise-cancelling headphones", "standing desk",
                "espresso machine", "smart thermostat"),
}

_TASK_TYPES: dict[str, _TaskType] = {
    "summarise": _TaskType(
        3500, 280, (0.5, 0.4, 0.1), ("thread-summariser", "digest-writer", "meeting-notes",
                                     "ticket-summariser"),
        ("Summarise the {n}-message support thread about {topic} into {k} bullet points for "
         "{audience}.",
         "Write a short summary of this {n}-page report for {audience}, highlighting risks "
         "and decisions.",
         "Condense the meeting transcript ({n} minutes) into action items with owners.")),
    "support-reply": _TaskType(
        1800, 420, (0.3, 0.5, 0.2), ("reply-drafter", "helpdesk-agent", "customer-responder",
                                     "escalation-writer"),
        ("Draft a reply to a customer writing about {topic}: apologise, explain the policy "
         "and give next steps.",
         "Write a polite answer to this customer email about {topic}, using the account "
         "history from the CRM.",
         "Prepare an escalation note to {audience} about {topic} and a holding reply to the "
         "customer."),
        tools=(("crm_lookup", 0.6, 2), ("file_search", 0.3, 1)), output_heavy=True),
    "classification": _TaskType(
        700, 60, (0.8, 0.2, 0.0), ("email-triage", "intent-classifier", "ticket-router",
                                   "spam-filter"),
        ("Classify this customer email into one of: billing, bug, feature request, "
         "cancellation. The email mentions {topic}.",
         "Label the sentiment and urgency of this ticket about {topic}.",
         "Route this message about {topic} to the right queue and give a confidence.")),
    "extraction": _TaskType(
        2500, 320, (0.6, 0.35, 0.05), ("invoice-parser", "doc-extractor", "receipt-reader",
                                       "form-filler"),
        ("Extract the invoice number, supplier, VAT amount and line items from this {doc} as "
         "JSON.",
         "Pull every date, party and amount out of the attached {doc} and return JSON.",
         "Read this {doc} ({n} pages) and fill in the vendor onboarding form fields."),
        gpu_seconds=2.0, compute_share=0.5),
    "code-review": _TaskType(
        6000, 420, (0.0, 0.5, 0.5), ("pr-reviewer", "diff-checker", "test-writer",
                                     "refactor-bot"),
        ("Review this {n}-line pull request diff to the {service} service and flag bugs, race "
         "conditions and missing tests.",
         "Write unit tests for the changed functions of the {service} service in this diff.",
         "Explain why this stack trace from the {service} service happens and propose a fix."),
        tools=(("code_interpreter", 0.2, 1),), reasoning=True),
    "sql-generation": _TaskType(
        1500, 240, (0.4, 0.5, 0.1), ("sql-writer", "query-assistant", "metrics-bot",
                                     "warehouse-helper"),
        ("Write a SQL query that returns {metric} by week for {period}, joining orders and "
         "refunds.",
         "Fix this failing SQL query on the {metric} table and explain the change.",
         "Translate the question 'how did {metric} change in {period}?' into SQL for our "
         "warehouse schema."),
        cpu_seconds=3.0, compute_share=0.6),
    "research": _TaskType(
        3000, 520, (0.1, 0.5, 0.4), ("market-researcher", "web-scout", "competitor-watch",
                                     "lead-researcher"),
        ("Research the {market} market using web search and write a one-page brief with "
         "sources.",
         "Find the five main competitors in the {market} market and compare their pricing.",
         "Collect recent news about the {market} market and summarise what changed in "
         "{period}."),
        tools=(("web_search", 0.7, 4),), output_heavy=True),
    "translation": _TaskType(
        1200, 500, (0.5, 0.4, 0.1), ("translator", "localiser", "i18n-bot", "copy-adapter"),
        ("Translate the following {product} description from English to {lang}, keeping the "
         "marketing tone.",
         "Localise these {n} UI strings into {lang}; keep placeholders intact.",
         "Translate this customer email about {topic} into {lang}."),
        output_heavy=True),
    "reconciliation": _TaskType(
        5000, 360, (0.3, 0.5, 0.2), ("reconciler", "ledger-matcher", "payment-matcher",
                                     "close-assistant"),
        ("Match these {n} invoice lines to the ledger entries for {month} and list the "
         "mismatches.",
         "Reconcile the {month} bank statement with the payments ledger and explain each "
         "difference.",
         "Find duplicate supplier payments in the {month} ledger export ({n} rows)."),
        tools=(("ledger_api", 0.5, 3),), cpu_seconds=4.0, compute_share=0.4),
    "contract-review": _TaskType(
        9000, 480, (0.0, 0.4, 0.6), ("contract-reviewer", "clause-checker", "redliner",
                                     "policy-checker"),
        ("Review this {n}-page {contract} and list risky clauses with a suggested redline "
         "for each.",
         "Compare the attached {contract} with our standard template and flag every "
         "deviation.",
         "Check whether this {contract} complies with our data retention policy."),
        reasoning=True),
    "report-writing": _TaskType(
        2000, 560, (0.2, 0.5, 0.3), ("report-writer", "board-pack-writer", "newsletter-bot",
                                     "brief-writer"),
        ("Write the weekly {metric} report for {audience} from these figures, with a short "
         "commentary.",
         "Draft a one-page memo explaining the change in {metric} over {period}.",
         "Turn these bullet points about the {product} launch into a customer newsletter."),
        output_heavy=True),
    "data-analysis": _TaskType(
        3000, 450, (0.1, 0.6, 0.3), ("data-analyst", "forecast-bot", "anomaly-explainer",
                                     "kpi-analyst"),
        ("Analyse the attached CSV of {n} rows of {metric} data and explain the main drivers.",
         "Forecast {metric} for next quarter from the last {n} weeks and state the "
         "assumptions.",
         "Find outliers in {metric} over {period} and suggest likely causes."),
        tools=(("code_interpreter", 0.4, 1),), cpu_seconds=6.0, compute_share=0.5),
}
_STEPS = ("plan", "draft", "check the draft", "revise", "verify the facts", "finalise")
_STEP_WEIGHTS = (0.3, 0.25, 0.2, 0.12, 0.08, 0.05)  # P(a task makes 1..6 calls)


def _profile(hour: int) -> float:
    """Relative task arrivals by local hour: business hours peak, quiet nights."""
    if 9 <= hour < 18:
        return 0.85 if hour == 12 else 1.0
    return {7: 0.35, 8: 0.7, 18: 0.6, 19: 0.35, 20: 0.3, 21: 0.2, 22: 0.15}.get(hour, 0.12)


_DAY_WEIGHT = sum(_profile(h) for h in range(24))
_WEEKEND = 0.5


@dataclass
class _Model:
    id: str
    provider: str
    input: int  # nanos per 1M tokens
    cached: int
    output: int
    reasoning: int
    context: int
    max_output: int
    can_reason: bool

    @property
    def index(self) -> int:
        """Price of a typical call (2,000 in, 400 out), to order the catalog."""
        return 2000 * self.input + 400 * self.output

    def cost(self, inp: float, cached: float, out: float, reasoning: float) -> float:
        return (inp * self.input + cached * self.cached + out * self.output
                + reasoning * self.reasoning) / 1e6


_PROVIDERS = {"openai", "anthropic", "google", "deepseek", "mistral"}


class _Catalog:
    """The enabled models, cheapest first: the agents' pool and its three tiers."""

    def __init__(self, resp: pb.ListModelsResponse) -> None:
        self.currency = resp.currency_code
        models = [_Model(m.id, m.provider, m.input_price_per_mtok.nanos,
                         m.cached_input_price_per_mtok.nanos or m.input_price_per_mtok.nanos,
                         m.output_price_per_mtok.nanos,
                         m.reasoning_price_per_mtok.nanos or m.output_price_per_mtok.nanos,
                         m.context_window, m.max_output_tokens or 16384,
                         pb.CAPABILITY_REASONING in m.capabilities)
                  for m in resp.models if m.enabled]
        if not models:
            raise RuntimeError("the server's catalog has no enabled model")
        # the API models companies run agents on; long context keeps the prompts valid
        pool = [m for m in models if m.provider in _PROVIDERS and m.context >= 100_000]
        if len(pool) < 6:
            pool = models
        self.models = {m.id: m for m in models}
        self.pool = sorted(pool, key=lambda m: (m.index, m.id))
        top = self.pool[-1].index
        normal = [m for m in self.pool if m.index < 0.5 * top] or self.pool
        third = max(1, len(normal) // 3)
        self.normal = normal
        self.tiers = (normal[:third], normal[third:2 * third] or normal,
                      normal[2 * third:] or normal)


@dataclass
class _Agent:
    index: int
    team: str
    tz: str
    name: str
    task_type: str
    calls_per_weekday: float
    quality: float
    model: str
    secondary: str
    route_share: float
    fail_rate: float
    review_share: float
    cache_share: float
    input_scale: float
    output_scale: float
    users: tuple[str, ...]
    tasks: int = 0  # task ids handed out

    @property
    def tt(self) -> _TaskType:
        return _TASK_TYPES[self.task_type]

    def next_task_id(self, seed: int) -> str:
        self.tasks += 1
        return f"{self.name}-s{seed}-{self.tasks:05d}"


@dataclass
class _Org:
    teams: dict[str, str]  # name -> time zone
    themes: dict[str, tuple[str, ...]]  # name -> task types
    users: dict[str, tuple[str, ...]]
    agents: list[_Agent]
    cost_team: str
    spike: _Agent
    drift: _Agent
    loop: _Agent


def _population(sc: Scenario, seed: int, cat: _Catalog) -> _Org:
    rng = random.Random(f"population:{sc.name}:{seed}")
    if not 2 <= sc.teams <= len(_TEAMS) or sc.agents < 2 * sc.teams:
        raise ValueError(f"scenario needs 2-{len(_TEAMS)} teams and at least 2 agents a team")
    picked = rng.sample(_TEAMS, sc.teams)
    teams = {name: tz for name, tz, _ in picked}
    themes = {name: types for name, _, types in picked}
    users = {name: tuple(f"{u}.{name}" for u in rng.sample(_USERS, sc.users_per_team))
             for name in teams}
    # agents per team: two each, the rest spread unevenly
    counts = dict.fromkeys(teams, 2)
    weights = [rng.uniform(0.5, 1.5) for _ in teams]
    for team in rng.choices(list(teams), weights, k=sc.agents - 2 * sc.teams):
        counts[team] += 1
    raw = [(team, rng.lognormvariate(0, sc.volume_sigma)) for team in teams
           for _ in range(counts[team])]
    total = sum(v for _, v in raw)
    volumes = [[team, max(sc.min_agent_calls, sc.calls_per_weekday * v / total)]
               for team, v in raw]

    # task types and models first; then the roles, which adjust a few agents
    task_types = [rng.choice(themes[team]) for team, _ in volumes]
    tiers = [rng.choices((0, 1, 2), [w * b for w, b in zip(_TASK_TYPES[t].tier, sc.tier_bias,
                                                             strict=True)])[0]
             for t in task_types]
    models = [rng.choice(cat.tiers[tier]) for tier in tiers]
    # the cost team: the biggest bill, so its rise is real money and its calls are many
    bill: defaultdict[str, float] = defaultdict(float)
    for (team, volume), task_type, model in zip(volumes, task_types, models, strict=True):
        tt = _TASK_TYPES[task_type]
        bill[team] += volume * model.cost(tt.input_tokens, 0, tt.output_tokens, 0)
    cost_team = max(teams, key=lambda t: bill[t])
    team_calls = sum(v for team, v in volumes if team == cost_team)
    for row in volumes:  # enough calls to judge a cost per call even on a Sunday
        if row[0] == cost_team:
            row[1] *= max(1.0, sc.cost_team_min_calls / team_calls)
    others = sorted((i for i, (team, _) in enumerate(volumes) if team != cost_team),
                    key=lambda i: -volumes[i][1])

    def spend(i: int) -> float:
        tt = _TASK_TYPES[task_types[i]]
        return volumes[i][1] * models[i].cost(tt.input_tokens, 0, tt.output_tokens, 0)

    # the drifting agent: output-heavy work on a model whose output is priced well above its
    # input and that has no hidden reasoning (so more output than predicted is a much higher
    # cost than predicted), busy enough to judge even on a Sunday, and a small part of its
    # team's bill (its dearer calls must not read as the team's cost per call rising)
    plain = [m for m in cat.normal if not m.can_reason and m.output >= 4 * m.input] or \
        cat.normal
    drift_options = []  # (share of its team's bill over 20%, -price or share, agent, model)
    for i in others[:max(3, len(others) // 2)]:
        team = volumes[i][0]
        heavy = [t for t in themes[team] if _TASK_TYPES[t].output_heavy] or ["report-writing"]
        task_type = heavy[i % len(heavy)]
        tt = _TASK_TYPES[task_type]
        mates = sum(spend(j) for j, (t, _) in enumerate(volumes) if t == team and j != i)
        for m in plain:
            own = max(volumes[i][1], sc.drift_min_calls) * m.cost(
                tt.input_tokens * 0.6, 0, tt.output_tokens * 1.2, 0)
            share = own / (own + mates)
            # the dearest model that keeps it a fifth of the bill; else the smallest share
            drift_options.append((share > 0.2, -m.index if share <= 0.2 else share, i,
                                  task_type, m))
    _, _, drift_i, task_types[drift_i], models[drift_i] = min(
        drift_options, key=lambda o: (o[0], o[1], o[2]))
    volumes[drift_i][1] = max(volumes[drift_i][1], sc.drift_min_calls)
    rest = [i for i in others if i != drift_i]
    # provisional: the loop and the spike are chosen on measured costs
    loop_i, spike_i = rest[0], rest[1]
    review = set(rest[:sc.review_agents])

    agents: list[_Agent] = []
    used: Counter[str] = Counter()
    for i, (team, volume) in enumerate(volumes):
        task_type, tier, model = task_types[i], tiers[i], models[i]
        tt = _TASK_TYPES[task_type]
        name = rng.choice(tt.names)
        used[name] += 1
        if used[name] > 1:
            name = f"{name}-{used[name]}"
        quality = round(rng.uniform(*((0.5, 0.65), (0.65, 0.8), (0.8, 0.92))[tier]), 2)
        k = cat.normal.index(model) if model in cat.normal else 0
        secondary = cat.normal[min(len(cat.normal) - 1, k + 1) if rng.random() < 0.5
                               else max(0, k - 1)]
        routed_all = i == drift_i or rng.random() < 0.25
        agents.append(_Agent(
            index=i, team=team, tz=teams[team], name=name, task_type=task_type,
            calls_per_weekday=volume, quality=quality, model=model.id,
            secondary=model.id if i == drift_i else secondary.id,
            route_share=1.0 if routed_all else round(rng.uniform(0.1, 0.35), 2),
            fail_rate=0.0 if i == drift_i else round(rng.uniform(0.01, 0.04), 3),
            review_share=round(rng.uniform(0.1, 0.2), 2) if i in review else 0.0,
            cache_share=0.0 if i == drift_i or rng.random() < 0.5 else rng.uniform(0.3, 0.7),
            input_scale=0.6 if i == drift_i else _clip(rng.lognormvariate(0, 0.3), 0.6, 1.6),
            output_scale=1.2 if i == drift_i else _clip(rng.lognormvariate(0, 0.2), 0.6, 1.3),
            users=users[team]))
    return _Org(teams, themes, users, agents, cost_team, agents[spike_i], agents[drift_i],
                agents[loop_i])


def _roles(org: _Org) -> set[int]:
    return {org.spike.index, org.drift.index, org.loop.index}


# -- calls ----------------------------------------------------------------------------------------

@dataclass(slots=True)
class _Call:
    t_us: int
    agent: _Agent
    task_id: str
    user: str
    model: str
    description: str
    input: int
    cached: int
    output: int
    reasoning: int
    tools: tuple[tuple[str, int], ...]
    cpu: float
    gpu: float
    review: float
    outcome: int
    latency_ms: int
    route: bool
    usage_id: str = ""
    drift: float = 0.0  # > 0: output = this x the decision's predicted output tokens


def _clip(x: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, x))


def _describe(rng: random.Random, tt: _TaskType) -> str:
    text = rng.choice(tt.templates)
    values = {name: rng.choice(options) for name, options in _SLOTS.items()}
    values["n"] = str(rng.choice((3, 5, 8, 12, 20, 40, 120, 250, 600)))
    values["k"] = str(rng.choice((3, 4, 5)))
    return text.format(**values)


def _task(rng: random.Random, cat: _Catalog, agent: _Agent, t0: int, task_id: str,
          *, model: str | None = None, steps: int | None = None) -> list[_Call]:
    """The calls of one task: 1-6 steps, a failed attempt now and then (retried)."""
    tt = agent.tt
    if model is None:
        model = agent.model if rng.random() < 0.85 else agent.secondary
    spec = cat.models[model]
    n = steps or rng.choices(range(1, 7), _STEP_WEIGHTS)[0]
    base = _describe(rng, tt)
    user = rng.choice(agent.users)
    in_med = tt.input_tokens * agent.input_scale
    out_med = tt.output_tokens * agent.output_scale
    calls: list[_Call] = []
    t = t0
    for step in range(n):
        total_in = round(in_med * _clip(rng.lognormvariate(0, 0.5), 0.3, 3.0)
                         * (1 + 0.1 * step))
        cached = round(total_in * agent.cache_share * rng.uniform(0.7, 1.0)) if step else 0
        out = max(1, round(out_med * _clip(rng.lognormvariate(0, 0.4), 0.35, 2.5)))
        reasoning = round(out * rng.uniform(0.1, 0.4)) if tt.reasoning and spec.can_reason \
            else 0
        tools = tuple((name, rng.randint(1, most)) for name, share, most in tt.tools
                      if rng.random() < share)
        computes = rng.random() < tt.compute_share
        cpu = round(tt.cpu_seconds * rng.lognormvariate(0, 0.4), 2) if computes else 0.0
        gpu = round(tt.gpu_seconds * rng.lognormvariate(0, 0.4), 2) if computes else 0.0
        description = base if n == 1 else f"{base} Step {step + 1} of {n}: {_STEPS[step]}."
        attempts = 0
        while agent.fail_rate and rng.random() < agent.fail_rate and attempts < 2:
            attempts += 1  # a failed attempt, retried at once against the same model
            latency = rng.randint(1500, 30000)
            # mostly transient (rate limited, overloaded: RETRY), sometimes an error (FAILURE)
            outcome = pb.OUTCOME_RETRY if rng.random() < 0.7 else pb.OUTCOME_FAILURE
            calls.append(_Call(t, agent, task_id, user, model, description, total_in - cached,
                               cached, rng.randint(5, 60), 0, (), 0.0, 0.0, 0.0, outcome,
                               latency, False))
            t += latency * 1000 + rng.randint(200_000, 3_000_000)
        latency = round(300 + (out + reasoning) * rng.uniform(8, 25))
        review = 0.0
        if step == n - 1 and rng.random() < agent.review_share:
            review = round(_clip(rng.lognormvariate(math.log(15), 0.35), 5, 60), 1)
        calls.append(_Call(t, agent, task_id, user, model, description, total_in - cached,
                           cached, out, reasoning, tools, cpu, gpu, review, pb.OUTCOME_SUCCESS,
                           latency, rng.random() < agent.route_share))
        t += latency * 1000 + rng.randint(500_000, 20_000_000)
    return calls


class _Clock:
    """Local hour and weekday of every hour of the history, per team."""

    def __init__(self, teams: dict[str, str], first_hour_us: int, hours: int) -> None:
        self.first = first_hour_us
        self.hours = hours
        self.local: dict[str, list[tuple[int, int, int]]] = {}
        for team, tz in teams.items():
            zone = ZoneInfo(tz)
            rows = []
            for i in range(hours):
                d = datetime.fromtimestamp((first_hour_us + i * HOUR_US) / SECOND_US, UTC)
                d = d.astimezone(zone)
                rows.append((d.hour, d.weekday(), d.toordinal()))
            self.local[team] = rows

    def at(self, team: str, t_us: int) -> tuple[int, int, int]:
        """(local hour, weekday, local date ordinal) of ``t_us``."""
        i = (t_us - self.first) // HOUR_US
        return self.local[team][min(max(i, 0), self.hours - 1)]


def _traffic(cat: _Catalog, org: _Org, clock: _Clock, seed: int, start_us: int,
             end_us: int) -> list[_Call]:
    """Ordinary traffic of every agent over the history, in generation order."""
    calls: list[_Call] = []
    for agent in org.agents:
        rng = random.Random(f"traffic:{seed}:{agent.index}")
        tasks_per_weekday = agent.calls_per_weekday / _mean_calls(agent)
        day_factor: dict[int, float] = {}
        for i in range(clock.hours):
            hour_us = clock.first + i * HOUR_US
            local_hour, weekday, day = clock.local[agent.team][i]
            if day not in day_factor:
                day_factor[day] = _clip(rng.lognormvariate(0, 0.1), 0.8, 1.25)
            lam = tasks_per_weekday * _profile(local_hour) / _DAY_WEIGHT * day_factor[day]
            if weekday >= 5:
                lam *= _WEEKEND
            # arrivals steadier than Poisson: an hour's count stays near its seasonal level, so
            # that only the injected anomalies stand out
            n = math.floor(lam * _clip(rng.lognormvariate(0, 0.2), 0.6, 1.6) + rng.random())
            for _ in range(n):
                t0 = hour_us + rng.randrange(HOUR_US)
                task = _task(rng, cat, agent, t0, agent.next_task_id(seed))
                if start_us <= t0 and task[-1].t_us < end_us:
                    calls.extend(task)
    return calls


def _mean_calls(agent: _Agent) -> float:
    steps = sum((k + 1) * w for k, w in enumerate(_STEP_WEIGHTS)) / sum(_STEP_WEIGHTS)
    return steps * (1 + agent.fail_rate)


# -- the client -----------------------------------------------------------------------------------

@dataclass(slots=True)
class _Result:
    status: str = "error"  # new, replayed, conflict, error
    cost: int = 0  # total, nanos
    tokens_cost: int = 0
    predicted_cost: int = 0  # of the decision's model, when routed
    predicted_output: int = 0
    actual_output: int = 0
    routed: bool = False


def _timestamp(t_us: int) -> Timestamp:
    return Timestamp(seconds=t_us // SECOND_US, nanos=(t_us % SECOND_US) * 1000)


_RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED,
              grpc.StatusCode.DEADLINE_EXCEEDED}


class _Driver:
    """Sends calls with ``concurrency`` RPCs in flight and tallies what the server answered."""

    def __init__(self, stub: router_pb2_grpc.RouterStub, concurrency: int, labels: dict[str, str],
                 progress: Progress | None) -> None:
        self.stub = stub
        self.concurrency = max(1, concurrency)
        self.labels = labels
        self.progress = progress
        self.stats: Counter[str] = Counter()
        self.errors: list[str] = []
        self.done = 0
        self.total = 0
        self.phase = ""
        self.spend: Counter[str] = Counter()
        self.sent: list[tuple[_Call, _Result]] = []  # every report, as answered

    def plan(self, more: int, phase: str | None = None) -> None:
        self.total += more
        if phase is not None:
            self.phase = phase
        self._tick()

    def _tick(self) -> None:
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done), self.phase)

    async def _call(self, method: Any, request: Any, retry: set[grpc.StatusCode]) -> Any:
        for attempt in range(6):
            try:
                return await method(request, timeout=30)
            except grpc.aio.AioRpcError as err:
                if err.code() not in retry or attempt == 5:
                    raise
                await asyncio.sleep(0.05 * 2 ** attempt)
        raise AssertionError("unreachable")

    def _attribution(self, call: _Call) -> pb.Attribution:
        a = call.agent
        return pb.Attribution(team=a.team, agent=a.name, task_id=call.task_id,
                              task_type=a.task_type, user=call.user, labels=self.labels)

    async def route(self, call: _Call) -> pb.RouteResponse | None:
        """Route pinned to the call's model; None (report without a decision) when refused."""
        self.stats["routes"] += 1
        try:
            return await self._call(self.stub.Route, pb.RouteRequest(
                request_id=f"{call.usage_id}/route", task_description=call.description,
                attribution=self._attribution(call), allowed_models=[call.model],
                quality_target=call.agent.quality,
                estimated_input_tokens=call.input + call.cached), {grpc.StatusCode.UNAVAILABLE})
        except grpc.aio.AioRpcError as err:
            self.stats["route_refused"] += 1
            self._note(f"Route {call.usage_id}: {err.code().name}: {err.details()}")
            return None

    async def report(self, call: _Call, decision: pb.RouteResponse | None) -> _Result:
        output = call.output
        predicted = decision.predicted.output_tokens if decision is not None else 0
        if call.drift:
            output = max(1, round((predicted or call.output) * call.drift))
        req = pb.ReportUsageRequest(
            usage_id=call.usage_id, decision_id=decision.decision_id if decision else "",
            attribution=self._attribution(call), model=call.model,
            tokens=pb.TokenUsage(input=call.input, cached_input=call.cached, output=output,
                                 reasoning=call.reasoning),
            tool_calls=[pb.ToolCall(name=name, count=count) for name, count in call.tools],
            outcome=call.outcome, latency_ms=call.latency_ms, occurred_at=_timestamp(call.t_us))
        if call.cpu or call.gpu:
            req.compute.CopyFrom(pb.Compute(cpu_seconds=call.cpu, gpu_seconds=call.gpu))
        if call.review:
            req.human_review.CopyFrom(pb.HumanReview(seconds=call.review))
        result = _Result(routed=decision is not None, predicted_output=predicted,
                         actual_output=output)
        self.stats["calls"] += 1
        try:
            resp = await self._call(self.stub.ReportUsage, req, _RETRYABLE)
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.ALREADY_EXISTS:
                result.status = "conflict"
            else:
                self._note(f"ReportUsage {call.usage_id}: {err.code().name}: {err.details()}")
        else:
            result.status = "replayed" if resp.replayed else "new"
            result.cost = resp.cost.total.nanos
            result.tokens_cost = resp.cost.tokens.nanos
            if resp.HasField("prediction_error"):
                result.predicted_cost = resp.prediction_error.predicted_cost.nanos
            self.spend[call.agent.team] += result.cost
        self.stats[result.status] += 1
        self.sent.append((call, result))
        self.done += 1
        self._tick()
        return result

    def _note(self, message: str) -> None:
        if len(self.errors) < 20:
            self.errors.append(message)

    async def _map(self, items: Sequence[Any], fn: Callable[[Any], Any]) -> list[Any]:
        out: list[Any] = [None] * len(items)
        queue = iter(range(len(items)))

        async def worker() -> None:
            for i in queue:
                out[i] = await fn(items[i])

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(items)))))
        return out

    async def send(self, calls: Sequence[_Call]) -> list[_Result]:
        async def one(call: _Call) -> _Result:
            decision = await self.route(call) if call.route else None
            return await self.report(call, decision)

        return await self._map(calls, one)

    async def send_routed_first(self, calls: Sequence[_Call]) -> list[_Result]:
        """Route every call, then report them all (predictions made before any report)."""
        decisions = await self._map(calls, self.route)
        pairs = list(zip(calls, decisions, strict=True))
        return await self._map(pairs, lambda p: self.report(*p))

    async def send_until(self, tasks: Sequence[list[_Call]], target_nanos: float
                         ) -> tuple[list[_Call], list[_Result]]:
        """Send whole tasks, a batch at a time, until their spend reaches the target."""
        sent: list[_Call] = []
        results: list[_Result] = []
        spent = 0
        i = 0
        while i < len(tasks) and spent < target_nanos:
            batch: list[_Call] = []
            while i < len(tasks) and len(batch) < self.concurrency:
                batch.extend(tasks[i])
                i += 1
            self.plan(len(batch))
            got = await self.send(batch)
            sent.extend(batch)
            results.extend(got)
            spent += sum(r.cost for r in got)
            if any(r.status in ("conflict", "error") for r in got):
                break  # not this run's history (or the server is failing): measure nothing
        return sent, results


# -- the simulation -------------------------------------------------------------------------------

def _floor_hour(t_us: int) -> int:
    return t_us - t_us % HOUR_US


def simulate(address: str, scenario: Scenario, *, seed: int, now_us: int | None = None,
             concurrency: int = 32, inject: bool = True,
             progress: Progress | None = None) -> Truth:
    """Drive the server at ``address`` with the scenario's traffic; return the ground truth.

    The history spans ``scenario.days`` days ending at ``now_us`` (default: the top of the current
    hour, so that a rerun within the hour is an exact replay). ``progress(done, total, phase)``
    is called as calls complete.
    """
    if not 2 <= scenario.days <= MAX_DAYS:
        raise ValueError(f"days must be between 2 and {MAX_DAYS}")
    end_us = now_us if now_us is not None else _floor_hour(time.time_ns() // 1000)
    return asyncio.run(_simulate(address, scenario, seed, end_us, concurrency, inject, progress))


async def _simulate(address: str, sc: Scenario, seed: int, end_us: int, concurrency: int,
                    inject: bool, progress: Progress | None) -> Truth:
    async with client.connect_aio(address) as channel:
        try:  # router.client has no asyncio wait_ready yet
            await asyncio.wait_for(channel.channel_ready(), timeout=CONNECT_TIMEOUT_S)
        except TimeoutError as exc:
            raise ConnectionError(f"no router answering at {address}") from exc
        stub = client.stub(channel)
        cat = _Catalog(await stub.ListModels(pb.ListModelsRequest(), timeout=10))
        sim = _Simulation(sc, seed, end_us, cat, _Driver(
            stub, concurrency, {"sim": f"{sc.name}-s{seed}"}, progress))
        return await sim.run(inject)


class _Simulation:
    def __init__(self, sc: Scenario, seed: int, end_us: int, cat: _Catalog,
                 driver: _Driver) -> None:
        self.sc, self.seed, self.end, self.cat, self.driver = sc, seed, end_us, cat, driver
        self.start = end_us - sc.days * DAY_US
        self.day = end_us - DAY_US  # the anomalies' day
        self.prefix = f"sim-{sc.name}-{sc.days}d-s{seed}"
        self.org = _population(sc, seed, cat)
        first = _floor_hour(self.start)
        self.clock = _Clock(self.org.teams, first, (end_us - first) // HOUR_US + 2)
        self.rng = random.Random(f"anomalies:{sc.name}:{seed}")
        self.upgrades: dict[str, tuple[str, float]] = {}  # the cost team's new model, scale
        self.upgraded_cost: dict[str, float] = {}  # its agents' new cost per call

    async def run(self, inject: bool) -> Truth:
        d, org = self.driver, self.org
        calls = _traffic(self.cat, org, self.clock, self.seed, self.start, self.end)
        for n, call in enumerate(calls):
            call.usage_id = f"{self.prefix}-{n:07d}"
        held: list[_Call] = []
        if inject:  # the drift agent's and the cost team's last day are sent changed, later
            held = [c for c in calls if c.t_us >= self.day
                    and (c.agent is org.drift or c.agent.team == org.cost_team)]
            keep = {id(c) for c in held}
            calls = [c for c in calls if id(c) not in keep]
        calls.sort(key=lambda c: c.t_us)
        d.plan(len(calls) + len(held), "history")
        results = await d.send(calls)
        history = list(zip(calls, results, strict=True))
        anomalies: list[Anomaly] = []
        if inject:
            before = [(c, r) for c, r in history if c.t_us < self.day]
            anomalies.append(await self._cost_rise(before, held))
            anomalies.append(await self._drift(held))
            anomalies.append(await self._retry_loop())
            anomalies.append(await self._spike(before, history))
            anomalies.append(await self._new_agent(before))
            anomalies.sort(key=lambda a: KINDS.index(a.kind))
        stats = dict(sorted(d.stats.items()))
        return Truth(
            scenario=self.sc.name, seed=self.seed, days=self.sc.days, start_us=self.start,
            now_us=self.end, calls=d.stats["calls"], teams=sorted(org.teams),
            agents=[{"team": a.team, "agent": a.name, "task_type": a.task_type,
                     "models": sorted({a.model, a.secondary}), "quality_target": a.quality,
                     "route_share": a.route_share, "human_review_share": a.review_share,
                     "calls_per_weekday": round(a.calls_per_weekday, 1)}
                    for a in org.agents],
            anomalies=anomalies, stats=stats, errors=list(d.errors),
            spend_by_team={t: round(v / NANOS_PER_UNIT, 6)
                           for t, v in sorted(d.spend.items(), key=lambda kv: -kv[1])})

    # -- the five anomalies

    async def _cost_rise(self, before: list[tuple[_Call, _Result]],
                         held: list[_Call]) -> Anomaly:
        """The cost team's last day on a much more expensive model (or much longer prompts),
        pinned in the team's own configuration: reported without Route."""
        team = self.org.cost_team
        upgrades: dict[str, tuple[str, float]] = {}
        usual: dict[str, float] = {}
        fixed: dict[str, float] = {}  # tools, compute, review: the model does not change them
        for agent in (a for a in self.org.agents if a.team == team):
            mine = [(c, r) for c, r in before if c.agent is agent and _ok(r)]
            upgrades[agent.name] = self._upgrade(agent, mine)
            usual[agent.name] = _per_call([r for _, r in mine])
            fixed[agent.name] = sum(r.cost - r.tokens_cost for _, r in mine) / max(1, len(mine))
        changed = [c for c in held if c.agent.team == team]
        base = [r for c, r in before if c.agent.team == team]

        def moved(c: _Call, grow: float) -> tuple[_Model, int, int, int]:
            model, scale = upgrades[c.agent.name]
            spec = self.cat.models[model]
            room = max(1000, int(spec.context * 0.8) - c.output)
            total = min(room, round((c.input + c.cached) * scale * grow))
            cached = round(total * c.cached / max(1, c.input + c.cached))
            return spec, total - cached, cached, c.reasoning if spec.can_reason else 0

        def estimate(grow: float) -> tuple[float, float]:
            """The team's cost per call ratio, and the highest of its agents'."""
            costs: defaultdict[str, list[float]] = defaultdict(list)
            for c in changed:
                spec, inp, cached, reasoning = moved(c, grow)
                costs[c.agent.name].append(spec.cost(inp, cached, c.output, reasoning)
                                           + fixed[c.agent.name])
            every = [x for xs in costs.values() for x in xs]
            team_ratio = (sum(every) / len(every)) / max(_per_call(base), 1e-9) if every else 0
            worst = max((sum(xs) / len(xs) / max(usual[a], 1e-9) for a, xs in costs.items()),
                        default=0.0)
            return team_ratio, worst

        # the calls of the last day may mix the agents differently from the usual days: grow
        # every prompt alike until the team's cost per call is well past 3x, as long as no
        # agent's own calls get more than 6x dearer
        grow = 1.0
        for step in (1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5, 3.0):
            team_ratio, worst = estimate(step)
            if worst > 6.0:
                break
            grow = step
            if team_ratio >= COST_RISE_FACTOR - 0.4:
                break
        for c in changed:
            spec, c.input, c.cached, c.reasoning = moved(c, grow)
            c.model = spec.id
            c.route = False
            c.usage_id += "-a"
        self.driver.plan(0, "cost per call rise")
        changed.sort(key=lambda c: c.t_us)
        results = await self.driver.send(changed)
        self.upgrades = upgrades
        self.upgraded_cost = {name: _per_call([r for c, r in zip(changed, results, strict=True)
                                               if c.agent.name == name]) for name in upgrades}
        ratio = _per_call(results) / max(_per_call(base), 1e-9)
        return Anomaly(Kind.COST_PER_CALL_RISE.value, team, "", "", self.day, self.end, {
            "calls": len(results), "baseline_calls_per_day": round(len(base) / (self.sc.days - 1)),
            "baseline_cost_per_call_usd": _per_call(base) / NANOS_PER_UNIT,
            "cost_per_call_usd": _per_call(results) / NANOS_PER_UNIT, "ratio": round(ratio, 3),
            "spend_usd": sum(r.cost for r in results) / NANOS_PER_UNIT,
            "models": ",".join(sorted({m for m, _ in upgrades.values()})),
            "prompt_scale": round(grow * max(s for _, s in upgrades.values()), 2)})

    def _upgrade(self, agent: _Agent, mine: list[tuple[_Call, _Result]]) -> tuple[str, float]:
        """A dearer model (and a prompt scale) making the agent's calls ~COST_RISE_FACTOR x
        dearer: a model that does it alone if one lands in COST_RISE_RANGE, else the dearest
        model short of it with longer prompts, else the cheapest model beyond it."""
        if not mine:
            return self.cat.pool[-1].id, 1.0
        n = len(mine)
        usual = sum(r.cost for _, r in mine) / n
        fixed = sum(r.cost - r.tokens_cost for _, r in mine) / n  # tools, compute, review
        lo, hi = COST_RISE_RANGE
        options: list[tuple[float, _Model, float, float]] = []  # ratio, model, input, output
        for m in self.cat.pool:
            if m.index <= self.cat.models[agent.model].index:
                continue
            inp = sum(m.cost(c.input, c.cached, 0, 0) for c, _ in mine) / n
            out = sum(m.cost(0, 0, c.output, c.reasoning if m.can_reason else 0)
                      for c, _ in mine) / n
            options.append(((fixed + inp + out) / max(usual, 1e-9), m, inp, out))
        alone = [o for o in options if lo <= o[0] <= hi]
        if alone:
            return min(alone, key=lambda o: abs(math.log(o[0] / COST_RISE_FACTOR)))[1].id, 1.0
        short = [o for o in options if o[0] < lo]
        if short:
            _, m, inp, out = short[-1]
            scale = (COST_RISE_FACTOR * usual - fixed - out) / max(inp, 1e-9)
            return m.id, round(_clip(scale, 1.0, 30.0), 2)
        if options:
            return options[0][1].id, 1.0
        return self.cat.pool[-1].id, 1.0

    async def _drift(self, held: list[_Call]) -> Anomaly:
        """Route every call of the drift agent's last day, then report 3-4x the output."""
        agent = self.org.drift
        changed = sorted((c for c in held if c.agent is agent), key=lambda c: c.t_us)
        for c in changed:
            c.route = True
            c.drift = round(self.rng.uniform(*DRIFT_RANGE), 3)
            c.reasoning = 0
            c.usage_id += "-a"
        self.driver.plan(0, "prediction drift")
        results = await self.driver.send_routed_first(changed)
        ok = [r for r in results if _ok(r) and r.routed]
        return Anomaly(Kind.PREDICTION_DRIFT.value, agent.team, agent.name, "", self.day,
                       self.end, {
            "calls": len(changed), "routed": len(ok),
            "output_ratio": round(sum(r.actual_output for r in ok)
                                  / max(1, sum(r.predicted_output for r in ok)), 3),
            "cost_ratio": round(sum(r.tokens_cost for r in ok)
                                / max(1, sum(r.predicted_cost for r in ok)), 3)})

    async def _spike(self, before: list[tuple[_Call, _Result]],
                     history: list[tuple[_Call, _Result]]) -> Anomaly:
        """A burst of the spike agent's ordinary tasks in the last complete hour."""
        agent, busiest, _, target = self._choose_spike(before)
        self.org.spike = next(a for a in self.org.agents if a.index == agent.index)
        hour_end = _floor_hour(self.end)
        hour_start = hour_end - HOUR_US
        usual_in_hour = sum(r.cost for c, r in self.driver.sent
                            if c.agent.index == agent.index and hour_start <= c.t_us < hour_end)
        limit = self.sc.max_anomaly_calls
        tasks = self._tasks(agent, hour_start, hour_end - 10 * MINUTE_US, limit=limit,
                            kind="spike")
        self.driver.plan(0, "spend spike")
        sent, results = await self.driver.send_until(tasks, target)
        spend = sum(r.cost for r in results)
        return Anomaly(Kind.SPEND_SPIKE.value, agent.team, agent.name, "", hour_start,
                       hour_end, {
            "calls": len(sent), "spend_usd": (spend + usual_in_hour) / NANOS_PER_UNIT,
            "usual_busiest_hour_usd": busiest / NANOS_PER_UNIT,
            "ratio": round((spend + usual_in_hour) / max(busiest, 1e-9), 2)})

    def _choose_loop(self, n: int, duration: int) -> _Agent:
        """A busy agent whose loop (``n`` calls re-sending one prompt) keeps its team's cost
        per call within 1.5x of its median day and its hours within 4x its busiest one."""
        mine: defaultdict[int, list[tuple[_Call, _Result]]] = defaultdict(list)
        for c, r in self.driver.sent:
            if c.t_us < self.day:
                mine[c.agent.index].append((c, r))
        state = self._team_state()
        options = []  # (misfit, score, -volume, index)
        for a in self.org.agents:
            if a.team == self.org.cost_team or a is self.org.drift or not mine[a.index]:
                continue
            prompt = statistics.median(c.input + c.cached for c, _ in mine[a.index])
            cost = n * self.cat.models[a.model].cost(0.13 * prompt + 100, 0.87 * prompt, 45, 0)
            mix = _mix_ratio(state[a.team], n, cost)
            busiest = max(self._busiest_hour(a, mine[a.index]), 10_000_000.0)
            hourly = cost / (duration / HOUR_US) / busiest
            fits = mix <= 1.5 and hourly <= 4.0
            options.append((not fits, 0.0 if fits else max(mix / 1.5, hourly / 4.0),
                            -a.calls_per_weekday, a.index))
        if not options:
            return self.org.loop
        return self.org.agents[min(options)[3]]

    def _choose_spike(self, before: list[tuple[_Call, _Result]]
                      ) -> tuple[_Agent, float, float, float]:
        """The agent whose burst reaches its target in the fewest calls while its team's cost
        per call over the last day stays within 1.4x of its median day (a burst of calls
        dearer than the team's others would read as the team's cost per call rising).

        Returns the agent, its busiest usual hour, its cost per call and the burst's target."""
        mine: defaultdict[int, list[tuple[_Call, _Result]]] = defaultdict(list)
        for c, r in before:
            mine[c.agent.index].append((c, r))
        state = self._team_state()
        taken = {self.org.drift.index, self.org.loop.index}
        cap = 0.8 * self.sc.max_anomaly_calls
        options = []  # (preference, calls or ratio, index, busiest, per call, target)
        for a in self.org.agents:
            in_cost_team = a.team == self.org.cost_team
            per_call = self.upgraded_cost.get(a.name, 0.0) if in_cost_team else \
                _per_call([r for _, r in mine[a.index]])
            if a.index in taken or not per_call:
                continue
            busiest = self._busiest_hour(a, mine[a.index])
            target = max(SPIKE_FACTOR * busiest, MIN_ANOMALY_NANOS)
            calls = target / per_call
            ratio = _mix_ratio(state[a.team], calls, target)
            # harm: another team's cost per call must not rise (1.4x at most); the cost
            # team's has risen already, and must stay at 3x or more
            harm = 3.0 / ratio if in_cost_team else ratio / 1.4
            if calls <= cap and harm <= 1:
                # another team's agent if one can; else a cost-team agent on its new model
                options.append((1 if in_cost_team else 0, calls, a.index, busiest, per_call,
                                target))
            elif calls <= cap:
                options.append((2, harm, a.index, busiest, per_call, target))
            else:
                options.append((3, calls, a.index, busiest, per_call, target))
        if not options:
            raise RuntimeError("no usage recorded to model a spike on")
        _, _, i, busiest, per_call, target = min(options)
        agent = self.org.agents[i]
        if agent.name in self.upgrades:
            model, scale = self.upgrades[agent.name]
            agent = replace(agent, model=model, secondary=model, route_share=0.0,
                            input_scale=agent.input_scale * scale)
        return agent, busiest, per_call, target

    def _team_state(self) -> dict[str, tuple[float, float, int]]:
        """Per team: the median cost per call of its earlier days, and its cost and calls in
        the last day so far (everything sent up to now)."""
        days: defaultdict[str, defaultdict[int, list[float]]] = defaultdict(
            lambda: defaultdict(lambda: [0.0, 0.0]))
        last: defaultdict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for c, r in self.driver.sent:
            if not _ok(r):
                continue
            row = last[c.agent.team] if c.t_us >= self.day else \
                days[c.agent.team][(self.day - 1 - c.t_us) // DAY_US]
            row[0] += r.cost
            row[1] += 1
        out = {}
        for team in self.org.teams:
            per_day = [cost / n for cost, n in days[team].values() if n]
            cost, n = last[team]
            out[team] = (statistics.median(per_day) if per_day else 0.0, cost, int(n))
        return out

    def _busiest_hour(self, agent: _Agent, mine: list[tuple[_Call, _Result]]) -> float:
        """The agent's mean spend in its busiest local hour of the day (weekdays if any)."""
        spend: defaultdict[tuple[int, int], float] = defaultdict(float)
        days: dict[int, int] = {}
        for c, r in mine:
            hour, _, day = self.clock.at(agent.team, c.t_us)
            spend[(day, hour)] += r.cost
        for i in range(self.clock.hours):
            t = self.clock.first + i * HOUR_US
            if self.start <= t < self.day:
                _, weekday, day = self.clock.local[agent.team][i]
                days[day] = weekday
        weekdays = [day for day, wd in days.items() if wd < 5] or list(days)
        if not weekdays:
            return _per_call([r for _, r in mine])
        best = max(sum(spend[(day, h)] for day in weekdays) / len(weekdays) for h in range(24))
        return best or _per_call([r for _, r in mine])

    def _tasks(self, agent: _Agent, lo: int, hi: int, *, limit: int, kind: str
               ) -> list[list[_Call]]:
        """Ordinary tasks of ``agent`` starting in [lo, hi), up to ``limit`` calls."""
        rng = random.Random(f"{kind}:{self.sc.name}:{self.seed}")
        tasks: list[list[_Call]] = []
        n = 0
        while n < limit:
            t0 = lo + rng.randrange(max(1, hi - lo))
            task = _task(rng, self.cat, agent, t0, agent.next_task_id(self.seed))
            for call in task:
                call.t_us = min(call.t_us, self.end - 1)
                call.usage_id = f"{self.prefix}-{kind}-{n:05d}"
                n += 1
            tasks.append(task)
        return tasks

    async def _new_agent(self, before: list[tuple[_Call, _Result]]) -> Anomaly:
        """A new deployment of a typical agent that spends ~20x an average agent's day in its
        first day: volume at the team's usual cost per call, so the team's cost per call holds.
        """
        per_agent_day = (sum(r.cost for _, r in before) / len(self.org.agents)
                         / (self.sc.days - 1))
        target = max(NEW_AGENT_FACTOR * per_agent_day, MIN_ANOMALY_NANOS)
        team, template, usual, _ = self._new_agent_like(before, target)
        taken = {a.name for a in self.org.agents}
        name = next(n for n in (f"{template.name}-v2", f"{template.name}-next",
                                f"{template.name}-s{self.seed}") if n not in taken)
        agent = replace(template, index=len(self.org.agents), name=name, calls_per_weekday=0.0,
                        route_share=0.3 if template.team != self.org.cost_team else 0.0,
                        tasks=0)
        limit = self.sc.max_anomaly_calls
        first = self.end - 20 * HOUR_US
        tasks = self._tasks(agent, first, self.end - 10 * MINUTE_US, limit=limit, kind="new")
        self.driver.plan(0, "new agent")
        sent, results = await self.driver.send_until(tasks, target)
        spend = sum(r.cost for r in results)
        return Anomaly(Kind.NEW_AGENT_SPEND.value, team, name, "", min(c.t_us for c in sent),
                       self.end, {
            "calls": len(sent), "spend_usd": spend / NANOS_PER_UNIT,
            "usual_agent_day_usd": per_agent_day / NANOS_PER_UNIT,
            "ratio": round(spend / max(per_agent_day, 1e-9), 2),
            "cost_per_call_usd": _per_call(results) / NANOS_PER_UNIT,
            "team_cost_per_call_usd": usual / NANOS_PER_UNIT, "like": template.name})

    def _new_agent_like(self, before: list[tuple[_Call, _Result]], target: float
                        ) -> tuple[str, _Agent, float, float]:
        """The team and the agent the new agent copies: reaching ``target`` in as few calls as
        possible while the team's cost per call stays within 1.4x (more calls at its usual
        price, not dearer calls: the cost per call rise is another team's anomaly).

        Returns the team, the agent, the team's usual and the agent's usual cost per call."""
        by_team: defaultdict[str, list[_Result]] = defaultdict(list)
        by_agent: defaultdict[int, list[_Result]] = defaultdict(list)
        for c, r in before:
            by_team[c.agent.team].append(r)
            by_agent[c.agent.index].append(r)
        roles = _roles(self.org)
        state = self._team_state()  # after the drift and the loop
        options = []  # (misfit, unsteady or another anomaly's, calls needed or ratio, index)
        for a in self.org.agents:
            cost = _per_call(by_agent[a.index])
            if a.team == self.org.cost_team or not cost:
                continue
            calls = target / cost
            ratio = _mix_ratio(state[a.team], calls, target)
            fits = calls <= 0.8 * self.sc.max_anomaly_calls and ratio <= 1.4
            # its calls cost about the same every time: no human review dominating them
            steady = a.index not in roles and not a.review_share
            options.append((not fits, not steady, calls if fits else ratio, a.index))
        if options and not min(options)[0]:
            best = self.org.agents[min(options)[3]]
            return (best.team, best, _per_call(by_team[best.team]),
                    _per_call(by_agent[best.index]))
        # no other team can: the cost team deploys it, on the model it just moved to (its cost
        # per call is already the anomaly, and the new agent's calls cost what its others do)
        mine = [a for a in self.org.agents if a.team == self.org.cost_team
                and self.upgraded_cost.get(a.name)]
        if not mine:
            if not options:
                raise RuntimeError("no usage recorded to model a new agent on")
            best = self.org.agents[min(options)[3]]
            return (best.team, best, _per_call(by_team[best.team]),
                    _per_call(by_agent[best.index]))
        like = max(mine, key=lambda a: self.upgraded_cost[a.name])
        model, scale = self.upgrades[like.name]
        copy = replace(like, model=model, secondary=model,
                       input_scale=like.input_scale * scale)
        return like.team, copy, _per_call(by_team[like.team]), self.upgraded_cost[like.name]

    async def _retry_loop(self) -> Anomaly:
        """One task of an ordinary agent failing and retrying 100-300 times in a few hours."""
        rng = self.rng
        n = rng.randint(*self.sc.retry_loop_calls)
        duration = round(rng.uniform(4.0, 6.0) * HOUR_US)
        agent = self.org.loop = self._choose_loop(n, duration)
        latest = _floor_hour(self.end) - HOUR_US - duration  # before the spike hour
        start = latest - rng.randrange(3 * HOUR_US)
        for back in range(0, 12):  # prefer the team's working hours
            t = latest - back * HOUR_US
            if t >= self.day and 9 <= self.clock.at(agent.team, t)[0] <= 12:
                start = t
                break
        task_id = agent.next_task_id(self.seed)
        base = _task(rng, self.cat, agent, start, task_id, model=agent.model, steps=1)[-1]
        prompt = base.input + base.cached
        times = sorted(start + rng.randrange(duration) for _ in range(n))
        calls = []
        for k, t in enumerate(times):
            last = k == n - 1
            draw = rng.random()
            outcome = pb.OUTCOME_FAILURE  # the same error again (bad tool call, bad JSON, ...)
            if not last and draw < 0.12:
                outcome = pb.OUTCOME_RETRY  # rate limited on the way
            elif not last and draw < 0.15:
                outcome = pb.OUTCOME_SUCCESS  # a step gets through, the next one fails again
            # the same prompt again: after the first attempt mostly a prompt-cache hit
            cached = round(prompt * rng.uniform(0.8, 0.95)) if k else 0
            calls.append(replace(
                base, t_us=t, input=prompt - cached + rng.randint(0, 200), cached=cached,
                output=rng.randint(10, 80), reasoning=0, tools=(), cpu=0.0, gpu=0.0, review=0.0,
                outcome=outcome, latency_ms=rng.randint(800, 30000), route=False,
                usage_id=f"{self.prefix}-loop-{k:05d}"))
        self.driver.plan(len(calls), "retry loop")
        results = await self.driver.send(calls)
        return Anomaly(Kind.RETRY_LOOP.value, agent.team, agent.name, task_id, times[0],
                       times[-1] + 1, {
            "calls": n, "failures": sum(c.outcome == pb.OUTCOME_FAILURE for c in calls),
            "spend_usd": sum(r.cost for r in results) / NANOS_PER_UNIT})


def _mix_ratio(state: tuple[float, float, int], calls: float, cost: float) -> float:
    """A team's cost per call over the last day, with ``calls`` more costing ``cost``, as a
    multiple of its median day's."""
    median, last_cost, last_calls = state
    if not median:
        return math.inf
    return (last_cost + cost) / max(1.0, last_calls + calls) / median


def _ok(r: _Result) -> bool:
    return r.status in ("new", "replayed")


def _per_call(results: Sequence[_Result]) -> float:
    ok = [r for r in results if _ok(r)]
    return sum(r.cost for r in ok) / len(ok) if ok else 0.0


# -- the command ----------------------------------------------------------------------------------

def _days(text: str) -> int:
    days = int(text)
    if not 2 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"must be between 2 and {MAX_DAYS}")
    return days


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="drive a running server with realistic traffic and "
                                        "injected anomalies",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--address", default=client.default_address(),
                   help=f"the router to drive (default $ROUTER_ADDRESS, else {DEFAULT_ADDRESS})")
    p.add_argument("--days", type=_days, default=14,
                   help=f"days of history ending now, 2-{MAX_DAYS} (default 14)")
    p.add_argument("--seed", type=int, default=1, help="seed of every random draw (default 1)")
    p.add_argument("--scenario", choices=sorted(SCENARIOS), default="default",
                   help="; ".join(f"{sc.name}: {sc.teams} teams, {sc.agents} agents"
                                  for sc in SCENARIOS.values()) + " (default default)")
    p.add_argument("--concurrency", type=_positive, default=32,
                   help="RPCs in flight (default 32)")
    p.add_argument("--truth", metavar="PATH", help="write the ground truth JSON here")
    p.add_argument("--no-anomalies", action="store_true", help="ordinary traffic only")
    p.add_argument("--score", action="store_true",
                   help="then run the server's detectors (DetectAnomalies, needs "
                        "$ROUTER_ADMIN_TOKEN) and print their precision and recall per kind")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Table

    console = Console()
    sc = scenario(args.scenario, days=args.days)
    started = time.monotonic()
    try:
        with Progress(TextColumn("[bold]{task.description:<20}"), BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                      console=console, transient=False) as bar:
            task = bar.add_task("connecting", total=None)

            def tick(done: int, total: int, phase: str) -> None:
                bar.update(task, completed=done, total=total, description=phase)

            truth = simulate(args.address, sc, seed=args.seed, concurrency=args.concurrency,
                             inject=not args.no_anomalies, progress=tick)
    except (ConnectionError, grpc.RpcError, RuntimeError, ValueError) as exc:
        console.print(f"[red]router simulate: {exc}[/red]")
        return 1
    elapsed = time.monotonic() - started

    s = truth.stats
    table = Table(title=f"router simulate: {sc.name}, {sc.days} days, seed {args.seed}")
    for col in ("calls", "new", "replayed", "conflicts", "errors", "routes", "seconds",
                "calls/s"):
        table.add_column(col, justify="right")
    table.add_row(f"{truth.calls:,}", f"{s.get('new', 0):,}", f"{s.get('replayed', 0):,}",
                  f"{s.get('conflict', 0):,}", f"{s.get('error', 0):,}",
                  f"{s.get('routes', 0):,}", f"{elapsed:.1f}",
                  f"{truth.calls / max(elapsed, 1e-9):,.0f}")
    console.print(table)
    spend = Table(title="spend by team (this run's calls)")
    spend.add_column("team")
    spend.add_column("agents", justify="right")
    spend.add_column("spend", justify="right")
    agents = Counter(a["team"] for a in truth.agents)
    for team, usd in truth.spend_by_team.items():
        spend.add_row(team, str(agents.get(team, 0)), _money(usd))
    spend.add_row("[bold]total", str(len(truth.agents)),
                  f"[bold]{units(sum(map(to_nanos, truth.spend_by_team.values())))}")
    console.print(spend)
    if truth.anomalies:
        found = Table(title="injected anomalies (ground truth)")
        for col in ("kind", "team", "agent / task", "UTC", "what"):
            found.add_column(col)
        for a in truth.anomalies:
            found.add_row(a.kind, a.team, a.task_id or a.agent,
                          f"{_utc(a.start_us)} to {_utc(a.end_us)}", _summary(a))
        console.print(found)
    if s.get("conflict"):
        console.print(f"[yellow]{s['conflict']:,} usage ids were already recorded with other "
                      "values (this seed was run in another hour?): use another --seed for a "
                      "new history[/yellow]")
    if s.get("route_refused"):
        console.print(f"[yellow]{s['route_refused']:,} Route calls were refused (budgets or "
                      "pauses?); those calls were reported without a decision[/yellow]")
    if args.truth:
        truth.write(args.truth)
        console.print(f"ground truth written to {args.truth}")
    if s.get("error"):
        console.print(f"[red]{s['error']:,} calls failed[/red]")
        return 1
    if args.score:
        return _score(console, args.address, truth)
    return 0


def _score(console: Any, address: str, truth: Truth) -> int:
    """Ask the server to detect now, then score everything it has found against the truth."""
    from rich.table import Table

    token = os.environ.get("ROUTER_ADMIN_TOKEN", "")
    with client.connect(address) as channel:
        stub = client.stub(channel)
        try:
            stub.DetectAnomalies(pb.DetectAnomaliesRequest(), metadata=client.bearer(token),
                                 timeout=120)
            found = stub.ListAnomalies(pb.ListAnomaliesRequest(page_size=1000),
                                       timeout=30).anomalies
        except grpc.RpcError as err:
            console.print(f"[red]router simulate --score: {err.code().name}: "
                          f"{err.details()}[/red]")
            return 1
    detected = [(pb.AnomalyKind.Name(a.kind).removeprefix("ANOMALY_KIND_").lower(), a.team,
                 a.agent, a.task_id) for a in found]
    scores = score(truth, detected)
    table = Table(title="detectors against the injected anomalies")
    for col in ("kind", "precision", "recall", "tp", "fp", "fn"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    for kind, v in scores.items():
        table.add_row(kind, f"{v['precision']:.2f}", f"{v['recall']:.2f}", str(v["tp"]),
                      str(v["fp"]), str(v["fn"]))
    console.print(table)
    return 0


def _summary(a: Anomaly) -> str:
    d = a.detail
    if a.kind == Kind.SPEND_SPIKE:
        return (f"{d['calls']} calls, {_money(d['spend_usd'])} in the hour: {d['ratio']:.0f}x its "
                "busiest usual hour")
    if a.kind == Kind.NEW_AGENT_SPEND:
        return (f"{d['calls']} calls, {_money(d['spend_usd'])}: {d['ratio']:.0f}x an average "
                "agent's day")
    if a.kind == Kind.COST_PER_CALL_RISE:
        return f"{d['ratio']:.1f}x cost per call over {d['calls']} calls"
    if a.kind == Kind.RETRY_LOOP:
        return f"{d['calls']} calls, {d['failures']} failed"
    return (f"output {d['output_ratio']:.1f}x and cost {d['cost_ratio']:.1f}x the predicted, "
            f"{d['routed']} calls")


def _money(amount: float) -> str:
    """An amount of the truth (a float of whole units, as the JSON keeps it) shown as the other
    commands show money: read back into nanos through its decimal text, then ``units``."""
    return units(to_nanos(amount))


def _utc(t_us: int) -> str:
    return datetime.fromtimestamp(t_us / SECOND_US, UTC).strftime("%m-%d %H:%M")
