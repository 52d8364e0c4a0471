"""Spatially constrained null models (radiogenomics.spatial.nulls).

Parity references (tests/data/spatial/nulls/, produced by make_reference.py there): BrainSpace
0.3.0 ``moran_randomization`` / ``compute_mem`` and brainsmash 0.11.0 ``mapgen.Base``, with
their random draws recorded and injected here.  Tolerance: 1e-8 relative (plus 1e-10 absolute
for values near 0) unless stated.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import cdist

from radiogenomics._checks import InputError
from radiogenomics.spatial.nulls import (
    MoranEigenmaps, SpatialSurrogates, _msr_from_draws, _variogram_from_draws, moran_eigenmaps,
    msr_surrogates, smoothed_variogram, spin_permutations, torus_shifts, variogram_surrogates)

DATA = os.path.join(os.path.dirname(__file__), "data", "spatial", "nulls")


def _csv(name):
    return pd.read_csv(os.path.join(DATA, name), float_precision="round_trip")


def _moran(z, W):
    """Moran's I = n / S0 * z'Wz / z'z (z centred), W dense."""
    z = z - z.mean()
    return z.size / W.sum() * (z @ W @ z) / (z @ z)


def _knn_binary(P, k=5):
    n = len(P)
    nbr = np.argsort(cdist(P, P), axis=1)[:, 1:k + 1]
    W = np.zeros((n, n))
    W[np.arange(n)[:, None], nbr] = 1.0
    return W


def _rook(R, C, periodic=False):
    r, c = np.divmod(np.arange(R * C), C)
    dr, dc = np.abs(r[:, None] - r), np.abs(c[:, None] - c)
    if periodic:
        dr, dc = np.minimum(dr, R - dr), np.minimum(dc, C - dc)
    return np.column_stack([r, c]), ((dr + dc) == 1).astype(float)


def _hex(R, C):
    """Visium-like hexagonal lattice (row + col even) and its periodic neighbour matrix."""
    r, c = np.divmod(np.arange(R * C), C)
    keep = (r + c) % 2 == 0
    r, c = r[keep], c[keep]
    dr, dc = np.abs(r[:, None] - r), np.abs(c[:, None] - c)
    dr, dc = np.minimum(dr, R - dr), np.minimum(dc, C - dc)
    W = (((dr == 0) & (dc == 2)) | ((dr == 1) & (dc == 1))).astype(float)
    return np.column_stack([r, c]), W


# ----------------------------------------------------------------------- parity: BrainSpace
MSR_CASES = [("singleton", True), ("singleton", False), ("pair", True), ("pair", False)]


@pytest.mark.parametrize("procedure,joint", MSR_CASES)
def test_msr_matches_brainspace(procedure, joint):
    X = _csv("msr_data.csv")[["x0", "x1"]].to_numpy()
    mem = _csv("msr_mem.csv").to_numpy()
    n, k = mem.shape
    tag = f"{procedure}_{'joint' if joint else 'separate'}"
    ref = _csv(f"msr_{tag}_surrogates.csv")
    B, nc = ref.rep.max() + 1, 1 if joint else 2
    if procedure == "singleton":
        draws = {"signs": _csv(f"msr_{tag}_draws.csv").value.to_numpy().reshape(B, k, nc)}
    else:
        draws = {"perms": _csv(f"msr_{tag}_perms.csv").to_numpy(),
                 "odd_signs": _csv(f"msr_{tag}_oddsigns.csv").value.to_numpy().reshape(B, nc),
                 "phis": _csv(f"msr_{tag}_phis.csv").value.to_numpy().reshape(B, k // 2, nc)}
    out = _msr_from_draws(X, mem, procedure, joint, **draws)
    np.testing.assert_allclose(out, ref.value.to_numpy().reshape(B, n, 2), rtol=1e-8, atol=1e-10)


def test_moran_eigenmaps_match_brainspace():
    w = _csv("msr_weights.csv")
    n = 60
    W = sp.csr_matrix((w.w, (w.i, w.j)), shape=(n, n))  # 5-NN binary: not symmetric
    maps = moran_eigenmaps(W)
    ref_ev = _csv("msr_eigenvalues.csv").eigenvalue.to_numpy()
    ref_mem = _csv("msr_mem.csv").to_numpy()
    assert maps.symmetrised and maps.n_zero == 1 and maps.vectors.shape == (n, n - 1)
    # BrainSpace decomposes in float32: eigenvalues agree to float32 precision
    np.testing.assert_allclose(maps.values, ref_ev, atol=1e-5)
    # eigenvectors agree up to sign / rotation within (exactly) degenerate eigenspaces
    G = maps.vectors.T @ ref_mem
    for j in range(n - 1):
        same = np.abs(maps.values - maps.values[j]) < 1e-6
        assert abs(np.linalg.norm(G[same, j]) - 1) < 1e-6
    # dense input, SpatialWeights-like input (.matrix) give the same
    class _SW:
        matrix = W
    for other in (W.toarray(), _SW()):
        np.testing.assert_allclose(moran_eigenmaps(other).values, maps.values, atol=1e-12)


# ------------------------------------------------------------------------ parity: brainsmash
VARIO_CASES = {
    "default": {},
    "gauss_resample": dict(kernel="gaussian", resample=True, deltas=np.array([0.1, 0.3, 0.5]),
                           pv=40, nh=20),
}


@pytest.mark.parametrize("tag", sorted(VARIO_CASES))
def test_variogram_matches_brainsmash(tag):
    dat = _csv("vario_data.csv")
    P, x = dat[["x", "y"]].to_numpy(), dat.value.to_numpy()
    kw = dict(VARIO_CASES[tag])
    kw.setdefault("deltas", np.linspace(0.1, 0.9, 9))
    perms = _csv(f"vario_{tag}_perms.csv").to_numpy()
    noise = _csv(f"vario_{tag}_noise.csv").to_numpy()
    out, diag, vg, target = _variogram_from_draws(x, cdist(P, P), perms, noise, **kw)
    np.testing.assert_allclose(out, _csv(f"vario_{tag}_surrogates.csv").to_numpy(),
                               rtol=1e-8, atol=1e-10)
    ref_t = _csv(f"vario_{tag}_target.csv")
    np.testing.assert_allclose(vg.h, ref_t.h, rtol=1e-12)
    np.testing.assert_allclose(target, ref_t.gamma, rtol=1e-12)
    h, gamma = smoothed_variogram(x, P, pv=kw.get("pv", 25), nh=kw.get("nh", 25))
    np.testing.assert_allclose(gamma, ref_t.gamma, rtol=1e-12)
    assert set(diag.delta) <= set(kw["deltas"])
    # blocking over pairs and maps does not change the variograms
    full = vg(out.T)
    vg.chunk, vg.max_elems = 50, 3 * out.shape[0]
    np.testing.assert_allclose(vg(out.T), full, rtol=1e-12)


# ---------------------------------------------------------------------------------- torus
@pytest.mark.parametrize("lattice", ["square", "hex"])
def test_torus_shifts_are_lattice_automorphisms(lattice):
    grid, W = _rook(8, 12, periodic=True) if lattice == "square" else _hex(8, 12)
    n = len(grid)
    res = torus_shifts(grid + 3, n_surrogates=20, rng=1, wrap="periodic")  # offsets normalised
    assert isinstance(res, SpatialSurrogates) and res.indices.shape == (20, n)
    assert np.array_equal(np.sort(res.indices, axis=1), np.tile(np.arange(n), (20, 1)))
    x = np.random.default_rng(0).standard_normal(n) + grid[:, 0] / 3
    i0 = _moran(x, W)
    for idx in res.indices:
        assert np.array_equal(W[np.ix_(idx, idx)], W)  # neighbours stay neighbours
        assert abs(_moran(x[idx], W) - i0) < 1e-12
    sh = res.to_frame()
    assert not ((sh.shift_row == 0) & (sh.shift_col == 0)).any()
    assert not sh.duplicated().any()
    if lattice == "hex":
        assert ((sh.shift_row + sh.shift_col) % 2 == 0).all()
    assert np.array_equal(res.apply(x), x[res.indices])


@pytest.mark.parametrize("lattice,count", [("square", 8 * 12 - 1), ("hex", 8 * 12 // 2 - 1)])
def test_torus_shifts_exhaustive(lattice, count):
    grid = _rook(8, 12)[0] if lattice == "square" else _hex(8, 12)[0]
    res = torus_shifts(grid, n_surrogates=5000, rng=3, wrap="periodic")
    assert res.exhaustive and res.n_surrogates == count and res.n_requested == 5000
    assert not res.to_frame().duplicated().any()
    assert res.params["n_distinct_shifts"] == count
    fixed = torus_shifts(grid, n_surrogates=300, rng=3, exhaustive=False, wrap="periodic")
    assert fixed.indices.shape == (300, len(grid)) and not fixed.exhaustive and fixed.notes
    assert fixed.to_frame().drop_duplicates().shape[0] <= count


def test_torus_shifts_refuses_incomplete_lattices():
    grid = _rook(8, 12)[0]
    with pytest.raises(InputError, match="spin_permutations.*msr.*variogram"):
        torus_shifts(grid[1:], 10, rng=0)  # one spot missing
    odd = np.array([(r, c) for r in range(7) for c in range(12) if (r + c) % 2 == 0])
    with pytest.raises(InputError, match="even number"):
        torus_shifts(odd, 10, rng=0, wrap="periodic")  # a full hexagonal lattice with 7 rows
    assert torus_shifts(odd, 10, rng=0).indices.min() >= 0   # reflect: any side
    with pytest.raises(InputError, match="wrap"):
        torus_shifts(grid, 10, rng=0, wrap="mirror")
    with pytest.raises(InputError, match="integer"):
        torus_shifts(grid + 0.5, 10, rng=0)
    with pytest.raises(InputError, match="repeated"):
        torus_shifts(np.vstack([grid, grid[:1]]), 10, rng=0)


def test_torus_type_one_error_is_nominal():
    """Independent periodic smooth fields: torus test rejects at ~5%, free permutation far more."""
    rng = np.random.default_rng(42)
    R = C = 16
    grid = _rook(R, C)[0]
    f = np.fft.fftfreq(R)
    kernel = np.exp(-(f[:, None] ** 2 + f[None, :] ** 2) / (2 * 0.05 ** 2))

    def field():
        return np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((R, C))) * kernel)).ravel()

    idx = torus_shifts(grid, 10_000, rng=1, wrap="periodic").indices  # all 255 shifts
    n_rep, rej_torus, rej_perm = 300, 0, 0
    for _ in range(n_rep):
        x, y = field(), field()
        x, y = (x - x.mean()) / x.std(), (y - y.mean()) / y.std()
        r0 = abs(x @ y)
        rej_torus += (1 + np.sum(np.abs(x[idx] @ y) >= r0)) / (1 + len(idx)) <= 0.05
        perm = np.argsort(rng.random((199, x.size)), axis=1)
        rej_perm += (1 + np.sum(np.abs(x[perm] @ y) >= r0)) / 200 <= 0.05
    # 99.9% binomial band for 300 draws at 0.05: [0.019, 0.097]
    print("torus rejection rate", rej_torus / n_rep, "free permutation", rej_perm / n_rep)
    assert 0.019 <= rej_torus / n_rep <= 0.097
    assert rej_perm / n_rep > 0.2


@pytest.mark.parametrize("lattice", ["square", "hex"])
def test_torus_reflect_shifts_keep_the_lattice_and_the_smoothness(lattice):
    """wrap="reflect": each surrogate value comes from the position the mirrored, periodic
    extension puts there (checked by building that extension explicitly), shifts are all
    distinct and non-identity (2(R-1) x 2(C-1), halved on the hex lattice), and for a
    non-periodic smooth map the surrogates keep its Moran's I far better than the periodic
    wrap, whose seam roughens them."""
    R, C = 8, 12
    grid, W = _rook(R, C) if lattice == "square" else _hex(R, C)
    if lattice == "hex":  # open (non-periodic) neighbours: the window's own smoothness
        dr, dc = np.abs(grid[:, None, 0] - grid[:, 0]), np.abs(grid[:, None, 1] - grid[:, 1])
        W = (((dr == 0) & (dc == 2)) | ((dr == 1) & (dc == 1))).astype(float)
    res = torus_shifts(grid, n_surrogates=10_000, rng=0)
    count = 4 * (R - 1) * (C - 1) // (2 if lattice == "hex" else 1) - 1
    assert res.exhaustive and res.n_surrogates == count and res.params["wrap"] == "reflect"
    sh = res.to_frame()
    assert not sh.duplicated().any() and not ((sh.shift_row == 0) & (sh.shift_col == 0)).any()
    # explicit mirrored extension: value at (r, c) -> ext[r + dr, c + dc]
    pos = {tuple(g): i for i, g in enumerate(grid)}
    rr = np.r_[np.arange(R), np.arange(R - 2, 0, -1)]
    cc = np.r_[np.arange(C), np.arange(C - 2, 0, -1)]
    for b in range(0, count, 37):
        dr, dc = sh.shift_row.iat[b], sh.shift_col.iat[b]
        want = [pos[(rr[(r + dr) % len(rr)], cc[(c + dc) % len(cc)])] for r, c in grid]
        assert np.array_equal(res.indices[b], want)
    # a smooth, non-periodic map (a ramp plus a bump): Moran's I kept by reflect, not periodic
    x = grid[:, 0] / R + np.exp(-((grid[:, 1] - C / 3) ** 2) / 8.0)
    i0 = _moran(x, W)
    i_ref = np.mean([_moran(x[i], W) for i in res.indices])
    per = torus_shifts(grid, n_surrogates=10_000, rng=0, wrap="periodic").indices
    i_per = np.mean([_moran(x[i], W) for i in per])
    assert abs(i_ref - i0) < 0.1 * i0 and i_per < i_ref - 0.01, (i0, i_ref, i_per)


# ----------------------------------------------------------------------------------- spin
def _disc(radius=9.0):
    grid = np.array([(r, c) for r in range(-12, 13) for c in range(-24, 25) if (r + c) % 2 == 0])
    P = np.column_stack([grid[:, 1] * 0.5, grid[:, 0] * np.sqrt(3) / 2])  # unit spacing
    return P[np.hypot(P[:, 0], P[:, 1]) <= radius]


@pytest.mark.parametrize("reflect", [False, True])
def test_spin_rotates_the_map(reflect):
    P = _disc() + [100.0, 50.0]
    v = np.array([0.6, -0.8])
    x = (P - P.mean(axis=0)) @ v  # a linear field
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a disc: no circularity warning
        res = spin_permutations(P, 30, rng=5, reflect=reflect)
    d = res.to_frame()
    assert res.params["outside_fraction"] < 0.02 and d.reflected.any() == reflect
    Q = P - P.mean(axis=0)
    for b, idx in enumerate(res.indices):
        a = d.angle[b]
        q = Q * [-1, 1] if d.reflected[b] else Q
        rot = np.column_stack([np.cos(a) * q[:, 0] - np.sin(a) * q[:, 1],
                               np.sin(a) * q[:, 0] + np.cos(a) * q[:, 1]])
        inside = np.hypot(rot[:, 0], rot[:, 1]) < 8.5
        # each spot takes the value of the spot nearest its rotated position (< 1 spacing)
        assert np.max(np.abs(x[idx] - rot @ v)[inside]) < 0.6


def test_spin_hungarian_is_a_permutation_and_keeps_moran():
    P = _disc(7.0)
    W = _knn_binary(P, 6)
    x = np.sin(P[:, 0] / 3) + np.cos(P[:, 1] / 4)
    res = spin_permutations(P, 20, rng=2, method="hungarian")
    n = len(P)
    assert np.array_equal(np.sort(res.indices, axis=1), np.tile(np.arange(n), (20, 1)))
    i0 = _moran(x, W)
    ratios = np.array([_moran(x[idx], W) / i0 for idx in res.indices])
    assert np.all(np.abs(ratios - 1) < 0.1), ratios
    near = spin_permutations(P, 20, rng=2)
    assert (near.to_frame().distinct_fraction < 1).any()  # nearest can duplicate values
    assert np.allclose(near.to_frame().angle, res.to_frame().angle)  # same seed, same angles


def test_spin_circularity_check():
    rect = np.array([(i, j) for i in range(40) for j in range(8)], dtype=float)
    with pytest.raises(InputError, match="far from a disc.*max_outside"):
        spin_permutations(rect, 10, rng=0)
    square = np.array([(i, j) for i in range(20) for j in range(20)], dtype=float)
    with pytest.warns(UserWarning, match="far from a disc"):
        res = spin_permutations(square, 50, rng=0)
    assert 0.02 < res.params["outside_fraction"] < 0.2 and res.notes
    with pytest.warns(UserWarning, match="far from a disc"):
        res = spin_permutations(rect, 5, rng=0, max_outside=1.0)  # accepted when asked
    assert res.params["outside_fraction"] > 0.2
    with pytest.raises(InputError, match="hungarian"):
        spin_permutations(np.random.default_rng(0).random((3001, 2)), 1, rng=0,
                          method="hungarian")


# ------------------------------------------------------------------------------------ MSR
def test_msr_singleton_preserves_mean_variance_moran():
    rng = np.random.default_rng(3)
    P = rng.uniform(0, 10, (80, 2))
    W = _knn_binary(P)
    Ws = (W + W.T) / 2
    X = np.column_stack([np.sin(P[:, 0] / 2), P[:, 1] / 5]) + 0.3 * rng.standard_normal((80, 2))
    res = msr_surrogates(X, sp.csr_matrix(W), 50, rng=4, procedure="singleton", joint=True)
    S = res.values
    assert S.shape == (50, 80, 2) and res.params["n_zero"] == 1
    np.testing.assert_allclose(S.mean(axis=1), np.broadcast_to(X.mean(axis=0), (50, 2)),
                               atol=1e-12)
    np.testing.assert_allclose(S.std(axis=1), np.broadcast_to(X.std(axis=0), (50, 2)), rtol=1e-10)
    for j in range(2):
        i0 = _moran(X[:, j], Ws)
        np.testing.assert_allclose([_moran(s, Ws) for s in S[:, :, j]], i0, rtol=1e-10)
    # joint: the same draws for both columns keep their correlation; separate draws do not
    r0 = np.corrcoef(X.T)[0, 1]
    np.testing.assert_allclose([np.corrcoef(s.T)[0, 1] for s in S], r0, rtol=1e-10)
    sep = msr_surrogates(X, W, 50, rng=4, joint=False).values
    assert np.std([np.corrcoef(s.T)[0, 1] for s in sep]) > 0.05
    assert not np.allclose(S[0], X)  # surrogates do differ from the map


def test_msr_pair_preserves_mean_and_variance():
    rng = np.random.default_rng(8)
    P = rng.uniform(0, 10, (80, 2))
    X = np.column_stack([np.sin(P[:, 0] / 2), P[:, 1] / 5]) + 0.3 * rng.standard_normal((80, 2))
    res = msr_surrogates(X, _knn_binary(P), 40, rng=1, procedure="pair", joint=True)
    S = res.values
    np.testing.assert_allclose(S.mean(axis=1), np.broadcast_to(X.mean(axis=0), (40, 2)),
                               atol=1e-12)
    np.testing.assert_allclose(S.std(axis=1), np.broadcast_to(X.std(axis=0), (40, 2)), rtol=1e-10)
    # joint pair rotations are one orthogonal map of the coefficients: correlation kept
    r0 = np.corrcoef(X.T)[0, 1]
    np.testing.assert_allclose([np.corrcoef(s.T)[0, 1] for s in S], r0, rtol=1e-9)


def test_msr_spectrum_all_vs_nonzero():
    """A 7 x 7 rook lattice has 7 zero eigenvalues: 'all' keeps the variance, 'nonzero' not."""
    grid, W = _rook(7, 7)
    x = np.random.default_rng(0).standard_normal(49)
    full = moran_eigenmaps(W, spectrum="all")
    nz = moran_eigenmaps(W)
    assert isinstance(full, MoranEigenmaps) and nz.n_zero == 7
    assert full.vectors.shape == (49, 48) and nz.vectors.shape == (49, 42)
    np.testing.assert_allclose(full.vectors.T @ full.vectors, np.eye(48), atol=1e-10)
    np.testing.assert_allclose(full.vectors.sum(axis=0), 0, atol=1e-10)  # orthogonal to 1
    s_all = msr_surrogates(x, full, 10, rng=0).values
    s_nz = msr_surrogates(x, nz, 10, rng=0).values
    np.testing.assert_allclose(s_all.std(axis=1), x.std(), rtol=1e-10)
    np.testing.assert_allclose([_moran(s, W) for s in s_all], _moran(x, W), rtol=1e-10)
    assert np.all(s_nz.std(axis=1) < x.std())  # the zero-space part of x is lost


def test_msr_type_one_error():
    """Correlating a smooth map with MSR surrogates of an independent smooth map: ~nominal."""
    rng = np.random.default_rng(11)
    P = rng.uniform(0, 10, (100, 2))
    K = np.exp(-cdist(P, P) ** 2 / (2 * 1.5 ** 2))
    L = np.linalg.cholesky(K + 1e-8 * np.eye(100))
    maps = moran_eigenmaps(_knn_binary(P, 6))
    n_rep, rej_msr, rej_perm = 200, 0, 0
    for rep in range(n_rep):
        x, y = L @ rng.standard_normal(100), L @ rng.standard_normal(100)
        r0 = abs(np.corrcoef(x, y)[0, 1])
        S = msr_surrogates(x, maps, 199, rng=rep).values
        Sc = S - S.mean(axis=1, keepdims=True)
        yc = y - y.mean()
        rs = np.abs(Sc @ yc) / (np.linalg.norm(Sc, axis=1) * np.linalg.norm(yc))
        rej_msr += (1 + np.sum(rs >= r0)) / 200 <= 0.05
        perm = x[np.argsort(rng.random((199, 100)), axis=1)]
        pc = perm - perm.mean(axis=1, keepdims=True)
        rp = np.abs(pc @ yc) / (np.linalg.norm(pc, axis=1) * np.linalg.norm(yc))
        rej_perm += (1 + np.sum(rp >= r0)) / 200 <= 0.05
    # 99.9% binomial band at 0.05 for 200 draws: [0.015, 0.105]
    print("MSR rejection rate", rej_msr / n_rep, "free permutation", rej_perm / n_rep)
    assert 0.015 <= rej_msr / n_rep <= 0.105
    assert rej_perm / n_rep > 0.2


# ------------------------------------------------------------------------------ variogram
def test_variogram_surrogates_match_target_variogram():
    """Burt et al. 2020: surrogates reproduce the map's variogram, a free permutation does not.

    On an exponential-covariance field (n = 600) the mean surrogate variogram is within 15% RMS
    (relative to the mean target) of the map's; at the shortest lags the fit is looser (the
    regression intercept adds a nugget), as with brainsmash itself (parity test above).
    """
    rng = np.random.default_rng(5)
    P = rng.uniform(0, 1, (600, 2))
    L = np.linalg.cholesky(np.exp(-cdist(P, P) / 0.2) + 1e-6 * np.eye(600))
    x = L @ rng.standard_normal(600)
    res = variogram_surrogates(x, P, 40, rng=2)
    S = res.values
    assert S.shape == (40, 600) and len(res.to_frame()) == 40
    np.testing.assert_allclose(S.mean(axis=1), 0, atol=1e-10)  # de-meaned, as brainsmash
    target = res.params["target_variogram"]

    def rms(maps):
        gam = np.array([smoothed_variogram(s, P)[1] for s in maps])
        return np.sqrt(np.mean((gam.mean(axis=0) - target) ** 2)) / target.mean()

    assert rms(S) < 0.15
    assert rms([rng.permutation(x) for _ in range(40)]) > 0.5  # the test can fail
    res2 = variogram_surrogates(x, cdist(P, P), 5, rng=2, resample=True)
    assert np.allclose(np.sort(res2.values, axis=1), np.sort(x))  # values of x, new places


# -------------------------------------------------------------------------- seeds, errors
def test_same_seed_same_surrogates():
    grid, W = _rook(6, 8)
    P = grid.astype(float)
    x = np.sin(P[:, 0]) + P[:, 1] / 4
    runs = {
        "torus": lambda s: torus_shifts(grid, 10, rng=s).indices,
        "spin": lambda s: spin_permutations(_disc(5), 5, rng=s).indices,
        "msr": lambda s: msr_surrogates(x, W, 5, rng=s, procedure="pair").values,
        "vario": lambda s: variogram_surrogates(x, P, 3, rng=s).values,
    }
    for name, run in runs.items():
        a, b, c = run(7), run(7), run(8)
        assert np.array_equal(a, b), name
        assert not np.array_equal(a, c), name
    g = np.random.default_rng(7)
    assert np.array_equal(msr_surrogates(x, W, 5, rng=g).values,
                          msr_surrogates(x, W, 5, rng=np.random.default_rng(7)).values)


def test_errors_name_the_fix():
    grid, W = _rook(5, 5)
    P = grid.astype(float)
    x = P[:, 0] + np.sin(P[:, 1])
    with pytest.raises(InputError, match="positive integer"):
        torus_shifts(grid, 0)
    with pytest.raises(InputError, match="procedure"):
        msr_surrogates(x, W, 5, procedure="triplet")
    with pytest.raises(InputError, match="constant"):
        msr_surrogates(np.ones(25), W, 5)
    with pytest.raises(InputError, match="same section"):
        msr_surrogates(x[:-1], W, 5)
    with pytest.raises(InputError, match="square"):
        msr_surrogates(x, W[:, :-1], 5)
    with pytest.raises(InputError, match="NaN"):
        msr_surrogates(np.where(np.arange(25) == 3, np.nan, x), W, 5)
    with pytest.raises(InputError, match=r"deltas.*\(0, 1\]"):
        variogram_surrogates(x, P, 5, deltas=[0.0, 0.5])
    with pytest.raises(InputError, match="kernel"):
        variogram_surrogates(x, P, 5, kernel="cubic")
    with pytest.raises(InputError, match=r"\(n, 2\).*\(n, n\)"):
        variogram_surrogates(x, P[:, :1], 5)
    with pytest.raises(InputError, match="index maps"):
        msr_surrogates(x, W, 2).apply(x)
    with pytest.raises(InputError, match="same section"):
        torus_shifts(grid, 3, rng=0).apply(x[:-1])
    assert "SpatialSurrogates(method='torus'" in repr(torus_shifts(grid, 3, rng=0))
