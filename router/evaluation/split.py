"""The validation split, for training and evaluation alike: a stable 20% of rows chosen by a hash
of (source, id), so both agree on it without sharing state and it never changes between runs.

Seed 0 is the split of the shipped artifact and of ``router eval``; other seeds (training on
other splits, to average a comparison over them) hash the seed in too. Training holds a prompt
out when any of its copies (the same text in two sources) is held out.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from router.evaluation.data import OutcomeTable

VALIDATION_SHARE = 0.2


def is_validation(source: str, row_id: str, seed: int = 0) -> bool:
    """Whether the row ``row_id`` of ``source`` is in the validation split of ``seed``."""
    key = f"{source}:{row_id}" if seed == 0 else f"{seed}:{source}:{row_id}"
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < VALIDATION_SHARE


def validation_mask(table: OutcomeTable, seed: int = 0) -> np.ndarray:
    """``is_validation`` of every row of ``table``, as a boolean array."""
    return np.array([is_validation(s, i, seed) for s, i in zip(table.sources, table.ids,
                                                               strict=True)], dtype=bool)
