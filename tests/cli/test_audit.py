"""`router audit list` against a real server: who made and revoked which key, newest first, as a
table or JSON, and never a secret."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from router.auth.keys import key_id_of
from router.cli import main
from router.cli.audit import change
from tests.cli.conftest import TOKEN
from tests.cli.test_keys import create


@pytest.fixture
def made_and_revoked(admin_server, capsys) -> tuple[str, str]:
    """A key made and revoked with the admin token: (its key id, its secret)."""
    _, secret = create(capsys, admin_server.address, "--team", "eng", "--agent", "bot")
    key_id = key_id_of(secret)
    assert key_id is not None
    assert main(["keys", "revoke", key_id, "--address", admin_server.address,
                 "--token", TOKEN]) == 0
    capsys.readouterr()
    return key_id, secret


def audit(address: str, *args: str) -> list[str]:
    return ["audit", "list", "--address", address, "--token", TOKEN, *args]


def secret_part(key_id: str, secret: str) -> str:
    """What follows ``rk_<id>_`` (its 43 characters may hold "_" themselves)."""
    assert secret.startswith(f"{key_id}_")
    return secret[len(key_id) + 1:]


def test_json_lists_the_acts_newest_first_by_bootstrap_without_the_secret(
        admin_server, made_and_revoked, capsys):
    key_id, secret = made_and_revoked
    assert main(audit(admin_server.address, "--format", "json")) == 0
    text = capsys.readouterr().out
    events = json.loads(text)
    assert [(e["action"], e["principal"], e["target"]) for e in events] == [
        ("key.revoke", "bootstrap", key_id), ("key.create", "bootstrap", key_id)]
    assert "before" not in events[1] and events[1]["after"]["team"] == "eng"
    assert "revoked_us" not in events[0]["before"] and "revoked_us" in events[0]["after"]
    assert secret not in text and secret_part(key_id, secret) not in text


def test_the_table_shows_who_did_what_and_the_change(admin_server, made_and_revoked, capsys,
                                                     monkeypatch):
    key_id, secret = made_and_revoked
    monkeypatch.setenv("COLUMNS", "250")
    assert main(audit(admin_server.address)) == 0
    out = capsys.readouterr().out
    assert secret not in out and secret_part(key_id, secret) not in out
    rows = [line for line in out.splitlines() if key_id in line]
    assert len(rows) == 2
    assert "bootstrap" in rows[0] and "key.revoke" in rows[0] and "revoked_us: ∅ → " in rows[0]
    assert "bootstrap" in rows[1] and "key.create" in rows[1]
    assert "+ agents=[bot], created_by=bootstrap, created_us=" in rows[1]
    assert "role=team, team=eng" in rows[1] and "key_id=" not in rows[1]  # the target's column


def test_filters_by_action_since_and_limit(admin_server, made_and_revoked, capsys):
    address = admin_server.address
    key_id, _ = made_and_revoked
    assert main(audit(address, "--action", "key.create", "--format", "json")) == 0
    assert [(e["action"], e["target"]) for e in json.loads(capsys.readouterr().out)] == \
        [("key.create", key_id)]
    assert main(audit(address, "--limit", "1", "--format", "json")) == 0
    assert [e["action"] for e in json.loads(capsys.readouterr().out)] == ["key.revoke"]
    assert main(audit(address, "--since", "1h", "--format", "json")) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert main(audit(address, "--since", later)) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "no audit events since" in captured.err


def test_a_pause_by_the_cli_is_in_the_trail(admin_server, capsys):
    assert main(["budgets", "pause", "--address", admin_server.address, "--team", "finance",
                 "--reason", "runaway", "--token", TOKEN]) == 0
    capsys.readouterr()
    assert main(audit(admin_server.address, "--format", "json")) == 0
    (event,) = json.loads(capsys.readouterr().out)
    assert (event["action"], event["principal"]) == ("scope.pause", "bootstrap")
    assert event["after"]["reason"] == "runaway"


def test_only_an_admin_reads_the_trail(admin_server, capsys):
    _, team_key = create(capsys, admin_server.address, "--team", "eng")
    base = ["audit", "list", "--address", admin_server.address]
    assert main([*base, "--token", team_key]) == 1
    assert capsys.readouterr().err.startswith("router audit list: PERMISSION_DENIED: ")
    assert main(base) == 1
    err = capsys.readouterr().err
    assert err.startswith("router audit list: UNAUTHENTICATED: ") and "--token" in err


@pytest.mark.parametrize(("args", "words"), [
    (["--since", "yesterday"], "--since: not an ISO-8601"),
    (["--limit", "0"], "--limit must be 1-1000"),
])
def test_bad_arguments_exit_2(args, words, capsys):
    assert main(audit("127.0.0.1:1", *args)) == 2
    assert words in capsys.readouterr().err


def test_an_unknown_action_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as done:
        main(audit("127.0.0.1:1", "--action", "key.steal"))
    assert done.value.code == 2
    assert "key.steal" in capsys.readouterr().err


def test_change_is_one_short_line():
    made = {"key_id": "rk_0123456789ab", "role": "team", "created_us": 1.7640432e15,
            "agents": ["a", "b"]}
    assert change(None, made) == ("+ agents=[a, b], created_us=2025-11-25 04:00:00, "
                                  "key_id=rk_0123456789ab, role=team")
    assert change(None, made, "rk_0123456789ab") == \
        "+ agents=[a, b], created_us=2025-11-25 04:00:00, role=team"
    assert change({"scope": {"team": "x", "agent": "a"}, "reason": "r"}, None) == \
        "- reason=r, scope={agent=a, team=x}"
    assert change({"limit": 5.0, "window": "day"}, {"limit": 7.5, "window": "day"}) == \
        "limit: 5 → 7.5"
    assert change({"a": "x" * 100}, {"a": "y"}) == f"a: {'x' * 59}… → y"
    assert change({"a": 1.0}, {"a": 1.0}) == "no change"
    assert change(None, None) == ""
