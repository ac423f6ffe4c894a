"""Cell-side biology besides receptors: preconditioning, chemokinesis, arrest, secretion.

- Hypoxic preconditioning (DESIGN.md "Receptor kinetics"): culture at low pO2 raises a
  multiplier m of receptor synthesis (CXCR4, CXCR7) and of speed with a rise time; back in
  normoxia m relaxes to 1. Plain Python: it is evaluated once per population (and m(t) once
  per step), not per cell.
- Chemokinesis: receptor occupancy raises the random speed (Numba kernel).
- Arrest/engraftment in tumour tissue at a rate proportional to the local tumour density
  (Numba kernel; the caller draws the uniform random numbers).
- Secretion, e.g. TRAIL from engineered cells, into a field (Numba kernel).

Array layout as in :mod:`tropism.world.receptors`: ``pos`` float64 ``(N, 3)``, ``state`` int8
``(N,)`` (0 migrating, 1 arrested/engrafted, 2 dead), ``receptors`` float64 ``(N, R)``,
``sense`` float64 ``(F, 4, nx, ny, nz)``, grids of molecules ``(F, nx, ny, nz)``.
Engine units: um, min, nM; pO2 in mmHg.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from tropism.world.grid import WorldError
from tropism.world.receptors import voxel_index
from tropism.world.sensing import occupancy, sample

__all__ = [
    "arrest_step",
    "chemokinesis_scale",
    "hypoxic_drive",
    "preconditioning_decay",
    "preconditioning_factor",
    "secrete",
]


def _check(name: str, value: float, *, positive: bool = False, allow_inf: bool = False) -> float:
    """``value`` as a float, or a WorldError naming the argument."""
    v = float(value)
    ok = (v > 0.0 if positive else v >= 0.0) and (math.isfinite(v) or (allow_inf and v > 0))
    if not ok:
        expected = "a positive number" if positive else "a number >= 0"
        if allow_inf:
            expected += " (or inf)"
        raise WorldError(f"{name} = {value!r}: expected {expected}")
    return v


def hypoxic_drive(po2: float, threshold: float, hill: float = 4.0) -> float:
    """Fraction of the maximal hypoxic response at a given oxygen tension.

    Parameters
    ----------
    po2
        Oxygen tension, mmHg (>= 0).
    threshold
        pO2 of the half-maximal response, mmHg (> 0).
    hill
        Hill coefficient (> 0).

    Returns
    -------
    float
        H = threshold^n / (threshold^n + po2^n), 1 at anoxia, 1/2 at the threshold, -> 0 in
        normoxia. Computed as 1 / (1 + (po2 / threshold)^n), which cannot overflow.

    Raises
    ------
    WorldError
        (a ValueError) for a negative or non-finite pO2, or a non-positive threshold or hill.
    """
    po2 = _check("po2", po2)
    threshold = _check("threshold", threshold, positive=True)
    hill = _check("hill", hill, positive=True)
    return 1.0 / (1.0 + (po2 / threshold) ** hill)


def preconditioning_decay(
    m0: float | np.ndarray, t: float | np.ndarray, tau_decay: float
) -> float | np.ndarray:
    """Relaxation of a preconditioning multiplier back to 1 in normoxia.

    Parameters
    ----------
    m0
        Multiplier at t = 0.
    t
        Time in normoxia since then, min (>= 0; scalar or array).
    tau_decay
        Decay time constant, min (> 0; ``inf``: no decay).

    Returns
    -------
    float or numpy.ndarray
        m(t) = 1 + (m0 - 1) exp(-t / tau_decay) (half-life tau_decay ln 2).

    Raises
    ------
    WorldError
        (a ValueError) for a non-positive tau_decay or a negative time.
    """
    tau = _check("tau_decay", tau_decay, positive=True, allow_inf=True)
    t_arr = np.asarray(t, dtype=np.float64)
    if not np.all(t_arr >= 0.0):
        raise WorldError(f"t = {t!r}: expected times >= 0 min")
    m = 1.0 + (np.asarray(m0, dtype=np.float64) - 1.0) * np.exp(-t_arr / tau)
    return float(m) if np.ndim(m) == 0 else m


def preconditioning_factor(
    po2: float,
    duration: float,
    reoxygenation: float,
    fold_max: float,
    tau_rise: float,
    tau_decay: float,
    threshold: float,
    hill: float = 4.0,
) -> float:
    """Expression (or speed) multiplier after hypoxic preconditioning in culture.

    Parameters
    ----------
    po2
        Oxygen tension of the preconditioning culture, mmHg (1 % O2 is about 7 mmHg).
    duration
        Time at that pO2, min.
    reoxygenation
        Time back in normoxia before the cells are used, min.
    fold_max
        Multiplier reached after long culture at anoxia (> 1 raises, < 1 lowers).
    tau_rise
        Rise time constant during hypoxia, min (0: immediate).
    tau_decay
        Decay time constant after reoxygenation, min (> 0; ``inf``: no decay).
    threshold, hill
        Half-maximal pO2 (mmHg) and Hill coefficient of the drive, see :func:`hypoxic_drive`.

    Returns
    -------
    float
        m = 1 + (m_end - 1) exp(-reoxygenation / tau_decay) with
        m_end = 1 + (fold_max - 1) H (1 - exp(-duration / tau_rise)) and
        H = threshold^n / (threshold^n + po2^n). Culture for 0 min gives 1; the decay
        continues during the run through :func:`preconditioning_decay`, so
        ``preconditioning_factor(..., reoxygenation=a + b)`` equals
        ``preconditioning_decay(preconditioning_factor(..., reoxygenation=a), b, tau_decay)``.

    Raises
    ------
    WorldError
        (a ValueError) for a negative time, pO2 or fold_max, or a non-positive threshold, hill
        or tau_decay.
    """
    duration = _check("duration", duration)
    reoxygenation = _check("reoxygenation", reoxygenation)
    fold_max = _check("fold_max", fold_max)
    tau_rise = _check("tau_rise", tau_rise)
    h = hypoxic_drive(po2, threshold, hill)
    if tau_rise > 0.0:
        rise = -math.expm1(-duration / tau_rise)
    else:
        rise = 1.0 if duration > 0.0 else 0.0
    m_end = 1.0 + (fold_max - 1.0) * h * rise
    return preconditioning_decay(m_end, reoxygenation, tau_decay)


@numba.njit(cache=True)
def chemokinesis_scale(
    receptors: np.ndarray,
    pos: np.ndarray,
    state: np.ndarray,
    sense: np.ndarray,
    origin: np.ndarray,
    spacing: float,
    ligand: np.ndarray,
    kd: np.ndarray,
    weight: np.ndarray,
    gain: float,
    out: np.ndarray,
) -> None:
    """Random-speed multiplier of each cell from its receptor occupancy (chemokinesis).

    out_i = 1 + gain * sum_r w_r f_r / n_s, where f_r = c / (c + Kd) is sampled at the cell
    (negative concentrations count as 0), w_r the signalling weight (1 signalling, 0
    non-signalling such as CXCR7, times 1 / (1 + I / IC50) under an antagonist) and n_s the
    number of receptor types with w_r > 0. Without an antagonist (weights 0 or 1) this is
    1 + gain * sum_r w_r f_r / sum_r w_r, the mean occupancy of the signalling receptors; an
    antagonist lowers the response through w_r (normalising by sum_r w_r instead would cancel it
    for a single receptor type). A receptor type the cell lacks (R_ir = 0, a knock-out)
    contributes nothing; otherwise the response depends on occupancy, not on receptor number.
    With no signalling receptor type, out = 1. Cells that are not migrating (state != 0) get 1.

    Parameters
    ----------
    receptors
        ``(N, R)`` receptor numbers.
    pos, state
        ``(N, 3)`` positions (um) and ``(N,)`` states.
    sense, origin, spacing
        Sampled fields and grid geometry, as for :func:`tropism.world.sensing.sample`.
    ligand, kd, weight
        ``(R,)`` field index, Kd (nM) and signalling weight per receptor type.
    gain
        Relative speed increase at full occupancy of every signalling receptor.
    out
        ``(N,)`` speed multipliers, written.

    Raises
    ------
    ValueError
        If the array shapes disagree or a ligand index is not a field of ``sense``.
    """
    n = pos.shape[0]
    n_types = ligand.shape[0]
    if pos.shape[1] != 3 or state.shape[0] != n or receptors.shape[0] != n or out.shape[0] != n:
        raise ValueError("pos (N, 3), state (N,), receptors (N, R) and out (N,) disagree on N")
    if receptors.shape[1] != n_types or kd.shape[0] != n_types or weight.shape[0] != n_types:
        raise ValueError("receptors, ligand, kd and weight disagree on R")
    if origin.shape[0] != 3:
        raise ValueError("origin must have 3 components")
    for r in range(n_types):
        if ligand[r] < 0 or ligand[r] >= sense.shape[0]:
            raise ValueError("ligand index out of range of the sensed fields")
    n_signal = 0
    for r in range(n_types):
        if weight[r] > 0.0:
            n_signal += 1
    for i in range(n):
        out[i] = 1.0
        if state[i] != 0 or n_signal == 0:
            continue
        total = 0.0
        for r in range(n_types):
            if not weight[r] > 0.0 or not receptors[i, r] > 0.0:
                continue
            c = sample(sense, ligand[r], origin, spacing, pos[i, 0], pos[i, 1], pos[i, 2])[0]
            if c < 0.0:
                c = 0.0
            total += weight[r] * occupancy(c, kd[r])
        out[i] = 1.0 + gain * total / n_signal


@numba.njit(cache=True)
def arrest_step(
    pos: np.ndarray,
    state: np.ndarray,
    sense: np.ndarray,
    origin: np.ndarray,
    spacing: float,
    tumour_index: int,
    rate: float,
    dt: float,
    uniforms: np.ndarray,
) -> int:
    """Arrest (engraft) migrating cells in tumour tissue.

    A migrating cell (state 0) arrests (state -> 1) when ``uniforms[i] < 1 - exp(-rate u dt)``,
    u the tumour density fraction sampled at the cell from field ``tumour_index`` of ``sense``
    (clipped to [0, 1]): a Poisson process of rate ``rate u`` over the step.

    Parameters
    ----------
    pos, state
        ``(N, 3)`` positions (um) and ``(N,)`` states; ``state`` is updated in place.
    sense, origin, spacing
        Sampled fields and grid geometry, as for :func:`tropism.world.sensing.sample`.
    tumour_index
        Field of ``sense`` holding the tumour density as a fraction of the packing density.
    rate
        Arrest rate in fully packed tumour, 1/min.
    dt
        Time step, min.
    uniforms
        ``(N,)`` U(0, 1) random numbers drawn by the caller.

    Returns
    -------
    int
        Number of cells that arrested in this step.

    Raises
    ------
    ValueError
        If the array shapes disagree or ``tumour_index`` is not a field of ``sense``.
    """
    n = pos.shape[0]
    if pos.shape[1] != 3 or state.shape[0] != n or uniforms.shape[0] != n:
        raise ValueError("pos (N, 3), state (N,) and uniforms (N,) disagree on N")
    if origin.shape[0] != 3:
        raise ValueError("origin must have 3 components")
    if tumour_index < 0 or tumour_index >= sense.shape[0]:
        raise ValueError("tumour_index out of range of the sensed fields")
    arrested = 0
    for i in range(n):
        if state[i] != 0:
            continue
        u = sample(sense, tumour_index, origin, spacing, pos[i, 0], pos[i, 1], pos[i, 2])[0]
        if u < 0.0:
            u = 0.0
        elif u > 1.0:
            u = 1.0
        p = -math.expm1(-rate * u * dt)
        if uniforms[i] < p:
            state[i] = 1
            arrested += 1
    return arrested


@numba.njit(cache=True)
def secrete(
    pos: np.ndarray,
    state: np.ndarray,
    origin: np.ndarray,
    spacing: float,
    rate: float,
    dt: float,
    out_index: int,
    out: np.ndarray,
) -> None:
    """Each living cell adds ``rate * dt`` molecules to the voxel containing it.

    Living cells are those with state 0 (migrating) or 1 (arrested/engrafted); the voxel is
    found by :func:`tropism.world.receptors.voxel_index` (clamped to the grid). One serial loop,
    so the result is deterministic. Used for TRAIL from engineered cells.

    Parameters
    ----------
    pos, state
        ``(N, 3)`` positions (um) and ``(N,)`` states.
    origin
        ``(3,)`` lower corner of the grid, um.
    spacing
        Voxel edge length, um.
    rate
        Secretion rate, molecules per cell per min.
    dt
        Time step, min.
    out_index
        Field of ``out`` to add to.
    out
        ``(F, nx, ny, nz)`` molecules per voxel; the kernel adds to it.

    Raises
    ------
    ValueError
        If the array shapes disagree or ``out_index`` is not a field of ``out``.
    """
    n = pos.shape[0]
    if pos.shape[1] != 3 or state.shape[0] != n:
        raise ValueError("pos (N, 3) and state (N,) disagree on N")
    if origin.shape[0] != 3:
        raise ValueError("origin must have 3 components")
    if out_index < 0 or out_index >= out.shape[0]:
        raise ValueError("out_index out of range of the output fields")
    amount = rate * dt
    nx = out.shape[1]
    ny = out.shape[2]
    nz = out.shape[3]
    for i in range(n):
        if state[i] != 0 and state[i] != 1:
            continue
        vi, vj, vk = voxel_index(pos[i, 0], pos[i, 1], pos[i, 2], origin, spacing, nx, ny, nz)
        out[out_index, vi, vj, vk] += amount
