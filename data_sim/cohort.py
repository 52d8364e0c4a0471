r"""Synthetic multi-centre imaging-omics cohorts with known ground truth.

See :func:`make_cohort` for the full generative model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.special import expit

from radiogenomics import Cohort  # data_sim -> radiogenomics core only (see data_sim/__init__)

from ._names import gene_ids, module_names, radiomic_feature_table, sample_ids
from ._utils import (RngLike, allocate_counts, as_generator, omega_orthogonal_loadings,
                     per_factor, spawn)
from .genetics import draw_instruments, make_mr_summary, simulate_dosages
from .truth import GroundTruth, RadiomicTransform, population_canonical_correlations

__all__ = ["ASSAYS", "DEFAULT_VIEWS", "SimulatedFrames", "TRAITS", "make_cohort"]

#: Views produced by default (keys of ``Cohort.views``).
DEFAULT_VIEWS = ("radiomics", "expression", "expression_counts", "modules", "genotypes", "traits")
#: Assays: views from one assay share their sample subset.
ASSAYS = ("radiomics", "expression", "genotypes", "traits")
VIEW_ASSAY = {"radiomics": "radiomics", "expression": "expression",
              "expression_counts": "expression", "modules": "expression",
              "genotypes": "genotypes", "traits": "traits"}
#: Imaging traits (cardiac MRI) with population mean and SD in reported units.
TRAITS = pd.DataFrame(
    {"mean": [70.0, 60.0, 27.0, 1000.0], "sd": [15.0, 7.0, 3.0, 40.0],
     "unit": ["g/m2", "%", "%", "ms"]},
    index=pd.Index(["lv_mass_index", "lvef", "ecv", "myo_t1"], name="trait"))
CAUSAL_TRAIT = "lv_mass_index"


class SimulatedFrames(NamedTuple):
    """Plain container with the frames a :class:`radiogenomics.Cohort` is built from."""

    views: dict[str, pd.DataFrame]
    covariates: pd.DataFrame
    centre: pd.Series
    outcomes: pd.DataFrame


def _missing_spec(missing_rate, missing_by_centre, centres):
    """Normalise missingness arguments to ``{assay: (base_rate, {centre: rate})}``."""
    if isinstance(missing_rate, Mapping):
        unknown = set(missing_rate) - set(ASSAYS)
        if unknown:
            raise ValueError(f"unknown assays in missing_rate: {sorted(unknown)}; valid: {ASSAYS}")
        base = {a: float(missing_rate.get(a, 0.0)) for a in ASSAYS}
    else:
        r = float(missing_rate)
        base = {"radiomics": 0.0, "expression": r, "genotypes": r, "traits": 0.0}
    by = {a: {} for a in ASSAYS}
    if missing_by_centre:
        values = list(missing_by_centre.values())
        if all(isinstance(v, Mapping) for v in values):
            for a, m in missing_by_centre.items():
                if a not in ASSAYS:
                    raise ValueError(f"unknown assay {a!r} in missing_by_centre; valid: {ASSAYS}")
                by[a] = {str(c): float(v) for c, v in m.items()}
        else:
            by["expression"] = {str(c): float(v) for c, v in missing_by_centre.items()}
    for a in ASSAYS:
        rates = [base[a], *by[a].values()]
        if any(not (0.0 <= r < 1.0) for r in rates):
            raise ValueError(f"missingness rates must be in [0, 1), got {rates} for {a}")
        bad = set(by[a]) - set(centres)
        if bad:
            raise ValueError(f"unknown centres in missing_by_centre[{a!r}]: {sorted(bad)}")
    return {a: (base[a], by[a]) for a in ASSAYS}


def _draw_missing(spec, cidx, centres, rng):
    """Exact-count MCAR draws per assay (stratified where a centre has its own rate)."""
    n = cidx.size
    out = {}
    for a in ASSAYS:
        base, by = spec[a]
        miss = np.zeros(n, bool)
        special = np.isin(np.asarray(centres)[cidx], list(by))
        rest = np.flatnonzero(~special)
        m = int(round(base * rest.size))
        if m:
            miss[rng.choice(rest, m, replace=False)] = True
        for c, r in by.items():
            members = np.flatnonzero(np.asarray(centres)[cidx] == c)
            m = int(round(r * members.size))
            if m:
                miss[rng.choice(members, m, replace=False)] = True
        if (~miss).sum() < 3:
            raise ValueError(f"missingness leaves fewer than 3 samples with {a}")
        out[a] = miss
    return out


def _radiomic_transform(feat, sigma, kind, skew_fraction, rng):
    p = len(feat)
    if kind == "none":
        kinds = np.full(p, "identity", dtype=object)
    elif kind == "lognormal":
        kinds = np.full(p, "lognormal", dtype=object)
    elif kind == "realistic":
        skew = (rng.random(p) < skew_fraction) | (feat["family"].to_numpy() == "shape")
        kinds = np.where(skew, "lognormal", "affine").astype(object)
    else:
        raise ValueError("radiomic_transform must be 'realistic', 'lognormal' or 'none'")
    a = np.zeros(p)
    b = np.ones(p)
    ln = kinds == "lognormal"
    af = kinds == "affine"
    a[ln] = np.log(10.0 ** rng.uniform(-1, 4, ln.sum()))
    b[ln] = rng.uniform(0.25, 0.7, ln.sum())
    loc = 10.0 ** rng.uniform(-1, 3, af.sum()) * np.where(rng.random(af.sum()) < 0.2, -1, 1)
    a[af] = loc
    b[af] = np.abs(loc) * rng.uniform(0.05, 0.3, af.sum())
    table = pd.DataFrame({"kind": kinds, "sigma": sigma, "a": a, "b": b}, index=feat.index)
    table.index.name = "feature"
    return RadiomicTransform(table)


def _assign_modules(q, n_modules, module_size, rng):
    n_mod = max(1, min(int(n_modules), q // 2))
    base = module_size if module_size is not None else max(2, min(50, q // (2 * n_mod)))
    base = int(base)
    if base < 2:
        raise ValueError("module_size must be >= 2")
    if module_size is None:
        sizes = np.maximum(2, rng.integers(base - base // 2, base + base // 2 + 1, n_mod))
    else:
        sizes = np.full(n_mod, base)
    perm = rng.permutation(q)
    groups, start = [], 0
    for s in sizes:
        if start + s > q:
            break
        groups.append(np.sort(perm[start:start + s]))
        start += s
    if not groups:
        raise ValueError("module_size too large for n_genes")
    return groups


def _zscore(v):
    mu = v.mean(0)
    sd = v.std(0, ddof=1)
    sd = np.where(sd > 0, sd, 1.0)
    return (v - mu) / sd


def log_cpm(counts: np.ndarray) -> np.ndarray:
    r"""Log-normalise counts to :math:`\log_2(\mathrm{CPM} + 1)`.

    .. math::

        \mathrm{CPM}_{ig} = 10^6\, Y_{ig} / \textstyle\sum_{g'} Y_{ig'}

    (library size = the sample's total count over all genes).

    Parameters
    ----------
    counts : array_like, shape (n, q)
        Non-negative counts, samples in rows.

    Returns
    -------
    numpy.ndarray, shape (n, q)
    """
    counts = np.asarray(counts, float)
    tot = counts.sum(1, keepdims=True)
    return np.log2(counts / np.maximum(tot, 1.0) * 1e6 + 1.0)


def module_scores(logexpr: np.ndarray, groups) -> np.ndarray:
    r"""Module (pathway) scores: mean of per-gene z-scored log expression over module genes.

    .. math::

        s_{im} = \frac{1}{|M_m|} \sum_{g \in M_m} \frac{e_{ig} - \bar e_g}{\mathrm{sd}(e_g)}

    with mean and SD (``ddof=1``) taken over the rows given (genes with zero
    SD get z = 0).

    Parameters
    ----------
    logexpr : array_like, shape (n, q)
        Log expression, samples in rows.
    groups : sequence of integer arrays
        Column indices of the genes of each module.

    Returns
    -------
    numpy.ndarray, shape (n, len(groups))
    """
    z = _zscore(np.asarray(logexpr, float))
    return np.column_stack([z[:, g].mean(1) for g in groups])


def make_cohort(
    n_samples: int = 120,
    n_centres: int = 3,
    n_radiomic: int = 300,
    n_genes: int = 2000,
    *,
    n_shared_factors: int = 2,
    canonical_correlations: Sequence[float] = (0.8, 0.6),
    radiomic_signal: float | Sequence[float] = 50.0,
    expression_signal: float | Sequence[float] = 50.0,
    n_specific_factors: int = 3,
    loading_density: float | tuple[float, float] = (0.1, 0.02),
    n_modules: int = 20,
    module_size: int | None = None,
    radiomic_transform: str = "realistic",
    skew_fraction: float = 0.5,
    centre_effects: bool = True,
    centre_shift: float = 0.5,
    centre_scale: float = 0.25,
    centre_weights: Sequence[float] | None = None,
    centre_concentration: float | None = 5.0,
    age_centre_shift: float = 0.0,
    covariate_effect: float = 0.3,
    expression_sd: tuple[float, float] = (0.5, 1.5),
    library_size: float = 20e6,
    outcome_coefficients: Mapping[str, Sequence[float]] | None = None,
    outcome_prevalence: float = 0.3,
    outcome_noise_sd: float = 1.0,
    missing_rate: float | Mapping[str, float] = 0.0,
    missing_by_centre: Mapping[str, Any] | None = None,
    n_snps: int = 30,
    maf_range: tuple[float, float] = (0.05, 0.5),
    instrument_r2: float = 0.1,
    weak_instruments: bool = False,
    pleiotropy: float = 0.0,
    pleiotropy_sd: float | None = None,
    causal_effect: float = 0.3,
    confounding: float = 0.5,
    mr_sample_sizes: tuple[int, int] = (20_000, 20_000),
    views: Sequence[str] = DEFAULT_VIEWS,
    null: bool = False,
    return_frames: bool = False,
    rng: RngLike = None,
):
    r"""Simulate a multi-centre radiogenomics cohort with known ground truth.

    **Design.** Centre sizes are proportional to ``centre_weights`` (default
    :math:`w \sim \mathrm{Dirichlet}(\kappa \mathbf 1)`, :math:`\kappa` =
    ``centre_concentration``; ``None`` = balanced), rounded by largest
    remainder with at least 2 samples per centre, and assigned to samples in
    random order. ``age`` :math:`\sim N(60 + s_a (c - (C-1)/2), 10^2)` clipped to
    [18, 95] (``s_a`` = ``age_centre_shift``; non-zero confounds age with
    centre), ``sex`` is ``"F"``/``"M"`` with probability 1/2.

    **Shared latent factors.** :math:`z_i \sim N(0, I_k)`; radiomic factors
    :math:`u_{ik} = z_{ik}`, expression factors
    :math:`v_{ik} = \tilde\rho_k z_{ik} + \sqrt{1 - \tilde\rho_k^2}\, w_{ik}`, so
    :math:`\operatorname{corr}(u_k, v_k) = \tilde\rho_k`.

    **Latent blocks** (the blocks the canonical correlations refer to; zero
    mean, no intercepts, no covariate and no centre effects; stored in
    ``truth.latent_blocks``):

    .. math::

        x^{lat}_i = A u_i + L_x f^x_i + \varepsilon^x_i,\qquad
        \eta^{lat}_i = B v_i + L_y f^y_i + \varepsilon^y_i,

    with :math:`\varepsilon^x \sim N(0, \mathrm{diag}(d_x))`,
    :math:`\varepsilon^y \sim N(0, \mathrm{diag}(d_y))`. :math:`L_x` holds
    ``n_specific_factors`` dense radiomics-specific factors, one factor per
    (image type, feature family) block and one per family (texture-block
    correlation); :math:`L_y` holds expression-specific factors and one factor
    per gene module (the instrumented module's factor contains the genetic
    component :math:`\sum_j \gamma_j (G_{ij} - 2f_j)`; loadings in
    ``truth.specific_loadings`` are scaled to unit-variance factors). Shared
    loadings are sparse: rows of :math:`A` and :math:`B` are non-zero only for
    the signal features (``loading_density``, heavy-tailed row scales, so a
    few features are strongly driven; ``truth.signal_features``). Hence

    .. math::

        \Sigma_{xx} = A A^T + \Omega_x,\ \Omega_x = L_x L_x^T + \mathrm{diag}(d_x),\quad
        \Sigma_{yy} = B B^T + \Omega_y,\quad
        \Sigma_{xy} = A\,\mathrm{diag}(\tilde\rho)\,B^T.

    :math:`A` is made :math:`\Omega_x^{-1}`-orthogonal with
    :math:`A^T\Omega_x^{-1}A = \mathrm{diag}(g^x)` (``radiomic_signal``),
    likewise :math:`B` (``expression_signal``), so
    :math:`M_x = A^T\Sigma_{xx}^{-1}A = \mathrm{diag}(r^x)` with reliabilities
    :math:`r = g / (1 + g)` and the population canonical correlations are

    .. math::

        \rho_k = \tilde\rho_k \sqrt{r^x_k r^y_k}
        \quad\Longleftrightarrow\quad
        \tilde\rho_k = \rho_k / \sqrt{r^x_k r^y_k}.

    The targets ``canonical_correlations`` are the :math:`\rho_k`; a
    ``ValueError`` is raised if some :math:`\tilde\rho_k > 1`.
    ``truth.canonical_correlations_computed`` re-derives them from the stored
    loadings as :math:`\sqrt{\operatorname{eig}(R M_y R M_x)}` via Woodbury.

    **Radiomics (reported view).** Gaussian layer

    .. math::

        x_{ij} = x^{lat}_{ij} + \beta^{age}_j(\mathrm{age}_i - 60) + \beta^{sex}_j \mathrm{male}_i
                 + \gamma_{c(i)j} + (\delta_{c(i)j} - 1)\,\varepsilon^x_{ij},

    i.e. ComBat's :math:`y = \alpha + X\beta + \gamma_c + \delta_c\varepsilon`;
    reported :math:`h_j(x_{ij})` with the monotone map of
    ``truth.radiomic_transform`` (``"realistic"``: affine to a feature scale or
    :math:`\exp(a_j + b_j x/\sigma_j)` for shape features and a fraction
    ``skew_fraction`` of the others; ``"lognormal"``: all skewed;
    ``"none"``: identity). Covariate effects
    :math:`\beta^{age}_j = \sigma_j N(0, e^2)/10`, :math:`\beta^{sex}_j = \sigma_j N(0, e^2)`
    (:math:`e` = ``covariate_effect``, :math:`\sigma_j` the latent SD).
    Centre effects :math:`\gamma_{cj} = \sigma_j N(m_c, s^2)`,
    :math:`m_c \sim N(0, s^2)` (:math:`s` = ``centre_shift``) and
    :math:`\log\delta_{cj} \sim N(l_c, t^2)`, :math:`l_c \sim N(0, t^2)`
    (:math:`t` = ``centre_scale``).

    **Expression.** Natural-log CPM layer
    :math:`\eta_{ig} = \log\mu_g + \eta^{lat}_{ig} + \text{covariates} + \gamma_{c(i)g} + (\delta_{c(i)g}-1)\varepsilon^y_{ig}`
    (same construction as radiomics; each gene's latent block is rescaled to
    SD :math:`\tau_g \sim U(\text{expression\_sd})`), base CPM
    :math:`\log_2\mu_g \sim N(3, 2^2)` clipped to [0, 14]. Counts are
    negative binomial by gamma-Poisson mixing:

    .. math::

        W_{ig} \sim \Gamma(1/\phi_g, \phi_g),\quad
        Y_{ig} \mid W \sim \mathrm{Poisson}(s_i e^{\eta_{ig}} W_{ig}),\quad
        E Y = s_i e^{\eta_{ig}},\ \operatorname{Var} Y = m + \phi_g m^2,

    size factor :math:`s_i = L_i / 10^6`, library size
    :math:`L_i \sim \mathrm{LogNormal}(\log L, 0.35^2)` (``library_size``),
    dispersion :math:`\phi_g = (0.01 + 0.2/\sqrt{\mu_g})\, e^{N(0, 0.3^2)}` (technical
    and residual variation; biological variation is in :math:`\eta`).
    The ``expression`` view is :math:`\log_2(\mathrm{CPM}+1)` of the counts
    (:func:`log_cpm`), the ``modules`` view the mean over module genes of
    per-gene z-scored log expression (z-scored over the samples present).
    Any gene constant over the present samples is redrawn (practically never
    happens), so no view has constant columns.

    **Clean companions** (``truth.clean``) use the same draws without centre
    terms. Clean counts share the gamma multipliers :math:`W` and are coupled
    to the observed ones through a common Poisson process: with
    :math:`\lambda^o, \lambda^c` the observed and clean Poisson means,
    :math:`Y^c = \mathrm{Binomial}(Y^o, \lambda^c/\lambda^o)` if
    :math:`\lambda^c \le \lambda^o`, else
    :math:`Y^c = Y^o + \mathrm{Poisson}(\lambda^c - \lambda^o)`; so
    :math:`Y^c \mid W \sim \mathrm{Poisson}(\lambda^c)` exactly and
    :math:`Y^c = Y^o` wherever the centre terms vanish.

    **Genotypes and traits.** ``n_snps`` Hardy-Weinberg dosages (minor allele
    coded, MAF in ``maf_range``, see :mod:`data_sim.genetics`) instrument the
    first module: its activity is
    :math:`m_i = \sum_j\gamma_j(G_{ij}-2f_j) + c\,C_i + \sqrt{1-c^2}e_i`,
    jointly explaining ``instrument_r2`` of its variance (weak instruments:
    :math:`3J/n_{exposure}`). Traits ``lv_mass_index``, ``lvef``, ``ecv``,
    ``myo_t1`` are :math:`\text{mean} + \text{sd}\cdot t^*` with standardised
    :math:`t^* = z\lambda + \text{covariates} + N(0, 1)`; for
    ``lv_mass_index`` additionally
    :math:`+\,\theta m_i + \sum_j\alpha_j(G_{ij}-2f_j) + c\,C_i` with causal
    effect :math:`\theta` = ``causal_effect`` (per unit activity, standardised
    trait) and pleiotropic effects :math:`\alpha` (``pleiotropy``, mean direct
    effect per exposure-increasing allele). :func:`data_sim.make_mr_summary`
    is run for the same instruments and stored as ``truth.mr``.

    **Outcomes** are driven by the shared factors:
    :math:`\Pr(\text{outcome\_binary}=1) = \operatorname{expit}(\beta_0 + z_i^T\beta)`,
    :math:`\beta_0 = \operatorname{logit}(\text{outcome\_prevalence})`;
    :math:`\text{outcome\_continuous} = z_i^T\beta^c + N(0, \text{outcome\_noise\_sd}^2)`.
    Defaults :math:`\beta_k = (-1/2)^{k-1}`, :math:`\beta^c_k = 0.8 \cdot 2^{1-k}`.

    **Missing views.** For each assay (``radiomics``, ``expression`` =
    expression + counts + modules, ``genotypes``, ``traits``) exactly
    ``round(rate * n)`` uniformly chosen samples (MCAR) are absent (rows not
    present). A float ``missing_rate`` applies to expression and genotypes; a
    mapping gives per-assay rates. ``missing_by_centre`` overrides the rate
    within centres: ``{"C3": 0.6}`` (expression) or
    ``{"genotypes": {"C1": 0.5}}``. Covariates, centre and outcomes cover all
    samples.

    **Null scenario.** ``null=True`` sets :math:`\tilde\rho = 0` (declared
    canonical correlations all 0) and keeps everything else.

    Parameters
    ----------
    n_samples, n_centres, n_radiomic, n_genes : int
        Cohort size (>= max(4, 2 * n_centres)), centres, radiomic features, genes.
    n_shared_factors : int
        Number :math:`k` of shared factors.
    canonical_correlations : sequence of float
        Target population canonical correlations, length :math:`k`, in [0, 1).
    radiomic_signal, expression_signal : float or sequence
        Signal strengths :math:`g^x_k, g^y_k > 0`.
    n_specific_factors : int
        View-specific factors per view.
    loading_density : float or (float, float)
        Fraction of radiomic features and of genes with non-zero shared
        loadings (the *signal features*, ``truth.signal_features(view)``; at
        least :math:`k` per view). Genes of the modules linked to the factors
        (factor :math:`k` to module :math:`k + 1`) are always signal genes,
        with 3x larger raw loadings. All other features have exactly zero
        shared loadings, so their latent cross-covariance with the other view
        is exactly zero.
    n_modules, module_size : int
        Gene modules (capped at ``n_genes // 2``) and their size (default
        random around ``min(50, n_genes // (2 n_modules))``).
    radiomic_transform : {"realistic", "lognormal", "none"}
        Reported scale of radiomic features.
    skew_fraction : float
        Fraction of non-shape features given a log-normal (skewed) scale.
    centre_effects : bool
        Include additive/multiplicative centre effects.
    centre_shift, centre_scale : float
        SD of additive effects (feature-SD units) and of log multiplicative effects.
    centre_weights : sequence of float, optional
        Relative centre sizes.
    centre_concentration : float or None
        Dirichlet concentration for random centre sizes when no weights given.
    age_centre_shift : float
        Difference in mean age (years) between consecutive centres.
    covariate_effect : float
        SD of covariate effects (latent-SD units per 10 years / male vs female).
    expression_sd : (float, float)
        Range of the per-gene SD :math:`\tau_g \sim U` of the latent
        log-expression block (natural log); each gene's row of
        :math:`B, L_y` and :math:`d_y` is rescaled to it after the
        orthogonalisation (canonical correlations are scale invariant).
    library_size : float
        Median sequencing depth :math:`L`.
    outcome_coefficients : mapping, optional
        ``{"binary": beta, "continuous": beta_c}`` (length :math:`k` each).
    outcome_prevalence, outcome_noise_sd : float
        Binary intercept (as prevalence at z = 0) and continuous residual SD.
    missing_rate, missing_by_centre
        Missing-view rates (see above).
    n_snps : int
        Number of SNP instruments.
    maf_range : (float, float)
        Minor-allele-frequency range.
    instrument_r2 : float
        Variance of module activity explained by the SNPs.
    weak_instruments : bool
        Use weak instruments.
    pleiotropy, pleiotropy_sd : float
        Directional pleiotropy (mean, SD) of direct SNP effects on the causal trait.
    causal_effect : float
        :math:`\theta`.
    confounding : float
        Confounder loading :math:`c` on module activity and the causal trait.
    mr_sample_sizes : (int, int)
        Exposure and outcome GWAS sizes for ``truth.mr``.
    views : sequence of str
        Views to include (subset of :data:`DEFAULT_VIEWS`).
    null : bool
        Null scenario (no shared imaging-expression signal).
    return_frames : bool
        Return a :class:`SimulatedFrames` instead of a ``radiogenomics.Cohort``.
    rng : int, SeedSequence, BitGenerator, numpy.random.Generator or None
        Random source (SPEC 7, normalised by ``radiogenomics._checks.check_rng``); same seed,
        same output.

    Returns
    -------
    cohort : radiogenomics.Cohort or SimulatedFrames
        Views (DataFrames indexed by ``sample_id``), covariates (``age``,
        ``sex``), ``centre`` Series and outcomes.
    truth : GroundTruth
        Everything used to generate the data.

    Raises
    ------
    ValueError
        Invalid arguments, or a target canonical correlation that is not
        attainable at the given signal strengths.

    Examples
    --------
    >>> cohort, truth = make_cohort(60, 2, 50, 200, rng=1, return_frames=True)
    >>> cohort.views["radiomics"].shape
    (60, 50)
    >>> truth.canonical_correlations
    array([0.8, 0.6])
    """
    params = {k: v for k, v in locals().items()}
    params["rng"] = rng if isinstance(rng, (int, np.integer)) else None
    rng = as_generator(rng)
    (r_design, r_missing, r_gen, r_latent, r_rad, r_expr, r_counts,
     r_traits, r_out, r_mr) = spawn(rng, 10)

    # ------------------------------------------------------------ validation
    n, C, p, q, k = int(n_samples), int(n_centres), int(n_radiomic), int(n_genes), int(n_shared_factors)
    if C < 1:
        raise ValueError("n_centres must be >= 1")
    if n < max(4, 2 * C):
        raise ValueError(f"n_samples must be >= max(4, 2 * n_centres) = {max(4, 2 * C)}, got {n}")
    if k < 1:
        raise ValueError("n_shared_factors must be >= 1")
    if p < k or q < max(k, 2):
        raise ValueError("need n_radiomic >= n_shared_factors and n_genes >= max(2, n_shared_factors)")
    views = tuple(views)
    bad = set(views) - set(DEFAULT_VIEWS)
    if bad or not views:
        raise ValueError(f"views must be a non-empty subset of {DEFAULT_VIEWS}, got {views}")
    rho = np.asarray(canonical_correlations, dtype=float).ravel()
    if rho.shape != (k,):
        raise ValueError(f"canonical_correlations must have length n_shared_factors={k}, got {rho.size}")
    if np.any(rho < 0) or np.any(rho >= 1):
        raise ValueError("canonical_correlations must lie in [0, 1)")
    gx = per_factor(radiomic_signal, k, "radiomic_signal")
    gy = per_factor(expression_signal, k, "expression_signal")
    if np.any(gx <= 0) or np.any(gy <= 0):
        raise ValueError("signal strengths must be positive")
    dens = per_factor(loading_density, 2, "loading_density")
    lo_sd, hi_sd = map(float, expression_sd)
    if not 0 < lo_sd <= hi_sd:
        raise ValueError("expression_sd must be (low, high) with 0 < low <= high")
    if not 0 <= skew_fraction <= 1 or np.any(dens <= 0) or np.any(dens > 1):
        raise ValueError("skew_fraction must be in [0, 1] and loading_density in (0, 1]")
    if centre_shift < 0 or centre_scale < 0 or covariate_effect < 0 or outcome_noise_sd < 0:
        raise ValueError("centre_shift, centre_scale, covariate_effect, outcome_noise_sd must be >= 0")
    if not 0 <= confounding <= 1:
        raise ValueError("confounding must be in [0, 1]")
    if not 0 < outcome_prevalence < 1:
        raise ValueError("outcome_prevalence must be in (0, 1)")

    rx, ry = gx / (1 + gx), gy / (1 + gy)
    if null:
        rho = np.zeros(k)
    rho_tilde = rho / np.sqrt(rx * ry)
    if np.any(rho_tilde > 1):
        j = int(np.argmax(rho_tilde))
        raise ValueError(
            f"canonical correlation {rho[j]:.3f} of factor F{j + 1} is not attainable: it needs a "
            f"latent correlation rho_tilde = rho / sqrt(r_x r_y) = {rho_tilde[j]:.3f} > 1 with "
            f"reliabilities r_x = {rx[j]:.3f}, r_y = {ry[j]:.3f} (r = g / (1 + g)). Raise "
            f"radiomic_signal / expression_signal (need r_x r_y >= rho^2) or lower the target.")

    fac = [f"F{i + 1}" for i in range(k)]
    ids = sample_ids(n)
    centres = [f"C{c + 1}" for c in range(C)]

    # ------------------------------------------------------------ design
    if centre_weights is not None:
        w = np.asarray(centre_weights, float)
        if w.shape != (C,) or np.any(w <= 0):
            raise ValueError(f"centre_weights must be {C} positive numbers")
    elif centre_concentration is None or not np.isfinite(centre_concentration):
        w = np.ones(C)
    else:
        w = r_design.dirichlet(np.full(C, float(centre_concentration)))
    sizes = allocate_counts(n, w, minimum=2)
    cidx = r_design.permutation(np.repeat(np.arange(C), sizes))
    centre = pd.Series(np.asarray(centres, dtype=object)[cidx], index=ids, name="centre")
    age_means = 60.0 + age_centre_shift * (np.arange(C) - (C - 1) / 2)
    age = np.round(np.clip(r_design.normal(age_means[cidx], 10.0), 18, 95), 1)
    sex = np.where(r_design.random(n) < 0.5, "F", "M").astype(object)
    covariates = pd.DataFrame({"age": age, "sex": sex}, index=ids)
    age_c = age - 60.0
    male = (sex == "M").astype(float)

    miss = _draw_missing(_missing_spec(missing_rate, missing_by_centre, centres), cidx, centres, r_missing)
    present = {a: ~m for a, m in miss.items()}

    # ------------------------------------------------------------ genetics
    r_inst, r_geno, r_act = spawn(r_gen, 3)
    r2 = min(0.5, 3.0 * n_snps / mr_sample_sizes[0]) if weak_instruments else float(instrument_r2)
    instruments = draw_instruments(n_snps, instrument_r2=r2, maf_range=maf_range,
                                   pleiotropy=pleiotropy, pleiotropy_sd=pleiotropy_sd, rng=r_inst)
    eaf = instruments["eaf"].to_numpy()
    G = simulate_dosages(n, eaf, r_geno, nonconstant_rows=present["genotypes"])
    Gc = G - 2 * eaf
    gamma_snp = instruments["gamma"].to_numpy()
    alpha_snp = instruments["alpha"].to_numpy()
    var_gen = float(np.sum(2 * eaf * (1 - eaf) * gamma_snp ** 2))
    confounder = r_act.standard_normal(n)
    activity1 = (Gc @ gamma_snp + confounding * confounder
                 + np.sqrt(1 - confounding ** 2) * r_act.standard_normal(n))

    # ------------------------------------------------------------ shared factors
    z = r_latent.standard_normal((n, k))
    V = rho_tilde * z + np.sqrt(1 - rho_tilde ** 2) * r_latent.standard_normal((n, k))

    # ------------------------------------------------------------ radiomics
    feat = radiomic_feature_table(p)
    fnames = feat.index
    blk_codes, blk_uni = pd.factorize(feat["image_type"] + "|" + feat["family"])
    fam_codes, fam_uni = pd.factorize(feat["family"])
    s_x = int(n_specific_factors)
    nb, nf = len(blk_uni), len(fam_uni)
    Lx = np.zeros((p, s_x + nb + nf))
    Lx[:, :s_x] = r_rad.normal(0, 0.35, (p, s_x))
    Lx[np.arange(p), s_x + blk_codes] = r_rad.uniform(0.5, 0.9, p)
    Lx[np.arange(p), s_x + nb + fam_codes] = r_rad.uniform(0.15, 0.4, p)
    dx = r_rad.uniform(0.15, 0.5, p)
    sig_x = np.zeros(p, bool)
    sig_x[r_rad.choice(p, max(k, int(round(dens[0] * p))), replace=False)] = True
    # heavy-tailed row scales: a few strongly driven features, many weakly driven ones
    A0 = r_rad.standard_normal((p, k)) * (sig_x * np.exp(r_rad.normal(0, 0.75, p)))[:, None]
    A = omega_orthogonal_loadings(A0, Lx, dx, gx)
    sigma_x = np.sqrt((A ** 2).sum(1) + (Lx ** 2).sum(1) + dx)
    Ex = r_rad.standard_normal((n, p)) * np.sqrt(dx)
    x_lat = z @ A.T + r_rad.standard_normal((n, Lx.shape[1])) @ Lx.T + Ex
    beff_x = np.vstack([sigma_x * r_rad.normal(0, covariate_effect, p) / 10,
                        sigma_x * r_rad.normal(0, covariate_effect, p)])
    gam_x, del_x = _centre_effects(C, sigma_x, centre_effects, centre_shift, centre_scale, r_rad)
    x_clean = x_lat + np.outer(age_c, beff_x[0]) + np.outer(male, beff_x[1])
    x_obs = x_clean + gam_x[cidx] + (del_x[cidx] - 1.0) * Ex
    transform = _radiomic_transform(feat, sigma_x, radiomic_transform, skew_fraction, r_rad)

    # ------------------------------------------------------------ expression
    genes = gene_ids(q)
    groups = _assign_modules(q, n_modules, module_size, r_expr)
    mnames = module_names(len(groups))
    n_mod = len(groups)
    s_y = int(n_specific_factors)
    Ly = np.zeros((q, s_y + n_mod))
    Ly[:, :s_y] = r_expr.normal(0, 0.3, (q, s_y))
    for m, g in enumerate(groups):
        Ly[g, s_y + m] = r_expr.uniform(0.4, 0.9, g.size)
    fvar = np.ones(s_y + n_mod)
    fvar[s_y] = 1.0 + var_gen
    Ly_pop = Ly * np.sqrt(fvar)
    dy = r_expr.uniform(0.1, 0.4, q)
    sig_y = np.zeros(q, bool)
    sig_y[r_expr.choice(q, max(k, int(round(dens[1] * q))), replace=False)] = True
    wB = np.ones((q, k))
    for j in range(k):
        if j + 1 < n_mod:
            wB[groups[j + 1], j] = 3.0
            sig_y[groups[j + 1]] = True
    B0 = r_expr.standard_normal((q, k)) * wB * (sig_y * np.exp(r_expr.normal(0, 0.75, q)))[:, None]
    B = omega_orthogonal_loadings(B0, Ly_pop, dy, gy)
    # rescale every gene to a realistic latent log-expression SD; canonical correlations and
    # Omega-orthogonality are invariant to such per-feature scaling
    sigma_y = r_expr.uniform(lo_sd, hi_sd, q)
    scale = sigma_y / np.sqrt((B ** 2).sum(1) + (Ly_pop ** 2).sum(1) + dy)
    B *= scale[:, None]
    Ly *= scale[:, None]
    Ly_pop *= scale[:, None]
    dy = dy * scale ** 2
    activity = r_expr.standard_normal((n, n_mod))
    activity[:, 0] = activity1
    Fy = np.hstack([r_expr.standard_normal((n, s_y)), activity])
    Ey = r_expr.standard_normal((n, q))
    Ey *= np.sqrt(dy)
    eta_lat = V @ B.T
    eta_lat += Fy @ Ly.T
    eta_lat += Ey
    log2_base = np.clip(r_expr.normal(3.0, 2.0, q), 0.0, 14.0)
    ln_mu = log2_base * np.log(2.0)
    beff_y = np.vstack([sigma_y * r_expr.normal(0, covariate_effect, q) / 10,
                        sigma_y * r_expr.normal(0, covariate_effect, q)])
    gam_y, del_y = _centre_effects(C, sigma_y, centre_effects, centre_shift, centre_scale, r_expr)
    eta_clean = eta_lat + ln_mu
    eta_clean += np.outer(age_c, beff_y[0])
    eta_clean += np.outer(male, beff_y[1])
    centre_term_y = gam_y[cidx] + (del_y[cidx] - 1.0) * Ey  # eta_obs - eta_clean

    # ------------------------------------------------------------ counts
    lib = np.round(library_size * np.exp(r_counts.normal(0, 0.35, n)))
    size_factor = lib / 1e6
    phi = (0.01 + 0.2 / np.sqrt(2.0 ** log2_base)) * np.exp(r_counts.normal(0, 0.3, q))
    rows_e = present["expression"]
    counts, counts_clean = _nb_counts(eta_clean, centre_term_y, size_factor, phi, rows_e, r_counts)
    del eta_clean, centre_term_y

    # ------------------------------------------------------------ traits
    T = len(TRAITS)
    lam_t = r_traits.normal(0, 0.3, (T, k))
    beff_t = np.vstack([r_traits.normal(0, covariate_effect, T) / 10,
                        r_traits.normal(0, covariate_effect, T)])
    tstar = z @ lam_t.T + np.outer(age_c, beff_t[0]) + np.outer(male, beff_t[1])
    tstar += r_traits.standard_normal((n, T))
    ci = TRAITS.index.get_loc(CAUSAL_TRAIT)
    tstar[:, ci] += causal_effect * activity1 + Gc @ alpha_snp + confounding * confounder
    traits = TRAITS["mean"].to_numpy() + TRAITS["sd"].to_numpy() * tstar

    # ------------------------------------------------------------ outcomes
    oc = dict(outcome_coefficients or {})
    beta_b = per_factor(oc.get("binary", (-0.5) ** np.arange(k)), k, "outcome_coefficients['binary']")
    beta_c = per_factor(oc.get("continuous", 0.8 * 0.5 ** np.arange(k)), k,
                        "outcome_coefficients['continuous']")
    b0 = float(np.log(outcome_prevalence / (1 - outcome_prevalence)))
    y_bin = (r_out.random(n) < expit(b0 + z @ beta_b)).astype(np.int64)
    y_con = z @ beta_c + outcome_noise_sd * r_out.standard_normal(n)
    outcomes = pd.DataFrame({"outcome_binary": y_bin, "outcome_continuous": y_con}, index=ids)

    # ------------------------------------------------------------ MR summary
    mr = make_mr_summary(instruments=instruments, n_exposure=mr_sample_sizes[0],
                         n_outcome=mr_sample_sizes[1], causal_effect=causal_effect,
                         confounding=confounding, exposure_name=f"{mnames[0]} activity",
                         outcome_name=CAUSAL_TRAIT, rng=r_mr)

    # ------------------------------------------------------------ assemble views
    def frame(values, rows, columns):
        return pd.DataFrame(values, index=ids[rows], columns=columns)

    out_views: dict[str, pd.DataFrame] = {}
    clean: dict[str, pd.DataFrame] = {}
    r_rows = present["radiomics"]
    x_obs_df = frame(x_obs[r_rows], r_rows, fnames)
    out_views["radiomics"] = transform.forward(x_obs_df)
    clean["radiomics"] = transform.forward(frame(x_clean[r_rows], r_rows, fnames))
    counts, counts_clean = counts[rows_e], counts_clean[rows_e]
    logexpr = log_cpm(counts)
    logexpr_clean = log_cpm(counts_clean)
    out_views["expression_counts"] = frame(counts, rows_e, genes)
    clean["expression_counts"] = frame(counts_clean, rows_e, genes)
    out_views["expression"] = frame(logexpr, rows_e, genes)
    clean["expression"] = frame(logexpr_clean, rows_e, genes)
    out_views["modules"] = frame(module_scores(logexpr, groups), rows_e, mnames)
    clean["modules"] = frame(module_scores(logexpr_clean, groups), rows_e, mnames)
    g_rows = present["genotypes"]
    out_views["genotypes"] = frame(G[g_rows], g_rows, instruments.index)
    t_rows = present["traits"]
    out_views["traits"] = frame(traits[t_rows], t_rows, TRAITS.index)
    out_views = {v: out_views[v] for v in views}
    for df in out_views.values():
        df.columns.name = None

    # ------------------------------------------------------------ truth
    def fr(values, columns, index=ids):
        return pd.DataFrame(values, index=index, columns=columns)

    genes_idx = pd.Index(genes, name="gene")
    spec_x = ([f"radiomics_specific_{i + 1}" for i in range(s_x)]
              + [f"block:{b}" for b in blk_uni] + [f"family:{f}" for f in fam_uni])
    spec_y = [f"expression_specific_{i + 1}" for i in range(s_y)] + [f"module:{m}" for m in mnames]
    computed = population_canonical_correlations(A, B, rho_tilde, Lx, dx, Ly_pop, dy)
    cov_rows = pd.Index(["age", "sex_M"], name="covariate")
    cent_idx = pd.Index(centres, name="centre")
    trait_scale = TRAITS.copy()
    truth = GroundTruth(
        params=params,
        sample_ids=ids,
        centre=centre.copy(),
        covariates=covariates.copy(),
        shared_factors=fr(z, fac),
        latent_factors={"radiomics": fr(z.copy(), fac), "expression": fr(V, fac)},
        latent_correlations=pd.Series(rho_tilde, index=fac, name="latent_correlation"),
        canonical_correlations=np.sort(rho)[::-1].copy(),
        canonical_correlations_computed=computed,
        factor_canonical_correlations=pd.Series(rho, index=fac, name="canonical_correlation"),
        signal_strength=pd.DataFrame({"radiomics": gx, "expression": gy}, index=fac),
        reliability=pd.DataFrame({"radiomics": rx, "expression": ry}, index=fac),
        loadings={"radiomics": fr(A, fac, fnames), "expression": fr(B, fac, genes_idx)},
        specific_loadings={"radiomics": fr(Lx, spec_x, fnames), "expression": fr(Ly_pop, spec_y, genes_idx)},
        noise_variance={"radiomics": pd.Series(dx, index=fnames, name="noise_variance"),
                        "expression": pd.Series(dy, index=genes_idx, name="noise_variance")},
        latent_blocks={"radiomics": fr(x_lat, fnames), "expression": fr(eta_lat, genes_idx)},
        noise={"radiomics": fr(Ex, fnames), "expression": fr(Ey, genes_idx)},
        intercepts={"radiomics": pd.Series(0.0, index=fnames, name="intercept"),
                    "expression": pd.Series(ln_mu, index=genes_idx, name="intercept")},
        covariate_effects={"radiomics": fr(beff_x, fnames, cov_rows),
                           "expression": fr(beff_y, genes_idx, cov_rows),
                           "traits": fr(beff_t * TRAITS["sd"].to_numpy(), TRAITS.index, cov_rows)},
        centre_effects={"radiomics": {"additive": fr(gam_x, fnames, cent_idx),
                                      "multiplicative": fr(del_x, fnames, cent_idx)},
                        "expression": {"additive": fr(gam_y, genes_idx, cent_idx),
                                       "multiplicative": fr(del_y, genes_idx, cent_idx)}},
        clean=clean,
        radiomic_transform=transform,
        library_size=pd.Series(lib, index=ids, name="library_size"),
        size_factor=pd.Series(size_factor, index=ids, name="size_factor"),
        dispersion=pd.Series(phi, index=genes_idx, name="dispersion"),
        base_mean=pd.Series(2.0 ** log2_base, index=genes_idx, name="base_cpm"),
        modules={m: [genes[i] for i in g] for m, g in zip(mnames, groups)},
        module_activity=fr(activity, mnames),
        instrumented_module=mnames[0],
        instruments=instruments,
        causal_trait=CAUSAL_TRAIT,
        causal_effect=float(causal_effect),
        causal_effect_trait_units=float(causal_effect * TRAITS.loc[CAUSAL_TRAIT, "sd"]),
        trait_scale=trait_scale,
        outcome_coefficients=pd.DataFrame(
            {"outcome_binary": np.r_[b0, beta_b], "outcome_continuous": np.r_[0.0, beta_c]},
            index=["intercept", *fac]),
        outcome_noise_sd=float(outcome_noise_sd),
        missing=pd.DataFrame(miss, index=ids)[list(ASSAYS)],
        mr=mr,
        extras={"dosages": fr(G, instruments.index), "confounder": pd.Series(confounder, index=ids),
                "trait_loadings": fr(lam_t, fac, TRAITS.index)},
    )

    if return_frames:
        cohort = SimulatedFrames(out_views, covariates, centre, outcomes)
    else:
        cohort = Cohort(views=out_views, covariates=covariates, centre=centre, outcomes=outcomes)
    return cohort, truth


def _centre_effects(C, sigma, enabled, shift, scale, rng):
    r"""ComBat-style centre effects :math:`\gamma_{cj} = \sigma_j N(m_c, s^2)`, :math:`\log\delta_{cj} \sim N(l_c, t^2)`."""
    P = sigma.size
    if not enabled:
        return np.zeros((C, P)), np.ones((C, P))
    gam = sigma * (rng.normal(0, shift, (C, 1)) + rng.normal(0, shift, (C, P)))
    dl = np.exp(rng.normal(0, scale, (C, 1)) + rng.normal(0, scale, (C, P)))
    return gam, dl


def _nb_counts(eta_clean, centre_term, size_factor, phi, rows, rng):
    """Observed and clean NB counts coupled by shared gamma draws and a common Poisson process."""
    n, q = eta_clean.shape
    shape = 1.0 / phi

    def draw(cols):
        w = rng.gamma(shape[cols], phi[cols], size=(n, cols.size))
        lam_c = np.exp(eta_clean[:, cols])
        lam_c *= size_factor[:, None]
        lam_c *= w
        del w
        ratio = np.exp(-centre_term[:, cols])  # lam_c / lam_o
        lam_o = lam_c / ratio
        y_o = rng.poisson(lam_o)
        np.minimum(ratio, 1.0, out=ratio)
        y_c = rng.binomial(y_o, ratio)
        del ratio
        lam_c -= lam_o
        del lam_o
        np.maximum(lam_c, 0.0, out=lam_c)
        y_c += rng.poisson(lam_c)
        return y_o, y_c

    counts, clean = draw(np.arange(q))
    for _ in range(1000):
        sub = counts[rows]
        const = np.flatnonzero(sub.min(0) == sub.max(0))
        if const.size == 0:
            break
        counts[:, const], clean[:, const] = draw(const)
    else:  # pragma: no cover - probability ~0
        raise RuntimeError("could not draw non-constant counts")
    return counts, clean
