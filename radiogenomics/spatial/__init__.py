"""Spatial bridge: spot transcriptomics and imaging maps on the same tissue.

* :mod:`~radiogenomics.spatial.data`: :class:`SpotData` from AnnData (scanpy / squidpy
  conventions: ``obsm["spatial"]``, ``library_id`` sections, scale factors, ``in_tissue``).
* :mod:`~radiogenomics.spatial.registration`: landmark registration of an imaging map
  (2-D array or SimpleITK image) to spot coordinates (affine / similarity / rigid, residual and
  leave-one-out errors) and the map's mean in each spot's disc.
* :mod:`~radiogenomics.spatial.weights`: k-nearest-neighbour and distance-band spatial
  weights (spdep's ``knearneigh`` / ``dnearneigh`` + ``nb2listw``), block-diagonal by section.
* :mod:`~radiogenomics.spatial.autocorr`: Moran's I, Geary's C and Lee's L for many genes at
  once, equal to spdep's ``moran.test`` / ``geary.test`` / ``lee`` (+ permutation tests).
* :mod:`~radiogenomics.spatial.nulls`: spatially constrained nulls (toroidal shifts, spin
  rotations, Moran spectral randomisation, variogram-matched surrogates).
* :mod:`~radiogenomics.spatial.association`: imaging map(s) x genes across spots with those
  nulls and max-T over genes on the resampling engine; section-level (pseudo-bulk) analysis.
* :mod:`~radiogenomics.spatial.dutilleul`: Dutilleul's modified t-test (effective sample
  size under spatial autocorrelation).
"""

from .association import (NULLS, PseudobulkResult, SpatialAssociationResult,
                          pseudobulk_association, spatial_association, spatial_surrogates)
from .autocorr import AutocorrResult, gearys_c, lees_l, mc_pvalue, morans_i
from .data import SpotData
from .dutilleul import ModifiedTTestResult, modified_ttest
from .registration import Registration, SpotImageSample, register_landmarks, sample_image_at_spots
from .weights import SpatialWeights, distance_weights, knn_weights

__all__ = [
    "SpotData", "Registration", "SpotImageSample", "register_landmarks", "sample_image_at_spots",
    "SpatialWeights", "knn_weights", "distance_weights",
    "AutocorrResult", "morans_i", "gearys_c", "lees_l", "mc_pvalue",
    "NULLS", "SpatialAssociationResult", "spatial_association", "spatial_surrogates",
    "PseudobulkResult", "pseudobulk_association", "ModifiedTTestResult", "modified_ttest",
]
