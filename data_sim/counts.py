r"""Synthetic RNA-seq counts: bulk myocardium with imaging-associated genes, and single cells.

* :func:`make_bulk_counts` simulates a multi-centre bulk RNA-seq study of heart tissue (raw
  counts, negative binomial with a mean-dispersion trend) in which a known set of genes is
  associated with continuous imaging feature(s); :class:`BulkCountsStudy` holds the frames and
  the per-gene truth.
* :func:`make_single_cell` simulates a single-nucleus study of cardiac cell types whose
  composition follows a per-sample latent factor that also drives imaging features; it returns
  an :class:`anndata.AnnData` (cells x genes, sparse integer counts) for
  :func:`radiogenomics.expression.pseudobulk.pseudobulk`.

Both take ``rng`` (SPEC 7, normalised by :func:`data_sim._utils.as_generator`); the same seed
gives identical output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from ._names import gene_ids, sample_ids
from ._utils import RngLike, allocate_counts, as_generator, spawn
from .cohort import TRAITS, log_cpm

__all__ = ["BulkCountsStudy", "CARDIAC_CELL_TYPES", "HEART_GENES", "make_bulk_counts",
           "make_single_cell"]

_LN2 = np.log(2.0)

#: Most-read genes of bulk left-ventricle RNA-seq and their share of the reads (rough GTEx-like
#: orders of magnitude: mitochondrial transcripts ~30%, sarcomeric / cardiac genes ~13%).
HEART_GENES = pd.DataFrame(
    {"share": [0.060, 0.045, 0.040, 0.040, 0.035, 0.030, 0.020, 0.015,
               0.030, 0.020, 0.016, 0.012, 0.012, 0.008, 0.008, 0.006, 0.006, 0.005, 0.004,
               0.003],
     "kind": ["mitochondrial"] * 8 + ["sarcomeric"] * 12},
    index=pd.Index(["MT-CO1", "MT-ND4", "MT-CO3", "MT-ATP6", "MT-CO2", "MT-CYB", "MT-ND1",
                    "MT-ND2", "MYH7", "MYL2", "ACTC1", "TNNT2", "MB", "TNNI3", "MYL3", "DES",
                    "TPM1", "NPPA", "TTN", "ACTA1"], name="gene"))

#: Cell types of the adult heart (single-nucleus atlases, e.g. Litvinukova et al. 2020).
CARDIAC_CELL_TYPES = ("cardiomyocyte", "fibroblast", "endothelial", "macrophage", "pericyte",
                      "smooth_muscle")
_BASE_PROPORTION = {"cardiomyocyte": 0.30, "fibroblast": 0.18, "endothelial": 0.25,
                    "macrophage": 0.10, "pericyte": 0.12, "smooth_muscle": 0.05}
#: Log-odds change of each cell type's share per SD of the latent (fibrosis-like) factor.
_FACTOR_LOADING = {"cardiomyocyte": -0.6, "fibroblast": 1.0, "endothelial": -0.2,
                   "macrophage": 0.5, "pericyte": 0.0, "smooth_muscle": 0.0}
_MARKERS = {
    "cardiomyocyte": ("TNNT2", "RYR2", "MYH6", "FHL2", "NPPB", "SORBS2"),
    "fibroblast": ("DCN", "COL1A1", "COL1A2", "PDGFRA", "GSN", "LUM"),
    "endothelial": ("PECAM1", "VWF", "CDH5", "FLT1", "EGFL7", "AQP1"),
    "macrophage": ("CD163", "LYVE1", "MRC1", "C1QA", "F13A1", "CD14"),
    "pericyte": ("RGS5", "KCNJ8", "ABCC9", "PDGFRB", "NOTCH3"),
    "smooth_muscle": ("MYH11", "ACTA2", "TAGLN", "CNN1", "DES"),
}
_FACTOR_GENES = ("POSTN", "COL3A1", "FN1", "CCN2", "TNC", "THBS4", "COMP", "FAP", "LTBP2", "CILP")
_SC_TRAITS = ("ecv", "myo_t1")  # imaging features driven by the single-cell latent factor


# --------------------------------------------------------------------------- bulk
@dataclass(repr=False)
class BulkCountsStudy:
    """A simulated bulk RNA-seq + imaging study (:func:`make_bulk_counts`).

    Attributes
    ----------
    counts : DataFrame
        Raw counts (int64), samples x genes.
    imaging : DataFrame
        Continuous imaging feature(s), samples x features, in reported units.
    covariates : DataFrame
        ``age`` (years) and ``sex`` (``"F"``/``"M"``).
    centre : Series
        Centre label per sample.
    truth : DataFrame
        One row per gene: ``associated``, ``feature`` (the imaging feature driving it, ``""``
        otherwise), ``log2_fc_per_sd`` (per SD of that feature), ``base_cpm``, ``base_mean``
        (expected count at the median sequencing depth), ``dispersion`` (NB :math:`\\phi`),
        ``age_log2_fc`` (per 10 years), ``sex_log2_fc`` (male vs female), ``kind``.
    imaging_latent : DataFrame
        The standardised imaging features :math:`t` (population mean 0, SD 1).
    lib_size : Series
        Realised library sizes (column sums of ``counts``, edgeR's ``lib.size``).
    depth : Series
        Target sequencing depth :math:`D_i` (the expected library size at the baseline).
    centre_effects : DataFrame
        Genes x centres, log2 shift of the mean by centre.
    params : dict
        Arguments of the call.
    """

    counts: pd.DataFrame
    imaging: pd.DataFrame
    covariates: pd.DataFrame
    centre: pd.Series
    truth: pd.DataFrame
    imaging_latent: pd.DataFrame
    lib_size: pd.Series
    depth: pd.Series
    centre_effects: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def associated_genes(self) -> list[str]:
        """Genes truly associated with an imaging feature."""
        return list(self.truth.index[self.truth["associated"]])

    def log_cpm(self) -> pd.DataFrame:
        """:math:`\\log_2(\\mathrm{CPM} + 1)` of ``counts`` (:func:`data_sim.log_cpm`)."""
        return pd.DataFrame(log_cpm(self.counts.to_numpy()), index=self.counts.index,
                            columns=self.counts.columns)

    def __repr__(self) -> str:
        n, q = self.counts.shape
        lib = self.lib_size
        return (f"BulkCountsStudy({n} samples x {q} genes, {self.centre.nunique()} centres, "
                f"imaging {list(self.imaging.columns)}; {len(self.associated_genes)} associated "
                f"genes; library sizes {lib.min() / 1e6:.1f}-{lib.max() / 1e6:.1f} M)")


def _imaging_scales(n_features: int) -> pd.DataFrame:
    """Names, population means and SDs of the imaging features (cardiac MRI traits first)."""
    tab = TRAITS[["mean", "sd"]].iloc[:n_features].copy()
    extra = [f"imaging_feature_{j + 1}" for j in range(len(tab), n_features)]
    if extra:
        tab = pd.concat([tab, pd.DataFrame({"mean": 0.0, "sd": 1.0}, index=extra)])
    tab.index.name = "feature"
    return tab


def _bulk_gene_table(q: int, low_fraction: float, rng) -> pd.DataFrame:
    r"""Baseline CPM per gene: heart genes with fixed shares, a low/zero group, a lognormal rest.

    The heart genes (``min(20, q // 10)`` of :data:`HEART_GENES`) keep their read shares; a
    fraction ``low_fraction`` of the other genes has :math:`\ln\mathrm{CPM} \sim N(\ln 0.02, 1.2^2)`
    (mostly zero counts); the remaining genes have :math:`\log_2 w \sim N(0, 2.5^2)` rescaled so
    that all CPMs sum to :math:`10^6`, capped (by iterated clipping and rescaling) at the share of
    the least-read heart gene, so the heart genes are the most read (unless that would clip
    more than ~1% of the genes: with few genes the cap is their 99th percentile).
    """
    heart = HEART_GENES.iloc[:min(len(HEART_GENES), q // 10)]
    rest = q - len(heart)
    n_low = int(round(low_fraction * rest))
    low = np.exp(rng.normal(np.log(0.02), 1.2, n_low))
    w = 2.0 ** rng.normal(0.0, 2.5, rest - n_low)
    share_left = 1e6 * (1.0 - heart["share"].sum()) - low.sum()
    expr = w / w.sum() * share_left
    # the named heart genes stay the top-expressed ones (clipping at most ~1% of the others)
    cap = max(1e6 * (heart["share"].min() if len(heart) else 0.0), np.quantile(expr, 0.99))
    for _ in range(50):
        if expr.max() <= cap * (1 + 1e-9):
            break
        expr = np.minimum(expr, cap)
        expr = expr / expr.sum() * share_left
    kinds = np.r_[np.repeat("expressed", rest - n_low), np.repeat("low", n_low)]
    order = rng.permutation(rest)  # low and expressed genes interleaved in the gene order
    names = list(heart.index) + gene_ids(rest)
    cpm = np.r_[heart["share"].to_numpy() * 1e6, np.r_[expr, low][order]]
    kind = np.r_[heart["kind"].to_numpy(), kinds[order]]
    return pd.DataFrame({"base_cpm": cpm, "kind": kind}, index=pd.Index(names, name="gene"))


def _depths(n, cidx, C, library_size, centre_effects, rng) -> np.ndarray:
    """Target depths: log-uniform in a (low, high) range, or lognormal around a median."""
    if np.ndim(library_size) == 0:
        med = float(library_size)
        if not med > 0:
            raise ValueError(f"library_size must be positive, got {library_size}")
        shift = rng.normal(0, 0.25, C) if centre_effects else np.zeros(C)
        return np.round(med * np.exp(rng.normal(0, 0.35, n) + shift[cidx]))
    lo, hi = map(float, library_size)
    if not 0 < lo <= hi:
        raise ValueError(f"library_size must be (low, high) with 0 < low <= high, got "
                         f"{library_size}")
    u = rng.random(n)
    if centre_effects:  # each centre sequences at its own depth, within the range
        u = 0.6 * u + 0.4 * rng.random(C)[cidx]
    return np.round(lo * (hi / lo) ** u)


def _nb(mu: np.ndarray, phi: np.ndarray, rng) -> np.ndarray:
    r"""NB counts by gamma-Poisson mixing: mean :math:`\mu`, variance :math:`\mu + \phi\mu^2`."""
    shape = 1.0 / phi
    w = rng.gamma(np.broadcast_to(shape, mu.shape), np.broadcast_to(phi, mu.shape))
    w *= mu
    return rng.poisson(w).astype(np.int64)


def make_bulk_counts(
    n_samples: int = 40,
    n_genes: int = 2000,
    *,
    n_centres: int = 3,
    n_associated: int = 100,
    effect_size: float | tuple[float, float] = 0.5,
    n_features: int = 1,
    library_size: float | tuple[float, float] = (10e6, 40e6),
    dispersion: tuple[float, float] = (0.08, 1.0),
    dispersion_scatter: float = 0.3,
    low_fraction: float = 0.25,
    centre_effects: bool = True,
    centre_shift: float = 0.2,
    covariate_effect: float = 0.1,
    null: bool = False,
    rng: RngLike = None,
) -> BulkCountsStudy:
    r"""Simulate bulk RNA-seq of myocardium with genes associated with imaging feature(s).

    **Design.** Samples ``S0001 ...`` are split evenly (largest remainder, at least 2 each) over
    centres ``C1 ...`` in random order; ``age`` :math:`\sim N(60, 10^2)` clipped to [18, 95],
    ``sex`` F/M with probability 1/2.  Imaging features are
    :math:`\text{mean}_f + \text{sd}_f\, t_{if}` with independent :math:`t_{if} \sim N(0, 1)`
    (names and scales of :data:`data_sim.cohort.TRAITS`: ``lv_mass_index``, ``lvef``, ``ecv``,
    ``myo_t1``, then ``imaging_feature_5 ...`` on a unit scale).

    **Genes.** Baseline CPM :math:`c_g`: the top-expressed genes are named after heart genes
    (:data:`HEART_GENES`, mitochondrial and sarcomeric, ~40% of the reads); a fraction
    ``low_fraction`` of the others is barely expressed (mostly zero counts); the rest have a
    lognormal distribution of abundance (heavy right tail).  Counts are

    .. math::

        Y_{ig} \sim \mathrm{NB}(\mu_{ig}, \phi_g),\qquad
        \log_2 \mu_{ig} = \log_2(D_i c_g 10^{-6}) + \beta_g t_{i f(g)} + \gamma_{c(i) g}
        + a_g (\mathrm{age}_i - 60)/10 + s_g\,\mathrm{male}_i,

    :math:`\operatorname{Var} Y = \mu + \phi\mu^2`, with the dispersion trend
    :math:`\phi_g = (a + b/\bar\mu_g)\, e^{N(0, \sigma^2)}` (``dispersion`` = (a, b),
    :math:`\sigma` = ``dispersion_scatter``, :math:`\bar\mu_g` the baseline mean at the median
    depth), so the biological CV :math:`\sqrt{\phi}` is about :math:`\sqrt a` (0.2-0.4 with
    the default) for well-expressed genes and larger for weakly expressed ones (edgeR's BCV
    trend).  Age and sex effects :math:`a_g, s_g \sim N(0, e^2)` (:math:`e` =
    ``covariate_effect``, log2).

    **Association.** ``n_associated`` genes, drawn among the expressed non-heart genes and
    assigned to the features in turn, have :math:`\beta_g = \pm` ``effect_size`` (random sign;
    a (low, high) pair draws magnitudes uniformly): a log2 fold change per SD of the imaging
    feature.  All other genes (and all genes with ``null=True``) have :math:`\beta_g = 0`.

    **Centres.** With ``centre_effects``, :math:`\gamma_{cg} \sim N(m_c, s^2)`,
    :math:`m_c \sim N(0, s^2)` (:math:`s` = ``centre_shift``, log2), centred per centre so
    that :math:`\sum_g c_g 2^{\gamma_{cg}} = 10^6` (they change relative abundances, not the
    expected library size: depth differences are in :math:`D_i`), and each centre sequences
    at its own depth: depths :math:`D_i = L_{lo} (L_{hi}/L_{lo})^{u_i}`,
    :math:`u_i = 0.6 U_i + 0.4 V_{c(i)}` (uniform :math:`U, V`; without centre effects
    :math:`u_i = U_i`), i.e. within the ``library_size`` range; a single number gives lognormal
    depths with that median (log-SD 0.35, centre log-shifts :math:`N(0, 0.25^2)`).

    Parameters
    ----------
    n_samples, n_genes, n_centres : int
        Samples (>= 2 per centre), genes (>= 10), centres.
    n_associated : int
        Genes associated with the imaging feature(s) (ignored when ``null``).
    effect_size : float or (float, float)
        Log2 fold change per SD of the feature (magnitude, or a uniform range).
    n_features : int
        Number of imaging features.
    library_size : (float, float) or float
        Range of sequencing depths (default 10-40 M reads) or a median depth.
    dispersion : (float, float)
        ``(a, b)`` of the dispersion trend :math:`\phi = a + b/\mu`.
    dispersion_scatter : float
        SD of the gene-wise log-dispersion around the trend.
    low_fraction : float
        Fraction of (non-heart) genes that are barely expressed.
    centre_effects : bool
        Centre shifts of gene means and of sequencing depth.
    centre_shift : float
        SD of centre shifts (log2).
    covariate_effect : float
        SD of age (per 10 years) and sex gene effects (log2).
    null : bool
        No gene associated with imaging.
    rng : int, SeedSequence, BitGenerator, numpy.random.Generator or None
        Random source (SPEC 7).

    Returns
    -------
    BulkCountsStudy

    Examples
    --------
    >>> study = make_bulk_counts(20, 500, n_associated=20, rng=1)
    >>> study.counts.shape, int(study.truth["associated"].sum())
    ((20, 500), 20)
    """
    params = {k: v for k, v in locals().items()}
    params["rng"] = rng if isinstance(rng, (int, np.integer)) else None
    n, q, C, F, m = (int(n_samples), int(n_genes), int(n_centres), int(n_features),
                     0 if null else int(n_associated))
    if C < 1 or n < 2 * C:
        raise ValueError(f"need n_centres >= 1 and n_samples >= 2 * n_centres, got {n} samples "
                         f"and {C} centres")
    if q < 10 or F < 1 or m < 0:
        raise ValueError("need n_genes >= 10, n_features >= 1 and n_associated >= 0")
    if not 0 <= low_fraction < 1 or dispersion_scatter < 0 or centre_shift < 0 \
            or covariate_effect < 0:
        raise ValueError("low_fraction must be in [0, 1); dispersion_scatter, centre_shift and "
                         "covariate_effect must be >= 0")
    a_phi, b_phi = map(float, dispersion)
    if a_phi <= 0 or b_phi < 0:
        raise ValueError(f"dispersion (a, b) needs a > 0 and b >= 0, got {dispersion}")
    r_design, r_genes, r_assoc, r_depth, r_counts = spawn(as_generator(rng), 5)

    ids = sample_ids(n)
    centres = [f"C{c + 1}" for c in range(C)]
    cidx = r_design.permutation(np.repeat(np.arange(C), allocate_counts(n, np.ones(C), 2)))
    centre = pd.Series(np.asarray(centres, dtype=object)[cidx], index=ids, name="centre")
    age = np.round(np.clip(r_design.normal(60.0, 10.0, n), 18, 95), 1)
    sex = np.where(r_design.random(n) < 0.5, "F", "M").astype(object)
    covariates = pd.DataFrame({"age": age, "sex": sex}, index=ids)
    scales = _imaging_scales(F)
    t = r_design.standard_normal((n, F))
    imaging = pd.DataFrame(scales["mean"].to_numpy() + scales["sd"].to_numpy() * t,
                           index=ids, columns=list(scales.index))

    genes = _bulk_gene_table(q, low_fraction, r_genes)
    depth = _depths(n, cidx, C, library_size, centre_effects, r_depth)
    base_mean = genes["base_cpm"].to_numpy() * np.median(depth) / 1e6
    phi = (a_phi + b_phi / base_mean) * np.exp(r_genes.normal(0, dispersion_scatter, q))
    age_fc = r_genes.normal(0, covariate_effect, q)
    sex_fc = r_genes.normal(0, covariate_effect, q)
    gam = np.zeros((C, q))
    if centre_effects:  # relative-abundance shifts: centred so E(library size) stays D_i
        gam = r_genes.normal(0, centre_shift, (C, 1)) + r_genes.normal(0, centre_shift, (C, q))
        gam -= np.log2(2.0 ** gam @ genes["base_cpm"].to_numpy() / 1e6)[:, None]

    beta, feat = _associated(genes, m, F, effect_size, r_assoc)
    log2_mu = (np.log2(depth * 1e-6)[:, None] + np.log2(genes["base_cpm"].to_numpy())[None, :]
               + t[:, feat.clip(0)] * beta + gam[cidx] + np.outer((age - 60.0) / 10.0, age_fc)
               + np.outer(sex == "M", sex_fc))
    counts = _nb(np.exp(_LN2 * log2_mu), phi, r_counts)

    gix = genes.index
    fnames = np.asarray(list(scales.index) + [""], dtype=object)
    truth = pd.DataFrame({
        "associated": beta != 0, "feature": fnames[np.where(beta != 0, feat, F)],
        "log2_fc_per_sd": beta, "base_cpm": genes["base_cpm"].to_numpy(), "base_mean": base_mean,
        "dispersion": phi, "age_log2_fc": age_fc, "sex_log2_fc": sex_fc,
        "kind": genes["kind"].to_numpy()}, index=gix)
    counts_df = pd.DataFrame(counts, index=ids, columns=list(gix))
    return BulkCountsStudy(
        counts=counts_df, imaging=imaging, covariates=covariates, centre=centre, truth=truth,
        imaging_latent=pd.DataFrame(t, index=ids, columns=list(scales.index)),
        lib_size=pd.Series(counts.sum(axis=1), index=ids, name="lib_size"),
        depth=pd.Series(depth, index=ids, name="depth"),
        centre_effects=pd.DataFrame(gam.T, index=gix, columns=pd.Index(centres, name="centre")),
        params=params)


def _associated(genes: pd.DataFrame, m: int, F: int, effect_size, rng):
    """Per-gene log2 effect (0 for non-associated) and index of the driving feature (-1 none)."""
    q = len(genes)
    beta, feat = np.zeros(q), np.full(q, -1)
    if m == 0:
        return beta, feat
    eligible = np.flatnonzero(genes["kind"].to_numpy() == "expressed")
    if m > eligible.size:
        raise ValueError(f"n_associated={m} exceeds the {eligible.size} expressed non-heart "
                         "genes; lower n_associated or raise n_genes")
    chosen = np.sort(rng.choice(eligible, m, replace=False))
    if np.ndim(effect_size) == 0:
        mag = np.full(m, float(effect_size))
    else:
        lo, hi = map(float, effect_size)
        mag = rng.uniform(lo, hi, m)
    if np.any(mag <= 0):
        raise ValueError(f"effect_size must be positive, got {effect_size}")
    beta[chosen] = mag * np.where(rng.random(m) < 0.5, -1.0, 1.0)
    feat[chosen] = np.arange(m) % F
    return beta, feat


# --------------------------------------------------------------------------- single cell
def _sc_genes(types: Sequence[str], q: int, n_markers: int, n_factor: int):
    """Gene names: markers of each cell type (heart symbols first), factor genes, the rest."""
    names, marker_of, used = [], [], set()
    for ct in types:
        known = [g for g in _MARKERS.get(ct, ()) if g not in used][:n_markers]
        used.update(known)
        names += known + [f"{ct.upper()}_MARKER{j + 1}" for j in range(len(known), n_markers)]
        marker_of += [ct] * n_markers
    fac = list(_FACTOR_GENES[:n_factor]) + [f"FACTOR_GENE{j + 1}"
                                            for j in range(len(_FACTOR_GENES), n_factor)]
    rest = q - len(names) - len(fac)
    if rest < 0:
        raise ValueError(f"n_genes={q} is too small for {len(types)} cell types x {n_markers} "
                         f"markers + {n_factor} factor genes")
    names += fac + gene_ids(rest)
    marker_of += [""] * (len(fac) + rest)
    return names, np.asarray(marker_of, dtype=object), np.arange(len(names) - rest - len(fac),
                                                                  len(names) - rest)


def _sc_profiles(types, marker_of, factor_idx, marker_lfc, rng) -> np.ndarray:
    r"""Cell-type expression profiles :math:`\pi_{kg}` (rows sum to 1).

    :math:`\ln w_{kg} = b_g + d_{kg} + \ln 2\,\ell_{kg}`: shared abundance
    :math:`b_g \sim N(0, 2^2)`, type deviation :math:`d_{kg} \sim N(0, 0.3^2)`, marker lift
    :math:`\ell_{kg} \sim U(\text{marker\_lfc})` for the markers of type :math:`k`; the factor
    genes get a 1-log2 lift in fibroblasts.
    """
    K, q = len(types), marker_of.size
    logw = rng.normal(0, 2.0, q)[None, :] + rng.normal(0, 0.3, (K, q))
    lo, hi = map(float, marker_lfc)
    for k, ct in enumerate(types):
        mk = marker_of == ct
        logw[k, mk] += _LN2 * rng.uniform(lo, hi, int(mk.sum()))
        if ct == "fibroblast":
            logw[k, factor_idx] += _LN2
    w = np.exp(logw)
    return w / w.sum(axis=1, keepdims=True)


def _sc_design(n, types, cells_per_sample, effect, noise, imaging_correlation, C, rng):
    """Per-sample factor, true proportions, cell counts per type, imaging, metadata."""
    K = len(types)
    f = rng.standard_normal(n)
    base = np.log([_BASE_PROPORTION.get(ct, 1.0 / K) for ct in types])
    load = np.array([_FACTOR_LOADING.get(ct, 0.0) for ct in types])
    eta = base + effect * np.outer(f, load) + rng.normal(0, noise, (n, K))
    prop = np.exp(eta - eta.max(axis=1, keepdims=True))
    prop /= prop.sum(axis=1, keepdims=True)
    lo, hi = map(int, cells_per_sample)
    if not 1 <= lo <= hi:
        raise ValueError(f"cells_per_sample must be (low, high) with 1 <= low <= high, got "
                         f"{cells_per_sample}")
    n_cells = rng.multinomial(rng.integers(lo, hi + 1, n), prop)
    r = float(imaging_correlation)
    scales = TRAITS.loc[list(_SC_TRAITS), ["mean", "sd"]]
    z = r * f[:, None] + np.sqrt(1 - r ** 2) * rng.standard_normal((n, len(_SC_TRAITS)))
    imaging = scales["mean"].to_numpy() + scales["sd"].to_numpy() * z
    cidx = rng.permutation(np.repeat(np.arange(C), allocate_counts(n, np.ones(C), 1)))
    age = np.round(np.clip(rng.normal(60.0, 10.0, n), 18, 95), 1)
    sex = np.where(rng.random(n) < 0.5, "F", "M")
    return f, prop, n_cells, imaging, cidx, age, sex


def make_single_cell(
    n_samples: int = 12,
    n_genes: int = 500,
    *,
    cell_types: Sequence[str] = CARDIAC_CELL_TYPES,
    cells_per_sample: tuple[int, int] = (200, 800),
    n_centres: int = 3,
    shared_factor_effect: float = 1.0,
    composition_noise: float = 0.2,
    imaging_correlation: float = 0.8,
    n_markers: int = 10,
    marker_lfc: tuple[float, float] = (2.0, 4.0),
    n_factor_genes: int = 10,
    factor_gene_effect: float = 0.5,
    umis_per_cell: float = 1500.0,
    donor_sd: float = 0.2,
    centre_shift: float = 0.15,
    dispersion: float = 0.1,
    rng: RngLike = None,
):
    r"""Simulate single-nucleus RNA-seq of heart samples whose composition follows a factor.

    **Samples.** Each sample :math:`i` has a latent (fibrosis-like) factor
    :math:`f_i \sim N(0, 1)`.  True cell-type proportions are

    .. math::

        p_{ik} = \operatorname{softmax}_k\bigl(\ln p^0_k + \lambda\, l_k f_i + e_{ik}\bigr),
        \qquad e_{ik} \sim N(0, \text{composition\_noise}^2),

    with baseline shares :math:`p^0` (cardiomyocyte 0.30, fibroblast 0.18, endothelial 0.25,
    macrophage 0.10, pericyte 0.12, smooth muscle 0.05; equal for other names), loadings
    :math:`l` (fibroblast +1, macrophage +0.5, cardiomyocyte -0.6, endothelial -0.2, others 0)
    and :math:`\lambda` = ``shared_factor_effect``.  The sample has
    :math:`N_i \sim U\{\text{cells\_per\_sample}\}` cells, split by
    :math:`\mathrm{Multinomial}(N_i, p_i)`.  The same factor drives imaging features
    ``ecv`` and ``myo_t1``: :math:`\text{mean} + \text{sd}\,(r f_i + \sqrt{1 - r^2}\,\epsilon)`
    (scales of :data:`data_sim.cohort.TRAITS`, :math:`r` = ``imaging_correlation``).

    **Cells.** Cell :math:`c` of type :math:`k` in sample :math:`i` has counts

    .. math::

        X_{cg} \sim \mathrm{NB}\bigl(u_c\,\pi_{kg}\, e^{\delta_{ig} + \gamma_{c(i)g}
        + \ln 2\, \beta\, f_i [k = \text{fibroblast}, g \in \text{factor genes}]},\ \phi\bigr),

    size :math:`u_c = U e^{N(0, 0.5^2)}` (``umis_per_cell``; 1.5x for cardiomyocyte nuclei),
    profiles :math:`\pi_k` with ``n_markers`` marker genes per type raised by
    ``marker_lfc`` (log2; heart marker symbols such as TNNT2, DCN, PECAM1, CD163, RGS5, MYH11
    first), donor effects :math:`\delta_{ig} \sim N(0, \text{donor\_sd}^2)`, centre effects
    :math:`\gamma \sim N(0, \text{centre\_shift}^2)` (natural log) and a fibroblast activation
    program (``n_factor_genes`` genes such as POSTN, COL3A1) with log2 fold change
    :math:`\beta` = ``factor_gene_effect`` per SD of :math:`f` in fibroblasts only.

    Parameters
    ----------
    n_samples, n_genes, n_centres : int
        Samples (donors), genes (>= cell types x ``n_markers`` + ``n_factor_genes``), centres
        (each with at least one sample).
    cell_types : sequence of str
        Distinct cell-type names; unknown names get an equal baseline share and no loading.
    cells_per_sample : (int, int)
        Range of cells per sample (uniform integer).
    shared_factor_effect : float
        :math:`\lambda`, strength of the factor's effect on composition (0: none).
    composition_noise : float
        SD of the sample-specific log-share noise :math:`e_{ik}`.
    imaging_correlation : float
        :math:`r`, correlation of each imaging feature with the factor.
    n_markers : int
        Marker genes per cell type.
    marker_lfc : (float, float)
        Range of marker log2 lifts.
    n_factor_genes : int
        Genes of the fibroblast activation program.
    factor_gene_effect : float
        :math:`\beta`, their log2 fold change per SD of the factor in fibroblasts.
    umis_per_cell : float
        Median UMIs per (non-cardiomyocyte) cell.
    donor_sd, centre_shift : float
        SDs of the donor and centre gene effects (natural log).
    dispersion : float
        NB dispersion :math:`\phi` of the cell counts.
    rng : int, SeedSequence, BitGenerator, numpy.random.Generator or None
        Random source (SPEC 7).

    Returns
    -------
    anndata.AnnData
        Cells x genes; ``X`` sparse CSR int64 counts.  ``obs``: ``sample_id``, ``cell_type``,
        ``centre``, ``age``, ``sex`` (constant within a sample) and ``n_counts`` (per cell).
        ``var``: ``marker_of`` (cell type or ``""``), ``factor_gene`` (bool).  The sample-level
        outputs live in ``uns`` (AnnData has no per-sample table; h5ad-writable):
        ``uns["imaging"]`` (DataFrame samples x ``ecv``, ``myo_t1``) and ``uns["truth"]``:
        ``sample_factor`` (DataFrame, column ``factor``), ``proportions`` (samples x cell
        types, the true :math:`p_{ik}`), ``profiles`` (cell types x genes, :math:`\pi`),
        ``markers`` (cell type -> genes), ``factor_genes``.

    Examples
    --------
    >>> adata = make_single_cell(4, 200, cells_per_sample=(50, 60), rng=0)
    >>> adata.obs["sample_id"].nunique(), adata.n_vars
    (4, 200)
    """
    import anndata

    n, q, C, K = int(n_samples), int(n_genes), int(n_centres), len(cell_types)
    types = [str(c) for c in cell_types]
    if n < 1 or C < 1 or C > n or K < 1 or len(set(types)) != K:
        raise ValueError("need n_samples >= n_centres >= 1 and distinct cell_types")
    if not -1 <= imaging_correlation <= 1 or min(composition_noise, donor_sd, centre_shift) < 0 \
            or dispersion <= 0 or umis_per_cell <= 0:
        raise ValueError("imaging_correlation must be in [-1, 1]; noise SDs >= 0; dispersion and "
                         "umis_per_cell > 0")
    r_design, r_genes, r_cells = spawn(as_generator(rng), 3)
    f, prop, n_cells, imaging, cidx, age, sex = _sc_design(
        n, types, cells_per_sample, shared_factor_effect, composition_noise,
        imaging_correlation, C, r_design)
    names, marker_of, factor_idx = _sc_genes(types, q, int(n_markers), int(n_factor_genes))
    profiles = _sc_profiles(types, marker_of, factor_idx, marker_lfc, r_genes)
    log_prof = np.log(profiles)
    donor = r_genes.normal(0, donor_sd, (n, q))
    gam = r_genes.normal(0, centre_shift, (C, q))
    fib = types.index("fibroblast") if "fibroblast" in types else -1
    size_scale = np.array([1.5 if ct == "cardiomyocyte" else 1.0 for ct in types])

    blocks, type_codes = [], []
    for i in range(n):
        k_of = np.repeat(np.arange(K), n_cells[i])
        k_of = k_of[r_cells.permutation(k_of.size)]
        size = umis_per_cell * size_scale[k_of] * np.exp(r_cells.normal(0, 0.5, k_of.size))
        log_mu = log_prof[k_of] + (donor[i] + gam[cidx[i]])[None, :] + np.log(size)[:, None]
        if fib >= 0:
            log_mu[np.ix_(k_of == fib, factor_idx)] += _LN2 * factor_gene_effect * f[i]
        blocks.append(sparse.csr_matrix(_nb(np.exp(log_mu), np.asarray(dispersion), r_cells)))
        type_codes.append(k_of)
    X = sparse.vstack(blocks, format="csr", dtype=np.int64)
    return _sc_anndata(anndata, X, n_cells, type_codes, types, names, marker_of, factor_idx,
                       f, prop, profiles, imaging, cidx, age, sex)


def _sc_anndata(anndata, X, n_cells, type_codes, types, names, marker_of, factor_idx, f, prop,
                profiles, imaging, cidx, age, sex):
    """Assemble the AnnData of :func:`make_single_cell` (obs, var, uns)."""
    n = n_cells.shape[0]
    ids = sample_ids(n)
    per_sample = n_cells.sum(axis=1)
    s_of = np.repeat(np.arange(n), per_sample)
    k_of = np.concatenate(type_codes)
    cell_ids = [f"{ids[i]}_c{j + 1:04d}" for i in range(n) for j in range(per_sample[i])]
    centres = [f"C{c + 1}" for c in range(cidx.max() + 1)]
    obs = pd.DataFrame({
        "sample_id": pd.Categorical.from_codes(s_of, categories=list(ids)),
        "cell_type": pd.Categorical.from_codes(k_of, categories=types),
        "centre": pd.Categorical.from_codes(cidx[s_of], categories=centres),
        "age": age[s_of], "sex": pd.Categorical(sex[s_of], categories=["F", "M"]),
        "n_counts": np.asarray(X.sum(axis=1)).ravel()}, index=pd.Index(cell_ids, name="cell_id"))
    var = pd.DataFrame({"marker_of": marker_of, "factor_gene": np.isin(np.arange(len(names)),
                                                                      factor_idx)},
                       index=pd.Index(names, name="gene"))
    adata = anndata.AnnData(X=X, obs=obs, var=var)
    sidx = pd.Index(ids, name="sample_id")
    adata.uns["imaging"] = pd.DataFrame(imaging, index=sidx, columns=list(_SC_TRAITS))
    adata.uns["truth"] = {
        "sample_factor": pd.DataFrame({"factor": f}, index=sidx),
        "proportions": pd.DataFrame(prop, index=sidx, columns=types),
        "profiles": pd.DataFrame(profiles, index=types, columns=names),
        "markers": {ct: [g for g, m in zip(names, marker_of) if m == ct] for ct in types},
        "factor_genes": [names[j] for j in factor_idx],
    }
    return adata
