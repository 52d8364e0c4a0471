"""Step-down CCA permutation test (Winkler et al. 2020): projection, statistics, validity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from _stepdownsim import SCENARIOS, rejection_rate
from radiogenomics import RadiogenomicsError
from radiogenomics.cca.stepdown import cca_stepdown_test, huh_jhun_basis


def test_huh_jhun_basis_is_the_residual_forming_matrix():
    g = np.random.default_rng(0)
    Z = np.column_stack([np.ones(30), g.normal(size=(30, 3))])
    Q = huh_jhun_basis(Z)
    assert Q.shape == (30, 26)
    np.testing.assert_allclose(Q.T @ Q, np.eye(26), atol=1e-12)
    np.testing.assert_allclose(Q @ Q.T, np.eye(30) - Z @ np.linalg.pinv(Z), atol=1e-12)


def test_first_step_statistics_equal_statsmodels_cancorr_after_covariates():
    """Step 1: Roy = first canonical correlation of the covariate-adjusted blocks and Wilks'
    lambda = prod(1 - r^2), both checked against statsmodels' CanCorr on OLS residuals."""
    from statsmodels.multivariate.cancorr import CanCorr

    g = np.random.default_rng(1)
    n = 70
    cov = pd.DataFrame({"age": g.normal(size=n), "sex": g.integers(0, 2, n).astype(float)})
    X = g.normal(size=(n, 3)) + cov[["age"]].to_numpy()
    Y = g.normal(size=(n, 4)) + 0.4 * X[:, [0]]
    Z = np.column_stack([np.ones(n), cov.to_numpy()])
    H = Z @ np.linalg.pinv(Z)
    r = CanCorr(Y - H @ Y, X - H @ X).cancorr
    roy = cca_stepdown_test(X, Y, covariates=cov, n_components=1, n_permutations=9, rng=0)
    wilks = cca_stepdown_test(X, Y, covariates=cov, n_components=1, statistic="wilks",
                              n_permutations=9, rng=0)
    assert roy.statistic[0] == pytest.approx(r[0], rel=1e-10)
    np.testing.assert_allclose(roy.canonical_correlations, np.sort(r)[::-1], rtol=1e-10)
    assert wilks.statistic[0] == pytest.approx(np.prod(1 - r**2), rel=1e-10)
    assert roy.n_rows == [n - 3]


def test_later_steps_are_the_later_canonical_correlations_after_covariates():
    """Step k removes the first k - 1 canonical variates of each side: Roy's statistic is r_k
    and Wilks' lambda prod_{j >= k} (1 - r_j^2), with r from statsmodels' CanCorr of the OLS
    residuals (a step that re-projected each side with its own basis gave other values)."""
    from statsmodels.multivariate.cancorr import CanCorr

    g = np.random.default_rng(11)
    n = 50
    cov = g.normal(size=(n, 3))
    X = g.normal(size=(n, 4)) + cov[:, :1]
    Y = g.normal(size=(n, 3)) + cov[:, 1:2]
    Y[:, 0] += X[:, 0]
    Z = np.column_stack([np.ones(n), cov])
    H = Z @ np.linalg.pinv(Z)
    r = CanCorr(Y - H @ Y, X - H @ X).cancorr
    roy = cca_stepdown_test(X, Y, covariates=cov, n_permutations=19, rng=0)
    wilks = cca_stepdown_test(X, Y, covariates=cov, n_permutations=19, rng=0, statistic="wilks")
    np.testing.assert_allclose(roy.statistic, r, rtol=1e-9)
    np.testing.assert_allclose(wilks.statistic, [np.prod(1 - r[k:] ** 2) for k in range(3)],
                               rtol=1e-9)


def test_pvalues_never_zero_and_fwer_monotone():
    g = np.random.default_rng(2)
    z = g.normal(size=50)
    X = g.normal(size=(50, 3)) + 3 * z[:, None] * [1, 0, 0]
    Y = g.normal(size=(50, 3)) + 3 * z[:, None] * [1, 0, 0]
    res = cca_stepdown_test(X, Y, n_permutations=49, rng=3)
    assert res.pvalues[0] == pytest.approx(1 / 50)          # (1 + 0) / (1 + B), not 0
    assert np.all(np.diff(res.pvalues_fwer) >= 0)
    assert np.all(res.pvalues_fwer >= res.pvalues)
    assert res.n_significant >= 1
    assert list(res.to_frame().columns) == ["canonical_correlation", "roy", "p_value", "p_fwer",
                                            "projected_rows"]


def test_same_seed_same_answer_and_spec7_rng():
    g = np.random.default_rng(4)
    X, Y = g.normal(size=(40, 3)), g.normal(size=(40, 3))
    a = cca_stepdown_test(X, Y, n_permutations=99, rng=7)
    b = cca_stepdown_test(X, Y, n_permutations=99, rng=np.random.SeedSequence(7))
    np.testing.assert_array_equal(a.pvalues, b.pvalues)
    cca_stepdown_test(X, Y, n_permutations=9, rng=np.random.PCG64(1))


def test_refuses_too_few_projected_rows_and_bad_input():
    g = np.random.default_rng(5)
    X, Y = g.normal(size=(20, 6)), g.normal(size=(20, 6))
    cov = g.normal(size=(20, 8))            # n - rank(Z) = 20 - 9 = 11 < P + Q = 12
    with pytest.raises(RadiogenomicsError, match="projected rows.*RegularizedCCA"):
        cca_stepdown_test(X, Y, covariates=cov, n_permutations=9)
    Xd = pd.DataFrame(X, index=[f"s{i}" for i in range(20)])
    Yd = pd.DataFrame(Y, index=[f"t{i}" for i in range(20)])
    with pytest.raises(RadiogenomicsError, match="different sample IDs"):
        cca_stepdown_test(Xd, Yd)
    with pytest.raises(RadiogenomicsError, match="statistic"):
        cca_stepdown_test(X, Y, statistic="pillai")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_type_one_error_at_components_1_2_3(scenario):
    """The first null component (1, 2 or 3, after 0-2 planted ones) rejects at the nominal
    rate: 200 datasets per cell, B = 99 (exact level 0.05), 99% binomial interval.  The full
    version (2,000 per cell, both statistics, beside the previous scheme) is
    benchmarks/validity_cca_stepdown.py; figures in benchmarks/README.md."""
    N = 200
    lo, hi = stats.binom.ppf([0.005, 0.995], N, 0.05) / N
    for k in (0, 1, 2):
        rate, pv = rejection_rate(scenario, k, N, 99, rng=[2024, k, SCENARIOS.index(scenario)])
        assert lo <= rate <= hi, (scenario, k + 1, rate)
        assert pv.min() >= 1 / 100
