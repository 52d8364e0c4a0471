"""The main job: a small but real radiogenomic analysis of the default synthetic cohort, and the
same analysis on a user's own files.

``radiogenomics demo --out DIR`` (or :func:`run_demo`) simulates the cohort
:data:`DEMO_COHORT` with :func:`data_sim.make_cohort`, validates it into a :class:`~radiogenomics.Cohort`, and writes
``DIR/report.html`` with PNG plots and CSV tables:

1. cohort summary: per-view n, per-centre n, view overlap, validation records;
2. centre effects: one-way ANOVA of every feature on centre (variance explained), with the
   per-centre distributions of the most centre-affected radiomic features;
3. imaging x expression association screen: every radiomic feature against every gene
   (log expression), adjusted for age, sex and centre, Benjamini-Hochberg FDR on the
   parametric p-values and max-T family-wise p-values from 1,000 Freedman-Lane permutations
   within centres (covariate slopes per centre);
4. imaging traits x module scores, the same screen on the small interpretable blocks;
5. CCA of imaging traits x module scores: canonical correlations with the step-down
   permutation test (age, sex, centre regressed out; permutations within centres), and the
   out-of-sample canonical correlation (10-fold) beside the optimistic in-sample one;
6. from images: a cardiac short-axis phantom per patient (``data_sim.make_phantoms``, the
   myocardial texture driven by the cohort's first shared factor, centre-specific gain and
   noise), pyradiomics features of the myocardium through :func:`radiogenomics.radiomics.extract`,
   redundancy collapse, ComBat, and a max-T screen of the harmonised image features against
   every gene, checked against the genes that truly load on that factor;
7. MOFA+ (:class:`radiogenomics.mofa.MOFA`) on radiomics (z-scored) and expression, samples
   without RNA-seq kept: variance explained per factor and view, factors against covariates,
   traits and outcomes (permutations within centres), the site-leakage check, and the
   factors' correlation with the simulation's shared factors;
8. prediction with leave-one-centre-out validation: the expression modules linked to the
   shared factors ("virtual transcriptomics", :func:`radiogenomics.penalized.predict_modules`)
   and the clinical outcomes from radiomics (in-fold ComBat, elastic net), leave-one-centre-out
   beside 5-fold, per-centre metrics with bootstrap CIs, calibration of the binary outcome;
9. Mendelian randomisation of the instrumented module on its causal trait: one-sample MR from
   the cohort's own genotypes (all samples, and exposure / outcome in two halves) and
   two-sample MR with the large GWAS summary statistics of the same instruments
   (:func:`radiogenomics.mr.harmonise`, IVW, MR-Egger, weighted median, heterogeneity,
   pleiotropy, scatter and forest plots);
10. a check against the simulation's ground truth (how many FDR hits involve features that
    truly load on the shared factors; every other section's estimates beside the true values).

``radiogenomics run CONFIG.yaml`` (or :func:`run_config`) runs the same sections on a user's
own files named in a YAML configuration (``examples/config.yaml`` documents every key): views
as CSV/TSV/Parquet tables indexed by sample ID, covariates, centre, outcomes, optional
genotypes and GWAS summary statistics.  Sections that need the simulation's ground truth (the
image phantoms, the truth checks) are demo-only; a section whose views are absent is skipped
with a note in the report; a missing file, an unknown key or a view name that is not in the
data stops the run with a :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import difflib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._checks import RadiogenomicsError

from .association import AssociationResult, associate
from .cohort import Cohort
from .qc import centre_anova
from .report import HTMLReport

__all__ = ["run_demo", "run_config", "load_config", "DemoResult", "RunResult", "ConfigError",
           "DEMO_COHORT", "MR_METHODS"]

#: The default cohort of the demo: 150 patients in 3 centres of unequal size, RNA-seq missing
#: for 15% and genotypes for 10% of them (partially paired, as real cohorts are), 300 radiomic
#: features, 2,000 genes, two shared factors with population canonical correlations 0.8 / 0.6.
DEMO_COHORT = {"n_samples": 150, "missing_rate": {"expression": 0.15, "genotypes": 0.10}}

#: MR estimators of the report (TwoSampleMR method names).
MR_METHODS = ("mr_ivw", "mr_egger_regression", "mr_weighted_median")


@dataclass
class DemoResult:
    """What the demo computed and where it wrote it.

    ``mofa``, ``prediction`` and ``mr`` hold the results of sections 7-9 (dicts, see
    :func:`run_demo`); ``truth_rows`` every comparison of an estimate with its true value.
    """

    cohort: Cohort
    truth: object
    association: AssociationResult
    trait_association: AssociationResult | None
    centre_anova: dict[str, pd.DataFrame]
    truth_check: pd.DataFrame
    report_path: Path
    seconds: float
    files: list[Path] = field(default_factory=list)
    images: dict | None = None
    mofa: dict | None = None
    prediction: dict | None = None
    mr: dict | None = None
    truth_rows: pd.DataFrame | None = None
    section_seconds: dict = field(default_factory=dict)

    def summary(self) -> str:
        lines = [repr(self.cohort), self.association.summary()]
        if self.mofa is not None:
            best = self.mofa.get("truth_correlation")
            extra = ("" if best is None else "; best |r| with the true shared factors: "
                     + ", ".join(f"{f} {best[f].max():.2f}" for f in best.columns))
            leak = self.mofa.get("leakage")
            n_flag = 0 if leak is None else int(leak["flagged"].sum())
            lines.append(f"MOFA+: {self.mofa['model'].n_factors} factors, {n_flag} flagged as "
                         f"site-driven{extra}")
        if self.prediction is not None:
            t = self.prediction["table"]
            lines.append("Prediction: " + "; ".join(
                f"{r.target} ({r.cv}) {r.metric} {r.estimate:.2f}" for r in t.itertuples()))
        if self.mr is not None and self.mr.get("estimates") is not None:
            e = self.mr["estimates"]
            ivw = e[e["method"] == "Inverse variance weighted"]
            lines.append("MR (IVW): " + "; ".join(
                f"{r.design}: {r.b:.3g} [{r.lower:.3g}, {r.upper:.3g}]" for r in ivw.itertuples()))
        lines.append(f"Demo finished in {self.seconds:.1f} s; {len(self.files)} files written.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"DemoResult(report={str(self.report_path)!r}, {self.seconds:.1f} s)"


@dataclass
class RunResult:
    """What ``radiogenomics run`` computed: ``results`` maps a section key to its result;
    ``skipped`` lists (section, reason) for the sections that did not apply to the data."""

    cohort: Cohort
    config: dict
    report_path: Path
    seconds: float
    files: list[Path] = field(default_factory=list)
    results: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)

    def summary(self) -> str:
        lines = [repr(self.cohort), f"Sections run: {', '.join(self.results) or 'none'}"]
        for title, why in self.skipped:
            lines.append(f"  skipped {title}: {why}")
        lines.append(f"Finished in {self.seconds:.1f} s; {len(self.files)} files written.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"RunResult(report={str(self.report_path)!r}, {self.seconds:.1f} s)"


# ================================================================================ machinery

@dataclass
class _Context:
    """Shared state of the report sections (numbering, seeds, skipped sections, truth rows)."""

    rep: HTMLReport
    cohort: Cohort
    truth: object | None
    gen: np.random.Generator
    out_dir: Path
    alpha: float = 0.05
    n_permutations: int = 1000
    n_jobs: int = 2
    number: int = 0
    skipped: list = field(default_factory=list)
    truth_rows: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)

    def section(self, title: str) -> None:
        self.number += 1
        self.rep.heading(f"{self.number}. {title}")

    def skip(self, title: str, reason: str) -> None:
        self.skipped.append((title, reason))
        self.rep.text(f"{title}: skipped ({reason}).", note=True)

    def seed(self) -> int:
        return int(self.gen.integers(2**31 - 1))

    def perm(self) -> dict:
        within = bool(self.n_permutations) and self.cohort.centre is not None
        return dict(n_permutations=self.n_permutations, rng=self.gen, fdr_on="parametric",
                    exchangeability_blocks="centre" if within else None,
                    covariates_by_block=within)

    def add_truth(self, analysis: str, quantity: str, estimate, truth, agrees=None,
                  note: str = "") -> None:
        self.truth_rows.append({"analysis": analysis, "quantity": quantity,
                                "estimate": estimate, "truth": truth,
                                "agrees": "" if agrees is None else ("yes" if agrees else "no"),
                                "note": note})


def _timed(ctx: _Context, key: str, fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(ctx, *args, **kwargs)
    ctx.seconds[key] = time.perf_counter() - t0
    return out


def _covariate_frame(cohort: Cohort, ids) -> pd.DataFrame:
    """Numeric age / male columns for ComBat from the demo cohort's covariates."""
    cov = cohort.covariates.reindex(ids)
    return pd.DataFrame({"age": cov["age"].astype(float),
                         "male": (cov["sex"].astype(str) == "M").astype(float)}, index=ids)


def _r2_on(Y: pd.DataFrame, F: pd.DataFrame) -> pd.Series:
    """In-sample R2 of every column of ``Y`` regressed (OLS, intercept) on ``F``."""
    ids = Y.index.intersection(F.index)
    A = np.column_stack([np.ones(len(ids)), F.loc[ids].to_numpy(float)])
    Yv = Y.loc[ids].to_numpy(float)
    B = np.linalg.lstsq(A, Yv, rcond=None)[0]
    res = Yv - A @ B
    tot = ((Yv - Yv.mean(axis=0)) ** 2).sum(axis=0)
    return pd.Series(1 - (res ** 2).sum(axis=0) / np.where(tot > 0, tot, np.nan),
                     index=Y.columns)


# ================================================================================ sections 1-5

def _cohort_section(ctx: _Context) -> None:
    from . import plotting

    rep, cohort = ctx.rep, ctx.cohort
    ctx.section("Cohort")
    summ = cohort.summary()
    rep.preformatted(repr(cohort))
    rep.table(summ.views, "cohort_views.csv")
    rep.table(summ.centres, "cohort_centres.csv")
    rep.text("Samples shared by each pair of views:")
    rep.table(summ.overlap, "cohort_overlap.csv")
    rep.figure(plotting.plot_cohort_overview(summ), "cohort_overview.png")
    val = cohort.report.to_frame()
    rep.text(f"Validation records (samples/features removed or imputed): {len(val)}.")
    if len(val):
        rep.table(val, "validation_report.csv")


def _centre_section(ctx: _Context, views) -> dict | None:
    from . import plotting

    rep, cohort = ctx.rep, ctx.cohort
    title = "Per-centre distributions"
    if cohort.centre is None:
        ctx.skip(title, "the data have no centre")
        return None
    absent = [v for v in views if v not in cohort]
    views = [v for v in views if v in cohort]
    if not views:
        ctx.skip(title, f"view(s) {', '.join(absent)} not in the data")
        return None
    ctx.section(title)
    if absent:
        rep.text(f"View(s) {', '.join(absent)} not in the data: not shown.", note=True)
    anova = {v: centre_anova(cohort, v) for v in views}
    for v, tab in anova.items():
        sig = (tab["pvalue"] <= 0.05).mean()
        rep.text(
            f"{v}: median variance explained by centre {tab['eta2'].median():.3f}; "
            f"{100 * sig:.0f}% of {len(tab)} features differ between centres at p <= 0.05."
        )
    rep.figure(plotting.plot_centre_effects(anova), "centre_effects.png")
    first = views[0]
    top = anova[first].sort_values("eta2", ascending=False)
    rep.table(top.head(200), f"centre_anova_{first}.csv", max_rows=10)
    rep.figure(
        plotting.plot_centre_distributions(cohort, first, list(top.index[:6])),
        f"centre_distributions_{first}.png",
        caption=f"The six {first} features most affected by centre (before harmonisation).",
    )
    return anova


def _association_section(ctx: _Context, x: str, y: str, title: str, detail: bool = True,
                         prefix: str | None = None, top: int = 1000) -> AssociationResult | None:
    from . import plotting

    rep, cohort = ctx.rep, ctx.cohort
    absent = [v for v in (x, y) if v not in cohort]
    if absent:
        ctx.skip(title, f"view(s) {', '.join(absent)} not in the data")
        return None
    ctx.section(title)
    alpha, n_perm = ctx.alpha, ctx.n_permutations
    res = associate(cohort, x=x, y=y, alpha=alpha, **ctx.perm())
    rep.preformatted(res.summary())
    stem = f"association_{x}_{y}"
    if not detail:
        rep.table(res.to_frame(), f"{stem}.csv", max_rows=20, index=False)
        return res
    prefix = prefix or stem
    within = cohort.centre is not None
    if n_perm:
        n_fwer = int((res.p_fwer.to_numpy() <= alpha).sum())
        rep.text(
            f"Max-T over all {res.n_tests} pairs ({n_perm} Freedman-Lane permutations of "
            f"the {y} residuals{' within centres' if within else ''}"
            f"{', covariate slopes fitted per centre' if within else ''}): "
            f"{n_fwer} pairs with family-wise "
            f"p <= {alpha} (|r| > {res.fwer_threshold():.3f}). BH q-values use the parametric "
            f"p-values here: with {n_perm:,} permutations no permutation p-value is small enough "
            "for BH over this many pairs.")
    tab = res.to_frame(top=top)
    rep.table(tab, f"{stem}_top{top}.csv", max_rows=25, index=False)
    sig_tab = res.to_frame(significant_only=True)
    rep.csv(sig_tab, f"{stem}_fdr.csv")
    rep.text(f"All {len(sig_tab)} pairs with q <= {alpha}: {stem}_fdr.csv", note=True)
    rep.figure(plotting.plot_volcano(res), f"{prefix}_volcano.png")
    rep.figure(plotting.plot_top_pairs_heatmap(res, top=20), f"{prefix}_top_pairs.png")
    rep.figure(plotting.plot_pvalue_histogram(res), f"{prefix}_pvalues.png")
    if n_perm:
        rep.figure(plotting.plot_null_max(res), f"{prefix}_null_max.png",
                   caption="Max-T null: the largest |t| over all pairs in each permutation.")
    return res


def _cca_section(ctx: _Context, x: str, y: str, title: str, n_components: int = 3,
                 cv_folds: int = 10, cv_permutations: int = 199):
    from . import plotting
    from .cca import CCA, cca_permutation_test, cross_validated_correlation

    rep, cohort, gen = ctx.rep, ctx.cohort, ctx.gen
    absent = [v for v in (x, y) if v not in cohort]
    if absent:
        ctx.skip(title, f"view(s) {', '.join(absent)} not in the data")
        return None
    if not ctx.n_permutations:
        ctx.skip(title, "the permutation test needs permutations > 0")
        return None
    ctx.section(title)
    tm = cohort.paired(x, y)
    Xt, Ym = tm
    parts = [p for p in (tm.covariates,
                         None if tm.centre is None else tm.centre.rename("centre").to_frame())
             if p is not None]
    adjust = pd.concat(parts, axis=1) if parts else None
    k = min(n_components, Xt.shape[1], Ym.shape[1])
    result = cca_permutation_test(CCA(n_components=k, scale=True), Xt, Ym,
                                  n_permutations=ctx.n_permutations, covariates=adjust,
                                  exchangeability_blocks=tm.centre, rng=gen)
    cv = cross_validated_correlation(CCA(n_components=1, scale=True), Xt, Ym, cv=cv_folds,
                                     covariates=adjust, n_permutations=cv_permutations,
                                     exchangeability_blocks=tm.centre, rng=gen)
    rep.preformatted(result.summary() + "\n" + cv.summary())
    rep.table(result.to_frame(), f"cca_{x}_{y}.csv", index=False)
    rep.text("Canonical correlations are maximised on the data they are computed from, so in "
             "small samples they are optimistic; the out-of-sample value (weights from "
             f"{cv_folds - 1} folds applied to the remaining one) is the honest estimate, tested "
             "against its own permutation null.", note=True)
    rep.figure(plotting.plot_cca_scree(result), "cca_scree.png")
    return {"test": result, "cross_validated": cv}


# ================================================================================ 6. images

def _image_section(ctx: _Context) -> dict:
    """Phantoms -> pyradiomics -> redundancy collapse -> ComBat -> gene screen."""
    from data_sim.phantoms import PHANTOM_PARAMS, make_phantoms

    from . import plotting
    from .features import collapse_redundant
    from .harmonize import ComBat
    from .radiomics import extract

    rep, cohort, truth, out_dir, gen = ctx.rep, ctx.cohort, ctx.truth, ctx.out_dir, ctx.gen
    alpha, n_permutations = ctx.alpha, ctx.n_permutations
    ctx.section("From images: phantoms, pyradiomics, ComBat, association with genes")
    ids = cohort["radiomics"].index
    factor = truth.shared_factors.columns[0]
    z = truth.shared_factors[factor].reindex(ids)
    z = (z - z.mean()) / z.std(ddof=0)
    ph = make_phantoms(out_dir / "phantoms", sample_ids=ids, fibrosis=z,
                       centre=truth.centre.reindex(ids), sex=truth.covariates["sex"].reindex(ids),
                       regions=True, rng=gen)
    ext = extract(ph.manifest, params=PHANTOM_PARAMS, labels={"MYO": 2}, regions="aha16",
                  n_jobs=ctx.n_jobs, cache_dir=out_dir / "phantoms" / "cache")
    rep.text(
        f"One short-axis stack per patient ({len(ids)} phantoms, 8 slices, 1.5 x 1.5 x 8 mm): LV "
        f"myocardial texture and scar fraction follow the standardised shared factor {factor} "
        "(which also drives gene expression), wall thickness follows sex, and each centre has "
        "its own scanner gain and noise level. pyradiomics "
        f"{ext.provenance['pyradiomics_version']} features of the myocardium and of its 16 AHA "
        "segments (first order, shape, GLCM, GLRLM, GLSZM; bin count 32).")
    rep.figure(plotting.plot_phantoms(ph, n=5), "phantoms.png",
               caption=f"Mid-ventricular slices from the lowest to the highest {factor} score; "
                       "orange: myocardium mask.")
    rep.preformatted(ext.summary())
    rep.table(ph.centre_effects.round(3), "phantom_centre_effects.csv")
    if len(ext.errors):
        rep.table(ext.errors, "extraction_errors.csv", index=False)
    X = ext.features.dropna(axis=1)
    const = X.columns[X.std() == 0]
    X = X.drop(columns=const)
    myo = X[[c for c in X.columns if c.startswith("MYO_")]]
    red = collapse_redundant(myo, threshold=0.9)
    Xr = red.X_reduced
    rep.text(f"{myo.shape[1]} myocardial features ({len(const)} constant features dropped); "
             f"{len(red.removed)} collapsed into {Xr.shape[1]} representatives "
             "(|Spearman r| >= 0.9, complete linkage); what was removed and why: "
             "image_features_removed.csv.")
    rep.csv(red.removed, "image_features_removed.csv")
    cov_num = _covariate_frame(cohort, Xr.index)
    centre = cohort.centre.reindex(Xr.index)
    Xh = ComBat().fit_transform(Xr, centre, cov_num)
    eta_before = centre_anova(Xr, centre=centre)["eta2"]
    eta_after = centre_anova(Xh, centre=centre)["eta2"]
    r_lat = pd.DataFrame({"|r| with latent factor, raw": Xr.corrwith(z).abs(),
                          "|r| after ComBat": Xh.corrwith(z).abs(),
                          "centre eta2, raw": eta_before, "centre eta2 after ComBat": eta_after})
    r_lat = r_lat.sort_values("|r| after ComBat", ascending=False)
    rep.text(f"Variance explained by centre, median over features: {eta_before.median():.3f} "
             f"raw, {eta_after.median():.3f} after ComBat (age and sex preserved). Largest "
             f"|correlation| of a harmonised feature with the latent factor {factor}: "
             f"{r_lat['|r| after ComBat'].iloc[0]:.3f} ({r_lat.index[0]}).")
    rep.table(r_lat.round(3), "image_features_latent.csv", max_rows=10)
    ctx.add_truth("from images", f"largest |r| of a harmonised image feature with {factor}",
                  float(r_lat["|r| after ComBat"].iloc[0]), 1.0)
    expr = cohort["expression"] if "expression" in cohort else None
    out = {"phantoms": ph, "extraction": ext, "harmonised": Xh, "latent_correlation": r_lat,
           "association": None}
    if expr is None:
        return out
    both = Xh.index.intersection(expr.index)
    perm = dict(n_permutations=n_permutations, rng=gen, correction="maxT" if n_permutations
                else "fdr_bh", exchangeability_blocks=centre.reindex(both) if n_permutations
                else None, covariates_by_block=bool(n_permutations))
    cov_adj = pd.get_dummies(centre.reindex(both), prefix="centre", drop_first=True,
                             dtype=float).join(cov_num.reindex(both))
    res = associate(Xh.reindex(both), expr.reindex(both), covariates=cov_adj, alpha=alpha,
                    **perm)
    rep.preformatted(res.summary())
    truly = truth.loadings["expression"][factor].reindex(res.r.columns).fillna(0).to_numpy() != 0
    sig = res.adjusted.to_numpy() <= alpha
    hit_genes = sig.any(axis=0)
    rep.text(f"{int(sig.sum())} (feature, gene) pairs significant "
             f"({'max-T FWER' if n_permutations else 'BH FDR'} <= {alpha}) involving "
             f"{int(hit_genes.sum())} genes, of which {int((hit_genes & truly).sum())} truly load "
             f"on {factor} (truth: {int(truly.sum())} of {len(truly)} genes do).")
    rep.table(res.to_frame(top=200), "association_image_features_genes_top200.csv",
              max_rows=15, index=False)
    rep.figure(plotting.plot_volcano(res), "association_image_volcano.png")
    out["association"] = res
    out["truth"] = {"pairs_significant": int(sig.sum()), "genes_hit": int(hit_genes.sum()),
                    "genes_hit_true": int((hit_genes & truly).sum()),
                    "genes_true": int(truly.sum())}
    return out


# ================================================================================ 7. MOFA+

def _mofa_section(ctx: _Context, views=("radiomics", "expression"), n_factors: int = 8,
                  standardize=("radiomics",), correlate_with=("covariates", "traits", "outcomes"),
                  n_permutations: int | None = None, convergence: str = "fast") -> dict | None:
    from . import plotting
    from .mofa import MOFA

    rep, cohort, truth = ctx.rep, ctx.cohort, ctx.truth
    title = "MOFA+ factor analysis"
    absent = [v for v in views if v not in cohort]
    have = [v for v in views if v in cohort]
    if not have:
        ctx.skip(title, f"view(s) {', '.join(absent)} not in the data")
        return None
    n_perm = ctx.n_permutations if n_permutations is None else int(n_permutations)
    ctx.section(f"MOFA+ factor analysis of {' + '.join(have)}")
    if absent:
        rep.text(f"View(s) {', '.join(absent)} not in the data: fitted on {', '.join(have)}.",
                 note=True)
    std = [v for v in standardize if v in have]
    model = MOFA(n_factors=n_factors, standardize=std, convergence=convergence, rng=ctx.seed())
    res = model.fit(cohort, views=have)
    pres = res.view_presence
    partial = ", ".join(f"{int((~pres[v]).sum())} without {v}" for v in pres.columns
                        if (~pres[v]).any())
    rep.text(
        f"MOFA+ (mofapy2) with {n_factors} factors on the views as they are (no harmonisation, "
        "no covariate adjustment), "
        + (f"features of {', '.join(std)} z-scored, " if std else "")
        + "every view scaled to unit total variance. Samples missing a whole view stay in the "
        "model (their cells are treated as missing)"
        + (f": {partial}." if partial else "."))
    rep.preformatted(res.summary())
    fig = plotting.plot_mofa_variance_explained(res)
    w, h = fig.get_size_inches()
    fig.set_size_inches(w + 1.2, h + 0.8)  # room for the factor and view labels
    fig.subplots_adjust(left=0.25, bottom=0.22, right=0.78, top=0.92)
    rep.figure(fig, "mofa_variance_explained.png",
               caption="Variance explained (%) by each factor in each view.")
    rep.table(res.r2_table().round(3), "mofa_variance_explained.csv")
    out: dict = {"model": res, "truth_correlation": None, "associations": None, "leakage": None}
    if cohort.centre is not None and res.n_factors >= 2:
        rep.figure(plotting.plot_mofa_factors(res, color=cohort.centre.rename("centre"),
                                              factors=(1, 2)),
                   "mofa_factors_by_centre.png", caption="Factors 1 and 2, coloured by centre.")

    # factors against covariates, traits and outcomes
    parts, missing_src = [], []
    for src in correlate_with:
        if src == "covariates":
            df = cohort.covariates
        elif src == "outcomes":
            df = cohort.outcomes
        else:
            df = cohort[src] if src in cohort else None
        if df is None:
            missing_src.append(src)
            continue
        coded = {}
        for c in df.columns:
            col = df[c]
            if (not pd.api.types.is_numeric_dtype(col) and col.dtype != bool
                    and col.dropna().astype(str).nunique() > 2):
                for lev, d in pd.get_dummies(col.astype(str), prefix=c, dtype=float).items():
                    coded[lev] = d.where(col.notna())
            else:
                coded[c] = col
        parts.append(pd.DataFrame(coded, index=df.index))
    if parts:
        cov = pd.concat(parts, axis=1)
        if cov.columns.has_duplicates:
            cov = cov.loc[:, ~cov.columns.duplicated()]
        blocks = cohort.centre if cohort.centre is not None else None
        fa = res.correlate(cov, n_permutations=n_perm, exchangeability_blocks=blocks,
                           rng=ctx.gen, alpha=ctx.alpha)
        out["associations"] = fa
        rep.text(
            f"Active factors against {', '.join(s for s in correlate_with if s not in missing_src)}"
            f" ({len(cov.columns)} variables; Pearson r, "
            + (f"{n_perm} permutations{' within centres' if blocks is not None else ''}, "
               if n_perm else "parametric p-values, ")
            + "BH q-values over all pairs):")
        rep.preformatted(fa.summary())
        rep.table(fa.matrix("r").round(3), "mofa_factor_correlations_r.csv", max_rows=40)
        rep.csv(fa.to_frame(), "mofa_factor_correlations.csv")
    if missing_src:
        rep.text(f"Not in the data, so not correlated: {', '.join(missing_src)}.", note=True)

    # site leakage
    if cohort.centre is not None:
        lk = res.leakage(centre=cohort.centre, n_permutations=max(n_perm, 99), rng=ctx.gen,
                         alpha=ctx.alpha)
        out["leakage"] = lk
        flagged = list(lk.index[lk["flagged"]])
        rep.text(
            "Site leakage: share of each factor's variance between centres (eta2, permutation "
            "p-value) and the cross-validated accuracy of predicting centre from the factor alone "
            "beside the majority-class rate. "
            + (f"Flagged (eta2 >= 0.2 and p <= {ctx.alpha}): {', '.join(flagged)}: these factors "
               "mainly encode the centre (section 2's location/scale effects) and should be "
               "harmonised away (ComBat, or groups='centre') rather than interpreted biologically."
               if flagged else "No factor is flagged as encoding the centre."))
        rep.table(lk.round(3), "mofa_leakage.csv")

    # truth
    if truth is not None:
        Z = res.factors
        F = truth.shared_factors.reindex(Z.index)
        R = pd.DataFrame({f: Z.corrwith(F[f]).abs() for f in F.columns})
        out["truth_correlation"] = R
        share = {}
        for v in have:
            Xv = cohort[v]
            share[v] = 100 * float(_r2_on(Xv, truth.shared_factors).mean())
        out["truth_variance_share"] = share
        best = {f: (R[f].idxmax(), float(R[f].max())) for f in R.columns}
        rep.text("|correlation| of every factor with the simulation's shared factors "
                 "(mofa_truth_correlation.csv):")
        rep.table(R.round(3), "mofa_truth_correlation.csv")
        recovered = [f for f, (_, r) in best.items() if r >= 0.7]
        rep.text(
            "Best match per shared factor: "
            + "; ".join(f"{f}: {k} (|r| = {r:.2f})" for f, (k, r) in best.items()) + ". "
            + "On average over features, the true shared factors explain "
            + ", ".join(f"{s:.1f}% of {v}" for v, s in share.items())
            + f" (in-sample R2 on {', '.join(F.columns)}), against "
            + ", ".join(f"{v:.1f}% of {k}" for k, v in res.r2_total.iloc[:, 0].items())
            + " for the whole model. "
            + ("MOFA+ orders factors by the variance they explain in the views, not by the "
               "correlation between views that CCA maximises; here the centre and age effects "
               "(flagged and correlated above) and view-specific structure explain more "
               "variance than the sparse shared factors, which are therefore not among the "
               f"{n_factors} factors." if not recovered else
               f"{', '.join(recovered)} recovered (|r| >= 0.7)."))
        fa = out["associations"]
        if fa is not None and "age" in set(fa.table["covariate"]):
            a = fa.table[fa.table["covariate"] == "age"]
            top = a.loc[a["r"].abs().idxmax()]
            out["age_factor"] = (top["factor"], float(abs(top["r"])))
            rep.text(f"Age, which the simulation lets act on every feature of both views, is "
                     f"captured by {top['factor']} (|r| = {abs(top['r']):.2f}).")
            ctx.add_truth("MOFA+", "best |r| of a factor with age (acts on every feature)",
                          float(abs(top["r"])), 1.0, agrees=abs(top["r"]) >= 0.7,
                          note=str(top["factor"]))
        for f, (k, r) in best.items():
            ctx.add_truth("MOFA+", f"best |r| of a factor with shared factor {f}", r, 1.0,
                          agrees=r >= 0.7,
                          note=f"{k}; {f} explains "
                               + ", ".join(f"{s:.1f}% of {v}" for v, s in share.items()))
    return out


# ================================================================================ 8. prediction

def _main_metric(kind: str) -> str:
    return "auroc" if kind == "binary" else "r2"


def _prediction_section(ctx: _Context, x="radiomics", targets=None, cv=("loco", 5),
                        cv_binary=None, alpha: float = 0.5, covariates=None, n_boot: int = 500,
                        binary_n_lambda: int = 20) -> dict | None:
    from . import plotting
    from .penalized import make_pipeline, predict_modules, predict_view
    from .validation import cross_validate, design_matrix

    rep, cohort, truth = ctx.rep, ctx.cohort, ctx.truth
    title = "Prediction with leave-one-centre-out validation"
    xs = [x] if isinstance(x, str) else list(x)
    absent = [v for v in xs if v not in cohort]
    if absent:
        ctx.skip(title, f"predictor view(s) {', '.join(absent)} not in the data")
        return None
    targets = dict(targets or {})
    todo, notes = [], []
    for src, cols in targets.items():
        if src == "outcomes":
            frame = cohort.outcomes
        else:
            frame = cohort[src] if src in cohort else None
        if frame is None:
            notes.append(f"{src} not in the data")
            continue
        cols = list(frame.columns) if cols in (None, "all") else list(cols)
        bad = [c for c in cols if c not in frame.columns]
        if bad:
            raise ConfigError(f"prediction targets {bad} are not columns of {src!r} "
                              f"(it has {', '.join(map(str, frame.columns[:8]))}...)")
        todo += [(src, c) for c in cols]
    if not todo:
        ctx.skip(title, "no prediction target in the data" + (f" ({'; '.join(notes)})"
                                                              if notes else ""))
        return None
    cvs = list(cv)
    if cohort.centre is None and "loco" in cvs:
        cvs = [c for c in cvs if c != "loco"]
        notes.append("no centre, so no leave-one-centre-out validation")
    if not cvs:
        ctx.skip(title, "; ".join(notes))
        return None
    cvs_bin = cvs if cv_binary is None else [c for c in cv_binary
                                             if c != "loco" or cohort.centre is not None]
    covs = (list(cohort.covariates.columns) if covariates is None and cohort.covariates is not None
            else list(covariates or []))
    harmonize = cohort.centre is not None
    xname = "+".join(xs)
    ctx.section(title)
    rep.text(
        f"Each target predicted from {xname} by an elastic net (glmnet alpha = {alpha}, lambda by "
        "inner 5-fold CV) after "
        + (f"ComBat fitted on the training rows only ({', '.join(covs) or 'no covariates'} "
           "preserved; a held-out centre is harmonised from its own features, label-free)"
           if harmonize else "no harmonisation (no centre)")
        + ". Leave-one-centre-out asks whether the model holds in a centre it never saw; "
          "k-fold mixes centres in training and test. 95% bootstrap CIs, resampling within "
          "centres.")
    if notes:
        rep.text("Not predicted: " + "; ".join(notes) + ".", note=True)
    rows, by_centre, results = [], [], {}
    for src, tgt in todo:
        y_obs = (cohort.outcomes[tgt] if src == "outcomes" else cohort[src][tgt]).dropna()
        binary = bool(y_obs.isin([0, 1]).all() and y_obs.nunique() == 2)
        for c in (cvs_bin if binary else cvs):
            seed = ctx.seed()
            if src != "outcomes" and not binary:
                fn = predict_modules if src == "modules" else predict_view
                kw = {} if src == "modules" else {"y": src}
                task = fn(cohort, xs if len(xs) > 1 else xs[0], targets=[tgt], cv=c,
                          alpha=alpha, harmonize=harmonize, covariates=tuple(covs),
                          n_boot=n_boot, rng=seed, progress=False, **kw)
                res = task.results[tgt]
                n_sel = int(task.table.at[tgt, "n_features_selected"])
                sel_note = "final model on all samples"
            else:
                X, y = design_matrix(cohort, xs, tgt, target_view=None if src == "outcomes"
                                     else src, covariates=tuple(covs),
                                     include_centre=harmonize)
                pipe = make_pipeline(family="binomial" if binary else "gaussian", alpha=alpha,
                                     harmonize=harmonize, covariates=tuple(covs), rng=seed)
                if binary:
                    pipe.set_params(model__n_lambda=binary_n_lambda)
                res = cross_validate(pipe, X, y, c, n_boot=n_boot, rng=seed,
                                     return_estimators=True, progress=False)
                n_sel = int(np.median([len(e.named_steps["model"].selected_features_)
                                       for e in res.estimators]))
                sel_note = "median over folds"
            results[(src, tgt, res.cv)] = res
            main = _main_metric(res.kind)
            m = res.metrics[res.metrics["breakdown"] == "all"].set_index("metric")
            row = {"target": tgt, "source": src, "cv": res.cv, "metric": main,
                   "estimate": m.at[main, "estimate"], "lower": m.at[main, "lower"],
                   "upper": m.at[main, "upper"], "n": int(m.at[main, "n"]),
                   "features_selected": n_sel, "features_note": sel_note}
            if res.kind == "binary" and "auroc_within_centre" in m.index:
                row["auroc_within_centre"] = m.at["auroc_within_centre", "estimate"]
            if res.kind == "continuous":
                row["pearson_r"] = m.at["pearson_r", "estimate"]
            rows.append(row)
            if res.cv == "leave-one-centre-out":
                g = res.metrics[(res.metrics["breakdown"] == "centre")
                                & (res.metrics["metric"] == main)]
                for r in g.itertuples():
                    by_centre.append({"target": tgt, "centre": str(r.group), "metric": main,
                                      "estimate": r.estimate, "lower": r.lower,
                                      "upper": r.upper, "n": int(r.n)})
    table = pd.DataFrame(rows)
    rep.table(table.round(3), "prediction_summary.csv", index=False)
    loco = pd.DataFrame(by_centre)
    out = {"table": table, "loco_by_centre": loco, "results": results}
    if len(loco):
        rep.text("Leave-one-centre-out, each centre predicted by a model trained on the others "
                 "(one row per target and held-out centre):")
        rep.table(loco.round(3), "prediction_loco_by_centre.csv", index=False, max_rows=40)
        import matplotlib.pyplot as plt

        loco_res = [(k, r) for k, r in results.items() if k[2] == "leave-one-centre-out"]
        fig, axes = plt.subplots(len(loco_res), 1, figsize=(5.2, 1.3 + 1.25 * len(loco_res)),
                                 squeeze=False)
        for ax, ((src, tgt, _), r) in zip(axes[:, 0], loco_res):
            plotting.plot_validation_by_group(r, ax=ax)
            ax.set_title(tgt, fontsize=8)
        rep.figure(fig, "prediction_loco_by_centre.png",
                   caption="Leave-one-centre-out: each held-out centre's R2 (continuous) or "
                           "AUROC (binary) with its 95% bootstrap CI, beside the pooled value "
                           "('all').")
        shift = [t for t in table.itertuples() if t.cv == "leave-one-centre-out"
                 and t.metric == "r2" and t.source != "outcomes" and t.estimate < 0]
        if shift and cohort.centre is not None:
            eta = {t.target: float(centre_anova(cohort[t.source][[t.target]],
                                                centre=cohort.centre.reindex(
                                                    cohort[t.source].index))["eta2"].iloc[0])
                   for t in shift}
            rep.text(
                "Negative R2 under leave-one-centre-out: "
                + "; ".join(f"{k}: centre explains {100 * v:.0f}% of its variance" for k, v in
                            eta.items())
                + ". The per-centre R2 compares the predictions with that centre's own mean, so "
                  "a model that learnt nothing useful (few or no features kept) still predicts "
                  "the other centres' level and is penalised for the shift; k-fold hides this "
                  "because every centre is in the training folds. Harmonise the target too, or "
                  "read the within-centre correlation.", note=True)
    for (src, tgt, cvname), r in results.items():
        if r.kind == "binary" and cvname == "leave-one-centre-out":
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", str(tgt))
            rep.figure(plotting.plot_calibration(r), f"prediction_calibration_{safe}.png",
                       caption=f"{tgt}, leave-one-centre-out: observed event rate against mean "
                               "predicted risk (Wilson 95% CIs).")
            if "auroc_within_centre" in r.metrics["metric"].values:
                rep.text(
                    f"{tgt}: pooled AUROC {r.metric('auroc'):.3f}, within-centre AUROC "
                    f"{r.metric('auroc_within_centre'):.3f}. Every held-out centre is predicted "
                    "with the other centres' base rate, so with event rates that differ by "
                    "centre the pooled AUROC mixes calibration-in-the-large into discrimination;"
                    " the within-centre AUROC compares patients of the same centre only.",
                    note=True)

    if truth is not None:
        F = truth.shared_factors
        for src, tgt in todo:
            yv = (cohort.outcomes[tgt] if src == "outcomes" else cohort[src][tgt]).dropna()
            sub = table[table["target"] == tgt]
            binary = bool(yv.isin([0, 1]).all() and yv.nunique() == 2)
            if binary:
                from .metrics import auroc

                ids = yv.index.intersection(F.index)
                A = np.column_stack([np.ones(len(ids)), F.loc[ids].to_numpy(float)])
                score = A @ np.linalg.lstsq(A, yv.loc[ids].to_numpy(float), rcond=None)[0]
                ceiling, what = float(auroc(yv.loc[ids].to_numpy(float), score)), "AUROC"
            else:
                ceiling, what = float(_r2_on(yv.to_frame(), F).iloc[0]), "R2"
            for r in sub.itertuples():
                ctx.add_truth("prediction", f"{tgt} {what} ({r.cv})", float(r.estimate), ceiling,
                              note="truth: in-sample " + what + " of the target on the true "
                                   "shared factors (the most an imaging model that captures "
                                   "them can reach)")
    return out


# ================================================================================ 9. MR

def _mr_table(res: pd.DataFrame, design: str) -> pd.DataFrame:
    t = res[["method", "nsnp", "b", "se", "pval"]].copy()
    t.insert(0, "design", design)
    t["lower"] = t["b"] - 1.959964 * t["se"]
    t["upper"] = t["b"] + 1.959964 * t["se"]
    return t


def _observational(cohort: Cohort, exposure: str, outcome: str) -> pd.DataFrame:
    """OLS slope of ``outcome`` on ``exposure``, adjusted for covariates and centre (the
    confounded association MR is compared with), in the MR table's columns."""
    from scipy import stats

    from .association import design_matrix, residualise
    from .mr.individual import _trait

    x, y = _trait(cohort, exposure, None), _trait(cohort, outcome, None)
    ids = x.dropna().index.intersection(y.dropna().index)
    centre = (cohort.centre.loc[ids] if cohort.centre is not None
              and cohort.centre.loc[ids].nunique() > 1 else None)
    cov = cohort.covariates.loc[ids] if cohort.covariates is not None else None
    Z = design_matrix(cov, ids, centre).to_numpy()
    r = residualise(np.column_stack([x.loc[ids].to_numpy(float), y.loc[ids].to_numpy(float)]), Z)
    sxx = float(r[:, 0] @ r[:, 0])
    b = float(r[:, 0] @ r[:, 1]) / sxx
    dof = len(ids) - Z.shape[1] - 1
    se = float(np.sqrt((r[:, 1] @ r[:, 1] - b * b * sxx) / dof / sxx))
    return pd.DataFrame([{"design": "observational (OLS, adjusted)", "method": "OLS",
                          "nsnp": 0, "b": b, "se": se,
                          "pval": float(2 * stats.t.sf(abs(b / se), dof)),
                          "lower": b - 1.959964 * se, "upper": b + 1.959964 * se}])


def _mr_section(ctx: _Context, exposure: str | None, outcome: str | None,
                genotypes: str = "genotypes", split: bool = True, methods=MR_METHODS,
                summary_statistics=None, summary_label: str = "GWAS summary statistics",
                nboot: int = 1000) -> dict | None:
    from . import mr as M
    from . import plotting

    rep, cohort, truth = ctx.rep, ctx.cohort, ctx.truth
    title = "Mendelian randomisation"
    if exposure is None or outcome is None:
        ctx.skip(title, "name the exposure and the outcome (analyses.mr.exposure / outcome)")
        return None
    have_geno = genotypes in cohort
    if not have_geno and summary_statistics is None:
        ctx.skip(title, f"no {genotypes!r} view and no GWAS summary statistics")
        return None
    ctx.section(f"{title}: {exposure} -> {outcome}")
    methods = list(methods)
    tables, het, plei, strength, out = [], [], [], [], {"data": {}}
    designs = []
    if have_geno:
        dat = M.mr_input_from_cohort(cohort, exposure, outcome, genotypes=genotypes)
        designs.append(("one-sample, all samples", dat))
        if split:
            dat_s = M.mr_input_from_cohort(cohort, exposure, outcome, genotypes=genotypes,
                                           split=True, rng=ctx.gen)
            designs.append(("one-sample, exposure and outcome in two halves", dat_s))
        n_ex = int(dat["samplesize.exposure"].iloc[0])
        n_out = int(dat["samplesize.outcome"].iloc[0])
        rep.text(
            f"One-sample MR from the cohort's {cohort[genotypes].shape[1]} genotyped SNPs: "
            f"per-SNP OLS of {exposure} (n = {n_ex}) and of {outcome} (n = {n_out}) on the "
            "allele dosage, adjusted for the covariates"
            + (" and centre" if cohort.centre is not None else "")
            + (". In the split design the two regressions use disjoint random halves "
               "(no sample overlap, so weak-instrument bias is towards the null rather than "
               "towards the confounded observational association)." if split else "."))
    else:
        rep.text(f"No {genotypes!r} view: one-sample MR skipped.", note=True)
    if summary_statistics is not None:
        exp_df, out_df = summary_statistics
        h = M.harmonise(exp_df, out_df)
        keep = h["mr_keep"].astype(bool)
        reasons = h.loc[~keep, "mr_keep_reason"].value_counts()
        rep.text(
            f"Two-sample MR with {summary_label} ({len(exp_df)} exposure SNPs, n = "
            f"{int(exp_df['samplesize.exposure'].iloc[0]):,}; outcome n = "
            f"{int(out_df['samplesize.outcome'].iloc[0]):,}), harmonised to the exposure "
            f"allele (TwoSampleMR's action 2): {int(keep.sum())} of {len(h)} SNPs kept"
            + (" (excluded: " + ", ".join(f"{k}: {v}" for k, v in reasons.items()) + ")"
               if len(reasons) else "") + ".")
        rep.csv(h, "mr_two_sample_harmonised.csv")
        designs.append(("two-sample, " + summary_label, h))
    for design, d in designs:
        res = M.mr(d, method_list=methods, rng=ctx.gen, nboot=nboot)
        tables.append(_mr_table(res, design))
        hh = M.mr_heterogeneity(d)
        hh.insert(0, "design", design)
        het.append(hh[["design", "method", "Q", "Q_df", "Q_pval"]])
        pp = M.mr_pleiotropy_test(d)
        pp.insert(0, "design", design)
        plei.append(pp[[c for c in ("design", "egger_intercept", "se", "pval") if c in pp]])
        st = M.instrument_strength(d)
        fs = st[st["SNP"] != "Mean"]["F"]
        strength.append({"design": design, "n_snps": len(fs), "mean_F": float(fs.mean()),
                         "weak (F < 10)": int((fs < 10).sum()), "I2_GX": float(M.isq_gx(d))})
        out["data"][design] = d
    if have_geno:
        tables.append(_observational(cohort, exposure, outcome))
    est = pd.concat(tables, ignore_index=True)
    out.update(estimates=est, heterogeneity=pd.concat(het, ignore_index=True),
               pleiotropy=pd.concat(plei, ignore_index=True),
               instrument_strength=pd.DataFrame(strength))
    rep.table(est.round(4), "mr_estimates.csv", index=False)
    rep.text("Instrument strength (first-stage F per SNP, (beta / se)^2):")
    rep.table(out["instrument_strength"].round(2), "mr_instrument_strength.csv", index=False)
    rep.text("Heterogeneity (Cochran's Q for IVW, Rucker's Q' for MR-Egger) and the MR-Egger "
             "intercept test of directional pleiotropy:")
    rep.table(out["heterogeneity"].round(4), "mr_heterogeneity.csv", index=False)
    rep.table(out["pleiotropy"].round(4), "mr_pleiotropy.csv", index=False)
    diluted = [s for s in strength if s["mean_F"] >= 10 and s["I2_GX"] < 0.9]
    if diluted:
        rep.text(
            "I2_GX below 0.9 (" + "; ".join(f"{s['design']}: {s['I2_GX']:.2f}" for s in diluted)
            + "): the SNP-exposure effects are measured with error relative to their spread, so "
              "MR-Egger's slope is diluted towards zero (by about 1 - I2_GX) and its intercept "
              "test loses its nominal size (Bowden et al. 2016, IJE 45:1961); read it beside "
              "IVW and the weighted median.", note=True)
    weak = [s for s in strength if s["mean_F"] < 10]
    if weak:
        rep.text(
            "Weak instruments: " + "; ".join(f"{s['design']}: mean F {s['mean_F']:.1f}"
                                             for s in weak)
            + ". With F near 1 the genetic associations are mostly noise: one-sample estimates "
              "are biased towards the observational association (the OLS row, itself "
              "confounded and diluted by the noise in the exposure score) and two-half "
              "estimates towards zero, and the CIs do not account for that bias. A cohort of "
              "this size cannot estimate the SNP-exposure effects; take them from large "
              "external GWAS (two-sample design).", note=True)
    for i, (design, d) in enumerate(designs):
        r = est[est["design"] == design]
        slug = ("two_sample" if design.startswith("two-sample") else
                "one_sample_split" if "halves" in design else "one_sample")
        rep.figure(plotting.plot_mr_scatter(d, r), f"mr_scatter_{slug}.png",
                   caption=f"{design}: SNP-outcome against SNP-exposure effects (+- 1 SE) and "
                           "each method's slope.")
        if design.startswith("two-sample"):
            ss = M.mr_singlesnp(d)
            rep.figure(plotting.plot_mr_forest(ss), f"mr_forest_{slug}.png",
                       caption="Single-SNP Wald ratios with 95% CIs; pooled estimates in red.")

    if truth is not None and exposure == truth.instrumented_module and \
            outcome == truth.causal_trait:
        targets = {}
        if have_geno and "modules" in cohort and exposure in cohort["modules"].columns:
            ids = cohort["modules"].index
            act = truth.module_activity.loc[ids, exposure]
            score = cohort["modules"][exposure]
            slope = float(np.cov(score, act)[0, 1] / act.var())
            target = truth.causal_effect_trait_units / slope
            for design, _ in designs:
                if design.startswith("one-sample"):
                    targets[design] = target
            targets["observational (OLS, adjusted)"] = target
            rep.text(
                f"Truth for the one-sample designs: {truth.causal_effect_trait_units:.2f} "
                f"{outcome} units per unit of module activity; the {exposure} score measures "
                f"activity with slope {slope:.3f} (score on true activity), so the causal effect "
                f"per unit of score is {truth.causal_effect_trait_units:.2f} / {slope:.3f} = "
                f"{target:.2f}.")
        for design, _ in designs:
            if design.startswith("two-sample"):
                targets[design] = truth.causal_effect
        if any(d.startswith("two-sample") for d in targets):
            rep.text(f"Truth for the two-sample design: {truth.causal_effect:.3f} (standardised "
                     f"{outcome} per unit of module activity, the GWAS units).")
        cover = []
        for r in est.itertuples():
            if r.design in targets:
                t = targets[r.design]
                ok = bool(r.lower <= t <= r.upper)
                cover.append({"design": r.design, "method": r.method, "b": r.b,
                              "lower": r.lower, "upper": r.upper, "truth": t,
                              "CI covers truth": ok, "right sign": bool(np.sign(r.b) == np.sign(t))})
                ctx.add_truth("MR", f"{r.method}, {r.design}", float(r.b), float(t), agrees=ok,
                              note=f"95% CI [{r.lower:.3g}, {r.upper:.3g}]")
        if cover:
            out["truth"] = pd.DataFrame(cover)
            rep.table(out["truth"].round(3), "mr_truth.csv", index=False)
    return out


# ================================================================================ 10. truth

def _truth_check(result: AssociationResult, truth) -> pd.DataFrame:
    """Share of FDR-significant pairs whose two features both load on a shared factor."""
    sig = result.adjusted.to_numpy() <= result.alpha
    x_true = truth.signal_features("radiomics").reindex(result.r.index, fill_value=False).to_numpy()
    y_true = truth.signal_features("expression").reindex(result.r.columns, fill_value=False).to_numpy()
    both = np.outer(x_true, y_true)
    n_sig = int(sig.sum())
    rows = [
        {"quantity": "pairs tested", "value": result.n_tests},
        {"quantity": "pairs with both features driven by a shared factor (truth)", "value": int(both.sum())},
        {"quantity": "FDR-significant pairs", "value": n_sig},
        {"quantity": "... of which truly driven (both features load on a shared factor)",
         "value": int((sig & both).sum())},
        {"quantity": "empirical false discovery proportion",
         "value": float((sig & ~both).sum() / n_sig) if n_sig else 0.0},
        *([] if result.p_fwer is None else [
            {"quantity": "max-T significant pairs (FWER)",
             "value": int((result.p_fwer.to_numpy() <= result.alpha).sum())},
            {"quantity": "... of which not truly driven",
             "value": int(((result.p_fwer.to_numpy() <= result.alpha) & ~both).sum())},
        ]),
        {"quantity": "power over truly driven pairs",
         "value": float((sig & both).sum() / both.sum()) if both.sum() else float("nan")},
    ]
    return pd.DataFrame(rows)


def _truth_section(ctx: _Context, res: AssociationResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    rep, truth = ctx.rep, ctx.truth
    ctx.section("Check against the ground truth")
    check = _truth_check(res, truth)
    rep.table(check, "truth_check.csv", index=False)
    rep.text(
        "Declared population canonical correlations of the latent-driven blocks: "
        + ", ".join(f"{c:.2f}" for c in np.atleast_1d(truth.canonical_correlations))
    )
    rep.text(
        "Note: Benjamini-Hochberg controls the expected false discovery proportion; one "
        "realisation can exceed the level, especially with few discoveries and correlated "
        "features (over 40 seeds of this cohort the mean proportion was 0.057, within "
        "simulation error of 0.05, and with null=True no seed of 12 gave any discovery).",
        note=True,
    )
    rows = pd.DataFrame(ctx.truth_rows, columns=["analysis", "quantity", "estimate", "truth",
                                                 "agrees", "note"])
    if len(rows):
        present = set(rows["analysis"])
        keys = [k for a, k in (("MR", "the 95% CI covers the truth for MR"),
                               ("MOFA+", "|r| >= 0.7 for MOFA+")) if a in present]
        rep.text("The other sections' estimates beside the true values"
                 + (f" (agrees: {', '.join(keys)})" if keys else "")
                 + ("; prediction rows show the ceiling set by the true factors"
                    if "prediction" in present else "") + ":")
        rep.table(rows, "truth_check_sections.csv", index=False, max_rows=60)
    return check, rows


# ================================================================================ demo

def run_demo(out_dir: str | Path, rng=0, alpha: float = 0.05, n_permutations: int = 1000,
             images: bool = True, n_jobs: int = 2, mofa: bool = True, prediction: bool = True,
             mr: bool = True, **cohort_kwargs) -> DemoResult:
    """Simulate the default cohort, analyse it and write the HTML report to ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Output folder, created if needed.
    rng : int or numpy.random.Generator
        Seed of the simulation and of the permutations.
    alpha : float
        FDR and FWER level of the association screens.
    n_permutations : int
        Freedman-Lane permutations (within centres) of the screens, and permutations of the
        MOFA+ factor tests; 0 skips them (and the CCA section).
    images : bool
        Run section 6 (phantom images written to ``out_dir/phantoms``, extraction cached in
        ``out_dir/phantoms/cache``).
    n_jobs : int
        Worker processes for the radiomic extraction.
    mofa, prediction, mr : bool
        Run sections 7 (MOFA+), 8 (prediction) and 9 (Mendelian randomisation).
    **cohort_kwargs
        Passed to :func:`data_sim.make_cohort` (e.g. ``n_samples``, ``n_genes``), overriding
        :data:`DEMO_COHORT`.

    Returns
    -------
    DemoResult
        ``mofa``: dict with ``model`` (:class:`~radiogenomics.mofa.MOFAResult`),
        ``associations``, ``leakage``, ``truth_correlation`` (|r| factors x true shared
        factors); ``prediction``: dict with ``table`` (one row per target and validation
        scheme), ``loco_by_centre`` (one row per target and held-out centre), ``results``;
        ``mr``: dict with ``estimates`` (design x method: b, se, CI, p), ``heterogeneity``,
        ``pleiotropy``, ``instrument_strength``, ``truth`` (does each CI cover the truth).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import data_sim

    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    gen = np.random.default_rng(rng)
    cohort, truth = data_sim.make_cohort(rng=gen, **{**DEMO_COHORT, **cohort_kwargs})
    rep = HTMLReport(out_dir, "radiogenomics demo: synthetic multi-centre cohort")
    rep.text(
        "A synthetic cohort from data_sim.make_cohort with known ground truth: shared latent "
        "factors drive both radiomic features and gene expression; centres add ComBat-style "
        "location/scale effects; covariates (age, sex) act on both views; views are partially "
        "paired; genotypes instrument one expression module that causally affects one imaging "
        "trait. Every number below is recomputed by `radiogenomics demo`."
    )
    ctx = _Context(rep=rep, cohort=cohort, truth=truth, gen=gen, out_dir=out_dir, alpha=alpha,
                   n_permutations=n_permutations, n_jobs=n_jobs)
    _timed(ctx, "cohort", _cohort_section)
    anova = _timed(ctx, "centre", _centre_section, ["radiomics", "expression"]) or {}
    res = _timed(ctx, "association", _association_section, "radiomics", "expression",
                 "Radiomics x expression association screen", detail=True, prefix="association")
    trait_res = _timed(ctx, "trait_association", _association_section, "traits", "modules",
                       "Imaging traits x expression module scores", detail=False)
    _timed(ctx, "cca", _cca_section, "traits", "modules",
           "CCA: imaging traits x expression module scores")
    image_result = None
    if images and "radiomics" in cohort:
        image_result = _timed(ctx, "images", _image_section)
    mofa_result = pred_result = mr_result = None
    if mofa:
        mofa_result = _timed(ctx, "mofa", _mofa_section, ["radiomics", "expression"],
                             n_factors=8, standardize=["radiomics"],
                             correlate_with=("covariates", "traits", "outcomes"),
                             n_permutations=min(n_permutations, 999))
    if prediction:
        # the expression module each shared factor loads most on (data_sim links factor k to
        # module k + 1); and the clinical outcomes, which the shared factors drive
        B = truth.loadings["expression"].abs()
        linked = []
        for f in B.columns:
            m = max(truth.modules, key=lambda k: B.loc[truth.modules[k], f].mean())
            if m not in linked:
                linked.append(m)
        targets = {"modules": linked, "outcomes": ["outcome_continuous", "outcome_binary"]}
        pred_result = _timed(ctx, "prediction", _prediction_section, "radiomics", targets,
                             cv=("loco", 5), cv_binary=("loco",), covariates=("age", "sex"))
    if mr:
        mr_result = _timed(ctx, "mr", _mr_section, truth.instrumented_module,
                           truth.causal_trait, split=True,
                           summary_statistics=(truth.mr.exposure, truth.mr.outcome),
                           summary_label="large GWAS of the same instruments (n = "
                                         f"{int(truth.mr.exposure['samplesize.exposure'].iloc[0]):,}"
                                         " each, simulated)")
    check, truth_rows = _truth_section(ctx, res)
    ctx.seconds["total"] = time.perf_counter() - t0
    rep.text("Seconds per section: " + ", ".join(f"{k} {v:.1f}" for k, v in ctx.seconds.items()),
             note=True)
    path = rep.write()
    seconds = time.perf_counter() - t0
    return DemoResult(
        cohort=cohort, truth=truth, association=res, trait_association=trait_res,
        centre_anova=anova, truth_check=check, report_path=path, seconds=seconds, files=rep.files,
        images=image_result, mofa=mofa_result, prediction=pred_result, mr=mr_result,
        truth_rows=truth_rows, section_seconds=dict(ctx.seconds),
    )


# ================================================================================ run CONFIG

class ConfigError(RadiogenomicsError):
    """Invalid ``radiogenomics run`` configuration (names the key and the fix)."""


_VIEW_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_RESERVED = ("covariates", "outcomes", "centre")
_POLICIES = {"nan_policy": ("raise", "drop_samples", "drop_features", "impute_median"),
             "constant_policy": ("raise", "drop"), "missing_meta": ("raise", "drop_samples")}

#: Every key the configuration accepts (nested mappings), with its default.
CONFIG_KEYS = {
    "title": None, "output": None, "seed": 0, "alpha": 0.05, "permutations": 1000,
    "data": {"views": None, "covariates": None, "centre": None, "outcomes": None,
             "nan_policy": "raise", "constant_policy": "raise", "missing_meta": "raise"},
    "analyses": {
        "cohort": {},
        "centre_effects": {"views": None},
        "association": {"pairs": [["radiomics", "expression"], ["traits", "modules"]],
                        "permutations": None},
        "cca": {"x": "traits", "y": "modules", "components": 3, "cv_folds": 10,
                "permutations": None},
        "mofa": {"views": ["radiomics", "expression"], "factors": 8,
                 "standardize": ["radiomics"], "correlate_with": ["covariates", "traits",
                                                                 "outcomes"],
                 "permutations": None, "convergence": "fast"},
        "prediction": {"x": "radiomics", "targets": {"outcomes": "all"}, "cv": ["loco", 5],
                       "cv_binary": None, "alpha": 0.5, "covariates": None, "bootstrap": 500},
        "mr": {"exposure": None, "outcome": None, "genotypes": "genotypes", "split": True,
               "methods": list(MR_METHODS), "exposure_gwas": None, "outcome_gwas": None},
    },
}


def _unknown(keys, allowed, where: str) -> None:
    for k in keys:
        if k not in allowed:
            close = difflib.get_close_matches(str(k), [str(a) for a in allowed], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown key {where + '.' if where else ''}{k}{hint}; allowed "
                              f"keys{' of ' + where if where else ''}: {', '.join(allowed)}")


def _view_hint(name, views) -> str:
    close = difflib.get_close_matches(str(name), list(views), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _as_list(value, where: str) -> list:
    if value is None:
        return []
    if isinstance(value, (str, int)):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ConfigError(f"{where} must be a name or a list, got {type(value).__name__}")


def load_config(path: str | Path) -> dict:
    """Read and check a ``radiogenomics run`` YAML configuration.

    Returns the configuration with defaults filled in and paths resolved against the config
    file's folder; ``"_explicit"`` lists the analyses the file names (the others were not
    asked for).  Raises :class:`ConfigError` for an unknown key, a missing file, a bad value
    or a view name that the data do not have.
    """
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - PyYAML is a dependency
        raise ConfigError("reading the configuration needs PyYAML (pip install pyyaml)") from exc
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"configuration file {str(path)!r} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{str(path)!r} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{str(path)!r} must hold a mapping (key: value lines), got "
                          f"{type(raw).__name__}")
    base = path.resolve().parent
    _unknown(raw, list(CONFIG_KEYS), "")
    cfg: dict = {k: raw.get(k, v) for k, v in CONFIG_KEYS.items() if k not in ("data", "analyses")}
    for key, typ in (("seed", int), ("permutations", int), ("alpha", float)):
        val = cfg[key]
        if isinstance(val, bool) or not isinstance(val, (int, float)) or \
                (typ is int and not float(val).is_integer()):
            raise ConfigError(f"{key} must be a{'n integer' if typ is int else ' number'}, "
                              f"got {val!r}")
        cfg[key] = typ(val)
    if cfg["permutations"] < 0:
        raise ConfigError(f"permutations must be >= 0, got {cfg['permutations']}")
    if not 0 < cfg["alpha"] < 1:
        raise ConfigError(f"alpha must be between 0 and 1, got {cfg['alpha']}")

    # ---------------------------------------------------------------- data
    data = raw.get("data")
    if not isinstance(data, dict):
        raise ConfigError("the configuration needs a 'data' mapping with at least 'views' "
                          "(view name: file)")
    _unknown(data, list(CONFIG_KEYS["data"]), "data")
    views = data.get("views")
    if not isinstance(views, dict) or not views:
        raise ConfigError("data.views must map view names to files, e.g. "
                          "'radiomics: radiomics.csv'")

    def resolve(value, where: str) -> Path:
        if not isinstance(value, (str, Path)) or not str(value):
            raise ConfigError(f"{where} must be a file path, got {value!r}")
        p = Path(value).expanduser()
        p = p if p.is_absolute() else base / p
        if not p.is_file():
            raise ConfigError(f"{where}: file {str(value)!r} not found (looked for {str(p)!r}; "
                              "relative paths are relative to the configuration file)")
        return p

    dcfg: dict = {"views": {}}
    for name, file in views.items():
        if not isinstance(name, str) or not _VIEW_NAME.match(name):
            raise ConfigError(f"bad view name {name!r} in data.views: use letters, digits, '_', "
                              "'.' or '-', starting with a letter (it names output files)")
        if name in _RESERVED:
            raise ConfigError(f"view name {name!r} in data.views is reserved for the "
                              f"{name} file; give the view another name")
        dcfg["views"][name] = resolve(file, f"data.views.{name}")
    for key in ("covariates", "outcomes"):
        dcfg[key] = None if data.get(key) is None else resolve(data[key], f"data.{key}")
    centre = data.get("centre")
    if centre is not None:
        if not isinstance(centre, str):
            raise ConfigError(f"data.centre must be a covariates column name or a file, got "
                              f"{centre!r}")
        if Path(centre).suffix:
            centre = resolve(centre, "data.centre")
        elif dcfg["covariates"] is None:
            raise ConfigError(f"data.centre = {centre!r} names a covariates column, but "
                              "data.covariates is not given; give the covariates file or a "
                              "centre file")
    dcfg["centre"] = centre
    for key, allowed in _POLICIES.items():
        val = data.get(key, "raise")
        if val not in allowed:
            raise ConfigError(f"data.{key} must be one of {', '.join(allowed)}, got {val!r}")
        dcfg[key] = val
    cfg["data"] = dcfg
    view_names = list(dcfg["views"])

    def check_view(name, where: str, extra=()) -> None:
        if name not in view_names and name not in extra:
            raise ConfigError(f"{where}: {name!r} is not a view of data.views "
                              f"({', '.join(view_names)}){_view_hint(name, view_names)}")

    # ---------------------------------------------------------------- analyses
    araw = raw.get("analyses")
    if araw is None:
        araw, explicit = {k: True for k in CONFIG_KEYS["analyses"]}, []
    elif isinstance(araw, dict):
        _unknown(araw, list(CONFIG_KEYS["analyses"]), "analyses")
        explicit = [k for k, v in araw.items() if v is not False]
    else:
        raise ConfigError("analyses must be a mapping of analysis name to options (or true)")
    acfg: dict = {}
    for name, defaults in CONFIG_KEYS["analyses"].items():
        val = araw.get(name, False)
        if val is False:
            continue
        if val is True or val is None:
            val = {}
        if not isinstance(val, dict):
            raise ConfigError(f"analyses.{name} must be true, false or a mapping of options, "
                              f"got {val!r}")
        where = f"analyses.{name}"
        _unknown(val, list(defaults), where)
        opts = {**{k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict)
                       else v) for k, v in defaults.items()}, **val}
        for key in ("permutations", "components", "cv_folds", "factors", "bootstrap"):
            if key in opts and opts[key] is not None:
                v = opts[key]
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise ConfigError(f"{where}.{key} must be a non-negative integer, got {v!r}")
        if name == "centre_effects" and opts["views"] is not None:
            opts["views"] = _as_list(opts["views"], f"{where}.views")
            for v in opts["views"]:
                check_view(v, f"{where}.views")
        if name == "association":
            pairs = opts["pairs"]
            if not isinstance(pairs, list) or not pairs:
                raise ConfigError(f"{where}.pairs must be a list of [x, y] view pairs")
            norm = []
            for i, p in enumerate(pairs):
                if isinstance(p, dict) and set(p) == {"x", "y"}:
                    p = [p["x"], p["y"]]
                if not isinstance(p, (list, tuple)) or len(p) != 2:
                    raise ConfigError(f"{where}.pairs[{i}] must be [x, y] (two view names), "
                                      f"got {p!r}")
                if "pairs" in val:
                    for v in p:
                        check_view(v, f"{where}.pairs[{i}]")
                norm.append((str(p[0]), str(p[1])))
            opts["pairs"] = norm
        if name == "cca":
            for key in ("x", "y"):
                if key in val:
                    check_view(opts[key], f"{where}.{key}")
        if name == "mofa":
            for key in ("views", "standardize", "correlate_with"):
                opts[key] = _as_list(opts[key], f"{where}.{key}")
            for v in opts["views"] if "views" in val else []:
                check_view(v, f"{where}.views")
            for v in opts["standardize"] if "standardize" in val else []:
                check_view(v, f"{where}.standardize")
            for v in opts["correlate_with"] if "correlate_with" in val else []:
                check_view(v, f"{where}.correlate_with", extra=("covariates", "outcomes"))
            if opts["convergence"] not in ("fast", "medium", "slow"):
                raise ConfigError(f"{where}.convergence must be fast, medium or slow")
            if not isinstance(opts["factors"], int) or opts["factors"] < 1:
                raise ConfigError(f"{where}.factors must be a positive integer")
        if name == "prediction":
            xs = _as_list(opts["x"], f"{where}.x")
            if "x" in val:
                for v in xs:
                    check_view(v, f"{where}.x")
            opts["x"] = xs
            tg = opts["targets"]
            if not isinstance(tg, dict) or not tg:
                raise ConfigError(f"{where}.targets must map 'outcomes' or a view name to a "
                                  "list of columns (or 'all')")
            if "targets" in val:
                for src in tg:
                    check_view(src, f"{where}.targets", extra=("outcomes",))
            opts["targets"] = {src: (cols if cols in (None, "all") else
                                     [str(c) for c in _as_list(cols, f"{where}.targets.{src}")])
                               for src, cols in tg.items()}
            for key in ("cv", "cv_binary"):
                if opts[key] is None:
                    continue
                cvs = _as_list(opts[key], f"{where}.{key}")
                for c in cvs:
                    if not (c == "loco" or (isinstance(c, int) and not isinstance(c, bool)
                                            and c >= 2)):
                        raise ConfigError(f"{where}.{key} entries must be 'loco' or a number of "
                                          f"folds >= 2, got {c!r}")
                opts[key] = cvs
            if opts["covariates"] is not None:
                opts["covariates"] = [str(c) for c in _as_list(opts["covariates"],
                                                               f"{where}.covariates")]
        if name == "mr":
            if "genotypes" in val:
                check_view(opts["genotypes"], f"{where}.genotypes")
            for key in ("exposure_gwas", "outcome_gwas"):
                if opts[key] is not None:
                    opts[key] = resolve(opts[key], f"{where}.{key}")
            if (opts["exposure_gwas"] is None) != (opts["outcome_gwas"] is None):
                raise ConfigError(f"{where}: give both exposure_gwas and outcome_gwas (or "
                                  "neither)")
            from .mr import METHODS

            opts["methods"] = _as_list(opts["methods"], f"{where}.methods")
            bad = [m for m in opts["methods"] if m not in METHODS]
            if bad:
                raise ConfigError(f"{where}.methods: unknown method(s) {bad}; choose from "
                                  f"{', '.join(sorted(METHODS))}")
            if name in explicit and (opts["exposure"] is None or opts["outcome"] is None):
                raise ConfigError(f"{where} needs exposure and outcome (feature names, e.g. a "
                                  "module score and an imaging trait)")
        acfg[name] = opts
    cfg["analyses"] = acfg
    cfg["_explicit"] = explicit
    cfg["_path"] = path.resolve()
    stem = path.stem
    cfg["title"] = str(cfg["title"]) if cfg["title"] else f"radiogenomics report: {stem}"
    out = cfg["output"] if cfg["output"] else f"{stem}_report"
    out = Path(str(out)).expanduser()
    cfg["output"] = out if out.is_absolute() else base / out
    return cfg


def _read_gwas(path: Path) -> pd.DataFrame:
    from .cohort import read_table

    df = read_table(path)
    return df.reset_index()


def run_config(config: str | Path | dict, out_dir: str | Path | None = None) -> RunResult:
    """Run the report sections that apply to the files named in a YAML configuration.

    ``config``: path of the YAML file (see ``examples/config.yaml``) or the output of
    :func:`load_config`; ``out_dir`` overrides its ``output``.  Writes ``report.html`` with
    the plots and tables to the output folder and returns a :class:`RunResult`.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    t0 = time.perf_counter()
    cfg = load_config(config) if not isinstance(config, dict) else config
    d = cfg["data"]
    cohort = Cohort.from_files(d["views"], covariates=d["covariates"], centre=d["centre"],
                               outcomes=d["outcomes"], nan_policy=d["nan_policy"],
                               constant_policy=d["constant_policy"],
                               missing_meta=d["missing_meta"])
    out_dir = Path(out_dir) if out_dir is not None else cfg["output"]
    gen = np.random.default_rng(cfg["seed"])
    rep = HTMLReport(out_dir, cfg["title"])
    rep.text(f"Configuration: {cfg['_path']}. Views: "
             + ", ".join(f"{k} ({Path(v).name})" for k, v in d["views"].items())
             + ". Sections that need a simulation's ground truth (image phantoms, truth checks) "
               "are only in `radiogenomics demo`.")
    ctx = _Context(rep=rep, cohort=cohort, truth=None, gen=gen, out_dir=out_dir,
                   alpha=cfg["alpha"], n_permutations=cfg["permutations"])
    A = cfg["analyses"]
    results: dict = {}

    def perms(opts):
        return cfg["permutations"] if opts.get("permutations") is None else opts["permutations"]

    if "cohort" in A:
        _timed(ctx, "cohort", _cohort_section)
        results["cohort"] = cohort.summary()
    if "centre_effects" in A:
        views = A["centre_effects"]["views"]
        if views is None:
            geno = A.get("mr", {}).get("genotypes", "genotypes")
            views = [v for v in cohort.view_names if v != geno]
        r = _timed(ctx, "centre_effects", _centre_section, views)
        if r is not None:
            results["centre_effects"] = r
    if "association" in A:
        opts = A["association"]
        ctx.n_permutations = perms(opts)
        detailed = False
        for x, y in opts["pairs"]:
            # the first screen that runs gets the full set of tables and plots
            r = _timed(ctx, f"association_{x}_{y}", _association_section, x, y,
                       f"{x} x {y} association screen", detail=not detailed)
            if r is not None:
                results[f"association_{x}_{y}"] = r
                detailed = True
        ctx.n_permutations = cfg["permutations"]
    if "cca" in A:
        opts = A["cca"]
        ctx.n_permutations = perms(opts)
        r = _timed(ctx, "cca", _cca_section, opts["x"], opts["y"],
                   f"CCA: {opts['x']} x {opts['y']}", n_components=opts["components"],
                   cv_folds=opts["cv_folds"])
        ctx.n_permutations = cfg["permutations"]
        if r is not None:
            results["cca"] = r
    if "mofa" in A:
        opts = A["mofa"]
        r = _timed(ctx, "mofa", _mofa_section, opts["views"], n_factors=opts["factors"],
                   standardize=opts["standardize"], correlate_with=opts["correlate_with"],
                   n_permutations=perms(opts), convergence=opts["convergence"])
        if r is not None:
            results["mofa"] = r
    if "prediction" in A:
        opts = A["prediction"]
        r = _timed(ctx, "prediction", _prediction_section, opts["x"], opts["targets"],
                   cv=opts["cv"], cv_binary=opts["cv_binary"], alpha=opts["alpha"],
                   covariates=opts["covariates"], n_boot=opts["bootstrap"])
        if r is not None:
            results["prediction"] = r
    if "mr" in A:
        opts = A["mr"]
        ss = None
        if opts["exposure_gwas"] is not None:
            ss = (_read_gwas(opts["exposure_gwas"]), _read_gwas(opts["outcome_gwas"]))
        r = _timed(ctx, "mr", _mr_section, opts["exposure"], opts["outcome"],
                   genotypes=opts["genotypes"], split=opts["split"], methods=opts["methods"],
                   summary_statistics=ss)
        if r is not None:
            results["mr"] = r
    not_asked = [k for k in CONFIG_KEYS["analyses"] if k not in A]
    if not_asked:
        rep.text("Not requested in the configuration: " + ", ".join(not_asked) + ".", note=True)
    ctx.seconds["total"] = time.perf_counter() - t0
    rep.text("Seconds per section: " + ", ".join(f"{k} {v:.1f}" for k, v in ctx.seconds.items()),
             note=True)
    path = rep.write()
    return RunResult(cohort=cohort, config=cfg, report_path=path,
                     seconds=time.perf_counter() - t0, files=rep.files, results=results,
                     skipped=list(ctx.skipped))
