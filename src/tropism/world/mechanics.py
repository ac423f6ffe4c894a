"""Soft-sphere repulsion between cells, found with a cell list (cost linear in N).

Cells are overdamped soft spheres of radius r. Two cells closer than the sum of their radii
d0 = r_i + r_j push each other apart along the line of centres with a velocity that grows
linearly with the overlap delta = d0 - d (a linear spring times a mobility):

    u_i = v_ij (delta / d0) n_ij,  n_ij = (x_i - x_j) / d,  v_ij = sqrt(v_i v_j),

where v_i (``repulsion``, um/min) is the push speed at full overlap (the geometric mean for
two kinds, as PhysiCell combines repulsion strengths). For an isolated pair the overlap then
relaxes as delta' = -2 (v_ij / d0) delta, which this module integrates exactly over the step:
each cell moves by

    (delta / 2) (1 - exp(-2 v_ij dt / d0)) n_ij,

so a pair never overshoots at any step and the pair's centre stays where it was; with several
contacts the pushes add (explicit operator splitting, accurate while v dt / d0 << 1). Cells
further apart than d0 exert nothing. The displacements are computed from the positions at the
start of the step and added to the motility step by the cell kernel
(:func:`tropism.world.motility.step_cells`), which also keeps the cells inside the walls.

Neighbours are found with a cell list: the box is cut into bins at least as wide as the
largest contact distance 2 r_max, cells are sorted into bins (counting sort, O(N)), and each
cell looks only at its own and the adjacent bins. Each cell sums its own pushes in a fixed
order, so the parallel loop gives bit-identical results on any number of threads.

Array layout: ``pos`` float64 ``(N, 3)`` (z = 0 in 2-D), ``radius``, ``repulsion`` float64
``(N,)``, ``active`` bool ``(N,)`` (inactive cells neither push nor are pushed; the engine
makes migrating cells, state 0, active), output ``out`` float64 ``(N, 3)``, um.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from tropism.world.parallel import parallel_chunks

__all__ = [
    "PARALLEL_MIN_CELLS",
    "CellList",
    "build_cell_list",
    "cell_list_geometry",
    "push_displacements",
    "repulsion",
]

PARALLEL_MIN_CELLS = 4096
"""Fewest cells for which the pushes are computed on several threads."""

_MAX_BINS_PER_CELL = 8
"""At most this many bins per cell (and at least 64): a huge, sparse box gets wider bins."""


def cell_list_geometry(
    lo: np.ndarray, hi: np.ndarray, ndim: int, contact: float, n_cells: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bins per axis and bin widths for a box and a largest contact distance.

    Parameters
    ----------
    lo, hi
        ``(3,)`` box corners, um.
    ndim
        2 or 3 (in 2-D there is one bin along z).
    contact
        Largest contact distance 2 r_max, um (> 0).
    n_cells
        Number of cells (caps the number of bins at max(64, 8 n_cells)).

    Returns
    -------
    tuple of numpy.ndarray
        ``nbins`` int64 ``(3,)`` and ``width`` float64 ``(3,)``; every width >= ``contact``
        (or the whole axis when it is narrower).
    """
    if not contact > 0.0:
        raise ValueError(f"contact distance must be > 0, got {contact!r}")
    extent = np.maximum(np.asarray(hi, dtype=np.float64) - np.asarray(lo, dtype=np.float64), 0.0)
    size = float(contact)
    cap = max(64, _MAX_BINS_PER_CELL * int(n_cells))
    while True:
        nbins = np.ones(3, dtype=np.int64)
        for a in range(ndim):
            nbins[a] = max(1, int(math.floor(extent[a] / size)))
        if int(np.prod(nbins)) <= cap:
            break
        size *= 1.5
    width = np.where(nbins > 0, extent / nbins, 1.0)
    width = np.where(width > 0.0, width, 1.0)
    return nbins, width


@numba.njit(cache=True, inline="always")
def _bin_of(x, lo, width, n):
    b = int(math.floor((x - lo) / width)) if math.isfinite(x) else 0
    if b < 0:
        return 0
    if b >= n:
        return n - 1
    return b


@numba.njit(cache=True)
def build_cell_list(
    pos: np.ndarray,
    active: np.ndarray,
    lo: np.ndarray,
    width: np.ndarray,
    nbins: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort the active cells into bins (stable counting sort, O(N + bins)).

    Returns
    -------
    tuple of numpy.ndarray
        ``start`` int64 ``(B + 1,)``: the cells of bin b are ``order[start[b]:start[b + 1]]``;
        ``order`` int64 ``(n_active,)``, cell indices in bin order (ascending within a bin);
        ``bin_of`` int64 ``(N,)``, each cell's bin (-1 when inactive). Bin index
        ``(bx * ny + by) * nz + bz``.
    """
    n = pos.shape[0]
    nx, ny, nz = nbins[0], nbins[1], nbins[2]
    n_bins = nx * ny * nz
    bin_of = np.empty(n, dtype=np.int64)
    start = np.zeros(n_bins + 1, dtype=np.int64)
    for i in range(n):
        if not active[i]:
            bin_of[i] = -1
            continue
        bx = _bin_of(pos[i, 0], lo[0], width[0], nx)
        by = _bin_of(pos[i, 1], lo[1], width[1], ny)
        bz = _bin_of(pos[i, 2], lo[2], width[2], nz)
        b = (bx * ny + by) * nz + bz
        bin_of[i] = b
        start[b + 1] += 1
    for b in range(n_bins):
        start[b + 1] += start[b]
    order = np.empty(start[n_bins], dtype=np.int64)
    cursor = start[:n_bins].copy()
    for i in range(n):
        b = bin_of[i]
        if b >= 0:
            order[cursor[b]] = i
            cursor[b] += 1
    return start, order, bin_of


@numba.njit(cache=True, inline="always")
def _relax(vi, vj, d0, dt):
    """Fraction of an isolated pair's overlap removed in dt: 1 - exp(-2 sqrt(vi vj) dt / d0)."""
    return -math.expm1(-2.0 * math.sqrt(vi * vj) * dt / d0)


@numba.njit(cache=True)
def _gather(pos, radius, speed, order):
    """Positions (x, y, z, radius, speed) of the listed cells in bin order, ``(M, 5)``."""
    m = order.shape[0]
    g = np.empty((m, 5))
    for k in range(m):
        j = order[k]
        g[k, 0] = pos[j, 0]
        g[k, 1] = pos[j, 1]
        g[k, 2] = pos[j, 2]
        g[k, 3] = radius[j]
        g[k, 4] = speed[j]
    return g


@numba.njit(cache=True, inline="always")
def _push_from(k, q0, q1, g, order, dt, relax, acc):
    """Add to ``acc`` the pushes on sorted cell k from sorted cells q0 <= q < q1."""
    xi = g[k, 0]
    yi = g[k, 1]
    zi = g[k, 2]
    ri = g[k, 3]
    for q in range(q0, q1):
        dx = xi - g[q, 0]
        dy = yi - g[q, 1]
        dz = zi - g[q, 2]
        d0 = ri + g[q, 3]
        d2 = dx * dx + dy * dy + dz * dz
        if d2 >= d0 * d0 or q == k:
            continue
        d = math.sqrt(d2)
        r = relax if relax >= 0.0 else _relax(g[k, 4], g[q, 4], d0, dt)
        s = 0.5 * (d0 - d) * r
        if d > 1e-12 * d0:
            s /= d
            acc[0] += s * dx
            acc[1] += s * dy
            acc[2] += s * dz
        else:  # coincident centres: apart along x, the lower cell index towards -x
            acc[0] += -s if order[k] < order[q] else s


@numba.njit(cache=True)
def _repulsion_rows(bx0, bx1, g, start, order, nbins, dt, relax, out):
    """Pushes on the cells in bins with bx0 <= bx < bx1 (serial); see :func:`repulsion`.

    Neighbour bins are visited in the order (cx, cy, cz); the bins of one (cx, cy) column (or,
    in 2-D, of one cx row) are contiguous in the cell list, so each is one range of cells.
    """
    nx, ny, nz = nbins[0], nbins[1], nbins[2]
    acc = np.zeros(3)
    for bx in range(bx0, bx1):
        x0 = max(bx - 1, 0)
        x1 = min(bx + 2, nx)
        for by in range(ny):
            y0 = max(by - 1, 0)
            y1 = min(by + 2, ny)
            for bz in range(nz):
                b = (bx * ny + by) * nz + bz
                if start[b] == start[b + 1]:
                    continue
                z0 = max(bz - 1, 0)
                z1 = min(bz + 2, nz)
                for k in range(start[b], start[b + 1]):
                    acc[0] = 0.0
                    acc[1] = 0.0
                    acc[2] = 0.0
                    for cx in range(x0, x1):
                        if nz == 1:
                            _push_from(
                                k,
                                start[cx * ny + y0],
                                start[cx * ny + y1],
                                g,
                                order,
                                dt,
                                relax,
                                acc,
                            )
                            continue
                        for cy in range(y0, y1):
                            c = (cx * ny + cy) * nz
                            _push_from(k, start[c + z0], start[c + z1], g, order, dt, relax, acc)
                    i = order[k]
                    out[i, 0] = acc[0]
                    out[i, 1] = acc[1]
                    out[i, 2] = acc[2]


@numba.njit(cache=True, parallel=True)
def _repulsion_parallel(n_chunks, g, start, order, nbins, dt, relax, out):
    """:func:`_repulsion_rows` over ``n_chunks`` slabs of bins along x in a prange loop."""
    nx = nbins[0]
    for c in numba.prange(n_chunks):
        _repulsion_rows(
            c * nx // n_chunks, (c + 1) * nx // n_chunks, g, start, order, nbins, dt, relax, out
        )


def repulsion(
    pos: np.ndarray,
    radius: np.ndarray,
    speed: np.ndarray,
    start: np.ndarray,
    order: np.ndarray,
    nbins: np.ndarray,
    dt: float,
    out: np.ndarray,
) -> None:
    """Repulsive displacement of every cell over dt from its overlapping neighbours (in place).

    The listed cells' positions are first gathered in bin order (contiguous per bin), then
    every cell sums the pushes of the cells in its own and the adjacent bins, in a fixed
    order. From :data:`PARALLEL_MIN_CELLS` cells on, slabs of bins run on several threads
    (``prange``); each cell's sum is the same either way, so the result does not depend on
    the number of threads.

    Parameters
    ----------
    pos, radius, speed
        Positions (um), radii (um) and push speeds at full overlap (um/min), ``(N, 3)``,
        ``(N,)``, ``(N,)``.
    start, order, nbins
        The cell list from :func:`build_cell_list` (bins at least 2 r_max wide).
    dt
        Time step, min.
    out
        ``(N, 3)`` float64, overwritten with the displacements (0 for cells not listed).
    """
    n = pos.shape[0]
    if out.shape[0] != n or radius.shape[0] != n or speed.shape[0] != n:
        raise ValueError("pos, radius, speed and out must have the same number of cells")
    out[:] = 0.0
    relax = -1.0
    if n and np.all(radius == radius[0]) and np.all(speed == speed[0]):
        relax = float(_relax(speed[0], speed[0], radius[0] + radius[0], float(dt)))
    g = _gather(pos, radius, speed, order)
    chunks = parallel_chunks(int(nbins[0]), 2) if order.shape[0] >= PARALLEL_MIN_CELLS else 1
    if chunks > 1:
        _repulsion_parallel(chunks, g, start, order, nbins, float(dt), relax, out)
    else:
        _repulsion_rows(0, int(nbins[0]), g, start, order, nbins, float(dt), relax, out)


class CellList:
    """Reusable geometry for :func:`push_displacements` on one box.

    Parameters
    ----------
    lo, hi
        ``(3,)`` box corners, um.
    ndim
        2 or 3.
    """

    def __init__(self, lo: np.ndarray, hi: np.ndarray, ndim: int):
        self.lo = np.ascontiguousarray(lo, dtype=np.float64)
        self.hi = np.ascontiguousarray(hi, dtype=np.float64)
        self.ndim = int(ndim)
        self._key: tuple[float, int] | None = None
        self.nbins = np.ones(3, dtype=np.int64)
        self.width = np.ones(3)

    def geometry(self, contact: float, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
        """Bins and widths for this contact distance (recomputed when it or N changes)."""
        key = (float(contact), int(n_cells))
        if key != self._key:
            self.nbins, self.width = cell_list_geometry(
                self.lo, self.hi, self.ndim, contact, n_cells
            )
            self._key = key
        return self.nbins, self.width


def push_displacements(
    pos: np.ndarray,
    radius: np.ndarray,
    speed: np.ndarray,
    active: np.ndarray,
    cells: CellList,
    dt: float,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Repulsive displacement of every cell over one step (cell list + :func:`repulsion`).

    Parameters
    ----------
    pos, radius, speed, active
        As in the module docstring.
    cells
        The box's :class:`CellList`.
    dt
        Step, min.
    out
        Optional ``(N, 3)`` float64 array to fill.

    Returns
    -------
    numpy.ndarray
        ``(N, 3)`` displacements, um.
    """
    n = pos.shape[0]
    if out is None:
        out = np.empty((n, 3))
    if n == 0:
        return out
    contact = 2.0 * float(radius.max())
    if not contact > 0.0:
        out[:] = 0.0
        return out
    nbins, width = cells.geometry(contact, n)
    start, order, _ = build_cell_list(pos, active, cells.lo, width, nbins)
    repulsion(pos, radius, speed, start, order, nbins, float(dt), out)
    return out
