"""Cohort validation, alignment reports and I/O round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radiogenomics import Cohort, CohortValidationError


@pytest.fixture
def frames():
    rng = np.random.default_rng(1)
    ids = [f"S{i:02d}" for i in range(12)]
    rad = pd.DataFrame(rng.normal(size=(12, 4)), index=ids, columns=["r1", "r2", "r3", "r4"])
    expr = pd.DataFrame(rng.poisson(20, size=(9, 5)), index=ids[3:], columns=[f"g{i}" for i in range(5)])
    geno = pd.DataFrame(rng.integers(0, 3, size=(10, 3)).astype(float), index=ids[:10],
                        columns=["rs1", "rs2", "rs3"])
    cov = pd.DataFrame({"age": rng.normal(60, 8, 12), "sex": ["F", "M"] * 6}, index=ids)
    centre = pd.Series(["A", "B", "C"] * 4, index=ids)
    out = pd.DataFrame({"event": [0, 1] * 6, "score": rng.normal(size=12)}, index=ids)
    return rad, expr, geno, cov, centre, out


def make(frames, **kw):
    rad, expr, geno, cov, centre, out = frames
    views = kw.pop("views", {"radiomics": rad, "expression": expr, "genotypes": geno})
    return Cohort(views, covariates=kw.pop("covariates", cov), centre=kw.pop("centre", centre),
                  outcomes=kw.pop("outcomes", out), **kw)


# ----------------------------------------------------------------------------- validation
def test_valid_cohort_keeps_values_and_ids(frames):
    c = make(frames)
    rad, expr, *_ = frames
    pd.testing.assert_frame_equal(c["radiomics"], rad, check_names=False)
    assert c["expression"].dtypes.unique().tolist() == [np.dtype("int64")]
    assert c.n_samples == 12 and c.view_names == ["radiomics", "expression", "genotypes"]
    assert len(c.report) == 0
    assert "3 centres" in repr(c)


def test_duplicated_sample_ids(frames):
    rad = frames[0]
    dup = pd.concat([rad, rad.iloc[[2]]])
    with pytest.raises(CohortValidationError, match=r"duplicated sample ID.*'S02'.*groupby"):
        make(frames, views={"radiomics": dup})


def test_duplicated_feature_ids(frames):
    rad = frames[0].copy()
    rad.columns = ["r1", "r2", "r2", "r4"]
    with pytest.raises(CohortValidationError, match=r"duplicated feature ID.*'r2'.*rename"):
        make(frames, views={"radiomics": rad})


def test_duplicated_ids_in_covariates(frames):
    cov = frames[3]
    with pytest.raises(CohortValidationError, match="covariates has 1 duplicated sample"):
        make(frames, covariates=pd.concat([cov, cov.iloc[[0]]]))


def test_non_numeric_column(frames):
    rad = frames[0].copy()
    rad["site"] = "x"
    with pytest.raises(CohortValidationError, match=r"non-numeric column.*'site'.*covariates"):
        make(frames, views={"radiomics": rad})


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_raises_by_default(frames, bad):
    rad = frames[0].copy()
    rad.iloc[4, 1] = bad
    with pytest.raises(CohortValidationError, match=r"'S04'.*'r2'.*nan_policy"):
        make(frames, views={"radiomics": rad})


def test_nan_policy_drop_samples_is_reported(frames):
    rad = frames[0].copy()
    rad.iloc[4, 1] = np.nan
    rad.iloc[7, 3] = np.inf
    c = make(frames, views={"radiomics": rad}, nan_policy="drop_samples")
    assert list(c["radiomics"].index.difference(rad.index.drop(["S04", "S07"]))) == []
    rep = c.report.to_frame()
    assert set(rep["id"]) == {"S04", "S07"}
    assert (rep["axis"] == "sample").all() and (rep["action"] == "dropped").all()


def test_nan_policy_drop_features_is_reported(frames):
    rad = frames[0].copy()
    rad.iloc[4, 1] = np.nan
    c = make(frames, views={"radiomics": rad}, nan_policy="drop_features")
    assert list(c["radiomics"].columns) == ["r1", "r3", "r4"]
    rep = c.report.to_frame()
    assert rep[["view", "axis", "id", "action"]].values.tolist() == [["radiomics", "feature", "r2", "dropped"]]


def test_nan_policy_impute_median_is_reported(frames):
    rad = frames[0].copy()
    rad.iloc[4, 1] = np.nan
    c = make(frames, views={"radiomics": rad}, nan_policy="impute_median")
    assert c["radiomics"].iloc[4, 1] == pytest.approx(np.nanmedian(rad["r2"]))
    rep = c.report.to_frame()
    assert len(rep) == 1 and rep["action"].iloc[0] == "imputed" and "S04" in rep["reason"].iloc[0]


def test_nan_policy_per_view(frames):
    rad, expr = frames[0].copy(), frames[1].astype(float)
    rad.iloc[0, 0] = np.nan
    expr.iloc[0, 0] = np.nan
    c = make(frames, views={"radiomics": rad, "expression": expr},
             nan_policy={"radiomics": "drop_features", "expression": "drop_samples"})
    assert "r1" not in c["radiomics"] and "S03" not in c["expression"].index
    with pytest.raises(ValueError, match="unknown view"):
        make(frames, views={"radiomics": rad}, nan_policy={"radiomcs": "drop_samples"})


def test_constant_feature(frames):
    rad = frames[0].copy()
    rad["r3"] = 2.5
    with pytest.raises(CohortValidationError, match=r"1 constant feature.*'r3'.*constant_policy='drop'"):
        make(frames, views={"radiomics": rad})
    c = make(frames, views={"radiomics": rad}, constant_policy="drop")
    assert "r3" not in c["radiomics"]
    assert c.report.to_frame()["reason"].tolist() == ["constant (zero variance)"]


def test_missing_covariates_and_centre(frames):
    rad, expr, geno, cov, centre, out = frames
    with pytest.raises(CohortValidationError, match=r"no covariates row: 'S11'.*missing_meta"):
        make(frames, covariates=cov.drop(index="S11"))
    cov2 = cov.copy()
    cov2.loc["S05", "age"] = np.nan
    with pytest.raises(CohortValidationError, match=r"missing covariate value.*'S05'"):
        make(frames, covariates=cov2)
    with pytest.raises(CohortValidationError, match=r"no centre: 'S00'"):
        make(frames, centre=centre.drop(index="S00"))
    cen2 = centre.copy()
    cen2["S06"] = None
    c = make(frames, centre=cen2, missing_meta="drop_samples")
    assert all("S06" not in df.index for df in c.views.values())
    rep = c.report.to_frame()
    assert set(rep["id"]) == {"S06"} and set(rep["view"]) == {"radiomics", "expression", "genotypes"}


def test_metadata_ids_outside_the_views_are_reported(frames):
    out = frames[5].rename(index={"S03": "s03"})
    c = make(frames, outcomes=out)
    assert "s03" not in c.outcomes.index and len(c.outcomes) == 11
    rep = c.report.to_frame()
    assert rep[["view", "id", "reason"]].values.tolist() == [["outcomes", "s03", "sample ID in no view"]]
    with pytest.raises(CohortValidationError, match=r"none of the 12 sample IDs of covariates.*'s00'"):
        make(frames, covariates=frames[3].rename(index=str.lower))


def test_empty_view_and_bad_types(frames):
    with pytest.raises(CohortValidationError, match="empty"):
        make(frames, views={"radiomics": frames[0].iloc[:, :0]})
    with pytest.raises(CohortValidationError, match="non-empty dict"):
        Cohort({})
    with pytest.raises(CohortValidationError, match="DataFrame or a path"):
        make(frames, views={"radiomics": frames[0].to_numpy()})


def test_centre_from_covariate_column(frames):
    rad, expr, geno, cov, centre, out = frames
    cov2 = cov.assign(site=centre)
    c = Cohort({"radiomics": rad}, covariates=cov2, centre="site")
    assert list(c.covariates.columns) == ["age", "sex"]
    assert c.centre.astype(str).equals(centre.rename("centre").rename_axis("sample_id"))
    with pytest.raises(CohortValidationError, match="names no column"):
        Cohort({"radiomics": rad}, covariates=cov, centre="scanner")


# ----------------------------------------------------------------------------- alignment
def test_paired_reports_every_drop(frames):
    c = make(frames)
    p = c.paired("radiomics", "expression", "genotypes")
    # present in all three: S03..S09
    assert list(p.samples) == [f"S{i:02d}" for i in range(3, 10)]
    for df in p.views.values():
        assert list(df.index) == list(p.samples)
    d = p.dropped.set_index(["sample_id", "view"])["reason"]
    assert d[("S00", "radiomics")] == "absent from 'expression'"
    assert d[("S10", "radiomics")] == "absent from 'genotypes'"
    assert d[("S11", "expression")] == "absent from 'genotypes'"
    assert d[("S00", "genotypes")] == "absent from 'expression'"
    # every removed (sample, view) is listed, and nothing else
    expected = sum(len(c[v]) - len(p.samples) for v in ("radiomics", "expression", "genotypes"))
    assert len(p.dropped) == expected
    assert list(p.covariates.index) == list(p.samples) and list(p.centre.index) == list(p.samples)
    X, Y, G = p
    assert X.shape == (7, 4) and Y.shape == (7, 5) and G.shape == (7, 3)
    assert p.summary().loc["radiomics", "n_dropped"] == 5
    # a sample missing from two views names both
    c2 = make(frames, views={"radiomics": frames[0], "expression": frames[1],
                             "genotypes": frames[2].drop(index="S00").iloc[:-1]})
    d2 = c2.paired("radiomics", "expression", "genotypes").dropped.set_index(["sample_id", "view"])
    assert d2.loc[("S00", "radiomics"), "reason"] == "absent from 'expression', 'genotypes'"


def test_paired_errors(frames):
    c = make(frames)
    with pytest.raises(KeyError, match="unknown view"):
        c.paired("radiomics", "rna")
    a = frames[0].rename(index=lambda s: s.lower())
    c2 = Cohort({"radiomics": a, "expression": frames[1]})
    with pytest.raises(CohortValidationError, match="share no sample"):
        c2.paired("radiomics", "expression")


def test_summary_tables(frames):
    c = make(frames)
    s = c.summary()
    assert s.views.loc["expression", "n_samples"] == 9
    assert s.views.loc["expression", "n_missing_samples"] == 3
    assert s.centres.loc["A", "total"] == 4 and s.centres["expression"].sum() == 9
    assert s.overlap.loc["radiomics", "expression"] == 9
    assert s.overlap.loc["expression", "genotypes"] == 7
    assert "Samples per centre" in repr(s) and "<table" in s._repr_html_()


def test_subset_and_with_view(frames):
    c = make(frames)
    sub = c.subset([f"S{i:02d}" for i in range(6)])
    assert sub.n_samples == 6 and sub["expression"].shape[0] == 3
    c2 = c.with_view("traits", pd.DataFrame({"lvef": np.arange(12.0)}, index=c.samples))
    assert "traits" in c2 and "traits" not in c


# ----------------------------------------------------------------------------- I/O
def _assert_same_cohort(a: Cohort, b: Cohort):
    assert a.view_names == b.view_names
    for v in a.view_names:
        left = a[v]
        right = b[v].loc[left.index, left.columns]
        np.testing.assert_array_equal(left.to_numpy(), right.to_numpy())
        assert list(left.index) == list(b[v].index) and list(left.columns) == list(b[v].columns)
    pd.testing.assert_frame_equal(a.covariates, b.covariates.loc[a.covariates.index],
                                  check_dtype=False, check_names=False)
    assert a.centre.astype(str).to_dict() == b.centre.astype(str).to_dict()
    pd.testing.assert_frame_equal(a.outcomes, b.outcomes.loc[a.outcomes.index],
                                  check_dtype=False, check_names=False)


def test_mudata_round_trip_in_memory_and_h5mu(frames, tmp_path):
    c = make(frames)
    m = c.to_mudata()
    assert set(m.mod) == {"radiomics", "expression", "genotypes"}
    assert m.mod["expression"].n_obs == 9  # partial pairing kept as is
    _assert_same_cohort(c, Cohort.from_mudata(m))
    path = c.write_h5mu(tmp_path / "cohort.h5mu")
    back = Cohort.from_mudata(path)
    _assert_same_cohort(c, back)
    assert back["expression"].dtypes.iloc[0] == np.dtype("int64")


def test_anndata_round_trip(frames):
    c = make(frames)
    a = c.to_anndata("expression")
    assert list(a.obs_names) == list(c["expression"].index)
    assert {"age", "sex", "centre", "outcome:event"} <= set(a.obs.columns)
    back = Cohort.from_anndata(a, view="expression", covariates=["age", "sex"])
    assert list(back.covariates.columns) == ["age", "sex"]
    assert Cohort.from_anndata(a, view="expression").covariates is None
    np.testing.assert_array_equal(back["expression"].to_numpy(), c["expression"].to_numpy())
    assert back.centre.astype(str).to_dict() == c.centre.reindex(a.obs_names).astype(str).to_dict()


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet"])
def test_files_round_trip(frames, tmp_path, fmt):
    c = make(frames)
    paths = c.to_files(tmp_path, fmt=fmt)
    back = Cohort.from_files(
        {v: paths[f"view_{v}"] for v in c.view_names},
        covariates=paths["covariates"], centre=paths["centre"], outcomes=paths["outcomes"],
    )
    assert back.view_names == c.view_names
    for v in c.view_names:
        np.testing.assert_array_equal(back[v].to_numpy(), c[v].to_numpy())  # exact round trip
        assert list(back[v].index) == list(c[v].index)


def test_read_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        Cohort.from_files({"radiomics": tmp_path / "missing.csv"})
    p = tmp_path / "data.xlsx"
    p.write_text("x")
    with pytest.raises(CohortValidationError, match="cannot tell the format"):
        Cohort.from_files({"radiomics": p})


def test_messy_ids_and_headers_are_refused(frames, tmp_path):
    rad = frames[0].copy()
    rad.index = ["S00", None] + list(rad.index[2:])
    with pytest.raises(CohortValidationError, match="missing sample ID"):
        make(frames, views={"radiomics": rad})
    p = tmp_path / "dup.csv"
    p.write_text("id,f0,f0,f1\na,1,2,3\nb,4,5,7\n")
    with pytest.raises(CohortValidationError, match=r"duplicated column ID.*'f0'"):
        Cohort.from_files({"radiomics": p})
    p2 = tmp_path / "blank.csv"
    p2.write_text("id,f0\na,1\n,2\nc,4\n")
    with pytest.raises(CohortValidationError, match="without a sample ID"):
        Cohort.from_files({"radiomics": p2})


def test_numbers_as_text_and_bad_types(frames):
    rad = frames[0].astype(object)
    rad.iloc[3, 0] = "n.d."
    with pytest.raises(CohortValidationError, match=r"stored as text.*'r1'.*n\.d\..*to_numeric"):
        make(frames, views={"radiomics": rad})
    cov = frames[3].copy()
    cov["age"] = cov["age"].round().astype(int).astype(str).astype(object)
    cov.loc["S05", "age"] = "unknown"
    with pytest.raises(CohortValidationError, match=r"covariate 'age' is numeric except for 'unknown'"):
        make(frames, covariates=cov)
    with pytest.raises(CohortValidationError, match="complex"):
        make(frames, views={"radiomics": frames[0].astype(complex)})


def test_reports_survive_with_view_subset_and_h5mu(frames, tmp_path):
    rad = frames[0].copy()
    rad["r3"] = 1.0
    c = make(frames, views={"radiomics": rad, "expression": frames[1]}, constant_policy="drop")
    assert len(c.report) == 1
    c2 = c.with_view("traits", pd.DataFrame({"lvef": np.arange(12.0)}, index=c.samples))
    assert len(c2.report) == 1
    sub = c.subset(["S00", "S01"])
    rep = sub.report.to_frame()
    assert ((rep["view"] == "expression") & (rep["axis"] == "view")).sum() == 1
    back = Cohort.from_mudata(c.write_h5mu(tmp_path / "c.h5mu"))
    assert back.report.to_frame()["id"].tolist() == ["r3"]


def test_centre_codes_and_dotted_column_names(frames):
    rad, expr, geno, cov, centre, out = frames
    codes = pd.Series([1.0, 2.0, np.nan] * 4, index=rad.index)
    c = Cohort({"radiomics": rad}, centre=codes, missing_meta="drop_samples")
    assert sorted(c.centre.cat.categories) == ["1", "2"]
    c2 = Cohort({"radiomics": rad}, covariates=cov.assign(**{"site.id": centre}), centre="site.id")
    assert c2.centre.nunique() == 3


# ------------------------------------------------------------- issue 14: keep what a method models
def _scattered(seed=0, n=60, p=12, frac=0.1):
    g = np.random.default_rng(seed)
    ids = [f"S{i:02d}" for i in range(n)]
    z = g.normal(size=(n, 2))
    rad = pd.DataFrame(z @ g.normal(size=(2, p)) + 0.3 * g.normal(size=(n, p)), index=ids,
                       columns=[f"r{j}" for j in range(p)])
    expr = pd.DataFrame(z @ g.normal(size=(2, 20)) + 0.3 * g.normal(size=(n, 20)), index=ids,
                        columns=[f"g{j}" for j in range(20)])
    holes = g.random(rad.shape) < frac
    rad_nan = rad.mask(holes)
    return rad, rad_nan, expr, holes, z


def test_nan_policy_keep_keeps_scattered_missing_values_and_reports_them():
    """A user with scattered NaN in a radiomics view could not build a Cohort for MOFA+."""
    rad, rad_nan, expr, holes, _ = _scattered()
    c = Cohort({"radiomics": rad_nan, "expression": expr}, nan_policy={"radiomics": "keep"})
    np.testing.assert_array_equal(c["radiomics"].isna().to_numpy(), holes)
    kept = c.report.to_frame().query("action == 'kept'")
    assert set(kept["id"]) == set(rad.columns[holes.any(axis=0)])
    assert kept["reason"].str.contains("kept as NaN").all()
    paired = c.paired("radiomics", "expression")
    assert paired["radiomics"].isna().sum().sum() == holes.sum()
    bad = rad_nan.copy()
    bad.iloc[0, 0] = np.inf
    with pytest.raises(CohortValidationError, match="inf is not a missing value"):
        Cohort({"radiomics": bad}, nan_policy="keep")


def test_mofa_fits_a_cohort_with_kept_missing_values():
    """MOFA+ (mofapy2) models the kept NaN: the fit uses the observed cells only, and the
    shared factors are recovered although 10% of radiomic values are missing."""
    from conftest import require

    require("mofapy2")
    from radiogenomics.mofa import MOFA

    import mofapy2.run.entry_point as ep

    rad, rad_nan, expr, holes, z = _scattered(seed=1, n=80)
    c = Cohort({"radiomics": rad_nan, "expression": expr}, nan_policy={"radiomics": "keep"})
    seen = {}
    original = ep.entry_point.set_data_matrix

    def spy(self, data, *a, **k):
        seen["data"] = [np.array(d[0], copy=True) for d in data]
        return original(self, data, *a, **k)

    ep.entry_point.set_data_matrix = spy
    try:
        fit = MOFA(n_factors=3, rng=1, convergence="fast").fit(c, views=["radiomics", "expression"])
    finally:
        ep.entry_point.set_data_matrix = original
    # mofapy2 received the holes as NaN (nothing imputed before fitting), the rest as given
    np.testing.assert_array_equal(np.isnan(seen["data"][0]), holes)
    assert not np.isnan(seen["data"][1]).any()
    Z = fit.factors.to_numpy()
    best = [max(abs(np.corrcoef(Z[:, k], z[:, j])[0, 1]) for k in range(Z.shape[1])) for j in range(2)]
    assert min(best) > 0.8, best


def test_impute_median_cells_are_marked():
    rad, rad_nan, expr, holes, _ = _scattered(seed=2)
    c = Cohort({"radiomics": rad_nan, "expression": expr}, nan_policy={"radiomics": "impute_median"})
    mask = c.imputed_mask("radiomics")
    np.testing.assert_array_equal(mask.to_numpy(), holes)
    sub = c.subset(list(c.samples[:30]))
    np.testing.assert_array_equal(sub.imputed_mask("radiomics").to_numpy(), holes[:30])
    assert not c.imputed_mask("expression").to_numpy().any()
    # paired data carry the mask, aligned to their samples
    pd_ = c.subset(list(c.samples[10:])).paired("radiomics", "expression")
    np.testing.assert_array_equal(pd_.imputed_mask("radiomics").to_numpy(), holes[10:])
    assert not pd_.imputed_mask("expression").to_numpy().any()
    # with_view: adding a view keeps the marks; replacing the imputed view clears them
    w = c.with_view("extra", expr.iloc[:, :3].add_prefix("e"))
    np.testing.assert_array_equal(w.imputed_mask("radiomics").to_numpy(), holes)
    r = c.with_view("radiomics", rad)
    assert not r.imputed_mask("radiomics").to_numpy().any()
    # the imputed value is the whole-cohort median of the observed values
    med = rad_nan.median()
    j = int(np.flatnonzero(holes.any(axis=0))[0])
    i = int(np.flatnonzero(holes[:, j])[0])
    assert c["radiomics"].iloc[i, j] == pytest.approx(med.iloc[j])
