"""Dose-response curves: a readout against a varied quantity, with 95 % CI bands.

:func:`dose_response` takes a long table (one row per point, replicate and readout, as a sweep
writes it) and draws, per readout, the mean over replicates at each value of the varied
quantity, its Student-t 95 % confidence band and every replicate as a dot; a ``group`` column
gives one curve per group (e.g. with and without a drug). :func:`sweep_frame` builds that
table from a run whose conditions are the points of a sweep (``summary["sweep"]``), so the
report draws the curve too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from tropism.errors import TropismError
from tropism.report.figures import (
    OKABE_ITO,
    _new_figure,
    _wrap,
    mean_ci,
    pretty_unit,
    readout_label,
)

if TYPE_CHECKING:  # pragma: no cover - only for type hints
    from tropism.api import Result

SWEEP_KEY = "sweep"
"""Key of ``summary`` that makes a run a dose-response sweep: ``{"key": "assay.source.cxcl12",
"unit": "nM", "values": {condition: number}}`` and optionally ``"log": true``."""


def _numeric(data: pd.DataFrame, column: str, what: str) -> pd.Series:
    if column not in data:
        raise TropismError(
            f"{what} = {column!r}: expected a column of the data ({', '.join(map(str, data))})"
        )
    values = pd.to_numeric(data[column], errors="coerce")
    if values.isna().any() or not np.all(np.isfinite(values.to_numpy(dtype=float))):
        raise TropismError(f"{what} = {column!r}: expected a column of finite numbers")
    return values.astype(float)


def _curve(ax, sub: pd.DataFrame, x: str, color: str, label: str, log_x: bool, confidence):
    """One series: mean line with markers, CI band, replicate dots; zero doses as a line."""
    ci = mean_ci(sub, x, confidence=confidence)
    xs = ci.index.to_numpy(dtype=float)
    on_curve = xs > 0.0 if log_x else np.ones(xs.size, dtype=bool)
    xc, c = xs[on_curve], ci[on_curve]
    ax.plot(xc, c["mean"], color=color, lw=1.6, marker="o", ms=4, label=label, zorder=3)
    ax.fill_between(xc, c["low"], c["high"], color=color, alpha=0.2, lw=0)
    dots = sub[sub[x] > 0.0] if log_x else sub
    ax.scatter(dots[x], dots["value"], s=10, color=color, alpha=0.6, lw=0, zorder=4)
    for _, row in ci[~on_curve].iterrows():  # log axis: a dose of 0 (vehicle) as a level
        ax.axhline(row["mean"], color=color, lw=1.2, ls="--", zorder=2)
        if np.isfinite(row["half"]):
            ax.axhspan(row["low"], row["high"], color=color, alpha=0.08, lw=0)
    return bool((~on_curve).any())


def dose_response(
    data: pd.DataFrame,
    x: str,
    readouts: str | Sequence[str] | None = None,
    *,
    group: str | None = None,
    log_x: bool = False,
    x_label: str | None = None,
    x_unit: str | None = None,
    units: Mapping[str, str] | None = None,
    colors: Mapping[str, str] | None = None,
    confidence: float = 0.95,
    ax=None,
) -> Figure:
    """Response curve: a readout against a varied quantity, mean and CI band per value.

    Parameters
    ----------
    data
        Long table: one row per point, replicate and readout, with the column ``x`` (the
        varied quantity, numbers), ``value`` and, when it holds several readouts,
        ``readout``; a ``group`` column gives one curve per group.
    x
        Column of the varied quantity.
    readouts
        Readouts to draw, one panel each; default all in ``data["readout"]`` (or the single
        unnamed response when there is no readout column).
    group
        Column that splits the data into curves (Okabe-Ito colours in order of appearance,
        or ``colors``).
    log_x
        Logarithmic x axis. Points at x <= 0 (a vehicle control) cannot sit on it: they are
        drawn as a dashed level (mean) with a faint band (CI) across the panel.
    x_label, x_unit
        Axis label (default the column name) and its unit.
    units
        Unit of each readout, for the y labels.
    colors
        Colour of each group.
    confidence
        Level of the band (Student t over replicates).
    ax
        Draw into this matplotlib axes (one readout only).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per readout; per group a line with markers through the means, a band
        from ``mean - t * sd / sqrt(n)`` to ``mean + t * sd / sqrt(n)`` and one dot per row.

    Raises
    ------
    TropismError
        If a column is missing or not numeric, a readout is not in the data, or ``log_x``
        is asked for without a positive x.
    """
    if data is None or data.empty:
        raise TropismError("no data to draw a dose-response curve from")
    frame = data.copy()
    frame[x] = _numeric(frame, x, "x")
    frame["value"] = _numeric(frame, "value", "value")
    if "readout" in frame:
        available = [str(r) for r in pd.unique(frame["readout"])]
        if readouts is None:
            names = available
        else:
            names = [readouts] if isinstance(readouts, str) else list(readouts)
        for name in names:
            if name not in available:
                raise TropismError(
                    f"readout {name!r} is not in the data; expected one of {', '.join(available)}"
                )
    else:
        if readouts is not None and not isinstance(readouts, str):
            raise TropismError("readouts: the data has no readout column; name at most one")
        names = [readouts or "response"]
        frame["readout"] = names[0]
    if log_x and not (frame[x] > 0.0).any():
        raise TropismError(f"log_x: every value of {x!r} is <= 0; expected some positive ones")
    groups = [None] if group is None else list(pd.unique(frame[group]))
    palette = dict(colors or {})
    for i, g in enumerate(groups):
        palette.setdefault(str(g), OKABE_ITO[i % len(OKABE_ITO)])
    if ax is not None:
        if len(names) != 1:
            raise TropismError(f"ax: a given axes holds one panel; name one of {', '.join(names)}")
        fig, axes = ax.figure, [ax]
    else:
        fig, axes = _new_figure(len(names), panel=(3.6, 3.0))
    unit = pretty_unit(x_unit)
    xl = x_label or x
    xl = f"{xl} ({unit})" if unit else xl
    units = units or {}
    any_zero = False
    for panel, name in zip(axes, names, strict=True):
        rows = frame[frame["readout"] == name]
        for i, g in enumerate(groups):
            sub = rows if g is None else rows[rows[group] == g]
            if sub.empty:
                continue
            label = name if g is None else _wrap(str(g), 30)
            color = palette.get(str(g), OKABE_ITO[i % len(OKABE_ITO)])
            any_zero |= _curve(panel, sub, x, color, label, log_x, confidence)
        if log_x:
            panel.set_xscale("log")
        panel.set_xlabel(xl)
        panel.set_ylabel(readout_label(name, units.get(name)))
    handles, labels = axes[0].get_legend_handles_labels()
    if group is None:  # one curve per panel: the y label names it
        handles, labels = [], []
    if any_zero:
        handles.append(Line2D([], [], color="0.3", ls="--", lw=1.2))
        labels.append(f"{x_label or x} = 0 (mean, CI band)")
    if handles and ax is not None:
        ax.legend(handles, labels, frameon=False, fontsize=8)
    elif handles:
        fig.legend(
            handles, labels, loc="outside lower center", ncols=min(len(labels), 4), frameon=False
        )
    return fig


def sweep_frame(result: Result) -> tuple[pd.DataFrame, dict]:
    """The end-point values of a sweep run as a long table, and its ``summary["sweep"]``.

    Returns
    -------
    (pandas.DataFrame, dict)
        Columns ``<key>`` (the varied quantity's value of each condition), ``replicate``,
        ``readout``, ``value`` (one row per replicate value of ``summary``); and the sweep
        description (``key``, ``unit``, ``values``, optionally ``log``).

    Raises
    ------
    TropismError
        If the run is not a sweep, or a condition has no value of the varied quantity.
    """
    summary = result.summary or {}
    info = summary.get(SWEEP_KEY)
    if not info or "key" not in info or "values" not in info:
        raise TropismError(
            f'this run is not a dose-response sweep: summary["{SWEEP_KEY}"] with key and values '
            "is missing"
        )
    key = str(info["key"])
    rows = []
    for cond in summary.get("conditions", []):
        if cond["name"] not in info["values"]:
            raise TropismError(
                f"condition {cond['name']!r} has no value of {key} in the sweep description"
            )
        dose = float(info["values"][cond["name"]])
        for name, d in cond["readouts"].items():
            for rep, v in enumerate(d.get("values", [])):
                if v is not None:
                    rows.append((dose, rep, name, float(v)))
    return pd.DataFrame(rows, columns=[key, "replicate", "readout", "value"]), dict(info)


def sweep_response(result: Result, readouts: str | Sequence[str] | None = None, *, ax=None):
    """Dose-response figure of a sweep run (see :func:`sweep_frame`).

    The x axis is logarithmic when ``summary["sweep"]["log"]`` says so, or, when it is not
    given, when the positive values span two decades or more.
    """
    from tropism.report.figures import _resolve_readouts

    frame, info = sweep_frame(result)
    names = _resolve_readouts(result, readouts)
    xs = frame[info["key"]].to_numpy(dtype=float)
    pos = xs[xs > 0.0]
    log = info.get("log")
    if log is None:
        log = bool(pos.size and pos.max() >= 100.0 * pos.min())
    units = {n: d.get("unit", "") for n, d in (result.summary or {}).get("readouts", {}).items()}
    return dose_response(
        frame,
        info["key"],
        names,
        log_x=bool(log),
        x_label=info.get("label") or info["key"].rpartition(".")[2],
        x_unit=info.get("unit"),
        units=units,
        ax=ax,
    )
