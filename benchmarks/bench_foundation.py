"""Foundation benchmarks: cohort generation and the parametric association screen.

Each figure is printed beside a reference measured in the same run:
- ``make_cohort`` (n=300, 1,000 radiomic features, 20,000 genes) against the bare cost of
  the random numbers it must draw (standard normals for both blocks plus gamma-Poisson
  counts for the expression block) with NumPy's Generator;
- ``associate`` (every radiomic feature x every gene, adjusted for age, sex, centre) against
  one matrix product of the same shapes (n x p)^T (n x q), the floor for any all-pairs screen.
Run: ``python benchmarks/bench_foundation.py`` (or ``make bench``).
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import best_time, matmul_gflops, row  # noqa: E402

import data_sim  # noqa: E402
from radiogenomics.association import associate  # noqa: E402

N, P, Q = 300, 1000, 20000


def rng_floor():
    g = np.random.default_rng(1)
    g.standard_normal((N, P))
    g.standard_normal((N, Q))
    g.standard_normal((N, Q))
    g.poisson(g.gamma(5.0, 20.0, size=(N, Q)))


def main() -> None:
    print(f"machine matmul rate: {matmul_gflops():.1f} GFLOP/s (float64, 1500^2)")
    t_sim = best_time(lambda: data_sim.make_cohort(N, n_radiomic=P, n_genes=Q, rng=0), repeat=2)
    t_floor = best_time(rng_floor, repeat=2)
    print(row(f"make_cohort n={N}, p={P}, q={Q}", t_sim, "draws only (normals + NB counts)", t_floor))

    cohort, _ = data_sim.make_cohort(N, n_radiomic=P, n_genes=Q, rng=0)
    paired = cohort.paired("radiomics", "expression")
    X, Y = paired.to_numpy("radiomics"), paired.to_numpy("expression")
    t_assoc = best_time(lambda: associate(cohort, x="radiomics", y="expression"), repeat=2)
    t_mm = best_time(lambda: X.T @ Y, repeat=3)
    print(row(f"associate {X.shape[1]}x{Y.shape[1]} pairs, n={X.shape[0]}", t_assoc,
              "one X^T Y product (same shapes)", t_mm))


if __name__ == "__main__":
    main()
