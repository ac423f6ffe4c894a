"""Sweeps: every point x condition x replicate, one Parquet dataset, resumable.

A *plan* is the list of points (:func:`plan_points`): the full grid of every list and grid
spec, crossed with ``samples`` Latin hypercube (or scrambled Sobol) samples of the ranges. Each
point has its own seed, derived with ``SeedSequence`` from the scenario seed and the point's
values (not from its position, the backend or the number of workers); its scenario is loaded
with that seed, so that ``run_replicate``'s per-condition and per-replicate streams follow.

The sweep folder::

    plan.json            the plan (model, varied specs, method, samples, seeds): a rerun with the
                         same plan resumes; a different plan is refused unless force
    plan.csv             point, the value of every varied key, seed
    points/part-*.parquet
                         the dataset (``pandas.read_parquet(folder / "points")``): one row per
                         point, condition, replicate, population, time and readout; each file
                         holds finished points only and is written under a temporary name
                         (ignored by readers) and renamed
    summary.csv          per point, condition, population, readout: n, mean, sd, 95 % CI
    figures/response-<readout>.png

Finished points are written at most half a second after they finish (and at once when the run
stops on an error or an interrupt); a rerun skips them.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tropism.errors import TropismError
from tropism.fit.backend import Backend, make_backend, pack
from tropism.fit.models import ROW_COLUMNS, FunctionModel, SimulatorModel, Task
from tropism.fit.specs import VarySpec, parse_vary_list

__all__ = [
    "METHODS",
    "Point",
    "PointStore",
    "SweepResult",
    "default_dir",
    "make_point",
    "plan_points",
    "point_seed",
    "run_points",
    "summarize_points",
    "sweep",
]

METHODS = ("grid", "lhs", "sobol")
_SEED_TAG = 0x5EE9  # separates point seeds from the study's condition/replicate streams
PRIMARY = ("fmi", "chemotactic_index", "speed", "drift_velocity")


# --- points -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One point of a plan: the value of every varied key, its overrides and its seed."""

    index: int
    values: tuple[tuple[str, Any], ...]
    overrides: tuple[str, ...]
    key: str
    seed: int


def point_seed(base_seed: int, key: str) -> int:
    """The seed of the point whose overrides are ``key`` (a 63-bit integer)."""
    digest = hashlib.sha256(key.encode()).digest()
    words = tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))
    ss = np.random.SeedSequence(int(base_seed), spawn_key=(_SEED_TAG, *words))
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def make_point(
    index: int,
    specs: Sequence[VarySpec],
    values: Sequence[Any],
    base_seed: int,
    seed_key: str | None = None,
) -> Point:
    """A point; its seed comes from its overrides, or from ``seed_key`` when given (a fit uses
    one key for every point: common random numbers)."""
    overrides = tuple(s.override(v) for s, v in zip(specs, values, strict=True))
    key = "\n".join(overrides)
    seed = point_seed(base_seed, key if seed_key is None else seed_key)
    pairs = tuple((s.key, v) for s, v in zip(specs, values, strict=True))
    return Point(index, pairs, overrides, key, seed)


def _unit_samples(method: str, d: int, n: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    if method == "lhs":
        return qmc.LatinHypercube(d=d, seed=np.random.default_rng(seed)).random(n)
    if n & (n - 1):
        raise TropismError(f"--samples = {n}: expected a power of 2 for --method sobol")
    return qmc.Sobol(d=d, scramble=True, seed=np.random.default_rng(seed)).random(n)


def plan_points(
    specs: Sequence[VarySpec],
    *,
    method: str | None = None,
    samples: int | None = None,
    seed: int = 0,
) -> tuple[list[Point], str]:
    """Every point of a sweep, and the method used.

    Lists and grids are crossed (full factorial); ranges are sampled (``"lhs"``, the default
    with ranges, or ``"sobol"``) with ``samples`` points, crossed with the grid. ``seed`` is
    the scenario seed: it seeds the sampling and every point.
    """
    fixed = [s for s in specs if s.kind != "range"]
    ranges = [s for s in specs if s.kind == "range"]
    if method is None:
        method = "lhs" if ranges else "grid"
    if method not in METHODS:
        raise TropismError(f"--method = {method!r}: expected one of {', '.join(METHODS)}")
    if method == "grid" and ranges:
        raise TropismError(
            f"--vary {ranges[0].key}: a range 'lo..hi' is sampled; expected --method lhs or "
            "sobol with --samples N (or a grid 'lo:hi:n')"
        )
    if method != "grid" and not ranges:
        raise TropismError(f"--method {method}: expected at least one range 'lo..hi' to sample")
    if samples is not None and samples < 1:
        raise TropismError(f"--samples = {samples}: expected an integer >= 1")
    if method != "grid":
        n = samples or 16
        u = _unit_samples(method, len(ranges), n, seed)
        sampled = [
            tuple(s.from_unit(float(x)) for s, x in zip(ranges, row, strict=True)) for row in u
        ]
    else:
        sampled = [()]
    grid = list(itertools.product(*[s.values for s in fixed]))
    points = []
    for combo in grid:
        for draw in sampled:
            by_key = dict(zip([s.key for s in fixed], combo, strict=True))
            by_key.update(zip([s.key for s in ranges], draw, strict=True))
            values = [by_key[s.key] for s in specs]
            points.append(make_point(len(points), specs, values, seed))
    return points, method


def _corner_overrides(specs: Sequence[VarySpec]) -> list[tuple[str, ...]]:
    """Overrides that exercise every value kind of the specs: all lowest, all highest, and each
    categorical value."""
    if not specs:
        return [()]
    low = [s.values[0] if s.kind != "range" else s.from_unit(0.0) for s in specs]
    high = [s.values[-1] if s.kind != "range" else s.from_unit(1.0) for s in specs]
    out = [tuple(s.override(v) for s, v in zip(specs, low, strict=True))]
    out.append(tuple(s.override(v) for s, v in zip(specs, high, strict=True)))
    for i, s in enumerate(specs):
        if not s.numeric:
            for v in s.values[1:-1]:
                vals = list(low)
                vals[i] = v
                out.append(tuple(t.override(x) for t, x in zip(specs, vals, strict=True)))
    return list(dict.fromkeys(out))


# --- the store ----------------------------------------------------------------------------------


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


class PointStore:
    """Finished points on disk: ``plan.json`` and ``points/part-*.parquet``.

    Parameters
    ----------
    folder
        The folder (created when missing).
    plan
        What the points are computed from (JSON-able). A folder holding another plan is refused
        unless ``force``, which removes its points first.
    force
        Start over: remove the folder's points (of this plan or another) first.
    """

    def __init__(self, folder: str | Path, plan: dict, force: bool = False):
        self.folder = Path(folder)
        self.plan = _jsonable(plan)
        self.points_dir = self.folder / "points"
        manifest = self.folder / "plan.json"
        if self.folder.exists() and not self.folder.is_dir():
            raise TropismError(f"--out {self.folder}: expected a folder, not a file")
        if force:
            self.clear()
        elif manifest.is_file():
            try:
                old = json.loads(manifest.read_text(encoding="utf-8")).get("plan")
            except (OSError, json.JSONDecodeError, AttributeError):
                old = None
            if old != self.plan:
                raise TropismError(
                    f"{self.folder}: holds the points of another plan "
                    f"({_differs(old, self.plan)}); expected the same plan to resume it, "
                    "another --out, or --force to start over"
                )
        elif self.points_dir.is_dir() and any(self.points_dir.iterdir()):
            raise TropismError(
                f"{self.folder}: has points but no plan.json; expected another --out or --force"
            )
        self.points_dir.mkdir(parents=True, exist_ok=True)
        for tmp in self.points_dir.glob(".*.tmp"):
            tmp.unlink()  # a part being written when an earlier run was killed
        _write_json(manifest, {"plan": self.plan, "tropism": _version()})
        self.parts: list[pd.DataFrame] = []
        self.keys: set[str] = set()
        self._seq = 0
        for part in sorted(self.points_dir.glob("part-*.parquet")):
            self._seq = max(self._seq, int(part.stem.split("-")[1]))
            frame = pd.read_parquet(part)
            self.parts.append(frame)
            self.keys.update(str(k) for k in frame["point_key"].unique())

    def clear(self) -> None:
        """Remove the points and the outputs derived from them."""
        if self.points_dir.is_dir():
            shutil.rmtree(self.points_dir)
        for name in ("plan.json", "plan.csv", "summary.csv"):
            (self.folder / name).unlink(missing_ok=True)

    def has(self, key: str) -> bool:
        return key in self.keys

    def write(self, data: pd.DataFrame) -> None:
        """Write finished points as one part file (temporary name, then renamed)."""
        if data.empty:
            return
        self._seq += 1
        final = self.points_dir / f"part-{self._seq:06d}.parquet"
        tmp = self.points_dir / f".{final.name}.tmp"
        data.to_parquet(tmp, index=False)
        os.replace(tmp, final)
        self.parts.append(data)
        self.keys.update(str(k) for k in data["point_key"].unique())

    def rows(self, points: Sequence[Point]) -> pd.DataFrame:
        """The stored rows of these points, labelled with their indices, in their order (a
        point listed twice, as Morris trajectories may, gets its rows twice)."""
        if not self.parts or not points:
            return pd.DataFrame()
        data = pd.concat(self.parts, ignore_index=True).drop(columns="point")
        wanted = pd.DataFrame(
            {"point_key": [p.key for p in points], "point": [p.index for p in points]}
        )
        data = wanted.merge(data, on="point_key", how="inner", sort=False)
        data = data.sort_values("point", kind="stable").reset_index(drop=True)
        return data


def _differs(old: Any, new: dict) -> str:
    if not isinstance(old, dict):
        return "unreadable plan.json"
    keys = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return "differs in " + ", ".join(keys) if keys else "differs"


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _version() -> str:
    from tropism import __version__

    return __version__


# --- running ------------------------------------------------------------------------------------


@dataclass
class RunStats:
    """What :func:`run_points` did."""

    computed: int = 0
    skipped: int = 0
    tasks: int = 0


def _point_records(point: Point, pieces: list[tuple[Task, list]]) -> list[tuple]:
    """One record per row: point, key, the varied values, condition, replicate, and the
    model's ``population, time, readout, value``."""
    front = (point.index, point.key, *(v for _, v in point.values))
    out = []
    for task, rows in pieces:
        for row in rows:
            out.append((*front, task.condition, task.replicate, *row))
    return out


def _as_rows(result: Any) -> list[tuple]:
    """A model's result (a DataFrame or records) as ``(population, time, readout, value)``."""
    if isinstance(result, pd.DataFrame):
        return list(result[ROW_COLUMNS].itertuples(index=False, name=None))
    return [tuple(r) for r in result]


def run_points(
    model: Any,
    points: Sequence[Point],
    store: PointStore,
    backend: Backend,
    *,
    progress: Callable[[int, int], None] | None = None,
    on_point: Callable[[int], None] | None = None,
    readouts: Sequence[str] | None = None,
    flush_interval: float = 0.5,
) -> RunStats:
    """Compute every point not yet in ``store``; write each as it finishes.

    Parameters
    ----------
    model
        :class:`~tropism.fit.models.SimulatorModel`, :class:`~tropism.fit.models.FunctionModel`
        or anything with ``conditions``, ``replicates`` and ``evaluate(task)``.
    points
        The points (those already stored are skipped).
    store
        Where finished points go.
    backend
        Where the tasks run.
    progress
        ``progress(tasks_done, tasks_total)``.
    on_point
        Called with a point's index when all its tasks have finished (an exception it raises
        stops the run; finished points are written first).
    readouts
        Readouts the caller needs: the first finished point must have them.
    flush_interval
        Seconds between part files (finished points wait at most this long).
    """
    stats = RunStats()
    todo = [p for p in dict((p.key, p) for p in points).values() if not store.has(p.key)]
    stats.skipped = len({p.key for p in points}) - len(todo)
    tasks = [
        Task(p.index, p.values, p.overrides, p.seed, c, r)
        for p in todo
        for c in model.conditions
        for r in range(model.replicates)
    ]
    stats.tasks = len(tasks)
    if not tasks:
        return stats
    by_index = {p.index: p for p in todo}
    per_point = len(model.conditions) * model.replicates
    keys = [k for k, _ in todo[0].values]
    columns = ["point", "point_key", *keys, "condition", "replicate", *ROW_COLUMNS]
    pieces: dict[int, list] = {}
    buffer: list[tuple] = []
    last_flush = time.monotonic() - flush_interval
    done = 0
    if progress is not None:
        progress(0, len(tasks))
    results = backend.run(pack(model), tasks)

    def flush() -> None:
        if buffer:
            store.write(pd.DataFrame.from_records(buffer, columns=columns))
            buffer.clear()

    try:
        for item in results:
            if item is not None:
                i, result = item
                task = tasks[i]
                pieces.setdefault(task.point, []).append((task, _as_rows(result)))
                done += 1
                if progress is not None:
                    progress(done, len(tasks))
                if len(pieces[task.point]) == per_point:
                    records = _point_records(by_index[task.point], pieces.pop(task.point))
                    if readouts and stats.computed == 0:
                        _check_readouts({r[-2] for r in records}, readouts)
                    buffer.extend(records)
                    stats.computed += 1
                    if on_point is not None:
                        on_point(task.point)
            if buffer and time.monotonic() - last_flush >= flush_interval:
                flush()
                last_flush = time.monotonic()
    finally:
        results.close()
        flush()
    return stats


def _check_readouts(have: Any, readouts: Sequence[str]) -> None:
    have = sorted(set(have))
    for r in readouts:
        if r not in have:
            raise TropismError(
                f"--readout {r}: not reported here; expected one of {', '.join(have)}"
            )


# --- summaries ----------------------------------------------------------------------------------


def summarize_points(data: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Per point, condition, population, time and readout: n, mean, sd, 95 % CI (Student t)."""
    from tropism.stats import describe

    cols = ["point", *keys, "condition", "population", "time", "readout"]
    out_cols = [*cols, "n", "mean", "sd", "ci_low", "ci_high"]
    if data.empty:
        return pd.DataFrame({c: [] for c in out_cols})
    rows = []
    for group, g in data.groupby(cols, sort=False, dropna=False):
        d = describe(g["value"].to_numpy(dtype=float))
        rows.append((*group, d["n"], d["mean"], d["sd"], d["ci_low"], d["ci_high"]))
    return pd.DataFrame(rows, columns=out_cols).astype(
        {"mean": float, "sd": float, "ci_low": float, "ci_high": float}
    )


def _order(data: pd.DataFrame, conditions: Sequence[str]) -> pd.DataFrame:
    if data.empty:
        return data
    rank = {c: i for i, c in enumerate(conditions)}
    data = data.assign(_c=data["condition"].map(rank))
    data = data.sort_values(["point", "_c", "replicate"], kind="stable")
    data = data.drop(columns=["_c", "point_key"], errors="ignore").reset_index(drop=True)
    return data


# --- the sweep ----------------------------------------------------------------------------------


@dataclass
class SweepResult:
    """A finished sweep.

    Attributes
    ----------
    data
        One row per point, condition, replicate, population, time and readout: ``point``, one
        column per varied key (in its spec's unit), ``condition, replicate, population, time,
        readout, value``.
    summary
        Per point, condition, population, time and readout: ``n, mean, sd, ci_low, ci_high``.
    plan
        ``point``, the varied values and the seed of every point.
    specs
        The varied keys.
    path
        The sweep folder.
    computed, skipped
        Points computed by this call, and found finished in the folder.
    dropped
        Conditions left out because their own ``set`` overrides a varied key.
    """

    data: pd.DataFrame
    summary: pd.DataFrame
    plan: pd.DataFrame
    specs: list[VarySpec]
    path: Path | None
    conditions: list[str]
    method: str
    computed: int = 0
    skipped: int = 0
    dropped: dict[str, list[str]] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return [s.key for s in self.specs]

    def plot(self, readout: str = "fmi", key: str | None = None, ax=None):
        """Response curve: mean and 95 % CI of ``readout`` against a varied key, per condition."""
        from tropism.fit.plots import plot_response

        return plot_response(self, readout, key=key, ax=ax)

    def __repr__(self) -> str:
        return (
            f"SweepResult({len(self.plan)} points x {len(self.conditions)} conditions, "
            f"keys={self.keys}, path={self.path})"
        )


def default_dir(name: str, kind: str, plan: dict) -> Path:
    """``runs/<scenario>-<kind>-<hash of the plan>``: the same command resumes the same folder."""
    digest = hashlib.sha256(json.dumps(_jsonable(plan), sort_keys=True).encode()).hexdigest()
    return Path("runs") / f"{name}-{kind}-{digest[:8]}"


def prepare(
    scenario: str | Path | None,
    set_: Sequence[str] | None,
    *,
    model: Any = None,
    conditions: Sequence[str] | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    reducer: Any = None,
) -> Any:
    """The model: ``model`` as given, or the simulator for ``scenario``."""
    if model is not None:
        return model
    if scenario is None:
        raise TropismError("no scenario given; expected a scenario file or built-in name")
    overrides = list(set_ or [])
    if seed is not None:
        if seed < 0:
            raise TropismError(f"--seed = {seed}: expected an integer >= 0")
        overrides.append(f"scenario.seed={seed}")
    return SimulatorModel(
        scenario, overrides, conditions=conditions, replicates=replicates, reducer=reducer
    )


def settle_conditions(
    model: Any, specs: Sequence[VarySpec], explicit: bool
) -> dict[str, list[str]]:
    """Leave out the conditions whose own ``set`` overrides a varied key (an error when the user
    named them); returns what was left out."""
    keys = [s.key for s in specs]
    clash = model.overriding_conditions(keys, _corner_overrides(specs)) if specs else {}
    if clash and explicit:
        name, hit = next(iter(clash.items()))
        raise TropismError(
            f"--condition {name!r}: its own set overrides {', '.join(hit)}, so varying "
            f"{hit[0]} has no effect there; expected a condition that does not set it"
        )
    if clash:
        model.drop_conditions(list(clash))
        if not model.conditions:
            raise TropismError(
                f"--vary {', '.join(keys)}: every condition of the scenario sets it itself; "
                "expected a scenario (or --condition) where the varied key is not overridden"
            )
    return clash


def sweep(
    scenario: str | Path | None = None,
    vary: Sequence[str] | Sequence[VarySpec] = (),
    *,
    set: Sequence[str] | None = None,  # noqa: A002 - mirrors the command line's --set
    conditions: Sequence[str] | None = None,
    replicates: int | None = None,
    method: str | None = None,
    samples: int | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    force: bool = False,
    readouts: Sequence[str] | None = None,
    figures: bool = True,
    model: Any = None,
    progress: Callable[[int, int], None] | None = None,
    on_point: Callable[[int], None] | None = None,
) -> SweepResult:
    """Run a scenario at every point of a plan; see :mod:`tropism.fit.sweep`.

    Parameters
    ----------
    scenario
        Scenario file or built-in name.
    vary
        ``"KEY=SPEC"`` strings (:mod:`tropism.fit.specs`) or parsed specs.
    set
        Overrides applied to every point (``--set``).
    conditions
        Conditions to run (default: every condition that does not itself set a varied key).
    replicates
        Replicates per condition and point (default: the scenario's).
    method, samples
        ``"grid"`` (lists and grids), ``"lhs"`` or ``"sobol"`` (``samples`` draws of the ranges).
    seed
        Scenario seed (default: the scenario's); seeds the sampling and every point.
    out
        Sweep folder (default: a temporary folder, removed afterwards).
    workers, scheduler
        Local processes (default all cores; 1 = this process), or a dask scheduler address /
        ``distributed.Client``.
    force
        Start over in a folder that holds another plan.
    readouts
        Readouts to plot (default: fmi, chemotactic_index, speed, drift_velocity when present).
    figures
        Write figures/response-<readout>.png.
    model
        Evaluate this model instead of the simulator (:class:`~tropism.fit.models.FunctionModel`).
    progress, on_point
        Callbacks, see :func:`run_points`.
    """
    specs = [s if isinstance(s, VarySpec) else None for s in vary]
    if any(s is None for s in specs):
        specs = parse_vary_list([s if isinstance(s, str) else s.text for s in vary])
    model = prepare(
        scenario, set, model=model, conditions=conditions, replicates=replicates, seed=seed
    )
    model.check(_corner_overrides(specs))
    dropped = settle_conditions(model, specs, explicit=bool(conditions))
    points, method = plan_points(specs, method=method, samples=samples, seed=model.seed)
    plan = {
        "kind": "sweep",
        "model": model.identity(),
        "vary": [s.text for s in specs],
        "method": method,
        "samples": samples if method != "grid" else None,
        "points": len(points),
    }
    run = functools.partial(
        _run_sweep,
        model,
        specs,
        points,
        plan,
        method=method,
        workers=workers,
        scheduler=scheduler,
        force=force,
        readouts=readouts,
        progress=progress,
        on_point=on_point,
    )
    if out is None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="tropism-sweep-") as tmp:
            result = run(Path(tmp), figures=False)
            result.path = None
    else:
        result = run(Path(out), figures=figures)
    result.dropped = dropped
    return result


def _run_sweep(
    model: Any,
    specs: list[VarySpec],
    points: list[Point],
    plan: dict,
    folder: Path,
    *,
    method: str,
    workers: int | None,
    scheduler: Any,
    force: bool,
    readouts: Sequence[str] | None,
    figures: bool,
    progress: Callable[[int, int], None] | None,
    on_point: Callable[[int], None] | None,
) -> SweepResult:
    store = PointStore(folder, plan, force=force)
    plan_table = pd.DataFrame(
        [{"point": p.index, **dict(p.values), "seed": p.seed} for p in points]
    )
    plan_table.to_csv(folder / "plan.csv", index=False)
    with make_backend(workers, scheduler) as backend:
        stats = run_points(
            model, points, store, backend, progress=progress, on_point=on_point, readouts=readouts
        )
    keys = [s.key for s in specs]
    data = _order(store.rows(points), model.conditions)
    summary = summarize_points(data, keys)
    summary.to_csv(folder / "summary.csv", index=False)
    result = SweepResult(
        data=data,
        summary=summary,
        plan=plan_table,
        specs=list(specs),
        path=folder,
        conditions=list(model.conditions),
        method=method,
        computed=stats.computed,
        skipped=stats.skipped,
    )
    if readouts and not data.empty:
        _check_readouts(data["readout"], readouts)
    if figures and specs and any(s.numeric for s in specs) and not data.empty:
        from tropism.fit.plots import save_response_figures

        have = list(dict.fromkeys(data["readout"]))
        chosen = list(readouts) if readouts else [r for r in PRIMARY if r in have] or have[:1]
        save_response_figures(result, chosen, folder / "figures")
    return result


def as_model(func: Callable, **kwargs) -> FunctionModel:
    """Shorthand for :class:`~tropism.fit.models.FunctionModel`."""
    return FunctionModel(func, **kwargs)
