"""Figures of a run: readouts over time, end points, tracks, angles and field maps.

Every function takes a :class:`~tropism.api.Result` (any object with ``summary``, ``metrics``,
``tracks`` and ``fields`` attributes will do) and returns a :class:`matplotlib.figure.Figure`
drawn on the Agg canvas, without touching pyplot's global state (so nothing has to be closed
and a notebook's backend is left alone). Each condition keeps one colour in every figure: the
Okabe-Ito colour-blind-safe palette, taken in condition order (control first). Figures use
constrained layout so that labels do not overlap at the default size.

Units: the data are in engine units (um, min, nM); time axes are drawn in hours.
"""

from __future__ import annotations

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

DEFAULT_READOUTS: tuple[str, ...] = ("fmi", "chemotactic_index", "speed")
"""Readouts drawn when none are named (those of them that the run has)."""

DPI = 120
"""Resolution of the PNG files written by :func:`make_figures`."""

_PANEL = (3.4, 2.9)  # inches per panel
_MAX_COLS = 4
_ROSE_BINS = 12  # 30 degree sectors


# --------------------------------------------------------------------------- helpers


def _new_figure(n_panels: int, ncols: int | None = None, panel=_PANEL, **subplot_kw):
    """A constrained-layout figure on the Agg canvas with ``n_panels`` axes (row-major)."""
    ncols = max(1, min(ncols or n_panels, _MAX_COLS))
    nrows = max(1, math.ceil(n_panels / ncols))
    fig = Figure(figsize=(panel[0] * ncols, panel[1] * nrows), layout="constrained")
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


# --------------------------------------------------------------------------- figures


def readouts_over_time(result: Result, readouts: Sequence[str] | None = None) -> Figure:
    """Readouts over time: mean and 95 % CI band over replicates, one panel per readout.

    Parameters
    ----------
    result
        A finished run.
    readouts
        Readout names; ``None`` draws ``fmi``, ``chemotactic_index`` and ``speed`` (those the
        run has; otherwise its first three readouts).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per readout with one line per condition (the mean over replicates at each
        time) and a band ``mean +/- t_{0.975, n-1} * sd / sqrt(n)`` (no band where n < 2).
        Time in hours.

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
    fig, axes = _new_figure(len(names))
    for ax, name in zip(axes, names, strict=True):
        rows = _metric_rows(metrics, name)
        for cond in colors:
            sub = rows[rows["condition"] == cond]
            if sub.empty:
                continue
            # one value per replicate and time (populations were selected above)
            per_rep = sub.groupby(["time", "replicate"])["value"].mean()
            g = per_rep.groupby(level="time")
            mean = g.mean()
            n = g.count().to_numpy()
            sd = g.std(ddof=1).to_numpy()
            with np.errstate(invalid="ignore", divide="ignore"):
                tq = np.where(n >= 2, _st.t.ppf(0.975, np.maximum(n - 1, 1)), np.nan)
                half = tq * sd / np.sqrt(n)
            hours = mean.index.to_numpy(dtype=float) / 60.0
            m = mean.to_numpy(dtype=float)
            ax.plot(hours, m, color=colors[cond], lw=1.6, label=cond)
            ax.fill_between(hours, m - half, m + half, color=colors[cond], alpha=0.2, lw=0)
        ax.set_xlabel("time (h)")
        ax.set_ylabel(readout_label(name, _readout_unit(result, name)))
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=min(len(labels), 4),
            frameon=False,
        )
    return fig


def endpoints(result: Result, readouts: Sequence[str] | None = None) -> Figure:
    """End-point readouts: bar (mean), 95 % CI and every replicate, per condition.

    Parameters
    ----------
    result
        A finished run.
    readouts
        Readout names as in ``summary["readouts"]``; ``None`` as in
        :func:`readouts_over_time`.

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


def field_map(result: Result, species: str | None = None, time: float | None = None) -> Figure:
    """Heat map of a chemokine field per condition, with tracked cells overlaid.

    Parameters
    ----------
    result
        A finished run with field snapshots.
    species
        Field variable (e.g. ``"cxcl12"``); default the first one.
    time
        Snapshot time in min (the nearest one is drawn); default the last.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per condition in the fields (viridis, one colour scale and one colourbar in
        the field's units, nM), x-y plane (the middle z-plane of 3-D fields), with the positions
        of the tracked cells of the same replicate at the nearest track time drawn as dots.

    Raises
    ------
    TropismError
        If the run has no fields, the species is unknown, or the fields are not 2-D or 3-D.
    """
    ds = result.fields
    if ds is None or not ds.data_vars:
        raise TropismError("this run has no field snapshots to draw")
    names = [str(v) for v in ds.data_vars]
    species = names[0] if species is None else species
    if species not in ds.data_vars:
        raise TropismError(f"no field {species!r} in this run; expected one of {', '.join(names)}")
    da = ds[species]
    space = _spatial_dims(da)
    if len(space) not in (2, 3) or "condition" not in da.dims or "time" not in da.dims:
        raise TropismError(f"field {species!r} has dims {da.dims}; a map needs 2-D or 3-D fields")
    da = da.isel(time=-1) if time is None else da.sel(time=float(time), method="nearest")
    t = float(da["time"])
    where = ""
    if len(space) == 3:
        zdim = space[2]
        k = da.sizes[zdim] // 2
        zval = float(da[zdim].values[k])
        da = da.isel({zdim: k})
        where = f", {zdim} = {zval:.4g} {pretty_unit(ds[zdim].attrs.get('units', 'um'))}"
    xd, yd = space[0], space[1]
    da = da.transpose("condition", xd, yd)
    xs = np.asarray(da[xd].values, dtype=float)
    ys = np.asarray(da[yd].values, dtype=float)
    dx = float(xs[1] - xs[0]) if xs.size > 1 else 1.0
    dy = float(ys[1] - ys[0]) if ys.size > 1 else 1.0
    extent = (xs[0] - dx / 2, xs[-1] + dx / 2, ys[0] - dy / 2, ys[-1] + dy / 2)
    values = da.to_numpy().astype(float)
    finite = values[np.isfinite(values)]
    vmin = float(finite.min()) if finite.size else 0.0
    vmax = float(finite.max()) if finite.size else 1.0
    if vmax <= vmin:
        vmax = vmin + (abs(vmin) * 1e-6 or 1.0)
    conds = [str(c) for c in da["condition"].values]
    colors = condition_colors(result)
    width, height = extent[1] - extent[0], extent[3] - extent[2]
    wide = width > 2.0 * height
    ncols = 1 if wide else len(conds)
    # Equal-aspect panels: leave more height than the image needs so that constrained layout
    # never runs out of room (it cannot shrink a fixed-aspect panel vertically).
    panel = (5.2, 4.4 * height / width + 1.0) if wide else (3.3, 3.3 * height / width + 1.2)
    fig, axes = _new_figure(len(conds), ncols=ncols, panel=panel)
    xunit = pretty_unit(ds[xd].attrs.get("units", "um")) if xd in ds.coords else "\u00b5m"
    yunit = pretty_unit(ds[yd].attrs.get("units", "um")) if yd in ds.coords else "\u00b5m"
    replicate = ds.attrs.get("replicate", 0)
    tracks = result.tracks if result.tracks is not None else pd.DataFrame()
    image = None
    for ax, cond, arr in zip(axes, conds, values, strict=True):
        image = ax.imshow(
            arr.T,
            origin="lower",
            extent=extent,
            cmap="viridis",
            vmin=vmin,
            vmax=vmax,
            interpolation="nearest",
            aspect="equal",
        )
        if not tracks.empty and {"condition", "time", "x", "y"} <= set(tracks.columns):
            sub = tracks[tracks["condition"] == cond]
            if "replicate" in sub:
                sub = sub[sub["replicate"] == replicate]
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
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_title(_wrap(cond, 40), fontsize=9)
        ax.set_xlabel(f"{xd} ({xunit})")
        ax.set_ylabel(f"{yd} ({yunit})")
    unit = da.attrs.get("units", "nM")
    fig.colorbar(
        image,
        ax=axes,
        label=f"{species} ({unit})",
        location="bottom" if wide else "right",
        shrink=0.8,
        aspect=30 if wide else 20,
    )
    fig.suptitle(f"{species} at t = {_fmt_hours(t)}{where}; dots: tracked cells", fontsize=10)
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


def figure_stems(result: Result) -> list[str]:
    """File stems of every figure the run supports, in drawing order.

    ``readouts_over_time`` and ``endpoints`` (when the run has readouts), ``spider`` and
    ``rose`` (when it has tracks), ``field_<species>`` per 2-D or 3-D field variable.
    """
    stems: list[str] = []
    has_readouts = bool(_resolve_readouts(result, None))
    if has_readouts and result.metrics is not None and not result.metrics.empty:
        stems.append("readouts_over_time")
    if has_readouts and (result.summary or {}).get("conditions"):
        stems.append("endpoints")
    if result.tracks is not None and not result.tracks.empty:
        stems += ["spider", "rose"]
    ds = result.fields
    if ds is not None:
        for name in ds.data_vars:
            da = ds[name]
            if len(_spatial_dims(da)) in (2, 3) and {"condition", "time"} <= set(da.dims):
                if da.sizes["condition"] and da.sizes["time"]:
                    stems.append(f"field_{_safe_name(str(name))}")
    return stems


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
        :func:`figure_stems` (field maps are skipped when the run has no fields, track
        figures when it has no tracks).
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
        if stem == "readouts_over_time":
            fig = readouts_over_time(result)
        elif stem == "endpoints":
            fig = endpoints(result)
        elif stem == "spider":
            fig = spider(result)
        elif stem == "rose":
            fig = rose(result)
        else:
            fig = field_map(result, species[stem])
        paths += _save(fig, out, stem)
    return paths
