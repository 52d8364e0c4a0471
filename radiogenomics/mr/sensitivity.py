"""Sensitivity analyses for two-sample MR, output-compatible with TwoSampleMR 0.7.9.

Every function takes a harmonised frame (TwoSampleMR dotted or snake_case column names, see
:func:`radiogenomics.mr._core.normalise_columns`), analyses the rows with ``mr_keep == True``
(all rows when there is no ``mr_keep`` column) separately for each ``(id.exposure, id.outcome)``
pair, and returns a :class:`pandas.DataFrame` with TwoSampleMR's column names and row order.

Notation: for SNP ``j``, ``bx_j``/``sx_j`` are the SNP-exposure effect and SE, ``by_j``/``sy_j``
the SNP-outcome effect and SE, ``w_j = 1 / sy_j^2`` the first-order weights.

References
----------
Bowden J, Davey Smith G, Burgess S (2015). Mendelian randomization with invalid instruments:
effect estimation and bias detection through Egger regression. Int J Epidemiol 44:512-525.
Bowden J et al. (2016). Assessing the suitability of summary data for two-sample MR analyses
using MR-Egger regression: the role of the I^2 statistic. Int J Epidemiol 45:1961-1974.
Bowden J et al. (2019). Improving the accuracy of two-sample summary-data MR: moving beyond the
NOME assumption. Int J Epidemiol 48:728-742 (Cochran's and Rucker's Q).
Hemani G, Tilling K, Davey Smith G (2017). Orienting the causal relationship between imprecisely
measured traits using GWAS summary data. PLoS Genet 13:e1007081 (Steiger test).
Hemani G et al. (2018). The MR-Base platform supports systematic causal inference across the
human phenome. eLife 7:e34408 (TwoSampleMR).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import InputError
from ._core import egger_fit, ivw_fit, prepare_harmonised

__all__ = [
    "mr_heterogeneity", "mr_pleiotropy_test", "mr_leaveoneout", "mr_singlesnp",
    "directionality_test", "instrument_strength", "isq_gx", "get_r_from_pn", "get_r_from_bsen",
]

_NEEDED = ("beta.exposure", "se.exposure", "beta.outcome", "se.outcome")
_IDS = ("id.exposure", "id.outcome", "exposure", "outcome")
_METHOD_NAMES = {"ivw": "Inverse variance weighted", "egger": "MR Egger"}


# --------------------------------------------------------------------------- helpers
_prepare = prepare_harmonised


def _groups(d: pd.DataFrame):
    """``(id.exposure, id.outcome)`` groups in sorted order, as plyr::ddply gives them."""
    if len(d) == 0:
        return []
    return list(d.groupby(["id.exposure", "id.outcome"], sort=True, dropna=False))


def _vectors(x: pd.DataFrame):
    return tuple(x[c].to_numpy(dtype=np.float64) for c in _NEEDED)


def _ivw(bx, by, sx, sy):
    """TwoSampleMR ``mr_ivw``: b, multiplicative random-effects SE (floored), normal p."""
    if bx.size < 2:
        return np.nan, np.nan, np.nan
    f = ivw_fit(bx, by, sy)
    return f.b, f.se, 2 * stats.norm.sf(abs(f.b / f.se))


def _egger(bx, by, sx, sy):
    """TwoSampleMR ``mr_egger_regression``: slope, SE (divided by min(1, sigma)), p on t(n-2)."""
    if bx.size < 3:
        return np.nan, np.nan, np.nan
    f = egger_fit(bx, by, sy)
    return f.b, f.se, 2 * stats.t.sf(abs(f.b / f.se), bx.size - 2)


_ESTIMATORS = {"ivw": _ivw, "egger": _egger}


def _method(method: str):
    key = {"mr_ivw": "ivw", "mr_egger_regression": "egger"}.get(method, method)
    if key not in _ESTIMATORS:
        raise InputError(f"method must be one of {sorted(_ESTIMATORS)} (or TwoSampleMR's 'mr_ivw', "
                         f"'mr_egger_regression'), got {method!r}")
    return key


def _samplesize(x: pd.DataFrame):
    return x["samplesize.outcome"].iloc[0] if "samplesize.outcome" in x.columns else np.nan


# --------------------------------------------------------------------------- heterogeneity
def mr_heterogeneity(dat: pd.DataFrame, method_list=("egger", "ivw")) -> pd.DataFrame:
    r"""Cochran's Q (IVW) and Rucker's Q' (MR-Egger) heterogeneity statistics.

    .. math::

        Q = \sum_j w_j (b_{Y,j} - \hat\beta_{IVW} b_{X,j})^2 \sim \chi^2_{n-1}, \qquad
        Q' = \sum_j w_j (b_{Y,j} - \hat\beta_0 - \hat\beta_E b_{X,j})^2 \sim \chi^2_{n-2}

    with ``w_j = 1 / se_Y,j^2`` and, for Egger, SNPs oriented to positive ``b_X`` (Bowden et al.
    2019; Rucker et al. 2011).  ``Q_pval`` is the upper chi-squared tail.

    Parameters
    ----------
    dat : DataFrame
        Harmonised SNPs (``mr_keep`` rows used).
    method_list : sequence of {"egger", "ivw"}
        Rows to compute, in this order (TwoSampleMR's default is Egger then IVW).  A method with
        too few SNPs (IVW < 2, Egger < 3) is left out, as TwoSampleMR does.

    Returns
    -------
    DataFrame
        Columns ``id.exposure, id.outcome, outcome, exposure, method, Q, Q_df, Q_pval``.
    """
    keys = [_method(m) for m in method_list]
    d = _prepare(dat)
    rows = []
    for (ide, ido), x in _groups(d):
        bx, sx, by, sy = _vectors(x)
        n = bx.size
        for k in keys:
            if (k == "ivw" and n < 2) or (k == "egger" and n < 3):
                continue
            f = ivw_fit(bx, by, sy) if k == "ivw" else egger_fit(bx, by, sy)
            rows.append({"id.exposure": ide, "id.outcome": ido, "outcome": x["outcome"].iloc[0],
                         "exposure": x["exposure"].iloc[0], "method": _METHOD_NAMES[k],
                         "Q": f.q, "Q_df": f.q_df, "Q_pval": stats.chi2.sf(f.q, f.q_df)})
    return pd.DataFrame(rows, columns=["id.exposure", "id.outcome", "outcome", "exposure", "method",
                                       "Q", "Q_df", "Q_pval"])


def mr_pleiotropy_test(dat: pd.DataFrame) -> pd.DataFrame:
    r"""MR-Egger intercept test of directional pleiotropy (Bowden et al. 2015).

    The intercept :math:`\hat\beta_0` of the weighted regression
    :math:`b_{Y,j} = \beta_0 + \beta_E b_{X,j} + \varepsilon_j` (weights ``1/se_Y^2``, SNPs
    oriented to positive ``b_X``), its SE divided by ``min(1, sigma)`` (residual SE floored at 1,
    as TwoSampleMR) and a two-sided p-value from Student's t on ``n - 2`` degrees of freedom.
    Groups with fewer than 3 SNPs give NaN.

    Returns
    -------
    DataFrame
        Columns ``id.exposure, id.outcome, outcome, exposure, egger_intercept, se, pval``.
    """
    d = _prepare(dat)
    rows = []
    for (ide, ido), x in _groups(d):
        bx, sx, by, sy = _vectors(x)
        if bx.size < 3:
            b0 = se0 = p0 = np.nan
        else:
            f = egger_fit(bx, by, sy)
            b0, se0 = f.intercept, f.intercept_se
            p0 = 2 * stats.t.sf(abs(b0 / se0), bx.size - 2)
        rows.append({"id.exposure": ide, "id.outcome": ido, "outcome": x["outcome"].iloc[0],
                     "exposure": x["exposure"].iloc[0], "egger_intercept": b0, "se": se0,
                     "pval": p0})
    return pd.DataFrame(rows, columns=["id.exposure", "id.outcome", "outcome", "exposure",
                                       "egger_intercept", "se", "pval"])


_LOO_COLS = ["exposure", "outcome", "id.exposure", "id.outcome", "samplesize", "SNP", "b", "se", "p"]


def mr_leaveoneout(dat: pd.DataFrame, method: str = "ivw") -> pd.DataFrame:
    r"""Leave-one-out analysis: the estimator refitted without each SNP in turn.

    Row ``j`` is the estimate on all SNPs except ``j``; the last row ``"All"`` uses every SNP.
    With 2 or fewer SNPs only the ``"All"`` row is returned (TwoSampleMR's behaviour).

    Parameters
    ----------
    dat : DataFrame
        Harmonised SNPs.
    method : {"ivw", "egger"}
        ``"ivw"``: TwoSampleMR ``mr_ivw`` (multiplicative random effects, SE floored at the
        fixed-effect SE, normal p); ``"egger"``: ``mr_egger_regression`` (t on n-2); fits with too
        few SNPs give NaN.

    Returns
    -------
    DataFrame
        Columns ``exposure, outcome, id.exposure, id.outcome, samplesize, SNP, b, se, p``.
    """
    fn = _ESTIMATORS[_method(method)]
    d = _prepare(dat)
    rows = []
    for (ide, ido), x in _groups(d):
        bx, sx, by, sy = _vectors(x)
        n = bx.size
        base = {"exposure": x["exposure"].iloc[0], "outcome": x["outcome"].iloc[0],
                "id.exposure": ide, "id.outcome": ido, "samplesize": _samplesize(x)}
        if n > 2:
            keep = ~np.eye(n, dtype=bool)
            for i, snp in enumerate(x["SNP"].astype(str)):
                m = keep[i]
                b, se, p = fn(bx[m], by[m], sx[m], sy[m])
                rows.append({**base, "SNP": snp, "b": b, "se": se, "p": p})
        b, se, p = fn(bx, by, sx, sy)
        rows.append({**base, "SNP": "All", "b": b, "se": se, "p": p})
    return pd.DataFrame(rows, columns=_LOO_COLS)


def mr_singlesnp(dat: pd.DataFrame, all_method=("ivw", "egger")) -> pd.DataFrame:
    r"""Per-SNP Wald ratios plus the all-SNP estimates (TwoSampleMR ``mr_singlesnp``).

    Wald ratio with first-order SE and normal p-value:

    .. math:: \hat\beta_j = b_{Y,j} / b_{X,j}, \qquad se_j = se_{Y,j} / |b_{X,j}|

    followed by one row per ``all_method`` named ``"All - Inverse variance weighted"`` and
    ``"All - MR Egger"`` (NaN when there are too few SNPs).

    Returns
    -------
    DataFrame
        Columns ``exposure, outcome, id.exposure, id.outcome, samplesize, SNP, b, se, p``.
    """
    keys = [_method(m) for m in all_method]
    d = _prepare(dat)
    rows = []
    for (ide, ido), x in _groups(d):
        bx, sx, by, sy = _vectors(x)
        base = {"exposure": x["exposure"].iloc[0], "outcome": x["outcome"].iloc[0],
                "id.exposure": ide, "id.outcome": ido, "samplesize": _samplesize(x)}
        with np.errstate(divide="ignore", invalid="ignore"):
            b = by / bx
            se = sy / np.abs(bx)
            p = 2 * stats.norm.sf(np.abs(b) / se)
        for snp, bi, si, pi in zip(x["SNP"].astype(str), b, se, p):
            rows.append({**base, "SNP": snp, "b": bi, "se": si, "p": pi})
        for k in keys:
            bb, ss, pp = _ESTIMATORS[k](bx, by, sx, sy)
            rows.append({**base, "SNP": f"All - {_METHOD_NAMES[k]}", "b": bb, "se": ss, "p": pp})
    return pd.DataFrame(rows, columns=_LOO_COLS)


# --------------------------------------------------------------------------- Steiger
def get_r_from_pn(p, n):
    r"""Absolute SNP-trait correlation from a p-value and sample size (TwoSampleMR).

    :math:`F = F^{-1}_{1, n-2}(1 - p)` (upper quantile), :math:`r^2 = F / (n - 2 + F)`.  Where the
    quantile overflows (p underflowing double precision) TwoSampleMR solves numerically; here
    the chi-squared/normal tail is inverted on the log scale instead, which agrees to the
    precision of the input.
    """
    p = np.asarray(p, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    fval = stats.f.isf(p, 1, n - 2)
    bad = ~np.isfinite(fval) & (p > 0)
    if np.any(bad):
        # F(1, n-2) ~ z^2 for large n; invert log p of the two-sided normal
        z = -stats.norm.ppf(np.broadcast_to(p, fval.shape)[bad] / 2)
        fval = np.array(fval, dtype=np.float64)
        fval[bad] = z**2
    r2 = fval / (n - 2 + fval)
    return np.sqrt(r2)


def get_r_from_bsen(b, se, n):
    r"""Signed SNP-trait correlation from effect, SE and sample size: ``F = (b/se)^2``,
    ``r^2 = F / (n - 2 + F)`` (TwoSampleMR ``get_r_from_bsen``)."""
    b, se, n = (np.asarray(v, dtype=np.float64) for v in (b, se, n))
    f = (b / se) ** 2
    return np.sqrt(f / (n - 2 + f)) * np.sign(b)


def directionality_test(dat: pd.DataFrame, mr_keep_only: bool = False) -> pd.DataFrame:
    r"""MR Steiger test of the causal direction (Hemani, Tilling & Davey Smith 2017).

    The variance explained by the instruments in exposure and outcome,
    :math:`R^2_X = \sum_j r_{X,j}^2` and :math:`R^2_Y = \sum_j r_{Y,j}^2`, are compared with
    the test for two independent correlations (``psych::r.test``):

    .. math::

        z = \frac{\operatorname{atanh}(\sqrt{R^2_X}) - \operatorname{atanh}(\sqrt{R^2_Y})}
                 {\sqrt{1/(\bar n_X - 3) + 1/(\bar n_Y - 3)}}, \qquad p = 2\Phi(-|z|)

    ``correct_causal_direction`` is ``R^2_X > R^2_Y``.  Per-SNP correlations are taken from the
    columns ``r.exposure`` / ``r.outcome`` when present; otherwise, as TwoSampleMR, from
    :func:`get_r_from_pn` on ``pval.*`` and ``samplesize.*``, which assumes quantitative
    traits (for a binary trait compute ``r`` on the liability scale first and pass it in).

    Unlike the other functions here, TwoSampleMR's ``directionality_test`` does not drop
    ``mr_keep == FALSE`` rows; ``mr_keep_only=False`` (default) reproduces that, ``True``
    restricts the test to the SNPs used in the MR estimates.

    Measured against TwoSampleMR 0.7.9: the summed outcome r^2 (moderate p-values) agrees to
    ~1e-9, the summed exposure r^2 (p-values down to 1e-158) differs by 2e-4 to 1.3e-3 relative.
    The likely cause (not verified in R) is the accuracy of R's ``qf``/``qbeta`` in the extreme
    upper tail; the quantile here is SciPy's.

    Returns
    -------
    DataFrame
        Columns ``id.exposure, id.outcome, exposure, outcome, snp_r2.exposure, snp_r2.outcome,
        correct_causal_direction, steiger_pval``.
    """
    d = _prepare(dat, mr_keep_only=mr_keep_only)
    for side in ("exposure", "outcome"):
        if f"r.{side}" not in d.columns:
            need = [c for c in (f"pval.{side}", f"samplesize.{side}") if c not in d.columns]
            if need:
                raise InputError(f"directionality_test needs r.{side}, or pval.{side} and "
                                 f"samplesize.{side} to derive it; missing {need}")
            d[f"r.{side}"] = get_r_from_pn(d[f"pval.{side}"], d[f"samplesize.{side}"])
    rows = []
    for (ide, ido), x in _groups(d):
        cols = ["r.exposure", "r.outcome", "samplesize.exposure", "samplesize.outcome"]
        v = x[[c for c in cols if c in x.columns]].astype(float)
        v = v[v.notna().all(axis=1)]
        rx = np.sqrt(np.sum(np.abs(v["r.exposure"].to_numpy()) ** 2))
        ry = np.sqrt(np.sum(np.abs(v["r.outcome"].to_numpy()) ** 2))
        if len(v) == 0 or "samplesize.exposure" not in v or "samplesize.outcome" not in v:
            raise InputError("directionality_test needs samplesize.exposure and samplesize.outcome "
                             "(non-missing) for the r test")
        nx, ny = v["samplesize.exposure"].mean(), v["samplesize.outcome"].mean()
        z = (np.arctanh(rx) - np.arctanh(ry)) / np.sqrt(1 / (nx - 3) + 1 / (ny - 3))
        rows.append({"id.exposure": ide, "id.outcome": ido, "exposure": x["exposure"].iloc[0],
                     "outcome": x["outcome"].iloc[0], "snp_r2.exposure": rx**2,
                     "snp_r2.outcome": ry**2, "correct_causal_direction": bool(rx > ry),
                     "steiger_pval": 2 * stats.norm.sf(abs(z))})
    return pd.DataFrame(rows, columns=["id.exposure", "id.outcome", "exposure", "outcome",
                                       "snp_r2.exposure", "snp_r2.outcome",
                                       "correct_causal_direction", "steiger_pval"])


# --------------------------------------------------------------------------- instrument strength
def instrument_strength(dat: pd.DataFrame) -> pd.DataFrame:
    r"""Per-SNP first-stage F statistics, :math:`F_j = (b_{X,j} / se_{X,j})^2`.

    This is the usual summary-data approximation of the F statistic of a single instrument
    (Burgess & Thompson 2011, Avoiding bias from weak instruments in MR, Int J Epidemiol
    40:755-764); ``F < 10`` flags a weak instrument.  The frame has one row per SNP and the
    attribute ``attrs["mean_F"]`` holds the mean F per ``(id.exposure, id.outcome)``.

    Returns
    -------
    DataFrame
        Columns ``id.exposure, id.outcome, SNP, F, weak`` (``weak`` = ``F < 10``), plus a final
        row per group with ``SNP = "Mean"``.
    """
    d = _prepare(dat)
    rows, means = [], {}
    for (ide, ido), x in _groups(d):
        bx, sx, _, _ = _vectors(x)
        f = (bx / sx) ** 2
        for snp, fj in zip(x["SNP"].astype(str), f):
            rows.append({"id.exposure": ide, "id.outcome": ido, "SNP": snp, "F": fj,
                         "weak": bool(fj < 10)})
        mf = float(np.mean(f)) if f.size else np.nan
        rows.append({"id.exposure": ide, "id.outcome": ido, "SNP": "Mean", "F": mf,
                     "weak": bool(mf < 10)})
        means[(ide, ido)] = mf
    out = pd.DataFrame(rows, columns=["id.exposure", "id.outcome", "SNP", "F", "weak"])
    out.attrs["mean_F"] = means
    return out


def isq_gx(dat: pd.DataFrame = None, *, bx=None, sx=None, absolute: bool = True) -> float:
    r""":math:`I^2_{GX}`, the NOME-violation measure for MR-Egger (Bowden et al. 2016).

    .. math::

        Q_{GX} = \sum_j w_j (y_j - \bar y_w)^2,\quad w_j = 1/se_{X,j}^2,\quad
        I^2_{GX} = \max\left(0, \frac{Q_{GX} - (k - 1)}{Q_{GX}}\right)

    with ``y_j = |b_X,j|`` (``absolute=True``, TwoSampleMR's convention, which matches MR-Egger's
    orientation) or the signed ``b_X,j``.  An :math:`I^2_{GX}` below 0.9 signals regression
    dilution in the Egger slope.

    Parameters
    ----------
    dat : DataFrame, optional
        Harmonised SNPs (``mr_keep`` rows, one exposure-outcome pair).  Alternatively pass
        ``bx`` and ``sx`` arrays.
    absolute : bool
        Use ``|b_X|`` (default, TwoSampleMR ``Isq(abs(beta.exposure), se.exposure)``).
    """
    if dat is not None:
        d = _prepare(dat)
        if d[["id.exposure", "id.outcome"]].drop_duplicates().shape[0] > 1:
            raise InputError("isq_gx takes one exposure-outcome pair; subset dat by "
                             "id.exposure/id.outcome first")
        bx, sx = d["beta.exposure"].to_numpy(float), d["se.exposure"].to_numpy(float)
    elif bx is None or sx is None:
        raise InputError("give either dat or both bx and sx")
    y = np.abs(np.asarray(bx, float)) if absolute else np.asarray(bx, float)
    w = 1.0 / np.asarray(sx, float) ** 2
    k = y.size
    if k < 2:
        return float("nan")
    mu = np.sum(y * w) / np.sum(w)
    q = np.sum(w * (y - mu) ** 2)
    return float(max(0.0, (q - (k - 1)) / q))
