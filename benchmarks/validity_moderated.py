"""Type-I error of the moderated screen under the null, n = 12, 24, 60 with centres.

Null RNA-seq counts from ``data_sim.counts.make_bulk_counts(null=True)`` (3 centres with their
own mean shifts and library sizes; the imaging feature is unrelated to every gene), filtered
with ``filter_by_expr`` as a user would.  For each n:

* per gene: the rejection rate at 0.05 of the parametric moderated t, voom (default) and
  limma-trend on TMM log-CPM, with its 95% binomial (Wilson) interval over all gene tests;
  genes of one dataset share the prior, so the interval is also given with the design effect
  measured from the datasets' own rejection counts;
* family-wise: the fraction of datasets where max-T (within-centre Freedman-Lane permutations
  of the moderated t, B = 199, centre as covariate) rejects any gene at 0.05, with its Wilson
  interval.

Run: ``python benchmarks/validity_moderated.py [n_datasets]`` (default 400 datasets per n;
figures go to ``benchmarks/README.md``).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from data_sim.counts import make_bulk_counts
from radiogenomics.association import associate
from radiogenomics.expression import filter_by_expr


def one_dataset(n, seed, n_genes, permutations):
    study = make_bulk_counts(n, n_genes, n_centres=3, null=True, rng=seed)
    keep = filter_by_expr(study.counts, group=study.centre)
    counts = keep.apply(study.counts)
    x = study.imaging.iloc[:, [0]]
    cov = study.centre.rename("centre").to_frame()
    out = {}
    res = associate(x, counts, cov, method="limma")
    out["voom"] = res.pvalues.to_numpy().ravel()
    res = associate(x, counts, cov, method="limma", voom=False)
    out["trend"] = res.pvalues.to_numpy().ravel()
    if permutations:
        res = associate(x, counts, cov, method="limma", n_permutations=permutations, rng=seed,
                        exchangeability_blocks=study.centre, correction="maxT")
        out["maxT_any"] = bool((res.p_fwer.to_numpy() <= 0.05).any())
    return out


def main(n_datasets=400, n_genes=500, permutations=199, sizes=(12, 24, 60)):
    rows = []
    for n in sizes:
        t0 = time.perf_counter()
        results = [one_dataset(n, 10_000 * n + i, n_genes, permutations) for i in range(n_datasets)]
        for kind in ("voom", "trend"):
            rej = np.array([(r[kind] <= 0.05).sum() for r in results])
            m = np.array([r[kind].size for r in results])
            rate = rej.sum() / m.sum()
            lo, hi = proportion_confint(rej.sum(), m.sum(), 0.05, method="wilson")
            per = rej / m
            deff = max(1.0, per.var(ddof=1) / (rate * (1 - rate) / m.mean()))
            half = 1.96 * np.sqrt(deff * rate * (1 - rate) / m.sum())
            rows.append({"n": n, "test": f"moderated t per gene ({kind})", "rate": rate,
                         "ci95_binomial": f"{lo:.4f}-{hi:.4f}",
                         "ci95_with_design_effect": f"{rate - half:.4f}-{rate + half:.4f}",
                         "tests": int(m.sum())})
        if permutations:
            k = sum(r["maxT_any"] for r in results)
            lo, hi = proportion_confint(k, n_datasets, 0.05, method="wilson")
            rows.append({"n": n, "test": f"max-T FWER (B = {permutations}, within centre)",
                         "rate": k / n_datasets, "ci95_binomial": f"{lo:.4f}-{hi:.4f}",
                         "ci95_with_design_effect": "", "tests": n_datasets})
        print(f"n = {n}: {time.perf_counter() - t0:.0f} s", flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    return table


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
