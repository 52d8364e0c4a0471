"""Driver of the chunked permutation kernels: indices in, exceedance counts and max-T null out."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from . import kernels_xp
from .backend import array_namespace, resolve_backend, to_numpy
from .indices import (GivenPermutations, PermutationScheme, check_rng, inverse_permutations,
                      iter_batches)

__all__ = ["PermutationNull", "correlation_permutation_null", "surrogate_correlation_null",
           "exceedance_threshold",
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
    if backend == "numba":
        # tile by tile: a chunk's gathered rows stay in a core's L2 while every tile of y
        # features is multiplied by them (whole blocks of permutations); few y features: more
        # permutations per call, so that the per-call overheads stay small
        from .kernels_numba import CHUNK_ROW_BYTES, FEW_FEATURES_BYTES, block_shape

        nb = block_shape(n, m, q)[0]
        want = max(CHUNK_ROW_BYTES // (8 * m * n) // nb * nb,
                   FEW_FEATURES_BYTES // (8 * m * min(q, 600)))
        want = np.clip(want, nb, 1024)
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
    client=None,
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
    client : None, "local", str, distributed.Client or Dask cluster
        Run chunks of permutations as Dask tasks (see :mod:`radiogenomics.distributed`).
        The indices are still drawn here, from ``rng``, in the same batches; each task runs
        this function on its consecutive whole batches (with Numba on one thread, or on as
        many as here if the kernel would tile differently) and returns its exceedance counts
        and per-permutation maxima, which are summed and concatenated in order: the result
        is identical to ``client=None`` for any number of workers (on workers of another CPU
        type, whose BLAS may round a product differently, the maxima can differ in the last
        bit; counts and p-values cannot, by the comparison tolerance).  Worker memory: the
        data (sent once per worker) plus one chunk (``chunk_bytes``) plus a p x q count
        matrix per running task.

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
    if client is not None:
        return _distributed_null(A, U, Q, observed, n_resamples=n_resamples, scheme=scheme,
                                 rng=rng, backend=be, batch=batch, progress=progress,
                                 exhaustive=exhaustive, client=client)

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


def surrogate_correlation_null(
    surrogates: np.ndarray,
    U: np.ndarray,
    observed: np.ndarray,
    *,
    kind: str = "surrogate",
    backend: str = "auto",
    batch: int | None = None,
    chunk_bytes: float | None = None,
    progress: bool | None = None,
) -> PermutationNull:
    """Max-T null and exceedance counts of correlations with given surrogate x maps.

    The permutation engine's kernels with the resampled x supplied instead of gathered:
    spatially constrained nulls (Moran spectral randomisation, variogram-matched surrogates,
    spin rotations, toroidal shifts; :mod:`radiogenomics.spatial`) produce new x maps that
    are not permutations of the data, so the caller draws them (seeded, on the CPU) and this
    function reduces ``|S_b' U|`` chunk by chunk (max over all pairs per surrogate, and per
    pair the number of surrogates reaching the observed |r|) on NumPy, Numba or CuPy, as
    :func:`correlation_permutation_null` does.

    Parameters
    ----------
    surrogates : (B, p, n) or (B, n) array
        The B surrogate versions of the p x maps, each already residualised on what ``U`` was
        residualised on (e.g. centred within sections) and scaled to unit norm, so that
        ``S_b' u_k`` is the correlation.
    U : (n, q) array
        y residuals, unit-norm columns (not resampled).
    observed : (p, q) array
        Observed correlations.
    kind : str
        Name of the null, recorded as the result's ``scheme``.
    backend, batch, chunk_bytes, progress
        As for :func:`correlation_permutation_null`; the result does not depend on them (up
        to the last bit of the maxima between BLAS blockings; counts use the comparison
        tolerance of :func:`exceedance_threshold`).

    Returns
    -------
    PermutationNull
        ``n_resamples`` = B; p-values ``(1 + #exceed) / (1 + B)``.
    """
    be = resolve_backend(backend)
    xp = array_namespace(be)
    S = np.asarray(surrogates, dtype=np.float64)
    if S.ndim == 2:
        S = S[:, None, :]
    if S.ndim != 3:
        raise ValueError(f"surrogates must be (B, p, n) or (B, n), got shape {S.shape}")
    n_resamples, p, n = S.shape
    if U.shape[0] != n:
        raise ValueError(f"the surrogates have {n} samples but U has {U.shape[0]} rows")
    q = U.shape[1]
    if observed.shape != (p, q):
        raise ValueError(f"observed must be ({p}, {q}), got {observed.shape}")
    if n_resamples < 1:
        raise ValueError("need at least one surrogate")
    if batch is None:
        # per surrogate: its p x q products and its p x n rows (one BLAS call per chunk)
        budget = DEFAULT_CHUNK_BYTES[be] if chunk_bytes is None else chunk_bytes
        batch = int(budget // (8 * p * (q + n) * (1.0 if be != "numpy" else 2.0)))
    batch = int(max(1, min(batch, n_resamples)))
    U_d = xp.asarray(np.ascontiguousarray(U))
    thr_np = np.ascontiguousarray(exceedance_threshold(np.abs(observed)))
    thr_d = xp.asarray(thr_np)
    counts = xp.zeros((p, q), dtype=xp.int64)
    null_max = np.empty(n_resamples)
    bar = _progress_bar(progress, n_resamples, 2.0 * n * p * q * n_resamples,
                        f"{kind} surrogates ({be})")
    try:
        for s in range(0, n_resamples, batch):
            W_d = xp.asarray(np.ascontiguousarray(S[s:s + batch]))
            c = W_d.shape[0]
            G = (W_d.reshape(c * p, n) @ U_d).reshape(c, p, q)
            if be == "numba":
                from .kernels_numba import reduce_products

                mx = reduce_products(G, thr_np, counts)
            elif be == "cupy":
                from .kernels_cuda import fused_reduce

                mx = to_numpy(fused_reduce(G, p, xp.ones((c, q)), thr_d, counts))
            else:
                xp.abs(G, out=G)
                counts += (G >= thr_d).sum(axis=0)
                mx = to_numpy(G.max(axis=(1, 2)))
            null_max[s:s + c] = mx
            bar.update(c)
    finally:
        bar.close()
    return PermutationNull(counts=np.asarray(to_numpy(counts), dtype=np.int64), null_max=null_max,
                           n_resamples=n_resamples, scheme=kind, backend=be, batch=batch)


# ------------------------------------------------------------------------ distributed (Dask)

#: tasks per Dask worker thread a distributed permutation run aims at (load balance)
TASKS_PER_THREAD = 4


def _task_batches(n_resamples: int, batch: int, n_threads: int) -> int:
    """Whole batches per task: about :data:`TASKS_PER_THREAD` tasks per worker thread."""
    n_batches = -(-n_resamples // batch)
    return max(1, -(-n_batches // (TASKS_PER_THREAD * max(1, n_threads))))


def _chunks_of_batches(scheme, n_resamples: int, batch: int, rng, per_task: int):
    """``(start, perms)`` per task: ``per_task`` consecutive batches of :func:`iter_batches`,
    drawn lazily (the driver holds only the chunks in flight), as the smallest unsigned
    integer type that holds the sample positions (1 byte each up to 256 samples: less to
    send than the engine's 8-byte indices; :class:`GivenPermutations` widens them back)."""
    small = np.min_scalar_type(max(scheme.n - 1, 0))
    start, parts = 0, []
    for perms in iter_batches(scheme, n_resamples, batch, rng):
        parts.append(perms)
        if len(parts) == per_task:
            block = np.concatenate(parts).astype(small)
            yield start, block
            start, parts = start + len(block), []
    if parts:
        yield start, np.concatenate(parts).astype(small)


def _null_task(item, A, U, Q, observed, *, backend: str, batch: int, kind: str,
               numba_threads: int | None = None):
    """One Dask task: the engine on the given permutations (whole batches, in order).

    With Numba the task runs on ``numba_threads`` threads (:func:`_numba_task_threads`: the
    kernel then cuts the y features into the same tiles as the driver would, so the maxima
    agree to the last bit).
    Returns ``(start, counts, null_max)``, counts in the smallest unsigned type that holds
    them (less to send back)."""
    start, perms = item
    nb = None
    if backend == "numba" and numba_threads:
        import numba

        nb = numba.get_num_threads()
        numba.set_num_threads(max(1, min(numba_threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        part = correlation_permutation_null(
            A, U, Q, observed, n_resamples=len(perms), scheme=GivenPermutations(perms, kind),
            rng=0, backend=backend, batch=batch, progress=False)
    finally:
        if nb is not None:
            numba.set_num_threads(nb)
    return start, part.counts.astype(np.min_scalar_type(len(perms))), part.null_max


def _numba_task_threads(p: int, q: int, m: int, batch: int) -> int:
    """Fewest Numba threads with which the kernel tiles the work as it does here.

    If the layout of :class:`~.kernels_numba.TiledCorrelationReducer` (``tile_width``,
    ``perms_per_block``) depended on the thread count, products over other tiles could differ
    in the last bit; one thread per task (one core per Dask thread) is used whenever it gives
    the same layout, else this process's count (also when the layout cannot be read)."""
    import numba

    from .kernels_numba import TiledCorrelationReducer

    here = numba.get_num_threads()

    def width(t):
        numba.set_num_threads(t)
        reducer = TiledCorrelationReducer(np.zeros((1, q)), np.zeros((p, q)), m, batch)
        return (getattr(reducer, "tile_width", None), getattr(reducer, "perms_per_block", None))

    try:
        want = width(here)
        if want == (None, None):
            return here
        return next(t for t in range(1, here + 1) if width(t) == want)
    finally:
        numba.set_num_threads(here)


def _distributed_null(A, U, Q, observed, *, n_resamples, scheme, rng, backend, batch,
                      progress, exhaustive, client) -> PermutationNull:
    """The permutation null with chunks of batches as Dask tasks (see
    :func:`correlation_permutation_null`, ``client``)."""
    from ..distributed import client_context, map_ordered, n_worker_threads, scatter_shared

    p, q = observed.shape
    counts = np.zeros((p, q), dtype=np.int64)
    null_max = np.empty(n_resamples)
    m = p + (0 if Q is None else Q.shape[1])
    bar = _progress_bar(progress, n_resamples, 2.0 * A.shape[0] * m * q * n_resamples,
                        f"permutations ({backend}, Dask)")

    def add(i, item, res):
        start, c, mx = res
        counts[...] += c
        null_max[start:start + len(mx)] = mx
        bar.update(len(mx))

    kwargs = {"backend": backend, "batch": batch, "kind": scheme.kind}
    if backend == "numba":
        kwargs["numba_threads"] = _numba_task_threads(p, q, m, batch)
    try:
        with client_context(client) as cl:
            per_task = _task_batches(n_resamples, batch, n_worker_threads(cl))
            shared = [None if a is None else scatter_shared(cl, np.ascontiguousarray(a))
                      for a in (A, U, Q, observed)]
            map_ordered(cl, _null_task,
                        _chunks_of_batches(scheme, n_resamples, batch, rng, per_task),
                        desc="permutation null", progress=False, args=tuple(shared),
                        kwargs=kwargs, on_result=add, keep=False)
    finally:
        bar.close()
    return PermutationNull(counts=counts, null_max=null_max, n_resamples=n_resamples,
                           scheme=scheme.kind, backend=backend, batch=batch,
                           exhaustive=exhaustive)
