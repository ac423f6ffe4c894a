"""Track readouts against hand-computed values."""

import numpy as np
import pytest

from tropism.observe.readouts import READOUTS, track_readouts

UP = np.array([1.0, 0.0, 0.0])


def test_straight_and_oblique_tracks_by_hand():
    # Cell 1: net displacement (3, 4) (|d| = 5) over a path of 10 um in 5 min.
    # Cell 2: net displacement (-6, 0) over a path of 6 um in 5 min.
    start = np.zeros((2, 3))
    pos = np.array([[3.0, 4.0, 0.0], [-6.0, 0.0, 0.0]])
    path = np.array([10.0, 6.0])
    elapsed = np.array([5.0, 5.0])
    r = track_readouts(start, pos, path, elapsed, UP)
    assert r["fmi"] == pytest.approx((3 / 10 + -6 / 6) / 2)
    assert r["chemotactic_index"] == pytest.approx((3 / 5 + -1.0) / 2)
    assert r["directness"] == pytest.approx((5 / 10 + 1.0) / 2)
    assert r["speed"] == pytest.approx((10 / 5 + 6 / 5) / 2)
    assert r["drift_velocity"] == pytest.approx((3 / 5 - 6 / 5) / 2)
    assert r["displacement"] == pytest.approx((3 - 6) / 2)
    assert set(r) == set(READOUTS)


def test_cells_that_did_not_move_are_excluded_and_empty_is_nan():
    start = np.zeros((2, 3))
    pos = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    r = track_readouts(start, pos, np.array([2.0, 0.0]), np.ones(2), UP)
    assert r["fmi"] == pytest.approx(1.0)
    empty = track_readouts(start, start, np.zeros(2), np.ones(2), UP)
    assert all(np.isnan(v) for v in empty.values())
