"""Command-line commands ``tropism sweep | sensitivity | fit | design`` (registered in
:mod:`tropism.cli`, which turns a :class:`~tropism.errors.TropismError` into one line on stderr
and exit status 2).

Each command writes a folder (``--out``, default ``runs/<scenario>-<command>-<hash>``: the hash
of the command's settings, so that running the same command again resumes the same folder) and
prints a table. Work runs on all local cores by default, on ``--workers N`` processes, or on a
dask.distributed cluster with ``--scheduler ADDRESS``.
"""

from __future__ import annotations

import hashlib
import json
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from tropism.errors import TropismError

__all__ = ["design_cmd", "fit_cmd", "sensitivity_cmd", "sweep_cmd"]

out = Console()
err = Console(stderr=True)

SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Override a scenario key: KEY=VALUE (repeatable).")
]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Output folder (default runs/NAME-COMMAND-HASH; a rerun resumes)."),
]
WorkersOpt = Annotated[
    int | None, typer.Option(help="Local worker processes (default all cores; 1 = this process).")
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(help="Address of a dask.distributed scheduler, e.g. tcp://10.0.0.5:8786."),
]
ForceOpt = Annotated[bool, typer.Option(help="Start the folder over (it may hold another plan).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no table.")]
SeedOpt = Annotated[int | None, typer.Option(help="Scenario seed (default: the scenario's).")]
ReplicatesOpt = Annotated[
    int | None, typer.Option(help="Replicates per condition and point (default: the scenario's).")
]


@contextmanager
def _progress(label: str, quiet: bool):
    """A progress callback ``(done, total)`` on stderr (none when quiet). The bar appears with
    the first task, so that an error found before any work is the only line printed."""
    if quiet:
        yield None
        return
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        auto_refresh=False,  # no refresh thread: worker processes are forked safely
    )
    task = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(label, total=max(total, 1))
        bar.update(task, completed=done, total=max(total, 1), refresh=True)

    try:
        yield update
    finally:
        if task is not None:
            bar.stop()


def _default_out(scenario: str, command: str, settings: dict) -> Path:
    name = Path(scenario).stem if scenario.endswith(".toml") else scenario
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()
    return Path("runs") / f"{name}-{command}-{digest[:8]}"


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "-"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "-"
    return f"{v:.{digits}g}"


def _wide() -> Console:
    return out if out.is_terminal else Console(width=max(out.width, 150))


# --- sweep ------------------------------------------------------------------------------------


def sweep_cmd(
    scenario: Annotated[str, typer.Argument(help="Scenario file or built-in name.")],
    vary: Annotated[
        list[str],
        typer.Option(
            "--vary",
            help="KEY=SPEC: a list 'a,b,c', a grid 'lo:hi:n[:log]' or a range 'lo..hi[:log]' "
            "(with units). Repeatable.",
        ),
    ],
    set_: SetOpt = None,
    method: Annotated[
        str | None, typer.Option(help="grid (lists, grids), lhs or sobol (ranges).")
    ] = None,
    samples: Annotated[int | None, typer.Option(help="Samples of the ranges (lhs, sobol).")] = None,
    replicates: ReplicatesOpt = None,
    condition: Annotated[
        list[str] | None, typer.Option(help="Conditions to run (default: all). Repeatable.")
    ] = None,
    readout: Annotated[
        list[str] | None, typer.Option(help="Readouts to tabulate and plot. Repeatable.")
    ] = None,
    seed: SeedOpt = None,
    out_dir: OutOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Run a scenario over a grid, a list or samples of parameter values; write one Parquet
    dataset, a summary and response plots."""
    from tropism.fit.sweep import PRIMARY, sweep

    settings = dict(
        vary=vary, set=set_, method=method, samples=samples, replicates=replicates,
        condition=condition, seed=seed,
    )  # fmt: skip
    target = out_dir or _default_out(scenario, "sweep", settings)
    with _progress("sweep", quiet) as bar:
        result = sweep(
            scenario,
            vary,
            set=set_,
            conditions=condition,
            replicates=replicates,
            method=method,
            samples=samples,
            seed=seed,
            out=target,
            workers=workers,
            scheduler=scheduler,
            force=force,
            readouts=readout,
            progress=bar,
        )
    if quiet:
        print(result.path)
        return
    for name, keys in result.dropped.items():
        err.print(
            f"note: condition {name!r} left out: it sets {', '.join(keys)} itself",
            markup=False,
            highlight=False,
        )
    have = list(dict.fromkeys(result.summary["readout"]))
    shown = readout or [r for r in PRIMARY if r in have][:2] or have[:1]
    for name in shown:
        _print_sweep_table(result, name)
    out.print(
        f"{len(result.plan)} points x {len(result.conditions)} conditions: {result.computed} "
        f"computed, {result.skipped} already finished. sweep folder: {result.path}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _print_sweep_table(result: Any, readout: str, limit: int = 30) -> None:
    s = result.summary[result.summary["readout"] == readout]
    pops = list(dict.fromkeys(s["population"]))
    table = Table(title=f"{readout}: mean [95 % CI] at the end point", title_justify="left")
    for spec in result.specs:
        table.add_column(spec.label, justify="right")
    columns = [(c, p) for c in result.conditions for p in pops]
    for c, p in columns:
        table.add_column(c if len(pops) == 1 else f"{c} ({p})", justify="right")
    for i, (_, g) in enumerate(s.groupby("point", sort=True)):
        if i == limit:
            table.add_row(*(["..."] * (len(result.specs) + len(columns))))
            break
        first = g.iloc[0]
        cells = [spec.format(first[spec.key], unit=False) for spec in result.specs]
        for c, p in columns:
            row = g[(g["condition"] == c) & (g["population"] == p)]
            if row.empty:
                cells.append("-")
                continue
            r = row.iloc[0]
            cells.append(f"{_fmt(r['mean'])} [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]")
        table.add_row(*cells)
    _wide().print(table)


# --- sensitivity ------------------------------------------------------------------------------


def sensitivity_cmd(
    scenario: Annotated[str, typer.Argument(help="Scenario file or built-in name.")],
    vary: Annotated[
        list[str], typer.Option("--vary", help="KEY=lo..hi[:log] (with units). Repeatable.")
    ],
    readout: Annotated[str, typer.Option(help="The readout analysed (end point).")] = "fmi",
    method: Annotated[str, typer.Option(help="sobol or morris.")] = "sobol",
    samples: Annotated[
        int | None,
        typer.Option(
            help="Sobol: base samples N, a power of 2 (default 64); Morris: trajectories (10)."
        ),
    ] = None,
    condition: Annotated[str | None, typer.Option(help="Condition analysed.")] = None,
    population: Annotated[str | None, typer.Option(help="Population analysed.")] = None,
    replicates: ReplicatesOpt = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    out_dir: OutOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Sobol or Morris sensitivity of a readout to parameter ranges (SALib): indices with
    confidence intervals, a ranked table and a plot."""
    from tropism.fit.sensitivity import sensitivity

    settings = dict(
        vary=vary, readout=readout, method=method, samples=samples, condition=condition,
        population=population, replicates=replicates, set=set_, seed=seed,
    )  # fmt: skip
    target = out_dir or _default_out(scenario, "sensitivity", settings)
    with _progress("sensitivity", quiet) as bar:
        result = sensitivity(
            scenario,
            vary,
            readout,
            method=method,
            samples=samples,
            set=set_,
            condition=condition,
            population=population,
            replicates=replicates,
            seed=seed,
            out=target,
            workers=workers,
            scheduler=scheduler,
            force=force,
            progress=bar,
        )
    if quiet:
        print(result.path)
        return
    title = f"{method} sensitivity of {readout} in {result.condition!r} (ranked; 95 % CI)"
    table = Table(title=title, title_justify="left")
    table.add_column("rank", justify="right")
    table.add_column("parameter")
    idx = result.indices
    if method == "sobol":
        cols = [("S1", "first order S1"), ("ST", "total ST")]
    else:
        cols = [("mu_star", "mu*"), ("sigma", "sigma"), ("mu", "mu")]
    for _, label in cols:
        table.add_column(label, justify="right")
    for i, r in idx.iterrows():
        cells = [str(i + 1), str(r["label"])]
        for key, _ in cols:
            conf = r.get(f"{key}_conf")
            cells.append(_fmt(r[key]) + (f" +/- {_fmt(conf, 2)}" if conf is not None else ""))
        table.add_row(*cells)
    _wide().print(table)
    share = result.noise_share
    noise = (
        f"replicate noise is {_fmt(100 * share, 2)} % of the output variance"
        if math.isfinite(share)
        else "replicate noise unknown (one replicate per point)"
    )
    out.print(
        f"{len(result.Y)} points; {noise}. folder: {result.path}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


# --- fit --------------------------------------------------------------------------------------


def fit_cmd(
    scenario: Annotated[str, typer.Argument(help="Scenario file or built-in name.")],
    data: Annotated[
        Path,
        typer.Option(
            "--data", help="CSV: TrackMate spots or plain tracks, Transwell counts, or readouts."
        ),
    ],
    free: Annotated[
        list[str], typer.Option("--free", help="KEY=lo..hi[:log] to fit (with units). Repeatable.")
    ],
    readout: Annotated[
        list[str] | None,
        typer.Option(help="Data readouts fitted (default: fmi, speed for tracks; all others)."),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="DATA=SIM: compare a data readout with another simulated one."),
    ] = None,
    condition: Annotated[
        str | None, typer.Option(help="Scenario condition of data that name none.")
    ] = None,
    population: Annotated[str | None, typer.Option(help="Simulated population.")] = None,
    pixel_size: Annotated[
        str | None, typer.Option(help="Pixel size of track positions in pixels, e.g. '0.65 um'.")
    ] = None,
    frame_interval: Annotated[
        str | None, typer.Option(help="Time between frames of track data, e.g. '5 min'.")
    ] = None,
    gradient: Annotated[
        str, typer.Option(help="Up the gradient in the images: +x, -x, +y, -y or degrees.")
    ] = "+x",
    data_kind: Annotated[str, typer.Option(help="auto, tracks, counts or readouts.")] = "auto",
    replicates: ReplicatesOpt = None,
    grid: Annotated[
        int, typer.Option(help="Points per parameter of the search and profiles.")
    ] = 11,
    write_scenario: Annotated[
        Path | None, typer.Option(help="Write the scenario with the fitted values here.")
    ] = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    out_dir: OutOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Calibrate free parameters to your data: estimates with 95 % profile-likelihood
    intervals, identifiability, a fit plot; optionally the fitted scenario file."""
    from tropism.fit.calibrate import fit

    if not data.is_file():
        raise TropismError(f"--data {data}: not found; expected a CSV file")
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    settings = dict(
        data=digest, free=free, readout=readout, map=map_, condition=condition,
        population=population, pixel_size=pixel_size, frame_interval=frame_interval,
        gradient=gradient, kind=data_kind, replicates=replicates, grid=grid, set=set_, seed=seed,
    )  # fmt: skip
    target = out_dir or _default_out(scenario, "fit", settings)
    with _progress("fit", quiet) as bar:
        result = fit(
            scenario,
            data,
            free,
            set=set_,
            readouts=readout,
            readout_map=map_,
            condition=condition,
            population=population,
            replicates=replicates,
            seed=seed,
            data_kind=data_kind,
            pixel_size=pixel_size,
            frame_interval=frame_interval,
            gradient=gradient,
            grid=grid,
            out=target,
            workers=workers,
            scheduler=scheduler,
            force=force,
            write_scenario=write_scenario,
            progress=bar,
        )
    if quiet:
        print(result.path)
        return
    table = Table(title="fit: estimate [95 % profile-likelihood CI]", title_justify="left")
    for col in ("parameter", "estimate", "95 % CI", "identifiability"):
        table.add_column(col, justify="right" if col in ("estimate", "95 % CI") else "left")
    for r in result.estimates.itertuples():
        lo = ("<=" if r.low_open else "") + _fmt(r.low, 4)
        hi = (">=" if r.high_open else "") + _fmt(r.high, 4)
        table.add_row(r.label, _fmt(r.estimate, 4), f"[{lo}, {hi}]", r.identifiability)
    _wide().print(table)
    comp = Table(title="data vs simulation at the fit: mean [95 % CI]", title_justify="left")
    for col in ("condition", "time (h)", "readout", "data", "simulation"):
        comp.add_column(col)
    for r in result.comparison.itertuples():
        comp.add_row(
            str(r.condition),
            _fmt(r.time / 60.0),
            str(r.readout),
            f"{_fmt(r.data_mean)} [{_fmt(r.data_low)}, {_fmt(r.data_high)}]",
            f"{_fmt(r.sim_mean)} [{_fmt(r.sim_low)}, {_fmt(r.sim_high)}]",
        )
    _wide().print(comp)
    p = "-" if result.p_value is None else _fmt(result.p_value, 2)
    lines = [
        f"chi2 = {_fmt(result.chi2)} on {result.dof} degrees of freedom (p = {p}); "
        f"{result.evaluations} evaluations, {result.computed} simulated now. folder: {result.path}"
    ]
    if result.scenario_path is not None:
        lines.append(f"fitted scenario: {result.scenario_path}")
    out.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)


# --- design -----------------------------------------------------------------------------------


def design_cmd(
    scenario: Annotated[str, typer.Argument(help="Scenario file or built-in name.")],
    effect: Annotated[
        float | None, typer.Option(help="Fold change to detect, e.g. 1.5 (or --difference).")
    ] = None,
    readout: Annotated[str, typer.Option(help="The readout compared (end point).")] = "fmi",
    difference: Annotated[
        float | None, typer.Option(help="Absolute difference to detect instead of a fold change.")
    ] = None,
    power: Annotated[float, typer.Option(help="Target power.")] = 0.8,
    alpha: Annotated[float, typer.Option(help="Significance level (two-sided).")] = 0.05,
    condition: Annotated[
        str | None, typer.Option(help="Reference condition (default: the first, the control).")
    ] = None,
    population: Annotated[str | None, typer.Option(help="Population.")] = None,
    pilot: Annotated[int, typer.Option(help="Simulated replicates that estimate the SD.")] = 12,
    sd_model: Annotated[
        str, typer.Option(help="equal: same SD in both groups; cv: SD scales with the mean.")
    ] = "equal",
    max_n: Annotated[int, typer.Option(help="Largest group size considered.")] = 100,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    out_dir: OutOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Replicates (wells, animals) per group needed to detect an effect with a given power,
    from the simulated replicate variability."""
    from tropism.fit.design import design

    settings = dict(
        effect=effect, difference=difference, readout=readout, power=power, alpha=alpha,
        condition=condition, population=population, pilot=pilot, sd_model=sd_model, set=set_,
        seed=seed,
    )  # fmt: skip
    target = out_dir or _default_out(scenario, "design", settings)
    with _progress("pilot", quiet) as bar:
        result = design(
            scenario,
            effect,
            readout,
            difference=difference,
            power=power,
            alpha=alpha,
            condition=condition,
            population=population,
            pilot=pilot,
            sd_model=sd_model,
            max_n=max_n,
            set=set_,
            seed=seed,
            out=target,
            workers=workers,
            scheduler=scheduler,
            force=force,
            progress=bar,
        )
    if quiet:
        print(result.n if result.n is not None else f">{max_n}")
        return
    out.print(result.summary(), markup=False, highlight=False, soft_wrap=True)
    out.print(f"folder: {result.path}", markup=False, highlight=False)
