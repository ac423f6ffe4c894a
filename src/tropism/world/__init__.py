"""The simulated world: grid, fields, cells and their Numba kernels.

Numba threading layer: the cell kernels run ``prange`` loops, and studies fork worker
processes. GNU OpenMP (Numba's default ``omp`` layer on Linux) aborts a forked child once the
parent has run a parallel loop, so unless the user chose a layer (``NUMBA_THREADING_LAYER``),
tropism asks Numba for a fork-safe one (TBB if installed, else its own ``workqueue``). This
must be set before the first parallel kernel runs, hence here. Results do not depend on the
layer or the number of threads (``numba.set_num_threads`` / ``NUMBA_NUM_THREADS``).
"""

import os as _os

import numba as _numba

if "NUMBA_THREADING_LAYER" not in _os.environ:
    _numba.config.THREADING_LAYER = "forksafe"
