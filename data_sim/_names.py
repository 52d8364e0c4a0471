"""Identifier generators: pyradiomics-style feature names, gene, sample and SNP IDs.

All generators are deterministic (no randomness) except :func:`snp_ids`,
which draws rs-numbers from the supplied generator.
"""

from __future__ import annotations

from itertools import count

import numpy as np
import pandas as pd

__all__ = [
    "FAMILIES",
    "FAMILY_FEATURES",
    "gene_ids",
    "image_types",
    "module_names",
    "radiomic_feature_names",
    "radiomic_feature_table",
    "sample_ids",
    "snp_ids",
]

#: Radiomic feature classes of pyradiomics 3.x (3D), in extraction order.
FAMILIES = ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")

#: Feature names of each pyradiomics feature class (pyradiomics 3.0.1, 3D).
FAMILY_FEATURES: dict[str, tuple[str, ...]] = {
    "shape": (
        "Elongation", "Flatness", "LeastAxisLength", "MajorAxisLength",
        "Maximum2DDiameterColumn", "Maximum2DDiameterRow", "Maximum2DDiameterSlice",
        "Maximum3DDiameter", "MeshVolume", "MinorAxisLength", "Sphericity",
        "SurfaceArea", "SurfaceVolumeRatio", "VoxelVolume",
    ),
    "firstorder": (
        "10Percentile", "90Percentile", "Energy", "Entropy", "InterquartileRange",
        "Kurtosis", "Maximum", "MeanAbsoluteDeviation", "Mean", "Median", "Minimum",
        "Range", "RobustMeanAbsoluteDeviation", "RootMeanSquared", "Skewness",
        "TotalEnergy", "Uniformity", "Variance",
    ),
    "glcm": (
        "Autocorrelation", "ClusterProminence", "ClusterShade", "ClusterTendency",
        "Contrast", "Correlation", "DifferenceAverage", "DifferenceEntropy",
        "DifferenceVariance", "Id", "Idm", "Idmn", "Idn", "Imc1", "Imc2",
        "InverseVariance", "JointAverage", "JointEnergy", "JointEntropy", "MCC",
        "MaximumProbability", "SumAverage", "SumEntropy", "SumSquares",
    ),
    "glrlm": (
        "GrayLevelNonUniformity", "GrayLevelNonUniformityNormalized",
        "GrayLevelVariance", "HighGrayLevelRunEmphasis", "LongRunEmphasis",
        "LongRunHighGrayLevelEmphasis", "LongRunLowGrayLevelEmphasis",
        "LowGrayLevelRunEmphasis", "RunEntropy", "RunLengthNonUniformity",
        "RunLengthNonUniformityNormalized", "RunPercentage", "RunVariance",
        "ShortRunEmphasis", "ShortRunHighGrayLevelEmphasis",
        "ShortRunLowGrayLevelEmphasis",
    ),
    "glszm": (
        "GrayLevelNonUniformity", "GrayLevelNonUniformityNormalized",
        "GrayLevelVariance", "HighGrayLevelZoneEmphasis", "LargeAreaEmphasis",
        "LargeAreaHighGrayLevelEmphasis", "LargeAreaLowGrayLevelEmphasis",
        "LowGrayLevelZoneEmphasis", "SizeZoneNonUniformity",
        "SizeZoneNonUniformityNormalized", "SmallAreaEmphasis",
        "SmallAreaHighGrayLevelEmphasis", "SmallAreaLowGrayLevelEmphasis",
        "ZoneEntropy", "ZonePercentage", "ZoneVariance",
    ),
    "gldm": (
        "DependenceEntropy", "DependenceNonUniformity",
        "DependenceNonUniformityNormalized", "DependenceVariance",
        "GrayLevelNonUniformity", "GrayLevelVariance", "HighGrayLevelEmphasis",
        "LargeDependenceEmphasis", "LargeDependenceHighGrayLevelEmphasis",
        "LargeDependenceLowGrayLevelEmphasis", "LowGrayLevelEmphasis",
        "SmallDependenceEmphasis", "SmallDependenceHighGrayLevelEmphasis",
        "SmallDependenceLowGrayLevelEmphasis",
    ),
    "ngtdm": ("Busyness", "Coarseness", "Complexity", "Contrast", "Strength"),
}

_WAVELETS = ("LLH", "LHL", "LHH", "HLL", "HLH", "HHL", "HHH", "LLL")
_OTHER_FILTERS = (
    "square", "squareroot", "logarithm", "exponential", "gradient",
    "lbp-3D-m1", "lbp-3D-m2", "lbp-3D-k",
)


def image_types():
    """Yield pyradiomics image-type prefixes in a fixed extraction order.

    The sequence is ``original``, the eight ``wavelet-XYZ`` decompositions,
    ``log-sigma-{1..5}-0-mm-3D``, the simple filters (``square`` ...
    ``lbp-3D-k``), ``log-sigma-{0..4}-5-mm-3D`` and then an unbounded series
    ``log-sigma-{6,7,...}-0-mm-3D`` so that any number of unique feature names
    can be produced.

    Yields
    ------
    str
        Image-type prefix as used in pyradiomics feature names.
    """
    yield "original"
    for w in _WAVELETS:
        yield f"wavelet-{w}"
    for s in range(1, 6):
        yield f"log-sigma-{s}-0-mm-3D"
    yield from _OTHER_FILTERS
    for s in range(0, 5):
        yield f"log-sigma-{s}-5-mm-3D"
    for s in count(6):
        yield f"log-sigma-{s}-0-mm-3D"


def radiomic_feature_table(n: int) -> pd.DataFrame:
    """Return the first ``n`` pyradiomics-style features with their metadata.

    Features are enumerated image type by image type (see
    :func:`image_types`) and, within an image type, family by family in
    :data:`FAMILIES` order. Shape features exist only for the ``original``
    image, as in pyradiomics. Names are ``{image_type}_{family}_{feature}``,
    e.g. ``original_glcm_Contrast`` or ``wavelet-LLH_firstorder_Mean``; they
    are unique for every ``n``.

    Parameters
    ----------
    n : int
        Number of features (>= 1).

    Returns
    -------
    pandas.DataFrame
        Index: feature name; columns ``image_type``, ``family``, ``feature``.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rows = []
    for it in image_types():
        for fam in FAMILIES:
            if fam == "shape" and it != "original":
                continue
            for feat in FAMILY_FEATURES[fam]:
                rows.append((f"{it}_{fam}_{feat}", it, fam, feat))
                if len(rows) == n:
                    df = pd.DataFrame(rows, columns=["name", "image_type", "family", "feature"])
                    return df.set_index("name")
    raise AssertionError("unreachable")  # pragma: no cover


def radiomic_feature_names(n: int) -> list[str]:
    """Return ``n`` unique pyradiomics-style feature names (see :func:`radiomic_feature_table`)."""
    return list(radiomic_feature_table(n).index)


def _width(n: int, minimum: int) -> int:
    return max(minimum, len(str(n)))


def sample_ids(n: int) -> pd.Index:
    """Return sample IDs ``S0001 ... Sn`` (zero padded to at least 4 digits) as an Index named ``sample_id``."""
    w = _width(n, 4)
    return pd.Index([f"S{i:0{w}d}" for i in range(1, n + 1)], name="sample_id")


def gene_ids(n: int) -> list[str]:
    """Return gene IDs ``G00001 ... Gn`` (zero padded to at least 5 digits)."""
    w = _width(n, 5)
    return [f"G{i:0{w}d}" for i in range(1, n + 1)]


_THEMES = (
    "ECM_REMODELLING", "INFLAMMATORY_RESPONSE", "OXIDATIVE_PHOSPHORYLATION",
    "HYPOXIA", "ANGIOGENESIS", "FIBROSIS", "CELL_CYCLE", "INTERFERON_RESPONSE",
    "GLYCOLYSIS", "APOPTOSIS", "FATTY_ACID_METABOLISM", "TNFA_SIGNALING",
    "EMT", "MYOGENESIS", "COMPLEMENT", "UNFOLDED_PROTEIN_RESPONSE",
    "CARDIAC_MUSCLE_CONTRACTION", "TGF_BETA_SIGNALING", "DNA_REPAIR", "MTORC1_SIGNALING",
)


def module_names(n: int) -> list[str]:
    """Return ``n`` gene-module names such as ``M01_ECM_REMODELLING``.

    Themes cycle when ``n`` exceeds the number of built-in themes; the
    numeric prefix keeps names unique.
    """
    w = _width(n, 2)
    return [f"M{i + 1:0{w}d}_{_THEMES[i % len(_THEMES)]}" for i in range(n)]


def snp_ids(n: int, rng: np.random.Generator) -> list[str]:
    """Draw ``n`` unique rs-style SNP identifiers (``rs`` + 4-9 digits).

    Parameters
    ----------
    n : int
        Number of identifiers.
    rng : numpy.random.Generator
        Source of randomness.
    """
    ids = 1_000 + rng.choice(999_998_999, size=n, replace=False) if n else []
    return [f"rs{int(i)}" for i in ids]
