"""Anomalies: run the detectors over the recent history, keep what is new, and tell people
(the log, WatchAnomalies streams, a webhook) and, when so configured, pause the agent."""

from __future__ import annotations

import structlog

from router import metrics
from router.auth import SYSTEM, Principal
from router.budgeting import BudgetBook
from router.core.anomalies import Anomaly, DetectorConfig, Kind, detect, incidents
from router.core.budgets import Scope
from router.core.clock import Clock
from router.core.timeunits import DAY_US, HOUR_US
from router.service.access import AuditLog
from router.service.notify import AnomalyHub, Detected, Webhook
from router.store.base import AnomalyStore

log = structlog.get_logger("router.anomalies")


def find_anomalies(store: AnomalyStore, now_us: int, history_days: int,
                   config: DetectorConfig) -> list[Anomaly]:
    """Every detector over the store's recent history (what the service runs on its schedule
    and ``router anomalies detect`` runs on demand). Judged as of now and as of the previous
    hour's end, so a run just after an hour boundary (or a restart) still sees the hour that
    just closed; the two judgments of one incident are merged into one (``incidents``)."""
    agents, teams, tasks = store.anomaly_inputs(now_us - history_days * DAY_US, now_us,
                                                now_us - DAY_US)
    return incidents(a for at in (now_us - HOUR_US, now_us)
                     for a in detect(at, agents, teams, tasks, config))


def pause_kinds(setting: str) -> frozenset[Kind]:
    """The anomaly kinds named in a comma-separated setting; ValueError names an unknown one."""
    kinds = set()
    for name in (k.strip() for k in setting.split(",")):
        if name:
            try:
                kinds.add(Kind(name))
            except ValueError:
                known = ", ".join(k.value for k in Kind)
                raise ValueError(f"unknown anomaly kind {name!r} (known: {known})") from None
    return frozenset(kinds)


class AnomalyService:
    def __init__(self, store: AnomalyStore, book: BudgetBook, clock: Clock, *,
                 history_days: int, pause_on: frozenset[Kind] = frozenset(),
                 webhook: Webhook | None = None, config: DetectorConfig | None = None,
                 audit: AuditLog | None = None) -> None:
        self._store = store
        self._audit = audit
        self._book = book
        self._clock = clock
        self._history_days = history_days
        self._pause_on = pause_on
        self.config = config or DetectorConfig()
        self.hub = AnomalyHub()
        self.webhook = webhook

    def detect(self) -> list[Detected]:
        """Run every detector over the recent history; store, log and announce what is new.

        An incident is announced (logged, published to WatchAnomalies, POSTed to the webhook,
        and the agent paused for the configured kinds) once, when it is first detected; later
        runs that see it again update the stored incident (its latest window, values, message
        and evidence, which ListAnomalies shows) without announcing it again. The work is
        bounded by the history window (hourly rollup rows) and one day of tasks."""
        now = self._clock.now_us()
        found = find_anomalies(self._store, now, self._history_days, self.config)
        new = [Detected(a, now) for a in self._store.save_anomalies(found, now)]
        for d in new:
            a = d.anomaly
            metrics.ANOMALIES.labels(a.kind.value).inc()
            log.warning("anomaly.detected", kind=a.kind.value, team=a.team, agent=a.agent,
                        task_id=a.task_id, observed=a.observed, baseline=a.baseline,
                        message=a.message)
            if a.kind in self._pause_on and a.agent:
                scope = Scope(team=a.team or None, agent=a.agent)
                self._book.pause(scope, f"auto-paused: {a.message}", now)
                log.warning("anomaly.paused", scope=scope.describe(), kind=a.kind.value)
        if new:
            self.hub.publish(new)
            if self.webhook is not None:
                self.webhook.send(new)
        return new

    def detect_now(self, who: Principal) -> list[Detected]:
        """``detect`` on an administrator's demand (it may pause agents), audited."""
        who.require_admin("running the detectors")
        found = self.detect()
        if self._audit is not None:
            self._audit.record(who, "anomalies.detect", "detectors", None,
                               {"new": [d.anomaly.key() for d in found]})
        return found

    def list(self, since_us: int | None, kinds: tuple[str, ...], limit: int,
             who: Principal = SYSTEM) -> list[Detected]:
        """Stored anomalies that ``who`` may see, newest first."""
        return [Detected(a, at) for a, at in self._store.list_anomalies(
            since_us, kinds, limit, who.team or None)]

    def close(self) -> None:
        if self.webhook is not None:
            self.webhook.close()
