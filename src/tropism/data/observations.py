"""A user's measurements as readouts to fit: one value per condition, time, replicate, readout.

:func:`load_observations` reads any of three file forms and returns :class:`Observations`:

- ``tracks``: a TrackMate spots export or a plain track CSV (:mod:`tropism.data.tracks`),
  reduced per replicate to the simulator's track readouts (``fmi``, ``chemotactic_index``,
  ``speed``, ``drift_velocity``, ...); the simulated counterpart is computed from simulated
  tracks sampled at the same frame interval over the same window;
- ``counts``: Transwell counts or percentages (:mod:`tropism.data.counts`), compared with the
  simulated readouts ``migrated_fraction`` / ``migrated_count`` at the counted times;
- ``readouts``: any readout already reduced, columns ``condition, time, replicate, readout,
  value`` (time with units, or ``time_h`` / ``time_min``), compared with the simulated readout
  of the same name at that time.

A data readout is compared with the simulated readout of the same name unless a mapping says
otherwise (``readout_map``, the command line's ``--map DATA=SIM``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tropism.data.counts import TRANSWELL_READOUTS, columns, read_counts, read_times
from tropism.data.tracks import TrackData, per_track_readouts, read_tracks
from tropism.errors import ScenarioError, TropismError

__all__ = ["KINDS", "Observations", "detect_kind", "load_observations"]

KINDS = ("auto", "tracks", "counts", "readouts")


@dataclass
class Observations:
    """Measured readouts.

    Attributes
    ----------
    table
        ``condition, time (min), replicate, readout, value``.
    kind
        ``"tracks"``, ``"counts"`` or ``"readouts"``.
    source
        The file.
    tracks
        The tracks (track data only).
    per_track
        Every readout of every track (track data only): gives the measurement error of a
        condition filmed in a single replicate.
    """

    table: pd.DataFrame
    kind: str
    source: str
    tracks: TrackData | None = None
    per_track: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def conditions(self) -> list[str]:
        """Condition names in file order."""
        return list(dict.fromkeys(self.table["condition"]))

    @property
    def readouts(self) -> list[str]:
        """Readout names in file order."""
        return list(dict.fromkeys(self.table["readout"]))

    def select(self, readouts: list[str] | None) -> Observations:
        """Only these readouts (all when ``None``); unknown names are an error."""
        if not readouts:
            return self
        unknown = [r for r in readouts if r not in self.readouts]
        if unknown:
            raise TropismError(
                f"--readout {unknown[0]}: not in the data; "
                f"expected one of {', '.join(self.readouts)}"
            )
        table = self.table[self.table["readout"].isin(readouts)].reset_index(drop=True)
        return Observations(table, self.kind, self.source, self.tracks, self.per_track)

    def rename_conditions(self, name: str) -> Observations:
        """Give every row the condition ``name`` (a file without a condition column)."""
        table = self.table.assign(condition=name)
        per = self.per_track.assign(condition=name) if self.per_track is not None else None
        tracks = self.tracks
        if tracks is not None:
            tracks = TrackData(
                tracks.tracks.assign(condition=name),
                tracks.frame_interval,
                tracks.up,
                tracks.source,
            )
        return Observations(table, self.kind, self.source, tracks, per)

    def summary(self) -> pd.DataFrame:
        """Per condition, time and readout: ``n, mean, se`` of the replicate values.

        With a single replicate of track data the standard error comes from the spread of
        the single tracks (sd / sqrt(tracks)); otherwise ``se`` is NaN with fewer than two
        replicates.
        """
        rows = []
        for (cond, time, readout), g in self.table.groupby(
            ["condition", "time", "readout"], sort=False
        ):
            v = g["value"].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            n = v.size
            mean = float(np.mean(v)) if n else float("nan")
            se = float(np.std(v, ddof=1) / np.sqrt(n)) if n >= 2 else float("nan")
            if n == 1 and self.per_track is not None:
                p = self.per_track
                t = p[(p["condition"] == cond) & (p["readout"] == readout)]["value"]
                t = t.to_numpy(dtype=float)
                t = t[np.isfinite(t)]
                if t.size >= 2:
                    se = float(np.std(t, ddof=1) / np.sqrt(t.size))
            rows.append((cond, float(time), readout, n, mean, se))
        return pd.DataFrame(rows, columns=["condition", "time", "readout", "n", "mean", "se"])

    def digest(self) -> str:
        """Hash of the data (for a fit's manifest)."""
        h = hashlib.sha256(self.kind.encode())
        h.update(pd.util.hash_pandas_object(self.table, index=False).values.tobytes())
        if self.tracks is not None:
            h.update(self.tracks.digest().encode())
        return h.hexdigest()


def detect_kind(path: str | Path) -> str:
    """``"readouts"``, ``"counts"`` or ``"tracks"`` from a file's columns."""
    try:
        head = pd.read_csv(path, nrows=0, dtype=str, skipinitialspace=True)
    except FileNotFoundError:
        raise TropismError(f"data file '{path}' not found") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise TropismError(f"cannot read data file '{path}': {exc}") from None
    cols = {c.strip().lower() for c in head.columns}
    if {"readout", "value"} <= cols:
        return "readouts"
    if cols & set(TRANSWELL_READOUTS):
        return "counts"
    return "tracks"


def _read_readouts(path: str | Path, condition: str | None) -> pd.DataFrame:
    label = str(path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    if raw.empty:
        raise TropismError(f"{label}: no rows; expected condition, time, replicate, readout, value")
    cols = columns(raw)
    values = pd.to_numeric(raw[cols["value"]], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        raise ScenarioError(f"{label}: row {i + 2} value", raw[cols["value"]].iloc[i], "a number")
    if "condition" in cols and condition is not None:
        raise TropismError(f"{label}: the file has a condition column; expected no --condition")
    out = pd.DataFrame(
        {
            "condition": raw[cols["condition"]].str.strip().to_numpy()
            if "condition" in cols
            else (condition or ""),
            "time": read_times(raw, cols, label),
            "readout": raw[cols["readout"]].str.strip().to_numpy(),
            "value": values,
        }
    )
    if "replicate" in cols:
        out["replicate"] = raw[cols["replicate"]].str.strip().to_numpy()
    else:
        out["replicate"] = (out.groupby(["condition", "time", "readout"]).cumcount() + 1).astype(
            str
        )
    return out[["condition", "time", "replicate", "readout", "value"]]


def load_observations(
    path: str | Path,
    *,
    kind: str = "auto",
    pixel_size: str | float | None = None,
    frame_interval: str | float | None = None,
    gradient: str | float | None = "+x",
    condition: str | None = None,
) -> Observations:
    """Read a data file (see the module docstring); ``kind="auto"`` looks at its columns.

    ``pixel_size``, ``frame_interval`` and ``gradient`` apply to track files; ``condition``
    names the condition of every row of a file without a condition column.
    """
    if kind not in KINDS:
        raise ScenarioError("--data-kind", kind, f"one of {', '.join(KINDS)}")
    if kind == "auto":
        kind = detect_kind(path)
    if kind != "tracks" and (pixel_size is not None or frame_interval is not None):
        raise TropismError(
            f"{path}: {kind} data; expected --pixel-size and --frame-interval only with tracks"
        )
    if kind == "counts":
        return Observations(read_counts(path, condition), kind, str(path))
    if kind == "readouts":
        return Observations(_read_readouts(path, condition), kind, str(path))
    data = read_tracks(
        path,
        pixel_size=pixel_size,
        frame_interval=frame_interval,
        gradient=gradient,
        condition=condition,
    )
    reduced = data.readouts()
    reduced["time"] = data.window
    table = reduced[["condition", "time", "replicate", "readout", "value"]]
    per = per_track_readouts(data.tracks, data.up)
    return Observations(table, "tracks", str(path), data, per)
