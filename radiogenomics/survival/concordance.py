r"""Discrimination of a risk score for a time-to-event outcome: Harrell's and Uno's C and the
cumulative/dynamic time-dependent AUROC, each with an influence-function standard error.

A *higher* ``risk`` means a *shorter* expected survival (a Cox linear predictor, a predicted
risk); pass the negative of a predicted survival time.  A pair ``(i, j)`` is comparable when
``i`` has an event and ``j`` a longer follow-up (``T_j > T_i``, or ``T_j = T_i`` with ``j``
censored: censorings follow events on the same day); it is concordant when ``r_i > r_j`` and a
risk tie counts 1/2.  Pairs are counted in O(n log n) by two sweeps over time with Fenwick trees
over the risk ranks.

Which references each function equals (tests/test_survival_concordance.py):

* :func:`harrell_c` = ``survival::concordance(Surv(time, status) ~ risk [+ strata(s)],
  weights = w, reverse = TRUE)`` (C, IJ SE ``sqrt($var)``, counts; its ``aeqSurv`` time fix
  included) = lifelines ``concordance_index(time, -risk, event)`` = scikit-survival
  ``concordance_index_censored`` (exact times); ``ties="exclude", timefix=False`` =
  ``Hmisc::rcorr.cens(-risk, Surv, outx = TRUE)``.
* :func:`uno_c` = scikit-survival ``concordance_index_ipcw(y_train, y_test, risk, tau)``
  (risk ties exact here, within 1e-8 there); = ``survival::concordance(..., timewt = "n/G2",
  ymax = tau)`` when ``y_train`` is ``y_test``, no censoring time equals an event time and no
  event time equals ``tau`` (survival weighs by ``G(T_i-)`` of the test data, keeps
  ``T_i <= ymax``).
* :func:`time_dependent_auc` = ``riskRegression::Score(list(risk), Hist(time, status) ~ 1,
  metrics = "auc", times, cens.model = "km")`` (AUC, ``se``, ``lower``, ``upper``) when
  ``y_train`` is ``y_test``; = scikit-survival ``cumulative_dynamic_auc`` (AUC, ``mean_auc``)
  unless a training censoring time equals a case's event time (it weighs by ``G(T_i)``, here
  ``G(T_i-)`` as riskRegression).

The censoring distribution ``G`` is the Kaplan-Meier estimate in which the censorings at ``u``
are at risk only with the subjects still followed after the events at ``u`` (jump
``c_u / (#{T > u} + c_u)``): the convention of prodlim (``reverse = TRUE``), scikit-survival
and survival's ``fastkm1``, not that of ``survfit(Surv(time, 1 - status) ~ 1)``.

Intervals are Wald intervals on the C / AUC scale clipped to [0, 1] (as riskRegression);
p-values test C = 1/2 (AUC = 1/2) with the same SE.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .._checks import InputError, listing
from ._data import as_survival
from ._km import kaplan_meier
from ._pairs import _c_and_ij, _pairs, _prep, _sweep, _timefix, _wald

__all__ = ["ConcordanceResult", "TimeAUCResult", "harrell_c", "c_within", "uno_c",
           "time_dependent_auc"]

_TIES = {"survival": 0.5, "exclude": 0.0}


# --- results -----------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ConcordanceResult:
    """Result of :func:`harrell_c`, :func:`c_within` and :func:`uno_c`.

    Attributes
    ----------
    c, se : float
        Concordance and its infinitesimal-jackknife standard error.
    lower, upper : float
        Wald interval ``c -/+ z se`` clipped to [0, 1] (NaN when ``se`` is 0).
    p_value : float
        Two-sided Wald test of C = 1/2 (NaN when ``se`` is 0).
    concordant, discordant, tied_risk, tied_time, tied_both : float
        Weighted pair counts (survival's concordant, discordant, tied.x, tied.y, tied.xy;
        Uno's C: weighted by ``G(T_i)^-2``).
    by_stratum : DataFrame or None
        Per stratum (centre): ``n, n_events, pairs, c, se``.
    """

    c: float
    se: float
    lower: float
    upper: float
    p_value: float
    confidence: float
    concordant: float
    discordant: float
    tied_risk: float
    tied_time: float
    tied_both: float
    n: int
    n_events: int
    method: str
    ties: str = "survival"
    tau: float | None = None
    by_stratum: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def n_pairs(self) -> float:
        """Comparable pairs (concordant + discordant + tied in risk)."""
        return self.concordant + self.discordant + self.tied_risk

    def confidence_interval(self, confidence: float | None = None) -> tuple[float, float]:
        """``(lower, upper)``; at another ``confidence`` level the Wald interval is redone."""
        if confidence is None or confidence == self.confidence:
            return self.lower, self.upper
        lo, hi, _ = _wald(self.c, self.se, confidence)
        return float(lo), float(hi)

    def to_frame(self) -> pd.DataFrame:
        keys = ["c", "se", "lower", "upper", "p_value", "concordant", "discordant",
                "tied_risk", "tied_time", "tied_both", "n", "n_events"]
        row = {k: getattr(self, k) for k in keys}
        return pd.DataFrame([row], index=pd.Index([self.method], name="method"))

    def summary(self) -> str:
        pct = f"{100 * self.confidence:g}%"
        lines = [f"{self.method} concordance: C = {self.c:.4f} (SE {self.se:.4f}, {pct} CI "
                 f"{self.lower:.4f} to {self.upper:.4f}), p = {self.p_value:.3g} for C = 0.5",
                 f"  n = {self.n}, events = {self.n_events}, comparable pairs = {self.n_pairs:.6g}"
                 f" (concordant {self.concordant:.6g}, discordant {self.discordant:.6g}, tied "
                 f"in risk {self.tied_risk:.6g}); tied in time (not comparable) "
                 f"{self.tied_time + self.tied_both:.6g}; risk ties: {self.ties}"
                 + ("" if self.tau is None else f"; tau = {self.tau:g}")]
        if self.by_stratum is not None:
            lines.append(self.by_stratum.to_string(float_format=lambda v: f"{v:.4f}"))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"ConcordanceResult({self.method}: c={self.c:.4f}, se={self.se:.4f}, "
                f"{100 * self.confidence:g}% CI [{self.lower:.4f}, {self.upper:.4f}], "
                f"p={self.p_value:.3g}, n={self.n}, events={self.n_events}, "
                f"pairs={self.n_pairs:.6g})")


@dataclass(frozen=True, eq=False)
class TimeAUCResult:
    """Result of :func:`time_dependent_auc`: one row per horizon, plus the integrated AUC.

    ``auc, se, lower, upper, p_value, n_cases, n_controls`` are arrays over ``times``;
    ``mean_auc`` (scikit-survival's ``mean_auc``) has its own SE and interval.
    """

    times: np.ndarray
    auc: np.ndarray
    se: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    p_value: np.ndarray
    n_cases: np.ndarray
    n_controls: np.ndarray
    mean_auc: float
    mean_auc_se: float
    mean_auc_ci: tuple[float, float]
    confidence: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"auc": self.auc, "se": self.se, "lower": self.lower,
                             "upper": self.upper, "p_value": self.p_value,
                             "n_cases": self.n_cases, "n_controls": self.n_controls},
                            index=pd.Index(self.times, name="time"))

    def summary(self) -> str:
        pct = f"{100 * self.confidence:g}%"
        lo, hi = self.mean_auc_ci
        return "\n".join([
            f"Cumulative/dynamic AUC (IPCW, Kaplan-Meier censoring) at {self.times.size} "
            f"horizon(s); {pct} Wald intervals",
            self.to_frame().to_string(float_format=lambda v: f"{v:.4f}"),
            f"  integrated AUC = {self.mean_auc:.4f} (SE {self.mean_auc_se:.4f}, {pct} CI "
            f"{lo:.4f} to {hi:.4f})"])

    def __repr__(self) -> str:
        body = ", ".join(f"{t:g}: {a:.3f} ({s:.3f})" for t, a, s in
                         zip(self.times, self.auc, self.se))
        return f"TimeAUCResult(auc (se) at {body}; mean_auc={self.mean_auc:.4f})"


# --- input checks ------------------------------------------------------------------------------

def _aligned(obj, index, what):
    """``obj`` in the row order of the outcome's sample index, when both are indexed."""
    if index is None or not isinstance(obj, (pd.Series, pd.DataFrame)) or obj.index.equals(index):
        return obj
    if obj.index.has_duplicates or len(obj.index) != len(index) or \
            len(obj.index.difference(index)):
        raise InputError(f"{what} and the outcome have different sample IDs (e.g. "
                         f"{listing(obj.index.difference(index), 3)} only in {what}); pass one "
                         "value per subject with the outcome's index, or arrays in its order.")
    return obj.loc[index]


def _risk(risk, n, index, what="risk", ncol=None) -> np.ndarray:
    if risk is None:
        raise InputError(f"{what} is required: one score per subject (higher = shorter survival).")
    risk = _aligned(risk, index, what)
    try:
        arr = np.asarray(risk, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be numeric (risk scores); got {np.asarray(risk).dtype}.") \
            from None
    if ncol is None and arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    want = 1 if ncol is None else (1, 2)
    if arr.ndim not in np.atleast_1d(want) or arr.shape[0] != n:
        raise InputError(f"{what} has shape {arr.shape} but the outcome has {n} subjects: pass one "
                         "value per subject, in the outcome's order"
                         + ("" if ncol is None else f" (or an (n, {ncol}) array, one column per "
                            "horizon)") + ".")
    if arr.ndim == 2 and arr.shape[1] != ncol:
        raise InputError(f"{what} has {arr.shape[1]} columns for {ncol} horizons: give one column "
                         "per horizon or a 1-D score.")
    bad = ~np.isfinite(arr).reshape(n, -1).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad) if index is None else index[bad]
        raise InputError(f"{what} has missing or non-finite values for {int(bad.sum())} subjects "
                         f"(rows {listing(rows)}): drop these subjects or fill in their scores.")
    return arr


def _strata_codes(strata, n, index, what="strata") -> tuple[np.ndarray, np.ndarray]:
    if strata is None:
        return np.zeros(n, dtype=np.int64), np.array([None])
    lab = pd.Series(np.asarray(_aligned(strata, index, what), dtype=object))
    if lab.shape[0] != n:
        raise InputError(f"{what} has {lab.shape[0]} labels but the outcome has {n} subjects.")
    if lab.isna().any():
        rows = np.flatnonzero(lab.isna()) if index is None else index[lab.isna().to_numpy()]
        raise InputError(f"{what} is missing for {int(lab.isna().sum())} subjects (rows "
                         f"{listing(rows)}): give every subject a {what} label.")
    codes, levels = pd.factorize(lab, sort=True)
    return codes.astype(np.int64), np.asarray(levels, dtype=object)


def _case_weights(weights, n, index) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = _risk(weights, n, index, "weights")
    if (w < 0).any() or not (w > 0).any():
        raise InputError(f"weights must be >= 0 and not all 0; {int((w < 0).sum())} are negative "
                         f"(rows {listing(np.flatnonzero(w < 0))}).")
    return w


def _no_pairs(what=""):
    return InputError("no comparable pairs" + what + ": C needs at least one event followed by "
                      "a longer follow-up (in the same stratum); check event coding and strata.")


# --- Harrell's C -------------------------------------------------------------------------------

def harrell_c(y=None, risk=None, *, time=None, event=None, strata=None, weights=None,
              ties: str = "survival", confidence: float = 0.95,
              timefix: bool = True) -> ConcordanceResult:
    r"""Harrell's concordance of a risk score with a survival outcome, with its IJ SE.

    Equal to R ``survival::concordance(Surv(time, status) ~ risk + strata(s), weights = w,
    reverse = TRUE)`` (survival 3.5-3): ``c``, ``se = sqrt($var)`` and ``$count``.

    Parameters
    ----------
    y : (n, 2) array or DataFrame, optional
        ``(time, event)`` (see :func:`~radiogenomics.survival.as_survival`), or ``time=`` and
        ``event=``.
    risk : (n,) array
        Higher = shorter survival.
    strata : (n,) labels, optional
        Pairs are compared only within a stratum (e.g. centre); counts add up over strata and
        ``by_stratum`` gives each stratum's own C and SE.
    weights : (n,) array, optional
        Case weights: a pair weighs ``w_i w_j``.
    ties : {"survival", "exclude"}
        Pairs tied in risk count 1/2 (survival, lifelines, scikit-survival) or are left out
        (``Hmisc::rcorr.cens(outx = TRUE)``, which has no time fix: ``timefix=False``).
    confidence : float
        Level of the Wald interval ``C -/+ z SE`` (clipped to [0, 1]).
    timefix : bool
        Tie times equal within ``sqrt(eps)`` as survival's ``aeqSurv`` does.

    Notes
    -----
    ``C = (c + t/2) / (c + d + t)`` from the weighted numbers of concordant ``c``, discordant
    ``d`` and risk-tied ``t`` comparable pairs (Harrell et al. 1982, JAMA 247:2543; 1996, Stat
    Med 15:361).  Infinitesimal-jackknife variance (Therneau & Watson 2017, Mayo Clinic
    technical report 85; survival's ``concordancefit``): ``sum_k (w_k dC/dw_k)^2``,
    ``dC/dw_k = (c_k + t_k/2 - C (c_k + d_k + t_k)) / (c + d + t)`` over subject ``k``'s pairs,
    the number of comparable pairs taken as ancillary.  A constant ``risk`` ties every pair:
    C = 0.5 with SE 0, as survival returns (a warning; no interval or p-value).
    """
    t, e, index = as_survival(y, time=time, event=event)
    x = _risk(risk, t.size, index)
    codes, levels = _strata_codes(strata, t.size, index)
    w = _case_weights(weights, t.size, index)
    if ties not in _TIES:
        raise InputError(f"ties must be one of {sorted(_TIES)}, got {ties!r}.")
    if timefix:
        t = _timefix(t)
    totals, inf, _ = _pairs(t, e, x, codes, w, np.ones(t.size))
    if totals[0] + totals[1] + totals[2] <= 0:
        raise _no_pairs()
    if totals[0] + totals[1] <= 0 and ties == "exclude":
        raise InputError("every comparable pair is tied in risk (constant risk?): with "
                         "ties='exclude' C is undefined; use ties='survival' (C = 0.5).")
    c, ij = _c_and_ij(totals, inf, w, _TIES[ties])
    se = float(np.sqrt(np.sum(ij ** 2)))
    if totals[0] + totals[1] <= 0:
        warnings.warn("risk has no ordered comparable pair (constant within strata): every "
                      "pair is tied and C = 0.5 by convention with SE 0, as survival returns; "
                      "no interval or test is possible.", stacklevel=2)
    table = None if strata is None else _by_stratum(e, codes, levels, inf, w, _TIES[ties])
    lo, hi, p = _wald(c, se, confidence)
    return ConcordanceResult(
        float(c), se, float(lo), float(hi), float(p), confidence, *map(float, totals[:3]),
        float(totals[3] - totals[4]), float(totals[4]), int(t.size), int(e.sum()),
        "Harrell" if strata is None else "Harrell (within strata)", ties, None, table)


def _by_stratum(e, codes, levels, inf, w, theta) -> pd.DataFrame:
    """Each stratum's own C and IJ SE (vectorised over strata)."""
    k = levels.size

    def per(v):
        return np.bincount(codes, weights=v, minlength=k)
    conc, disc, tie = (per(inf[:, j] * w) / 2.0 for j in range(3))  # both members count a pair
    den = conc + disc + (tie if theta > 0 else 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(den > 0, (conc + theta * tie) / den, np.nan)
        iden = inf[:, 0] + inf[:, 1] + (inf[:, 2] if theta > 0 else 0.0)
        ij = w * (inf[:, 0] + theta * inf[:, 2] - c[codes] * iden) / den[codes]
    return pd.DataFrame({"n": np.bincount(codes, minlength=k), "n_events": per(e).astype(int),
                         "pairs": conc + disc + tie, "c": c, "se": np.sqrt(per(ij ** 2))},
                        index=pd.Index(levels, name="stratum"))


def c_within(y=None, risk=None, centre=None, *, time=None, event=None, weights=None,
             ties: str = "survival", confidence: float = 0.95) -> ConcordanceResult:
    """Within-centre Harrell's C: pairs only within each centre (stratified concordance).

    The survival counterpart of a within-centre AUROC in leave-one-centre-out validation: a
    score that only separates centres (centre effects on baseline risk) gains nothing.  Equal to
    ``survival::concordance(Surv(time, status) ~ risk + strata(centre), reverse = TRUE)``; SE and
    interval as :func:`harrell_c`, and ``by_stratum`` lists each centre's own C and SE (NaN for a
    centre without comparable pairs).
    """
    if centre is None:
        raise InputError("c_within needs centre= (one centre label per subject); for the "
                         "pooled C use harrell_c.")
    res = harrell_c(y, risk, time=time, event=event, strata=centre, weights=weights, ties=ties,
                    confidence=confidence)
    return replace(res, method="Harrell (within centre)")


def _harrell_c_value(time, event, risk, strata=None) -> float:
    """Harrell's C (survival's convention, exact risk ties = 1/2, survival's time fix) without
    the variance or input checks: for cross-validation loops on checked float arrays.
    ``strata``: integer codes or labels (pairs only within a stratum).  NaN without pairs."""
    t = _timefix(np.ascontiguousarray(time, dtype=np.float64))     # one numba signature
    e = np.ascontiguousarray(event, dtype=np.float64)
    codes = np.zeros(t.size, np.int64) if strata is None else \
        pd.factorize(np.asarray(strata))[0].astype(np.int64)
    rank, order, starts, nr = _prep(t, np.asarray(risk, dtype=np.float64), codes)
    lo, eq, hi = np.zeros(t.size), np.zeros(t.size), np.zeros(t.size)
    _sweep(order, starts, t, e, rank, np.ones(t.size), nr, True, lo, eq, hi)
    conc, tie, den = e @ lo, e @ eq, e @ (lo + eq + hi)
    return float((conc + 0.5 * tie) / den) if den > 0 else float("nan")


# --- inverse probability of censoring weights --------------------------------------------------

def _pl_ij(t, jump, s, a, *, ties_at_risk, left, exact):
    r"""``sum_i a_i psi_m(s_i)`` for every subject ``m`` of the sample ``(t, jump)``, where
    ``psi_m(s) = sum_{u <= s} (dN_m(u) - R_m(u) lambda_u) / D_u`` is minus the IJ derivative of
    ``log`` of the product-limit estimator of the ``jump`` exits (``u < s`` with ``left``).

    ``R_m(u)``: ``T_m > u``, or ``T_m = u`` and (``m`` jumps or ``ties_at_risk``);
    ``Y_u = sum_m R_m(u)``, ``lambda_u = c_u / Y_u``; ``D_u = Y_u - c_u`` (``exact``: the
    derivative of the estimator) or ``Y_u`` (the asymptotic form riskRegression uses).
    """
    ut, inv, cnt = np.unique(t, return_inverse=True, return_counts=True)
    c = np.bincount(inv, weights=jump)
    y = t.size - np.cumsum(cnt) + (cnt if ties_at_risk else c)
    d = y - c if exact else y
    srt = np.argsort(s)
    tail = np.r_[np.cumsum(a[srt][::-1])[::-1], 0.0]
    big_a = tail[np.searchsorted(s[srt], ut, side="right" if left else "left")]
    live = (c > 0) & (big_a != 0)       # d = 0 only where G = 0, after every s_i (checked)
    own = np.divide(big_a, d, out=np.zeros(ut.size), where=live)
    comp = np.divide(own * c, y, out=np.zeros(ut.size), where=live)
    cum = np.r_[0.0, np.cumsum(comp)]
    at_tie = np.ones(t.size) if ties_at_risk else jump
    return jump * own[inv] - cum[inv] - at_tie * comp[inv]


def _outcomes(y_train, y_test):
    """Checked (train, test) outcomes, the test index and whether they are the same sample."""
    t, e, index = as_survival(y_test, what="y_test")
    if y_train is None or y_train is y_test:
        return (t, e), (t, e), index, True
    tt, te = as_survival(y_train, what="y_train", min_events=0)[:2]
    return (tt, te), (t, e), index, np.array_equal(tt, t) and np.array_equal(te, e)


# --- Uno's C -----------------------------------------------------------------------------------

def uno_c(y_train, y_test, risk, tau: float | None = None, *,
          confidence: float = 0.95) -> ConcordanceResult:
    r"""Uno's IPCW concordance with truncation time ``tau`` (Uno et al. 2011, Stat Med 30:1105).

    .. math:: C_\tau = \frac{\sum_{i,j} \Delta_i \hat G(T_i)^{-2} 1\{T_i < T_j, T_i < \tau\}
              (1\{r_i > r_j\} + \tfrac12 1\{r_i = r_j\})}
              {\sum_{i,j} \Delta_i \hat G(T_i)^{-2} 1\{T_i < T_j, T_i < \tau\}}

    (``T_j = T_i`` with ``j`` censored counts as ``T_i < T_j``), consistent for
    ``P(r_i > r_j | T_i < T_j, T_i < tau)`` under censoring independent of outcome and score.

    Parameters
    ----------
    y_train : survival outcome or None
        Outcomes for the censoring Kaplan-Meier ``G`` (``None``: ``y_test``).
    y_test : survival outcome
    risk : (n_test,) array
        Higher = shorter survival.
    tau : float, optional
        Only events before ``tau`` count (choose ``tau`` with ``G(tau) > 0``).
    confidence : float
        Level of the Wald interval.

    Notes
    -----
    Counts in the result are weighted by ``G(T_i)^-2`` (scikit-survival reports them
    unweighted).  SE: the infinitesimal jackknife, ``SE^2 = sum_k (dC/dw_k)^2`` over subject
    weights: through the test pairs ``(c_k + t_k/2 - C (c_k + d_k + t_k)) / P`` (as
    :func:`harrell_c`) and through ``G``: ``sum_i 2 v_i (dC/dv_i) psi_m(T_i)`` with
    ``v_i = G(T_i)^-2`` and ``psi_m(s) = sum_{u <= s} (dN^c_m(u) - R_m(u) c_u / Y_u) /
    (Y_u - c_u)``, minus the exact derivative of ``log G(s)`` (its squares sum to Greenwood's
    variance).  When ``y_train`` is ``y_test`` the two derivatives add per subject; otherwise
    the samples are taken as independent and the variances add.  Raises ``InputError`` when an
    event before ``tau`` falls where ``G`` is 0 or beyond the training follow-up, or without
    comparable pairs.
    """
    (t_tr, e_tr), (t, e), index, same = _outcomes(y_train, y_test)
    x = _risk(risk, t.size, index)
    if tau is not None and not (np.isfinite(tau) and tau > 0):
        raise InputError(f"tau must be a positive follow-up time, got {tau!r}.")
    use = (e == 1) & ((t < tau) if tau is not None else True)
    G = kaplan_meier(t_tr, e_tr, reverse=True)      # events leave first at ties
    gi = G(t)
    beyond = use & (t > t_tr.max()) & (G(t_tr.max()) > 0)
    if beyond.any() or (use & (gi <= 0)).any():
        bad = beyond | (use & (gi <= 0))
        raise InputError(f"the censoring distribution of y_train is 0 or unknown at "
                         f"{int(bad.sum())} test event times (from {t[bad].min():g}; training "
                         f"follow-up ends at {t_tr.max():g}): choose tau below that time.")
    v = np.where(use, 1.0 / np.where(use, gi, 1.0) ** 2, 0.0)
    one = np.ones(t.size)
    totals, inf, side = _pairs(t, e, x, np.zeros(t.size, np.int64), one, v)
    c, ij_test = _c_and_ij(totals, inf, one, 0.5)
    if not np.isfinite(c):
        raise _no_pairs(" before tau" if tau is not None else "")
    den = totals[0] + totals[1] + totals[2]
    dc_dv = (side[:, 0] + 0.5 * side[:, 1] - c * side.sum(axis=1)) / den
    ij_cens = _pl_ij(t_tr, 1.0 - e_tr, t[use], (2.0 * v * dc_dv)[use], ties_at_risk=False,
                     left=False, exact=True)
    var = np.sum((ij_test + ij_cens) ** 2) if same else \
        np.sum(ij_test ** 2) + np.sum(ij_cens ** 2)
    se = float(np.sqrt(var))
    lo, hi, p = _wald(c, se, confidence)
    return ConcordanceResult(
        float(c), se, float(lo), float(hi), float(p), confidence, *map(float, totals[:3]),
        float(totals[3] - totals[4]), float(totals[4]), int(t.size), int(e.sum()), "Uno",
        "survival", None if tau is None else float(tau))


# --- time-dependent AUC ------------------------------------------------------------------------

def _auc_at(x, case, ctrl, wc):
    """AUC from cases (weights ``wc = 1/G(T_i-)``) and controls, its test-sample IJ and the
    cases' ``dAUC/dlog W_i`` (for the censoring term)."""
    xs, xc = np.sort(x[ctrl]), x[case]
    cnt = (np.searchsorted(xs, xc, "left") + np.searchsorted(xs, xc, "right")) / 2.0
    big_m = wc.sum() * xs.size
    auc = float(wc @ cnt / big_m)
    o = np.argsort(xc)
    xo, cw = xc[o], np.r_[0.0, np.cumsum(wc[o])]
    # case weight above each control, ties 1/2
    above = cw[-1] - (cw[np.searchsorted(xo, x[ctrl], "left")]
                      + cw[np.searchsorted(xo, x[ctrl], "right")]) / 2.0
    ij = np.zeros(x.size)
    ij[case] = a_case = wc * (cnt - auc * xs.size) / big_m
    ij[ctrl] = (above - auc * wc.sum()) / big_m
    return auc, ij, a_case


def _check_horizons(times, t, e):
    h = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if h.ndim != 1 or h.size == 0 or not np.isfinite(h).all() or (h <= 0).any():
        raise InputError(f"times must be positive finite horizons, got {times!r}.")
    if np.unique(h).size != h.size:
        raise InputError("times has duplicated horizons: pass each once (np.unique(times)).")
    no_case = [v for v in h if not ((t <= v) & (e == 1)).any()]
    no_ctrl = [v for v in h if not (t > v).any()]
    if no_case or no_ctrl:
        raise InputError(
            f"horizons {listing(no_case + no_ctrl)} have no cases (events by then) or no "
            f"controls (follow-up beyond): choose times within [{t[e == 1].min():g}, "
            f"{t.max():g}) of the test data.")
    return h


def time_dependent_auc(y_train, y_test, risk, times, *,
                       confidence: float = 0.95) -> TimeAUCResult:
    r"""Cumulative/dynamic AUROC at horizons ``times`` with inverse probability of censoring
    weights (Uno et al. 2007, JASA 102:527; Hung & Chiang 2010; Blanche et al. 2013).

    Cases at ``t``: ``T_i <= t`` with an event, weight ``W_i = 1/G(T_i-)``; controls:
    ``T_j > t`` (weight ``1/G(t)``, the same for all, so it cancels):

    .. math:: AUC(t) = \frac{\sum_{i \in cases} \sum_{j \in controls} W_i
              (1\{r_i > r_j\} + \tfrac12 1\{r_i = r_j\})}{n_{controls} \sum_{i \in cases} W_i}

    The integrated AUC is scikit-survival's ``mean_auc``:
    ``sum_l AUC(t_l) (S(t_{l-1}) - S(t_l)) / (1 - S(t_L))`` with the Kaplan-Meier ``S`` of
    ``y_test``.  Equal to riskRegression's ``Score`` and scikit-survival's
    ``cumulative_dynamic_auc`` as the module docstring says.

    Parameters
    ----------
    y_train : survival outcome or None
        Outcomes for the censoring Kaplan-Meier ``G``; ``None`` uses ``y_test``.
    y_test : survival outcome
    risk : (n,) or (n, len(times)) array
        Higher = event earlier; one column per horizon for time-varying predictions
        (e.g. ``1 - S(t | x)``).
    times : float or sequence
        Horizons, each with at least one case and one control in ``y_test``.

    Notes
    -----
    SE: ``sd(IF) / sqrt(n)`` with ``IF`` the influence function of the ratio of the IPCW
    U-statistics plus the Kaplan-Meier censoring term ``sum_i dAUC/dW_i W_i f_m(T_i-)``,
    ``f_m(s) = sum_{u < s} (dN^c_m(u) - 1{T_m >= u} dLambda^c(u)) / (#{T >= u}/n)`` (Blanche,
    Dartigues & Jacqmin-Gadda 2013, Stat Med 32:5381; riskRegression's
    ``getInfluenceCurve.AUC``).  With a separate ``y_train`` its censoring term is taken as an
    independent sample's and the variances add.  The integrated AUC's SE adds the IJ of the
    Kaplan-Meier weights.
    """
    (t_tr, e_tr), (t, e), index, same = _outcomes(y_train, y_test)
    h = _check_horizons(times, t, e)
    x = _risk(risk, t.size, index, ncol=h.size)
    o = np.argsort(h)
    h, x = h[o], (x[:, o] if x.ndim == 2 else x)
    G = kaplan_meier(t_tr, e_tr, reverse=True)
    g_left = G(t, side="left")
    auc = np.zeros(h.size)
    ij_te, ij_tr = np.zeros((h.size, t.size)), np.zeros((h.size, t_tr.size))
    for l, horizon in enumerate(h):
        case, ctrl = (t <= horizon) & (e == 1), t > horizon
        if (g_left[case] <= 0).any() or G(horizon) <= 0 or \
                (not same and t[case].max() > t_tr.max() and G(t_tr.max()) > 0):
            raise InputError(f"the censoring distribution of y_train is 0 or unknown before "
                             f"horizon {horizon:g}: choose an earlier horizon.")
        auc[l], ij_te[l], a_case = _auc_at(x[:, l] if x.ndim == 2 else x, case, ctrl,
                                           1.0 / g_left[case])
        ij_tr[l] = _pl_ij(t_tr, 1.0 - e_tr, t[case], a_case, ties_at_risk=True, left=True,
                          exact=False)
    mean, grad_auc, ij_s = _mean_auc(t, e, h, auc)
    se = _if_se(ij_te, ij_tr, same)
    se_mean = _if_se((grad_auc @ ij_te + ij_s)[None], (grad_auc @ ij_tr)[None], same)[0]
    lo, hi, p = _wald(auc, se, confidence)
    mlo, mhi, _ = _wald(mean, se_mean, confidence)
    n_cases = ((t[None, :] <= h[:, None]) & (e[None, :] == 1)).sum(axis=1)
    return TimeAUCResult(h, auc, se, lo, hi, p, n_cases, (t[None, :] > h[:, None]).sum(axis=1),
                         mean, float(se_mean), (float(mlo), float(mhi)), confidence)


def _if_se(ij_te, ij_tr, same) -> np.ndarray:
    """riskRegression's ``sd(IF)/sqrt(n)`` with ``IF = n * IJ`` (rows: estimates)."""
    def part(ij):
        n = ij.shape[1]
        return np.var(n * ij, axis=1, ddof=1) / n
    return np.sqrt(part(ij_te + ij_tr)) if same else np.sqrt(part(ij_te) + part(ij_tr))


def _mean_auc(t, e, h, auc):
    """scikit-survival's integrated AUC, its gradient in the AUCs and the IJ of its
    Kaplan-Meier weights (test sample)."""
    s = kaplan_meier(t, e)(h)
    if h.size == 1:
        return float(auc[0]), np.ones(1), np.zeros(t.size)
    d = -np.diff(np.r_[1.0, s])
    denom = 1.0 - s[-1]
    mean = float(auc @ d / denom)
    grad_s = (np.r_[auc[1:], 0.0] - auc) / denom
    grad_s[-1] += mean / denom
    # dS_l/dw_m = -S_l psi_m(t_l) for the event Kaplan-Meier
    ij_s = -_pl_ij(t, e, h, grad_s * s, ties_at_risk=True, left=False, exact=True)
    return mean, d / denom, ij_s
