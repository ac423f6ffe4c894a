"""Counter-based random streams: Philox4x32-10 known answers, the normal quantile, moments.

The known-answer vectors are Random123's (Salmon et al. 2011, tests/kat_vectors); the normal
quantile is checked against scipy.special.ndtri and the standard library's NormalDist.
"""

from __future__ import annotations

import statistics

import numba
import numpy as np
import pytest
from scipy import special, stats

from tropism.world.streams import (
    cell_normals,
    key_from_generator,
    normal_from_u32,
    normal_quantile,
    philox4x32,
    stream_id,
)

U = np.uint64

KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize(("ctr", "key", "expected"), KAT)
def test_philox_matches_random123_known_answers(ctr, key, expected):
    got = philox4x32(*(U(c) for c in ctr), *(U(k) for k in key))
    assert tuple(int(w) for w in got) == expected


def test_normal_quantile_matches_scipy_and_the_standard_library():
    p = np.concatenate(
        [
            np.linspace(0.0, 1.0, 20001)[1:-1],
            np.logspace(-300, -0.5, 400),
            1.0 - np.logspace(-15, -0.5, 200),
            [0.075, 0.925, 0.5 - 0.425, 0.5 + 0.425],  # branch boundaries of AS241
        ]
    )
    got = np.array([normal_quantile(x) for x in p])
    ref = special.ndtri(p)
    # AS241 is accurate to ~1e-16 relative; ndtri to ~1e-15 (near 1, p itself is rounded)
    np.testing.assert_allclose(got, ref, rtol=2e-14, atol=1e-14)
    nd = statistics.NormalDist()
    for x in p[::50]:
        assert normal_quantile(x) == pytest.approx(nd.inv_cdf(x), rel=1e-14, abs=1e-15)
    assert normal_quantile(0.5) == 0.0
    # one 32-bit word: quantile at the midpoint of its interval, symmetric about 2^31
    assert normal_from_u32(U(0)) == pytest.approx(special.ndtri(0.5 / 2**32), rel=1e-14)
    assert normal_from_u32(U(2**32 - 1)) == -normal_from_u32(U(0))


@numba.njit(cache=True)
def _draw(k0, k1, n_cells, n_steps, stream):
    out = np.empty((n_cells, n_steps, 4))
    for i in range(n_cells):
        for s in range(n_steps):
            a, b, c, d = cell_normals(k0, k1, i, s, 0, stream)
            out[i, s, 0] = a
            out[i, s, 1] = b
            out[i, s, 2] = c
            out[i, s, 3] = d
    return out


def test_cell_streams_are_standard_normal_and_uncorrelated():
    key = key_from_generator(np.random.default_rng(2024))
    x = _draw(key[0], key[1], 2000, 50, stream_id(0))  # 4e5 numbers
    flat = x.ravel()
    assert flat.size == 400_000
    # moments: s.e. of the mean 1/sqrt(n) = 0.0016, of the variance sqrt(2/n) = 0.0022,
    # of the excess kurtosis sqrt(24/n) = 0.0077; tolerances are 4-5 s.e.
    assert abs(flat.mean()) < 0.008
    assert flat.var() == pytest.approx(1.0, abs=0.011)
    assert abs(stats.kurtosis(flat)) < 0.04
    # distribution: Kolmogorov-Smirnov against N(0, 1)
    assert stats.kstest(flat[:100000], "norm").pvalue > 1e-3
    # no correlation between the four words, successive steps, or neighbouring cells:
    # each correlation has s.e. 1/sqrt(n_pairs) <= 0.0023; tolerance 0.012
    words = x.reshape(-1, 4)
    corr = np.corrcoef(words.T)
    assert np.max(np.abs(corr - np.eye(4))) < 0.012
    assert abs(np.corrcoef(x[:, 1:, 0].ravel(), x[:, :-1, 0].ravel())[0, 1]) < 0.012
    assert abs(np.corrcoef(x[1:, :, 0].ravel(), x[:-1, :, 0].ravel())[0, 1]) < 0.012
    # another population's stream and another key give other numbers
    other = _draw(key[0], key[1], 10, 5, stream_id(1))
    assert not np.any(other == x[:10, :5])
    rekeyed = _draw(key[0] ^ U(1), key[1], 10, 5, stream_id(0))
    assert not np.any(rekeyed == x[:10, :5])
    # and the same counter gives the same numbers
    np.testing.assert_array_equal(_draw(key[0], key[1], 10, 5, stream_id(0)), x[:10, :5])


def test_stream_ids_separate_populations_and_purposes():
    assert stream_id(0) == 0 and stream_id(3) == 3
    assert stream_id(3, purpose=2) == (2 << 16) + 3
    with pytest.raises(ValueError):
        stream_id(1 << 16)
    key = key_from_generator(np.random.default_rng(0))
    assert key.dtype == np.uint64 and key.shape == (2,) and np.all(key < 2**32)
