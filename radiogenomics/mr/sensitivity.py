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

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import InputError
from . import _tsmr_methods as _tm
from .instruments import get_r_from_bsen, get_r_from_pn  # noqa: F401 (re-exported)
from ._core import egger_fit, ivw_fit, prepare_harmonised
from .estimators import METHODS

__all__ = [
    "mr_heterogeneity", "mr_rucker", "mr_pleiotropy_test", "mr_leaveoneout", "mr_singlesnp",
    "directionality_test", "instrument_strength", "isq_gx", "get_r_from_pn", "get_r_from_bsen",
]

_NEEDED = ("beta.exposure", "se.exposure", "beta.outcome", "se.outcome")
_IDS = ("id.exposure", "id.outcome", "exposure", "outcome")
_METHOD_NAMES = {"ivw": "Inverse variance weighted", "egger": "MR Egger"}


# --------------------------------------------------------------------------- helpers
def _prepare(dat, extra=(), mr_keep_only: bool = True) -> pd.DataFrame:
    """:func:`prepare_harmonised`, remembering each pair's first appearance in ``dat`` (rows
    with ``mr_keep`` False included), the order TwoSampleMR 0.7.9 reports pairs in
    (``unique(dat[, c("id.exposure", "id.outcome")])``)."""
    d = prepare_harmonised(dat, extra, mr_keep_only=False)
    pairs = pd.MultiIndex.from_arrays([d["id.exposure"], d["id.outcome"]])
    codes, _ = pd.factorize(pairs)
    d["_pair_rank"] = codes
    if mr_keep_only:
        d = d[d["mr_keep"].to_numpy(dtype=bool)]
    return d


def _groups(d: pd.DataFrame):
    """``(id.exposure, id.outcome)`` groups in order of first appearance (TwoSampleMR 0.7.9)."""
    if len(d) == 0:
        return []
    if "_pair_rank" in d.columns:
        d = d.sort_values("_pair_rank", kind="stable")
    return list(d.groupby(["id.exposure", "id.outcome"], sort=False, dropna=False))


def _vectors(x: pd.DataFrame):
    return tuple(x[c].to_numpy(dtype=np.float64) for c in _NEEDED)


def _ivw(bx, by, sx, sy):
    """TwoSampleMR ``mr_ivw``: b, multiplicative random-effects SE (floored), normal p."""
    if bx.size < 2:
        return np.nan, np.nan, np.nan
    f = ivw_fit(bx, by, sy)
    return f.b, f.se, 2 * stats.norm.sf(abs(f.b / f.se))


def _egger_na(bx, sy) -> bool:
    """True where TwoSampleMR's ``mr_egger_regression`` returns NA: fewer than 3 SNPs, or
    collinear exposure effects (all ``|bx|`` equal; then with its warning)."""
    if bx.size < 3:
        return True
    if _tm.egger_collinear(bx, sy):
        warnings.warn("Collinearities in MR Egger (all |beta.exposure| equal): the Egger slope "
                      "and intercept are not identified and are NA, as in TwoSampleMR; try LD "
                      "pruning the exposure variables", UserWarning, stacklevel=4)
        return True
    return False


def _egger(bx, by, sx, sy):
    """TwoSampleMR ``mr_egger_regression``: slope, SE (divided by min(1, sigma)), p on t(n-2)."""
    if _egger_na(bx, sy):
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
def _q_ivw(bx, by, sx, sy, kind):
    if bx.size < 2:
        return None
    f = ivw_fit(bx, by, sy)
    return f.q, f.q_df


def _q_egger(bx, by, sx, sy):
    if _egger_na(bx, sy):
        return None
    f = egger_fit(bx, by, sy)
    return f.q, f.q_df


def _q_extra(fn):
    def q(bx, by, sx, sy):
        r = fn(bx, by, sx, sy)
        return None if np.isnan(r["Q"]) else (r["Q"], r["Q_df"])
    return q


#: methods with a heterogeneity statistic (TwoSampleMR ``heterogeneity_test``, plus the IVW
#: variants, whose Q is the IVW one)
_HETEROGENEITY = {
    "mr_two_sample_ml": _q_extra(_tm.two_sample_ml),
    "mr_egger_regression": _q_egger,
    "mr_ivw": lambda *a: _q_ivw(*a, "ivw"),
    "mr_ivw_mre": lambda *a: _q_ivw(*a, "mre"),
    "mr_ivw_fe": lambda *a: _q_ivw(*a, "fe"),
    "mr_ivw_radial": _q_extra(_tm.ivw_radial),
    "mr_uwr": _q_extra(_tm.unweighted_regression),
}
_SHORT = {"ivw": "mr_ivw", "egger": "mr_egger_regression"}


def mr_heterogeneity(dat: pd.DataFrame, method_list=("mr_egger_regression", "mr_ivw")) -> pd.DataFrame:
    r"""Heterogeneity statistics of TwoSampleMR's ``mr_heterogeneity``.

    .. math::

        Q = \sum_j w_j (b_{Y,j} - \hat\beta_{IVW} b_{X,j})^2 \sim \chi^2_{n-1}, \qquad
        Q' = \sum_j w_j (b_{Y,j} - \hat\beta_0 - \hat\beta_E b_{X,j})^2 \sim \chi^2_{n-2}

    with ``w_j = 1 / se_Y,j^2`` and, for Egger, SNPs oriented to positive ``b_X`` (Bowden et al.
    2019; Rucker et al. 2011).  The other methods' ``Q`` (definitions in
    :mod:`radiogenomics.mr._tsmr_methods`): maximum likelihood ``2 l_min`` on ``n - 1`` df, IVW
    radial ``sum W (r - b)^2`` with modified second-order weights, unweighted regression
    ``RSS`` (residual variance times ``n - 1``).  ``Q_pval`` is the upper chi-squared tail.

    Parameters
    ----------
    dat : DataFrame
        Harmonised SNPs (``mr_keep`` rows used).
    method_list : sequence of str
        TwoSampleMR method objects, rows in this order (default Egger then IVW, as
        TwoSampleMR): ``mr_two_sample_ml``, ``mr_egger_regression``, ``mr_ivw``,
        ``mr_ivw_radial``, ``mr_uwr``, ``mr_ivw_mre``, ``mr_ivw_fe`` (``"egger"``/``"ivw"``
        also accepted).  As TwoSampleMR, pairs with fewer than 2 SNPs give no rows, and a method
        without a statistic there (MR-Egger with 2 SNPs or collinear exposure effects) is left
        out.

    Returns
    -------
    DataFrame
        Columns ``id.exposure, id.outcome, outcome, exposure, method, Q, Q_df, Q_pval``; pairs
        in order of first appearance in ``dat``.
    """
    objs = [_SHORT.get(m, m) for m in method_list]
    bad = [m for m in objs if m not in _HETEROGENEITY]
    if bad:
        raise InputError(f"no heterogeneity statistic for method(s) {bad}; choose from "
                         f"{list(_HETEROGENEITY)}")
    d = _prepare(dat)
    rows = []
    for (ide, ido), x in _groups(d):
        bx, sx, by, sy = _vectors(x)
        if bx.size < 2:
            continue
        for m in objs:
            r = _HETEROGENEITY[m](bx, by, sx, sy)
            if r is None:
                continue
            q, df = r
            rows.append({"id.exposure": ide, "id.outcome": ido, "outcome": x["outcome"].iloc[0],
                         "exposure": x["exposure"].iloc[0], "method": METHODS[m],
                         "Q": q, "Q_df": df, "Q_pval": stats.chi2.sf(q, df)})
    return pd.DataFrame(rows, columns=["id.exposure", "id.outcome", "outcome", "exposure", "method",
                                       "Q", "Q_df", "Q_pval"])


def _ols(X, y):
    """Unweighted ``lm(y ~ 0 + X)``: coefficients, lm SEs, residual SE, residuals, hat values."""
    q, r = np.linalg.qr(X)
    coef = np.linalg.solve(r, q.T @ y)
    res = y - X @ coef
    dfr = X.shape[0] - X.shape[1]
    sigma = float(np.sqrt(np.sum(res**2) / dfr))
    rinv = np.linalg.inv(r)
    se = sigma * np.sqrt(np.sum(rinv**2, axis=1))
    hat = np.sum(q**2, axis=1)
    return coef, se, sigma, res, hat


def _rucker_one(bx, by, sx, sy, alpha, q_thresh, test_dist):
    n = bx.size
    sgn = np.where(bx == 0, 1.0, np.sign(bx))
    by, bx = by * sgn, np.abs(bx)
    y, x, i = by / sy, bx / sy, 1 / sy
    z = stats.norm.isf(alpha / 2)
    normal_p = lambda t: 2 * stats.norm.sf(abs(t))            # noqa: E731
    t_p = lambda t, df: 2 * stats.t.sf(abs(t), df)             # noqa: E731
    # IVW (fixed / multiplicative random effects) on the radial scale
    ci, sei, sig_i, res_i, hat_i = _ols(x[:, None], y)
    b_ivw, se_lm = float(ci[0]), float(sei[0])
    q_ivw = sig_i**2 * (n - 1)
    se_ivw_fe = se_lm / max(sig_i, 1.0)
    p_ivw_fe = normal_p(b_ivw / se_ivw_fe) if test_dist == "z" else t_p(b_ivw / se_ivw_fe, n - 1)
    p_ivw_re = normal_p(b_ivw / se_lm) if test_dist == "z" else t_p(b_ivw / se_lm, n - 1)
    # Egger (intercept = coefficient of 1/sy)
    X = np.column_stack([i, x])
    ce, see, sig_e, res_e, hat_e = _ols(X, y)
    b0, b1 = float(ce[0]), float(ce[1])
    q_egger = sig_e**2 * (n - 2)
    se1_fe, se0_fe = see[1] / max(sig_e, 1.0), see[0] / max(sig_e, 1.0)
    p1_fe = t_p(b1 / se1_fe, n - 2)
    p0_fe = normal_p(b0 / se0_fe) if test_dist == "z" else t_p(b0 / se0_fe, n - 2)
    p1_re = t_p(b1 / see[1], n - 2)
    p0_re = normal_p(b0 / see[0]) if test_dist == "z" else t_p(b0 / see[0], n - 2)
    est = [b_ivw, b_ivw, b1, b1]
    se = [se_ivw_fe, se_lm, float(se1_fe), float(see[1])]
    rucker = pd.DataFrame({"Method": ["IVW fixed effects", "IVW random effects",
                                      "Egger fixed effects", "Egger random effects"],
                           "nsnp": n, "Estimate": est, "SE": se})
    rucker["CI_low"] = rucker["Estimate"] - z * rucker["SE"]
    rucker["CI_upp"] = rucker["Estimate"] + z * rucker["SE"]
    rucker["P"] = [p_ivw_fe, p_ivw_re, p1_fe, p1_re]
    q_diff = max(0.0, q_ivw - q_egger)
    p_ivw_q = stats.chi2.sf(q_ivw, n - 1)
    p_egger_q = stats.chi2.sf(q_egger, n - 2)
    p_diff = stats.chi2.sf(q_diff, 1)
    qtab = pd.DataFrame({"Method": ["Q_ivw", "Q_egger", "Q_diff"], "Q": [q_ivw, q_egger, q_diff],
                         "df": [n - 1, n - 2, 1], "P": [p_ivw_q, p_egger_q, p_diff]})
    intercept = pd.DataFrame({"Method": ["Egger fixed effects", "Egger random effects"],
                              "Estimate": [b0, b0], "SE": [float(se0_fe), float(see[0])]})
    intercept["CI_low"] = intercept["Estimate"] - z * intercept["SE"]
    intercept["CI_upp"] = intercept["Estimate"] + z * intercept["SE"]
    intercept["P"] = [p0_fe, p0_re]
    if p_ivw_q > q_thresh:
        res = "A"
    elif p_diff > q_thresh:
        res = "B"
    else:
        res = "D" if p_egger_q <= q_thresh else "C"
    selected = rucker.iloc[["ABCD".index(res)]].copy()
    selected["Method"] = "Rucker"
    if res in "AB":
        resid, hat, sig, k = res_i, hat_i, sig_i, 1
    else:
        resid, hat, sig, k = res_e, hat_e, sig_e, 2
    cooks = (resid / (sig * (1 - hat))) ** 2 * hat / k
    return {"rucker": rucker, "intercept": intercept, "Q": qtab, "res": res,
            "selected": selected.reset_index(drop=True), "cooksdistance": cooks}


class RuckerResult(list):
    """:func:`mr_rucker`'s per-pair dicts (a list, as TwoSampleMR returns) with a table view."""

    def to_frame(self) -> pd.DataFrame:
        """One row per pair: the model Rucker's framework selects (``res``), its estimate and
        the Q statistics."""
        rows = []
        for r in self:
            if r is None:
                continue
            sel = r["selected"].iloc[0]
            q = r["Q"].set_index("Method")
            rows.append({"id.exposure": r["id.exposure"], "id.outcome": r["id.outcome"],
                         "selected_model": r["res"], "nsnp": sel["nsnp"], "b": sel["Estimate"],
                         "se": sel["SE"], "pval": sel["P"], "Q_ivw": q.loc["Q_ivw", "Q"],
                         "Q_egger": q.loc["Q_egger", "Q"], "Q_diff_p": q.loc["Q_diff", "P"]})
        return pd.DataFrame(rows)

    summary = to_frame

    def __repr__(self) -> str:
        return "RuckerResult (Rucker's framework, TwoSampleMR mr_rucker)\n" + self.to_frame().to_string(index=False)


def mr_rucker(dat: pd.DataFrame, alpha: float = 0.05, q_thresh: float = 0.05,
              test_dist: str = "z") -> list:
    r"""Rucker's framework for choosing between IVW and MR-Egger (TwoSampleMR ``mr_rucker``).

    On the radial scale ``y_j = b_Y,j / se_Y,j``, ``x_j = |b_X,j| / se_Y,j`` (SNPs oriented to
    positive ``b_X``), two unweighted regressions: IVW ``y ~ 0 + x`` and Egger
    ``y ~ 0 + 1/se_Y + x``.  Cochran's ``Q = sigma_IVW^2 (n - 1)``, Rucker's
    ``Q' = sigma_Egger^2 (n - 2)`` and ``Q - Q'`` (floored at 0) on 1 df (Rucker et al. 2011,
    Treating individual studies as ... ; Bowden et al. 2018, IJE 47:1264).  Fixed-effect SEs are
    the lm SEs divided by ``max(1, sigma)``, random-effect SEs the lm SEs.  P-values as
    TwoSampleMR with ``test_dist = "z"``: IVW and intercepts normal, Egger slope t on
    ``n - 2`` df.  Model choice with ``Qthresh``: A = IVW fixed (Q not significant),
    B = IVW random (Q significant, Q - Q' not), C = Egger fixed (Q' not significant),
    D = Egger random.

    TwoSampleMR's bootstrap and jackknife versions (``mr_rucker_bootstrap``,
    ``mr_rucker_jackknife``) and the "mixture of experts" (``mr_moe``, which needs TwoSampleMR's
    trained random-forest objects, not available here) are not provided.

    Returns
    -------
    RuckerResult
        A list of dicts (``.to_frame()``: the selected rows; readable repr), one per
        ``(id.exposure, id.outcome)`` pair in order of first appearance, ``None`` for a
        pair with fewer than 3 SNPs (with a warning, as TwoSampleMR).  Keys: ``id.exposure,
        id.outcome, exposure, outcome``; ``rucker`` (DataFrame ``Method, nsnp, Estimate, SE,
        CI_low, CI_upp, P`` for IVW/Egger fixed/random effects), ``intercept`` (Egger
        intercept, fixed/random), ``Q`` (``Q_ivw, Q_egger, Q_diff`` with ``df`` and ``P``),
        ``res`` (selected model letter), ``selected`` (its row, ``Method = "Rucker"``),
        ``cooksdistance`` (of the selected regression).
    """
    if test_dist not in ("z", "t"):
        raise InputError(f"test_dist must be 'z' or 't', got {test_dist!r}")
    d = _prepare(dat)
    out = []
    for (ide, ido), x in _groups(d):
        bx, sx, by, sy = _vectors(x)
        if bx.size < 3:
            warnings.warn(f"mr_rucker: {ide} -> {ido} has {bx.size} SNP(s); need at least 3 "
                          "(result None)", UserWarning, stacklevel=2)
            out.append(None)
            continue
        if _egger_na(bx, sy):
            out.append(None)
            continue
        r = _rucker_one(bx, by, sx, sy, alpha, q_thresh, test_dist)
        out.append({"id.exposure": ide, "id.outcome": ido, "exposure": x["exposure"].iloc[0],
                    "outcome": x["outcome"].iloc[0], **r})
    return RuckerResult(out)


def mr_pleiotropy_test(dat: pd.DataFrame) -> pd.DataFrame:
    r"""MR-Egger intercept test of directional pleiotropy (Bowden et al. 2015).

    The intercept :math:`\hat\beta_0` of the weighted regression
    :math:`b_{Y,j} = \beta_0 + \beta_E b_{X,j} + \varepsilon_j` (weights ``1/se_Y^2``, SNPs
    oriented to positive ``b_X``), its SE divided by ``min(1, sigma)`` (residual SE floored at 1,
    as TwoSampleMR) and a two-sided p-value from Student's t on ``n - 2`` degrees of freedom.
    Pairs with 2 SNPs (or collinear exposure effects) give NaN; pairs with fewer than 2 SNPs
    give no row (TwoSampleMR).

    Returns
    -------
    DataFrame
        Columns ``id.exposure, id.outcome, outcome, exposure, egger_intercept, se, pval``.
    """
    d = _prepare(dat)
    rows = []
    for (ide, ido), x in _groups(d):
        bx, sx, by, sy = _vectors(x)
        if bx.size < 2:
            continue
        if _egger_na(bx, sy):
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

    ``r`` comes from :func:`radiogenomics.mr.instruments.get_r_from_pn`, TwoSampleMR's
    ``qf(p, 1, n - 1, lower.tail = FALSE)`` (note ``n - 1``), so the summed r^2 and the p-value
    equal TwoSampleMR 0.7.9's to ~1e-13 / 1e-10 (``tests/test_mr_sensitivity.py``,
    ``tests/test_mr_instruments.py``).

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
