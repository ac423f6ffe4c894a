"""Observers: called by the engine at scheduled times, like py-pde's trackers.

Each observer has an ``interval`` (min); the engine calls ``start(world)`` once, then
``observe(world)`` at t = 0 and every ``interval`` (and at the end), then ``finish(world)``.
Observers only read the world; what they collect is returned by ``result()``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tropism.observe.readouts import track_readouts
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


class ReadoutObserver(Observer):
    """Track readouts (FMI, chemotactic index, speed, ...) of every population over time."""

    def __init__(self, interval: float):
        self.interval = float(interval)
        self.rows: list[tuple[float, str, str, float]] = []

    def observe(self, world: World) -> None:
        if world.time <= 0.0:
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
    """Snapshots of every chemokine field."""

    def __init__(self, interval: float):
        self.interval = float(interval)
        self.times: list[float] = []
        self.snapshots: list[np.ndarray] = []

    def observe(self, world: World) -> None:
        self.times.append(world.time)
        self.snapshots.append(world.values.copy())

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(times (T,), values (T, F, *grid.shape))."""
        return np.asarray(self.times), np.asarray(self.snapshots)
