"""One-sample MR and sample overlap: the bias of IVW towards the observational estimate, and a
bias-corrected IVW estimate.

Why
---
When the SNP-exposure (``bx``) and SNP-outcome (``by``) effects come from overlapping samples
(one-sample MR is the extreme case, overlap 1), their estimation errors are correlated, with
covariance (Bulik-Sullivan et al. 2015, Nat Genet 47:1236, the cross-trait LD-score intercept)

.. math:: c_j = \\mathrm{cov}(\\hat{bx}_j, \\hat{by}_j) = \\lambda\\,\\rho\\,sx_j\\,sy_j,
   \\qquad \\lambda = N_s / \\sqrt{N_x N_y},

where ``N_s`` participants are shared, ``N_x`` / ``N_y`` are the GWAS sizes, and ``rho`` is the
correlation of exposure and outcome in the shared participants (the observational correlation;
``lambda * rho`` is the LD-score regression cross-trait intercept).  Weak instruments then
bias IVW towards the observational association.

Expected bias and type-I error (:func:`overlap_bias`)
-----------------------------------------------------
Burgess, Davies & Thompson (2016), *Genet Epidemiol* 40:597-608: with a null causal effect the
IVW (= 2SLS) estimate is biased by the share ``overlap`` of participants in common times the
one-sample relative bias ``1/F``, relative to the bias of the observational (OLS) estimate:
``relative bias = overlap / F`` and ``bias = overlap * (beta_obs - beta) / F`` (``beta = 0``).
Their expected type-I error takes the estimate as normal with that mean and standard error
``se``: ``P(|b / se| > z) = Phi(-z - bias/se) + Phi(-z + bias/se)``, ``z = Phi^{-1}(1 - alpha/2)``.
With a non-zero causal effect the first-order expansion adds the two-sample attenuation
``-(1 - overlap) beta / F``; :func:`overlap_bias` reports ``(overlap * beta_obs - beta) / F``,
which is Burgess et al.'s formula at ``beta = 0`` and Burgess & Thompson's (2011, *Stat Med*
30:1312) one-sample ``(beta_obs - beta) / F`` at ``overlap = 1``.

Corrected estimate (:func:`mr_ivw_overlap`)
-------------------------------------------
The bias-corrected estimating equation of MRBEE (Lorincz-Comi, Yang, Li & Zhu 2024, *HGG Adv*
5:100290; univariable form) with inverse-variance weights ``w_j = 1 / sy_j^2``: since
``E[bx_j by_j] = gamma_j Gamma_j + c_j`` and ``E[bx_j^2] = gamma_j^2 + sx_j^2``,

.. math:: \\hat\\theta_c = \\frac{\\sum_j w_j (bx_j by_j - c_j)}{\\sum_j w_j (bx_j^2 - sx_j^2)}

is unbiased to first order whatever the overlap (with ``c_j = 0`` it is the debiased IVW of Ye,
Shao & Kang 2021, *Ann Stat* 49:2079).  Its variance (sandwich, errors bivariate normal): with
``u_j = by_j - theta bx_j``, ``var(u_j) = sy_j^2 + theta^2 sx_j^2 - 2 theta c_j`` and
``cov(bx_j, u_j) = c_j - theta sx_j^2``,

.. math:: V = \\frac{\\sum_j w_j^2 \\{bx_j^2\\,\\mathrm{var}(u_j) + \\mathrm{cov}(bx_j, u_j)^2\\}}
          {\\{\\sum_j w_j (bx_j^2 - sx_j^2)\\}^2},

multiplied by ``max(1, phi)``, ``phi = sum_j (u_j^2 / var(u_j)) / (n - 1)`` (over-dispersion from
heterogeneity, as TwoSampleMR's multiplicative random-effects IVW).  Normal p-value and CI.
Instruments must not have been selected in the same data (winner's curse is a separate bias,
MRlap's third component; Mounier & Kutalik 2023, *Genet Epidemiol* 47:314).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import InputError
from ._core import invalid_reasons, ivw_fit, prepare_harmonised

__all__ = ["overlap_fraction", "overlap_bias", "mr_ivw_overlap"]


def overlap_fraction(n_shared, n_exposure, n_outcome) -> float:
    """``lambda = N_s / sqrt(N_x N_y)``: the overlap entering the error covariance.

    Equals the share of participants in common when both GWAS have the same size (and 1 for
    one-sample MR).
    """
    vals = np.array([n_shared, n_exposure, n_outcome], dtype=float)
    if not np.all(np.isfinite(vals)) or (vals[1:] <= 0).any() or vals[0] < 0:
        raise InputError(f"n_shared, n_exposure, n_outcome must be finite with n_shared >= 0 and "
                         f"positive sample sizes, got {vals.tolist()}")
    if vals[0] > min(vals[1], vals[2]):
        raise InputError(f"n_shared ({vals[0]:g}) cannot exceed the smaller GWAS "
                         f"({min(vals[1], vals[2]):g}); give the number of participants in both")
    return float(vals[0] / np.sqrt(vals[1] * vals[2]))


def overlap_bias(overlap: float, f_stat: float, beta_obs: float | None = None,
                 se: float | None = None, beta: float = 0.0, alpha: float = 0.05) -> pd.Series:
    """Expected bias of IVW from sample overlap and its type-I error (Burgess et al. 2016).

    Parameters
    ----------
    overlap : float in [0, 1]
        Share of participants in common (:func:`overlap_fraction`; 1 for one-sample MR).
    f_stat : float
        F statistic of the instruments (e.g. the mean per-SNP ``bx^2 / sx^2``).
    beta_obs : float, optional
        Observational (OLS) estimate of the outcome on the exposure, same scale as the MR one.
    se : float, optional
        Standard error of the IVW estimate (for the expected type-I error).
    beta : float
        Causal effect at which the bias is evaluated (0: Burgess et al.'s null setting).
    alpha : float
        Two-sided significance level.

    Returns
    -------
    Series with ``relative_bias`` (``overlap / F``), ``bias`` (``(overlap beta_obs - beta) / F``,
    NaN without ``beta_obs``) and ``type1_error`` (NaN without ``beta_obs`` and ``se``; the
    probability that a test of ``beta = 0`` at level ``alpha`` rejects, given that bias).
    """
    if not 0 <= overlap <= 1:
        raise InputError(f"overlap must be in [0, 1] (share of shared participants), got {overlap}")
    if not (np.isfinite(f_stat) and f_stat > 0):
        raise InputError(f"f_stat must be positive, got {f_stat}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be in (0, 1), got {alpha}")
    rel = overlap / f_stat
    bias = np.nan if beta_obs is None else (overlap * beta_obs - beta) / f_stat
    t1 = np.nan
    if se is not None and beta_obs is not None:
        if not se > 0:
            raise InputError(f"se must be positive, got {se}")
        z = stats.norm.isf(alpha / 2)
        t1 = float(stats.norm.cdf(-z - bias / se) + stats.norm.cdf(-z + bias / se))
    return pd.Series({"overlap": float(overlap), "f_stat": float(f_stat), "relative_bias": rel,
                      "bias": bias, "type1_error": t1})


def mr_ivw_overlap(dat: pd.DataFrame, rho: float | None = None, *, overlap: float | None = None,
                   n_shared=None, n_exposure=None, n_outcome=None,
                   ldsc_intercept: float | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """IVW and its sample-overlap-corrected version, with Burgess et al.'s bias report.

    See the module docstring for the formulas.

    Parameters
    ----------
    dat : DataFrame
        Harmonised SNPs (TwoSampleMR dotted or snake_case names; ``mr_keep`` rows used).
    rho : float in (-1, 1)
        Correlation of exposure and outcome in the shared participants (observational
        correlation).  Not needed with ``ldsc_intercept``.
    overlap : float in [0, 1], optional
        ``lambda = N_s / sqrt(N_x N_y)`` (1 for one-sample MR); or give ``n_shared``,
        ``n_exposure`` and ``n_outcome``.
    ldsc_intercept : float, optional
        Cross-trait LD-score regression intercept, used as ``lambda * rho`` directly.
    alpha : float
        For the confidence intervals and the expected type-I error.

    Returns
    -------
    DataFrame
        Rows "Inverse variance weighted" (TwoSampleMR ``mr_ivw``: multiplicative random effects)
        and "IVW, sample-overlap corrected"; columns ``method, nsnp, b, se, pval, lo_ci, up_ci``.
        ``attrs``: ``overlap``, ``rho``, ``error_correlation`` (``lambda rho``), ``f_mean`` (mean
        ``bx^2/sx^2``), ``f_weighted`` (``sum w bx^2 / sum w sx^2``), ``relative_bias`` and
        ``expected_bias`` (Burgess et al. 2016 at a null effect: ``sum w c / sum w bx^2`` =
        ``lambda beta_obs / F_w``), ``type1_error`` (expected, of the IVW test at ``alpha``),
        ``phi`` (over-dispersion) and ``excluded`` (SNPs not used, with reasons).
    """
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be in (0, 1), got {alpha}")
    if ldsc_intercept is not None:
        if rho is not None or overlap is not None or n_shared is not None:
            raise InputError("give either ldsc_intercept or rho with the overlap, not both")
        r = float(ldsc_intercept)
        lam, rho_v = np.nan, np.nan
    else:
        if rho is None:
            raise InputError("rho (the observational exposure-outcome correlation in the shared "
                             "participants) is needed; or give ldsc_intercept")
        if not -1 < rho < 1:
            raise InputError(f"rho must be a correlation in (-1, 1), got {rho}")
        if overlap is None:
            if n_shared is None or n_exposure is None or n_outcome is None:
                raise InputError("give overlap (1 for one-sample MR) or n_shared, n_exposure and "
                                 "n_outcome")
            lam = overlap_fraction(n_shared, n_exposure, n_outcome)
        else:
            if n_shared is not None:
                raise InputError("give overlap or n_shared/n_exposure/n_outcome, not both")
            if not 0 <= overlap <= 1:
                raise InputError(f"overlap must be in [0, 1], got {overlap}")
            lam = float(overlap)
        rho_v = float(rho)
        r = lam * rho_v
    if not -1 < r < 1:
        raise InputError(f"the error correlation lambda * rho = {r} must lie in (-1, 1)")

    full = prepare_harmonised(dat, mr_keep_only=False)
    keep = full["mr_keep"].to_numpy()
    reason = invalid_reasons(full)[~keep]
    excluded = pd.DataFrame({"SNP": full["SNP"].astype(str).to_numpy()[~keep],
                             "reason": np.where(reason != "", reason, "mr_keep = False")})
    d = full[keep]
    bx, sx, by, sy = (d[c].to_numpy(dtype=np.float64)
                      for c in ("beta.exposure", "se.exposure", "beta.outcome", "se.outcome"))
    n = bx.size
    if n < 2:
        raise InputError(f"mr_ivw_overlap needs at least 2 SNPs, got {n}")
    w = 1.0 / sy**2
    c = r * sx * sy
    z = stats.norm.isf(alpha / 2)

    ivw = ivw_fit(bx, by, sy)
    denom = float(np.sum(w * (bx**2 - sx**2)))
    if not denom > 0:
        raise InputError(
            f"the instruments are too weak for the bias correction: sum w (bx^2 - sx^2) = "
            f"{denom:.3g} <= 0 (mean F = {np.mean(bx**2 / sx**2):.3g}); use stronger instruments "
            "or non-overlapping samples")
    theta = float(np.sum(w * (bx * by - c)) / denom)
    var_u = sy**2 + theta**2 * sx**2 - 2 * theta * c
    cov_xu = c - theta * sx**2
    v_model = float(np.sum(w**2 * (bx**2 * var_u + cov_xu**2))) / denom**2
    u = by - theta * bx
    phi = float(np.sum(u**2 / var_u) / (n - 1)) if n > 1 else np.nan
    se_c = np.sqrt(v_model * max(1.0, phi))

    f_mean = float(np.mean(bx**2 / sx**2))
    f_w = float(np.sum(w * bx**2) / np.sum(w * sx**2))
    if f_w < 10:
        warnings.warn(f"weak instruments (inverse-variance weighted mean F = {f_w:.3g} < 10): "
                      "the uncorrected IVW estimate is biased towards the observational "
                      "association by about overlap / F of its bias; see the corrected row",
                      UserWarning, stacklevel=2)
    expected_bias = float(np.sum(w * c) / np.sum(w * bx**2))
    t1 = float(stats.norm.cdf(-z - expected_bias / ivw.se) + stats.norm.cdf(-z + expected_bias / ivw.se))

    rows = []
    for label, b, se in (("Inverse variance weighted", ivw.b, ivw.se),
                         ("IVW, sample-overlap corrected", theta, se_c)):
        rows.append({"method": label, "nsnp": n, "b": b, "se": se,
                     "pval": float(2 * stats.norm.sf(abs(b / se))),
                     "lo_ci": b - z * se, "up_ci": b + z * se})
    out = pd.DataFrame(rows)
    out.attrs.update(overlap=lam, rho=rho_v, error_correlation=r, f_mean=f_mean, f_weighted=f_w,
                     relative_bias=(lam / f_w if np.isfinite(lam) else np.nan),
                     expected_bias=expected_bias, type1_error=t1, phi=phi, excluded=excluded)
    return out
