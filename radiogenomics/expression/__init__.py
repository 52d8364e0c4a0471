"""Transcriptomics front end: counts to expression, moderated statistics, gene-set scores.

=================== ========================================================================
module              what it does (and the R function it equals, tested against its output)
=================== ========================================================================
``normalize``       counts checks, ``calc_norm_factors`` (edgeR ``calcNormFactors``: TMM,
                    TMMwsp, RLE, upper quartile), ``cpm`` (``cpm(log=TRUE)``),
                    ``filter_by_expr`` (``filterByExpr``)
``limma``           ``voom``, ``lm_fit`` (weighted), ``ebayes`` (plain / trend / robust),
                    ``top_table``, ``squeeze_var`` (limma 3.54)
``genesets``        ``read_gmt`` / ``write_gmt``, ``score_gene_sets``: GSVA, ssGSEA, z-score and
                    PLAGE (GSVA 1.46), singscore-style ranks, module eigengenes
``pseudobulk``      single-cell (h5ad / AnnData) counts summed per sample and cell type, cell-type
                    proportions as a view
``combat_seq``      ``ComBatSeq``: sva's ``ComBat_seq`` for counts, fit / transform
``moderated``       ``associate(method="limma")``: imaging features x genes, moderated t,
                    permutation max-T on it
=================== ========================================================================
"""

from .combat_seq import ComBatSeq
from .pseudobulk import PseudobulkResult, pseudobulk, pseudobulk_from_h5ad
from .genesets import GeneSetScores, read_gmt, score_gene_sets, write_gmt
from .limma import (LinearFit, ModeratedFit, VoomResult, ebayes, lm_fit, squeeze_var, top_table,
                    voom)
from .moderated import ModeratedAssociationResult, looks_like_counts
from .normalize import FilterResult, as_counts, calc_norm_factors, cpm, filter_by_expr

__all__ = ["ComBatSeq", "as_counts", "calc_norm_factors", "cpm", "filter_by_expr", "FilterResult",
           "voom", "lm_fit", "ebayes", "top_table", "squeeze_var", "VoomResult", "LinearFit",
           "ModeratedFit", "pseudobulk", "pseudobulk_from_h5ad", "PseudobulkResult", "read_gmt", "write_gmt", "score_gene_sets", "GeneSetScores", "ModeratedAssociationResult", "looks_like_counts"]
