"""Many runs: parameter sweeps, sensitivity analysis, calibration to data, experimental design.

- :func:`~tropism.fit.sweep.sweep`: every point of a grid, list or sampled ranges x condition
  x replicate, one Parquet dataset, resumable (:mod:`tropism.fit.sweep`);
- :func:`~tropism.fit.sensitivity.sensitivity`: Sobol indices or Morris effects (SALib);
- :func:`~tropism.fit.calibrate.fit`: free parameters fitted to a lab's data with
  profile-likelihood intervals and identifiability;
- :func:`~tropism.fit.design.design`: replicates needed for a given effect and power.

Work runs here, on a local process pool or on a dask.distributed cluster
(:mod:`tropism.fit.backend`), with the same results on each. The public functions are
re-exported as ``tropism.sweep``, ``tropism.sensitivity`` and ``tropism.design``. This package
is itself callable: ``tropism.fit(...)`` is :func:`tropism.fit.calibrate.fit`, while
``tropism.fit.sweep`` and the other modules stay importable as usual.
"""

import sys as _sys
import types as _types

from tropism.fit.models import FunctionModel, SimulatorModel
from tropism.fit.specs import VarySpec, parse_vary

__all__ = ["FunctionModel", "SimulatorModel", "VarySpec", "parse_vary"]


class _CallableModule(_types.ModuleType):
    """``tropism.fit(...)`` calls :func:`tropism.fit.calibrate.fit`."""

    def __call__(self, *args, **kwargs):
        from tropism.fit.calibrate import fit

        return fit(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
