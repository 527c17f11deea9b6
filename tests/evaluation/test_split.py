"""The validation split is pinned: the shipped artifact (models/complexity.npz) and the offline
metrics (models/eval/metrics.json) were made on it, so it may never move.

Every expectation below was computed with the code before the split had one owner: training's
``held_out(source, row_id, seed)`` and evaluation's ``is_validation(source, row_id)`` /
``validation_mask(table)``, each with its own ``VALIDATION_SHARE = 0.2``.
"""

import csv
import hashlib
import sys

import numpy as np
import pytest

from router.evaluation.data import OutcomeTable
from router.evaluation.split import VALIDATION_SHARE, is_validation, validation_mask
from router.settings import ROOT

DATA = ROOT.parent / "shared" / "data" / "routing"
SOURCES = ("routerbench", "llmrouter", "routellm", "routeprofile")
SEEDS = (0, 1, 2, 7, -1)

# (source, row id) -> held out under seeds 0, 1, 2, 7, -1, from the old training ``held_out``
OLD_HELD_OUT = {
    ("routerbench", "0"): (False, False, False, False, False),
    ("routellm", "mmlu-17"): (False, False, True, True, False),
    ("routeprofile", "gsm8k:3"): (True, True, False, False, False),
    ("toy", "r3"): (False, False, False, True, False),
    ("toy", "r4"): (False, False, False, False, True),
    ("toy", "r5"): (False, True, True, False, False),
    ("toy", "r15"): (True, True, False, True, False),
    ("toy", "r17"): (False, False, True, False, True),
    ("", ""): (False, True, False, False, False),
}

# sha256 of the '0'/'1' string of the split of ``SYNTHETIC`` ids and how many of the 8,000 are
# held out, per seed, from the old code (seed 0: the old evaluation ``is_validation`` gave the
# same digest as the old training ``held_out``)
OLD_DIGESTS = {
    0: ("849d23037c04e98d0ddd6c77c974e71f4fc4b88f8b0e08963b171091b2f683bc", 1625),
    1: ("e94ee184e1ccae1d8d46b3948f5026b74ecc81c0ea29eb4d0063643ec75f1501", 1594),
    2: ("11158ad4ec5b59cf27918a1e0b66b4d64de4c30867e5d10ae3fd98cf52a16b0a", 1535),
    -3: ("81fe67c3bf83f14ef5c5955b0d873f356faef4bba23cb08ee44a043e0f6e71ec", 1601),
}
SYNTHETIC = [(s, f"id{k}") for s in SOURCES for k in range(2000)]


def _bits(mask) -> str:
    return "".join("1" if b else "0" for b in mask)


@pytest.mark.parametrize(("source", "row_id"), list(OLD_HELD_OUT))
def test_rows_are_held_out_exactly_as_the_old_training_split_held_them(source, row_id):
    got = tuple(is_validation(source, row_id, seed) for seed in SEEDS)
    assert got == OLD_HELD_OUT[(source, row_id)]


@pytest.mark.parametrize("seed", list(OLD_DIGESTS))
def test_the_split_of_eight_thousand_ids_matches_the_old_code_bit_for_bit(seed):
    bits = _bits(is_validation(s, i, seed) for s, i in SYNTHETIC)
    assert (hashlib.sha256(bits.encode()).hexdigest(), bits.count("1")) == OLD_DIGESTS[seed]


def test_without_a_seed_the_split_is_seed_zero_the_old_evaluation_split():
    bits = _bits(is_validation(s, i) for s, i in SYNTHETIC)
    assert hashlib.sha256(bits.encode()).hexdigest() == OLD_DIGESTS[0][0]


def test_seed_zero_hashes_source_and_id_alone_and_other_seeds_prefix_the_seed():
    def share_below(key: str) -> bool:
        digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64 < 0.2

    for s, i in SYNTHETIC[::50]:
        assert is_validation(s, i, 0) == share_below(f"{s}:{i}")
        assert is_validation(s, i, 5) == share_below(f"5:{s}:{i}")
    assert VALIDATION_SHARE == 0.2


def test_validation_mask_is_the_split_of_each_table_row_in_order():
    ids = [i for _, i in SYNTHETIC]
    sources = [s for s, _ in SYNTHETIC]
    n = len(ids)
    table = OutcomeTable("t", ids, sources, [""] * n, [""] * n, ["m"], np.zeros((n, 1)), None)
    mask = validation_mask(table)
    assert mask.dtype == bool
    assert hashlib.sha256(_bits(mask).encode()).hexdigest() == OLD_DIGESTS[0][0]
    assert _bits(validation_mask(table, seed=2)) == _bits(is_validation(s, i, 2)
                                                          for s, i in SYNTHETIC)


def _real_ids() -> list[tuple[str, str]]:
    """(source, id) of every row of the shared data, as training keys them."""
    csv.field_size_limit(sys.maxsize)
    ids = []
    for path in sorted(DATA.glob("*_train.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            ids += [(r.get("source") or path.stem.removesuffix("_train"), r["id"])
                    for r in csv.DictReader(fh)]
    with (DATA / "routeprofile_tokens.csv").open(newline="", encoding="utf-8") as fh:
        ids += sorted({("routeprofile", f"{r['task']}:{r['qid']}") for r in csv.DictReader(fh)})
    return ids


@pytest.mark.skipif(not (DATA / "routeprofile_tokens.csv").exists(),
                    reason=f"no shared routing data at {DATA}")
def test_the_real_data_holds_out_a_fifth_and_the_same_rows_as_before():
    ids = _real_ids()
    assert len(ids) == 18_812
    for seed, old_count in ((0, 3703), (1, 3828), (2, 3753)):  # the old code's counts
        held = [is_validation(s, i, seed) for s, i in ids]
        assert sum(held) == old_count
        assert abs(np.mean(held) - VALIDATION_SHARE) <= 0.01
