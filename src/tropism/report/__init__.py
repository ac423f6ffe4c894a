"""Figures, animations and the self-contained HTML report of a run.

>>> from tropism.report import write_report        # doctest: +SKIP
>>> write_report(result, "runs/gradient")          # doctest: +SKIP
PosixPath('runs/gradient/report.html')
"""

from tropism.report.animation import AnimationScene, animate, video_encoder
from tropism.report.figures import (
    DEFAULT_READOUTS,
    DENSITY_ASSAYS,
    FIGURE_KINDS,
    OKABE_ITO,
    TOL_BRIGHT,
    cell_density,
    compartment_fractions,
    condition_colors,
    density_map,
    endpoints,
    field_map,
    figure_stems,
    make_figures,
    plot,
    readouts_over_time,
    rose,
    spider,
)
from tropism.report.html import format_number, render_report, write_report
from tropism.report.response import dose_response, sweep_frame, sweep_response

__all__ = [
    "DEFAULT_READOUTS",
    "DENSITY_ASSAYS",
    "FIGURE_KINDS",
    "OKABE_ITO",
    "TOL_BRIGHT",
    "AnimationScene",
    "animate",
    "cell_density",
    "compartment_fractions",
    "condition_colors",
    "density_map",
    "dose_response",
    "endpoints",
    "field_map",
    "figure_stems",
    "format_number",
    "make_figures",
    "plot",
    "readouts_over_time",
    "render_report",
    "rose",
    "spider",
    "sweep_frame",
    "sweep_response",
    "video_encoder",
    "write_report",
]
