"""Multivariable MR: IVW and MR-Egger with several exposures (MendelianRandomization), and
TwoSampleMR's ``mv_multiple`` / ``mv_ivw`` / ``mv_basic``.

With ``B_x`` (n SNPs x K exposures), ``b_y`` and its SEs ``s_y`` (weights ``w = 1 / s_y^2``):

* ``mr_mvivw`` (MendelianRandomization ``mr_mvivw``): weighted least squares of ``b_y`` on
  ``B_x`` without intercept.  Residual standard error ``RSE = sqrt(Q / (n - K))`` with
  ``Q = sum(w e^2)``; fixed-effect SEs are the WLS SEs divided by ``RSE``; ``model="random"``
  (the default here) multiplies them by ``max(1, RSE)``; MendelianRandomization's own default
  is fixed-effect for <= 3 variants.  ``Q`` on ``n - K`` degrees of freedom is the
  heterogeneity statistic.  p-values from the normal distribution (both R packages' default).
* ``mr_mvegger`` (MendelianRandomization ``mr_mvegger``; Rees et al. 2017, *Stat Med*
  36:4705): SNPs oriented so that the ``orientate``-th exposure's effects are positive, then
  WLS with an intercept; SEs divided by ``min(1, RSE)``, ``RSE = sqrt(Q / (n - K - 1))``;
  normal p-values for estimates and intercept.
* ``mv_multiple`` (TwoSampleMR 0.7.9): the same WLS, but the SE is ``summary(lm)``'s,
  ``fixed-effect SE x RSE`` -- NOT floored at the fixed-effect SE.  Hence
  ``mr_mvivw(model="random")`` equals ``mv_multiple`` exactly when ``RSE >= 1`` (true for the
  lipids -> CHD reference, RSE = 1.43), and ``mv_multiple``'s SEs are smaller when
  ``RSE < 1`` (under-dispersion); ``mr_mvivw(model="fixed")`` equals it only at ``RSE = 1``.
  ``nsnp`` counts the SNPs with exposure p < ``pval_threshold``; only with
  ``instrument_specific=True`` are the other SNPs left out of exposure k's fit (NA when at most
  ``K + intercept`` remain).  Normal p-values.
* ``mv_ivw`` (TwoSampleMR): for exposure k, the no-intercept WLS of ``b_y`` on ALL exposures
  over the SNPs with p < ``pval_threshold`` for exposure k; coefficient k, lm SE, normal p.
* ``mv_basic`` (TwoSampleMR): residual method, unweighted: the outcome effects' residuals
  from ``lm(b_y ~ B_x[, -k])`` (with intercept, all SNPs) regressed, with intercept, on
  ``B_x[, k]`` over the SNPs with p < ``pval_threshold`` for exposure k; lm SE, normal p.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scipy import stats

from .._checks import InputError, as_matrix, as_vector, listing
from ._core import weighted_lm

__all__ = ["mr_mvivw", "mr_mvegger", "mv_multiple", "mv_ivw", "mv_basic"]


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
    coef, cov, q = weighted_lm(Bx, by, w)
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
    coef, cov, q = weighted_lm(X, by, w)
    rse = np.sqrt(q / (n - K - 1))
    se = np.sqrt(np.diag(cov)) * rse / min(1.0, rse)
    out = _table(names + ["(intercept)"], np.r_[coef[1:], coef[0]], np.r_[se[1:], se[0]], n)
    out.attrs.update(rse=float(rse), Q=q, Q_df=n - K - 1,
                     Q_pval=float(stats.chi2.sf(q, n - K - 1)), orientate=orientate)
    return out


def _selection(Bx, pval_exposure, se_exposure, pval_threshold, what):
    """Per exposure, the SNPs with p < ``pval_threshold`` (TwoSampleMR's ``index``)."""
    n, K = Bx.shape
    if pval_exposure is not None:
        P, _, _ = as_matrix(pval_exposure, "pval_exposure")
    elif se_exposure is not None:
        S, _, _ = as_matrix(se_exposure, "se_exposure")
        if S.shape == Bx.shape and (S <= 0).any():
            raise InputError("se_exposure must be positive; drop SNPs with se <= 0")
        P = 2 * stats.norm.sf(np.abs(Bx / S)) if S.shape == Bx.shape else S
    elif pval_threshold >= 1:
        P = np.zeros_like(Bx)
    else:
        raise InputError(f"{what} selects SNPs with exposure p < pval_threshold "
                         f"({pval_threshold:g}): give pval_exposure (n x K) or se_exposure (the "
                         "p-values are then 2 * Phi(-|bx / se|)), or pval_threshold = 1")
    if P.shape != Bx.shape:
        raise InputError(f"pval_exposure / se_exposure has shape {P.shape} but bx {Bx.shape}; "
                         "give one column per exposure, one row per SNP")
    return P < pval_threshold


def _lm(X, y, w=None):
    """``summary(lm(y ~ 0 + X, weights = w))``: coefficients and SEs (NaN when df < 1)."""
    n, p = X.shape
    w = np.ones(n) if w is None else w
    if n <= p:
        return np.full(p, np.nan), np.full(p, np.nan)
    coef, cov, q = weighted_lm(X, y, w)
    return coef, np.sqrt(np.diag(cov) * q / (n - p))


def _tsmr_table(names, b, se, nsnp):
    out = _table(names, np.asarray(b, float), np.asarray(se, float), np.asarray(nsnp))
    return out


def mv_multiple(bx, by, sy, exposures=None, *, pval_exposure=None, se_exposure=None,
                pval_threshold: float = 5e-8, intercept: bool = False,
                instrument_specific: bool = False) -> pd.DataFrame:
    """TwoSampleMR's ``mv_multiple``: multivariable IVW with the lm (unfloored) SE.

    See the module docstring.  ``pval_exposure`` (n x K), or ``se_exposure`` to compute them,
    select the instruments of each exposure (``nsnp``); the default threshold 5e-8 is
    TwoSampleMR's.  Returns exposure, nsnp, b, se, pval (normal).
    """
    Bx, by, sy, names = _inputs(bx, by, sy, exposures)
    n, K = Bx.shape
    index = _selection(Bx, pval_exposure, se_exposure, pval_threshold, "mv_multiple")
    w = 1.0 / sy**2
    X = np.column_stack([np.ones(n), Bx]) if intercept else Bx
    off = int(intercept)
    b, se = np.full(K, np.nan), np.full(K, np.nan)
    if not instrument_specific:
        coef, sd = _lm(X, by, w)
        b, se = coef[off:], sd[off:]
    else:
        for k in range(K):
            sel = index[:, k]
            if sel.sum() > K + off:
                coef, sd = _lm(X[sel], by[sel], w[sel])
                b[k], se[k] = coef[off + k], sd[off + k]
    return _tsmr_table(names, b, se, index.sum(axis=0))


def mv_ivw(bx, by, sy, exposures=None, *, pval_exposure=None, se_exposure=None,
           pval_threshold: float = 5e-8) -> pd.DataFrame:
    """TwoSampleMR's ``mv_ivw``: per exposure, the no-intercept WLS on all exposures over that
    exposure's instruments (p < ``pval_threshold``); lm SE, normal p.  NaN when an exposure has
    no more than K instruments (R's lm would return NA)."""
    Bx, by, sy, names = _inputs(bx, by, sy, exposures)
    n, K = Bx.shape
    index = _selection(Bx, pval_exposure, se_exposure, pval_threshold, "mv_ivw")
    w = 1.0 / sy**2
    b, se = np.full(K, np.nan), np.full(K, np.nan)
    for k in range(K):
        sel = index[:, k]
        coef, sd = _lm(Bx[sel], by[sel], w[sel])
        b[k], se[k] = coef[k], sd[k]
    return _tsmr_table(names, b, se, index.sum(axis=0))


def mv_basic(bx, by, exposures=None, *, pval_exposure=None, se_exposure=None,
             pval_threshold: float = 5e-8) -> pd.DataFrame:
    """TwoSampleMR's ``mv_basic`` (residual method, unweighted, with intercepts); see the
    module docstring.  The outcome SEs are not used (TwoSampleMR does not weight)."""
    Bx, by, _, names = _inputs(bx, by, np.ones(len(by)), exposures)
    n, K = Bx.shape
    index = _selection(Bx, pval_exposure, se_exposure, pval_threshold, "mv_basic")
    b, se = np.full(K, np.nan), np.full(K, np.nan)
    one = np.ones(n)
    for k in range(K):
        Z = np.column_stack([one, np.delete(Bx, k, axis=1)])
        coef, _ = _lm(Z, by)
        resid = by - Z @ coef
        sel = index[:, k]
        c, sd = _lm(np.column_stack([one[sel], Bx[sel, k]]), resid[sel])
        b[k], se[k] = c[1], sd[1]
    return _tsmr_table(names, b, se, index.sum(axis=0))
