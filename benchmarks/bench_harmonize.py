"""ComBat timings: 1,000 samples x 1,500 features, 4 centres, beside neuroCombat in the same run.

neuroCombat (the Python port many users know; ``pip install neuroCombat``, not a dependency of
this project) is timed when installed.  Non-parametric ComBat is also compared with the recorded
``sva::ComBat(par.prior = FALSE)`` figures of ``shared/refdata/combat/README.md`` (O(features^2):
61 s for 1,000 and 373 s for 2,000 probes on this kind of machine).
Usage: ``python benchmarks/bench_harmonize.py``.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
from _common import best_time, matmul_gflops  # noqa: E402

from radiogenomics.harmonize import ComBat  # noqa: E402


def main():
    rng = np.random.default_rng(0)
    n, p = 1000, 1500
    batch = np.repeat(np.arange(4), n // 4)
    age = rng.normal(60, 10, n)
    X = rng.normal(size=(n, p)) + rng.normal(size=(4, p))[batch] + 0.02 * age[:, None]
    cov = pd.DataFrame({"age": age})
    print(f"{n} samples x {p} features, 4 centres; machine matmul {matmul_gflops():.1f} GFLOP/s")
    ComBat().fit_transform(X, batch, cov)          # warm up
    ComBat(parametric=False).fit_transform(X[::20, :20], batch[::20])   # compile Numba
    t_par = best_time(lambda: ComBat().fit_transform(X, batch, cov), 3)
    t_np = best_time(lambda: ComBat(parametric=False).fit_transform(X, batch, cov), 2)
    print(f"ComBat parametric       {t_par:7.3f} s")
    print(f"ComBat non-parametric   {t_np:7.3f} s   (sva, recorded: 61 s at 1,000 features, O(p^2))")
    try:
        from neuroCombat import neuroCombat
    except ImportError:
        print("neuroCombat not installed: pip install neuroCombat to time it beside ours")
        return
    covars = pd.DataFrame({"batch": batch, "age": age})
    t_nc = best_time(lambda: neuroCombat(dat=X.T, covars=covars, batch_col="batch",
                                         continuous_cols=["age"]), 3)
    print(f"neuroCombat parametric  {t_nc:7.3f} s   ratio {t_nc / t_par:6.1f}x")
    t_ncn = best_time(lambda: neuroCombat(dat=X.T, covars=covars, batch_col="batch",
                                          continuous_cols=["age"], parametric=False), 1)
    print(f"neuroCombat non-param.  {t_ncn:7.3f} s   ratio {t_ncn / t_np:6.1f}x")


if __name__ == "__main__":
    main()
