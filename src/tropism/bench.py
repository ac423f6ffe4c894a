"""Named benchmark workloads for ``tropism bench`` (speed is tracked here, never in tests).

Workloads:

- ``matched-1e3``, ``matched-1e4``, ``matched-1e5``: the matched chemotaxis set-up of the
  leading C++ simulator (:mod:`tropism.matched`), one simulated day with the C++ run's
  mechanics/motility step of 0.1 min, fields stepped implicitly every 1 min (tropism's
  default, converged: ``tests/test_convergence.py``; the C++ run steps diffusion explicitly
  every 0.01 min); ``...-default``: the same at tropism's default motility step, 0.5 min;
  ``matched-1e6``: 10^6 cells for one simulated hour at the default steps (memory);
- ``3d``: the gradient assay in 3-D, 128^3 grid (20 um), 3 chemokines, 10^5 cells, 2 h;
- ``transwell``, ``intracranial``: the first built-in scenario of that assay at its default
  size (available once those assay templates exist);
- ``standard``, ``quick``: the 2-D gradient assay, 10^5 cells on 256^2 for one day, and a
  small smoke run.

Scenario workloads run one replicate of one condition through the same code path as
``tropism run`` (:func:`tropism.study.run_replicate`); the matched ones build their world
directly. Each is measured once: wall time (set-up, run, output), agent-steps and
voxel-updates per second, time per phase (fields, sensing, mechanics, motility, biology,
observers, output, events), peak memory, bytes of cell state per agent, Numba threads and
threading layer. Kernels are loaded (or compiled) first on a tiny copy, so the run is timed
alone; ``kernel_load_s`` is that start-up cost. ``run_cpu_s`` (CPU time of all threads
during the run) and ``load_average`` (the 1-minute system load at the end) tell how far a wall
time was stretched by other work on the machine.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import xarray as xr

from tropism.errors import TropismError
from tropism.world.motility import PARALLEL_MIN_CELLS

__all__ = ["WORKLOADS", "Workload", "cell_state_bytes", "run_workload"]


@dataclass(frozen=True)
class Workload:
    """A benchmark.

    ``kind``: ``"scenario"`` (a built-in scenario with overrides), ``"assay"`` (the first
    built-in scenario whose assay is ``scenario``, at its default size) or ``"matched"``.
    """

    description: str
    kind: str
    scenario: str = ""
    condition: str | None = None  # None: the first condition
    overrides: tuple[str, ...] = ()
    cells: int = 0  # matched: stem cells
    dt: float = 0.1  # matched: motility step, min
    field_dt: float = 0.1  # matched: field step, min
    duration: float = 1440.0  # matched: simulated time, min


_GRADIENT = "msc-gradient-cxcl12"
_DAY = "one simulated day"


def _matched(n: int, default_step: bool, duration: float = 1440.0) -> Workload:
    steps = "motility 0.5 min (default)" if default_step else "motility/mechanics 0.1 min"
    when = _DAY if duration == 1440.0 else f"{duration:g} simulated min"
    return Workload(
        f"matched chemotaxis set-up, {n:.0e} stem cells + 190 tumour cells, mechanics on, "
        f"{when}, {steps}, implicit fields 1 min",
        "matched",
        cells=n,
        dt=0.5 if default_step else 0.1,
        field_dt=1.0,
        duration=duration,
    )


WORKLOADS: dict[str, Workload] = {
    "matched-1e3": _matched(1_000, False),
    "matched-1e4": _matched(10_000, False),
    "matched-1e5": _matched(100_000, False),
    "matched-1e3-default": _matched(1_000, True),
    "matched-1e4-default": _matched(10_000, True),
    "matched-1e5-default": _matched(100_000, True),
    "matched-1e6": _matched(1_000_000, True, duration=60.0),
    "3d": Workload(
        "gradient assay in 3-D, 128^3 grid (20 um), 3 chemokines, 1e5 MSCs, 2 simulated h",
        "scenario",
        _GRADIENT,
        "CXCL12 100 ng/mL",
        (
            "scenario.dimensions=3",
            'assay.length="2560 um"',
            'assay.width="2560 um"',
            'assay.depth="2560 um"',
            'assay.grid_spacing="20 um"',
            'assay.source={cxcl12="100 ng/mL", ccl2="50 ng/mL", il8="50 ng/mL"}',
            "cells.msc.receptors={cxcr4=2000.0, cxcr7=5000.0, ccr2=1000.0, cxcr1=1000.0}",
            "cells.msc.count=100000",
            'scenario.duration="2 h"',
            "numerics.track_cells=100",
        ),
    ),
    "transwell": Workload(
        "the first built-in Transwell scenario, default size", "assay", "transwell"
    ),
    "intracranial": Workload(
        "the first built-in intracranial (brain slice) scenario, default size",
        "assay",
        "intracranial",
    ),
    "standard": Workload(
        "gradient assay, 1e5 MSCs, 256x256 grid (20 um), CXCL12, 1 simulated day, dt 0.5 min",
        "scenario",
        _GRADIENT,
        "CXCL12 100 ng/mL",
        (
            "cells.msc.count=100000",
            'assay.length="5120 um"',
            'assay.width="5120 um"',
            'assay.grid_spacing="20 um"',
            'scenario.duration="24 h"',
            "numerics.track_cells=100",
        ),
    ),
    "quick": Workload(
        "gradient assay, 1e4 MSCs, 128x128 grid, 2 simulated hours (a smoke benchmark)",
        "scenario",
        _GRADIENT,
        "CXCL12 100 ng/mL",
        (
            "cells.msc.count=10000",
            'assay.length="2560 um"',
            'assay.width="2560 um"',
            'assay.grid_spacing="20 um"',
            'scenario.duration="2 h"',
        ),
    ),
}

_WARM_UP_CELLS = PARALLEL_MIN_CELLS + 16
"""Cells of the warm-up run: enough for the parallel kernels to be loaded (or compiled) too."""

_ASSAY_ALIASES = {"intracranial": ("intracranial", "brain")}


def cell_state_bytes(populations) -> int:
    """Bytes held by the per-cell arrays of the populations (their structure-of-arrays)."""
    total = 0
    for pop in populations:
        n = pop.count
        for f in fields(pop):
            value = getattr(pop, f.name)
            if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == n:
                total += value.nbytes
    return total


def _rss_mb() -> float:
    """Current resident memory, MB (Linux /proc; 0 where unavailable)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _write_outputs(metrics, tracks, times, values, coords) -> float:
    """Write metrics, tracks and field snapshots as a run folder would; returns seconds."""
    from tropism.store import RunWriter

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        with RunWriter(Path(tmp) / "bench") as run:
            run.write_frame("metrics.parquet", metrics)
            run.write_frame("tracks.parquet", tracks)
            if values:
                axes = list(coords)
                data = {
                    name: xr.DataArray(arr, dims=("time", *axes), attrs={"units": "nM"})
                    for name, arr in values.items()
                }
                run.write_dataset("fields.zarr", xr.Dataset(data, coords={"time": times, **coords}))
            run.commit()
    return time.perf_counter() - t0


def _scenario_for(w: Workload):
    from tropism.scenario import list_builtin, load_scenario

    name = w.scenario
    if w.kind == "assay":
        wanted = _ASSAY_ALIASES.get(w.scenario, (w.scenario,))
        found = [n for n, assay, _ in list_builtin() if assay in wanted]
        if not found:
            raise TropismError(
                f"no built-in {'/'.join(wanted)} scenario yet: that assay template is not "
                "available in this version"
            )
        name = found[0]
    spec = load_scenario(name, list(w.overrides))
    conditions = dict(spec.conditions)
    condition = w.condition if w.condition is not None else spec.conditions[0][0]
    return name, condition, conditions[condition]


def _warm_up_scenario(scenario, condition: str) -> None:
    from tropism.study import run_replicate

    tiny = scenario.model_copy(deep=True)
    for cells in tiny.cells.values():
        cells.count = _WARM_UP_CELLS
    tiny.scenario.duration = 2 * tiny.numerics.field_dt
    run_replicate(tiny, condition, 0, snapshots=True)
    _warm_up_sense()


def _warm_up_sense() -> None:
    """Load (or compile) the parallel gradient rebuild, used only on large grids."""
    from tropism.world.sensing import PARALLEL_MIN_VOXELS, build_sense

    n = int(round(PARALLEL_MIN_VOXELS ** (1 / 3))) + 1
    build_sense(np.zeros((1, n, n, n)), 20.0)


def _run_scenario(w: Workload, progress) -> dict:
    from tropism.study import run_replicate

    name, condition, scenario = _scenario_for(w)
    tc = time.perf_counter()
    _warm_up_scenario(scenario, condition)
    t0 = time.perf_counter()
    rss0 = _rss_mb()
    if progress is not None:
        progress.print(f"running {name} / {condition}: {w.description}")
    c0 = time.process_time()
    out = run_replicate(scenario, condition, 0, snapshots=True, keep_world=True)
    t1 = time.perf_counter()
    cpu_s = time.process_time() - c0
    world = out.world
    num = scenario.numerics
    dt, field_dt = num.dt, num.field_dt
    steps = max(1, int(round(scenario.scenario.duration / dt)))
    output_s = _write_outputs(out.metrics, out.tracks, out.field_times, out.field_values,
                              out.coords)  # fmt: skip
    timings = dict(out.timings or {})
    run_s = sum(timings.values())
    return _report(
        w,
        world,
        steps,
        field_every=max(1, int(round(field_dt / dt))),
        kernel_load_s=t0 - tc,
        setup_s=(t1 - t0) - run_s,
        run_s=run_s,
        output_s=output_s,
        timings=timings,
        cpu_s=cpu_s,
        rss_before_mb=rss0,
        extra={"scenario": name, "condition": condition, "dt": dt, "field_dt": field_dt},
    )


def _run_matched(w: Workload, progress) -> dict:
    from tropism.engine import Engine
    from tropism.matched import RadialObserver, build_matched
    from tropism.observe.observers import FieldObserver, TrackObserver

    def engine_for(n_cells: int, duration: float, seed: int):
        rng = np.random.default_rng(seed)
        m = build_matched(n_cells, rng, w.field_dt)
        radial = RadialObserver(60.0, m.centre)
        tracks = TrackObserver(60.0, 100, np.random.default_rng(seed + 1))
        snaps = FieldObserver(60.0)
        eng = Engine(
            m.world,
            dt=w.dt,
            field_dt=w.field_dt,
            duration=duration,
            observers=[radial, tracks, snaps],
            rng=rng,
        )
        return eng, m, radial, tracks, snaps

    tc = time.perf_counter()
    engine_for(_WARM_UP_CELLS, 2 * w.field_dt, 1)[0].run()
    _warm_up_sense()
    t0 = time.perf_counter()
    rss0 = _rss_mb()
    engine, m, radial, tracks, snaps = engine_for(w.cells, w.duration, 0)
    t1 = time.perf_counter()
    if progress is not None:
        progress.print(f"running matched workload: {w.description}")
    c0 = time.process_time()
    engine.run()
    t2 = time.perf_counter()
    cpu_s = time.process_time() - c0
    readouts = radial.result()
    metrics = pd.DataFrame(
        [(t, "stem", k, v) for k, rows in readouts.items() for t, v in rows],
        columns=["time", "population", "readout", "value"],
    )
    times, values = snaps.result()
    output_s = _write_outputs(metrics, tracks.result(), times, values, m.world.grid.coords())
    dist = readouts["mean_distance"]
    return _report(
        w,
        m.world,
        engine.n_steps,
        field_every=engine.field_every,
        kernel_load_s=t0 - tc,
        setup_s=t1 - t0,
        run_s=t2 - t1,
        output_s=output_s,
        timings=dict(engine.timings),
        cpu_s=cpu_s,
        rss_before_mb=rss0,
        extra={
            "dt": w.dt,
            "field_dt": w.field_dt,
            "domain_um": float(m.world.hi[0]),
            "mean_distance_to_tumour_um": [round(dist[0][1], 1), round(dist[-1][1], 1)],
            "radial_fmi_end": round(readouts["radial_fmi"][-1][1], 3),
            "mechanics_bytes_per_agent": round(
                sum(a.nbytes for a in engine._mech_cache[1:]) / m.world.populations[0].count
                + 16.0,  # + the cell list (bin and order per cell, int64), rebuilt each step
                1,
            ),
        },
    )


def _report(
    w: Workload,
    world,
    steps: int,
    *,
    field_every: int,
    kernel_load_s: float,
    setup_s: float,
    run_s: float,
    output_s: float,
    timings: dict,
    cpu_s: float,
    rss_before_mb: float,
    extra: dict,
) -> dict:
    cells = sum(p.count for p in world.populations)
    voxels = int(np.prod(world.grid.shape))
    field_steps = -(-steps // field_every) * len(world.solvers)
    phases = {k: round(v, 3) for k, v in timings.items()}
    phases["output"] = round(output_s, 3)
    return {
        "workload": w.kind,
        "description": w.description,
        **extra,
        "cells": cells,
        "voxels": voxels,
        "fields": len(world.solvers),
        "motility_steps": steps,
        "field_steps": field_steps,
        "kernel_load_s": round(kernel_load_s, 3),
        "setup_s": round(setup_s, 3),
        "run_s": round(run_s, 3),
        "output_s": round(output_s, 3),
        "wall_s": round(setup_s + run_s + output_s, 3),
        "run_cpu_s": round(cpu_s, 3),
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "agent_steps_per_s": round(cells * steps / run_s) if run_s > 0 else None,
        "voxel_updates_per_s": round(voxels * field_steps / run_s) if run_s > 0 else None,
        "phase_s": phases,
        "peak_memory_mb": round(_peak_mb(), 1),
        "rss_before_setup_mb": round(rss_before_mb, 1),
        "cell_state_bytes_per_agent": round(cell_state_bytes(world.populations) / cells, 1)
        if cells
        else 0.0,
        "threads": numba.get_num_threads(),
        "threading_layer": _threading_layer(),
    }


def _threading_layer() -> str:
    try:
        return numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        return "none"


def run_workload(name: str | Workload, progress=None, threads: int | None = None) -> dict:
    """Run a workload once and return its measurements.

    Parameters
    ----------
    name
        A key of :data:`WORKLOADS`, or a :class:`Workload` (e.g. a matched workload of any
        size, as the scaling script in ``benchmarks/`` builds them).
    progress
        Optional rich console for a one-line note.
    threads
        Numba threads (default: as configured, ``NUMBA_NUM_THREADS`` or all cores).
    """
    if isinstance(name, Workload):
        w, label = name, f"custom-{name.kind}"
    elif name in WORKLOADS:
        w, label = WORKLOADS[name], name
    else:
        raise TropismError(f"unknown workload {name!r}: expected one of {', '.join(WORKLOADS)}")
    if threads is not None:
        limit = numba.config.NUMBA_NUM_THREADS
        if not 1 <= threads <= limit:
            raise TropismError(f"--threads {threads}: expected 1 to {limit} (NUMBA_NUM_THREADS)")
        numba.set_num_threads(threads)
    result = _run_matched(w, progress) if w.kind == "matched" else _run_scenario(w, progress)
    result["workload"] = label
    return result
