"""The Transwell and brain built-in scenarios go the way the literature reports (reduced size).

Directions only: parameters.md §11 gives no magnitudes for these experiments.

- msc-transwell-glioma-cm (xu2010, birnbaum2007, koizumi2011): glioma-conditioned medium
  attracts MSCs; neutralising its chemokines reduces migration.
- msc-transwell-ccl2 (dwyer2007): breast-tumour medium and MCP-1/CCL2 attract MSCs;
  neutralising CCL2 reduces it.
- msc-transwell-hypoxic-preconditioning (rosova2008, tang2009, yu2013): preconditioning at
  1 % O2 raises migration; AMD3100 abolishes it.
- hpc-transwell-irradiated-glioma-cm (tabatabai2006): supernatants of hypoxic or irradiated
  glioma attract more progenitors.
- nsc-intracranial-glioma (aboody2000): NSCs from each injection site reach the glioma;
  fibroblasts stay at the injection site.
"""

from __future__ import annotations

import pytest

import tropism

TRANSWELL_SMALL = [
    "scenario.replicates=2",
    "numerics.track_cells=0",
    "numerics.field_snapshots=false",
    'numerics.readout_interval="2 h"',
    'assay.width="100 um"',  # the field is uniform across the membrane
    'assay.depth="2000 um"',  # same cells per membrane area
]


def _means(name: str, extra=(), readout: str = "migrated_fraction") -> dict[str, float]:
    result = tropism.load(name, [*TRANSWELL_SMALL, *extra]).run(workers=2)
    return {c["name"]: c["readouts"][readout]["mean"] for c in result.summary["conditions"]}


@pytest.mark.slow
def test_glioma_conditioned_medium_attracts_msc_and_antibodies_reduce_it():
    m = _means("msc-transwell-glioma-cm")
    assert m["glioma CM"] > 4 * m["medium"]
    assert m["CM + anti-CXCL12"] < 0.8 * m["glioma CM"]
    assert m["CM + anti-CXCL12, IL-8, CCL2"] < 0.3 * m["glioma CM"]


@pytest.mark.slow
def test_ccl2_from_breast_tumour_medium_drives_msc_migration():
    m = _means("msc-transwell-ccl2")
    assert m["breast tumour CM"] > 4 * m["medium"]
    assert m["CCL2 50 ng/mL"] > 4 * m["medium"]
    assert m["CM + anti-CCL2"] < 0.9 * m["breast tumour CM"]


@pytest.mark.slow
def test_hypoxic_preconditioning_raises_migration_through_cxcr4():
    m = _means("msc-transwell-hypoxic-preconditioning")
    assert m["hypoxic 1% 24h"] > 1.1 * m["normoxic"]
    assert m["hypoxic + AMD3100"] < 0.3 * m["hypoxic 1% 24h"]


@pytest.mark.slow
def test_hypoxic_and_irradiated_glioma_media_attract_more_progenitors():
    m = _means("hpc-transwell-irradiated-glioma-cm", ["cells.hpc.count=3000"])
    assert m["glioma CM"] > 4 * m["medium"]
    assert m["hypoxic glioma CM (1 % O2)"] > m["glioma CM"]
    assert m["irradiated glioma CM (8 Gy)"] > 1.05 * m["glioma CM"]


BRAIN_SMALL = [
    'assay.grid_spacing="100 um"',
    'assay.length="4400 um"',
    'assay.width="3200 um"',
    'assay.brain_width="4000 um"',
    'assay.brain_height="2800 um"',
    'assay.tumour_x="1100 um"',
    'assay.tumour_y="-200 um"',
    'assay.tumour_radius="300 um"',
    'assay.ventricle_x="400 um"',
    'assay.ventricle_y="200 um"',
    'assay.ventricle_width="200 um"',
    'assay.ventricle_height="600 um"',
    'assay.callosum_y="500 um"',
    'assay.callosum_thickness="200 um"',
    'assay.callosum_half_length="1000 um"',
    'assay.injection_distance="800 um"',
    'scenario.duration="3 d"',
    "scenario.replicates=1",
    "numerics.track_cells=0",
    "numerics.field_snapshots=false",
    'numerics.readout_interval="24 h"',
]


@pytest.mark.slow
def test_nsc_reach_an_intracranial_glioma_and_fibroblasts_stay():
    result = tropism.load("nsc-intracranial-glioma", BRAIN_SMALL).run(workers=2)
    ends = {c["name"]: c["readouts"] for c in result.summary["conditions"]}
    fib = ends["fibroblasts, contralateral"]
    assert fib["fraction_at_tumour"]["mean"] == 0.0
    assert fib["distance_travelled"]["mean"] < 250.0
    for site in ("NSC contralateral", "NSC ipsilateral", "NSC intraventricular"):
        nsc = ends[site]
        assert nsc["fraction_at_tumour"]["mean"] > 0.1, site
        assert nsc["edge_distance"]["mean"] < fib["edge_distance"]["mean"] - 700.0, site
        assert nsc["distance_travelled"]["mean"] > 2 * fib["distance_travelled"]["mean"], site
