"""Sparse CCA (PMD) against R's PMA 1.2.4: CCA fits, deflation, CCA.permute penalty selection.

References in tests/data/cca (see README.md there): outputs of ``PMA::CCA`` and
``PMA::CCA.permute`` on nutrimouse (40 mice, 120 genes vs 21 lipids) and on the synthetic set
syn1 (n = 40, p = 30, q = 500).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, cross_validate

from radiogenomics.cca.sparse import (
    PMA_PENALTY_GRID,
    SparseCCA,
    SparseCCAPermutationResult,
    soft_normalise,
    sparse_cca_permute,
)
from radiogenomics.resampling import PermutationScheme

DATA = Path(__file__).parent / "data" / "cca"


def _csv(name):
    return pd.read_csv(DATA / name, index_col=0)


def _ref(name):
    return json.loads((DATA / name).read_text())["outputs"]


def _mat(o):
    return np.array(o["rowmajor"], dtype=float).reshape(o["dim"])


@pytest.fixture(scope="module")
def nutrimouse():
    return _csv("nutrimouse_gene.csv"), _csv("nutrimouse_lipid.csv")


@pytest.fixture(scope="module")
def syn1():
    return _csv("syn1_n40_p30_q500_r07_X.csv"), _csv("syn1_n40_p30_q500_r07_Y.csv")


def _standardise(A):
    A = np.asarray(A, float)
    return (A - A.mean(0)) / A.std(0, ddof=1)


def _aligned(w, ref):
    """``w`` with the sign that best matches ``ref`` (the sign of a canonical pair is arbitrary)."""
    return w * (1.0 if w @ ref >= 0 else -1.0)


# ----------------------------------------------------------------------------- soft threshold

def test_soft_normalise_meets_the_l1_bound():
    rng = np.random.default_rng(1)
    a = rng.standard_normal(200)
    for c in (1.5, 4.0, 9.0):
        u = soft_normalise(a, c)
        assert np.linalg.norm(u) == pytest.approx(1.0, abs=1e-12)
        # bisection stops at width 1e-6 on delta, so the L1 norm is c up to ~1e-5
        assert np.abs(u).sum() == pytest.approx(c, abs=1e-4)
        kept = u != 0
        assert np.all(np.sign(u[kept]) == np.sign(a[kept]))
        assert np.abs(a[kept]).min() > np.abs(a[~kept]).max()   # a threshold, not a selection
    # loose bound: no thresholding, plain normalisation
    np.testing.assert_allclose(soft_normalise(a, 15.0), a / np.linalg.norm(a), atol=1e-15)
    # infeasible bound (c < 1): the bisection ends next to max|a| and keeps only the largest
    # |entry| (PMA does the same: see test_infeasible_bound_keeps_one_feature_as_pma)
    u = soft_normalise(a, 0.5)
    assert np.count_nonzero(u) == 1 and np.argmax(np.abs(u)) == np.argmax(np.abs(a))
    # a stack is the row-by-row result
    A = rng.standard_normal((5, 40))
    np.testing.assert_array_equal(soft_normalise(A, 3.0), np.vstack([soft_normalise(r, 3.0) for r in A]))


# ----------------------------------------------------------------------------- PMA::CCA parity

PARITY = [
    # file, data, penalty_x, penalty_y, max_iter, converged at max_iter
    ("R_PMA_CCA_nutrimouse_full_px0.1_pz0.3_K1.json", "nutrimouse", 0.1, 0.3, 15, True),
    ("R_PMA_CCA_nutrimouse_full_px0.1_pz0.3_K1_niter1000.json", "nutrimouse", 0.1, 0.3, 1000, True),
    ("R_PMA_CCA_syn1_px0.3_pz0.3_K1.json", "syn1", 0.3, 0.3, 15, False),
]


@pytest.mark.parametrize("fname, data, px, py, max_iter, converged", PARITY)
def test_matches_pma_cca(request, fname, data, px, py, max_iter, converged):
    X, Y = request.getfixturevalue(data)
    o = _ref(fname)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        m = SparseCCA(penalty_x=px, penalty_y=py, max_iter=max_iter).fit(X, Y)
    conv_warnings = [x for x in w if issubclass(x.category, ConvergenceWarning)]
    assert m.converged_ is converged and len(conv_warnings) == (0 if converged else 1)
    u, v = _mat(o["u"])[:, 0], _mat(o["v"])[:, 0]
    s = 1.0 if m.x_weights_[:, 0] @ u >= 0 else -1.0     # joint sign flip
    # achieved: ~1e-13 (same updates, same bisection); the tolerances leave room for BLAS
    np.testing.assert_allclose(s * m.x_weights_[:, 0], u, atol=1e-7)
    np.testing.assert_allclose(s * m.y_weights_[:, 0], v, atol=1e-7)
    np.testing.assert_allclose(m.canonical_correlations_, o["cors"]["values"], atol=1e-9)
    np.testing.assert_allclose(m.d_, o["d"]["values"], rtol=1e-9)
    assert m.n_nonzero_x_[0] == o["nonzero_u"]["values"][0]
    assert m.n_nonzero_y_[0] == o["nonzero_v"]["values"][0]
    if "v_init" in o:   # PMA's deterministic start: first right singular vector of X'Y
        vi = np.array(o["v_init"]["values"])
        np.testing.assert_allclose(_aligned(m.v_init_[:, 0], vi), vi, atol=1e-10)
    # weights are unit L2 norm on the standardised data, zero off the support
    assert np.linalg.norm(m.x_weights_[:, 0]) == pytest.approx(1.0)
    assert np.linalg.norm(m.y_weights_[:, 0]) == pytest.approx(1.0)
    assert np.abs(m.x_weights_[:, 0]).sum() <= px * np.sqrt(X.shape[1]) + 1e-4


def test_infeasible_bound_keeps_one_feature_as_pma(nutrimouse):
    """PMA's CCA.permute on nutrimouse (reference file) fits penaltyz = 0.1 and 0.167 on the
    21 lipids, L1 bounds 0.46 and 0.76 < 1 (infeasible): PMA keeps one lipid; so do we, with
    PMA's correlation (3 passes, SVD start)."""
    X, Y = nutrimouse
    o = _ref("R_PMA_CCA_permute_nutrimouse_full_seed2024_nperms100.json")
    for j in (0, 1):
        pz = o["penaltyzs"]["values"][j]
        assert pz * np.sqrt(Y.shape[1]) < 1 and o["nnonzerovs"]["values"][j] == 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m = SparseCCA(penalty_x=o["penaltyxs"]["values"][j], penalty_y=pz, max_iter=3).fit(X, Y)
        assert m.n_nonzero_y_[0] == 1 and m.n_nonzero_x_[0] == o["nnonzerous"]["values"][j]
        assert m.canonical_correlations_[0] == pytest.approx(o["cors"]["values"][j], abs=1e-8)
        a = _standardise(Y).T @ (_standardise(X) @ m.x_weights_[:, 0])     # argument of the v update
        assert np.flatnonzero(m.y_weights_[:, 0])[0] == np.argmax(np.abs(a))


def _kkt_residual(w, a, c):
    """Optimality of a PMD block update (Witten et al. 2009, Lemma 2.2), checked from scratch:
    ``w = S(a, delta) / ||S(a, delta)||_2`` with ``delta = 0`` if ``||w||_1 <= c`` else
    ``||w||_1 = c``.  On the support ``|a_i| = delta + kappa |w_i|`` (a line), off it
    ``|a_j| <= delta``; returns the largest violation relative to ``max |a|`` and the L1 norm."""
    on = w != 0
    A = np.column_stack([np.ones(on.sum()), np.abs(w[on])])
    (delta, kappa), *_ = np.linalg.lstsq(A, np.abs(a[on]), rcond=None)
    line = np.abs(A @ [delta, kappa] - np.abs(a[on])).max()
    sign = np.any(np.sign(w[on]) != np.sign(a[on]))
    off = max(0.0, (np.abs(a[~on]).max() - delta) if (~on).any() else 0.0)
    return max(line, off, float(sign)) / np.abs(a).max(), np.abs(w).sum(), delta


def test_pma_default_niter_is_not_always_converged_and_converged_matches_cca_zoo(syn1):
    """syn1, penalties 0.3 / 0.3: PMA's 15 passes (reference file, 0.8551296) stop before
    convergence; converged, the solution equals cca-zoo 2.3.11's SCCA_PMD (tol 1e-9, an
    independent implementation of the same criterion) and satisfies the KKT conditions."""
    X, Y = syn1
    pma = _ref("R_PMA_CCA_syn1_px0.3_pz0.3_K1.json")
    with pytest.warns(ConvergenceWarning, match="raise max_iter"):
        short = SparseCCA(penalty_x=0.3, penalty_y=0.3).fit(X, Y)
    assert short.n_iter_[0] == 15 and not short.converged_
    assert short.canonical_correlations_[0] == pytest.approx(pma["cors"]["values"][0], abs=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        long = SparseCCA(penalty_x=0.3, penalty_y=0.3, max_iter=1000).fit(X, Y)
    assert long.converged_ and 15 < long.n_iter_[0] < 1000
    zoo = _ref("PY2_ccazoo2_SCCA_PMD_syn1_px0.3_pz0.3_K1.json")
    u, v = _mat(zoo["u"])[:, 0], _mat(zoo["v"])[:, 0]
    u, v = u / np.linalg.norm(u), v / np.linalg.norm(v)     # cca-zoo scales to unit variance
    s = 1.0 if long.x_weights_[:, 0] @ u >= 0 else -1.0
    np.testing.assert_allclose(s * long.x_weights_[:, 0], u, atol=1e-6)    # achieved 2e-8
    np.testing.assert_allclose(s * long.y_weights_[:, 0], v, atol=1e-6)
    assert long.canonical_correlations_[0] == pytest.approx(zoo["cor_scores"]["values"][0], abs=1e-7)
    assert long.canonical_correlations_[0] > pma["cors"]["values"][0]
    assert (long.n_nonzero_x_[0], long.n_nonzero_y_[0]) == (zoo["nonzero_u"]["values"][0],
                                                            zoo["nonzero_v"]["values"][0])
    # KKT of both block updates at the converged pair (the bisection's width 1e-6 on delta
    # bounds the accuracy)
    Xs, Ys = _standardise(X), _standardise(Y)
    uu, vv = long.x_weights_[:, 0], long.y_weights_[:, 0]
    for w, a, c in ((uu, Xs.T @ (Ys @ vv), 0.3 * np.sqrt(X.shape[1])),
                    (vv, Ys.T @ (Xs @ uu), 0.3 * np.sqrt(Y.shape[1]))):
        viol, l1, delta = _kkt_residual(w, a, c)
        assert viol < 1e-5 and delta > 0 and l1 == pytest.approx(c, abs=1e-4)


# ----------------------------------------------------------------------------- K > 1

def _pma_cca_literal(X, Z, px, pz, K, niter):
    """Independent transcription of PMA::CCA (typex = typez = "standard", standardize = TRUE).

    Deflation is PMA's row-augmentation: after each component ``sqrt(d) u'`` is appended to x and
    ``-sqrt(d) v'`` to z, so that ``x'z`` loses ``d u v'``.  One vector at a time, plain NumPy.
    """
    def l2n(w):
        a = np.sqrt(np.sum(w * w))
        return a if a != 0 else 0.05

    def soft(a, d):
        return np.sign(a) * np.maximum(np.abs(a) - d, 0)

    def binary_search(a, c):
        if np.sum(np.abs(a / l2n(a))) <= c:
            return 0.0
        lo, hi = 0.0, np.max(np.abs(a)) - 1e-5
        for _ in range(149):
            mid = (lo + hi) / 2
            su = soft(a, mid)
            if np.sum(np.abs(su / l2n(su))) < c:
                hi = mid
            else:
                lo = mid
            if hi - lo < 1e-6:
                break
        return (lo + hi) / 2

    x, z = _standardise(X), _standardise(Z)
    v_init = np.linalg.svd(x.T @ z)[2][:K].T
    xres, zres = x, z
    cx, cz = px * np.sqrt(x.shape[1]), pz * np.sqrt(z.shape[1])
    us, vs, ds, cors = [], [], [], []
    for k in range(K):
        v = v_init[:, k].copy()
        vold = v + 1.0
        u = None
        for _ in range(niter):
            if np.sum(np.abs(vold - v)) > 1e-6:
                argu = (zres @ v) @ xres
                su = soft(argu, binary_search(argu, cx))
                u = su / l2n(su)
                vold = v
                argv = (xres @ u) @ zres
                sv = soft(argv, binary_search(argv, cz))
                v = sv / l2n(sv)
        d = np.sum((xres @ u) * (zres @ v))
        xres = np.vstack([xres, np.sqrt(d) * u])
        zres = np.vstack([zres, -np.sqrt(d) * v])
        us.append(u), vs.append(v), ds.append(d), cors.append(np.corrcoef(x @ u, z @ v)[0, 1])
    return np.array(us).T, np.array(vs).T, np.array(ds), np.array(cors)


def test_deflation_matches_pma_row_augmentation(nutrimouse):
    X, Y = nutrimouse
    K = 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = SparseCCA(n_components=K, penalty_x=0.3, penalty_y=0.4, max_iter=25).fit(X, Y)
        one = SparseCCA(n_components=1, penalty_x=0.3, penalty_y=0.4, max_iter=25).fit(X, Y)
    U, V, d, cors = _pma_cca_literal(X, Y, 0.3, 0.4, K, 25)
    for k in range(K):
        s = 1.0 if m.x_weights_[:, k] @ U[:, k] >= 0 else -1.0
        np.testing.assert_allclose(s * m.x_weights_[:, k], U[:, k], atol=1e-8)
        np.testing.assert_allclose(s * m.y_weights_[:, k], V[:, k], atol=1e-8)
    np.testing.assert_allclose(m.d_, d, rtol=1e-9)
    np.testing.assert_allclose(m.canonical_correlations_, cors, atol=1e-10)
    # the first component does not depend on K; later ones differ from it (PMD's criterion is
    # biconvex, so d_k need not decrease)
    np.testing.assert_array_equal(m.x_weights_[:, 0], one.x_weights_[:, 0])
    assert (m.d_ > 0).all() and abs(m.x_weights_[:, 0] @ m.x_weights_[:, 1]) < 0.9
    # d_k is the criterion on the deflated cross-product
    Xs, Ys = _standardise(X), _standardise(Y)
    M = Xs.T @ Ys - m.d_[0] * np.outer(m.x_weights_[:, 0], m.y_weights_[:, 0])
    assert m.x_weights_[:, 1] @ M @ m.y_weights_[:, 1] == pytest.approx(m.d_[1], rel=1e-10)


def _r_rnorm(seed: int, size: int) -> np.ndarray:
    """R's ``set.seed(seed); rnorm(size)`` (default Mersenne-Twister + Inversion) in numpy.

    set.seed scrambles the seed with 50 steps of the LCG ``s <- 69069 s + 1`` and fills the
    625-word state (position word + 624 MT words) with the next 625 steps; MT19937 output
    ``y`` gives ``unif_rand() = y * 2.3283064365386963e-10``, and ``norm_rand`` (Inversion)
    takes two uniforms, ``u = floor(2^27 u1) + u2``, ``qnorm(u / 2^27)`` (R's src/main/RNG.c
    and snorm.c).  Checked against the CSVs of the refdata: equal to 6e-15.
    """
    s = np.uint32(seed)
    key = np.empty(625, dtype=np.uint32)
    with np.errstate(over="ignore"):
        for _ in range(50):
            s = np.uint32(69069) * s + np.uint32(1)
        for j in range(625):
            s = np.uint32(69069) * s + np.uint32(1)
            key[j] = s
    bg = np.random.MT19937()
    bg.state = {"bit_generator": "MT19937", "state": {"key": key[1:], "pos": 624}}
    u = bg.random_raw(2 * size).astype(np.float64) * 2.3283064365386963e-10
    u = np.clip(u, 1.1641532182693481e-10, 1 - 1.1641532182693481e-10)    # R's fixup to (0, 1)
    big = 134217728.0
    return special.ndtri((np.floor(big * u[0::2]) + u[1::2]) / big)


def _pma_doc_example():
    """The data of ?PMA::CCA's example: set.seed(3189); x (100 x 500), z (100 x 1000)."""
    e = _r_rnorm(3189, 100 * 500 + 100 * 1000)
    x = e[:50_000].reshape(500, 100).T.copy()    # matrix(rnorm(...), ncol = 500): column-major
    z = e[50_000:].reshape(1000, 100).T.copy()
    x[:25, :50] += 1                             # u %*% t(v1)
    z[:25, 50:100] += 1                          # u %*% t(v2)
    return x, z


def test_k3_and_permute_match_pma_documented_example():
    """Real PMA 1.2-4 output (R_PMA_doc_example_seed3189.json): CCA(x, z, K = 3) (3 deflated
    components, PMA's default penalties 0.3 and niter 15), the deterministic parts of
    CCA.permute(nperms = 7) and the refit at the chosen penalties from its v.init."""
    o = _ref("R_PMA_doc_example_seed3189.json")
    x, z = _pma_doc_example()
    assert x[0, :3] == pytest.approx([0.15371921571790781, 2.2969106408455016,
                                      1.3836655754520788], abs=1e-14)   # R's x[1, 1:3]
    with pytest.warns(ConvergenceWarning, match=r"component\(s\) \[2, 3\]"):
        m = SparseCCA(n_components=3, penalty_x=0.3, penalty_y=0.3).fit(x, z)
    U = np.array(o["out_K3_u"]["rowmajor"]).reshape(o["out_K3_u"]["dim"])
    V = np.array(o["out_K3_v"]["rowmajor"]).reshape(o["out_K3_v"]["dim"])
    s = np.sign(np.sum(m.x_weights_ * U, axis=0))
    np.testing.assert_allclose(m.x_weights_ * s, U, atol=1e-9)       # achieved 9e-14
    np.testing.assert_allclose(m.y_weights_ * s, V, atol=1e-9)
    np.testing.assert_allclose(m.d_, o["out_K3_d"]["values"], rtol=1e-10)
    np.testing.assert_allclose(m.canonical_correlations_, o["out_K3_cors"]["values"], atol=1e-10)
    np.testing.assert_array_equal(m.n_nonzero_x_, o["out_K3_nonzero_u"]["values"])
    np.testing.assert_array_equal(m.n_nonzero_y_, o["out_K3_nonzero_v"]["values"])
    res = sparse_cca_permute(x, z, n_permutations=7, rng=0, null_init="observed")
    np.testing.assert_allclose(res.table.cor, o["perm_cors"]["values"], atol=1e-10)
    np.testing.assert_array_equal(res.table.nonzero_x, o["perm_nnonzerous"]["values"])
    np.testing.assert_array_equal(res.table.nonzero_y, o["perm_nnonzerovs"]["values"])
    assert np.all(res.table.pvalue_pma.to_numpy() == o["perm_pvals"]["values"])     # 0 everywhere in R
    px, pz = o["perm_bestpenaltyx"]["values"][0], o["perm_bestpenaltyz"]["values"][0]
    m2 = SparseCCA(penalty_x=px, penalty_y=pz, v_init=res.v_init).fit(x, z)
    assert m2.canonical_correlations_[0] == pytest.approx(o["out2_cors"]["values"][0], abs=1e-10)
    np.testing.assert_array_equal(np.flatnonzero(m2.x_weights_[:, 0]) + 1, o["out2_support_u"]["values"])
    np.testing.assert_array_equal(np.flatnonzero(m2.y_weights_[:, 0]) + 1, o["out2_support_v"]["values"])


# ----------------------------------------------------------------------------- CCA.permute

PERMUTE = [
    ("R_PMA_CCA_permute_nutrimouse_full_seed2024_nperms100.json", "nutrimouse", 100),
    ("R_PMA_CCA_permute_syn1_seed7_nperms200.json", "syn1", 200),
]


@pytest.mark.parametrize("fname, data, B_R", PERMUTE)
def test_select_penalties_matches_pma_cca_permute(request, fname, data, B_R):
    X, Y = request.getfixturevalue(data)
    o = _ref(fname)
    B = 1000
    # null_init="observed": PMA's start of the permuted fits (the default is the valid one)
    res = SparseCCA().select_penalties(X, Y, n_permutations=B, rng=11, null_init="observed")
    assert res.null_init == "observed"
    T = res.table
    assert isinstance(res, SparseCCAPermutationResult) and len(T) == 10
    np.testing.assert_allclose(T.penalty_x, o["penaltyxs"]["values"])
    np.testing.assert_allclose(T.penalty_y, o["penaltyzs"]["values"])
    # deterministic parts (niter = 3, SVD start): exact up to rounding (achieved ~1e-11)
    np.testing.assert_allclose(T.cor, o["cors"]["values"], atol=1e-8)
    np.testing.assert_array_equal(T.nonzero_x, o["nnonzerous"]["values"])
    np.testing.assert_array_equal(T.nonzero_y, o["nnonzerovs"]["values"])

    # stochastic parts: R's Mersenne-Twister permutations differ, so agree within MC error
    mR, sR = np.array(o["perm_cor_mean"]["values"]), np.array(o["perm_cor_sd"]["values"])
    se_mean = np.sqrt(sR**2 / B_R + T.null_sd**2 / B)
    assert np.all(np.abs(T.null_mean - mR) < 4.5 * se_mean)
    assert np.all(np.abs(T.null_sd / sR - 1) < 4.5 * np.sqrt(1 / (2 * B_R) + 1 / (2 * B)) + 0.05)
    # z on the Fisher scale with PMA's +0.05: delta-method MC error from our own null
    f = np.arctanh(res.null_correlations)
    s = f.std(axis=1, ddof=1)
    m4 = ((f - f.mean(axis=1, keepdims=True)) ** 4).mean(axis=1)
    var_s = (m4 - s**4) / (4 * s**2)                     # per-draw variance of the sd estimate
    se_z = np.sqrt(s**2 * (1 / B_R + 1 / B) + T.z**2 * var_s * (1 / B_R + 1 / B)) / (s + 0.05)
    zR = np.array(o["zstats"]["values"])
    assert np.all(np.abs(T.z - zR) < 4.5 * se_z + 1e-3)
    pR = np.array(o["pvals"]["values"])
    p = T.pvalue_pma.to_numpy()
    se_p = np.sqrt(np.maximum(p * (1 - p), 1 / B) * (1 / B_R + 1 / B))
    assert np.all(np.abs(p - pR) < 4.5 * se_p + 1 / B_R)
    exceed = (res.null_correlations >= T.cor.to_numpy()[:, None]).sum(axis=1)
    np.testing.assert_allclose(T.pvalue, (1 + exceed) / (1 + B))
    np.testing.assert_allclose(T.pvalue_pma, exceed / B)
    assert res.best_index == int(np.argmax(T.z))
    if data == "nutrimouse":   # z = 5.3 at (0.3, 0.3), next best 4.7: a clear choice
        assert res.best_params == pytest.approx({"penalty_x": 0.3, "penalty_y": 0.3})
        assert (T.pvalue < 0.01).all()     # PMA: 0 for every pair with 100 permutations


def test_permutation_null_is_the_refit_on_permuted_rows_within_blocks(nutrimouse):
    """Each null value equals a 3-pass fit on Y with rows permuted (PMA: from the observed start),
    and the permutations are those of the seeded within-block scheme."""
    X, Y = nutrimouse
    X = X.iloc[:, :40]
    blocks = np.repeat(["c1", "c2", "c3", "c4"], 10)
    B = 9
    res = sparse_cca_permute(X, Y, [0.2, 0.5], [0.4, 0.6], n_permutations=B,
                             exchangeability_blocks=blocks, rng=5, batch=4, null_init="observed")
    assert res.scheme == "within-block"
    perms = PermutationScheme(len(X), blocks).generate(B, np.random.default_rng(5))
    for b in range(B):
        for lab in np.unique(blocks):
            members = np.flatnonzero(blocks == lab)
            assert set(perms[b, members]) == set(members)
    Yv = Y.to_numpy()
    for j, (px, py) in enumerate([(0.2, 0.4), (0.5, 0.6)]):
        for b in (0, 4, 8):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                m = SparseCCA(penalty_x=px, penalty_y=py, max_iter=3, v_init=res.v_init)
                m.fit(X, Yv[perms[b]])
            assert res.null_correlations[j, b] == pytest.approx(m.canonical_correlations_[0], abs=1e-10)
    # default null_init="permuted": each permuted fit starts from the SVD of its own X'PY (= refit)
    res2 = sparse_cca_permute(X, Y, 0.3, 0.3, n_permutations=B, exchangeability_blocks=blocks,
                              rng=5)
    assert res2.null_init == "permuted"
    for b in (0, 7):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m = SparseCCA(penalty_x=0.3, penalty_y=0.3, max_iter=3).fit(X, Yv[perms[b]])
        assert res2.null_correlations[0, b] == pytest.approx(m.canonical_correlations_[0], abs=1e-8)


def _null_pvalues(datasets, null_init, seed=0, n=30, p=20, q=40, B=39, penalty=0.4):
    ps = np.empty(datasets)
    for i, s in enumerate(np.random.SeedSequence(seed).spawn(datasets)):
        g = np.random.default_rng(s)
        X, Y = g.standard_normal((n, p)), g.standard_normal((n, q))
        res = sparse_cca_permute(X, Y, penalty, penalty, n_permutations=B, rng=g,
                                 null_init=null_init)
        ps[i] = res.table.pvalue.iloc[0]
    return ps


def test_sparse_permutation_pvalue_type_one_error():
    """Issue 14: validity of the sparse CCA test (one fixed penalty pair) under the null.

    800 null datasets (n = 30, p = 20, q = 40, B = 39, so P(p <= k/40) = k/40 exactly for a
    valid test): the default start (``"permuted"``) keeps the rejection rates at 0.05, 0.10
    and 0.20 inside their 99% binomial intervals; PMA's (``"observed"``: every permuted fit
    starts from the observed data's SVD vector; the old default) rejects too often (about
    0.155 at 0.10).  The larger version is benchmarks/validity_sparse_cca.py (2,000 datasets
    per scenario)."""
    D = 800
    ps = _null_pvalues(D, None)
    assert np.all(ps > 0) and np.all(ps <= 1)
    for alpha in (0.05, 0.10, 0.20):
        lo, hi = stats.binom.interval(0.99, D, alpha)
        assert lo <= np.sum(ps <= alpha + 1e-12) <= hi, (alpha, np.mean(ps <= alpha))
    pma = _null_pvalues(D, "observed")
    for alpha in (0.10, 0.20):
        _, hi = stats.binom.interval(0.99, D, alpha)
        assert np.sum(pma <= alpha + 1e-12) > hi, (alpha, np.mean(pma <= alpha))


def test_null_statistic_is_the_observed_statistic_at_the_identity_permutation():
    """Why the default null is exact: the permuted-fit machinery applied to the identity
    permutation reproduces the observed statistic (so observed and permuted values are one
    function of exchangeable data); PMA's start does not (it is the observed data's vector)."""
    from radiogenomics.cca.sparse import _PMD, _standardise

    for seed in range(20):
        g = np.random.default_rng(seed)
        X, Y = g.standard_normal((40, 30)), g.standard_normal((40, 60))
        eng = _PMD(*_standardise(X, Y, True))
        ident = np.arange(40)[None]
        U, V, _, _ = eng.run(eng.permuted_svd_init(ident), 0.6 * np.sqrt(30), 0.6 * np.sqrt(60),
                             3, 1e-6, perms=ident, inv=ident)
        obs = sparse_cca_permute(X, Y, 0.6, 0.6, n_permutations=2, rng=0).table.cor.iloc[0]
        assert eng.correlations(U, V, ident)[0] == pytest.approx(obs, abs=1e-12)


def test_exchangeability_blocks_keep_centre_effects_in_the_null():
    """X and Y share only a centre shift: free permutation calls it signal, within-centre does not."""
    rng = np.random.default_rng(3)
    centre = np.repeat(["a", "b", "c"], 20)
    shift = np.repeat([-2.0, 0.0, 2.0], 20)
    X = rng.standard_normal((60, 12))
    Y = rng.standard_normal((60, 30))
    X[:, :3] += shift[:, None]
    Y[:, :4] += shift[:, None]
    free = sparse_cca_permute(X, Y, 0.4, 0.4, n_permutations=200, rng=0)
    within = sparse_cca_permute(X, Y, 0.4, 0.4, n_permutations=200, rng=0,
                                exchangeability_blocks=pd.Series(centre))
    assert free.table.pvalue.iloc[0] < 0.01
    assert within.table.pvalue.iloc[0] > 0.05
    assert within.table.null_mean.iloc[0] > free.table.null_mean.iloc[0] + 0.3


def test_select_penalties_is_reproducible_and_batch_invariant(syn1):
    X, Y = syn1
    kw = dict(penalties_x=[0.2, 0.4], penalties_y=0.3, n_permutations=40)
    a = sparse_cca_permute(X, Y, rng=2, batch=128, **kw)
    b = sparse_cca_permute(X, Y, rng=np.random.default_rng(2), batch=7, **kw)
    c = sparse_cca_permute(X, Y, rng=3, **kw)
    np.testing.assert_allclose(a.null_correlations, b.null_correlations, atol=1e-12)
    pd.testing.assert_frame_equal(a.table, b.table, atol=1e-10)
    assert not np.allclose(a.null_correlations, c.null_correlations)
    np.testing.assert_array_equal(a.table.penalty_y, [0.3, 0.3])    # scalar broadcast (as PMA)
    np.testing.assert_allclose(PMA_PENALTY_GRID, np.linspace(0.1, 0.7, 10))
    assert "best penalty_x" in a.summary() and "SparseCCAPermutationResult" in repr(a)


def test_select_penalties_refit_sets_the_chosen_penalties(nutrimouse):
    X, Y = nutrimouse
    m = SparseCCA(max_iter=200)
    res = m.select_penalties(X, Y, penalties_x=[0.1, 0.3], penalties_y=[0.1, 0.3],
                             n_permutations=30, rng=0, refit=True)
    assert m.get_params()["penalty_x"] == res.best_penalty_x
    assert m.get_params()["penalty_y"] == res.best_penalty_y
    assert hasattr(m, "x_weights_") and m.max_iter == 200


def test_first_correlation_null_equals_refits(syn1):
    """The fast null used by the permutation test equals refitting a clone on permuted rows."""
    X, Y = syn1
    est = SparseCCA(penalty_x=0.3, penalty_y=0.2, max_iter=30)
    perms = PermutationScheme(len(X)).generate(4, np.random.default_rng(0))
    fast = est._first_correlation_null(X, Y, perms)
    Yv = Y.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        slow = [clone(est).fit(X, Yv[pi]).canonical_correlations_[0] for pi in perms]
    np.testing.assert_allclose(fast, slow, atol=1e-8)


# ----------------------------------------------------------------------------- sklearn, errors

def _latent_data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    X = rng.standard_normal((n, 15))
    Y = rng.standard_normal((n, 40))
    X[:, :3] += 1.5 * z[:, None]
    Y[:, :5] += 1.5 * z[:, None]
    return X, Y


def test_sklearn_compatibility():
    X, Y = _latent_data()
    est = SparseCCA(penalty_x=0.4, penalty_y=0.3, max_iter=100)
    params = est.get_params()
    assert params == {"n_components": 1, "penalty_x": 0.4, "penalty_y": 0.3, "scale": True,
                      "max_iter": 100, "tol": 1e-6, "v_init": "svd"}
    c = clone(est)
    assert c.get_params() == params and not hasattr(c, "x_weights_")
    cv = cross_validate(est, X, Y, cv=KFold(5, shuffle=True, random_state=0))
    assert np.isfinite(cv["test_score"]).all() and cv["test_score"].mean() > 0.6
    m = est.fit(X, Y)
    # held-out score is the correlation of the first variates; in-sample it is the fitted one
    assert m.score(X, Y) == pytest.approx(m.canonical_correlations_[0], abs=1e-12)
    xs, ys = m.transform(X, Y)
    np.testing.assert_allclose(xs, m.x_scores_)
    # the support is the planted one
    assert set(np.flatnonzero(m.x_weights_[:, 0])) <= set(range(3))
    assert set(np.flatnonzero(m.y_weights_[:, 0])) <= set(range(5))


def test_dataframes_feature_names_and_sign_convention(nutrimouse):
    X, Y = nutrimouse
    a = SparseCCA(n_components=2, penalty_x=0.3, penalty_y=0.4, max_iter=300).fit(X, Y)
    assert list(a.weights_frame("x").index) == list(X.columns)
    # each pair is flipped so that its x loading of largest |value| is positive ...
    for k in range(2):
        load = a.x_loadings_[:, k]
        assert load[np.argmax(np.abs(load))] > 0
        assert a.score_correlations_[k] > 0
    # ... so the solution does not depend on the (arbitrary) sign of the start vectors
    b = SparseCCA(n_components=2, penalty_x=0.3, penalty_y=0.4, max_iter=300,
                  v_init=-a.v_init_).fit(X, Y)
    np.testing.assert_allclose(b.x_weights_, a.x_weights_, atol=1e-12)
    np.testing.assert_allclose(b.y_weights_, a.y_weights_, atol=1e-12)


@pytest.mark.parametrize("bad", [0, 0.0, -0.1, 1.5, np.nan, np.inf])
def test_bad_penalty_values(bad):
    X, Y = _latent_data(40)
    with pytest.raises(ValueError, match=r"outside \(0, 1\]"):
        SparseCCA(penalty_x=bad).fit(X, Y)
    with pytest.raises(ValueError, match="penalty_y"):
        SparseCCA(penalty_y=bad).fit(X, Y)
    with pytest.raises(ValueError, match="penalties_x"):
        sparse_cca_permute(X, Y, [0.3, bad], 0.3, n_permutations=5)


def test_bad_arguments():
    X, Y = _latent_data(40)
    with pytest.raises(TypeError, match="number"):
        SparseCCA(penalty_x="0.3").fit(X, Y)
    with pytest.raises(TypeError, match="number"):
        SparseCCA(penalty_y=True).fit(X, Y)
    with pytest.raises(ValueError, match="n_components"):
        SparseCCA(n_components=16).fit(X, Y)
    with pytest.raises(ValueError, match="max_iter"):
        SparseCCA(max_iter=0).fit(X, Y)
    with pytest.raises(ValueError, match="v_init"):
        SparseCCA(v_init=np.ones(7)).fit(X, Y)
    with pytest.raises(ValueError, match="v_init"):
        SparseCCA(v_init="random").fit(X, Y)
    with pytest.raises(ValueError, match="same length"):
        sparse_cca_permute(X, Y, [0.2, 0.3], [0.2, 0.3, 0.4], n_permutations=5)
    with pytest.raises(ValueError, match="null_init"):
        sparse_cca_permute(X, Y, 0.3, 0.3, n_permutations=5, null_init="fresh")
    with pytest.raises(ValueError, match="null_init='permuted'.*v_init='svd'"):
        sparse_cca_permute(X, Y, 0.3, 0.3, n_permutations=5, v_init=np.ones(40),
                           null_init="permuted")
    fixed = sparse_cca_permute(X, Y, 0.3, 0.3, n_permutations=5, v_init=np.ones(40), rng=0)
    assert fixed.null_init == "observed"      # a fixed start is shared by every fit: valid
    with pytest.raises(ValueError, match="n_permutations"):
        sparse_cca_permute(X, Y, 0.3, 0.3, n_permutations=1)
    with pytest.raises(ValueError, match="exchangeability_blocks must have one label per "
                                         "analysed sample \\(40\\)"):
        sparse_cca_permute(X, Y, 0.3, 0.3, n_permutations=5, exchangeability_blocks=[1, 2])


def _frames(n=40, seed=0):
    X, Y = _latent_data(n, seed)
    ids = [f"s{i:02d}" for i in range(n)]
    return (pd.DataFrame(X, index=ids, columns=[f"g{j}" for j in range(X.shape[1])]),
            pd.DataFrame(Y, index=ids, columns=[f"m{j}" for j in range(Y.shape[1])]))


@pytest.mark.parametrize("call", ["fit", "permute"])
def test_bad_inputs_name_column_sample_and_fix(call):
    """Issue 14: text, NaN/inf, duplicated IDs and misaligned indexes get the input layer's
    messages (column / sample named, fix given), as in Cohort."""
    from radiogenomics import CohortValidationError

    def run(X, Y, **kw):
        if call == "fit":
            return SparseCCA(penalty_x=0.4, penalty_y=0.3, max_iter=50).fit(X, Y)
        return sparse_cca_permute(X, Y, 0.4, 0.3, n_permutations=9, rng=0, **kw)

    X, Y = _frames()
    Xt = X.astype(object)
    Xt.loc["s03", "g1"] = "n/a"
    with pytest.raises(CohortValidationError, match=r"X has number\(s\) stored as text.*'g1'.*"
                                                    r"n/a.*pd.to_numeric"):
        run(Xt, Y)
    Yn = Y.copy()
    Yn.loc["s07", "m4"] = np.nan
    with pytest.raises(CohortValidationError, match=r"Y has 1 NaN.*'s07'.*'m4'.*impute or drop"):
        run(X, Yn)
    Xi = X.copy()
    Xi.loc["s09", "g2"] = -np.inf
    with pytest.raises(CohortValidationError, match=r"X has 0 NaN and 1 infinite.*'s09'.*'g2'"):
        run(Xi, Y)
    Yd = Y.rename(index={"s05": "s04"})
    with pytest.raises(CohortValidationError, match=r"Y has 1 duplicated sample ID.*'s04'"):
        run(X, Yd)
    Ym = Y.rename(index={"s39": "x39"})
    with pytest.raises(CohortValidationError, match=r"X and Y have different sample IDs.*'s39'.*"
                                                    r"'x39'.*Cohort.paired"):
        run(X, Ym)
    with pytest.raises(CohortValidationError, match="different numbers of samples"):
        run(X.to_numpy(), Y.to_numpy()[:39])
    # equal ID sets in another order: matched by ID
    a, b = run(X, Y), run(X, Y.iloc[::-1])
    if call == "fit":
        np.testing.assert_allclose(a.x_weights_, b.x_weights_, atol=1e-12)
    else:
        pd.testing.assert_frame_equal(a.table, b.table)
        # exchangeability blocks as a Series are aligned on X's sample IDs ...
        centre = pd.Series(np.repeat(["a", "b"], 20), index=X.index)
        r1 = run(X, Y, exchangeability_blocks=centre)
        r2 = run(X, Y, exchangeability_blocks=centre.iloc[::-1])
        np.testing.assert_array_equal(r1.null_correlations, r2.null_correlations)
        # ... and must label every sample
        with pytest.raises(CohortValidationError, match=r"exchangeability_blocks has no label for "
                                                        r"1 analysed sample.*'s39'"):
            run(X, Y, exchangeability_blocks=centre.drop("s39"))
