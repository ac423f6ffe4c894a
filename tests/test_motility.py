"""Receptor sensing and cell motility kernels against exact or independent results.

Engine units: um, min, nM. Random numbers come from numpy.random.default_rng with fixed
seeds; every statistical tolerance is stated with the standard error it covers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest
from scipy import integrate
from scipy.interpolate import RegularGridInterpolator

from tropism.world.motility import (
    build_sense,
    chemotactic_drift,
    occupancy,
    occupancy_gradient,
    reflect,
    sample,
    step_cells,
)
from tropism.world.streams import cell_normals

KD = 4.5  # nM, CXCL12-CXCR4 (disalvo2000)


# ---------------------------------------------------------------------------------------------
# helpers


def _centres(n: int, origin: float, spacing: float) -> np.ndarray:
    return origin + (np.arange(n) + 0.5) * spacing


def _fields_on_grid(func, shape, spacing, origin) -> np.ndarray:
    """(1, nx, ny, nz) array of func(x, y, z) at the voxel centres (nz = 1 in 2-D)."""
    axes = [_centres(n, origin[a], spacing) for a, n in enumerate(shape)]
    if len(shape) == 2:
        axes.append(np.array([origin[2]]))
    x, y, z = np.meshgrid(*axes, indexing="ij")
    return func(x, y, z)[np.newaxis]


@dataclass
class Arena:
    """Everything step_cells needs besides the cells and the random numbers."""

    sense: np.ndarray
    spacing: float
    lo: np.ndarray
    hi: np.ndarray
    ndim: int
    kd: np.ndarray = field(default_factory=lambda: np.array([KD]))
    weight: np.ndarray = field(default_factory=lambda: np.array([1.0]))
    ligand: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))


def _empty_world(ndim: int, half_width: float = 1e6) -> Arena:
    """A huge box with one chemokine field that is zero everywhere."""
    lo = np.array([-half_width, -half_width, -half_width if ndim == 3 else 0.0])
    hi = np.array([half_width, half_width, half_width if ndim == 3 else 0.0])
    shape = (2, 2, 2) if ndim == 3 else (2, 2, 1)
    return Arena(np.zeros((1, 4, *shape)), half_width, lo, hi, ndim)


def _linear_world(ndim: int, c0: float, grad_x: float, length: float, n: int) -> Arena:
    """Box [0, length]^ndim with c = c0 + grad_x (x - length / 2) on an n^ndim grid."""
    spacing = length / n
    lo = np.zeros(3)
    hi = np.array([length, length, length if ndim == 3 else 0.0])
    shape = (n,) * ndim
    fields = _fields_on_grid(lambda x, y, z: c0 + grad_x * (x - length / 2), shape, spacing, lo)
    return Arena(build_sense(fields, spacing), spacing, lo, hi, ndim)


@dataclass
class Cells:
    pos: np.ndarray
    vel: np.ndarray
    path: np.ndarray
    state: np.ndarray
    receptors: np.ndarray

    @classmethod
    def at(cls, n: int, ndim: int, start, receptors) -> Cells:
        pos = np.zeros((n, 3))
        pos[:, :ndim] = np.asarray(start, dtype=float)[:ndim]
        rec = np.broadcast_to(np.asarray(receptors, dtype=float), (n, np.size(receptors)))
        return cls(pos, np.zeros((n, 3)), np.zeros(n), np.zeros(n, dtype=np.int8), rec.copy())

    def copy(self) -> Cells:
        return Cells(
            *(a.copy() for a in (self.pos, self.vel, self.path, self.state, self.receptors))
        )


def _step(
    cells: Cells,
    w: Arena,
    xi_move,
    xi_sense,
    *,
    dt,
    tau,
    speed,
    v_chem=0.0,
    n_half=10.0,
    cell_length=20.0,
    noise_scale=0.0,
) -> None:
    step_cells(
        cells.pos,
        cells.vel,
        cells.path,
        cells.state,
        cells.receptors,
        w.ligand,
        w.kd,
        w.weight,
        w.sense,
        w.lo,
        w.spacing,
        w.lo,
        w.hi,
        w.ndim,
        float(dt),
        float(tau),
        float(speed),
        float(v_chem),
        float(n_half),
        float(cell_length),
        float(noise_scale),
        np.ones(cells.pos.shape[0]),  # speed_scale
        np.zeros((0, 3)),  # no mechanical push
        np.zeros(0, dtype=np.int64),  # ids, key, step, stream: unused with explicit numbers
        np.zeros(0, dtype=np.uint64),
        0,
        0,
        np.ascontiguousarray(xi_move, dtype=np.float64),
        np.ascontiguousarray(xi_sense, dtype=np.float64),
    )


def _normals(rng: np.random.Generator, n: int, ndim: int) -> np.ndarray:
    """(n, 3) standard normals on the active axes, zeros on z in 2-D."""
    xi = np.zeros((n, 3))
    xi[:, :ndim] = rng.standard_normal((n, ndim))
    return xi


def _stationary_velocities(rng: np.random.Generator, n: int, ndim: int, speed: float):
    """Stationary OU velocities, per-axis N(0, speed^2 / ndim)."""
    return _normals(rng, n, ndim) * (speed / math.sqrt(ndim))


# ---------------------------------------------------------------------------------------------
# 1. occupancy


def test_occupancy_is_the_binding_isotherm():
    c = np.array([0.0, 0.01, 1.0, KD, 10.0, 1e3])
    # the isotherm written out; rounding only (one division each)
    np.testing.assert_allclose(occupancy(c, KD), c / (c + KD), rtol=1e-15, atol=0.0)
    assert occupancy(KD, KD) == 0.5  # exactly half bound at c = Kd
    assert occupancy(0.0, KD) == 0.0


@pytest.mark.parametrize("c", [0.05, 1.0, KD, 30.0, 500.0])
def test_occupancy_gradient_matches_finite_difference(c):
    grad_c = np.array([0.3, -0.7, 0.2])  # nM/um
    h = 1e-4 * c
    # central difference of the isotherm along the gradient: truncation error
    # h^2 f'''/6 ~ 1e-8 relative, rounding ~1e-16/1e-4 ~ 1e-12; 1e-6 leaves margin
    dfdc = (occupancy(c + h, KD) - occupancy(c - h, KD)) / (2 * h)
    np.testing.assert_allclose(occupancy_gradient(c, grad_c, KD), dfdc * grad_c, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# 2. sampling


@pytest.mark.parametrize("ndim", [2, 3])
def test_sampling_is_exact_for_a_linear_field(ndim):
    rng = np.random.default_rng(11)
    spacing = 7.0
    origin = np.array([-20.0, 5.0, 3.0 if ndim == 3 else 0.0])
    shape = (9, 6, 5)[:ndim]
    a0, b = 2.5, np.array([0.31, -0.17, 0.05 if ndim == 3 else 0.0])
    fields = _fields_on_grid(
        lambda x, y, z: a0 + b[0] * x + b[1] * y + b[2] * z, shape, spacing, origin
    )
    sense = build_sense(fields, spacing)
    lo_c = origin[:ndim] + 0.5 * spacing  # span of the voxel centres
    hi_c = origin[:ndim] + (np.array(shape) - 0.5) * spacing
    for _ in range(200):
        p = np.zeros(3)
        p[:ndim] = rng.uniform(lo_c, hi_c)
        if ndim == 2:
            p[2] = rng.uniform(-50.0, 50.0)  # ignored in 2-D
        c, gx, gy, gz = sample(sense, 0, origin, spacing, p[0], p[1], p[2])
        exact = a0 + b[:ndim] @ p[:ndim]
        # linear interpolation reproduces a linear function and np.gradient is exact for
        # it: only rounding of O(10) values remains
        assert c == pytest.approx(exact, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose([gx, gy, gz], b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("ndim", [2, 3])
def test_sampling_matches_scipy_and_clamps_at_the_edges(ndim):
    # a curved field against scipy's independent (tri)linear interpolator
    rng = np.random.default_rng(12)
    spacing = 4.0
    origin = np.array([1.0, -3.0, 2.0 if ndim == 3 else 0.0])
    shape = (7, 8, 6)[:ndim]
    fields = _fields_on_grid(
        lambda x, y, z: np.sin(0.1 * x) * np.cos(0.07 * y) + 0.01 * z**2, shape, spacing, origin
    )
    sense = build_sense(fields, spacing)
    axes = [_centres(n, origin[a], spacing) for a, n in enumerate(shape)]
    interps = [
        RegularGridInterpolator(axes, sense[0, q, ..., 0] if ndim == 2 else sense[0, q])
        for q in range(ndim + 1)
    ]
    lo_c = np.array([ax[0] for ax in axes])
    hi_c = np.array([ax[-1] for ax in axes])
    for _ in range(100):
        p = np.zeros(3)
        p[:ndim] = rng.uniform(lo_c, hi_c)
        got = sample(sense, 0, origin, spacing, *p)
        for q in range(ndim + 1):
            # same interpolant, different arithmetic order: rounding only
            assert got[q] == pytest.approx(interps[q](p[:ndim])[0], rel=1e-12, abs=1e-13)
        if ndim == 2:
            assert got[3] == 0.0
    # between the wall and the first/last voxel centre the value clamps to the edge
    wall_lo = origin[:ndim]
    wall_hi = origin[:ndim] + np.array(shape) * spacing
    for _ in range(50):
        p = np.zeros(3)
        p[:ndim] = rng.uniform(lo_c, hi_c)
        for a in range(ndim):
            q_lo, q_hi = p.copy(), p.copy()
            q_lo[a] = rng.uniform(wall_lo[a], lo_c[a])
            q_hi[a] = rng.uniform(hi_c[a], wall_hi[a])
            e_lo, e_hi = p.copy(), p.copy()
            e_lo[a], e_hi[a] = lo_c[a], hi_c[a]
            assert sample(sense, 0, origin, spacing, *q_lo) == pytest.approx(
                sample(sense, 0, origin, spacing, *e_lo), rel=1e-12, abs=1e-13
            )
            assert sample(sense, 0, origin, spacing, *q_hi) == pytest.approx(
                sample(sense, 0, origin, spacing, *e_hi), rel=1e-12, abs=1e-13
            )


def test_build_sense_layout():
    fields = np.random.default_rng(3).random((2, 5, 4, 1))
    sense = build_sense(fields, 2.0)
    assert sense.shape == (2, 4, 5, 4, 1) and sense.dtype == np.float64
    np.testing.assert_array_equal(sense[:, 0], fields)
    np.testing.assert_array_equal(sense[:, 3], 0.0)  # dc/dz = 0 when nz == 1
    with pytest.raises(ValueError):
        build_sense(fields[0], 2.0)
    with pytest.raises(ValueError):
        build_sense(fields, 0.0)


# ---------------------------------------------------------------------------------------------
# 3. persistent random walk


@pytest.mark.parametrize("ndim", [2, 3])
def test_persistent_random_walk_matches_fuerth(ndim):
    rng = np.random.default_rng(2024 + ndim)
    n, speed, tau = 5000, 1.2, 5.0
    dt, steps = tau / 10.0, 100  # up to t = 10 tau
    w = _empty_world(ndim)
    cells = Cells.at(n, ndim, np.zeros(3), 0.0)  # no receptors, no chemokine: no drift
    cells.vel[:] = _stationary_velocities(rng, n, ndim, speed)
    v0 = cells.vel.copy()
    msd = np.zeros(steps + 1)
    vacf = np.ones(steps + 1)
    var_axis = np.zeros((steps + 1, 3))
    var_axis[0] = (v0**2).mean(axis=0)
    for k in range(1, steps + 1):
        _step(cells, w, _normals(rng, n, ndim), _normals(rng, n, ndim), dt=dt, tau=tau, speed=speed)
        msd[k] = (cells.pos**2).sum(axis=1).mean()
        vacf[k] = (v0 * cells.vel).sum(axis=1).mean() / speed**2
        var_axis[k] = (cells.vel**2).mean(axis=0)
    t = dt * np.arange(steps + 1)
    sigma2 = speed**2 / ndim
    fuerth = 2 * ndim * sigma2 * tau * (t - tau * (1 - np.exp(-t / tau)))
    # MSD: each cell's displacement is Gaussian, so the estimator is chi-square with n*ndim
    # degrees of freedom: relative standard error sqrt(2 / (n ndim)) = 1.4 % (2-D), 1.2 %
    # (3-D). The trapezoid position update deviates from Fuerth's continuous formula by
    # < 0.3 % for t >= tau / 2 at dt = tau / 10 (exact discrete sum). 5 % covers > 3.5 s.e.
    for k in (5, 10, 20, 50, 100):
        assert msd[k] == pytest.approx(fuerth[k], rel=0.05), (k, msd[k], fuerth[k])
    # velocity autocorrelation: the OU transition is exact, <v(0).v(t)> = speed^2 exp(-t/tau);
    # standard error of the estimate <= sqrt(2 / (n ndim)) = 0.014; tolerance 0.05
    for k in (5, 10, 20, 30):
        assert vacf[k] == pytest.approx(math.exp(-t[k] / tau), abs=0.05), (k, vacf[k])
    # per-axis variance sigma^2 = speed^2 / ndim, pooled over ~10 independent snapshots
    # (one per tau): relative s.e. ~ sqrt(2 / (n * 10)) = 0.6 %; tolerance 3 %
    np.testing.assert_allclose(var_axis[:, :ndim].mean(axis=0), sigma2, rtol=0.03)
    if ndim == 2:
        assert np.all(cells.pos[:, 2] == 0.0) and np.all(cells.vel[:, 2] == 0.0)
    # path length accumulates at least the net displacement
    assert np.all(cells.path >= np.sqrt((cells.pos**2).sum(axis=1)) * (1 - 1e-12))


# ---------------------------------------------------------------------------------------------
# 4. drift in a fixed linear gradient

# c = Kd at the start point, gradient small enough that c changes by < 0.5 % over the
# drift distance (~80 um); m = (R/2) L Kd/(c + Kd)^2 G ~ 11 receptors ~ n_half.
DRIFT = dict(c0=KD, grad=2e-4, receptors=1e5, cell_length=20.0, n_half=10.0, v_chem=0.5)


def _hand_signal() -> tuple[float, float]:
    """Expected front-back signal g (along x) and noise std per unit noise_scale, by hand."""
    p = DRIFT
    f = p["c0"] / (p["c0"] + KD)
    grad_f = KD / (p["c0"] + KD) ** 2 * p["grad"]
    g = 0.5 * p["receptors"] * p["cell_length"] * grad_f
    s1 = math.sqrt(p["receptors"] * f * (1 - f))
    return g, s1


def _mean_velocity_in_gradient(ndim: int, noise_scale: float, seed: int) -> np.ndarray:
    p = DRIFT
    rng = np.random.default_rng(seed)
    n, speed, tau = 2000, 0.5, 5.0
    dt = tau / 10.0
    burn, steps = 100, 600  # average from 10 tau to 60 tau
    w = _linear_world(ndim, p["c0"], p["grad"], length=1000.0, n=50 if ndim == 2 else 25)
    cells = Cells.at(n, ndim, np.full(3, 500.0), p["receptors"])
    cells.vel[:] = _stationary_velocities(rng, n, ndim, speed)
    acc = np.zeros(3)
    for k in range(steps):
        _step(
            cells,
            w,
            _normals(rng, n, ndim),
            _normals(rng, n, ndim),
            dt=dt,
            tau=tau,
            speed=speed,
            v_chem=p["v_chem"],
            n_half=p["n_half"],
            cell_length=p["cell_length"],
            noise_scale=noise_scale,
        )
        if k >= burn:
            acc += cells.vel.mean(axis=0)
    assert np.all(cells.pos >= w.lo) and np.all(cells.pos <= w.hi)
    return acc / (steps - burn)


@pytest.mark.parametrize("ndim", [2, 3])
def test_deterministic_drift_matches_mean_field(ndim):
    p = DRIFT
    g, _ = _hand_signal()
    v_hand = p["v_chem"] * g / (p["n_half"] + g)  # v_d = v_chem m / (n_half + |m|), m = g
    f = p["c0"] / (p["c0"] + KD)
    grad_f = np.array([[KD / (p["c0"] + KD) ** 2 * p["grad"], 0.0, 0.0]])
    vd = chemotactic_drift(
        grad_f,
        np.array([f]),
        np.array([p["receptors"]]),
        np.ones(1),
        p["v_chem"],
        p["n_half"],
        p["cell_length"],
        0.0,
        np.zeros(3),
        ndim,
    )
    np.testing.assert_allclose(vd, [v_hand, 0.0, 0.0], rtol=1e-14, atol=0.0)

    v_mean = _mean_velocity_in_gradient(ndim, noise_scale=0.0, seed=40 + ndim)
    # standard error of the time-and-cell average: sigma sqrt(2 tau / T) / sqrt(n) with
    # sigma = 0.5 / sqrt(ndim), T = 50 tau: <= 0.0016 um/min (0.6 % of v_hand); the drift
    # changes by ~0.2 % as c rises along the path. 3 % covers both with > 4 s.e.
    assert v_mean[0] == pytest.approx(v_hand, rel=0.03)
    np.testing.assert_allclose(v_mean[1:ndim], 0.0, atol=0.01)  # > 6 s.e.


def _expected_noisy_drift(ndim: int, noise_scale: float) -> float:
    """E[v_chem m_x / (n_half + |m|)] with m = (g + s xi_x, s xi_perp), by quadrature.

    The noise is isotropic, so only xi_x and the transverse norm rho = |xi_perp| matter:
    rho is |N(0, 1)| in 2-D (density 2 phi(rho)) and Rayleigh in 3-D (rho exp(-rho^2 / 2)).
    """
    p = DRIFT
    g, s1 = _hand_signal()
    s = noise_scale * s1

    def integrand(rho: float, x: float) -> float:
        mx, mp = g + s * x, s * rho
        v = p["v_chem"] * mx / (p["n_half"] + math.hypot(mx, mp))
        phi_x = math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        if ndim == 2:
            dens = 2.0 * math.exp(-0.5 * rho * rho) / math.sqrt(2 * math.pi)
        else:
            dens = rho * math.exp(-0.5 * rho * rho)
        return v * phi_x * dens

    val, err = integrate.dblquad(integrand, -12.0, 12.0, 0.0, 12.0, epsabs=1e-10, epsrel=1e-10)
    assert err < 1e-6
    return val


@pytest.mark.parametrize("ndim", [2, 3])
def test_noisy_drift_matches_gaussian_expectation(ndim):
    noise_scale = 0.1  # noise std ~ 16 receptors vs a signal of 11: noise matters
    v_expected = _expected_noisy_drift(ndim, noise_scale)
    g, _ = _hand_signal()
    v_det = DRIFT["v_chem"] * g / (DRIFT["n_half"] + g)
    assert v_expected < 0.8 * v_det  # the noise visibly lowers the mean drift
    v_mean = _mean_velocity_in_gradient(ndim, noise_scale=noise_scale, seed=50 + ndim)
    # same standard error as the deterministic case (<= 0.0016 um/min, ~1 % of v_expected;
    # the sensing noise adds a little) plus the ~0.2 % drift of c: 5 % is > 4 s.e.
    assert v_mean[0] == pytest.approx(v_expected, rel=0.05)
    np.testing.assert_allclose(v_mean[1:ndim], 0.0, atol=0.01)


# ---------------------------------------------------------------------------------------------
# 5. bell-shaped response, 6. antagonist: deterministic drift through the full kernel

# With speed = 0 and tau << dt (a = exp(-dt/tau) = 0 exactly) one step sets v = v_d.


def _kernel_drift(
    w: Arena, pos, receptors, *, v_chem, n_half, cell_length, noise_scale=0.0, xi_sense=None
) -> np.ndarray:
    pos = np.atleast_2d(np.asarray(pos, dtype=float))
    n = pos.shape[0]
    cells = Cells.at(n, w.ndim, np.zeros(3), receptors)
    cells.pos[:] = pos
    if w.ndim == 2:
        cells.pos[:, 2] = 0.0
    if xi_sense is None:
        xi_sense = np.zeros((n, 3))
    _step(
        cells,
        w,
        np.zeros((n, 3)),
        xi_sense,
        dt=1.0,
        tau=1e-3,
        speed=0.0,
        v_chem=v_chem,
        n_half=n_half,
        cell_length=cell_length,
        noise_scale=noise_scale,
    )
    return cells.vel


@pytest.mark.parametrize("ndim", [2, 3])
def test_drift_is_bell_shaped_with_peak_at_kd(ndim):
    length, n_grid = 1000.0, 10
    receptors, cell_length, n_half, v_chem = 2e4, 20.0, 50.0, 0.5
    c_src = KD * np.logspace(-2.0, 2.0, 401)  # c at the midpoint = c_src / 2 from Kd/200 to 50 Kd
    ratio = c_src[1] / c_src[0]
    drift = np.empty_like(c_src)
    for j, cs in enumerate(c_src):
        # linear from 0 at x = 0 to c_src at x = length
        w = _linear_world(ndim, cs / 2, cs / length, length, n_grid)
        v = _kernel_drift(
            w,
            [length / 2, 333.0, 700.0],
            receptors,
            v_chem=v_chem,
            n_half=n_half,
            cell_length=cell_length,
        )
        drift[j] = v[0, 0]
        assert v[0, 1] == pytest.approx(0.0, abs=1e-15) and v[0, 2] == pytest.approx(0.0, abs=1e-15)
    # value against the formula: m = (R/2) L Kd / (c + Kd)^2 * c_src / length at c = c_src/2
    c_mid = c_src / 2
    m = 0.5 * receptors * cell_length * KD / (c_mid + KD) ** 2 * c_src / length
    np.testing.assert_allclose(drift, v_chem * m / (n_half + m), rtol=1e-10)
    peak = int(np.argmax(drift))
    assert 0 < peak < len(c_src) - 1
    assert np.all(np.diff(drift[: peak + 1]) > 0) and np.all(np.diff(drift[peak:]) < 0)
    # maximum where c_src / 2 = Kd, within one step of the c_src grid
    assert abs(math.log(c_mid[peak] / KD)) <= math.log(ratio)


@pytest.mark.parametrize("ndim", [2, 3])
def test_antagonist_scales_small_signal_drift(ndim):
    # m ~ 0.2 receptors << n_half = 1e5: v_d = v_chem m / n_half (1 + O(m / n_half));
    # scaling w scales v_d by w (n_half + m)/(n_half + w m), off w by < m / n_half ~ 2e-6
    w = _linear_world(ndim, KD, 2e-4, 1000.0, 10)
    w.kd = np.array([KD, 25.0])  # CXCR4 and a second type (CXCR7) reading the same field
    w.ligand = np.array([0, 0], dtype=np.int64)
    pos = [500.0, 400.0, 600.0]
    kw = dict(v_chem=0.5, n_half=1e5, cell_length=20.0)
    w.weight = np.array([1.0, 0.0])
    base = _kernel_drift(w, pos, [2e3, 5e3], **kw)[0, 0]
    assert base > 0.0
    for conc, ic50 in [(1.0, 4.7), (4.7, 4.7), (50.0, 4.7), (1000.0, 4.7)]:
        factor = 1.0 / (1.0 + conc / ic50)
        w.weight = np.array([factor, 0.0])
        v = _kernel_drift(w, pos, [2e3, 5e3], **kw)[0, 0]
        assert v == pytest.approx(factor * base, rel=1e-5)
    # weight 0 on every type: no drift at all, even with large binding noise
    w.weight = np.zeros(2)
    xi = np.random.default_rng(7).standard_normal((1, 3))
    v = _kernel_drift(w, pos, [2e3, 5e3], noise_scale=5.0, xi_sense=xi, **kw)
    np.testing.assert_array_equal(v, 0.0)
    grad_f = np.array([[1e-3, 2e-3, 3e-3], [1e-3, 1e-3, 1e-3]])
    vd = chemotactic_drift(
        grad_f,
        np.array([0.5, 0.3]),
        np.array([2e3, 5e3]),
        np.zeros(2),
        0.5,
        10.0,
        20.0,
        5.0,
        xi[0],
        ndim,
    )
    np.testing.assert_array_equal(vd, 0.0)
    # a non-signalling receptor type changes nothing, bit for bit
    w.weight = np.array([1.0, 0.0])
    alone = _kernel_drift(w, pos, [2e3, 0.0], noise_scale=1.0, xi_sense=xi, **kw)
    both = _kernel_drift(w, pos, [2e3, 5e3], noise_scale=1.0, xi_sense=xi, **kw)
    np.testing.assert_array_equal(alone, both)


# ---------------------------------------------------------------------------------------------
# 7. walls


def test_reflection_of_a_ballistic_step_is_exact():
    # speed 0, tau -> infinity (a = 1), no receptors: v' = v, x' = x + v dt, then folding;
    # reference: unfold with period 2 W (an even number of bounces keeps the sign of v)
    def unfold(x, lo, hi):
        width = hi - lo
        y = (x - lo) % (2 * width)
        return (lo + y, 1.0) if y <= width else (hi - (y - width), -1.0)

    w = _empty_world(2)
    w.lo = np.array([0.0, -4.0, 0.0])
    w.hi = np.array([10.0, 6.0, 0.0])
    cells = Cells.at(3, 2, np.zeros(3), 0.0)
    cells.pos[:, :2] = [[5.0, 2.0], [1.0, -3.0], [9.5, 5.5]]
    cells.vel[:, :2] = [[3.0, 4.5], [-0.25, 0.5], [250.0, -0.75]]
    x_free = cells.pos + 10.0 * cells.vel
    v_start = cells.vel.copy()
    _step(cells, w, np.zeros((3, 3)), np.zeros((3, 3)), dt=10.0, tau=1e300, speed=0.0)
    for i in range(3):
        for a in range(2):
            x_ref, sign = unfold(x_free[i, a], w.lo[a], w.hi[a])
            assert cells.pos[i, a] == pytest.approx(x_ref, abs=1e-9)
            assert cells.vel[i, a] == sign * v_start[i, a]
    # the path is the length travelled, folded or not
    np.testing.assert_allclose(
        cells.path, 10.0 * np.hypot(v_start[:, 0], v_start[:, 1]), rtol=1e-14
    )
    assert np.all(cells.pos[:, 2] == 0.0) and np.all(cells.vel[:, 2] == 0.0)
    assert reflect(5.0, 1.0, 3.0, 3.0) == (3.0, 1.0)  # degenerate box pins to the wall


@pytest.mark.parametrize("ndim", [2, 3])
def test_cells_never_leave_the_box(ndim):
    rng = np.random.default_rng(70 + ndim)
    n = 1000
    w = _linear_world(ndim, KD, 0.05, 30.0, 6)
    w.lo = np.array([0.0, 0.0, 0.0])
    w.hi = np.array([30.0, 12.0, 7.0 if ndim == 3 else 0.0])
    cells = Cells.at(n, ndim, np.zeros(3), 1e4)
    cells.pos[:, :ndim] = rng.uniform(w.lo[:ndim], w.hi[:ndim], size=(n, ndim))
    cells.vel[:] = _stationary_velocities(rng, n, ndim, 100.0)
    for _ in range(30):
        # 100 um/min for 10 min: steps of many box widths
        _step(
            cells,
            w,
            _normals(rng, n, ndim),
            _normals(rng, n, ndim),
            dt=10.0,
            tau=2.0,
            speed=100.0,
            v_chem=50.0,
            noise_scale=1.0,
        )
        assert np.all(cells.pos >= w.lo) and np.all(cells.pos <= w.hi)
        if ndim == 2:
            assert np.all(cells.pos[:, 2] == 0.0) and np.all(cells.vel[:, 2] == 0.0)


# ---------------------------------------------------------------------------------------------
# 8. reproducibility and skipped cells


def test_same_inputs_give_bit_identical_outputs():
    rng = np.random.default_rng(80)
    n, ndim = 500, 3
    w = _linear_world(ndim, KD, 0.01, 200.0, 8)
    first = Cells.at(n, ndim, np.zeros(3), 3e3)
    first.pos[:] = rng.uniform(w.lo, w.hi, size=(n, 3))
    first.vel[:] = _stationary_velocities(rng, n, ndim, 0.5)
    first.state[::7] = 1  # arrested cells do not move
    second = first.copy()
    frozen = first.copy()
    for _ in range(20):
        xm, xs = _normals(rng, n, ndim), _normals(rng, n, ndim)
        kw = dict(dt=1.0, tau=5.0, speed=0.5, v_chem=0.3, noise_scale=1.0)
        _step(first, w, xm, xs, **kw)
        _step(second, w, xm.copy(), xs.copy(), **kw)
    for name in ("pos", "vel", "path"):
        assert np.array_equal(getattr(first, name), getattr(second, name))
    moving = first.state == 0
    assert np.array_equal(first.pos[~moving], frozen.pos[~moving])
    assert np.array_equal(first.vel[~moving], frozen.vel[~moving])
    assert np.all(first.path[~moving] == 0.0) and np.all(first.path[moving] > 0.0)


# ---------------------------------------------------------------------------------------------
# 9. per-cell counter-based streams, speed scale, mechanical push


def _stream_numbers(key, ids, step, stream, ndim):
    """The normals step_cells draws for each cell, laid out as explicit xi arrays."""
    n = ids.size
    xm, xs = np.zeros((n, 3)), np.zeros((n, 3))
    for i, cid in enumerate(ids):
        a, b, c, d = cell_normals(key[0], key[1], int(cid), step, 0, stream)
        xm[i, :2], xs[i, :2] = (a, b), (c, d)
        if ndim == 3:
            e, f, _, _ = cell_normals(key[0], key[1], int(cid), step, 1, stream)
            xm[i, 2], xs[i, 2] = e, f
    return xm, xs


def _step_streams(cells, w, ids, key, step, stream, *, speed_scale=None, push=None, **kw):
    n = cells.pos.shape[0]
    step_cells(
        cells.pos,
        cells.vel,
        cells.path,
        cells.state,
        cells.receptors,
        w.ligand,
        w.kd,
        w.weight,
        w.sense,
        w.lo,
        w.spacing,
        w.lo,
        w.hi,
        w.ndim,
        kw["dt"],
        kw["tau"],
        kw["speed"],
        kw["v_chem"],
        10.0,
        20.0,
        kw["noise_scale"],
        np.ones(n) if speed_scale is None else speed_scale,
        np.zeros((0, 3)) if push is None else push,
        ids,
        key,
        step,
        stream,
        np.zeros((0, 3)),
        np.zeros((0, 3)),
    )


@pytest.mark.parametrize("ndim", [2, 3])
def test_stream_draws_equal_explicit_numbers_bit_for_bit(ndim):
    rng = np.random.default_rng(90 + ndim)
    n = 300
    w = _linear_world(ndim, KD, 0.01, 200.0, 8)
    cells = Cells.at(n, ndim, np.zeros(3), 3e3)
    cells.pos[:] = rng.uniform(w.lo, w.hi, size=(n, 3))
    cells.vel[:] = _stationary_velocities(rng, n, ndim, 0.5)
    cells.state[::9] = 1
    ids = rng.permutation(10 * n)[:n].astype(np.int64)  # ids need not be 0..N-1
    key = np.array([12345, 67890], dtype=np.uint64)
    kw = dict(dt=0.7, tau=5.0, speed=0.5, v_chem=0.3, noise_scale=1.0)
    explicit = cells.copy()
    for step in range(5):
        _step_streams(cells, w, ids, key, step, 3, **kw)
        xm, xs = _stream_numbers(key, ids, step, 3, ndim)
        _step(explicit, w, xm, xs, n_half=10.0, cell_length=20.0, **kw)
    for name in ("pos", "vel", "path"):
        assert np.array_equal(getattr(cells, name), getattr(explicit, name))
    # a cell's numbers depend on its id, not on its row: shuffle the rows, same result
    perm = rng.permutation(n)
    shuffled = explicit.copy()
    for name in ("pos", "vel", "path", "state", "receptors"):
        setattr(shuffled, name, getattr(explicit, name)[perm].copy())
    again = explicit.copy()
    _step_streams(again, w, ids, key, 5, 3, **kw)
    _step_streams(shuffled, w, ids[perm], key, 5, 3, **kw)
    assert np.array_equal(shuffled.pos, again.pos[perm])


def test_speed_scale_multiplies_the_random_speed_and_push_adds_a_displacement():
    # no drift; one step from rest with tau -> 0 (a = 0): v' = q (speed / sqrt(2)) xi
    w = _empty_world(2)
    n = 4
    cells = Cells.at(n, 2, np.zeros(3), 0.0)
    xm = np.tile([[0.3, -1.2, 0.0]], (n, 1))
    q = np.array([0.0, 0.5, 1.0, 2.0])
    push = np.tile([[1.5, -0.25, 0.0]], (n, 1))
    step_cells(
        cells.pos, cells.vel, cells.path, cells.state, cells.receptors, w.ligand, w.kd,
        w.weight, w.sense, w.lo, w.spacing, w.lo, w.hi, 2, 1.0, 1e-9, 2.0, 0.0, 10.0, 20.0,
        0.0, q, push, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64), 0, 0, xm,
        np.zeros((n, 3)),
    )  # fmt: skip
    v_expected = q[:, None] * (2.0 / math.sqrt(2.0)) * xm[:, :2]
    np.testing.assert_allclose(cells.vel[:, :2], v_expected, rtol=1e-15)
    # trapezoid from v = 0: dx = v' dt / 2, plus the push
    np.testing.assert_allclose(cells.pos[:, :2], 0.5 * v_expected + push[:, :2], rtol=1e-15)
    np.testing.assert_allclose(cells.path, np.hypot(*(0.5 * v_expected + push[:, :2]).T))
