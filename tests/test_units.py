"""Unit parsing and formatting (tropism.units).

Expected values are computed by hand from the unit definitions, never taken from the
code. Conversions go through pint's unit factors (products of powers of ten and 60), so
they are compared with a relative tolerance of 1e-12: a few float roundings, far below
any physical precision.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tropism.errors import ScenarioError
from tropism.units import (
    ENGINE_UNITS,
    MOLAR_MASS,
    MOLAR_MASS_SOURCE,
    format_quantity,
    parse_quantity,
)

REL = 1e-12  # a few roundings of the unit factors


def test_cxcl12_mass_to_molar():
    # 100 ng/mL = 1e-4 g/L; / 8000 g/mol = 1.25e-8 M = 12.5 nM (parameters.md §1)
    value = parse_quantity("100 ng/mL", "concentration", key="k", species="cxcl12")
    assert value == pytest.approx(12.5, rel=REL)


def test_amd3100_mass_to_molar():
    # 1 ug/mL = 1e-3 g/L; / 502.8 g/mol (free base) = 1.98886e-6 M = 1988.86 nM
    expected = 1e-3 / 502.8 * 1e9
    value = parse_quantity("1 ug/mL", "concentration", key="k", species="amd3100")
    assert value == pytest.approx(expected, rel=REL)
    assert value == pytest.approx(1988.86, abs=0.01)


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("130 um^2/s", "diffusivity", 130 * 60),  # 1 /s = 60 /min
        ("24 h", "time", 24 * 60),
        ("1 uM", "concentration", 1000),
        ("12.5 nM", "concentration", 12.5),
        ("1 mm", "length", 1000),
        ("2e-6 cm^2/s", "diffusivity", 2e-6 * 1e8 * 60),  # 1 cm^2 = 1e8 um^2
        ("0.018 /min", "rate", 0.018),
        ("1.08 /h", "rate", 0.018),
        ("12 um/h", "speed", 0.2),
        ("1e5 /cm^2", "per_area", 1e5 / 1e8),
        ("5 Gy", "dose", 5),
        ("500 cGy", "dose", 5),
        ("7 mmHg", "pressure", 7),
        ("3 d", "time", 3 * 24 * 60),
    ],
)
def test_conversions(text, kind, expected):
    assert parse_quantity(text, kind, key="k") == pytest.approx(expected, rel=REL)


def test_molar_masses_are_the_documented_ones():
    # parameters.md §1: CXCL12 ~8 kDa, CCL2 ~8.7 kDa, IL-8 ~8.4 kDa, AMD3100 502.8 g/mol
    for name, mass in {"cxcl12": 8000.0, "ccl2": 8700.0, "il8": 8400.0, "amd3100": 502.8}.items():
        assert MOLAR_MASS[name] == mass
    # the others are assumed and say so
    for name in set(MOLAR_MASS) - {"cxcl12", "ccl2", "il8", "amd3100"}:
        assert MOLAR_MASS_SOURCE[name].startswith("assumed")


def test_oxygen_accepts_percent_and_mmhg():
    # parameters.md §1: pO2 = fraction x (760 - 47) mmHg; 1 % O2 = 7.13 mmHg
    assert parse_quantity("1 %", "oxygen", key="k") == pytest.approx(7.13)
    assert parse_quantity("21 %", "oxygen", key="k") == pytest.approx(149.73)
    assert parse_quantity("5.1 mmHg", "oxygen", key="k") == 5.1
    with pytest.raises(ScenarioError):
        parse_quantity("120 %", "oxygen", key="k")


def test_format_examples():
    assert format_quantity(12.5, "concentration") == "12.5 nM"
    assert format_quantity(720.0, "time") == "720 min"
    assert format_quantity(0.018, "rate") == "0.018 /min"
    assert format_quantity(12000.0, "diffusivity") == "12000 um^2/min"


@pytest.mark.parametrize("kind", sorted(ENGINE_UNITS))
@given(value=st.floats(min_value=0.0, allow_nan=False, allow_infinity=False))
def test_format_parse_round_trip_is_exact(kind, value):
    # format writes repr (or an exact integer): parsing gives the same float, bit for bit
    text = format_quantity(value, kind)
    assert parse_quantity(text, kind, key="k") == value


@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_round_trip_negative_allowed(value):
    text = format_quantity(value, "length")
    assert parse_quantity(text, "length", key="k", allow_negative=True) == value


@pytest.mark.parametrize(
    ("value", "kind", "species", "reason"),
    [
        ("100 um", "concentration", "cxcl12", "got a length"),
        ("24 h", "length", None, "got a time"),
        ("130 um^2/s", "speed", None, "got a diffusivity"),
        ("1 ug/mL", "time", None, "got a mass concentration"),
        ("abc", "length", None, "could not read a number"),
        ("1 furlongz", "length", None, "unknown unit"),
        ("um", "length", None, "could not read a number"),
        ("", "length", None, "could not read a number"),
        ("5", "length", None, "no unit given"),
        ("100 200", "length", None, "no unit given"),
        (5, "length", None, "units are required"),
        (5.0, "time", None, "units are required"),
        (True, "time", None, "units are required"),
        (None, "time", None, "units are required"),
        ("-1 um", "length", None, "must not be negative"),
        ("10 ng/mL", "concentration", None, "no molar mass known"),
        ("10 ng/mL", "concentration", "vegf", "no molar mass known for 'vegf'"),
        ("1 nan", "length", None, "no unit given"),
        ("1 nan um", "length", None, "value out of range"),
        ("1e400 um", "length", None, "value out of range"),
    ],
)
def test_errors_name_key_value_and_expected(value, kind, species, reason):
    with pytest.raises(ScenarioError) as info:
        parse_quantity(value, kind, key="assay.source.cxcl12", species=species)
    message = str(info.value)
    assert message.startswith("assay.source.cxcl12 = ")
    assert repr(value) in message
    assert f"a {kind} with units, such as" in message
    assert reason in message
    assert "\n" not in message


def test_engine_unit_parses_without_conversion():
    # an engine-unit input keeps its float exactly, even awkward ones
    for value in (0.1, 1 / 3, 5e-324, 1.7976931348623157e308):
        assert parse_quantity(f"{value!r} nM", "concentration", key="k") == value
    assert not math.isnan(parse_quantity("0 /min", "rate", key="k"))
