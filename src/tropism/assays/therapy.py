"""Therapy with TRAIL-secreting cells: tumour burden against the untreated control.

Therapy is not a geometry of its own: any assay with a tumour (``spheroid``, ``systemic``,
``intracranial``) is a therapy experiment when a population secretes TRAIL::

    [cells.trail_msc]
    kind = "msc-ucb"
    secretion = { trail = "1000 /min" }   # molecules per cell per minute

The cells deposit TRAIL into its field where they are (:mod:`tropism.world.cellbio`); it
diffuses and decays (``[fields.trail]``), and tumour cells, viable and lethally irradiated
alike, die at ``trail_kill T / (T + trail_half)`` (:mod:`tropism.world.microenvironment`).
Readouts: ``tumour_burden`` (tumour cells relative to t = 0) and ``tumour_trail`` (mean TRAIL
in the tumour) over time; the summary compares every condition's end-point burden with the
first condition's (put the untreated control first), and :func:`relative_burden` gives that
ratio over time, with Fieller confidence intervals (the study stores it in the summary under
``"relative_to_control"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tropism.stats import compare

__all__ = ["relative_burden", "relative_summary"]


def relative_burden(
    metrics: pd.DataFrame,
    conditions: list[str],
    control: str | None = None,
    readout: str = "tumour_burden",
    test: str = "welch",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """A readout of each condition relative to the control's, at every time point.

    Parameters
    ----------
    metrics
        Long table with columns ``condition``, ``replicate``, ``time``, ``readout``, ``value``
        (the study's metrics).
    conditions
        Condition names in display order.
    control
        The untreated control; default the first condition.
    readout
        The readout compared (default ``tumour_burden``).
    test, confidence
        As :func:`tropism.stats.compare`.

    Returns
    -------
    pandas.DataFrame
        Columns ``condition``, ``time``, ``ratio`` (mean over replicates / the control's
        mean), ``ci_low``, ``ci_high`` (Fieller's interval; NaN where it is unbounded or
        there are fewer than two replicates) and ``p_value``; one row per condition other
        than the control and per time the control has.
    """
    control = conditions[0] if control is None else control
    rows = metrics[metrics["readout"] == readout]
    columns = ["condition", "time", "ratio", "ci_low", "ci_high", "p_value"]
    if rows.empty or control not in set(rows["condition"]):
        return pd.DataFrame({c: [] for c in columns})
    groups = {
        key: grp["value"].to_numpy(dtype=float)
        for key, grp in rows.groupby(["condition", "time"], sort=True)
    }
    times = sorted(t for (c, t) in groups if c == control)
    out = []
    for cond in conditions:
        if cond == control:
            continue
        for t in times:
            treated = groups.get((cond, t))
            if treated is None:
                continue
            cmp = compare(groups[(control, t)], treated, test, confidence)
            out.append(
                (
                    cond,
                    float(t),
                    _nan(cmp["fold_change"]),
                    _nan(cmp["fc_ci_low"]),
                    _nan(cmp["fc_ci_high"]),
                    _nan(cmp["p_value"]),
                )
            )
    return pd.DataFrame(out, columns=columns)


def relative_summary(
    metrics: pd.DataFrame, conditions: list[str], test: str = "welch"
) -> dict | None:
    """:func:`relative_burden` as JSON for the summary, or None without a tumour burden or a
    second condition: ``{"readout", "control", "times", "conditions": {name: {"ratio",
    "ci_low", "ci_high", "p_value"}}}`` (lists over time; None for undefined values)."""
    if len(conditions) < 2 or not (metrics["readout"] == "tumour_burden").any():
        return None
    table = relative_burden(metrics, conditions, test=test)
    if table.empty:
        return None
    out: dict = {
        "readout": "tumour_burden",
        "control": conditions[0],
        "times": sorted(float(t) for t in table["time"].unique()),
        "conditions": {},
    }
    for cond, grp in table.groupby("condition", sort=False):
        out["conditions"][str(cond)] = {
            key: [None if not np.isfinite(v) else float(v) for v in grp[key]]
            for key in ("ratio", "ci_low", "ci_high", "p_value")
        }
    return out


def _nan(value) -> float:
    return float("nan") if value is None else float(value)
