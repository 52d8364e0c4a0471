"""Max-T permutation screen: throughput against the machine's own matrix-multiply rate.

The issue's size: n = 100 samples, p = 100 radiomic features, q = 20,000 genes,
B = 1,000 Freedman-Lane permutations, covariates age + sex.  Work is counted as
``2 n p q B`` floating-point operations (the all-pairs products of every permutation).

Printed side by side, all measured in this run:
- the machine's float64 matrix-multiply rate (square 2000 x 2000 product, best of 5, measured
  before and after the screens; the larger is the reference, so noise cannot flatter us);
- ``associate(..., n_permutations=B, correction="maxT")`` on each CPU backend (and CuPy when a
  GPU is present), best of ``--repeat`` calls (one for the slow NumPy backend), in GFLOP/s and
  as a share of the matmul rate, with peak memory (traced in the first call);
- the load average before and after (other processes on a shared machine slow both the
  screen and the reference; the figures are only comparable at a low load);
- a plain NumPy per-permutation loop (permute residuals, one product, reduce), timed on a few
  permutations and extrapolated to B;
- ``scipy.stats.permutation_test`` on one pair (Pearson r of the covariate residuals, B
  resamples, vectorised), extrapolated to all p x q pairs.

Usage: ``python benchmarks/bench_resampling.py [--permutations B] [--genes Q] [--backends ...]
[--repeat K]``
(4e11 flops at the default size: seconds per backend; the NumPy loop and SciPy are extrapolated).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
from _common import matmul_gflops  # noqa: E402

from radiogenomics.association import associate, residualise  # noqa: E402
from radiogenomics.resampling import cupy_available  # noqa: E402


def make_data(n, p, q, seed=0):
    rng = np.random.default_rng(seed)
    ids = [f"S{i:03d}" for i in range(n)]
    cov = pd.DataFrame({"age": rng.normal(60, 10, n), "sex": rng.integers(0, 2, n)}, index=ids)
    X = pd.DataFrame(rng.normal(size=(n, p)), index=ids, columns=[f"x{j}" for j in range(p)])
    Y = pd.DataFrame(rng.normal(size=(n, q)), index=ids, columns=[f"g{k}" for k in range(q)])
    return X, Y, cov


def numpy_loop(X, Y, Z, n_perm, rng):
    """The straightforward implementation: per permutation, refit by residualising and correlating."""
    Q, _ = np.linalg.qr(Z)
    A = residualise(X, Z)
    A /= np.linalg.norm(A, axis=0)
    fitted = Q @ (Q.T @ Y)
    resid = Y - fitted
    U = resid / np.linalg.norm(resid, axis=0)
    obs = np.abs(A.T @ U)
    counts = np.zeros(obs.shape, dtype=np.int64)
    maxes = []
    for _ in range(n_perm):
        Ys = resid[rng.permutation(len(Y))] + fitted
        Rs = Ys - Q @ (Q.T @ Ys)
        r = np.abs(A.T @ (Rs / np.linalg.norm(Rs, axis=0)))
        counts += r >= obs
        maxes.append(r.max())
    return counts, maxes


def scipy_one_pair(x, y, B):
    from scipy import stats

    def stat(a, axis=-1):
        return np.sum(a * x, axis=axis)  # x, y unit residuals: r = x . y

    return stats.permutation_test((y,), stat, permutation_type="pairings", n_resamples=B,
                                  vectorized=True, rng=0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--features", type=int, default=100)
    ap.add_argument("--genes", type=int, default=20000)
    ap.add_argument("--permutations", type=int, default=1000)
    ap.add_argument("--backends", nargs="+", default=None)
    ap.add_argument("--repeat", type=int, default=3,
                    help="timed calls per backend, best kept (NumPy backend: one)")
    args = ap.parse_args(argv)
    n, p, q, B = args.samples, args.features, args.genes, args.permutations
    backends = args.backends or (["numba", "numpy"] + (["cupy"] if cupy_available() else []))
    X, Y, cov = make_data(n, p, q)
    flops = 2.0 * n * p * q * B
    load0 = os.getloadavg()
    mm = matmul_gflops(2000, repeat=5)
    print(f"n={n}, p={p}, q={q}, B={B}: {flops:.3g} flop; load average {_load(load0)}")
    print(f"machine float64 matmul rate (2000^2, best of 5): {mm:.1f} GFLOP/s")
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for be in backends:  # compile the Numba kernel / CUDA kernel, warm up BLAS, outside the timing
        associate(X.iloc[:, :5], Y.iloc[:, :50], covariates=cov, n_permutations=20, rng=0, backend=be)
    gf_cpu = None
    for be in backends:
        if be == "cupy":
            import cupy

            cupy.cuda.Device().synchronize()
            mm_gpu = _cupy_matmul_gflops()
            print(f"GPU float64 matmul rate (8192^2 cuBLAS): {mm_gpu:.0f} GFLOP/s")
        dt, times = np.inf, []
        for r in range(1 if be == "numpy" else max(1, args.repeat)):
            if r == 0:
                tracemalloc.start()
            t0 = time.perf_counter()
            res = associate(X, Y, covariates=cov, n_permutations=B, correction="maxT", rng=1,
                            backend=be, progress=False)
            times.append(time.perf_counter() - t0)
            if r == 0:
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
        dt = min(times)
        gf = flops / dt / 1e9
        if be == "numba":
            gf_cpu = gf
        ref = mm_gpu if be == "cupy" else mm
        print(f"associate maxT [{be:5s}] {dt:9.2f} s  {gf:8.1f} GFLOP/s  = {gf / ref:6.1%} of the "
              f"{'GPU' if be == 'cupy' else 'CPU'} matmul rate; peak traced memory "
              f"{peak / 2**20:7.0f} MiB; min p_fwer {res.p_fwer.to_numpy().min():.3g}; calls "
              + " ".join(f"{t:.2f}" for t in times) + " s")
    mm_after = matmul_gflops(2000, repeat=5)
    print(f"machine float64 matmul rate again: {mm_after:.1f} GFLOP/s; numba share against the larger "
          f"of the two: {gf_cpu / max(mm, mm_after):.1%}" if gf_cpu else "")
    print(f"load average after the screens: {_load(os.getloadavg())}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS {rss:.0f} MiB (before the screens: {base_rss:.0f} MiB)")

    # plain NumPy loop, a few permutations, extrapolated
    Z = np.column_stack([np.ones(n), cov.to_numpy(float)])
    k = max(3, min(20, B))
    t0 = time.perf_counter()
    numpy_loop(X.to_numpy(), Y.to_numpy(), Z, k, np.random.default_rng(0))
    t_loop = (time.perf_counter() - t0) / k * B
    print(f"plain NumPy per-permutation loop: {t_loop:9.1f} s for B={B} (from {k} permutations), "
          f"{flops / t_loop / 1e9:.1f} GFLOP/s")
    # scipy.stats.permutation_test on one pair, extrapolated to all pairs
    A = residualise(X.to_numpy()[:, :1], Z)[:, 0]
    U = residualise(Y.to_numpy()[:, :1], Z)[:, 0]
    A /= np.linalg.norm(A)
    U /= np.linalg.norm(U)
    t0 = time.perf_counter()
    reps = 5
    for _ in range(reps):
        scipy_one_pair(A, U, B)
    t_one = (time.perf_counter() - t0) / reps
    t_sp = t_one * p * q
    print(f"scipy.stats.permutation_test one pair: {t_one * 1e3:.2f} ms -> all {p * q} pairs "
          f"{t_sp:,.0f} s ({t_sp / 3600:.1f} h); no max-T")


def _load(avg) -> str:
    return "/".join(f"{x:.2f}" for x in avg) + " (1/5/15 min)"


def _cupy_matmul_gflops(n=8192):
    import cupy

    a = cupy.random.standard_normal((n, n))
    b = cupy.random.standard_normal((n, n))
    a @ b
    cupy.cuda.Device().synchronize()
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        a @ b
        cupy.cuda.Device().synchronize()
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


if __name__ == "__main__":
    main()
