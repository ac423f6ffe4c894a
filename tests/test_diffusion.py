"""Tests of the grid, the boundary conditions and the spectral backward-Euler diffusion solver.

Every physics check compares against an independent result: a sparse direct solve assembled
from the ghost-cell stencil, an analytic solution, or an exact conservation law.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.special import k0

from tropism.errors import TropismError
from tropism.world.boundaries import (
    AxisBoundary,
    FixedFlux,
    FixedValue,
    NoFlux,
    Periodic,
    no_flux_box,
)
from tropism.world.diffusion import SpectralDiffusion, total_amount
from tropism.world.grid import Grid

# --------------------------------------------------------------------------- helpers

AXES = {
    "noflux": AxisBoundary(NoFlux(), NoFlux()),
    "value": AxisBoundary(FixedValue(2.0), FixedValue(5.0)),
    "value_flux": AxisBoundary(FixedValue(3.0), FixedFlux(1.5)),
    "flux_value": AxisBoundary(FixedFlux(-0.7), FixedValue(1.0)),
    "value_noflux": AxisBoundary(FixedValue(4.0), NoFlux()),
    "noflux_value": AxisBoundary(NoFlux(), FixedValue(4.0)),
    "flux": AxisBoundary(FixedFlux(2.0), FixedFlux(-0.5)),
    "periodic": AxisBoundary(Periodic(), Periodic()),
}


def stencil_1d(n: int, dx: float, bc: AxisBoundary, diffusion: float):
    """Independent assembly of one axis of D * lap from the ghost-cell rules.

    Returns the sparse homogeneous matrix ``D L`` (n x n) and the known boundary vector ``b``
    such that ``D lap(c) = D L c + b`` for the voxels of this axis.
    """
    rows, cols, vals = [], [], []
    b = np.zeros(n)
    k = diffusion / dx**2
    for i in range(n):
        rows.append(i)
        cols.append(i)
        vals.append(-2.0 * k)
        for j, face in ((i - 1, bc.low), (i + 1, bc.high)):
            if 0 <= j < n:
                rows.append(i)
                cols.append(j)
                vals.append(k)
            elif isinstance(face, Periodic):
                rows.append(i)
                cols.append(j % n)
                vals.append(k)
            elif isinstance(face, NoFlux):  # ghost = c_i
                rows.append(i)
                cols.append(i)
                vals.append(k)
            elif isinstance(face, FixedValue):  # ghost = 2 g - c_i
                rows.append(i)
                cols.append(i)
                vals.append(-k)
                b[i] += k * 2.0 * face.value
            elif isinstance(face, FixedFlux):  # ghost = c_i + q dx / D
                rows.append(i)
                cols.append(i)
                vals.append(k)
                b[i] += face.flux / dx
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n)), b


def reference_operator(grid: Grid, diffusion: float, boundaries):
    """Sparse ``D L`` on the whole grid (Kronecker sum, C order) and the boundary source."""
    n_tot = grid.size
    op = sp.csr_matrix((n_tot, n_tot))
    b_tot = np.zeros(grid.shape)
    for a, bc in enumerate(boundaries):
        op_a, b_a = stencil_1d(grid.shape[a], grid.spacing, bc, diffusion)
        factors = [sp.identity(n, format="csr") for n in grid.shape]
        factors[a] = op_a
        term = factors[0]
        for f in factors[1:]:
            term = sp.kron(term, f, format="csr")
        op = op + term
        shape = [1] * grid.ndim
        shape[a] = grid.shape[a]
        b_tot = b_tot + b_a.reshape(shape)
    return op.tocsc(), b_tot


def reference_step(grid, diffusion, decay, boundaries, dt, c, source):
    """Backward Euler by sparse direct solve: (I/dt + decay - D L) c_new = c/dt + s + b."""
    op, b = reference_operator(grid, diffusion, boundaries)
    eye = sp.identity(grid.size, format="csc")
    lhs = (1.0 / dt + decay) * eye - op
    rhs = c / dt + source + b
    return spla.spsolve(lhs, rhs.ravel()).reshape(grid.shape)


def reference_steady(grid, diffusion, decay, boundaries, source):
    op, b = reference_operator(grid, diffusion, boundaries)
    lhs = decay * sp.identity(grid.size, format="csc") - op
    return spla.spsolve(lhs, (source + b).ravel()).reshape(grid.shape)


def rel_err(x, ref):
    return float(np.max(np.abs(x - ref)) / np.max(np.abs(ref)))


def has_fixed_value(boundaries):
    return any(isinstance(f, FixedValue) for b in boundaries for f in (b.low, b.high))


# --------------------------------------------------------------------------- grid and BCs


def test_grid_geometry():
    g = Grid((4, 3), spacing=2.5, origin=(10.0, -5.0))
    assert g.ndim == 2
    assert g.extent == (10.0, 7.5)
    np.testing.assert_array_equal(g.lo, [10.0, -5.0])
    np.testing.assert_array_equal(g.hi, [20.0, 2.5])
    np.testing.assert_allclose(g.centers(0), [11.25, 13.75, 16.25, 18.75], rtol=0, atol=1e-12)
    assert g.cell_volume == 2.5**2
    coords = g.coords()
    assert list(coords) == ["x", "y"]
    np.testing.assert_allclose(coords["y"], [-3.75, -1.25, 1.25], rtol=0, atol=1e-12)
    g3 = Grid((2, 3, 4), spacing=1.0)
    assert g3.origin == (0.0, 0.0, 0.0)
    assert g3.cell_volume == 1.0
    assert list(g3.coords()) == ["x", "y", "z"]
    assert g3.extent == (2.0, 3.0, 4.0)


def test_boundary_objects():
    assert str(FixedValue(12.5)) == "fixed value 12.5 nM"
    assert str(NoFlux()) == "no flux"
    assert str(Periodic()) == "periodic"
    assert "3" in str(FixedFlux(3.0)) and "into the domain" in str(FixedFlux(3.0))
    ab = AxisBoundary(FixedValue(1.0), NoFlux())
    assert str(ab) == "low: fixed value 1 nM; high: no flux"
    box = no_flux_box(3)
    assert len(box) == 3
    assert all(isinstance(b.low, NoFlux) and isinstance(b.high, NoFlux) for b in box)


# --------------------------------------------------------------------------- 1. sparse solve

# The spectral solution is exact to round-off, the sparse LU solve too: the two agree to
# ~1e-13 relative; 1e-10 leaves room for the conditioning of the steady (decay = 0) systems.
TOL_DIRECT = 1e-10


@pytest.mark.parametrize("kind0,kind1", list(itertools.product(AXES, repeat=2)))
def test_step_matches_sparse_direct_2d(kind0, kind1):
    rng = np.random.default_rng(1)
    boundaries = (AXES[kind0], AXES[kind1])
    for shape in ((7, 6), (6, 5)):  # odd and even lengths (rfft / fft paths)
        grid = Grid(shape, spacing=2.5)
        diffusion, decay, dt = 30.0, 0.05, 0.4
        c = rng.uniform(0.0, 3.0, shape)
        source = rng.uniform(0.0, 1.0, shape)
        solver = SpectralDiffusion(grid, diffusion, decay, boundaries, dt)
        got = solver.step(c, source)
        ref = reference_step(grid, diffusion, decay, boundaries, dt, c, source)
        assert rel_err(got, ref) < TOL_DIRECT
        # steady state: with decay always; without decay when a face fixes the value
        ref = reference_steady(grid, diffusion, decay, boundaries, source)
        assert rel_err(solver.steady(source), ref) < TOL_DIRECT
        if has_fixed_value(boundaries):
            solver.decay = 0.0
            ref = reference_steady(grid, diffusion, 0.0, boundaries, source)
            assert rel_err(solver.steady(source), ref) < TOL_DIRECT


CASES_3D = [
    ("noflux", "noflux", "noflux"),
    ("value", "noflux", "periodic"),
    ("value_flux", "flux_value", "value"),
    ("periodic", "periodic", "periodic"),
    ("periodic", "value_noflux", "periodic"),
    ("noflux_value", "flux", "value_flux"),
    ("flux", "periodic", "noflux_value"),
]


@pytest.mark.parametrize("kinds", CASES_3D)
def test_step_matches_sparse_direct_3d(kinds):
    rng = np.random.default_rng(2)
    boundaries = tuple(AXES[k] for k in kinds)
    grid = Grid((5, 6, 7), spacing=1.5)
    diffusion, decay, dt = 12.0, 0.2, 0.3
    c = rng.uniform(0.0, 3.0, grid.shape)
    source = 0.7  # scalar source
    solver = SpectralDiffusion(grid, diffusion, decay, boundaries, dt)
    ref = reference_step(grid, diffusion, decay, boundaries, dt, c, source)
    assert rel_err(solver.step(c, source), ref) < TOL_DIRECT
    ref = reference_steady(grid, diffusion, decay, boundaries, source)
    assert rel_err(solver.steady(source), ref) < TOL_DIRECT


def test_parameter_changes_and_advance_match_sparse():
    rng = np.random.default_rng(3)
    grid = Grid((8, 5), spacing=2.0)
    boundaries = (AXES["value_flux"], AXES["periodic"])
    solver = SpectralDiffusion(grid, 20.0, 0.1, boundaries, 0.5)
    c0 = rng.uniform(0.0, 2.0, grid.shape)
    source = rng.uniform(0.0, 1.0, grid.shape)
    solver.step(c0, source)  # fill the cache with dt = 0.5
    solver.dt = 2.0
    solver.decay = 0.3
    solver.diffusion = 7.0
    ref = reference_step(grid, 7.0, 0.3, boundaries, 2.0, c0, source)
    assert rel_err(solver.step(c0, source), ref) < TOL_DIRECT
    # advance(time=5) with dt=2 takes ceil(5/2) = 3 equal steps of 5/3
    ref = c0
    for _ in range(3):
        ref = reference_step(grid, 7.0, 0.3, boundaries, 5.0 / 3.0, ref, source)
    assert rel_err(solver.advance(c0, 5.0, source), ref) < TOL_DIRECT
    # advance by a whole number of dt uses exactly dt
    ref = reference_step(grid, 7.0, 0.3, boundaries, 2.0, c0, source)
    ref = reference_step(grid, 7.0, 0.3, boundaries, 2.0, ref, source)
    assert rel_err(solver.advance(c0, 4.0, source), ref) < TOL_DIRECT
    np.testing.assert_array_equal(solver.advance(c0, 0.0, source), c0)


def test_inputs_not_modified():
    rng = np.random.default_rng(4)
    grid = Grid((6, 7), spacing=1.0)
    solver = SpectralDiffusion(grid, 5.0, 0.1, (AXES["value"], AXES["flux"]), 0.2)
    c = rng.uniform(size=grid.shape)
    source = rng.uniform(size=grid.shape)
    c_copy, source_copy = c.copy(), source.copy()
    solver.step(c, source)
    solver.advance(c, 1.0, source)
    solver.steady(source)
    solver.boundary_inflow(c)
    np.testing.assert_array_equal(c, c_copy)
    np.testing.assert_array_equal(source, source_copy)


# --------------------------------------------------------------------------- 2. Green's function


@pytest.mark.parametrize(
    "ndim,sigma_vox,half,tol",
    [
        # Expected peak errors (both make the computed spot slightly too high and narrow):
        # backward Euler damps mode k by (1 + D k^2 dt)^-n instead of exp(-D k^2 t), a relative
        # error (D k^2 t)^2 / (2 n); averaged over the spot's spectrum this is
        # (d/2)(d/2 + 1) / (2 n) = 0.25 % (2-D), 0.47 % (3-D) for n = 400 steps. The discrete
        # Laplacian's eigenvalue k^2 - k^4 dx^2 / 12 per axis adds d dx^2 / (8 sigma^2) = 0.39 %
        # (2-D, sigma = 8 dx), 1.04 % (3-D, sigma = 6 dx). Walls are 4 sigma away (image terms
        # ~exp(-32)). Totals 0.65 % and 1.5 % of the peak; tolerance 2 % and 3 %.
        (2, 8, 32, 0.02),
        (3, 6, 24, 0.03),
    ],
)
def test_point_source_matches_greens_function(ndim, sigma_vox, half, tol):
    dx, diffusion, mass = 2.0, 50.0, 3.0
    n = 2 * half + 1
    grid = Grid((n,) * ndim, spacing=dx, origin=(-n * dx / 2,) * ndim)
    t = (sigma_vox * dx) ** 2 / (2 * diffusion)  # sigma^2 = 2 D t per axis
    solver = SpectralDiffusion(grid, diffusion, 0.0, no_flux_box(ndim), t / 400)
    c = np.zeros(grid.shape)
    c[(half,) * ndim] = mass / grid.cell_volume  # unit voxel at the origin
    c = solver.advance(c, t)
    r2 = sum(np.meshgrid(*[grid.centers(a) ** 2 for a in range(ndim)], indexing="ij"))
    exact = mass / (4 * np.pi * diffusion * t) ** (ndim / 2) * np.exp(-r2 / (4 * diffusion * t))
    assert np.max(np.abs(c - exact)) < tol * exact.max()
    # the lattice conserves the mass exactly (no-flux walls, no decay)
    assert total_amount(c, grid) == pytest.approx(mass, rel=1e-12)


# --------------------------------------------------------------------------- 3. steady source


@pytest.mark.parametrize("ndim,n,decay_len_vox", [(3, 97, 8), (2, 257, 8)])
def test_steady_point_source_with_decay(ndim, n, decay_len_vox):
    dx, diffusion, rate = 2.0, 50.0, 3.0  # rate: amount per minute released at the source
    ell = decay_len_vox * dx
    decay = diffusion / ell**2
    grid = Grid((n,) * ndim, spacing=dx)
    solver = SpectralDiffusion(grid, diffusion, decay, no_flux_box(ndim), dt=1.0)
    mid = np.array((n // 2,) * ndim)
    source = np.zeros(grid.shape)
    source[tuple(mid)] = rate / grid.cell_volume
    c = solver.steady(source)
    directions = [(1, 0, 0), (1, 1, 0), (1, 1, 1)][:ndim] if ndim == 3 else [(1, 0), (1, 1)]
    checked = 0
    for direction in directions:
        for k in range(1, n // 2):
            offset = k * np.array(direction)
            r = float(np.linalg.norm(offset)) * dx
            if not 4 * dx <= r <= 3 * ell:  # from 4 voxels out to 3 decay lengths
                continue
            if ndim == 3:
                exact = rate / (4 * np.pi * diffusion * r) * np.exp(-r / ell)
            else:
                exact = rate / (2 * np.pi * diffusion) * k0(r / ell)
            # Tolerance: the lattice Green's function differs from the continuum one by an
            # anisotropic O((dx / r)^2) term (in 3-D without decay it is (dx / r)^2 / 4 along an
            # axis, 1.6 % at r = 4 dx), and the discrete decay length is off by O((dx / ell)^2)
            # (< 1 % here); the domain half-width (6 and 16 decay lengths) makes wall
            # reflections negligible. Measured worst case: 3.1 % at r = 4 dx on an axis (3-D).
            tol = 0.01 + 0.5 * (dx / r) ** 2
            assert abs(c[tuple(mid + offset)] / exact - 1.0) < tol, (direction, r / dx)
            checked += 1
    assert checked > 20


# --------------------------------------------------------------------------- 4. conservation

# Round-off only: each step is a pair of orthonormal transforms (~1e-16 relative per step).
TOL_CONSERVE = 1e-12


@pytest.mark.parametrize("shape", [(40, 30), (16, 12, 10)])
def test_mass_conserved_no_flux(shape):
    rng = np.random.default_rng(5)
    grid = Grid(shape, spacing=3.0)
    solver = SpectralDiffusion(grid, 100.0, 0.0, no_flux_box(len(shape)), dt=0.5)
    c = rng.uniform(0.0, 10.0, shape)
    m0 = total_amount(c, grid)
    for _ in range(300):
        c = solver.step(c)
    assert total_amount(c, grid) == pytest.approx(m0, rel=TOL_CONSERVE)
    assert solver.boundary_inflow(c) == 0.0


def test_mass_grows_by_source_and_fixed_flux():
    rng = np.random.default_rng(6)
    grid = Grid((20, 15, 8), spacing=2.0)
    c = rng.uniform(0.0, 10.0, grid.shape)
    m0 = total_amount(c, grid)
    volume = math.prod(grid.extent)
    dt, n = 0.25, 100
    t = dt * n
    # uniform and non-uniform sources, no-flux walls
    solver = SpectralDiffusion(grid, 40.0, 0.0, no_flux_box(3), dt)
    c1 = solver.advance(c, t, source=0.3)
    assert total_amount(c1, grid) == pytest.approx(m0 + 0.3 * volume * t, rel=TOL_CONSERVE)
    source = rng.uniform(0.0, 1.0, grid.shape)
    c1 = solver.advance(c, t, source=source)
    expected = m0 + source.sum() * grid.cell_volume * t
    assert total_amount(c1, grid) == pytest.approx(expected, rel=TOL_CONSERVE)
    # fixed-flux faces (in on x-low, out on y-high), periodic z
    q_in, q_out = 1.5, -0.4
    boundaries = (
        AxisBoundary(FixedFlux(q_in), NoFlux()),
        AxisBoundary(NoFlux(), FixedFlux(q_out)),
        AxisBoundary(Periodic(), Periodic()),
    )
    solver = SpectralDiffusion(grid, 40.0, 0.0, boundaries, dt)
    ex, ey, ez = grid.extent
    inflow = q_in * ey * ez + q_out * ex * ez
    assert solver.boundary_inflow(c) == pytest.approx(inflow, rel=1e-14)
    c1 = solver.advance(c, t)
    assert total_amount(c1, grid) == pytest.approx(m0 + inflow * t, rel=TOL_CONSERVE)


def test_decay_only_follows_backward_euler_factor():
    rng = np.random.default_rng(7)
    grid = Grid((24, 18), spacing=5.0)
    decay, dt, n = 0.03, 2.0, 50
    solver = SpectralDiffusion(grid, 80.0, decay, no_flux_box(2), dt)
    c = rng.uniform(0.0, 10.0, grid.shape)
    m0 = total_amount(c, grid)
    for _ in range(n):
        c = solver.step(c)
    # the mean (k = 0 mode) is damped by exactly 1 / (1 + decay dt) per step
    assert total_amount(c, grid) == pytest.approx(m0 * (1 + decay * dt) ** -n, rel=TOL_CONSERVE)


def test_fixed_value_inflow_balances_each_step():
    # Backward Euler is conservative with the fluxes evaluated at the new field:
    # M_new - M = dt * (inflow(c_new) + sum(source) dV - decay M_new), exactly.
    rng = np.random.default_rng(8)
    grid = Grid((12, 10, 9), spacing=2.0)
    boundaries = (AXES["value_flux"], AXES["noflux_value"], AXES["periodic"])
    dt, decay = 0.3, 0.05
    solver = SpectralDiffusion(grid, 25.0, decay, boundaries, dt)
    c = rng.uniform(0.0, 4.0, grid.shape)
    source = rng.uniform(0.0, 1.0, grid.shape)
    for _ in range(5):
        c_new = solver.step(c, source)
        m, m_new = total_amount(c, grid), total_amount(c_new, grid)
        rhs = dt * (solver.boundary_inflow(c_new) + source.sum() * grid.cell_volume - decay * m_new)
        assert m_new - m == pytest.approx(rhs, rel=1e-10, abs=1e-12 * m)
        c = c_new


# --------------------------------------------------------------------------- 5. 1-D profiles


@pytest.mark.parametrize(
    "shape,axis,others",
    [((30, 4), 0, "noflux"), ((5, 25), 1, "periodic"), ((4, 5, 20), 2, "noflux")],
)
def test_fixed_values_give_linear_profile(shape, axis, others):
    g_low, g_high = 2.0, 7.0
    grid = Grid(shape, spacing=1.5, origin=(3.0,) * len(shape))
    boundaries = [AXES[others]] * len(shape)
    boundaries[axis] = AxisBoundary(FixedValue(g_low), FixedValue(g_high))
    solver = SpectralDiffusion(grid, 10.0, 0.0, boundaries, dt=1.0)
    c = solver.steady()
    x = grid.centers(axis) - grid.lo[axis]
    profile = g_low + (g_high - g_low) * x / grid.extent[axis]
    bshape = [1] * len(shape)
    bshape[axis] = shape[axis]
    # a linear function satisfies the stencil and the ghost rule 2 g - c0 exactly: round-off
    np.testing.assert_allclose(c, np.broadcast_to(profile.reshape(bshape), shape), rtol=1e-12)


def _exact_1d(kind, x, length, ell, diffusion):
    """Steady solutions of D c'' = (D / ell^2) c on [0, length]."""
    if kind == "value":  # c(0) = 2, c(L) = 7
        return (2.0 * np.sinh((length - x) / ell) + 7.0 * np.sinh(x / ell)) / np.sinh(length / ell)
    if kind == "value_noflux":  # c(0) = 4, c'(L) = 0
        return 4.0 * np.cosh((length - x) / ell) / np.cosh(length / ell)
    if kind == "noflux_value":  # c'(0) = 0, c(L) = 4
        return 4.0 * np.cosh(x / ell) / np.cosh(length / ell)
    # "flux_value": -D c'(0) = q = -0.7 enters, c(L) = 1
    b = 0.7 * ell / diffusion
    a = (1.0 - b * np.sinh(length / ell)) / np.cosh(length / ell)
    return a * np.cosh(x / ell) + b * np.sinh(x / ell)


@pytest.mark.parametrize("kind", ["value", "value_noflux", "noflux_value", "flux_value"])
def test_decay_profile_matches_sinh_cosh(kind):
    bc = AXES[kind]
    if kind == "value":
        bc = AxisBoundary(FixedValue(2.0), FixedValue(7.0))
    length, ell, diffusion = 60.0, 12.0, 30.0
    errors = []
    for n in (30, 60):
        dx = length / n
        grid = Grid((n, 3), spacing=dx)
        solver = SpectralDiffusion(grid, diffusion, diffusion / ell**2, (bc, AXES["noflux"]), 1.0)
        c = solver.steady()
        exact = _exact_1d(kind, grid.centers(0), length, ell, diffusion)
        # uniform across the no-flux axis (round-off)
        np.testing.assert_allclose(c, np.broadcast_to(c[:, :1], c.shape), rtol=1e-12)
        errors.append(np.max(np.abs(c[:, 1] - exact)) / np.max(np.abs(exact)))
    # Second-order scheme: with dx = ell / 6 the error is O((dx / ell)^2 / 12) ~ 0.3 %;
    # tolerance 1 %, and halving dx must cut it by about 4 (3 to 5).
    assert errors[0] < 0.01
    assert 3.0 < errors[0] / errors[1] < 5.0


# --------------------------------------------------------------------------- 6. stability


def test_huge_time_step_is_stable_and_converges():
    rng = np.random.default_rng(9)
    dx, diffusion = 2.0, 50.0
    grid = Grid((32, 24), spacing=dx)
    dt = 1000 * dx**2 / diffusion
    boundaries = (AxisBoundary(FixedValue(1.0), NoFlux()), AxisBoundary(NoFlux(), NoFlux()))
    solver = SpectralDiffusion(grid, diffusion, 0.01, boundaries, dt)
    source = np.zeros(grid.shape)
    source[20:24, 10:14] = 0.5
    steady = solver.steady(source)
    c = rng.uniform(0.0, 1.0, grid.shape)
    c[5, 5] = 1e3  # a sharp spike
    # Backward Euler with an M-matrix obeys the discrete maximum principle: the deviation from
    # steady state can only shrink in max-norm, and non-negative data stay non-negative (up to
    # round-off, 1e-12 of the maximum).
    dev = np.max(np.abs(c - steady))
    for _ in range(30):
        c = solver.step(c, source)
        new_dev = np.max(np.abs(c - steady))
        assert new_dev <= dev * (1 + 1e-12)
        assert c.min() >= -1e-12 * c.max()
        dev = new_dev
    # slowest mode is damped by 1 / (1 + dt (decay + D mu_min)) < 0.1 per step
    assert dev < 1e-9 * steady.max()

    # pure diffusion of a spike in a closed box: positive, bounded, tends to the mean
    solver = SpectralDiffusion(grid, diffusion, 0.0, no_flux_box(2), dt)
    c = np.zeros(grid.shape)
    c[0, 0] = 100.0
    for _ in range(30):
        c = solver.step(c)
        assert c.min() >= -1e-12 * c.max()
        assert c.max() <= 100.0
    np.testing.assert_allclose(c, 100.0 / grid.size, rtol=1e-9)


# --------------------------------------------------------------------------- 7. errors


def test_error_paths():
    grid = Grid((8, 6), spacing=1.0)
    solver = SpectralDiffusion(grid, 1.0, 0.0, no_flux_box(2), 0.1)
    with pytest.raises(ValueError, match="shape"):
        solver.step(np.zeros((6, 8)))
    with pytest.raises(ValueError, match="shape"):
        solver.step(np.zeros(grid.shape), source=np.ones((8, 5)))
    with pytest.raises(ValueError, match="shape"):
        solver.boundary_inflow(np.zeros((8, 6, 1)))
    with pytest.raises(ValueError, match="shape"):
        total_amount(np.zeros((3, 3)), grid)
    with pytest.raises(ValueError, match="diffusion"):
        SpectralDiffusion(grid, -1.0, 0.0, no_flux_box(2), 0.1)
    with pytest.raises(ValueError, match="decay"):
        SpectralDiffusion(grid, 1.0, -0.1, no_flux_box(2), 0.1)
    with pytest.raises(ValueError, match="dt"):
        SpectralDiffusion(grid, 1.0, 0.0, no_flux_box(2), 0.0)
    with pytest.raises(ValueError, match="dt"):
        solver.dt = -1.0
    with pytest.raises(ValueError, match="AxisBoundary"):
        SpectralDiffusion(grid, 1.0, 0.0, no_flux_box(3), 0.1)
    with pytest.raises(ValueError, match="periodic"):
        AxisBoundary(Periodic(), NoFlux())
    with pytest.raises(ValueError, match="periodic"):
        AxisBoundary(FixedValue(1.0), Periodic())
    with pytest.raises(ValueError, match="steady"):
        solver.steady(1.0)  # no decay, no fixed value: singular
    d0 = SpectralDiffusion(grid, 0.0, 0.0, (AXES["value"], AXES["noflux"]), 0.1)
    with pytest.raises(ValueError, match="steady"):
        d0.steady()  # no diffusion and no decay: singular too
    with pytest.raises(ValueError, match="time"):
        solver.advance(np.zeros(grid.shape), -1.0)
    with pytest.raises(ValueError, match="at least|>= 2"):
        Grid((1, 5), spacing=1.0)
    with pytest.raises(ValueError):
        Grid((4, 5), spacing=0.0)
    with pytest.raises(ValueError):
        Grid((4,), spacing=1.0)
    with pytest.raises(ValueError):
        FixedValue(-1.0)
    with pytest.raises(ValueError):
        FixedFlux(float("nan"))
    # user-causable errors are also TropismError (one-line messages for the command line)
    with pytest.raises(TropismError) as info:
        SpectralDiffusion(grid, float("inf"), 0.0, no_flux_box(2), 0.1)
    assert "\n" not in str(info.value)
