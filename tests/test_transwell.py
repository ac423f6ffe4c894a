"""The Transwell assay: membrane transport, settling and passage against exact results.

- passage with a constant per-cell rate after settling: the migrated fraction against the
  exact distribution of the sum of the two geometric waiting times (attachment, passage);
- the membrane band's diffusivity: steady flux across a slab against the series resistance;
- conservation of chemokine in the closed chamber, and the decay of the difference across
  the membrane;
- conditioned medium against the closed-form solution of dc/dt = phi s - lambda c;
- bad membranes: a one-line error naming the key.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from tropism.errors import ScenarioError
from tropism.scenario.defaults import TUMOUR_KINDS
from tropism.scenario.loader import load_scenario
from tropism.study import run_replicate
from tropism.world.boundaries import AxisBoundary, FixedValue, NoFlux
from tropism.world.conditioned import conditioned_medium
from tropism.world.grid import Grid
from tropism.world.masked_diffusion import MaskedDiffusion
from tropism.world.membrane import band_diffusivity, encounter_rate, porosity
from tropism.world.microenvironment import Switches, TumourParams

BASE = """
[scenario]
name = "transwell-test"
assay = "transwell"
duration = "{duration}"
replicates = 1
seed = 5

[numerics]
dt = "{dt}"
field_dt = "5 min"
readout_interval = "{every}"
track_cells = 0
field_snapshots = false

[assay]
width = "100 um"
upper_height = "400 um"
lower_height = "200 um"
{assay}

[cells.msc]
kind = "msc"
count = {count}
"""


def _load(tmp_path, overrides=(), *, duration="4 h", dt="1 min", every="30 min", count=200,
          assay=""):  # fmt: skip
    path = tmp_path / "transwell.toml"
    text = BASE.format(duration=duration, dt=dt, every=every, count=count, assay=assay)
    path.write_text(text)
    return load_scenario(path, list(overrides))


def test_membrane_numbers():
    assert porosity(8.0, 1e-3) == pytest.approx(math.pi * 16e-3, rel=1e-12)  # ~5 %
    assert encounter_rate(1e-3, 20.0, 8.0, 0.2) == pytest.approx(1e-3 * 28 * 0.2)
    # a band exactly as thick as the membrane: D x porosity
    assert band_diffusivity(1.2e4, 0.05, 10.0, 10.0) == pytest.approx(1.2e4 * 0.05)
    assert band_diffusivity(0.0, 0.05, 10.0, 20.0) == 0.0


def test_membrane_band_gives_the_series_resistance_flux():
    """Steady flux through lower well + membrane + upper well held at two concentrations."""
    h, d, eps, t = 10.0, 1.2e4, 0.05, 6.0
    n_low, n_up = 20, 30
    grid = Grid((3, n_low + 1 + n_up), spacing=h)
    d_band = band_diffusivity(d, eps, t, h)
    dmap = np.full(grid.shape, d)
    dmap[:, n_low] = d_band
    c_low, c_up = 12.5, 0.0
    bcs = [AxisBoundary(NoFlux(), NoFlux()), AxisBoundary(FixedValue(c_low), FixedValue(c_up))]
    c = MaskedDiffusion(grid, dmap, 0.0, bcs, 1.0).steady()
    height = grid.extent[1]
    # series resistance: medium (height - t) at D, membrane t at D eps
    flux = (c_low - c_up) / ((height - t) / d + t / (d * eps))
    face = 2 * d * d_band / (d + d_band)
    measured = face * (c[1, n_low - 1] - c[1, n_low]) / h
    assert measured == pytest.approx(flux, rel=1e-10)


def _geometric_sum_cdf(p_a: float, p_p: float, n: int) -> float:
    """P(G_a + G_p <= n) for independent geometric waiting times on {1, 2, ...}."""
    total = 0.0
    for a in range(1, n):
        pmf_a = p_a * (1 - p_a) ** (a - 1)
        total += pmf_a * (1 - (1 - p_p) ** (n - a))
    return total


def test_passage_with_a_constant_rate_matches_the_exact_waiting_time_law(tmp_path):
    """No chemokine: each attached cell passes at k = n (L + d) s p_basal per minute.

    Cells land in the first step (fast settling), attach after a geometric number of steps
    (probability 1 - exp(-dt / tau) each) and pass after another (1 - exp(-k dt)); the
    migrated fraction after n steps is P(G_a + G_p <= n), in the continuous limit the
    hypoexponential CDF 1 - (k e^{-t/tau} - (1/tau) e^{-k t}) / (k - 1/tau).
    """
    n_cells, dt, tau, p_basal = 4000, 1.0, 20.0, 0.2
    spec = _load(
        tmp_path,
        [
            'assay.settling_speed="1e7 um/min"',
            f'assay.attachment_time="{tau} min"',
            f"assay.basal_passage={p_basal}",
            "assay.max_passage=0.2",
        ],
        duration="6 h",
        dt=f"{dt} min",
        every="60 min",
        count=n_cells,
    )
    out = run_replicate(spec.base, "baseline", 0)
    m = out.metrics
    frac = m[(m.readout == "migrated_fraction") & (m.population == "msc")]
    k = encounter_rate(1e-3, 20.0, 8.0, 0.2) * p_basal
    p_a, p_p = -math.expm1(-dt / tau), -math.expm1(-k * dt)
    for time, value in zip(frac.time, frac.value, strict=True):
        n = int(round(time / dt))
        exact = _geometric_sum_cdf(p_a, p_p, n)
        sd = math.sqrt(exact * (1 - exact) / n_cells)
        assert abs(value - exact) < 4 * sd + 1e-12, (time, value, exact)
        # and close to the continuous-time law (steps of 1 min against minutes-long times)
        a = 1 / tau
        cont = 1 - (k * math.exp(-a * time) - a * math.exp(-k * time)) / (k - a)
        assert abs(exact - cont) < 0.01


def test_chemokine_is_conserved_and_the_difference_decays(tmp_path):
    spec = _load(
        tmp_path,
        ['assay.lower_boundary="closed"', "model.uptake=false"],
        duration="3 h",
        assay='lower = { cxcl12 = "100 ng/mL" }',
        count=20,
    )
    from tropism.assays.transwell import build

    built = build(spec.base, np.random.default_rng(0))
    world = built.world
    i = world.field_index("cxcl12")
    total0 = world.values[i].sum()
    assert total0 == pytest.approx(12.5 * 5 * 11, rel=1e-12)  # 5 columns x 11 lower rows
    hook = world.hooks[0]
    diffs = []
    for _ in range(30):
        world.step_fields(5.0)
        lower, upper, _ = hook.membrane_faces(world)
        diffs.append(float(np.mean(lower[i] - upper[i])))
    assert world.values[i].sum() == pytest.approx(total0, rel=1e-12)
    assert diffs[0] > 0.5
    assert np.all(np.diff(diffs) < 0)  # the difference across the membrane only decays
    assert world.values[i][:, -1].mean() > 0  # chemokine has reached the top of the upper well


def test_cxcl12_below_drives_passage_and_amd3100_blocks_it(tmp_path):
    def fraction(extra, seed):
        wells = ['assay.upper_height="3 mm"', 'assay.lower_height="1 mm"']
        spec = _load(tmp_path, [*extra, *wells, f"scenario.seed={seed}"], duration="6 h", count=300)
        m = run_replicate(spec.base, "baseline", 0).metrics
        sel = m[(m.readout == "migrated_fraction")]
        return float(sel.value.iloc[-1])

    gradient = 'assay.lower={cxcl12="100 ng/mL"}'
    none = fraction([], 1)
    cxcl12 = fraction([gradient], 1)
    blocked = fraction([gradient, 'drugs.amd3100="1 ug/mL"'], 1)
    assert cxcl12 > 3 * none
    assert blocked < 0.5 * cxcl12


def test_conditioned_medium_matches_the_closed_form():
    glioma = {k: p.value for k, p in TUMOUR_KINDS["glioma"].items()}
    params = TumourParams(**{k: glioma[k] for k in TumourParams.__dataclass_fields__})
    params = dataclasses.replace(
        params,
        cxcl12_secretion=0.3,
        ccl2_secretion=0.05,
        tgfb_secretion=0.002,
        hif_tgfb_gain=0.0,
        ir_death_rate=0.0,
        cxcr7_sink=0.0,
        growth_rate=0.0,
        necrosis_rate=0.0,
    )
    off = Switches(oxygen=False, growth=False, hif=False, irradiation_response=False,
                   cxcr7_sink=False, trail=False)  # fmt: skip
    species = ["ccl2", "cxcl12", "tgfb"]
    phi, duration = 0.01, 1440.0
    cm = conditioned_medium(params, off, species, {"tgfb": 0.01}, 150.0, duration, 0.0, phi)
    assert cm["cxcl12"] == pytest.approx(phi * 0.3 * duration, rel=1e-12)
    assert cm["ccl2"] == pytest.approx(phi * 0.05 * duration, rel=1e-12)
    lam = 0.01
    assert cm["tgfb"] == pytest.approx(phi * 0.002 * (1 - math.exp(-lam * duration)) / lam)
    # hypoxia (1 % O2) raises CXCL12 through HIF; irradiation raises CCL2 and IL-8
    on = Switches(oxygen=True, growth=False, hif=True, irradiation_response=True,
                  cxcr7_sink=False, trail=False)  # fmt: skip
    normoxic = conditioned_medium(params, on, species + ["il8"], {}, 150.0, duration, 0.0, phi)
    hypoxic = conditioned_medium(params, on, species + ["il8"], {}, 7.13, duration, 0.0, phi)
    irradiated = conditioned_medium(params, on, species + ["il8"], {}, 150.0, duration, 8.0, phi)
    assert normoxic["cxcl12"] == pytest.approx(phi * 0.3 * duration, rel=1e-3)
    assert hypoxic["cxcl12"] > 1.3 * normoxic["cxcl12"]
    assert irradiated["ccl2"] > 1.3 * normoxic["ccl2"]
    assert irradiated["il8"] > 1.3 * normoxic["il8"]


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ('assay.pore_diameter="40 um"', "assay.pore_diameter"),  # wider than the pore spacing
        ('assay.pore_density="1 /um^2"', "assay.pore_diameter"),  # porosity > 1
        ('assay.membrane_thickness="400 um"', "assay.membrane_thickness"),
        ('assay.width="90 um"', "assay.width"),
        ("assay.basal_passage=0.5", "assay.basal_passage"),
    ],
)
def test_bad_membranes_are_one_line_errors(tmp_path, override, key):
    with pytest.raises(ScenarioError) as info:
        _load(tmp_path, [override])
    assert info.value.key == key
    assert "\n" not in str(info.value)


def test_injected_cells_enter_the_upper_well_in_suspension(tmp_path):
    from tropism.assays.transwell import build
    from tropism.engine import Engine
    from tropism.world.membrane import SETTLING

    spec = _load(
        tmp_path,
        [
            'events=[{time="30 min", kind="inject_cells", population="msc", count=50}]',
            'assay.attachment_time="2 min"',
        ],
        duration="32 min",
        count=10,
    )
    built = build(spec.base, np.random.default_rng(3))
    world = built.world
    Engine(
        world, dt=1.0, field_dt=5.0, duration=32.0, events=built.events,
        rng=np.random.default_rng(4),
    ).run()  # fmt: skip
    pop = world.populations[0]
    hook = world.hooks[0]
    assert pop.count == 60
    new = slice(10, 60)
    # two steps after the injection they are sinking or have just landed on the membrane
    assert np.all(pop.pos[new, 1] >= hook.y_top)
    assert np.all((pop.state[new] == SETTLING) | (pop.state[new] == 0))
    assert np.all(pop.state[:10] != SETTLING)  # the first cells attached long ago
