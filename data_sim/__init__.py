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
make_spatial_study, gaussian_random_field, visium_layout
    Spatial transcriptomics sections (Visium-type hexagonal spot lattices, AnnData in
    scanpy / squidpy conventions) with an imaging map per section in its own pixel grid,
    registration landmarks and the true transform; smooth molecular fields are Gaussian
    random fields of set length scales (circulant embedding), some shared with the imaging
    map (planted co-localisation), others independent (the hard null), plus noise genes.
make_survival_cohort, simulate_survival
    A time-to-event outcome (Weibull proportional hazards from the shared factors, age and
    sex; centre-specific baseline hazards; administrative and random censoring) with its
    truth (``truth.extras["survival"]``: the true linear predictor).
GroundTruth
    Container of everything used to generate a cohort.

Every stochastic function takes ``rng`` (SPEC 7: int, ``None``, ``SeedSequence``,
``BitGenerator`` or :class:`numpy.random.Generator`), normalised with the toolkit's own
:func:`radiogenomics._checks.check_rng`; the same seed gives identical output.

Layering: ``data_sim`` sits beside the toolkit and depends on its core only
(:class:`radiogenomics.Cohort`, :mod:`radiogenomics._checks`).  It never imports
:mod:`radiogenomics.power` (the study engine) nor :mod:`radiogenomics.studies` (the built-in
power analyses, which simulate with ``data_sim``); no core module of ``radiogenomics``
imports ``data_sim`` - only the layer above both (``radiogenomics.studies``, the CLI and the
demo).  ``tests/test_power.py::test_layering`` checks these rules.
"""

from .counts import CARDIAC_CELL_TYPES, BulkCountsStudy, make_bulk_counts, make_single_cell
from .cohort import DEFAULT_VIEWS, SimulatedFrames, log_cpm, make_cohort, module_scores
from .phantoms import PHANTOM_LABELS, PHANTOM_PARAMS, PhantomSet, make_imaging_cohort, make_phantoms
from .genetics import MRSummary, draw_instruments, make_mr_summary, simulate_dosages
from .spatial import (GRF_KERNELS, SpatialStudy, SpatialTruth, gaussian_random_field,
                      grf_covariance, make_spatial_study, visium_layout)
from .survival import SurvivalOutcome, make_survival_cohort, simulate_survival
from .truth import GroundTruth, RadiomicTransform, population_canonical_correlations

__all__ = [
    "GRF_KERNELS",
    "SpatialStudy",
    "SpatialTruth",
    "gaussian_random_field",
    "grf_covariance",
    "make_spatial_study",
    "visium_layout",
    "BulkCountsStudy",
    "CARDIAC_CELL_TYPES",
    "make_bulk_counts",
    "make_single_cell",
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
    "SurvivalOutcome",
    "make_survival_cohort",
    "simulate_survival",
]
