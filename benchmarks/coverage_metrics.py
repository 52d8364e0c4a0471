"""Coverage of the bootstrap CIs of prediction metrics (``radiogenomics.metrics.bootstrap_ci``).

What is checked is what :func:`radiogenomics.validation.cross_validate` reports: the interval
of a metric of *fixed* predictions over test patients.  A fixed model is scored on a fresh test
set drawn from a known population; the metric's population value is known in closed form; each
dataset's 95% bootstrap interval either covers it or not.  Over ``--datasets`` test sets the
coverage should be 0.95 (the exact binomial 95% interval around 0.95 is printed next to it).

Scenarios (populations; "truth" in closed form):

* ``auroc``: binormal scores, y ~ Bernoulli(0.4), score | y ~ N(d y, 1), d = 1:
  AUROC = Phi(d / sqrt(2)) = 0.7602; n = 200 (80 events on average); percentile and BCa.
* ``auroc_small``: as ``auroc`` with n = 60 (24 events), where percentile intervals of a bounded
  metric are known to undercover a little.
* ``r2``: x ~ N(0, 1), y = x + e, e ~ N(0, 1), fixed prediction f = 0.8 x (a shrunk model):
  population R2 of f = 1 - E(y - f)^2 / var(y) = 1 - (0.04 + 1) / 2 = 0.48; n = 100; percentile.
* ``cslope`` (only with ``--with-calibration``, slow: statsmodels GLM per resample): logistic
  outcome with logit P(y = 1) = 0.8 lp, lp ~ N(0, 1.5^2) the model's linear predictor: the
  calibration slope's population value is 0.8 exactly (the recalibration model is correctly
  specified); n = 200; percentile.

Usage: ``python benchmarks/coverage_metrics.py [--datasets 500] [--boot 1000] [--jobs 2]
[--with-calibration] [--scenarios cslope ...]``.  The CI version is ``tests/test_metrics.py::
test_bootstrap_ci_coverage_of_fixed_model_metrics`` (fewer datasets and resamples).
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from scipy import stats

from radiogenomics import metrics as M

D_AUROC = 1.0
TRUTH = {"auroc": float(stats.norm.cdf(D_AUROC / np.sqrt(2))),
         "auroc_small": float(stats.norm.cdf(D_AUROC / np.sqrt(2))),
         "r2": 1 - (0.2**2 + 1) / 2,
         "cslope": 0.8}
SIZES = {"auroc": 200, "auroc_small": 60, "r2": 100, "cslope": 200}
METHODS = {"auroc": ("percentile", "bca"), "auroc_small": ("percentile", "bca"),
           "r2": ("percentile",), "cslope": ("percentile",)}


def draw(scenario: str, n: int, g: np.random.Generator):
    """One test set of the scenario: (metric, arrays)."""
    if scenario.startswith("auroc"):
        y = (g.random(n) < 0.4).astype(float)
        if y.min() == y.max():
            y[0] = 1 - y[0]
        s = g.normal(size=n) + D_AUROC * y
        return M.auroc, (y, s)
    if scenario == "r2":
        x = g.normal(size=n)
        y = x + g.normal(size=n)
        return M.r2_score, (y, 0.8 * x)
    if scenario == "cslope":
        lp = 1.5 * g.normal(size=n)
        y = (g.random(n) < 1 / (1 + np.exp(-0.8 * lp))).astype(float)
        return M.calibration_slope, (y, 1 / (1 + np.exp(-lp)))
    raise ValueError(scenario)


def one(args):
    scenario, seed, n_boot = args
    g = np.random.default_rng(seed)
    fn, arrays = draw(scenario, SIZES[scenario], g)
    out = {}
    for method in METHODS[scenario]:
        ci = M.bootstrap_ci(fn, *arrays, n_boot=n_boot, rng=g, method=method)
        out[method] = (ci.lower <= TRUTH[scenario] <= ci.upper, ci.upper - ci.lower,
                       TRUTH[scenario] < ci.lower)
    return out


def coverage(scenario: str, n_datasets: int, n_boot: int, seed: int = 2026, jobs: int = 1):
    seeds = np.random.SeedSequence([seed, sum(map(ord, scenario))]).spawn(n_datasets)
    tasks = [(scenario, s, n_boot) for s in seeds]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as ex:
            res = list(ex.map(one, tasks, chunksize=8))
    else:
        res = [one(t) for t in tasks]
    rows = []
    for method in METHODS[scenario]:
        hit = np.array([r[method][0] for r in res])
        width = np.array([r[method][1] for r in res])
        above = np.array([r[method][2] for r in res])
        rows.append({"scenario": scenario, "method": method, "n": SIZES[scenario],
                     "truth": TRUTH[scenario], "datasets": n_datasets,
                     "covered": int(hit.sum()), "coverage": float(hit.mean()),
                     "miss_low": float(above.mean()),             # truth below the interval
                     "miss_high": float((~hit & ~above).mean()),  # truth above the interval
                     "mean_width": float(np.nanmean(width))})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=500)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--with-calibration", action="store_true")
    ap.add_argument("--scenarios", nargs="+", choices=list(SIZES),
                    help="run only these scenarios (default: all but cslope, which needs "
                         "--with-calibration or naming)")
    a = ap.parse_args()
    scen = a.scenarios or (["auroc", "auroc_small", "r2"]
                           + (["cslope"] if a.with_calibration else []))
    lo, hi = (stats.binom.ppf([0.025, 0.975], a.datasets, 0.95) / a.datasets)
    print(f"Bootstrap CI coverage of fixed-model prediction metrics: {a.datasets} test sets per "
          f"scenario, {a.boot} resamples, nominal 0.95 (exact binomial 95% region "
          f"[{lo:.3f}, {hi:.3f}])\n")
    print(f"{'scenario':<12} {'method':<10} {'n':>4} {'truth':>7} {'coverage':>9} "
          f"{'miss<':>6} {'miss>':>6} {'width':>7}  time")
    for s in scen:
        t0 = time.perf_counter()
        for r in coverage(s, a.datasets, a.boot, jobs=a.jobs):
            ok = "" if lo <= r["coverage"] <= hi else "  (outside)"
            print(f"{r['scenario']:<12} {r['method']:<10} {r['n']:>4} {r['truth']:7.4f} "
                  f"{r['coverage']:9.3f} {r['miss_low']:6.3f} {r['miss_high']:6.3f} "
                  f"{r['mean_width']:7.3f}  {time.perf_counter() - t0:5.0f} s{ok}", flush=True)


if __name__ == "__main__":
    main()
