"""Cell motility: one time step of every migrating cell (fused, parallel Numba kernel).

Each cell moves as a persistent random walk (Ornstein-Uhlenbeck velocity with RMS speed s and
persistence time tau) around its chemotactic drift v_d, which it computes from the receptor
occupancy gradients it senses (:mod:`tropism.world.sensing`), plus an optional mechanical push
from overlapping neighbours (:mod:`tropism.world.mechanics`). Cells reflect off the box walls.
All per-cell work (take its random numbers, sample the fields and their gradients, sense,
move, resolve walls, accumulate the path) happens in one pass over the arrays, in a ``prange``
loop that writes only row i: results are bit-identical on any number of threads.

Array layout (the contract with :mod:`tropism.world.cells` and the engine):

- ``pos``, ``vel``: float64 ``(N, 3)``; in 2-D (``ndim = 2``) the z column is 0 and is never
  touched;
- ``path``: float64 ``(N,)`` accumulated path length, um;
- ``state``: int8 ``(N,)``; only cells with state 0 (migrating) move;
- ``receptors``: float64 ``(N, R)``; ``ligand`` int64 ``(R,)``; ``kd``, ``weight`` float64
  ``(R,)``;
- ``sense``: float64 ``(F, 4, nx, ny, nz)`` from :func:`build_sense`;
- ``origin``, ``lo``, ``hi``: float64 ``(3,)``;
- ``speed_scale``: float64 ``(N,)`` per-cell multiplier of the random speed (chemokinesis;
  ones by default);
- ``push``: float64 ``(N, 3)`` displacement added in this step (mechanics), or ``(0, 3)`` for
  none;
- ``ids``: int64 ``(N,)`` cell ids; ``key``: uint64 ``(2,)`` stream key; ``step``, ``stream``:
  counter words of :mod:`tropism.world.streams`;
- ``xi_move``, ``xi_sense``: float64 ``(N, 3)`` standard normal numbers given by the caller,
  or ``(0, 3)``: then each cell draws its own from its counter-based stream
  (:func:`tropism.world.streams.cell_normals`, counter ``(ids[i], step, block, stream)``;
  block 0 holds the x, y kicks and the x, y sensing numbers, block 1 the z ones in 3-D).
  Kernels never use thread-local generators, so results do not depend on threads.

Extending the kernel (receptor kinetics, chemokinesis, ligand uptake): add per-cell arrays and
constants to :func:`step_cells` and the per-cell work to :func:`_move_cell`; inside the loop
write only row i of per-cell arrays, and scatter onto the grid (uptake) in a separate serial
pass, so that results stay independent of threads.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from tropism.world.parallel import parallel_chunks
from tropism.world.sensing import (
    build_sense,
    cell_drift,
    chemotactic_drift,
    occupancy,
    occupancy_gradient,
    sample,
)
from tropism.world.streams import cell_words, normal_from_u32

__all__ = [
    "PARALLEL_MIN_CELLS",
    "build_sense",
    "chemotactic_drift",
    "occupancy",
    "occupancy_gradient",
    "reflect",
    "sample",
    "step_cells",
]


PARALLEL_MIN_CELLS = 4096
"""Fewest cells for which :func:`step_cells` runs on several threads. A parallel launch
costs tens of microseconds on an idle machine (the work of a few hundred cells), but up to
milliseconds when the cores are shared with other processes; from ~4000 cells it pays
either way."""


@numba.njit(cache=True, inline="always")
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


@numba.njit(cache=True, inline="always")
def _move_cell(
    i,
    pos,
    vel,
    path,
    receptors,
    ligand,
    kd,
    weight,
    sense,
    origin,
    spacing,
    lo,
    hi,
    ndim,
    dt,
    a,
    kick,
    v_chem,
    n_half,
    cell_length,
    noise_scale,
    speed_scale,
    push,
    xm0,
    xm1,
    xm2,
    xs0,
    xs1,
    xs2,
):
    """All the work of one cell for one step; writes row i only (see :func:`step_cells`)."""
    vdx, vdy, vdz = cell_drift(
        sense,
        origin,
        spacing,
        pos[i, 0],
        pos[i, 1],
        pos[i, 2],
        receptors,
        i,
        ligand,
        kd,
        weight,
        v_chem,
        n_half,
        cell_length,
        noise_scale,
        xs0,
        xs1,
        xs2,
        ndim,
    )
    k = kick * speed_scale[i]
    pushed = push.shape[0] > 0
    step2 = 0.0
    for ax in range(ndim):
        if ax == 0:
            vd = vdx
            xi = xm0
        elif ax == 1:
            vd = vdy
            xi = xm1
        else:
            vd = vdz
            xi = xm2
        v_old = vel[i, ax]
        v_new = vd + (v_old - vd) * a + k * xi
        dx = 0.5 * (v_old + v_new) * dt
        if pushed:
            dx += push[i, ax]
        step2 += dx * dx
        x_new, v_new = reflect(pos[i, ax] + dx, v_new, lo[ax], hi[ax])
        pos[i, ax] = x_new
        vel[i, ax] = v_new
    path[i] += math.sqrt(step2)


@numba.njit(cache=True)
def _check_step(pos, vel, path, state, receptors, ligand, kd, weight, sense, origin, lo, hi,
                ndim, speed_scale, push, ids, key, xi_move, xi_sense):  # fmt: skip
    """Raise ValueError unless the arrays of :func:`step_cells` agree."""
    n = pos.shape[0]
    n_types = ligand.shape[0]
    if ndim != 2 and ndim != 3:
        raise ValueError("ndim must be 2 or 3")
    given = xi_move.shape[0] > 0
    if (
        pos.shape[1] != 3
        or vel.shape[0] != n
        or vel.shape[1] != 3
        or path.shape[0] != n
        or state.shape[0] != n
        or receptors.shape[0] != n
        or speed_scale.shape[0] != n
        or (push.shape[0] != n and push.shape[0] != 0)
        or push.shape[1] != 3
        or (given and (xi_move.shape[0] != n or xi_sense.shape[0] != n))
        or (not given and (ids.shape[0] != n or key.shape[0] != 2))
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


@numba.njit(cache=True)
def _step_range(
    start,
    stop,
    pos,
    vel,
    path,
    state,
    receptors,
    ligand,
    kd,
    weight,
    sense,
    origin,
    spacing,
    lo,
    hi,
    ndim,
    dt,
    tau,
    speed,
    v_chem,
    n_half,
    cell_length,
    noise_scale,
    speed_scale,
    push,
    ids,
    key,
    step,
    stream,
    xi_move,
    xi_sense,
):
    """Cells ``start`` to ``stop - 1`` of :func:`step_cells` (serial)."""
    if tau > 0.0:
        a = math.exp(-dt / tau)
        # 1 - a^2 = -expm1(-2 dt / tau), accurate also for dt << tau
        kick = speed / math.sqrt(ndim) * math.sqrt(-math.expm1(-2.0 * dt / tau))
    else:
        a = 0.0
        kick = speed / math.sqrt(ndim)
    given = xi_move.shape[0] > 0
    noisy = noise_scale != 0.0
    k0 = key[0] if not given else np.uint64(0)
    k1 = key[1] if not given else np.uint64(0)
    for i in range(start, stop):
        if state[i] != 0:
            continue
        if given:
            xm0, xm1, xm2 = xi_move[i, 0], xi_move[i, 1], xi_move[i, 2]
            xs0, xs1, xs2 = xi_sense[i, 0], xi_sense[i, 1], xi_sense[i, 2]
        else:
            # block 0: kicks x, y and sensing x, y; in 3-D the z numbers come from block 1
            # (the same numbers as cell_normals; sensing words are converted only when the
            # binding noise is on)
            w0, w1, w2, w3 = cell_words(k0, k1, ids[i], step, 0, stream)
            xm0 = normal_from_u32(w0)
            xm1 = normal_from_u32(w1)
            xm2 = 0.0
            xs0 = 0.0
            xs1 = 0.0
            xs2 = 0.0
            if noisy:
                xs0 = normal_from_u32(w2)
                xs1 = normal_from_u32(w3)
            if ndim == 3:
                w0, w1, _, _ = cell_words(k0, k1, ids[i], step, 1, stream)
                xm2 = normal_from_u32(w0)
                if noisy:
                    xs2 = normal_from_u32(w1)
        _move_cell(
            i,
            pos,
            vel,
            path,
            receptors,
            ligand,
            kd,
            weight,
            sense,
            origin,
            spacing,
            lo,
            hi,
            ndim,
            dt,
            a,
            kick,
            v_chem,
            n_half,
            cell_length,
            noise_scale,
            speed_scale,
            push,
            xm0,
            xm1,
            xm2,
            xs0,
            xs1,
            xs2,
        )


@numba.njit(cache=True, parallel=True)
def _step_parallel(
    n_chunks,
    pos,
    vel,
    path,
    state,
    receptors,
    ligand,
    kd,
    weight,
    sense,
    origin,
    spacing,
    lo,
    hi,
    ndim,
    dt,
    tau,
    speed,
    v_chem,
    n_half,
    cell_length,
    noise_scale,
    speed_scale,
    push,
    ids,
    key,
    step,
    stream,
    xi_move,
    xi_sense,
):
    """:func:`_step_range` over ``n_chunks`` contiguous chunks of cells in a prange loop."""
    n = pos.shape[0]
    for c in numba.prange(n_chunks):
        _step_range(
            c * n // n_chunks,
            (c + 1) * n // n_chunks,
            pos,
            vel,
            path,
            state,
            receptors,
            ligand,
            kd,
            weight,
            sense,
            origin,
            spacing,
            lo,
            hi,
            ndim,
            dt,
            tau,
            speed,
            v_chem,
            n_half,
            cell_length,
            noise_scale,
            speed_scale,
            push,
            ids,
            key,
            step,
            stream,
            xi_move,
            xi_sense,
        )


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
    speed_scale: np.ndarray,
    push: np.ndarray,
    ids: np.ndarray,
    key: np.ndarray,
    step: int,
    stream: int,
    xi_move: np.ndarray,
    xi_sense: np.ndarray,
) -> None:
    """Advance every migrating cell by one step ``dt`` (in place, parallel over cells).

    Per cell, in one pass: take its standard normal numbers (given, or drawn from its
    counter-based stream), sample the fields at the cell and compute the chemotactic drift
    v_d (:func:`tropism.world.sensing.cell_drift`), update the velocity with the exact
    Ornstein-Uhlenbeck transition

        a = exp(-dt / tau),  v' = v_d + (v - v_d) a + q sigma sqrt(1 - a^2) xi_move,
        sigma = speed / sqrt(ndim)   (so <|v|^2> = (q speed)^2 without drift),

    with q = ``speed_scale[i]``, move by the trapezoid dx = (v + v') dt / 2 plus the push,
    reflect off the walls ``lo``/``hi`` (flipping that velocity component) and add the step
    length |dx| to ``path`` (the length of the path actually travelled, also when it was
    folded at a wall). Only the first ``ndim`` axes change. Cells with ``state != 0`` are
    skipped.

    With more than one Numba thread and at least :data:`PARALLEL_MIN_CELLS` cells the cells
    are split into contiguous chunks run in a ``prange`` loop; otherwise one thread does
    them all (a parallel launch costs more than it saves for few cells). Every cell does
    the same arithmetic either way, so the results are bit-identical.

    Parameters
    ----------
    pos, vel, path, state, receptors, ligand, kd, weight, sense, origin, lo, hi, speed_scale,
    push, ids, key, xi_move, xi_sense
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
    step, stream
        Counter words of the random streams (used only when ``xi_move`` has 0 rows).

    Raises
    ------
    ValueError
        If the array shapes disagree, ``origin``/``lo``/``hi`` do not have 3 components,
        ``ndim`` is not 2 or 3, or a ligand index is not a field of ``sense``.
    """
    _check_step(pos, vel, path, state, receptors, ligand, kd, weight, sense, origin, lo, hi,
                ndim, speed_scale, push, ids, key, xi_move, xi_sense)  # fmt: skip
    args = (pos, vel, path, state, receptors, ligand, kd, weight, sense, origin,
            float(spacing), lo, hi, int(ndim), float(dt), float(tau), float(speed),
            float(v_chem), float(n_half), float(cell_length), float(noise_scale),
            speed_scale, push, ids, key, int(step), int(stream), xi_move, xi_sense)  # fmt: skip
    n = pos.shape[0]
    chunks = parallel_chunks(n, PARALLEL_MIN_CELLS)
    if chunks > 1:
        _step_parallel(chunks, *args)
    else:
        _step_range(0, n, *args)
