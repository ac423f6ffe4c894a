"""Boundary conditions of a field, one explicit object per face of the box.

Nothing is implied: every axis of a grid gets an :class:`AxisBoundary` naming what happens at
its low face and at its high face. The conditions, with the ghost-cell rule the discrete
Laplacian uses (``c0`` is the voxel next to the face, ``dx`` the spacing, ``D`` the diffusion
coefficient):

- :class:`NoFlux` (zero Neumann): nothing crosses the face; ``ghost = c0``.
- :class:`FixedValue` (Dirichlet): the concentration at the face is ``value`` (nM);
  ``ghost = 2 value - c0``.
- :class:`FixedFlux` (Neumann): ``flux`` (nM*um/min) enters the domain through each unit of face
  area; a negative flux leaves it; ``ghost = c0 + flux dx / D``.
- :class:`Periodic`: the face is glued to the opposite face; must be set on both faces of an axis.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from tropism.world.grid import WorldError

__all__ = [
    "BC",
    "AxisBoundary",
    "BoundaryCondition",
    "FixedFlux",
    "FixedValue",
    "NoFlux",
    "Periodic",
    "no_flux_box",
]


def _finite(value: object, what: str) -> float:
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not math.isfinite(float(value))
    ):
        raise WorldError(f"{what} {value!r}: expected a finite number")
    return float(value)


@dataclass(frozen=True)
class NoFlux:
    """Impermeable face: zero diffusive flux."""

    def __str__(self) -> str:
        return "no flux"


@dataclass(frozen=True)
class FixedValue:
    """Dirichlet face: the concentration at the face is held at ``value``.

    Parameters
    ----------
    value
        Concentration at the face, nM (finite, >= 0).
    """

    value: float

    def __post_init__(self) -> None:
        value = _finite(self.value, "fixed boundary value")
        if value < 0.0:
            raise WorldError(f"fixed boundary value {value!r}: a concentration must be >= 0 nM")
        object.__setattr__(self, "value", value)

    def __str__(self) -> str:
        return f"fixed value {self.value:g} nM"


@dataclass(frozen=True)
class FixedFlux:
    """Neumann face: a fixed diffusive flux enters the domain.

    Parameters
    ----------
    flux
        Flux INTO the domain through the face, nM*um/min (amount per face area per minute);
        negative means out of the domain.
    """

    flux: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "flux", _finite(self.flux, "fixed boundary flux"))

    def __str__(self) -> str:
        return f"fixed flux {self.flux:g} nM*um/min into the domain"


@dataclass(frozen=True)
class Periodic:
    """Periodic face: leaving through it means entering through the opposite face."""

    def __str__(self) -> str:
        return "periodic"


BoundaryCondition: TypeAlias = NoFlux | FixedValue | FixedFlux | Periodic
"""Any one face condition."""

BC: TypeAlias = BoundaryCondition
"""Short alias of :data:`BoundaryCondition`."""

_BC_TYPES = (NoFlux, FixedValue, FixedFlux, Periodic)


@dataclass(frozen=True)
class AxisBoundary:
    """The conditions on the two faces of one axis.

    Parameters
    ----------
    low
        Condition at the lower face (smallest coordinate).
    high
        Condition at the upper face.

    Raises
    ------
    WorldError
        (a ValueError) if either face is not a boundary-condition object, or exactly one face
        is periodic.
    """

    low: BoundaryCondition
    high: BoundaryCondition

    def __post_init__(self) -> None:
        for name, bc in (("low", self.low), ("high", self.high)):
            if not isinstance(bc, _BC_TYPES):
                raise WorldError(
                    f"{name} face {bc!r}: expected NoFlux, FixedValue, FixedFlux or Periodic"
                )
        if isinstance(self.low, Periodic) != isinstance(self.high, Periodic):
            raise WorldError(
                f"boundary low: {self.low}, high: {self.high}: periodic must be set on both "
                f"faces of an axis or on neither"
            )

    @property
    def periodic(self) -> bool:
        """True if the axis is periodic."""
        return isinstance(self.low, Periodic)

    def __str__(self) -> str:
        if self.periodic:
            return "periodic"
        return f"low: {self.low}; high: {self.high}"


def no_flux_box(ndim: int) -> tuple[AxisBoundary, ...]:
    """Boundaries of a closed box: no flux on every face.

    Parameters
    ----------
    ndim
        Number of space dimensions (2 or 3).

    Returns
    -------
    tuple of AxisBoundary
        One ``AxisBoundary(NoFlux(), NoFlux())`` per axis.
    """
    if not isinstance(ndim, numbers.Integral) or isinstance(ndim, bool) or ndim not in (2, 3):
        raise WorldError(f"ndim {ndim!r}: expected 2 or 3")
    return tuple(AxisBoundary(NoFlux(), NoFlux()) for _ in range(int(ndim)))


def check_boundaries(grid, boundaries: Sequence[AxisBoundary]) -> tuple[AxisBoundary, ...]:
    """One :class:`AxisBoundary` per axis of ``grid``, or a one-line WorldError saying what
    is wrong; shared by every field solver."""
    from tropism.world.grid import Grid, WorldError

    if not isinstance(grid, Grid):
        raise WorldError(f"grid {grid!r}: expected a Grid")
    boundaries = tuple(boundaries)
    if len(boundaries) != grid.ndim:
        raise WorldError(
            f"need one AxisBoundary per axis: grid is {grid.ndim}-D, "
            f"got {len(boundaries)} boundaries"
        )
    for a, b in enumerate(boundaries):
        if not isinstance(b, AxisBoundary):
            raise WorldError(f"boundaries[{a}] = {b!r}: expected an AxisBoundary")
    return boundaries
