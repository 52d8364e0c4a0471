r"""Plots of time-to-event outcomes, and the log-rank test their legends quote.

Every plot takes a survival outcome or a result object of :mod:`radiogenomics.survival` /
:func:`radiogenomics.validation.cross_validate`, draws into ``ax`` when given and returns the
Figure (never ``plt.show()``):

* :func:`plot_km` -- Kaplan-Meier curves per group with Greenwood confidence bands and a
  numbers-at-risk table under the axes (survminer's ``ggsurvplot(risk.table = TRUE)``,
  lifelines' ``add_at_risk_counts``);
* :func:`plot_km_by_risk_group` -- the pooled out-of-fold risk score of a survival
  ``ValidationResult`` cut at quantiles, Kaplan-Meier per group, log-rank p in the legend;
* :func:`plot_survival_calibration` -- Kaplan-Meier observed against mean predicted risk at a
  horizon per risk group (:class:`~radiogenomics.survival.SurvCalibration`), diagonal;
* :func:`plot_zph` -- scaled Schoenfeld residuals against transformed time with a natural-spline
  smooth and +/- 2 SE band, as ``plot.cox.zph`` (:class:`~radiogenomics.survival.ZPHResult`);
* :func:`plot_time_auc` -- cumulative/dynamic AUC(t) with its intervals;
* :func:`plot_survival_decision_curve` -- net benefit at a horizon (``net_benefit_at``).

Kaplan-Meier (Kaplan & Meier 1958): :math:`\hat S(t) = \prod_{t_j \le t} (1 - d_j / n_j)` with
Greenwood's :math:`\widehat{\mathrm{Var}}\{\log \hat S(t)\} = \sum_{t_j \le t} d_j / \{n_j (n_j - d_j)\}`
(Greenwood 1926).  Bands as ``survfit``'s ``conf.type``: ``"log-log"`` (default here, always in
(0, 1); Kalbfleisch & Prentice 1980) :math:`\hat S^{\exp(\pm z\, \mathrm{se} / \log \hat S)}`,
``"log"`` (survfit's default) :math:`\hat S e^{\pm z\, \mathrm{se}}` capped at 1, ``"plain"``.
Numbers at risk at time :math:`t` are :math:`\#\{i: T_i \ge t\}` (``summary(survfit(...),
times = t)$n.risk``).

Log-rank test (Mantel 1966; Peto & Peto 1972), as ``survival::survdiff`` (rho = 0): with
:math:`n_{gj}, d_{gj}` the subjects at risk and events of group :math:`g` at event time
:math:`t_j` (totals :math:`n_j, d_j`), :math:`O_g - E_g = \sum_j (d_{gj} - d_j n_{gj} / n_j)` and

.. math::

    V_{gh} = \sum_j \frac{d_j (n_j - d_j)}{n_j - 1} \frac{n_{gj}}{n_j}
             \left(\delta_{gh} - \frac{n_{hj}}{n_j}\right),

:math:`\chi^2 = (O - E)_{-1}^T V_{-1,-1}^{-1} (O - E)_{-1}` on (groups with :math:`E > 0`) - 1
degrees of freedom; with strata, :math:`O - E` and :math:`V` are summed over strata (the
stratified log-rank test, e.g. within centres whose baseline hazards differ).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import InputError, group_labels, listing
from ..survival import KaplanMeier, SurvCalibration, ZPHResult, as_survival, kaplan_meier
from ..survival.concordance import TimeAUCResult
from ..survival import LogRankResult, logrank_test  # noqa: F401 (re-exported)
from . import _axes, _group_colours

__all__ = ["plot_km", "plot_km_by_risk_group", "plot_survival_calibration", "plot_zph",
           "plot_time_auc", "plot_survival_decision_curve", "logrank_test", "LogRankResult",
           "km_confidence_band", "numbers_at_risk", "zph_smooth"]

CONF_TYPES = ("log-log", "log", "plain")


# ------------------------------------------------------------------------------ helpers

def km_confidence_band(km: KaplanMeier, confidence: float = 0.95,
                       conf_type: str = "log-log") -> tuple[np.ndarray, np.ndarray]:
    """Pointwise ``(lower, upper)`` of a Kaplan-Meier curve at its event times, as
    ``survfit(conf.type = conf_type)`` (NaN where the transform is undefined: ``S = 0``, or
    ``S = 1`` for log-log)."""
    if conf_type not in CONF_TYPES:
        raise InputError(f"conf_type must be one of {listing(CONF_TYPES)}; got {conf_type!r}")
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be in (0, 1); got {confidence!r}")
    z = stats.norm.ppf(0.5 + confidence / 2)
    s = km.surv
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(s > 0, np.sqrt(km.var) / s, np.nan)        # SE of log S (survfit std.err)
        if conf_type == "plain":
            return np.clip(s - z * se * s, 0, None), np.clip(s + z * se * s, None, 1)
        if conf_type == "log":
            ok = s > 0
            return (np.where(ok, s * np.exp(-z * se), np.nan),
                    np.where(ok, np.minimum(s * np.exp(z * se), 1.0), np.nan))
        ok = (s > 0) & (s < 1)
        ll = np.log(-np.log(np.where(ok, s, 0.5)))
        w = z * se / np.log(np.where(ok, s, 0.5))                # negative
        return (np.where(ok, np.exp(-np.exp(ll - w)), np.nan),
                np.where(ok, np.exp(-np.exp(ll + w)), np.nan))


def numbers_at_risk(time, times) -> np.ndarray:
    """``#{i: time_i >= t}`` for every ``t`` in ``times`` (survfit's ``n.risk`` at ``t``)."""
    ts = np.sort(np.asarray(time, dtype=float))
    return ts.size - np.searchsorted(ts, np.asarray(times, dtype=float), side="left")


def _tick_times(tmax: float, times) -> np.ndarray:
    if times is not None:
        out = np.unique(np.asarray(times, dtype=float))
        if out.size == 0 or not np.isfinite(out).all() or (out < 0).any():
            raise InputError("times must be finite, non-negative follow-up times")
        return out
    from matplotlib.ticker import MaxNLocator

    ticks = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(0.0, tmax)
    return ticks[(ticks >= 0) & (ticks <= tmax * (1 + 1e-9))]


def _step_curve(km: KaplanMeier, tmax: float):
    """x / y of the survival step function from (0, 1) to the group's last follow-up."""
    x = np.r_[0.0, km.time, max(tmax, km.time[-1] if km.time.size else 0.0)]
    y = np.r_[1.0, km.surv, km.surv[-1] if km.surv.size else 1.0]
    return x, y


def _draw_group(ax, t, e, label, colour, conf_int, confidence, conf_type, censor_marks):
    km = kaplan_meier(t, e)
    x, y = _step_curve(km, float(t.max()))
    ax.plot(x, y, drawstyle="steps-post", color=colour, lw=1.6, label=label, gid="km")
    if conf_int and km.time.size:
        lo, hi = km_confidence_band(km, confidence, conf_type)
        lo = np.r_[1.0, lo, lo[-1]]
        hi = np.r_[1.0, hi, hi[-1]]
        ax.fill_between(x, lo, hi, step="post", color=colour, alpha=0.15, lw=0, gid="km_ci")
    if censor_marks:
        c = (e == 0)
        if c.any():
            ax.plot(t[c], km(t[c]), ls="none", marker="|", ms=6, mew=1, color=colour,
                    gid="censored")
    return km


def _risk_table(tab, labels, cols, counts, times) -> None:
    """Numbers at risk: one row per group (top = first group), one column per time."""
    k = len(labels)
    for i, lab in enumerate(labels):
        for tm, c in zip(times, counts[i]):
            tab.text(tm, k - 1 - i, f"{int(c)}", ha="center", va="center", fontsize=8,
                     color=cols[lab], gid="at_risk")
    tab.set_ylim(-0.6, k - 0.4)
    tab.set_yticks(np.arange(k)[::-1], labels, fontsize=8)
    for tick in tab.get_yticklabels():
        tick.set_color(cols[tick.get_text()])
    tab.tick_params(left=False, bottom=False, labelbottom=False)
    tab.tick_params(axis="y", pad=14)                 # room for the counts at t = 0
    for s in tab.spines.values():
        s.set_visible(False)
    tab.set_title("Number at risk", fontsize=8, loc="left")
    tab.set_label("at_risk")


# ------------------------------------------------------------------------------ Kaplan-Meier

def plot_km(y, groups=None, *, ax=None, at_risk: bool = True, times=None, conf_int: bool = True,
            colours: dict | None = None, confidence: float = 0.95, conf_type: str = "log-log",
            censor_marks: bool = True, title: str | None = None, order=None):
    """Kaplan-Meier curves per group with Greenwood bands and a numbers-at-risk table.

    Parameters
    ----------
    y : survival outcome
        ``(time, event)`` in any layout :func:`~radiogenomics.survival.as_survival` reads.
    groups : array-like or Series, optional
        A label per subject (a Series is matched to a DataFrame ``y`` by sample ID); None: one
        curve of all subjects.
    ax : Axes, optional
        Draw into it; the risk table is then an inset below ``ax`` (leave room for it).
    at_risk : bool
        Add the numbers-at-risk table (``#{T >= t}`` per group at ``times``).
    times : array-like, optional
        Times of the table's columns and of the x ticks (default: round ticks from 0 to the
        last follow-up).
    conf_int : bool
        Shade the pointwise ``confidence`` band (``conf_type`` as survfit's ``conf.type``).
    colours : dict, optional
        Label -> colour (default :func:`~radiogenomics.plotting.centre_colours` of the labels,
        so centres keep their report colours).
    censor_marks : bool
        Tick marks at censoring times.
    order : sequence of labels, optional
        Order of the groups in the legend and the table (default: sorted labels).

    Returns
    -------
    Figure
        Curves are the Axes' lines with ``gid="km"``; the table is the Axes labelled
        ``"at_risk"`` (its texts, ``gid="at_risk"``, are the counts).
    """
    import matplotlib.pyplot as plt

    t, e, index = as_survival(y)
    lab = np.full(t.size, "all", dtype=object) if groups is None else group_labels(
        groups, t.size, index, "groups")
    levels = sorted(pd.unique(lab).astype(str))
    if order is not None:
        if sorted(map(str, order)) != levels:
            raise InputError(f"order must list every group once ({listing(levels)}); got "
                             f"{listing(order)}")
        levels = [str(o) for o in order]
    cols = _group_colours(levels, colours)
    ticks = _tick_times(float(t.max()), times)
    k = len(levels)
    if ax is None:
        fig = plt.figure(figsize=(6.4, 4.0 + (0.45 + 0.2 * k if at_risk else 0)),
                         layout="constrained")
        if at_risk:
            gs = fig.add_gridspec(2, 1, height_ratios=[4.0, 0.5 + 0.28 * k])
            ax, tab = fig.add_subplot(gs[0]), fig.add_subplot(gs[1])
        else:
            ax, tab = fig.add_subplot(), None
    else:
        fig = ax.figure
        tab = ax.inset_axes([0.0, -0.3 - 0.08 * k, 1.0, 0.06 + 0.07 * k]) if at_risk else None
    counts = []
    for lev in levels:
        m = lab == lev
        _draw_group(ax, t[m], e[m], lev, cols[lev], conf_int, confidence, conf_type,
                    censor_marks)
        counts.append(numbers_at_risk(t[m], ticks))
    ax.set_xlim(0, max(float(t.max()), float(ticks.max())) * 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xticks(ticks)
    ax.set_xlabel("time")
    ax.set_ylabel("survival probability")
    if groups is not None:
        ax.legend(frameon=False, fontsize=8, loc="lower left")
    if title:
        ax.set_title(title, fontsize=10)
    if tab is not None:
        tab.sharex(ax)
        _risk_table(tab, levels, cols, np.array(counts), ticks)
    return fig


# ------------------------------------------------------------------------------ log-rank

def _fmt_p(p: float) -> str:
    from ..report.format import fmt_p

    return fmt_p(p)


# ------------------------------------------------------------------------------ risk groups

def _risk_cut(score: np.ndarray, n_groups):
    """Group codes (0 = lowest) and labels of ``score`` cut at quantiles, intervals
    ``(c_{k-1}, c_k]`` as R's ``cut`` of ``quantile`` (type 7)."""
    explicit = not (isinstance(n_groups, (int, np.integer)) and not isinstance(n_groups, bool))
    if not explicit:
        if n_groups < 2:
            raise InputError(f"n_groups must be >= 2 (or a list of quantiles); got {n_groups}")
        probs = np.arange(1, n_groups) / n_groups
    else:
        probs = np.sort(np.asarray(n_groups, dtype=float).ravel())
        if probs.size == 0 or not ((probs > 0) & (probs < 1)).all():
            raise InputError("n_groups as quantiles must be probabilities strictly between 0 "
                             "and 1, e.g. [0.25, 0.75]")
    cuts = np.quantile(score, probs)
    if np.unique(cuts).size < cuts.size:
        raise InputError(f"the risk score has too few distinct values ({np.unique(score).size}) "
                         f"for {probs.size + 1} quantile groups (a model that selected no "
                         "feature predicts a constant); use fewer groups")
    code = np.searchsorted(cuts, score, side="left")
    k = probs.size + 1
    if k == 2 and explicit is False:
        names = ["low", "high"]
    elif k == 3 and explicit is False:
        names = ["low", "intermediate", "high"]
    else:
        edges = np.r_[0.0, probs, 1.0] * 100
        names = [f"{edges[i]:.0f}-{edges[i + 1]:.0f}%" for i in range(k)]
    return code, names


def plot_km_by_risk_group(result, n_groups=3, *, horizon: float | None = None, ax=None,
                          at_risk: bool = True, stratified: bool | None = None,
                          colours: dict | None = None):
    """Kaplan-Meier curves of patients grouped by their out-of-fold predicted risk.

    Parameters
    ----------
    result : ValidationResult
        A survival cross-validation (``kind="survival"``); its pooled out-of-fold predictions
        are used, so every patient is grouped by a model that did not see them.
    n_groups : int or sequence of float
        Quantile groups (2 or 3 are labelled ``low`` (``intermediate``) ``high``), or the
        cut probabilities (e.g. ``[0.25, 0.75]``; groups labelled by percentiles).
    horizon : float, optional
        Cut the absolute risk by this horizon (``risk_<h>`` column) instead of the risk score
        (``pred``); the grouping is the same for a Cox model fitted once, not across folds.
    stratified : bool, optional
        Log-rank test within centres (default: when the predictions come from several
        centres, whose baseline hazards may differ).
    colours : dict, optional
        Group label -> colour (default: a sequential palette, low to high).

    Returns
    -------
    Figure
        As :func:`plot_km`; the legend gives the one-sided p of the log-rank test for trend
        over the ordered groups (higher predicted risk, more events), its
        :class:`LogRankResult` (with the omnibus chi-square too) is ``fig.logrank``.

    Notes
    -----
    Why one-sided and for trend: under the null, out-of-fold predictions are *anti*-correlated
    with the outcome (the model that scores a patient was fitted without them, which tilts it
    against their own outcome), so a two-sided test of out-of-fold groups rejects too often:
    in ``tests/test_plotting_survival.py``'s null simulation (5-fold CV of a Cox model of
    noise features, 90 patients in 3 centres) the omnibus log-rank rejected about 11% of data
    sets at the 5% level, nearly all in the "wrong" direction.  The one-sided trend test's
    alternative is the one of interest (the score ranks risk), and it is conservative under
    that anti-correlation.
    """
    import matplotlib.pyplot as plt

    if getattr(result, "kind", None) != "survival":
        raise InputError("plot_km_by_risk_group needs a survival ValidationResult "
                         "(cross_validate with y = (time, event))")
    p = result.pooled()
    col = "pred" if horizon is None else f"risk_{float(horizon):g}"
    if col not in p:
        raise InputError(f"no column {col!r} in the pooled predictions; horizons predicted: "
                         f"{listing(result.horizons) if result.horizons else 'none'}")
    p = p[np.isfinite(p[col].to_numpy())]
    code, names = _risk_cut(p[col].to_numpy(float), n_groups)
    labels = pd.Series(np.asarray(names, dtype=object)[code], index=p.index)
    if colours is None:
        cmap = plt.get_cmap("viridis")
        colours = {n: cmap(v) for n, v in zip(names, np.linspace(0.0, 0.78, len(names)))}
    y = p[["time", "event"]]
    several = p["centre"].astype(str).nunique() > 1
    strat = several if stratified is None else bool(stratified)
    present = [n for n in names if n in set(labels)]
    lr = logrank_test(y, labels, strata=p["centre"].astype(str) if strat else None,
                      order=present)
    fig = plot_km(y, labels, ax=ax, at_risk=at_risk, colours=colours, order=present)
    axm = fig.axes[0] if ax is None else ax
    axm.legend(frameon=False, fontsize=8, loc="lower left",
               title=f"{'stratified ' if strat else ''}log-rank trend,\none-sided p = "
                     f"{_fmt_p(lr.trend_p)}",
               title_fontsize=8)
    axm.set_title(f"risk groups ({result.cv}, out-of-fold)", fontsize=10)
    fig.logrank = lr
    return fig


# ------------------------------------------------------------------------------ calibration

def plot_survival_calibration(cal, ax=None):
    """Predicted against Kaplan-Meier observed risk at the horizon, per risk group.

    Parameters
    ----------
    cal : SurvCalibration
        From :func:`radiogenomics.survival.calibration_at` or
        ``ValidationResult.calibration(horizon=h)``.

    Returns
    -------
    Figure
        One point per group (``mean_predicted``, ``observed``) with its interval
        (``lower``, ``upper``; hollow where the group is not followed to the horizon), the
        diagonal, and O/E and the calibration slope in the legend.
    """
    if not isinstance(cal, SurvCalibration):
        raise InputError(f"plot_survival_calibration needs a SurvCalibration (calibration_at); "
                         f"got {type(cal).__name__}")
    t = cal.table
    fig, ax = _axes(ax, (4.4, 4.2))
    top = float(np.nanmax(np.r_[t["upper"].to_numpy(float), t["mean_predicted"].to_numpy(float),
                                0.05]))
    lim = min(1.0, 1.1 * top)
    ax.plot([0, lim], [0, lim], ls="--", c="0.6", lw=1, gid="diagonal")
    full = t["followed_to_horizon"].to_numpy(bool)
    yerr = np.vstack([t["observed"] - t["lower"], t["upper"] - t["observed"]])
    label = (f"O/E {cal.oe:.2f} [{cal.oe_lower:.2f}, {cal.oe_upper:.2f}], "
             f"slope {cal.slope:.2f}")
    for sel, face, lab in ((full, "tab:blue", label), (~full, "white", "not followed to h")):
        if sel.any():
            eb = ax.errorbar(t["mean_predicted"][sel], t["observed"][sel], yerr=yerr[:, sel],
                             fmt="o", ms=5, mfc=face, mec="tab:blue", c="tab:blue", capsize=2,
                             label=lab)
            eb[0].set_gid("groups")
    ax.set_xlim(0, lim)
    ax.set_ylim(0, lim)
    ax.set_xlabel(f"mean predicted risk by {cal.horizon:g}")
    ax.set_ylabel(f"observed risk by {cal.horizon:g} (Kaplan-Meier)")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.set_title(f"calibration at {cal.horizon:g} ({len(t)} risk groups)", fontsize=9)
    return fig


# ------------------------------------------------------------------------------ cox.zph

def _natural_spline_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Natural cubic spline basis with all ``knots`` (boundary ones first and last):
    ``1, x, d_k(x) - d_{K-1}(x)`` (Hastie, Tibshirani & Friedman 2009, eq. 5.4-5.5); it spans
    the space of R's ``ns(x, knots = inner, Boundary.knots = range, intercept = TRUE)``."""
    lo, hi = knots[0], knots[-1]
    span = hi - lo if hi > lo else 1.0
    u, k = (x - lo) / span, (knots - lo) / span

    def d(j):
        return (np.clip(u - k[j], 0, None) ** 3 - np.clip(u - k[-1], 0, None) ** 3) / (
            k[-1] - k[j])

    cols = [np.ones_like(u), u] + [d(j) - d(k.size - 2) for j in range(k.size - 2)]
    return np.column_stack(cols)


def zph_smooth(zph: ZPHResult, term, df: int = 4, nsmo: int = 40):
    """The smooth of ``plot.cox.zph``: ``(grid, fit, se)`` with ``fit`` the least-squares
    natural spline (``df`` basis functions with intercept, interior knots at quantiles of the
    grid and the data pooled, as R) of the scaled Schoenfeld residuals on the transformed
    time, and ``se = sqrt(var[term, term] * diag(P (X'X)^-1 P'))`` (R's band is +/- 2 se)."""
    if df < 2:
        raise InputError(f"df must be >= 2; got {df}")
    x = np.asarray(zph.x, dtype=float)
    y = zph.y[term].to_numpy(float)
    grid = np.linspace(x.min(), x.max(), int(nsmo))
    both = np.r_[grid, x]
    inner = np.quantile(both, np.linspace(0, 1, df)[1:-1]) if df > 2 else np.array([])
    knots = np.r_[both.min(), inner, both.max()]
    B = _natural_spline_basis(both, knots)
    P, X = B[:grid.size], B[grid.size:]
    keep = np.isfinite(y)
    Q, R = np.linalg.qr(X[keep])
    if np.linalg.matrix_rank(R) < df:
        raise InputError(f"the spline fit of {term!r} is singular (too few distinct event "
                         "times); lower df")
    coef = np.linalg.solve(R, Q.T @ y[keep])
    Rinv = np.linalg.inv(R)
    se = np.sqrt(float(zph.var.loc[term, term]) * np.einsum("ij,ij->i", P @ Rinv, P @ Rinv))
    return grid, P @ coef, se


def _zph_time_axis(ax, zph: ZPHResult) -> None:
    """Tick labels in time units on the transformed axis (plot.cox.zph: 8 ticks at round
    times)."""
    xx, tt = np.asarray(zph.x, float), np.asarray(zph.time, float)
    o = np.argsort(xx, kind="stable")
    xu, first = np.unique(xx[o], return_index=True)
    tu = tt[o][first]
    if xu.size < 2:
        return
    at = np.linspace(xu[0], xu[-1], 17)[1::2]
    times = np.array([float(f"{v:.2g}") for v in np.interp(at, xu, tu)])
    pos = np.interp(times, np.sort(tu), xu[np.argsort(tu)])
    ax.set_xticks(pos, [f"{v:g}" for v in times], fontsize=8)


def plot_zph(zph, term=None, ax=None, *, df: int = 4, nsmo: int = 40, resid: bool = True,
             se: bool = True):
    """Scaled Schoenfeld residuals against transformed time, as R's ``plot.cox.zph``.

    A flat smooth means a constant coefficient (proportional hazards); a trend means the
    log hazard ratio changes with time (Grambsch & Therneau 1994).

    Parameters
    ----------
    zph : ZPHResult
        From :func:`radiogenomics.survival.cox_zph`.
    term : str, optional
        The term to draw; default every term, one panel each (``ax`` needs one term).
    df, nsmo : int
        Basis functions of the natural-spline smooth and points of its grid (R's defaults).
    resid, se : bool
        Draw the residuals; draw the +/- 2 SE band.

    Returns
    -------
    Figure
        Per panel the residuals (``gid="residuals"``), the smooth (``gid="smooth"``) and its
        band (``gid="band"``), the term's cox.zph p in the title; the x axis is labelled in
        time units (log scale for ``transform="log"``).
    """
    import matplotlib.pyplot as plt

    if not isinstance(zph, ZPHResult):
        raise InputError(f"plot_zph needs a ZPHResult (cox_zph); got {type(zph).__name__}")
    terms = list(zph.y.columns) if term is None else [term]
    bad = [t for t in terms if t not in zph.y.columns]
    if bad:
        raise InputError(f"term {listing(bad)} is not in the cox.zph result (terms: "
                         f"{listing(zph.y.columns)})")
    if ax is not None and len(terms) > 1:
        raise InputError("ax holds one panel: name the term to draw")
    if ax is None:
        ncol = min(3, len(terms))
        nrow = int(np.ceil(len(terms) / ncol))
        fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow), squeeze=False,
                                 layout="constrained")
        axes = list(axes.ravel())
        for extra in axes[len(terms):]:
            extra.set_visible(False)
    else:
        fig, axes = ax.figure, [ax]
    log = zph.transform == "log"
    for a, name in zip(axes, terms):
        grid, fit, sd = zph_smooth(zph, name, df, nsmo)
        x = np.exp(zph.x) if log else np.asarray(zph.x, float)
        gx = np.exp(grid) if log else grid
        if resid:
            a.scatter(x, zph.y[name], s=9, c="0.45", alpha=0.6, lw=0, gid="residuals")
        a.plot(gx, fit, c="tab:red", lw=1.6, gid="smooth")
        if se:
            a.fill_between(gx, fit - 2 * sd, fit + 2 * sd, color="tab:red", alpha=0.15, lw=0,
                           gid="band")
        a.axhline(0, c="0.6", ls=":", lw=1)
        if log:
            a.set_xscale("log")
        elif zph.transform != "identity":
            _zph_time_axis(a, zph)
        a.set_xlabel(f"time ({zph.transform} scale)" if not log else "time (log scale)")
        a.set_ylabel(f"beta(t) for {name}")
        a.set_title(f"{name}: cox.zph p = {_fmt_p(zph.table.loc[name, 'p'])}", fontsize=9)
    return fig


# ------------------------------------------------------------------------------ AUC(t), DCA

def plot_time_auc(res, ax=None, *, colours: dict | None = None):
    """Cumulative/dynamic AUC(t) with its pointwise intervals.

    Parameters
    ----------
    res : TimeAUCResult or mapping of label -> TimeAUCResult
        From :func:`radiogenomics.survival.concordance.time_dependent_auc`; a mapping draws
        several models (e.g. the imaging score beside the clinical model).

    Returns
    -------
    Figure
        One line per result (``gid="auc"``; the legend gives its integrated AUC), its
        interval as a band (several times) or error bar (one time), and AUC = 0.5 dashed.
    """
    items = dict(res) if isinstance(res, Mapping) else {"model": res}
    if not items:
        raise InputError("plot_time_auc needs at least one TimeAUCResult")
    for k, r in items.items():
        if not isinstance(r, TimeAUCResult):
            raise InputError(f"{k!r} is a {type(r).__name__}, not a TimeAUCResult "
                             "(time_dependent_auc)")
    cols = _group_colours(list(items), colours) if colours is not None else {
        k: c for k, c in zip(items, ["tab:blue", "0.35", "tab:orange", "tab:green", "tab:red"]
                             * len(items))}
    fig, ax = _axes(ax, (5.0, 3.6))
    for k, r in items.items():
        c = cols[str(k)]
        lab = f"{k} (integrated AUC {r.mean_auc:.2f})" if r.times.size > 1 else str(k)
        ax.plot(r.times, r.auc, marker="o", ms=3, c=c, label=lab, gid="auc")
        if r.times.size > 1:
            ax.fill_between(r.times, r.lower, r.upper, color=c, alpha=0.15, lw=0)
        else:
            ax.errorbar(r.times, r.auc, yerr=[r.auc - r.lower, r.upper - r.auc], fmt="none",
                        ecolor=c, capsize=3)
    ax.axhline(0.5, c="0.6", ls="--", lw=1)
    ax.set_ylim(min(0.3, float(np.nanmin([np.nanmin(r.lower) for r in items.values()]))), 1.0)
    ax.set_xlabel("time t")
    ax.set_ylabel("AUC(t), cumulative/dynamic")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return fig


_DCA_COLUMNS = ("threshold", "net_benefit", "treat_all")


def plot_survival_decision_curve(df, ax=None, *, colours: dict | None = None):
    """Decision curve at a horizon: net benefit of a model against treat all / treat none
    (Vickers et al. 2008).

    Parameters
    ----------
    df : DataFrame or mapping of label -> DataFrame
        :func:`radiogenomics.survival.net_benefit_at` output (``ValidationResult.
        decision_curve(horizon=h)``): columns ``threshold``, ``net_benefit``, ``treat_all``;
        a mapping draws several models (treat all from the first).

    Returns
    -------
    Figure
        The models' net benefit (``gid="model"``), treat all (dashed) and treat none (0).
    """
    items = dict(df) if isinstance(df, Mapping) else {"model": df}
    for k, d in items.items():
        if not isinstance(d, pd.DataFrame):
            raise InputError(f"{k!r} is a {type(d).__name__}, not the DataFrame of "
                             "net_benefit_at")
        missing = [c for c in _DCA_COLUMNS if c not in d.columns]
        if missing:
            raise InputError(f"decision-curve table {k!r} lacks column(s) {listing(missing)}; "
                             "pass the output of net_benefit_at / decision_curve(horizon=h)")
    cols = _group_colours(list(items), colours) if colours is not None else {
        k: c for k, c in zip(items, ["tab:blue", "tab:orange", "tab:green", "tab:red"]
                             * len(items))}
    fig, ax = _axes(ax, (4.8, 3.6))
    first = next(iter(items.values()))
    for k, d in items.items():
        ax.plot(d["threshold"], d["net_benefit"], c=cols[str(k)], label=str(k), gid="model")
    ax.plot(first["threshold"], first["treat_all"], c="0.5", ls="--", label="treat all")
    ax.axhline(0, c="0.2", lw=0.8, label="treat none")
    nb = np.concatenate([d["net_benefit"].to_numpy(float) for d in items.values()])
    top = max(0.05, float(np.nanmax(np.r_[nb, first["treat_all"].to_numpy(float)])) * 1.1)
    ax.set_ylim(max(min(-0.05, float(np.nanmin(nb))), -0.25 * top), top)   # as dcurves: the
    # strongly negative tail at high thresholds is cut off
    ax.set_xlabel("threshold probability")
    ax.set_ylabel("net benefit")
    ax.legend(frameon=False, fontsize=8)
    return fig
