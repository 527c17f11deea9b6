"""The model card's generated section and where it goes in models/README.md."""

import math

from router.training.card import END, START, card_section, update_card


def point(t, quality, cost, vs_q, vs_c):
    return {"t": t, "quality": quality, "cost": cost, "quality_vs_best": vs_q,
            "cost_vs_best": vs_c, "best_share": 0.5}


def metrics(**extra):
    """The smallest metrics dict ``train`` could return: one head, one routed source."""
    m = {
        "version": "complexity-v3-20260101-s0",
        "summary": {"prompts": 12_345, "held_out": 2_469, "heads": 1, "vocabulary": 20_000,
                    "artifact_bytes": 2_100_000, "train_seconds": 81.5, "mean_auc": 0.75,
                    "by_source": {"toy": {"prompts": 12_345, "held_out": 2_469}}},
        "heads": {"big": {"n_train": 90, "n_val": 10, "auc": 0.75, "log_loss": 0.5,
                          "brier": 0.2, "base_rate": 0.6},
                  "tiny": {"n_train": 3, "n_val": 0}},
        "difficulty": {"ability_path": {"mean_auc": 0.7, "log_loss": 0.55, "brier": 0.19},
                       "mmlu_fit": {"intercept": -3.0, "slope": 0.0455, "models": 18,
                                    "corr": 0.58},
                       "label_share_held_out": {"easy": 0.32, "medium": 0.34, "hard": 0.34}},
        "routing": {"toy": {
            "n": 10, "models": 2, "cost_basis": "recorded",
            "best_single": {"model": "big", "quality": 0.8, "cost": 0.002},
            "cheapest_single": {"model": "small", "quality": 0.4, "cost": 0.0001},
            "oracle": {"quality": 0.9, "cost": 0.0005},
            "policy": [point(0.5, 0.6, 0.0004, 0.75, 0.2), point(0.9, 0.8, 0.0019, 1.0, 0.95)],
            "cost_vs_best_at_quality": {"0.95": 0.5, "0.98": 0.9, "1.00": None}}},
        "output_tokens": {"toy": {"n": 1_000, "median_tokens": 47.2, "mdape": 0.459,
                                  "mdape_constant": 0.957, "mdape_source_median": 0.573,
                                  "mdape_model_median": math.nan}},
    }
    return m | extra


def test_the_section_sits_between_the_markers_with_every_table():
    text = card_section(metrics())
    assert text.startswith(START + "\n") and text.endswith("\n" + END)
    assert ("Artifact `complexity-v3-20260101-s0`: 12,345 distinct prompts, 2,469 held out "
            "(toy 12,345 (2,469 held out)); 1 heads; 20,000 terms; 2.1 MB; trained in 81.5 s."
            ) in text
    assert "| big | 90 | 10 | 0.750 | 0.500 | 0.200 | 0.600 |" in text
    assert "| tiny | 3 | 0 | n/a | n/a | n/a | n/a |" in text  # no held-out outcomes
    assert "| **mean** | | | 0.750 | | | |" in text
    assert "Labels on held-out prompts: easy 32%, medium 34%, hard 34%." in text
    assert "| toy | 10 | 2 | best single (big) | 0.800 | $0.002000 | 100% | 100% |" in text
    assert "| | | | cheapest single (small) | 0.400 | $0.000100 | 50.0% | 5.0% |" in text
    assert "| | | | t = 0.5 | 0.600 | $0.000400 | 75.0% | 20.0% |" in text
    assert "| | | | oracle | 0.900 | $0.000500 | 112.5% | 25.0% |" in text
    assert "| toy | recorded | 50.0% | 90.0% | never |" in text  # never reaches 100%
    assert ("- toy (n 1,000, median 47 tokens): 45.9%; baselines: one constant 95.7%, the "
            "source's median 57.3%, each model's median n/a") in text


def test_the_mmlu_path_input_tokens_and_latency_appear_only_when_measured():
    bare = card_section(metrics())
    assert "public MMLU instead" not in bare and "Input tokens" not in bare
    assert "Latency" not in bare
    m = metrics(
        input_tokens={"rows": 1_752, "tokenizer_fit": "llama", "coefficients": {"word": 1.1},
                      "fit_mdape": 0.044, "fit_mdape_leave_one_out": 0.046,
                      "estimate_tokens": {"mdape_all_tokenizers": 0.044, "mdape_llama": 0.038},
                      "chars_div_4": {"mdape_all_tokenizers": 0.059, "mdape_llama": 0.049}},
        latency_us={"n": 2_000, "mean_chars": 511.2, "p50": 73.4, "p90": 258.0, "p99": 405.0,
                    "max": 610.0, "p50_500": 104.0, "p99_500": 199.0})
    m["difficulty"]["mmlu_path"] = {"mean_auc": 0.71, "log_loss": 0.58, "brier": 0.196}
    text = card_section(m)
    assert ("mean AUC 0.710, log loss 0.580, Brier 0.196. MMLU fit over 18 models: ability = "
            "-3.000 + 0.0455 x MMLU (correlation 0.58).") in text
    assert "`estimate_tokens` 4.4% median error over all tokenizers, 3.8% on llama's" in text
    assert "Refit today: word 1.1 (in sample 4.4%, leave-one-out 4.6%)." in text
    assert "p50 73 µs, p90 258 µs, p99 405 µs, max 610 µs" in text


def test_zero_best_cost_shows_as_not_applicable_not_a_division_error():
    m = metrics()
    m["routing"]["toy"]["best_single"]["cost"] = 0.0
    assert "| | | | cheapest single (small) | 0.400 | $0.000100 | 50.0% | n/a |" in card_section(m)


def test_update_card_replaces_only_the_old_section(tmp_path):
    card = tmp_path / "README.md"
    card.write_text(f"# Card\n\nintro\n\n{START}\nold numbers\n{END}\n\ntail\n",
                    encoding="utf-8")
    update_card(card, metrics())
    assert card.read_text(encoding="utf-8") == (
        f"# Card\n\nintro\n\n{card_section(metrics())}\n\ntail\n")


def test_update_card_appends_a_section_to_a_card_without_markers(tmp_path):
    card = tmp_path / "README.md"
    card.write_text("# Card\n\nhand-written\n\n", encoding="utf-8")
    update_card(card, metrics())
    assert card.read_text(encoding="utf-8") == (
        f"# Card\n\nhand-written\n\n## Validation metrics\n\n{card_section(metrics())}\n")


def test_update_card_starts_a_missing_card(tmp_path):
    card = tmp_path / "models" / "README.md"
    card.parent.mkdir()
    update_card(card, metrics())
    text = card.read_text(encoding="utf-8")
    assert text.startswith("# Model card\n\n## Validation metrics\n\n" + START)
