"""Mendelian randomisation: genotype -> molecular module -> imaging phenotype.

TwoSampleMR's pipeline over one harmonised data frame (dotted column names such as
``beta.exposure`` accepted, as are snake_case ones), with the same method names and output
columns (``method, nsnp, b, se, pval``):

* :func:`harmonise` (``harmonise_data``, actions 1/2/3, reasons for every excluded SNP);
* :func:`mr` (Wald ratio, IVW random/fixed, MR-Egger (+ bootstrap), simple / weighted /
  penalised weighted median, simple / weighted modes; ``backend="TwoSampleMR"`` runs R's);
* sensitivity: :func:`mr_heterogeneity`, :func:`mr_pleiotropy_test`, :func:`mr_leaveoneout`,
  :func:`mr_singlesnp`, :func:`directionality_test` (Steiger), :func:`instrument_strength`,
  :func:`isq_gx`; :func:`mr_presso` (Verbanck et al. 2018);
* multivariable MR :func:`mr_mvivw`, :func:`mr_mvegger` (MendelianRandomization);
  two-step mediation :func:`two_step_mr`;
* individual-level data: :func:`snp_summary_statistics`, :func:`mr_input_from_cohort`.
"""

from ._core import DOTTED, egger_fit, ivw_fit, normalise_columns, prepare_harmonised
from .estimators import METHODS, mr
from .harmonise import harmonise
from .individual import mr_input_from_cohort, snp_summary_statistics
from .mediation import two_step_mr
from .mvmr import mr_mvegger, mr_mvivw
from .presso import PressoResult, mr_presso
from .sensitivity import (
    directionality_test,
    instrument_strength,
    isq_gx,
    mr_heterogeneity,
    mr_leaveoneout,
    mr_pleiotropy_test,
    mr_singlesnp,
)

__all__ = [
    "DOTTED", "egger_fit", "ivw_fit", "normalise_columns", "prepare_harmonised", "METHODS", "mr", "harmonise",
    "mr_input_from_cohort", "snp_summary_statistics", "two_step_mr", "mr_mvegger", "mr_mvivw",
    "PressoResult", "mr_presso", "directionality_test", "instrument_strength", "isq_gx",
    "mr_heterogeneity", "mr_leaveoneout", "mr_pleiotropy_test", "mr_singlesnp",
]
