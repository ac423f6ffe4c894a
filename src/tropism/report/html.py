"""A self-contained HTML report of a run: one file, figures embedded, nothing fetched.

:func:`write_report` draws the figures into ``run_dir/figures`` and renders
``run_dir/report.html`` from the jinja2 template ``templates/report.html.j2`` (autoescaped:
every text taken from the run, such as the scenario description, is escaped). The report holds
the question (scenario description), the conditions, the summary table, the figures (PNG as
base64 data URIs) with captions, the resolved scenario, the versions and the command that
reproduces the run. It has inline CSS only: no scripts, no links, no network resources.
"""

from __future__ import annotations

import base64
import math
import os
import platform
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import matplotlib
import numpy as np
import xarray

from tropism.errors import TropismError
from tropism.report.figures import (
    condition_colors,
    make_figures,
    pretty_unit,
    readout_label,
    significance,
)

if TYPE_CHECKING:  # pragma: no cover - only for type hints
    from tropism.api import Result

MISSING = "\u2013"
"""Shown for a number that is undefined (``None`` or NaN)."""

_TESTS = {"welch": "Welch's t-test", "mannwhitney": "Mann-Whitney U test"}


def format_number(x: Any) -> str:
    """A number as the report shows it: three significant digits.

    Integers are shown whole; ``None`` and NaN as an en dash; zero as ``0``. Other values are
    rounded to three significant digits, written in fixed notation (trailing zeros kept, so
    the precision is visible) when ``1e-3 <= |x| < 1e5`` and in scientific notation otherwise.

    Examples
    --------
    >>> [format_number(v) for v in (0.5, 1234.5, 2.0, 1.2345e-5, -0.012345, 12, None)]
    ['0.500', '1230', '2.00', '1.23e-05', '-0.0123', '12', '–']
    """
    if x is None:
        return MISSING
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int | np.integer):
        return str(int(x))
    v = float(x)
    if math.isnan(v):
        return MISSING
    if math.isinf(v):
        return "\u221e" if v > 0 else "\u2212\u221e"
    if v == 0.0:
        return "0"
    r = float(f"{v:.2e}")  # rounded to 3 significant digits (9.996 -> 10.0)
    e = math.floor(math.log10(abs(r)))
    if -3 <= e <= 4:
        decimals = 2 - e
        return f"{r:.{decimals}f}" if decimals >= 0 else f"{r:.0f}"
    return f"{r:.2e}"


def _interval(lo: Any, hi: Any) -> str:
    return f"[{format_number(lo)}, {format_number(hi)}]"


def vs_control(comp: dict) -> str:
    """A treated condition against the control, as the summary table shows it.

    The fold change ``\u00d7F [low, high]`` where its Fieller interval is bounded (the
    control's mean is distinguishable from zero); otherwise the difference of the means
    ``+D [low, high]`` (Welch interval), as the command line's table does. A ratio to a mean
    that may be zero (e.g. a fold change of -98 in FMI) would mislead.

    Examples
    --------
    >>> vs_control({"fold_change": 1.5, "fc_ci_low": 1.2, "fc_ci_high": 1.9})
    '\u00d71.50 [1.20, 1.90]'
    >>> vs_control({"fold_change": -98.0, "fc_ci_low": None, "fc_ci_high": None,
    ...             "difference": 0.52, "diff_ci_low": 0.1, "diff_ci_high": 0.94})
    '+0.520 [0.100, 0.940]'
    """
    fc, lo, hi = comp.get("fold_change"), comp.get("fc_ci_low"), comp.get("fc_ci_high")
    if fc is not None and lo is not None and hi is not None:
        return f"\u00d7{format_number(fc)} {_interval(lo, hi)}"
    diff = comp.get("difference")
    if diff is None:
        return MISSING
    sign = "+" if diff >= 0 else ""
    return (
        f"{sign}{format_number(diff)} "
        f"{_interval(comp.get('diff_ci_low'), comp.get('diff_ci_high'))}"
    )


def _summary_rows(summary: dict) -> list[dict[str, str]]:
    """Rows of the summary table (strings), readouts in order, conditions within each."""
    comps = {(c["condition"], c["readout"]): c for c in summary.get("comparisons", [])}
    conds = summary.get("conditions", [])
    control = summary.get("control", conds[0]["name"] if conds else None)
    units = summary.get("readouts", {})
    names = list(units) or list(dict.fromkeys(r for c in conds for r in c["readouts"]))
    rows = []
    for name in names:
        for cond in conds:
            d = cond["readouts"].get(name)
            if d is None:
                continue
            comp = comps.get((cond["name"], name))
            is_control = cond["name"] == control
            if is_control or comp is None:
                fc, p, stars = ("control" if is_control else MISSING), MISSING, ""
            else:
                fc = vs_control(comp)
                p = format_number(comp.get("p_value"))
                stars = significance(comp.get("p_value"))
            rows.append(
                {
                    "readout": name,
                    "label": readout_label(name, units.get(name, {}).get("unit")),
                    "condition": cond["name"],
                    "n": format_number(d.get("n")),
                    "mean": format_number(d.get("mean")),
                    "ci": _interval(d.get("ci_low"), d.get("ci_high")),
                    "fc": fc,
                    "p": p,
                    "stars": stars,
                }
            )
    return rows


def _replicates(result: Result, name: str) -> int | None:
    m = result.metrics
    if m is None or m.empty or "replicate" not in m:
        return None
    sub = m[m["condition"] == name]
    return int(sub["replicate"].nunique()) if not sub.empty else None


def _caption(stem: str, result: Result) -> tuple[str, str]:
    """(title, caption) of a figure file stem from :func:`~tropism.report.figures.make_figures`."""
    s = result.summary or {}
    test = _TESTS.get(str(s.get("test")), str(s.get("test", "")))
    control = s.get("control", "")
    if stem == "readouts_over_time":
        return (
            "Readouts over time",
            "Mean over replicates per condition (line) and 95 % confidence interval of the "
            "mean (band, Student t over replicates). Time in hours.",
        )
    if stem == "endpoints":
        return (
            "End points",
            "Value at the end of the run: bar = mean, error bar = 95 % confidence interval, "
            f"dots = individual replicates. Above each bar: {test} against the control "
            f"({control}); ns p \u2265 0.05, * p < 0.05, ** p < 0.01, *** p < 0.001.",
        )
    if stem == "spider":
        return (
            "Cell tracks",
            "Sampled cell tracks of every replicate, each drawn from a common origin "
            "(x-y projection, same scale in every panel); the arrow points up the gradient (+x).",
        )
    if stem == "rose":
        return (
            "Migration directions",
            "Net displacement angle of each tracked cell (30\u00b0 sectors, radius = fraction of "
            "cells); 0\u00b0 points up the gradient (+x). Random migration fills all sectors "
            "evenly.",
        )
    if stem == "compartments":
        return (
            "Where the cells are",
            "Fraction of the cells in each compartment over time, mean over replicates, "
            "stacked; one panel per condition.",
        )
    if stem == "dose_response":
        sweep = s.get("sweep") or {}
        return (
            "Dose response",
            f"End-point readouts against {sweep.get('key', 'the varied quantity')}: mean over "
            "replicates (line), 95 % confidence interval (band), replicates (dots). On a "
            "logarithmic axis a dose of 0 is drawn as a dashed level with its band.",
        )
    if stem == "density":
        return (
            "Cell density",
            "Where the tracked cells are at the end of the run: cells per mm\u00b2, mean over "
            "replicates, in square bins (x-y projection); one colour scale for all panels.",
        )
    if stem.startswith("field_"):
        species = stem[len("field_") :]
        return (
            f"{species} field",
            f"{species} concentration (nM) in replicate 0 of each condition, one colour "
            "scale: at the last snapshot, and at the first and middle ones too when the field "
            "changes over the run. Dots: tracked cells of that replicate at the nearest time.",
        )
    return (stem.replace("_", " "), "")


def _tropism_command(cmd: Any) -> list[str] | None:
    """The recorded command as words, if it is a ``tropism`` command line; else None.

    The program word is written ``tropism`` whatever path it was started from
    (``.venv/bin/tropism``, ``python -m tropism`` gives ``.../tropism/__main__.py``). A command
    recorded from another program (``sys.argv`` of a notebook or a test run) is not one that
    reproduces the run, so it is ignored.
    """
    if isinstance(cmd, str):
        cmd = shlex.split(cmd)
    if not cmd:
        return None
    words = [str(c) for c in cmd]
    first = Path(words[0])
    if first.name in ("tropism", "tropism.exe") or (
        first.name == "__main__.py" and first.parent.name == "tropism"
    ):
        return ["tropism", *words[1:]]
    return None


def _command(result: Result, run_dir: Path) -> str:
    """The command that reproduces the run (shell-quoted where an argument needs it).

    The recorded ``tropism`` command line (``meta["command"]``) if there is one; otherwise
    ``tropism run <run folder>/scenario.toml``: the resolved scenario holds every value,
    overrides and seed included, so it reproduces the same numbers.
    """
    words = _tropism_command((result.meta or {}).get("command"))
    if words is not None:
        return shlex.join(words)
    base = Path(result.path) if result.path is not None else run_dir
    return shlex.join(["tropism", "run", f"{base.as_posix()}/scenario.toml"])


def _meta(meta: dict, *keys: str) -> Any:
    """The first of ``keys`` present (and not None) in ``meta``."""
    for key in keys:
        if meta.get(key) is not None:
            return meta[key]
    return None


def _seed(meta: dict) -> str:
    seed = _meta(meta, "seed", "seeds")
    if isinstance(seed, list | tuple) and len(seed) == 1:
        seed = seed[0]
    return MISSING if seed is None else str(seed)


def _versions(result: Result) -> list[tuple[str, str]]:
    """Versions of the run (tropism, python, numpy as recorded) and of the plotting stack."""
    from tropism import __version__

    meta = result.meta or {}
    return [
        ("tropism", str(_meta(meta, "tropism", "tropism_version") or __version__)),
        ("python", str(_meta(meta, "python") or platform.python_version())),
        ("numpy", str(_meta(meta, "numpy") or np.__version__)),
        ("matplotlib", matplotlib.__version__),
        ("xarray", xarray.__version__),
    ]


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("tropism.report", "templates"),
        autoescape=True,  # the template is *.j2: select_autoescape would not catch it
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_report(result: Result, run_dir: str | Path, figures: list[Path]) -> str:
    """The report's HTML text, with the PNG files among ``figures`` embedded.

    Parameters
    ----------
    result
        A finished run.
    run_dir
        The run folder (used for the reproduction command when the run has none recorded).
    figures
        Figure files, as returned by :func:`~tropism.report.figures.make_figures`; the PNG
        ones are embedded as base64 data URIs, in order.
    """
    s = result.summary or {}
    meta = result.meta or {}
    conds = s.get("conditions", [])
    control = s.get("control", conds[0]["name"] if conds else "")
    duration = s.get("duration_min")
    colors = condition_colors(result)
    embedded = []
    for path in figures:
        path = Path(path)
        if path.suffix.lower() != ".png":
            continue
        title, caption = _caption(path.stem, result)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        embedded.append({"title": title, "caption": caption, "data": data, "file": path.name})
    context = {
        "title": s.get("scenario") or "tropism run",
        "description": s.get("description") or "",
        "assay": s.get("assay") or "",
        "duration": (
            f"{format_number(duration / 60.0)} h ({format_number(duration)} min)"
            if isinstance(duration, int | float)
            else MISSING
        ),
        "started": str(_meta(meta, "started", "created") or MISSING),
        "seed": _seed(meta),
        "conditions": [
            {
                "name": c["name"],
                "control": c["name"] == control,
                "color": colors.get(c["name"], "#000000"),
                "replicates": _replicates(result, c["name"]),
            }
            for c in conds
        ],
        "readouts": [
            {
                "name": name,
                "unit": pretty_unit(info.get("unit")) or "dimensionless",
                "description": info.get("description", ""),
            }
            for name, info in s.get("readouts", {}).items()
        ],
        "rows": _summary_rows(s),
        "test": _TESTS.get(str(s.get("test")), str(s.get("test", MISSING))),
        "confidence": f"{100.0 * float(s.get('confidence', 0.95)):g}",
        "control": control,
        "figures": embedded,
        "scenario_text": result.scenario_text or "",
        "versions": _versions(result),
        "command": _command(result, Path(run_dir)),
    }
    return _environment().get_template("report.html.j2").render(**context)


def write_report(result: Result, run_dir: str | Path) -> Path:
    """Draw the figures and write the self-contained HTML report of a run.

    Parameters
    ----------
    result
        A finished run.
    run_dir
        The run folder (created if needed): the figures go to ``run_dir/figures`` (PNG and
        SVG), the report to ``run_dir/report.html`` (replaced atomically).

    Returns
    -------
    pathlib.Path
        The path of ``report.html``.

    Raises
    ------
    TropismError
        If ``run_dir`` exists and is not a folder.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise TropismError(f"{run_dir} exists and is not a folder")
    run_dir.mkdir(parents=True, exist_ok=True)
    figures = make_figures(result, run_dir / "figures")
    text = render_report(result, run_dir, figures)
    out = run_dir / "report.html"
    tmp = run_dir / f".report.html.{os.getpid()}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    return out
