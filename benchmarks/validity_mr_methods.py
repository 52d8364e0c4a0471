"""Type-I error of every issue-19 MR estimator by simulation under the null (no causal effect).

The large version of ``tests/test_mr_validity_new.py`` (whose data generator it uses).

Design
    Two-sample summary data from ``tests/test_mr_validity_new.py::simulate_null_mr``:
    ``sx ~ U(0.005, 0.015)``, ``sy ~ U(0.01, 0.03)`` (as ``bench_mr.py``'s ``harmonised``),
    true SNP-exposure effects with random signs scaled so that the mean F statistic is about 30
    (``u ~ U(0.6, 1.4)`` spread between SNPs), ``bx = gamma + N(0, sx^2)``,
    ``by = alpha + N(0, sy^2)``.  Scenarios:

    ``F30_25`` / ``F30_100``  valid instruments (``alpha = 0``), 25 / 100 SNPs, mean F ~ 30;
    ``F5_25``                 weak instruments, mean F ~ 5, 25 SNPs (reported separately);
    ``pleio_25``              balanced pleiotropy ``alpha ~ N(0, 0.02^2)`` (InSIDE holds;
                              Q / df ~ 2), mean F ~ 30, 25 SNPs: H0 "no causal effect" still
                              holds, so robust / random-effects methods should keep their level,
                              while methods assuming no pleiotropy (ML, fixed-effect SEs, the
                              medians' and modes' bootstrap SEs) need not.  The MR-PRESSO global
                              tests are left out there (their H0 is "no pleiotropy").
    ``pleio30_25``            balanced pleiotropy on 30% of the 25 SNPs only,
                              ``alpha ~ N(0, 0.05^2)``, the rest valid: the setting the robust
                              methods (median, mode, MBE, ConMix, MR-Lasso, cML, robust
                              regression) are designed for (a majority / plurality valid).

Estimators
    ``mr()`` (TwoSampleMR conventions): mr_two_sample_ml, mr_raps, mr_ivw_radial, mr_sign,
    mr_uwr, mr_grip, mr_egger_regression, mr_ivw, mr_weighted_median, mr_weighted_mode (the
    bootstrap SEs with nboot = 200 instead of TwoSampleMR's 1,000, to save time; the SE's
    Monte-Carlo error at 200 draws is ~5%).  ``mrpkg`` (MendelianRandomization conventions):
    mr_ivw(robust=True), mr_ivw(penalized=True), mr_egger(robust=True),
    mr_egger(penalized=True), mr_median(weighting="weighted", iterations=200),
    mr_mbe(iterations=200), mr_divw, mr_conmix, mr_lasso, mr_cml(dp=False, n=10000)
    (``n`` matches ``sx ~ 0.01`` for a standardised exposure).  ``mr_presso`` global test
    (n_distribution = 500, outlier and distortion tests off) and ``mr_presso_mv`` with two
    exposures (both with no effect; each with its own F ~ 30 instruments).

Replicates and seeds
    R = 1,000 data sets per scenario (``--reps``); the slow estimators (ML, RAPS, MR-Lasso,
    robust Egger) run on the first 500 of the same data sets (``--reps-slow``).  Scenario ``i``
    draws its data from ``SeedSequence([seed, i]).spawn(2)[0]`` and the estimators' bootstrap
    draws from ``[1]`` (``--seed``, default 2026), so each data set is the same whichever
    estimators run.

Pass criterion
    Rejection rate at alpha = 0.05 (p < 0.05; a NaN p-value counts as "not rejected" and is
    listed under ``NA``) with its exact (Clopper-Pearson) 95% binomial CI: "ANTI-conservative"
    when the CI's lower bound exceeds 0.05, "conservative" when its upper bound is below 0.05,
    "ok" otherwise.  Non-convergence is counted from each method's own flag (ML's Nelder-Mead,
    RAPS's root, lmrob's IRWLS for the robust fits, MR-Lasso's exactness, ConMix's grid-edge
    flag, cML's coordinate descent at every K) and every warning is recorded
    (``warnings.catch_warnings(record=True)``) and counted per estimator, distinct messages
    listed; nothing is silenced for a user.

Usage: ``nice -n 10 python benchmarks/validity_mr_methods.py [--quick] [--reps 1000]
[--reps-slow 500] [--seed 2026] [--scenarios F30_25 F30_100 F5_25 pleio_25 pleio30_25]``.
``--quick`` (smoke run): 60 / 30 replicates.  Output of the full run:
``benchmarks/validity_mr_methods.txt``.

Results (defaults, seed 2026; 1,000 data sets, 500 for ML / RAPS / MR-Lasso / robust Egger,
exact 95% CI half-width ~0.014 / ~0.02; 1,028 s on 2 shared cores under ``nice``).  Rejection
rate at 0.05; ``A`` = anti-conservative, ``c`` = conservative (CI excludes 0.05)::

    estimator               F30_25  F30_100  F5_25   pleio_25  pleio30_25
    ML (mr_two_sample_ml)   0.042   0.060    0.032   0.276 A   0.364 A
    RAPS                    0.030c  0.046    0.030c  0.088 A   0.056
    IVW radial              0.061   0.056    0.056   0.100 A   0.082 A
    sign concordance        0.047   0.029c   0.043   0.044     0.047
    unweighted regression   0.000c  0.000c   0.000c  0.000c    0.000c
    MR GRIP                 0.045   0.046    0.052   0.075 A   0.069 A
    MR Egger                0.021c  0.035c   0.024c  0.066 A   0.061
    IVW (mult. RE)          0.039   0.048    0.035c  0.104 A   0.086 A
    weighted median (TSMR)  0.015c  0.021c   0.008c  0.128 A   0.069 A
    weighted mode           0.015c  0.020c   0.004c  0.120 A   0.044
    robust IVW              0.062   0.050    0.072 A 0.102 A   0.073 A
    penalised IVW           0.045   0.061    0.051   0.220 A   0.124 A
    robust Egger            0.070   0.040    0.080 A 0.116 A   0.082 A
    penalised Egger         0.035c  0.039    0.036c  0.143 A   0.131 A
    weighted median (MR)    0.019c  0.027c   0.012c  0.157 A   0.082 A
    MBE                     0.021c  0.019c   0.009c  0.133 A   0.064
    dIVW                    0.040   0.048    0.027c  0.075 A   0.057
    ConMix                  0.048   0.055    0.048   0.243 A   0.098 A
    MR-Lasso                0.054   0.066    0.064   0.240 A   0.112 A
    cML-MA-BIC              0.045   0.062    0.063   0.241 A   0.132 A
    MR-PRESSO global        0.048   0.054    0.047   --        --
    MR-PRESSO MV (2 exp.)   0.036c  0.056    0.025c  --        --

Valid instruments (F ~ 30, 25 and 100 SNPs): no estimator is anti-conservative.  The
conservative ones are so by construction: TwoSampleMR's ``mr_uwr`` divides the lm SE by
``min(1, sigma)`` with ``sigma`` the residual SE on the (unstandardised, ~0.02) beta scale, so
its SE is ~50x too large and it never rejects (R computes the same); Egger's t(n - 2) and the
residual SE floored at 1; the bootstrap SEs of the medians (weights held fixed) and the MAD of
the bootstrap modes / MBE overstate the spread; the multivariable PRESSO global test is
conservative as documented in ``tests/test_mr_presso_mv.py``.  Weak instruments (F ~ 5): the
null is still held except by the lmrob-based robust IVW (0.072) and robust Egger (0.080): the
MM-estimator's asymptotic (sandwich) SE with 25 points and noisy, heavy-tailed standardised
regressors is too small; the code equals MendelianRandomization's ``lmrob`` fit
(``tests/test_mr_mrpkg.py``), so R would give the same rates.
Balanced pleiotropy on every SNP (``pleio_25``): every estimator except the sign test loses its
level.  Even multiplicative random-effects IVW (0.104): the pleiotropy is additive
(``var(by_j) = sy_j^2 + tau^2``) while the model scales ``sy_j^2`` by one factor, and with
``sy`` varying 3-fold the SE is ~11% too small (checked on 4,000 data sets: empirical SD of the
IVW estimate / RMS of its SE = 1.11), plus the normal rather than t(n - 1) reference (0.089
normal vs 0.075 t on those data sets).  Methods assuming no pleiotropy (ML, fixed-effect style
SEs) reject 28%; the majority / plurality-valid methods (medians, modes, MBE, ConMix, MR-Lasso,
cML) are outside their assumptions (no SNP is valid).  Pleiotropy on 30% of the SNPs
(``pleio30_25``), the robust methods' own setting: RAPS, Egger, weighted mode, MBE and dIVW hold
the level; ConMix 0.098, MR-Lasso 0.112, cML-MA-BIC 0.132 and the penalised IVW / Egger (0.124,
0.131) do not.  These select / down-weight the SNPs they judge invalid and then take the
selection as known (no selection uncertainty in the SE); here the pleiotropic SNPs are only
moderately outlying (``alpha / gamma ~ 0.9`` vs a ratio SE ``sy / gamma ~ 0.4``), so the
selection is often wrong.  Slob & Burgess (2020, Genet Epidemiol 44:313) likewise report that
MR-Lasso / MR-Robust / MR-PRESSO do well with a few clear outliers but less well with several
invalid instruments, and that MBE keeps its Type 1 error with up to 50% invalid (as here);
they found ConMix well controlled in their (different, more clearly outlying) designs, so its
0.098 here is a property of this design, not a porting error (the code equals
MendelianRandomization's, ``tests/test_mr_mrpkg.py``).  The R packages are expected to give
the same rates (same formulas, verified to parity); none of these is a porting defect.
Non-convergence (flags and warnings, counted, never silenced): ML's Nelder-Mead stopped at
25,000 evaluations in 17 / 500 fits with 100 SNPs (0 with 25); lmrob's M-step in 0-3 fits per
scenario (then NA SE and p, as in R); cML's ``converged`` is False in 60-98% of fits because
some large K (>= 0.8 n SNPs invalid, BIC weight nil) stops at maxit = 100 -- see
``tests/test_mr_validity_new.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections import Counter, defaultdict

import numpy as np
from scipy import stats

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from test_mr_validity_new import harmonised_frame, simulate_null_mr  # noqa: E402

from radiogenomics.mr import mr, mr_presso, mr_presso_mv, mrpkg  # noqa: E402

ALPHA = 0.05
N_CML = 10000
SCENARIOS = {  # name: (n_snp, mean F, tau of balanced pleiotropy, share of pleiotropic SNPs)
    "F30_25": (25, 30.0, 0.0, 1.0),
    "F30_100": (100, 30.0, 0.0, 1.0),
    "F5_25": (25, 5.0, 0.0, 1.0),
    "pleio_25": (25, 30.0, 0.02, 1.0),
    "pleio30_25": (25, 30.0, 0.05, 0.3),
}
# label, mr() method object
TSMR = [("ML (mr_two_sample_ml)", "mr_two_sample_ml"), ("RAPS", "mr_raps"),
        ("IVW radial", "mr_ivw_radial"), ("sign concordance", "mr_sign"),
        ("unweighted regression", "mr_uwr"), ("MR GRIP", "mr_grip"),
        ("MR Egger", "mr_egger_regression"), ("IVW", "mr_ivw"),
        ("weighted median (TSMR)", "mr_weighted_median"), ("weighted mode", "mr_weighted_mode")]
SLOW = {"ML (mr_two_sample_ml)", "RAPS", "MR-Lasso", "robust Egger"}


def _mrpkg(bx, sx, by, sy, rng):
    return [
        ("robust IVW", lambda: mrpkg.mr_ivw(bx, sx, by, sy, robust=True, rng=rng)),
        ("penalised IVW", lambda: mrpkg.mr_ivw(bx, sx, by, sy, penalized=True)),
        ("robust Egger", lambda: mrpkg.mr_egger(bx, sx, by, sy, robust=True, rng=rng)),
        ("penalised Egger", lambda: mrpkg.mr_egger(bx, sx, by, sy, penalized=True)),
        ("weighted median (MR)", lambda: mrpkg.mr_median(bx, sx, by, sy, weighting="weighted",
                                                         iterations=200, rng=rng)),
        ("MBE", lambda: mrpkg.mr_mbe(bx, sx, by, sy, iterations=200, rng=rng)),
        ("dIVW", lambda: mrpkg.mr_divw(bx, sx, by, sy)),
        ("ConMix", lambda: mrpkg.mr_conmix(bx, sx, by, sy)),
        ("MR-Lasso", lambda: mrpkg.mr_lasso(bx, sx, by, sy)),
        ("cML-MA-BIC", lambda: mrpkg.mr_cml(bx, sx, by, sy, n=N_CML, dp=False)),
    ]


class Tally:
    def __init__(self):
        self.p = defaultdict(list)
        self.nonconv = Counter()
        self.warn = Counter()
        self.msgs = defaultdict(Counter)
        self.secs = Counter()

    def run(self, label, fn):
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            p, conv = fn()
        self.secs[label] += time.perf_counter() - t0
        self.p[label].append(p)
        self.nonconv[label] += conv is False
        self.warn[label] += len(caught)
        for w in caught:
            self.msgs[label][f"{w.category.__name__}: {str(w.message)[:90]}"] += 1


def _tsmr_call(dat, obj, rng):
    res = mr(dat, method_list=[obj], nboot=200, rng=rng)
    if len(res) == 0:
        return np.nan, None
    det = res.attrs.get("details", {}).get(("X", "Y", obj), {})
    return float(res["pval"].iloc[0]), det.get("converged")


def one_scenario(name, reps, reps_slow, seed, idx):
    n_snp, mean_f, tau, frac = SCENARIOS[name]
    data_rng, est_rng = (np.random.default_rng(s)
                         for s in np.random.SeedSequence([seed, idx]).spawn(2))
    tally = Tally()
    fstat = []
    t0 = time.perf_counter()
    for i in range(reps):
        bx, sx, by, sy = simulate_null_mr(data_rng, n_snp, mean_f, tau, frac)
        bx2, sx2, _, _ = simulate_null_mr(data_rng, n_snp, mean_f, 0.0)
        fstat.append(np.mean(bx**2 / sx**2))
        slow = i < reps_slow
        dat = harmonised_frame(bx, sx, by, sy)
        for label, obj in TSMR:
            if slow or label not in SLOW:
                tally.run(label, lambda: _tsmr_call(dat, obj, est_rng))
        for label, fn in _mrpkg(bx, sx, by, sy, est_rng):
            if slow or label not in SLOW:
                tally.run(label, lambda: (lambda r: (r.pval, bool(r.converged)))(fn()))
        if tau == 0:
            tally.run("MR-PRESSO global", lambda: (mr_presso(
                dat, n_distribution=500, outlier_test=False, distortion_test=False,
                rng=est_rng).global_pval, None))
            tally.run("MR-PRESSO MV global (2 exp.)", lambda: (mr_presso_mv(
                by, np.column_stack([bx, bx2]), sy, np.column_stack([sx, sx2]),
                n_distribution=500, outlier_test=False, distortion_test=False,
                rng=est_rng).global_pval, None))
        if (i + 1) % max(1, reps // 10) == 0:
            print(f"  [{name}] {i + 1}/{reps} data sets, {time.perf_counter() - t0:.0f} s",
                  flush=True)
    return tally, float(np.mean(fstat)), time.perf_counter() - t0


def report(name, tally, mean_f, secs):
    n_snp, _, tau, frac = SCENARIOS[name]
    pleio = f"balanced pleiotropy tau = {tau:.3f} on {frac:.0%} of the SNPs"
    print(f"\nscenario {name}: {n_snp} SNPs, mean F {mean_f:.1f}, "
          f"{pleio if tau else 'valid instruments'}; "
          f"{secs:.0f} s")
    print(f"{'estimator':<30s} {'R':>5s} {'rej':>4s} {'rate':>6s} {'95% CI':>15s} {'flag':<17s} "
          f"{'NA':>3s} {'nonconv':>7s} {'warn':>5s} {'s/fit':>6s}")
    flags = {}
    for label, ps in tally.p.items():
        ps = np.asarray(ps, dtype=float)
        R = ps.size
        k = int(np.sum(ps < ALPHA))
        ci = stats.binomtest(k, R).proportion_ci(0.95, method="exact")
        flag = ("ANTI-conservative" if ci.low > ALPHA else "conservative" if ci.high < ALPHA
                else "ok")
        flags[label] = flag
        print(f"{label:<30s} {R:>5d} {k:>4d} {k / R:>6.3f} [{ci.low:.3f}, {ci.high:.3f}] "
              f"{flag:<17s} {int(np.sum(~np.isfinite(ps))):>3d} {tally.nonconv[label]:>7d} "
              f"{tally.warn[label]:>5d} {tally.secs[label] / R:>6.3f}")
    for label, msgs in tally.msgs.items():
        for m, c in msgs.most_common(3):
            print(f"  warning x{c} [{label}]: {m}")
    return flags


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--reps-slow", type=int, default=500)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--quick", action="store_true", help="smoke run: 60 / 30 replicates")
    ap.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    args = ap.parse_args(argv)
    reps, reps_slow = (60, 30) if args.quick else (args.reps, min(args.reps_slow, args.reps))
    print(f"MR null simulation: {reps} data sets per scenario ({reps_slow} for "
          f"{', '.join(sorted(SLOW))}), seed {args.seed}, alpha {ALPHA}; exact 95% binomial CI")
    # warm up compiled code (Numba) so that the timings are per fit
    bx, sx, by, sy = simulate_null_mr(np.random.default_rng(0), 25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # warm-up only; not part of the tallies
        mr(harmonised_frame(bx, sx, by, sy), method_list=[o for _, o in TSMR], nboot=10, rng=0)
        for _, fn in _mrpkg(bx, sx, by, sy, np.random.default_rng(0)):
            fn()
    t0 = time.perf_counter()
    summary = {}
    for idx, name in enumerate(SCENARIOS):
        if name not in args.scenarios:
            continue
        tally, mean_f, secs = one_scenario(name, reps, reps_slow, args.seed, idx)
        summary[name] = report(name, tally, mean_f, secs)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    for name, flags in summary.items():
        bad = {k: v for k, v in flags.items() if v != "ok"}
        print(f"{name}: " + (", ".join(f"{k} {v}" for k, v in bad.items()) or "all ok"))


if __name__ == "__main__":
    main()
