"""ComBat-seq: batch adjustment of RNA-seq counts that returns counts (sva 3.46 ``ComBat_seq``).

Zhang, Parmigiani & Johnson (2020, *NAR Genomics and Bioinformatics* 2:lqaa078).  Counts
``y_gj`` of gene ``g`` in sample ``j`` of batch ``i`` are negative binomial,

    y_gj ~ NB(mu_gj, phi_gi),   log mu_gj = log N_j + alpha_g + x_j' beta_g + gamma_gi,

``N_j`` the library size (sum over the adjusted genes), ``x_j`` the biological condition
(``group``) and covariates, ``gamma_gi`` the batch effect, ``phi_gi`` a batch-specific
dispersion.  The steps are ``sva::ComBat_seq``'s, with the edgeR 3.40 estimators it calls:

1. Genes zero in every sample of some batch are left unadjusted, in every batch (as sva);
   ``unadjusted_genes_`` lists them.
2. Per batch, the common dispersion maximises the summed Cox-Reid adjusted profile likelihood
   (``estimateGLMCommonDisp``; McCarthy, Chen & Smyth 2012, *NAR* 40:4288)
   ``APL_g(phi) = l_g(mu_hat(phi), phi) - 1/2 log det(X' W X)``, ``W = diag(mu / (1 + phi mu))``,
   over genes with >= 5 reads, by Brent's (1973) search on ``phi^(1/4)`` in ``[0, 4^(1/4)]``
   (R's ``optimize``, tol 1e-5).  Genewise dispersions (``estimateGLMTagwiseDisp``,
   ``prior.df = 0``) maximise each gene's APL through the Forsythe-Malcolm-Moler spline of its
   values at ``phi_common 2^k``, ``k = -6, -4.8, ..., 6``.  ``X`` (intercept, group,
   covariates within the batch) is intercept-only, and the common value every gene's, when the
   batch has no more samples than covariate columns + 1 or ``X`` is rank deficient there.
3. The NB GLM on ``[batch indicators, group, covariates]`` with offsets ``log N_j`` is fitted
   gene by gene by edgeR's Levenberg-damped Fisher scoring (``glmFit``; one-way layouts by
   Newton-Raphson per group); the reported coefficients are those with ``prior.count = 1e-4``
   (edgeR ``predFC``).  ``alpha_g = sum_i (n_i / n) b_gi``; a second fit with offsets
   ``log N_j + alpha_g`` gives ``gamma_hat_gi`` (its batch coefficients) and ``mu_hat``.
4. Optionally (``shrink``) ``gamma`` (with ``shrink_disp`` also ``phi``) become sva's
   Monte-Carlo posterior means: averages of the other genes' estimates weighted by
   ``L_k = prod_j NB(y_gj; mu_kj, phi_ki)``.
5. Cell by cell: counts 0 and 1 are kept; otherwise ``p = F(y - 1; mu_hat, phi_gi)`` and, unless
   ``|p - 1| < 1e-4`` (kept), the adjusted count is ``1 + F^{-1}(p; mu*, phi*)`` with
   ``mu* = exp(log mu_hat - gamma*_gi)``, ``phi*_g`` the mean over batches of ``phi*_gi`` and
   ``F^{-1}`` R's ``qnbinom`` (the smallest ``k`` with ``F(k) >= p (1 - 8 eps)``).

Parity with R (``tests/test_expression_combat_seq.py``: 3 batches x 8 samples x 400 genes; with
and without group, covariates, small / rank-deficient batches, shrinkage): adjusted counts
identical; common and genewise dispersions, ``gamma_hat``, ``alpha``, ``gamma*``, ``phi*``
within 7e-9 relative.  The exception, and the reason any difference exists at all, is rounding:
for a gene whose counts are all zero in one group of a batch (with the group in the batch's
design) edgeR's Levenberg iterations send a coefficient towards -inf and accept steps on
deviance changes below the rounding error, so their path, and the Cox-Reid term, follow the
last bits of ``exp``/``log``, which differ between numpy and R's libm (sums are accumulated in
edgeR's order to keep everything else exact): there ``phi_hat`` agrees to 1.2e-7 relative and
``gamma_hat`` to 3e-9 absolute.  SciPy's ``betainc`` and R's TOMS 708 ``pbeta`` differ by up to
~50 ulps in far lower tails, so a count whose ``p`` lies that close to a quantile boundary of the
new distribution (in practice only where old and new distributions coincide) could move one
count differently.  ``gene_subset_n`` draws genes with ``rng``, not R's stream.

Fit/transform: ``fit`` learns per-gene ``alpha``, coefficients, ``gamma*``, ``phi`` from the
training samples; ``transform`` maps samples of batches seen in fit, each with the library
size of its own counts.  ``fit_transform`` is ``sva::ComBat_seq``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special, stats
from scipy.linalg import lapack

from .._checks import InputError, as_matrix, check_rng, listing

__all__ = ["ComBatSeq"]

_LOW = 1e-10                       # edgeR's low_value
_GRID = np.linspace(-6.0, 6.0, 11)  # edgeR's spline points for genewise dispersions


# ----------------------------------------------------------------- NB GLM (edgeR semantics)
# Sums over samples are accumulated one sample at a time, in sample order, as edgeR's C++ and
# the reference BLAS/LAPACK do: the Cox-Reid term of genes with a near-singular information
# matrix (a group with only zero counts in a batch) is cancellation-dominated, so the order of
# the additions is visible in the dispersion estimates (1e-8 relative otherwise).
def _rowsum(A):
    """Sum over the last axis, accumulated sequentially from 0 (not numpy's pairwise sum)."""
    out = np.zeros(A.shape[:-1])
    for j in range(A.shape[-1]):
        out = out + A[..., j]
    return out


def _xtwx(X, W):
    """``X' diag(W_g) X`` for every gene ``g`` (rows of ``W``), summed sample by sample."""
    out = np.zeros((W.shape[0], X.shape[1], X.shape[1]))
    for j in range(X.shape[0]):
        out += W[:, j, None, None] * np.multiply.outer(X[j], X[j])
    return out


def _linpred(offset, beta, X):
    """``offset + X beta`` per gene, the coefficients added in column order (BLAS dgemv)."""
    out = np.array(offset, dtype=float, copy=True)
    for k in range(X.shape[1]):
        out = out + beta[:, k, None] * X[:, k]
    return out


def _unit_deviance(y, mu, phi):
    """edgeR's unit NB deviance (``compute_unit_nb_deviance``), including its branches.

    Poisson-like for ``phi < 1e-4`` (edgeR's series, whose ``2/3`` is integer division, i.e.
    0: reproduced), gamma-like for ``mu phi > 1e6``, exact NB otherwise; 1e-8 is added to
    ``y`` and ``mu``.  Used only to accept or reject Levenberg steps, as in edgeR.
    """
    y = y + 1e-8
    mu = mu + 1e-8
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r = y - mu
        ly = y * np.log(y / mu)
        pois = 2 * (ly - r - 0.5 * r * r * phi * (1 - phi * y))
        prod = mu * phi
        gam = 2 * ((y - mu) / mu - np.log(y / mu)) * mu / (1 + prod)
        inv = 1 / phi
        nb = 2 * (ly + (y + inv) * np.log((mu + inv) / (y + inv)))
    return np.where(phi < 1e-4, pois, np.where(prod > 1e6, gam, nb))


def _one_group(Y, offset, disp, maxit=50, tol=1e-10):
    """Per-row MLE of ``b`` in ``log mu_j = b + offset_j`` (Newton-Raphson, edgeR mglmOneGroup)."""
    pos = Y > _LOW
    nonzero = pos.any(axis=1)
    with np.errstate(divide="ignore"):
        beta = np.log(_rowsum(np.where(pos, Y / np.exp(offset), 0.0)) / Y.shape[1])
    active = np.flatnonzero(nonzero)
    for _ in range(maxit):
        if not active.size:
            break
        mu = np.exp(beta[active, None] + offset[active])
        den = 1 + mu * disp[active]
        step = _rowsum((Y[active] - mu) / den) / _rowsum(mu / den)
        beta[active] += step
        active = active[~(np.abs(step) < tol)]
    beta[~nonzero] = -np.inf
    return beta


def _oneway(Y, offset, disp, X):
    """One-way layout: one mean per distinct design row (edgeR mglmOneWay)."""
    rows, first, inv = np.unique(X, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    B = np.column_stack([_one_group(Y[:, inv == k], offset[:, inv == k], disp[:, inv == k])
                         for k in range(len(rows))])
    B = np.maximum(B, -1e8)
    mu = np.exp(offset + B[:, inv])
    coef = np.linalg.solve(X[first], B.T).T
    return coef, mu


def _levenberg_start(Y, offset, disp, X):
    """edgeR's "null" start: the fit of a constant, the weighted mean count/library ratio."""
    N = np.exp(offset)
    w = N / (1 + disp * N)
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.log((Y * w / N).sum(axis=1) / w.sum(axis=1))
        return level[:, None] * np.linalg.lstsq(X, np.ones(X.shape[0]), rcond=None)[0]


def _cholesky_solve(A, b):
    """Batched Cholesky solve of ``A x = b`` (``A``: g x p x p); also whether each ``A`` was PD.

    ``A = U'U`` column by column, then ``U' z = b`` and ``U x = z`` by substitution, in the
    operation order of LAPACK's unblocked ``dpotf2``/``dpotrs``.
    """
    g, p, _ = A.shape
    U = np.zeros_like(A)
    ok = np.ones(g, bool)
    for j in range(p):
        s = A[:, j, j] - _rowsum(U[:, :j, j] ** 2)
        ok &= s > 0
        U[:, j, j] = d = np.sqrt(np.where(s > 0, s, 1.0))
        for c in range(j + 1, p):
            U[:, j, c] = (A[:, j, c] - _rowsum(U[:, :j, j] * U[:, :j, c])) * (1.0 / d)
    z = np.array(b, dtype=float, copy=True)
    for i in range(p):
        for k in range(i):
            z[:, i] = z[:, i] - U[:, k, i] * z[:, k]
        z[:, i] = z[:, i] / U[:, i, i]
    for k in reversed(range(p)):
        z[:, k] = z[:, k] / U[:, k, k]
        for i in range(k):
            z[:, i] = z[:, i] - z[:, k] * U[:, i, k]
    return z, ok


def _levenberg(Y, offset, disp, X, beta, maxit=250, tol=1e-6):
    """NB GLM by Levenberg-damped Fisher scoring, gene by gene (edgeR ``glm_levenberg``).

    The damping ``lambda`` starts at ``1e-6`` times the largest Fisher information, is
    multiplied by 10 while ``X'WX + lambda I`` is not positive definite, doubled while a step
    increases the deviance, and divided by 10 after a first-try step; a gene stops when
    ``dl' dbeta < tol``, its deviance is negligible or the damping explodes.
    """
    G, n = Y.shape
    p = X.shape[1]
    beta = beta.astype(float).copy()
    ymax = Y.max(axis=1)
    live = ymax >= _LOW
    beta[~live] = np.nan
    mu = np.zeros((G, n))
    mu[live] = np.exp(_linpred(offset[live], beta[live], X))
    dev = np.zeros(G)
    dev[live] = _rowsum(_unit_deviance(Y[live], mu[live], disp[live]))
    lam = np.zeros(G)
    max_info = np.full(G, -1.0)
    active = np.flatnonzero(live)
    eye = np.eye(p)
    for it in range(1, maxit + 1):
        if not active.size:
            break
        m = mu[active]
        den = 1 + m * disp[active]
        A = _xtwx(X, m / den)
        dl = _rowsum(((Y[active] - m) / den)[:, None, :] * X.T[None])
        diag = np.diagonal(A, axis1=1, axis2=2).max(axis=1)
        max_info[active] = np.maximum(max_info[active], diag)
        if it == 1:
            lam[active] = np.maximum(max_info[active] * 1e-6, 1e-13)
        todo = np.arange(active.size)
        lev = np.zeros(active.size, int)
        low = np.zeros(active.size, bool)
        failed = np.zeros(active.size, bool)
        dbeta = np.zeros((active.size, p))
        while todo.size:
            lev[todo] += 1
            gi = active[todo]
            while True:
                db, ok = _cholesky_solve(A[todo] + lam[gi, None, None] * eye, dl[todo])
                if ok.all():
                    break
                lam[gi[~ok]] = np.where(lam[gi[~ok]] * 10 > 0, lam[gi[~ok]] * 10, 1e-100)
            dbeta[todo] = db
            b_new = beta[gi] + db
            mu_new = np.exp(_linpred(offset[gi], b_new, X))
            dev_new = _rowsum(_unit_deviance(Y[gi], mu_new, disp[gi]))
            lowd = dev_new / ymax[gi] < 1e-13
            acc = (dev_new <= dev[gi]) | lowd
            beta[gi[acc]], mu[gi[acc]], dev[gi[acc]] = b_new[acc], mu_new[acc], dev_new[acc]
            low[todo[lowd]] = True
            rej = gi[~acc]
            lam[rej] = np.where(lam[rej] * 2 > 0, lam[rej] * 2, 1e-100)
            fail = lam[rej] / max_info[rej] > 1e13
            failed[todo[~acc][fail]] = True
            todo = todo[~acc][~fail]
        stop = failed | low | (_rowsum(dl * dbeta) < tol)
        shrink = active[~stop & (lev == 1)]
        lam[shrink] /= 10
        active = active[~stop]
    return beta, mu


def _glm_fit(Y, X, disp, offset, prior_count=0.0):
    """edgeR ``glmFit``: (reported coefficients, unshrunk coefficients, fitted means).

    One-way layouts are fitted per group, others by Levenberg; with ``prior_count > 0`` the
    reported coefficients come from the refit with edgeR's library-size-scaled prior count.
    """
    offset = np.broadcast_to(offset, Y.shape)
    disp = np.broadcast_to(disp, Y.shape)

    def one(Yc, off):
        if len(np.unique(X, axis=0)) == X.shape[1]:
            return _oneway(Yc, off, disp, X)
        return _levenberg(Yc, off, disp, X, _levenberg_start(Yc, off, disp, X))

    coef, mu = one(Y, offset)
    shrunk = coef
    if prior_count > 0:
        lib = np.exp(offset)
        adj = prior_count * lib / lib.mean(axis=1, keepdims=True)
        shrunk = one(Y + adj, np.log(lib + 2 * adj))[0] / np.log(2) * np.log(2)
    return shrunk, coef, mu


# ------------------------------------------------------------- Cox-Reid dispersions (edgeR)
def _half_logdet(X, W):
    """Half the log-determinant of ``X'WX`` as edgeR takes it from LAPACK ``dsytrf`` ('U').

    The sum of the logs of the diagonal of the Bunch-Kaufman factor ``D`` (entries below 1e-10
    count as 1e-10).  The factorisation is done vectorised without interchanges; genes whose
    Bunch-Kaufman test would pivot are refactored by LAPACK itself, so the value is edgeR's.
    """
    A0 = _xtwx(X, W)
    A = A0.copy()
    G, p, _ = A.shape
    D = np.empty((G, p))
    lapack_rows = np.zeros(G, bool)
    alpha = (1 + np.sqrt(17.0)) / 8
    for k in range(p - 1, -1, -1):
        akk = A[:, k, k]
        colmax = np.abs(A[:, :k, k]).max(axis=1) if k else np.zeros(G)
        lapack_rows |= ~(np.abs(akk) >= alpha * colmax)
        D[:, k] = akk
        if k:  # rank-one update A - x x' / a_kk in dsyr's order: a_ij + x_i (-(1 / a_kk) x_j)
            col = A[:, :k, k]
            with np.errstate(divide="ignore", invalid="ignore"):
                temp = np.where(akk != 0, -(1.0 / akk), 0.0)[:, None] * col
            A[:, :k, :k] += col[:, :, None] * temp[:, None, :]
    for g in np.flatnonzero(lapack_rows):
        D[g] = np.diagonal(lapack.dsytrf(A0[g], lower=0)[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where((D < _LOW) | ~np.isfinite(D), np.log(_LOW), np.log(np.abs(D)))
    return _rowsum(logs) * 0.5


def _apl(Y, offset, disp, X):
    """Cox-Reid adjusted profile log-likelihood per gene (edgeR ``adjustedProfileLik``)."""
    disp = np.broadcast_to(np.asarray(disp, float).reshape(-1, 1), Y.shape)
    mu = _glm_fit(Y, X, disp, offset)[2]
    nz = mu != 0
    with np.errstate(divide="ignore", invalid="ignore"):
        r = 1 / disp
        lmr = np.log(mu + r)
        ll = (Y * np.log(mu) - Y * lmr + r * np.log(r) - r * lmr + special.gammaln(Y + r)
              - special.gammaln(Y + 1) - special.gammaln(r))
    ll = _rowsum(np.where(nz, ll, 0.0))
    W = np.where(nz, mu / (1 + disp * mu), 0.0)
    if X.shape[1] == 1:
        return ll - np.log(np.abs(_rowsum(W))) / 2
    return ll - _half_logdet(X, W)


def _brent_max(f, lo, hi, tol):
    """Maximise ``f`` on ``[lo, hi]``: Brent's (1973) localmin of ``-f`` as R's ``optimize``."""
    c, eps = (3 - np.sqrt(5.0)) / 2, np.sqrt(np.finfo(float).eps)
    a, b = lo, hi
    x = w = v = a + c * (b - a)
    fx = fw = fv = -f(x)
    d = e = 0.0
    while True:
        xm, tol1 = (a + b) / 2, eps * abs(x) + tol / 3
        t2 = 2 * tol1
        if abs(x - xm) <= t2 - (b - a) / 2:
            return x
        p = q = r = 0.0
        if abs(e) > tol1:  # trial parabola through (v, w, x)
            r, q = (x - w) * (fx - fv), (x - v) * (fx - fw)
            p, q = (x - v) * q - (x - w) * r, 2 * (q - r)
            p, q = (-p, q) if q > 0 else (p, -q)
            r, e = e, d
        if abs(p) >= abs(q * 0.5 * r) or p <= q * (a - x) or p >= q * (b - x):
            e = (b - x) if x < xm else (a - x)  # golden-section step
            d = c * e
        else:
            d = p / q
            u = x + d
            if u - a < t2 or b - u < t2:
                d = tol1 if x < xm else -tol1
        u = x + d if abs(d) >= tol1 else (x + tol1 if d > 0 else x - tol1)
        fu = -f(u)
        if fu <= fx:
            a, b = (a, x) if u < x else (x, b)
            v, fv, w, fw, x, fx = w, fw, x, fx, u, fu
        else:
            a, b = (u, b) if u < x else (a, u)
            if fu <= fw or w == x:
                v, fv, w, fw = w, fw, u, fu
            elif fu <= fv or v == x or v == w:
                v, fv = u, fu


def _common_dispersion(Y, X):
    """edgeR ``estimateGLMCommonDisp`` (Cox-Reid) of a genes x samples count block, or None.

    None when no gene has 5 or more reads (edgeR stops: no data rows with required counts).
    """
    offset = np.log(Y.sum(axis=0))
    rows = Y.sum(axis=1) >= 5
    if not rows.any():
        return None
    Yr = Y[rows]
    off = np.broadcast_to(offset, Yr.shape)
    par = _brent_max(lambda t: math.fsum(_apl(Yr, off, np.full(len(Yr), t ** 4), X)),
                     0.0, 4 ** 0.25, 1e-5)
    return par ** 4


def _fmm_spline(x, Y):
    """Cubic spline coefficients ``b, c, d`` per row of ``Y`` with Forsythe-Malcolm-Moler ends.

    Interior equations ``h_{i-1} s_{i-1} + 2 (h_{i-1} + h_i) s_i + h_i s_{i+1} = D_i - D_{i-1}``
    (``D`` first divided differences); at each end the spline's third derivative equals that of
    the cubic through the four end points.  Then on ``[x_i, x_{i+1}]`` the spline is
    ``y_i + b_i t + c_i t^2 + d_i t^3``.
    """
    n = len(x)
    h = np.diff(x)
    D = np.diff(Y, axis=1) / h
    M = np.zeros((n, n))
    rhs = np.zeros_like(Y)
    for i in range(1, n - 1):
        M[i, i - 1:i + 2] = h[i - 1], 2 * (h[i - 1] + h[i]), h[i]
        rhs[:, i] = D[:, i] - D[:, i - 1]
    M[0, :2] = -h[0], h[0]
    M[-1, -2:] = h[-1], -h[-1]
    if n > 3:
        dd = np.diff(D, axis=1)
        rhs[:, 0] = (dd[:, 1] / (x[3] - x[1]) - dd[:, 0] / (x[2] - x[0])) \
            * h[0] ** 2 / (x[3] - x[0])
        rhs[:, -1] = -(dd[:, -1] / (x[-1] - x[-3]) - dd[:, -2] / (x[-2] - x[-4])) \
            * h[-1] ** 2 / (x[-1] - x[-4])
    s = np.linalg.solve(M, rhs.T).T
    b = D - h * (s[:, 1:] + 2 * s[:, :-1])
    return b, 3 * s[:, :-1], np.diff(s, axis=1) / h


def _maximize_interpolant(x, Y):
    """Per row, the maximiser of the FMM spline through ``(x, Y[g])`` (edgeR's method).

    Start at the largest grid value and accept the stationary point of the cubic in the left,
    then the right neighbouring segment when it lies inside the segment and is higher.
    """
    G, n = Y.shape
    b, c, d = _fmm_spline(x, Y)
    at = np.argmax(Y, axis=1)
    rows = np.arange(G)
    best = Y[rows, at].copy()
    xmax = x[at].astype(float)
    for side in (-1, 0):
        seg = at + side
        ok = (seg >= 0) & (seg < n - 1)
        s = np.where(ok, seg, 0)
        A, B, C = 3 * d[rows, s], 2 * c[rows, s], b[rows, s]
        with np.errstate(divide="ignore", invalid="ignore"):
            disc = B * B - 4 * A * C
            t = -B / (2 * A) - np.sqrt(disc) / (2 * A)
            val = ((d[rows, s] * t + c[rows, s]) * t + b[rows, s]) * t + Y[rows, s]
        take = ok & (disc >= 0) & (t > 0) & (t < x[s + 1] - x[s]) & (val > best)
        best = np.where(take, val, best)
        xmax = np.where(take, t + x[s], xmax)
    return xmax


def _genewise_dispersion(Y, X, common):
    """edgeR ``estimateGLMTagwiseDisp(prior.df = 0)``: each gene's APL maximiser on the grid.

    Genes with fewer than 5 reads keep the common dispersion (edgeR's ``min.row.sum``).
    """
    out = np.full(Y.shape[0], common)
    rows = Y.sum(axis=1) >= 5
    if rows.any():
        Yr = Y[rows]
        off = np.broadcast_to(np.log(Y.sum(axis=0)), Yr.shape)
        apl = np.column_stack([_apl(Yr, off, np.full(len(Yr), common * 2 ** k), X) for k in _GRID])
        out[rows] = common * 2 ** _maximize_interpolant(_GRID, apl)
    return out


# ------------------------------------------------------------------ quantile mapping, shrinkage
def _pnbinom(q, mu, size):
    """R's ``pnbinom(q, mu = mu, size = size)`` as the regularised incomplete beta."""
    return special.betainc(size, np.floor(q + 1e-7) + 1, size / (size + mu))


def _qnbinom(p, mu, size):
    """R's ``qnbinom(p, mu, size)``: the smallest ``k >= 0`` with ``F(k) >= p (1 - 8 eps)``."""
    prob = size / (size + mu)
    target = p * (1 - 8 * np.finfo(float).eps)
    k = np.nan_to_num(np.floor(stats.nbinom.ppf(target, size, prob)), nan=0.0, posinf=0.0)
    k = np.maximum(k, 0)
    up = np.flatnonzero(special.betainc(size, k + 1, prob) < target)
    while up.size:
        k[up] += 1
        up = up[special.betainc(size[up], k[up] + 1, prob[up]) < target[up]]
    down = np.flatnonzero(k > 0)
    while down.size:
        down = down[special.betainc(size[down], k[down], prob[down]) >= target[down]]
        k[down] -= 1
        down = down[k[down] > 0]
    return k


def _match_quantiles(Y, old_mu, old_phi, new_mu, new_phi):
    """sva's ``match_quantiles`` over all cells (vectorised)."""
    out = Y.astype(float).copy()
    cells = Y > 1
    p = _pnbinom(Y[cells] - 1, old_mu[cells], 1 / old_phi[cells])
    move = ~(np.abs(p - 1) < 1e-4)
    idx = tuple(ix[move] for ix in np.nonzero(cells))
    out[idx] = 1 + _qnbinom(p[move], new_mu[idx], 1 / new_phi[idx])
    return out


def _mc_posterior(Y, mu, gamma, phi, subset_n, rng, block_elems=4_000_000):
    """sva's ``monte_carlo_int_NB``: posterior ``gamma*``, ``phi*`` of one batch (genes x samples).

    ``gamma*_g = sum_k L_gk gamma_k / sum_k L_gk`` (and so ``phi*``) over the other genes ``k``
    (a random ``subset_n`` of them when given), ``L_gk = exp(sum_j log NB(y_gj; mu_kj, phi_k))``.
    sva's product of densities underflows the same way: a gene whose weights are all 0 (or
    NaN) keeps its own estimates.  O(genes^2 x samples) without a subset.
    """
    G, n = Y.shape
    size = 1 / phi
    logq = np.log(mu / (size[:, None] + mu))
    base = _rowsum(size[:, None] * np.log(size[:, None] / (size[:, None] + mu))) \
        - n * special.gammaln(size)
    lgy = _rowsum(special.gammaln(Y + 1))

    def weights(rows, cols):
        y = Y[rows]
        L = (_rowsum(special.gammaln(y[:, None, :] + size[None, cols, None])) + base[cols]
             - lgy[rows, None] + y @ logq[cols].T)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.nan_to_num(np.exp(L), nan=0.0)

    num = np.zeros((G, 2))
    tot = np.zeros(G)
    if subset_n is None:
        step = max(1, block_elems // max(1, G * n))
        for s0 in range(0, G, step):
            rows = np.arange(s0, min(G, s0 + step))
            LH = weights(rows, np.arange(G))
            LH[np.arange(len(rows)), rows] = 0.0  # the gene itself is left out
            num[rows], tot[rows] = LH @ np.column_stack([gamma, phi]), LH.sum(axis=1)
    else:
        for g in range(G):
            others = np.delete(np.arange(G), g)[rng.choice(G - 1, subset_n, replace=False)]
            LH = weights([g], others)[0]
            num[g], tot[g] = LH @ np.column_stack([gamma[others], phi[others]]), LH.sum()
    ok = (tot > 0) & np.isfinite(tot)
    with np.errstate(divide="ignore", invalid="ignore"):
        post = num / tot[:, None]
    return np.where(ok, post[:, 0], gamma), np.where(ok, post[:, 1], phi)


# ------------------------------------------------------------------------- input handling
def _counts(X):
    """Validated counts: (float array samples x genes, sample IDs or None, gene names)."""
    arr, index, names = as_matrix(X, "X", nan_fix="ComBat-seq needs complete counts: drop those "
                                  "samples or genes (a missing count cannot be imputed here)")
    bad = (arr < 0) | (arr != np.round(arr))
    if bad.any():
        raise InputError(
            f"X must hold raw counts (non-negative whole numbers); {int(bad.sum())} value(s) are "
            f"negative or fractional in sample(s) {listing(_ids(index, len(arr))[bad.any(1)])} "
            f"and gene(s) {listing(np.asarray(names)[bad.any(0)])}; pass the raw read counts "
            "(not normalised, log or TPM values), or round expected counts (e.g. RSEM) first")
    return arr, index, np.asarray(names)


def _ids(index, n):
    return np.asarray(index if index is not None else np.arange(n), dtype=object)


def _per_sample(obj, index, n, what):
    """``obj`` (labels or a frame) with one complete row per sample, aligned by sample ID."""
    if isinstance(obj, (pd.Series, pd.DataFrame)) and index is not None:
        missing = index.difference(obj.index)
        if len(missing):
            raise InputError(f"{len(missing)} sample(s) of X have no {what}: {listing(missing)}; "
                             f"give a {what} for every sample, indexed by the sample IDs of X")
        obj = obj.loc[index]
    frame = obj.to_frame() if isinstance(obj, pd.Series) else obj
    if not isinstance(frame, pd.DataFrame):
        arr = np.asarray(obj, dtype=object)
        frame = pd.DataFrame(arr.reshape(len(arr), -1)).infer_objects()
        k = frame.shape[1]
        frame.columns = [what] if k == 1 else [f"{what}{j}" for j in range(k)]
    if len(frame) != n:
        raise InputError(f"{what} has {len(frame)} entries but X has {n} samples; pass one per "
                         "sample")
    missing = frame.isna().any(axis=1).to_numpy()
    if missing.any():
        raise InputError(f"{what} is missing for sample(s) {listing(_ids(index, n)[missing])}; "
                         f"give every sample a {what} or drop those samples")
    return frame


def _levels(col: pd.Series) -> list:
    """Factor levels as R's ``factor``: a categorical's (used) categories, else sorted values."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return [c for c in col.cat.categories if (col == c).any()]
    return sorted(pd.unique(col), key=lambda v: (str(type(v)), v))


def _model_columns(frame, spec):
    """R's ``model.matrix`` columns without intercept: numeric columns (levels None) as they
    are, the others one indicator per level but the first."""
    cols, names = [], []
    for c, levels in spec:
        if c not in frame.columns:
            raise InputError(f"column {c!r} used in fit is missing; pass the same covariates/group")
        col = frame[c]
        if levels is None:
            cols.append(col.to_numpy(dtype=float))
            names.append(str(c))
            continue
        unseen = sorted(set(map(str, col)) - set(map(str, levels)))
        if unseen:
            raise InputError(f"{c!r} has level(s) {unseen} not seen in fit (levels "
                             f"{[str(v) for v in levels]}); refit including them")
        cols += [(col.astype(str) == str(lev)).to_numpy(dtype=float) for lev in levels[1:]]
        names += [f"{c}[{lev}]" for lev in levels[1:]]
    return cols, names


class ComBatSeq:
    """ComBat-seq batch adjustment of RNA-seq counts (sva ``ComBat_seq``), sklearn style.

    The model, the steps and the ways results can differ from sva's (rounding only) are in the
    module docstring.

    Parameters
    ----------
    full_mod : bool
        Include ``group`` (the biological condition) in the model, sva ``full_mod``.
    shrink, shrink_disp : bool
        Empirical-Bayes (Monte-Carlo) shrinkage of the batch means, and also of the
        dispersions, sva ``shrink`` / ``shrink.disp``.  Costs O(genes^2 x samples).
    gene_subset_n : int or None
        Number of random genes for the Monte-Carlo integration (sva ``gene.subset.n``).
    rng : int, Generator or None
        Random stream for ``gene_subset_n`` (SPEC 7).

    Attributes
    ----------
    batches_ : pandas.Index
        Batch labels, sorted (R factor level order).
    design_columns_ : list of str
        Columns of the GLM design: batch indicators, group dummies, covariates.
    batch_info_ : pandas.DataFrame
        Per batch ``n_samples``, ``dispersion_common`` and ``genewise`` (False when the batch
        has no more samples than covariate columns + 1, or its design is rank deficient: then
        the common dispersion is every gene's, as in sva).
    unadjusted_genes_ : pandas.DataFrame
        ``gene``, ``batch``, ``reason``: genes zero in every sample of a batch, returned
        unchanged in every batch (as sva).
    gamma_hat_, gamma_star_, phi_hat_, phi_star_ : pandas.DataFrame
        Batch x gene batch effects (log scale) and NB dispersions before/after shrinkage (equal
        without ``shrink``); NaN for unadjusted genes.
    phi_pooled_ : pandas.Series
        Per gene mean over batches of ``phi_star`` (the dispersion of the batch-free counts).
    alpha_ : pandas.Series
        Per gene sample-size-weighted mean batch coefficient ``alpha_g``.
    coef_ : pandas.DataFrame
        Design column x gene coefficients of the second GLM (offset ``log N + alpha``), which
        give the fitted means ``mu_hat`` of any sample.
    """

    def __init__(self, full_mod: bool = True, shrink: bool = False, shrink_disp: bool = False,
                 gene_subset_n: int | None = None, rng=None):
        self.full_mod = full_mod
        self.shrink = shrink
        self.shrink_disp = shrink_disp
        self.gene_subset_n = gene_subset_n
        self.rng = rng

    def _design(self, n, index, codes, group, covariates, fit):
        """sva's design ``[batch indicators, group dummies, covariates]`` and its column names."""
        gf = None if group is None else _per_sample(group, index, n, "group")
        cf = None if covariates is None else _per_sample(covariates, index, n, "covariates")
        if fit:
            lev = None if gf is None else _levels(gf.iloc[:, 0])
            self._group_spec = [(gf.columns[0], lev)] if self.full_mod and gf is not None \
                and len(lev) > 1 else []
            self._cov_spec = None if cf is None else [
                (c, None if pd.api.types.is_numeric_dtype(cf[c])
                 and not pd.api.types.is_bool_dtype(cf[c]) else _levels(cf[c])) for c in cf]
        for frame, spec, what in ((gf, self._group_spec, "group"),
                                  (cf, self._cov_spec, "covariates")):
            if frame is None and spec:
                raise InputError(f"ComBatSeq was fitted with {what}; pass the same {what}= here")
        if not fit and cf is not None and self._cov_spec is None:
            raise InputError("ComBatSeq was fitted without covariates; pass none here")
        cols = list(np.eye(len(self.batches_))[codes].T)
        names = [f"batch[{b}]" for b in self.batches_]
        for frame, spec in ((gf, self._group_spec), (cf, self._cov_spec or [])):
            if spec:
                c, nm = _model_columns(frame, spec)
                cols, names = cols + c, names + nm
        if fit:  # sva drops all-ones columns (the intercepts)
            self._cols = [j for j, c in enumerate(cols) if not np.all(c == 1)]
        return np.column_stack([cols[j] for j in self._cols]), [names[j] for j in self._cols]

    def _check_rank(self, design):
        """sva's confounding check (a rank-deficient design), with the fix."""
        if np.linalg.matrix_rank(design) < design.shape[1]:
            raise InputError(
                f"the design {self.design_columns_} is rank deficient: a covariate or the group is "
                "confounded with batch or with another covariate, so batch and biological effects "
                "cannot be separated; remove the confounded covariate(s), or adjust within strata")

    def fit(self, X, batch, covariates=None, group=None):
        """Estimate dispersions, batch effects and GLM coefficients from training counts.

        Parameters
        ----------
        X : DataFrame or array, samples x genes, raw counts
        batch : array-like or Series (aligned by sample ID when X is a DataFrame)
        covariates : DataFrame, Series, array or None
            sva's ``covar_mod``: numeric columns enter as they are, others are dummy coded.
        group : array-like or Series or None
            Biological condition to preserve (sva ``group``).

        Returns
        -------
        self
        """
        Y, index, genes = _counts(X)
        n, p = Y.shape
        self.feature_names_in_, self.n_features_in_ = genes, p
        b = _per_sample(batch, index, n, "batch").iloc[:, 0]
        self.batches_ = pd.Index(_levels(b))
        nb = len(self.batches_)
        if nb < 2:
            raise InputError(f"ComBat-seq needs at least two batches; all samples are in batch "
                             f"{self.batches_[0]!r}, so there is nothing to adjust")
        codes = self.batches_.get_indexer(b)
        n_b = np.bincount(codes, minlength=nb)
        if (n_b < 2).any():
            raise InputError(
                f"batch(es) {listing(self.batches_[n_b < 2])} have a single sample: ComBat-seq "
                "cannot estimate a batch's dispersion from one sample (sva stops too); merge "
                "it with a similar batch or drop it")
        design, self.design_columns_ = self._design(n, index, codes, group, covariates, True)
        self._check_rank(design)
        zero = np.array([(Y[codes == i] == 0).all(axis=0) for i in range(nb)])  # nb x p
        gi, bi = np.nonzero(zero.T)
        self.unadjusted_genes_ = pd.DataFrame({
            "gene": genes[gi], "batch": self.batches_[bi],
            "reason": [f"zero in every sample of batch {self.batches_[i]!r}: left unadjusted in "
                       "every batch (as sva::ComBat_seq)" for i in bi]})
        self._keep = keep = ~zero.any(axis=0)
        if not keep.any():
            raise InputError("every gene is zero in every sample of some batch, so no gene can be "
                             "adjusted; check that X holds counts of the same genes in all batches")
        Yk = Y[:, keep].T  # genes x samples (R orientation)
        lib = self._libsizes(Yk.T, index)
        phi = self._dispersions(Yk, codes, n_b, design)
        shrunk1 = _glm_fit(Yk, design, phi[:, codes], np.log(lib), 1e-4)[0]
        alpha = shrunk1[:, :nb] @ (n_b / n)
        off2 = np.log(lib)[None, :] + alpha[:, None]
        gamma_hat, coef, mu_hat = _glm_fit(Yk, design, phi[:, codes], off2, 1e-4)
        gamma_hat = gamma_hat[:, :nb]
        gamma_star, phi_star = gamma_hat.copy(), phi.copy()
        if self.shrink:
            rng, m = check_rng(self.rng), self._subset_n(Yk.shape[0])
            for i in range(nb):
                s = codes == i
                gamma_star[:, i], ps = _mc_posterior(Yk[:, s], mu_hat[:, s], gamma_hat[:, i],
                                                     phi[:, i], m, rng)
                if self.shrink_disp:
                    phi_star[:, i] = ps
        self._store(genes, keep, gamma_hat, gamma_star, phi, phi_star, alpha, coef)
        return self

    @staticmethod
    def _libsizes(Yk, index):
        lib = Yk.sum(axis=1)
        if (lib == 0).any():
            raise InputError(f"sample(s) {listing(_ids(index, len(lib))[lib == 0])} have no reads "
                             "in the adjustable genes (library size 0); drop them")
        return lib

    def _subset_n(self, n_genes):
        m = self.gene_subset_n
        if m is not None and (int(m) != m or not 1 <= m <= n_genes - 1):
            raise InputError(f"gene_subset_n={m!r} must be a whole number between 1 and the number "
                             f"of adjustable genes - 1 ({n_genes - 1}); lower it or use None (all)")
        return None if m is None else int(m)

    def _dispersions(self, Yk, codes, n_b, design):
        """Per-batch common and genewise Cox-Reid dispersions (genes x batches), as sva."""
        nb = len(self.batches_)
        mod = np.hstack([np.ones((design.shape[0], 1)), design[:, nb:]])
        phi = np.empty((Yk.shape[0], nb))
        common, genewise = [], []
        for i in range(nb):
            s = codes == i
            full = not (n_b[i] <= design.shape[1] - nb + 1
                        or np.linalg.matrix_rank(mod[s]) < mod.shape[1])
            c = _common_dispersion(Yk[:, s], mod[s] if full else np.ones((s.sum(), 1)))
            if c is None:
                raise InputError(f"batch {self.batches_[i]!r} has no gene with 5 or more reads, so "
                                 "its dispersion cannot be estimated (edgeR stops too); check its "
                                 "counts or drop the batch")
            phi[:, i] = _genewise_dispersion(Yk[:, s], mod[s], c) if full else c
            common.append(c)
            genewise.append(full)
        self.batch_info_ = pd.DataFrame({"n_samples": n_b, "dispersion_common": common,
                                         "genewise": genewise}, index=self.batches_)
        return phi

    def _store(self, genes, keep, gamma_hat, gamma_star, phi, phi_star, alpha, coef):
        def full(a, index=None):
            out = np.full((a.shape[1], len(genes)), np.nan)
            out[:, keep] = a.T
            return pd.DataFrame(out, index=self.batches_ if index is None else index, columns=genes)

        self.gamma_hat_, self.gamma_star_ = full(gamma_hat), full(gamma_star)
        self.phi_hat_, self.phi_star_ = full(phi), full(phi_star)
        self.phi_pooled_ = full(phi_star.mean(axis=1, keepdims=True), ["phi_pooled"]).iloc[0]
        self.alpha_ = full(alpha[:, None], ["alpha"]).iloc[0]
        self.coef_ = full(coef, self.design_columns_)

    def transform(self, X, batch, covariates=None, group=None):
        """Adjusted counts of samples from batches seen in fit (same labels as ``X``).

        Each sample's library size is the sum of its own counts over the adjusted genes, its
        fitted mean ``mu_hat = exp(log N + alpha + x' coef)``; counts are then mapped through
        the NB quantiles (module docstring, step 5).  Unadjusted genes are returned unchanged.

        Parameters
        ----------
        X, batch, covariates, group
            As in ``fit``; every batch must have been seen in fit, and the group levels and
            covariate columns must be those of fit.

        Returns
        -------
        DataFrame (if ``X`` is one, same index and columns) or array of int64 adjusted counts.
        """
        if not hasattr(self, "coef_"):
            raise InputError("this ComBatSeq is not fitted yet; call fit first")
        Y, index, genes = _counts(X)
        n = Y.shape[0]
        if Y.shape[1] != self.n_features_in_ or (
                isinstance(X, pd.DataFrame) and not np.array_equal(genes, self.feature_names_in_)):
            raise InputError(f"X has {Y.shape[1]} genes / gene names different from the "
                             f"{self.n_features_in_} seen in fit; pass the same genes in the same "
                             "order")
        b = _per_sample(batch, index, n, "batch").iloc[:, 0]
        codes = self.batches_.get_indexer(b)
        if (codes < 0).any():
            unseen = sorted(set(map(str, b[codes < 0])))
            raise InputError(f"batch(es) {unseen} were not seen in fit "
                             f"(fitted batches: {[str(v) for v in self.batches_]}); ComBat-seq "
                             "adjusts only batches it was fitted on: refit including them")
        design, _ = self._design(n, index, codes, group, covariates, False)
        k = self._keep
        off = np.log(self._libsizes(Y[:, k], index))[None, :] + self.alpha_.to_numpy()[k][:, None]
        mu_hat = np.exp(_linpred(off, self.coef_.to_numpy()[:, k].T, design)).T
        mu_star = np.exp(np.log(mu_hat) - self.gamma_star_.to_numpy()[:, k][codes])
        old_phi = self.phi_hat_.to_numpy()[:, k][codes]
        new_phi = np.broadcast_to(self.phi_pooled_.to_numpy()[k], mu_hat.shape)
        out = Y.copy()
        out[:, k] = _match_quantiles(Y[:, k], mu_hat, old_phi, mu_star, new_phi)
        out = out.astype(np.int64)
        return pd.DataFrame(out, index=X.index, columns=X.columns) if isinstance(X, pd.DataFrame) \
            else out

    def fit_transform(self, X, batch, covariates=None, group=None):
        """``fit(...).transform(...)`` on the same samples: ``sva::ComBat_seq``'s output."""
        return self.fit(X, batch, covariates, group).transform(X, batch, covariates, group)
