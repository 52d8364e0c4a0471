"""Survival predictions in cross-validation: what :func:`radiogenomics.validation.cross_validate`
calls for ``kind="survival"`` (risk scores and absolute risks out of every fold, the metric
table of the pooled out-of-fold predictions, calibration and net benefit at a horizon).

Metrics of the pooled out-of-fold predictions (rows of ``ValidationResult.metrics``)
------------------------------------------------------------------------------------
``c_index``
    Harrell's C of the risk score (``survival::concordance(..., reverse = TRUE)``), CI from its
    infinitesimal-jackknife SE (normal, on the C scale).
``c_index_within_centre`` (several centres)
    Pairs of the same centre only (concordance with centre strata).  Under leave-one-centre-out
    every held-out centre is scored by a model that never saw its baseline hazard, and the
    pooled C mixes centres whose event rates differ: a model with no information can reach a
    pooled C far from 0.5 when centres differ, while the within-centre C stays at 0.5 (tested in
    ``tests/test_survival_validation.py``).  Read this one for leave-one-centre-out.
``uno_c``
    Uno's IPCW C (censoring Kaplan-Meier of all pooled outcomes; truncated at the largest
    horizon when ``horizons`` are given, else at the last event time).
At each horizon ``h`` (``horizons``; absolute risk ``1 - S(h | x)`` from the estimator's
``predict_risk``):
``auc_<h>``: cumulative/dynamic AUROC (IPCW); ``brier_<h>`` (IPCW) and ``ipa_<h>`` (index of
prediction accuracy, 1 - Brier / Brier of the Kaplan-Meier null model);
``calibration_slope_<h>`` and ``oe_ratio_<h>`` (observed Kaplan-Meier risk / mean predicted
risk); with two or more horizons ``ibs`` (integrated Brier score over them); with a baseline
model, ``nri_<h>`` (category-free) and ``idi_<h>``, and
``delta_c_index`` (C of the model - C of the baseline, paired bootstrap CI).
Per centre and subgroup: ``c_index`` and, at each horizon, ``auc_<h>`` and ``oe_ratio_<h>``.
CIs conditional on the fitted fold models (as for the other kinds): analytic where the
estimator has a standard error, else a bootstrap of the pooled predictions stratified by
centre (``n_boot``).

Out-of-fold scores under the null lean slightly *against* the outcome (each fold's model is
fitted on training rows whose chance feature-outcome association is opposite to the held-out
rows'), so a C-index below 0.5 is no evidence of a harmful score and two-sided tests of
out-of-fold scores are anti-conservative in that direction (the workflow step reports one-sided
tests; ``tests/test_workflow_survival.py``).  Risk scores are centred at each training fold's
mean (:class:`~radiogenomics.penalized.PenalizedModel`, :class:`~radiogenomics.survival.CoxPHModel`),
so the pooled C compares patients of different folds on one scale.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._checks import InputError

__all__ = ["is_survival_target", "survival_predictions", "fold_survival_metrics",
           "survival_metric_table", "risk_column", "pooled_calibration", "pooled_net_benefit"]

def is_survival_target(y) -> bool:
    """Whether ``y`` is a survival outcome: a structured array with two fields, or a
    two-column DataFrame / 2-D array."""
    if isinstance(y, pd.DataFrame):
        return y.shape[1] == 2
    arr = np.asarray(y) if not isinstance(y, pd.Series) else None
    if arr is None:
        return False
    if arr.dtype.names is not None:
        return len(arr.dtype.names) == 2
    return arr.ndim == 2 and arr.shape[1] == 2


def risk_column(h: float) -> str:
    """Name of the absolute-risk column at horizon ``h``."""
    return f"risk_{h:g}"


def _final_step(est, X):
    """The last step of a Pipeline and ``X`` transformed by the steps before it."""
    if hasattr(est, "steps"):
        Xt = X
        for _, step in est.steps[:-1]:
            if step is not None and step != "passthrough":
                Xt = step.transform(Xt)
        return est.steps[-1][1], Xt
    return est, X


def survival_predictions(est, X, horizons=()) -> dict:
    """``{"pred": risk score, "risk_<h>": 1 - S(h | x) ...}`` of a fitted survival estimator
    (a Cox :class:`~radiogenomics.penalized.PenalizedModel`, a Pipeline ending in one, or any
    estimator whose ``predict`` returns a risk score and, for horizons, ``predict_risk``)."""
    out = {"pred": np.asarray(est.predict(X), dtype=float).ravel()}
    if horizons:
        final, Xt = _final_step(est, X)
        if not hasattr(final, "predict_risk"):
            raise InputError(f"horizons need absolute risks, but {type(final).__name__} has no "
                             "predict_risk(X, horizon); use a Cox model (PenalizedModel("
                             "family='cox')) or drop horizons")
        for h in horizons:
            out[risk_column(h)] = np.asarray(final.predict_risk(Xt, h), dtype=float).ravel()
    return out


def fold_survival_metrics(rec: pd.DataFrame) -> dict:
    """Per-fold Harrell C of the risk score (NaN when the fold has no comparable pair)."""
    from .concordance import _harrell_c_value

    ok = np.isfinite(rec["pred"].to_numpy())
    r = rec[ok]
    c = np.nan
    if r["event"].sum() > 0 and len(r) > 1:
        try:
            c = _harrell_c_value(r["time"].to_numpy(), r["event"].to_numpy(),
                                 r["pred"].to_numpy())
        except InputError:
            c = np.nan
    return {"c_index": c, "n_events": int(r["event"].sum())}


# ------------------------------------------------------------------------------ metric table

def _row(group, metric, est, lo, hi, n, n_events, note="", breakdown="all", n_boot_valid=0):
    return {"breakdown": breakdown, "group": group, "metric": metric, "estimate": float(est),
            "lower": float(lo), "upper": float(hi), "n": int(n), "n_events": int(n_events),
            "n_boot_valid": int(n_boot_valid), "note": note}


def _concordance_rows(d, group, breakdown, strata=None, metric="c_index", note=""):
    from .concordance import harrell_c

    t, e, r = d["time"].to_numpy(), d["event"].to_numpy(), d["pred"].to_numpy()
    try:
        res = harrell_c(time=t, event=e, risk=r, strata=strata)
    except InputError as exc:
        return [_row(group, metric, np.nan, np.nan, np.nan, len(d), e.sum(), str(exc),
                     breakdown)]
    return [_row(group, metric, res.c, res.lower, res.upper, len(d),
                 e.sum(), note or "CI: infinitesimal-jackknife SE (survival::concordance)",
                 breakdown)]


def _uno_row(d, tau):
    from .concordance import uno_c

    t, e, r = d["time"].to_numpy(), d["event"].to_numpy(), d["pred"].to_numpy()
    y = np.column_stack([t, e])
    try:
        res = uno_c(y, y, r, tau=tau)
    except InputError as exc:
        return _row("all", "uno_c", np.nan, np.nan, np.nan, len(d), e.sum(), str(exc))
    lo, hi = res.confidence_interval()
    return _row("all", "uno_c", res.c, lo, hi, len(d), e.sum(),
                f"censoring KM of the pooled outcomes; tau = {tau:g}" if tau else
                "censoring KM of the pooled outcomes")


def _horizon_rows(d, h, group="all", breakdown="all", full=True, baseline=None):
    """AUC(h) (and, for the whole sample, Brier/IPA, calibration, NRI/IDI) at horizon h."""
    from .concordance import time_dependent_auc
    from .horizon import calibration_at

    col = risk_column(h)
    t, e = d["time"].to_numpy(), d["event"].to_numpy()
    y = np.column_stack([t, e])
    risk = d[col].to_numpy()
    rows = []
    try:
        auc = time_dependent_auc(y, y, risk, [h]).to_frame().iloc[0]
        rows.append(_row(group, f"auc_{h:g}", auc["auc"], auc["lower"], auc["upper"], len(d),
                         e.sum(), "cumulative/dynamic AUROC, IPCW", breakdown))
    except InputError as exc:
        rows.append(_row(group, f"auc_{h:g}", np.nan, np.nan, np.nan, len(d), e.sum(), str(exc),
                         breakdown))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cal = calibration_at(y, risk, h, n_groups=min(10, max(2, int(e.sum() // 10))))
        notes = "; ".join(dict.fromkeys(str(w.message) for w in caught))
        rows.append(_row(group, f"oe_ratio_{h:g}", cal.oe, cal.oe_lower, cal.oe_upper, len(d),
                         e.sum(), "observed (Kaplan-Meier) / mean predicted risk" +
                         (f"; {notes}" if notes else ""), breakdown))
        if full:
            rows.append(_row(group, f"calibration_slope_{h:g}", cal.slope, cal.slope_lower,
                             cal.slope_upper, len(d), e.sum(),
                             "Cox slope on log(-log(1 - risk))" +
                             ("" if cal.slope_converged else "; NOT converged"), breakdown))
    except InputError as exc:
        rows.append(_row(group, f"oe_ratio_{h:g}", np.nan, np.nan, np.nan, len(d), e.sum(),
                         str(exc), breakdown))
    if full:
        rows.extend(_brier_rows(y, risk, h, len(d), e.sum()))
        if baseline is not None:
            rows.extend(_reclassification_rows(y, risk, baseline, h, len(d), e.sum()))
    return rows


def _brier_rows(y, risk, h, n, n_events):
    from .horizon import brier_score

    try:
        b = brier_score(y, y, 1.0 - risk[:, None], [h]).to_frame().iloc[0]
    except InputError as exc:
        return [_row("all", f"brier_{h:g}", np.nan, np.nan, np.nan, n, n_events, str(exc))]
    return [_row("all", f"brier_{h:g}", b["brier"], b["lower"], b["upper"], n, n_events,
                 "IPCW (censoring KM of the pooled outcomes); influence-function SE"),
            _row("all", f"ipa_{h:g}", b["ipa"], np.nan, np.nan, n, n_events,
                 "1 - Brier / Brier of the Kaplan-Meier null model")]


def _ibs_row(d, horizons):
    """Integrated Brier score over the horizons (riskRegression / pec's step rule on the
    predicted survival at the horizons only: a coarse grid, so compare models on the same
    horizons)."""
    from .horizon import integrated_brier_score

    y = np.column_stack([d["time"].to_numpy(), d["event"].to_numpy()])
    S = 1.0 - np.column_stack([d[risk_column(h)].to_numpy() for h in horizons])
    try:
        res = integrated_brier_score(y, y, S, list(horizons))
    except InputError as exc:
        return _row("all", "ibs", np.nan, np.nan, np.nan, len(d), y[:, 1].sum(), str(exc))
    return _row("all", "ibs", res.ibs, np.nan, np.nan, len(d), y[:, 1].sum(),
                f"over the horizons {[float(h) for h in horizons]} (step rule); null model "
                f"{res.null_ibs:.4f}, IPA {res.ipa:.3f}")


def _reclassification_rows(y, risk, risk_old, h, n, n_events, n_boot=200, rng=0):
    from .horizon import nri_idi_at

    try:
        res = nri_idi_at(y, risk, risk_old, h, n_boot=n_boot, rng=rng).to_frame()
    except InputError as exc:
        return [_row("all", f"nri_{h:g}", np.nan, np.nan, np.nan, n, n_events, str(exc))]
    rows = []
    for name in ("nri", "idi"):
        r = res.loc[name]
        rows.append(_row("all", f"{name}_{h:g}", r["estimate"], r["lower"], r["upper"], n,
                         n_events, "vs the baseline model's risk at the horizon"))
    return rows


def _delta_c_row(d, n_boot, rng, strata):
    from ..metrics import bootstrap_ci
    from .concordance import _harrell_c_value

    def delta(t, e, a, b):
        return _harrell_c_value(t, e, a) - _harrell_c_value(t, e, b)

    arrays = (d["time"].to_numpy(), d["event"].to_numpy(), d["pred"].to_numpy(),
              d["pred_baseline"].to_numpy())
    est = delta(*arrays)
    lo = hi = np.nan
    valid = 0
    if n_boot:
        ci = bootstrap_ci(delta, *arrays, n_boot=n_boot, strata=strata, rng=rng)
        lo, hi, valid = ci.lower, ci.upper, ci.n_boot_valid
    return _row("all", "delta_c_index", est, lo, hi, len(d), d["event"].sum(),
                "C of the model - C of the baseline; paired bootstrap", n_boot_valid=valid)


def survival_metric_table(pooled: pd.DataFrame, groups: dict, horizons, *, n_boot: int = 1000,
                          rng=None, by_centre: bool = True) -> pd.DataFrame:
    """The metrics of pooled out-of-fold survival predictions (see the module docstring):
    overall, within centres, and per group of each breakdown in ``groups`` (name -> Series of
    labels on ``pooled``'s index)."""
    d = pooled[np.isfinite(pooled["pred"].to_numpy())]
    rows = _concordance_rows(d, "all", "all")
    centre = d["centre"].astype(str).to_numpy()
    if by_centre and len(np.unique(centre)) > 1:
        rows += _concordance_rows(d, "all", "all", strata=centre, metric="c_index_within_centre",
                                  note="pairs within centres only; infinitesimal-jackknife SE")
    tau = max(horizons) if horizons else None
    rows.append(_uno_row(d, tau))
    base = None
    for h in horizons:
        bcol = risk_column(h) + "_baseline"
        base = d[bcol].to_numpy() if bcol in d else None
        rows += _horizon_rows(d, h, baseline=base)
    if len(horizons) >= 2:
        rows.append(_ibs_row(d, horizons))
    if "pred_baseline" in d:
        rows.append(_delta_c_row(d, n_boot, rng, centre))
    for name, g in groups.items():
        g = g.reindex(d.index).astype(str)
        for level in pd.unique(g):
            sub = d[(g == level).to_numpy()]
            rows += _concordance_rows(sub, level, name)
            for h in horizons:
                rows += _horizon_rows(sub, h, group=level, breakdown=name, full=False)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ result helpers

def _pooled_at(result, horizon):
    """Pooled (time, event) and the absolute risk at ``horizon`` of a ValidationResult."""
    if not result.horizons:
        raise InputError("this cross-validation predicted no absolute risks: rerun "
                         "cross_validate(..., horizons=[...]) with the horizon you want")
    h = result.horizons[0] if horizon is None else float(horizon)
    if h not in result.horizons:
        raise InputError(f"horizon {h:g} was not predicted; the cross-validation has horizons "
                         f"{result.horizons}")
    p = result.pooled()
    p = p[np.isfinite(p["pred"].to_numpy())]
    return p, np.column_stack([p["time"].to_numpy(), p["event"].to_numpy()]), h


def pooled_calibration(result, horizon=None, n_groups: int = 10):
    """Predicted vs Kaplan-Meier observed risk at ``horizon`` by risk group
    (:func:`radiogenomics.survival.calibration_at`) of pooled out-of-fold predictions."""
    from .horizon import calibration_at

    p, y, h = _pooled_at(result, horizon)
    return calibration_at(y, p[risk_column(h)].to_numpy(), h, n_groups=n_groups)


def pooled_net_benefit(result, horizon=None, thresholds=None) -> pd.DataFrame:
    """Decision curve at ``horizon`` (:func:`radiogenomics.survival.net_benefit_at`)."""
    from .horizon import net_benefit_at

    p, y, h = _pooled_at(result, horizon)
    return net_benefit_at(y, p[risk_column(h)].to_numpy(), h, thresholds=thresholds)
