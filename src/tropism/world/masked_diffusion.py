"""Implicit diffusion with a spatially varying diffusivity and blocked voxels (sparse LU).

The field obeys

    dc/dt = div(D(x) grad c) - decay c + source

on the free voxels of a cell-centred grid; blocked voxels (``mask`` True: a wall, the outside
of a brain outline, a ventricle) hold no field and nothing crosses into them. Where the
geometry is a plain box with uniform D, :class:`~tropism.world.diffusion.SpectralDiffusion` is
exact and faster; this solver is for membranes and brain outlines, with the same interface
(``step``, ``advance``, ``steady``, ``boundary_inflow`` and settable ``dt``, ``decay``,
``diffusion``) so that a :class:`~tropism.world.world.World` can hold either.

Discretisation (finite volumes on the voxels): the flux through the face between free voxels
``i`` and ``j`` is ``D_f (c_j - c_i) / dx`` with the harmonic mean ``D_f = 2 D_i D_j /
(D_i + D_j)`` (the series conductance of the two half voxels), so the flux is continuous
across a jump of D and a layered medium is reproduced exactly in the steady state. A face
next to a blocked voxel carries no flux. A face of the box follows the ghost-cell rule of
:mod:`tropism.world.diffusion` with the diffusivity of the voxel next to it:

- no flux:          nothing crosses;
- fixed value g:    flux ``2 D_0 (g - c_0) / dx`` into the voxel (the face value is g);
- fixed flux q:     ``q`` enters through each unit of face area;
- periodic:         the face is an ordinary face to the voxel at the other end.

With uniform D, no mask and these faces the operator is exactly the one
:class:`~tropism.world.diffusion.SpectralDiffusion` diagonalises. A backward-Euler step
``(c_new - c) / dt = A c_new - decay c_new + source + b`` (``A`` the assembled operator,
``b`` the known boundary terms) is one solve with the sparse matrix
``(1/dt + decay) I - A``, factorised once (scipy's SuperLU) and kept for the next steps;
changing ``dt`` or ``decay`` factorises again. Factorisations are cached by operator and
shift and shared between solvers: chemokines with the same diffusivity map, decay and mask
(only their boundary values differ) use one.
Large 3-D grids use conjugate gradients instead (``linear_solver``), since LU fill-in there
costs seconds to minutes per factorisation.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as spla

from tropism.world.boundaries import AxisBoundary, FixedFlux, FixedValue, check_boundaries
from tropism.world.diffusion import check_field, positive, substeps
from tropism.world.grid import Grid, WorldError

__all__ = ["MaskedDiffusion", "face_values"]

# Relative residual at which conjugate gradients stop.
_CG_RTOL = 1e-12
# Factorisations of ``shift I - A`` shared by every solver with the same operator (fields of
# equal diffusivity and mask differ only in their boundary values, which do not enter A),
# keyed by (hash of A, shift); the oldest is dropped beyond _LU_CACHE_SIZE.
_LU_CACHE: dict[tuple[str, float], spla.SuperLU] = {}
_LU_CACHE_SIZE = 6
# Above this many free voxels a 3-D problem is solved by conjugate gradients (LU fill-in).
_DIRECT_MAX_3D = 8000


def _harmonic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Harmonic mean 2ab / (a + b), 0 where both are 0."""
    total = a + b
    out = np.zeros_like(total)
    np.divide(2.0 * a * b, total, out=out, where=total > 0.0)
    return out


def face_values(c_i: np.ndarray, c_j: np.ndarray, d_i: np.ndarray, d_j: np.ndarray) -> np.ndarray:
    """Concentration on the face between two voxels, consistent with the harmonic flux.

    Continuity of the flux through the two half voxels gives
    ``c_face = (D_i c_i + D_j c_j) / (D_i + D_j)`` (the mean where both D are 0).

    Parameters
    ----------
    c_i, c_j
        Concentrations of the two voxels, nM (arrays broadcasting together).
    d_i, d_j
        Their diffusivities, um^2/min.
    """
    c_i, c_j = np.asarray(c_i, dtype=float), np.asarray(c_j, dtype=float)
    d_i, d_j = np.asarray(d_i, dtype=float), np.asarray(d_j, dtype=float)
    total = d_i + d_j
    safe = np.where(total > 0.0, total, 1.0)
    return np.where(total > 0.0, (d_i * c_i + d_j * c_j) / safe, 0.5 * (c_i + c_j))


class MaskedDiffusion:
    """Backward-Euler diffusion-decay solver with D(x) and blocked voxels, by sparse LU.

    See the module docstring for the discretisation.

    Parameters
    ----------
    grid
        The grid (2-D or 3-D).
    diffusion
        Diffusion coefficient, um^2/min (>= 0): a number, or an array of ``grid.shape``.
    decay
        First-order decay rate, 1/min (>= 0), uniform.
    boundaries
        One :class:`~tropism.world.boundaries.AxisBoundary` per grid axis.
    dt
        Time step, min (> 0). Any value is stable.
    mask
        Boolean array of ``grid.shape``, True where a voxel is blocked; None for none.
    linear_solver
        ``"direct"`` (sparse LU, factorised once per ``dt`` and ``decay``: exact to round-off),
        ``"cg"`` (Jacobi-preconditioned conjugate gradients on the symmetric positive definite
        matrix, relative residual 1e-12, warm-started from the last field: no fill-in) or
        ``"auto"`` (the default: direct in 2-D and for small 3-D grids, cg for 3-D grids
        above 8000 free voxels, where LU fill-in makes factorising take seconds to minutes).

    Attributes
    ----------
    grid : Grid
    boundaries : tuple of AxisBoundary
    mask : numpy.ndarray
        The blocked voxels (a copy of the argument; all False when none were given).
    diffusion : float or numpy.ndarray
        Settable; re-assembles the operator.
    decay, dt : float
        Settable; a new value is factorised on the next step.

    Raises
    ------
    WorldError
        (a ValueError) on a negative or non-finite diffusivity or decay, a ``dt`` that is not
        > 0, arrays of the wrong shape, every voxel blocked, or a number of boundaries
        different from ``grid.ndim``.

    Notes
    -----
    Fields are arrays of ``grid.shape`` in nM; blocked voxels are returned as 0 and ignored
    on input (as is a source there). ``source`` arguments are nM/min, a scalar or an array.
    """

    def __init__(
        self,
        grid: Grid,
        diffusion: float | np.ndarray,
        decay: float,
        boundaries: Sequence[AxisBoundary],
        dt: float,
        mask: np.ndarray | None = None,
        linear_solver: str = "auto",
    ) -> None:
        self.grid = grid
        self.boundaries: tuple[AxisBoundary, ...] = check_boundaries(grid, boundaries)
        if mask is None:
            blocked = np.zeros(grid.shape, dtype=bool)
        else:
            blocked = np.asarray(mask)
            if blocked.shape != grid.shape or blocked.dtype != bool:
                raise WorldError(
                    f"mask: expected a boolean array of shape {grid.shape}, got "
                    f"{blocked.dtype} of shape {blocked.shape}"
                )
            blocked = blocked.copy()
        if blocked.all():
            raise WorldError("mask: every voxel is blocked; nothing is left to diffuse in")
        self.mask = blocked
        self._free = np.flatnonzero(~blocked.ravel())
        self._decay = positive("decay rate", decay, allow_zero=True)
        self._dt = positive("time step dt", dt, allow_zero=False)
        if linear_solver not in ("auto", "direct", "cg"):
            raise WorldError(f"linear_solver {linear_solver!r}: expected 'auto', 'direct' or 'cg'")
        if linear_solver == "auto":
            big = grid.ndim == 3 and self._free.size > _DIRECT_MAX_3D
            linear_solver = "cg" if big else "direct"
        self.linear_solver = linear_solver
        self.diffusion = diffusion  # assembles the operator

    # ------------------------------------------------------------------ parameters

    @property
    def diffusion(self) -> float | np.ndarray:
        """Diffusion coefficient, um^2/min (a number, or an array of ``grid.shape``)."""
        return self._diffusion_given

    @diffusion.setter
    def diffusion(self, value: float | np.ndarray) -> None:
        arr = np.asarray(value, dtype=float)
        if arr.ndim == 0:
            d = positive("diffusion coefficient", float(arr), allow_zero=True)
            self._diffusion_given: float | np.ndarray = d
            self._dmap = np.full(self.grid.shape, d)
        else:
            if arr.shape != self.grid.shape:
                raise WorldError(
                    f"diffusion map has shape {arr.shape} but the grid has shape {self.grid.shape}"
                )
            if not np.all(np.isfinite(arr)) or np.any(arr < 0.0):
                raise WorldError("diffusion map: every value must be finite and >= 0")
            self._diffusion_given = arr.copy()
            self._dmap = arr.copy()
        self._dmap[self.mask] = 0.0
        self._assemble()

    @property
    def decay(self) -> float:
        """First-order decay rate, 1/min."""
        return self._decay

    @decay.setter
    def decay(self, value: float) -> None:
        self._decay = positive("decay rate", value, allow_zero=True)

    @property
    def dt(self) -> float:
        """Time step, min."""
        return self._dt

    @dt.setter
    def dt(self, value: float) -> None:
        self._dt = positive("time step dt", value, allow_zero=False)

    @property
    def diffusion_map(self) -> np.ndarray:
        """D per voxel, um^2/min (0 in blocked voxels); a copy."""
        return self._dmap.copy()

    def __repr__(self) -> str:
        faces = ", ".join(str(b) for b in self.boundaries)
        free = self._dmap[~self.mask]
        return (
            f"MaskedDiffusion(shape={self.grid.shape}, spacing={self.grid.spacing:g} um, "
            f"D={float(free.min()):g}..{float(free.max()):g} um^2/min, decay={self._decay:g} "
            f"/min, dt={self._dt:g} min, blocked voxels={int(self.mask.sum())}, "
            f"boundaries=[{faces}])"
        )

    # ------------------------------------------------------------------ assembly

    def _assemble(self) -> None:
        """Operator A (free x free), known boundary vector b, Dirichlet anchors."""
        grid = self.grid
        shape = grid.shape
        dx = grid.spacing
        n_total = grid.size
        index = np.arange(n_total).reshape(shape)
        d = self._dmap
        free = ~self.mask
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        diag = np.zeros(shape)
        known = np.zeros(shape)
        anchored = np.zeros(shape, dtype=bool)
        for a, bc in enumerate(self.boundaries):
            n = shape[a]
            lo = [slice(None)] * grid.ndim
            hi = [slice(None)] * grid.ndim
            lo[a] = slice(0, n - 1)
            hi[a] = slice(1, n)
            pairs = [(tuple(lo), tuple(hi))]
            if bc.periodic:
                first = [slice(None)] * grid.ndim
                last = [slice(None)] * grid.ndim
                first[a] = slice(0, 1)
                last[a] = slice(n - 1, n)
                pairs.append((tuple(last), tuple(first)))
            for left, right in pairs:
                both = free[left] & free[right]
                k = np.where(both, _harmonic(d[left], d[right]), 0.0) / dx**2
                i = index[left][k > 0]
                j = index[right][k > 0]
                kk = k[k > 0]
                rows += [i, j]
                cols += [j, i]
                vals += [kk, kk]
                np.add.at(diag.ravel(), i, -kk)
                np.add.at(diag.ravel(), j, -kk)
            if bc.periodic:
                continue
            for side, face in ((0, bc.low), (n - 1, bc.high)):
                at: list[int | slice] = [slice(None)] * grid.ndim
                at[a] = side
                at_t = tuple(at)
                if isinstance(face, FixedValue):
                    coef = np.where(free[at_t], 2.0 * d[at_t] / dx**2, 0.0)
                    diag[at_t] -= coef
                    known[at_t] += coef * face.value
                    anchored[at_t] |= coef > 0.0
                elif isinstance(face, FixedFlux):
                    known[at_t] += np.where(free[at_t], face.flux / dx, 0.0)
        rows.append(np.arange(n_total))
        cols.append(np.arange(n_total))
        vals.append(diag.ravel())
        full = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n_total, n_total),
        )
        f = self._free
        self._a = full[f][:, f].tocsc()
        self._b = known.ravel()[f]
        self._anchored = anchored.ravel()[f]
        self._identity = sp.identity(f.size, format="csc")
        a = self._a
        digest = hashlib.sha1(np.asarray(a.shape, dtype=np.int64).tobytes())
        for part in (a.indptr, a.indices, a.data):
            digest.update(np.ascontiguousarray(part).tobytes())
        self._operator_key = digest.hexdigest()

    def _factor(self, shift: float) -> spla.SuperLU:
        """LU of ``shift I - A``, from the shared cache (:data:`_LU_CACHE`)."""
        key = (self._operator_key, float(shift))
        lu = _LU_CACHE.get(key)
        if lu is None:
            if len(_LU_CACHE) >= _LU_CACHE_SIZE:
                _LU_CACHE.pop(next(iter(_LU_CACHE)))
            matrix = (shift * self._identity - self._a).tocsc()
            try:
                lu = spla.splu(matrix, permc_spec="COLAMD")
            except RuntimeError as exc:  # "Factor is exactly singular"
                raise WorldError(
                    "diffusion problem is singular: some region has neither decay nor a "
                    "fixed-value face"
                ) from exc
            _LU_CACHE[key] = lu
        return lu

    def _solve(self, shift: float, rhs: np.ndarray, x0: np.ndarray | None) -> np.ndarray:
        """Solve ``(shift I - A) x = rhs`` on the free voxels, by LU or conjugate gradients."""
        if self.linear_solver == "direct":
            return self._factor(shift).solve(rhs)
        matrix = (shift * self._identity - self._a).tocsr()
        diagonal = matrix.diagonal()
        if np.any(diagonal <= 0.0):
            raise WorldError(
                "diffusion problem is singular: some voxel has neither diffusion nor decay"
            )
        inv = 1.0 / diagonal
        jacobi = spla.LinearOperator(matrix.shape, matvec=lambda v: inv * v.ravel(), dtype=float)
        x, info = spla.cg(
            matrix, rhs, x0=x0, rtol=_CG_RTOL, atol=0.0, M=jacobi, maxiter=max(1000, 10 * rhs.size)
        )
        if info != 0:
            raise WorldError(
                f"diffusion linear solve (conjugate gradients) did not converge in {info} "
                "iterations; try linear_solver='direct'"
            )
        return x

    # ------------------------------------------------------------------ public solvers

    def step(self, c: np.ndarray, source: np.ndarray | float | None = None) -> np.ndarray:
        """One backward-Euler step of length ``dt`` (see the module docstring).

        Parameters
        ----------
        c
            Field at the start of the step, nM, shape ``grid.shape``.
        source
            Production rate, nM/min: scalar, array of ``grid.shape``, or None.

        Returns
        -------
        numpy.ndarray
            The field after the step (a new array; 0 in blocked voxels).
        """
        c = self._check_field(c)
        return self._be_step(c.ravel()[self._free], self._forcing(source), self._dt)

    def advance(
        self, c: np.ndarray, time: float, source: np.ndarray | float | None = None
    ) -> np.ndarray:
        """Advance by ``time`` in ``ceil(time / dt)`` equal backward-Euler steps.

        Same rule as :meth:`tropism.world.diffusion.SpectralDiffusion.advance`: the step
        is ``time / n <= dt``, exactly ``dt`` when ``time / dt`` is a whole number.
        """
        c = self._check_field(c)
        time = positive("advance time", time, allow_zero=True)
        if time == 0.0:
            return self._expand(c.ravel()[self._free])
        forcing = self._forcing(source)
        n, h = substeps(time, self._dt)
        x = c.ravel()[self._free]
        for _ in range(n):
            x = self._solve(1.0 / h + self._decay, x / h + forcing, x)
        return self._expand(x)

    def steady(self, source: np.ndarray | float | None = None) -> np.ndarray:
        """Steady state: solve ``0 = A c - decay c + source + b``.

        Raises
        ------
        WorldError
            (a ValueError) if, with zero decay, some connected region of free voxels has no
            fixed-value face (its steady state is undetermined or does not exist).
        """
        if self._decay == 0.0:
            graph = (self._a - sp.diags(self._a.diagonal())).tocsr()
            n_comp, labels = csgraph.connected_components(graph, directed=False)
            has_anchor = np.zeros(n_comp, dtype=bool)
            has_anchor[labels[self._anchored]] = True
            if not has_anchor.all():
                raise WorldError(
                    "steady state is undetermined: with zero decay every connected region "
                    "needs a fixed-value face (and a diffusivity > 0)"
                )
        x = self._solve(self._decay, self._forcing(source), None)
        return self._expand(x)

    def boundary_inflow(self, c: np.ndarray) -> float:
        """Total amount per minute entering through the faces of the box, for the field ``c``.

        Fixed flux ``q``: ``q`` times the area of each free boundary voxel's face. Fixed value
        ``g``: ``D_0 (g - c_0) / (dx / 2)`` times the face area. Units nM*um^ndim/min.
        """
        c = self._check_field(c)
        grid = self.grid
        dx = grid.spacing
        area = dx ** (grid.ndim - 1)
        free = ~self.mask
        total = 0.0
        for a, bc in enumerate(self.boundaries):
            if bc.periodic:
                continue
            for side, face in ((0, bc.low), (-1, bc.high)):
                f = np.take(free, side, axis=a)
                if isinstance(face, FixedFlux):
                    total += face.flux * float(f.sum()) * area
                elif isinstance(face, FixedValue):
                    d0 = np.take(self._dmap, side, axis=a)
                    c0 = np.take(c, side, axis=a)
                    total += (
                        float(np.sum(np.where(f, d0 * (face.value - c0), 0.0))) * 2.0 / dx * area
                    )
        return total

    # ------------------------------------------------------------------ internals

    def _check_field(self, c: np.ndarray) -> np.ndarray:
        return check_field(c, self.grid)

    def _forcing(self, source: np.ndarray | float | None) -> np.ndarray:
        """``source + b`` on the free voxels (a new vector)."""
        forcing = self._b.copy()
        if source is None:
            return forcing
        src = np.asarray(source, dtype=float)
        if src.ndim == 0:
            value = float(src)
            if not math.isfinite(value):
                raise WorldError(f"source must be finite, got {source!r}")
            forcing += value
        elif src.shape != self.grid.shape:
            raise WorldError(
                f"source has shape {src.shape} but the grid has shape {self.grid.shape}"
            )
        else:
            forcing += src.ravel()[self._free]
        return forcing

    def _be_step(self, x: np.ndarray, forcing: np.ndarray, h: float) -> np.ndarray:
        return self._expand(self._solve(1.0 / h + self._decay, x / h + forcing, x))

    def _expand(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros(self.grid.size)
        out[self._free] = x
        return out.reshape(self.grid.shape)
