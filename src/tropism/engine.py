"""The time loop: operator splitting of fields and cells, events, observers.

One motility step of length dt moves every cell (Numba kernel); the fields are advanced by
one implicit step every ``field_every`` motility steps (backward Euler is stable at any
step, so the field step may be much longer than the motility step). Events are applied at
the start of the first step at or after their time; observers are called on their own
schedules. Random numbers for the kernels are drawn in bulk from the replicate's generator,
so results do not depend on threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from tropism.events import Event
from tropism.observe.observers import Observer
from tropism.world.motility import step_cells
from tropism.world.world import World

_EPS = 1e-9


class Engine:
    """Advances a :class:`~tropism.world.world.World` from t = 0 to ``duration``.

    Parameters
    ----------
    world
        The world built by an assay.
    dt
        Motility step, min.
    field_dt
        Field step, min (rounded to a whole number of motility steps, at least one).
    duration
        Simulated time, min.
    events
        Events on the timeline.
    observers
        Observers called on their schedules.
    rng
        The replicate's generator (the only source of randomness).
    progress
        Optional callback ``progress(fraction_done)`` called every few percent.
    """

    def __init__(
        self,
        world: World,
        *,
        dt: float,
        field_dt: float,
        duration: float,
        events: Sequence[Event] = (),
        observers: Sequence[Observer] = (),
        rng: np.random.Generator,
        progress: Callable[[float], None] | None = None,
    ):
        self.world = world
        self.dt = float(dt)
        self.n_steps = max(1, int(round(duration / dt)))
        self.field_every = max(1, int(round(field_dt / dt)))
        self.events = sorted(events, key=lambda e: e.time)
        self.observers = list(observers)
        self.rng = rng
        self.progress = progress
        self.timings = {"fields": 0.0, "motility": 0.0, "observers": 0.0, "events": 0.0}
        """Wall time spent per phase, seconds (for benchmarks)."""

    def run(self) -> World:
        """Run to the end; returns the world in its final state."""
        world = self.world
        world.refresh_sense()
        for obs in self.observers:
            obs.start(world)
            obs.observe(world)
        every = [max(1, int(round(obs.interval / self.dt))) for obs in self.observers]
        pending = list(self.events)
        report_every = max(1, self.n_steps // 50)
        clock = time.perf_counter
        timings = self.timings
        for step in range(self.n_steps):
            t0 = clock()
            world.time = step * self.dt
            while pending and pending[0].time <= world.time + _EPS:
                pending.pop(0).apply(world, self.rng)
            for drug in world.drugs.values():
                drug.update(world.time)
            t1 = clock()
            if step % self.field_every == 0 and world.solvers:
                world.step_fields(self.field_every * self.dt)
            t2 = clock()
            self._move_cells()
            t3 = clock()
            world.time = (step + 1) * self.dt
            last = step + 1 == self.n_steps
            for obs, k in zip(self.observers, every, strict=True):
                if (step + 1) % k == 0 or (last and (step + 1) % k != 0):
                    obs.observe(world)
            t4 = clock()
            timings["events"] += t1 - t0
            timings["fields"] += t2 - t1
            timings["motility"] += t3 - t2
            timings["observers"] += t4 - t3
            if self.progress is not None and ((step + 1) % report_every == 0 or last):
                self.progress((step + 1) / self.n_steps)
        for obs in self.observers:
            obs.finish(world)
        return world

    def _move_cells(self) -> None:
        world = self.world
        origin = world.origin3()
        spacing = float(world.grid.spacing)
        for index, pop in enumerate(world.populations):
            n = pop.count
            if n == 0:
                continue
            table = world.receptor_tables[index]
            xi_move = self.rng.standard_normal((n, 3))
            xi_sense = self.rng.standard_normal((n, 3))
            p = pop.params
            step_cells(
                pop.pos,
                pop.vel,
                pop.path,
                pop.state,
                pop.receptors,
                table.ligand,
                table.kd,
                world.receptor_weights(index),
                world.sense,
                origin,
                spacing,
                world.lo,
                world.hi,
                world.ndim,
                self.dt,
                p.persistence,
                p.speed,
                p.chemotactic_speed,
                p.half_max_signal,
                p.cell_length,
                p.noise_scale,
                xi_move,
                xi_sense,
            )
