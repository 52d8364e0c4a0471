"""voom / lm_fit / ebayes / top_table / squeeze_var against limma 3.54.1.

Every reference number comes from ``tests/data/expression/limma/make_refs.R`` (R 4.2.2,
limma 3.54.1, edgeR 3.40.2); see the README there.  Stored values have 9 significant
digits, so agreement is checked at 1e-6 relative (the code agrees to ~5e-9, the rounding).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics._checks import InputError
from radiogenomics.expression.limma import (LinearFit, ModeratedFit, VoomResult, clowess, ebayes,
                                            fit_f_dist, fit_f_dist_robustly, lm_fit, p_adjust,
                                            squeeze_var, top_table, trigamma_inverse, voom)

D = Path(__file__).parent / "data" / "expression" / "limma"
RTOL = 1e-6
ATOL = 1e-10
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def read(name, **kw):
    return pd.read_csv(D / name, **kw)


def close(actual, expected, rtol=RTOL, atol=ATOL):
    """allclose that treats matching infinities as equal and reports the worst mismatch."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    a = np.broadcast_to(a, e.shape)
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def case_a():
    counts = read("A_counts.csv.gz", index_col=0)
    samples = read("A_samples.csv", index_col=0)
    design = read("A_design.csv", index_col=0)
    lib = counts.sum(axis=1)
    v = voom(counts, design, lib_size=lib, norm_factors=samples["norm.factors"])
    fit = lm_fit(v.E, design, weights=v.weights)
    logcpm = read("A_logcpm.csv.gz", index_col=0)
    return dict(counts=counts, samples=samples, design=design, v=v, fit=fit,
                logcpm=logcpm, fit_logcpm=lm_fit(logcpm, design))


@pytest.fixture(scope="module")
def case_b():
    counts = read("B_counts.csv.gz", index_col=0)
    design = read("B_design.csv", index_col=0)
    v = voom(counts, design)
    return dict(counts=counts, design=design, v=v, fit=lm_fit(v.E, design, weights=v.weights))


@pytest.fixture(scope="module")
def na_fit(case_a):
    E = case_a["logcpm"].copy()
    for g, s in read("A_na_positions.csv").itertuples(index=False):
        E.loc[s, g] = np.nan
    return lm_fit(E, case_a["design"])


def check_moderated(eb: ModeratedFit, ref: pd.DataFrame, coef="x", lm_columns=False):
    ref = ref.set_index("gene")
    tab = eb.top_table(coef, sort_by="none")
    assert list(tab.index) == list(ref.index)
    assert list(tab.columns) == ["logFC", "AveExpr", "t", "P.Value", "adj.P.Val", "B"]
    for col in tab.columns:
        close(tab[col], ref[col])
    close(eb.s2_prior, ref["s2.prior"])
    close(eb.df_prior, ref["df.prior"])
    close(eb.s2_post, ref["s2.post"])
    close(eb.df_total, ref["df.total"])
    if lm_columns:
        close(eb.sigma, ref["sigma"])
        close(eb.df_residual, ref["df.residual"], rtol=0, atol=0)
        close(eb.stdev_unscaled[coef], ref["stdev.unscaled"])


# --------------------------------------------------------------------------- voom
def test_voom_matches_limma(case_a):
    v = case_a["v"]
    assert isinstance(v, VoomResult)
    E = read("A_voom_E.csv.gz", index_col=0)
    W = read("A_voom_weights.csv.gz", index_col=0)
    assert v.E.index.equals(E.index) and list(v.E.columns) == list(E.columns)
    close(v.E, E)
    close(v.weights, W)
    trend = read("A_voom_trend.csv.gz")
    close(v.trend_x, trend["x"])
    close(v.trend_y, trend["y"])
    lib = case_a["counts"].sum(axis=1) * case_a["samples"]["norm.factors"]
    close(v.lib_size, lib, rtol=1e-15)


def test_voom_small_n_and_default_design(case_b):
    v = case_b["v"]
    close(v.E, read("B_voom_E.csv.gz", index_col=0))
    close(v.weights, read("B_voom_weights.csv.gz", index_col=0))
    v0 = voom(case_b["counts"])           # intercept-only design
    close(v0.weights, read("B_voom0_weights.csv.gz", index_col=0))
    close(v0.design, np.ones((8, 1)), rtol=0)


def test_voom_aligns_series_by_sample(case_a):
    counts, samples = case_a["counts"], case_a["samples"]
    lib = (counts.sum(axis=1) * samples["norm.factors"]).iloc[::-1]      # shuffled order
    v = voom(counts, case_a["design"].iloc[::-1], lib_size=lib)
    close(v.weights, case_a["v"].weights, rtol=1e-12)


def test_voom_ndarray_input(case_a):
    counts = case_a["counts"]
    lib = (counts.sum(axis=1) * case_a["samples"]["norm.factors"]).to_numpy()
    v = voom(counts.to_numpy(), case_a["design"].to_numpy(), lib_size=lib)
    close(v.weights.to_numpy(), case_a["v"].weights.to_numpy(), rtol=1e-12)
    assert v.E.columns[0] == "gene1"


# --------------------------------------------------------------------------- lm_fit
def test_lm_fit_weighted_matches_limma(case_a):
    fit = case_a["fit"]
    ref = read("A_lmfit_voom.csv.gz", index_col=0)
    names = list(case_a["design"].columns)
    assert fit.coef_names == names
    close(fit.coefficients, ref[names])
    close(fit.stdev_unscaled, ref[[f"{c}.1" for c in names]])
    close(fit.sigma, ref["sigma"])
    close(fit.amean, ref["Amean"])
    assert (fit.df_residual == 24 - 4).all()


def test_unit_weights_equal_unweighted_path(case_a):
    """The batched per-gene QR (weights) and the shared QR (no weights) agree."""
    E, design = case_a["logcpm"], case_a["design"]
    a = case_a["fit_logcpm"]
    b = lm_fit(E, design, weights=np.ones(E.shape))
    c = lm_fit(E, design, weights=np.ones(E.shape[0]))            # per-sample weights
    for f in (b, c):
        close(f.coefficients, a.coefficients, rtol=1e-10, atol=1e-12)
        close(f.stdev_unscaled, a.stdev_unscaled, rtol=1e-10)
        close(f.sigma, a.sigma, rtol=1e-10)


def test_lm_fit_missing_values_as_limma(na_fit):
    check_moderated(ebayes(na_fit), read("A_na_plain.csv.gz"), lm_columns=True)
    assert np.isnan(na_fit.sigma["g252"]) and na_fit.df_residual[251] == 0


def test_zero_weights_drop_observations(case_a):
    v = case_a["v"]
    W = v.weights.copy()
    W.iloc[2, :30] = 0
    W.iloc[2:4, 30:40] = 0
    fit = lm_fit(v.E, case_a["design"], weights=W)
    check_moderated(ebayes(fit), read("A_zeroweights_plain.csv.gz"), lm_columns=True)


# --------------------------------------------------------------------------- eBayes
@pytest.mark.parametrize("name, kw", [
    ("A_voom_plain", {}),
    ("A_voom_robust", dict(robust=True)),
])
def test_ebayes_voom(case_a, name, kw):
    check_moderated(ebayes(case_a["fit"], **kw), read(f"{name}.csv.gz"))


@pytest.mark.parametrize("name, kw", [
    ("A_logcpm_plain", {}),
    ("A_logcpm_trend", dict(trend=True)),
    ("A_logcpm_trend_robust", dict(trend=True, robust=True)),
])
def test_ebayes_logcpm(case_a, name, kw):
    eb = ebayes(case_a["fit_logcpm"], **kw)
    check_moderated(eb, read(f"{name}.csv.gz"))
    assert eb.trend == bool(kw.get("trend")) and eb.robust == bool(kw.get("robust"))


def test_ebayes_options(case_a):
    eb = ebayes(case_a["fit_logcpm"], proportion=0.05, stdev_coef_lim=(0.05, 2))
    check_moderated(eb, read("A_logcpm_options.csv.gz"), coef="centreC")


def test_ebayes_trend_covariate_vector(case_a):
    fit = case_a["fit_logcpm"]
    a = ebayes(fit, trend=True)
    b = ebayes(fit, trend=fit.amean.to_numpy())
    close(b.t, a.t, rtol=1e-14)


@pytest.mark.parametrize("name, kw", [
    ("A_na_robust", dict(robust=True)),                  # gene-wise df: df1 vector branch
    ("A_na_trend_robust", dict(trend=True, robust=True)),
])
def test_ebayes_missing_values_robust(na_fit, name, kw):
    check_moderated(ebayes(na_fit, **kw), read(f"{name}.csv.gz"))


@pytest.mark.parametrize("name, kw", [
    ("B_voom_plain", {}),
    ("B_voom_robust", dict(robust=True)),
    ("B_voom_trend", dict(trend=True)),
    ("B_voom_trend_robust", dict(trend=True, robust=True)),   # infinite prior df for most genes
])
def test_ebayes_small_n(case_b, name, kw):
    check_moderated(ebayes(case_b["fit"], **kw), read(f"{name}.csv.gz"))


def test_ebayes_small_n_infinite_df_prior(case_b):
    eb = ebayes(case_b["fit"], trend=True, robust=True)
    ref = read("B_voom_trend_robust.csv.gz")
    inf = np.isinf(ref["df.prior"].to_numpy())
    assert inf.any() and (~inf).any()
    assert np.array_equal(np.isinf(eb.df_prior.to_numpy()), inf)
    # df.total is capped at the pooled residual df
    assert eb.df_total[inf].max() == pytest.approx(case_b["fit"].df_residual.sum())


# --------------------------------------------------------------------------- topTable
def test_top_table_sorted_and_truncated(case_a):
    eb = ebayes(case_a["fit_logcpm"])
    ref = read("A_logcpm_top25_B.csv").set_index("gene")
    tab = top_table(eb, "x", number=25)
    assert list(tab.index) == list(ref.index)
    close(tab, ref[tab.columns])
    ref = read("A_logcpm_top25_p_holm.csv").set_index("gene")
    tab = eb.top_table(1, number=25, sort_by="p", adjust_method="holm")   # position 1 is "x"
    assert list(tab.index) == list(ref.index)
    close(tab, ref[tab.columns])


@pytest.mark.parametrize("sort_by, column, descending", [
    ("t", "t", True), ("logFC", "logFC", True), ("AveExpr", "AveExpr", True), ("p", "P.Value", False),
])
def test_top_table_sort_orders(case_a, sort_by, column, descending):
    tab = ebayes(case_a["fit_logcpm"]).top_table("x", sort_by=sort_by)
    v = tab[column].to_numpy()
    v = np.abs(v) if column in ("t", "logFC") else v
    assert np.all(np.diff(v) <= 0) if descending else np.all(np.diff(v) >= 0)
    assert len(tab) == 300


@pytest.mark.parametrize("method", ["BH", "BY", "holm", "bonferroni"])
def test_p_adjust_matches_r(method):
    ref = read("P_adjust.csv")
    out = p_adjust(ref["p"].to_numpy(), method)
    assert np.array_equal(np.isnan(out), ref[method].isna().to_numpy())
    close(out[~np.isnan(out)], ref[method].dropna())


# --------------------------------------------------------------------------- fitFDist & co
@pytest.fixture(scope="module")
def fdist():
    inp = read("F_inputs.csv.gz")
    out = read("F_outputs.csv.gz")
    return {c: inp[c].to_numpy() for c in inp.columns}, {k: g for k, g in out.groupby("case")}


FD_CASES = {
    "fd_plain": lambda i, ok: fit_f_dist(i["s2"], i["d1"]),
    "fd_cov": lambda i, ok: fit_f_dist(i["s2"], i["d1"], covariate=i["cov"]),
    "fd_scalar_df": lambda i, ok: fit_f_dist(i["s2"][ok], 4),
    "fd_cov_scalar_df": lambda i, ok: fit_f_dist(i["s2"][ok], 4, covariate=i["cov"][ok]),
    "fd_inf": lambda i, ok: fit_f_dist(i["s2inf"], 5),
    "fd_inf_cov": lambda i, ok: fit_f_dist(i["s2inf"], 5, covariate=i["cov"]),
    "fr_plain": lambda i, ok: fit_f_dist_robustly(i["s2"][ok], i["d1"][ok]),
    "fr_cov": lambda i, ok: fit_f_dist_robustly(i["s2"][ok], i["d1"][ok], covariate=i["cov"][ok]),
    "fr_scalar_df": lambda i, ok: fit_f_dist_robustly(i["s2"][ok], 4),
    "fr_cov_scalar_df": lambda i, ok: fit_f_dist_robustly(i["s2"][ok], 4, covariate=i["cov"][ok]),
    "fr_inf": lambda i, ok: fit_f_dist_robustly(i["s2rinf"], 6),
    "fr_notok": lambda i, ok: fit_f_dist_robustly(i["s2"], i["d1"]),
    "fr_winsor": lambda i, ok: fit_f_dist_robustly(i["s2"][ok], 4, winsor_tail_p=(0.1, 0.2)),
}


@pytest.mark.parametrize("case", list(FD_CASES))
def test_fit_f_dist_matches_limma(fdist, case):
    inp, out = fdist
    ref = out[case]
    res = FD_CASES[case](inp, ~np.isnan(inp["s2"]))
    close(res[0], ref["scale"])
    close(res[1], ref["df2"].iloc[0])
    if case.startswith("fr"):
        close(res[2], ref["df2.shrunk"])


def test_fit_f_dist_infinite_df(fdist):
    inp, out = fdist
    scale, df2 = fit_f_dist(inp["s2inf"], 5)
    assert df2 == np.inf and scale == pytest.approx(np.mean(inp["s2inf"]), rel=1e-14)
    assert fit_f_dist_robustly(inp["s2rinf"], 6)[1] == np.inf


@pytest.mark.parametrize("case, kw", [
    ("sq_robust_cov", dict(robust=True, covariate="cov")),
    ("sq_inf", {}),
])
def test_squeeze_var_matches_limma(fdist, case, kw):
    inp, out = fdist
    ref = out[case]
    if case == "sq_inf":
        res = squeeze_var(inp["s2inf"], 5)
    else:
        ok = ~np.isnan(inp["s2"])
        res = squeeze_var(inp["s2"][ok], 4, robust=True, covariate=inp["cov"][ok])
    close(res.var_prior, ref["scale"])
    close(res.df_prior, ref["df2"])
    close(res.var_post, ref["df2.shrunk"])    # this column holds var.post for these cases


def test_squeeze_var_edge_cases():
    one = squeeze_var([2.0], 3)
    assert one.var_prior == 2.0 and one.df_prior == 0.0 and one.var_post[0] == 2.0
    # zero residual df: the posterior is the prior
    res = squeeze_var([1.0, 2.0, 0.5, 1.5, 9.0], [3, 3, 3, 3, 0])
    assert res.var_post[-1] == pytest.approx(res.var_prior, rel=1e-14)
    assert np.isnan(fit_f_dist([], 3)[0]) and fit_f_dist([2.0], 3) == (2.0, 0.0)
    assert all(np.isnan(fit_f_dist([1.0, 2.0], 0)))


def test_trigamma_inverse_inverts():
    from scipy.special import polygamma
    x = np.array([1e-8, 1e-3, 0.1, 1.0, 10.0, 1e5, 1e8])
    y = trigamma_inverse(x)
    mid = (x >= 1e-6) & (x <= 1e7)
    close(polygamma(1, y[mid]), x[mid], rtol=1e-12)
    assert np.isnan(trigamma_inverse(-1.0))


@pytest.mark.parametrize("col, f, it, delta", [
    ("y05", 0.5, 3, None), ("y02_iter0", 0.2, 0, None), ("y09_iter5_delta0", 0.9, 5, 0.0),
])
def test_clowess_matches_r_lowess(col, f, it, delta):
    inp, out = read("L_inputs.csv.gz"), read("L_outputs.csv.gz")
    x, y = clowess(inp["x"], inp["y"], f, it, delta)
    close(x, out["x"], rtol=0)
    close(y, out[col])


# --------------------------------------------------------------------------- bad input
def test_design_rank_deficient(case_a):
    d = case_a["design"].copy()
    d["copy_of_x"] = 2 * d["x"]
    with pytest.raises(InputError, match=r"rank deficient.*'(copy_of_x|x)'.*drop"):
        lm_fit(case_a["logcpm"], d)
    with pytest.raises(InputError, match="rank deficient"):
        voom(case_a["counts"], d)


def test_design_too_many_columns():
    rng = np.random.default_rng(0)
    E = rng.normal(size=(4, 10))
    with pytest.raises(InputError, match="no residual degrees of freedom"):
        lm_fit(E, rng.normal(size=(4, 4)))


def test_design_rows_mismatch(case_a):
    with pytest.raises(InputError, match="23 rows but the data have 24 samples"):
        lm_fit(case_a["logcpm"], case_a["design"].to_numpy()[:-1])
    d = case_a["design"].rename(index={"s01": "zz"})
    with pytest.raises(InputError, match="different sample IDs.*'s01'"):
        lm_fit(case_a["logcpm"], d)
    d = case_a["design"].copy()
    d.iloc[0, 1] = np.nan
    with pytest.raises(InputError, match="design has 1 NaN"):
        lm_fit(case_a["logcpm"], d)


def test_voom_bad_counts(case_a):
    c = case_a["counts"].astype(float)
    c.iloc[3, [5, 7]] = np.nan
    with pytest.raises(InputError, match=r"NaN in 2 gene\(s\) \('g006', 'g008'\).*drop those genes"):
        voom(c, case_a["design"])
    c = case_a["counts"].copy()
    c.iloc[0, 0] = -1
    with pytest.raises(InputError, match="negative in 1 gene.*'g001'"):
        voom(c)
    with pytest.raises(InputError, match="at least two genes"):
        voom(case_a["counts"].iloc[:, :1])
    with pytest.raises(InputError, match="lib_size has 3 values for 24 samples"):
        voom(case_a["counts"], lib_size=[1, 2, 3])
    with pytest.raises(InputError, match="norm_factors must be finite and positive"):
        voom(case_a["counts"], norm_factors=np.zeros(24))


def test_lm_fit_bad_weights_and_genes(case_a):
    E, design = case_a["logcpm"], case_a["design"]
    W = np.ones(E.shape)
    W[0, 0] = -1
    with pytest.raises(InputError, match="negative, NaN or infinite"):
        lm_fit(E, design, weights=W)
    with pytest.raises(InputError, match="weights have shape"):
        lm_fit(E, design, weights=np.ones((24, 3)))
    E2 = E.copy()
    E2.iloc[8:, 5] = np.nan       # centres B and C unobserved: their coefficients not estimable
    with pytest.raises(InputError, match=r"1 gene\(s\) \('g006'\).*drop these genes"):
        lm_fit(E2, design)
    E3 = E.copy()
    E3.iloc[0, 0] = np.inf
    with pytest.raises(InputError, match="infinite"):
        lm_fit(E3, design)


def test_ebayes_and_top_table_bad_input(case_a):
    with pytest.raises(InputError, match="LinearFit from lm_fit"):
        ebayes("not a fit")
    with pytest.raises(InputError, match="trend has 3 values for 300 genes"):
        ebayes(case_a["fit_logcpm"], trend=np.ones(3))
    eb = ebayes(case_a["fit_logcpm"])
    with pytest.raises(InputError, match="choose one with coef="):
        eb.top_table()
    with pytest.raises(InputError, match="'y' is not a coefficient.*'x'"):
        eb.top_table("y")
    with pytest.raises(InputError, match="out of range"):
        eb.top_table(7)
    with pytest.raises(InputError, match="sort_by must be"):
        eb.top_table("x", sort_by="size")
    with pytest.raises(InputError, match="adjust_method must be"):
        eb.top_table("x", adjust_method="qvalue")
    with pytest.raises(InputError, match="ModeratedFit from ebayes"):
        top_table(case_a["fit_logcpm"], "x")


def test_fdist_bad_input():
    with pytest.raises(InputError, match="var is empty"):
        squeeze_var([], 3)
    with pytest.raises(InputError, match="covariate has 1 NaN"):
        fit_f_dist([1.0, 2.0, 3.0], 3, covariate=[1.0, np.nan, 2.0])
    with pytest.raises(InputError, match="df1 has 2 values for 3"):
        fit_f_dist([1.0, 2.0, 3.0], [3, 3])
    with pytest.raises(InputError, match="covariate contains NaN or infinite"):
        fit_f_dist_robustly([1.0, 2.0, 3.0], 3, covariate=[1.0, np.inf, 2.0])
    with pytest.raises(InputError, match="mostly <= 0"):
        fit_f_dist_robustly([0.0, 0.0, 0.0, 1.0], 3)


def test_result_types(case_a):
    fit = case_a["fit"]
    assert isinstance(fit, LinearFit) and not isinstance(fit, ModeratedFit)
    eb = ebayes(fit)
    assert eb.t.shape == (300, 4) and eb.t.index.equals(fit.genes)
    assert isinstance(eb.s2_prior, float) and isinstance(eb.df_prior, float)
    rb = ebayes(fit, robust=True)
    assert isinstance(rb.df_prior, pd.Series) and rb.df_prior.index.equals(fit.genes)


def test_weights_frame_aligned_by_gene_and_voom_result(case_a):
    v, design = case_a["v"], case_a["design"]
    shuffled = v.weights[v.weights.columns[::-1]]
    fit = lm_fit(v.E, design, weights=shuffled)
    close(fit.coefficients, case_a["fit"].coefficients, rtol=1e-14)
    close(lm_fit(v, design).sigma, case_a["fit"].sigma, rtol=1e-14)
    with pytest.raises(InputError, match="different genes.*'other'"):
        lm_fit(v.E, design, weights=v.weights.rename(columns={"g001": "other"}))


def test_top_table_default_coef(case_b):
    fit = lm_fit(case_b["v"].E, case_b["design"][["(Intercept)", "x"]], weights=case_b["v"].weights)
    eb = ebayes(fit)
    assert eb.top_table().equals(eb.top_table("x"))
