"""Events on the timeline: drugs, chemokine, antibodies, irradiation, cell injection.

Each event has a time (min) and an ``apply(world, rng)`` that changes the world in place.
The engine applies an event at the first motility step whose start time is at or after the
event's time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tropism.world.cells import ReceptorSeeding
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
class AddAntibody:
    """Add a neutralising antibody against ``species`` (first-order removal kon [A])."""

    time: float
    species: str
    concentration: float
    washin: float = 0.0

    def apply(self, world: World, rng: np.random.Generator) -> None:
        world.antibodies[self.species].set_target(self.concentration, world.time, self.washin)


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
class Irradiate:
    """A radiation fraction of ``dose`` Gy on the whole field or on the tumour only."""

    time: float
    dose: float
    region: str = "all"

    def apply(self, world: World, rng: np.random.Generator) -> None:
        micro = world.micro
        mask = None if self.region == "all" else micro.density > 0.05
        micro.irradiate(self.dose, world.time, mask)
        world.refresh_tumour_sense()


@dataclass(frozen=True)
class InjectCells:
    """Add ``count`` cells of a population where ``place`` puts them."""

    time: float
    population: str
    count: int
    place: Callable[[np.random.Generator, int], np.ndarray]
    seeding: ReceptorSeeding

    def apply(self, world: World, rng: np.random.Generator) -> None:
        index = [p.name for p in world.populations].index(self.population)
        pop = world.populations[index]
        pop.seed(rng, self.place(rng, self.count), world.time, self.seeding, world.ndim)


Event = AddDrug | AddAntibody | AddChemokine | Irradiate | InjectCells
