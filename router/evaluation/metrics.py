"""Cost-quality metrics of routers, as the literature defines them. Pure numpy, no I/O.

A router evaluated at several settings of its trade-off knob gives a curve of points
(cost per query, mean quality). From it:

- ``cost_fraction_at_quality``: the least cost, as a fraction of the best single model's cost, of
  a point whose quality reaches ``fraction`` x the best single model's quality (None if none does).
- ``aiq`` (RouterBench, Hu et al. 2024): the area under the router's non-decreasing convex hull
  over a common cost range, divided by that range: its average quality across budgets.
- ``apgr`` and ``cpt`` (RouteLLM, Ong et al. 2024), for two models: PGR = (q - q_weak) /
  (q_strong - q_weak) as a function of the share of calls sent to the strong model; APGR is its
  area over [0, 1]; CPT(x) is the least strong-call share reaching PGR >= x.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Point = tuple[float, float]  # (cost or strong-call share, quality)


def cost_fraction_at_quality(curve: Sequence[Point], best_cost: float, best_quality: float,
                             fraction: float) -> float | None:
    target = fraction * best_quality - 1e-12
    costs = [c for c, q in curve if q >= target]
    if not costs or best_cost <= 0:
        return None
    return min(costs) / best_cost


def upper_hull(points: Sequence[Point]) -> list[Point]:
    """The non-decreasing upper convex hull: dominated and concave-in points removed."""
    pts = sorted(set(points))
    # keep only points that improve quality over every cheaper point (non-decreasing frontier)
    frontier: list[Point] = []
    for c, q in pts:
        if frontier and q <= frontier[-1][1]:
            continue
        while frontier and frontier[-1][0] == c:
            frontier.pop()
        frontier.append((c, q))
    hull: list[Point] = []
    for p in frontier:
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], p) >= 0:
            hull.pop()
        hull.append(p)
    return hull


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def aiq(curve: Sequence[Point], cost_min: float, cost_max: float) -> float:
    """Average quality over [cost_min, cost_max] of the router's non-decreasing convex hull.

    The hull is flat after its last point (spending more never lowers quality) and zero before
    its first (a router cannot serve a budget below its cheapest setting).
    """
    if cost_max <= cost_min:
        raise ValueError("cost_max must exceed cost_min")
    hull = upper_hull(curve)
    if not hull:
        return 0.0
    xs = np.array([c for c, _ in hull] + [max(cost_max, hull[-1][0])])
    ys = np.array([q for _, q in hull] + [hull[-1][1]])
    grid = np.linspace(cost_min, cost_max, 4001)
    values = np.interp(grid, xs, ys, left=0.0)
    values[grid < xs[0]] = 0.0
    return float(np.trapezoid(values, grid) / (cost_max - cost_min))


def pgr_curve(curve: Sequence[Point], q_weak: float, q_strong: float) -> list[Point]:
    """(strong-call share, PGR) with the all-weak (0, 0) and all-strong (1, 1) ends added."""
    gap = q_strong - q_weak
    if gap <= 0:
        raise ValueError("the strong model must score above the weak one")
    pts = {(0.0, 0.0), (1.0, 1.0)}
    pts.update((share, (q - q_weak) / gap) for share, q in curve)
    return sorted(pts)


def apgr(curve: Sequence[Point], q_weak: float, q_strong: float) -> float:
    """Average PGR over strong-call shares 0..1, the PGR curve linearly interpolated."""
    pts = pgr_curve(curve, q_weak, q_strong)
    # at equal share keep the best PGR (the router's best setting at that cost)
    best: dict[float, float] = {}
    for share, pgr in pts:
        best[share] = max(pgr, best.get(share, -np.inf))
    xs = np.array(sorted(best))
    ys = np.array([best[x] for x in xs])
    grid = np.linspace(0.0, 1.0, 2001)
    return float(np.trapezoid(np.interp(grid, xs, ys), grid))


def cpt(curve: Sequence[Point], q_weak: float, q_strong: float, pgr_target: float) -> float:
    """Least strong-call share among the router's settings whose PGR reaches ``pgr_target``.

    Always defined: calling the strong model every time (share 1) has PGR 1.
    """
    return min(share for share, pgr in pgr_curve(curve, q_weak, q_strong)
               if pgr >= pgr_target - 1e-12)
