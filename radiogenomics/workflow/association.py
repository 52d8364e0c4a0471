"""Workflow step ``association``: one mass-univariate screen of two views (x features against
y features), Benjamini-Hochberg FDR on the parametric p-values and max-T family-wise p-values
from Freedman-Lane permutations within centres.

The record's step name is ``association:<x>~<y>`` so one plan can hold several screens.
"""

from __future__ import annotations

import numpy as np

from ..report.format import fmt_count, fmt_num
from ._base import (Fragment, StepContext, StepOptions, StepRecord, StepResult, skipped,
                    timed_step)
from .cohort import dropped_entries, join_words, plural

__all__ = ["Options", "run", "adjustment_text", "PERMUTATION_CITATIONS"]

PERMUTATION_CITATIONS = [
    "Freedman D, Lane D (1983) A nonstochastic interpretation of reported significance "
    "levels. J Bus Econ Stat 1:292-298",
    "Winkler AM, Ridgway GR, Webster MA, Smith SM, Nichols TE (2014) Permutation inference "
    "for the general linear model. NeuroImage 92:381-397",
]
CITATIONS = [
    "Benjamini Y, Hochberg Y (1995) Controlling the false discovery rate: a practical and "
    "powerful approach to multiple testing. J R Stat Soc B 57:289-300",
    *PERMUTATION_CITATIONS,
    "Westfall PH, Young SS (1993) Resampling-Based Multiple Testing. Wiley, New York",
]


class Options(StepOptions):
    """Options of one ``association`` screen.

    Attributes
    ----------
    x, y : str
        The two views: every x feature is tested against every y feature.
    permutations : int, optional
        Freedman-Lane permutations (within centres); None: the study's setting; 0:
        parametric inference only (no max-T).
    detail : bool
        Add the volcano plot, the heatmap of the top pairs, the p-value histogram and the
        max-T null distribution.
    top : int
        Rows of the table of the most significant pairs (written in full to CSV).
    """

    x: str
    y: str
    permutations: int | None = None
    detail: bool = True
    top: int = 1000


def adjustment_text(cohort, within: bool) -> str:
    """The covariate adjustment in words, e.g. "age and sex, with intercept and slopes fitted
    within each centre"."""
    cov = [] if cohort.covariates is None else list(cohort.covariates.columns)
    if cohort.centre is None:
        return join_words(cov) if cov else "no covariates"
    if within:
        return ((join_words(cov) + ", with intercept and slopes fitted within each centre")
                if cov else "centre (an intercept per centre)")
    return join_words(cov + ["centre (indicator variables)"])


def _counts(res, alpha: float) -> dict:
    q = res.qvalues.to_numpy() <= alpha
    nums = {"n_tests": res.n_tests, "n_x_features": int(res.r.shape[0]),
            "n_y_features": int(res.r.shape[1]), "n_samples": int(res.n_samples),
            "df": int(res.df), "alpha": alpha, "n_bh": int(q.sum()),
            "n_bh_x_features": int(q.any(axis=1).sum()),
            "n_bh_y_features": int(q.any(axis=0).sum()),
            "max_abs_r": float(np.nanmax(np.abs(res.r.to_numpy()))),
            "n_permutations": int(res.n_permutations)}
    if res.p_fwer is not None:
        f = res.p_fwer.to_numpy() <= alpha
        nums.update(n_fwer=int(f.sum()), n_fwer_x_features=int(f.any(axis=1).sum()),
                    n_fwer_y_features=int(f.any(axis=0).sum()),
                    fwer_threshold_r=float(res.fwer_threshold(alpha)),
                    permutation_scheme=res.permutation_scheme)
    return nums


def _pairs(k: int) -> str:
    """``"1 pair passes"`` / ``"3 pairs pass"``."""
    return plural(k, "pair") + (" passes" if k == 1 else " pass")


def _within(nums: dict) -> str:
    return " within centres" if nums.get("permutation_scheme") == "within-block" else ""


def _disagreement(nums: dict, alpha: float) -> str:
    """Why BH and max-T counts differ, in words."""
    b, m = nums["n_permutations"], nums["n_tests"]
    why = (f"The two counts answer different questions. The Benjamini-Hochberg q-values are "
           f"computed from the parametric p-values and control the expected share of false "
           f"discoveries among the pairs declared (q <= {alpha}: on average at most "
           f"{fmt_num(100 * alpha, 2)}% of them are false). Max-T p_fwer compares each pair "
           f"with the largest statistic over all {fmt_count(m)} pairs in each permutation"
           f"{_within(nums)} and controls the family-wise error rate, the probability of "
           "even one false positive in the whole screen: stricter, and "
           + ("it stays valid when centres differ in residual spread, where parametric "
              "p-values can be too small." if _within(nums) else
              "it needs no assumption of normally distributed residuals."))
    if nums["n_bh"] > nums["n_fwer"]:
        why += (f" So {fmt_count(nums['n_bh'] - nums['n_fwer'])} pairs with q <= {alpha} but "
                f"p_fwer > {alpha} are credible as a set, not each on its own.")
    elif nums["n_fwer"] > nums["n_bh"]:
        why += (" Here max-T declares more pairs than BH: the parametric p-values are larger "
                "than the permutation null implies (e.g. with heavy-tailed residuals).")
    floor_q = m / (1 + b)
    if floor_q > alpha:
        why += (f" BH is not applied to the permutation p-values: with {fmt_count(b)} "
                f"permutations the smallest is 1/{fmt_count(b + 1)}, too large to pass BH over "
                f"{fmt_count(m)} pairs.")
    return why


def _prose(res, nums: dict, x: str, y: str, adjust: str, alpha: float) -> list[str]:
    out = [f"{fmt_count(nums['n_tests'])} pairs tested ({fmt_count(nums['n_x_features'])} {x} "
           f"features x {fmt_count(nums['n_y_features'])} {y} features) on "
           f"{fmt_count(nums['n_samples'])} patients with both views, adjusted for {adjust} "
           f"({fmt_count(nums['df'])} residual degrees of freedom). Largest |partial r|: "
           f"{fmt_num(nums['max_abs_r'])}."]
    bh = (f"{_pairs(nums['n_bh'])} Benjamini-Hochberg q <= {alpha} "
          f"(features involved: {fmt_count(nums['n_bh_x_features'])} of {x}, "
          f"{fmt_count(nums['n_bh_y_features'])} of {y})")
    if res.p_fwer is None:
        out.append(bh + "; no permutations were run, so there is no family-wise (max-T) test.")
        return out
    thr = nums["fwer_threshold_r"]
    thr_text = (f"|partial r| > {fmt_num(thr)}" if np.isfinite(thr) else
                f"none reachable: {fmt_count(nums['n_permutations'])} permutations cannot give "
                f"p_fwer <= {alpha}")
    out.append(bh + f"; {_pairs(nums['n_fwer'])} max-T p_fwer <= {alpha} ("
               f"features involved: {fmt_count(nums['n_fwer_x_features'])} of {x}, "
               f"{fmt_count(nums['n_fwer_y_features'])} of {y}; threshold {thr_text}).")
    out.append(_disagreement(nums, alpha))
    return out


def _methods(res, x, y, adjust, within, alpha, versions) -> str:
    text = (f"Each {x} feature was tested against each {y} feature ({fmt_count(res.n_tests)} "
            f"pairs) in the linear model {y} ~ {x} + covariates, adjusted for {adjust}; the "
            "statistic is the partial correlation, with two-sided t-test p-values. "
            f"Benjamini-Hochberg q-values over all pairs (Benjamini & Hochberg 1995) were "
            f"computed from the parametric p-values.")
    if res.n_permutations:
        text += (f" Permutation inference used {fmt_count(res.n_permutations)} Freedman-Lane "
                 "permutations of the residuals of the reduced model (Freedman & Lane 1983; "
                 "Winkler et al. 2014)"
                 + (", within centres, with the covariates fitted per centre"
                    if within else "") +
                 "; family-wise error over all pairs was controlled with the max-T procedure "
                 "(Westfall & Young 1993): each pair's statistic against the distribution of "
                 f"the maximum over all pairs. Significance level {alpha}.")
    return text + (f" Software: radiogenomics {versions.get('radiogenomics', '')}, NumPy "
                   f"{versions.get('numpy', '')}, SciPy {versions.get('scipy', '')}.")


def _figures(frag: Fragment, res, stem: str, x: str, y: str, alpha: float) -> None:
    from ..plotting import (plot_null_max, plot_pvalue_histogram, plot_top_pairs_heatmap,
                            plot_volcano)

    frag.figure(plot_volcano(res), f"{stem}_volcano",
                f"Volcano plot: partial correlation (x axis) against -log10 parametric p (y "
                f"axis) for every {x} x {y} pair; pairs with Benjamini-Hochberg q <= {alpha} "
                f"are red"
                + ("; dashed lines mark the max-T |r| threshold" if res.n_permutations else "")
                + ".")
    frag.figure(plot_top_pairs_heatmap(res, top=20), f"{stem}_top_pairs",
                f"Partial correlations among the {x} (rows) and {y} (columns) features of the "
                "20 most significant pairs: blocks of one colour show features that move "
                "together.")
    frag.figure(plot_pvalue_histogram(res), f"{stem}_pvalues",
                "Histogram of all parametric p-values: flat under no association; a peak near "
                "0 above the flat floor is signal, a hump elsewhere suggests a model problem.")
    if res.n_permutations:
        frag.figure(plot_null_max(res), f"{stem}_null_max",
                    "Max-T null distribution: the largest |t| over all pairs in each "
                    "permutation; pairs whose observed |t| lies right of the dashed "
                    f"threshold have p_fwer <= {alpha}.")


def _findings(frag: Fragment, nums: dict, x: str, y: str, alpha: float) -> None:
    base = f"{x} x {y}: "
    if "n_fwer" in nums:
        text = (f"{base}{fmt_count(nums['n_fwer'])} of {fmt_count(nums['n_tests'])} pairs pass "
                f"max-T family-wise p <= {alpha} ({fmt_count(nums['n_permutations'])} "
                f"permutations{_within(nums)}); {fmt_count(nums['n_bh'])} pass "
                f"Benjamini-Hochberg q <= {alpha} (parametric p-values).")
        hit = nums["n_fwer"] + nums["n_bh"] > 0
    else:
        text = (f"{base}{fmt_count(nums['n_bh'])} of {fmt_count(nums['n_tests'])} pairs pass "
                f"Benjamini-Hochberg q <= {alpha} (parametric p-values).")
        hit = nums["n_bh"] > 0
    frag.finding(text, "significant" if hit else "null")


def _table_caption(x: str, y: str, top: int, nums: dict, alpha: float) -> str:
    cap = (f"The {fmt_count(top)} most significant {x} x {y} pairs by parametric p: partial "
           "correlation r, t and its degrees of freedom, parametric p, permutation p, max-T "
           "family-wise p (p_fwer) and Benjamini-Hochberg q.")
    if nums["n_bh"] <= top:
        cap += (f" The {plural(nums['n_bh'], 'pair')} with q <= {alpha} "
                f"{'is' if nums['n_bh'] == 1 else 'are'} among them.") if nums["n_bh"] else ""
    return cap


@timed_step
def run(ctx: StepContext, opts: Options) -> StepResult:
    """Screen every ``opts.x`` feature against every ``opts.y`` feature.

    Parameters
    ----------
    ctx : StepContext
    opts : Options

    Returns
    -------
    StepResult
        ``result``: the :class:`~radiogenomics.association.AssociationResult`; the record's
        ``seed`` reproduces the permutations (``associate(..., rng=seed)``).
    """
    from ..association import associate

    x, y = opts.x, opts.y
    step, title = f"association:{x}~{y}", f"Association: {x} x {y}"
    cohort = ctx.cohort
    absent = [v for v in (x, y) if v not in cohort]
    if absent:
        return skipped(step, title, f"view(s) {join_words(absent)} not in the data", opts)
    seed = ctx.seed()
    kw = {**ctx.perm(opts.permutations), "rng": seed}
    within = kw["exchangeability_blocks"] is not None
    res = associate(cohort, x=x, y=y, alpha=ctx.alpha, degenerate="drop",
                    progress=ctx.progress, **kw)
    nums = _counts(res, ctx.alpha)
    adjust = adjustment_text(cohort, within)
    rec = StepRecord(step, title, params=opts.model_dump(), seed=seed,
                     samples_used={f"{x} and {y}": int(res.n_samples)},
                     features_used={x: nums["n_x_features"], y: nums["n_y_features"]},
                     samples_dropped=dropped_entries(res.dropped, "sample_id",
                                                     ["view", "reason"]),
                     features_dropped=dropped_entries(res.dropped_features, "feature",
                                                      ["block", "reason"]),
                     numbers=nums)
    frag = Fragment(title, citations=list(CITATIONS if res.n_permutations else CITATIONS[:1]))
    frag.methods = _methods(res, x, y, adjust, within, ctx.alpha,
                            {**rec.versions, **_versions()})
    for para in _prose(res, nums, x, y, adjust, ctx.alpha):
        frag.text(para)
    if len(res.dropped):
        frag.text(f"{fmt_count(res.dropped['sample_id'].nunique())} patients with only one of "
                  "the two views were left out of this screen.", note=True)
    if len(res.dropped_features):
        frag.text(f"{fmt_count(len(res.dropped_features))} features had no variance left "
                  "after the covariate adjustment on these patients and were left out: "
                  + join_words(res.dropped_features["feature"].astype(str).tolist()[:10])
                  + ("" if len(res.dropped_features) <= 10 else " and others (see results.json)")
                  + ".", note=True)
    _findings(frag, nums, x, y, ctx.alpha)
    stem = f"association_{x}_{y}"
    top = min(opts.top, res.n_tests)
    frag.table(res.to_frame(top=top), f"{stem}_top", _table_caption(x, y, top, nums, ctx.alpha),
               max_rows=25, index=False)
    if nums["n_bh"] > top:
        frag.table(res.to_frame(significant_only=True), f"{stem}_fdr",
                   f"All {fmt_count(nums['n_bh'])} pairs with Benjamini-Hochberg q <= "
                   f"{ctx.alpha}, most significant first.", max_rows=10, index=False)
    if opts.detail:
        _figures(frag, res, stem, x, y, ctx.alpha)
    return StepResult(res, frag, rec)


def _versions() -> dict:
    from ._base import package_versions

    return package_versions("radiogenomics", "numpy", "scipy")
