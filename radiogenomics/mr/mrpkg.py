"""MendelianRandomization 0.10.0's univariable estimators (Burgess & Yavorska, R package).

Every function takes either four arrays ``bx, bxse, by, byse`` (SNP-exposure and SNP-outcome
effects and their SEs, already harmonised) or a harmonised TwoSampleMR-style frame as ``bx``
(``beta.exposure`` ... or snake_case; its ``mr_keep`` rows are used and every excluded SNP is
listed with its reason in ``result.excluded``).  Results are :class:`MRPkgResult` objects
(``estimate, se, ci_low, ci_high, pval`` plus method-specific fields; ``to_frame()`` gives one
row per estimate).  With ``r_j = by_j / bx_j`` and first-order weights ``w_j = byse_j^-2``:

* :func:`mr_ivw` -- weighted regression of ``by`` on ``bx`` through the origin (``lm``);
  ``model="default"`` is fixed-effect for fewer than 4 SNPs, else multiplicative random
  effects (lm SE divided by ``min(1, sigma)``); fixed effects divide by ``sigma``.
  ``weights="delta"``: ``(byse^2 + by^2 bxse^2 / bx^2 - 2 psi by bxse byse / bx)^-1``.
  ``penalized``: weights ``w_j min(1, 100 P_j)`` (delta: ``min(1, 20 P_j)``) with
  ``P_j = P(chi2_1 > bx_j^2 / byse_j^2 (r_j - median(r))^2)`` (Burgess et al. 2016, Stat Med
  35:5396).  ``robust``: MM-estimation ``robustbase::lmrob(..., k.max = 500,
  maxit.scale = 500)`` (see :mod:`radiogenomics.mr._lmrob`), SE from lmrob's ``.vcov.avar1``
  covariance, ``sigma`` = S-scale (Rees, Wood & Burgess 2017, Stat Med 36:4705).
  ``correl`` (LD correlation matrix ``rho``): generalised least squares with
  ``Omega = byse byse^T * rho``, ``b = (bx' Omega^-1 bx)^-1 bx' Omega^-1 by``, SE
  ``sqrt((bx' Omega^-1 bx)^-1) max(1, rse)`` (random); robust/penalized are then ignored as in
  the package.  ``Fstat = mean((bx/bxse)^2)`` (``z' rho^-1 z / n`` with ``correl``).
  ``distribution="t-dist"``: CI and p from t on ``n - 1`` df.  Heterogeneity
  ``Q = (n - 1) sigma^2`` on ``n - 1`` df (not for penalized fits).
* :func:`mr_egger` -- SNPs oriented to ``bx > 0``; weighted ``lm(by ~ bx)``, SEs divided by
  ``min(1, sigma)`` (always "random"); penalized weights from the residuals of the unpenalized
  Egger fit ``P(chi2_1 > w_j res_j^2)``; robust = lmrob as above; ``correl`` = GLS.  With
  ``t-dist`` and ``sigma < 1`` the package widens CI and p to the more conservative of the
  normal and the t (on ``n - 2`` df, statistic divided by sigma).  ``I2_GX`` (Bowden 2016).
* :func:`mr_median` -- weighted median (Bowden et al. 2016) with *first-order* weights
  ``(bx/byse)^2`` ("weighted"), equal ("simple") or penalised
  ``(bx/byse)^2 min(1, 20 P(chi2_1 > (bx/byse)^2 (r - WM)^2))``; SE = SD over ``iterations``
  parametric bootstrap draws of ``bx, by`` (normal), weights held fixed.
* :func:`mr_mbe` -- Hartwig et al. (2017) mode-based estimate via R's ``density()``;
  ``stderror="delta"`` (``sqrt(byse^2/bx^2 + by^2 bxse^2/bx^4)``) or ``"simple"``; SE = MAD of
  bootstrap modes of ``r* ~ N(r, se_r^2)``.
* :func:`mr_divw` -- debiased IVW (Ye, Shao & Kang 2021, Ann Stat 49:2079):
  ``b = sum(by bx / byse^2) / sum((bx^2 - bxse^2) / byse^2)`` with the package's sandwich SE
  and over-dispersion ``tau^2``.
* :func:`mr_conmix` -- contamination mixture (Burgess et al. 2020, Nat Commun 11:376): profile
  likelihood on a grid of step ``CIStep``; CI = grid points within ``chi2_1(1-alpha) phi^2 / 2``
  of the maximum (possibly several intervals); no SE.
* :func:`mr_cml` -- constrained maximum likelihood with model averaging (cML-MA-BIC, Xue, Shen
  & Pan 2021, AJHG 108:1251) and optional data perturbation (DP).
* :func:`mr_lasso` -- MR-Lasso (Rees et al. 2019, Stat Med 38:2211): lasso on per-SNP
  pleiotropy parameters (R's ``glmnet``, reproduced in :mod:`radiogenomics.mr._mrpkg_lasso`),
  lambda by the package's heterogeneity stopping rule, post-lasso IVW on the valid SNPs.
* :func:`mr_allmethods` -- the package's ``mr_allmethods`` table.

Stochastic functions take ``rng`` (int seed or ``numpy.random.Generator``); bootstrap SEs agree
with R within Monte-Carlo error (R's RNG stream is not reproduced).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from numba import njit
import pandas as pd
from scipy import stats

from .._checks import InputError, check_rng
from ._core import invalid_reasons, prepare_harmonised, weighted_lm
from ._lmrob import lmrob
from .estimators import _normal_p as _norm_p
from .estimators import _mad, mode_estimate, weighted_median

__all__ = ["MRPkgResult", "mr_ivw", "mr_egger", "mr_median", "mr_mbe", "mr_divw", "mr_conmix",
           "mr_cml", "mr_lasso", "mr_allmethods"]

NAN = float("nan")


@dataclass
class MRPkgResult:
    """One MendelianRandomization estimate (Egger also carries its intercept)."""

    method: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pval: float
    n_snps: int
    alpha: float = 0.05
    intercept: float = NAN
    intercept_se: float = NAN
    intercept_ci_low: float = NAN
    intercept_ci_high: float = NAN
    intercept_pval: float = NAN
    rse: float = NAN
    heter_stat: float = NAN
    heter_pval: float = NAN
    fstat: float = NAN
    isq_gx: float = NAN
    converged: bool = True
    extras: dict = field(default_factory=dict)
    excluded: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["SNP", "reason"]))

    def to_frame(self) -> pd.DataFrame:
        rows = [dict(method=self.method, estimate=self.estimate, se=self.se, ci_low=self.ci_low,
                     ci_high=self.ci_high, pval=self.pval, n_snps=self.n_snps,
                     converged=self.converged)]
        if not np.isnan(self.intercept):
            rows.append(dict(method="(intercept)", estimate=self.intercept, se=self.intercept_se,
                             ci_low=self.intercept_ci_low, ci_high=self.intercept_ci_high,
                             pval=self.intercept_pval, n_snps=self.n_snps, converged=self.converged))
        return pd.DataFrame(rows)


# ------------------------------------------------------------------------------- inputs
def _inputs(bx, bxse, by, byse):
    """Arrays (bx, bxse, by, byse, snps, excluded) from arrays or a harmonised frame."""
    if isinstance(bx, pd.DataFrame):
        if any(v is not None for v in (bxse, by, byse)):
            raise InputError("give either a harmonised data frame as the first argument or the "
                             "four arrays bx, bxse, by, byse, not both")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # the exclusions are reported in .excluded
            d = prepare_harmonised(bx, mr_keep_only=False)
        reason = invalid_reasons(d)
        keep = d["mr_keep"].to_numpy(dtype=bool)
        reason = np.where((reason == "") & ~keep, "mr_keep is False", reason)
        excluded = pd.DataFrame({"SNP": d["SNP"].to_numpy()[~keep], "reason": reason[~keep]})
        if len(excluded):
            warnings.warn(f"{len(excluded)} SNP(s) excluded (see result.excluded): "
                          + "; ".join(f"{s}: {r}" for s, r in excluded.head(5).itertuples(index=False)),
                          UserWarning, stacklevel=3)
        d = d[keep]
        arrs = [d[c].to_numpy(dtype=np.float64) for c in
                ("beta.exposure", "se.exposure", "beta.outcome", "se.outcome")]
        return (*arrs, d["SNP"].to_numpy(), excluded)
    if any(v is None for v in (bxse, by, byse)):
        raise InputError("give bx, bxse, by and byse (four arrays of equal length), or a "
                         "harmonised data frame as the only data argument")
    arrs = [np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (bx, bxse, by, byse)]
    n = arrs[0].size
    if any(a.ndim != 1 or a.size != n for a in arrs):
        raise InputError(f"bx, bxse, by, byse must be 1-d arrays of the same length; got lengths "
                         f"{[a.size for a in arrs]}; give one value per SNP in each")
    names = ("bx", "bxse", "by", "byse")
    for a, nm in zip(arrs, names):
        if not np.all(np.isfinite(a)):
            raise InputError(f"{nm} has missing or infinite values at positions "
                             f"{np.flatnonzero(~np.isfinite(a))[:5].tolist()}; remove those SNPs "
                             "(or pass a harmonised frame, whose unusable SNPs are excluded and reported)")
    for a, nm in ((arrs[1], "bxse"), (arrs[3], "byse")):
        if np.any(a <= 0):
            raise InputError(f"{nm} must be > 0; positions {np.flatnonzero(a <= 0)[:5].tolist()} "
                             "are not; remove those SNPs or fix their standard errors")
    if n == 0:
        raise InputError("no SNPs given; give at least one SNP")
    return (*arrs, np.array([f"snp{i + 1}" for i in range(n)]),
            pd.DataFrame(columns=["SNP", "reason"]))


def _zcrit(alpha):
    return stats.norm.ppf(1 - alpha / 2)


def _t_p(z, df):
    return float(2 * stats.t.cdf(-abs(z), df))


def _ci(est, se, alpha, distribution, df):
    q = stats.t.ppf(1 - alpha / 2, df) if distribution == "t-dist" else _zcrit(alpha)
    return est - q * se, est + q * se


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise InputError(f"{name} must be one of {list(allowed)}, got {value!r}")


def _lm(X, y, w):
    """Weighted lm: coefficients, unscaled covariance (X'WX)^-1, residual SE sigma."""
    coef, cov, q = weighted_lm(X, y, w)
    return coef, cov, float(np.sqrt(q / (len(y) - X.shape[1])))


def _delta_w(bx, bxse, by, byse, psi):
    return 1.0 / (byse**2 + by**2 * bxse**2 / bx**2 - 2 * psi * by * bxse * byse / bx)


def _robust_warn(fit, what):
    if not fit.converged:
        warnings.warn(f"{what}: lmrob's M-step did not converge in 50 iterations (the package "
                      "then reports NA standard errors); result.converged is False", RuntimeWarning,
                      stacklevel=3)


# ---------------------------------------------------------------------------------- IVW
def mr_ivw(bx, bxse=None, by=None, byse=None, model: str = "default", robust: bool = False,
           penalized: bool = False, weights: str = "simple", psi: float = 0.0, correl=None,
           distribution: str = "normal", alpha: float = 0.05, rng=None) -> MRPkgResult:
    """MendelianRandomization ``mr_ivw`` (see the module docstring for the formulas).

    ``rng`` is only used by ``robust=True`` when the S-estimator cannot try every elemental
    subset (more than 20,000 of them), so for the usual data sizes the result is deterministic.
    """
    bx, bxse, by, byse, snps, excluded = _inputs(bx, bxse, by, byse)
    _check_choice("model", model, ("default", "fixed", "random"))
    _check_choice("weights", weights, ("simple", "delta"))
    _check_choice("distribution", distribution, ("normal", "t-dist"))
    n = bx.size
    if model == "default":
        model = "fixed" if n < 4 else "random"
    label = "IVW"
    res = dict(converged=True, heter=(NAN, NAN), rse=NAN)
    if correl is not None:
        rho = np.asarray(correl, dtype=np.float64)
        if rho.shape != (n, n):
            raise InputError(f"correl must be an {n} x {n} correlation matrix of the SNPs; got "
                             f"shape {rho.shape}")
        if robust or penalized:
            warnings.warn("robust/penalized are ignored with a correlation matrix (as in "
                          "MendelianRandomization)", UserWarning, stacklevel=2)
        omega_inv = np.linalg.inv(np.outer(byse, byse) * rho)
        info = float(bx @ omega_inv @ bx)
        est = float(bx @ omega_inv @ by) / info
        r = by - est * bx
        rse = float(np.sqrt(r @ omega_inv @ r / (n - 1)))
        se = np.sqrt(1 / info) * (max(rse, 1.0) if model == "random" else 1.0)
        heter = (n - 1) * rse**2
        res.update(heter=(heter, float(stats.chi2.sf(heter, n - 1))), rse=rse)
        z = bx / bxse
        fstat = float(z @ np.linalg.solve(rho, z)) / n
        label = "IVW (correlated variants)"
    elif n == 1:
        est = float(by[0] / bx[0])
        se = float(abs(byse[0] / bx[0]) if weights == "simple"
                   else np.sqrt(1 / _delta_w(bx, bxse, by, byse, psi)[0] / bx[0] ** 2))
        res.update(rse=1.0)
        fstat = float((bx[0] / bxse[0]) ** 2)
    else:
        w = byse**-2.0 if weights == "simple" else _delta_w(bx, bxse, by, byse, psi)
        if penalized:
            r = by / bx
            pw_base = bx**2 * (byse**-2.0 if weights == "simple" else _delta_w(bx, bxse, by, byse, psi))
            pen = stats.chi2.sf(pw_base * (r - np.median(r)) ** 2, df=1)
            w = w * np.minimum(1.0, pen * (100 if weights == "simple" else 20))
            label = "Penalized IVW"
        X = bx[:, None]
        if robust:
            fit = lmrob(X, by, w, rng=check_rng(rng) if rng is not None else np.random.default_rng(0))
            _robust_warn(fit, "robust IVW")
            est = float(fit.coef[0])
            se_lm = float(np.sqrt(fit.cov[0, 0])) if fit.converged else NAN
            sigma = fit.scale
            res["converged"] = fit.converged
            label = "Penalized robust IVW" if penalized else "Robust IVW"
        else:
            coef, cinv, sigma = _lm(X, by, w)
            est = float(coef[0])
            se_lm = float(np.sqrt(cinv[0, 0])) * sigma
        se = se_lm / min(sigma, 1.0) if model == "random" else se_lm / sigma
        res["rse"] = sigma
        if not penalized:
            heter = (n - 1) * sigma**2
            res["heter"] = (heter, float(stats.chi2.sf(heter, n - 1)))
        fstat = float(np.sum((bx / bxse) ** 2) / n)
    se = float(se)
    lo, hi = _ci(est, se, alpha, distribution, n - 1)
    p = _norm_p(est / se) if distribution == "normal" or n == 1 else _t_p(est / se, n - 1)
    return MRPkgResult(method=label, estimate=est, se=se, ci_low=float(lo), ci_high=float(hi),
                       pval=p, n_snps=n, alpha=alpha, rse=float(res["rse"]),
                       heter_stat=float(res["heter"][0]), heter_pval=float(res["heter"][1]),
                       fstat=fstat, converged=res["converged"],
                       extras=dict(model=model, weights=weights, robust=robust, penalized=penalized,
                                   distribution=distribution), excluded=excluded)


# -------------------------------------------------------------------------------- Egger
def _egger_bound(kind, dist, theta, se, df, rse, alpha):
    x = 1 - alpha / 2
    if dist == "normal":
        return theta + (1 if kind == "u" else -1) * stats.norm.ppf(x) * se
    qn, qt = stats.norm.ppf(x), stats.t.ppf(x, df)
    if kind == "u":
        return max(theta + qn * se, theta + qt * se * rse) if rse < 1 else theta + qt * se
    return min(theta - qn * se, theta - qt * se * rse) if rse < 1 else theta - qt * se


def _egger_p(z, dist, rse, df):
    # the package computes 2 * (1 - pnorm(|z|)), which is 0 below ~1e-16 and carries an
    # absolute error of ~1e-16; the tail functions are used here (equal to R's to 1e-6
    # relative or 1e-15 absolute, and never 0 for a finite z)
    pn = 2 * stats.norm.sf(abs(z))
    if dist == "normal":
        return float(pn)
    if rse < 1:
        return float(max(pn, 2 * stats.t.sf(abs(z / rse), df)))
    return float(2 * stats.t.sf(abs(z), df))


def mr_egger(bx, bxse=None, by=None, byse=None, robust: bool = False, penalized: bool = False,
             correl=None, distribution: str = "normal", alpha: float = 0.05,
             rng=None) -> MRPkgResult:
    """MendelianRandomization ``mr_egger`` (see the module docstring); needs >= 3 SNPs."""
    bx0, bxse, by0, byse, snps, excluded = _inputs(bx, bxse, by, byse)
    _check_choice("distribution", distribution, ("normal", "t-dist"))
    n = bx0.size
    if n < 3:
        raise InputError(f"MR-Egger needs data on more than 2 variants, got {n}")
    s = np.sign(bx0)
    By, Bx = s * by0, np.abs(bx0)
    X = np.column_stack([np.ones(n), Bx])
    converged = True
    heter = NAN
    if correl is not None:
        rho = np.asarray(correl, dtype=np.float64)
        if rho.shape != (n, n):
            raise InputError(f"correl must be an {n} x {n} correlation matrix; got shape {rho.shape}")
        rho = rho * np.outer(s, s)
        oinv = np.linalg.inv(np.outer(byse, byse) * rho)
        sig = np.linalg.inv(X.T @ oinv @ X)
        coef = sig @ X.T @ oinv @ By
        r = By - X @ coef
        rse = float(np.sqrt(r @ oinv @ r / (n - 2)))
        se_int, se_slope = np.sqrt(np.diag(sig)) * max(1.0, rse)
        heter = (n - 2) * rse**2
        label = "MR-Egger (correlated variants)"
    else:
        w = byse**-2.0
        label = "MR-Egger"
        if penalized:
            c0, _, _ = _lm(X, By, w)
            pen = stats.chi2.sf(w * (By - X @ c0) ** 2, df=1)
            w = w * np.minimum(1.0, pen * 100)
        if robust:
            fit = lmrob(X, By, w, rng=check_rng(rng) if rng is not None else np.random.default_rng(0))
            _robust_warn(fit, "robust MR-Egger")
            coef, rse, converged = fit.coef, fit.scale, fit.converged
            se_lm = np.sqrt(np.diag(fit.cov)) if converged else np.full(2, NAN)
        else:
            coef, cinv, rse = _lm(X, By, w)
            se_lm = np.sqrt(np.diag(cinv)) * rse
        se_int, se_slope = se_lm / min(rse, 1.0)
        if not penalized:
            heter = float(np.sum(((By - coef[0] - coef[1] * Bx) / byse) ** 2))
        label = {(False, False): "MR-Egger", (True, False): "Penalized MR-Egger",
                 (False, True): "Robust MR-Egger", (True, True): "Penalized robust MR-Egger"}[(penalized, robust)]
    inter, slope = float(coef[0]), float(coef[1])
    df = n - 2
    ws = (bxse / byse) ** -2
    v = Bx / byse
    q = np.sum(ws * (v - np.sum(ws * v) / np.sum(ws)) ** 2)
    isq = max(0.0, (q - (n - 1)) / q)
    return MRPkgResult(
        method=label, estimate=slope, se=float(se_slope),
        ci_low=float(_egger_bound("l", distribution, slope, se_slope, df, rse, alpha)),
        ci_high=float(_egger_bound("u", distribution, slope, se_slope, df, rse, alpha)),
        pval=_egger_p(slope / se_slope, distribution, rse, df), n_snps=n, alpha=alpha,
        intercept=inter, intercept_se=float(se_int),
        intercept_ci_low=float(_egger_bound("l", distribution, inter, se_int, df, rse, alpha)),
        intercept_ci_high=float(_egger_bound("u", distribution, inter, se_int, df, rse, alpha)),
        intercept_pval=_egger_p(inter / se_int, distribution, rse, df), rse=float(rse),
        heter_stat=float(heter), heter_pval=float(stats.chi2.sf(heter, df)) if np.isfinite(heter) else NAN,
        isq_gx=float(isq) if correl is None else NAN, converged=converged,
        extras=dict(robust=robust, penalized=penalized, distribution=distribution), excluded=excluded)


# ------------------------------------------------------------------------------- median
def mr_median(bx, bxse=None, by=None, byse=None, weighting: str = "weighted",
              distribution: str = "normal", alpha: float = 0.05, iterations: int = 10000,
              rng=None) -> MRPkgResult:
    """MendelianRandomization ``mr_median`` (first-order weights; bootstrap SE; >= 3 SNPs).

    The point estimate is deterministic and equals R's; the SE is the SD of ``iterations``
    bootstrap medians and matches R within Monte-Carlo error (the package's ``seed`` is our
    ``rng``)."""
    bx, bxse, by, byse, snps, excluded = _inputs(bx, bxse, by, byse)
    _check_choice("weighting", weighting, ("simple", "weighted", "penalized"))
    _check_choice("distribution", distribution, ("normal", "t-dist"))
    n = bx.size
    if n < 3:
        raise InputError(f"the median methods need data on more than 2 variants, got {n}")
    gen = check_rng(rng)
    r = by / bx
    wts = (bx / byse) ** 2
    if weighting == "simple":
        w = np.full(n, 1.0 / n)
    elif weighting == "weighted":
        w = wts
    else:
        pen = stats.chi2.sf(wts * (r - weighted_median(r, wts)) ** 2, df=1)
        w = wts * np.minimum(1.0, pen * 20)
    est = float(weighted_median(r, w))
    bxs = gen.normal(bx, bxse, size=(iterations, n))
    bys = gen.normal(by, byse, size=(iterations, n))
    se = float(np.std(weighted_median(bys / bxs, w), ddof=1))
    lo, hi = _ci(est, se, alpha, distribution, n - 1)
    p = _norm_p(est / se) if distribution == "normal" else _t_p(est / se, n - 1)
    name = {"simple": "Simple median", "weighted": "Weighted median",
            "penalized": "Penalized weighted median"}[weighting]
    return MRPkgResult(method=name, estimate=est, se=se, ci_low=float(lo), ci_high=float(hi),
                       pval=p, n_snps=n, alpha=alpha,
                       extras=dict(iterations=iterations, weighting=weighting), excluded=excluded)


# ---------------------------------------------------------------------------------- MBE
def mr_mbe(bx, bxse=None, by=None, byse=None, weighting: str = "weighted",
           stderror: str = "delta", phi: float = 1.0, iterations: int = 10000,
           distribution: str = "normal", alpha: float = 0.05, rng=None) -> MRPkgResult:
    """MendelianRandomization ``mr_mbe`` (Hartwig et al. 2017 mode-based estimate).

    Bandwidth ``h = phi * 0.9 min(sd(r), mad(r)) / n^(1/5)``, weights ``se_r^-2`` normalised
    (``weighting="unweighted"``: equal); the estimate is the maximiser of R's ``density()`` on
    its 512-point grid (deterministic); SE = ``mad`` of ``iterations`` bootstrap modes.
    Computed by :func:`radiogenomics.mr.estimators.mode_estimate`, the same estimator as
    TwoSampleMR's modes, whose bandwidth floor of 1e-8 only acts when the ratio estimates are
    all (nearly) equal."""
    bx, bxse, by, byse, snps, excluded = _inputs(bx, bxse, by, byse)
    _check_choice("weighting", weighting, ("weighted", "unweighted"))
    _check_choice("stderror", stderror, ("delta", "simple"))
    _check_choice("distribution", distribution, ("normal", "t-dist"))
    n = bx.size
    if n < 3:
        raise InputError(f"mr_mbe needs at least 3 SNPs, got {n}")
    gen = check_rng(rng)
    r = by / bx
    se_r = byse / np.abs(bx) if stderror == "simple" else np.sqrt(byse**2 / bx**2 + by**2 * bxse**2 / bx**4)
    wse = se_r if weighting == "weighted" else np.ones(n)
    est = float(mode_estimate(r, wse, phi)[0])
    boot = np.empty(iterations)
    for start in range(0, iterations, 2000):
        m = min(2000, iterations - start)
        boot[start:start + m] = mode_estimate(gen.normal(r, se_r, size=(m, n)), wse, phi)
    se = float(_mad(boot))
    lo, hi = _ci(est, se, alpha, distribution, n - 1)
    p = _norm_p(est / se) if distribution == "normal" else _t_p(est / se, n - 1)
    return MRPkgResult(method="MBE", estimate=est, se=se, ci_low=float(lo), ci_high=float(hi),
                       pval=p, n_snps=n, alpha=alpha,
                       extras=dict(weighting=weighting, stderror=stderror, phi=phi,
                                   iterations=iterations), excluded=excluded)


# --------------------------------------------------------------------------------- dIVW
def mr_divw(bx, bxse=None, by=None, byse=None, over_dispersion: bool = True,
            alpha: float = 0.05) -> MRPkgResult:
    """Debiased IVW (Ye, Shao & Kang 2021) as MendelianRandomization ``mr_divw``.

    ``b = sum(by bx / byse^2) / sum((bx^2 - bxse^2) / byse^2)``; with ``k = bxse/byse``,
    ``mu = bx/bxse`` and ``tau^2 = max(0, sum(((by - b bx)^2 - byse^2 - b^2 bxse^2)/byse^2) /
    sum(byse^-2))`` (0 without over-dispersion):
    ``se^2 = sum(k^2 mu^2 + b^2 k^4 (mu^2 + 1) + tau^2 k^2 mu^2 / byse^2) /
    sum(k^2 (mu^2 - 1))^2``; normal CI/p.  ``extras["condition"] = (mean(mu^2) - 1) sqrt(n)``
    (the instrument-strength condition; the authors suggest > 20)."""
    bx, bxse, by, byse, snps, excluded = _inputs(bx, bxse, by, byse)
    n = bx.size
    k = bxse / byse
    est = float(np.sum(by * bx / byse**2) / np.sum((bx**2 - bxse**2) / byse**2))
    mu = bx / bxse
    cond = float((np.mean(mu**2) - 1) * np.sqrt(n))
    tau2 = 0.0 if not over_dispersion else max(
        0.0, float(np.sum(((by - est * bx) ** 2 - byse**2 - est**2 * bxse**2) / byse**2) / np.sum(byse**-2.0)))
    v1 = np.sum(k**2 * mu**2 + est**2 * k**4 * (mu**2 + 1) + tau2 * k**2 / byse**2 * mu**2)
    v2 = np.sum(k**2 * (mu**2 - 1))
    se = float(np.sqrt(v1 / v2**2))
    z = _zcrit(alpha)
    return MRPkgResult(method="dIVW", estimate=est, se=se, ci_low=est - z * se, ci_high=est + z * se,
                       pval=_norm_p(est / se), n_snps=n, alpha=alpha,
                       extras=dict(condition=cond, tau2=tau2, over_dispersion=over_dispersion),
                       excluded=excluded)


# ------------------------------------------------------------------------------- ConMix
def mr_conmix(bx, bxse=None, by=None, byse=None, psi: float = 0.0, ci_min=None, ci_max=None,
              ci_step: float = 0.01, alpha: float = 0.05) -> MRPkgResult:
    """Contamination mixture method (Burgess et al. 2020) as MendelianRandomization ``mr_conmix``.

    For each ``theta`` of the grid ``ci_min, ci_min + ci_step, ... <= ci_max`` (defaults
    ``min((by - 2 byse)/bx)``, ``max((by + 2 byse)/bx)``), each SNP contributes the larger of
    its "valid" log-density ``N(r_j; theta, se_j^2)`` and its "invalid" one
    ``N(r_j; 0, psi^2 + se_j^2)`` (``se_j = byse/|bx|``, ``psi = 1.5 sd(r)`` when ``psi <= 0``).
    Estimate = grid argmax; ``phi = max(1, sqrt(Q_valid/(#valid - 1)))`` (heterogeneity of the
    valid SNPs at the maximum); CI = grid points with
    ``2 L > 2 max L - chi2_1(1-alpha) phi^2`` (``extras["intervals"]`` lists each interval when
    the set is not connected; ``ci_low``/``ci_high`` are its extremes); p-value from
    ``2 (max L - L(0)) phi^2`` on chi2_1 (as the package writes it).  No SE (NaN)."""
    bx, bxse, by, byse, snps, excluded = _inputs(bx, bxse, by, byse)
    n = bx.size
    ratio = by / bx
    rse = np.abs(byse / bx)
    lo_ = float(np.min((by - 2 * byse) / bx)) if ci_min is None else float(ci_min)
    hi_ = float(np.max((by + 2 * byse) / bx)) if ci_max is None else float(ci_max)
    if psi <= 0:
        if n < 2:
            raise InputError("psi must be given (> 0) with a single SNP")
        psi = 1.5 * float(np.std(ratio, ddof=1))
    m = int(np.floor((hi_ - lo_) / ci_step + 1e-10)) + 1
    theta = lo_ + np.arange(m) * ci_step
    inc = -((theta[:, None] - ratio) ** 2) / 2 / rse**2 - np.log(np.sqrt(2 * np.pi * rse**2))
    exc = -ratio**2 / 2 / (psi**2 + rse**2) - np.log(np.sqrt(2 * np.pi * (psi**2 + rse**2)))
    valid = inc > exc
    lik = np.where(valid, inc, exc).sum(axis=1)
    best = int(np.argmax(lik))
    vb = valid[best]
    if vb.sum() < 1.5:
        phi = 1.0
    else:
        rv, wv = ratio[vb], rse[vb] ** -2
        phi = max(float(np.sqrt(np.sum((rv - np.sum(rv * wv) / np.sum(wv)) ** 2 * wv) / (vb.sum() - 1))), 1.0)
    inc0 = -ratio**2 / 2 / rse**2 - np.log(np.sqrt(2 * np.pi * rse**2))
    lik0 = float(np.where(inc0 > exc, inc0, exc).sum())
    inside = np.flatnonzero(2 * lik > 2 * lik.max() - stats.chi2.ppf(1 - alpha, 1) * phi**2)
    rng_ = lo_ + ci_step * inside
    gaps = np.flatnonzero(np.diff(rng_) > 1.01 * ci_step)
    lows = np.concatenate([[rng_.min()], rng_[gaps + 1]])
    highs = np.concatenate([rng_[gaps], [rng_.max()]])
    est = lo_ + ci_step * best
    p = float(stats.chi2.sf(2 * (lik.max() - lik0) * phi**2, 1))
    if best == 0 or best == m - 1:
        warnings.warn("the contamination-mixture maximum lies at the edge of the grid; widen "
                      "ci_min/ci_max", RuntimeWarning, stacklevel=2)
    return MRPkgResult(method="Contamination mixture", estimate=float(est), se=NAN,
                       ci_low=float(lows.min()), ci_high=float(highs.max()), pval=p, n_snps=n,
                       alpha=alpha, converged=bool(0 < best < m - 1),
                       extras=dict(psi=psi, phi=phi, intervals=list(zip(lows.tolist(), highs.tolist())),
                                   valid_snps=snps[vb].tolist(), ci_min=lo_, ci_max=hi_,
                                   ci_step=ci_step, loglik=lik),
                       excluded=excluded)


# ------------------------------------------------------------------------------- Lasso
def _ivw_origin_rse(x, y):
    """RSE of lm(y ~ x - 1) (NaN with a single point, as R's 0/0)."""
    if x.size == 0:
        return NAN
    b = float(x @ y / (x @ x))
    r = y - b * x
    return float(np.sqrt(r @ r / (x.size - 1))) if x.size > 1 else NAN


def mr_lasso(bx, bxse=None, by=None, byse=None, distribution: str = "normal",
             alpha: float = 0.05, lambda_=None) -> MRPkgResult:
    """MR-Lasso (Rees, Wood, Dudbridge & Burgess 2019, Stat Med 38:2211) as
    MendelianRandomization 0.10.0 ``mr_lasso``.

    SNPs are oriented to ``bx > 0``; with ``S = diag(byse^-2)``, ``b = S^1/2 bx`` and
    ``P = I - b b'/b'b``, the pleiotropic effects ``a`` solve the lasso of ``P S^1/2 by`` on
    ``P S^1/2`` without intercept, i.e. R's ``glmnet(xlas, ylas, intercept = FALSE)``
    (standardised columns, glmnet's own lambda path; see
    :func:`radiogenomics.mr._mrpkg_lasso.glmnet_lasso_path`).  ``lambda_`` (R's ``lambda``)
    fixes the penalty; otherwise, going along the path from the smallest lambda up, the
    package's heterogeneity stopping rule picks the last lambda before the residual standard
    error ``rse`` of the IVW fit on the valid SNPs (``a_j = 0``) first exceeds 1 *and* jumps by
    more than ``chi2_1(0.95) / #valid`` (no such jump: the largest lambda), and at least two SNPs
    must be valid.  Estimate: IVW (``lm(by ~ bx - 1, weights = byse^-2)``) on the valid SNPs,
    SE divided by ``min(1, sigma)``; CI and p normal or t on ``#valid - 1`` df.
    ``extras``: ``valid_snps``, ``lambda``, ``reg_estimate`` (``(bx'S bx)^-1 bx'S (by - a)``,
    R's ``RegEstimate``), ``pleiotropy`` (``a``, R's ``RegIntercept``), ``lambda_path`` and
    ``rse_path`` (ascending lambdas).  Fewer than two valid SNPs at a given ``lambda_``: NaN
    estimate and a warning (the package prints a message).  Not part of ``mr_allmethods`` (nor
    is it in the package)."""
    from ._mrpkg_lasso import glmnet_lasso_path

    bx0, bxse, by0, byse, snps, excluded = _inputs(bx, bxse, by, byse)
    _check_choice("distribution", distribution, ("normal", "t-dist"))
    n = bx0.size
    if n < 2:
        raise InputError(f"mr_lasso needs at least 2 SNPs (glmnet needs 2 or more columns), got {n}")
    Bx, By = np.abs(bx0), by0 * np.sign(bx0)
    s = 1.0 / byse
    b = s * Bx
    P = np.eye(n) - np.outer(b, b) / (b @ b)
    xlas, ylas = P * s[None, :], P @ (s * By)
    extras = dict(distribution=distribution)
    if lambda_ is not None:
        lam = float(lambda_)
        if not np.isfinite(lam) or lam < 0:
            raise InputError(f"lambda_ must be a non-negative number, got {lambda_!r}")
        lams, B, _, exact = glmnet_lasso_path(xlas, ylas, lambdas=[lam])
        a = B[:, 0]
    else:
        lams, B, _, exact = glmnet_lasso_path(xlas, ylas)
        order = np.argsort(lams, kind="stable")          # ascending, as R's sort()
        lamseq, Bs = lams[order], B[:, order]
        L = lamseq.size
        nv = np.array([int(np.sum(Bs[:, j] == 0)) for j in range(L)])
        rse = np.array([_ivw_origin_rse(b[Bs[:, j] == 0], (s * By)[Bs[:, j] == 0]) for j in range(L)])
        with np.errstate(invalid="ignore", divide="ignore"):
            inc = rse[1:] - rse[:-1]
            het = np.flatnonzero((rse[1:] > 1) & (inc > stats.chi2.ppf(0.95, 1) / nv[1:]))
        pos = int(het[0]) if het.size else L - 1        # 0-based position in lamseq
        pos = max(pos, int(np.flatnonzero(nv > 1)[0]))
        a, lam = Bs[:, pos], float(lamseq[pos])
        extras.update(lambda_path=lamseq, rse_path=rse, n_valid_path=nv)
    if not exact.all():
        warnings.warn("mr_lasso: a lasso solution could not be verified against the KKT "
                      "conditions; result.converged is False", RuntimeWarning, stacklevel=2)
    w = byse**-2.0
    reg_est = float(np.sum(Bx * w * (By - a)) / np.sum(Bx * w * Bx))
    v = a == 0
    nvalid = int(v.sum())
    if nvalid > 1:
        coef, cinv, sigma = _lm(Bx[v][:, None], By[v], w[v])
        est = float(coef[0])
        se = float(np.sqrt(cinv[0, 0]) * sigma / min(sigma, 1.0))
        lo, hi = _ci(est, se, alpha, distribution, nvalid - 1)
        p = _norm_p(est / se) if distribution == "normal" else _t_p(est / se, nvalid - 1)
    else:
        warnings.warn(f"mr_lasso: lambda = {lam:g} leaves {nvalid} valid instrument(s); the "
                      "post-lasso estimate needs at least two (choose a larger lambda_)",
                      RuntimeWarning, stacklevel=2)
        est = se = lo = hi = p = NAN
    extras.update(valid_snps=snps[v].tolist(), invalid_snps=snps[~v].tolist(), n_valid=nvalid,
                  **{"lambda": lam}, reg_estimate=reg_est, pleiotropy=a)
    return MRPkgResult(method="MR-Lasso", estimate=est, se=se, ci_low=float(lo), ci_high=float(hi),
                       pval=p, n_snps=n, alpha=alpha, converged=bool(exact.all()), extras=extras,
                       excluded=excluded)


# -------------------------------------------------------------------------------- cML
def _cml_fit(bx, by, sx, sy, K, theta0, mu0, maxit):
    """cML's alternating updates for one K from ``(theta0, mu0)`` (compiled: called
    ``(n - 1) x (1 + random_start) x (1 + num_pert)`` times)."""
    return _cml_fit_nb(bx, by, sx, sy, int(K), float(theta0), np.asarray(mu0, dtype=np.float64),
                       int(maxit))


@njit(cache=True)
def _cml_fit_nb(bx, by, sx, sy, K, theta0, mu0, maxit):
    p = bx.size
    sx2, sy2 = sx * sx, sy * sy
    theta, theta_old = theta0, theta0 - 1
    mu = mu0.copy()
    v = np.zeros(p)
    it = 0
    while abs(theta_old - theta) > 1e-7 and it < maxit:
        theta_old = theta
        it += 1
        v = np.zeros(p)
        if K > 0:
            res = by - theta * mu
            imp = res * res / sy2
            idx = np.argsort(-imp, kind="mergesort")[:K]     # stable: first of ties wins
            for i in idx:
                v[i] = res[i]
        mu = (bx / sx2 + theta * (by - v) / sy2) / (1 / sx2 + theta * theta / sy2)
        theta = np.sum((by - v) * mu / sy2) / np.sum(mu * mu / sy2)
    conv = abs(theta_old - theta) <= 1e-7
    if K > 0:
        for i in range(p):
            if v[i] != 0:
                mu[i] = bx[i]
                v[i] = by[i] - theta * mu[i]
    return theta, mu, v, conv


def _cml_sd(bx, by, sx, sy, theta, mu, v):
    z = v == 0
    var = 1 / (np.sum((mu**2 / sy**2)[z]) - np.sum(((2 * mu * theta - by) ** 2 / sy**4
                                                     / (1 / sx**2 + theta**2 / sy**2))[z]))
    return float(np.sqrt(var)) if var > 0 else NAN


def _cml_random(bx, by, sx, sy, K, random_start, maxit, gen):
    p = bx.size
    r = by / bx
    best = None
    for i in range(1 + random_start):
        if i == 0:
            t0, mu0 = 0.0, np.zeros(p)
        else:
            t0, mu0 = gen.uniform(r.min(), r.max()), gen.normal(bx, sx)
        theta, mu, v, conv = _cml_fit(bx, by, sx, sy, K, t0, mu0, maxit)
        nl = float(np.sum((bx - mu) ** 2 / (2 * sx**2)) + np.sum((by - theta * mu - v) ** 2 / (2 * sy**2)))
        sd = _cml_sd(bx, by, sx, sy, theta, mu, v)
        if best is None or nl < best[2]:
            best = (theta, sd, nl, v, conv)
    return best


def mr_cml(bx, bxse=None, by=None, byse=None, n: int = None, ma: bool = True, dp: bool = True,
           K_vec=None, random_start: int = 0, num_pert: int = 200, random_start_pert: int = 0,
           maxit: int = 100, alpha: float = 0.05, rng=None) -> MRPkgResult:
    """Constrained maximum likelihood (Xue, Shen & Pan 2021) as MendelianRandomization ``mr_cML``.

    For each number of invalid SNPs ``K`` in ``K_vec`` (default ``0..n_snps-2``) the profile
    likelihood is maximised by the package's block coordinate descent (``theta`` from 0,
    ``mu = 0``, plus ``random_start`` random starts ``theta ~ U(min r, max r)``,
    ``mu ~ N(bx, bxse^2)`` drawn from ``rng``; the ``K`` SNPs with the largest standardised
    residuals get free pleiotropic effects); ``BIC_K = log(n) K + 2 negloglik_K``.
    ``ma=True``: BIC-weighted model average ``sum w_K theta_K`` with SE
    ``sum w_K sqrt(se_K^2 + (theta_K - theta_MA)^2)``; ``ma=False``: the BIC-best ``K``.
    ``dp=True`` (package default): the same on ``num_pert`` perturbed data sets
    ``bx + N(0, bxse^2)``, ``by + N(0, byse^2)`` (random, uses ``rng``), theta/SE per ``K`` =
    mean/SD over perturbations, and the goodness-of-fit p-values ``GOF1_p``/``GOF2_p``.
    ``n`` is the (smallest) GWAS sample size (required).  ``dp=False`` with
    ``random_start=0`` is deterministic.
    ``converged`` is False (with a warning naming the K) when a fit with BIC weight >= 1e-8 on
    the original data stopped at ``maxit``; fits of large K (most SNPs declared invalid) often
    stop there with negligible weight and are listed only in ``extras["converged_K"]`` (with
    ``extras["bic_weight_K"]``).  R's package does not check convergence at all.
    """
    bx, bxse, by, byse, snps, excluded = _inputs(bx, bxse, by, byse)
    if n is None or not np.isfinite(n) or n <= 0:
        raise InputError("mr_cml needs n, the (smallest) GWAS sample size, e.g. n=17723")
    p = bx.size
    if p < 3:
        raise InputError(f"mr_cml needs at least 3 SNPs, got {p}")
    K_vec = np.arange(0, p - 1) if K_vec is None else np.asarray(K_vec, dtype=int)
    gen = check_rng(rng)
    fits = [_cml_random(bx, by, bxse, byse, int(K), random_start, maxit, gen) for K in K_vec]
    theta_v = np.array([f[0] for f in fits])
    sd_v = np.array([f[1] for f in fits])
    l_v = np.array([f[2] for f in fits])
    conv_K = np.array([bool(f[4]) for f in fits])
    # a K whose fit stopped at maxit matters only if the BIC gives it weight: large K (most
    # SNPs declared invalid) often stop there with a negligible weight (< 1e-8)
    bic0 = np.log(n) * K_vec + 2 * l_v
    w0 = np.exp(-(bic0 - bic0.min()) / 2)
    w0 = w0 / w0.sum()
    conv = bool(np.all(conv_K | (w0 < 1e-8)))
    if np.isnan(sd_v).any():
        warnings.warn("cML: some Fisher informations are not positive (no SE for those K); "
                      "try more iterations (maxit) or random starts", RuntimeWarning, stacklevel=2)
    extras = dict(K_vec=K_vec.tolist(), theta_K=theta_v, se_K=sd_v, negloglik_K=l_v,
                  converged_K=conv_K, bic_weight_K=w0, random_start=random_start, dp=dp, ma=ma)

    def summarise(theta, sd, ll):
        bic = np.log(n) * K_vec + 2 * ll
        bic = bic - bic.min()
        if ma:
            w = np.exp(-bic / 2)
            w = w / w.sum()
            t = float(np.sum(theta * w))
            return t, float(np.nansum(w * np.sqrt(sd**2 + (theta - t) ** 2))), None
        k = int(np.argmin(bic))
        return float(theta[k]), float(sd[k]), k

    if not dp:
        est, se, k = summarise(theta_v, sd_v, l_v)
        if k is not None:
            extras["invalid_snps"] = snps[fits[k][3] != 0].tolist()
        method = "cML-MA-BIC" if ma else "cML-BIC"
    else:
        th = np.empty((len(K_vec), num_pert))
        sdm = np.empty_like(th)
        ll = np.empty_like(th)
        for j in range(num_pert):
            bxn = bx + gen.normal(0, 1, p) * bxse
            byn = by + gen.normal(0, 1, p) * byse
            for i, K in enumerate(K_vec):
                f = _cml_random(bxn, byn, bxse, byse, int(K), random_start_pert, maxit, gen)
                th[i, j], sdm[i, j], ll[i, j] = f[0], f[1], f[2]
        sd_pt = np.std(th, axis=1, ddof=1)
        bic = np.log(n) * K_vec + 2 * l_v
        k0 = int(np.argmin(bic - bic.min()))
        more_var = float(np.var(sdm[k0] ** 2, ddof=1))
        x = th[k0]
        sd_x = np.sqrt((np.mean((x - x.mean()) ** 4) - (num_pert - 3) / (num_pert - 1)
                        * np.var(x, ddof=1) ** 2) / num_pert + more_var)
        extras["GOF1_p"] = _norm_p((sd_v[k0] ** 2 - sd_pt[k0] ** 2) / sd_x)
        extras["GOF2_p"] = _norm_p((sd_v[k0] ** 2 - sd_pt[k0] ** 2)
                                   / np.sqrt(2 / (num_pert - 1) * sd_pt[k0] ** 4 + more_var))
        est, se, _ = summarise(th.mean(axis=1), sd_pt, ll.mean(axis=1))
        method = "cML-MA-BIC-DP" if ma else "cML-BIC-DP"
    if not conv:
        bad = K_vec[~conv_K & (w0 >= 1e-8)]
        warnings.warn(f"cML: the coordinate descent did not converge within maxit for K = "
                      f"{bad.tolist()[:10]} (BIC weight >= 1e-8; raise maxit); result.converged "
                      "is False (per-K flags in extras['converged_K'])", RuntimeWarning, stacklevel=2)
    z = _zcrit(alpha)
    return MRPkgResult(method=method, estimate=est, se=se, ci_low=est - z * se, ci_high=est + z * se,
                       pval=_norm_p(est / se), n_snps=p, alpha=alpha, converged=conv,
                       extras=extras, excluded=excluded)


# ---------------------------------------------------------------------------- all methods
_ALL_ROWS = {
    "median": [("Simple median", "median", dict(weighting="simple")),
               ("Weighted median", "median", dict(weighting="weighted")),
               ("Penalized weighted median", "median", dict(weighting="penalized"))],
    "ivw": [("IVW", "ivw", {}), ("Penalized IVW", "ivw", dict(penalized=True)),
            ("Robust IVW", "ivw", dict(robust=True)),
            ("Penalized robust IVW", "ivw", dict(robust=True, penalized=True))],
    "egger": [("MR-Egger", "egger", {}), ("Penalized MR-Egger", "egger", dict(penalized=True)),
              ("Robust MR-Egger", "egger", dict(robust=True)),
              ("Penalized robust MR-Egger", "egger", dict(robust=True, penalized=True))],
}


def mr_allmethods(bx, bxse=None, by=None, byse=None, method: str = "all",
                  iterations: int = 10000, rng=None) -> pd.DataFrame:
    """MendelianRandomization ``mr_allmethods``: one row per estimate (Egger intercepts as
    ``(intercept)`` rows), columns ``method, estimate, se, ci_low, ci_high, pval, converged``.

    ``method``: ``"all"`` (3 medians, 4 IVW, 4 Egger), ``"median"``, ``"ivw"``, ``"egger"`` or
    ``"main"`` (simple and weighted median, IVW, MR-Egger).  IVW uses ``model="default"``;
    the medians' bootstrap uses ``rng`` (one Generator shared in row order)."""
    _check_choice("method", method, ("all", "ivw", "egger", "median", "main"))
    bx, bxse, by, byse, snps, excluded = _inputs(bx, bxse, by, byse)
    gen = check_rng(rng)
    if method == "all":
        spec = _ALL_ROWS["median"] + _ALL_ROWS["ivw"] + _ALL_ROWS["egger"]
    elif method == "main":
        spec = _ALL_ROWS["median"][:2] + _ALL_ROWS["ivw"][:1] + _ALL_ROWS["egger"][:1]
    else:
        spec = _ALL_ROWS[method]
    frames = []
    for name, kind, kw in spec:
        if kind == "median":
            res = mr_median(bx, bxse, by, byse, iterations=iterations, rng=gen, **kw)
        elif kind == "ivw":
            res = mr_ivw(bx, bxse, by, byse, **kw)
        else:
            res = mr_egger(bx, bxse, by, byse, **kw)
        f = res.to_frame()
        f.loc[0, "method"] = name
        frames.append(f)
    out = pd.concat(frames, ignore_index=True).drop(columns="n_snps")
    # attrs hold plain records (a DataFrame in attrs breaks pandas' repr of wide frames)
    out.attrs["excluded"] = excluded.to_dict("records") if isinstance(excluded, pd.DataFrame) else excluded
    return out
