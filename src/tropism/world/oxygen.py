"""Quasi-static oxygen: diffusion, Michaelis-Menten consumption by tumour cells, vascular supply.

Oxygen equilibrates in seconds, far faster than cells move or tumours grow, so at every moment
the partial pressure ``p`` (mmHg) solves the steady problem

    0 = D lap(p) - Vmax u p / (p + Km) + k_v v(x) (p_v - p)

on the chemokines' cell-centred grid: ``u`` is the tumour density as a fraction of carrying
capacity (consumption ``Vmax`` at ``u = 1``, half-saturated at ``p = Km``), ``k_v v(x)`` a
vascular exchange rate towards the vessel pO2 ``p_v`` (off by default), and every face of the box
has a boundary condition (:mod:`tropism.world.boundaries`; a fixed value is a pO2 in mmHg held by
the medium or the surrounding tissue, a fixed flux is in mmHg*um/min). Voxels in an optional
``fixed_mask`` are held at ``fixed_value`` (e.g. well-perfused tissue around a spheroid).

Discretisation: the standard cell-centred 5- (7-) point Laplacian with the ghost-cell rule of each
face, assembled once as a sparse matrix. Writing the free voxels' equations as
``F(p) = A p + b - c(p) = 0`` (``A`` = diffusion minus vascular exchange, ``b`` the known
boundary, fixed-voxel and vessel terms, ``c`` the consumption), Newton's method solves
``J dp = -F`` with ``J = A - diag(Vmax u Km / (p + Km)^2)``: one sparse linear solve per
iteration, either a sparse LU factorisation (``linear_solver="direct"``, exact to round-off) or
conjugate gradients on the symmetric positive definite ``-J`` with a diagonal (Jacobi)
preconditioner (``"cg"``: a single-threaded Numba kernel on the CSR arrays, no fill-in).
``"auto"`` (the default) takes the LU in 2-D, where it was about twice as fast (256^2 voxels),
and conjugate gradients in 3-D, where the LU's fill-in made one solve on 32^3 voxels take 60 s
against 0.4 s (both timed on the same busy 2-core machine).

Why Newton converges here, from any start: ``-J`` is an M-matrix and ``c`` is concave in
``p >= 0``, so ``F`` is convex; a Newton step from any point lands on a sub-solution
(``F >= 0``), and from a sub-solution the iterates rise monotonically to the solution. Each
iterate is also floored at ``max(p_0, 0)``, where ``p_0`` solves the linear problem with
zero-order consumption ``Vmax u`` (one more linear solve; the LU of its matrix is kept).
Consuming at least as much as the Michaelis-Menten law, ``p_0`` lies below the true solution
everywhere, so the floor never cuts it; it keeps ``p >= 0`` and starts the iteration close to the
answer wherever oxygen is plentiful.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numba
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from tropism.world.boundaries import (
    AxisBoundary,
    FixedFlux,
    FixedValue,
    NoFlux,
    Periodic,
    check_boundaries,
)
from tropism.world.grid import Grid, WorldError

__all__ = ["OxygenSolver", "hypoxia", "pcg_jacobi"]

# Relative residual at which conjugate gradients stop (each Newton step and the floor).
_CG_RTOL = 1e-12


def _number(name: str, value: object, *, positive: bool = False) -> float:
    """A finite real number, >= 0 (or > 0 when ``positive``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise WorldError(f"{name} {value!r}: expected a number")
    x = float(value)
    if not math.isfinite(x) or x < 0.0 or (positive and x == 0.0):
        raise WorldError(
            f"{name} {value!r}: expected a finite number {'>' if positive else '>='} 0"
        )
    return x


def _field(name: str, value: object, shape: tuple[int, ...], lo: float = 0.0) -> np.ndarray:
    """A scalar or an array of ``shape``, finite and >= ``lo``, as a float array of ``shape``."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(shape, float(arr))
    elif arr.shape != shape:
        raise WorldError(f"{name} has shape {arr.shape} but the grid has shape {shape}")
    if not np.all(np.isfinite(arr)):
        raise WorldError(f"{name}: every value must be finite")
    if np.any(arr < lo):
        raise WorldError(f"{name}: values must be >= {lo:g}, found {float(arr.min()):g}")
    return arr


def _axis_operator(n: int, dx: float, boundary: AxisBoundary) -> sp.csr_matrix:
    """Homogeneous 1-D second difference (1/um^2) with the ghost-cell rule of each face."""
    main = np.full(n, -2.0)
    off = np.ones(n - 1)
    if boundary.periodic:
        op = sp.diags([main, off, off], [0, -1, 1], format="lil")
        op[0, n - 1] += 1.0
        op[n - 1, 0] += 1.0
        return op.tocsr() / dx**2
    # ghost = c0 (no flux, fixed flux: the flux goes into b) or 2 g - c0 (fixed value).
    for index, face in ((0, boundary.low), (n - 1, boundary.high)):
        main[index] += -1.0 if isinstance(face, FixedValue) else 1.0
    return sp.diags([main, off, off], [0, -1, 1], format="csr") / dx**2


@numba.njit(cache=True)
def pcg_jacobi(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    extra_diagonal: np.ndarray,
    b: np.ndarray,
    x: np.ndarray,
    rtol: float,
    max_iter: int,
) -> int:
    """Solve ``(S + diag(extra_diagonal)) x = b`` by Jacobi-preconditioned conjugate gradients.

    ``S`` is a symmetric matrix in CSR form (``indptr``, ``indices``, ``data``) and the sum must be
    positive definite. Single-threaded, no temporaries per iteration beyond four work vectors.

    Parameters
    ----------
    indptr, indices, data
        CSR arrays of ``S`` (n x n).
    extra_diagonal
        Added to the diagonal of ``S``, length n.
    b
        Right-hand side, length n.
    x
        Initial guess on entry, the solution on exit (modified in place).
    rtol
        Stop when ``|r| <= rtol |b|`` (Euclidean norms of the residual and ``b``).
    max_iter
        Most iterations.

    Returns
    -------
    int
        Iterations used, or -1 if ``rtol`` was not reached in ``max_iter`` iterations.
    """
    n = b.size
    r = np.empty(n)
    z = np.empty(n)
    p = np.empty(n)
    q = np.empty(n)
    inv = np.empty(n)
    bb = 0.0
    for i in range(n):
        acc = extra_diagonal[i] * x[i]
        d = extra_diagonal[i]
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            acc += data[k] * x[j]
            if j == i:
                d += data[k]
        inv[i] = 1.0 / d
        r[i] = b[i] - acc
        bb += b[i] * b[i]
    tol2 = rtol * rtol * bb
    rr = 0.0
    rz = 0.0
    for i in range(n):
        z[i] = inv[i] * r[i]
        p[i] = z[i]
        rr += r[i] * r[i]
        rz += r[i] * z[i]
    for iteration in range(max_iter + 1):
        if rr <= tol2:
            return iteration
        if iteration == max_iter:
            break
        pq = 0.0
        for i in range(n):
            acc = extra_diagonal[i] * p[i]
            for k in range(indptr[i], indptr[i + 1]):
                acc += data[k] * p[indices[k]]
            q[i] = acc
            pq += p[i] * acc
        alpha = rz / pq
        rr = 0.0
        rz_new = 0.0
        for i in range(n):
            x[i] += alpha * p[i]
            r[i] -= alpha * q[i]
            z[i] = inv[i] * r[i]
            rr += r[i] * r[i]
            rz_new += r[i] * z[i]
        beta = rz_new / rz
        rz = rz_new
        for i in range(n):
            p[i] = z[i] + beta * p[i]
    return -1


class OxygenSolver:
    """Steady oxygen partial pressure for a given tumour density, by Newton's method.

    See the module docstring for the equation, the discretisation and the convergence argument.

    Parameters
    ----------
    grid
        The grid (2-D or 3-D) the tumour density lives on.
    diffusion
        Oxygen diffusion coefficient ``D``, um^2/min (> 0); tissue 1.2e5 (webo2diffusion).
    boundaries
        One :class:`~tropism.world.boundaries.AxisBoundary` per axis; a
        :class:`~tropism.world.boundaries.FixedValue` is a pO2 in mmHg, a
        :class:`~tropism.world.boundaries.FixedFlux` an inflow in mmHg*um/min.
    vmax
        Consumption rate at carrying capacity (``u = 1``) and ample oxygen, mmHg/min (>= 0);
        about 800 for a tumour (secomb1995).
    km
        Michaelis-Menten half-saturation pO2, mmHg (> 0); about 0.4 (scandurra2010).
    supply_rate
        Vascular exchange rate ``k_v``, 1/min (>= 0); 0 (the default) switches the term off.
    vessel_po2
        Vessel pO2 ``p_v``, mmHg (>= 0).
    vessels
        Vessel map ``v(x)`` in [0, 1] (a scalar or an array of ``grid.shape``); None means 1
        everywhere (a uniform supply).
    fixed_mask
        Boolean array of ``grid.shape``: voxels whose pO2 is held at ``fixed_value``; None
        means none.
    fixed_value
        pO2 of the masked voxels, mmHg: a scalar or an array of ``grid.shape`` (>= 0).
    rtol
        Newton stops when no voxel changed by more than ``rtol`` times the largest pO2.
    max_iter
        Most Newton iterations per solve.
    linear_solver
        ``"direct"`` (sparse LU), ``"cg"`` (Jacobi-preconditioned conjugate gradients to a
        relative residual of 1e-12) or ``"auto"``: direct on 2-D grids, cg on 3-D ones; see the
        module docstring.

    Attributes
    ----------
    linear_solver : str
        The linear solver in use, ``"direct"`` or ``"cg"``.
    iterations : int
        Newton iterations of the last :meth:`solve` (0 when the problem was linear).
    residual : float
        Largest absolute residual ``|F(p)|`` of the last solve, mmHg/min.

    Raises
    ------
    WorldError
        (a ValueError) on a negative or non-finite parameter, arrays of the wrong shape, or a
        problem with no oxygen supply (no fixed-value face, no fixed voxel and no vascular
        supply: the steady state is then anoxia or undetermined).

    Examples
    --------
    >>> from tropism.world.boundaries import AxisBoundary, FixedValue
    >>> g = Grid((8, 8), spacing=10.0)
    >>> bc = [AxisBoundary(FixedValue(40.0), FixedValue(40.0))] * 2
    >>> solver = OxygenSolver(g, 1.2e5, bc, vmax=800.0, km=0.4)
    >>> p = solver.solve(np.zeros(g.shape))       # no tumour: no consumption
    >>> bool(np.allclose(p, 40.0))
    True
    """

    def __init__(
        self,
        grid: Grid,
        diffusion: float,
        boundaries: Sequence[AxisBoundary],
        vmax: float,
        km: float,
        supply_rate: float = 0.0,
        vessel_po2: float = 0.0,
        vessels: np.ndarray | float | None = None,
        fixed_mask: np.ndarray | None = None,
        fixed_value: np.ndarray | float = 0.0,
        rtol: float = 1e-8,
        max_iter: int = 50,
        linear_solver: str = "auto",
    ) -> None:
        self.grid = grid
        self.boundaries: tuple[AxisBoundary, ...] = check_boundaries(grid, boundaries)
        self.diffusion = _number("oxygen diffusion coefficient", diffusion, positive=True)
        self.vmax = _number("oxygen consumption vmax", vmax)
        self.km = _number("oxygen half-saturation km", km, positive=True)
        self.supply_rate = _number("vascular supply rate", supply_rate)
        self.vessel_po2 = _number("vessel pO2", vessel_po2)
        self.rtol = _number("Newton rtol", rtol, positive=True)
        if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
            raise WorldError(f"Newton max_iter {max_iter!r}: expected a whole number >= 1")
        self.max_iter = int(max_iter)
        if linear_solver not in ("auto", "cg", "direct"):
            raise WorldError(f"linear_solver {linear_solver!r}: expected 'auto', 'cg' or 'direct'")
        if linear_solver == "auto":
            linear_solver = "direct" if grid.ndim == 2 else "cg"
        self.linear_solver: str = linear_solver
        shape = grid.shape
        vmap = _field("vessel map", 1.0 if vessels is None else vessels, shape)
        if np.any(vmap > 1.0):
            raise WorldError(f"vessel map: values must be in [0, 1], found {float(vmap.max()):g}")
        if fixed_mask is None:
            mask = np.zeros(shape, dtype=bool)
        else:
            mask = np.asarray(fixed_mask)
            if mask.shape != shape or mask.dtype != bool:
                raise WorldError(
                    f"fixed_mask: expected a boolean array of shape {shape}, got "
                    f"{mask.dtype} of shape {mask.shape}"
                )
        self._fixed_values = _field("fixed_value", fixed_value, shape)
        self._mask = mask.copy()
        self._free = np.flatnonzero(~mask.ravel())
        fixed = np.flatnonzero(mask.ravel())

        # Full operator: D L (homogeneous) minus the vascular exchange k_v v.
        dx = grid.spacing
        n_total = grid.size
        lap = sp.csr_matrix((n_total, n_total))
        for a, b in enumerate(boundaries):
            left = sp.identity(math.prod(shape[:a]), format="csr")
            right = sp.identity(math.prod(shape[a + 1 :]), format="csr")
            lap = lap + sp.kron(sp.kron(left, _axis_operator(shape[a], dx, b)), right)
        exchange = self.supply_rate * vmap.ravel()
        full = (self.diffusion * lap - sp.diags(exchange)).tocsr()

        # Known terms: boundary faces, vessel supply, coupling to the fixed voxels.
        known = self.supply_rate * self.vessel_po2 * vmap
        for a, b in enumerate(boundaries):
            for side, face in ((0, b.low), (-1, b.high)):
                index: list[int | slice] = [slice(None)] * grid.ndim
                index[a] = side
                if isinstance(face, FixedValue):
                    known[tuple(index)] += 2.0 * self.diffusion * face.value / dx**2
                elif isinstance(face, FixedFlux):
                    known[tuple(index)] += face.flux / dx
                else:
                    assert isinstance(face, NoFlux | Periodic)
        free = self._free
        self._a = full[free][:, free].tocsc()
        neg_a = (-self._a).tocsr()
        neg_a.sort_indices()
        self._neg_a = neg_a
        self._b = known.ravel()[free] + full[free][:, fixed] @ self._fixed_values.ravel()[fixed]

        has_value_face = any(isinstance(f, FixedValue) for b in boundaries for f in (b.low, b.high))
        has_supply = self.supply_rate > 0.0 and bool(np.any(vmap > 0.0))
        if free.size and not (has_value_face or fixed.size or has_supply):
            raise WorldError(
                "oxygen has no supply: give a fixed-value face, fixed voxels (fixed_mask) or a "
                "vascular supply (supply_rate > 0 with vessels)"
            )
        # The zero-order (linear) problem's matrix never changes: factorise it once.
        self._lu_linear = (
            self._factorise(self._a) if free.size and linear_solver == "direct" else None
        )
        self._last_floor: np.ndarray | None = None
        self.iterations = 0
        self.residual = 0.0

    def __repr__(self) -> str:
        faces = ", ".join(str(b) for b in self.boundaries)
        return (
            f"OxygenSolver(shape={self.grid.shape}, spacing={self.grid.spacing:g} um, "
            f"D={self.diffusion:g} um^2/min, vmax={self.vmax:g} mmHg/min, km={self.km:g} mmHg, "
            f"supply_rate={self.supply_rate:g} /min, vessel_po2={self.vessel_po2:g} mmHg, "
            f"fixed voxels={int(self._mask.sum())}, boundaries=[{faces}])"
        )

    @staticmethod
    def _factorise(matrix: sp.spmatrix) -> spla.SuperLU:
        try:
            return spla.splu(matrix.tocsc(), permc_spec="MMD_AT_PLUS_A")
        except RuntimeError as exc:  # "Factor is exactly singular"
            raise WorldError(
                "oxygen problem is singular: some region has no supply (a fixed-value face, "
                "fixed voxels or vessels)"
            ) from exc

    def _linear_solve(
        self, extra: np.ndarray, rhs: np.ndarray, x0: np.ndarray | None = None
    ) -> np.ndarray:
        """Solve ``(A - diag(extra)) x = rhs`` (a symmetric negative definite matrix)."""
        if self.linear_solver == "direct":
            return self._factorise(self._a - sp.diags(extra)).solve(rhs)
        x = np.zeros(rhs.size) if x0 is None else x0.copy()
        neg = self._neg_a
        max_iter = 10 * rhs.size + 100
        used = pcg_jacobi(neg.indptr, neg.indices, neg.data, extra, -rhs, x, _CG_RTOL, max_iter)
        if used < 0:
            raise WorldError(
                f"oxygen linear solve (conjugate gradients) did not converge in {max_iter} "
                f"iterations; some region may have no supply (a fixed-value face, fixed voxels or "
                f"vessels)"
            )
        return x

    def solve(self, u: np.ndarray | float, guess: np.ndarray | None = None) -> np.ndarray:
        """Steady pO2 for the tumour density ``u``.

        Parameters
        ----------
        u
            Tumour density as a fraction of carrying capacity (>= 0): a scalar or an array of
            ``grid.shape``.
        guess
            A previous solution (mmHg, ``grid.shape``) to start from (warm start); None starts
            from the zero-order floor (see the module docstring).

        Returns
        -------
        numpy.ndarray
            pO2, mmHg, shape ``grid.shape``, >= 0; fixed voxels hold ``fixed_value``.

        Raises
        ------
        WorldError
            (a ValueError) on a ``u`` or ``guess`` of the wrong shape, negative or non-finite,
            or if Newton does not converge within ``max_iter`` iterations.
        """
        shape = self.grid.shape
        density = _field("tumour density u", u, shape)
        out = self._fixed_values.copy()
        free = self._free
        if not free.size:
            self.iterations, self.residual = 0, 0.0
            return out
        uptake = self.vmax * density.ravel()[free]  # zero-order consumption, mmHg/min
        # Zero-order solution: A p0 + b - Vmax u = 0.
        if self._lu_linear is not None:
            floor = self._lu_linear.solve(uptake - self._b)
        else:
            zero = np.zeros(free.size)
            floor = self._linear_solve(zero, uptake - self._b, x0=self._last_floor)
            self._last_floor = floor.copy()
        if not np.any(uptake > 0.0):  # linear problem: no consumption
            self.iterations = 0
            self.residual = float(np.max(np.abs(self._a @ floor + self._b), initial=0.0))
            out.ravel()[free] = np.maximum(floor, 0.0)
            return out
        np.maximum(floor, 0.0, out=floor)
        if guess is None:
            p = floor.copy()
        else:
            p = np.maximum(_field("oxygen guess", guess, shape).ravel()[free], floor)
        km = self.km
        self.iterations = 0
        while True:
            self.iterations += 1
            residual = self._a @ p + self._b - uptake * p / (p + km)
            step = self._linear_solve(uptake * km / (p + km) ** 2, -residual)
            p_new = np.maximum(p + step, floor)
            change = float(np.max(np.abs(p_new - p)))
            p = p_new
            if change <= self.rtol * max(float(np.max(p)), km):
                break
            if self.iterations >= self.max_iter:
                raise WorldError(
                    f"oxygen Newton iteration did not converge in {self.max_iter} iterations "
                    f"(last change {change:.3g} mmHg)"
                )
        self.residual = float(np.max(np.abs(self._a @ p + self._b - uptake * p / (p + km))))
        out.ravel()[free] = p
        return out


def hypoxia(p: np.ndarray | float, threshold: float, hill: float = 4.0) -> np.ndarray:
    """Hypoxia level ``H = threshold^n / (threshold^n + p^n)`` in [0, 1].

    Parameters
    ----------
    p
        pO2, mmHg (>= 0), scalar or array.
    threshold
        pO2 at which ``H = 1/2``, mmHg (> 0); near 7-10 mmHg (tabatabai2006: 1 % O2, about
        7 mmHg, induces CXCL12 in glioma cells; the exact value is assumed).
    hill
        Hill exponent ``n`` (> 0); 4 is assumed (a switch-like response).

    Returns
    -------
    numpy.ndarray
        ``H``, same shape as ``p``: 1 at anoxia, 1/2 at the threshold, towards 0 above it.

    Examples
    --------
    >>> float(hypoxia(7.0, threshold=7.0))
    0.5
    """
    threshold = _number("hypoxia threshold", threshold, positive=True)
    hill = _number("hypoxia Hill exponent", hill, positive=True)
    arr = np.asarray(p, dtype=float)
    if np.any(arr < 0.0) or not np.all(np.isfinite(arr)):
        raise WorldError("hypoxia: pO2 must be finite and >= 0 mmHg")
    return 1.0 / (1.0 + (arr / threshold) ** hill)
