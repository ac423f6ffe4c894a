"""The time loop: operator splitting of fields and cells, events, observers.

One motility step of length dt moves every cell (Numba kernel); the fields are advanced by
one implicit step every ``field_every`` motility steps (backward Euler is stable at any
step, so the field step may be much longer than the motility step). Events are applied at
the start of the first step at or after their time; observers are called on their own
schedules. The cell kernels draw their random numbers from per-cell counter-based streams
(:mod:`tropism.world.streams`) keyed by two words drawn once from the replicate's generator,
so results do not depend on threads. Mechanics (soft-sphere pushes, cell list) are computed
from the positions at the start of a step and added to that step's motility displacement.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from tropism.events import Event
from tropism.observe.observers import Observer
from tropism.world.cells import MIGRATING
from tropism.world.mechanics import CellList, push_displacements
from tropism.world.motility import step_cells
from tropism.world.streams import key_from_generator, stream_id
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
    tumour_dt
        Step of the tumour microenvironment (oxygen, HIF, growth, secretion), min; default
        ``field_dt``.
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
        tumour_dt: float | None = None,
    ):
        self.world = world
        self.dt = float(dt)
        self.tumour_every = max(1, int(round((tumour_dt or field_dt) / dt)))
        self.n_steps = max(1, int(round(duration / dt)))
        self.field_every = max(1, int(round(field_dt / dt)))
        self.events = sorted(events, key=lambda e: e.time)
        self.observers = list(observers)
        self.rng = rng
        self.progress = progress
        self.timings = {
            "events": 0.0,
            "fields": 0.0,
            "sensing": 0.0,
            "mechanics": 0.0,
            "motility": 0.0,
            "biology": 0.0,
            "observers": 0.0,
        }
        """Wall time spent per phase, seconds (for benchmarks). ``sensing``: rebuilding the
        sampled fields and gradients after a field step (the per-cell sampling is fused into
        the motility kernel and counted there); ``mechanics``: cell list and pushes."""
        self.key = key_from_generator(rng)
        """Key of the per-cell random streams (drawn once from the replicate's generator)."""
        self._origin = world.origin3()
        self._no_push = np.zeros((0, 3))
        self._no_xi = np.zeros((0, 3))
        self._cell_list = CellList(world.lo, world.hi, world.ndim)
        self._mech_cache: tuple | None = None

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
            if world.micro is not None and step % self.tumour_every == 0:
                world.step_tumour(self.tumour_every * self.dt)
            if world.circulation is not None and step % self.tumour_every == 0:
                world.circulation.step(world, self.tumour_every * self.dt, self.rng)
            t1 = clock()
            refreshed = False
            if step % self.field_every == 0 and world.solvers:
                world.step_fields(self.field_every * self.dt, refresh=False)
                refreshed = True
            t2 = clock()
            if refreshed:
                world.refresh_sense()
            t2s = clock()
            push = self._mechanics()
            t2m = clock()
            self._set_speed_scales()
            self._move_cells(step, push)
            for hook in world.hooks:  # assay rules: walls, membranes, settling
                hook.after_move(world, self.dt, self.rng)
            t3 = clock()
            self._cell_biology()
            t3b = clock()
            world.time = (step + 1) * self.dt
            last = step + 1 == self.n_steps
            for obs, k in zip(self.observers, every, strict=True):
                if (step + 1) % k == 0 or (last and (step + 1) % k != 0):
                    obs.observe(world)
            t4 = clock()
            timings["events"] += t1 - t0
            timings["fields"] += t2 - t1
            timings["sensing"] += t2s - t2
            timings["mechanics"] += t2m - t2s
            timings["motility"] += t3 - t2m
            timings["biology"] += t3b - t3
            timings["observers"] += t4 - t3b
            if self.progress is not None and ((step + 1) % report_every == 0 or last):
                self.progress((step + 1) / self.n_steps)
        for obs in self.observers:
            obs.finish(world)
        return world

    def _set_speed_scales(self) -> None:
        """Per-cell random-speed multipliers: preconditioning x chemokinesis (x the tissue
        factors of the world's hooks, which multiply theirs in every step)."""
        world = self.world
        for index, (pop, bio) in enumerate(zip(world.populations, world.biology, strict=True)):
            if pop.count == 0:
                continue
            if bio is not None and (bio.chemokinesis_gain > 0 or bio.m_speed != 1.0):
                pop.speed_scale = bio.speed_scale(
                    pop,
                    world.time,
                    world,
                    world.receptor_tables[index],
                    world.receptor_weights(index),
                )
            elif world.hooks:  # start from 1: the hooks' factors must not compound
                pop.speed_scale = np.ones(pop.count)
        for hook in world.hooks:
            hook.before_move(world, self.dt)

    def _cell_biology(self) -> None:
        """Receptor kinetics and ligand uptake, arrest, secretion over the step just taken."""
        world = self.world
        for index, (pop, bio) in enumerate(zip(world.populations, world.biology, strict=True)):
            if bio is not None and pop.count:
                bio.step(pop, world, world.receptor_tables[index], world.time, self.dt, self.rng)

    def _mechanics(self) -> list[np.ndarray | None]:
        """Soft-sphere pushes of this step, per population (None where mechanics is off).

        Every population with mechanics on takes part in one cell list (cells of different
        kinds push each other); only migrating cells (state 0) push and are pushed.
        """
        pops = self.world.populations
        members = tuple(i for i, p in enumerate(pops) if p.params.mechanics and p.count > 0)
        result: list[np.ndarray | None] = [None] * len(pops)
        if not members:
            return result
        counts = tuple(pops[i].count for i in members)
        if self._mech_cache is None or self._mech_cache[0] != (members, counts):
            radius = np.concatenate(
                [np.full(pops[i].count, pops[i].params.radius) for i in members]
            )
            speed = np.concatenate(
                [np.full(pops[i].count, pops[i].params.repulsion) for i in members]
            )
            self._mech_cache = ((members, counts), radius, speed, np.empty((sum(counts), 3)))
        _, radius, speed, out = self._mech_cache
        if len(members) == 1:
            pos = pops[members[0]].pos
            active = pops[members[0]].state == MIGRATING
        else:
            pos = np.concatenate([pops[i].pos for i in members])
            active = np.concatenate([pops[i].state == MIGRATING for i in members])
        push_displacements(pos, radius, speed, active, self._cell_list, self.dt, out)
        offset = 0
        for i, n in zip(members, counts, strict=True):
            result[i] = out[offset : offset + n]
            offset += n
        return result

    def _move_cells(self, step: int, push: list[np.ndarray | None]) -> None:
        world = self.world
        spacing = float(world.grid.spacing)
        for index, pop in enumerate(world.populations):
            n = pop.count
            if n == 0:
                continue
            if pop.speed_scale.shape[0] != n:
                pop.speed_scale = np.ones(n)
            table = world.receptor_tables[index]
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
                self._origin,
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
                pop.speed_scale,
                self._no_push if push[index] is None else push[index],
                pop.ids,
                self.key,
                step,
                stream_id(index),
                self._no_xi,
                self._no_xi,
            )
