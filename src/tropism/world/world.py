"""The simulated world: grid, chemokine fields, cell populations, drugs.

Built by an assay template (:mod:`tropism.assays`) from a resolved scenario; advanced by
:class:`tropism.engine.Engine`. Holds arrays and solver objects only; it knows nothing of
scenario files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tropism.world.cells import CellPopulation
from tropism.world.diffusion import SpectralDiffusion
from tropism.world.grid import Grid
from tropism.world.motility import build_sense


@dataclass
class Drug:
    """A drug in the bath, well mixed, acting on one receptor type.

    Its concentration approaches ``target`` exponentially with time constant ``washin``
    from the value it had when the last change started (``washin`` = 0: a step).
    """

    name: str
    receptor: str
    ic50: float
    level: float = 0.0
    _from: float = 0.0
    _to: float = 0.0
    _t0: float = 0.0
    _washin: float = 0.0

    def set_target(self, concentration: float, time: float, washin: float) -> None:
        """Start moving the bath concentration to ``concentration`` at ``time``."""
        self._from = self.level
        self._to = float(concentration)
        self._t0 = float(time)
        self._washin = float(washin)
        self.update(time)

    def update(self, time: float) -> None:
        """Concentration at ``time``: c = c_to + (c_from - c_to) exp(-(t - t0) / washin)."""
        if self._washin <= 0.0:
            self.level = self._to
        else:
            frac = math.exp(-max(time - self._t0, 0.0) / self._washin)
            self.level = self._to + (self._from - self._to) * frac

    def signal_factor(self) -> float:
        """Fraction of receptor signalling left: 1 / (1 + I / IC50) (gupta2001)."""
        return 1.0 / (1.0 + self.level / self.ic50)


@dataclass
class ReceptorTable:
    """Per receptor type of one population: which field it reads, Kd, whether it steers."""

    names: tuple[str, ...]
    ligand: np.ndarray  # int64 (R,), index into World.species
    kd: np.ndarray  # float64 (R,), nM
    chemotactic: np.ndarray  # float64 (R,), 1 or 0


@dataclass
class World:
    """State of one replicate: fields on a grid, cells, drugs, and the clock."""

    grid: Grid
    species: list[str]
    values: np.ndarray  # (F, *grid.shape) concentrations, nM
    solvers: list[SpectralDiffusion]
    secretion: list[np.ndarray | float]  # nM/min per field
    populations: list[CellPopulation]
    receptor_tables: list[ReceptorTable]
    lo: np.ndarray  # (3,) lower walls for cells, um
    hi: np.ndarray  # (3,) upper walls for cells, um
    up: np.ndarray  # (3,) unit vector up the gradient (readouts)
    drugs: dict[str, Drug] = field(default_factory=dict)
    time: float = 0.0
    sense: np.ndarray | None = None

    @property
    def ndim(self) -> int:
        """Spatial dimension of the grid."""
        return self.grid.ndim

    def origin3(self) -> np.ndarray:
        """Grid origin padded to 3 components."""
        out = np.zeros(3)
        out[: self.ndim] = self.grid.lo
        return out

    def refresh_sense(self) -> None:
        """Recompute [c, grad c] at voxel centres for the cell kernels."""
        fields = self.values
        if self.ndim == 2:
            fields = fields[..., np.newaxis]
        if fields.shape[0] == 0:
            fields = np.zeros((1, *fields.shape[1:]))
        self.sense = build_sense(np.ascontiguousarray(fields), self.grid.spacing)

    def step_fields(self, dt: float) -> None:
        """Advance every field by one implicit step of length dt."""
        for i, solver in enumerate(self.solvers):
            if solver.dt != dt:
                solver.dt = dt
            self.values[i] = solver.step(self.values[i], self.secretion[i])
        self.refresh_sense()

    def receptor_weights(self, index: int) -> np.ndarray:
        """Signalling weight per receptor of population ``index`` after drugs act."""
        table = self.receptor_tables[index]
        w = table.chemotactic.copy()
        for drug in self.drugs.values():
            for r, name in enumerate(table.names):
                if name == drug.receptor:
                    w[r] *= drug.signal_factor()
        return w

    def field_index(self, species: str) -> int:
        """Index of a species' field."""
        return self.species.index(species)
