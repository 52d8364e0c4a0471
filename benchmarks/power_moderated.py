"""Power of the moderated screen against the ordinary (OLS) screen at the same FDR.

Counts from ``data_sim.counts.make_bulk_counts`` with known imaging-associated genes, 3 centres,
filtered with ``filter_by_expr``.  For each n in (20, 40, 80) and replicate dataset, both
screens test the imaging feature against every kept gene with centre as covariate:

* ``limma``: ``associate(method="limma")``: TMM, voom weights, eBayes moderated t;
* ``ols``: ``associate(method="pearson")`` on the same TMM log-CPM (prior count 3): the
  ordinary t of ``log-CPM ~ x + centre``;

and genes with BH q <= 0.05 are called.  The table gives the mean number of true associated
genes found, the mean false discovery proportion, and how many more true genes limma finds.

Run: ``python benchmarks/power_moderated.py [replicates]`` (default 20).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from data_sim.counts import make_bulk_counts
from radiogenomics.association import associate
from radiogenomics.expression import calc_norm_factors, cpm, filter_by_expr


def one(n, seed, n_genes=2000, n_associated=100, effect_size=0.3):
    study = make_bulk_counts(n, n_genes, n_centres=3, n_associated=n_associated,
                             effect_size=effect_size, rng=seed)
    keep = filter_by_expr(study.counts, group=study.centre)
    counts = keep.apply(study.counts)
    truth = study.truth.loc[counts.columns, "associated"].to_numpy()
    x = study.imaging.iloc[:, [0]]
    cov = study.centre.rename("centre").to_frame()
    out = {}
    lim = associate(x, counts, cov, method="limma")
    E = cpm(counts, norm_factors=calc_norm_factors(counts), log=True, prior_count=3)
    ols = associate(x, E, cov)
    for name, res in (("limma", lim), ("ols", ols)):
        called = res.qvalues.to_numpy().ravel() <= 0.05
        tp = int((called & truth).sum())
        out[name] = (tp, (called.sum() - tp) / max(called.sum(), 1))
    out["n_true_kept"] = int(truth.sum())
    return out


def main(replicates=20, sizes=(20, 40, 80)):
    rows = []
    for n in sizes:
        res = [one(n, 7000 + 100 * n + r) for r in range(replicates)]
        row = {"n": n, "true genes kept (mean)": np.mean([r["n_true_kept"] for r in res])}
        for name in ("limma", "ols"):
            row[f"{name}: true found"] = np.mean([r[name][0] for r in res])
            row[f"{name}: FDP"] = np.mean([r[name][1] for r in res])
        diff = np.array([r["limma"][0] - r["ols"][0] for r in res])
        row["limma - ols (mean, 95% CI)"] = (
            f"{diff.mean():+.1f} ({diff.mean() - 1.96 * diff.std(ddof=1) / np.sqrt(len(diff)):+.1f}, "
            f"{diff.mean() + 1.96 * diff.std(ddof=1) / np.sqrt(len(diff)):+.1f})")
        rows.append(row)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"BH q <= 0.05, {replicates} datasets per n")
        print(table.round(3).to_string(index=False))
    return table


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
