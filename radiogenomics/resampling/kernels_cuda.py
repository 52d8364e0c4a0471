"""CUDA kernel (through CuPy) fusing the reduction of a chunk of permuted correlations.

The matrix product of a chunk runs in cuBLAS (:func:`kernels_xp.chunk_products`); on a GPU
the reduction that follows is limited by memory bandwidth, and the array-namespace version
makes five passes over the chunk with temporaries.  This kernel makes one: each thread owns
one (x, y) pair, walks the permutations of the chunk, scales by the Freedman-Lane denominator,
takes |r*|, counts exceedances in a register (one write at the end) and contributes to the
per-permutation maximum through a warp/block max and one 64-bit ``atomicMax`` per block (|r*|
is non-negative, so the IEEE bit patterns order like the numbers).

The arithmetic is the NumPy path's: one multiply, one ``fabs``, one compare (no fused
multiply-add can arise), so given the same products the counts are the same.
"""

from __future__ import annotations

import functools

__all__ = ["fused_reduce"]

_SOURCE = r"""
extern "C" __global__
void fused_reduce(const double* __restrict__ G, const double* __restrict__ invD,
                  const double* __restrict__ thr, long long* __restrict__ counts,
                  unsigned long long* __restrict__ maxbits,
                  const int c, const int m, const int p, const int q)
{
    __shared__ double smax[32];
    const long long pq = (long long)p * q;
    const long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    const bool valid = idx < pq;
    const long long j = valid ? idx / q : 0;
    const long long k = valid ? idx - j * q : 0;
    const double t = valid ? thr[idx] : 0.0;
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int nwarps = (blockDim.x + 31) >> 5;
    long long cnt = 0;
    for (int i = 0; i < c; ++i) {
        double v = 0.0;
        if (valid) {
            v = fabs(G[((long long)i * m + j) * q + k] * invD[(long long)i * q + k]);
            cnt += (v >= t);
        }
        for (int off = 16; off > 0; off >>= 1)
            v = fmax(v, __shfl_down_sync(0xffffffffu, v, off));
        if (lane == 0) smax[warp] = v;
        __syncthreads();
        if (warp == 0) {
            v = (lane < nwarps) ? smax[lane] : 0.0;
            for (int off = 16; off > 0; off >>= 1)
                v = fmax(v, __shfl_down_sync(0xffffffffu, v, off));
            if (lane == 0)
                atomicMax(&maxbits[i], (unsigned long long)__double_as_longlong(v));
        }
        __syncthreads();
    }
    if (valid) counts[idx] += cnt;
}
"""

THREADS = 256


@functools.lru_cache(maxsize=None)
def _kernel():
    import cupy

    return cupy.RawKernel(_SOURCE, "fused_reduce")


def fused_reduce(G, p: int, invD, thr, counts):
    """CuPy counterpart of :func:`kernels_xp.reduce_chunk` in one pass; returns max |r*| (c,).

    ``G`` (c, m, q), ``invD`` (c, q), ``thr`` (p, q) float64 and ``counts`` (p, q) int64, all
    C-contiguous CuPy arrays; ``counts`` is updated in place.
    """
    import cupy

    c, m, q = G.shape
    maxbits = cupy.zeros(c, dtype=cupy.uint64)
    n_pairs = p * q
    blocks = (n_pairs + THREADS - 1) // THREADS
    _kernel()((blocks,), (THREADS,),
              (G, invD, thr, counts, maxbits, cupy.int32(c), cupy.int32(m), cupy.int32(p),
               cupy.int32(q)))
    return maxbits.view(cupy.float64)
