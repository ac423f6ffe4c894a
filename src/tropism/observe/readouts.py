"""Track readouts of migration assays, computed from arrays.

Definitions (per cell, then averaged over cells that moved; ``e`` is the unit vector up the
gradient, ``d`` the net displacement since the cell entered, ``L`` its path length, ``T`` the
time since it entered):

- forward migration index, FMI = (d . e) / L (ibidi's FMI along the gradient);
- chemotactic index, CI = (d . e) / |d|: the cosine of the angle between the net displacement
  and the gradient (1 straight up the gradient, 0 for random motion);
- directness = |d| / L;
- speed = L / T (mean path speed, um/min);
- drift velocity = (d . e) / T (um/min), and displacement along the gradient d . e (um).

Path length is accumulated every motility step (the velocity of the walk is continuous, so
it converges as the step shrinks); microscopy samples tracks every few minutes and so reads
somewhat shorter paths and larger indices.
"""

from __future__ import annotations

import numpy as np

READOUTS: dict[str, dict[str, str]] = {
    "chemotactic_index": {
        "unit": "1",
        "description": "cosine between net displacement and the gradient, mean over cells",
    },
    "fmi": {
        "unit": "1",
        "description": "forward migration index: displacement along the gradient / path length",
    },
    "directness": {"unit": "1", "description": "net displacement / path length"},
    "speed": {"unit": "um/min", "description": "mean path speed"},
    "drift_velocity": {
        "unit": "um/min",
        "description": "mean displacement along the gradient per unit time",
    },
    "displacement": {
        "unit": "um",
        "description": "mean displacement along the gradient",
    },
}


def track_readouts(
    start: np.ndarray,
    pos: np.ndarray,
    path: np.ndarray,
    elapsed: np.ndarray,
    up: np.ndarray,
) -> dict[str, float]:
    """Readouts of a set of cells (see the module docstring for the definitions).

    Parameters
    ----------
    start, pos
        (N, 3) positions where the cells entered and where they are now, um.
    path
        (N,) accumulated path lengths, um.
    elapsed
        (N,) time since each cell entered, min.
    up
        (3,) unit vector pointing up the gradient.

    Returns
    -------
    dict
        One float per readout in :data:`READOUTS`; NaN when no cell has moved.
    """
    disp = pos - start
    along = disp @ up
    net = np.sqrt(np.einsum("ij,ij->i", disp, disp))
    moved = (path > 0) & (net > 0) & (elapsed > 0)
    if not np.any(moved):
        return {name: float("nan") for name in READOUTS}
    a, n, p, t = along[moved], net[moved], path[moved], elapsed[moved]
    return {
        "chemotactic_index": float(np.mean(a / n)),
        "fmi": float(np.mean(a / p)),
        "directness": float(np.mean(n / p)),
        "speed": float(np.mean(p / t)),
        "drift_velocity": float(np.mean(a / t)),
        "displacement": float(np.mean(a)),
    }


HOMING_READOUTS: dict[str, dict[str, str]] = {
    "fraction_at_tumour": {
        "unit": "1",
        "description": "fraction of cells inside the tumour or within the margin of its edge",
    },
    "fraction_in_tumour": {"unit": "1", "description": "fraction of cells inside the tumour"},
    "fraction_engrafted": {"unit": "1", "description": "fraction of cells arrested/engrafted"},
    "edge_distance": {
        "unit": "um",
        "description": "mean distance of the cells to the tumour edge (negative inside)",
    },
    "first_arrival": {
        "unit": "min",
        "description": "time when the first cell reached the tumour margin (NaN: none yet)",
    },
    "tumour_burden": {"unit": "1", "description": "tumour cells relative to the start"},
    "tumour_cxcl12": {"unit": "nM", "description": "mean CXCL12 in the tumour"},
    "tumour_trail": {
        "unit": "nM",
        "description": "mean TRAIL the tumour cells see (weighted by tumour density)",
    },
    "tumour_hif": {"unit": "1", "description": "mean HIF-1alpha activity in the tumour"},
    "hypoxic_fraction": {
        "unit": "1",
        "description": "fraction of the tumour with hypoxia H > 0.5",
    },
}


def homing_readouts(
    edge_distance_at_cells: np.ndarray, state: np.ndarray, margin: float
) -> dict[str, float]:
    """Where the cells are relative to the tumour.

    Parameters
    ----------
    edge_distance_at_cells
        (N,) signed distance of each cell to the tumour edge, um (negative inside).
    state
        (N,) cell states (1 = arrested/engrafted).
    margin
        Cells with distance <= margin count as at the tumour, um.
    """
    d = edge_distance_at_cells
    if d.size == 0 or not np.all(np.isfinite(d)):
        return {
            k: float("nan")
            for k in (
                "fraction_at_tumour",
                "fraction_in_tumour",
                "fraction_engrafted",
                "edge_distance",
            )
        }
    return {
        "fraction_at_tumour": float(np.mean(d <= margin)),
        "fraction_in_tumour": float(np.mean(d <= 0.0)),
        "fraction_engrafted": float(np.mean(state == 1)),
        "edge_distance": float(np.mean(d)),
    }


def _circulation_readouts() -> dict[str, dict[str, str]]:
    from tropism.world.circulation import COMPARTMENTS

    out = {
        f"fraction_{name}": {
            "unit": "1",
            "description": f"fraction of the injected cells in {name.replace('_', ' ')}",
        }
        for name in COMPARTMENTS
    }
    out["capture_probability"] = {
        "unit": "1",
        "description": "probability that a cell passing the tumour's vessels extravasates",
    }
    out["bound_receptors"] = {
        "unit": "1",
        "description": "signalling receptors per cell bound at the tumour's vascular chemokine "
        "level",
    }
    return out


CIRCULATION_READOUTS: dict[str, dict[str, str]] = _circulation_readouts()
"""Readouts of the systemic assay (:mod:`tropism.assays.systemic`), per population."""


def _assay_readouts() -> dict[str, dict[str, str]]:
    from tropism.scenario.schema import SPECIES_NAMES

    out = {
        "migrated_fraction": {
            "unit": "1",
            "description": "fraction of the seeded cells on the lower side of the membrane",
        },
        "migrated_count": {
            "unit": "cells",
            "description": "simulated cells on the lower side of the membrane",
        },
        "distance_travelled": {
            "unit": "um",
            "description": "mean straight-line distance of the cells from where they entered",
        },
    }
    for s in SPECIES_NAMES:
        out[f"membrane_difference_{s}"] = {
            "unit": "nM",
            "description": f"{s} at the membrane's lower face minus its upper face",
        }
    return out


ASSAY_READOUTS: dict[str, dict[str, str]] = _assay_readouts()
"""Readouts of the Transwell and brain assays (:mod:`tropism.assays.transwell`,
:mod:`tropism.assays.intracranial`); the membrane differences belong to population
``"medium"``."""
