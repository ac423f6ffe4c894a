"""Tests of the masked, variable-diffusivity backward-Euler solver.

Each check is against an independent result: the spectral solver (uniform D, no mask), the
exact steady profile of a two-layer slab, or an exact conservation law.
"""

from __future__ import annotations

import numpy as np
import pytest

from tropism.world.boundaries import AxisBoundary, FixedFlux, FixedValue, NoFlux, Periodic
from tropism.world.diffusion import SpectralDiffusion, total_amount
from tropism.world.grid import Grid, WorldError
from tropism.world.masked_diffusion import MaskedDiffusion, face_values

AXES = {
    "noflux": AxisBoundary(NoFlux(), NoFlux()),
    "value": AxisBoundary(FixedValue(2.0), FixedValue(5.0)),
    "value_flux": AxisBoundary(FixedValue(3.0), FixedFlux(1.5)),
    "flux_value": AxisBoundary(FixedFlux(-0.7), FixedValue(1.0)),
    "flux": AxisBoundary(FixedFlux(2.0), FixedFlux(-0.5)),
    "periodic": AxisBoundary(Periodic(), Periodic()),
}

CASES_2D = [
    ("value", "noflux"),
    ("value_flux", "periodic"),
    ("flux_value", "value"),
    ("flux", "periodic"),
    ("periodic", "periodic"),
    ("noflux", "value_flux"),
]


@pytest.mark.parametrize(("ax0", "ax1"), CASES_2D)
def test_uniform_unmasked_equals_spectral_2d(ax0, ax1):
    grid = Grid((9, 6), spacing=3.0)
    bcs = [AXES[ax0], AXES[ax1]]
    rng = np.random.default_rng(1)
    c0 = rng.uniform(0, 4, grid.shape)
    src = rng.uniform(0, 0.5, grid.shape)
    spec = SpectralDiffusion(grid, 7.0, 0.02, bcs, dt=0.8)
    mask = MaskedDiffusion(grid, 7.0, 0.02, bcs, dt=0.8)
    a, b = c0, c0
    for _ in range(3):
        a = spec.step(a, src)
        b = mask.step(b, src)
    np.testing.assert_allclose(b, a, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(mask.advance(c0, 2.0, src), spec.advance(c0, 2.0, src), rtol=1e-11)
    np.testing.assert_allclose(mask.steady(src), spec.steady(src), rtol=1e-10, atol=1e-10)
    assert mask.boundary_inflow(a) == pytest.approx(spec.boundary_inflow(a), rel=1e-12, abs=1e-9)


def test_uniform_unmasked_equals_spectral_3d():
    grid = Grid((5, 4, 6), spacing=2.0)
    bcs = [AXES["value"], AXES["periodic"], AXES["flux_value"]]
    rng = np.random.default_rng(2)
    c0 = rng.uniform(0, 3, grid.shape)
    spec = SpectralDiffusion(grid, 3.0, 0.0, bcs, dt=0.5)
    mask = MaskedDiffusion(grid, 3.0, 0.0, bcs, dt=0.5)
    np.testing.assert_allclose(mask.step(c0, 0.1), spec.step(c0, 0.1), rtol=1e-11)
    np.testing.assert_allclose(mask.steady(), spec.steady(), rtol=1e-10)


@pytest.mark.parametrize("low_face", ["value", "flux"])
def test_two_layer_steady_profile_is_exact(low_face):
    """A slab of D1 (0 < x < a) on D2 (a < x < L): piecewise linear, flux continuous."""
    h, m, n = 2.0, 7, 20
    d1, d2 = 50.0, 4.0
    grid = Grid((n, 4), spacing=h)
    a, length = m * h, n * h
    dmap = np.where(np.arange(n)[:, None] < m, d1, d2) * np.ones(grid.shape)
    c_right = 1.0
    x = grid.centers(0)
    if low_face == "value":
        c_left = 10.0
        bc = AxisBoundary(FixedValue(c_left), FixedValue(c_right))
        flux = (c_left - c_right) / (a / d1 + (length - a) / d2)
    else:
        flux = 3.0  # enters at x = 0
        bc = AxisBoundary(FixedFlux(flux), FixedValue(c_right))
        c_left = c_right + flux * (a / d1 + (length - a) / d2)
    c_interface = c_left - flux * a / d1
    exact = np.where(x < a, c_left - flux * x / d1, c_interface - flux * (x - a) / d2)
    solver = MaskedDiffusion(grid, dmap, 0.0, [bc, AXES["noflux"]], dt=1.0)
    c = solver.steady()
    np.testing.assert_allclose(c, exact[:, None] * np.ones((1, 4)), rtol=1e-11)
    # the face value at the interface from the discrete field is the exact one
    fv = face_values(c[m - 1, 0], c[m, 0], d1, d2)
    assert fv == pytest.approx(c_interface, rel=1e-11)
    # the flux between the two layers is the exact flux
    d_face = 2 * d1 * d2 / (d1 + d2)
    assert d_face * (c[m - 1, 0] - c[m, 0]) / h == pytest.approx(flux, rel=1e-11)


def _obstacle_grid():
    grid = Grid((16, 12), spacing=5.0)
    mask = np.zeros(grid.shape, dtype=bool)
    mask[5:9, 3:10] = True  # a block in the middle
    mask[12, :] = True  # a wall splitting off x >= 13
    rng = np.random.default_rng(3)
    dmap = rng.uniform(10.0, 200.0, grid.shape)
    return grid, mask, dmap, rng


def test_mass_is_conserved_with_a_masked_obstacle():
    grid, mask, dmap, rng = _obstacle_grid()
    c = np.where(mask, 0.0, rng.uniform(0, 5, grid.shape))
    solver = MaskedDiffusion(grid, dmap, 0.0, [AXES["noflux"]] * 2, dt=2.0, mask=mask)
    total0 = total_amount(c, grid)
    right0 = c[13:].sum()
    for _ in range(25):
        c = solver.step(c)
    assert total_amount(c, grid) == pytest.approx(total0, rel=1e-12)
    assert np.all(c[mask] == 0.0)
    # nothing crosses the wall: the sealed region keeps its own amount
    assert c[13:].sum() == pytest.approx(right0, rel=1e-12)
    # and each region tends to its own uniform level
    solver.dt = 1e4
    c = solver.advance(c, 1e5)
    left = c[:12][~mask[:12]]
    np.testing.assert_allclose(left, left.mean(), rtol=1e-8)


def test_uniform_decay_removes_the_exact_fraction_per_step():
    """No-flux faces: sum(c) shrinks by 1 / (1 + decay dt) per backward-Euler step."""
    grid, mask, dmap, rng = _obstacle_grid()
    c = np.where(mask, 0.0, rng.uniform(0, 5, grid.shape))
    solver = MaskedDiffusion(grid, dmap, 0.05, [AXES["noflux"]] * 2, dt=2.0, mask=mask)
    total = c.sum()
    for _ in range(4):
        c = solver.step(c)
    assert c.sum() == pytest.approx(total / (1 + 0.05 * 2.0) ** 4, rel=1e-12)
    solver.decay = 0.0  # refactorised with the new decay
    assert solver.step(c).sum() == pytest.approx(c.sum(), rel=1e-12)


def test_sources_and_inflow_balance():
    """d(total)/dt = source + boundary inflow at steady state (decay 0): both sum to 0."""
    grid, mask, dmap, _ = _obstacle_grid()
    bcs = [AxisBoundary(FixedValue(1.0), NoFlux()), AxisBoundary(NoFlux(), FixedFlux(0.3))]
    mask[12, :] = False  # one connected region
    solver = MaskedDiffusion(grid, dmap, 0.0, bcs, dt=1.0, mask=mask)
    src = np.where(mask, 0.0, 0.01)
    c = solver.steady(src)
    produced = float(src.sum()) * grid.cell_volume
    assert solver.boundary_inflow(c) == pytest.approx(-produced, rel=1e-9)


def test_steady_without_anchor_or_decay_is_an_error():
    grid, mask, dmap, _ = _obstacle_grid()
    bcs = [AxisBoundary(FixedValue(1.0), NoFlux()), AXES["noflux"]]
    solver = MaskedDiffusion(grid, dmap, 0.0, bcs, dt=1.0, mask=mask)
    # the region beyond the wall (x >= 13) has no fixed-value face
    with pytest.raises(WorldError, match="undetermined"):
        solver.steady()
    solver.decay = 0.01
    assert np.all(np.isfinite(solver.steady()))


def test_bad_inputs():
    grid = Grid((4, 4), spacing=1.0)
    bcs = [AXES["noflux"]] * 2
    with pytest.raises(WorldError, match="mask"):
        MaskedDiffusion(grid, 1.0, 0.0, bcs, 1.0, mask=np.zeros((3, 4), dtype=bool))
    with pytest.raises(WorldError, match="every voxel"):
        MaskedDiffusion(grid, 1.0, 0.0, bcs, 1.0, mask=np.ones((4, 4), dtype=bool))
    with pytest.raises(WorldError, match="diffusion map"):
        MaskedDiffusion(grid, -np.ones((4, 4)), 0.0, bcs, 1.0)
    with pytest.raises(WorldError, match="decay"):
        MaskedDiffusion(grid, 1.0, -1.0, bcs, 1.0)
    with pytest.raises(WorldError, match="field has shape"):
        MaskedDiffusion(grid, 1.0, 0.0, bcs, 1.0).step(np.zeros((2, 2)))


def test_conjugate_gradients_agree_with_lu():
    grid = Grid((6, 5, 7), spacing=4.0)
    mask = np.zeros(grid.shape, dtype=bool)
    mask[2:4, 1:4, 3] = True
    rng = np.random.default_rng(4)
    dmap = rng.uniform(5.0, 50.0, grid.shape)
    bcs = [AXES["value"], AXES["noflux"], AXES["flux_value"]]
    c0 = np.where(mask, 0.0, rng.uniform(0, 3, grid.shape))
    direct = MaskedDiffusion(grid, dmap, 0.01, bcs, 1.5, mask, linear_solver="direct")
    cg = MaskedDiffusion(grid, dmap, 0.01, bcs, 1.5, mask, linear_solver="cg")
    np.testing.assert_allclose(cg.step(c0, 0.2), direct.step(c0, 0.2), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(cg.steady(0.2), direct.steady(0.2), rtol=1e-8, atol=1e-9)
    assert MaskedDiffusion(Grid((30, 30, 30), 1.0), 1.0, 0.0, bcs, 1.0).linear_solver == "cg"
    assert MaskedDiffusion(Grid((300, 300), 1.0), 1.0, 0.0, bcs[:2], 1.0).linear_solver == "direct"
