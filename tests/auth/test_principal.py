"""The role and scope rules, as pure functions of a Principal."""

from __future__ import annotations

import pytest

from router.auth import ANONYMOUS, SYSTEM, Principal, Role
from router.core.budgets import Scope
from router.core.errors import PermissionDenied, Unauthenticated
from router.core.records import Attribution

ENG = Principal("rk_000000000001", Role.TEAM, "eng")
ENG_BOT = Principal("rk_000000000002", Role.TEAM, "eng", frozenset({"bot"}))
ENG_BOTS = Principal("rk_000000000003", Role.TEAM, "eng", frozenset({"bot", "etl"}))
ENG_BUDGETS = Principal("rk_000000000004", Role.TEAM, "eng", permissions=frozenset({"budgets"}))
ENG_READER = Principal("rk_000000000005", Role.READER, "eng")
ALL_READER = Principal("rk_000000000006", Role.READER)
ADMIN = Principal("rk_000000000007", Role.ADMIN)


def test_a_team_key_fills_an_empty_team_and_spends_only_as_its_team():
    assert ENG.attribute(Attribution(agent="x")) == Attribution(team="eng", agent="x")
    same = Attribution(team="eng")
    assert ENG.attribute(same) is same  # nothing to fill: no copy on the hot path
    with pytest.raises(PermissionDenied, match=r"attribution\.team 'finance'"):
        ENG.attribute(Attribution(team="finance"))


def test_a_key_of_one_agent_fills_it_and_a_key_of_several_needs_one_of_them():
    assert ENG_BOT.attribute(Attribution()) == Attribution(team="eng", agent="bot")
    with pytest.raises(PermissionDenied, match="agent 'other'"):
        ENG_BOT.attribute(Attribution(agent="other"))
    with pytest.raises(PermissionDenied, match="bot, etl"):
        ENG_BOTS.attribute(Attribution())
    assert ENG_BOTS.attribute(Attribution(agent="etl")).agent == "etl"


@pytest.mark.parametrize("who", [ENG_READER, ALL_READER])
def test_readers_may_not_spend(who):
    with pytest.raises(PermissionDenied, match="reader key may read"):
        who.attribute(Attribution(team="eng"))


@pytest.mark.parametrize("who", [ADMIN, SYSTEM, ANONYMOUS])
def test_admins_and_an_open_server_spend_as_anyone(who):
    a = Attribution(team="finance", agent="x")
    assert who.attribute(a) is a


def test_another_teams_record_is_refused_in_the_words_used_for_a_missing_one():
    with pytest.raises(PermissionDenied) as other:
        ENG.check_owns(Attribution(team="finance"), "the decision")
    missing = ENG.missing("the decision", LookupError("decision 'd1' not found"))
    assert isinstance(missing, PermissionDenied) and str(missing) == str(other.value)
    error = LookupError("not found")
    assert ADMIN.missing("the decision", error) is error  # an admin may learn it is missing


def test_reads_of_a_team_key_or_reader_stop_at_the_team():
    for who in (ENG, ENG_READER):
        assert who.sees("eng") and not who.sees("finance")
        assert who.sees_scope(Scope(team="eng", agent="x"))
        assert not who.sees_scope(Scope())  # a budget over everyone reveals everyone's spend
        assert not who.sees_scope(Scope(team="finance"))
    for who in (ALL_READER, ADMIN, ANONYMOUS):
        assert who.sees("finance") and who.sees_scope(Scope())


def test_users_are_visible_inside_a_team_scope_and_to_admins_only():
    a = Attribution(team="eng", user="ana@example.com")
    assert ENG_READER.visible(a) is a and ADMIN.visible(a) is a
    assert ALL_READER.visible(a).user == ""
    with pytest.raises(PermissionDenied, match="within a team's scope"):
        ALL_READER.require_users_visible("group_by user")
    ENG_READER.require_users_visible("group_by user")


def test_administration_needs_an_admin_key():
    ADMIN.require_admin("making keys")
    with pytest.raises(Unauthenticated, match="Bearer"):
        ANONYMOUS.require_admin("making keys")
    for who in (ENG, ENG_BUDGETS, ALL_READER):
        with pytest.raises(PermissionDenied, match="admin key"):
            who.require_admin("making keys")


def test_budget_mutations_need_the_permission_and_stay_inside_the_team():
    assert ADMIN.budget_scope(Scope(), "x") == Scope()
    assert ENG_BUDGETS.budget_scope(Scope(agent="bot"), "x") == Scope(team="eng", agent="bot")
    with pytest.raises(PermissionDenied, match="outside"):
        ENG_BUDGETS.budget_scope(Scope(team="finance"), "x")
    with pytest.raises(PermissionDenied, match="'budgets' permission"):
        ENG.budget_scope(Scope(team="eng"), "x")
    with pytest.raises(PermissionDenied, match="admin key"):
        ENG_READER.budget_scope(Scope(team="eng"), "x")
    with pytest.raises(Unauthenticated):
        ANONYMOUS.budget_scope(Scope(team="eng"), "x")
    narrowed = Principal("rk_000000000008", Role.TEAM, "eng", frozenset({"bot"}),
                         frozenset({"budgets"}))
    assert narrowed.budget_scope(Scope(agent="bot"), "x").team == "eng"
    with pytest.raises(PermissionDenied, match="outside"):
        narrowed.budget_scope(Scope(), "x")  # the whole team is more than its agents
