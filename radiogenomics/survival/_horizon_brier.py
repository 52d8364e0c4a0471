"""IPCW Brier score, its influence-function SE, IPA and the integrated Brier score (see
:mod:`radiogenomics.survival.horizon`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._checks import InputError, listing
from ._data import as_survival
from ._horizon_base import _align, _horizon, _labels, _labels_vector, _zq
from ._km import KaplanMeier, kaplan_meier

# ------------------------------------------------------------------------------- Brier score
@dataclass(frozen=True)
class BrierScore:
    """Result of :func:`brier_score`.

    Attributes
    ----------
    table : DataFrame
        One row per time (and ``by`` level): ``time, brier, se, lower, upper, null_brier,
        null_se, ipa, ibs, null_ibs`` (``ibs``: integrated Brier score from 0 to that time,
        riskRegression's step rule).
    n_test, n_train : int
    same_data : bool
        Whether the censoring model was estimated on the test outcomes themselves.
    confidence : float
    """

    table: pd.DataFrame = field(repr=False)
    n_test: int
    n_train: int
    same_data: bool
    confidence: float

    @property
    def brier(self) -> np.ndarray:
        return self.table["brier"].to_numpy()

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        src = "the test outcomes" if self.same_data else f"{self.n_train} training outcomes"
        return (f"IPCW Brier score (n = {self.n_test}; censoring KM from {src})\n"
                + self.table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))

    def __repr__(self) -> str:
        b = ", ".join(f"{v:.4f}" for v in self.brier[:6]) + (" ..." if len(self.table) > 6 else "")
        return f"BrierScore(n_test={self.n_test}, times={len(self.table)}, brier=[{b}])"


def _surv_matrix(surv_pred, n, times, index):
    if isinstance(surv_pred, pd.DataFrame) and surv_pred.shape[1] > 1:
        surv_pred = _align(surv_pred, n, "surv_pred", index)
    try:
        S = np.asarray(surv_pred, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("surv_pred must be numeric (predicted survival probabilities).") from None
    if S.ndim == 1 and times.size == 1:
        S = S[:, None]
    if S.ndim != 2 or S.shape != (n, times.size):
        raise InputError(f"surv_pred must have one row per test subject and one column per time "
                         f"({n} x {times.size}); got shape {S.shape}.")
    rows = _labels(index, n)
    bad = ~np.isfinite(S) | (S < 0) | (S > 1)
    if bad.any():
        raise InputError(f"surv_pred must hold predicted survival probabilities in [0, 1]; "
                         f"{int(bad.sum())} values are missing or outside (rows "
                         f"{listing(rows[bad.any(axis=1)])}).")
    return S


def _censoring_if(tr_t, tr_e, ev_t, E, C, times):
    r"""Influence of the censoring Nelson-Aalen estimate (training subjects x times).

    ``E`` (n_ev, K): test event residuals (0 after the time), at sorted test event times
    ``ev_t``; ``C`` (K,): sums of survivor residuals.  Returns
    :math:`\phi_{ik} = \sum_j \mathrm{res}_{jk}\,\mathrm{IF}_i(s_{jk})` (divide by n_test), with
    :math:`\mathrm{IF}_i(s) = n\,(1-\Delta_i) 1(T_i \le s)/Y(T_i) - \sum_{u \le \min(T_i,s)}
    n\,dN^c(u)/Y(u)^2` (riskRegression's ``getInfluenceFunctionBrierKMCensoringTerm``).
    """
    n = tr_t.size
    ut, first = np.unique(np.sort(tr_t), return_index=True)
    Y = n - first
    dc = np.bincount(np.searchsorted(ut, tr_t[tr_e == 0]), minlength=ut.size)
    M = np.cumsum(n * dc / Y ** 2)
    pos = np.searchsorted(ut, tr_t)                          # T_i's unique time
    a = n * (1 - tr_e) / Y[pos] - M[pos]
    M_left = np.concatenate([[0.0], M])[np.searchsorted(ut, ev_t, side="left")]   # M(T_j-)
    cE = np.vstack([np.zeros(E.shape[1]), np.cumsum(E, axis=0)])
    cEM = np.vstack([np.zeros(E.shape[1]), np.cumsum(E * M_left[:, None], axis=0)])
    j = np.searchsorted(ev_t, tr_t, side="right")          # test events with T_j <= T_i
    A = cE[-1][None, :] - cE[j]
    B = cEM[j]
    k_tau = np.searchsorted(ut, times, side="right")
    M_tau = np.concatenate([[0.0], M])[k_tau]
    IF_tau = np.where(tr_t[:, None] <= times[None, :],
                      (n * (1 - tr_e) / Y[pos])[:, None] - M[pos][:, None], -M_tau[None, :])
    return a[:, None] * A - B + C[None, :] * IF_tau


def _censoring_km(t, e) -> KaplanMeier:
    r"""Kaplan-Meier of the censoring times as ``prodlim(..., reverse=TRUE)`` (riskRegression)
    and scikit-survival: events first at tied times (:func:`~._km.kaplan_meier`,
    ``reverse=True``)."""
    return kaplan_meier(t, e, reverse=True)


def _brier_core(tr_t, tr_e, te_t, te_e, S, times, same, z, conservative=False):
    G = _censoring_km(tr_t, tr_e)
    G_t = G(times)
    G_i = G(te_t, side="left")
    case = (te_t[:, None] <= times[None, :]) & (te_e[:, None] == 1)
    ctrl = te_t[:, None] > times[None, :]
    if (ctrl & (G_t[None, :] <= 0)).any() or (case & (G_i[:, None] <= 0)).any():
        raise InputError("the censoring survival G(t) estimated from y_train is 0 where an "
                         "inverse-probability weight is needed: the times (or test events) lie "
                         "beyond the training follow-up. Use earlier times.")
    km = kaplan_meier(tr_t, tr_e)
    out = {}
    for tag, pred in (("", S), ("null_", np.broadcast_to(km(times), S.shape))):
        with np.errstate(divide="ignore", invalid="ignore"):
            res = np.where(case, pred ** 2 / G_i[:, None], 0.0) + np.where(
                ctrl, (1 - pred) ** 2 / G_t[None, :], 0.0)
        bs = res.mean(axis=0)
        ev = np.flatnonzero(te_e == 1)
        ev = ev[np.argsort(te_t[ev], kind="stable")]
        E = np.where(case[ev], res[ev], 0.0)
        C = np.where(ctrl, res, 0.0).sum(axis=0)
        phi = _censoring_if(tr_t, tr_e, te_t[ev], E, C, times) / te_t.size
        ic0 = res - bs
        if conservative:
            se = np.std(ic0, axis=0, ddof=1) / math.sqrt(te_t.size)
        elif same:
            se = np.std(ic0 + phi, axis=0, ddof=1) / math.sqrt(te_t.size)
        else:
            se = np.sqrt(np.var(ic0, axis=0, ddof=1) / te_t.size
                         + np.var(phi, axis=0, ddof=1) / tr_t.size)
        out[tag + "brier"], out[tag + "se"] = bs, se
    out["lower"] = np.maximum(out["brier"] - z * out["se"], 0)
    out["upper"] = np.minimum(out["brier"] + z * out["se"], 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ipa"] = 1 - out["brier"] / out["null_brier"]
    out["ibs"] = _ibs_step(times, out["brier"])
    out["null_ibs"] = _ibs_step(times, out["null_brier"])
    return out


def _ibs_step(times, b):
    """riskRegression's IBS at each time: the step function through (0, 0), (t_k, B_k)."""
    x = np.concatenate([[0.0], times])
    area = np.concatenate([[0.0], np.cumsum(np.concatenate([[0.0], b[:-1]]) * np.diff(x))])
    return area[1:] / times


def _brier_inputs(y_train, y_test, surv_pred, times):
    te_t, te_e, index = as_survival(y_test, what="y_test", min_events=0)
    if y_train is None:
        tr_t, tr_e, same = te_t, te_e, True
    else:
        tr_t, tr_e, _ = as_survival(y_train, what="y_train", min_events=0)
        same = tr_t.size == te_t.size and np.array_equal(tr_t, te_t) and np.array_equal(tr_e, te_e)
    tm = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if tm.ndim != 1 or tm.size == 0 or not np.all(np.isfinite(tm)) or np.any(tm <= 0) \
            or np.any(np.diff(tm) <= 0):
        raise InputError("times must be finite, > 0 and strictly increasing.")
    _horizon(tm[-1], te_t, "largest time")
    return tr_t, tr_e, te_t, te_e, _surv_matrix(surv_pred, te_t.size, tm, index), tm, same, index


def brier_score(y_train, y_test, surv_pred, times, *, by=None, confidence=0.95,
                conservative=False) -> BrierScore:
    r"""IPCW Brier score of predicted survival at each time (Graf et al. 1999).

    .. math::

        \widehat{BS}(t) = \frac1n\sum_i \Big[\frac{\hat S(t|x_i)^2\,1(T_i \le t, \delta_i = 1)}
        {\hat G(T_i-)} + \frac{\{1 - \hat S(t|x_i)\}^2\,1(T_i > t)}{\hat G(t)}\Big],

    with :math:`\hat G` the Kaplan-Meier estimate of the censoring distribution from
    ``y_train`` (events precede censorings at tied times).  Equal to
    ``riskRegression::Score(..., metrics="brier", cens.model="km")`` and ``pec::pec`` when
    ``y_train`` is the test outcomes (``y_train=None``), and to scikit-survival's
    ``brier_score`` when no test event time is also a training censoring time
    (scikit-survival weights events by :math:`1/\hat G(T_i)` rather than :math:`1/\hat G(T_i-)`).

    ``se`` comes from the influence function (Gerds & Schumacher 2006), including the term
    for the estimated censoring weights (riskRegression's ``conservative=FALSE``): with the
    censoring KM from the test data :math:`\mathrm{SE} = \mathrm{sd}(IF_i)/\sqrt n`; with a
    separate training set the test and training terms are independent and their variances add.
    The null model predicts the training Kaplan-Meier :math:`\hat S(t)` for everyone;
    ``ipa`` is the index of prediction accuracy :math:`1 - BS/BS_\text{null}` (Kattan & Gerds
    2018); ``ibs`` integrates the Brier score from 0 to each time as riskRegression (see
    :func:`integrated_brier_score`).

    Parameters
    ----------
    y_train : survival outcome or None
        Outcomes for the censoring (and null-model) Kaplan-Meier; None uses ``y_test``.
    y_test : survival outcome
    surv_pred : array-like of shape (n_test, n_times)
        Predicted survival :math:`\hat S(t_k|x_i)` (not risk).
    times : array-like of shape (n_times,)
        Increasing times, at most the last test follow-up.
    by : array-like of labels, optional
        Centre or subgroup per test subject: rows per level.  With ``y_train=None`` the
        censoring KM is estimated within each level (as ``Score`` on that subset); with a
        training set, the pooled training KM is used (valid when censoring does not depend on
        the level; otherwise call per level with that level's training outcomes).
    confidence : float
    conservative : bool
        Ignore the variability of the estimated censoring weights in ``se`` (riskRegression's
        ``conservative=TRUE``; usually slightly larger).

    Returns
    -------
    BrierScore

    References
    ----------
    Graf E, Schmoor C, Sauerbrei W, Schumacher M (1999). Assessment and comparison of
    prognostic classification schemes for survival data. *Stat Med* 18:2529-2545.
    Gerds TA, Schumacher M (2006). Consistent estimation of the expected Brier score in general
    survival models with right-censored event times. *Biom J* 48:1029-1040.
    Kattan MW, Gerds TA (2018). The index of prediction accuracy: an intuitive measure useful
    for evaluating risk prediction models. *Diagn Progn Res* 2:7.
    """
    z = _zq(confidence)
    tr_t, tr_e, te_t, te_e, S, tm, same, index = _brier_inputs(y_train, y_test, surv_pred, times)
    parts = []
    if by is None:
        parts.append(pd.DataFrame({"time": tm, **_brier_core(tr_t, tr_e, te_t, te_e, S, tm,
                                                                 same, z, conservative)}))
    else:
        lab = _labels_vector(by, te_t.size, index, "by")
        for lev in pd.unique(lab):
            m = lab == lev
            if tm[-1] > te_t[m].max():
                raise InputError(f"by level {lev!r}: the largest time {tm[-1]:g} is beyond its "
                                 f"last follow-up ({te_t[m].max():g}).")
            tt, te = (te_t[m], te_e[m]) if same else (tr_t, tr_e)
            core = _brier_core(tt, te, te_t[m], te_e[m], S[m], tm, same, z, conservative)
            parts.append(pd.DataFrame({"by": lev, "time": tm, **core}))
    table = pd.concat(parts, ignore_index=True)
    return BrierScore(table=table, n_test=int(te_t.size), n_train=int(tr_t.size), same_data=same,
                      confidence=confidence)


@dataclass(frozen=True)
class IntegratedBrier:
    """Result of :func:`integrated_brier_score`: ``ibs`` of the model, ``null_ibs`` of the
    Kaplan-Meier null model, ``ipa = 1 - ibs / null_ibs``, the rule and the range."""

    ibs: float
    null_ibs: float
    ipa: float
    method: str
    start: float
    stop: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"ibs": [self.ibs], "null_ibs": [self.null_ibs], "ipa": [self.ipa],
                             "method": [self.method], "start": [self.start], "stop": [self.stop]})

    def summary(self) -> str:
        return (f"Integrated Brier score over [{self.start:g}, {self.stop:g}] ({self.method} "
                f"rule): {self.ibs:.4f} (null model {self.null_ibs:.4f}, IPA {self.ipa:.4f})")

    def __repr__(self) -> str:
        return (f"IntegratedBrier(ibs={self.ibs:.5f}, null_ibs={self.null_ibs:.5f}, "
                f"ipa={self.ipa:.4f}, method={self.method!r})")


def integrated_brier_score(y_train, y_test, surv_pred, times, *, method="step") -> IntegratedBrier:
    r"""Integrated Brier score: the Brier score of :func:`brier_score` averaged over time.

    * ``method="step"`` (riskRegression ``Score(summary="ibs")`` and ``pec::ibs``): the Brier
      score is a right-continuous step function through :math:`(0, 0)` and
      :math:`(t_k, BS(t_k))`, integrated over :math:`[0, t_K]` and divided by :math:`t_K`:
      :math:`\frac1{t_K}\sum_{k<K} BS(t_k)(t_{k+1}-t_k)` (:math:`BS(t_K)` only closes the range;
      use a fine grid).
    * ``method="trapezoid"`` (scikit-survival's ``integrated_brier_score``): the trapezoidal
      rule over :math:`[t_1, t_K]` divided by :math:`t_K - t_1`.

    Both are IPCW estimates (:func:`brier_score`); ``null_ibs`` uses the Kaplan-Meier of
    ``y_train`` and ``ipa = 1 - ibs/null_ibs``.
    """
    tr_t, tr_e, te_t, te_e, S, tm, same, _ = _brier_inputs(y_train, y_test, surv_pred, times)
    core = _brier_core(tr_t, tr_e, te_t, te_e, S, tm, same, 1.96)
    if method == "step":
        ibs, nul, start = core["ibs"][-1], core["null_ibs"][-1], 0.0
    elif method == "trapezoid":
        if tm.size < 2:
            raise InputError("the trapezoidal IBS needs at least 2 times.")
        def trap(b):
            return float(np.sum(np.diff(tm) * (b[1:] + b[:-1]) / 2) / (tm[-1] - tm[0]))

        ibs, nul, start = trap(core["brier"]), trap(core["null_brier"]), float(tm[0])
    else:
        raise InputError(f"method must be 'step' or 'trapezoid'; got {method!r}.")
    return IntegratedBrier(ibs=float(ibs), null_ibs=float(nul), ipa=float(1 - ibs / nul),
                           method=method, start=start, stop=float(tm[-1]))
