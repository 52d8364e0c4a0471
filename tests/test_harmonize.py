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
    with pytest.raises(CohortValidationError, match="not seen in fit") as e:
        m.transform(X, batch, C[["age", "disease"]])
    assert "['Z']" in str(e.value) and 'new_batches="estimate"' in str(e.value)
    m.new_batches = "guess"
    with pytest.raises(CohortValidationError, match="new_batches"):
        m.transform(X, C["centre"], C[["age", "disease"]])


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


# ---------------------------------------------------------------- batches not seen in fit
def _std(m, X, cov):
    """(y - alpha - x' beta) / sigma with the fitted model."""
    sm = m.grand_mean_.to_numpy() + np.asarray(cov, float) @ m.coef_.to_numpy()
    return (np.asarray(X, float) - sm) / np.sqrt(m.var_pooled_.to_numpy())


def test_new_batch_eb_false_standardised_exactly(ds1):
    """eb=False: within a new batch the adjusted data have standardised mean 0 and SD 1 on the
    training scale, the same property the fitted batches have."""
    X, C = ds1
    cov = C[["age", "disease"]]
    tr = C["centre"].isin(["A", "B"]).to_numpy()
    m = ComBat(eb=False, new_batches="estimate").fit(X[tr], C["centre"][tr], cov[tr])
    # the property holds for the fitted batches ...
    fitted = _std(m, m.transform(X[tr], C["centre"][tr], cov[tr]), cov[tr])
    for b in "AB":
        sel = (C["centre"][tr] == b).to_numpy()
        np.testing.assert_allclose(fitted[sel].mean(0), 0, atol=1e-10)
        np.testing.assert_allclose(fitted[sel].std(0, ddof=1), 1, atol=1e-10)
    # ... and for the unseen batch C, whose raw data are far from it
    new = (C["centre"] == "C").to_numpy()
    raw = _std(m, X[new], cov[new])
    assert np.abs(raw.std(0, ddof=1) - 1).max() > 0.1 or np.abs(raw.mean(0)).max() > 0.1
    out = m.transform(X[new], C["centre"][new], cov[new])
    z = _std(m, out, cov[new])
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-10)
    np.testing.assert_allclose(z.std(0, ddof=1), 1, atol=1e-10)
    P = m.new_batch_params_["C"]
    np.testing.assert_allclose(P["gamma_star"], raw.mean(0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(P["delta_star"], raw.var(0, ddof=1), rtol=1e-12)
    assert P.index.equals(X.columns) and P.attrs["n_samples"] == 30 and not P.attrs["eb"]


@pytest.mark.parametrize("kw", [{}, {"parametric": False}, {"mean_only": True}, {"eb": False},
                                {"ref_batch": "A"}, {"parametric": False, "mean_only": True}])
def test_new_batch_reproduces_fit_estimates(ds1, kw):
    """The new-batch path is fit's own estimation: a fitted batch relabelled as new gets the
    fit's gamma*/delta* (same standardisation, same per-batch priors and EB step) and hence the
    same harmonised values, so it inherits the sva parity of fit."""
    X, C = ds1
    cov = C[["age", "disease"]]
    m = ComBat(new_batches="estimate", **kw).fit(X, C["centre"], cov)
    sel = (C["centre"] == "C").to_numpy()
    out = m.transform(X[sel], C["centre"][sel].replace("C", "C_new"), cov[sel])
    P = m.new_batch_params_["C_new"]
    np.testing.assert_allclose(P["gamma_star"], m.gamma_star_.loc["C"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(P["delta_star"], m.delta_star_.loc["C"], rtol=1e-9)
    assert P.attrs["n_iter"] == m.n_iter_.get("C")
    ref = m.transform(X[sel], C["centre"][sel], cov[sel])
    assert _err_sd(out, ref.to_numpy(), X) < 1e-10


def _sim_new_centre(seed=0, p=50, nper=30):
    """3 training centres with mild effects and a new centre with a strong additive (4 SD) and
    multiplicative (x2-3) effect; age (40-80) has a real effect of 0.1-0.3 per year."""
    rng = np.random.default_rng(seed)
    batch = np.repeat(["T1", "T2", "T3", "NEW"], nper)
    age = rng.uniform(40, 80, len(batch))
    alpha = rng.normal(10, 2, p)
    slope = rng.uniform(0.1, 0.3, p) * rng.choice([-1, 1], p)
    sigma = rng.uniform(0.5, 2, p)
    gam = {"T1": rng.normal(0, 0.5, p), "T2": rng.normal(0.5, 0.5, p),
           "T3": rng.normal(-0.5, 0.5, p), "NEW": rng.normal(4, 1, p)}
    dl = {b: rng.uniform(0.8, 1.2, p) for b in ("T1", "T2", "T3")} | {"NEW": rng.uniform(2, 3, p)}
    Y = np.array([alpha + slope * a + sigma * (gam[b] + dl[b] * rng.normal(size=p))
                  for a, b in zip(age, batch)])
    X = pd.DataFrame(Y, columns=[f"f{j:02d}" for j in range(p)])
    return X, pd.Series(batch), pd.DataFrame({"age": age}), slope


@pytest.mark.parametrize("parametric", [True, False])
def test_new_centre_simulated_eb(parametric):
    """Leave-one-centre-out use: fit on 3 centres, harmonise the 4th as a new batch (EB on).
    Its mean shift is removed and the age effect within it is preserved."""
    X, b, cov, slope = _sim_new_centre()
    tr = (b != "NEW").to_numpy()
    m = ComBat(parametric=parametric, new_batches="estimate").fit(X[tr], b[tr], cov[tr])
    h_tr = m.transform(X[tr], b[tr], cov[tr]).to_numpy()
    h_new = m.transform(X[~tr], b[~tr], cov[~tr]).to_numpy()
    age = cov["age"].to_numpy()

    def gap(new, train):  # |mean difference| per feature, true age effect removed
        return np.abs((new - np.outer(age[~tr], slope)).mean(0)
                      - (train - np.outer(age[tr], slope)).mean(0))

    raw_gap = gap(X.to_numpy()[~tr], X.to_numpy()[tr])
    new_gap = gap(h_new, h_tr)
    assert np.median(new_gap) < 0.1 * np.median(raw_gap)

    a = age[~tr] - age[~tr].mean()

    def slopes(H):
        return a @ (H - H.mean(0)) / (a @ a)

    assert np.mean(np.abs(slopes(h_new) - slope) / np.abs(slope)) < 0.2
    assert 0.8 < np.mean(slopes(h_new) / slope) < 1.2
    # meaningful: without the age covariate the new centre's scaling attenuates the age effect
    m0 = ComBat(parametric=parametric, new_batches="estimate").fit(X[tr], b[tr])
    assert np.mean(slopes(m0.transform(X[~tr], b[~tr]).to_numpy()) / slope) < 0.85
    # the new centre's scale is estimated (about 2-3 times the pooled SD)
    assert np.median(np.sqrt(m.new_batch_params_["NEW"]["delta_star"])) > 1.8


def _fitted_state(m):
    return {k: (v.copy() if hasattr(v, "copy") else v) for k, v in vars(m).items()
            if k.endswith("_") and k != "new_batch_params_" or k.startswith("_")}


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], (pd.DataFrame, pd.Series, pd.Index)):
            assert a[k].equals(b[k]), k
        elif isinstance(a[k], np.ndarray):
            np.testing.assert_array_equal(a[k], b[k])
        else:
            assert a[k] == b[k], k


@pytest.mark.parametrize("kw", [{}, {"parametric": False}])
def test_transform_new_batch_keeps_fitted_attributes(ds1, kw):
    X, C = ds1
    cov = C[["age", "disease"]]
    tr = (C["centre"] != "D").to_numpy()
    m = ComBat(new_batches="estimate", **kw).fit(X[tr], C["centre"][tr], cov[tr])
    before = _fitted_state(m)
    g0 = m.gamma_star_.copy()
    m.transform(X, C["centre"], cov)
    assert set(m.new_batch_params_) == {"D"}
    pd.testing.assert_frame_equal(m.gamma_star_, g0)
    _assert_same_state(before, _fitted_state(m))
    # per-call: a later call without new batches clears it
    m.transform(X[tr], C["centre"][tr], cov[tr])
    assert m.new_batch_params_ == {}


@pytest.mark.parametrize("eb", [True, False])
def test_new_batch_single_sample_location_only(ds1, eb):
    X, C = ds1
    cov = C[["age", "disease"]]
    tr = (C["centre"] != "D").to_numpy()
    m = ComBat(eb=eb, new_batches="estimate").fit(X[tr], C["centre"][tr], cov[tr])
    one = np.flatnonzero(~tr)[:1]
    with pytest.warns(UserWarning, match="single sample"):
        out = m.transform(X.iloc[one], ["Z"], cov.iloc[one])
    P = m.new_batch_params_["Z"]
    assert P.attrs["mean_only"] and np.all(P["delta_star"] == 1)
    # location-only: y* = y - sigma gamma*
    sd = np.sqrt(m.var_pooled_.to_numpy())
    np.testing.assert_allclose(out.to_numpy()[0], X.iloc[one].to_numpy()[0] - sd * P["gamma_star"],
                               rtol=1e-12)
    z = _std(m, X.iloc[one], cov.iloc[one])[0]
    np.testing.assert_allclose(P["gamma_hat"], z, rtol=1e-12)
    if eb:  # shrunk toward the batch's mean effect over features, not all the way
        assert 0 < np.abs(P["gamma_star"] - z).max() < np.abs(z - z.mean()).max()
    else:  # the covariate-predicted means
        np.testing.assert_allclose(_std(m, out, cov.iloc[one]), 0, atol=1e-10)


@pytest.mark.parametrize("kw", [{}, {"ref_batch": "A"}])
def test_mixed_seen_and_new_batches(ds1, kw):
    X, C = ds1
    cov = C[["age", "disease"]]
    tr = C["centre"].isin(["A", "B"]).to_numpy()
    m = ComBat(new_batches="estimate", **kw).fit(X[tr], C["centre"][tr], cov[tr])
    perm = np.random.default_rng(2).permutation(len(X))
    Xp, bp, cp = X.iloc[perm], C["centre"].iloc[perm], cov.iloc[perm]
    out = m.transform(Xp, bp, cp)
    assert out.index.equals(Xp.index)
    seen = bp.isin(["A", "B"]).to_numpy()
    plain = ComBat(**kw).fit(X[tr], C["centre"][tr], cov[tr]).transform(Xp[seen], bp[seen], cp[seen])
    pd.testing.assert_frame_equal(out[seen], plain, rtol=0, atol=0)
    assert set(m.new_batch_params_) == {"C", "D"}
    # each new batch equals transforming it alone
    for b in "CD":
        sel = (bp == b).to_numpy()
        alone = m.transform(Xp[sel], bp[sel], cp[sel])
        np.testing.assert_allclose(out[sel].to_numpy(), alone.to_numpy(), rtol=1e-12)
    if kw:  # reference rows unchanged
        r = (bp == "A").to_numpy()
        pd.testing.assert_frame_equal(out[r], Xp[r])


def test_new_batch_constant_feature_nan_and_fit_unadjusted(ds1):
    X, C = ds1
    X = X.copy()
    cov = C[["age", "disease"]]
    tr = (C["centre"] != "D").to_numpy()
    new = ~tr
    X.loc[new, "f03"] = 7.0                       # constant within the new batch only
    X.loc[C.index[tr & (C["centre"] == "B").to_numpy()], "f11"] = 2.0  # constant in fitted B
    rows = np.flatnonzero(new)
    arr = X.to_numpy()
    arr[rows[:3], 5] = np.nan
    arr[rows[4], 20] = np.nan
    X = pd.DataFrame(arr, index=X.index, columns=X.columns)
    m = ComBat(new_batches="estimate").fit(X[tr], C["centre"][tr], cov[tr])
    assert list(m.unadjusted_features_["feature"]) == ["f11"]
    with pytest.warns(UserWarning, match=r"new batch 'D'.*constant within the batch: \['f03'\]"):
        out = m.transform(X[new], C["centre"][new], cov[new])
    pd.testing.assert_series_equal(out["f03"], X.loc[new, "f03"])
    pd.testing.assert_series_equal(out["f11"], X.loc[new, "f11"])
    np.testing.assert_array_equal(np.isnan(out.to_numpy()), np.isnan(X[new].to_numpy()))
    P = m.new_batch_params_["D"]
    assert P.loc[["f03", "f11"]].isna().all().all() and P.attrs["unadjusted"] == ["f03"]
    assert P.drop(index=["f03", "f11"]).notna().all().all()
    # f03 is excluded from the batch's priors: the other features are as without f03 at all
    # (alpha, beta and sigma are per feature, so the fit does not depend on f03 either)
    m2 = ComBat(new_batches="estimate").fit(X[tr].drop(columns="f03"), C["centre"][tr], cov[tr])
    out2 = m2.transform(X[new].drop(columns="f03"), C["centre"][new], cov[new])
    np.testing.assert_allclose(out.drop(columns="f03").to_numpy(), out2.to_numpy(), rtol=1e-10)


# ----------------------------------------------------------------- issue 14: no table of NaN
def test_inf_is_refused_naming_feature_and_sample():
    """One inf used to turn all 2,400 output cells into NaN with only numpy's warning."""
    from radiogenomics import RadiogenomicsError

    g = np.random.default_rng(3)
    X = pd.DataFrame(g.normal(size=(60, 40)), index=[f"s{i}" for i in range(60)],
                     columns=[f"f{j}" for j in range(40)])
    X.iloc[7, 5] = np.inf
    batch = pd.Series(np.repeat(["A", "B", "C"], 20), index=X.index)
    with pytest.raises(RadiogenomicsError, match=r"infinite.*'s7'.*'f5'.*NaN or a finite value"):
        ComBat().fit_transform(X, batch)
    with pytest.raises(RadiogenomicsError, match="infinite"):
        ComBat().fit(X.to_numpy(), batch.to_numpy())


def test_text_and_duplicated_ids_are_refused():
    from radiogenomics import RadiogenomicsError

    g = np.random.default_rng(4)
    X = pd.DataFrame(g.normal(size=(20, 3)), columns=["a", "b", "c"])
    batch = np.repeat(["A", "B"], 10)
    Xt = X.astype(object)
    Xt.iloc[2, 1] = "n.d."
    with pytest.raises(RadiogenomicsError, match=r"stored as text.*'b'"):
        ComBat().fit(Xt, batch)
    Xd = X.copy()
    Xd.index = [0] * 2 + list(range(2, 20))
    with pytest.raises(RadiogenomicsError, match="duplicated sample ID"):
        ComBat().fit(Xd, batch)


def test_single_adjustable_feature_gives_finite_unshrunk_adjustment():
    """fit with one adjustable feature gave NaN priors and all-NaN output; sva stops with an
    error there.  Now: each batch's own estimates (eb=False) with a warning.  Checked in closed
    form: every batch ends with the grand mean and the pooled residual SD."""
    g = np.random.default_rng(5)
    batch = np.repeat(["A", "B", "C"], [12, 15, 9])
    y = g.normal(size=batch.size) * np.select([batch == "A", batch == "B"], [1.0, 2.5], 0.7) \
        + np.select([batch == "A", batch == "B"], [0.0, 3.0], -2.0)
    X = pd.DataFrame({"only": y, "flat": 1.0})          # the second feature is unadjustable
    with pytest.warns(UserWarning, match="cannot be estimated"):
        cb = ComBat().fit(X, batch)
    out = cb.transform(X, batch)
    assert np.isfinite(out["only"]).all()
    assert not cb.eb_
    codes = pd.Series(batch)
    means = pd.Series(y).groupby(codes).transform("mean")
    var_pooled = np.mean((y - means) ** 2)
    for b in "ABC":
        v = out["only"].to_numpy()[batch == b]
        assert v.mean() == pytest.approx(y.mean(), abs=1e-10)
        assert v.std(ddof=1) == pytest.approx(np.sqrt(var_pooled), rel=1e-10)


@pytest.mark.parametrize("kw, prefix", [({}, "sva_parametric_refB"),
                                        ({"parametric": False}, "sva_nonparametric_refB")])
def test_ref_batch_parity_with_sva(ds1, kw, prefix):
    """ref_batch against sva::ComBat(ref.batch = "B") (tests/data/combat/README.md)."""
    X, C = ds1
    out = ComBat(ref_batch="B", **kw).fit_transform(X, C["centre"], C[["age", "disease"]])
    assert _err_sd(out, _expected(prefix + ".csv", X), X) < TOL_SD
    ref = (C["centre"] == "B").to_numpy()
    np.testing.assert_array_equal(out.to_numpy()[ref], X.to_numpy()[ref])
