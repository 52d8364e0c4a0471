r"""Predicted risk at a horizon, judged against censored outcomes.

Inputs are a survival outcome ``y`` (see :func:`~radiogenomics.survival.as_survival`) and the
predicted **risk** of an event by the horizon :math:`h`, :math:`\hat r_i = 1 - \hat S(h|x_i)`
(values in [0, 1]); the Brier score takes the predicted *survival* at several times.

* :func:`calibration_at` -- observed (Kaplan-Meier) versus predicted risk by risk group, the
  calibration slope, observed/expected ratio and a Hosmer-Lemeshow-type chi-square.
* :func:`net_benefit_at` -- decision-curve net benefit (Vickers et al. 2008).
* :func:`brier_score`, :func:`integrated_brier_score` -- IPCW Brier score, null-model Brier,
  IPA (Graf et al. 1999; Gerds & Schumacher 2006; Kattan & Gerds 2018), as
  ``riskRegression::Score(metrics="brier", cens.model="km")``.
* :func:`nri_idi_at` -- NRI and IDI at the horizon for censored data (Pencina, Steyerberg &
  D'Agostino 2011) with bootstrap percentile CIs.

Kaplan-Meier values at :math:`h` follow ``summary(survfit(...), times=h, extend=TRUE)``: a group
whose follow-up ends before :math:`h` keeps its last value; tables flag such groups
(``followed_to_horizon``) and a warning names them.  Subgroup ("per centre") tables: pass
``by=`` to :func:`calibration_at` and :func:`brier_score`; net benefit and NRI/IDI leave
subgrouping to the caller (call them on each subset).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import InputError, listing
from ._data import as_survival
from .coxph import coxph
from ._horizon_base import (_followed, _horizon, _km_at, _km_ci, _labels_vector, _sorted,
                            _vector, _zq)
from ._horizon_brier import BrierScore, IntegratedBrier, brier_score, integrated_brier_score
from ._horizon_nri import NRIIDIResult, nri_idi_at

__all__ = ["calibration_at", "SurvCalibration", "net_benefit_at", "brier_score", "BrierScore",
           "integrated_brier_score", "IntegratedBrier", "nri_idi_at", "NRIIDIResult"]


# ------------------------------------------------------------------------------- calibration
@dataclass(frozen=True)
class SurvCalibration:
    """Result of :func:`calibration_at`.

    Attributes
    ----------
    horizon : float
    n, n_events : int
        Subjects and events observed by the horizon.
    observed, expected : float
        Kaplan-Meier risk :math:`1 - \\hat S(h)` of the whole sample, mean predicted risk.
    oe, oe_lower, oe_upper, oe_p_value : float
        Observed/expected ratio (1 ideal), its CI and the p-value of :math:`O/E = 1`.
    slope, slope_se, slope_lower, slope_upper, slope_p_value : float
        Calibration slope (1 ideal), Wald CI and the p-value of slope = 1.
    slope_converged : bool
    slope_n_iter : int
    hl_chi2, hl_df, hl_p_value : float
        Hosmer-Lemeshow-type statistic over the risk groups, its degrees of freedom and p-value.
    hl_variance : str
    table : DataFrame
        One row per risk group: ``group, n, events, mean_predicted, observed, se, lower,
        upper, followed_to_horizon, n_eff, chi2``.
    by_table : DataFrame or None
        One row per level of ``by`` (the same statistics on each subset).
    """

    horizon: float
    n: int
    n_events: int
    observed: float
    expected: float
    oe: float
    oe_lower: float
    oe_upper: float
    oe_p_value: float
    slope: float
    slope_se: float
    slope_lower: float
    slope_upper: float
    slope_p_value: float
    slope_converged: bool
    slope_n_iter: int
    hl_chi2: float
    hl_df: int
    hl_p_value: float
    hl_variance: str
    confidence: float
    table: pd.DataFrame = field(repr=False)
    by_table: pd.DataFrame | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per statistic: ``estimate, lower, upper, p_value`` (ideal values in ``ideal``)."""
        rows = [("observed_risk", self.observed, np.nan, np.nan, np.nan, np.nan),
                ("expected_risk", self.expected, np.nan, np.nan, np.nan, np.nan),
                ("oe_ratio", self.oe, self.oe_lower, self.oe_upper, self.oe_p_value, 1.0),
                ("slope", self.slope, self.slope_lower, self.slope_upper, self.slope_p_value, 1.0),
                ("hl_chi2", self.hl_chi2, np.nan, np.nan, self.hl_p_value, 0.0)]
        return pd.DataFrame(rows, columns=["statistic", "estimate", "lower", "upper", "p_value",
                                           "ideal"]).set_index("statistic")

    def summary(self) -> str:
        c = f"{100 * self.confidence:g}%"
        return "\n".join([
            f"Calibration at horizon {self.horizon:g} (n = {self.n}, {self.n_events} events by h)",
            f"  observed risk (KM) {self.observed:.4f}, mean predicted {self.expected:.4f}",
            f"  O/E = {self.oe:.3f} ({c} CI {self.oe_lower:.3f} to {self.oe_upper:.3f}), "
            f"p(O/E = 1) = {self.oe_p_value:.3g}",
            f"  slope = {self.slope:.3f} (SE {self.slope_se:.3f}; {c} CI {self.slope_lower:.3f} to "
            f"{self.slope_upper:.3f}), p(slope = 1) = {self.slope_p_value:.3g}"
            + ("" if self.slope_converged else " [NOT CONVERGED]"),
            f"  HL chi2 ({self.hl_variance}) = {self.hl_chi2:.3f} on {self.hl_df} df, "
            f"p = {self.hl_p_value:.3g}",
            self.table.to_string(index=False, float_format=lambda v: f"{v:.4f}")])

    def __repr__(self) -> str:
        return (f"SurvCalibration(horizon={self.horizon:g}, n={self.n}, oe={self.oe:.3f}, "
                f"slope={self.slope:.3f}, hl_chi2={self.hl_chi2:.3f}, "
                f"hl_p_value={self.hl_p_value:.3g}, groups={len(self.table)})")


def _risk_groups(risk, n_groups, groups, index):
    if groups is not None:
        lab = _labels_vector(groups, risk.size, index, "groups")
        levels, code = np.unique(lab.astype(str), return_inverse=True)
        return code, levels
    if int(n_groups) != n_groups or n_groups < 2:
        raise InputError(f"n_groups must be an integer >= 2; got {n_groups}.")
    cuts = np.unique(np.quantile(risk, np.arange(1, n_groups) / n_groups))
    raw = np.searchsorted(cuts, risk, side="left")          # (c_{k-1}, c_k], as R's cut()
    levels, code = np.unique(raw, return_inverse=True)
    return code, np.arange(1, levels.size + 1)


def _slope(t, e, risk, h, ties, truncate, z):
    inner = (risk > 0) & (risk < 1)
    if not inner.all():
        warnings.warn(f"the calibration slope regresses on log(-log(1 - risk)), undefined for "
                      f"risks of exactly 0 or 1 ({int((~inner).sum())} subjects); slope is NaN.",
                      UserWarning, stacklevel=3)
        return (np.nan,) * 5 + (False, 0)
    tt, ee = (np.minimum(t, h), e * (t <= h)) if truncate else (t, e)
    try:               # coxph warns (ConvergenceWarning) itself when it does not converge
        fit = coxph(pd.DataFrame({"cloglog_risk": np.log(-np.log1p(-risk))}), time=tt,
                    event=ee, ties=ties)
    except InputError as exc:
        warnings.warn(f"the calibration slope cannot be estimated: {exc}", UserWarning,
                      stacklevel=3)
        return (np.nan,) * 5 + (False, 0)
    b, se = float(fit.coef.iloc[0]), float(fit.se.iloc[0])
    conv, it = fit.converged, fit.n_iter
    p = float(2 * stats.norm.sf(abs(b - 1) / se)) if se > 0 else np.nan
    return b, se, b - z * se, b + z * se, p, conv, it


def _calibrate(t, e, risk, h, code, levels, *, hl_variance, hl_df, conf_type, z, ties, truncate):
    """All calibration statistics of one sample (arrays sorted by time)."""
    G = levels.size
    member = code[None, :] == np.arange(G)[:, None]
    S, gw = _km_at(t, e, member.astype(float), h)
    var = np.where(S > 0, S ** 2 * np.where(S > 0, gw, 0.0), 0.0)   # S = 0: gw is inf
    lo, hi = _km_ci(S, gw, z, conf_type)
    n_g = member.sum(axis=1)
    ev_g = (member & ((e == 1) & (t <= h))[None, :]).sum(axis=1)
    if (ev_g > 0).sum() < 2:
        raise InputError(f"only {int((ev_g > 0).sum())} of the {G} risk groups have an event by "
                         f"the horizon ({int(ev_g.sum())} events in all): calibration by group "
                         "needs events in at least 2 groups. Use fewer groups or a later horizon.")
    mean_p = (member @ risk) / n_g
    obs = 1.0 - S
    followed = _followed(t, member, S, h)
    if hl_variance not in ("effective", "binomial"):
        raise InputError(f"hl_variance must be 'effective' or 'binomial'; got {hl_variance!r}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where((S > 0) & (S < 1) & (var > 0), S * (1 - S) / var, n_g)
        if hl_variance == "binomial":
            n_eff = n_g.astype(float)
        chi = n_eff * (obs - mean_p) ** 2 / (mean_p * (1 - mean_p))
    use = np.isfinite(chi)
    df = int(use.sum()) if hl_df is None else int(hl_df)
    hl = float(chi[use].sum())
    table = pd.DataFrame({"group": levels, "n": n_g, "events": ev_g, "mean_predicted": mean_p,
                          "observed": obs, "se": np.sqrt(var), "lower": 1 - hi, "upper": 1 - lo,
                          "followed_to_horizon": followed, "n_eff": n_eff, "chi2": chi})
    S_all, gw_all = _km_at(t, e, np.ones((1, t.size)), h)
    O, E = 1.0 - S_all[0], float(risk.mean())
    se_log = math.sqrt(S_all[0] ** 2 * gw_all[0]) / O if O > 0 else math.nan
    oe = O / E if E > 0 else math.nan
    slope = _slope(t, e, risk, h, ties, truncate, z)
    return dict(n=int(t.size), n_events=int(((e == 1) & (t <= h)).sum()), observed=O, expected=E,
                oe=oe, oe_lower=oe * math.exp(-z * se_log), oe_upper=oe * math.exp(z * se_log),
                oe_p_value=float(2 * stats.norm.sf(abs(math.log(oe)) / se_log)),
                slope=slope[0], slope_se=slope[1], slope_lower=slope[2], slope_upper=slope[3],
                slope_p_value=slope[4], slope_converged=slope[5], slope_n_iter=slope[6],
                hl_chi2=hl, hl_df=df, hl_p_value=float(stats.chi2.sf(hl, df)) if df > 0 else np.nan,
                table=table, dropped=int((~use).sum()), small=levels[ev_g < 5])


def calibration_at(y, risk, horizon, n_groups=10, groups=None, *, by=None,
                   hl_variance="effective", hl_df=None, conf_type="log-log", confidence=0.95,
                   ties="efron", censor_at_horizon=True) -> SurvCalibration:
    r"""Calibration of predicted risks at a horizon :math:`h` against censored outcomes.

    * **Observed vs predicted by risk group** (the "Kaplan-Meier observed by risk group" plot of
      ``rms::calibrate`` / ``rms::groupkm``): subjects are split into ``n_groups`` quantile
      groups of predicted risk (cut points ``quantile(risk, k/g)``, R's type 7, intervals
      :math:`(c_{k-1}, c_k]` as R's ``cut``) or by the labels ``groups``; in each group the
      observed risk is :math:`1 - \hat S_{KM}(h)` with Greenwood's variance and a
      ``survfit(conf.type=conf_type)`` interval.
    * **Calibration slope**: Cox regression of the outcome (administratively censored at
      :math:`h` when ``censor_at_horizon``) on :math:`\log(-\log(1 - \hat r))`; 1 is ideal,
      below 1 means predictions too extreme.  For a proportional-hazards model
      :math:`\log(-\log \hat S(h|x)) = \log \hat H_0(h) + x^\top\hat\beta`, so this is the slope
      on the linear predictor (van Houwelingen 2000; Crowson et al. 2016).  Wald CI; the p-value
      tests slope = 1.  Fitted by Newton-Raphson (``survival::coxph``'s Efron ties by default).
    * **Calibration-in-the-large**: :math:`O/E = (1 - \hat S_{KM}(h)) / \bar{\hat r}` with
      :math:`\mathrm{SE}(\log O/E) = \mathrm{SE}(\hat S)/O` (delta method, :math:`E` fixed;
      Debray et al. 2017); the p-value tests :math:`O/E = 1`.  The binomial-type variance of
      :math:`O` exceeds that of :math:`O - E` when predicted risks are heterogeneous (the
      variance of :math:`O - E` is :math:`\sum_i r_i(1-r_i)/n^2` without censoring), so the
      interval is conservative for widely spread risks.
    * **Hosmer-Lemeshow-type chi-square** of D'Agostino & Nam (2003) over the :math:`g` groups,
      :math:`\chi^2 = \sum_g n_g (O_g - \bar r_g)^2 / \{\bar r_g(1-\bar r_g)\}`
      (``hl_variance="binomial"``), is valid only without censoring before :math:`h`.  The
      default ``"effective"`` replaces :math:`n_g` by the Kaplan-Meier effective sample size
      :math:`n^\text{eff}_g = \hat S_g(1-\hat S_g)/\widehat{\mathrm{Var}}_{GW}(\hat S_g)`
      (Dorey & Korn 1987; equal to :math:`n_g` without censoring, :math:`n_g` also used when
      :math:`\hat S_g \in \{0, 1\}`), so the variance is the null binomial variance of the
      predicted risk, inflated for censoring.  (Demler, Paynter & Cook's GND test divides by
      the Greenwood variance at the *observed* risk instead; in our simulations it rejected 10-18%
      of correctly calibrated risks at the 5% level with 7-40 events per group, so it is not
      offered.)  Degrees of freedom: ``hl_df``; by default the number of groups :math:`g`,
      right for risks **not** estimated from these outcomes (external or cross-validated
      predictions: a sum of :math:`g` independent squared z-scores).  For the apparent
      calibration of a model fitted to the same data D'Agostino & Nam use :math:`g - 1`: pass
      ``hl_df=g - 1``.  Groups with a mean predicted risk of 0 or 1 are left out (warning).

    Parameters
    ----------
    y : survival outcome (``(time, event)``, see :func:`~radiogenomics.survival.as_survival`)
    risk : array-like of shape (n,)
        Predicted risk of an event by ``horizon``, :math:`1 - \hat S(h|x)`, in [0, 1].
    horizon : float
        Time :math:`h` (at most the last follow-up time).
    n_groups : int
        Number of quantile groups of predicted risk (ignored when ``groups`` is given).
    groups : array-like of labels, optional
        Risk-group label per subject (e.g. clinical risk categories), used instead of quantiles.
    by : array-like of labels, optional
        Centre or subgroup per subject: ``by_table`` repeats the statistics within each level
        (quantile groups formed within the level).  The main result is for all subjects.
    hl_variance : {"effective", "binomial"}
    hl_df : int, optional
    conf_type : {"log-log", "log", "plain"}
        Interval for the group KM, as ``survfit``'s ``conf.type`` (mapped to the risk scale).
    confidence : float
    ties : {"efron", "breslow"}
    censor_at_horizon : bool
        Censor follow-up at ``horizon`` for the slope (default), so that the slope judges the
        risks over :math:`[0, h]` only.

    Returns
    -------
    SurvCalibration

    References
    ----------
    D'Agostino RB, Nam BH (2003). Evaluation of the performance of survival analysis models:
    discrimination and calibration measures. *Handbook of Statistics* 23:1-25.
    Demler OV, Paynter NP, Cook NR (2015). Tests of calibration and goodness-of-fit in the
    survival setting. *Stat Med* 34:1659-1680.
    Dorey FJ, Korn EL (1987). Effective sample sizes for confidence intervals for survival
    probabilities. *Stat Med* 6:679-687.
    Crowson CS, Atkinson EJ, Therneau TM (2016). Assessing calibration of prognostic risk
    scores. *Stat Methods Med Res* 25:1692-1706.
    Debray TPA et al. (2017). A guide to systematic review and meta-analysis of prediction
    model performance. *BMJ* 356:i6460.
    """
    t, e, index = as_survival(y, what="y")
    r = _vector(risk, t.size, "risk", index)
    h = _horizon(horizon, t)
    z = _zq(confidence)
    code, levels = _risk_groups(r, n_groups, groups, index)
    o, ts, es, rs, cs = _sorted(t, e, r, code)
    kw = dict(hl_variance=hl_variance, hl_df=hl_df, conf_type=conf_type, z=z, ties=ties,
              truncate=censor_at_horizon)
    res = _calibrate(ts, es, rs, h, cs, levels, **kw)
    if res["dropped"]:
        warnings.warn(f"{res['dropped']} risk group(s) have a mean predicted risk of 0 or 1 "
                      "and are left out of the chi-square.",
                      UserWarning, stacklevel=2)
    if len(res["small"]):
        warnings.warn(f"risk group(s) {listing(res['small'])} have fewer than 5 events by the "
                      "horizon: the chi-square approximation is poor (use fewer groups).",
                      UserWarning, stacklevel=2)
    tab = res["table"]
    if not tab["followed_to_horizon"].all():
        warnings.warn(f"risk group(s) {listing(tab['group'][~tab['followed_to_horizon']])} have "
                      "no follow-up to the horizon: their KM risk is carried forward from the "
                      "last follow-up (survfit extend=TRUE).", UserWarning, stacklevel=2)
    by_table = None
    if by is not None:
        lab = _labels_vector(by, t.size, index, "by")[o]
        rows = []
        for lev in pd.unique(lab):
            m = lab == lev
            try:
                c2, l2 = (_risk_groups(rs[m], n_groups, None, None) if groups is None
                          else (np.unique(cs[m], return_inverse=True)[1], levels[np.unique(cs[m])]))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    sub = _calibrate(ts[m], es[m], rs[m], h, c2, l2, **kw)
                sub.pop("table"), sub.pop("dropped"), sub.pop("small")
                rows.append({"by": lev, **sub, "note": ""})
            except InputError as exc:
                rows.append({"by": lev, "n": int(m.sum()), "note": str(exc)})
        by_table = pd.DataFrame(rows)
    res.pop("dropped"), res.pop("small")
    return SurvCalibration(horizon=h, hl_variance=hl_variance, confidence=confidence,
                           by_table=by_table, **res)


# ------------------------------------------------------------------------------- net benefit
def net_benefit_at(y, risk, horizon, thresholds=None, *, inclusive=True) -> pd.DataFrame:
    r"""Decision-curve net benefit at a horizon for a survival outcome (Vickers et al. 2008).

    Treating subjects whose predicted risk reaches the threshold probability :math:`p_t`
    (:math:`\hat r \ge p_t`, or :math:`> p_t` with ``inclusive=False`` as Vickers' ``stdca.R``),
    with :math:`\hat S_{KM}(h \mid \hat r \ge p_t)` the Kaplan-Meier survival among the treated
    and :math:`P(\hat r \ge p_t)` the share treated,

    .. math::

        \frac{TP}{n} = \{1 - \hat S_{KM}(h \mid \hat r \ge p_t)\} P(\hat r \ge p_t), \qquad
        \frac{FP}{n} = \hat S_{KM}(h \mid \hat r \ge p_t) P(\hat r \ge p_t),

        \mathrm{NB}(p_t) = \frac{TP}{n} - \frac{FP}{n}\frac{p_t}{1 - p_t}, \qquad
        \mathrm{NB}_\text{all}(p_t) = \{1 - \hat S_{KM}(h)\} - \hat S_{KM}(h)\frac{p_t}{1-p_t},
        \qquad \mathrm{NB}_\text{none} = 0.

    With nobody treated the net benefit is 0 (the treat-none strategy).  The KM among the
    treated is evaluated as ``summary(survfit(...), times=h, extend=TRUE)``; thresholds whose
    treated group is not followed to :math:`h` are flagged (``followed_to_horizon``).
    ``net_interventions_avoided`` is Vickers' net reduction in interventions per 100 subjects,
    :math:`100 (\mathrm{NB} - \mathrm{NB}_\text{all}) (1 - p_t) / p_t`.

    Parameters
    ----------
    y : survival outcome
    risk : array-like of shape (n,)
        Predicted risk of an event by ``horizon``, in [0, 1].
    horizon : float
    thresholds : array-like, optional
        Threshold probabilities in (0, 1); default ``k/100`` for ``k = 1..99``.
    inclusive : bool
        Treat when ``risk >= threshold`` (default, as in the paper) or only when ``>``.

    Returns
    -------
    DataFrame
        ``threshold, n_treated, prop_treated, risk_treated, net_benefit, treat_all,
        treat_none, net_interventions_avoided, followed_to_horizon``.

    References
    ----------
    Vickers AJ, Cronin AM, Elkin EB, Gonen M (2008). Extensions to decision curve analysis, a
    novel method for evaluating diagnostic tests, prediction models and molecular markers.
    *BMC Med Inform Decis Mak* 8:53.
    """
    t, e, index = as_survival(y, what="y")
    r = _vector(risk, t.size, "risk", index)
    h = _horizon(horizon, t)
    pt = np.arange(1, 100) / 100 if thresholds is None else np.atleast_1d(
        np.asarray(thresholds, dtype=np.float64))
    if pt.ndim != 1 or not np.all((pt > 0) & (pt < 1)):
        raise InputError("thresholds must be probabilities strictly between 0 and 1.")
    _, ts, es, rs = _sorted(t, e, r)
    treated = rs[None, :] >= pt[:, None] if inclusive else rs[None, :] > pt[:, None]
    S, _ = _km_at(ts, es, treated.astype(float), h)
    S_all, _ = _km_at(ts, es, np.ones((1, t.size)), h)
    n_tr = treated.sum(axis=1)
    px = n_tr / t.size
    odds = pt / (1 - pt)
    nb = np.where(n_tr > 0, px * (1 - S) - px * S * odds, 0.0)
    nb_all = (1 - S_all[0]) - S_all[0] * odds
    followed = np.where(n_tr > 0, _followed(ts, treated, S, h), True)
    if not followed.all():
        warnings.warn(f"at threshold(s) {listing(pt[~followed])} nobody treated is followed to "
                      "the horizon: the KM risk of the treated is carried forward.",
                      UserWarning, stacklevel=2)
    return pd.DataFrame({"threshold": pt, "n_treated": n_tr, "prop_treated": px,
                         "risk_treated": np.where(n_tr > 0, 1 - S, np.nan), "net_benefit": nb,
                         "treat_all": nb_all, "treat_none": 0.0,
                         "net_interventions_avoided": 100 * (nb - nb_all) / odds,
                         "followed_to_horizon": followed})
