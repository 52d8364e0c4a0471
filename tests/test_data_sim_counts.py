"""Tests of the synthetic counts generators :mod:`data_sim.counts`.

Statistical checks compare what the simulated data show with the truth the generator reports
(effect sizes, dispersions, proportions, the latent factor), with tolerances from the sampling
error, so a generator whose data do not follow its own truth fails.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from scipy import sparse, stats

from conftest import require

anndata = require("anndata")

from data_sim.counts import (CARDIAC_CELL_TYPES, HEART_GENES, BulkCountsStudy,  # noqa: E402
                             make_bulk_counts, make_single_cell)
from radiogenomics.expression.pseudobulk import pseudobulk  # noqa: E402


@pytest.fixture(scope="module")
def big():
    """A large study for the statistical checks (n = 300)."""
    return make_bulk_counts(300, 1500, n_associated=150, effect_size=0.5, rng=2024)


def corr_with(logexpr: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Pearson correlation of every column of ``logexpr`` with ``x`` (NaN for constant columns)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (logexpr - logexpr.mean(0)) / logexpr.std(0)
    xz = (x - x.mean()) / x.std()
    return (z * xz[:, None]).mean(0)


# --------------------------------------------------------------------------- bulk: basics
def test_bulk_same_seed_identical_different_seed_differs():
    kw = dict(n_samples=12, n_genes=200, n_associated=10, n_features=2)
    a, b = make_bulk_counts(**kw, rng=5), make_bulk_counts(**kw, rng=np.random.default_rng(5))
    c = make_bulk_counts(**kw, rng=6)
    for name in ("counts", "imaging", "covariates", "truth", "centre_effects"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    pd.testing.assert_series_equal(a.centre, b.centre)
    assert not a.counts.equals(c.counts)


def test_bulk_shapes_dtypes_names():
    s = make_bulk_counts(30, 400, n_centres=3, n_associated=40, n_features=5, rng=1)
    assert isinstance(s, BulkCountsStudy)
    assert s.counts.shape == (30, 400) and s.counts.dtypes.eq(np.int64).all()
    assert (s.counts.to_numpy() >= 0).all()
    assert s.counts.index.name == "sample_id" and s.counts.index[0] == "S0001"
    assert list(s.counts.columns[:20]) == list(HEART_GENES.index)
    assert s.counts.columns.is_unique and list(s.truth.index) == list(s.counts.columns)
    assert list(s.imaging.columns) == ["lv_mass_index", "lvef", "ecv", "myo_t1",
                                       "imaging_feature_5"]
    for df in (s.imaging, s.covariates, s.imaging_latent):
        assert df.index.equals(s.counts.index)
    assert set(s.covariates["sex"]) <= {"F", "M"} and s.covariates["age"].between(18, 95).all()
    assert sorted(s.centre.unique()) == ["C1", "C2", "C3"] and s.centre.value_counts().min() == 10
    assert s.truth["associated"].sum() == 40 == len(s.associated_genes)
    # features assigned in turn; non-associated genes have no feature and zero effect
    assert s.truth.loc[s.truth["associated"], "feature"].value_counts().tolist() == [8] * 5
    assert (s.truth.loc[~s.truth["associated"], "feature"] == "").all()
    assert (s.truth.loc[~s.truth["associated"], "log2_fc_per_sd"] == 0).all()
    assert np.allclose(s.truth.loc[s.truth["associated"], "log2_fc_per_sd"].abs(), 0.5)
    assert (s.truth.loc[s.truth["associated"], "kind"] == "expressed").all()
    np.testing.assert_array_equal(s.lib_size, s.counts.sum(axis=1))
    pd.testing.assert_frame_equal(s.log_cpm(), pd.DataFrame(
        np.log2(s.counts.div(s.lib_size, axis=0) * 1e6 + 1)), check_names=False)
    assert "30 samples x 400 genes" in repr(s) and "40 associated" in repr(s)


def test_bulk_library_sizes_heart_share_and_low_genes():
    s = make_bulk_counts(100, 4000, rng=3)
    assert s.depth.between(10e6, 40e6).all()
    assert s.depth.max() / s.depth.min() > 1.8  # spread over the range
    ratio = s.lib_size / s.depth
    assert 0.8 < ratio.min() and ratio.max() < 1.25 and abs(ratio.median() - 1) < 0.05
    share = s.counts.div(s.lib_size, axis=0)
    heart = share[list(HEART_GENES.index)].sum(axis=1)
    assert 0.3 < heart.median() < 0.55
    mito = share[[g for g in HEART_GENES.index if g.startswith("MT-")]].sum(axis=1)
    assert 0.2 < mito.median() < 0.4
    assert (share.mean().sort_values(ascending=False).index[:5].isin(HEART_GENES.index)).all()
    low = (share.mean() * 1e6 < 0.5).mean()
    assert 0.2 <= low <= 0.3
    # a single number gives lognormal depths around that median
    s2 = make_bulk_counts(200, 200, library_size=20e6, centre_effects=False, rng=3)
    assert abs(np.log(s2.depth.median() / 20e6)) < 0.1
    assert abs(np.log(s2.depth).std() - 0.35) < 0.06


def test_bulk_dispersion_follows_its_truth():
    """Moment estimates of the NB dispersion agree with truth['dispersion']."""
    s = make_bulk_counts(200, 3000, centre_effects=False, covariate_effect=0.0, null=True,
                         low_fraction=0.0, rng=8)
    y = s.counts.to_numpy(float)
    mu = np.outer(s.depth / 1e6, s.truth["base_cpm"])
    phi_hat = ((y - mu) ** 2 - mu).sum(0) / (mu ** 2).sum(0)
    phi = s.truth["dispersion"].to_numpy()
    ratio = phi_hat / phi
    assert abs(np.median(ratio) - 1) < 0.05
    assert np.corrcoef(np.log(phi), np.log(np.clip(phi_hat, 1e-4, None)))[0, 1] > 0.8
    bcv = np.sqrt(phi[s.truth["base_mean"] > 100])
    assert 0.2 < np.median(bcv) < 0.4 and (bcv < 0.6).all()
    # the trend: weakly expressed genes are more overdispersed
    low, high = s.truth["base_mean"] < 20, s.truth["base_mean"] > 1000
    assert low.sum() > 10
    assert np.median(phi[low]) > 1.5 * np.median(phi[high])
    assert np.median(phi_hat[low]) > 1.5 * np.median(phi_hat[high])


def test_bulk_associated_genes_follow_the_imaging_feature(big):
    t = big.imaging_latent["lv_mass_index"].to_numpy()
    r = corr_with(big.log_cpm().to_numpy(), t)
    truth = big.truth
    assoc = truth["associated"].to_numpy()
    expressed = (truth["kind"] != "low").to_numpy()
    ra, rn = np.abs(r[assoc]), np.abs(r[~assoc & expressed])
    assert np.median(ra) > 5 * np.median(rn)
    assert (np.sign(r[assoc]) == np.sign(truth["log2_fc_per_sd"][assoc])).mean() > 0.97
    # slope of log2 CPM on the standardised feature estimates the log2 fold change per SD
    lc = np.log2(big.counts.div(big.lib_size, axis=0).to_numpy()[:, assoc] * 1e6 + 0.5)
    slope = np.polyfit(t, lc, 1)[0]
    err = slope - truth["log2_fc_per_sd"].to_numpy()[assoc]
    assert abs(np.median(err)) < 0.05 and np.mean(np.abs(err)) < 0.12
    # the imaging feature is reported on its clinical scale
    assert abs(big.imaging["lv_mass_index"].mean() - 70) < 3
    np.testing.assert_allclose(big.imaging["lv_mass_index"], 70 + 15 * t)


def test_bulk_null_has_no_signal(big):
    s = make_bulk_counts(300, 1500, null=True, rng=2024)
    assert not s.truth["associated"].any() and (s.truth["log2_fc_per_sd"] == 0).all()
    expressed = (s.truth["kind"] != "low").to_numpy()
    x = s.log_cpm().to_numpy()[:, expressed]
    t = s.imaging["lv_mass_index"].to_numpy()
    r = corr_with(x, t)
    n = len(t)
    p = 2 * stats.t.sf(np.abs(r) * np.sqrt((n - 2) / (1 - r ** 2)), n - 2)
    frac = (p < 0.05).mean()
    se = np.sqrt(0.05 * 0.95 / p.size)
    assert abs(frac - 0.05) < 4 * se
    assert stats.kstest(p, "uniform").pvalue > 1e-3
    # same seed with signal: the test statistic sees it
    xb = big.log_cpm().to_numpy()[:, (big.truth["kind"] != "low").to_numpy()]
    rb = corr_with(xb, big.imaging["lv_mass_index"].to_numpy())
    pb = 2 * stats.t.sf(np.abs(rb) * np.sqrt((n - 2) / (1 - rb ** 2)), n - 2)
    assert (pb < 0.05).mean() > frac + 0.05


def test_bulk_centre_effects_on_and_off():
    on = make_bulk_counts(90, 600, n_associated=0, rng=4)
    off = make_bulk_counts(90, 600, n_associated=0, centre_effects=False, rng=4)
    assert (off.centre_effects.to_numpy() == 0).all()
    assert (on.centre_effects.to_numpy() != 0).all()

    def frac_sig(s):
        x = s.log_cpm().loc[:, (s.truth["kind"] == "expressed").to_numpy()]
        groups = [x[s.centre == c].to_numpy() for c in sorted(s.centre.unique())]
        return (stats.f_oneway(*groups, axis=0).pvalue < 0.01).mean()

    assert frac_sig(on) > 0.3
    assert frac_sig(off) < 0.03
    # centre shifts are centred on the read share: expected library size unchanged
    cpm = on.truth["base_cpm"].to_numpy()
    np.testing.assert_allclose(2.0 ** on.centre_effects.T.to_numpy() @ cpm, 1e6, rtol=1e-10)


def test_bulk_effect_size_range_and_bad_arguments():
    s = make_bulk_counts(10, 300, n_associated=50, effect_size=(0.2, 1.0), rng=1)
    b = s.truth.loc[s.truth["associated"], "log2_fc_per_sd"].abs()
    assert b.between(0.2, 1.0).all() and b.std() > 0.1
    assert 10 < (s.truth["log2_fc_per_sd"] > 0).sum() < 40
    bad = [dict(n_samples=5, n_centres=3), dict(n_genes=5), dict(n_associated=10_000),
           dict(library_size=(40e6, 10e6)), dict(library_size=-1.0), dict(dispersion=(0, 1)),
           dict(effect_size=0.0), dict(low_fraction=1.0), dict(n_features=0)]
    for kw in bad:
        with pytest.raises(ValueError):
            make_bulk_counts(**{"n_samples": 10, "n_genes": 300, **kw}, rng=1)


def test_bulk_full_size():
    # (its speed is measured in benchmarks/bench_expression.py, not here)
    s = make_bulk_counts(100, 20_000, rng=0)
    assert s.counts.shape == (100, 20_000)


# --------------------------------------------------------------------------- single cell
def test_single_cell_reproducible_shapes_dtypes():
    a = make_single_cell(5, 300, cells_per_sample=(40, 90), rng=9)
    b = make_single_cell(5, 300, cells_per_sample=(40, 90), rng=np.random.default_rng(9))
    assert (a.X != b.X).nnz == 0
    pd.testing.assert_frame_equal(a.obs, b.obs)
    pd.testing.assert_frame_equal(a.uns["truth"]["proportions"], b.uns["truth"]["proportions"])
    c = make_single_cell(5, 300, cells_per_sample=(40, 90), rng=10)
    assert a.n_obs != c.n_obs or (a.X != c.X).nnz > 0
    assert sparse.isspmatrix_csr(a.X) and a.X.dtype == np.int64 and a.X.data.min() >= 0
    assert a.n_vars == 300 and a.var_names.is_unique and a.obs_names.is_unique
    for col in ("sample_id", "cell_type", "centre", "sex"):
        assert isinstance(a.obs[col].dtype, pd.CategoricalDtype)
    assert list(a.obs["cell_type"].cat.categories) == list(CARDIAC_CELL_TYPES)
    per = a.obs["sample_id"].value_counts()
    assert per.between(40, 90).all() and len(per) == 5
    np.testing.assert_array_equal(a.obs["n_counts"], np.asarray(a.X.sum(axis=1)).ravel())
    truth = a.uns["truth"]
    np.testing.assert_allclose(truth["proportions"].sum(axis=1), 1.0)
    np.testing.assert_allclose(truth["profiles"].sum(axis=1), 1.0)
    assert list(a.uns["imaging"].columns) == ["ecv", "myo_t1"]
    assert list(a.uns["imaging"].index) == list(a.obs["sample_id"].cat.categories)
    assert truth["markers"]["fibroblast"][:2] == ["DCN", "COL1A1"]
    assert a.var.loc[truth["factor_genes"], "factor_gene"].all()
    assert a.var["factor_gene"].sum() == 10


def test_single_cell_markers_are_highest_in_their_cell_type():
    a = make_single_cell(6, 400, cells_per_sample=(300, 400), rng=3)
    res = pseudobulk(a, min_cells=5)
    mean_cpm = pd.DataFrame({ct: (df.div(df.sum(axis=1), axis=0) * 1e6).mean()
                             for ct, df in res.counts.items()})
    hits = [mean_cpm.loc[g].idxmax() == ct for ct, genes in a.uns["truth"]["markers"].items()
            for g in genes]
    assert np.mean(hits) > 0.9


def test_single_cell_proportions_and_imaging_follow_the_factor():
    a = make_single_cell(150, 120, cells_per_sample=(60, 100), n_markers=4, n_factor_genes=4,
                         rng=21)
    f = a.uns["truth"]["sample_factor"]["factor"]
    res = pseudobulk(a, min_cells=1)
    prop = res.proportions.loc[f.index]
    true = a.uns["truth"]["proportions"]
    assert stats.spearmanr(f, true["fibroblast"])[0] > 0.8
    assert stats.spearmanr(f, prop["fibroblast"])[0] > 0.7
    assert stats.spearmanr(f, prop["cardiomyocyte"])[0] < -0.5
    assert abs(stats.spearmanr(f, prop["pericyte"])[0]) < 0.5  # loading 0: only via the sum
    # observed shares scatter around the true ones by multinomial sampling only
    n = res.n_cells.sum(axis=1).loc[f.index].to_numpy()[:, None]
    z = (prop - true) / np.sqrt(true * (1 - true) / n)
    assert abs(z.to_numpy().std() - 1) < 0.15
    ecv = a.uns["imaging"]["ecv"].loc[f.index]
    r = np.corrcoef(f, ecv)[0, 1]
    assert abs(r - 0.8) < 4 * (1 - 0.8 ** 2) / np.sqrt(len(f))
    # fibroblast activation genes rise with the factor within fibroblasts
    fib = res.counts["fibroblast"]
    lc = np.log2(fib.div(fib.sum(axis=1), axis=0) * 1e6 + 1)[a.uns["truth"]["factor_genes"]]
    r_genes = corr_with(lc.to_numpy(), f.loc[lc.index].to_numpy())
    assert (r_genes > 0).all() and np.mean(r_genes) > 0.4


def test_single_cell_no_factor_effect_no_composition_signal():
    a = make_single_cell(150, 60, cells_per_sample=(60, 100), n_markers=4, n_factor_genes=4,
                         shared_factor_effect=0.0, rng=21)
    f = a.uns["truth"]["sample_factor"]["factor"]
    prop = pseudobulk(a, min_cells=1).proportions.loc[f.index]
    bound = 3.5 / np.sqrt(len(f))
    for ct in CARDIAC_CELL_TYPES:
        assert abs(np.corrcoef(f, prop[ct])[0, 1]) < bound


def test_single_cell_custom_types_bad_arguments_and_speed():
    a = make_single_cell(3, 100, cell_types=("fibroblast", "adipocyte"), n_markers=3,
                         n_factor_genes=2, cells_per_sample=(20, 30), rng=0)
    assert a.uns["truth"]["markers"]["adipocyte"] == [f"ADIPOCYTE_MARKER{j}" for j in (1, 2, 3)]
    for kw in (dict(n_genes=20), dict(cell_types=("a", "a")), dict(cells_per_sample=(0, 5)),
               dict(imaging_correlation=1.5), dict(n_centres=20), dict(dispersion=0.0)):
        with pytest.raises(ValueError):
            make_single_cell(**{"n_samples": 12, **kw}, rng=0)
    b = make_single_cell(12, 500, cells_per_sample=(500, 500), rng=0)
    assert b.n_obs == 6000
