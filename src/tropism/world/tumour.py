"""Tumour kernels: growth and death of the tumour density, HIF-1alpha, dose-driven pulses.

The tumour is a field ``u(x) = rho / rho_max`` in [0, 1], the density of tumour cells as a fraction
of the carrying capacity, on the same cell-centred grid as the chemokines. Functions here take
arrays and numbers (engine units: um, min, mmHg for O2, Gy for dose) and return new arrays; each
update is the exact solution of its ODE with the inputs held over the step:

- :func:`grow`: ``du/dt = r g(p) u (1 - u) - k u`` with ``g(p) = p / (p + p_half)`` (growth
  limited by space and oxygen) and ``k = k_nec [p < p_nec] + k_kill`` (necrosis at anoxia, death
  by TRAIL or another killer), a Bernoulli equation with a closed form;
- :func:`lq_survival`: linear-quadratic surviving fraction after a dose;
- :func:`hif_update` / :func:`hif_drive`: ``dh/dt = k_h (H + a_T T / (T + K_T)) - h / tau_h``
  (DESIGN.md);
- :func:`pulse`: the rise and fall of a secretion after a dose (a difference of exponentials);
- :func:`trail_kill_rate`: saturating death rate from the TRAIL field;
- :func:`tumour_edge_distance`, :func:`burden`: geometry for the readouts.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy import ndimage

from tropism.world.grid import WorldError

__all__ = [
    "burden",
    "grow",
    "hif_drive",
    "hif_update",
    "lq_survival",
    "pulse",
    "pulse_peak_time",
    "trail_kill_rate",
    "tumour_edge_distance",
]


def _number(name: str, value: object, *, positive: bool = False) -> float:
    """A finite real number, >= 0 (or > 0 when ``positive``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise WorldError(f"{name} {value!r}: expected a number")
    x = float(value)
    if not math.isfinite(x) or x < 0.0 or (positive and x == 0.0):
        bound = "> 0" if positive else ">= 0"
        raise WorldError(f"{name} {value!r}: expected a finite number {bound}")
    return x


def _array(name: str, value: object, lo: float | None = 0.0) -> np.ndarray:
    """A finite float array (a scalar gives a 0-d array), every value >= ``lo`` if given."""
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise WorldError(f"{name}: every value must be finite")
    if lo is not None and np.any(arr < lo):
        raise WorldError(f"{name}: values must be >= {lo:g}, found {float(np.min(arr)):g}")
    return arr


def lq_survival(dose: np.ndarray | float, alpha: float, beta: float) -> float | np.ndarray:
    """Linear-quadratic surviving fraction ``exp(-alpha D - beta D^2)`` after one dose.

    Fractions multiply: ``n`` fractions of ``d`` survive as ``lq_survival(d, ...) ** n``.

    Parameters
    ----------
    dose
        Dose ``D``, Gy (>= 0): a number, or an array (a dose map).
    alpha
        Linear coefficient, 1/Gy (>= 0); glioma default 0.27 (fan2011; budach1995, SF2 0.5
        assumed).
    beta
        Quadratic coefficient, 1/Gy^2 (>= 0); glioma default 0.038 (alpha / beta = 7.15 Gy,
        fan2011).

    Returns
    -------
    float or numpy.ndarray
        The surviving fraction in (0, 1]: a float for a scalar dose, else an array.

    Examples
    --------
    >>> round(lq_survival(2.0, 0.27, 0.038), 2)  # SF2 = 0.5
    0.5
    """
    alpha = _number("LQ alpha", alpha)
    beta = _number("LQ beta", beta)
    d = _array("dose", dose)
    survival = np.exp(-alpha * d - beta * d * d)
    return float(survival) if survival.ndim == 0 else survival


def grow(
    u: np.ndarray,
    p: np.ndarray | float,
    dt: float,
    rate: float,
    p_half: float,
    necrosis_po2: float,
    necrosis_rate: float,
    kill_rate: np.ndarray | float = 0.0,
    capacity: np.ndarray | float = 1.0,
) -> np.ndarray:
    """Tumour density after ``dt``: oxygen-limited logistic growth, necrosis and killing.

    Solves ``du/dt = a u - r u^2`` exactly with ``r = rate g(p)``, ``g(p) = p / (p + p_half)``,
    ``a = r - k`` and ``k = necrosis_rate [p < necrosis_po2] + kill_rate``, holding ``p`` and
    ``kill_rate`` over the step (a Bernoulli equation):

        u(dt) = u0 / (e^(-a dt) + r u0 dt psi(a dt)),  psi(x) = (1 - e^(-x)) / x,  psi(0) = 1.

    This is the logistic closed form when ``k = 0`` and exponential loss when ``r = 0``; unlike
    an operator split of the two it carries no splitting error.

    Parameters
    ----------
    u
        Tumour density, fraction of carrying capacity, in [0, 1].
    p
        pO2, mmHg (>= 0): a number or an array broadcasting against ``u``.
    dt
        Step, min (>= 0).
    rate
        Maximal growth rate, 1/min (>= 0).
    p_half
        pO2 of half-maximal growth, mmHg (> 0).
    necrosis_po2
        Below this pO2 (mmHg, >= 0) cells die at ``necrosis_rate``.
    necrosis_rate
        Necrotic death rate, 1/min (>= 0).
    kill_rate
        Further death rate, 1/min (>= 0): a number or an array (e.g. from
        :func:`trail_kill_rate`).
    capacity
        Free space K in [0, 1] (default 1): growth is r g u (K - u), so space held by other
        cells (e.g. lethally irradiated ones) is not free.

    Returns
    -------
    numpy.ndarray
        The new density (a new array, broadcast shape of the inputs), in [0, 1].
    """
    u0 = _array("tumour density u", u)
    if np.any(u0 > 1.0):
        raise WorldError(f"tumour density u: values must be <= 1, found {float(np.max(u0)):g}")
    po2 = _array("pO2", p)
    kill = _array("kill rate", kill_rate)
    dt = _number("time step dt", dt)
    rate = _number("growth rate", rate)
    p_half = _number("growth half-saturation pO2", p_half, positive=True)
    necrosis_po2 = _number("necrosis pO2", necrosis_po2)
    necrosis_rate = _number("necrosis rate", necrosis_rate)

    room = _array("capacity", capacity)
    r = rate * po2 / (po2 + p_half)
    k = necrosis_rate * (po2 < necrosis_po2) + kill
    # du/dt = (r K - k) u - r u^2: a Bernoulli equation, solved exactly below
    x = (r * room - k) * dt
    # psi(x) = (1 - e^-x) / x = -expm1(-x) / x, with its limit 1 at x = 0.
    small = np.abs(x) < 1e-12
    safe_x = np.where(small, 1.0, x)
    with np.errstate(over="ignore", invalid="ignore"):
        decay = np.exp(-x)
        psi = np.where(small, 1.0, -np.expm1(-x) / safe_x)
        den = decay + r * u0 * dt * psi
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(u0 > 0.0, u0 / den, 0.0)
    # A death rate so strong that e^(-x) overflows leaves nothing.
    out = np.where(np.isfinite(den), out, 0.0)
    return np.clip(out, 0.0, 1.0)


def hif_drive(
    hypoxia: np.ndarray | float, tgf: np.ndarray | float, a_t: float, k_t: float
) -> np.ndarray:
    """Drive of HIF-1alpha, ``H + a_T T / (T + K_T)`` (DESIGN.md).

    Parameters
    ----------
    hypoxia
        Hypoxia level ``H`` in [0, 1] (see :func:`tropism.world.oxygen.hypoxia`).
    tgf
        TGF-beta concentration ``T``, nM (>= 0).
    a_t
        Weight of TGF-beta relative to full hypoxia (>= 0); 0 switches the path off.
    k_t
        TGF-beta half-saturation, nM (> 0).

    Returns
    -------
    numpy.ndarray
        The drive (dimensionless), broadcast shape of ``hypoxia`` and ``tgf``.
    """
    h = _array("hypoxia", hypoxia)
    t = _array("TGF-beta", tgf)
    a_t = _number("TGF-beta weight a_t", a_t)
    k_t = _number("TGF-beta half-saturation k_t", k_t, positive=True)
    return h + a_t * t / (t + k_t)


def hif_update(
    h: np.ndarray | float, drive: np.ndarray | float, k_h: float, tau_h: float, dt: float
) -> np.ndarray:
    """HIF-1alpha activity after ``dt``: exact solution of ``dh/dt = k_h drive - h / tau_h``.

    With the drive held over the step, ``h' = h_inf + (h - h_inf) exp(-dt / tau_h)``,
    ``h_inf = k_h tau_h drive`` (the steady state).

    Parameters
    ----------
    h
        HIF-1alpha activity at the start of the step (>= 0).
    drive
        Drive (see :func:`hif_drive`), >= 0.
    k_h
        Production per unit drive, activity/min (>= 0).
    tau_h
        Relaxation time, min (> 0).
    dt
        Step, min (>= 0).

    Returns
    -------
    numpy.ndarray
        The new activity, broadcast shape of ``h`` and ``drive``.
    """
    h0 = _array("HIF activity h", h)
    s = _array("HIF drive", drive)
    k_h = _number("HIF production k_h", k_h)
    tau_h = _number("HIF time constant tau_h", tau_h, positive=True)
    dt = _number("time step dt", dt)
    h_inf = k_h * tau_h * s
    return h_inf + (h0 - h_inf) * math.exp(-dt / tau_h)


def pulse(
    t_since: np.ndarray | float, amplitude: np.ndarray | float, tau_rise: float, tau_decay: float
) -> np.ndarray:
    """A transient that rises and falls after a dose, with its peak equal to ``amplitude``.

    ``f(t) = amplitude (e^(-t/tau_d) - e^(-t/tau_r)) / N`` for ``t >= 0`` and 0 before, where
    ``N`` is the value of the bracket at its peak ``t* = ln(tau_d / tau_r) tau_r tau_d /
    (tau_d - tau_r)``; for ``tau_r = tau_d = tau`` the limit ``amplitude (t / tau) e^(1 - t/tau)``
    (peak at ``tau``). Its integral over ``t >= 0`` is ``amplitude (tau_d - tau_r) / N``.
    Used for the secretion of TGF-beta, IL-8 and CCL2 after irradiation (amplitude = per-Gy gain
    times dose; fractions add).

    Parameters
    ----------
    t_since
        Time since the dose, min (any sign; negative gives 0).
    amplitude
        Peak value (any units).
    tau_rise, tau_decay
        Rise and decay time constants, min (> 0); the formula is symmetric in the two, so
        ``tau_rise`` is the shorter one by convention.

    Returns
    -------
    numpy.ndarray
        ``f(t)``, broadcast shape of ``t_since`` and ``amplitude``.
    """
    t = _array("time since dose", t_since, lo=None)
    amp = _array("pulse amplitude", amplitude, lo=None)
    tau_r = _number("pulse rise time", tau_rise, positive=True)
    tau_d = _number("pulse decay time", tau_decay, positive=True)
    ts = np.maximum(t, 0.0)
    if tau_r == tau_d:
        shape = ts / tau_r * np.exp(1.0 - ts / tau_r)
    else:
        # e^(-t/tau_d) - e^(-t/tau_r) = -e^(-t/tau_d) expm1(-t delta), delta = 1/tau_r - 1/tau_d:
        # no cancellation when the two times are close.
        delta = 1.0 / tau_r - 1.0 / tau_d
        t_peak = math.log(tau_d / tau_r) / delta
        peak = -math.exp(-t_peak / tau_d) * math.expm1(-t_peak * delta)
        shape = -np.exp(-ts / tau_d) * np.expm1(-ts * delta) / peak
    return np.where(t >= 0.0, amp * shape, 0.0)


def pulse_peak_time(tau_rise: float, tau_decay: float) -> float:
    """Time of the peak of :func:`pulse`, min: ``ln(tau_d / tau_r) tau_r tau_d / (tau_d - tau_r)``.

    Parameters
    ----------
    tau_rise, tau_decay
        Time constants, min (> 0); equal ones peak at ``tau``.
    """
    tau_r = _number("pulse rise time", tau_rise, positive=True)
    tau_d = _number("pulse decay time", tau_decay, positive=True)
    if tau_r == tau_d:
        return tau_r
    return math.log(tau_d / tau_r) * tau_r * tau_d / (tau_d - tau_r)


def trail_kill_rate(trail: np.ndarray | float, k_max: float, k_half: float) -> np.ndarray:
    """Tumour-cell death rate from TRAIL, ``k_max T / (T + K)``, 1/min.

    Parameters
    ----------
    trail
        TRAIL concentration ``T``, nM (>= 0).
    k_max
        Maximal death rate, 1/min (>= 0).
    k_half
        Half-saturating concentration ``K``, nM (> 0).

    Returns
    -------
    numpy.ndarray
        The rate, shape of ``trail``.
    """
    t = _array("TRAIL", trail)
    k_max = _number("TRAIL maximal kill rate", k_max)
    k_half = _number("TRAIL half-saturation", k_half, positive=True)
    return k_max * t / (t + k_half)


def tumour_edge_distance(u: np.ndarray, spacing: float, threshold: float = 0.5) -> np.ndarray:
    """Signed distance of every voxel centre to the tumour edge, um (negative inside).

    The tumour is the set of voxels with ``u >= threshold``. From exact Euclidean distance
    transforms (:func:`scipy.ndimage.distance_transform_edt`): an outside voxel's distance to the
    nearest inside voxel centre, or an inside voxel's to the nearest outside one, less half a
    voxel, since the edge lies between the two centres. The error against the true distance to a
    smooth edge is within about one voxel.

    Parameters
    ----------
    u
        Tumour density, fraction of carrying capacity (2-D or 3-D array).
    spacing
        Voxel edge, um (> 0).
    threshold
        Density that marks the tumour, in (0, 1].

    Returns
    -------
    numpy.ndarray
        Signed distance, um, shape of ``u``: ``+inf`` everywhere when no voxel is tumour,
        ``-inf`` everywhere when every voxel is.
    """
    dens = _array("tumour density u", u)
    spacing = _number("grid spacing", spacing, positive=True)
    threshold = _number("edge threshold", threshold, positive=True)
    if threshold > 1.0:
        raise WorldError(f"edge threshold {threshold!r}: expected a value in (0, 1]")
    inside = dens >= threshold
    if not inside.any():
        return np.full(dens.shape, np.inf)
    if inside.all():
        return np.full(dens.shape, -np.inf)
    half = 0.5 * spacing
    to_inside = ndimage.distance_transform_edt(~inside, sampling=spacing)
    to_outside = ndimage.distance_transform_edt(inside, sampling=spacing)
    return np.where(inside, half - to_outside, to_inside - half)


def burden(u: np.ndarray, cell_volume: float) -> float:
    """Tumour burden: the integral of ``u``, ``sum(u) * cell_volume``.

    Parameters
    ----------
    u
        Tumour density, fraction of carrying capacity.
    cell_volume
        Voxel volume, um^ndim (``Grid.cell_volume``; > 0).

    Returns
    -------
    float
        Volume at carrying capacity, um^ndim (um^2 in 2-D); times ``rho_max`` it is a cell count.
    """
    dens = _array("tumour density u", u)
    cell_volume = _number("voxel volume", cell_volume, positive=True)
    return float(np.sum(dens) * cell_volume)
