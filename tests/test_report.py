"""Figures and the HTML report, on a small synthetic result built by hand (no simulation).

The expected numbers (replicate means, fractions of cells per sector, field values, table
entries) are computed here from the synthetic inputs, independently of the plotting code.
"""

from __future__ import annotations

import base64
import math
from html.parser import HTMLParser

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from tropism.api import Result
from tropism.errors import TropismError
from tropism.observe.readouts import READOUTS
from tropism.report import (
    OKABE_ITO,
    endpoints,
    field_map,
    format_number,
    make_figures,
    readouts_over_time,
    rose,
    spider,
    write_report,
)
from tropism.stats import summarize

CONDITIONS = ["control", "CXCL12 100 ng/mL", "CXCL12 + AMD3100"]
REPLICATES = 3
TIMES = [30.0, 60.0, 90.0, 120.0]
CELLS = 4
TRACK_TIMES = [0.0, 40.0, 80.0, 120.0]
READOUT_NAMES = ["chemotactic_index", "fmi", "directness", "speed"]


def _metrics(rng: np.random.Generator) -> pd.DataFrame:
    bias = {"control": 0.0, "CXCL12 100 ng/mL": 0.4, "CXCL12 + AMD3100": 0.1}
    rows = []
    for cond in CONDITIONS:
        for rep in range(REPLICATES):
            for t in TIMES:
                for name in READOUT_NAMES:
                    base = 0.8 if name == "speed" else bias[cond]
                    rows.append((cond, rep, "msc", t, name, base + 0.05 * rng.standard_normal()))
    cols = ["condition", "replicate", "population", "time", "readout", "value"]
    return pd.DataFrame(rows, columns=cols)


def _tracks(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for ci, cond in enumerate(CONDITIONS):
        for rep in range(REPLICATES):
            for cell in range(CELLS):
                x, y = 100.0 + 30.0 * cell, 20.0 + 10.0 * rep
                for t in TRACK_TIMES:
                    if t > 0:
                        x += 5.0 * ci + 3.0 * rng.standard_normal()
                        y += 3.0 * rng.standard_normal()
                    rows.append((cond, rep, "msc", cell, t, x, y, 0.0))
    cols = ["condition", "replicate", "population", "cell", "time", "x", "y", "z"]
    return pd.DataFrame(rows, columns=cols)


def _fields() -> xr.Dataset:
    x = np.arange(10.0, 400.0, 20.0)  # 20 voxels of 20 um
    y = np.arange(10.0, 160.0, 20.0)  # 8 voxels
    times = np.array([0.0, 60.0, 120.0])
    # a linear ramp along +x that rises over time, scaled per condition
    arr = (
        np.array([0.0, 1.0, 0.5])[:, None, None, None]
        * (times[None, :, None, None] / 120.0 + 0.1)
        * (x[None, None, :, None] / 400.0)
        * np.ones(y.size)
    )
    ds = xr.Dataset(
        {"cxcl12": (("condition", "time", "x", "y"), arr, {"units": "nM"})},
        coords={"condition": CONDITIONS, "time": times, "x": x, "y": y},
    )
    ds["time"].attrs["units"] = "min"
    ds["x"].attrs["units"] = "um"
    ds["y"].attrs["units"] = "um"
    ds.attrs["replicate"] = 0
    return ds


def make_result(description: str = "Does CXCL12 attract MSCs, and does AMD3100 block it?"):
    """A small hand-made Result: 3 conditions x 3 replicates, 4 readouts, tracks, one field."""
    rng = np.random.default_rng(20240611)
    metrics = _metrics(rng)
    tracks = _tracks(rng)
    end = metrics[metrics["time"] == TIMES[-1]]
    summary = summarize(
        end[["condition", "replicate", "readout", "value"]],
        CONDITIONS,
        {name: READOUTS[name] for name in READOUT_NAMES},
    )
    summary.update(
        scenario="synthetic-gradient",
        description=description,
        assay="gradient",
        duration_min=TIMES[-1],
    )
    meta = {
        "tropism": "0.1.0",
        "python": "3.11.0",
        "numpy": "1.26.0",
        "command": ["/opt/venv/bin/tropism", "run", "synthetic.toml", "--set", "x=1 h"],
        "started": "2024-06-11T10:00:00+00:00",
        "seed": 7,
    }
    text = '[scenario]\nname = "synthetic-gradient"\nassay = "gradient"\n'
    return Result(summary, metrics, tracks, _fields(), text, meta)


@pytest.fixture(scope="module")
def result():
    return make_result()


def _hex(color) -> str:
    from matplotlib.colors import to_hex

    return to_hex(color).upper()


# ----------------------------------------------------------------------------- figures


def test_readouts_over_time_one_mean_line_per_condition(result):
    fig = readouts_over_time(result, readouts=("fmi", "chemotactic_index", "speed"))
    assert isinstance(fig, Figure)
    axes = fig.axes
    assert len(axes) == 3
    for ax, name in zip(axes, ("fmi", "chemotactic_index", "speed"), strict=True):
        assert [ln.get_label() for ln in ax.lines] == CONDITIONS
        # Okabe-Ito colours in condition order, the same in every panel
        assert [_hex(ln.get_color()) for ln in ax.lines] == list(OKABE_ITO[:3])
        assert ax.get_xlabel() == "time (h)"
        for ln, cond in zip(ax.lines, CONDITIONS, strict=True):
            m = result.metrics
            sub = m[(m["condition"] == cond) & (m["readout"] == name)]
            # independent mean over replicates at each time (exact up to summation order)
            expect = [sub[sub["time"] == t]["value"].to_numpy().mean() for t in TIMES]
            np.testing.assert_allclose(ln.get_xdata(), np.array(TIMES) / 60.0, rtol=1e-12)
            np.testing.assert_allclose(ln.get_ydata(), expect, rtol=1e-12)
    assert "speed (\u00b5m/min)" in {ax.get_ylabel() for ax in axes}


def test_readouts_over_time_band_is_t_interval(result):
    from scipy import stats

    fig = readouts_over_time(result, readouts=("fmi",))
    ax = fig.axes[0]
    band = ax.collections[1]  # the band of the second condition
    ys = band.get_paths()[0].vertices[:, 1]
    m = result.metrics
    sub = m[(m["condition"] == CONDITIONS[1]) & (m["readout"] == "fmi")]
    v = sub[sub["time"] == TIMES[-1]]["value"].to_numpy()
    half = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
    # the band's extreme ordinates include mean +/- half at the last time (float rounding)
    assert np.any(np.isclose(ys, v.mean() + half, rtol=1e-12))
    assert np.any(np.isclose(ys, v.mean() - half, rtol=1e-12))


def test_unknown_readout_is_a_user_error(result):
    with pytest.raises(TropismError, match="nope"):
        readouts_over_time(result, readouts=("nope",))


def _stars(p: float | None) -> str:
    if p is None:
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "ns"


def test_endpoints_dots_bars_and_significance(result):
    names = ("fmi", "speed")
    fig = endpoints(result, readouts=names)
    assert len(fig.axes) == 2
    by_name = {c["name"]: c for c in result.summary["conditions"]}
    for ax, name in zip(fig.axes, names, strict=True):
        dots = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert len(dots) == len(CONDITIONS)
        for coll, cond in zip(dots, CONDITIONS, strict=True):
            offsets = np.asarray(coll.get_offsets())
            assert offsets.shape == (REPLICATES, 2)  # one dot per replicate
            values = by_name[cond]["readouts"][name]["values"]
            np.testing.assert_array_equal(np.sort(offsets[:, 1]), np.sort(values))
        bars = [p for p in ax.patches if isinstance(p, Rectangle)]
        heights = [b.get_height() for b in bars]
        # bar height = mean of the replicate values (float rounding only)
        expect = [np.mean(by_name[c]["readouts"][name]["values"]) for c in CONDITIONS]
        np.testing.assert_allclose(heights, expect, rtol=1e-12)
        texts = [t.get_text() for t in ax.texts]
        comps = [c for c in result.summary["comparisons"] if c["readout"] == name]
        assert texts == [_stars(c["p_value"]) for c in comps]
    # the strong treatment is significant on FMI in this synthetic set (0.4 vs 0, sd 0.05)
    assert fig.axes[0].texts[0].get_text() == "***"


def test_endpoints_tick_labels_do_not_overlap(result):
    fig = endpoints(result)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        labels = [t for t in ax.get_xticklabels() if t.get_text()]
        assert len(labels) == len(CONDITIONS)
        rot = math.radians(labels[0].get_rotation())
        if rot == 0.0:
            boxes = [t.get_window_extent(renderer) for t in labels]
            for a, b in zip(boxes, boxes[1:], strict=False):
                assert not a.overlaps(b)
        else:
            # Parallel rotated one-line labels, anchored one tick apart: they stay apart when
            # the perpendicular distance between their base lines, spacing * sin(rotation),
            # exceeds the height of a line of text.
            xs = [ax.transData.transform((i, 0))[0] for i in range(len(labels))]
            spacing = min(b - a for a, b in zip(xs, xs[1:], strict=False))
            lines = max(t.get_text().count("\n") + 1 for t in labels)
            line = max(t.get_fontsize() for t in labels) * fig.dpi / 72.0 * 1.2
            assert spacing * math.sin(rot) > lines * line
    # neighbouring panels: no tick or axis label of one panel runs into the next panel
    frames = [ax.get_tightbbox(renderer) for ax in fig.axes]
    for a, b in zip(frames, frames[1:], strict=False):
        assert a.x1 <= b.x0 + 1.0  # one pixel of slack for anti-aliasing


@pytest.mark.parametrize("draw", [readouts_over_time, endpoints, spider, rose, field_map])
def test_figures_fit_inside_the_canvas(result, draw):
    # Constrained layout keeps every label, title and legend on the canvas (nothing clipped);
    # a small tolerance (0.01 in, about one pixel) covers anti-aliasing and rounding.
    fig = draw(result)
    fig.canvas.draw()
    box = fig.get_tightbbox(fig.canvas.get_renderer())  # inches
    width, height = fig.get_size_inches()
    assert box.x0 >= -0.01 and box.y0 >= -0.01
    assert box.x1 <= width + 0.01 and box.y1 <= height + 0.01


def test_spider_one_panel_per_condition_common_origin_same_limits(result):
    fig = spider(result)
    assert len(fig.axes) == len(CONDITIONS)
    limits = {(ax.get_xlim(), ax.get_ylim()) for ax in fig.axes}
    assert len(limits) == 1
    for ax, cond in zip(fig.axes, CONDITIONS, strict=True):
        (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
        segs = lines.get_segments()
        assert len(segs) == REPLICATES * CELLS
        for s in segs:
            np.testing.assert_array_equal(s[0], [0.0, 0.0])
        assert _hex(lines.get_colors()[0]) == OKABE_ITO[CONDITIONS.index(cond)]
        # the gradient arrow
        assert any(t.arrow_patch is not None for t in ax.texts if hasattr(t, "arrow_patch"))


def test_rose_fractions_sum_to_one_and_angles_are_net_displacements(result):
    fig = rose(result)
    assert len(fig.axes) == len(CONDITIONS)
    for ax, cond in zip(fig.axes, CONDITIONS, strict=True):
        assert ax.name == "polar"
        heights = np.array([p.get_height() for p in ax.patches if isinstance(p, Rectangle)])
        assert heights.size == 12
        # fractions of cells over all sectors add up to one (float rounding only)
        assert heights.sum() == pytest.approx(1.0, abs=1e-12)
        # independent histogram of the net displacement angles
        tr = result.tracks[result.tracks["condition"] == cond]
        first = tr[tr["time"] == TRACK_TIMES[0]].sort_values(["replicate", "cell"])
        last = tr[tr["time"] == TRACK_TIMES[-1]].sort_values(["replicate", "cell"])
        ang = np.arctan2(
            last["y"].to_numpy() - first["y"].to_numpy(),
            last["x"].to_numpy() - first["x"].to_numpy(),
        )
        counts, _ = np.histogram(ang, bins=np.linspace(-np.pi, np.pi, 13))
        np.testing.assert_allclose(heights, counts / ang.size, rtol=1e-12)


def test_field_map_image_per_condition_with_cells(result):
    fig = field_map(result)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == len(CONDITIONS)
    field = result.fields["cxcl12"].isel(time=-1)
    for ax, cond in zip(panels, CONDITIONS, strict=True):
        (img,) = ax.images
        assert isinstance(img, AxesImage)
        assert img.get_cmap().name == "viridis"
        # rows of the image are y, columns x: the transposed (x, y) field
        np.testing.assert_array_equal(
            np.asarray(img.get_array()), field.sel(condition=cond).values.T
        )
        dots = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert sum(len(c.get_offsets()) for c in dots) == CELLS  # replicate 0 at t = 120 min
        assert ax.get_xlabel() == "x (\u00b5m)"
    labels = [ax.get_ylabel() + ax.get_xlabel() for ax in fig.axes if not ax.images]
    assert "cxcl12 (nM)" in labels  # the colourbar
    # one colour scale for all conditions, spanning the data
    lo, hi = panels[0].images[0].get_clim()
    assert lo == float(field.min()) and hi == float(field.max())


def test_field_map_unknown_species(result):
    with pytest.raises(TropismError, match="ccl2"):
        field_map(result, species="ccl2")


def test_field_map_of_a_3d_field_draws_the_middle_plane(result):
    r = make_result()
    f2 = r.fields["cxcl12"]
    z = np.array([5.0, 15.0, 25.0])
    f3 = f2.expand_dims(z=z, axis=-1) * xr.DataArray([1.0, 2.0, 3.0], dims="z", coords={"z": z})
    r.fields = xr.Dataset({"cxcl12": f3.assign_attrs(units="nM")})
    fig = field_map(r, time=50.0)  # nearest snapshot: 60 min
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == len(CONDITIONS)
    expect = f2.sel(time=60.0).values * 2.0  # the middle plane, z = 15 um
    for ax, arr in zip(panels, expect, strict=True):
        np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), arr.T)


def test_several_populations_give_one_panel_per_population(result):
    r = make_result()
    other = r.metrics.assign(population="npc")
    r.metrics = pd.concat([r.metrics, other], ignore_index=True)
    end = r.metrics[r.metrics["time"] == TIMES[-1]].copy()
    end["readout"] = end["population"] + "." + end["readout"]
    names = [f"{p}.{n}" for p in ("msc", "npc") for n in READOUT_NAMES]
    r.summary = summarize(
        end[["condition", "replicate", "readout", "value"]],
        CONDITIONS,
        {n: READOUTS[n.split(".")[1]] for n in names},
    )
    fig = readouts_over_time(r, readouts=("fmi",))
    assert [ax.get_ylabel() for ax in fig.axes] == ["msc: FMI", "npc: FMI"]
    assert all(len(ax.lines) == len(CONDITIONS) for ax in fig.axes)
    fig = endpoints(r, readouts=("speed",))
    assert [ax.get_ylabel() for ax in fig.axes] == [
        "msc: speed (\u00b5m/min)",
        "npc: speed (\u00b5m/min)",
    ]


# ----------------------------------------------------------------------------- files


def test_make_figures_writes_png_and_svg_that_decode(result, tmp_path):
    paths = make_figures(result, tmp_path / "figures")
    stems = {p.stem for p in paths}
    assert stems == {"readouts_over_time", "endpoints", "spider", "rose", "field_cxcl12"}
    assert {p.suffix for p in paths} == {".png", ".svg"}
    for p in paths:
        assert p.is_file() and p.stat().st_size > 0
        if p.suffix == ".png":
            img = mpimg.imread(p)
            assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
            assert float(img.std()) > 0.0  # not blank
        else:
            assert p.read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_make_figures_skips_tracks_and_fields_when_absent(tmp_path):
    r = make_result()
    r.tracks = r.tracks.iloc[0:0]
    r.fields = xr.Dataset()
    paths = make_figures(r, tmp_path)
    assert {p.stem for p in paths} == {"readouts_over_time", "endpoints"}


class _TableParser(HTMLParser):
    """Collect the summary table's cells by class, and every src/href attribute."""

    def __init__(self):
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.links: list[str] = []
        self.tags: set[str] = set()
        self._cell: str | None = None
        self._in_table = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        self.links += [v for k, v in attrs if k in ("src", "href") and v is not None]
        if tag == "table" and a.get("id") == "summary-table":
            self._in_table = True
        elif self._in_table and tag == "tr" and "data-condition" in a:
            self.rows.append({"condition": a["data-condition"], "readout": a["data-readout"]})
        elif self._in_table and tag == "td" and self.rows:
            self._cell = (a.get("class") or "").split()[-1]
            self.rows[-1][self._cell] = ""

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "table":
            self._in_table = False

    def handle_data(self, data):
        if self._cell is not None:
            self.rows[-1][self._cell] += data


def test_report_is_self_contained_and_table_matches_summary(result, tmp_path):
    out = write_report(result, tmp_path / "run")
    assert out == tmp_path / "run" / "report.html"
    html = out.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    parser = _TableParser()
    parser.feed(html)
    assert "script" not in parser.tags and "link" not in parser.tags
    # every PNG figure embedded byte for byte; no other resource
    pngs = sorted((tmp_path / "run" / "figures").glob("*.png"))
    assert len(pngs) == 5
    for p in pngs:
        uri = "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode("ascii")
        assert uri in parser.links
    assert all(link.startswith("data:image/png;base64,") for link in parser.links)
    # table: one row per condition x readout, numbers as format_number gives them
    comps = {(c["condition"], c["readout"]): c for c in result.summary["comparisons"]}
    expected = []
    for name in READOUT_NAMES:
        for cond in result.summary["conditions"]:
            d = cond["readouts"][name]
            row = {
                "condition": cond["name"],
                "readout": name,
                "n": str(d["n"]),
                "mean": format_number(d["mean"]),
                "ci": f"[{format_number(d['ci_low'])}, {format_number(d['ci_high'])}]",
            }
            c = comps.get((cond["name"], name))
            if c is None:
                row.update(fc="control", p="\u2013")
            elif c["fc_ci_low"] is not None:  # a bounded Fieller interval: the fold change
                row["fc"] = (
                    f"\u00d7{format_number(c['fold_change'])} "
                    f"[{format_number(c['fc_ci_low'])}, {format_number(c['fc_ci_high'])}]"
                )
                row["p"] = format_number(c["p_value"])
            else:  # the control's mean may be 0: the difference of the means
                sign = "+" if c["difference"] >= 0 else ""
                row["fc"] = (
                    f"{sign}{format_number(c['difference'])} "
                    f"[{format_number(c['diff_ci_low'])}, {format_number(c['diff_ci_high'])}]"
                )
                row["p"] = format_number(c["p_value"])
            expected.append(row)
    got = [
        {k: r[k] for k in ("condition", "readout", "n", "mean", "ci", "fc", "p")}
        for r in parser.rows
    ]
    assert got == expected
    # both forms occur in this synthetic set (FMI's control mean is about 0, speed's is not)
    assert {r["fc"][0] for r in got if r["fc"] != "control"} >= {"\u00d7", "+"}
    # the rest of the report
    assert "Does CXCL12 attract MSCs, and does AMD3100 block it?" in html
    # the recorded command, program word normalised, quoted for the shell (then HTML-escaped)
    assert "tropism run synthetic.toml --set &#39;x=1 h&#39;" in html
    assert "[scenario]\nname = &#34;synthetic-gradient&#34;" in html  # escaped, in a <pre>
    for package in ("tropism", "python", "numpy", "matplotlib", "xarray"):
        assert f"<td>{package}</td>" in html


@pytest.mark.parametrize("command", [None, ["-c"], ["/usr/bin/pytest", "-q"]])
def test_report_escapes_description_and_defaults_the_command(tmp_path, command):
    # No command recorded, or one that is not a tropism command line (sys.argv of a notebook
    # or a test run): the report gives the command that runs the resolved scenario.
    r = make_result(description='<script>alert("x")</script> & more')
    r.meta["command"] = command
    out = write_report(r, tmp_path / "run")
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more" in html
    assert f"<code>tropism run {(tmp_path / 'run').as_posix()}/scenario.toml</code>" in html


def test_report_refuses_a_file_as_run_folder(result, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(TropismError):
        write_report(result, f)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.5, "0.500"),
        (1.0, "1.00"),
        (-0.012345, "-0.0123"),
        (1234.5, "1230"),
        (9.996, "10.0"),  # rounding carries into a new digit
        (0.001, "0.00100"),
        (1.2345e-5, "1.23e-05"),
        (123456.0, "1.23e+05"),
        (0.0, "0"),
        (12, "12"),
        (None, "\u2013"),
        (float("nan"), "\u2013"),
    ],
)
def test_format_number_three_significant_digits(value, text):
    assert format_number(value) == text
    if isinstance(value, float) and math.isfinite(value) and value != 0.0:
        # the shown text, read back, is the value rounded to 3 significant digits
        assert float(text) == float(f"{value:.2e}")


def test_time_panels_do_not_overlap(result):
    # Constrained layout: the y label of each panel stays right of the panel before it.
    fig = readouts_over_time(result)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frames = [ax.get_tightbbox(renderer) for ax in fig.axes]
    for a, b in zip(frames, frames[1:], strict=False):
        assert a.x1 <= b.x0 + 1.0
    assert fig.axes[0].get_ylabel() == "FMI"
