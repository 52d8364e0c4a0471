"""Penalised Cox models (``PenalizedModel(family="cox")``, ``make_pipeline``, ``FusionModel``):
glmnet parity through the estimator, survival-target layouts, absolute-risk predictions and
input errors.  Cross-validation of survival models: tests/test_survival_validation.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics.penalized import (FusionModel, PenalizedError, PenalizedModel,
                                     make_pipeline)

COX = Path(__file__).parent / "data" / "glmnet_cox"


def _cox_data():
    d = pd.read_csv(COX / "cox_data.csv.gz", float_precision="round_trip")
    return d.filter(regex=r"^x\d"), d[["time", "status"]]


def _sim(n=150, p=10, rng=0, beta=(0.8, -0.6, 0.4)):
    r = np.random.default_rng(rng)
    X = pd.DataFrame(r.standard_normal((n, p)), columns=[f"f{j}" for j in range(p)],
                     index=[f"s{i}" for i in range(n)])
    b = np.zeros(p)
    b[:len(beta)] = beta
    t = r.exponential(1.0 / (0.2 * np.exp(X.to_numpy() @ b)))
    c = r.uniform(2, 10, n)
    y = pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int)}, index=X.index)
    return X, y


def test_cox_estimator_equals_glmnet_at_fixed_lambdas():
    """PenalizedModel(family="cox", lambda_=...) reaches glmnet 4.1-6's coefficients at that
    lambda (tests/data/glmnet_cox, lasso and elastic net; glmnet computed them along its path
    with warm starts, the optimum is the same): abs 1e-6, as for the path tests."""
    X, y = _cox_data()
    for alpha, fname in ((1.0, "glmnet_cox_breslow_alpha1_thresh1e-14.csv.gz"),
                         (0.5, "glmnet_cox_breslow_alpha0.5_thresh1e-14.csv.gz")):
        ref = pd.read_csv(COX / fname, float_precision="round_trip")
        for k in (5, 20, len(ref) - 1):
            m = PenalizedModel(family="cox", alpha=alpha, lambda_=ref["lambda"].iloc[k]).fit(X, y)
            want = ref.filter(regex=r"^x\d").iloc[k].to_numpy()
            np.testing.assert_allclose(m.coef_.to_numpy(), want, atol=1e-6)
            assert m.intercept_ == 0.0 and m.kkt_ < 1e-8


def test_cox_estimator_cv_chooses_cv_glmnet_lambda():
    X, y = _cox_data()
    m = PenalizedModel(family="cox", cv=5, rng=3).fit(X, y)
    res = m.cv_results_["survival"]
    assert m.lambda_chosen_ == res.lambda_min
    assert res.measure == "deviance" and m.convergence_warnings_ == []
    mc = PenalizedModel(family="cox", cv=5, rng=3, type_measure="C", selection="1se").fit(X, y)
    rc = mc.cv_results_["survival"]
    assert rc.measure == "C" and mc.lambda_chosen_ == rc.lambda_1se
    assert rc.cvm[rc.index_1se] >= rc.cvm.max() - rc.cvsd[rc.index_min] - 1e-12
    # the chosen model beats chance by far on these data (true effects up to 0.8)
    assert m.score(X, y) > 0.65 and len(m.selected_features_) >= 3


def test_cox_target_layouts_agree():
    """(time, event) as a named DataFrame in any column order, a plain 2-column array and
    scikit-survival's structured array give the same fit."""
    X, y = _sim()
    base = PenalizedModel(family="cox", lambda_=0.05).fit(X, y).coef_.to_numpy()
    rev = y[["event", "time"]]
    arr = y.to_numpy()
    rec = np.empty(len(y), dtype=[("event", bool), ("time", float)])
    rec["event"], rec["time"] = y["event"].astype(bool), y["time"]
    for yy in (rev, arr, rec):
        got = PenalizedModel(family="cox", lambda_=0.05).fit(X, yy).coef_.to_numpy()
        np.testing.assert_array_equal(got, base)


def test_cox_risk_score_centred_at_training_mean():
    """predict / decision_function for cox: x'b minus its training mean (as R's
    predict.coxph), so out-of-fold scores of different fold models pool on one scale."""
    X, y = _sim(n=80)
    m = PenalizedModel(family="cox", lambda_=0.05).fit(X, y)
    eta = X.to_numpy() @ m.coef_.to_numpy()
    np.testing.assert_allclose(m.predict(X), eta - eta.mean(), atol=1e-12)
    assert m.lp_offset_ == pytest.approx(eta.mean(), abs=1e-12)


def test_cox_absolute_risk_is_breslow():
    """predict_survival = exp(-H0(t) exp(x'b)) with H0 the Breslow estimator at the fitted
    linear predictor: sum over event times <= t of d_j / sum_{risk set} exp(eta)."""
    X, y = _sim(n=80)
    m = PenalizedModel(family="cox", lambda_=0.05).fit(X, y)
    eta = X.to_numpy() @ m.coef_.to_numpy()
    t, e = y["time"].to_numpy(), y["event"].to_numpy()
    times = np.quantile(t, [0.2, 0.5, 0.8])
    H0 = np.array([sum(1.0 / np.exp(eta[t >= s]).sum() for s in t[(e == 1) & (t <= h)])
                   for h in times])
    S = m.predict_survival(X.iloc[:5], times)
    np.testing.assert_allclose(S.to_numpy(), np.exp(-np.outer(np.exp(eta[:5]), H0)),
                               rtol=1e-10)
    assert list(S.index) == list(X.index[:5])
    np.testing.assert_allclose(m.predict_risk(X.iloc[:5], times[1]), 1 - S.to_numpy()[:, 1])
    assert (np.diff(S.to_numpy(), axis=1) <= 0).all()


def test_cox_score_is_harrell_c():
    lifelines = pytest.importorskip("lifelines", reason="lifelines cross-check")
    from lifelines.utils import concordance_index

    X, y = _sim()
    m = PenalizedModel(family="cox", lambda_=0.05).fit(X, y)
    want = concordance_index(y["time"], -m.predict(X), y["event"])
    assert m.score(X, y) == pytest.approx(want, abs=1e-12)
    assert lifelines.__version__


def test_cox_input_errors():
    X, y = _sim(n=40)
    with pytest.raises(PenalizedError, match="two-column array"):
        PenalizedModel(family="cox", lambda_=0.1).fit(X, y["time"])
    bad = y.copy()
    bad.iloc[3, 1] = 2
    with pytest.raises(PenalizedError, match=r"event must be 1 .*samples 's3'"):
        PenalizedModel(family="cox", lambda_=0.1).fit(X, bad)
    bad = y.copy()
    bad.iloc[[1, 7], 0] = -1.0
    with pytest.raises(PenalizedError, match=r"values <= 0 .*samples 's1', 's7'"):
        PenalizedModel(family="cox", lambda_=0.1).fit(X, bad)
    with pytest.raises(PenalizedError, match="ties"):
        PenalizedModel(family="cox", lambda_=0.1, ties="exact").fit(X, y)
    with pytest.raises(PenalizedError, match="type_measure 'mse'"):
        PenalizedModel(family="cox", type_measure="mse").fit(X, y)
    m = PenalizedModel(family="gaussian", lambda_=0.1).fit(X, y["time"])
    with pytest.raises(PenalizedError, match="family='cox'"):
        m.predict_survival(X, [1.0])


def test_cox_pipeline_harmonises_in_fold():
    """make_pipeline(family="cox"): imputation, ComBat on the centre column and the penalised
    Cox model; the centre column is consumed by ComBat, the target passes through."""
    X, y = _sim(n=120, p=8)
    centre = np.repeat(["A", "B", "C"], 40)
    Xc = X.assign(centre=centre)
    Xc.loc[Xc["centre"] == "B", "f0"] += 3.0          # a batch shift ComBat removes
    pipe = make_pipeline(family="cox", alpha=1.0, cv=4, rng=1).fit(Xc, y)
    model = pipe.named_steps["model"]
    assert "centre" not in model.feature_names_in_
    assert model.coef_["f0"] > 0.3 and model.coef_["f1"] < -0.2
    r = pipe.predict(Xc)
    assert r.shape == (120,) and np.isfinite(r).all()


@pytest.mark.parametrize("strategy", ["early", "late", "intermediate"])
def test_fusion_survival(strategy):
    X, y = _sim(n=160, p=12, beta=(0.9, 0, 0, 0, 0, 0, -0.7))
    mods = {"img": [f"f{j}" for j in range(6)], "rna": [f"f{j}" for j in range(6, 12)]}
    base = PenalizedModel(family="cox", alpha=0.5, cv=4)
    kw = {"joint": "mofa", "n_components": 3} if strategy == "intermediate" else {}
    fm = FusionModel(mods, strategy=strategy, base=base, family="cox", rng=0, **kw).fit(X, y)
    r = fm.predict(X)
    assert np.isfinite(r).all()
    from radiogenomics.survival.concordance import _harrell_c_value
    c = _harrell_c_value(y["time"].to_numpy(), y["event"].to_numpy(), r)
    assert c > 0.6, c
    if strategy == "late":
        w = fm.contributions_["meta_weight"]
        assert (w > 0).all()              # both modalities carry signal (risk scores)
        assert fm.convergence_warnings_ == []


def test_coxph_model_estimator_is_coxph():
    """CoxPHModel (the unpenalised clinical baseline) is coxph behind fit/predict: same
    coefficients, linear predictor and survfit-style absolute risks; columns select the
    clinical variables; missing columns are named."""
    from radiogenomics.survival import CoxPHModel, coxph

    X, y = _sim(n=120, p=4)
    m = CoxPHModel(columns=["f0", "f1"]).fit(X, y)
    fit = coxph(X[["f0", "f1"]], time=y["time"], event=y["event"])
    np.testing.assert_allclose(m.coef_.to_numpy(), fit.coef.to_numpy(), rtol=1e-12)
    lp = X[["f0", "f1"]].to_numpy() @ fit.coef.to_numpy()
    np.testing.assert_allclose(m.predict(X), lp - lp.mean(), rtol=1e-12, atol=1e-14)
    # text columns are dummy coded with the training levels
    Xs = X.assign(grade=np.where(X["f2"] > 0, "high", "low"))
    ms = CoxPHModel(columns=["f0", "grade"]).fit(Xs, y)
    want = coxph(Xs[["f0"]].assign(grade_low=(Xs["grade"] == "low").astype(float)),
                 time=y["time"], event=y["event"])
    np.testing.assert_allclose(ms.coef_.to_numpy(), want.coef.to_numpy(), rtol=1e-12)
    with pytest.raises(Exception, match="not seen in training"):
        ms.predict(Xs.assign(grade="medium"))
    np.testing.assert_allclose(m.predict_risk(X.iloc[:4], 3.0),
                               fit.predict_risk(X[["f0", "f1"]].iloc[:4], 3.0).to_numpy(),
                               rtol=1e-12)
    from radiogenomics.survival.concordance import _harrell_c_value
    assert m.score(X, y) == _harrell_c_value(y["time"].to_numpy(), y["event"].to_numpy(),
                                             m.predict(X))
    from radiogenomics._checks import InputError
    with pytest.raises(InputError, match=r"columns \['age'\] are not in X"):
        CoxPHModel(columns=["age"]).fit(X, y)
