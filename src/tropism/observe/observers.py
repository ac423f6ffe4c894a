"""Observers: called by the engine at scheduled times, like py-pde's trackers.

Each observer has an ``interval`` (min); the engine calls ``start(world)`` once, then
``observe(world)`` at t = 0 and every ``interval`` (and at the end), then ``finish(world)``.
Observers only read the world; what they collect is returned by ``result()``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tropism.observe.readouts import homing_readouts, track_readouts
from tropism.world.tumour import tumour_edge_distance
from tropism.world.world import World


class Observer:
    """Base class: override what you need."""

    interval: float = 0.0

    def start(self, world: World) -> None:
        """Called once before the first step."""

    def observe(self, world: World) -> None:
        """Called at t = 0, every ``interval`` and at the end."""

    def finish(self, world: World) -> None:
        """Called once after the last step."""


#: Tumour density (fraction of carrying capacity) that counts as tumour tissue in the
#: readouts. Assumed: low enough that an irradiated, thinning tumour still has an edge.
TUMOUR_THRESHOLD = 0.1


class ReadoutObserver(Observer):
    """Readouts of every population over time.

    Track readouts (FMI, chemotactic index, speed, ...) where the world has a gradient
    direction; homing readouts (fraction at the tumour, distance to its edge, first arrival)
    and tumour readouts (burden, CXCL12, HIF, hypoxia) where it has a tumour. First arrival
    is resolved to the readout interval.
    """

    def __init__(self, interval: float):
        self.interval = float(interval)
        self.rows: list[tuple[float, str, str, float]] = []
        self._first: dict[str, float] = {}
        self._burden0: float | None = None

    def start(self, world: World) -> None:
        if world.micro is not None:
            self._burden0 = float(world.micro.density.sum())

    def observe(self, world: World) -> None:
        if world.time <= 0.0:
            return
        if world.micro is not None:
            self._observe_tumour(world)
        if world.circulation is not None:
            for pop_name, name, value in world.circulation.readouts(world):
                self.rows.append((world.time, pop_name, name, value))
        for hook in world.hooks:  # assay readouts (Transwell passage, distance travelled)
            for pop_name, name, value in hook.readouts(world):
                self.rows.append((world.time, pop_name, name, value))
        if world.up is None:
            return
        for pop in world.populations:
            moving = pop.state == 0
            values = track_readouts(
                pop.start[moving],
                pop.pos[moving],
                pop.path[moving],
                world.time - pop.birth[moving],
                world.up,
            )
            for name, value in values.items():
                self.rows.append((world.time, pop.name, name, value))

    def _observe_tumour(self, world: World) -> None:
        micro = world.micro
        # the tumour is where its cells fill at least TUMOUR_THRESHOLD of carrying capacity
        dist = tumour_edge_distance(micro.density, world.grid.spacing, TUMOUR_THRESHOLD)
        dist = np.where(np.isfinite(dist), dist, np.nan)  # no tumour left: undefined
        h = world.grid.spacing
        shape = np.array(dist.shape)
        for pop in world.populations:
            idx = np.floor((pop.pos[:, : world.ndim] - world.grid.lo) / h).astype(np.int64)
            idx = np.clip(idx, 0, shape - 1)
            d = dist[tuple(idx.T)]
            values = homing_readouts(d, pop.state, world.margin)
            if pop.name not in self._first and values["fraction_at_tumour"] > 0:
                self._first[pop.name] = world.time
            values["first_arrival"] = self._first.get(pop.name, float("nan"))
            for name, value in values.items():
                self.rows.append((world.time, pop.name, name, value))
        inside = micro.density >= TUMOUR_THRESHOLD
        tumour = {
            "tumour_burden": float(micro.density.sum()) / (self._burden0 or 1.0),
            "tumour_hif": float(micro.hif[inside].mean()) if inside.any() else float("nan"),
        }
        if "cxcl12" in world.species:
            c = world.values[world.field_index("cxcl12")]
            tumour["tumour_cxcl12"] = float(c[inside].mean()) if inside.any() else float("nan")
        if "trail" in world.species:  # what the tumour cells see, weighted by their density
            rho, c = micro.density, world.values[world.field_index("trail")]
            total = float(rho.sum())
            tumour["tumour_trail"] = float((rho * c).sum()) / total if total > 0 else float("nan")
        if np.all(np.isfinite(micro.po2)) and inside.any():
            tumour["hypoxic_fraction"] = float(np.mean(micro.hypoxia_map()[inside] > 0.5))
        for name, value in tumour.items():
            self.rows.append((world.time, "tumour", name, value))

    def result(self) -> pd.DataFrame:
        """Long table: time, population, readout, value."""
        return pd.DataFrame(self.rows, columns=["time", "population", "readout", "value"])


class TrackObserver(Observer):
    """Positions of a random sample of cells per population (chosen at the start)."""

    def __init__(self, interval: float, n_cells: int, rng: np.random.Generator):
        self.interval = float(interval)
        self.n_cells = int(n_cells)
        self.rng = rng
        self.chosen: dict[str, np.ndarray] = {}
        self.rows: list[pd.DataFrame] = []

    def start(self, world: World) -> None:
        for pop in world.populations:
            k = min(self.n_cells, pop.count)
            self.chosen[pop.name] = np.sort(self.rng.choice(pop.count, size=k, replace=False))

    def observe(self, world: World) -> None:
        for pop in world.populations:
            idx = self.chosen.get(pop.name)
            if idx is None or idx.size == 0:
                continue
            p = pop.pos[idx]
            self.rows.append(
                pd.DataFrame(
                    {
                        "population": pop.name,
                        "cell": pop.ids[idx],
                        "time": world.time,
                        "x": p[:, 0],
                        "y": p[:, 1],
                        "z": p[:, 2],
                    }
                )
            )

    def result(self) -> pd.DataFrame:
        """Long table: population, cell, time, x, y, z (um)."""
        if not self.rows:
            cols = ["population", "cell", "time", "x", "y", "z"]
            return pd.DataFrame({c: [] for c in cols})
        return pd.concat(self.rows, ignore_index=True)


class FieldObserver(Observer):
    """Snapshots of every field: chemokines, and tumour, oxygen, hypoxia, HIF maps."""

    def __init__(self, interval: float):
        self.interval = float(interval)
        self.times: list[float] = []
        self.snapshots: list[dict[str, np.ndarray]] = []

    def observe(self, world: World) -> None:
        self.times.append(world.time)
        self.snapshots.append(world.maps())

    def result(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(times (T,), {name: values (T, *grid.shape)})."""
        names = list(dict.fromkeys(k for snap in self.snapshots for k in snap))
        return np.asarray(self.times), {
            n: np.asarray([snap[n] for snap in self.snapshots]) for n in names
        }
