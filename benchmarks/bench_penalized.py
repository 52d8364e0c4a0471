"""Penalised regression with lambda chosen by 10-fold CV at n = 100, p = 20,000 (gaussian).

Times, in the same run:
- ``PenalizedModel(alpha, n_lambda=100, cv=10)`` (glmnet's lambda sequence and
  parameterisation; warm-started coordinate-descent paths from scikit-learn's ``enet_path``
  per fold, then one final fit at the chosen lambda);
- scikit-learn's ``ElasticNetCV(l1_ratio=alpha, alphas=100, cv=10)`` on the same data (its
  own grid, the usual user's call).
The shared reference README records R's ``cv.glmnet`` on the same design (n = 100,
p = 20,000, 10 folds, 100 lambdas): 2.8 s (lasso) and 2.3 s (alpha 0.5) of CPU on "this kind of
machine"; R is not installed here, so that figure is quoted, not re-measured.
Usage: ``python benchmarks/bench_penalized.py``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np


def main(n=100, p=20_000, seed=0):
    from sklearn.linear_model import ElasticNetCV

    from radiogenomics.penalized import PenalizedModel

    g = np.random.default_rng(seed)
    X = g.standard_normal((n, p))
    beta = np.zeros(p)
    beta[:20] = g.normal(0, 1, 20)
    y = X @ beta + g.standard_normal(n)
    rows = []
    for alpha in (1.0, 0.5):
        t0 = time.perf_counter()
        m = PenalizedModel(alpha=alpha, n_lambda=100, cv=10, rng=1).fit(X, y)
        t_ours = time.perf_counter() - t0
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings(record=True) as caught:   # counted and reported, not hidden
            warnings.simplefilter("always", ConvergenceWarning)
            t0 = time.perf_counter()
            ElasticNetCV(l1_ratio=alpha, alphas=100, cv=10).fit(X, y)
            t_sk = time.perf_counter() - t0
        n_sk = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
        ref = {1.0: 2.8, 0.5: 2.3}[alpha]
        print(f"alpha {alpha}: PenalizedModel {t_ours:6.2f} s ({len(m.selected_features_)} "
              f"features kept, {len(m.convergence_warnings_)} convergence warnings) | sklearn "
              f"ElasticNetCV {t_sk:6.2f} s ({n_sk} convergence warnings; ratio "
              f"{t_sk / t_ours:4.2f}x) | cv.glmnet (recorded, not this machine) {ref} s",
              flush=True)
        rows.append({"alpha": alpha, "ours_s": t_ours, "sklearn_s": t_sk})
    return rows


if __name__ == "__main__":
    main()
