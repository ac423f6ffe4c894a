"""Tests of the tumour kernels against closed forms, hand values and scipy's solve_ivp / quad."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp

from tropism.world.grid import Grid
from tropism.world.tumour import (
    burden,
    grow,
    hif_drive,
    hif_update,
    lq_survival,
    pulse,
    pulse_peak_time,
    trail_kill_rate,
    tumour_edge_distance,
)

ALPHA, BETA = 0.27, 0.038  # glioma LQ, 1/Gy and 1/Gy^2 (fan2011; budach1995)

# --------------------------------------------------------------------------- linear-quadratic


def test_lq_survival_hand_values():
    assert lq_survival(0.0, ALPHA, BETA) == 1.0
    assert lq_survival(2.0, ALPHA, BETA) == pytest.approx(math.exp(-0.54 - 0.152), rel=1e-14)
    assert lq_survival(10.0, 0.3, 0.0) == pytest.approx(math.exp(-3.0), rel=1e-14)
    dose_map = np.array([[0.0, 2.0], [4.0, 8.0]])
    expected = np.exp(-ALPHA * dose_map - BETA * dose_map**2)
    np.testing.assert_allclose(lq_survival(dose_map, ALPHA, BETA), expected, rtol=1e-14)
    with pytest.raises(ValueError):
        lq_survival(-1.0, ALPHA, BETA)


@pytest.mark.parametrize(("n", "d"), [(5, 2.0), (30, 2.0), (3, 8.0)])
def test_lq_fractionation_multiplies(n, d):
    fractionated = lq_survival(d, ALPHA, BETA) ** n
    assert fractionated == pytest.approx(math.exp(-n * (ALPHA * d + BETA * d * d)), rel=1e-12)
    # The quadratic term spares fractionated doses: one dose of n d kills more.
    assert lq_survival(n * d, ALPHA, BETA) < fractionated


# --------------------------------------------------------------------------- growth


def logistic(u0, r, t):
    return u0 * np.exp(r * t) / (1.0 - u0 + u0 * np.exp(r * t))


def test_grow_is_the_logistic_closed_form_with_ample_oxygen():
    u0 = np.array([0.0, 1e-6, 0.01, 0.3, 0.9, 1.0])
    rate, dt = 1.0 / 1440.0, 3000.0  # 1/day; a step of two days
    p = np.full(u0.shape, 1e12)  # g(p) = p / (p + 1e-6) = 1 to 1e-18
    one_step = grow(u0, p, dt, rate, 1e-6, 0.0, 0.0)
    np.testing.assert_allclose(one_step, logistic(u0, rate, dt), rtol=1e-13, atol=0)
    many = u0.copy()
    for _ in range(100):  # exact solutions compose
        many = grow(many, p, dt / 100, rate, 1e-6, 0.0, 0.0)
    np.testing.assert_allclose(many, one_step, rtol=1e-12)


def ivp(rhs, u0, t_end, **kwargs):
    sol = solve_ivp(rhs, (0.0, t_end), u0, method="DOP853", rtol=1e-12, atol=1e-14, **kwargs)
    assert sol.success
    return sol.y[:, -1]


def test_grow_with_oxygen_necrosis_and_kill_matches_solve_ivp():
    # pO2 and the kill rate differ per voxel and are held over the step: the update is exact.
    rate, p_half, p_nec, k_nec = 0.002, 2.0, 1.0, 0.004
    p = np.array([0.0, 0.5, 1.5, 5.0, 40.0, 40.0, 3.0])
    kill = np.array([0.0, 0.0, 0.001, 0.0, 0.0, 0.003, 0.002 * 3.0 / 5.0])
    u0 = np.array([0.5, 0.2, 0.8, 0.05, 0.6, 0.99, 0.4])
    # voxel 6: growth rate equals death rate (a = 0, the psi(0) branch)
    g = p / (p + p_half)
    k = k_nec * (p < p_nec) + kill
    dt = 900.0
    expected = ivp(lambda t, u: rate * g * u * (1 - u) - k * u, u0, dt)
    got = grow(u0, p, dt, rate, p_half, p_nec, k_nec, kill)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_grow_with_time_varying_oxygen_converges_to_solve_ivp():
    # p(t) varies; grow() holds p over a step (taken at the midpoint): second-order error.
    rate, p_half, kill = 0.003, 3.0, 0.0005
    u0 = np.array([0.1, 0.5])

    def po2(t):
        return np.array([4.0 + 3.5 * np.sin(t / 150.0), 10.0 * np.exp(-t / 400.0)])

    def rhs(t, u):
        p = po2(t)
        return rate * p / (p + p_half) * u * (1 - u) - kill * u

    t_end = 1200.0
    expected = ivp(rhs, u0, t_end)
    errors = []
    for n in (20, 40, 80):
        dt = t_end / n
        u = u0.copy()
        for i in range(n):
            u = grow(u, po2((i + 0.5) * dt), dt, rate, p_half, 0.0, 0.0, kill)
        errors.append(np.max(np.abs(u - expected)))
    assert errors[-1] < 1e-5
    assert errors[0] / errors[1] > 3.5 and errors[1] / errors[2] > 3.5  # ~4: second order


def test_grow_edge_cases_stay_in_range():
    u0 = np.array([0.0, 1.0, 0.5, 0.5])
    p = np.array([50.0, 50.0, 0.0, 50.0])
    out = grow(u0, p, 60.0, 0.01, 2.0, 1.0, 0.01)
    assert out[0] == 0.0  # nothing grows from nothing
    assert out[1] == 1.0  # full, and no death above the necrosis threshold
    assert out[2] == pytest.approx(0.5 * math.exp(-0.6), rel=1e-12)  # anoxia: necrosis only
    huge = grow(u0, p, 1e6, 0.01, 2.0, 1.0, 10.0, kill_rate=10.0)  # e^(1e7) would overflow
    np.testing.assert_array_equal(huge, 0.0)
    with pytest.raises(ValueError):
        grow(np.array([1.2]), 10.0, 1.0, 0.01, 2.0, 1.0, 0.01)
    with pytest.raises(ValueError):
        grow(np.array([0.5]), 10.0, 1.0, 0.01, 0.0, 1.0, 0.01)


# --------------------------------------------------------------------------- HIF-1alpha


def test_hif_update_steady_state_and_exact_composition():
    k_h, tau = 0.02, 50.0
    drive = np.array([0.0, 0.3, 1.0, 1.7])
    h = hif_update(np.zeros(4), drive, k_h, tau, 1e5)
    np.testing.assert_allclose(h, k_h * tau * drive, rtol=1e-12)
    h0 = np.array([0.5, 0.0, 2.0, 1.0])
    one = hif_update(h0, drive, k_h, tau, 120.0)
    many = h0
    for _ in range(12):
        many = hif_update(many, drive, k_h, tau, 10.0)
    np.testing.assert_allclose(many, one, rtol=1e-13)
    expected = k_h * tau * drive + (h0 - k_h * tau * drive) * math.exp(-120.0 / tau)
    np.testing.assert_allclose(one, expected, rtol=1e-14)


def test_hif_update_with_time_varying_drive_converges_to_solve_ivp():
    k_h, tau = 1.0 / 30.0, 30.0  # tau ~ 5 min x 6; any value works

    def drive(t):
        return 0.5 + 0.5 * np.sin(t / 40.0) + 0.3 * (t > 100.0)

    t_end = 300.0
    # The drive jumps at t = 100: integrate the two smooth pieces.
    first = ivp(lambda t, h: k_h * drive(t) - h / tau, [0.2], 100.0)
    sol = solve_ivp(
        lambda t, h: k_h * drive(t) - h / tau, (100.0, t_end), first, rtol=1e-12, atol=1e-14
    )
    expected = sol.y[0, -1]
    errors = []
    for n in (30, 60, 120):  # steps land on t = 100
        dt = t_end / n
        h = np.array(0.2)
        for i in range(n):
            h = hif_update(h, drive((i + 0.5) * dt), k_h, tau, dt)
        errors.append(abs(float(h) - expected))
    assert errors[-1] < 2e-4  # measured 1.1e-4 at dt = 2.5 min (h is about 1)
    assert errors[0] / errors[1] > 3.5 and errors[1] / errors[2] > 3.5  # second order


def test_hif_drive_adds_saturating_tgf_beta():
    h = np.array([0.0, 0.5, 1.0])
    t = np.array([0.0, 0.2, 1e9])
    np.testing.assert_allclose(hif_drive(h, t, 0.6, 0.2), [0.0, 0.8, 1.6], rtol=1e-8)
    np.testing.assert_allclose(hif_drive(h, t, 0.0, 0.2), h)  # switched off
    with pytest.raises(ValueError):
        hif_drive(h, t, 0.6, 0.0)


# --------------------------------------------------------------------------- dose-driven pulse


@pytest.mark.parametrize(("tau_r", "tau_d"), [(120.0, 1440.0), (600.0, 660.0), (30.0, 30.0)])
def test_pulse_peak_and_integral(tau_r, tau_d):
    amplitude = 2.5
    if tau_r == tau_d:
        t_peak, integral = tau_r, amplitude * math.e * tau_r  # (t/tau) e^(1 - t/tau)
    else:
        t_peak = math.log(tau_d / tau_r) * tau_r * tau_d / (tau_d - tau_r)
        bracket = math.exp(-t_peak / tau_d) - math.exp(-t_peak / tau_r)
        integral = amplitude * (tau_d - tau_r) / bracket
    assert pulse_peak_time(tau_r, tau_d) == pytest.approx(t_peak, rel=1e-12)
    assert float(pulse(t_peak, amplitude, tau_r, tau_d)) == pytest.approx(amplitude, rel=1e-12)
    t = np.linspace(0.0, 10 * t_peak, 20001)
    values = pulse(t, amplitude, tau_r, tau_d)
    assert values.max() <= amplitude * (1 + 1e-12)
    assert t[np.argmax(values)] == pytest.approx(t_peak, abs=t[1])
    area, _ = quad(lambda s: float(pulse(s, amplitude, tau_r, tau_d)), 0.0, np.inf, limit=200)
    assert area == pytest.approx(integral, rel=1e-8)
    np.testing.assert_array_equal(pulse(np.array([-5.0, -1e-9]), amplitude, tau_r, tau_d), 0.0)
    assert float(pulse(0.0, amplitude, tau_r, tau_d)) == 0.0


def test_pulse_is_continuous_in_the_time_constants():
    t = np.linspace(0.0, 300.0, 31)
    equal = pulse(t, 1.0, 60.0, 60.0)
    near = pulse(t, 1.0, 60.0, 60.0 * (1 + 1e-9))
    np.testing.assert_allclose(near, equal, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(pulse(t, 1.0, 60.0, 600.0), pulse(t, 1.0, 600.0, 60.0))


# --------------------------------------------------------------------------- TRAIL, geometry


def test_trail_kill_rate_saturates():
    rates = trail_kill_rate(np.array([0.0, 2.0, 1e12]), 0.01, 2.0)
    np.testing.assert_allclose(rates, [0.0, 0.005, 0.01], rtol=1e-10)


@pytest.mark.parametrize("ndim", [2, 3])
def test_edge_distance_of_a_disc_is_r_minus_radius_within_a_voxel(ndim):
    dx, radius_t = 4.0, 61.0
    grid = Grid((40,) * ndim, spacing=dx, origin=(-80.0,) * ndim)
    axes = np.meshgrid(*[grid.centers(a) for a in range(ndim)], indexing="ij")
    r = np.sqrt(sum(x**2 for x in axes))
    u = np.where(r < radius_t, 0.9, 0.1)
    dist = tumour_edge_distance(u, dx)
    assert np.max(np.abs(dist - (r - radius_t))) <= dx
    assert np.all(dist[r < radius_t] < 0) and np.all(dist[r >= radius_t] > 0)


def test_edge_distance_without_an_edge():
    assert np.all(tumour_edge_distance(np.zeros((5, 5)), 10.0) == np.inf)
    assert np.all(tumour_edge_distance(np.ones((5, 5)), 10.0) == -np.inf)


def test_burden_integrates_the_density():
    grid = Grid((50, 50), spacing=4.0, origin=(-100.0, -100.0))
    x, y = np.meshgrid(grid.centers(0), grid.centers(1), indexing="ij")
    u = 0.5 * (np.hypot(x, y) < 60.0)
    expected = 0.5 * np.count_nonzero(u) * 16.0
    assert burden(u, grid.cell_volume) == pytest.approx(expected, rel=1e-14)
    assert burden(u, grid.cell_volume) == pytest.approx(0.5 * math.pi * 60.0**2, rel=0.02)
