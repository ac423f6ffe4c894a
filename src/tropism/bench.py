"""Named benchmark workloads for ``tropism bench`` (speed is tracked here, never in tests).

Each workload is a built-in scenario with overrides, run as one replicate of one condition
through the same code path as ``tropism run`` (assay template, engine, observers). Reported:
wall time (set-up and run separately), agent-steps and voxel-updates per second, time per
phase, peak memory, and the Numba thread count.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass

import numba
import numpy as np


@dataclass(frozen=True)
class Workload:
    """A benchmark: a built-in scenario, the condition to run, and overrides."""

    description: str
    scenario: str
    condition: str
    overrides: tuple[str, ...]


_GRADIENT = "msc-gradient-cxcl12"
WORKLOADS: dict[str, Workload] = {
    "standard": Workload(
        "gradient assay, 1e5 MSCs, 256x256 grid (20 um), CXCL12, 1 simulated day, dt 0.5 min",
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


def run_workload(name: str, progress=None) -> dict:
    """Run a named workload once and return its measurements."""
    from tropism.assays import TEMPLATES
    from tropism.engine import Engine
    from tropism.errors import TropismError
    from tropism.observe.observers import ReadoutObserver, TrackObserver
    from tropism.scenario import load_scenario

    if name not in WORKLOADS:
        raise TropismError(f"unknown workload {name!r}: expected one of {', '.join(WORKLOADS)}")
    w = WORKLOADS[name]
    spec = load_scenario(w.scenario, list(w.overrides))
    scenario = dict(spec.conditions)[w.condition]
    # Load (or compile) the kernels first, on a tiny copy, so run_s measures the run alone.
    tc = time.perf_counter()
    tiny = scenario.model_copy(deep=True)
    for cells in tiny.cells.values():
        cells.count = 2
    Engine(
        TEMPLATES[tiny.scenario.assay](tiny, np.random.default_rng(0)).world,
        dt=tiny.numerics.dt,
        field_dt=tiny.numerics.field_dt,
        duration=tiny.numerics.dt,
        rng=np.random.default_rng(0),
    ).run()
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    built = TEMPLATES[scenario.scenario.assay](scenario, rng)
    num = scenario.numerics
    observers = [
        ReadoutObserver(num.readout_interval),
        TrackObserver(num.track_interval, num.track_cells, np.random.default_rng(1)),
    ]
    engine = Engine(
        built.world,
        dt=num.dt,
        field_dt=num.field_dt,
        duration=scenario.scenario.duration,
        events=built.events,
        observers=observers,
        rng=rng,
    )
    t1 = time.perf_counter()
    if progress is not None:
        progress.print(f"running {name}: {w.description}")
    engine.run()
    t2 = time.perf_counter()
    world = built.world
    cells = sum(p.count for p in world.populations)
    steps = engine.n_steps
    field_steps = -(-steps // engine.field_every) * len(world.solvers)
    voxels = int(np.prod(world.grid.shape))
    run_s = t2 - t1
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "workload": name,
        "description": w.description,
        "cells": cells,
        "voxels": voxels,
        "motility_steps": steps,
        "field_steps": field_steps,
        "kernel_load_s": round(t0 - tc, 3),
        "setup_s": round(t1 - t0, 3),
        "run_s": round(run_s, 3),
        "agent_steps_per_s": round(cells * steps / run_s),
        "voxel_updates_per_s": round(voxels * field_steps / run_s),
        "phase_s": {k: round(v, 3) for k, v in engine.timings.items()},
        "peak_memory_mb": round(peak_kb / 1024, 1),
        "threads": numba.get_num_threads(),
    }
