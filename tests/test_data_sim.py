"""Tests of the synthetic-cohort generator ``data_sim``.

Every statistical check compares a simulated quantity with the ground truth
the generator reports, with tolerances derived from the sampling error, so a
wrong model (wrong loadings, missing centre effect, wrong dispersion, wrong
allele orientation ...) fails the test.
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import data_sim
from data_sim import GroundTruth, make_cohort, make_mr_summary
from data_sim._names import radiomic_feature_names

SMALL = dict(n_samples=40, n_centres=3, n_radiomic=30, n_genes=60, n_snps=8,
             mr_sample_sizes=(2000, 2000))


def frames(**kw):
    return make_cohort(return_frames=True, **kw)


def sample_cca(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Classical sample CCA: whiten each centred block (QR), singular values of the cross product."""
    qx, _ = np.linalg.qr(X - X.mean(0))
    qy, _ = np.linalg.qr(Y - Y.mean(0))
    return np.linalg.svd(qx.T @ qy, compute_uv=False)


def anova_pvalues(df: pd.DataFrame, centre: pd.Series) -> np.ndarray:
    lab = centre.loc[df.index].to_numpy()
    groups = [df.to_numpy(float)[lab == c] for c in np.unique(lab)]
    return stats.f_oneway(*groups, axis=0).pvalue


def assert_frames_equal(a, b):
    assert a.keys() == b.keys()
    for k in a:
        pd.testing.assert_frame_equal(a[k], b[k])


# --------------------------------------------------------------------------- basics
def test_same_seed_identical_different_seed_differs():
    c1, t1 = frames(**SMALL, rng=7)
    c2, t2 = frames(**SMALL, rng=7)
    c3, t3 = frames(**SMALL, rng=np.random.default_rng(7))
    c4, _ = frames(**SMALL, rng=8)
    for c in (c2, c3):
        assert_frames_equal(c1.views, c.views)
        pd.testing.assert_frame_equal(c1.covariates, c.covariates)
        pd.testing.assert_series_equal(c1.centre, c.centre)
        pd.testing.assert_frame_equal(c1.outcomes, c.outcomes)
    assert_frames_equal(t1.latent_blocks, t2.latent_blocks)
    assert_frames_equal(t1.clean, t3.clean)
    pd.testing.assert_frame_equal(t1.mr.outcome, t2.mr.outcome)
    for v in c1.views:
        assert not c1.views[v].equals(c4.views[v]), v
    assert not c1.covariates.equals(c4.covariates)


def test_frame_layout_and_names():
    c, t = frames(**SMALL, missing_rate=0.25, rng=1)
    n = SMALL["n_samples"]
    assert set(c.views) == set(data_sim.DEFAULT_VIEWS)
    for name, df in c.views.items():
        assert df.index.name == "sample_id", name
        assert all(re.fullmatch(r"S\d{4}", s) for s in df.index), name
        assert df.index.is_unique and df.columns.is_unique
    for obj in (c.covariates, c.outcomes):
        assert len(obj) == n and obj.index.equals(t.sample_ids)
    assert list(c.covariates.columns) == ["age", "sex"]
    assert c.covariates["age"].dtype == float and set(c.covariates["sex"]) <= {"F", "M"}
    assert c.centre.name == "centre" and set(c.centre) == {"C1", "C2", "C3"}
    assert c.centre.index.equals(t.sample_ids)
    assert list(c.outcomes.columns) == ["outcome_binary", "outcome_continuous"]
    assert set(c.outcomes["outcome_binary"]) <= {0, 1}
    assert pd.api.types.is_integer_dtype(c.outcomes["outcome_binary"])
    assert all(re.fullmatch(r"G\d{5}", g) for g in c.views["expression"].columns)
    assert list(c.views["traits"].columns) == ["lv_mass_index", "lvef", "ecv", "myo_t1"]
    assert c.views["radiomics"].columns[0] == "original_shape_Elongation"
    # pyradiomics-style names, unique for large feature counts
    pat = re.compile(r"(original|wavelet-[LH]{3}|log-sigma-\d+-\d-mm-3D|square|squareroot|logarithm|"
                     r"exponential|gradient|lbp-3D-(m1|m2|k))_(shape|firstorder|glcm|glrlm|glszm|gldm|ngtdm)_\w+")
    names = radiomic_feature_names(2600)
    assert len(set(names)) == 2600 and all(pat.fullmatch(s) for s in names)
    assert "original_glcm_Contrast" in names and "wavelet-LLH_firstorder_Mean" in names
    assert "log-sigma-2-0-mm-3D_glszm_ZonePercentage" in names
    # views are a selectable subset
    c2, _ = frames(**SMALL, views=("radiomics", "expression"), rng=1)
    assert set(c2.views) == {"radiomics", "expression"}


def test_summary_and_repr():
    _, t = frames(**SMALL, rng=3)
    assert isinstance(t, GroundTruth)
    r = repr(t)
    assert r.startswith("GroundTruth(") and "0.80" in r and len(r) < 200
    s = t.summary()
    assert "canonical correlations declared" in s and "lv_mass_index" in s


# --------------------------------------------------------------------------- canonical correlations
def test_declared_equals_formula_and_dense_population_cca():
    targets = (0.85, 0.5, 0.3)
    _, t = frames(n_samples=50, n_radiomic=12, n_genes=15, n_shared_factors=3,
                  canonical_correlations=targets, radiomic_signal=(30, 10, 5),
                  expression_signal=(20, 8, 15), rng=2)
    np.testing.assert_allclose(t.canonical_correlations, sorted(targets, reverse=True), atol=1e-12)
    np.testing.assert_allclose(t.canonical_correlations_computed, t.canonical_correlations, atol=1e-10)
    np.testing.assert_allclose(t.population_canonical_correlations(), t.canonical_correlations, atol=1e-10)
    # dense check: build the p x p / q x q population covariances and solve the CCA directly
    A, B = t.loadings["radiomics"].to_numpy(), t.loadings["expression"].to_numpy()
    Lx, Ly = t.specific_loadings["radiomics"].to_numpy(), t.specific_loadings["expression"].to_numpy()
    Sxx = A @ A.T + Lx @ Lx.T + np.diag(t.noise_variance["radiomics"])
    Syy = B @ B.T + Ly @ Ly.T + np.diag(t.noise_variance["expression"])
    Sxy = A @ np.diag(t.latent_correlations) @ B.T
    Wx = np.linalg.inv(np.linalg.cholesky(Sxx))
    Wy = np.linalg.inv(np.linalg.cholesky(Syy))
    dense = np.linalg.svd(Wx @ Sxy @ Wy.T, compute_uv=False)[:3]
    np.testing.assert_allclose(dense, t.canonical_correlations, atol=1e-10)
    # reliabilities r = g / (1 + g) and rho_tilde = rho / sqrt(r_x r_y)
    r = t.reliability
    np.testing.assert_allclose(r["radiomics"], np.array([30, 10, 5]) / np.array([31, 11, 6]))
    np.testing.assert_allclose(t.latent_correlations,
                               np.array(targets) / np.sqrt(r["radiomics"] * r["expression"]))


def test_sample_cca_of_latent_blocks_matches_declared_at_large_n():
    _, t = frames(n_samples=20_000, n_radiomic=6, n_genes=8, rng=11)
    s = sample_cca(t.latent_blocks["radiomics"].to_numpy(), t.latent_blocks["expression"].to_numpy())
    np.testing.assert_allclose(s[:2], [0.8, 0.6], atol=0.02)
    assert s[2] < 0.05  # only k = 2 shared directions
    # the latent correlation of the factor pairs is realised too
    u, v = t.latent_factors["radiomics"], t.latent_factors["expression"]
    emp = [np.corrcoef(u[f], v[f])[0, 1] for f in u.columns]
    np.testing.assert_allclose(emp, t.latent_correlations, atol=0.02)


def test_signal_features_carry_all_cross_view_association():
    _, t = frames(n_samples=20_000, n_radiomic=30, n_genes=40, loading_density=(0.3, 0.2), rng=17)
    sx, sy = t.signal_features("radiomics"), t.signal_features("expression")
    assert sx.sum() == 9 and 8 <= sy.sum() < 40
    A, B = t.loadings["radiomics"].to_numpy(), t.loadings["expression"].to_numpy()
    assert np.all(A[~sx.to_numpy()] == 0) and np.all(B[~sy.to_numpy()] == 0)
    X, Y = t.latent_blocks["radiomics"], t.latent_blocks["expression"]
    r = np.corrcoef(X.to_numpy(), Y.to_numpy(), rowvar=False)[:30, 30:]
    both = np.outer(sx, sy)
    assert np.abs(r[~both]).max() < 4.5 / np.sqrt(20_000)  # no association outside signal pairs
    pop = A @ np.diag(t.latent_correlations) @ B.T / np.outer(X.std(), Y.std())
    np.testing.assert_allclose(r[both], pop[both], atol=4.5 / np.sqrt(20_000))
    assert np.abs(pop[both]).max() > 0.1
    _, t0 = frames(n_samples=50, n_radiomic=30, n_genes=40, null=True, rng=17)
    assert not t0.signal_features("radiomics").any() and not t0.signal_features("expression").any()


def test_small_n_sample_cca_is_biased_upwards():
    tops = [sample_cca(t.latent_blocks["radiomics"].to_numpy(), t.latent_blocks["expression"].to_numpy())[0]
            for _, t in (frames(n_samples=30, n_radiomic=6, n_genes=8, rng=s) for s in range(15))]
    assert np.mean(tops) > 0.8 + 0.05


def test_null_scenario_removes_shared_signal_only():
    c0, t0 = frames(n_samples=20_000, n_radiomic=6, n_genes=8, null=True, rng=12)
    assert np.all(t0.canonical_correlations == 0) and np.all(t0.latent_correlations == 0)
    np.testing.assert_allclose(t0.canonical_correlations_computed, 0, atol=1e-12)
    s = sample_cca(t0.latent_blocks["radiomics"].to_numpy(), t0.latent_blocks["expression"].to_numpy())
    assert s[0] < 0.06
    # marginals, covariates and centre effects are kept: the non-null twin has the same
    # radiomic block, covariates, centres and centre effects
    c1, t1 = frames(n_samples=20_000, n_radiomic=6, n_genes=8, null=False, rng=12)
    pd.testing.assert_frame_equal(c0.views["radiomics"], c1.views["radiomics"])
    pd.testing.assert_frame_equal(c0.covariates, c1.covariates)
    pd.testing.assert_frame_equal(t0.centre_effects["expression"]["additive"],
                                  t1.centre_effects["expression"]["additive"])
    np.testing.assert_allclose(t0.latent_blocks["expression"].var(), t1.latent_blocks["expression"].var(),
                               rtol=0.05)


def test_unattainable_canonical_correlation_raises():
    with pytest.raises(ValueError, match="radiomic_signal / expression_signal"):
        frames(**SMALL, canonical_correlations=(0.95, 0.5), radiomic_signal=2.0, rng=0)
    with pytest.raises(ValueError, match="length"):
        frames(**SMALL, n_shared_factors=3, rng=0)


# --------------------------------------------------------------------------- centre effects
def test_centre_effects_present_in_observed_absent_in_clean():
    obs = {"radiomics": [], "expression": []}
    cln = {"radiomics": [], "expression": []}
    for seed in range(3):
        c, t = frames(n_samples=300, n_radiomic=300, n_genes=2000, centre_weights=(1, 1, 1), rng=seed)
        for v in obs:
            obs[v].append(np.mean(anova_pvalues(c.views[v], c.centre) < 0.05))
            cln[v].append(np.mean(anova_pvalues(t.clean[v], c.centre) < 0.05))
    for v in obs:
        assert np.mean(obs[v]) > 0.75, (v, obs[v])
        assert 0.02 < np.mean(cln[v]) < 0.09, (v, cln[v])


def test_clean_companion_differs_only_by_centre_terms():
    c, t = frames(**SMALL, radiomic_transform="none", rng=4)
    lab = c.centre.to_numpy()
    for view in ("radiomics",):
        ce = t.centre_effects[view]
        gam = ce["additive"].loc[lab].to_numpy()
        dl = ce["multiplicative"].loc[lab].to_numpy()
        eps = t.noise[view].to_numpy()
        diff = (c.views[view] - t.clean[view]).to_numpy()
        np.testing.assert_allclose(diff, gam + (dl - 1) * eps, rtol=0, atol=1e-10)
        assert np.abs(gam).max() > 0.05 and np.abs(dl - 1).max() > 0.05
    # with the realistic (skewed) transform the identity holds on the Gaussian layer
    c, t = frames(**SMALL, rng=4)
    tr = t.radiomic_transform
    assert {"lognormal", "affine"} <= set(tr.table["kind"])
    assert (c.views["radiomics"].loc[:, tr.table["kind"] == "lognormal"] > 0).all().all()
    diff = tr.inverse(c.views["radiomics"]) - tr.inverse(t.clean["radiomics"])
    ce = t.centre_effects["radiomics"]
    expect = (ce["additive"].loc[lab].to_numpy()
              + (ce["multiplicative"].loc[lab].to_numpy() - 1) * t.noise["radiomics"].to_numpy())
    np.testing.assert_allclose(diff.to_numpy(), expect, atol=1e-8)
    pd.testing.assert_frame_equal(tr.forward(t.radiomics_gaussian()), c.views["radiomics"], rtol=1e-10)
    # expression: Gaussian layer differs by the same ComBat terms
    ce = t.centre_effects["expression"]
    expect = (ce["additive"].loc[lab].to_numpy()
              + (ce["multiplicative"].loc[lab].to_numpy() - 1) * t.noise["expression"].to_numpy())
    diff = (t.expression_eta() - t.expression_eta(clean=True)).to_numpy()
    np.testing.assert_allclose(diff, expect, atol=1e-10)


def test_without_centre_effects_clean_equals_observed():
    c, t = frames(**SMALL, centre_effects=False, rng=5)
    for v in ("radiomics", "expression", "expression_counts", "modules"):
        pd.testing.assert_frame_equal(c.views[v], t.clean[v], check_exact=True)
    assert (t.centre_effects["expression"]["additive"] == 0).all().all()


def test_centre_imbalance_and_age_confounding():
    c, _ = frames(n_samples=1000, n_radiomic=10, n_genes=20, centre_weights=(0.6, 0.3, 0.1),
                  age_centre_shift=10.0, rng=6)
    assert c.centre.value_counts().sort_index().tolist() == [600, 300, 100]
    ages = [c.covariates["age"][c.centre == k] for k in ("C1", "C2", "C3")]
    assert stats.f_oneway(*ages).pvalue < 1e-20
    assert ages[2].mean() - ages[0].mean() > 15
    c, _ = frames(n_samples=1000, n_radiomic=10, n_genes=20, rng=6)
    ages = [c.covariates["age"][c.centre == k] for k in ("C1", "C2", "C3")]
    assert stats.f_oneway(*ages).pvalue > 1e-3
    assert c.centre.value_counts().nunique() > 1  # Dirichlet imbalance by default


# --------------------------------------------------------------------------- covariates
def test_covariate_effects_recovered_by_ols():
    c, t = frames(n_samples=4000, n_radiomic=25, n_genes=40, radiomic_transform="none",
                  covariate_effect=0.5, rng=7)
    design = pd.get_dummies(c.centre, drop_first=True, dtype=float)
    design["age"] = c.covariates["age"]
    design["sex_M"] = (c.covariates["sex"] == "M").astype(float)
    design = sm.add_constant(design)
    for view, Y in (("radiomics", c.views["radiomics"]), ("expression", t.expression_eta())):
        eff = t.covariate_effects[view]
        zs = []
        for col in Y.columns:
            fit = sm.OLS(Y[col], design).fit()
            for cov in ("age", "sex_M"):
                zs.append((fit.params[cov] - eff.loc[cov, col]) / fit.bse[cov])
        zs = np.abs(zs)
        assert zs.max() < 4.5, (view, zs.max())
        assert np.abs(eff.loc["sex_M"]).max() > 0.05
    # on the log-CPM view the effects appear scaled by 1/log 2 for well-expressed genes, up to a
    # shift common to all genes (CPM normalisation by the sample total): compare centred effects
    expr = c.views["expression"]
    good = t.base_mean[t.base_mean > 20].index[:10]
    fits = [sm.OLS(expr[g], design).fit() for g in good]
    est = np.array([f.params["age"] for f in fits])
    se = np.array([f.bse["age"] for f in fits])
    true = t.covariate_effects["expression"].loc["age", good].to_numpy() / np.log(2)
    assert np.all(np.abs((est - est.mean()) - (true - true.mean())) < 5 * se + 0.003)
    assert np.abs(true - true.mean()).max() > 0.02


# --------------------------------------------------------------------------- counts
def test_nb_counts_mean_variance_match_dispersion():
    c, t = frames(n_samples=4000, n_radiomic=10, n_genes=60, rng=8)
    y = c.views["expression_counts"].to_numpy(float)
    m = t.expected_counts().to_numpy()
    phi = t.dispersion.to_numpy()
    var = m + phi * m ** 2
    z_mean = (y - m).sum(0) / np.sqrt(var.sum(0))  # per-gene standardised mean error
    assert np.abs(z_mean).max() < 4.5 and abs(z_mean.mean()) < 4.5 / np.sqrt(len(z_mean))
    # squared Pearson residuals under Var = m + phi m^2 average to 1 per gene
    pearson = ((y - m) ** 2 / (m + phi * m ** 2)).mean(0)
    assert np.abs(pearson - 1).max() < 0.2 and abs(pearson.mean() - 1) < 0.03
    # a Poisson model (phi = 0) would not fit: the extra-Poisson variance is needed
    assert ((y - m) ** 2 / m).mean() > 5
    # clean counts are NB with the clean means
    yc = t.clean["expression_counts"].to_numpy(float)
    mc = t.expected_counts(clean=True).to_numpy()
    assert np.abs((yc - mc).sum(0) / np.sqrt((mc + phi * mc ** 2).sum(0))).max() < 4.5
    assert abs(((yc - mc) ** 2 / (mc + phi * mc ** 2)).mean() - 1) < 0.03


def test_logcpm_and_module_views_exact():
    c, t = frames(**SMALL, missing_rate=0.2, rng=9)
    counts = c.views["expression_counts"]
    assert pd.api.types.is_integer_dtype(counts.dtypes.iloc[0]) and (counts >= 0).all().all()
    lib = counts.sum(axis=1).to_numpy()[:, None]
    expect = np.log2(counts.to_numpy() / lib * 1e6 + 1)
    assert np.array_equal(c.views["expression"].to_numpy(), expect)
    expr = c.views["expression"]
    z = (expr - expr.mean()) / expr.std(ddof=1)
    for mod, genes in t.modules.items():
        np.testing.assert_allclose(c.views["modules"][mod], z[genes].mean(axis=1), atol=1e-12)
    assert c.views["modules"].index.equals(expr.index) and counts.index.equals(expr.index)
    all_genes = sum(t.modules.values(), [])
    assert len(all_genes) == len(set(all_genes)) and set(all_genes) <= set(expr.columns)


@pytest.mark.parametrize("n, seed, miss", [(20, 0, 0.0), (20, 1, 0.3), (10, 2, 0.0), (12, 3, 0.2)])
def test_no_constant_columns_at_small_n(n, seed, miss):
    c, _ = frames(n_samples=n, n_centres=2, missing_rate=miss, rng=seed)
    for name, df in c.views.items():
        assert (df.nunique() > 1).all(), name
        assert not df.isna().any().any(), name


# --------------------------------------------------------------------------- missingness
def test_mcar_missing_views():
    c, t = frames(n_samples=1000, n_radiomic=10, n_genes=20, missing_rate=0.3, rng=10)
    n = 1000
    assert len(c.views["radiomics"]) == n
    for v in ("expression", "expression_counts", "modules"):
        assert abs(1 - len(c.views[v]) / n - 0.3) < 0.01
        assert set(c.views[v].index) == set(t.sample_ids[~t.missing["expression"]])
    assert abs(1 - len(c.views["genotypes"]) / n - 0.3) < 0.01
    assert not t.missing["radiomics"].any()
    assert len(c.covariates) == len(c.outcomes) == len(c.centre) == n
    # MCAR: missingness unrelated to centre and covariates
    tab = pd.crosstab(c.centre, t.missing["expression"])
    assert stats.chi2_contingency(tab).pvalue > 1e-3


def test_missing_by_centre():
    c, t = frames(n_samples=900, n_radiomic=10, n_genes=20, centre_weights=(1, 1, 1),
                  missing_rate=0.1, missing_by_centre={"C2": 0.6}, rng=11)
    rate = t.missing["expression"].groupby(c.centre).mean()
    assert abs(rate["C2"] - 0.6) < 0.01 and abs(rate["C1"] - 0.1) < 0.02 and abs(rate["C3"] - 0.1) < 0.02
    assert len(c.views["radiomics"]) == 900
    # per-assay form
    _, t = frames(n_samples=900, n_radiomic=10, n_genes=20, centre_weights=(1, 1, 1),
                  missing_by_centre={"genotypes": {"C1": 0.5}}, rng=11)
    rate = t.missing["genotypes"].groupby(t.centre).mean()
    assert rate["C1"] > 0.45 and rate[["C2", "C3"]].max() == 0 and not t.missing["expression"].any()


# --------------------------------------------------------------------------- genetics
@pytest.fixture(scope="module")
def genetic_cohort():
    return frames(n_samples=5000, n_radiomic=10, n_genes=200, n_snps=30, pleiotropy=0.05,
                  instrument_r2=0.2, rng=13)


def test_genotypes_maf_hwe(genetic_cohort):
    c, t = genetic_cohort
    G = c.views["genotypes"]
    assert set(np.unique(G.to_numpy())) <= {0, 1, 2} and (G.nunique() > 1).all()
    f = G.mean() / 2
    assert f.between(0.04, 0.51).all()
    assert t.instruments["eaf"].between(0.05, 0.5).all()
    np.testing.assert_allclose(f, t.instruments["eaf"], atol=0.03)
    n = len(G)
    obs = np.stack([(G == k).sum() for k in (0, 1, 2)], axis=1)
    exp = n * np.stack([(1 - f) ** 2, 2 * f * (1 - f), f ** 2], axis=1)
    p = stats.chi2.sf(((obs - exp) ** 2 / exp).sum(1), df=1)
    assert (p < 0.01).sum() <= 3


def test_instruments_drive_module_and_causal_trait(genetic_cohort):
    c, t = genetic_cohort
    G = c.views["genotypes"]
    mod = t.instrumented_module
    score = G @ t.instruments["gamma"]
    fit = sm.OLS(c.views["modules"][mod], sm.add_constant(score)).fit()
    assert fit.pvalues.iloc[1] < 1e-20
    # individual-level 2SLS with the allele score recovers the causal effect on the standardised trait
    sc = t.trait_scale.loc[t.causal_trait]
    tstar = (c.views["traits"][t.causal_trait] - sc["mean"]) / sc["sd"]
    tstar = tstar - (G - 2 * t.instruments["eaf"]) @ t.instruments["alpha"]  # remove known pleiotropy
    act = t.module_activity[mod]
    s = score - score.mean()
    est = (s @ tstar) / (s @ act)
    resid = tstar - tstar.mean() - est * (act - act.mean())
    se = np.sqrt(resid.var() * s.var() / (len(s) * (s @ act / len(s)) ** 2))
    assert abs(est - t.causal_effect) < 4 * se
    # the trait is confounded: naive OLS of trait on activity is biased
    naive = np.polyfit(act, tstar, 1)[0]
    assert naive - t.causal_effect > 4 * se
    # directional pleiotropy on the trait: oriented direct effects have the requested mean
    a = t.instruments["alpha"] * np.sign(t.instruments["gamma"])
    assert a.mean() > 0.03
    # the embedded MR summary uses the same instruments
    assert list(t.mr.snps.index) == list(G.columns)
    assert t.mr.causal_effect == t.causal_effect


_COMP = {"A": "T", "T": "A", "C": "G", "G": "C"}


def harmonise(exp: pd.DataFrame, out: pd.DataFrame) -> np.ndarray:
    """Minimal TwoSampleMR-like harmonisation; returns +1/-1 per SNP for the outcome beta."""
    m = exp.merge(out, on="SNP")
    signs = []
    for _, r in m.iterrows():
        ea, oa = r["effect_allele.exposure"], r["other_allele.exposure"]
        eo, oo = r["effect_allele.outcome"], r["other_allele.outcome"]
        if _COMP[ea] == oa:  # palindromic: infer strand from allele frequencies
            signs.append(1.0 if (r["eaf.exposure"] - 0.5) * (r["eaf.outcome"] - 0.5) > 0 else -1.0)
        elif (eo, oo) == (ea, oa) or (eo, oo) == (_COMP[ea], _COMP[oa]):
            signs.append(1.0)
        elif (eo, oo) == (oa, ea) or (eo, oo) == (_COMP[oa], _COMP[ea]):
            signs.append(-1.0)
        else:  # pragma: no cover
            raise AssertionError("alleles do not match")
    return np.array(signs)


def ivw(bx, by, sy):
    w = 1 / sy ** 2
    est = np.sum(w * bx * by) / np.sum(w * bx ** 2)
    return est, 1 / np.sqrt(np.sum(w * bx ** 2))


def test_mr_summary_format_harmonisation_and_ivw():
    mr = make_mr_summary(30, 50_000, 50_000, causal_effect=0.3, rng=21)
    exp, out, theta = mr
    assert list(exp.columns) == ["SNP", "beta.exposure", "se.exposure", "effect_allele.exposure",
                                 "other_allele.exposure", "eaf.exposure", "pval.exposure",
                                 "samplesize.exposure", "exposure", "id.exposure"]
    assert list(out.columns) == [c.replace("exposure", "outcome") for c in exp.columns]
    assert theta == 0.3
    alleles = set(exp["effect_allele.exposure"]) | set(out["other_allele.outcome"])
    assert alleles <= set("ACGT")
    snps = mr.snps
    pal = snps["palindromic"].to_numpy()
    assert 1 <= pal.sum() and snps["outcome_allele_swapped"].sum() >= 1
    assert snps["outcome_strand_flipped"].sum() >= 1
    assert (snps["outcome_strand_flipped"] & snps["palindromic"]).any()
    pal_pairs = {frozenset("AT"), frozenset("CG")}
    is_pal = [frozenset((a, b)) in pal_pairs for a, b in zip(exp["effect_allele.exposure"],
                                                            exp["other_allele.exposure"])]
    assert np.array_equal(is_pal, pal)
    # reported orientation differs from the exposure exactly for the recorded rows
    same = (exp["effect_allele.exposure"].to_numpy() == out["effect_allele.outcome"].to_numpy())
    changed = snps["outcome_allele_swapped"] | snps["outcome_strand_flipped"]
    assert np.array_equal(~same, changed.to_numpy())
    signs = harmonise(exp, out)
    np.testing.assert_array_equal(signs, snps["outcome_sign"].to_numpy())
    np.testing.assert_allclose(exp["pval.exposure"],
                               2 * stats.t.sf(np.abs(exp["beta.exposure"] / exp["se.exposure"]), 50_000 - 2),
                               rtol=1e-8)
    assert (exp["samplesize.exposure"] == 50_000).all() and exp["id.exposure"].nunique() == 1
    np.testing.assert_allclose(exp["eaf.exposure"], snps["eaf"], atol=0.01)
    est, se = ivw(exp["beta.exposure"].to_numpy(), signs * out["beta.outcome"].to_numpy(),
                  out["se.outcome"].to_numpy())
    assert abs(est - 0.3) < 4 * se and se < 0.05
    # without harmonisation the estimate is wrong
    bad, _ = ivw(exp["beta.exposure"].to_numpy(), out["beta.outcome"].to_numpy(), out["se.outcome"].to_numpy())
    assert abs(bad - 0.3) > 4 * se
    # instrument effects are recovered per SNP
    z = (exp["beta.exposure"].to_numpy() - snps["gamma"].to_numpy()) / exp["se.exposure"].to_numpy()
    assert np.abs(z).max() < 4.5


def test_mr_weak_instruments_and_pleiotropy():
    strong = make_mr_summary(30, 20_000, 20_000, rng=22)
    weak = make_mr_summary(30, 20_000, 20_000, weak=True, rng=22)
    f = lambda e: ((e["beta.exposure"] / e["se.exposure"]) ** 2).mean()  # noqa: E731
    assert f(strong.exposure) > 30 and f(weak.exposure) < 10
    mr = make_mr_summary(100, 100_000, 100_000, causal_effect=0.2, pleiotropy=0.03, rng=23)
    bx = mr.exposure["beta.exposure"].to_numpy()
    by = mr.snps["outcome_sign"].to_numpy() * mr.outcome["beta.outcome"].to_numpy()
    sy = mr.outcome["se.outcome"].to_numpy()
    est, se = ivw(bx, by, sy)
    assert est - 0.2 > 4 * se  # directional pleiotropy biases IVW upwards
    s = np.sign(bx)
    fit = sm.WLS(by * s, sm.add_constant(bx * s), weights=1 / sy ** 2).fit()  # MR-Egger
    assert abs(fit.params[1] - 0.2) < 4 * fit.bse[1]
    assert abs(fit.params[0] - 0.03) < 4 * fit.bse[0] and fit.pvalues[0] < 1e-3


# --------------------------------------------------------------------------- outcomes
def test_outcomes_driven_by_shared_factors():
    c, t = frames(n_samples=20_000, n_radiomic=6, n_genes=8, rng=14)
    X = sm.add_constant(t.shared_factors)
    coef = t.outcome_coefficients
    fit = sm.Logit(c.outcomes["outcome_binary"], X).fit(disp=0)
    z = (fit.params.to_numpy() - coef["outcome_binary"].to_numpy()) / fit.bse.to_numpy()
    assert np.abs(z).max() < 4
    fit = sm.OLS(c.outcomes["outcome_continuous"], X).fit()
    z = (fit.params.to_numpy() - coef["outcome_continuous"].to_numpy()) / fit.bse.to_numpy()
    assert np.abs(z).max() < 4
    assert abs(np.sqrt(fit.scale) - t.outcome_noise_sd) < 0.03


# --------------------------------------------------------------------------- scale
def test_large_cohort_runs():
    c, t = frames(n_samples=300, n_centres=3, n_radiomic=1000, n_genes=20_000, rng=15)
    assert c.views["radiomics"].shape == (300, 1000)
    assert c.views["expression_counts"].shape == (300, 20_000)
    assert (c.views["expression_counts"].to_numpy().max(axis=0) > 0).all()
    np.testing.assert_allclose(t.canonical_correlations_computed, [0.8, 0.6], atol=1e-10)


# --------------------------------------------------------------------------- Cohort object
def test_returns_radiogenomics_cohort():
    from radiogenomics import Cohort

    cohort, truth = make_cohort(**SMALL, missing_rate=0.2, rng=16)
    ref, _ = frames(**SMALL, missing_rate=0.2, rng=16)
    assert isinstance(cohort, Cohort)
    assert set(cohort.views) == set(ref.views)
    for k in ref.views:
        pd.testing.assert_frame_equal(cohort.views[k], ref.views[k], check_names=False)
    pd.testing.assert_frame_equal(cohort.covariates.astype({"sex": str}), ref.covariates,
                                  check_names=False, check_dtype=False)
    pd.testing.assert_series_equal(cohort.centre.astype(str), ref.centre.astype(str), check_names=False)
    pd.testing.assert_frame_equal(cohort.outcomes, ref.outcomes, check_names=False, check_dtype=False)
    # the generator's guarantees (no constant columns, no NaN, metadata for every sample)
    # satisfy the Cohort's strict default validation also for tiny cohorts with missing views
    for n, seed in ((10, 0), (12, 1), (20, 2)):
        cohort, _ = make_cohort(n_samples=n, missing_rate=0.2, rng=seed)
        assert len(cohort.report) == 0 and cohort.n_samples == n


# --------------------------------------------------------------------------- SPEC 7 rng
def _outputs(make, tmp_path):
    """A fingerprint of every public stochastic data_sim function; ``make()`` gives a fresh
    ``rng`` for each (numpy's SeedSequence / Generator objects are stateful: spawning from
    them advances them)."""
    from data_sim import draw_instruments, make_phantoms, simulate_dosages

    fresh = make
    c, _ = frames(n_samples=12, n_centres=2, n_radiomic=6, n_genes=20, n_snps=3,
                  mr_sample_sizes=(200, 200), rng=fresh())
    mr = make_mr_summary(n_snps=4, n_exposure=300, n_outcome=300, rng=fresh())
    ins = draw_instruments(5, rng=fresh())
    dos = simulate_dosages(7, np.full(3, 0.3), rng=fresh())
    ph = make_phantoms(tmp_path / f"ph{len(list(tmp_path.iterdir()))}", n_samples=1,
                       rng=fresh())
    return (c.views["radiomics"].to_numpy().sum(), mr.exposure["beta.exposure"].sum(),
            ins["eaf"].sum(), int(dos.sum()), ph.truth["wall_thickness_mm"].sum(),
            ph.centre_effects["gain"].sum())


def test_every_stochastic_function_takes_spec7_rng(tmp_path):
    """int, SeedSequence, BitGenerator and Generator built from the same seed give the same
    output in every public stochastic function; None works; bool and RandomState are refused;
    as_generator is the toolkit's check_rng (same stream for every accepted type)."""
    from data_sim._utils import as_generator
    from radiogenomics._checks import check_rng

    ref = _outputs(lambda: 3, tmp_path)
    for make in (lambda: np.random.SeedSequence(3), lambda: np.random.PCG64(3),
                 lambda: np.random.default_rng(3)):
        np.testing.assert_allclose(_outputs(make, tmp_path), ref, rtol=0, atol=0)
    assert _outputs(lambda: None, tmp_path) != ref
    for bad, err in ((True, TypeError), (np.random.RandomState(3), TypeError), (-1, ValueError)):
        with pytest.raises(err):
            make_mr_summary(n_snps=4, rng=bad)
        with pytest.raises(err):
            as_generator(bad)
    for make in (lambda: 3, lambda: np.random.SeedSequence(3), lambda: np.random.PCG64(3),
                 lambda: np.random.default_rng(3)):
        assert as_generator(make()).random(4).tolist() == check_rng(make()).random(4).tolist()
    g = np.random.default_rng(1)
    assert as_generator(g) is g
