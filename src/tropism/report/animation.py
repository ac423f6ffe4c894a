"""Animation of a replicate: the sampled cells moving over the chemokine field.

:class:`AnimationScene` holds the figure (one panel per condition, the field as a heat map,
each tracked cell as a dot with its path so far) and draws frame ``i``; :func:`animate`
writes the frames to an MP4 file (H.264) when an ffmpeg encoder is installed (``pip install
'tropism[video]'`` brings one with imageio-ffmpeg) and to an animated GIF (Pillow, which
matplotlib already needs) otherwise. Frames are drawn by blitting: the axes, ticks, labels and
colourbar are drawn once, each frame redraws only the field, the cells and the clock, which is
several times faster than redrawing the whole figure.

Frames are the track sample times (at most ``max_frames`` of them, evenly spread). The field is
stored only at its snapshot times: between two snapshots it is interpolated linearly in time
(or the earlier snapshot is held, ``interpolate=False``); after the last one the last is held.
Field snapshots are kept for one replicate of each condition (``fields.attrs["replicate"]``,
replicate 0); another replicate's cells are drawn over that replicate's field, as the title says.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.animation import FuncAnimation
from matplotlib.collections import LineCollection
from PIL import Image

from tropism.errors import TropismError
from tropism.report.figures import (
    OKABE_ITO,
    FieldPlane,
    _colorbar,
    _domain,
    _limits,
    _map_figure,
    _safe_name,
    _wrap,
    condition_colors,
    condition_names,
)

if TYPE_CHECKING:  # pragma: no cover - only for type hints
    from tropism.api import Result

FORMATS = (".mp4", ".gif")
"""File types :func:`animate` writes."""

MIN_WIDTH_PX = 720
"""Default frame width at least (pixels): a single panel is drawn at a higher resolution."""


def video_encoder() -> str | None:
    """Path of the ffmpeg executable that writes MP4, or None when there is none.

    The one imageio-ffmpeg provides (the ``video`` extra: its wheel bundles ffmpeg; it also
    honours ``IMAGEIO_FFMPEG_EXE`` and falls back to an ``ffmpeg`` on the PATH).
    """
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:  # the package without a usable binary for this platform
        return None


def frame_times(times: np.ndarray, max_frames: int) -> np.ndarray:
    """At most ``max_frames`` of the sorted unique ``times``, evenly spread, first and last kept.

    Examples
    --------
    >>> frame_times(np.arange(0.0, 100.0, 10.0), 4).tolist()
    [0.0, 30.0, 60.0, 90.0]
    """
    t = np.unique(np.asarray(times, dtype=float))
    if max_frames < 1:
        raise TropismError(f"max_frames = {max_frames}: expected an integer >= 1")
    if t.size <= max_frames:
        return t
    if max_frames == 1:
        return t[-1:]
    idx = np.unique(np.round(np.linspace(0, t.size - 1, max_frames)).astype(int))
    return t[idx]


def field_at(maps: np.ndarray, times: np.ndarray, t: float, interpolate: bool = True) -> np.ndarray:
    """The field at time ``t`` from snapshots ``maps[k]`` taken at sorted ``times[k]``.

    Linear in time between the two snapshots around ``t`` (``interpolate``), or the last
    snapshot at or before ``t``; before the first snapshot the first, after the last the last.
    """
    times = np.asarray(times, dtype=float)
    if t <= times[0]:
        return maps[0]
    if t >= times[-1]:
        return maps[-1]
    k = int(np.searchsorted(times, t, side="right")) - 1
    if times[k] == t or not interpolate:
        return maps[k]
    w = (t - times[k]) / (times[k + 1] - times[k])
    return (1.0 - w) * maps[k] + w * maps[k + 1]


class _Cell:
    """One tracked cell: sample times and x, y positions, sorted by time."""

    __slots__ = ("t", "xy")

    def __init__(self, t: np.ndarray, xy: np.ndarray):
        self.t = t
        self.xy = xy

    def at(self, t: float) -> np.ndarray | None:
        """Position at ``t`` (linear between samples), None outside the cell's samples."""
        if t < self.t[0] or t > self.t[-1]:
            return None
        return np.array([np.interp(t, self.t, self.xy[:, 0]), np.interp(t, self.t, self.xy[:, 1])])

    def path(self, t: float, since: float) -> np.ndarray:
        """Samples in ``[since, t]`` followed by the position at ``t``."""
        keep = (self.t >= since) & (self.t <= t)
        pts = self.xy[keep]
        here = self.at(t)
        if here is not None and (pts.shape[0] == 0 or not np.array_equal(pts[-1], here)):
            pts = np.vstack([pts, here])
        return pts


class AnimationScene:
    """The figure of an animation and the drawing of each frame.

    Parameters
    ----------
    result
        A finished run with tracks and/or field snapshots.
    replicate
        Replicate whose tracks are drawn.
    condition
        One condition; default all, side by side, in run order.
    species
        Field variable drawn under the cells; default the first.
    max_frames
        Most frames (evenly spread over the track sample times).
    interpolate
        Interpolate the field linearly between snapshots (else hold the earlier one).
    tail
        Length of the drawn path behind each cell, in min; default the whole path.
    dpi
        Resolution of the frames; default: at least 100, and enough for 720 pixels across.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
    times : numpy.ndarray
        Frame times (min).
    conditions : list of str
        Condition of each panel.

    Examples
    --------
    In a notebook::

        from IPython.display import HTML
        scene = AnimationScene(result, max_frames=40)
        HTML(scene.funcanimation(fps=8).to_jshtml())
    """

    def __init__(
        self,
        result: Result,
        replicate: int = 0,
        condition: str | None = None,
        *,
        species: str | None = None,
        max_frames: int = 150,
        interpolate: bool = True,
        tail: float | None = None,
        dpi: float | None = None,
    ):
        names = condition_names(result)
        if condition is not None and condition not in names:
            raise TropismError(
                f"condition = {condition!r}: expected one of {', '.join(map(repr, names))}"
            )
        tracks = result.tracks if result.tracks is not None else pd.DataFrame()
        has_fields = result.fields is not None and bool(result.fields.data_vars)
        if tracks.empty and not has_fields:
            raise TropismError("this run has neither cell tracks nor field snapshots to animate")
        if not tracks.empty:
            reps = sorted(int(r) for r in pd.unique(tracks["replicate"]))
            if replicate not in reps:
                raise TropismError(
                    f"replicate = {replicate}: expected one of {', '.join(map(str, reps))} "
                    "(the replicates with tracks in this run)"
                )
            tracks = tracks[tracks["replicate"] == replicate]
        elif replicate != 0:
            raise TropismError(f"replicate = {replicate}: this run has no tracks; expected 0")
        self.plane = FieldPlane(result.fields, species) if has_fields else None
        self.conditions = [condition] if condition is not None else names
        self.interpolate = interpolate
        self.tail = tail
        self.replicate = replicate
        colors = condition_colors(result)

        if not tracks.empty:
            tracks = tracks[tracks["condition"].isin(self.conditions)]
            sample_times = tracks["time"].to_numpy(dtype=float)
        else:
            sample_times = self.plane.times
        if sample_times.size == 0:
            raise TropismError(f"condition = {condition!r}: no tracks or fields to animate")
        self.times = frame_times(sample_times, max_frames)

        self.cells: list[list[_Cell]] = []
        for cond in self.conditions:
            sub = tracks[tracks["condition"] == cond] if not tracks.empty else tracks
            cells = []
            if not sub.empty:
                keys = [k for k in ("population", "cell") if k in sub]
                for _, grp in sub.sort_values([*keys, "time"]).groupby(keys, sort=False):
                    cells.append(
                        _Cell(grp["time"].to_numpy(dtype=float), grp[["x", "y"]].to_numpy(float))
                    )
            self.cells.append(cells)

        if self.plane is not None:
            extent = self.plane.extent
            fconds = self.plane.conditions
            self._maps = [
                self.plane.data.isel(condition=fconds.index(c)).to_numpy().astype(float)
                if c in fconds
                else None
                for c in self.conditions
            ]
            shown = [m for m in self._maps if m is not None]
            vmin, vmax = _limits(np.array(shown)) if shown else (0.0, 1.0)
        else:
            extent = _domain(result, tracks)
            self._maps = [None] * len(self.conditions)

        fig, axes, wide = _map_figure(len(self.conditions), extent)
        self.dpi = float(dpi) if dpi is not None else max(100.0, MIN_WIDTH_PX / fig.get_figwidth())
        fig.set_dpi(self.dpi)
        self.figure = fig
        self._images, self._dots, self._paths = [], [], []
        halo = [patheffects.withStroke(linewidth=2.4, foreground="white", alpha=0.8)]
        image = None
        for ax, cond, maps, cells in zip(
            axes, self.conditions, self._maps, self.cells, strict=True
        ):
            color = colors.get(cond, OKABE_ITO[0])
            img = None
            if maps is not None:
                img = ax.imshow(
                    maps[0].T,
                    origin="lower",
                    extent=extent,
                    cmap="viridis",
                    vmin=vmin,
                    vmax=vmax,
                    interpolation="nearest",
                    aspect="equal",
                )
                image = img
            paths = LineCollection([], colors=color, lw=1.0, alpha=0.9, zorder=3)
            paths.set_path_effects(halo)
            ax.add_collection(paths)
            dots = ax.scatter(
                np.empty(0),
                np.empty(0),
                s=20,
                color=color,
                edgecolors="white",
                linewidths=0.8,
                zorder=4,
            )
            # a dark ring around the white edge: the dots stand out on any part of the map
            dots.set_path_effects([patheffects.withStroke(linewidth=2.0, foreground="0.1")])
            ax.set_xlim(extent[0], extent[1])
            ax.set_ylim(extent[2], extent[3])
            ax.set_aspect("equal")
            ax.set_title(f"{_wrap(cond, 36)}\n({len(cells)} tracked cells)", fontsize=9)
            if self.plane is not None:
                self.plane.label_axes(ax)
            else:
                ax.set_xlabel("x (\u00b5m)")
                ax.set_ylabel("y (\u00b5m)")
            self._images.append(img)
            self._dots.append(dots)
            self._paths.append(paths)
        if image is not None:
            _colorbar(fig, image, axes, f"{self.plane.species} ({self.plane.unit})", wide)
        name = (result.summary or {}).get("scenario") or "tropism run"
        note = ""
        if self.plane is not None and self.plane.replicate != replicate:
            note = f"; field of replicate {self.plane.replicate}"
        self._title = f"{name}: replicate {replicate}{note}"
        self._suptitle = fig.suptitle(self._title, fontsize=10)
        self.draw(0)

    def __len__(self) -> int:
        return int(self.times.size)

    def draw(self, i: int) -> list:
        """Draw frame ``i``: field at the frame time, cell positions and paths so far."""
        t = float(self.times[i])
        since = -np.inf if self.tail is None else t - float(self.tail)
        artists = []
        for img, maps, cells, dots, paths in zip(
            self._images, self._maps, self.cells, self._dots, self._paths, strict=True
        ):
            if img is not None:
                img.set_data(field_at(maps, self.plane.times, t, self.interpolate).T)
                artists.append(img)
            here = [p for p in (c.at(t) for c in cells) if p is not None]
            dots.set_offsets(np.array(here) if here else np.empty((0, 2)))
            paths.set_segments([p for p in (c.path(t, since) for c in cells) if len(p) > 1])
            artists += [dots, paths]
        self._suptitle.set_text(f"{self._title}   t = {t / 60.0:5.2f} h")
        return [*artists, self._suptitle]

    def freeze_layout(self) -> None:
        """Lay the figure out once and keep it (no jitter and no re-layout per frame)."""
        self.figure.canvas.draw()
        self.figure.set_layout_engine("none")

    def frames(self) -> Iterator[np.ndarray]:
        """Every frame as an RGBA image (uint8 array, height x width x 4), in order.

        The still parts are drawn once; each frame restores them and draws the moving parts
        (field, paths, dots, clock) over them, then the axes' frame, in the order a full
        drawing would use.
        """
        fig = self.figure
        canvas = fig.canvas
        moving = [a for a in (*self._images, *self._paths, *self._dots) if a is not None]
        # the frame of a map goes over its image: drawn per frame too
        moving += [sp for img in self._images if img is not None for sp in img.axes.spines.values()]
        for artist in (*moving, self._suptitle):
            artist.set_animated(True)
        try:
            self.freeze_layout()
            background = canvas.copy_from_bbox(fig.bbox)
            for i in range(len(self)):
                self.draw(i)
                canvas.restore_region(background)
                for img, paths, dots in zip(self._images, self._paths, self._dots, strict=True):
                    ax = paths.axes
                    if img is not None:
                        ax.draw_artist(img)
                        for spine in ax.spines.values():
                            ax.draw_artist(spine)
                    ax.draw_artist(paths)
                    ax.draw_artist(dots)
                fig.draw_artist(self._suptitle)
                yield np.asarray(canvas.buffer_rgba()).copy()
        finally:
            for artist in (*moving, self._suptitle):
                artist.set_animated(False)

    def funcanimation(self, fps: float = 10.0) -> FuncAnimation:
        """A matplotlib FuncAnimation of the scene (for ``to_jshtml`` in a notebook)."""
        self.freeze_layout()
        return FuncAnimation(self.figure, self.draw, frames=len(self), interval=1000.0 / fps)


def _output(result: Result, out: str | Path | None, replicate: int, condition: str | None):
    """(path, format suffix) of the animation file."""
    encoder = video_encoder()
    if out is None:
        if result.path is None:
            raise TropismError("out = None: this result has no run folder; give an output file")
        stem = f"animation_replicate{replicate}"
        if condition is not None:
            stem += f"_{_safe_name(condition)}"
        path = Path(result.path) / "figures" / (stem + (".mp4" if encoder else ".gif"))
    else:
        path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise TropismError(f"out = {str(path)!r}: expected a file ending in .mp4 or .gif")
    if suffix == ".mp4" and encoder is None:
        raise TropismError(
            f"out = {str(path)!r}: writing MP4 needs an ffmpeg encoder; install one with "
            "pip install 'tropism[video]', or write a .gif"
        )
    return path, suffix


def animate(
    result: Result,
    out: str | Path | None = None,
    *,
    replicate: int = 0,
    condition: str | None = None,
    species: str | None = None,
    fps: float = 10.0,
    max_frames: int = 150,
    interpolate: bool = True,
    tail: float | None = None,
    dpi: float | None = None,
) -> Path:
    """Write an animation of a replicate: MP4 with an ffmpeg encoder, else GIF.

    Parameters
    ----------
    result
        A finished run (tracks and/or field snapshots).
    out
        Output file ending in ``.mp4`` or ``.gif``; default
        ``<run folder>/figures/animation_replicate<N>[_<condition>].mp4`` (``.gif`` when no
        encoder is installed).
    replicate, condition, species, max_frames, interpolate, tail, dpi
        As for :class:`AnimationScene`.
    fps
        Frames per second of the file.

    Returns
    -------
    pathlib.Path
        The file written (atomically: a partial file never takes its name).

    Raises
    ------
    TropismError
        Unknown replicate or condition, a run with nothing to animate, an unsupported file
        type, or MP4 asked for without an encoder.
    """
    if not fps > 0:
        raise TropismError(f"fps = {fps}: expected a positive number")
    path, suffix = _output(result, out, replicate, condition)
    scene = AnimationScene(
        result,
        replicate,
        condition,
        species=species,
        max_frames=max_frames,
        interpolate=interpolate,
        tail=tail,
        dpi=dpi,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{suffix}")
    try:
        if suffix == ".mp4":
            _write_mp4(scene.frames(), tmp, fps)
        else:
            _write_gif(scene.frames(), tmp, fps)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad a frame with white to an even height and width (H.264 in yuv420p needs them)."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), constant_values=255)


def _write_mp4(frames: Iterator[np.ndarray], path: Path, fps: float) -> None:
    """H.264 MP4 through imageio-ffmpeg's pipe to ffmpeg."""
    import imageio_ffmpeg

    sink = None
    try:
        for frame in frames:
            frame = _even(frame)
            if sink is None:
                h, w = frame.shape[:2]
                sink = imageio_ffmpeg.write_frames(
                    str(path),
                    (w, h),
                    pix_fmt_in="rgba",
                    pix_fmt_out="yuv420p",
                    fps=fps,
                    codec="libx264",
                    macro_block_size=1,
                    ffmpeg_log_level="error",
                )
                sink.send(None)  # start ffmpeg
            sink.send(np.ascontiguousarray(frame))
    finally:
        if sink is not None:
            sink.close()


def _write_gif(frames: Iterator[np.ndarray], path: Path, fps: float) -> None:
    """Animated GIF with Pillow: one adaptive 256-colour palette per frame, looping."""
    images = [
        Image.fromarray(np.ascontiguousarray(f[..., :3])).convert(
            "P", palette=Image.Palette.ADAPTIVE, colors=256
        )
        for f in frames
    ]
    images[0].save(
        path,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=max(10, round(1000.0 / fps)),
        loop=0,
    )
