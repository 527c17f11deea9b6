"""What a decision record keeps of the policy's candidates."""

from __future__ import annotations

from router.core.records import TOP_CANDIDATES, CandidateRecord, kept_candidates


def ranked(n: int) -> list[CandidateRecord]:
    """``n`` candidates m0..m(n-1), cheapest first (as the policy sorts them)."""
    return [CandidateRecord(f"m{i}", "p", 0.5, 10, 100 * (i + 1), 0) for i in range(n)]


def models(kept: tuple[CandidateRecord, ...]) -> list[str]:
    return [c.model for c in kept]


def test_the_chosen_model_its_fallbacks_and_the_nearest_cheaper_others_cheapest_first():
    kept = kept_candidates(ranked(12), "m6", ("m8", "m9"))
    # the five the policy passed over just before m6, then m6 and its fallbacks
    assert models(kept) == ["m1", "m2", "m3", "m4", "m5", "m6", "m8", "m9"]


def test_too_few_cheaper_ones_are_topped_up_with_the_next_pricier_ones():
    kept = kept_candidates(ranked(12), "m1", ("m2", "m4"))
    assert models(kept) == ["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"]
    assert len(kept) == 3 + TOP_CANDIDATES


def test_a_fallback_is_kept_however_far_from_the_chosen_model():
    kept = kept_candidates(ranked(32), "m0", ("m30", "m31"), others=2)
    assert models(kept) == ["m0", "m1", "m2", "m30", "m31"]


def test_a_short_list_is_kept_whole():
    candidates = ranked(1 + 3 + TOP_CANDIDATES)
    assert kept_candidates(candidates, "m4", ("m5", "m6", "m7")) == tuple(candidates)
    assert kept_candidates(ranked(1), "m0", ()) == tuple(ranked(1))
