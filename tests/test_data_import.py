"""Importing a lab's data: TrackMate and plain track files, Transwell counts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tropism.data import load_observations, read_counts, read_tracks
from tropism.errors import TropismError

# A TrackMate 7 spots export: one header row of keys, three of names, short names and units.
TRACKMATE = """LABEL,ID,TRACK_ID,QUALITY,POSITION_X,POSITION_Y,POSITION_Z,POSITION_T,FRAME
Label,Spot ID,Track ID,Quality,X,Y,Z,T,Frame
Label,Spot ID,Track ID,Quality,X,Y,Z,T,Frame
,,,(quality),(micron),(micron),(micron),(sec),
ID0,0,0,1.0,0.0,0.0,0.0,0.0,0
ID1,1,0,1.0,3.0,4.0,0.0,300.0,1
ID2,2,0,1.0,6.0,4.0,0.0,600.0,2
ID3,3,1,1.0,10.0,10.0,0.0,0.0,0
ID4,4,1,1.0,10.0,6.0,0.0,300.0,1
ID5,5,,1.0,50.0,50.0,0.0,0.0,0
"""


def test_trackmate_speed_and_chemotactic_index_match_hand_computed_values(tmp_path):
    path = tmp_path / "spots.csv"
    path.write_text(TRACKMATE)
    data = read_tracks(path)  # positions in micron, times in seconds: no options needed
    assert data.frame_interval == pytest.approx(5.0)
    assert set(data.tracks["track"]) == {"0", "1"}  # the spot in no track is left out
    got = data.readouts().set_index("readout")["value"]
    # track 0: (0,0) -> (3,4) -> (6,4): path 5 + 3 = 8 um in 10 min, net (6, 4)
    # track 1: (10,10) -> (10,6): path 4 um in 5 min, net (0, -4)
    assert got["speed"] == pytest.approx((8 / 10 + 4 / 5) / 2, rel=1e-12)
    assert got["chemotactic_index"] == pytest.approx((6 / math.sqrt(52) + 0.0) / 2, rel=1e-12)
    assert got["fmi"] == pytest.approx((6 / 8 + 0.0) / 2, rel=1e-12)
    assert got["drift_velocity"] == pytest.approx((6 / 10 + 0.0) / 2, rel=1e-12)
    # the gradient along +y instead: track 0 moves 4 um up it, track 1 4 um down
    up_y = read_tracks(path, gradient="+y").readouts().set_index("readout")["value"]
    assert up_y["chemotactic_index"] == pytest.approx((4 / math.sqrt(52) - 1.0) / 2, rel=1e-12)


def test_plain_track_csv_in_pixels_with_replicates(tmp_path):
    path = tmp_path / "tracks.csv"
    path.write_text(
        "well,track,frame,x,y\n"
        "A,1,0,0,0\nA,1,1,10,0\nA,1,2,20,0\n"  # straight up the gradient, 2 px/frame... x 0.5
        "B,1,0,0,0\nB,1,1,0,10\n"  # sideways
    )
    data = read_tracks(path, pixel_size="0.5 um", frame_interval="2 min")
    got = data.readouts().pivot(index="replicate", columns="readout", values="value")
    assert got.loc["A", "speed"] == pytest.approx(10 / 4)  # 10 um in 4 min
    assert got.loc["A", "chemotactic_index"] == pytest.approx(1.0)
    assert got.loc["B", "chemotactic_index"] == pytest.approx(0.0)
    obs = load_observations(path, pixel_size="0.5 um", frame_interval="2 min")
    assert obs.kind == "tracks" and obs.table["time"].unique().tolist() == [4.0]
    summ = obs.summary().set_index("readout")
    assert summ.loc["speed", "n"] == 2
    assert summ.loc["speed", "se"] == pytest.approx(np.std([2.5, 2.5], ddof=1) / np.sqrt(2))


@pytest.mark.parametrize(
    ("text", "kwargs", "match"),
    [
        ("track,frame,x\n1,0,0\n", {}, "columns y not found"),
        ("track,frame,x,y\n1,0,0,0\n1,1,1,1\n", {"frame_interval": "1 min"}, "--pixel-size"),
        ("track,frame,x,y\n1,0,0,0\n1,1,1,1\n", {"pixel_size": "1 um"}, "--frame-interval"),
        (
            "track,frame,x,y\n1,0,0,0\n1,0,1,1\n",
            {"pixel_size": "1 um", "frame_interval": "1 min"},
            "two spots",
        ),
        (
            "track,frame,x,y\n1,0,a,0\n",
            {"pixel_size": "1 um", "frame_interval": "1 min"},
            "row 2 x",
        ),
    ],
)
def test_bad_track_files_are_one_line_errors(tmp_path, text, kwargs, match):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(TropismError, match=match) as info:
        read_tracks(path, **kwargs)
    assert "\n" not in str(info.value)


def test_transwell_percentages_and_counts(tmp_path):
    path = tmp_path / "transwell.csv"
    path.write_text(
        "condition,time,replicate,percent\n"
        "CXCL12,4 h,1,12\nCXCL12,4 h,2,14\ncontrol,4 h,1,3\ncontrol,4 h,2,5\n"
    )
    table = read_counts(path)
    assert set(table["readout"]) == {"migrated_fraction"}
    assert table["time"].unique().tolist() == [240.0]
    assert table[table["condition"] == "CXCL12"]["value"].tolist() == pytest.approx([0.12, 0.14])
    counts = tmp_path / "counts.csv"
    counts.write_text("condition,time_h,count,seeded\nA,24,50,1000\nA,24,70,1000\n")
    t = read_counts(counts)
    assert t["value"].tolist() == pytest.approx([0.05, 0.07])
    assert t["replicate"].tolist() == ["1", "2"] and t["time"].tolist() == [1440.0, 1440.0]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("condition,time,percent\nA,4 h,120\n", "percentage between 0 and 100"),
        ("condition,time,count\nA,4 h,-3\n", "whole number of cells"),
        ("condition,time,count\nA,4 h,2.5\n", "whole number of cells"),
        ("condition,time,count,seeded\nA,4 h,20,10\n", "at most the 10 seeded"),
        ("condition,time,percent\nA,4,5\n", "row 2 time"),
        ("condition,percent\nA,5\n", "no time column"),
        ("condition,time,count,percent\nA,4 h,1,5\n", "exactly one of count, percent"),
        ("condition,time,replicate,percent\nA,4 h,1,5\nA,4 h,1,6\n", "appears twice"),
    ],
)
def test_bad_transwell_files_are_one_line_errors(tmp_path, text, match):
    path = tmp_path / "c.csv"
    path.write_text(text)
    with pytest.raises(TropismError, match=match) as info:
        load_observations(path)
    assert "\n" not in str(info.value)


def test_readouts_already_reduced(tmp_path):
    path = tmp_path / "readouts.csv"
    path.write_text(
        "condition,time_h,readout,value\nA,12,fmi,0.2\nA,12,fmi,0.18\nA,12,fmi,0.22\nB,12,fmi,0.0\n"
    )
    obs = load_observations(path)
    assert obs.kind == "readouts" and obs.conditions == ["A", "B"]
    summ = obs.summary().set_index("condition")
    assert summ.loc["A", "n"] == 3 and summ.loc["A", "mean"] == pytest.approx(0.2)
    assert summ.loc["A", "time"] == 720.0 and np.isnan(summ.loc["B", "se"])
