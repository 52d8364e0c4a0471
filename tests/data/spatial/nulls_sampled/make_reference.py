"""Produce the brainsmash ``Sampled`` reference CSVs for tests/test_spatial_variogram_sampled.py.

Run in a throwaway venv (brainsmash is GPL-3.0; only its outputs are stored here):

    python3 -m venv /tmp/bsenv
    /tmp/bsenv/bin/pip install brainsmash==0.11.0 numpy scipy scikit-learn pandas
    /tmp/bsenv/bin/python tests/data/spatial/nulls_sampled/make_reference.py

brainsmash ``Sampled.__call__(n=B)`` draws ``seeds = RandomState(seed).randint(2**31 - 1,
size=B)``; surrogate ``b`` then uses ``r = RandomState(seeds[b])`` for, in this order,
``r.permutation(n)``, ``r.choice(n, ns, replace=False)`` and ``r.randn(n)``
(``Sampled._call_method``, n_jobs=1).  The script rebuilds exactly those draws and stores them
next to brainsmash's surrogates.
"""
from pathlib import Path

import brainsmash
import numpy as np
import pandas as pd
from brainsmash.mapgen.sampled import Sampled
from scipy.spatial import cKDTree

OUT = Path(__file__).resolve().parent
FMT = "%.17g"
assert brainsmash.__version__ == "0.11.0", brainsmash.__version__

rs = np.random.RandomState(20240522)
n, knn = 300, 60
P = rs.uniform(0, 1, (n, 2))
# smooth field plus noise
x = np.sin(3 * P[:, 0]) + np.cos(4 * P[:, 1]) + 0.3 * rs.standard_normal(n)
pd.DataFrame({"x": P[:, 0], "y": P[:, 1], "value": x}).to_csv(
    OUT / "sampled_data.csv", index=False, float_format=FMT)

# kNN table with the spot itself in column 0 (as brainsmash expects: it drops column 0)
Dfull, Ifull = cKDTree(P).query(P, k=knn + 1)
assert np.array_equal(Ifull[:, 0], np.arange(n))  # no duplicate positions
pd.DataFrame(Ifull[:, 1:]).to_csv(OUT / "sampled_knn_index.csv", index=False)

CASES = {
    "default": dict(seed=31, ns=80),
    "gauss_resample": dict(seed=32, ns=120, kernel="gaussian", resample=True,
                           deltas=np.array([0.2, 0.5]), pv=50, nh=15),
}
B = 6
for tag, kw in CASES.items():
    kw = dict(kw)
    seed = kw.pop("seed")
    gen = Sampled(x, Dfull, Ifull, knn=knn, seed=seed, **kw)
    surr = gen(n=B)
    seeds = np.random.RandomState(seed).randint(np.iinfo(np.int32).max, size=B)
    perms, samples, noise = [], [], []
    for s in seeds:
        r = np.random.RandomState(s)
        perms.append(r.permutation(n))
        samples.append(r.choice(a=n, size=kw["ns"], replace=False))
        noise.append(r.randn(n))
    pd.DataFrame(np.array(perms)).to_csv(OUT / f"sampled_{tag}_perms.csv", index=False)
    pd.DataFrame(np.array(samples)).to_csv(OUT / f"sampled_{tag}_samples.csv", index=False)
    pd.DataFrame(np.array(noise)).to_csv(OUT / f"sampled_{tag}_noise.csv", index=False,
                                         float_format=FMT)
    pd.DataFrame(surr).to_csv(OUT / f"sampled_{tag}_surrogates.csv", index=False,
                              float_format=FMT)
    pd.DataFrame({"h": gen.h, "b": gen.b}).to_csv(OUT / f"sampled_{tag}_lags.csv", index=False,
                                                  float_format=FMT)
    print(tag, surr.shape, gen.b)
