"""The ``systemic`` assay: cells injected into the blood, distributed over the organs.

Two coupled parts:

- the circulation (:mod:`tropism.world.circulation`): every injected cell moves between
  venous blood, lungs (first-pass trapping, release, death), arterial blood, liver/spleen,
  tumour, other tissue and "cleared" at the rates of a linear compartment model, injected
  intravenously (venous blood) or intra-arterially (arterial blood, skipping the lungs on
  the first pass). ``transitions = "stochastic"`` moves each cell at random (counts vary
  between replicates as they do between animals; exact in distribution at any step length);
  ``"expected"`` carries the expected numbers (deterministic);
- a tissue window around the tumour, built exactly as the ``spheroid`` assay builds its
  world (tumour density, oxygen, HIF, secretion of CXCL12, CCL2, IL-8 and TGF-beta,
  irradiation) but with no cells at the start.

Coupling, once per tumour step: the tumour's vascular chemokine level is the
tumour-density-weighted mean concentration of each chemokine over the window; each
population's signalling receptors bound at that level (mean receptor numbers,
expression and preconditioning included; antagonists in the blood lower the weights) set
the probability that a cell passing the tumour's vessels is trapped and extravasates
(:func:`~tropism.world.circulation.tumour_capture`). An irradiated, chemokine-rich tumour
therefore recruits more circulating cells (klopp2007), and cells with more CXCR4 home more
(lien2009). Cells that extravasate enter the tissue window at a random position in the
tumour (voxels weighted by tumour density, where the vessels are) and migrate, sense,
arrest and secrete there like any other cells; the homing readouts follow them. The window
is a small part of the perfused tumour (``tumour_flow`` is the whole tumour's share of the
cardiac output), so only a sample of the arriving cells, each with probability
``tissue_sample``, enters it: enough cells to follow their homing, few enough that their
chemokine uptake does not distort the window's levels (every arriving cell counts in
``fraction_tumour``).

Readouts per population: ``fraction_<compartment>`` (fraction of the injected cells in each
compartment; they sum to 1), ``capture_probability`` (per pass through the tumour) and
``bound_receptors`` (signalling receptors bound at the tumour's vascular level).
Simplifications: all cells of a population share one capture probability (the population
mean of the receptors, not each cell's own); the circulation advances with the tumour step
(``numerics.tumour_dt``), so an injection between two steps starts moving at the next one;
the tumour's own vessels do not supply oxygen (it comes from the faces of the window, as in
the spheroid assay).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tropism.assays.common import Built
from tropism.world.cells import ReceptorSeeding
from tropism.world.circulation import (
    COMPARTMENTS,
    Circulation,
    CirculationParams,
    bound_signal,
    tumour_capture,
)
from tropism.world.world import World

#: Keys of the [assay] table that describe the tissue window (as the spheroid assay's).
TISSUE_KEYS: tuple[str, ...] = (
    "length",
    "width",
    "depth",
    "grid_spacing",
    "tumour_radius",
    "tumour_kind",
    "boundary",
    "boundary_o2",
    "o2_diffusion",
    "margin",
    "initial",
)

#: Keys of the [assay] table that are rates of the compartment model.
CIRCULATION_KEYS: tuple[str, ...] = tuple(CirculationParams.__dataclass_fields__)


@dataclass(frozen=True)
class Infuse:
    """An injection of ``count`` cells of population ``index`` into the circulation."""

    time: float
    index: int
    count: int
    route: str

    def apply(self, world: World, rng: np.random.Generator) -> None:
        world.circulation.circulation.inject(self.index, self.count, self.route)


@dataclass
class SystemicCoupling:
    """Couples the circulation to the tissue window (``World.circulation``).

    Attributes
    ----------
    circulation
        The compartment model.
    seedings
        Per population (in the world's order): how cells entering the tissue get receptors.
    receptors
        Per population: (R,) mean receptor numbers of a circulating cell.
    capture_max, capture_half_signal
        Chemokine-triggered capture at saturation and the bound receptors giving half of it.
    tissue_sample
        Fraction of the cells entering the tumour that enter the simulated window.
    """

    circulation: Circulation
    seedings: list[ReceptorSeeding]
    receptors: list[np.ndarray]
    capture_max: float
    capture_half_signal: float
    tissue_sample: float = 1.0
    bound: np.ndarray | None = None
    _carry: np.ndarray | None = None

    def tumour_levels(self, world: World) -> np.ndarray:
        """(F,) tumour-density-weighted mean concentration of each field, nM."""
        w = world.micro.density
        total = float(w.sum())
        if total <= 0.0:
            return np.zeros(len(world.species))
        return np.array([float((w * c).sum()) / total for c in world.values])

    def captures(self, world: World) -> np.ndarray:
        """(P,) probability per pass through the tumour's vessels of each population."""
        levels = self.tumour_levels(world)
        n = len(world.populations)
        self.bound = np.zeros(n)
        out = np.zeros(n)
        for k in range(n):
            table = world.receptor_tables[k]
            conc = levels[table.ligand] if levels.size else np.zeros(len(table.names))
            self.bound[k] = bound_signal(
                self.receptors[k], world.receptor_weights(k), conc, table.kd
            )
            out[k] = tumour_capture(
                self.bound[k],
                self.circulation.params.other_capture,
                self.capture_max,
                self.capture_half_signal,
            )
        return out

    def step(self, world: World, dt: float, rng: np.random.Generator) -> None:
        """Advance the circulation by dt; cells that extravasated enter the tumour."""
        arrivals = self.circulation.step(self.captures(world), dt, rng)
        if self._carry is None:
            self._carry = np.zeros(len(arrivals))
        for k, n in enumerate(arrivals):
            if self.tissue_sample < 1.0 and n > 0:
                if self.circulation.stochastic:
                    n = rng.binomial(int(n), self.tissue_sample)
                else:  # expected numbers: whole cells, the rest carried
                    self._carry[k] += n * self.tissue_sample
                    n = int(np.floor(self._carry[k] + 1e-9))
                    self._carry[k] -= n
            if n > 0:
                pos = tumour_positions(world, rng, int(n))
                world.populations[k].seed(rng, pos, world.time, self.seedings[k], world.ndim)

    def readouts(self, world: World) -> list[tuple[str, str, float]]:
        """(population, readout, value) rows: compartment fractions and tumour capture."""
        if self.bound is None:
            self.captures(world)
        rows = []
        fractions = self.circulation.fractions()
        for k, pop in enumerate(world.populations):
            if self.circulation.injected[k] == 0:
                continue
            for c, name in enumerate(COMPARTMENTS):
                rows.append((pop.name, f"fraction_{name}", float(fractions[k, c])))
            rows.append((pop.name, "capture_probability", float(self.circulation.capture[k])))
            rows.append((pop.name, "bound_receptors", float(self.bound[k])))
        return rows


def tumour_positions(world: World, rng: np.random.Generator, n: int) -> np.ndarray:
    """n positions in the tumour: voxels drawn with probability proportional to the tumour
    density (the vessels are in tumour tissue), uniform within the voxel; (n, 3), z = 0 in
    2-D."""
    w = world.micro.density.ravel()
    total = float(w.sum())
    h = world.grid.spacing
    shape = world.grid.shape
    if total <= 0.0:  # no tumour left: the centre of the window
        pos = np.zeros((n, 3))
        pos[:, : world.ndim] = 0.5 * (world.lo + world.hi)[: world.ndim]
        return pos
    flat = rng.choice(w.size, size=n, p=w / total)
    idx = np.stack(np.unravel_index(flat, shape), axis=1)
    pos = np.zeros((n, 3))
    pos[:, : world.ndim] = world.grid.lo + (idx + rng.random((n, world.ndim))) * h
    return pos


def _tissue_scenario(scenario):
    """The scenario of the tissue window: a spheroid assay with the window's geometry, no
    cells at the start and no cell injections (the circulation delivers them)."""
    from tropism.scenario.schema import SpheroidAssay

    a = scenario.assay
    # the values were validated by SystemicAssay (engine units): construct, do not re-parse
    assay = SpheroidAssay.model_construct(
        **{k: getattr(a, k) for k in TISSUE_KEYS}, seed_r_min=0.0, seed_r_max=a.tumour_radius
    )
    cells = {name: spec.model_copy(update={"count": 0}) for name, spec in scenario.cells.items()}
    events = [ev for ev in scenario.events if ev.kind != "inject_cells"]
    return scenario.model_copy(update={"assay": assay, "cells": cells, "events": events})


def build(scenario, rng: np.random.Generator) -> Built:
    """Build the tissue window, the circulation and the injections of a systemic assay."""
    from tropism.assays import spheroid

    a = scenario.assay
    built = spheroid.build(_tissue_scenario(scenario), rng)
    world = built.world
    names = [pop.name for pop in world.populations]
    params = CirculationParams(**{k: getattr(a, k) for k in CIRCULATION_KEYS})
    circulation = Circulation(params, names, stochastic=a.transitions == "stochastic")
    seedings = [built.seedings[name] for name in names]
    receptors = [
        np.asarray(s.means) * np.asarray(s.expression) * np.asarray(s.initial) for s in seedings
    ]
    world.circulation = SystemicCoupling(
        circulation, seedings, receptors, a.capture_max, a.capture_half_signal, a.tissue_sample
    )
    for k, name in enumerate(names):
        if scenario.cells[name].count:
            circulation.inject(k, scenario.cells[name].count, a.route)
    events = list(built.events)
    for ev in scenario.events:
        if ev.kind == "inject_cells":
            events.append(Infuse(ev.time, names.index(ev.population), ev.count, a.route))
    return Built(world=world, events=events, seedings=built.seedings)
