"""Built-in systemic and therapy scenarios go the way the literature reports (reduced size).

- klopp2007: irradiating the tumour (1-2 Gy) raises the recruitment of IV-injected MSCs;
- fischer2009 / leerh2009: most IV MSCs are held in the lungs at first pass and the lung
  content halves in about a day; the intra-arterial route skips the lungs (sanchezdiaz2021)
  and sends more cells to the tumour;
- lien2009: MSCs over-expressing CXCR4 home more after IV injection;
- kim2010: TRAIL-secreting UCB-MSCs shrink a glioma, and with irradiation more than either
  treatment alone.
"""

from __future__ import annotations

import pytest

import tropism

# a smaller, coarser tissue window and longer steps: the same questions in a few seconds
WINDOW = [
    'assay.length="800 um"',
    'assay.width="800 um"',
    'assay.grid_spacing="40 um"',
    'assay.tumour_radius="200 um"',
    'numerics.dt="5 min"',
    'numerics.field_dt="5 min"',
    'numerics.tumour_dt="10 min"',
    "numerics.track_cells=0",
    "numerics.field_snapshots=false",
]


def _run(name, overrides, replicates=1, seed=None):
    study = tropism.load(name, [*WINDOW, *overrides], replicates=replicates, seed=seed)
    return study.run(workers=2)


def _end(result, readout, population="msc"):
    """Mean end-point value per condition."""
    m = result.metrics
    m = m[(m["readout"] == readout) & (m["population"] == population)]
    last = m[m["time"] == m["time"].max()]
    return last.groupby("condition")["value"].mean().to_dict()


def _at(result, readout, time, population="msc"):
    m = result.metrics
    m = m[(m["readout"] == readout) & (m["population"] == population) & (m["time"] == time)]
    return m.groupby("condition")["value"].mean().to_dict()


@pytest.mark.slow
def test_klopp2007_tumour_irradiation_recruits_more_circulating_msc():
    result = _run("msc-systemic-irradiation", [])
    tumour = _end(result, "fraction_tumour")
    capture = _end(result, "capture_probability")
    # expected transitions: the difference is the mechanism's, not counting noise
    assert tumour["2 Gy"] > tumour["1 Gy"] > tumour["sham"] > 0
    assert capture["2 Gy"] > capture["sham"]
    # most of the injected cells are in the lungs an hour after injection (fischer2009)
    assert min(_at(result, "fraction_lungs", 26 * 60).values()) > 0.8


@pytest.mark.slow
def test_fischer2009_lung_trapping_and_the_intra_arterial_route():
    result = _run("msc-systemic-lung-trapping", ["cells.msc.count=20000"], seed=5)
    lungs_1h = _at(result, "fraction_lungs", 60.0)
    lungs_25h = _at(result, "fraction_lungs", 25 * 60.0)
    iv, ia = "intravenous", "intra-arterial"
    assert lungs_1h[iv] > 0.8  # most IV cells held in the lungs at first pass
    assert lungs_1h[ia] < lungs_1h[iv]  # the arterial route skips them on the first pass
    # leerh2009: lung content halves in about 24 h
    assert lungs_25h[iv] / lungs_1h[iv] == pytest.approx(0.5, abs=0.05)
    tumour = _end(result, "fraction_tumour")
    assert tumour[ia] > 3 * tumour[iv] > 0
    fractions = [c for c in result.metrics["readout"].unique() if c.startswith("fraction_")]
    assert "fraction_cleared" in fractions


@pytest.mark.slow
def test_lien2009_cxcr4_over_expression_raises_homing_after_iv_injection():
    result = _run("msc-systemic-cxcr4", ["cells.msc.count=100000"], seed=5)
    tumour = _end(result, "fraction_tumour")
    capture = _end(result, "capture_probability")
    assert capture["CXCR4 x10"] > 1.3 * capture["unmodified"]
    assert tumour["CXCR4 x10"] > 1.3 * tumour["unmodified"]


@pytest.mark.slow
def test_kim2010_trail_msc_and_irradiation_beat_either_alone():
    result = tropism.load(
        "ucbmsc-trail-irradiation-glioma",
        [
            'assay.length="960 um"',
            'assay.width="960 um"',
            'assay.tumour_radius="200 um"',
            'assay.seed_r_min="260 um"',
            'assay.seed_r_max="420 um"',
            'scenario.duration="48 h"',
            'numerics.dt="2 min"',
            'numerics.field_dt="4 min"',
            'numerics.tumour_dt="20 min"',
            "numerics.track_cells=0",
            "numerics.field_snapshots=false",
            "cells.msc.count=100",
        ],
        replicates=1,
    ).run(workers=2)
    burden = _end(result, "tumour_burden", population="tumour")
    assert burden["TRAIL-MSC"] < 0.8 * burden["UCB-MSC"]  # TRAIL cells shrink the tumour
    assert burden["UCB-MSC"] == pytest.approx(burden["untreated"], rel=1e-6)
    assert burden["TRAIL-MSC + 2 Gy"] < burden["TRAIL-MSC"]  # combination beats either
    assert burden["TRAIL-MSC + 2 Gy"] < burden["2 Gy"]
    trail = _end(result, "tumour_trail", population="tumour")
    assert trail["TRAIL-MSC"] > 0.05 and trail["untreated"] == 0.0  # TRAIL reaches the tumour
    # the summary holds the burden relative to the untreated control over time
    relative = result.summary["relative_to_control"]
    assert relative["control"] == "untreated"
    ratio = relative["conditions"]["TRAIL-MSC + 2 Gy"]["ratio"]
    assert ratio[-1] == pytest.approx(burden["TRAIL-MSC + 2 Gy"] / burden["untreated"])
