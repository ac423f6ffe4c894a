"""Scenario files: schema, sourced defaults, loading, overrides, built-in scenarios.

>>> from tropism.scenario import load_scenario
>>> spec = load_scenario("msc-gradient-cxcl12", ["cells.msc.count=100"])
>>> spec.condition_names
['no chemokine', 'CXCL12 100 ng/mL', 'CXCL12 + AMD3100 1 ug/mL']
>>> round(spec.base.assay.source["cxcl12"], 6)
12.5
"""

from tropism.scenario.loader import (
    ScenarioSpec,
    apply_override,
    list_builtin,
    load_scenario,
    parse_override,
)
from tropism.scenario.schema import (
    ASSAYS,
    CellSpec,
    Condition,
    DrugSpec,
    EventSpec,
    FieldSpec,
    GradientAssay,
    Meta,
    Numerics,
    ReceptorSpec,
    Scenario,
)

__all__ = [
    "ASSAYS",
    "CellSpec",
    "Condition",
    "DrugSpec",
    "EventSpec",
    "FieldSpec",
    "GradientAssay",
    "Meta",
    "Numerics",
    "ReceptorSpec",
    "Scenario",
    "ScenarioSpec",
    "apply_override",
    "list_builtin",
    "load_scenario",
    "parse_override",
]
