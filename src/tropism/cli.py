"""Command line: ``tropism run | validate | list | report | animate | bench``.

User errors (bad scenario, unknown name, existing run folder) print one line on stderr and
exit with status 2; nothing already written is touched.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from tropism.errors import TropismError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Simulate stem-cell tumour tropism: chemokine fields, receptor-driven migration, assays.",
)
out = Console()
err = Console(stderr=True)

PRIMARY = (
    "chemotactic_index",
    "fmi",
    "speed",
    "drift_velocity",
    # homing and therapy (assays with a tumour), systemic delivery
    "fraction_at_tumour",
    "edge_distance",
    "tumour_cxcl12",
    "tumour_burden",
    "fraction_lungs",
    "fraction_tumour",
    "capture_probability",
    # Transwell and brain assays
    "migrated_fraction",
    "distance_travelled",
)


def user_errors(func):
    """Turn a TropismError into a one-line message and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except TropismError as exc:
            err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario key: KEY=VALUE (repeatable)."),
]


@app.command()
@user_errors
def run(
    scenario: Annotated[str, typer.Argument(help="Scenario file or built-in name.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Run folder (default runs/NAME-TIME).")
    ] = None,
    set_: SetOpt = None,
    replicates: Annotated[int | None, typer.Option(help="Replicates per condition.")] = None,
    seed: Annotated[int | None, typer.Option(help="Base random seed.")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: scenario, 0 = all cores).")
    ] = None,
    test: Annotated[str, typer.Option(help="Comparison test: welch or mannwhitney.")] = "welch",
    force: Annotated[bool, typer.Option(help="Overwrite an existing run folder.")] = False,
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Write figures/ and report.html.")
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no table.")] = False,
) -> None:
    """Run a scenario: every condition x replicate; write the run folder; print the summary."""
    from tropism.api import load, write_result
    from tropism.store import RunWriter, default_run_dir

    if test not in ("welch", "mannwhitney"):
        raise TropismError(f"--test = {test!r}: expected 'welch' or 'mannwhitney'")
    if replicates is not None and replicates < 1:
        raise TropismError(f"--replicates = {replicates}: expected an integer >= 1")
    if workers is not None and workers < 0:
        raise TropismError(f"--workers = {workers}: expected an integer >= 0")
    study = load(scenario, set_ or [], replicates=replicates, seed=seed)
    target = out_dir or default_run_dir(study.name)
    with RunWriter(target, force=force) as writer:
        if quiet:
            result = study.run(workers=workers, test=test)
        else:
            with _progress() as bar:
                task = bar.add_task(study.name, total=1.0)
                result = study.run(
                    workers=workers,
                    test=test,
                    progress=lambda f: bar.update(task, completed=f, refresh=True),
                )
        write_result(writer, result, command=["tropism", *sys.argv[1:]])
        if report:
            from tropism.report import write_report

            write_report(result, writer.tmp)
        path = writer.commit()
    if quiet:
        print(path)
        return
    print_summary(result.summary)
    out.print(f"run folder: {path}")


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        auto_refresh=False,  # no refresh thread: worker processes are forked safely
    )


def _fmt(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}g}"


def _p(p) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


LABELS = {
    "chemotactic_index": "chemotactic index",
    "fmi": "FMI",
    "speed": "speed",
    "drift_velocity": "drift",
}


def _vs_control(c: dict | None) -> str:
    """Fold change [CI] where the control mean is distinguishable from 0, else difference."""
    if c is None:
        return "control"
    if c.get("fold_change") is not None and c.get("fc_ci_low") is not None:
        return f"x{_fmt(c['fold_change'])} [{_fmt(c['fc_ci_low'])}, {_fmt(c['fc_ci_high'])}]"
    if c.get("difference") is None:
        return "-"
    text = f"{c['difference']:+.3g}"
    if c.get("diff_ci_low") is not None:
        text += f" [{_fmt(c['diff_ci_low'])}, {_fmt(c['diff_ci_high'])}]"
    return text


def print_summary(summary: dict) -> None:
    """Print the summary table: per condition and readout, mean [95 % CI], effect, p."""
    table = Table(
        title=f"{summary.get('scenario', '')}: end point at "
        f"{summary.get('duration_min', 0) / 60:g} h, mean [95 % CI] over replicates",
        title_justify="left",
    )
    for col in ("condition", "readout", "n", "mean [95 % CI]", "vs control", "p"):
        table.add_column(
            col, justify="left" if col in ("condition", "readout") else "right", no_wrap=True
        )
    comps = {(c["condition"], c["readout"]): c for c in summary["comparisons"]}
    names = [r for r in summary["readouts"] if r.split(".")[-1] in PRIMARY]
    for cond in summary["conditions"]:
        for i, name in enumerate(names):
            d = cond["readouts"][name]
            unit = summary["readouts"][name]["unit"]
            prefix, _, base = name.rpartition(".")
            label = (prefix + "." if prefix else "") + LABELS.get(base, base)
            if unit != "1":
                label += f" ({unit})"
            c = comps.get((cond["name"], name))
            table.add_row(
                cond["name"] if i == 0 else "",
                label,
                str(d["n"]),
                f"{_fmt(d['mean'])} [{_fmt(d['ci_low'])}, {_fmt(d['ci_high'])}]",
                _vs_control(c),
                "" if c is None else _p(c["p_value"]),
                end_section=i == len(names) - 1,
            )
    # Piped output (scripts, CI logs, files) is not squeezed to 80 columns.
    console = out if out.is_terminal else Console(width=max(out.width, 150))
    console.print(table)
    console.print(
        "chemotactic index: cosine of net displacement to the gradient; FMI: forward "
        "migration index; drift: velocity up the gradient. vs control: fold change xF "
        "[95 % CI] (Fieller), or the difference +D [95 % CI] where the control mean is "
        "not distinguishable from 0. "
        f"p: {summary.get('test', 'welch')} test against '{summary.get('control')}'.",
        soft_wrap=True,
    )


@app.command("report")
@user_errors
def report_(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by tropism run.")],
) -> None:
    """(Re)draw figures/ and report.html of a run folder."""
    from tropism.api import read_run
    from tropism.report import write_report

    path = write_report(read_run(run_dir), run_dir)
    out.print(f"report: {path}", markup=False, highlight=False)


@app.command("animate")
@user_errors
def animate_(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by tropism run.")],
    replicate: Annotated[int, typer.Option(help="Replicate whose cells are shown.")] = 0,
    condition: Annotated[
        str | None, typer.Option(help="One condition (default: all, side by side).")
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="File .mp4 or .gif (default DIR/figures/animation_replicateN.mp4, "
            ".gif when no video encoder is installed: pip install 'tropism[video]').",
        ),
    ] = None,
    fps: Annotated[float, typer.Option(help="Frames per second.")] = 10.0,
    max_frames: Annotated[int, typer.Option(help="Most frames (track sample times).")] = 150,
) -> None:
    """Animate a replicate: the sampled cells moving over the chemokine field."""
    from tropism.api import read_run
    from tropism.report.animation import animate

    path = animate(
        read_run(run_dir),
        out_file,
        replicate=replicate,
        condition=condition,
        fps=fps,
        max_frames=max_frames,
    )
    out.print(f"animation: {path}", markup=False, highlight=False)


@app.command()
@user_errors
def validate(
    scenario: Annotated[str, typer.Argument(help="Scenario file or built-in name.")],
    set_: SetOpt = None,
) -> None:
    """Check a scenario; print it resolved, with every default and its source."""
    from tropism.scenario import load_scenario

    spec = load_scenario(scenario, set_ or [])
    out.print(spec.describe(), markup=False, highlight=False, soft_wrap=True)
    out.print(f"ok: {spec.base.scenario.name} ({len(spec.conditions)} conditions)", markup=False)


@app.command("list")
@user_errors
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="JSON for machines.")] = False,
) -> None:
    """Built-in scenarios: name, assay, description (one per line)."""
    from tropism.scenario import list_builtin

    items = list_builtin()
    if as_json:
        print(json.dumps([{"name": n, "assay": a, "description": d} for n, a, d in items]))
        return
    for name, assay, desc in items:
        print(f"{name}\t{assay}\t{desc}")


@app.command()
@user_errors
def bench(
    workload: Annotated[str, typer.Argument(help="Workload name (see --list).")] = "standard",
    as_json: Annotated[bool, typer.Option("--json", help="JSON for machines.")] = False,
    list_workloads: Annotated[bool, typer.Option("--list", help="List workloads.")] = False,
    threads: Annotated[
        int | None, typer.Option("--threads", help="Numba threads (default: all cores).")
    ] = None,
) -> None:
    """Time a named workload: wall time, agent-steps and voxel-updates per second, time per
    phase, peak memory, bytes per agent, threads."""
    from tropism.bench import WORKLOADS, run_workload

    if list_workloads:
        for name, w in WORKLOADS.items():
            print(f"{name}\t{w.description}")
        return
    res = run_workload(workload, progress=None if as_json else err, threads=threads)
    if as_json:
        print(json.dumps(res, indent=2))
        return
    for key, value in res.items():
        out.print(f"{key:>24}: {value}", markup=False, highlight=False)


# Sweeps, sensitivity, fitting and design (tropism.fit), with the same one-line errors.
from tropism.fit.commands import design_cmd, fit_cmd, sensitivity_cmd, sweep_cmd  # noqa: E402

app.command("sweep")(user_errors(sweep_cmd))
app.command("sensitivity")(user_errors(sensitivity_cmd))
app.command("fit")(user_errors(fit_cmd))
app.command("design")(user_errors(design_cmd))


def main() -> None:  # pragma: no cover - console entry point
    app()
