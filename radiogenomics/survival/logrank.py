"""The log-rank test (``survival::survdiff``, rho = 0), stratified and with a test for trend.

For groups ``g = 1..G`` and distinct event times ``t_j`` (within each stratum), observed
``O_g = sum_j d_gj`` and expected ``E_g = sum_j d_j n_gj / n_j`` events, with the
hypergeometric covariance ``V_gh = sum_j d_j (n_j - d_j) / (n_j - 1) (n_gj / n_j)
(delta_gh - n_hj / n_j)``; the statistic ``(O - E)' V^- (O - E)`` on ``G - 1`` df (Mantel
1966; Peto & Peto 1972), strata summed (``survdiff(... + strata(s))``).  With ``order`` (group
scores ``1..G``) also the one-degree test for trend ``(c'(O - E))^2 / c' V c``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import InputError, group_labels, listing
from ._data import as_survival

__all__ = ["logrank_test", "LogRankResult"]


@dataclass(frozen=True)
class LogRankResult:
    """The log-rank test (``survival::survdiff``, rho = 0).

    Attributes
    ----------
    statistic, df, p_value : float, int, float
        Chi-square on (groups with expected events > 0) - 1 df.
    table : DataFrame
        Per group: ``n``, ``observed``, ``expected`` (events), ``o_minus_e``.
    variance : DataFrame
        The groups' variance matrix of ``O - E`` (survdiff's ``var``).
    stratified : bool
    trend_z, trend_p : float
        With ``order``: the test for trend over the ordered groups (scores 0, 1, ...),
        ``z = w'(O - E) / sqrt(w' V w)`` and its one-sided p of ``z > 0`` (more events than
        expected in the later groups); NaN without ``order``.
    """

    statistic: float
    df: int
    p_value: float
    table: pd.DataFrame
    variance: pd.DataFrame
    stratified: bool = False
    trend_z: float = float("nan")
    trend_p: float = float("nan")

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        kind = "stratified log-rank" if self.stratified else "log-rank"
        trend = ("" if not np.isfinite(self.trend_z) else
                 f"; trend z = {self.trend_z:.4g}, one-sided p = {self.trend_p:.3g}")
        return (f"{kind} test: chi2 = {self.statistic:.4g} on {self.df} df, "
                f"p = {self.p_value:.3g}{trend}\n"
                + self.table.to_string(float_format=lambda v: f"{v:.4g}"))

    def __repr__(self) -> str:
        return (f"LogRankResult(chi2={self.statistic:.4g}, df={self.df}, "
                f"p={self.p_value:.3g}, groups={len(self.table)}"
                f"{', stratified' if self.stratified else ''})")


def _logrank_stratum(t, e, code, G):
    """``(O - E, V, E, O)`` of one stratum (arrays over the G groups)."""
    o = np.argsort(t, kind="stable")
    t, e, code = t[o], e[o], code[o]
    ut, first = np.unique(t, return_index=True)
    member = (code[None, :] == np.arange(G)[:, None]).astype(float)          # G x n
    n_g = np.cumsum(member[:, ::-1], axis=1)[:, ::-1][:, first]             # at risk
    d_g = np.add.reduceat(member * e[None, :], first, axis=1)               # events
    n, d = n_g.sum(axis=0), d_g.sum(axis=0)
    keep = d > 0
    n_g, d_g, n, d = n_g[:, keep], d_g[:, keep], n[keep], d[keep]
    frac = n_g / n
    exp_g = (d * frac).sum(axis=1)
    obs_g = d_g.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    V = np.einsum("j,gj->g", f, frac)[:, None] * np.eye(G) - np.einsum("j,gj,hj->gh", f, frac,
                                                                         frac)
    return obs_g - exp_g, V, exp_g, obs_g


def logrank_test(y=None, groups=None, *, time=None, event=None, strata=None,
                 order=None) -> LogRankResult:
    """Log-rank test of equal survival across ``groups`` (optionally within ``strata``).

    Parameters
    ----------
    y : survival outcome, optional
        ``(time, event)`` (any layout of :func:`~radiogenomics.survival.as_survival`), or
        give ``time=`` and ``event=``.
    groups : array-like or Series
        Group label per subject (at least two groups).
    strata : array-like or Series, optional
        Stratum per subject (e.g. centre): the stratified test sums ``O - E`` and its
        variance over strata, so groups are compared within strata only.
    order : sequence of labels, optional
        The groups from lowest to highest expected risk: adds the one-sided test for trend
        (Peto's log-rank trend test with scores 0, 1, ...; Collett 2015, sec. 2.6), whose
        alternative is "risk increases with the group".

    Returns
    -------
    LogRankResult
        Equal to ``survdiff(Surv(time, event) ~ groups [+ strata(s)])``: ``chisq``, ``obs``,
        ``exp``, ``var`` (see the module docstring for the formulas).
    """
    t, e, index = as_survival(y, time=time, event=event)
    if groups is None:
        raise InputError("logrank_test needs groups: a label per subject")
    g = group_labels(groups, t.size, index, "groups")
    levels, code = np.unique(g, return_inverse=True)
    if levels.size < 2:
        raise InputError(f"logrank_test needs at least two groups; got {listing(levels)}")
    s = np.zeros(t.size, dtype=object) if strata is None else group_labels(strata, t.size, index,
                                                                        "strata")
    G = levels.size
    oe, V, E, O = np.zeros(G), np.zeros((G, G)), np.zeros(G), np.zeros(G)
    for lev in pd.unique(s):
        m = s == lev
        a, b, c, d = _logrank_stratum(t[m], e[m], code[m], G)
        oe, V, E, O = oe + a, V + b, E + c, O + d
    use = E > 0
    df = int(use.sum()) - 1
    if df < 1:
        stat = 0.0
    else:
        idx = np.flatnonzero(use)[1:]
        stat = float(oe[idx] @ np.linalg.solve(V[np.ix_(idx, idx)], oe[idx]))
    p = float(stats.chi2.sf(stat, df)) if df >= 1 else float("nan")
    n_g = np.bincount(code, minlength=G)
    table = pd.DataFrame({"n": n_g, "observed": O, "expected": E, "o_minus_e": oe},
                         index=pd.Index(levels, name="group"))
    tz = tp = float("nan")
    if order is not None:
        order = [str(o) for o in order]
        if sorted(order) != sorted(levels):
            raise InputError(f"order must list every group once ({listing(levels)}); got "
                             f"{listing(order)}")
        w = np.array([order.index(lev) for lev in levels], dtype=float)
        var = float(w @ V @ w)
        if var > 0:
            tz = float(w @ oe / np.sqrt(var))
            tp = float(stats.norm.sf(tz))
    return LogRankResult(stat, df, p, table, pd.DataFrame(V, index=levels, columns=levels),
                         stratified=strata is not None, trend_z=tz, trend_p=tp)
