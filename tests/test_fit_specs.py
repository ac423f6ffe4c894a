"""``--vary KEY=SPEC``: lists, grids and ranges with units."""

from __future__ import annotations

import pytest

from tropism.errors import TropismError
from tropism.fit.specs import parse_vary, parse_vary_list


def test_list_grid_and_range_forms():
    s = parse_vary("assay.source.cxcl12=0 ng/mL,50 ng/mL, 100 ng/mL")
    assert (s.kind, s.values, s.unit) == ("list", (0.0, 50.0, 100.0), "ng/mL")
    assert s.override(50.0) == "assay.source.cxcl12=50 ng/mL"
    g = parse_vary("assay.source.cxcl12=0:100 ng/mL:5")
    assert g.values == (0.0, 25.0, 50.0, 75.0, 100.0) and g.unit == "ng/mL"
    lg = parse_vary("drugs.amd3100=1 nM:100 nM:3:log")
    assert lg.values == pytest.approx((1.0, 10.0, 100.0)) and lg.log
    r = parse_vary("cells.msc.chemotactic_speed=0.05..0.5 um/min")
    assert (r.kind, r.lo, r.hi, r.unit) == ("range", 0.05, 0.5, "um/min")
    assert r.from_unit(0.5) == pytest.approx(0.275)
    lr = parse_vary("cells.msc.receptors.cxcr4=100..10000:log")
    assert lr.integer and lr.from_unit(0.5) == 1000 and lr.to_unit(1000) == pytest.approx(0.5)
    counts = parse_vary("cells.msc.count=10:40:4")
    assert counts.values == (10, 20, 30, 40) and counts.override(20) == "cells.msc.count=20"
    cat = parse_vary("assay.initial=steady,empty")
    assert not cat.numeric and cat.override("empty") == "assay.initial=empty"


def test_a_bound_in_another_unit_is_converted():
    s = parse_vary("scenario.duration=1 h..90 min")
    assert (s.lo, s.hi, s.unit) == (1.0, pytest.approx(1.5), "h")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("cells.msc.count", "KEY=SPEC"),
        ("a.b=0.5..0.1 um/min", "lo < hi"),
        ("a.b=0..1:log", "log range with lo > 0"),
        ("a.b=1:2:0", "n a whole number >= 1"),
        ("a.b=1:2", "a grid 'lo:hi:n'"),
        ("a.b=1,,2", "without empty entries"),
        ("a.b=1 ng/mL..2 nM", "values in one unit"),
        ("a.b=1,2:log", "':log' goes with a grid or a range"),
    ],
)
def test_malformed_specs_name_the_key_and_the_forms(text, match):
    with pytest.raises(TropismError, match=match) as info:
        parse_vary(text)
    assert "\n" not in str(info.value)


def test_a_key_given_twice_is_an_error():
    with pytest.raises(TropismError, match="given twice"):
        parse_vary_list(["a.b=1,2", "a.b=3,4"])
