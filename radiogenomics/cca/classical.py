r"""Classical and ridge-regularised canonical correlation analysis, with Wilks/Bartlett tests.

Classical CCA (:class:`CCA`)
----------------------------
For centred blocks ``Xc`` (n x p) and ``Yc`` (n x q) with covariances ``Sxx = Xc'Xc / (n-1)``,
``Syy``, ``Sxy = Xc'Yc / (n-1)``, the k-th canonical pair maximises ``a' Sxy b`` subject to
``a' Sxx a = b' Syy b = 1`` and to being uncorrelated with the earlier pairs.  The maximum is the
k-th canonical correlation ``r_k``.  It is computed without forming or inverting a covariance
matrix (Bjorck & Golub 1973, with SVDs in place of QR): with thin SVDs ``Xc = Ux Dx Vx'`` and
``Yc = Uy Dy Vy'``,

    Ux' Uy = P diag(r) Q',    a = sqrt(n-1) Vx Dx^-1 P,    b = sqrt(n-1) Vy Dy^-1 Q,

so the ``r_k`` are the cosines of the principal angles between the column spaces of ``Xc`` and
``Yc``, accurate even for ill-conditioned blocks.  The weights are normalised as in the R package
**CCA** (``CCA::cc``, version 1.2.2): the canonical variates ``Xc a_k`` have unit variance with
the ``n - 1`` denominator, ``var(Xc A) = I``.  R's ``stats::cancor`` returns the same correlations
and weights divided by ``sqrt(n-1)`` (unit sum of squares).

Ridge CCA (:class:`RegularizedCCA`)
-----------------------------------
``CCA::rcc(X, Y, lambda1, lambda2)`` adds ``lambda`` to the covariance diagonals:

    maximise a' Sxy b   subject to   a'(Sxx + lambda_x I) a = 1,   b'(Syy + lambda_y I) b = 1,

and reports the regularised criterion ``a' Sxy b`` as its canonical correlation (``rcc$cor``),
with ``A'(Sxx + lambda_x I) A = I``.  Because ``Sxx + lambda I = Vx (Dx^2/(n-1) + lambda) Vx' +
lambda (I - Vx Vx')`` and ``Sxy`` only sees the row space of ``Xc``, the optimal weights lie in
that row space when ``lambda > 0``; with ``f_x = Dx / sqrt(Dx^2 + (n-1) lambda_x)``,

    diag(f_x) Ux' Uy diag(f_y) = P diag(r) Q',
    a = sqrt(n-1) Vx diag(1 / sqrt(Dx^2 + (n-1) lambda_x)) P,

an r x r problem (``r <= n - 1``), so 20,000 genes on 60 samples cost one thin SVD per block.
With ``lambda = 0`` this is the classical formula above.

Leave-one-out choice of the penalties follows ``CCA::loo`` / ``CCA::estim.regul``; see
:meth:`RegularizedCCA.select_penalties` for the exact rule and for why R's leave-one-out score
depends on arbitrary signs (``method="r"`` reproduces it, the default ``method="aligned"`` does
not have that defect).

Tests (:func:`wilks_lambda_test`)
---------------------------------
Step-down Wilks' lambda ``Lambda_j = prod_{i >= j} (1 - r_i^2)`` for ``H0: rho_j = ... = 0`` with
Bartlett's chi-square and Rao's F approximations; assumes multivariate normality.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.model_selection import KFold
from sklearn.utils.validation import check_is_fitted

from .._checks import InputError, check_rng
from .._linalg import thin_svd
from ..resampling.backend import single_threaded_blas
from ._base import (
    BaseCCA,
    DegenerateCCAError,
    InSampleCorrelationWarning,
    check_blocks,
    shared_dimensions,
)

__all__ = ["CCA", "RegularizedCCA", "PenaltySelection", "wilks_lambda_test"]

_DEPRECATED = object()   # sentinel: a deprecated argument not given
_R_METHOD_MAX_FEATURES = 5000


# ---------------------------------------------------------------------------------------------
# numerical core
# ---------------------------------------------------------------------------------------------

def _thin_svd(B: np.ndarray):
    """Thin SVD of a centred block without its null directions: ``U`` (n x r), ``d``, ``V`` (p x r).

    :func:`radiogenomics._linalg.thin_svd` (the toolkit's one rank tolerance, numpy's
    ``matrix_rank`` rule ``max(n, p) * eps * d_max``) with ``V`` instead of ``V'``.
    """
    U, d, Vt = thin_svd(B)
    return U, d, Vt.T


def _distinct_rows(Xc: np.ndarray, Yc: np.ndarray) -> int:
    """Number of distinct rows of ``[Xc Yc]`` (duplicated rows, e.g. a bootstrap resample)."""
    return int(np.unique(np.hstack([Xc, Yc]), axis=0).shape[0])


def _rows_text(n: int, m: int) -> str:
    return (f"n = {n} samples" if m == n else
            f"n = {n} rows but only {m} distinct (duplicated rows, e.g. a bootstrap resample)")


def _check_nondegenerate(Xc, Yc, svds, method: str, fix: str) -> None:
    """Refuse classical (unpenalised) CCA when correlations of 1 are forced by the ranks.

    Each centred block must have full column rank (else its covariance is singular), and the
    column spaces of the centred blocks must not intersect: ``k = rank(Xc) + rank(Yc) -
    rank([Xc Yc])`` canonical correlations equal 1 exactly.  With ``m`` distinct rows (after
    regression on covariates: ``n - rank(Z)`` dimensions) the centred blocks live in at most
    ``m - 1`` dimensions, so ``rank(Xc) + rank(Yc) > m - 1`` forces ``k > 0`` whatever the data.
    """
    n, p = Xc.shape
    q = Yc.shape[1]
    (Ux, dx, _), (Uy, dy, _) = svds
    m = _distinct_rows(Xc, Yc)
    rows = _rows_text(n, m)
    for label, d, width in (("X", dx, p), ("Y", dy, q)):
        if d.size < width:
            why = (f"{width} columns need at least {width + 1} distinct samples" if width > m - 1
                   else f"some {label} columns are linear combinations of others (duplicates, "
                        "sums, one-hot sets)")
            raise DegenerateCCAError(
                f"{method}: the {label} covariance is singular (rank of the centred {label} = "
                f"{d.size} < {width} columns; {rows}): {why}, so canonical correlations of 1 "
                f"are attainable trivially. {fix}")
    k, span = shared_dimensions(Ux, Uy)
    if k > 0:
        rx, ry = dx.size, dy.size
        why = (f"rank(Xc) + rank(Yc) = {rx + ry} exceeds the {m - 1} dimensions that {m} "
               "distinct samples span after centring, whatever the data" if rx + ry > m - 1
               else f"rank(Xc) + rank(Yc) = {rx + ry} > {span}: the blocks were regressed on "
                    "covariates Z, which leaves n - rank(Z) dimensions, or an exact linear "
                    "relation links X and Y columns (e.g. the same feature in both blocks)")
        raise DegenerateCCAError(
            f"{method} is degenerate here: the centred blocks have ranks rank(Xc) = {rx} and "
            f"rank(Yc) = {ry} but together span only {span} dimensions ({rows}), so their column "
            f"spaces share {k} dimension(s) and the first {k} canonical correlation(s) equal 1 "
            f"by construction ({why}). {fix}")


_CCA_FIX = ("Use RegularizedCCA (ridge, works for p, q >> n; choose the penalties with "
            "RegularizedCCA.select_penalties) or SparseCCA, or reduce the features first (e.g. "
            "PCA) so that rank(Xc) + rank(Yc) is at most the number of distinct samples - 1")


def _ridge_factors(d: np.ndarray, nm1: float, lam: float):
    """Whitening factors of a reduced block.

    ``f = d / sqrt(d^2 + nm1 lam)`` scales ``U' U`` products; ``g = sqrt(nm1 / (d^2 + nm1 lam))``
    maps whitened coordinates back to weights.  Written without ``d^2 / d^2`` so that
    ``lam = 0`` gives ``f = 1`` exactly up to rounding, as in classical CCA.
    """
    den = np.sqrt(d * d + nm1 * lam)
    return d / den, np.sqrt(nm1) / den


def _ridge_core(Ux, dx, Vx, Uy, dy, Vy, nm1, lam_x, lam_y, k, C=None):
    """Ridge (``lam = 0``: classical) CCA from the thin SVDs of two centred blocks.

    Returns ``Wx`` (p x k), ``Wy`` (q x k) and all ``min(rx, ry)`` (regularised) canonical
    correlations.  ``C = Ux' Uy`` may be passed when it is reused across penalties.
    """
    if C is None:
        C = Ux.T @ Uy
    fx, gx = _ridge_factors(dx, nm1, lam_x)
    fy, gy = _ridge_factors(dy, nm1, lam_y)
    T = fx[:, None] * C * fy[None, :]
    P, s, Qt = np.linalg.svd(T, full_matrices=False)
    Wx = Vx @ (gx[:, None] * P[:, :k])
    Wy = Vy @ (gy[:, None] * Qt[:k].T)
    return Wx, Wy, np.clip(s, 0.0, 1.0)


def _check_n_components(n_components, kmax: int, label: str, why: str) -> int:
    if isinstance(n_components, (bool, np.bool_)) or not isinstance(n_components, numbers.Integral):
        raise ValueError(f"n_components must be a positive integer, got {n_components!r}")
    k = int(n_components)
    if k < 1:
        raise ValueError(f"n_components must be at least 1, got {k}")
    if k > kmax:
        raise ValueError(f"{label} has at most {kmax} canonical pairs ({why}); got "
                         f"n_components={k}: lower it")
    return k


def _check_reg(value, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0 (it is added to the covariance "
                         f"diagonal), got {value}")
    return value


# ---------------------------------------------------------------------------------------------
# classical CCA
# ---------------------------------------------------------------------------------------------

class CCA(BaseCCA):
    r"""Classical canonical correlation analysis, equal to R ``CCA::cc`` (and ``stats::cancor``).

    Finds pairs of weight vectors ``a_k`` (p), ``b_k`` (q) maximising ``corr(Xc a_k, Yc b_k)``
    subject to the variates being uncorrelated with those of earlier pairs:

        r_k = max a' Sxy b   s.t.   a' Sxx a = b' Syy b = 1,  a' Sxx a_j = b' Syy b_j = 0 (j < k),

    with ``S`` the covariances with the ``n - 1`` denominator.  Computed from the thin SVDs of
    the centred blocks, ``Xc = Ux Dx Vx'``, ``Yc = Uy Dy Vy'``: the singular values of ``Ux' Uy =
    P diag(r) Q'`` are the canonical correlations (cosines of principal angles) and
    ``A = sqrt(n-1) Vx Dx^-1 P``, ``B = sqrt(n-1) Vy Dy^-1 Q`` (no covariance matrix is inverted).

    Reproduces ``CCA::cc(X, Y)`` (R package CCA 1.2.2): ``canonical_correlations_`` = ``cc$cor``;
    ``x_weights_`` = ``cc$xcoef[, 1:k]`` (so ``var(Xc %*% xcoef) = I``, ``n - 1`` denominator),
    ``y_weights_`` = ``cc$ycoef[, 1:k]``; ``x_loadings_`` = ``cc$scores$corr.X.xscores``,
    each pair up to a joint sign (here fixed by the convention of :mod:`._base`: the largest
    absolute x loading is positive).  ``stats::cancor`` gives the same correlations and
    ``xcoef = cc$xcoef / sqrt(n - 1)``.

    Parameters
    ----------
    n_components : int or None, default None
        Number of canonical pairs; None keeps all ``min(p, q)``.
    scale : bool, default False
        Also divide each column by its standard deviation (``ddof=1``).  Canonical correlations
        are unchanged; weights then refer to standardised features.

    Attributes
    ----------
    canonical_correlations_ : ndarray (k,)
    all_canonical_correlations_ : ndarray (min(p, q),)
        All canonical correlations (used by :meth:`wilks_test`).
    x_weights_, y_weights_, x_scores_, y_scores_, x_loadings_, y_loadings_, score_correlations_
        See :mod:`radiogenomics.cca._base`.

    Raises
    ------
    DegenerateCCAError (an ``InputError``)
        When correlations of 1 are forced by the ranks of the centred blocks (the guard counts
        ranks, not rows):

        * a block's covariance is singular: ``rank(Xc) < p`` or ``rank(Yc) < q`` (``n - 1 < p``,
          duplicated rows leaving fewer than ``p + 1`` distinct samples, or collinear columns);
        * the centred column spaces intersect: ``k = rank(Xc) + rank(Yc) - rank([Xc Yc]) > 0``
          canonical correlations equal 1 exactly.  With ``m`` distinct rows the centred blocks
          live in ``m - 1`` dimensions (``n - rank(Z)`` after regression on covariates ``Z``),
          so this happens whatever the data when ``rank(Xc) + rank(Yc) > m - 1`` (e.g.
          ``n <= p + q``, or a bootstrap resample with repeated rows); otherwise it means an
          exact linear relation between the blocks.

        Classical CCA is then undefined; use :class:`RegularizedCCA` (ridge) or sparse CCA.

    Notes
    -----
    In-sample canonical correlations are biased upwards, severely when ``p + q`` is not small
    relative to ``n``; use ``score`` under cross-validation (held-out correlation of the first
    pair) or permutation inference to judge them.
    """

    def __init__(self, n_components=None, scale=False):
        self.n_components = n_components
        self.scale = scale

    def _fit_weights(self, Xc, Yc):
        n, p = Xc.shape
        q = Yc.shape[1]
        svds = [_thin_svd(Xc), _thin_svd(Yc)]
        _check_nondegenerate(Xc, Yc, svds, "classical CCA", _CCA_FIX)
        kmax = min(p, q)
        k = kmax if self.n_components is None else _check_n_components(
            self.n_components, kmax, "classical CCA", f"min(p, q) = min({p}, {q})")
        (Ux, dx, Vx), (Uy, dy, Vy) = svds
        Wx, Wy, cors = _ridge_core(Ux, dx, Vx, Uy, dy, Vy, n - 1, 0.0, 0.0, k)
        self.all_canonical_correlations_ = cors[:kmax]
        return Wx, Wy, cors[:k]

    def wilks_test(self) -> pd.DataFrame:
        """Step-down Wilks' lambda tests of the fitted correlations (:func:`wilks_lambda_test`)."""
        return wilks_lambda_test(self)


def wilks_lambda_test(cca_or_cors, n: int | None = None, p: int | None = None,
                      q: int | None = None) -> pd.DataFrame:
    r"""Sequential (step-down) tests of canonical correlations: Wilks' lambda, Bartlett, Rao.

    For component ``j`` the null hypothesis is ``rho_j = rho_{j+1} = ... = rho_s = 0``
    (``s = min(p, q)``), tested with

        Lambda_j = prod_{i=j}^{s} (1 - r_i^2).

    *Bartlett (1938/1947)*: ``chi2_j = -(n - 1 - (p + q + 1)/2) log(Lambda_j)`` on
    ``(p - j + 1)(q - j + 1)`` degrees of freedom.  Equal to the base-R computation in the
    project's references (``R_bartlett_wilks_*``).

    *Rao's F (Rao 1951; Mardia, Kent & Bibby 1979, Sec. 3.7)*: with ``a = p - j + 1``,
    ``b = q - j + 1``,

        s = sqrt((a^2 b^2 - 4) / (a^2 + b^2 - 5))   (s = 1 when a^2 + b^2 - 5 <= 0),
        w = n - 3/2 - (p + q)/2,
        df1 = a b,   df2 = w s - a b / 2 + 1,
        F_j = (1 - Lambda_j^(1/s)) / Lambda_j^(1/s) * df2 / df1  ~  F(df1, df2).

    For ``j = 1`` this is Rao's approximation to Wilks' ``Lambda(p, n - 1 - q, q)`` (the
    multivariate regression of X on Y with an intercept: error df ``m = n - 1 - q``, so
    ``w = m - (p - q + 1)/2``, which is also Bartlett's multiplier); it is exact when
    ``min(p, q) <= 2`` (with ``p`` or ``q`` = 1 it is the F test of the multiple correlation).
    Later steps keep ``w`` and use the reduced ``a``, ``b``.  This is the formula of R's
    ``CCP::p.asym(rho, N, p, q, tstat = "Wilks")`` (its ``nu = 1`` when ``a`` or ``b`` is 1
    equals the rule for ``s`` above) and of ``candisc::Wilks``.

    Parameters
    ----------
    cca_or_cors : fitted CCA or array-like
        A fitted :class:`CCA` (``n``, ``p``, ``q`` taken from it) or all ``min(p, q)`` sample
        canonical correlations.
    n, p, q : int
        Sample size and block widths (required with an array of correlations).

    Returns
    -------
    DataFrame
        One row per component: ``component``, ``canonical_correlation``, ``wilks_lambda``,
        ``bartlett_chi2``, ``bartlett_df``, ``bartlett_p``, ``rao_F``, ``rao_df1``,
        ``rao_df2``, ``rao_p``.

    Notes
    -----
    Both approximations assume multivariate normality and are unreliable with heavy tails;
    the step-down p-values for ``j > 1`` are conditional approximations.  Permutation tests
    avoid both assumptions.
    """
    if hasattr(cca_or_cors, "fit") and hasattr(cca_or_cors, "get_params"):
        est = cca_or_cors
        check_is_fitted(est, "x_weights_")
        if not hasattr(est, "all_canonical_correlations_"):
            raise ValueError(f"Wilks' lambda tests need classical CCA correlations; "
                             f"{type(est).__name__} does not provide them (regularised or sparse "
                             "correlations do not follow Wilks' distribution): use a "
                             "permutation test")
        r = np.asarray(est.all_canonical_correlations_, dtype=np.float64)
        n, p, q = est.n_samples_, est.x_weights_.shape[0], est.y_weights_.shape[0]
    else:
        if n is None or p is None or q is None:
            raise ValueError("pass n, p and q together with an array of canonical correlations")
        r = np.asarray(cca_or_cors, dtype=np.float64).ravel()
        n, p, q = int(n), int(p), int(q)
        if r.size != min(p, q):
            raise ValueError(f"pass all min(p, q) = {min(p, q)} canonical correlations (Wilks' "
                             f"lambda for component j multiplies all later ones), got {r.size}")
        if not np.all(np.isfinite(r)) or np.any((r < 0) | (r > 1)):
            raise ValueError("canonical correlations must lie in [0, 1]")
    s_max = min(p, q)
    mult = n - 1 - (p + q + 1) / 2
    if mult <= 0:
        raise ValueError(f"n = {n} is too small for the asymptotic tests with p = {p}, q = {q} "
                         "(Bartlett's multiplier n - 1 - (p + q + 1)/2 must be positive); use a "
                         "permutation test")
    r = np.clip(r, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log1m = np.log1p(-r * r)
        loglam = np.cumsum(log1m[::-1])[::-1]          # log Lambda_j = sum_{i >= j} log(1 - r_i^2)
        lam = np.exp(loglam)
        j = np.arange(1, s_max + 1)
        a = p - j + 1
        b = q - j + 1
        chi2 = -mult * loglam
        df = a * b
        p_chi = stats.chi2.sf(chi2, df)
        den = (a * a + b * b - 5).astype(np.float64)
        pos = den > 0
        s = np.ones(s_max)
        s[pos] = np.sqrt((a[pos] ** 2 * b[pos] ** 2 - 4.0) / den[pos])
        w = n - 1.5 - (p + q) / 2
        df1 = (a * b).astype(np.float64)
        df2 = w * s - a * b / 2 + 1
        lam_s = np.exp(loglam / s)
        F = (1 - lam_s) / lam_s * df2 / df1
        p_F = np.where(df2 > 0, stats.f.sf(F, df1, np.where(df2 > 0, df2, 1.0)), np.nan)
    return pd.DataFrame({
        "component": j, "canonical_correlation": r, "wilks_lambda": lam,
        "bartlett_chi2": chi2, "bartlett_df": df, "bartlett_p": p_chi,
        "rao_F": F, "rao_df1": df1, "rao_df2": df2, "rao_p": p_F})


# ---------------------------------------------------------------------------------------------
# ridge CCA
# ---------------------------------------------------------------------------------------------

@dataclass
class PenaltySelection:
    """Result of :meth:`RegularizedCCA.select_penalties`.

    Attributes
    ----------
    reg_x, reg_y : float
        The pair with the largest cross-validated score (first in grid order on ties).
    cv_score : float
        Its score.
    scores : DataFrame
        Scores, ``grid_x`` (index ``reg_x``) by ``grid_y`` (columns ``reg_y``): R's
        ``estim.regul(...)$mat``.
    table : DataFrame
        Long form (``reg_x``, ``reg_y``, ``cv_score``) in ``expand.grid`` order (``reg_x``
        varies fastest), as R's ``res.grid``.
    cv : str
        Description of the folds.
    method : str
        ``"aligned"`` or ``"r"``.
    scale : bool
        Whether the columns were standardised.
    """

    reg_x: float
    reg_y: float
    cv_score: float
    scores: pd.DataFrame
    table: pd.DataFrame
    cv: str
    method: str
    scale: bool

    def make_estimator(self, n_components: int = 1) -> "RegularizedCCA":
        """An unfitted :class:`RegularizedCCA` with the chosen penalties."""
        return RegularizedCCA(n_components=n_components, reg_x=self.reg_x, reg_y=self.reg_y,
                              scale=self.scale)


class RegularizedCCA(BaseCCA):
    r"""Ridge-regularised CCA, equal to R ``CCA::rcc(X, Y, lambda1 = reg_x, lambda2 = reg_y)``.

    Solves

        maximise a' Sxy b   s.t.   a'(Sxx + reg_x I) a = 1,   b'(Syy + reg_y I) b = 1

    (``S``: covariances with the ``n - 1`` denominator), later pairs being orthogonal to the
    earlier ones in the same metrics.  ``canonical_correlations_`` is the regularised criterion
    ``a_k' Sxy b_k`` (``rcc$cor``; smaller than the plain correlation of the variates, which is
    ``score_correlations_``).  Weights are normalised as ``rcc$xcoef``:
    ``A'(Sxx + reg_x I) A = I`` and ``B'(Syy + reg_y I) B = I``.

    Computation (kernel / SVD form, for p, q >> n): with thin SVDs ``Xc = Ux Dx Vx'``,
    ``Yc = Uy Dy Vy'`` (ranks ``rx, ry <= n - 1``), ``Sxx + reg_x I`` acts as
    ``Vx (Dx^2/(n-1) + reg_x) Vx'`` on the row space of ``Xc`` and as ``reg_x`` on its
    complement, which ``Sxy`` does not see; so for ``reg_x > 0`` the weights lie in the row space
    and, with ``Fx = Dx (Dx^2 + (n-1) reg_x)^-1/2``,

        Fx Ux' Uy Fy = P diag(r) Q',   A = sqrt(n-1) Vx (Dx^2 + (n-1) reg_x)^-1/2 P

    (likewise ``B``).  Cost: one thin SVD per block plus an ``rx x ry`` SVD, e.g. well under a
    second for n = 60, p = 20,000.  With ``reg_x = reg_y = 0`` and full-rank blocks this is
    :class:`CCA`.

    Parameters
    ----------
    n_components : int, default 1
        Number of canonical pairs; at most ``min(p, q)`` and at most ``min(rank Xc, rank Yc)``
        (later pairs have zero correlation).
    reg_x, reg_y : float >= 0, default 0.0
        Ridge added to the X / Y covariance diagonals (``lambda1``, ``lambda2`` of
        ``CCA::rcc``).  0 is only allowed when that block's covariance is invertible
        (``n - 1 >= p`` and full column rank).  Note the scale: the penalty competes with the
        feature variances, so it depends on the units unless ``scale=True``.  cca-zoo's
        ``RidgeCCA(c)`` corresponds to ``reg = c / (1 - c)`` on the same data.  Choose them with
        :meth:`select_penalties`.
    scale : bool, default False
        Standardise columns (``ddof=1``) first, as ``rcc(scale(X), scale(Y), ...)``.

    Attributes
    ----------
    canonical_correlations_ : ndarray (k,)
        Regularised canonical correlations (``rcc$cor[1:k]``).
    x_weights_, y_weights_, x_scores_, y_scores_, x_loadings_, y_loadings_, score_correlations_
        See :mod:`radiogenomics.cca._base`.
    """

    def __init__(self, n_components=1, reg_x=0.0, reg_y=0.0, scale=False):
        self.n_components = n_components
        self.reg_x = reg_x
        self.reg_y = reg_y
        self.scale = scale

    def _fit_weights(self, Xc, Yc):
        lam_x = _check_reg(self.reg_x, "reg_x")
        lam_y = _check_reg(self.reg_y, "reg_y")
        n, p = Xc.shape
        q = Yc.shape[1]
        svds = []
        for label, B, m, lam in (("X", Xc, p, lam_x), ("Y", Yc, q, lam_y)):
            U, d, V = _thin_svd(B)
            if lam == 0 and d.size < m:
                raise DegenerateCCAError(
                    f"reg_{label.lower()} = 0 leaves the {label} covariance singular (rank of the "
                    f"centred {label} = {d.size} < {m} columns; "
                    f"{_rows_text(n, _distinct_rows(Xc, Yc))}): set reg_{label.lower()} > 0 "
                    "(choose it with RegularizedCCA.select_penalties) or use SparseCCA")
            svds.append((U, d, V))
        if lam_x == 0 and lam_y == 0:
            _check_nondegenerate(Xc, Yc, svds, "RegularizedCCA with reg_x = reg_y = 0 (classical "
                                 "CCA)", "Set reg_x, reg_y > 0 (choose them with "
                                 "RegularizedCCA.select_penalties) or use SparseCCA")
        (Ux, dx, Vx), (Uy, dy, Vy) = svds
        kmax = min(p, q)
        k = _check_n_components(self.n_components, kmax, "this problem",
                                f"min(p, q) = min({p}, {q})")
        rmax = min(dx.size, dy.size)
        if k > rmax:
            raise ValueError(
                f"only {rmax} canonical pairs have non-zero correlation (ranks of the centred "
                f"blocks: X {dx.size}, Y {dy.size}, at most n - 1 = {n - 1}); got "
                f"n_components={k}: lower it")
        Wx, Wy, cors = _ridge_core(Ux, dx, Vx, Uy, dy, Vy, n - 1, lam_x, lam_y, k)
        shared, _ = shared_dimensions(Ux, Uy)
        if shared > 0:
            self._warn_in_sample(Xc, Yc, Wx, Wy, cors[:k], dx.size, dy.size, shared, lam_x, lam_y)
        return Wx, Wy, cors[:k]

    def _warn_in_sample(self, Xc, Yc, Wx, Wy, cors, rx, ry, shared, lam_x, lam_y):
        """Warn that in-sample correlations are uninformative when the centred column spaces
        intersect (generically ``rank(Xc) + rank(Yc) > n - 1``, i.e. ``n`` not above ``p + q``):
        without the penalties the first ``shared`` correlations would be exactly 1."""
        n = Xc.shape[0]
        xs, ys = Xc @ Wx, Yc @ Wy
        den = np.linalg.norm(xs, axis=0) * np.linalg.norm(ys, axis=0)
        sc = np.divide((xs * ys).sum(axis=0), den, out=np.zeros(den.shape), where=den > 0)
        fmt = lambda v: ", ".join(f"{c:.3f}" for c in v)  # noqa: E731
        warnings.warn(
            f"RegularizedCCA: the centred blocks (rank(Xc) = {rx}, rank(Yc) = {ry}, n = {n} "
            f"samples) share {shared} dimension(s), so without the penalties the first {shared} "
            f"canonical correlation(s) would be exactly 1 whatever the data; the in-sample "
            f"correlations ({fmt(cors)}; of the variates: {fmt(sc)}) reflect reg_x = {lam_x:g} "
            f"and reg_y = {lam_y:g} more than any association and are uninformative when n is "
            "not well above p + q. Judge the association out of sample with "
            "radiogenomics.cca.cross_validated_correlation (held-out correlation of the first "
            "pair, with a permutation null) or test it with cca_permutation_test",
            InSampleCorrelationWarning, stacklevel=4)

    # -----------------------------------------------------------------------------------------
    @classmethod
    def select_penalties(cls, X, Y, grid_x=None, grid_y=None, cv="loo", *, method="aligned",
                         scale=False, rng=None, random_state=_DEPRECATED) -> PenaltySelection:
        r"""Choose ``(reg_x, reg_y)`` on a grid by cross-validated first canonical correlation.

        For every pair of the grid (``expand.grid(grid_x, grid_y)`` order, ``reg_x`` fastest),
        each fold fits ridge CCA (first pair only) on its training rows and scores its held-out
        rows; the CV score is the Pearson correlation of the pooled held-out x and y scores over
        all n rows.  The best pair maximises it (first in grid order on ties).

        Two schemes:

        ``method="r"`` -- exactly R's ``CCA::loo`` / ``CCA::estim.regul`` (CCA 1.2.2):
            for each ``i``, ``res <- rcc(X[-i, ], Y[-i, ], l1, l2)``; ``xscore[i] <- X[i, ] %*%
            res$xcoef[, 1]`` on the *uncentred* row, likewise ``yscore[i]``; score
            ``cor(xscore, yscore)``.  The sign of each fold's pair is whatever the SVD (LAPACK
            ``dgesdd``) returns inside ``rcc``, and because the rows are not centred a flipped
            fold moves its point far from the others, so R's score depends on these arbitrary
            signs (on nutrimouse at ``(0.1, 0.2)``, orienting the folds consistently moves R's
            0.738 to 0.797; the aligned scheme below gives 0.890).  To reproduce R the fold fits
            replicate ``rcc``'s algorithm (upper Cholesky factors ``Rx``, ``Ry`` of
            ``S + lambda I``, SVD of ``Rx^-T Sxy Ry^-1``, first pair), ``O(p^3 + q^3)`` per fold
            and penalty, so this needs moderate ``p, q`` (at most 5,000) and ``cv="loo"``.
            Where a fold's first pair is nearly tied with its second (penalties near 0 with
            p > n), the sign LAPACK returns can flip under perturbations of 1e-14, so R's value
            is not reproducible there (nutrimouse, ``reg_x <= 0.001``).

        ``method="aligned"`` (default) -- sign-invariant variant computed with the SVD trick:
            held-out rows are centred with their training-fold means (as ``transform`` does),
            and each fold's pair is oriented so that its x variate correlates positively, on
            the full data, with the full-data first x variate.  Every fold problem is solved in
            the coordinates of the full data's row space (``Z = Xc Vx``, at most ``n - 1``
            columns; exact, as all training and held-out rows lie in that space), so after one
            thin SVD per block a whole grid costs ``n_folds`` SVDs of at most ``n x n`` matrices
            plus one small SVD per fold and penalty, whatever ``p`` and ``q``.  (The full data
            enter a fold only through this +-1 orientation.)  Accepts leave-one-out, k-fold or
            any splitter; with ``cv`` = n unshuffled folds it equals leave-one-out.  Results
            equal explicit per-fold refits with :class:`RegularizedCCA` and ``transform``.

        Parameters
        ----------
        X, Y : array-like or DataFrame (n x p, n x q)
        grid_x, grid_y : sequence of float >= 0, default ``seq(0.001, 1, length = 5)`` (R's)
            Penalties to try (0 only where that block's covariance is invertible in every
            training fold).
        cv : "loo", int or splitter, default "loo"
            ``"loo"``; an int ``k`` for shuffled k-fold (rows shuffled with ``rng``, then
            ``KFold(k)``'s fold sizes); or an object with ``split(X)`` / an iterable of
            ``(train, test)`` index pairs (``method="aligned"`` only).
        method : {"aligned", "r"}, default "aligned"
        scale : bool, default False
            Standardise columns on the full data first (as ``estim.regul(scale(X), scale(Y))``);
            use the same setting in the final estimator (``make_estimator`` does).
        rng : None, int, SeedSequence, BitGenerator or Generator
            Seed of the k-fold shuffle (Scientific Python SPEC 7, as everywhere in the
            toolkit).
        random_state
            Deprecated alias of ``rng`` (FutureWarning); an int or ``RandomState`` given here
            keeps its old meaning (``KFold(k, shuffle=True, random_state=random_state)``).

        Returns
        -------
        PenaltySelection
            ``reg_x``, ``reg_y``, ``cv_score``, ``scores`` (grid_x x grid_y DataFrame, R's
            ``mat``), ``table`` (long form), and ``make_estimator(n_components)``.
        """
        if method not in ("aligned", "r"):
            raise ValueError(f"method must be 'aligned' or 'r', got {method!r}")
        if random_state is not _DEPRECATED:
            if rng is not None:
                raise TypeError("pass rng only (random_state is its deprecated alias)")
            warnings.warn("select_penalties(random_state=...) is deprecated and will be removed; "
                          "use rng= (an int, SeedSequence, BitGenerator or numpy Generator)",
                          FutureWarning, stacklevel=2)
        X, Y, _, _ = check_blocks(X, Y)
        n, p = X.shape
        q = Y.shape[1]
        default = np.linspace(0.001, 1, 5)
        gx = np.array([_check_reg(v, "grid_x value") for v in
                       (default if grid_x is None else np.atleast_1d(grid_x))])
        gy = np.array([_check_reg(v, "grid_y value") for v in
                       (default if grid_y is None else np.atleast_1d(grid_y))])
        if gx.size == 0 or gy.size == 0:
            raise ValueError("grid_x and grid_y must not be empty")
        if scale:
            X = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
            Y = (Y - Y.mean(axis=0)) / Y.std(axis=0, ddof=1)
        if method == "r":
            if not (isinstance(cv, str) and cv == "loo"):
                raise ValueError("method='r' reproduces CCA::loo, which is leave-one-out only; "
                                 "use cv='loo' or method='aligned' for k-fold")
            if max(p, q) > _R_METHOD_MAX_FEATURES:
                raise ValueError(
                    f"method='r' replicates rcc's O(p^3) algorithm per fold and penalty; "
                    f"p = {p}, q = {q} is too large (limit {_R_METHOD_MAX_FEATURES}): use "
                    "method='aligned', which costs O(n^3) per fold")
            mat = _loo_r(X, Y, gx, gy)
            cv_desc = f"leave-one-out (n = {n})"
        else:
            folds, cv_desc = _make_folds(cv, n, rng, random_state)
            mat = _cv_aligned(X, Y, folds, gx, gy)
        long = pd.DataFrame({"reg_x": np.tile(gx, gy.size), "reg_y": np.repeat(gy, gx.size),
                             "cv_score": mat.T.ravel()})
        if not np.isfinite(long["cv_score"]).any():
            raise ValueError("no finite cross-validated score on this grid")
        best = int(np.nanargmax(long["cv_score"].to_numpy()))
        scores = pd.DataFrame(mat, index=pd.Index(gx, name="reg_x"),
                              columns=pd.Index(gy, name="reg_y"))
        return PenaltySelection(reg_x=float(long["reg_x"].iloc[best]),
                                reg_y=float(long["reg_y"].iloc[best]),
                                cv_score=float(long["cv_score"].iloc[best]), scores=scores,
                                table=long, cv=cv_desc, method=method, scale=bool(scale))


# ---------------------------------------------------------------------------------------------
# cross-validation engines
# ---------------------------------------------------------------------------------------------

def _make_folds(cv, n: int, rng=None, random_state=None):
    if isinstance(cv, str):
        if cv != "loo":
            raise ValueError(f"cv must be 'loo', an int or a splitter, got {cv!r}")
        idx = np.arange(n)
        return [(idx[idx != i], np.array([i])) for i in range(n)], f"leave-one-out (n = {n})"
    if isinstance(cv, numbers.Integral) and not isinstance(cv, (bool, np.bool_)):
        k = int(cv)
        if not 2 <= k <= n:
            raise ValueError(f"k-fold needs 2 <= k <= n = {n}, got cv={k}")
        if random_state is not _DEPRECATED and random_state is not None:
            if isinstance(random_state, np.random.Generator):
                random_state = int(random_state.integers(2**31 - 1))
            splitter = KFold(n_splits=k, shuffle=True, random_state=random_state)
            return list(splitter.split(np.zeros((n, 1)))), f"{k}-fold (shuffled)"
        order = check_rng(rng).permutation(n)
        folds = [(np.sort(order[tr]), np.sort(order[te]))
                 for tr, te in KFold(n_splits=k).split(np.zeros((n, 1)))]
        return folds, f"{k}-fold (shuffled)"
    if hasattr(cv, "split"):
        return list(cv.split(np.zeros((n, 1)))), repr(cv)
    try:
        folds = [(np.asarray(tr), np.asarray(te)) for tr, te in cv]
    except TypeError:
        raise ValueError(f"cv must be 'loo', an int or a splitter, got {cv!r}") from None
    return folds, "user folds"


def _cv_aligned(X, Y, folds, gx, gy) -> np.ndarray:
    """Pooled held-out correlation of the first ridge pair for every grid point (SVD trick)."""
    n = X.shape[0]
    Zs = []
    for B in (X, Y):
        U, d, _ = _thin_svd(B - B.mean(axis=0))
        Zs.append((U * d, d, U))                      # row-space coordinates Z = Xc V = U D
    (Zx, dx, Ux), (Zy, dy, Uy) = Zs
    for label, B, Z, grid in (("x", X, Zx, gx), ("y", Y, Zy, gy)):
        if (grid == 0).any() and Z.shape[1] < B.shape[1]:
            raise InputError(
                f"reg_{label} = 0 in the grid but the {label.upper()} covariance is singular "
                f"(rank {Z.shape[1]} < {B.shape[1]} columns): use positive penalties")
    # full-data first pairs, for orienting the folds (score covariance with the full pair)
    Cfull = Ux.T @ Uy
    ref = np.empty((gx.size, gy.size, dx.size))
    for a, lx in enumerate(gx):
        for b, ly in enumerate(gy):
            w, _, _ = _ridge_core(Ux, dx, np.eye(dx.size), Uy, dy, np.eye(dy.size), n - 1,
                                  lx, ly, 1, C=Cfull)
            ref[a, b] = (dx * dx) * w[:, 0]           # Zx' Zx alpha_full
    seen = np.zeros(n, dtype=bool)
    pooled_x, pooled_y = [], []
    with single_threaded_blas():
        for tr, te in folds:
            tr = np.asarray(tr)
            te = np.asarray(te)
            if tr.size < 3:
                raise ValueError(f"a training fold has {tr.size} rows; use fewer folds")
            fold = []
            for label, Z, grid, m in (("x", Zx, gx, X.shape[1]), ("y", Zy, gy, Y.shape[1])):
                mu = Z[tr].mean(axis=0)
                U, d, V = _thin_svd(Z[tr] - mu)
                if (grid == 0).any() and d.size < m:
                    raise InputError(
                        f"reg_{label} = 0 in the grid but the {label.upper()} covariance of a "
                        f"training fold is singular (rank {d.size} < {m}): use positive "
                        "penalties or fewer folds")
                fold.append((U, d, V, Z[te] - mu))
            (Uf, df_, Vf, Tx), (Uyf, dyf, Vyf, Ty) = fold
            C = Uf.T @ Uyf
            nm1 = tr.size - 1
            sx = np.empty((gx.size, gy.size, te.size))
            sy = np.empty((gx.size, gy.size, te.size))
            for a, lx in enumerate(gx):
                for b, ly in enumerate(gy):
                    wx, wy, _ = _ridge_core(Uf, df_, Vf, Uyf, dyf, Vyf, nm1, lx, ly, 1, C=C)
                    sgn = -1.0 if float(ref[a, b] @ wx[:, 0]) < 0 else 1.0
                    sx[a, b] = sgn * (Tx @ wx[:, 0])
                    sy[a, b] = sgn * (Ty @ wy[:, 0])
            pooled_x.append(sx)
            pooled_y.append(sy)
            seen[te] = True
    if not seen.all():
        warnings.warn(f"{int((~seen).sum())} sample(s) are in no test fold", UserWarning,
                      stacklevel=3)
    xs = np.concatenate(pooled_x, axis=2)
    ys = np.concatenate(pooled_y, axis=2)
    return _rowwise_corr(xs, ys)


def _rowwise_corr(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Pearson correlation along the last axis."""
    xc = xs - xs.mean(axis=-1, keepdims=True)
    yc = ys - ys.mean(axis=-1, keepdims=True)
    num = (xc * yc).sum(axis=-1)
    den = np.sqrt((xc * xc).sum(axis=-1) * (yc * yc).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _chol_inv_upper(S: np.ndarray, lam: float, label: str) -> np.ndarray:
    """R's ``solve(chol(S + lam I))``: inverse of the upper Cholesky factor."""
    A = S + lam * np.eye(S.shape[0])
    A = (A + A.T) / 2
    try:
        Rf = np.linalg.cholesky(A).T
    except np.linalg.LinAlgError:
        raise InputError(
            f"the {label} covariance plus reg = {lam} is not positive definite in a "
            "leave-one-out fold (as CCA::rcc's chol() would fail): use positive penalties"
        ) from None
    return np.linalg.inv(Rf)


def _loo_r(X, Y, gx, gy) -> np.ndarray:
    """``CCA::loo`` over the grid, replicating ``rcc``/``geigen`` so that fold signs match R."""
    n, p = X.shape
    q = Y.shape[1]
    xs = np.empty((gx.size, gy.size, n))
    ys = np.empty((gx.size, gy.size, n))
    idx = np.arange(n)
    with single_threaded_blas():
        for i in range(n):
            m = idx != i
            Xt, Yt = X[m], Y[m]
            Xtc = Xt - Xt.mean(axis=0)
            Ytc = Yt - Yt.mean(axis=0)
            nm1 = n - 2
            Sxx, Syy, Sxy = Xtc.T @ Xtc / nm1, Ytc.T @ Ytc / nm1, Xtc.T @ Ytc / nm1
            Bi = [_chol_inv_upper(Sxx, lx, "X") for lx in gx]
            Ci = [_chol_inv_upper(Syy, ly, "Y") for ly in gy]
            for a, Bf in enumerate(Bi):
                BS = Bf.T @ Sxy
                for b, Cf in enumerate(Ci):
                    D = BS @ Cf
                    if p >= q:
                        u, _, vt = np.linalg.svd(D, full_matrices=False)
                        wx, wy = Bf @ u[:, 0], Cf @ vt[0]
                    else:
                        u, _, vt = np.linalg.svd(D.T, full_matrices=False)
                        wx, wy = Bf @ vt[0], Cf @ u[:, 0]
                    xs[a, b, i] = X[i] @ wx
                    ys[a, b, i] = Y[i] @ wy
    return _rowwise_corr(xs, ys)
