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

#: Sources of values the loader computes from others (not fixed numbers).
DERIVED_SOURCES: dict[str, str] = {
    "assay.seed_x_min": "derived: length/4 (assumed: cells seeded in the middle half)",
    "assay.seed_x_max": "derived: 3*length/4 (assumed: cells seeded in the middle half)",
    "assay.sink": "assumed: the sink reservoir holds none of a chemokine unless given (0 nM)",
    "events.x_min": "derived: 0 (assumed: injected across the whole channel)",
    "events.x_max": "derived: channel length (assumed: injected across the whole channel)",
    "events.washin": "assumed: instant wash-in unless given",
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

# --- [cells.<population>] by cell kind ------------------------------------------------------

_MSC: dict[str, Param] = {
    "receptors": Param(
        {"cxcr4": 2000.0, "cxcr7": 5000.0},
        None,
        "assumed: receptor numbers per MSC are a GAP (§14.3); values from the DESIGN.md sketch",
    ),
    "receptor_cv": Param(0.5, None, "assumed: log-normal spread; donor spread 2-5 fold, lee1999"),
    "speed": Param(0.2, "speed", "choamsc (derived path speed, parameters.md §14.1)"),
    "persistence": Param(
        5.0, "time", "assumed: GAP in parameters.md §5; order of fibroblast-like cells"
    ),
    "chemotactic_speed": Param(
        0.16,
        "speed",
        "assumed: calibrated so that the built-in msc-gradient-cxcl12 (CXCL12 100 ng/mL, "
        "12 h) gives FMI 0.19, the value choamsc measured (0.19 +/- 0.08); the other "
        "sensing constants are assumed, so this is a fitted effective value",
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


def _flat() -> dict[str, str]:
    out: dict[str, str] = {}
    for name, p in META.items():
        out[f"scenario.{name}"] = p.source
    for name, p in NUMERICS.items():
        out[f"numerics.{name}"] = p.source
    for assay, table in ASSAY_DEFAULTS.items():
        for name, p in table.items():
            out[f"assay.{assay}.{name}"] = p.source
    for prefix, tables in (
        ("fields", SPECIES),
        ("receptors", RECEPTORS),
        ("pharmacology", DRUGS),
        ("cell_kinds", CELL_KINDS),
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
    key: str, *, assay: str = "gradient", cell_kinds: Mapping[str, str] | None = None
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
        return DEFAULT_SOURCES.get(f"assay.{assay}.{parts[1]}")
    if head == "cells" and len(parts) >= 3:
        kind = (cell_kinds or {}).get(parts[1])
        return DEFAULT_SOURCES.get(f"cell_kinds.{kind}.{parts[2]}")
    if head == "events" and len(parts) == 3:
        return DERIVED_SOURCES.get(f"events.{parts[2]}")
    if head in ("fields", "receptors", "pharmacology") and len(parts) == 3:
        return DEFAULT_SOURCES.get(key)
    if head in ("scenario", "numerics") and len(parts) == 2:
        return DEFAULT_SOURCES.get(key)
    return None
