"""Keys and the audit trail through the services: made, listed, revoked, seen by replicas,
and every administrative act recorded with who, when, before and after, never a secret."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from router.auth import BOOTSTRAP, Principal, Role
from router.auth.keys import KeySpec
from router.core.budgets import Scope, rule_from_mapping
from router.core.errors import NotFound, PermissionDenied, Unauthenticated
from router.core.records import Attribution
from router.service import Services, build_services
from router.settings import Settings

SETTINGS = Settings(decision_lookup_grace_ms=0, admin_token="boot", budget_refresh_s=0)
ENG_BUDGETS = KeySpec(Role.TEAM, "eng", permissions=frozenset({"budgets"}))


@pytest.fixture
def svc(store, recorder, catalog, classifier, clock) -> Services:
    return build_services(SETTINGS, catalog, classifier, store, recorder, clock)


def test_a_key_is_shown_once_and_stored_only_as_its_digest(svc, store, tmp_path: Path):
    made, secret = svc.keys.create(BOOTSTRAP, KeySpec(Role.TEAM, "eng", description="ci"))
    assert svc.keys.authenticate(f"Bearer {secret}").key_id == made.key_id
    [stored] = store.load_api_keys()
    assert stored.key_id == made.key_id and stored.digest == made.digest
    assert (stored.spec, stored.created_by) == (made.spec, "bootstrap")
    store.close()
    database = (tmp_path / "r.db").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("r.db-*"))  # the file and its write-ahead log
    assert made.key_id.encode() in database  # the id is there: the check itself can fail
    assert secret.encode() not in database and secret.split("_")[-1].encode() not in database


def test_only_an_admin_makes_lists_and_revokes_keys(svc):
    team, _ = svc.keys.create(BOOTSTRAP, KeySpec(Role.TEAM, "eng"))
    for call in (lambda who: svc.keys.create(who, KeySpec(Role.ADMIN)),
                 lambda who: svc.keys.list(who, True, ""),
                 lambda who: svc.keys.revoke(who, team.key_id)):
        with pytest.raises(PermissionDenied):
            call(team.principal)
    assert [k.key_id for k in svc.keys.list(BOOTSTRAP, False, "eng")] == [team.key_id]
    assert svc.keys.list(BOOTSTRAP, False, "finance") == []


def test_revoking_refuses_the_key_at_once_and_a_second_revocation_changes_nothing(svc, clock):
    made, secret = svc.keys.create(BOOTSTRAP, KeySpec(Role.READER))
    clock.advance(seconds=5)
    after, was_active = svc.keys.revoke(BOOTSTRAP, made.key_id)
    assert was_active and after.revoked_us == clock.now_us()
    with pytest.raises(Unauthenticated, match="revoked"):
        svc.keys.authenticate(f"Bearer {secret}")
    clock.advance(seconds=5)
    again, was_active = svc.keys.revoke(BOOTSTRAP, made.key_id)
    assert not was_active and again.revoked_us == after.revoked_us
    assert svc.keys.list(BOOTSTRAP, False, "") == []
    assert [k.key_id for k in svc.keys.list(BOOTSTRAP, True, "")] == [made.key_id]
    with pytest.raises(NotFound):
        svc.keys.revoke(BOOTSTRAP, "rk_000000000000")
    [revoke] = svc.audit.list(BOOTSTRAP, None, ("key.revoke",), 10)  # once, not twice
    assert revoke.before["key_id"] == made.key_id and "revoked_us" not in revoke.before
    assert revoke.after["revoked_us"] == after.revoked_us


def test_another_replica_sees_new_and_revoked_keys_when_it_refreshes(
        svc, store, recorder, catalog, classifier, clock):
    replica = build_services(SETTINGS, catalog, classifier, store, recorder, clock)
    made, secret = svc.keys.create(BOOTSTRAP, KeySpec(Role.READER))
    with pytest.raises(Unauthenticated):
        replica.keys.authenticate(f"Bearer {secret}")  # not refreshed yet
    replica.keys.refresh()
    assert replica.keys.authenticate(f"Bearer {secret}").key_id == made.key_id
    svc.keys.revoke(BOOTSTRAP, made.key_id)
    replica.keys.refresh()
    with pytest.raises(Unauthenticated, match="revoked"):
        replica.keys.authenticate(f"Bearer {secret}")


class SlowKeyReads:
    """A store whose next read of the keys pauses between reading and returning, so that a
    key made or revoked meanwhile races the periodic refresh's swap."""

    def __init__(self, store) -> None:
        self._store = store
        self.reading, self.changed = threading.Event(), threading.Event()
        self.armed = False

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    def load_api_keys(self):
        keys = self._store.load_api_keys()
        if self.armed:
            self.armed = False
            self.reading.set()
            self.changed.wait(0.3)  # fixed, the change waits for the refresh instead
        return keys


@pytest.mark.parametrize("change", ["revoke", "create"])
def test_a_refresh_under_way_does_not_undo_a_key_made_or_revoked_here(
        store, recorder, catalog, classifier, clock, change):
    """The periodic refresh read the keys just before an administrator revoked one: its swap
    must not bring the revoked key back to life (nor drop a key made meanwhile)."""
    slow = SlowKeyReads(store)
    svc = build_services(SETTINGS, catalog, classifier, slow, recorder, clock)
    made, secret = svc.keys.create(BOOTSTRAP, KeySpec(Role.READER))
    slow.armed = True
    refresher = threading.Thread(target=svc.keys.refresh)
    refresher.start()
    assert slow.reading.wait(5)
    if change == "revoke":
        svc.keys.revoke(BOOTSTRAP, made.key_id)
    else:
        made, secret = svc.keys.create(BOOTSTRAP, KeySpec(Role.READER))
    slow.changed.set()
    refresher.join(5)
    if change == "revoke":
        with pytest.raises(Unauthenticated, match="revoked"):
            svc.keys.authenticate(f"Bearer {secret}")
    else:
        assert svc.keys.authenticate(f"Bearer {secret}").key_id == made.key_id


def test_every_administrative_act_is_audited_with_who_and_before_and_after(svc, clock):
    made, secret = svc.keys.create(BOOTSTRAP, ENG_BUDGETS)
    eng = made.principal
    daily = rule_from_mapping({"id": "eng-day", "window": "day", "limit": "10"})
    svc.budgets.set(daily, eng)  # the team key's own budget: its team filled in
    clock.advance(seconds=1)
    svc.budgets.set(rule_from_mapping({"id": "eng-day", "window": "day", "limit": "20",
                                       "scope": {"team": "eng"}}), eng)
    svc.budgets.pause(Scope(agent="bot"), "runaway", eng)
    svc.budgets.resume(Scope(team="eng", agent="bot"), eng)
    svc.budgets.resume(Scope(team="eng", agent="bot"), eng)  # not paused: nothing happened
    svc.budgets.delete("eng-day", eng)
    svc.anomalies.detect_now(BOOTSTRAP)
    events = svc.audit.list(BOOTSTRAP, None, (), 100)
    assert [e.action for e in reversed(events)] == [
        "key.create", "budget.set", "budget.set", "scope.pause", "scope.resume",
        "budget.delete", "anomalies.detect"]
    by = {e.action: e for e in events}
    assert {e.principal for e in events} == {"bootstrap", made.key_id}
    first, second = (e for e in reversed(events) if e.action == "budget.set")
    assert first.before is None and first.after["scope"] == {"team": "eng"}
    assert second.before["limit"] == "10" and second.after["limit"] == "20"
    assert by["budget.delete"].before["limit"] == "20" and by["budget.delete"].after is None
    assert by["scope.pause"].after == {"scope": {"team": "eng", "agent": "bot"},
                                       "reason": "runaway"}
    assert by["key.create"].after["key_id"] == made.key_id
    assert all(secret not in repr(e) for e in events)
    ids = [e.event_id for e in events]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)  # newest first
    assert [e.action for e in svc.audit.list(BOOTSTRAP, None, ("budget.set",), 1)] == \
        ["budget.set"]
    with pytest.raises(PermissionDenied):
        svc.audit.list(eng, None, (), 10)


def test_a_team_key_cannot_overwrite_or_delete_another_teams_budget(svc):
    svc.budgets.set(rule_from_mapping({"id": "fin", "window": "day", "limit": "10",
                                       "scope": {"team": "finance"}}))
    eng = Principal("rk_000000000001", Role.TEAM, "eng", permissions=frozenset({"budgets"}))
    hijack = rule_from_mapping({"id": "fin", "window": "day", "limit": "0.000000001",
                                "scope": {"team": "eng"}})
    with pytest.raises(PermissionDenied) as overwrite:
        svc.budgets.set(hijack, eng)
    with pytest.raises(PermissionDenied) as delete:
        svc.budgets.delete("fin", eng)
    with pytest.raises(PermissionDenied) as missing:
        svc.budgets.delete("no-such-budget", eng)
    assert str(delete.value) == str(missing.value)  # nothing says which one exists
    assert "outside" in str(overwrite.value)
    assert svc.budgets.get("fin").limit == 10 * 10**9
    assert [e.action for e in svc.audit.list(BOOTSTRAP, None, (), 10)] == ["budget.set"]


def test_a_decision_never_stores_the_task_text(svc, store, recorder, tmp_path: Path):
    from router.core.requests import RouteInput

    secret_task = "Summarise the merger memo codenamed BLUEHERON-7731 for the board"
    result = svc.routing.route(RouteInput(task_description=secret_task,
                                          attribution=Attribution(team="eng", user="ana")))
    recorder.flush()
    store.close()
    database = b"".join(p.read_bytes() for p in tmp_path.glob("r.db*"))
    assert result.decision.decision_id.encode() in database  # the decision is stored
    assert b"BLUEHERON" not in database and b"merger memo" not in database


def test_a_certificate_subject_authenticates_as_one_key_at_a_time(
        svc, store, recorder, catalog, classifier, clock):
    from router.core.errors import Conflict

    subject = "O=finance,CN=reconciler"
    first, _ = svc.keys.create(BOOTSTRAP, KeySpec(Role.TEAM, "finance", subject=subject))
    with pytest.raises(Conflict, match=first.key_id):
        svc.keys.create(BOOTSTRAP, KeySpec(Role.TEAM, "growth", subject=subject))
    # a replica that has not seen the first key yet is stopped by the store
    stale = build_services(SETTINGS, catalog, classifier, store, recorder, clock)
    stale.keys.keyring.load([])
    with pytest.raises(Conflict):
        stale.keys.create(BOOTSTRAP, KeySpec(Role.TEAM, "growth", subject=subject))
    assert svc.keys.authenticate("", subject).team == "finance"
    svc.keys.revoke(BOOTSTRAP, first.key_id)
    second, _ = svc.keys.create(BOOTSTRAP, KeySpec(Role.TEAM, "growth", subject=subject))
    assert svc.keys.authenticate("", subject).key_id == second.key_id


def test_another_teams_decision_token_restores_nothing(svc, store, recorder):
    """A replica that lost a decision restores it from its token: never for another team."""
    import dataclasses

    from router.core import decision_token
    from router.core.requests import RouteInput, UsageInput

    routed = svc.routing.route(RouteInput(task_description="Reconcile the ledger",
                                          attribution=Attribution(team="finance")))
    lost = dataclasses.replace(routed.decision, decision_id="d-lost-0001")  # never recorded
    token = decision_token.sign(lost, svc.usage._decision_key)
    growth, _ = svc.keys.create(BOOTSTRAP, KeySpec(Role.TEAM, "growth"))
    with pytest.raises(PermissionDenied, match="outside"):
        svc.usage.prepare(UsageInput(usage_id="u-1", decision_id=lost.decision_id,
                                     decision_token=token), growth.principal)
    recorder.flush()
    assert store.get_decision(lost.decision_id) is None
    finance, _ = svc.keys.create(BOOTSTRAP, KeySpec(Role.TEAM, "finance"))
    svc.usage.prepare(UsageInput(usage_id="u-2", decision_id=lost.decision_id,
                                 decision_token=token), finance.principal)
    recorder.flush()
    assert store.get_decision(lost.decision_id) is not None  # its own team's: restored


def test_calls_are_authenticated_while_the_store_is_down(svc, store, monkeypatch):
    """The keyring is in process: a store outage fails the refresh (the server's schedule logs
    it and tries again), never a call whose key the keyring already holds."""
    from router.core.errors import StoreUnavailable

    made, secret = svc.keys.create(BOOTSTRAP, KeySpec(Role.TEAM, "eng"))

    def down(*args, **kwargs):
        raise StoreUnavailable("store unreachable: connection refused")

    monkeypatch.setattr(store, "load_api_keys", down)
    with pytest.raises(StoreUnavailable):
        svc.keys.refresh()
    assert svc.keys.authenticate(f"Bearer {secret}").key_id == made.key_id
    with pytest.raises(Unauthenticated):
        svc.keys.authenticate("Bearer rk_0123456789ab_" + "A" * 43)
