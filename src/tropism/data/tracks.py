"""Cell tracks from time-lapse microscopy, reduced to the readouts the simulator computes.

Two file forms:

- a TrackMate spots export (``Spots in tracks statistics`` / ``Export spots``, CSV): columns
  ``TRACK_ID``, ``FRAME``, ``POSITION_X``, ``POSITION_Y`` (and ``POSITION_Z``, ``POSITION_T``);
  TrackMate 7 writes three more header rows (names, short names, units), which are read for the
  position and time units; spots in no track are left out;
- a plain CSV with a track id, a frame and x, y (optionally z) per row; the column names are
  matched loosely (``track``/``track_id``/``particle``, ``frame``/``slice``/``t``, ``x``/``y``).

Optional columns ``replicate`` (or ``well``, ``movie``, ``video``, ``field``) name the replicate
(one movie or well: the unit the statistics count), and ``condition`` (or ``group``,
``treatment``) the scenario condition the cells were in.

Positions in pixels need the pixel size, frames the frame interval (a TrackMate export in
microns, with ``POSITION_T``, needs neither). ``gradient`` says which way is up the gradient in
the image: ``+x`` (default), ``-x``, ``+y``, ``-y`` or an angle in degrees from +x.

Each track gives a start (first spot), an end (last spot), a path length (sum of the straight
segments between spots) and an elapsed time; the readouts of a replicate are
:func:`tropism.observe.readouts.track_readouts` of its tracks, the same function (and the same
definitions) the simulator uses. Simulated tracks sampled at the same frame interval are reduced
by the same :func:`readouts_from_tracks`, so a fit compares like with like: path lengths read
from frames are shorter than the continuous path.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tropism.errors import ScenarioError, TropismError
from tropism.observe.readouts import READOUTS, track_readouts

__all__ = [
    "TrackData",
    "gradient_vector",
    "per_track_readouts",
    "read_tracks",
    "readouts_from_tracks",
    "track_summaries",
]

_ALIASES: dict[str, tuple[str, ...]] = {
    "track": ("track_id", "trackid", "track", "track n°", "track no", "track_number", "particle"),
    "frame": ("frame", "slice", "slice n°", "t", "time_frame", "frame_number"),
    "x": ("position_x", "x", "x_px", "x (px)", "x (pixel)", "x (um)", "x (micron)"),
    "y": ("position_y", "y", "y_px", "y (px)", "y (pixel)", "y (um)", "y (micron)"),
    "z": ("position_z", "z"),
    "t": ("position_t",),
    "replicate": ("replicate", "well", "movie", "video", "field", "series"),
    "condition": ("condition", "group", "treatment"),
}

_MICRON = ("micron", "microns", "um", "µm", "μm", "micrometer", "micrometre")
_PIXEL = ("pixel", "pixels", "px")


@dataclass
class TrackData:
    """Tracks read from a file, in engine units.

    Attributes
    ----------
    tracks
        One row per spot: condition, replicate, track, time (min, 0 at each replicate's first
        frame), x, y, z (um).
    frame_interval
        Minutes between frames.
    up
        Unit vector up the gradient, (3,).
    source
        The file.
    """

    tracks: pd.DataFrame
    frame_interval: float
    up: np.ndarray
    source: str

    @property
    def window(self) -> float:
        """The longest time covered by a replicate (min)."""
        return float(self.tracks.groupby(["condition", "replicate"])["time"].max().max())

    def readouts(self) -> pd.DataFrame:
        """Per condition and replicate: every readout (condition, replicate, readout, value)."""
        return readouts_from_tracks(self.tracks, self.up)

    def digest(self) -> str:
        """A hash of the tracks (for a fit's manifest)."""
        data = pd.util.hash_pandas_object(self.tracks, index=False).values.tobytes()
        extra = f"{self.frame_interval!r}{self.up.tolist()!r}".encode()
        return hashlib.sha256(data + extra).hexdigest()


def gradient_vector(direction: str | float | None) -> np.ndarray:
    """``"+x"``, ``"-x"``, ``"+y"``, ``"-y"`` or an angle in degrees from +x -> unit vector."""
    if direction is None:
        direction = "+x"
    text = str(direction).strip().lower().removesuffix("deg").strip()
    named = {"+x": 0.0, "x": 0.0, "-x": 180.0, "+y": 90.0, "y": 90.0, "-y": 270.0}
    if text in named:
        angle = named[text]
    else:
        try:
            angle = float(text)
        except ValueError:
            raise ScenarioError(
                "--gradient", direction, "'+x', '-x', '+y', '-y' or an angle in degrees from +x"
            ) from None
        if not math.isfinite(angle):
            raise ScenarioError("--gradient", direction, "a finite angle in degrees")
    rad = math.radians(angle)
    vec = np.array([math.cos(rad), math.sin(rad), 0.0])
    vec[np.abs(vec) < 1e-15] = 0.0
    return vec


def _find(columns: list[str], what: str) -> str | None:
    lower = {c.strip().lower(): c for c in columns}
    for alias in _ALIASES[what]:
        if alias in lower:
            return lower[alias]
    return None


def _unit_of(header_rows: pd.DataFrame, column: str) -> str | None:
    """The unit TrackMate 7 writes in its header rows, e.g. ``"(micron)"`` -> ``"micron"``."""
    for value in header_rows[column].astype(str):
        match = re.fullmatch(r"\s*\((.+)\)\s*", value)
        if match:
            return match.group(1).strip()
    return None


def _quantity(value: str | float | None, kind: str, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        if not value > 0:
            raise ScenarioError(key, value, f"a positive {kind}")
        return float(value)
    from tropism.units import parse_quantity

    result = parse_quantity(value, kind, key=key)
    if not result > 0:
        raise ScenarioError(key, value, f"a positive {kind}")
    return result


def _scale_to_um(unit: str | None, pixel_size: float | None, path: str) -> float:
    if unit is not None and unit.lower() in _PIXEL:
        unit = None
    if unit is None:
        if pixel_size is None:
            raise TropismError(
                f"{path}: positions are in pixels (or their unit is not written); "
                "expected --pixel-size, such as '0.65 um'"
            )
        return pixel_size
    if pixel_size is not None:
        raise TropismError(
            f"{path}: positions are already in {unit}; expected no --pixel-size for this file"
        )
    if unit.lower() in _MICRON:
        return 1.0
    from tropism.units import parse_quantity

    try:
        return parse_quantity(f"1 {unit}", "length", key="position unit")
    except ScenarioError:
        raise TropismError(f"{path}: position unit {unit!r}: expected a length unit") from None


def read_tracks(
    path: str | Path,
    *,
    pixel_size: str | float | None = None,
    frame_interval: str | float | None = None,
    gradient: str | float | None = "+x",
    condition: str | None = None,
) -> TrackData:
    """Read a TrackMate spots export or a plain track CSV (see the module docstring).

    Parameters
    ----------
    path
        The CSV file.
    pixel_size
        Length of a pixel (``"0.65 um"``, or a float in um) when positions are in pixels.
    frame_interval
        Time between frames (``"5 min"``, or a float in min); TrackMate's ``POSITION_T`` is used
        when this is not given.
    gradient
        Direction up the gradient in the image.
    condition
        The condition of every track when the file has no condition column.

    Raises
    ------
    TropismError
        Missing columns, bad values, a missing pixel size or frame interval: one line.
    """
    path = Path(path)
    label = str(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise TropismError(f"track file '{label}' not found") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise TropismError(f"cannot read track file '{label}': {exc}") from None
    columns = list(raw.columns)
    found = {what: _find(columns, what) for what in _ALIASES}
    missing = [w for w in ("track", "frame", "x", "y") if found[w] is None]
    if missing:
        if any(c.upper().startswith("TRACK_MEAN_SPEED") for c in columns):
            raise TropismError(
                f"{label}: a TrackMate track-statistics table has no positions; expected the "
                "spots table (TrackMate: Tracks > Spots > Export to CSV)"
            )
        raise TropismError(
            f"{label}: columns {', '.join(missing)} not found (have {', '.join(columns)}); "
            "expected a track id, a frame, x and y per row"
        )
    track_num = pd.to_numeric(raw[found["track"]], errors="coerce")
    frame_num = pd.to_numeric(raw[found["frame"]], errors="coerce")
    is_data = frame_num.notna()
    header_rows = raw[~is_data]
    data = raw[is_data & track_num.notna()].copy()
    if found["track"] is not None and not track_num[is_data].notna().any():
        # track ids that are names, not numbers
        data = raw[is_data & (raw[found["track"]].str.strip() != "")].copy()
    if data.empty:
        raise TropismError(f"{label}: no spot belongs to a track; expected tracked spots")

    xyz_unit = _unit_of(header_rows, found["x"]) if not header_rows.empty else None
    scale = _scale_to_um(xyz_unit, _quantity(pixel_size, "length", "--pixel-size"), label)
    interval = _quantity(frame_interval, "time", "--frame-interval")

    def numbers(col: str) -> np.ndarray:
        values = pd.to_numeric(data[col], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ScenarioError(
                f"{label}: row {data.index[row] + 2} {col}", data[col].iloc[row], "a number"
            )
        return values.to_numpy(dtype=float)

    frames = numbers(found["frame"])
    if interval is not None:
        times = frames * interval
    elif found["t"] is not None:
        t_unit = _unit_of(header_rows, found["t"]) if not header_rows.empty else None
        if t_unit is None:
            raise TropismError(
                f"{label}: the unit of {found['t']} is not written; expected --frame-interval"
            )
        from tropism.units import parse_quantity

        unit = {"sec": "s", "second": "s", "seconds": "s"}.get(t_unit.lower(), t_unit)
        try:
            per = parse_quantity(f"1 {unit}", "time", key=f"{found['t']} unit")
        except ScenarioError:
            raise TropismError(f"{label}: time unit {t_unit!r}: expected a time unit") from None
        times = numbers(found["t"]) * per
        dt = np.diff(np.sort(np.unique(times)))
        interval = float(np.median(dt)) if dt.size else None
        if not interval:
            raise TropismError(f"{label}: a single time point; expected a time-lapse")
    else:
        raise TropismError(
            f"{label}: frames without a time; expected --frame-interval, such as '5 min'"
        )

    if found["condition"] is not None:
        conds = data[found["condition"]].str.strip()
        if condition is not None:
            raise TropismError(
                f"{label}: the file has a {found['condition']!r} column; expected no --condition"
            )
        if (conds == "").any():
            raise TropismError(f"{label}: an empty {found['condition']!r}; expected a name")
    else:
        conds = pd.Series(condition or "", index=data.index)
    reps = (
        data[found["replicate"]].str.strip()
        if found["replicate"] is not None
        else pd.Series("1", index=data.index)
    )
    tracks = pd.DataFrame(
        {
            "condition": conds.to_numpy(),
            "replicate": reps.to_numpy(),
            "track": data[found["track"]].str.strip().to_numpy(),
            "frame": frames,
            "time": times,
            "x": numbers(found["x"]) * scale,
            "y": numbers(found["y"]) * scale,
            "z": numbers(found["z"]) * scale if found["z"] is not None else 0.0,
        }
    )
    dup = tracks.duplicated(["condition", "replicate", "track", "frame"])
    if dup.any():
        row = tracks[dup].iloc[0]
        raise TropismError(
            f"{label}: track {row['track']} has two spots in frame {row['frame']:g}; "
            "expected one spot per track and frame"
        )
    tracks["time"] -= tracks.groupby(["condition", "replicate"])["time"].transform("min")
    tracks = tracks.sort_values(["condition", "replicate", "track", "time"], kind="stable")
    return TrackData(
        tracks.reset_index(drop=True), float(interval), gradient_vector(gradient), label
    )


def track_summaries(tracks: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per track: start and end positions, path length (um) and elapsed time (min).

    ``tracks`` needs the columns of ``by``, ``track``, ``time``, ``x``, ``y``, ``z`` (any row
    order).
    """
    keys = [*by, "track"]
    tracks = tracks.sort_values([*keys, "time"], kind="stable")
    pos = tracks[["x", "y", "z"]].to_numpy(dtype=float)
    same = (tracks[keys].shift() == tracks[keys]).all(axis=1).to_numpy()
    step = np.zeros(len(tracks))
    if len(tracks) > 1:
        seg = np.sqrt(np.sum(np.diff(pos, axis=0) ** 2, axis=1))
        step[1:] = np.where(same[1:], seg, 0.0)
    frame = tracks[keys].assign(step=step, t=tracks["time"].to_numpy(dtype=float))
    frame[["x", "y", "z"]] = pos
    g = frame.groupby(keys, sort=False)
    first, last = g.first(), g.last()
    out = pd.DataFrame(
        {
            "x0": first["x"],
            "y0": first["y"],
            "z0": first["z"],
            "x1": last["x"],
            "y1": last["y"],
            "z1": last["z"],
            "path": g["step"].sum(),
            "elapsed": last["t"] - first["t"],
        }
    )
    return out.reset_index()


def _readouts(summ: pd.DataFrame, up: np.ndarray) -> dict[str, float]:
    start = summ[["x0", "y0", "z0"]].to_numpy(dtype=float)
    end = summ[["x1", "y1", "z1"]].to_numpy(dtype=float)
    return track_readouts(
        start, end, summ["path"].to_numpy(dtype=float), summ["elapsed"].to_numpy(dtype=float), up
    )


def readouts_from_tracks(
    tracks: pd.DataFrame, up: np.ndarray, by: tuple[str, ...] = ("condition", "replicate")
) -> pd.DataFrame:
    """Readouts of each group of tracks (a replicate): ``*by, readout, value``.

    Each group's values are :func:`~tropism.observe.readouts.track_readouts` of its tracks.
    """
    by = list(by)
    summ = track_summaries(tracks, by)
    rows = []
    for key, group in summ.groupby(by, sort=False) if by else [((), summ)]:
        key = key if isinstance(key, tuple) else (key,)
        for name, value in _readouts(group, np.asarray(up, dtype=float)).items():
            rows.append((*key, name, value))
    return pd.DataFrame(rows, columns=[*by, "readout", "value"])


def per_track_readouts(
    tracks: pd.DataFrame, up: np.ndarray, by: tuple[str, ...] = ("condition", "replicate")
) -> pd.DataFrame:
    """Every readout of every single track: ``*by, track, readout, value`` (NaN: did not move)."""
    by = list(by)
    summ = track_summaries(tracks, by)
    rows = []
    up = np.asarray(up, dtype=float)
    for i in range(len(summ)):
        one = summ.iloc[i : i + 1]
        key = tuple(one[c].iloc[0] for c in [*by, "track"])
        for name, value in _readouts(one, up).items():
            rows.append((*key, name, value))
    return pd.DataFrame(rows, columns=[*by, "track", "readout", "value"])


#: Names of the readouts a track file gives (those of the simulator).
TRACK_READOUTS: tuple[str, ...] = tuple(READOUTS)
