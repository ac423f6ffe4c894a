"""Preconditioning, chemokinesis, arrest and secretion against exact or independent results.

Engine units: um, min, nM; pO2 in mmHg. Fixed seeds; statistical tolerances state the
standard error they cover.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tropism.errors import TropismError
from tropism.world.cellbio import (
    arrest_step,
    chemokinesis_scale,
    hypoxic_drive,
    preconditioning_decay,
    preconditioning_factor,
    secrete,
)
from tropism.world.sensing import build_sense

ORIGIN = np.zeros(3)
KD = 4.5  # nM, CXCL12-CXCR4 (disalvo2000)

# an illustrative parameter set (values for the tests only)
PRE = dict(fold_max=3.0, tau_rise=360.0, tau_decay=720.0, threshold=10.0, hill=4.0)


# ---------------------------------------------------------------------------------------------
# preconditioning


def test_preconditioning_limits():
    """0 min of culture -> 1; long anoxic culture -> fold_max; normoxia (160 mmHg vs a 10 mmHg
    threshold: H = 1 / (1 + 16^4) = 1.5e-5) -> 1 + H (fold_max - 1) = 1.00003."""
    assert preconditioning_factor(0.0, 0.0, 0.0, **PRE) == 1.0
    assert preconditioning_factor(0.0, 1.0e6, 0.0, **PRE) == pytest.approx(3.0, rel=1e-15)
    normoxic = preconditioning_factor(160.0, 1.0e6, 0.0, **PRE)
    assert normoxic - 1.0 == pytest.approx(2.0 / (1.0 + 16.0**4), rel=1e-9)


def test_preconditioning_by_hand_at_the_threshold():
    """pO2 = threshold: H = 1/2; after one rise time m_end = 1 + 2 * 0.5 * (1 - e^-1)."""
    m = preconditioning_factor(10.0, 360.0, 0.0, **PRE)
    assert m == pytest.approx(1.0 + 2.0 * 0.5 * (1.0 - math.exp(-1.0)), rel=1e-15)
    assert hypoxic_drive(10.0, 10.0) == 0.5
    assert hypoxic_drive(0.0, 10.0) == 1.0


def test_preconditioning_decay_half_life_and_composition():
    """m - 1 halves every tau_decay ln 2 in normoxia; reoxygenating a + b min before use equals
    a min before use and b min of decay during the run."""
    m_end = preconditioning_factor(1.0, 1440.0, 0.0, **PRE)
    half = preconditioning_factor(1.0, 1440.0, 720.0 * math.log(2.0), **PRE)
    assert half - 1.0 == pytest.approx(0.5 * (m_end - 1.0), rel=1e-14)
    a, b = 120.0, 300.0
    direct = preconditioning_factor(7.0, 720.0, a + b, **PRE)
    stepped = preconditioning_decay(preconditioning_factor(7.0, 720.0, a, **PRE), b, 720.0)
    assert stepped == pytest.approx(direct, rel=1e-14)
    t = np.array([0.0, 720.0, 1.0e6])
    np.testing.assert_allclose(
        preconditioning_decay(2.5, t, 720.0), [2.5, 1.0 + 1.5 / math.e, 1.0], rtol=1e-15
    )
    assert preconditioning_decay(2.5, 1.0e6, math.inf) == 2.5


def test_preconditioning_rejects_bad_values_in_one_line():
    with pytest.raises(TropismError, match="duration = -1.0: expected a number >= 0"):
        preconditioning_factor(1.0, -1.0, 0.0, **PRE)
    with pytest.raises(ValueError, match="threshold"):
        preconditioning_factor(1.0, 1.0, 0.0, **{**PRE, "threshold": 0.0})
    with pytest.raises(ValueError, match="tau_decay"):
        preconditioning_decay(2.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="t = "):
        preconditioning_decay(2.0, -1.0, 10.0)


# ---------------------------------------------------------------------------------------------
# chemokinesis


def _uniform_sense(values, shape=(3, 3, 1), spacing=10.0) -> np.ndarray:
    return build_sense(np.stack([np.full(shape, float(v)) for v in values]), spacing)


def _scale(receptors, pos, state, sense, ligand, kd, weight, gain):
    out = np.full(pos.shape[0], np.nan)
    chemokinesis_scale(
        np.asarray(receptors, dtype=float),
        pos,
        state,
        sense,
        ORIGIN,
        10.0,
        np.asarray(ligand, dtype=np.int64),
        np.asarray(kd, dtype=float),
        np.asarray(weight, dtype=float),
        float(gain),
        out,
    )
    return out


def test_chemokinesis_half_occupancy():
    """c = Kd: f = 1/2, so the multiplier is 1 + g/2; a non-migrating cell gets 1."""
    pos = np.array([[5.0, 5.0, 0.0], [25.0, 15.0, 0.0], [15.0, 15.0, 0.0]])
    state = np.array([0, 0, 1], dtype=np.int8)
    out = _scale(np.full((3, 1), 1e4), pos, state, _uniform_sense([KD]), [0], [KD], [1.0], 0.8)
    np.testing.assert_allclose(out, [1.4, 1.4, 1.0], rtol=1e-15)


def test_chemokinesis_mean_over_signalling_receptors():
    """CXCR4 at f = 1/2, CCR2 at f = 3/4 (c = 3 Kd), CXCR7 (weight 0) at f ~ 1: the multiplier
    is 1 + g (1/2 + 3/4) / 2. An antagonist halving CXCR4's weight removes half its term; a
    cell without CCR2 (knock-out) gets only CXCR4's; no signalling type -> 1."""
    sense = _uniform_sense([KD, 5.7, 300.0])
    pos = np.array([[12.0, 8.0, 0.0], [12.0, 8.0, 0.0]])
    state = np.zeros(2, dtype=np.int8)
    rec = np.array([[1e4, 2e3, 5e4], [1e4, 0.0, 5e4]])
    kd = [KD, 1.9, 0.4]
    g = 0.6
    out = _scale(rec, pos, state, sense, [0, 1, 2], kd, [1.0, 1.0, 0.0], g)
    np.testing.assert_allclose(out, [1.0 + g * 1.25 / 2, 1.0 + g * 0.5 / 2], rtol=1e-14)
    blocked = _scale(rec, pos, state, sense, [0, 1, 2], kd, [0.5, 1.0, 0.0], g)
    np.testing.assert_allclose(blocked, [1.0 + g * 1.0 / 2, 1.0 + g * 0.25 / 2], rtol=1e-14)
    none = _scale(rec, pos, state, sense, [0, 1, 2], kd, [0.0, 0.0, 0.0], g)
    np.testing.assert_array_equal(none, [1.0, 1.0])


# ---------------------------------------------------------------------------------------------
# arrest


def _arrest(pos, state, sense, rate, dt, uniforms, spacing=10.0, tumour_index=0):
    return arrest_step(
        pos, state, sense, ORIGIN, float(spacing), tumour_index, float(rate), float(dt), uniforms
    )


def test_arrest_probability_matches_poisson_process():
    """20,000 cells in tumour at density 0.6, rate 0.05 /min, dt 10 min: the arrested fraction
    is 1 - exp(-0.3) = 0.259 within 5 binomial standard errors (sd = 0.0031)."""
    rng = np.random.default_rng(11)
    n, rate, dt, u = 20_000, 0.05, 10.0, 0.6
    pos = np.zeros((n, 3))
    pos[:, :2] = rng.uniform(0.0, 30.0, (n, 2))
    state = np.zeros(n, dtype=np.int8)
    count = _arrest(pos, state, _uniform_sense([u]), rate, dt, rng.random(n))
    p = -math.expm1(-rate * u * dt)
    assert count == int(np.count_nonzero(state == 1))
    assert abs(count / n - p) < 5.0 * math.sqrt(p * (1.0 - p) / n)


def test_arrest_is_exactly_the_threshold_rule():
    """Cells at voxel centres of a non-uniform tumour field (values clipped to [0, 1]): a
    migrating cell arrests exactly when its uniform < 1 - exp(-rate u dt); other states stay."""
    rng = np.random.default_rng(12)
    h = 10.0
    density = rng.uniform(-0.2, 1.3, (4, 4, 1))
    sense = build_sense(density[None], h)
    ii, jj = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    pos = np.zeros((16, 3))
    pos[:, 0] = (ii.ravel() + 0.5) * h
    pos[:, 1] = (jj.ravel() + 0.5) * h
    state = rng.choice(np.array([0, 0, 1, 2], dtype=np.int8), 16)
    before = state.copy()
    uniforms = rng.random(16)
    count = _arrest(pos, state, sense, 0.02, 30.0, uniforms)
    p = -np.expm1(-0.02 * np.clip(density[ii, jj, 0].ravel(), 0.0, 1.0) * 30.0)
    expected = np.where((before == 0) & (uniforms < p), 1, before).astype(np.int8)
    np.testing.assert_array_equal(state, expected)
    assert count == int(np.count_nonzero((before == 0) & (uniforms < p)))


# ---------------------------------------------------------------------------------------------
# secretion


def test_secretion_totals_and_placement_are_exact():
    """Living cells (state 0, 1) each add rate dt = 1.5 molecules (exact in binary) to the
    voxel containing them; dead cells add nothing. Compared with an independent histogram."""
    rng = np.random.default_rng(13)
    shape, h, n = (5, 4, 3), 6.0, 1000
    pos = rng.uniform(-3.0, 33.0, (n, 3))  # some cells outside the 30 x 24 x 18 um grid
    state = rng.choice(np.array([0, 1, 2], dtype=np.int8), n)
    out = np.zeros((2, *shape))
    secrete(pos, state, ORIGIN, h, 3.0, 0.5, 1, out)
    alive = state != 2
    assert out[1].sum() == 1.5 * np.count_nonzero(alive)
    assert not out[0].any()
    idx = np.floor(pos[alive] / h).astype(np.int64)
    counts = np.zeros(shape)
    np.add.at(counts, tuple(np.clip(idx[:, a], 0, shape[a] - 1) for a in range(3)), 1.0)
    np.testing.assert_array_equal(out[1], 1.5 * counts)


def test_kernels_reject_bad_indices():
    pos, state = np.zeros((1, 3)), np.zeros(1, dtype=np.int8)
    with pytest.raises(ValueError, match="out_index"):
        secrete(pos, state, ORIGIN, 1.0, 1.0, 1.0, 2, np.zeros((2, 2, 2, 1)))
    with pytest.raises(ValueError, match="tumour_index"):
        _arrest(pos, state, _uniform_sense([0.5]), 0.1, 1.0, np.zeros(1), tumour_index=1)
    with pytest.raises(ValueError, match="ligand index"):
        _scale(np.ones((1, 1)), pos, state, _uniform_sense([1.0]), [3], [KD], [1.0], 0.5)
