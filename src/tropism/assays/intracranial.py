"""The ``intracranial`` assay: a coronal brain slice with a glioma and an injection site.

Geometry (:class:`~tropism.world.brain.BrainSlice`, 2-D only): two hemispheres inside an
elliptical outline centred in the box, a midline fissure above the corpus callosum, the corpus
callosum as a band of white matter in which the cells' random speed is multiplied by
``callosum_speed_factor``, and two lateral ventricles. Outside the outline, the fissure and the
ventricles are blocked: chemokines do not diffuse into them (masked diffusion,
:class:`~tropism.world.masked_diffusion.MaskedDiffusion`) and cells are reflected off them.

Chemokines diffuse in the extracellular space with ``D / tortuosity^2`` (rusakov1998) and are
cleared by the tissue at ``tissue_clearance`` on top of their own decay. The tumour (a disc of
``tumour_radius`` at ``(tumour_x, tumour_y)`` from the brain centre) is a
:class:`~tropism.world.microenvironment.Microenvironment`: it consumes oxygen supplied by the
tissue's vessels (``o2_supply_rate`` towards ``tissue_o2``; blocked voxels and the box faces
held at ``tissue_o2``), turns hypoxic in its core and secretes its chemokines.

Injection (``injection_site``): ``contralateral`` at the mirror image of the tumour centre in
the other hemisphere; ``ipsilateral`` ``injection_distance`` dorsal to the tumour centre in
the same hemisphere; ``intraventricular`` in the tissue lining the lateral ventricle opposite
the tumour. ``injection_x`` and ``injection_y`` (offsets from the brain centre) put it anywhere
instead. Cells are seeded uniformly in the tissue voxels within ``injection_radius`` of the
site (the lining: within ``injection_radius`` of the ventricle wall).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from tropism.assays.common import (
    Built,
    build_events,
    build_populations,
    check_divides,
    tumour_model,
)
from tropism.errors import ScenarioError
from tropism.units import format_quantity
from tropism.world.boundaries import AxisBoundary, FixedValue, NoFlux
from tropism.world.brain import BrainHook, BrainSlice
from tropism.world.grid import Grid
from tropism.world.masked_diffusion import MaskedDiffusion
from tropism.world.microenvironment import Microenvironment
from tropism.world.oxygen import OxygenSolver
from tropism.world.world import World

__all__ = ["build", "check_geometry", "injection_point", "slice_geometry"]


def _fmt(v: float) -> str:
    return format_quantity(v, "length")


def slice_geometry(a) -> BrainSlice:
    """The brain slice of an intracranial assay table, centred in its box."""
    return BrainSlice(
        cx=0.5 * a.length,
        cy=0.5 * a.width,
        half_width=0.5 * a.brain_width,
        half_height=0.5 * a.brain_height,
        fissure_width=a.fissure_width,
        callosum_y=a.callosum_y,
        callosum_thickness=a.callosum_thickness,
        callosum_half_length=a.callosum_half_length,
        ventricle_x=a.ventricle_x,
        ventricle_y=a.ventricle_y,
        ventricle_width=a.ventricle_width,
        ventricle_height=a.ventricle_height,
    )


def injection_point(a, brain: BrainSlice) -> tuple[float, float] | None:
    """Injection centre (x, y) in um, or None for an intraventricular injection."""
    if a.injection_x is not None or a.injection_y is not None:
        return brain.cx + (a.injection_x or 0.0), brain.cy + (a.injection_y or 0.0)
    tx, ty = brain.cx + a.tumour_x, brain.cy + a.tumour_y
    if a.injection_site == "contralateral":
        return 2.0 * brain.cx - tx, ty
    if a.injection_site == "ipsilateral":
        return tx, ty + a.injection_distance
    return None


def check_geometry(a) -> tuple[str, object, str] | None:
    """The first geometric mistake of an intracranial table as (key, value, expected), or None.

    The brain must fit the box; the tumour centre must lie in brain tissue and the tumour
    inside the box; the injection site must lie in brain tissue.
    """
    if a.brain_width > a.length:
        return "brain_width", _fmt(a.brain_width), f"at most length ({_fmt(a.length)})"
    if a.brain_height > a.width:
        return "brain_height", _fmt(a.brain_height), f"at most width ({_fmt(a.width)})"
    brain = slice_geometry(a)
    tx, ty = brain.cx + a.tumour_x, brain.cy + a.tumour_y
    if not bool(brain.tissue(tx, ty)):
        return (
            "tumour_x",
            _fmt(a.tumour_x),
            f"a tumour centre in brain tissue (with tumour_y = {_fmt(a.tumour_y)}: inside the "
            "brain outline, outside the ventricles and the fissure)",
        )
    r = a.tumour_radius
    if tx - r < 0 or ty - r < 0 or tx + r > a.length or ty + r > a.width:
        return (
            "tumour_radius",
            _fmt(r),
            f"a tumour inside the domain ({_fmt(a.length)} x {_fmt(a.width)}) around its centre",
        )
    point = injection_point(a, brain)
    if point is not None and not bool(brain.tissue(*point)):
        if a.injection_x is not None or a.injection_y is not None:
            key = "injection_x" if a.injection_x is not None else "injection_y"
            value = a.injection_x if key == "injection_x" else a.injection_y
        elif a.injection_site == "ipsilateral":
            key, value = "injection_distance", a.injection_distance
        else:
            key, value = "injection_site", a.injection_site
        if not isinstance(value, str):
            value = _fmt(value)
        return (
            key,
            value,
            f"an injection site in brain tissue (now at x = {_fmt(point[0] - brain.cx)}, "
            f"y = {_fmt(point[1] - brain.cy)} from the brain centre: outside the outline, in "
            "a ventricle or in the fissure)",
        )
    return None


def voxel_placer(candidates: np.ndarray, grid: Grid, key: str):
    """Positions uniform over the voxels flagged in ``candidates`` (a bool map)."""
    idx = np.argwhere(candidates)
    if idx.size == 0:
        raise ScenarioError(
            key, "(no tissue voxel)", "a site with brain tissue at this grid_spacing"
        )
    h, ndim = grid.spacing, grid.ndim

    def place(rng: np.random.Generator, n: int) -> np.ndarray:
        pick = idx[rng.integers(0, len(idx), n)]
        out = np.zeros((n, 3))
        out[:, :ndim] = grid.lo + (pick + rng.random((n, ndim))) * h
        return out

    return place


def build(scenario, rng: np.random.Generator) -> Built:
    """Build the world, tumour, tissue rules and events of an intracranial assay."""
    a = scenario.assay
    if scenario.scenario.dimensions != 2:
        raise ScenarioError(
            "scenario.dimensions",
            scenario.scenario.dimensions,
            "2 (the intracranial assay is a coronal slice)",
        )
    h = a.grid_spacing
    shape = (check_divides("assay.length", a.length, h), check_divides("assay.width", a.width, h))
    grid = Grid(shape=shape, spacing=h)
    x, y = np.meshgrid(grid.centers(0), grid.centers(1), indexing="ij")
    brain = slice_geometry(a)
    blocked = brain.blocked(x, y)
    tissue = ~blocked
    speed = np.where(brain.callosum(x, y), a.callosum_speed_factor, 1.0)

    # tumour: u = 1 in tissue voxels within the radius
    tx, ty = brain.cx + a.tumour_x, brain.cy + a.tumour_y
    u = (((x - tx) ** 2 + (y - ty) ** 2 <= a.tumour_radius**2) & tissue).astype(float)
    if not u.any():
        raise ScenarioError(
            "assay.tumour_radius", _fmt(a.tumour_radius), "a tumour covering at least one voxel"
        )
    species = sorted(scenario.fields)
    model = scenario.model
    t = scenario.tumour
    params, switches = tumour_model(scenario)
    oxygen = None
    if model.oxygen:
        faces = [AxisBoundary(FixedValue(a.tissue_o2), FixedValue(a.tissue_o2))] * 2
        oxygen = OxygenSolver(
            grid,
            a.o2_diffusion,
            faces,
            t.o2_consumption,
            t.o2_km,
            supply_rate=a.o2_supply_rate,
            vessel_po2=a.tissue_o2,
            vessels=tissue.astype(float),
            fixed_mask=blocked,
            fixed_value=a.tissue_o2,
        )
    micro = Microenvironment(params, switches, u, oxygen, species, grid.cell_volume)

    faces = [AxisBoundary(NoFlux(), NoFlux())] * 2
    solvers = [
        MaskedDiffusion(
            grid,
            scenario.fields[s].diffusion / a.tortuosity**2,
            scenario.fields[s].decay + a.tissue_clearance,
            faces,
            scenario.numerics.field_dt,
            mask=blocked,
        )
        for s in species
    ]
    values = np.zeros((len(species), *shape))
    secretion: list = [0.0] * len(species)
    for name, rate in micro.secretion(0.0).items():
        i = species.index(name)
        secretion[i] = rate
        if a.initial == "steady":
            try:
                values[i] = solvers[i].steady(rate)
            except ValueError:  # no decay at all: no steady state, start empty
                values[i] = 0.0

    point = injection_point(a, brain)
    if point is None:  # intraventricular: the lining of the ventricle opposite the tumour
        side = -1.0 if a.tumour_x >= 0 else 1.0
        own = brain.ventricle(x, y) & ((x - brain.cx) * side > 0)
        dist = ndimage.distance_transform_edt(~own, sampling=h)
        site = tissue & (dist <= max(a.injection_radius, h))
    else:
        site = tissue & ((x - point[0]) ** 2 + (y - point[1]) ** 2 <= a.injection_radius**2)
    place = voxel_placer(site, grid, "assay.injection_radius")
    populations, tables, biology, seedings = build_populations(scenario, species, rng, place, 2)
    lo = np.zeros(3)
    hi = np.zeros(3)
    hi[:2] = grid.extent
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
        voxel_volume=h**2 * a.depth,
        micro=micro,
        biology=biology,
        margin=a.margin,
        cell_uptake=model.uptake,
        hooks=[BrainHook(blocked, speed)],
    )
    world.refresh_tumour_sense()

    def tissue_band(x_min: float, x_max: float):
        band = tissue & (x >= x_min) & (x <= x_max)
        return voxel_placer(band, grid, "events.x_min")

    events = build_events(scenario, world, seedings, tissue_band)
    return Built(world=world, events=events)
