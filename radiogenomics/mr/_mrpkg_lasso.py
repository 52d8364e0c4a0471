"""The lasso path of R's ``glmnet(x, y, intercept = FALSE)`` (gaussian, ``alpha = 1``), as used by
MendelianRandomization's ``mr_lasso``.

glmnet 4.1-6 (Friedman, Hastie & Tibshirani 2010, J Stat Softw 33:1), default arguments
(``standardize = TRUE``, ``nlambda = 100``, ``lambda.min.ratio = 1e-4`` when ``nobs >= nvars``,
``glmnet.control()``: ``fdev = 1e-5``, ``devmax = 0.999``, ``mnlam = 5``), reproduced from its
documented algorithm:

* observation weights ``1/N``; with ``intercept = FALSE`` glmnet does *not* centre, but still
  scales each column by its (population) standard deviation
  ``xs_j = sqrt(mean(x_j^2) - mean(x_j)^2)`` and ``y`` by ``ys = sqrt(mean(y^2))``.  The problem
  solved is therefore ``min (1/2N) ||y - X b||^2 + lambda sum_j xs_j |b_j|``;
* ``lambda_max = max_j |x_j' y| / (N xs_j)``; the path is ``lambda_max * r^(k-1)``,
  ``r = (1e-4)^(1/99)``, k = 1..100, stopped (inclusive) at the first ``k >= 5`` where the
  deviance ratio ``1 - RSS_k / sum(y^2)`` exceeds 0.999 or grows by less than ``1e-5`` times
  itself.

glmnet stops its coordinate descent when no coefficient moves by more than ``sqrt(1e-7)`` (in
standardised units), so its coefficients are accurate to ~1e-7; here each lasso problem is solved
to machine precision (coordinate descent, then the exact solution of the KKT equations on the
active set, checked against the KKT conditions), i.e. the limit glmnet approaches as
``thresh -> 0``.  Zero patterns (which SNPs are "valid") are the same unless a coefficient sits
within glmnet's tolerance of a knot of the path.
"""

from __future__ import annotations

import numpy as np

__all__ = ["glmnet_lasso_path"]


def _cd(G, c, lam, beta, tol=1e-13, max_sweeps=100000):
    """Coordinate descent for min 1/2 b'Gb - c'b + lam |b|_1 (G = X'X, c = X'y), warm start."""
    p = c.size
    diag = np.diag(G).copy()
    grad = c - G @ beta                      # c - G b
    sweeps = 0
    full = True
    while sweeps < max_sweeps:
        sweeps += 1
        idx = range(p) if full else np.flatnonzero(beta != 0)
        dmax = 0.0
        for j in idx:
            old = beta[j]
            z = grad[j] + diag[j] * old
            new = np.sign(z) * max(abs(z) - lam, 0.0) / diag[j]
            if new != old:
                d = new - old
                grad -= G[:, j] * d
                beta[j] = new
                dmax = max(dmax, diag[j] * d * d)
        if dmax < tol:
            if full:
                return beta, True
            full = True
        else:
            full = False
    return beta, False


def _polish(G, c, lam, beta):
    """Exact lasso solution on the active set of ``beta`` (KKT equations), if it is consistent."""
    act = np.flatnonzero(beta != 0)
    if act.size == 0:
        return beta, bool(np.all(np.abs(c) <= lam * (1 + 1e-12)))
    s = np.sign(beta[act])
    try:
        ba = np.linalg.solve(G[np.ix_(act, act)], c[act] - lam * s)
    except np.linalg.LinAlgError:
        return beta, False
    if not np.all(np.sign(ba) == s):
        return beta, False
    new = np.zeros_like(beta)
    new[act] = ba
    grad = c - G @ new
    ina = np.setdiff1d(np.arange(c.size), act)
    if np.all(np.abs(grad[ina]) <= lam * (1 + 1e-9)):
        return new, True
    return beta, False


def glmnet_lasso_path(X, y, lambdas=None, nlambda=100, lambda_min_ratio=None, fdev=1e-5,
                      devmax=0.999, mnlam=5):
    """Lasso path of ``glmnet(X, y, intercept = FALSE)`` (see the module docstring).

    Returns ``(lambdas, beta, dev_ratio, exact)``: lambdas in glmnet's (decreasing) order and
    original scale, ``beta`` (p x L, original scale, as ``fit$beta``), the deviance ratios, and
    whether each solution satisfied the KKT conditions to rounding error.  ``lambdas`` given:
    those values (glmnet's ``lambda=``; no early stopping).
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    N, p = X.shape
    xs = np.sqrt(np.maximum(np.mean(X**2, axis=0) - np.mean(X, axis=0) ** 2, 0.0))
    ys = float(np.sqrt(np.mean(y**2)))
    Xt = X / (np.sqrt(N) * xs)
    yt = y / (np.sqrt(N) * ys)
    G = Xt.T @ Xt
    c = Xt.T @ yt
    if lambdas is None:
        ratio = lambda_min_ratio if lambda_min_ratio is not None else (0.01 if N < p else 1e-4)
        alf = ratio ** (1.0 / (nlambda - 1))
        lam_t = float(np.max(np.abs(c))) * alf ** np.arange(nlambda)
        stop = True
    else:
        lam_t = np.atleast_1d(np.asarray(lambdas, dtype=np.float64)) / ys
        stop = False
    beta = np.zeros(p)
    out_b, out_dev, out_ok, out_l = [], [], [], []
    prev = 0.0
    for m, lam in enumerate(lam_t):
        beta, ok = _cd(G, c, lam, beta)
        beta, exact = _polish(G, c, lam, beta)
        if not exact:                       # tighten and retry once
            beta, ok = _cd(G, c, lam, beta, tol=1e-24, max_sweeps=5000)
            beta, exact = _polish(G, c, lam, beta)
        res = yt - Xt @ beta
        rsq = 1.0 - float(res @ res)
        out_b.append(beta.copy())
        out_dev.append(rsq)
        out_ok.append(bool(ok and exact))
        out_l.append(lam * ys)
        if stop and m + 1 >= mnlam and (rsq - prev < fdev * rsq or rsq > devmax):
            break
        prev = rsq
    B = np.array(out_b).T * ys / xs[:, None]
    return np.array(out_l), B, np.array(out_dev), np.array(out_ok)
