"""``router learning show`` over a store that has learned something."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from router.cli import main
from router.core.learning import AGENT, TASK, Evidence
from router.store.sql import SqlStore


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'learned.db'}"
    store = SqlStore(url)
    store.migrate()
    # precision 4 + 12 = 16, weighted 16: a mean offset of +1.0, sd 0.25
    store.add_learning([Evidence(TASK, "invoice-matching", "qwen2.5-7b-instruct", 12.0, 16.0,
                                 40, 1_000),
                        Evidence(AGENT, "matcher", "qwen2.5-7b-instruct", 1.0, -0.5, 5, 900),
                        Evidence(TASK, "poems", "gpt-4o", 2.0, 0.0, 8, 800)])
    store.close()
    return url


def test_show_prints_every_offset_as_a_table(url: str, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["learning", "show", "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert "invoice-matching" in out and "poems" in out and "matcher" in out
    assert "+1.000" in out and "0.731" in out  # sigmoid(1.0): a 0.5 call learns to 0.73
    assert "(not yet)" in out  # the agent has fewer than 30 outcomes


def test_show_filters_by_task_type_and_agent_as_json(url: str,
                                                     capsys: pytest.CaptureFixture[str]):
    assert main(["learning", "show", "--database-url", url, "--task-type", "invoice-matching",
                 "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["level"] == TASK and row["model"] == "qwen2.5-7b-instruct"
    assert row["observations"] == 40 and row["prior_sd"] == 0.5
    assert row["mean"] == pytest.approx(1.0) and row["sd"] == pytest.approx(0.25)
    assert row["quality_at_half"] == pytest.approx(0.731059, abs=1e-6)
    low, high = row["quality_at_half_90"]
    assert low < row["quality_at_half"] < high
    assert main(["learning", "show", "--database-url", url, "--agent", "matcher",
                 "--task-type", "poems", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["level"], r["scope"], r["counts"]) for r in rows] == [
        (TASK, "poems", True), (AGENT, "matcher", False)]


def test_show_on_an_unmigrated_store_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["learning", "show", "--database-url",
                 f"sqlite:///{tmp_path / 'empty.db'}"]) == 2
    assert "router learning show" in capsys.readouterr().err
