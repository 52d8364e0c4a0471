"""Workflow step ``transcriptomics``: RNA-seq counts to a moderated screen and gene-set scores.

counts -> ``filter_by_expr`` (edgeR's rule, centres as groups when there are centres; on all
samples of the counts view) -> TMM -> voom -> limma's
moderated t of every imaging feature (``x``) against every kept gene (centre and covariates
adjusted, BH FDR) -> gene-set scores (GSVA by default) of TMM log-CPM, added to the cohort as
a new view (``view``, default ``gene_set_scores``) that later steps (CCA, MOFA) analyse.

With ``permutations > 0`` the screen is limma-trend on TMM log-CPM, covariate effects fitted
within each centre, with Freedman-Lane permutations within centres and max-T family-wise
p-values; BH stays on the parametric p-values (voom's weights do not permute; see
:mod:`radiogenomics.expression.moderated`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..report.format import fmt_count, fmt_num
from ._base import Fragment, StepContext, StepOptions, StepRecord, StepResult, skipped, timed_step
from .cohort import dropped_entries, join_words, plural

__all__ = ["Options", "run"]

CITATIONS = [
    "Robinson MD, Oshlack A (2010) A scaling normalization method for differential expression "
    "analysis of RNA-seq data. Genome Biol 11:R25",
    "Chen Y, Lun ATL, Smyth GK (2016) From reads to genes to pathways: differential expression "
    "analysis of RNA-Seq experiments using Rsubread and the edgeR quasi-likelihood pipeline. "
    "F1000Research 5:1438",
    "Law CW, Chen Y, Shi W, Smyth GK (2014) voom: precision weights unlock linear model analysis "
    "tools for RNA-seq read counts. Genome Biol 15:R29",
    "Smyth GK (2004) Linear models and empirical Bayes methods for assessing differential "
    "expression in microarray experiments. Stat Appl Genet Mol Biol 3:3",
    "Hänzelmann S, Castelo R, Guinney J (2013) GSVA: gene set variation analysis for microarray "
    "and RNA-seq data. BMC Bioinformatics 14:7",
]


class Options(StepOptions):
    """Options of the ``transcriptomics`` step.

    Attributes
    ----------
    counts : str
        The view holding RNA-seq counts (samples x genes, whole numbers).
    x : str
        The imaging view screened against every gene.
    gene_sets : path, optional
        A GMT file of gene sets (modules, pathways); without it no scores are computed.
    score : str
        Gene-set score: ``gsva``, ``ssgsea``, ``zscore``, ``plage``, ``singscore`` or
        ``eigengene``.
    view : str
        Name of the new view holding the scores.
    min_set_size : int
        Gene sets with fewer genes found in the data are left out (listed in the report).
    permutations : int
        0 (default): voom, parametric p-values and BH; > 0: limma-trend on log-CPM (this also
        changes the parametric statistic), covariate effects fitted within each centre,
        Freedman-Lane permutations within centres and max-T family-wise p-values; BH stays on
        the parametric p-values.
    top : int
        Rows of the table of the most significant pairs.
    """

    counts: str = "expression_counts"
    x: str = "traits"
    gene_sets: Path | None = None
    score: str = "gsva"
    view: str = "gene_set_scores"
    min_set_size: int = 5
    permutations: int = 0
    top: int = 200


def _filtered(ctx: StepContext, opts: Options):
    from ..expression import filter_by_expr

    counts = ctx.cohort[opts.counts]
    group = None if ctx.cohort.centre is None else ctx.cohort.centre.reindex(counts.index)
    flt = filter_by_expr(counts, group=group)
    return counts, flt, flt.apply(counts)


def _screen(ctx, cohort, opts, seed):
    from ..association import associate

    kw = {}
    if opts.permutations:
        # within centres, covariate effects per centre; BH stays on the parametric p-values
        kw = {**ctx.perm(opts.permutations), "rng": seed, "correction": "maxT"}
    return associate(cohort, x=opts.x, y=opts.counts, method="limma", alpha=ctx.alpha,
                     degenerate="drop", progress=ctx.progress, **kw)


def _methods(res, flt, opts, scores, versions, has_centre: bool) -> str:
    text = (f"RNA-seq counts were filtered with edgeR's filterByExpr rule (Chen et al. 2016; "
            f"at least {fmt_count(flt.samples_needed)} samples with at least "
            f"{fmt_num(flt.cpm_cutoff, 3)} counts per million, the CPM of 10 reads at the median "
            "library size, and 15 reads in total"
            + ("; centres as groups)" if has_centre else ")")
            + ", normalised by TMM (Robinson & Oshlack 2010) and analysed with limma: ")
    if res.weights == "voom":
        text += ("voom precision weights (Law et al. 2014), weighted least squares of each "
                 f"gene's log-CPM on each {opts.x} feature, adjusted for ")
    else:
        text += ("limma-trend on log-CPM (prior count 3), least squares of each gene on each "
                 f"{opts.x} feature, adjusted for ")
    adjusted = ("the covariates and centre, with intercept and covariate effects fitted within "
                "each centre" if res.n_permutations and has_centre else
                join_words(res.covariates) or "nothing")
    text += (f"{adjusted}; empirical-Bayes moderated t statistics "
             "(Smyth 2004), one prior per imaging feature"
             + (", its variance following average expression" if res.trend else "")
             + "; Benjamini-Hochberg FDR over all pairs (parametric p-values).")
    if res.n_permutations:
        text += (f" Family-wise error: max-T over {fmt_count(res.n_permutations)} Freedman-Lane "
                 "permutations of the moderated t (prior re-estimated in each), "
                 f"{res.permutation_scheme}.")
    if scores is not None:
        text += (f" Gene-set scores ({scores.method}; Hänzelmann et al. 2013) of TMM log-CPM "
                 f"for the {fmt_count(scores.scores.shape[1])} gene sets with at least "
                 f"{opts.min_set_size} genes in the data.")
    return text + f" Software: radiogenomics {versions.get('radiogenomics', '')}."


@timed_step
def run(ctx: StepContext, opts: Options) -> StepResult:
    """Filter, normalise and screen the counts; add gene-set scores as a view.

    Returns
    -------
    StepResult
        ``result``: dict with ``screen`` (the
        :class:`~radiogenomics.expression.ModeratedAssociationResult`), ``filter`` (the
        :class:`~radiogenomics.expression.FilterResult`) and ``scores`` (the gene-set scores
        result, or None).  ``ctx.cohort`` gains the view ``opts.view``.
    """
    from ..expression import calc_norm_factors, cpm, read_gmt, score_gene_sets

    step, title = "transcriptomics", f"Transcriptomics: {opts.x} x genes (limma) and gene-set scores"
    absent = [v for v in (opts.counts, opts.x) if v not in ctx.cohort]
    if absent:
        return skipped(step, title, f"view(s) {join_words(absent)} not in the data", opts)
    seed = ctx.seed()
    counts, flt, kept = _filtered(ctx, opts)
    cohort = ctx.cohort.with_view(opts.counts, kept)
    res = _screen(ctx, cohort, opts, seed)
    scores = None
    if opts.gene_sets is not None:
        nf = calc_norm_factors(kept)
        logcpm = cpm(kept, norm_factors=nf, log=True, prior_count=2)
        scores = score_gene_sets(logcpm, read_gmt(opts.gene_sets), method=opts.score,
                                 min_size=opts.min_set_size)
        cohort = cohort.with_view(opts.view, scores.scores)
    ctx.cohort = cohort
    q = res.qvalues.to_numpy() <= ctx.alpha
    nums = {"n_genes_in": int(counts.shape[1]), "n_genes_kept": int(kept.shape[1]),
            "n_samples": int(res.n_samples), "n_tests": res.n_tests, "n_bh": int(q.sum()),
            "n_bh_genes": int(q.any(axis=0).sum()), "weights": res.weights,
            "df_prior": float(np.nanmedian(res.df_prior.to_numpy())),
            "n_permutations": int(res.n_permutations)}
    if res.p_fwer is not None:
        nums["n_fwer"] = int((res.p_fwer.to_numpy() <= ctx.alpha).sum())
    if scores is not None:
        nums["n_gene_sets"] = int(scores.scores.shape[1])
        nums["n_gene_sets_removed"] = int(len(scores.removed))
    removed = flt.removed.rename(columns={"gene": "feature"}).assign(block=opts.counts)
    rec = StepRecord(step, title, params=opts.model_dump(mode="json"), seed=seed,
                     samples_used={f"{opts.x} and {opts.counts}": int(res.n_samples)},
                     features_used={opts.counts: nums["n_genes_kept"], opts.x: int(res.r.shape[0])},
                     samples_dropped=dropped_entries(res.dropped, "sample_id", ["view", "reason"]),
                     features_dropped=dropped_entries(
                         pd.concat([removed.assign(reason="filterByExpr: too few reads"),
                                    res.dropped_features], ignore_index=True),
                         "feature", ["block", "reason"]),
                     numbers=nums)
    from ._base import package_versions

    frag = Fragment(title, citations=list(CITATIONS if scores is not None else CITATIONS[:4]))
    frag.methods = _methods(res, flt, opts, scores, {**rec.versions, **package_versions("radiogenomics")},
                            ctx.cohort.centre is not None)
    _report(frag, res, flt, scores, nums, opts, ctx.alpha)
    return StepResult({"screen": res, "filter": flt, "scores": scores}, frag, rec)


def _report(frag, res, flt, scores, nums, opts, alpha) -> None:
    from ..plotting import plot_volcano

    frag.text(
        f"{fmt_count(nums['n_genes_kept'])} of {fmt_count(nums['n_genes_in'])} genes had enough "
        f"reads to be analysed ({fmt_count(nums['n_genes_in'] - nums['n_genes_kept'])} removed by "
        f"filterByExpr). {fmt_count(nums['n_tests'])} {opts.x} x gene pairs on "
        f"{fmt_count(nums['n_samples'])} patients: {plural(nums['n_bh'], 'pair')} "
        f"({plural(nums['n_bh_genes'], 'gene')}) with Benjamini-Hochberg q <= {alpha}. The "
        f"prior's degrees of freedom (median {fmt_num(nums['df_prior'], 3)}) measure how much "
        "each gene's variance borrowed from the others.")
    text = (f"{opts.x} x genes (limma): {fmt_count(nums['n_bh'])} of {fmt_count(nums['n_tests'])} "
            f"pairs pass BH q <= {alpha}")
    if "n_fwer" in nums:
        text += (f"; {fmt_count(nums['n_fwer'])} pass max-T p_fwer <= {alpha} "
                 f"({fmt_count(nums['n_permutations'])} permutations)")
    frag.finding(text + ".", "significant" if nums["n_bh"] or nums.get("n_fwer") else "null")
    top = min(opts.top, res.n_tests)
    table = res.to_frame(top=top)
    if res.p_fwer is None:  # no permutations: no empty columns
        table = table.drop(columns=["p_permutation", "p_fwer"])
    frag.table(table, f"transcriptomics_{opts.x}_top",
               f"The {fmt_count(top)} most significant {opts.x} x gene pairs: logFC (change in "
               f"log2 expression per unit of the {opts.x} variable), AveExpr (average log2 CPM), "
               "moderated t and its degrees of freedom, p, BH q"
               + (", max-T p_fwer" if res.p_fwer is not None else "") + ".",
               max_rows=25, index=False)
    frag.figure(plot_volcano(res), f"transcriptomics_{opts.x}_volcano",
                f"Volcano plot of the moderated screen: logFC per unit of each {opts.x} variable "
                f"(x axis) against -log10 p (y axis); pairs with BH q <= {alpha} in red.")
    if scores is None:
        frag.text("No gene sets were given (gene_sets), so no gene-set scores were computed.",
                  note=True)
        return
    frag.text(f"{fmt_count(nums['n_gene_sets'])} gene sets scored ({scores.method}) and added as "
              f"the view '{opts.view}'"
              + (f"; {plural(nums['n_gene_sets_removed'], 'set')} left out (see the coverage "
                 "table)" if nums["n_gene_sets_removed"] else "") + ".")
    frag.table(scores.coverage, f"transcriptomics_{opts.view}_coverage",
               "Coverage of each gene set: genes in the set, genes found among the analysed genes "
               "and the fraction found; missing genes are named in the CSV.", max_rows=30)
