"""Cell-side biology of one population, advanced each motility step.

- receptor kinetics, dR/dt = k_syn m(t) - k_int f R - k_deg R, with the ligand a cell
  internalises taken out of its field (cells are sinks as well as sensors);
- hypoxic preconditioning: receptor synthesis and random speed multiplied by m(t), which
  relaxes back to 1 in normoxia during the run;
- chemokinesis: random speed x (1 + gain x mean signalling occupancy);
- arrest/engraftment in tumour tissue at rate k_a u(x);
- secretion of a field (TRAIL from engineered cells), molecules per cell per minute.

Kernels live in :mod:`tropism.world.receptors` and :mod:`tropism.world.cellbio`; this class
holds the per-population numbers and calls them with arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tropism.world.cellbio import arrest_step, chemokinesis_scale, preconditioning_decay, secrete
from tropism.world.cells import CellPopulation
from tropism.world.receptors import receptor_step, steady_synthesis


@dataclass
class PopulationBiology:
    """Numbers of the cell-side terms of one population (engine units).

    Attributes
    ----------
    k_int, k_deg
        (R,) internalisation and turnover rates per receptor type, 1/min; ``k_int`` is 0
        for a receptor whose ligand has no field in this assay.
    scavenger
        (R,) bool, True for CXCR7 (constitutive cycling, ligand cleared, number constant).
    recycle
        (R,) fraction of ligand-internalised signalling receptors returned to the surface.
    preconditioned
        (R,) bool: receptor types whose synthesis preconditioning raises (CXCR4, CXCR7).
    m_receptor, m_speed
        Preconditioning multipliers at t = 0 (1 = normoxic culture).
    tau_decay
        Relaxation time of the multipliers back to 1 in normoxia, min.
    kinetics, chemokinesis, arrest
        Switches (the scenario's [model] table) and ``chemokinesis_gain``, ``arrest_rate``.
    secretion
        Field index -> molecules per cell per minute.
    """

    k_int: np.ndarray
    k_deg: np.ndarray
    scavenger: np.ndarray
    recycle: np.ndarray
    preconditioned: np.ndarray
    m_receptor: float = 1.0
    m_speed: float = 1.0
    tau_decay: float = 1440.0
    kinetics: bool = True
    chemokinesis_gain: float = 0.0
    arrest_rate: float = 0.0
    secretion: dict[int, float] = field(default_factory=dict)
    _base: np.ndarray | None = field(default=None, init=False, repr=False)

    def receptor_multiplier(self, pop: CellPopulation, time: float) -> np.ndarray:
        """(N,) m of receptor synthesis: preconditioning relaxing in normoxia since each
        cell entered the simulation."""
        since = np.maximum(time - pop.birth, 0.0)
        return np.asarray(preconditioning_decay(self.m_receptor, since, self.tau_decay))

    def speed_multiplier(self, pop: CellPopulation, time: float) -> np.ndarray:
        """(N,) preconditioning multiplier of the random speed."""
        since = np.maximum(time - pop.birth, 0.0)
        return np.asarray(preconditioning_decay(self.m_speed, since, self.tau_decay))

    def synthesis(self, pop: CellPopulation, time: float) -> np.ndarray:
        """(N, R) synthesis rates holding each cell's baseline receptors without ligand,
        times the preconditioning multiplier for the preconditioned receptor types."""
        # the baseline only changes when cells are added: recompute only then
        if self._base is None or self._base.shape[0] != pop.count:
            self._base = steady_synthesis(pop.baseline, self.k_deg)
        base = self._base
        if self.m_receptor == 1.0:
            return np.ascontiguousarray(base)
        m = self.receptor_multiplier(pop, time)[:, None]
        return np.ascontiguousarray(np.where(self.preconditioned, base * m, base))

    def speed_scale(
        self, pop: CellPopulation, time: float, world, table, weight: np.ndarray
    ) -> np.ndarray:
        """Per-cell multiplier of the random speed (preconditioning x chemokinesis)."""
        out = np.ones(pop.count)
        if self.chemokinesis_gain > 0:
            chemokinesis_scale(
                pop.receptors,
                pop.pos,
                pop.state,
                world.sense,
                world.origin3(),
                float(world.grid.spacing),
                table.ligand,
                table.kd,
                weight,
                self.chemokinesis_gain,
                out,
            )
        if self.m_speed != 1.0:
            out *= self.speed_multiplier(pop, time)
        return out

    def step(
        self, pop: CellPopulation, world, table, time: float, dt: float, rng: np.random.Generator
    ) -> None:
        """Receptor kinetics with uptake, arrest, secretion over one motility step."""
        origin = world.origin3()
        h = float(world.grid.spacing)
        if self.kinetics and pop.count:
            receptor_step(
                pop.receptors,
                pop.pos,
                pop.state,
                world.sense,
                origin,
                h,
                table.ligand,
                table.kd,
                self.k_int,
                self.k_deg,
                self.synthesis(pop, time),
                self.scavenger,
                self.recycle,
                dt,
                world.uptake,
            )
        if self.arrest_rate > 0 and pop.count and world.tumour_sense is not None:
            arrest_step(
                pop.pos,
                pop.state,
                world.tumour_sense,
                origin,
                h,
                0,
                self.arrest_rate,
                dt,
                rng.random(pop.count),
            )
        for index, rate in self.secretion.items():
            secrete(pop.pos, pop.state, origin, h, rate, dt, index, world.deposit)
