"""Workflow step ``centre_effects``: how much of each feature's variance is the centre.

One-way ANOVA of every feature of the chosen views on centre, before any harmonisation: the
share of variance explained by centre (eta squared) per feature, how many features differ
between centres, and the per-centre distributions of the most centre-affected features.
"""

from __future__ import annotations

import pandas as pd

from ..association import adjust_pvalues
from ..report.format import fmt_count, fmt_num
from ._base import (Fragment, StepContext, StepOptions, StepRecord, StepResult,
                    package_versions, skipped, timed_step)
from .cohort import join_words

__all__ = ["Options", "run"]

STEP = "centre_effects"
TITLE = "Centre effects"

CITATIONS = ["Orlhac F et al. (2022) A guide to ComBat harmonization of imaging biomarkers in "
             "multicenter studies. J Nucl Med 63:172-179"]


class Options(StepOptions):
    """Options of the ``centre_effects`` step.

    Attributes
    ----------
    views : list of str
        Views whose features are tested for centre differences; views absent from the data
        are named in the report and skipped.
    """

    views: list[str] = ["radiomics", "expression"]


def _view_sentence(view: str, tab: pd.DataFrame, alpha: float) -> tuple[str, dict]:
    p = tab["pvalue"].to_numpy()
    n_p = int((p <= alpha).sum())
    n_bh = int((adjust_pvalues(p) <= alpha).sum())
    med = float(tab["eta2"].median())
    top = tab["eta2"].idxmax()
    text = (f"{view}: centre explains a median {fmt_num(100 * med, 2)}% of a feature's "
            f"variance; {fmt_count(n_p)} of {fmt_count(len(tab))} features differ between "
            f"centres at p <= {alpha} ({fmt_count(n_bh)} after Benjamini-Hochberg correction "
            f"over the view's features). Most affected: {top} "
            f"({fmt_num(100 * float(tab['eta2'].max()), 2)}%).")
    nums = {"n_features": int(len(tab)), "median_eta2": med, "n_p_le_alpha": n_p,
            "n_bh": n_bh, "max_eta2": float(tab["eta2"].max()), "most_affected": str(top)}
    return text, nums


@timed_step
def run(ctx: StepContext, opts: Options | None = None) -> StepResult:
    """One-way ANOVA of every feature on centre, per view.

    Parameters
    ----------
    ctx : StepContext
    opts : Options, optional

    Returns
    -------
    StepResult
        ``result``: dict view -> the :func:`radiogenomics.qc.centre_anova` table (F, df,
        p-value, eta squared per feature).
    """
    from ..plotting import plot_centre_distributions, plot_centre_effects
    from ..qc import centre_anova

    opts = opts or Options()
    cohort = ctx.cohort
    if cohort.centre is None:
        return skipped(STEP, TITLE, "the data have no centre", opts)
    absent = [v for v in opts.views if v not in cohort]
    views = [v for v in opts.views if v in cohort]
    if not views:
        return skipped(STEP, TITLE, f"view(s) {join_words(absent)} not in the data", opts)
    n_centres = int(cohort.centre.nunique())
    if n_centres < 2:
        return skipped(STEP, TITLE, "the data come from a single centre", opts)
    anova = {v: centre_anova(cohort, v) for v in views}
    frag = Fragment(TITLE, citations=list(CITATIONS))
    versions = package_versions("radiogenomics", "scipy")
    frag.methods = (
        f"Centre effects were quantified before any harmonisation by a one-way analysis of "
        f"variance of each feature of {join_words(views)} on centre ({n_centres} centres): "
        "eta squared, the between-centre sum of squares over the total, is the share of a "
        "feature's variance explained by centre, and the F test's p-values were corrected "
        "over the features of each view with the Benjamini-Hochberg procedure. Location and "
        "scale differences between scanners and protocols are the usual source of such "
        "effects in multi-centre radiomics (Orlhac et al. 2022); the association analyses "
        "below adjust for centre and permute within centres. Software: radiogenomics "
        f"{versions['radiogenomics']}, SciPy {versions['scipy']}.")
    if absent:
        frag.text(f"View(s) {join_words(absent)} not in the data: not analysed.", note=True)
    numbers = {}
    for v, tab in anova.items():
        text, numbers[v] = _view_sentence(v, tab, ctx.alpha)
        frag.text(text)
        frag.finding(f"Centre explains a median {fmt_num(100 * numbers[v]['median_eta2'], 2)}%"
                     f" of the variance of the {v} features; {fmt_count(numbers[v]['n_bh'])} "
                     f"of {fmt_count(numbers[v]['n_features'])} differ between centres "
                     f"(Benjamini-Hochberg q <= {ctx.alpha}).", "info")
    frag.figure(plot_centre_effects(anova), "centre_effects",
                "Distribution over features of the share of variance explained by centre (eta "
                "squared), one line per view: mass near 0 means centre barely matters, a "
                "long right tail means some features are dominated by the scanner or site.")
    first = views[0]
    top = anova[first].sort_values("eta2", ascending=False)
    show = top.rename(columns={
        "df_between": "df between", "df_within": "df within", "pvalue": "p",
        "eta2": "eta squared"})
    frag.table(show.head(200), f"centre_anova_{first}",
               f"The {first} features most affected by centre (up to 200, largest eta squared "
               "first): F statistic of the one-way ANOVA on centre, its degrees of freedom, "
               "p-value and the share of variance explained by centre.", max_rows=10)
    feats = list(top.index[:6])
    frag.figure(plot_centre_distributions(cohort, first, feats, colours=ctx.centre_colours),
                f"centre_distributions_{first}",
                f"The {len(feats)} {first} features most affected by centre, before "
                "harmonisation: one box per centre (median, quartiles, whiskers to 1.5 "
                "interquartile ranges; the same centre colours as every figure). Shifted "
                "boxes are location effects, boxes of different height scale effects.")
    rec = StepRecord(STEP, TITLE, params=opts.model_dump(),
                     samples_used={v: int(cohort[v].shape[0]) for v in views},
                     features_used={v: int(cohort[v].shape[1]) for v in views},
                     numbers={"n_centres": n_centres, **numbers})
    if absent:
        rec.warnings.append(f"view(s) {', '.join(absent)} not in the data: not analysed")
    return StepResult(anova, frag, rec)
