"""`router budgets`: list, pause and resume against a real server."""

from __future__ import annotations

import pytest

from router.cli import main
from tests.cli.conftest import TOKEN


def test_list_shows_the_file_budgets_and_a_paused_scope_as_its_keys(admin_server, capsys):
    address = ["--address", admin_server.address]
    assert main(["budgets", "pause", *address, "--team", "finance", "--agent", "reconciler",
                 "--reason", "runaway loop", "--token", TOKEN]) == 0
    assert capsys.readouterr().out.strip() == "paused"
    assert main(["budgets", "list", *address]) == 0
    out = capsys.readouterr().out
    assert "finance-monthly" in out and "reconciler-daily-tokens" in out
    paused = [line for line in out.splitlines() if line.startswith("paused:")]
    assert len(paused) == 1
    assert paused[0].startswith("paused: team=finance, agent=reconciler since ")
    assert paused[0].endswith("(runaway loop)") and "{" not in paused[0]


def test_a_pause_reason_is_printed_as_written(admin_server, capsys):
    address = ["--address", admin_server.address]
    assert main(["budgets", "pause", *address, "--agent", "a", "--reason", "[bold]x[/bold]",
                 "--token", TOKEN]) == 0
    assert main(["budgets", "list", *address]) == 0
    assert "([bold]x[/bold])" in capsys.readouterr().out


def test_list_says_so_when_the_server_has_no_budgets(server, capsys):
    assert main(["budgets", "list", "--address", server.address]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no budgets" in captured.err and "ROUTER_BUDGETS_PATH" in captured.err


@pytest.mark.parametrize("verb", ["pause", "resume"])
def test_pause_and_resume_help_says_they_need_the_admin_token(verb, capsys):
    with pytest.raises(SystemExit) as done:
        main(["budgets", verb, "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "the server must be started with ROUTER_ADMIN_TOKEN" in text
    assert "--token" in text


def test_pause_then_resume_an_agent(admin_server, capsys, monkeypatch):
    monkeypatch.setenv("ROUTER_ADMIN_TOKEN", TOKEN)  # the default of --token
    address = ["--address", admin_server.address]
    assert main(["budgets", "pause", *address, "--agent", "reconciler"]) == 0
    assert main(["budgets", "resume", *address, "--agent", "reconciler"]) == 0
    assert main(["budgets", "resume", *address, "--agent", "reconciler"]) == 0
    assert capsys.readouterr().out.split("\n")[:3] == ["paused", "resumed", "was not paused"]


def test_an_admin_verb_without_the_token_says_how_to_give_it(admin_server, capsys):
    assert main(["budgets", "pause", "--address", admin_server.address,
                 "--agent", "reconciler"]) == 1
    err = capsys.readouterr().err
    assert "UNAUTHENTICATED" in err and "--token" in err and "ROUTER_ADMIN_TOKEN" in err


def test_an_admin_verb_on_a_server_without_a_token_names_the_setting(server, capsys):
    assert main(["budgets", "resume", "--address", server.address, "--agent", "reconciler",
                 "--token", TOKEN]) == 1
    err = capsys.readouterr().err
    assert "UNAUTHENTICATED" in err and "ROUTER_ADMIN_TOKEN" in err


def test_status_and_forecast_show_where_the_window_will_close(admin_server, capsys):
    address = ["--address", admin_server.address]
    assert main(["budgets", "status", *address, "finance-monthly"]) == 0
    status = capsys.readouterr().out
    assert "forecast at " in status and "does not run out in the window" in status
    assert main(["budgets", "forecast", *address, "finance-monthly"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("finance-monthly window ")
    assert "no_history, 0 h of history" in out and "does not run out in the window" in out
