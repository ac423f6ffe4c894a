"""Pieces every assay template uses: populations from cell specs, drugs, events."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tropism.errors import ScenarioError
from tropism.events import AddChemokine, AddDrug, Event, InjectCells
from tropism.world.cells import (
    CellPopulation,
    MotilityParams,
    lognormal_receptors,
    stationary_velocities,
    uniform_positions,
)
from tropism.world.world import Drug, ReceptorTable, World


@dataclass
class Built:
    """What an assay template returns: the world and its timeline."""

    world: World
    events: list[Event]


def check_divides(key: str, length: float, spacing: float) -> int:
    """Number of voxels along an axis; the spacing must divide the length."""
    n = length / spacing
    if abs(n - round(n)) > 1e-6 * max(1.0, n) or round(n) < 4:
        raise ScenarioError(
            key,
            f"{length:g} um",
            f"a whole multiple (at least 4) of assay.grid_spacing = {spacing:g} um",
        )
    return int(round(n))


def _ensure_species(species: list[str], name: str, key: str) -> int:
    if name not in species:
        raise ScenarioError(
            key, name, f"a chemokine present in this assay ({', '.join(species) or 'none'})"
        )
    return species.index(name)


def build_populations(
    scenario, species: list[str], rng, lo: np.ndarray, hi: np.ndarray, ndim: int
) -> tuple[list[CellPopulation], list[ReceptorTable]]:
    """Seed every population of the scenario uniformly in the box [lo, hi].

    A receptor whose ligand has no field in this assay still exists on the cells but reads
    concentration 0 (a field of zeros is not allocated: it simply gets weight 0).
    """
    pops, tables = [], []
    for name, spec in scenario.cells.items():
        rnames = tuple(spec.receptors)
        ligand, kd, chem = [], [], []
        for r in rnames:
            info = scenario.receptors[r]
            present = info.ligand in species
            ligand.append(species.index(info.ligand) if present else 0)
            kd.append(info.kd)
            chem.append(1.0 if (info.chemotactic and present) else 0.0)
        table = ReceptorTable(
            names=rnames,
            ligand=np.asarray(ligand, dtype=np.int64),
            kd=np.asarray(kd, dtype=np.float64),
            chemotactic=np.asarray(chem, dtype=np.float64),
        )
        params = MotilityParams(
            speed=spec.speed,
            persistence=spec.persistence,
            chemotactic_speed=spec.chemotactic_speed,
            half_max_signal=spec.half_max_signal,
            cell_length=spec.cell_length,
            noise_scale=spec.noise_scale if spec.sensing_noise else 0.0,
        )
        pop = CellPopulation(name=name, receptor_names=rnames, params=params)
        n = spec.count
        pos = uniform_positions(rng, n, lo, hi, ndim)
        vel = stationary_velocities(rng, n, spec.speed, ndim)
        rec = np.zeros((n, len(rnames)))
        for j, r in enumerate(rnames):
            rec[:, j] = lognormal_receptors(rng, spec.receptors[r], spec.receptor_cv, n)
        pop.add(pos, vel, rec, 0.0)
        pops.append(pop)
        tables.append(table)
    return pops, tables


def build_events(scenario, world: World) -> list[Event]:
    """Drugs present from t = 0 and the scenario's timeline, as engine events."""
    for name, info in scenario.pharmacology.items():
        world.drugs[name] = Drug(name=name, receptor=info.target, ic50=info.ic50)
    for name, conc in scenario.drugs.items():
        world.drugs[name].set_target(conc, 0.0, 0.0)
    events: list[Event] = []
    for i, ev in enumerate(scenario.events):
        if ev.kind == "add_drug":
            events.append(AddDrug(ev.time, ev.drug, ev.concentration, ev.washin or 0.0))
        elif ev.kind == "add_chemokine":
            _ensure_species(world.species, ev.species, f"events[{i}].species")
            events.append(AddChemokine(ev.time, ev.species, ev.concentration))
        elif ev.kind == "inject_cells":
            spec = scenario.cells[ev.population]
            x_min = world.lo[0] if ev.x_min is None else ev.x_min
            x_max = world.hi[0] if ev.x_max is None else ev.x_max
            events.append(
                InjectCells(
                    ev.time,
                    ev.population,
                    ev.count,
                    x_min,
                    x_max,
                    tuple(spec.receptors.values()),
                    spec.receptor_cv,
                )
            )
    return events
