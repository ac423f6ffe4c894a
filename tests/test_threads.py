"""Results do not depend on the number of threads: bit-identical on 1 and 2 Numba threads.

The cell kernels draw their random numbers from per-cell counter-based streams and every
parallel loop writes only its own rows, so a run gives the same bits whatever
``NUMBA_NUM_THREADS`` is. Checked end to end in subprocesses (the thread count is fixed when
Numba starts), and kernel by kernel in this process with ``numba.set_num_threads``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numba
import numpy as np
import pytest

from tropism.world.mechanics import PARALLEL_MIN_CELLS, CellList, push_displacements
from tropism.world.parallel import parallel_chunks
from tropism.world.sensing import PARALLEL_MIN_VOXELS, build_sense

# A small run of each engine path: the matched workload (mechanics, two populations, a
# secreting source) and the built-in gradient scenario through run_replicate. Both have more
# than PARALLEL_MIN_CELLS cells, so two threads really split the cell loops.
SCRIPT = r"""
import hashlib
import numba
import numpy as np
from tropism.engine import Engine
from tropism.matched import build_matched
from tropism.scenario import load_scenario
from tropism.study import run_replicate
from tropism.world.motility import PARALLEL_MIN_CELLS
from tropism.world.parallel import parallel_chunks

h = hashlib.sha256()
m = build_matched(5000, np.random.default_rng(7), 1.0)
Engine(m.world, dt=0.5, field_dt=1.0, duration=15.0, rng=np.random.default_rng(8)).run()
for pop in m.world.populations:
    for a in (pop.pos, pop.vel, pop.path):
        h.update(np.ascontiguousarray(a).tobytes())
h.update(m.world.values.tobytes())
spec = load_scenario(
    "msc-gradient-cxcl12", ["cells.msc.count=4500", 'scenario.duration="20 min"']
)
name, scenario = spec.conditions[1]
out = run_replicate(scenario, name, 0, keep_world=True)
for pop in out.world.populations:
    for a in (pop.pos, pop.vel, pop.path):
        h.update(np.ascontiguousarray(a).tobytes())
h.update(out.metrics["value"].to_numpy().tobytes())
print(numba.get_num_threads(), parallel_chunks(4500, PARALLEL_MIN_CELLS), h.hexdigest())
"""


def _run(threads: int) -> list[str]:
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.split()


def test_runs_are_bit_identical_on_one_and_two_threads():
    one = _run(1)
    two = _run(2)
    assert one[:2] == ["1", "1"]  # one thread: every loop runs serially
    assert int(two[0]) == 2 and int(two[1]) > 1  # two threads: the cell loops are split
    assert one[2] == two[2]


needs_two = pytest.mark.skipif(
    numba.config.NUMBA_NUM_THREADS < 2, reason="Numba was started with one thread"
)


@needs_two
def test_kernels_are_bit_identical_with_one_and_two_threads():
    rng = np.random.default_rng(3)
    n = 2 * PARALLEL_MIN_CELLS
    lo, hi = np.zeros(3), np.array([1000.0, 1000.0, 0.0])
    pos = np.zeros((n, 3))
    pos[:, :2] = rng.uniform(0.0, 1000.0, size=(n, 2))
    radius = rng.uniform(4.0, 9.0, size=n)
    speed = np.full(n, 10.0)
    fields = rng.random((2, 70, 60, 40))  # > PARALLEL_MIN_VOXELS values
    assert fields.size >= PARALLEL_MIN_VOXELS
    before = numba.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            assert (parallel_chunks(n, PARALLEL_MIN_CELLS) > 1) == (threads == 2)
            push = push_displacements(
                pos, radius, speed, np.ones(n, bool), CellList(lo, hi, 2), 0.5
            )
            results.append((push, build_sense(fields, 20.0)))
    finally:
        numba.set_num_threads(before)
    assert np.count_nonzero(results[0][0]) > n  # crowded: many pushes
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_build_sense_equals_numpy_gradient_bit_for_bit():
    rng = np.random.default_rng(4)
    for shape in [(2, 5, 4, 1), (1, 7, 1, 5), (1, 2, 2, 2), (1, 1, 1, 1), (2, 70, 60, 40)]:
        f = rng.random(shape) * 10.0
        ref = np.zeros((shape[0], 4, *shape[1:]))
        ref[:, 0] = f
        for axis in range(3):
            if shape[axis + 1] >= 2:
                ref[:, axis + 1] = np.gradient(f, 20.0, axis=axis + 1, edge_order=1)
        np.testing.assert_array_equal(build_sense(f, 20.0), ref)
        out = np.full_like(ref, np.nan)
        assert build_sense(f, 20.0, out=out) is out
        np.testing.assert_array_equal(out, ref)
    with pytest.raises(ValueError):
        build_sense(np.zeros((1, 4, 4, 1)), 20.0, out=np.zeros((1, 4, 4, 4, 2)))
