"""Association screen: parity with statsmodels OLS, Freedman-Lane permutations, error paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

from radiogenomics import Cohort, CohortValidationError
from radiogenomics.association import associate, design_matrix
from radiogenomics.qc import centre_anova


def _data(n=40, p=6, q=5, seed=0, signal=0.6):
    rng = np.random.default_rng(seed)
    ids = [f"P{i:03d}" for i in range(n)]
    cov = pd.DataFrame({"age": rng.normal(55, 10, n), "sex": rng.choice(["F", "M"], n)}, index=ids)
    centre = pd.Series(rng.choice(["A", "B", "C"], n), index=ids)
    X = pd.DataFrame(rng.normal(size=(n, p)) + 0.03 * cov[["age"]].to_numpy(), index=ids,
                     columns=[f"x{j}" for j in range(p)])
    Y = pd.DataFrame(rng.normal(size=(n, q)), index=ids, columns=[f"y{k}" for k in range(q)])
    Y["y0"] += signal * X["x0"] + (centre == "B") * 0.8
    return X, Y, cov, centre


def test_pvalues_equal_statsmodels_ols_with_covariates():
    X, Y, cov, centre = _data()
    res = associate(X, Y, covariates=cov.assign(centre=centre))
    Z = design_matrix(cov.assign(centre=centre), X.index)
    assert list(Z.columns) == ["Intercept", "age", "sex_M", "centre_B", "centre_C"]
    for xj in X.columns:
        for yk in Y.columns:
            design = pd.concat([X[[xj]], Z], axis=1)
            fit = sm.OLS(Y[yk], design).fit()
            assert res.pvalues.loc[xj, yk] == pytest.approx(fit.pvalues[xj], rel=1e-8)
            assert res.t.loc[xj, yk] == pytest.approx(fit.tvalues[xj], rel=1e-8)
    assert res.df == 40 - 2 - 4
    # partial correlation is the correlation of residuals
    rx = sm.OLS(X["x0"], Z).fit().resid
    ry = sm.OLS(Y["y0"], Z).fit().resid
    assert res.r.loc["x0", "y0"] == pytest.approx(np.corrcoef(rx, ry)[0, 1], rel=1e-10)


def test_no_covariates_matches_pearsonr_and_spearman_matches_ranks():
    X, Y, *_ = _data()
    res = associate(X, Y)
    r, p = stats.pearsonr(X["x0"], Y["y0"])
    assert res.r.loc["x0", "y0"] == pytest.approx(r, rel=1e-10)
    assert res.pvalues.loc["x0", "y0"] == pytest.approx(p, rel=1e-8)
    sres = associate(X, Y, method="spearman")
    rho, ps = stats.spearmanr(X["x1"], Y["y2"])
    assert sres.r.loc["x1", "y2"] == pytest.approx(rho, rel=1e-10)
    assert sres.pvalues.loc["x1", "y2"] == pytest.approx(ps, rel=1e-8)


def test_corrections_equal_statsmodels_and_table_is_sorted():
    X, Y, cov, _ = _data(p=8, q=7)
    res = associate(X, Y, covariates=cov)
    q = multipletests(res.pvalues.to_numpy().ravel(), method="fdr_bh")[1]
    np.testing.assert_allclose(res.qvalues.to_numpy().ravel(), q, rtol=1e-12)
    bon = associate(X, Y, covariates=cov, correction="bonferroni")
    np.testing.assert_allclose(bon.adjusted.to_numpy(), np.minimum(1, res.pvalues.to_numpy() * 56))
    tab = res.to_frame()
    assert len(tab) == 56 and tab["p_parametric"].is_monotonic_increasing
    assert list(tab.columns) == ["feature_x", "feature_y", "r", "t", "df", "p_parametric",
                                 "p_permutation", "p_fwer", "q"]
    assert tab["p_permutation"].isna().all()  # no permutations asked for
    assert "p_bonferroni" in bon.to_frame().columns
    assert tab.iloc[0][["feature_x", "feature_y"]].tolist() == ["x0", "y0"]
    top = res.to_frame(top=5)
    pd.testing.assert_frame_equal(top, tab.head(5))
    assert "56 tests" in res.summary()
    # ties and the cap at 1 as statsmodels handles them
    from radiogenomics.association import adjust_pvalues
    pv = np.array([[0.01, 0.01, 0.04], [0.04, 0.5, 1.0]])
    np.testing.assert_allclose(adjust_pvalues(pv).ravel(), multipletests(pv.ravel(), method="fdr_bh")[1])
    np.testing.assert_allclose(adjust_pvalues(pv, "bonferroni").ravel(),
                               multipletests(pv.ravel(), method="bonferroni")[1])


def test_cohort_input_pairs_views_adjusts_centre_and_reports_drops():
    X, Y, cov, centre = _data()
    cohort = Cohort({"radiomics": X, "expression": Y.iloc[5:]}, covariates=cov, centre=centre)
    res = associate(cohort, x="radiomics", y="expression")
    assert res.n_samples == 35 and len(res.dropped) == 5
    assert set(res.dropped["sample_id"]) == set(X.index[:5])
    assert "centre_B" in res.covariates and "age" in res.covariates
    direct = associate(X.iloc[5:], Y.iloc[5:], covariates=cov.iloc[5:].assign(centre=centre.iloc[5:]))
    np.testing.assert_allclose(res.pvalues.to_numpy(), direct.pvalues.to_numpy(), rtol=1e-10)


def test_bad_inputs_give_clear_errors():
    X, Y, cov, centre = _data()
    with pytest.raises(CohortValidationError, match=r"X and Y have different sample IDs.*only in X.*associate\(cohort"):
        associate(X, Y.iloc[2:])
    Xn = X.copy()
    Xn.iloc[0, 0] = np.nan
    with pytest.raises(CohortValidationError, match=r"NaN.*infinite value.*complete data"):
        associate(Xn, Y)
    with pytest.raises(CohortValidationError, match="rank deficient.*age, age2 are linearly dependent"):
        associate(X, Y, covariates=cov.assign(age2=cov["age"] * 2))
    with pytest.raises(CohortValidationError, match="too small"):
        associate(X.iloc[:4], Y.iloc[:4], covariates=cov.iloc[:4].assign(centre=centre.iloc[:4]))
    Xc = X.assign(agecopy=cov["age"])
    with pytest.raises(CohortValidationError, match="no variance left"):
        associate(Xc, Y, covariates=cov)
    with pytest.raises(CohortValidationError, match="ID formats"):
        associate(X.reset_index(drop=True), Y.reset_index(drop=True), covariates=cov)
    Xk = X.assign(xconst=0.0)
    res = associate(Xk, Y, covariates=cov, degenerate="drop")
    assert res.dropped_features["feature"].tolist() == ["xconst"]
    assert "xconst" not in res.r.index and res.r.shape == (6, 5)
    with pytest.raises(ValueError, match="method"):
        associate(X, Y, method="kendall")
    with pytest.raises(ValueError, match="name the two views"):
        associate(Cohort({"a": X}), x="a")


def test_type_one_error_under_the_null():
    """Simulated under H0 (no x-y association, covariates acting on both blocks).

    The x0-y0 pair is one independent test per dataset: its rejection count at 0.05 over
    400 datasets must lie in the exact 99.9% binomial interval (the 9 pairs of a dataset
    share columns, so pooling them would not be binomial); the mean per-dataset rate over all
    9 pairs within 0.05 +- z_0.9995 SE over datasets.  BH at 0.05 under the global null
    controls the FWER, so the share of datasets with any rejection must not exceed 0.05
    beyond sampling error (one-sided binomial 99.9%).
    """
    rng = np.random.default_rng(2024)
    n, reps = 30, 400
    first, rates, any_rej = 0, [], 0
    for _ in range(reps):
        age = rng.normal(size=n)
        cov = pd.DataFrame({"age": age})
        X = pd.DataFrame(rng.normal(size=(n, 3)) + age[:, None])
        Y = pd.DataFrame(rng.standard_t(5, size=(n, 3)) - 0.7 * age[:, None])
        res = associate(X, Y, covariates=cov)
        rej = res.pvalues.to_numpy() <= 0.05
        first += int(rej[0, 0])
        rates.append(rej.mean())
        any_rej += int((res.qvalues.to_numpy() <= 0.05).any())
    lo, hi = stats.binom.ppf([0.0005, 0.9995], reps, 0.05)
    assert lo <= first <= hi, first
    rates = np.asarray(rates)
    half = stats.norm.ppf(0.9995) * rates.std(ddof=1) / np.sqrt(reps)
    assert abs(rates.mean() - 0.05) <= half, rates.mean()
    assert any_rej / reps <= stats.binom.ppf(0.999, reps, 0.05) / reps


def test_categorical_reference_level_follows_category_order():
    X, Y, cov, _ = _data()
    grade = pd.Categorical(np.resize(["hi", "lo", "mid"], len(X)), categories=["lo", "mid", "hi"])
    Z = design_matrix(pd.DataFrame({"grade": grade}, index=X.index), X.index)
    assert list(Z.columns) == ["Intercept", "grade_mid", "grade_hi"]


def test_centre_anova_matches_scipy_f_oneway():
    X, _, _, centre = _data()
    X = X.copy()
    X["x1"] += (centre == "C") * 2.0
    tab = centre_anova(X, centre=centre)
    for col in X.columns:
        F, p = stats.f_oneway(*[X.loc[centre == g, col] for g in ["A", "B", "C"]])
        assert tab.loc[col, "F"] == pytest.approx(F, rel=1e-10)
        assert tab.loc[col, "pvalue"] == pytest.approx(p, rel=1e-8)
    assert tab["eta2"].idxmax() == "x1"
    with pytest.raises(ValueError, match="give centre"):
        centre_anova(X)


# --------------------------------------------------------------------------- permutations

def test_freedman_lane_pvalues_equal_statsmodels_refits():
    """p_permutation of associate = refitting OLS y* ~ x + Z on Freedman-Lane permuted y."""
    from radiogenomics.resampling import permutation_indices

    X, Y, cov, centre = _data(n=30, p=3, q=3)
    cov = cov.assign(centre=centre)
    B = 99
    res = associate(X, Y, covariates=cov, n_permutations=B, rng=42, backend="numpy")
    Z = design_matrix(cov, X.index)
    perms = permutation_indices(len(X), B, rng=42)
    for yk in Y.columns:
        reduced = sm.OLS(Y[yk], Z).fit()
        for xj in X.columns:
            t_obs = sm.OLS(Y[yk], pd.concat([X[[xj]], Z], axis=1)).fit().tvalues[xj]
            exceed = 0
            for pi in perms:
                ystar = reduced.fittedvalues.to_numpy() + reduced.resid.to_numpy()[pi]
                t = sm.OLS(ystar, pd.concat([X[[xj]], Z], axis=1).to_numpy()).fit().tvalues[0]
                exceed += abs(t) >= abs(t_obs) * (1 - 1e-12)
            assert res.p_permutation.loc[xj, yk] == (1 + exceed) / (1 + B)


def test_permutation_screen_on_a_cohort_within_centres():
    import data_sim

    cohort, truth = data_sim.make_cohort(90, n_radiomic=25, n_genes=120, rng=5)
    kw = dict(x="radiomics", y="expression", n_permutations=299, exchangeability_blocks="centre",
              correction="maxT")
    res = associate(cohort, rng=3, **kw)
    assert res.permutation_scheme == "within-block" and res.n_permutations == 299
    pp, pf = res.p_permutation.to_numpy(), res.p_fwer.to_numpy()
    assert pp.min() >= 1 / 300 and pf.min() >= 1 / 300 and (pf >= pp).all()
    # max-T p-values are monotone in |r|
    order = np.argsort(-np.abs(res.r.to_numpy()).ravel())
    assert (np.diff(pf.ravel()[order]) >= 0).all()
    assert (res.adjusted.to_numpy() == pf).all()
    assert res.null_max.shape == (299,) and (res.null_max_t > 0).all()
    # the strongest planted pair survives max-T; the summary says how it was computed
    assert pf.min() == pytest.approx(1 / 300)
    assert "299 Freedman-Lane permutations (within-block" in res.summary()
    # same seed, same answer, on either CPU backend; another seed differs
    again = associate(cohort, rng=3, backend="numpy", **kw)
    np.testing.assert_array_equal(again.p_permutation.to_numpy(), pp)
    np.testing.assert_array_equal(again.p_fwer.to_numpy(), pf)
    other = associate(cohort, rng=4, **kw)
    assert not np.array_equal(other.p_permutation.to_numpy(), pp)
    tab = res.to_frame(top=5)
    assert tab["p_fwer"].notna().all() and tab["p_permutation"].notna().all()


def test_spearman_permutation_agrees_with_scipy_permutation_test():
    X, Y, *_ = _data(n=25, p=1, q=1, signal=0.35, seed=3)
    res = associate(X, Y, method="spearman", n_permutations=9999, rng=1)

    rx, ry = stats.rankdata(X["x0"]), stats.rankdata(Y["y0"])
    rx, ry = (rx - rx.mean()) / np.linalg.norm(rx - rx.mean()), (ry - ry.mean()) / np.linalg.norm(ry - ry.mean())

    def rho(a, axis=-1):  # Spearman's rho of the permuted x ranks with the y ranks
        return np.sum(a * ry, axis=axis)

    assert rho(rx) == pytest.approx(stats.spearmanr(X["x0"], Y["y0"])[0])
    ref = stats.permutation_test((rx,), rho, permutation_type="pairings", n_resamples=9999,
                                 vectorized=True, rng=0)
    p = res.p_permutation.iloc[0, 0]
    se = np.sqrt(2 * ref.pvalue * (1 - ref.pvalue) / 9999)
    assert abs(p - ref.pvalue) < 4 * se + 1e-4, (p, ref.pvalue)


def test_permutation_argument_errors_are_clear():
    X, Y, cov, centre = _data()
    with pytest.raises(ValueError, match="correction='maxT' needs permutations"):
        associate(X, Y, correction="maxT")
    with pytest.raises(ValueError, match="non-negative integer"):
        associate(X, Y, n_permutations=True)
    with pytest.raises(ValueError, match="batch must be a positive integer"):
        associate(X, Y, n_permutations=9, batch=2.5)
    with pytest.raises(CohortValidationError, match="duplicated sample IDs"):
        associate(X, Y, n_permutations=9, exchangeability_blocks=pd.concat([centre, centre]))
    with pytest.raises(ValueError, match="only apply to permutations"):
        associate(X, Y, exchangeability_blocks=centre)
    with pytest.raises(ValueError, match="non-negative integer"):
        associate(X, Y, n_permutations=2.5)
    with pytest.raises(ValueError, match="must be 'centre'"):
        associate(X, Y, n_permutations=9, exchangeability_blocks="site")
    with pytest.raises(ValueError, match="needs a Cohort with a centre"):
        associate(X, Y, n_permutations=9, exchangeability_blocks="centre")
    with pytest.raises(CohortValidationError, match="no label for 2 analysed sample"):
        associate(X, Y, n_permutations=9, exchangeability_blocks=centre.iloc[2:])
    with pytest.raises(ValueError, match="one label per analysed sample"):
        associate(X, Y, n_permutations=9, exchangeability_blocks=centre.to_numpy()[1:])
    # a shuffled Series is aligned by sample ID, not by position
    shuffled = centre.sample(frac=1, random_state=0)
    a = associate(X, Y, n_permutations=49, exchangeability_blocks=shuffled, rng=0)
    b = associate(X, Y, n_permutations=49, exchangeability_blocks=centre, rng=0)
    np.testing.assert_array_equal(a.p_permutation.to_numpy(), b.p_permutation.to_numpy())


def test_permutation_plots_take_the_result():
    import matplotlib

    matplotlib.use("Agg")
    from radiogenomics.plotting import plot_null_max, plot_volcano

    X, Y, cov, _ = _data()
    res = associate(X, Y, covariates=cov, n_permutations=99, correction="maxT", rng=0)
    fig = plot_null_max(res)
    assert len(fig.axes[0].patches) > 0 and len(fig.axes[0].lines) == 2
    fig = plot_volcano(res, pvalue="permutation")
    assert len(fig.axes[0].lines) == 2  # the max-T |r| threshold on both sides
    with pytest.raises(ValueError, match="no permutations"):
        plot_null_max(associate(X, Y))


def test_constant_dataframe_columns_are_caught():
    X, Y, cov, _ = _data()
    Xc = X.assign(flat=0.1)
    with pytest.raises(CohortValidationError, match="no variance left"):
        associate(Xc, Y, covariates=cov)
    res = associate(Xc, Y, covariates=cov, degenerate="drop")
    assert res.dropped_features["feature"].tolist() == ["flat"]


def test_table_order_follows_the_inference():
    X, Y, cov, centre = _data(p=6, q=30)
    res = associate(X, Y, covariates=cov, n_permutations=199, rng=0)
    assert res.fdr_on == "permutation"
    tab = res.to_frame()
    assert tab["p_permutation"].is_monotonic_increasing
    assert "BH q of the permutation p-values" in res.summary()
    par = res.to_frame(sort_by="p_parametric", top=7)
    assert len(par) == 7 and par["p_parametric"].is_monotonic_increasing
    few = associate(X, Y, n_permutations=9, correction="maxT", rng=0)
    assert few.fwer_threshold() == np.inf and "none reachable" in few.summary()


def test_covariates_by_block_equals_ols_with_centre_interactions():
    from radiogenomics.association import design_by_block

    X, Y, cov, centre = _data(n=45)
    res = associate(X, Y, covariates=cov, n_permutations=19, exchangeability_blocks=centre,
                    covariates_by_block=True, rng=0)
    Z = design_by_block(design_matrix(cov, X.index), centre)
    assert Z.shape[1] == 9 and "Intercept:A" in Z.columns and res.df == 45 - 1 - 9
    for xj, yk in [("x0", "y0"), ("x3", "y2")]:
        fit = sm.OLS(Y[yk], pd.concat([X[[xj]], Z], axis=1)).fit()
        assert res.pvalues.loc[xj, yk] == pytest.approx(fit.pvalues[xj], rel=1e-8)
    with pytest.raises(ValueError, match="needs exchangeability_blocks"):
        associate(X, Y, covariates=cov, n_permutations=19, covariates_by_block=True)
    with pytest.raises(CohortValidationError, match="all-zero column"):
        design_matrix(cov.assign(zero=0.0), X.index)


def test_bonferroni_uses_permutation_pvalues_when_permutations_run():
    """correction='bonferroni' used the parametric p-values even with permutations."""
    from statsmodels.stats.multitest import multipletests

    g = np.random.default_rng(12)
    X = pd.DataFrame(g.normal(size=(40, 3)), columns=["a", "b", "c"])
    Y = pd.DataFrame(g.normal(size=(40, 4)) + 0.5 * X[["a"]].to_numpy(), columns=list("wxyz"))
    res = associate(X, Y, n_permutations=199, correction="bonferroni", rng=2)
    expect = multipletests(res.p_permutation.to_numpy().ravel(), method="bonferroni")[1]
    np.testing.assert_allclose(res.adjusted.to_numpy().ravel(), expect, rtol=1e-12)
    assert "Bonferroni of the permutation p-values" in res.summary()
    par = associate(X, Y, correction="bonferroni")
    expect = multipletests(par.pvalues.to_numpy().ravel(), method="bonferroni")[1]
    np.testing.assert_allclose(par.adjusted.to_numpy().ravel(), expect, rtol=1e-12)


def test_dataframe_input_gets_cohort_quality_messages():
    """associate(DataFrame, DataFrame) named neither the column nor the fix for text, and
    crashed with pandas' own error; NaN is refused naming sample and feature."""
    from radiogenomics import RadiogenomicsError

    g = np.random.default_rng(13)
    idx = [f"s{i}" for i in range(20)]
    X = pd.DataFrame(g.normal(size=(20, 2)), index=idx, columns=["a", "b"])
    Y = pd.DataFrame(g.normal(size=(20, 2)), index=idx, columns=["u", "v"])
    Xt = X.astype(object)
    Xt.iloc[3, 1] = "n.d."
    with pytest.raises(RadiogenomicsError, match=r"stored as text.*'b'.*to_numeric"):
        associate(Xt, Y)
    Xn = X.copy()
    Xn.iloc[4, 0] = np.nan
    with pytest.raises(RadiogenomicsError, match=r"1 NaN.*'s4'.*'a'.*nan_policy"):
        associate(Xn, Y)
    Xd = X.copy()
    Xd.columns = ["a", "a"]
    with pytest.raises(RadiogenomicsError, match="duplicated feature ID"):
        associate(Xd, Y)


def test_inf_misaligned_rows_and_kept_nan_in_a_cohort():
    """inf named like NaN; rows in another order are matched by sample ID (not position);
    a Cohort built with nan_policy='keep' is refused naming the view, the NaN count and the
    features, with the fix (the screen needs complete pairs)."""
    from radiogenomics import RadiogenomicsError

    g = np.random.default_rng(14)
    idx = [f"s{i}" for i in range(20)]
    X = pd.DataFrame(g.normal(size=(20, 3)), index=idx, columns=["a", "b", "c"])
    Y = pd.DataFrame(g.normal(size=(20, 2)) + X[["a"]].to_numpy(), index=idx, columns=["u", "v"])
    Xi = X.copy()
    Xi.iloc[1, 2] = np.inf
    with pytest.raises(RadiogenomicsError, match=r"1 infinite.*'s1'.*'c'"):
        associate(Xi, Y)
    ref = associate(X, Y)
    rev = associate(X.iloc[::-1], Y)
    np.testing.assert_allclose(rev.r.to_numpy(), ref.r.to_numpy(), rtol=1e-12)
    assert rev.r.loc["a", "u"] == pytest.approx(stats.pearsonr(X["a"], Y["u"])[0], rel=1e-10)
    with pytest.raises(RadiogenomicsError, match="different sample IDs"):
        associate(X.rename(index={"s0": "s99"}), Y)
    Xn = X.copy()
    Xn.iloc[2, 1] = Xn.iloc[5, 1] = Xn.iloc[7, 2] = np.nan
    cohort = Cohort({"rad": Xn, "expr": Y}, nan_policy="keep")
    with pytest.raises(RadiogenomicsError,
                       match=r"view 'rad'.*3 NaN.*2 feature\(s\) \('b', 'c'\).*impute"):
        associate(cohort, x="rad", y="expr")
