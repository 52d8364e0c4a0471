"""Resampling engine: seeded indices on the CPU, chunked kernels on NumPy, Numba or CuPy.

* :mod:`~radiogenomics.resampling.indices` draws permutations (free, within exchangeability
  blocks, whole blocks), bootstraps (plain, stratified) and sign flips from ``rng``.
* :mod:`~radiogenomics.resampling.kernels_xp` holds the chunked statistics written once for
  NumPy and CuPy; :mod:`~radiogenomics.resampling.kernels_numba` the fused CPU reductions.
* :mod:`~radiogenomics.resampling.engine` drives them: max-T null and exceedance counts
  without ever holding the p x q x B null in memory.
"""

from .backend import BACKENDS, cupy_available, resolve_backend
from .engine import (
    PermutationNull,
    correlation_permutation_null,
    maxt_pvalues,
    maxt_threshold,
    permutation_pvalue,
    surrogate_correlation_null,
)
from .indices import (
    BootstrapScheme,
    PermutationScheme,
    SignFlipScheme,
    bootstrap_indices,
    check_rng,
    inverse_permutations,
    iter_batches,
    permutation_indices,
    sign_flips,
)

__all__ = [
    "BACKENDS", "cupy_available", "resolve_backend", "PermutationNull",
    "correlation_permutation_null", "maxt_pvalues", "maxt_threshold", "permutation_pvalue", "surrogate_correlation_null", "BootstrapScheme",
    "PermutationScheme", "SignFlipScheme", "bootstrap_indices", "check_rng",
    "inverse_permutations", "iter_batches", "permutation_indices", "sign_flips",
]
