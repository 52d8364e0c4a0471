"""brainsmash 0.11 ``Sampled`` variogram surrogates: ``variogram_surrogates(method="sampled")``.

Reference CSVs: tests/data/spatial/nulls_sampled/ (README.md, make_reference.py).
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics._checks import InputError
from radiogenomics.spatial.nulls import variogram_surrogates
from radiogenomics.spatial._variogram import (_knn_table, _sampled_from_draws,
                                              _SampledVariogram)

DATA = Path(__file__).parent / "data" / "spatial" / "nulls_sampled"


def _csv(name):
    return pd.read_csv(DATA / name, float_precision="round_trip")


CASES = {
    "default": dict(deltas=np.arange(0.3, 1.0, 0.2)),
    "gauss_resample": dict(kernel="gaussian", resample=True, deltas=np.array([0.2, 0.5]),
                           pv=50, nh=15),
}


@pytest.mark.parametrize("tag", sorted(CASES))
def test_sampled_matches_brainsmash(tag):
    """Same draws (permutation, subsample, noise) -> brainsmash Sampled's surrogates."""
    dat = _csv("sampled_data.csv")
    P, x = dat[["x", "y"]].to_numpy(), dat.value.to_numpy()
    Dk, Ik = _knn_table(P, 60)
    assert np.array_equal(Ik, _csv("sampled_knn_index.csv").to_numpy())
    out, diag, vg, targets = _sampled_from_draws(
        x, Dk, Ik, _csv(f"sampled_{tag}_perms.csv").to_numpy(),
        _csv(f"sampled_{tag}_samples.csv").to_numpy(),
        _csv(f"sampled_{tag}_noise.csv").to_numpy(), **CASES[tag])
    np.testing.assert_allclose(out, _csv(f"sampled_{tag}_surrogates.csv").to_numpy(),
                               rtol=1e-8, atol=1e-10)
    lags = _csv(f"sampled_{tag}_lags.csv")
    np.testing.assert_allclose(vg.h, lags.h, rtol=1e-12)
    np.testing.assert_allclose(vg.b, lags.b[0], rtol=1e-12)
    assert len(diag) == 6 and set(diag.delta) <= set(CASES[tag]["deltas"])
    assert targets.shape == (6, len(lags))


@pytest.mark.parametrize("b", [None, 0.5, 0.02])
def test_lag_weights_factorisation_equals_formula(b):
    """exp(-(2.68 |u - h| / b)^2 / 2), via two exponentials or directly (narrow b)."""
    rng = np.random.default_rng(3)
    Dk = np.sort(rng.uniform(0, 5, (100, 40)), axis=1)
    vg = _SampledVariogram(Dk, np.zeros_like(Dk, dtype=int), 70, 25, b)
    u = Dk[Dk < vg.dmax]
    direct = np.exp(-np.square(2.68 * np.abs(u - vg.h[:, None]) / vg.b) / 2)
    np.testing.assert_allclose(vg.weights(u), direct, rtol=1e-11, atol=1e-300)


def test_knn_table_drops_self_even_when_positions_coincide():
    P = np.array([[0, 0], [0, 0], [1, 0], [3, 0], [7, 0]], dtype=float)
    D, J = _knn_table(P, 3)
    assert not np.any(J == np.arange(5)[:, None])
    np.testing.assert_array_equal(J[:2, 0], [1, 0])
    np.testing.assert_allclose(D[4], [4, 6, 7])


def _field(n, seed):
    """Smooth random field on [0, 1]^2 (random Fourier features, length scale 0.1)."""
    rng = np.random.default_rng(seed)
    P = rng.uniform(0, 1, (n, 2))
    om = rng.standard_normal((2, 300)) / 0.1
    x = np.cos(P @ om + rng.uniform(0, 2 * np.pi, 300)).sum(axis=1) / np.sqrt(150)
    return P, x + 0.2 * rng.standard_normal(n)


def test_sampled_surrogates_match_target_variogram():
    """Burt et al. 2020: on 3,000 spots the surrogates' variogram (on a fixed subsample of
    pairs) is within 15% RMS of the map's; a free permutation's is not (> 50%)."""
    P, x = _field(3000, 1)
    res = variogram_surrogates(x, P, 24, rng=4, method="sampled", knn=300, ns=300)
    S = res.values
    assert S.shape == (24, 3000) and len(res.to_frame()) == 24
    np.testing.assert_allclose(S.mean(axis=1), 0, atol=1e-10)  # de-meaned, as brainsmash
    Dk, Ik = _knn_table(P, 300)
    vg = _SampledVariogram(Dk, Ik, 70, 25, None)
    pr = vg.pairs(np.random.default_rng(9).choice(3000, 600, replace=False))
    target = vg(x[:, None], pr)[:, 0]

    def rms(maps):
        gam = vg(np.asarray(maps).T, pr).mean(axis=1)
        return np.sqrt(np.mean((gam - target) ** 2)) / target.mean()

    assert rms(S) < 0.15
    rng = np.random.default_rng(2)
    assert rms([rng.permutation(x) for _ in range(24)]) > 0.5
    assert res.params["method"] == "sampled" and res.params["knn"] == 300
    np.testing.assert_allclose(res.params["lags"], vg.h)
    assert "sampled" in repr(res)


def test_same_seed_same_output_and_resample():
    P, x = _field(400, 5)
    run = lambda s, **k: variogram_surrogates(x, P, 4, rng=s, method="sampled", knn=50,
                                              ns=100, **k).values
    a, b, c = run(7), run(7), run(8)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(run(np.random.default_rng(7)), a)
    r = run(7, resample=True)
    np.testing.assert_array_equal(np.sort(r, axis=1), np.tile(np.sort(x), (4, 1)))
    # base stays the default (and unchanged by the new options)
    base = variogram_surrogates(x[:60], P[:60], 2, rng=1)
    assert np.array_equal(base.values,
                          variogram_surrogates(x[:60], P[:60], 2, rng=1, method="base").values)


def test_sampled_errors_name_the_fix():
    P, x = _field(100, 6)
    with pytest.raises(InputError, match=r"knn < n.*method='base'"):
        variogram_surrogates(x, P, 2, method="sampled", knn=100)
    with pytest.raises(InputError, match=r"ns <= n"):
        variogram_surrogates(x, P, 2, method="sampled", knn=20, ns=101)
    with pytest.raises(InputError, match=r"coordinates \(n, 2\).*method='base'"):
        D = np.hypot(*(P[:, None, :] - P[None, :, :]).transpose(2, 0, 1))
        variogram_surrogates(x, D, 2, method="sampled", knn=20, ns=50)
    with pytest.raises(InputError, match="method must be"):
        variogram_surrogates(x, P, 2, method="fast")
    with pytest.raises(InputError, match=r"deltas.*\(0, 1\]"):
        variogram_surrogates(x, P, 2, method="sampled", knn=20, ns=50, deltas=[0, 0.5])
    with pytest.raises(InputError, match="knn must be an integer"):
        variogram_surrogates(x, P, 2, method="sampled", knn=2.5, ns=50)
    with pytest.raises(InputError, match="b must be a positive"):
        variogram_surrogates(x, P, 2, method="sampled", knn=20, ns=50, b=0)
