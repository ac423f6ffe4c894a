"""Scenario files: schema, sourced defaults, loading, overrides, built-in scenario.

Expected numbers are computed here from their definitions (molar masses, unit factors),
not taken from the loader; float comparisons use rel 1e-12 (a few roundings of pint's
unit factors).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tropism.errors import ScenarioError, TropismError
from tropism.scenario import (
    Scenario,
    apply_override,
    list_builtin,
    load_scenario,
    parse_override,
)
from tropism.scenario.defaults import (
    ASSAY_DEFAULTS,
    CELL_KINDS,
    DEFAULT_SOURCES,
    DRUGS,
    META,
    NUMERICS,
    RECEPTORS,
    SPECIES,
)

REL = 1e-12
DOCS = Path(__file__).resolve().parents[1] / "docs"
BUILTIN = "msc-gradient-cxcl12"
AMD3100_1UG_NM = 1e-3 / 502.8 * 1e9  # 1 ug/mL / 502.8 g/mol, in nM (= 1988.86)
CXCL12_100NG_NM = 100e-9 / 1e-3 / 8000 * 1e9  # 100 ng/mL / 8 kDa, in nM (= 12.5)

MINIMAL = """
[scenario]
name = "t"
assay = "gradient"
duration = "1 h"

[cells.msc]
kind = "msc"
count = 10
"""


def _doc_keys() -> set[str]:
    keys: set[str] = set()
    for name in ("references.md", "parameters.md"):
        keys |= set(re.findall(r"`([A-Za-z0-9_]+)`", (DOCS / name).read_text("utf-8")))
    return keys


DOC_KEYS = _doc_keys()
PREFIXES = ("assumed", "scenario file", "--set", "derived")


def _valid_source(source: str) -> bool:
    if source.startswith(PREFIXES):
        return True
    first = re.split(r"[\s,;:(]", source, maxsplit=1)[0]
    return first in DOC_KEYS


def _leaves(data, prefix=""):
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            out.update(_leaves(v, f"{prefix}{k}."))
        return out
    if isinstance(data, list):
        out = {}
        for i, v in enumerate(data):
            out.update(_leaves(v, f"{prefix}{i}."))
        return out
    return {prefix[:-1]: data}


def _write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the built-in scenario -------------------------------------------------------------------


def test_builtin_loads_with_three_conditions():
    spec = load_scenario(BUILTIN)
    assert spec.path == f"builtin:{BUILTIN}"
    assert spec.condition_names == ["no chemokine", "CXCL12 100 ng/mL", "CXCL12 + AMD3100 1 ug/mL"]
    base = spec.base
    assert base.scenario.assay == "gradient"
    assert base.scenario.duration == 12 * 60
    assert (base.scenario.replicates, base.scenario.seed, base.scenario.dimensions) == (4, 2, 2)
    assert base.cells["msc"].count == 200
    assert base.assay.source["cxcl12"] == pytest.approx(CXCL12_100NG_NM, rel=REL)

    control, cxcl12, amd = (s for _, s in spec.conditions)
    assert control.assay.source["cxcl12"] == 0.0
    assert control.drugs == {}
    assert cxcl12.assay.source["cxcl12"] == pytest.approx(12.5, rel=REL)
    assert cxcl12.drugs == {}
    assert amd.assay.source["cxcl12"] == pytest.approx(12.5, rel=REL)
    assert amd.drugs["amd3100"] == pytest.approx(AMD3100_1UG_NM, rel=REL)
    assert amd.drugs["amd3100"] == pytest.approx(1988.86, abs=0.01)
    # the drug used gets its sourced pharmacology (gupta2001)
    assert amd.pharmacology["amd3100"].target == "cxcr4"
    assert amd.pharmacology["amd3100"].ic50 == 4.7
    assert amd.pharmacology["amd3100"].ki == 15200.0
    # sink reservoir at 0, seed band the middle half of the 1 mm channel
    assert amd.assay.sink == {"cxcl12": 0.0}
    assert (amd.assay.seed_x_min, amd.assay.seed_x_max) == (250.0, 750.0)


def test_list_builtin():
    rows = list_builtin()
    assert (BUILTIN, "gradient") in [(n, a) for n, a, _ in rows]
    for _, _, description in rows:
        assert description and "\n" not in description


def test_defaults_filled_for_every_name_in_use():
    base = load_scenario(BUILTIN).base
    assert set(base.cells["msc"].receptors) == {"cxcr4", "cxcr7", "ccr2", "cxcr1"}
    assert set(base.receptors) == {"cxcr4", "cxcr7", "ccr2", "cxcr1"}  # named by the cells
    assert set(base.fields) == {"cxcl12", "ccl2", "il8"}  # ligands of those receptors
    assert base.fields["cxcl12"].diffusion == 1.2e4
    assert base.fields["cxcl12"].decay == 0.0
    assert base.receptors["cxcr4"].kd == 4.5  # disalvo2000
    assert base.receptors["cxcr7"].kd == 28.0  # drury2011
    assert base.receptors["cxcr7"].chemotactic is False  # burns2006
    assert base.cells["msc"].speed == 0.2  # choamsc
    assert base.pharmacology == {}
    assert base.numerics.dt == 0.5


# --- sources ---------------------------------------------------------------------------------


def test_every_leaf_has_a_valid_source():
    spec = load_scenario(BUILTIN, ["cells.msc.count=20", "assay.source.ccl2=1 nM"])
    dump = spec.base.model_dump(mode="json", exclude_none=True)
    dump.pop("conditions")
    leaves = _leaves(dump)
    assert leaves
    missing = set(leaves) - set(spec.sources)
    assert not missing
    bad = {k: v for k, v in spec.sources.items() if not _valid_source(v)}
    assert not bad
    assert spec.sources["cells.msc.count"] == "--set"
    assert spec.sources["assay.source.ccl2"] == "--set"
    assert spec.sources["scenario.duration"] == "scenario file"
    assert spec.sources["receptors.cxcr4.kd"].startswith("disalvo2000")
    assert spec.sources["cells.msc.speed"].startswith("choamsc")
    assert spec.sources["fields.ccl2.decay"].startswith("assumed")


def test_every_default_table_entry_has_a_valid_source():
    tables = [META, NUMERICS, *ASSAY_DEFAULTS.values()]
    for group in (SPECIES, RECEPTORS, DRUGS, CELL_KINDS):
        tables += list(group.values())
    for table in tables:
        for name, param in table.items():
            assert _valid_source(param.source), (name, param.source)
    assert all(_valid_source(s) for s in DEFAULT_SOURCES.values())


def test_sources_of_other_cell_kinds_say_assumed(tmp_path):
    for kind in ("msc-ucb", "nsc", "hpc"):
        for name, param in CELL_KINDS[kind].items():
            if kind == "msc-ucb" and name == "receptors":
                # the one sourced difference: CXCR1 much higher on UCB-MSC (kim2009a)
                assert param.source.startswith("kim2009a")
                continue
            assert param.source.startswith("assumed: as msc until sourced")
    text = MINIMAL.replace('kind = "msc"', 'kind = "nsc"')
    spec = load_scenario(_write(tmp_path, text))
    assert spec.sources["cells.msc.speed"].startswith("assumed: as msc until sourced")


# --- round trip ------------------------------------------------------------------------------


def test_to_toml_round_trip_gives_equal_models(tmp_path):
    spec = load_scenario(
        BUILTIN, ["cells.msc.count=30", "assay.source.ccl2=5 ng/mL", "numerics.dt=1 min"]
    )
    text = spec.to_toml()
    tomllib.loads(text)  # valid TOML
    again = load_scenario(_write(tmp_path, text))
    assert again.base == spec.base
    assert again.conditions == spec.conditions
    # and it is a fixed point
    assert load_scenario(_write(tmp_path, again.to_toml(), "b.toml")).base == again.base


def test_round_trip_with_events_and_derived_defaults(tmp_path):
    text = MINIMAL + (
        '\n[[events]]\ntime = "10 min"\nkind = "add_drug"\ndrug = "amd3100"\n'
        'concentration = "1 ug/mL"\n'
        '\n[[events]]\ntime = "20 min"\nkind = "inject_cells"\npopulation = "msc"\ncount = 3\n'
        '\n[[conditions]]\nname = "short channel"\nset = { "assay.length" = "500 um" }\n'
        '\n[[conditions]]\nname = "nsc"\nset = { "cells.msc.kind" = "nsc",'
        ' "cells.msc.receptors" = { cxcr4 = 100 } }\n'
    )
    spec = load_scenario(_write(tmp_path, text))
    short = dict(spec.conditions)["short channel"]
    # the seed band and the injection range follow the condition's own channel length
    assert (short.assay.seed_x_min, short.assay.seed_x_max) == (125.0, 375.0)
    nsc = dict(spec.conditions)["nsc"]
    assert set(nsc.receptors) == {"cxcr4"}
    assert spec.base.events[0].washin == 0.0
    assert spec.base.events[1].x_min == 0.0 and spec.base.events[1].x_max == 1000.0
    again = load_scenario(_write(tmp_path, spec.to_toml(), "again.toml"))
    assert again.base == spec.base
    assert again.conditions == spec.conditions


def test_no_conditions_gives_baseline(tmp_path):
    spec = load_scenario(_write(tmp_path, MINIMAL))
    assert spec.conditions == [("baseline", spec.base)]
    assert spec.condition_names == ["baseline"]


def test_describe_lists_every_leaf_with_source():
    spec = load_scenario(BUILTIN)
    text = spec.describe()
    assert 'receptors.cxcr4.kd = "4.5 nM"' in text
    for key, source in spec.sources.items():
        if not key.startswith("conditions."):
            assert f"# {source}" in text, key
    assert "no chemokine" in text


# --- overrides -------------------------------------------------------------------------------


def test_override_int():
    spec = load_scenario(BUILTIN, ["cells.msc.count=2000"])
    assert spec.base.cells["msc"].count == 2000
    assert all(s.cells["msc"].count == 2000 for _, s in spec.conditions)


def test_override_quoted_string():
    spec = load_scenario(BUILTIN, ['assay.source.cxcl12="50 ng/mL"'])
    assert spec.base.assay.source["cxcl12"] == pytest.approx(CXCL12_100NG_NM / 2, rel=REL)


def test_override_bare_string_with_units():
    spec = load_scenario(BUILTIN, ["assay.source.cxcl12=50 ng/mL", "scenario.duration=2 h"])
    assert spec.base.assay.source["cxcl12"] == pytest.approx(6.25, rel=REL)
    assert spec.base.scenario.duration == 120.0


def test_override_adds_a_species():
    spec = load_scenario(BUILTIN, ["assay.source.ccl2=10 nM"])
    base = spec.base
    assert base.assay.source["ccl2"] == 10.0
    assert base.assay.sink["ccl2"] == 0.0  # source without sink: 0 nM there
    assert base.fields["ccl2"].diffusion == 1.2e4  # defaults filled for the new species


def test_override_default_of_a_filled_table():
    spec = load_scenario(BUILTIN, ["fields.cxcl12.decay=0.018 /min", "receptors.cxcr4.kd=25 nM"])
    assert spec.base.fields["cxcl12"].decay == 0.018
    assert spec.base.fields["cxcl12"].diffusion == 1.2e4
    assert spec.base.receptors["cxcr4"].kd == 25.0


def test_parse_override():
    assert parse_override("cells.msc.count=2000") == ("cells.msc.count", 2000)
    assert parse_override('a.b="50 ng/mL"') == ("a.b", "50 ng/mL")
    assert parse_override("a.b=50 ng/mL") == ("a.b", "50 ng/mL")
    assert parse_override("a.b=true") == ("a.b", True)
    assert parse_override("a.b={ cxcr4 = 10 }") == ("a.b", {"cxcr4": 10})


@pytest.mark.parametrize(
    ("override", "shown", "hint"),
    [
        ("cells.msc.cont=3", "cells.msc.cont", "count"),
        ("cells.nsc.count=3", "cells.nsc.count", "msc"),
        ("fields.ccl5.decay=1 /min", "fields.ccl5.decay", "cxcl12"),
        ("drugs.foo=1 nM", "drugs.foo", "amd3100"),
        ("numerics.dtt=1 min", "numerics.dtt", "field_dt"),
        ("events.0.time=1 min", "events.0.time", "whole list"),
        ("noequals", "noequals", "KEY=VALUE"),
    ],
)
def test_override_unknown_key_fails_cleanly(override, shown, hint):
    with pytest.raises(ScenarioError) as info:
        load_scenario(BUILTIN, [override])
    message = str(info.value)
    assert shown in message and hint in message
    assert "\n" not in message


def test_apply_override_in_place():
    data = tomllib.loads(MINIMAL)
    apply_override(data, "numerics.dt", "1 min")
    apply_override(data, "cells.msc.receptors", {"cxcr4": 10})
    assert data["numerics"] == {"dt": "1 min"}
    assert data["cells"]["msc"]["receptors"] == {"cxcr4": 10}
    scenario = Scenario.model_validate(data)
    assert scenario.numerics.dt == 1.0
    assert set(scenario.receptors) == {"cxcr4"}


# --- bad input: one ScenarioError with the key path and the value ----------------------------


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        # unknown key (extra)
        (MINIMAL + "cont = 3\n", "cells.msc.cont", "3"),
        # wrong unit
        (MINIMAL.replace('"1 h"', '"12 um"'), "scenario.duration", "'12 um'"),
        # plain number where units are required
        (MINIMAL.replace('"1 h"', "60"), "scenario.duration", "60"),
        # negative count
        (MINIMAL.replace("count = 10", "count = -5"), "cells.msc.count", "-5"),
        # zero / negative duration
        (MINIMAL.replace('"1 h"', '"0 h"'), "scenario.duration", "'0 h'"),
        (MINIMAL.replace('"1 h"', '"-1 h"'), "scenario.duration", "'-1 h'"),
        # unknown receptor (message lists the known ones)
        (MINIMAL + "receptors = { cxcr9 = 100 }\n", "cells.msc.receptors.cxcr9", "cxcr4"),
        # unknown species, assay, kind
        (MINIMAL + '[assay]\nsource = { ccl5 = "1 nM" }\n', "assay.source.ccl5", "cxcl12"),
        (MINIMAL.replace('"gradient"', '"boyden"'), "scenario.assay", "'boyden'"),
        (MINIMAL.replace('kind = "msc"', 'kind = "fibro"'), "cells.msc.kind", "'fibro'"),
        # unknown drug in a condition's set
        (
            MINIMAL + '[[conditions]]\nname = "a"\nset = { "drugs.foo" = "1 nM" }\n',
            "drugs.foo",
            "'1 nM'",
        ),
        # duplicate condition names
        (
            MINIMAL + '[[conditions]]\nname = "a"\n[[conditions]]\nname = "a"\n',
            "conditions.1.name",
            "'a'",
        ),
        # seed band outside the channel
        (MINIMAL + '[assay]\nseed_x_max = "2000 um"\n', "assay.seed_x_max", "'2000 um'"),
        (MINIMAL + '[assay]\nseed_x_min = "800 um"\n', "assay.seed_x_min", "'800 um'"),
        # grid that does not fit the channel
        (MINIMAL + '[assay]\ngrid_spacing = "300 um"\n', "assay.length", "'1000 um'"),
        # a mass concentration of the wrong dimension inside a condition
        (
            MINIMAL + '[[conditions]]\nname = "b"\nset = { "cells.msc.speed" = "3 um" }\n',
            "cells.msc.speed",
            "'3 um'",
        ),
        # events: missing field, unknown population, field of another kind
        (
            MINIMAL + '[[events]]\ntime = "1 min"\nkind = "add_drug"\ndrug = "amd3100"\n',
            "events.0.concentration",
            "(missing)",
        ),
        (
            MINIMAL
            + '[[events]]\ntime = "1 min"\nkind = "inject_cells"\npopulation = "x"\ncount = 1\n',
            "events.0.population",
            "'x'",
        ),
        (
            MINIMAL + '[[events]]\ntime = "2 h"\nkind = "add_chemokine"\nspecies = "cxcl12"\n'
            'concentration = "1 nM"\n',
            "events.0.time",
            "'120 min'",
        ),
        # missing required key
        (MINIMAL.replace('name = "t"', ""), "scenario.name", "(missing)"),
    ],
)
def test_bad_input_gives_one_scenario_error(tmp_path, text, key, value):
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, text))
    message = str(info.value)
    assert key in message and value in message
    assert "expected" in message and "\n" not in message


def test_malformed_toml_names_file_and_line(tmp_path):
    path = _write(tmp_path, MINIMAL + "x = = 3\n", "broken.toml")
    line = (MINIMAL + "x = = 3\n").splitlines().index("x = = 3") + 1
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert f"broken.toml:{line}" in message and "x = = 3" in message
    assert "valid TOML" in message


def test_mass_concentration_uses_the_ligand_and_drug_molar_mass(tmp_path):
    text = MINIMAL + (
        '[receptors.cxcr4]\nkd = "36 ng/mL"\n'  # CXCL12: 36 / 8 = 4.5 nM
        '[drugs]\namd3100 = "1 ug/mL"\n'
    )
    base = load_scenario(_write(tmp_path, text)).base
    assert base.receptors["cxcr4"].kd == pytest.approx(36e-6 / 8000 * 1e9, rel=REL)
    assert base.drugs["amd3100"] == pytest.approx(AMD3100_1UG_NM, rel=REL)


def test_unknown_builtin_and_missing_file(tmp_path):
    with pytest.raises(TropismError, match=r"unknown scenario 'nope': expected a \.toml file"):
        load_scenario("nope")
    with pytest.raises(TropismError) as info:
        load_scenario("nope")
    assert BUILTIN in str(info.value)
    missing = tmp_path / "missing.toml"
    with pytest.raises(TropismError, match="not found") as info:
        load_scenario(missing)
    assert "missing.toml" in str(info.value) and BUILTIN in str(info.value)
