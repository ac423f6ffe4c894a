"""The animation of a replicate: frames, field interpolation, files (GIF, MP4) and the CLI.

Runs on the small synthetic result of test_report (4 track times, 3 field snapshots); the
expected positions and fields are computed here from those inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from tropism.cli import app
from tropism.errors import TropismError
from tropism.report import animation
from tropism.report.animation import AnimationScene, animate, field_at, frame_times

from .test_report import CELLS, CONDITIONS, TRACK_TIMES, make_result


@pytest.fixture(scope="module")
def result():
    return make_result()


def test_frame_times_keep_first_and_last_evenly_spread():
    t = np.arange(0.0, 101.0, 10.0)  # 11 times
    assert frame_times(t, 20).tolist() == t.tolist()
    assert frame_times(t, 3).tolist() == [0.0, 50.0, 100.0]
    assert frame_times(np.array([5.0, 1.0, 5.0]), 10).tolist() == [1.0, 5.0]
    with pytest.raises(TropismError, match="max_frames"):
        frame_times(t, 0)


def test_field_at_interpolates_linearly_and_holds_the_ends():
    times = np.array([0.0, 60.0, 120.0])
    maps = np.array([np.zeros((2, 2)), np.ones((2, 2)), 3.0 * np.ones((2, 2))])
    np.testing.assert_array_equal(field_at(maps, times, 90.0), 2.0 * np.ones((2, 2)))
    np.testing.assert_array_equal(field_at(maps, times, 15.0), 0.25 * np.ones((2, 2)))
    np.testing.assert_array_equal(field_at(maps, times, 60.0), maps[1])
    np.testing.assert_array_equal(field_at(maps, times, 90.0, interpolate=False), maps[1])
    np.testing.assert_array_equal(field_at(maps, times, -5.0), maps[0])
    np.testing.assert_array_equal(field_at(maps, times, 500.0), maps[2])


def test_scene_draws_the_tracked_cells_over_the_interpolated_field(result):
    scene = AnimationScene(result, replicate=1)
    assert len(scene) == len(TRACK_TIMES)
    assert scene.conditions == CONDITIONS
    panels = [ax for ax in scene.figure.axes if ax.images]
    assert len(panels) == len(CONDITIONS)
    tracks = result.tracks
    field = result.fields["cxcl12"]
    for i, t in enumerate(TRACK_TIMES):
        scene.draw(i)
        for ax, cond in zip(panels, CONDITIONS, strict=True):
            at = tracks[
                (tracks["condition"] == cond) & (tracks["replicate"] == 1) & (tracks["time"] == t)
            ].sort_values("cell")
            dots = ax.collections[-1]
            np.testing.assert_array_equal(dots.get_offsets(), at[["x", "y"]].to_numpy())
            paths = ax.collections[-2].get_segments()
            assert len(paths) == (CELLS if i > 0 else 0)  # a path needs two points
            assert all(len(p) == i + 1 for p in paths)
            # the field at t, linear between the snapshots at 0, 60 and 120 min
            snap = field.sel(condition=cond).values
            w = (t % 60.0) / 60.0
            k = min(int(t // 60.0), 1)
            expect = snap[k] * (1 - w) + snap[k + 1] * w if t < 120.0 else snap[2]
            np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), expect.T, rtol=1e-12)
        title = scene.figure.get_suptitle()
        assert f"t = {t / 60:5.2f} h" in title and "field of replicate 0" in title


def test_scene_of_one_condition_with_a_short_tail(result):
    scene = AnimationScene(result, condition=CONDITIONS[1], tail=40.0, max_frames=2)
    assert scene.times.tolist() == [TRACK_TIMES[0], TRACK_TIMES[-1]]
    assert len([ax for ax in scene.figure.axes if ax.images]) == 1
    scene.draw(1)
    ax = next(ax for ax in scene.figure.axes if ax.images)
    # samples at 80 and 120 min: the last 40 min of each path
    assert all(len(p) == 2 for p in ax.collections[-2].get_segments())
    assert scene.figure.get_figwidth() * scene.dpi >= 720  # one panel: drawn larger


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"replicate": 7}, "replicate = 7: expected one of 0, 1, 2"),
        ({"condition": "nope"}, "condition = 'nope'"),
        ({"species": "ccl2"}, "ccl2"),
    ],
)
def test_scene_user_errors(result, kwargs, needle):
    with pytest.raises(TropismError, match=needle):
        AnimationScene(result, **kwargs)


def test_gif_without_an_encoder(result, tmp_path, monkeypatch):
    monkeypatch.setattr(animation, "video_encoder", lambda: None)
    r = make_result()
    r.path = tmp_path  # as a run read back from its folder
    path = animate(r, replicate=2, condition=CONDITIONS[0], fps=5)
    assert path == tmp_path / "figures" / "animation_replicate2_control.gif"
    with Image.open(path) as im:
        assert im.n_frames == len(TRACK_TIMES)
        assert im.size[0] >= 720
        frames = []
        for k in range(im.n_frames):
            im.seek(k)
            frames.append(np.asarray(im.convert("RGB"), dtype=float))
    assert all(f.std() > 0 for f in frames)  # not blank
    assert not np.array_equal(frames[0], frames[-1])  # the cells and the field move
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    with pytest.raises(TropismError, match="tropism\\[video\\]"):
        animate(r, tmp_path / "a.mp4")


def test_mp4_with_the_bundled_encoder(result, tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="the video extra is absent")
    path = animate(result, tmp_path / "movie.mp4", max_frames=3, fps=3)
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert frames == 3 and seconds == pytest.approx(1.0, abs=0.05)


def test_bad_output_names(result, tmp_path):
    with pytest.raises(TropismError, match=r"\.mp4 or \.gif"):
        animate(result, tmp_path / "movie.avi")
    with pytest.raises(TropismError, match="no run folder"):
        animate(result)  # not saved: nowhere to put it by default
    with pytest.raises(TropismError, match="fps"):
        animate(result, tmp_path / "a.gif", fps=0)


def test_cli_animate_writes_the_file_or_one_error_line(tmp_path):
    run = make_result().save(tmp_path / "run")
    runner = CliRunner()
    out = tmp_path / "cells.gif"
    res = runner.invoke(app, ["animate", str(run), "--out", str(out), "--max-frames", "2"])
    assert res.exit_code == 0, res.output
    with Image.open(out) as im:
        assert im.n_frames == 2
    res = runner.invoke(app, ["animate", str(run), "--replicate", "9", "--out", str(out)])
    assert res.exit_code == 2
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: replicate = 9")


def test_blitted_frames_equal_a_full_redraw(result):
    # frames() draws only the moving parts over a still background; the pixels must be the
    # same as drawing the whole figure at that frame
    import io

    scene = AnimationScene(result, replicate=0, max_frames=3)
    frames = list(scene.frames())
    assert len(frames) == 3
    for i in (0, 2):
        scene.draw(i)
        buf = io.BytesIO()
        scene.figure.savefig(buf, format="rgba", dpi=scene.dpi)
        full = np.frombuffer(buf.getvalue(), np.uint8).reshape(frames[i].shape)
        np.testing.assert_array_equal(frames[i], full)
    assert not np.array_equal(frames[0], frames[2])


def test_funcanimation_for_notebooks(result):
    scene = AnimationScene(result, condition=CONDITIONS[0], max_frames=2, dpi=40)
    html = scene.funcanimation(fps=2).to_jshtml()
    assert "<img" in html or "data:image" in html
