"""A lab's own measurements: cell tracks from time-lapse microscopy, Transwell counts.

:func:`load_observations` reads a file and reduces it to the readouts the simulator computes,
one value per condition, time, replicate and readout (:class:`Observations`), which
:func:`tropism.fit` calibrates a scenario to.
"""

from tropism.data.counts import TRANSWELL_READOUTS, read_counts
from tropism.data.observations import Observations, load_observations
from tropism.data.tracks import TrackData, read_tracks, readouts_from_tracks

__all__ = [
    "TRANSWELL_READOUTS",
    "Observations",
    "TrackData",
    "load_observations",
    "read_counts",
    "read_tracks",
    "readouts_from_tracks",
]
