"""Replicate statistics: the numbers a paper reports for each condition and readout.

Each condition of a study is run as ``n`` independent replicates; each replicate gives one
end-point value per readout. This module summarises them the way a paper does:

- per condition: mean, sample standard deviation (``ddof=1``), standard error and a Student-t
  confidence interval ``mean +/- t_{(1+c)/2, n-1} * sd / sqrt(n)``;
- per treated condition against the control: the difference of means with a Welch-Satterthwaite
  t interval, the fold change (ratio of means) with a Fieller interval, and a p-value (Welch's
  t-test or the Mann-Whitney U test).

A missing replicate value is NaN (a readout that is undefined in that replicate, e.g. no cell
moved): it is listed as ``None`` and left out of every statistic, so ``n`` counts the values
that exist. Every number returned is a plain Python ``float``/``int`` or ``None`` (never NaN), so
the result can be written to JSON as it is.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats as _st

TESTS = ("welch", "mannwhitney")
"""Names accepted by :func:`compare` and :func:`summarize` for the p-value."""

_SUMMARY_COLUMNS = [
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


def _as_sample(values: ArrayLike, what: str = "values") -> tuple[np.ndarray, np.ndarray]:
    """Return (all values as float, the finite ones); NaN means missing, inf is an error."""
    arr = np.asarray(values, dtype=float).ravel()
    if np.any(np.isinf(arr)):
        raise ValueError(f"{what} contain an infinite value")
    return arr, arr[~np.isnan(arr)]


def _check_confidence(confidence: float) -> float:
    c = float(confidence)
    if not 0.0 < c < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    return c


def _num(x: Any) -> float | None:
    """Plain float, or None for NaN/inf/None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _t_quantile(confidence: float, dof: float) -> float:
    """Two-sided Student-t critical value t_{(1+c)/2, dof}; normal quantile for dof = inf."""
    q = 0.5 * (1.0 + confidence)
    if math.isinf(dof):
        return float(_st.norm.ppf(q))
    return float(_st.t.ppf(q, dof))


def describe(values: ArrayLike, confidence: float = 0.95) -> dict:
    """Summarise the replicate values of one condition and readout.

    Parameters
    ----------
    values
        Replicate end-point values; NaN marks a missing value (listed, not used).
    confidence
        Confidence level of the interval, in (0, 1).

    Returns
    -------
    dict
        ``{"n", "values", "mean", "sd", "sem", "ci_low", "ci_high"}``. ``sd`` uses ``ddof=1``;
        the interval is ``mean +/- t_{(1+c)/2, n-1} * sem``. With ``n == 1`` ``sd``, ``sem`` and
        the interval are ``None``; with ``n == 0`` the mean is ``None`` too.

    Examples
    --------
    >>> d = describe([1.0, 2.0, 3.0])
    >>> d["n"], d["mean"], d["sd"]
    (3, 2.0, 1.0)
    """
    c = _check_confidence(confidence)
    arr, x = _as_sample(values)
    n = int(x.size)
    out: dict[str, Any] = {
        "n": n,
        "values": [_num(v) for v in arr],
        "mean": None,
        "sd": None,
        "sem": None,
        "ci_low": None,
        "ci_high": None,
    }
    if n == 0:
        return out
    mean = float(np.mean(x))
    out["mean"] = mean
    if n < 2:
        return out
    sd = float(np.std(x, ddof=1))
    sem = sd / math.sqrt(n)
    half = _t_quantile(c, n - 1) * sem
    out.update(sd=sd, sem=sem, ci_low=mean - half, ci_high=mean + half)
    return out


def _welch_dof(v1: float, n1: int, v2: float, n2: int) -> float:
    """Welch-Satterthwaite degrees of freedom of v1 + v2 (v = variance of each mean).

    dof = (v1 + v2)^2 / (v1^2 / (n1 - 1) + v2^2 / (n2 - 1)); infinite when both are zero.
    """
    den = v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1)
    if den == 0.0:
        return math.inf
    return (v1 + v2) ** 2 / den


def _fieller(
    a: float, va: float, na: int, b: float, vb: float, nb: int, confidence: float
) -> tuple[float, float] | None:
    """Fieller interval for the ratio rho = mu_a / mu_b of two independent means.

    ``a``, ``b`` are the sample means and ``va``, ``vb`` the variances of those means
    (s^2 / n). The interval is the set of rho with (a - rho b)^2 <= t^2 (va + rho^2 vb), i.e.
    the roots of (b^2 - t^2 vb) rho^2 - 2 a b rho + (a^2 - t^2 va) = 0:

        rho = [a b +/- t sqrt(b^2 va + a^2 vb - t^2 va vb)] / (b^2 - t^2 vb),

    bounded only when b^2 > t^2 vb (the denominator mean differs significantly from zero);
    otherwise None. t uses the Welch-Satterthwaite degrees of freedom of va + rho^2 vb at the
    point estimate rho = a / b (the usual approximation for unequal variances).
    """
    if b == 0.0:
        return None
    rho = a / b
    dof = _welch_dof(va, na, rho * rho * vb, nb)
    t = _t_quantile(confidence, dof)
    denom = b * b - t * t * vb
    if not denom > 0.0:
        return None
    disc = b * b * va + a * a * vb - t * t * va * vb
    root = t * math.sqrt(max(disc, 0.0))
    lo, hi = (a * b - root) / denom, (a * b + root) / denom
    return (lo, hi)


def compare(
    control: ArrayLike,
    treated: ArrayLike,
    test: str = "welch",
    confidence: float = 0.95,
) -> dict:
    """Compare a treated condition against the control.

    Parameters
    ----------
    control, treated
        Replicate end-point values of each condition (NaN marks a missing value).
    test
        ``"welch"`` (Welch's unequal-variance t-test, ``scipy.stats.ttest_ind`` with
        ``equal_var=False``) or ``"mannwhitney"`` (two-sided ``scipy.stats.mannwhitneyu``).
    confidence
        Confidence level of the intervals, in (0, 1).

    Returns
    -------
    dict
        ``difference`` (treated mean - control mean) with ``diff_ci_low``/``diff_ci_high``
        (Welch-Satterthwaite t interval); ``fold_change`` (treated mean / control mean) with
        ``fc_ci_low``/``fc_ci_high`` (Fieller's interval, ``None`` when it is unbounded, i.e.
        when the control mean does not differ significantly from zero); ``p_value``; ``test``.
        Values that are undefined (too few replicates, a zero control mean) are ``None``.
        Two identical constant samples give ``p_value`` 1.0.

    Raises
    ------
    ValueError
        If ``test`` is not one of :data:`TESTS`.
    """
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}: expected one of {', '.join(TESTS)}")
    c = _check_confidence(confidence)
    _, xc = _as_sample(control, "control values")
    _, xt = _as_sample(treated, "treated values")
    nc, nt = int(xc.size), int(xt.size)
    out: dict[str, Any] = {
        "difference": None,
        "diff_ci_low": None,
        "diff_ci_high": None,
        "fold_change": None,
        "fc_ci_low": None,
        "fc_ci_high": None,
        "p_value": None,
        "test": test,
    }
    if nc == 0 or nt == 0:
        return out
    mc, mt = float(np.mean(xc)), float(np.mean(xt))
    out["difference"] = mt - mc
    if mc != 0.0:
        out["fold_change"] = mt / mc

    if nc >= 2 and nt >= 2:
        vc = float(np.var(xc, ddof=1)) / nc  # variance of each mean, s^2 / n
        vt = float(np.var(xt, ddof=1)) / nt
        # Welch-Satterthwaite interval: diff +/- t_{dof} sqrt(s_t^2/n_t + s_c^2/n_c)
        half = _t_quantile(c, _welch_dof(vt, nt, vc, nc)) * math.sqrt(vt + vc)
        out["diff_ci_low"] = mt - mc - half
        out["diff_ci_high"] = mt - mc + half
        fc = _fieller(mt, vt, nt, mc, vc, nc, c)
        if fc is not None:
            out["fc_ci_low"], out["fc_ci_high"] = fc

    out["p_value"] = _p_value(xc, xt, test)
    for key in ("difference", "diff_ci_low", "diff_ci_high", "fold_change"):
        out[key] = _num(out[key])
    for key in ("fc_ci_low", "fc_ci_high"):
        out[key] = _num(out[key])
    return out


def _p_value(xc: np.ndarray, xt: np.ndarray, test: str) -> float | None:
    both = np.concatenate([xc, xt])
    if both.size >= 2 and np.all(both == both[0]):
        # identical constant samples: no evidence of any difference (scipy gives NaN here)
        return 1.0
    if test == "welch":
        if xc.size < 2 or xt.size < 2:
            return None
        if np.all(xc == xc[0]) and np.all(xt == xt[0]):
            # two different constants: zero standard error, t = +/-inf
            return 0.0
        with warnings.catch_warnings():
            # one constant sample is legitimate here (its variance is exactly zero)
            warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
            res = _st.ttest_ind(xt, xc, equal_var=False)
    else:
        res = _st.mannwhitneyu(xt, xc, alternative="two-sided")
    return _num(res.pvalue)


def _check_endpoints(endpoints: pd.DataFrame) -> None:
    missing = [c for c in ("condition", "replicate", "readout", "value") if c not in endpoints]
    if missing:
        raise ValueError(f"endpoints lack column(s): {', '.join(missing)}")
    dup = endpoints.duplicated(["condition", "replicate", "readout"])
    if dup.any():
        row = endpoints.loc[dup].iloc[0]
        raise ValueError(
            "endpoints have more than one row for condition "
            f"{row['condition']!r}, replicate {row['replicate']!r}, readout {row['readout']!r}"
        )


def summarize(
    endpoints: pd.DataFrame,
    conditions: list[str],
    readouts: dict[str, dict],
    test: str = "welch",
    confidence: float = 0.95,
) -> dict:
    """Summarise a study: every condition described, every treated condition compared.

    Parameters
    ----------
    endpoints
        Columns ``condition``, ``replicate``, ``readout``, ``value``; one row per replicate and
        readout. Rows of conditions or readouts not named below are ignored.
    conditions
        Condition names in display order; the first is the control.
    readouts
        Readout name -> ``{"unit": ..., "description": ...}``, in display order.
    test
        p-value test, see :func:`compare`.
    confidence
        Confidence level of every interval.

    Returns
    -------
    dict
        ``{"control", "test", "confidence", "readouts": {name: {"unit", "description"}},
        "conditions": [{"name", "readouts": {name: describe(...)}}, ...],
        "comparisons": [{"condition", "readout", **compare(control, this)}, ...]}``; no
        comparison row for the control itself. JSON-ready (floats, ints, strings, None).
    """
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}: expected one of {', '.join(TESTS)}")
    if not conditions:
        raise ValueError("summarize needs at least one condition (the control)")
    if len(set(conditions)) != len(conditions):
        raise ValueError(f"condition names repeat: {conditions!r}")
    _check_endpoints(endpoints)
    ordered = endpoints.sort_values(["condition", "readout", "replicate"], kind="stable")
    groups = {
        key: grp["value"].to_numpy(dtype=float)
        for key, grp in ordered.groupby(["condition", "readout"], sort=False)
    }
    empty = np.empty(0)

    def sample(cond: str, readout: str) -> np.ndarray:
        return groups.get((cond, readout), empty)

    control = conditions[0]
    out: dict[str, Any] = {
        "control": control,
        "test": test,
        "confidence": float(confidence),
        "readouts": {
            name: {
                "unit": str(info.get("unit", "")),
                "description": str(info.get("description", "")),
            }
            for name, info in readouts.items()
        },
        "conditions": [
            {"name": cond, "readouts": {r: describe(sample(cond, r), confidence) for r in readouts}}
            for cond in conditions
        ],
        "comparisons": [
            {
                "condition": cond,
                "readout": r,
                **compare(sample(control, r), sample(cond, r), test, confidence),
            }
            for cond in conditions[1:]
            for r in readouts
        ],
    }
    return out


def summary_frame(summary: dict) -> pd.DataFrame:
    """One row per condition and readout, for printing the summary table.

    Parameters
    ----------
    summary
        The dictionary returned by :func:`summarize` (or read back from ``summary.json``).

    Returns
    -------
    pandas.DataFrame
        Columns ``condition, readout, unit, n, mean, ci_low, ci_high, fold_change, fc_ci_low,
        fc_ci_high, difference, p_value``, conditions in order; the comparison columns are NaN
        on the control's rows and wherever a value is undefined.
    """
    comps = {(c["condition"], c["readout"]): c for c in summary.get("comparisons", [])}
    units = summary.get("readouts", {})
    rows = []
    for cond in summary.get("conditions", []):
        for readout, d in cond["readouts"].items():
            comp = comps.get((cond["name"], readout), {})
            rows.append(
                {
                    "condition": cond["name"],
                    "readout": readout,
                    "unit": units.get(readout, {}).get("unit", ""),
                    "n": int(d["n"]),
                    "mean": d["mean"],
                    "ci_low": d["ci_low"],
                    "ci_high": d["ci_high"],
                    "fold_change": comp.get("fold_change"),
                    "fc_ci_low": comp.get("fc_ci_low"),
                    "fc_ci_high": comp.get("fc_ci_high"),
                    "difference": comp.get("difference"),
                    "p_value": comp.get("p_value"),
                }
            )
    frame = pd.DataFrame(rows, columns=_SUMMARY_COLUMNS)
    floats = [c for c in _SUMMARY_COLUMNS if c not in ("condition", "readout", "unit", "n")]
    frame[floats] = frame[floats].astype(float)
    frame["n"] = frame["n"].astype(int)
    return frame
