"""The Python API: ``tropism.load(...)``, ``.run()``, results, reading runs back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import xarray as xr

from tropism.scenario import ScenarioSpec, load_scenario
from tropism.stats import summary_frame
from tropism.store import RunWriter, run_metadata
from tropism.store import read_run as _read_run
from tropism.study import run_study


class Result:
    """A finished study: summary, readouts over time, tracks and field snapshots.

    Attributes
    ----------
    summary : dict
        Per condition and readout: replicate values, mean, 95 % CI; comparisons against the
        first condition (fold change, difference, p-value). Same content as summary.json.
    metrics : pandas.DataFrame
        Readouts over time: condition, replicate, population, time (min), readout, value.
    tracks : pandas.DataFrame
        Sampled cell tracks: condition, replicate, population, cell, time, x, y, z (um).
    fields : xarray.Dataset
        Field snapshots of replicate 0 of each condition (dims condition, time, x, y[, z]).
    scenario_text : str
        The resolved scenario (TOML) that reproduces the run.
    path : pathlib.Path or None
        The run folder, once saved or when read back.
    """

    def __init__(
        self,
        summary: dict,
        metrics: pd.DataFrame,
        tracks: pd.DataFrame,
        fields: xr.Dataset,
        scenario_text: str,
        meta: dict | None = None,
        path: Path | None = None,
    ):
        self.summary = summary
        self.metrics = metrics
        self.tracks = tracks
        self.fields = fields
        self.scenario_text = scenario_text
        self.meta = meta or {}
        self.path = path

    def summary_table(self) -> pd.DataFrame:
        """One row per condition and readout (mean, 95 % CI, fold change, p-value)."""
        return summary_frame(self.summary)

    def save(self, path: str | Path, force: bool = False) -> Path:
        """Write the run folder (atomically; never overwrites without ``force``)."""
        with RunWriter(path, force=force) as writer:
            write_result(writer, self)
            self.path = writer.commit()
        return self.path

    def plot(self, kind: str = "readouts", ax=None, *, readout: str | None = None, **options):
        """Draw one of the report's figures and return it (a matplotlib Figure).

        Parameters
        ----------
        kind
            ``"readouts"`` (over time), ``"endpoints"``, ``"spider"``, ``"rose"``,
            ``"field"``, ``"density"``, ``"compartments"``, ``"dose_response"`` (see
            ``tropism.report.FIGURE_KINDS``), or a readout name: ``plot("fmi")`` draws that
            readout over time.
        ax
            A matplotlib axes to draw into (readouts, endpoints, dose_response; one readout).
        readout
            Shortcut for ``readouts=[readout]``.
        **options
            Passed to the figure function, e.g. ``species="cxcl12", time=120`` for a field.

        Returns
        -------
        matplotlib.figure.Figure
            Not registered with pyplot, so a notebook shows it once, as the cell's value.
        """
        from tropism.report.figures import plot as _plot

        if readout is not None:
            options.setdefault("readouts", [readout])
        return _plot(self, kind, ax, **options)

    def __repr__(self) -> str:
        conds = [c["name"] for c in self.summary.get("conditions", [])]
        return f"Result({self.summary.get('scenario')!r}, conditions={conds}, path={self.path})"


def write_result(writer: RunWriter, result: Result, command: Sequence[str] | None = None) -> None:
    """Write every part of a result into an open :class:`~tropism.store.RunWriter`."""
    writer.write_text("scenario.toml", result.scenario_text)
    writer.write_json("summary.json", result.summary)
    writer.write_frame("metrics.parquet", result.metrics)
    writer.write_frame("tracks.parquet", result.tracks)
    writer.write_dataset("fields.zarr", result.fields)
    meta = dict(result.meta)
    if command is not None:
        meta["command"] = list(command)
    writer.write_json("run.json", meta)
    (writer.tmp / "figures").mkdir(exist_ok=True)


class Study:
    """A loaded scenario, ready to run. Made by :func:`load`."""

    def __init__(self, spec: ScenarioSpec):
        self.spec = spec

    @property
    def name(self) -> str:
        """Scenario name."""
        return self.spec.base.scenario.name

    @property
    def conditions(self) -> list[str]:
        """Condition names, control first."""
        return [n for n, _ in self.spec.conditions]

    def describe(self) -> str:
        """The resolved scenario with every default and its source."""
        return self.spec.describe()

    def run(
        self,
        *,
        workers: int | None = None,
        test: str = "welch",
        progress: Callable[[float], None] | None = None,
    ) -> Result:
        """Run every condition x replicate and return the :class:`Result`."""
        started = datetime.now(UTC).isoformat(timespec="seconds")
        out = run_study(self.spec, workers=workers, test=test, progress=progress)
        meta = run_metadata(
            seeds=self.spec.base.scenario.seed,
            scenario_source=self.spec.path,
            started=started,
            test=test,
        )
        return Result(out.summary, out.metrics, out.tracks, out.fields, self.spec.to_toml(), meta)

    def __repr__(self) -> str:
        return f"Study({self.name!r}, conditions={self.conditions})"


def load(
    source: str | Path,
    overrides: Sequence[str] = (),
    *,
    replicates: int | None = None,
    seed: int | None = None,
) -> Study:
    """Load a scenario file or built-in scenario by name.

    Parameters
    ----------
    source
        Path to a TOML scenario, or a built-in name (``tropism list``).
    overrides
        ``"key=value"`` strings, as the command line's ``--set``.
    replicates, seed
        Shortcuts for ``scenario.replicates`` and ``scenario.seed``.

    Examples
    --------
    >>> import tropism
    >>> study = tropism.load("msc-gradient-cxcl12", ["cells.msc.count=20"], replicates=2)
    >>> study.conditions[0]
    'no chemokine'
    """
    extra = list(overrides)
    if replicates is not None:
        extra.append(f"scenario.replicates={int(replicates)}")
    if seed is not None:
        extra.append(f"scenario.seed={int(seed)}")
    return Study(load_scenario(source, extra))


def read_run(path: str | Path) -> Result:
    """Read a finished run folder back into a :class:`Result`."""
    data = _read_run(path)
    return Result(
        data.summary,
        data.metrics,
        data.tracks,
        data.fields,
        data.scenario_text,
        data.meta,
        Path(data.path),
    )
