"""The ground truth of a simulation (what was injected, and where) and the detectors' score."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from router.core.anomalies import DETECTOR_KINDS, Kind

KINDS: tuple[str, ...] = tuple(k.value for k in DETECTOR_KINDS)

Key = tuple[str, str, str, str]  # kind, team, agent, task_id


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

    def key(self) -> Key:
        return match_key(self.kind, self.team, self.agent, self.task_id)


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
    # mean quality score reported, by task type and model (what a learner could find)
    quality: dict[str, dict[str, float]] = field(default_factory=dict)

    def keys(self) -> set[Key]:
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


def match_key(kind: str, team: str, agent: str, task_id: str) -> Key:
    """What a detection must match: kind, team, agent, and the task only for retry loops."""
    return kind, team, agent, task_id if kind == Kind.RETRY_LOOP.value else ""


def score(truth: Truth, detected: Iterable[Key]) -> dict[str, dict[str, float]]:
    """Precision and recall per kind of ``detected`` (kind, team, agent, task_id) tuples.

    A detection matches an injected anomaly on kind, team and agent (agent "" for the team-level
    ``cost_per_call_rise``) and, for ``retry_loop`` only, task_id; duplicates count once, and any
    detection that matches no injected anomaly is a false positive. Precision is 1.0 when nothing
    was detected, recall 1.0 when nothing was injected. ``"all"`` is the micro-average.
    """
    expected = truth.keys()
    found = {match_key(*d) for d in detected}
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
