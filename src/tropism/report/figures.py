"""Figures of a run: readouts over time, end points, tracks, angles, maps and fractions.

Every function takes a :class:`~tropism.api.Result` (any object with ``summary``, ``metrics``,
``tracks`` and ``fields`` attributes will do) and returns a :class:`matplotlib.figure.Figure`
drawn on the Agg canvas, without touching pyplot's global state (so nothing has to be closed
and a notebook's backend is left alone). Each condition keeps one colour in every figure: the
Okabe-Ito colour-blind-safe palette, taken in condition order (control first). Figures use
constrained layout so that labels do not overlap at the default size.

Units: the data are in engine units (um, min, nM); time axes are drawn in hours.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy import stats as _st

from tropism.errors import TropismError

if TYPE_CHECKING:  # pragma: no cover - only for type hints
    from tropism.api import Result

OKABE_ITO: tuple[str, ...] = (
    "#000000",  # black
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow (last: weakest contrast on white)
)
"""Okabe & Ito (2008) colour-blind-safe palette, in the order conditions receive it."""

TOL_BRIGHT: tuple[str, ...] = (
    "#4477AA",  # blue
    "#EE6677",  # red
    "#228833",  # green
    "#CCBB44",  # yellow
    "#66CCEE",  # cyan
    "#AA3377",  # purple
    "#BBBBBB",  # grey
)
"""Paul Tol's colour-blind-safe "bright" scheme, for parts of a whole (compartments), so that
they are not confused with the conditions' Okabe-Ito colours."""

DENSITY_ASSAYS: frozenset[str] = frozenset({"spheroid", "intracranial", "brain"})
"""Assays whose report shows where the cells are (density maps) instead of track plots."""

UNDIRECTED_ASSAYS: frozenset[str] = DENSITY_ASSAYS | {"systemic", "transwell"}
"""Assays without one gradient direction: no spider or rose plots (angles are taken to +x)."""

FRACTION_PREFIX = "fraction_"
"""Readouts named ``fraction_<compartment>`` are drawn as stacked compartment fractions."""

DEFAULT_READOUTS: tuple[str, ...] = ("fmi", "chemotactic_index", "speed")
"""Readouts drawn when none are named (those of them that the run has)."""

DPI = 120
"""Resolution of the PNG files written by :func:`make_figures`."""

_PANEL = (3.4, 2.9)  # inches per panel
_MAX_COLS = 4
_ROSE_BINS = 12  # 30 degree sectors


# --------------------------------------------------------------------------- helpers


class NotebookFigure(Figure):
    """A matplotlib Figure that shows itself in a notebook, without pyplot.

    IPython displays an object through its ``_repr_png_``; a plain Figure has none, and the
    inline backend's display hook is installed only once pyplot has been imported. Where that
    hook is installed it takes precedence, so the figure is shown once either way.
    """

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
        return buf.getvalue()


def _new_figure(n_panels: int, ncols: int | None = None, panel=_PANEL, **subplot_kw):
    """A constrained-layout figure on the Agg canvas with ``n_panels`` axes (row-major)."""
    ncols = max(1, min(ncols or n_panels, _MAX_COLS))
    nrows = max(1, math.ceil(n_panels / ncols))
    fig = NotebookFigure(figsize=(panel[0] * ncols, panel[1] * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw).ravel()
    for ax in axes[n_panels:]:
        ax.remove()
    return fig, list(axes[:n_panels])


def condition_names(result: Result) -> list[str]:
    """Condition names in the run's order (control first).

    Taken from ``summary["conditions"]``; conditions that appear only in the metrics, tracks
    or fields follow in order of appearance.
    """
    names = [c["name"] for c in (result.summary or {}).get("conditions", [])]
    extra: list[Any] = []
    for frame in (result.metrics, result.tracks):
        if frame is not None and "condition" in frame:
            extra.extend(pd.unique(frame["condition"]))
    fields = result.fields
    if fields is not None and "condition" in fields.coords:
        extra.extend(fields["condition"].values.tolist())
    for name in extra:
        if name not in names:
            names.append(str(name))
    return names


def condition_colors(result: Result) -> dict[str, str]:
    """Colour of each condition: Okabe-Ito in condition order (cycling after eight)."""
    return {n: OKABE_ITO[i % len(OKABE_ITO)] for i, n in enumerate(condition_names(result))}


def pretty_unit(unit: str | None) -> str:
    """Unit as shown on an axis: ``um`` becomes ``µm``; dimensionless (``1``) is empty."""
    if not unit or unit.strip() == "1":
        return ""
    return re.sub(r"\bum\b", "\u00b5m", unit)


def readout_label(name: str, unit: str | None = None) -> str:
    """Axis label of a readout, e.g. ``"speed (µm/min)"``, ``"FMI"``, ``"msc: FMI"``."""
    pop, _, base = name.rpartition(".")
    text = "FMI" if base == "fmi" else base.replace("_", " ")
    if pop:
        text = f"{pop}: {text}"
    u = pretty_unit(unit)
    return f"{text} ({u})" if u else text


def _readout_unit(result: Result, name: str) -> str:
    info = (result.summary or {}).get("readouts", {}).get(name)
    if info is None:  # a bare name in a multi-population run: use the base readout's unit
        base = name.rpartition(".")[2]
        for key, value in (result.summary or {}).get("readouts", {}).items():
            if key.rpartition(".")[2] == base:
                info = value
                break
    return (info or {}).get("unit", "")


def _available_readouts(result: Result) -> list[str]:
    """Readout names of the run: summary keys (``pop.readout`` with several populations)."""
    names = list((result.summary or {}).get("readouts", {}))
    if not names and result.metrics is not None and "readout" in result.metrics:
        names = [str(r) for r in pd.unique(result.metrics["readout"])]
    return names


def _resolve_readouts(result: Result, readouts: Sequence[str] | None) -> list[str]:
    """Requested readouts as the run names them; ``None`` means the defaults the run has.

    A bare name (``"fmi"``) in a run with several populations expands to every population's
    readout (``"msc.fmi"``, ``"npc.fmi"``).
    """
    available = _available_readouts(result)
    if isinstance(readouts, str):
        readouts = [readouts]
    strict = readouts is not None
    wanted = list(DEFAULT_READOUTS if readouts is None else readouts)
    out: list[str] = []
    for name in wanted:
        if name in available:
            out.append(name)
            continue
        matches = [a for a in available if a.rpartition(".")[2] == name]
        if matches:
            out.extend(matches)
        elif strict:
            raise TropismError(
                f"readout {name!r} is not in this run; expected one of {', '.join(available)}"
            )
    if not out and not strict:
        out = available[:3]
    return list(dict.fromkeys(out))


def _metric_rows(metrics: pd.DataFrame, name: str) -> pd.DataFrame:
    """Rows of ``metrics`` for a readout named as in the summary (``[population.]readout``)."""
    pop, _, base = name.rpartition(".")
    rows = metrics[metrics["readout"] == base]
    if pop and "population" in rows:
        rows = rows[rows["population"] == pop]
    return rows


def _wrap(name: str, width: int = 14) -> str:
    return textwrap.fill(str(name), width=width, break_long_words=False) or str(name)


def significance(p: float | None) -> str:
    """Stars of a p-value: ``***`` < 0.001, ``**`` < 0.01, ``*`` < 0.05, else ``ns``.

    ``None`` (no test possible) gives an empty string.
    """
    if p is None or not math.isfinite(p):
        return ""
    if p < 0.001:
        return "***"
    if p < 0.01:
        return "**"
    if p < 0.05:
        return "*"
    return "ns"


def _spatial_dims(da) -> list[str]:
    return [d for d in da.dims if d not in ("condition", "time")]


def _fmt_hours(minutes: float) -> str:
    return f"{minutes / 60.0:.3g} h"


def time_axis(last_minute: float) -> tuple[float, str]:
    """(minutes per axis unit, axis label) for a time axis ending at ``last_minute``.

    Hours up to three days, days beyond (systemic runs last days).

    Examples
    --------
    >>> time_axis(720.0)
    (60.0, 'time (h)')
    >>> time_axis(7 * 1440.0)
    (1440.0, 'time (d)')
    """
    if last_minute > 72 * 60.0:
        return 1440.0, "time (d)"
    return 60.0, "time (h)"


def mean_ci(
    frame: pd.DataFrame, by: str | list[str], value: str = "value", confidence: float = 0.95
) -> pd.DataFrame:
    """Mean and Student-t confidence interval of ``value`` over the rows of each group.

    Each row is one replicate. Returns one row per group (index: the group keys) with
    columns ``mean``, ``n`` (finite values), ``sd`` (``ddof=1``), ``half`` =
    ``t_{(1+c)/2, n-1} * sd / sqrt(n)``, ``low`` and ``high``; ``half`` is NaN where n < 2.
    NaN values are missing replicates and are left out.
    """
    g = frame.groupby(by, sort=True)[value]
    out = pd.DataFrame({"mean": g.mean(), "n": g.count(), "sd": g.std(ddof=1)})
    n = out["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        tq = np.where(n >= 2, _st.t.ppf(0.5 * (1.0 + confidence), np.maximum(n - 1, 1)), np.nan)
        out["half"] = tq * out["sd"].to_numpy(dtype=float) / np.sqrt(n)
    out["low"] = out["mean"] - out["half"]
    out["high"] = out["mean"] + out["half"]
    return out


# --------------------------------------------------------------------------- figures


def _readout_panel(ax, result: Result, name: str, colors: dict[str, str]) -> None:
    """Draw one readout over time on ``ax``: mean line and 95 % CI band per condition."""
    rows = _metric_rows(result.metrics, name)
    scale, label = time_axis(float(result.metrics["time"].max()))
    for cond in colors:
        sub = rows[rows["condition"] == cond]
        if sub.empty:
            continue
        # one value per replicate and time (populations were selected above)
        per_rep = sub.groupby(["time", "replicate"], as_index=False)["value"].mean()
        ci = mean_ci(per_rep, "time")
        t = ci.index.to_numpy(dtype=float) / scale
        m = ci["mean"].to_numpy(dtype=float)
        ax.plot(t, m, color=colors[cond], lw=1.6, label=cond)
        ax.fill_between(t, ci["low"], ci["high"], color=colors[cond], alpha=0.2, lw=0)
    ax.set_xlabel(label)
    ax.set_ylabel(readout_label(name, _readout_unit(result, name)))


def _single_panel(ax, names: list[str], what: str):
    """The figure of ``ax`` after checking that one panel is asked for."""
    if len(names) != 1:
        raise TropismError(
            f"ax: a given axes holds one panel, but {what} has {len(names)} "
            f"({', '.join(names)}); name one readout"
        )
    return ax.figure


def readouts_over_time(
    result: Result, readouts: Sequence[str] | None = None, *, ax=None
) -> Figure:
    """Readouts over time: mean and 95 % CI band over replicates, one panel per readout.

    Parameters
    ----------
    result
        A finished run.
    readouts
        Readout names; ``None`` draws ``fmi``, ``chemotactic_index`` and ``speed`` (those the
        run has; otherwise its first three readouts).
    ax
        Draw into this matplotlib axes instead of a new figure (one readout only); the
        legend is then the axes' own.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per readout with one line per condition (the mean over replicates at each
        time) and a band ``mean +/- t_{0.975, n-1} * sd / sqrt(n)`` (no band where n < 2).
        Time in hours (days for runs longer than three days).

    Raises
    ------
    TropismError
        If a named readout is not in the run, or the run has no readouts over time.
    """
    metrics = result.metrics
    if metrics is None or metrics.empty:
        raise TropismError("this run has no readouts over time to plot")
    names = _resolve_readouts(result, readouts)
    if not names:
        raise TropismError("this run has no readouts to plot")
    colors = condition_colors(result)
    if ax is not None:
        fig = _single_panel(ax, names, "readouts")
        _readout_panel(ax, result, names[0], colors)
        ax.legend(frameon=False, fontsize=8)
        return fig
    fig, axes = _new_figure(len(names))
    for panel, name in zip(axes, names, strict=True):
        _readout_panel(panel, result, name, colors)
    _legend_below(fig, axes[0])
    return fig


def _legend_below(fig: Figure, ax, ncols: int = 4) -> None:
    """One legend for the figure, below the panels, from the handles of ``ax``."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=min(len(labels), ncols),
            frameon=False,
        )


def endpoints(result: Result, readouts: Sequence[str] | None = None, *, ax=None) -> Figure:
    """End-point readouts: bar (mean), 95 % CI and every replicate, per condition.

    Parameters
    ----------
    result
        A finished run.
    readouts
        Readout names as in ``summary["readouts"]``; ``None`` as in
        :func:`readouts_over_time`.
    ax
        Draw into this matplotlib axes instead of a new figure (one readout only).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per readout. Per condition: a bar at the mean, an error bar spanning the
        95 % CI, each replicate as a dot (one scatter collection per condition, spread
        evenly across the bar: a deterministic jitter) and, above every treated condition,
        the significance of its comparison with the control (``ns``, ``*``, ``**``,
        ``***`` from ``summary["comparisons"]``).
    """
    summary = result.summary or {}
    conds = summary.get("conditions", [])
    if not conds:
        raise TropismError("this run has no summary to plot")
    names = _resolve_readouts(result, readouts)
    if not names:
        raise TropismError("this run has no readouts to plot")
    colors = condition_colors(result)
    pvals = {
        (c["condition"], c["readout"]): c.get("p_value") for c in summary.get("comparisons", [])
    }
    control = summary.get("control", conds[0]["name"])
    labels = [c["name"] for c in conds]
    rotate = len(labels) > 3 or any(len(s) > 10 for s in labels)
    if ax is not None:
        fig, axes = _single_panel(ax, names, "endpoints"), [ax]
    else:
        fig, axes = _new_figure(len(names), panel=(max(2.6, 0.9 * len(labels) + 1.0), 3.3))
    for ax, name in zip(axes, names, strict=True):
        tops: list[float] = []
        lows: list[float] = [0.0]
        highs: list[float] = [0.0]
        for i, cond in enumerate(conds):
            d = cond["readouts"].get(name)
            if d is None:
                tops.append(math.nan)
                continue
            color = colors.get(cond["name"], OKABE_ITO[0])
            mean, lo, hi = d.get("mean"), d.get("ci_low"), d.get("ci_high")
            vals = np.array([v for v in d.get("values", []) if v is not None], dtype=float)
            if mean is not None:
                ax.bar(i, mean, width=0.6, color=color, alpha=0.35, edgecolor=color, lw=1.2)
            if mean is not None and lo is not None and hi is not None:
                ax.errorbar(
                    i,
                    mean,
                    yerr=[[mean - lo], [hi - mean]],
                    fmt="none",
                    ecolor="0.2",
                    capsize=4,
                    lw=1.2,
                    zorder=4,
                )
            jitter = np.linspace(-0.18, 0.18, vals.size) if vals.size > 1 else np.zeros(1)
            ax.scatter(
                i + jitter[: vals.size],
                vals,
                s=22,
                color=color,
                edgecolors="white",
                linewidths=0.6,
                zorder=5,
            )
            top = [v for v in (mean, hi, *vals.tolist()) if v is not None]
            tops.append(max(top) if top else math.nan)
            lows.extend(v for v in (mean, lo, *vals.tolist()) if v is not None)
            highs.extend(top)
        ymin, ymax = min(lows), max(highs)
        span = (ymax - ymin) or 1.0
        for i, cond in enumerate(conds):
            if cond["name"] == control:
                continue
            stars = significance(pvals.get((cond["name"], name)))
            if stars and math.isfinite(tops[i]):
                ax.text(
                    i,
                    tops[i] + 0.04 * span,
                    stars,
                    ha="center",
                    va="bottom",
                    fontsize=9 if stars == "ns" else 11,
                )
        ax.set_ylim(ymin - (0.06 * span if ymin < 0 else 0.0), ymax + 0.2 * span)
        ax.set_xlim(-0.6, len(conds) - 0.4)
        ax.set_xticks(range(len(conds)))
        if rotate:
            ax.set_xticklabels(
                [_wrap(s, 24) for s in labels], rotation=30, ha="right", rotation_mode="anchor"
            )
        else:
            ax.set_xticklabels([_wrap(s, 10) for s in labels])
        ax.set_ylabel(readout_label(name, _readout_unit(result, name)))
        ax.axhline(0.0, color="0.5", lw=0.6, zorder=1)
    return fig


def _track_groups(tracks: pd.DataFrame):
    """(condition, array (T, 2) of x, y sorted by time) for every tracked cell."""
    keys = [k for k in ("condition", "replicate", "population", "cell") if k in tracks]
    ordered = tracks.sort_values([*keys, "time"], kind="stable")
    for key, grp in ordered.groupby(keys, sort=False):
        cond = key[0] if isinstance(key, tuple) else key
        yield cond, grp[["x", "y"]].to_numpy(dtype=float)


def _need_tracks(result: Result) -> pd.DataFrame:
    tracks = result.tracks
    if tracks is None or tracks.empty:
        raise TropismError("this run has no cell tracks to plot")
    return tracks


def _gradient_arrow(ax) -> None:
    """An arrow in the lower right of the panel pointing up the gradient (+x)."""
    ax.annotate(
        "",
        xy=(0.95, 0.07),
        xytext=(0.68, 0.07),
        xycoords="axes fraction",
        arrowprops={"arrowstyle": "-|>", "color": "0.15", "lw": 1.4},
    )
    ax.text(0.815, 0.1, "gradient", transform=ax.transAxes, ha="center", va="bottom", fontsize=8)


def spider(result: Result) -> Figure:
    """Spider plot: every tracked cell drawn from a common origin, one panel per condition.

    Tracks are projected onto the x-y plane and shifted so that each starts at (0, 0);
    all panels share the same axis limits. An arrow marks the gradient direction (+x).
    """
    tracks = _need_tracks(result)
    colors = condition_colors(result)
    segs: dict[str, list[np.ndarray]] = {c: [] for c in colors}
    for cond, xy in _track_groups(tracks):
        segs.setdefault(cond, []).append(xy - xy[0])
    reach = max((float(np.abs(s).max()) for v in segs.values() for s in v), default=1.0)
    lim = 1.08 * (reach or 1.0)
    fig, axes = _new_figure(len(segs), panel=(3.1, 3.5))  # taller: equal-aspect panels
    for ax, (cond, lines) in zip(axes, segs.items(), strict=True):
        ax.axhline(0.0, color="0.85", lw=0.6, zorder=0)
        ax.axvline(0.0, color="0.85", lw=0.6, zorder=0)
        if lines:
            ax.add_collection(
                LineCollection(lines, colors=colors.get(cond, OKABE_ITO[0]), lw=0.9, alpha=0.8)
            )
            ends = np.array([s[-1] for s in lines])
            ax.scatter(ends[:, 0], ends[:, 1], s=6, color=colors.get(cond, OKABE_ITO[0]))
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title(f"{_wrap(cond, 28)}\n(n = {len(lines)} cells)", fontsize=9)
        ax.set_xlabel("x \u2212 x\u2080 (\u00b5m)")
        ax.set_ylabel("y \u2212 y\u2080 (\u00b5m)")
        _gradient_arrow(ax)
    return fig


def net_angles(result: Result) -> dict[str, np.ndarray]:
    """Net displacement angle (rad, in (-pi, pi], 0 = up the gradient +x) of each tracked cell.

    Angles are of the x-y projection of last minus first position; cells that did not move
    are left out. Keys are conditions in run order.
    """
    tracks = _need_tracks(result)
    out: dict[str, list[float]] = {c: [] for c in condition_names(result)}
    for cond, xy in _track_groups(tracks):
        d = xy[-1] - xy[0]
        if d[0] != 0.0 or d[1] != 0.0:
            out.setdefault(cond, []).append(math.atan2(d[1], d[0]))
    return {c: np.asarray(v, dtype=float) for c, v in out.items()}


def rose(result: Result) -> Figure:
    """Rose plot: polar histogram of net displacement angles, one panel per condition.

    Sectors of 30 degrees; the radius is the fraction of moved cells in the sector; 0 degrees
    points up the gradient (+x).
    """
    angles = net_angles(result)
    colors = condition_colors(result)
    fig, axes = _new_figure(len(angles), panel=(2.9, 3.6), subplot_kw={"projection": "polar"})
    edges = np.linspace(-np.pi, np.pi, _ROSE_BINS + 1)
    width = edges[1] - edges[0]
    fracs = {c: np.histogram(a, bins=edges)[0] / max(a.size, 1) for c, a in angles.items()}
    # one radial scale for every panel, so that the conditions can be compared by eye
    rmax = 1.1 * max([0.05, *(float(f.max()) for f in fracs.values() if f.size)])
    for ax, (cond, ang) in zip(axes, angles.items(), strict=True):
        color = colors.get(cond, OKABE_ITO[0])
        ax.bar(
            edges[:-1] + width / 2,
            fracs[cond],
            width=width,
            color=color,
            alpha=0.55,
            edgecolor=color,
            lw=1.0,
            zorder=2,
        )
        ax.set_ylim(0.0, rmax)
        ax.yaxis.set_major_locator(MaxNLocator(3))
        ax.set_rlabel_position(157.5)
        ax.tick_params(axis="y", labelsize=7)
        ax.tick_params(axis="x", labelsize=8)
        for label in ax.get_yticklabels():
            label.set_bbox({"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 0.5})
        ax.set_title(f"{_wrap(cond, 28)}\n(n = {ang.size} cells)", fontsize=9)
    fig.supxlabel(
        "net displacement angle (deg; 0\u00b0 = up the gradient, +x); radius: fraction of cells",
        fontsize=9,
    )
    return fig


class FieldPlane:
    """A field variable as 2-D maps: dims (condition, time, x, y), with its drawing geometry.

    Attributes
    ----------
    data : xarray.DataArray
        The maps (the middle z-plane of a 3-D field), dims ``(condition, time, xd, yd)``.
    xd, yd : str
        Names of the spatial dims drawn across and up.
    extent : tuple of float
        ``(left, right, bottom, top)`` of the voxels' outer edges, for ``imshow``.
    xunit, yunit : str
        Axis units as shown (``µm``).
    where : str
        ``", z = 15 µm"`` for the middle plane of a 3-D field, else empty.
    """

    def __init__(self, ds, species: str | None):
        if ds is None or not ds.data_vars:
            raise TropismError("this run has no field snapshots to draw")
        names = [str(v) for v in ds.data_vars]
        species = names[0] if species is None else species
        if species not in ds.data_vars:
            raise TropismError(
                f"no field {species!r} in this run; expected one of {', '.join(names)}"
            )
        da = ds[species]
        space = _spatial_dims(da)
        if len(space) not in (2, 3) or "condition" not in da.dims or "time" not in da.dims:
            raise TropismError(
                f"field {species!r} has dims {da.dims}; a map needs 2-D or 3-D fields"
            )
        self.where = ""
        if len(space) == 3:
            zdim = space[2]
            k = da.sizes[zdim] // 2
            zval = float(da[zdim].values[k])
            da = da.isel({zdim: k})
            zunit = pretty_unit(ds[zdim].attrs.get("units", "um"))
            self.where = f", {zdim} = {zval:.4g} {zunit}"
        self.species = species
        self.xd, self.yd = space[0], space[1]
        self.data = da.transpose("condition", "time", self.xd, self.yd)
        self.extent = _extent(self.data[self.xd].values, self.data[self.yd].values)
        self.xunit = _coord_unit(ds, self.xd)
        self.yunit = _coord_unit(ds, self.yd)
        self.unit = str(da.attrs.get("units", "nM"))
        self.replicate = ds.attrs.get("replicate", 0)

    @property
    def conditions(self) -> list[str]:
        return [str(c) for c in self.data["condition"].values]

    @property
    def times(self) -> np.ndarray:
        return np.asarray(self.data["time"].values, dtype=float)

    def label_axes(self, ax) -> None:
        ax.set_xlabel(f"{self.xd} ({self.xunit})")
        ax.set_ylabel(f"{self.yd} ({self.yunit})")


def _coord_unit(ds, dim: str) -> str:
    return pretty_unit(ds[dim].attrs.get("units", "um")) if dim in ds.coords else "\u00b5m"


def _extent(xs, ys) -> tuple[float, float, float, float]:
    """Outer edges of cell-centred coordinates: (left, right, bottom, top)."""
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    dx = float(xs[1] - xs[0]) if xs.size > 1 else 1.0
    dy = float(ys[1] - ys[0]) if ys.size > 1 else 1.0
    return (xs[0] - dx / 2, xs[-1] + dx / 2, ys[0] - dy / 2, ys[-1] + dy / 2)


def _map_figure(
    n_panels: int, extent: Sequence[float], ncols: int | None = None
) -> tuple[Figure, list, bool]:
    """A figure of ``n_panels`` equal-aspect maps of ``extent``: (figure, axes, wide).

    Wide domains (more than twice as wide as high) are stacked in one column with the
    colourbar below; others sit side by side, ``ncols`` in a row (default all), with the
    colourbar on the right.
    """
    width, height = extent[1] - extent[0], extent[3] - extent[2]
    wide = width > 2.0 * height
    ncols = 1 if wide else min(ncols or n_panels, n_panels)
    # Equal-aspect panels: about 0.8 in of a panel's width goes to the y ticks and label (and
    # its share of the colourbar), 1 in of its height to the title, the x ticks and label.
    # Constrained layout shrinks a fixed-aspect map to fit, so a small misjudgement only
    # leaves some white space.
    panel = (5.2, 4.4 * height / width + 1.0) if wide else (3.3, 2.3 * height / width + 0.9)
    fig, axes = _new_figure(n_panels, ncols=ncols, panel=panel)
    return fig, axes, wide


def _colorbar(fig: Figure, image, axes, label: str, wide: bool):
    return fig.colorbar(
        image,
        ax=axes,
        label=label,
        location="bottom" if wide else "right",
        shrink=0.8,
        aspect=30 if wide else 20,
    )


def _limits(values: np.ndarray) -> tuple[float, float]:
    """(vmin, vmax) of the finite values; a constant map gets a small positive range."""
    finite = values[np.isfinite(values)]
    vmin = float(finite.min()) if finite.size else 0.0
    vmax = float(finite.max()) if finite.size else 1.0
    if vmax <= vmin:
        vmax = vmin + (abs(vmin) * 1e-6 or 1.0)
    return vmin, vmax


def field_map(
    result: Result,
    species: str | None = None,
    time: float | Sequence[float] | None = None,
) -> Figure:
    """Heat map of a chemokine field per condition, with tracked cells overlaid.

    Parameters
    ----------
    result
        A finished run with field snapshots.
    species
        Field variable (e.g. ``"cxcl12"``); default the first one.
    time
        Snapshot time in min, or several (the nearest snapshot to each is drawn); default the
        last snapshot.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per condition in the fields, and per time (one row per time), in viridis
        with one colour scale and one colourbar in the field's units (nM); x-y plane (the
        middle z-plane of 3-D fields), with the positions of the tracked cells of the same
        replicate at the nearest track time drawn as dots.

    Raises
    ------
    TropismError
        If the run has no fields, the species is unknown, or the fields are not 2-D or 3-D.
    """
    plane = FieldPlane(result.fields, species)
    snaps = plane.times
    if time is None:
        picks = [snaps.size - 1]
    else:
        wanted = [time] if np.isscalar(time) else list(time)
        picks = list(dict.fromkeys(int(np.argmin(np.abs(snaps - float(w)))) for w in wanted))
    values = plane.data.isel(time=picks).to_numpy().astype(float)  # (condition, time, x, y)
    vmin, vmax = _limits(values)
    conds = plane.conditions
    colors = condition_colors(result)
    panels = [(c, k) for k in range(len(picks)) for c in range(len(conds))]
    fig, axes, wide = _map_figure(len(panels), plane.extent, ncols=len(conds))
    tracks = result.tracks if result.tracks is not None else pd.DataFrame()
    image = None
    for ax, (ci, k) in zip(axes, panels, strict=True):
        cond, t = conds[ci], float(snaps[picks[k]])
        image = ax.imshow(
            values[ci, k].T,
            origin="lower",
            extent=plane.extent,
            cmap="viridis",
            vmin=vmin,
            vmax=vmax,
            interpolation="nearest",
            aspect="equal",
        )
        if not tracks.empty and {"condition", "time", "x", "y"} <= set(tracks.columns):
            sub = tracks[tracks["condition"] == cond]
            if "replicate" in sub:
                sub = sub[sub["replicate"] == plane.replicate]
            if not sub.empty:
                times = np.unique(sub["time"].to_numpy(dtype=float))
                tt = times[np.argmin(np.abs(times - t))]
                at = sub[sub["time"] == tt]
                ax.scatter(
                    at["x"],
                    at["y"],
                    s=14,
                    color=colors.get(cond, OKABE_ITO[0]),
                    edgecolors="white",
                    linewidths=0.6,
                    zorder=3,
                )
        ax.set_xlim(plane.extent[0], plane.extent[1])
        ax.set_ylim(plane.extent[2], plane.extent[3])
        title = _wrap(cond, 40) if len(picks) == 1 else f"{_wrap(cond, 40)}, t = {_fmt_hours(t)}"
        ax.set_title(title, fontsize=9)
        plane.label_axes(ax)
    _colorbar(fig, image, axes, f"{plane.species} ({plane.unit})", wide)
    when = f" at t = {_fmt_hours(float(snaps[picks[0]]))}" if len(picks) == 1 else ""
    fig.suptitle(f"{plane.species}{when}{plane.where}; dots: tracked cells", fontsize=10)
    return fig


def report_field_times(result: Result, species: str) -> list[float]:
    """Snapshot times (min) of a field that the report draws.

    The last snapshot; and the first and middle ones too when the field changes over the run
    (somewhere by more than 1 % of its largest magnitude), e.g. a gradient that forms.
    """
    plane = FieldPlane(result.fields, species)
    snaps = plane.times
    data = plane.data.to_numpy().astype(float)
    scale = float(np.nanmax(np.abs(data))) if data.size else 0.0
    change = float(np.nanmax(np.abs(data - data[:, -1:]))) if data.size else 0.0
    if snaps.size < 3 or not change > 0.01 * scale:
        return [float(snaps[-1])]
    return [float(snaps[0]), float(snaps[snaps.size // 2]), float(snaps[-1])]


def _positions(result: Result, positions: pd.DataFrame | None) -> pd.DataFrame:
    """Cell positions to map: ``positions``, else ``result.positions`` if any, else the tracks."""
    if positions is None:
        positions = getattr(result, "positions", None)
    if positions is None:
        positions = result.tracks
    if positions is None or positions.empty:
        raise TropismError("this run has no cell positions to map")
    missing = {"condition", "x", "y"} - set(positions.columns)
    if missing:
        raise TropismError(
            f"cell positions lack the columns {', '.join(sorted(missing))}; "
            "expected condition, x, y (um)"
        )
    return positions


def _domain(result: Result, pos: pd.DataFrame) -> tuple[float, float, float, float]:
    """Map extent: the field grid's outer edges, else the positions' range plus 5 %."""
    ds = result.fields
    if ds is not None:
        for name in ds.data_vars:
            space = _spatial_dims(ds[name])
            if len(space) in (2, 3):
                return _extent(ds[space[0]].values, ds[space[1]].values)
    x = pos["x"].to_numpy(dtype=float)
    y = pos["y"].to_numpy(dtype=float)
    pad = 0.05 * max(float(np.ptp(x)), float(np.ptp(y)), 1.0)
    return (float(x.min()) - pad, float(x.max()) + pad, float(y.min()) - pad, float(y.max()) + pad)


def _edges(extent: Sequence[float], bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Square bins: ``bins`` along the longer side, as many as fit along the other."""
    width, height = extent[1] - extent[0], extent[3] - extent[2]
    side = max(width, height) / bins
    nx = max(1, round(width / side))
    ny = max(1, round(height / side))
    return (
        np.linspace(extent[0], extent[1], nx + 1),
        np.linspace(extent[2], extent[3], ny + 1),
    )


def cell_density(
    x: np.ndarray,
    y: np.ndarray,
    xedges: np.ndarray,
    yedges: np.ndarray,
    replicates: int = 1,
    method: str = "histogram",
    bandwidth: float | str | None = None,
) -> np.ndarray:
    """Cells per mm^2 on a grid of bins, averaged over replicates; array (nx, ny).

    Parameters
    ----------
    x, y
        Cell positions (um), pooled over ``replicates`` replicates.
    xedges, yedges
        Bin edges (um).
    replicates
        Number of replicates pooled; the density is per replicate (the mean).
    method
        ``"histogram"``: cells counted in each bin / bin area. ``"kde"``: Gaussian kernel
        density estimate (scipy's ``gaussian_kde``, bandwidth ``bandwidth``: Scott's rule by
        default) times the number of cells, evaluated at the bin centres; the kernel is not
        cut at the domain's walls, so some density falls outside near them.
    bandwidth
        ``bw_method`` of :class:`scipy.stats.gaussian_kde` (kde only).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    per_um2 = 1e6  # um^2 per mm^2
    if method == "histogram":
        counts, _, _ = np.histogram2d(x, y, bins=[xedges, yedges])
        area = np.outer(np.diff(xedges), np.diff(yedges))
        return counts / (replicates * area) * per_um2
    if method == "kde":
        xc = 0.5 * (xedges[1:] + xedges[:-1])
        yc = 0.5 * (yedges[1:] + yedges[:-1])
        if x.size < 3:
            return np.zeros((xc.size, yc.size))
        gx, gy = np.meshgrid(xc, yc, indexing="ij")
        try:
            kde = _st.gaussian_kde(np.vstack([x, y]), bw_method=bandwidth)
        except np.linalg.LinAlgError:  # all cells on one line: no 2-D density
            return np.zeros((xc.size, yc.size))
        dens = kde(np.vstack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
        return dens * x.size / replicates * per_um2
    raise TropismError(f"method = {method!r}: expected 'histogram' or 'kde'")


def density_map(
    result: Result,
    time: float | None = None,
    *,
    positions: pd.DataFrame | None = None,
    method: str = "histogram",
    bins: int = 40,
    bandwidth: float | str | None = None,
) -> Figure:
    """Where the cells are: a map of cell density per condition (brain, spheroid).

    Parameters
    ----------
    result
        A finished run.
    time
        Time in min (the nearest sampled time is drawn); default the last.
    positions
        Cell positions with columns condition, x, y (um) and optionally time and replicate;
        default ``result.positions`` where the run has it, else the sampled tracks.
    method
        ``"histogram"`` (square bins) or ``"kde"`` (Gaussian kernel density); see
        :func:`cell_density`.
    bins
        Bins along the longer side of the domain.
    bandwidth
        Kernel bandwidth (``bw_method`` of :class:`scipy.stats.gaussian_kde`), kde only.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per condition over the field grid's domain (or the cells' range), x-y
        projection; colour: cells per mm^2, mean over replicates, one scale for all panels.
    """
    pos = _positions(result, positions)
    if "time" in pos:
        times = np.unique(pos["time"].to_numpy(dtype=float))
        t = times[-1] if time is None else times[np.argmin(np.abs(times - float(time)))]
        pos = pos[pos["time"] == t]
        title = f"cell density at t = {_fmt_hours(float(t))}"
    else:
        title = "cell density"
    extent = _domain(result, pos)
    xedges, yedges = _edges(extent, bins)
    conds = [c for c in condition_names(result) if (pos["condition"] == c).any()]
    maps, counts = [], []
    for cond in conds:
        sub = pos[pos["condition"] == cond]
        reps = int(sub["replicate"].nunique()) if "replicate" in sub else 1
        maps.append(
            cell_density(
                sub["x"].to_numpy(),
                sub["y"].to_numpy(),
                xedges,
                yedges,
                replicates=reps,
                method=method,
                bandwidth=bandwidth,
            )
        )
        counts.append((len(sub), reps))
    values = np.array(maps)
    vmin, vmax = _limits(values)
    fig, axes, wide = _map_figure(len(conds), extent)
    image = None
    for ax, cond, dens, (n, reps) in zip(axes, conds, maps, counts, strict=True):
        image = ax.imshow(
            dens.T,
            origin="lower",
            extent=(xedges[0], xedges[-1], yedges[0], yedges[-1]),
            cmap="magma_r",
            vmin=0.0 if vmin >= 0.0 else vmin,
            vmax=vmax,
            interpolation="bilinear" if method == "kde" else "nearest",
            aspect="equal",
        )
        ax.set_title(f"{_wrap(cond, 36)}\n({n} cells from {reps} replicates)", fontsize=9)
        ax.set_xlabel("x (\u00b5m)")
        ax.set_ylabel("y (\u00b5m)")
    label = "cells per mm\u00b2 (mean over replicates)"
    _colorbar(fig, image, axes, label, wide)
    fig.suptitle(f"{title} ({'kernel density' if method == 'kde' else 'histogram'})", fontsize=10)
    return fig


def compartment_names(result: Result) -> list[str]:
    """Readouts named ``fraction_<compartment>`` in the run, in order of appearance (not the
    homing fractions of tissue cells, which overlap: at the tumour, in it, engrafted)."""
    from tropism.observe.readouts import HOMING_READOUTS

    m = result.metrics
    if m is None or m.empty or "readout" not in m:
        return []
    return [
        str(r)
        for r in pd.unique(m["readout"])
        if str(r).startswith(FRACTION_PREFIX) and str(r) not in HOMING_READOUTS
    ]


def compartment_fractions(result: Result) -> Figure:
    """Stacked fractions of the cells in each compartment over time, one panel per condition.

    The run's readouts named ``fraction_<compartment>`` (systemic runs: blood, lungs, liver,
    tumour, ...) are averaged over replicates at each time and stacked in order of
    appearance; each compartment keeps one colour (Tol's bright scheme) in every panel. With
    several populations there is one panel per condition and population.
    """
    names = compartment_names(result)
    if not names:
        raise TropismError(
            f"this run has no compartment fractions (readouts named {FRACTION_PREFIX}<name>)"
        )
    m = result.metrics
    rows = m[m["readout"].isin(names)]
    pops = [str(p) for p in pd.unique(rows["population"])] if "population" in rows else [""]
    palette = {n: TOL_BRIGHT[i % len(TOL_BRIGHT)] for i, n in enumerate(names)}
    panels = [
        (c, p)
        for c in condition_names(result)
        for p in pops
        if ((rows["condition"] == c) & ((rows["population"] == p) if p else True)).any()
    ]
    scale, tlabel = time_axis(float(rows["time"].max()))
    fig, axes = _new_figure(len(panels), panel=(3.4, 3.0))
    for ax, (cond, pop) in zip(axes, panels, strict=True):
        sub = rows[rows["condition"] == cond]
        if pop:
            sub = sub[sub["population"] == pop]
        means = sub.groupby(["time", "readout"])["value"].mean().unstack("readout")
        means = means.reindex(columns=names).fillna(0.0)
        t = means.index.to_numpy(dtype=float) / scale
        ax.stackplot(
            t,
            means.to_numpy().T,
            labels=[n[len(FRACTION_PREFIX) :].replace("_", " ") for n in names],
            colors=[palette[n] for n in names],
            alpha=0.85,
            lw=0.0,
        )
        top = float(means.sum(axis=1).max()) if not means.empty else 1.0
        ax.set_ylim(0.0, max(1.0, top))
        if t.size > 1:
            ax.set_xlim(t.min(), t.max())
        title = cond if len(pops) == 1 else f"{cond}: {pop}"
        ax.set_title(_wrap(title, 36), fontsize=9)
        ax.set_xlabel(tlabel)
        ax.set_ylabel("fraction of cells")
    _legend_below(fig, axes[0], ncols=min(len(names), 4))
    return fig


# --------------------------------------------------------------------------- files


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "field"


def _save(fig: Figure, out_dir: Path, stem: str) -> list[Path]:
    """Write ``stem.png`` (dpi 120) and ``stem.svg``, without dates or versions in the files."""
    png, svg = out_dir / f"{stem}.png", out_dir / f"{stem}.svg"
    with mpl.rc_context({"svg.hashsalt": "tropism"}):
        fig.savefig(png, dpi=DPI, format="png", metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return [png, svg]


def _assay(result: Result) -> str:
    return str((result.summary or {}).get("assay") or "")


def _has_positions(result: Result) -> bool:
    pos = getattr(result, "positions", None)
    if pos is None:
        pos = result.tracks
    return pos is not None and not pos.empty


def figure_stems(result: Result) -> list[str]:
    """File stems of every figure the run supports, in drawing order.

    - ``readouts_over_time`` and ``endpoints``: when the run has readouts;
    - ``compartments``: readouts named ``fraction_<compartment>`` (systemic runs);
    - ``dose_response``: ``summary["sweep"]`` (see :mod:`tropism.report.response`);
    - ``spider`` and ``rose``: tracks, in assays with one gradient direction (not in
      :data:`UNDIRECTED_ASSAYS`);
    - ``density``: cell positions in the brain and spheroid (:data:`DENSITY_ASSAYS`);
    - ``field_<species>``: each 2-D or 3-D field variable.
    """
    from tropism.report.response import SWEEP_KEY

    stems: list[str] = []
    has_readouts = bool(_resolve_readouts(result, None))
    if has_readouts and result.metrics is not None and not result.metrics.empty:
        stems.append("readouts_over_time")
    if has_readouts and (result.summary or {}).get("conditions"):
        stems.append("endpoints")
    if compartment_names(result):
        stems.append("compartments")
    if (result.summary or {}).get(SWEEP_KEY) and (result.summary or {}).get("conditions"):
        stems.append("dose_response")
    assay = _assay(result)
    if result.tracks is not None and not result.tracks.empty and assay not in UNDIRECTED_ASSAYS:
        stems += ["spider", "rose"]
    if assay in DENSITY_ASSAYS and _has_positions(result):
        stems.append("density")
    ds = result.fields
    if ds is not None:
        for name in ds.data_vars:
            da = ds[name]
            if len(_spatial_dims(da)) in (2, 3) and {"condition", "time"} <= set(da.dims):
                if da.sizes["condition"] and da.sizes["time"]:
                    stems.append(f"field_{_safe_name(str(name))}")
    return stems


FIGURE_KINDS: dict[str, str] = {
    "readouts": "readouts over time per condition: mean and 95 % CI band",
    "endpoints": "end-point bars with 95 % CI, every replicate and significance vs control",
    "spider": "cell tracks from a common origin, one panel per condition",
    "rose": "polar histogram of net migration directions",
    "field": "field heat map (species=, time=) with the tracked cells",
    "density": "map of cell density (time=, method='histogram' or 'kde', bins=)",
    "compartments": "stacked compartment fractions over time (readouts fraction_<name>)",
    "dose_response": "response against the varied quantity of a sweep, with 95 % CI band",
}
"""Figure kinds of :func:`plot` (and ``Result.plot``), each with what it draws."""

_ALIASES = {
    "readouts_over_time": "readouts",
    "time": "readouts",
    "endpoint": "endpoints",
    "tracks": "spider",
    "field_map": "field",
    "density_map": "density",
    "compartment_fractions": "compartments",
    "response": "dose_response",
}
_WITH_AX = ("readouts", "endpoints", "dose_response")


def _drawer(kind: str):
    from tropism.report.response import sweep_response

    return {
        "readouts": readouts_over_time,
        "endpoints": endpoints,
        "spider": spider,
        "rose": rose,
        "field": field_map,
        "density": density_map,
        "compartments": compartment_fractions,
        "dose_response": sweep_response,
    }[kind]


def plot(result: Result, kind: str = "readouts", ax=None, **options: Any) -> Figure:
    """Draw one figure of a run by kind; what ``Result.plot`` calls.

    Parameters
    ----------
    result
        A finished run.
    kind
        One of :data:`FIGURE_KINDS` (``"readouts"``, ``"endpoints"``, ``"spider"``,
        ``"rose"``, ``"field"``, ``"density"``, ``"compartments"``, ``"dose_response"``),
        a file stem of :func:`figure_stems` (``"field_cxcl12"``), or the name of a readout
        (``"fmi"``: that readout over time).
    ax
        A matplotlib axes to draw into (readouts, endpoints and dose_response, one readout).
    **options
        Passed to the figure function: ``readouts=`` (readouts, endpoints, dose_response),
        ``species=``, ``time=`` (field), ``time=``, ``method=``, ``bins=`` (density).

    Returns
    -------
    matplotlib.figure.Figure
        Not registered with pyplot: a notebook shows it once, as the cell's value.

    Raises
    ------
    TropismError
        If the kind is unknown, or the run lacks what the figure needs.
    """
    key = _ALIASES.get(kind.replace("-", "_"), kind.replace("-", "_"))
    if key not in FIGURE_KINDS and key.startswith("field_"):
        options.setdefault("species", kind[len("field_") :])
        key = "field"
    if key not in FIGURE_KINDS:
        available = _available_readouts(result)
        if kind in available or any(a.rpartition(".")[2] == kind for a in available):
            options.setdefault("readouts", [kind])
            key = "readouts"
        else:
            raise TropismError(
                f"kind = {kind!r}: expected one of {', '.join(FIGURE_KINDS)} or a readout of "
                f"this run ({', '.join(available) or 'none'})"
            )
    if ax is not None:
        if key not in _WITH_AX:
            raise TropismError(
                f"ax: the {key} figure draws its own panels; ax= works with "
                f"{', '.join(_WITH_AX)}"
            )
        options["ax"] = ax
    return _drawer(key)(result, **options)


def make_figures(result: Result, out_dir: str | Path) -> list[Path]:
    """Draw every figure the run supports and write each as PNG (dpi 120) and SVG.

    Parameters
    ----------
    result
        A finished run.
    out_dir
        Folder for the files (created if needed).

    Returns
    -------
    list of pathlib.Path
        The files written, ``<stem>.png`` then ``<stem>.svg`` for each stem of
        :func:`figure_stems`, which picks the figures by what the run holds.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise TropismError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    fields = result.fields
    names = [] if fields is None else [str(n) for n in fields.data_vars]
    species = {f"field_{_safe_name(n)}": n for n in names}
    paths: list[Path] = []
    for stem in figure_stems(result):
        if stem in species:
            name = species[stem]
            fig = field_map(result, name, time=report_field_times(result, name))
        else:
            fig = plot(result, stem)
        paths += _save(fig, out, stem)
    return paths
