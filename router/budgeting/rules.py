"""The budgets in force: the file's rules, the API's rules, and paused scopes."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import structlog

from router.core.budgets import (
    BudgetError,
    BudgetRule,
    Scope,
    load_budgets,
    rule_from_mapping,
    rule_to_mapping,
)
from router.core.errors import NotFound, PreconditionFailed, quoted
from router.core.records import Attribution
from router.store.base import BudgetStore, PausedRow

log = structlog.get_logger("router.budgets")
MAX_LOGGED_IDS = 100  # a load's log line names at most this many budgets (and counts them all)


def _ids(rules: tuple[BudgetRule, ...] | list[BudgetRule]) -> list[str]:
    return [r.id for r in rules[:MAX_LOGGED_IDS]]


@dataclass(frozen=True, slots=True)
class Pause:
    scope: Scope
    reason: str
    paused_us: int


class BudgetBook:
    """The budgets in force: the file's (policies as code, read-only over the API) and the
    API's (in the store, shared by replicas), plus paused scopes. Readers get an immutable
    snapshot; writers swap it."""

    def __init__(self, store: BudgetStore, path: str | None = None) -> None:
        self._store = store
        self._path = Path(path) if path else None
        self._file_mtime: float | None = None
        self._file: tuple[BudgetRule, ...] = ()
        self._api: dict[str, BudgetRule] = {}
        self._pauses: dict[str, Pause] = {}
        self._lock = threading.Lock()  # one writer at a time: a change, a refresh, a reload
        self.rules: tuple[BudgetRule, ...] = ()
        if self._path is not None:
            self._file = load_budgets(self._path)  # a bad file fails start-up, naming the line
            self._file_mtime = self._path.stat().st_mtime
            log.info("budgets.loaded", source=str(self._path), rules=len(self._file),
                     ids=_ids(self._file))
        self.refresh()

    @property
    def active(self) -> bool:
        """Does any budget or pause exist (else Route skips the ladder entirely)?"""
        return bool(self.rules or self._pauses)

    @property
    def file_ids(self) -> frozenset[str]:
        return frozenset(r.id for r in self._file)

    def _rebuild(self) -> None:
        file_ids = self.file_ids
        self.rules = self._file + tuple(r for i, r in sorted(self._api.items())
                                        if i not in file_ids)

    def refresh(self) -> None:
        """Re-read the API's budgets and the pauses from the store (other replicas' changes).

        The read and the swap hold the lock that this replica's own changes take, so a
        refresh that read the store just before a change cannot undo it."""
        with self._lock:
            api: dict[str, BudgetRule] = {}
            for budget_id, spec in self._store.load_budget_rules():
                try:
                    api[budget_id] = rule_from_mapping(json.loads(spec))
                except (BudgetError, ValueError) as exc:
                    log.error("budgets.bad_stored_rule", budget_id=budget_id, error=str(exc))
            pauses = {}
            for row in self._store.load_pauses():
                pauses[row.scope_key] = Pause(Scope(**json.loads(row.scope)), row.reason,
                                              row.paused_us)
            changed = api.keys() != self._api.keys()
            self._api, self._pauses = api, pauses
            self._rebuild()
        if changed:  # at start, and when another replica adds or removes one
            log.info("budgets.loaded", source="store", rules=len(api),
                     ids=sorted(api)[:MAX_LOGGED_IDS])

    def reload_file(self, force: bool = False) -> bool:
        """Re-read the budgets file if it changed; a bad file is logged and the old rules kept."""
        if self._path is None:
            return False
        try:
            mtime = self._path.stat().st_mtime
            if not force and mtime == self._file_mtime:
                return False
            rules = load_budgets(self._path)
        except (BudgetError, OSError) as exc:
            log.error("budgets.reload_failed", path=str(self._path), error=str(exc))
            return False
        with self._lock:
            self._file, self._file_mtime = rules, mtime
            self._rebuild()
        log.info("budgets.reloaded", source=str(self._path), rules=len(rules), ids=_ids(rules))
        return True

    def get(self, budget_id: str) -> BudgetRule:
        for rule in self.rules:
            if rule.id == budget_id:
                return rule
        raise NotFound(f"budget {quoted(budget_id)} not found")

    def is_from_file(self, budget_id: str) -> bool:
        return budget_id in self.file_ids

    def put(self, rule: BudgetRule, now_us: int) -> None:
        if self.is_from_file(rule.id):
            raise PreconditionFailed(f"budget {quoted(rule.id)} is declared in the budgets file; "
                                     "change it there")
        with self._lock:
            self._store.put_budget_rule(rule.id, json.dumps(rule_to_mapping(rule)), now_us)
            self._api[rule.id] = rule
            self._rebuild()

    def delete(self, budget_id: str) -> None:
        if self.is_from_file(budget_id):
            raise PreconditionFailed(f"budget {quoted(budget_id)} is declared in the budgets file; "
                                     "remove it there")
        with self._lock:
            if not self._store.delete_budget_rule(budget_id):
                raise NotFound(f"budget {quoted(budget_id)} not found")
            self._api.pop(budget_id, None)
            self._rebuild()

    def pause(self, scope: Scope, reason: str, now_us: int) -> Pause:
        pause = Pause(scope, reason, now_us)
        with self._lock:
            self._store.put_pause(PausedRow(scope.key(), json.dumps(scope.as_dict()), reason,
                                            now_us))
            self._pauses[scope.key()] = pause
        return pause

    def resume(self, scope: Scope) -> bool:
        with self._lock:
            was = self._store.delete_pause(scope.key())
            was = self._pauses.pop(scope.key(), None) is not None or was
        return was

    def pauses(self) -> list[Pause]:
        return sorted(self._pauses.values(), key=lambda p: p.scope.key())

    def paused(self, keys: Attribution) -> tuple[Pause | None, frozenset[str]]:
        """The pause that stops this call (if any), and the models paused for it."""
        models: set[str] = set()
        for p in list(self._pauses.values()):
            if p.scope.model is None:
                if p.scope.matches(keys):
                    return p, frozenset()
            elif p.scope.matches(keys, p.scope.model):
                models.add(p.scope.model)
        return None, frozenset(models)

