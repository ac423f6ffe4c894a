"""The command line as a new user meets it: run, validate, list, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from tropism.cli import app

from .conftest import SMALL

runner = CliRunner()
SETS = [arg for s in SMALL for arg in ("--set", s)]


def invoke(*args):
    return runner.invoke(app, list(args))


def test_list_shows_the_builtin_gradient_scenario():
    res = invoke("list")
    assert res.exit_code == 0
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in res.output.splitlines()}
    assay, desc = rows["msc-gradient-cxcl12"]
    assert assay == "gradient" and desc
    assert rows["glioma-irradiation-msc"][0] == "spheroid"
    items = json.loads(invoke("list", "--json").output)
    assert {i["name"] for i in items} == set(rows)


def test_validate_prints_every_default_with_its_source():
    res = invoke("validate", "msc-gradient-cxcl12")
    assert res.exit_code == 0, res.output
    assert "disalvo2000" in res.output  # Kd CXCL12-CXCR4
    assert "gupta2001" in res.output  # AMD3100 IC50
    assert "assumed" in res.output


def test_run_writes_a_complete_run_folder(tmp_path):
    out = tmp_path / "run1"
    res = invoke("run", "msc-gradient-cxcl12", "--out", str(out), "--workers", "1", *SETS)
    assert res.exit_code == 0, res.output
    for name in ("scenario.toml", "summary.json", "metrics.parquet", "tracks.parquet", "run.json"):
        assert (out / name).is_file(), name
    assert (out / "fields.zarr").is_dir()
    summary = json.loads((out / "summary.json").read_text())
    names = [c["name"] for c in summary["conditions"]]
    assert names == ["no chemokine", "CXCL12 100 ng/mL", "CXCL12 + AMD3100 1 ug/mL"]
    for c in summary["conditions"]:
        assert c["readouts"]["fmi"]["n"] == 2
    # the printed table names each condition and the primary readouts
    for word in ("chemotactic index", "FMI", "speed", "AMD3100"):
        assert word in res.output
    metrics = pd.read_parquet(out / "metrics.parquet")
    assert set(metrics.columns) >= {"condition", "replicate", "time", "readout", "value"}
    ds = xr.open_zarr(out / "fields.zarr")
    assert ds["cxcl12"].dims[:2] == ("condition", "time")
    assert ds["cxcl12"].attrs["units"] == "nM" and ds["x"].attrs["units"] == "um"
    # the resolved scenario reproduces the run: same numbers, bit for bit
    again = tmp_path / "run2"
    res2 = invoke("run", str(out / "scenario.toml"), "--out", str(again), "--workers", "1")
    assert res2.exit_code == 0, res2.output
    m2 = pd.read_parquet(again / "metrics.parquet")
    pd.testing.assert_frame_equal(metrics, m2)


def test_existing_run_folder_is_never_overwritten_without_force(tmp_path):
    out = tmp_path / "run"
    assert invoke("run", "msc-gradient-cxcl12", "--out", str(out), "-q", *SETS).exit_code == 0
    (out / "keep.txt").write_text("precious")
    res = invoke("run", "msc-gradient-cxcl12", "--out", str(out), *SETS)
    assert res.exit_code == 2
    assert "--force" in res.output
    assert (out / "keep.txt").read_text() == "precious"
    res = invoke("run", "msc-gradient-cxcl12", "--out", str(out), "--force", "-q", *SETS)
    assert res.exit_code == 0, res.output
    assert not (out / "keep.txt").exists() and (out / "summary.json").exists()


BAD_FILE = """
[scenario]
name = "bad"
assay = "gradient"
duration = "2 h"
[cells.msc]
kind = "msc"
count = 10
"""


@pytest.mark.parametrize(
    ("text", "sets", "needle"),
    [
        ("[scenario\nname = 1", [], "line"),  # malformed TOML
        (BAD_FILE + "colour = 'red'\n", [], "colour"),  # unknown key
        (BAD_FILE.replace('"2 h"', '"100 um"'), [], "scenario.duration"),  # wrong unit
        (BAD_FILE.replace("count = 10", "count = -5"), [], "cells.msc.count"),
        (BAD_FILE.replace('"2 h"', '"-2 h"'), [], "scenario.duration"),
        (BAD_FILE, ["cells.msc.cont=3"], "cells.msc.cont"),  # --set on a missing key
        (BAD_FILE, ['assay.source.cxcl12="100 um"'], "assay.source.cxcl12"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, text, sets, needle):
    path = tmp_path / "s.toml"
    path.write_text(text)
    out = tmp_path / "never"
    args = ["run", str(path), "--out", str(out)]
    for s in sets:
        args += ["--set", s]
    res = invoke(*args)
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    assert needle in lines[0]
    assert not out.exists()
    assert not list(tmp_path.glob(".never*")), "no temporary folder left behind"


def test_unknown_builtin_name_is_a_clean_error():
    res = invoke("validate", "no-such-scenario")
    assert res.exit_code == 2
    assert "no-such-scenario" in res.output and "msc-gradient-cxcl12" in res.output


def test_console_script_exits_2_without_traceback(tmp_path):
    exe = Path(sys.executable).parent / "tropism"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "tropism"]
    proc = subprocess.run(
        [*cmd, "run", "msc-gradient-cxcl12", "--set", "cells.msc.count=-1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "cells.msc.count" in proc.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
