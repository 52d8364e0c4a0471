"""Tests of :mod:`radiogenomics.expression.pseudobulk`.

The reference for the sums is an independent computation: a pandas ``groupby(...).sum()`` of
the dense cell matrix (edgeR's ``sumTechReps`` is the same operation in R).  Counts, cell
numbers and proportions are compared exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from conftest import require

anndata = require("anndata")

from data_sim.counts import make_single_cell  # noqa: E402
from radiogenomics._checks import InputError  # noqa: E402
import importlib  # noqa: E402

pb_mod = importlib.import_module("radiogenomics.expression.pseudobulk")  # the module, not the function
from radiogenomics.expression.pseudobulk import (PseudobulkResult, pseudobulk,  # noqa: E402
                                                 pseudobulk_from_h5ad)


@pytest.fixture(scope="module")
def sc():
    return make_single_cell(8, 120, cells_per_sample=(40, 160), rng=11)


def groupby_reference(adata, X=None, sample_col="sample_id", type_col="cell_type"):
    """Dense pandas groupby-sum of the cells: {(sample, type): counts}, and cell numbers."""
    X = adata.X if X is None else X
    dense = X.toarray() if sparse.issparse(X) else np.asarray(X)
    df = pd.DataFrame(dense.astype(np.int64), columns=adata.var_names)
    keys = [adata.obs[sample_col].astype(str).to_numpy(),
            adata.obs[type_col].astype(str).to_numpy()]
    sums = df.groupby(keys).sum()
    ncell = pd.Series(1, index=df.index).groupby(keys).sum()
    return sums, ncell


def assert_matches_reference(res: PseudobulkResult, sums, ncell, min_cells):
    kept = 0
    for (s, ct), n in ncell.items():
        if n >= min_cells:
            got = res.counts[ct].loc[s]
            np.testing.assert_array_equal(got.to_numpy(), sums.loc[(s, ct)].to_numpy())
            kept += 1
        else:
            assert s not in res.counts.get(ct, pd.DataFrame()).index
        assert res.n_cells.loc[s, ct] == n
    assert sum(len(df) for df in res.counts.values()) == kept


# --------------------------------------------------------------------------- correctness
def test_sums_equal_groupby_reference_sparse(sc):
    res = pseudobulk(sc, min_cells=5)
    sums, ncell = groupby_reference(sc)
    assert_matches_reference(res, sums, ncell, 5)
    for df in res.counts.values():
        assert df.dtypes.eq(np.int64).all()
        assert list(df.columns) == list(sc.var_names)
        assert df.index.name == "sample_id"
    # zero-cell units appear in n_cells as 0 and nowhere else
    assert int(res.n_cells.to_numpy().sum()) == sc.n_obs


@pytest.mark.parametrize("kind", ["dense_f32", "dense_i32", "csc", "csr_array_f64"])
def test_every_matrix_type_gives_the_same_sums(sc, kind):
    X = sc.X
    Xs = {"dense_f32": X.toarray().astype(np.float32), "dense_i32": X.toarray().astype(np.int32),
          "csc": sparse.csc_matrix(X), "csr_array_f64": sparse.csr_array(X, dtype=np.float64)}[kind]
    ad2 = anndata.AnnData(Xs, obs=sc.obs.copy(), var=sc.var.copy())
    res = pseudobulk(ad2, min_cells=5)
    sums, ncell = groupby_reference(sc)
    assert_matches_reference(res, sums, ncell, 5)


def test_chunking_does_not_change_the_result(sc, monkeypatch):
    full = pseudobulk(sc, min_cells=1)
    monkeypatch.setattr(pb_mod, "_CHUNK_VALUES", 7 * sc.n_vars)  # 7 cells per chunk
    chunked = pseudobulk(sc, min_cells=1)
    for ct in full.counts:
        pd.testing.assert_frame_equal(full.counts[ct], chunked.counts[ct])
    monkeypatch.setattr(pb_mod, "_CHUNK_VALUES", 7 * sc.n_vars)
    dense = anndata.AnnData(sc.X.toarray(), obs=sc.obs.copy(), var=sc.var.copy())
    for ct, df in pseudobulk(dense, min_cells=1).counts.items():
        pd.testing.assert_frame_equal(full.counts[ct], df)


def test_large_float32_counts_are_summed_exactly():
    # 2**24 + 1 is not representable in float32: a float32 accumulation would lose it
    vals = np.array([[2 ** 23 + 1, 3], [2 ** 23, 5], [1, 7]], dtype=np.float32)
    obs = pd.DataFrame({"sample_id": ["a", "a", "a"], "cell_type": ["T", "T", "T"]},
                       index=["c1", "c2", "c3"])
    res = pseudobulk(anndata.AnnData(sparse.csr_matrix(vals), obs=obs), min_cells=1)
    assert res.counts["T"].loc["a"].tolist() == [2 ** 24 + 2, 15]


def test_proportions_and_cell_numbers_match_crosstab(sc):
    res = pseudobulk(sc)
    tab = pd.crosstab(sc.obs["sample_id"].astype(str), sc.obs["cell_type"].astype(str))
    tab = tab.reindex(index=res.n_cells.index, columns=res.n_cells.columns, fill_value=0)
    np.testing.assert_array_equal(res.n_cells.to_numpy(), tab.to_numpy())
    np.testing.assert_allclose(res.proportions.to_numpy(),
                               (tab.T / tab.sum(axis=1)).T.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(res.proportions.sum(axis=1), 1.0, rtol=1e-12)
    # category order of the obs columns is kept
    assert list(res.n_cells.columns) == list(sc.obs["cell_type"].cat.categories)
    assert list(res.samples) == list(sc.obs["sample_id"].cat.categories)


# --------------------------------------------------------------------------- filtering
def test_min_cells_and_min_counts_remove_and_list_units(sc):
    res = pseudobulk(sc, min_cells=20, min_counts=30_000)
    sums, ncell = groupby_reference(sc)
    tot = sums.sum(axis=1)
    expected_removed = {k for k in ncell.index if ncell[k] < 20 or tot[k] < 30_000}
    expected_removed |= {(s, ct) for s in res.samples for ct in res.n_cells.columns
                         if (s, ct) not in ncell.index}
    got = set(zip(res.removed["sample"], res.removed["cell_type"]))
    assert got == expected_removed
    for _, row in res.removed.iterrows():
        n = ncell.get((row["sample"], row["cell_type"]), 0)
        assert row["n_cells"] == n
        assert row["total_counts"] == tot.get((row["sample"], row["cell_type"]), 0)
        assert ("no cells" in row["reason"]) == (n == 0)
        assert ("min_cells=20" in row["reason"]) == (0 < n < 20)
        assert ("min_counts=30000" in row["reason"]) == (n > 0 and row["total_counts"] < 30_000)
    kept = {(s, ct) for ct, df in res.counts.items() for s in df.index}
    assert kept.isdisjoint(got)
    assert len(kept) + len(got) == res.n_cells.size
    table = res.to_frame()
    assert len(table) == int((res.n_cells.to_numpy() > 0).sum())
    kept_rows = table.loc[table["kept"]]
    assert set(zip(kept_rows["sample"], kept_rows["cell_type"])) == kept


def test_thresholds_are_inclusive():
    # s1/A: 3 cells, 30 counts; s2/A: 2 cells, 20 counts; s3/A: 3 cells, 29 counts
    X = np.array([[10], [10], [10], [10], [10], [10], [10], [9]])
    obs = pd.DataFrame({"sample_id": ["s1"] * 3 + ["s2"] * 2 + ["s3"] * 3, "cell_type": "A"},
                       index=[f"c{i}" for i in range(8)])
    res = pseudobulk(anndata.AnnData(X, obs=obs), min_cells=3, min_counts=30)
    assert list(res.counts["A"].index) == ["s1"]
    reasons = res.removed.set_index("sample")["reason"]
    assert reasons["s2"] == "fewer than min_cells=3 cells; fewer than min_counts=30 counts"
    assert reasons["s3"] == "fewer than min_counts=30 counts"


def test_cell_type_with_no_unit_left_is_absent_and_view_says_why():
    X = sparse.csr_matrix(np.ones((30, 4), dtype=np.int64))
    obs = pd.DataFrame({"sample_id": ["s1"] * 15 + ["s2"] * 15,
                        "cell_type": (["A"] * 12 + ["B"] * 3) * 2},
                       index=[f"c{i}" for i in range(30)])
    res = pseudobulk(anndata.AnnData(X, obs=obs), min_cells=10)
    assert res.cell_types == ["A"]
    assert set(res.removed["cell_type"]) == {"B"}
    with pytest.raises(InputError, match="all its 2 unit"):
        res.view("B")
    with pytest.raises(InputError, match="not a cell type"):
        res.view("Z")
    pd.testing.assert_frame_equal(res.view("A"), res.counts["A"])
    np.testing.assert_allclose(res.proportions["B"], 0.2)  # composition uses every cell


def test_cell_types_subset_and_groups_col_alias(sc):
    obs = sc.obs.rename(columns={"cell_type": "celltype", "sample_id": "donor"})
    ad2 = anndata.AnnData(sc.X, obs=obs, var=sc.var)
    res = pseudobulk(ad2, sample_col="donor", groups_col="celltype", cell_types=["fibroblast"],
                     min_cells=1)
    assert res.cell_types == ["fibroblast"]
    full = pseudobulk(sc, min_cells=1)
    pd.testing.assert_frame_equal(res.counts["fibroblast"].rename_axis("sample_id"),
                                  full.counts["fibroblast"])
    assert res.n_cells.shape == full.n_cells.shape  # composition still over all types
    assert set(res.removed["cell_type"]) <= {"fibroblast"}
    view = sc[(sc.obs["cell_type"] == "fibroblast").to_numpy()]  # an AnnData view
    pd.testing.assert_frame_equal(pseudobulk(view, min_cells=1).counts["fibroblast"],
                                  full.counts["fibroblast"])


# --------------------------------------------------------------------------- counts source
def _lognorm(X):
    X = sparse.csr_matrix(X, dtype=np.float64)
    X = sparse.diags(1e4 / np.asarray(X.sum(axis=1)).ravel()) @ X
    X.data = np.log1p(X.data)
    return sparse.csr_matrix(X)


def test_counts_source_layer_then_raw_then_X(sc):
    ref = pseudobulk(sc, min_cells=1)
    ad2 = sc.copy()
    ad2.layers["counts"] = ad2.X.copy()
    ad2.X = _lognorm(ad2.X)
    with pytest.raises(InputError, match=r"layer='counts'.*layers: 'counts'"):
        pseudobulk(ad2)
    r_layer = pseudobulk(ad2, layer="counts", min_cells=1)
    assert r_layer.source == "layers['counts']"
    ad3 = ad2.copy()
    ad3.raw = sc.copy()  # raw holds counts, X normalised: raw.X used
    r_raw = pseudobulk(ad3, min_cells=1)
    assert r_raw.source == "raw.X"
    for ct in ref.counts:
        pd.testing.assert_frame_equal(ref.counts[ct], r_layer.counts[ct])
        pd.testing.assert_frame_equal(ref.counts[ct], r_raw.counts[ct])
    # raw holds normalised values but X holds counts: X used and the skip is reported
    ad4 = sc.copy()
    ad4.raw = anndata.AnnData(_lognorm(sc.X), obs=sc.obs, var=sc.var)
    r_x = pseudobulk(ad4, min_cells=1)
    assert r_x.source.startswith("X (raw.X holds non-integer values")
    pd.testing.assert_frame_equal(ref.counts["fibroblast"], r_x.counts["fibroblast"])


@pytest.mark.parametrize("bad, match", [
    (-1.0, "negative values"), (0.5, "non-integer values"), (np.nan, "NaN or infinite")])
def test_non_count_values_are_refused(bad, match):
    X = np.ones((4, 3))
    X[2, 1] = bad
    obs = pd.DataFrame({"sample_id": list("aabb"), "cell_type": ["T"] * 4}, index=list("wxyz"))
    with pytest.raises(InputError, match=match) as ei:
        pseudobulk(anndata.AnnData(X, obs=obs), min_cells=1)
    assert "layer=" in str(ei.value)


# --------------------------------------------------------------------------- bad input
def _small():
    obs = pd.DataFrame({"sample_id": ["a", "a", "b", "b"], "cell_type": ["T", "T", "T", "B"],
                        "centre": ["C1", "C1", "C2", "C2"]}, index=list("wxyz"))
    return anndata.AnnData(sparse.csr_matrix(np.arange(12).reshape(4, 3)), obs=obs)


def test_missing_obs_column_names_it_and_lists_columns():
    with pytest.raises(InputError, match=r"lacks column\(s\) 'donor'.*'sample_id', 'cell_type', "
                                         r"'centre'.*sample_col="):
        pseudobulk(_small(), sample_col="donor")


def test_nan_labels_named():
    a = _small()
    a.obs.loc["y", "sample_id"] = np.nan
    with pytest.raises(InputError, match=r"missing for 1 cell\(s\) \('y'\).*notna"):
        pseudobulk(a, min_cells=1)
    a = _small()
    a.obs["cell_type"] = pd.Categorical([None, "T", "T", "B"])
    with pytest.raises(InputError, match=r"cell type\) is missing for 1 cell\(s\) \('w'\)"):
        pseudobulk(a, min_cells=1)


def test_empty_result_explains_threshold():
    with pytest.raises(InputError, match=r"no pseudo-bulk unit left.*largest: 2.*lower min_cells"):
        pseudobulk(_small(), min_cells=3)


@pytest.mark.parametrize("kw, match", [
    (dict(cell_types=["NK"]), r"cell_types 'NK' not found.*'B', 'T'"),
    (dict(cell_types=[]), r"\(empty\)"),
    (dict(layer="counts"), r"no layer 'counts' \(layers: none\)"),
    (dict(min_cells=-1), "min_cells must be a non-negative number"),
    (dict(min_counts="10"), "min_counts must be a non-negative number"),
    (dict(cell_type_col="celltype", groups_col="cell_type"), "name different columns"),
    (dict(sample_col="cell_type"), "two different obs columns"),
])
def test_bad_arguments(kw, match):
    with pytest.raises(InputError, match=match):
        pseudobulk(_small(), **kw)


def test_not_an_anndata_and_missing_h5ad():
    with pytest.raises(InputError, match="must be an anndata.AnnData.*got DataFrame"):
        pseudobulk(pd.DataFrame(np.ones((2, 2))))
    with pytest.raises(InputError, match="no h5ad file at"):
        pseudobulk_from_h5ad("/nonexistent/x.h5ad")


# --------------------------------------------------------------------------- metadata, output
def test_sample_metadata_constant_columns_only(sc):
    res = pseudobulk(sc)
    assert list(res.sample_metadata.columns) == ["centre", "age", "sex"]
    assert res.varying_columns == ["n_counts"]
    first = sc.obs.groupby("sample_id", observed=True).first()
    for col in ("centre", "age", "sex"):
        assert res.sample_metadata[col].tolist() == first.loc[res.samples, col].astype(
            res.sample_metadata[col].dtype).tolist()
    # a column constant except in one sample, or mixing NaN and a value, varies
    a = _small()
    a.obs["batch"] = ["x", "y", "z", "z"]
    a.obs["score"] = [1.0, np.nan, np.nan, np.nan]
    a.obs["allnan"] = np.nan
    a.obs["site"] = pd.Categorical(["x", "x", None, None])
    r = pseudobulk(a, min_cells=1)
    assert r.varying_columns == ["batch", "score"]
    assert list(r.sample_metadata.columns) == ["centre", "allnan", "site"]
    assert r.sample_metadata.loc["b", "centre"] == "C2"
    assert r.sample_metadata.loc["a", "site"] == "x" and pd.isna(r.sample_metadata.loc["b", "site"])


def test_outputs_frame_summary_repr_and_h5ad_roundtrip(sc, tmp_path):
    res = pseudobulk(sc, min_cells=30)
    wide = res.to_frame(counts=True)
    assert len(wide) == sum(len(df) for df in res.counts.values())
    row = wide.iloc[0]
    np.testing.assert_array_equal(
        row[list(sc.var_names)].to_numpy(dtype=np.int64),
        res.counts[row["cell_type"]].loc[row["sample"]].to_numpy())
    assert row["total_counts"] == res.counts[row["cell_type"]].loc[row["sample"]].sum()
    text = res.summary()
    assert "min_cells=30" in text and "varying within sample" in text and "'n_counts'" in text
    for ct in res.counts:
        assert f"{ct}: {len(res.counts[ct])} sample(s) kept" in text
    assert repr(res).startswith(f"PseudobulkResult({len(res.samples)} samples x "
                                f"{len(res.counts)} cell types, {sc.n_vars} genes")
    path = tmp_path / "sc.h5ad"
    sc.write_h5ad(path)
    again = pseudobulk_from_h5ad(path, min_cells=30)
    backed = pseudobulk_from_h5ad(path, backed=True, min_cells=30)  # X read from disk by chunks
    dense_path = tmp_path / "dense.h5ad"
    anndata.AnnData(sc.X.toarray(), obs=sc.obs, var=sc.var).write_h5ad(dense_path)
    backed_dense = pseudobulk_from_h5ad(dense_path, backed=True, min_cells=30)
    for ct in res.counts:
        for other in (again, backed, backed_dense):
            pd.testing.assert_frame_equal(res.counts[ct], other.counts[ct])
    pd.testing.assert_frame_equal(res.sample_metadata, backed.sample_metadata)
