"""CCA inference: step-down permutation test, out-of-sample correlation, bootstrap, plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from radiogenomics import RadiogenomicsError
from radiogenomics.cca import CCA, RegularizedCCA, SparseCCA
from radiogenomics.cca.inference import (
    bootstrap_cca,
    cca_permutation_test,
    cross_validated_correlation,
)
from radiogenomics.resampling import PermutationScheme, check_rng


def _two_blocks(n=60, p=5, q=4, seed=0, signal=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    Y = rng.normal(size=(n, q))
    Y[:, 0] += signal * X[:, 0]
    return X, Y


def _replayed_perms(rng, n, B, blocks=None):
    """The permutations cca_permutation_test draws from ``rng`` (one seed for every step)."""
    seed = int(check_rng(rng).integers(0, 2**63))
    return PermutationScheme(n, blocks).generate(B, np.random.default_rng(seed))


@pytest.mark.parametrize("blocks", [None, np.repeat(["a", "b", "c"], 20)])
def test_fast_null_equals_refitting_classical_cca(blocks):
    X, Y = _two_blocks()
    res = cca_permutation_test(CCA(n_components=3), X, Y, n_permutations=99, rng=5,
                               exchangeability_blocks=blocks, method="freedman-lane")
    fit = CCA(n_components=3).fit(X, Y)
    # step k's statistic is the k-th canonical correlation (variates regressed out)
    np.testing.assert_allclose(res.statistic, fit.canonical_correlations_, rtol=1e-10)
    perms = _replayed_perms(5, 60, 99, blocks)
    if blocks is not None:
        assert (blocks[perms] == blocks).all()
    brute = [CCA(n_components=1).fit(X, Y[pi]).canonical_correlations_[0] for pi in perms]
    np.testing.assert_allclose(res.null_distribution[:, 0], brute, rtol=1e-10)
    assert res.pvalues[0] == pytest.approx((1 + np.sum(np.array(brute) >= res.statistic[0])) / 100)
    assert (np.diff(res.pvalues) >= 0).all() and res.pvalues.min() >= 1 / 100
    assert res.pvalues[0] <= 0.02 and res.pvalues[1] > 0.05   # one true pair
    assert "step-down" in res.summary() and len(res.to_frame()) == 3


def test_fast_null_equals_refitting_ridge_cca_in_high_dimension():
    X, Y = _two_blocks(n=30, p=40, q=200, seed=1, signal=2.0)
    est = RegularizedCCA(n_components=1, reg_x=0.5, reg_y=2.0)
    res = cca_permutation_test(est, X, Y, n_permutations=30, rng=2)
    perms = _replayed_perms(2, 30, 30)
    brute = [RegularizedCCA(n_components=1, reg_x=0.5, reg_y=2.0).fit(X, Y[pi]).canonical_correlations_[0]
             for pi in perms]
    np.testing.assert_allclose(res.null_distribution[:, 0], brute, rtol=1e-8)
    assert res.statistic[0] == pytest.approx(est.fit(X, Y).canonical_correlations_[0], rel=1e-8)


def test_sparse_cca_permutation_test_runs_and_is_reproducible():
    X, Y = _two_blocks(n=60, p=20, q=30, seed=3, signal=2.0)
    est = SparseCCA(n_components=1, penalty_x=0.4, penalty_y=0.4, max_iter=200)
    a = cca_permutation_test(est, X, Y, n_permutations=49, rng=7)
    b = cca_permutation_test(est, X, Y, n_permutations=49, rng=7)
    np.testing.assert_array_equal(a.null_distribution, b.null_distribution)
    assert a.pvalues[0] <= 0.05


def test_out_of_sample_correlation_and_its_null():
    X, Y = _two_blocks(n=80, seed=4, signal=0.8)
    from sklearn.model_selection import KFold
    from statsmodels.multivariate.cancorr import CanCorr

    splitter = KFold(5, shuffle=True, random_state=3)
    cv = cross_validated_correlation(CCA(n_components=1), X, Y, cv=splitter, n_permutations=49,
                                     rng=0)
    # independent reference: statsmodels' CanCorr weights fitted on each training fold,
    # applied to the held-out rows centred with the training means (sign-free per fold)
    ref = []
    for train, test in splitter.split(X):
        fit = CanCorr(Y[train] - Y[train].mean(0), X[train] - X[train].mean(0))
        a = (X[test] - X[train].mean(0)) @ fit.x_cancoef[:, 0]
        b = (Y[test] - Y[train].mean(0)) @ fit.y_cancoef[:, 0]
        ref.append(np.corrcoef(a, b)[0, 1])
    np.testing.assert_allclose(np.abs(cv.fold_correlations), np.abs(ref), rtol=1e-8)
    assert np.sign(cv.fold_correlations).tolist() == [1.0] * 5
    assert cv.in_sample == pytest.approx(CanCorr(Y, X).cancorr[0], rel=1e-10)
    assert cv.in_sample > cv.correlation > 0.3
    assert cv.pvalue == pytest.approx(1 / 50) and len(cv.fold_correlations) == 5
    centres = np.repeat(["c1", "c2", "c3", "c4"], 20)
    loco = cross_validated_correlation(CCA(n_components=1), X, Y, groups=centres)
    assert loco.scheme == "leave-one-group-out" and len(loco.fold_correlations) == 4
    with pytest.raises(ValueError, match="at least 2 groups"):
        cross_validated_correlation(CCA(n_components=1), X, Y, groups=np.zeros(80))


def test_in_sample_correlation_is_inflated_and_out_of_sample_is_near_the_population_value():
    """data_sim cohorts with population canonical correlation 0.8 (latent layers, covariates
    regressed out): over 5 cohorts of n = 300, p = 20, q = 30 the in-sample first canonical
    correlation exceeds 0.8 while the 10-fold out-of-sample one lies just below it (it
    measures estimated weights, which cannot beat the population optimum)."""
    import data_sim
    from radiogenomics.association import design_matrix, residualise

    ins, outs = [], []
    for seed in range(5):
        cohort, truth = data_sim.make_cohort(300, n_radiomic=20, n_genes=30, rng=seed,
                                             missing_rate=0.0)
        X = truth.radiomics_gaussian(clean=True)
        Y = truth.expression_eta(clean=True).loc[X.index]
        Z = design_matrix(cohort.covariates.loc[X.index], X.index).to_numpy()
        cv = cross_validated_correlation(CCA(n_components=1), residualise(X.to_numpy(), Z),
                                         residualise(Y.to_numpy(), Z), cv=10, rng=seed)
        ins.append(cv.in_sample)
        outs.append(cv.correlation)
    rho = truth.canonical_correlations[0]
    assert rho == pytest.approx(0.8)
    assert np.mean(ins) > rho + 0.02 and min(ins) > rho
    assert abs(np.mean(outs) - rho) < 0.08 and np.mean(outs) < np.mean(ins) - 0.04


def test_bootstrap_aligns_components_and_respects_strata():
    X, Y = _two_blocks(n=90, p=4, q=4, seed=6, signal=1.5)
    Y[:, 1] += 0.7 * X[:, 1]
    strata = np.repeat(["a", "b", "c"], 30)
    boot = bootstrap_cca(CCA(n_components=2), X, Y, n_bootstraps=200, strata=strata, rng=0)
    x1 = boot.x[boot.x["component"] == 1].set_index("feature")
    # the dominant feature keeps its sign in (almost) every resample after alignment
    top = x1["loading"].abs().idxmax()
    assert x1.loc[top, "sign_agreement"] > 0.95
    assert boot.scheme == "stratified" and boot.canonical_correlations.shape == (200, 2)
    # the estimate is statsmodels' canonical correlations of the full data
    from statsmodels.multivariate.cancorr import CanCorr

    np.testing.assert_allclose(boot.estimate, CanCorr(Y, X).cancorr[:2], rtol=1e-10)


def test_sparse_bootstrap_reports_selection_stability():
    X, Y = _two_blocks(n=60, p=15, q=15, seed=8, signal=2.0)
    boot = bootstrap_cca(SparseCCA(n_components=1, penalty_x=0.3, penalty_y=0.3, max_iter=200), X, Y,
                         n_bootstraps=60, rng=1)
    stable = boot.stable_features("x", 1, threshold=0.9)
    assert "x0" in stable.index.astype(str).tolist() or "x0" in stable["feature"].astype(str).tolist()
    assert boot.x["nonzero"].min() < 0.9          # most noise features are often dropped


def test_permutation_type_one_error_on_null_multicentre_data():
    """Null data n = 30, p = 30, q = 500, 3 centres shifting every feature; ridge CCA; within-
    centre permutation, B = 99 (exact 0.05 level): rejection rate over 1,000 datasets within its
    binomial 95% interval."""
    rng = np.random.default_rng(42)
    centre = np.repeat([0, 1, 2], 10)
    est = RegularizedCCA(n_components=1, reg_x=1.0, reg_y=1.0)
    rejections = 0
    for _ in range(1000):
        X = rng.normal(size=(30, 30)) + rng.normal(scale=1.5, size=(3, 30))[centre]
        Y = rng.normal(size=(30, 500)) + rng.normal(scale=1.5, size=(3, 500))[centre]
        res = cca_permutation_test(est, X, Y, n_permutations=99, rng=rng,
                                   exchangeability_blocks=centre)
        rejections += res.pvalues[0] <= 0.05
    lo, hi = stats.binom.interval(0.95, 1000, 0.05)
    assert lo <= rejections <= hi, rejections


def test_cca_plots_take_results():
    import matplotlib

    matplotlib.use("Agg")
    from radiogenomics import plotting

    X, Y = _two_blocks()
    fit = CCA(n_components=3).fit(X, Y)
    res = cca_permutation_test(CCA(n_components=3), X, Y, n_permutations=49, rng=0)
    assert len(plotting.plot_cca_scree(res).axes[0].collections) >= 2
    assert plotting.plot_cca_scores(fit, 1, groups=np.repeat(["a", "b"], 30)).axes[0].get_legend()
    boot = bootstrap_cca(CCA(n_components=1), X, Y, n_bootstraps=30, rng=0)
    assert len(plotting.plot_cca_loadings(fit, "x", 1, bootstrap=boot).axes[0].patches) == 5
    assert plotting.plot_cca_cross_loadings(fit, X, Y).axes[0].images


def test_covariates_remove_association_carried_by_centre():
    """Blocks related only through shared centre shifts: the held-out correlation is large
    unless centre is regressed out; the within-centre null calls it uninformative either way."""
    rng = np.random.default_rng(9)
    centre = np.repeat(["a", "b", "c"], 30)
    shift = rng.normal(scale=3.0, size=3)[np.repeat([0, 1, 2], 30)]
    X = rng.normal(size=(90, 4)) + shift[:, None]
    Y = rng.normal(size=(90, 5)) + shift[:, None]
    raw = cross_validated_correlation(CCA(n_components=1), X, Y, cv=5, rng=0, n_permutations=49,
                                      exchangeability_blocks=centre)
    adj = cross_validated_correlation(CCA(n_components=1), X, Y, cv=5, rng=0,
                                      covariates=pd.DataFrame({"centre": centre}))
    assert raw.correlation > 0.8 and raw.pvalue > 0.05
    assert abs(adj.correlation) < 0.3
    test = cca_permutation_test(CCA(n_components=1), X, Y, n_permutations=99, rng=0,
                                covariates=pd.DataFrame({"centre": centre}))
    assert test.statistic[0] < 0.5


def test_covariate_adjusted_permutation_test_holds_its_level():
    """Ten covariates acting on both blocks, no x-y association given them (n = 40): the
    permuted residuals are re-residualised, so the rejection rate stays near 0.05 over 300
    datasets (without that step it was about 0.11)."""
    rng = np.random.default_rng(12)
    rej = 0
    for _ in range(300):
        Z = rng.normal(size=(40, 10))
        X = rng.normal(size=(40, 2)) + Z[:, :2]
        Y = rng.normal(size=(40, 2)) + Z[:, 2:4]
        rej += cca_permutation_test(CCA(n_components=1), X, Y, n_permutations=99, covariates=Z,
                                    rng=rng).pvalues[0] <= 0.05
    lo, hi = stats.binom.interval(0.99, 300, 0.05)
    assert lo <= rej <= hi, rej


def test_dataframe_columns_are_checked_and_summary_names_both_correlations():
    X, Y = _two_blocks(n=50, p=4, q=3)
    Xd = pd.DataFrame(X, columns=list("abcd"))
    Yd = pd.DataFrame(Y, columns=list("uvw"))
    m = RegularizedCCA(n_components=1, reg_x=1.0, reg_y=1.0).fit(Xd, Yd)
    with pytest.raises(ValueError, match="columns differ from those seen in fit"):
        m.transform(Xd[list("badc")])
    assert list(m.weights_frame("x").index) == list("abcd")
    text = m.summary()
    assert "criterion" in text and "in-sample correlations of the variates" in text


# ----------------------------------------------------------------------------- issue 14

def test_bootstrap_of_classical_cca_refuses_resamples_that_force_correlations_of_one():
    """Null data n = 60, p = q = 20: a resample keeps ~38 distinct rows, fewer than
    rank(X) + rank(Y) + 1 = 41, so classical CCA of a resample has r1 = 1 by construction
    (the old code returned r1 = 1.000000 for 7 of 8 resamples).  Now refused with the reason
    and the fix; ridge CCA on the same data gives correlations below 1."""
    from radiogenomics.cca import DegenerateCCAError

    g = np.random.default_rng(0)
    X, Y = g.normal(size=(60, 20)), g.normal(size=(60, 20))
    with pytest.raises(DegenerateCCAError, match=r"distinct samples.*RegularizedCCA"):
        bootstrap_cca(CCA(n_components=1), X, Y, n_bootstraps=8, rng=1)
    with pytest.warns(UserWarning):
        ridge = bootstrap_cca(RegularizedCCA(n_components=1, reg_x=1.0, reg_y=1.0), X, Y,
                              n_bootstraps=8, rng=1)
    assert ridge.canonical_correlations.max() < 0.999


def test_bootstrap_of_classical_cca_with_room_has_no_correlation_of_one():
    g = np.random.default_rng(1)
    X, Y = g.normal(size=(60, 3)), g.normal(size=(60, 3))
    boot = bootstrap_cca(CCA(n_components=1), X, Y, n_bootstraps=50, rng=2)
    assert boot.canonical_correlations.max() < 0.9


def test_permutation_test_refuses_classical_cca_when_covariates_leave_no_room():
    """n = 30, 6 covariates, p = q = 12: n - rank(Z) = 23 < 24 = p + q, so the statistic and
    the whole null were 1 (p = 1, no warning).  Now refused, naming the ranks and the fix."""
    from radiogenomics.cca import DegenerateCCAError

    g = np.random.default_rng(2)
    X, Y, Z = g.normal(size=(30, 12)), g.normal(size=(30, 12)), g.normal(size=(30, 6))
    with pytest.raises(DegenerateCCAError,
                       match=r"n - rank\(Z\) = 30 - 7 = 23.*12 \+ 12 = 24.*RegularizedCCA"):
        cca_permutation_test(CCA(n_components=1), X, Y, covariates=Z, n_permutations=19, rng=1)
    for method in ("auto", "freedman-lane"):
        with pytest.raises(DegenerateCCAError):
            cca_permutation_test(CCA(n_components=1), X, Y, covariates=Z, n_permutations=19,
                                 rng=1, method=method)
    # fewer covariates leave room: statistics below 1 (high, as 12 + 12 columns in 27 dimensions)
    res = cca_permutation_test(CCA(n_components=1), X, Y, covariates=Z[:, :2], n_permutations=19,
                               rng=1)
    assert res.statistic[0] < 1 - 1e-6 and res.null_distribution.max() < 1 - 1e-6


def test_classical_permutation_test_is_winklers_stepdown_with_statsmodels_statistics():
    """The old API runs the published method for classical CCA: statistics are the canonical
    correlations of the covariate-adjusted blocks (statsmodels' CanCorr on OLS residuals),
    p-values the cumulative maximum of the per-step ones, never below 1 / (1 + B)."""
    from statsmodels.multivariate.cancorr import CanCorr

    g = np.random.default_rng(3)
    n = 80
    cov = pd.DataFrame({"age": g.normal(size=n), "site": np.repeat(["a", "b"], 40)})
    X, Y = _two_blocks(n=n, p=4, q=3, seed=4, signal=1.0)
    X = X + cov[["age"]].to_numpy()
    res = cca_permutation_test(CCA(n_components=3), X, Y, covariates=cov, n_permutations=99, rng=0)
    Z = np.column_stack([np.ones(n), cov["age"], cov["site"] == "b"]).astype(float)
    H = Z @ np.linalg.pinv(Z)
    np.testing.assert_allclose(res.statistic, CanCorr(Y - H @ Y, X - H @ X).cancorr, rtol=1e-9)
    np.testing.assert_array_equal(res.pvalues, np.maximum.accumulate(res.pvalues_raw))
    assert res.method == "winkler" and res.pvalues.min() >= 1 / 100
    assert res.pvalues[0] == pytest.approx(1 / 100) and res.pvalues[1] > 0.05
    with pytest.raises(RadiogenomicsError, match="method"):
        cca_permutation_test(RegularizedCCA(n_components=1, reg_x=1.0, reg_y=1.0), X, Y,
                             method="winkler")


@pytest.mark.parametrize("blocks", [False, True])
def test_out_of_sample_null_holds_its_level(blocks):
    """Null data (X independent of Y; with blocks, 3 centres shifting both blocks, so X and Y
    are dependent through centre and only within-centre permutation is valid): the
    permutation p-value of the out-of-sample correlation rejects at 0.05 (B = 19, exact level
    1/20) within the binomial 99% interval over 150 datasets."""
    N, B = 150, 19
    g = np.random.default_rng([5, blocks])
    centre = np.repeat(["a", "b", "c"], 12)
    rej = 0
    for _ in range(N):
        X, Y = g.normal(size=(36, 3)), g.normal(size=(36, 3))
        if blocks:
            shift = g.normal(scale=2.0, size=3)[np.repeat([0, 1, 2], 12)][:, None]
            X, Y = X + shift, Y + shift * g.normal(size=3)
        res = cross_validated_correlation(CCA(n_components=1), X, Y, cv=3, n_permutations=B,
                                          exchangeability_blocks=centre if blocks else None,
                                          rng=g)
        rej += res.pvalue <= 0.05 + 1e-12
    lo, hi = stats.binom.interval(0.99, N, 1 / (B + 1))
    assert lo <= rej <= hi, rej


def test_bootstrap_interval_of_the_first_canonical_correlation_covers():
    """Coverage of the 95% 'basic' (Fisher z) interval of r1 over 120 datasets (n = 80,
    p = q = 2, rho = (0.6, 0.2)) within the binomial 99% interval around 0.95; the percentile
    interval, pushed up by the upward bias of r1, covers less.  Full version (500 datasets,
    B = 400): benchmarks/coverage_cca.py."""
    N, B, rho = 120, 80, np.array([0.6, 0.2])
    g = np.random.default_rng(6)
    cover = {"basic": 0, "percentile": 0}
    for _ in range(N):
        X = g.standard_normal((80, 2))
        Y = rho * X + np.sqrt(1 - rho ** 2) * g.standard_normal((80, 2))
        boot = bootstrap_cca(CCA(n_components=1), X, Y, n_bootstraps=B, rng=g)
        for m in cover:
            ci = boot.correlation_intervals(m).iloc[0]
            cover[m] += ci["lower"] <= rho[0] <= ci["upper"]
    lo, hi = stats.binom.interval(0.99, N, 0.95)
    assert lo <= cover["basic"] <= hi, cover
    assert cover["percentile"] <= cover["basic"], cover


def test_cv_loco_string_and_bad_strings():
    """cv='loco' was passed to str.split (a raw TypeError); now it is leave-one-centre-out,
    the same folds as an int cv with groups, and other strings are refused by name."""
    g = np.random.default_rng(3)
    X, Y = g.normal(size=(45, 3)), g.normal(size=(45, 3))
    centres = np.repeat(["a", "b", "c"], 15)
    a = cross_validated_correlation(CCA(n_components=1), X, Y, cv="loco", groups=centres,
                                    n_permutations=0, rng=1)
    b = cross_validated_correlation(CCA(n_components=1), X, Y, cv=5, groups=centres,
                                    n_permutations=0, rng=1)
    assert a.correlation == b.correlation and a.scheme == b.scheme
    from radiogenomics import RadiogenomicsError
    with pytest.raises(RadiogenomicsError, match="needs groups"):
        cross_validated_correlation(CCA(n_components=1), X, Y, cv="loco")
    with pytest.raises(RadiogenomicsError, match="'kfold' is not a validation scheme"):
        cross_validated_correlation(CCA(n_components=1), X, Y, cv="kfold")
