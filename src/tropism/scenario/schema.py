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
    NUMERICS,
    RECEPTORS,
    SPECIES,
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
ASSAYS: tuple[str, ...] = ("gradient",)

SPECIES_NAMES: tuple[str, ...] = ("cxcl12", "ccl2", "il8")
RECEPTOR_NAMES: tuple[str, ...] = ("cxcr4", "cxcr7", "ccr2", "cxcr1")
DRUG_NAMES: tuple[str, ...] = ("amd3100",)
CELL_KIND_NAMES: tuple[str, ...] = ("msc", "msc-ucb", "nsc", "hpc")
EVENT_KINDS: tuple[str, ...] = ("add_drug", "add_chemokine", "inject_cells")

AssayName = Literal[ASSAYS]  # type: ignore[valid-type]
Species = Literal[SPECIES_NAMES]  # type: ignore[valid-type]
Receptor = Literal[RECEPTOR_NAMES]  # type: ignore[valid-type]
Drug = Literal[DRUG_NAMES]  # type: ignore[valid-type]
CellKind = Literal[CELL_KIND_NAMES]  # type: ignore[valid-type]
EventKind = Literal[EVENT_KINDS]  # type: ignore[valid-type]


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


#: Model of the ``[assay]`` table for each assay name.
ASSAY_MODELS: dict[str, type[BaseModel]] = {"gradient": GradientAssay}
AssaySpec = GradientAssay  # becomes a union when a second assay template arrives


# --- [fields], [receptors], [pharmacology] -------------------------------------------------


class FieldSpec(_Model):
    """Transport of one chemokine: dc/dt = D lap(c) - decay c (+ sources, sinks)."""

    diffusion: Diffusivity
    decay: Rate


class ReceptorSpec(_Model):
    """A receptor: its ligand, affinity, and whether it steers migration."""

    ligand: Species
    kd: PositiveConc
    chemotactic: Flag

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
}
_EVENT_OPTIONAL: dict[str, tuple[str, ...]] = {
    "add_drug": ("washin",),
    "add_chemokine": (),
    "inject_cells": ("x_min", "x_max"),
}


class EventSpec(_Model):
    """Something that happens at ``time``.

    ``add_drug``: drug, concentration, washin (default 0); ``add_chemokine``: species,
    concentration (added uniformly to the field); ``inject_cells``: population, count,
    x_min, x_max (default: the whole channel).
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

    @model_validator(mode="before")
    @classmethod
    def _conc_molar(cls, data: Any) -> Any:
        if isinstance(data, dict) and "concentration" in data:
            owner = data.get("drug") if data.get("kind") == "add_drug" else data.get("species")
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
        if self.kind == "add_drug" and self.washin is None:
            self.washin = 0.0
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


class Scenario(_Model):
    """A complete scenario; attribute names are what the engine reads."""

    scenario: Meta
    numerics: Numerics = Field(default_factory=Numerics)
    assay: AssaySpec = Field(default_factory=GradientAssay)
    fields: dict[Species, FieldSpec] = Field(default_factory=dict)
    receptors: dict[Receptor, ReceptorSpec] = Field(default_factory=dict)
    pharmacology: dict[Drug, DrugSpec] = Field(default_factory=dict)
    cells: dict[PopulationName, CellSpec] = Field(default_factory=dict)
    drugs: dict[Drug, Conc] = Field(default_factory=dict)
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
        needed_species += [e["species"] for e in events if isinstance(e.get("species"), str)]
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
