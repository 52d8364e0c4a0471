"""Kaplan-Meier product-limit estimator (also of the censoring distribution, for IPCW).

``S(t) = prod_{t_j <= t} (1 - d_j / n_j)`` over the distinct event times ``t_j`` with ``d_j``
(weighted) events and ``n_j`` (weighted) subjects at risk (``time >= t_j``); Greenwood's
variance ``S(t)^2 sum_{t_j <= t} d_j / (n_j (n_j - d_j))`` (Kaplan & Meier 1958; Greenwood 1926;
equal to ``survival::survfit(Surv(time, status) ~ 1)``'s ``surv`` and ``std.err^2 * surv^2``).

The censoring distribution ``G(t) = P(C > t)`` is the product-limit estimator with the roles
of events and censorings exchanged (``reverse=True``).  At a tie an event is taken to precede
a censoring: subjects with an event at ``u`` are not at risk of censoring at ``u`` (prodlim's
``reverse = TRUE``, used by riskRegression and pec, and scikit-survival's
``CensoringDistributionEstimator``; ``survfit(Surv(time, 1 - status))`` keeps them at risk and
gives a slightly larger ``G`` at such ties).  IPCW weights ``1 / G(t_i-)`` of subjects with an
event at ``t_i`` use the left limit (``side="left"``), as Uno et al. (2011), Graf et al. (1999)
and riskRegression do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["KaplanMeier", "kaplan_meier"]


@dataclass(frozen=True)
class KaplanMeier:
    """Step function ``S(t)`` at the distinct event times (right-continuous)."""

    time: np.ndarray        # distinct event times (ascending)
    surv: np.ndarray        # S(t) just after each time
    n_risk: np.ndarray
    n_event: np.ndarray
    var: np.ndarray         # Greenwood variance of S(t)

    def __call__(self, t, side: str = "right") -> np.ndarray:
        """``S(t)`` (``side="right"``) or the left limit ``S(t-)`` (``side="left"``)."""
        t = np.asarray(t, dtype=np.float64)
        k = np.searchsorted(self.time, t, side="right" if side == "right" else "left")
        out = np.concatenate([[1.0], self.surv])[k]
        return out

    def variance(self, t) -> np.ndarray:
        k = np.searchsorted(self.time, np.asarray(t, dtype=np.float64), side="right")
        return np.concatenate([[0.0], self.var])[k]


def kaplan_meier(time, event, weights=None, reverse: bool = False) -> KaplanMeier:
    """Kaplan-Meier estimate from checked float arrays (see :func:`~._data.as_survival`).

    ``reverse=True`` estimates the censoring survival ``G(t)``: censorings are the events, and
    subjects with an event at ``t`` have left the censoring risk set at ``t`` (events first at
    ties, as prodlim / riskRegression).
    """
    t = np.asarray(time, dtype=np.float64)
    e = np.asarray(event, dtype=np.float64)
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=np.float64)
    d = (1.0 - e) if reverse else e
    order = np.argsort(t, kind="stable")
    t, d, w = t[order], d[order], w[order]
    ut, first = np.unique(t, return_index=True)
    at_risk = np.cumsum((w)[::-1])[::-1][first]
    dw = np.add.reduceat(w * d, first)
    if reverse:                                  # tied events leave first
        at_risk = at_risk - np.add.reduceat(w * (1.0 - d), first)
    keep = dw > 0
    ut, at_risk, dw = ut[keep], at_risk[keep], dw[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.cumprod(1.0 - dw / at_risk)
        term = np.where(at_risk > dw, dw / (at_risk * (at_risk - dw)), np.inf)
        var = np.where(s > 0, s ** 2 * np.cumsum(term), 0.0)
    return KaplanMeier(ut, s, at_risk, dw, var)
