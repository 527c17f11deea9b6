"""Routing outcome tables: the wide CSV format of ``../shared/data/routing/*_train.csv``.

One row per prompt: ``id``, ``source``, ``task``, ``prompt``, then ``score__<model>`` in [0, 1] and
optionally ``cost_usd__<model>`` for every model.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REQUIRED = ("id", "prompt")
SCORE = "score__"
COST = "cost_usd__"


class DataError(ValueError):
    """The file cannot be evaluated; the message says why."""


@dataclass(frozen=True)
class OutcomeTable:
    name: str
    ids: list[str]
    sources: list[str]
    tasks: list[str]
    prompts: list[str]
    models: list[str]
    scores: np.ndarray  # (n, m) in [0, 1]
    costs: np.ndarray | None  # (n, m) USD per call, when the file records them

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: np.ndarray) -> OutcomeTable:
        idx = np.flatnonzero(rows) if rows.dtype == bool else rows
        pick = idx.tolist()
        return OutcomeTable(
            self.name, [self.ids[i] for i in pick], [self.sources[i] for i in pick],
            [self.tasks[i] for i in pick], [self.prompts[i] for i in pick], self.models,
            self.scores[idx], None if self.costs is None else self.costs[idx])


def load_table(path: str | Path) -> OutcomeTable:
    path = Path(path)
    csv.field_size_limit(sys.maxsize)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            rows = list(reader)
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (csv.Error, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CSV: {exc}") from exc
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    models = [c[len(SCORE):] for c in header if c.startswith(SCORE)]
    if not models:
        raise DataError(f"{path}: no score__<model> columns")
    has_costs = all(f"{COST}{m}" in header for m in models)
    if not rows:
        raise DataError(f"{path}: no rows")
    scores = np.empty((len(rows), len(models)))
    costs = np.empty((len(rows), len(models))) if has_costs else None
    for i, row in enumerate(rows):
        for j, m in enumerate(models):
            scores[i, j] = _number(path, i, f"{SCORE}{m}", row[f"{SCORE}{m}"])
            if costs is not None:
                costs[i, j] = _number(path, i, f"{COST}{m}", row[f"{COST}{m}"])
    if not ((scores >= 0) & (scores <= 1)).all():
        raise DataError(f"{path}: scores must lie in [0, 1]")
    return OutcomeTable(
        name=path.stem, ids=[r["id"] for r in rows],
        sources=[r.get("source") or path.stem for r in rows],
        tasks=[r.get("task") or "" for r in rows], prompts=[r["prompt"] for r in rows],
        models=models, scores=scores, costs=costs)


def _number(path: Path, i: int, column: str, text: str | None) -> float:
    try:
        value = float(text or "")
    except ValueError:
        raise DataError(f"{path}: row {i + 2}, column {column}: not a number: {text!r}") from None
    if not np.isfinite(value):
        raise DataError(f"{path}: row {i + 2}, column {column}: not finite")
    return value
