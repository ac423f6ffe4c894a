"""The run folder: atomic writes, overwrite protection, reading back."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from tropism import store
from tropism.errors import TropismError
from tropism.store import RunWriter, default_run_dir, read_run


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _dataset() -> xr.Dataset:
    rng = np.random.default_rng(0)
    return xr.Dataset(
        {
            "cxcl12": (
                ("condition", "time", "y", "x"),
                rng.random((2, 7, 4, 5)),
                {"units": "nM", "long_name": "free CXCL12"},
            ),
            "cells": (("condition", "time"), rng.integers(0, 100, (2, 7)), {"units": "1"}),
            "tissue": (("y", "x"), rng.random((4, 5)) > 0.5),
        },
        coords={
            "condition": ["control", "cxcl12"],
            "time": ("time", np.arange(7) * 30.0, {"units": "min"}),
            "y": ("y", np.arange(4) * 10.0, {"units": "um"}),
            "x": ("x", np.arange(5) * 10.0, {"units": "um"}),
        },
        attrs={"dx_um": 10.0, "scenario": "demo"},
    )


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    metrics = pd.DataFrame(
        {
            "condition": ["control"] * 3 + ["cxcl12"] * 3,
            "replicate": [0, 1, 2] * 2,
            "time": [60.0] * 6,
            "readout": ["fmi"] * 6,
            "value": [0.01, np.nan, 0.02, 0.2, 0.3, 0.25],
        }
    )
    tracks = pd.DataFrame(
        {
            "cell": np.arange(4, dtype=np.int64),
            "time": [0.0, 1.0, 2.0, 3.0],
            "x": [0.0, 1.5, 2.5, 4.0],
            "y": [0.0, 0.1, -0.2, 0.3],
        }
    )
    return metrics, tracks


def _write_all(w: RunWriter, summary: dict | None = None) -> None:
    metrics, tracks = _frames()
    w.write_text("scenario.toml", '[scenario]\nname = "demo"\n')
    w.write_json("summary.json", summary or {"control": "control", "conditions": []})
    w.write_frame("metrics.parquet", metrics)
    w.write_frame("tracks.parquet", tracks)
    w.write_dataset("fields.zarr", _dataset())


def test_folder_appears_only_after_commit(tmp_path):
    out = tmp_path / "run1"
    with RunWriter(out) as w:
        _write_all(w)
        assert not out.exists()
        assert w.tmp.parent == tmp_path and w.tmp.is_dir()
        assert re.fullmatch(r"\.run1\.partial-[0-9a-f]+", w.tmp.name)
        assert w.path == out.absolute()
        assert w.commit() == out.absolute()
    assert out.is_dir()
    assert _entries(tmp_path) == ["run1"]  # no temporary folder left
    assert {"run.json", "scenario.toml", "summary.json", "figures", "fields.zarr"} <= set(
        _entries(out)
    )
    assert (out / "figures").is_dir()


def test_exception_leaves_nothing(tmp_path):
    out = tmp_path / "run1"
    with pytest.raises(RuntimeError, match="boom"):
        with RunWriter(out) as w:
            _write_all(w)
            raise RuntimeError("boom")
    assert _entries(tmp_path) == []


def test_no_commit_leaves_nothing(tmp_path):
    out = tmp_path / "run1"
    with RunWriter(out) as w:
        w.write_text("scenario.toml", "x = 1\n")
    assert _entries(tmp_path) == []
    # a writer dropped without a with block cleans up too
    w = RunWriter(out)
    tmp = w.tmp
    assert tmp.exists()
    del w
    assert not tmp.exists()


def test_existing_folder_is_not_overwritten(tmp_path):
    out = tmp_path / "run1"
    with RunWriter(out) as w:
        w.write_text("scenario.toml", "old\n")
        w.commit()
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(TropismError, match=r"run folder exists: .*run1 \(use --force"):
        RunWriter(out)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert _entries(tmp_path) == ["run1"]


def test_force_replaces_after_new_folder_is_complete(tmp_path):
    out = tmp_path / "run1"
    with RunWriter(out) as w:
        w.write_text("scenario.toml", "old\n")
        w.write_text("figures/old.svg", "<svg/>")
        w.commit()
    # a failed forced run keeps the old folder
    with pytest.raises(RuntimeError):
        with RunWriter(out, force=True) as w:
            w.write_text("scenario.toml", "new\n")
            raise RuntimeError("simulation failed")
    assert (out / "scenario.toml").read_text() == "old\n"
    with RunWriter(out, force=True) as w:
        w.write_text("scenario.toml", "new\n")
        assert (out / "scenario.toml").read_text() == "old\n"
        w.commit()
    assert (out / "scenario.toml").read_text() == "new\n"
    assert not (out / "figures" / "old.svg").exists()
    assert _entries(tmp_path) == ["run1"]  # old copy deleted, no temporary folder


def test_force_refuses_a_folder_that_is_not_a_run(tmp_path):
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("keep me")
    with pytest.raises(TropismError, match="not a run folder"):
        RunWriter(precious, force=True)
    assert (precious / "chapter1.tex").read_text() == "keep me"


def test_round_trip(tmp_path):
    out = tmp_path / "nested" / "run1"
    summary = {
        "control": "control",
        "test": "welch",
        "conditions": [{"name": "control", "readouts": {"fmi": {"n": 2, "mean": 0.015}}}],
        "comparisons": [],
        "nan_becomes_null": np.float64(np.nan),
        "numpy_int": np.int64(3),
    }
    with RunWriter(out) as w:
        _write_all(w, summary)
        w.write_meta(seeds=[11, 12], command=["tropism", "run", "demo"])
        w.commit()

    run = read_run(out)
    metrics, tracks = _frames()
    pd.testing.assert_frame_equal(run.metrics, metrics)
    pd.testing.assert_frame_equal(run.tracks, tracks)
    assert run.scenario_text == '[scenario]\nname = "demo"\n'
    expected = dict(summary, nan_becomes_null=None, numpy_int=3)
    assert run.summary == expected
    assert json.loads((out / "summary.json").read_text()) == expected
    assert run.meta["seeds"] == [11, 12]
    assert run.meta["command"] == ["tropism", "run", "demo"]
    assert {"tropism_version", "created", "python", "numpy"} <= set(run.meta)

    ds = _dataset()
    # opened lazily: nothing read until asked
    assert not isinstance(run.fields["cxcl12"].variable._data, np.ndarray)
    # values, dims, coordinates and every attribute (units included) come back unchanged
    xr.testing.assert_identical(run.fields.load(), ds)
    assert run.fields["cxcl12"].dims == ("condition", "time", "y", "x")
    assert run.fields["cxcl12"].attrs["units"] == "nM"
    assert run.fields["time"].attrs["units"] == "min"
    assert run.fields["cells"].dtype == ds["cells"].dtype


def test_fields_are_chunked_along_time(tmp_path, monkeypatch):
    ds = _dataset()
    per_step = 2 * 4 * 5 * ds["cxcl12"].dtype.itemsize  # one snapshot of all conditions
    monkeypatch.setattr(store, "_CHUNK_BYTES", 3 * per_step)
    with RunWriter(tmp_path / "r") as w:
        w.write_dataset("fields.zarr", ds)
        w.commit()
    back = xr.open_zarr(tmp_path / "r" / "fields.zarr", chunks=None)
    assert back["cxcl12"].encoding["chunks"] == (2, 3, 4, 5)
    assert (tmp_path / "r" / "fields.zarr" / ".zmetadata").exists()  # consolidated
    assert ds["cxcl12"].encoding == {}  # the caller's dataset is not modified


def test_read_run_errors(tmp_path):
    with pytest.raises(TropismError, match="run folder not found"):
        read_run(tmp_path / "nowhere")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "summary.json").write_text("{}")
    with pytest.raises(
        TropismError, match=r"not a run folder: .*missing run\.json, scenario\.toml"
    ):
        read_run(tmp_path / "other")


def test_write_names_must_stay_inside(tmp_path):
    with RunWriter(tmp_path / "r") as w:
        with pytest.raises(ValueError):
            w.write_text("../escape.txt", "x")
        with pytest.raises(ValueError):
            w.write_text(tmp_path / "abs.txt", "x")
    assert _entries(tmp_path) == []


def test_default_run_dir(tmp_path):
    d = default_run_dir("msc transwell/hypoxia", root=tmp_path)
    assert d.parent == tmp_path
    assert re.fullmatch(r"msc-transwell-hypoxia-\d{8}-\d{6}", d.name)
    d.mkdir()
    again = default_run_dir("msc transwell/hypoxia", root=tmp_path)
    assert again != d and not again.exists()
    assert Path(default_run_dir("demo")).parts[0] == "runs"
