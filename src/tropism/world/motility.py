"""Cell motility: one time step of every migrating cell (Numba kernel).

Each cell moves as a persistent random walk (Ornstein-Uhlenbeck velocity with RMS speed s and
persistence time tau) around its chemotactic drift v_d, which it computes from the receptor
occupancy gradients it senses (:mod:`tropism.world.sensing`). Cells reflect off the box walls.

Array layout (the contract with :mod:`tropism.world.cells` and the engine):

- ``pos``, ``vel``: float64 ``(N, 3)``; in 2-D (``ndim = 2``) the z column is 0 and is never
  touched;
- ``path``: float64 ``(N,)`` accumulated path length, um;
- ``state``: int8 ``(N,)``; only cells with state 0 (migrating) move;
- ``receptors``: float64 ``(N, R)``; ``ligand`` int64 ``(R,)``; ``kd``, ``weight`` float64
  ``(R,)``;
- ``sense``: float64 ``(F, 4, nx, ny, nz)`` from :func:`build_sense`;
- ``origin``, ``lo``, ``hi``: float64 ``(3,)``;
- ``xi_move``, ``xi_sense``: float64 ``(N, 3)`` standard normal numbers drawn in bulk by the
  caller's ``numpy.random.Generator`` (kernels never draw random numbers, so results do not
  depend on threads).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from tropism.world.sensing import (
    build_sense,
    cell_drift,
    chemotactic_drift,
    occupancy,
    occupancy_gradient,
    sample,
)

__all__ = [
    "build_sense",
    "chemotactic_drift",
    "occupancy",
    "occupancy_gradient",
    "reflect",
    "sample",
    "step_cells",
]


@numba.njit(cache=True)
def reflect(x: float, v: float, lo: float, hi: float) -> tuple[float, float]:
    """Reflect a coordinate into ``[lo, hi]``, flipping the velocity at every bounce.

    Mirrors the position in the wall it crossed (x -> 2 lo - x or 2 hi - x) until it is
    inside, however many bounces a long step takes. Overshoots of several box widths are
    first reduced by whole periods 2 (hi - lo) (two bounces: same velocity sign). A
    degenerate box (hi <= lo) pins the coordinate to ``lo``; a non-finite x is left as is.

    Parameters
    ----------
    x, v
        Coordinate (um) and velocity component (um/min) after the free step.
    lo, hi
        Wall positions, um.

    Returns
    -------
    tuple of float
        Coordinate inside ``[lo, hi]`` and the velocity component.
    """
    if not hi > lo:
        return lo, v
    if not math.isfinite(x):
        return x, v
    width = hi - lo
    if x < lo - 2.0 * width or x > hi + 2.0 * width:
        period = 2.0 * width
        x = x - period * math.floor((x - lo) / period)
    while x < lo or x > hi:
        if x < lo:
            x = 2.0 * lo - x
        else:
            x = 2.0 * hi - x
        v = -v
    return x, v


@numba.njit(cache=True)
def step_cells(
    pos: np.ndarray,
    vel: np.ndarray,
    path: np.ndarray,
    state: np.ndarray,
    receptors: np.ndarray,
    ligand: np.ndarray,
    kd: np.ndarray,
    weight: np.ndarray,
    sense: np.ndarray,
    origin: np.ndarray,
    spacing: float,
    lo: np.ndarray,
    hi: np.ndarray,
    ndim: int,
    dt: float,
    tau: float,
    speed: float,
    v_chem: float,
    n_half: float,
    cell_length: float,
    noise_scale: float,
    xi_move: np.ndarray,
    xi_sense: np.ndarray,
) -> None:
    """Advance every migrating cell by one step ``dt`` (in place).

    Per cell, in one pass: sample the fields at the cell, compute the chemotactic drift v_d
    (:func:`tropism.world.sensing.cell_drift`), update the velocity with the exact
    Ornstein-Uhlenbeck transition

        a = exp(-dt / tau),  v' = v_d + (v - v_d) a + sigma sqrt(1 - a^2) xi_move,
        sigma = speed / sqrt(ndim)   (so <|v|^2> = speed^2 without drift),

    move by the trapezoid x' = x + (v + v') dt / 2, reflect off the walls ``lo``/``hi``
    (flipping that velocity component) and add the step length |v + v'| dt / 2 to ``path``
    (the length of the path actually travelled, also when it was folded at a wall).
    Only the first ``ndim`` axes change. Cells with ``state != 0`` are skipped.

    Parameters
    ----------
    pos, vel, path, state, receptors, ligand, kd, weight, sense, origin, lo, hi, xi_move,
    xi_sense
        Arrays laid out as described in the module docstring.
    spacing
        Voxel edge length of the grid, um.
    ndim
        2 or 3.
    dt
        Time step, min.
    tau
        Persistence time, min (tau <= 0: no persistence, a = 0).
    speed
        RMS random speed, um/min.
    v_chem, n_half, cell_length, noise_scale
        Sensing constants, see :func:`tropism.world.sensing.chemotactic_drift`.

    Raises
    ------
    ValueError
        If the array shapes disagree, ``origin``/``lo``/``hi`` do not have 3 components,
        ``ndim`` is not 2 or 3, or a ligand index is not a field of ``sense``.
    """
    n = pos.shape[0]
    n_types = ligand.shape[0]
    if ndim != 2 and ndim != 3:
        raise ValueError("ndim must be 2 or 3")
    if (
        pos.shape[1] != 3
        or vel.shape[0] != n
        or vel.shape[1] != 3
        or path.shape[0] != n
        or state.shape[0] != n
        or receptors.shape[0] != n
        or xi_move.shape[0] != n
        or xi_sense.shape[0] != n
        or xi_move.shape[1] != 3
        or xi_sense.shape[1] != 3
    ):
        raise ValueError("cell arrays must be (N, 3) or (N,) with the same N")
    if origin.shape[0] != 3 or lo.shape[0] != 3 or hi.shape[0] != 3:
        raise ValueError("origin, lo and hi must have 3 components")
    if receptors.shape[1] != n_types or kd.shape[0] != n_types or weight.shape[0] != n_types:
        raise ValueError("receptors, ligand, kd and weight must agree on the number of types")
    for r in range(n_types):
        if ligand[r] < 0 or ligand[r] >= sense.shape[0]:
            raise ValueError("ligand index out of range of the sensed fields")

    if tau > 0.0:
        a = math.exp(-dt / tau)
        # 1 - a^2 = -expm1(-2 dt / tau), accurate also for dt << tau
        kick = speed / math.sqrt(ndim) * math.sqrt(-math.expm1(-2.0 * dt / tau))
    else:
        a = 0.0
        kick = speed / math.sqrt(ndim)

    # one fused pass per cell; only row i is written, so this loop can become prange
    for i in range(n):
        if state[i] != 0:
            continue
        vdx, vdy, vdz = cell_drift(
            sense,
            origin,
            spacing,
            pos[i, 0],
            pos[i, 1],
            pos[i, 2],
            receptors[i],
            ligand,
            kd,
            weight,
            v_chem,
            n_half,
            cell_length,
            noise_scale,
            xi_sense[i, 0],
            xi_sense[i, 1],
            xi_sense[i, 2],
            ndim,
        )
        step2 = 0.0
        for ax in range(ndim):
            if ax == 0:
                vd = vdx
            elif ax == 1:
                vd = vdy
            else:
                vd = vdz
            v_old = vel[i, ax]
            v_new = vd + (v_old - vd) * a + kick * xi_move[i, ax]
            dx = 0.5 * (v_old + v_new) * dt
            step2 += dx * dx
            x_new, v_new = reflect(pos[i, ax] + dx, v_new, lo[ax], hi[ax])
            pos[i, ax] = x_new
            vel[i, ax] = v_new
        path[i] += math.sqrt(step2)
