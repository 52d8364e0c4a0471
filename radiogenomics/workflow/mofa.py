"""Workflow step ``mofa``: MOFA+ factors of the views and what they go with.

Fits MOFA+ (:class:`radiogenomics.mofa.MOFA`, mofapy2 underneath) on the chosen views as
they are (no harmonisation), shows the variance each factor explains in each view once (a
heatmap), correlates the active factors with covariates, imaging traits and outcomes
(permutation p-values within centres, Benjamini-Hochberg q-values over all pairs), checks
whether factors encode the centre (site leakage) and reports the fit's convergence.  With the
simulation's truth, the factors' correlations with the true shared factors go into the record
(``numbers["max_abs_r_with_true_factor"]`` etc.) for the ``truth`` step.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from ..report.format import fmt_count, fmt_num, fmt_p
from ._base import (Fragment, StepContext, StepOptions, StepRecord, StepResult,
                    package_versions, skipped, timed_step)
from .cohort import join_words

__all__ = ["Options", "run"]

STEP = "mofa"
TITLE = "MOFA+ factor analysis"

CITATIONS = [
    "Argelaguet R et al. (2020) MOFA+: a statistical framework for comprehensive integration "
    "of multi-modal single-cell data. Genome Biology 21:111",
    "Benjamini Y, Hochberg Y (1995) Controlling the false discovery rate. J R Stat Soc B "
    "57:289-300",
]

_TOL = {"fast": "5e-4", "medium": "5e-5", "slow": "5e-6"}


class Options(StepOptions):
    """Options of the ``mofa`` step.

    Attributes
    ----------
    views : list of str
        Views to integrate; views absent from the data are named and left out.
    factors : int
        Initial number of factors; factors explaining under 1% of every view are inactive
        and not tested.
    standardize : list of str
        Views whose features are z-scored before fitting (radiomic units are arbitrary).
    correlate_with : list of str
        ``"covariates"``, ``"outcomes"`` or view names whose columns are correlated with the
        factors; ``"<source>.<column>"`` takes one column of a source (e.g.
        ``"outcomes.outcome_binary"``: leave censored follow-up times out, a correlation with
        them means nothing).
    permutations : int
        Permutations (within centres) of the factor associations and the leakage check,
        capped at the study's number (0 there: parametric p-values).
    convergence : {"fast", "medium", "slow"}
        mofapy2's convergence mode (ELBO change tolerance 5e-4 / 5e-5 / 5e-6 percent).
    """

    views: list[str] = ["radiomics", "expression"]
    factors: int = Field(8, ge=1)
    standardize: list[str] = ["radiomics"]
    correlate_with: list[str] = ["covariates", "traits", "outcomes"]
    permutations: int = Field(999, ge=0)
    convergence: Literal["fast", "medium", "slow"] = "fast"


# ------------------------------------------------------------------------- pieces

def _variables(cohort, sources) -> tuple[pd.DataFrame | None, list[str], list[str]]:
    """The columns of ``sources`` as numbers (text with more than two levels one-hot coded
    as ``"<column> = <level>"``); the sources used and those absent."""
    parts, used, absent = [], [], []
    for src in sources:
        base, _, column = src.partition(".")
        df = (cohort.covariates if base == "covariates" else cohort.outcomes
              if base == "outcomes" else cohort[base] if base in cohort else None)
        if column and df is not None:
            df = df[[column]] if column in df.columns else None
        if df is None:
            absent.append(src)
            continue
        used.append(src)
        coded = {}
        for c in df.columns:
            col = df[c]
            if (not pd.api.types.is_numeric_dtype(col) and col.dtype != bool
                    and col.dropna().astype(str).nunique() > 2):
                for lev in sorted(col.dropna().astype(str).unique()):
                    coded[f"{c} = {lev}"] = (col.astype(str) == lev).astype(float).where(
                        col.notna())
            else:
                coded[c] = col
        parts.append(pd.DataFrame(coded, index=df.index))
    if not parts:
        return None, used, absent
    cov = pd.concat(parts, axis=1)
    return cov.loc[:, ~cov.columns.duplicated()], used, absent


def _r2_on(Y: pd.DataFrame, F: pd.DataFrame) -> pd.Series:
    """In-sample R2 of every column of ``Y`` regressed (OLS with intercept) on ``F``."""
    ids = Y.index.intersection(F.index)
    A = np.column_stack([np.ones(len(ids)), F.loc[ids].to_numpy(float)])
    Yv = Y.loc[ids].to_numpy(float)
    B = np.linalg.lstsq(A, Yv, rcond=None)[0]
    tot = ((Yv - Yv.mean(axis=0)) ** 2).sum(axis=0)
    res = ((Yv - A @ B) ** 2).sum(axis=0)
    return pd.Series(1 - res / np.where(tot > 0, tot, np.nan), index=Y.columns)


def _truth_numbers(ctx: StepContext, res, views) -> tuple[dict, pd.DataFrame | None]:
    """|r| of every factor with the simulation's shared factors (for the truth step)."""
    truth = ctx.truth
    if truth is None or getattr(truth, "shared_factors", None) is None:
        return {}, None
    Z = res.factors
    F = truth.shared_factors.reindex(Z.index)
    R = pd.DataFrame({f: Z.corrwith(F[f]).abs() for f in F.columns})
    share = {v: 100 * float(_r2_on(ctx.cohort[v], truth.shared_factors).mean()) for v in views}
    nums = {"true_factors": [str(f) for f in R.columns],
            "max_abs_r_with_true_factor": [float(R[f].max()) for f in R.columns],
            "best_factor_for_true_factor": [str(R[f].idxmax()) for f in R.columns],
            "true_factor_variance_share_percent": share}
    return nums, R


def _convergence_text(res, opts: Options) -> str:
    state = "converged" if res.converged else "did NOT converge"
    return (f"The model {state} after {fmt_count(res.n_iter)} iterations (mofapy2's "
            f"'{opts.convergence}' mode: training stops when the evidence lower bound changes "
            f"by less than {_TOL[opts.convergence]}% between iterations; seed {res.seed}).")


def _fit_text(res, have, std) -> str:
    pres = res.view_presence
    partial = [f"{fmt_count(int((~pres[v]).sum()))} without {v}" for v in pres.columns
               if (~pres[v]).any()]
    act = res.active_factors()
    tot = res.r2_total.iloc[:, 0]
    return (f"MOFA+ was fitted on {fmt_count(len(res.factors))} patients and "
            + join_words(f"{v} ({fmt_count(res.weights[v].shape[0])} features)" for v in have)
            + (f"; {join_words(partial)}, whose missing view is treated as missing cells"
               if partial else "")
            + f". {fmt_count(len(act))} of {fmt_count(res.n_factors)} factors explain at "
            "least 1% of the variance of some view (active); together the factors explain "
            + join_words(f"{fmt_num(tot[v], 3)}% of {v}" for v in tot.index) + ".")


def _association_text(fa, ctx, B, blocks) -> tuple[str, pd.DataFrame, list[str]]:
    t = fa.table
    pcol = "p_permutation" if B else "p_parametric"
    sig = t[t["q"] <= ctx.alpha].sort_values("q")
    words = [f"{r['factor']} with {r['covariate']} (r = {fmt_num(r['r'], 2)}, q = "
             f"{fmt_p(r['q'])})" for _, r in sig.head(8).iterrows()]
    text = (f"{fmt_count(len(sig))} of {fmt_count(len(t))} (factor, variable) pairs have "
            f"Benjamini-Hochberg q <= {ctx.alpha}"
            + (": " + "; ".join(words) + ("; ..." if len(sig) > 8 else "") if words else "")
            + ".")
    show = t.sort_values(pcol).rename(columns={"covariate": "variable", pcol: "p"})
    show = show[["factor", "variable", "n", "r", "p", "q"]]
    found = [f"{r['factor']} ~ {r['covariate']}" for _, r in sig.iterrows()]
    return text, show, found


def _leakage_text(lk, ctx) -> str:
    flagged = list(lk.index[lk["flagged"]])
    if not flagged:
        return ("No factor is flagged as encoding the centre (share of the factor's variance "
                f"between centres >= 0.2 with permutation p <= {ctx.alpha}).")
    verb = "mainly encodes" if len(flagged) == 1 else "mainly encode"
    return (f"{join_words(flagged)} {verb} the centre (share of variance between "
            f"centres >= 0.2, permutation p <= {ctx.alpha}): they reflect scanner and site "
            "differences (see the centre effects section) and should be harmonised away "
            "(ComBat, or MOFA+ with groups = centre) rather than interpreted biologically.")


def _methods(opts, have, std, B, blocks, used, versions) -> str:
    perm = (f"{fmt_count(B)} permutations{' within centres' if blocks else ''}" if B
            else "parametric p-values")
    return (
        f"Multi-omics factor analysis (MOFA+, Argelaguet et al. 2020; mofapy2 "
        f"{versions['mofapy2']}) was fitted on {join_words(have)} with {opts.factors} initial "
        "factors, spike-and-slab and ARD priors on the weights, "
        + (f"the features of {join_words(std)} z-scored and " if std else "")
        + "every view scaled to unit total variance, without harmonisation or covariate "
        "adjustment; patients missing a whole view were kept with that view's cells missing. "
        f"Convergence used mofapy2's '{opts.convergence}' mode. Active factors (at least 1% of "
        "the variance of some view) were correlated (Pearson) with "
        + (join_words(used) if used else "no variable")
        + f" using {perm}"
        + (" (permuting within centres keeps each centre's values together, so a correlation "
           "carried only by differences between centres appears in the null distribution too "
           "and is not declared significant)"
           if B and blocks else "")
        + ", with Benjamini-Hochberg q-values over all (factor, variable) pairs. Site leakage "
        "was assessed per factor by the share of its variance between centres (eta squared, "
        "centre labels permuted) and by the cross-validated accuracy of a logistic classifier "
        "predicting centre from the factor alone.")


def _figures(frag, ctx, res) -> None:
    from ..plotting import plot_mofa_factors, plot_mofa_variance_explained

    frag.figure(plot_mofa_variance_explained(res), "mofa_variance_explained",
                "Variance explained (%) by each MOFA+ factor (rows) in each view (columns); "
                "the number in each cell is the percentage. A factor with large values in "
                "both views is shared between imaging and expression; one with a value in a "
                "single view is specific to it.")
    if ctx.cohort.centre is not None and res.n_factors >= 2:
        fig = plot_mofa_factors(res, color=ctx.cohort.centre.rename("centre"), factors=(1, 2),
                                colours=ctx.centre_colours)
        frag.figure(fig, "mofa_factors_by_centre",
                    "Scores of every patient on factors 1 and 2, coloured by centre (the same "
                    "colours as every figure). Clouds of one colour separated from the others "
                    "mean the factor encodes the centre (see the leakage table).")


def _associate(frag, ctx, opts, res, B, blocks) -> tuple[object, list, list, list]:
    """Factor associations with the chosen variables (fragment text and table)."""
    cov, used, absent = _variables(ctx.cohort, opts.correlate_with)
    if absent:
        frag.text(f"Not in the data, so not correlated with the factors: {join_words(absent)}.",
                  note=True)
    if cov is None:
        return None, used, absent, []
    fa = res.correlate(cov, n_permutations=B, rng=ctx.rng, alpha=ctx.alpha,
                       exchangeability_blocks=ctx.cohort.centre if blocks and B else None)
    text, show, found = _association_text(fa, ctx, B, blocks)
    frag.text(text)
    frag.table(show, "mofa_factor_associations",
               f"Every active factor against every variable of {join_words(used)}: number of "
               "patients with the variable, Pearson r, its "
               + ("permutation p-value (within centres)" if B else "parametric p-value")
               + " and Benjamini-Hochberg q over all pairs; sorted by p. Two-level text "
               "variables are coded 0/1 (the level later in alphabetical order is 1).",
               index=False, max_rows=20)
    return fa, used, absent, found


def _leakage(frag, ctx, res, B):
    lk = res.leakage(centre=ctx.cohort.centre, n_permutations=max(B, 99), rng=ctx.rng,
                     alpha=ctx.alpha)
    frag.text(_leakage_text(lk, ctx))
    show = lk.rename(columns={"eta2": "share of variance between centres",
                              "p_permutation": "p (permutation)",
                              "cv_accuracy": "cross-validated accuracy",
                              "majority_rate": "majority-class rate"})
    frag.table(show, "mofa_leakage",
               "Site leakage per active factor: share of the factor's variance between centres "
               "(eta squared) and its permutation p-value, the cross-validated accuracy of "
               "predicting centre from the factor alone beside the accuracy of always guessing "
               "the largest centre, and whether the factor is flagged as encoding the centre.")
    return lk


@timed_step
def run(ctx: StepContext, opts: Options | None = None) -> StepResult:
    """Fit MOFA+, show variance explained once, test factor associations and site leakage.

    Parameters
    ----------
    ctx : StepContext
    opts : Options, optional

    Returns
    -------
    StepResult
        ``result``: dict with ``model`` (:class:`~radiogenomics.mofa.MOFAResult`),
        ``associations`` (:class:`~radiogenomics.mofa.FactorAssociation` or None),
        ``leakage`` (table or None) and ``truth_correlation`` (|r| of factors with the
        simulation's shared factors, None without truth).
    """
    from ..mofa import MOFA

    opts = opts or Options()
    cohort = ctx.cohort
    absent = [v for v in opts.views if v not in cohort]
    have = [v for v in opts.views if v in cohort]
    if not have:
        return skipped(STEP, TITLE, f"view(s) {join_words(absent)} not in the data", opts)
    std = [v for v in opts.standardize if v in have]
    seed = ctx.seed()
    res = MOFA(n_factors=opts.factors, standardize=std, convergence=opts.convergence,
               rng=seed).fit(cohort, views=have)
    B = min(int(opts.permutations), int(ctx.n_permutations))
    blocks = cohort.centre is not None
    frag = Fragment(f"MOFA+ factor analysis of {join_words(have)}", citations=list(CITATIONS))
    if absent:
        frag.text(f"View(s) {join_words(absent)} not in the data: MOFA+ was fitted on "
                  f"{join_words(have)}.", note=True)
    frag.text(_fit_text(res, have, std) + " " + _convergence_text(res, opts))
    _figures(frag, ctx, res)
    fa, used, _, found = _associate(frag, ctx, opts, res, B, blocks)
    lk = _leakage(frag, ctx, res, B) if blocks else None
    versions = package_versions("mofapy2")
    frag.methods = _methods(opts, have, std, B, blocks, used, versions)
    truth_nums, R = _truth_numbers(ctx, res, have)
    rec = _record(ctx, opts, res, have, absent, fa, lk, truth_nums, B, versions)
    rec.seed = seed
    _findings(frag, ctx, res, fa, lk, found, opts)
    return StepResult({"model": res, "associations": fa, "leakage": lk,
                       "truth_correlation": R}, frag, rec)


def _record(ctx, opts, res, have, absent, fa, lk, truth_nums, B, versions) -> StepRecord:
    pres = res.view_presence
    r2 = res.r2_table()
    nums = {"n_factors": int(res.n_factors), "active_factors": res.active_factors(),
            "converged": bool(res.converged), "n_iter": int(res.n_iter),
            "n_permutations": int(B),
            "r2_percent": {f: {v: float(r2.loc[f, v]) for v in r2.columns} for f in r2.index},
            "r2_total_percent": {v: float(x) for v, x in res.r2_total.iloc[:, 0].items()}}
    if fa is not None:
        t = fa.table
        sig = t[t["q"] <= ctx.alpha]
        nums["n_associations_tested"] = int(len(t))
        nums["n_associations_q"] = int(len(sig))
        nums["associations_q"] = [f"{a} ~ {b}" for a, b in zip(sig["factor"], sig["covariate"])]
        if "age" in set(t["covariate"]):
            a = t[t["covariate"] == "age"]
            top = a.loc[a["r"].abs().idxmax()]
            nums["age_factor"] = str(top["factor"])
            nums["max_abs_r_with_age"] = float(abs(top["r"]))
    if lk is not None:
        nums["leakage_flagged"] = [str(f) for f in lk.index[lk["flagged"]]]
    rec = StepRecord(STEP, TITLE, params=opts.model_dump(), versions=versions,
                     samples_used={v: int(pres[v].sum()) for v in pres.columns},
                     features_used={v: int(res.weights[v].shape[0]) for v in have},
                     numbers={**nums, **truth_nums})
    if res.removed is not None and len(res.removed):
        for reason, grp in res.removed.groupby("reason"):
            ids = grp.iloc[:, 0].astype(str).tolist()
            rec.features_dropped[str(reason)] = {"n": len(ids), "ids": ids, "reason": str(reason)}
    if absent:
        rec.warnings.append(f"view(s) {', '.join(absent)} not in the data: not fitted")
    if not res.converged:
        rec.warnings.append(f"MOFA+ did not converge in {res.n_iter} iterations")
    return rec


def _findings(frag, ctx, res, fa, lk, found, opts) -> None:
    frag.finding(f"MOFA+ {'converged' if res.converged else 'did not converge'} after "
                 f"{fmt_count(res.n_iter)} iterations ('{opts.convergence}' mode).", "check",
                 ok=bool(res.converged))
    if fa is not None:
        kind = "significant" if found else "null"
        frag.finding(f"MOFA+: {fmt_count(len(found))} (factor, variable) associations with "
                     f"Benjamini-Hochberg q <= {ctx.alpha}"
                     + (f" ({'; '.join(found[:4])}{'; ...' if len(found) > 4 else ''})"
                        if found else "") + ".", kind)
    if lk is not None:
        flagged = list(lk.index[lk["flagged"]])
        frag.finding("MOFA+ site leakage: " + (f"{join_words(flagged)} mainly encode(s) the "
                                               "centre." if flagged else
                                               "no factor encodes the centre."),
                     "check", ok=not flagged)
