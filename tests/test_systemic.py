"""The systemic assay: compartment model coupled to a tumour's tissue window.

- with a static tumour (growth, HIF and sinks off; fields at their steady state) the capture
  probability is constant, and the expected fractions over time equal the matrix
  exponential of the compartment model exactly;
- stochastic transitions conserve the cells, and every cell that reaches the tumour
  compartment is a cell of the tissue simulation, placed in the tumour;
- intra-arterial injection skips the lungs and sends more cells to the tumour;
- more CXCR4 or more tumour chemokine: more capture;
- bad input names its key.
"""

from __future__ import annotations

import numpy as np
import pytest

from tropism.errors import ScenarioError
from tropism.scenario import load_scenario
from tropism.study import run_replicate
from tropism.world.circulation import (
    COMPARTMENTS,
    CirculationParams,
    propagate,
    rate_matrix,
)

SMALL = """
[scenario]
name = "systemic-small"
assay = "systemic"
duration = "12 h"
replicates = 1
seed = 3

[assay]
length = "480 um"
width = "480 um"
grid_spacing = "40 um"
tumour_radius = "150 um"

[numerics]
dt = "5 min"
field_dt = "5 min"
tumour_dt = "10 min"
readout_interval = "1 h"
track_cells = 0
field_snapshots = false

[cells.msc]
kind = "msc"
count = 20000
"""

STATIC = [
    "model.growth=false",
    "model.hif=false",
    "model.cxcr7_sink=false",
    "model.uptake=false",
    "model.oxygen=false",
]


def _spec(tmp_path, overrides=()):
    path = tmp_path / "systemic.toml"
    path.write_text(SMALL, encoding="utf-8")
    return load_scenario(path, list(overrides))


def _run(tmp_path, overrides=(), keep_world=False):
    spec = _spec(tmp_path, overrides)
    name, scenario = spec.conditions[0]
    return scenario, run_replicate(scenario, name, 0, keep_world=keep_world)


def _wide(metrics, population="msc"):
    m = metrics[metrics["population"] == population]
    return m.pivot_table(index="time", columns="readout", values="value")


@pytest.mark.parametrize("route", ["intravenous", "intra_arterial"])
def test_expected_fractions_equal_the_matrix_exponential(tmp_path, route):
    scenario, out = _run(
        tmp_path, [*STATIC, 'assay.transitions="expected"', f'assay.route="{route}"']
    )
    wide = _wide(out.metrics)
    capture = wide["capture_probability"].to_numpy()
    assert np.ptp(capture) < 1e-12 * capture[0]  # static tumour: constant capture
    assert 0.02 < capture[0] < 0.52  # basal 0.02 + chemokine-triggered part
    a = scenario.assay
    params = CirculationParams(**{k: getattr(a, k) for k in CirculationParams.__dataclass_fields__})
    q = rate_matrix(params, float(capture[0]))
    p0 = np.zeros(len(COMPARTMENTS))
    p0[0 if route == "intravenous" else 2] = 1.0
    cols = [f"fraction_{c}" for c in COMPARTMENTS]
    for t, row in wide[cols].iterrows():
        assert np.allclose(row.to_numpy(), propagate(p0, q, t), rtol=1e-9, atol=1e-13)
        assert row.sum() == pytest.approx(1.0, abs=1e-12)


def test_stochastic_cells_are_conserved_and_enter_the_tumour(tmp_path):
    scenario, out = _run(tmp_path, ["assay.tissue_sample=1.0"], keep_world=True)
    wide = _wide(out.metrics)
    cols = [f"fraction_{c}" for c in COMPARTMENTS]
    n = scenario.cells["msc"].count
    counts = wide[cols].to_numpy() * n
    assert np.allclose(counts, np.round(counts), atol=1e-6)  # whole cells
    assert np.allclose(counts.sum(axis=1), n, atol=1e-6)  # conserved
    world = out.world
    pop = world.populations[0]
    in_tumour = int(round(wide["fraction_tumour"].iloc[-1] * n))
    assert in_tumour > 0
    assert pop.count == in_tumour  # every tumour cell is simulated in the tissue
    # cells entered where the tumour is (density-weighted voxels); they moved a little since
    entered = pop.start[:, :2]
    centre = 0.5 * (world.lo + world.hi)[:2]
    r = np.linalg.norm(entered - centre, axis=1)
    assert np.all(r <= scenario.assay.tumour_radius + world.grid.spacing * np.sqrt(2))
    # the homing readouts follow them
    assert wide["fraction_at_tumour"].iloc[-1] > 0.5


def test_intra_arterial_sends_more_cells_to_the_tumour_and_fewer_to_the_lungs(tmp_path):
    ends = {}
    for route in ("intravenous", "intra_arterial"):
        _, out = _run(tmp_path, ['assay.transitions="expected"', f'assay.route="{route}"'])
        ends[route] = _wide(out.metrics).iloc[-1]
    iv, ia = ends["intravenous"], ends["intra_arterial"]
    assert iv["fraction_lungs"] > 0.5  # most IV cells held in the lungs (fischer2009)
    assert ia["fraction_lungs"] < iv["fraction_lungs"]
    assert ia["fraction_tumour"] > 3 * iv["fraction_tumour"]


def test_cxcr4_over_expression_and_antagonist_change_capture(tmp_path):
    def capture(*overrides):
        _, out = _run(tmp_path, [*STATIC, 'assay.transitions="expected"', *overrides])
        return _wide(out.metrics)["capture_probability"].iloc[-1]

    base = capture()
    assert capture("cells.msc.expression={cxcr4=10.0}") > base
    assert capture('drugs.amd3100="1 ug/mL"') < base


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("assay.tumour_flow=0.9", "assay.tumour_flow"),
        ("assay.lung_trapping=1.5", "assay.lung_trapping"),
        ('assay.route="oral"', "assay.route"),
        ('assay.tumour_radius="300 um"', "assay.tumour_radius"),
        ("assay.capture_max=0.99", "assay.capture_max"),
        ('assay.lung_half_time="0 h"', "assay.lung_half_time"),
        ('assay.transitions="exact"', "assay.transitions"),
    ],
)
def test_bad_input_names_the_key(tmp_path, override, key):
    with pytest.raises(ScenarioError) as info:
        _spec(tmp_path, [override])
    assert info.value.key == key
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("mode", ["stochastic", "expected"])
def test_a_sample_of_the_arriving_cells_enters_the_window(tmp_path, mode):
    scenario, out = _run(
        tmp_path, ["assay.tissue_sample=0.25", f'assay.transitions="{mode}"'], keep_world=True
    )
    arrived = _wide(out.metrics)["fraction_tumour"].iloc[-1] * scenario.cells["msc"].count
    simulated = out.world.populations[0].count
    if mode == "expected":  # whole cells handed over, the fractional rest carried
        assert 0.25 * arrived - 2 < simulated <= 0.25 * arrived + 1e-6
    else:  # binomial thinning: within 5 standard deviations
        assert abs(simulated - 0.25 * arrived) <= 5 * np.sqrt(arrived * 0.25 * 0.75)
