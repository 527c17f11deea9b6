"""`router anomalies list` against a real server."""

from __future__ import annotations

import pytest

from router.cli import main


@pytest.mark.parametrize("as_json", [False, True])
def test_list_says_so_on_stderr_when_there_are_none(server, capsys, as_json):
    assert main(["anomalies", "list", "--address", server.address,
                 *(["--json"] if as_json else [])]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""  # --json output stays parseable: no lines at all
    assert "no anomalies" in captured.err
