"""The ground truth: its JSON file and the detectors' score against it."""

from __future__ import annotations

import json
from pathlib import Path

from router.core.anomalies import DETECTOR_KINDS
from router.core.timeunits import DAY_US
from router.simulate import Anomaly, Truth, score


def _truth(*anomalies: Anomaly) -> Truth:
    return Truth(scenario="small", seed=1, days=3, start_us=0, now_us=DAY_US, calls=0,
                 teams=["finance", "legal"], agents=[], anomalies=list(anomalies))


def test_score_counts_true_and_false_detections_per_kind():
    truth = _truth(
        Anomaly("spend_spike", "finance", "reconciler", "", 0, 1),
        Anomaly("new_agent_spend", "legal", "redliner-v2", "", 0, 1),
        Anomaly("cost_per_call_rise", "legal", "", "", 0, 1),
        Anomaly("retry_loop", "finance", "invoice-parser", "invoice-parser-s1-00042", 0, 1),
        Anomaly("prediction_drift", "finance", "report-writer", "", 0, 1),
    )
    detected = [
        ("spend_spike", "finance", "reconciler", ""),  # tp
        ("spend_spike", "finance", "reconciler", ""),  # the same again: counted once
        ("spend_spike", "legal", "redliner", ""),  # fp
        ("new_agent_spend", "legal", "redliner-v2", "ignored"),  # tp: task_id not matched
        ("cost_per_call_rise", "legal", "", ""),  # tp
        ("cost_per_call_rise", "finance", "", ""),  # fp
        ("retry_loop", "finance", "invoice-parser", "invoice-parser-s1-00041"),  # fp, so fn
        ("weird", "finance", "x", ""),  # an unknown kind: fp of its own
    ]
    s = score(truth, detected)
    assert s["spend_spike"] == {"precision": 0.5, "recall": 1.0, "tp": 1, "fp": 1, "fn": 0}
    assert s["new_agent_spend"] == {"precision": 1.0, "recall": 1.0, "tp": 1, "fp": 0, "fn": 0}
    assert s["cost_per_call_rise"] == {"precision": 0.5, "recall": 1.0, "tp": 1, "fp": 1,
                                       "fn": 0}
    assert s["retry_loop"] == {"precision": 0.0, "recall": 0.0, "tp": 0, "fp": 1, "fn": 1}
    # nothing detected: no false alarm (precision 1) and a miss (recall 0)
    assert s["prediction_drift"] == {"precision": 1.0, "recall": 0.0, "tp": 0, "fp": 0,
                                     "fn": 1}
    assert s["weird"] == {"precision": 0.0, "recall": 1.0, "tp": 0, "fp": 1, "fn": 0}
    assert s["all"] == {"precision": 3 / 7, "recall": 3 / 5, "tp": 3, "fp": 4, "fn": 2}

    assert score(truth, [a.key() for a in truth.anomalies])["all"]["precision"] == 1.0
    clean = score(_truth(), [("spend_spike", "finance", "reconciler", "")])
    assert clean["spend_spike"] == {"precision": 0.0, "recall": 1.0, "tp": 0, "fp": 1, "fn": 0}


def test_truth_round_trips_through_json(tmp_path: Path):
    truth = _truth(Anomaly("retry_loop", "finance", "a", "t-1", 5, 9, {"calls": 120}))
    truth.stats = {"new": 3}
    truth.write(tmp_path / "t.json")
    assert Truth.load(tmp_path / "t.json") == truth


def test_score_reports_every_detector_kind_then_all_even_when_nothing_happened():
    assert list(score(_truth(), [])) == [k.value for k in DETECTOR_KINDS] + ["all"]
    assert set(score(_truth(), [])["all"].items()) == \
        {("precision", 1.0), ("recall", 1.0), ("tp", 0), ("fp", 0), ("fn", 0)}


def test_only_a_retry_loop_is_matched_on_its_task():
    loop = Anomaly("retry_loop", "finance", "a", "t-1", 0, 1)
    spike = Anomaly("spend_spike", "finance", "a", "t-1", 0, 1)
    assert loop.key() == ("retry_loop", "finance", "a", "t-1")
    assert spike.key() == ("spend_spike", "finance", "a", "")
    s = score(_truth(loop, spike), [("retry_loop", "finance", "a", "t-2"),
                                    ("spend_spike", "finance", "a", "t-2")])
    assert (s["retry_loop"]["tp"], s["spend_spike"]["tp"]) == (0, 1)


def test_the_truth_file_keeps_its_field_names():
    raw = json.loads(_truth(Anomaly("spend_spike", "finance", "a", "", 0, 1)).to_json())
    assert list(raw) == ["scenario", "seed", "days", "start_us", "now_us", "calls", "teams",
                         "agents", "anomalies", "stats", "spend_by_team", "errors", "quality"]
    assert list(raw["anomalies"][0]) == ["kind", "team", "agent", "task_id", "start_us",
                                         "end_us", "detail"]
