"""Workflow step ``survival``: a time-to-event outcome and a radiogenomic risk score.

The outcome is two columns of the cohort's outcomes (follow-up time and event indicator,
default ``event_time`` / ``event`` as ``data_sim`` writes them).  The step reports the
Kaplan-Meier curves per centre with numbers at risk; the survival screen of every predictor
feature (:func:`radiogenomics.survival.screen.survival_screen`: Cox score tests adjusted for
the clinical covariates within centre strata, BH and max-T over permutations within centres);
a penalised Cox risk score (:func:`radiogenomics.penalized.make_pipeline`, ``family="cox"``;
the score is centred at each training fold's mean so that out-of-fold scores pool on one
scale) validated leave-one-centre-out and by k-fold beside a clinical Cox model
(:class:`radiogenomics.survival.CoxPHModel`, text columns dummy coded) on the same folds
(:func:`radiogenomics.validation.cross_validate`: C, within-centre C, Uno's C, AUC, Brier,
IPA, calibration slope and O/E at the horizon, NRI/IDI and the difference in C); Kaplan-Meier
curves of out-of-fold risk groups, calibration, AUC(t) and the proportional-hazards check
(:func:`ph_check`).  ``result["results"]`` (scheme -> ``ValidationResult``) is what the
``truth`` step reads.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from .._checks import InputError, RadiogenomicsError
from ..report.format import fmt_ci, fmt_count, fmt_num, fmt_p
from ._base import (Fragment, StepContext, StepOptions, StepRecord, StepResult,
                    package_versions, skipped, timed_step)
from .cohort import join_words, plural

__all__ = ["Options", "run", "default_horizon", "ph_check"]

STEP = "survival"
TITLE = "Time-to-event outcome: radiogenomic risk score"
#: lambda values of the penalised Cox path, and the end of the path as a fraction of
#: lambda_max: with more features than events the saturated end of the path is slow to fit
#: and never chosen (a choice at the end is reported)
N_LAMBDA = 20
LAMBDA_MIN_RATIO = 0.1
MIN_EVENTS = 10

CITATIONS = [
    "Cox DR (1972) Regression models and life-tables. J R Stat Soc B 34:187-220",
    "Kaplan EL, Meier P (1958) Nonparametric estimation from incomplete observations. "
    "J Am Stat Assoc 53:457-481",
    "Simon N, Friedman J, Hastie T, Tibshirani R (2011) Regularization paths for Cox's "
    "proportional hazards model via coordinate descent. J Stat Softw 39(5):1-13",
    "Johnson WE, Li C, Rabinovic A (2007) Adjusting batch effects in microarray expression data "
    "using empirical Bayes methods. Biostatistics 8:118-127",
    "Harrell FE, Lee KL, Mark DB (1996) Multivariable prognostic models. Stat Med 15:361-387",
    "Uno H, Cai T, Pencina MJ, D'Agostino RB, Wei LJ (2011) On the C-statistics for evaluating "
    "overall adequacy of risk prediction procedures. Stat Med 30:1105-1117",
    "Graf E, Schmoor C, Sauerbrei W, Schumacher M (1999) Assessment and comparison of "
    "prognostic classification schemes for survival data. Stat Med 18:2529-2545",
    "Pencina MJ, D'Agostino RB, Steyerberg EW (2011) Extensions of net reclassification "
    "improvement calculations. Stat Med 30:11-21",
    "Grambsch PM, Therneau TM (1994) Proportional hazards tests and diagnostics based on "
    "weighted residuals. Biometrika 81:515-526",
    "Westfall PH, Young SS (1993) Resampling-Based Multiple Testing. Wiley",
    "Mantel N (1966) Evaluation of survival data and two new rank order statistics. Cancer "
    "Chemother Rep 50:163-170",
]


class Options(StepOptions):
    """Options of the ``survival`` step.

    Attributes
    ----------
    time, event : str
        Columns of the cohort's outcomes: follow-up time (> 0) and event indicator (1 event,
        0 censored).
    x : str or list of str
        Predictor views (joined on their common patients); each is also screened.
    clinical : list of str
        Covariates of the clinical model, of the screen's adjustment and preserved by ComBat.
    horizon : float, optional
        Time at which absolute risks are judged; default the time by which a third of the
        events occurred, rounded to two significant digits.
    cv : list of "loco" or int
        Validation schemes: leave one centre out and/or k-fold.
    permutations : int
        Permutations (within centres) of the screen, capped at the study's number.
    alpha : float
        Elastic-net mixing parameter (1 lasso, 0 ridge).
    bootstrap : int
        Paired bootstrap resamples of the CI of the difference in C.
    risk_groups : int
        Quantile groups of the out-of-fold risk score in the Kaplan-Meier figure.
    top : int
        Rows of the screen's table shown in the report (the CSV file has every feature).
    """

    time: str = "event_time"
    event: str = "event"
    x: str | list[str] = Field(default_factory=lambda: ["radiomics", "modules"])
    clinical: list[str] = Field(default_factory=lambda: ["age", "sex"])
    horizon: float | None = Field(None, gt=0)
    cv: list[str | int] = Field(default_factory=lambda: ["loco", 5])
    permutations: int = Field(999, ge=0)
    alpha: float = Field(0.5, ge=0.0, le=1.0)
    bootstrap: int = Field(200, ge=0)
    risk_groups: int = Field(3, ge=2, le=5)
    top: int = Field(15, ge=1)

    @field_validator("cv")
    @classmethod
    def _schemes(cls, v):
        for c in v:
            if isinstance(c, str) and c != "loco" or isinstance(c, int) and c < 2:
                raise ValueError(f"{c!r} is not a validation scheme: use 'loco' (leave one "
                                 "centre out) or a number of folds >= 2")
        return v


# ------------------------------------------------------------------------- inputs

def default_horizon(time, event) -> float:
    """The time by which a third of the events occurred (type-7 quantile of the event
    times), rounded to two significant digits (kept below the last follow-up)."""
    t, e = np.asarray(time, float), np.asarray(event, float)
    h = float(np.quantile(t[e == 1], 1 / 3))
    r = float(f"{h:.2g}")
    return r if 0 < r < t.max() else h


def _outcome(cohort, opts: Options):
    """``(y, dropped, reason)``: the checked outcome (time, event) of the patients who have
    it; ``reason`` says why the step cannot run (else None)."""
    from ..survival import as_survival

    out = cohort.outcomes
    if out is None:
        return None, {}, "the cohort has no outcomes"
    absent = [c for c in (opts.time, opts.event) if c not in out.columns]
    if absent:
        return None, {}, (f"no column {join_words(repr(c) for c in absent)} in the outcomes "
                          f"(it has {join_words(out.columns)}); name the time and event columns")
    y = out[[opts.time, opts.event]]
    miss = y.index[y.isna().any(axis=1)]
    dropped = {} if not len(miss) else {"outcome missing": {
        "n": len(miss), "ids": [str(i) for i in miss],
        "reason": f"no {opts.time} or {opts.event} (left out of every analysis)"}}
    y = y.drop(index=miss)
    t, e, _ = as_survival(y, what=f"the outcome ({opts.time}, {opts.event})")
    y = pd.DataFrame({"time": t, "event": e}, index=y.index)
    if e.sum() < MIN_EVENTS:
        return None, dropped, (f"only {plural(int(e.sum()), 'event')}; a risk score needs at "
                               f"least {MIN_EVENTS}")
    return y, dropped, None


def _design(cohort, xs, y, clinical, has_centre):
    """``(X, y, dropped)`` on the patients with every x view and the outcome: the features,
    the ``centre`` column (constant without centres) and the clinical columns."""
    ids = y.index
    for v in xs:
        ids = ids.intersection(cohort[v].index)
    X = pd.concat([cohort[v].loc[ids] for v in xs], axis=1)
    X["centre"] = cohort.centre.reindex(ids).astype(str) if has_centre else "all"
    for c in clinical:
        X[c] = cohort.covariates[c].reindex(ids)
    lost = y.index.difference(ids)
    dropped = {} if not len(lost) else {f"without {join_words(xs)}": {
        "n": len(lost), "ids": [str(i) for i in lost],
        "reason": f"not in every predictor view ({join_words(xs)}); kept in the Kaplan-Meier "
                  "curves and the screens of the views they have"}}
    return X, y.loc[ids], dropped


# ------------------------------------------------------------------------- validation

def _validate(X, y, scheme, opts, clinical, harmonize, horizon, seed):
    """One scheme: ``(ValidationResult, clinical metric table, median features kept, solver
    messages, other warnings)``."""
    from ..penalized import make_pipeline
    from ..survival import CoxPHModel
    from ..survival.evaluate import survival_metric_table
    from ..validation import cross_validate

    pipe = make_pipeline(family="cox", alpha=opts.alpha, harmonize=harmonize,
                         covariates=tuple(clinical), rng=seed, n_lambda=N_LAMBDA)
    pipe.set_params(model__lambda_min_ratio=LAMBDA_MIN_RATIO)
    base = CoxPHModel(columns=tuple(clinical)) if clinical else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cross_validate(pipe, X, y, scheme, baseline=base, horizons=[horizon],
                             n_boot=opts.bootstrap, rng=seed, return_estimators=True,
                             progress=False)
        clin = None
        if base is not None:
            p = res.pooled()
            rc = f"risk_{horizon:g}"
            p = p.drop(columns=["pred", rc]).rename(columns={"pred_baseline": "pred",
                                                             rc + "_baseline": rc})
            several = p["centre"].nunique() > 1
            clin = survival_metric_table(p, {"centre": p["centre"]} if several else {},
                                         [horizon], n_boot=0, rng=seed, by_centre=several)
    models = [e.named_steps["model"] for e in res.estimators]
    n_sel = int(np.median([len(m.selected_features_) for m in models]))
    conv = [f"fold {i + 1}: {msg}" for i, m in enumerate(models)
            for msg in m.convergence_warnings_]
    edge = sum(np.isclose(m.lambda_chosen_, m.cv_curves_["survival"]["lambda"].iloc[-1])
               for m in models)
    if edge:
        conv.append(f"lambda chosen at the end of the path ({LAMBDA_MIN_RATIO:g} x lambda_max) "
                    f"in {plural(edge, 'fold')}: a smaller penalty might have been chosen")
    other = list(dict.fromkeys(f"{w.category.__name__}: {str(w.message).splitlines()[0]}"
                               for w in caught))
    return res, clin, n_sel, conv, other


def _metric(m: pd.DataFrame, name: str, col: str = "estimate") -> float:
    m = m[m["breakdown"] == "all"].set_index("metric")
    return float(m.at[name, col]) if name in m.index else float("nan")


def _summary_rows(res, clin, h, n_sel) -> list[dict]:
    """The wide summary: one row for the risk score, one for the clinical model."""
    rows = []
    for model, m in (("radiogenomic score", res.metrics), ("clinical", clin)):
        if m is None:
            continue
        r = {"cv": res.cv, "model": model}
        for key, name in (("c_index", "c_index"), ("c_within_centre", "c_index_within_centre")):
            r[key] = _metric(m, name)
            r[key + "_lower"], r[key + "_upper"] = _metric(m, name, "lower"), _metric(m, name,
                                                                                      "upper")
        for name in ("uno_c", f"auc_{h:g}", f"brier_{h:g}", f"ipa_{h:g}",
                     f"calibration_slope_{h:g}", f"oe_ratio_{h:g}"):
            r[name] = _metric(m, name)
        if model == "radiogenomic score":
            for name in (f"nri_{h:g}", f"idi_{h:g}", "delta_c_index"):
                r[name] = _metric(m, name)
            r["delta_c_lower"] = _metric(m, "delta_c_index", "lower")
            r["delta_c_upper"] = _metric(m, "delta_c_index", "upper")
            r["features_selected"] = n_sel
        r["n"] = int(_metric(m, "c_index", "n"))
        r["events"] = int(_metric(m, "c_index", "n_events"))
        rows.append(r)
    return rows


def _run_schemes(X, y, opts, clinical, harmonize, schemes, h, seed):
    out = dict(rows=[], long=[], results={}, clinical={}, failed=[], convergence=[], other=[])
    for scheme in schemes:
        try:
            res, clin, n_sel, conv, other = _validate(X, y, scheme, opts, clinical, harmonize,
                                                      h, seed)
        except RadiogenomicsError as e:
            out["failed"].append(f"{scheme}: {e}")
            continue
        out["results"][res.cv], out["clinical"][res.cv] = res, clin
        out["rows"] += _summary_rows(res, clin, h, n_sel)
        out["long"].append(res.metrics.assign(cv=res.cv, model="radiogenomic score"))
        if clin is not None:
            out["long"].append(clin.assign(cv=res.cv, model="clinical"))
        out["convergence"] += [f"{res.cv}, {m}" for m in conv]
        out["other"] += [f"{res.cv}: {m}" for m in other]
    return out


# ------------------------------------------------------------------------- other analyses

def _screen(ctx, opts, xs, y, clinical, has_centre, seed):
    """The survival screen of every x view on its own patients: ``(results, table of every
    feature, permutations, dropped features)``."""
    from ..survival.screen import survival_screen

    cohort = ctx.cohort
    B = min(int(opts.permutations), int(ctx.n_permutations))
    results, tables, dropped = {}, [], {}
    for v in xs:
        V = cohort[v]
        ids = V.index.intersection(y.index)
        nan = V.columns[V.loc[ids].isna().any()]
        if len(nan):
            dropped[f"{v}: incomplete"] = {"n": len(nan), "ids": [str(c) for c in nan],
                                           "reason": "missing values (the screen needs "
                                                     "complete features)"}
        cov = cohort.covariates.loc[ids, clinical] if clinical else None
        res = survival_screen(V.loc[ids].drop(columns=nan), y.loc[ids], covariates=cov,
                              strata=cohort.centre.reindex(ids).astype(str) if has_centre
                              else None, n_permutations=B, rng=seed, degenerate="drop",
                              alpha=ctx.alpha, progress=False)
        if len(res.dropped_features):
            dropped[f"{v}: untestable"] = {
                "n": len(res.dropped_features),
                "ids": list(map(str, res.dropped_features["feature"])),
                "reason": "; ".join(pd.unique(res.dropped_features["reason"]))}
        results[v] = res
        tables.append(res.to_frame().assign(view=v)[["view", "feature", "hr_per_sd", "z", "p",
                                                     "p_perm", "p_fwer", "q"]])
    table = pd.concat(tables, ignore_index=True)
    keys = (table["p"], table["p_perm"]) if B else (table["p"],)   # lexsort: last key first
    table = table.iloc[np.lexsort(keys)].reset_index(drop=True)
    return results, table, B, dropped


def ph_check(pooled: pd.DataFrame, clinical: pd.DataFrame | None, strata=None):
    """Cox model of the standardised out-of-fold risk score (``risk_score``, per SD; per
    pooled within-stratum SD with ``strata``) with the clinical covariates (text columns dummy
    coded) within ``strata``, and its ``cox.zph``.

    Returns ``(CoxPHResult, ZPHResult, table)``: per term the hazard ratio and the cox.zph
    chi-square, df and p (and GLOBAL); for the score the one-sided Wald p of HR > 1
    (``p_greater``).  One-sided, and no two-sided CI, because out-of-fold scores are
    anti-correlated with the outcome under the null (two-sided: 13% rejections at 5% in the
    5-fold null simulation of ``tests/test_workflow_survival.py``; one-sided: under 5%)."""
    from scipy import stats

    from ..survival import cox_zph, coxph

    s = pooled["pred"].astype(float)
    if strata is None:
        sd = s.std()
    else:                                   # pooled within-stratum SD: the strata absorb
        dev = s - s.groupby(np.asarray(strata)).transform("mean")    # the level differences
        sd = float(np.sqrt((dev ** 2).sum() / (len(s) - pd.unique(np.asarray(strata)).size)))
    D = pd.DataFrame({"risk_score": (s - s.mean()) / sd}, index=pooled.index)
    if clinical is not None and clinical.shape[1]:
        D = D.join(pd.get_dummies(clinical.reindex(pooled.index), drop_first=True,
                                  dtype=float))
    fit = coxph(D, pooled[["time", "event"]], strata=strata)
    zph = cox_zph(fit)
    tab = pd.DataFrame({"hazard_ratio": fit.hazard_ratio})
    tab["p_greater"] = np.nan
    tab.loc["risk_score", "p_greater"] = float(stats.norm.sf(fit.z["risk_score"]))
    tab = tab.join(zph.table.rename(columns={"chisq": "zph_chisq", "df": "zph_df",
                                             "p": "zph_p"}), how="outer")
    tab = tab.reindex(list(D.columns) + ["GLOBAL"])
    tab.index.name = "term"
    return fit, zph, tab


def _ph(frag, ctx, res, clinical, has_centre, warn) -> dict:
    p = res.pooled()
    cov = ctx.cohort.covariates[clinical] if clinical else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit, zph, tab = ph_check(p, cov, p["centre"] if has_centre else None)
    warn += [f"PH check: {w.message}" for w in caught]
    from ..plotting import plot_zph

    frag.table(tab, "survival_ph_check",
               f"Cox model of the out-of-fold risk score ({res.cv}; standardised: hazard ratio "
               f"per {'within-centre ' if has_centre else ''}SD) with "
               f"{join_words(clinical) or 'no covariates'}"
               + (" within centre strata" if has_centre else "") + ": hazard ratio per term; "
               "p_greater: one-sided Wald p that the score's hazard ratio exceeds 1 given the "
               "clinical covariates (one-sided because out-of-fold scores lean against the "
               "outcome under the null, which makes two-sided tests reject too often); "
               "zph_chisq / zph_p: the cox.zph score test of a constant coefficient over time "
               "(Kaplan-Meier time scale; GLOBAL: all terms). A small zph_p means the hazard "
               "ratio changes with time.")
    frag.figure(plot_zph(zph, "risk_score"), "survival_zph_score",
                "Scaled Schoenfeld residuals of the risk score against time (Kaplan-Meier "
                "scale, labelled in time units) with a natural-spline smooth and its +/- 2 SE "
                "band, as R's plot.cox.zph: a flat smooth means a constant hazard ratio "
                "(proportional hazards); a slope means the effect grows or fades with time.")
    g = zph.table.loc["GLOBAL"]
    return {"cv": res.cv, "hr_per_sd": float(tab.at["risk_score", "hazard_ratio"]),
            "p_greater": float(tab.at["risk_score", "p_greater"]),
            "zph_p_score": float(zph.table.at["risk_score", "p"]),
            "zph_p_global": float(g["p"]), "converged": fit.converged}


def _centre_table(y, centre, h) -> pd.DataFrame:
    """Per centre: patients, events, median survival and follow-up, survival at h."""
    from ..plotting.survival import km_confidence_band
    from ..survival import kaplan_meier

    rows = []
    groups = {"all": np.ones(len(y), bool)}
    if centre is not None:
        groups = {**{c: (centre == c).to_numpy() for c in sorted(centre.unique())}, **groups}
    for g, m in groups.items():
        t, e = y["time"].to_numpy()[m], y["event"].to_numpy()[m]
        km, rev = kaplan_meier(t, e), kaplan_meier(t, e, reverse=True)
        lo, hi = km_confidence_band(km) if km.time.size else (np.array([]), np.array([]))
        k = np.searchsorted(km.time, h, side="right") - 1
        med = km.time[km.surv <= 0.5]
        fu = rev.time[rev.surv <= 0.5]
        rows.append({"centre": g, "n": int(m.sum()), "events": int(e.sum()),
                     "median_survival": float(med[0]) if med.size else np.nan,
                     "median_follow_up": float(fu[0]) if fu.size else np.nan,
                     f"survival_{h:g}": float(km(h)),
                     "lower": float(lo[k]) if k >= 0 else np.nan,
                     "upper": float(hi[k]) if k >= 0 else np.nan})
    return pd.DataFrame(rows).set_index("centre")


# ------------------------------------------------------------------------- report

def _describe(frag, ctx, y, h, opts, has_centre) -> None:
    """The outcome in words, the per-centre table and the Kaplan-Meier curves by centre."""
    from ..plotting import plot_km

    centre = ctx.cohort.centre.reindex(y.index).astype(str) if has_centre else None
    n, ev = len(y), int(y["event"].sum())
    rule = ("given" if opts.horizon is not None else
            "the time by which a third of the events had occurred, rounded")
    frag.text(f"Outcome: {opts.time} / {opts.event} for {plural(n, 'patient')}, "
              f"{plural(ev, 'event')} ({fmt_num(100 * (1 - ev / n), 2)}% censored); "
              f"horizon h = {h:g} ({rule}), by which "
              f"{plural(int(((y['time'] <= h) & (y['event'] == 1)).sum()), 'event')} occurred.")
    frag.table(_centre_table(y, centre, h), "survival_by_centre",
               f"Per centre (and all patients): patients, events, median survival (smallest "
               f"time with Kaplan-Meier survival <= 0.5; NA when not reached), median "
               f"follow-up (reverse Kaplan-Meier) and the Kaplan-Meier survival at h = {h:g} "
               "with its 95% log-log interval (lower, upper).")
    fig = plot_km(y, centre, colours=(ctx.centre_colours or None) if has_centre else None,
                  title="Kaplan-Meier by centre" if has_centre else "Kaplan-Meier")
    frag.figure(fig, "survival_km_by_centre",
                "Kaplan-Meier survival per centre (in the centre's colour) with 95% pointwise "
                "log-log bands; ticks mark censored patients; the table below gives the "
                "patients still at risk at each time. Curves apart mean centres differ in "
                "baseline risk, which the screen (centre strata) and the within-centre C "
                "take into account.")


def _screen_blocks(frag, ctx, results, table, B, alpha, clinical, has_centre, top) -> dict:
    nums, parts = {}, []
    for v, r in results.items():
        d = nums[v] = {"n": r.n_samples, "events": r.n_events, "tests": r.n_tests,
                       "bh": int((r.qvalues <= alpha).sum()), "permutations": r.n_permutations}
        if r.p_fwer is not None:
            d["fwer"] = int((r.p_fwer <= alpha).sum())
        s = (f"{v}: {plural(d['tests'], 'feature')} in {plural(d['n'], 'patient')} "
             f"({plural(d['events'], 'event')}); BH q <= {alpha}: {fmt_count(d['bh'])}")
        if "fwer" in d:
            s += f"; max-T FWER <= {alpha}: {fmt_count(d['fwer'])}"
        parts.append(s)
        hit = d.get("fwer", d["bh"])
        what = "max-T FWER" if "fwer" in d else "BH FDR"
        frag.finding(f"Survival screen of {v} ({d['tests']} features, {d['events']} events): "
                     f"{fmt_count(hit)} pass {what} {alpha}"
                     + (f" ({B} permutations within centres)" if B else "") + ".",
                     "significant" if hit else "null")
    adj = (f"adjusted for {join_words(clinical) or 'no covariates'}"
           + (" within centre strata" if has_centre else ""))
    frag.text(f"Survival screen (Cox score test of each feature, {adj}): " + "; ".join(parts)
              + ".")
    frag.table(table, "survival_screen",
               "Every feature of every view, smallest p first (the CSV file has them all): "
               "hr_per_sd (hazard ratio per SD of the feature, one-step estimate from the "
               "score test), z, the parametric score-test p, the permutation p (p_perm), the "
               "max-T family-wise adjusted p (p_fwer; NA without permutations) and the "
               "Benjamini-Hochberg q; p_fwer and q are adjusted within each view.",
               max_rows=top, index=False)
    return nums


def _validation_blocks(frag, out, xname, clinical, opts, h) -> None:
    t = pd.DataFrame(out["rows"])
    score = t[t["model"] == "radiogenomic score"]
    for _, r in score.iterrows():
        c = t[(t["model"] == "clinical") & (t["cv"] == r["cv"])]
        clin = None if c.empty else c.iloc[0]
        main, lo, hi, what = (("c_within_centre", "c_within_centre_lower",
                               "c_within_centre_upper", "within-centre C")
                              if np.isfinite(r["c_within_centre"]) else
                              ("c_index", "c_index_lower", "c_index_upper", "C"))
        text = (f"Time to event ({opts.time}) from {xname} (penalised Cox, {r['cv']}): {what} "
                f"{fmt_ci(r[main], r[lo], r[hi])}")
        if clin is not None:
            text += (f" vs clinical ({join_words(clinical)}) "
                     f"{fmt_ci(clin[main], clin[lo], clin[hi])}; difference in C "
                     + fmt_ci(r["delta_c_index"], r["delta_c_lower"], r["delta_c_upper"]))
        frag.finding(text + ".", "out-of-sample")
        frag.text(f"{text}; at h = {h:g}: AUC {fmt_num(r[f'auc_{h:g}'])}, calibration slope "
                  f"{fmt_num(r[f'calibration_slope_{h:g}'])}, O/E "
                  f"{fmt_num(r[f'oe_ratio_{h:g}'])}, IPA {fmt_num(r[f'ipa_{h:g}'])}; a median "
                  f"of {fmt_count(r['features_selected'])} features kept per training fold.")
    short = {"leave-one-centre-out": "LOCO"}
    wide = t.assign(column=[f"{short.get(c, c)} {'score' if m != 'clinical' else m}"
                            for c, m in zip(t["cv"], t["model"])])
    wide = wide.drop(columns=["cv", "model"]).set_index("column").T
    wide.index.name = "metric"
    frag.table(wide, "survival_validation",
               "The risk score and the clinical Cox model of "
               f"{join_words(clinical) or 'no covariates'} on the same folds (columns; LOCO: "
               "leave-one-centre-out): Harrell's C and the within-centre C (pairs of the same "
               "centre) with 95% CIs (infinitesimal jackknife), Uno's C, and at the horizon the "
               "cumulative/dynamic AUC, the IPCW Brier score, IPA (1 - Brier / Brier of the "
               "Kaplan-Meier model), the calibration slope (1 ideal) and O/E (1 ideal); for the "
               "score also NRI and IDI against the clinical model, the difference in C with its "
               "paired bootstrap CI and the median number of features kept per fold.",
               max_rows=40)
    long = pd.concat(out["long"], ignore_index=True)
    by = long[long["breakdown"] == "centre"].rename(columns={"group": "centre"})
    if len(by):
        frag.table(by[["cv", "model", "centre", "metric", "estimate", "lower", "upper", "n",
                       "n_events"]], "survival_by_centre_metrics",
                   "Per centre: C, AUC and O/E at the horizon of both models with 95% CIs; "
                   "under leave-one-centre-out each centre is scored by models that never saw "
                   "it. A centre with a constant score (no feature kept) has C = 0.5 and no CI.",
                   max_rows=12, index=False)


def _risk_figures(frag, res, h, opts, warn) -> dict:
    """Out-of-fold risk groups (log-rank), calibration at h and AUC(t) of one scheme."""
    from ..plotting import plot_km_by_risk_group, plot_survival_calibration, plot_time_auc
    from ..survival.concordance import time_dependent_auc

    nums: dict = {"cv": res.cv}
    try:
        try:
            fig, k = plot_km_by_risk_group(res, opts.risk_groups), opts.risk_groups
        except InputError as e:         # tied scores (a fold model that kept no feature)
            fig, k = plot_km_by_risk_group(res, 2), 2
            warn.append(f"risk groups: {e}; two groups (halves) drawn instead")
        lr = fig.logrank
        nums["logrank"] = {"trend_z": lr.trend_z, "trend_p_one_sided": lr.trend_p,
                           "chisq": lr.statistic, "df": lr.df, "stratified": lr.stratified,
                           "groups": k}
        frag.figure(fig, "survival_km_risk_groups",
                    f"Kaplan-Meier curves of the patients grouped by their out-of-fold risk score "
                    f"({res.cv}; {k} quantile groups, each patient scored by a "
                    "model that never saw them) with the numbers at risk. The legend gives the "
                    "one-sided p of the log-rank test for trend (more events in higher groups; "
                    "within centres when there are several): one-sided because out-of-fold "
                    "scores lean against the outcome under the null. Separated curves in the "
                    "order low to high mean the score ranks patients by risk in unseen data.")
    except InputError as e:
        warn.append(f"risk-group figure not drawn: {e}")
    p = res.pooled()
    ev_h = int(((p["time"] <= h) & (p["event"] == 1)).sum())
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cal = res.calibration(n_bins=int(np.clip(ev_h // 8, 2, 10)), horizon=h)
        warn += [f"calibration at {h:g}: {w.message}" for w in caught]
        frag.figure(plot_survival_calibration(cal), "survival_calibration",
                    f"Calibration at h = {h:g} ({res.cv}): Kaplan-Meier observed risk (95% "
                    f"log-log CI) against the mean predicted risk in {len(cal.table)} groups of "
                    "predicted risk; points on the dashed diagonal are well calibrated, below "
                    "it the risk is over-estimated. Legend: observed/expected ratio and the "
                    "calibration slope (below 1: predictions too extreme).")
        nums["calibration"] = {"groups": len(cal.table), "oe": cal.oe, "slope": cal.slope}
    except InputError as e:
        warn.append(f"calibration plot not drawn: {e}")
    ev = np.sort(p.loc[p["event"] == 1, "time"].to_numpy())
    times = np.unique(np.quantile(ev, np.linspace(0.1, 0.7, 7)))
    yy = p[["time", "event"]].to_numpy()
    aucs = {"radiogenomic score": time_dependent_auc(yy, yy, p["pred"].to_numpy(), times)}
    if "pred_baseline" in p:
        aucs["clinical"] = time_dependent_auc(yy, yy, p["pred_baseline"].to_numpy(), times)
    frag.figure(plot_time_auc(aucs), "survival_time_auc",
                f"Cumulative/dynamic AUC(t) ({res.cv}; IPCW, 95% Wald bands) of the out-of-fold "
                "risk score and of the clinical model at times spanning the 10th to 70th "
                "percentile of the event times: the probability that a patient with an event "
                "by t is ranked above one still event-free at t (0.5: no discrimination).")
    return nums


def _methods(opts, xname, clinical, schemes, h, B, has_centre, versions) -> str:
    sch = join_words("leave-one-centre-out" if c == "loco" else f"{c}-fold" for c in schemes)
    strata = " within centre strata" if has_centre else ""
    return (
        f"Time to event was {opts.time} with event indicator {opts.event}; Kaplan-Meier "
        f"curves (Kaplan & Meier 1958) with Greenwood log-log bands. Every feature of {xname} "
        "was tested by the Cox score test adjusted for "
        f"{join_words(clinical) or 'no covariates'}{strata} (Cox 1972), with Benjamini-"
        "Hochberg q-values and, "
        + (f"over {B} permutations within centres, max-T family-wise adjusted p-values "
           "(Westfall & Young 1993). " if B else "without permutations, no max-T. ")
        + f"A risk score was learnt from {xname} by a penalised Cox model (elastic net, "
        f"alpha = {opts.alpha:g}, {N_LAMBDA} lambda values down to {LAMBDA_MIN_RATIO:g} x "
        "lambda_max, lambda by inner 5-fold CV of the partial-likelihood deviance; Simon et al. "
        "2011) after in-fold median imputation and ComBat fitted on the training rows (Johnson "
        f"et al. 2007), and validated {sch}, beside a Cox model of "
        f"{join_words(clinical) or 'no covariates'} on the same folds. Metrics of the pooled "
        "out-of-fold predictions: Harrell's C and the within-centre C (Harrell et al. 1996; "
        "infinitesimal-jackknife CIs), Uno's C (Uno et al. 2011), and at the horizon "
        f"h = {h:g} the cumulative/dynamic AUC, the IPCW Brier score and IPA (Graf et al. "
        "1999), the calibration slope and observed/expected ratio, NRI and IDI against the "
        f"clinical model (Pencina et al. 2011) and the difference in C ({opts.bootstrap} "
        "paired bootstrap resamples). The CIs condition on the fitted fold models. Risk groups "
        "of the out-of-fold score were compared by the one-sided log-rank test for trend "
        f"(Mantel 1966){strata}, a Cox model of the score with the clinical covariates{strata} "
        "gave the score's adjusted hazard ratio (one-sided Wald test of HR > 1: out-of-fold "
        "scores are anti-correlated with the outcome under the null, so two-sided tests of them "
        "reject too often), and proportional hazards were checked by cox.zph (Grambsch & "
        f"Therneau 1994). Software: radiogenomics "
        f"{versions.get('radiogenomics', '')}, NumPy {versions.get('numpy', '')}.")


def _schemes(opts, has_centre) -> tuple[list, list[str]]:
    schemes = [c for c in opts.cv if c != "loco" or has_centre]
    notes = ([] if len(schemes) == len(opts.cv) else
             ["fewer than two centres, so no leave-one-centre-out validation"])
    return list(dict.fromkeys(schemes)), notes


def _analyse(ctx, opts, frag, y_all, X, y, xs, clinical, has_centre, h, seed) -> dict:
    """Everything after the inputs are checked: the blocks of the fragment and the
    numbers, results and warnings of the record."""
    xname = " and ".join(xs)
    _describe(frag, ctx, y_all, h, opts, has_centre)
    screens, top, B, fdrop = _screen(ctx, opts, xs, y_all, clinical, has_centre, seed)
    nums = {"screen": _screen_blocks(frag, ctx, screens, top, B, ctx.alpha, clinical,
                                     has_centre, opts.top)}
    schemes, notes = _schemes(opts, has_centre)
    out = _run_schemes(X, y, opts, clinical, has_centre, schemes, h, seed)
    warn = out["convergence"] + out["other"] + out["failed"]
    if out["results"]:
        _validation_blocks(frag, out, xname, clinical, opts, h)
        res = out["results"].get("leave-one-centre-out") or next(iter(out["results"].values()))
        nums["figures"] = _risk_figures(frag, res, h, opts, warn)
        nums["ph_check"] = _ph(frag, ctx, res, clinical, has_centre, warn)
        ok = nums["ph_check"]["zph_p_global"] > ctx.alpha
        frag.finding(f"Proportional hazards of the out-of-fold risk score with "
                     f"{join_words(clinical) or 'no covariates'} ({res.cv}): cox.zph GLOBAL p = "
                     f"{fmt_p(nums['ph_check']['zph_p_global'])}"
                     + ("" if ok else " (the hazard ratios change with time)") + ".",
                     "check", ok=ok)
    for n in notes + [f"{w}." for w in warn]:
        frag.text(n[:1].upper() + n[1:], note=True)
    nums["schemes"] = {r["cv"] + (" clinical" if r["model"] == "clinical" else ""):
                       {k: v for k, v in r.items() if k not in ("cv", "model")}
                       for r in out["rows"]}
    nums.update(n_patients=len(y_all), n_events=int(y_all["event"].sum()),
                n_model=len(y), n_model_events=int(y["event"].sum()), horizon=h,
                horizon_default=opts.horizon is None, n_failed=len(out["failed"]),
                n_convergence_warnings=len(out["convergence"]), permutations=B)
    return dict(out=out, nums=nums, warn=warn, screens=screens, fdrop=fdrop, schemes=schemes,
                B=B)


@timed_step
def run(ctx: StepContext, opts: Options | None = None) -> StepResult:
    """Screen, risk score and its validation for a time-to-event outcome.

    Returns
    -------
    StepResult
        ``result``: ``{"table": summary per scheme and model, "metrics": every metric (long),
        "results": {scheme: ValidationResult}, "clinical_metrics": {scheme: metric table},
        "screen": {view: SurvivalScreenResult}, "horizon": h}``.

    Raises
    ------
    InputError
        Bad outcome values (times <= 0, events not 0/1) or a horizon beyond the follow-up.
    """
    opts = opts or Options()
    cohort = ctx.cohort
    y_all, dropped, reason = _outcome(cohort, opts)
    req = [opts.x] if isinstance(opts.x, str) else list(opts.x)
    xs = [v for v in req if v in cohort]
    if reason is None and not xs:
        reason = f"predictor view(s) {join_words(req)} not in the data"
    if reason:
        return skipped(STEP, TITLE, reason, opts)
    have = [] if cohort.covariates is None else [str(c) for c in cohort.covariates.columns]
    clinical = [c for c in opts.clinical if c in have]
    cl_absent = [c for c in opts.clinical if c not in have]
    has_centre = cohort.centre is not None and cohort.centre.reindex(
        y_all.index).nunique() > 1
    if not _schemes(opts, has_centre)[0]:
        return skipped(STEP, TITLE, "no validation scheme left (fewer than two centres for "
                       "leave-one-centre-out)", opts)
    h = float(opts.horizon) if opts.horizon is not None else default_horizon(
        y_all["time"], y_all["event"])
    if not h < y_all["time"].max():
        raise InputError(f"horizon {h:g} is not before the last follow-up "
                         f"({y_all['time'].max():g}); choose an earlier horizon")
    X, y, drop = _design(cohort, xs, y_all, clinical, has_centre)
    dropped.update(drop)
    if y["event"].sum() < MIN_EVENTS:
        return skipped(STEP, TITLE, f"only {plural(int(y['event'].sum()), 'event')} among the "
                       f"patients with {join_words(xs)}; at least {MIN_EVENTS} needed", opts)
    seed = ctx.seed()
    versions = package_versions("radiogenomics", "numpy", "scikit-learn")
    frag = Fragment(TITLE, citations=list(CITATIONS))
    for v in [v for v in req if v not in xs] + cl_absent:
        frag.text(f"{v} is not in the data, so it is not used.", note=True)
    a = _analyse(ctx, opts, frag, y_all, X, y, xs, clinical, has_centre, h, seed)
    frag.methods = _methods(opts, " and ".join(xs), clinical, a["schemes"], h, a["B"],
                            has_centre, versions)
    out = a["out"]
    rec = StepRecord(STEP, TITLE, params=opts.model_dump(), seed=seed, versions=versions,
                     samples_used={"outcome": len(y_all), "risk score": len(y)},
                     samples_dropped=dropped, features_dropped=a["fdrop"],
                     features_used={" and ".join(xs): int(X.shape[1] - 1 - len(clinical))},
                     numbers=a["nums"], warnings=a["warn"])
    if not out["results"]:
        rec.status, rec.reason = "failed", "every validation failed"
    table = pd.DataFrame(out["rows"])
    long = pd.concat(out["long"], ignore_index=True) if out["long"] else pd.DataFrame()
    return StepResult({"table": table, "metrics": long, "results": out["results"],
                       "clinical_metrics": out["clinical"], "screen": a["screens"],
                       "horizon": h}, frag, rec)
