"""Prediction metrics for validating radiogenomic models, with bootstrap CIs and subgroups.

A radiogenomic model predicts either a **continuous** target (an expression-module score, a
pathway activity) or a **binary** outcome (a mutation, a molecular subtype, a clinical
event) from imaging features.  Its validation on held-out or external data reports:

Continuous targets
    :func:`r2_score` (out-of-sample R\\ :sup:`2`), :func:`mae`, :func:`pearson_r`.
Binary outcomes
    discrimination (:func:`auroc`, :func:`average_precision`), overall accuracy
    (:func:`brier_score`), calibration (:func:`calibration`, :func:`calibration_intercept`,
    :func:`calibration_slope`), clinical usefulness (:func:`net_benefit`, decision curves) and
    improvement over a baseline model (:func:`nri`).
Uncertainty and heterogeneity
    :func:`bootstrap_ci` (percentile, basic or BCa intervals, optionally stratified by centre)
    and :func:`metric_table` (every metric with its CI, overall and per subgroup such as
    centre or sex).

All metrics are pure functions of 1-D arrays or pandas Series, one value per sample.  Inputs
are validated: equal lengths, no NaN/inf, binary outcomes coded 0/1 (or bool), probabilities in
``[0, 1]``.  Two pandas Series with different indexes are refused rather than silently
compared position by position.  A metric that is *undefined* on the data (AUROC with one
outcome class, R\\ :sup:`2` with a constant target, a calibration slope under perfect
separation) raises :class:`UndefinedMetricError`, a ``ValueError``; :func:`bootstrap_ci` skips
such resamples and counts them, and :func:`metric_table` reports NaN with a note.

References
----------
Steyerberg EW (2019). *Clinical Prediction Models*, 2nd ed. Springer (ch. 15: validation).
Van Calster B et al. (2016). A calibration hierarchy for risk models was defined: from utopia to
empirical data. *J Clin Epidemiol* 74:167-176.
Collins GS et al. (2024). TRIPOD+AI statement. *BMJ* 385:e078378.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from scipy import special, stats

from ._checks import RadiogenomicsError
from .resampling.indices import BootstrapScheme, _block_codes, check_rng, iter_batches

__all__ = [
    "UndefinedMetricError",
    "r2_score", "mae", "pearson_r",
    "auroc", "auroc_within", "average_precision", "brier_score",
    "Calibration", "calibration", "calibration_intercept", "calibration_slope",
    "net_benefit", "NRIResult", "nri",
    "BootstrapCI", "bootstrap_ci", "metric_table", "wilson_interval",
    "P_CLIP",
]

#: probabilities are clipped to ``[P_CLIP, 1 - P_CLIP]`` before taking the logit
P_CLIP = 1e-12

#: bootstrap methods accepted by :func:`bootstrap_ci`
BOOTSTRAP_METHODS = ("percentile", "basic", "bca")

#: bytes of bootstrap indices held at once (the resamples are drawn in batches)
_INDEX_BUDGET = 2 ** 25


class UndefinedMetricError(RadiogenomicsError):
    """The metric is not defined on these data (e.g. AUROC when only one outcome class occurs).

    A subclass of :class:`~radiogenomics._checks.RadiogenomicsError` (hence ``ValueError``).  :func:`bootstrap_ci` skips resamples on which a metric raises
    it (and counts them); :func:`metric_table` turns it into NaN with a note.
    """


# ---------------------------------------------------------------------------------------------
# input validation
# ---------------------------------------------------------------------------------------------

def _as_float_1d(x, name: str) -> np.ndarray:
    """``x`` as a finite float64 1-D array, with errors that name the problem and the fix."""
    if isinstance(x, pd.DataFrame):
        if x.shape[1] != 1:
            raise ValueError(f"{name} must be 1-D (one value per sample), got a DataFrame with "
                             f"{x.shape[1]} columns; pass a single column, e.g. df['{name}']")
        x = x.iloc[:, 0]
    if isinstance(x, (pd.Series, pd.Index)):
        if isinstance(x.dtype, pd.CategoricalDtype) or x.dtype == object or pd.api.types.is_string_dtype(x.dtype):
            try:
                arr = x.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError):
                raise TypeError(f"{name} must be numeric, got dtype {x.dtype}; encode it as numbers "
                                "(binary outcomes as 0/1)") from None
        else:
            arr = x.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be numeric, got {type(x).__name__} with values that are "
                            "not numbers; encode it as numbers (binary outcomes as 0/1)") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per sample), got shape {arr.shape}; "
                         "flatten it (e.g. np.ravel) if it holds one column")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; metrics need at least one sample")
    bad_nan = np.isnan(arr)
    if bad_nan.any():
        pos = np.flatnonzero(bad_nan)
        raise ValueError(f"{name} contains {pos.size} missing (NaN) value(s), first at position(s) "
                         f"{pos[:5].tolist()}; drop or impute those samples (in every input) first")
    bad_inf = np.isinf(arr)
    if bad_inf.any():
        pos = np.flatnonzero(bad_inf)
        raise ValueError(f"{name} contains {pos.size} infinite value(s), first at position(s) "
                         f"{pos[:5].tolist()}; check the model output (e.g. a log of 0) and drop or "
                         "fix those samples")
    return arr


def _check_aligned(named: dict) -> None:
    """Refuse pandas Series/DataFrames with different indexes (they would be paired by position)."""
    indexed = [(k, v.index) for k, v in named.items() if isinstance(v, (pd.Series, pd.DataFrame))]
    for (k0, i0), (k1, i1) in zip(indexed, indexed[1:]):
        if not i0.equals(i1):
            raise ValueError(f"{k0} and {k1} are pandas objects with different indexes; values are "
                             f"paired by position, so align them first (e.g. {k1} = "
                             f"{k1}.reindex({k0}.index)) or pass numpy arrays")


def _check_inputs(**named) -> list[np.ndarray]:
    """Validate equal-length finite 1-D numeric inputs given as ``name=value``."""
    _check_aligned(named)
    arrays = [_as_float_1d(v, k) for k, v in named.items()]
    lengths = {k: a.size for k, a in zip(named, arrays)}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k}: {n}" for k, n in lengths.items())
        raise ValueError(f"inputs must have one value per sample, but their lengths differ ({detail})")
    return arrays


def _check_binary(y: np.ndarray, name: str = "y") -> np.ndarray:
    bad = (y != 0) & (y != 1)
    if bad.any():
        vals = np.unique(y[bad])
        raise ValueError(f"{name} must be a binary outcome coded 0/1 (or bool); found other values "
                         f"{vals[:5].tolist()}; code the event as 1 and the non-event as 0")
    return y


def _check_prob(p: np.ndarray, name: str = "p") -> np.ndarray:
    if p.min() < 0 or p.max() > 1:
        raise ValueError(f"{name} must hold predicted probabilities in [0, 1]; found values in "
                         f"[{p.min():.4g}, {p.max():.4g}]; if these are scores or logits, convert "
                         "them to probabilities first (e.g. scipy.special.expit)")
    return p


def _need_both_classes(y: np.ndarray, what: str) -> tuple[int, int]:
    n1 = int(np.count_nonzero(y))
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        only = "non-events (0)" if n1 == 0 else "events (1)"
        raise UndefinedMetricError(f"{what} needs both outcome classes, but y holds only {only} "
                                   f"(n = {y.size})")
    return n1, n0


def _binary_inputs(y, p, what: str, *, both: bool, prob: bool, pname: str = "p"):
    y, p = _check_inputs(y=y, **{pname: p})
    _check_binary(y)
    if prob:
        _check_prob(p, pname)
    if both:
        _need_both_classes(y, what)
    return y, p


def _logit(p: np.ndarray) -> np.ndarray:
    return special.logit(np.clip(p, P_CLIP, 1.0 - P_CLIP))


# ---------------------------------------------------------------------------------------------
# continuous targets
# ---------------------------------------------------------------------------------------------

def r2_score(y, pred) -> float:
    r"""Out-of-sample coefficient of determination.

    .. math::

        R^2 = 1 - \frac{\sum_i (y_i - \hat y_i)^2}{\sum_i (y_i - \bar y)^2},

    with :math:`\bar y` the mean of the *observed* targets ``y`` of the sample being scored (as
    ``sklearn.metrics.r2_score``).  On validation data it is negative when the model predicts
    worse than the sample mean, and it penalises miscalibration (shift or scale) of the
    predictions, unlike the squared correlation.

    Parameters
    ----------
    y, pred : array-like of shape (n,)
        Observed and predicted target values (e.g. expression-module scores).

    Returns
    -------
    float

    Raises
    ------
    UndefinedMetricError
        If ``y`` is constant (:math:`\sum (y_i-\bar y)^2 = 0`; scikit-learn would return 0 or 1).
    """
    y, pred = _check_inputs(y=y, pred=pred)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if not ss_tot > 0:
        raise UndefinedMetricError(f"R2 needs a non-constant target, but y is constant (n = {y.size})")
    return 1.0 - float(np.sum((y - pred) ** 2)) / ss_tot


def mae(y, pred) -> float:
    r"""Mean absolute error, :math:`\frac1n \sum_i |y_i - \hat y_i|`, in the units of ``y``."""
    y, pred = _check_inputs(y=y, pred=pred)
    return float(np.mean(np.abs(y - pred)))


def pearson_r(y, pred) -> float:
    r"""Pearson correlation of observed and predicted values.

    .. math::

        r = \frac{\sum_i (y_i-\bar y)(\hat y_i - \bar{\hat y})}
                 {\sqrt{\sum_i (y_i-\bar y)^2 \sum_i (\hat y_i-\bar{\hat y})^2}}.

    Invariant to shifts and rescaling of the predictions, so it measures association, not
    agreement; report it with :func:`r2_score`.

    Raises
    ------
    UndefinedMetricError
        If ``y`` or ``pred`` is constant.
    """
    y, pred = _check_inputs(y=y, pred=pred)
    yc = y - y.mean()
    pc = pred - pred.mean()
    sy, sp = float(yc @ yc), float(pc @ pc)
    if not (sy > 0 and sp > 0):
        which = "y" if not sy > 0 else "pred"
        raise UndefinedMetricError(f"Pearson r needs non-constant values, but {which} is constant "
                                   f"(n = {y.size})")
    return float(np.clip((yc @ pc) / math.sqrt(sy * sp), -1.0, 1.0))


# ---------------------------------------------------------------------------------------------
# binary outcomes: discrimination and accuracy
# ---------------------------------------------------------------------------------------------

def auroc(y, p) -> float:
    r"""Area under the ROC curve, in its Mann-Whitney form.

    .. math::

        \mathrm{AUROC} = \frac{1}{n_1 n_0} \sum_{i: y_i=1} \sum_{j: y_j=0}
            \left( [p_i > p_j] + \tfrac12 [p_i = p_j] \right),

    the probability that a random event is ranked above a random non-event, ties counting 1/2
    (Hanley & McNeil 1982).  Equal to ``sklearn.metrics.roc_auc_score`` (the trapezoidal area
    under the empirical ROC curve).  Computed in :math:`O(n \log n)` by sorting.

    Parameters
    ----------
    y : array-like of shape (n,)
        Binary outcome, 0/1 or bool.
    p : array-like of shape (n,)
        Predicted probabilities or any real-valued risk score (only the ranking matters, so
        scores outside ``[0, 1]`` are accepted here).

    Raises
    ------
    UndefinedMetricError
        If only one outcome class is present.

    References
    ----------
    Hanley JA, McNeil BJ (1982). The meaning and use of the area under a receiver operating
    characteristic (ROC) curve. *Radiology* 143:29-36.
    """
    y, p = _binary_inputs(y, p, "AUROC", both=True, prob=False)
    return _auroc(y, p)


def auroc_within(y, p, strata) -> float:
    r"""AUROC from event / non-event pairs of the *same* stratum (e.g. centre), pooled.

    .. math::

        \mathrm{AUROC}_{w} = \frac{\sum_s U_s}{\sum_s n_{1s} n_{0s}},

    with :math:`U_s` the Mann-Whitney count of stratum :math:`s` (ties 1/2).  Strata with one
    outcome class contribute no pair.  It is the C statistic stratified by centre: unlike the
    pooled AUROC it is not moved by differences in outcome rate between strata combined with
    stratum-level shifts of the predictions.  This matters for leave-one-centre-out
    predictions, where every held-out centre gets the training centres' base rate as its
    intercept: with outcome rates that differ by centre, a model with no information pooled
    over centres has an AUROC far from 0.5 (below it when rates differ monotonically), while
    its within-centre AUROC is 0.5.

    Raises
    ------
    UndefinedMetricError
        If no stratum has both outcome classes.
    """
    y, p = _binary_inputs(y, p, "within-stratum AUROC", both=False, prob=False)
    lab = np.asarray(strata)
    if lab.shape[0] != y.shape[0]:
        raise ValueError(f"strata has {lab.shape[0]} labels for {y.shape[0]} samples")
    num = 0.0
    den = 0.0
    for s_ in pd.unique(lab):
        m = lab == s_
        n1 = int(y[m].sum())
        n0 = int(m.sum()) - n1
        if n1 == 0 or n0 == 0:
            continue
        num += _auroc(y[m], p[m]) * n1 * n0
        den += n1 * n0
    if den == 0:
        raise UndefinedMetricError("within-stratum AUROC needs a stratum with both outcome "
                                   "classes")
    return num / den


def _auroc(y: np.ndarray, p: np.ndarray) -> float:
    pos = p[y == 1]
    neg = np.sort(p[y == 0])
    below = np.searchsorted(neg, pos, side="left")        # non-events strictly below
    below_eq = np.searchsorted(neg, pos, side="right")    # ... or tied
    # integer arithmetic: the sum of (below + below_eq) is twice the Mann-Whitney U
    u2 = int(below.sum()) + int(below_eq.sum())
    return u2 / (2.0 * pos.size * neg.size)


def average_precision(y, p) -> float:
    r"""Average precision (area under the precision-recall curve, step form).

    .. math::

        \mathrm{AP} = \sum_k (R_k - R_{k-1})\, P_k,

    over the distinct thresholds in decreasing order, with :math:`P_k` and :math:`R_k` the
    precision and recall when every sample with :math:`p \ge` the :math:`k`-th threshold is
    called positive (:math:`R_0 = 0`; tied scores enter together).  Equal to
    ``sklearn.metrics.average_precision_score`` (no interpolation).  Its chance level is the
    prevalence, so compare it with ``mean(y)``; it is informative for rare outcomes.

    Parameters
    ----------
    y : array-like of shape (n,)
        Binary outcome, 0/1 or bool.
    p : array-like of shape (n,)
        Predicted probabilities or any real-valued risk score (only the ranking matters).

    Raises
    ------
    UndefinedMetricError
        If only one outcome class is present.  With no events AP is undefined; with no
        non-events it is trivially 1 and says nothing about the model, so both are refused.
    """
    y, p = _binary_inputs(y, p, "average precision", both=True, prob=False)
    order = np.argsort(-p, kind="mergesort")
    ps, ys = p[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(ps) != 0), ps.size - 1]   # end of each tie group
    tp = np.cumsum(ys)[last]
    called = last + 1.0
    precision = tp / called
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def brier_score(y, p) -> float:
    r"""Brier score, :math:`\frac1n \sum_i (p_i - y_i)^2` (Brier 1950), lower is better.

    Mixes discrimination and calibration; a non-informative model that predicts the
    prevalence :math:`\pi` for everyone scores :math:`\pi(1-\pi)`.  Equal to
    ``sklearn.metrics.brier_score_loss``.  Defined with one outcome class.

    Parameters
    ----------
    y : array-like of shape (n,)
        Binary outcome, 0/1 or bool.
    p : array-like of shape (n,)
        Predicted probabilities in ``[0, 1]``.
    """
    y, p = _binary_inputs(y, p, "Brier score", both=False, prob=True)
    return float(np.mean((p - y) ** 2))


# ---------------------------------------------------------------------------------------------
# calibration
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibration`.

    Attributes
    ----------
    intercept, intercept_se : float
        Calibration-in-the-large :math:`a` (slope fixed at 1 by the offset) and its SE.
        0 is ideal; :math:`a < 0` means the predicted risks are too high on average.
    slope, slope_se : float
        Calibration slope :math:`b` and its SE.  1 is ideal; :math:`b < 1` means predictions
        too extreme (over-fitting), :math:`b > 1` too moderate.  NaN (with a warning) when the
        slope is not estimable (perfect separation, constant predictions).
    table : DataFrame
        Binned observed versus expected risk: ``bin, n, n_events, mean_predicted,
        observed_rate, lower, upper`` (Wilson interval of the observed rate).
    n, n_events : int
        Samples and events.
    """

    intercept: float
    intercept_se: float
    slope: float
    slope_se: float
    table: pd.DataFrame = field(repr=False)
    n: int
    n_events: int


def _glm_binomial(y: np.ndarray, X: np.ndarray, offset=None):
    import statsmodels.api as sm

    from statsmodels.tools import sm_exceptions as sme

    with warnings.catch_warnings():
        # only the warnings whose cause is checked just below (non-convergence, separation,
        # overflow of exp on a diverging fit); anything else reaches the user
        warnings.simplefilter("ignore", sme.ConvergenceWarning)
        if hasattr(sme, "PerfectSeparationWarning"):
            warnings.simplefilter("ignore", sme.PerfectSeparationWarning)
        warnings.filterwarnings("ignore", message=r"(overflow|divide by zero|invalid value) "
                                r"encountered", category=RuntimeWarning)
        res = sm.GLM(y, X, family=sm.families.Binomial(), offset=offset).fit()
    if not res.converged or not np.all(np.isfinite(res.params)) or not np.all(np.isfinite(res.bse)):
        raise UndefinedMetricError("the logistic calibration model did not converge "
                                   "(near-perfect separation of the outcome by the predictions?)")
    return res


def _fit_intercept(y: np.ndarray, lp: np.ndarray) -> tuple[float, float]:
    res = _glm_binomial(y, np.ones((y.size, 1)), offset=lp)
    return float(res.params[0]), float(res.bse[0])


def _fit_slope(y: np.ndarray, lp: np.ndarray) -> tuple[float, float]:
    if np.ptp(lp) == 0:
        raise UndefinedMetricError("the calibration slope needs varying predictions, but all "
                                   "predicted probabilities are equal")
    x1, x0 = lp[y == 1], lp[y == 0]
    if x0.max() <= x1.min() or x1.max() <= x0.min():
        raise UndefinedMetricError("the predictions separate the outcome perfectly (AUROC 0 or 1), "
                                   "so the maximum-likelihood calibration slope is infinite")
    res = _glm_binomial(y, np.column_stack([np.ones(y.size), lp]))
    return float(res.params[1]), float(res.bse[1])


def wilson_interval(k, n, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    r"""Wilson score interval for a binomial proportion ``k / n`` (Wilson 1927); arrays allowed."""
    z = stats.norm.ppf(0.5 + confidence / 2.0)
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    phat = k / n
    denom = 1.0 + z * z / n
    centre = (phat + z * z / (2.0 * n)) / denom
    half = z / denom * np.sqrt(phat * (1.0 - phat) / n + z * z / (4.0 * n * n))
    # exact bounds at k = 0 and k = n (rounding left 1e-17 there: a negative error bar)
    lower = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    upper = np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return lower, upper


def _calibration_table(y: np.ndarray, p: np.ndarray, n_bins: int) -> pd.DataFrame:
    if np.unique(p).size <= 1:
        codes = np.zeros(p.size, dtype=int)
    else:
        codes = pd.qcut(p, n_bins, labels=False, duplicates="drop")
        codes = pd.factorize(codes, sort=True)[0]
    df = pd.DataFrame({"bin": codes + 1, "y": y, "p": p})
    g = df.groupby("bin", sort=True)
    out = pd.DataFrame({
        "n": g.size(),
        "n_events": g["y"].sum().astype(int),
        "mean_predicted": g["p"].mean(),
    })
    out["observed_rate"] = out["n_events"] / out["n"]
    out["lower"], out["upper"] = wilson_interval(out["n_events"].to_numpy(), out["n"].to_numpy())
    return out.reset_index()


def calibration(y, p, n_bins: int = 10) -> Calibration:
    r"""Calibration of predicted risks: intercept, slope (with SEs) and a binned table.

    With :math:`\mathrm{lp}_i = \operatorname{logit}(p_i)`, two logistic regressions are fitted
    by maximum likelihood (statsmodels ``GLM``, Binomial family, logit link; Cox 1958):

    * calibration-in-the-large (intercept :math:`a`), slope fixed at 1 through an **offset**:
      :math:`\operatorname{logit} P(y_i=1) = a + \mathrm{lp}_i`.  Ideal :math:`a = 0`;
      :math:`a < 0` when risks are over-estimated on average.  (This is *not* the intercept of
      the slope model below, which depends on the slope.)
    * calibration slope :math:`b`: :math:`\operatorname{logit} P(y_i=1) = c + b\,\mathrm{lp}_i`.
      Ideal :math:`b = 1`; :math:`b < 1` means predictions too extreme (typical of over-fitting),
      :math:`b > 1` too moderate.

    Standard errors are the model-based (inverse Fisher information) ones.  Probabilities are
    **clipped to** ``[1e-12, 1 - 1e-12]`` (:data:`P_CLIP`) before the logit, so predictions of
    exactly 0 or 1 give finite (if very influential) linear predictors of about -/+27.6.

    The table groups samples into ``n_bins`` quantile bins of ``p`` (``pandas.qcut``; tied
    predictions stay in one bin, so heavy ties give fewer bins) and reports per bin ``n``,
    ``n_events``, ``mean_predicted``, ``observed_rate`` and its Wilson 95% interval
    ``lower``/``upper`` (Wilson 1927): plot ``observed_rate`` against ``mean_predicted``.

    Parameters
    ----------
    y : array-like of shape (n,)
        Binary outcome, 0/1 or bool; both classes must occur.
    p : array-like of shape (n,)
        Predicted probabilities in ``[0, 1]``.
    n_bins : int, default 10
        Number of quantile bins for the table (deciles of risk).

    Returns
    -------
    Calibration
        ``intercept, intercept_se, slope, slope_se, table, n, n_events``.  When the slope is not
        estimable (predictions that separate the outcome perfectly, or constant predictions)
        ``slope`` and ``slope_se`` are NaN and a warning says why.

    Raises
    ------
    UndefinedMetricError
        If only one outcome class is present.

    References
    ----------
    Cox DR (1958). Two further applications of a model for binary regression. *Biometrika*
    45:562-565.
    Van Calster B et al. (2016). A calibration hierarchy for risk models was defined.
    *J Clin Epidemiol* 74:167-176.
    Wilson EB (1927). Probable inference, the law of succession, and statistical inference.
    *J Am Stat Assoc* 22:209-212.
    """
    if not (isinstance(n_bins, (int, np.integer)) and n_bins >= 1):
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    y, p = _binary_inputs(y, p, "calibration", both=True, prob=True)
    lp = _logit(p)
    a, a_se = _fit_intercept(y, lp)
    try:
        b, b_se = _fit_slope(y, lp)
    except UndefinedMetricError as exc:
        warnings.warn(f"calibration slope not estimable: {exc}", stacklevel=2)
        b, b_se = math.nan, math.nan
    return Calibration(intercept=a, intercept_se=a_se, slope=b, slope_se=b_se,
                       table=_calibration_table(y, p, int(n_bins)), n=int(y.size),
                       n_events=int(y.sum()))


def calibration_intercept(y, p) -> float:
    r"""Calibration-in-the-large :math:`a` from :math:`\operatorname{logit}P(y=1) = a + \operatorname{logit}(p)`.

    The offset fixes the slope at 1 (see :func:`calibration`; ``p`` is clipped to
    ``[1e-12, 1 - 1e-12]``).  A scalar for :func:`bootstrap_ci`.

    Raises
    ------
    UndefinedMetricError
        If only one outcome class is present or the fit does not converge.
    """
    y, p = _binary_inputs(y, p, "the calibration intercept", both=True, prob=True)
    return _fit_intercept(y, _logit(p))[0]


def calibration_slope(y, p) -> float:
    r"""Calibration slope :math:`b` from :math:`\operatorname{logit}P(y=1) = c + b\,\operatorname{logit}(p)`.

    See :func:`calibration` (``p`` is clipped to ``[1e-12, 1 - 1e-12]``).  A scalar for
    :func:`bootstrap_ci`.

    Raises
    ------
    UndefinedMetricError
        If only one outcome class is present, the predictions are constant, or they separate
        the outcome perfectly (the maximum-likelihood slope is then infinite).
    """
    y, p = _binary_inputs(y, p, "the calibration slope", both=True, prob=True)
    return _fit_slope(y, _logit(p))[0]


# ---------------------------------------------------------------------------------------------
# clinical usefulness and reclassification
# ---------------------------------------------------------------------------------------------

def net_benefit(y, p, thresholds=None) -> pd.DataFrame:
    r"""Decision curve: net benefit of the model, of treating all and of treating none.

    At threshold probability :math:`t` a patient is treated (called positive) when
    :math:`p_i \ge t`; the threshold encodes how many false positives one true positive is
    worth (odds :math:`t/(1-t)`).  Following Vickers & Elkin (2006),

    .. math::

        \mathrm{NB}_\text{model}(t) = \frac{TP(t)}{n} - \frac{FP(t)}{n}\,\frac{t}{1-t},
        \qquad
        \mathrm{NB}_\text{all}(t) = \pi - (1-\pi)\,\frac{t}{1-t},
        \qquad
        \mathrm{NB}_\text{none}(t) = 0,

    with :math:`\pi` the observed prevalence.  A model is useful at the thresholds where its
    net benefit exceeds both reference strategies.

    Parameters
    ----------
    y : array-like of shape (n,)
        Binary outcome, 0/1 or bool (one class is allowed).
    p : array-like of shape (n,)
        Predicted probabilities in ``[0, 1]``.
    thresholds : array-like, optional
        Threshold probabilities, each strictly between 0 and 1.  Default
        ``0.01, 0.02, ..., 0.99``.

    Returns
    -------
    DataFrame
        Columns ``threshold, net_benefit_model, net_benefit_treat_all, net_benefit_treat_none``.

    References
    ----------
    Vickers AJ, Elkin EB (2006). Decision curve analysis: a novel method for evaluating
    prediction models. *Med Decis Making* 26:565-574.
    """
    y, p = _binary_inputs(y, p, "net benefit", both=False, prob=True)
    if thresholds is None:
        t = np.round(np.arange(1, 100) / 100.0, 2)
    else:
        t = np.atleast_1d(_as_float_1d(np.atleast_1d(thresholds), "thresholds"))
        if np.any((t <= 0) | (t >= 1)):
            raise ValueError("thresholds must lie strictly between 0 and 1 (the odds t/(1-t) are "
                             f"infinite or zero otherwise); got values in [{t.min():.4g}, {t.max():.4g}]")
    n = y.size
    odds = t / (1.0 - t)
    treated = p[None, :] >= t[:, None]                      # (thresholds, n)
    tp = (treated & (y[None, :] == 1)).sum(axis=1)
    fp = (treated & (y[None, :] == 0)).sum(axis=1)
    prev = float(y.mean())
    return pd.DataFrame({
        "threshold": t,
        "net_benefit_model": tp / n - fp / n * odds,
        "net_benefit_treat_all": prev - (1.0 - prev) * odds,
        "net_benefit_treat_none": np.zeros_like(t),
    })


@dataclass(frozen=True)
class NRIResult:
    """Result of :func:`nri`.

    Attributes
    ----------
    kind : {"categorical", "continuous"}
    event, nonevent, total : float
        Event NRI :math:`P(\\uparrow|1) - P(\\downarrow|1)`, non-event NRI
        :math:`P(\\downarrow|0) - P(\\uparrow|0)` and their sum.
    se, z, p_value : float
        Pencina's asymptotic standard error of ``total``, ``z = total / se`` and the two-sided
        normal p-value.  NaN when nobody is reclassified (``se = 0``).
    n_events, n_nonevents : int
    events_up, events_down, nonevents_up, nonevents_down : int
        Counts of samples moved up / down by the new model.
    cutoffs : tuple of float or None
        Risk-category cutoffs (None for the continuous NRI).
    """

    kind: str
    event: float
    nonevent: float
    total: float
    se: float
    z: float
    p_value: float
    n_events: int
    n_nonevents: int
    events_up: int
    events_down: int
    nonevents_up: int
    nonevents_down: int
    cutoffs: tuple | None = None


def nri(y, p_new, p_old, cutoffs=None) -> NRIResult:
    r"""Net reclassification improvement of ``p_new`` over ``p_old`` (Pencina et al. 2008).

    A sample moves *up* when the new model puts it in a higher risk category than the old one
    and *down* when lower.  With :math:`n_1` events and :math:`n_0` non-events,

    .. math::

        \mathrm{NRI}_e = \frac{\#\text{up}_1 - \#\text{down}_1}{n_1}, \qquad
        \mathrm{NRI}_{ne} = \frac{\#\text{down}_0 - \#\text{up}_0}{n_0}, \qquad
        \mathrm{NRI} = \mathrm{NRI}_e + \mathrm{NRI}_{ne}.

    * **Categorical NRI** (``cutoffs`` given): categories are ``[0, c_1), [c_1, c_2), ...,
      [c_k, 1]``, i.e. a risk equal to a cutoff belongs to the higher category.
    * **Continuous (category-free) NRI** (``cutoffs=None``; Pencina, D'Agostino & Steyerberg
      2011, "NRI(>0)"): up means :math:`p_\text{new} > p_\text{old}`, down
      :math:`p_\text{new} < p_\text{old}`; ties count as neither.  It ranges over [-2, 2].

    Asymptotic test (Pencina et al. 2008, McNemar-type, variance under the null):

    .. math::

        \widehat{\mathrm{SE}} = \sqrt{\frac{\hat p_{\uparrow,1} + \hat p_{\downarrow,1}}{n_1}
                                     + \frac{\hat p_{\uparrow,0} + \hat p_{\downarrow,0}}{n_0}},
        \qquad z = \mathrm{NRI}/\widehat{\mathrm{SE}},
        \qquad p = 2\,\Phi(-|z|),

    with :math:`\hat p_{\uparrow,1} = \#\text{up}_1/n_1` etc.  When nobody is reclassified
    the NRI is 0 and ``se = 0``; ``z`` and ``p_value`` are then NaN.

    The NRI is not a proper scoring measure: a miscalibrated new model can have a positive NRI
    (Kerr et al. 2014; Pepe et al. 2015).  Report it with calibration and net benefit, and
    bootstrap it (:func:`bootstrap_ci`) rather than rely on the asymptotic p-value alone when
    both models were fitted on the same data.

    Parameters
    ----------
    y : array-like of shape (n,)
        Binary outcome, 0/1 or bool; both classes must occur.
    p_new, p_old : array-like of shape (n,)
        Predicted probabilities in ``[0, 1]`` of the new and the baseline model.
    cutoffs : sequence of float, optional
        Strictly increasing risk-category cutoffs in (0, 1), e.g. ``(0.1, 0.2)``.  None gives the
        continuous NRI.

    Returns
    -------
    NRIResult

    Raises
    ------
    UndefinedMetricError
        If only one outcome class is present.

    References
    ----------
    Pencina MJ, D'Agostino RB Sr, D'Agostino RB Jr, Vasan RS (2008). Evaluating the added
    predictive ability of a new marker. *Stat Med* 27:157-172.
    Pencina MJ, D'Agostino RB Sr, Steyerberg EW (2011). Extensions of net reclassification
    improvement calculations to measure usefulness of new biomarkers. *Stat Med* 30:11-21.
    Kerr KF et al. (2014). Net reclassification indices for evaluating risk prediction
    instruments: a critical review. *Epidemiology* 25:114-121.
    """
    y, p_new, p_old = _check_inputs(y=y, p_new=p_new, p_old=p_old)
    _check_binary(y)
    _check_prob(p_new, "p_new")
    _check_prob(p_old, "p_old")
    n1, n0 = _need_both_classes(y, "NRI")
    if cutoffs is None:
        kind, cuts = "continuous", None
        new, old = p_new, p_old
    else:
        c = _as_float_1d(np.atleast_1d(cutoffs), "cutoffs")
        if np.any((c <= 0) | (c >= 1)) or np.any(np.diff(c) <= 0):
            raise ValueError(f"cutoffs must be strictly increasing and strictly between 0 and 1, got "
                             f"{c.tolist()}")
        kind, cuts = "categorical", tuple(float(v) for v in c)
        new = np.searchsorted(c, p_new, side="right")
        old = np.searchsorted(c, p_old, side="right")
    up, down = new > old, new < old
    ev = y == 1
    e_up, e_down = int(np.sum(up & ev)), int(np.sum(down & ev))
    ne_up, ne_down = int(np.sum(up & ~ev)), int(np.sum(down & ~ev))
    event = (e_up - e_down) / n1
    nonevent = (ne_down - ne_up) / n0
    total = event + nonevent
    var = (e_up + e_down) / n1 ** 2 + (ne_up + ne_down) / n0 ** 2
    se = math.sqrt(var)
    if se > 0:
        z = total / se
        pval = float(2.0 * stats.norm.sf(abs(z)))
    else:
        z = pval = math.nan
    return NRIResult(kind=kind, event=event, nonevent=nonevent, total=total, se=se, z=z,
                     p_value=pval, n_events=n1, n_nonevents=n0, events_up=e_up,
                     events_down=e_down, nonevents_up=ne_up, nonevents_down=ne_down, cutoffs=cuts)


# ---------------------------------------------------------------------------------------------
# bootstrap
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BootstrapCI:
    """Result of :func:`bootstrap_ci`.

    Attributes
    ----------
    estimate : float
        The metric on the full sample.
    lower, upper : float
        Confidence limits (NaN when fewer than 2 resamples were valid).
    confidence : float
    method : str
    n_boot : int
        Resamples drawn.
    n_boot_valid : int
        Resamples on which the metric was defined (the CI uses only these).
    n_skipped : int
        ``n_boot - n_boot_valid``.
    skip_reason : str or None
        The first reason a resample was skipped.
    strata : bool
        Whether the bootstrap was stratified.
    """

    estimate: float
    lower: float
    upper: float
    confidence: float
    method: str
    n_boot: int
    n_boot_valid: int
    n_skipped: int
    skip_reason: str | None = None
    strata: bool = False


def _eval_metric(metric, arrays) -> tuple[float, str | None]:
    """The metric as a float, or NaN with the reason when it is undefined."""
    try:
        val = metric(*arrays)
    except UndefinedMetricError as exc:
        return math.nan, str(exc)
    val = float(val)
    if not math.isfinite(val):
        return math.nan, f"the metric returned {val}"
    return val, None


def _rows(a):
    if isinstance(a, (pd.Series, pd.DataFrame)):
        return a.to_numpy()
    return np.asarray(a)


def bootstrap_ci(metric: Callable[..., float], *arrays, n_boot: int = 1000,
                 confidence: float = 0.95, strata=None, rng=None,
                 method: str = "percentile") -> BootstrapCI:
    r"""Bootstrap confidence interval of ``metric(*arrays)``, resampling rows (samples).

    Each of ``n_boot`` resamples draws ``n`` row indices with replacement (the same indices
    for every array, so pairs stay paired) and recomputes ``metric``.  With ``strata`` (e.g.
    the acquisition centre) each stratum is resampled separately to its own size, so every
    resample keeps the centre mix of the data (Davison & Hinkley 1997, sec. 3.7).

    Resamples on which the metric is undefined (it raises :class:`UndefinedMetricError` or
    returns NaN/inf; e.g. a resample with one outcome class for AUROC) are skipped: the
    interval is computed from the ``n_boot_valid`` others, ``n_skipped`` says how many were
    dropped, and a warning is issued.  Such a conditional interval can be biased when many are
    skipped; stratifying by the outcome (``strata=y``) avoids one-class resamples.

    Methods, with :math:`\hat\theta` the estimate, :math:`\theta^*` the bootstrap replicates,
    :math:`\alpha = 1 - \text{confidence}` and :math:`q(\cdot)` their empirical quantile
    (``numpy.quantile``, linear interpolation):

    ``"percentile"``
        :math:`[q(\alpha/2),\ q(1-\alpha/2)]` (Efron & Tibshirani 1993, ch. 13).
    ``"basic"``
        :math:`[2\hat\theta - q(1-\alpha/2),\ 2\hat\theta - q(\alpha/2)]` (Davison & Hinkley
        1997, eq. 5.6).
    ``"bca"``
        bias-corrected and accelerated (Efron 1987): :math:`[q(\alpha_1),\ q(\alpha_2)]`,
        :math:`\alpha_{1,2} = \Phi\!\left(z_0 + \frac{z_0 + z_{\alpha/2,\,1-\alpha/2}}
        {1 - a (z_0 + z_{\alpha/2,\,1-\alpha/2})}\right)`, with
        :math:`z_0 = \Phi^{-1}\big((\#\{\theta^* < \hat\theta\} + \tfrac12\#\{\theta^*=\hat\theta\})/B\big)`
        and the acceleration :math:`a = \sum_i d_i^3 / \big(6 (\sum_i d_i^2)^{3/2}\big)`,
        :math:`d_i = \bar\theta_{(\cdot)} - \hat\theta_{(i)}` from the leave-one-out jackknife
        (``n`` more metric evaluations; jackknife values where the metric is undefined are
        left out).  Better coverage for skewed, bounded metrics such as AUROC near 1.

    Parameters
    ----------
    metric : callable
        ``metric(*arrays) -> float``, e.g. :func:`auroc` or ``lambda y, p: nri(y, p, p0).total``.
    *arrays : array-like
        One or more arrays with the same first dimension ``n`` (samples).  Pandas objects are
        used by position.
    n_boot : int, default 1000
        Number of bootstrap resamples.
    confidence : float, default 0.95
        Confidence level, in (0, 1).
    strata : array-like of shape (n,), optional
        Stratum label per sample (e.g. centre); each stratum is resampled to its own size.
    rng : None, int, SeedSequence or numpy.random.Generator
        Randomness (Scientific Python SPEC 7, ``numpy.random.default_rng``).  The same seed gives
        the same resamples, hence the same interval.  A Generator is advanced.
    method : {"percentile", "basic", "bca"}, default "percentile"

    Returns
    -------
    BootstrapCI
        ``estimate, lower, upper, confidence, method, n_boot, n_boot_valid, n_skipped,
        skip_reason, strata``.

    Raises
    ------
    UndefinedMetricError
        If the metric is undefined on the full sample.

    References
    ----------
    Efron B (1987). Better bootstrap confidence intervals. *J Am Stat Assoc* 82:171-185.
    Efron B, Tibshirani RJ (1993). *An Introduction to the Bootstrap*. Chapman & Hall.
    Davison AC, Hinkley DV (1997). *Bootstrap Methods and their Application*. Cambridge UP.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 200); p = np.clip(0.5 * y + rng.uniform(0, 0.5, 200), 0, 1)
    >>> ci = bootstrap_ci(auroc, y, p, n_boot=200, rng=1)
    >>> ci.lower <= ci.estimate <= ci.upper
    True
    """
    if not callable(metric):
        raise TypeError(f"metric must be a callable metric(*arrays) -> float, got {type(metric).__name__}")
    if not arrays:
        raise ValueError("give the data arrays after the metric, e.g. bootstrap_ci(auroc, y, p)")
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"method must be one of {BOOTSTRAP_METHODS}, got {method!r}")
    if isinstance(n_boot, (bool, np.bool_)) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer (e.g. 1000), got {n_boot!r}")
    if not (isinstance(confidence, (int, float, np.floating)) and 0 < confidence < 1):
        raise ValueError(f"confidence must be a number in (0, 1), e.g. 0.95, got {confidence!r}")
    _check_aligned({f"arrays[{i}]": a for i, a in enumerate(arrays)})
    data = [_rows(a) for a in arrays]
    lengths = [d.shape[0] if d.ndim else -1 for d in data]
    if min(lengths) < 0 or len(set(lengths)) > 1:
        raise ValueError(f"every array must have one row per sample, but their lengths differ: {lengths}")
    n = lengths[0]
    if strata is not None:
        _check_aligned({"arrays[0]": arrays[0], "strata": strata})
    gen = check_rng(rng)

    estimate, reason0 = _eval_metric(metric, data)
    if math.isnan(estimate):
        raise UndefinedMetricError(f"the metric is undefined on the full sample: {reason0}")

    scheme = BootstrapScheme(n, None if strata is None else _rows(strata))
    batch = max(1, _INDEX_BUDGET // (8 * n))
    reps = np.empty(int(n_boot))
    first_reason = None
    b = 0
    for idx in iter_batches(scheme, int(n_boot), batch, gen):
        for row in idx:
            reps[b], why = _eval_metric(metric, [d[row] for d in data])
            if why is not None and first_reason is None:
                first_reason = why
            b += 1
    valid = reps[~np.isnan(reps)]
    n_valid = int(valid.size)
    n_skipped = int(n_boot) - n_valid
    if n_skipped:
        warnings.warn(f"{n_skipped} of {n_boot} bootstrap resamples skipped because the metric was "
                      f"undefined on them ({first_reason}); the interval uses the other {n_valid}"
                      + ("; consider strata=y to keep both classes in every resample"
                         if "class" in (first_reason or "") else ""), stacklevel=2)

    alpha = 1.0 - float(confidence)
    lower = upper = math.nan
    if n_valid >= 2:
        if method == "percentile":
            lower, upper = np.quantile(valid, [alpha / 2, 1 - alpha / 2])
        elif method == "basic":
            qlo, qhi = np.quantile(valid, [alpha / 2, 1 - alpha / 2])
            lower, upper = 2 * estimate - qhi, 2 * estimate - qlo
        else:
            a1, a2 = _bca_levels(metric, data, estimate, valid, alpha)
            if np.isfinite(a1) and np.isfinite(a2):
                lower, upper = np.quantile(valid, [a1, a2])
    return BootstrapCI(estimate=float(estimate), lower=float(lower), upper=float(upper),
                       confidence=float(confidence), method=method, n_boot=int(n_boot),
                       n_boot_valid=n_valid, n_skipped=n_skipped, skip_reason=first_reason,
                       strata=strata is not None)


def _bca_levels(metric, data, estimate, reps, alpha) -> tuple[float, float]:
    """Adjusted quantile levels of the BCa interval (Efron 1987)."""
    prop = (np.sum(reps < estimate) + 0.5 * np.sum(reps == estimate)) / reps.size
    if prop <= 0 or prop >= 1:
        warnings.warn("BCa interval undefined: every bootstrap replicate lies on one side of the "
                      "estimate; use method='percentile'", stacklevel=3)
        return math.nan, math.nan
    z0 = stats.norm.ppf(prop)
    n = data[0].shape[0]
    keep = np.ones(n, dtype=bool)
    jack = np.empty(n)
    for i in range(n):
        keep[i] = False
        jack[i] = _eval_metric(metric, [d[keep] for d in data])[0]
        keep[i] = True
    jack = jack[~np.isnan(jack)]
    d = jack.mean() - jack if jack.size else np.zeros(1)
    den = 6.0 * np.sum(d ** 2) ** 1.5
    acc = float(np.sum(d ** 3) / den) if den > 0 else 0.0
    zs = stats.norm.ppf([alpha / 2, 1 - alpha / 2])
    levels = stats.norm.cdf(z0 + (z0 + zs) / (1 - acc * (z0 + zs)))
    return float(levels[0]), float(levels[1])


# ---------------------------------------------------------------------------------------------
# metric table
# ---------------------------------------------------------------------------------------------

def _nri_continuous_total(y, p, p_old) -> float:
    return nri(y, p, p_old).total


CONTINUOUS_METRICS = {"r2": r2_score, "mae": mae, "pearson_r": pearson_r}
BINARY_METRICS = {
    "auroc": auroc,
    "average_precision": average_precision,
    "brier": brier_score,
    "calibration_intercept": calibration_intercept,
    "calibration_slope": calibration_slope,
}


def metric_table(y, pred, kind: str = "continuous", groups=None, n_boot: int = 1000, rng=None,
                 strata=None, baseline=None, confidence: float = 0.95,
                 method: str = "percentile") -> pd.DataFrame:
    """Every validation metric with its bootstrap CI, overall and per subgroup.

    Metrics (one row each):

    * ``kind="continuous"``: ``r2`` (:func:`r2_score`), ``mae``, ``pearson_r``;
    * ``kind="binary"``: ``auroc``, ``average_precision``, ``brier``, ``calibration_intercept``,
      ``calibration_slope`` and, when ``baseline`` predictions are given, ``nri_continuous``
      (total continuous NRI of ``pred`` over ``baseline``, :func:`nri`).

    With ``groups`` (a subgroup label per sample, e.g. centre or sex) the table has one block
    of rows for the whole sample (``group == "all"``) and one per group level (sorted), each
    computed on that subgroup alone.  A metric undefined in a block (e.g. AUROC in a centre
    with no events) gets NaN estimate and limits and a ``note`` saying why, rather than an
    error; skipped bootstrap resamples are counted in ``n_boot_valid`` and the note.

    Within a block every metric is bootstrapped on the *same* resamples (one seed per block,
    drawn from ``rng``), so the same ``rng`` gives the same table.  ``strata`` (e.g. centre)
    stratifies the bootstrap, within each block.

    What the intervals condition on: the bootstrap resamples the *pairs* ``(y, pred)`` with
    ``pred`` held fixed.  For cross-validated (out-of-fold) predictions the interval therefore
    describes the uncertainty of the metric over the test patients *given the fitted models*;
    it does not reflect the variability from refitting the model on other training data (a
    different training sample gives different predictions), so it is narrower than an interval
    for the performance of the modelling *procedure*.  Its coverage for a fixed model's
    population value is checked in ``benchmarks/coverage_metrics.py`` (and
    ``tests/test_metrics.py``); for the procedure use repeated CV or
    :func:`radiogenomics.validation.permutation_test` (is there signal at all).

    Parameters
    ----------
    y : array-like of shape (n,)
        Observed target (continuous) or outcome (binary, 0/1).
    pred : array-like of shape (n,)
        Predictions (probabilities in ``[0, 1]`` for ``kind="binary"``).
    kind : {"continuous", "binary"}
    groups : array-like of shape (n,), optional
        Subgroup labels; missing labels are refused.
    n_boot : int, default 1000
        Bootstrap resamples per block; 0 gives estimates without intervals.
    rng : None, int or numpy.random.Generator
        SPEC 7 randomness; the same seed gives the same table.
    strata : array-like of shape (n,), optional
        Bootstrap strata (each stratum keeps its size in every resample).
    baseline : array-like of shape (n,), optional
        Baseline model's probabilities (binary only), for ``nri_continuous``.
    confidence : float, default 0.95
    method : {"percentile", "basic", "bca"}, default "percentile"

    Returns
    -------
    DataFrame
        Columns ``group, metric, estimate, lower, upper, n, n_events`` (binary only),
        ``n_boot_valid, note`` (empty string when nothing to say).
    """
    if kind not in ("continuous", "binary"):
        raise ValueError(f"kind must be 'continuous' or 'binary', got {kind!r}")
    if isinstance(n_boot, (bool, np.bool_)) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ValueError(f"n_boot must be a non-negative integer, got {n_boot!r}")
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"method must be one of {BOOTSTRAP_METHODS}, got {method!r}")
    named = {"y": y, "pred": pred}
    if baseline is not None:
        if kind != "binary":
            raise ValueError("baseline predictions (for the NRI) only apply to kind='binary'")
        named["baseline"] = baseline
    arrays = _check_inputs(**named)
    y_a, pred_a = arrays[0], arrays[1]
    base_a = arrays[2] if baseline is not None else None
    n = y_a.size
    if kind == "binary":
        _check_binary(y_a)
        _check_prob(pred_a, "pred")
        if base_a is not None:
            _check_prob(base_a, "baseline")
        metrics = dict(BINARY_METRICS)
        if base_a is not None:
            metrics["nri_continuous"] = _nri_continuous_total
    else:
        metrics = dict(CONTINUOUS_METRICS)

    for what, lab in (("groups", groups), ("strata", strata)):
        if lab is not None:
            _check_aligned({"y": y, what: lab})
    strata_a = None if strata is None else _rows(strata)
    if strata_a is not None and (strata_a.ndim != 1 or strata_a.shape[0] != n):
        raise ValueError(f"strata must be one label per sample ({n}), got shape {strata_a.shape}")
    blocks = [("all", np.ones(n, dtype=bool))]
    if groups is not None:
        codes, labels = _block_codes(groups if isinstance(groups, pd.Series) else _rows(groups), n, "groups")
        if any(isinstance(lab, str) and lab == "all" for lab in labels):
            raise ValueError("a group level is called 'all', which names the whole sample in the "
                             "table; rename that level")
        blocks += [(lab, codes == k) for k, lab in enumerate(labels)]

    gen = check_rng(rng)
    seeds = gen.integers(0, 2 ** 63 - 1, size=len(blocks))
    rows = []
    for (label, mask), seed in zip(blocks, seeds):
        sub = [y_a[mask], pred_a[mask]]
        sub_strata = None if strata_a is None else strata_a[mask]
        for name, fn in metrics.items():
            args = sub + ([base_a[mask]] if name == "nri_continuous" else [])
            row = {"group": label, "metric": name, "n": int(mask.sum())}
            if kind == "binary":
                row["n_events"] = int(sub[0].sum())
            row.update(_table_cell(fn, args, n_boot, confidence, sub_strata, int(seed), method))
            rows.append(row)
    cols = ["group", "metric", "estimate", "lower", "upper", "n"]
    cols += ["n_events"] if kind == "binary" else []
    cols += ["n_boot_valid", "note"]
    out = pd.DataFrame(rows, columns=cols)
    out["group"] = out["group"].astype(object)
    return out


#: bootstrap_ci's own warnings that a table records in its ``note`` column instead
_NOTED_WARNINGS = (r"\d+ of \d+ bootstrap resamples skipped", r"BCa interval undefined")


def _relay_bootstrap_warnings(caught) -> list[str]:
    """Notes for the table from :func:`bootstrap_ci`'s skipped-resample / BCa warnings (the
    skip count itself is noted by the caller); every other warning is re-issued unchanged."""
    import re

    notes, relayed = [], set()
    for w in caught:
        msg = str(w.message)
        if issubclass(w.category, UserWarning) and any(re.match(p, msg) for p in _NOTED_WARNINGS):
            if msg.startswith("BCa"):
                notes.append(msg.split(";")[0])
            continue
        if (w.category, msg) not in relayed:           # once each, not once per resample
            relayed.add((w.category, msg))
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return notes


def _table_cell(fn, args, n_boot, confidence, strata, seed, method) -> dict:
    nan = math.nan
    try:
        est = float(fn(*args))
    except UndefinedMetricError as exc:
        return {"estimate": nan, "lower": nan, "upper": nan, "n_boot_valid": 0, "note": str(exc)}
    if n_boot == 0:
        return {"estimate": est, "lower": nan, "upper": nan, "n_boot_valid": 0, "note": ""}
    if args[0].size < 2:
        return {"estimate": est, "lower": nan, "upper": nan, "n_boot_valid": 0,
                "note": "a single sample: no bootstrap interval"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ci = bootstrap_ci(fn, *args, n_boot=n_boot, confidence=confidence, strata=strata,
                          rng=seed, method=method)
    notes = _relay_bootstrap_warnings(caught)
    if ci.n_skipped:
        notes.append(f"{ci.n_skipped} of {ci.n_boot} resamples skipped ({ci.skip_reason})")
    if ci.n_boot_valid < 2 or not (np.isfinite(ci.lower) and np.isfinite(ci.upper)):
        notes.append("no bootstrap interval")
    return {"estimate": ci.estimate, "lower": ci.lower, "upper": ci.upper,
            "n_boot_valid": ci.n_boot_valid, "note": "; ".join(notes)}
