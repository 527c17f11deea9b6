"""The application services, one module per capability, each with only its own collaborators:

- ``routing``   Route and ListModels: classifier, policy, the budget gate, the decision record
- ``usage``     ReportUsage: pricing, attribution, exactly-once recording, calibration
- ``otlp``      OTLP trace ingestion: GenAI spans recorded as ReportUsage would record them
- ``feedback``  ReportFeedback: scores of calls' answers, recorded once, taught to the learner
- ``budgets``   budget and pause administration, their status, housekeeping
- ``reports``   GetDecision, QuerySpend, GetSavings
- ``anomalies`` the detectors, their findings, watchers and the webhook (``notify``)
- ``access``    API keys, the keyring that authenticates calls, the audit trail

``Services`` is the set one process runs, built once by ``build_services``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import structlog

from router import metrics
from router.auth import AuthMode, Keyring
from router.budgeting import BudgetBook, BudgetGate, Ledger, LocalLedger, ledger_for
from router.core.catalog import Catalog
from router.core.classifier import Classifier
from router.core.clock import Clock, SystemClock
from router.core.errors import StoreUnavailable
from router.core.otlp import parse_attribute_map
from router.core.timeunits import SECOND_US
from router.service.access import AuditLog, KeyService
from router.service.anomalies import AnomalyService, pause_kinds
from router.service.budgets import BudgetService, ForecastAlerts
from router.service.calibration import Calibration
from router.service.decisions import Decisions
from router.service.feedback import FeedbackResult, FeedbackService
from router.service.learning import Learning, OutcomeSink
from router.service.notify import Webhook
from router.service.otlp import TraceIngest
from router.service.reports import ReportService
from router.service.routing import RouteResult, RoutingService
from router.service.usage import UsageResult, UsageService
from router.settings import Settings
from router.store.base import Store, UsageWrite
from router.store.recorder import Recorder

log = structlog.get_logger("router.service")
MAX_RESTORED_DECISIONS = 100_000  # unreported decisions held again at start, oldest first

__all__ = ["AnomalyService", "AuditLog", "BudgetService", "FeedbackResult", "FeedbackService",
           "KeyService", "ReportService", "RouteResult", "RoutingService", "Services",
           "TraceIngest", "UsageResult", "UsageService", "build_services"]


@dataclass
class Services:
    routing: RoutingService
    usage: UsageService
    feedback: FeedbackService
    budgets: BudgetService
    reports: ReportService
    anomalies: AnomalyService
    keys: KeyService
    audit: AuditLog
    gate: BudgetGate
    decisions: Decisions
    calibration: Calibration
    learning: Learning
    traces: TraceIngest
    gauges: Gauges | None = field(default=None, repr=False)

    def close(self) -> None:
        """Queue what is still to be saved; stop sending notifications and being scraped."""
        self.calibration.save()
        try:
            self.learning.save()
        except StoreUnavailable as exc:  # kept in memory, and lost with the process
            log.warning("learning.save_failed", error=str(exc))
        self.anomalies.close()
        if self.gauges is not None:
            metrics.SOURCES.remove(self.gauges)


class Gauges:
    """What a scrape reads of one set of services: the budgets, the holds, the writer."""

    def __init__(self, gate: BudgetGate, recorder: Recorder, clock: Clock) -> None:
        self._gate, self._recorder, self._clock = gate, recorder, clock

    def samples(self) -> Iterator[tuple[str, dict[str, str], float]]:
        yield from self._gate.samples(self._clock.now_us())
        yield from self._recorder.samples()


def counting_usage(settle: Callable[[list[UsageWrite]], None],
                   counters: metrics.UsageCounters) -> Callable[[list[UsageWrite]], None]:
    """The recorder's commit hook: settle the ledger, then count the spend and tokens. The
    recorder calls it once per newly inserted usage (never for a replay), after its commit."""
    def on_commit(writes: list[UsageWrite]) -> None:
        settle(writes)
        for w in writes:
            u = w.record
            t = u.tokens
            counters.add(u.attribution.team, u.model, u.cost.total,
                         (t.input, t.cached_input, t.output, t.reasoning, t.cache_write))

    return on_commit


def build_services(settings: Settings, catalog: Catalog, classifier: Classifier, store: Store,
                   recorder: Recorder, clock: Clock | None = None,
                   budgets: BudgetBook | None = None, ledger: Ledger | None = None, *,
                   enforce_auth: bool = False, outcomes: OutcomeSink | None = None) -> Services:
    """Wire the services over one store and recorder (the ledger follows the store unless one
    is given, as tests do to run both ledgers over one database). ``enforce_auth``: require a
    key from the start (``router.auth.startup_mode`` decides it for a server). ``outcomes``
    learns from every first-time score of a routed call (usage quality, feedback); none: the
    learner routing reads does."""
    clock = clock or SystemClock()
    book = budgets if budgets is not None else BudgetBook(store, settings.budgets_path or None)
    if ledger is None:
        ledger = ledger_for(store, settings.hold_abandon_s)
        if isinstance(ledger, LocalLedger):  # its holds died with the last process: hold again
            now = clock.now_us()
            restored = ledger.restore(store.unreported_decisions(
                now - settings.hold_abandon_s * SECOND_US, MAX_RESTORED_DECISIONS),
                book.rules, now)
            if restored:
                log.info("budgets.holds_restored", holds=restored)
    recorder.on_commit = counting_usage(ledger.on_commit,
                                        metrics.UsageCounters(settings.metrics_max_label_values))
    gate = BudgetGate(book, ledger, fail_open=settings.budget_fail_open)
    if book.rules:  # the budgets' totals, so the first scrape has them (Route reads them anyway)
        try:
            ledger.statuses(book.rules, clock.now_us())
        except StoreUnavailable as exc:
            log.warning("budgets.totals_unread", error=str(exc))
    decisions = Decisions(store, recorder, settings.decision_cache_size,
                          settings.decision_lookup_grace_ms)
    recorder.on_request_taken = decisions.request_taken
    calibration = Calibration(store, recorder)
    learning = Learning(store, settings)
    # what the usage and feedback services teach with each first-time score
    outcomes = outcomes if outcomes is not None else learning
    # the key signing decision tokens: one per deployment, made by the first replica to start
    key = bytes.fromhex(store.secret("decision_token_key", lambda: secrets.token_hex(32),
                                     clock.now_us()))
    # the pepper API keys are hashed with (router.auth.keys): one per deployment, likewise
    pepper = bytes.fromhex(store.secret("api_key_pepper", lambda: secrets.token_hex(32),
                                        clock.now_us()))
    audit = AuditLog(store, clock)
    keys = KeyService(store, Keyring(pepper, admin_token=settings.admin_token,
                                     mode=AuthMode(settings.auth), enforce=enforce_auth),
                      audit, clock, pepper=pepper)
    webhook = Webhook(settings.anomaly_webhook_url) if settings.anomaly_webhook_url else None
    anomalies = AnomalyService(store, book, clock, history_days=settings.anomaly_history_days,
                               pause_on=pause_kinds(settings.anomaly_pause_kinds),
                               webhook=webhook, audit=audit)
    gauges = Gauges(gate, recorder, clock)
    metrics.SOURCES.add(gauges)
    usage = UsageService(settings, catalog, store, recorder, decisions, book, ledger,
                         calibration, clock, decision_key=key, outcomes=outcomes)
    return Services(
        routing=RoutingService(settings, catalog, classifier, decisions, recorder, gate,
                               calibration, clock, local_reads=store.local_reads,
                               decision_key=key, learning=learning),
        usage=usage,
        feedback=FeedbackService(settings, store, decisions, clock, outcomes=outcomes),
        # forecast alerts go out the anomalies' way: their store, streams and webhook
        budgets=BudgetService(catalog, book, ledger, clock, refresh_s=settings.budget_refresh_s,
                              audit=audit, spend=store,
                              alerts=ForecastAlerts(store, anomalies.hub, webhook, clock)),
        reports=ReportService(catalog, store, decisions),
        anomalies=anomalies,
        keys=keys, audit=audit, gate=gate, decisions=decisions, calibration=calibration,
        learning=learning, traces=TraceIngest(usage, parse_attribute_map(
            settings.otlp_attributes)), gauges=gauges,
    )
