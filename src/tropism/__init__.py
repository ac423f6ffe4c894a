"""tropism: a mechanistic simulator of stem-cell tumour tropism.

>>> import tropism
>>> study = tropism.load("msc-gradient-cxcl12")      # doctest: +SKIP
>>> result = study.run()                              # doctest: +SKIP
>>> result.summary_table()                            # doctest: +SKIP
"""

__version__ = "0.1.0"

import os as _os

if "NUMBA_THREADING_LAYER" not in _os.environ:
    # Replicates run in forked worker processes; GNU OpenMP aborts a process forked after
    # it started, so prefer a fork-safe threading layer (TBB if installed, else Numba's
    # workqueue) for the parallel kernels.
    import numba as _numba

    _numba.config.THREADING_LAYER = "forksafe"

# tropism.fit is a callable package: tropism.fit(...) is tropism.fit.calibrate.fit
import tropism.fit as fit  # noqa: E402
from tropism.api import Result, Study, load, read_run  # noqa: E402
from tropism.fit.design import design  # noqa: E402
from tropism.fit.sensitivity import sensitivity  # noqa: E402
from tropism.fit.sweep import sweep  # noqa: E402

__all__ = [
    "Result",
    "Study",
    "design",
    "fit",
    "load",
    "read_run",
    "sensitivity",
    "sweep",
    "__version__",
]
