"""Figures for what is coming (density maps, compartment fractions, dose-response) and the
figure-kind API (``Result.plot``), on small synthetic data built by hand.

Expected numbers are computed here from the synthetic inputs (hand-placed cells, replicate
means, Student-t intervals), independently of the plotting code.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from scipy import stats

from tropism.errors import TropismError
from tropism.report import (
    FIGURE_KINDS,
    OKABE_ITO,
    TOL_BRIGHT,
    cell_density,
    compartment_fractions,
    density_map,
    dose_response,
    field_map,
    figure_stems,
    make_figures,
    plot,
)
from tropism.report.figures import report_field_times

from .test_report import CONDITIONS, READOUT_NAMES, make_result

# ------------------------------------------------------------------------ density maps


def _positions() -> pd.DataFrame:
    """Hand-placed cells at t = 60 min: condition 0 packs 4 cells per replicate into one bin."""
    rows = []
    for rep in range(2):
        for k in range(4):  # control: all in the bin [0, 50) x [0, 50)
            rows.append((CONDITIONS[0], rep, 60.0, 10.0 + 5.0 * k, 20.0))
        for k in range(2):  # treated: two cells, in two bins
            rows.append((CONDITIONS[1], rep, 60.0, 110.0 + 100.0 * k, 160.0))
        rows.append((CONDITIONS[1], rep, 30.0, 390.0, 10.0))  # an earlier time: left out
    return pd.DataFrame(rows, columns=["condition", "replicate", "time", "x", "y"])


def test_cell_density_histogram_is_cells_per_mm2_per_replicate():
    xe = np.array([0.0, 50.0, 100.0])
    ye = np.array([0.0, 50.0])
    x = np.array([10.0, 20.0, 30.0, 40.0, 60.0, 70.0])
    y = np.full(6, 25.0)
    dens = cell_density(x, y, xe, ye, replicates=2)
    # 4 cells in the first bin over 2 replicates: 2 per 2500 um^2 = 800 per mm^2; 2 -> 400
    np.testing.assert_allclose(dens, [[800.0], [400.0]], rtol=1e-12)


def test_cell_density_kde_integrates_to_the_cells_per_replicate():
    rng = np.random.default_rng(3)
    x = 500.0 + 30.0 * rng.standard_normal(60)
    y = 500.0 + 30.0 * rng.standard_normal(60)
    edges = np.linspace(0.0, 1000.0, 201)  # 5 um bins, far beyond the cloud
    dens = cell_density(x, y, edges, edges, replicates=3, method="kde")
    total = dens.sum() * 25.0 / 1e6  # cells per mm^2 * bin area (um^2) / um^2 per mm^2
    assert total == pytest.approx(60 / 3, rel=1e-3)  # midpoint rule on a smooth kernel


def test_cell_density_unknown_method():
    with pytest.raises(TropismError, match="method"):
        cell_density(np.zeros(3), np.zeros(3), np.arange(3.0), np.arange(3.0), method="knn")


def test_density_map_one_panel_per_condition_on_the_field_grid():
    r = make_result()
    fig = density_map(r, positions=_positions(), bins=8)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 2  # the conditions that have cells
    # field grid: x 0..400, y 0..160 um -> 8 bins of 50 um across, round(160/50) = 3 up
    (img,) = panels[0].images
    arr = np.asarray(img.get_array())
    assert arr.shape == (3, 8)  # rows y, columns x
    bin_area = 50.0 * (160.0 / 3)
    expect = np.zeros((3, 8))
    expect[0, 0] = 4 / bin_area * 1e6  # 8 cells over 2 replicates, one bin
    np.testing.assert_allclose(arr, expect, rtol=1e-12)
    lows, highs = zip(*(ax.images[0].get_clim() for ax in panels), strict=True)
    assert len(set(highs)) == 1 and highs[0] == pytest.approx(expect.max())
    assert "4 cells" not in panels[0].get_title() and "8 cells" in panels[0].get_title()
    assert panels[1].get_title().endswith("(4 cells from 2 replicates)")  # t = 30 min left out
    labels = {ax.get_xlabel() + ax.get_ylabel() for ax in fig.axes if not ax.images}
    assert any("cells per mm\u00b2" in s for s in labels)


def test_density_map_defaults_to_the_tracks_at_the_last_time():
    r = make_result()
    fig = density_map(r, method="kde")
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == len(CONDITIONS)
    assert all("(12 cells from 3 replicates)" in ax.get_title() for ax in panels)
    assert "t = 2 h" in fig.get_suptitle() and "kernel density" in fig.get_suptitle()


def test_brain_and_spheroid_runs_get_density_maps_instead_of_track_plots():
    r = make_result()
    r.summary["assay"] = "spheroid"
    stems = figure_stems(r)
    assert "density" in stems and "spider" not in stems and "rose" not in stems
    r.summary["assay"] = "gradient"
    stems = figure_stems(r)
    assert "density" not in stems and "spider" in stems and "rose" in stems


# --------------------------------------------------------------- compartment fractions

COMPARTMENTS = ["fraction_blood", "fraction_lungs", "fraction_tumour"]
DAYS = [0.0, 1440.0, 2880.0, 7 * 1440.0]


def _systemic_result():
    r = make_result()
    rng = np.random.default_rng(5)
    rows = []
    for ci, cond in enumerate(CONDITIONS):
        for rep in range(3):
            for t in DAYS:
                tumour = 0.02 * (1 + ci) * t / DAYS[-1] + 0.005 * rng.random()
                lungs = 0.6 * math.exp(-t / 2000.0)
                for name, v in zip(COMPARTMENTS, (1 - lungs - tumour, lungs, tumour), strict=True):
                    rows.append((cond, rep, "msc", t, name, v))
    cols = ["condition", "replicate", "population", "time", "readout", "value"]
    r.metrics = pd.DataFrame(rows, columns=cols)
    return r


def test_compartment_fractions_stack_the_replicate_means():
    r = _systemic_result()
    fig = compartment_fractions(r)
    assert len(fig.axes) == len(CONDITIONS)
    m = r.metrics
    for ax, cond in zip(fig.axes, CONDITIONS, strict=True):
        polys = [c for c in ax.collections if isinstance(c, PolyCollection)]
        assert len(polys) == len(COMPARTMENTS)
        assert [to_hex(p.get_facecolor()[0]).upper() for p in polys] == list(TOL_BRIGHT[:3])
        assert ax.get_xlabel() == "time (d)"  # a week: days
        # the top of the stack is the sum of the replicate means (they add up to 1 here)
        sub = m[m["condition"] == cond]
        means = sub.groupby(["time", "readout"])["value"].mean().unstack()
        top = polys[-1].get_paths()[0].vertices[:, 1]
        assert top.max() == pytest.approx(means.sum(axis=1).max(), rel=1e-12)
        # the lowest layer's upper edge is the first compartment's mean at each day
        low = polys[0].get_paths()[0].vertices
        for t, v in means["fraction_blood"].items():
            assert np.any(np.isclose(low[:, 0], t / 1440.0) & np.isclose(low[:, 1], v))
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["blood", "lungs", "tumour"]


def test_compartment_figure_is_picked_only_when_fractions_exist():
    assert "compartments" in figure_stems(_systemic_result())
    r = make_result()
    assert "compartments" not in figure_stems(r)
    with pytest.raises(TropismError, match="fraction_"):
        compartment_fractions(r)


# ---------------------------------------------------------------------- dose-response

DOSES = [0.0, 1.0, 10.0, 100.0, 1000.0]


def _sweep_data() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for group, emax in (("CXCL12", 0.3), ("CXCL12 + AMD3100", 0.05)):
        for d in DOSES:
            for rep in range(4):
                v = emax * d / (d + 10.0) + 0.02 * rng.standard_normal()
                rows.append((group, d, rep, "fmi", v))
                rows.append((group, d, rep, "speed", 0.2 + 0.01 * rng.standard_normal()))
    return pd.DataFrame(rows, columns=["drug", "cxcl12", "replicate", "readout", "value"])


def test_dose_response_means_band_and_dots_per_group():
    data = _sweep_data()
    fig = dose_response(data, "cxcl12", "fmi", group="drug", x_unit="nM")
    (ax,) = fig.axes
    assert ax.get_xscale() == "linear" and ax.get_xlabel() == "cxcl12 (nM)"
    assert ax.get_ylabel() == "FMI"
    assert len(ax.lines) == 2
    for i, (line, group) in enumerate(zip(ax.lines, ["CXCL12", "CXCL12 + AMD3100"], strict=True)):
        sub = data[(data["drug"] == group) & (data["readout"] == "fmi")]
        assert to_hex(line.get_color()).upper() == OKABE_ITO[i]
        np.testing.assert_allclose(line.get_xdata(), DOSES)
        expect = [sub[sub["cxcl12"] == d]["value"].mean() for d in DOSES]
        np.testing.assert_allclose(line.get_ydata(), expect, rtol=1e-12)
    # the band of the first group at the highest dose: mean +/- t_{0.975, 3} sd / 2
    v = data[(data["drug"] == "CXCL12") & (data["readout"] == "fmi") & (data["cxcl12"] == 1000.0)]
    half = stats.t.ppf(0.975, 3) * v["value"].std(ddof=1) / 2.0
    band = [c for c in ax.collections if isinstance(c, PolyCollection)][0]
    ys = band.get_paths()[0].vertices[:, 1]
    assert np.any(np.isclose(ys, v["value"].mean() + half, rtol=1e-12))
    assert np.any(np.isclose(ys, v["value"].mean() - half, rtol=1e-12))
    dots = [c for c in ax.collections if not isinstance(c, PolyCollection)]
    assert sum(len(c.get_offsets()) for c in dots) == 2 * len(DOSES) * 4  # every replicate
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["CXCL12", "CXCL12 + AMD3100"]


def test_dose_response_log_axis_draws_the_zero_dose_as_a_level():
    data = _sweep_data()
    one = data[data["drug"] == "CXCL12"]
    fig = dose_response(one, "cxcl12", ["fmi", "speed"], log_x=True, units={"speed": "um/min"})
    assert [ax.get_ylabel() for ax in fig.axes] == ["FMI", "speed (\u00b5m/min)"]
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    curve = [ln for ln in ax.lines if ln.get_linestyle() == "-"]
    (level,) = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    np.testing.assert_allclose(curve[0].get_xdata(), DOSES[1:])
    zero = one[(one["readout"] == "fmi") & (one["cxcl12"] == 0.0)]["value"].mean()
    np.testing.assert_allclose(level.get_ydata(), [zero, zero], rtol=1e-12)
    assert "cxcl12 = 0 (mean, CI band)" in [t.get_text() for t in fig.legends[0].get_texts()]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"x": "dose"}, "dose"),  # missing column
        ({"x": "drug"}, "finite numbers"),  # not numeric
        ({"x": "cxcl12", "readouts": "chemotactic_index"}, "chemotactic_index"),
        ({"x": "cxcl12", "log_x": True, "zero": True}, "log_x"),
    ],
)
def test_dose_response_user_errors(kwargs, needle):
    data = _sweep_data()
    if kwargs.pop("zero", False):
        data["cxcl12"] = 0.0
    with pytest.raises(TropismError, match=needle):
        dose_response(data, **kwargs)


def _sweep_result():
    r = make_result()
    r.summary["sweep"] = {
        "key": "assay.source.cxcl12",
        "unit": "nM",
        "values": dict(zip(CONDITIONS, [0.0, 12.5, 1250.0], strict=True)),
    }
    return r


def test_a_sweep_run_gets_a_dose_response_figure():
    r = _sweep_result()
    assert "dose_response" in figure_stems(r)
    fig = plot(r, "dose_response", readouts=["fmi"])
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"  # 12.5 to 1250 nM: two decades
    assert ax.get_xlabel() == "cxcl12 (nM)"
    (curve,) = [ln for ln in ax.lines if ln.get_linestyle() == "-"]
    by = {c["name"]: c for c in r.summary["conditions"]}
    np.testing.assert_allclose(
        curve.get_ydata(), [by[c]["readouts"]["fmi"]["mean"] for c in CONDITIONS[1:]], rtol=1e-12
    )
    with pytest.raises(TropismError, match="sweep"):
        plot(make_result(), "dose_response")


def test_make_figures_draws_the_new_kinds_by_what_the_run_holds(tmp_path):
    # an intracranial sweep with compartment fractions: every new figure, no track plots
    r = _systemic_result()
    r.summary.update(_sweep_result().summary)
    r.summary["assay"] = "intracranial"
    r.fields = None
    paths = make_figures(r, tmp_path)
    stems = ["readouts_over_time", "endpoints", "compartments", "dose_response", "density"]
    assert [p.name for p in paths] == [f"{s}.{ext}" for s in stems for ext in ("png", "svg")]


# ------------------------------------------------------------------ Result.plot (kinds)


@pytest.mark.parametrize("kind", [k for k in FIGURE_KINDS if k != "dose_response"])
def test_result_plot_draws_every_kind(kind):
    r = _systemic_result() if kind == "compartments" else make_result()
    if kind != "compartments":
        r.summary["assay"] = "gradient"
    fig = r.plot(kind)
    assert isinstance(fig, Figure) and fig.axes
    # what a notebook shows as the cell's value, with or without pyplot imported
    assert fig._repr_png_().startswith(b"\x89PNG\r\n")


def test_result_plot_keeps_the_readout_calls():
    r = make_result()
    fig = r.plot("fmi")  # a readout name: that readout over time
    assert [ax.get_ylabel() for ax in fig.axes] == ["FMI"]
    assert [ln.get_label() for ln in fig.axes[0].lines] == CONDITIONS
    fig = r.plot(readout="speed")
    assert [ax.get_ylabel() for ax in fig.axes] == ["speed (\u00b5m/min)"]
    # into a given axes, as before
    other = Figure()
    ax = other.subplots()
    assert r.plot("directness", ax) is other
    assert ax.get_ylabel() == "directness" and len(ax.lines) == len(CONDITIONS)
    assert r.plot("endpoints", ax=other.add_subplot(2, 1, 2), readouts="fmi") is other
    # the figure stem of a field map works too
    fig = r.plot("field_cxcl12", time=60.0)
    assert "t = 1 h" in fig.get_suptitle()
    assert set(READOUT_NAMES) >= {"fmi", "speed", "directness"}


@pytest.mark.parametrize(
    ("args", "kwargs", "needle"),
    [
        (("nonsense",), {}, "kind = 'nonsense'"),
        (("spider",), {"ax": "an axes"}, "ax"),
        (("readouts",), {"ax": "an axes", "readouts": ["fmi", "speed"]}, "one readout"),
    ],
)
def test_result_plot_user_errors(args, kwargs, needle):
    r = make_result()
    if kwargs.get("ax") == "an axes":
        kwargs["ax"] = Figure().subplots()
    with pytest.raises(TropismError, match=needle):
        r.plot(*args, **kwargs)


# ------------------------------------------------------------------ field maps in time


def test_field_map_at_several_times_has_one_row_per_time():
    r = make_result()
    fig = field_map(r, time=[0.0, 100.0])  # snapshots at 0, 60, 120 min: 0 and 120 drawn
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 2 * len(CONDITIONS)
    field = r.fields["cxcl12"]
    for i, ax in enumerate(panels):
        t, cond = (0.0, 120.0)[i // 3], CONDITIONS[i % 3]
        expect = field.sel(condition=cond, time=t).values.T
        np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), expect)
        assert ax.get_title().endswith(f"t = {t / 60:.3g} h")
    # one colour scale over both times
    assert {ax.images[0].get_clim() for ax in panels} == {
        (float(field.sel(time=[0.0, 120.0]).min()), float(field.sel(time=[0.0, 120.0]).max()))
    }


def test_the_report_draws_a_changing_field_at_three_times():
    r = make_result()  # the ramp rises over time
    assert report_field_times(r, "cxcl12") == [0.0, 60.0, 120.0]
    r.fields["cxcl12"] = (
        r.fields["cxcl12"].isel(time=[-1, -1, -1]).assign_coords(time=[0.0, 60.0, 120.0])
    )
    assert report_field_times(r, "cxcl12") == [120.0]  # steady: the last snapshot only


# ------------------------------------------------------------------- on a small real run


def test_figures_of_a_small_real_run_have_a_line_per_condition_and_a_dot_per_replicate(
    small_result,
):
    from matplotlib.collections import LineCollection

    r = small_result  # tests/conftest.py: 3 conditions x 2 replicates, 5 tracked cells each
    conds = [c["name"] for c in r.summary["conditions"]]
    assert figure_stems(r) == [
        "readouts_over_time",
        "endpoints",
        "spider",
        "rose",
        "field_cxcl12",
    ]
    for ax in plot(r, "readouts").axes:
        assert [ln.get_label() for ln in ax.lines] == conds
    for ax in plot(r, "endpoints").axes:
        dots = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert [len(c.get_offsets()) for c in dots] == [2, 2, 2]
    for ax in plot(r, "spider").axes:
        (tracks,) = [c for c in ax.collections if isinstance(c, LineCollection)]
        assert len(tracks.get_segments()) == 2 * 5
