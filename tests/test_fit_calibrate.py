"""Calibration: a fit recovers a known parameter from synthetic track data made by the
simulator with other seeds, within the interval it reports."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from tropism.cli import app
from tropism.errors import TropismError
from tropism.fit.calibrate import fit
from tropism.scenario import load_scenario
from tropism.study import run_replicate

CXCL12 = "CXCL12 100 ng/mL"
FIT = [
    "cells.msc.count=30",
    'scenario.duration="90 min"',
    'assay.length="300 um"',
    'assay.width="300 um"',
    'numerics.dt="1 min"',
    'numerics.field_dt="2 min"',
    "scenario.replicates=3",
]
TRUE_SPEED = 0.3  # um/min: the chemotactic speed the synthetic data are made with


def synthetic_tracks(path, seed: int, pixel: float = 0.5, frame: float = 5.0) -> None:
    """Three wells of the simulator (every cell tracked every ``frame`` min), written as a
    plain track file in pixels, the way a microscope would give them."""
    spec = load_scenario(
        "msc-gradient-cxcl12",
        [
            *FIT,
            f'cells.msc.chemotactic_speed="{TRUE_SPEED} um/min"',
            f"scenario.seed={seed}",
            f'numerics.track_interval="{frame} min"',
            "numerics.track_cells=1000",
        ],
    )
    scenario = dict(spec.conditions)[CXCL12]
    parts = []
    for r in range(3):
        tr = run_replicate(scenario, CXCL12, r).tracks
        parts.append(
            pd.DataFrame(
                {
                    "well": f"w{r + 1}",
                    "track_id": tr["cell"],
                    "frame": (tr["time"] / frame).round().astype(int),
                    "x": tr["x"] / pixel,
                    "y": tr["y"] / pixel,
                }
            )
        )
    pd.concat(parts).to_csv(path, index=False)


def test_fit_recovers_the_chemotactic_speed_within_its_interval(tmp_path):
    data = tmp_path / "tracks.csv"
    synthetic_tracks(data, seed=777)  # the fit simulates with the scenario's seed, 1
    written = tmp_path / "fitted.toml"
    sets = [a for s in FIT for a in ("--set", s)]
    args = [
        "fit", "msc-gradient-cxcl12", "--data", str(data),
        "--free", "cells.msc.chemotactic_speed=0.05..0.8 um/min",
        "--condition", CXCL12, "--pixel-size", "0.5 um", "--frame-interval", "5 min",
        "--grid", "7", "--workers", "2", "--out", str(tmp_path / "fit"),
        "--write-scenario", str(written), *sets,
    ]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    est = pd.read_csv(tmp_path / "fit" / "estimates.csv").iloc[0]
    assert est["low"] <= TRUE_SPEED <= est["high"], est.to_dict()
    assert est["identifiability"] == "identifiable"
    assert est["high"] - est["low"] < 0.3  # the data pin it down
    assert "identifiable" in res.output and "data vs simulation" in res.output
    for name in ("fit.png", "profiles.png"):
        assert (tmp_path / "fit" / "figures" / name).is_file()
    comp = pd.read_csv(tmp_path / "fit" / "comparison.csv")
    assert set(comp["readout"]) == {"fmi", "speed"}
    # the fitted scenario loads, with the estimate in it
    spec = load_scenario(written)
    fitted = spec.base.cells["msc"].chemotactic_speed
    assert fitted == pytest.approx(est["estimate"], rel=1e-3)
    # a rerun replays the search from the stored evaluations: nothing is simulated again
    again = fit(
        "msc-gradient-cxcl12",
        data,
        ["cells.msc.chemotactic_speed=0.05..0.8 um/min"],
        set=FIT,
        condition=CXCL12,
        pixel_size="0.5 um",
        frame_interval="5 min",
        grid=7,
        workers=1,
        out=tmp_path / "fit",
    )
    assert again.computed == 0 and again.evaluations > 10
    assert again.values["cells.msc.chemotactic_speed"] == est["estimate"]
    profile = pd.read_csv(tmp_path / "fit" / "profiles.csv")
    assert profile["delta"].min() == pytest.approx(0.0)


def test_data_the_assay_does_not_report_are_named(tmp_path):
    counts = tmp_path / "transwell.csv"
    counts.write_text("time,percent\n90 min,10\n90 min,12\n")
    with pytest.raises(TropismError, match="'migrated_fraction'.*not reported") as info:
        fit(
            "msc-gradient-cxcl12",
            counts,
            ["cells.msc.chemotactic_speed=0.05..0.8 um/min"],
            set=[*FIT, "cells.msc.count=5", "scenario.replicates=2"],
            condition=CXCL12,
            workers=1,
        )
    assert "fmi" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(TropismError, match="expected --condition NAME"):
        fit("msc-gradient-cxcl12", counts, ["cells.msc.speed=0.1..0.3 um/min"], set=FIT)
    with pytest.raises(TropismError, match="a range 'lo..hi'"):
        fit("msc-gradient-cxcl12", counts, ["cells.msc.speed=0.1,0.3 um/min"], set=FIT)
