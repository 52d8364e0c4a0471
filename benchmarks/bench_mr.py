"""Mendelian randomisation timings beside the R packages' recorded ones.

- ``mr()`` with TwoSampleMR's default methods (nboot = 1,000) on 100 and 1,000 instruments;
  recorded R: ``TwoSampleMR::mr(dat)`` 6.87 CPU-s (100 SNPs) and 9.83 CPU-s (1,000 SNPs).
- ``mr()`` with every method on 100 instruments; recorded R (18 methods incl. RAPS): 17.5 CPU-s.
- ``mr_presso`` with 10,000 distributions on 97 instruments; recorded R (MRPRESSO 1.0):
  2,008 s wall / 1,982 CPU-s (``shared/refdata/mr/timings.csv``, this kind of machine).
- in-run reference: the machine's float64 matmul rate.
R and the R packages cannot be installed here (CRAN unreachable), so the R figures are the
recorded ones.  Usage: ``python benchmarks/bench_mr.py``.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
from _common import matmul_gflops  # noqa: E402

from radiogenomics.mr.estimators import METHODS, mr  # noqa: E402
from radiogenomics.mr.presso import mr_presso  # noqa: E402

R_MR_DEFAULT = {100: 6.872, 1000: 9.833}      # CPU-s, TwoSampleMR::mr(dat), default methods
R_MR_ALL_100 = 17.509                          # CPU-s, 18 methods on 100 SNPs
R_PRESSO_10000_97 = 1981.593                   # CPU-s (2007.6 s wall), NbDistribution = 10,000


def harmonised(n_snp: int, seed: int = 0, n_outliers: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    gamma = rng.uniform(0.03, 0.15, n_snp)
    sx, sy = rng.uniform(0.005, 0.015, n_snp), rng.uniform(0.01, 0.03, n_snp)
    alpha = np.zeros(n_snp)
    alpha[:n_outliers] = rng.choice([-1, 1], n_outliers) * 0.15
    return pd.DataFrame({
        "SNP": [f"rs{i}" for i in range(n_snp)], "beta.exposure": gamma + rng.normal(0, sx),
        "se.exposure": sx, "beta.outcome": 0.2 * gamma + alpha + rng.normal(0, sy),
        "se.outcome": sy, "id.exposure": "X", "id.outcome": "Y", "exposure": "X",
        "outcome": "Y", "mr_keep": True})


def timed(fn):
    t0 = time.process_time()
    w0 = time.perf_counter()
    out = fn()
    return out, time.process_time() - t0, time.perf_counter() - w0


def main():
    print(f"machine float64 matmul rate: {matmul_gflops():.1f} GFLOP/s")
    mr(harmonised(30), rng=0)  # warm up (compiles Numba code)
    for n in (100, 1000):
        _, cpu, wall = timed(lambda: mr(harmonised(n), rng=1))
        print(f"mr() default methods, {n:5d} SNPs: {wall:7.3f} s wall, {cpu:7.3f} CPU-s   R "
              f"{R_MR_DEFAULT[n]:6.2f} CPU-s   ratio {R_MR_DEFAULT[n] / cpu:7.0f}x")
    _, cpu, wall = timed(lambda: mr(harmonised(100), method_list=list(METHODS), rng=1))
    print(f"mr() all {len(METHODS)} methods, 100 SNPs: {wall:7.3f} s wall, {cpu:7.3f} CPU-s   R (18 "
          f"methods) {R_MR_ALL_100:6.2f} CPU-s   ratio {R_MR_ALL_100 / cpu:7.0f}x")
    dat = harmonised(97, seed=3, n_outliers=7)
    mr_presso(dat, n_distribution=200, rng=0)  # warm up
    res, cpu, wall = timed(lambda: mr_presso(dat, n_distribution=10_000, rng=1))
    print(f"mr_presso 10,000 distributions, 97 SNPs: {wall:7.2f} s wall, {cpu:7.2f} CPU-s   R "
          f"{R_PRESSO_10000_97:7.0f} CPU-s   ratio {R_PRESSO_10000_97 / cpu:7.0f}x")


if __name__ == "__main__":
    main()
