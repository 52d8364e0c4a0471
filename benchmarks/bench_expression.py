"""Counts front end speed: TMM + voom + eBayes on 20,000 genes x 100 samples.

Prints our time beside, measured in the same run on the same counts:

* inmoose 0.9 (Python ports of edgeR/limma): ``lmFit`` + ``eBayes`` on our voom log-CPM (inmoose
  has no ``calcNormFactors`` and no ``voom``, and its 0.9.1 ``lmFit`` fails with a weight matrix,
  so the unweighted fit is what is compared);
* pydeseq2 0.5 ``deseq2_norm`` size factors beside our ``calc_norm_factors(method="RLE")``
  (the same median-of-ratios idea; DESeq2's size factors are not rescaled to multiply to one);
* R (edgeR 3.40 / limma 3.54, when ``Rscript`` and the packages are installed): the same calls,
  ``calcNormFactors`` -> ``voom`` -> ``lmFit`` -> ``eBayes``, timed inside R with
  ``system.time`` (elapsed and CPU seconds; the BLAS R uses is printed).

Run: ``python benchmarks/bench_expression.py``.  Numbers go to ``benchmarks/README.md``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_time  # noqa: E402

from radiogenomics.expression.limma import ebayes, lm_fit, voom  # noqa: E402
from radiogenomics.expression.normalize import calc_norm_factors  # noqa: E402

N, Q = 100, 20_000

R_SCRIPT = r"""
suppressPackageStartupMessages({library(edgeR); library(limma)})
args <- commandArgs(TRUE)
counts <- as.matrix(read.csv(args[1], row.names = 1, check.names = FALSE))
x <- read.csv(args[2], row.names = 1)
design <- model.matrix(~ x + centre, data = x)
run <- function() {
  nf <- calcNormFactors(counts, method = "TMM")
  v <- voom(counts, design, lib.size = colSums(counts) * nf)
  eBayes(lmFit(v, design))
}
invisible(run())
best <- NULL
for (i in 1:3) { t <- system.time(run()); if (is.null(best) || t[["elapsed"]] < best[["elapsed"]]) best <- t }
cat(sprintf("R_ELAPSED %.4f\nR_CPU %.4f\n", best[["elapsed"]], best[["user.self"]] + best[["sys.self"]]))
cat("R_BLAS", sessionInfo()$BLAS, "; LAPACK", La_library(), "\n")
cat("R_VERSION", R.version.string, "edgeR", as.character(packageVersion("edgeR")),
    "limma", as.character(packageVersion("limma")), "\n")
"""


def simulate(rng=0):
    rng = np.random.default_rng(rng)
    mu = np.exp(rng.normal(3.0, 2.0, Q))
    lib = rng.uniform(0.6, 1.6, N)
    size = 1.0 / (0.05 + 1.0 / np.sqrt(mu + 1.0))
    counts = rng.negative_binomial(size, size / (size + np.outer(lib, mu)))
    ids = [f"S{i:03d}" for i in range(N)]
    genes = [f"G{k:05d}" for k in range(Q)]
    x = pd.DataFrame({"x": rng.standard_normal(N), "centre": np.repeat(["A", "B", "C", "D"], N // 4)},
                     index=ids)
    return pd.DataFrame(counts, index=ids, columns=genes), x


def ours(counts, design):
    nf = calc_norm_factors(counts, method="TMM")
    v = voom(counts, design, lib_size=counts.sum(axis=1).to_numpy() * nf.to_numpy())
    return ebayes(lm_fit(v.E, design, weights=v.weights))


def run_r(counts, x):
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        c, p, s = (Path(tmp) / f for f in ("counts.csv", "x.csv", "bench.R"))
        counts.T.to_csv(c)
        x.to_csv(p)
        s.write_text(R_SCRIPT)
        out = subprocess.run(["Rscript", str(s), str(c), str(p)], capture_output=True, text=True)
    if out.returncode != 0:
        print("R run failed:", out.stderr.strip().splitlines()[-1:] or out.returncode)
        return None
    vals = dict(line.split(" ", 1) for line in out.stdout.strip().splitlines())
    return vals


def main():
    counts, x = simulate()
    design = np.column_stack([np.ones(N), x["x"], pd.get_dummies(x["centre"], drop_first=True, dtype=float)])
    print(f"counts: {N} samples x {Q} genes; design: intercept, x, 3 centre dummies")
    t_ours = best_time(lambda: ours(counts, design))
    print(f"{'ours: TMM + voom + lmFit + eBayes':<52s} {t_ours:8.3f} s")
    nf = calc_norm_factors(counts, method="TMM")
    v = voom(counts, design, lib_size=counts.sum(axis=1).to_numpy() * nf.to_numpy())
    t_fit = best_time(lambda: ebayes(lm_fit(v.E, design, weights=v.weights)))
    print(f"{'ours: lmFit + eBayes (weighted)':<52s} {t_fit:8.3f} s")
    try:
        from inmoose.limma import eBayes as im_ebayes
        from inmoose.limma import lmFit as im_lmfit

        E, W = np.array(v.E.T, dtype=float), np.array(v.weights.T, dtype=float)
        try:
            im_ebayes(im_lmfit(E.copy(), design, weights=W))
        except ValueError as exc:  # inmoose 0.9.1 writes into a read-only broadcast of the weights
            print(f"inmoose 0.9 lmFit with voom weights fails ({exc}); comparing unweighted fits")
        t_un = best_time(lambda: ebayes(lm_fit(v.E, design)))
        t_im = best_time(lambda: im_ebayes(im_lmfit(E.copy(), design)))
        print(f"{'ours: lmFit + eBayes (unweighted, same E)':<52s} {t_un:8.3f} s")
        print(f"{'inmoose 0.9 lmFit + eBayes (unweighted, same E)':<52s} {t_im:8.3f} s   "
              f"ours faster by {t_im / t_un:6.1f}x")
    except ImportError as exc:
        print(f"inmoose not installed ({exc}); pip install 'inmoose==0.9.1'")
    t_rle = best_time(lambda: calc_norm_factors(counts, method="RLE"))
    try:
        from pydeseq2.preprocessing import deseq2_norm

        t_ds = best_time(lambda: deseq2_norm(counts.to_numpy()))
        print(f"{'ours: RLE factors':<52s} {t_rle:8.3f} s   pydeseq2 0.5 deseq2_norm {t_ds:8.3f} s   "
              f"ratio {t_ds / t_rle:6.1f}x")
    except ImportError as exc:
        print(f"pydeseq2 not installed ({exc}); pip install 'pydeseq2==0.5.4'")
    r = run_r(counts, x)
    if r is None:
        print("R with edgeR/limma not available: no R figure")
    else:
        re, rc = float(r["R_ELAPSED"]), float(r["R_CPU"])
        print(f"{'R: calcNormFactors + voom + lmFit + eBayes':<52s} {re:8.3f} s elapsed, "
              f"{rc:.3f} CPU s   ours faster by {re / t_ours:6.2f}x (elapsed)")
        print(f"  {r['R_VERSION'].strip()}; BLAS/LAPACK: {r['R_BLAS'].strip()}")
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, cores {os.cpu_count()}")


if __name__ == "__main__":
    main()
