"""Validation: splitters, leakage guard (leave-one-centre-out with in-fold ComBat vs a leaky
pipeline), prediction against the achievable R2 of data_sim cohorts, nested CV, permutation
test calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import data_sim
from radiogenomics.harmonize import ComBat
from radiogenomics.penalized import PenalizedModel, make_pipeline
from radiogenomics.validation import (LeaveOneCentreOut, ValidationError, cross_validate,
                                      design_matrix, grouped_kfold, nested_cv, permutation_test,
                                      repeated_kfold)


def _null_multicentre(n_per=(70, 60, 50, 60), p=40, shift=1.5, prevalence=(0.15, 0.35, 0.55, 0.75),
                      seed=0):
    """Features: noise + strong per-centre location/scale effects; outcome: Bernoulli with a
    centre-specific prevalence, independent of the features given the centre."""
    g = np.random.default_rng(seed)
    rows, ys, cs = [], [], []
    for c, (m, prev) in enumerate(zip(n_per, prevalence)):
        loc = g.normal(0, shift, p)
        scale = np.exp(g.normal(0, 0.3, p))
        rows.append(loc + scale * g.standard_normal((m, p)))
        ys.append((g.random(m) < prev).astype(float))
        cs += [f"C{c + 1}"] * m
    X = pd.DataFrame(np.vstack(rows), columns=[f"f{j}" for j in range(p)])
    X.index = [f"s{i:03d}" for i in range(len(X))]
    X["centre"] = cs
    return X, pd.Series(np.concatenate(ys), index=X.index, name="outcome")


def test_leave_one_centre_out_splitter():
    X, y = _null_multicentre()
    spl = LeaveOneCentreOut()
    folds = list(spl.split(X))
    assert len(folds) == spl.get_n_splits(X) == 4
    for tr, te in folds:
        assert X["centre"].iloc[te].nunique() == 1
        assert not set(X["centre"].iloc[tr]) & set(X["centre"].iloc[te])
    assert sorted(np.concatenate([te for _, te in folds])) == list(range(len(X)))
    with pytest.raises(ValidationError, match="centre labels"):
        list(LeaveOneCentreOut().split(X.drop(columns="centre")))
    gk = grouped_kfold(3, stratify=True, rng=0)
    groups = X["centre"].to_numpy()
    for tr, te in gk.split(X, y, groups):
        assert not set(groups[tr]) & set(groups[te])
    rk = list(repeated_kfold(5, 2, rng=0).split(X))
    assert len(rk) == 10


def _loco(X, y, leaky: bool, n_boot=0, rng=1):
    if leaky:
        # the leaky pipeline: ComBat fitted once on all samples with the outcome as a covariate
        # (to "preserve" it) and the 10 features most correlated with the outcome picked on all
        # samples, then leave-one-centre-out on what is left
        feats = X.drop(columns="centre")
        H = ComBat().fit_transform(feats, X["centre"], y.to_frame())
        top = H.corrwith(y).abs().sort_values(ascending=False).index[:10]
        X = H[top].assign(centre=X["centre"])
    # ridge with a fixed penalty (the claim does not depend on how lambda is chosen; inner CV
    # of lambda over 20 cohorts would dominate the test's run time)
    pipe = make_pipeline(family="binomial", alpha=0.0, harmonize=not leaky, rng=0)
    pipe.set_params(model__lambda_=0.05)
    return cross_validate(pipe, X, y, "loco", n_boot=n_boot, rng=rng)


def test_leakage_guard_loco_auroc_is_chance_and_leaky_pipeline_is_optimistic():
    """Null features, strong centre effects, outcome rate 15-75% by centre.  Ridge-logistic
    pipeline with ComBat fitted inside the folds (the held-out centre harmonised from its own
    features) vs a leaky pipeline.  Over 20 simulated cohorts the mean within-centre LOCO
    AUROC has a 95% CI containing 0.5 and the leaky pipeline's lies above 0.5; one cohort's
    bootstrap CIs are checked too.  (ComBat with the outcome as covariate fitted on all data
    *alone* was not optimistic in these simulations - its only per-sample leak is
    beta_hat (1 - 1/delta*) y, small and of centre-dependent sign - so the leaky pipeline also
    selects features on all data, the way such analyses usually leak.)"""
    ours, leak = [], []
    for seed in range(20):
        X, y = _null_multicentre(seed=seed)
        ours.append(_loco(X, y, False).metric("auroc_within_centre"))
        leak.append(_loco(X, y, True).metric("auroc_within_centre"))
    ours, leak = np.array(ours), np.array(leak)

    def ci(a):
        h = 1.96 * a.std(ddof=1) / np.sqrt(len(a))
        return a.mean() - h, a.mean() + h

    lo, hi = ci(ours)
    llo, lhi = ci(leak)
    print(f"\nwithin-centre LOCO AUROC over 20 null cohorts: in-fold ComBat {ours.mean():.3f} "
          f"[{lo:.3f}, {hi:.3f}]; leaky {leak.mean():.3f} [{llo:.3f}, {lhi:.3f}]")
    assert lo <= 0.5 <= hi
    assert llo > 0.5 and leak.mean() > hi
    X, y = _null_multicentre(seed=20)
    res = _loco(X, y, False, n_boot=500)
    m = res.metrics.set_index(["breakdown", "metric", "group"])
    w = m.loc[("all", "auroc_within_centre", "all")]
    pooled = m.loc[("all", "auroc", "all")]
    print(f"one cohort: within-centre AUROC {w.estimate:.3f} [{w.lower:.3f}, {w.upper:.3f}]; "
          f"pooled AUROC {pooled.estimate:.3f} [{pooled.lower:.3f}, {pooled.upper:.3f}] "
          "(held-out centres get the other centres' base rate)")
    assert w.lower <= 0.5 <= w.upper
    assert pooled.upper < 0.5            # the pooled AUROC is misleading under LOCO here
    per = res.metrics.query("metric == 'auroc' and breakdown == 'centre'")
    assert sorted(per["group"].astype(str)) == ["C1", "C2", "C3", "C4"]
    assert res.folds["test_centres"].tolist() == ["C1", "C2", "C3", "C4"]


SIM = dict(n_radiomic=100, n_genes=500, centre_effects=False, radiomic_signal=1000.0,
           expression_signal=1000.0, canonical_correlations=(0.9, 0.7))


@pytest.fixture(scope="module")
def achievable():
    """Ground-truth achievable R2 of each linked module from radiomics: the best linear
    predictor fitted on 10,000 simulated patients and scored on 10,000 others (loadings do not
    depend on n in data_sim, so this is the same population as the test cohort)."""
    from sklearn.linear_model import LinearRegression

    big, _ = data_sim.make_cohort(20000, rng=3, **SIM)
    Xb = big["radiomics"]
    Mb = big["modules"].reindex(Xb.index)
    ok = Mb.notna().all(axis=1).to_numpy()
    Xb, Mb = Xb[ok], Mb[ok]
    half = len(Xb) // 2
    out = {}
    for m in ("M02_INFLAMMATORY_RESPONSE", "M03_OXIDATIVE_PHOSPHORYLATION"):
        lr = LinearRegression().fit(Xb.iloc[:half], Mb[m].iloc[:half])
        pr, yy = lr.predict(Xb.iloc[half:]), Mb[m].iloc[half:].to_numpy()
        out[m] = 1 - np.sum((yy - pr) ** 2) / np.sum((yy - yy.mean()) ** 2)
    return out


def test_imaging_to_module_r2_reaches_the_achievable_r2(achievable):
    coh, _ = data_sim.make_cohort(1000, rng=3, **SIM)
    small, _ = data_sim.make_cohort(200, rng=4, **SIM)
    for m, ach in achievable.items():
        X, y = design_matrix(coh, "radiomics", m, target_view="modules")
        alphas = (0.0, 0.5) if m.startswith("M03") else (0.0,)
        for alpha in alphas:
            res = cross_validate(make_pipeline(alpha=alpha, covariates=["age", "sex"], rng=0),
                                 X, y, cv=10, n_boot=300, rng=1)
            r = res.metrics.query("metric == 'r2' and breakdown == 'all'").iloc[0]
            Xs, ys = design_matrix(small, "radiomics", m, target_view="modules")
            r_small = cross_validate(make_pipeline(alpha=alpha, covariates=["age", "sex"], rng=0),
                                     Xs, ys, cv=10, n_boot=0, rng=1).metric("r2")
            print(f"\n{m}, alpha {alpha}: achievable R2 {ach:.3f}; 10-fold CV R2 at n = 1000 "
                  f"{r.estimate:.3f} [{r.lower:.3f}, {r.upper:.3f}]; at n = 200 {r_small:.3f}")
            assert abs(r.estimate - ach) < 0.05
            assert r.lower - 0.02 <= ach <= r.upper + 0.02
            assert r_small < ach + 0.05            # small samples cannot beat the population


def test_nested_cv_and_binary_metrics():
    g = np.random.default_rng(2)
    n = 160
    X = pd.DataFrame(g.standard_normal((n, 10)), columns=[f"x{j}" for j in range(10)])
    eta = 1.5 * X["x0"] - X["x1"]
    y = pd.Series((g.random(n) < 1 / (1 + np.exp(-eta))).astype(float))
    sex = pd.Series(np.where(g.random(n) < 0.5, "F", "M"))
    base = PenalizedModel(family="binomial", alpha=1.0, lambda_=0.5)
    model = PenalizedModel(family="binomial", n_lambda=12, cv=3, rng=0)
    res = nested_cv(model, {"alpha": [0.5, 1.0]}, X, y, 5,
                    inner=3, rng=0, subgroups={"sex": sex}, baseline=base, n_boot=200)
    assert len(res.params) == 5 and all(p["alpha"] in (0.5, 1.0) for p in res.params)
    assert res.metric("auroc") > 0.75
    mets = set(res.metrics["metric"])
    assert {"auroc", "average_precision", "brier", "calibration_intercept",
            "calibration_slope", "nri_continuous"} <= mets
    assert set(res.metrics.query("breakdown == 'sex'")["group"].astype(str)) == {"F", "M"}
    cal = res.calibration()
    assert len(cal.table) >= 5
    dc = res.decision_curve()
    assert {"threshold", "net_benefit_model", "net_benefit_treat_all"} <= set(dc.columns)
    assert "auroc" in res.summary()
    # same rng, same predictions
    res2 = nested_cv(model, {"alpha": [0.5, 1.0]}, X, y, 5,
                     inner=3, rng=0, n_boot=0)
    np.testing.assert_array_equal(res.predictions["pred"], res2.predictions["pred"])


def test_permutation_test_of_cv_score_is_calibrated_under_the_null():
    from sklearn.linear_model import Ridge

    g = np.random.default_rng(5)
    pvals = []
    for _ in range(120):
        X = pd.DataFrame(g.standard_normal((40, 5)))
        y = g.standard_normal(40)
        pvals.append(permutation_test(Ridge(alpha=1.0), X, y, cv=3, n_permutations=19,
                                      rng=g).p_value)
    pvals = np.array(pvals)
    rate = np.mean(pvals <= 0.05)
    print(f"\npermutation test of the CV R2 under the null: P(p <= 0.05) = {rate:.3f} "
          "(exactly 1/20 expected with B = 19)")
    assert pvals.min() >= 1 / 20
    assert rate <= 0.05 + 2.6 * np.sqrt(0.05 * 0.95 / 120)
    # with signal: the smallest attainable p
    X = pd.DataFrame(g.standard_normal((60, 5)))
    y = 2 * X[0] + 0.5 * g.standard_normal(60)
    r = permutation_test(Ridge(alpha=1.0), X, y, cv=3, n_permutations=49, rng=1)
    assert r.p_value == pytest.approx(1 / 50) and r.observed > 0.8
    # within-centre permutations keep each centre's outcomes inside it
    Xn, yn = _null_multicentre(n_per=(20, 20), p=5, prevalence=(0.3, 0.6))
    pipe = make_pipeline(family="binomial", alpha=0.0, rng=0).set_params(model__lambda_=0.1)
    r2 = permutation_test(pipe, Xn, yn, cv="loco", n_permutations=9, blocks="centre", rng=2)
    assert r2.within_blocks and 0.1 <= r2.p_value <= 1


def test_input_errors_are_named():
    X, y = _null_multicentre()
    with pytest.raises(ValidationError, match="missing values"):
        cross_validate(make_pipeline(family="binomial"), X, y.mask(y.index == "s000"), 3)
    with pytest.raises(ValidationError, match="at least 2 folds"):
        cross_validate(make_pipeline(family="binomial"), X, y, 1)
    with pytest.raises(ValidationError, match="'loco' needs centre"):
        cross_validate(make_pipeline(family="binomial"), X.drop(columns="centre"), y, "loco")


def test_validation_plots(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from radiogenomics import plotting

    X, y = _null_multicentre(n_per=(60, 60, 60), prevalence=(0.3, 0.4, 0.5), p=8, shift=0.0)
    X["f0"] = X["f0"] + 1.5 * y                      # some signal
    pipe = make_pipeline(family="binomial", alpha=0.0, rng=0).set_params(model__lambda_=0.05)
    res = cross_validate(pipe, X, y, 5, n_boot=100, rng=0)
    for name, fig in (("cal", plotting.plot_calibration(res, n_bins=5)),
                      ("dc", plotting.plot_decision_curve(res)),
                      ("grp", plotting.plot_validation_by_group(res))):
        fig.savefig(tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").stat().st_size > 5000
    assert res.metric("auroc") > 0.7


# ------------------------------------------------------------------ issue 14: grouped inner folds
from sklearn.base import BaseEstimator, RegressorMixin  # noqa: E402


class _CentreSpy(RegressorMixin, BaseEstimator):
    """A tiny regressor that records, for every fit, the centres it was trained on and, for
    every prediction, the centres it is asked about (GridSearchCV scores inner folds this way)."""

    log: list = []

    def __init__(self, shrink=1.0):
        self.shrink = shrink

    def fit(self, X, y):
        self.train_centres_ = frozenset(X["centre"])
        self.mean_ = float(np.mean(y)) * self.shrink
        return self

    def predict(self, X):
        _CentreSpy.log.append((self.train_centres_, frozenset(X["centre"])))
        return np.full(len(X), self.mean_)


def test_nested_cv_inner_folds_keep_centres_together_under_loco():
    """Inner GridSearchCV folds were plain k-fold under leave-one-centre-out, so a centre was
    split between inner training and validation rows; every inner validation fold now holds
    centres absent from its training rows (also with 3 training centres and inner=5)."""
    X, y = _null_multicentre(n_per=(30, 30, 30, 30), p=3)
    y = pd.Series(np.random.default_rng(0).normal(size=len(y)), index=y.index)
    _CentreSpy.log = []
    res = nested_cv(_CentreSpy(), {"shrink": [0.5, 1.0]}, X, y, outer="loco", inner=5,
                    n_boot=0, rng=0)
    assert len(res.params) == 4
    assert len(_CentreSpy.log) > 8
    for train, scored in _CentreSpy.log:
        assert not train & scored, (sorted(train), sorted(scored))


def test_penalized_inner_folds_keep_each_group_whole(monkeypatch):
    """The lambda CV inside PenalizedModel gets the training centres under LOCO: every inner
    training set holds each group completely or not at all (plain k-fold splits groups)."""
    import radiogenomics.elasticnet as en

    n_per, k = 12, 6
    g = np.random.default_rng(3)
    code = np.repeat(np.arange(k), n_per).astype(float)
    X = pd.DataFrame(g.normal(size=(n_per * k, 4)), columns=list("abcd"))
    X["code"] = code + 0.01 * 0            # a feature that names the group
    X["centre"] = [f"C{int(c)}" for c in code]
    y = pd.Series(X["a"] + g.normal(size=len(X)))
    seen = []
    real = en._fold_fit

    def spy(A, yy, tr, te, *args, **kw):           # one inner fold's fit (cv_glmnet)
        seen.append(np.asarray(A)[tr, 4].copy())
        return real(A, yy, tr, te, *args, **kw)

    monkeypatch.setattr(en, "_fold_fit", spy)
    cross_validate(PenalizedModel(alpha=1.0, cv=5, n_lambda=5), X.drop(columns="centre"), y,
                   cv="loco", centre=X["centre"], n_boot=0, rng=0)
    assert seen
    for col in seen:
        _, counts = np.unique(np.round(col, 8), return_counts=True)
        assert set(counts) == {n_per}, counts            # whole groups only

    seen.clear()
    cross_validate(PenalizedModel(alpha=1.0, cv=5, n_lambda=5), X.drop(columns="centre"), y,
                   cv=3, n_boot=0, rng=0)
    assert any(set(np.unique(np.round(c, 8), return_counts=True)[1]) != {n_per} for c in seen)


def test_validation_inputs_are_checked_by_sample_id():
    """y was taken by position even when its index named other samples; a centre Series with
    missing IDs became the label 'nan'.  Both are now refused, naming the samples."""
    from radiogenomics._checks import InputError

    X, y = _null_multicentre(n_per=(20, 20, 20), p=4, prevalence=(0.3, 0.5, 0.6))
    pipe = make_pipeline(family="binomial", alpha=0.0, rng=0).set_params(model__lambda_=0.1)
    with pytest.raises(InputError, match="different sample IDs"):
        cross_validate(pipe, X, y.rename(index={"s003": "x999"}), 3, n_boot=0)
    with pytest.raises(InputError, match="s005"):
        cross_validate(pipe, X, y.mask(y.index == "s005", np.inf), 3, n_boot=0)
    with pytest.raises(InputError, match="text|non-numeric"):
        cross_validate(pipe, X, y.astype(object).mask(y.index == "s001", "yes"), 3, n_boot=0)
    with pytest.raises(InputError, match="s000"):
        cross_validate(pipe, X.rename(index={"s001": "s000"}), y.to_numpy(), 3, n_boot=0)
    with pytest.raises(InputError, match="different sample IDs"):
        cross_validate(pipe, X.drop(columns="centre"), y, "loco",
                       centre=X["centre"].iloc[1:], n_boot=0)
    with pytest.raises(InputError, match="different numbers of samples"):
        permutation_test(pipe, X, y.to_numpy()[:-1], 3, n_permutations=2)
    # the same IDs in another order are aligned, not refused: same result as in order
    a = cross_validate(pipe, X, y.sample(frac=1.0, random_state=1), 3, n_boot=0, rng=0)
    b = cross_validate(pipe, X, y, 3, n_boot=0, rng=0)
    assert a.metric("auroc") == pytest.approx(b.metric("auroc"))
