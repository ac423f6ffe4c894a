"""The matched benchmark: a chemotaxis set-up of the leading C++ agent-based simulator.

Mirrors a standard PhysiCell-style chemotaxis benchmark (issue 7) with tropism's own model:

- 2-D square domain, 20 um voxels, one chemokine with D = 12000 um^2/min and decay
  0.01 /min, no-flux faces, starting empty; a tumour cluster at the centre secretes it: a
  fixed source term in the 190 voxels nearest the centre (one tumour cell per voxel), scaled so
  that the steady peak is ``PEAK_NM``; the 190 tumour cells are also agents (they do not
  migrate, but take part in the mechanics);
- N stem cells placed uniformly at random; speed 0.5 um/min, persistence 5 min, chemotactic
  bias 0.7; soft-sphere mechanics between all cells (radius 8.41 um, the radius of
  PhysiCell's default 2494 um^3 cell; push speed 10 um/min at full overlap, PhysiCell's default
  cell-cell repulsion strength);
- N <= 10^4 on 2000 x 2000 um; larger N keep the density of N = 10^4 by growing the domain
  (10^5 cells on 6300 x 6300 um).

Mapping the bias. In the C++ simulator a cell's motility vector, renewed at rate 1/persistence,
is speed * normalize((1 - b) xi + b g) with xi a random unit vector and g the unit gradient.
Its mean is speed * E[cos theta] along g and its RMS fluctuation speed * sqrt(1 - E[cos]^2);
the velocity correlation decays as exp(-t / persistence). tropism's cells are
Ornstein-Uhlenbeck walkers around a drift v_d = v_chem m / (n_half + |m|): with many receptors
(1e5), no binding noise and n_half = 1, the drift is saturated (|v_d| ~ v_chem) wherever the
gradient is resolvable, so v_chem = speed * E[cos theta] (0.476 um/min for b = 0.7 in 2-D)
and the OU speed = speed * sqrt(1 - E[cos]^2) (0.152 um/min) give the same mean drift, the same
mean-squared speed (0.5^2) and the same persistence. The match is approximate: tropism senses
occupancy gradients (weak drift where the field is far below Kd and its gradient is tiny), and
its random part is Gaussian rather than a fixed-length vector.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tropism.observe.observers import Observer
from tropism.world.boundaries import AxisBoundary, NoFlux
from tropism.world.cells import (
    CellPopulation,
    MotilityParams,
    stationary_velocities,
    uniform_positions,
)
from tropism.world.diffusion import SpectralDiffusion
from tropism.world.grid import Grid
from tropism.world.world import ReceptorTable, World

__all__ = [
    "BIAS",
    "MatchedWorld",
    "RadialObserver",
    "bias_mapping",
    "build_matched",
    "domain_side",
]

SPACING = 20.0  # um
DIFFUSION = 12000.0  # um^2/min
DECAY = 0.01  # /min
TUMOUR_CELLS = 190
SPEED = 0.5  # um/min
PERSISTENCE = 5.0  # min
BIAS = 0.7
RADIUS = 8.41  # um: (3 * 2494 um^3 / (4 pi))^(1/3), PhysiCell's default cell volume
REPULSION = 10.0  # um/min: PhysiCell's default cell-cell repulsion strength
PEAK_NM = 10.0  # steady concentration at the centre, nM (assumed: about 2 Kd)
KD = 4.5  # nM, CXCL12-CXCR4 (disalvo2000)
RECEPTORS = 1e5  # per cell, enough to saturate the drift (assumed, see the module docstring)
BASE_SIDE = 2000.0  # um
BASE_CELLS = 10_000


def bias_mapping(bias: float = BIAS, speed: float = SPEED) -> tuple[float, float]:
    """Drift and OU speed matching a C++-style biased walk in 2-D.

    Returns ``(v_chem, ou_speed)``: speed E[cos theta] and speed sqrt(1 - E[cos theta]^2),
    with theta the angle between g and (1 - b) xi + b g, xi uniform on the circle (averaged
    by the midpoint rule on 20000 angles, exact to ~1e-12 for this smooth periodic integrand).
    """
    phi = (np.arange(20000) + 0.5) * (2.0 * math.pi / 20000)
    x = bias + (1.0 - bias) * np.cos(phi)
    y = (1.0 - bias) * np.sin(phi)
    mean_cos = float(np.mean(x / np.hypot(x, y)))
    return speed * mean_cos, speed * math.sqrt(max(0.0, 1.0 - mean_cos**2))


def _smooth(n: int) -> int:
    """The nearest whole number >= 4 whose prime factors are all <= 7 (fast transforms)."""

    def ok(m: int) -> bool:
        for p in (2, 3, 5, 7):
            while m % p == 0:
                m //= p
        return m == 1

    for d in range(n):
        for m in (n - d, n + d):
            if m >= 4 and ok(m):
                return m
    return n


def domain_side(n_cells: int) -> float:
    """Side of the square domain, um: 2000 up to 10^4 cells, then the density of 10^4.

    Rounded to a whole number of 20 um voxels with prime factors <= 7 (6300 um for 10^5).
    """
    if n_cells <= BASE_CELLS:
        return BASE_SIDE
    side = BASE_SIDE * math.sqrt(n_cells / BASE_CELLS)
    return _smooth(int(round(side / SPACING))) * SPACING


@dataclass
class MatchedWorld:
    """A built matched workload: the world and its centre (for the radial readouts)."""

    world: World
    centre: np.ndarray  # (3,) um


def build_matched(n_cells: int, rng: np.random.Generator, field_dt: float) -> MatchedWorld:
    """Build the matched workload for ``n_cells`` stem cells (see the module docstring).

    Parameters
    ----------
    n_cells
        Number of stem cells.
    rng
        Generator for positions and velocities.
    field_dt
        Field step, min.
    """
    side = domain_side(n_cells)
    n = int(round(side / SPACING))
    grid = Grid(shape=(n, n), spacing=SPACING)
    bcs = [AxisBoundary(NoFlux(), NoFlux()) for _ in range(2)]
    solver = SpectralDiffusion(grid, DIFFUSION, DECAY, bcs, field_dt)

    centres = (np.arange(n) + 0.5) * SPACING
    cx, cy = np.meshgrid(centres, centres, indexing="ij")
    mid = 0.5 * side
    dist = np.hypot(cx - mid, cy - mid)
    tumour_voxels = np.argsort(dist, axis=None, kind="stable")[:TUMOUR_CELLS]
    source = np.zeros(grid.shape)
    source.flat[tumour_voxels] = 1.0
    peak = float(solver.steady(source).max())
    source *= PEAK_NM / peak  # nM/min per tumour voxel

    v_chem, ou_speed = bias_mapping()
    lo = np.zeros(3)
    hi = np.array([side, side, 0.0])
    stem = CellPopulation(
        name="stem",
        receptor_names=("cxcr4",),
        params=MotilityParams(
            speed=ou_speed,
            persistence=PERSISTENCE,
            chemotactic_speed=v_chem,
            half_max_signal=1.0,
            cell_length=20.0,
            noise_scale=0.0,
            mechanics=True,
            radius=RADIUS,
            repulsion=REPULSION,
        ),
    )
    pos = uniform_positions(rng, n_cells, lo, hi, 2)
    # store the cells in a space-filling order (strips of 10 voxels, then y), so that cells
    # close in memory are close in space: the kernels then read the fields and the neighbours
    # from cache (the seeding order is arbitrary; cells are uniform either way)
    strip = np.floor(pos[:, 0] / (10.0 * SPACING))
    pos = pos[np.lexsort((pos[:, 1], strip))]
    stem.add(
        pos,
        stationary_velocities(rng, n_cells, ou_speed, 2),
        np.full((n_cells, 1), RECEPTORS),
        0.0,
    )
    tumour = CellPopulation(
        name="tumour",
        receptor_names=(),
        params=MotilityParams(
            speed=0.0,
            persistence=PERSISTENCE,
            chemotactic_speed=0.0,
            half_max_signal=1.0,
            cell_length=20.0,
            noise_scale=0.0,
            mechanics=True,
            radius=RADIUS,
            repulsion=REPULSION,
        ),
    )
    t_pos = np.zeros((TUMOUR_CELLS, 3))
    t_pos[:, 0] = cx.flat[tumour_voxels]
    t_pos[:, 1] = cy.flat[tumour_voxels]
    tumour.add(t_pos, np.zeros((TUMOUR_CELLS, 3)), np.zeros((TUMOUR_CELLS, 0)), 0.0)
    tables = [
        ReceptorTable(
            names=("cxcr4",),
            ligand=np.zeros(1, dtype=np.int64),
            kd=np.array([KD]),
            chemotactic=np.ones(1),
        ),
        ReceptorTable(
            names=(),
            ligand=np.zeros(0, dtype=np.int64),
            kd=np.zeros(0),
            chemotactic=np.zeros(0),
        ),
    ]
    world = World(
        grid=grid,
        species=["cxcl12"],
        values=np.zeros((1, *grid.shape)),
        solvers=[solver],
        secretion=[source],
        populations=[stem, tumour],
        receptor_tables=tables,
        lo=lo,
        hi=hi,
        up=None,
    )
    return MatchedWorld(world=world, centre=np.array([mid, mid, 0.0]))


class RadialObserver(Observer):
    """Homing readouts towards a point: mean distance and radial FMI of one population.

    Radial FMI: (distance at entry - distance now) / path length, averaged over cells.
    """

    def __init__(self, interval: float, centre: np.ndarray, population: str = "stem"):
        self.interval = float(interval)
        self.centre = np.asarray(centre, dtype=float)
        self.population = population
        self.rows: list[tuple[float, str, float]] = []

    def observe(self, world: World) -> None:
        pop = next(p for p in world.populations if p.name == self.population)
        d_now = np.linalg.norm(pop.pos - self.centre, axis=1)
        d_start = np.linalg.norm(pop.start - self.centre, axis=1)
        path = np.where(pop.path > 0.0, pop.path, np.nan)
        self.rows.append((world.time, "mean_distance", float(d_now.mean())))
        if world.time > 0.0:
            self.rows.append(
                (world.time, "radial_fmi", float(np.nanmean((d_start - d_now) / path)))
            )

    def result(self) -> dict[str, list[tuple[float, float]]]:
        """Readout name -> [(time, value), ...]."""
        out: dict[str, list[tuple[float, float]]] = {}
        for t, name, v in self.rows:
            out.setdefault(name, []).append((t, v))
        return out
