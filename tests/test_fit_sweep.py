"""Sweeps: plans, the Parquet dataset, seeds, resuming, dying workers, the command."""

from __future__ import annotations

import os
import signal
from functools import partial

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tropism.cli import app
from tropism.errors import TropismError
from tropism.fit.models import FunctionModel, SimulatorModel
from tropism.fit.specs import parse_vary_list
from tropism.fit.sweep import plan_points, settle_conditions, sweep

#: A sweep point of the built-in scenario that runs in well under a second.
TINY = [
    "cells.msc.count=15",
    'scenario.duration="1 h"',
    'assay.length="200 um"',
    'assay.width="200 um"',
    'numerics.readout_interval="30 min"',
    "numerics.track_cells=2",
]
CXCL12 = "CXCL12 100 ng/mL"


def product(values, rng):
    """A test model: an exact readout and a noisy one."""
    return {"xy": values["x"] * values["y"], "noisy": values["x"] + rng.normal()}


def test_grid_sweep_gives_one_row_per_point_replicate_and_readout(tmp_path):
    res = sweep(
        vary=["x=1:3:3", "y=10,20"],
        model=FunctionModel(product, replicates=3),
        out=tmp_path / "s",
        workers=1,
    )
    assert len(res.plan) == 6 and res.computed == 6
    data = res.data
    assert len(data) == 6 * 3 * 2
    assert list(data.columns[:3]) == ["point", "x", "y"]
    xy = data[data["readout"] == "xy"]
    np.testing.assert_array_equal(xy["value"], xy["x"] * xy["y"])
    # the dataset on disk is the same rows
    disk = pd.read_parquet(tmp_path / "s" / "points")
    assert len(disk) == len(data) and set(disk["point"]) == set(range(6))
    summ = res.summary[res.summary["readout"] == "noisy"]
    assert (summ["n"] == 3).all() and (summ["ci_low"] < summ["mean"]).all()
    assert (tmp_path / "s" / "summary.csv").is_file() and (tmp_path / "s" / "plan.csv").is_file()
    assert (tmp_path / "s" / "figures" / "response-xy.png").is_file()


def test_latin_hypercube_puts_one_sample_in_each_stratum():
    specs = parse_vary_list(["a=0.0..1.0", "b=1.0..100.0:log", "c=5,6"])
    points, method = plan_points(specs, samples=8, seed=3)
    assert method == "lhs" and len(points) == 16
    a = np.array([dict(p.values)["a"] for p in points[:8]])
    b = np.array([dict(p.values)["b"] for p in points[:8]])
    assert sorted(np.floor(a * 8).astype(int)) == list(range(8))
    assert sorted(np.floor(np.log10(b) / 2 * 8).astype(int)) == list(range(8))
    again, _ = plan_points(specs, samples=8, seed=3)
    assert [p.seed for p in again] == [p.seed for p in points]
    with pytest.raises(TropismError, match="--method lhs or sobol"):
        plan_points(specs, method="grid")


class Counting(SimulatorModel):
    """The simulator, counting the replicates it runs (in this process: workers=1)."""

    calls: list = []

    def evaluate(self, task):
        Counting.calls.append(task.point)
        return super().evaluate(task)


class Stop(Exception):
    pass


def test_an_interrupted_sweep_resumes_without_recomputing_finished_points(tmp_path):
    vary = ["cells.msc.chemotactic_speed=0.1:0.4 um/min:4"]

    def model():
        return Counting("msc-gradient-cxcl12", TINY, conditions=[CXCL12], replicates=2)

    def stop_after_two(point):
        if len(done) == 1:
            raise Stop
        done.append(point)

    done: list[int] = []
    Counting.calls.clear()
    with pytest.raises(Stop):
        sweep(vary=vary, model=model(), out=tmp_path / "s", workers=1, on_point=stop_after_two)
    finished = set(pd.read_parquet(tmp_path / "s" / "points")["point"])
    assert len(finished) == 2  # the point that finished when the run stopped was kept
    Counting.calls.clear()
    res = sweep(vary=vary, model=model(), out=tmp_path / "s", workers=1)
    assert (res.computed, res.skipped) == (2, 2)
    assert sorted(Counting.calls) == sorted([p for p in range(4) if p not in finished] * 2)
    # the same as one uninterrupted run, on two processes
    whole = sweep(vary=vary, model=model(), out=tmp_path / "t", workers=2)
    pd.testing.assert_frame_equal(res.data, whole.data)
    # another plan in the same folder is refused, unless forced
    with pytest.raises(TropismError, match="another plan"):
        sweep(
            vary=["cells.msc.chemotactic_speed=0.1,0.2 um/min"], model=model(), out=tmp_path / "s"
        )
    forced = sweep(
        vary=["cells.msc.chemotactic_speed=0.1 um/min"], model=model(), out=tmp_path / "s",
        force=True, workers=1, figures=False,
    )  # fmt: skip
    assert (
        forced.computed == 1 and len(set(pd.read_parquet(tmp_path / "s" / "points")["point"])) == 1
    )


def kill_once(values, rng, marker):
    """Kills the worker process running it the first time (a marker file remembers)."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return values["x"] ** 2


def test_a_local_worker_that_dies_has_its_points_retried(tmp_path):
    marker = tmp_path / "killed"
    res = sweep(
        vary=["x=1:6:6"],
        model=FunctionModel(partial(kill_once, marker=str(marker)), name="kill_once"),
        workers=2,
    )
    assert marker.exists()
    assert res.data.sort_values("x")["value"].tolist() == [1.0, 4.0, 9.0, 16.0, 25.0, 36.0]


def test_conditions_that_set_the_varied_key_themselves_are_left_out():
    model = SimulatorModel("msc-gradient-cxcl12", TINY)
    specs = parse_vary_list(["assay.source.cxcl12=0:100 ng/mL:3"])
    dropped = settle_conditions(model, specs, explicit=False)
    assert set(dropped) == {"no chemokine", CXCL12}
    assert model.conditions == ["CXCL12 + AMD3100 1 ug/mL"]
    named = SimulatorModel("msc-gradient-cxcl12", TINY, conditions=["no chemokine"])
    with pytest.raises(TropismError, match="overrides assay.source.cxcl12"):
        settle_conditions(named, specs, explicit=True)


def test_sweep_command_writes_the_folder_and_prints_the_table(tmp_path):
    runner = CliRunner()
    sets = [a for s in TINY for a in ("--set", s)]
    args = [
        "sweep", "msc-gradient-cxcl12", "--vary", "cells.msc.chemotactic_speed=0.1,0.3 um/min",
        "--condition", CXCL12, "--replicates", "2", "--workers", "1", "--out",
        str(tmp_path / "cli"), *sets,
    ]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "fmi: mean [95 % CI]" in res.output and "2 computed" in res.output
    assert (tmp_path / "cli" / "figures" / "response-fmi.png").is_file()
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "0 computed, 2 already finished" in again.output
    bad = runner.invoke(app, [*args[:3], "cells.msc.nope=1,2", *args[4:]])
    assert bad.exit_code == 2
    assert bad.output.count("\n") == 1 and "cells.msc.nope" in bad.output
