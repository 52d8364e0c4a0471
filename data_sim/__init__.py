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
make_phantoms, make_imaging_cohort
    Write synthetic cardiac short-axis phantoms (image, label map, AHA regions) whose
    myocardial texture follows a latent fibrosis factor, with centre-specific gain and noise;
    ``make_imaging_cohort`` drives them by a shared factor of a simulated cohort.
GroundTruth
    Container of everything used to generate a cohort.

Every stochastic function takes ``rng`` (int, ``None`` or
:class:`numpy.random.Generator`), normalised with
:func:`numpy.random.default_rng`; the same seed gives identical output.
"""

from .cohort import DEFAULT_VIEWS, SimulatedFrames, log_cpm, make_cohort, module_scores
from .phantoms import PHANTOM_LABELS, PHANTOM_PARAMS, PhantomSet, make_imaging_cohort, make_phantoms
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
    "make_imaging_cohort",
    "make_phantoms",
    "PHANTOM_LABELS",
    "PHANTOM_PARAMS",
    "PhantomSet",
    "make_mr_summary",
    "module_scores",
    "population_canonical_correlations",
    "simulate_dosages",
]
