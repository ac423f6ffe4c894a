"""Replicate statistics against hand-computed formulas, exact enumeration and simulation."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from tropism.stats import compare, describe, summarize, summary_frame

# Two-sided 95 % Student-t critical values from a printed table (t_{0.975, dof}); independent of
# scipy. Given to 10 significant digits, hence the 1e-9 relative tolerances below.
T_975 = {4: 2.776445105, 5: 2.570581836}


def test_describe_matches_hand_computed_t_interval():
    x = [2.1, 3.4, 1.9, 4.2, 3.3]
    n = len(x)
    mean = sum(x) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in x) / (n - 1))
    half = T_975[n - 1] * sd / math.sqrt(n)
    d = describe(x)
    assert d["n"] == n
    assert d["values"] == x
    assert d["mean"] == pytest.approx(mean, rel=1e-12)
    assert d["sd"] == pytest.approx(sd, rel=1e-12)
    assert d["sem"] == pytest.approx(sd / math.sqrt(n), rel=1e-12)
    assert d["ci_low"] == pytest.approx(mean - half, rel=1e-9)
    assert d["ci_high"] == pytest.approx(mean + half, rel=1e-9)
    assert all(type(d[k]) is float for k in ("mean", "sd", "sem", "ci_low", "ci_high"))


def test_describe_ci_covers_true_mean_95_percent():
    rng = np.random.default_rng(20240601)
    trials, mu = 4000, 3.0
    hits = 0
    for _ in range(trials):
        d = describe(rng.normal(mu, 2.0, size=5))
        hits += d["ci_low"] <= mu <= d["ci_high"]
    # binomial sd of the coverage is sqrt(0.95 * 0.05 / 4000) = 0.0034: +/-1.5 % is ~4.4 sd
    assert abs(hits / trials - 0.95) < 0.015


def test_describe_single_value_and_missing_values():
    d = describe([4.0])
    assert d == {
        "n": 1,
        "values": [4.0],
        "mean": 4.0,
        "sd": None,
        "sem": None,
        "ci_low": None,
        "ci_high": None,
    }
    # NaN marks a missing replicate: listed as None, excluded from the statistics
    d = describe([1.0, float("nan"), 3.0])
    assert d["n"] == 2 and d["values"] == [1.0, None, 3.0] and d["mean"] == 2.0
    assert describe([])["mean"] is None
    json.dumps(d, allow_nan=False)


def test_describe_rejects_bad_input():
    with pytest.raises(ValueError):
        describe([1.0, math.inf])
    with pytest.raises(ValueError):
        describe([1.0, 2.0], confidence=1.5)


def test_welch_matches_hand_formula():
    ctrl = np.array([10.2, 11.8, 9.7, 10.9, 12.1, 10.4])
    trt = np.array([13.9, 16.2, 12.5, 18.0, 14.4])
    m1, m2 = trt.mean(), ctrl.mean()
    v1 = np.sum((trt - m1) ** 2) / (trt.size - 1) / trt.size
    v2 = np.sum((ctrl - m2) ** 2) / (ctrl.size - 1) / ctrl.size
    t = (m1 - m2) / math.sqrt(v1 + v2)
    dof = (v1 + v2) ** 2 / (v1**2 / (trt.size - 1) + v2**2 / (ctrl.size - 1))
    p = 2.0 * st.t.sf(abs(t), dof)
    half = st.t.ppf(0.975, dof) * math.sqrt(v1 + v2)
    r = compare(ctrl, trt)
    assert r["test"] == "welch"
    # both sides evaluate the same closed form in float64: agreement to rounding
    assert r["p_value"] == pytest.approx(p, rel=1e-10)
    assert r["difference"] == pytest.approx(m1 - m2, rel=1e-12)
    assert r["diff_ci_low"] == pytest.approx(m1 - m2 - half, rel=1e-10)
    assert r["diff_ci_high"] == pytest.approx(m1 - m2 + half, rel=1e-10)
    assert r["fold_change"] == pytest.approx(m1 / m2, rel=1e-12)
    json.dumps(r, allow_nan=False)


def test_fieller_reduces_to_t_interval_for_exact_control():
    # With a control of zero variance, the ratio's interval is the treated mean's t interval
    # divided by the control mean (an exact special case of Fieller's theorem).
    ctrl = [4.0, 4.0, 4.0, 4.0]
    trt = np.array([6.1, 7.3, 5.2, 8.0, 6.6, 7.1])
    m, s = trt.mean(), trt.std(ddof=1)
    half = T_975[trt.size - 1] * s / math.sqrt(trt.size)
    r = compare(ctrl, trt)
    assert r["fc_ci_low"] == pytest.approx((m - half) / 4.0, rel=1e-9)
    assert r["fc_ci_high"] == pytest.approx((m + half) / 4.0, rel=1e-9)


def test_fieller_coverage_by_simulation():
    rng = np.random.default_rng(7)
    trials = 4000
    mu_c, mu_t = 10.0, 15.0  # control mean 10 sd 2: 5 standard errors away from zero
    ratio = mu_t / mu_c
    fc_hits = diff_hits = 0
    for _ in range(trials):
        c = rng.normal(mu_c, 2.0, size=6)
        t = rng.normal(mu_t, 4.0, size=6)
        r = compare(c, t)
        assert r["fc_ci_low"] is not None
        assert r["fc_ci_low"] <= r["fold_change"] <= r["fc_ci_high"]
        fc_hits += r["fc_ci_low"] <= ratio <= r["fc_ci_high"]
        diff_hits += r["diff_ci_low"] <= mu_t - mu_c <= r["diff_ci_high"]
    # binomial sd of a 95 % coverage over 4000 trials is 0.0034: +/-1.5 % is ~4.4 sd
    assert abs(fc_hits / trials - 0.95) < 0.015
    assert abs(diff_hits / trials - 0.95) < 0.015


def test_fieller_unbounded_when_control_mean_near_zero():
    rng = np.random.default_rng(3)
    ctrl = rng.normal(0.0, 1.0, size=6)
    ctrl -= ctrl.mean() - 0.05  # mean 0.05 with sd ~1: not significantly different from zero
    r = compare(ctrl, rng.normal(5.0, 1.0, size=6))
    assert r["fc_ci_low"] is None and r["fc_ci_high"] is None
    assert r["fold_change"] == pytest.approx(r["difference"] / 0.05 + 1.0, rel=1e-9)
    r = compare([-1.0, 1.0, 0.0], [2.0, 3.0, 4.0])  # control mean exactly zero
    assert r["fold_change"] is None and r["fc_ci_low"] is None


def _exact_mannwhitney_p(x: list[float], y: list[float]) -> float:
    """Exact two-sided p of U by enumerating every split of the pooled sample (no ties)."""
    pooled = x + y

    def u_of(first):
        return sum(a > b for a in first for b in pooled if b not in first)

    u_obs = u_of(x)
    us = [u_of(list(c)) for c in itertools.combinations(pooled, len(x))]
    le = sum(u <= u_obs for u in us) / len(us)
    ge = sum(u >= u_obs for u in us) / len(us)
    return min(1.0, 2.0 * min(le, ge))


def test_mannwhitney_matches_scipy_and_exact_enumeration():
    ctrl = [1.2, 3.4, 2.2, 0.7, 1.9]
    trt = [3.9, 2.8, 5.1, 4.4]
    r = compare(ctrl, trt, test="mannwhitney")
    ref = st.mannwhitneyu(trt, ctrl, alternative="two-sided").pvalue
    assert r["test"] == "mannwhitney"
    assert r["p_value"] == pytest.approx(ref, rel=1e-12)
    # small sample without ties: scipy's exact p equals the enumerated one
    assert r["p_value"] == pytest.approx(_exact_mannwhitney_p(trt, ctrl), rel=1e-12)


def test_constant_samples():
    for test in ("welch", "mannwhitney"):
        r = compare([2.0, 2.0, 2.0], [2.0, 2.0, 2.0], test=test)
        assert r["p_value"] == 1.0
        assert r["difference"] == 0.0 and r["fold_change"] == 1.0
        json.dumps(r, allow_nan=False)
    r = compare([2.0, 2.0, 2.0], [3.0, 3.0, 3.0])
    assert r["p_value"] == 0.0 and r["fold_change"] == 1.5


def test_single_replicate_and_unknown_test():
    r = compare([1.0], [2.0, 3.0])
    assert r["difference"] == 1.5 and r["fold_change"] == 2.5
    assert r["diff_ci_low"] is None and r["fc_ci_low"] is None and r["p_value"] is None
    with pytest.raises(ValueError, match="unknown test"):
        compare([1.0, 2.0], [3.0, 4.0], test="anova")


def _endpoints() -> pd.DataFrame:
    rows = []
    data = {
        "control": {"fmi": [0.01, -0.02, 0.03], "speed": [1.0, 1.2, 1.1]},
        "cxcl12": {"fmi": [0.20, 0.25, 0.18], "speed": [1.3, 1.4, 1.2]},
        "cxcl12+amd": {"fmi": [0.05, 0.02, 0.04], "speed": [1.1, 1.0, 1.2]},
    }
    for cond, per in data.items():
        for readout, values in per.items():
            # replicates written out of order: summarize orders them by replicate
            for rep in (2, 0, 1):
                rows.append(
                    {"condition": cond, "replicate": rep, "readout": readout, "value": values[rep]}
                )
    return pd.DataFrame(rows)


READOUTS = {
    "fmi": {"unit": "1", "description": "forward migration index"},
    "speed": {"unit": "um/min", "description": "mean path speed"},
}


def test_summarize_layout_and_values():
    ep = _endpoints()
    conds = ["control", "cxcl12", "cxcl12+amd"]
    s = summarize(ep, conds, READOUTS)
    assert s["control"] == "control" and s["test"] == "welch"
    assert s["readouts"] == READOUTS
    assert [c["name"] for c in s["conditions"]] == conds
    assert s["conditions"][1]["readouts"]["fmi"]["values"] == [0.20, 0.25, 0.18]
    assert s["conditions"][1]["readouts"]["fmi"] == describe([0.20, 0.25, 0.18])
    assert [(c["condition"], c["readout"]) for c in s["comparisons"]] == [
        ("cxcl12", "fmi"),
        ("cxcl12", "speed"),
        ("cxcl12+amd", "fmi"),
        ("cxcl12+amd", "speed"),
    ]
    ref = compare([1.0, 1.2, 1.1], [1.3, 1.4, 1.2])
    assert s["comparisons"][1] == {"condition": "cxcl12", "readout": "speed", **ref}
    # JSON-ready: no NaN, plain Python numbers; a round trip gives the same dictionary
    assert json.loads(json.dumps(s, allow_nan=False)) == s

    mw = summarize(ep, conds, READOUTS, test="mannwhitney")
    assert {c["test"] for c in mw["comparisons"]} == {"mannwhitney"}


def test_summary_frame():
    s = summarize(_endpoints(), ["control", "cxcl12", "cxcl12+amd"], READOUTS)
    f = summary_frame(s)
    assert list(f.columns) == [
        "condition",
        "readout",
        "unit",
        "n",
        "mean",
        "ci_low",
        "ci_high",
        "fold_change",
        "fc_ci_low",
        "fc_ci_high",
        "difference",
        "p_value",
    ]
    assert len(f) == 6
    assert list(f["condition"]) == ["control"] * 2 + ["cxcl12"] * 2 + ["cxcl12+amd"] * 2
    assert list(f["unit"]) == ["1", "um/min"] * 3
    assert f["fold_change"].iloc[:2].isna().all()  # no comparison for the control itself
    row = f[(f["condition"] == "cxcl12") & (f["readout"] == "speed")].iloc[0]
    assert row["n"] == 3
    assert row["mean"] == pytest.approx(1.3, rel=1e-12)
    assert row["fold_change"] == pytest.approx(1.3 / 1.1, rel=1e-12)


def test_summarize_rejects_duplicate_rows():
    ep = _endpoints()
    ep = pd.concat([ep, ep.iloc[:1]])
    with pytest.raises(ValueError, match="more than one row"):
        summarize(ep, ["control", "cxcl12"], READOUTS)
