"""The systemic compartment model against exact and independent results.

- stepping with ``expm(Q dt)`` matches the ODE dp/dt = p Q integrated by scipy's Radau
  (an independent stiff integrator) and the matrix exponential in one go;
- a closed-form two-compartment case: every cell trapped at first pass (venous blood ->
  lungs -> cleared), the Bateman solution;
- cells are conserved exactly in both modes;
- stochastic transitions: independent cells end in the compartments with multinomial
  counts of the expected probabilities (chi-square test) and the mean over replicates
  converges to ``expm``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import expm
from scipy.stats import chi2

from tropism.world.circulation import (
    ARTERIAL,
    CLEARED,
    COMPARTMENTS,
    LUNGS,
    TUMOUR,
    VENOUS,
    Circulation,
    CirculationParams,
    bound_signal,
    propagate,
    rate_matrix,
    transition_matrix,
    tumour_capture,
)
from tropism.world.grid import WorldError

PARAMS = CirculationParams(
    venous_transit=0.09,
    arterial_transit=0.04,
    lung_trapping=0.9,
    lung_half_time=1440.0,
    lung_release=0.1,
    liver_flow=0.25,
    liver_capture=0.5,
    liver_half_time=360.0,
    tumour_flow=0.01,
    other_capture=0.05,
    other_half_time=1440.0,
)
C = len(COMPARTMENTS)


def _start(route: int = VENOUS) -> np.ndarray:
    p0 = np.zeros(C)
    p0[route] = 1.0
    return p0


def test_rate_matrix_is_a_generator():
    q = rate_matrix(PARAMS, 0.3)
    assert np.allclose(q.sum(axis=1), 0.0, atol=1e-12)
    off = q - np.diag(np.diag(q))
    assert np.all(off >= 0)
    # absorbing compartments
    assert np.all(q[TUMOUR] == 0) and np.all(q[CLEARED] == 0)
    # first pass: the lung/arterial split of venous blood is the trapping probability
    assert q[VENOUS, LUNGS] / (q[VENOUS, LUNGS] + q[VENOUS, ARTERIAL]) == pytest.approx(0.9)


@pytest.mark.parametrize("route", [VENOUS, ARTERIAL])
def test_expected_stepping_matches_ode_and_expm(route):
    capture = 0.3
    q = rate_matrix(PARAMS, capture)
    t_end, dt = 1440.0, 10.0
    circ = Circulation(PARAMS, ["msc"], stochastic=False)
    circ.inject(0, 1000, "intravenous" if route == VENOUS else "intra_arterial")
    for _ in range(int(t_end / dt)):
        circ.step(np.array([capture]), dt)
    stepped = circ.fractions()[0]
    exact = propagate(_start(route), q, t_end)
    sol = solve_ivp(
        lambda t, p: p @ q, (0.0, t_end), _start(route), method="Radau", rtol=1e-10, atol=1e-13
    )
    ode = sol.y[:, -1]
    # constant rates: the product of the step propagators is expm(Q t) (scipy's, in one go)
    assert np.allclose(stepped, exact, rtol=1e-9, atol=1e-12)
    # and an independent integrator agrees to its tolerance
    assert np.allclose(exact, ode, rtol=1e-6, atol=1e-9)
    assert stepped.sum() == pytest.approx(1.0, abs=1e-12)


def test_closed_form_first_pass_trapping():
    """Every cell trapped at first pass, none released: V -> L -> X with rates k_v, k_l.

    V(t) = exp(-k_v t); L(t) = k_v / (k_l - k_v) (exp(-k_v t) - exp(-k_l t)) (Bateman).
    """
    params = CirculationParams(
        venous_transit=2.0,  # slow, so both exponentials matter
        arterial_transit=0.04,
        lung_trapping=1.0,
        lung_half_time=60.0,
        lung_release=0.0,
        liver_flow=0.25,
        liver_capture=0.5,
        liver_half_time=360.0,
        tumour_flow=0.01,
        other_capture=0.05,
        other_half_time=1440.0,
    )
    k_v, k_l = 1.0 / 2.0, math.log(2.0) / 60.0
    q = rate_matrix(params, 0.5)
    for t in (0.5, 3.0, 30.0, 200.0):
        p = propagate(_start(), q, t)
        v = math.exp(-k_v * t)
        lung = k_v / (k_l - k_v) * (math.exp(-k_v * t) - math.exp(-k_l * t))
        assert p[VENOUS] == pytest.approx(v, rel=1e-10)
        assert p[LUNGS] == pytest.approx(lung, rel=1e-10)
        assert p[CLEARED] == pytest.approx(1.0 - v - lung, rel=1e-9, abs=1e-14)
        assert p[ARTERIAL] == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("dt", [1e-3, 0.5, 10.0, 1440.0, 1e5])
def test_transition_matrix_equals_scipy_expm(dt):
    """Uniformisation with squaring against scipy's Pade matrix exponential."""
    q = rate_matrix(PARAMS, 0.2)
    p = transition_matrix(q, dt)
    assert np.allclose(p, expm(q * dt), rtol=1e-10, atol=1e-13)
    assert np.all(p >= 0)
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-15)


def test_stochastic_counts_are_multinomial_with_expected_probabilities():
    """Independent cells: after n steps the counts are Multinomial(N, p0 expm(Q t))."""
    n_cells, capture, dt, steps = 100_000, 0.4, 15.0, 48
    circ = Circulation(PARAMS, ["msc"], stochastic=True)
    circ.inject(0, n_cells, "intravenous")
    rng = np.random.default_rng(3)
    for _ in range(steps):
        circ.step(np.array([capture]), dt, rng)
        assert circ.counts.sum() == n_cells  # conservation, every step
    counts = circ.counts[0].astype(float)
    p = propagate(_start(), rate_matrix(PARAMS, capture), steps * dt)
    keep = p * n_cells > 5
    expected = p[keep] * n_cells
    stat = float(np.sum((counts[keep] - expected) ** 2 / expected))
    # chi-square goodness of fit (the rare compartments pooled); fixed seed
    rest_obs = n_cells - counts[keep].sum()
    rest_exp = n_cells - expected.sum()
    if rest_exp > 5:
        stat += (rest_obs - rest_exp) ** 2 / rest_exp
        dof = int(keep.sum())
    else:
        dof = int(keep.sum()) - 1
    assert chi2.sf(stat, dof) > 1e-3
    # each compartment within 5 binomial standard errors
    se = np.sqrt(p * (1 - p) / n_cells)
    assert np.all(np.abs(counts / n_cells - p) <= 5 * se + 1e-12)


def test_stochastic_mean_over_replicates_converges_to_expm():
    n_cells, capture, dt, steps, reps = 2_000, 0.4, 30.0, 24, 200
    rng = np.random.default_rng(11)
    total = np.zeros(C)
    for _ in range(reps):
        circ = Circulation(PARAMS, ["msc"], stochastic=True)
        circ.inject(0, n_cells, "intra_arterial")
        for _ in range(steps):
            circ.step(np.array([capture]), dt, rng)
        total += circ.fractions()[0]
    mean = total / reps
    p = propagate(_start(ARTERIAL), rate_matrix(PARAMS, capture), steps * dt)
    se = np.sqrt(p * (1 - p) / (n_cells * reps))
    assert np.all(np.abs(mean - p) <= 5 * se + 1e-12)
    assert mean.sum() == pytest.approx(1.0, abs=1e-12)


def test_arrivals_count_the_cells_entering_the_tumour():
    rng = np.random.default_rng(5)
    circ = Circulation(PARAMS, ["a", "b"], stochastic=True)
    circ.inject(0, 50_000, "intra_arterial")
    circ.inject(1, 50_000, "intravenous")
    total = np.zeros(2, dtype=np.int64)
    for _ in range(20):
        total += circ.step(np.array([0.8, 0.8]), 10.0, rng)
    assert np.array_equal(total, circ.counts[:, TUMOUR])
    # intra-arterial injection skips the lungs at first pass: more cells reach the tumour
    assert total[0] > 3 * total[1]
    # expected numbers: whole cells handed over, the fractional rest carried
    circ = Circulation(PARAMS, ["a"], stochastic=False)
    circ.inject(0, 50_000, "intra_arterial")
    handed = sum(int(circ.step(np.array([0.8]), 10.0)[0]) for _ in range(20))
    assert 0 <= circ.counts[0, TUMOUR] - handed < 1.0 + 1e-9


def test_intra_arterial_route_skips_the_lungs_at_first_pass():
    q = rate_matrix(PARAMS, 0.3)
    iv = propagate(_start(VENOUS), q, 60.0)
    ia = propagate(_start(ARTERIAL), q, 60.0)
    assert iv[LUNGS] > 0.85  # fischer2009: most IV cells held in the lungs
    assert ia[LUNGS] < iv[LUNGS]
    assert ia[TUMOUR] > 5 * iv[TUMOUR]


def test_bound_signal_and_capture():
    kd = np.array([4.5, 28.0])
    s = bound_signal(np.array([2000.0, 5000.0]), np.array([1.0, 0.0]), np.array([4.5, 4.5]), kd)
    assert s == pytest.approx(1000.0)  # half of CXCR4 bound; CXCR7 does not signal
    assert tumour_capture(0.0, 0.05, 0.5, 1000.0) == pytest.approx(0.05)
    assert tumour_capture(1000.0, 0.05, 0.5, 1000.0) == pytest.approx(0.30)
    assert tumour_capture(1e12, 0.6, 0.6, 1.0) == 1.0  # capped
    # more receptors (over-expression) or more chemokine: more capture
    lo = tumour_capture(bound_signal([2000.0], [1.0], [2.0], [4.5]), 0.05, 0.5, 1000.0)
    hi_r = tumour_capture(bound_signal([6000.0], [1.0], [2.0], [4.5]), 0.05, 0.5, 1000.0)
    hi_c = tumour_capture(bound_signal([2000.0], [1.0], [4.0], [4.5]), 0.05, 0.5, 1000.0)
    assert hi_r > lo and hi_c > lo


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"lung_trapping": 1.2}, "lung_trapping"),
        ({"venous_transit": 0.0}, "venous_transit"),
        ({"liver_flow": 0.7, "tumour_flow": 0.4}, "liver_flow \\+ tumour_flow"),
        ({"lung_half_time": -1.0}, "lung_half_time"),
    ],
)
def test_bad_parameters_name_themselves(change, match):
    values = {**PARAMS.__dict__, **change}
    with pytest.raises(WorldError, match=match):
        CirculationParams(**values)


def test_route_must_be_known():
    circ = Circulation(PARAMS, ["msc"])
    with pytest.raises(WorldError, match="route"):
        circ.inject(0, 10, "oral")
