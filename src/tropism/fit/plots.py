"""Figures of sweeps, sensitivity analyses, fits and designs.

Every function returns a :class:`matplotlib.figure.Figure` on the Agg canvas without touching
pyplot's global state (a notebook's backend is left alone, nothing needs closing), or draws into
the ``ax`` it is given. Conditions keep the Okabe-Ito colours of the run report, in condition
order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tropism.errors import TropismError
from tropism.report.figures import OKABE_ITO

__all__ = [
    "plot_fit",
    "plot_power",
    "plot_profiles",
    "plot_response",
    "plot_sensitivity",
    "save_response_figures",
]


def _figure(n: int, ncols: int | None = None, size: tuple[float, float] = (4.2, 3.2)):
    ncols = ncols or min(n, 3)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, list(axes[:n])


def _color(i: int) -> str:
    return OKABE_ITO[i % len(OKABE_ITO)]


def _readout_label(readout: str, population: str, populations: int) -> str:
    from tropism.observe.readouts import READOUTS

    unit = READOUTS.get(readout, {}).get("unit", "")
    text = readout.replace("_", " ")
    if populations > 1 and population:
        text = f"{population}.{text}"
    return f"{text} ({unit})" if unit and unit != "1" else text


# --- sweeps -------------------------------------------------------------------------------------


def plot_response(result: Any, readout: str, key: str | None = None, ax=None):
    """Mean and 95 % CI of ``readout`` against the varied ``key``, one line per condition.

    Other varied keys with a few values (a grid) give one line each (dashed styles); with
    many values (sampled ranges) the points are drawn with their CIs, unjoined.
    """
    specs = {s.key: s for s in result.specs}
    numeric = [s.key for s in result.specs if s.numeric]
    if key is None:
        if not numeric:
            raise TropismError(
                "plot: no numeric varied key; expected a list, grid or range of numbers"
            )
        key = numeric[0]
    if key not in specs:
        raise TropismError(f"plot: key {key!r} was not varied; expected one of {', '.join(specs)}")
    summary = result.summary[result.summary["readout"] == readout]
    if summary.empty:
        have = ", ".join(dict.fromkeys(result.summary["readout"]))
        raise TropismError(f"plot: readout {readout!r} not in this sweep; expected one of {have}")
    fig = None
    if ax is None:
        fig, (ax,) = _figure(1, size=(5.0, 3.6))
    others = [k for k in specs if k != key]
    sampled = any(specs[k].kind == "range" for k in specs)
    populations = list(dict.fromkeys(summary["population"]))
    styles = ["-", "--", ":", "-."]
    for ci, cond in enumerate(result.conditions):
        for pop in populations:
            sub = summary[(summary["condition"] == cond) & (summary["population"] == pop)]
            if sub.empty:
                continue
            label = cond if len(populations) == 1 else f"{cond} ({pop})"
            groups = [((), sub)] if not others or sampled else sub.groupby(others, sort=False)
            for gi, (gkey, g) in enumerate(groups):
                g = g.sort_values(key)
                x = g[key].to_numpy(dtype=float)
                y = g["mean"].to_numpy(dtype=float)
                lo = g["ci_low"].to_numpy(dtype=float)
                hi = g["ci_high"].to_numpy(dtype=float)
                # one condition: a colour per line; several: a colour per condition, a style
                # per combination of the other keys
                single = len(result.conditions) == 1
                color = _color(gi if single else ci)
                style = "-" if single else styles[gi % len(styles)]
                name = label
                if others and not sampled:
                    gkey = gkey if isinstance(gkey, tuple) else (gkey,)
                    name += ", " + ", ".join(
                        f"{k.split('.')[-1]}={specs[k].format(v)}"
                        for k, v in zip(others, gkey, strict=True)
                    )
                if sampled:
                    err = np.vstack([y - lo, hi - y])
                    err = np.where(np.isfinite(err), err, 0.0)
                    ax.errorbar(
                        x,
                        y,
                        yerr=err,
                        fmt="o",
                        ms=3,
                        color=color,
                        alpha=0.8,
                        label=name,
                        lw=0.8,
                    )
                else:
                    ax.plot(
                        x,
                        y,
                        style,
                        marker="o",
                        ms=3,
                        color=color,
                        label=name,
                    )
                    ok = np.isfinite(lo) & np.isfinite(hi)
                    if ok.any():
                        ax.fill_between(x[ok], lo[ok], hi[ok], color=color, alpha=0.18, lw=0)
    spec = specs[key]
    if spec.log:
        ax.set_xscale("log")
    ax.set_xlabel(spec.label)
    ax.set_ylabel(_readout_label(readout, populations[0], len(populations)))
    ax.set_title(f"{readout.replace('_', ' ')}: mean and 95 % CI", fontsize=10)
    ax.legend(frameon=False, fontsize=7)
    return fig if fig is not None else ax


def save_response_figures(result: Any, readouts: Sequence[str], folder: Path) -> list[Path]:
    """``response-<readout>.png`` per readout, one panel per numeric varied key."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = [s.key for s in result.specs if s.numeric]
    paths = []
    for readout in readouts:
        fig, axes = _figure(len(keys), size=(5.0, 3.6))
        for ax, key in zip(axes, keys, strict=True):
            plot_response(result, readout, key=key, ax=ax)
        path = folder / f"response-{readout}.png"
        fig.savefig(path, dpi=120)
        paths.append(path)
    return paths


# --- sensitivity --------------------------------------------------------------------------------


def plot_sensitivity(indices: pd.DataFrame, method: str, readout: str = "", ax=None):
    """Ranked horizontal bars with 95 % CIs: first-order and total Sobol indices, or Morris
    mu* (with sigma)."""
    fig = None
    if ax is None:
        fig, (ax,) = _figure(1, size=(5.5, 0.5 + 0.45 * max(2, len(indices))))
    y = np.arange(len(indices))[::-1]
    names = [str(n) for n in indices["parameter"]]
    if method == "sobol":
        h = 0.38
        ax.barh(
            y + h / 2,
            indices["ST"],
            h,
            xerr=indices["ST_conf"],
            color=_color(5),
            label="total (ST)",
            capsize=2,
        )
        ax.barh(
            y - h / 2,
            indices["S1"],
            h,
            xerr=indices["S1_conf"],
            color=_color(4),
            label="first order (S1)",
            capsize=2,
        )
        ax.set_xlabel("Sobol index (95 % CI)")
        ax.axvline(0, color="0.5", lw=0.6)
    else:
        ax.barh(
            y,
            indices["mu_star"],
            0.6,
            xerr=indices["mu_star_conf"],
            color=_color(4),
            label="mu* (95 % CI)",
            capsize=2,
        )
        ax.plot(indices["sigma"], y, "D", color=_color(5), ms=4, label="sigma")
        ax.set_xlabel("Morris elementary effects")
    ax.set_yticks(y, names, fontsize=8)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.set_title(f"sensitivity of {readout.replace('_', ' ')} ({method})", fontsize=10)
    return fig if fig is not None else ax


# --- fits ---------------------------------------------------------------------------------------


def plot_fit(comparison: pd.DataFrame, data: pd.DataFrame):
    """Data (replicates and mean with 95 % CI) against the simulation at the fitted values (mean
    with 95 % CI over replicates), one panel per readout; conditions (and times) on the x axis.

    ``comparison``: condition, time, readout, data_mean, data_low, data_high, sim_mean, sim_low,
    sim_high. ``data``: condition, time, readout, value (one row per replicate).
    """
    readouts = list(dict.fromkeys(comparison["readout"]))
    fig, axes = _figure(len(readouts), size=(4.6, 3.4))
    for ax, readout in zip(axes, readouts, strict=True):
        c = comparison[comparison["readout"] == readout].reset_index(drop=True)
        labels = [
            f"{cond}\n{t / 60:g} h" if c["time"].nunique() > 1 else str(cond)
            for cond, t in zip(c["condition"], c["time"], strict=True)
        ]
        x = np.arange(len(c))
        d = data[data["readout"] == readout]
        for i, row in c.iterrows():
            pts = d[(d["condition"] == row["condition"]) & (d["time"] == row["time"])]["value"]
            jitter = np.linspace(-0.08, 0.08, max(len(pts), 1))[: len(pts)]
            ax.plot(x[i] - 0.15 + jitter, pts, "o", ms=3, color="0.55", zorder=2)
        derr = np.vstack([c["data_mean"] - c["data_low"], c["data_high"] - c["data_mean"]])
        serr = np.vstack([c["sim_mean"] - c["sim_low"], c["sim_high"] - c["sim_mean"]])
        ax.errorbar(
            x - 0.15,
            c["data_mean"],
            yerr=np.nan_to_num(derr),
            fmt="s",
            color=_color(0),
            capsize=3,
            label="data",
            zorder=3,
        )
        ax.errorbar(
            x + 0.15,
            c["sim_mean"],
            yerr=np.nan_to_num(serr),
            fmt="o",
            color=_color(5),
            capsize=3,
            label="simulation (fit)",
            zorder=3,
        )
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_xlim(-0.6, len(c) - 0.4)
        ax.set_ylabel(_readout_label(readout, "", 1))
        ax.legend(frameon=False, fontsize=7)
    fig.suptitle("data vs simulation at the fit (mean, 95 % CI)", fontsize=10)
    return fig


def plot_profiles(profiles: dict[str, pd.DataFrame], estimates: pd.DataFrame, threshold: float):
    """Profile likelihood of each free parameter: -2 delta log L against its value, the 95 %
    threshold and the interval."""
    names = list(profiles)
    fig, axes = _figure(len(names), size=(4.2, 3.2))
    for ax, name in zip(axes, names, strict=True):
        prof = profiles[name].sort_values("value")
        est = estimates[estimates["parameter"] == name].iloc[0]
        ax.plot(prof["value"], prof["delta"], "o-", ms=3, color=_color(4))
        ax.axhline(threshold, color=_color(5), lw=0.8, ls="--", label="95 % threshold")
        ax.axvline(est["estimate"], color="0.3", lw=0.8)
        ax.axvspan(est["low"], est["high"], color=_color(4), alpha=0.12, label="95 % interval")
        if est.get("log", False):
            ax.set_xscale("log")
        ax.set_xlabel(est["label"])
        ax.set_ylabel("-2 delta log L")
        ax.set_ylim(
            bottom=0,
            top=max(3 * threshold, float(np.nanmin([prof["delta"].max(), 10 * threshold]))),
        )
        ax.set_title(f"{name.split('.')[-1]}: {est['identifiability']}", fontsize=9)
        ax.legend(frameon=False, fontsize=7)
    return fig


# --- designs ------------------------------------------------------------------------------------


def plot_power(curve: pd.DataFrame, target: float, n_required: int | None, title: str = ""):
    """Power against replicates per group (with the band from the SD's 95 % CI)."""
    fig, (ax,) = _figure(1, size=(5.0, 3.4))
    ax.plot(curve["n"], curve["power"], "o-", ms=3, color=_color(4), label="power")
    if {"power_low", "power_high"} <= set(curve.columns):
        ax.fill_between(
            curve["n"],
            curve["power_low"],
            curve["power_high"],
            color=_color(4),
            alpha=0.15,
            lw=0,
            label="SD 95 % CI",
        )
    ax.axhline(target, color=_color(5), ls="--", lw=0.8, label=f"target {target:g}")
    if n_required is not None:
        ax.axvline(n_required, color="0.3", lw=0.8)
    ax.set_xlabel("replicates per group")
    ax.set_ylabel("power")
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=9)
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    return fig
