"""`router keys` against a real server: the key printed once and usable, listed without its
secret, revoked at once; and the read commands sending a key once the server requires one."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from router import v1 as pb
from router.auth.keys import key_id_of
from router.cli import main
from router.client import connect, stub
from tests.cli.conftest import TOKEN

KEY = re.compile(r"rk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def create(capsys, address: str, *args: str) -> tuple[list[str], str]:
    """``router keys create`` with the admin token: its summary lines and the key."""
    assert main(["keys", "create", "--address", address, "--token", TOKEN, *args]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert captured.err == ""
    return lines[:-1], lines[-1]


def route(address: str, key: str, team: str = "") -> pb.RouteResponse:
    with connect(address, key=key) as channel:
        return stub(channel).Route(pb.RouteRequest(
            task_description="Summarise this invoice in one line.",
            attribution=pb.Attribution(team=team)), timeout=10)


def code_of(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as failed:
        call()
    return failed.value.code()


def test_create_prints_the_key_alone_on_the_last_line_and_it_routes_as_its_team(
        admin_server, capsys):
    summary, secret = create(capsys, admin_server.address, "--team", "eng", "--agent", "bot",
                             "--description", "nightly batch")
    assert KEY.fullmatch(secret)
    key_id = key_id_of(secret)
    assert summary[0] == f"created {key_id}: team key, team eng, agent bot"
    assert "  expires never" in summary and "  description: nightly batch" in summary
    assert all(secret not in line for line in summary)

    decision = route(admin_server.address, secret)  # no team given: the key's
    with connect(admin_server.address, key=secret) as channel:
        recorded = stub(channel).GetDecision(
            pb.GetDecisionRequest(decision_id=decision.decision_id), timeout=10)
    assert (recorded.attribution.team, recorded.attribution.agent) == ("eng", "bot")
    assert code_of(lambda: route(admin_server.address, secret, team="finance")) \
        is grpc.StatusCode.PERMISSION_DENIED


def test_a_reader_key_reads_but_may_not_route(admin_server, capsys):
    summary, reader = create(capsys, admin_server.address, "--role", "reader")
    assert summary[0].endswith(": reader key, every team")
    assert code_of(lambda: route(admin_server.address, reader)) \
        is grpc.StatusCode.PERMISSION_DENIED
    assert main(["budgets", "list", "--address", admin_server.address, "--token", reader]) == 0
    assert "finance-monthly" in capsys.readouterr().out


def test_expiry_is_shown_and_kept(admin_server, capsys):
    summary, _ = create(capsys, admin_server.address, "--team", "eng", "--expires-in", "30d")
    expires = next(line for line in summary if line.startswith("  expires "))
    when = datetime.fromisoformat(expires.removeprefix("  expires ").replace("Z", "+00:00"))
    assert abs(when - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)
    create(capsys, admin_server.address, "--team", "ops", "--expires", "2999-01-01")
    assert main(["keys", "list", "--address", admin_server.address, "--token", TOKEN,
                 "--format", "json"]) == 0
    keys = {k["team"]: k for k in json.loads(capsys.readouterr().out)}
    assert keys["ops"]["expire_time"] == "2999-01-01T00:00:00Z"
    assert keys["eng"]["expire_time"].startswith(when.strftime("%Y-%m-%dT%H:%M"))


def test_list_shows_the_keys_and_never_a_secret(admin_server, capsys, monkeypatch):
    _, eng = create(capsys, admin_server.address, "--team", "eng", "--permission", "budgets",
                    "--description", "[bold]ci[/bold]")
    _, ops = create(capsys, admin_server.address, "--team", "ops")
    monkeypatch.setenv("COLUMNS", "200")
    listing = ["keys", "list", "--address", admin_server.address, "--token", TOKEN]
    assert main(listing) == 0
    out = capsys.readouterr().out
    assert key_id_of(eng) in out and key_id_of(ops) in out
    assert eng not in out and ops not in out
    # not even the secret part (which may itself hold a "_": cut after the id, not at the last)
    assert eng[len(key_id_of(eng) or "") + 1:] not in out
    row = next(line for line in out.splitlines() if key_id_of(eng) in line)
    assert "budgets" in row and "[bold]ci[/bold]" in row  # written as given, not markup

    assert main([*listing, "--team", "ops", "--format", "json"]) == 0
    text = capsys.readouterr().out
    keys = json.loads(text)
    assert [k["key_id"] for k in keys] == [key_id_of(ops)]
    assert keys[0]["role"] == "ROLE_TEAM" and keys[0]["created_by"] == "bootstrap"
    assert ops not in text and "secret" not in text


def test_revoke_refuses_the_key_at_once_and_list_all_shows_it(admin_server, capsys):
    _, secret = create(capsys, admin_server.address, "--team", "eng")
    key_id = key_id_of(secret)
    assert key_id is not None
    route(admin_server.address, secret)
    revoke = ["keys", "revoke", key_id, "--address", admin_server.address, "--token", TOKEN]
    assert main(revoke) == 0
    assert capsys.readouterr().out.strip() == f"revoked {key_id}"
    assert code_of(lambda: route(admin_server.address, secret)) \
        is grpc.StatusCode.UNAUTHENTICATED
    assert main(revoke) == 0
    assert capsys.readouterr().out.strip() == f"{key_id} was already revoked"

    listing = ["keys", "list", "--address", admin_server.address, "--token", TOKEN,
               "--format", "json"]
    assert main(listing) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main([*listing, "--all"]) == 0
    (key,) = json.loads(capsys.readouterr().out)
    assert key["key_id"] == key_id and "revoke_time" in key


def test_read_commands_need_a_key_once_keys_exist(admin_server, capsys, monkeypatch):
    address = ["--address", admin_server.address]
    assert main(["budgets", "list", *address]) == 0  # open: no key exists yet, loopback
    capsys.readouterr()
    _, team_key = create(capsys, admin_server.address, "--team", "finance")
    today = datetime.now(UTC).date()
    for command in (["budgets", "list"], ["anomalies", "list"], ["budgets", "status",
                                                                 "finance-monthly"],
                    ["report", "spend", "--since", str(today), "--until",
                     str(today + timedelta(days=1))]):
        assert main([*command, *address]) == 1, command
        err = capsys.readouterr().err
        assert "UNAUTHENTICATED" in err and "--token" in err and "ROUTER_API_KEY" in err
        assert main([*command, *address, "--token", team_key]) == 0, command
        capsys.readouterr()
    monkeypatch.setenv("ROUTER_API_KEY", team_key)  # the default of --token
    assert main(["budgets", "list", *address]) == 0
    assert "finance-monthly" in capsys.readouterr().out


def test_a_team_key_sees_its_team_only(admin_server, capsys):
    _, ops = create(capsys, admin_server.address, "--team", "ops")
    assert main(["budgets", "status", "finance-monthly", "--address", admin_server.address,
                 "--token", ops]) == 1
    assert "PERMISSION_DENIED" in capsys.readouterr().err


def test_token_defaults_read_the_api_key_first_and_admin_the_admin_token_first(
        admin_server, capsys, monkeypatch):
    _, team_key = create(capsys, admin_server.address, "--team", "finance")
    monkeypatch.setenv("ROUTER_API_KEY", team_key)
    monkeypatch.setenv("ROUTER_ADMIN_TOKEN", TOKEN)
    address = ["--address", admin_server.address]
    assert main(["keys", "list", *address]) == 0  # the admin token, not the team's key
    assert key_id_of(team_key) in capsys.readouterr().out
    monkeypatch.setenv("ROUTER_API_KEY", "rk_000000000000_" + "x" * 43)
    assert main(["budgets", "list", *address]) == 1  # the API key, though the token is set
    assert "UNAUTHENTICATED" in capsys.readouterr().err
    monkeypatch.delenv("ROUTER_API_KEY")
    assert main(["budgets", "list", *address]) == 0  # then the admin token
    assert main(["keys", "list", *address, "--token", team_key]) == 1
    assert "router keys list: PERMISSION_DENIED: " in capsys.readouterr().err


@pytest.mark.parametrize(("args", "words"), [
    ([], "--team is required"),
    (["--role", "admin", "--team", "eng"], "an admin key has no team"),
    (["--team", "eng", "--expires-in", "30x"], "not a duration"),
    (["--team", "eng", "--expires", "next week"], "--expires: not an ISO-8601"),
])
def test_bad_arguments_exit_2_before_any_call(args, words, capsys):
    # nothing listens at this address: the command must stop before it connects
    assert main(["keys", "create", "--address", "127.0.0.1:1", "--token", TOKEN, *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("router keys create: ")
    assert words in captured.err


@pytest.mark.parametrize(("args", "code"), [
    (["--role", "reader", "--agent", "bot"], "INVALID_ARGUMENT"),
    (["--team", "eng", "--expires", "2001-01-01"], "INVALID_ARGUMENT"),
])
def test_what_the_server_refuses_exits_1_with_its_code(admin_server, capsys, args, code):
    assert main(["keys", "create", "--address", admin_server.address, "--token", TOKEN,
                 *args]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"router keys create: {code}: ")


def test_without_the_admin_token_keys_are_refused_with_a_hint(admin_server, capsys):
    assert main(["keys", "create", "--address", admin_server.address, "--team", "eng"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("router keys create: UNAUTHENTICATED: ")
    assert "--token" in err and "ROUTER_ADMIN_TOKEN" in err
    assert main(["keys", "revoke", "rk_0123456789ab", "--address", admin_server.address,
                 "--token", TOKEN]) == 1
    assert capsys.readouterr().err.startswith("router keys revoke: NOT_FOUND: ")


def test_a_tls_setting_that_cannot_be_read_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ROUTER_TLS_CA", str(tmp_path / "missing.pem"))
    assert main(["keys", "list", "--address", "127.0.0.1:1", "--token", TOKEN]) == 2
    assert "ROUTER_TLS_CA" in capsys.readouterr().err
    assert main(["budgets", "list", "--address", "127.0.0.1:1"]) == 2
    assert "router budgets list: ROUTER_TLS_CA" in capsys.readouterr().err


def test_a_team_key_with_the_budgets_permission_pauses_inside_its_team(admin_server, capsys):
    _, key = create(capsys, admin_server.address, "--team", "finance", "--permission", "budgets")
    _, plain = create(capsys, admin_server.address, "--team", "finance")
    pause = ["budgets", "pause", "--address", admin_server.address, "--agent", "reconciler"]
    assert main([*pause, "--token", plain]) == 1
    assert "PERMISSION_DENIED" in capsys.readouterr().err
    assert main([*pause, "--token", key]) == 0
    assert capsys.readouterr().out.strip() == "paused"
    assert main(["budgets", "list", "--address", admin_server.address, "--token", key]) == 0
    assert "paused: team=finance, agent=reconciler" in capsys.readouterr().out
