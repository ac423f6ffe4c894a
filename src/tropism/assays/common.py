"""Pieces every assay template uses: populations from cell specs, drugs, events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tropism.errors import ScenarioError
from tropism.events import AddAntibody, AddChemokine, AddDrug, Event, InjectCells, Irradiate
from tropism.world.cell_biology import PopulationBiology
from tropism.world.cellbio import preconditioning_factor
from tropism.world.cells import (
    CellPopulation,
    MotilityParams,
    ReceptorSeeding,
    uniform_positions,
)
from tropism.world.world import Antibody, Drug, ReceptorTable, World

#: Receptor types whose expression hypoxic preconditioning raises (tang2009; liu2012).
PRECONDITIONED = ("cxcr4", "cxcr7")

Placer = Callable[[np.random.Generator, int], np.ndarray]
"""Draws n positions, shape (n, 3): how an assay seeds or injects cells."""


@dataclass
class Built:
    """What an assay template returns: the world and its timeline (and, where the template
    has them, the populations' receptor seeding by name, for cells added later)."""

    world: World
    events: list[Event]
    seedings: dict[str, ReceptorSeeding] = field(default_factory=dict)


def tumour_model(scenario):
    """The tumour's numbers and the scenario's tumour-side switches, for a Microenvironment."""
    from tropism.world.microenvironment import Switches, TumourParams

    t, model = scenario.tumour, scenario.model
    params = TumourParams(**{k: getattr(t, k) for k in TumourParams.__dataclass_fields__})
    switches = Switches(
        oxygen=model.oxygen,
        growth=model.growth,
        hif=model.hif,
        irradiation_response=model.irradiation_response,
        cxcr7_sink=model.cxcr7_sink,
        trail=model.trail,
    )
    return params, switches


def band_placer(lo: np.ndarray, hi: np.ndarray, ndim: int) -> Callable[[float, float], Placer]:
    """Placers of cells uniform in a band x_min <= x <= x_max across the box [lo, hi]."""

    def band(x_min: float, x_max: float) -> Placer:
        b_lo, b_hi = lo.copy(), hi.copy()
        b_lo[0], b_hi[0] = x_min, x_max
        return lambda rng, n: uniform_positions(rng, n, b_lo, b_hi, ndim)

    return band


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


@dataclass(frozen=True)
class PopulationSetup:
    """Everything needed to create a population's cells, now or later (injection)."""

    seeding: ReceptorSeeding


def build_populations(
    scenario, species: list[str], rng: np.random.Generator, place: Placer, ndim: int
) -> tuple[list[CellPopulation], list[ReceptorTable], list[PopulationBiology], dict]:
    """Create and seed every population of the scenario.

    A receptor whose ligand has no field in this assay reads field 0 with signalling weight
    0 and no uptake (it senses nothing). Returns the populations, their receptor tables,
    their biology and their receptor seeding (for later injections) by name.
    """
    model = scenario.model
    pops, tables, biology, seedings = [], [], [], {}
    for name, spec in scenario.cells.items():
        rnames = tuple(spec.receptors)
        infos = [scenario.receptors[r] for r in rnames]
        present = np.array([info.ligand in species for info in infos])
        table = ReceptorTable(
            names=rnames,
            ligand=np.array(
                [species.index(i.ligand) if p else 0 for i, p in zip(infos, present, strict=True)],
                dtype=np.int64,
            ),
            kd=np.array([i.kd for i in infos], dtype=np.float64),
            chemotactic=np.array(
                [1.0 if (i.chemotactic and p) else 0.0 for i, p in zip(infos, present, strict=True)]
            ),
        )
        pre = spec.preconditioning if model.preconditioning else None

        def factor(fold: float, pre=pre, spec=spec) -> float:
            if pre is None:
                return 1.0
            return preconditioning_factor(
                pre.o2,
                pre.duration,
                pre.reoxygenation,
                fold,
                spec.precondition_tau_rise,
                spec.precondition_tau_decay,
                spec.precondition_threshold,
            )

        m_rec, m_speed = (
            factor(spec.precondition_receptor_fold),
            factor(spec.precondition_speed_fold),
        )
        preconditioned = np.array([r in PRECONDITIONED for r in rnames])
        seeding = ReceptorSeeding(
            means=tuple(spec.receptors[r] for r in rnames),
            cv=spec.receptor_cv,
            expression=tuple(spec.expression.get(r, 1.0) for r in rnames),
            initial=tuple(m_rec if p else 1.0 for p in preconditioned),
        )
        secretion = {}
        if model.secretion:
            secretion = {species.index(s): rate for s, rate in spec.secretion.items()}
        bio = PopulationBiology(
            k_int=np.array([i.k_int for i in infos]) * present,
            k_deg=np.array([i.k_deg for i in infos], dtype=np.float64),
            scavenger=np.array([i.scavenger for i in infos], dtype=np.bool_),
            recycle=np.array([i.recycle for i in infos], dtype=np.float64),
            preconditioned=preconditioned,
            m_receptor=m_rec,
            m_speed=m_speed,
            tau_decay=spec.precondition_tau_decay,
            kinetics=model.receptor_kinetics,
            chemokinesis_gain=spec.chemokinesis if model.chemokinesis else 0.0,
            arrest_rate=spec.arrest_rate if model.arrest else 0.0,
            secretion=secretion,
        )
        params = MotilityParams(
            speed=spec.speed,
            persistence=spec.persistence,
            chemotactic_speed=spec.chemotactic_speed,
            half_max_signal=spec.half_max_signal,
            cell_length=spec.cell_length,
            noise_scale=spec.noise_scale if spec.sensing_noise else 0.0,
            **_mechanics(spec),
        )
        pop = CellPopulation(name=name, receptor_names=rnames, params=params)
        pop.seed(rng, place(rng, spec.count), 0.0, seeding, ndim)
        pops.append(pop)
        tables.append(table)
        biology.append(bio)
        seedings[name] = seeding
    return pops, tables, biology, seedings


def _mechanics(spec) -> dict:
    """Soft-sphere settings of a cell spec, where the schema has them."""
    out = {}
    for key in ("mechanics", "radius", "repulsion"):
        if hasattr(spec, key):
            out[key] = getattr(spec, key)
    return out


def build_events(
    scenario, world: World, seedings: dict, place_band: Callable[[float, float], Placer]
) -> list[Event]:
    """Drugs and antibodies present from t = 0 and the scenario's timeline, as engine events.

    ``place_band(x_min, x_max)`` gives the placer of an injection band along x.
    """
    for name, info in scenario.pharmacology.items():
        world.drugs[name] = Drug(name=name, receptor=info.target, ic50=info.ic50)
    for name, conc in scenario.drugs.items():
        world.drugs[name].set_target(conc, 0.0, 0.0)

    def antibody(species: str, key: str) -> None:
        _ensure_species(world.species, species, key)
        if species not in world.antibodies:
            world.antibodies[species] = Antibody(
                name=f"anti-{species}", species=species, kon=scenario.fields[species].antibody_kon
            )

    for species, conc in scenario.antibodies.items():
        antibody(species, f"antibodies.{species}")
        world.antibodies[species].set_target(conc, 0.0, 0.0)
    events: list[Event] = []
    for i, ev in enumerate(scenario.events):
        if ev.kind == "add_drug":
            events.append(AddDrug(ev.time, ev.drug, ev.concentration, ev.washin or 0.0))
        elif ev.kind == "add_chemokine":
            _ensure_species(world.species, ev.species, f"events.{i}.species")
            events.append(AddChemokine(ev.time, ev.species, ev.concentration))
        elif ev.kind == "add_antibody":
            antibody(ev.species, f"events.{i}.species")
            events.append(AddAntibody(ev.time, ev.species, ev.concentration, ev.washin or 0.0))
        elif ev.kind == "irradiate":
            if world.micro is None:
                raise ScenarioError(
                    f"events.{i}.kind", "irradiate", "an assay with a tumour (e.g. spheroid)"
                )
            events.append(Irradiate(ev.time, ev.dose, ev.region or "all"))
        elif ev.kind == "inject_cells":
            x_min = world.lo[0] if ev.x_min is None else ev.x_min
            x_max = world.hi[0] if ev.x_max is None else ev.x_max
            events.append(
                InjectCells(
                    ev.time,
                    ev.population,
                    ev.count,
                    place_band(x_min, x_max),
                    seedings[ev.population],
                )
            )
    return events
