"""The ``spheroid`` assay: a tumour at the centre of a field of gel or tissue, stem cells around.

Geometry: a box of ``length`` x ``width`` (x ``depth`` in 3-D; in 2-D ``depth`` is the
thickness of the simulated layer) with a tumour of ``tumour_radius`` at its centre
(u = 1 inside, 0 outside). The tumour consumes oxygen supplied from the box faces
(``boundary_o2``), turns hypoxic in its core, and secretes CXCL12, CCL2, IL-8 and TGF-beta
(:class:`~tropism.world.microenvironment.Microenvironment`). Chemokines leave through the
faces into the medium (``boundary = "sink"``: fixed value 0) or stay (``"no_flux"``).
Stem cells are seeded uniformly in the ring (shell in 3-D) seed_r_min <= r <= seed_r_max
around the centre. With ``initial = "steady"`` the chemokine fields start at the steady
state of the initial secretion (the tumour secreted for days before the cells arrive).
"""

from __future__ import annotations

import math

import numpy as np

from tropism.assays.common import (
    Built,
    band_placer,
    build_events,
    build_populations,
    check_divides,
    tumour_model,
)
from tropism.world.boundaries import AxisBoundary, FixedValue, NoFlux
from tropism.world.diffusion import SpectralDiffusion
from tropism.world.grid import Grid
from tropism.world.microenvironment import Microenvironment
from tropism.world.oxygen import OxygenSolver
from tropism.world.world import World


def ring_placer(centre: np.ndarray, r_min: float, r_max: float, lo, hi, ndim: int):
    """Positions uniform (by area or volume) in a ring/shell around ``centre``, inside the box."""

    def place(rng: np.random.Generator, n: int) -> np.ndarray:
        out = np.zeros((n, 3))
        filled = 0
        while filled < n:
            m = 2 * (n - filled) + 8
            if ndim == 2:
                r = np.sqrt(rng.uniform(r_min**2, r_max**2, m))
                theta = rng.uniform(0.0, 2 * math.pi, m)
                pts = np.zeros((m, 3))
                pts[:, 0] = centre[0] + r * np.cos(theta)
                pts[:, 1] = centre[1] + r * np.sin(theta)
            else:
                r = np.cbrt(rng.uniform(r_min**3, r_max**3, m))
                d = rng.standard_normal((m, 3))
                d /= np.linalg.norm(d, axis=1, keepdims=True)
                pts = centre + r[:, None] * d
            inside = np.all((pts[:, :ndim] >= lo[:ndim]) & (pts[:, :ndim] <= hi[:ndim]), axis=1)
            take = pts[inside][: n - filled]
            out[filled : filled + len(take)] = take
            filled += len(take)
        return out

    return place


def build(scenario, rng: np.random.Generator) -> Built:
    """Build the world, events and tumour of a spheroid assay."""
    a = scenario.assay
    ndim = scenario.scenario.dimensions
    h = a.grid_spacing
    lengths = [a.length, a.width] + ([a.depth] if ndim == 3 else [])
    keys = ["assay.length", "assay.width", "assay.depth"]
    shape = tuple(check_divides(key, n, h) for key, n in zip(keys, lengths, strict=False))
    grid = Grid(shape=shape, spacing=h)
    lo = np.zeros(3)
    hi = np.zeros(3)
    hi[:ndim] = grid.extent
    centre = 0.5 * (lo + hi)

    # tumour: u = 1 at voxel centres within the radius
    mesh = np.meshgrid(*[grid.centers(i) for i in range(ndim)], indexing="ij")
    r2 = sum((m - centre[i]) ** 2 for i, m in enumerate(mesh))
    u = (r2 <= a.tumour_radius**2).astype(float)

    species = sorted(scenario.fields)
    model = scenario.model
    t = scenario.tumour
    params, switches = tumour_model(scenario)
    oxygen = None
    if model.oxygen:
        o2_faces = [AxisBoundary(FixedValue(a.boundary_o2), FixedValue(a.boundary_o2))] * ndim
        oxygen = OxygenSolver(grid, a.o2_diffusion, o2_faces, t.o2_consumption, t.o2_km)
    micro = Microenvironment(params, switches, u, oxygen, species, grid.cell_volume)

    face = FixedValue(0.0) if a.boundary == "sink" else NoFlux()
    bcs = [AxisBoundary(face, face)] * ndim
    values = np.zeros((len(species), *shape))
    solvers = [
        SpectralDiffusion(
            grid,
            scenario.fields[s].diffusion,
            scenario.fields[s].decay,
            bcs,
            scenario.numerics.field_dt,
        )
        for s in species
    ]
    secretion: list = [0.0] * len(species)
    for name, rate in micro.secretion(0.0).items():
        i = species.index(name)
        secretion[i] = rate
        if a.initial == "steady":
            try:
                values[i] = solvers[i].steady(rate)
            except ValueError:  # no decay and no sink: no steady state, start empty
                values[i] = 0.0

    populations, tables, biology, seedings = build_populations(
        scenario,
        species,
        rng,
        ring_placer(centre, a.seed_r_min, a.seed_r_max, lo, hi, ndim),
        ndim,
    )
    world = World(
        grid=grid,
        species=species,
        values=values,
        solvers=solvers,
        secretion=secretion,
        populations=populations,
        receptor_tables=tables,
        lo=lo,
        hi=hi,
        up=None,
        voxel_volume=h**ndim * (1.0 if ndim == 3 else a.depth),
        micro=micro,
        biology=biology,
        margin=a.margin,
        cell_uptake=model.uptake,
    )
    world.refresh_tumour_sense()
    events = build_events(scenario, world, seedings, band_placer(lo, hi, ndim))
    return Built(world=world, events=events, seedings=seedings)
