"""Shared fixtures: small, fast versions of the built-in scenario."""

from __future__ import annotations

import pytest

SMALL = [
    "cells.msc.count=40",
    'scenario.duration="2 h"',
    "scenario.replicates=2",
    'numerics.readout_interval="30 min"',
    "numerics.track_cells=5",
]
"""Overrides that make the built-in gradient scenario run in about a second."""


@pytest.fixture(scope="session")
def small_result():
    """One small run of the built-in gradient scenario (shared by read-only tests)."""
    import tropism

    return tropism.load("msc-gradient-cxcl12", SMALL).run(workers=1)
