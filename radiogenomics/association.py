"""Mass-univariate imaging x expression association screen (parametric).

For every pair (imaging feature ``x_j``, molecular feature ``y_k``) the screen tests
``H0: beta = 0`` in the linear model

    y_k = beta * x_j + Z gamma + e,

where ``Z`` holds an intercept and the covariates (categorical ones dummy coded).  By the
Frisch-Waugh-Lovell theorem the t statistic of ``beta`` equals

    t = r * sqrt(df / (1 - r^2)),   df = n - 2 - rank(Z without intercept),

with ``r`` the partial correlation, i.e. the Pearson correlation of the residuals of ``x_j``
and ``y_k`` after regression on ``Z``.  So one matrix product of residualised, standardised
blocks gives all p x q statistics, and the parametric p-values equal those of statsmodels
OLS ``y ~ x + covariates`` for each pair (``tests/test_association.py`` checks this to 1e-8
relative).  ``method="spearman"`` rank-transforms both blocks first (a rank-based partial
correlation; its t-based p-value is the usual large-sample approximation).

Multiple testing: Benjamini-Hochberg q-values (``fdr_bh``) or Bonferroni over all p x q
pairs (:func:`adjust_pvalues`, equal to statsmodels' ``multipletests``).  Permutation inference
(Freedman-Lane, max-T, exchangeability blocks) lives on the resampling engine and is added
by a later release; this module is the exact parametric layer it builds on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from .cohort import Cohort, CohortValidationError

__all__ = ["associate", "AssociationResult", "adjust_pvalues", "design_matrix", "residualise"]

CORRECTIONS = ("fdr_bh", "bonferroni")
METHODS = ("pearson", "spearman")


def design_matrix(covariates: pd.DataFrame | None, index: pd.Index,
                  centre: pd.Series | None = None) -> pd.DataFrame:
    """Intercept plus covariates (categoricals dummy coded, first level dropped).

    Raises a clear error for missing values or a rank-deficient design (e.g. a covariate
    that is constant, or centre confounded with a covariate).
    """
    parts = [pd.DataFrame({"Intercept": 1.0}, index=index)]
    frames = []
    if covariates is not None and covariates.shape[1]:
        frames.append(covariates)
    if centre is not None:
        frames.append(centre.astype(str).rename("centre").to_frame())
    for f in frames:
        if len(index) and not index.isin(f.index).any():
            raise CohortValidationError(
                f"no sample ID of the data (e.g. {index[0]!r}, {type(index[0]).__name__}) is in the "
                f"covariates (e.g. {f.index[0]!r}, {type(f.index[0]).__name__}); make the ID "
                "formats match (str vs int, zero padding, case)"
            )
        f = f.reindex(index)
        if f.isna().any().any():
            bad = f.index[f.isna().any(axis=1).to_numpy()]
            raise CohortValidationError(
                f"covariates are missing for {len(bad)} sample(s) ({list(bad[:5])}...); "
                "supply them or subset the samples"
            )
        num = f.select_dtypes(include=[np.number, "bool"]).astype(float)
        cat = f.drop(columns=num.columns)
        parts.append(num)
        for c in cat.columns:
            col = cat[c]
            # keep a categorical's own level order (first level = reference), else sorted
            levels = (list(col.cat.categories) if isinstance(col.dtype, pd.CategoricalDtype)
                      else sorted(col.astype(str).unique()))
            col = pd.Categorical(col.astype(str), categories=[str(v) for v in levels])
            parts.append(pd.get_dummies(pd.Series(col, index=index, name=c), prefix=c,
                                        drop_first=True, dtype=float))
    Z = pd.concat(parts, axis=1)
    n, k = Z.shape[0], Z.shape[1] - 1
    if n - 2 - k < 1:
        raise CohortValidationError(
            f"n = {n} samples is too small for {k} covariate column(s): the residual degrees of "
            f"freedom n - 2 - k = {n - 2 - k} must be at least 1; use fewer covariates or more samples"
        )
    Zv = Z.to_numpy()
    rank = np.linalg.matrix_rank(Zv)
    if rank < Z.shape[1]:
        # the columns involved in the (last) exact linear dependence
        vt = np.linalg.svd(Zv / np.linalg.norm(Zv, axis=0), full_matrices=False)[2]
        involved = Z.columns[np.abs(vt[-1]) > 1e-6].tolist()
        raise CohortValidationError(
            f"the covariate design ({', '.join(Z.columns[1:])}) is rank deficient "
            f"(rank {rank} < {Z.shape[1]} columns): {', '.join(involved)} are linearly dependent "
            "(a constant covariate, or one confounded with another such as centre with a "
            "covariate); drop one of them"
        )
    return Z


def adjust_pvalues(p: np.ndarray, method: str = "fdr_bh") -> np.ndarray:
    """Multiple-testing adjusted p-values over all entries of ``p`` (any shape).

    ``fdr_bh``: Benjamini-Hochberg step-up q-values, q_(i) = min_{j >= i} m p_(j) / j, capped
    at 1; ``bonferroni``: min(1, m p).  Identical to
    :func:`statsmodels.stats.multitest.multipletests` (tested), about twice as fast on the
    tens of millions of pairs of a genome-wide screen.
    """
    flat = np.asarray(p, dtype=np.float64).ravel()
    m = flat.size
    if method == "bonferroni":
        return np.minimum(1.0, flat * m).reshape(np.shape(p))
    if method != "fdr_bh":
        raise ValueError(f"correction must be one of {CORRECTIONS}, got {method!r}")
    order = np.argsort(flat)
    ranked = flat[order] * (m / np.arange(1, m + 1))
    q_sorted = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    q = np.empty_like(flat)
    q[order] = q_sorted
    return q.reshape(np.shape(p))


def residualise(A: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Residuals of the columns of ``A`` after least-squares regression on ``Z``."""
    Q, _ = np.linalg.qr(Z)
    return A - Q @ (Q.T @ A)


def _residual_unit_columns(A: np.ndarray, Z: np.ndarray, name: str, columns,
                           policy: str) -> tuple[np.ndarray, np.ndarray]:
    """Residualise ``A`` on ``Z`` and scale each column to unit norm.

    A column whose residual norm is below 1e-10 of its centred norm has no variance left
    once the covariates are accounted for (constant on these samples, or a copy of a
    covariate): refused, or with ``policy="drop"`` removed.  Returns the unit columns and
    the boolean mask of columns kept.
    """
    R = residualise(A, Z)
    norm = np.sqrt(np.einsum("ij,ij->j", R, R))
    centred = A - A.mean(axis=0)
    scale = np.sqrt(np.einsum("ij,ij->j", centred, centred))
    bad = ~(norm > 1e-10 * np.maximum(scale, np.finfo(float).tiny))
    if bad.any() and policy == "raise":
        raise CohortValidationError(
            f"{name} feature(s) {list(np.asarray(columns)[bad][:5])} have no variance left on "
            f"these {A.shape[0]} samples after adjusting for the covariates (constant here, or a "
            "copy of a covariate); remove them or pass degenerate='drop' (listed in "
            "result.dropped_features)"
        )
    keep = ~bad
    return R[:, keep] / norm[keep], keep


@dataclass
class AssociationResult:
    """All-pairs association statistics between two blocks.

    Attributes
    ----------
    r : DataFrame
        Partial correlations, x features (rows) by y features (columns).
    t, pvalues, qvalues : DataFrame
        t statistics, two-sided parametric p-values, corrected p-values (``correction``).
    df : int
        Residual degrees of freedom ``n - 2 - k``.
    n_samples : int
    method, correction : str
    covariates : list of str
        Columns of the covariate design (excluding the intercept).
    dropped : DataFrame
        Samples removed by pairing (from :meth:`Cohort.paired`), empty for DataFrame input.
    dropped_features : DataFrame
        Features removed with ``degenerate="drop"`` (block, feature, reason).
    """

    r: pd.DataFrame
    t: pd.DataFrame
    pvalues: pd.DataFrame
    qvalues: pd.DataFrame
    df: int
    n_samples: int
    method: str
    correction: str
    covariates: list[str]
    alpha: float = 0.05
    x_name: str = "x"
    y_name: str = "y"
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["sample_id", "view", "reason"]))
    dropped_features: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["block", "feature", "reason"]))

    @property
    def n_tests(self) -> int:
        return int(self.r.size)

    @property
    def n_significant(self) -> int:
        return int((self.qvalues.to_numpy() <= self.alpha).sum())

    def to_frame(self, top: int | None = None, significant_only: bool = False) -> pd.DataFrame:
        """Tidy table sorted by p-value: feature_x, feature_y, r, t, df, p_parametric, q.

        ``top`` keeps the ``top`` smallest p-values (recommended for large screens).
        """
        p = self.pvalues.to_numpy()
        flat = p.ravel()
        if significant_only:
            idx = np.flatnonzero(self.qvalues.to_numpy().ravel() <= self.alpha)
            idx = idx[np.argsort(flat[idx], kind="stable")]
        elif top is not None and top < flat.size:
            idx = np.argpartition(flat, top)[:top]
            idx = idx[np.argsort(flat[idx], kind="stable")]
        else:
            idx = np.argsort(flat, kind="stable")
        if top is not None:
            idx = idx[:top]
        i, j = np.unravel_index(idx, p.shape)
        return pd.DataFrame(
            {
                "feature_x": self.r.index.to_numpy()[i],
                "feature_y": self.r.columns.to_numpy()[j],
                "r": self.r.to_numpy()[i, j],
                "t": self.t.to_numpy()[i, j],
                "df": self.df,
                "p_parametric": flat[idx],
                "q": self.qvalues.to_numpy()[i, j],
            }
        )

    def summary(self) -> str:
        q = self.qvalues.to_numpy()
        lines = [
            f"Association screen: {self.x_name} ({self.r.shape[0]} features) x "
            f"{self.y_name} ({self.r.shape[1]} features)",
            f"  n = {self.n_samples}, df = {self.df}, method = {self.method}, "
            f"covariates = {', '.join(self.covariates) or 'none'}",
            f"  {self.n_tests} tests; {self.correction} <= {self.alpha}: {self.n_significant} pairs, "
            f"{int((q <= self.alpha).any(axis=1).sum())} {self.x_name} features, "
            f"{int((q <= self.alpha).any(axis=0).sum())} {self.y_name} features",
            f"  max |r| = {np.nanmax(np.abs(self.r.to_numpy())):.3f}; "
            f"samples dropped by pairing: {len(self.dropped)}; "
            f"features dropped: {len(self.dropped_features)}",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "AssociationResult\n" + self.summary()


def _prepare_block(A: pd.DataFrame, name: str) -> np.ndarray:
    values = A.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise CohortValidationError(
            f"{name} contains NaN or inf; clean it or build a Cohort with a nan_policy"
        )
    return values


def associate(
    X: pd.DataFrame | Cohort,
    Y: pd.DataFrame | None = None,
    covariates: pd.DataFrame | None = None,
    *,
    x: str | None = None,
    y: str | None = None,
    adjust_centre: bool = True,
    method: str = "pearson",
    correction: str = "fdr_bh",
    alpha: float = 0.05,
    degenerate: str = "raise",
) -> AssociationResult:
    """Test every imaging feature against every molecular feature, adjusting for covariates.

    Parameters
    ----------
    X : DataFrame or Cohort
        Samples x imaging features, or a :class:`Cohort` (then give view names ``x``, ``y``).
    Y : DataFrame
        Samples x molecular features (same sample IDs as ``X``) when ``X`` is a DataFrame.
    covariates : DataFrame, optional
        Covariates to adjust for; with a Cohort, the cohort's covariates are used unless
        ``covariates`` is given.
    x, y : str
        View names when ``X`` is a Cohort.
    adjust_centre : bool
        With a Cohort that has a centre, add centre (dummy coded) to the covariates.
    method : {"pearson", "spearman"}
    correction : {"fdr_bh", "bonferroni"}
        Multiple-testing correction over all pairs.
    alpha : float
        Level used by :attr:`AssociationResult.n_significant` and ``summary()``.
    degenerate : {"raise", "drop"}
        A feature with no variance left on the analysed samples after covariate adjustment
        (common with partially paired views: constant on the paired subset) is refused, or
        with ``"drop"`` removed and listed in ``result.dropped_features``.

    Returns
    -------
    AssociationResult

    Notes
    -----
    See the module docstring for the model.  ``p_parametric`` equals the OLS t-test p-value
    of ``x`` in ``y ~ x + covariates``.  Samples present in only one block are removed by
    :meth:`Cohort.paired` and listed in ``result.dropped``; DataFrames must already share
    their sample IDs (a mismatch raises an error naming the IDs).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {CORRECTIONS}, got {correction!r}")
    if degenerate not in ("raise", "drop"):
        raise ValueError(f"degenerate must be 'raise' or 'drop', got {degenerate!r}")
    centre = None
    dropped = pd.DataFrame(columns=["sample_id", "view", "reason"])
    x_name, y_name = "x", "y"
    if isinstance(X, Cohort):
        if x is None or y is None:
            raise ValueError("with a Cohort, name the two views: associate(cohort, x='radiomics', y='expression')")
        paired = X.paired(x, y)
        Xdf, Ydf = paired[x], paired[y]
        if covariates is None:
            covariates = paired.covariates
        if adjust_centre and paired.centre is not None and paired.centre.nunique() > 1:
            centre = paired.centre
        dropped = paired.dropped
        x_name, y_name = x, y
    else:
        if Y is None:
            raise ValueError("give Y (a DataFrame) or pass a Cohort with x= and y= view names")
        Xdf, Ydf = X, Y
        if not Xdf.index.equals(Ydf.index):
            only_x = Xdf.index.difference(Ydf.index)
            only_y = Ydf.index.difference(Xdf.index)
            if len(only_x) or len(only_y) or len(Xdf) != len(Ydf):
                raise CohortValidationError(
                    f"X and Y sample IDs differ ({len(only_x)} only in X, e.g. {list(only_x[:3])}; "
                    f"{len(only_y)} only in Y, e.g. {list(only_y[:3])}); align them or build a "
                    "Cohort and use associate(cohort, x=..., y=...), which reports what it drops"
                )
            Ydf = Ydf.loc[Xdf.index]
    for name, df in (("X", Xdf), ("Y", Ydf)):
        if df.index.duplicated().any():
            raise CohortValidationError(f"{name} has duplicated sample IDs; de-duplicate them")
    Z = design_matrix(covariates, Xdf.index, centre)
    n = len(Xdf)
    k = Z.shape[1] - 1
    dof = n - 2 - k  # >= 1, checked by design_matrix
    A = _prepare_block(Xdf, "X")
    B = _prepare_block(Ydf, "Y")
    if method == "spearman":
        A = stats.rankdata(A, axis=0)
        B = stats.rankdata(B, axis=0)
    Zv = Z.to_numpy()
    Ra, keep_a = _residual_unit_columns(A, Zv, "X", Xdf.columns, degenerate)
    Rb, keep_b = _residual_unit_columns(B, Zv, "Y", Ydf.columns, degenerate)
    dropped_features = pd.DataFrame(
        [{"block": x_name, "feature": f, "reason": "no variance after covariate adjustment"}
         for f in Xdf.columns[~keep_a]]
        + [{"block": y_name, "feature": f, "reason": "no variance after covariate adjustment"}
           for f in Ydf.columns[~keep_b]],
        columns=["block", "feature", "reason"],
    )
    Xdf, Ydf = Xdf.loc[:, keep_a], Ydf.loc[:, keep_b]
    r = np.clip(Ra.T @ Rb, -1.0, 1.0)
    with np.errstate(divide="ignore"):
        t = r * np.sqrt(dof / np.maximum(1.0 - r * r, np.finfo(float).tiny))
    p = 2.0 * special.stdtr(dof, -np.abs(t))  # = 2 * stats.t.sf(|t|, dof), without the overhead
    q = adjust_pvalues(p, correction)
    frame = lambda M: pd.DataFrame(M, index=Xdf.columns, columns=Ydf.columns)  # noqa: E731
    return AssociationResult(
        r=frame(r), t=frame(t), pvalues=frame(p), qvalues=frame(q), df=int(dof),
        n_samples=n, method=method, correction=correction, covariates=list(Z.columns[1:]),
        alpha=alpha, x_name=x_name, y_name=y_name, dropped=dropped,
        dropped_features=dropped_features,
    )
