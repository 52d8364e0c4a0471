"""Type-I error of the step-down CCA permutation test at components 1, 2 and 3.

For each scenario of ``tests/_stepdownsim.py`` (free; covariates; centre blocks with location
and scale effects plus covariates, permuted within centres) and each number of planted
components t = 0, 1, 2, the p-value of component t + 1 (the first null one) is computed on
``N`` simulated datasets (n = 60, P = Q = 4, B = 99: an exact 0.05-level test has rejection
probability exactly 0.05) with :func:`radiogenomics.cca.stepdown.cca_stepdown_test` (Winkler
et al. 2020, Roy's and Wilks' statistics), and, for comparison, with the previous
Freedman-Lane-style scheme (``cca_permutation_test(CCA(), ..., method="freedman-lane")``, the
only scheme before; it still serves ridge and sparse CCA).
Prints a markdown table with the binomial 95% interval around 0.05.

Run: ``python benchmarks/validity_cca_stepdown.py [N] [--seed S] [--winkler-only]`` (default
N = 2000, seed 11: about 4 minutes on one core).  ``--winkler-only`` leaves out the previous
scheme (the 10,000-dataset table in ``benchmarks/README.md`` is ``10000 --seed 12
--winkler-only``, about 9 minutes).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
from scipy import stats

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from _stepdownsim import SCENARIOS, rejection_rate, simulate  # noqa: E402


def previous_scheme_rate(scenario, n_true, n_datasets, B, rng, alpha=0.05):
    import warnings

    from radiogenomics.cca import CCA, cca_permutation_test

    seeds = np.random.SeedSequence(rng).spawn(n_datasets)
    rej = 0
    for s in seeds:
        X, Y, cov, blocks = simulate(scenario, n_true, s)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = cca_permutation_test(CCA(n_components=n_true + 1), X, Y, covariates=cov,
                                       exchangeability_blocks=blocks, n_permutations=B,
                                       rng=s.spawn(1)[0], method="freedman-lane")
        p = res.to_frame()["p_step"].to_numpy()[n_true]
        rej += p <= alpha + 1e-12
    return rej / n_datasets


def main(N: int = 2000, B: int = 99, seed: int = 11, previous: bool = True):
    lo, hi = stats.binom.ppf([0.025, 0.975], N, 0.05) / N
    print(f"N = {N} datasets per cell, B = {B}, seed {seed}; binomial 95% interval around 0.05: "
          f"[{lo:.4f}, {hi:.4f}]\n")
    head = "| scenario | tested component (first null) | Winkler, Roy | Winkler, Wilks |"
    print(head + (" previous scheme (Roy, Freedman-Lane residuals) |" if previous else ""))
    print("|---|---|---|---|" + ("---|" if previous else ""))
    t0 = time.perf_counter()
    flag = lambda r: f"**{r:.4f}**" if not lo <= r <= hi else f"{r:.4f}"  # noqa: E731
    for sc in SCENARIOS:
        for k in (0, 1, 2):
            rng = [seed, k, SCENARIOS.index(sc)]
            roy, _ = rejection_rate(sc, k, N, B, rng=rng)
            wilks, _ = rejection_rate(sc, k, N, B, rng=rng, statistic="wilks")
            row = f"| {sc} | {k + 1} | {flag(roy)} | {flag(wilks)} |"
            if previous:
                row += f" {flag(previous_scheme_rate(sc, k, N, B, rng=rng))} |"
            print(row, flush=True)
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("N", nargs="?", type=int, default=2000, help="datasets per cell")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--winkler-only", action="store_true",
                    help="leave out the previous (Freedman-Lane) scheme")
    a = ap.parse_args()
    main(a.N, seed=a.seed, previous=not a.winkler_only)
