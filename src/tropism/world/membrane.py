"""A porous Transwell membrane: chemokine transport across it, cells settling on it and passing.

Geometry (vertical slice, y up): the membrane is a horizontal band of whole voxel rows between
``y_bottom`` and ``y_top``; the lower well is below it, the upper well above.

**Chemokine.** A track-etched membrane of thickness ``t`` with pores of diameter ``d`` at
``n`` per area is open over the fraction ``porosity = n pi d^2 / 4`` of its area; a chemokine
crosses it by diffusion through the pores, with the effective diffusivity ``D porosity``
across the thickness (pores much wider than the molecules: no hindrance). The band of voxels
holding it (height ``b >= t``) gets the diffusivity with the same series resistance as the
membrane plus the medium beside it: ``b / D_band = (b - t) / D + t / (D porosity)``
(:func:`band_diffusivity`). The wells stay ordinary medium, so the concentration difference
across the membrane decays as the chemokine spreads into the upper well.

**Cells.** Cells enter the upper well in suspension (state :data:`SETTLING`), sink at the
Stokes ``settling_speed`` onto the membrane and attach at rate ``1 / attachment_time`` after
landing; attached cells (state 0) crawl on its upper face (the engine's motility, the vertical
coordinate held at ``y_top``). A crawling cell meets pores at the rate
``k_enc = n (L + d) s q``: the area it sweeps per minute (its width ``L``, the cell length, plus
a pore diameter, times its speed ``s`` and speed multiplier ``q``, which carries
chemokinesis and preconditioning) times the pore density. At each pore it passes to the lower
side (state :data:`MIGRATED`) with probability ``p = p_basal + (p_max - p_basal) beta``, where
``beta = max(0, v_down) / v_chem`` is its chemotactic drive into the membrane as a fraction of
the maximal drift: the cell spans the membrane, its protrusions in the pores reading the
chemokine at the lower face and its body the medium just above (the first voxel above the
band), so ``v_down`` is the drift of :func:`tropism.world.sensing.chemotactic_drift` with the
occupancy difference between those two points. Binding noise is left out of this drive
(assumed: a cell probes a pore for minutes, averaging it away); without that, rectifying the
noise would make a uniform chemokine (the checkerboard) look like a downward drive. Passage is
a Poisson process: the per-step probability is ``1 - exp(-k_enc p dt)``.

Assumptions: cells cross as soon as they commit (pore transit time neglected); passed cells
stay on the lower face (they are counted, as a stained membrane underside is); pores do not
fill up; cells do not cross back.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from tropism.world.cells import stationary_velocities
from tropism.world.hooks import AssayHook
from tropism.world.masked_diffusion import face_values
from tropism.world.sensing import chemotactic_drift, occupancy

__all__ = [
    "MIGRATED",
    "SETTLING",
    "MembraneHook",
    "band_diffusivity",
    "encounter_rate",
    "membrane_passage",
    "porosity",
    "settle",
]

SETTLING: np.int8 = np.int8(2)
"""State of a cell sinking through the upper well or landed but not yet attached."""
MIGRATED: np.int8 = np.int8(3)
"""State of a cell that passed the membrane (on its lower face)."""


def porosity(pore_diameter: float, pore_density: float) -> float:
    """Open fraction of the membrane area, ``n pi d^2 / 4``.

    Parameters
    ----------
    pore_diameter
        um.
    pore_density
        Pores per um^2.
    """
    return pore_density * math.pi * pore_diameter**2 / 4.0


def band_diffusivity(
    diffusion: float, open_fraction: float, thickness: float, band: float
) -> float:
    """Diffusivity of a voxel band of height ``band`` holding a membrane of ``thickness``.

    Series resistance: ``band / D_band = (band - thickness) / D + thickness / (D open_fraction)``.

    Parameters
    ----------
    diffusion
        Free diffusion coefficient of the chemokine, um^2/min.
    open_fraction
        Porosity of the membrane (0, 1].
    thickness, band
        um; ``band >= thickness``.
    """
    if diffusion == 0.0:
        return 0.0
    return band / ((band - thickness) / diffusion + thickness / (diffusion * open_fraction))


def encounter_rate(
    pore_density: float, cell_width: float, pore_diameter: float, speed: float
) -> float:
    """Pores met per minute by a cell crawling at ``speed``: ``n (L + d) s`` (1/min)."""
    return pore_density * (cell_width + pore_diameter) * speed


@numba.njit(cache=True)
def membrane_passage(
    state: np.ndarray,
    column: np.ndarray,
    receptors: np.ndarray,
    speed_scale: np.ndarray,
    ligand: np.ndarray,
    kd: np.ndarray,
    weight: np.ndarray,
    c_front: np.ndarray,
    c_back: np.ndarray,
    encounter: float,
    p_basal: float,
    p_max: float,
    v_chem: float,
    n_half: float,
    dt: float,
    uniforms: np.ndarray,
    ndim: int,
    migrated: int,
) -> int:
    """Pass crawling cells through the membrane over one step (``state`` changed in place).

    For each cell with ``state == 0``: occupancy ``f`` of each receptor type at the lower
    face (``c_front[ligand, column]``) and above the membrane (``c_back``); the downward
    drift ``v_down`` from :func:`~tropism.world.sensing.chemotactic_drift` with the occupancy
    difference front minus back as the signal along the first axis (cell length 1, no binding
    noise); ``beta = max(v_down, 0) / v_chem``; rate
    ``k = encounter q (p_basal + (p_max - p_basal) beta)``; the cell passes (state ->
    ``migrated``) when ``uniforms[i] < 1 - exp(-k dt)``.

    Parameters
    ----------
    state
        ``(N,)`` int8 states.
    column
        ``(N,)`` int64 index of the membrane column each cell sits on (into the last axis of
        ``c_front``/``c_back``).
    receptors
        ``(N, R)`` receptor numbers.
    speed_scale
        ``(N,)`` random-speed multipliers ``q``.
    ligand, kd, weight
        ``(R,)`` field index, Kd (nM) and signalling weight per receptor type.
    c_front, c_back
        ``(F, M)`` concentrations (nM) at the lower face and above the membrane per field and
        column.
    encounter
        Pore encounter rate at ``q = 1``, 1/min (:func:`encounter_rate`).
    p_basal, p_max
        Passage probability per encounter without drive and at full drive.
    v_chem, n_half
        Drift constants of the population (see :mod:`tropism.world.sensing`).
    dt
        Step, min.
    uniforms
        ``(N,)`` uniform numbers in [0, 1).
    ndim
        2 or 3.
    migrated
        State code given to cells that pass.

    Returns
    -------
    int
        Number of cells that passed.
    """
    n_types = ligand.shape[0]
    grad = np.zeros((n_types, 3))
    f = np.zeros(n_types)
    noise = np.zeros(3)
    passed = 0
    for i in range(state.shape[0]):
        if state[i] != 0:
            continue
        beta = 0.0
        if v_chem > 0.0 and n_types > 0:
            col = column[i]
            for r in range(n_types):
                if weight[r] == 0.0:  # not signalling (or its ligand has no field here)
                    grad[r, 0] = 0.0
                    f[r] = 0.0
                    continue
                front = occupancy(max(c_front[ligand[r], col], 0.0), kd[r])
                back = occupancy(max(c_back[ligand[r], col], 0.0), kd[r])
                grad[r, 0] = front - back
                f[r] = 0.5 * (front + back)
            drift = chemotactic_drift(
                grad, f, receptors[i], weight, v_chem, n_half, 1.0, 0.0, noise, ndim
            )
            if drift[0] > 0.0:
                beta = drift[0] / v_chem
        rate = encounter * speed_scale[i] * (p_basal + (p_max - p_basal) * beta)
        if uniforms[i] < -math.expm1(-rate * dt):
            state[i] = migrated
            passed += 1
    return passed


def settle(
    pos: np.ndarray,
    state: np.ndarray,
    y_top: float,
    speed: float,
    attach_rate: float,
    dt: float,
    uniforms: np.ndarray,
) -> np.ndarray:
    """Sink settling cells by ``speed dt`` onto ``y_top``; landed ones attach at a rate.

    Cells with ``state == SETTLING`` move down (``pos[:, 1]``) and stop at ``y_top``; a
    cell that is on the membrane after the move attaches when ``uniforms[i] < 1 - exp(-rate
    dt)``. Changes ``pos`` in place; returns the bool mask of cells that attached (their
    state is left to the caller).
    """
    settling = state == SETTLING
    y = pos[settling, 1] - speed * dt
    landed = y <= y_top
    pos[settling, 1] = np.maximum(y, y_top)
    attach = np.zeros(state.shape[0], dtype=bool)
    p = -math.expm1(-attach_rate * dt) if attach_rate > 0 else 1.0
    attach[np.flatnonzero(settling)[landed]] = True
    attach &= uniforms < p
    return attach


class MembraneHook(AssayHook):
    """The Transwell's per-step rules (settling, attachment, passage) and its readouts.

    Parameters
    ----------
    rows
        ``(below, band_lo, band_hi, above)`` voxel indices along y: the last row of the lower
        well, the first and last membrane rows, the first row of the upper well.
    band_d
        ``(F,)`` diffusivity of each field in the membrane band, um^2/min.
    free_d
        ``(F,)`` diffusivity of each field in the medium, um^2/min.
    y_bottom, y_top
        Lower and upper faces of the membrane band, um.
    settling_speed
        um/min.
    attachment_time
        min (0: attach on landing).
    pore_density, pore_diameter
        1/um^2, um.
    basal_passage, max_passage
        Passage probability per pore encounter without drive and at full drive.
    """

    def __init__(
        self,
        rows: tuple[int, int, int, int],
        band_d: np.ndarray,
        free_d: np.ndarray,
        y_bottom: float,
        y_top: float,
        settling_speed: float,
        attachment_time: float,
        pore_density: float,
        pore_diameter: float,
        basal_passage: float,
        max_passage: float,
    ):
        self.rows = rows
        self.band_d = np.asarray(band_d, dtype=float)
        self.free_d = np.asarray(free_d, dtype=float)
        self.y_bottom = float(y_bottom)
        self.y_top = float(y_top)
        self.settling_speed = float(settling_speed)
        self.attach_rate = 1.0 / attachment_time if attachment_time > 0 else 0.0
        self.pore_density = float(pore_density)
        self.pore_diameter = float(pore_diameter)
        self.basal_passage = float(basal_passage)
        self.max_passage = float(max_passage)
        self._known: dict[str, int] = {}

    # --- the chemokine at the membrane --------------------------------------------------------

    def membrane_faces(self, world) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Concentrations at the lower face, the upper face and in the first voxel above.

        Returns three arrays ``(F, M)``: per field and membrane column (x in 2-D; x and z
        flattened in 3-D). Face values follow the flux-continuity rule of
        :func:`~tropism.world.masked_diffusion.face_values`.
        """
        below, band_lo, band_hi, above = self.rows
        v = world.values
        take = lambda j: np.take(v, j, axis=2).reshape(v.shape[0], -1)  # noqa: E731
        d_band = self.band_d[:, None]
        d_free = self.free_d[:, None]
        lower = face_values(take(below), take(band_lo), d_free, d_band)
        upper = face_values(take(band_hi), take(above), d_band, d_free)
        return lower, upper, take(above)

    # --- per step --------------------------------------------------------------------------

    def _columns(self, world, pos: np.ndarray) -> np.ndarray:
        """Membrane column of each position (x index; x * nz + z index in 3-D)."""
        grid = world.grid
        h = grid.spacing
        ix = np.clip(np.floor((pos[:, 0] - grid.lo[0]) / h).astype(np.int64), 0, grid.shape[0] - 1)
        if grid.ndim == 2:
            return ix
        iz = np.clip(np.floor((pos[:, 2] - grid.lo[2]) / h).astype(np.int64), 0, grid.shape[2] - 1)
        return ix * grid.shape[2] + iz

    def before_move(self, world, dt: float) -> None:
        """Cells new since the last step (seeding, injection) start in suspension."""
        for pop in world.populations:
            known = self._known.get(pop.name, 0)
            if pop.count > known:
                pop.state[known:] = SETTLING
                pop.vel[known:] = 0.0
                self._known[pop.name] = pop.count

    def after_move(self, world, dt: float, rng: np.random.Generator) -> None:
        """Hold crawling cells on the membrane, pass some through it, settle the rest."""
        lower, _, above = self.membrane_faces(world)
        for index, pop in enumerate(world.populations):
            n = pop.count
            if n == 0:
                continue
            crawling = pop.state == 0
            pop.pos[crawling, 1] = self.y_top
            pop.vel[crawling, 1] = 0.0
            p = pop.params
            table = world.receptor_tables[index]
            passed_before = pop.state == MIGRATED
            membrane_passage(
                pop.state,
                self._columns(world, pop.pos),
                pop.receptors,
                np.ascontiguousarray(pop.speed_scale, dtype=float),
                table.ligand,
                table.kd,
                world.receptor_weights(index),
                np.ascontiguousarray(lower),
                np.ascontiguousarray(above),
                encounter_rate(self.pore_density, p.cell_length, self.pore_diameter, p.speed),
                self.basal_passage,
                self.max_passage,
                p.chemotactic_speed,
                p.half_max_signal,
                dt,
                rng.random(n),
                world.ndim,
                int(MIGRATED),
            )
            now_passed = (pop.state == MIGRATED) & ~passed_before
            pop.pos[now_passed, 1] = self.y_bottom
            pop.vel[now_passed] = 0.0
            attach = settle(
                pop.pos,
                pop.state,
                self.y_top,
                self.settling_speed,
                self.attach_rate,
                dt,
                rng.random(n),
            )
            if attach.any():
                pop.state[attach] = 0
                pop.vel[attach] = stationary_velocities(rng, int(attach.sum()), p.speed, world.ndim)
                pop.vel[attach, 1] = 0.0

    # --- readouts --------------------------------------------------------------------------

    def readouts(self, world) -> list[tuple[str, str, float]]:
        """``migrated_fraction`` and ``migrated_count`` per population; the mean
        concentration difference across the membrane per chemokine (population ``medium``)."""
        rows, counts = [], []
        for pop in world.populations:
            migrated = int(np.count_nonzero(pop.state == MIGRATED))
            fraction = migrated / pop.count if pop.count else float("nan")
            rows.append((pop.name, "migrated_fraction", fraction))
            counts.append((pop.name, "migrated_count", float(migrated)))
        lower, upper, _ = self.membrane_faces(world)
        for i, s in enumerate(world.species):
            rows.append(("medium", f"membrane_difference_{s}", float(np.mean(lower[i] - upper[i]))))
        return rows + counts  # the fractions and differences first (the report's defaults)
