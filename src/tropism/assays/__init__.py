"""Assay templates: each builds a world and its timeline for the one engine."""

from tropism.assays import gradient


def _spheroid(scenario, rng):
    from tropism.assays import spheroid

    return spheroid.build(scenario, rng)


def _systemic(scenario, rng):
    from tropism.assays import systemic

    return systemic.build(scenario, rng)


def _transwell(scenario, rng):
    from tropism.assays import transwell

    return transwell.build(scenario, rng)


def _intracranial(scenario, rng):
    from tropism.assays import intracranial

    return intracranial.build(scenario, rng)


TEMPLATES = {
    "gradient": gradient.build,
    "spheroid": _spheroid,
    "systemic": _systemic,
    "transwell": _transwell,
    "intracranial": _intracranial,
}
"""Assay name -> ``build(scenario, rng) -> Built``."""
