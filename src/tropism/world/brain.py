"""A coronal brain slice: outline, ventricles, fissure, corpus callosum; cells kept in tissue.

Geometry (2-D, x left-right, y ventral-dorsal, um; offsets from the brain centre ``(cx, cy)``):

- the brain is the ellipse with semi-axes ``half_width`` x ``half_height``; outside it is
  blocked (skull, meninges);
- the longitudinal fissure is a blocked band ``fissure_width`` wide on the midline, from the
  top of the corpus callosum to the dorsal surface, so that the hemispheres meet only at the
  callosum and below it;
- the corpus callosum is the band ``|y - (cy + callosum_y)| <= callosum_thickness / 2``,
  ``|x - cx| <= callosum_half_length``: white matter, where cells move faster
  (``callosum_speed_factor`` multiplies their random speed);
- the lateral ventricles are two blocked ellipses at ``(cx +- ventricle_x, cy + ventricle_y)``
  with axes ``ventricle_width`` x ``ventricle_height`` (filled with cerebrospinal fluid: no
  tissue to migrate in, and taken as a no-flux wall for chemokine).

A voxel is blocked when its centre is. Cells cannot enter blocked voxels:
:func:`reflect_from_blocked` undoes, axis by axis, the part of a step that entered one and
flips that velocity component (a reflecting wall on the voxel faces).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from tropism.world.hooks import AssayHook, cell_count_map

__all__ = ["BrainHook", "BrainSlice", "reflect_from_blocked", "voxel_factor"]


@dataclass(frozen=True)
class BrainSlice:
    """Geometry of a coronal slice (lengths in um); see the module docstring."""

    cx: float
    cy: float
    half_width: float
    half_height: float
    fissure_width: float
    callosum_y: float
    callosum_thickness: float
    callosum_half_length: float
    ventricle_x: float
    ventricle_y: float
    ventricle_width: float
    ventricle_height: float

    def inside(self, x, y) -> np.ndarray:
        """Within the brain outline."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        return ((x - self.cx) / self.half_width) ** 2 + (
            (y - self.cy) / self.half_height
        ) ** 2 <= 1.0

    def ventricle(self, x, y) -> np.ndarray:
        """Within either lateral ventricle."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        out = np.zeros(np.broadcast(x, y).shape, dtype=bool)
        a, b = 0.5 * self.ventricle_width, 0.5 * self.ventricle_height
        if a <= 0.0 or b <= 0.0:
            return out
        for side in (-1.0, 1.0):
            vx = self.cx + side * self.ventricle_x
            vy = self.cy + self.ventricle_y
            out |= ((x - vx) / a) ** 2 + ((y - vy) / b) ** 2 <= 1.0
        return out

    def fissure(self, x, y) -> np.ndarray:
        """Within the longitudinal fissure (midline, above the corpus callosum)."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        top = self.cy + self.callosum_y + 0.5 * self.callosum_thickness
        return (np.abs(x - self.cx) <= 0.5 * self.fissure_width) & (y > top)

    def callosum(self, x, y) -> np.ndarray:
        """Within the corpus callosum (and the brain)."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        band = np.abs(y - (self.cy + self.callosum_y)) <= 0.5 * self.callosum_thickness
        return band & (np.abs(x - self.cx) <= self.callosum_half_length) & self.tissue(x, y)

    def blocked(self, x, y) -> np.ndarray:
        """Outside the brain, in a ventricle or in the fissure."""
        return ~self.inside(x, y) | self.ventricle(x, y) | self.fissure(x, y)

    def tissue(self, x, y) -> np.ndarray:
        """Brain tissue cells can migrate in."""
        return ~self.blocked(x, y)


@numba.njit(cache=True, inline="always")
def _voxel(p, origin, spacing, n):
    i = int(math.floor((p - origin) / spacing))
    if i < 0:
        return 0
    if i > n - 1:
        return n - 1
    return i


@numba.njit(cache=True, inline="always")
def _is_blocked(blocked, origin, spacing, x, y, z):
    i = _voxel(x, origin[0], spacing, blocked.shape[0])
    j = _voxel(y, origin[1], spacing, blocked.shape[1])
    k = _voxel(z, origin[2], spacing, blocked.shape[2])
    return blocked[i, j, k]


@numba.njit(cache=True)
def reflect_from_blocked(
    pos: np.ndarray,
    vel: np.ndarray,
    old: np.ndarray,
    state: np.ndarray,
    blocked: np.ndarray,
    origin: np.ndarray,
    spacing: float,
    ndim: int,
) -> int:
    """Keep migrating cells out of blocked voxels, after a motility step (in place).

    For each cell with ``state == 0`` now in a blocked voxel, the step from ``old`` is
    re-applied one axis at a time: an axis whose move would end in a blocked voxel keeps its
    old coordinate and its velocity component is reversed (reflection off that voxel face);
    the other axes keep their move. Cells that started in a blocked voxel are left alone.

    Parameters
    ----------
    pos, vel
        ``(N, 3)`` positions (um) after the step and velocities (um/min); changed in place.
    old
        ``(N, 3)`` positions before the step.
    state
        ``(N,)`` int8 cell states; only state 0 moved.
    blocked
        ``(nx, ny, nz)`` bool (``nz = 1`` in 2-D), True where cells may not be.
    origin
        ``(3,)`` grid origin, um.
    spacing
        Voxel edge, um.
    ndim
        2 or 3.

    Returns
    -------
    int
        Number of cells reflected.
    """
    n = pos.shape[0]
    count = 0
    trial = np.empty(3)
    for i in range(n):
        if state[i] != 0:
            continue
        if not _is_blocked(blocked, origin, spacing, pos[i, 0], pos[i, 1], pos[i, 2]):
            continue
        if _is_blocked(blocked, origin, spacing, old[i, 0], old[i, 1], old[i, 2]):
            continue
        count += 1
        for a in range(3):
            trial[a] = old[i, a]
        for a in range(ndim):
            keep = trial[a]
            trial[a] = pos[i, a]
            if _is_blocked(blocked, origin, spacing, trial[0], trial[1], trial[2]):
                trial[a] = keep
                vel[i, a] = -vel[i, a]
        for a in range(ndim):
            pos[i, a] = trial[a]
    return count


def voxel_factor(
    factor: np.ndarray, pos: np.ndarray, origin: np.ndarray, spacing: float
) -> np.ndarray:
    """The value of a per-voxel map at each cell's voxel.

    Parameters
    ----------
    factor
        Map of ``grid.shape`` (2-D or 3-D).
    pos
        ``(N, 3)`` positions, um.
    origin
        Grid origin (ndim components), um.
    spacing
        Voxel edge, um.
    """
    ndim = factor.ndim
    shape = np.array(factor.shape)
    idx = np.floor((pos[:, :ndim] - np.asarray(origin)[:ndim]) / spacing).astype(np.int64)
    idx = np.clip(idx, 0, shape - 1)
    return factor[tuple(idx.T)]


class BrainHook(AssayHook):
    """Tissue rules of the brain slice: blocked voxels reflect cells, white matter speeds them.

    Parameters
    ----------
    blocked
        Bool map of ``grid.shape``: voxels cells may not enter.
    speed_factor
        Map of ``grid.shape``: multiplier of the random speed in each voxel (1 in grey matter).
    """

    def __init__(self, blocked: np.ndarray, speed_factor: np.ndarray):
        self.blocked = np.ascontiguousarray(blocked, dtype=np.bool_)
        self.speed_factor = np.asarray(speed_factor, dtype=float)
        self._blocked3 = (
            self.blocked[..., np.newaxis] if self.blocked.ndim == 2 else self.blocked
        ).copy()
        self._old: list[np.ndarray] = []
        self.reflections = 0
        """Cells reflected off blocked voxels so far (for tests and diagnostics)."""

    def before_move(self, world, dt: float) -> None:
        """Remember positions; multiply the white-matter factor into ``speed_scale``."""
        self._old = [pop.pos.copy() for pop in world.populations]
        origin = world.grid.lo
        for pop in world.populations:
            if pop.count:
                pop.speed_scale = pop.speed_scale * voxel_factor(
                    self.speed_factor, pop.pos, origin, world.grid.spacing
                )

    def after_move(self, world, dt: float, rng: np.random.Generator) -> None:
        """Undo the parts of steps that entered blocked voxels (reflection)."""
        origin = world.origin3()
        for pop, old in zip(world.populations, self._old, strict=False):
            if pop.count and old.shape == pop.pos.shape:
                self.reflections += reflect_from_blocked(
                    pop.pos,
                    pop.vel,
                    old,
                    pop.state,
                    self._blocked3,
                    origin,
                    float(world.grid.spacing),
                    world.ndim,
                )

    def readouts(self, world) -> list[tuple[str, str, float]]:
        """Mean straight-line distance from the entry point, per population."""
        rows = []
        for pop in world.populations:
            if pop.count:
                d = np.linalg.norm(pop.pos - pop.start, axis=1)
                rows.append((pop.name, "distance_travelled", float(d.mean())))
        return rows

    def maps(self, world) -> dict[str, np.ndarray]:
        """``cells``: cells per voxel."""
        return {"cells": cell_count_map(world)}
