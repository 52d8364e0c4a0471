"""Two-sample MR estimators with TwoSampleMR's conventions (``mr()``).

With ``bx_j, by_j`` the SNP-exposure and SNP-outcome effects of SNP ``j`` (harmonised to the
same allele), ``sx_j, sy_j`` their SEs and the ratio estimates ``r_j = by_j / bx_j``:

* **Wald ratio** (one SNP): ``b = by / bx``, ``se = sy / |bx|``, normal p-value.
* **IVW** (Burgess et al. 2013, Genet Epidemiol 37:658): :func:`radiogenomics.mr._core.ivw_fit`.
  "Inverse variance weighted" uses the multiplicative random-effects SE with the residual SE
  floored at 1, "(multiplicative random effects)" the unfloored one (``se_fixed * sigma``),
  "(fixed effects)" ``se_fixed``; all with normal p-values.
* **MR Egger** (Bowden et al. 2015, IJE 44:512): :func:`radiogenomics.mr._core.egger_fit`;
  p-value from t on ``n - 2`` df.  "MR Egger (bootstrap)": TwoSampleMR's
  ``mr_egger_regression_bootstrap`` -- ``bx*, by*`` drawn from ``N(bx, sx^2), N(by, sy^2)``,
  oriented to ``bx* > 0`` and fitted by TwoSampleMR's ``linreg`` (slope
  ``cov(w bx*, w by*) / var(w bx*)`` with ``w = 1/sy^2``); ``b`` = mean and ``se`` = SD of the
  bootstrap slopes, ``p`` = share of slopes with the sign opposite to ``b``.
* **Medians** (Bowden et al. 2016, Genet Epidemiol 40:304): the weighted median of ``r_j``,
  interpolated at the 50th percentile of the standardised cumulative weights
  ``(cumsum(w) - w/2) / sum(w)``.  Simple: equal weights; weighted: TwoSampleMR's
  *second-order* weights ``1 / v_j``, ``v_j = sy^2/bx^2 + by^2 sx^2 / bx^4``; penalised:
  ``w_j * min(1, 20 * P(chi2_1 > w_j (r_j - b_WM)^2))``.  SE = SD of the median over ``nboot``
  parametric bootstrap draws ``bx* ~ N(bx, sx^2)``, ``by* ~ N(by, sy^2)`` with the weights held
  fixed; normal p-value.
* **Modes** (Hartwig, Davey Smith & Bowden 2017, IJE 46:1985): the maximiser of a
  Gaussian kernel density of ``r_j`` (weights normalised ``1/se_j^2``) on R's
  ``density()`` grid, bandwidth ``h = phi * 0.9 min(sd(r), mad(r)) / n^(1/5)``, ``phi = 1``.
  Simple mode: equal weights; weighted mode: ``se_j = sqrt(v_j)`` (second order); NOME
  ("no measurement error") variants use ``se_j = sy / |bx|``.  SE = ``mad`` of the mode over
  ``nboot`` draws ``r* ~ N(r, se_j^2)`` (second-order SE for the default modes, NOME SE for the
  NOME ones); p-value from t on ``n - 1`` df (TwoSampleMR#558).  The density estimate follows
  R's ``density.default`` (512 points, ``cut = 3``, linear binning on 1024 bins and FFT
  convolution) so that the point estimate is the same grid point as in R.

* **Maximum likelihood, RAPS, IVW radial, sign concordance, unweighted regression, MR GRIP**:
  :mod:`radiogenomics.mr._tsmr_methods` (equal to TwoSampleMR 0.7.9 to ~1e-12, RAPS ~1e-7).

Bootstrap SEs are random: they agree with TwoSampleMR within Monte-Carlo error, not digit for
digit (R's RNG stream is not reproduced).  All bootstrap replicates are computed at once.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import fft as sfft
from scipy import special, stats

from .._checks import check_rng
from .._checks import InputError
from . import _tsmr_methods as _tm
from ._core import egger_fit, ivw_fit, prepare_harmonised

__all__ = ["mr", "METHODS", "DEFAULT_METHODS", "weighted_median", "mode_estimate"]

#: TwoSampleMR ``obj`` name -> method name as it appears in ``mr()`` output, in the order of
#: TwoSampleMR's ``mr_method_list()`` (all of its methods; ``mr_moe``, the "mixture of experts",
#: is not a ``mr()`` method and needs TwoSampleMR's trained random forests, so it is not offered).
METHODS = {
    "mr_wald_ratio": "Wald ratio",
    "mr_two_sample_ml": "Maximum likelihood",
    "mr_egger_regression": "MR Egger",
    "mr_egger_regression_bootstrap": "MR Egger (bootstrap)",
    "mr_simple_median": "Simple median",
    "mr_weighted_median": "Weighted median",
    "mr_penalised_weighted_median": "Penalised weighted median",
    "mr_ivw": "Inverse variance weighted",
    "mr_ivw_radial": "IVW radial",
    "mr_ivw_mre": "Inverse variance weighted (multiplicative random effects)",
    "mr_ivw_fe": "Inverse variance weighted (fixed effects)",
    "mr_simple_mode": "Simple mode",
    "mr_weighted_mode": "Weighted mode",
    "mr_weighted_mode_nome": "Weighted mode (NOME)",
    "mr_simple_mode_nome": "Simple mode (NOME)",
    "mr_raps": "Robust adjusted profile score (RAPS)",
    "mr_sign": "Sign concordance test",
    "mr_uwr": "Unweighted regression",
    "mr_grip": "MR GRIP",
}
#: the methods implemented in :mod:`radiogenomics.mr._tsmr_methods` (deterministic)
_EXTRA = {
    "mr_two_sample_ml": _tm.two_sample_ml,
    "mr_ivw_radial": _tm.ivw_radial,
    "mr_raps": _tm.raps,
    "mr_sign": _tm.sign_concordance,
    "mr_uwr": _tm.unweighted_regression,
    "mr_grip": _tm.grip,
}
#: TwoSampleMR's ``use_by_default`` methods, in its order.
DEFAULT_METHODS = ["mr_wald_ratio", "mr_egger_regression", "mr_weighted_median", "mr_ivw",
                   "mr_simple_mode", "mr_weighted_mode"]
PENK = 20


def _normal_p(z):
    return float(2 * stats.norm.sf(abs(z)))


# --------------------------------------------------------------------------------- medians
def weighted_median(r, w) -> np.ndarray:
    """TwoSampleMR's ``weighted_median`` along the last axis (works on stacked replicates).

    Sort ``r``; standardised cumulative weights ``p_k = (cumsum(w)_k - w_k / 2) / sum(w)``;
    with ``k`` the last index where ``p_k < 0.5`` return
    ``r_k + (r_{k+1} - r_k) (0.5 - p_k) / (p_{k+1} - p_k)``.
    """
    r = np.asarray(r, dtype=np.float64)
    w = np.broadcast_to(np.asarray(w, dtype=np.float64), r.shape)
    order = np.argsort(r, axis=-1, kind="stable")
    rs = np.take_along_axis(r, order, axis=-1)
    ws = np.take_along_axis(w, order, axis=-1)
    p = (np.cumsum(ws, axis=-1) - 0.5 * ws) / ws.sum(axis=-1, keepdims=True)
    below = (p < 0.5).sum(axis=-1, keepdims=True) - 1   # p is increasing
    below = np.clip(below, 0, r.shape[-1] - 2)
    r0 = np.take_along_axis(rs, below, -1)
    r1 = np.take_along_axis(rs, below + 1, -1)
    p0 = np.take_along_axis(p, below, -1)
    p1 = np.take_along_axis(p, below + 1, -1)
    out = r0 + (r1 - r0) * (0.5 - p0) / (p1 - p0)
    return out[..., 0]


def _median_boot_se(bx, by, sx, sy, w, nboot, rng):
    bxs = rng.normal(bx, sx, size=(nboot, bx.size))
    bys = rng.normal(by, sy, size=(nboot, by.size))
    return float(np.std(weighted_median(bys / bxs, w), ddof=1))


def _second_order_var(bx, by, sx, sy):
    return sy**2 / bx**2 + by**2 * sx**2 / bx**4


# ----------------------------------------------------------------------------------- modes
def _r_density_mode(x, w, bw):
    """Grid point maximising R's ``density(x, weights = w, bw = bw)`` (rows = replicates).

    Reproduces ``density.default``: ``from = min - 3 bw``, ``to = max + 3 bw``,
    ``lo = from - 4 bw``, ``up = to + 4 bw``; linear binning (``BinDist``) of the weights onto
    512 points of ``[lo, up]`` in a zero-padded vector of 1024, circular convolution with the
    Gaussian kernel by FFT, linear interpolation onto the 512-point ``[from, to]`` grid;
    the first maximiser is returned.
    """
    x = np.atleast_2d(x)
    w = np.broadcast_to(np.atleast_2d(w), x.shape)
    bw = np.asarray(bw, dtype=np.float64).reshape(-1, 1)
    m, n = x.shape[0], 512
    frm = x.min(axis=1, keepdims=True) - 3 * bw
    to = x.max(axis=1, keepdims=True) + 3 * bw
    lo = frm - 4 * bw
    up = to + 4 * bw
    # BinDist
    delta = (up - lo) / (n - 1)
    pos = (x - lo) / delta
    ix = np.floor(pos).astype(np.int64)
    fx = pos - ix
    # scatter-add with one bincount over flat (row, bin) indices (np.add.at is much slower)
    base = (np.arange(m) * (2 * n))[:, None]
    inside = (ix >= 0) & (ix <= n - 2)
    left = ix == -1
    right = ix == n - 1
    idx = np.concatenate([(base + ix)[inside], (base + ix + 1)[inside],
                          np.broadcast_to(base, x.shape)[left], (base + ix)[right]])
    val = np.concatenate([(w * (1 - fx))[inside], (w * fx)[inside], (w * fx)[left],
                          (w * (1 - fx))[right]])
    y = np.bincount(idx, weights=val, minlength=m * 2 * n).reshape(m, 2 * n)
    # kernel ordinates
    kords = np.arange(2 * n) * (2 * (up - lo) / (2 * n - 1))
    kords[:, n + 1:] = -kords[:, n - 1:0:-1]
    kern = np.exp(-0.5 * (kords / bw) ** 2) / (np.sqrt(2 * np.pi) * bw)
    # circular cross-correlation of real vectors: real FFTs, threaded (same values as R's
    # fft-based density up to rounding)
    conv = sfft.irfft(sfft.rfft(y, axis=1, workers=-1) * np.conj(sfft.rfft(kern, axis=1, workers=-1)),
                      n=2 * n, axis=1, workers=-1)
    dens = np.maximum(0.0, conv[:, :n])
    # approx(xords, dens, xgrid)
    k = np.arange(n)
    xgrid = frm + k * ((to - frm) / (n - 1))
    xgrid[:, -1] = to[:, 0]
    t = (xgrid - lo) / delta
    j = np.clip(np.floor(t).astype(np.int64), 0, n - 2)
    xj = lo + j * delta
    d0 = np.take_along_axis(dens, j, 1)
    d1 = np.take_along_axis(dens, j + 1, 1)
    yg = d0 + (d1 - d0) * (xgrid - xj) / delta
    best = np.argmax(yg, axis=1)
    return xgrid[np.arange(m), best]


def _mad(x, axis=-1):
    med = np.median(x, axis=axis, keepdims=True)
    return 1.4826 * np.median(np.abs(x - med), axis=axis)


def mode_estimate(r, se, phi: float = 1.0) -> np.ndarray:
    """Hartwig et al.'s mode-based estimate (TwoSampleMR ``mr_mode``'s inner ``beta``).

    ``r`` (replicates in rows allowed) and ``se``: weights ``se^-2 / sum(se^-2)``; bandwidth
    ``h = max(1e-8, phi * 0.9 min(sd(r), mad(r)) / n^(1/5))``.
    """
    r = np.atleast_2d(np.asarray(r, dtype=np.float64))
    se = np.broadcast_to(np.atleast_2d(np.asarray(se, dtype=np.float64)), r.shape)
    n = r.shape[1]
    s = 0.9 * np.minimum(np.std(r, axis=1, ddof=1), _mad(r, axis=1)) / n ** 0.2
    h = np.maximum(1e-8, s * phi)
    w = se**-2
    w = w / w.sum(axis=1, keepdims=True)
    return _r_density_mode(r, w, h)


class _Modes:
    """TwoSampleMR's ``mr_mode``: the five mode estimates share one set of bootstrap draws.

    The draws (``rb`` for the default SEs, ``rb_nome`` for NOME) are made once when the first
    mode is asked for; each estimate and its bootstrap is computed only when requested, so
    asking for one mode costs one bootstrap and gives the same value as asking for all five.
    R interleaves the two kinds of draws per replicate, and TwoSampleMR's ``mr()`` draws anew
    for each mode method; neither changes the distribution of the bootstrap SEs, so they agree
    with R's within Monte-Carlo error, not draw for draw.
    """

    def __init__(self, bx, by, sx, sy, nboot, rng, phi=1.0):
        self.n = bx.size
        self.r = by / bx
        self.se1 = np.sqrt(_second_order_var(bx, by, sx, sy))
        self.se2 = sy / np.abs(bx)
        self.phi = phi
        self.rb = rng.normal(self.r, self.se1, size=(nboot, self.n))
        self.rb_nome = rng.normal(self.r, self.se2, size=(nboot, self.n))
        self._est = {}
        self._boot = {}

    def _penalised(self, rr, wm):
        w = 1 / self.se1**2
        pen = special.erfc(np.sqrt(w * (rr - wm[:, None]) ** 2 / 2))  # = chi2(1).sf, faster
        return np.sqrt(1 / (w * np.minimum(1, pen * PENK)))

    def _estimate(self, key, r, boot):
        ones = np.ones(self.n)
        phi = self.phi
        store = self._boot if boot else self._est
        if key not in store:
            if key in ("Simple mode", "Simple mode (NOME)"):
                store[key] = mode_estimate(r, ones, phi)
            elif key == "Weighted mode":
                store[key] = mode_estimate(r, self.se1, phi)
            elif key == "Weighted mode (NOME)":
                store[key] = mode_estimate(r, self.se2, phi)
            else:  # Penalised mode: weights penalised around the weighted mode
                wm = self._estimate("Weighted mode", r, boot)
                store[key] = mode_estimate(r, self._penalised(r[None, :] if r.ndim == 1 else r, wm), phi)
        return store[key]

    def __getitem__(self, key):
        b = float(self._estimate(key, self.r, boot=False)[0])
        rb = self.rb_nome if key.endswith("(NOME)") else self.rb
        se = float(_mad(self._estimate(key, rb, boot=True)))
        return b, se, float(2 * stats.t.sf(abs(b / se), df=self.n - 1))


# ----------------------------------------------------------------------------------- Egger
def _egger_bootstrap(bx, by, sx, sy, nboot, rng):
    xs = rng.normal(bx, sx, size=(nboot, bx.size))
    ys = rng.normal(by, sy, size=(nboot, by.size))
    sgn = np.where(xs >= 0, 1.0, -1.0)
    ys, xs = ys * sgn, np.abs(xs)
    w = 1 / sy**2
    xp, yp = w * xs, w * ys
    xc = xp - xp.mean(axis=1, keepdims=True)
    yc = yp - yp.mean(axis=1, keepdims=True)
    slope = (xc * yc).sum(axis=1) / (xc * xc).sum(axis=1)
    b = float(slope.mean())
    return b, float(slope.std(ddof=1)), float(np.sum(np.sign(b) * slope < 0) / nboot)


# ------------------------------------------------------------------------------------- mr()
def _one(obj, bx, by, sx, sy, nboot, rng, cache, convention="TwoSampleMR"):
    """``(b, se, pval[, nsnp])`` of one method, or None where TwoSampleMR's function returns
    all-NA (too few SNPs, collinear MR-Egger), which ``mr()`` drops."""
    n = bx.size
    if obj in _EXTRA:
        full = _EXTRA[obj](bx, by, sx, sy)
        cache.setdefault("details", {})[obj] = full
        if all(np.isnan(full[k]) for k in ("b", "se", "pval")):
            return None
        return full["b"], full["se"], full["pval"], int(full["nsnp"])
    if obj == "mr_wald_ratio":
        if n != 1:
            return None
        b, se = by[0] / bx[0], sy[0] / abs(bx[0])
        return b, se, _normal_p(b / se)
    if obj in ("mr_ivw", "mr_ivw_mre", "mr_ivw_fe"):
        if n < 2:
            return None
        f = ivw_fit(bx, by, sy)
        se = {"mr_ivw": f.se, "mr_ivw_mre": f.se_fixed * f.sigma, "mr_ivw_fe": f.se_fixed}[obj]
        return f.b, se, _normal_p(f.b / se)
    if n < 3:
        return None
    if obj == "mr_egger_regression":
        if _tm.egger_collinear(bx, sy):
            warnings.warn("Collinearities in MR Egger (all |beta.exposure| equal): the slope is "
                          "not identified, so MR Egger is NA and left out, as in TwoSampleMR; "
                          "try LD pruning the exposure variables", UserWarning, stacklevel=3)
            return None
        f = egger_fit(bx, by, sy)
        if convention == "MendelianRandomization":   # mr_egger: normal p-value
            return f.b, f.se, _normal_p(f.b / f.se)
        return f.b, f.se, float(2 * stats.t.sf(abs(f.b / f.se), df=n - 2))
    if obj == "mr_egger_regression_bootstrap":
        return _egger_bootstrap(bx, by, sx, sy, nboot, rng)
    if obj in ("mr_simple_median", "mr_weighted_median", "mr_penalised_weighted_median"):
        r = by / bx
        if obj == "mr_simple_median":
            w = np.full(n, 1.0 / n)
        else:
            if convention == "MendelianRandomization":   # mr_median: first-order weights
                w = bx**2 / sy**2
            else:                                         # TwoSampleMR: second-order weights
                w = 1 / _second_order_var(bx, by, sx, sy)
            if obj == "mr_penalised_weighted_median":
                bwm = weighted_median(r, w)
                w = w * np.minimum(1, special.erfc(np.sqrt(w * (r - bwm) ** 2 / 2)) * PENK)
        b = float(weighted_median(r, w))
        se = _median_boot_se(bx, by, sx, sy, w, nboot, rng)
        return b, se, _normal_p(b / se)
    if obj in ("mr_simple_mode", "mr_weighted_mode", "mr_simple_mode_nome",
               "mr_weighted_mode_nome"):
        if "modes" not in cache:
            cache["modes"] = _Modes(bx, by, sx, sy, nboot, rng)
        return cache["modes"][METHODS[obj]]
    raise AssertionError(obj)


def mr(dat: pd.DataFrame, method_list=None, rng=None, nboot: int = 1000,
       backend: str = "native", convention: str = "TwoSampleMR") -> pd.DataFrame:
    """Run MR estimators on harmonised data (TwoSampleMR ``mr()``).

    Parameters
    ----------
    dat : DataFrame
        Output of :func:`radiogenomics.mr.harmonise.harmonise` (or any frame with
        ``beta.exposure, beta.outcome, se.exposure, se.outcome``, dotted or snake_case).  Only
        rows with ``mr_keep`` True are used (all rows if there is no ``mr_keep`` column).
        Estimates are computed per ``id.exposure`` x ``id.outcome`` pair.
    method_list : list of str, optional
        TwoSampleMR method objects (keys of :data:`METHODS`, e.g. ``"mr_ivw"``); default
        :data:`DEFAULT_METHODS` (Wald ratio, MR Egger, weighted median, IVW, simple and
        weighted mode).  Besides those and the other IVW / median / mode variants, TwoSampleMR's
        ``mr_two_sample_ml``, ``mr_raps``, ``mr_ivw_radial``, ``mr_sign``, ``mr_uwr`` and
        ``mr_grip`` are available (formulas in :mod:`radiogenomics.mr._tsmr_methods`).  Methods
        that need more SNPs than available (Wald ratio: exactly 1; IVW, ML, RAPS, radial IVW,
        unweighted regression: 2; Egger, GRIP, medians and modes: 3; sign test: 6 SNPs with
        non-zero effects) are left out, as TwoSampleMR drops all-NA rows; so is MR Egger when
        the exposure effects are collinear (all ``|bx|`` equal), with a warning.
    rng : None, int or numpy.random.Generator
        Source of the bootstrap draws (medians, modes, Egger bootstrap); the same seed gives the
        same SEs.
    nboot : int
        Bootstrap replicates (TwoSampleMR's default 1000).
    convention : {"TwoSampleMR", "MendelianRandomization"}
        Where the two R packages differ by design, follow TwoSampleMR (default) or
        MendelianRandomization: the latter weights the (penalised) weighted median with
        first-order weights ``bx^2 / sy^2`` instead of second-order ones, and gives MR-Egger a
        normal rather than t(n - 2) p-value.  Everything else is identical in both packages.
    backend : {"native", "TwoSampleMR"}
        ``"TwoSampleMR"`` runs ``TwoSampleMR::mr`` in R through rpy2
        (:mod:`radiogenomics.mr.rbridge`) and returns the same columns; if rpy2, R or the
        package is missing the error says which and how to install it (no silent fallback).

    Returns
    -------
    DataFrame
        Columns ``id.exposure, id.outcome, outcome, exposure, method, nsnp, b, se, pval``, one
        row per pair and method, in TwoSampleMR's order: pairs in order of first appearance in
        ``dat``, methods in ``method_list`` order.  See the module docstring for each method's
        formula and the p-value distribution used.  ``attrs["details"]`` maps
        ``(id.exposure, id.outcome, method_obj)`` to the full result of the deterministic
        methods of :mod:`radiogenomics.mr._tsmr_methods` (e.g. ML ``Q``/``converged``, RAPS
        ``tau2``/``over_dispersion``, GRIP ``b.adj``/``se.adj``/``pval.adj``, intercept ``b_i``).

    Notes
    -----
    Differences from TwoSampleMR that cannot be removed: bootstrap SEs (R's random stream);
    ``mr_ivw_radial`` with 2-3 SNPs, where RadialMR's unused bootstrap may crash in R (then
    TwoSampleMR drops the row, here it is kept, see :func:`._tsmr_methods.ivw_radial`).
    TwoSampleMR's "mixture of experts" (``mr_moe``) needs its trained random-forest objects,
    which are not available, and is not provided.
    """
    if backend == "TwoSampleMR":
        from .rbridge import run_twosamplemr_mr

        if convention != "TwoSampleMR":
            raise InputError("backend='TwoSampleMR' runs TwoSampleMR's own conventions; "
                             "convention='MendelianRandomization' needs backend='native'")
        # TwoSampleMR draws its bootstraps with R's RNG: rng and nboot do not apply there
        return run_twosamplemr_mr(prepare_harmonised(dat, mr_keep_only=False), method_list)
    if backend != "native":
        raise InputError(f"backend must be 'native' or 'TwoSampleMR', got {backend!r}")
    if convention not in ("TwoSampleMR", "MendelianRandomization"):
        raise InputError(f"convention must be 'TwoSampleMR' or 'MendelianRandomization', got {convention!r}")
    method_list = list(DEFAULT_METHODS if method_list is None else method_list)
    unknown = [m for m in method_list if m not in METHODS]
    if unknown:
        raise InputError(f"unknown MR method(s) {unknown}; choose from {sorted(METHODS)}")
    if nboot < 2:
        raise InputError(f"nboot must be at least 2, got {nboot}")
    rng = check_rng(rng)
    # pairs in order of first appearance in dat (TwoSampleMR: unique(id.exposure, id.outcome)),
    # counting rows with mr_keep False; a pair without usable SNPs gives no rows
    d = prepare_harmonised(dat, mr_keep_only=False)
    need = ["beta.exposure", "beta.outcome", "se.exposure", "se.outcome"]
    rows, details = [], {}
    for (ide, ido), g in d.groupby(["id.exposure", "id.outcome"], sort=False, dropna=False):
        g = g[g["mr_keep"].to_numpy(dtype=bool)]
        if len(g) == 0:
            continue
        bx, by, sx, sy = (g[c].to_numpy(dtype=np.float64) for c in need)
        cache: dict = {}
        for obj in method_list:
            res = _one(obj, bx, by, sx, sy, nboot, rng, cache, convention)
            if obj in cache.get("details", {}):
                details[(ide, ido, obj)] = cache["details"][obj]
            if res is None:
                continue
            rows.append({"id.exposure": ide, "id.outcome": ido, "outcome": g["outcome"].iloc[0],
                         "exposure": g["exposure"].iloc[0], "method": METHODS[obj],
                         "nsnp": int(res[3]) if len(res) > 3 else int(bx.size), "b": res[0],
                         "se": res[1], "pval": res[2]})
    cols = ["id.exposure", "id.outcome", "outcome", "exposure", "method", "nsnp", "b", "se", "pval"]
    out = pd.DataFrame(rows, columns=cols)
    out.attrs["details"] = details
    return out
