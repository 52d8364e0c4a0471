"""ComBat (radiogenomics.harmonize) against R sva::ComBat 3.46.0 outputs (tests/data/combat/README.md).

Tolerances: adjusted values to 1e-6 in units of each feature's SD (|ours - sva| / sd(feature));
the implementation reaches about 1e-12 (parametric, mean-only and non-parametric alike: the
vectorised non-parametric integration is algebraically identical to sva's loop).  EB estimates
(gamma*, delta*, priors, pooled variance) to 1e-8 absolute / relative.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics.cohort import CohortValidationError
from radiogenomics.harmonize import ComBat

D = Path(__file__).parent / "data" / "combat"
TOL_SD = 1e-6


@pytest.fixture(scope="module")
def ds1():
    X = pd.read_csv(D / "ds1_balanced" / "features.csv", index_col=0)
    C = pd.read_csv(D / "ds1_balanced" / "covariates.csv", index_col=0)
    return X, C


def _expected(name, like):
    E = pd.read_csv(D / "ds1_balanced" / name, index_col=0)
    if E.shape != like.shape:
        E = E.T
    return E.to_numpy()


def _err_sd(out, E, X):
    return np.max(np.abs((np.asarray(out) - E) / X.std().to_numpy()))


@pytest.mark.parametrize("kw, prefix", [
    ({}, "sva_parametric"),
    ({"mean_only": True}, "sva_parametric_meanonly"),
    ({"parametric": False}, "sva_nonparametric"),
])
def test_parity_with_sva(ds1, kw, prefix):
    X, C = ds1
    m = ComBat(**kw)
    out = m.fit_transform(X, C["centre"], C[["age", "disease"]])
    assert out.index.equals(X.index) and out.columns.equals(X.columns)
    assert _err_sd(out, _expected(prefix + ".csv", X), X) < TOL_SD
    if prefix != "sva_parametric_meanonly":
        for nm in ("gamma_star", "delta_star"):
            E = pd.read_csv(D / "ds1_balanced" / f"{prefix}_{nm}.csv", index_col=0)
            got = getattr(m, nm + "_")
            assert list(got.index) == list(E.index)
            np.testing.assert_allclose(got.to_numpy(), E.to_numpy(), rtol=1e-8, atol=1e-8)
    else:
        assert m.mean_only_ and np.all(m.delta_star_.to_numpy() == 1)


def test_intermediates_match_sva(ds1):
    X, C = ds1
    m = ComBat().fit(X, C["centre"], C[["age", "disease"]])
    pri = pd.read_csv(D / "ds1_balanced" / "sva_priors.csv", index_col=0)
    np.testing.assert_allclose(m.priors_.to_numpy(), pri.to_numpy(), rtol=1e-8)
    vp = pd.read_csv(D / "ds1_balanced" / "sva_var_pooled.csv", index_col=0).iloc[:, 0]
    np.testing.assert_allclose(m.var_pooled_.to_numpy(), vp.to_numpy(), rtol=1e-8)
    assert m.unadjusted_features_.empty and m.n_iter_


def test_categorical_covariate_coding(ds1):
    """A string covariate is dummy coded like R model.matrix: same result as the 0/1 column."""
    X, C = ds1
    cov = C[["age"]].assign(disease=C["disease"].map({0: "control", 1: "case"}).astype(str))
    # sorted levels: 'case' is the reference level, so the dummy is 'control' = 1 - disease;
    # the fitted space (and the adjusted data) are the same
    out = ComBat().fit_transform(X, C["centre"], cov)
    assert _err_sd(out, _expected("sva_parametric.csv", X), X) < TOL_SD


def test_nonparametric_parity_bladderbatch():
    """Real data, 2,000 probes, 5 batches (1 of 4 arrays), no covariates (sva mod = NULL)."""
    X = pd.read_csv(D / "bladderbatch" / "expr_top2000var_samples_x_probes.csv.gz", index_col=0)
    P = pd.read_csv(D / "bladderbatch" / "pheno.csv", index_col=0)
    E = pd.read_csv(D / "bladderbatch" / "sva_nonparametric_mod1_top2000.csv.gz", index_col=0)
    out = ComBat(parametric=False).fit_transform(X, P["batch"])
    E = E.loc[X.index, X.columns] if E.shape == X.shape else E.T.loc[X.index, X.columns]
    assert _err_sd(out, E.to_numpy(), X) < TOL_SD


def test_ref_batch(ds1):
    """sva ref.batch semantics: reference batch unchanged, its gamma*=0, delta*=1, pooled
    variance from the reference batch, other batches mapped onto the reference's mean/scale."""
    X, C = ds1
    cov = C[["age", "disease"]]
    m = ComBat(ref_batch="B")
    out = m.fit_transform(X, C["centre"], cov)
    ref = (C["centre"] == "B").to_numpy()
    np.testing.assert_array_equal(out.to_numpy()[ref], X.to_numpy()[ref])
    assert np.all(m.gamma_star_.loc["B"] == 0) and np.all(m.delta_star_.loc["B"] == 1)
    # grand mean is the reference-batch intercept; pooled variance is the ref-batch residual MSE
    Z = np.column_stack([np.ones(len(X)), pd.get_dummies(C["centre"]).drop(columns="B").to_numpy(float),
                         cov.to_numpy(float)])
    beta = np.linalg.lstsq(Z, X.to_numpy(), rcond=None)[0]
    np.testing.assert_allclose(m.grand_mean_.to_numpy(), beta[0], rtol=1e-9)
    res = (X.to_numpy() - Z @ beta)[ref]
    np.testing.assert_allclose(m.var_pooled_.to_numpy(), (res ** 2).mean(0), rtol=1e-9)
    # harmonised batch means (after covariates) move towards the reference batch
    before = (X.to_numpy() - cov.to_numpy(float) @ beta[-2:]).copy()
    after = out.to_numpy() - cov.to_numpy(float) @ beta[-2:]
    sd = X.std().to_numpy()
    for b in "ACD":
        sel = (C["centre"] == b).to_numpy()
        gap_before = np.abs(before[sel].mean(0) - before[ref].mean(0)) / sd
        gap_after = np.abs(after[sel].mean(0) - after[ref].mean(0)) / sd
        assert np.median(gap_after) < 0.5 * np.median(gap_before)
    with pytest.raises(CohortValidationError, match="ref_batch"):
        ComBat(ref_batch="Z").fit(X, C["centre"], cov)


@pytest.mark.parametrize("kw", [{}, {"parametric": False}, {"ref_batch": "A"}, {"eb": False}])
def test_fit_then_transform_equals_fit_transform(ds1, kw):
    X, C = ds1
    cov = C[["age", "disease"]]
    full = ComBat(**kw).fit_transform(X, C["centre"], cov)
    m = ComBat(**kw).fit(X, C["centre"], cov)
    # transform in two pieces, shuffled, with arrays instead of frames
    perm = np.random.default_rng(0).permutation(len(X))
    a, b = perm[:50], perm[50:]
    for idx in (a, b):
        got = m.transform(X.iloc[idx].to_numpy(), C["centre"].iloc[idx].to_numpy(),
                          cov.iloc[idx].to_numpy())
        np.testing.assert_allclose(got, full.to_numpy()[idx], rtol=1e-12, atol=1e-12)


def test_fit_subset_transform_rest(ds1):
    """Parameters learned on a subset apply unchanged to held-out samples: transforming the
    held-out samples equals the closed form with the fitted parameters."""
    X, C = ds1
    cov = C[["age", "disease"]]
    train = np.arange(len(X)) % 3 != 0
    m = ComBat().fit(X[train], C["centre"][train], cov[train])
    out = m.transform(X[~train], C["centre"][~train], cov[~train])
    sm = m.grand_mean_.to_numpy() + cov[~train].to_numpy(float) @ m.coef_.to_numpy()
    sd = np.sqrt(m.var_pooled_.to_numpy())
    codes = C["centre"][~train].to_numpy()
    g = m.gamma_star_.loc[codes].to_numpy()
    d = m.delta_star_.loc[codes].to_numpy()
    exp = ((X[~train].to_numpy() - sm) / sd - g) / np.sqrt(d) * sd + sm
    np.testing.assert_allclose(out.to_numpy(), exp, rtol=1e-12)
    assert out.index.equals(X.index[~train])


def test_constant_in_batch_feature_unadjusted(ds1):
    X, C = ds1
    X = X.copy()
    cov = C[["age", "disease"]]
    inC = (C["centre"] == "C").to_numpy()
    X.loc[inC, "f07"] = 3.0
    X["f20"] = 1.5
    m = ComBat()
    out = m.fit_transform(X, C["centre"], cov)
    pd.testing.assert_series_equal(out["f07"], X["f07"])
    pd.testing.assert_series_equal(out["f20"], X["f20"])
    u = m.unadjusted_features_.set_index("feature")
    assert set(u.index) == {"f07", "f20"}
    assert u.loc["f07", "batches"] == ["C"] and "constant" in u.loc["f07", "reason"]
    assert m.gamma_star_["f07"].isna().all()
    # excluded from the priors: the other features equal ComBat on the data without them
    other = X.drop(columns=["f07", "f20"])
    ref = ComBat().fit_transform(other, C["centre"], cov)
    np.testing.assert_allclose(out[other.columns].to_numpy(), ref.to_numpy(), rtol=1e-12)


@pytest.mark.parametrize("parametric", [True, False])
def test_nan_preserved(ds1, parametric):
    X, C = ds1
    X = X.copy()
    rng = np.random.default_rng(1)
    cells = [(i, j) for i, j in zip(rng.integers(0, 120, 30), rng.integers(0, 50, 30))]
    arr = X.to_numpy()
    for i, j in cells:
        arr[i, j] = np.nan
    X = pd.DataFrame(arr, index=X.index, columns=X.columns)
    out = ComBat(parametric=parametric).fit_transform(X, C["centre"], C[["age", "disease"]])
    np.testing.assert_array_equal(np.isnan(out.to_numpy()), np.isnan(arr))
    clean = ComBat(parametric=parametric).fit_transform(
        pd.read_csv(D / "ds1_balanced" / "features.csv", index_col=0), C["centre"],
        C[["age", "disease"]])
    obs = ~np.isnan(arr)
    # a few missing cells barely move the harmonised values
    assert np.max(np.abs(out.to_numpy()[obs] - clean.to_numpy()[obs])
                  / np.broadcast_to(X.std().to_numpy(), arr.shape)[obs]) < 0.2


def test_single_sample_batch_mean_only(ds1):
    X, C = ds1
    batch = C["centre"].copy()
    batch.iloc[0] = "E"
    with pytest.warns(UserWarning, match="single sample"):
        m = ComBat().fit(X, batch, C[["age", "disease"]])
    assert m.mean_only_ and np.all(m.delta_star_.to_numpy() == 1)
    out = m.transform(X, batch, C[["age", "disease"]])
    assert np.isfinite(out.to_numpy()).all()


def test_unseen_batch_error(ds1):
    X, C = ds1
    m = ComBat().fit(X, C["centre"], C[["age", "disease"]])
    batch = C["centre"].copy()
    batch.iloc[:3] = "Z"
    with pytest.raises(CohortValidationError, match="not seen in fit"):
        m.transform(X, batch, C[["age", "disease"]])


def test_confounded_covariate_error(ds1):
    X, C = ds1
    cov = C[["age"]].assign(site_scanner=(C["centre"].isin(["A", "B"])).astype(float))
    with pytest.raises(CohortValidationError, match="confounded with batch"):
        ComBat().fit(X, C["centre"], cov)


def test_numpy_input_and_unfitted(ds1):
    X, C = ds1
    out = ComBat().fit_transform(X.to_numpy(), C["centre"].to_numpy(), C[["age", "disease"]].to_numpy())
    assert isinstance(out, np.ndarray)
    assert _err_sd(out, _expected("sva_parametric.csv", X), X) < TOL_SD
    with pytest.raises(CohortValidationError, match="not fitted"):
        ComBat().transform(X, C["centre"])


def test_numpy_and_numba_nonparametric_paths_agree(ds1, monkeypatch):
    import radiogenomics.harmonize as h
    X, C = ds1
    a = ComBat(parametric=False).fit(X, C["centre"], C[["age", "disease"]])
    monkeypatch.setattr(h, "_int_eprior_numba", None)
    b = ComBat(parametric=False).fit(X, C["centre"], C[["age", "disease"]])
    np.testing.assert_allclose(a.gamma_star_.to_numpy(), b.gamma_star_.to_numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.delta_star_.to_numpy(), b.delta_star_.to_numpy(), rtol=1e-10)
