"""Receptor kinetics and ligand uptake by cells (Numba kernels).

Each receptor type ``r`` of a cell follows (DESIGN.md, "Receptor kinetics")

    dR/dt = k_syn m(t) - k_int f R - k_deg R,     f = c / (c + Kd),

where ``c`` is the concentration of the receptor's ligand at the cell, ``k_syn m(t)`` the
synthesis rate (receptors per min; ``m`` the preconditioning or engineering multiplier, computed
by the caller), ``k_int`` the ligand-driven internalisation rate and ``k_deg`` the constitutive
loss. Every receptor internalised with its ligand takes one ligand molecule out of the field:
cells are sinks as well as sensors.

A *scavenger* receptor (CXCR7/ACKR3) cycles constitutively: its surface number stays constant
and it clears ligand at the first-order rate ``k_int f R`` (naumann2010: CXCL12 degradation by
CXCR7 did not saturate as ligand rose).

Array layout (shared with :mod:`tropism.world.motility` and the engine):

- ``pos`` float64 ``(N, 3)`` (z = 0 in 2-D), ``state`` int8 ``(N,)`` (0 migrating,
  1 arrested/engrafted, 2 dead), ``receptors`` float64 ``(N, R)``;
- ``ligand`` int64 ``(R,)``: the field each receptor type reads; ``kd``, ``k_int``, ``k_deg``
  float64 ``(R,)``; ``scavenger`` bool ``(R,)``;
- ``sense`` float64 ``(F, 4, nx, ny, nz)`` from :func:`tropism.world.sensing.build_sense`;
- ``uptake`` float64 ``(F, nx, ny, nz)``: molecules taken up per voxel, added to by the kernel.

Engine units: um, min, nM; receptor and ligand amounts in molecules.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from tropism.world.sensing import occupancy, sample

__all__ = [
    "AVOGADRO",
    "molecules_to_nM",
    "nM_to_molecules",
    "receptor_step",
    "relaxation",
    "steady_synthesis",
    "voxel_index",
]

AVOGADRO = 6.02214076e23
"""Avogadro constant, 1/mol (exact, SI 2019)."""

_UM3_TO_L = 1e-15  # 1 um^3 = 1 fL = 1e-15 L


def molecules_to_nM(molecules: float | np.ndarray, voxel_volume_um3: float) -> float | np.ndarray:
    """Concentration of a number of molecules spread over a volume.

    Parameters
    ----------
    molecules
        Number of molecules (scalar or array, e.g. the ``uptake`` array of
        :func:`receptor_step`).
    voxel_volume_um3
        Volume, um^3 (in 2-D: the voxel area times the assumed layer thickness).

    Returns
    -------
    float or numpy.ndarray
        Concentration, nM: n / (N_A V[L]) * 1e9 with V[L] = V[um^3] * 1e-15
        (one molecule in 1 um^3 is 1.66 nM).
    """
    return molecules / (AVOGADRO * voxel_volume_um3 * _UM3_TO_L) * 1e9


def nM_to_molecules(
    concentration: float | np.ndarray, voxel_volume_um3: float
) -> float | np.ndarray:
    """Number of molecules at a concentration in a volume (inverse of :func:`molecules_to_nM`).

    Parameters
    ----------
    concentration
        Concentration, nM.
    voxel_volume_um3
        Volume, um^3.

    Returns
    -------
    float or numpy.ndarray
        Molecules: c[nM] * 1e-9 * N_A * V[um^3] * 1e-15.
    """
    return concentration * 1e-9 * AVOGADRO * voxel_volume_um3 * _UM3_TO_L


def steady_synthesis(receptors0: np.ndarray, k_deg: np.ndarray) -> np.ndarray:
    """Synthesis rate that holds the receptor number at ``receptors0`` without ligand.

    Parameters
    ----------
    receptors0
        Receptor numbers, ``(N, R)`` or ``(R,)``.
    k_deg
        Constitutive loss rate per receptor type, 1/min, ``(R,)``.

    Returns
    -------
    numpy.ndarray
        float64 synthesis rate, receptors per min, shaped like ``receptors0``:
        k_syn = k_deg R0 (the zero of dR/dt at f = 0). Multiply by the cell's expression
        multiplier m to get the ``synthesis`` argument of :func:`receptor_step`.
    """
    return np.asarray(receptors0, dtype=np.float64) * np.asarray(k_deg, dtype=np.float64)


@numba.njit(cache=True)
def voxel_index(
    x: float,
    y: float,
    z: float,
    origin: np.ndarray,
    spacing: float,
    nx: int,
    ny: int,
    nz: int,
) -> tuple[int, int, int]:
    """Voxel containing a point (the nearest voxel centre), clamped to the grid.

    Voxel ``i`` spans ``[origin + i spacing, origin + (i + 1) spacing)`` along each axis.
    Points outside the grid (and NaN coordinates) map to the nearest edge voxel, so the index
    is always valid; with ``nz == 1`` (2-D) z is ignored.

    Parameters
    ----------
    x, y, z
        Position, um.
    origin
        ``(3,)`` lower corner of the grid, um.
    spacing
        Voxel edge length, um.
    nx, ny, nz
        Grid shape.

    Returns
    -------
    tuple of int
        ``(i, j, k)``.
    """
    return (
        _axis_index(x, origin[0], spacing, nx),
        _axis_index(y, origin[1], spacing, ny),
        _axis_index(z, origin[2], spacing, nz),
    )


@numba.njit(cache=True)
def _axis_index(x, origin, spacing, n):
    if n < 2:
        return 0
    u = (x - origin) / spacing
    if u >= n:
        return n - 1
    if u >= 0.0:
        return int(u)  # floor for u >= 0; int(u) <= n - 1 since u < n
    return 0  # below the grid, or NaN


@numba.njit(cache=True)
def relaxation(x: float) -> tuple[float, float, float]:
    """The three functions of x = lam dt that solve a linear relaxation exactly.

    For dR/dt = s - lam R with constant s and lam over a step dt (x = lam dt >= 0):

        R(dt) = R a + s dt p,     integral_0^dt R = R dt p + s dt^2 g,

    with a = e^{-x}, p = (1 - e^{-x}) / x and g = (x - 1 + e^{-x}) / x^2 (p = 1, g = 1/2 at
    x = 0). ``p`` uses ``expm1``; ``g`` uses its Taylor series below x = 0.01 (truncation
    below 1e-16 relative), where the direct form would lose digits to cancellation.

    Parameters
    ----------
    x
        Non-negative product lam dt.

    Returns
    -------
    tuple of float
        ``(a, p, g)``.
    """
    if x == 0.0:
        return 1.0, 1.0, 0.5
    em1 = math.expm1(-x)  # e^{-x} - 1, accurate for small x
    a = 1.0 + em1
    p = -em1 / x
    if x < 0.01:
        # g(x) = sum_k (-x)^k / (k + 2)!
        g = 0.5 + x * (
            -1.0 / 6.0
            + x * (1.0 / 24.0 + x * (-1.0 / 120.0 + x * (1.0 / 720.0 + x * (-1.0 / 5040.0))))
        )
    else:
        g = (x + em1) / (x * x)
    return a, p, g


@numba.njit(cache=True)
def receptor_step(
    receptors: np.ndarray,
    pos: np.ndarray,
    state: np.ndarray,
    sense: np.ndarray,
    origin: np.ndarray,
    spacing: float,
    ligand: np.ndarray,
    kd: np.ndarray,
    k_int: np.ndarray,
    k_deg: np.ndarray,
    synthesis: np.ndarray,
    scavenger: np.ndarray,
    recycle: np.ndarray,
    dt: float,
    uptake: np.ndarray,
) -> None:
    """Advance every living cell's receptors by ``dt`` and record the ligand they take up.

    The occupancy f = c / (c + Kd) is sampled at the cell (:func:`tropism.world.sensing.sample`;
    negative concentrations count as 0) and held over the step; the update is then exact.

    Signalling receptor (CXCR4, CCR2, CXCR1/2), of which a fraction ``recycle`` of the
    ligand-internalised receptors returns to the surface, with
    lam = k_int f (1 - recycle) + k_deg, x = lam dt and (a, p, g) from :func:`relaxation`:

        R' = R e^{-x} + k_syn m dt p        (= R_inf + (R - R_inf) e^{-lam dt},
                                             R_inf = k_syn m / lam),
        internalised ligand = k_int f integral_0^dt R
                            = k_int f (R dt p + k_syn m dt^2 g).

    Scavenger (CXCR7): R' = R, internalised ligand = k_int f R dt.

    The internalised molecules are added to ``uptake[ligand[r]]`` at the voxel containing the
    cell (:func:`voxel_index`), in a second, serial loop over the cells, so the sum does not
    depend on how the first loop is scheduled. Cells with ``state`` 0 (migrating) or 1
    (arrested/engrafted: they still bind) take part; dead cells (any other state) do not.

    Parameters
    ----------
    receptors
        ``(N, R)`` receptor numbers, updated in place.
    pos, state
        ``(N, 3)`` positions (um) and ``(N,)`` states.
    sense, origin, spacing
        Sampled fields and grid geometry, as for :func:`tropism.world.sensing.sample`.
    ligand
        ``(R,)`` field index read by each receptor type.
    kd
        ``(R,)`` dissociation constants, nM.
    k_int
        ``(R,)`` ligand-driven internalisation rate (scavenger: ligand clearance rate per bound
        receptor), 1/min.
    k_deg
        ``(R,)`` constitutive loss rate, 1/min (unused for scavengers).
    synthesis
        ``(N, R)`` synthesis rate k_syn m of each cell, receptors per min (unused for
        scavengers).
    scavenger
        ``(R,)`` bool: True for a constitutively cycling scavenger receptor.
    recycle
        ``(R,)`` fraction of ligand-internalised receptors that return to the surface
        (signalling receptors; 0 = all degraded, the DESIGN.md one-compartment form).
    dt
        Time step, min.
    uptake
        ``(F, nx, ny, nz)`` molecules taken up per voxel and field; the kernel adds to it.

    Raises
    ------
    ValueError
        If the array shapes disagree, a ligand index is not a field of ``sense``, ``uptake``
        does not match the grid of ``sense``, or ``dt`` is negative.
    """
    n = pos.shape[0]
    n_types = ligand.shape[0]
    if pos.shape[1] != 3 or state.shape[0] != n or receptors.shape[0] != n:
        raise ValueError("pos must be (N, 3), state (N,) and receptors (N, R) with the same N")
    if synthesis.shape[0] != n or synthesis.shape[1] != n_types:
        raise ValueError("synthesis must be (N, R) like receptors")
    if (
        receptors.shape[1] != n_types
        or kd.shape[0] != n_types
        or k_int.shape[0] != n_types
        or k_deg.shape[0] != n_types
        or scavenger.shape[0] != n_types
        or recycle.shape[0] != n_types
    ):
        raise ValueError("receptors, ligand, kd, k_int, k_deg and scavenger disagree on R")
    if origin.shape[0] != 3:
        raise ValueError("origin must have 3 components")
    if (
        uptake.shape[0] != sense.shape[0]
        or uptake.shape[1] != sense.shape[2]
        or uptake.shape[2] != sense.shape[3]
        or uptake.shape[3] != sense.shape[4]
    ):
        raise ValueError("uptake must be (F, nx, ny, nz) matching sense (F, 4, nx, ny, nz)")
    for r in range(n_types):
        if ligand[r] < 0 or ligand[r] >= sense.shape[0]:
            raise ValueError("ligand index out of range of the sensed fields")
    if not dt >= 0.0:
        raise ValueError("dt must be >= 0")

    taken = np.zeros((n, n_types))
    # per cell: only row i of receptors and taken is written
    for i in range(n):
        if state[i] != 0 and state[i] != 1:
            continue
        for r in range(n_types):
            c = sample(sense, ligand[r], origin, spacing, pos[i, 0], pos[i, 1], pos[i, 2])[0]
            if c < 0.0:  # solver undershoot: no negative concentrations
                c = 0.0
            f = occupancy(c, kd[r])
            rec = receptors[i, r]
            if scavenger[r]:
                taken[i, r] = k_int[r] * f * rec * dt
                continue
            # ligand-driven endocytosis takes the ligand at k_int f R; a fraction ``recycle``
            # of those receptors returns to the surface, so R is lost at k_int f (1 - recycle)
            a, p, g = relaxation((k_int[r] * f * (1.0 - recycle[r]) + k_deg[r]) * dt)
            s = synthesis[i, r]
            receptors[i, r] = rec * a + s * dt * p
            taken[i, r] = k_int[r] * f * (rec * dt * p + s * dt * dt * g)

    # deposit serially, cell by cell, so the result is deterministic
    nx = uptake.shape[1]
    ny = uptake.shape[2]
    nz = uptake.shape[3]
    for i in range(n):
        if state[i] != 0 and state[i] != 1:
            continue
        vi, vj, vk = voxel_index(pos[i, 0], pos[i, 1], pos[i, 2], origin, spacing, nx, ny, nz)
        for r in range(n_types):
            uptake[ligand[r], vi, vj, vk] += taken[i, r]
