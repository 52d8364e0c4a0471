"""Workflow step ``prediction``: targets (expression-module scores, imaging traits, clinical
outcomes) predicted from imaging features by an elastic net with in-fold ComBat, validated by
leave-one-centre-out beside k-fold cross-validation.

For every target and validation scheme the step runs
:func:`radiogenomics.validation.cross_validate` on the pipeline of
:func:`radiogenomics.penalized.make_pipeline` (in-fold median imputation, ComBat fitted on the
training rows only, elastic net with lambda chosen by inner CV) and reports the pooled
metric with its bootstrap CI, the per-centre metrics, the within-centre AUROC and the
calibration of binary targets.  ``result["table"]`` (one row per target and scheme) is what the
``truth`` step reads.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from .._checks import InputError, RadiogenomicsError
from ..report.format import fmt_ci, fmt_count, fmt_num
from ._base import (Fragment, StepContext, StepOptions, StepRecord, StepResult,
                    package_versions, skipped, timed_step)
from .cohort import join_words, plural

__all__ = ["Options", "run"]

STEP = "prediction"
TITLE = "Prediction with leave-one-centre-out validation"

#: lambda values of glmnet's sequence for binary targets (logistic fits are the slow ones)
BINARY_N_LAMBDA = 20
#: and for continuous targets (make_pipeline's default)
CONTINUOUS_N_LAMBDA = 50

CITATIONS = [
    "Friedman J, Hastie T, Tibshirani R (2010) Regularization paths for generalized linear "
    "models via coordinate descent. J Stat Softw 33(1):1-22",
    "Zou H, Hastie T (2005) Regularization and variable selection via the elastic net. "
    "J R Stat Soc B 67:301-320",
    "Johnson WE, Li C, Rabinovic A (2007) Adjusting batch effects in microarray expression data "
    "using empirical Bayes methods. Biostatistics 8:118-127",
    "Efron B, Tibshirani RJ (1993) An Introduction to the Bootstrap. Chapman & Hall",
    "Van Calster B et al. (2019) Calibration: the Achilles heel of predictive analytics. "
    "BMC Med 17:230",
]


class Options(StepOptions):
    """Options of the ``prediction`` step.

    Attributes
    ----------
    x : str or list of str
        The predictor view(s) (e.g. ``"radiomics"``); several views are joined on their
        common samples.
    targets : dict
        Where the targets are (a view name, or ``"outcomes"``) -> its columns to predict
        (None: all of them).
    cv : list of "loco" or int
        Validation schemes: ``"loco"`` (leave one centre out) and/or k for k-fold.
    cv_binary : list, optional
        Schemes for binary targets (default: ``cv``).
    alpha : float
        glmnet's elastic-net mixing parameter (1 lasso, 0 ridge).
    covariates : list of str, optional
        Covariates ComBat preserves (default: all of the cohort's covariates); they are not
        predictors.
    bootstrap : int
        Bootstrap resamples of the CIs (0: no CIs).
    """

    x: str | list[str] = "radiomics"
    targets: dict[str, list[str] | None] = Field(default_factory=lambda: {"outcomes": None})
    cv: list[str | int] = Field(default_factory=lambda: ["loco", 5])
    cv_binary: list[str | int] | None = None
    alpha: float = Field(0.5, ge=0.0, le=1.0)
    covariates: list[str] | None = None
    bootstrap: int = Field(500, ge=0)

    @field_validator("cv", "cv_binary")
    @classmethod
    def _schemes(cls, v):
        for c in v or []:
            if isinstance(c, str) and c != "loco" or isinstance(c, int) and c < 2:
                raise ValueError(f"{c!r} is not a validation scheme: use 'loco' (leave one "
                                 "centre out) or a number of folds >= 2")
        return v


# ------------------------------------------------------------------------- inputs

def _frame(cohort, src: str):
    if src == "outcomes":
        return cohort.outcomes
    return cohort[src] if src in cohort else None


def _targets(cohort, opts: Options) -> tuple[list[tuple[str, str]], list[str]]:
    """``[(source, column)]`` to predict and notes on sources absent from the data; a column
    that is not in its source is an error."""
    todo, notes = [], []
    for src, cols in opts.targets.items():
        frame = _frame(cohort, src)
        if frame is None:
            notes.append(f"{src} not in the data")
            continue
        cols = list(frame.columns) if cols is None else list(cols)
        bad = [c for c in cols if c not in frame.columns]
        if bad:
            raise InputError(f"prediction targets {bad} are not columns of {src!r} (it has "
                             f"{', '.join(map(str, frame.columns[:8]))}"
                             f"{', ...' if frame.shape[1] > 8 else ''}); name its columns or "
                             "give None for all of them")
        todo += [(src, str(c)) for c in cols]
    return todo, notes


def _schemes(cohort, opts: Options) -> tuple[list, list, list[str]]:
    """Schemes for continuous and binary targets; leave-one-centre-out needs a centre."""
    notes = []
    has_centre = cohort.centre is not None and cohort.centre.nunique() > 1
    cvs = list(opts.cv)
    cvs_bin = list(opts.cv if opts.cv_binary is None else opts.cv_binary)
    if not has_centre and "loco" in cvs + cvs_bin:
        notes.append("fewer than two centres, so no leave-one-centre-out validation")
        cvs = [c for c in cvs if c != "loco"]
        cvs_bin = [c for c in cvs_bin if c != "loco"]
    return cvs, cvs_bin, notes


def _covariates(cohort, opts: Options) -> list[str]:
    have = [] if cohort.covariates is None else [str(c) for c in cohort.covariates.columns]
    if opts.covariates is None:
        return have
    bad = [c for c in opts.covariates if c not in have]
    if bad:
        raise InputError(f"prediction covariates {bad} are not covariates of the cohort "
                         f"(it has {join_words(have) or 'none'}); name those or leave "
                         "covariates out")
    return list(opts.covariates)


def _is_binary(y: pd.Series) -> bool:
    y = y.dropna()
    return bool(y.isin([0, 1]).all() and y.nunique() == 2)


def _design(cohort, xs, src, tgt, covs):
    """``(X, y, dropped)``: design_matrix (with a ``centre`` column, a constant one when the
    Cohort has none, as the pipeline's ComBat step expects), less the target values the
    Cohort had imputed."""
    from ..penalized import drop_imputed_target
    from ..validation import design_matrix

    X, y = design_matrix(cohort, xs if len(xs) > 1 else xs[0], tgt,
                         target_view=None if src == "outcomes" else src,
                         covariates=tuple(covs), include_centre=cohort.centre is not None)
    if cohort.centre is None:
        X["centre"] = "all"
    dropped = {}
    if X.attrs.get("dropped"):
        dropped[f"{tgt}: target missing"] = {
            "n": len(X.attrs["dropped"]), "ids": [str(i) for i in X.attrs["dropped"]],
            "reason": f"no value of {tgt} (left out of training and scoring)"}
    if src != "outcomes":
        X, y, imputed = drop_imputed_target(cohort, src, tgt, X, y)
        if imputed:
            dropped[f"{tgt}: target imputed"] = {
                "n": len(imputed), "ids": [str(i) for i in imputed],
                "reason": "the Cohort imputed this target value; a target is never imputed"}
    return X, y, dropped


# ------------------------------------------------------------------------- fitting

def _pipeline(binary: bool, opts: Options, covs, harmonize: bool, seed: int):
    from ..penalized import make_pipeline

    return make_pipeline(family="binomial" if binary else "gaussian", alpha=opts.alpha,
                         harmonize=harmonize, covariates=tuple(covs), rng=seed,
                         n_lambda=BINARY_N_LAMBDA if binary else CONTINUOUS_N_LAMBDA)


def _fit(X, y, scheme, binary, opts, covs, harmonize, seed):
    """Cross-validate one target under one scheme: ``(result, median features kept,
    convergence messages, other warnings)``."""
    from ..validation import cross_validate

    pipe = _pipeline(binary, opts, covs, harmonize, seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cross_validate(pipe, X, y, scheme, n_boot=opts.bootstrap, rng=seed,
                             kind="binary" if binary else "continuous",
                             return_estimators=True, progress=False)
    models = [e.named_steps["model"] for e in res.estimators]
    n_sel = int(np.median([len(m.selected_features_) for m in models]))
    conv = [f"fold {i + 1}: {msg}" for i, m in enumerate(models)
            for msg in m.convergence_warnings_]
    other = list(dict.fromkeys(f"{w.category.__name__}: {str(w.message).splitlines()[0]}"
                               for w in caught))
    return res, n_sel, conv, other


def _main(kind: str) -> str:
    return "auroc" if kind == "binary" else "r2"


def _summary_row(res, src: str, tgt: str, n_sel: int, n_features: int) -> dict:
    main = _main(res.kind)
    m = res.metrics[res.metrics["breakdown"] == "all"].set_index("metric")
    row = {"target": tgt, "source": src, "cv": res.cv, "metric": main,
           "estimate": float(m.at[main, "estimate"]), "lower": float(m.at[main, "lower"]),
           "upper": float(m.at[main, "upper"]), "n": int(m.at[main, "n"]),
           "features_selected": n_sel, "features_offered": n_features}
    if res.kind == "continuous":
        row["pearson_r"] = float(m.at["pearson_r", "estimate"])
    else:
        row["n_events"] = int(res.pooled()["y"].sum())
        if "auroc_within_centre" in m.index:
            for k, c in (("auroc_within_centre", "estimate"),
                         ("auroc_within_centre_lower", "lower"),
                         ("auroc_within_centre_upper", "upper")):
                row[k] = float(m.at["auroc_within_centre", c])
        cal = res.calibration()
        row["calibration_intercept"] = float(cal.intercept)
        row["calibration_slope"] = float(cal.slope)
    return row


def _centre_rows(res, tgt: str) -> list[dict]:
    main = _main(res.kind)
    m = res.metrics
    g = m[(m["breakdown"] == "centre") & (m["metric"] == main)]
    return [{"target": tgt, "cv": res.cv, "centre": str(r.group), "metric": main,
             "estimate": float(r.estimate), "lower": float(r.lower), "upper": float(r.upper),
             "n": int(r.n)} for r in g.itertuples()]


def _run_all(ctx, opts, todo, xs, covs, harmonize, cvs, cvs_bin, seed):
    """Every (target, scheme): the tables, the results, the dropped samples, the warnings."""
    rows, by_centre, results, dropped, failed = [], [], {}, {}, []
    conv, other, used = [], [], {}
    for src, tgt in todo:
        X, y, drop = _design(ctx.cohort, xs, src, tgt, covs)
        dropped.update(drop)
        used[tgt] = int(len(y))
        binary = _is_binary(y)
        n_features = int(X.shape[1] - 1 - len(covs))
        for scheme in (cvs_bin if binary else cvs):
            try:
                res, n_sel, c, o = _fit(X, y, scheme, binary, opts, covs, harmonize, seed)
            except RadiogenomicsError as e:
                failed.append(f"{tgt} ({scheme}): {e}")
                continue
            conv += [f"{tgt}, {res.cv}, {msg}" for msg in c]
            other += [f"{tgt}, {res.cv}: {msg}" for msg in o]
            results[(src, tgt, res.cv)] = res
            rows.append(_summary_row(res, src, tgt, n_sel, n_features))
            by_centre += _centre_rows(res, tgt)
    return dict(table=pd.DataFrame(rows), by_centre=pd.DataFrame(by_centre), results=results,
                dropped=dropped, failed=failed, convergence=conv, other=other, used=used)


# ------------------------------------------------------------------------- report

def _within_text(r) -> str:
    """``"; within-centre AUROC 0.59 [0.52, 0.65]"`` for a binary target validated leave one
    centre out (the pooled AUROC mixes the centres' base rates there), else ``""``."""
    w = getattr(r, "auroc_within_centre", np.nan)
    if str(r.metric).lower() != "auroc" or not np.isfinite(w):
        return ""
    return (f"; within-centre AUROC "
            f"{fmt_ci(w, r.auroc_within_centre_lower, r.auroc_within_centre_upper)}")


def _metric_name(metric: str) -> str:
    return {"auroc": "AUROC", "r2": "R2"}.get(metric, metric)


def _target_sentence(tgt: str, rows: pd.DataFrame) -> str:
    first = rows.iloc[0]
    binary = first["metric"] == "auroc"
    what = (f"binary, {plural(first['n_events'], 'event')} in {plural(first['n'], 'patient')}"
            if binary else f"continuous, {plural(first['n'], 'patient')}")
    parts = []
    for r in rows.itertuples():
        s = f"{_metric_name(r.metric)} {fmt_ci(r.estimate, r.lower, r.upper)} ({r.cv}"
        if binary and "auroc_within_centre" in rows and np.isfinite(r.auroc_within_centre):
            s += (", within-centre AUROC " + fmt_ci(r.auroc_within_centre,
                                                    r.auroc_within_centre_lower,
                                                    r.auroc_within_centre_upper))
        if binary:
            s += (f"; calibration intercept {fmt_num(r.calibration_intercept)}, slope "
                  f"{fmt_num(r.calibration_slope)}")
        elif np.isfinite(r.pearson_r):
            s += f"; correlation of predicted with observed {fmt_num(r.pearson_r)}"
        parts.append(s + ")")
    sel = join_words(f"{fmt_count(r.features_selected)} ({r.cv})" for r in rows.itertuples())
    return (f"{tgt} ({what}): " + "; ".join(parts) + f". The elastic net kept a median of {sel} "
            f"of {fmt_count(first['features_offered'])} features per training fold.")


def _ci_sentence(n_boot: int, harmonize: bool) -> str:
    if not n_boot:
        return "No bootstrap CIs were computed (bootstrap = 0)."
    return (f"Intervals are 95% percentile bootstrap CIs over {fmt_count(n_boot)} resamples of "
            "patients" + (" (stratified by centre)" if harmonize else "") + ". They resample "
            "the fixed out-of-fold predictions, so they condition on the models fitted in the "
            "folds: they describe the uncertainty over test patients, not the variability "
            "from refitting the pipeline on other training data, and understate the "
            "uncertainty of the whole procedure.")


def _shift_note(cohort, table: pd.DataFrame) -> str | None:
    """Negative leave-one-centre-out R2 of a view target: how much centre explains of it."""
    from ..qc import centre_anova

    if cohort.centre is None or table.empty:
        return None
    neg = table[(table["cv"] == "leave-one-centre-out") & (table["metric"] == "r2")
                & (table["source"] != "outcomes") & (table["estimate"] < 0)]
    if neg.empty:
        return None
    eta = {}
    for r in neg.itertuples():
        v = cohort[r.source][[r.target]]
        eta[r.target] = float(centre_anova(v, centre=cohort.centre.reindex(v.index))["eta2"]
                              .iloc[0])
    return ("Negative R2 under leave-one-centre-out: "
            + "; ".join(f"{k}: centre explains {fmt_num(100 * v, 2)}% of its variance"
                        for k, v in eta.items())
            + ". The per-centre R2 compares the predictions with that centre's own mean, so a "
              "model that learnt little still predicts the other centres' level and is "
              "penalised for the shift; k-fold hides this because every centre is in the "
              "training folds. Harmonise the target too, or read the correlation of predicted "
              "with observed values.")


def _methods(opts: Options, xname: str, covs, harmonize: bool, schemes, versions) -> str:
    sch = join_words("leave-one-centre-out" if c == "loco" else f"{c}-fold"
                     for c in dict.fromkeys(schemes))
    combat = (f"ComBat (Johnson et al. 2007) fitted on the training rows only, preserving "
              f"{join_words(covs) or 'no covariates'} (a held-out centre was harmonised from "
              "its own features, without its outcomes)" if harmonize else
              "no harmonisation (a single centre)")
    return (
        f"Each target was predicted from {xname} by an elastic net (glmnet parameterisation, "
        f"mixing alpha = {opts.alpha:g}; Friedman et al. 2010; Zou & Hastie 2005; "
        f"{CONTINUOUS_N_LAMBDA} lambda values for continuous and {BINARY_N_LAMBDA} for binary "
        "targets, lambda chosen by inner 5-fold cross-validation, with the training centres "
        "kept together in the inner folds under leave-one-centre-out). Inside every training "
        f"fold the pipeline imputed missing predictor values with training medians, applied "
        f"{combat}, and dropped constant features; covariates were not predictors. "
        f"Validation: {sch}. Leave-one-centre-out asks whether a model holds in a centre it "
        "never saw; k-fold mixes centres in training and test folds. Metrics on the pooled "
        "out-of-fold predictions: R2 and Pearson r for continuous targets; AUROC, the "
        "within-centre AUROC (event/non-event pairs of the same centre only) and the "
        "calibration intercept and slope (Van Calster et al. 2019) for binary ones; each also "
        f"per centre. {_ci_sentence(opts.bootstrap, harmonize)} Software: radiogenomics "
        f"{versions.get('radiogenomics', '')}, scikit-learn {versions.get('scikit-learn', '')}"
        f", NumPy {versions.get('numpy', '')}.")


def _figures(frag: Fragment, ctx: StepContext, results: dict) -> list[str]:
    """The leave-one-centre-out and calibration figures; returns the figures that could not
    be drawn, with the reason."""
    import matplotlib.pyplot as plt

    from ..plotting import plot_calibration, plot_validation_by_group

    problems: list[str] = []
    loco = [(k, r) for k, r in results.items() if k[2] == "leave-one-centre-out"]
    if loco:
        fig, axes = plt.subplots(len(loco), 1, figsize=(6, 1.6 + 1.4 * len(loco)),
                                 squeeze=False)
        for ax, ((_, tgt, _), r) in zip(axes[:, 0], loco):
            plot_validation_by_group(r, ax=ax, colours=ctx.centre_colours or None)
            ax.set_title(f"{tgt} ({_metric_name(_main(r.kind))})", fontsize=10)
        fig.tight_layout()
        frag.figure(fig, "prediction_loco_by_centre",
                    "Leave-one-centre-out: for each target (one panel), each held-out centre's "
                    "R2 (continuous) or AUROC (binary) with its 95% bootstrap CI, in the "
                    "centre's colour, beside the pooled value (black). A centre whose interval "
                    "lies left of the pooled one is predicted worse than the others; R2 below 0 "
                    "means the predictions do worse than that centre's own mean.")
    chosen: dict = {}                  # binary target -> (scheme, result); LOCO preferred
    for (_, tgt, cv), r in results.items():
        if r.kind == "binary" and (tgt not in chosen or cv == "leave-one-centre-out"):
            chosen[tgt] = (cv, r)
    for tgt, (cv, r) in chosen.items():
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", str(tgt))
        try:
            fig = plot_calibration(r)
        except ValueError as e:      # e.g. a rounding error in a bin's CI; said, not hidden
            problems.append(f"calibration plot of {tgt} not drawn: {e}")
            continue
        frag.figure(fig, f"prediction_calibration_{safe}",
                    f"Calibration of {tgt} ({cv}): observed event rate (Wilson 95% CI) "
                    "against mean predicted risk in bins of predicted risk. Points on the "
                    "dashed diagonal are well calibrated; points below it mean the risk is "
                    "over-estimated. The legend gives the calibration intercept (0 ideal) and "
                    "slope (1 ideal; below 1: predictions too extreme).")
    return problems


def _tables(frag: Fragment, out: dict) -> None:
    t = out["table"].copy()
    t["metric"] = t["metric"].map(_metric_name)
    frag.table(t, "prediction_summary",
               "One row per target and validation scheme: the main metric (R2 for continuous, "
               "AUROC for binary targets) of the pooled out-of-fold predictions with its 95% "
               "bootstrap CI (lower, upper), the patients scored (n), the median number of "
               "features the elastic net kept per training fold (of features_offered); binary "
               "targets also give the within-centre AUROC and the calibration intercept and "
               "slope, continuous ones Pearson's r.", index=False)
    bc = out["by_centre"]
    if len(bc):
        bc = bc.assign(metric=bc["metric"].map(_metric_name))
        frag.table(bc, "prediction_by_centre",
                   "The main metric per centre, one row per target, scheme and centre, with "
                   "its 95% bootstrap CI. Under leave-one-centre-out each centre is predicted "
                   "by a model trained on the other centres only.", max_rows=40, index=False)


def _numbers(out: dict, opts: Options) -> dict:
    per: dict = {}
    for r in out["table"].to_dict("records"):
        d = {k: v for k, v in r.items() if k not in ("target", "cv", "source")
             and not (isinstance(v, float) and np.isnan(v) and k not in ("lower", "upper"))}
        d["by_centre"] = {c["centre"]: {k: c[k] for k in ("estimate", "lower", "upper", "n")}
                          for c in out["by_centre"].to_dict("records")
                          if c["target"] == r["target"] and c["cv"] == r["cv"]}
        per.setdefault(r["target"], {"source": r["source"]})[r["cv"]] = d
    return {"targets": per, "n_boot": int(opts.bootstrap), "alpha_mixing": float(opts.alpha),
            "n_fits": int(len(out["table"])), "n_failed": len(out["failed"]),
            "n_convergence_warnings": len(out["convergence"])}


def _findings(frag: Fragment, out: dict, xname: str) -> None:
    t = out["table"]
    for tgt, rows in t.groupby("target", sort=False):
        parts = join_words(f"{_metric_name(r.metric)} {fmt_ci(r.estimate, r.lower, r.upper)} "
                           f"({r.cv}{_within_text(r)})" for r in rows.itertuples())
        frag.finding(f"{tgt} predicted from {xname}: {parts}.", "out-of-sample")
    if out["failed"]:
        frag.finding(f"Prediction: {plural(len(out['failed']), 'fit')} failed: "
                     + "; ".join(out["failed"]), "check", ok=False)
    if out["convergence"]:
        frag.finding(f"Prediction: the elastic-net solver did not converge in "
                     f"{plural(len(out['convergence']), 'fit')} (listed in the record's "
                     "warnings); read those targets with care.", "check", ok=False)


def _prose(frag: Fragment, ctx: StepContext, out: dict, notes: list[str]) -> None:
    if notes:
        frag.text("Not predicted: " + "; ".join(notes) + ".", note=True)
    for tgt, rows in out["table"].groupby("target", sort=False):
        frag.text(_target_sentence(tgt, rows))
    if any(out["table"]["metric"] == "auroc") and ctx.cohort.centre is not None:
        frag.text("Every held-out centre is predicted with the other centres' base rate, so "
                  "when event rates differ by centre the pooled AUROC mixes "
                  "calibration-in-the-large into discrimination; the within-centre AUROC "
                  "compares patients of the same centre only.", note=True)
    shift = _shift_note(ctx.cohort, out["table"])
    if shift:
        frag.text(shift, note=True)
    if out["failed"]:
        frag.text("Fits that failed (left out of the tables): " + "; ".join(out["failed"])
                  + ".", note=True)
    if out["convergence"]:
        n = plural(len(out["convergence"]), "convergence warning")
        frag.text(f"The elastic-net solver reported {n} (listed in results.json); the "
                  "affected fits may be imprecise.", note=True)


@timed_step
def run(ctx: StepContext, opts: Options | None = None) -> StepResult:
    """Elastic-net prediction of every target, leave-one-centre-out beside k-fold.

    Parameters
    ----------
    ctx : StepContext
    opts : Options, optional

    Returns
    -------
    StepResult
        ``result``: ``{"table": one row per target and scheme (target, source, cv, metric,
        estimate, lower, upper, n, ...), "by_centre": one row per target, scheme and centre,
        "results": {(source, target, scheme): ValidationResult}}``.

    Raises
    ------
    InputError
        A target column or covariate that is not in the data.
    """
    opts = opts or Options()
    cohort = ctx.cohort
    xs = [opts.x] if isinstance(opts.x, str) else list(opts.x)
    absent = [v for v in xs if v not in cohort]
    if absent:
        return skipped(STEP, TITLE, f"predictor view(s) {join_words(absent)} not in the data",
                       opts)
    todo, notes = _targets(cohort, opts)
    cvs, cvs_bin, cv_notes = _schemes(cohort, opts)
    notes += cv_notes
    if not todo:
        return skipped(STEP, TITLE, "no prediction target in the data ("
                       + "; ".join(notes or ["no targets named"]) + ")", opts)
    if not cvs and not cvs_bin:
        return skipped(STEP, TITLE, "no validation scheme left (" + "; ".join(notes) + ")",
                       opts)
    covs = _covariates(cohort, opts)
    harmonize = cohort.centre is not None and cohort.centre.nunique() > 1
    seed = ctx.seed()
    out = _run_all(ctx, opts, todo, xs, covs, harmonize, cvs, cvs_bin, seed)
    xname = " and ".join(xs)
    versions = package_versions("radiogenomics", "numpy", "scikit-learn")
    frag = Fragment(TITLE, citations=list(CITATIONS))
    frag.methods = _methods(opts, xname, covs, harmonize, cvs + cvs_bin, versions)
    if out["table"].empty:
        frag.text("No fit succeeded: " + "; ".join(out["failed"]) + ".", note=True)
    else:
        _prose(frag, ctx, out, notes)
        _tables(frag, out)
        for problem in _figures(frag, ctx, out["results"]):
            frag.text(problem.capitalize() + ".", note=True)
            out["other"].append(problem)
        _findings(frag, out, xname)
    rec = StepRecord(STEP, TITLE, params=opts.model_dump(), seed=seed, versions=versions,
                     samples_used=out["used"], samples_dropped=out["dropped"],
                     features_used={xname: int(sum(cohort[v].shape[1] for v in xs))},
                     numbers=_numbers(out, opts),
                     warnings=out["convergence"] + out["other"] + out["failed"])
    if out["table"].empty:
        rec.status, rec.reason = "failed", "every fit failed"
    return StepResult({"table": out["table"], "by_centre": out["by_centre"],
                       "results": out["results"]}, frag, rec)
