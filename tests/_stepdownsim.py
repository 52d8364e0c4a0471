"""Simulated data for the validity of the step-down CCA test (tests and benchmarks).

``n_true`` planted canonical components of correlation 0.8 (latent ``z_j`` added with weight 2
to X column j and Y column j); the next component is null, so the p-value of component
``n_true + 1`` must be uniform.  Scenarios:

* ``"free"``: no covariates, free permutation;
* ``"covariates"``: age and sex act on every column of both blocks (slopes 0.5 and 1);
* ``"blocks"``: 3 centres (sizes 20/25/15) shifting every column by up to 1.5 SD and scaling
  the noise by 0.7/1/1.4 per centre, the covariates as above; permutation within centres
  (nuisance fitted per centre).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SCENARIOS = ("free", "covariates", "blocks")


def simulate(scenario: str, n_true: int, rng, n: int = 60, p: int = 4, q: int = 4):
    g = np.random.default_rng(rng)
    X = g.standard_normal((n, p))
    Y = g.standard_normal((n, q))
    for j in range(n_true):
        z = g.standard_normal(n)
        X[:, j] += 2.0 * z
        Y[:, j] += 2.0 * z
    cov, blocks = None, None
    if scenario in ("covariates", "blocks"):
        age = g.normal(0, 1, n)
        sex = g.integers(0, 2, n).astype(float)
        X += 0.5 * age[:, None] + sex[:, None]
        Y += 0.5 * age[:, None] - sex[:, None]
        cov = pd.DataFrame({"age": age, "sex": sex})
    if scenario == "blocks":
        blocks = np.repeat(np.array(["A", "B", "C"]), [20, 25, n - 45])
        shift = {"A": 0.0, "B": 1.5, "C": -1.0}
        scale = {"A": 0.7, "B": 1.0, "C": 1.4}
        for c in "ABC":
            m = blocks == c
            X[m] = X[m] * scale[c] + shift[c]
            Y[m] = Y[m] * scale[c] - shift[c]
    return X, Y, cov, blocks


def rejection_rate(scenario: str, n_true: int, n_datasets: int, B: int, rng, statistic="roy",
                   alpha: float = 0.05) -> tuple[float, np.ndarray]:
    """Share of datasets whose component ``n_true + 1`` has p <= alpha, and all its p-values."""
    from radiogenomics.cca.stepdown import cca_stepdown_test

    seeds = np.random.SeedSequence(rng).spawn(n_datasets)
    pv = np.empty(n_datasets)
    for i, s in enumerate(seeds):
        X, Y, cov, blocks = simulate(scenario, n_true, s)
        res = cca_stepdown_test(X, Y, covariates=cov, exchangeability_blocks=blocks,
                                n_components=n_true + 1, statistic=statistic,
                                n_permutations=B, rng=s.spawn(1)[0])
        pv[i] = res.pvalues[n_true]
    return float(np.mean(pv <= alpha + 1e-12)), pv
