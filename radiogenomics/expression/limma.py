"""limma in Python: ``voom``, ``lmFit``, ``eBayes`` and ``topTable`` as limma 3.54.1 computes them.

Orientation follows the toolkit: samples in rows, genes in columns (R's objects are the
transpose).  The statistics:

* **voom** (Law, Chen, Shi & Smyth 2014, *Genome Biol* 15:R29): log2-CPM
  ``E = log2((count + 0.5) / (L + 1) * 1e6)`` with ``L`` the effective library size, an
  unweighted linear fit per gene, a lowess curve of ``sqrt(sigma)`` against the average
  log2 count, and precision weights ``w = 1 / f(fitted log2 count)^4`` from that curve.
* **lm_fit**: gene-wise (weighted) least squares ``E_g = X beta_g + e``,
  ``Var(e_gi) = sigma_g^2 / w_gi``; unscaled standard errors ``sqrt(diag((X'W_gX)^-1))``.
* **ebayes** (Smyth 2004, *Stat Appl Genet Mol Biol* 3:3): the residual variances are
  squeezed towards a scaled-F prior (:func:`squeeze_var`; ``trend`` lets the prior follow
  average expression, ``robust`` uses Phipson et al. 2016), moderated
  ``t = beta / (u s~)`` on ``d0 + d`` df (capped at the pooled residual df) and the B statistic
  (log-odds of differential expression) from a normal mixture on the coefficients.
* **top_table**: one coefficient's table with Benjamini-Hochberg adjusted p-values.

Differences from R are at rounding level (about 1e-9 relative or better: see the tests),
except where a function's notes say otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from .._checks import InputError, align_samples, as_matrix, listing
from ._fdist import (SqueezeResult, clowess, fit_f_dist, fit_f_dist_robustly, squeeze_var,
                     trigamma_inverse)

__all__ = ["VoomResult", "LinearFit", "ModeratedFit", "SqueezeResult", "voom", "lm_fit",
           "ebayes", "top_table", "squeeze_var", "fit_f_dist", "fit_f_dist_robustly",
           "p_adjust", "trigamma_inverse", "clowess"]


# --------------------------------------------------------------------------- containers
@dataclass(repr=False)
class VoomResult:
    """voom's output (limma's ``EList``), samples x genes.

    Attributes
    ----------
    E : DataFrame
        log2-CPM, ``log2((count + 0.5) / (lib_size + 1) * 1e6)``.
    weights : DataFrame
        Precision weights.
    lib_size : Series
        Effective library sizes used (library size x normalisation factor).
    design : ndarray
        The design matrix used for the trend.
    trend_x, trend_y : ndarray
        The lowess curve (sorted average log2 count, fitted ``sqrt(sigma)``).
    span : float
        Lowess span.
    """

    E: pd.DataFrame
    weights: pd.DataFrame
    lib_size: pd.Series
    design: np.ndarray
    trend_x: np.ndarray
    trend_y: np.ndarray
    span: float

    def __repr__(self) -> str:
        return f"VoomResult({self.E.shape[0]} samples x {self.E.shape[1]} genes, span={self.span})"


@dataclass(repr=False)
class LinearFit:
    """Gene-wise linear model fits (limma's ``MArrayLM`` after ``lmFit``).

    Attributes
    ----------
    coefficients, stdev_unscaled : DataFrame
        Genes x coefficients: estimates and ``sqrt(diag((X'WX)^-1))``.
    sigma : Series
        Residual standard deviation per gene (NaN with no residual df).
    df_residual : ndarray
        Residual df per gene (fewer where observations are missing).
    amean : Series
        Average of ``E`` per gene over the non-missing values (limma's ``Amean``).
    design : ndarray
    coef_names : list of str
    genes : Index
    """

    coefficients: pd.DataFrame
    stdev_unscaled: pd.DataFrame
    sigma: pd.Series
    df_residual: np.ndarray
    amean: pd.Series
    design: np.ndarray
    coef_names: list
    genes: pd.Index

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({len(self.genes)} genes, coefficients "
                f"{listing(self.coef_names, 6)})")


@dataclass(repr=False)
class ModeratedFit(LinearFit):
    """A :class:`LinearFit` with limma's empirical-Bayes statistics (``eBayes`` output).

    Extra attributes
    ----------------
    s2_prior : float or Series
        Prior variance ``s0^2`` (per gene with ``trend``).
    df_prior : float or Series
        Prior df ``d0`` (per gene with ``robust``; may be ``inf``).
    s2_post : Series
        Posterior variances.
    t, p_value, lods : DataFrame
        Moderated t, two-sided p-values and B statistics (genes x coefficients).
    df_total : ndarray
        ``min(d + d0, pooled residual df)`` per gene.
    var_prior : ndarray
        Prior variance of the non-zero coefficients (for ``lods``), per coefficient.
    proportion : float
    """

    s2_prior: float | pd.Series = 0.0
    df_prior: float | pd.Series = 0.0
    s2_post: pd.Series = None
    t: pd.DataFrame = None
    p_value: pd.DataFrame = None
    df_total: np.ndarray = None
    lods: pd.DataFrame = None
    var_prior: np.ndarray = None
    proportion: float = 0.01
    trend: bool = False
    robust: bool = False
    extra: dict = field(default_factory=dict)

    def top_table(self, coef=None, number=None, adjust_method="BH", sort_by="B") -> pd.DataFrame:
        """See :func:`top_table`."""
        return top_table(self, coef, number=number, adjust_method=adjust_method, sort_by=sort_by)


# --------------------------------------------------------------------------- input checks
def _expression(E, what):
    """Float (n, G) array, sample index (or None) and gene names; NaN allowed, inf not."""
    arr, index, names = as_matrix(E, what, allow_nan=True)
    if isinstance(E, np.ndarray) or index is None:
        names = np.array([f"gene{j + 1}" for j in range(arr.shape[1])], dtype=object)
    return arr, index, pd.Index(names.astype(str))


def _design(design, n, E_frame, *, what="design"):
    """Validated full-rank design (n, k), its column names, aligned to ``E_frame``'s rows."""
    if design is None:
        return np.ones((n, 1)), ["GrandMean"]
    if isinstance(design, pd.DataFrame) and isinstance(E_frame, pd.DataFrame):
        design = align_samples({"expression": E_frame, what: design},
                               fix="give the design one row per sample, indexed like the "
                                   "expression rows")[what]
    X, _, names = as_matrix(design, what, nan_fix="a design matrix cannot hold missing values")
    if X.shape[0] != n:
        raise InputError(f"{what} has {X.shape[0]} rows but the data have {n} samples; give the "
                         "design one row per sample, in the same order")
    names = [str(c) for c in names] if isinstance(design, pd.DataFrame) else \
        [f"x{j + 1}" for j in range(X.shape[1])]
    k = X.shape[1]
    if n <= k:
        raise InputError(f"{what} has {k} columns for {n} samples: no residual degrees of "
                         "freedom to estimate the variance; use fewer covariates or more samples")
    _check_rank(X, names, what)
    return X, names


def _check_rank(X, names, what):
    from scipy.linalg import qr
    _, R, piv = qr(X, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    rank = int(np.sum(d > 1e-7 * d[0])) if d.size and d[0] > 0 else 0
    if rank < X.shape[1]:
        bad = [names[j] for j in piv[rank:]]
        raise InputError(
            f"{what} is rank deficient (rank {rank} of {X.shape[1]} columns): coefficient(s) "
            f"{listing(bad)} cannot be estimated (a column is constant-zero or a combination of "
            "others, e.g. a centre level with no samples or a covariate copied); drop those "
            "columns")


# --------------------------------------------------------------------------- linear fits
def _fit_unweighted(X, Y):
    """QR least squares for all genes at once; Y (n, G) without NaN."""
    Q, R = np.linalg.qr(X)
    QtY = Q.T @ Y
    coef = np.linalg.solve(R, QtY).T
    resid = Y - Q @ QtY
    n, k = X.shape
    sigma = np.sqrt(np.einsum("ij,ij->j", resid, resid) / (n - k))
    Rinv = np.linalg.inv(R)
    su = np.sqrt(np.sum(Rinv * Rinv, axis=1))
    G = Y.shape[1]
    return coef, np.broadcast_to(su, (G, k)).copy(), sigma, np.full(G, n - k, dtype=np.float64)


def _fit_weighted(X, Y, W, genes):
    """Per-gene weighted least squares by batched QR of ``sqrt(w) X``; zero weight (or NaN in
    Y) drops an observation from that gene's fit, as limma does."""
    n, k = X.shape
    G = Y.shape[1]
    coef = np.full((G, k), np.nan)
    su = np.full((G, k), np.nan)
    sigma = np.full(G, np.nan)
    dfr = np.zeros(G)
    obs = np.isfinite(Y) & (W > 0)
    Y0 = np.where(obs, Y, 0.0)
    sw = np.sqrt(np.where(obs, W, 0.0))
    colnorm = np.sqrt(np.einsum("ij,ij->j", X, X))
    bad = []
    step = max(1, int(4e6 // (n * k)))
    for s in range(0, G, step):
        sl = slice(s, min(G, s + step))
        Xw = sw[:, sl].T[:, :, None] * X[None, :, :]          # (g, n, k)
        yw = (sw[:, sl] * Y0[:, sl]).T                          # (g, n)
        Q, R = np.linalg.qr(Xw)
        diag = np.abs(np.diagonal(R, axis1=1, axis2=2))
        # a coefficient is estimable when its column keeps > 1e-7 of its weighted norm
        wnorm = np.sqrt(np.einsum("gnk,gnk->gk", Xw, Xw))
        full = np.all(diag > 1e-7 * np.maximum(wnorm, 1e-300 * colnorm), axis=1)
        idx = np.arange(sl.start, sl.stop)
        bad.extend(idx[~full])
        if not full.any():
            continue
        Q, R, yw, ig = Q[full], R[full], yw[full], idx[full]
        Qty = np.einsum("gnk,gn->gk", Q, yw)
        coef[ig] = np.linalg.solve(R, Qty[:, :, None])[:, :, 0]
        resid = yw - np.einsum("gnk,gk->gn", Q, Qty)
        d = obs[:, ig].sum(axis=0) - k
        dfr[ig] = d
        with np.errstate(invalid="ignore", divide="ignore"):
            rss = np.einsum("gn,gn->g", resid, resid)
            sigma[ig] = np.where(d > 0, np.sqrt(rss / np.maximum(d, 1)), np.nan)
        Rinv = np.linalg.inv(R)
        su[ig] = np.sqrt(np.sum(Rinv * Rinv, axis=2))
    if bad:
        raise InputError(
            f"{len(bad)} gene(s) ({listing(genes[np.asarray(bad)])}) have too few non-missing, "
            "positively weighted samples to estimate every coefficient of the design (limma "
            "would report partly missing coefficients); drop these genes, or impute their "
            "missing values")
    return coef, su, sigma, dfr


def lm_fit(E, design, *, weights=None) -> LinearFit:
    """Gene-wise linear models (limma's ``lmFit`` with ``method = "ls"``).

    For each gene ``E_g = X beta_g + e_g`` with ``Var(e_gi) = sigma_g^2 / w_gi``, fitted by
    (weighted) least squares; ``stdev_unscaled = sqrt(diag((X' W_g X)^-1))`` and
    ``sigma_g^2 = sum_i w_gi r_gi^2 / (n_g - k)``.  Without weights or missing values all genes
    share one QR decomposition; otherwise the decompositions are batched over genes.

    Parameters
    ----------
    E : DataFrame, ndarray or VoomResult
        Samples x genes log expression (a :class:`VoomResult` brings its weights).  NaN marks a missing value: that
        observation is left out of the gene's fit, reducing its residual df, as in limma.
    design : DataFrame or ndarray
        Samples x coefficients, full column rank with more rows than columns.  A DataFrame's
        columns name the coefficients; with DataFrames on both sides rows are matched by
        sample ID.
    weights : DataFrame or ndarray, optional
        Samples x genes precision weights (e.g. ``voom(...).weights``), or one weight per
        sample.  Zero weights drop the observation (limma treats ``w <= 0`` as missing);
        negative or non-finite weights are refused.

    Returns
    -------
    LinearFit

    Raises
    ------
    InputError
        Rank-deficient design, no residual df (``n <= k``), rows that do not match, infinite
        values, bad weights, or genes whose non-missing samples cannot estimate every
        coefficient (limma gives partly NA coefficients for those; here they are named so
        they can be dropped).
    """
    if isinstance(E, VoomResult):      # lmFit(v, design): voom's E with its weights
        E, weights = E.E, (E.weights if weights is None else weights)
    Y, index, genes = _expression(E, "expression")
    n, G = Y.shape
    X, names = _design(design, n, E if isinstance(E, pd.DataFrame) else None)
    W = _weights(weights, Y, E, genes)
    amean = _row_means(Y)
    if W is None and np.isfinite(Y).all():
        coef, su, sigma, dfr = _fit_unweighted(X, Y)
    else:
        coef, su, sigma, dfr = _fit_weighted(X, Y, np.ones_like(Y) if W is None else W, genes)
    return LinearFit(coefficients=pd.DataFrame(coef, index=genes, columns=names),
                     stdev_unscaled=pd.DataFrame(su, index=genes, columns=names),
                     sigma=pd.Series(sigma, index=genes, name="sigma"), df_residual=dfr,
                     amean=pd.Series(amean, index=genes, name="AveExpr"), design=X,
                     coef_names=list(names), genes=genes)


def _row_means(Y):
    cnt = np.isfinite(Y).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.isfinite(Y), Y, 0.0).sum(axis=0) / cnt


def _weights(weights, Y, E, genes):
    if weights is None:
        return None
    if isinstance(weights, pd.DataFrame) and isinstance(E, pd.DataFrame):
        weights = align_samples({"expression": E, "weights": weights},
                                fix="give weights the same samples as the expression")["weights"]
        wcols = pd.Index(weights.columns.astype(str))
        if not wcols.equals(genes):
            if set(wcols) != set(genes) or wcols.duplicated().any():
                raise InputError(
                    f"weights have different genes from the expression "
                    f"({listing(wcols.difference(genes), 5)} only in weights, "
                    f"{listing(genes.difference(wcols), 5)} only in the expression); give "
                    "weights the same gene columns")
            weights = weights.set_axis(wcols, axis=1)[genes]
    W = np.asarray(weights, dtype=np.float64)
    if W.ndim == 1 and W.size == Y.shape[0]:
        W = np.repeat(W[:, None], Y.shape[1], axis=1)
    if W.shape != Y.shape:
        raise InputError(f"weights have shape {W.shape} but the expression is {Y.shape} "
                         "(samples x genes); pass one weight per value or one per sample")
    if not np.isfinite(W).all() or (W < 0).any():
        nbad = int((~np.isfinite(W) | (W < 0)).sum())
        raise InputError(f"weights hold {nbad} negative, NaN or infinite value(s); precision "
                         "weights must be finite and >= 0 (0 leaves an observation out)")
    return W


# --------------------------------------------------------------------------- voom
def voom(counts, design=None, *, lib_size=None, norm_factors=None, span=0.5) -> VoomResult:
    """Mean-variance modelling at the observation level (limma's ``voom``; Law et al. 2014).

    ``E = log2((count + 0.5) / (L + 1) * 1e6)`` with effective library sizes
    ``L = lib_size * norm_factors``; an unweighted :func:`lm_fit` of ``E`` on ``design`` gives
    ``sigma_g`` and the average ``Abar_g``; R's ``lowess(sx, sy, f = span)`` (Cleveland 1979,
    reimplemented exactly) of ``sy = sqrt(sigma_g)`` on
    ``sx = Abar_g + mean(log2(L + 1)) - log2(1e6)`` (all-zero genes left out) is turned into a
    piecewise-linear function ``f`` (constant beyond the ends, ``approxfun(rule = 2)``); the
    weight of each observation is ``f(log2 fitted count)^-4``, with fitted count
    ``2^(X beta_g) (L + 1) / 1e6``.

    Parameters
    ----------
    counts : DataFrame or ndarray
        Samples x genes non-negative counts (at least two genes).
    design : DataFrame or ndarray, optional
        Samples x coefficients; default intercept only.
    lib_size : array_like or Series, optional
        Library sizes (default: each sample's total count, the row sums).
    norm_factors : array_like or Series, optional
        Normalisation factors (default 1), e.g. TMM factors.
    span : float
        Lowess span.

    Returns
    -------
    VoomResult

    Notes
    -----
    Matches limma 3.54.1's ``voom(counts, design, lib.size = lib_size * norm_factors)`` to
    ~1e-9 relative.  limma's fallback to unit weights when no gene has residual df cannot
    occur here because a design without residual df is refused.
    """
    C, index, genes = _expression(counts, "counts")
    n, G = C.shape
    if np.isnan(C).any():
        bad = np.isnan(C).any(axis=0)
        raise InputError(f"counts have NaN in {int(bad.sum())} gene(s) ({listing(genes[bad])}); "
                         "voom needs complete counts: drop those genes or replace NaN by counts")
    if (C < 0).any():
        bad = (C < 0).any(axis=0)
        raise InputError(f"counts are negative in {int(bad.sum())} gene(s) "
                         f"({listing(genes[bad])}); voom needs raw counts (>= 0), not log values")
    if G < 2:
        raise InputError("voom needs at least two genes to fit a mean-variance trend")
    if not (0 < span <= 1):
        raise InputError(f"span must be in (0, 1], got {span}")
    frame = counts if isinstance(counts, pd.DataFrame) else None
    X, names = _design(design, n, frame)
    lib = _per_sample(lib_size, C.sum(axis=1), frame, n, "lib_size")
    nf = _per_sample(norm_factors, np.ones(n), frame, n, "norm_factors")
    lib = lib * nf
    y = np.log2((C + 0.5) / (lib + 1.0)[:, None] * 1e6)
    coef, _, sigma, _ = _fit_unweighted(X, y)
    amean = y.mean(axis=0)
    sx = amean + np.mean(np.log2(lib + 1.0)) - np.log2(1e6)
    sy = np.sqrt(sigma)
    keep = C.sum(axis=0) != 0
    lx, ly = clowess(sx[keep], sy[keep], f=span)
    ux, inv = np.unique(lx, return_inverse=True)          # approxfun's ties = mean
    uy = np.bincount(inv, weights=ly) / np.bincount(inv)
    fitted_count = 1e-6 * (2.0 ** (X @ coef.T)) * (lib + 1.0)[:, None]
    w = 1.0 / np.interp(np.log2(fitted_count), ux, uy) ** 4
    rows = index if index is not None else pd.Index([f"sample{i + 1}" for i in range(n)])
    return VoomResult(E=pd.DataFrame(y, index=rows, columns=genes),
                      weights=pd.DataFrame(w, index=rows, columns=genes),
                      lib_size=pd.Series(lib, index=rows, name="lib_size"), design=X,
                      trend_x=lx, trend_y=ly, span=float(span))


def _per_sample(value, default, frame, n, what):
    if value is None:
        return np.asarray(default, dtype=np.float64)
    if isinstance(value, pd.Series) and frame is not None:
        value = align_samples({"counts": frame, what: value},
                              fix=f"give {what} one value per sample, indexed by sample ID")[what]
    v = np.asarray(value, dtype=np.float64).ravel()
    if v.size != n:
        raise InputError(f"{what} has {v.size} values for {n} samples; pass one per sample")
    if not np.isfinite(v).all() or (v <= 0).any():
        raise InputError(f"{what} must be finite and positive for every sample; got "
                         f"{int((~np.isfinite(v) | (v <= 0)).sum())} bad value(s)")
    return v


# --------------------------------------------------------------------------- eBayes
def _t_sf(t, df):
    """P(T > t) for Student's t; R's normal approximation for df > 4e5 is used there too."""
    t = np.asarray(t, dtype=np.float64)
    df = np.broadcast_to(np.asarray(df, dtype=np.float64), t.shape)
    big = df > 4e5
    out = special.stdtr(np.where(big, 1.0, df), -t)
    if big.any():
        v = 1.0 / (4.0 * df[big])
        tb = t[big]
        out[big] = special.ndtr(-tb * (1.0 - v) / np.sqrt(1.0 + tb * tb * 2.0 * v))
    return out


def _t_isf_log(logp, df):
    """x with log P(T > x) = logp (R's ``qt(logp, df, lower.tail = FALSE, log.p = TRUE)``)."""
    p = np.exp(logp)
    return -special.stdtrit(df, p)


def _t_logsf(t, df):
    return np.log(_t_sf(t, df))


def _tmixture(tstat, su, df, proportion, lim):
    """Prior variance of a coefficient among the non-null genes (limma's ``tmixture.vector``):
    the top ``proportion / 2`` of |t| are matched to the quantiles they would have under the
    mixture."""
    keep = ~np.isnan(tstat)
    tstat, su, df = np.abs(tstat[keep]), su[keep], np.broadcast_to(df, keep.shape)[keep]
    G = tstat.size
    ntarget = math.ceil(proportion / 2 * G)
    if ntarget < 1:
        return np.nan
    p = max(ntarget / G, proportion)
    maxdf = df.max()
    low = df < maxdf
    if low.any():   # put every t on the largest df, keeping its tail probability
        tstat = tstat.copy()
        tstat[low] = _t_isf_log(_t_logsf(tstat[low], df[low]), maxdf)
    o = np.argsort(-tstat, kind="stable")[:ntarget]
    tt, v1 = tstat[o], su[o] ** 2
    r = np.arange(1, ntarget + 1)
    p0 = 2.0 * _t_sf(tt, maxdf)
    ptarget = ((r - 0.5) / G - (1.0 - p) * p0) / p
    v0 = np.zeros(ntarget)
    pos = ptarget > p0
    if pos.any():
        qtarget = -special.stdtrit(maxdf, ptarget[pos] / 2.0)
        v0[pos] = v1[pos] * ((tt[pos] / qtarget) ** 2 - 1.0)
    if lim is not None:
        v0 = np.clip(v0, lim[0], lim[1])
    return float(v0.mean())


def _lods(t, su, df_total, df_prior, var_prior, proportion):
    """B statistic: log posterior odds that a coefficient is non-zero (Smyth 2004, eq. 10)."""
    r = (su ** 2 + var_prior[None, :]) / su ** 2
    t2 = t ** 2
    dft = df_total[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        kernel = (1.0 + dft) / 2.0 * np.log((t2 + dft) / (t2 / r + dft))
        inf = np.broadcast_to(np.asarray(df_prior, dtype=np.float64) > 1e6, df_total.shape)
        if inf.any():
            kernel[inf] = (t2 * (1.0 - 1.0 / r) / 2.0)[inf]
    return np.log(proportion / (1.0 - proportion)) - np.log(r) / 2.0 + kernel


def ebayes(fit: LinearFit, *, proportion=0.01, stdev_coef_lim=(0.1, 4.0), trend=False,
           robust=False, winsor_tail_p=(0.05, 0.1)) -> ModeratedFit:
    """Empirical-Bayes moderated statistics (limma's ``eBayes``; Smyth 2004).

    ``s~_g^2 = (d0 s0^2 + d_g s_g^2) / (d0 + d_g)`` from :func:`squeeze_var`;
    ``t_gj = beta_gj / (u_gj s~_g)`` on ``df_total = min(d0 + d_g, sum_g d_g)`` df; p-values
    two-sided.  The B statistic assumes a fraction ``proportion`` of genes with
    ``beta_gj ~ N(0, v0_j sigma_g^2)``; ``v0_j`` is estimated from the largest |t| and clipped to
    ``stdev_coef_lim^2 / median(s0^2)``.

    Parameters
    ----------
    fit : LinearFit
        From :func:`lm_fit`.
    proportion : float
        Assumed proportion of genes with a non-zero coefficient (for ``lods`` only).
    stdev_coef_lim : (float, float)
        Limits on the prior standard deviation of non-zero log fold changes.
    trend : bool or array_like
        ``True``: the prior variance follows ``fit.amean`` (limma-trend); an array gives the
        covariate directly.
    robust : bool
        Robust prior (outlier genes get smaller prior df; Phipson et al. 2016).
    winsor_tail_p : (float, float)
        Winsorisation tails for ``robust``.

    Returns
    -------
    ModeratedFit

    Notes
    -----
    limma's moderated F statistic (``F``, ``F.p.value``) is not computed.
    """
    if not isinstance(fit, LinearFit):
        raise InputError(f"ebayes needs the LinearFit from lm_fit, got {type(fit).__name__}")
    if not 0 < proportion < 1:
        raise InputError(f"proportion must be in (0, 1), got {proportion}")
    dfr = np.asarray(fit.df_residual, dtype=np.float64)
    sigma = fit.sigma.to_numpy(dtype=np.float64)
    if dfr.max() == 0:
        raise InputError("no residual degrees of freedom in the linear model fits")
    if not np.isfinite(sigma).any():
        raise InputError("no finite residual standard deviations in the fit")
    cov = None
    if isinstance(trend, (bool, np.bool_)):
        cov = fit.amean.to_numpy(dtype=np.float64) if trend else None
    else:
        cov = np.asarray(trend, dtype=np.float64).ravel()
        if cov.size != sigma.size:
            raise InputError(f"trend has {cov.size} values for {sigma.size} genes; pass True/False "
                             "or one covariate value per gene")
    sq = squeeze_var(sigma ** 2, dfr, covariate=cov, robust=robust, winsor_tail_p=winsor_tail_p)
    coef = fit.coefficients.to_numpy(dtype=np.float64)
    su = fit.stdev_unscaled.to_numpy(dtype=np.float64)
    t = coef / su / np.sqrt(sq.var_post)[:, None]
    df_total = np.minimum(dfr + sq.df_prior, np.nansum(dfr))
    pval = 2.0 * _t_sf(np.abs(t), df_total[:, None])
    lim = np.asarray(stdev_coef_lim, dtype=np.float64) ** 2 / np.median(sq.var_prior)
    var_prior = np.array([_tmixture(t[:, j], su[:, j], df_total, proportion, lim)
                          for j in range(t.shape[1])])
    if np.isnan(var_prior).any():
        import warnings
        warnings.warn("Estimation of var.prior failed - set to default value", RuntimeWarning,
                      stacklevel=2)
        var_prior[np.isnan(var_prior)] = 1.0 / np.atleast_1d(sq.var_prior)[0]
    lods = _lods(t, su, df_total, sq.df_prior, var_prior, proportion)
    genes, names = fit.genes, fit.coef_names

    def frame(a):
        return pd.DataFrame(a, index=genes, columns=names)

    def vec(v, name):
        return float(v) if np.ndim(v) == 0 else pd.Series(v, index=genes, name=name)

    return ModeratedFit(
        coefficients=fit.coefficients, stdev_unscaled=fit.stdev_unscaled, sigma=fit.sigma,
        df_residual=fit.df_residual, amean=fit.amean, design=fit.design,
        coef_names=fit.coef_names, genes=fit.genes,
        s2_prior=vec(sq.var_prior, "s2_prior"), df_prior=vec(sq.df_prior, "df_prior"),
        s2_post=pd.Series(sq.var_post, index=genes, name="s2_post"), t=frame(t),
        p_value=frame(pval), df_total=df_total, lods=frame(lods), var_prior=var_prior,
        proportion=proportion, trend=cov is not None, robust=bool(robust))


# --------------------------------------------------------------------------- topTable
def p_adjust(p, method="BH"):
    """Adjusted p-values as R's ``p.adjust`` (NaN kept in place and not counted).

    ``"BH"``/``"fdr"`` (Benjamini & Hochberg 1995), ``"BY"`` (Benjamini & Yekutieli 2001),
    ``"holm"``, ``"bonferroni"`` or ``"none"``.
    """
    p = np.asarray(p, dtype=np.float64)
    out = p.copy()
    ok = ~np.isnan(p)
    q = p[ok]
    m = q.size
    if method in ("none",) or m <= 1:
        return out
    if method == "bonferroni":
        out[ok] = np.minimum(1.0, m * q)
    elif method == "holm":
        o = np.argsort(q, kind="stable")
        adj = np.maximum.accumulate((m - np.arange(m)) * q[o])
        out_ok = np.empty(m)
        out_ok[o] = np.minimum(1.0, adj)
        out[ok] = out_ok
    elif method in ("BH", "fdr", "BY"):
        o = np.argsort(-q, kind="stable")
        i = np.arange(m, 0, -1)
        c = np.sum(1.0 / np.arange(1, m + 1)) if method == "BY" else 1.0
        adj = np.minimum(1.0, np.minimum.accumulate(c * m / i * q[o]))
        out_ok = np.empty(m)
        out_ok[o] = adj
        out[ok] = out_ok
    else:
        raise InputError(f"adjust_method must be 'BH', 'fdr', 'BY', 'holm', 'bonferroni' or "
                         f"'none', got {method!r}")
    return out


_SORT = {"b": "B", "p": "P.Value", "t": "t", "logfc": "logFC", "aveexpr": "AveExpr",
         "none": None}


def top_table(fit: ModeratedFit, coef=None, *, number=None, adjust_method="BH",
              sort_by="B") -> pd.DataFrame:
    """limma's ``topTable`` for one coefficient.

    Columns ``logFC`` (the coefficient), ``AveExpr``, ``t``, ``P.Value``, ``adj.P.Val``
    (:func:`p_adjust` over all genes) and ``B``; index gene IDs.

    Parameters
    ----------
    fit : ModeratedFit
    coef : str or int, optional
        Coefficient name or 0-based position; default the only coefficient, or the only
        non-intercept one.
    number : int, optional
        Rows to return (default all genes).
    adjust_method : str
        See :func:`p_adjust`.
    sort_by : {"B", "p", "t", "logFC", "AveExpr", "none"}
        ``"B"``, ``"t"``, ``"logFC"``: decreasing (absolute value for ``t`` and ``logFC``);
        ``"p"``: increasing; ties keep gene order (R's ``order``).
    """
    if not isinstance(fit, ModeratedFit):
        raise InputError(f"top_table needs the ModeratedFit from ebayes, got {type(fit).__name__}")
    j = _coef_index(fit, coef)
    key = str(sort_by).lower()
    if key not in _SORT:
        raise InputError(f"sort_by must be one of 'B', 'p', 't', 'logFC', 'AveExpr', 'none'; got "
                         f"{sort_by!r}")
    name = fit.coef_names[j]
    tab = pd.DataFrame({"logFC": fit.coefficients[name].to_numpy(),
                        "AveExpr": fit.amean.to_numpy(), "t": fit.t[name].to_numpy(),
                        "P.Value": fit.p_value[name].to_numpy()}, index=fit.genes)
    tab["adj.P.Val"] = p_adjust(tab["P.Value"].to_numpy(), adjust_method)
    tab["B"] = fit.lods[name].to_numpy()
    col = _SORT[key]
    if col is not None:
        v = tab[col].to_numpy()
        if col in ("t", "logFC"):
            v = np.abs(v)
        order = np.argsort(v if col == "P.Value" else -v, kind="stable")
        # NaN last, as R's order
        order = np.concatenate([order[~np.isnan(v[order])], order[np.isnan(v[order])]])
        tab = tab.iloc[order]
    if number is not None:
        if int(number) < 0:
            raise InputError(f"number must be >= 0 or None, got {number}")
        tab = tab.iloc[:int(number)]
    return tab


def _coef_index(fit, coef):
    names = fit.coef_names
    if coef is None:
        cand = [i for i, c in enumerate(names) if c not in ("(Intercept)", "Intercept", "GrandMean")]
        if len(names) == 1:
            return 0
        if len(cand) == 1:
            return cand[0]
        raise InputError(f"the fit has {len(names)} coefficients ({listing(names)}); choose one "
                         "with coef= (name or position)")
    if isinstance(coef, (int, np.integer)) and not isinstance(coef, bool):
        if not -len(names) <= coef < len(names):
            raise InputError(f"coef={coef} is out of range for {len(names)} coefficients "
                             f"({listing(names)})")
        return int(coef) % len(names)
    if str(coef) not in names:
        raise InputError(f"coef {coef!r} is not a coefficient of the fit; choose one of "
                         f"{listing(names)}")
    return names.index(str(coef))
