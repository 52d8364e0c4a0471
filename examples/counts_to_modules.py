"""RNA-seq counts to a moderated imaging screen and gene-set scores (the README's counts
example; run by tests/test_tour.py, shown verbatim in README.md)."""

import data_sim
from radiogenomics.association import associate
from radiogenomics.expression import (calc_norm_factors, cpm, filter_by_expr, read_gmt,
                                      score_gene_sets, write_gmt)

study = data_sim.make_bulk_counts(24, 3000, n_associated=100, effect_size=0.3, rng=7)
counts, centre, imaging = study.counts, study.centre, study.imaging   # your own tables here
covariates = centre.rename("centre").to_frame()

keep = filter_by_expr(counts, group=centre)        # names every gene it removes, and why
kept = keep.apply(counts)
screen = associate(imaging, kept, covariates, method="limma")          # TMM + voom + eBayes
print(screen.to_frame(top=5)[["feature_y", "logFC", "AveExpr", "t", "p_parametric", "q"]])
perm = associate(imaging, kept, covariates, method="limma", n_permutations=999, rng=1,
                 exchangeability_blocks=centre, correction="maxT")     # FWER on moderated t
print(f"max-T significant genes: {perm.n_significant}")

truth = study.truth
write_gmt({"IMAGING_UP": list(truth.index[truth["associated"] & (truth["log2_fc_per_sd"] > 0)]),
           "IMAGING_DOWN": list(truth.index[truth["associated"] & (truth["log2_fc_per_sd"] < 0)])},
          "pathways.gmt")                           # or MSigDB's / your own GMT file
logcpm = cpm(kept, norm_factors=calc_norm_factors(kept), log=True)
scores = score_gene_sets(logcpm, read_gmt("pathways.gmt"), method="gsva")
print(scores.coverage[["n_genes", "n_found", "fraction"]])
