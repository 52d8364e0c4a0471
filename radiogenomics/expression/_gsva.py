"""Numerical core of GSVA and ssGSEA as GSVA 1.46 computes them (genes in columns).

Private: :func:`radiogenomics.expression.genesets.score_gene_sets` validates the input, matches
the gene sets and calls these.  Every array here is ``(n_samples, n_genes)`` float64 without
NaN, and a gene set is an integer array of column positions.

GSVA (Hänzelmann, Castelo & Guinney 2013, *BMC Bioinformatics* 14:7) in three steps:

1. :func:`gene_density` -- for each gene, a kernel estimate of its cumulative distribution
   across samples, evaluated at every sample and turned into log-odds,
   ``z_gj = log(F_g(x_gj) / (1 - F_g(x_gj)))``.  GSVA 1.46's C code (``matrix_density_R``)
   uses a Gaussian kernel with bandwidth ``sd_g / 4`` whose normal CDF is read from a table of
   ``pnorm(i / 1000)``, ``i = 0 .. 10000`` (argument truncated down to the grid, 0 below -10
   and 1 above 10, both in bandwidth units), or for counts a Poisson kernel
   ``F_g(y) = mean_i ppois(y, x_gi + 0.5)``; ``kcdf="none"`` uses the empirical CDF.  The
   table lookup is reproduced here, so the estimates equal GSVA's to rounding.
2. per sample the genes are ordered by decreasing ``z`` and get the rank-symmetric score
   ``r = |p - n/2|`` with ``p = n, n-1, ..., 1`` down the order.
3. :func:`gsva_walk` -- a Kolmogorov-Smirnov-like random walk down that order, stepping up by
   ``r^tau / sum_set r^tau`` at the set's genes and down by ``1 / (n - k)`` elsewhere; the
   score is ``max + min`` of the walk (mx.diff, "difference of the largest deviations"),
   ``max - min`` with abs.ranking, or the largest deviation itself (mx.diff=FALSE).

ssGSEA (Barbie et al. 2009, *Nature* 462:108) in GSVA 1.46's closed form (:func:`ssgsea`):
genes ranked within each sample (average ranks, then truncated to integers as GSVA's
``mode(R) <- "integer"`` does), weights ``rank^tau``, and the sum over the walk of the
difference between the weighted in-set and the out-of-set empirical CDFs.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache

import numpy as np
from scipy.special import ndtr
from scipy.stats import rankdata

__all__ = ["gene_density", "rank_positions", "gsva_walk", "ssgsea"]

_TABLE_MAX = 10.0          # GSVA's MAX_PRECOMPUTE: the CDF table spans +-10 bandwidths
_TABLE_STEPS = 10000.0     # PRECOMPUTE_RESOLUTION: 10001 entries, one per 0.001 bandwidth
_POISSON_BW = 0.5          # the Poisson kernel's offset (GSVA's rnaseq bandwidth)


@lru_cache(maxsize=1)
def _cdf_table() -> np.ndarray:
    """The normal CDF on GSVA's grid: ``pnorm(i * 10 / 10000)``, i = 0..10000."""
    i = np.arange(int(_TABLE_STEPS) + 1, dtype=np.float64)
    return ndtr(i * _TABLE_MAX / _TABLE_STEPS)


def _bandwidths(X: np.ndarray) -> np.ndarray:
    """``sd_g / 4`` per gene with the arithmetic of GSVA's C ``sd``.

    That function accumulates in x87 extended precision (``long double``): a mean with R's
    second refinement pass, then the squared deviations (formed in double) summed in
    extended precision and divided by ``n - 1``.  ``np.longdouble`` is the same 80-bit type on
    x86-64 Linux; elsewhere the result may differ in the last bit, which only matters for
    exact ties between genes.
    """
    n = X.shape[0]
    xl = X.astype(np.longdouble)
    mean = np.add.reduce(xl, axis=0) / n           # axis 0: one row after the other
    mean = mean + np.add.reduce(xl - mean, axis=0) / n
    mean_d = mean.astype(np.float64)
    dev = X - mean_d
    var = np.add.reduce((dev * dev).astype(np.longdouble), axis=0) / (n - 1)
    return np.sqrt(var.astype(np.float64)) * 0.25


@lru_cache(maxsize=1)
def _kernels():
    """Compile the Numba kernels on first use (importing this module stays cheap)."""
    from numba import njit, prange
    from numba.extending import get_cython_function_address

    @njit(parallel=True, cache=True)
    def gaussian(X, bw, table):  # pragma: no cover - compiled
        n, g = X.shape
        out = np.empty((n, g))
        for c in prange(g):
            h = bw[c]
            for j in range(n):
                acc = 0.0
                yj = X[j, c]
                for i in range(n):
                    v = (yj - X[i, c]) / h
                    if v < -_TABLE_MAX:
                        term = 0.0
                    elif v > _TABLE_MAX:
                        term = 1.0
                    else:
                        term = table[int(abs(v) / _TABLE_MAX * _TABLE_STEPS)]
                        if v < 0.0:
                            term = 1.0 - term
                    acc += term
                acc = acc / n
                out[j, c] = -np.log((1.0 - acc) / acc)
        return out

    addr = get_cython_function_address("scipy.special.cython_special", "pdtr")
    pdtr = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double, ctypes.c_double,
                            ctypes.c_int)(addr)

    @njit(parallel=True)  # not cached: the address of scipy's pdtr changes between runs
    def poisson(X):  # pragma: no cover - compiled
        # Samples with the same count get the same sum (same terms, same order), so each
        # distinct count is evaluated once: n_distinct x n incomplete gammas per gene.
        n, g = X.shape
        out = np.empty((n, g))
        for c in prange(g):
            order = np.argsort(X[:, c])
            prev = np.nan
            val = 0.0
            for t in range(n):
                j = order[t]
                if X[j, c] != prev:
                    prev = X[j, c]
                    acc = 0.0
                    k = np.floor(prev)
                    for i in range(n):
                        acc += pdtr(k, X[i, c] + _POISSON_BW, 0)
                    acc = acc / n
                    val = -np.log((1.0 - acc) / acc)
                out[j, c] = val
        return out

    return gaussian, poisson


def gene_density(X: np.ndarray, kcdf: str) -> np.ndarray:
    """GSVA's per-gene CDF estimate at each sample, as log-odds (samples x genes).

    Parameters
    ----------
    X : ndarray (n_samples, n_genes)
        Expression (``kcdf="Gaussian"`` or ``"none"``) or non-negative counts (``"Poisson"``);
        no constant genes (GSVA removes them first).
    kcdf : {"Gaussian", "Poisson", "none"}

    Notes
    -----
    ``F`` is the mean kernel CDF over all samples (GSVA's ``sample.idxs`` = every sample):
    Gaussian ``Phi((x_gj - x_gi) / (sd_g / 4))`` from GSVA's table, Poisson
    ``ppois(floor(y_gj), x_gi + 0.5)`` (scipy's ``pdtr``; R's ``ppois`` may differ in the last
    bits), ``"none"`` the empirical ``#{i: x_gi <= x_gj} / n`` (its maximum gives ``+inf``,
    as in GSVA).
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    if kcdf == "none":
        srt = np.sort(X, axis=0)
        cnt = np.empty_like(X)
        for c in range(X.shape[1]):
            cnt[:, c] = np.searchsorted(srt[:, c], X[:, c], side="right")
        F = cnt / X.shape[0]
        with np.errstate(divide="ignore"):
            return np.log(F / (1.0 - F))
    gaussian, poisson = _kernels()
    if kcdf == "Poisson":
        return poisson(X)
    return gaussian(X, _bandwidths(X), _cdf_table())


def rank_positions(Z: np.ndarray) -> np.ndarray:
    """0-based position of every gene when each sample's genes are sorted by decreasing ``Z``.

    Ties keep the column order, as R's ``order(decreasing = TRUE)`` does.
    """
    order = np.argsort(-Z, axis=1, kind="stable")
    pos = np.empty_like(order)
    rows = np.arange(Z.shape[0])[:, None]
    pos[rows, order] = np.arange(Z.shape[1])[None, :]
    return pos


def gsva_walk(pos: np.ndarray, sets: list[np.ndarray], *, tau: float, mx_diff: bool,
              abs_ranking: bool) -> np.ndarray:
    """GSVA enrichment scores (samples x sets) from the rank positions of :func:`rank_positions`.

    The walk falls linearly between the set's genes, so its maximum is reached just after a
    step up and its minimum just before one (or at 0, where it starts): only the ``k``
    positions of the set's genes are needed, not all ``n`` steps.
    """
    n_samples, n = pos.shape
    out = np.empty((n_samples, len(sets)))
    for s, idx in enumerate(sets):
        k = len(idx)
        P = np.sort(pos[:, idx], axis=1)                       # (samples, k), ascending
        r = np.abs(n - P - n / 2.0)                            # GSVA: |seq(n, 1) - n/2|
        w = r if tau == 1 else r ** tau
        with np.errstate(invalid="ignore", divide="ignore"):
            w = w / w.sum(axis=1, keepdims=True)
        W = np.cumsum(w, axis=1)
        below = (P - np.arange(k)[None, :]) * (1.0 / (n - k))   # out-of-set steps so far
        after_up = W - below
        before_up = after_up - w
        mx_pos = np.maximum(after_up.max(axis=1), 0.0)
        mx_neg = np.minimum(before_up.min(axis=1), 0.0)
        if mx_diff:
            out[:, s] = mx_pos - mx_neg if abs_ranking else mx_pos + mx_neg
        else:
            out[:, s] = np.where(mx_pos > np.abs(mx_neg), mx_pos, mx_neg)
    return out


def ssgsea(X: np.ndarray, sets: list[np.ndarray], *, tau: float, normalize: bool) -> np.ndarray:
    """ssGSEA scores (samples x sets) in GSVA 1.46's closed form (its ``.fastRndWalk``).

    With ``p_i`` the 1-based positions of the set's ``k`` genes in the sample's decreasing
    rank order and ``a_i = rank_i^tau`` their weights::

        ES = sum_i a_i (n - p_i + 1) / sum_i a_i  -  (n(n+1)/2 - sum_i (n - p_i + 1)) / (n - k)

    which is the sum over all ``n`` steps of (weighted in-set CDF - out-of-set CDF).  With
    ``normalize`` every score is divided by the range (max - min) of all the scores.
    """
    n_samples, n = X.shape
    R = np.trunc(rankdata(X, axis=1, method="average"))       # GSVA: mode(R) <- "integer"
    pos1 = rank_positions(R) + 1.0
    Ra = np.abs(R) ** tau
    out = np.empty((n_samples, len(sets)))
    total = n * (n + 1) / 2.0
    for s, idx in enumerate(sets):
        k = len(idx)
        a = Ra[:, idx]
        back = n - pos1[:, idx] + 1.0
        inside = (a * back).sum(axis=1) / a.sum(axis=1)
        outside = (total - back.sum(axis=1)) / (n - k)
        out[:, s] = inside - outside
    if normalize and out.size:
        out = out / (out.max() - out.min())
    return out
