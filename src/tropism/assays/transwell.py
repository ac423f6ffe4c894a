"""The ``transwell`` assay (Boyden chamber): upper well, porous membrane, lower well.

Geometry: a vertical slice, x across the membrane and y up (in 3-D, z is the second
horizontal axis): the lower well (``lower_height``) from y = 0, the membrane in a band of
``ceil(membrane_thickness / grid_spacing)`` voxel rows, the upper well (``upper_height``)
above it. The physics of the membrane, the settling and the passage of cells are in
:mod:`tropism.world.membrane`.

Chemokines start at ``lower`` below the membrane (and in it: it is wetted from below) and at
``upper`` above it (both: the checkerboard, which separates chemokinesis from chemotaxis);
``conditioned_medium`` adds the medium of simulated tumour cells in a dish
(:mod:`tropism.world.conditioned`) to the lower well. The faces are closed (no flux), except,
with ``lower_boundary = "reservoir"``, the floor of the simulated column, held at the lower
well's starting concentration (the medium around the insert) for every chemokine no
neutralising antibody targets (an antibody in the medium neutralises the reservoir too).
Nothing holds the difference across the membrane: it decays as the chemokine spreads into the
upper well.

Cells are seeded uniformly through the upper well in suspension; injections (``inject_cells``
events) also go into the upper well, across ``x_min <= x <= x_max``.

Readouts: ``migrated_fraction`` (of the seeded cells, on the lower side), ``migrated_count``,
and ``membrane_difference_<chemokine>`` (lower face minus upper face, population ``medium``).
"""

from __future__ import annotations

import math

import numpy as np

from tropism.assays.common import (
    Built,
    build_events,
    build_populations,
    check_divides,
    tumour_model,
)
from tropism.world.boundaries import AxisBoundary, FixedValue, NoFlux
from tropism.world.cells import uniform_positions
from tropism.world.conditioned import conditioned_medium
from tropism.world.grid import Grid
from tropism.world.masked_diffusion import MaskedDiffusion
from tropism.world.membrane import MembraneHook, band_diffusivity, porosity
from tropism.world.world import World

__all__ = ["build", "lower_concentrations"]


def lower_concentrations(scenario) -> dict[str, float]:
    """Concentrations in the lower well, nM: ``lower`` plus the conditioned medium."""
    a = scenario.assay
    out = dict(a.lower)
    cm = a.conditioned_medium
    if cm is not None:
        params, switches = tumour_model(scenario)
        species = sorted(scenario.fields)
        made = conditioned_medium(
            params,
            switches,
            species,
            {s: scenario.fields[s].decay for s in species},
            cm.o2,
            cm.duration,
            cm.dose,
            cm.cell_layer / cm.medium_height,
        )
        for s, c in made.items():
            out[s] = out.get(s, 0.0) + cm.fraction * c
    return out


def build(scenario, rng: np.random.Generator) -> Built:
    """Build the wells, membrane, cells and events of a Transwell assay."""
    a = scenario.assay
    ndim = scenario.scenario.dimensions
    h = a.grid_spacing
    nx = check_divides("assay.width", a.width, h)
    n_low = check_divides("assay.lower_height", a.lower_height, h)
    n_up = check_divides("assay.upper_height", a.upper_height, h)
    n_band = max(1, math.ceil(a.membrane_thickness / h - 1e-9))
    shape: tuple[int, ...] = (nx, n_low + n_band + n_up)
    if ndim == 3:
        shape = (*shape, check_divides("assay.depth", a.depth, h))
    grid = Grid(shape=shape, spacing=h)
    y_bottom, y_top = n_low * h, (n_low + n_band) * h
    open_fraction = porosity(a.pore_diameter, a.pore_density)

    species = sorted(scenario.fields)
    lower = lower_concentrations(scenario)
    rows = np.arange(shape[1])
    below_top = (rows < n_low + n_band).reshape((1, -1) + (1,) * (ndim - 2))
    in_band = ((rows >= n_low) & (rows < n_low + n_band)).reshape(below_top.shape)
    # an antibody in the medium also neutralises the reservoir: no fixed floor for its target
    neutralised = set(scenario.antibodies) | {
        ev.species for ev in scenario.events if ev.kind == "add_antibody"
    }
    values = np.zeros((len(species), *shape))
    solvers = []
    free_d, band_d = [], []
    for i, s in enumerate(species):
        spec = scenario.fields[s]
        c_low, c_up = lower.get(s, 0.0), a.upper.get(s, 0.0)
        values[i] = np.where(below_top, c_low, c_up) * np.ones(shape)
        d_band = band_diffusivity(spec.diffusion, open_fraction, a.membrane_thickness, n_band * h)
        dmap = np.where(in_band, d_band, spec.diffusion) * np.ones(shape)
        reservoir = a.lower_boundary == "reservoir" and s not in neutralised
        floor = FixedValue(c_low) if reservoir else NoFlux()
        bcs = [AxisBoundary(NoFlux(), NoFlux()), AxisBoundary(floor, NoFlux())]
        bcs += [AxisBoundary(NoFlux(), NoFlux())] * (ndim - 2)
        solvers.append(MaskedDiffusion(grid, dmap, spec.decay, bcs, scenario.numerics.field_dt))
        free_d.append(spec.diffusion)
        band_d.append(d_band)

    lo = np.zeros(3)
    hi = np.zeros(3)
    hi[:ndim] = grid.extent

    def upper_band(x_min: float, x_max: float):
        b_lo, b_hi = lo.copy(), hi.copy()
        b_lo[0], b_hi[0] = x_min, x_max
        b_lo[1] = y_top
        return lambda r, n: uniform_positions(r, n, b_lo, b_hi, ndim)

    populations, tables, biology, seedings = build_populations(
        scenario, species, rng, upper_band(0.0, hi[0]), ndim
    )
    hook = MembraneHook(
        rows=(n_low - 1, n_low, n_low + n_band - 1, n_low + n_band),
        band_d=np.array(band_d),
        free_d=np.array(free_d),
        y_bottom=y_bottom,
        y_top=y_top,
        settling_speed=a.settling_speed,
        attachment_time=a.attachment_time,
        pore_density=a.pore_density,
        pore_diameter=a.pore_diameter,
        basal_passage=a.basal_passage,
        max_passage=a.max_passage,
    )
    world = World(
        grid=grid,
        species=species,
        values=values,
        solvers=solvers,
        secretion=[0.0] * len(species),
        populations=populations,
        receptor_tables=tables,
        lo=lo,
        hi=hi,
        up=None,
        voxel_volume=h**ndim * (1.0 if ndim == 3 else a.depth),
        biology=biology,
        cell_uptake=scenario.model.uptake,
        hooks=[hook],
    )
    events = build_events(scenario, world, seedings, upper_band)
    return Built(world=world, events=events)
