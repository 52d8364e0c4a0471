"""associate(method="limma"): the moderated screen against limma's own pipeline and R, its
permutation max-T, and its error rate under the null (small version of
``benchmarks/validity_moderated.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics.association import associate
from radiogenomics._checks import InputError
from radiogenomics.expression.limma import ebayes, lm_fit, voom
from radiogenomics.expression.moderated import ModeratedAssociationResult
from radiogenomics.expression.normalize import calc_norm_factors, cpm

DATA = Path(__file__).parent / "data" / "expression" / "limma"


def _null_log_expression(n, q, centres, rng, sd_by_centre=None):
    rng = np.random.default_rng(rng)
    centre = pd.Series(np.repeat(centres, n // len(centres)), name="centre")
    ids = [f"S{i:03d}" for i in range(n)]
    centre.index = ids
    sd = rng.gamma(4.0, 0.25, q)  # gene-specific residual SD, as in expression data
    base = rng.normal(6, 2, q)
    shift = {c: rng.normal(0, 0.5, q) for c in centres}
    E = np.vstack([base + shift[c] + sd * rng.standard_normal(q) for c in centre])
    X = pd.DataFrame(rng.standard_normal((n, 2)), index=ids, columns=["lv_mass", "ecv"])
    return X, pd.DataFrame(E, index=ids, columns=[f"G{k}" for k in range(q)]), centre


def _design(X, centre, col):
    dummies = pd.get_dummies(centre, drop_first=True, dtype=float)
    return np.column_stack([np.ones(len(X)), dummies.to_numpy(), X[col].to_numpy()])


@pytest.mark.parametrize("trend, robust", [(False, False), (True, False), (False, True), (True, True)])
def test_log_expression_equals_lmfit_ebayes(trend, robust):
    """The screen's fast path (Frisch-Waugh-Lovell, one prior per imaging feature) equals
    lmFit + eBayes run separately for each imaging feature with design [1, centre, x]."""
    X, E, centre = _null_log_expression(30, 300, ["A", "B", "C"], 1)
    E.iloc[:, :3] += 1.5 * X[["lv_mass"]].to_numpy()  # some signal
    res = associate(X, E, centre.to_frame(), method="limma", trend=trend, robust=robust)
    assert isinstance(res, ModeratedAssociationResult)
    for col in X.columns:
        fit = ebayes(lm_fit(E, _design(X, centre, col)), trend=trend, robust=robust)
        last = fit.t.columns[-1]
        np.testing.assert_allclose(res.t.loc[col], fit.t[last], rtol=1e-9)
        np.testing.assert_allclose(res.pvalues.loc[col], fit.p_value[last], rtol=1e-9)
        np.testing.assert_allclose(res.logfc.loc[col], fit.coefficients[last], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(res.df_total.loc[col], np.broadcast_to(fit.df_total, E.shape[1]))
    assert res.n_significant >= 3
    frame = res.to_frame(top=5)
    assert {"logFC", "AveExpr", "t", "df", "p_parametric", "q"} <= set(frame.columns)
    assert frame["feature_y"].iloc[:3].tolist() == ["G0", "G1", "G2"] or frame["q"].iloc[0] < 0.05


def test_counts_use_tmm_voom_equal_to_limma_pipeline():
    """Counts: TMM factors, voom weights and eBayes per imaging feature, as the limma user guide."""
    rng = np.random.default_rng(5)
    n, q = 16, 200
    ids = [f"S{i}" for i in range(n)]
    mu = np.exp(rng.normal(4, 1.5, q))
    lib = rng.uniform(0.5, 2.0, n)
    counts = pd.DataFrame(rng.negative_binomial(5, 5 / (5 + np.outer(lib, mu))), index=ids,
                          columns=[f"g{k}" for k in range(q)])
    X = pd.DataFrame({"x": rng.standard_normal(n)}, index=ids)
    res = associate(X, counts, method="limma")
    assert res.weights == "voom" and "TMM" in res.expression
    nf = calc_norm_factors(counts)
    np.testing.assert_allclose(res.norm_factors, nf)
    design = np.column_stack([np.ones(n), X["x"]])
    v = voom(counts, design, lib_size=counts.sum(axis=1).to_numpy() * nf.to_numpy())
    fit = ebayes(lm_fit(v.E, design, weights=v.weights))
    np.testing.assert_allclose(res.t.loc["x"], fit.t.iloc[:, -1], rtol=1e-10)
    np.testing.assert_allclose(res.ave_expr, fit.amean, rtol=1e-12)
    # with permutations the statistic is limma-trend on TMM log-CPM (prior count 3)
    perm = associate(X, counts, method="limma", n_permutations=19, rng=1)
    assert perm.weights == "none" and perm.trend
    E = cpm(counts, norm_factors=nf, log=True, prior_count=3)
    fit = ebayes(lm_fit(E, design), trend=True)
    np.testing.assert_allclose(perm.t.loc["x"], fit.t.iloc[:, -1], rtol=1e-9)


def _case_a():
    read = lambda f: pd.read_csv(DATA / f, index_col=0, float_precision="round_trip")  # noqa: E731
    samples = read("A_samples.csv")
    return read("A_counts.csv.gz"), read("A_logcpm.csv.gz"), samples


@pytest.mark.parametrize("robust", [False, True])
def test_against_r_voom_toptable(robust):
    """Counts -> associate(method='limma') equals R: calcNormFactors -> voom -> lmFit -> eBayes
    -> topTable(coef = "x") (limma 3.54.1; tests/data/expression/limma/README.md), 1e-6."""
    counts, _, samples = _case_a()
    ref = pd.read_csv(DATA / f"A_voom_{'robust' if robust else 'plain'}.csv.gz", index_col=0)
    res = associate(samples[["x"]], counts, samples[["centre"]], method="limma", robust=robust)
    np.testing.assert_allclose(res.norm_factors, samples["norm.factors"], rtol=1e-10)
    for ours, col in ((res.t, "t"), (res.pvalues, "P.Value"), (res.logfc, "logFC"),
                      (res.df_total, "df.total"), (res.s2_prior, "s2.prior"), (res.df_prior, "df.prior")):
        np.testing.assert_allclose(ours.loc["x", ref.index], ref[col], rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(res.qvalues.loc["x", ref.index], ref["adj.P.Val"], rtol=1e-6)
    np.testing.assert_allclose(res.ave_expr[ref.index], ref["AveExpr"], rtol=1e-6)


@pytest.mark.parametrize("kind, trend, robust", [("plain", False, False), ("trend", True, False),
                                                 ("trend_robust", True, True)])
def test_against_r_logcpm_toptable(kind, trend, robust):
    """Log expression -> limma(-trend) equals R's lmFit(logcpm, design) -> eBayes(...)."""
    _, logcpm, samples = _case_a()
    ref = pd.read_csv(DATA / f"A_logcpm_{kind}.csv.gz", index_col=0)
    res = associate(samples[["x"]], logcpm, samples[["centre"]], method="limma", trend=trend,
                    robust=robust)
    assert res.weights == "none"
    for ours, col in ((res.t, "t"), (res.pvalues, "P.Value"), (res.logfc, "logFC"),
                      (res.s2_prior, "s2.prior"), (res.df_prior, "df.prior")):
        np.testing.assert_allclose(ours.loc["x", ref.index], ref[col], rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(res.qvalues.loc["x", ref.index], ref["adj.P.Val"], rtol=1e-6)


def test_permutation_pvalues_and_maxt():
    X, E, centre = _null_log_expression(24, 80, ["A", "B", "C"], 2)
    E.iloc[:, 0] += 3 * X["lv_mass"].to_numpy()
    cov = centre.to_frame()
    a = associate(X, E, cov, method="limma", n_permutations=199, rng=3, correction="maxT",
                  exchangeability_blocks=centre)
    b = associate(X, E, cov, method="limma", n_permutations=199, rng=3, correction="maxT",
                  exchangeability_blocks=centre)
    pd.testing.assert_frame_equal(a.p_permutation, b.p_permutation)
    assert a.permutation_scheme == "within-block"
    pp = a.p_permutation.to_numpy()
    assert pp.min() >= 1 / 200 and np.allclose(pp * 200, np.round(pp * 200))
    assert (a.p_fwer.to_numpy() >= pp - 1e-12).all()       # FWER p never below the per-pair p
    assert a.p_fwer.loc["lv_mass", "G0"] <= 0.05            # the planted gene survives max-T
    thr = a.fwer_threshold(0.05)
    sig = np.abs(a.t.to_numpy()) > thr
    np.testing.assert_array_equal(sig, a.p_fwer.to_numpy() <= 0.05)
    assert "moderated" in repr(a) and "|t~|" in a.summary()


def test_exhaustive_permutations_tiny_design():
    X, E, _ = _null_log_expression(6, 30, ["A"], 4)
    res = associate(X, E, method="limma", n_permutations=1000, rng=0)
    assert res.exhaustive_permutations and res.n_permutations == 719


def test_bad_input_messages():
    X, E, centre = _null_log_expression(12, 20, ["A", "B"], 5)
    with pytest.raises(InputError, match="declared counts"):
        associate(X, E - 10, method="limma", counts=True)
    counts = (E.abs() * 10).round()
    with pytest.raises(InputError, match="voom=False"):
        associate(X, counts, method="limma", voom=True, n_permutations=10)
    with pytest.raises(ValueError, match="method='limma' only"):
        associate(X, E, robust=True)


@pytest.mark.slow
@pytest.mark.parametrize("n", [12, 24, 60])
def test_type_one_error_per_gene(n):
    """Parametric moderated t under the null, three centres with different location and a
    gene-specific spread: the per-gene rejection rate at 0.05 lies in the 99.9% binomial
    interval (the genes of one dataset share the prior, so the interval is widened by the
    design effect measured on the datasets' own rejection counts)."""
    from scipy import stats

    rejections, total = [], 0
    for rep in range(60):
        X, E, centre = _null_log_expression(n, 200, ["A", "B", "C"], 1000 * n + rep)
        res = associate(X[["lv_mass"]], E, centre.to_frame(), method="limma", trend=True)
        rejections.append(int((res.pvalues.to_numpy() <= 0.05).sum()))
        total += res.pvalues.size
    rate = sum(rejections) / total
    per = np.array(rejections) / 200
    se = max(per.std(ddof=1) / np.sqrt(len(per)), np.sqrt(0.05 * 0.95 / total))
    assert abs(rate - 0.05) < stats.norm.ppf(0.9995) * se, (rate, se)


@pytest.mark.slow
@pytest.mark.parametrize("n", [12, 24, 60])
def test_type_one_error_maxt(n):
    """Max-T on the moderated t (within-centre Freedman-Lane, B = 99) under the null with centres
    that differ in location: the family-wise error rate over 150 datasets lies in the 99.9%
    binomial interval around 0.05 (the full version with B = 199 and 400 datasets is
    benchmarks/validity_moderated.py)."""
    from scipy import stats

    hits = 0
    n_data = 150
    for rep in range(n_data):
        X, E, centre = _null_log_expression(n, 40, ["A", "B", "C"], 5000 * n + rep)
        res = associate(X, E, centre.to_frame(), method="limma", trend=True, n_permutations=99,
                        rng=rep, exchangeability_blocks=centre, correction="maxT")
        hits += bool((res.p_fwer.to_numpy() <= 0.05).any())
    lo, hi = stats.binom.ppf([0.0005, 0.9995], n_data, 0.05)
    assert lo <= hits <= hi, (hits, lo, hi)


def test_estimated_counts():
    """Fractional (salmon / kallisto / RSEM) counts: 'auto' warns that they are taken as log
    expression; counts=True runs TMM + voom on them, as edgeR / limma accept them."""
    rng = np.random.default_rng(8)
    n, q = 14, 150
    ids = [f"S{i}" for i in range(n)]
    mu = np.exp(rng.normal(5, 1.2, q))
    est = pd.DataFrame(rng.gamma(4.0, np.outer(np.ones(n), mu) / 4.0), index=ids,
                       columns=[f"g{k}" for k in range(q)])
    X = pd.DataFrame({"x": rng.standard_normal(n)}, index=ids)
    with pytest.warns(UserWarning, match="counts=True"):
        auto = associate(X, est, method="limma")
    assert auto.weights == "none" and auto.expression == "log-expression"
    res = associate(X, est, method="limma", counts=True)
    assert res.weights == "voom" and "TMM" in res.expression
    nf = calc_norm_factors(est, allow_fractional=True)
    design = np.column_stack([np.ones(n), X["x"]])
    v = voom(est, design, lib_size=est.sum(axis=1).to_numpy() * nf.to_numpy())
    fit = ebayes(lm_fit(v.E, design, weights=v.weights))
    np.testing.assert_allclose(res.t.loc["x"], fit.t.iloc[:, -1], rtol=1e-10)
