"""Multivariable MR: IVW and MR-Egger with several exposures (MendelianRandomization).

With ``B_x`` (n SNPs x K exposures), ``b_y`` and its SEs ``s_y`` (weights ``w = 1 / s_y^2``):

* ``mr_mvivw`` (MendelianRandomization ``mr_mvivw``; TwoSampleMR ``mv_multiple`` with
  ``pval_threshold = 1``): weighted least squares of ``b_y`` on ``B_x`` without intercept.
  Residual standard error ``RSE = sqrt(Q / (n - K))`` with ``Q = sum(w e^2)``; fixed-effect SEs
  are the WLS SEs divided by ``RSE``; ``model="random"`` (the default here) multiplies them by
  ``max(1, RSE)``; MendelianRandomization's own default is fixed-effect for <= 3 variants.
  ``Q`` on ``n - K`` degrees of freedom is the heterogeneity statistic.  p-values from the
  normal distribution (both R packages' default).
* ``mr_mvegger`` (MendelianRandomization ``mr_mvegger``; Rees et al. 2017, *Stat Med*
  36:4705): SNPs oriented so that the ``orientate``-th exposure's effects are positive, then
  WLS with an intercept; SEs divided by ``min(1, RSE)``, ``RSE = sqrt(Q / (n - K - 1))``;
  normal p-values for estimates and intercept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._checks import InputError, as_matrix, as_vector, listing
from scipy import stats

__all__ = ["mr_mvivw", "mr_mvegger"]


def _inputs(bx, by, sy, exposures):
    fix = "drop those SNPs (or set them mr_keep = False) before multivariable MR"
    names_given = list(bx.columns) if isinstance(bx, pd.DataFrame) else None
    Bx, index, _ = as_matrix(bx, "bx (SNP-exposure effects)", nan_fix=fix)
    by, _ = as_vector(by, "by (SNP-outcome effects)")
    sy, _ = as_vector(sy, "sy (SNP-outcome SEs)")
    n, K = Bx.shape
    if by.size != n or sy.size != n:
        raise InputError(f"bx has {n} SNPs but by / sy have {by.size} / {sy.size}; give one row per SNP")
    if (sy <= 0).any():
        rows = index if index is not None else np.arange(n)
        raise InputError(f"sy (SNP-outcome SEs) must be positive; SNP(s) {listing(rows[sy <= 0], 5)} "
                         f"have se <= 0: {fix}")
    if exposures is None:
        exposures = names_given if names_given is not None else [f"exposure{k + 1}" for k in range(K)]
    if len(exposures) != K:
        raise InputError(f"{len(exposures)} exposure names for {K} exposures")
    return Bx, by, sy, list(exposures)


def _wls(X, by, w):
    XtW = X.T * w
    XtWX = XtW @ X
    coef = np.linalg.solve(XtWX, XtW @ by)
    resid = by - X @ coef
    q = float(np.sum(w * resid**2))
    return coef, q, np.linalg.inv(XtWX)


def _table(names, b, se, nsnp):
    z = b / se
    return pd.DataFrame({"exposure": names, "nsnp": nsnp, "b": b, "se": se,
                         "pval": 2 * stats.norm.sf(np.abs(z))})


def mr_mvivw(bx, by, sy, exposures=None, model: str = "random") -> pd.DataFrame:
    """Multivariable IVW estimates, one row per exposure (see the module docstring).

    Parameters
    ----------
    bx : array-like or DataFrame (n SNPs x K exposures)
    by, sy : array-like (n,)
        SNP-outcome effects and their standard errors.
    exposures : list of str, optional
    model : {"random", "fixed"}

    Returns
    -------
    DataFrame with exposure, nsnp, b, se, pval; ``attrs`` holds ``rse``, ``Q``, ``Q_df``,
    ``Q_pval``.
    """
    if model not in ("random", "fixed"):
        raise InputError(f"model must be 'random' or 'fixed', got {model!r}")
    Bx, by, sy, names = _inputs(bx, by, sy, exposures)
    n, K = Bx.shape
    if n <= K:
        raise InputError(f"multivariable IVW needs more SNPs ({n}) than exposures ({K})")
    w = 1.0 / sy**2
    coef, q, cov = _wls(Bx, by, w)
    rse = np.sqrt(q / (n - K))
    se = np.sqrt(np.diag(cov))          # = lm SE / RSE
    if model == "random":
        se = se * max(1.0, rse)
    out = _table(names, coef, se, n)
    out.attrs.update(rse=float(rse), Q=q, Q_df=n - K, Q_pval=float(stats.chi2.sf(q, n - K)),
                     model=model)
    return out


def mr_mvegger(bx, by, sy, exposures=None, orientate: int = 1) -> pd.DataFrame:
    """Multivariable MR-Egger: one row per exposure plus an ``(intercept)`` row.

    ``orientate`` (1-based) is the exposure whose SNP effects are made positive.
    """
    Bx, by, sy, names = _inputs(bx, by, sy, exposures)
    n, K = Bx.shape
    if not 1 <= orientate <= K:
        raise InputError(f"orientate must be between 1 and {K}, got {orientate}")
    if n <= K + 1:
        raise InputError(f"multivariable MR-Egger needs more than K + 1 = {K + 1} SNPs, got {n}")
    s = np.sign(Bx[:, orientate - 1])
    s[s == 0] = 1.0
    Bx, by = Bx * s[:, None], by * s
    w = 1.0 / sy**2
    X = np.column_stack([np.ones(n), Bx])
    coef, q, cov = _wls(X, by, w)
    rse = np.sqrt(q / (n - K - 1))
    se = np.sqrt(np.diag(cov)) * rse / min(1.0, rse)
    out = _table(names + ["(intercept)"], np.r_[coef[1:], coef[0]], np.r_[se[1:], se[0]], n)
    out.attrs.update(rse=float(rse), Q=q, Q_df=n - K - 1,
                     Q_pval=float(stats.chi2.sf(q, n - K - 1)), orientate=orientate)
    return out
