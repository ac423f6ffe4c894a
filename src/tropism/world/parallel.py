"""When to run a kernel on several threads, and in how many chunks.

Kernels that loop over cells or voxels come in two parts: a serial function over a range
``[start, stop)`` and a ``prange`` driver that runs it over contiguous chunks. For little work
a parallel launch (tens of microseconds with Numba's work-queue layer) costs more than it
saves, so callers ask :func:`parallel_chunks` first and call the serial range directly when it
says 1. Every item does the same arithmetic either way: results are bit-identical on any
number of threads.
"""

from __future__ import annotations

import numba

__all__ = ["CHUNKS_PER_THREAD", "parallel_chunks"]

CHUNKS_PER_THREAD = 4
"""Chunks per thread: a little slack for uneven work (cells in crowded or empty regions)."""


def parallel_chunks(n_items: int, minimum: int) -> int:
    """Number of chunks to split ``n_items`` into: 1 (serial) below ``minimum`` items or
    with one Numba thread, else ``CHUNKS_PER_THREAD`` per thread (at most ``n_items``)."""
    threads = numba.get_num_threads()
    if threads < 2 or n_items < max(2, minimum):
        return 1
    return min(n_items, CHUNKS_PER_THREAD * threads)
