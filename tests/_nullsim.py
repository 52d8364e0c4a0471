"""Simulated multi-centre cohorts for the validity tests and the validity benchmark.

Strong centre effects (location shifts of 1.5 SD per feature, residual SDs differing by centre),
covariates (age, sex) acting on both blocks, correlated features within each block (two latent
factors per block), and, under the null, no x-y association given centre and covariates.
``signal_pairs`` plants true associations on disjoint (x, y) pairs for FDR checks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: residual SD of each centre: "moderate" (default; ratio 1.6, about data_sim's log-scale SD 0.25)
#: and "strong" (ratio 3, where Freedman-Lane with pooled covariate slopes is slightly liberal)
CENTRE_SD = {"moderate": np.array([0.8, 1.0, 1.25]), "strong": np.array([0.6, 1.0, 1.8]),
             "none": np.ones(3)}


def simulate(n: int, p: int, q: int, rng, signal_pairs: int = 0, effect: float = 0.0,
             scale: str = "moderate"):
    """Return X, Y, covariates (age, sex, centre) and the boolean truth matrix (p x q).

    ``scale`` sets the centres' residual SDs (:data:`CENTRE_SD`); ``"none"`` makes them equal
    (the parametric model holds).
    """
    centre = np.resize(np.arange(3), n)
    rng.shuffle(centre)
    age = rng.normal(size=n)
    sex = rng.integers(0, 2, n).astype(float)
    sd = CENTRE_SD[scale][centre][:, None]

    def block(m):
        shift = rng.normal(scale=1.5, size=(3, m))[centre]
        load = rng.normal(scale=0.7, size=(2, m))
        latent = rng.normal(size=(n, 2))
        cov_effect = np.outer(age, rng.normal(scale=0.8, size=m)) + np.outer(sex, rng.normal(size=m))
        return shift + cov_effect + sd * (latent @ load + rng.normal(size=(n, m)))

    X = block(p)
    Y = block(q)
    truth = np.zeros((p, q), dtype=bool)
    if signal_pairs:
        # disjoint pairs sharing an independent component: every other pair stays null
        # (a signal through X itself would leak to all features correlated with it)
        js = rng.choice(p, size=signal_pairs, replace=False)
        ks = rng.choice(q, size=signal_pairs, replace=False)
        truth[js, ks] = True
        w = rng.normal(size=(n, signal_pairs)) * sd
        X[:, js] += effect * w
        Y[:, ks] += effect * w
    ids = [f"S{i:04d}" for i in range(n)]
    cov = pd.DataFrame({"age": age, "sex": sex, "centre": np.array(["C1", "C2", "C3"])[centre]},
                       index=ids)
    return (pd.DataFrame(X, index=ids), pd.DataFrame(Y, index=ids), cov, truth)
