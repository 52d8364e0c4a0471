"""Workflow step ``mr``: Mendelian randomisation of an exposure (e.g. an expression-module
score) on an outcome (e.g. an imaging trait).

* one-sample MR from the cohort's own genotypes (:func:`radiogenomics.mr.mr_input_from_cohort`):
  all samples, and (``split``) the exposure and the outcome associations in two disjoint
  random halves;
* two-sample MR with GWAS summary statistics files (``exposure_gwas`` / ``outcome_gwas``,
  read by :func:`read_gwas_file`: GWAS-VCF, GWAS-SSF, TwoSampleMR-style tables or any GWAS
  table through :func:`radiogenomics.mr.format_data`), optionally selected by p-value,
  LD-clumped on a local PLINK panel (:func:`radiogenomics.mr.ld_clump`, PLINK 1.9's rule) with
  outcome LD proxies (:func:`radiogenomics.mr.extract_with_proxies`), harmonised with
  :func:`radiogenomics.mr.harmonise`; every SNP read, dropped (with its reason), clumped away or
  replaced by a proxy is counted in ``result["snp_flow"]`` and listed in
  ``result["snps_dropped"]``; in the demo, without files, the simulation's large GWAS of the
  same instruments (``ctx.truth.mr``) when the exposure and outcome are the simulated ones;
* IVW, MR-Egger and weighted median (``methods``), heterogeneity, the Egger intercept,
  instrument strength, scatter and forest plots, and the covariate-adjusted observational
  association beside them.

``result["estimates"]`` (columns design, method, nsnp, b, se, pval, lower, upper) is what the
``truth`` step reads; the design labels start with ``one-sample``, ``two-sample`` or
``observational``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import field_validator, model_validator

from .._checks import InputError
from ..report.format import fmt_ci, fmt_count, fmt_num, fmt_p
from ._base import (Fragment, StepContext, StepOptions, StepRecord, StepResult,
                    package_versions, skipped, timed_step)
from ._mr_gwas import (_files_methods, _flow_sentence, _prepare_two_sample, _read_sentence, _rows,
                       _two_sample_finding, _two_sample_report, _two_sample_tables, gwas_format,
                       read_gwas, read_gwas_file)
from .cohort import join_words, plural

__all__ = ["Options", "run", "read_gwas", "read_gwas_file", "gwas_format",
           "observational", "MR_METHODS"]

STEP = "mr"
TITLE = "Mendelian randomisation"

#: the report's default estimators (TwoSampleMR method names)
MR_METHODS = ("mr_ivw", "mr_egger_regression", "mr_weighted_median")
#: parametric bootstrap replicates of the weighted-median SE (TwoSampleMR's default)
NBOOT = 1000
_Z = 1.959963984540054

CITATIONS = [
    "Burgess S, Butterworth A, Thompson SG (2013) Mendelian randomization analysis with "
    "multiple genetic variants using summarized data. Genet Epidemiol 37:658-665",
    "Bowden J, Davey Smith G, Burgess S (2015) Mendelian randomization with invalid "
    "instruments: effect estimation and bias detection through Egger regression. "
    "Int J Epidemiol 44:512-525",
    "Bowden J, Davey Smith G, Haycock PC, Burgess S (2016) Consistent estimation in Mendelian "
    "randomization with some invalid instruments using a weighted median estimator. "
    "Genet Epidemiol 40:304-314",
    "Hemani G et al. (2018) The MR-Base platform supports systematic causal inference across "
    "the human phenome. eLife 7:e34408",
    "Bowden J et al. (2016) Assessing the suitability of summary data for two-sample Mendelian "
    "randomization analyses using MR-Egger regression: the role of the I2 statistic. "
    "Int J Epidemiol 45:1961-1974",
]

_DESCRIBE = {
    "mr_ivw": "The inverse-variance weighted (IVW) estimate (Burgess et al. 2013) used "
              "multiplicative random effects (residual SE floored at 1).",
    "mr_egger_regression": "MR-Egger regression (Bowden et al. 2015) allowed directional "
                           "pleiotropy through its intercept.",
    "mr_weighted_median": f"The weighted median (Bowden et al. 2016) used second-order weights, "
                          f"its SE from {NBOOT:,} parametric bootstrap replicates.",
}

_DESIGN_ALL = "one-sample, all samples"
_DESIGN_SPLIT = "one-sample, exposure and outcome in two halves"
_DESIGN_OBS = "observational (OLS, adjusted)"


class Options(StepOptions):
    """Options of the ``mr`` step.

    Attributes
    ----------
    exposure, outcome : str
        Feature names (a column of a view, or an outcome), e.g. a module score and an imaging
        trait; the step is skipped while either is None.
    genotypes : str
        The genotype view (allele dosages 0/1/2) of the one-sample designs.
    split : bool
        Also estimate the exposure and outcome associations in two disjoint random halves.
    methods : list of str
        TwoSampleMR method names (keys of :data:`radiogenomics.mr.METHODS`).
    exposure_gwas, outcome_gwas : path, optional
        GWAS summary statistics, both or neither (see :func:`gwas_format`): a GWAS-VCF
        (``.vcf``, ``.vcf.gz``, ``.vcf.bgz``), a GWAS-SSF file (its mandatory header columns, or
        a ``.tsv(.gz)`` with a ``-meta.yaml`` beside it), a CSV/TSV/Parquet table with
        TwoSampleMR-style columns (``beta.exposure`` or ``beta_exposure`` ...), or any other
        GWAS table (columns such as SNP/rsid, beta/b, se, A1/effect_allele, A2/other_allele,
        eaf/freq, p/pval, N), read by :func:`radiogenomics.mr.format_data` with the column
        mapping reported.
    gwas_build : str, optional
        Genome build (GRCh37/hg19, GRCh38/hg38, NCBI36) assumed for a file that does not state
        one (a VCF ``##contig assembly`` or an SSF ``-meta.yaml`` does); a file stating a
        different build is an error.
    exposure_study, outcome_study : str, optional
        The study (sample) column of a GWAS-VCF holding several.
    pval_threshold : float, optional
        Instruments: exposure SNPs with ``pval.exposure <= pval_threshold`` (e.g. 5e-8 for a
        genome-wide file); None (default) uses every SNP of the exposure file.  The SNPs not
        selected are counted (not listed one by one: they are not instruments).
    ld_panel : path, optional
        LD reference panel: a PLINK 1 fileset (the ``.bed`` file, or its prefix, with ``.bim``
        and ``.fam`` beside it).  The instruments are then clumped with
        :func:`radiogenomics.mr.ld_clump` (PLINK 1.9 ``--clump`` rule) before harmonising.
    clump_r2, clump_kb : float
        PLINK's ``--clump-r2`` (0.001) and ``--clump-kb`` (10000), TwoSampleMR's defaults.
    proxies : bool, optional
        Replace instruments absent from the outcome file by their best LD proxy in the panel
        (:func:`radiogenomics.mr.extract_with_proxies`, ``r^2 >= proxy_r2``); default True when
        ``ld_panel`` is given (needs it).
    proxy_r2 : float
        Minimum proxy r^2 (0.8, TwoSampleMR's ``extract_outcome_data`` default).
    """

    exposure: str | None = None
    outcome: str | None = None
    genotypes: str = "genotypes"
    split: bool = True
    methods: list[str] = list(MR_METHODS)
    exposure_gwas: Path | None = None
    outcome_gwas: Path | None = None
    gwas_build: str | None = None
    exposure_study: str | None = None
    outcome_study: str | None = None
    pval_threshold: float | None = None
    ld_panel: Path | None = None
    clump_r2: float = 0.001
    clump_kb: float = 10000
    proxies: bool | None = None
    proxy_r2: float = 0.8

    @field_validator("methods")
    @classmethod
    def _known(cls, v):
        from ..mr import METHODS

        bad = [m for m in v if m not in METHODS]
        if bad:
            raise ValueError(f"unknown MR method(s) {bad}; use TwoSampleMR names: "
                             + ", ".join(METHODS))
        if not v:
            raise ValueError("name at least one MR method")
        return v

    @field_validator("gwas_build")
    @classmethod
    def _build(cls, v):
        from ..mr.io import normalise_build

        if v is None:
            return v
        try:
            return normalise_build(v)
        except InputError as err:
            raise ValueError(str(err)) from None

    @model_validator(mode="after")
    def _both(self):
        if (self.exposure_gwas is None) != (self.outcome_gwas is None):
            raise ValueError("give both exposure_gwas and outcome_gwas (two-sample MR) or "
                             "neither")
        if self.pval_threshold is not None and not 0 < self.pval_threshold <= 1:
            raise ValueError(f"pval_threshold must be in (0, 1] (e.g. 5e-8), got "
                             f"{self.pval_threshold!r}; or leave it out to use every SNP")
        if not 0 <= self.clump_r2 < 1:
            raise ValueError(f"clump_r2 must be in [0, 1) (PLINK's --clump-r2), got "
                             f"{self.clump_r2!r}")
        if not self.clump_kb >= 0.001:
            raise ValueError(f"clump_kb must be >= 0.001 (PLINK's --clump-kb), got "
                             f"{self.clump_kb!r}")
        if not 0 < self.proxy_r2 <= 1:
            raise ValueError(f"proxy_r2 must be in (0, 1], got {self.proxy_r2!r}")
        if self.proxies and self.ld_panel is None:
            raise ValueError("proxies need an LD reference panel: give ld_panel (a PLINK "
                             ".bed/.bim/.fam fileset) or set proxies: false")
        return self

    @property
    def use_proxies(self) -> bool:
        """Whether outcome proxies are looked up (``proxies``, default: with a panel)."""
        return self.ld_panel is not None if self.proxies is None else bool(self.proxies)


# ------------------------------------------------------------------------- inputs


def _has_gwas(ctx: StepContext, opts: Options) -> bool:
    t = ctx.truth
    return opts.exposure_gwas is not None or (
        t is not None and getattr(t, "mr", None) is not None
        and opts.exposure == getattr(t, "instrumented_module", None)
        and opts.outcome == getattr(t, "causal_trait", None))


def _gwas(ctx: StepContext, opts: Options):
    """(label, exposure, outcome, reads) summary statistics: the files (``reads``: the two
    readers' reports), or in the demo the simulation's large GWAS of the simulated exposure
    and outcome (``reads`` None); None without either."""
    if opts.exposure_gwas is not None:
        exp = read_gwas_file(opts.exposure_gwas, "exposure", opts.gwas_build,
                             opts.exposure_study)
        out = read_gwas_file(opts.outcome_gwas, "outcome", opts.gwas_build, opts.outcome_study)
        rx, ro = exp.attrs["report"], out.attrs["report"]
        bx, bo = rx["genome_build"], ro["genome_build"]
        if bx and bo and bx != bo:
            raise InputError(
                f"the exposure GWAS {Path(opts.exposure_gwas).name} is on genome build {bx} "
                f"({rx['build_source']}) but the outcome GWAS {Path(opts.outcome_gwas).name} on "
                f"{bo} ({ro['build_source']}); lift one over (UCSC liftOver / CrossMap) so both "
                "use the same build, or correct gwas_build if it was assumed wrongly")
        return (f"GWAS summary statistics ({Path(opts.exposure_gwas).name}, "
                f"{Path(opts.outcome_gwas).name})", exp, out, {"exposure": rx, "outcome": ro})
    if _has_gwas(ctx, opts):
        t = ctx.truth
        return ("large GWAS of the same instruments (simulated)", t.mr.exposure, t.mr.outcome,
                None)
    return None


def _one_sample(ctx, opts, seed) -> list[tuple[str, pd.DataFrame]]:
    from ..mr import mr_input_from_cohort

    c = ctx.cohort
    out = [(_DESIGN_ALL, mr_input_from_cohort(c, opts.exposure, opts.outcome,
                                              genotypes=opts.genotypes))]
    if opts.split:
        out.append((_DESIGN_SPLIT, mr_input_from_cohort(c, opts.exposure, opts.outcome,
                                                        genotypes=opts.genotypes, split=True,
                                                        rng=seed)))
    return out


def _in_cohort(cohort, trait: str) -> bool:
    if cohort.outcomes is not None and trait in cohort.outcomes.columns:
        return True
    return any(trait in cohort[v].columns for v in cohort.view_names)


def observational(cohort, exposure: str, outcome: str) -> pd.DataFrame:
    """OLS slope of ``outcome`` on ``exposure`` adjusted for the covariates and centre (the
    confounded association MR is compared with), in the MR table's columns."""
    from scipy import stats

    from ..association import design_matrix, residualise
    from ..mr.individual import _trait

    x, y = _trait(cohort, exposure, None), _trait(cohort, outcome, None)
    ids = x.dropna().index.intersection(y.dropna().index)
    centre = (cohort.centre.loc[ids] if cohort.centre is not None
              and cohort.centre.loc[ids].nunique() > 1 else None)
    cov = cohort.covariates.loc[ids] if cohort.covariates is not None else None
    Z = design_matrix(cov, ids, centre).to_numpy()
    r = residualise(np.column_stack([x.loc[ids].to_numpy(float),
                                     y.loc[ids].to_numpy(float)]), Z)
    sxx = float(r[:, 0] @ r[:, 0])
    b = float(r[:, 0] @ r[:, 1]) / sxx
    dof = len(ids) - Z.shape[1] - 1
    se = float(np.sqrt((r[:, 1] @ r[:, 1] - b * b * sxx) / dof / sxx))
    return pd.DataFrame([{"design": _DESIGN_OBS, "method": "OLS", "nsnp": 0, "b": b,
                          "se": se, "pval": float(2 * stats.t.sf(abs(b / se), dof)),
                          "lower": b - _Z * se, "upper": b + _Z * se, "n": int(len(ids))}])


# ------------------------------------------------------------------------- estimation

def _estimate(design: str, d: pd.DataFrame, methods, seed: int) -> dict:
    """The MR estimates, heterogeneity, Egger intercept and instrument strength of one design."""
    from .. import mr as M

    res = M.mr(d, method_list=list(methods), rng=seed, nboot=NBOOT)
    est = res[["method", "nsnp", "b", "se", "pval"]].copy()
    est.insert(0, "design", design)
    est["lower"], est["upper"] = est["b"] - _Z * est["se"], est["b"] + _Z * est["se"]
    het = M.mr_heterogeneity(d)
    het.insert(0, "design", design)
    plei = M.mr_pleiotropy_test(d)
    plei.insert(0, "design", design)
    st = M.instrument_strength(d)
    fs = st[st["SNP"] != "Mean"]["F"]
    strength = {"design": design, "n_snps": int(len(fs)), "mean_F": float(fs.mean()),
                "weak (F < 10)": int((fs < 10).sum()), "I2_GX": float(M.isq_gx(d))}
    return {"estimates": est, "heterogeneity": het[["design", "method", "Q", "Q_df", "Q_pval"]],
            "pleiotropy": plei[[c for c in ("design", "egger_intercept", "se", "pval")
                                if c in plei]], "strength": strength}


def _estimate_all(designs, methods, seed) -> dict:
    parts = [_estimate(name, d, methods, seed) for name, d in designs]
    return {"estimates": pd.concat([p["estimates"] for p in parts], ignore_index=True),
            "heterogeneity": pd.concat([p["heterogeneity"] for p in parts], ignore_index=True),
            "pleiotropy": pd.concat([p["pleiotropy"] for p in parts], ignore_index=True),
            "instrument_strength": pd.DataFrame([p["strength"] for p in parts])}


# ------------------------------------------------------------------------- report

def _design_text(cohort, opts: Options, designs) -> str:
    d = designs[0][1]
    n_ex, n_out = int(d["samplesize.exposure"].iloc[0]), int(d["samplesize.outcome"].iloc[0])
    adj = join_words(([] if cohort.covariates is None else list(cohort.covariates.columns))
                     + (["centre"] if cohort.centre is not None else []))
    return (f"One-sample MR from the cohort's {plural(len(d), 'genotyped SNP')}: per-SNP "
            f"regression of {opts.exposure} ({fmt_count(n_ex)} patients) and of {opts.outcome} "
            f"({fmt_count(n_out)} patients) on the allele dosage"
            + (f", adjusted for {adj}" if adj else "")
            + (". In the split design the two regressions use disjoint random halves (no "
               "sample overlap, so weak-instrument bias is towards the null rather than "
               "towards the confounded observational association)." if opts.split else "."))


def _two_sample_text(label: str, exp: pd.DataFrame, out: pd.DataFrame, h) -> str:
    keep = h["mr_keep"].astype(bool)
    reasons = h.loc[~keep, "mr_keep_reason"].value_counts()
    n = {s: (fmt_count(pd.to_numeric(df[f"samplesize.{s}"], errors="coerce").max())
             if f"samplesize.{s}" in df and len(df) else "NA")
         for s, df in (("exposure", exp), ("outcome", out))}
    return (f"Two-sample MR with {label} ({plural(len(exp), 'exposure SNP')}, n = "
            f"{n['exposure']}; {plural(len(out), 'outcome SNP')}, n = {n['outcome']}), "
            "harmonised to the exposure's effect allele (palindromic SNPs resolved by allele "
            f"frequency): {fmt_count(int(keep.sum()))} of {plural(len(h), 'SNP')} kept"
            + (" (excluded: " + "; ".join(f"{k}: {fmt_count(v)}" for k, v in reasons.items())
               + ")" if len(reasons) else "") + ".")


def _estimate_sentences(est: pd.DataFrame, outcome: str, exposure: str) -> list[str]:
    out = []
    for design, g in est.groupby("design", sort=False):
        parts = join_words(f"{r.method} {fmt_ci(r.b, r.lower, r.upper)} (p = {fmt_p(r.pval)})"
                           for r in g.itertuples())
        out.append(f"{design[0].upper() + design[1:]}: change in {outcome} per unit of "
                   f"{exposure}, {parts}.")
    return out


def _caveats(strength: pd.DataFrame, het: pd.DataFrame, plei: pd.DataFrame,
             alpha: float) -> list[str]:
    notes = []
    dil = strength[(strength["mean_F"] >= 10) & (strength["I2_GX"] < 0.9)]
    if len(dil):
        notes.append("I2_GX below 0.9 (" + "; ".join(f"{r.design}: {fmt_num(r.I2_GX)}"
                                                      for r in dil.itertuples())
                     + "): the SNP-exposure effects are measured with error relative to their "
                       "spread, so the MR-Egger slope is diluted towards zero (by about "
                       "1 - I2_GX) and its intercept test loses its nominal size (Bowden et al. "
                       "2016); read it beside IVW and the weighted median.")
    weak = strength[strength["mean_F"] < 10]
    if len(weak):
        notes.append("Weak instruments (" + "; ".join(f"{r.design}: mean F "
                                                      f"{fmt_num(r.mean_F)}"
                                                      for r in weak.itertuples())
                     + "): the genetic associations are mostly noise; one-sample estimates are "
                       "biased towards the confounded observational association and two-half "
                       "estimates towards zero, and the CIs do not include that bias. Take the "
                       "SNP-exposure effects from a large external GWAS (two-sample design).")
    q = het[het["Q_pval"] <= alpha]
    if len(q):
        notes.append("Heterogeneity between SNPs (" + "; ".join(
            f"{r.design}, {r.method}: Q = {fmt_num(r.Q)} on {fmt_count(r.Q_df)} df, p = "
            f"{fmt_p(r.Q_pval)}" for r in q.itertuples())
            + "): the SNPs disagree more than their SEs allow, a sign of pleiotropy or of "
              "different effects per SNP; the IVW SE allows for it (multiplicative random "
              "effects), the weighted median is robust to up to half the weight being invalid.")
    p = plei[plei["pval"] <= alpha]
    if len(p):
        notes.append("MR-Egger intercept different from zero (" + "; ".join(
            f"{r.design}: {fmt_num(r.egger_intercept)}, p = {fmt_p(r.pval)}"
            for r in p.itertuples()) + "): evidence of directional pleiotropy; prefer MR-Egger "
            "and the weighted median to IVW there.")
    return notes


def _figures(frag: Fragment, designs, est: pd.DataFrame, exposure: str, outcome: str) -> None:
    from .. import mr as M
    from ..plotting import plot_mr_forest, plot_mr_scatter

    for design, d in designs:
        slug = ("two_sample" if design.startswith("two-sample") else
                "one_sample_split" if design == _DESIGN_SPLIT else "one_sample")
        frag.figure(plot_mr_scatter(d, est[est["design"] == design]), f"mr_scatter_{slug}",
                    f"{design}: each point is one SNP, its effect on {outcome} against its "
                    f"effect on {exposure} (bars +- 1 SE, SNPs oriented to a positive exposure "
                    "effect); each line is one method's causal estimate (its slope; MR-Egger's "
                    "line has its intercept). Lines close together and points scattered around "
                    "them support a consistent causal effect.")
    forest = next(((n, d) for n, d in designs if n.startswith("two-sample")), designs[0])
    frag.figure(plot_mr_forest(M.mr_singlesnp(forest[1])), "mr_forest",
                f"{forest[0]}: single-SNP causal estimates (Wald ratios, effect on {outcome} "
                f"per unit of {exposure}) with 95% CIs, sorted by estimate; the pooled IVW and "
                "MR-Egger estimates in red at the bottom. SNPs whose intervals sit far from "
                "the pooled ones drive heterogeneity.")


def _methods(opts: Options, designs, label, versions: dict, two: dict | None = None) -> str:
    from ..mr import METHODS

    names = join_words(METHODS[m].lower().replace("mr egger", "MR-Egger")
                       for m in opts.methods)
    one = any(n.startswith("one-sample") for n, _ in designs)
    return (
        (f"One-sample Mendelian randomisation used the cohort's genotypes ({opts.genotypes}): "
         f"the SNP-{opts.exposure} and SNP-{opts.outcome} associations were estimated by "
         "ordinary least squares of each trait on allele dosage, adjusted for the covariates "
         "and centre, in all samples"
         + (" and, separately, in two disjoint random halves of the samples" if opts.split
            else "") + ". " if one else "")
        + (f"Two-sample MR used {label}" + (_files_methods(opts, two) or ",")
           + " harmonised to the exposure's effect allele "
           "(TwoSampleMR's harmonise_data, action 2). " if label else "")
        + f"Causal estimates: {names}. " + " ".join(_DESCRIBE[m] for m in opts.methods
                                                    if m in _DESCRIBE) + " "
          "Heterogeneity: Cochran's Q "
          "(IVW) and Rucker's Q' (MR-Egger); directional pleiotropy: the MR-Egger intercept; "
          "instrument strength: first-stage F per SNP and I2_GX. The covariate- and "
          "centre-adjusted observational regression of the outcome on the exposure is shown "
          "beside them. Software: radiogenomics "
          f"{versions.get('radiogenomics', '')} (a re-implementation of TwoSampleMR's "
          "estimators, Hemani et al. 2018, checked against it), NumPy "
          f"{versions.get('numpy', '')}, SciPy {versions.get('scipy', '')}.")


def _findings(frag: Fragment, est: pd.DataFrame, opts: Options, alpha: float) -> None:
    mr_rows = est[est["design"] != _DESIGN_OBS]
    for design, g in mr_rows.groupby("design", sort=False):
        sig = g[g["pval"] <= alpha]
        ivw = g[g["method"].str.startswith("Inverse variance")]
        r = (ivw if len(ivw) else g).iloc[0]
        what = (f"MR {opts.exposure} -> {opts.outcome} ({design}): {r.method} "
                f"{fmt_ci(r.b, r.lower, r.upper)}, p = {fmt_p(r.pval)}; "
                f"{len(sig)} of {plural(len(g), 'method')} at p <= {alpha} (uncorrected).")
        frag.finding(what, "significant" if len(sig) else "null")


def _strength_findings(frag: Fragment, strength: pd.DataFrame) -> None:
    for r in strength.itertuples():
        if r.mean_F < 10:
            frag.finding(f"MR, {r.design}: weak instruments (mean F {fmt_num(r.mean_F)}; "
                         "F >= 10 wanted); its estimates are biased and its CIs too narrow.",
                         "check", ok=False)


def _numbers(opts: Options, out: dict, designs) -> dict:
    def recs(df):
        return df.replace({np.nan: None}).to_dict("records")

    return {"exposure": opts.exposure, "outcome": opts.outcome,
            "designs": [n for n, _ in designs],
            "estimates": recs(out["estimates"]), "heterogeneity": recs(out["heterogeneity"]),
            "pleiotropy": recs(out["pleiotropy"]),
            "instrument_strength": recs(out["instrument_strength"]), "nboot": NBOOT,
            **({} if out.get("two_sample") is None else {"two_sample_inputs": {
                "files": (None if out["two_sample"]["inputs"] is None else
                          recs(out["two_sample"]["inputs"])),
                "snp_flow": recs(out["two_sample"]["snp_flow"]),
                "proxies": recs(out["two_sample"]["proxies"])}})}


def _report(frag: Fragment, ctx, opts, out, designs, texts) -> None:
    est = out["estimates"]
    for t in texts + _estimate_sentences(est, opts.outcome, opts.exposure):
        frag.text(t)
    for note in _caveats(out["instrument_strength"], out["heterogeneity"], out["pleiotropy"],
                         ctx.alpha):
        frag.text(note, note=True)
    frag.table(est, "mr_estimates",
               "Causal estimates, one row per design and method: b is the change in the "
               "outcome per unit of the exposure, with its SE, 95% CI (lower, upper) and "
               "p-value; nsnp is the number of SNPs used. The observational row (nsnp 0) is "
               "the covariate-adjusted regression of the outcome on the exposure, which "
               "confounding can bias; MR is meant to avoid that.", index=False)
    frag.table(out["instrument_strength"], "mr_instrument_strength",
               "Instrument strength per design: number of SNPs, mean first-stage F "
               "((beta / se)^2; below 10 is weak), the number of weak SNPs, and I2_GX "
               "(below 0.9 dilutes MR-Egger).", index=False)
    het = out["heterogeneity"].merge(out["pleiotropy"].rename(
        columns={"se": "intercept_se", "pval": "intercept_pval"}), on="design", how="left")
    frag.table(het, "mr_heterogeneity",
               "Heterogeneity per design and method (Cochran's Q for IVW, Rucker's Q' for "
               "MR-Egger, with degrees of freedom and p-value: small p means the SNPs disagree "
               "beyond chance) and the MR-Egger intercept with its SE and p-value (away from 0: "
               "directional pleiotropy).", index=False)
    two = out.get("two_sample")
    if two is not None:
        _two_sample_report(frag, two)
    _figures(frag, designs, est, opts.exposure, opts.outcome)
    _findings(frag, est, opts, ctx.alpha)
    _strength_findings(frag, out["instrument_strength"])
    if two is not None:
        _two_sample_finding(frag, two)


def _inputs(ctx, opts, seed) -> tuple[list, list[str], str | None, dict]:
    """(designs, texts, two-sample label, extra results: harmonised frame and the two-sample
    input accounting)."""
    from ..mr import harmonise

    cohort, designs, texts, extra = ctx.cohort, [], [], {}
    if opts.genotypes in cohort:
        designs += _one_sample(ctx, opts, seed)
        texts.append(_design_text(cohort, opts, designs))
    else:
        texts.append(f"No {opts.genotypes!r} view: one-sample MR not run.")
    gw = _gwas(ctx, opts)
    label = None
    if gw is not None:
        label, exp, out, reads = gw
        prep = _prepare_two_sample(exp, out, reads, opts)
        if reads is not None:
            build = reads["exposure"]["genome_build"] or reads["outcome"]["genome_build"]
            for f in (prep["exposure"], prep["outcome"]):
                f.attrs = {"genome_build": build} if build else {}
            for side, path in (("exposure", opts.exposure_gwas),
                               ("outcome", opts.outcome_gwas)):
                texts.append(_read_sentence(side, path, reads[side]))
        h = harmonise(prep["exposure"], prep["outcome"])
        gone = h[~h["mr_keep"].astype(bool)]
        prep["dropped"] += _rows("harmonise", "both", gone["SNP"], "excluded",
                                 list(gone["mr_keep_reason"]))
        for reason, k in gone["mr_keep_reason"].value_counts(sort=False).items():
            prep["flow"].append(("harmonise", f"excluded: {reason}", int(k)))
        prep["flow"].append(("harmonise", "used in the MR estimates",
                             int(h["mr_keep"].astype(bool).sum())))
        texts.append(_two_sample_text(label, exp, out, h))
        texts.append(_flow_sentence(prep, h, opts))
        designs.append((f"two-sample, {label}", h))
        extra["harmonised"] = h
        extra["two_sample"] = _two_sample_tables(prep, reads, opts)
    return designs, texts, label, extra


@timed_step
def run(ctx: StepContext, opts: Options | None = None) -> StepResult:
    """One- and two-sample MR of ``opts.exposure`` on ``opts.outcome``.

    Parameters
    ----------
    ctx : StepContext
    opts : Options, optional

    Returns
    -------
    StepResult
        ``result``: ``{"estimates", "heterogeneity", "pleiotropy", "instrument_strength"
        (DataFrames), "data": {design: MR input}}``, and with GWAS ``"harmonised"``,
        ``"gwas_inputs"`` (one row per file: format, reader, build and its source, rows read,
        dropped, flagged, column mapping; None in the demo), ``"snp_flow"`` (SNP counts per
        stage), ``"snps_dropped"`` (every SNP dropped, excluded or flagged, with stage and
        reason), ``"proxies"`` (instrument -> proxy, r2) and ``"clumped"`` (PLINK's .clumped
        table; None without ``ld_panel``).
    """
    opts = opts or Options()
    cohort = ctx.cohort
    if opts.exposure is None or opts.outcome is None:
        return skipped(STEP, TITLE, "name the exposure and the outcome (mr.exposure and "
                       "mr.outcome)", opts)
    title = f"{TITLE}: {opts.exposure} -> {opts.outcome}"
    if opts.genotypes not in cohort and not _has_gwas(ctx, opts):
        return skipped(STEP, title, f"no {opts.genotypes!r} view and no GWAS summary "
                       "statistics (exposure_gwas, outcome_gwas)", opts)
    seed = ctx.seed()
    designs, texts, label, extra = _inputs(ctx, opts, seed)
    out = _estimate_all(designs, opts.methods, seed)
    two = extra.pop("two_sample", None)
    out["two_sample"] = two
    warn = [] if two is None else list(two["warnings"])
    if all(_in_cohort(cohort, t) for t in (opts.exposure, opts.outcome)):
        obs = observational(cohort, opts.exposure, opts.outcome)
        out["estimates"] = pd.concat([out["estimates"], obs.drop(columns="n")],
                                     ignore_index=True)
    else:
        warn.append("observational association not computed: the exposure or the outcome is "
                    "not in the cohort")
    versions = package_versions("radiogenomics", "numpy", "scipy")
    frag = Fragment(title, citations=list(CITATIONS))
    frag.methods = _methods(opts, designs, label, versions, two)
    if two is not None and two["clumped"] is not None:
        frag.citations += [
            "Purcell S et al. (2007) PLINK: a tool set for whole-genome association and "
            "population-based linkage analyses. Am J Hum Genet 81:559-575",
            "Chang CC et al. (2015) Second-generation PLINK: rising to the challenge of larger "
            "and richer datasets. GigaScience 4:7"]
    if two is not None and two["inputs"] is not None:
        fmts = set(two["inputs"]["format"])
        if "GWAS-VCF" in fmts:
            frag.citations.append("Lyon MS et al. (2021) The variant call format provides "
                                  "efficient and robust storage of GWAS summary statistics. "
                                  "Genome Biol 22:32")
        if "GWAS-SSF" in fmts:
            frag.citations.append("Hayhurst J et al. (2022) A community driven GWAS summary "
                                  "statistics standard. bioRxiv 2022.07.15.500230")
    _report(frag, ctx, opts, out, designs, texts)
    used = {n: int(d["samplesize.exposure"].iloc[0]) for n, d in designs
            if n.startswith("one-sample")}
    dropped = {}
    if two is not None:
        gone = two["snps_dropped"]
        for (stage, reason), g in gone[gone["action"] != "flagged"].groupby(
                ["stage", "reason"], sort=False):
            dropped[f"two-sample SNPs, {stage}: {reason}"] = {
                "n": int(len(g)), "ids": [str(x) for x in g["SNP"]], "reason": reason}
    rec = StepRecord(STEP, title, params=opts.model_dump(), seed=seed, versions=versions,
                     samples_used=used, features_used={n: int(len(d)) for n, d in designs},
                     features_dropped=dropped, numbers=_numbers(opts, out, designs),
                     warnings=warn)
    res = {k: v for k, v in out.items() if k != "two_sample"}
    if two is not None:
        res.update({"gwas_inputs": two["inputs"], "snp_flow": two["snp_flow"],
                    "snps_dropped": two["snps_dropped"], "proxies": two["proxies"],
                    "clumped": two["clumped"]})
    return StepResult({**res, "data": dict(designs), **extra}, frag, rec)
