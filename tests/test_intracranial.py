"""The intracranial assay: brain geometry, reflecting walls, white-matter speed, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from tropism.assays.intracranial import build
from tropism.engine import Engine
from tropism.errors import ScenarioError
from tropism.scenario.loader import load_scenario
from tropism.world.brain import BrainHook, reflect_from_blocked, voxel_factor

SMALL = [
    'assay.grid_spacing="100 um"',
    'assay.length="4400 um"',
    'assay.width="3200 um"',
    'assay.brain_width="4000 um"',
    'assay.brain_height="2800 um"',
    'assay.tumour_x="1100 um"',
    'assay.tumour_y="-200 um"',
    'assay.tumour_radius="300 um"',
    'assay.ventricle_x="400 um"',
    'assay.ventricle_y="200 um"',
    'assay.ventricle_width="200 um"',
    'assay.ventricle_height="600 um"',
    'assay.callosum_y="500 um"',
    'assay.callosum_thickness="200 um"',
    'assay.callosum_half_length="1000 um"',
    'assay.injection_distance="800 um"',
    "scenario.replicates=1",
    "numerics.track_cells=0",
]


def _scenario(extra=(), condition="NSC contralateral"):
    spec = load_scenario("nsc-intracranial-glioma", [*SMALL, *extra])
    return dict(spec.conditions)[condition]


def test_reflect_from_blocked_undoes_the_blocked_axis_only():
    blocked = np.zeros((4, 4, 1), dtype=bool)
    blocked[2, :, 0] = True  # a wall at 20 <= x < 30
    old = np.array([[15.0, 15.0, 0.0], [15.0, 15.0, 0.0], [5.0, 5.0, 0.0]])
    pos = np.array([[25.0, 18.0, 0.0], [16.0, 25.0, 0.0], [6.0, 6.0, 0.0]])
    vel = np.array([[1.0, 0.5, 0.0], [0.2, 1.0, 0.0], [1.0, 1.0, 0.0]])
    state = np.zeros(3, dtype=np.int8)
    n = reflect_from_blocked(pos, vel, old, state, blocked, np.zeros(3), 10.0, 2)
    assert n == 1
    np.testing.assert_allclose(pos[0], [15.0, 18.0, 0.0])  # x undone, y kept
    np.testing.assert_allclose(vel[0], [-1.0, 0.5, 0.0])  # x velocity reversed
    np.testing.assert_allclose(pos[1:], [[16.0, 25.0, 0.0], [6.0, 6.0, 0.0]])  # free moves
    np.testing.assert_allclose(vel[1:], [[0.2, 1.0, 0.0], [1.0, 1.0, 0.0]])


def test_geometry_masks_the_outside_ventricles_and_fissure():
    scenario = _scenario()
    world = build(scenario, np.random.default_rng(0)).world
    hook = world.hooks[0]
    assert isinstance(hook, BrainHook)
    blocked = hook.blocked
    nx, ny = blocked.shape
    assert blocked[0, 0] and blocked[-1, -1]  # corners: outside the outline
    assert not blocked[nx // 4, ny // 2]  # left hemisphere tissue
    # the fissure splits the dorsal midline, the ventricles sit either side of it
    assert blocked[nx // 2, ny - 3] and blocked[nx // 2 - 1, ny - 3]
    assert blocked[(2200 - 400) // 100, (1600 + 200) // 100]
    # chemokines live only in tissue; the tumour secretes, so there is CXCL12 in the slice
    c = world.values[world.field_index("cxcl12")]
    assert np.all(c[blocked] == 0.0) and c.max() > 0.0
    # the callosum is faster, grey matter at 1
    assert hook.speed_factor.max() == pytest.approx(3.0)
    assert np.all(hook.speed_factor[blocked] == 1.0)
    # every cell starts in tissue, around the contralateral site
    pos = world.populations[0].pos
    assert not np.any(voxel_factor(blocked.astype(float), pos, world.grid.lo, 100.0))
    assert np.all(pos[:, 0] < 2200.0)


def test_cells_stay_in_tissue_and_the_tissue_factor_does_not_compound():
    scenario = _scenario(
        ['scenario.duration="12 h"', 'cells.graft.speed="5 um/min"'], "NSC intraventricular"
    )
    built = build(scenario, np.random.default_rng(1))
    world = built.world
    hook = world.hooks[0]
    engine = Engine(
        world,
        dt=2.0,
        field_dt=10.0,
        duration=720.0,
        events=built.events,
        rng=np.random.default_rng(2),
        tumour_dt=60.0,
    )
    engine.run()
    pop = world.populations[0]
    inside = voxel_factor(hook.blocked.astype(float), pop.pos, world.grid.lo, 100.0)
    assert not np.any(inside)
    assert hook.reflections > 0  # fast cells met the walls
    # speed_scale is this step's factor times the biology's (1 here), not a running product
    factor = voxel_factor(hook.speed_factor, hook._old[0], world.grid.lo, 100.0)
    np.testing.assert_allclose(pop.speed_scale, factor)
    cells = world.maps()["cells"]
    assert cells.sum() == pop.count and cells.shape == world.grid.shape


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ('assay.tumour_x="2100 um"', "assay.tumour_x"),  # outside the brain outline
        ('assay.tumour_x="400 um"', "assay.tumour_x"),  # centre in the right ventricle
        ('assay.tumour_radius="1500 um"', "assay.tumour_radius"),  # beyond the box
        ('assay.injection_x="-2150 um"', "assay.injection_x"),  # injection outside the brain
        ('assay.injection_distance="3 mm"', "assay.injection_distance"),
        ('assay.brain_width="5 mm"', "assay.brain_width"),
    ],
)
def test_bad_sites_are_one_line_errors(override, key):
    extra = [override]
    if "injection_distance" in override:
        extra.append('assay.injection_site="ipsilateral"')
    if 'tumour_x="400' in override:
        extra.append('assay.tumour_y="200 um"')
    with pytest.raises(ScenarioError) as info:
        load_scenario("nsc-intracranial-glioma", [*SMALL, *extra])
    assert info.value.key == key
    assert "\n" not in str(info.value)


def test_the_slice_is_two_dimensional():
    with pytest.raises(ScenarioError) as info:
        load_scenario("nsc-intracranial-glioma", [*SMALL, "scenario.dimensions=3"])
    assert info.value.key == "scenario.dimensions"
    scenario = _scenario()
    bad = scenario.model_copy(
        update={"scenario": scenario.scenario.model_copy(update={"dimensions": 3})}
    )
    with pytest.raises(ScenarioError) as info:
        build(bad, np.random.default_rng(0))
    assert info.value.key == "scenario.dimensions"
