"""Numba kernels of the resampling engine: matrix product and reduction fused per cache tile.

On the CPU the permutation screen is limited by memory traffic, not arithmetic: a chunk of
permutations produces ``c (p + k) q`` numbers that NumPy would write to RAM in the matrix
product and read back several times for the reduction.  Here the y features are cut into
tiles of ``qt`` columns; each thread takes a tile, computes its block of products with BLAS
(``np.dot``, single-threaded inside the parallel loop), and reduces it while it is still in
cache: Freedman-Lane denominators, |r*|, exceedance counts and per-permutation maxima, in one
pass.  Tiles are independent (each owns its columns of the count matrix), so there are no
races and the result does not depend on the number of threads.

The arithmetic is that of the NumPy path of :mod:`kernels_xp` (the same dot products,
denominators summed in the same order, one multiply, one abs, one compare; ``fastmath`` off).
BLAS may order the sums of a small tile differently from one large product, so statistics can
differ in the last bit; the comparison with the observed value carries a tolerance
(:func:`~radiogenomics.resampling.engine.exceedance_threshold`), so the exceedance counts,
hence the p-values, are the same as the NumPy backend's (tested), and the null maxima agree to
about 1e-15.
"""

from __future__ import annotations

import numpy as np

try:
    import numba
    from numba import njit, prange
except ImportError:  # pragma: no cover - numba is a hard dependency, kept optional here
    numba = None

__all__ = ["TiledCorrelationReducer"]

#: target bytes of one tile of products (c (p + k) qt doubles), about a core's L2 cache
TILE_BYTES = 4e6

if numba is not None:

    @njit(parallel=True, cache=True)
    def _fused(W, Ut, p, thr_t, counts_t, tilemax):  # pragma: no cover - compiled
        c, m, n = W.shape
        T = Ut.shape[0]
        qt = Ut.shape[2]
        W2 = W.reshape(c * m, n)
        for t in prange(T):
            G = np.dot(W2, Ut[t])  # (c m, qt), BLAS
            s = np.empty(qt)
            vmax = np.empty(qt)
            for i in range(c):
                base = i * m
                # Freedman-Lane denominators; loops ordered so the inner one vectorises
                s[:] = 0.0
                for l in range(p, m):
                    for k in range(qt):
                        g = G[base + l, k]
                        s[k] += g * g
                for k in range(qt):
                    s[k] = 1.0 / np.sqrt(max(1.0 - s[k], 1e-300))
                # elementwise running maxima (a scalar max would serialise the loop)
                vmax[:] = 0.0
                for j in range(p):
                    row = G[base + j]
                    thr = thr_t[t, j]
                    cnt = counts_t[t, j]
                    for k in range(qt):
                        v = abs(row[k] * s[k])
                        cnt[k] += v >= thr[k]
                        vmax[k] = max(vmax[k], v)
                tilemax[t, i] = vmax.max()


class TiledCorrelationReducer:
    """Holds U, thresholds and counts in tile layout; :meth:`run` reduces one chunk.

    Parameters
    ----------
    U : (n, q) array
        y residuals (unit columns).
    thr : (p, q) array
        Exceedance thresholds.
    m : int
        Rows per permutation of the gathered ``[A | Q]'`` block (p + k).
    batch : int
        Permutations per chunk (sets the tile width so a tile is about :data:`TILE_BYTES`).
    """

    def __init__(self, U: np.ndarray, thr: np.ndarray, m: int, batch: int):
        if numba is None:  # pragma: no cover
            raise RuntimeError("backend='numba' needs Numba (pip install numba)")
        n, q = U.shape
        self.p, self.q = thr.shape
        qt = int(np.clip(TILE_BYTES / (8.0 * batch * m), 32, 4096))
        qt = max(1, min(qt, -(-q // numba.get_num_threads())))  # at least one tile per thread
        T = -(-q // qt)
        pad = T * qt - q
        # zero-padded columns give r* = 0 and an infinite threshold: never counted, max unaffected
        Upad = np.concatenate([U, np.zeros((n, pad))], axis=1)
        self.Ut = np.ascontiguousarray(Upad.reshape(n, T, qt).transpose(1, 0, 2))
        thr_pad = np.concatenate([thr, np.full((self.p, pad), np.inf)], axis=1)
        self.thr_t = np.ascontiguousarray(thr_pad.reshape(self.p, T, qt).transpose(1, 0, 2))
        self.counts_t = np.zeros((T, self.p, qt), dtype=np.int64)
        self.tile_width = qt

    @staticmethod
    def single_threaded_blas():
        """Context in which BLAS runs on one thread (the parallelism is the tiles')."""
        from .backend import single_threaded_blas

        return single_threaded_blas()

    def run(self, W: np.ndarray) -> np.ndarray:
        """Reduce a chunk; ``W`` is (c, m, n), the gathered ``[A | Q]'`` per permutation.

        Call it inside :meth:`single_threaded_blas`.  Returns max |r*| per permutation (c,).
        """
        tilemax = np.zeros((self.Ut.shape[0], W.shape[0]))
        _fused(np.ascontiguousarray(W), self.Ut, self.p, self.thr_t, self.counts_t, tilemax)
        return tilemax.max(axis=0)

    def counts(self) -> np.ndarray:
        """Exceedance counts back in (p, q) layout."""
        T, p, qt = self.counts_t.shape
        return self.counts_t.transpose(1, 0, 2).reshape(p, T * qt)[:, : self.q].copy()
