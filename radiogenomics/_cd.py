r"""Coordinate-descent engine for elastic-net paths in glmnet's parameterisation (Numba).

The problem solved at each lambda, on standardised predictors ``X`` (columns of mean 0 and
``1/n`` SD 1 over the fitted rows), is the penalised weighted least-squares problem

.. math::

    \min_{\beta_0, \beta}\; \tfrac12 \sum_i w_i (z_i - \beta_0 - x_i^T\beta)^2
    + \lambda\Big[\alpha \lVert\beta\rVert_1 + \tfrac{1-\alpha}{2}\lVert\beta\rVert_2^2\Big],

with ``sum(w) = 1`` for gaussian models (``w_i = 1/n``, ``z`` the standardised response), and,
for binomial and Cox models, the quadratic approximation of the log-likelihood at the current
fit (``w_i = p_i (1 - p_i) / n``, ``z_i = eta_i + (y_i - p_i) / (p_i (1 - p_i))``; Cox: the
diagonal of the partial likelihood's Hessian; its path driver is
:func:`radiogenomics._cox.cox_path`), iterated to
convergence (IRLS outer loop), as glmnet does (Friedman, Hastie & Tibshirani 2010, J Stat
Softw 33(1); Simon et al. 2011, J Stat Softw 39(5)).

How it is solved (glmnet's algorithm, our code):

* coordinate update ``b_j <- S(g_j + v_j b_j, lambda alpha) / (v_j + lambda (1 - alpha))``
  with ``g_j = x_j' r`` (``r = w (z - eta)``, the working residual), ``v_j = sum_i w_i x_ij^2``
  and ``S`` soft-thresholding;
* *naive* updates (the residual is updated after each change, O(n) per coordinate) when
  p >= n, *covariance* updates for gaussian models when n > p (the gradient of every feature is
  updated from cached Gram columns ``X' x_k / n`` of the features that ever entered, O(p) per
  coordinate, independent of n);
* sequential strong rules (Tibshirani et al. 2012, JRSS-B 74:245): at lambda_k only features
  with ``|g_j(lambda_{k-1})| >= alpha (2 lambda_k - lambda_{k-1})`` (and those ever active)
  enter the coordinate loop; the KKT conditions are then checked on *all* features and any
  violator is added and the problem re-solved, so the screen never changes the answer;
* active-set cycling: after a full pass over the strong set, passes run over the non-zero
  coefficients only until they converge, then a full pass confirms;
* warm starts along the (decreasing) path;
* convergence as glmnet measures it: the largest ``v_j (Delta b_j)^2`` of a pass (intercept
  included) below ``thresh`` times the null deviance of the working problem; and, reported
  beside it, the largest violation of the KKT conditions on the standardised scale,
  ``max_j |g_j - lambda (1 - alpha) b_j - lambda alpha sign(b_j)|`` for non-zero ``b_j`` and
  ``max(0, |g_j| - lambda alpha)`` for zero ones (``g_j`` the true gradient of the
  log-likelihood / n, not of the quadratic approximation).

Binomial working weights are floored at ``p (1 - p) >= PMIN (1 - PMIN)`` (1e-9; glmnet's
``pmin`` is 1e-5), which only changes the step near separation (the gradient uses the true
``p``), so the fixed point is the exact optimum.  Every kernel is compiled with ``nogil`` so
cross-validation runs folds in threads; results do not depend on the number of threads.
"""

from __future__ import annotations

import contextlib
import math
import threading

import numpy as np
from numba import njit

__all__ = ["standardize", "gaussian_path", "binomial_path", "wls_solve", "gradient",
           "kkt_violation", "PMIN"]

#: floor on fitted probabilities in the binomial working weights.  glmnet's pmin is 1e-5; the
#: floor only changes the curvature used for a step, not the optimum (the gradient uses the true
#: p), and 1e-9 keeps the step close to Newton's where fitted probabilities approach 0 or 1
#: (fewer IRLS steps: benchmarks/bench_penalized.py, BinomialExample)
PMIN = 1e-9


_blas_lock = threading.Lock()
_blas_depth = 0
_blas_limit = None


_blas_controller = None


@contextlib.contextmanager
def one_blas_thread():
    """BLAS on one thread while any engine call runs (re-entrant and thread-safe: the limit is
    set by the first caller and lifted by the last).  The engine's BLAS calls are small
    (active-set solves); multithreaded OpenBLAS on them was 4-8x slower on a loaded 2-core
    machine, and cross-validation parallelises over folds instead."""
    global _blas_depth, _blas_limit, _blas_controller

    with _blas_lock:
        if _blas_depth == 0:
            if _blas_controller is None:          # library discovery once (~0.6 ms)
                import scipy.linalg.cython_blas  # noqa: F401  (Numba's BLAS: load it first)
                from threadpoolctl import ThreadpoolController

                _blas_controller = ThreadpoolController()
            _blas_limit = _blas_controller.limit(limits=1, user_api="blas")
        _blas_depth += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_depth -= 1
            if _blas_depth == 0:
                _blas_limit.restore_original_limits()
                _blas_limit = None


def standardize(A: np.ndarray):
    """``(Xs, mean, sd)``: Fortran-ordered standardised copy (``1/n`` SD), constant columns
    kept at 0 (their coefficient is then always 0); ``sd`` of constant columns is 0."""
    mx = A.mean(axis=0)
    sx = A.std(axis=0)
    ok = sx > 0
    Xs = np.asfortranarray(A - mx)
    Xs[:, ok] /= sx[ok]
    Xs[:, ~ok] = 0.0
    return Xs, mx, sx


# ------------------------------------------------------------------------------ kernels

@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _coldot(X, j, r):  # pragma: no cover - compiled
    s = 0.0
    for i in range(X.shape[0]):
        s += X[i, j] * r[i]
    return s


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _colsq(X, j):  # pragma: no cover - compiled
    s = 0.0
    for i in range(X.shape[0]):
        s += X[i, j] * X[i, j]
    return s


@njit(cache=True, nogil=True)
def gradient(X, r, g):  # pragma: no cover - compiled
    """``g <- X' r`` over all columns."""
    for j in range(X.shape[1]):
        g[j] = _coldot(X, j, r)


@njit(cache=True, nogil=True)
def screened_gradient(X, r, g, gref, rref, xnorm, b, cutoff):  # pragma: no cover - compiled
    """``g_j = x_j' r`` for every feature that could have ``|g_j| >= cutoff`` (and every
    non-zero coefficient); the others are set to 0, which is exact for every use made of them
    (strong rule, KKT violators, KKT violation), because ``|x_j' r - x_j' r_ref| <= ||x_j||
    ||r - r_ref||`` bounds them below ``cutoff`` from the last full gradient ``g_ref`` at
    ``r_ref``.  When the bound gets loose the full gradient is recomputed and becomes the new
    reference.  A full gradient reads all of X (memory-bound for p >> n); late in a path most
    features are skipped.  Returns the number of dot products computed."""
    n, p = X.shape
    d = 0.0
    for i in range(n):
        d += (r[i] - rref[i]) ** 2
    d = math.sqrt(d)
    lim = cutoff * (1.0 - 1e-9)        # margin for the rounding of the dot products
    cnt = 0
    if cutoff > 0.0:
        for j in range(p):
            if b[j] != 0.0 or abs(gref[j]) + xnorm[j] * d >= lim:
                cnt += 1
    if not cutoff > 0.0 or cnt > p // 4:   # the bound got loose: new reference
        gradient(X, r, g)
        gref[:] = g
        rref[:] = r
        return p
    cnt = 0
    for j in range(p):
        if b[j] != 0.0 or abs(gref[j]) + xnorm[j] * d >= lim:
            g[j] = _coldot(X, j, r)
            cnt += 1
        else:
            g[j] = 0.0
    return cnt


@njit(cache=True, nogil=True)
def _col_sumsq(X):  # pragma: no cover - compiled
    out = np.empty(X.shape[1])
    for j in range(X.shape[1]):
        out[j] = _colsq(X, j)
    return out


@njit(cache=True, nogil=True)
def _col_norms(X):  # pragma: no cover - compiled
    return np.sqrt(_col_sumsq(X))


@njit(cache=True, nogil=True)
def _lambda_start(g, alpha):  # pragma: no cover - compiled
    """glmnet's lambda_max for the gradient ``g`` at the null fit (the previous lambda of the
    first strong rule)."""
    return np.max(np.abs(g)) / max(alpha, 1e-3)


@njit(cache=True, nogil=True)
def _penalties(lam, lam_prev, alpha):  # pragma: no cover - compiled
    """``(lam1, lam2, rule)``: the L1 and L2 weights at ``lam`` and the sequential strong
    rule's bound (-1: keep every feature, as for ridge)."""
    rule = alpha * (2.0 * lam - lam_prev) if alpha > 0 else -1.0
    return lam * alpha, lam * (1.0 - alpha), rule


@njit(cache=True, nogil=True)
def _next_cutoff(lambdas, k, alpha):  # pragma: no cover - compiled
    """Smallest |g| that matters after lambda k: KKT at lambda k and the next strong rule."""
    lam1 = lambdas[k] * alpha
    if k + 1 < lambdas.shape[0]:
        return min(lam1, alpha * (2.0 * lambdas[k + 1] - lambdas[k]))
    return lam1


@njit(cache=True, nogil=True)
def kkt_violation(g, b, lam1, lam2):  # pragma: no cover - compiled
    """Largest KKT violation of the elastic-net problem given the loss gradient ``g``."""
    worst = 0.0
    for j in range(g.shape[0]):
        if b[j] == 0.0:
            v = abs(g[j]) - lam1
        else:
            v = abs(g[j] - lam2 * b[j] - math.copysign(lam1, b[j]))
        if v > worst:
            worst = v
    return worst


@njit(cache=True, nogil=True)
def _naive_pass(X, w, r, b, v, idx, nidx, lam1, lam2):  # pragma: no cover - compiled
    n = X.shape[0]
    dlx = 0.0
    for jj in range(nidx):
        j = idx[jj]
        bj = b[j]
        u = _coldot(X, j, r) + v[j] * bj
        a = abs(u) - lam1
        bn = math.copysign(a, u) / (v[j] + lam2) if a > 0.0 else 0.0
        d = bn - bj
        if d != 0.0:
            b[j] = bn
            for i in range(n):
                r[i] -= d * w[i] * X[i, j]
            t = v[j] * d * d
            if t > dlx:
                dlx = t
    return dlx


@njit(cache=True, nogil=True)
def _intercept_step(w, r, b0, sumw):  # pragma: no cover - compiled
    d0 = r.sum() / sumw
    if d0 != 0.0:
        b0[0] += d0
        for i in range(r.shape[0]):
            r[i] -= d0 * w[i]
    return sumw * d0 * d0


@njit(cache=True, nogil=True)
def _collect_active(b, idx, nidx, buf):  # pragma: no cover - compiled
    """Writes the entries of ``idx[:nidx]`` with a non-zero coefficient into ``buf``."""
    na = 0
    for jj in range(nidx):
        if b[idx[jj]] != 0.0:
            buf[na] = idx[jj]
            na += 1
    return na


@njit(cache=True, nogil=True)
def _newton_step(X, w, r, b, b0, idx, na, lam1, lam2, intercept):  # pragma: no cover
    """Newton step on the non-zero coefficients (signs fixed), cut at the first zero crossing.

    Returns the number of coefficients set to zero by the cut (0: full step taken), or -1 when
    the restricted Hessian is singular (nothing changed)."""
    n = X.shape[0]
    off = 1 if intercept else 0
    k = na + off
    XA = np.empty((n, k))
    for i in range(n):
        if intercept:
            XA[i, 0] = 1.0
        for jj in range(na):
            XA[i, off + jj] = X[i, idx[jj]]
    WXA = XA * w.reshape(n, 1)
    H = XA.T @ WXA
    grad = XA.T @ r
    # more coefficients than rows: the restricted Hessian is singular (lasso); a tiny ridge
    # gives a descent direction along which the cut below drops coefficients to zero
    mu = 0.0
    if k >= n and lam2 < 1e-10:       # centred columns: rank <= n - 1
        for a in range(k):
            mu += H[a, a]
        mu *= 1e-10 / k
    for jj in range(na):
        j = idx[jj]
        H[off + jj, off + jj] += lam2 + mu
        grad[off + jj] -= lam2 * b[j] + math.copysign(lam1, b[j])
    try:
        delta = np.linalg.solve(H, grad)
    except Exception:
        return -1
    if not np.all(np.isfinite(delta)):
        return -1
    t = 1.0
    for jj in range(na):                     # the first coefficient to reach zero
        bj, dj = b[idx[jj]], delta[off + jj]
        if bj * dj < 0.0 and -bj / dj < t:
            t = -bj / dj
    delta *= t
    cut = 0
    for jj in range(na):
        j = idx[jj]
        bn = b[j] + delta[off + jj]
        if t < 1.0 and (bn == 0.0 or (bn > 0.0) != (b[j] > 0.0) or abs(bn) <= 1e-15 * abs(b[j])):
            delta[off + jj] = -b[j]           # lands exactly on zero
            bn = 0.0
            cut += 1
        b[j] = bn
    if intercept:
        b0[0] += delta[0]
    r -= WXA @ delta
    return cut


@njit(cache=True, nogil=True)
def _newton_active(X, w, r, b, b0, idx, na, lam1, lam2, intercept, wide):  # pragma: no cover
    """Exact minimiser of the working problem over the current non-zero coefficients: Newton
    steps with the signs fixed, each cut where a coefficient first reaches zero (which then
    leaves the set), as in an active-set method (with more coefficients than rows the step is a
    descent direction, not the minimiser, and mostly drops coefficients).  Never increases the
    objective; the next full pass (and the KKT check) verifies the result and lets other
    features enter."""
    off = 1 if intercept else 0
    if na == 0 or na > 400 or (na + off >= X.shape[0] and not wide):
        return                         # too big, or more actives than rows (slow to settle:
                                       # in the final polish only)
    tries = 1 if na + off >= X.shape[0] else 4    # a few cuts; coordinate passes do the
    for _ in range(tries):                          # rest (one try when actives >= rows)
        cut = _newton_step(X, w, r, b, b0, idx, na, lam1, lam2, intercept)
        if cut <= 0:
            return
        m = 0
        for jj in range(na):
            if b[idx[jj]] != 0.0:
                idx[m] = idx[jj]
                m += 1
        na = m
        if na == 0:
            return


@njit(cache=True, nogil=True)
def wls_solve(X, w, r, b, b0, v, strong, nstrong, lam1, lam2, intercept, thr, max_pass,
              buf):  # pragma: no cover - compiled
    """Coordinate descent on the strong set until a full pass changes less than ``thr``.

    ``r`` must hold ``w (z - b0 - X b)`` on entry and holds it on exit; ``b0`` is a length-1
    array.  Between full passes the non-zero coefficients are cycled, first by one exact
    solve on them (:func:`_newton_active`; CD alone converges slowly when the active set is
    nearly collinear, as at the end of a p >> n path), then by coordinate passes.  Returns the
    number of passes (``> max_pass`` means not converged)."""
    sumw = w.sum()
    npass = 0
    polished = False
    while True:
        dlx = _naive_pass(X, w, r, b, v, strong, nstrong, lam1, lam2)
        if intercept:
            dlx = max(dlx, _intercept_step(w, r, b0, sumw))
        npass += 1
        if npass > max_pass:
            return npass
        if dlx < thr:
            if polished:
                return npass
            # converged by glmnet's criterion: one exact solve on the active set takes the
            # remaining error to rounding; the next full pass verifies it
            polished = True
            na = _collect_active(b, strong, nstrong, buf)
            if na == 0:
                return npass
            _newton_active(X, w, r, b, b0, buf, na, lam1, lam2, intercept, True)
            continue
        na = _collect_active(b, strong, nstrong, buf)
        _newton_active(X, w, r, b, b0, buf, na, lam1, lam2, intercept, lam2 == 0.0)
        na = _collect_active(b, strong, nstrong, buf)
        cycle = 0
        while True:
            dlx = _naive_pass(X, w, r, b, v, buf, na, lam1, lam2)
            if intercept:
                dlx = max(dlx, _intercept_step(w, r, b0, sumw))
            npass += 1
            cycle += 1
            if dlx < thr or npass > max_pass:
                break
            if cycle % 25 == 0:        # slow (near-collinear actives): try the exact solve
                m = _collect_active(b, strong, nstrong, buf)   # again on the non-zero ones
                _newton_active(X, w, r, b, b0, buf, m, lam1, lam2, intercept, lam2 == 0.0)
                na = _collect_active(b, strong, nstrong, buf)
        if npass > max_pass:
            return npass


@njit(cache=True, nogil=True)
def _strong_set(g, b, in_strong, lam1_rule, strong):  # pragma: no cover - compiled
    ns = 0
    for j in range(g.shape[0]):
        if b[j] != 0.0 or abs(g[j]) >= lam1_rule:
            in_strong[j] = True
        if in_strong[j]:
            strong[ns] = j
            ns += 1
    return ns


@njit(cache=True, nogil=True)
def _add_violators(g, in_strong, lam1):  # pragma: no cover - compiled
    added = 0
    for j in range(g.shape[0]):
        if not in_strong[j] and abs(g[j]) > lam1:
            in_strong[j] = True
            added += 1
    return added


@njit(cache=True, nogil=True)
def _gaussian_naive(X, z, lambdas, alpha, thr, max_pass, B, passes, kkt):  # pragma: no cover
    n, p = X.shape
    w = np.full(n, 1.0 / n)
    sq = _col_sumsq(X)                 # one pass over X for both v and the column norms
    v = sq / n
    r = z * w
    b = np.zeros(p)
    b0 = np.zeros(1)
    g = np.empty(p)
    gradient(X, r, g)
    gref, rref, xnorm = g.copy(), r.copy(), np.sqrt(sq)
    in_strong = np.zeros(p, dtype=np.bool_)
    strong = np.empty(p, dtype=np.int64)
    buf = np.empty(p, dtype=np.int64)
    lam_prev = _lambda_start(g, alpha)
    for k in range(lambdas.shape[0]):
        lam = lambdas[k]
        lam1, lam2, rule = _penalties(lam, lam_prev, alpha)
        ns = _strong_set(g, b, in_strong, rule, strong)
        total = 0
        while True:
            total += wls_solve(X, w, r, b, b0, v, strong, ns, lam1, lam2, False, thr,
                               max_pass - total, buf)
            screened_gradient(X, r, g, gref, rref, xnorm, b, _next_cutoff(lambdas, k, alpha))
            if total > max_pass or _add_violators(g, in_strong, lam1) == 0:
                break
            ns = _strong_set(g, b, in_strong, np.inf, strong)
        B[k] = b
        passes[k] = total
        kkt[k] = kkt_violation(g, b, lam1, lam2)
        lam_prev = lam


@njit(cache=True, nogil=True)
def _newton_cov(C, slot, g, b, idx, na, lam1, lam2):  # pragma: no cover - compiled
    """Covariance-mode exact solve on the non-zero coefficients (signs fixed; skipped when a
    sign would change or the Gram block is singular); keeps every gradient current."""
    if na == 0 or na > 400:
        return
    H = np.empty((na, na))
    grad = np.empty(na)
    for a in range(na):
        j = idx[a]
        for c in range(na):
            H[a, c] = C[idx[c], slot[j]]
        H[a, a] += lam2
        grad[a] = g[j] - lam2 * b[j] - math.copysign(lam1, b[j])
    try:
        delta = np.linalg.solve(H, grad)
    except Exception:
        return
    for a in range(na):
        bn = b[idx[a]] + delta[a]
        if not np.isfinite(bn) or bn == 0.0 or (bn > 0.0) != (b[idx[a]] > 0.0):
            return
    for a in range(na):
        j = idx[a]
        b[j] += delta[a]
        s = slot[j]
        for l in range(g.shape[0]):
            g[l] -= delta[a] * C[l, s]


@njit(cache=True, nogil=True)
def _gaussian_cov(X, z, lambdas, alpha, thr, max_pass, B, passes, kkt):  # pragma: no cover
    """Covariance updates: the gradient of every feature is kept current from cached Gram
    columns, so a coordinate update costs O(p) whatever n."""
    n, p = X.shape
    g = np.empty(p)
    r0 = z / n
    gradient(X, r0, g)             # g = X' z / n at b = 0
    v = _col_sumsq(X) / n
    C = np.empty((p, min(p, 64)))
    slot = np.full(p, -1, dtype=np.int64)
    nslot = 0
    b = np.zeros(p)
    in_strong = np.zeros(p, dtype=np.bool_)
    strong = np.empty(p, dtype=np.int64)
    buf = np.empty(p, dtype=np.int64)
    lam_prev = _lambda_start(g, alpha)
    for k in range(lambdas.shape[0]):
        lam = lambdas[k]
        lam1, lam2, rule = _penalties(lam, lam_prev, alpha)
        ns = _strong_set(g, b, in_strong, rule, strong)
        total = 0
        while True:
            sweep_all = True
            polished = False
            while total <= max_pass:
                if sweep_all:
                    idx, m = strong, ns
                else:
                    idx, m = buf, _collect_active(b, strong, ns, buf)
                dlx = 0.0
                for jj in range(m):
                    j = idx[jj]
                    bj = b[j]
                    u = g[j] + v[j] * bj
                    a = abs(u) - lam1
                    bn = math.copysign(a, u) / (v[j] + lam2) if a > 0.0 else 0.0
                    d = bn - bj
                    if d != 0.0:
                        if slot[j] < 0:
                            if nslot == C.shape[1]:
                                C2 = np.empty((p, min(p, 2 * C.shape[1])))
                                C2[:, :nslot] = C[:, :nslot]
                                C = C2
                            xj = X[:, j].copy()
                            for l in range(p):
                                C[l, nslot] = _coldot(X, l, xj) / n
                            slot[j] = nslot
                            nslot += 1
                        b[j] = bn
                        s = slot[j]
                        for l in range(p):
                            g[l] -= d * C[l, s]
                        t = v[j] * d * d
                        if t > dlx:
                            dlx = t
                total += 1
                if dlx < thr:
                    if sweep_all and polished:
                        break
                    if sweep_all:          # one exact solve, then a full sweep verifies it
                        polished = True
                        m = _collect_active(b, strong, ns, buf)
                        _newton_cov(C, slot, g, b, buf, m, lam1, lam2)
                    sweep_all = True
                else:
                    sweep_all = False
            if total > max_pass or _add_violators(g, in_strong, lam1) == 0:
                break
            ns = _strong_set(g, b, in_strong, np.inf, strong)
        B[k] = b
        passes[k] = total
        kkt[k] = kkt_violation(g, b, lam1, lam2)
        lam_prev = lam


@njit(cache=True, nogil=True)
def _logistic_state(X, y, b, b0, p_out, w, r, pmin):  # pragma: no cover - compiled
    """eta -> probabilities, floored working weights w and residual r = (y - p) / n."""
    n, pp = X.shape
    eta = np.full(n, b0)
    for j in range(pp):
        if b[j] != 0.0:
            for i in range(n):
                eta[i] += b[j] * X[i, j]
    dev = 0.0
    for i in range(n):
        e = eta[i]
        pi = 1.0 / (1.0 + math.exp(-e))
        p_out[i] = pi
        q = min(max(pi, pmin), 1.0 - pmin)
        w[i] = q * (1.0 - q) / n
        r[i] = (y[i] - pi) / n
        # -2 log-likelihood, stable
        dev += 2.0 * (math.log1p(math.exp(-abs(e))) + max(e, 0.0) - y[i] * e)
    return dev


@njit(cache=True, nogil=True)
def _binomial(X, y, lambdas, alpha, thr, max_pass, max_outer, pmin, B, B0, passes, kkt,
              devs):  # pragma: no cover - compiled
    n, p = X.shape
    ybar = y.mean()
    b = np.zeros(p)
    b0 = np.array([math.log(ybar / (1.0 - ybar))])
    prob = np.empty(n)
    w = np.empty(n)
    r = np.empty(n)
    g = np.empty(p)
    v = np.zeros(p)
    _logistic_state(X, y, b, b0[0], prob, w, r, pmin)
    gradient(X, r, g)
    gref, rref, xnorm = g.copy(), r.copy(), _col_norms(X)
    in_strong = np.zeros(p, dtype=np.bool_)
    strong = np.empty(p, dtype=np.int64)
    buf = np.empty(p, dtype=np.int64)
    bold = np.empty(p)
    lam_prev = _lambda_start(g, alpha)
    scale = ybar * (1.0 - ybar)        # null deviance scale of the working problem
    for k in range(lambdas.shape[0]):
        lam = lambdas[k]
        lam1, lam2, rule = _penalties(lam, lam_prev, alpha)
        ns = _strong_set(g, b, in_strong, rule, strong)
        total = 0
        outer = 0
        dev = 0.0
        ok = False
        while True:
            # IRLS: quadratic approximation at the current fit, solved on the strong set
            for jj in range(ns):
                j = strong[jj]
                s = 0.0
                for i in range(n):
                    s += w[i] * X[i, j] * X[i, j]
                v[j] = s
            bold[:] = b
            b0old = b0[0]
            total += wls_solve(X, w, r, b, b0, v, strong, ns, lam1, lam2, True,
                               thr * scale, max_pass - total, buf)
            step = (b0[0] - b0old) ** 2 * w.sum()
            for jj in range(ns):
                j = strong[jj]
                step = max(step, v[j] * (b[j] - bold[j]) ** 2)
            dev = _logistic_state(X, y, b, b0[0], prob, w, r, pmin)
            outer += 1
            cut = _next_cutoff(lambdas, k, alpha)
            if total > max_pass or outer >= max_outer:
                screened_gradient(X, r, g, gref, rref, xnorm, b, cut)
                break
            if step < thr * scale:         # the inner solve is exact (active-set solve), so
                # one small IRLS step leaves a gradient error of order step^2
                screened_gradient(X, r, g, gref, rref, xnorm, b, cut)
                if _add_violators(g, in_strong, lam1) == 0:
                    ok = True
                    break
                ns = _strong_set(g, b, in_strong, np.inf, strong)
        B[k] = b
        B0[k] = b0[0]
        passes[k] = total if ok else max(total, max_pass + 1)
        kkt[k] = kkt_violation(g, b, lam1, lam2)
        devs[k] = dev
        lam_prev = lam


# ------------------------------------------------------------------------------ drivers

def gaussian_path(Xs, z, lambdas, alpha, thresh=1e-14, max_pass=100_000, method="auto"):
    """Path of the gaussian problem on standardised ``Xs`` (Fortran order) and centred,
    standardised ``z``; ``lambdas`` on that scale (decreasing).  Returns
    ``(B (L, p), passes (L,), kkt (L,))``; no intercept (both sides are centred)."""
    n, p = Xs.shape
    L = len(lambdas)
    B = np.zeros((L, p))
    passes = np.zeros(L, dtype=np.int64)
    kkt = np.zeros(L)
    lam = np.ascontiguousarray(lambdas, dtype=np.float64)
    if method == "auto":
        method = "covariance" if n > p else "naive"
    kernel = _gaussian_cov if method == "covariance" else _gaussian_naive
    with one_blas_thread():
        kernel(Xs, np.ascontiguousarray(z, dtype=np.float64), lam, float(alpha), float(thresh),
               int(max_pass), B, passes, kkt)
    return B, passes, kkt


def binomial_path(Xs, y, lambdas, alpha, thresh=1e-14, max_pass=100_000, max_outer=200):
    """Path of the penalised logistic problem on standardised ``Xs``; returns
    ``(B (L, p), b0 (L,), passes (L,), kkt (L,), deviance (L,))``.  ``passes > max_pass``
    flags a lambda that did not converge (passes or IRLS iterations exhausted)."""
    n, p = Xs.shape
    L = len(lambdas)
    B = np.zeros((L, p))
    B0 = np.zeros(L)
    passes = np.zeros(L, dtype=np.int64)
    kkt = np.zeros(L)
    devs = np.zeros(L)
    with one_blas_thread():
        _binomial(Xs, np.ascontiguousarray(y, dtype=np.float64),
                  np.ascontiguousarray(lambdas, dtype=np.float64), float(alpha), float(thresh),
                  int(max_pass), int(max_outer), PMIN, B, B0, passes, kkt, devs)
    return B, B0, passes, kkt, devs

