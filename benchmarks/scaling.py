"""Scaling curves: run time vs number of cells and vs number of voxels; a table and a plot.

Usage (from the repository root, with the project installed)::

    python benchmarks/scaling.py                 # full curves (a few minutes on 2 cores)
    python benchmarks/scaling.py --quick         # small sizes only (about 1 min)
    python benchmarks/scaling.py --threads 1 --out benchmarks/results-1thread

Time vs N: the matched chemotaxis workload (:mod:`tropism.matched`: stem cells + 190 tumour
cells, soft-sphere mechanics on, a secreting tumour) at the default steps (motility 0.5 min,
fields 1 min) for a short simulated time; up to 10^4 cells on 2000 x 2000 um, above that at
the density of 10^4 cells (the domain grows). Cost per agent-step should stay flat: every step
is linear in N (cell lists for mechanics, no pairwise loop).

Time vs voxels: one field step (implicit spectral diffusion: forward and inverse transforms)
plus rebuilding the sampled gradients, on 2-D grids 64^2 .. 2048^2 and 3-D grids 16^3 .. 128^3.
Cost per voxel should grow like log V (fast transforms).

Writes ``scaling_cells.csv``, ``scaling_voxels.csv``, ``scaling.md`` (both tables) and
``scaling.png`` into ``--out`` (default ``benchmarks/results``). Timings depend on the machine
and on what else runs on it: the table records the thread count and the CPU.
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from tropism.bench import Workload, run_workload  # noqa: E402
from tropism.world.boundaries import AxisBoundary, NoFlux  # noqa: E402
from tropism.world.diffusion import SpectralDiffusion  # noqa: E402
from tropism.world.grid import Grid  # noqa: E402
from tropism.world.sensing import build_sense  # noqa: E402

CELLS_FULL = [1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000]
CELLS_QUICK = [1_000, 3_000, 10_000]
GRIDS_FULL = [(64, 64), (128, 128), (256, 256), (512, 512), (1024, 1024), (2048, 2048)]
GRIDS_FULL += [(16, 16, 16), (32, 32, 32), (64, 64, 64), (128, 128, 128)]
GRIDS_QUICK = [(64, 64), (128, 128), (256, 256), (16, 16, 16), (32, 32, 32)]


def time_vs_cells(sizes: list[int], minutes: float) -> pd.DataFrame:
    """Matched workload at each N for ``minutes`` of simulated time."""
    rows = []
    for n in sizes:
        w = Workload("scaling", "matched", cells=n, dt=0.5, field_dt=1.0, duration=minutes)
        r = run_workload(w)
        agent_steps = r["cells"] * r["motility_steps"]
        rows.append(
            {
                "stem_cells": n,
                "agents": r["cells"],
                "domain_um": r["domain_um"],
                "voxels": r["voxels"],
                "steps": r["motility_steps"],
                "run_s": r["run_s"],
                "motility_s": r["phase_s"]["motility"],
                "mechanics_s": r["phase_s"]["mechanics"],
                "fields_s": r["phase_s"]["fields"] + r["phase_s"]["sensing"],
                "ns_per_agent_step": 1e9 * r["run_s"] / agent_steps,
                "agent_steps_per_s": r["agent_steps_per_s"],
                "cell_state_bytes_per_agent": r["cell_state_bytes_per_agent"],
                "peak_memory_mb": r["peak_memory_mb"],
            }
        )
        print(f"N = {n:>7}: {r['run_s']:.2f} s, {rows[-1]['ns_per_agent_step']:.0f} ns/agent-step")
    return pd.DataFrame(rows)


def time_vs_voxels(shapes: list[tuple[int, ...]], repeats: int = 5) -> pd.DataFrame:
    """Best-of-``repeats`` time of one field step and one gradient rebuild per grid."""
    rows = []
    for shape in shapes:
        grid = Grid(shape=shape, spacing=20.0)
        bcs = [AxisBoundary(NoFlux(), NoFlux()) for _ in shape]
        solver = SpectralDiffusion(grid, 12000.0, 0.01, bcs, 1.0)
        rng = np.random.default_rng(0)
        c = rng.random(shape)
        source = np.zeros(shape)
        source[(slice(0, 2),) * len(shape)] = 1.0
        field = c[np.newaxis, ..., np.newaxis] if len(shape) == 2 else c[np.newaxis]
        sense = build_sense(field, 20.0)
        c = solver.step(c, source)  # warm-up (plans, compiled kernels)
        best_step = best_sense = math.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            c = solver.step(c, source)
            t1 = time.perf_counter()
            build_sense(field, 20.0, out=sense)
            t2 = time.perf_counter()
            best_step = min(best_step, t1 - t0)
            best_sense = min(best_sense, t2 - t1)
        v = int(np.prod(shape))
        rows.append(
            {
                "grid": "x".join(map(str, shape)),
                "dims": len(shape),
                "voxels": v,
                "field_step_s": best_step,
                "sense_s": best_sense,
                "ns_per_voxel": 1e9 * (best_step + best_sense) / v,
                "ns_per_voxel_log2v": 1e9 * (best_step + best_sense) / (v * math.log2(v)),
            }
        )
        print(f"{rows[-1]['grid']:>13}: {1e3 * (best_step + best_sense):.2f} ms per field step")
    return pd.DataFrame(rows)


def markdown(df: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (numbers to 4 significant digits)."""

    def cell(v) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(df.columns) + " |", "|" + " --- |" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(False)]
    return "\n".join(lines)


def plot(cells: pd.DataFrame, voxels: pd.DataFrame, path: Path, title: str) -> None:
    """Two log-log panels with a linear (N) and an N log N reference line."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.2))
    x = cells["agents"].to_numpy(float)
    y = cells["run_s"].to_numpy(float) / cells["steps"].to_numpy(float)
    a.loglog(x, 1e3 * y, "o-", label="tropism (per motility step)")
    a.loglog(x, 1e3 * y[-1] * x / x[-1], "k--", lw=0.8, label="linear in N (through the largest)")
    a.set_xlabel("agents N")
    a.set_ylabel("wall time per step (ms)")
    a.set_title("time vs cells (matched workload, mechanics on)")
    a.legend()
    for dims, marker in ((2, "o-"), (3, "s-")):
        d = voxels[voxels["dims"] == dims]
        if d.empty:
            continue
        v = d["voxels"].to_numpy(float)
        t = (d["field_step_s"] + d["sense_s"]).to_numpy(float)
        b.loglog(v, 1e3 * t, marker, label=f"{dims}-D field step")
        ref = v * np.log2(v) / (v[-1] * np.log2(v[-1]))
        b.loglog(v, 1e3 * t[-1] * ref, "k--", lw=0.8)
    b.plot([], [], "k--", lw=0.8, label="V log V")
    b.set_xlabel("voxels V")
    b.set_ylabel("wall time per field step (ms)")
    b.set_title("time vs voxels (implicit spectral diffusion)")
    b.legend()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--threads", type=int, default=None, help="Numba threads")
    parser.add_argument("--minutes", type=float, default=60.0, help="simulated time per N")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    if args.threads is not None:
        numba.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    cells = time_vs_cells(CELLS_QUICK if args.quick else CELLS_FULL, args.minutes)
    voxels = time_vs_voxels(GRIDS_QUICK if args.quick else GRIDS_FULL)
    cells.to_csv(args.out / "scaling_cells.csv", index=False)
    voxels.to_csv(args.out / "scaling_voxels.csv", index=False)
    machine = f"{platform.processor() or platform.machine()}, {numba.get_num_threads()} threads"
    title = f"tropism scaling, {machine}, {time.strftime('%Y-%m-%d')}"
    text = [
        f"# {title}",
        "",
        f"## Time vs cells (matched workload, default steps, {args.minutes:g} simulated min)",
        "",
        markdown(cells),
        "",
        "## Time vs voxels (one implicit field step + gradient rebuild, best of 5)",
        "",
        markdown(voxels),
        "",
    ]
    (args.out / "scaling.md").write_text("\n".join(text))
    plot(cells, voxels, args.out / "scaling.png", title)
    print(f"wrote {args.out}/scaling.md, scaling_cells.csv, scaling_voxels.csv, scaling.png")


if __name__ == "__main__":
    main()
