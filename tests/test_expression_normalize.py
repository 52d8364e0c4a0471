"""radiogenomics.expression.normalize against edgeR 3.40 (files in tests/data/expression/edger,
made by make_refs.R there), plus bad input and edge cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics._checks import InputError
from radiogenomics.expression.normalize import (FilterResult, as_counts, calc_norm_factors, cpm,
                                                filter_by_expr)

DATA = Path(__file__).parent / "data" / "expression" / "edger"
CASES = ["c12", "c40", "cov", "sparse"]


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, index_col=0, float_precision="round_trip")


def _counts(case: str) -> pd.DataFrame:
    return _read(f"{case}_counts.csv.gz").T  # R is genes x samples


def _samples(case: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{case}_samples.csv", index_col=0)


def _rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a / b - 1)))


# --------------------------------------------------------------------------- norm factors
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", ["TMM", "TMMwsp", "RLE", "upperquartile", "none"])
def test_norm_factors_match_edger(case, method):
    ref = _read(f"{case}_normfactors.csv.gz")[method]
    y = _counts(case)
    if ref.isna().any():  # edgeR gives Inf/NaN (quantile 0): we refuse, naming the samples
        with pytest.raises(InputError, match=r"quantile of the counts is 0.*'s01'"):
            calc_norm_factors(y, method)
        return
    f = calc_norm_factors(y, method)
    assert list(f.index) == list(y.index)
    assert _rel(f, ref.loc[f.index]) < 1e-10


@pytest.mark.parametrize("case", CASES)
def test_norm_factors_non_default_arguments(case):
    ref = _read(f"{case}_normfactors.csv.gz")
    y = _counts(case)
    f = calc_norm_factors(y, "TMM", ref_sample=2, do_weighting=False)
    assert _rel(f, ref["TMM_ref3_noweight"]) < 1e-10
    # the same reference given by sample ID
    f_id = calc_norm_factors(y, "TMM", ref_sample=y.index[2], do_weighting=False)
    np.testing.assert_array_equal(f_id, f)
    f = calc_norm_factors(y, "TMM", logratio_trim=0.2, sum_trim=0.1, a_cutoff=-20)
    assert _rel(f, ref["TMM_trim"]) < 1e-10
    if not ref["UQ_p90"].isna().any():
        assert _rel(calc_norm_factors(y, "upperquartile", p=0.9), ref["UQ_p90"]) < 1e-10


def test_norm_factors_product_one_and_lib_size_alignment():
    y = _counts("c12")
    f = calc_norm_factors(y, "TMM")
    assert abs(np.prod(f) - 1) < 1e-12
    # lib_size as a Series is matched by sample ID, not by position
    lib = y.sum(axis=1) * np.linspace(0.8, 1.2, len(y))
    f1 = calc_norm_factors(y, "upperquartile", lib_size=lib.to_numpy())
    f2 = calc_norm_factors(y, "upperquartile", lib_size=lib.iloc[::-1])
    np.testing.assert_array_equal(f1, f2)
    # upper-quartile factors scale with 1 / lib_size (before the product-one scaling)
    f0 = calc_norm_factors(y, "upperquartile")
    ratio = (f1 / f0).to_numpy() * lib.to_numpy() / y.sum(axis=1).to_numpy()
    assert np.ptp(ratio) < 1e-12 * ratio.mean()


def test_norm_factors_edge_cases():
    y = _counts("c12")
    one = calc_norm_factors(y.iloc[[0]], "TMM")  # one sample: edgeR sets method "none"
    assert one.tolist() == [1.0]
    same = pd.DataFrame(np.tile(y.iloc[0].to_numpy(), (4, 1)), columns=y.columns,
                        index=list("abcd"))
    for m in ("TMM", "TMMwsp", "RLE", "upperquartile"):
        np.testing.assert_allclose(calc_norm_factors(same, m), 1.0, rtol=1e-14)
    # all-zero genes are ignored: adding some does not change any factor
    padded = pd.concat([y, pd.DataFrame(0.0, index=y.index, columns=["z1", "z2"])], axis=1)
    for m in ("TMM", "TMMwsp", "RLE", "upperquartile"):
        np.testing.assert_array_equal(calc_norm_factors(padded, m), calc_norm_factors(y, m))
    # RLE with no gene expressed in every sample: edgeR returns NA, we refuse
    sparse = pd.DataFrame(np.eye(3) * 5, index=["a", "b", "c"], columns=["g1", "g2", "g3"])
    with pytest.raises(InputError, match="RLE needs genes with reads in every sample"):
        calc_norm_factors(sparse, "RLE")
    assert calc_norm_factors(sparse, "TMMwsp").notna().all()


def test_norm_factors_bad_arguments():
    y = _counts("c12")
    with pytest.raises(InputError, match="method must be one of"):
        calc_norm_factors(y, "TMMX")
    with pytest.raises(InputError, match="logratio_trim must be in"):
        calc_norm_factors(y, logratio_trim=0.6)
    with pytest.raises(InputError, match="'nope' is not a sample ID"):
        calc_norm_factors(y, ref_sample="nope")
    with pytest.raises(InputError, match="out of range"):
        calc_norm_factors(y, ref_sample=12)
    with pytest.raises(InputError, match=r"lib_size must be > 0; not for sample\(s\) 's02'"):
        calc_norm_factors(y, lib_size=np.r_[1e6, 0, np.full(10, 1e6)])
    with pytest.raises(InputError, match="lib_size has 3 value"):
        calc_norm_factors(y, lib_size=[1, 2, 3])


# --------------------------------------------------------------------------- CPM
@pytest.mark.parametrize("prior", [2.0, 0.5])
def test_log_cpm_matches_edger(prior):
    y = _counts("c12")
    ref = _read(f"c12_logcpm_prior{prior:g}.csv.gz").T
    out = cpm(y, norm_factors=calc_norm_factors(y), log=True, prior_count=prior)
    assert out.index.equals(y.index) and out.columns.equals(y.columns)
    assert np.max(np.abs(out - ref.loc[out.index, out.columns]).to_numpy()) < 1e-10


def test_cpm_matches_edger():
    y = _counts("c12")
    out = cpm(y, norm_factors=calc_norm_factors(y))
    ref = _read("c12_cpm.csv.gz").T
    pos = ref.to_numpy() > 0
    np.testing.assert_array_equal(out.to_numpy()[~pos], 0.0)
    assert _rel(out.to_numpy()[pos], ref.to_numpy()[pos]) < 1e-10
    ref = _read("c12_logcpm_prior2_nonorm.csv.gz").T  # no norm factors
    assert np.max(np.abs(cpm(y, log=True) - ref).to_numpy()) < 1e-10


def test_cpm_norm_factors_by_sample_id_and_prior_zero():
    y = _counts("c12")
    nf = calc_norm_factors(y)
    a = cpm(y, norm_factors=nf, log=True)
    b = cpm(y, norm_factors=nf.iloc[::-1], log=True)  # Series matched by ID
    pd.testing.assert_frame_equal(a, b)
    # prior 0: log2 of raw CPM, -inf exactly at zero counts (as edgeR)
    z = cpm(y, norm_factors=nf, log=True, prior_count=0)
    raw = cpm(y, norm_factors=nf)
    assert np.array_equal(np.isneginf(z.to_numpy()), y.to_numpy() == 0)
    fin = y.to_numpy() > 0
    np.testing.assert_allclose(z.to_numpy()[fin], np.log2(raw.to_numpy()[fin]), rtol=0, atol=1e-12)
    with pytest.raises(InputError, match="prior_count must be"):
        cpm(y, log=True, prior_count=-1)
    with pytest.raises(InputError, match="norm_factors is a Series whose index"):
        cpm(y, norm_factors=nf.rename(lambda s: s + "x"))


# --------------------------------------------------------------------------- filterByExpr
def _calls(case: str) -> dict:
    s = _samples(case)
    design = _read(f"{case}_design.csv.gz")
    y = _counts(case)
    calls = {
        "group": dict(group=s["group"]),
        "nodesign": {},
        "group_tmm": dict(group=s["group"], norm_factors=calc_norm_factors(y)),
        "group_mc5_mt30": dict(group=s["group"], min_count=5, min_total_count=30),
        "group_centre": dict(group=(s["group"] + "." + s["centre"]).to_numpy()),
        "design": dict(design=design),
        "design_largen3_prop05": dict(design=design.to_numpy(), large_n=3, min_prop=0.5),
    }
    if case == "cov":
        calls["design_age"] = dict(design=_read("cov_design_age.csv.gz"))
        calls["design_ageonly"] = dict(design=s[["age"]])
    return calls


@pytest.mark.parametrize("case", ["c12", "c40", "cov"])
def test_filter_by_expr_matches_edger(case):
    y = _counts(case)
    ref = _read(f"{case}_filterbyexpr.csv.gz").astype(bool)
    info = pd.read_csv(DATA / "filterbyexpr_calls.csv").query("case == @case").set_index("call")
    calls = _calls(case)
    assert set(calls) == set(ref.columns)
    for name, kw in calls.items():
        res = filter_by_expr(y, **kw)
        assert res.keep.index.equals(y.columns)
        assert res.keep.to_numpy().tolist() == ref[name].loc[y.columns].tolist(), name
        assert res.n_kept == int(ref[name].sum())
        if name in info.index:
            assert res.min_samples == pytest.approx(info.loc[name, "min_samples"], rel=1e-12)
            assert res.cpm_cutoff == pytest.approx(info.loc[name, "cpm_cutoff"], rel=1e-12)
        assert set(res.removed["gene"]) == set(y.columns[~res.keep.to_numpy()])


def test_filter_by_expr_exact_ties_match_edger():
    """Counts of exactly min_count at the median library size: edgeR's rounding decides."""
    y = _counts("ties")
    libs = _read("ties_libsizes.csv.gz")
    ref = _read("ties_filterbyexpr.csv.gz").astype(bool)
    ties = [g for g in y.columns if g.startswith("t")]
    assert 0 < ref.loc[ties].to_numpy().mean() < 1  # the reference has ties going both ways
    for col in libs.columns:
        res = filter_by_expr(y, group=np.arange(5), lib_size=libs[col], min_total_count=0)
        assert res.keep.tolist() == ref[col].tolist(), col
    # total-count boundary: genes a1..a5 have exactly 47 reads
    tot = _read("ties_filterbyexpr_total.csv.gz").astype(bool)
    for m in (47, 48):
        res = filter_by_expr(y, group=np.arange(5), lib_size=libs.iloc[:, 0], min_total_count=m)
        assert res.keep.tolist() == tot[f"total{m}"].tolist()


def test_filter_result_reasons_and_apply():
    y = _counts("c12")
    s = _samples("c12")
    res = filter_by_expr(y, group=s["group"], min_total_count=30)
    assert isinstance(res, FilterResult)
    frame = res.to_frame()
    assert frame.index.equals(y.columns) and frame["keep"].equals(res.keep)
    # reasons agree with the recorded numbers, gene by gene
    lowcpm = frame["n_samples_above"] < res.samples_needed
    lowtot = frame["total_count"] < 30
    assert (frame["keep"] == ~(lowcpm | lowtot)).all()
    assert (frame["reason"].str.startswith("below CPM") == lowcpm).all()
    assert (frame["reason"].str.contains("total count") == lowtot).all()
    assert frame.loc[frame["keep"], "reason"].eq("").all()
    assert frame.loc["g004", "reason"].startswith(
        f"below CPM {res.cpm_cutoff:.3g} (10 counts at the median library size) in 12 of 12 "
        "samples: 0 reach it, 5 needed; total count 0 below 30")
    kept = res.apply(y)
    assert list(kept.columns) == list(y.columns[res.keep.to_numpy()])
    pd.testing.assert_frame_equal(res.apply(y.T, orientation="genes x samples"), kept.T)
    np.testing.assert_array_equal(res.apply(y.to_numpy()), kept.to_numpy())
    assert f"kept {res.n_kept}/600 genes" in repr(res)
    assert f"kept {res.n_kept} of 600 genes" in res.summary()
    assert "smallest group: ctrl, 5 samples" in res.summary()
    with pytest.raises(InputError, match="counts lack 600 gene"):
        res.apply(y.rename(columns=lambda g: g + "_x"))


def test_filter_by_expr_group_alignment_and_bad_input():
    y = _counts("c12")
    s = _samples("c12")
    a = filter_by_expr(y, group=s["group"])
    b = filter_by_expr(y, group=s["group"].iloc[::-1])  # matched by sample ID
    assert a.keep.equals(b.keep)
    # a Categorical with an unused level: the level does not count as a group of 0 samples
    cat = s["group"].astype(pd.CategoricalDtype(["ctrl", "case", "unused"]))
    assert filter_by_expr(y, group=cat).keep.equals(a.keep)
    # group takes precedence over design, as in edgeR
    c = filter_by_expr(y, group=s["group"], design=_read("c12_design.csv.gz"))
    assert c.keep.equals(a.keep)
    g = s["group"].copy()
    g.iloc[3] = np.nan
    with pytest.raises(InputError, match=r"group is missing for sample\(s\) 's04'"):
        filter_by_expr(y, group=g)
    with pytest.raises(InputError, match="group has 3 labels for 12 samples"):
        filter_by_expr(y, group=["a", "b", "a"])
    with pytest.raises(InputError, match="design rows do not match"):
        filter_by_expr(y, design=_read("c12_design.csv.gz").iloc[:10])
    d = _read("c12_design.csv.gz")
    d.iloc[2, 1] = np.nan
    with pytest.raises(InputError, match="design has 1 NaN"):
        filter_by_expr(y, design=d)
    with pytest.raises(InputError, match="min_count must be"):
        filter_by_expr(y, min_count=-1)


# --------------------------------------------------------------------------- as_counts
def _small():
    return pd.DataFrame([[1, 0, 5], [2, 3, 0], [0, 4, 7]], index=["s1", "s2", "s3"],
                        columns=["gA", "gB", "gC"])


def test_as_counts_orientation_and_arrays():
    df = _small()
    out = as_counts(df)
    assert out.dtypes.eq(np.float64).all() and out.index.name == "sample_id"
    pd.testing.assert_frame_equal(as_counts(df.T, orientation="genes x samples"), out)
    arr = as_counts(df.to_numpy())
    assert list(arr.index) == ["sample_1", "sample_2", "sample_3"]
    assert list(arr.columns) == ["gene_1", "gene_2", "gene_3"]
    frac = df + 0.25
    pd.testing.assert_frame_equal(as_counts(frac, allow_fractional=True), frac.astype(float)
                                  .rename_axis("sample_id"))
    with pytest.raises(InputError, match="orientation must be one of"):
        as_counts(df, orientation="auto")


def test_as_counts_featurecounts_table_refused_with_fix():
    fc = _small().T
    fc.insert(0, "Chr", "chr1")
    fc.insert(1, "Strand", "+")
    with pytest.raises(InputError, match=r"2 text column\(s\): 'Chr', 'Strand'.*set_index"):
        as_counts(fc, orientation="genes x samples")


@pytest.mark.parametrize("mutate, pattern", [
    (lambda d: d.assign(gB=[1, -2, 3]),
     r"negative 1 value\(s\) in 1 sample\(s\) \('s2'\) and 1 gene\(s\) \('gB'\)"),
    (lambda d: d.assign(gC=[5, 0.5, 7]), r"non-integer .*\('s2'\).*\('gC'\).*allow_fractional=True"),
    (lambda d: d.assign(gA=[np.nan, 2, 0]), r"NaN or infinite .*\('s1'\).*\('gA'\)"),
    (lambda d: d.assign(gA=[np.inf, 2, 0]), r"NaN or infinite .*\('s1'\)"),
    (lambda d: d.set_axis(["s1", "s1", "s3"], axis=0), r"duplicated sample ID\(s\): 's1'"),
    (lambda d: d.set_axis(["gA", "gA", "gC"], axis=1), r"duplicated gene ID\(s\): 'gA'.*unique"),
    (lambda d: d.assign(gA=[0, 2, 0], gB=[0, 3, 4], gC=[0, 0, 7]),
     r"sample\(s\) with no reads \(library size 0\): 's1'; remove them"),
    (lambda d: d.assign(gB=["x", "y", "z"]), r"non-numeric column\(s\): 'gB'"),
    (lambda d: d.iloc[:, :0], r"empty"),
])
def test_as_counts_bad_input_names_culprit(mutate, pattern):
    bad = mutate(_small())
    with pytest.raises(InputError, match=pattern):
        as_counts(bad)
    # every public function validates the same way
    with pytest.raises(InputError, match=pattern):
        calc_norm_factors(bad)
    with pytest.raises(InputError, match=pattern):
        filter_by_expr(bad)
