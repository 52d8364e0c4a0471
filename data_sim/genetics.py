r"""Genotypes, genetic instruments and two-sample Mendelian-randomisation summary data.

Instrument model (shared by :func:`make_mr_summary` and
:func:`data_sim.make_cohort`). For SNP :math:`j` with effect-allele frequency
:math:`f_j` and dosage :math:`G_{ij} \sim \mathrm{Binomial}(2, f_j)`
(Hardy-Weinberg):

.. math::

    X_i &= \sum_j \gamma_j (G_{ij} - 2 f_j) + c\,C_i + \sqrt{1 - c^2}\, e_i \\
    Y_i &= \theta X_i + \sum_j \alpha_j (G_{ij} - 2 f_j) + c\,C_i + \sqrt{1 - c^2}\, e'_i

with confounder :math:`C_i \sim N(0, 1)`, :math:`e, e' \sim N(0, 1)`,
causal effect :math:`\theta`. Instrument effects have
:math:`\gamma_j^2 \cdot 2 f_j (1 - f_j) = \pi_j R^2 / (1 - R^2)` with Dirichlet
shares :math:`\pi`, so the SNPs jointly explain a fraction :math:`R^2` of the
exposure variance (:math:`R^2` = ``instrument_r2``), random signs.
Pleiotropic (direct) effects are :math:`\alpha_j = \operatorname{sign}(\gamma_j)\, a_j`,
:math:`a_j \sim N(\text{pleiotropy}, \text{pleiotropy\_sd}^2)` for a fraction
``pleiotropic_fraction`` of SNPs (0 otherwise): after orienting each SNP to its
exposure-increasing allele the mean direct effect is ``pleiotropy``
(directional pleiotropy, InSIDE holds because :math:`a_j \perp |\gamma_j|`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._names import snp_ids
from ._utils import RngLike, as_generator, spawn

__all__ = ["MRSummary", "draw_instruments", "make_mr_summary", "simulate_dosages"]

_COMPLEMENT = {"A": "T", "T": "A", "C": "G", "G": "C"}
_NON_PALINDROMIC = (("A", "C"), ("A", "G"), ("C", "T"), ("G", "T"))
_PALINDROMIC = (("A", "T"), ("C", "G"))

EXPOSURE_COLUMNS = ["SNP", "beta.exposure", "se.exposure", "effect_allele.exposure",
                    "other_allele.exposure", "eaf.exposure", "pval.exposure",
                    "samplesize.exposure", "exposure", "id.exposure"]
OUTCOME_COLUMNS = [c.replace("exposure", "outcome") for c in EXPOSURE_COLUMNS]

#: Upper bound of the effect-allele frequency of palindromic SNPs, so that
#: their strand stays inferable from frequencies (TwoSampleMR's default
#: ambiguity threshold is 0.42).
PALINDROMIC_MAX_MAF = 0.40


def _default_count(value, default, n):
    return int(min(n, default if value is None else value))


def draw_instruments(n_snps: int, *, instrument_r2: float = 0.1,
                     maf_range: tuple[float, float] = (0.05, 0.5),
                     pleiotropy: float = 0.0, pleiotropy_sd: float | None = None,
                     pleiotropic_fraction: float = 1.0,
                     n_palindromic: int | None = None, n_allele_swapped: int | None = None,
                     n_strand_flipped: int | None = None,
                     rng: RngLike = None) -> pd.DataFrame:
    r"""Draw an instrument table: IDs, alleles, frequencies and effects.

    The effect (coded) allele is the minor allele, with frequency
    :math:`f_j \sim U(\text{maf\_range})` (palindromic SNPs: upper bound
    :data:`PALINDROMIC_MAX_MAF`). Effects follow the module docstring model:
    :math:`\gamma_j^2\, 2 f_j (1-f_j) = \pi_j R^2/(1-R^2)`,
    :math:`\pi \sim \mathrm{Dirichlet}(2, \ldots, 2)`,
    :math:`\alpha_j = \operatorname{sign}(\gamma_j) a_j`.

    Alleles are drawn from A/C/G/T. ``n_palindromic`` SNPs are A/T or C/G
    (default ``max(1, round(0.1 J))``). Disjoint random sets of SNPs are marked
    to be reported in the outcome data with swapped alleles
    (``outcome_allele_swapped``: effect/other exchanged, beta negated,
    eaf -> 1 - eaf; default ``max(1, round(0.2 J))``) or on the opposite strand
    (``outcome_strand_flipped``: both alleles complemented, beta and eaf
    unchanged; default ``max(1, round(0.1 J))``, including a palindromic SNP when
    possible).

    Parameters
    ----------
    n_snps : int
        Number of instruments :math:`J \ge 1`.
    instrument_r2 : float
        Total exposure variance explained by the instruments, in (0, 1).
    maf_range : (float, float)
        Range of minor-allele frequencies, within (0, 0.5].
    pleiotropy, pleiotropy_sd, pleiotropic_fraction : float
        Directional pleiotropy mean, its SD (default ``|pleiotropy| / 2``) and
        the fraction of pleiotropic SNPs.
    n_palindromic, n_allele_swapped, n_strand_flipped : int, optional
        Counts described above.
    rng : int, SeedSequence, BitGenerator, Generator or None (SPEC 7)
        Random source.

    Returns
    -------
    pandas.DataFrame
        Index ``SNP``; columns ``effect_allele``, ``other_allele``, ``eaf``,
        ``gamma``, ``alpha``, ``palindromic``, ``outcome_allele_swapped``,
        ``outcome_strand_flipped``, ``outcome_sign`` (multiply a reported
        outcome beta by it to express it per exposure effect allele).
    """
    rng = as_generator(rng)
    J = int(n_snps)
    if J < 1:
        raise ValueError("n_snps must be >= 1")
    lo, hi = map(float, maf_range)
    if not (0 < lo <= hi <= 0.5):
        raise ValueError(f"maf_range must satisfy 0 < low <= high <= 0.5, got {maf_range}")
    if not (0 < instrument_r2 < 1):
        raise ValueError(f"instrument_r2 must be in (0, 1), got {instrument_r2}")
    if not (0 <= pleiotropic_fraction <= 1):
        raise ValueError("pleiotropic_fraction must be in [0, 1]")

    n_pal = _default_count(n_palindromic, max(1, round(0.1 * J)) if J >= 3 else 0, J)
    n_swap = _default_count(n_allele_swapped, max(1, round(0.2 * J)) if J >= 3 else 0, J)
    n_strand = _default_count(n_strand_flipped, max(1, round(0.1 * J)) if J >= 3 else 0, J)
    if n_swap + n_strand > J:
        raise ValueError("n_allele_swapped + n_strand_flipped cannot exceed n_snps")

    ids = snp_ids(J, rng)
    palindromic = np.zeros(J, bool)
    palindromic[rng.choice(J, n_pal, replace=False)] = True
    eaf = rng.uniform(lo, hi, J)
    pal_hi = min(hi, PALINDROMIC_MAX_MAF)
    if palindromic.any():
        eaf[palindromic] = rng.uniform(min(lo, pal_hi), pal_hi, palindromic.sum())
    ea = np.empty(J, dtype=object)
    oa = np.empty(J, dtype=object)
    for j in range(J):  # J is small (tens of SNPs)
        pairs = _PALINDROMIC if palindromic[j] else _NON_PALINDROMIC
        a, b = pairs[rng.integers(len(pairs))]
        if rng.random() < 0.5:
            a, b = b, a
        ea[j], oa[j] = a, b

    shares = rng.dirichlet(np.full(J, 2.0))
    var_g = 2 * eaf * (1 - eaf)
    gamma = rng.choice([-1.0, 1.0], J) * np.sqrt(shares * instrument_r2 / (1 - instrument_r2) / var_g)

    psd = abs(pleiotropy) / 2 if pleiotropy_sd is None else float(pleiotropy_sd)
    a_j = rng.normal(pleiotropy, psd, J) if (pleiotropy != 0 or psd > 0) else np.zeros(J)
    is_pleio = rng.random(J) < pleiotropic_fraction
    alpha = np.where(is_pleio, np.sign(gamma) * a_j, 0.0)

    # disjoint sets of outcome rows needing harmonisation
    strand = np.zeros(J, bool)
    swapped = np.zeros(J, bool)
    pal_idx = np.flatnonzero(palindromic)
    non_pal = np.flatnonzero(~palindromic)
    chosen = []
    if n_strand > 0 and pal_idx.size:
        chosen.append(rng.choice(pal_idx))
    rest = rng.permutation(np.setdiff1d(non_pal, chosen))
    rest_all = np.concatenate([rest, rng.permutation(np.setdiff1d(pal_idx, chosen))]).astype(int)
    need = n_strand - len(chosen)
    chosen.extend(rest_all[:need].tolist())
    strand[np.asarray(chosen, int)] = True
    remaining = rng.permutation(np.flatnonzero(~strand))
    swapped[remaining[:n_swap]] = True

    return pd.DataFrame({
        "effect_allele": ea.astype(str), "other_allele": oa.astype(str), "eaf": eaf,
        "gamma": gamma, "alpha": alpha, "palindromic": palindromic,
        "outcome_allele_swapped": swapped, "outcome_strand_flipped": strand,
        "outcome_sign": np.where(swapped, -1.0, 1.0),
    }, index=pd.Index(ids, name="SNP"))


def simulate_dosages(n: int, eaf: np.ndarray, rng: RngLike = None,
                     nonconstant_rows: np.ndarray | None = None) -> np.ndarray:
    r"""Draw Hardy-Weinberg dosages :math:`G_{ij} \sim \mathrm{Binomial}(2, f_j)`.

    Parameters
    ----------
    n : int
        Number of individuals.
    eaf : array_like, shape (J,)
        Effect-allele frequencies.
    rng : int, SeedSequence, BitGenerator, Generator or None (SPEC 7)
        Random source.
    nonconstant_rows : array_like of bool, optional
        If given, any SNP that is constant over these rows is redrawn (whole
        column) until it is not, so a genotype view restricted to them has no
        constant columns. This conditions on non-constancy, which matters only
        for tiny samples.

    Returns
    -------
    numpy.ndarray of int64, shape (n, J)
    """
    rng = as_generator(rng)
    eaf = np.asarray(eaf, float)
    G = rng.binomial(2, eaf, size=(n, eaf.size)).astype(np.int64)
    if nonconstant_rows is not None:
        rows = np.asarray(nonconstant_rows, bool)
        if rows.sum() < 2:
            raise ValueError("need at least 2 genotyped samples")
        for j in range(eaf.size):
            for _ in range(10_000):
                col = G[rows, j]
                if col.min() != col.max():
                    break
                G[:, j] = rng.binomial(2, eaf[j], size=n)
            else:  # pragma: no cover - probability ~0
                raise RuntimeError("could not draw a non-constant SNP")
    return G


@dataclass(repr=False)
class MRSummary:
    """Two-sample MR summary statistics with their ground truth.

    Iterating yields ``(exposure, outcome, causal_effect)``.

    Attributes
    ----------
    exposure, outcome : pandas.DataFrame
        TwoSampleMR-formatted GWAS summary statistics (one row per SNP).
    causal_effect : float
        True effect :math:`\\theta` of one unit of exposure on the outcome.
    snps : pandas.DataFrame
        Instrument truth (see :func:`draw_instruments`): alleles in exposure
        orientation, true frequency, ``gamma``, ``alpha``, palindromic flag and
        outcome allele-swap / strand-flip flags with ``outcome_sign``.
    params : dict
        Arguments used.
    """

    exposure: pd.DataFrame
    outcome: pd.DataFrame
    causal_effect: float
    snps: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)

    def __iter__(self):
        return iter((self.exposure, self.outcome, self.causal_effect))

    def __repr__(self) -> str:
        s = self.snps
        return (f"MRSummary(n_snps={len(s)}, causal_effect={self.causal_effect:g}, "
                f"n_exposure={self.params.get('n_exposure')}, n_outcome={self.params.get('n_outcome')}, "
                f"palindromic={int(s['palindromic'].sum())}, swapped={int(s['outcome_allele_swapped'].sum())}, "
                f"strand_flipped={int(s['outcome_strand_flipped'].sum())})")


def _gwas(n, snps, causal_effect, confounding, rng, outcome, chunk=50_000):
    """Per-SNP OLS of exposure (or outcome) on dosage in one simulated sample."""
    eaf = snps["eaf"].to_numpy()
    gamma = snps["gamma"].to_numpy()
    alpha = snps["alpha"].to_numpy()
    J = eaf.size
    c = float(confounding)
    s = np.sqrt(max(0.0, 1 - c * c))
    Sg = np.zeros(J); Sgg = np.zeros(J); Sgy = np.zeros(J)
    Sy = 0.0; Syy = 0.0
    done = 0
    while done < n:
        m = min(chunk, n - done)
        G = rng.binomial(2, eaf, size=(m, J)).astype(float)
        Gc = G - 2 * eaf
        conf = rng.standard_normal(m)
        x = Gc @ gamma + c * conf + s * rng.standard_normal(m)
        y = causal_effect * x + Gc @ alpha + c * conf + s * rng.standard_normal(m) if outcome else x
        Sg += G.sum(0); Sgg += (G * G).sum(0); Sgy += G.T @ y
        Sy += y.sum(); Syy += y @ y
        done += m
    sxx = Sgg - Sg ** 2 / n
    sxy = Sgy - Sg * Sy / n
    syy = Syy - Sy ** 2 / n
    beta = sxy / sxx
    rss = np.maximum(syy - beta * sxy, 1e-300)
    se = np.sqrt(rss / (n - 2) / sxx)
    pval = 2 * stats.t.sf(np.abs(beta / se), df=n - 2)
    return beta, se, Sg / (2 * n), pval


def _random_id(rng) -> str:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
    return "".join(rng.choice(letters, 6))


def make_mr_summary(n_snps: int = 30, n_exposure: int = 20_000, n_outcome: int = 20_000,
                    causal_effect: float = 0.3, *, pleiotropy: float = 0.0,
                    pleiotropy_sd: float | None = None, pleiotropic_fraction: float = 1.0,
                    weak: bool = False, instrument_r2: float | None = None,
                    maf_range: tuple[float, float] = (0.05, 0.5), confounding: float = 0.5,
                    n_palindromic: int | None = None, n_allele_swapped: int | None = None,
                    n_strand_flipped: int | None = None,
                    exposure_name: str = "exposure", outcome_name: str = "outcome",
                    instruments: pd.DataFrame | None = None, rng: RngLike = None) -> MRSummary:
    r"""Simulate GWAS summary statistics for two-sample Mendelian randomisation.

    Two independent samples are simulated from the instrument model of this
    module (exposure :math:`X`, outcome :math:`Y = \theta X + G\alpha + cC + e'`):
    the exposure GWAS regresses :math:`X` on each dosage in sample 1
    (``n_exposure`` individuals), the outcome GWAS regresses :math:`Y` on each
    dosage in sample 2 (``n_outcome``); per-SNP simple OLS

    .. math::

        \hat\beta_j = \frac{\sum_i (G_{ij} - \bar G_j)(y_i - \bar y)}{\sum_i (G_{ij} - \bar G_j)^2},\quad
        \widehat{\mathrm{se}}_j = \sqrt{\frac{\mathrm{RSS}_j/(n-2)}{\sum_i (G_{ij}-\bar G_j)^2}},

    two-sided t p-values, ``eaf`` the sample effect-allele frequency.
    Under no pleiotropy :math:`\beta_{Yj}/\beta_{Xj} \to \theta` (Wald ratio)
    and the IVW estimate is consistent.

    Outcome rows flagged ``outcome_allele_swapped`` are reported for the other
    allele (alleles exchanged, beta negated, eaf -> 1 - eaf) and rows flagged
    ``outcome_strand_flipped`` on the opposite strand (alleles complemented),
    so that harmonisation has work to do; ``MRSummary.snps`` records both.

    Parameters
    ----------
    n_snps : int
        Number of instruments.
    n_exposure, n_outcome : int
        Sizes of the two independent GWAS samples.
    causal_effect : float
        :math:`\theta`, effect of one unit of exposure on the outcome.
    pleiotropy, pleiotropy_sd, pleiotropic_fraction : float
        Directional pleiotropy (see :func:`draw_instruments`); 0 = none.
    weak : bool
        Weak instruments: unless ``instrument_r2`` is given, use
        :math:`R^2 = 3 J / n_{exposure}` (mean first-stage F about 3, far
        below the rule-of-thumb 10). Otherwise the default is :math:`R^2 = 0.1`.
    instrument_r2 : float, optional
        Total exposure variance explained by the instruments.
    maf_range : (float, float)
        Range of minor-allele frequencies.
    confounding : float
        Loading :math:`c` of the unmeasured confounder on exposure and outcome.
    n_palindromic, n_allele_swapped, n_strand_flipped : int, optional
        See :func:`draw_instruments`.
    exposure_name, outcome_name : str
        Values of the ``exposure`` / ``outcome`` columns.
    instruments : pandas.DataFrame, optional
        A table from :func:`draw_instruments` to reuse (then ``n_snps``,
        ``maf_range``, ``weak``, ``instrument_r2`` and the pleiotropy
        arguments are ignored).
    rng : int, SeedSequence, BitGenerator, Generator or None (SPEC 7)
        Random source.

    Returns
    -------
    MRSummary
        ``exposure`` and ``outcome`` DataFrames with TwoSampleMR columns
        (``SNP, beta.exposure, se.exposure, effect_allele.exposure,
        other_allele.exposure, eaf.exposure, pval.exposure,
        samplesize.exposure, exposure, id.exposure`` and the ``.outcome``
        equivalents), ``causal_effect`` and the ``snps`` truth table.
    """
    rng = as_generator(rng)
    r_inst, r_exp, r_out, r_id = spawn(rng, 4)
    n_exposure, n_outcome = int(n_exposure), int(n_outcome)
    if min(n_exposure, n_outcome) < 10:
        raise ValueError("n_exposure and n_outcome must be >= 10")
    if not (0 <= confounding <= 1):
        raise ValueError("confounding must be in [0, 1]")
    if instruments is None:
        if instrument_r2 is None:
            instrument_r2 = min(0.5, 3.0 * n_snps / n_exposure) if weak else 0.1
        instruments = draw_instruments(
            n_snps, instrument_r2=instrument_r2, maf_range=maf_range, pleiotropy=pleiotropy,
            pleiotropy_sd=pleiotropy_sd, pleiotropic_fraction=pleiotropic_fraction,
            n_palindromic=n_palindromic, n_allele_swapped=n_allele_swapped,
            n_strand_flipped=n_strand_flipped, rng=r_inst)
    snps = instruments.copy()
    bx, sx, fx, px = _gwas(n_exposure, snps, causal_effect, confounding, r_exp, outcome=False)
    by, sy, fy, py = _gwas(n_outcome, snps, causal_effect, confounding, r_out, outcome=True)

    exposure = pd.DataFrame({
        "SNP": snps.index.to_numpy(), "beta.exposure": bx, "se.exposure": sx,
        "effect_allele.exposure": snps["effect_allele"].to_numpy(),
        "other_allele.exposure": snps["other_allele"].to_numpy(),
        "eaf.exposure": fx, "pval.exposure": px, "samplesize.exposure": n_exposure,
        "exposure": exposure_name, "id.exposure": _random_id(r_id),
    })[EXPOSURE_COLUMNS]

    ea = snps["effect_allele"].to_numpy().astype(object)
    oa = snps["other_allele"].to_numpy().astype(object)
    swap = snps["outcome_allele_swapped"].to_numpy()
    strand = snps["outcome_strand_flipped"].to_numpy()
    ea_out = np.where(swap, oa, ea)
    oa_out = np.where(swap, ea, oa)
    ea_out = np.array([_COMPLEMENT[a] if s else a for a, s in zip(ea_out, strand)])
    oa_out = np.array([_COMPLEMENT[a] if s else a for a, s in zip(oa_out, strand)])
    outcome_df = pd.DataFrame({
        "SNP": snps.index.to_numpy(), "beta.outcome": np.where(swap, -by, by), "se.outcome": sy,
        "effect_allele.outcome": ea_out, "other_allele.outcome": oa_out,
        "eaf.outcome": np.where(swap, 1 - fy, fy), "pval.outcome": py,
        "samplesize.outcome": n_outcome, "outcome": outcome_name, "id.outcome": _random_id(r_id),
    })[OUTCOME_COLUMNS]
    snps["F_exposure"] = (bx / sx) ** 2
    params = dict(n_snps=len(snps), n_exposure=n_exposure, n_outcome=n_outcome,
                  causal_effect=causal_effect, pleiotropy=pleiotropy, pleiotropy_sd=pleiotropy_sd,
                  pleiotropic_fraction=pleiotropic_fraction, weak=weak, instrument_r2=instrument_r2,
                  maf_range=tuple(maf_range), confounding=confounding)
    return MRSummary(exposure=exposure, outcome=outcome_df, causal_effect=float(causal_effect),
                     snps=snps, params=params)
