"""Validity by simulation, the larger version of ``tests/test_validity.py``.

Family-wise error of max-T (Freedman-Lane, B permutations) under the null over many datasets
for each scenario, with its binomial 95% interval around alpha = 0.05; and the per-test
rejection rate of the parametric OLS p-values in the same data (to show when the parametric
model fails and permutation within centres is needed).  Datasets whose per-centre design is
singular (a covariate constant within a small centre, ``slopes`` only) are skipped and counted.

Scenarios (``tests/_nullsim.py``): 3 centres with 1.5-SD location shifts, covariates age and
sex on both blocks, correlated features; residual SD by centre equal (``none``), ``moderate``
(0.8 / 1 / 1.25) or ``strong`` (0.6 / 1 / 1.8); permutations within centres or free; n = 30 or
100; p = 20, q = 500.

With ``--exact``, instead: the exhaustive mode at tiny n (every distinct permutation
enumerated when there are no more than B + 1: free n = 5, 120; two blocks of 3, 36; four
whole blocks of 2, 24).  Under the null the p-value is then exactly uniform on {1/N, ..., 1},
so the rejection rate at the largest attainable level k/N <= 0.05 must equal k/N (binomial
95% interval printed); the table also checks that every p is a multiple of 1/N.

Usage: ``python benchmarks/validity_resampling.py [--datasets 2000] [--permutations 199]
[--scales none moderate strong] [--exact]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from scipy import stats

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from _nullsim import simulate  # noqa: E402

from radiogenomics import CohortValidationError  # noqa: E402
from radiogenomics.association import associate  # noqa: E402

SCENARIOS = [(scale, n, blocks) for scale in ("none", "moderate", "strong") for n in (30, 100)
             for blocks in ("within", "slopes", "free")]
#: within: within-centre permutation, covariate slopes pooled; slopes: within-centre with
#: covariate slopes per centre (covariates_by_block=True); free: free permutation


def run(scale, n, blocks, datasets, B, seed):
    rng = np.random.default_rng(seed)
    fwer = skipped = 0
    param = 0.0
    for _ in range(datasets):
        X, Y, cov, _ = simulate(n, 20, 500, rng, scale=scale)
        try:
            res = associate(X, Y, covariates=cov, n_permutations=B, correction="maxT", rng=rng,
                            exchangeability_blocks=None if blocks == "free" else cov["centre"],
                            covariates_by_block=blocks == "slopes")
        except CohortValidationError:  # a covariate constant within a small centre
            skipped += 1
            continue
        fwer += int(res.p_fwer.to_numpy().min() <= 0.05)
        param += float((res.pvalues.to_numpy() <= 0.05).mean())
    used = datasets - skipped
    return fwer / used, param / used, skipped


EXACT = [("free, n = 5", 5, None, False),
         ("2 blocks of 3", 6, np.repeat([0, 1], 3), False),
         ("4 whole blocks of 2", 8, np.repeat([0, 1, 2, 3], 2), True)]


def run_exact(datasets, seed):
    """Rejection rates of exhaustively enumerated permutation p-values under the null."""
    import math

    import pandas as pd

    print(f"exhaustive enumeration, {datasets} null datasets per scheme (x normal, y t3), "
          "B = 999 asked")
    print(f"{'scheme':<22s} {'N perms':>7s} {'level k/N':>9s} {'rate':>7s} {'95% interval':>17s} "
          f"{'in':>5s} {'p on grid':>9s} {'s':>5s}")
    for i, (label, n, blocks, whole) in enumerate(EXACT):
        g = np.random.default_rng(seed * 100 + i)
        t0 = time.perf_counter()
        ps = np.empty(datasets)
        N = 0
        for d in range(datasets):
            X = pd.DataFrame({"x": g.normal(size=n)})
            Y = pd.DataFrame({"y": g.standard_t(3, size=n)})
            res = associate(X, Y, n_permutations=999, exchangeability_blocks=blocks,
                            whole_blocks=whole, rng=d, backend="numpy")
            assert res.exhaustive_permutations
            N = res.n_permutations + 1
            ps[d] = res.p_permutation.iloc[0, 0]
        k = math.floor(0.05 * N + 1e-9)
        level = k / N
        rate = float(np.mean(ps <= level + 1e-12))
        lo, hi = stats.binom.interval(0.95, datasets, level)
        on_grid = bool(np.allclose(ps * N, np.rint(ps * N)))
        print(f"{label:<22s} {N:>7d} {level:>9.4f} {rate:>7.4f} "
              f"[{lo / datasets:.4f}, {hi / datasets:.4f}] {str(lo <= rate * datasets <= hi):>5s} "
              f"{str(on_grid):>9s} {time.perf_counter() - t0:>5.0f}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", type=int, default=2000)
    ap.add_argument("--permutations", type=int, default=199)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scales", nargs="+", default=["none", "moderate", "strong"])
    ap.add_argument("--exact", action="store_true",
                    help="validity of the exhaustive enumeration at tiny n instead")
    args = ap.parse_args(argv)
    if args.exact:
        run_exact(args.datasets, args.seed)
        return
    lo, hi = stats.binom.interval(0.95, args.datasets, 0.05)
    print(f"{args.datasets} datasets per scenario, B = {args.permutations}; binomial 95% interval "
          f"around 0.05: [{lo / args.datasets:.4f}, {hi / args.datasets:.4f}]")
    print(f"{'centre SDs':<10s} {'n':>4s} {'perm.':<7s} {'max-T FWER':>10s} {'in interval':>11s} "
          f"{'param. rate':>11s} {'skipped':>7s} {'s':>6s}")
    for i, (scale, n, blocks) in enumerate(SCENARIOS):  # seeds fixed per scenario
        if scale not in args.scales:
            continue
        t0 = time.perf_counter()
        fwer, param, skipped = run(scale, n, blocks, args.datasets, args.permutations,
                                   args.seed * 1000 + i)
        ok = lo / args.datasets <= fwer <= hi / args.datasets
        print(f"{scale:<10s} {n:>4d} {blocks:<7s} {fwer:>10.4f} {str(ok):>11s} {param:>11.4f} "
              f"{skipped:>7d} {time.perf_counter() - t0:>6.0f}", flush=True)


if __name__ == "__main__":
    main()
