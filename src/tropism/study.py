"""Conditions x replicates: run every replicate (in parallel processes), then summarise.

Each replicate gets its own generator from ``SeedSequence(seed, spawn_key=(crc32(condition
name), replicate))``: results depend neither on the number of worker processes nor on the
order in which conditions are listed, and every condition's replicates are independent (as
separate wells are).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_all_start_methods, get_context

import numpy as np
import pandas as pd
import xarray as xr

from tropism.assays import TEMPLATES
from tropism.assays.therapy import relative_summary
from tropism.engine import Engine
from tropism.observe.observers import FieldObserver, ReadoutObserver, TrackObserver
from tropism.observe.readouts import (
    ASSAY_READOUTS,
    CIRCULATION_READOUTS,
    HOMING_READOUTS,
    READOUTS,
)
from tropism.stats import summarize


@dataclass
class ReplicateOutput:
    """What one replicate returns to the study."""

    condition: str
    replicate: int
    metrics: pd.DataFrame
    tracks: pd.DataFrame
    field_times: np.ndarray | None
    field_values: dict[str, np.ndarray] | None
    coords: dict[str, np.ndarray]
    timings: dict[str, float] | None = None  # Engine.timings (wall time per phase, s)
    world: object | None = None  # the final World, only with keep_world=True (benchmarks)


def replicate_seed(seed: int, condition: str, replicate: int) -> np.random.SeedSequence:
    """The seed sequence of one replicate (stable across workers and condition order)."""
    return np.random.SeedSequence(seed, spawn_key=(zlib.crc32(condition.encode()), replicate))


def run_replicate(
    scenario,
    condition: str,
    replicate: int,
    snapshots: bool = False,
    progress: Callable[[float], None] | None = None,
    keep_world: bool = False,
) -> ReplicateOutput:
    """Build the assay and run one replicate of one condition.

    ``keep_world`` returns the final world too (benchmarks measure its memory).
    """
    ss = replicate_seed(scenario.scenario.seed, condition, replicate)
    rng = np.random.default_rng(ss)
    # Track sampling draws from its own stream so that the number of stored tracks never
    # changes the cells' motion.
    track_rng = np.random.default_rng(
        np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, 1))
    )
    built = TEMPLATES[scenario.scenario.assay](scenario, rng)
    num = scenario.numerics
    readouts = ReadoutObserver(num.readout_interval)
    tracks = TrackObserver(num.track_interval, num.track_cells, track_rng)
    observers = [readouts, tracks]
    fields = FieldObserver(num.readout_interval) if snapshots else None
    if fields is not None:
        observers.append(fields)
    engine = Engine(
        built.world,
        dt=num.dt,
        field_dt=num.field_dt,
        duration=scenario.scenario.duration,
        events=built.events,
        observers=observers,
        rng=rng,
        progress=progress,
        tumour_dt=num.tumour_dt,
    )
    engine.run()
    times, values = fields.result() if fields is not None else (None, None)
    return ReplicateOutput(
        condition=condition,
        replicate=replicate,
        metrics=readouts.result(),
        tracks=tracks.result(),
        field_times=times,
        field_values=values,
        coords=built.world.grid.coords(),
        timings=dict(engine.timings),
        world=built.world if keep_world else None,
    )


def _task(args):
    scenario, condition, replicate, snapshots = args
    return run_replicate(scenario, condition, replicate, snapshots)


def _set_threads(threads: int) -> None:
    """Worker initializer: Numba threads of this process (at most NUMBA_NUM_THREADS)."""
    import numba

    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


@dataclass
class StudyOutput:
    """Everything a study produced, before it is written to a run folder."""

    summary: dict
    metrics: pd.DataFrame
    tracks: pd.DataFrame
    fields: xr.Dataset


def run_study(
    spec,
    *,
    workers: int | None = None,
    test: str = "welch",
    progress: Callable[[float], None] | None = None,
) -> StudyOutput:
    """Run every condition x replicate of a :class:`~tropism.scenario.ScenarioSpec`.

    Parameters
    ----------
    spec
        The loaded scenario (conditions already resolved).
    workers
        Worker processes; ``None`` or 0 uses the scenario's ``numerics.workers`` (0 = all
        cores). 1 runs in this process.
    test
        ``"welch"`` or ``"mannwhitney"`` for the comparisons against the first condition.
    progress
        Optional callback ``progress(fraction_done)``.
    """
    tasks = []
    for name, scenario in spec.conditions:
        for r in range(scenario.scenario.replicates):
            tasks.append((scenario, name, r, r == 0 and scenario.numerics.field_snapshots))
    n_workers = workers or spec.base.numerics.workers or os.cpu_count() or 1
    n_workers = max(1, min(n_workers, len(tasks)))
    outputs: list[ReplicateOutput] = []
    if n_workers == 1:
        for i, t in enumerate(tasks):
            sub = None
            if progress is not None:

                def sub(frac, i=i):
                    progress((i + frac) / len(tasks))

            outputs.append(run_replicate(*t, progress=sub))
    else:
        # share the cores: each worker's Numba kernels get cores // workers threads
        threads = max(1, (os.cpu_count() or 1) // n_workers)
        with ProcessPoolExecutor(
            n_workers, mp_context=_context(), initializer=_set_threads, initargs=(threads,)
        ) as pool:
            futures = [pool.submit(_task, t) for t in tasks]
            for done, fut in enumerate(as_completed(futures), start=1):
                outputs.append(fut.result())
                if progress is not None:
                    progress(done / len(tasks))
    order = {name: i for i, (name, _) in enumerate(spec.conditions)}
    outputs.sort(key=lambda o: (order[o.condition], o.replicate))
    return _collect(spec, outputs, test)


def _context():
    """Fork where the platform has it: workers then need no re-import of the caller's
    ``__main__`` (plain scripts without a ``__main__`` guard work); spawn elsewhere."""
    return get_context("fork" if "fork" in get_all_start_methods() else "spawn")


def _collect(spec, outputs: list[ReplicateOutput], test: str) -> StudyOutput:
    metrics = pd.concat(
        [o.metrics.assign(condition=o.condition, replicate=o.replicate) for o in outputs],
        ignore_index=True,
    )[["condition", "replicate", "population", "time", "readout", "value"]]
    tracks = pd.concat(
        [o.tracks.assign(condition=o.condition, replicate=o.replicate) for o in outputs],
        ignore_index=True,
    )
    tracks = tracks[["condition", "replicate", "population", "cell", "time", "x", "y", "z"]]
    not_cells = ("tumour", "medium")  # rows about the tumour or the Transwell medium
    populations = [p for p in dict.fromkeys(metrics["population"]) if p not in not_cells]
    last = metrics.groupby(["condition", "replicate"])["time"].transform("max")
    end = metrics[metrics["time"] == last].copy()
    if len(populations) > 1:
        cells = ~end["population"].isin(not_cells)
        end.loc[cells, "readout"] = end["population"] + "." + end["readout"]
    readout_info = {}
    for name in dict.fromkeys(end["readout"]):
        base = name.split(".")[-1]
        readout_info[name] = {
            **READOUTS,
            **HOMING_READOUTS,
            **CIRCULATION_READOUTS,
            **ASSAY_READOUTS,
        }[base]
    names = [n for n, _ in spec.conditions]
    summary = summarize(
        end[["condition", "replicate", "readout", "value"]], names, readout_info, test
    )
    summary["scenario"] = spec.base.scenario.name
    summary["description"] = spec.base.scenario.description
    summary["assay"] = spec.base.scenario.assay
    summary["duration_min"] = spec.base.scenario.duration
    relative = relative_summary(metrics[metrics["population"] == "tumour"], names, test)
    if relative is not None:  # tumour burden over the first (untreated) condition's
        summary["relative_to_control"] = relative
    return StudyOutput(
        summary=summary, metrics=metrics, tracks=tracks, fields=_fields(outputs, names)
    )


#: Units and names of the non-chemokine maps in fields.zarr.
MAP_UNITS = {
    "tumour": ("1", "tumour cell density (fraction of carrying capacity)"),
    "po2": ("mmHg", "oxygen partial pressure"),
    "hypoxia": ("1", "hypoxia H (Hill function of pO2)"),
    "hif": ("1", "HIF-1alpha activity"),
    "cells": ("cells", "cells per voxel (every population)"),
}


def _fields(outputs: list[ReplicateOutput], names: list[str]) -> xr.Dataset:
    snaps = {o.condition: o for o in outputs if o.field_values is not None}
    if not snaps:
        return xr.Dataset()
    first = next(iter(snaps.values()))
    axes = list(first.coords)
    fields = list(dict.fromkeys(s for o in snaps.values() for s in o.field_values))
    conds = [n for n in names if n in snaps]
    times = first.field_times
    data = {}
    for s in fields:
        grid_shape = next(
            o.field_values[s].shape[1:] for o in snaps.values() if s in o.field_values
        )
        arr = np.full((len(conds), len(times), *grid_shape), np.nan)
        for i, c in enumerate(conds):
            o = snaps[c]
            if s in o.field_values and len(o.field_times) == len(times):
                arr[i] = o.field_values[s]
        units, long_name = MAP_UNITS.get(s, ("nM", f"{s} concentration"))
        data[s] = xr.DataArray(
            arr, dims=("condition", "time", *axes), attrs={"units": units, "long_name": long_name}
        )
    ds = xr.Dataset(data, coords={"condition": conds, "time": times, **first.coords})
    ds["time"].attrs["units"] = "min"
    for ax in axes:
        ds[ax].attrs["units"] = "um"
    ds.attrs["replicate"] = 0
    return ds
