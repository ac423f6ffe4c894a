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
