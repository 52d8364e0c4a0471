"""Linear CCA family: classical, ridge-regularised and sparse (PMD) CCA, with inference.

All estimators are scikit-learn compatible (``fit(X, Y)``, ``transform``, ``get_params``,
``clone``, ``Pipeline``, ``cross_validate``); see :mod:`radiogenomics.cca._base` for the shared
conventions (centring, sign, normalisation, fitted attributes).

* :class:`CCA` (``CCA::cc``), :class:`RegularizedCCA` (``CCA::rcc``, penalty selection as
  ``CCA::estim.regul``), :func:`wilks_lambda_test` (Bartlett / Rao F);
* :class:`SparseCCA` (``PMA::CCA``), :func:`sparse_cca_permute` (``PMA::CCA.permute``, with
  a valid null by default);
* :class:`DegenerateCCAError`: classical CCA refused when the ranks of the centred blocks force
  correlations of 1; :class:`InSampleCorrelationWarning`: ridge CCA's in-sample correlations
  are uninformative (``n`` not above ``p + q``);
* :func:`cca_stepdown_test`: the step-down test of classical CCA as published by Winkler et al.
  (2020, NeuroImage 220:117065): Huh-Jhun projection, Roy's or Wilks' statistic, FWER over
  components, within exchangeability blocks;
* :func:`cca_permutation_test` (first-correlation null for ridge / sparse CCA, step-down,
  exchangeability blocks),
  :func:`cross_validated_correlation` (k-fold / leave-one-centre-out, with its null),
  :func:`bootstrap_cca` (aligned percentile intervals, selection stability).
"""

from ._base import BaseCCA, DegenerateCCAError, InSampleCorrelationWarning
from .classical import CCA, PenaltySelection, RegularizedCCA, wilks_lambda_test
from .inference import (
    BootstrapCCAResult,
    CCAPermutationResult,
    CVCorrelationResult,
    bootstrap_cca,
    cca_permutation_test,
    cross_validated_correlation,
)
from .sparse import PMA_PENALTY_GRID, SparseCCA, SparseCCAPermutationResult, sparse_cca_permute
from .stepdown import StepdownResult, cca_stepdown_test

__all__ = [
    "BaseCCA", "DegenerateCCAError", "InSampleCorrelationWarning", "CCA", "RegularizedCCA", "PenaltySelection", "wilks_lambda_test", "SparseCCA",
    "sparse_cca_permute", "SparseCCAPermutationResult", "PMA_PENALTY_GRID",
    "cca_permutation_test", "CCAPermutationResult", "cross_validated_correlation",
    "CVCorrelationResult", "bootstrap_cca", "BootstrapCCAResult", "cca_stepdown_test",
    "StepdownResult",
]
