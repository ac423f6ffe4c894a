"""The built-in scenario's outcome goes the way the literature reports (at reduced size).

choamsc: MSCs in a CXCL12 gradient migrate up it (FMI ~0.19) and without one do not
(FMI ~0); sutton2007 / gupta2001: AMD3100 at 1 ug/mL (~2 uM, ~400x the chemotaxis IC50)
strongly inhibits CXCL12-driven migration.
"""

import pytest

import tropism


@pytest.mark.slow
def test_cxcl12_drives_migration_up_the_gradient_and_amd3100_blocks_it():
    result = tropism.load(
        "msc-gradient-cxcl12",
        ["cells.msc.count=150", 'scenario.duration="6 h"', "numerics.track_cells=0"],
        replicates=4,
        seed=7,
    ).run(workers=2)
    s = result.summary
    mean = {c["name"]: c["readouts"]["fmi"]["mean"] for c in s["conditions"]}
    comp = {c["condition"]: c for c in s["comparisons"] if c["readout"] == "fmi"}
    control, cxcl12, amd = "no chemokine", "CXCL12 100 ng/mL", "CXCL12 + AMD3100 1 ug/mL"
    # random motion: FMI indistinguishable from 0 (95 % CI contains 0)
    ci = next(c for c in s["conditions"] if c["name"] == control)["readouts"]["fmi"]
    assert ci["ci_low"] < 0 < ci["ci_high"]
    # gradient: clearly up the gradient, significant against the control
    assert mean[cxcl12] > 0.05
    assert comp[cxcl12]["p_value"] < 0.01
    # AMD3100 takes most of the effect away (drive x 1/(1 + 1989/4.7) ~ 0.24 %)
    assert mean[amd] < 0.25 * mean[cxcl12]
