"""Penalised models: glmnet parity, lambda selection, in-fold ComBat step, stability selection,
fusion with missing modalities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics.penalized import (ComBatTransformer, FusionModel, PenalizedError,
                                     PenalizedModel, glmnet_fit, glmnet_lambda_sequence,
                                     make_pipeline, stability_selection)

DATA = Path(__file__).parent / "data" / "glmnet"


def _read(name):
    return pd.read_csv(DATA / name)


@pytest.fixture(scope="module")
def quickstart():
    return _read("quickstart_x.csv.gz"), _read("quickstart_y.csv")["y"]


@pytest.fixture(scope="module")
def binomial():
    return _read("binomial_x.csv.gz"), _read("binomial_y.csv").iloc[:, 0]


@pytest.mark.parametrize("alpha", [1, 0.5, 0])
def test_gaussian_path_equals_glmnet(quickstart, alpha):
    X, y = quickstart
    lam = _read("quickstart_gaussian_lambda.csv")["lambda"].to_numpy()
    ours = glmnet_fit(X, y, "gaussian", alpha=alpha, lambdas=lam).coef.to_numpy()
    exact = _read(f"quickstart_gaussian_alpha{alpha}_thresh1e-14_coef_path.csv.gz").iloc[:, 1:]
    default = _read(f"quickstart_gaussian_alpha{alpha}_threshdefault_coef_path.csv.gz").iloc[:, 1:]
    assert np.abs(ours - exact.to_numpy()).max() < 1e-6       # the README's tolerance
    assert np.abs(ours - default.to_numpy()).max() < 1e-3     # glmnet's default thresh


def test_default_lambda_sequence_equals_glmnet(quickstart):
    X, y = quickstart
    ref = _read("quickstart_gaussian_alpha1_default_lambda_seq.csv")["lambda"].to_numpy()
    seq = glmnet_lambda_sequence(X, y, "gaussian", 1.0)
    assert len(seq) == 100
    # glmnet stops its path early once the deviance ratio saturates (67 of 100 here)
    np.testing.assert_allclose(seq[: len(ref)], ref, rtol=1e-12)


@pytest.mark.parametrize("alpha", [1, 0.5])
def test_binomial_path_matches_glmnet_and_is_optimal(binomial, alpha):
    """Against glmnet thresh=1e-14 the coefficients agree to 3.2e-6: our solution satisfies
    the KKT conditions to ~1e-16 and has an objective no larger than glmnet's, whose
    active-set gradient is ~1e-8 (glmnet stops on the change in deviance); at the smallest
    lambda the problem is ill-conditioned and magnifies that into 1e-6 on coefficients."""
    X, y = binomial
    lam = _read("binomialexample_binomial_lambda.csv")["lambda"].to_numpy()
    path = glmnet_fit(X, y, "binomial", alpha=alpha, lambdas=lam)
    ours = path.coef.to_numpy()
    ref = _read(f"binomialexample_binomial_alpha{alpha}_thresh1e-14_coef_path.csv.gz").iloc[:, 1:]
    ref = ref.to_numpy()
    assert np.abs(ours - ref).max() < 1e-5
    A, yv = X.to_numpy(), y.to_numpy(dtype=float)
    mx, sx = A.mean(0), A.std(0)
    Xs = (A - mx) / sx
    n = len(yv)

    def objective(row, lam):
        b = row[1:] * sx
        b0 = row[0] + row[1:] @ mx
        eta = b0 + Xs @ b
        ll = np.mean(yv * eta - np.log1p(np.exp(eta)))
        return -ll + lam * ((1 - alpha) / 2 * b @ b + alpha * np.abs(b).sum()), b0, b

    for i, lam in enumerate(lam):
        f_ours, b0, b = objective(ours[i], lam)
        f_ref, _, _ = objective(ref[i], lam)
        assert f_ours <= f_ref + 1e-12
        p = 1 / (1 + np.exp(-(b0 + Xs @ b)))
        g = Xs.T @ (p - yv) / n + lam * (1 - alpha) * b
        act = b != 0
        if act.any():
            assert np.abs(g[act] + lam * alpha * np.sign(b[act])).max() < 1e-9
        if (~act).any():
            assert np.abs(g[~act]).max() <= lam * alpha + 1e-9
        assert abs(np.mean(p - yv)) < 1e-9


def test_penalized_model_cv_choice_and_sklearn_compat(quickstart):
    from sklearn.base import clone, is_classifier, is_regressor
    from sklearn.model_selection import cross_val_score

    X, y = quickstart
    m = PenalizedModel(alpha=1.0, rng=0).fit(X, y)
    curve = m.cv_curves_["y"]
    best = curve["cv_error"].idxmin()
    assert m.lambda_chosen_ == pytest.approx(curve["lambda"][best])
    m1 = PenalizedModel(alpha=1.0, selection="1se", rng=0).fit(X, y)
    assert m1.lambda_chosen_ >= m.lambda_chosen_
    assert len(m1.selected_features_) <= len(m.selected_features_)
    # the final fit at the chosen lambda is glmnet's solution
    ref = glmnet_fit(X, y, alpha=1.0, lambdas=[m.lambda_chosen_]).coef.iloc[0]
    np.testing.assert_allclose(m.coef_.to_numpy(), ref.iloc[1:].to_numpy(), atol=1e-6)
    assert is_regressor(m) and is_classifier(PenalizedModel(family="binomial"))
    assert cross_val_score(clone(m), X, y, cv=3).mean() > 0.7   # the quickstart signal is strong
    # same rng, same choice
    assert PenalizedModel(alpha=1.0, rng=0).fit(X, y).lambda_chosen_ == m.lambda_chosen_
    with pytest.raises(PenalizedError, match="NaN"):
        PenalizedModel().fit(X.mask(X > 2), y)
    with pytest.raises(PenalizedError, match="0/1"):
        PenalizedModel(family="binomial").fit(X, y)


def test_binomial_model_and_multi_output(binomial, quickstart):
    X, y = binomial
    m = PenalizedModel(family="binomial", alpha=0.5, rng=1).fit(X, y)
    p = m.predict_proba(X)[:, 1]
    assert p.shape == (len(y),) and ((p > 0) & (p < 1)).all()
    assert m.score(X, y) > 0.8
    Xq, yq = quickstart
    Y = pd.DataFrame({"a": yq, "b": -2 * yq + 1})
    mm = PenalizedModel(alpha=1.0, rng=0).fit(Xq, Y)
    assert mm.coef_.shape == (20, 2) and mm.predict(Xq).shape == (100, 2)
    # multi-output = one fit per column (glmnet's family="gaussian" per target)
    fixed = PenalizedModel(alpha=1.0, lambda_=0.1).fit(Xq, Y)
    for col in "ab":
        single = PenalizedModel(alpha=1.0, lambda_=0.1).fit(Xq, Y[col])
        np.testing.assert_allclose(fixed.coef_[col], single.coef_, atol=1e-10)
    # glmnet standardises y: b = -2 a + 1 has the solution -2 x (a's solution at lambda / 2)
    half = PenalizedModel(alpha=1.0, lambda_=0.05).fit(Xq, Y["a"])
    np.testing.assert_allclose(fixed.coef_["b"], -2 * half.coef_, atol=1e-5)


def test_combat_step_is_fitted_on_training_rows_only():
    g = np.random.default_rng(0)
    n = 90
    X = pd.DataFrame(g.standard_normal((n, 5)), columns=list("abcde"))
    X["centre"] = np.repeat(["A", "B", "C"], 30)
    X["sex"] = np.tile(["F", "M"], 45)
    X.loc[X["centre"] == "B", list("abcde")] += 3.0
    step = ComBatTransformer(batch="centre", covariates=["sex"])
    tr = X.index[X["centre"] != "C"]
    step.fit(X.loc[tr])
    assert sorted(step.combat_.batches_) == ["A", "B"] if hasattr(step.combat_, "batches_") else True
    out = step.transform(X)                       # C unseen: estimated from its own features
    assert list(out.columns) == list("abcde")
    means = out.groupby(X["centre"]).mean()
    assert (means.max() - means.min()).abs().max() < 0.5
    with pytest.raises(PenalizedError, match="lacks column"):
        step.transform(X.drop(columns="sex"))
    pipe = make_pipeline(covariates=["sex"], rng=0).fit(X, X["a"] * 0 + g.standard_normal(n))
    assert pipe.predict(X).shape == (n,)


def test_stability_selection_finds_true_features_and_bounds_false_ones():
    g = np.random.default_rng(4)
    n, p = 120, 200
    X = pd.DataFrame(g.standard_normal((n, p)), columns=[f"f{j}" for j in range(p)])
    beta = np.zeros(p)
    beta[:4] = [1.5, -1.2, 1.0, 0.9]
    y = X.to_numpy() @ beta + g.standard_normal(n)
    st = stability_selection(X, y, n_subsamples=50, threshold=0.7, rng=1)
    assert set(st.selected) >= {"f0", "f1", "f2", "f3"}
    assert len(set(st.selected) - {"f0", "f1", "f2", "f3"}) <= max(1, int(np.ceil(
        st.expected_false_selections * 3)))
    assert st.max_probability[["f0", "f1"]].min() >= 0.9
    assert st.max_probability.drop(["f0", "f1", "f2", "f3"]).median() < 0.2
    st2 = stability_selection(X, y, n_subsamples=50, threshold=0.7, rng=1)
    pd.testing.assert_series_equal(st.max_probability, st2.max_probability)
    # null: pure noise selects (almost) nothing at threshold 0.9
    y0 = g.standard_normal(n)
    s0 = stability_selection(X, y0, n_subsamples=50, threshold=0.9, rng=2)
    assert len(s0.selected) <= 1
    with pytest.raises(PenalizedError, match="threshold"):
        stability_selection(X, y, threshold=0.4)


def _two_modalities(n=150, seed=0, missing=0.3):
    g = np.random.default_rng(seed)
    z = g.standard_normal(n)
    A = np.outer(z, g.standard_normal(15)) + g.standard_normal((n, 15))
    B = np.outer(z, g.standard_normal(25)) + g.standard_normal((n, 25))
    y = z + 0.5 * g.standard_normal(n)
    X = pd.DataFrame(np.c_[A, B], columns=[f"a{j}" for j in range(15)] + [f"b{j}" for j in range(25)])
    miss_b = g.random(n) < missing
    X.loc[miss_b, [f"b{j}" for j in range(25)]] = np.nan
    mods = {"img": [f"a{j}" for j in range(15)], "rna": [f"b{j}" for j in range(25)]}
    return X, pd.Series(y), mods, miss_b


@pytest.mark.parametrize("strategy,joint", [("early", None), ("late", None),
                                            ("intermediate", "cca"), ("intermediate", "mofa")])
def test_fusion_strategies_predict_with_missing_modalities(strategy, joint):
    from sklearn.metrics import r2_score

    Xa, ya, mods, miss_a = _two_modalities(n=300)
    X, y, miss = Xa.iloc[:150], ya.iloc[:150], miss_a[:150]
    Xt, yt, miss_t = Xa.iloc[150:], ya.iloc[150:], miss_a[150:]
    kw = {"joint": joint, "n_components": 2} if joint else {}
    m = FusionModel(mods, strategy=strategy, rng=0, **kw).fit(X, y)
    pred = m.predict(Xt)
    ok = ~np.isnan(pred)
    if strategy == "intermediate" and joint == "cca":
        assert not ok[miss_t].any() and ok[~miss_t].all()  # CCA scores need both modalities
    else:
        assert ok.all()                                     # every sample gets a prediction
    r2 = r2_score(yt[ok], pred[ok])
    print(f"{strategy}/{joint}: held-out R2 {r2:.3f}")
    assert r2 > 0.5                                        # population R2 ~ 0.8
    if strategy == "late":
        c = m.contributions_
        assert (c["meta_weight"] > 0).all()
        assert c.loc["rna", "presence"] == pytest.approx(1 - miss.mean())
        # samples with only the image modality are predicted from it alone
        only_img = m.predict(Xt.loc[miss_t])
        assert np.isfinite(only_img).all()


def test_fusion_input_errors():
    X, y, mods, _ = _two_modalities(n=40)
    X2 = X.copy()
    X2.iloc[0, 20] = np.nan                                # partly missing block
    X2.iloc[0, 21] = 1.0
    with pytest.raises(PenalizedError, match="partly missing"):
        FusionModel(mods, strategy="late").fit(X2.fillna({"b5": 0.0}).assign(b5=np.where(
            np.arange(40) == 3, np.nan, X2["b5"].fillna(0.0))), y)
    with pytest.raises(PenalizedError, match="strategy"):
        FusionModel(mods, strategy="stacked").fit(X, y)
    with pytest.raises(PenalizedError, match="not in X"):
        FusionModel({"img": ["zz"]}).fit(X, y)


def test_combat_step_with_a_single_training_centre_maps_others_onto_it():
    g = np.random.default_rng(1)
    X = pd.DataFrame(g.standard_normal((60, 3)), columns=list("abc"))
    X["centre"] = np.repeat(["A", "B"], 30)
    X.loc[X["centre"] == "B", list("abc")] = X.loc[X["centre"] == "B", list("abc")] * 3 + 5
    step = ComBatTransformer(batch="centre").fit(X[X["centre"] == "A"])
    out = step.transform(X)
    a, b = out[X["centre"] == "A"], out[X["centre"] == "B"]
    pd.testing.assert_frame_equal(a, X.loc[X["centre"] == "A", list("abc")])
    np.testing.assert_allclose(b.mean(), a.mean(), atol=1e-12)
    np.testing.assert_allclose(b.std(), a.std(), atol=1e-12)


def test_predict_modules_task_from_a_cohort():
    import data_sim
    from radiogenomics.penalized import predict_modules, predict_traits

    coh, _ = data_sim.make_cohort(120, n_radiomic=40, n_genes=150, n_modules=6, rng=2)
    res = predict_modules(coh, targets=["M02_INFLAMMATORY_RESPONSE", "M05_GLYCOLYSIS"] if
                          "M05_GLYCOLYSIS" in coh["modules"] else list(coh["modules"].columns[:2]),
                          cv=3, n_boot=50, rng=0)
    t = res.to_frame()
    assert len(t) == 2 and {"r2", "r2_lower", "r2_upper", "pearson_r", "n"} <= set(t.columns)
    assert (t["n"] == len(coh["radiomics"].index.intersection(coh["modules"].index))).all()
    assert "R2" in res.summary()
    tr = predict_traits(coh, targets=[coh["traits"].columns[0]], cv="loco", n_boot=0, rng=0,
                        n_lambda=10, inner_cv=3, selection="1se")
    m = tr.models[coh["traits"].columns[0]].named_steps["model"]
    assert (m.n_lambda, m.cv, m.selection) == (10, 3, "1se")           # options reach the model
    assert len(next(iter(m.cv_curves_.values()))) == 10
    assert tr.cv == "leave-one-centre-out"
    with pytest.raises(PenalizedError, match="not columns"):
        predict_modules(coh, targets=["nope"])


def test_modality_contributions_rank_the_informative_modality_first():
    from radiogenomics.validation import modality_contributions

    X, y, mods, _ = _two_modalities(n=200, missing=0.2)
    g = np.random.default_rng(9)
    noise = pd.DataFrame(g.standard_normal((200, 10)), columns=[f"n{j}" for j in range(10)])
    X = pd.concat([X, noise], axis=1)
    mods = {**mods, "noise": list(noise.columns)}
    fm = FusionModel(mods, strategy="late", rng=0)
    tab = modality_contributions(fm, X, y, cv=3, rng=0)
    print("\n" + tab.round(3).to_string())
    assert tab.loc["(all)", "score"] > 0.5
    assert tab.loc["noise", "delta"] < 0.05                 # dropping noise costs (almost) nothing
    assert max(tab.loc["img", "delta"], tab.loc["rna", "delta"]) > tab.loc["noise", "delta"]


def test_unpredicted_samples_are_listed_and_left_out_of_metrics():
    from radiogenomics.validation import cross_validate

    X, y, mods, miss = _two_modalities(n=120, missing=0.3)
    # only the partly missing modality: samples lacking it get no prediction
    fm = FusionModel({"rna": mods["rna"]}, strategy="late", rng=0)
    res = cross_validate(fm, X, y, cv=3, n_boot=0, rng=0)
    assert sorted(res.predictions.attrs["unpredicted"]) == sorted(X.index[miss])
    assert np.isfinite(res.metric("r2"))
    assert "without a prediction" in res.summary()


# ------------------------------------------------------------------ issue 14: silent wrong answers
def test_binomial_lasso_gives_exact_zeros():
    """Before scikit-learn 1.8, LogisticRegression(l1_ratio=...) without penalty= was ridge; the
    binomial path is now the project's own engine, and a binomial lasso must give exact zeros."""
    import radiogenomics.penalized as P

    g = np.random.default_rng(0)
    X = pd.DataFrame(g.normal(size=(120, 30)), columns=[f"x{j}" for j in range(30)])
    y = (X["x0"] - X["x1"] + g.normal(size=120) > 0).astype(float)
    path = P.glmnet_fit(X, y, "binomial", alpha=1.0, lambdas=[0.05])
    coef = path.coef.iloc[0, 1:]
    assert (coef == 0).sum() >= 20 and coef["x0"] > 0 > coef["x1"]
    assert path.converged.all() and path.kkt.max() < 1e-10


def test_default_lambda_sequence_equals_glmnet_at_n_equal_and_below_p(quickstart):
    """Against R's glmnet(x, y) on 20 rows of QuickStartExample (tests/data/glmnet/
    make_lambda_n_eq_p.R): n == p uses lambda.min.ratio 1e-4 and n < p uses 0.01 (the code
    before issue 14 used 0.01 at n == p, which differs from the reference from the 2nd value)."""
    X, y = quickstart
    X, y = X.iloc[:20], y.iloc[:20]
    ref = _read("quickstart20_n_eq_p_default_lambda_seq.csv")["lambda"].to_numpy()
    np.testing.assert_allclose(glmnet_lambda_sequence(X, y)[: len(ref)], ref, rtol=1e-12)
    X2 = X.assign(x21=X.iloc[:, 0] * X.iloc[:, 1])
    ref2 = _read("quickstart20_n_lt_p_default_lambda_seq.csv")["lambda"].to_numpy()
    assert len(ref2) == 100
    np.testing.assert_allclose(glmnet_lambda_sequence(X2, y), ref2, rtol=1e-12)


def test_lambda_min_ratio_follows_glmnet_at_n_equal_p():
    """glmnet: lambda.min.ratio = ifelse(nobs < nvars, 0.01, 1e-4); n == p gets 1e-4."""
    g = np.random.default_rng(1)
    for n, p, ratio in [(20, 20, 1e-4), (20, 21, 1e-2), (21, 20, 1e-4)]:
        seq = glmnet_lambda_sequence(g.normal(size=(n, p)), g.normal(size=n))
        assert seq[-1] / seq[0] == pytest.approx(ratio, rel=1e-12)


def test_stability_bound_counts_the_union_over_the_grid_and_half_samples_only():
    """q counted features selected at the grid's last lambda only (anti-conservative when the
    grid is not decreasing) and the bound was printed for any fraction."""
    g = np.random.default_rng(2)
    X = pd.DataFrame(g.normal(size=(80, 25)), columns=[f"x{j}" for j in range(25)])
    y = X["x0"] + 0.5 * X["x1"] + g.normal(size=80)
    lam = np.sort(glmnet_lambda_sequence(X, y, n_lambda=6, lambda_min_ratio=0.1))  # increasing
    res = stability_selection(X, y, lambdas=lam, n_subsamples=20, rng=3)
    per_lambda = res.probabilities.sum(axis=0)          # mean number selected at each lambda
    assert res.mean_selected >= per_lambda.max() - 1e-9 > per_lambda.iloc[-1]
    p = X.shape[1]
    assert res.expected_false_selections == pytest.approx(
        res.mean_selected**2 / ((2 * res.threshold - 1) * p))
    other = stability_selection(X, y, lambdas=lam, n_subsamples=5, fraction=0.6, rng=3)
    assert other.expected_false_selections is None and "half" in other.bound_note
    assert "no error bound" in other.summary()


def test_inner_cv_is_grouped_under_leave_one_centre_out():
    """Inner folds for lambda used plain k-fold under LOCO; they now keep centres together."""
    from radiogenomics.validation import cross_validate, permutation_test

    g = np.random.default_rng(4)
    n = 90
    centre = pd.Series(np.repeat(["A", "B", "C", "D"], [20, 25, 20, 25]), name="centre")
    X = pd.DataFrame(g.normal(size=(n, 8)), columns=[f"x{j}" for j in range(8)])
    y = X["x0"] + g.normal(size=n)
    m = PenalizedModel(cv=5, n_lambda=10).fit(X, y, groups=centre.to_numpy())
    assert m.inner_cv_.startswith("4-fold grouped")
    res = cross_validate(PenalizedModel(cv=5, n_lambda=10), X, y, cv="loco", centre=centre,
                         n_boot=0, rng=1, return_estimators=True)
    assert all(e.inner_cv_ == "3-fold grouped (3 groups)" for e in res.estimators)
    plain = cross_validate(PenalizedModel(cv=5, n_lambda=10), X, y, cv=3, n_boot=0, rng=1,
                           return_estimators=True)
    assert all(e.inner_cv_ == "5-fold" for e in plain.estimators)
    # permutation_test used to drop groups: a grouped splitter then failed
    from sklearn.model_selection import GroupKFold
    pt = permutation_test(PenalizedModel(cv=3, n_lambda=5), X, y, cv=GroupKFold(4),
                          groups=centre.to_numpy(), n_permutations=3, rng=1)
    assert 0 < pt.p_value <= 1


def test_penalized_inputs_are_checked_with_named_messages():
    """Text columns, NaN/inf, duplicated IDs and misaligned X/y: the project's error type,
    naming the column / sample and the fix."""
    from radiogenomics._checks import InputError, RadiogenomicsError
    from radiogenomics.penalized import PenalizedInputError

    g = np.random.default_rng(5)
    X = pd.DataFrame(g.normal(size=(40, 4)), columns=list("abcd"),
                     index=[f"s{i}" for i in range(40)])
    y = pd.Series(g.normal(size=40), index=X.index)
    assert issubclass(PenalizedError, RadiogenomicsError)
    bad = X.astype(object)
    bad.loc["s3", "c"] = "n/a"
    with pytest.raises(PenalizedInputError, match="'c'"):
        PenalizedModel(lambda_=0.1).fit(bad, y)
    nan = X.copy()
    nan.loc["s7", "b"] = np.nan
    with pytest.raises(InputError, match=r"s7.*\bb\b.*in-fold|s7"):
        glmnet_fit(nan, y, lambdas=[0.1])
    inf = X.copy()
    inf.loc["s9", "d"] = np.inf
    with pytest.raises(PenalizedInputError, match="s9"):
        PenalizedModel(lambda_=0.1).fit(inf, y)
    dup = X.rename(index={"s1": "s0"})
    with pytest.raises(PenalizedInputError, match="s0"):
        PenalizedModel(lambda_=0.1).fit(dup, y.set_axis(dup.index))
    with pytest.raises(PenalizedInputError, match="different sample IDs"):
        PenalizedModel(lambda_=0.1).fit(X, y.rename(index={"s5": "zz"}))
    # same IDs in another order: aligned by ID, not by position
    shuffled = y.sample(frac=1.0, random_state=0)
    a = PenalizedModel(lambda_=0.05).fit(X, shuffled).coef_
    b = PenalizedModel(lambda_=0.05).fit(X, y).coef_
    pd.testing.assert_series_equal(a, b)
    with pytest.raises(PenalizedInputError, match="40 rows but y has 39"):
        PenalizedModel(lambda_=0.1).fit(X.to_numpy(), y.to_numpy()[:39])
    with pytest.raises(PenalizedInputError):
        stability_selection(bad, y, n_subsamples=2)


def test_predictor_imputation_is_fitted_in_fold():
    """NaN predictors (Cohort nan_policy='keep') are imputed with the *training* rows' medians;
    the test rows' own values never enter (closed form: numpy's nanmedian on the training rows)."""
    from radiogenomics.penalized import InFoldImputer
    from radiogenomics.validation import cross_validate

    g = np.random.default_rng(6)
    n = 60
    X = pd.DataFrame(g.normal(size=(n, 5)), columns=list("abcde"),
                     index=[f"s{i}" for i in range(n)])
    X["centre"] = np.repeat(["A", "B", "C"], 20)
    y = X["a"] - X["b"] + g.normal(scale=0.5, size=n)
    X.loc[X.index[::7], "a"] = np.nan
    tr, te = X.iloc[:40], X.iloc[40:]
    imp = InFoldImputer(exclude=("centre",)).fit(tr)
    out = imp.transform(te)
    med = np.nanmedian(tr["a"].to_numpy(dtype=float))
    miss = te["a"].isna().to_numpy()
    assert miss.any() and np.all(out["a"].to_numpy()[miss] == med)
    assert med != np.nanmedian(X["a"].to_numpy(dtype=float))     # whole-cohort median differs
    pd.testing.assert_series_equal(out["centre"], te["centre"])
    assert imp.n_imputed_ == int(tr["a"].isna().sum())
    res = cross_validate(make_pipeline(alpha=1.0, n_lambda=10, cv=3, rng=0), X, y, cv=3,
                         n_boot=0, rng=0)
    assert res.metric("r2") > 0.3
    with pytest.raises(PenalizedError, match="NaN"):
        make_pipeline(impute=False, rng=0).fit(X, y)
    empty = X.copy()
    empty.loc[empty.index[:40], "e"] = np.nan
    with pytest.raises(PenalizedError, match="'e'|e"):
        InFoldImputer(exclude=("centre",)).fit(empty.iloc[:40])


def test_imputed_targets_are_never_scored():
    """A target view imputed by Cohort(nan_policy='impute_median') was scored as observed in CV;
    those samples are now left out of training and scoring, with a record and a warning."""
    import data_sim
    from radiogenomics import Cohort
    from radiogenomics.penalized import predict_modules

    coh, _ = data_sim.make_cohort(80, n_radiomic=20, n_genes=60, n_modules=3, rng=3)
    mods = coh["modules"].copy()
    target = mods.columns[0]
    holes = list(mods.index[:10])
    mods.loc[holes, target] = np.nan
    views = {"radiomics": coh["radiomics"], "modules": mods}
    imp = Cohort(views, centre=coh.centre, covariates=coh.covariates,
                 nan_policy={"radiomics": "raise", "modules": "impute_median"})
    assert (imp["modules"].loc[holes, target] == mods[target].median()).all()
    with pytest.warns(UserWarning, match="10 imputed target value"):
        res = predict_modules(imp, targets=[target], cv=3, n_boot=0, rng=0, n_lambda=5,
                              inner_cv=3)
    assert sorted(res.dropped_imputed[target]) == sorted(holes)
    n_all = len(imp["radiomics"].index.intersection(imp["modules"].index))
    assert res.table.loc[target, "n"] == n_all - 10
    assert res.table.loc[target, "n_imputed_target_dropped"] == 10
    scored = res.results[target].predictions.index
    assert not set(holes) & set(scored)


def test_stability_selection_on_dask_workers_equals_one_process_and_reports_skips():
    from distributed import Client, LocalCluster

    g = np.random.default_rng(8)
    X = pd.DataFrame(g.normal(size=(40, 25)), columns=[f"x{j}" for j in range(25)])
    y = pd.Series((X["x0"] + 0.5 * g.normal(size=40) > 1.3).astype(float))
    local = stability_selection(X, y, "binomial", n_subsamples=24, fraction=0.3, rng=3)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        dist = stability_selection(X, y, "binomial", n_subsamples=24, fraction=0.3, rng=3,
                                   client=client)
    pd.testing.assert_frame_equal(local.probabilities, dist.probabilities)
    assert local.skipped_one_class == dist.skipped_one_class
    # few positives (about 10%) and subsamples of 12: some hold one class, and they are named
    assert local.skipped_one_class and local.n_subsamples == 24 - len(local.skipped_one_class)
    assert "one class skipped" in local.summary()
