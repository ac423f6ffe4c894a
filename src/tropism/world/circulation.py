"""Systemic circulation of injected cells: a linear compartment model.

Each injected cell is in one of seven compartments (:data:`COMPARTMENTS`):

====  ==================  ==============================================================
 i    name                what it holds
====  ==================  ==============================================================
 0    ``venous_blood``    cells on their way from the injection site or the organs to
                          the lungs
 1    ``lungs``           cells lodged in the lung capillaries (first-pass trapping)
 2    ``arterial_blood``  cells that passed the lungs, on their way to the organs
 3    ``liver_spleen``    cells trapped in liver and spleen (cleared from there)
 4    ``tumour``          cells that extravasated into the tumour (absorbing here: they
                          enter the tissue simulation)
 5    ``other_tissue``    cells lodged in all other tissue (cleared from there)
 6    ``cleared``         dead or cleared cells (absorbing)
====  ==================  ==============================================================

Rates (1/min; rows "from", columns "to" of the generator ``Q``):

- venous blood reaches the lungs after a mean ``venous_transit``; each lung pass traps a
  cell with probability ``lung_trapping`` (fischer2009: most IV MSCs are held at first
  pass), otherwise it passes on to arterial blood:
  ``Q[V, L] = p_trap / t_V``, ``Q[V, A] = (1 - p_trap) / t_V``;
- lung cells leave at ``k_L = ln 2 / lung_half_time`` (leerh2009: t1/2 about 24 h), a
  fraction ``lung_release`` back into arterial blood (the pulmonary veins drain to the left
  heart), the rest die in place (eggenhofer2012): ``Q[L, A] = f_rel k_L``,
  ``Q[L, X] = (1 - f_rel) k_L``;
- arterial blood reaches a capillary bed after a mean ``arterial_transit``; bed ``b`` gets
  the fraction ``F_b`` of the cardiac output and traps a cell passing it with probability
  ``e_b``: ``Q[A, b] = F_b e_b / t_A`` for liver/spleen, tumour and other tissue; the cells
  that are not trapped return to venous blood,
  ``Q[A, V] = (1 - sum_b F_b e_b) / t_A`` (intra-arterial injection starts the cells here
  and so skips the lungs on the first pass, sanchezdiaz2021);
- trapped cells in liver/spleen and other tissue are cleared at ``ln 2 / half-time``;
- the tumour's capture probability rises with the cells' chemokine receptor occupancy at
  the tumour's vascular chemokine level (:func:`tumour_capture`): chemokines make rolling
  cells arrest and transmigrate, so a chemokine-rich (irradiated) tumour recruits more.

Over a step of length dt with rates held constant the probabilities of going from i to j
are ``P = expm(Q dt)`` (exact for any dt, however fast the blood transits are). Two ways of
advancing (:class:`Circulation`): ``"expected"`` carries the expected numbers, ``n P``
(deterministic); ``"stochastic"`` moves each cell independently with probabilities ``P``,
drawn as one multinomial per compartment (cells in one compartment share their row of
``P``, so this is the same in distribution as drawing cell by cell). Either way cells are
conserved exactly.

Everything here takes arrays and numbers (engine units: min, 1/min).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import expm

from tropism.world.grid import WorldError

__all__ = [
    "COMPARTMENTS",
    "Circulation",
    "CirculationParams",
    "bound_signal",
    "propagate",
    "rate_matrix",
    "step_expected",
    "step_stochastic",
    "transition_matrix",
    "tumour_capture",
]

COMPARTMENTS: tuple[str, ...] = (
    "venous_blood",
    "lungs",
    "arterial_blood",
    "liver_spleen",
    "tumour",
    "other_tissue",
    "cleared",
)
"""Compartment names, in index order."""

VENOUS, LUNGS, ARTERIAL, LIVER, TUMOUR, OTHER, CLEARED = range(len(COMPARTMENTS))

ROUTES: dict[str, int] = {"intravenous": VENOUS, "intra_arterial": ARTERIAL}
"""Injection route -> the compartment the cells enter."""


@dataclass(frozen=True)
class CirculationParams:
    """Rates and probabilities of the compartment model (engine units: min).

    Attributes
    ----------
    venous_transit, arterial_transit
        Mean time a cell spends in venous blood before the lungs / in arterial blood before
        a capillary bed, min.
    lung_trapping
        Probability that a cell passing the lungs is trapped there.
    lung_half_time
        Half-time of the trapped cells' stay in the lungs, min.
    lung_release
        Fraction of the cells leaving the lungs that re-enter the circulation alive.
    liver_flow, tumour_flow
        Fractions of the cardiac output through liver + spleen and through the tumour; the
        rest goes to other tissue.
    liver_capture, other_capture
        Probabilities that a cell passing liver/spleen or other tissue is trapped there.
    liver_half_time, other_half_time
        Half-times of trapped cells in liver/spleen and other tissue before clearance, min.
    """

    venous_transit: float
    arterial_transit: float
    lung_trapping: float
    lung_half_time: float
    lung_release: float
    liver_flow: float
    liver_capture: float
    liver_half_time: float
    tumour_flow: float
    other_capture: float
    other_half_time: float

    def __post_init__(self) -> None:
        for name in ("venous_transit", "arterial_transit"):
            _positive(name, getattr(self, name))
        for name in ("lung_half_time", "liver_half_time", "other_half_time"):
            value = float(getattr(self, name))
            if not value > 0:  # inf allowed: no loss
                raise WorldError(f"{name} = {value!r}: expected a positive time (or inf)")
        for name in (
            "lung_trapping",
            "lung_release",
            "liver_flow",
            "liver_capture",
            "tumour_flow",
            "other_capture",
        ):
            _probability(name, getattr(self, name))
        if self.liver_flow + self.tumour_flow > 1.0:
            raise WorldError(
                f"liver_flow + tumour_flow = {self.liver_flow + self.tumour_flow!r}: "
                "expected at most 1 (fractions of the cardiac output)"
            )


def _positive(name: str, value: float) -> float:
    v = float(value)
    if not (v > 0 and math.isfinite(v)):
        raise WorldError(f"{name} = {value!r}: expected a positive finite number")
    return v


def _probability(name: str, value: float) -> float:
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise WorldError(f"{name} = {value!r}: expected a probability in [0, 1]")
    return v


def _loss_rate(half_time: float) -> float:
    return 0.0 if math.isinf(half_time) else math.log(2.0) / half_time


def bound_signal(
    receptors: np.ndarray, weights: np.ndarray, concentration: np.ndarray, kd: np.ndarray
) -> float:
    """Signalling receptors bound at a chemokine level: sum_r w_r R_r c_r / (c_r + Kd_r).

    Parameters
    ----------
    receptors
        (R,) receptor numbers per cell (mean of the population, expression included).
    weights
        (R,) signalling weights (1 for a chemotactic receptor, 0 for CXCR7 or a receptor
        whose ligand is absent; an antagonist lowers it).
    concentration
        (R,) concentration of each receptor's ligand, nM.
    kd
        (R,) dissociation constants, nM.
    """
    c = np.maximum(np.asarray(concentration, dtype=float), 0.0)
    occupancy = c / (c + np.asarray(kd, dtype=float))
    return float(np.sum(np.asarray(weights) * np.asarray(receptors) * occupancy))


def tumour_capture(signal: float, basal: float, chemokine_max: float, half_signal: float) -> float:
    """Probability that a cell passing the tumour's vessels is trapped and extravasates.

    ``e_T = basal + chemokine_max S / (S + S_half)`` (capped at 1): the basal trapping of any
    capillary bed plus chemokine-triggered arrest that saturates with the bound signalling
    receptors ``S`` (:func:`bound_signal`). ``S_half`` is in receptors per cell.
    """
    s = max(float(signal), 0.0)
    return min(1.0, float(basal) + float(chemokine_max) * s / (s + float(half_signal)))


def rate_matrix(params: CirculationParams, tumour_capture: float) -> np.ndarray:
    """Generator ``Q`` (C x C, 1/min): ``Q[i, j]`` is the rate from i to j, rows sum to 0."""
    p = params
    e_t = _probability("tumour_capture", tumour_capture)
    q = np.zeros((len(COMPARTMENTS), len(COMPARTMENTS)))
    k_v = 1.0 / p.venous_transit
    q[VENOUS, LUNGS] = k_v * p.lung_trapping
    q[VENOUS, ARTERIAL] = k_v * (1.0 - p.lung_trapping)
    k_l = _loss_rate(p.lung_half_time)
    q[LUNGS, ARTERIAL] = k_l * p.lung_release
    q[LUNGS, CLEARED] = k_l * (1.0 - p.lung_release)
    k_a = 1.0 / p.arterial_transit
    other_flow = 1.0 - p.liver_flow - p.tumour_flow
    q[ARTERIAL, LIVER] = k_a * p.liver_flow * p.liver_capture
    q[ARTERIAL, TUMOUR] = k_a * p.tumour_flow * e_t
    q[ARTERIAL, OTHER] = k_a * other_flow * p.other_capture
    captured = p.liver_flow * p.liver_capture + p.tumour_flow * e_t + other_flow * p.other_capture
    q[ARTERIAL, VENOUS] = k_a * (1.0 - captured)
    q[LIVER, CLEARED] = _loss_rate(p.liver_half_time)
    q[OTHER, CLEARED] = _loss_rate(p.other_half_time)
    np.fill_diagonal(q, -q.sum(axis=1))
    return q


def transition_matrix(q: np.ndarray, dt: float) -> np.ndarray:
    """``P = expm(Q dt)``: probabilities of being in j after dt when starting in i.

    Computed by uniformisation with squaring, which only adds and multiplies non-negative
    numbers (no cancellation, so every entry is accurate to round-off however stiff the
    rates): with ``lam = max_i -Q[i, i]`` and ``M = I + Q / lam`` (a stochastic matrix),
    ``expm(Q h) = exp(-lam h) sum_n (lam h)^n / n! M^n``; h = dt / 2^s is chosen so that
    lam h <= 1/2 and the series is cut after 24 terms (the Poisson tail beyond is below
    1e-30), then the result is squared s times. Each row is finally renormalised to sum to
    exactly 1, so that cells are conserved. About 30 small matrix products, far cheaper
    than a general matrix exponential (``scipy.linalg.expm``, used by :func:`propagate`
    and the tests as the independent reference).
    """
    q = np.asarray(q, dtype=float)
    n = q.shape[0]
    lam = float(max(-q.diagonal().min(), 0.0))
    if lam == 0.0 or dt <= 0.0:
        return np.eye(n)
    squarings = max(0, math.ceil(math.log2(2.0 * lam * float(dt))))
    x = lam * float(dt) / 2.0**squarings
    m = np.eye(n) + q / lam
    m = np.clip(m, 0.0, None)  # round-off on the diagonal
    term = np.eye(n) * math.exp(-x)
    p = term.copy()
    for k in range(1, 25):
        term = (term @ m) * (x / k)
        p += term
    for _ in range(squarings):
        p = p @ p
    return p / p.sum(axis=1, keepdims=True)


def propagate(p0: np.ndarray, q: np.ndarray, t: float) -> np.ndarray:
    """Expected amounts at time ``t`` for constant rates: ``p(t) = p0 expm(Q t)``."""
    return np.asarray(p0, dtype=float) @ expm(np.asarray(q, dtype=float) * float(t))


def step_expected(n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Expected cell numbers after one step: flows ``F[i, j] = n_i P[i, j]`` (C x C)."""
    return np.asarray(n, dtype=float)[:, None] * p


def step_stochastic(n: np.ndarray, p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Every cell moves independently with the probabilities of its row of ``P``.

    Returns the flows ``F[i, j]`` (C x C, integers): the cells in compartment i are split
    among the compartments by one multinomial draw, ``F[i] ~ Multinomial(n_i, P[i])``.
    """
    counts = np.asarray(n, dtype=np.int64)
    flows = np.zeros((counts.size, counts.size), dtype=np.int64)
    for i, ni in enumerate(counts):
        if ni > 0:
            flows[i] = rng.multinomial(int(ni), p[i])
    return flows


@dataclass
class Circulation:
    """Injected cells of one or more populations across the compartments.

    Parameters
    ----------
    params
        The rates (:class:`CirculationParams`).
    populations
        Population names (one row of counts each).
    stochastic
        True: cells move at random (integer counts); False: expected numbers.
    """

    params: CirculationParams
    populations: list[str]
    stochastic: bool = True
    counts: np.ndarray = field(init=False)
    injected: np.ndarray = field(init=False)
    capture: np.ndarray = field(init=False)
    _carry: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        shape = (len(self.populations), len(COMPARTMENTS))
        self.counts = np.zeros(shape, dtype=np.int64 if self.stochastic else np.float64)
        self.injected = np.zeros(len(self.populations))
        self.capture = np.zeros(len(self.populations))
        self._carry = np.zeros(len(self.populations))

    def inject(self, index: int, count: int, route: str) -> None:
        """Put ``count`` cells of population ``index`` into the circulation by ``route``
        (``"intravenous"``: venous blood; ``"intra_arterial"``: arterial blood)."""
        if route not in ROUTES:
            raise WorldError(f"route {route!r}: expected one of {', '.join(ROUTES)}")
        self.counts[index, ROUTES[route]] += int(count)
        self.injected[index] += int(count)

    def step(
        self, capture: np.ndarray, dt: float, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Advance by ``dt`` with per-population tumour capture probabilities ``capture``.

        Returns the number of cells of each population that entered the tumour during the
        step (integers; with expected numbers, the whole cells accumulated so far, the
        fractional rest carried to the next step).
        """
        arrivals = np.zeros(len(self.populations), dtype=np.int64)
        self.capture = np.asarray(capture, dtype=float).copy()
        for k in range(len(self.populations)):
            if self.injected[k] == 0:
                continue
            p = transition_matrix(rate_matrix(self.params, self.capture[k]), dt)
            if self.stochastic:
                if rng is None:
                    raise WorldError("stochastic transitions need a random generator")
                flows = step_stochastic(self.counts[k], p, rng)
            else:
                flows = step_expected(self.counts[k], p)
            new = flows.sum(axis=0)
            entered = new[TUMOUR] - flows[TUMOUR, TUMOUR]
            self.counts[k] = new
            if self.stochastic:
                arrivals[k] = int(entered)
            else:
                self._carry[k] += entered
                whole = math.floor(self._carry[k] + 1e-9)
                arrivals[k] = whole
                self._carry[k] -= whole
        return arrivals

    def fractions(self) -> np.ndarray:
        """(P, C) fraction of each population's injected cells in each compartment."""
        total = np.where(self.injected > 0, self.injected, 1.0)
        return self.counts / total[:, None]
