"""Units: one pint registry, the engine's canonical units, molar masses.

Inside the engine every quantity is a plain float in engine units: micrometre (um),
minute (min), nanomolar (nM), gray (Gy). Scenario files write quantities as strings
with units ("100 ng/mL", "24 h", "130 um^2/s"); :func:`parse_quantity` converts them
and :func:`format_quantity` writes an engine value back so that parsing it again
gives the same float, bit for bit.

Examples
--------
>>> parse_quantity("100 ng/mL", "concentration", key="assay.source.cxcl12", species="cxcl12")
12.5
>>> parse_quantity("24 h", "time", key="scenario.duration")
1440.0
>>> format_quantity(720.0, "time")
'720 min'
"""

from __future__ import annotations

import math
import re
from typing import Any

import pint

from tropism.errors import ScenarioError

__all__ = [
    "ENGINE_UNITS",
    "EXAMPLES",
    "KINDS",
    "MOLAR_MASS",
    "MOLAR_MASS_SOURCE",
    "format_quantity",
    "parse_quantity",
    "ureg",
]

#: The package's one unit registry (case sensitive: "nM" is nanomolar, "nm" nanometre).
ureg = pint.UnitRegistry()

#: Engine unit of each kind of quantity, written the way :func:`format_quantity` writes it.
#: Adding a kind is one line here and one in :data:`EXAMPLES`.
ENGINE_UNITS: dict[str, str] = {
    "length": "um",
    "time": "min",
    "concentration": "nM",
    "diffusivity": "um^2/min",
    "rate": "/min",
    "speed": "um/min",
    "dose": "Gy",
    "per_area": "/um^2",  # e.g. Transwell pore density "1e5 /cm^2"
    "pressure": "mmHg",  # oxygen partial pressure
    "oxygen": "mmHg",  # pO2; also accepts "% O2" (incubator fraction, 37 C, humidified)
    "per_dose": "/Gy",  # linear-quadratic alpha, per-Gy gains
    "per_dose2": "/Gy^2",  # linear-quadratic beta
    "production": "nM/min",  # secretion into a field per unit tumour density
    "o2_rate": "mmHg/min",  # oxygen consumption
    "per_conc_time": "/nM/min",  # second-order rate constants (antibody binding)
}

#: An input a user could write for each kind; shown in error messages.
EXAMPLES: dict[str, str] = {
    "length": "'100 um'",
    "time": "'24 h'",
    "concentration": "'12.5 nM' or '100 ng/mL'",
    "diffusivity": "'130 um^2/s'",
    "rate": "'0.018 /min'",
    "speed": "'0.2 um/min'",
    "dose": "'2 Gy'",
    "per_area": "'1e5 /cm^2'",
    "pressure": "'7 mmHg'",
    "oxygen": "'1 %' or '7 mmHg'",
    "per_dose": "'0.27 /Gy'",
    "per_dose2": "'0.038 /Gy^2'",
    "production": "'0.05 nM/min'",
    "o2_rate": "'800 mmHg/min'",
    "per_conc_time": "'1e6 /M/s'",
}

#: pO2 of a humidified incubator gas at 37 C per unit O2 fraction: 760 - 47 mmHg water
#: vapour (parameters.md §1, derived): 1 % O2 = 7.13 mmHg, 21 % = 150 mmHg.
DRY_GAS_MMHG = 713.0

KINDS: tuple[str, ...] = tuple(ENGINE_UNITS)

#: Molar masses in g/mol, used to convert mass concentrations (ng/mL) to molar (nM).
MOLAR_MASS: dict[str, float] = {
    "cxcl12": 8000.0,
    "ccl2": 8700.0,
    "il8": 8400.0,
    "amd3100": 502.8,  # free base; the octahydrochloride salt is 794.5 g/mol
    "tgfb": 25000.0,  # TGF-beta1 homodimer
    "trail": 60000.0,  # soluble TRAIL trimer
    "ccr2_antagonist": 500.0,  # small molecule, generic
    "antibody": 150000.0,  # IgG
}

#: Source of each molar mass (parameters.md section 1).
MOLAR_MASS_SOURCE: dict[str, str] = {
    "cxcl12": "typical, assumed (parameters.md §1)",
    "ccl2": "typical, assumed (parameters.md §1)",
    "il8": "typical, assumed (parameters.md §1)",
    "amd3100": "typical, assumed (parameters.md §1)",
    "tgfb": "assumed: TGF-beta1 homodimer about 25 kDa (typical)",
    "trail": "assumed: soluble TRAIL trimer about 60 kDa (typical)",
    "ccr2_antagonist": "assumed: a generic small molecule of about 500 g/mol",
    "antibody": "assumed: IgG about 150 kDa (typical)",
}


def _unit(text: str) -> pint.Unit:
    return ureg.parse_expression("1" + text if text.startswith("/") else text).units


_ENGINE: dict[str, pint.Unit] = {kind: _unit(text) for kind, text in ENGINE_UNITS.items()}
_MASS_CONCENTRATION = ureg.parse_units("g/L").dimensionality

# A number (as Python's float() reads it, without inf/nan) followed by the unit text.
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def _expected(kind: str, reason: str = "") -> str:
    article = "an" if kind[0] in "aeiou" else "a"
    text = f"{article} {kind} with units, such as {EXAMPLES[kind]}"
    return f"{text} ({reason})" if reason else text


def _kind_of(dimensionality: Any) -> str:
    for kind, unit in _ENGINE.items():
        if unit.dimensionality == dimensionality:
            return f"got a {kind}"
    if dimensionality == _MASS_CONCENTRATION:
        return "got a mass concentration"
    if not dimensionality:
        return "no unit given"
    return f"got units of {dimensionality}"


def parse_quantity(
    value: Any,
    kind: str,
    *,
    key: str,
    species: str | None = None,
    allow_negative: bool = False,
) -> float:
    """Convert a quantity written with units to a float in engine units.

    Parameters
    ----------
    value
        A string such as ``"100 ng/mL"``, ``"24 h"``, ``"130 um^2/s"``. Plain numbers
        are rejected: units are always required.
    kind
        One of :data:`KINDS`: ``"length"`` (um), ``"time"`` (min), ``"concentration"``
        (nM), ``"diffusivity"`` (um^2/min), ``"rate"`` (1/min), ``"speed"`` (um/min),
        ``"dose"`` (Gy), ``"per_area"`` (1/um^2), ``"pressure"`` (mmHg).
    key
        Dotted key path of the value, used in error messages.
    species
        For concentrations: the chemokine or drug, whose molar mass converts a mass
        concentration (ng/mL) to molar (nM).
    allow_negative
        Accept values below zero (default: reject them).

    Returns
    -------
    float
        The value in engine units.

    Raises
    ------
    ScenarioError
        Missing or wrong unit, malformed text, a negative value, or a mass
        concentration for a species without a known molar mass.
    """
    if kind not in _ENGINE:
        raise ValueError(f"unknown quantity kind {kind!r}; known: {', '.join(KINDS)}")
    if not isinstance(value, str):
        raise ScenarioError(key, value, _expected(kind, "units are required"))
    match = _NUMBER.match(value)
    if match is None:
        raise ScenarioError(key, value, _expected(kind, "could not read a number first"))
    number = float(match.group(1))
    unit_text = match.group(2)
    if not math.isfinite(number):
        raise ScenarioError(key, value, _expected(kind, "value out of range"))
    if not unit_text:
        raise ScenarioError(key, value, _expected(kind, "no unit given"))
    try:
        if unit_text.startswith("/"):
            unit_text = "1" + unit_text
        unit = ureg.parse_expression(unit_text)
    except Exception as exc:  # pint raises many types for bad text
        raise ScenarioError(key, value, _expected(kind, f"unknown unit {unit_text!r}")) from exc
    if not isinstance(unit, pint.Quantity):  # a bare number, e.g. "100 200"
        raise ScenarioError(key, value, _expected(kind, "no unit given"))
    if number < 0 and not allow_negative:
        raise ScenarioError(key, value, _expected(kind, "must not be negative"))
    target = _ENGINE[kind]
    if kind == "oxygen" and not unit.dimensionality:
        # an O2 fraction ("1 %"): pO2 = fraction x (760 - 47) mmHg
        fraction = float((number * unit).to("dimensionless").magnitude)
        if not 0 <= fraction <= 1:
            raise ScenarioError(key, value, _expected(kind, "an O2 fraction between 0 and 100 %"))
        return fraction * DRY_GAS_MMHG
    if kind == "concentration" and unit.dimensionality == _MASS_CONCENTRATION:
        mass = MOLAR_MASS.get(species or "")
        if mass is None:
            what = f"no molar mass known for {species!r}" if species else "no molar mass known"
            raise ScenarioError(key, value, _expected(kind, f"{what}: use a molar unit such as nM"))
        # c [mol/L] = rho [g/L] / M [g/mol]
        unit = unit / ureg.Quantity(mass, "g/mol")
    if unit.dimensionality != target.dimensionality:
        raise ScenarioError(key, value, _expected(kind, _kind_of(unit.dimensionality)))
    if unit.units == target and unit.magnitude == 1:
        return number  # already in engine units: exact, no conversion factor
    result = float((number * unit).to(target).magnitude)
    if not math.isfinite(result):
        raise ScenarioError(key, value, _expected(kind, "value out of range"))
    return result


def format_quantity(value: float, kind: str) -> str:
    """Write an engine value with its unit, e.g. ``"12.5 nM"`` or ``"720 min"``.

    ``parse_quantity(format_quantity(v, kind), kind, ...) == v`` exactly for every
    finite float (integers below 2**53 are written without a decimal point, all other
    values with ``repr``).
    """
    if kind not in ENGINE_UNITS:
        raise ValueError(f"unknown quantity kind {kind!r}; known: {', '.join(KINDS)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"cannot write a non-finite {kind}: {value!r}")
    if value.is_integer() and abs(value) < 2**53:
        text = str(int(value))
    else:
        text = repr(value)
    return f"{text} {ENGINE_UNITS[kind]}"
