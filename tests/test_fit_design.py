"""Experimental design: replicates for a fold change and power, from simulated variability."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from tropism.cli import app
from tropism.errors import TropismError
from tropism.fit.design import design, required_n, welch_power
from tropism.fit.models import FunctionModel

from .test_fit_sweep import CXCL12, TINY


def test_power_of_the_t_test_matches_the_textbook_numbers():
    # Cohen's d = 1, alpha 0.05 two-sided, power 0.8: 17 per group (Cohen 1988, table 2.4.1)
    assert required_n(1.0, 1.0, 1.0, 0.8, 0.05, 100) == 17
    # d = 0.5: 64 per group
    assert required_n(0.5, 1.0, 1.0, 0.8, 0.05, 100) == 64
    # equal SDs: Welch's df is 2n - 2, the power that of the pooled t-test
    n, d = 10, 1.2
    df, ncp = 2 * n - 2, d * np.sqrt(n / 2)
    t = stats.t.ppf(0.975, df)
    exact = stats.nct.sf(t, df, ncp) + stats.nct.cdf(-t, df, ncp)
    assert welch_power(n, d, 1.0, 1.0) == pytest.approx(exact, rel=1e-9)
    # and a Monte-Carlo check of that power
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, (20000, n))
    b = rng.normal(d, 1.0, (20000, n))
    p = stats.ttest_ind(a, b, axis=1, equal_var=False).pvalue
    assert np.mean(p < 0.05) == pytest.approx(exact, abs=0.01)


def normal_readout(values, rng):
    return {"count": rng.normal(10.0, 2.0)}


def test_design_uses_the_pilot_sd():
    res = design(
        effect=1.5,
        readout="count",
        model=FunctionModel(normal_readout, replicates=12),
        pilot=12,
        workers=1,
    )
    assert len(res.pilot) == 12
    assert res.sd == pytest.approx(np.std(res.pilot, ddof=1))
    assert res.delta == pytest.approx(0.5 * np.mean(res.pilot))
    assert res.n == required_n(res.delta, res.sd, res.sd, 0.8, 0.05, 100)
    assert res.n_low <= res.n <= res.n_high
    assert res.curve.loc[res.curve["n"] == res.n, "power"].item() >= 0.8
    smaller = design(
        difference=0.1 * res.mean,
        readout="count",
        model=FunctionModel(normal_readout, replicates=12),
        pilot=12,
    )
    assert smaller.n > res.n


def test_design_command_on_the_simulator(tmp_path):
    sets = [a for s in TINY for a in ("--set", s)]
    args = ["design", "msc-gradient-cxcl12", "--readout", "fmi", "--condition", CXCL12]
    args += ["--pilot", "4", "--workers", "1", "--out", str(tmp_path / "d"), *sets]
    res = CliRunner().invoke(app, [*args, "--effect", "1.5"])
    assert res.exit_code == 0, res.output
    assert "replicates per group" in res.output
    assert (tmp_path / "d" / "figures" / "power-fmi.png").is_file()
    # a fold change of a mean indistinguishable from 0 is refused
    with pytest.raises(TropismError, match="not distinguishable from 0"):
        design(
            "msc-gradient-cxcl12",
            1.5,
            "fmi",
            set=TINY,
            condition="no chemokine",
            pilot=4,
            workers=1,
        )
    bad = CliRunner().invoke(app, [*args, "--effect", "1"])
    assert bad.exit_code == 2 and "fold change > 0 other than 1" in bad.output
