"""MM-regression as R's ``robustbase::lmrob`` (default ``lmrob.control()``, robustbase 0.95-0).

Used by MendelianRandomization's robust IVW / MR-Egger (``lmrob(By ~ Bx [- 1], weights = w,
k.max = 500, maxit.scale = 500)``).  Prior weights ``w`` enter as in ``lmrob``: ``x`` and ``y``
are multiplied by ``sqrt(w)`` and everything below works on the transformed data (Yohai 1987;
Koller & Stahel 2011, CSDA 55:2504).

* **S-estimate** (initial): minimises the M-scale ``s`` solving
  ``sum(rho_chi(r_i / s)) / (n - p) = 1/2`` with Tukey's bisquare ``rho`` normalised to
  ``max rho = 1`` (``tuning.chi = 1.54764``).  R's "fast-S" draws 500 random elemental
  subsets, refines each by one IRWLS step, keeps the two best and refines them until the
  coefficients change by less than ``refine.tol = 1e-7`` (relative).  Here the candidates are
  *all* elemental subsets when there are at most ``max_subsets`` (20,000) of them (always for
  a single regressor, and for the Egger design up to 200 SNPs), otherwise 2,000 subsets (R: 500) drawn
  with ``rng``; each gets one refinement step (its M-scale solved to 1e-10), the best two are
  refined as R refines them (``refine.tol = 1e-7``, at most ``k.max = 500`` steps) and the
  smaller scale wins.  The S-estimate is a well-defined minimiser, so the
  result does not depend on which subsets R happened to draw whenever the global minimum is
  reached (the usual case for one or two coefficients); R itself stops at ``refine.tol`` so its
  S-scale and coefficients carry errors of order 1e-7 relative.  Two R runs of MendelianRandomization
  with different RNG states differ by up to ~7e-8 relative in the penalised robust Egger slope
  (measured on the LDL-c data), which bounds the agreement one can expect.
* **M-step**: IRWLS with the S-scale fixed and bisquare weights ``(1 - (r/(s c))^2)^2``,
  ``c = tuning.psi = 4.685061``, from the S coefficients, stopping as ``robustbase``'s C
  routine ``rwls`` does (L1 change ``<= rel.tol * max(rel.tol, ||beta||_1)``, ``rel.tol = 1e-7``,
  at most ``max.it - 1 = 49`` updates); ``converged`` is reported.
* **Covariance** ``.vcov.avar1`` (Croux, Dhaene & Hoorelbeke 2003 asymptotic covariance of the
  MM-estimate allowing for the S-scale), negative eigenvalues "posdefified" as in R.  The
  package's standard errors are ``sqrt(diag(cov))`` and ``sigma`` is the S-scale.
"""

from __future__ import annotations

from itertools import combinations
from dataclasses import dataclass

import numpy as np
from numba import njit

C_CHI = 1.54764
C_PSI = 4.685061
BB = 0.5


@dataclass
class LmrobFit:
    coef: np.ndarray
    cov: np.ndarray
    scale: float
    converged: bool
    iterations: int
    s_coef: np.ndarray
    resid: np.ndarray          # on the sqrt(w)-transformed scale


def _rho(u, c=C_CHI):
    t = np.minimum((u / c) ** 2, 1.0)
    return t * (3.0 - 3.0 * t + t * t)


def _rho_d1(u, c=C_CHI):        # Mchi(deriv = 1): rho' normalised
    t = (u / c) ** 2
    return np.where(t < 1, 6.0 * u / c**2 * (1 - t) ** 2, 0.0)


def _psi(u, c=C_PSI):           # Mpsi(bisquare): u (1 - (u/c)^2)^2
    t = (u / c) ** 2
    return np.where(t < 1, u * (1 - t) ** 2, 0.0)


def _psi_d1(u, c=C_PSI):
    t = (u / c) ** 2
    return np.where(t < 1, (1 - t) * (1 - 5 * t), 0.0)


def _wgt(u, c):
    t = (u / c) ** 2
    return np.where(t < 1, (1 - t) ** 2, 0.0)


def _mscale(res, s0, n, p, tol=1e-13, maxit=2000):
    """Fixed-point iteration ``s <- s sqrt(mean_rho(r/s)/b)`` for every row of ``res`` (each
    row stops at its own convergence; compiled: thousands of candidate subsets at once)."""
    res = np.ascontiguousarray(np.atleast_2d(res), dtype=np.float64)
    s0 = np.broadcast_to(np.asarray(s0, dtype=np.float64), (res.shape[0],)).copy()
    return _mscale_rows(res, s0, float(n - p), tol, maxit)


@njit(cache=True)
def _mscale_rows(res, s, dof, tol, maxit):
    m, k = res.shape
    out = np.empty(m)
    for r in range(m):
        sr = s[r]
        for _ in range(maxit):
            acc = 0.0
            for i in range(k):
                t = (res[r, i] / sr / C_CHI) ** 2
                if t > 1.0:
                    t = 1.0
                acc += t * (3.0 - 3.0 * t + t * t)
            new = sr * np.sqrt(acc / dof / BB)
            done = abs(new - sr) <= tol * sr
            sr = new
            if done:
                break
        out[r] = sr
    return out


def _wls(X, y, w):
    """Batched weighted LS: rows of ``w`` (m x n) give m fits."""
    XtW = X.T[None, :, :] * w[:, None, :]            # m x p x n
    A = XtW @ X                                      # m x p x p
    b = XtW @ y                                      # m x p
    return np.linalg.solve(A, b[..., None])[..., 0]


def _draw_subsets(rng, n, p, m):
    """``m`` elemental subsets (sorted index rows) of size ``p`` from ``range(n)``, drawn
    uniformly without replacement within a row (vectorised for the IVW / Egger designs)."""
    if p == 1:
        return rng.integers(0, n, size=(m, 1))
    if p == 2:
        i = rng.integers(0, n, size=m)
        j = rng.integers(0, n - 1, size=m)
        j = j + (j >= i)
        return np.sort(np.column_stack([i, j]), axis=1)
    return np.array([np.sort(rng.choice(n, size=p, replace=False)) for _ in range(m)])


def _s_estimate(X, y, rng, max_subsets, refine_tol=1e-7, k_max=500, best_r=2, n_resample=2000):
    n, p = X.shape
    combos = None
    from math import comb
    if comb(n, p) <= max_subsets:
        combos = np.array(list(combinations(range(n), p)), dtype=np.int64)
    else:
        combos = _draw_subsets(rng, n, p, n_resample)
    Xs = X[combos]                                   # m x p x p
    ys = y[combos]
    ok = np.abs(np.linalg.det(Xs)) > 1e-12 * np.max(np.abs(X)) ** p
    Xs, ys = Xs[ok], ys[ok]
    beta = np.linalg.solve(Xs, ys[..., None])[..., 0]  # m x p
    res = y[None, :] - beta @ X.T
    # R's refine_fast_s(conv = FALSE, k.fast.s = 1): s0 = MAD about 0, one scale step, one WLS
    s = 1.4826 * np.median(np.abs(res), axis=1)
    good = s > 0
    beta, res, s = beta[good], res[good], s[good]
    s = s * np.sqrt(_rho(res / s[:, None]).sum(axis=1) / (n - p) / BB)
    beta = _wls(X, y, _wgt(res / s[:, None], C_CHI))
    res = y[None, :] - beta @ X.T
    s = _mscale(res, s, n, p, tol=1e-10, maxit=500)   # find_scale(scale.tol = 1e-10)
    best = np.argsort(s, kind="stable")[:best_r]
    beta, s = beta[best], s[best]
    # refine_fast_s(conv = TRUE): one scale step + one WLS per iteration until
    # ||b_new - b||_2 <= tol * max(tol, ||b||_2) (R: refine.tol = 1e-7, k.max = 500)
    final_b, final_s, conv, final_r = [], [], [], []
    for bj, sj in zip(beta, s):
        done = False
        for _ in range(k_max):
            res = y - X @ bj
            sj = sj * np.sqrt(_rho(res / sj).sum() / (n - p) / BB)
            bn = _wls(X, y, _wgt(res / sj, C_CHI)[None, :])[0]
            done = np.linalg.norm(bn - bj) <= refine_tol * max(refine_tol, np.linalg.norm(bj))
            bj = bn
            if done:
                break
        final_b.append(bj)
        final_s.append(sj)
        final_r.append(res)
        conv.append(done)
    k = int(np.argmin(final_s))
    # R returns as S residuals those of the *last* refined candidate at its previous iterate
    # (the C loop breaks before recomputing them); they enter only .vcov.avar1
    return final_b[k], float(final_s[k]), all(conv), final_r[-1]


def lmrob(X, y, weights=None, rng=None, max_subsets: int = 20000, rel_tol: float = 1e-7,
          max_it: int = 50, refine_tol: float = 1e-7) -> LmrobFit:
    """MM-estimate of ``y ~ X`` (``X`` holds the intercept column if any); see module doc."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if weights is not None:
        sw = np.sqrt(np.asarray(weights, dtype=np.float64))
        X = X * sw[:, None]
        y = y * sw
    n, p = X.shape
    b0, scale, s_conv, r0 = _s_estimate(X, y, rng, max_subsets, refine_tol=refine_tol)
    # M-step, robustbase's rwls()
    beta0 = b0.copy()
    beta = beta0
    it = 0
    converged = False
    while not converged:
        it += 1
        if it >= max_it:
            break
        res = y - X @ beta0
        beta = _wls(X, y, _wgt(res / scale, C_PSI)[None, :])[0]
        d = np.abs(beta0 - beta).sum()
        converged = d <= rel_tol * max(rel_tol, np.abs(beta).sum())
        beta0 = beta
    r = y - X @ beta
    cov = _vcov_avar1(X, r, r0, scale)
    return LmrobFit(coef=beta, cov=cov, scale=scale, converged=bool(converged and s_conv), iterations=it,
                    s_coef=b0, resid=r)


def _vcov_avar1(X, r, r0, scale):
    n, p = X.shape
    rs, r0s = r / scale, r0 / scale
    w = _psi_d1(rs)
    w0 = _rho_d1(r0s)
    A = np.linalg.inv(X.T @ (X * w[:, None])) * scale
    a = A @ (X.T @ (w * rs)) / np.mean(w0 * r0s)
    w = _psi(rs)
    w0 = _rho(r0s)
    Xww = X.T @ (w * w0)
    u1 = A @ (X.T @ (X * (w**2)[:, None])) @ (n * A)
    u2 = np.outer(a, Xww) @ A
    u3 = A @ np.outer(Xww, a)
    u4 = np.mean(w0**2 - BB**2) * np.outer(a, a)
    ret = (u1 - u2 - u3 + u4) / n
    lam, Q = np.linalg.eigh(ret)
    if np.any(lam < 0):
        o = np.diag(ret).copy()
        lam = np.maximum(lam, 0)
        ret = (Q * lam) @ Q.T
        D = np.sqrt(np.maximum(o, 0) / np.diag(ret))
        ret = D[:, None] * ret * D[None, :]
    return ret
