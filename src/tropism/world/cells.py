"""Cell populations as structure-of-arrays.

A population holds, for N cells, their positions and velocities (always 3 columns; the z
column stays 0 in 2-D runs), accumulated path length, state, receptor numbers per receptor
type, and where and when each cell entered the simulation (for displacement readouts).
Arrays are plain NumPy so the Numba kernels in :mod:`tropism.world.motility` can take them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MIGRATING: np.int8 = np.int8(0)
"""State code of a moving cell (the only state the motility kernel moves)."""


@dataclass(frozen=True)
class MotilityParams:
    """Motility and sensing constants of one population (engine units).

    Attributes
    ----------
    speed
        RMS random speed, um/min.
    persistence
        Velocity autocorrelation time tau of the Ornstein-Uhlenbeck walk, min.
    chemotactic_speed
        Maximal chemotactic drift speed, um/min.
    half_max_signal
        Front-back difference of bound receptors giving half the maximal drift.
    cell_length
        Length over which a cell compares receptor occupancy, um.
    noise_scale
        Multiplier of the binomial binding noise (0 switches sensing noise off).
    mechanics
        Whether the cells push each other apart (soft spheres, :mod:`tropism.world.mechanics`).
    radius
        Soft-sphere radius, um.
    repulsion
        Push speed at full overlap, um/min.
    """

    speed: float
    persistence: float
    chemotactic_speed: float
    half_max_signal: float
    cell_length: float
    noise_scale: float
    mechanics: bool = False
    radius: float = 10.0
    repulsion: float = 10.0


def lognormal_receptors(rng: np.random.Generator, mean: float, cv: float, n: int) -> np.ndarray:
    """Receptor numbers per cell, log-normal with the given mean and coefficient of variation.

    With s^2 = ln(1 + cv^2) and mu = ln(mean) - s^2/2 the distribution has exactly the
    requested mean and CV; cv = 0 gives every cell ``mean`` receptors.
    """
    if mean <= 0:
        return np.zeros(n)
    if cv == 0:
        return np.full(n, float(mean))
    s2 = np.log1p(cv * cv)
    return rng.lognormal(np.log(mean) - 0.5 * s2, np.sqrt(s2), size=n)


@dataclass(frozen=True)
class ReceptorSeeding:
    """How a population's cells get their receptors when they enter.

    Each cell draws a baseline per receptor type, log-normal around ``means`` with
    coefficient of variation ``cv``, times ``expression`` (over-expression > 1, knock-down
    < 1); it enters with baseline x ``initial`` (the preconditioning multiplier, 1 for
    receptor types preconditioning does not touch).
    """

    means: tuple[float, ...]
    cv: float
    expression: tuple[float, ...]
    initial: tuple[float, ...]


@dataclass
class CellPopulation:
    """N cells of one kind, as arrays (structure-of-arrays)."""

    name: str
    receptor_names: tuple[str, ...]
    params: MotilityParams
    pos: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    vel: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    path: np.ndarray = field(default_factory=lambda: np.zeros(0))
    state: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    receptors: np.ndarray | None = None
    baseline: np.ndarray | None = None
    start: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    birth: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    speed_scale: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Per-cell multiplier of the random speed (chemokinesis), 1 when a cell enters."""

    def __post_init__(self) -> None:
        if self.receptors is None:
            self.receptors = np.zeros((0, len(self.receptor_names)))
        if self.baseline is None:
            self.baseline = np.zeros((0, len(self.receptor_names)))

    @property
    def count(self) -> int:
        """Number of cells."""
        return int(self.pos.shape[0])

    def seed(
        self,
        rng: np.random.Generator,
        pos: np.ndarray,
        time: float,
        seeding: ReceptorSeeding,
        ndim: int,
    ) -> None:
        """Add cells at ``pos`` with stationary random velocities and seeded receptors."""
        n = pos.shape[0]
        vel = stationary_velocities(rng, n, self.params.speed, ndim)
        base = np.zeros((n, len(seeding.means)))
        for j, mean in enumerate(seeding.means):
            base[:, j] = lognormal_receptors(rng, mean, seeding.cv, n) * seeding.expression[j]
        self.add(pos, vel, base * np.asarray(seeding.initial), time, baseline=base)

    def add(
        self,
        pos: np.ndarray,
        vel: np.ndarray,
        receptors: np.ndarray,
        time: float,
        baseline: np.ndarray | None = None,
    ) -> None:
        """Append cells (seeding at t = 0 or an injection event later).

        ``baseline`` is each cell's receptor number without ligand and without
        preconditioning (what receptor synthesis restores); default ``receptors``.
        """
        n = pos.shape[0]
        first = int(self.ids[-1]) + 1 if self.ids.size else 0
        self.pos = np.concatenate([self.pos, pos])
        self.vel = np.concatenate([self.vel, vel])
        self.path = np.concatenate([self.path, np.zeros(n)])
        self.state = np.concatenate([self.state, np.full(n, MIGRATING, dtype=np.int8)])
        self.receptors = np.concatenate([self.receptors, receptors])
        self.baseline = np.concatenate(
            [self.baseline, receptors.copy() if baseline is None else baseline]
        )
        self.start = np.concatenate([self.start, pos.copy()])
        self.birth = np.concatenate([self.birth, np.full(n, float(time))])
        self.ids = np.concatenate([self.ids, np.arange(first, first + n, dtype=np.int64)])
        self.speed_scale = np.concatenate([self.speed_scale, np.ones(n)])


def uniform_positions(
    rng: np.random.Generator, n: int, lo: np.ndarray, hi: np.ndarray, ndim: int
) -> np.ndarray:
    """n positions uniform in the box [lo, hi] (z = 0 in 2-D), shape (n, 3)."""
    pos = np.zeros((n, 3))
    pos[:, :ndim] = rng.uniform(lo[:ndim], hi[:ndim], size=(n, ndim))
    return pos


def stationary_velocities(rng: np.random.Generator, n: int, speed: float, ndim: int) -> np.ndarray:
    """Velocities drawn from the stationary OU law: per-axis N(0, speed^2 / ndim)."""
    vel = np.zeros((n, 3))
    vel[:, :ndim] = rng.normal(0.0, speed / np.sqrt(ndim), size=(n, ndim))
    return vel
