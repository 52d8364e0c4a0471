"""Driver of the chunked permutation kernels: indices in, exceedance counts and max-T null out."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from . import kernels_xp
from .backend import array_namespace, resolve_backend, to_numpy
from .indices import PermutationScheme, check_rng, inverse_permutations, iter_batches

__all__ = ["PermutationNull", "correlation_permutation_null", "exceedance_threshold",
           "permutation_pvalue", "maxt_pvalues", "maxt_threshold"]

#: relative tolerance when comparing a resampled statistic with the observed one
TOLERANCE = 100 * np.finfo(np.float64).eps
#: absolute tolerance: correlations are bounded by 1, and the same product computed through a
#: different BLAS blocking differs by about 1e-15 absolutely (not relatively: a tiny r can
#: differ by far more than 100 eps of itself)
ABS_TOLERANCE = 1e-12

#: default bytes of the per-chunk work array (CPU / GPU); caps memory whatever p, q and B
DEFAULT_CHUNK_BYTES = {"numpy": 128e6, "numba": 128e6, "cupy": 2e9}

#: above this many multiply-adds a run shows a progress bar when ``progress=None``
AUTO_PROGRESS_FLOPS = 2e11


def exceedance_threshold(abs_observed: np.ndarray) -> np.ndarray:
    """``|r_obs| - (100 eps |r_obs| + 1e-12)``: resampled |r| at or above it are exceedances.

    The tolerance (as in :func:`scipy.stats.permutation_test`, plus an absolute part because
    |r| <= 1) makes a resample that reproduces the observed data count whatever the rounding;
    it moves p-values only for statistics within 1e-12 of the observed one.
    """
    abs_observed = np.asarray(abs_observed, dtype=np.float64)
    return abs_observed - (TOLERANCE * abs_observed + ABS_TOLERANCE)


def permutation_pvalue(counts, n_resamples: int) -> np.ndarray:
    """``(1 + #exceed) / (1 + B)``: never 0, exact-level under exchangeability (Phipson & Smyth 2010)."""
    return (1.0 + np.asarray(counts, dtype=np.float64)) / (1.0 + n_resamples)


def maxt_pvalues(abs_observed, null_max, n_resamples: int | None = None) -> np.ndarray:
    """Family-wise (max-T) p-values: ``(1 + #{b: max_b >= |T_obs|}) / (1 + B)`` (Westfall & Young 1993)."""
    null_sorted = np.sort(np.asarray(null_max, dtype=np.float64))
    b = null_sorted.size if n_resamples is None else n_resamples
    thr = exceedance_threshold(abs_observed)
    exceed = null_sorted.size - np.searchsorted(null_sorted, thr, side="left")
    return (1.0 + exceed) / (1.0 + b)


def maxt_threshold(null_max, alpha: float, n_resamples: int | None = None) -> float:
    """The |r| a pair must exceed (strictly) to have a max-T p-value ``<= alpha``.

    ``p_fwer <= alpha`` holds when fewer than ``K = floor(alpha (B + 1))`` null maxima reach
    the observed |r|, i.e. when |r| is above the K-th largest null maximum (up to the
    comparison tolerance).  ``inf`` when ``K = 0`` (B too small for ``alpha``: no pair can be
    significant).
    """
    null_sorted = np.sort(np.asarray(null_max, dtype=np.float64))
    b = null_sorted.size if n_resamples is None else n_resamples
    k = int(np.floor(alpha * (b + 1) + 1e-9))
    if k == 0:
        return float("inf")
    return float(null_sorted[null_sorted.size - k])


@dataclass
class PermutationNull:
    """Outcome of a chunked permutation run.

    Attributes
    ----------
    counts : ndarray of int64, (p, q)
        Resamples whose |statistic| reached the observed |statistic| of each pair.
    null_max : ndarray, (B,)
        Maximum |statistic| over all pairs in each resample (the max-T null distribution).
    n_resamples : int
        Resamples used: the request, or ``N - 1`` when all ``N`` distinct permutations were
        enumerated (``exhaustive``; p-values are then exact).
    scheme : str
        ``free``, ``within-block`` or ``whole-block``.
    exhaustive : bool
    backend : str
        Backend that ran the kernels.
    batch : int
        Resamples per chunk.
    """

    counts: np.ndarray
    null_max: np.ndarray
    n_resamples: int
    scheme: str
    backend: str
    batch: int
    exhaustive: bool = False

    @property
    def pvalues(self) -> np.ndarray:
        return permutation_pvalue(self.counts, self.n_resamples)

    def fwer_pvalues(self, abs_observed) -> np.ndarray:
        return maxt_pvalues(abs_observed, self.null_max, self.n_resamples)

    def fwer_threshold(self, alpha: float = 0.05) -> float:
        return maxt_threshold(self.null_max, alpha, self.n_resamples)


def _default_batch(backend: str, n: int, m: int, q: int, n_resamples: int,
                   chunk_bytes: float | None) -> int:
    """Permutations per chunk so that the chunk's arrays fit the byte budget.

    Per permutation a chunk holds the gathered ``[A | Q]`` rows (and their transposed copy,
    2 m n doubles) and, except with Numba, the products (m q doubles; on the CPU also the bool
    and sum temporaries of the reduction).
    """
    budget = DEFAULT_CHUNK_BYTES[backend] if chunk_bytes is None else chunk_bytes
    gathered = 2 * m * n * 8
    if backend == "numba":  # works tile by tile; few y features: more permutations per call
        from .kernels_numba import TILE_BYTES

        want = np.clip(TILE_BYTES // (8 * m * min(q, 600)), 16, 1024)
        return int(max(1, min(n_resamples, want, budget // gathered)))
    per = m * q * 8 * (1.0 if backend == "cupy" else 2.5) + gathered
    return int(max(1, min(n_resamples, budget // per)))


def _progress_bar(progress, total: int, flops: float, desc: str):
    show = flops > AUTO_PROGRESS_FLOPS if progress is None else bool(progress)
    from .._progress import progress as progress_bar

    return progress_bar(total=total, unit="perm", desc=desc, disable=not show, leave=False,
                        mininterval=0.5, dynamic_ncols=True)


def correlation_permutation_null(
    A: np.ndarray,
    U: np.ndarray,
    Q: np.ndarray | None,
    observed: np.ndarray,
    *,
    n_resamples: int,
    scheme: PermutationScheme,
    rng=None,
    backend: str = "auto",
    batch: int | None = None,
    chunk_bytes: float | None = None,
    progress: bool | None = None,
) -> PermutationNull:
    """Freedman-Lane permutation null of all p x q partial correlations, reduced per chunk.

    Parameters
    ----------
    A : (n, p) array
        x residuals after the covariates, unit-norm columns.
    U : (n, q) array
        y residuals after the covariates, unit-norm columns (these are permuted).
    Q : (n, k) array or None
        Orthonormal basis of the covariate design (intercept included).  ``None`` skips the
        denominator correction, which is exact only when permuting cannot move ``U`` out of
        the residual space (no adjustment at all, not even centring).
    observed : (p, q) array
        Observed partial correlations ``A' U``.
    n_resamples : int
        Number of permutations B.
    scheme : PermutationScheme
        Free, within-block or whole-block permutations of the n samples.
    rng : int, Generator, BitGenerator, SeedSequence or None
        Seed of the permutation indices (SPEC 7, via :func:`radiogenomics._checks.check_rng`;
        drawn on the CPU, identical on every backend).  Not used when the scheme's permutations
        are enumerated exhaustively (the result is then the same for every seed).
    backend : {"auto", "numpy", "numba", "cupy"}
    batch : int, optional
        Permutations per chunk; by default as many as fit ``chunk_bytes`` (128 MB on the CPU,
        2 GB on a GPU), counting the gathered rows (2 (p + k) n doubles per permutation) and,
        except with Numba, the products ((p + k) q doubles).  The result does not depend on it.
    progress : bool or None
        Show a progress bar (None: only for runs above about 2e11 multiply-adds).

    Returns
    -------
    PermutationNull

    Notes
    -----
    See :mod:`radiogenomics.resampling.kernels_xp` for the algebra.  A KeyboardInterrupt
    propagates after the progress bar is closed; nothing partial is returned or written.
    """
    be = resolve_backend(backend)
    xp = array_namespace(be)
    n, p = A.shape
    q = U.shape[1]
    if scheme.n != n:
        raise ValueError(f"the permutation scheme is for {scheme.n} samples but the data have {n}")
    if n_resamples < 1:
        raise ValueError(f"n_permutations must be >= 1, got {n_resamples}")
    exhaustive = scheme.exhaustive_for(n_resamples)
    n_resamples = scheme.resamples_for(n_resamples)
    scheme.check_enough(n_resamples)
    AQ = A if Q is None else np.concatenate([A, Q], axis=1)
    m = AQ.shape[1]
    if batch is None:
        batch = _default_batch(be, n, m, q, n_resamples, chunk_bytes)
    elif isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch must be a positive integer (permutations per chunk), got {batch!r}")
    batch = int(min(batch, n_resamples))
    rng = check_rng(rng)

    AQt_d = xp.asarray(np.ascontiguousarray(AQ.T))
    U_d = xp.asarray(np.ascontiguousarray(U))
    thr_np = np.ascontiguousarray(exceedance_threshold(np.abs(observed)))
    thr_d = xp.asarray(thr_np)
    counts = xp.zeros((p, q), dtype=xp.int64)
    null_max = np.empty(n_resamples)
    if be == "numba":
        from .kernels_numba import TiledCorrelationReducer

        tiled = TiledCorrelationReducer(U, thr_np, m, batch)
    if be == "cupy":
        from .kernels_cuda import fused_reduce
    flops = 2.0 * n * m * q * n_resamples
    bar = _progress_bar(progress, n_resamples, flops, f"permutations ({be})")
    done = 0
    blas_ctx = tiled.single_threaded_blas() if be == "numba" else contextlib.nullcontext()
    try:
        with blas_ctx:
            for perms in iter_batches(scheme, n_resamples, batch, rng):
                inv = xp.asarray(inverse_permutations(perms))
                if be == "numba":
                    mx = tiled.run(kernels_xp.gather_rows(xp, AQt_d, inv))
                else:
                    G = kernels_xp.chunk_products(xp, AQt_d, U_d, inv)
                    if Q is None:
                        invD = xp.ones((G.shape[0], q))
                    else:
                        invD = kernels_xp.inverse_denominators(xp, G, p)
                    if be == "cupy":
                        mx = to_numpy(fused_reduce(G, p, xp.ascontiguousarray(invD), thr_d, counts))
                    else:
                        mx = to_numpy(kernels_xp.reduce_chunk(xp, G, p, invD, thr_d, counts))
                null_max[done:done + len(perms)] = mx
                done += len(perms)
                bar.update(len(perms))
    finally:
        bar.close()
    if be == "numba":
        counts = tiled.counts()
    return PermutationNull(counts=np.asarray(to_numpy(counts), dtype=np.int64), null_max=null_max,
                           n_resamples=n_resamples, scheme=scheme.kind, backend=be, batch=batch,
                           exhaustive=exhaustive)

