"""Events on the timeline: add a drug, add chemokine, inject cells.

Each event has a time (min) and an ``apply(world, rng)`` that changes the world in place.
The engine applies an event at the first motility step whose start time is at or after the
event's time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tropism.world.cells import (
    lognormal_receptors,
    stationary_velocities,
    uniform_positions,
)
from tropism.world.world import World


@dataclass(frozen=True)
class AddDrug:
    """Change a bath drug concentration, reached with wash-in time constant ``washin``."""

    time: float
    drug: str
    concentration: float
    washin: float = 0.0

    def apply(self, world: World, rng: np.random.Generator) -> None:
        world.drugs[self.drug].set_target(self.concentration, world.time, self.washin)


@dataclass(frozen=True)
class AddChemokine:
    """Add a uniform concentration of a chemokine to its field (a bolus into the medium)."""

    time: float
    species: str
    concentration: float

    def apply(self, world: World, rng: np.random.Generator) -> None:
        world.values[world.field_index(self.species)] += self.concentration
        world.refresh_sense()


@dataclass(frozen=True)
class InjectCells:
    """Add ``count`` cells of a population, uniform in a band along the first axis."""

    time: float
    population: str
    count: int
    x_min: float
    x_max: float
    receptor_means: tuple[float, ...]
    receptor_cv: float

    def apply(self, world: World, rng: np.random.Generator) -> None:
        index = [p.name for p in world.populations].index(self.population)
        pop = world.populations[index]
        lo = world.lo.copy()
        hi = world.hi.copy()
        lo[0], hi[0] = self.x_min, self.x_max
        pos = uniform_positions(rng, self.count, lo, hi, world.ndim)
        vel = stationary_velocities(rng, self.count, pop.params.speed, world.ndim)
        rec = np.column_stack(
            [lognormal_receptors(rng, m, self.receptor_cv, self.count) for m in self.receptor_means]
        ).reshape(self.count, len(self.receptor_means))
        pop.add(pos, vel, rec, world.time)


Event = AddDrug | AddChemokine | InjectCells
