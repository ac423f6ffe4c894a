"""Transwell (Boyden chamber) migration counts: cells per condition, time point and replicate.

A CSV with one row per well (replicate) and time point:

=============  ===========================================================================
column         content
=============  ===========================================================================
condition      the scenario condition of the well (optional with a single condition)
time           when the lower side was counted, with units (``"4 h"``); or a number in a
               column ``time_h`` / ``time_min``
replicate      the well (optional: the rows of a condition and time are numbered)
count          migrated cells counted on the lower side, a whole number >= 0, or
percent        migrated cells as % of those seeded (0-100), or
fraction       the same as a fraction (0-1)
seeded         cells seeded per well (optional; with ``count`` gives the fraction)
=============  ===========================================================================

Each measurement becomes a readout the simulator is compared with by name
(:data:`TRANSWELL_READOUTS`): ``migrated_fraction`` (percent / 100, fraction, count / seeded)
or ``migrated_count``. The Transwell assay reports those readouts under these names; a fit
of these data to an assay that does not report them says so and lists what it does report.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from tropism.errors import ScenarioError, TropismError

__all__ = ["TRANSWELL_READOUTS", "columns", "read_counts", "read_times"]

#: Data column -> (name of the simulated readout it is compared with, factor to that readout).
TRANSWELL_READOUTS: dict[str, tuple[str, float]] = {
    "percent": ("migrated_fraction", 0.01),
    "fraction": ("migrated_fraction", 1.0),
    "count": ("migrated_count", 1.0),
}

#: Time columns that carry their unit in the name.
_TIME_COLUMNS = {"time_h": 60.0, "time_min": 1.0, "hours": 60.0, "minutes": 1.0}


def columns(raw: pd.DataFrame) -> dict[str, str]:
    """Lower-case stripped column name -> column name."""
    return {c.strip().lower(): c for c in raw.columns}


def read_times(raw: pd.DataFrame, cols: dict[str, str], label: str) -> np.ndarray:
    """Times in min from a ``time`` column with units, or ``time_h`` / ``time_min``."""
    from tropism.units import parse_quantity

    if "time" in cols:
        col = cols["time"]
        out = []
        for i, text in enumerate(raw[col]):
            out.append(parse_quantity(str(text), "time", key=f"{label}: row {i + 2} {col}"))
        return np.asarray(out)
    for name, factor in _TIME_COLUMNS.items():
        if name in cols:
            col = cols[name]
            values = pd.to_numeric(raw[col], errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(values) | (values < 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ScenarioError(f"{label}: row {i + 2} {col}", raw[col].iloc[i], "a time >= 0")
            return values * factor
    raise TropismError(
        f"{label}: no time column; expected 'time' with units ('4 h'), 'time_h' or 'time_min'"
    )


def read_counts(path: str | Path, condition: str | None = None) -> pd.DataFrame:
    """Read Transwell counts or percentages.

    Parameters
    ----------
    path
        The CSV file (see the module docstring for its columns).
    condition
        The condition of every row when the file has no ``condition`` column.

    Returns
    -------
    pandas.DataFrame
        ``condition, time (min), replicate, readout, value``, one row per well and time.

    Raises
    ------
    TropismError
        A missing column, a value out of range (negative count, percentage above 100, a count
        above the cells seeded): one line naming the row, the column and the value.
    """
    label = str(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise TropismError(f"data file '{label}' not found") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise TropismError(f"cannot read data file '{label}': {exc}") from None
    if raw.empty:
        raise TropismError(f"{label}: no rows; expected one row per well and time point")
    cols = columns(raw)
    measured = [name for name in TRANSWELL_READOUTS if name in cols]
    if len(measured) != 1:
        have = ", ".join(raw.columns)
        raise TropismError(
            f"{label}: columns {have}; expected exactly one of count, percent, fraction"
        )
    kind = measured[0]
    col = cols[kind]
    values = pd.to_numeric(raw[col], errors="coerce").to_numpy(dtype=float)
    limits = {"count": (0.0, math.inf), "percent": (0.0, 100.0), "fraction": (0.0, 1.0)}[kind]
    for i, v in enumerate(values):
        where = f"{label}: row {i + 2} {col}"
        if not math.isfinite(v) or not limits[0] <= v <= limits[1]:
            expected = {
                "count": "a whole number of cells >= 0",
                "percent": "a percentage between 0 and 100",
                "fraction": "a fraction between 0 and 1",
            }[kind]
            raise ScenarioError(where, raw[col].iloc[i], expected)
        if kind == "count" and not float(v).is_integer():
            raise ScenarioError(where, raw[col].iloc[i], "a whole number of cells >= 0")
    readout, factor = TRANSWELL_READOUTS[kind]
    if kind == "count" and "seeded" in cols:
        seeded = pd.to_numeric(raw[cols["seeded"]], errors="coerce").to_numpy(dtype=float)
        for i, (v, s) in enumerate(zip(values, seeded, strict=True)):
            if not (math.isfinite(s) and s > 0 and float(s).is_integer()):
                raise ScenarioError(
                    f"{label}: row {i + 2} {cols['seeded']}",
                    raw[cols["seeded"]].iloc[i],
                    "a whole number of cells > 0",
                )
            if v > s:
                raise ScenarioError(
                    f"{label}: row {i + 2} {col}", raw[col].iloc[i], f"at most the {s:g} seeded"
                )
        values, readout, factor = values / seeded, "migrated_fraction", 1.0
    times = read_times(raw, cols, label)
    if "condition" in cols:
        if condition is not None:
            raise TropismError(f"{label}: the file has a condition column; expected no --condition")
        conds = raw[cols["condition"]].str.strip()
        empty = np.flatnonzero((conds == "").to_numpy())
        if empty.size:
            raise ScenarioError(f"{label}: row {empty[0] + 2} condition", "", "a condition name")
    else:
        conds = pd.Series(condition or "", index=raw.index)
    out = pd.DataFrame(
        {"condition": conds.to_numpy(), "time": times, "readout": readout, "value": values * factor}
    )
    if "replicate" in cols:
        out["replicate"] = raw[cols["replicate"]].str.strip().to_numpy()
        dup = out.duplicated(["condition", "time", "replicate"])
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])
            raise TropismError(
                f"{label}: row {i + 2}: replicate {out['replicate'].iloc[i]!r} of "
                f"{out['condition'].iloc[i]!r} at this time appears twice; expected once"
            )
    else:
        out["replicate"] = (out.groupby(["condition", "time"]).cumcount() + 1).astype(str)
    return out[["condition", "time", "replicate", "readout", "value"]]
