"""data_sim phantoms: files, labels, determinism, and the imaging front end end to end.

End to end (module fixture): 120 phantoms (3 centres x 2 sexes x 20, latent fibrosis N(0, 1))
are written twice from the same seed, once with centre effects (gain and noise level per
centre) and once without (``gain_sd=0``, one noise level), and extracted with pyradiomics
through :func:`radiogenomics.radiomics.extract`.  The tests check that the extracted features
recover the latent factor, that after ComBat a centre classifier is no better than on the
images without any centre effect, and that the sex effect on shape and the fibrosis signal
survive harmonisation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import require
from scipy import stats

SimpleITK = require("SimpleITK")
require("radiomics")

from data_sim import PHANTOM_PARAMS, make_imaging_cohort, make_phantoms  # noqa: E402
from radiogenomics.features import collapse_redundant  # noqa: E402
from radiogenomics.harmonize import ComBat  # noqa: E402
from radiogenomics.radiomics import extract  # noqa: E402

N = 120
CENTRES = np.repeat(["C1", "C2", "C3"], N // 3)
SEX = np.tile(["F", "M"], N // 2)


def _arr(path):
    return SimpleITK.GetArrayFromImage(SimpleITK.ReadImage(path))


# ------------------------------------------------------------------ generator


def test_files_labels_regions_and_geometry(tmp_path):
    ph = make_phantoms(tmp_path / "a", n_samples=3, regions=True, rng=1)
    assert list(ph.manifest.columns) == ["sample_id", "image", "mask", "regions", "centre"]
    img = SimpleITK.ReadImage(ph.manifest["image"][0])
    msk = SimpleITK.ReadImage(ph.manifest["mask"][0])
    assert img.GetSize() == (80, 80, 8) and img.GetSpacing() == (1.5, 1.5, 8.0)
    assert msk.GetSize() == img.GetSize() and msk.GetSpacing() == img.GetSpacing()
    m = _arr(ph.manifest["mask"][0])
    assert set(np.unique(m)) == {0, 1, 2, 3}                 # ACDC: RV 1, MYO 2, LV 3
    reg = _arr(ph.manifest["regions"][0])
    assert set(np.unique(reg[m == 2])) == set(range(1, 17))  # 16 AHA segments cover the MYO
    assert np.all(reg[m != 2] == 0)
    # LV cavity inside the ring: the blood pool is brighter than the myocardium
    a = _arr(ph.manifest["image"][0])
    assert a[m == 3].mean() > 2 * a[m == 2].mean()
    assert int((m == 2).sum()) == ph.truth["myocardial_voxels"].iloc[0]
    # M&Ms convention swaps LV and RV values, same anatomy
    ph2 = make_phantoms(tmp_path / "b", n_samples=3, labels="mnms", rng=1)
    m2 = _arr(ph2.manifest["mask"][0])
    assert np.array_equal(m2 == 1, m == 3) and np.array_equal(m2 == 3, m == 1)
    assert np.array_equal(m2 == 2, m == 2)


def test_same_seed_same_phantoms_and_truth(tmp_path):
    a = make_phantoms(tmp_path / "a", n_samples=4, rng=5)
    b = make_phantoms(tmp_path / "b", n_samples=4, rng=5)
    c = make_phantoms(tmp_path / "c", n_samples=4, rng=6)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert np.array_equal(_arr(a.manifest["image"][2]), _arr(b.manifest["image"][2]))
    assert not np.array_equal(_arr(a.manifest["image"][2]), _arr(c.manifest["image"][2]))
    # scar fraction increases with the latent fibrosis score
    t = make_phantoms(tmp_path / "d", n_samples=12, rng=2).truth
    assert stats.spearmanr(t["fibrosis"], t["fibrosis_fraction"])[0] == pytest.approx(1.0)


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(ValueError, match="label convention"):
        make_phantoms(tmp_path, n_samples=2, labels="myops")
    with pytest.raises(ValueError, match="RV, MYO and LV"):
        make_phantoms(tmp_path, n_samples=2, labels={"LV": 1, "MYO": 1, "RV": 3})
    with pytest.raises(ValueError, match="3 values for 2 samples"):
        make_phantoms(tmp_path, sample_ids=["a", "b"], fibrosis=[0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="NaN or inf"):
        make_phantoms(tmp_path, fibrosis=[0.0, np.nan])
    with pytest.raises(ValueError, match="repeat"):
        make_phantoms(tmp_path, sample_ids=["a", "a"])
    with pytest.raises(ValueError, match="no value for sample"):
        make_phantoms(tmp_path, sample_ids=["a", "b"], fibrosis=pd.Series([1.0], index=["a"]))
    with pytest.raises(ValueError, match="n_samples"):
        make_phantoms(tmp_path)


def test_imaging_cohort_phantoms_follow_the_shared_factor(tmp_path):
    cohort, truth, ph = make_imaging_cohort(tmp_path, 30, rng=3, n_radiomic=40, n_genes=200)
    ids = cohort["radiomics"].index
    assert list(ph.manifest["sample_id"]) == list(ids)
    z = truth.shared_factors["F1"]
    z = (z - z.mean()) / z.std(ddof=0)
    np.testing.assert_allclose(ph.truth["fibrosis"].to_numpy(), z.reindex(ids).to_numpy())
    assert (ph.manifest.set_index("sample_id")["centre"] == truth.centre.reindex(ids)).all()
    assert (ph.truth["sex"] == truth.covariates["sex"].reindex(ids)).all()
    with pytest.raises(ValueError, match="not a shared factor"):
        make_imaging_cohort(tmp_path / "x", 30, rng=3, factor="F9", n_radiomic=40, n_genes=200)


# ------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def e2e(tmp_path_factory):
    rng = np.random.default_rng(2026)
    fib = rng.standard_normal(N)
    ids = [f"S{i:03d}" for i in range(N)]
    common = dict(sample_ids=ids, fibrosis=fib, centre=CENTRES, sex=SEX, rng=11)
    out = {}
    arms = (("centre", {"noise_sd": (8.0, 12.0)}), ("noisy", {"noise_sd": (5.0, 15.0)}),
            ("none", {"gain_sd": 0.0, "noise_sd": (10.0, 10.0)}))
    for arm, kw in arms:
        ph = make_phantoms(tmp_path_factory.mktemp(arm), **common, **kw)
        res = extract(ph.manifest, params=PHANTOM_PARAMS, labels={"MYO": 2}, n_jobs=2,
                      progress=False)
        assert len(res.errors) == 0, res.errors
        X = res.features
        out[arm] = (X.loc[:, X.std() > 0], ph)
    return out


def _centre_accuracy(X, centre, covariates, harmonise, classifier="knn", eb=True):
    """10-fold CV accuracy of a centre classifier; ComBat (if asked) is fitted on each training
    fold and applied to its test fold (no leakage).

    ``"knn"``: 7-nearest neighbours on standardised features, which sees any local difference
    between the centres' distributions.  ``"logistic"``: multinomial logistic regression, which
    can only use differences in centre means; after ComBat with ``eb=False`` the training means
    are equal by construction, so its optimum is w = 0 (a constant prediction), and with the
    empirical-Bayes default it learns the part of each centre effect that shrinkage leaves.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pred = np.empty(len(centre), dtype=object)
    folds = StratifiedKFold(10, shuffle=True, random_state=0).split(X, centre)
    for tr, te in folds:
        A, B = X.iloc[tr], X.iloc[te]
        if harmonise:
            cb = ComBat(eb=eb).fit(A, centre.iloc[tr], covariates.iloc[tr])
            A = cb.transform(A, centre.iloc[tr], covariates.iloc[tr])
            B = cb.transform(B, centre.iloc[te], covariates.iloc[te])
        est = (KNeighborsClassifier(7) if classifier == "knn"
               else LogisticRegression(max_iter=5000))
        clf = make_pipeline(StandardScaler(), est)
        pred[te] = clf.fit(A, centre.iloc[tr]).predict(B)
    return float(np.mean(pred == centre.to_numpy()))


def _design(ph):
    t = ph.truth
    return t["centre"], pd.DataFrame({"male": (t["sex"] == "M").astype(float)}, index=t.index)


def test_extracted_features_recover_the_latent_factor(e2e):
    X, ph = e2e["centre"]
    f = ph.truth["fibrosis"]
    r = X.corrwith(f).abs().sort_values(ascending=False)
    print(f"\nbest single feature |r| with latent fibrosis: {r.index[0]} {r.iloc[0]:.3f}")
    assert r.iloc[0] > 0.85
    # first principal component of the harmonised, de-duplicated features tracks it too
    centre, cov = _design(ph)
    Xh = ComBat().fit_transform(collapse_redundant(X, 0.9).X_reduced, centre, cov)
    Z = ((Xh - Xh.mean()) / Xh.std()).to_numpy()
    pc1 = np.linalg.svd(Z, full_matrices=False)[0][:, 0]
    r_pc = abs(np.corrcoef(pc1, f)[0, 1])
    print(f"PC1 of harmonised features |r| with latent fibrosis: {r_pc:.3f}")
    assert r_pc > 0.8


def test_combat_removes_the_centre_effect(e2e):
    acc = {}
    for arm in ("centre", "noisy", "none"):
        X, ph = e2e[arm]
        Xr = collapse_redundant(X, 0.9).X_reduced
        centre, cov = _design(ph)
        acc[arm] = {"raw": _centre_accuracy(Xr, centre, cov, False),
                    "combat": _centre_accuracy(Xr, centre, cov, True),
                    "logistic_raw": _centre_accuracy(Xr, centre, cov, False, "logistic"),
                    "logistic_combat": _centre_accuracy(Xr, centre, cov, True, "logistic")}
    print("\ncentre accuracy, 10-fold CV, chance 1/3:\n" + pd.DataFrame(acc).round(3).to_string())
    se = np.sqrt(1 / 3 * 2 / 3 / N)
    for arm in ("centre", "noisy"):
        assert acc[arm]["raw"] > 0.6                       # scanners are easy to tell apart
        assert acc[arm]["logistic_raw"] > 0.9
        # after ComBat: chance (binomial 95% interval around 1/3) ...
        assert abs(acc[arm]["combat"] - 1 / 3) < 1.96 * se
        # ... and no better than on the same subjects imaged without any centre effect
        assert acc[arm]["combat"] - acc["none"]["combat"] < 1.96 * np.sqrt(2) * se
    assert abs(acc["none"]["raw"] - 1 / 3) < 1.96 * se     # sanity: no effect, chance
    # the linear classifier keeps some accuracy after empirical-Bayes ComBat (the shrinkage
    # leaves part of each centre's mean shift), well below raw
    assert acc["centre"]["logistic_combat"] < 0.6


def test_biological_effects_survive_harmonisation(e2e):
    X, ph = e2e["centre"]
    centre, cov = _design(ph)
    Xh = ComBat().fit_transform(X, centre, cov)
    male = cov["male"].to_numpy() == 1
    # sex effect on myocardial shape (wall thickness): same t statistic before and after
    shape = [c for c in X.columns if "_shape_" in c]
    t_before = pd.Series({c: stats.ttest_ind(X[c][male], X[c][~male]).statistic for c in shape})
    best = t_before.abs().idxmax()
    t_after = stats.ttest_ind(Xh[best][male], Xh[best][~male]).statistic
    print(f"\nsex effect on {best}: t = {t_before[best]:.2f} before, {t_after:.2f} after ComBat")
    assert abs(t_before[best]) > 4
    assert t_after == pytest.approx(t_before[best], rel=0.15)
    # the fibrosis signal in intensity features is kept (and not weakened) by ComBat
    f = ph.truth["fibrosis"]
    intensity = [c for c in X.columns if "_shape_" not in c]
    r_before = X[intensity].corrwith(f).abs()
    r_after = Xh[intensity].corrwith(f).abs()
    print(f"max |r| with fibrosis: {r_before.max():.3f} before, {r_after.max():.3f} after; "
          f"median over features {r_before.median():.3f} -> {r_after.median():.3f}")
    assert r_after.max() >= r_before.max() - 0.02
    assert r_after.median() >= r_before.median() - 0.05
