"""Numba kernels for the CPU loops of the resampling engine that are not matrix products.

The matrix products stay with NumPy's BLAS; these loops fuse what NumPy would do in several
passes with temporaries (scale by the Freedman-Lane denominator, absolute value, exceedance
count, running maximum) into one multi-threaded pass over the chunk.  Arithmetic is the same
IEEE operations in the same order as the NumPy path (one multiply, one abs, one compare), and
``fastmath`` is off, so results are bit-identical to the NumPy backend.
"""

from __future__ import annotations

import numpy as np

try:
    import numba
    from numba import njit, prange
except ImportError:  # pragma: no cover - numba is a hard dependency, kept optional here
    numba = None

__all__ = ["reduce_chunk"]

if numba is not None:

    @njit(parallel=True, cache=True, nogil=True)
    def _reduce(G, p, invD, thr, counts, rowmax):  # pragma: no cover - compiled
        c = G.shape[0]
        q = G.shape[2]
        for j in prange(p):
            for i in range(c):
                mx = 0.0
                for k in range(q):
                    v = abs(G[i, j, k] * invD[i, k])
                    if v >= thr[j, k]:
                        counts[j, k] += 1
                    if v > mx:
                        mx = v
                rowmax[i, j] = mx


def reduce_chunk(G: np.ndarray, p: int, invD: np.ndarray, thr: np.ndarray,
                 counts: np.ndarray) -> np.ndarray:
    """Numba version of :func:`kernels_xp.reduce_chunk`: counts updated in place; row maxima."""
    rowmax = np.empty((G.shape[0], p))
    _reduce(G, p, invD, thr, counts, rowmax)
    return rowmax.max(axis=1)
