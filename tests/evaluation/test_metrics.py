"""Metric computations on small hand-made curves with answers worked out by hand."""

import pytest

from router.evaluation.metrics import (
    aiq,
    apgr,
    cost_fraction_at_quality,
    cpt,
    upper_hull,
)


def test_cost_fraction_is_the_cheapest_point_reaching_the_quality():
    curve = [(1.0, 0.50), (2.0, 0.78), (4.0, 0.79), (10.0, 0.80)]
    assert cost_fraction_at_quality(curve, best_cost=10.0, best_quality=0.80,
                                    fraction=0.95) == pytest.approx(0.2)  # 0.78 >= 0.76
    assert cost_fraction_at_quality(curve, 10.0, 0.80, 0.98) == pytest.approx(0.4)  # 0.784
    assert cost_fraction_at_quality(curve, 10.0, 0.80, 1.00) == pytest.approx(1.0)
    assert cost_fraction_at_quality([(1.0, 0.5)], 10.0, 0.80, 0.95) is None


def test_upper_hull_drops_dominated_and_concave_in_points():
    pts = [(0, 0.2), (1, 0.6), (2, 0.65), (3, 0.9), (4, 0.85), (2, 0.3)]
    # (2, 0.65) lies under the segment (1, .6)-(3, .9); (4, .85) is dominated by (3, .9)
    assert upper_hull(pts) == [(0, 0.2), (1, 0.6), (3, 0.9)]


def test_aiq_of_a_flat_router_is_its_quality():
    assert aiq([(0.0, 0.7)], 0.0, 1.0) == pytest.approx(0.7, abs=1e-6)


def test_aiq_averages_the_hull_over_the_cost_range():
    # hull: (0, 0) -> (1, 1), then flat at 1 until cost 2: area = 0.5 + 1 = 1.5 over a range of 2
    assert aiq([(0.0, 0.0), (1.0, 1.0)], 0.0, 2.0) == pytest.approx(0.75, abs=1e-3)
    # a dominated extra point changes nothing
    assert aiq([(0.0, 0.0), (1.0, 1.0), (1.5, 0.2)], 0.0, 2.0) == pytest.approx(0.75, abs=1e-3)
    # starting late scores zero before the first point: (1, .5) flat to 2 -> area .5 over 2
    assert aiq([(1.0, 0.5)], 0.0, 2.0) == pytest.approx(0.25, abs=1e-3)


def test_apgr_of_the_random_mix_is_one_half_and_of_a_perfect_router_near_one():
    # a random router's PGR grows linearly with its strong-call share
    random_mix = [(s / 10, 0.5 + 0.3 * s / 10) for s in range(11)]
    assert apgr(random_mix, q_weak=0.5, q_strong=0.8) == pytest.approx(0.5, abs=1e-3)
    # reaching the strong model's quality at 10% strong calls: area = 0.05 + 0.9
    assert apgr([(0.1, 0.8)], 0.5, 0.8) == pytest.approx(0.95, abs=1e-3)


def test_cpt_is_the_least_strong_share_reaching_the_pgr():
    curve = [(0.2, 0.6), (0.35, 0.65), (0.6, 0.74)]  # PGR 1/3, 1/2, 0.8 with weak .5 strong .8
    assert cpt(curve, 0.5, 0.8, 0.5) == pytest.approx(0.35)
    assert cpt(curve, 0.5, 0.8, 0.8) == pytest.approx(0.6)
    assert cpt(curve, 0.5, 0.8, 0.9) == pytest.approx(1.0)  # only all-strong gets there


def test_pgr_needs_a_gap():
    with pytest.raises(ValueError):
        apgr([(0.5, 0.5)], 0.6, 0.6)
