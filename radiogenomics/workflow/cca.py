"""Workflow step ``cca``: canonical correlation analysis of two small views (e.g. imaging traits
x expression module scores) with the step-down permutation test of Winkler et al. (2020) and
the out-of-sample canonical correlation beside the optimistic in-sample one.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..report.format import fmt_count, fmt_num, fmt_p
from ._base import (Fragment, StepContext, StepOptions, StepRecord, StepResult, skipped,
                    timed_step)
from .association import PERMUTATION_CITATIONS, adjustment_text
from .cohort import dropped_entries, join_words

__all__ = ["Options", "run"]

TITLE = "Canonical correlation analysis"

CITATIONS = [
    "Hotelling H (1936) Relations between two sets of variates. Biometrika 28:321-377",
    "Winkler AM, Renaud O, Smith SM, Nichols TE (2020) Permutation inference for canonical "
    "correlation analysis. NeuroImage 220:117065",
    *PERMUTATION_CITATIONS,
]


class Options(StepOptions):
    """Options of the ``cca`` step.

    Attributes
    ----------
    x, y : str
        The two views (each with fewer features than paired samples).
    components : int
        Canonical components to test (capped at the smaller number of features).
    cv_folds : int
        Folds of the out-of-sample canonical correlation.
    cv_permutations : int
        Permutations of its null (each repeats the whole cross-validation).
    """

    x: str = "traits"
    y: str = "modules"
    components: int = 3
    cv_folds: int = 10
    cv_permutations: int = 199


def _adjustment(pd_) -> pd.DataFrame | None:
    parts = [p for p in (pd_.covariates,
                         None if pd_.centre is None else pd_.centre.rename("centre").to_frame())
             if p is not None]
    return pd.concat(parts, axis=1) if parts else None


def _table(test) -> pd.DataFrame:
    t = test.to_frame()
    return pd.DataFrame({
        "component": t["component"].astype(int),
        "canonical correlation": t["canonical_correlation"],
        "null mean": t["null_mean"],
        "null 95th percentile": t["null_95"],
        "p (this step)": t["p_step"],
        "p (step-down, FWER)": t["pvalue"],
    })


def _prose(test, cv, opts: Options, n: int, adjust: str, alpha: float) -> list[str]:
    k = len(test.statistic)
    sig = int(np.sum(test.pvalues <= alpha))
    cors = join_words(f"{fmt_num(r)} (p = {fmt_p(p)})" for r, p in zip(test.statistic,
                                                                          test.pvalues))
    first = (f"CCA of {opts.x} and {opts.y} on {fmt_count(n)} patients with both views, "
             f"adjusted for {adjust}: canonical correlations {cors}; {sig} of {k} components "
             f"significant at family-wise {alpha} ({fmt_count(test.n_permutations)} "
             f"permutations, {'within centres' if test.scheme == 'within-block' else 'free'}).")
    p = "" if cv.pvalue is None else (f", permutation p = {fmt_p(cv.pvalue)} "
                                      f"({fmt_count(cv.n_permutations)} permutations)")
    second = (f"The first canonical correlation is {fmt_num(cv.in_sample)} in sample but "
              f"{fmt_num(cv.correlation)} out of sample ({cv.scheme}: weights fitted on the "
              f"other folds, applied to the held-out one){p}. Canonical correlations are "
              "maximised on the data they are computed from, so with few patients per "
              "feature the in-sample value is optimistic; the out-of-sample value is the "
              "honest estimate of how strongly the two views are linked in new patients.")
    return [first, second]


def _methods(opts: Options, test, cv, adjust: str, versions: dict) -> str:
    return (
        f"Canonical correlation analysis (Hotelling 1936) related {opts.x} to {opts.y} "
        f"after adjusting both views for {adjust}. The canonical correlations were tested "
        f"with the step-down permutation procedure of Winkler et al. (2020): component j is "
        "tested with the earlier canonical variates added to the nuisance variables, using "
        f"Roy's largest-root statistic and {fmt_count(test.n_permutations)} permutations"
        + (" within centres" if test.scheme == "within-block" else "")
        + "; the cumulative maximum of the per-step p-values controls the family-wise error "
          "over components. The out-of-sample canonical correlation of the first pair used "
          f"{cv.scheme} cross-validation (covariates regressed out within the training folds "
          "and applied to the held-out fold) and was tested against "
          f"{fmt_count(cv.n_permutations)} Freedman-Lane permutations of the same folds "
          "(Freedman & Lane 1983; Winkler et al. 2014). Software: radiogenomics "
          f"{versions.get('radiogenomics', '')}, NumPy {versions.get('numpy', '')}, "
          f"scikit-learn {versions.get('scikit-learn', '')}.")


def _findings(frag: Fragment, test, cv, opts: Options, alpha: float) -> None:
    sig = int(np.sum(test.pvalues <= alpha))
    pair = f"CCA {opts.x} x {opts.y}"
    if sig:
        frag.finding(f"{pair}: {sig} of {len(test.statistic)} canonical correlations "
                     f"significant (step-down permutation test, family-wise p <= {alpha}); "
                     f"first r = {fmt_num(test.statistic[0])}, p = {fmt_p(test.pvalues[0])}.",
                     "significant")
    else:
        frag.finding(f"{pair}: no canonical correlation significant at family-wise {alpha} "
                     f"(first r = {fmt_num(test.statistic[0])}, p = "
                     f"{fmt_p(test.pvalues[0])}).", "null")
    p = "" if cv.pvalue is None else f", permutation p = {fmt_p(cv.pvalue)}"
    frag.finding(f"{pair}: out-of-sample first canonical correlation "
                 f"{fmt_num(cv.correlation)} ({cv.scheme}; in-sample "
                 f"{fmt_num(cv.in_sample)}){p}.", "out-of-sample")


def _fit(ctx: StepContext, opts: Options, X, Y, adjust, centre, seed: int, k: int):
    from ..cca import CCA, cca_permutation_test, cross_validated_correlation

    gen = np.random.default_rng(seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        test = cca_permutation_test(CCA(n_components=k, scale=True), X, Y,
                                    n_permutations=ctx.n_permutations, covariates=adjust,
                                    exchangeability_blocks=centre, rng=gen, alpha=ctx.alpha)
        cv = cross_validated_correlation(CCA(n_components=1, scale=True), X, Y,
                                         cv=opts.cv_folds, covariates=adjust,
                                         n_permutations=opts.cv_permutations,
                                         exchangeability_blocks=centre, rng=gen)
    return test, cv, [f"{w.category.__name__}: {w.message}" for w in caught]


@timed_step
def run(ctx: StepContext, opts: Options | None = None) -> StepResult:
    """Step-down permutation test of the canonical correlations and the out-of-sample one.

    Parameters
    ----------
    ctx : StepContext
    opts : Options, optional

    Returns
    -------
    StepResult
        ``result``: ``{"test": CCAPermutationResult, "cross_validated": CVCorrelationResult}``.
    """
    from ..plotting import plot_cca_scree

    opts = opts or Options()
    cohort = ctx.cohort
    title = f"CCA: {opts.x} x {opts.y}"
    step = f"cca:{opts.x}~{opts.y}"  # one plan may hold several CCAs (as association screens)
    absent = [v for v in (opts.x, opts.y) if v not in cohort]
    if absent:
        return skipped(step, title, f"view(s) {join_words(absent)} not in the data", opts)
    if not ctx.n_permutations:
        return skipped(step, title, "the step-down test needs permutations (the study's "
                       "permutations are 0)", opts)
    paired = cohort.paired(opts.x, opts.y)
    X, Y = paired[opts.x], paired[opts.y]
    if paired.n_samples < 2 * opts.cv_folds:
        return skipped(step, title, f"{paired.n_samples} patients with both views: too few "
                       f"for {opts.cv_folds}-fold cross-validation (lower cv_folds)", opts)
    adjust = _adjustment(paired)
    k = min(opts.components, X.shape[1], Y.shape[1])
    seed = ctx.seed()
    test, cv, caught = _fit(ctx, opts, X, Y, adjust, paired.centre, seed, k)
    words = adjustment_text(cohort, False)
    frag = Fragment(title, citations=list(CITATIONS))
    from ._base import package_versions

    versions = package_versions("radiogenomics", "numpy", "scikit-learn")
    frag.methods = _methods(opts, test, cv, words, versions)
    for para in _prose(test, cv, opts, paired.n_samples, words, ctx.alpha):
        frag.text(para)
    if caught:
        frag.text("Warnings raised by the analysis: " + "; ".join(caught), note=True)
    frag.table(_table(test), f"cca_{opts.x}_{opts.y}",
               "Canonical correlations of the adjusted views, one row per component: the "
               "observed value, the mean and 95th percentile of its permutation null, the "
               "p-value of that step and the step-down p-value (cumulative maximum, "
               "family-wise error controlled over components).", index=False)
    frag.figure(plot_cca_scree(test), f"cca_scree_{opts.x}_{opts.y}",
                "Canonical correlation per component (blue; filled where the step-down "
                f"p <= {ctx.alpha}) against its permutation null (grey band 5th-95th "
                "percentile, dashed median): a component is credible where its point lies "
                "above the band.")
    nums = {"n_samples": int(paired.n_samples), "n_components": int(k),
            "canonical_correlations": [float(v) for v in test.statistic],
            "pvalues": [float(v) for v in test.pvalues],
            "n_significant": int(np.sum(test.pvalues <= ctx.alpha)),
            "n_permutations": int(test.n_permutations), "scheme": test.scheme,
            "r1_in_sample": float(cv.in_sample), "r1_cv": float(cv.correlation),
            "p_cv": None if cv.pvalue is None else float(cv.pvalue),
            "cv_folds": int(opts.cv_folds), "cv_permutations": int(cv.n_permutations)}
    rec = StepRecord(step, title, params=opts.model_dump(), seed=seed, versions=versions,
                     samples_used={f"{opts.x} and {opts.y}": int(paired.n_samples)},
                     features_used={opts.x: int(X.shape[1]), opts.y: int(Y.shape[1])},
                     samples_dropped=dropped_entries(paired.dropped, "sample_id",
                                                     ["view", "reason"]),
                     numbers=nums, warnings=caught)
    _findings(frag, test, cv, opts, ctx.alpha)
    return StepResult({"test": test, "cross_validated": cv}, frag, rec)
