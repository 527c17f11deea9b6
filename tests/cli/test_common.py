"""What every command that talks to a server shares (router.cli.common): --token on each, the
TLS settings named in its help, durations and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from router.cli import common, main

SERVER_COMMANDS = [["budgets", "list"], ["budgets", "status"], ["budgets", "pause"],
                   ["budgets", "resume"], ["report", "spend"], ["report", "chargeback"],
                   ["anomalies", "list"], ["anomalies", "watch"], ["keys", "create"],
                   ["keys", "list"], ["keys", "revoke"], ["audit", "list"]]


@pytest.mark.parametrize("command", SERVER_COMMANDS, ids=" ".join)
def test_every_command_that_calls_a_server_takes_a_token_and_names_the_tls_settings(
        command, capsys):
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--address" in text and "--token" in text
    assert "ROUTER_TLS_CA" in text and "ROUTER_TLS_CLIENT_CERT" in text


@pytest.mark.parametrize(("admin", "first"), [(False, "team-key"), (True, "admin-token")])
def test_the_token_default_depends_on_what_the_command_does(admin, first, monkeypatch):
    monkeypatch.setenv("ROUTER_API_KEY", "team-key")
    monkeypatch.setenv("ROUTER_ADMIN_TOKEN", "admin-token")
    assert common.token_default(admin=admin) == first
    monkeypatch.delenv("ROUTER_API_KEY")
    assert common.token_default(admin=admin) == "admin-token"
    monkeypatch.delenv("ROUTER_ADMIN_TOKEN")
    assert common.token_default(admin=admin) == ""


@pytest.mark.parametrize(("text", "seconds"), [
    ("30d", 30 * 86400), ("12h", 12 * 3600), ("1d12h", 36 * 3600), ("90m", 5400),
    ("45s", 45), ("2w", 14 * 86400)])
def test_durations(text, seconds):
    assert common.parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "30", "d", "30x", "1.5h", "-1d", "1d 2h"])
def test_what_is_not_a_duration(text):
    with pytest.raises(common.UsageError):
        common.parse_duration(text)


def test_since_is_a_duration_back_from_now_or_a_time_in_utc_unless_zoned():
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert common.parse_since("24h", "--since", now) == datetime(2026, 11, 27, 12, tzinfo=UTC)
    assert common.parse_since("2026-11-01", "--since") == datetime(2026, 11, 1, tzinfo=UTC)
    zoned = common.parse_since("2026-11-01T09:00:00+01:00", "--since")
    assert zoned == datetime(2026, 11, 1, 8, tzinfo=UTC)
    with pytest.raises(common.UsageError, match="--since"):
        common.parse_since("last week", "--since")


def test_a_malformed_since_is_a_usage_error_not_a_traceback(capsys):
    from router.cli import main

    assert main(["anomalies", "list", "--address", "127.0.0.1:1", "--since", "yesterday"]) == 2
    assert "--since" in capsys.readouterr().err
