"""Engine pieces against exact results: drug wash-in, events, the gradient assay's field."""

import math

import numpy as np
import pytest

from tropism.assays import TEMPLATES
from tropism.engine import Engine
from tropism.scenario import load_scenario
from tropism.world.world import Drug

from .conftest import SMALL


def test_drug_washin_is_the_exact_exponential_and_scales_signalling():
    d = Drug("amd3100", receptor="cxcr4", ic50=4.7)
    d.set_target(100.0, time=10.0, washin=20.0)
    d.update(30.0)
    assert d.level == pytest.approx(100.0 * (1 - math.exp(-1.0)), rel=1e-12)
    d.update(1e6)
    assert d.level == pytest.approx(100.0)
    # 1 / (1 + I / IC50), gupta2001 functional IC50.
    assert d.signal_factor() == pytest.approx(1.0 / (1.0 + 100.0 / 4.7))


def _world(overrides, condition):
    spec = load_scenario("msc-gradient-cxcl12", [*SMALL, *overrides])
    scenario = dict(spec.conditions)[condition]
    built = TEMPLATES["gradient"](scenario, np.random.default_rng(3))
    return scenario, built


def test_steady_gradient_is_linear_between_reservoirs():
    # No decay, fixed values c = 0 at x = 0 and c_src at x = L, no-flux sides: the exact
    # steady state is c(x) = c_src x / L at every voxel centre.
    scenario, built = _world([], "CXCL12 100 ng/mL")
    w = built.world
    c = w.values[w.field_index("cxcl12")]
    x = w.grid.centers(0)
    exact = 12.5 * x / scenario.assay.length  # 100 ng/mL CXCL12 = 12.5 nM
    np.testing.assert_allclose(c, np.broadcast_to(exact[:, None], c.shape), rtol=1e-9, atol=1e-9)


def test_events_add_drug_and_inject_cells_at_their_time():
    overrides = [
        "events=[{time='30 min', kind='add_drug', drug='amd3100', concentration='1 uM',"
        " washin='0 min'}, {time='1 h', kind='inject_cells', population='msc', count=7}]",
    ]
    scenario, built = _world(overrides, "CXCL12 100 ng/mL")
    w = built.world
    seen = []

    class Probe:
        interval = 15.0

        def start(self, world):
            pass

        def observe(self, world):
            seen.append((world.time, world.drugs["amd3100"].level, world.populations[0].count))

        def finish(self, world):
            pass

    Engine(
        w,
        dt=0.5,
        field_dt=1.0,
        duration=90.0,
        events=built.events,
        observers=[Probe()],
        rng=np.random.default_rng(0),
    ).run()
    by_time = {t: (pytest.approx(lvl, rel=1e-12), n) for t, lvl, n in seen}
    assert by_time[15.0] == (0.0, 40)
    assert by_time[45.0] == (1000.0, 40)  # 1 uM, step wash-in at 30 min
    assert by_time[90.0] == (1000.0, 47)  # 7 cells injected at 60 min
