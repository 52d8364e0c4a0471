"""TwoSampleMR's less common ``mr()`` estimators, reproduced to the digit.

With ``bx_j, by_j`` the SNP-exposure and SNP-outcome effects of SNP ``j`` (same effect allele),
``sx_j, sy_j`` their standard errors and ``r_j = by_j / bx_j`` the ratio estimates:

* **Maximum likelihood** (TwoSampleMR ``mr_two_sample_ml``; Pierce & Burgess 2013, Am J
  Epidemiol 178:1177): minimise ``l(g, b) = 1/2 sum (bx_j - g_j)^2 / sx_j^2
  + 1/2 sum (by_j - b g_j)^2 / sy_j^2`` over the ``n`` true SNP-exposure effects ``g`` and the
  causal effect ``b``.  TwoSampleMR minimises with R's ``optim`` (Nelder-Mead, ``maxit = 25000``,
  start ``(bx, b_IVW)``) and takes ``se`` from the inverse of ``optim``'s finite-difference
  Hessian (step ``1e-3``).  Nelder-Mead stops far from the exact minimum (up to 8 % away in
  ``b`` on the reference data), so TwoSampleMR's numbers are reproduced here by re-running the
  same Nelder-Mead recipe (Nash 1990, *Compact Numerical Methods*, Algorithm 19: reflection 1,
  contraction 0.5, expansion 2, relative tolerance ``sqrt(eps)``, the same starting simplex)
  with R's long-double sums and the same central-difference Hessian.  ``Q = 2 l_min`` on
  ``n - 1`` df; normal p-value.  Whether the simplex converged (rather than stopping at
  25000 evaluations, as it does with ~80 or more SNPs) is reported, not hidden.
* **RAPS** (TwoSampleMR ``mr_raps`` = ``mr.raps::mr.raps(over.dispersion = TRUE,
  loss.function = "huber", shrinkage = FALSE)``; Zhao et al. 2020, Ann Stat 48:1742): the root
  ``(b, tau2)`` of the robust adjusted profile score equations

  .. math::

      \\sum_j \\hat\\gamma_j \\rho'(t_j) / \\sqrt{v_j} = 0, \\qquad
      \\sum_j (t_j \\rho'(t_j) - \\delta) / v_j = 0,

  with ``v_j = tau2 + sy_j^2 + b^2 sx_j^2``, ``t_j = (by_j - b bx_j) / sqrt(v_j)``,
  ``gamma_j = (bx_j/sx_j^2 + b by_j/(sy_j^2 + tau2)) / (1/sx_j^2 + b^2/(sy_j^2 + tau2))``,
  Huber's ``rho`` with ``k = 1.345`` and ``delta = E[Z rho'(Z)]``.  mr.raps solves them from
  several starting points and keeps the root nearest its alternating-optimisation estimate;
  roots with ``tau2 > 10 median(sy)`` are discarded and, if the kept root has ``tau2 < 0`` or none
  is found, it refits without over-dispersion (``tau2 = 0``, first equation only).  SE: the
  sandwich ``V2^-1 V1 V2^-T`` of mr.raps (constants ``c1, c2, c3`` as ``E[rho'^2]``,
  ``E[Z^2 rho'^2] - delta^2``, ``E[Z^2 rho'']``, integrated numerically with R's
  ``integrate`` tolerances by the same QUADPACK routine); normal p-value.  mr.raps draws its
  extra starting points at random; here they are fixed, which changes nothing when the root
  is unique (it is on all reference data sets).
* **IVW radial** (TwoSampleMR ``mr_ivw_radial`` = ``RadialMR::ivw_radial(weights = 3)``;
  Bowden et al. 2018, IJE 47:1264): first-order fit ``b1 = sum(w r) / sum(w)``,
  ``w = bx^2 / sy^2``; modified second-order weights ``W = bx^2 / (sy^2 + b1^2 sx^2)``; estimate
  ``b = sum(W r) / sum(W)`` from the radial regression ``r sqrt(W) ~ -1 + sqrt(W)``, its lm SE
  (residual SE not floored), ``Q = sum W (r - b)^2`` on ``n - 1`` df; normal p-value.
* **Sign concordance test** (``mr_sign``): ``x`` of the ``n`` SNPs with non-zero effects have
  ``sign(bx) == sign(by)``; ``b = 2 (x/n - 1/2)``, ``se`` NaN, exact two-sided binomial p-value;
  needs 6 SNPs.
* **Unweighted regression** (``mr_uwr``): ``lm(by ~ -1 + bx)`` without weights; SE divided by
  ``min(1, sigma)``; normal p-value; ``Q = sigma^2 (n - 1)``.
* **MR GRIP** (``mr_grip``; Dudbridge & Bowden, allele-coding invariant Egger): weighted
  ``lm(by bx ~ bx^2)`` with weights ``1 / (bx^2 sy^2)``; slope, lm SE, t p-value on ``n - 2``
  df; plus the weak-instrument adjusted slope ``b.adj`` / ``se.adj`` / ``pval.adj`` of
  TwoSampleMR's ``mr_grip``.

Every function returns a dict with TwoSampleMR's field names (``b, se, pval, nsnp`` and extras).
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
from numba import njit
from scipy import integrate, optimize, stats

__all__ = ["r_sum", "two_sample_ml", "ivw_radial", "sign_concordance", "unweighted_regression",
           "grip", "raps", "egger_collinear"]

_REL_TOL = float(np.sqrt(np.finfo(float).eps))   # optim's default reltol
_BIG = 1.0e35                                    # value given to non-finite objective values


def r_sum(x) -> float:
    """R's ``sum()`` of doubles: sequential accumulation in long double, rounded to double."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return 0.0
    return float(np.cumsum(x.astype(np.longdouble))[-1])


# ------------------------------------------------------------------------- Nelder-Mead
@njit(cache=True)
def _centroid(P, n, high):
    """Column ``n + 1`` of the simplex = centroid of all vertices but ``high``, each coordinate
    summed in R's order (``-P[i, high] + P[i, 0] + P[i, 1] + ...``, then ``/ n``); O(n^2) per
    call, hence compiled (with P column-major the inner loop is contiguous)."""
    n1 = n + 1
    acc = np.empty(n)
    for i in range(n):
        acc[i] = -P[i, high]
    for j in range(n1):
        for i in range(n):
            acc[i] += P[i, j]
    for i in range(n):
        P[i, n1] = acc[i] / n


def _nelder_mead(fn, x0, maxit: int, reltol: float = _REL_TOL):
    """Nash's Nelder-Mead (as in R ``optim(method = "Nelder-Mead")``, abstol = -Inf).

    Returns ``(x, fmin, fail, fncount)``; ``fail`` is 0 (converged), 1 (``maxit`` function
    evaluations reached) or 10 (simplex could not shrink).
    """
    n = x0.size
    alpha, beta, gamma = 1.0, 0.5, 2.0
    b = np.array(x0, dtype=np.float64)
    f = fn(b)
    if not math.isfinite(f):
        raise ValueError("the objective is not finite at the starting values")
    funcount = 1
    convtol = reltol * (abs(f) + reltol)
    n1 = n + 1
    # simplex: columns 0..n are vertices, column n+1 the centroid; row n holds the values
    P = np.empty((n + 1, n + 2), order="F")   # column-major: a vertex is contiguous
    P[n, 0] = f
    P[:n, 0] = b
    low = 0                                             # index of the lowest vertex
    step = max(0.1 * float(np.max(np.abs(b))), 0.0) if n else 0.0
    if step == 0.0:
        step = 0.1
    size = 0.0
    for j in range(1, n1):
        P[:n, j] = b
        trystep = step
        while P[j - 1, j] == b[j - 1]:
            P[j - 1, j] = b[j - 1] + trystep
            trystep *= 10
        size += trystep
    oldsize = size
    calcvert = True
    fail = 0

    def value(x):
        v = fn(x)
        return v if math.isfinite(v) else _BIG

    while True:
        if calcvert:
            for j in range(n1):
                if j != low:
                    P[n, j] = value(P[:n, j].copy())
                    funcount += 1
            calcvert = False
        # lowest / highest vertex as Nash's scan from the current lowest: a strictly lower
        # (higher) value replaces it, first occurrence wins (values are finite: see value())
        vals = P[n, :n1]
        v0 = P[n, low]
        jmin, jmax = int(np.argmin(vals)), int(np.argmax(vals))
        high = jmax if vals[jmax] > v0 else low
        low = jmin if vals[jmin] < v0 else low
        vl, vh = P[n, low], P[n, high]
        if vh <= vl + convtol:
            break
        # centroid of all vertices but the highest, summed in R's order
        _centroid(P, n, high)
        b = (1.0 + alpha) * P[:n, n1] - alpha * P[:n, high]
        vr = value(b)
        funcount += 1
        if vr < vl:
            P[n, n1] = vr
            ext = gamma * b + (1 - gamma) * P[:n, n1]
            P[:n, n1] = b
            b = ext
            f = value(b)
            funcount += 1
            if f < vr:
                P[:n, high] = b
                P[n, high] = f
            else:
                P[:n, high] = P[:n, n1]
                P[n, high] = vr
        else:
            if vr < vh:
                P[:n, high] = b
                P[n, high] = vr
            b = (1 - beta) * P[:n, high] + beta * P[:n, n1]
            f = value(b)
            funcount += 1
            if f < P[n, high]:
                P[:n, high] = b
                P[n, high] = f
            elif vr >= vh:                             # shrink towards the lowest vertex
                calcvert = True
                size = 0.0
                for j in range(n1):
                    if j != low:
                        P[:n, j] = beta * (P[:n, j] - P[:n, low]) + P[:n, low]
                        # size += |P[i, j] - P[i, low]| for i = 0..n-1, in R's order
                        size = float(np.cumsum(np.r_[size, np.abs(P[:n, j] - P[:n, low])])[-1])
                if size < oldsize:
                    oldsize = size
                else:
                    fail = 10
                    break
        if funcount > maxit:
            break
    if funcount > maxit:
        fail = 1
    return P[:n, low].copy(), float(P[n, low]), fail, funcount


def _ml_var_b(g, b, by, sx2, sy2) -> float:
    """``[H^-1]_bb`` of the ML objective's Hessian at ``(g, b)``, in O(n).

    ``optim(hessian = TRUE)`` differences central-difference gradients (step 1e-3); the
    objective is at most quadratic in each single parameter (its only mixed term is
    ``b^2 g_j^2``), so both central differences are exact in exact arithmetic and R's
    numerical Hessian equals the analytic one up to rounding (~1e-8 absolute on entries of
    order 1e2-1e6): ``H_{g_j g_j} = 1/sx_j^2 + b^2/sy_j^2``, ``H_{g_j b} = (2 b g_j - by_j)/sy_j^2``,
    ``H_{bb} = sum g_j^2/sy_j^2``, ``H_{g_j g_k} = 0``; the Schur complement gives
    ``var(b) = 1 / (H_bb - sum_j H_{g_j b}^2 / H_{g_j g_j})``.  (Forming R's (n+1)^2 numerical
    Hessian costs 4 (n+1)^2 objective evaluations: two minutes at 1,000 SNPs.)
    """
    hgg = 1.0 / sx2 + b * b / sy2
    hgb = (2.0 * b * g - by) / sy2
    schur = r_sum(g * g / sy2) - r_sum(hgb * hgb / hgg)
    return float(1.0 / schur) if schur > 0 and np.isfinite(schur) else np.nan


def _na(**extra):
    out = {"b": np.nan, "se": np.nan, "pval": np.nan, "nsnp": np.nan}
    out.update(extra)
    return out


def two_sample_ml(bx, by, sx, sy, maxit: int = 25000) -> dict:
    """TwoSampleMR ``mr_two_sample_ml`` (see the module docstring).

    Returns ``b, se, pval, nsnp, Q, Q_df, Q_pval`` plus ``converged`` (the Nelder-Mead simplex
    met its tolerance) and ``fncount``.  A warning is issued when it did not converge; the
    estimate is then the point where R's ``optim`` would also have stopped.
    """
    n = bx.size
    if n < 2:
        return _na(Q=np.nan, Q_df=np.nan, Q_pval=np.nan, converged=False)
    sx2, sy2 = sx * sx, sy * sy

    def loglik(p):
        g, b = p[:n], p[n]
        a = bx - g
        c = by - b * g
        return 0.5 * r_sum(a * a / sx2) + 0.5 * r_sum(c * c / sy2)

    start = np.r_[bx, r_sum(bx * by / sy2) / r_sum(bx * bx / sy2)]
    par, fmin, fail, count = _nelder_mead(loglik, start, maxit)
    var = _ml_var_b(par[:n], par[n], by, sx2, sy2)
    if not var > 0:
        warnings.warn("maximum likelihood MR: the Hessian is singular or not positive at the "
                      "optimum, so no SE (TwoSampleMR returns NA here too)", RuntimeWarning,
                      stacklevel=3)
        return _na(Q=np.nan, Q_df=np.nan, Q_pval=np.nan, converged=False)
    if fail:
        warnings.warn(
            f"maximum likelihood MR: Nelder-Mead stopped after {count} function evaluations "
            f"without meeting its tolerance ({'limit reached' if fail == 1 else 'simplex stuck'}); "
            "the estimate equals TwoSampleMR's (which stops at the same point) but is not the "
            "exact maximum", RuntimeWarning, stacklevel=3)
    b = float(par[n])
    se = float(np.sqrt(var))
    q = 2 * fmin
    return {"b": b, "se": se, "pval": float(2 * stats.norm.sf(abs(b) / se)), "nsnp": n,
            "Q": q, "Q_df": n - 1, "Q_pval": float(stats.chi2.sf(q, n - 1)),
            "converged": fail == 0, "fncount": count}


# ------------------------------------------------------------------ simple regressions
def _through_origin(x, y):
    """Unweighted ``lm(y ~ -1 + x)``: slope, its SE and the residual SE."""
    sxx = r_sum(x * x)
    b = r_sum(x * y) / sxx
    res = y - b * x
    sigma = math.sqrt(r_sum(res * res) / (x.size - 1))
    return b, sigma / math.sqrt(sxx), sigma


def unweighted_regression(bx, by, sx, sy) -> dict:
    """TwoSampleMR ``mr_uwr`` (see the module docstring)."""
    n = bx.size
    if n < 2:
        return _na(Q=np.nan, Q_df=np.nan, Q_pval=np.nan)
    b, se_lm, sigma = _through_origin(bx, by)
    se = se_lm / min(1.0, sigma)
    q = sigma**2 * (n - 1)
    return {"b": b, "se": se, "pval": float(2 * stats.norm.sf(abs(b / se))), "nsnp": n,
            "Q": q, "Q_df": n - 1, "Q_pval": float(stats.chi2.sf(q, n - 1))}


def ivw_radial(bx, by, sx, sy) -> dict:
    """TwoSampleMR ``mr_ivw_radial`` (RadialMR ``ivw_radial``, modified second-order weights).

    RadialMR also runs a 1000-draw bootstrap for an "exact" random-effects SE that
    TwoSampleMR does not use; with 2-3 SNPs that bootstrap often stops with R's error
    ``'xmin' not less than 'xmax'`` (a resample of one repeated SNP gives a zero-width search
    interval; which resamples occur depends on R's random numbers and on rounding), and
    TwoSampleMR then drops the row.  That crash is not reproduced: the deterministic estimate
    below is always returned.
    """
    n = bx.size
    if n < 2:
        return _na(Q=np.nan, Q_df=np.nan, Q_pval=np.nan)
    ratio = by / bx
    w1 = bx**2 / sy**2
    sw = np.sqrt(w1)
    b1, _, _ = _through_origin(sw, ratio * sw)
    w = ((sy**2 + b1**2 * sx**2) / bx**2) ** -1
    sw = np.sqrt(w)
    b, se, _ = _through_origin(sw, ratio * sw)
    q = r_sum(w * (ratio - b) ** 2)
    return {"b": b, "se": se, "pval": float(2 * stats.norm.sf(abs(b / se))), "nsnp": n,
            "Q": q, "Q_df": n - 1, "Q_pval": float(stats.chi2.sf(q, n - 1))}


def sign_concordance(bx, by, sx=None, sy=None) -> dict:
    """TwoSampleMR ``mr_sign``: SNPs with a zero effect are left out; needs 6 SNPs."""
    ok = (bx != 0) & (by != 0) & ~np.isnan(bx) & ~np.isnan(by)
    n = int(ok.sum())
    if n < 6:
        return _na()
    x = int(np.sum(np.sign(bx[ok]) == np.sign(by[ok])))
    p = stats.binomtest(x, n, 0.5).pvalue
    return {"b": (x / n - 0.5) * 2, "se": np.nan, "pval": float(p), "nsnp": n}


def _wls(X, y, w):
    """Weighted least squares as R ``lm``: coefficients, their SEs and the residual SE."""
    sw = np.sqrt(w)
    q, r = np.linalg.qr(X * sw[:, None])
    coef = np.linalg.solve(r, q.T @ (y * sw))
    res = (y - X @ coef) * sw
    dfr = X.shape[0] - X.shape[1]
    sigma = math.sqrt(r_sum(res * res) / dfr)
    rinv = np.linalg.inv(r)
    se = sigma * np.sqrt(np.sum(rinv**2, axis=1))
    return coef, se, sigma


def _rank_deficient(X, w, tol=1e-7) -> bool:
    """R ``lm``'s test (``qr`` with ``tol = 1e-7``) that a column is (nearly) a combination of
    the earlier ones: its norm after projection falls below ``tol`` times its original norm."""
    Xw = X * np.sqrt(w)[:, None]
    for j in range(1, Xw.shape[1]):
        prev = Xw[:, :j]
        coef, *_ = np.linalg.lstsq(prev, Xw[:, j], rcond=None)
        resid = Xw[:, j] - prev @ coef
        norm = np.linalg.norm(Xw[:, j])
        if norm == 0 or np.linalg.norm(resid) < tol * norm:
            return True
    return False


def egger_collinear(bx, sy) -> bool:
    """Whether TwoSampleMR's MR-Egger ``lm(b_out ~ |b_exp|, weights = 1/se_out^2)`` drops the
    slope as aliased (all ``|bx|`` equal up to lm's QR tolerance): it then warns
    "Collinearities in MR Egger" and returns NA."""
    X = np.column_stack([np.ones(bx.size), np.abs(bx)])
    return _rank_deficient(X, 1.0 / sy**2)


def grip(bx, by, sx, sy) -> dict:
    """TwoSampleMR ``mr_grip`` (see the module docstring): ``b, se, pval, b_i, se_i, pval_i,
    b.adj, se.adj, pval.adj, nsnp``."""
    n = bx.size
    nulls = dict(b_i=np.nan, se_i=np.nan, pval_i=np.nan, **{"b.adj": np.nan, "se.adj": np.nan,
                                                            "pval.adj": np.nan})
    if n < 3:
        return _na(**nulls)
    gx, gy = bx**2, by * bx
    gw = 1.0 / (bx**2 * sy**2)
    X = np.column_stack([np.ones(n), gx])
    if _rank_deficient(X, gw):
        warnings.warn("MR GRIP: the squared exposure effects are collinear with the intercept "
                      "(all |beta.exposure| equal), so the slope is not identified; returning NA "
                      "(TwoSampleMR stops with an error here)", RuntimeWarning, stacklevel=3)
        return _na(**nulls)
    coef, se, _ = _wls(X, gy, gw)
    b_i, b = float(coef[0]), float(coef[1])
    se_i, se_b = float(se[0]), float(se[1])
    # weak-instrument adjustment
    w = 1.0 / sy**2
    sw = r_sum(w)
    d2 = bx**2 - sx**2
    numer = sw * r_sum(w * by * bx * (bx**2 - 3 * sx**2)) - r_sum(w * by * bx) * r_sum(w * d2)
    denom = sw * r_sum(w * (bx**4 - 6 * bx**2 * sx**2 + 3 * sx**4)) - r_sum(w * d2) ** 2
    b_adj = numer / denom
    var_out = float(np.mean((by - (b * gx + b_i) / bx) ** 2)) * bx**2
    numer = (sw**2 * r_sum(w**2 * var_out * (bx**2 - 3 * sx**2) ** 2)
             + r_sum(w**2 * var_out) * r_sum(w * d2) ** 2
             - 2 * sw * r_sum(w * d2) * r_sum(w**2 * d2 * var_out))
    with np.errstate(invalid="ignore"):
        se_adj = float(np.sqrt(numer) / denom)   # NaN when the variance estimate is negative, as in R
    tp = lambda z: float(2 * stats.t.sf(abs(z), n - 2))   # noqa: E731
    return {"b": b, "se": se_b, "pval": tp(b / se_b), "nsnp": n, "b_i": b_i, "se_i": se_i,
            "pval_i": tp(b_i / se_i), "b.adj": b_adj, "se.adj": se_adj,
            "pval.adj": tp(b_adj / se_adj)}


# ------------------------------------------------------------------------------ RAPS
_HUBER_K = 1.345


def _rho1(r, k=_HUBER_K):
    return np.clip(r, -k, k)


def _rho2(r, k=_HUBER_K):
    return (np.abs(r) <= k).astype(np.float64)


def _rho0(r, k=_HUBER_K):
    a = np.abs(r)
    return np.where(a <= k, r * r / 2, k * (a - k / 2))


@functools.lru_cache(maxsize=8)
def _huber_constants(k=_HUBER_K):
    """``delta, c1, c2, c3`` as mr.raps computes them: R ``integrate`` over the real line
    (QUADPACK qagi, relative and absolute tolerance ``eps^0.25``, 100 subintervals)."""
    tol = np.finfo(float).eps ** 0.25

    def phi(x):
        return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)

    def q(f):
        return integrate.quad(f, -np.inf, np.inf, epsabs=tol, epsrel=tol, limit=100)[0]

    delta = q(lambda x: x * _rho1(x, k) * phi(x))
    c1 = q(lambda x: _rho1(x, k) ** 2 * phi(x))
    c2 = q(lambda x: x * x * _rho1(x, k) ** 2 * phi(x)) - delta**2
    c3 = q(lambda x: x * x * _rho2(x, k) * phi(x))
    return delta, c1, c2, c3


class _Raps:
    def __init__(self, bx, by, sx, sy):
        self.bx, self.by, self.sx, self.sy = bx, by, sx, sy
        self.delta, self.c1, self.c2, self.c3 = _huber_constants()

    def gamma(self, b, t2, deriv="0"):
        bx, by, sx, sy = self.bx, self.by, self.sx, self.sy
        den = 1 / sx**2 + b**2 / (sy**2 + t2)
        if deriv == "beta":
            return (by / (sy**2 + t2)) / den
        if deriv == "tau2":
            return -b * by / (sy**2 + t2) ** 2 / den
        g = (bx / sx**2 + b * by / (sy**2 + t2)) / den
        return np.where(sx == 0, bx, g)

    def psi(self, p, over, scale=False):
        """The estimating equations at ``p = (b[, tau2])``; with ``scale=True`` the sums of the
        absolute terms instead (the size a root's residual is compared with)."""
        b, t2 = (p[0], p[1]) if over else (p[0], 0.0)
        v = b**2 * self.sx**2 + self.sy**2 + t2
        t = (self.by - self.bx * b) / np.sqrt(v)
        agg = (lambda z: np.sum(np.abs(z))) if scale else np.sum
        psi1 = agg(self.gamma(b, t2) * _rho1(t) / np.sqrt(v))
        if not over:
            return np.array([psi1])
        return np.array([psi1, agg((t * _rho1(t) - self.delta) / v)])

    def se(self, b, t2, over):
        v = b**2 * self.sx**2 + self.sy**2 + t2
        t = (self.by - self.bx * b) / np.sqrt(v)
        g = self.gamma(b, t2)
        v2_bb = np.sum((self.gamma(b, t2, "beta") * _rho1(t) + g * self.delta * (-self.bx)
                        / np.sqrt(v)) / np.sqrt(v))
        if not over:
            return math.sqrt(self.c1 * np.sum(g**2 / v) / v2_bb**2), 0.0
        V1 = np.diag([self.c1 * np.sum(g**2 / v), self.c2 * np.sum(1 / v**2)])
        V2 = np.array([[v2_bb, np.sum(self.gamma(b, t2, "tau2") * _rho1(t) / np.sqrt(v))],
                       [0.0, (self.delta + self.c3) / 2 * np.sum(1 / v**2)]])
        inv = np.linalg.inv(V2)
        V = inv @ V1 @ inv.T
        return math.sqrt(V[0, 0]), math.sqrt(V[1, 1])

    # starting values / initial estimate (mr.raps.mle); only used to pick among roots
    def _bound_beta(self, mult):
        return float(np.quantile(np.abs(self.by / self.bx), 0.95)) * mult

    def mle(self, loss, over):
        bx, by, sx, sy = self.bx, self.by, self.sx, self.sy
        rho = (lambda r: r * r / 2) if loss == "l2" else _rho0
        if not over:
            bound = self._bound_beta(2)
            for _ in range(30):
                res = optimize.minimize_scalar(
                    lambda b: np.sum(rho((by - bx * b) / np.sqrt(sy**2 + sx**2 * b * b))),
                    bounds=(-bound, bound), method="bounded", options={"xatol": 1e-10})
                if abs(res.x) <= 0.95 * bound:
                    break
                bound *= 2
            return float(res.x), 0.0
        bound_b = self._bound_beta(10)
        bound_t = float(np.quantile(sy**2, 0.95)) * 100
        b, t2 = self.mle("l2", False)[0], 0.0
        for _ in range(40):
            b_old, t_old = b, t2
            if loss == "l2":
                t2 = optimize.minimize_scalar(
                    lambda s: np.sum(sx**2 * np.log(s + sy**2 + sx**2 * b * b))
                    + np.sum(sx**2 * (by - bx * b) ** 2 / (s + sy**2 + sx**2 * b * b)),
                    bounds=(0, bound_t), method="bounded", options={"xatol": 1e-14}).x
            else:
                def est(s):
                    v = s + sy**2 + sx**2 * b * b
                    t = (by - b * bx) / np.sqrt(v)
                    return np.sum(sx**2 * (t * _rho1(t) - self.delta) / v)
                lo, hi = 0.0, bound_t
                if est(lo) * est(hi) > 0:
                    t2 = 0.0 if est(lo) < 0 else hi
                else:
                    t2 = optimize.brentq(est, lo, hi, xtol=1e-15)
            t2 = max(float(t2), 0.0)
            b = float(optimize.minimize_scalar(
                lambda bb: np.sum(rho((by - bx * bb) / np.sqrt(t2 + sy**2 + sx**2 * bb * bb))),
                bounds=(-bound_b, bound_b), method="bounded", options={"xatol": 1e-12}).x)
            if abs(b_old - b) / abs(b + 1e-10) + abs(t_old - t2) / abs(t2 + 1e-10) <= 1e-8:
                break
        return b, t2

    def solve(self, over):
        """Roots of the estimating equations from mr.raps' two starts and fixed perturbations;
        the valid root nearest the huber initial estimate, or None."""
        s1 = self.mle("l2", over)
        s2 = self.mle("huber", over)
        b_init = s2[0]
        # mr.raps: the two estimates plus 8 random perturbations b0 +- |b0| Exp(1) of the first;
        # here 8 fixed ones (Exp(1) quantiles 1/8 .. 7/8-ish, both signs)
        starts = [s1, s2]
        for e in (0.15, 0.5, 1.0, 2.0):
            for sgn in (1, -1):
                starts.append((s1[0] + sgn * abs(s1[0]) * e, s1[1]))
        roots = []
        limit = float(np.median(self.sy)) * 10
        with np.errstate(all="ignore"):
            for st in starts:
                x0 = np.array(st if over else st[:1], dtype=np.float64)
                sol = optimize.root(lambda p: self.psi(p, over), x0, method="hybr",
                                    options={"xtol": 1e-14, "maxfev": 100 * (2 if over else 1)})
                # hybr's own flag is unreliable at machine precision: judge the residual
                if not np.all(np.isfinite(sol.x)):
                    continue
                if np.any(np.abs(self.psi(sol.x, over)) > 1e-10 * self.psi(sol.x, over, True)):
                    continue
                if over and sol.x[1] > limit:
                    continue
                roots.append(sol.x)
        if not roots:
            return None, b_init
        j = int(np.argmin([abs(r[0] - b_init) for r in roots]))
        return roots[j], b_init


def raps(bx, by, sx, sy) -> dict:
    """TwoSampleMR ``mr_raps`` with ``default_parameters()`` (see the module docstring).

    Returns ``b, se, pval, nsnp`` plus ``tau2`` (over-dispersion), ``tau2_se``,
    ``over_dispersion`` (False when the fit fell back to ``tau2 = 0`` as mr.raps does) and
    ``converged``.
    """
    n = bx.size
    if n < 2:
        return _na(tau2=np.nan, tau2_se=np.nan, over_dispersion=True, converged=False)
    m = _Raps(bx, by, sx, sy)
    root, _ = m.solve(True)
    over = True
    if root is None or root[1] < 0:
        over = False
        root, _ = m.solve(False)
    if root is None:
        warnings.warn("RAPS: no root of the estimating equations was found (with or without "
                      "over-dispersion); returning NA", RuntimeWarning, stacklevel=3)
        return _na(tau2=np.nan, tau2_se=np.nan, over_dispersion=over, converged=False)
    b = float(root[0])
    t2 = float(root[1]) if over else 0.0
    se, t2_se = m.se(b, t2, over)
    return {"b": b, "se": se, "pval": float(2 * stats.norm.sf(abs(b / se))), "nsnp": n,
            "tau2": t2, "tau2_se": t2_se, "over_dispersion": over, "converged": True}
