"""A replica dies holding room on a block budget: the room stays taken past the holds' TTL, so
the other replica cannot spend it, and when the dead replica's calls are reported late the
budget is over its limit by no more than those calls' actual cost above their prediction.

(The finding: 12 holds expired after the TTL, the other replica spent the freed room, the 12
late reports then took spent to 856,700 nanos against a 700,000 limit, +22%.)"""

from __future__ import annotations

import dataclasses

from router.budgeting import SharedLedger
from router.core.budgets import rule_from_mapping
from router.core.clock import ManualClock
from router.core.errors import BudgetExhausted
from router.core.money import Money
from router.core.pricing import TokenCounts
from router.core.records import Attribution
from router.core.requests import RouteInput, UsageInput
from router.server import build_app
from router.service import build_services
from router.store.recorder import Recorder
from tests.conftest import make_settings

TASK = "Draft a polite reply declining the meeting invitation."
MODEL = "gpt-4o-mini"
KEYS = Attribution(team="ops", agent="mailer")


def test_a_dead_replicas_holds_keep_their_room_until_its_calls_are_reported(tmp_path,
                                                                             store_url):
    clock = ManualClock(1_795_867_200_000_000)
    settings = dataclasses.replace(make_settings(tmp_path, ledger="shared"),
                                   database_url=store_url)
    app = build_app(settings, clock)  # replica B, which lives on
    recorders = [Recorder(app.store).start() for _ in range(2)]

    def replica(recorder: Recorder):
        return build_services(settings, app.catalog, app.classifier, app.store, recorder, clock,
                              ledger=SharedLedger(app.store,
                                                  abandon_s=settings.hold_abandon_s))

    b = replica(recorders[1])
    try:
        probe = b.routing.route(RouteInput(task_description=TASK, allowed_models=(MODEL,)))
        cost = probe.decision.predicted_cost
        limit = cost * 12
        b.budgets.set(rule_from_mapping({
            "id": "mail", "scope": {"agent": "mailer"}, "limit": f"{limit / 1e9:.9f}",
            "window": "day", "hold_ttl_seconds": 60, "on_exhausted": "block"}))
        a = replica(recorders[0])  # replica A sees the budget as it starts
        routed = [a.routing.route(RouteInput(task_description=TASK, attribution=KEYS,
                                             allowed_models=(MODEL,))) for _ in range(12)]
        recorders[0].close()  # replica A dies after its decisions reached the store
        clock.advance(seconds=61)  # past the holds' TTL
        assert b.budgets.tick() == 0  # nothing is released: the calls may still be reported
        refused = 0
        for _ in range(5):
            try:
                b.routing.route(RouteInput(task_description=TASK, attribution=KEYS,
                                           allowed_models=(MODEL,)))
            except BudgetExhausted:
                refused += 1
        assert refused == 5  # the room is still taken by A's calls
        excess = 0
        for i, r in enumerate(routed):  # A's calls, reported late, each 1.5x the prediction
            actual = cost * 3 // 2
            excess += actual - cost
            b.usage.report(UsageInput(
                usage_id=f"late-{i}", decision_id=r.decision.decision_id,
                decision_token=r.token, tokens=TokenCounts(input=10, output=10),
                actual_cost=Money(actual, "USD")))
        status = b.budgets.status("mail")
        assert status.totals.held == 0
        assert status.totals.spent <= limit + excess
        assert app.store.ledger_sums() == app.store.window_rows()
    finally:
        recorders[1].close()
        app.close()


def test_a_restart_of_the_embedded_server_holds_its_unreported_calls_again(tmp_path):
    """The embedded ledger keeps holds in memory; a restart (or kill -9) must not free the room
    of calls routed before it and not yet reported."""
    path = tmp_path / "budgets.toml"
    path.write_text('schema_version = 1\n[[budgets]]\nid = "mail"\nscope = { agent = "mailer" }\n'
                    'limit = "1"\nwindow = "day"\n')
    settings = make_settings(tmp_path, budgets_path=str(path))
    first = build_app(settings)
    routed = first.services.routing.route(RouteInput(task_description=TASK, attribution=KEYS,
                                                     allowed_models=(MODEL,)))
    held = routed.budgets[0].totals.held
    assert held > 0
    first.close()  # the decision is committed; its hold lived in this process only
    again = build_app(settings)
    try:
        assert again.services.budgets.status("mail").totals.held == held
        again.services.usage.report(UsageInput(
            usage_id="u1", decision_id=routed.decision.decision_id,
            tokens=TokenCounts(input=10, output=10)))
        assert again.services.budgets.status("mail").totals.held == 0  # settled, once
    finally:
        again.close()
