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

Run: ``python benchmarks/validity_cca_stepdown.py [N]`` (default N = 2000; about 15 minutes on
one core).
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


def main(N: int = 2000, B: int = 99):
    lo, hi = stats.binom.ppf([0.025, 0.975], N, 0.05) / N
    print(f"N = {N} datasets per cell, B = {B}; binomial 95% interval around 0.05: "
          f"[{lo:.4f}, {hi:.4f}]\n")
    print("| scenario | tested component (first null) | Winkler, Roy | Winkler, Wilks | previous scheme (Roy, Freedman-Lane residuals) |")
    print("|---|---|---|---|---|")
    t0 = time.perf_counter()
    for sc in SCENARIOS:
        for k in (0, 1, 2):
            roy, _ = rejection_rate(sc, k, N, B, rng=[11, k, SCENARIOS.index(sc)])
            wilks, _ = rejection_rate(sc, k, N, B, rng=[11, k, SCENARIOS.index(sc)], statistic="wilks")
            prev = previous_scheme_rate(sc, k, N, B, rng=[11, k, SCENARIOS.index(sc)])
            flag = lambda r: f"**{r:.4f}**" if not lo <= r <= hi else f"{r:.4f}"  # noqa: E731
            print(f"| {sc} | {k + 1} | {flag(roy)} | {flag(wilks)} | {flag(prev)} |", flush=True)
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
