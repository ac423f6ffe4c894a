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
from tropism.engine import Engine
from tropism.observe.observers import FieldObserver, ReadoutObserver, TrackObserver
from tropism.observe.readouts import READOUTS
from tropism.stats import summarize


@dataclass
class ReplicateOutput:
    """What one replicate returns to the study."""

    condition: str
    replicate: int
    metrics: pd.DataFrame
    tracks: pd.DataFrame
    field_times: np.ndarray | None
    field_values: np.ndarray | None
    species: list[str]
    coords: dict[str, np.ndarray]


def replicate_seed(seed: int, condition: str, replicate: int) -> np.random.SeedSequence:
    """The seed sequence of one replicate (stable across workers and condition order)."""
    return np.random.SeedSequence(seed, spawn_key=(zlib.crc32(condition.encode()), replicate))


def run_replicate(
    scenario,
    condition: str,
    replicate: int,
    snapshots: bool = False,
    progress: Callable[[float], None] | None = None,
) -> ReplicateOutput:
    """Build the assay and run one replicate of one condition."""
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
    Engine(
        built.world,
        dt=num.dt,
        field_dt=num.field_dt,
        duration=scenario.scenario.duration,
        events=built.events,
        observers=observers,
        rng=rng,
        progress=progress,
    ).run()
    times, values = fields.result() if fields is not None else (None, None)
    return ReplicateOutput(
        condition=condition,
        replicate=replicate,
        metrics=readouts.result(),
        tracks=tracks.result(),
        field_times=times,
        field_values=values,
        species=list(built.world.species),
        coords=built.world.grid.coords(),
    )


def _task(args):
    scenario, condition, replicate, snapshots = args
    return run_replicate(scenario, condition, replicate, snapshots)


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
        with ProcessPoolExecutor(n_workers, mp_context=_context()) as pool:
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
    populations = list(dict.fromkeys(metrics["population"]))
    end = metrics[
        metrics["time"] == metrics.groupby(["condition", "replicate"])["time"].transform("max")
    ]
    end = end.copy()
    if len(populations) > 1:
        end["readout"] = end["population"] + "." + end["readout"]
    readout_info = {}
    for name in dict.fromkeys(end["readout"]):
        base = name.split(".")[-1]
        readout_info[name] = READOUTS[base]
    names = [n for n, _ in spec.conditions]
    summary = summarize(
        end[["condition", "replicate", "readout", "value"]], names, readout_info, test
    )
    summary["scenario"] = spec.base.scenario.name
    summary["description"] = spec.base.scenario.description
    summary["assay"] = spec.base.scenario.assay
    summary["duration_min"] = spec.base.scenario.duration
    return StudyOutput(
        summary=summary, metrics=metrics, tracks=tracks, fields=_fields(outputs, names)
    )


def _fields(outputs: list[ReplicateOutput], names: list[str]) -> xr.Dataset:
    snaps = {o.condition: o for o in outputs if o.field_values is not None}
    if not snaps:
        return xr.Dataset()
    first = next(iter(snaps.values()))
    axes = list(first.coords)
    species = list(dict.fromkeys(s for o in snaps.values() for s in o.species))
    conds = [n for n in names if n in snaps]
    times = first.field_times
    data = {}
    for s in species:
        arr = np.full((len(conds), len(times), *first.field_values.shape[2:]), np.nan)
        for i, c in enumerate(conds):
            o = snaps[c]
            if s in o.species and len(o.field_times) == len(times):
                arr[i] = o.field_values[:, o.species.index(s)]
        data[s] = xr.DataArray(
            arr,
            dims=("condition", "time", *axes),
            attrs={"units": "nM", "long_name": f"{s} concentration"},
        )
    ds = xr.Dataset(data, coords={"condition": conds, "time": times, **first.coords})
    ds["time"].attrs["units"] = "min"
    for ax in axes:
        ds[ax].attrs["units"] = "um"
    ds.attrs["replicate"] = 0
    return ds
