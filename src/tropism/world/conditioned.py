"""Conditioned medium: what tumour cells in a dish secrete into their medium.

The Transwell experiments of the field put "conditioned medium" (the supernatant of tumour
cells cultured for a day or two, possibly hypoxic or irradiated) in the lower well. Here the
same tumour model as in tissue (:class:`~tropism.world.microenvironment.Microenvironment`:
HIF, irradiation pulses, CXCR7 clearance) runs in a well-mixed dish: a confluent monolayer
(tumour density u = 1) of thickness ``cell_layer`` under ``medium_height`` of medium, held at
the incubator's pO2 and irradiated with ``dose`` at the start. The medium concentration of each
chemokine obeys

    dc/dt = phi S(t) - lambda c,       phi = cell_layer / medium_height,

with ``S`` the secretion per unit tumour density (nM/min within the cell layer), diluted into
the medium by the volume fraction ``phi``, and ``lambda`` the chemokine's decay; CXCR7 on the
cells clears CXCL12 at ``phi k7`` (the cells see the medium). The tumour state is advanced in
steps of at most ``dt``, with the secretion held over each step and the medium updated
exactly (``c e^{-lambda h} + phi S (1 - e^{-lambda h}) / lambda``). Cells start from normoxic
culture (HIF 0); TGF-beta in the medium drives their HIF as in tissue.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from tropism.world.boundaries import AxisBoundary, NoFlux
from tropism.world.grid import Grid
from tropism.world.microenvironment import Microenvironment, Switches, TumourParams
from tropism.world.oxygen import OxygenSolver

__all__ = ["conditioned_medium"]


def conditioned_medium(
    params: TumourParams,
    switches: Switches,
    species: Sequence[str],
    decay: Mapping[str, float],
    o2: float,
    duration: float,
    dose: float = 0.0,
    volume_fraction: float = 0.0075,
    dt: float = 10.0,
) -> dict[str, float]:
    """Concentration of each chemokine in the medium at the end of conditioning.

    Parameters
    ----------
    params, switches
        The tumour model (e.g. from the scenario's ``[tumour]`` and ``[model]`` tables).
    species
        The chemokines to report (those the tumour secretes get a value; others 0).
    decay
        First-order decay rate per chemokine, 1/min (missing: 0).
    o2
        Incubator pO2 during conditioning, mmHg.
    duration
        Conditioning time, min (>= 0).
    dose
        Irradiation at the start, Gy.
    volume_fraction
        Cell layer over medium height, ``phi`` (> 0).
    dt
        Longest step of the tumour model, min.

    Returns
    -------
    dict
        Species -> concentration in the medium, nM.
    """
    species = list(species)
    grid = Grid((2, 2), spacing=10.0)
    u = np.ones(grid.shape)
    oxygen = None
    if switches.oxygen:
        faces = [AxisBoundary(NoFlux(), NoFlux())] * 2
        # every voxel held at the incubator's pO2 (consumption does not matter then)
        oxygen = OxygenSolver(
            grid, 1.0, faces, 0.0, 1.0, fixed_mask=np.ones(grid.shape, dtype=bool), fixed_value=o2
        )
    micro = Microenvironment(params, switches, u, oxygen, species, grid.cell_volume)
    micro.hif = np.zeros_like(u)  # cells come from normoxic culture
    if dose > 0.0:
        micro.irradiate(dose, 0.0)
    fields = np.zeros((max(1, len(species)), *grid.shape))
    n = max(1, math.ceil(duration / dt)) if duration > 0 else 0
    h = duration / n if n else 0.0
    time = 0.0
    for _ in range(n):
        micro.update(time, h, fields)
        for name, rate in micro.secretion(time).items():
            i = species.index(name)
            s = volume_fraction * float(np.mean(rate))
            lam = float(decay.get(name, 0.0))
            if lam > 0.0:
                e = math.exp(-lam * h)
                fields[i] = fields[i] * e + s * (1.0 - e) / lam
            else:
                fields[i] = fields[i] + s * h
        micro.apply_sinks(fields, h * volume_fraction)
        time += h
    return {s: float(fields[i].mean()) for i, s in enumerate(species)}
