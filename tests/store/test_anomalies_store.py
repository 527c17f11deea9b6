"""Stored anomalies are incidents: detections of the same incident in overlapping windows are
one row, updated as it grows; rows stored before incidents were merged stay readable (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from router.core.anomalies import Anomaly, Kind
from router.store.sql import SqlStore

HOUR = 3_600_000_000
T0 = 1_795_867_200_000_000  # 2026-11-28 12:00 UTC


def drift(end: int, observed: float = 2.0, agent: str = "writer", hours: int = 24) -> Anomaly:
    return Anomaly(Kind.PREDICTION_DRIFT, "data", agent, "", end - hours * HOUR, end, observed,
                   1.0, f"{observed}x to {end}", {"ratio": observed, "end": end})


def test_an_incident_seen_in_later_windows_is_one_row_updated_to_the_latest(store):
    [first] = store.save_anomalies([drift(T0)], T0 + 60)
    assert store.save_anomalies([drift(T0 + HOUR, 2.5)], T0 + HOUR + 60) == []  # not new
    [(stored, detected_us)] = store.list_anomalies()
    assert detected_us == T0 + 60  # first detected
    assert stored.key() == first.key() and stored.window_start_us == T0 - 24 * HOUR
    assert (stored.window_end_us, stored.observed) == (T0 + HOUR, 2.5)
    assert stored.message == f"2.5x to {T0 + HOUR}" and stored.evidence["end"] == T0 + HOUR
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT last_detected_us FROM anomalies")).scalar_one() == \
            T0 + HOUR + 60


def test_one_run_judging_two_hours_stores_one_incident_with_the_later_window(store):
    [new] = store.save_anomalies([drift(T0 - HOUR, 1.8), drift(T0, 2.0)], T0)
    assert (new.window_start_us, new.window_end_us, new.observed) == (
        T0 - 25 * HOUR, T0, 2.0)
    [(stored, _)] = store.list_anomalies()
    assert stored == new


def test_an_older_window_judged_again_does_not_undo_the_latest(store):
    store.save_anomalies([drift(T0, 2.0)], T0)
    assert store.save_anomalies([drift(T0 - HOUR, 1.8)], T0 + 60) == []
    [(stored, _)] = store.list_anomalies()
    assert (stored.window_end_us, stored.observed) == (T0, 2.0)


def test_windows_that_do_not_meet_and_other_keys_are_other_incidents(store):
    store.save_anomalies([drift(T0, hours=1)], T0)
    later = store.save_anomalies([drift(T0 + 2 * HOUR, hours=1)], T0 + 2 * HOUR)  # a gap
    other = store.save_anomalies([drift(T0, agent="reader", hours=1)], T0)
    touching = store.save_anomalies([drift(T0 + HOUR, hours=1)], T0 + HOUR)  # no gap: same
    assert len(later) == 1 and len(other) == 1 and touching == []
    assert len(store.list_anomalies()) == 3


def test_rows_stored_before_incidents_were_merged_stay_readable_and_grow(store_url):
    old = SqlStore(store_url, sqlite_synchronous="NORMAL")
    old.migrate("0006")
    a = drift(T0)
    with old.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO anomalies (key, kind, team, agent, task_id, window_start_us, "
            "window_end_us, observed, baseline, message, evidence, detected_us) VALUES (:key, "
            ":kind, :team, :agent, '', :s, :e, 2.0, 1.0, 'old', :ev, :d)"),
            {"key": a.key(), "kind": a.kind.value, "team": a.team, "agent": a.agent,
             "s": a.window_start_us, "e": a.window_end_us, "ev": json.dumps({"ratio": 2.0}),
             "d": T0 + 5})
    old.close()
    store = SqlStore(store_url, sqlite_synchronous="NORMAL")
    try:
        store.migrate()
        [(stored, detected_us)] = store.list_anomalies()
        assert (stored.key(), stored.message, detected_us) == (a.key(), "old", T0 + 5)
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT last_detected_us FROM anomalies")
                                ).scalar_one() == T0 + 5
        assert store.save_anomalies([drift(T0 + HOUR, 3.0)], T0 + HOUR) == []
        [(grown, _)] = store.list_anomalies()
        assert grown.key() == a.key() and grown.observed == 3.0
    finally:
        store.close()
