"""``tropism bench``: what a workload reports (never how fast: speed is not tested)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from tropism.bench import WORKLOADS, Workload, cell_state_bytes, run_workload
from tropism.cli import app
from tropism.errors import TropismError
from tropism.matched import bias_mapping, build_matched, domain_side

PHASES = {"events", "fields", "sensing", "mechanics", "motility", "observers", "output"}


def test_a_small_matched_workload_reports_every_measurement():
    w = Workload("tiny", "matched", cells=300, dt=0.5, field_dt=1.0, duration=30.0)
    r = run_workload(w)
    assert r["cells"] == 300 + 190 and r["voxels"] == 100 * 100 and r["fields"] == 1
    assert r["motility_steps"] == 60 and r["field_steps"] == 30
    assert PHASES <= set(r["phase_s"]) and all(v >= 0 for v in r["phase_s"].values())
    assert r["phase_s"]["mechanics"] > 0 and r["output_s"] > 0
    assert r["agent_steps_per_s"] > 0 and r["voxel_updates_per_s"] > 0
    assert r["peak_memory_mb"] > 0 and r["threads"] >= 1
    # structure-of-arrays state: pos, vel, start (3 x 24 B), path, birth, speed_scale, ids
    # (4 x 8 B), state (1 B) and 8 B per receptor type: ~120 B per agent, well under 1 kB
    assert 100 < r["cell_state_bytes_per_agent"] < 200
    # chemotaxis towards the tumour: the cells get closer and move radially inwards
    start, end = r["mean_distance_to_tumour_um"]
    assert end < start and r["radial_fmi_end"] > 0.3
    json.dumps(r)  # JSON-able as printed by --json


def test_matched_geometry_and_bias_mapping():
    assert domain_side(1_000) == domain_side(10_000) == 2000.0
    assert domain_side(100_000) == 6300.0  # ~6300 um keeps the density of 10^4 cells
    v_chem, ou = bias_mapping(0.7, 0.5)
    # mean motility vector speed * E[cos], fluctuation keeps the mean square speed at 0.5^2
    assert v_chem == pytest.approx(0.4762, abs=1e-4)
    assert v_chem**2 + ou**2 == pytest.approx(0.25, rel=1e-12)
    assert bias_mapping(1.0, 0.5) == pytest.approx((0.5, 0.0), abs=1e-12)
    assert bias_mapping(0.0, 0.5)[0] == pytest.approx(0.0, abs=1e-12)
    m = build_matched(50, np.random.default_rng(0), 1.0)
    world = m.world
    assert np.count_nonzero(world.secretion[0]) == 190
    steady = world.solvers[0].steady(world.secretion[0])
    assert steady.max() == pytest.approx(10.0, rel=1e-9)  # PEAK_NM at the centre
    tumour = world.populations[1]
    assert tumour.count == 190 and np.all(np.abs(tumour.pos[:, :2] - 1000.0) < 200.0)
    # per-cell arrays only: nothing proportional to N hides outside the populations
    per_agent = cell_state_bytes(world.populations) / sum(p.count for p in world.populations)
    assert math.isfinite(per_agent)


def test_workload_names_and_errors():
    for name in ("matched-1e3", "matched-1e4", "matched-1e5", "matched-1e6", "3d"):
        assert name in WORKLOADS
    with pytest.raises(TropismError):
        run_workload("no-such-workload")
    runner = CliRunner()
    listed = runner.invoke(app, ["bench", "--list"])
    assert listed.exit_code == 0 and "matched-1e4\t" in listed.output
    bad = runner.invoke(app, ["bench", "no-such-workload"])
    assert bad.exit_code == 2
    bad_threads = runner.invoke(app, ["bench", "quick", "--threads", "0"])
    assert bad_threads.exit_code == 2
