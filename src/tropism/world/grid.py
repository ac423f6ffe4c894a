"""Regular cell-centred grids on which the continuous fields live.

A :class:`Grid` is a box of ``shape`` cubic voxels of edge ``spacing`` (um). Field values are
stored at voxel centres: along axis ``a`` the centre of voxel ``i`` is
``origin[a] + (i + 0.5) * spacing``. The box runs from ``lo = origin`` to
``hi = origin + shape * spacing``; its faces are where boundary conditions apply.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from tropism.errors import TropismError

__all__ = ["Grid", "WorldError"]

_AXIS_NAMES = ("x", "y", "z")


class WorldError(TropismError, ValueError):
    """A grid, boundary condition or solver setting is wrong.

    Both a :class:`~tropism.errors.TropismError` (the command line prints its one-line message)
    and a :class:`ValueError` (so ``except ValueError`` also catches it).
    """


def _is_int(n: object) -> bool:
    return isinstance(n, numbers.Integral) and not isinstance(n, bool)


@dataclass(frozen=True)
class Grid:
    """A 2-D or 3-D box of cubic, cell-centred voxels.

    Parameters
    ----------
    shape
        Number of voxels per axis, ``(nx, ny)`` or ``(nx, ny, nz)``; each at least 2.
    spacing
        Voxel edge length, um (voxels are cubic).
    origin
        Lower corner of the domain, um; defaults to zeros.

    Raises
    ------
    WorldError
        (a ValueError) if the shape does not have 2 or 3 integer entries >= 2, the spacing is
        not a positive finite number, or the origin has the wrong length.

    Examples
    --------
    >>> g = Grid((4, 3), spacing=10.0)
    >>> g.extent
    (40.0, 30.0)
    >>> g.centers(0)
    array([ 5., 15., 25., 35.])
    """

    shape: tuple[int, ...]
    spacing: float
    origin: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        try:
            shape = tuple(self.shape)
        except TypeError:
            raise WorldError(
                f"grid shape {self.shape!r}: expected a tuple of 2 or 3 voxel counts"
            ) from None
        if len(shape) not in (2, 3):
            raise WorldError(f"grid shape {shape!r}: expected 2 or 3 axes, got {len(shape)}")
        if not all(_is_int(n) and n >= 2 for n in shape):
            raise WorldError(f"grid shape {shape!r}: every axis needs a whole number >= 2 voxels")
        spacing = self.spacing
        if (
            not isinstance(spacing, numbers.Real)
            or isinstance(spacing, bool)
            or not math.isfinite(spacing)
            or spacing <= 0
        ):
            raise WorldError(f"grid spacing {spacing!r}: expected a finite length > 0 (um)")
        if self.origin is None:
            origin = (0.0,) * len(shape)
        else:
            try:
                origin = tuple(float(v) for v in self.origin)
            except (TypeError, ValueError):
                origin = ()
            if len(origin) != len(shape) or not all(math.isfinite(v) for v in origin):
                raise WorldError(
                    f"grid origin {self.origin!r}: expected {len(shape)} finite coordinates (um)"
                )
        object.__setattr__(self, "shape", tuple(int(n) for n in shape))
        object.__setattr__(self, "spacing", float(spacing))
        object.__setattr__(self, "origin", origin)

    @property
    def ndim(self) -> int:
        """Number of space dimensions (2 or 3)."""
        return len(self.shape)

    @property
    def extent(self) -> tuple[float, ...]:
        """Edge lengths of the box, um (``shape * spacing``)."""
        return tuple(n * self.spacing for n in self.shape)

    @property
    def lo(self) -> np.ndarray:
        """Lower corner of the box, um (a new array)."""
        return np.array(self.origin, dtype=float)

    @property
    def hi(self) -> np.ndarray:
        """Upper corner of the box, um (a new array)."""
        return self.lo + np.array(self.extent, dtype=float)

    @property
    def cell_volume(self) -> float:
        """Voxel volume, ``spacing ** ndim`` (um^2 in 2-D, um^3 in 3-D)."""
        return self.spacing**self.ndim

    @property
    def size(self) -> int:
        """Total number of voxels."""
        return math.prod(self.shape)

    def centers(self, axis: int) -> np.ndarray:
        """Voxel-centre coordinates along one axis, um.

        Parameters
        ----------
        axis
            Axis index, ``0 <= axis < ndim`` (negative indices count from the end).

        Returns
        -------
        numpy.ndarray
            ``origin[axis] + (i + 0.5) * spacing`` for ``i = 0 .. shape[axis] - 1``.
        """
        if not _is_int(axis) or not -self.ndim <= axis < self.ndim:
            raise WorldError(f"axis {axis!r}: this grid has {self.ndim} axes")
        a = int(axis) % self.ndim
        assert self.origin is not None
        return self.origin[a] + (np.arange(self.shape[a], dtype=float) + 0.5) * self.spacing

    def coords(self) -> dict[str, np.ndarray]:
        """Voxel-centre coordinates per axis, keyed ``"x"``, ``"y"`` (, ``"z"``), for xarray."""
        return {_AXIS_NAMES[a]: self.centers(a) for a in range(self.ndim)}
