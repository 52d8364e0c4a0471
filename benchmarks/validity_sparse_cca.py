"""Type-I error of the sparse CCA permutation p-value (``sparse_cca_permute``), by simulation.

The larger version of ``tests/test_cca_sparse.py::test_sparse_permutation_pvalue_type_one_error``.
For one fixed penalty pair the p-value ``(1 + #{r* >= r}) / (1 + B)`` of the first sparse
canonical correlation is computed on null data (X independent of Y) over many datasets; the
rejection rates at alpha = 0.05 and 0.10 are printed with their exact binomial 95% intervals
around alpha.  With ``B + 1`` a multiple of 20 the discrete p-value has ``P(p <= alpha) = alpha``
exactly when the test is valid.

Two starts of the permuted fits (3 PMD passes each, as PMA's ``CCA.permute``):

* ``permuted`` (the default since issue 14): each permuted fit starts from the leading right
  singular vector of its own ``X'PY``, as the observed fit does, so the null is that of the
  observed statistic;
* ``observed`` (PMA 1.2-4's ``CCA.permute``): every permuted fit starts from the *observed*
  data's start vector, which favours the observed fit after 3 passes.

Scenarios: ``small`` n = 40, p = 30, q = 60; ``wide`` n = 60, p = 50, q = 500; ``centres``
n = 60 in 3 centres whose location shifts are shared by X and Y (null within centres), p = 20,
q = 100, permutations within centres.  Penalties 0.3 / 0.3 and 0.6 / 0.6.

Usage: ``python benchmarks/validity_sparse_cca.py [--datasets 1000] [--permutations 99]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from radiogenomics.cca import sparse_cca_permute

SCENARIOS = {
    "small": dict(n=40, p=30, q=60, centres=False),
    "wide": dict(n=60, p=50, q=500, centres=False),
    "centres": dict(n=60, p=20, q=100, centres=True),
}


def simulate(rng, n, p, q, centres):
    X = rng.standard_normal((n, p))
    Y = rng.standard_normal((n, q))
    blocks = None
    if centres:
        blocks = np.repeat([0, 1, 2], n // 3)
        shift = np.array([-1.5, 0.0, 1.5])[blocks]
        X[:, : p // 2] += shift[:, None]
        Y[:, : q // 2] += shift[:, None]
    return X, Y, blocks


def binom_interval(alpha, datasets, level=0.95):
    lo, hi = stats.binom.interval(level, datasets, alpha)
    return lo / datasets, hi / datasets


def run(scenario, penalty, null_init, datasets, B, seed):
    cfg = SCENARIOS[scenario]
    ps = np.empty(datasets)
    for i, s in enumerate(np.random.SeedSequence(seed).spawn(datasets)):
        rng = np.random.default_rng(s)
        X, Y, blocks = simulate(rng, **cfg)
        res = sparse_cca_permute(X, Y, penalty, penalty, n_permutations=B, rng=rng,
                                 exchangeability_blocks=blocks, null_init=null_init)
        ps[i] = res.table.pvalue.iloc[0]
    return ps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", type=int, default=1000)
    ap.add_argument("--permutations", type=int, default=99)
    ap.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    ap.add_argument("--penalties", nargs="+", type=float, default=[0.3, 0.6])
    ap.add_argument("--seed", type=int, default=20241214)
    args = ap.parse_args(argv)
    D, B = args.datasets, args.permutations
    i05, i10 = binom_interval(0.05, D), binom_interval(0.10, D)
    print(f"sparse_cca_permute type-I error: {D} null datasets per row, B = {B} permutations, "
          "one penalty pair, 3 PMD passes")
    print(f"binomial 95% interval: alpha 0.05 [{i05[0]:.4f}, {i05[1]:.4f}], "
          f"alpha 0.10 [{i10[0]:.4f}, {i10[1]:.4f}]")
    print(f"{'scenario':9s} {'penalty':>7s} {'null_init':>9s} {'P(p<=.05)':>10s} {'P(p<=.10)':>10s}"
          f" {'valid':>6s} {'seconds':>8s}")
    for sc in args.scenarios:
        for pen in args.penalties:
            for init in ("permuted", "observed"):
                t0 = time.perf_counter()
                ps = run(sc, pen, init, D, B, args.seed)
                r05, r10 = np.mean(ps <= 0.05), np.mean(ps <= 0.10)
                ok = i05[0] <= r05 <= i05[1] and i10[0] <= r10 <= i10[1]
                print(f"{sc:9s} {pen:7.2f} {init:>9s} {r05:10.4f} {r10:10.4f} "
                      f"{'yes' if ok else 'NO':>6s} {time.perf_counter() - t0:8.1f}", flush=True)


if __name__ == "__main__":
    main()
