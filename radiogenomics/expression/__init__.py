"""Transcriptomics front end: counts to expression, moderated statistics, gene-set scores.

=================== ========================================================================
module              what it does (and the R function it equals, tested against its output)
=================== ========================================================================
``normalize``       counts checks, ``calc_norm_factors`` (edgeR ``calcNormFactors``: TMM,
                    TMMwsp, RLE, upper quartile), ``cpm`` (``cpm(log=TRUE)``),
                    ``filter_by_expr`` (``filterByExpr``)
``moderated``       ``associate(method="limma")``: imaging features x genes, moderated t,
                    permutation max-T on it
=================== ========================================================================
"""

from .moderated import ModeratedAssociationResult, looks_like_counts
from .normalize import FilterResult, as_counts, calc_norm_factors, cpm, filter_by_expr

__all__ = ["as_counts", "calc_norm_factors", "cpm", "filter_by_expr", "FilterResult",
           "ModeratedAssociationResult", "looks_like_counts"]
