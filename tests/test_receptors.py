"""Receptor kinetics and ligand uptake against closed forms, solve_ivp and mass balance.

dR/dt = k_syn m - k_int f R - k_deg R (signalling receptor), R constant and clearance
k_int f R (scavenger). Engine units: um, min, nM. Fixed seeds throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from tropism.world.receptors import (
    AVOGADRO,
    molecules_to_nM,
    nM_to_molecules,
    receptor_step,
    relaxation,
    steady_synthesis,
    voxel_index,
)
from tropism.world.sensing import build_sense

KD = 4.5  # nM, CXCL12-CXCR4 (disalvo2000)
K_INT = 0.14  # 1/min, CXCR4 loss after SDF-1 (signoret1997)
K_DEG = 0.01  # 1/min, CXCR4 basal endocytosis (signoret1997)
ORIGIN = np.zeros(3)


def _uniform_sense(values, shape=(4, 4, 1), spacing=10.0) -> np.ndarray:
    """Sensed fields, one per entry of ``values``, each uniform over the grid."""
    fields = np.stack([np.full(shape, float(v)) for v in values])
    return build_sense(fields, spacing)


def _cells(n: int, rng: np.random.Generator, extent=(40.0, 40.0, 0.0)):
    pos = np.zeros((n, 3))
    for a in range(3):
        if extent[a] > 0:
            pos[:, a] = rng.uniform(0.0, extent[a], n)
    return pos, np.zeros(n, dtype=np.int8)


@dataclass(frozen=True)
class Kinetics:
    """Per-receptor-type constants of :func:`receptor_step` (lists, one entry per type)."""

    ligand: list
    kd: list
    k_int: list
    k_deg: list
    scavenger: list


CXCR4 = Kinetics(ligand=[0], kd=[KD], k_int=[K_INT], k_deg=[K_DEG], scavenger=[False])


def _step(receptors, pos, state, sense, kin, synthesis, dt, uptake=None, spacing=10.0):
    """One receptor_step; returns ``uptake`` (a fresh zero array unless one is given)."""
    if uptake is None:
        uptake = np.zeros((sense.shape[0], *sense.shape[2:]))
    receptor_step(
        receptors,
        pos,
        state,
        sense,
        ORIGIN,
        float(spacing),
        np.asarray(kin.ligand, dtype=np.int64),
        np.asarray(kin.kd, dtype=float),
        np.asarray(kin.k_int, dtype=float),
        np.asarray(kin.k_deg, dtype=float),
        np.asarray(synthesis, dtype=float),
        np.asarray(kin.scavenger, dtype=np.bool_),
        np.zeros(len(kin.scavenger)),  # recycle: none (the one-compartment form)
        float(dt),
        uptake,
    )
    return uptake


# ---------------------------------------------------------------------------------------------
# the exact step


@pytest.mark.parametrize("x", [0.0, 1e-12, 1e-8, 1e-4, 0.0099, 0.0101, 0.3, 1.0, 5.0, 50.0])
def test_relaxation_functions_match_independent_forms(x):
    """a = e^-x, p = (1 - e^-x)/x, g = (x - 1 + e^-x)/x^2, against a long Taylor sum for
    x <= 1 (40 terms, fsum; truncation < 1e-40) and the direct form for x > 1 (no cancellation
    there). Tolerance 1e-14 relative."""
    a, p, g = relaxation(x)
    if x <= 1.0:
        p_ref = math.fsum((-x) ** k / math.factorial(k + 1) for k in range(40))
        g_ref = math.fsum((-x) ** k / math.factorial(k + 2) for k in range(40))
    else:
        p_ref = (1.0 - math.exp(-x)) / x
        g_ref = (x - 1.0 + math.exp(-x)) / (x * x)
    assert a == pytest.approx(math.exp(-x), rel=1e-15)
    assert p == pytest.approx(p_ref, rel=1e-14)
    assert g == pytest.approx(g_ref, rel=1e-14)


def test_constant_occupancy_matches_closed_form():
    """At constant f the stepped R(t) and cumulative uptake equal the closed forms
    R(t) = R_inf + (R0 - R_inf) e^{-lam t}, U(t) = k_int f [R_inf t + (R0 - R_inf)(1 - e^{-lam t})
    / lam] for any step size (the update is exact), to 1e-11 relative after 60 steps."""
    rng = np.random.default_rng(1)
    n, c = 6, 3.0
    f = c / (c + KD)
    lam = K_INT * f + K_DEG
    r0 = rng.uniform(1e3, 5e4, (n, 1))
    syn = rng.uniform(0.0, 800.0, (n, 1))
    pos, state = _cells(n, rng)
    sense = _uniform_sense([c])
    receptors = r0.copy()
    uptake = np.zeros((1, 4, 4, 1))
    dt, steps = 0.7, 60
    for _ in range(steps):
        _step(receptors, pos, state, sense, CXCR4, syn, dt, uptake)
    t = dt * steps
    r_inf = syn / lam
    expected = r_inf + (r0 - r_inf) * math.exp(-lam * t)
    np.testing.assert_allclose(receptors, expected, rtol=1e-11)
    internalised = K_INT * f * (r_inf * t + (r0 - r_inf) * (-math.expm1(-lam * t)) / lam)
    assert uptake.sum() == pytest.approx(internalised.sum(), rel=1e-11)


def test_slowly_changing_ligand_matches_solve_ivp():
    """c(t) = c0 (1 + 0.5 sin(2 pi t / 120 min)), 3 h in steps of 0.05 min with the field taken
    at each step's midpoint (midpoint rule, error O(dt^2)); R(t) and the cumulative uptake
    against solve_ivp of dR/dt = s - (k_int f + k_deg) R, dU/dt = k_int f R (rtol 1e-11).
    Observed error 1.6e-7 relative (6.3e-7 at dt = 0.1: second order); tolerance 2e-6."""
    c0, period, syn, r0 = 5.0, 120.0, 300.0, 2.0e4

    def conc(t):
        return c0 * (1.0 + 0.5 * math.sin(2.0 * math.pi * t / period))

    def rhs(t, y):
        f = conc(t) / (conc(t) + KD)
        return [syn - (K_INT * f + K_DEG) * y[0], K_INT * f * y[0]]

    t_end, dt = 180.0, 0.05
    ref = solve_ivp(rhs, (0.0, t_end), [r0, 0.0], rtol=1e-11, atol=1e-9, method="DOP853")
    pos = np.array([[12.0, 23.0, 0.0]])
    state = np.zeros(1, dtype=np.int8)
    receptors = np.array([[r0]])
    uptake = np.zeros((1, 4, 4, 1))
    for k in range(round(t_end / dt)):
        sense = _uniform_sense([conc((k + 0.5) * dt)])
        _step(receptors, pos, state, sense, CXCR4, [[syn]], dt, uptake)
    assert receptors[0, 0] == pytest.approx(ref.y[0, -1], rel=2e-6)
    assert uptake.sum() == pytest.approx(ref.y[1, -1], rel=2e-6)


def test_steady_state_is_synthesis_over_loss():
    """After 2000 min (160 relaxation times) R = k_syn m / (k_int f + k_deg) to 1e-12."""
    c, syn = 9.0, 500.0
    f = c / (c + KD)
    receptors = np.array([[1.0e5], [10.0]])
    pos = np.array([[5.0, 5.0, 0.0], [35.0, 35.0, 0.0]])
    state = np.zeros(2, dtype=np.int8)
    sense = _uniform_sense([c])
    for _ in range(2000):
        _step(receptors, pos, state, sense, CXCR4, np.full((2, 1), syn), 1.0)
    np.testing.assert_allclose(receptors, syn / (K_INT * f + K_DEG), rtol=1e-12)


def test_no_ligand_steady_synthesis_holds_receptor_number():
    """Without ligand and with k_syn = k_deg R0, R stays R0 (signalling and scavenger alike)
    and nothing is taken up."""
    rng = np.random.default_rng(2)
    n = 50
    r0 = rng.lognormal(np.log([3.0e4, 1.0e4]), 0.5, (n, 2))
    k_deg = np.array([K_DEG, 0.05])
    syn = steady_synthesis(r0, k_deg)
    np.testing.assert_array_equal(syn, r0 * k_deg)
    pos, state = _cells(n, rng)
    receptors = r0.copy()
    sense = _uniform_sense([0.0, 0.0])
    uptake = np.zeros((2, 4, 4, 1))
    kin = Kinetics([0, 1], [KD, 0.4], [K_INT, 0.1], list(k_deg), [False, True])  # + CXCR7
    for _ in range(500):
        _step(receptors, pos, state, sense, kin, syn, 2.0, uptake)
    np.testing.assert_allclose(receptors, r0, rtol=1e-12)
    assert not uptake.any()


# ---------------------------------------------------------------------------------------------
# uptake: where and how much


def _voxels(pos, shape, spacing):
    """Independent voxel lookup: floor((x - origin) / h), clipped into the grid."""
    idx = np.floor(pos / spacing).astype(np.int64)
    return tuple(np.clip(idx[:, a], 0, shape[a] - 1) for a in range(3))


def test_signalling_uptake_equals_receptor_loss_voxel_by_voxel():
    """No synthesis or degradation: each molecule deposited is a receptor lost. On a 3-D grid
    with non-uniform fields, two receptor types reading different fields and some cells outside
    the grid (clamped to the edge voxel), the deposit per voxel and field equals the receptor
    loss binned independently (to 1e-12 relative; the sums differ only by rounding)."""
    rng = np.random.default_rng(3)
    shape, h, n = (6, 5, 4), 8.0, 400
    pos = rng.uniform(-5.0, 55.0, (n, 3))  # grid spans 48 x 40 x 32 um: some cells outside
    state = rng.choice(np.array([0, 1], dtype=np.int8), n)
    fields = rng.uniform(0.5, 20.0, (2, *shape))
    sense = build_sense(fields, h)
    r0 = rng.uniform(1e3, 1e5, (n, 2))
    receptors = r0.copy()
    kin = Kinetics([1, 0], [KD, 1.9], [0.3, 0.2], [0.0, 0.0], [False, False])
    uptake = _step(receptors, pos, state, sense, kin, np.zeros((n, 2)), 3.0, spacing=h)
    loss = r0 - receptors
    assert np.all(loss > 0)
    ix = _voxels(pos, shape, h)
    expected = np.zeros((2, *shape))
    np.add.at(expected[1], ix, loss[:, 0])  # receptor 0 reads field 1
    np.add.at(expected[0], ix, loss[:, 1])
    np.testing.assert_allclose(uptake, expected, rtol=1e-12, atol=1e-9)
    assert uptake.sum() == pytest.approx(loss.sum(), rel=1e-13)


def test_uptake_with_synthesis_and_degradation_is_only_the_ligand_share():
    """With synthesis and constitutive loss the uptake is k_int f * integral of R, not the
    receptor change: against the closed-form integral, one step of 5 min, 1e-12 relative."""
    c, syn, r0, dt = 2.0, 700.0, 4.0e4, 5.0
    f = c / (c + KD)
    lam = K_INT * f + K_DEG
    receptors = np.array([[r0]])
    pos, state = np.array([[20.0, 20.0, 0.0]]), np.zeros(1, dtype=np.int8)
    uptake = _step(receptors, pos, state, _uniform_sense([c]), CXCR4, [[syn]], dt)
    r_inf = syn / lam
    integral = r_inf * dt + (r0 - r_inf) * (1.0 - math.exp(-lam * dt)) / lam
    assert uptake[0, 2, 2, 0] == pytest.approx(K_INT * f * integral, rel=1e-12)
    assert uptake.sum() == uptake[0, 2, 2, 0]


def test_scavenger_keeps_receptors_and_clears_first_order():
    """A scavenger (CXCR7) keeps R and clears k_int f R dt. Cells sit at voxel centres of a
    linear field, so the sampled c is the voxel value exactly; f computed here by hand."""
    shape, h = (5, 3, 1), 10.0
    x = (np.arange(5) + 0.5) * h
    conc = np.broadcast_to((1.0 + 2.0 * x / h)[:, None, None], shape)  # 1.5 ... 9.5 nM
    sense = build_sense(conc[None], h)
    pos = np.array([[x[i], 15.0, 0.0] for i in range(5)])
    state = np.zeros(5, dtype=np.int8)
    r0 = np.linspace(1e4, 5e4, 5)[:, None]
    receptors = r0.copy()
    kd, k_int, dt = 0.4, 0.1, 2.5
    kin = Kinetics([0], [kd], [k_int], [0.3], [True])
    uptake = _step(receptors, pos, state, sense, kin, np.full((5, 1), 99.0), dt, spacing=h)
    np.testing.assert_array_equal(receptors, r0)
    c_cell = 1.0 + 2.0 * x / h
    expected = k_int * c_cell / (c_cell + kd) * r0[:, 0] * dt
    np.testing.assert_allclose(uptake[0, :, 1, 0], expected, rtol=1e-13)
    assert uptake.sum() == pytest.approx(expected.sum(), rel=1e-13)


def test_dead_cells_neither_change_nor_take_up_and_uptake_accumulates():
    """state 2 (dead) is skipped; state 1 (engrafted) still binds and internalises; the kernel
    adds to what ``uptake`` already holds."""
    pos = np.array([[5.0, 5.0, 0.0], [5.0, 5.0, 0.0], [5.0, 5.0, 0.0]])
    state = np.array([0, 1, 2], dtype=np.int8)
    receptors = np.full((3, 1), 1.0e4)
    uptake = np.full((1, 4, 4, 1), 7.0)
    kin = Kinetics([0], [KD], [K_INT], [0.0], [False])
    _step(receptors, pos, state, _uniform_sense([KD]), kin, np.zeros((3, 1)), 1.0, uptake)
    lost = 1.0e4 * -math.expm1(-K_INT * 0.5)
    np.testing.assert_allclose(receptors[:, 0], [1.0e4 - lost, 1.0e4 - lost, 1.0e4], rtol=1e-13)
    assert uptake[0, 0, 0, 0] == pytest.approx(7.0 + 2.0 * lost, rel=1e-13)
    assert np.all(uptake.ravel()[1:] == 7.0)


def test_negative_concentration_counts_as_zero():
    receptors = np.array([[1.0e4]])
    pos, state = np.array([[5.0, 5.0, 0.0]]), np.zeros(1, dtype=np.int8)
    kin = Kinetics([0], [KD], [K_INT], [0.0], [False])
    uptake = _step(receptors, pos, state, _uniform_sense([-1.0]), kin, [[0.0]], 1.0)
    assert receptors[0, 0] == 1.0e4
    assert not uptake.any()


def test_field_loss_equals_internalised_total():
    """The caller's recipe: subtract molecules_to_nM(uptake, V) from the field. The molecules
    the field loses equal the receptors lost (no synthesis or degradation), to 1e-12."""
    rng = np.random.default_rng(4)
    h, thickness, shape, n = 10.0, 10.0, (8, 8, 1), 300
    volume = h * h * thickness
    field = rng.uniform(5.0, 10.0, (1, *shape))
    pos, state = _cells(n, rng, extent=(80.0, 80.0, 0.0))
    receptors = np.full((n, 1), 2.0e3)
    kin = Kinetics([0], [KD], [K_INT], [0.0], [False])
    sense = build_sense(field, h)
    uptake = _step(receptors, pos, state, sense, kin, np.zeros((n, 1)), 1.0, spacing=h)
    after = field - molecules_to_nM(uptake, volume)
    lost = nM_to_molecules(field.sum() - after.sum(), volume)
    assert lost == pytest.approx(2.0e3 * n - receptors.sum(), rel=1e-9)


def test_molecules_to_nM_by_hand():
    """1 molecule in 1 um^3 = 1e-15 L: 1 / (6.02214076e23 * 1e-15) mol/L = 1.66054 nM."""
    assert molecules_to_nM(1.0, 1.0) == pytest.approx(1.6605390671738467, rel=1e-15)
    # 1 nM in 1 pL (1000 um^3) is 1e-21 mol = 602.214076 molecules
    assert molecules_to_nM(602.214076, 1000.0) == pytest.approx(1.0, rel=1e-15)
    np.testing.assert_allclose(
        molecules_to_nM(np.array([0.0, 2.0]), 2.0), [0.0, 1.66053907], rtol=1e-8
    )
    assert nM_to_molecules(molecules_to_nM(123.0, 50.0), 50.0) == pytest.approx(123.0, rel=1e-15)
    assert AVOGADRO == 6.02214076e23


def test_voxel_index_clamps_and_ignores_z_in_2d():
    o = np.array([-10.0, 0.0, 0.0])
    assert voxel_index(-10.0, 0.0, 0.0, o, 5.0, 4, 4, 1) == (0, 0, 0)
    assert voxel_index(-5.01, 9.99, 123.0, o, 5.0, 4, 4, 1) == (0, 1, 0)
    assert voxel_index(-5.0, 10.0, 0.0, o, 5.0, 4, 4, 1) == (1, 2, 0)
    assert voxel_index(100.0, -3.0, 0.0, o, 5.0, 4, 4, 1) == (3, 0, 0)
    assert voxel_index(math.nan, 19.999, 7.0, o, 5.0, 4, 4, 3) == (0, 3, 1)


def test_bad_shapes_are_rejected():
    sense = _uniform_sense([1.0])
    pos, state, rec = np.zeros((2, 3)), np.zeros(2, dtype=np.int8), np.ones((2, 1))
    bad_ligand = Kinetics([1], [KD], [K_INT], [K_DEG], [False])
    with pytest.raises(ValueError, match="ligand index"):
        _step(rec, pos, state, sense, bad_ligand, np.zeros((2, 1)), 1.0)
    with pytest.raises(ValueError, match="synthesis"):
        _step(rec, pos, state, sense, CXCR4, np.zeros((3, 1)), 1.0)
    with pytest.raises(ValueError, match="uptake"):
        _step(rec, pos, state, sense, CXCR4, np.zeros((2, 1)), 1.0, np.zeros((1, 4, 4, 2)))
    with pytest.raises(ValueError, match="dt"):
        _step(rec, pos, state, sense, CXCR4, np.zeros((2, 1)), -1.0)
