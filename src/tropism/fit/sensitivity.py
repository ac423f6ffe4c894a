"""Global sensitivity analysis with SALib: Sobol indices (Saltelli sampling) or Morris
elementary effects, evaluated through the sweep machinery.

Each varied key needs a range ``lo..hi`` (``:log`` for log-uniform). SALib samples the unit
cube; each row maps onto the ranges (:meth:`~tropism.fit.specs.VarySpec.from_unit`) and becomes
a sweep point, so the points run on any backend, resume after an interruption and get the
sweep's seeds. The model output ``Y`` of a point is the mean of ``readout`` over its replicates
(one condition, one population). Sobol: first-order ``S1`` and total ``ST`` indices with 95 %
bootstrap confidence intervals (``calc_second_order=False``: ``samples * (D + 2)`` points).
Morris: ``mu*`` (mean absolute elementary effect, per full range of the key) with its 95 % CI,
and ``sigma`` (interactions and non-linearity); ``samples`` trajectories of ``D + 1`` points.

Replicate noise is part of ``Y``'s variance: ``noise_share`` (mean replicate variance / R over
the variance of ``Y``) says how much of it the indices cannot attribute.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tropism.errors import TropismError
from tropism.fit.backend import make_backend
from tropism.fit.specs import VarySpec, parse_vary_list, require_ranges
from tropism.fit.sweep import PointStore, make_point, prepare, run_points, settle_conditions

__all__ = ["SENSITIVITY_METHODS", "SensitivityResult", "sensitivity"]

SENSITIVITY_METHODS = ("sobol", "morris")


@dataclass
class SensitivityResult:
    """A finished sensitivity analysis.

    Attributes
    ----------
    indices
        One row per parameter, ranked (most influential first): Sobol ``S1, S1_conf, ST,
        ST_conf`` or Morris ``mu, mu_star, mu_star_conf, sigma``; ``_conf`` is the half-width of
        the 95 % CI.
    method, readout, condition
        What was analysed.
    X
        The unit-cube sample (rows = points).
    Y
        The model output per point (mean over replicates).
    noise_share
        Share of ``Y``'s variance that is replicate noise (NaN with one replicate per point).
    path
        The output folder, or None.
    """

    indices: pd.DataFrame
    method: str
    readout: str
    condition: str
    X: np.ndarray
    Y: np.ndarray
    noise_share: float
    specs: list[VarySpec]
    path: Path | None = None
    computed: int = 0
    skipped: int = 0

    def table(self) -> pd.DataFrame:
        """The ranked indices."""
        return self.indices

    def plot(self, ax=None):
        """Ranked bar chart with 95 % CIs."""
        from tropism.fit.plots import plot_sensitivity

        return plot_sensitivity(self.indices, self.method, self.readout, ax=ax)


def _sample(method: str, problem: dict, samples: int, seed: int, num_levels: int) -> np.ndarray:
    if method == "sobol":
        from SALib.sample import sobol as sobol_sample

        if samples < 2 or samples & (samples - 1):
            raise TropismError(f"--samples = {samples}: expected a power of 2 (>= 2) for Sobol")
        return sobol_sample.sample(problem, samples, calc_second_order=False, seed=seed)
    from SALib.sample import morris as morris_sample

    if samples < 2:
        raise TropismError(f"--samples = {samples}: expected at least 2 Morris trajectories")
    return morris_sample.sample(problem, samples, num_levels=num_levels, seed=seed)


def _analyse(
    method: str, problem: dict, X: np.ndarray, Y: np.ndarray, seed: int, num_levels: int
) -> pd.DataFrame:
    names = problem["names"]
    if method == "sobol":
        from SALib.analyze import sobol as sobol_analyze

        res = sobol_analyze.analyze(problem, Y, calc_second_order=False, conf_level=0.95, seed=seed)
        table = pd.DataFrame(
            {
                "parameter": names,
                "S1": res["S1"],
                "S1_conf": res["S1_conf"],
                "ST": res["ST"],
                "ST_conf": res["ST_conf"],
            }
        )
        return table.sort_values("ST", ascending=False, kind="stable").reset_index(drop=True)
    from SALib.analyze import morris as morris_analyze

    res = morris_analyze.analyze(problem, X, Y, conf_level=0.95, num_levels=num_levels, seed=seed)
    table = pd.DataFrame(
        {
            "parameter": names,
            "mu": res["mu"],
            "mu_star": res["mu_star"],
            "mu_star_conf": res["mu_star_conf"],
            "sigma": res["sigma"],
        }
    )
    return table.sort_values("mu_star", ascending=False, kind="stable").reset_index(drop=True)


def _single(model: Any, condition: str | None) -> str:
    if condition is not None:
        return condition
    if len(model.conditions) == 1:
        return model.conditions[0]
    names = ", ".join(repr(c) for c in model.conditions)
    raise TropismError(
        f"the scenario has {len(model.conditions)} conditions ({names}); "
        "expected --condition NAME to pick the one to analyse"
    )


def _single_population(rows: pd.DataFrame, population: str | None) -> str:
    pops = list(dict.fromkeys(rows["population"]))
    if population is not None:
        if population not in pops:
            raise TropismError(
                f"--population {population!r}: expected one of {', '.join(map(repr, pops))}"
            )
        return population
    if len(pops) > 1:
        raise TropismError(f"several populations ({', '.join(pops)}); expected --population NAME")
    return pops[0]


def point_outputs(
    rows: pd.DataFrame, n_points: int, readout: str, condition: str, population: str | None
) -> tuple[np.ndarray, float]:
    """``Y`` per point (mean over replicates of the readout at its last time) and the share of
    its variance that is replicate noise."""
    rows = rows[(rows["condition"] == condition) & (rows["readout"] == readout)]
    if rows.empty:
        raise TropismError(f"--readout {readout}: not reported; check the readout name")
    pop = _single_population(rows, population)
    rows = rows[rows["population"] == pop]
    rows = rows[rows["time"] == rows.groupby("point")["time"].transform("max")]
    g = rows.groupby("point")["value"]
    Y = g.mean().reindex(range(n_points)).to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(Y))
    if bad.size:
        raise TropismError(
            f"--readout {readout}: undefined at {bad.size} of {n_points} points (e.g. point "
            f"{bad[0]}: no cell moved?); expected a value at every point"
        )
    reps = g.count().to_numpy()
    var_y = float(np.var(Y, ddof=1)) if Y.size > 1 else 0.0
    within = g.var(ddof=1).to_numpy(dtype=float)
    if not np.isfinite(within).any():
        return Y, float("nan")  # one replicate per point: the noise is not known
    noise = float(np.nanmean(within / np.maximum(reps, 1)))
    share = noise / var_y if var_y > 0 else float("nan")
    return Y, share


def sensitivity(
    scenario: str | Path | None = None,
    vary: Sequence[str] = (),
    readout: str = "fmi",
    *,
    method: str = "sobol",
    samples: int | None = None,
    set: Sequence[str] | None = None,  # noqa: A002 - mirrors --set
    condition: str | None = None,
    population: str | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    num_levels: int = 4,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    force: bool = False,
    figures: bool = True,
    model: Any = None,
    progress: Callable[[int, int], None] | None = None,
    on_point: Callable[[int], None] | None = None,
) -> SensitivityResult:
    """Sobol or Morris sensitivity of one readout to the varied ranges.

    Parameters
    ----------
    scenario
        Scenario file or built-in name (or ``model=``, e.g. a
        :class:`~tropism.fit.models.FunctionModel` for an analytic test function).
    vary
        ``"KEY=lo..hi"`` (or ``"KEY=lo..hi:log"``) per parameter.
    readout
        The output analysed (its replicate mean at the last time).
    method
        ``"sobol"`` (default) or ``"morris"``.
    samples
        Sobol: base sample size N, a power of 2 (``N * (D + 2)`` points; default 64); Morris:
        trajectories (``samples * (D + 1)`` points; default 10).
    condition, population
        Which condition and population (needed when there are several).
    replicates, seed, set
        As for :func:`~tropism.fit.sweep.sweep`.
    num_levels
        Morris grid levels.
    out, workers, scheduler, force, figures, progress, on_point
        As for :func:`~tropism.fit.sweep.sweep`; ``out`` also receives ``indices.csv``,
        ``sensitivity.json`` and ``figures/sensitivity-<readout>.png``.
    """
    if method not in SENSITIVITY_METHODS:
        raise TropismError(
            f"--method = {method!r}: expected one of {', '.join(SENSITIVITY_METHODS)}"
        )
    specs = parse_vary_list(list(vary))
    if not specs:
        raise TropismError("--vary: none given; expected KEY=lo..hi for each parameter to analyse")
    require_ranges(specs, "a sensitivity analysis")
    model = prepare(
        scenario,
        set,
        model=model,
        conditions=[condition] if condition else None,
        replicates=replicates,
        seed=seed,
    )
    model.check([tuple(s.override(s.from_unit(u)) for s in specs) for u in (0.0, 1.0)])
    settle_conditions(model, specs, explicit=bool(condition))
    cond = _single(model, condition)
    model.drop_conditions([c for c in model.conditions if c != cond])
    samples = samples or (64 if method == "sobol" else 10)
    problem = {
        "num_vars": len(specs),
        "names": [s.key for s in specs],
        "bounds": [[0.0, 1.0]] * len(specs),
    }
    X = _sample(method, problem, samples, model.seed, num_levels)
    points = [
        make_point(
            i, specs, [s.from_unit(float(u)) for s, u in zip(specs, row, strict=True)], model.seed
        )
        for i, row in enumerate(X)
    ]
    plan = {
        "kind": "sensitivity",
        "model": model.identity(),
        "vary": [s.text for s in specs],
        "method": method,
        "samples": samples,
        "num_levels": num_levels if method == "morris" else None,
        "points": len(points),
    }

    def run(folder: Path) -> tuple[pd.DataFrame, Any]:
        store = PointStore(folder, plan, force=force)
        with make_backend(workers, scheduler) as backend:
            stats = run_points(
                model,
                points,
                store,
                backend,
                progress=progress,
                on_point=on_point,
                readouts=[readout],
            )
        return store.rows(points), stats

    if out is None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="tropism-sensitivity-") as tmp:
            rows, stats = run(Path(tmp))
    else:
        rows, stats = run(Path(out))
    Y, share = point_outputs(rows, len(points), readout, cond, population)
    indices = _analyse(method, problem, X, Y, model.seed, num_levels)
    labels = {s.key: s.label for s in specs}
    indices.insert(1, "label", indices["parameter"].map(labels))
    result = SensitivityResult(
        indices=indices,
        method=method,
        readout=readout,
        condition=cond,
        X=X,
        Y=Y,
        noise_share=share,
        specs=specs,
        path=Path(out) if out is not None else None,
        computed=stats.computed,
        skipped=stats.skipped,
    )
    if out is not None:
        folder = Path(out)
        indices.to_csv(folder / "indices.csv", index=False)
        info = {
            "method": method,
            "readout": readout,
            "condition": cond,
            "samples": samples,
            "points": len(points),
            "noise_share": None if not np.isfinite(share) else share,
            "indices": json.loads(indices.to_json(orient="records")),
        }
        (folder / "sensitivity.json").write_text(
            json.dumps(info, indent=2) + "\n", encoding="utf-8"
        )
        if figures:
            (folder / "figures").mkdir(exist_ok=True)
            result.plot().savefig(folder / "figures" / f"sensitivity-{readout}.png", dpi=120)
    return result
