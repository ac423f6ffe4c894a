"""Sweeps on a dask.distributed cluster: the same numbers as a local run; a dying worker."""

from __future__ import annotations

from functools import partial

import pandas as pd
import pytest
from typer.testing import CliRunner

from tropism.cli import app
from tropism.fit.models import FunctionModel
from tropism.fit.sweep import sweep

from .test_fit_sweep import CXCL12, TINY, kill_once

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    """A local cluster of two single-threaded worker processes."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        yield c


def test_a_sweep_on_a_local_cluster_equals_the_local_run(cluster, tmp_path):
    vary = ["cells.msc.chemotactic_speed=0.1,0.3 um/min", "cells.msc.count=10,20"]
    sets = [a for s in TINY for a in ("--set", s)]
    args = ["sweep", "msc-gradient-cxcl12", *[a for v in vary for a in ("--vary", v)], *sets]
    args += ["--condition", CXCL12, "--replicates", "2", "--quiet", "--out", str(tmp_path / "d")]
    res = CliRunner().invoke(app, [*args, "--scheduler", cluster.scheduler_address])
    assert res.exit_code == 0, res.output
    remote = pd.read_parquet(tmp_path / "d" / "points")
    local = sweep(
        "msc-gradient-cxcl12", vary, set=TINY, conditions=[CXCL12], replicates=2, workers=1
    )
    remote = remote.sort_values(["point", "replicate"], kind="stable").reset_index(drop=True)
    remote = remote.drop(columns="point_key")
    assert len(remote) == len(local.data) == 4 * 2 * 6
    pd.testing.assert_frame_equal(remote, local.data, check_dtype=False)


def test_a_dask_worker_that_dies_has_its_points_retried(cluster, tmp_path):
    marker = tmp_path / "killed"
    res = sweep(
        vary=["x=1:4:4"],
        model=FunctionModel(partial(kill_once, marker=str(marker)), name="kill_once"),
        scheduler=cluster.scheduler_address,
        out=tmp_path / "k",
    )
    assert marker.exists()
    assert res.data.sort_values("x")["value"].tolist() == [1.0, 4.0, 9.0, 16.0]
    assert res.computed == 4
