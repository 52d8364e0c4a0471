"""Synthetic multi-centre imaging-omics cohorts with known ground truth.

Public API
----------
make_cohort
    Simulate radiomics, gene expression (counts, log-CPM, module scores),
    genotypes, imaging traits, covariates, centres and outcomes with a
    :class:`GroundTruth` (known canonical correlations, centre effects, clean
    companions, causal effects, missingness).
make_mr_summary
    Simulate two-sample Mendelian-randomisation GWAS summary statistics in
    TwoSampleMR format.
GroundTruth
    Container of everything used to generate a cohort.

Every stochastic function takes ``rng`` (int, ``None`` or
:class:`numpy.random.Generator`), normalised with
:func:`numpy.random.default_rng`; the same seed gives identical output.
"""

from .cohort import DEFAULT_VIEWS, SimulatedFrames, log_cpm, make_cohort, module_scores
from .genetics import MRSummary, draw_instruments, make_mr_summary, simulate_dosages
from .truth import GroundTruth, RadiomicTransform, population_canonical_correlations

__all__ = [
    "DEFAULT_VIEWS",
    "GroundTruth",
    "MRSummary",
    "RadiomicTransform",
    "SimulatedFrames",
    "draw_instruments",
    "log_cpm",
    "make_cohort",
    "make_mr_summary",
    "module_scores",
    "population_canonical_correlations",
    "simulate_dosages",
]
