"""Scenario schema: pydantic models of a scenario file.

Quantities are written as strings with units in the file ("100 ng/mL", "24 h") and
stored as floats in engine units (um, min, nM); dumping a model in JSON mode writes
them back with units. Every model forbids unknown keys. Defaults come from
:mod:`tropism.scenario.defaults`, where each carries its source; tables keyed by
chemokine, receptor or drug are filled with defaults for every name the scenario uses.
"""

from __future__ import annotations

import copy
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tropism.errors import ScenarioError
from tropism.scenario.defaults import (
    ASSAY_DEFAULTS,
    CELL_KINDS,
    DRUGS,
    META,
    MODEL,
    NUMERICS,
    RECEPTORS,
    SPECIES,
    TUMOUR_KINDS,
    input_values,
)
from tropism.units import EXAMPLES, format_quantity, parse_quantity

__all__ = [
    "ASSAYS",
    "ASSAY_MODELS",
    "CELL_KIND_NAMES",
    "DRUG_NAMES",
    "EVENT_KINDS",
    "MISSING",
    "RECEPTOR_NAMES",
    "SPECIES_NAMES",
    "CellSpec",
    "Condition",
    "DrugSpec",
    "EventSpec",
    "FieldSpec",
    "GradientAssay",
    "Meta",
    "Numerics",
    "ReceptorSpec",
    "Scenario",
]

#: Assay templates a scenario may name. Adding one: its name here, its model in
#: :data:`ASSAY_MODELS` (and in the ``AssaySpec`` union).
ASSAYS: tuple[str, ...] = ("gradient", "spheroid", "systemic", "transwell", "intracranial")

SPECIES_NAMES: tuple[str, ...] = ("cxcl12", "ccl2", "il8", "tgfb", "trail")
RECEPTOR_NAMES: tuple[str, ...] = ("cxcr4", "cxcr7", "ccr2", "cxcr1")
DRUG_NAMES: tuple[str, ...] = ("amd3100", "ccr2_antagonist")
CELL_KIND_NAMES: tuple[str, ...] = ("msc", "msc-ucb", "nsc", "hpc", "fibroblast")
TUMOUR_KIND_NAMES: tuple[str, ...] = tuple(TUMOUR_KINDS)
EVENT_KINDS: tuple[str, ...] = (
    "add_drug",
    "add_chemokine",
    "inject_cells",
    "irradiate",
    "add_antibody",
)

AssayName = Literal[ASSAYS]  # type: ignore[valid-type]
Species = Literal[SPECIES_NAMES]  # type: ignore[valid-type]
Receptor = Literal[RECEPTOR_NAMES]  # type: ignore[valid-type]
Drug = Literal[DRUG_NAMES]  # type: ignore[valid-type]
CellKind = Literal[CELL_KIND_NAMES]  # type: ignore[valid-type]
EventKind = Literal[EVENT_KINDS]  # type: ignore[valid-type]
TumourKind = Literal[TUMOUR_KIND_NAMES]  # type: ignore[valid-type]


class _Missing:
    """Stands for a required value that is not there (shown in error messages)."""

    def __repr__(self) -> str:
        return "(missing)"


MISSING = _Missing()


def _fail(key: str, value: Any, expected: str) -> PydanticCustomError:
    """An error at ``key`` (relative to the model that raises it) for the loader."""
    return PydanticCustomError(
        "tropism", "{expected}", {"expected": expected, "key": key, "value": value}
    )


def _quantity(kind: str, *, positive: bool = False) -> Any:
    """Annotated float: parsed from a unit string, written back with units (JSON mode)."""

    def parse(value: Any) -> float:
        try:
            result = parse_quantity(value, kind, key="")
        except ScenarioError as exc:
            raise PydanticCustomError("tropism", "{expected}", {"expected": exc.expected}) from None
        if positive and not result > 0:
            raise PydanticCustomError(
                "tropism",
                "{expected}",
                {"expected": f"a positive {kind} with units, such as {EXAMPLES[kind]}"},
            )
        return result

    def write(value: float) -> str:
        return format_quantity(value, kind)

    return Annotated[float, BeforeValidator(parse), PlainSerializer(write, when_used="json")]


Length = _quantity("length")
PositiveLength = _quantity("length", positive=True)
Time = _quantity("time")
PositiveTime = _quantity("time", positive=True)
Conc = _quantity("concentration")
PositiveConc = _quantity("concentration", positive=True)
Diffusivity = _quantity("diffusivity")
Rate = _quantity("rate")
Speed = _quantity("speed")
Oxygen = _quantity("oxygen")
Dose = _quantity("dose")
PerDose = _quantity("per_dose")
PerDose2 = _quantity("per_dose2")
Production = _quantity("production")
O2Rate = _quantity("o2_rate")
PerConcTime = _quantity("per_conc_time")

Count = Annotated[int, Strict(), Field(ge=0)]
NonNegFloat = Annotated[float, Strict(), Field(ge=0, allow_inf_nan=False)]
PositiveFloat = Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False)]
Flag = Annotated[bool, Strict()]
Text = Annotated[str, Strict()]
NonEmptyText = Annotated[str, Strict(), Field(min_length=1)]

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def _population_name(value: Any) -> Any:
    if not isinstance(value, str) or not _NAME.match(value):
        raise PydanticCustomError(
            "tropism",
            "{expected}",
            {"expected": "a population name of letters, digits, '_' or '-' (e.g. 'msc')"},
        )
    return value


PopulationName = Annotated[str, BeforeValidator(_population_name)]


def _molar(value: Any, species: Any) -> Any:
    """A concentration string rewritten in nM using ``species``' molar mass when it parses.

    Mass concentrations need the chemokine or drug they belong to; the tables know it
    (their key), the quantity type alone does not. A value that does not parse is left
    as it is, so that the field's own validator reports it at its own key.
    """
    if not isinstance(value, str) or not isinstance(species, str):
        return value
    try:
        nm = parse_quantity(value, "concentration", key="", species=species)
    except ScenarioError:
        return value
    return format_quantity(nm, "concentration")


def _molar_table(table: Any) -> Any:
    if not isinstance(table, dict):
        return table
    return {k: _molar(v, k) for k, v in table.items()}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=False)


# --- [scenario] ---------------------------------------------------------------------------


class Meta(_Model):
    """The ``[scenario]`` table: what is simulated, for how long, how often."""

    name: NonEmptyText
    description: Text = META["description"].value
    assay: AssayName
    duration: PositiveTime
    replicates: Annotated[int, Strict(), Field(ge=1)] = META["replicates"].value
    seed: Count = META["seed"].value
    dimensions: Literal[2, 3] = META["dimensions"].value


# --- [numerics] ---------------------------------------------------------------------------


class Numerics(_Model):
    """Time steps, readout schedule and parallelism."""

    dt: PositiveTime = NUMERICS["dt"].value
    field_dt: PositiveTime = NUMERICS["field_dt"].value
    readout_interval: PositiveTime = NUMERICS["readout_interval"].value
    track_cells: Count = NUMERICS["track_cells"].value
    track_interval: PositiveTime = NUMERICS["track_interval"].value
    field_snapshots: Flag = NUMERICS["field_snapshots"].value
    workers: Count = NUMERICS["workers"].value
    tumour_dt: PositiveTime = NUMERICS["tumour_dt"].value


class ModelSwitches(_Model):
    """The ``[model]`` table: every term of the model can be switched off."""

    oxygen: Flag = MODEL["oxygen"].value
    growth: Flag = MODEL["growth"].value
    hif: Flag = MODEL["hif"].value
    irradiation_response: Flag = MODEL["irradiation_response"].value
    cxcr7_sink: Flag = MODEL["cxcr7_sink"].value
    receptor_kinetics: Flag = MODEL["receptor_kinetics"].value
    uptake: Flag = MODEL["uptake"].value
    chemokinesis: Flag = MODEL["chemokinesis"].value
    arrest: Flag = MODEL["arrest"].value
    preconditioning: Flag = MODEL["preconditioning"].value
    secretion: Flag = MODEL["secretion"].value
    trail: Flag = MODEL["trail"].value


# --- [assay] --------------------------------------------------------------------------------

_GRADIENT = ASSAY_DEFAULTS["gradient"]


def _check_voxels(key: str, extent: float, spacing: float) -> None:
    # Voxels per axis n = extent / spacing must be a whole number, at least 4.
    n = extent / spacing
    if abs(n - round(n)) > 1e-6 * max(1.0, n) or round(n) < 4:
        raise _fail(
            key,
            format_quantity(extent, "length"),
            f"a whole multiple (at least 4) of grid_spacing = {format_quantity(spacing, 'length')}",
        )


class GradientAssay(_Model):
    """Channel between a source reservoir (x = length) and a sink reservoir (x = 0)."""

    length: PositiveLength = _GRADIENT["length"].value
    width: PositiveLength = _GRADIENT["width"].value
    depth: PositiveLength = _GRADIENT["depth"].value
    grid_spacing: PositiveLength = _GRADIENT["grid_spacing"].value
    source: dict[Species, Conc] = Field(default_factory=dict)
    sink: dict[Species, Conc] = Field(default_factory=dict)
    initial: Literal["steady", "empty"] = _GRADIENT["initial"].value
    seed_x_min: Length | None = None
    seed_x_max: Length | None = None

    @model_validator(mode="before")
    @classmethod
    def _fill(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        source = _molar_table(data.get("source", {}))
        sink = _molar_table(data.get("sink", {}))
        if isinstance(source, dict) and isinstance(sink, dict):
            # a chemokine in the source reservoir but not named for the sink: 0 nM there
            sink = {**{s: "0 nM" for s in source if s in SPECIES_NAMES}, **sink}
        data["source"], data["sink"] = source, sink
        return data

    @model_validator(mode="after")
    def _check(self) -> GradientAssay:
        length = self.length
        for key in ("length", "width"):
            _check_voxels(key, getattr(self, key), self.grid_spacing)
        lo = length / 4 if self.seed_x_min is None else self.seed_x_min
        hi = 3 * length / 4 if self.seed_x_max is None else self.seed_x_max
        band = f"0 <= seed_x_min < seed_x_max <= length ({format_quantity(length, 'length')})"
        if hi > length:
            raise _fail("seed_x_max", format_quantity(hi, "length"), band)
        if not lo < hi:
            raise _fail("seed_x_min", format_quantity(lo, "length"), band)
        self.seed_x_min, self.seed_x_max = lo, hi
        return self


_SPHEROID = ASSAY_DEFAULTS["spheroid"]


class SpheroidAssay(_Model):
    """A tumour (disc in 2-D, sphere in 3-D) at the centre of a box, stem cells around it."""

    length: PositiveLength = _SPHEROID["length"].value
    width: PositiveLength = _SPHEROID["width"].value
    depth: PositiveLength = _SPHEROID["depth"].value
    grid_spacing: PositiveLength = _SPHEROID["grid_spacing"].value
    tumour_radius: PositiveLength = _SPHEROID["tumour_radius"].value
    tumour_kind: TumourKind = _SPHEROID["tumour_kind"].value
    seed_r_min: Length = _SPHEROID["seed_r_min"].value
    seed_r_max: PositiveLength = _SPHEROID["seed_r_max"].value
    boundary: Literal["sink", "no_flux"] = _SPHEROID["boundary"].value
    boundary_o2: Oxygen = _SPHEROID["boundary_o2"].value
    o2_diffusion: Diffusivity = _SPHEROID["o2_diffusion"].value
    margin: Length = _SPHEROID["margin"].value
    initial: Literal["steady", "empty"] = _SPHEROID["initial"].value

    @model_validator(mode="after")
    def _check(self) -> SpheroidAssay:
        for key in ("length", "width"):
            _check_voxels(key, getattr(self, key), self.grid_spacing)
        half = min(self.length, self.width) / 2
        fmt = lambda v: format_quantity(v, "length")  # noqa: E731
        if not self.tumour_radius < half:
            raise _fail(
                "tumour_radius",
                fmt(self.tumour_radius),
                f"a radius inside the domain (< {fmt(half)}, half the shorter side)",
            )
        if not self.seed_r_min < self.seed_r_max:
            raise _fail("seed_r_min", fmt(self.seed_r_min), "seed_r_min < seed_r_max")
        if self.seed_r_max > half:
            raise _fail(
                "seed_r_max",
                fmt(self.seed_r_max),
                f"a distance from the centre inside the domain (<= {fmt(half)})",
            )
        return self


_SYSTEMIC = ASSAY_DEFAULTS["systemic"]


def _probability(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise PydanticCustomError(
            "tropism", "{expected}", {"expected": "a probability or fraction between 0 and 1"}
        )
    return value


Probability = Annotated[float, Strict(), AfterValidator(_probability)]


class SystemicAssay(_Model):
    """Cells injected into the blood (:mod:`tropism.assays.systemic`): a compartment model of
    the circulation coupled to a tissue window around a tumour (as the spheroid assay's)."""

    route: Literal["intravenous", "intra_arterial"] = _SYSTEMIC["route"].value
    transitions: Literal["stochastic", "expected"] = _SYSTEMIC["transitions"].value
    venous_transit: PositiveTime = _SYSTEMIC["venous_transit"].value
    arterial_transit: PositiveTime = _SYSTEMIC["arterial_transit"].value
    lung_trapping: Probability = _SYSTEMIC["lung_trapping"].value
    lung_half_time: PositiveTime = _SYSTEMIC["lung_half_time"].value
    lung_release: Probability = _SYSTEMIC["lung_release"].value
    liver_flow: Probability = _SYSTEMIC["liver_flow"].value
    liver_capture: Probability = _SYSTEMIC["liver_capture"].value
    liver_half_time: PositiveTime = _SYSTEMIC["liver_half_time"].value
    tumour_flow: Probability = _SYSTEMIC["tumour_flow"].value
    other_capture: Probability = _SYSTEMIC["other_capture"].value
    other_half_time: PositiveTime = _SYSTEMIC["other_half_time"].value
    capture_max: Probability = _SYSTEMIC["capture_max"].value
    capture_half_signal: PositiveFloat = _SYSTEMIC["capture_half_signal"].value
    tissue_sample: Probability = _SYSTEMIC["tissue_sample"].value
    length: PositiveLength = _SYSTEMIC["length"].value
    width: PositiveLength = _SYSTEMIC["width"].value
    depth: PositiveLength = _SYSTEMIC["depth"].value
    grid_spacing: PositiveLength = _SYSTEMIC["grid_spacing"].value
    tumour_radius: PositiveLength = _SYSTEMIC["tumour_radius"].value
    tumour_kind: TumourKind = _SYSTEMIC["tumour_kind"].value
    boundary: Literal["sink", "no_flux"] = _SYSTEMIC["boundary"].value
    boundary_o2: Oxygen = _SYSTEMIC["boundary_o2"].value
    o2_diffusion: Diffusivity = _SYSTEMIC["o2_diffusion"].value
    margin: Length = _SYSTEMIC["margin"].value
    initial: Literal["steady", "empty"] = _SYSTEMIC["initial"].value

    @model_validator(mode="after")
    def _check(self) -> SystemicAssay:
        for key in ("length", "width"):
            _check_voxels(key, getattr(self, key), self.grid_spacing)
        half = min(self.length, self.width) / 2
        if not self.tumour_radius < half:
            raise _fail(
                "tumour_radius",
                format_quantity(self.tumour_radius, "length"),
                f"a radius inside the tissue window (< {format_quantity(half, 'length')}, "
                "half the shorter side)",
            )
        if self.liver_flow + self.tumour_flow > 1.0:
            raise _fail(
                "tumour_flow",
                self.tumour_flow,
                f"at most 1 - liver_flow = {1.0 - self.liver_flow:g} (fractions of the "
                "cardiac output; other tissue gets the rest)",
            )
        if self.other_capture + self.capture_max > 1.0:
            raise _fail(
                "capture_max",
                self.capture_max,
                f"at most 1 - other_capture = {1.0 - self.other_capture:g} (the tumour "
                "captures other_capture + capture_max at saturation, a probability)",
            )
        return self


def _signed_length() -> Any:
    """Annotated float: a length that may be negative (an offset), written back with units."""

    def parse(value: Any) -> float:
        try:
            return parse_quantity(value, "length", key="", allow_negative=True)
        except ScenarioError as exc:
            raise PydanticCustomError("tropism", "{expected}", {"expected": exc.expected}) from None

    def write(value: float) -> str:
        return format_quantity(value, "length")

    return Annotated[float, BeforeValidator(parse), PlainSerializer(write, when_used="json")]


SignedLength = _signed_length()
PerArea = _quantity("per_area", positive=True)


_TRANSWELL = ASSAY_DEFAULTS["transwell"]
Fraction = Annotated[float, Strict(), Field(ge=0, le=1, allow_inf_nan=False)]


def _cm(name: str) -> Any:
    return _TRANSWELL[f"conditioned_medium.{name}"].value


class ConditionedMedium(_Model):
    """Medium conditioned by simulated tumour cells in a dish (:mod:`tropism.world.conditioned`).

    A monolayer of ``cell_layer`` under ``medium_height`` of medium, at ``o2``, irradiated
    with ``dose`` at the start, secretes for ``duration``; the medium goes into the lower well
    at ``fraction`` strength (added to ``lower``).
    """

    tumour_kind: TumourKind = _cm("tumour_kind")
    duration: PositiveTime = _cm("duration")
    o2: Oxygen = _cm("o2")
    dose: Dose = _cm("dose")
    cell_layer: PositiveLength = _cm("cell_layer")
    medium_height: PositiveLength = _cm("medium_height")
    fraction: Fraction = _cm("fraction")

    @model_validator(mode="after")
    def _check(self) -> ConditionedMedium:
        if not self.cell_layer < self.medium_height:
            raise _fail(
                "cell_layer",
                format_quantity(self.cell_layer, "length"),
                f"a cell layer thinner than medium_height "
                f"({format_quantity(self.medium_height, 'length')})",
            )
        return self


class TranswellAssay(_Model):
    """Boyden chamber: upper well, porous membrane, lower well, in a vertical slice (y up)."""

    width: PositiveLength = _TRANSWELL["width"].value
    depth: PositiveLength = _TRANSWELL["depth"].value
    upper_height: PositiveLength = _TRANSWELL["upper_height"].value
    lower_height: PositiveLength = _TRANSWELL["lower_height"].value
    grid_spacing: PositiveLength = _TRANSWELL["grid_spacing"].value
    membrane_thickness: PositiveLength = _TRANSWELL["membrane_thickness"].value
    pore_diameter: PositiveLength = _TRANSWELL["pore_diameter"].value
    pore_density: PerArea = _TRANSWELL["pore_density"].value
    lower: dict[Species, Conc] = Field(default_factory=dict)
    upper: dict[Species, Conc] = Field(default_factory=dict)
    conditioned_medium: ConditionedMedium | None = None
    lower_boundary: Literal["reservoir", "closed"] = _TRANSWELL["lower_boundary"].value
    settling_speed: Speed = _TRANSWELL["settling_speed"].value
    attachment_time: Time = _TRANSWELL["attachment_time"].value
    basal_passage: Fraction = _TRANSWELL["basal_passage"].value
    max_passage: Fraction = _TRANSWELL["max_passage"].value

    @property
    def tumour_kind(self) -> str | None:
        """The tumour kind that made the conditioned medium (None without one)."""
        return None if self.conditioned_medium is None else self.conditioned_medium.tumour_kind

    def species_used(self) -> list[str]:
        """Chemokines in either well."""
        return [*self.lower, *self.upper]

    @model_validator(mode="before")
    @classmethod
    def _fill(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {
            **data,
            **{side: _molar_table(data[side]) for side in ("lower", "upper") if side in data},
        }

    @model_validator(mode="after")
    def _check(self) -> TranswellAssay:
        fmt = lambda v: format_quantity(v, "length")  # noqa: E731
        for key in ("width", "upper_height", "lower_height"):
            _check_voxels(key, getattr(self, key), self.grid_spacing)
        spacing = self.pore_density**-0.5
        if not self.pore_diameter < spacing:
            porosity = self.pore_density * 3.141592653589793 * self.pore_diameter**2 / 4
            raise _fail(
                "pore_diameter",
                fmt(self.pore_diameter),
                f"pores narrower than their spacing 1/sqrt(pore_density) = {spacing:.3g} um "
                f"(porosity now {porosity:.3g}; it must stay below pi/4 < 1)",
            )
        for key in ("upper_height", "lower_height"):
            if not self.membrane_thickness < getattr(self, key):
                raise _fail(
                    "membrane_thickness",
                    fmt(self.membrane_thickness),
                    f"a membrane thinner than {key} ({fmt(getattr(self, key))})",
                )
        if not self.basal_passage <= self.max_passage:
            raise _fail(
                "basal_passage", self.basal_passage, f"at most max_passage ({self.max_passage:g})"
            )
        return self


_INTRACRANIAL = ASSAY_DEFAULTS["intracranial"]


class IntracranialAssay(_Model):
    """A coronal brain slice (x left-right, y ventral-dorsal) with a tumour and an injection.

    Offsets (``tumour_x``, ``ventricle_x``, ``callosum_y``, ...) are from the brain centre:
    x positive to the right of the midline, y positive dorsal.
    """

    length: PositiveLength = _INTRACRANIAL["length"].value
    width: PositiveLength = _INTRACRANIAL["width"].value
    depth: PositiveLength = _INTRACRANIAL["depth"].value
    grid_spacing: PositiveLength = _INTRACRANIAL["grid_spacing"].value
    brain_width: PositiveLength = _INTRACRANIAL["brain_width"].value
    brain_height: PositiveLength = _INTRACRANIAL["brain_height"].value
    fissure_width: Length = _INTRACRANIAL["fissure_width"].value
    callosum_y: SignedLength = _INTRACRANIAL["callosum_y"].value
    callosum_thickness: Length = _INTRACRANIAL["callosum_thickness"].value
    callosum_half_length: Length = _INTRACRANIAL["callosum_half_length"].value
    callosum_speed_factor: PositiveFloat = _INTRACRANIAL["callosum_speed_factor"].value
    ventricle_x: SignedLength = _INTRACRANIAL["ventricle_x"].value
    ventricle_y: SignedLength = _INTRACRANIAL["ventricle_y"].value
    ventricle_width: Length = _INTRACRANIAL["ventricle_width"].value
    ventricle_height: Length = _INTRACRANIAL["ventricle_height"].value
    tumour_x: SignedLength = _INTRACRANIAL["tumour_x"].value
    tumour_y: SignedLength = _INTRACRANIAL["tumour_y"].value
    tumour_radius: PositiveLength = _INTRACRANIAL["tumour_radius"].value
    tumour_kind: TumourKind = _INTRACRANIAL["tumour_kind"].value
    injection_site: Literal["ipsilateral", "contralateral", "intraventricular"] = _INTRACRANIAL[
        "injection_site"
    ].value
    injection_distance: PositiveLength = _INTRACRANIAL["injection_distance"].value
    injection_x: SignedLength | None = None
    injection_y: SignedLength | None = None
    injection_radius: PositiveLength = _INTRACRANIAL["injection_radius"].value
    margin: Length = _INTRACRANIAL["margin"].value
    tortuosity: Annotated[float, Strict(), Field(ge=1, allow_inf_nan=False)] = _INTRACRANIAL[
        "tortuosity"
    ].value
    tissue_clearance: Rate = _INTRACRANIAL["tissue_clearance"].value
    tissue_o2: Oxygen = _INTRACRANIAL["tissue_o2"].value
    o2_supply_rate: Rate = _INTRACRANIAL["o2_supply_rate"].value
    o2_diffusion: Diffusivity = _INTRACRANIAL["o2_diffusion"].value
    initial: Literal["steady", "empty"] = _INTRACRANIAL["initial"].value

    @model_validator(mode="after")
    def _check(self) -> IntracranialAssay:
        from tropism.assays.intracranial import check_geometry

        for key in ("length", "width"):
            _check_voxels(key, getattr(self, key), self.grid_spacing)
        problem = check_geometry(self)
        if problem is not None:
            raise _fail(*problem)
        return self


#: Model of the ``[assay]`` table for each assay name.
ASSAY_MODELS: dict[str, type[BaseModel]] = {
    "gradient": GradientAssay,
    "spheroid": SpheroidAssay,
    "systemic": SystemicAssay,
    "transwell": TranswellAssay,
    "intracranial": IntracranialAssay,
}
AssaySpec = GradientAssay | SpheroidAssay | SystemicAssay | TranswellAssay | IntracranialAssay


# --- [tumour] ---------------------------------------------------------------------------------

_GLIOMA = TUMOUR_KINDS["glioma"]


class TumourSpec(_Model):
    """The tumour's biology; parameters not given come from the defaults of its ``kind``."""

    kind: TumourKind
    growth_rate: Rate
    growth_po2_half: Oxygen
    necrosis_po2: Oxygen
    necrosis_rate: Rate
    o2_consumption: O2Rate
    o2_km: Oxygen
    hypoxia_threshold: Oxygen
    hypoxia_hill: PositiveFloat
    hif_tau: PositiveTime
    hif_tgfb_gain: NonNegFloat
    hif_tgfb_half: PositiveConc
    cxcl12_secretion: Production
    cxcl12_hif_gain: NonNegFloat
    ccl2_secretion: Production
    il8_secretion: Production
    tgfb_secretion: Production
    ir_tgfb_gain: PerDose
    ir_cxcl12_gain: PerDose
    ir_il8_gain: PerDose
    ir_ccl2_gain: PerDose
    ir_tau_rise: PositiveTime
    ir_tau_decay: PositiveTime
    lq_alpha: PerDose
    lq_beta: PerDose2
    ir_death_rate: Rate
    cxcr7_sink: Rate
    trail_kill: Rate
    trail_half: PositiveConc

    @model_validator(mode="before")
    @classmethod
    def _fill(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") in TUMOUR_KINDS:
            data = {**input_values(TUMOUR_KINDS[data["kind"]]), **data}
        return data

    @model_validator(mode="after")
    def _check(self) -> TumourSpec:
        if not self.ir_tau_rise < self.ir_tau_decay:
            raise _fail(
                "ir_tau_rise",
                format_quantity(self.ir_tau_rise, "time"),
                "a rise time shorter than ir_tau_decay",
            )
        return self


# --- [fields], [receptors], [pharmacology] -------------------------------------------------


class FieldSpec(_Model):
    """Transport of one chemokine: dc/dt = D lap(c) - decay c (+ sources, sinks)."""

    diffusion: Diffusivity
    decay: Rate
    antibody_kon: PerConcTime


class ReceptorSpec(_Model):
    """A receptor: its ligand, affinity, and whether it steers migration."""

    ligand: Species
    kd: PositiveConc
    chemotactic: Flag
    k_int: Rate
    k_deg: Rate
    scavenger: Flag
    recycle: Annotated[float, Strict(), Field(ge=0, le=1, allow_inf_nan=False)]

    @model_validator(mode="before")
    @classmethod
    def _kd_molar(cls, data: Any) -> Any:
        if isinstance(data, dict) and "kd" in data:
            data = {**data, "kd": _molar(data["kd"], data.get("ligand"))}
        return data


class DrugSpec(_Model):
    """A receptor antagonist.

    ``ic50`` scales the chemotactic drive by 1 / (1 + [I]/IC50) (signalling);
    ``ki`` is the binding constant (displacement of the ligand), parameters.md §4.
    """

    target: Receptor
    ic50: PositiveConc
    ki: PositiveConc


# --- [cells.<name>] ------------------------------------------------------------------------


class Preconditioning(_Model):
    """Culture before use: at ``o2`` for ``duration``, then ``reoxygenation`` in normoxia."""

    o2: Oxygen
    duration: Time
    reoxygenation: Time = 0.0



class CellSpec(_Model):
    """A cell population; parameters not given come from the defaults of its ``kind``."""

    kind: CellKind
    count: Count
    receptors: dict[Receptor, NonNegFloat]
    receptor_cv: NonNegFloat
    speed: Speed
    persistence: PositiveTime
    chemotactic_speed: Speed
    half_max_signal: PositiveFloat
    cell_length: PositiveLength
    sensing_noise: Flag
    noise_scale: NonNegFloat
    expression: dict[Receptor, NonNegFloat]
    preconditioning: Preconditioning | None
    precondition_receptor_fold: PositiveFloat
    precondition_speed_fold: PositiveFloat
    precondition_tau_rise: PositiveTime
    precondition_tau_decay: PositiveTime
    precondition_threshold: Oxygen
    chemokinesis: NonNegFloat
    arrest_rate: Rate
    secretion: dict[Species, Rate]
    mechanics: Flag
    radius: PositiveLength
    repulsion: Speed

    @model_validator(mode="before")
    @classmethod
    def _fill(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") in CELL_KINDS:
            data = {**input_values(CELL_KINDS[data["kind"]]), **data}
        return data


# --- [[events]] ----------------------------------------------------------------------------

_EVENT_NEEDS: dict[str, tuple[str, ...]] = {
    "add_drug": ("drug", "concentration"),
    "add_chemokine": ("species", "concentration"),
    "inject_cells": ("population", "count"),
    "irradiate": ("dose",),
    "add_antibody": ("species", "concentration"),
}
_EVENT_OPTIONAL: dict[str, tuple[str, ...]] = {
    "add_drug": ("washin",),
    "add_chemokine": (),
    "inject_cells": ("x_min", "x_max"),
    "irradiate": ("region",),
    "add_antibody": ("washin",),
}


class EventSpec(_Model):
    """Something that happens at ``time``.

    ``add_drug``: drug, concentration, washin (default 0); ``add_chemokine``: species,
    concentration (added uniformly to the field); ``inject_cells``: population, count,
    x_min, x_max (default: the whole channel); ``irradiate``: dose (Gy), region ("all" or
    "tumour"); ``add_antibody``: a neutralising antibody against ``species`` at
    ``concentration`` (IgG, 150 kDa), washin.
    """

    time: Time
    kind: EventKind
    drug: Drug | None = None
    species: Species | None = None
    concentration: Conc | None = None
    washin: Time | None = None
    population: Text | None = None
    count: Count | None = None
    x_min: Length | None = None
    x_max: Length | None = None
    dose: Dose | None = None
    region: Literal["all", "tumour"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _conc_molar(cls, data: Any) -> Any:
        if isinstance(data, dict) and "concentration" in data:
            kind = data.get("kind")
            owner = {"add_drug": data.get("drug"), "add_antibody": "antibody"}.get(
                kind, data.get("species")
            )
            data = {**data, "concentration": _molar(data["concentration"], owner)}
        return data

    @model_validator(mode="after")
    def _check(self) -> EventSpec:
        needs = _EVENT_NEEDS[self.kind]
        allowed = ("time", "kind", *needs, *_EVENT_OPTIONAL[self.kind])
        for name in needs:
            if getattr(self, name) is None:
                raise _fail(name, MISSING, f"a value ({self.kind} events need {', '.join(needs)})")
        for name in type(self).model_fields:
            if name not in allowed and getattr(self, name) is not None:
                raise _fail(
                    name,
                    getattr(self, name),
                    f"no such key in {self.kind} events (they take {', '.join(allowed)})",
                )
        if self.kind in ("add_drug", "add_antibody") and self.washin is None:
            self.washin = 0.0
        if self.kind == "irradiate" and self.region is None:
            self.region = "all"
        if self.x_min is not None and self.x_max is not None and not self.x_min < self.x_max:
            raise _fail("x_min", format_quantity(self.x_min, "length"), "x_min < x_max")
        return self


# --- [[conditions]] ------------------------------------------------------------------------


class Condition(_Model):
    """One arm of the experiment: the base scenario with the keys in ``set`` changed.

    ``set`` maps dotted keys to values, with the same rules as ``--set``. After loading,
    it holds the resolved changes against the base (see :func:`load_scenario`).
    """

    name: NonEmptyText
    description: Text = ""
    set: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("tropism", "{expected}", {"expected": "a non-empty name"})
        return value


# --- the scenario ----------------------------------------------------------------------------


def _fill_table(
    data: dict[str, Any], name: str, defaults: dict[str, dict[str, Any]], needed: list[str]
) -> dict[str, Any] | None:
    """Fill ``data[name]`` with defaults for every known name in ``needed`` or present."""
    table = data.get(name, {})
    if not isinstance(table, dict):
        return None
    table = dict(table)
    for entry in [*table, *needed]:
        if entry in defaults:
            given = table.get(entry, {})
            if isinstance(given, dict):
                table[entry] = {**input_values(defaults[entry]), **given}
    data[name] = table
    return table


def _validate_assay(name: str, table: dict[str, Any]) -> Any:
    """The ``[assay]`` table validated with its template's model (errors keyed assay.*)."""
    from pydantic import ValidationError

    try:
        return ASSAY_MODELS[name].model_validate(table)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        ctx = err.get("ctx") or {}
        loc = [str(p) for p in err["loc"]]
        value = err.get("input")
        if "key" in ctx:
            loc += str(ctx["key"]).split(".")
            value = ctx.get("value", value)
        kind, msg = err["type"], err["msg"]
        if kind == "tropism":
            expected = str(ctx.get("expected", msg))
        elif kind == "extra_forbidden":
            known = ", ".join(ASSAY_MODELS[name].model_fields)
            expected = f"a known key of a {name} assay ({known})"
        elif kind == "literal_error":
            expected = f"one of {ctx.get('expected', '')}"
        else:
            expected = msg[:1].lower() + msg[1:]
        raise _fail("assay." + ".".join(loc), value, expected) from None


class Scenario(_Model):
    """A complete scenario; attribute names are what the engine reads."""

    scenario: Meta
    numerics: Numerics = Field(default_factory=Numerics)
    assay: AssaySpec = Field(default_factory=GradientAssay)
    fields: dict[Species, FieldSpec] = Field(default_factory=dict)
    receptors: dict[Receptor, ReceptorSpec] = Field(default_factory=dict)
    pharmacology: dict[Drug, DrugSpec] = Field(default_factory=dict)
    cells: dict[PopulationName, CellSpec] = Field(default_factory=dict)
    tumour: TumourSpec | None = None
    model: ModelSwitches = Field(default_factory=ModelSwitches)
    drugs: dict[Drug, Conc] = Field(default_factory=dict)
    antibodies: dict[Species, Conc] = Field(default_factory=dict)
    events: list[EventSpec] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _fill(cls, data: Any) -> Any:
        """Fill the per-name tables with sourced defaults for every name in use."""
        if not isinstance(data, dict):
            return data
        data = copy.deepcopy(data)
        data.setdefault("assay", {})
        meta = data.get("scenario")
        assay_name = meta.get("assay") if isinstance(meta, dict) else None
        if assay_name in ASSAY_MODELS and isinstance(data["assay"], dict):
            data["assay"] = _validate_assay(assay_name, data["assay"])
        tumour_kind = getattr(data["assay"], "tumour_kind", None)  # None: no tumour
        if isinstance(data["assay"], BaseModel) and tumour_kind is not None:
            tumour = data.get("tumour")
            if tumour is None:
                tumour = data["tumour"] = {}
            if isinstance(tumour, dict):
                tumour.setdefault("kind", tumour_kind)
        if isinstance(data.get("antibodies"), dict):
            data["antibodies"] = {
                k: _molar(v, "antibody") for k, v in data["antibodies"].items()
            }
        events = [e for e in data.get("events", []) or [] if isinstance(e, dict)]
        if not isinstance(data.get("events", []), list):
            events = []

        # receptors named by any cell population (its own list or its kind's default)
        needed_receptors: list[str] = []
        cells = data.get("cells", {})
        if isinstance(cells, dict):
            for spec in cells.values():
                if not isinstance(spec, dict):
                    continue
                kind = spec.get("kind")
                default = CELL_KINDS[kind]["receptors"].value if kind in CELL_KINDS else {}
                names = spec.get("receptors", default)
                if isinstance(names, dict):
                    needed_receptors += [r for r in names if isinstance(r, str)]
        receptors = _fill_table(data, "receptors", RECEPTORS, needed_receptors) or {}

        # every chemokine that appears anywhere
        needed_species: list[str] = []
        assay = data.get("assay")
        if isinstance(assay, dict):
            for side in ("source", "sink"):
                if isinstance(assay.get(side), dict):
                    needed_species += list(assay[side])
        if hasattr(assay, "species_used"):  # a validated assay naming chemokines (Transwell)
            needed_species += assay.species_used()
        needed_species += [e["species"] for e in events if isinstance(e.get("species"), str)]
        if data.get("tumour") is not None:
            needed_species += ["cxcl12", "ccl2", "il8", "tgfb"]
        if isinstance(data.get("antibodies"), dict):
            needed_species += list(data["antibodies"])
        if isinstance(cells, dict):
            for spec in cells.values():
                if isinstance(spec, dict) and isinstance(spec.get("secretion"), dict):
                    needed_species += list(spec["secretion"])
        needed_species += [
            r["ligand"]
            for r in receptors.values()
            if isinstance(r, dict) and isinstance(r.get("ligand"), str)
        ]
        _fill_table(data, "fields", SPECIES, needed_species)

        # every drug used
        needed_drugs: list[str] = []
        if isinstance(data.get("drugs"), dict):
            needed_drugs += list(data["drugs"])
        needed_drugs += [e["drug"] for e in events if isinstance(e.get("drug"), str)]
        pharmacology = _fill_table(data, "pharmacology", DRUGS, needed_drugs)
        if pharmacology:
            for drug, spec in pharmacology.items():
                if isinstance(spec, dict):
                    pharmacology[drug] = {
                        k: _molar(v, drug) if k in ("ic50", "ki") else v for k, v in spec.items()
                    }
        if "drugs" in data:
            data["drugs"] = _molar_table(data["drugs"])
        return data

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        meta = self.scenario
        expected_model = ASSAY_MODELS[meta.assay]
        if not isinstance(self.assay, expected_model):
            raise _fail("assay", meta.assay, f"an [assay] table of a {meta.assay} assay")
        if meta.assay == "intracranial" and meta.dimensions != 2:
            raise _fail("scenario.dimensions", meta.dimensions, "2 (a coronal brain slice)")
        if meta.dimensions == 3:
            _check_voxels("assay.depth", self.assay.depth, self.assay.grid_spacing)
        length = getattr(self.assay, "length", None)
        for i, ev in enumerate(self.events):
            where = f"events.{i}"
            if ev.time > meta.duration:
                raise _fail(
                    f"{where}.time",
                    format_quantity(ev.time, "time"),
                    f"a time within the duration ({format_quantity(meta.duration, 'time')})",
                )
            if ev.kind == "inject_cells":
                if ev.population not in self.cells:
                    raise _fail(
                        f"{where}.population",
                        ev.population,
                        f"a cell population of this scenario ({', '.join(self.cells) or 'none'})",
                    )
                if length is not None:
                    if ev.x_min is None:
                        ev.x_min = 0.0
                    if ev.x_max is None:
                        ev.x_max = length
                    if ev.x_max > length or not ev.x_min < ev.x_max:
                        raise _fail(
                            f"{where}.x_max",
                            format_quantity(ev.x_max, "length"),
                            f"0 <= x_min < x_max <= length ({format_quantity(length, 'length')})",
                        )
        seen: set[str] = set()
        for i, cond in enumerate(self.conditions):
            if cond.name in seen:
                raise _fail(f"conditions.{i}.name", cond.name, "a name no other condition uses")
            seen.add(cond.name)
        return self
