"""The ``gradient`` assay: cells in a channel between a chemokine source and a sink.

Geometry (microfluidic channel, Dunn or mu-Slide bridge): a box of ``length`` (x, along the
gradient) by ``width`` (y) (by ``depth`` (z) in 3-D). The source reservoir at x = length
and the sink at x = 0 hold each chemokine at a fixed value (Dirichlet faces); the side walls
are no-flux. Cells are seeded uniformly in a band seed_x_min <= x <= seed_x_max across the
full width and cannot leave the channel (reflecting walls). With ``initial = "steady"`` the
gradient is already established at t = 0 (with no decay it is linear); with ``"empty"`` the
channel starts at the sink level and the gradient forms by diffusion.
"""

from __future__ import annotations

import numpy as np

from tropism.assays.common import Built, band_placer, build_events, build_populations, check_divides
from tropism.world.boundaries import AxisBoundary, FixedValue, NoFlux
from tropism.world.diffusion import SpectralDiffusion
from tropism.world.grid import Grid
from tropism.world.world import World


def build(scenario, rng: np.random.Generator) -> Built:
    """Build the world, events and readout direction of a gradient assay."""
    a = scenario.assay
    ndim = scenario.scenario.dimensions
    h = a.grid_spacing
    lengths = [a.length, a.width] + ([a.depth] if ndim == 3 else [])
    keys = ["assay.length", "assay.width", "assay.depth"]
    shape = tuple(check_divides(key, n, h) for key, n in zip(keys, lengths, strict=False))
    grid = Grid(shape=shape, spacing=h)
    dt_field = scenario.numerics.field_dt

    species = sorted(set(a.source) | set(a.sink))
    values = np.zeros((len(species), *shape))
    solvers = []
    for i, s in enumerate(species):
        src = a.source.get(s, 0.0)
        snk = a.sink.get(s, 0.0)
        spec = scenario.fields[s]
        bcs = [AxisBoundary(FixedValue(snk), FixedValue(src))]
        bcs += [AxisBoundary(NoFlux(), NoFlux()) for _ in range(ndim - 1)]
        solver = SpectralDiffusion(grid, spec.diffusion, spec.decay, bcs, dt_field)
        solvers.append(solver)
        if a.initial == "steady":
            values[i] = solver.steady()
        else:
            values[i] = snk
    lo = np.zeros(3)
    hi = np.zeros(3)
    hi[:ndim] = grid.extent
    place_band = band_placer(lo, hi, ndim)
    populations, tables, biology, seedings = build_populations(
        scenario, species, rng, place_band(a.seed_x_min, a.seed_x_max), ndim
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
        up=np.array([1.0, 0.0, 0.0]),
        voxel_volume=h**ndim * (1.0 if ndim == 3 else a.depth),
        biology=biology,
    )
    events = build_events(scenario, world, seedings, place_band)
    return Built(world=world, events=events)
