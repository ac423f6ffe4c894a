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


# --- issue 3: the tumour microenvironment and the cell biology of homing ----------------------

SMALL_SPHEROID = ['assay.grid_spacing="40 um"', "numerics.track_cells=0", "numerics.workers=2"]


def _run(name, *extra, replicates=3):
    result = tropism.load(name, [*SMALL_SPHEROID, *extra], replicates=replicates).run()
    return {
        c["name"]: {k: v["mean"] for k, v in c["readouts"].items()}
        for c in result.summary["conditions"]
    }


@pytest.mark.slow
def test_cxcr4_overexpression_raises_homing():
    # lien2009: more CXCR4, more homing
    m = _run("msc-cxcr4-overexpression-glioma", "cells.msc.count=150")
    assert m["CXCR4 x10"]["fraction_at_tumour"] > 2 * m["unmodified"]["fraction_at_tumour"]


@pytest.mark.slow
def test_amd3100_lowers_homing_in_a_dose_dependent_way():
    # sutton2007, kioi2010: AMD3100 lowers homing; gupta2001: IC50 4.7 nM
    m = _run("msc-cxcr4-blockade-glioma", "cells.msc.count=150")
    control, low, high = (
        m[k]["fraction_at_tumour"] for k in ("control", "AMD3100 10 nM", "AMD3100 1 ug/mL")
    )
    assert high < low <= control
    assert high < 0.5 * control


@pytest.mark.slow
def test_hypoxic_preconditioning_raises_homing_and_amd3100_abolishes_the_gain():
    # tang2009, yu2015, liu2012: preconditioning raises CXCR4 and migration; yu2013: a CXCR4
    # antagonist abolishes the gain
    m = _run("msc-preconditioning-glioma", "cells.msc.count=200")
    normoxic, hypoxic, blocked = (
        m[k]["fraction_at_tumour"] for k in ("normoxic", "hypoxic 1% 24h", "hypoxic + AMD3100")
    )
    assert hypoxic > 1.2 * normoxic
    assert blocked < normoxic


def _irradiation(*extra, n=400):
    def ev(dose):
        return (
            f'{{events=[{{time="0 h", kind="irradiate", dose="{dose} Gy"}}, '
            f'{{time="24 h", kind="inject_cells", population="msc", count={n}}}]}}'
        )

    conditions = f'conditions=[{{name="sham", set={ev(0)}}}, {{name="8 Gy", set={ev(8)}}}]'

    return _run("glioma-irradiation-msc", conditions, *extra, replicates=2)


@pytest.mark.slow
def test_irradiation_raises_homing_and_its_secretion_response_raises_cxcl12():
    # tabatabai2006, kim2010, klopp2007: more cells reach an irradiated tumour; lerman2010,
    # tabatabai2006: irradiation raises CXCL12 secretion (here: the irradiation-response term)
    on = _irradiation()
    assert on["8 Gy"]["fraction_at_tumour"] > on["sham"]["fraction_at_tumour"]
    # tabatabai2006: CXCL12 up after 8 Gy, although the dose kills most clonogenic cells
    assert on["8 Gy"]["tumour_cxcl12"] > on["sham"]["tumour_cxcl12"]
    off = _irradiation("model.irradiation_response=false")
    # same seeds, same kill; only the secretion response differs
    assert on["8 Gy"]["tumour_cxcl12"] > 1.2 * off["8 Gy"]["tumour_cxcl12"]
    assert on["sham"] == off["sham"]  # no irradiation, no difference
