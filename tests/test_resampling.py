"""Resampling engine: index schemes, kernels against brute force, backend parity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from radiogenomics.resampling import (
    BootstrapScheme,
    PermutationScheme,
    bootstrap_indices,
    check_rng,
    correlation_permutation_null,
    cupy_available,
    inverse_permutations,
    iter_batches,
    maxt_pvalues,
    permutation_indices,
    permutation_pvalue,
    resolve_backend,
    sign_flips,
)

BLOCKS = np.array(["A"] * 7 + ["B"] * 5 + ["C"] * 9)
rng_names = pytest.mark.parametrize("seed", [0, 7])


def test_check_rng_follows_spec7():
    g = np.random.default_rng(3)
    assert check_rng(g) is g
    assert check_rng(5).integers(0, 10**9) == np.random.default_rng(5).integers(0, 10**9)
    with pytest.raises(TypeError, match="RandomState"):
        check_rng(np.random.RandomState(0))
    with pytest.raises(TypeError, match="Generator"):
        check_rng("seed")


@rng_names
def test_free_permutations_are_permutations_and_seeded(seed):
    idx = permutation_indices(21, 600, rng=seed)
    assert idx.shape == (600, 21)
    assert (np.sort(idx, axis=1) == np.arange(21)).all()
    np.testing.assert_array_equal(idx, permutation_indices(21, 600, rng=seed))
    assert not np.array_equal(idx, permutation_indices(21, 600, rng=seed + 1))
    # each sample lands in each position about equally often (uniform permutations)
    counts = np.zeros((21, 21))
    np.add.at(counts, (np.broadcast_to(np.arange(21), idx.shape), idx), 1)
    assert counts.min() > 600 / 21 * 0.3 and counts.max() < 600 / 21 * 2


@pytest.mark.parametrize("scheme", [PermutationScheme(21), PermutationScheme(21, BLOCKS),
                                    BootstrapScheme(21, BLOCKS)])
def test_batches_do_not_change_the_draws(scheme):
    full = scheme.generate(700, rng=11)
    for batch in (1, 13, 256, 300, 1000):
        got = np.concatenate(list(iter_batches(scheme, 700, batch, rng=11)))
        np.testing.assert_array_equal(got, full)


def test_within_block_permutations_never_cross_blocks():
    idx = permutation_indices(21, 2000, blocks=BLOCKS, rng=1)
    assert (BLOCKS[idx] == BLOCKS).all()
    assert (np.sort(idx, axis=1) == np.arange(21)).all()
    # and they do move samples inside every block
    for b in "ABC":
        cols = np.flatnonzero(BLOCKS == b)
        assert (idx[:, cols] != cols).any(axis=0).all()
    assert PermutationScheme(21, BLOCKS).n_distinct == 5040 * 120 * 362880


def test_whole_block_permutation_moves_blocks_as_units():
    blocks = np.repeat(["f1", "f2", "f3", "f4"], 3)
    idx = permutation_indices(12, 500, blocks=blocks, whole_blocks=True, rng=2)
    for b in range(4):
        seg = idx[:, 3 * b:3 * b + 3]
        assert (seg // 3 == seg[:, [0]] // 3).all()         # one source block per target block
        assert (np.diff(seg, axis=1) == 1).all()             # internal order kept
    # 500 >= 4! - 1: every block order but the identity, each once (exhaustive enumeration)
    assert len(idx) == 23 and len({tuple(r) for r in idx}) == 23
    assert not (idx == np.arange(12)).all(axis=1).any()
    random = permutation_indices(12, 20, blocks=blocks, whole_blocks=True, rng=2)
    assert len(random) == 20                                 # 20 < 23: random draws
    with pytest.raises(ValueError, match="equal size"):
        PermutationScheme(21, BLOCKS, whole_blocks=True)
    with pytest.warns(UserWarning, match="only 24 distinct permutations"):
        PermutationScheme(12, blocks, whole_blocks=True).check_enough(20)
    with pytest.raises(ValueError, match="single sample"):
        PermutationScheme(3, ["a", "b", "c"])
    with pytest.raises(ValueError, match="one label per sample"):
        PermutationScheme(4, ["a", "b"])


def test_bootstrap_strata_respected():
    idx = bootstrap_indices(21, 3000, strata=BLOCKS, rng=4)
    assert (BLOCKS[idx] == BLOCKS).all()                      # stays in its stratum
    for b in "ABC":                                           # stratum sizes preserved
        assert ((BLOCKS[idx] == b).sum(axis=1) == (BLOCKS == b).sum()).all()
    plain = bootstrap_indices(21, 3000, rng=4)
    # with replacement: share of distinct samples per resample ~ 1 - (1 - 1/n)^n
    distinct = np.mean([len(np.unique(r)) for r in plain]) / 21
    assert distinct == pytest.approx(1 - (1 - 1 / 21) ** 21, abs=0.01)
    assert (BLOCKS[plain] != BLOCKS).any()


def test_sign_flips_plain_and_by_block():
    s = sign_flips(21, 2000, rng=5)
    assert set(np.unique(s)) == {-1.0, 1.0}
    assert abs(s.mean()) < 0.02
    sb = sign_flips(21, 200, blocks=BLOCKS, rng=5)
    for b in "ABC":
        cols = BLOCKS == b
        assert (sb[:, cols] == sb[:, cols][:, [0]]).all()


def test_inverse_permutations():
    idx = permutation_indices(9, 50, rng=6)
    inv = inverse_permutations(idx)
    rows = np.arange(50)[:, None]
    assert (idx[rows, inv] == np.arange(9)).all() and (inv[rows, idx] == np.arange(9)).all()


def test_pvalue_formulas_are_never_zero():
    assert permutation_pvalue(0, 999) == pytest.approx(1e-3)
    p = maxt_pvalues(np.array([0.1, 0.5, 0.9]), np.array([0.2, 0.4, 0.6, 0.95]))
    np.testing.assert_allclose(p, [(1 + 4) / 5, (1 + 2) / 5, (1 + 1) / 5])


def _problem(n=36, p=4, q=9, seed=0, blocks=None):
    rng = np.random.default_rng(seed)
    Z = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)])
    X = rng.normal(size=(n, p)) + Z[:, 1:2]
    Y = rng.standard_t(4, size=(n, q)) - Z[:, 1:2] + 0.4 * X[:, [0]]
    Q, _ = np.linalg.qr(Z)

    def unit(M):
        R = M - Q @ (Q.T @ M)
        return R / np.linalg.norm(R, axis=0)

    A, U = unit(X), unit(Y)
    return X, Y, Z, Q, A, U, A.T @ U


@pytest.mark.parametrize("blocks", [None, np.repeat(["a", "b", "c"], 12)])
def test_kernel_equals_freedman_lane_refit_with_statsmodels(blocks):
    """Counts and max-T null from the chunked algebra equal refitting OLS on permuted data."""
    X, Y, Z, Q, A, U, obs = _problem()
    B = 60
    scheme = PermutationScheme(len(X), blocks)
    null = correlation_permutation_null(A, U, Q, obs, n_resamples=B, scheme=scheme, rng=9,
                                        backend="numpy", batch=7)
    perms = scheme.generate(B, rng=9)
    fitted = Z @ np.linalg.lstsq(Z, Y, rcond=None)[0]
    resid = Y - fitted
    t_obs = np.array([[sm.OLS(Y[:, k], np.column_stack([X[:, j], Z])).fit().tvalues[0]
                       for k in range(Y.shape[1])] for j in range(X.shape[1])])
    counts = np.zeros(obs.shape, dtype=int)
    null_max = []
    for pi in perms:
        Ystar = resid[pi] + fitted                          # Freedman-Lane: permute residuals
        t = np.array([[sm.OLS(Ystar[:, k], np.column_stack([X[:, j], Z])).fit().tvalues[0]
                       for k in range(Y.shape[1])] for j in range(X.shape[1])])
        counts += np.abs(t) >= np.abs(t_obs) * (1 - 1e-12)
        null_max.append(np.abs(t).max())
    np.testing.assert_array_equal(null.counts, counts)
    df = len(X) - 2 - 2
    t_max = null.null_max * np.sqrt(df / (1 - null.null_max**2))
    np.testing.assert_allclose(t_max, null_max, rtol=1e-9)


@pytest.mark.parametrize("blocks", [None, np.repeat(["a", "b", "c"], 12)])
def test_numpy_and_numba_backends_identical_for_any_batch(blocks):
    *_, Q, A, U, obs = _problem(q=40, seed=3)
    scheme = PermutationScheme(36, blocks)
    ref = correlation_permutation_null(A, U, Q, obs, n_resamples=333, scheme=scheme, rng=12,
                                       backend="numpy")
    for backend, batch in (("numba", None), ("numba", 1), ("numba", 50), ("numpy", 17)):
        got = correlation_permutation_null(A, U, Q, obs, n_resamples=333, scheme=scheme, rng=12,
                                           backend=backend, batch=batch)
        np.testing.assert_array_equal(got.counts, ref.counts)           # identical p-values
        np.testing.assert_array_equal(got.fwer_pvalues(np.abs(obs)), ref.fwer_pvalues(np.abs(obs)))
        # null maxima agree to rounding (BLAS may order a tile's sums differently)
        np.testing.assert_allclose(got.null_max, ref.null_max, rtol=1e-13, atol=0)
    assert got.backend == "numpy" and ref.scheme == ("free" if blocks is None else "within-block")


@pytest.mark.skipif(not cupy_available(), reason="CuPy with a CUDA GPU is not available here "
                    "(install radiogenomics[gpu] on a GPU machine to run this parity test)")
def test_cupy_backend_matches_numpy():
    *_, Q, A, U, obs = _problem(q=300, seed=4)
    scheme = PermutationScheme(36, np.repeat(["a", "b", "c"], 12))
    ref = correlation_permutation_null(A, U, Q, obs, n_resamples=999, scheme=scheme, rng=1,
                                       backend="numpy")
    for batch in (None, 64, 7):
        got = correlation_permutation_null(A, U, Q, obs, n_resamples=999, scheme=scheme, rng=1,
                                           backend="cupy", batch=batch)
        assert got.backend == "cupy"
        np.testing.assert_array_equal(got.counts, ref.counts)
        np.testing.assert_allclose(got.null_max, ref.null_max, rtol=1e-12)
        np.testing.assert_array_equal(got.fwer_pvalues(np.abs(obs)), ref.fwer_pvalues(np.abs(obs)))


def test_backend_resolution_errors_are_clear():
    with pytest.raises(ValueError, match="backend must be one of"):
        resolve_backend("torch")
    if not cupy_available():
        with pytest.raises(RuntimeError, match="needs CuPy and a CUDA GPU"):
            resolve_backend("cupy")
        assert resolve_backend("auto") == "numba"


def test_progress_bar_shows_on_request(capsys):
    *_, Q, A, U, obs = _problem()
    correlation_permutation_null(A, U, Q, obs, n_resamples=50, scheme=PermutationScheme(36),
                                 rng=0, backend="numpy", batch=10, progress=True)
    assert "permutations (numpy)" in capsys.readouterr().err
    correlation_permutation_null(A, U, Q, obs, n_resamples=50, scheme=PermutationScheme(36),
                                 rng=0, backend="numpy", batch=10)
    assert capsys.readouterr().err == ""  # small runs stay quiet by default


@pytest.mark.parametrize("B", [10, 19, 30, 50, 250, 999])
def test_maxt_threshold_agrees_with_maxt_pvalues(B):
    from radiogenomics.resampling import maxt_threshold

    null = np.random.default_rng(B).uniform(0.2, 0.6, B)
    thr = maxt_threshold(null, 0.05)
    if (B + 1) * 0.05 < 1:
        assert thr == np.inf and maxt_pvalues(np.array([0.99]), null).min() > 0.05
        return
    above, at = maxt_pvalues(np.array([thr + 1e-9, thr]), null)
    assert above <= 0.05 < at


def test_identity_resample_counts_even_for_tiny_statistics():
    """Resamples equal to the identity reproduce the observed |r| up to rounding; they must
    count even when r is ~1e-17 (absolute tolerance).  A scheme whose every other draw is the
    identity makes them frequent."""
    n = 8
    rng = np.random.default_rng(0)
    Q = np.ones((n, 1)) / np.sqrt(n)
    a = rng.normal(size=n)
    a -= a.mean()
    u = rng.normal(size=n)
    u -= u.mean()
    u -= a * (a @ u) / (a @ a)                      # orthogonal: r_obs ~ 1e-17
    A, U = (a / np.linalg.norm(a))[:, None], (u / np.linalg.norm(u))[:, None]
    obs = A.T @ U

    class HalfIdentity(PermutationScheme):
        def draw(self, rng, size):
            out = super().draw(rng, size)
            out[::2] = np.arange(self.n)
            return out

    scheme = HalfIdentity(n)
    null = correlation_permutation_null(A, U, Q, obs, n_resamples=200, scheme=scheme, rng=3,
                                        backend="numpy")
    n_identity = int((scheme.generate(200, rng=3) == np.arange(n)).all(axis=1).sum())
    assert n_identity >= 100 and null.counts[0, 0] >= n_identity


@pytest.mark.parametrize("blocks", [None, [0, 0, 0, 1, 1, 1]])
def test_few_permutations_are_enumerated_and_p_is_exact(blocks):
    """With no more distinct permutations than B + 1 they are all used (PALM's exhaustive
    mode) and the p-value equals the brute-force one over itertools.permutations."""
    import itertools

    from radiogenomics.association import associate

    g = np.random.default_rng(5)
    n = 6 if blocks is not None else 5
    x = g.normal(size=n)
    y = 0.8 * x + g.normal(size=n)
    X = pd.DataFrame({"x": x}, index=[f"s{i}" for i in range(n)])
    Y = pd.DataFrame({"y": y}, index=X.index)
    res = associate(X, Y, n_permutations=999, exchangeability_blocks=blocks, rng=1)
    assert res.exhaustive_permutations and "enumerated" in res.summary()
    if blocks is None:
        perms = list(itertools.permutations(range(n)))
    else:
        perms = [a + b for a in itertools.permutations(range(3))
                 for b in itertools.permutations(range(3, 6))]
    assert res.n_permutations == len(perms) - 1
    r_obs = abs(np.corrcoef(x, y)[0, 1])
    r_all = np.array([abs(np.corrcoef(x, y[list(p)])[0, 1]) for p in perms])
    exact = np.mean(r_all >= r_obs - 1e-12)
    assert res.p_permutation.iloc[0, 0] == pytest.approx(exact, rel=1e-12)


def test_block_labels_are_values_and_missing_labels_are_refused():
    assert PermutationScheme(4, np.array([1, "1", 1, "1"], dtype=object)).blocks.labels.size == 2
    with pytest.raises(ValueError, match="missing labels at position"):
        PermutationScheme(3, pd.array(["a", pd.NA, "a"], dtype="string"))
    with pytest.raises(TypeError, match="int seed"):
        check_rng(True)


def test_default_batch_counts_the_gathered_rows():
    from radiogenomics.resampling.engine import DEFAULT_CHUNK_BYTES, _default_batch

    n, m = 500, 101
    for backend in ("numpy", "numba", "cupy"):
        c = _default_batch(backend, n, m, 1, 10_000, None)
        assert c * 2 * m * n * 8 <= DEFAULT_CHUNK_BYTES[backend]
