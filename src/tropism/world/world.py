"""The simulated world: grid, chemokine fields, cell populations, drugs.

Built by an assay template (:mod:`tropism.assays`) from a resolved scenario; advanced by
:class:`tropism.engine.Engine`. Holds arrays and solver objects only; it knows nothing of
scenario files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from tropism.world.cells import CellPopulation
from tropism.world.diffusion import SpectralDiffusion
from tropism.world.grid import Grid
from tropism.world.motility import build_sense
from tropism.world.receptors import molecules_to_nM

if TYPE_CHECKING:  # only for annotations: keeps the world importable without them
    from tropism.world.cell_biology import PopulationBiology
    from tropism.world.hooks import AssayHook
    from tropism.world.masked_diffusion import MaskedDiffusion
    from tropism.world.microenvironment import Microenvironment


@dataclass
class Bath:
    """A well-mixed concentration in the medium with a wash-in time.

    Its concentration approaches ``target`` exponentially with time constant ``washin``
    from the value it had when the last change started (``washin`` = 0: a step).
    """

    name: str
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


@dataclass
class Drug(Bath):
    """A receptor antagonist in the bath."""

    receptor: str = ""
    ic50: float = float("inf")

    def signal_factor(self) -> float:
        """Fraction of receptor signalling left: 1 / (1 + I / IC50) (gupta2001)."""
        return 1.0 / (1.0 + self.level / self.ic50)


@dataclass
class Antibody(Bath):
    """A neutralising antibody in the bath: its chemokine is removed at kon [A] (first
    order, antibody in excess), added to the field's decay."""

    species: str = ""
    kon: float = 0.0


class Compartments(Protocol):
    """Cells outside the simulated tissue (the systemic assay's circulation): the engine
    steps them with the tumour, the readout observer records their readouts."""

    def step(self, world: World, dt: float, rng: np.random.Generator) -> None:
        """Advance by dt (cells may enter the world's populations)."""

    def readouts(self, world: World) -> list[tuple[str, str, float]]:
        """(population, readout, value) rows at the current time."""


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
    solvers: list[SpectralDiffusion | MaskedDiffusion]
    secretion: list[np.ndarray | float]  # nM/min per field
    populations: list[CellPopulation]
    receptor_tables: list[ReceptorTable]
    lo: np.ndarray  # (3,) lower walls for cells, um
    hi: np.ndarray  # (3,) upper walls for cells, um
    up: np.ndarray | None  # (3,) unit vector up the gradient (track readouts), or None
    drugs: dict[str, Drug] = field(default_factory=dict)
    time: float = 0.0
    sense: np.ndarray | None = None
    voxel_volume: float = 1.0  # um^3 (2-D: voxel area x layer thickness)
    margin: float = 0.0  # um: cells this close to the tumour edge count as at the tumour
    cell_uptake: bool = True  # ligand internalised by cells leaves the fields
    micro: Microenvironment | None = None
    biology: list[PopulationBiology | None] = field(default_factory=list)
    antibodies: dict[str, Antibody] = field(default_factory=dict)
    tumour_sense: np.ndarray | None = None
    uptake: np.ndarray | None = None  # (F, nx, ny, nz) molecules taken up by cells
    deposit: np.ndarray | None = None  # (F, nx, ny, nz) molecules secreted by cells
    hooks: list[AssayHook] = field(default_factory=list)  # per-step assay rules (world.hooks)
    circulation: Compartments | None = None  # systemic assay: cells in blood and organs

    def __post_init__(self) -> None:
        nz = self.grid.shape[2] if self.ndim == 3 else 1
        shape = (max(1, len(self.species)), *self.grid.shape[:2], nz)
        self.uptake = np.zeros(shape)
        self.deposit = np.zeros(shape)
        self._base_decay = [solver.decay for solver in self.solvers]
        if not self.biology:
            self.biology = [None] * len(self.populations)

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
        old = self.sense
        reuse = old is not None and old.shape == (fields.shape[0], 4, *fields.shape[1:])
        # filled in place when the shape is unchanged (no new allocation per field step)
        self.sense = build_sense(fields, self.grid.spacing, out=old if reuse else None)

    def step_fields(self, dt: float, refresh: bool = True) -> None:
        """Advance every field by one implicit step of length dt.

        With ``refresh=False`` the sampled fields (``sense``) are left stale: the caller
        calls :meth:`refresh_sense` itself (the engine does, to time it apart).
        """
        self.exchange_with_cells()
        for ab in self.antibodies.values():
            ab.update(self.time)
        for i, solver in enumerate(self.solvers):
            decay = self._base_decay[i] + sum(
                ab.kon * ab.level
                for ab in self.antibodies.values()
                if ab.species == self.species[i]
            )
            if solver.decay != decay:
                solver.decay = decay
            if solver.dt != dt:
                solver.dt = dt
            self.values[i] = solver.step(self.values[i], self.secretion[i])
        if self.micro is not None:
            self.micro.apply_sinks(self.values, dt)
        if refresh:
            self.refresh_sense()

    def exchange_with_cells(self) -> None:
        """Take the ligand cells internalised out of the fields and add what they secreted
        (molecules -> nM over the voxel volume); empties the buffers. Mass is conserved:
        the field loses exactly what the cells took up."""
        if not self.species:
            return
        scale = molecules_to_nM(1.0, self.voxel_volume)
        if not self.cell_uptake:
            self.uptake[:] = 0.0
        net = self.deposit - self.uptake
        if np.any(net):
            net = net[: len(self.species)] * scale
            self.values += net[..., 0] if self.ndim == 2 else net
            self.uptake[:] = 0.0
            self.deposit[:] = 0.0

    def step_tumour(self, dt: float) -> None:
        """Advance the tumour microenvironment by dt and renew its secretion into the fields."""
        if self.micro is None:
            return
        self.micro.update(self.time, dt, self.values)
        for name, rate in self.micro.secretion(self.time).items():
            self.secretion[self.species.index(name)] = rate
        self.refresh_tumour_sense()

    def refresh_tumour_sense(self) -> None:
        """Sampled tumour density for the arrest kernel (same layout as ``sense``)."""
        if self.micro is None:
            return
        u = self.micro.density
        u = u[np.newaxis, ..., np.newaxis] if self.ndim == 2 else u[np.newaxis]
        self.tumour_sense = build_sense(np.ascontiguousarray(u), self.grid.spacing)

    def maps(self) -> dict[str, np.ndarray]:
        """Every field for snapshots: chemokines, then tumour maps when there is a tumour."""
        out = {s: self.values[i].copy() for i, s in enumerate(self.species)}
        if self.micro is not None:
            out.update(self.micro.maps())
        for hook in self.hooks:
            out.update(hook.maps(self))
        return out

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
