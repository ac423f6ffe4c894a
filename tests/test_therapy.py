"""Tumour burden relative to the untreated control, over time (therapy runs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tropism.assays.therapy import relative_burden, relative_summary


def _metrics(values: dict[str, dict[float, list[float]]]) -> pd.DataFrame:
    rows = []
    for cond, by_time in values.items():
        for t, reps in by_time.items():
            for r, v in enumerate(reps):
                rows.append((cond, r, "tumour", t, "tumour_burden", v))
    return pd.DataFrame(
        rows, columns=["condition", "replicate", "population", "time", "readout", "value"]
    )


METRICS = _metrics(
    {
        "untreated": {60.0: [1.0, 1.2, 1.1], 120.0: [1.4, 1.6, 1.5]},
        "TRAIL": {60.0: [0.5, 0.6, 0.55], 120.0: [0.3, 0.3, 0.3]},
    }
)


def test_ratio_is_the_mean_over_the_control_mean_at_each_time():
    table = relative_burden(METRICS, ["untreated", "TRAIL"])
    assert list(table["condition"]) == ["TRAIL", "TRAIL"]
    assert list(table["time"]) == [60.0, 120.0]
    assert table["ratio"].tolist() == pytest.approx([0.55 / 1.1, 0.3 / 1.5])
    # Fieller's interval brackets the ratio; the clearly smaller burden is significant
    assert np.all(table["ci_low"] < table["ratio"]) and np.all(table["ratio"] < table["ci_high"])
    assert np.all(table["p_value"] < 0.01)


def test_summary_form_and_runs_without_a_tumour():
    out = relative_summary(METRICS, ["untreated", "TRAIL"])
    assert out["control"] == "untreated" and out["times"] == [60.0, 120.0]
    assert out["conditions"]["TRAIL"]["ratio"] == pytest.approx([0.5, 0.2])
    assert relative_summary(METRICS, ["untreated"]) is None  # nothing to compare
    other = METRICS.assign(readout="fmi")
    assert relative_summary(other, ["untreated", "TRAIL"]) is None
    empty = relative_burden(METRICS, ["nope", "TRAIL"])
    assert empty.empty
