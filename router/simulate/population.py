"""The simulated organisation: teams in their time zones, their users, and their agents, with the
roles the anomalies need (the cost team, the drifting agent, the first picks for loop and spike)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass

from router.simulate.catalog import Catalog
from router.simulate.draws import clip
from router.simulate.scenario import Scenario
from router.simulate.task_types import TASK_TYPES, TaskType

# team name, time zone, task types it runs
TEAMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
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


USERS = ("ana", "ben", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jo", "kemal",
         "lena", "mateo", "nia", "omar", "priya", "quinn", "rosa", "sam", "tariq", "uma",
         "viktor", "wen", "xena", "yusuf", "zoe")


@dataclass
class Agent:
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
    def tt(self) -> TaskType:
        return TASK_TYPES[self.task_type]

    def next_task_id(self, seed: int) -> str:
        self.tasks += 1
        return f"{self.name}-s{seed}-{self.tasks:05d}"


@dataclass
class Org:
    teams: dict[str, str]  # name -> time zone
    themes: dict[str, tuple[str, ...]]  # name -> task types
    users: dict[str, tuple[str, ...]]
    agents: list[Agent]
    cost_team: str
    spike: Agent
    drift: Agent
    loop: Agent


def population(sc: Scenario, seed: int, cat: Catalog) -> Org:
    """The scenario's teams, users and agents, drawn from ``seed``; models from ``cat``."""
    rng = random.Random(f"population:{sc.name}:{seed}")
    if not 2 <= sc.teams <= len(TEAMS) or sc.agents < 2 * sc.teams:
        raise ValueError(f"scenario needs 2-{len(TEAMS)} teams and at least 2 agents a team")
    picked = rng.sample(TEAMS, sc.teams)
    teams = {name: tz for name, tz, _ in picked}
    themes = {name: types for name, _, types in picked}
    users = {name: tuple(f"{u}.{name}" for u in rng.sample(USERS, sc.users_per_team))
             for name in teams}
    # agents per team: two each, the rest spread unevenly
    counts = dict.fromkeys(teams, 2)
    weights = [rng.uniform(0.5, 1.5) for _ in teams]
    for team in rng.choices(list(teams), weights, k=sc.agents - 2 * sc.teams):
        counts[team] += 1
    raw = [(team, rng.lognormvariate(0, sc.volume_sigma)) for team in teams
           for _ in range(counts[team])]
    total = sum(v for _, v in raw)
    # per agent, by index: its team and its weekday calls
    team_of = [team for team, _ in raw]
    volumes = [max(sc.min_agent_calls, sc.calls_per_weekday * v / total) for _, v in raw]

    # task types and models first; then the roles, which adjust a few agents
    task_types = [rng.choice(themes[team]) for team in team_of]
    tiers = [rng.choices((0, 1, 2), [w * b for w, b in zip(TASK_TYPES[t].tier, sc.tier_bias,
                                                             strict=True)])[0]
             for t in task_types]
    models = [rng.choice(cat.tiers[tier]) for tier in tiers]
    # the cost team: the biggest bill, so its rise is real money and its calls are many
    bill: defaultdict[str, float] = defaultdict(float)
    for team, volume, task_type, model in zip(team_of, volumes, task_types, models,
                                              strict=True):
        tt = TASK_TYPES[task_type]
        bill[team] += volume * model.cost(tt.input_tokens, 0, tt.output_tokens, 0)
    cost_team = max(teams, key=lambda t: bill[t])
    team_calls = sum(v for team, v in zip(team_of, volumes, strict=True) if team == cost_team)
    for i, team in enumerate(team_of):  # enough calls to judge a cost per call even on a Sunday
        if team == cost_team:
            volumes[i] *= max(1.0, sc.cost_team_min_calls / team_calls)
    others = sorted((i for i, team in enumerate(team_of) if team != cost_team),
                    key=lambda i: -volumes[i])

    def spend(i: int) -> float:
        tt = TASK_TYPES[task_types[i]]
        return volumes[i] * models[i].cost(tt.input_tokens, 0, tt.output_tokens, 0)

    # the drifting agent: output-heavy work on a model whose output is priced well above its
    # input and that has no hidden reasoning (so more output than predicted is a much higher
    # cost than predicted), busy enough to judge even on a Sunday, and a small part of its
    # team's bill (its dearer calls must not read as the team's cost per call rising)
    plain = [m for m in cat.normal if not m.can_reason and m.output >= 4 * m.input] or \
        cat.normal
    drift_options = []  # (share of its team's bill over 20%, -price or share, agent, model)
    for i in others[:max(3, len(others) // 2)]:
        team = team_of[i]
        heavy = [t for t in themes[team] if TASK_TYPES[t].output_heavy] or ["report-writing"]
        task_type = heavy[i % len(heavy)]
        tt = TASK_TYPES[task_type]
        mates = sum(spend(j) for j, t in enumerate(team_of) if t == team and j != i)
        for m in plain:
            own = max(volumes[i], sc.drift_min_calls) * m.cost(
                tt.input_tokens * 0.6, 0, tt.output_tokens * 1.2, 0)
            share = own / (own + mates)
            # the dearest model that keeps it a fifth of the bill; else the smallest share
            drift_options.append((share > 0.2, -m.index if share <= 0.2 else share, i,
                                  task_type, m))
    _, _, drift_i, task_types[drift_i], models[drift_i] = min(
        drift_options, key=lambda o: (o[0], o[1], o[2]))
    volumes[drift_i] = max(volumes[drift_i], sc.drift_min_calls)
    rest = [i for i in others if i != drift_i]
    # provisional: the loop and the spike are chosen on measured costs
    loop_i, spike_i = rest[0], rest[1]
    review = set(rest[:sc.review_agents])

    agents: list[Agent] = []
    used: Counter[str] = Counter()
    for i, (team, volume) in enumerate(zip(team_of, volumes, strict=True)):
        task_type, tier, model = task_types[i], tiers[i], models[i]
        tt = TASK_TYPES[task_type]
        name = rng.choice(tt.names)
        used[name] += 1
        if used[name] > 1:
            name = f"{name}-{used[name]}"
        quality = round(rng.uniform(*((0.5, 0.65), (0.65, 0.8), (0.8, 0.92))[tier]), 2)
        k = cat.normal.index(model) if model in cat.normal else 0
        secondary = cat.normal[min(len(cat.normal) - 1, k + 1) if rng.random() < 0.5
                               else max(0, k - 1)]
        routed_all = i == drift_i or rng.random() < 0.25
        agents.append(Agent(
            index=i, team=team, tz=teams[team], name=name, task_type=task_type,
            calls_per_weekday=volume, quality=quality, model=model.id,
            secondary=model.id if i == drift_i else secondary.id,
            route_share=1.0 if routed_all else round(rng.uniform(0.1, 0.35), 2),
            fail_rate=0.0 if i == drift_i else round(rng.uniform(0.01, 0.04), 3),
            review_share=round(rng.uniform(0.1, 0.2), 2) if i in review else 0.0,
            cache_share=0.0 if i == drift_i or rng.random() < 0.5 else rng.uniform(0.3, 0.7),
            input_scale=0.6 if i == drift_i else clip(rng.lognormvariate(0, 0.3), 0.6, 1.6),
            output_scale=1.2 if i == drift_i else clip(rng.lognormvariate(0, 0.2), 0.6, 1.3),
            users=users[team]))
    return Org(teams, themes, users, agents, cost_team, agents[spike_i], agents[drift_i],
                agents[loop_i])


def roles(org: Org) -> set[int]:
    return {org.spike.index, org.drift.index, org.loop.index}
