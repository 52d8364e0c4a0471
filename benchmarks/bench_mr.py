"""Mendelian randomisation timings beside the R packages' recorded ones.

- ``mr()`` with TwoSampleMR's default methods (nboot = 1,000) on 100 and 1,000 instruments;
  recorded R: ``TwoSampleMR::mr(dat)`` 6.87 CPU-s (100 SNPs) and 9.83 CPU-s (1,000 SNPs).
- ``mr()`` with every method on 100 instruments; recorded R (18 methods incl. RAPS): 17.5 CPU-s.
- ``mr_presso`` with 10,000 distributions on 97 instruments; recorded R (MRPRESSO 1.0):
  2,008 s wall / 1,982 CPU-s (``shared/refdata/mr/timings.csv``, this kind of machine).
- in-run reference: the machine's float64 matmul rate.
R and the R packages cannot be installed here (CRAN unreachable), so the R figures are the
recorded ones.

Issue 19 additions (all methods, MendelianRandomization's estimators, clumping, coloc):

- ``mr()`` with every TwoSampleMR method (19 incl. RAPS, ML, radial IVW, sign, UWR, GRIP) on 100
  and 1,000 SNPs; recorded R: 17.5 CPU-s for the 18 multi-SNP methods on 100 SNPs (R has no
  recorded all-methods figure at 1,000 SNPs; its default 5 methods took 9.83 CPU-s there).
- MendelianRandomization's estimators (``mr_allmethods("all")`` incl. robust lmrob fits, dIVW,
  ConMix, cML-MA-BIC with data perturbation, MBE) beside pytwosamplemr 0.1 measured in the same
  run (its ``mr_allmethods`` leaves out the robust rows), and beside the recorded R figures of
  ``mr_median``/``mr_mbe`` (``timings.csv``).
- ``ld_clump`` with TwoSampleMR's defaults on a simulated 5,100 / 50,000-SNP panel beside
  ``plink1.9 --clump`` run in the same run (wall seconds, identical output checked).
- ``coloc_abf`` on 1,000 / 10,000 SNPs beside genal-python 1.7's coloc (same run).

Usage: ``python benchmarks/bench_mr.py``.
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
R_MBE_1000_100 = 0.473                         # CPU-s, MendelianRandomization mr_mbe(iterations=1000), 100 SNPs


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
    for n in (100, 1000):
        _, cpu, wall = timed(lambda: mr(harmonised(n), method_list=list(METHODS), rng=1))
        ref = (f"R (18 methods) {R_MR_ALL_100:6.2f} CPU-s   ratio {R_MR_ALL_100 / cpu:7.0f}x"
               if n == 100 else f"R: no recorded all-methods figure (default 5: {R_MR_DEFAULT[n]:.2f} CPU-s)")
        print(f"mr() all {len(METHODS)} methods, {n:5d} SNPs: {wall:7.3f} s wall, {cpu:7.3f} CPU-s   {ref}")
    mrpkg_methods()
    dat = harmonised(97, seed=3, n_outliers=7)
    mr_presso(dat, n_distribution=200, rng=0)  # warm up
    res, cpu, wall = timed(lambda: mr_presso(dat, n_distribution=10_000, rng=1))
    print(f"mr_presso 10,000 distributions, 97 SNPs: {wall:7.2f} s wall, {cpu:7.2f} CPU-s   R "
          f"{R_PRESSO_10000_97:7.0f} CPU-s   ratio {R_PRESSO_10000_97 / cpu:7.0f}x")

    clumping()
    coloc()


def _pytwosamplemr():
    try:
        import pytwosamplemr
    except ImportError:
        print("  (pytwosamplemr not installed: pip install -e .[bench])")
        return None
    return pytwosamplemr


def mrpkg_methods():
    """MendelianRandomization's estimators, ours beside pytwosamplemr in the same run."""
    from radiogenomics.mr import mrpkg

    peer = _pytwosamplemr()
    for n in (100, 1000):
        d = harmonised(n, seed=5, n_outliers=n // 10)
        a = [d[c].to_numpy() for c in ("beta.exposure", "se.exposure", "beta.outcome", "se.outcome")]
        # cML with data perturbation refits every K (n - 1 of them) 201 times: at 1,000 SNPs
        # that is minutes in either package, so there the deterministic cML-MA-BIC is timed
        dp = n <= 100
        cml = "mr_cml (MA-BIC, data perturbation)" if dp else "mr_cml (MA-BIC, no perturbation)"
        ours = {
            "mr_allmethods('all'), 1,000 median boots": lambda: mrpkg.mr_allmethods(*a, iterations=1000, rng=1),
            "mr_divw": lambda: mrpkg.mr_divw(*a),
            "mr_conmix": lambda: mrpkg.mr_conmix(*a),
            cml: lambda: mrpkg.mr_cml(*a, n=20_000, dp=dp, rng=1),
            "mr_mbe (1,000 boots)": lambda: mrpkg.mr_mbe(*a, iterations=1000, rng=1),
        }
        theirs = {}
        if peer is not None:
            inp = peer.mr_input(a[0], a[1], a[2], a[3])
            theirs = {
                "mr_allmethods('all'), 1,000 median boots": lambda: peer.mr_allmethods(inp, iterations=1000),
                "mr_divw": lambda: peer.mr_divw(inp),
                "mr_conmix": lambda: peer.mr_conmix(inp),
                cml: lambda: peer.mr_cml(inp, n=20_000, dp=dp),
                "mr_mbe (1,000 boots)": lambda: peer.mr_mbe(inp, iterations=1000),
            }
        recorded = {("mr_mbe (1,000 boots)", 100): R_MBE_1000_100}
        for name, fn in ours.items():
            fn()  # warm up (Numba)
            _, cpu, _ = timed(fn)
            line = f"MendelianRandomization {name:<42s} {n:5d} SNPs: {cpu:7.3f} CPU-s"
            if name in theirs:
                try:
                    _, pcpu, _ = timed(theirs[name])
                    line += f"   pytwosamplemr {pcpu:7.3f} CPU-s   ratio {pcpu / cpu:6.1f}x"
                except Exception as exc:  # a peer failure is reported, not hidden
                    line += f"   pytwosamplemr failed: {type(exc).__name__}: {exc}"
            if (name, n) in recorded:
                line += f"   R (recorded) {recorded[name, n]:.3f} CPU-s   ratio {recorded[name, n] / cpu:6.1f}x"
            print(line)


def clumping():
    """ld_clump beside plink1.9 --clump (same run) on simulated panels."""
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    from radiogenomics.mr.clump import ld_clump

    here = Path(__file__).resolve().parents[1] / "tests" / "data" / "mr" / "clump"
    sys.path.insert(0, str(here))
    from simulate_panel import simulate  # noqa: E402

    plink = shutil.which("plink1.9") or shutil.which("plink")
    with tempfile.TemporaryDirectory() as tmp:
        for per_chr, n_chr in ((1700, 3), (10_000, 5)):
            prefix = str(Path(tmp) / f"panel{per_chr}")
            simulate(prefix, 20240917, 480, per_chr, n_chr)
            assoc = pd.read_csv(prefix + ".assoc", sep=r"\s+")
            dat = assoc.rename(columns={"P": "pval.exposure"}).dropna()
            ld_clump(dat.head(200), prefix)  # warm up (Numba)
            res, cpu, wall = timed(lambda: ld_clump(dat, prefix))
            line = (f"ld_clump TwoSampleMR defaults, {len(dat):6d} SNPs: {wall:6.2f} s wall "
                    f"({len(res.data)} index SNPs)")
            if plink:
                t0 = time.perf_counter()
                subprocess.run([plink, "--bfile", prefix, "--clump", prefix + ".assoc", "--clump-p1", "1",
                                "--clump-r2", "0.001", "--clump-kb", "10000", "--out", prefix],
                               check=True, capture_output=True)
                pw = time.perf_counter() - t0
                ref = pd.read_csv(prefix + ".clumped", sep=r"\s+")
                same = sorted(ref["SNP"]) == sorted(res.data["SNP"])
                line += f"   plink1.9 {pw:6.2f} s wall   ratio {pw / wall:5.1f}x   identical index SNPs: {same}"
            else:
                line += "   (plink1.9 not on PATH: no in-run reference)"
            print(line)


def coloc():
    """coloc_abf beside genal-python's coloc (same run)."""
    from radiogenomics.mr.coloc import coloc_abf

    rng = np.random.default_rng(7)
    for m in (1000, 10_000):
        maf = rng.uniform(0.05, 0.5, m)
        z1, z2 = rng.normal(size=m), rng.normal(size=m)
        z1[m // 2] += 8
        z2[m // 2] += 7
        se1, se2 = 1 / np.sqrt(2 * 10_000 * maf * (1 - maf)), 1 / np.sqrt(2 * 8_000 * maf * (1 - maf))
        snp = [f"rs{i}" for i in range(m)]
        d1 = {"snp": snp, "beta": z1 * se1, "varbeta": se1**2, "type": "quant", "sdY": 1.0}
        d2 = {"snp": snp, "beta": z2 * se2, "varbeta": se2**2, "type": "quant", "sdY": 1.0}
        res, cpu, wall = timed(lambda: coloc_abf(d1, d2))
        line = f"coloc_abf {m:6d} SNPs: {wall:7.4f} s wall   PP.H4 {res.summary['PP.H4.abf']:.4f}"
        try:
            from genal.colocalization import coloc_abf_func
        except ImportError:
            line += "   (genal-python not installed: pip install -e .[bench])"
        else:
            g1 = pd.DataFrame({"SNP": snp, "BETA": d1["beta"], "SE": se1})
            g2 = pd.DataFrame({"SNP": snp, "BETA": d2["beta"], "SE": se2})
            try:
                t0 = time.perf_counter()
                out = coloc_abf_func(g1, g2, trait1_type="quant", trait2_type="quant", sdY1=1.0, sdY2=1.0)
                gw = time.perf_counter() - t0
                line += f"   genal {gw:7.4f} s wall   ratio {gw / wall:6.1f}x   genal PP.H4 {out['PP.H4.abf']:.4f}"
            except Exception as exc:
                line += f"   genal call failed: {type(exc).__name__}: {exc}"
        print(line)


if __name__ == "__main__":
    main()
