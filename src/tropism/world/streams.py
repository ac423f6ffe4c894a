"""Counter-based random streams: Philox4x32-10 and standard normal numbers, in Numba.

A counter-based generator is a keyed bijection of a counter (Salmon et al. 2011, "Parallel
random numbers: as easy as 1, 2, 3", the Random123 library): the numbers a cell uses at a step
are a pure function of (key, cell id, step, block, stream), so a kernel can draw them inside a
parallel loop and results are bit-identical whatever the number of threads, the order of the
cells or how the loop is split. Nothing is stored per cell.

Layout used by the engine (see :func:`cell_normals`):

- key: two 32-bit words, drawn once per replicate from its ``numpy.random.Generator``;
- counter: ``(cell id, step, block, stream)``; ``stream`` separates populations and purposes
  (``stream = purpose << 16 | population``; purpose 0 is motility), ``block`` numbers the
  4-word blocks a cell needs within one step.

Each 32-bit word becomes one standard normal number by the inverse normal CDF (Wichura's
AS241, accurate to about 1e-16) at the midpoint ``(u + 1/2) / 2^32``. The probability
resolution is 2^-32 and the tails are cut at |z| = 6.23 (probability 5e-10): negligible for
this simulator, and one Philox call gives four normals.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = [
    "MOTILITY",
    "cell_normals",
    "cell_words",
    "key_from_generator",
    "normal_from_u32",
    "normal_quantile",
    "philox4x32",
    "stream_id",
]

MOTILITY = 0
"""Purpose code of the motility draws (binding noise and the OU kick)."""

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK = np.uint64(0xFFFFFFFF)
_SHIFT = np.uint64(32)


@numba.njit(cache=True, inline="always")
def philox4x32(
    c0: np.uint64,
    c1: np.uint64,
    c2: np.uint64,
    c3: np.uint64,
    k0: np.uint64,
    k1: np.uint64,
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """Philox4x32-10: four 32-bit output words for a four-word counter and two-word key.

    All arguments and results are 32-bit values held in uint64 (the upper half must be 0).
    Checked against the Random123 known-answer vectors in the tests.
    """
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = (
            (p1 >> _SHIFT) ^ c1 ^ k0,
            p1 & _MASK,
            (p0 >> _SHIFT) ^ c3 ^ k1,
            p0 & _MASK,
        )
        k0 = (k0 + _W0) & _MASK
        k1 = (k1 + _W1) & _MASK
    return c0, c1, c2, c3


# AS241 (PPND16) coefficients, lowest order first (Wichura 1988, Appl. Statist. 37:477-484)
_A = (
    3.3871328727963666080e0,
    1.3314166789178437745e2,
    1.9715909503065514427e3,
    1.3731693765509461125e4,
    4.5921953931549871457e4,
    6.7265770927008700853e4,
    3.3430575583588128105e4,
    2.5090809287301226727e3,
)
_B = (
    1.0,
    4.2313330701600911252e1,
    6.8718700749205790830e2,
    5.3941960214247511077e3,
    2.1213794301586595867e4,
    3.9307895800092710610e4,
    2.8729085735721942674e4,
    5.2264952788528545610e3,
)
_C = (
    1.42343711074968357734e0,
    4.63033784615654529590e0,
    5.76949722146069140550e0,
    3.64784832476320460504e0,
    1.27045825245236838258e0,
    2.41780725177450611770e-1,
    2.27238449892691845833e-2,
    7.74545014278341407640e-4,
)
_D = (
    1.0,
    2.05319162663775882187e0,
    1.67638483018380384940e0,
    6.89767334985100004550e-1,
    1.48103976427480074590e-1,
    1.51986665636164571966e-2,
    5.47593808499534494600e-4,
    1.05075007164441684324e-9,
)
_E = (
    6.65790464350110377720e0,
    5.46378491116411436990e0,
    1.78482653991729133580e0,
    2.96560571828504891230e-1,
    2.65321895265761230930e-2,
    1.24266094738807843860e-3,
    2.71155556874348757815e-5,
    2.01033439929228813265e-7,
)
_F = (
    1.0,
    5.99832206555887937690e-1,
    1.36929880922735805310e-1,
    1.48753612908506148525e-2,
    7.86869131145613259100e-4,
    1.84631831751005468180e-5,
    1.42151175831644588870e-7,
    2.04426310338993978564e-15,
)


@numba.njit(cache=True, inline="always")
def _ratio(num: tuple, den: tuple, r: float) -> float:
    """Ratio of two degree-7 polynomials in r (Horner; coefficients lowest order first)."""
    p = num[7]
    q = den[7]
    for k in range(6, -1, -1):
        p = p * r + num[k]
        q = q * r + den[k]
    return p / q


@numba.njit(cache=True, inline="always")
def normal_quantile(p: float) -> float:
    """Standard normal quantile (inverse CDF) of ``p`` in (0, 1): Wichura's AS241 (PPND16).

    Relative accuracy about 1e-16 (Wichura 1988, Appl. Statist. 37:477-484).
    """
    q = p - 0.5
    if abs(q) <= 0.425:
        return q * _ratio(_A, _B, 0.180625 - q * q)
    r = math.sqrt(-math.log(p if q < 0.0 else 1.0 - p))
    if r <= 5.0:
        z = _ratio(_C, _D, r - 1.6)
    else:
        z = _ratio(_E, _F, r - 5.0)
    return -z if q < 0.0 else z


@numba.njit(cache=True, inline="always")
def normal_from_u32(u: np.uint64) -> float:
    """A standard normal number from one 32-bit word: quantile at (u + 1/2) / 2^32."""
    return normal_quantile((float(u) + 0.5) * 2.3283064365386963e-10)


@numba.njit(cache=True, inline="always")
def cell_words(
    k0: np.uint64,
    k1: np.uint64,
    cell_id: int,
    step: int,
    block: int,
    stream: int,
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """The four 32-bit words of one cell's block at one step (one Philox call).

    Counter ``(cell_id, step, block, stream)``, each word taken modulo 2^32.
    """
    return philox4x32(
        np.uint64(cell_id) & _MASK,
        np.uint64(step) & _MASK,
        np.uint64(block) & _MASK,
        np.uint64(stream) & _MASK,
        k0,
        k1,
    )


@numba.njit(cache=True, inline="always")
def cell_normals(
    k0: np.uint64,
    k1: np.uint64,
    cell_id: int,
    step: int,
    block: int,
    stream: int,
) -> tuple[float, float, float, float]:
    """Four standard normal numbers of one cell at one step (one Philox call).

    Parameters
    ----------
    k0, k1
        Key words (32-bit values in uint64), see :func:`key_from_generator`.
    cell_id, step, block, stream
        Counter words; each is taken modulo 2^32.
    """
    w0, w1, w2, w3 = cell_words(k0, k1, cell_id, step, block, stream)
    return normal_from_u32(w0), normal_from_u32(w1), normal_from_u32(w2), normal_from_u32(w3)


def key_from_generator(rng: np.random.Generator) -> np.ndarray:
    """Two 32-bit key words (uint64 array of shape (2,)) drawn from a replicate's generator."""
    return rng.integers(0, 2**32, size=2, dtype=np.uint64)


def stream_id(population: int, purpose: int = MOTILITY) -> int:
    """Counter word separating populations (low 16 bits) and purposes (high 16 bits)."""
    if not (0 <= population < 1 << 16 and 0 <= purpose < 1 << 16):
        raise ValueError(f"population {population} or purpose {purpose} out of range")
    return (purpose << 16) | population
