"""Workflow step ``mr``: Mendelian randomisation of an exposure (e.g. an expression-module
score) on an outcome (e.g. an imaging trait).

* one-sample MR from the cohort's own genotypes (:func:`radiogenomics.mr.mr_input_from_cohort`):
  all samples, and (``split``) the exposure and the outcome associations in two disjoint
  random halves;
* two-sample MR with GWAS summary statistics files (``exposure_gwas`` / ``outcome_gwas``,
  TwoSampleMR-style columns, read by :func:`read_gwas`), harmonised with
  :func:`radiogenomics.mr.harmonise`; in the demo, without files, the simulation's large
  GWAS of the same instruments (``ctx.truth.mr``) when the exposure and outcome are the
  simulated ones;
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
from .cohort import join_words, plural

__all__ = ["Options", "run", "read_gwas", "observational", "MR_METHODS"]

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
        GWAS summary statistics of the instruments (CSV/TSV/Parquet, TwoSampleMR-style
        columns: SNP, beta, se, effect_allele, other_allele, eaf, samplesize with the
        ``.exposure`` / ``.outcome`` suffix, dotted or snake_case); both or neither.
    """

    exposure: str | None = None
    outcome: str | None = None
    genotypes: str = "genotypes"
    split: bool = True
    methods: list[str] = list(MR_METHODS)
    exposure_gwas: Path | None = None
    outcome_gwas: Path | None = None

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

    @model_validator(mode="after")
    def _both(self):
        if (self.exposure_gwas is None) != (self.outcome_gwas is None):
            raise ValueError("give both exposure_gwas and outcome_gwas (two-sample MR) or "
                             "neither")
        return self


# ------------------------------------------------------------------------- inputs

def read_gwas(path, side: str) -> pd.DataFrame:
    """GWAS summary statistics of one side (``"exposure"`` or ``"outcome"``) from a CSV, TSV
    or Parquet file with TwoSampleMR-style columns (dotted or snake_case); the error names the
    file and the missing columns."""
    from ..cohort import read_table
    from ..mr import normalise_columns

    df = normalise_columns(read_table(path, index_col=None).reset_index(drop=True))
    need = ["SNP", f"beta.{side}", f"se.{side}", f"effect_allele.{side}",
            f"other_allele.{side}"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(f"{str(path)!r} (the {side} GWAS) lacks column(s) "
                         f"{', '.join(missing)}; it has {', '.join(map(str, df.columns[:10]))}. "
                         f"Name them as TwoSampleMR does, e.g. 'beta.{side}' or "
                         f"'beta_{side}'")
    df["SNP"] = df["SNP"].astype(str)
    return df


def _gwas(ctx: StepContext, opts: Options) -> tuple[str, pd.DataFrame, pd.DataFrame] | None:
    """(label, exposure, outcome) summary statistics: the files, or in the demo the
    simulation's large GWAS of the simulated exposure and outcome; None without either."""
    if opts.exposure_gwas is not None:
        return (f"GWAS summary statistics ({Path(opts.exposure_gwas).name}, "
                f"{Path(opts.outcome_gwas).name})", read_gwas(opts.exposure_gwas, "exposure"),
                read_gwas(opts.outcome_gwas, "outcome"))
    t = ctx.truth
    if (t is not None and getattr(t, "mr", None) is not None
            and opts.exposure == getattr(t, "instrumented_module", None)
            and opts.outcome == getattr(t, "causal_trait", None)):
        return ("large GWAS of the same instruments (simulated)", t.mr.exposure, t.mr.outcome)
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
    n = {s: (fmt_count(df[f"samplesize.{s}"].iloc[0]) if f"samplesize.{s}" in df else "NA")
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


def _methods(opts: Options, designs, label, versions: dict) -> str:
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
        + (f"Two-sample MR used {label}, harmonised to the exposure's effect allele "
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
            "instrument_strength": recs(out["instrument_strength"]), "nboot": NBOOT}


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
    _figures(frag, designs, est, opts.exposure, opts.outcome)
    _findings(frag, est, opts, ctx.alpha)
    _strength_findings(frag, out["instrument_strength"])


def _inputs(ctx, opts, seed) -> tuple[list, list[str], str | None, dict]:
    """(designs, texts, two-sample label, harmonised frame by design)."""
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
        label, exp, out = gw
        h = harmonise(exp, out)
        texts.append(_two_sample_text(label, exp, out, h))
        designs.append((f"two-sample, {label}", h))
        extra["harmonised"] = h
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
        (DataFrames), "data": {design: MR input}}``, and ``"harmonised"`` with GWAS.
    """
    opts = opts or Options()
    cohort = ctx.cohort
    if opts.exposure is None or opts.outcome is None:
        return skipped(STEP, TITLE, "name the exposure and the outcome (mr.exposure and "
                       "mr.outcome)", opts)
    title = f"{TITLE}: {opts.exposure} -> {opts.outcome}"
    if opts.genotypes not in cohort and _gwas(ctx, opts) is None:
        return skipped(STEP, title, f"no {opts.genotypes!r} view and no GWAS summary "
                       "statistics (exposure_gwas, outcome_gwas)", opts)
    seed = ctx.seed()
    designs, texts, label, extra = _inputs(ctx, opts, seed)
    out = _estimate_all(designs, opts.methods, seed)
    warn = []
    if all(_in_cohort(cohort, t) for t in (opts.exposure, opts.outcome)):
        obs = observational(cohort, opts.exposure, opts.outcome)
        out["estimates"] = pd.concat([out["estimates"], obs.drop(columns="n")],
                                     ignore_index=True)
    else:
        warn.append("observational association not computed: the exposure or the outcome is "
                    "not in the cohort")
    versions = package_versions("radiogenomics", "numpy", "scipy")
    frag = Fragment(title, citations=list(CITATIONS))
    frag.methods = _methods(opts, designs, label, versions)
    _report(frag, ctx, opts, out, designs, texts)
    used = {n: int(d["samplesize.exposure"].iloc[0]) for n, d in designs
            if n.startswith("one-sample")}
    rec = StepRecord(STEP, title, params=opts.model_dump(), seed=seed, versions=versions,
                     samples_used=used, features_used={n: int(len(d)) for n, d in designs},
                     numbers=_numbers(opts, out, designs), warnings=warn)
    return StepResult({**out, "data": dict(designs), **extra}, frag, rec)
