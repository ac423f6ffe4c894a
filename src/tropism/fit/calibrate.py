"""Calibration: fit free scenario parameters to a lab's data, with profile-likelihood intervals.

The data (:mod:`tropism.data`) give, per condition, time and readout, a mean ``y`` over
``n_d`` replicates. At parameter values ``theta`` the simulator runs ``n_s`` replicates of each
condition (``replicates``), with mean ``m(theta)``. The fit minimises

    chi2(theta) = sum over conditions, times, readouts of (y - m(theta))^2 / v,

-2 log L of a Gaussian likelihood of the differences (up to a constant), with ``v`` the
variance of ``y - m``: ``s_p^2 (1/n_d + 1/n_s)`` with ``s_p^2`` the replicate variance pooled
over data and simulation (under the model at the estimate both come from one distribution, and
pooling doubles the degrees of freedom that a few wells give); for a single filmed replicate,
whose error comes from the spread of its tracks, ``se_d^2 + se_s^2``. Every evaluation uses the
same seeds (common random numbers), so ``chi2`` is a smooth function of ``theta`` rather than a
noisy one; the simulation's own replicate error is part of ``v``.

Search (scipy.optimize, on the unit cube of the free ranges, log-scaled for ``:log`` ranges):
one point (a readout the simulation lacks fails fast), then a grid (one parameter) or a Latin
hypercube (several) evaluated in parallel, then a bounded local minimisation (Brent, or
Nelder-Mead with several parameters) from the best point.

Intervals: the profile likelihood of each parameter, ``chi2`` minimised over the others with
the parameter fixed on a grid across its range; the 95 % interval is where the profile stays
within a threshold of the minimum, the crossing refined by bisection. The threshold is the
squared Student t quantile t^2(0.975, df) with df = n_d + n_s - 2 of the pooled variances
(7.7 for 3 + 3 replicates), which tends to the chi-square value 3.84 as replicates grow: a few
replicates estimate a variance poorly, and the interval says so. Identifiability:
*identifiable* when the profile rises above the threshold on both sides within the range;
*one-sided* when only on one side (the data bound it one way only); *not identifiable* when it
stays below the threshold across the range (flat: the data do not pin it down). The goodness
of fit is ``chi2_min`` on ``n_obs - n_free`` degrees of freedom.

Common random numbers make the estimate's simulation error the same for every data set fitted
with one seed; more simulated replicates (``replicates``) shrink it.

Every evaluation is a sweep point in the fit folder: a rerun with the same data and settings
replays the search from the stored points without simulating again.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as st

from tropism.errors import TropismError
from tropism.fit.backend import Backend, make_backend
from tropism.fit.models import AtTimes, SimulatorModel, TrackWindow
from tropism.fit.specs import VarySpec, parse_vary_list, require_ranges
from tropism.fit.sweep import Point, PointStore, make_point, run_points, settle_conditions

__all__ = ["FitResult", "fit", "threshold"]

#: Readouts fitted by default to track data (direction and speed; the other track readouts are
#: near functions of these two and would count the same information twice).
TRACK_DEFAULT_READOUTS = ("fmi", "speed")

_COMMON_SEED = "fit: common random numbers"
_PENALTY = 1e12


@dataclass
class FitResult:
    """A finished fit.

    Attributes
    ----------
    estimates
        One row per free parameter: ``parameter, label, estimate, low, high`` (95 % profile
        likelihood interval, in the range's unit), ``low_open``/``high_open`` (the interval
        reaches the range's end without crossing the threshold), ``identifiability``.
    comparison
        Per condition, time and readout: the data (mean, 95 % CI, n) and the simulation at the
        estimate (mean, 95 % CI over replicates).
    profiles
        Parameter -> its profile (``value, chi2, delta``).
    chi2, dof, p_value
        Goodness of fit: the minimum, its degrees of freedom (observations - free parameters),
        and the chi-square p-value (``None`` without degrees of freedom; approximate, as the
        variances are estimated).
    threshold, threshold_df
        The profile's rise at the interval's ends and the degrees of freedom behind it.
    evaluations
        Points evaluated (simulated or found in the folder).
    path
        The fit folder, or None.
    scenario_path
        Where the fitted scenario was written, or None.
    """

    estimates: pd.DataFrame
    comparison: pd.DataFrame
    profiles: dict[str, pd.DataFrame]
    chi2: float
    dof: int
    p_value: float | None
    threshold: float
    threshold_df: float
    specs: list[VarySpec]
    data: pd.DataFrame
    evaluations: int = 0
    computed: int = 0
    path: Path | None = None
    scenario_path: Path | None = None
    overrides: list[str] = field(default_factory=list)

    @property
    def values(self) -> dict[str, float]:
        """Parameter -> estimate."""
        return dict(zip(self.estimates["parameter"], self.estimates["estimate"], strict=True))

    def plot(self):
        """Data vs simulation at the fit, one panel per readout."""
        from tropism.fit.plots import plot_fit

        return plot_fit(self.comparison, self.data)

    def plot_profiles(self):
        """Profile likelihood of each parameter, with the 95 % threshold and interval."""
        from tropism.fit.plots import plot_profiles

        return plot_profiles(self.profiles, self.estimates, self.threshold)

    def __repr__(self) -> str:
        parts = [
            f"{r.parameter} = {r.estimate:.4g} [{r.low:.4g}, {r.high:.4g}] ({r.identifiability})"
            for r in self.estimates.itertuples()
        ]
        return f"FitResult({'; '.join(parts)}; chi2 = {self.chi2:.3g} on {self.dof} dof)"


# --- the objective ------------------------------------------------------------------------------


class Objective:
    """chi2 at points of the unit cube, evaluated in batches through a backend and cached."""

    def __init__(
        self,
        model: SimulatorModel,
        specs: list[VarySpec],
        observed: pd.DataFrame,
        readout_map: dict[str, str],
        population: str | None,
        store: PointStore,
        backend: Backend,
        progress: Callable[[int, int], None] | None = None,
    ):
        self.model = model
        self.specs = specs
        self.observed = observed
        self.readout_map = readout_map
        self.population = population
        self.store = store
        self.backend = backend
        self.progress = progress
        self.cache: dict[str, float] = {}
        self.points: dict[str, Point] = {}
        self.computed = 0

    def point(self, u: Sequence[float]) -> Point:
        values = [
            s.from_unit(float(np.clip(x, 0.0, 1.0))) for s, x in zip(self.specs, u, strict=True)
        ]
        p = make_point(len(self.points), self.specs, values, self.model.seed, seed_key=_COMMON_SEED)
        known = self.points.get(p.key)
        if known is not None:
            return known
        self.points[p.key] = p
        return p

    def batch(self, us: Sequence[Sequence[float]]) -> list[float]:
        pts = [self.point(u) for u in us]
        new = [p for p in dict((p.key, p) for p in pts).values() if p.key not in self.cache]
        if new:
            stats = run_points(self.model, new, self.store, self.backend, progress=self.progress)
            self.computed += stats.computed
            rows = self.store.rows(new)
            for p in new:
                self.cache[p.key] = self._chi2(rows[rows["point"] == p.index])
        return [self.cache[p.key] for p in pts]

    def __call__(self, u: Sequence[float]) -> float:
        return self.batch([u])[0]

    def simulated(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Per condition, time and data readout: simulated ``n_sim, mean_sim, sd_sim, se_sim``."""
        inverse = {sim: data for data, sim in self.readout_map.items()}
        rows = rows[rows["readout"].isin(inverse)]
        if not rows.empty:
            rows = _population(rows, self.population)
        rows = rows.assign(readout=lambda d: d["readout"].map(inverse))
        g = rows.groupby(["condition", "time", "readout"], sort=False)["value"]
        out = g.agg(n="count", mean="mean", sd="std").reset_index()
        out["se"] = out["sd"] / np.sqrt(out["n"].clip(lower=1))
        return out.rename(columns={c: f"{c}_sim" for c in ("n", "mean", "sd", "se")})

    def _chi2(self, rows: pd.DataFrame) -> float:
        sim = self.simulated(rows)
        merged = self.observed.merge(sim, on=["condition", "time", "readout"], how="left")
        if merged["mean_sim"].isna().any():
            missing = merged[merged["mean_sim"].isna()].iloc[0]
            have = ", ".join(sorted(set(rows["readout"])))
            if missing["readout"] in set(sim["readout"]):
                return _PENALTY  # undefined in every replicate here (no cell moved)
            raise TropismError(
                f"data readout {missing['readout']!r} (simulated "
                f"{self.readout_map[missing['readout']]!r}): not reported by the simulation of "
                f"{missing['condition']!r}; expected one of {have} (or --map DATA=SIM)"
            )
        var = _variance(merged).clip(lower=1e-24)
        return float(np.sum((merged["mean"] - merged["mean_sim"]) ** 2 / var))


def _variance(m: pd.DataFrame) -> pd.Series:
    """Variance of (data mean - simulated mean) per observation.

    With replicates on both sides the two share one pooled variance (under the model at the
    estimate they come from one distribution; pooling doubles the degrees of freedom that a
    few replicates give): ``s_p^2 (1/n_d + 1/n_s)``. Otherwise (a single filmed replicate, whose
    error comes from its tracks) ``se_d^2 + se_s^2``.
    """
    n_d = m["n"].astype(float)
    n_s = m["n_sim"].astype(float).fillna(0.0)
    sd_d = m["se"] * np.sqrt(n_d)
    sd_s = m["sd_sim"].fillna(0.0)
    pooled = (n_d >= 2) & (n_s >= 2)
    df = (n_d + n_s - 2).clip(lower=1)
    sp2 = ((n_d - 1) * sd_d**2 + (n_s - 1) * sd_s**2) / df
    separate = m["se"] ** 2 + m["se_sim"].fillna(0.0) ** 2
    return sp2.where(pooled, 0.0) * (1 / n_d + 1 / n_s.clip(lower=1)) + separate.where(~pooled, 0.0)


def threshold(observed: pd.DataFrame, replicates: int, level: float = 0.95) -> tuple[float, float]:
    """``(threshold, df)``: the profile's -2 delta log L at the interval's ends.

    Squared Student t quantile with the fewest degrees of freedom of a pooled variance
    (``n_d + R - 2``); chi-square (1 df, 3.84) when every variance comes from tracks.
    """
    n_d = observed["n"].to_numpy(dtype=float)
    dfs = np.where(n_d >= 2, n_d + replicates - 2, np.inf)
    df = float(np.min(dfs)) if dfs.size else math.inf
    if not math.isfinite(df):
        return float(st.chi2.ppf(level, 1)), df
    return float(st.t.ppf(0.5 + level / 2, df) ** 2), df


def _population(rows: pd.DataFrame, population: str | None) -> pd.DataFrame:
    pops = list(dict.fromkeys(rows["population"]))
    if population is None:
        if len(pops) > 1:
            raise TropismError(f"several populations ({', '.join(pops)}); expected --population")
        return rows
    if population not in pops:
        raise TropismError(f"--population {population!r}: expected one of {', '.join(pops)}")
    return rows[rows["population"] == population]


# --- search and profiles ------------------------------------------------------------------------


def _minimise(
    obj: Objective, start: np.ndarray, free: list[int], fixed: dict[int, float], step: float
) -> tuple[np.ndarray, float]:
    """Minimise chi2 over the coordinates ``free`` (others fixed) from ``start``."""

    def full(x: np.ndarray) -> np.ndarray:
        u = np.array(start, dtype=float)
        for i, v in fixed.items():
            u[i] = v
        u[free] = np.clip(x, 0.0, 1.0)
        return u

    x0 = np.asarray(start, dtype=float)[free]
    if len(free) == 1:
        lo, hi = max(0.0, x0[0] - step), min(1.0, x0[0] + step)
        res = optimize.minimize_scalar(
            lambda x: obj(full(np.array([x]))),
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-3, "maxiter": 25},
        )
        best_u, best = full(np.array([res.x])), float(res.fun)
    else:
        simplex = [x0]
        for k in range(len(free)):
            v = x0.copy()
            v[k] = v[k] + step if v[k] + step <= 1.0 else v[k] - step
            simplex.append(v)
        res = optimize.minimize(
            lambda x: obj(full(x)),
            x0,
            method="Nelder-Mead",
            bounds=[(0.0, 1.0)] * len(free),
            options={
                "initial_simplex": np.array(simplex),
                "xatol": 1e-3,
                "fatol": 1e-2,
                "maxfev": 40 * len(free),
            },
        )
        best_u, best = full(res.x), float(res.fun)
    f0 = obj(full(x0))
    if f0 <= best:
        return full(x0), f0
    return best_u, best


def _profile_value(obj: Objective, u_best: np.ndarray, i: int, v: float, step: float) -> float:
    """chi2 minimised over every parameter but ``i``, which is fixed at ``v`` (unit cube)."""
    d = len(u_best)
    if d == 1:
        return obj(np.array([v]))
    others = [k for k in range(d) if k != i]
    start = np.array(u_best, dtype=float)
    start[i] = v
    _, f = _minimise(obj, start, others, {i: v}, step)
    return f


def _crossing(
    f: Callable[[float], float], a: float, b: float, fa: float, fb: float, level: float, iters: int
) -> float:
    """Bisection for f = level between a (below) and b (above)."""
    for _ in range(iters):
        m = 0.5 * (a + b)
        fm = f(m)
        if fm > level:
            b, fb = m, fm
        else:
            a, fa = m, fm
    # linear interpolation inside the last bracket
    if fb != fa:
        return a + (level - fa) * (b - a) / (fb - fa)
    return 0.5 * (a + b)


def _profile(
    obj: Objective,
    u_best: np.ndarray,
    chi2_min: float,
    i: int,
    grid: np.ndarray,
    step: float,
    thr: float,
) -> tuple[pd.DataFrame, float, float, bool, bool]:
    """Profile of parameter ``i`` on ``grid`` and its 95 % interval (unit cube)."""
    d = len(u_best)
    if d == 1:
        values = obj.batch([[g] for g in grid])
    else:
        values = [_profile_value(obj, u_best, i, g, step) for g in grid]
    prof = dict(zip(grid.tolist(), values, strict=True))
    prof[float(u_best[i])] = chi2_min
    xs = np.array(sorted(prof))
    fs = np.array([prof[x] for x in xs])
    level = chi2_min + thr
    centre = int(np.searchsorted(xs, u_best[i]))
    centre = min(centre, len(xs) - 1)

    def f(x: float) -> float:
        prof[float(x)] = value = _profile_value(obj, u_best, i, x, step)
        return value

    low, low_open = 0.0, True
    for k in range(centre, 0, -1):
        if fs[k - 1] > level:
            low = _crossing(f, xs[k], xs[k - 1], fs[k], fs[k - 1], level, 5)
            low_open = False
            break
    high, high_open = 1.0, True
    for k in range(centre, len(xs) - 1):
        if fs[k + 1] > level:
            high = _crossing(f, xs[k], xs[k + 1], fs[k], fs[k + 1], level, 5)
            high_open = False
            break
    xs = np.array(sorted(prof))  # the grid and the bisection's points
    table = pd.DataFrame({"u": xs, "chi2": [prof[x] for x in xs]})
    return table, float(low), float(high), low_open, high_open


def _identifiability(low_open: bool, high_open: bool) -> str:
    if not low_open and not high_open:
        return "identifiable"
    if low_open and high_open:
        return "not identifiable (flat profile)"
    return "one-sided (bounded " + ("above" if low_open else "below") + " only)"


# --- the fit ------------------------------------------------------------------------------------


def _resolve_conditions(obs: Any, model_names: list[str], condition: str | None) -> Any:
    names = obs.conditions
    if names == [""]:
        if condition is None:
            if len(model_names) != 1:
                listed = ", ".join(repr(n) for n in model_names)
                raise TropismError(
                    f"the data name no condition and the scenario has several ({listed}); "
                    "expected --condition NAME (or a condition column in the data)"
                )
            condition = model_names[0]
        if condition not in model_names:
            listed = ", ".join(repr(n) for n in model_names)
            raise TropismError(f"--condition {condition!r}: expected one of {listed}")
        return obs.rename_conditions(condition)
    if condition is not None:
        raise TropismError("the data name their conditions; expected no --condition")
    for n in names:
        if n not in model_names:
            listed = ", ".join(repr(m) for m in model_names)
            raise TropismError(
                f"data condition {n!r}: not in the scenario; expected one of {listed}"
            )
    return obs


def _parse_map(readout_map: dict[str, str] | Sequence[str] | None) -> dict[str, str]:
    if readout_map is None:
        return {}
    if isinstance(readout_map, dict):
        return dict(readout_map)
    out = {}
    for text in readout_map:
        data, sep, sim = str(text).partition("=")
        if not sep or not data.strip() or not sim.strip():
            raise TropismError(
                f"--map {text!r}: expected DATA=SIM, such as 'percent=migrated_fraction'"
            )
        out[data.strip()] = sim.strip()
    return out


def fit(
    scenario: str | Path,
    data: Any,
    free: Sequence[str],
    *,
    set: Sequence[str] | None = None,  # noqa: A002 - mirrors --set
    readouts: Sequence[str] | None = None,
    readout_map: dict[str, str] | Sequence[str] | None = None,
    condition: str | None = None,
    population: str | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    data_kind: str = "auto",
    pixel_size: str | float | None = None,
    frame_interval: str | float | None = None,
    gradient: str | float | None = "+x",
    grid: int = 11,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    force: bool = False,
    write_scenario: str | Path | None = None,
    figures: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> FitResult:
    """Fit the free parameters of a scenario to data (see :mod:`tropism.fit.calibrate`).

    Parameters
    ----------
    scenario
        Scenario file or built-in name.
    data
        A data file (tracks, Transwell counts or readouts; :mod:`tropism.data`) or
        :class:`~tropism.data.Observations`.
    free
        ``"KEY=lo..hi"`` (or ``:log``) per free parameter.
    set
        Overrides of every simulation (``--set``).
    readouts
        Data readouts to fit (default: fmi and speed for tracks, every readout otherwise).
    readout_map
        Data readout -> simulated readout where the names differ (``{"percent": ...}`` or
        ``["DATA=SIM"]``).
    condition
        The scenario condition of data that name none.
    population
        The simulated population compared with the data (needed with several).
    replicates
        Simulated replicates per condition and evaluation (default: the scenario's).
    seed
        Scenario seed (the common random numbers of every evaluation).
    data_kind, pixel_size, frame_interval, gradient
        How to read the data file (:func:`tropism.data.load_observations`).
    grid
        Points per parameter of the initial grid and of each profile.
    out
        Fit folder: every evaluation, ``estimates.csv``, ``comparison.csv``, ``profiles.csv``,
        ``fit.json`` and ``figures/`` (default: a temporary folder).
    workers, scheduler
        Local processes or a dask scheduler (as for a sweep).
    force
        Start the fit folder over, and overwrite ``write_scenario``.
    write_scenario
        Write the scenario with the fitted values (and ``set``) to this TOML file.
    figures
        Write ``figures/fit.png`` and ``figures/profiles.png`` into ``out``.
    progress
        ``progress(tasks_done, tasks_total)`` of each batch of simulations.
    """
    from tropism.data import Observations, load_observations

    specs = parse_vary_list(list(free), "--free")
    if not specs:
        raise TropismError("--free: none given; expected KEY=lo..hi for each parameter to fit")
    require_ranges(specs, "--free")
    if grid < 3:
        raise TropismError(f"--grid = {grid}: expected an integer >= 3")
    if write_scenario is not None and Path(write_scenario).exists() and not force:
        raise TropismError(
            f"--write-scenario {write_scenario}: exists; expected a new file or --force"
        )
    obs = (
        data
        if isinstance(data, Observations)
        else load_observations(
            data,
            kind=data_kind,
            pixel_size=pixel_size,
            frame_interval=frame_interval,
            gradient=gradient,
        )
    )
    base_set = list(set or [])
    if seed is not None:
        if seed < 0:
            raise TropismError(f"--seed = {seed}: expected an integer >= 0")
        base_set.append(f"scenario.seed={seed}")
    probe = SimulatorModel(scenario, base_set)
    obs = _resolve_conditions(obs, probe.spec.condition_names, condition)
    if readouts is None and obs.kind == "tracks":
        readouts = [r for r in TRACK_DEFAULT_READOUTS if r in obs.readouts]
    obs = obs.select(list(readouts) if readouts else None)
    mapping = {r: r for r in obs.readouts}
    mapping.update(_parse_map(readout_map))
    observed = obs.summary()
    bad = observed[~(np.isfinite(observed["se"]) & (observed["n"] >= 1))]
    if not bad.empty:
        row = bad.iloc[0]
        raise TropismError(
            f"data {row['readout']!r} of {row['condition']!r} at {row['time']:g} min: "
            f"{int(row['n'])} replicate(s); expected at least 2 replicates (or tracks) to "
            "estimate the measurement error"
        )
    if obs.kind == "tracks":
        reducer = TrackWindow(interval=obs.tracks.frame_interval, window=obs.tracks.window)
    else:
        reducer = AtTimes(times=tuple(sorted({float(t) for t in observed["time"]})))
    model = SimulatorModel(
        scenario, base_set, conditions=obs.conditions, replicates=replicates, reducer=reducer
    )
    model.check([tuple(s.override(s.from_unit(u)) for s in specs) for u in (0.0, 1.0)])
    settle_conditions(model, specs, explicit=True)
    plan = {
        "kind": "fit",
        "model": model.identity(),
        "data": obs.digest(),
        "free": [s.text for s in specs],
        "readouts": obs.readouts,
        "map": mapping,
        "population": population,
        "grid": grid,
    }
    run = functools.partial(
        _fit,
        model,
        specs,
        obs,
        observed,
        mapping,
        population,
        plan,
        grid=grid,
        workers=workers,
        scheduler=scheduler,
        force=force,
        progress=progress,
    )
    if out is None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="tropism-fit-") as tmp:
            result = run(Path(tmp))
            result.path = None
    else:
        result = run(Path(out))
        _save(result, Path(out), figures)
    estimates = result.estimates["estimate"]
    result.overrides = [s.override(_rounded(v, s)) for s, v in zip(specs, estimates, strict=True)]
    if write_scenario is not None:
        result.scenario_path = _write_scenario(
            scenario, base_set, result, Path(write_scenario), obs.source
        )
    return result


def _rounded(value: float, spec: VarySpec) -> float | int:
    if spec.integer:
        return int(round(value))
    return float(f"{value:.4g}")


def _fit(
    model: SimulatorModel,
    specs: list[VarySpec],
    obs: Any,
    observed: pd.DataFrame,
    mapping: dict[str, str],
    population: str | None,
    plan: dict,
    folder: Path,
    *,
    grid: int,
    workers: int | None,
    scheduler: Any,
    force: bool,
    progress: Callable[[int, int], None] | None,
) -> FitResult:
    store = PointStore(folder, plan, force=force)
    thr, thr_df = threshold(observed, model.replicates)
    d = len(specs)
    line = np.linspace(0.0, 1.0, grid)
    step = 1.0 / (grid - 1)
    with make_backend(workers, scheduler) as backend:
        obj = Objective(model, specs, observed, mapping, population, store, backend, progress)
        obj([0.5] * d)  # one point first: a readout the simulation lacks fails fast
        if d == 1:
            starts = [[x] for x in line]
        else:
            from scipy.stats import qmc

            lhs = qmc.LatinHypercube(d=d, seed=np.random.default_rng(model.seed)).random(8 * d)
            starts = [[0.5] * d, *lhs.tolist()]
        values = obj.batch(starts)
        start = np.array(starts[int(np.argmin(values))], dtype=float)
        u_best, chi2_min = _minimise(obj, start, list(range(d)), {}, step)
        for _ in range(3):
            found = [_profile(obj, u_best, chi2_min, i, line, step, thr) for i in range(d)]
            lowest = [float(f[0]["chi2"].min()) for f in found]
            i = int(np.argmin(lowest))
            if lowest[i] >= chi2_min - 1e-9:
                break
            # a profile went below the minimum: restart the search from there
            u_best, chi2_min = _minimise(
                obj, _argmin_point(found[i][0], u_best, i), list(range(d)), {}, step
            )
        profiles: dict[str, pd.DataFrame] = {}
        rows = []
        for s, (table, lo, hi, lo_open, hi_open), i in zip(specs, found, range(d), strict=True):
            table["value"] = [s.from_unit(float(x)) for x in table["u"]]
            table["delta"] = table["chi2"] - chi2_min
            profiles[s.key] = table[["value", "chi2", "delta"]]
            rows.append(
                {
                    "parameter": s.key,
                    "label": s.label,
                    "unit": s.unit,
                    "estimate": s.from_unit(float(u_best[i])),
                    "low": s.from_unit(lo),
                    "high": s.from_unit(hi),
                    "low_open": lo_open,
                    "high_open": hi_open,
                    "identifiability": _identifiability(lo_open, hi_open),
                    "log": s.log,
                }
            )
        best_point = obj.point(u_best)
        obj.batch([u_best])
        sim = obj.simulated(store.rows([best_point]))
    dof = len(observed) - d
    return FitResult(
        estimates=pd.DataFrame(rows),
        comparison=_comparison(observed, sim, model.replicates),
        profiles=profiles,
        chi2=chi2_min,
        dof=dof,
        p_value=float(st.chi2.sf(chi2_min, dof)) if dof > 0 else None,
        threshold=thr,
        threshold_df=thr_df,
        specs=specs,
        data=obs.table,
        evaluations=len(obj.cache),
        computed=obj.computed,
        path=folder,
    )


def _argmin_point(table: pd.DataFrame, u_best: np.ndarray, i: int) -> np.ndarray:
    u = np.array(u_best, dtype=float)
    u[i] = float(table.loc[table["chi2"].idxmin(), "u"])
    return u


def _ci(mean: pd.Series, se: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series]:
    t = st.t.ppf(0.975, np.maximum(n.to_numpy(dtype=float) - 1, 1))
    half = se.to_numpy(dtype=float) * t
    return mean - half, mean + half


def _comparison(observed: pd.DataFrame, sim: pd.DataFrame, replicates: int) -> pd.DataFrame:
    m = observed.merge(sim, on=["condition", "time", "readout"], how="left")
    d_lo, d_hi = _ci(m["mean"], m["se"], m["n"])
    s_lo, s_hi = _ci(m["mean_sim"], m["se_sim"], m["n_sim"].fillna(replicates))
    return pd.DataFrame(
        {
            "condition": m["condition"],
            "time": m["time"],
            "readout": m["readout"],
            "data_n": m["n"],
            "data_mean": m["mean"],
            "data_low": d_lo,
            "data_high": d_hi,
            "sim_n": m["n_sim"],
            "sim_mean": m["mean_sim"],
            "sim_low": s_lo,
            "sim_high": s_hi,
        }
    )


def _save(result: FitResult, folder: Path, figures: bool) -> None:
    result.estimates.to_csv(folder / "estimates.csv", index=False)
    result.comparison.to_csv(folder / "comparison.csv", index=False)
    profiles = pd.concat(
        [p.assign(parameter=k) for k, p in result.profiles.items()], ignore_index=True
    )
    profiles.to_csv(folder / "profiles.csv", index=False)
    info = {
        "estimates": json.loads(result.estimates.to_json(orient="records")),
        "chi2": result.chi2,
        "dof": result.dof,
        "p_value": result.p_value,
        "threshold": result.threshold,
        "threshold_df": None if not math.isfinite(result.threshold_df) else result.threshold_df,
        "evaluations": result.evaluations,
    }
    (folder / "fit.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if figures:
        (folder / "figures").mkdir(exist_ok=True)
        result.plot().savefig(folder / "figures" / "fit.png", dpi=120)
        result.plot_profiles().savefig(folder / "figures" / "profiles.png", dpi=120)


def _write_scenario(scenario, base_set, result: FitResult, path: Path, source: str) -> Path:
    from tropism.scenario import load_scenario

    spec = load_scenario(scenario, [*base_set, *result.overrides])
    lines = [f"# Fitted by tropism fit to {source}:"]
    for r in result.estimates.itertuples():
        unit = f" {r.unit}" if r.unit else ""
        lines.append(
            f"#   {r.parameter} = {r.estimate:.4g}{unit}, 95 % CI [{r.low:.4g}, {r.high:.4g}]"
            f" ({r.identifiability})"
        )
    lines.append(f"#   chi2 = {result.chi2:.3g} on {result.dof} degrees of freedom")
    text = "\n".join(lines) + "\n" + spec.to_toml()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    if not math.isfinite(result.chi2):  # pragma: no cover - defensive
        raise TropismError("the fit did not converge; expected a finite chi2")
    return path
