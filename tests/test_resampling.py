"""Resampling engine: index schemes, kernels against brute force, backend parity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

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
    # the position of sample 0 is uniform over the 21 positions in independent draws:
    # chi-square goodness of fit at alpha = 0.001 (the old 0.3x-2x bounds could not fail)
    where0 = np.argmax(idx == 0, axis=1)
    assert stats.chisquare(np.bincount(where0, minlength=21)).pvalue > 1e-3


@pytest.mark.parametrize("blocks", [None, [0, 0, 1, 1, 1]])
def test_random_draws_are_uniform_over_all_permutations(blocks):
    """Every distinct permutation equally likely: chi-square goodness of fit of the counts of
    each of the n! (free, n = 4) or 2! 3! (within blocks) permutations over 12,000 draws,
    alpha = 0.001; and the draws cover exactly the set itertools enumerates."""
    import itertools

    n = 4 if blocks is None else 5
    scheme = PermutationScheme(n, blocks)
    if blocks is None:
        allowed = list(itertools.permutations(range(n)))
    else:
        allowed = [a + b for a in itertools.permutations(range(2))
                   for b in itertools.permutations(range(2, 5))]
    draws = scheme.draw(np.random.default_rng(8), 12_000)    # random draws, not enumeration
    code = {perm: i for i, perm in enumerate(allowed)}
    hits = np.bincount([code[tuple(r)] for r in draws], minlength=len(allowed))
    assert hits.sum() == 12_000 and (hits > 0).all()
    assert stats.chisquare(hits).pvalue > 1e-3
    # the exhaustive enumeration is the same set, identity excluded, in a fixed order
    every = scheme.enumerate()
    assert sorted(map(tuple, every)) == sorted(set(allowed) - {tuple(range(n))})
    np.testing.assert_array_equal(every, scheme.generate(999, rng=1))
    np.testing.assert_array_equal(every, np.concatenate(list(iter_batches(scheme, 999, 5, rng=2))))


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
    # fair signs: exact binomial test at alpha = 0.001, overall and for every sample
    assert stats.binomtest(int((s > 0).sum()), s.size, 0.5).pvalue > 1e-3
    per_sample = [stats.binomtest(int(k), 2000, 0.5).pvalue for k in (s > 0).sum(axis=0)]
    assert min(per_sample) > 1e-3 / 21                      # Bonferroni over the 21 samples
    sb = sign_flips(21, 2000, blocks=BLOCKS, rng=5)
    for b in "ABC":
        cols = BLOCKS == b
        assert (sb[:, cols] == sb[:, cols][:, [0]]).all()
        assert stats.binomtest(int((sb[:, cols][:, 0] > 0).sum()), 2000, 0.5).pvalue > 1e-3 / 3
    # blocks flip independently: the 2 x 2 table of two blocks' signs passes Fisher's test
    a, c = sb[:, np.flatnonzero(BLOCKS == "A")[0]] > 0, sb[:, np.flatnonzero(BLOCKS == "C")[0]] > 0
    table = [[(a & c).sum(), (a & ~c).sum()], [(~a & c).sum(), (~a & ~c).sum()]]
    assert stats.fisher_exact(table).pvalue > 1e-3


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
    # closed form: the K-th largest null maximum, K = floor(0.05 (B + 1)) in exact arithmetic
    K = (B + 1) // 20
    assert thr == np.sort(null)[::-1][K - 1]
    # and directly from the definition p = (1 + #{null >= t}) / (1 + B), counted by hand
    assert (1 + np.sum(null >= thr + 1e-9)) / (1 + B) <= 0.05 < (1 + np.sum(null >= thr)) / (1 + B)


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


def test_exhaustive_null_is_identical_on_every_backend_and_batch():
    """All 6! = 720 permutations of n = 6: same counts and null maxima whatever backend,
    batch or rng (the enumeration is deterministic); p = #(|r*| >= |r|) / 720 exactly."""
    import itertools

    X, Y, *_ = _problem(n=6, p=2, q=3, seed=2)
    Q = np.ones((6, 1)) / np.sqrt(6)
    A, U = X - X.mean(axis=0), Y - Y.mean(axis=0)
    A, U = A / np.linalg.norm(A, axis=0), U / np.linalg.norm(U, axis=0)
    obs = A.T @ U
    scheme = PermutationScheme(6)
    ref = correlation_permutation_null(A, U, Q, obs, n_resamples=999, scheme=scheme, rng=0,
                                       backend="numpy")
    assert ref.exhaustive and ref.n_resamples == 719
    for backend, batch, seed in (("numba", None, 1), ("numba", 7, 2), ("numpy", 13, 3)):
        got = correlation_permutation_null(A, U, Q, obs, n_resamples=999, scheme=scheme,
                                           rng=seed, backend=backend, batch=batch)
        np.testing.assert_array_equal(got.counts, ref.counts)
        np.testing.assert_allclose(got.null_max, ref.null_max, rtol=1e-13)
    # brute force over itertools.permutations: the Freedman-Lane null with only an intercept
    # is the correlation of the centred x with the permuted centred y
    for j in range(2):
        for k in range(3):
            r0 = abs(np.corrcoef(X[:, j], Y[:, k])[0, 1])
            every = [abs(np.corrcoef(X[:, j], Y[list(pi), k])[0, 1])
                     for pi in itertools.permutations(range(6))]
            assert ref.pvalues[j, k] == pytest.approx(np.mean(np.array(every) >= r0 - 1e-12),
                                                      rel=1e-12)


def test_exhaustive_whole_block_p_equals_brute_force():
    """Whole-block permutation of 4 blocks of 2 (4! = 24 orders, B = 999 asked): every order
    used once, p equal to brute force over the 24 block orders."""
    import itertools

    from radiogenomics.association import associate

    g = np.random.default_rng(21)
    blocks = np.repeat(["f1", "f2", "f3", "f4"], 2)
    x = g.normal(size=8)
    y = 0.7 * x + g.normal(size=8)
    X = pd.DataFrame({"x": x}, index=[f"s{i}" for i in range(8)])
    Y = pd.DataFrame({"y": y}, index=X.index)
    res = associate(X, Y, n_permutations=999, exchangeability_blocks=blocks, whole_blocks=True,
                    rng=0)
    assert res.exhaustive_permutations and res.n_permutations == 23
    r0 = abs(np.corrcoef(x, y)[0, 1])
    every = []
    for order in itertools.permutations(range(4)):
        pi = np.concatenate([np.arange(2 * b, 2 * b + 2) for b in order])
        every.append(abs(np.corrcoef(x, y[pi])[0, 1]))
    assert res.p_permutation.iloc[0, 0] == pytest.approx(np.mean(np.array(every) >= r0 - 1e-12),
                                                         rel=1e-12)


def test_exhaustive_p_values_are_exactly_uniform_under_the_null():
    """n = 5 (120 permutations, all enumerated): under H0 with continuous data, P(p <= 6/120)
    is exactly 0.05.  Rejection count over 2,000 null datasets inside the two-sided 99.9%
    binomial interval; every p must be a multiple of 1/120 (counting the identity twice or
    dropping it changes the support to multiples of 1/121 or 1/119), and the distribution of p
    is compared with the discrete uniform on {1/120, ..., 1} by a chi-square test over its 20
    bins of 6 values (alpha = 0.001)."""
    from radiogenomics.association import associate

    g = np.random.default_rng(31)
    reps = 2000
    Q = np.ones((5, 1)) / np.sqrt(5)
    scheme = PermutationScheme(5)

    def unit(v):
        v = v - v.mean()
        return (v / np.linalg.norm(v))[:, None]

    ps = np.empty(reps)
    for i in range(reps):
        a, u = unit(g.normal(size=5)), unit(g.standard_t(3, size=5))
        null = correlation_permutation_null(a, u, Q, a.T @ u, n_resamples=999, scheme=scheme,
                                            rng=i, backend="numpy")
        assert null.exhaustive
        ps[i] = null.pvalues[0, 0]
    X = pd.DataFrame({"x": a[:, 0]})                      # the screen reports the same p
    Y = pd.DataFrame({"y": u[:, 0]})
    assert associate(X, Y, n_permutations=999).p_permutation.iloc[0, 0] == ps[-1]
    k = np.rint(ps * 120).astype(int)
    assert k.min() >= 1 and k.max() <= 120 and np.allclose(ps * 120, k)
    lo, hi = stats.binom.ppf([0.0005, 0.9995], reps, 0.05)
    assert lo <= np.sum(k <= 6) <= hi
    assert stats.chisquare(np.bincount((k - 1) // 6, minlength=20)).pvalue > 1e-3
