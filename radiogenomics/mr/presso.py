"""MR-PRESSO: pleiotropy residual sum and outlier test (Verbanck et al. 2018), as MRPRESSO 1.0.

Reference
---------
Verbanck M, Chen C-Y, Neale B, Do R (2018). Detection of widespread horizontal pleiotropy in
causal relationships inferred from Mendelian randomization between complex traits and diseases.
Nat Genet 50:693-698.  R package MRPRESSO 1.0 (github.com/rondolab/MR-PRESSO).

Algorithm (univariable; SNPs oriented so that ``bx > 0``, weights ``w_j = 1/sy_j^2``)
------------------------------------------------------------------------------------
* Leave-one-out IVW: :math:`\\hat\\beta_{-j} = \\sum_{i\\ne j} w_i bx_i by_i /
  \\sum_{i\\ne j} w_i bx_i^2`.
* Global test: :math:`RSS_{obs} = \\sum_j w_j (by_j - \\hat\\beta_{-j} bx_j)^2`.  Each of
  ``n_distribution`` simulated data sets draws :math:`bx^*_j \\sim N(bx_j, sx_j^2)` and
  :math:`by^*_j \\sim N(\\hat\\beta_{-j} bx_j, sy_j^2)` and recomputes the RSS on the simulated
  data (leave-one-out estimates refitted on it); p = (1 + #simulated RSS strictly greater than
  the observed) / (1 + B) (MRPRESSO uses the plain share, which can be 0).
* Outlier test (only when the global p < ``significance``): for SNP ``j``,
  :math:`d_j = (by_j - \\hat\\beta_{-j} bx_j)^2` (unweighted, as MRPRESSO) against
  :math:`(by^*_j - \\hat\\beta_{-j} bx^*_j)^2` over the same simulated sets; empirical p times the
  number of SNPs (Bonferroni), capped at 1; empirical p-values are (1 + #exceed) / (1 + B) here and
  below.  Outliers: corrected p <= ``significance``.
* Distortion test: :math:`D = 100 (\\hat\\beta_{all} - \\hat\\beta_{no\\,out}) /
  |\\hat\\beta_{no\\,out}|`; null distribution from IVW fits on the outliers plus ``n - k`` SNPs
  drawn with replacement from the non-outliers (MRPRESSO 1.0's ``getRandomBias`` may fit on
  fewer resampled SNPs; p-values agreed with R's within Monte-Carlo error on the references),
  p = share with
  :math:`|D^*| > |D|`.
* "Raw" and "Outlier-corrected" rows: ``lm(by ~ -1 + bx, weights = w)`` — the SE is the lm
  SE (not floored at the fixed-effect SE) and the p-value is from Student's t on ``n - 1`` df.

The simulation is vectorised in NumPy (closed-form leave-one-out sums), so 10,000 distributions
on ~100 SNPs take well under a second, against ~30 minutes for MRPRESSO in R.  Random streams
differ from R's, so p-values and the outlier set agree with MRPRESSO only within Monte-Carlo
error; the same ``rng`` seed gives the same result here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import InputError, RadiogenomicsError, check_rng, listing
from ._core import ivw_fit, prepare_harmonised

__all__ = ["mr_presso", "PressoResult"]


@dataclass
class PressoResult:
    """Result of :func:`mr_presso`.

    Attributes
    ----------
    main : DataFrame
        MRPRESSO's "Main MR results": columns ``Exposure, MR Analysis, Causal Estimate, Sd,
        T-stat, P-value``; rows "Raw" and "Outlier-corrected" (NaN without outliers).
    global_rss, global_pval : float
        Observed RSS and empirical p-value of the global test, (1 + #exceed) / (1 + B), never 0.
    outlier_test : DataFrame or None
        Per SNP (input order of the ``mr_keep`` rows): ``SNP, RSSobs, Pvalue`` (Bonferroni,
        capped at 1); None when the global test is not significant or the test was not asked.
    outliers : ndarray of int
        0-based positions of the outliers among the ``mr_keep`` rows (MRPRESSO prints 1-based).
    distortion_coef, distortion_pval : float
        Distortion coefficient (per cent) and its empirical p-value; NaN when not computed.
    n_distribution : int
    """

    main: pd.DataFrame
    global_rss: float
    global_pval: float
    n_distribution: int
    outlier_test: pd.DataFrame | None = None
    outliers: np.ndarray = field(default_factory=lambda: np.array([], dtype=int))
    distortion_coef: float = np.nan
    distortion_pval: float = np.nan
    snps: tuple = ()

    def to_frame(self) -> pd.DataFrame:
        """The "Main MR results" table (a copy)."""
        return self.main.copy()

    def summary(self) -> str:
        """A short text report in the spirit of MRPRESSO's printout."""
        floor = 1.0 / self.n_distribution

        def fmt(p):
            return f"<{floor:g}" if p == 0 else f"{p:.4g}"

        lines = ["MR-PRESSO (Verbanck et al. 2018)", self.main.to_string(index=False),
                 f"Global test: RSSobs = {self.global_rss:.6g}, p = {fmt(self.global_pval)} "
                 f"({self.n_distribution} distributions)"]
        if self.outlier_test is not None:
            names = [self.snps[i] for i in self.outliers] if self.snps else list(self.outliers + 1)
            lines.append(f"Outliers (corrected p <= threshold): {names if names else 'none'}")
        if np.isfinite(self.distortion_coef):
            lines.append(f"Distortion test: coefficient = {self.distortion_coef:.4g}%, "
                         f"p = {fmt(self.distortion_pval)}")
        return "\n".join(lines)

    def __repr__(self) -> str:  # pragma: no cover - display only
        return self.summary()


def _lm_row(bx, by, w, label, analysis):
    """``summary(lm(by ~ -1 + bx, weights = w))`` coefficient row with t(n-1) p-value."""
    n = bx.size
    if n < 2:
        return [label, analysis, np.nan, np.nan, np.nan, np.nan]
    f = ivw_fit(bx, by, 1.0 / np.sqrt(w))
    sd = f.se_fixed * f.sigma
    t = f.b / sd
    return [label, analysis, f.b, sd, t, 2 * stats.t.sf(abs(t), n - 1)]


def _loo_beta(bx, by, w):
    """Leave-one-out IVW slopes; works row-wise on 2-D arrays (distributions x SNPs)."""
    sxy = w * bx * by
    sxx = w * bx * bx
    return (sxy.sum(axis=-1, keepdims=True) - sxy) / (sxx.sum(axis=-1, keepdims=True) - sxx)


def mr_presso(dat: pd.DataFrame, n_distribution: int = 1000, significance: float = 0.05,
              outlier_test: bool = True, distortion_test: bool = True, rng=None,
              chunk: int = 2000) -> PressoResult:
    """MR-PRESSO global, outlier and distortion tests (univariable), as MRPRESSO 1.0.

    See the module docstring for the algorithm.

    Parameters
    ----------
    dat : DataFrame
        Harmonised SNPs (TwoSampleMR dotted or snake_case names; ``mr_keep`` rows used) with
        ``beta.exposure, se.exposure, beta.outcome, se.outcome``.
    n_distribution : int
        Number of simulated data sets (MRPRESSO's ``NbDistribution``).  With never-zero p-values
        the outlier test can only flag SNPs when ``(1 + B) * significance >= n`` (a warning says
        so otherwise; MRPRESSO's zero-able p needs ``B > n``).  It must also exceed the number of
        SNPs so that Bonferroni-corrected empirical p-values can reach ``significance``.
    significance : float
        ``SignifThreshold``: the global test must be below it for the outlier test to run, and
        an SNP is an outlier when its corrected p is at or below it.
    outlier_test, distortion_test : bool
        Run the outlier test (``OUTLIERtest``) and distortion test (``DISTORTIONtest``; needs
        the outlier test).  Note MRPRESSO's defaults are False; here both default to True.
    rng : None, int or numpy.random.Generator
        Random source (:func:`radiogenomics._checks.check_rng`).
    chunk : int
        Distributions simulated per block (memory ~ ``chunk * n_snps * 8 * 6`` bytes).

    Returns
    -------
    PressoResult
    """
    d = prepare_harmonised(dat)
    pairs = d[["id.exposure", "id.outcome"]].drop_duplicates()
    if len(pairs) > 1:
        raise InputError(f"mr_presso fits one exposure-outcome pair but dat holds {len(pairs)} "
                         f"({pairs.to_records(index=False).tolist()[:3]}...); subset dat to one pair")
    need = ["beta.exposure", "se.exposure", "beta.outcome", "se.outcome"]
    if d[need].isna().any().any():
        raise InputError("missing values in beta/se columns; drop those SNPs (or set mr_keep=False)")
    if not 0 < significance <= 1:
        raise InputError(f"significance must be in (0, 1], got {significance}")
    n_distribution = int(n_distribution)
    bx, sx, by, sy = (d[c].to_numpy(dtype=np.float64) for c in need)
    n = bx.size
    if n <= 3:
        raise InputError(f"MR-PRESSO needs at least 4 SNPs (more than n_exposures + 2), got {n}")
    if n >= n_distribution:
        raise InputError(f"n_distribution ({n_distribution}) must exceed the number of SNPs ({n}) "
                         "for the empirical p-values; increase n_distribution")
    if outlier_test and (1 + n_distribution) * significance < n:
        import warnings

        warnings.warn(
            f"with {n} SNPs and n_distribution = {n_distribution} the smallest Bonferroni-corrected "
            f"outlier p-value is n / (1 + B) = {n / (1 + n_distribution):.3g} > {significance}: no SNP "
            f"can be flagged; use n_distribution >= {int(np.ceil(n / significance))}", stacklevel=2)
    rng = check_rng(rng)
    snps = tuple(d["SNP"].astype(str)) if "SNP" in d.columns else ()
    label = "beta.exposure"

    # orientation (MRPRESSO multiplies both by sign(bx); a zero bx zeroes the row, as in R)
    s = np.sign(bx)
    bx, by = bx * s, by * s
    w = 1.0 / sy**2

    beta_loo = _loo_beta(bx, by, w)
    rss_obs = float(np.sum(w * (by - beta_loo * bx) ** 2))
    if not np.isfinite(rss_obs):      # never let a NaN statistic count as "nothing greater"
        raise RadiogenomicsError(
            f"MR-PRESSO's observed RSS is not finite ({rss_obs}); check the SNP effects and SEs "
            f"(SNPs: {listing(snps, 5)})")
    mean_y = beta_loo * bx                       # predict(mod_IVW[[i]], data[i, ])
    dif2 = (by - bx * beta_loo) ** 2             # outlier-test statistic (unweighted)

    n_greater_global = 0
    n_greater_snp = np.zeros(n, dtype=np.int64)
    for start in range(0, n_distribution, chunk):
        m = min(chunk, n_distribution - start)
        bxr = rng.normal(bx, sx, size=(m, n))
        byr = rng.normal(mean_y, sy, size=(m, n))
        b_r = _loo_beta(bxr, byr, w)
        rss_r = np.sum(w * (byr - b_r * bxr) ** 2, axis=1)
        if not np.all(np.isfinite(rss_r)):
            raise RadiogenomicsError(
                "MR-PRESSO's simulated RSS is not finite for some draws (a NaN would count as "
                "'not greater' and make the global p-value look significant); check that every "
                "SNP has a finite beta and positive finite SE")
        n_greater_global += int(np.sum(rss_r > rss_obs))
        if outlier_test:
            n_greater_snp += np.sum((byr - bxr * beta_loo) ** 2 > dif2, axis=0)
    global_p = (1 + n_greater_global) / (1 + n_distribution)

    raw = _lm_row(bx, by, w, label, "Raw")
    out_tab, outliers = None, np.array([], dtype=int)
    dist_coef = dist_p = np.nan
    corrected = [label, "Outlier-corrected", np.nan, np.nan, np.nan, np.nan]
    if outlier_test and global_p < significance:
        p_snp = np.minimum((1 + n_greater_snp) / (1 + n_distribution) * n, 1.0)
        out_tab = pd.DataFrame({"SNP": snps if snps else np.arange(1, n + 1), "RSSobs": dif2,
                                "Pvalue": p_snp})
        outliers = np.flatnonzero(p_snp <= significance)
        k = outliers.size
        if 0 < k < n:
            keep = np.ones(n, dtype=bool)
            keep[outliers] = False
            corrected = _lm_row(bx[keep], by[keep], w[keep], label, "Outlier-corrected")
            if distortion_test:
                b_all = raw[2]
                b_no = corrected[2]
                bias_obs = (b_all - b_no) / abs(b_no)
                rest = np.flatnonzero(keep)
                sxy, sxx = w * bx * by, w * bx * bx
                o_xy, o_xx = sxy[outliers].sum(), sxx[outliers].sum()
                n_greater_bias = 0
                for start in range(0, n_distribution, chunk):
                    m = min(chunk, n_distribution - start)
                    idx = rest[rng.integers(0, rest.size, size=(m, n - k))]
                    b_rand = (o_xy + sxy[idx].sum(axis=1)) / (o_xx + sxx[idx].sum(axis=1))
                    bias_exp = (b_all - b_rand) / np.abs(b_rand)
                    n_greater_bias += int(np.sum(np.abs(bias_exp) > abs(bias_obs)))
                dist_coef = 100.0 * bias_obs
                dist_p = (1 + n_greater_bias) / (1 + n_distribution)
    main = pd.DataFrame([raw, corrected], columns=["Exposure", "MR Analysis", "Causal Estimate",
                                                   "Sd", "T-stat", "P-value"])
    return PressoResult(main=main, global_rss=rss_obs, global_pval=global_p,
                        n_distribution=n_distribution, outlier_test=out_tab, outliers=outliers,
                        distortion_coef=dist_coef, distortion_pval=dist_p, snps=snps)
