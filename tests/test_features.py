"""Tests for radiogenomics.features: ICC, reproducibility filter, redundancy collapse."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from radiogenomics.features import (ICC_FORMS, collapse_redundant, feature_icc, filter_reproducible,
                                    icc, mean_squares, perturbation_icc)

# Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges.
SF = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
               [6, 2, 4, 7]], dtype=float)
# Published values (Shrout & Fleiss 1979, Table 4), 2 decimals.
SF_PUBLISHED = {"ICC1": 0.17, "ICC2": 0.29, "ICC3": 0.71, "ICC1k": 0.44, "ICC2k": 0.62,
                "ICC3k": 0.91}


def _long(Y):
    n, k = Y.shape
    return pd.DataFrame({"subject": np.repeat(np.arange(n), k), "rater": np.tile(list("ABCD")[:k], n),
                         "value": Y.ravel()})


def test_icc_shrout_fleiss_published_values():
    res = icc(SF).set_index("Type")
    assert list(res.index) == list(ICC_FORMS)
    for form, expected in SF_PUBLISHED.items():
        assert res.loc[form, "ICC"] == pytest.approx(expected, abs=0.005), form


def test_mean_squares_match_statsmodels_two_way_anova():
    import statsmodels.formula.api as sm
    from statsmodels.stats.anova import anova_lm
    df = _long(SF)
    tab = anova_lm(sm.ols("value ~ C(subject) + C(rater)", data=df).fit())
    one = anova_lm(sm.ols("value ~ C(subject)", data=df).fit())
    ms = mean_squares(SF)
    assert ms["MSR"] == pytest.approx(tab.loc["C(subject)", "mean_sq"], rel=1e-10)
    assert ms["MSC"] == pytest.approx(tab.loc["C(rater)", "mean_sq"], rel=1e-10)
    assert ms["MSE"] == pytest.approx(tab.loc["Residual", "mean_sq"], rel=1e-10)
    assert ms["MSW"] == pytest.approx(one.loc["Residual", "mean_sq"], rel=1e-10)
    # F test of ICC3 is the subject F of the two-way ANOVA
    res = icc(SF, form="ICC(3,1)")
    assert res["F"].iloc[0] == pytest.approx(tab.loc["C(subject)", "F"], rel=1e-10)
    assert res["pval"].iloc[0] == pytest.approx(tab.loc["C(subject)", "PR(>F)"], rel=1e-8)


@pytest.mark.parametrize("data, ref, confidence", [
    ("shrout_fleiss_1979_table2.csv", "psych_icc_shrout_fleiss.csv", 0.95),
    ("random_25x3.csv", "psych_icc_random_25x3_alpha0.1.csv", 0.90),
])
def test_icc_equals_psych_icc(data, ref, confidence):
    """All six forms against R's psych::ICC 2.2.9 (tests/data/icc, calls in
    make_icc_reference.R): ICC, F, df, p and CI bounds (ICC(2,*) bounds by psych's
    Satterthwaite formula).  Was a re-typed copy of the formulas."""
    from pathlib import Path

    D = Path(__file__).parent / "data" / "icc"
    Y = pd.read_csv(D / data).to_numpy(dtype=float)
    R = pd.read_csv(D / ref).set_index("type")
    res = icc(Y, confidence=confidence).set_index("Type")
    for form in R.index:
        for ours, theirs, tol in [("ICC", "ICC", 1e-10), ("F", "F", 1e-10), ("pval", "p", 1e-8),
                                  ("CI_low", "lower bound", 1e-10), ("CI_high", "upper bound", 1e-10)]:
            assert res.loc[form, ours] == pytest.approx(R.loc[form, theirs], rel=tol, abs=1e-12), (form, ours)
        assert res.loc[form, "df1"] == R.loc[form, "df1"] and res.loc[form, "df2"] == R.loc[form, "df2"]


def test_icc2_ci_coverage_by_simulation():
    # two-way random model y = mu + s_i + r_j + e, true ICC(2,1) = vs / (vs + vr + ve)
    rng = np.random.default_rng(0)
    F, n, k = 2000, 20, 3
    vs, vr, ve = 1.0, 0.3, 0.5
    Y = (rng.normal(0, np.sqrt(vs), (F, n, 1)) + rng.normal(0, np.sqrt(vr), (F, 1, k))
         + rng.normal(0, np.sqrt(ve), (F, n, k)))
    res = feature_icc(Y, form="ICC(2,1)")
    true = vs / (vs + vr + ve)
    cover = ((res["CI_low"] <= true) & (true <= res["CI_high"])).mean()
    assert 0.92 <= cover <= 0.98          # approximate interval; SE of coverage ~0.005


def test_icc_long_table_aliases_and_errors():
    wide = icc(SF)
    long = icc(_long(SF), targets="subject", raters="rater", ratings="value")
    pd.testing.assert_frame_equal(wide.drop(columns="CI95%"), long.drop(columns="CI95%"))
    for alias, form in [("ICC(2,1)", "ICC2"), ("ICC(A,1)", "ICC2"), ("icc(c,1)", "ICC3"),
                        ("ICC(3,k)", "ICC3k"), ("ICC1", "ICC1")]:
        assert icc(SF, form=alias)["Type"].tolist() == [form]
    with pytest.raises(ValueError, match="unknown ICC form"):
        icc(SF, form="ICC(4,1)")
    df = _long(SF)
    with pytest.raises(ValueError, match="duplicated"):
        icc(pd.concat([df, df.iloc[:1]]), targets="subject", raters="rater", ratings="value")
    holey = SF.copy()
    holey[1, 2] = np.nan
    with pytest.raises(ValueError, match="nan_policy='omit'"):
        icc(holey)
    with pytest.warns(UserWarning, match="dropped 1 incomplete"):
        res = icc(holey, nan_policy="omit")
    assert res.attrs["n_subjects"] == 5
    assert res["ICC"].tolist() == pytest.approx(icc(np.delete(SF, 1, axis=0))["ICC"].tolist())


@pytest.mark.parametrize("form", ICC_FORMS)
def test_feature_icc_vectorised_equals_scalar(form):
    rng = np.random.default_rng(1)
    A = rng.normal(size=(7, 10, 3)) + rng.normal(size=(7, 10, 1)) * np.arange(7)[:, None, None]
    res = feature_icc(A, form=form, feature_names=[f"f{i}" for i in range(7)])
    for i in range(7):
        one = icc(A[i], form=form).iloc[0]
        row = res.loc[f"f{i}"]
        for col in ("ICC", "F", "pval", "CI_low", "CI_high", "df1", "df2"):
            assert row[col] == pytest.approx(one[col], rel=1e-10, abs=1e-14), (form, i, col)
    assert (res["form"] == form).all() and (res["n_subjects"] == 10).all()


def test_feature_icc_long_table_and_missing():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(3, 8, 2)) + rng.normal(size=(3, 8, 1))
    names = ["shape", "glcm", "firstorder"]
    rows = [(names[f], f"s{i}", f"t{j}", A[f, i, j]) for f in range(3) for i in range(8)
            for j in range(2)]
    long = pd.DataFrame(rows, columns=["feature", "subject", "session", "value"])
    res = feature_icc(long)
    ref = feature_icc(A, feature_names=names)
    pd.testing.assert_frame_equal(res, ref)
    # a missing value: raise by default, per-feature complete subjects with omit
    long2 = long.drop(index=long.index[(long.feature == "glcm") & (long.subject == "s3")][:1])
    with pytest.raises(ValueError, match="nan_policy='omit'"):
        feature_icc(long2)
    res2 = feature_icc(long2, nan_policy="omit")
    assert res2.loc["glcm", "n_subjects"] == 7 and res2.loc["shape", "n_subjects"] == 8
    assert res2.loc["glcm", "ICC"] == pytest.approx(icc(np.delete(A[1], 3, axis=0), form="ICC2")
                                                    ["ICC"].iloc[0])
    assert res2.loc["shape", "ICC"] == pytest.approx(res.loc["shape", "ICC"])


def test_filter_reproducible_reports_every_removed_feature():
    table = pd.DataFrame({"ICC": [0.95, 0.61, 0.75, np.nan, 0.2]},
                         index=["a", "b", "c", "const", "e"])
    kept, removed = filter_reproducible(table, threshold=0.75)
    assert list(kept) == ["a", "c"]
    assert set(removed["feature"]) == {"b", "const", "e"}
    assert len(kept) + len(removed) == len(table)
    reasons = removed.set_index("feature")["reason"]
    assert reasons["b"] == "ICC 0.61 < 0.75"
    assert reasons["e"] == "ICC 0.20 < 0.75"
    assert "undefined" in reasons["const"]
    # stricter rule on the lower confidence bound, from feature_icc output
    rng = np.random.default_rng(3)
    A = rng.normal(size=(4, 15, 2)) + 3 * rng.normal(size=(4, 15, 1)) * np.array([1, 1, 0, 0])[:, None, None]
    fi = feature_icc(A, feature_names=list("wxyz"))
    res = filter_reproducible(fi, threshold=0.5, column="CI_low")
    assert set(res.kept) | set(res.removed["feature"]) == set("wxyz")
    assert all(r.startswith("CI_low ") for r in res.removed["reason"])
    with pytest.raises(KeyError, match="not in features_icc"):
        filter_reproducible(fi, column="icc")


def _redundant_example():
    rng = np.random.default_rng(4)
    n = 200
    b1, b2, b3 = rng.normal(size=(3, n))
    X = pd.DataFrame({
        "a1": b1, "a2": np.exp(b1) + 0.01 * rng.normal(size=n), "a3": -2 * b1 + 0.05 * rng.normal(size=n),
        "b1": b2, "b2": b2 ** 3,
        "c": b3, "d": rng.normal(size=n), "e": 0.5 * b1 + rng.normal(size=n),
    })
    return X


@pytest.mark.parametrize("linkage", ["complete", "average"])
def test_collapse_redundant_keeps_one_per_cluster(linkage):
    X = _redundant_example()
    res = collapse_redundant(X, threshold=0.9, method="spearman", linkage=linkage)
    Xr, removed = res
    kept = list(Xr.columns)
    groups = [{"a1", "a2", "a3"}, {"b1", "b2"}]
    for g in groups:
        assert len(g & set(kept)) == 1
    for single in ("c", "d", "e"):
        assert single in kept
    assert len(kept) == 5
    # every removed feature is mapped to the kept representative of its own group
    assert set(removed["feature"]) == set(X.columns) - set(kept)
    for _, row in removed.iterrows():
        g = next(g for g in groups if row["feature"] in g)
        assert row["representative"] in g and row["representative"] in kept
        assert abs(row["r"]) >= 0.9
        assert row["r"] == pytest.approx(res.correlation.loc[row["feature"], row["representative"]])
        assert "with" in row["reason"]
    assert (removed.set_index("feature").loc["a3", "r"]) < 0     # sign kept


def test_collapse_redundant_tie_breaks():
    rng = np.random.default_rng(5)
    z = rng.normal(size=50)
    # exact copies up to scale: all |r| = 1 -> tie; variance picks the scaled copy
    X = pd.DataFrame({"x": z, "x10": 10 * z, "y": rng.normal(size=50)})
    Xr, removed = collapse_redundant(X, method="pearson")
    assert list(Xr.columns) == ["x10", "y"]
    # with ICCs given, the more reproducible copy wins
    Xr, removed = collapse_redundant(X, method="pearson", icc=pd.Series({"x": 0.9, "x10": 0.5, "y": 0.8}))
    assert list(Xr.columns) == ["x", "y"]
    assert removed.iloc[0][["feature", "representative"]].tolist() == ["x10", "x"]
    assert removed.iloc[0]["r"] == pytest.approx(1.0)


def test_collapse_redundant_errors():
    X = _redundant_example()
    with pytest.raises(ValueError, match="constant"):
        collapse_redundant(X.assign(k=1.0))
    with pytest.raises(ValueError, match="missing"):
        collapse_redundant(X.mask(X > 2.5))
    with pytest.raises(ValueError, match="method"):
        collapse_redundant(X, method="kendall")
    with pytest.raises(ValueError, match="icc lacks"):
        collapse_redundant(X, icc=pd.Series({"a1": 0.9}))


def _synthetic_cases(n=3, seed=6):
    import SimpleITK as sitk
    rng = np.random.default_rng(seed)
    images, masks = [], []
    for s in range(n):
        a = rng.normal(100 + 40 * s, 5 + 3 * s, (6, 20, 20))
        m = np.zeros(a.shape, dtype=np.uint8)
        m[1:5, 5:15 - s, 5:15] = 2                       # label 2, size differs by subject
        img, msk = sitk.GetImageFromArray(a), sitk.GetImageFromArray(m)
        for x in (img, msk):
            x.SetSpacing((1.0, 1.0, 2.0))
        images.append(img)
        masks.append(msk)
    return images, masks


SETTINGS = {"setting": {"binWidth": 10}, "imageType": {"Original": {}},
            "featureClass": {"firstorder": ["Mean", "Median", "Variance"],
                             "shape": ["VoxelVolume", "Sphericity"]}}


def test_perturbation_icc_synthetic():
    images, masks = _synthetic_cases()
    res = perturbation_icc(images, masks, SETTINGS, n_perturbations=3, rng=1, label=2)
    assert set(res.icc.index) == {"original_firstorder_Mean", "original_firstorder_Median",
                                  "original_firstorder_Variance", "original_shape_VoxelVolume",
                                  "original_shape_Sphericity"}
    assert (res.icc["form"] == "ICC1").all() and (res.icc["n_sessions"] == 4).all()
    assert len(res.values) == 5 * 3 * 4 and len(res.perturbations) == 3 * 4
    assert res.icc.loc["original_firstorder_Mean", "ICC"] > 0.95    # subjects 40 units apart
    orig = res.perturbations[res.perturbations.perturbation == 0]
    assert (orig[["rotation_deg", "shift_x", "shift_y", "shift_z", "noise_sd", "volume_radius"]]
            == 0).all().all()
    assert not res.perturbations.isna().any().any()
    assert (orig["n_voxels"].to_numpy() == [400, 360, 320]).all()
    # "auto" noise: robust estimate of each subject's white-noise sd (5, 8, 11)
    est = res.perturbations[res.perturbations.perturbation > 0].groupby("subject")["noise_sd"]
    assert (est.nunique() == 1).all()
    assert est.first().to_numpy() == pytest.approx([5, 8, 11], rel=0.1)
    # seeded: identical again
    again = perturbation_icc(images, masks, SETTINGS, n_perturbations=3, rng=1, label=2)
    pd.testing.assert_frame_equal(res.icc, again.icc)
    # the ICC equals feature_icc on the stored values
    A = res.values.pivot_table(index=["feature", "subject"], columns="perturbation", values="value")
    one = icc(A.loc["original_firstorder_Variance"].to_numpy(), form="ICC1")
    assert res.icc.loc["original_firstorder_Variance", "ICC"] == pytest.approx(one["ICC"].iloc[0])


def test_perturbation_icc_identity_perturbations_give_icc_one():
    images, masks = _synthetic_cases()
    res = perturbation_icc(images, masks, SETTINGS, n_perturbations=2, rng=0, label=2,
                           rotation_deg=0, translation_voxels=0, noise_sd=0, volume_voxels=0)
    assert res.icc["ICC"].to_numpy() == pytest.approx(1.0)


def test_perturbation_icc_errors():
    images, masks = _synthetic_cases(n=2)
    with pytest.raises(ValueError, match="at least 2 subjects"):
        perturbation_icc(images[:1], masks[:1], SETTINGS)
    with pytest.raises(ValueError, match="one mask per image"):
        perturbation_icc(images, masks[:1], SETTINGS)


def test_perturbation_icc_refuses_a_misregistered_mask():
    """The mask's geometry used to be overwritten with the image's (CopyInformation), so a
    misregistered mask passed unnoticed where extract() flags it; the same check now runs."""
    images, masks = _synthetic_cases(n=2)
    masks[1].SetOrigin((0.0, 0.0, 5.0))
    with pytest.raises(ValueError, match=r"subject 1: image and mask geometry differ \(origin"):
        perturbation_icc(images, masks, SETTINGS, n_perturbations=1, label=2)
    images, masks = _synthetic_cases(n=2)
    masks[0].SetSpacing((1.0, 1.0, 3.0))
    with pytest.raises(ValueError, match=r"subject 0: .*spacing"):
        perturbation_icc(images, masks, SETTINGS, n_perturbations=1, label=2)
