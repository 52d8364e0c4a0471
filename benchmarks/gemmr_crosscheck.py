"""Required sample sizes for CCA: radiogenomics' simulation beside gemmr's tabulated values.

gemmr (Helmer et al. 2024) tabulates the n at which CCA on data with flat within-set spectra
(ax = ay = 0) reaches its *combined* criterion: permutation-test power >= 0.9 **and** relative
errors <= 0.1 of the canonical correlation, weights, scores and loadings
(``tests/data/cca/gemmr_cca_sample_size_grid.csv``).  Here, with
``radiogenomics.studies.cca_power`` on the same data model (identity within-set covariance, one
canonical correlation r):
- ``n_power``: smallest n with simulated power >= 0.9 (permutation test of r1, B = 199,
  alpha 0.05; bisection, 300 replicates per n);
- ``n_r_error``: smallest n with mean |r1_hat - r| / r <= 0.1 (bisection, 300 replicates,
  common random numbers across n);
beside gemmr's combined n.  Usage: ``python benchmarks/gemmr_crosscheck.py``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from radiogenomics.power import required_sample_size, run_study
from radiogenomics.studies import cca_power

GRID = Path(__file__).resolve().parent.parent / "tests" / "data" / "cca" / \
    "gemmr_cca_sample_size_grid.csv"


def n_for_error(p, r, bound=0.1, n_rep=300, lo=None, hi=20000):
    lo = lo or 2 * p + 3

    def err(n):
        res = run_study(cca_power, {"n": [n], "p": [p], "q": [p], "r": [r],
                                    "n_permutations": [19]},
                        n_replicates=n_rep, rng=1, n_workers=2, progress=False,
                        seed_exclude=("n",))     # common random numbers across n
        return float(res.table["mean_relative_error"].iloc[0])

    if err(hi) > bound:
        return None
    while hi - lo > max(1, int(0.02 * lo)):
        mid = (lo + hi) // 2
        if err(mid) <= bound:
            hi = mid
        else:
            lo = mid
    return hi


def main():
    g = pd.read_csv(GRID)
    g = g[(g["method"] == "CCA") & (g["ax"] == 0.0) & (g["px"].isin([2, 8]))
          & (g["r_true"].isin([0.3, 0.5]))]
    rows = []
    for _, row in g.iterrows():
        p, r = int(row["px"]), float(row["r_true"])
        sp = required_sample_size(cca_power, {"p": p, "q": p, "r": r, "n_permutations": 199},
                                  target_power=0.9, n_range=(2 * p + 3, 2000), n_replicates=300,
                                  rng=1, n_workers=2, alpha=0.05)
        ne = n_for_error(p, r)
        rows.append({"p = q": p, "r": r, "n_power_0.9 (ours)": sp.n_required,
                     "n_r_error_0.1 (ours)": ne, "gemmr combined n": int(row["n_required"])})
        print(rows[-1], flush=True)
    out = pd.DataFrame(rows)
    print(out.to_string(index=False))
    return out


if __name__ == "__main__":
    main()
