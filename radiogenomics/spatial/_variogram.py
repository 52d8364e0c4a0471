"""Variogram-matched surrogate maps (Burt et al. 2020; brainsmash 0.11 ``Base``, ``Sampled``).

Split from :mod:`radiogenomics.spatial.nulls`, which re-exports the public names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from .._checks import InputError, as_matrix, as_vector, check_rng
from .nulls import SpatialSurrogates, _n_surrogates

_KERNELS = {
    "exp": lambda d: np.exp(-d / d.max(axis=-1)[:, None]),
    "gaussian": lambda d: np.exp(-1.25 * np.square(d / d.max(axis=-1)[:, None])),
    "invdist": lambda d: 1.0 / d,
    "uniform": lambda d: np.ones(d.shape) / d.shape[-1],
}


def _distances(coords_or_distances, n: int) -> np.ndarray:
    A, _, _ = as_matrix(coords_or_distances, "coords_or_distances")
    if A.shape == (n, 2) and n != 2:
        return cdist(A, A)
    if A.shape != (n, n):
        raise InputError(f"coords_or_distances must be spot coordinates (n, 2) or a distance "
                         f"matrix (n, n) with n = {n} spots, got shape {A.shape}")
    if not np.allclose(A, A.T) or np.any(A < 0) or np.any(np.diag(A) != 0):
        raise InputError("the distance matrix must be symmetric, non-negative, with a zero "
                         "diagonal; pass coordinates instead to have Euclidean distances")
    return A


class _Variogram:
    """Pairs, lags and kernel of brainsmash ``Base.compute_smooth_variogram`` for one D."""

    def __init__(self, D: np.ndarray, pv, nh: int, b):
        iu, ju = np.triu_indices(D.shape[0], k=1)
        u = D[iu, ju]
        sel = np.flatnonzero(u < np.percentile(u, pv))
        if sel.size < 2:
            raise InputError(f"fewer than 2 spot pairs lie below the {pv}th distance percentile; "
                             "raise pv or pass more spots")
        self.i, self.j, self.u = iu[sel], ju[sel], u[sel]
        self.h = np.linspace(self.u.min(), self.u.max(), nh)
        self.b = 3.0 * (self.h[1] - self.h[0]) if b is None else float(b)
        self.chunk, self.max_elems = 32768, 4 << 20  # pairs per kernel block; diff array size
        self.wsum = np.zeros(nh)
        for s in range(0, self.u.size, self.chunk):
            self.wsum += self._w(s).sum(axis=1)

    def _w(self, s: int) -> np.ndarray:
        du = np.abs(self.u[s:s + self.chunk] - self.h[:, None])
        return np.exp(-np.square(2.68 * du / self.b) / 2)

    def __call__(self, Y: np.ndarray) -> np.ndarray:
        """Smoothed variograms (nh, m) of the m maps in the columns of Y (n, m)."""
        Y = Y.reshape(Y.shape[0], -1)
        acc = np.zeros((self.h.size, Y.shape[1]))
        step = max(1, min(self.chunk, self.max_elems // max(1, Y.shape[1])))
        for s0 in range(0, self.u.size, self.chunk):
            w = self._w(s0)
            for s in range(0, w.shape[1], step):
                e = min(s + step, w.shape[1])
                diff = Y[self.j[s0 + s:s0 + e]] - Y[self.i[s0 + s:s0 + e]]
                acc += w[:, s:e] @ (0.5 * np.square(diff))
        return acc / self.wsum[:, None]


def _regress(x: np.ndarray, y: np.ndarray):
    """brainsmash ``Base.regress``: y ~ alpha + beta x per column of x (nh, m); SSE."""
    n = x.shape[0]
    num = (x * y[:, None]).sum(axis=0) - x.sum(axis=0) * y.sum() / n
    den = (x ** 2).sum(axis=0) - x.sum(axis=0) ** 2 / n
    beta = num / den
    alpha = y.mean() - beta * x.mean(axis=0)
    res = np.sum((y[:, None] - (x * beta + alpha)) ** 2, axis=0)
    return alpha, beta, res


def _smoother(D: np.ndarray, order: np.ndarray, delta: float, kernel: str) -> np.ndarray:
    """Dense row-normalised smoothing matrix over the int(delta n) nearest other spots."""
    n = D.shape[0]
    jkn = order[:, 1:int(delta * n) + 1]
    rows = np.arange(n)[:, None]
    w = _KERNELS[kernel](D[rows, jkn])
    w /= w.sum(axis=1, keepdims=True)
    S = np.zeros((n, n))
    S[rows, jkn] = w
    return S


def _variogram_from_draws(x, D, perms, noise, *, deltas, kernel="exp", pv=25, nh=25,
                          resample=False, b=None):
    """Variogram-matching surrogates (B, n) for given permutations and N(0,1) noise (B, n).

    brainsmash ``Base._call_method``: for each delta smooth ``x[perm]`` over the
    ``int(delta n)`` nearest spots, regress its smoothed variogram on the target's, keep the
    delta of least SSE (first on ties), ``surr = sqrt|beta| smooth + sqrt|alpha| noise``,
    then de-mean (or rank-resample the values of ``x``).
    """
    vg = _Variogram(D, pv, nh, b)
    target = vg(x[:, None])[:, 0]
    order = np.argsort(D, axis=-1)
    xperm = x[perms].T  # (n, B)
    B = perms.shape[0]
    best = np.full(B, np.inf)
    best_a, best_b, best_d = np.zeros(B), np.zeros(B), np.zeros(B)
    best_y = np.zeros_like(xperm)
    for delta in deltas:
        Y = _smoother(D, order, delta, kernel) @ xperm
        alpha, beta, res = _regress(vg(Y), target)
        upd = res < best
        best[upd], best_a[upd], best_b[upd], best_d[upd] = res[upd], alpha[upd], beta[upd], delta
        best_y[:, upd] = Y[:, upd]
    surr = np.sqrt(np.abs(best_b)) * best_y + np.sqrt(np.abs(best_a)) * noise.T
    if resample:
        ii = np.argsort(surr, axis=0)
        np.put_along_axis(surr, ii, np.sort(x)[:, None], axis=0)
    else:
        surr -= surr.mean(axis=0)
    diag = pd.DataFrame({"delta": best_d, "alpha": best_a, "beta": best_b, "sse": best})
    return surr.T, diag, vg, target


def _check_smoothing(kernel: str, pv, nh, pv_default: int) -> None:
    """The kernel, distance percentile and lag count shared by ``Base`` and ``Sampled``."""
    if kernel not in _KERNELS:
        raise InputError(f"kernel must be one of {sorted(_KERNELS)}, got {kernel!r}")
    if not 0 < float(pv) <= 100:
        raise InputError(f"pv must be a percentile in (0, 100], got {pv!r}; e.g. "
                         f"pv={pv_default}")
    if int(nh) < 2:
        raise InputError(f"nh must be at least 2 lags, got {nh!r}; e.g. nh=25")


def _check_invdist(kernel: str, distances: np.ndarray) -> None:
    """``invdist`` weights 1/d: refuse the zero distances of two spots at one position."""
    if kernel == "invdist" and np.any(distances == 0):
        raise InputError("two spots share a position (distance 0), which the 'invdist' kernel "
                         "cannot weight; merge them or use kernel='exp'")


def _check_deltas(deltas, n: int) -> np.ndarray:
    d = np.atleast_1d(np.asarray(deltas, dtype=np.float64))
    if d.size == 0 or np.any(~(d > 0)) or np.any(d > 1):
        raise InputError(f"deltas must be proportions of neighbours in (0, 1], got {deltas!r}; "
                         "e.g. np.linspace(0.1, 0.9, 9)")
    if np.any((d * n).astype(int) < 1):
        raise InputError(f"with {n} spots the smallest delta smooths over no neighbour "
                         f"(int(delta * n) = 0); use deltas >= {1 / n:.3g}")
    return d


def smoothed_variogram(x, coords_or_distances, *, pv=25, nh: int = 25, b=None):
    """Smoothed empirical variogram of ``x`` (brainsmash ``Base.compute_smooth_variogram``).

    ``gamma(h) = sum_ij w_h(u_ij) (x_i - x_j)^2 / 2 / sum_ij w_h(u_ij)`` over spot pairs with
    distance ``u_ij`` below the ``pv``-th percentile, ``w_h(u) = exp(-(2.68 |u - h| / b)^2 / 2)``
    at ``nh`` lags ``h`` spanning those distances, ``b`` three lag spacings by default.

    Returns
    -------
    h, gamma : ndarray (nh,)
    """
    xv, _ = as_vector(x, "x")
    vg = _Variogram(_distances(coords_or_distances, xv.size), pv, nh, b)
    return vg.h, vg(xv[:, None])[:, 0]


def variogram_surrogates(x, coords_or_distances, n_surrogates: int = 1000, rng=None, *,
                         deltas=None, kernel: str = "exp", pv=None, nh: int = 25,
                         resample: bool = False, b=None, method: str = "base", ns: int = 500,
                         knn: int = 1000) -> SpatialSurrogates:
    """Variogram-matching surrogate maps (Burt et al. 2020), as brainsmash 0.11 ``Base``.

    Each surrogate randomly permutes ``x``; for every ``delta`` in ``deltas`` it smooths the
    permuted map with ``kernel`` weights over each spot's ``int(delta n)`` nearest other spots
    (``exp``: ``exp(-d / d_max)``, ``gaussian``: ``exp(-1.25 (d / d_max)^2)``, ``invdist``,
    ``uniform``; normalised per spot), regresses the smoothed variogram of the smoothed map on
    that of ``x`` (:func:`smoothed_variogram`), keeps the delta with the smallest residual sum
    of squares and returns ``sqrt|beta| smoothed + sqrt|alpha| z`` with ``z ~ N(0, 1)`` per
    spot, de-meaned as brainsmash does (so the surrogates have mean 0, not ``mean(x)``), or,
    with ``resample=True``, carrying the sorted values of ``x`` in the surrogate's rank order.

    ``method="base"`` (brainsmash ``Base``) uses dense n x n distances (n = 4,000: 128 MB,
    ~1.2 GB peak), about 30 s per 100 surrogates at n = 4,000 on two cores.  With few spots,
    deltas below 0.1 may fit short lags better.  ``method="sampled"`` (brainsmash ``Sampled``,
    for large sections) needs coordinates: it keeps each spot's ``knn`` nearest other spots
    (scipy ``cKDTree``, no n x n matrix), smooths over ``int(delta knn)`` of them, and fits
    each surrogate's variogram on the pairs (spot, neighbour) of a fresh random subsample of
    ``ns`` spots whose distance is below the ``pv``-th percentile of all kept neighbour
    distances (lags from the smallest of them to that percentile).

    Parameters
    ----------
    x : array (n,); coords_or_distances : spot centres (n, 2) or distances (n, n)
    n_surrogates : int; rng : int or numpy.random.Generator
    deltas : proportions of neighbours in (0, 1]; default ``np.linspace(0.1, 0.9, 9)``
        ("base") or ``[0.3, 0.5, 0.7, 0.9]`` ("sampled"), the brainsmash defaults
    kernel : {"exp", "gaussian", "invdist", "uniform"}
    pv, nh, b : variogram pair-distance percentile (default 25 "base", 70 "sampled"), number
        of lags, bandwidth (default 3 lag spacings), see :func:`smoothed_variogram`
    resample : bool
    method : {"base", "sampled"}
    ns, knn : ("sampled" only) spots subsampled per surrogate for its variogram, nearest
        neighbours kept per spot; need ``ns <= n`` and ``knn < n``
    """
    if method not in ("base", "sampled"):
        raise InputError(f"method must be 'base' (dense distances) or 'sampled' (k nearest "
                         f"neighbours, for large sections), got {method!r}")
    if method == "sampled":
        return _sampled_surrogates(x, coords_or_distances, n_surrogates, rng, deltas=deltas,
                                   kernel=kernel, pv=70 if pv is None else pv, nh=nh,
                                   resample=resample, b=b, ns=ns, knn=knn)
    pv = 25 if pv is None else pv
    B = _n_surrogates(n_surrogates)
    xv, _ = as_vector(x, "x")
    n = xv.size
    if n < 4:
        raise InputError(f"variogram surrogates need at least 4 spots, got {n}")
    _check_smoothing(kernel, pv, nh, 25)
    D = _distances(coords_or_distances, n)
    _check_invdist(kernel, D[~np.eye(n, dtype=bool)])
    d = _check_deltas(np.linspace(0.1, 0.9, 9) if deltas is None else deltas, n)
    rng = check_rng(rng)
    perms = np.argsort(rng.random((B, n)), axis=1)
    noise = rng.standard_normal((B, n))
    vals, diag, vg, target = _variogram_from_draws(xv, D, perms, noise, deltas=d, kernel=kernel,
                                                   pv=pv, nh=int(nh), resample=resample, b=b)
    params = {"kernel": kernel, "pv": pv, "nh": int(nh), "resample": resample, "b": vg.b,
              "deltas": tuple(d), "lags": vg.h, "target_variogram": target}
    return SpatialSurrogates("variogram", None, vals, B, False, diag, params)


# ---------------------------------------------------------------- brainsmash ``Sampled``
def _knn_table(coords: np.ndarray, knn: int):
    """Distances and indices (n, knn) of each spot's knn nearest other spots, sorted.

    scipy ``cKDTree.query`` with ``knn + 1`` neighbours; the spot itself is removed wherever
    it appears (a duplicate position may come first), else the farthest is dropped.
    """
    d, j = cKDTree(coords).query(coords, k=knn + 1)
    keep = np.argsort(j == np.arange(j.shape[0])[:, None], axis=1, kind="stable")[:, :knn]
    return np.take_along_axis(d, keep, axis=1), np.take_along_axis(j, keep, axis=1)


class _SampledVariogram:
    """brainsmash ``Sampled``: lags, bandwidth and subsample variograms for a kNN table."""

    def __init__(self, Dk: np.ndarray, Ik: np.ndarray, pv, nh: int, b):
        self.D, self.I = Dk, Ik
        self.dmax = float(np.percentile(Dk, pv))
        self.h = np.linspace(Dk.min(), self.dmax, nh)
        if b is None and not self.h[1] > self.h[0]:
            raise InputError("all kept neighbour distances below the pv-th percentile are "
                             "equal, so the variogram has no lag spacing; raise pv or knn")
        self.b = 3.0 * (self.h[1] - self.h[0]) if b is None else float(b)

    def pairs(self, idx: np.ndarray):
        """Pairs (spot ``idx[r]``, its neighbour) closer than ``dmax`` and their lag weights."""
        u = self.D[idx]
        r, c = np.nonzero(u < self.dmax)
        if r.size == 0:
            raise InputError("no sampled neighbour pair lies below the pv-th distance "
                             "percentile; raise pv")
        w = self.weights(u[r, c])
        return idx[r], self.I[idx[r], c], w, w.sum(axis=1)

    def weights(self, u: np.ndarray) -> np.ndarray:
        """Lag weights ``exp(-(2.68 |u - h_m| / b)^2 / 2)`` (nh, len(u)).

        With ``t = u - h_0``, ``c = (2.68 / b)^2 / 2`` and lag spacing ``s``, they factor as
        ``exp(-c t^2) exp(2 c s t)^m exp(-c (m s)^2)``: two exponentials instead of nh, used
        while every factor stays far from float64 overflow (else the direct formula).
        """
        c, t = 0.5 * (2.68 / self.b) ** 2, u - self.h[0]
        step, m = self.h[1] - self.h[0], np.arange(self.h.size)
        span = max(float(t.max(initial=0.0)), step * m[-1])
        if t.size == 0 or t.min() < 0 or c * span * span > 600:
            return np.exp(-np.square(2.68 * np.abs(u - self.h[:, None]) / self.b) / 2)
        w = np.empty((self.h.size, t.size))
        w[0] = np.exp(-c * t * t)
        ratio = np.exp(2 * c * step * t)
        for k in m[1:]:
            np.multiply(w[k - 1], ratio, out=w[k])
        w *= np.exp(-c * np.square(m * step))[:, None]
        return w

    @staticmethod
    def __call__(Y: np.ndarray, pairs) -> np.ndarray:
        """Smoothed variograms (nh, m) of the maps in the columns of Y (n, m) over ``pairs``."""
        i, j, w, wsum = pairs
        return (w @ (0.5 * np.square(Y[j] - Y[i]))) / wsum[:, None]


def _knn_smoother(Dk: np.ndarray, Ik: np.ndarray, k: int, kernel: str) -> sparse.csr_matrix:
    """Sparse row-normalised kernel smoother over each spot's k nearest (``smooth_map``)."""
    n = Dk.shape[0]
    w = _KERNELS[kernel](Dk[:, :k])
    w = w / w.sum(axis=1, keepdims=True)
    return sparse.csr_matrix((w.ravel(), Ik[:, :k].ravel(), np.arange(0, n * k + 1, k)),
                             shape=(n, n))


def _sampled_from_draws(x, Dk, Ik, perms, samples, noise, *, deltas, knn=None, kernel="exp",
                        pv=70, nh=25, resample=False, b=None):
    """brainsmash ``Sampled._call_method`` for given draws: permutations (B, n), subsamples
    (B, ns) and N(0,1) noise (B, n); ``Dk``, ``Ik`` (n, knn): sorted neighbour distances,
    indices without the spot itself.

    Per surrogate: smooth ``x[perm]`` over ``k = int(delta knn)`` neighbours for each delta,
    regress the subsample variogram of the smoothed map on that of ``x``, keep the delta of
    least SSE (first on ties), ``surr = sqrt|beta| smooth + sqrt|alpha| noise``, de-mean
    (or rank-resample the values of ``x``).  Returns surrogates (B, n), diagnostics, the
    variogram helper and the per-surrogate target variograms (B, nh).
    """
    knn = Dk.shape[1] if knn is None else int(knn)
    vg = _SampledVariogram(Dk, Ik, pv, nh, b)
    Ss = [_knn_smoother(Dk, Ik, int(d * knn), kernel) for d in deltas]
    B, n = perms.shape
    out, targets = np.empty((B, n)), np.empty((B, int(nh)))
    best_a, best_b, best_d, best_r = (np.empty(B) for _ in range(4))
    block = max(1, int(4e6 // (n * len(Ss))))
    for s0 in range(0, B, block):
        xperm = x[perms[s0:s0 + block]].T  # (n, m)
        Ys = np.stack([S @ xperm for S in Ss], axis=-1)  # (n, m, n_deltas)
        for t in range(xperm.shape[1]):
            pr = vg.pairs(samples[s0 + t])
            gam = vg(np.column_stack([x, Ys[:, t, :]]), pr)
            alpha, beta, res = _regress(gam[:, 1:], gam[:, 0])
            k = int(np.argmin(res))
            q = s0 + t
            targets[q], best_a[q], best_b[q], best_r[q] = gam[:, 0], alpha[k], beta[k], res[k]
            best_d[q] = deltas[k]
            out[q] = np.sqrt(abs(beta[k])) * Ys[:, t, k] + np.sqrt(abs(alpha[k])) * noise[q]
    if resample:
        np.put_along_axis(out, np.argsort(out, axis=1), np.sort(x)[None, :], axis=1)
    else:
        out -= out.mean(axis=1, keepdims=True)
    diag = pd.DataFrame({"delta": best_d, "alpha": best_a, "beta": best_b, "sse": best_r})
    return out, diag, vg, targets


def _sampled_surrogates(x, coords, n_surrogates, rng, *, deltas, kernel, pv, nh, resample, b,
                        ns, knn) -> SpatialSurrogates:
    """``variogram_surrogates(method="sampled")``: checks, draws, :func:`_sampled_from_draws`."""
    B = _n_surrogates(n_surrogates)
    xv, _ = as_vector(x, "x")
    n = xv.size
    P, _, _ = as_matrix(coords, "coords_or_distances")
    if P.shape != (n, 2):
        raise InputError(f"method='sampled' needs spot coordinates (n, 2) with n = {n}, got "
                         f"shape {P.shape}; for a distance matrix use method='base'")
    for name, val in (("ns", ns), ("knn", knn)):
        if isinstance(val, (bool, np.bool_)) or not isinstance(val, (int, np.integer)) \
                or val < 2:
            raise InputError(f"{name} must be an integer >= 2, got {val!r}")
    if knn >= n:
        raise InputError(f"knn = {knn} neighbours need more than {knn} spots, got {n}; pass "
                         f"knn < n (e.g. knn={min(1000, n - 1)}) or use method='base'")
    if ns > n:
        raise InputError(f"ns = {ns} subsampled spots exceed the {n} spots; pass ns <= n "
                         f"(e.g. ns={min(500, n)}) or use method='base'")
    _check_smoothing(kernel, pv, nh, 70)
    if b is not None and not float(b) > 0:
        raise InputError(f"b must be a positive bandwidth or None (3 lag spacings), got {b!r}")
    d = _check_deltas(np.arange(0.3, 1.0, 0.2) if deltas is None else deltas, int(knn))
    Dk, Ik = _knn_table(P, int(knn))
    _check_invdist(kernel, Dk)
    rng = check_rng(rng)
    perms = np.argsort(rng.random((B, n)), axis=1)
    samples = np.argsort(rng.random((B, n)), axis=1)[:, :ns]
    noise = rng.standard_normal((B, n))
    vals, diag, vg, targets = _sampled_from_draws(xv, Dk, Ik, perms, samples, noise, deltas=d,
                                                  kernel=kernel, pv=pv, nh=int(nh),
                                                  resample=resample, b=b)
    params = {"method": "sampled", "kernel": kernel, "pv": pv, "nh": int(nh), "ns": int(ns),
              "knn": int(knn), "resample": resample, "b": vg.b, "dmax": vg.dmax,
              "deltas": tuple(d), "lags": vg.h, "target_variogram": targets.mean(axis=0)}
    return SpatialSurrogates("variogram", None, vals, B, False, diag, params)
