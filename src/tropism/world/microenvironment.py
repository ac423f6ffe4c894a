"""The tumour microenvironment: tumour density, oxygen, HIF-1alpha, secretion, irradiation.

State on the grid (arrays of ``grid.shape``):

- ``u``: viable tumour cells as a fraction of carrying capacity; ``doomed``: cells lethally
  hit by irradiation (the linear-quadratic non-survivors), which still secrete until they
  die at ``ir_death_rate`` (mitotic death takes days) or anoxia or TRAIL kill them (as
  they kill viable cells);
- ``po2``: oxygen, solved quasi-statically (:class:`~tropism.world.oxygen.OxygenSolver`);
- ``hif``: HIF-1alpha activity, dh/dt = k_h (H + a_T T/(T + K_T)) - h/tau_h with k_h =
  1/tau_h, so that full hypoxia alone drives h to 1 (DESIGN.md);
- per irradiation: time and dose, driving pulses of TGF-beta, IL-8 and CCL2 secretion.

Secretion into the chemokine fields (nM/min, per unit tumour density u + doomed):

    CXCL12 = s12 (1 + a_h h + pulse_12);  TGF-beta = sT (1 + pulse_T);  IL-8 = s8 (1 + pulse_8);
    CCL2 = s2 (1 + pulse_2),   pulse_X(t) = sum over fractions of gain_X dose_i p(t - t_i)

with p a rise-and-decay transient of unit peak (:func:`tropism.world.tumour.pulse`).
CXCR7 on tumour cells clears CXCL12 at first order, k7 (u + doomed) c (naumann2010),
applied exactly after each diffusion step (operator splitting).
The class holds arrays and numbers; the spheroid assay builds it from the scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tropism.world import tumour as tk
from tropism.world.oxygen import OxygenSolver, hypoxia


@dataclass(frozen=True)
class TumourParams:
    """Numbers of the tumour model (engine units), see :class:`TumourSpec` for sources."""

    growth_rate: float
    growth_po2_half: float
    necrosis_po2: float
    necrosis_rate: float
    hypoxia_threshold: float
    hypoxia_hill: float
    hif_tau: float
    hif_tgfb_gain: float
    hif_tgfb_half: float
    cxcl12_secretion: float
    cxcl12_hif_gain: float
    ccl2_secretion: float
    il8_secretion: float
    tgfb_secretion: float
    ir_tgfb_gain: float
    ir_cxcl12_gain: float
    ir_il8_gain: float
    ir_ccl2_gain: float
    ir_tau_rise: float
    ir_tau_decay: float
    lq_alpha: float
    lq_beta: float
    ir_death_rate: float
    cxcr7_sink: float
    trail_kill: float
    trail_half: float


@dataclass(frozen=True)
class Switches:
    """Which tumour-side terms are on (the scenario's [model] table)."""

    oxygen: bool = True
    growth: bool = True
    hif: bool = True
    irradiation_response: bool = True
    cxcr7_sink: bool = True
    trail: bool = True


@dataclass
class Microenvironment:
    """Tumour state on the grid and its update rules."""

    params: TumourParams
    switches: Switches
    u: np.ndarray
    oxygen: OxygenSolver | None
    species: list[str]
    cell_volume: float
    doomed: np.ndarray = field(init=False)
    po2: np.ndarray = field(init=False)
    hif: np.ndarray = field(init=False)
    irradiations: list[tuple[float, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.doomed = np.zeros_like(self.u)
        self.hif = np.zeros_like(self.u)
        self.po2 = np.zeros_like(self.u)
        self._guess: np.ndarray | None = None
        self._solved_for: np.ndarray | None = None
        self.solve_oxygen()
        if self.switches.hif:
            # start at the HIF steady state of the initial oxygen map (no TGF-beta yet)
            self.hif = hypoxia(self.po2, self.params.hypoxia_threshold, self.params.hypoxia_hill)

    # --- state -------------------------------------------------------------------------------

    @property
    def density(self) -> np.ndarray:
        """All tumour cells that still secrete: viable + lethally irradiated."""
        return self.u + self.doomed

    #: Oxygen is re-solved when the tumour density changed by more than this anywhere since
    #: the last solve (consumption is linear in density, so pO2 moves by about as much
    #: relative to the consumption scale): the tumour changes over hours, oxygen in seconds.
    o2_tolerance: float = 0.05

    def solve_oxygen(self, force: bool = True) -> None:
        """Quasi-static oxygen for the current tumour density."""
        if self.oxygen is None or not self.switches.oxygen:
            self.po2 = np.full_like(self.u, np.inf)
            return
        rho = self.density
        if (
            not force
            and self._solved_for is not None
            and np.max(np.abs(rho - self._solved_for)) <= self.o2_tolerance
        ):
            return
        self.po2 = self.oxygen.solve(rho, guess=self._guess)
        self._guess = self.po2
        self._solved_for = rho.copy()

    def hypoxia_map(self) -> np.ndarray:
        """H(x) in [0, 1], a Hill function of pO2."""
        if not np.all(np.isfinite(self.po2)):
            return np.zeros_like(self.u)
        return hypoxia(self.po2, self.params.hypoxia_threshold, self.params.hypoxia_hill)

    def irradiate(self, dose: float, time: float, mask: np.ndarray | None = None) -> None:
        """A fraction of ``dose`` Gy at ``time``: LQ kill (to ``doomed``), secretion pulses."""
        p = self.params
        sf = tk.lq_survival(dose, p.lq_alpha, p.lq_beta)
        hit = np.ones_like(self.u, dtype=bool) if mask is None else mask
        killed = np.where(hit, self.u * (1.0 - sf), 0.0)
        self.u = self.u - killed
        self.doomed = self.doomed + killed
        self.irradiations.append((float(time), float(dose)))

    def _pulse(self, gain: float, time: float) -> float:
        if not self.switches.irradiation_response or not self.irradiations:
            return 0.0
        p = self.params
        total = 0.0
        for t_i, dose in self.irradiations:
            total += float(tk.pulse(time - t_i, gain * dose, p.ir_tau_rise, p.ir_tau_decay))
        return total

    # --- updates -------------------------------------------------------------------------------

    def update(self, time: float, dt: float, fields: np.ndarray) -> None:
        """Advance tumour, oxygen and HIF by ``dt`` (min), reading TGF-beta and TRAIL."""
        p = self.params
        if self.switches.hif:
            tgfb = fields[self.species.index("tgfb")] if "tgfb" in self.species else 0.0
            drive = tk.hif_drive(
                self.hypoxia_map(), np.maximum(tgfb, 0.0), p.hif_tgfb_gain, p.hif_tgfb_half
            )
            self.hif = tk.hif_update(self.hif, drive, 1.0 / p.hif_tau, p.hif_tau, dt)
        kill = 0.0
        if self.switches.trail and "trail" in self.species:
            trail = np.maximum(fields[self.species.index("trail")], 0.0)
            kill = tk.trail_kill_rate(trail, p.trail_kill, p.trail_half)
        if self.switches.growth:
            po2 = self.po2 if np.all(np.isfinite(self.po2)) else np.full_like(self.u, 1e9)
            # crowding: space held by doomed (irradiated, not yet dead) cells is not free
            self.u = tk.grow(
                self.u,
                po2,
                dt,
                p.growth_rate,
                p.growth_po2_half,
                p.necrosis_po2,
                p.necrosis_rate,
                kill,
                capacity=np.clip(1.0 - self.doomed, 0.0, 1.0),
            )
        elif np.any(np.asarray(kill) > 0):
            self.u = self.u * np.exp(-np.asarray(kill) * dt)
        if np.any(self.doomed > 0):
            # lethally irradiated cells live until mitotic death; anoxia and TRAIL kill them as
            # they kill viable cells (kim2010: irradiation and TRAIL together raise
            # DR5-mediated apoptosis)
            loss = p.ir_death_rate + np.asarray(kill)
            if self.switches.growth and np.all(np.isfinite(self.po2)):
                loss = loss + p.necrosis_rate * (self.po2 < p.necrosis_po2)
            self.doomed = self.doomed * np.exp(-loss * dt)
        self.solve_oxygen(force=False)

    def secretion(self, time: float) -> dict[str, np.ndarray]:
        """Secretion into each tumour-made chemokine field, nM/min."""
        p = self.params
        rho = self.density
        out = {
            "cxcl12": p.cxcl12_secretion
            * (1.0 + p.cxcl12_hif_gain * self.hif + self._pulse(p.ir_cxcl12_gain, time))
            * rho,
            "tgfb": p.tgfb_secretion * (1.0 + self._pulse(p.ir_tgfb_gain, time)) * rho,
            "il8": p.il8_secretion * (1.0 + self._pulse(p.ir_il8_gain, time)) * rho,
            "ccl2": p.ccl2_secretion * (1.0 + self._pulse(p.ir_ccl2_gain, time)) * rho,
        }
        return {k: v for k, v in out.items() if k in self.species}

    def apply_sinks(self, fields: np.ndarray, dt: float) -> None:
        """CXCR7 clearance of CXCL12 by tumour cells over dt: c *= exp(-k7 rho dt) (exact)."""
        if self.switches.cxcr7_sink and "cxcl12" in self.species and self.params.cxcr7_sink > 0:
            i = self.species.index("cxcl12")
            fields[i] *= np.exp(-self.params.cxcr7_sink * self.density * dt)

    def maps(self) -> dict[str, np.ndarray]:
        """Snapshots for the run folder: tumour, oxygen, hypoxia, HIF."""
        out = {"tumour": self.density.copy(), "hif": self.hif.copy()}
        if np.all(np.isfinite(self.po2)):
            out["po2"] = self.po2.copy()
            out["hypoxia"] = self.hypoxia_map()
        return out
