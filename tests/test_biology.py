"""Cell-side biology wired into the world and engine, against exact results.

- ligand uptake by migrating cells conserves mass: what the fields lose equals what the
  cells internalised (receptor loss when nothing is re-synthesised);
- receptor recycling: steady state s / (k_int f (1 - phi) + k_deg) at constant occupancy;
- preconditioning raises the initial receptor numbers by the closed-form multiplier;
- an antibody removes its chemokine at first order kon [A] (exact backward-Euler factor).
"""

from __future__ import annotations

import numpy as np
import pytest

from tropism.engine import Engine
from tropism.world.boundaries import AxisBoundary, NoFlux
from tropism.world.cell_biology import PopulationBiology
from tropism.world.cells import CellPopulation, MotilityParams, ReceptorSeeding, uniform_positions
from tropism.world.diffusion import SpectralDiffusion, total_amount
from tropism.world.grid import Grid
from tropism.world.receptors import molecules_to_nM
from tropism.world.world import Antibody, ReceptorTable, World

KD = 4.5


def _world(c0=5.0, n=300, k_deg=0.0, recycle=0.0, seed=0, depth=20.0):
    grid = Grid((20, 20), spacing=20.0)
    bcs = [AxisBoundary(NoFlux(), NoFlux())] * 2
    solver = SpectralDiffusion(grid, 1.2e4, 0.0, bcs, 1.0)
    rng = np.random.default_rng(seed)
    params = MotilityParams(0.2, 5.0, 0.2, 10.0, 20.0, 1.0)
    pop = CellPopulation("msc", ("cxcr4",), params)
    lo, hi = np.zeros(3), np.array([400.0, 400.0, 0.0])
    seeding = ReceptorSeeding(means=(2000.0,), cv=0.5, expression=(1.0,), initial=(1.0,))
    pop.seed(rng, uniform_positions(rng, n, lo, hi, 2), 0.0, seeding, 2)
    table = ReceptorTable(
        ("cxcr4",), np.array([0]), np.array([KD]), np.array([1.0])
    )
    bio = PopulationBiology(
        k_int=np.array([0.14]),
        k_deg=np.array([k_deg]),
        scavenger=np.array([False]),
        recycle=np.array([recycle]),
        preconditioned=np.array([True]),
    )
    world = World(
        grid=grid,
        species=["cxcl12"],
        values=np.full((1, 20, 20), c0),
        solvers=[solver],
        secretion=[0.0],
        populations=[pop],
        receptor_tables=[table],
        lo=lo,
        hi=hi,
        up=np.array([1.0, 0.0, 0.0]),
        voxel_volume=grid.spacing**2 * depth,
        biology=[bio],
    )
    return world, pop


def test_uptake_by_cells_conserves_mass():
    # No synthesis (k_deg = 0, so k_syn = k_deg R0 = 0), no recycling: every internalised
    # receptor carried one ligand out of the field. No-flux walls, no decay, no sources.
    world, pop = _world()
    before_receptors = pop.receptors.sum()
    before_field = total_amount(world.values[0], world.grid)
    Engine(world, dt=0.5, field_dt=1.0, duration=60.0, rng=np.random.default_rng(1)).run()
    world.exchange_with_cells()  # fold in the last steps' uptake
    lost_molecules = before_receptors - pop.receptors.sum()
    assert lost_molecules > 0.05 * before_receptors  # a real test: much was taken up
    # field amount is in nM um^2 (2-D); the layer thickness turns it into a volume
    depth = world.voxel_volume / world.grid.cell_volume
    lost_nM_um3 = (before_field - total_amount(world.values[0], world.grid)) * depth
    per_molecule = molecules_to_nM(1.0, 1.0)  # nM of one molecule in 1 um^3
    assert lost_nM_um3 == pytest.approx(lost_molecules * per_molecule, rel=1e-9)


def test_recycling_sets_the_steady_receptor_number():
    # Constant field far above what the cells take (uptake off): f = c/(c + Kd) fixed, so
    # R -> k_syn / (k_int f (1 - phi) + k_deg) with k_syn = k_deg R0.
    c0, phi, k_deg = 4.5, 0.9, 0.01
    world, pop = _world(c0=c0, n=50, k_deg=k_deg, recycle=phi)
    world.cell_uptake = False
    r0 = pop.baseline[:, 0].copy()
    Engine(world, dt=0.5, field_dt=1.0, duration=2000.0, rng=np.random.default_rng(2)).run()
    f = c0 / (c0 + KD)
    expected = k_deg * r0 / (0.14 * f * (1 - phi) + k_deg)
    # 2000 min = 34 relaxation times: converged to round-off
    np.testing.assert_allclose(pop.receptors[:, 0], expected, rtol=1e-9)


def test_antibody_removes_its_chemokine_at_first_order():
    world, _ = _world(c0=10.0, n=0)
    world.antibodies["cxcl12"] = Antibody(name="anti", species="cxcl12", kon=0.06)
    world.antibodies["cxcl12"].set_target(5.0, 0.0, 0.0)  # 5 nM antibody -> 0.3 /min
    for _ in range(10):
        world.step_fields(1.0)
    # uniform field, no flux: backward Euler with decay k gives c0 / (1 + k dt)^n exactly
    np.testing.assert_allclose(world.values[0], 10.0 / (1 + 0.3) ** 10, rtol=1e-12)


def test_growth_with_occupied_space_matches_the_ode():
    # du/dt = r g u (K - u) - k u with K = 1 - doomed, against scipy's integrator
    from scipy.integrate import solve_ivp

    from tropism.world.tumour import grow

    u0, p, rate, p_half, k_nec, cap = 0.2, 50.0, 0.01, 2.5, 0.0, 0.6
    g = p / (p + p_half)
    sol = solve_ivp(
        lambda t, u: rate * g * u * (cap - u) - k_nec * u, (0, 300), [u0], rtol=1e-11, atol=1e-13
    )
    out = grow(np.array([u0]), np.array([p]), 300.0, rate, p_half, 0.5, 0.001, 0.0, capacity=cap)
    assert out[0] == pytest.approx(sol.y[0, -1], rel=1e-7)
    assert out[0] < cap  # never beyond the free space
