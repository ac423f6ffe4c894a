"""What a sweep evaluates at a point: the simulator, or any Python function (for tests and
for analytic models).

A model has ``conditions`` (names), ``replicates`` (per condition), ``seed`` (the base seed
that point seeds derive from), :meth:`evaluate` (one task -> rows ``population, time, readout,
value``), :meth:`identity` (what makes its results what they are, for a sweep's manifest) and
:meth:`check` (validate the points before any work starts).

:class:`SimulatorModel` builds each point's scenario with the simulator's own code path,
``load_scenario(source, base_overrides + point_overrides)``, and runs each replicate with
:func:`tropism.study.run_replicate`; a *reducer* turns the replicate's output into rows:
:class:`EndPoint` (every readout at the last time, the default), :class:`AtTimes` (readouts at
given times) or :class:`TrackWindow` (readouts of the simulated tracks sampled at a microscope's
frame interval, reduced like a track file).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tropism.errors import TropismError

__all__ = [
    "AtTimes",
    "EndPoint",
    "FunctionModel",
    "SimulatorModel",
    "Task",
    "TrackWindow",
]

ROW_COLUMNS = ["population", "time", "readout", "value"]

#: Unit vector up the gradient of each assay (the readouts' direction).
ASSAY_UP: dict[str, tuple[float, float, float]] = {"gradient": (1.0, 0.0, 0.0)}


@dataclass(frozen=True)
class Task:
    """One replicate of one condition at one point."""

    point: int
    values: tuple[tuple[str, Any], ...]
    overrides: tuple[str, ...]
    seed: int
    condition: str
    replicate: int


# --- reducers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndPoint:
    """Every readout of every population at the last recorded time."""

    def overrides(self) -> tuple[str, ...]:
        return ()

    def __call__(self, out, scenario) -> pd.DataFrame:
        m = out.metrics
        if m.empty:
            return pd.DataFrame({c: [] for c in ROW_COLUMNS})
        return m[m["time"] == m["time"].max()][ROW_COLUMNS].reset_index(drop=True)


@dataclass(frozen=True)
class AtTimes:
    """Every readout at the recorded time nearest to each of ``times`` (min).

    A time further than half a readout interval from any recorded time is an error.
    """

    times: tuple[float, ...]

    def overrides(self) -> tuple[str, ...]:
        return ()

    def __call__(self, out, scenario) -> pd.DataFrame:
        m = out.metrics
        recorded = np.unique(m["time"].to_numpy(dtype=float))
        tolerance = 0.5 * scenario.numerics.readout_interval + 1e-9
        parts = []
        for t in self.times:
            i = int(np.argmin(np.abs(recorded - t))) if recorded.size else -1
            if i < 0 or abs(recorded[i] - t) > tolerance:
                last = recorded.max() if recorded.size else 0.0
                raise TropismError(
                    f"data time {t:g} min: expected a time the simulation records (every "
                    f"{scenario.numerics.readout_interval:g} min up to {last:g} min; "
                    "set scenario.duration or numerics.readout_interval)"
                )
            rows = m[m["time"] == recorded[i]][ROW_COLUMNS].copy()
            rows["time"] = float(t)
            parts.append(rows)
        return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class TrackWindow:
    """Readouts of the simulated tracks, sampled every ``interval`` over ``[0, window]`` (min).

    Every cell is tracked, and its track is reduced by
    :func:`tropism.data.tracks.readouts_from_tracks`, the function that reduces a track file.
    """

    interval: float
    window: float

    def overrides(self) -> tuple[str, ...]:
        return (
            f"numerics.track_interval={self.interval!r} min",
            "numerics.track_cells=1000000000",
        )

    def __call__(self, out, scenario) -> pd.DataFrame:
        from tropism.data.tracks import readouts_from_tracks

        up = ASSAY_UP.get(scenario.scenario.assay)
        if up is None:
            raise TropismError(
                f"assay {scenario.scenario.assay!r}: track data can be fitted to "
                f"{', '.join(ASSAY_UP)} assays; expected one of those"
            )
        if scenario.scenario.duration < self.window - 1e-6:
            raise TropismError(
                f"scenario.duration = {scenario.scenario.duration:g} min: expected at least the "
                f"{self.window:g} min the tracks cover"
            )
        tr = out.tracks
        tr = tr[tr["time"] <= self.window + 1e-6].rename(columns={"cell": "track"})
        rows = readouts_from_tracks(tr, np.asarray(up), by=("population",))
        rows["time"] = float(self.window)
        return rows[ROW_COLUMNS]


# --- scenario sources travel to the workers as text ----------------------------------------------


def _source(scenario: str | Path) -> tuple[str, str | None]:
    """``(label, file text)`` of a scenario the loader has read; ``None`` for a built-in."""
    from tropism.scenario import list_builtin

    text = str(scenario)
    path_like = isinstance(scenario, Path) or text.endswith(".toml") or "/" in text or "\\" in text
    if not path_like and text in {name for name, _, _ in list_builtin()}:
        return text, None
    return text, Path(scenario).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=16)
def _load(source: str, text: str | None, overrides: tuple[str, ...]):
    """``load_scenario`` in a worker: the file itself when it holds the same text, else a
    private copy of the text (a worker on another machine)."""
    from tropism.scenario import load_scenario

    if text is None:
        return load_scenario(source, list(overrides))
    path = Path(source)
    try:
        same = path.is_file() and path.read_text(encoding="utf-8") == text
    except OSError:
        same = False
    if not same:
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        folder = Path(tempfile.gettempdir()) / "tropism-scenarios"
        folder.mkdir(exist_ok=True)
        path = folder / f"{digest}-{path.name if path.suffix == '.toml' else 'scenario.toml'}"
        if not path.is_file():
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
    return load_scenario(path, list(overrides))


def _at(data: Any, key: str) -> Any:
    """The value at a dotted key of a dumped scenario (None where there is none)."""
    for part in key.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


# --- the simulator ------------------------------------------------------------------------------


class SimulatorModel:
    """The simulator at a point: every condition x replicate through ``run_replicate``.

    Parameters
    ----------
    scenario
        A scenario file or the name of a built-in scenario.
    overrides
        ``"KEY=VALUE"`` applied to every point (the command line's ``--set``).
    conditions
        Conditions to run (default: all, in file order).
    replicates
        Replicates per condition (default: the scenario's).
    reducer
        Replicate output -> rows (default :class:`EndPoint`).
    """

    def __init__(
        self,
        scenario: str | Path,
        overrides: Sequence[str] = (),
        *,
        conditions: Sequence[str] | None = None,
        replicates: int | None = None,
        reducer: Any = None,
    ):
        from tropism.scenario import load_scenario

        self.base_overrides = tuple(overrides)
        self.spec = load_scenario(scenario, list(self.base_overrides))
        self.source, self.text = _source(scenario)
        names = self.spec.condition_names
        for c in conditions or []:
            if c not in names:
                raise TropismError(
                    f"--condition {c!r}: not in scenario {self.spec.base.scenario.name!r}; "
                    f"expected one of {', '.join(repr(n) for n in names)}"
                )
        self.conditions = list(dict.fromkeys(conditions or names))
        if replicates is not None and replicates < 1:
            raise TropismError(f"--replicates = {replicates}: expected an integer >= 1")
        self.replicates = int(replicates or self.spec.base.scenario.replicates)
        self.seed = int(self.spec.base.scenario.seed)
        self.reducer = reducer or EndPoint()

    @property
    def name(self) -> str:
        return self.spec.base.scenario.name

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("spec", None)  # workers load what they need
        return state

    def identity(self) -> dict:
        dumps = [
            [name, sc.model_dump(mode="json", exclude_none=True)]
            for name, sc in self.spec.conditions
        ]
        digest = hashlib.sha256(json.dumps(dumps, sort_keys=True).encode()).hexdigest()
        return {
            "model": "simulator",
            "scenario": self.source,
            "scenario_sha256": digest,
            "set": list(self.base_overrides),
            "conditions": self.conditions,
            "replicates": self.replicates,
            "reducer": repr(self.reducer),
        }

    def overriding_conditions(
        self, keys: Sequence[str], corners: Sequence[Sequence[str]]
    ) -> dict[str, list[str]]:
        """Condition -> the varied keys it sets itself (varying them has no effect there).

        The scenario is loaded at each corner of the plan (``corners``: override lists); a
        condition overrides a key when its resolved value differs from the base's there.
        """
        out: dict[str, list[str]] = {}
        for extra in corners:
            spec = _load(self.source, self.text, (*self.base_overrides, *extra))
            base = spec.base.model_dump(mode="json")
            for name, scenario in spec.conditions:
                if name not in self.conditions:
                    continue
                dump = scenario.model_dump(mode="json")
                for key in keys:
                    if _at(dump, key) != _at(base, key) and key not in out.get(name, []):
                        out.setdefault(name, []).append(key)
        return out

    def drop_conditions(self, names: Sequence[str]) -> None:
        self.conditions = [c for c in self.conditions if c not in names]

    def check(self, overrides: Sequence[Sequence[str]]) -> None:
        """Load the scenario at these points here, so that a bad key or value is one error
        before any work starts."""
        for extra in overrides:
            _load(self.source, self.text, (*self.base_overrides, *extra))

    def evaluate(self, task: Task) -> pd.DataFrame:
        from tropism.study import run_replicate

        spec = _load(
            self.source,
            self.text,
            (
                *self.base_overrides,
                *task.overrides,
                *self.reducer.overrides(),
                f"scenario.seed={task.seed}",
            ),
        )
        scenario = dict(spec.conditions)[task.condition]
        out = run_replicate(scenario, task.condition, task.replicate)
        return self.reducer(out, scenario)

    def __repr__(self) -> str:
        return f"SimulatorModel({self.source!r}, conditions={self.conditions})"


# --- any function ---------------------------------------------------------------------------------


class FunctionModel:
    """A Python function as the model: ``func(values, rng) -> float or {readout: float}``.

    ``values`` maps each varied key to its value at the point; ``rng`` is a NumPy generator
    seeded for the point and replicate. A float result is the readout ``readout``.
    """

    def __init__(
        self,
        func: Callable[[dict[str, Any], np.random.Generator], Any],
        *,
        replicates: int = 1,
        seed: int = 0,
        readout: str = "value",
        name: str | None = None,
    ):
        self.func = func
        self.replicates = int(replicates)
        self.seed = int(seed)
        self.readout = readout
        self.conditions = ["baseline"]
        self.name = name or getattr(func, "__qualname__", repr(func))

    def identity(self) -> dict:
        return {
            "model": "function",
            "function": f"{getattr(self.func, '__module__', '')}.{self.name}",
            "replicates": self.replicates,
            "seed": self.seed,
        }

    def overriding_conditions(
        self, keys: Sequence[str], corners: Sequence[Sequence[str]]
    ) -> dict[str, list[str]]:
        return {}

    def drop_conditions(self, names: Sequence[str]) -> None:
        pass

    def check(self, overrides: Sequence[Sequence[str]]) -> None:
        pass

    def evaluate(self, task: Task) -> pd.DataFrame:
        rng = np.random.default_rng(np.random.SeedSequence(task.seed, spawn_key=(task.replicate,)))
        result = self.func(dict(task.values), rng)
        if not isinstance(result, dict):
            result = {self.readout: result}
        return [("", 0.0, str(name), float(value)) for name, value in result.items()]

    def __repr__(self) -> str:
        return f"FunctionModel({self.name})"
