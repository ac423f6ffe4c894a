"""Implicit diffusion with uniform decay on a rectangular box, solved exactly by fast transforms.

The field obeys

    dc/dt = D lap(c) - decay c + source

with one boundary condition per face (see :mod:`tropism.world.boundaries`). Space is discretised
with the standard cell-centred second difference; a face enters through a ghost cell beyond it:

- no flux:          ghost = c0
- fixed value g:    ghost = 2 g - c0              (the face value is the mean of c0 and ghost)
- fixed flux q:     ghost = c0 + q dx / D         (D (ghost - c0) / dx = q enters the domain)
- periodic:         ghost = the voxel at the opposite end

Split the discrete operator as ``D L c + b``: ``L`` is the homogeneous part (the ghost rules with
``g = q = 0``) and ``b`` the known boundary source in the voxels next to a face
(``+ 2 D g / dx^2`` for a fixed value, ``+ q / dx`` for a fixed flux). ``L`` is a sum of one
tridiagonal operator per axis, and each of those is diagonalised exactly by one real-to-real or
Fourier transform (eigenvalues ``-mu_k``, ``k = 0 .. N - 1``):

=========================  ==========  =====================================
low face / high face       transform   mu_k * dx^2 / 4
=========================  ==========  =====================================
no/fixed flux, both        DCT-II      sin^2(pi k / (2 N))
fixed value, both          DST-II      sin^2(pi (k + 1) / (2 N))
fixed value / flux         DST-IV      sin^2(pi (2 k + 1) / (4 N))
flux / fixed value         DCT-IV      sin^2(pi (2 k + 1) / (4 N))
periodic                   FFT         sin^2(pi k / N)
=========================  ==========  =====================================

(DCT-II: basis cos(pi k (j + 1/2) / N), even about both faces; DST-II: sin(pi (k + 1) (j + 1/2)
/ N), odd about both; DST-IV / DCT-IV: sin / cos(pi (k + 1/2) (j + 1/2) / N), odd about one face
and even about the other.) A backward-Euler step

    (c_new - c) / dt = D L c_new - decay c_new + source + b

is then ``c_new = T^-1 [ T(c / dt + source + b) / (1 / dt + decay + D sum_axes mu) ]``: one
forward and one inverse transform per axis, exact to round-off and stable at any ``dt``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.fft as sfft

from tropism.world.boundaries import AxisBoundary, FixedFlux, FixedValue, check_boundaries
from tropism.world.grid import Grid, WorldError

__all__ = ["SpectralDiffusion", "check_field", "positive", "substeps", "total_amount"]

# Relative tolerance within which advance() treats time / n as equal to dt.
_DT_MATCH_RTOL = 1e-9


def _axis_kind(boundary: AxisBoundary) -> str:
    """Transform that diagonalises the homogeneous operator of one axis."""
    if boundary.periodic:
        return "fft"
    low_value = isinstance(boundary.low, FixedValue)
    high_value = isinstance(boundary.high, FixedValue)
    if low_value and high_value:
        return "dst2"
    if low_value:
        return "dst4"
    if high_value:
        return "dct4"
    return "dct2"


def _axis_mu(kind: str, n: int, dx: float, half_spectrum: bool = False) -> np.ndarray:
    """Eigenvalues of minus the 1-D homogeneous second difference, 1/um^2.

    Parameters
    ----------
    kind
        One of ``"dct2"``, ``"dst2"``, ``"dst4"``, ``"dct4"``, ``"fft"``.
    n
        Number of voxels along the axis.
    dx
        Spacing, um.
    half_spectrum
        For ``"fft"``: return only ``k = 0 .. n // 2`` (the modes ``rfft`` keeps).
    """
    k = np.arange(n // 2 + 1 if (kind == "fft" and half_spectrum) else n, dtype=float)
    if kind == "dct2":
        theta = np.pi * k / (2 * n)
    elif kind == "dst2":
        theta = np.pi * (k + 1) / (2 * n)
    elif kind in ("dst4", "dct4"):
        theta = np.pi * (2 * k + 1) / (4 * n)
    elif kind == "fft":
        theta = np.pi * k / n
    else:  # pragma: no cover - internal
        raise AssertionError(kind)
    return 4.0 / dx**2 * np.sin(theta) ** 2


def positive(name: str, value: float, allow_zero: bool) -> float:
    """``value`` as a finite float, > 0 (or >= 0 with ``allow_zero``); else a WorldError."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise WorldError(f"{name} must be a number, got {value!r}") from None
    ok = math.isfinite(x) and (x >= 0.0 if allow_zero else x > 0.0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise WorldError(f"{name} must be finite and {bound}, got {value!r}")
    return x


def substeps(time: float, dt: float) -> tuple[int, float]:
    """Equal backward-Euler steps covering ``time``: ``(n, h)`` with n = ceil(time / dt) and
    h = time / n <= dt; exactly ``dt`` when ``time / dt`` is a whole number (within 1e-9)."""
    ratio = time / dt
    n = max(1, math.ceil(ratio - _DT_MATCH_RTOL * max(ratio, 1.0)))
    h = time / n
    if abs(h - dt) <= _DT_MATCH_RTOL * dt:
        h = dt
    return n, h


def check_field(c: np.ndarray, grid: Grid) -> np.ndarray:
    """``c`` as a float array of the grid's shape, or a WorldError naming both shapes."""
    arr = np.asarray(c, dtype=float)
    if arr.shape != grid.shape:
        raise WorldError(f"field has shape {arr.shape} but the grid has shape {grid.shape}")
    return arr


class SpectralDiffusion:
    """Backward-Euler diffusion-decay solver on a rectangular grid, diagonalised by transforms.

    Solves ``dc/dt = D lap(c) - decay c + source`` with per-face boundary conditions; see the
    module docstring for the discretisation.

    Parameters
    ----------
    grid
        The grid the field lives on (2-D or 3-D; 1-D also works).
    diffusion
        Diffusion coefficient ``D``, um^2/min (>= 0).
    decay
        First-order decay rate, 1/min (>= 0).
    boundaries
        One :class:`~tropism.world.boundaries.AxisBoundary` per grid axis.
    dt
        Time step, min (> 0). Any value is stable.

    Attributes
    ----------
    grid : Grid
    boundaries : tuple of AxisBoundary
    diffusion : float
        Settable; changing it rebuilds the denominators on the next step.
    decay : float
        Settable; changing it rebuilds the denominators on the next step.
    dt : float
        Settable; changing it rebuilds the denominators on the next step.

    Raises
    ------
    WorldError
        (a ValueError) on a negative or non-finite ``diffusion`` or ``decay``, a ``dt`` that is
        not > 0, or a number of boundaries different from ``grid.ndim``.

    Notes
    -----
    Fields are NumPy arrays of shape ``grid.shape`` in nM; ``source`` arguments are nM/min, either
    a scalar or an array of ``grid.shape``. Inputs are never modified in place.
    """

    def __init__(
        self,
        grid: Grid,
        diffusion: float,
        decay: float,
        boundaries: Sequence[AxisBoundary],
        dt: float,
    ) -> None:
        self.grid = grid
        self.boundaries: tuple[AxisBoundary, ...] = check_boundaries(grid, boundaries)
        self._diffusion = positive("diffusion coefficient", diffusion, allow_zero=True)
        self._decay = positive("decay rate", decay, allow_zero=True)
        self._dt = positive("time step dt", dt, allow_zero=False)

        dx = grid.spacing
        ndim = grid.ndim
        self._kinds = tuple(_axis_kind(b) for b in boundaries)
        self._real_axes = tuple(a for a in range(ndim) if self._kinds[a] != "fft")
        periodic = [a for a in range(ndim) if self._kinds[a] == "fft"]
        # The last periodic axis uses rfft (half spectrum), the others complex fft.
        self._rfft_axis: int | None = periodic[-1] if periodic else None
        self._cfft_axes = tuple(periodic[:-1])
        # Per-axis mu (= minus the eigenvalues), shaped to broadcast over the spectral array.
        self._mu: list[np.ndarray] = []
        for a in range(ndim):
            mu = _axis_mu(self._kinds[a], grid.shape[a], dx, half_spectrum=(a == self._rfft_axis))
            shape = [1] * ndim
            shape[a] = mu.size
            self._mu.append(mu.reshape(shape))
        self._spectral_shape = tuple(m.shape[a] for a, m in enumerate(self._mu))
        self._has_fixed_value = any(
            isinstance(face, FixedValue) for b in boundaries for face in (b.low, b.high)
        )
        # Faces that add a known source to their boundary voxels: (axis, side, bc).
        self._inhomogeneous: list[tuple[int, int, FixedValue | FixedFlux]] = []
        for a, b in enumerate(boundaries):
            for side, face in ((0, b.low), (-1, b.high)):
                if isinstance(face, FixedValue | FixedFlux):
                    self._inhomogeneous.append((a, side, face))
        # Cache of 1 / (1/h + decay + D sum mu), keyed by the step length h.
        self._inv_den: dict[float, np.ndarray] = {}

    # ------------------------------------------------------------------ parameters

    @property
    def diffusion(self) -> float:
        """Diffusion coefficient, um^2/min."""
        return self._diffusion

    @diffusion.setter
    def diffusion(self, value: float) -> None:
        self._diffusion = positive("diffusion coefficient", value, allow_zero=True)
        self._inv_den.clear()

    @property
    def decay(self) -> float:
        """First-order decay rate, 1/min."""
        return self._decay

    @decay.setter
    def decay(self, value: float) -> None:
        self._decay = positive("decay rate", value, allow_zero=True)
        self._inv_den.clear()

    @property
    def dt(self) -> float:
        """Time step, min."""
        return self._dt

    @dt.setter
    def dt(self, value: float) -> None:
        self._dt = positive("time step dt", value, allow_zero=False)

    def __repr__(self) -> str:
        faces = ", ".join(str(b) for b in self.boundaries)
        return (
            f"SpectralDiffusion(shape={self.grid.shape}, spacing={self.grid.spacing:g} um, "
            f"D={self._diffusion:g} um^2/min, decay={self._decay:g} /min, dt={self._dt:g} min, "
            f"boundaries=[{faces}])"
        )

    # ------------------------------------------------------------------ public solvers

    def step(self, c: np.ndarray, source: np.ndarray | float | None = None) -> np.ndarray:
        """One backward-Euler step of length ``dt``.

        Solves ``(c_new - c) / dt = D L c_new - decay c_new + source + b`` exactly.

        Parameters
        ----------
        c
            Field at the start of the step, nM, shape ``grid.shape``.
        source
            Production rate, nM/min: scalar, array of ``grid.shape``, or None for none.

        Returns
        -------
        numpy.ndarray
            The field after the step (a new array).
        """
        c = self._check_field(c)
        forcing = self._forcing(source)
        return self._be_step(c, forcing, self._dt)

    def advance(
        self, c: np.ndarray, time: float, source: np.ndarray | float | None = None
    ) -> np.ndarray:
        """Advance by ``time`` in ``ceil(time / dt)`` equal backward-Euler steps.

        The step used is ``time / n``, which is at most ``dt``. (If ``time / dt`` is within
        1e-9 relative of a whole number, that number of steps of exactly ``dt`` is used.)

        Parameters
        ----------
        c
            Field at the start, nM, shape ``grid.shape``.
        time
            Duration, min (>= 0); 0 returns a copy of ``c``.
        source
            Production rate, nM/min, held constant over the interval.

        Returns
        -------
        numpy.ndarray
            The field at the end (a new array).
        """
        c = self._check_field(c)
        time = positive("advance time", time, allow_zero=True)
        forcing = self._forcing(source)
        if time == 0.0:
            return c.copy()
        n, h = substeps(time, self._dt)
        for _ in range(n):
            c = self._be_step(c, forcing, h)
        return c

    def steady(self, source: np.ndarray | float | None = None) -> np.ndarray:
        """Steady state: solve ``0 = D L c - decay c + source + b`` directly.

        Parameters
        ----------
        source
            Production rate, nM/min: scalar, array of ``grid.shape``, or None.

        Returns
        -------
        numpy.ndarray
            The steady field, nM.

        Raises
        ------
        WorldError
            (a ValueError) if the problem is singular: no decay and no fixed-value face (or
            no diffusion either), so the steady state is undetermined or does not exist.
        """
        if self._decay == 0.0 and (self._diffusion == 0.0 or not self._has_fixed_value):
            raise WorldError(
                "steady state is undetermined: with zero decay at least one face must have a "
                "fixed value (and the diffusion coefficient must be > 0)"
            )
        forcing = self._forcing(source)
        rhs = np.zeros(self.grid.shape) if forcing is None else forcing.copy()
        den = self._denominator(None)
        return self._solve(rhs, 1.0 / den)

    def boundary_inflow(self, c: np.ndarray) -> float:
        """Total amount per minute entering the domain through all faces, for the field ``c``.

        Fixed flux ``q``: ``q`` times the face area. Fixed value ``g``:
        ``D (g - c_b) / (dx / 2)`` times the face area of each boundary voxel ``c_b``. No flux
        and periodic faces contribute nothing. Units: nM*um^ndim/min (2-D: nM*um^2/min).

        Parameters
        ----------
        c
            Field, nM, shape ``grid.shape``.

        Returns
        -------
        float
            Net inflow; negative when the domain loses material.
        """
        c = self._check_field(c)
        dx = self.grid.spacing
        face_area = dx ** (self.grid.ndim - 1)
        total = 0.0
        for axis, side, face in self._inhomogeneous:
            if isinstance(face, FixedFlux):
                n_face = self.grid.size // self.grid.shape[axis]
                total += face.flux * n_face * face_area
            else:
                boundary = np.take(c, side, axis=axis)
                total += float(
                    np.sum(self._diffusion * (face.value - boundary) / (0.5 * dx)) * face_area
                )
        return total

    # ------------------------------------------------------------------ internals

    def _check_field(self, c: np.ndarray) -> np.ndarray:
        return check_field(c, self.grid)

    def _forcing(self, source: np.ndarray | float | None) -> np.ndarray | None:
        """``source + b`` as a new array, or None when both are zero."""
        shape = self.grid.shape
        if source is None:
            forcing = None
        else:
            src = np.asarray(source, dtype=float)
            if src.ndim == 0:
                value = float(src)
                if not math.isfinite(value):
                    raise WorldError(f"source must be finite, got {source!r}")
                forcing = np.full(shape, value) if value != 0.0 else None
            elif src.shape != shape:
                raise WorldError(f"source has shape {src.shape} but the grid has shape {shape}")
            else:
                forcing = src.copy()
        if not self._inhomogeneous:
            return forcing
        if forcing is None:
            forcing = np.zeros(shape)
        dx = self.grid.spacing
        for axis, side, face in self._inhomogeneous:
            index: list[int | slice] = [slice(None)] * len(shape)
            index[axis] = side
            if isinstance(face, FixedValue):
                # D (ghost - 2 c0 + c1) / dx^2 with ghost = 2 g - c0: known part 2 D g / dx^2
                forcing[tuple(index)] += 2.0 * self._diffusion * face.value / dx**2
            else:
                # D (ghost - c0) / dx^2 with ghost = c0 + q dx / D: known part q / dx
                forcing[tuple(index)] += face.flux / dx
        return forcing

    def _denominator(self, h: float | None) -> np.ndarray:
        """``1/h + decay + D sum mu`` (``h=None``: steady, no 1/h term), spectral shape."""
        base = self._decay + (0.0 if h is None else 1.0 / h)
        den = np.full(self._spectral_shape, base)
        if self._diffusion != 0.0:
            for mu in self._mu:
                den += self._diffusion * mu
        return den

    def _inverse_denominator(self, h: float) -> np.ndarray:
        inv = self._inv_den.get(h)
        if inv is None:
            if len(self._inv_den) >= 2:
                self._inv_den.pop(next(iter(self._inv_den)))
            inv = 1.0 / self._denominator(h)
            self._inv_den[h] = inv
        return inv

    def _be_step(self, c: np.ndarray, forcing: np.ndarray | None, h: float) -> np.ndarray:
        rhs = c / h
        if forcing is not None:
            rhs += forcing
        return self._solve(rhs, self._inverse_denominator(h))

    def _solve(self, rhs: np.ndarray, inv_den: np.ndarray) -> np.ndarray:
        """``T^-1 (T(rhs) * inv_den)``; ``rhs`` is consumed (overwritten)."""
        x = rhs
        for a in self._real_axes:
            x = _forward(self._kinds[a], x, a)
        if self._rfft_axis is not None:
            x = sfft.rfft(x, axis=self._rfft_axis)
            for a in self._cfft_axes:
                x = sfft.fft(x, axis=a, overwrite_x=True)
        x *= inv_den
        if self._rfft_axis is not None:
            for a in reversed(self._cfft_axes):
                x = sfft.ifft(x, axis=a, overwrite_x=True)
            x = sfft.irfft(x, n=self.grid.shape[self._rfft_axis], axis=self._rfft_axis)
        for a in reversed(self._real_axes):
            x = _inverse(self._kinds[a], x, a)
        return x


def _forward(kind: str, x: np.ndarray, axis: int) -> np.ndarray:
    if kind == "dct2":
        return sfft.dct(x, type=2, axis=axis, norm="ortho", overwrite_x=True)
    if kind == "dst2":
        return sfft.dst(x, type=2, axis=axis, norm="ortho", overwrite_x=True)
    if kind == "dst4":
        return sfft.dst(x, type=4, axis=axis, norm="ortho", overwrite_x=True)
    return sfft.dct(x, type=4, axis=axis, norm="ortho", overwrite_x=True)


def _inverse(kind: str, x: np.ndarray, axis: int) -> np.ndarray:
    if kind == "dct2":
        return sfft.idct(x, type=2, axis=axis, norm="ortho", overwrite_x=True)
    if kind == "dst2":
        return sfft.idst(x, type=2, axis=axis, norm="ortho", overwrite_x=True)
    if kind == "dst4":
        return sfft.idst(x, type=4, axis=axis, norm="ortho", overwrite_x=True)
    return sfft.idct(x, type=4, axis=axis, norm="ortho", overwrite_x=True)


def total_amount(c: np.ndarray, grid: Grid) -> float:
    """Total amount of material in a field, ``sum(c) * cell_volume`` (nM*um^ndim).

    Parameters
    ----------
    c
        Field, nM, shape ``grid.shape``.
    grid
        Its grid.
    """
    arr = np.asarray(c, dtype=float)
    if arr.shape != grid.shape:
        raise WorldError(f"field has shape {arr.shape} but the grid has shape {grid.shape}")
    return float(np.sum(arr) * grid.cell_volume)
