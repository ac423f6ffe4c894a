"""Sensitivity analysis: Sobol indices of the Ishigami function; Morris on the simulator."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tropism.cli import app
from tropism.fit.models import FunctionModel
from tropism.fit.sensitivity import sensitivity

from .test_fit_sweep import CXCL12, TINY

A, B = 7.0, 0.1


def ishigami(values, rng):
    """Ishigami & Homma (1990): sin x1 + a sin^2 x2 + b x3^4 sin x1 on [-pi, pi]^3."""
    x1, x2, x3 = values["x1"], values["x2"], values["x3"]
    return math.sin(x1) + A * math.sin(x2) ** 2 + B * x3**4 * math.sin(x1)


def ishigami_indices() -> tuple[np.ndarray, np.ndarray]:
    """Analytic first-order and total Sobol indices (Saltelli et al. 2008, sec. 4.4)."""
    v1 = 0.5 * (1 + B * math.pi**4 / 5) ** 2
    v2 = A**2 / 8
    v13 = B**2 * math.pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    s1 = np.array([v1, v2, 0.0]) / var
    st = np.array([v1 + v13, v2, v13]) / var
    return s1, st


def test_sobol_indices_of_the_ishigami_function_match_the_analytic_values(tmp_path):
    pi = repr(math.pi)
    res = sensitivity(
        vary=[f"x{i}=-{pi}..{pi}" for i in (1, 2, 3)],
        readout="value",
        model=FunctionModel(ishigami),
        samples=1024,
        workers=1,
        out=tmp_path / "ishigami",
    )
    assert len(res.Y) == 1024 * 5
    s1, st = ishigami_indices()  # S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244
    got = res.indices.set_index("parameter").loc[["x1", "x2", "x3"]]
    np.testing.assert_allclose(got["S1"], s1, atol=0.04)
    np.testing.assert_allclose(got["ST"], st, atol=0.04)
    # the reported 95 % intervals cover the analytic values
    assert (abs(got["S1"] - s1) <= got["S1_conf"] + 0.01).all()
    assert (abs(got["ST"] - st) <= got["ST_conf"] + 0.01).all()
    assert list(res.indices["parameter"]) == ["x1", "x2", "x3"]  # ranked by total index
    assert np.isnan(res.noise_share)  # one replicate per point
    assert (tmp_path / "ishigami" / "figures" / "sensitivity-value.png").is_file()
    written = pd.read_csv(tmp_path / "ishigami" / "indices.csv")
    assert list(written["parameter"]) == ["x1", "x2", "x3"]


def test_morris_on_the_simulator_end_to_end(tmp_path):
    runner = CliRunner()
    sets = [a for s in TINY for a in ("--set", s)]
    args = [
        "sensitivity", "msc-gradient-cxcl12",
        "--vary", "cells.msc.chemotactic_speed=0.02..0.4 um/min",
        "--vary", "cells.msc.persistence=2..10 min",
        "--method", "morris", "--samples", "2", "--readout", "fmi", "--condition", CXCL12,
        "--replicates", "1", "--workers", "1", "--out", str(tmp_path / "m"), *sets,
    ]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "morris sensitivity of fmi" in res.output
    table = pd.read_csv(tmp_path / "m" / "indices.csv")
    assert set(table["parameter"]) == {"cells.msc.chemotactic_speed", "cells.msc.persistence"}
    assert (table["mu_star"] >= 0).all() and np.isfinite(table["mu_star_conf"]).all()
    # chemotactic speed drives the forward migration index more than persistence does
    assert table["parameter"].iloc[0] == "cells.msc.chemotactic_speed"
    assert (tmp_path / "m" / "figures" / "sensitivity-fmi.png").is_file()
    # a condition is needed when the scenario has several
    bad = runner.invoke(app, [a for a in args if a not in ("--condition", CXCL12)])
    assert bad.exit_code == 2 and "expected --condition NAME" in bad.output


def test_sobol_needs_a_power_of_two():
    from tropism.errors import TropismError

    with pytest.raises(TropismError, match="power of 2"):
        sensitivity(
            vary=["x1=0.0..1.0"], readout="value", model=FunctionModel(ishigami), samples=100
        )
