"""Workflow step ``images`` (demo only): from images to genes, with a known answer.

The simulated cohort has no images, so this step writes one synthetic cardiac short-axis
phantom per patient (:func:`data_sim.phantoms.make_phantoms`) whose myocardial texture and
scar fraction follow one of the simulation's shared factors (the factor that also drives
gene expression), extracts pyradiomics features from it
(:func:`radiogenomics.radiomics.extract`), collapses redundant features
(:func:`radiogenomics.features.collapse_redundant`), harmonises the centres with ComBat
(:class:`radiogenomics.harmonize.ComBat`) and screens the harmonised features against every
gene with max-T family-wise error control, permuting within centres.  The genes found are
checked against the genes that truly load on the factor.  Without the simulation's truth
(``ctx.truth is None``) the step is skipped with that reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from ..report.format import fmt_count, fmt_num
from ._base import (Fragment, StepContext, StepOptions, StepRecord, StepResult,
                    package_versions, skipped, timed_step)
from .cohort import join_words

__all__ = ["Options", "run"]

STEP = "images"
TITLE = "From images: phantoms, pyradiomics, ComBat and genes"

CITATIONS = [
    "van Griethuysen JJM et al. (2017) Computational radiomics system to decode the "
    "radiographic phenotype. Cancer Research 77:e104-e107",
    "Johnson WE, Li C, Rabinovic A (2007) Adjusting batch effects in microarray expression "
    "data using empirical Bayes methods. Biostatistics 8:118-127",
    "Westfall PH, Young SS (1993) Resampling-based multiple testing. Wiley, New York",
    "Winkler AM et al. (2014) Permutation inference for the general linear model. "
    "NeuroImage 92:381-397",
]


class Options(StepOptions):
    """Options of the ``images`` step (demo only: it needs the simulation's truth).

    Attributes
    ----------
    n_patients : int or None
        Phantoms to write: a random subset (drawn with the step's seed) of this many patients
        with a radiomic view; None: every such patient.
    regions : bool
        Also extract the 16 AHA segments of the myocardium (16 more masks per patient; the
        screen uses the whole-myocardium features either way).
    redundancy_threshold : float
        Features whose |Spearman r| with each other is at least this are collapsed to one
        representative (complete linkage).
    permutations : int or None
        Freedman-Lane permutations within centres of the gene screen (None: the study's
        number; 0: parametric p-values with Benjamini-Hochberg instead of max-T).
    factor : str or None
        The simulation's shared factor that drives the phantoms (None: the first one).
    """

    n_patients: int | None = Field(None, ge=8)
    regions: bool = True
    redundancy_threshold: float = Field(0.9, gt=0, le=1)
    permutations: int | None = Field(None, ge=0)
    factor: str | None = None


# ------------------------------------------------------------------------- pieces

def _numeric_covariates(cohort, ids) -> tuple[pd.DataFrame, list[str]]:
    """Covariates as numbers for ComBat and the screen: numeric columns as they are,
    two-level text columns as 0/1 (named ``"<column> (<level>)"``), and their description
    in words."""
    if cohort.covariates is None:
        return pd.DataFrame(index=ids), []
    cov = cohort.covariates.reindex(ids)
    out, words = {}, []
    for c in cov.columns:
        col = cov[c]
        if pd.api.types.is_numeric_dtype(col) or col.dtype == bool:
            out[c] = col.astype(float)
            words.append(str(c))
            continue
        levels = sorted(col.dropna().astype(str).unique())
        if len(levels) == 2:
            out[f"{c} ({levels[1]})"] = (col.astype(str) == levels[1]).astype(float)
            words.append(str(c))
    frame = pd.DataFrame(out, index=ids)
    return frame.dropna(axis=1), words


def _phantoms(ctx: StepContext, opts: Options, factor: str, out_dir, gen):
    """Write the phantoms of the chosen patients; the factor standardised drives fibrosis."""
    from data_sim.phantoms import make_phantoms

    truth, cohort = ctx.truth, ctx.cohort
    ids = cohort["radiomics"].index
    if opts.n_patients is not None and opts.n_patients < len(ids):
        pick = np.sort(gen.choice(len(ids), opts.n_patients, replace=False))
        ids = ids[pick]
    z = truth.shared_factors[factor].reindex(ids)
    z = (z - z.mean()) / z.std(ddof=0)
    sex = truth.covariates["sex"].reindex(ids) if "sex" in truth.covariates else None
    return make_phantoms(out_dir, sample_ids=ids, fibrosis=z, centre=truth.centre.reindex(ids),
                         sex=sex, regions=opts.regions, rng=gen), z


def _clean(ext, threshold: float) -> tuple[pd.DataFrame, object, dict]:
    """Whole-myocardium features without incomplete or constant columns, redundancy
    collapsed; the dropped features with their reasons."""
    from ..features import collapse_redundant

    X = ext.features[[c for c in ext.features.columns if c.startswith("MYO_")]]
    X = X.dropna(axis=0, how="all")
    incomplete = list(X.columns[X.isna().any()])
    X = X.drop(columns=incomplete)
    const = list(X.columns[X.std() == 0])
    X = X.drop(columns=const)
    red = collapse_redundant(X, threshold=threshold)
    dropped = {}
    for what, cols, reason in (
            ("incomplete", incomplete, "missing for some patients (failed extraction)"),
            ("constant", const, "the same value for every patient"),
            ("redundant", list(red.removed["feature"]) if len(red.removed) else [],
             f"|Spearman r| >= {threshold} with a kept representative")):
        if cols:
            dropped[what] = {"n": len(cols), "ids": [str(c) for c in cols], "reason": reason}
    return X, red, dropped


def _harmonise(ctx: StepContext, Xr: pd.DataFrame, cov: pd.DataFrame, z: pd.Series):
    """ComBat across centres (covariates preserved); centre share of variance and |r| with
    the latent factor before and after."""
    from ..harmonize import ComBat
    from ..qc import centre_anova

    centre = ctx.cohort.centre.reindex(Xr.index)
    Xh = ComBat().fit_transform(Xr, centre, cov.reindex(Xr.index) if cov.shape[1] else None)
    eta_raw = centre_anova(Xr, centre=centre)["eta2"]
    eta_h = centre_anova(Xh, centre=centre)["eta2"]
    tab = pd.DataFrame({"|r| with the factor, raw": Xr.corrwith(z).abs(),
                        "|r| with the factor, ComBat": Xh.corrwith(z).abs(),
                        "centre eta squared, raw": eta_raw,
                        "centre eta squared, ComBat": eta_h})
    tab.index.name = "feature"
    return Xh, tab.sort_values("|r| with the factor, ComBat", ascending=False)


def _screen(ctx: StepContext, opts: Options, Xh: pd.DataFrame, cov: pd.DataFrame, factor,
            gen):
    """Harmonised features x genes, adjusted for centre and covariates; max-T within
    centres (BH on parametric p-values without permutations); genes hit vs true genes."""
    from ..association import associate

    expr = ctx.cohort["expression"]
    both = Xh.index.intersection(expr.index)
    B = ctx.n_permutations if opts.permutations is None else int(opts.permutations)
    centre = ctx.cohort.centre.reindex(both)
    design = pd.get_dummies(centre.astype(str), prefix="centre", drop_first=True,
                            dtype=float).join(cov.reindex(both))
    res = associate(Xh.reindex(both), expr.reindex(both), covariates=design, alpha=ctx.alpha,
                    n_permutations=B, rng=gen, correction="maxT" if B else "fdr_bh",
                    fdr_on="parametric", exchangeability_blocks=centre if B else None,
                    covariates_by_block=bool(B))
    truly = (ctx.truth.loadings["expression"][factor].reindex(res.r.columns).fillna(0)
             .to_numpy() != 0)
    sig = res.adjusted.to_numpy() <= ctx.alpha
    hit = sig.any(axis=0)
    nums = {"n_patients_screened": int(len(both)), "n_permutations": int(B),
            "pairs_tested": int(sig.size), "pairs_significant": int(sig.sum()),
            "pairs_bh_q": int((res.qvalues.to_numpy() <= ctx.alpha).sum()),
            "genes_hit": int(hit.sum()), "genes_hit_true": int((hit & truly).sum()),
            "genes_true": int(truly.sum()), "genes_tested": int(len(truly))}
    return res, nums


# ------------------------------------------------------------------------- prose

def _methods(ctx, opts, factor, ph, n_myo, cov_words, nums, versions) -> str:
    n = len(ph.manifest)
    regions = " and of its 16 AHA segments" if opts.regions else ""
    cov = f", preserving {join_words(cov_words)}" if cov_words else ""
    adj = join_words(["centre", *cov_words])
    B = nums.get("n_permutations", 0) if nums else 0
    screen = "" if not nums else (
        " The harmonised features were then tested against every gene (log expression) by "
        f"partial Pearson correlation adjusted for {adj}, "
        + (f"with {fmt_count(B)} Freedman-Lane permutations within centres (covariate slopes "
           "fitted within each centre) and max-T family-wise error control (Westfall and Young "
           "1993; Winkler et al. 2014)" if B else
           "with Benjamini-Hochberg control of the false discovery rate over all pairs")
        + f" at alpha = {ctx.alpha}.")
    return (
        f"Images were simulated because the cohort has none: one cardiac short-axis phantom per "
        f"patient ({fmt_count(n)} patients, {ph.params.get('n_slices', 8)} slices) whose "
        f"myocardial texture and scar fraction follow the standardised shared factor {factor} "
        "of the simulation (which also drives gene expression), whose wall thickness follows "
        "sex, and whose scanner gain and noise level differ by centre. Radiomic features of the "
        f"left-ventricular myocardium{regions} were extracted with pyradiomics "
        f"{versions['pyradiomics']} (van Griethuysen et al. 2017; SimpleITK "
        f"{versions['SimpleITK']}; first order, shape, GLCM, GLRLM and GLSZM classes, 32 grey-"
        f"level bins). Of the {fmt_count(n_myo)} whole-myocardium features, incomplete and "
        f"constant ones were removed and clusters with |Spearman r| >= "
        f"{opts.redundancy_threshold} (complete linkage) collapsed to one representative each. "
        f"Centre effects were removed with ComBat (Johnson et al. 2007){cov}." + screen)


def _screen_text(ctx, nums, factor) -> str:
    corr = "max-T family-wise" if nums["n_permutations"] else "Benjamini-Hochberg"
    text = (f"{fmt_count(nums['pairs_significant'])} of {fmt_count(nums['pairs_tested'])} "
            f"(image feature, gene) pairs are significant ({corr} p <= {ctx.alpha}), involving "
            f"{fmt_count(nums['genes_hit'])} gene(s); {fmt_count(nums['genes_hit_true'])} of these "
            f"truly load on {factor} (in the simulation {fmt_count(nums['genes_true'])} of "
            f"{fmt_count(nums['genes_tested'])} genes do).")
    n_q, n_f = nums["pairs_bh_q"], nums["pairs_significant"]
    if nums["n_permutations"] and n_q > n_f:
        text += (f" Benjamini-Hochberg q-values (of the parametric p-values) pass {fmt_count(n_q)}"
                 " pairs: the false discovery rate accepts a small share of false positives "
                 "among many discoveries, whereas the max-T family-wise p-value (p_fwer) bounds "
                 "the chance of even one, so q can be small where p_fwer is not.")
    elif nums["n_permutations"] and n_q < n_f:
        text += (f" Benjamini-Hochberg q-values (of the parametric p-values) pass only "
                 f"{fmt_count(n_q)} pairs: max-T compares each pair with the permutation "
                 "distribution of the largest statistic over correlated features, which is "
                 "less strict than the BH threshold when the tests are strongly dependent.")
    return text


def _report(frag, ctx, opts, factor, ph, ext, X, red, harm, res, nums) -> None:
    from .. import plotting

    st = ext.cases["status"].value_counts()
    frag.text(f"pyradiomics processed {fmt_count(ext.n_cases)} patients "
              f"({fmt_count(st.get('ok', 0))} complete, {fmt_count(st.get('partial', 0))} "
              f"partial, {fmt_count(st.get('failed', 0))} failed; {fmt_count(ext.n_cached)} read "
              f"from the cache): {fmt_count(ext.features.shape[1])} features in all, "
              f"{fmt_count(X.shape[1])} usable whole-myocardium features, collapsed to "
              f"{fmt_count(red.X_reduced.shape[1])} representatives.")
    frag.figure(plotting.plot_phantoms(ph, n=5), "phantoms",
                f"Mid-ventricular slices of five phantoms, from the lowest (left) to the highest "
                f"(right) score on the shared factor {factor}; the orange contour is the "
                "myocardium mask. Brighter, more heterogeneous myocardium means more simulated "
                "fibrosis; the overall brightness and graininess also differ by centre.")
    eff = ph.centre_effects.rename(columns={"gain": "scanner gain", "offset": "offset",
                                            "noise_sd": "noise SD"})
    frag.table(eff, "phantom_centre_effects",
               "The simulated scanner of each centre: multiplicative gain, additive offset and "
               "Rician noise SD (arbitrary intensity units); these are what ComBat removes.")
    if len(ext.errors):
        frag.table(ext.errors, "extraction_errors",
                   "Extraction failures: patient, label or region, stage and pyradiomics' "
                   "reason.", index=False)
    eta = harm[["centre eta squared, raw", "centre eta squared, ComBat"]].median()
    top = harm.iloc[0]
    frag.text(f"Centre explains a median {fmt_num(100 * eta.iloc[0], 2)}% of a feature's "
              f"variance before ComBat and {fmt_num(100 * eta.iloc[1], 2)}% after. The feature "
              f"most correlated with {factor} after harmonisation is {harm.index[0]} (|r| = "
              f"{fmt_num(top.iloc[1], 2)}; {fmt_num(top.iloc[0], 2)} before).")
    frag.table(harm, "image_features_latent",
               f"Harmonised image features by their |Pearson r| with the shared factor {factor} "
               "(which drives the phantoms), before and after ComBat, beside the share of "
               "their variance explained by centre (eta squared) before and after.",
               max_rows=10)
    if res is None:
        return
    frag.text(_screen_text(ctx, nums, factor))
    top_pairs = res.to_frame(top=200).rename(columns={"feature_x": "image feature",
                                                      "feature_y": "gene"})
    frag.table(top_pairs, "association_image_genes_top200",
               "The 200 strongest (image feature, gene) pairs: partial r adjusted for centre "
               "and covariates, t, degrees of freedom, parametric p, within-centre permutation "
               "p, max-T family-wise p (p_fwer) and Benjamini-Hochberg q.", max_rows=15,
               index=False)
    frag.figure(plotting.plot_volcano(res), "association_image_volcano",
                "Every (image feature, gene) pair: partial correlation (x) against -log10 "
                "parametric p (y); red pairs pass the correction and, with permutations, the "
                "dashed lines mark the max-T |r| threshold. Pairs far out on both sides are image features that track the "
                "fibrosis factor and the genes it drives.")


def _why_not(ctx: StepContext, opts: Options) -> str | None:
    """The reason the step cannot run here, or None."""
    truth, cohort = ctx.truth, ctx.cohort
    if truth is None:
        return ("no simulation truth: the phantom images are generated from the simulated "
                "cohort's latent factors (demo only)")
    if "radiomics" not in cohort:
        return "the data have no radiomics view (the phantoms stand in for its patients)"
    if cohort.centre is None:
        return "the data have no centre (ComBat harmonises centres)"
    if opts.factor is not None and opts.factor not in truth.shared_factors.columns:
        return (f"factor {opts.factor!r} is not one of the simulation's shared factors "
                f"({join_words(truth.shared_factors.columns)})")
    return None


@timed_step
def run(ctx: StepContext, opts: Options | None = None) -> StepResult:
    """Phantoms -> pyradiomics -> redundancy collapse -> ComBat -> max-T screen vs genes.

    Parameters
    ----------
    ctx : StepContext
        Needs ``ctx.truth`` (the simulation's truth, :func:`data_sim.make_cohort`); the
        phantoms go to ``ctx.out_dir / "phantoms"`` and the extraction cache below it.
    opts : Options, optional

    Returns
    -------
    StepResult
        ``result``: dict with ``phantoms`` (:class:`data_sim.phantoms.PhantomSet`),
        ``extraction`` (:class:`~radiogenomics.radiomics.ExtractionResult`), ``redundancy``,
        ``harmonised`` (ComBat features), ``latent_correlation`` (table) and ``association``
        (:class:`~radiogenomics.association.AssociationResult`, None without expression).
    """
    from data_sim.phantoms import PHANTOM_PARAMS

    from ..radiomics import extract

    opts = opts or Options()
    reason = _why_not(ctx, opts)
    if reason:
        return skipped(STEP, TITLE, reason, opts)
    seed = ctx.seed()
    gen = np.random.default_rng(seed)
    factor = opts.factor or str(ctx.truth.shared_factors.columns[0])
    out = ctx.out_dir / "phantoms"
    ph, z = _phantoms(ctx, opts, factor, out, gen)
    ext = extract(ph.manifest, params=PHANTOM_PARAMS, labels={"MYO": 2},
                  regions="aha16" if opts.regions else None, n_jobs=ctx.n_jobs,
                  cache_dir=out / "cache", progress=ctx.progress)
    X, red, dropped = _clean(ext, opts.redundancy_threshold)
    cov, cov_words = _numeric_covariates(ctx.cohort, red.X_reduced.index)
    Xh, harm = _harmonise(ctx, red.X_reduced, cov, z)
    res = nums = None
    if "expression" in ctx.cohort:
        res, nums = _screen(ctx, opts, Xh, cov, factor, gen)
    versions = package_versions("pyradiomics", "SimpleITK")
    n_myo = sum(str(c).startswith("MYO_") for c in ext.features.columns)
    frag = Fragment(TITLE, citations=list(CITATIONS))
    frag.methods = _methods(ctx, opts, factor, ph, n_myo, cov_words, nums, versions)
    _report(frag, ctx, opts, factor, ph, ext, X, red, harm, res, nums)
    rec = _record(opts, factor, ext, X, red, harm, dropped, nums, versions)
    rec.seed = seed
    _findings(frag, ctx, factor, harm, nums)
    if res is None:
        frag.text("The data have no expression view: the gene screen was not run.", note=True)
        rec.warnings.append("no expression view: gene screen not run")
    return StepResult({"phantoms": ph, "extraction": ext, "redundancy": red, "harmonised": Xh,
                       "latent_correlation": harm, "association": res}, frag, rec)


def _findings(frag, ctx, factor, harm, nums) -> None:
    r = float(harm["|r| with the factor, ComBat"].iloc[0])
    frag.finding(f"From simulated images: the pyradiomics feature most correlated with the "
                 f"fibrosis factor {factor} after ComBat has |r| = {fmt_num(r, 2)}.", "check",
                 ok=r >= 0.5)
    if nums is None:
        return
    corr = "max-T FWER" if nums["n_permutations"] else "Benjamini-Hochberg FDR"
    kind = "significant" if nums["pairs_significant"] else "null"
    frag.finding(f"Image features x genes: {fmt_count(nums['pairs_significant'])} pairs pass "
                 f"{corr} <= {ctx.alpha}, involving {fmt_count(nums['genes_hit'])} gene(s), "
                 f"{fmt_count(nums['genes_hit_true'])} of them truly driven by {factor}.", kind)


def _record(opts, factor, ext, X, red, harm, dropped, nums, versions) -> StepRecord:
    failed = ext.cases.loc[ext.cases["status"] == "failed", "sample_id"]
    rec = StepRecord(STEP, TITLE, params=opts.model_dump(), versions=versions,
                     samples_used={"phantoms": int(ext.n_cases),
                                   "extracted": int(ext.n_cases - ext.n_failed)},
                     features_used={"pyradiomics": int(ext.features.shape[1]),
                                    "myocardium": int(X.shape[1]),
                                    "representatives": int(red.X_reduced.shape[1])},
                     features_dropped=dropped)
    if len(failed):
        rec.samples_dropped["extraction failed"] = {
            "n": int(len(failed)), "ids": [str(i) for i in failed],
            "reason": "pyradiomics failed on every label (see extraction_errors)"}
    eta = harm[["centre eta squared, raw", "centre eta squared, ComBat"]].median()
    rec.numbers = {"factor": factor, "n_extraction_errors": int(len(ext.errors)),
                   "median_centre_eta2_raw": float(eta.iloc[0]),
                   "median_centre_eta2_combat": float(eta.iloc[1]),
                   "max_abs_r_with_factor": float(harm["|r| with the factor, ComBat"].iloc[0]),
                   "best_feature": str(harm.index[0]), **(nums or {})}
    return rec
