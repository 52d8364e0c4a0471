"""Mendelian randomisation: genotype -> molecular module -> imaging phenotype.

TwoSampleMR's pipeline over one harmonised data frame (dotted column names such as
``beta.exposure`` accepted, as are snake_case ones), with the same method names and output
columns (``method, nsnp, b, se, pval``):

* real inputs (:mod:`.io`): :func:`read_gwas_vcf` (IEU OpenGWAS GWAS-VCF),
  :func:`read_gwas_ssf` (GWAS Catalog GWAS-SSF), :func:`format_data` (TwoSampleMR's column
  mapping for any TSV/CSV), writers, build / p-value / allele-frequency checks; every dropped SNP
  with its reason (:func:`report_table`);
* instruments: :func:`ld_clump` (PLINK 1.9 ``--clump`` on a local bed/bim/fam panel or a
  Cohort's genotypes), :func:`find_proxies` / :func:`extract_with_proxies`, :func:`clump_mvmr`
  (MVMR instruments clumped jointly), :func:`add_rsq`, :func:`instrument_f`,
  :func:`steiger_filtering`;
* :func:`harmonise` (``harmonise_data``, actions 1/2/3, indels, reasons for every excluded SNP);
* :func:`mr`: all 19 TwoSampleMR methods (Wald ratio, ML, IVW random/fixed/radial, MR-Egger
  (+ bootstrap), simple / weighted / penalised weighted median, four modes, RAPS, sign
  concordance, unweighted regression, MR GRIP; ``backend="TwoSampleMR"`` runs R's);
* MendelianRandomization's estimators (:mod:`.mrpkg`): penalised / robust IVW and Egger,
  correlated variants, medians, MBE, debiased IVW, contamination mixture, MR-Lasso, cML-MA,
  :func:`mr_allmethods`;
* sensitivity: :func:`mr_heterogeneity`, :func:`mr_rucker`, :func:`mr_pleiotropy_test`,
  :func:`mr_leaveoneout`, :func:`mr_singlesnp`, :func:`directionality_test` (Steiger),
  :func:`instrument_strength`, :func:`isq_gx`; :func:`mr_presso` and :func:`mr_presso_mv`
  (Verbanck et al. 2018; seeded, parallel);
* multivariable MR :func:`mr_mvivw`, :func:`mr_mvegger` (MendelianRandomization),
  :func:`mv_multiple`, :func:`mv_ivw`, :func:`mv_basic` (TwoSampleMR); two-step mediation
  :func:`two_step_mr`; sample overlap :func:`mr_ivw_overlap`, :func:`overlap_bias`;
* colocalisation: :func:`coloc_abf` (coloc's ``coloc.abf``), :func:`coloc_susie`,
  :func:`coloc_bf_bf`; SuSiE fine-mapping from summary statistics :func:`susie_rss`;
* individual-level data: :func:`snp_summary_statistics`, :func:`mr_input_from_cohort`.
"""

from ._core import DOTTED, egger_fit, ivw_fit, normalise_columns, prepare_harmonised
from .clump import ClumpResult, clump_mvmr, extract_with_proxies, find_proxies, ld_clump, load_panel
from .coloc import ColocResult, coloc_abf, coloc_bf_bf, coloc_susie
from .estimators import METHODS, mr
from .harmonise import harmonise
from .individual import mr_input_from_cohort, snp_summary_statistics
from .instruments import add_rsq, get_r_from_bsen, get_r_from_lor, get_r_from_pn, instrument_f, steiger_filtering
from .io import (check_builds, check_eaf_concordance, check_pvalues, format_data, read_gwas_ssf,
                 read_gwas_vcf, report_table, write_gwas_ssf, write_gwas_vcf)
from .mediation import two_step_mr
from .mrpkg import (MRPkgResult, mr_allmethods, mr_cml, mr_conmix, mr_divw, mr_egger, mr_ivw, mr_lasso, mr_mbe,
                    mr_median)
from .mvmr import mr_mvegger, mr_mvivw, mv_basic, mv_ivw, mv_multiple
from .overlap import mr_ivw_overlap, overlap_bias, overlap_fraction
from .presso import PressoResult, mr_presso, mr_presso_mv
from .susie import SusieResult, susie_rss, susie_suff_stat
from .sensitivity import (
    directionality_test,
    instrument_strength,
    isq_gx,
    mr_heterogeneity,
    mr_leaveoneout,
    mr_pleiotropy_test,
    mr_rucker,
    mr_singlesnp,
)

__all__ = [
    "DOTTED", "egger_fit", "ivw_fit", "normalise_columns", "prepare_harmonised", "METHODS", "mr", "harmonise",
    "mr_input_from_cohort", "snp_summary_statistics", "two_step_mr", "mr_mvegger", "mr_mvivw",
    "mv_basic", "mv_ivw", "mv_multiple",
    "PressoResult", "mr_presso", "mr_presso_mv", "directionality_test", "instrument_strength", "isq_gx",
    "mr_heterogeneity", "mr_leaveoneout", "mr_pleiotropy_test", "mr_rucker", "mr_singlesnp",
    "ClumpResult", "clump_mvmr", "extract_with_proxies", "find_proxies", "ld_clump", "load_panel",
    "ColocResult", "coloc_abf", "coloc_bf_bf", "coloc_susie",
    "add_rsq", "get_r_from_bsen", "get_r_from_lor", "get_r_from_pn", "instrument_f", "steiger_filtering",
    "check_builds", "check_eaf_concordance", "check_pvalues", "format_data", "read_gwas_ssf",
    "read_gwas_vcf", "report_table", "write_gwas_ssf", "write_gwas_vcf",
    "MRPkgResult", "mr_allmethods", "mr_cml", "mr_conmix", "mr_divw", "mr_egger", "mr_ivw", "mr_lasso", "mr_mbe",
    "mr_median",
    "mr_ivw_overlap", "overlap_bias", "overlap_fraction", "SusieResult", "susie_rss", "susie_suff_stat",
]
