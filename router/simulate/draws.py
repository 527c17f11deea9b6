"""Helpers shared by the seeded random draws of the population, the traffic and the anomalies."""

from __future__ import annotations


def clip(x: float, lo: float, hi: float) -> float:
    """``x`` bounded to [lo, hi]: keeps a lognormal draw's tails within what is plausible."""
    return min(hi, max(lo, x))
