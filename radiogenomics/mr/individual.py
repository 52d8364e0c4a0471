"""Summary statistics from individual-level data: per-SNP regressions in a Cohort.

For each SNP ``g_j`` (allele dosage) and a trait ``y``, the OLS fit ``y ~ g_j + Z`` (``Z`` an
intercept, the covariates and, optionally, centre) gives ``beta``, its SE and p-value; by
Frisch-Waugh-Lovell this is ``beta = g~'y~ / g~'g~`` on covariate residuals ``~``, with
``se = sqrt(RSS / (n - k - 2) / g~'g~)``, exactly statsmodels' OLS (tested).  The result has
TwoSampleMR's columns for the chosen role (``beta.exposure`` ...), so a single cohort, or two
halves of it (two-sample MR), can be analysed with :mod:`radiogenomics.mr`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import InputError
from ..association import design_matrix, residualise
from ..cohort import Cohort

__all__ = ["snp_summary_statistics", "mr_input_from_cohort"]


def snp_summary_statistics(cohort: Cohort, trait: str, *, genotypes: str = "genotypes",
                           view: str | None = None, role: str = "exposure",
                           adjust_centre: bool = True, samples=None) -> pd.DataFrame:
    """Per-SNP association of one trait with every SNP of the genotype view.

    Parameters
    ----------
    cohort : Cohort
    trait : str
        Feature name; found in ``view`` if given, else in the outcomes, else in any view.
    genotypes : str
        Name of the genotype view (dosages 0/1/2).
    role : {"exposure", "outcome"}
        Column suffix of the output (``beta.exposure`` or ``beta.outcome``).
    samples : index-like, optional
        Restrict to these samples (e.g. one half for two-sample MR).

    Returns
    -------
    DataFrame with ``SNP``, ``beta.<role>``, ``se.<role>``, ``pval.<role>``, ``eaf.<role>``
    (dosage mean / 2), ``samplesize.<role>`` and ``<role>`` (the trait name).
    """
    if role not in ("exposure", "outcome"):
        raise InputError(f"role must be 'exposure' or 'outcome', got {role!r}")
    if genotypes not in cohort:
        raise InputError(f"the cohort has no {genotypes!r} view; name the genotype view with genotypes=")
    y = _trait(cohort, trait, view)
    G = cohort[genotypes]
    ids = G.index.intersection(y.dropna().index)
    if samples is not None:
        ids = ids.intersection(pd.Index(samples))
    if len(ids) < 10:
        raise InputError(f"only {len(ids)} samples have both genotypes and {trait!r}; need at least 10")
    centre = cohort.centre.loc[ids] if (adjust_centre and cohort.centre is not None
                                       and cohort.centre.loc[ids].nunique() > 1) else None
    cov = cohort.covariates.loc[ids] if cohort.covariates is not None else None
    Z = design_matrix(cov, ids, centre).to_numpy()
    g = G.loc[ids].to_numpy(dtype=np.float64)
    yv = y.loc[ids].to_numpy(dtype=np.float64)
    resid = residualise(np.column_stack([g, yv]), Z)
    gr, yr = resid[:, :-1], resid[:, -1]
    gg = np.einsum("ij,ij->j", gr, gr)
    if (gg <= 1e-12).any():
        bad = list(G.columns[gg <= 1e-12][:5])
        raise InputError(f"SNP(s) {bad} are monomorphic on these samples (no variance after "
                         "covariates); drop them from the genotype view")
    beta = gr.T @ yr / gg
    dof = len(ids) - Z.shape[1] - 1
    rss = np.sum(yr**2) - beta**2 * gg
    se = np.sqrt(rss / dof / gg)
    pval = 2 * stats.t.sf(np.abs(beta / se), dof)
    return pd.DataFrame({
        "SNP": G.columns.astype(str), f"beta.{role}": beta, f"se.{role}": se, f"pval.{role}": pval,
        f"eaf.{role}": g.mean(axis=0) / 2, f"samplesize.{role}": len(ids), role: trait,
    })


def _trait(cohort: Cohort, trait: str, view: str | None) -> pd.Series:
    if view is not None:
        return cohort[view][trait]
    if cohort.outcomes is not None and trait in cohort.outcomes.columns:
        return cohort.outcomes[trait]
    for v in cohort.views:
        if trait in cohort[v].columns:
            return cohort[v][trait]
    raise InputError(f"trait {trait!r} is in no view and not among the outcomes; give view=")


def mr_input_from_cohort(cohort: Cohort, exposure: str, outcome: str, *, split: bool = False,
                         rng=None, **kwargs) -> pd.DataFrame:
    """MR input (one row per SNP, TwoSampleMR columns, ``mr_keep`` True) from one cohort.

    Both traits use the same genotype coding, so no allele harmonisation is needed.
    ``split=True`` estimates the exposure and the outcome associations in two random halves of
    the samples (two-sample MR without sample overlap; ``rng`` chooses the halves).
    """
    from .._checks import check_rng

    exp_samples = out_samples = None
    if split:
        ids = cohort[kwargs.get("genotypes", "genotypes")].index
        perm = check_rng(rng).permutation(len(ids))
        exp_samples, out_samples = ids[perm[: len(ids) // 2]], ids[perm[len(ids) // 2:]]
    ex = snp_summary_statistics(cohort, exposure, role="exposure", samples=exp_samples, **kwargs)
    ou = snp_summary_statistics(cohort, outcome, role="outcome", samples=out_samples, **kwargs)
    dat = ex.merge(ou, on="SNP")
    dat["id.exposure"], dat["id.outcome"] = exposure, outcome
    dat["mr_keep"] = True
    return dat
