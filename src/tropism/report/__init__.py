"""Figures and the self-contained HTML report of a run.

>>> from tropism.report import write_report        # doctest: +SKIP
>>> write_report(result, "runs/gradient")          # doctest: +SKIP
PosixPath('runs/gradient/report.html')
"""

from tropism.report.figures import (
    DEFAULT_READOUTS,
    OKABE_ITO,
    condition_colors,
    endpoints,
    field_map,
    make_figures,
    readouts_over_time,
    rose,
    spider,
)
from tropism.report.html import format_number, render_report, write_report

__all__ = [
    "DEFAULT_READOUTS",
    "OKABE_ITO",
    "condition_colors",
    "endpoints",
    "field_map",
    "format_number",
    "make_figures",
    "readouts_over_time",
    "render_report",
    "rose",
    "spider",
    "write_report",
]
