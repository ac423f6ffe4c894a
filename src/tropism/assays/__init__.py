"""Assay templates: each builds a world and its timeline for the one engine."""

from tropism.assays import gradient, intracranial, spheroid, systemic, transwell

TEMPLATES = {
    "gradient": gradient.build,
    "spheroid": spheroid.build,
    "systemic": systemic.build,
    "transwell": transwell.build,
    "intracranial": intracranial.build,
}
"""Assay name -> ``build(scenario, rng) -> Built``."""
