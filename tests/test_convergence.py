"""The default time steps give converged results: default-step run vs a 10x smaller step.

The built-in gradient assay with the channel starting empty (so the field step matters as the
gradient forms) is run at the default steps (motility 0.5 min, fields 1 min) and at
10x smaller steps (0.05 min, 0.1 min). The random streams differ between the two runs, so
readouts are compared statistically: per-cell values, means with their standard errors, and a
tolerance of 4 standard errors of the difference (a false alarm has probability 6e-5 per
readout; the seeds are fixed, so the test is deterministic).
"""

from __future__ import annotations

import numpy as np
import pytest

from tropism.scenario import load_scenario
from tropism.study import run_replicate

CELLS = 2000
BASE = [f"cells.msc.count={CELLS}", 'assay.initial="empty"', 'scenario.duration="3 h"']


def _run(dt: float | None, field_dt: float | None):
    overrides = list(BASE)
    if dt is not None:
        overrides += [f'numerics.dt="{dt} min"', f'numerics.field_dt="{field_dt} min"']
    spec = load_scenario("msc-gradient-cxcl12", overrides)
    name, scenario = spec.conditions[1]  # CXCL12 100 ng/mL
    assert "CXCL12" in name and "AMD3100" not in name
    out = run_replicate(scenario, name, 0, keep_world=True)
    world = out.world
    pop = world.populations[0]
    disp = pop.pos - pop.start
    along = disp @ world.up
    per_cell = {
        "fmi": along / pop.path,
        "drift_velocity": along / (world.time - pop.birth),
    }
    end = out.metrics[out.metrics["time"] == out.metrics["time"].max()]
    for name, values in per_cell.items():
        # the per-cell values are exactly what the run's readout averages
        readout = end.loc[end["readout"] == name, "value"].item()
        assert np.mean(values) == pytest.approx(readout, rel=1e-12)
    return per_cell, world


@pytest.fixture(scope="module")
def runs():
    default = _run(None, None)
    fine = _run(0.05, 0.1)
    return default, fine


def test_default_step_is_the_documented_default(runs):
    spec = load_scenario("msc-gradient-cxcl12", BASE)
    assert spec.base.numerics.dt == 0.5 and spec.base.numerics.field_dt == 1.0


@pytest.mark.parametrize("readout", ["fmi", "drift_velocity"])
def test_readouts_agree_with_a_ten_times_smaller_step(runs, readout):
    (coarse, _), (fine, _) = runs
    a, b = coarse[readout], fine[readout]
    se = np.hypot(a.std(ddof=1) / np.sqrt(a.size), b.std(ddof=1) / np.sqrt(b.size))
    # the comparison can see a 10 % change: s.e. of the difference < 5 % of the mean
    assert se < 0.05 * abs(b.mean())
    assert abs(a.mean() - b.mean()) < 4.0 * se, (readout, a.mean(), b.mean(), se)


def test_field_agrees_with_a_ten_times_smaller_step(runs):
    (_, coarse), (_, fine) = runs
    c_src = 12.5  # nM, 100 ng/mL CXCL12 in the source reservoir
    # backward Euler is first order in the field step; after 3 h (2 L^2 / D) the gradient has
    # nearly formed and the two fields differ by ~5e-5 c_src (measured); tolerance 1e-3 c_src
    np.testing.assert_allclose(coarse.values, fine.values, rtol=0, atol=1e-3 * c_src)
