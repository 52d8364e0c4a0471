"""Spatial weights and global autocorrelation (Moran's I, Geary's C, Lee's L) against spdep.

References: ``tests/data/spatial/spdep/`` (produced by ``make_spdep_refs.R`` with R 4.2.2 and
spdep 1.2-7; see its README).  Parity tolerance 1e-8 relative (issue 20).
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse, stats

from radiogenomics._checks import InputError
from radiogenomics.spatial.autocorr import gearys_c, lees_l, mc_pvalue, morans_i
from radiogenomics.spatial.weights import SpatialWeights, distance_weights, knn_weights

DATA = Path(__file__).parent / "data" / "spatial" / "spdep"
TOL = 1e-8
# weights name in the reference files -> builder call
SPEC = {"knn4": ("knn", 4), "knn6": ("knn", 6), "d0_1": ("dist", 0, 1), "d1_2": ("dist", 1, 2),
        "d0_150": ("dist", 0, 150), "d0_1.5": ("dist", 0, 1.5), "d0_0.6": ("dist", 0, 0.6)}


def _csv(name):
    return pd.read_csv(DATA / name, float_precision="round_trip")


def _data(ds):
    d = _csv(f"data_{ds}.csv")
    return d[["x", "y"]].to_numpy(), d.drop(columns=["x", "y"])


def _weights(xy, wn, style="W"):
    s = SPEC[wn]
    if s[0] == "knn":
        return knn_weights(xy, s[1], style)
    return distance_weights(xy, s[2], s[1], style, allow_islands=True)


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert np.isfinite(a).all() and np.isfinite(b).all()
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


# --------------------------------------------------------------------------- weights
EDGES = _csv("weights_edges.csv")


@pytest.mark.parametrize("ds,wn", sorted(set(zip(EDGES.dataset, EDGES.weights))))
def test_neighbours_equal_spdep(ds, wn):
    """knearneigh/knn2nb (ties on the square and hex grids) and dnearneigh (band edges)."""
    xy, _ = _data(ds)
    w = _weights(xy, wn, "B")
    coo = w.matrix.tocoo()
    ref = EDGES[(EDGES.dataset == ds) & (EDGES.weights == wn)]
    assert set(zip(coo.row.tolist(), coo.col.tolist())) == set(zip(ref.i, ref.j))
    assert np.all(w.matrix.data == 1.0)
    card = np.bincount(ref.i, minlength=len(xy))
    np.testing.assert_array_equal(w.islands, np.flatnonzero(card == 0))
    wW = w.restyle("W")
    np.testing.assert_allclose(np.asarray(wW.matrix.sum(axis=1)).ravel(), (card > 0) * 1.0)


def test_distance_bounds_and_islands():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [10.0, 0.0]])
    w = distance_weights(xy, 2.0, 1.0, "B", allow_islands=True)  # 1 <= d <= 2: 0-1, 1-2
    assert sorted(zip(*w.matrix.nonzero())) == [(0, 1), (1, 0), (1, 2), (2, 1)]
    w = distance_weights(xy, 2.0, 1.0, "B", bounds=("GT", "LE"), allow_islands=True)
    assert sorted(zip(*w.matrix.nonzero())) == [(1, 2), (2, 1)]
    np.testing.assert_array_equal(w.islands, [0, 3])
    with pytest.raises(InputError, match="allow_islands=True"):
        distance_weights(xy, 2.0)
    with pytest.raises(InputError, match="smaller k"):
        knn_weights(xy, 4)


def test_sections_block_diagonal():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 10, (300, 2))
    sec = np.repeat(["A", "B", "C"], 100)
    rng.shuffle(sec)  # sections interleaved in spot order and overlapping in space
    for w in (knn_weights(xy, 6, sections=sec), distance_weights(xy, 1.5, sections=sec,
                                                                  allow_islands=True)):
        r, c = w.matrix.nonzero()
        assert len(r) > 0 and np.all(sec[r] == sec[c])
        for s in "ABC":
            idx = np.flatnonzero(sec == s)
            alone = (knn_weights(xy[idx], 6) if w.kind == "knn"
                     else distance_weights(xy[idx], 1.5, allow_islands=True))
            assert (w.matrix[idx][:, idx] != alone.matrix).nnz == 0
    small = knn_weights(xy[:20], 2, sections=["a"] * 19 + ["b"], allow_islands=True)
    np.testing.assert_array_equal(small.islands, [19])
    with pytest.raises(InputError, match="section 'b'"):
        knn_weights(xy[:20], 2, sections=["a"] * 19 + ["b"])


def test_knn_scales():
    xy = np.random.default_rng(0).uniform(0, 150, (25_000, 2))
    t0 = time.perf_counter()
    w = knn_weights(xy, 6)
    assert time.perf_counter() - t0 < 5.0
    assert w.matrix.nnz == 6 * 25_000
    # brute force on a subset: the same k nearest (no ties in continuous coordinates)
    d = np.hypot(*(xy[:50, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    d[np.arange(50), np.arange(50)] = np.inf
    np.testing.assert_array_equal(np.sort(np.argsort(d, axis=1)[:, :6], axis=1),
                                  w.matrix[:50].indices.reshape(50, 6))


# --------------------------------------------------------------------------- parity
TESTS = _csv("moran_geary_tests.csv")
LEE = _csv("lee.csv")


@pytest.mark.parametrize("ds,wn", sorted(set(zip(TESTS.dataset, TESTS.weights))))
def test_moran_geary_lee_equal_spdep(ds, wn):
    """moran.test / geary.test (randomisation TRUE/FALSE, 3 alternatives) and lee, styles W/B/C."""
    xy, X = _data(ds)
    for style in ("W", "B", "C"):
        w = _weights(xy, wn, style)
        ref = TESTS[(TESTS.dataset == ds) & (TESTS.weights == wn) & (TESTS["style"] == style)]
        for (test, alt), tt in ref.groupby(["test", "alternative"]):
            fn, stat = (morans_i, "I") if test == "moran" else (gearys_c, "C")
            res = fn(X, w, alternative=alt).to_frame()
            for rnd, suf in ((True, "randomisation"), (False, "normality")):
                q = tt[tt.randomisation == rnd].set_index("variable").loc[res.index]
                for ours, theirs in ((stat, "statistic"), ("expectation", "expectation"),
                                     (f"variance_{suf}", "variance"), (f"z_{suf}", "z"),
                                     (f"p_{suf}", "p")):
                    assert _rel(res[ours], q[theirs]) < TOL, (style, test, alt, suf, ours)
        lee = lees_l(X["smooth1"], X, w).to_frame()["L"]
        q = LEE[(LEE.dataset == ds) & (LEE.weights == wn) & (LEE["style"] == style)]
        assert _rel(lee, q.set_index("y").loc[lee.index, "L"]) < TOL


LEE_TEST = _csv("lee_test.csv")


@pytest.mark.parametrize("ds,wn", sorted(set(zip(LEE_TEST.dataset, LEE_TEST.weights))))
def test_lee_test_equal_spdep(ds, wn):
    """lee.test (x = smooth1 and noise2, every y, styles W/B/C, 3 alternatives; islands in
    irregular d0_0.6): L, expectation, variance, z and p to 1e-8 relative."""
    xy, X = _data(ds)
    for style in ("W", "B", "C"):
        w = _weights(xy, wn, style)
        ref = LEE_TEST[(LEE_TEST.dataset == ds) & (LEE_TEST.weights == wn)
                       & (LEE_TEST["style"] == style)]
        for (xv, alt), q in ref.groupby(["x", "alternative"]):
            res = lees_l(X[xv], X, w, alternative=alt).to_frame()
            q = q.set_index("y").loc[res.index]
            for col in ("L", "expectation", "variance", "z", "p"):
                assert _rel(res[col], q[col]) < TOL, (style, xv, alt, col)


def test_lee_moments_equal_full_enumeration():
    """E[L] and the exact variance equal the moments over all n! permutations; spdep's
    variance (its symmetric-Q formula) is larger."""
    rng = np.random.default_rng(0)
    for n, k, style in ((6, 2, "W"), (7, 3, "B"), (7, 2, "C")):
        xy = rng.uniform(0, 1, (n, 2))
        w = knn_weights(xy, k, style)
        x = rng.normal(size=n)
        Y = np.column_stack([0.6 * x + rng.normal(size=n), rng.exponential(size=n)])
        perms = np.array(list(itertools.permutations(range(n))))
        # L of every permuted pair from its definition (Lee 2001), all permutations at once
        Wd = w.matrix.toarray()
        zx, Z = x - x.mean(), Y - Y.mean(axis=0)
        lzx = zx[perms] @ Wd.T  # (n!, n)
        Ls = np.stack([n / (Wd.sum(axis=1) ** 2).sum() * np.sum(lzx * (Z[perms, g] @ Wd.T), axis=1)
                       / np.sqrt((zx @ zx) * (Z[:, g] @ Z[:, g])) for g in range(2)], axis=1)
        for i in (0, 1, len(perms) - 1):
            np.testing.assert_allclose(lees_l(x[perms[i]], Y[perms[i]], w).values, Ls[i],
                                       rtol=1e-12)
        t = lees_l(x, Y, w).to_frame()
        np.testing.assert_allclose(t.expectation, Ls.mean(axis=0), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(t.variance_exact, Ls.var(axis=0), rtol=1e-10)
        assert np.all(t.variance > 1.2 * t.variance_exact)


def test_lee_analytic_vectorised_and_type_one_error():
    """Columns are independent of each other and of ``batch``; under independent iid x and
    y, p_exact holds its level and spdep's p is conservative."""
    xy, X = _data("hex")
    w = _weights(xy, "knn6")
    a = lees_l(X["noise2"], X, w, alternative="two.sided", batch=2).to_frame()
    for j, v in enumerate(X.columns):
        b = lees_l(X["noise2"], X[[v]], w, alternative="two.sided").to_frame()
        pd.testing.assert_frame_equal(a.iloc[[j]], b, rtol=1e-12)
    rng = np.random.default_rng(7)
    n_x, G = 60, 50  # 60 independent x maps, 50 y each: 3000 tests
    p = {"p": [], "p_exact": []}
    for _ in range(n_x):
        t = lees_l(rng.standard_t(5, len(xy)), rng.standard_t(5, (len(xy), G)), w,
                   alternative="two.sided").to_frame()
        for c in p:
            p[c].append(t[c].to_numpy())
    rate = {c: np.mean(np.concatenate(v) <= 0.05) for c, v in p.items()}
    lo, hi = stats.binom.ppf([0.0005, 0.9995], n_x * G, 0.05) / (n_x * G)
    assert lo <= rate["p_exact"] <= hi, rate
    assert rate["p"] < lo, rate  # spdep lee.test: conservative (its variance is too large)


MC = _csv("mc_tests.csv")
MC_RES = _csv("mc_res.csv")


def test_mc_pvalue_rule_equals_spdep_on_its_own_null():
    """moran.mc / geary.mc / lee.mc p-values recomputed from R's nsim + 1 statistics."""
    for _, r in MC.iterrows():
        res = MC_RES["|".join([r.dataset, r.weights, r["style"], r.test, r.variable])].to_numpy()
        assert res[-1] == r.statistic
        p = mc_pvalue(res[:-1], res[-1], r.alternative, "spdep",
                      "lower" if r.test == "geary" else "upper")
        assert abs(p[0] - r.p) < 1e-14, r.key
    # the standard rule on a known null: 3 of 9 null values >= 5
    null = np.array([1.0, 2, 3, 4, 5, 6, 7, 0, -1])
    assert mc_pvalue(null, 5.0)[0] == pytest.approx(4 / 10)
    assert mc_pvalue(null, 5.0, "less")[0] == pytest.approx(8 / 10)
    assert mc_pvalue(null, 5.0, "two.sided")[0] == pytest.approx(8 / 10)
    assert mc_pvalue(null, 5.0, method="spdep")[0] == pytest.approx(2.5 / 10)  # spdep, no +1


@pytest.mark.parametrize("ds,wn", [("grid", "knn6"), ("hex", "d0_150")])
def test_permutation_tests_agree_with_spdep_mc(ds, wn):
    """Observed statistics equal R's; our permutation p within Monte-Carlo error of R's."""
    xy, X = _data(ds)
    X = X[["smooth1", "noise1", "noise2"]]
    w = _weights(xy, wn)
    ref = MC[(MC.dataset == ds) & (MC.weights == wn)]
    B = 999
    for alt in ("greater", "less", "two.sided"):
        out = {"moran": morans_i(X, w, alternative=alt, n_permutations=B, rng=11,
                                 pvalue_method="spdep"),
               "geary": gearys_c(X, w, alternative=alt, n_permutations=B, rng=12,
                                 pvalue_method="spdep"),
               "lee": lees_l(_data(ds)[1]["noise2"], X, w, alternative=alt, n_permutations=B,
                             rng=13, pvalue_method="spdep")}
        for test, res in out.items():
            t = res.to_frame()
            q = ref[(ref.test == test) & (ref.alternative == alt)].set_index("variable").loc[t.index]
            assert _rel(t[res.statistic], q.statistic) < TOL
            p = q.p.to_numpy()
            if alt == "two.sided":  # sd of the difference of two two-sided MC p-values
                sd = 2 * np.sqrt(2 * (p / 2) * (1 - p / 2) / B)
            else:
                sd = np.sqrt(2 * p * (1 - p) / B)
            assert np.all(np.abs(t.p_permutation - p) <= 4.5 * sd + 3 / (B + 1)), (test, alt)


# --------------------------------------------------------------------------- properties
def test_invariant_to_spot_order():
    for ds, wn in (("irregular", "knn6"), ("grid", "d1_2"), ("hex", "d0_150")):
        xy, X = _data(ds)
        perm = np.random.default_rng(1).permutation(len(xy))
        a = [f(X, _weights(xy, wn)).values for f in (morans_i, gearys_c)]
        b = [f(X.iloc[perm], _weights(xy[perm], wn)).values for f in (morans_i, gearys_c)]
        for u, v in zip(a, b):
            assert _rel(u, v) < 1e-10
        la = lees_l(X["smooth1"], X, _weights(xy, wn)).values
        lb = lees_l(X["smooth1"].iloc[perm], X.iloc[perm], _weights(xy[perm], wn)).values
        assert _rel(la, lb) < 1e-10


def test_alignment_by_spot_id_and_seeds():
    xy, X = _data("irregular")
    ids = [f"spot{i}" for i in range(len(xy))]
    w = knn_weights(pd.DataFrame(xy, index=ids), 6)
    Xi = X.set_axis(ids)
    shuffled = Xi.sample(frac=1.0, random_state=0)
    a = morans_i(Xi, w, n_permutations=99, rng=7).to_frame()
    b = morans_i(shuffled, w, n_permutations=99, rng=7).to_frame()
    pd.testing.assert_frame_equal(a, b)
    c = morans_i(Xi, w, n_permutations=99, rng=8).to_frame()
    assert not np.array_equal(a.p_permutation, c.p_permutation)
    with pytest.raises(InputError, match="differ"):
        morans_i(Xi.iloc[1:], w)


def test_null_distribution_matches_single_column_runs():
    """Columns share one permutation set: the null of a column does not depend on the others."""
    xy, X = _data("hex")
    w = _weights(xy, "knn6")
    full = morans_i(X, w, n_permutations=50, rng=4, return_null=True)
    one = morans_i(X[["noise1"]], w, n_permutations=50, rng=4, return_null=True)
    j = list(X.columns).index("noise1")
    np.testing.assert_allclose(full.null_distribution[:, j], one.null_distribution[:, 0], rtol=1e-12)
    # and the null is made of Moran's I of permuted data
    g = np.random.default_rng(4)
    p0 = g.permutation(len(xy))
    assert full.null_distribution[0, j] == pytest.approx(
        morans_i(X["noise1"].to_numpy()[p0], w).values.iloc[0], rel=1e-12)
    lee = lees_l(X["smooth1"], X, w, n_permutations=20, rng=4, return_null=True, local=True)
    assert lee.null_distribution[0, j] == pytest.approx(
        lees_l(X["smooth1"].to_numpy()[p0], X.to_numpy()[p0], w).values.iloc[j], rel=1e-10)
    # spdep: L = sum_i L_i / sum_i w_i.^2
    s2 = float((np.asarray(w.matrix.sum(axis=1)).ravel() ** 2).sum())
    np.testing.assert_allclose(lee.local.sum(axis=0) / s2, lee.values, rtol=1e-10)


def test_type_one_error_iid_noise():
    """Moran analytic (randomisation) and permutation p-values hold 5% under iid noise."""
    xy, _ = _data("hex")
    w = _weights(xy, "knn6")
    rng = np.random.default_rng(2024)
    G = 3000
    X = rng.standard_t(df=5, size=(len(xy), G))
    lo, hi = stats.binom.ppf([0.0005, 0.9995], G, 0.05) / G
    res = morans_i(X, w, alternative="two.sided").to_frame()
    for col in ("p_randomisation", "p_normality"):
        assert lo <= np.mean(res[col] <= 0.05) <= hi, col
    G2, B = 400, 199
    perm = morans_i(X[:, :G2], w, n_permutations=B, rng=5).to_frame()
    lo2, hi2 = stats.binom.ppf([0.0005, 0.9995], G2, 0.05) / G2
    assert lo2 <= np.mean(perm.p_permutation <= 0.05) <= hi2
    geary = gearys_c(X[:, :G2], w, n_permutations=B, rng=6).to_frame()
    assert lo2 <= np.mean(geary.p_permutation <= 0.05) <= hi2


# --------------------------------------------------------------------------- errors
def test_errors_and_degenerate_input():
    xy, X = _data("irregular")
    w = _weights(xy, "knn6")
    bad = X.copy()
    bad.iloc[3, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        morans_i(bad, w)
    with pytest.raises(InputError, match="spots but the weights"):
        gearys_c(X.to_numpy()[:-1], w)
    Xc = X.assign(flat=2.5)
    res = morans_i(Xc, w).to_frame()
    assert np.isnan(res.loc["flat", "I"]) and "constant" in res.loc["flat", "note"]
    assert np.isfinite(res.drop(index="flat")["I"]).all()
    assert "constant" in gearys_c(Xc, w, n_permutations=9, rng=0).to_frame().loc["flat", "note"]
    assert np.isnan(lees_l(X["smooth1"], Xc, w).to_frame().loc["flat", "L"])
    with pytest.raises(InputError, match="x is constant"):
        lees_l(np.ones(len(xy)), X, w)
    tiny = knn_weights(xy[:3], 1)
    with pytest.raises(InputError, match="at least 4"):
        morans_i(X.to_numpy()[:3], tiny)
    with pytest.raises(InputError, match="alternative"):
        morans_i(X, w, alternative="bigger")
    with pytest.raises(InputError, match="SpatialWeights"):
        morans_i(X, sparse.eye(len(xy)))
    with pytest.raises(InputError, match=r"shape \(n, 2\)"):
        knn_weights(np.zeros((5, 3)), 2)
    r = repr(morans_i(X, w, n_permutations=9, rng=0))
    assert "Moran's I" in r and "knn(k=6)" in r
    assert isinstance(w, SpatialWeights) and "islands=0" in repr(w)
