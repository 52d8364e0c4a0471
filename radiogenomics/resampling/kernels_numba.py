"""Numba kernels of the resampling engine: small matrix products, each reduced while in cache.

On the CPU the permutation screen is a stream of products with a short inner dimension
(``n`` samples) whose ``c (p + k) q`` results are each needed once, by a reduction.  NumPy
would write them all to RAM and read them back several times; here they never leave the core.
The y features are cut into tiles of ``N`` columns and the permutations of a chunk into
blocks of ``nb``; threads take tiles (a few at a time, dynamically, so a core slowed by another
process does not hold the others up at the end of a chunk) and, for every block, compute the
``(nb (p + k)) x N`` block of products with one BLAS call (``np.dot`` into the tile's buffer,
BLAS single-threaded inside the parallel loop) and reduce it at once: Freedman-Lane
denominators, |r*|, exceedance counts and the per-permutation maximum, in one pass.  Tiles are
independent (each owns its columns of the count matrix), so there are no races, and neither
the tiles nor the blocks depend on the number of threads.

Why blocks this small: with OpenBLAS on AVX-512 cores (its SkylakeX kernels) a product with
``M N K <= 100^3`` takes a *small-matrix* path that neither packs its operands nor clears the
output first.  On the benchmark's shape (n = 100, p + k = 103) a 206 x 48 block (two
permutations) reaches about 95 GFLOP/s on one core of the development machine, against 70-80
for the 400-1,600 x 256-300 blocks of the packed path, and the block (79 kB) with the tile's
counts and thresholds stays in L2 for the reduction.  The tiles are laid out on 64-byte
boundaries: the small kernels load the tile of ``U`` with AVX-512 loads, and a tile off a cache
line (NumPy only aligns to 16 bytes) cost about 12%.  Where the small-matrix path is absent
(other CPUs or BLAS libraries) the blocks are larger (about 400 x 256), for the packed path.
:func:`block_shape` decides from the BLAS that Numba calls (SciPy's), never from timings, so
every process on a machine tiles alike.

The reduction handles two permutations per sweep, so each threshold and count is loaded once
for both, and keeps the running maximum in registers: for ``v >= 0`` the IEEE-754 bits, read
as an integer, order like the value, so ``max`` over ``_bits(v)`` is a vectorisable integer
reduction where a floating-point ``max`` (NaN-aware) would not vectorise without fast-math.
It costs about 15% of the time of the products (AVX2-width vectors: Numba's LLVM prefers
256-bit vectors on these cores).

The arithmetic is that of the NumPy path of :mod:`kernels_xp` (the same dot products,
denominators summed in the same order, one multiply, one abs -- ``|g| s == |g s|`` exactly
for ``s > 0`` -- one compare; ``fastmath`` off).  BLAS may order the sums of a small block
differently from one large product, so statistics can differ in the last bit; the comparison
with the observed value carries a tolerance
(:func:`~radiogenomics.resampling.engine.exceedance_threshold`), so the exceedance counts,
hence the p-values, are the same as the NumPy backend's (tested), and the null maxima agree to
about 1e-15.
"""

from __future__ import annotations

import functools

import numpy as np

try:
    import numba
    from llvmlite import ir
    from numba import njit, prange
    from numba.core import types
    from numba.extending import intrinsic
except ImportError:  # pragma: no cover - numba is a hard dependency, kept optional here
    numba = None

__all__ = ["TiledCorrelationReducer", "block_shape", "reduce_products"]

#: ``M N K`` at or below which OpenBLAS's AVX-512 kernels multiply without packing
SMALL_GEMM_MNK = 100**3
#: blocks for BLAS libraries without that path: about 400 product rows x 256 y features
PACKED_ROWS, PACKED_COLS = 400, 256
#: bytes of a chunk's gathered rows that a core keeps in its L2 while the tiles stream past
CHUNK_ROW_BYTES = 1.3e6
#: with few y features, products per chunk wanted (bytes of ``c m min(q, 600)`` doubles), so
#: that the per-call overheads stay small
FEW_FEATURES_BYTES = 4e6
#: tiles a thread takes at a time (dynamic scheduling: a thread slowed by another process on
#: its core does not hold the others up at the end of each chunk)
TILES_PER_GRAB = 4
#: byte boundary of the tiles (a cache line: AVX-512 loads of misaligned tiles split lines)
ALIGN = 64
#: OpenBLAS cores (threadpoolctl's ``architecture``) whose kernels have the small-matrix path
_SMALL_PATH_CORES = frozenset({"skylakex", "cooperlake", "sapphirerapids"})


@functools.lru_cache(maxsize=None)
def _small_gemm_path() -> bool:
    """Whether the BLAS behind Numba's ``np.dot`` (SciPy's) is OpenBLAS >= 0.3.17 on an AVX-512
    core, whose small-matrix kernels skip packing for ``M N K <= 100^3``."""
    try:
        import scipy.linalg  # noqa: F401 - loads SciPy's BLAS so threadpoolctl lists it
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover
        return False
    infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    scipy_blas = [i for i in infos if "scipy" in str(i.get("filepath", "")).lower()] or infos
    for info in scipy_blas[:1]:
        if info.get("internal_api") != "openblas":
            return False
        try:
            version = tuple(int(x) for x in str(info.get("version", "0")).split(".")[:3]
                            if x.isdigit())
        except ValueError:  # pragma: no cover
            return False
        return (str(info.get("architecture", "")).lower() in _SMALL_PATH_CORES
                and version >= (0, 3, 17))
    return False


def block_shape(n: int, m: int, q: int) -> tuple[int, int]:
    """``(nb, N)``: permutations per product block and y features per tile.

    With the small-matrix path: the widest multiple of 16 y features (at most 64) with
    ``2 m N n <= 100^3`` and as many pairs of permutations as still fit (one permutation if
    two leave fewer than 32 features); else, or when even one leaves fewer than 32, about
    :data:`PACKED_ROWS` x :data:`PACKED_COLS`.  Depends on the data's shape and the machine's
    BLAS only (not on the thread count), so every process on a machine tiles alike.
    """
    if _small_gemm_path():
        for nb in (2, 1):
            width = min(64, SMALL_GEMM_MNK // (nb * m * max(n, 1)) // 16 * 16)
            if width >= 32:
                if nb == 2:
                    nb = min(64, max(2, SMALL_GEMM_MNK // (m * max(n, 1) * width) // 2 * 2))
                return nb, max(1, min(width, q))
    return max(1, round(PACKED_ROWS / m)), max(1, min(PACKED_COLS, q))


if numba is not None:

    @intrinsic
    def _bits(typingctx, x):  # pragma: no cover - compiled
        """The IEEE-754 bits of a float64 as an int64 (a register bitcast)."""
        if x != types.float64:
            return None

        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], ir.IntType(64))

        return types.int64(types.float64), codegen

    @intrinsic
    def _float(typingctx, x):  # pragma: no cover - compiled
        """The float64 whose IEEE-754 bits are the int64 ``x``."""
        if x != types.int64:
            return None

        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], ir.DoubleType())

        return types.float64(types.int64), codegen

    @njit(inline="always")
    def _inverse_denominators(G, first, stop, s):  # pragma: no cover - compiled
        """``s = 1 / sqrt(1 - sum_l G[l]^2)`` over rows ``first..stop-1`` (in that order)."""
        s[:] = 0.0
        for l in range(first, stop):
            g = G[l]
            for k in range(s.shape[0]):
                s[k] += g[k] * g[k]
        for k in range(s.shape[0]):
            s[k] = 1.0 / np.sqrt(max(1.0 - s[k], 1e-300))

    @njit(parallel=True, cache=True)
    def _fused(W, Ut, p, nb, thr_t, counts_t, tilemax):  # pragma: no cover - compiled
        c, m, n = W.shape
        T = Ut.shape[0]
        N = Ut.shape[2]
        W2 = W.reshape(c * m, n)
        for t in prange(T):
            buf = np.empty(nb * m * N + 8)  # the block of products, on a cache-line boundary
            first = ((-buf.ctypes.data) % ALIGN) // 8
            G = buf[first:first + nb * m * N].reshape(nb * m, N)
            s0 = np.empty(N)
            s1 = np.empty(N)
            thr = thr_t[t]
            cnt = counts_t[t]
            U = Ut[t]
            for i0 in range(0, c, nb):
                rows = min(nb, c - i0) * m
                np.dot(W2[i0 * m:i0 * m + rows], U, G[:rows])  # BLAS, into the buffer
                for b in range(0, rows - m, 2 * m):  # two permutations per sweep
                    _inverse_denominators(G, b + p, b + m, s0)
                    _inverse_denominators(G, b + m + p, b + 2 * m, s1)
                    x0 = np.int64(0)
                    x1 = np.int64(0)
                    for j in range(p):
                        g0 = G[b + j]
                        g1 = G[b + m + j]
                        th = thr[j]
                        cn = cnt[j]
                        for k in range(N):
                            v0 = abs(g0[k]) * s0[k]
                            v1 = abs(g1[k]) * s1[k]
                            tk = th[k]
                            cn[k] += (v0 >= tk) + (v1 >= tk)
                            x0 = max(x0, _bits(v0))  # v >= 0: integer order = value order
                            x1 = max(x1, _bits(v1))
                    i = i0 + b // m
                    tilemax[t, i] = _float(x0)
                    tilemax[t, i + 1] = _float(x1)
                if (rows // m) % 2 == 1:  # an odd permutation left in the block
                    b = rows - m
                    _inverse_denominators(G, b + p, b + m, s0)
                    x0 = np.int64(0)
                    for j in range(p):
                        g0 = G[b + j]
                        th = thr[j]
                        cn = cnt[j]
                        for k in range(N):
                            v0 = abs(g0[k]) * s0[k]
                            cn[k] += v0 >= th[k]
                            x0 = max(x0, _bits(v0))
                    tilemax[t, i0 + b // m] = _float(x0)


    @njit(parallel=True, cache=True)
    def _reduce_products(G, thr, counts, blockmax):  # pragma: no cover - compiled
        """|G| against the thresholds: counts per pair, max per row, genes cut in blocks."""
        c, p, q = G.shape
        nblk = blockmax.shape[0]
        step = (q + nblk - 1) // nblk
        for t in prange(nblk):
            lo = t * step
            hi = min(q, lo + step)
            for b in range(c):
                x = np.int64(0)
                for j in range(p):
                    g = G[b, j]
                    th = thr[j]
                    cn = counts[j]
                    for k in range(lo, hi):
                        v = abs(g[k])
                        cn[k] += v >= th[k]
                        x = max(x, _bits(v))
                blockmax[t, b] = _float(x)


def reduce_products(G: np.ndarray, thr: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """One pass over a chunk of products ``G`` (c, p, q): add ``|G| >= thr`` to ``counts``
    (p, q, int64, in place) and return ``max |G|`` per row (c,).

    For the surrogate nulls (:func:`~radiogenomics.resampling.engine.surrogate_correlation_null`),
    whose products are one large BLAS call per chunk (the surrogates are given, not gathered,
    and few x maps make the tiled kernel's blocks too thin).  Threads own disjoint blocks of
    the q columns (no races); the maxima are exact whatever the number of blocks.
    """
    if numba is None:  # pragma: no cover
        raise RuntimeError("backend='numba' needs Numba (pip install numba)")
    nblk = max(1, min(G.shape[2], 4 * numba.get_num_threads()))
    blockmax = np.zeros((nblk, G.shape[0]))
    _reduce_products(np.ascontiguousarray(G), np.ascontiguousarray(thr), counts, blockmax)
    return blockmax.max(axis=0)


def _aligned_zeros(shape, dtype=np.float64, align: int = ALIGN) -> np.ndarray:
    """Zeros whose first element sits on an ``align``-byte boundary (NumPy only promises 16)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.zeros(nbytes + align, dtype=np.uint8)
    start = (-raw.ctypes.data) % align
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def _tiles(M: np.ndarray, width: int, fill: float) -> np.ndarray:
    """``M`` (r, q) as (T, r, width) column tiles in one pass, the last padded with ``fill``."""
    r, q = M.shape
    full, rest = divmod(q, width)
    out = _aligned_zeros((full + (rest > 0), r, width))
    out[:full] = M[:, :full * width].reshape(r, full, width).transpose(1, 0, 2)
    if rest:
        out[full, :, rest:] = fill
        out[full, :, :rest] = M[:, full * width:]
    return out


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
        Permutations per chunk (not used for the tiling, which :func:`block_shape` sets).

    Attributes
    ----------
    tile_width : int
        y features per tile (``N``); ``perms_per_block``: permutations per product (``nb``).
    """

    def __init__(self, U: np.ndarray, thr: np.ndarray, m: int, batch: int):
        if numba is None:  # pragma: no cover
            raise RuntimeError("backend='numba' needs Numba (pip install numba)")
        n, q = U.shape
        self.p, self.q = thr.shape
        self.perms_per_block, qt = block_shape(n, m, q)
        self.Ut = _tiles(U, qt, 0.0)
        # zero-padded columns give r* = 0 and an infinite threshold: never counted, max unaffected
        self.thr_t = _tiles(thr, qt, np.inf)
        T = self.Ut.shape[0]
        self.counts_t = _aligned_zeros((T, self.p, qt), np.int64)
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
        with numba.parallel_chunksize(TILES_PER_GRAB):
            _fused(np.ascontiguousarray(W), self.Ut, self.p, self.perms_per_block, self.thr_t,
                   self.counts_t, tilemax)
        return tilemax.max(axis=0)

    def counts(self) -> np.ndarray:
        """Exceedance counts back in (p, q) layout."""
        T, p, qt = self.counts_t.shape
        return self.counts_t.transpose(1, 0, 2).reshape(p, T * qt)[:, : self.q].copy()
