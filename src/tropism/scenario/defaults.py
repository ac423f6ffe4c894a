"""Default parameters, each with its source.

Every default is a :class:`Param`: the value in engine units, the kind of quantity
(see :data:`tropism.units.KINDS`; ``None`` for plain numbers, names and switches) and
its source. A source is a key from ``docs/references.md`` or ``docs/parameters.md``
(optionally followed by a note), or a text that starts with ``"assumed:"`` or
``"derived:"`` and gives the reason.

The loader attaches a source to every resolved value with :func:`default_source`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tropism.units import format_quantity

__all__ = [
    "MODEL",
    "TUMOUR_KINDS",
    "ASSAY_DEFAULTS",
    "CELL_KINDS",
    "DEFAULT_SOURCES",
    "DERIVED_SOURCES",
    "DRUGS",
    "META",
    "NUMERICS",
    "Param",
    "RECEPTORS",
    "SPECIES",
    "default_source",
    "input_values",
]


@dataclass(frozen=True)
class Param:
    """A default value with its unit kind and source.

    Attributes
    ----------
    value
        In engine units (um, min, nM, ...) for quantities; otherwise the plain value.
    unit_kind
        Kind of quantity (``"time"``, ``"concentration"``, ...) or ``None``.
    source
        Reference key (``"disalvo2000"``), or ``"assumed: <reason>"`` /
        ``"derived: <calculation>"``.
    """

    value: Any
    unit_kind: str | None
    source: str

    def as_input(self) -> Any:
        """The value as a scenario file writes it (quantities as strings with units)."""
        if self.unit_kind is None:
            return dict(self.value) if isinstance(self.value, Mapping) else self.value
        return format_quantity(self.value, self.unit_kind)


def input_values(table: Mapping[str, Param]) -> dict[str, Any]:
    """A table of :class:`Param` as scenario-file input (``{name: as_input()}``)."""
    return {name: p.as_input() for name, p in table.items()}


# --- [scenario] -------------------------------------------------------------------------

META: dict[str, Param] = {
    "description": Param("", None, "assumed: no description given"),
    "replicates": Param(4, None, "assumed: a typical number of wells or chambers per condition"),
    "seed": Param(0, None, "assumed: a fixed seed, so that runs are reproducible"),
    "dimensions": Param(2, None, "assumed: a 2-D well or channel floor, as in most assays"),
}

# --- [numerics] -------------------------------------------------------------------------

NUMERICS: dict[str, Param] = {
    "dt": Param(0.5, "time", "assumed: motility step 0.5 min << persistence time (5 min)"),
    "field_dt": Param(
        1.0,
        "time",
        "assumed: implicit diffusion is stable at any step; 1 min << channel equilibration "
        "L^2/D = (1 mm)^2 / 1.2e4 um^2/min = 83 min",
    ),
    "readout_interval": Param(30.0, "time", "assumed: 24 readouts over a 12 h assay"),
    "track_cells": Param(
        50, None, "assumed: enough tracks per replicate for FMI statistics, small on disk"
    ),
    "track_interval": Param(5.0, "time", "assumed: a typical time-lapse frame interval"),
    "field_snapshots": Param(True, None, "assumed: keep field snapshots for the report"),
    "workers": Param(0, None, "assumed: use all cores (results do not depend on it)"),
    "tumour_dt": Param(
        10.0,
        "time",
        "assumed: oxygen, HIF and tumour density change over hours; updated every 10 min",
    ),
}

# --- [assay] per assay template -----------------------------------------------------------

ASSAY_DEFAULTS: dict[str, dict[str, Param]] = {
    "gradient": {
        "length": Param(
            1000.0, "length", "assumed: a 1 mm channel between the reservoirs, typical device"
        ),
        "width": Param(1000.0, "length", "assumed: a square field of view"),
        "depth": Param(100.0, "length", "assumed: a typical channel height (3-D only)"),
        "grid_spacing": Param(
            20.0,
            "length",
            "assumed: 20 um (one cell length) resolves a 1 mm channel with 50 voxels",
        ),
        "initial": Param("steady", None, "assumed: gradient established before tracking starts"),
    },
}

ASSAY_DEFAULTS["spheroid"] = {
    "length": Param(2000.0, "length", "assumed: a 2 mm field around the tumour"),
    "width": Param(2000.0, "length", "assumed: a square field"),
    "depth": Param(
        20.0,
        "length",
        "assumed: in 2-D, the thickness of the simulated layer (one cell, ~20 um) used to "
        "turn molecules into concentrations; in 3-D the z extent",
    ),
    "grid_spacing": Param(20.0, "length", "assumed: one cell length"),
    "tumour_radius": Param(300.0, "length", "assumed: a typical spheroid (600 um across)"),
    "tumour_kind": Param("glioma", None, "assumed: glioma, the main target (namba2010)"),
    "seed_r_min": Param(
        400.0, "length", "assumed: cells seeded 100-400 um from the tumour edge"
    ),
    "seed_r_max": Param(700.0, "length", "assumed: cells seeded 100-400 um from the tumour edge"),
    "boundary": Param(
        "sink",
        None,
        "assumed: the surrounding medium is a large sink for chemokines (fixed value 0)",
    ),
    "boundary_o2": Param(
        149.73, "oxygen", "derived: 21 % O2 incubator at 37 C (parameters.md §1)"
    ),
    "o2_diffusion": Param(
        1.2e5,
        "diffusivity",
        "webo2diffusion (soft tissue 2e-5 cm^2/s, typical, assumed; parameters.md §8, §13)",
    ),
    "margin": Param(
        50.0,
        "length",
        "assumed: cells within 50 um (2-3 cell diameters) of the edge count as at the tumour",
    ),
    "initial": Param(
        "steady", None, "assumed: the tumour secreted for days before the cells arrive"
    ),
}

_CIRCULATION_TIME = (
    "mouse blood volume ~1.8 mL over a cardiac output ~14 mL/min: one circulation ~8 s "
    "(typical physiology; GAP in parameters.md); the value hardly matters, the blood empties "
    "into the organs within minutes"
)
ASSAY_DEFAULTS["systemic"] = {
    "route": Param(
        "intravenous",
        None,
        "klopp2007 (tail-vein injection); 'intra_arterial' skips the lungs (sanchezdiaz2021)",
    ),
    "transitions": Param(
        "stochastic",
        None,
        "assumed: every cell moves at random, so counts vary between replicates as between "
        "animals; 'expected' gives the deterministic expected numbers",
    ),
    "venous_transit": Param(0.09, "time", "assumed: 70 % of one circulation; " + _CIRCULATION_TIME),
    "arterial_transit": Param(
        0.04, "time", "assumed: 30 % of one circulation; " + _CIRCULATION_TIME
    ),
    "lung_trapping": Param(
        0.9,
        None,
        "fischer2009 (most IV MSCs held in the lungs at first pass; leerh2009: most lodged as "
        "emboli); 0.9 per lung pass assumed",
    ),
    "lung_half_time": Param(
        1440.0, "time", "leerh2009 (lung content t1/2 about 24 h, parameters.md §14.6)"
    ),
    "lung_release": Param(
        0.1,
        None,
        "assumed: eggenhofer2012 recovered viable MSCs from the lungs up to 24 h and none from "
        "other organs, so most die in place; 10 % leave alive (GAP)",
    ),
    "liver_flow": Param(
        0.25,
        None,
        "assumed: liver and spleen receive about a quarter of the cardiac output (typical "
        "physiology)",
    ),
    "liver_capture": Param(
        0.5,
        None,
        "assumed: half the cells passing the liver/spleen sinusoids are held (sanchezdiaz2021, "
        "kidd2009: liver and spleen after the lungs); GAP",
    ),
    "liver_half_time": Param(
        360.0,
        "time",
        "assumed: eggenhofer2012 found no viable MSCs outside the lungs (5 min-72 h): cells "
        "held in liver/spleen are cleared within hours",
    ),
    "tumour_flow": Param(
        0.02,
        None,
        "assumed: a 0.5 g tumour (2 % of a 25 g mouse) perfused like the average tissue; GAP",
    ),
    "other_capture": Param(
        0.02,
        None,
        "assumed: leerh2009 found < 0.05 % of IV MSCs in six other tissues; 2 % held per "
        "pass; also the tumour's chemokine-independent capture",
    ),
    "other_half_time": Param(
        720.0,
        "time",
        "assumed: eggenhofer2012 (no viable MSCs in other organs); cleared over ~12 h",
    ),
    "capture_max": Param(
        0.5,
        None,
        "assumed: chemokine-triggered arrest and extravasation holds at most half the cells "
        "passing the tumour; GAP (parameters.md §14.6: fraction of the dose reaching a tumour)",
    ),
    "capture_half_signal": Param(
        1000.0,
        None,
        "assumed: half-maximal capture with 1000 signalling receptors bound per cell (half "
        "of an MSC's CXCR4 at a Kd of CXCL12); GAP",
    ),
    "tissue_sample": Param(
        0.1,
        None,
        "assumed: the simulated window is a small part of the perfused tumour; a tenth of the "
        "cells that reach the tumour are simulated in it (enough to follow their homing, few "
        "enough that their chemokine uptake barely changes the window's levels)",
    ),
    # the tissue window around the tumour: as the spheroid assay's field
    **{
        key: p
        for key, p in ASSAY_DEFAULTS["spheroid"].items()
        if key not in ("seed_r_min", "seed_r_max", "tumour_radius", "boundary", "boundary_o2")
    },
    "tumour_radius": Param(
        300.0,
        "length",
        "assumed: the simulated tissue is a window on a 600 um wide region of the tumour, as "
        "the spheroid assay's; its perfusion is tumour_flow",
    ),
    "boundary": Param(
        "sink",
        None,
        "assumed: the tissue around the window clears chemokines (fixed value 0 at its faces)",
    ),
    "boundary_o2": Param(
        149.73,
        "oxygen",
        "assumed: the tumour's vessels are not simulated, so oxygen comes from the faces of the "
        "tissue window at the spheroid assay's level; the tumour core turns hypoxic, as "
        "gliomas are (lally2006, median 5 mmHg)",
    ),
}

# --- transwell (assays/transwell.py) -------------------------------------------------------

_STOKES = (
    "derived: Stokes settling 2 drho g r^2 / (9 mu) = 2 x 50 kg/m^3 x 9.81 m/s^2 x (10 um)^2 "
    "/ (9 x 0.78 mPa s) = 14 um/s; cell radius 10 um (suspended MSC 15-30 um, parameters.md "
    "§10, typical), density excess 50 kg/m^3 and medium viscosity 0.78 mPa s assumed (typical)"
)
ASSAY_DEFAULTS["transwell"] = {
    "width": Param(
        200.0,
        "length",
        "assumed: a 0.2 mm strip of membrane (the field is uniform across it); cells per "
        "membrane area = count / (width x depth)",
    ),
    "depth": Param(
        1000.0,
        "length",
        "assumed: in 3-D the z extent; in 2-D the thickness the slice stands for (500 cells "
        "on 0.2 mm x 1 mm = 2.5e5 /cm^2, within usual seeding densities, 0.5-3e5 /cm^2)",
    ),
    "upper_height": Param(
        3000.0,
        "length",
        "derived: 100 uL in a 24-well insert of 0.33 cm^2 stands 3.0 mm (typical volumes, "
        "assumed)",
    ),
    "lower_height": Param(
        1000.0,
        "length",
        "assumed: a 24-well insert hangs about 1 mm above the well floor (typical vendor "
        "geometry)",
    ),
    "grid_spacing": Param(
        20.0, "length", "assumed: one cell length; the membrane takes one voxel row"
    ),
    "membrane_thickness": Param(
        10.0,
        "length",
        "neuroprobefilters (polycarbonate track-etch, 6-10 um nominal; parameters.md §7, §14.7)",
    ),
    "pore_diameter": Param(8.0, "length", "scd2005transwell (8 um pores for MSC, §7)"),
    "pore_density": Param(
        1.0e-3, "per_area", "neuroprobefilters (8 um pores: 1e5 /cm^2 = 1e3 /mm^2, §14.7)"
    ),
    "lower_boundary": Param(
        "reservoir",
        None,
        "assumed: the lower well's 600 uL around the insert (6x the upper volume) holds the "
        "floor of the simulated column at its starting concentration; 'closed': no flux",
    ),
    "settling_speed": Param(838.0, "speed", _STOKES),
    "attachment_time": Param(
        30.0,
        "time",
        "assumed: cells that landed attach and spread on the membrane within about 30 min "
        "(typical); GAP",
    ),
    "basal_passage": Param(
        0.01,
        None,
        "assumed: 1 % of pore encounters end in passage without a chemotactic drive "
        "(random migration through the membrane); % crossing is a GAP (parameters.md §14.7)",
    ),
    "max_passage": Param(
        0.2,
        None,
        "assumed: at most 20 % of pore encounters end in passage at full downward drive; "
        "GAP (parameters.md §14.7)",
    ),
    "conditioned_medium.tumour_kind": Param(
        "glioma", None, "assumed: glioma cells make the medium (xu2010, tabatabai2006)"
    ),
    "conditioned_medium.duration": Param(
        1440.0, "time", "assumed: supernatant collected after 24 h of conditioning (typical)"
    ),
    "conditioned_medium.o2": Param(
        149.73, "oxygen", "derived: 21 % O2 incubator at 37 C (parameters.md §1)"
    ),
    "conditioned_medium.dose": Param(0.0, "dose", "assumed: cells not irradiated"),
    "conditioned_medium.cell_layer": Param(
        10.0, "length", "assumed: a confluent monolayer about 10 um thick (typical)"
    ),
    "conditioned_medium.medium_height": Param(
        1330.0,
        "length",
        "derived: 10 mL of medium over a 75 cm^2 flask stands 1.33 mm (typical volumes, "
        "assumed)",
    ),
    "conditioned_medium.fraction": Param(
        1.0, None, "assumed: conditioned medium used undiluted in the lower well"
    ),
}

# --- intracranial (assays/intracranial.py) ---------------------------------------------------

_MOUSE = (
    "assumed: schematic coronal section of an adult mouse brain at the level of the "
    "striatum and lateral ventricles (typical anatomy; aboody2000 used adult rodents)"
)
ASSAY_DEFAULTS["intracranial"] = {
    "length": Param(8400.0, "length", _MOUSE + "; the box holds the brain with a margin"),
    "width": Param(5900.0, "length", _MOUSE + "; the box holds the brain with a margin"),
    "depth": Param(
        20.0,
        "length",
        "assumed: the thickness of the simulated layer (one cell, ~20 um) used to turn "
        "molecules into concentrations",
    ),
    "grid_spacing": Param(50.0, "length", "assumed: 50 um resolves ventricles and the callosum"),
    "brain_width": Param(8000.0, "length", _MOUSE),
    "brain_height": Param(5500.0, "length", _MOUSE),
    "fissure_width": Param(
        100.0, "length", _MOUSE + "; the longitudinal fissure above the corpus callosum"
    ),
    "callosum_y": Param(900.0, "length", _MOUSE + "; callosum centre above the brain centre"),
    "callosum_thickness": Param(250.0, "length", _MOUSE),
    "callosum_half_length": Param(2000.0, "length", _MOUSE + "; lateral reach from the midline"),
    "callosum_speed_factor": Param(
        3.0,
        None,
        "assumed: white-matter vs grey-matter speed factor is a GAP (parameters.md §5); "
        "aboody2000 saw NSCs cross along the corpus callosum; 3-fold chosen",
    ),
    "ventricle_x": Param(700.0, "length", _MOUSE + "; ventricle centre from the midline"),
    "ventricle_y": Param(300.0, "length", _MOUSE + "; ventricle centre above the brain centre"),
    "ventricle_width": Param(300.0, "length", _MOUSE),
    "ventricle_height": Param(1100.0, "length", _MOUSE),
    "tumour_x": Param(
        2200.0, "length", "assumed: a glioma in the right striatum (offset from the midline)"
    ),
    "tumour_y": Param(
        -300.0, "length", "assumed: a glioma in the right striatum (offset from the centre)"
    ),
    "tumour_radius": Param(400.0, "length", "assumed: an established intracranial glioma"),
    "tumour_kind": Param("glioma", None, "aboody2000 (intracranial glioma)"),
    "injection_site": Param(
        "contralateral",
        None,
        "aboody2000 (NSCs injected into the opposite hemisphere cross to the glioma)",
    ),
    "injection_distance": Param(
        1500.0,
        "length",
        "assumed: an ipsilateral injection 1.5 mm from the tumour centre (aboody2000 injected "
        "caudal to it in the same hemisphere)",
    ),
    "injection_radius": Param(
        150.0, "length", "assumed: the injected bolus spreads ~0.3 mm across the needle track"
    ),
    "margin": Param(
        50.0,
        "length",
        "assumed: cells within 50 um (2-3 cell diameters) of the edge count as at the tumour",
    ),
    "tortuosity": Param(
        1.57,
        None,
        "rusakov1998 (brain extracellular space, linear flux; D_tissue = D / tortuosity^2, "
        "parameters.md §2)",
    ),
    "tissue_clearance": Param(
        0.002,
        "rate",
        "assumed: chemokine cleared from brain tissue (uptake, binding, drainage) with a "
        "half-life of ~6 h; tissue decay is a GAP (parameters.md §12)",
    ),
    "tissue_o2": Param(
        15.3,
        "oxygen",
        "cruickshank1994 (normal white matter median 15.3 mmHg, parameters.md §8): the pO2 "
        "tissue relaxes to without tumour, and at the brain's outline",
    ),
    "o2_supply_rate": Param(
        72.7,
        "rate",
        "derived: the vascular exchange that holds dense tumour (u = 1, consumption 800 "
        "mmHg/min, secomb1995; Km 0.4 mmHg, scandurra2010) at the median glioma pO2 of 5.1 "
        "mmHg (lally2006) against tissue at 15.3 mmHg (cruickshank1994): "
        "800 x (5.1 / 5.5) / (15.3 - 5.1) = 72.7 /min",
    ),
    "o2_diffusion": Param(
        1.2e5,
        "diffusivity",
        "webo2diffusion (soft tissue 2e-5 cm^2/s, typical, assumed; parameters.md §8, §13)",
    ),
    "initial": Param(
        "steady", None, "assumed: the tumour secreted for days before the cells were injected"
    ),
}

#: Sources of values the loader computes from others (not fixed numbers).
DERIVED_SOURCES: dict[str, str] = {
    "tumour.kind": "derived: the assay's tumour kind (assay.tumour_kind, or the tumour that "
    "made the Transwell's conditioned medium)",
    "assay.seed_x_min": "derived: length/4 (assumed: cells seeded in the middle half)",
    "assay.seed_x_max": "derived: 3*length/4 (assumed: cells seeded in the middle half)",
    "assay.sink": "assumed: the sink reservoir holds none of a chemokine unless given (0 nM)",
    "events.x_min": "derived: 0 (assumed: injected across the whole channel)",
    "events.x_max": "derived: channel length (assumed: injected across the whole channel)",
    "events.washin": "assumed: instant wash-in unless given",
    "events.region": "assumed: the whole field is irradiated unless a region is given",
    "cells.preconditioning.reoxygenation": "assumed: cells used straight from hypoxia",
}

# --- [fields.<species>] --------------------------------------------------------------------

_NO_PROTEASE = (
    "assumed: no DPP4/serum protease in serum-free assay medium; serum rate 0.018/min "
    "is sdf1dpp4assay"
)

SPECIES: dict[str, dict[str, Param]] = {
    "cxcl12": {
        "diffusion": Param(1.2e4, "diffusivity", "derived: Stokes-Einstein, parameters.md §2"),
        "decay": Param(0.0, "rate", _NO_PROTEASE),
    },
    "ccl2": {
        "diffusion": Param(
            1.2e4,
            "diffusivity",
            "assumed: as CXCL12 (similar size, 8.7 vs 8 kDa); no measured D (parameters.md §2)",
        ),
        "decay": Param(0.0, "rate", "assumed: no protease in serum-free assay medium"),
    },
    "il8": {
        "diffusion": Param(
            1.2e4,
            "diffusivity",
            "assumed: as CXCL12 (similar size, 8.4 vs 8 kDa); no measured D (parameters.md §2)",
        ),
        "decay": Param(0.0, "rate", "assumed: no protease in serum-free assay medium"),
    },
}

SPECIES["tgfb"] = {
    "diffusion": Param(
        6.0e3,
        "diffusivity",
        "assumed: TGF-beta1 dimer (25 kDa) diffuses about half as fast as CXCL12 "
        "(Stokes-Einstein, radius ~ M^(1/3)); no measured D in parameters.md",
    ),
    "decay": Param(
        0.01, "rate", "assumed: activity lost over ~1.5 h (latent complex, uptake); GAP"
    ),
}
SPECIES["trail"] = {
    "diffusion": Param(
        6.0e3, "diffusivity", "assumed: soluble TRAIL trimer (~60 kDa), as TGF-beta; GAP"
    ),
    "decay": Param(0.005, "rate", "assumed: protein half-life ~2 h in medium; GAP"),
}
for _table in SPECIES.values():
    _table.setdefault(
        "antibody_kon",
        Param(
            0.06,
            "per_conc_time",
            "assumed: antibody-antigen association 1e6 /M/s (typical); a neutralising "
            "antibody at [A] removes free ligand at kon [A] (first order, A in excess)",
        ),
    )

# --- [receptors.<receptor>] ----------------------------------------------------------------

RECEPTORS: dict[str, dict[str, Param]] = {
    "cxcr4": {
        "ligand": Param("cxcl12", None, "disalvo2000"),
        "kd": Param(4.5, "concentration", "disalvo2000 (competition binding, parameters.md §3)"),
        "chemotactic": Param(
            True, None, "sutton2007 (CXCL12 drives migration through CXCR4; AMD3100 blocks)"
        ),
    },
    "cxcr7": {
        "ligand": Param("cxcl12", None, "drury2011"),
        "kd": Param(28.0, "concentration", "drury2011 (125I-CXCL12 displacement, §3)"),
        "chemotactic": Param(False, None, "burns2006 (no Ca2+ flux, no migration)"),
    },
    "ccr2": {
        "ligand": Param("ccl2", None, "yoshimura1990"),
        "kd": Param(1.9, "concentration", "yoshimura1990 (monocytes, Scatchard, §14.3)"),
        "chemotactic": Param(
            True, None, "dwyer2007 (CCL2 drives MSC migration); klopp2007 (CCR2 block)"
        ),
    },
    "cxcr1": {
        "ligand": Param("il8", None, "leej1992"),
        "kd": Param(2.0, "concentration", "leej1992 (transfected cells, §14.3)"),
        "chemotactic": Param(True, None, "kim2011 (CXCR1 knock-down lowers MSC migration)"),
    },
}

_KIN_CXCR4 = {
    "k_int": Param(
        0.14,
        "rate",
        "signoret1997 (CXCR4 leaves the surface with t1/2 ~5 min after SDF-1, derived §14.3)",
    ),
    "k_deg": Param(0.01, "rate", "signoret1997 (basal endocytosis 1 %/min, §14.3)"),
    "scavenger": Param(False, None, "burns2006 (CXCR4 signals; it is not a scavenger)"),
    "recycle": Param(
        0.9,
        None,
        "assumed: most ligand-internalised CXCR4 returns to the surface (pelekanos2014: "
        "endosomal recycling, return rate 0.04/min); the recycled fraction is a GAP",
    ),
}
RECEPTORS["cxcr4"].update(_KIN_CXCR4)
RECEPTORS["cxcr7"].update(
    {
        "k_int": Param(
            0.14, "rate", "assumed: as CXCR4 ligand-induced uptake; CXCR7 rates are a GAP"
        ),
        "k_deg": Param(0.01, "rate", "assumed: as CXCR4 basal turnover"),
        "scavenger": Param(
            True,
            None,
            "naumann2010 (CXCR7 cycles constitutively and degrades CXCL12; first order)",
        ),
        "recycle": Param(1.0, None, "naumann2010 (a scavenger: the receptor cycles back)"),
    }
)
for _r in ("ccr2", "cxcr1"):
    RECEPTORS[_r].update(
        {
            "k_int": Param(0.14, "rate", "assumed: as CXCR4 (signoret1997); GAP for " + _r),
            "k_deg": Param(0.01, "rate", "assumed: as CXCR4 (signoret1997); GAP for " + _r),
            "scavenger": Param(False, None, "assumed: a signalling receptor"),
            "recycle": Param(0.9, None, "assumed: as CXCR4"),
        }
    )

# --- [pharmacology.<drug>] -----------------------------------------------------------------

DRUGS: dict[str, dict[str, Param]] = {
    "amd3100": {
        "target": Param("cxcr4", None, "gupta2001"),
        "ic50": Param(
            4.7, "concentration", "gupta2001 (SDF-1a-driven chemotaxis IC50, parameters.md §4)"
        ),
        "ki": Param(
            15200.0, "concentration", "gupta2001 (displacement of 125I-SDF-1a, 15.2 uM, §4)"
        ),
    },
}

DRUGS["ccr2_antagonist"] = {
    "target": Param("ccr2", None, "klopp2007 (CCR2 inhibition cuts MSC migration)"),
    "ic50": Param(
        100.0,
        "concentration",
        "assumed: a generic CCR2 antagonist; no IC50 in parameters.md (klopp2007 gives the "
        "direction only)",
    ),
    "ki": Param(100.0, "concentration", "assumed: competitive, binding as function"),
}

# --- [cells.<population>] by cell kind ------------------------------------------------------

_MSC: dict[str, Param] = {
    "receptors": Param(
        {"cxcr4": 2000.0, "cxcr7": 5000.0, "ccr2": 1000.0, "cxcr1": 500.0},
        None,
        "assumed: receptor numbers per MSC are a GAP (§14.3); CXCR4/CXCR7 from the DESIGN.md "
        "sketch; CCR2 (klopp2007, pavon2018) and CXCR1 (kim2009a) present, numbers assumed",
    ),
    "receptor_cv": Param(0.5, None, "assumed: log-normal spread; donor spread 2-5 fold, lee1999"),
    "speed": Param(0.2, "speed", "choamsc (derived path speed, parameters.md §14.1)"),
    "persistence": Param(
        5.0, "time", "assumed: GAP in parameters.md §5; order of fibroblast-like cells"
    ),
    "chemotactic_speed": Param(
        0.235,
        "speed",
        "assumed: calibrated so that the built-in msc-gradient-cxcl12 (CXCL12 100 ng/mL, "
        "12 h, receptor kinetics on) gives FMI 0.19, the value choamsc measured "
        "(0.19 +/- 0.08); the other sensing constants are assumed, so this is a fitted "
        "effective value",
    ),
    "half_max_signal": Param(
        10.0, None, "assumed: placeholder scale of the sensed signal, calibrated with the drift"
    ),
    "cell_length": Param(
        20.0,
        "length",
        "assumed: typical cell length (parameters.md §1 gradient threshold row, spinosa2017)",
    ),
    "sensing_noise": Param(
        True, None, "assumed: receptor binding noise on (endres2009: sensing is noise-limited)"
    ),
    "noise_scale": Param(1.0, None, "assumed: binding noise at its nominal size"),
    "expression": Param(
        {}, None, "assumed: no over-expression or knock-down (fold 1 for every receptor)"
    ),
    "preconditioning": Param(
        None, None, "assumed: cells cultured at 21 % O2 (rosova2008: MSCs are cultured at 21 %)"
    ),
    "precondition_receptor_fold": Param(
        2.0,
        None,
        "assumed: hypoxic preconditioning raises CXCR4 and CXCR7 (tang2009; yu2013; yu2015; "
        "liu2012); the fold change is a GAP (parameters.md §3), 2-fold chosen",
    ),
    "precondition_speed_fold": Param(
        1.3,
        None,
        "assumed: preconditioning raises MSC motility (rosova2008); magnitude a GAP, 1.3 chosen",
    ),
    "precondition_tau_rise": Param(
        720.0, "time", "assumed: induction over ~12 h of hypoxia (tabatabai2006 used 12 h); GAP"
    ),
    "precondition_tau_decay": Param(
        1440.0, "time", "assumed: gain lost over ~1 d back in normoxia; GAP (parameters.md §8)"
    ),
    "precondition_threshold": Param(
        7.13,
        "oxygen",
        "tabatabai2006 (1 % O2 ~ 7 mmHg induces the HIF response); Hill form assumed",
    ),
    "chemokinesis": Param(
        0.0,
        None,
        "assumed: chemokinesis gain is a GAP (parameters.md §5); 0 = off unless set "
        "(speed x (1 + gain x mean signalling occupancy))",
    ),
    "arrest_rate": Param(
        0.005,
        "rate",
        "assumed: GAP (parameters.md §12); engraftment within a few hours in dense tumour "
        "(rate x tumour density)",
    ),
    "secretion": Param(
        {}, None, "assumed: unmodified cells secrete nothing into the simulated fields"
    ),
    "mechanics": Param(
        False,
        None,
        "assumed: off; sparse cells in migration assays rarely touch (switch on for crowding)",
    ),
    "radius": Param(
        10.0,
        "length",
        "assumed: suspended MSC diameter 15-30 um (parameters.md §10); spread cells on a "
        "surface ~20 um across",
    ),
    "repulsion": Param(
        10.0,
        "speed",
        "assumed: push speed at full overlap; PhysiCell's default cell-cell repulsion "
        "strength is 10 um/min (no measured value for MSCs)",
    ),
}


def _as_msc(table: Mapping[str, Param]) -> dict[str, Param]:
    return {
        k: Param(p.value, p.unit_kind, f"assumed: as msc until sourced; {p.source}")
        for k, p in table.items()
    }


CELL_KINDS: dict[str, dict[str, Param]] = {
    "msc": _MSC,
    "msc-ucb": _as_msc(_MSC),
    "nsc": _as_msc(_MSC),
    "hpc": _as_msc(_MSC),
}
CELL_KINDS["msc-ucb"]["receptors"] = Param(
    {"cxcr4": 2000.0, "cxcr7": 5000.0, "ccr2": 1000.0, "cxcr1": 5000.0},
    None,
    "kim2009a (CXCR1/CXCR2 much higher on UCB-MSC than BM-MSC; 10-fold assumed); others as msc "
    "(assumed)",
)
CELL_KINDS["fibroblast"] = {
    **{
        k: Param(p.value, p.unit_kind, f"assumed: as msc (control cells); {p.source}")
        for k, p in _MSC.items()
    },
    "receptors": Param(
        {},
        None,
        "assumed: control fibroblasts carry no chemokine receptor the model reads (aboody2000: "
        "fibroblasts never left the injection site)",
    ),
    "speed": Param(
        0.67,
        "speed",
        "kim2009b (3T3 fibroblasts, max 2-D speed ~40 um/h on nano-grooves, parameters.md §5)",
    ),
    "chemotactic_speed": Param(0.0, "speed", "assumed: no chemokine receptors, no drift"),
}

# --- [tumour] by tumour kind -----------------------------------------------------------------

_GLIOMA: dict[str, Param] = {
    "growth_rate": Param(
        3.0e-4,
        "rate",
        "assumed: doubling ~1.6 d, typical of glioma lines in vitro; GAP in parameters.md",
    ),
    "growth_po2_half": Param(
        2.5, "oxygen", "assumed: growth halves near the radioresistance threshold "
        "(reviewhypoxiathresholds, < 2.5 mmHg)"
    ),
    "necrosis_po2": Param(0.5, "oxygen", "assumed: anoxia, below the respiration Km (0.4 mmHg)"),
    "necrosis_rate": Param(1.0e-3, "rate", "assumed: anoxic cells die over ~17 h; GAP"),
    "o2_consumption": Param(
        800.0, "o2_rate", "secomb1995 (2.4 mL O2/100 g/min, derived 800 mmHg/min, §8)"
    ),
    "o2_km": Param(0.4, "oxygen", "scandurra2010 (p50 of respiration, §14.4)"),
    "hypoxia_threshold": Param(
        7.13,
        "oxygen",
        "tabatabai2006 (1 % O2 ~ 7 mmHg for 12 h induces glioma CXCL12); Hill form assumed",
    ),
    "hypoxia_hill": Param(4.0, None, "assumed: a steep switch around the threshold"),
    "hif_tau": Param(
        120.0,
        "time",
        "cmbl2022hifswitch (HIF-1 peaks at 4 h of hypoxia); first-order time constant 2 h "
        "assumed",
    ),
    "hif_tgfb_gain": Param(
        1.0,
        None,
        "assumed: TGF-beta drives HIF-1alpha as strongly as full hypoxia (tabatabai2006: both "
        "needed); magnitude GAP",
    ),
    "hif_tgfb_half": Param(
        0.5,
        "concentration",
        "assumed: half effect at ~12 ng/mL TGF-beta (0.5 nM), above the basal level so "
        "that a rise in TGF-beta after irradiation is felt; GAP",
    ),
    "cxcl12_secretion": Param(
        0.3,
        "production",
        "assumed: glioma CXCL12 secretion is a GAP (parameters.md §2); chosen so tumour "
        "CXCL12 is of the order of the CXCR4 Kd (a few nM)",
    ),
    "cxcl12_hif_gain": Param(
        2.0,
        None,
        "assumed: HIF-1alpha raises CXCL12 secretion up to 3-fold (tabatabai2006: direction "
        "measured, fold change GAP)",
    ),
    "ccl2_secretion": Param(0.05, "production", "assumed: GAP; glioma CCL2 (thomas2018)"),
    "il8_secretion": Param(0.05, "production", "assumed: GAP; glioma IL-8 (kim2010)"),
    "tgfb_secretion": Param(
        0.002, "production", "assumed: GAP; glioma TGF-beta (shinojima2013, tabatabai2006)"
    ),
    "ir_tgfb_gain": Param(
        0.4,
        "per_dose",
        "assumed: TGF-beta secretion +40 %/Gy at its peak (klopp2007: TGF-beta1 up after "
        "1-5 Gy; tabatabai2006); magnitude GAP",
    ),
    "ir_cxcl12_gain": Param(
        0.4,
        "per_dose",
        "assumed: a HIF-independent rise of CXCL12 after irradiation (lerman2010: 5 Gy raised "
        "SDF-1, additive with hypoxia; tabatabai2006: CXCL12 promoter up 24 h after 8 Gy); "
        "+40 %/Gy at the peak (so that after 8 Gy induction outweighs the cells killed, as "
        "tabatabai2006 measured at 24 h), magnitude GAP",
    ),
    "ir_il8_gain": Param(
        0.4, "per_dose", "assumed: IL-8 up after irradiation (kim2010); magnitude GAP"
    ),
    "ir_ccl2_gain": Param(
        0.4, "per_dose", "assumed: CCL2 up after irradiation (thomas2018); magnitude GAP"
    ),
    "ir_tau_rise": Param(
        360.0,
        "time",
        "assumed: secretion rises over hours (tabatabai2006: CXCL12 promoter up at 24 h)",
    ),
    "ir_tau_decay": Param(
        2880.0,
        "time",
        "assumed: and falls over days (molcells2019ir: chemokine mRNA up 1-5 d after IR)",
    ),
    "lq_alpha": Param(
        0.27, "per_dose", "fan2011; budach1995 (SF2 0.5 with alpha/beta 7.15 Gy, derived §13)"
    ),
    "lq_beta": Param(
        0.038, "per_dose2", "fan2011; budach1995 (beta = alpha/7.15, derived §13)"
    ),
    "ir_death_rate": Param(
        1.2e-4,
        "rate",
        "assumed: lethally irradiated cells die over several days (mitotic death after a "
        "few divisions, half-life ~4 d), secreting until then",
    ),
    "cxcr7_sink": Param(
        0.01,
        "rate",
        "naumann2010 (CXCR7 clears CXCL12, first order, did not saturate); tumour "
        "CXCR7 rate at full density assumed, GAP",
    ),
    "trail_kill": Param(
        0.002, "rate", "assumed: TRAIL-induced death rate at saturation (kim2010: GAP)"
    ),
    "trail_half": Param(0.5, "concentration", "assumed: half-maximal TRAIL ~0.5 nM; GAP"),
}


def _tumour_as(base: Mapping[str, Param], why: str, **changes: Param) -> dict[str, Param]:
    table = {
        k: Param(p.value, p.unit_kind, f"assumed: as glioma ({why}); {p.source}")
        for k, p in base.items()
    }
    table.update(changes)
    return table


TUMOUR_KINDS: dict[str, dict[str, Param]] = {
    "glioma": _GLIOMA,
    "breast-4t1": _tumour_as(
        _GLIOMA,
        "4T1 values are a GAP",
        ccl2_secretion=Param(
            0.2,
            "production",
            "assumed: breast tumours secrete MCP-1/CCL2 that drives MSCs (dwyer2007); "
            "4-fold the glioma value chosen",
        ),
    ),
    "hepatoma": _tumour_as(_GLIOMA, "hepatoma values are a GAP"),
}

# --- [model]: every term can be switched off --------------------------------------------------

MODEL: dict[str, Param] = {
    name: Param(True, None, f"assumed: {what} on; switch off to see what it contributes")
    for name, what in (
        ("oxygen", "quasi-static oxygen"),
        ("growth", "tumour growth and necrosis"),
        ("hif", "HIF-1alpha activity"),
        ("irradiation_response", "irradiation-induced secretion"),
        ("cxcr7_sink", "CXCR7 clearance of CXCL12 by the tumour"),
        ("receptor_kinetics", "receptor internalisation and synthesis"),
        ("uptake", "ligand uptake by migrating cells"),
        ("chemokinesis", "chemokinesis"),
        ("arrest", "arrest/engraftment in tumour"),
        ("preconditioning", "hypoxic preconditioning"),
        ("secretion", "secretion by engineered cells"),
        ("trail", "TRAIL-induced tumour death"),
    )
}


def _flat() -> dict[str, str]:
    out: dict[str, str] = {}
    for name, p in META.items():
        out[f"scenario.{name}"] = p.source
    for name, p in NUMERICS.items():
        out[f"numerics.{name}"] = p.source
    for name, p in MODEL.items():
        out[f"model.{name}"] = p.source
    for assay, table in ASSAY_DEFAULTS.items():
        for name, p in table.items():
            out[f"assay.{assay}.{name}"] = p.source
    for prefix, tables in (
        ("fields", SPECIES),
        ("receptors", RECEPTORS),
        ("pharmacology", DRUGS),
        ("cell_kinds", CELL_KINDS),
        ("tumour_kinds", TUMOUR_KINDS),
    ):
        for entry, table in tables.items():
            for name, p in table.items():
                out[f"{prefix}.{entry}.{name}"] = p.source
    return out


#: Every default's source by key: ``scenario.<f>``, ``numerics.<f>``,
#: ``assay.<assay>.<f>``, ``fields.<species>.<f>``, ``receptors.<receptor>.<f>``,
#: ``pharmacology.<drug>.<f>``, ``cell_kinds.<kind>.<f>``.
DEFAULT_SOURCES: dict[str, str] = _flat()


def default_source(
    key: str,
    *,
    assay: str = "gradient",
    cell_kinds: Mapping[str, str] | None = None,
    tumour_kind: str | None = None,
) -> str | None:
    """The source of the default behind a resolved scenario key, or ``None``.

    Parameters
    ----------
    key
        Dotted key of a leaf, e.g. ``"fields.cxcl12.decay"``, ``"cells.msc.receptors.cxcr4"``.
    assay
        The scenario's assay (its defaults live under ``assay.<assay>.*``).
    cell_kinds
        Population name -> cell kind, to find the defaults of ``cells.<name>.*``.
    """
    parts = key.split(".")
    head = parts[0]
    if head == "assay" and len(parts) >= 2:
        if f"assay.{parts[1]}" in DERIVED_SOURCES:
            return DERIVED_SOURCES[f"assay.{parts[1]}"]
        nested = DEFAULT_SOURCES.get(f"assay.{assay}.{'.'.join(parts[1:])}")  # sub-tables
        return nested or DEFAULT_SOURCES.get(f"assay.{assay}.{parts[1]}")
    if head == "cells" and len(parts) >= 3:
        kind = (cell_kinds or {}).get(parts[1])
        if parts[2] == "preconditioning" and len(parts) == 4 and parts[3] == "reoxygenation":
            return DERIVED_SOURCES["cells.preconditioning.reoxygenation"]
        return DEFAULT_SOURCES.get(f"cell_kinds.{kind}.{parts[2]}")
    if key == "tumour.kind":
        return DERIVED_SOURCES["tumour.kind"]
    if head == "tumour" and len(parts) >= 2:
        return DEFAULT_SOURCES.get(f"tumour_kinds.{tumour_kind}.{parts[1]}")
    if head == "model" and len(parts) == 2:
        return DEFAULT_SOURCES.get(key)
    if head in ("antibodies",):
        return None
    if head == "events" and len(parts) == 3:
        return DERIVED_SOURCES.get(f"events.{parts[2]}")
    if head in ("fields", "receptors", "pharmacology") and len(parts) == 3:
        return DEFAULT_SOURCES.get(key)
    if head in ("scenario", "numerics") and len(parts) == 2:
        return DEFAULT_SOURCES.get(key)
    return None
