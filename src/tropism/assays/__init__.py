"""Assay templates: each builds a world and its timeline for the one engine."""

from tropism.assays import gradient

TEMPLATES = {"gradient": gradient.build}
"""Assay name -> ``build(scenario, rng) -> Built``."""
