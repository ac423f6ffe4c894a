"""Assay hooks: geometry-specific cell rules and readouts, called by the engine and observers.

Most of an assay is set up once (grid, fields, cells, events); a few assays also change what
happens to cells every step: a Transwell membrane that cells settle onto and pass through, a
brain slice whose walls reflect cells and whose white matter speeds them up. Such an assay
puts :class:`AssayHook` objects in ``World.hooks``; each motility step the engine calls, for
every hook,

1. :meth:`AssayHook.before_move` after the per-cell speed multipliers have been set from the
   cell biology (a hook multiplies its factor into ``speed_scale``, never overwrites it);
2. :meth:`AssayHook.after_move` after the cells moved (walls, membrane passage, settling);

the readout observer adds :meth:`AssayHook.readouts` to its rows and ``World.maps`` adds
:meth:`AssayHook.maps` to the field snapshots. The base class does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # annotations only
    from tropism.world.world import World

__all__ = ["AssayHook", "cell_count_map"]


class AssayHook:
    """Base class of the per-step rules of an assay (every method is a no-op here)."""

    def before_move(self, world: World, dt: float) -> None:
        """Called before the cells move; may multiply ``pop.speed_scale`` in place."""

    def after_move(self, world: World, dt: float, rng: np.random.Generator) -> None:
        """Called after the cells moved by ``dt`` (min)."""

    def readouts(self, world: World) -> list[tuple[str, str, float]]:
        """Rows ``(population, readout, value)`` at the current time."""
        return []

    def maps(self, world: World) -> dict[str, np.ndarray]:
        """Extra maps (arrays of ``grid.shape``) for the field snapshots."""
        return {}


def cell_count_map(world: World) -> np.ndarray:
    """Number of cells of every population in each voxel (array of ``grid.shape``).

    Cells outside the grid (none in a closed box) are counted in the nearest edge voxel.
    """
    grid = world.grid
    shape = np.array(grid.shape)
    counts = np.zeros(grid.size)
    for pop in world.populations:
        if pop.count == 0:
            continue
        idx = np.floor((pop.pos[:, : grid.ndim] - grid.lo) / grid.spacing).astype(np.int64)
        idx = np.clip(idx, 0, shape - 1)
        counts += np.bincount(np.ravel_multi_index(tuple(idx.T), grid.shape), minlength=grid.size)
    return counts.reshape(grid.shape)
