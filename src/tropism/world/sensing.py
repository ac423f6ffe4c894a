"""Receptor sensing: field sampling, occupancy and the chemotactic drift of one cell.

Kernels take NumPy arrays and plain numbers only (engine units: um, min, nM).

Array layout shared with :mod:`tropism.world.motility` and the engine:

- ``sense``: float64 ``(F, 4, nx, ny, nz)``; for each field ``[c, dc/dx, dc/dy, dc/dz]`` at
  the voxel centres ``origin + (i + 0.5) * spacing`` (``nz = 1`` in 2-D, where dc/dz = 0).
  Built from the concentration fields by :func:`build_sense`.
- Receptor type ``r`` reads field ``ligand[r]`` with dissociation constant ``kd[r]`` and
  steers with signalling weight ``weight[r]`` (1 chemotactic, 0 non-signalling such as CXCR7,
  times 1 / (1 + I / IC50) under an antagonist).

Sensing model (Lauffenburger/Tranquillo type, see DESIGN.md "The model"):

- occupancy f = c / (c + Kd), grad f = Kd / (c + Kd)^2 grad c;
- expected front-back difference of bound receptors over the cell length L,
  g = sum_r w_r (R_r / 2) L grad f_r;
- measured signal with binomial binding noise,
  m = g + noise_scale * sqrt(sum_r w_r^2 R_r f_r (1 - f_r)) * xi  (xi standard normal per axis);
- saturating drift v_d = v_chem m / (n_half + |m|).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from tropism.world.parallel import parallel_chunks

__all__ = [
    "PARALLEL_MIN_VOXELS",
    "build_sense",
    "cell_drift",
    "chemotactic_drift",
    "occupancy",
    "occupancy_gradient",
    "sample",
]


@numba.njit(cache=True, inline="always")
def occupancy(c: float | np.ndarray, kd: float | np.ndarray) -> float | np.ndarray:
    """Fraction of receptors bound at equilibrium, f = c / (c + Kd).

    Parameters
    ----------
    c
        Free ligand concentration, nM (scalar or array).
    kd
        Dissociation constant, nM (> 0; scalar or array broadcasting against ``c``).

    Returns
    -------
    float or numpy.ndarray
        Occupancy in [0, 1) for c >= 0.
    """
    return c / (c + kd)


@numba.njit(cache=True, inline="always")
def occupancy_gradient(
    c: float | np.ndarray, grad_c: float | np.ndarray, kd: float | np.ndarray
) -> float | np.ndarray:
    """Gradient of the occupancy, grad f = Kd / (c + Kd)^2 grad c.

    Parameters
    ----------
    c
        Concentration, nM (scalar, or an array broadcasting against ``grad_c``).
    grad_c
        Concentration gradient, nM/um (scalar or array, e.g. shape (3,)).
    kd
        Dissociation constant, nM.

    Returns
    -------
    float or numpy.ndarray
        Occupancy gradient, 1/um, shaped like ``grad_c``.
    """
    s = c + kd
    return (kd / (s * s)) * grad_c


PARALLEL_MIN_VOXELS = 1 << 17
"""Fewest field values (fields x voxels) for which :func:`build_sense` runs on several
threads."""


def build_sense(fields: np.ndarray, spacing: float, out: np.ndarray | None = None) -> np.ndarray:
    """Stack each field with its gradient at the voxel centres for the cell kernels.

    Parameters
    ----------
    fields
        Concentrations, nM, shape ``(F, nx, ny, nz)`` (``nz = 1`` for a 2-D grid).
    spacing
        Voxel edge length, um.
    out
        Optional float64 C-contiguous array of the result's shape to fill (re-used between
        field steps instead of allocating a new one).

    Returns
    -------
    numpy.ndarray
        float64, C-contiguous, shape ``(F, 4, nx, ny, nz)``: ``[c, dc/dx, dc/dy, dc/dz]``.
        Gradients are central differences inside and one-sided at the edges (as
        ``numpy.gradient`` with ``edge_order=1``, bit for bit; exact for a linear field); the
        derivative along an axis with a single voxel (z in 2-D) is 0. Computed by a parallel
        Numba kernel.

    Raises
    ------
    ValueError
        If ``fields`` is not 4-dimensional, the spacing is not a positive number, or ``out``
        has the wrong shape or type.
    """
    arr = np.ascontiguousarray(fields, dtype=np.float64)
    if arr.ndim != 4:
        raise ValueError(f"fields must have shape (F, nx, ny, nz), got shape {arr.shape}")
    spacing = float(spacing)
    if not (math.isfinite(spacing) and spacing > 0.0):
        raise ValueError(f"spacing must be a positive number of um, got {spacing!r}")
    shape = (arr.shape[0], 4, *arr.shape[1:])
    if out is None:
        out = np.empty(shape, dtype=np.float64)
    elif out.shape != shape or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float64 array of shape {shape}")
    _fill_sense(arr, spacing, out)
    return out


@numba.njit(cache=True, inline="always")
def _derivative(a, b, h):
    """(a - b) / h: one difference exactly as numpy.gradient forms it."""
    return (a - b) / h


@numba.njit(cache=True)
def _fill_sense_range(start: int, stop: int, f: np.ndarray, spacing: float, out: np.ndarray):
    """Rows ``start <= i < stop`` (along x) of every field of :func:`build_sense` (serial)."""
    n_f, nx, ny, nz = f.shape
    two_h = 2.0 * spacing
    for q in range(n_f):
        for i in range(start, stop):
            for j in range(ny):
                for k in range(nz):
                    out[q, 0, i, j, k] = f[q, i, j, k]
                    # d/dx
                    if nx < 2:
                        gx = 0.0
                    elif i == 0:
                        gx = _derivative(f[q, 1, j, k], f[q, 0, j, k], spacing)
                    elif i == nx - 1:
                        gx = _derivative(f[q, i, j, k], f[q, i - 1, j, k], spacing)
                    else:
                        gx = _derivative(f[q, i + 1, j, k], f[q, i - 1, j, k], two_h)
                    # d/dy
                    if ny < 2:
                        gy = 0.0
                    elif j == 0:
                        gy = _derivative(f[q, i, 1, k], f[q, i, 0, k], spacing)
                    elif j == ny - 1:
                        gy = _derivative(f[q, i, j, k], f[q, i, j - 1, k], spacing)
                    else:
                        gy = _derivative(f[q, i, j + 1, k], f[q, i, j - 1, k], two_h)
                    # d/dz
                    if nz < 2:
                        gz = 0.0
                    elif k == 0:
                        gz = _derivative(f[q, i, j, 1], f[q, i, j, 0], spacing)
                    elif k == nz - 1:
                        gz = _derivative(f[q, i, j, k], f[q, i, j, k - 1], spacing)
                    else:
                        gz = _derivative(f[q, i, j, k + 1], f[q, i, j, k - 1], two_h)
                    out[q, 1, i, j, k] = gx
                    out[q, 2, i, j, k] = gy
                    out[q, 3, i, j, k] = gz


@numba.njit(cache=True, parallel=True)
def _fill_sense_parallel(n_chunks: int, f: np.ndarray, spacing: float, out: np.ndarray):
    """:func:`_fill_sense_range` over ``n_chunks`` slabs along x in a prange loop."""
    nx = f.shape[1]
    for c in numba.prange(n_chunks):
        _fill_sense_range(c * nx // n_chunks, (c + 1) * nx // n_chunks, f, spacing, out)


def _fill_sense(f: np.ndarray, spacing: float, out: np.ndarray) -> None:
    """Fill ``out`` (F, 4, nx, ny, nz) with each field and its three derivatives."""
    nx = f.shape[1]
    chunks = parallel_chunks(nx, 2) if f.size >= PARALLEL_MIN_VOXELS else 1
    if chunks > 1:
        _fill_sense_parallel(chunks, f, spacing, out)
    else:
        _fill_sense_range(0, nx, f, spacing, out)


@numba.njit(cache=True, inline="always")
def _axis_weights(x, origin, spacing, n):
    """Lower index and weight of the upper neighbour for linear interpolation on one axis.

    Voxel centre i sits at origin + (i + 0.5) spacing. Outside the span of the centres
    (between a wall and the first centre) the value clamps to the edge voxel; a NaN
    position also maps to the edge so that no index can leave the array.
    """
    if n < 2:
        return 0, 0.0
    u = (x - origin) / spacing - 0.5
    if u > 0.0 and u < n - 1:
        i0 = int(math.floor(u))
        if i0 > n - 2:  # guard against rounding just below n - 1
            i0 = n - 2
        return i0, u - i0
    if u >= n - 1:
        return n - 2, 1.0
    return 0, 0.0


@numba.njit(cache=True, inline="always")
def sample(
    sense: np.ndarray,
    field_index: int,
    origin: np.ndarray,
    spacing: float,
    x: float,
    y: float,
    z: float,
) -> tuple[float, float, float, float]:
    """Interpolate a field and its gradient at one point.

    Trilinear interpolation between the eight surrounding voxel centres (bilinear in x, y
    when ``nz == 1``; z is then ignored). Points outside the span of the voxel centres take
    the value of the edge voxel along that axis.

    Parameters
    ----------
    sense
        ``(F, 4, nx, ny, nz)`` array from :func:`build_sense`.
    field_index
        Which field to read.
    origin
        ``(3,)`` lower corner of the grid, um.
    spacing
        Voxel edge length, um.
    x, y, z
        Position, um.

    Returns
    -------
    tuple of float
        ``(c, dc/dx, dc/dy, dc/dz)`` in nM and nM/um.
    """
    nx = sense.shape[2]
    ny = sense.shape[3]
    nz = sense.shape[4]
    i0, tx = _axis_weights(x, origin[0], spacing, nx)
    j0, ty = _axis_weights(y, origin[1], spacing, ny)
    k0, tz = _axis_weights(z, origin[2], spacing, nz)
    i1 = i0 + 1 if nx > 1 else i0
    j1 = j0 + 1 if ny > 1 else j0
    k1 = k0 + 1 if nz > 1 else k0
    wx0 = 1.0 - tx
    wy0 = 1.0 - ty
    wz0 = 1.0 - tz
    f = field_index
    out0 = 0.0
    out1 = 0.0
    out2 = 0.0
    out3 = 0.0
    for q in range(4):
        # bilinear in (x, y) on the lower and upper z planes, then linear in z (indexing the
        # 5-D array directly: no array views, so no reference counting in the hot loop)
        lo_plane = wy0 * (wx0 * sense[f, q, i0, j0, k0] + tx * sense[f, q, i1, j0, k0]) + ty * (
            wx0 * sense[f, q, i0, j1, k0] + tx * sense[f, q, i1, j1, k0]
        )
        if nz > 1:
            hi_plane = wy0 * (wx0 * sense[f, q, i0, j0, k1] + tx * sense[f, q, i1, j0, k1]) + ty * (
                wx0 * sense[f, q, i0, j1, k1] + tx * sense[f, q, i1, j1, k1]
            )
            v = wz0 * lo_plane + tz * hi_plane
        else:
            v = lo_plane
        if q == 0:
            out0 = v
        elif q == 1:
            out1 = v
        elif q == 2:
            out2 = v
        else:
            out3 = v
    return out0, out1, out2, out3


@numba.njit(cache=True, inline="always")
def _receptor_terms(f, gfx, gfy, gfz, n_receptors, weight, cell_length):
    """One receptor type's share of the front-back signal and of its noise variance.

    g_r = w (R / 2) L grad f  (expected difference of bound receptors, front half minus back);
    var_r = w^2 R f (1 - f)  (binomial variance of that difference, two halves of R / 2).
    """
    h = weight * 0.5 * n_receptors * cell_length
    var = weight * weight * n_receptors * f * (1.0 - f)
    if var < 0.0:  # f outside [0, 1] only through rounding or bad input
        var = 0.0
    return h * gfx, h * gfy, h * gfz, var


@numba.njit(cache=True, inline="always")
def _saturating_drift(gx, gy, gz, var, v_chem, n_half, noise_scale, xi0, xi1, xi2, ndim):
    """Drift velocity from the summed signal: v_d = v_chem m / (n_half + |m|).

    m = g + noise_scale sqrt(var) xi on the active axes; in 2-D the z component is 0.
    """
    s = noise_scale * math.sqrt(var)
    mx = gx + s * xi0
    my = gy + s * xi1
    mz = gz + s * xi2 if ndim == 3 else 0.0
    norm = math.sqrt(mx * mx + my * my + mz * mz)
    den = n_half + norm
    if not den > 0.0:  # no signal and n_half = 0: no drift
        return 0.0, 0.0, 0.0
    k = v_chem / den
    return k * mx, k * my, k * mz


@numba.njit(cache=True)
def chemotactic_drift(
    grad_f: np.ndarray,
    f: np.ndarray,
    receptors: np.ndarray,
    weight: np.ndarray,
    v_chem: float,
    n_half: float,
    cell_length: float,
    noise_scale: float,
    xi: np.ndarray,
    ndim: int,
) -> np.ndarray:
    """Chemotactic drift velocity of one cell from its receptor occupancies.

    Parameters
    ----------
    grad_f
        ``(R, 3)`` occupancy gradient per receptor type, 1/um.
    f
        ``(R,)`` occupancy per receptor type.
    receptors
        ``(R,)`` receptor numbers.
    weight
        ``(R,)`` signalling weights (1 chemotactic, 0 non-signalling, times the antagonist
        factor 1 / (1 + I / IC50)).
    v_chem
        Maximal drift speed, um/min.
    n_half
        Signal (front-back difference of bound receptors) giving half the maximal drift.
    cell_length
        Length L over which the cell compares occupancy, um.
    noise_scale
        Multiplier of the binding noise (0: deterministic).
    xi
        ``(3,)`` standard normal numbers for the binding noise.
    ndim
        2 or 3; in 2-D the z component of the result is 0.

    Returns
    -------
    numpy.ndarray
        ``(3,)`` drift velocity, um/min:
        v_d = v_chem m / (n_half + |m|), m = sum_r w_r (R_r / 2) L grad f_r
        + noise_scale sqrt(sum_r w_r^2 R_r f_r (1 - f_r)) xi.
    """
    gx = 0.0
    gy = 0.0
    gz = 0.0
    var = 0.0
    for r in range(f.shape[0]):
        ax, ay, az, av = _receptor_terms(
            f[r], grad_f[r, 0], grad_f[r, 1], grad_f[r, 2], receptors[r], weight[r], cell_length
        )
        gx += ax
        gy += ay
        gz += az
        var += av
    vx, vy, vz = _saturating_drift(
        gx, gy, gz, var, v_chem, n_half, noise_scale, xi[0], xi[1], xi[2], ndim
    )
    out = np.empty(3)
    out[0] = vx
    out[1] = vy
    out[2] = vz
    return out


@numba.njit(cache=True, inline="always")
def cell_drift(
    sense: np.ndarray,
    origin: np.ndarray,
    spacing: float,
    x: float,
    y: float,
    z: float,
    receptors: np.ndarray,
    cell: int,
    ligand: np.ndarray,
    kd: np.ndarray,
    weight: np.ndarray,
    v_chem: float,
    n_half: float,
    cell_length: float,
    noise_scale: float,
    xi0: float,
    xi1: float,
    xi2: float,
    ndim: int,
) -> tuple[float, float, float]:
    """Chemotactic drift of one cell at (x, y, z), read from the sampled fields.

    Samples each receptor's field with :func:`sample` (negative concentrations, a solver
    undershoot, count as 0), forms f and grad f, and combines them with the same core as
    :func:`chemotactic_drift`; no arrays are allocated.

    Parameters
    ----------
    sense, origin, spacing
        Sampled fields and grid geometry, as for :func:`sample`.
    x, y, z
        Cell position, um.
    receptors, cell
        ``(N, R)`` receptor numbers of all cells, and the row of this one (passed whole:
        a row view would cost reference counting in the hot loop).
    ligand, kd, weight
        ``(R,)`` field index, Kd (nM) and signalling weight per receptor type.
    v_chem, n_half, cell_length, noise_scale, ndim
        As for :func:`chemotactic_drift`.
    xi0, xi1, xi2
        Standard normal numbers for the binding noise.

    Returns
    -------
    tuple of float
        ``(vx, vy, vz)`` drift velocity, um/min (vz = 0 in 2-D).
    """
    gx = 0.0
    gy = 0.0
    gz = 0.0
    var = 0.0
    for r in range(ligand.shape[0]):
        if weight[r] == 0.0:  # a non-signalling receptor adds neither signal nor noise
            continue
        c, dcx, dcy, dcz = sample(sense, ligand[r], origin, spacing, x, y, z)
        if c < 0.0:  # solver undershoot: no negative concentrations
            c = 0.0
        f = occupancy(c, kd[r])
        s = occupancy_gradient(c, 1.0, kd[r])  # Kd / (c + Kd)^2
        ax, ay, az, av = _receptor_terms(
            f, s * dcx, s * dcy, s * dcz, receptors[cell, r], weight[r], cell_length
        )
        gx += ax
        gy += ay
        gz += az
        var += av
    return _saturating_drift(gx, gy, gz, var, v_chem, n_half, noise_scale, xi0, xi1, xi2, ndim)
