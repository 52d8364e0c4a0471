"""Coverage of the bootstrap intervals of the first canonical correlation (``bootstrap_cca``).

Data: X ~ N(0, I_p), Y_j = rho_j X_j + sqrt(1 - rho_j^2) e_j (p = q = 4), so the population
canonical correlations are exactly rho = (rho1, 0.2, 0, 0).  For each scenario, ``N`` datasets;
on each, ``bootstrap_cca(CCA(n_components=1), ..., n_bootstraps=B)`` and the 95% intervals of
``BootstrapCCAResult.correlation_intervals`` ("percentile" and "basic", the reflected interval
on Fisher's z scale) are checked for containing rho1.  Prints a markdown table with the
coverage, its binomial 95% interval (Clopper-Pearson) and the mean in-sample r1 (its bias).

Run: ``python benchmarks/coverage_cca.py [N] [B]`` (default N = 500, B = 400; two processes).
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from scipy import stats

SCENARIOS = [(100, 0.5), (300, 0.5), (100, 0.3)]   # (n, rho1)


def simulate(n: int, rho1: float, rng, p: int = 4):
    g = np.random.default_rng(rng)
    rho = np.array([rho1, 0.2, 0.0, 0.0])[:p]
    X = g.standard_normal((n, p))
    Y = rho * X + np.sqrt(1 - rho ** 2) * g.standard_normal((n, p))
    return X, Y


def one(args):
    from radiogenomics.cca import CCA
    from radiogenomics.cca.inference import bootstrap_cca

    n, rho1, seed, B = args
    X, Y = simulate(n, rho1, seed)
    res = bootstrap_cca(CCA(n_components=1), X, Y, n_bootstraps=B, rng=seed.spawn(1)[0])
    out = [float(res.estimate[0])]
    for method in ("percentile", "basic"):
        ci = res.correlation_intervals(method).iloc[0]
        out.append(float(ci["lower"] <= rho1 <= ci["upper"]))
    return out


def coverage_interval(k: int, N: int):
    return stats.binomtest(int(k), N).proportion_ci(0.95)


def main(N: int = 500, B: int = 400):
    print(f"N = {N} datasets per scenario, B = {B} bootstrap resamples, nominal 95%, "
          "p = q = 4, rho = (rho1, 0.2, 0, 0)\n")
    print("| n | rho1 | mean in-sample r1 | percentile coverage [95% CI] | basic (Fisher z) coverage [95% CI] |")
    print("|---|---|---|---|---|")
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        for i, (n, rho1) in enumerate(SCENARIOS):
            seeds = np.random.SeedSequence([31, i]).spawn(N)
            res = np.array(list(pool.map(one, [(n, rho1, s, B) for s in seeds], chunksize=10)))
            cells = []
            for j in (1, 2):
                k = int(res[:, j].sum())
                ci = coverage_interval(k, N)
                cells.append(f"{k / N:.3f} [{ci.low:.3f}, {ci.high:.3f}]")
            print(f"| {n} | {rho1} | {res[:, 0].mean():.3f} | {cells[0]} | {cells[1]} |", flush=True)
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
