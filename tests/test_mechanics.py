"""Soft-sphere mechanics with a cell list against exact pair results and brute force.

Engine units: um, min. Random configurations come from numpy.random.default_rng with fixed
seeds; tolerances are rounding bounds, stated where used.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tropism.world.mechanics import (
    CellList,
    build_cell_list,
    cell_list_geometry,
    push_displacements,
)


def _box(ndim: int, length: float) -> tuple[np.ndarray, np.ndarray]:
    lo = np.zeros(3)
    hi = np.array([length, length, length if ndim == 3 else 0.0])
    return lo, hi


def _brute_force(pos, radius, speed, active, dt):
    """O(N^2) reference written from the formula, independent of the kernel's code."""
    n = pos.shape[0]
    out = np.zeros((n, 3))
    for i in range(n):
        if not active[i]:
            continue
        d_vec = pos[i] - pos  # (n, 3), x_i - x_j
        d = np.sqrt((d_vec**2).sum(axis=1))
        d0 = radius[i] + radius
        touching = active & (d < d0) & (np.arange(n) != i)
        v = np.sqrt(speed[i] * speed)
        shift = 0.5 * (d0 - d) * (1.0 - np.exp(-2.0 * v * dt / d0))
        out[i] = (shift[touching, None] * d_vec[touching] / d[touching, None]).sum(axis=0)
    return out


@pytest.mark.parametrize("ndim", [2, 3])
def test_overlapping_pair_moves_apart_symmetrically_by_the_exact_amount(ndim):
    lo, hi = _box(ndim, 200.0)
    r, v, dt = 10.0, 10.0, 0.1
    direction = np.array([0.6, 0.8, 0.0]) if ndim == 2 else np.array([2.0, -1.0, 2.0]) / 3.0
    centre = np.array([100.0, 90.0, 0.0 if ndim == 2 else 95.0])
    d = 14.0  # overlap 6 um
    pos = np.vstack([centre - 0.5 * d * direction, centre + 0.5 * d * direction])
    out = push_displacements(
        pos, np.full(2, r), np.full(2, v), np.ones(2, bool), CellList(lo, hi, ndim), dt
    )
    # exact pair relaxation: each cell moves (delta / 2)(1 - exp(-2 v dt / d0)) outward
    d0 = 2 * r
    shift = 0.5 * (d0 - d) * -math.expm1(-2.0 * v * dt / d0)
    np.testing.assert_allclose(out[1], shift * direction, rtol=1e-13, atol=1e-15)
    # equal and opposite, bit for bit: the pair's centre does not move
    np.testing.assert_array_equal(out[0], -out[1])
    new = pos + out
    np.testing.assert_allclose(new.mean(axis=0), centre, rtol=0, atol=1e-12)
    # the overlap shrinks by exactly the factor exp(-2 v dt / d0)
    gap = d0 - np.linalg.norm(new[1] - new[0])
    assert gap == pytest.approx((d0 - d) * math.exp(-2.0 * v * dt / d0), rel=1e-12)
    if ndim == 2:
        assert np.all(out[:, 2] == 0.0)


def test_a_long_step_never_overshoots_and_unequal_kinds_use_the_geometric_mean():
    lo, hi = _box(2, 100.0)
    pos = np.array([[50.0, 50.0, 0.0], [58.0, 50.0, 0.0]])  # d = 8, d0 = 5 + 7 = 12
    radius = np.array([5.0, 7.0])
    speed = np.array([4.0, 9.0])  # v_ij = 6 um/min
    cells = CellList(lo, hi, 2)
    out = push_displacements(pos, radius, speed, np.ones(2, bool), cells, dt=1e6)
    # dt -> infinity: each moves half the overlap (2 um), landing exactly in contact
    np.testing.assert_allclose(out[:, 0], [-2.0, 2.0], rtol=1e-15)
    out = push_displacements(pos, radius, speed, np.ones(2, bool), cells, dt=0.05)
    assert out[1, 0] == pytest.approx(2.0 * -math.expm1(-2.0 * 6.0 * 0.05 / 12.0), rel=1e-14)


def test_no_force_beyond_contact_and_inactive_cells_are_ignored():
    lo, hi = _box(2, 100.0)
    r = 10.0
    # just beyond contact, exactly at contact, and far apart
    pos = np.array(
        [[10.0, 50.0, 0.0], [30.0 + 1e-9, 50.0, 0.0], [80.0, 50.0, 0.0], [60.0, 50.0, 0.0]]
    )
    out = push_displacements(
        pos, np.full(4, r), np.full(4, 10.0), np.ones(4, bool), CellList(lo, hi, 2), 0.1
    )
    np.testing.assert_array_equal(out[:2], 0.0)
    pos[1, 0] = 30.0  # d = d0: touching, no overlap, no push
    out = push_displacements(
        pos, np.full(4, r), np.full(4, 10.0), np.ones(4, bool), CellList(lo, hi, 2), 0.1
    )
    np.testing.assert_array_equal(out, 0.0)  # cells 2 and 3 are also exactly in contact
    # move cell 3 into cell 2: they push each other, unless one of them is inactive, which
    # then neither pushes nor is pushed
    pos[3, 0] = 65.0
    cells = CellList(lo, hi, 2)
    out = push_displacements(pos, np.full(4, r), np.full(4, 10.0), np.ones(4, bool), cells, 0.1)
    assert out[2, 0] > 0.0 and out[3, 0] == -out[2, 0]
    active = np.array([True, True, True, False])
    out = push_displacements(pos, np.full(4, r), np.full(4, 10.0), active, cells, 0.1)
    np.testing.assert_array_equal(out, 0.0)


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cell_list_equals_brute_force_on_random_configurations(ndim, seed):
    rng = np.random.default_rng(100 * ndim + seed)
    n = 400 if ndim == 2 else 600
    length = 300.0 if ndim == 2 else 120.0
    lo, hi = _box(ndim, length)
    pos = np.zeros((n, 3))
    pos[:, :ndim] = rng.uniform(0.0, length, size=(n, ndim))
    radius = rng.uniform(4.0, 11.0, size=n)  # two radii ranges mixed: bins follow r_max
    speed = rng.uniform(2.0, 20.0, size=n)
    active = rng.random(n) > 0.1
    dt = 0.3
    got = push_displacements(pos, radius, speed, active, CellList(lo, hi, ndim), dt)
    ref = _brute_force(pos, radius, speed, active, dt)
    assert np.count_nonzero(np.abs(ref).sum(axis=1)) > n // 4  # crowded: many contacts
    # same terms, different summation order: rounding only (|push| <= ~20 um)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    # Newton's third law holds for the sum: no net push on the whole population
    np.testing.assert_allclose(got.sum(axis=0), 0.0, atol=1e-10)


def test_cell_list_bins_are_wide_enough_and_capped():
    lo, hi = _box(3, 1000.0)
    nbins, width = cell_list_geometry(lo, hi, 3, 20.0, 10**6)
    assert np.all(width >= 20.0) and list(nbins) == [50, 50, 50]
    # a huge sparse box: at most max(64, 8 N) bins, still at least the contact distance wide
    lo, hi = _box(2, 1e6)
    nbins, width = cell_list_geometry(lo, hi, 2, 20.0, 10)
    assert nbins.prod() <= 80 and np.all(width[:2] >= 20.0) and nbins[2] == 1
    # counting sort: every active cell once, in ascending order within its bin
    rng = np.random.default_rng(5)
    pos = np.zeros((1000, 3))
    pos[:, :2] = rng.uniform(0.0, 100.0, size=(1000, 2))
    active = rng.random(1000) > 0.3
    nb, w = cell_list_geometry(np.zeros(3), np.array([100.0, 100.0, 0.0]), 2, 10.0, 1000)
    start, order, bin_of = build_cell_list(pos, active, np.zeros(3), w, nb)
    assert sorted(order.tolist()) == np.flatnonzero(active).tolist()
    for b in range(nb.prod()):
        members = order[start[b] : start[b + 1]]
        assert np.all(np.diff(members) > 0) and np.all(bin_of[members] == b)
    assert np.all(bin_of[~active] == -1)


def test_scenario_switch_pushes_crowded_cells_apart():
    # 150 cells of radius 10 um seeded in a 100 x 200 um band (area fraction ~2.4): with
    # mechanics on they spread out, with it off (the default) they overlap as seeded
    from scipy.spatial import cKDTree

    from tropism.scenario import load_scenario
    from tropism.study import run_replicate

    base = [
        "cells.msc.count=150",
        'cells.msc.speed="0.01 um/min"',
        'assay.length="200 um"',
        'assay.width="200 um"',
        'scenario.duration="1 h"',
    ]
    nearest = {}
    for switch in ("false", "true"):
        spec = load_scenario("msc-gradient-cxcl12", [*base, f"cells.msc.mechanics={switch}"])
        name, scenario = spec.conditions[0]
        assert scenario.cells["msc"].mechanics is (switch == "true")
        world = run_replicate(scenario, name, 0, keep_world=True).world
        pos = world.populations[0].pos[:, :2]
        d, _ = cKDTree(pos).query(pos, k=2)
        nearest[switch] = d[:, 1]
    # seeded at random the median nearest neighbour is ~7 um; pushed apart it approaches the
    # contact distance 2 r = 20 um (the band is too crowded for all to separate)
    assert np.median(nearest["false"]) < 10.0
    assert np.median(nearest["true"]) > 1.5 * np.median(nearest["false"])
