"""Low-level linear algebra and label helpers shared by every analysis module.

One rank tolerance (numpy's ``matrix_rank`` rule: singular values above
``max(n, p) * eps * s_max``) for the thin SVD, ranks, residualisation and degrees of freedom,
so CCA, ridge whitening, nuisance bases, association and MR agree on when a block has lost
rank.  Analysis modules import these helpers from here, never from each other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._checks import InputError, listing

__all__ = ["EPS", "rank_tolerance", "thin_svd", "matrix_rank", "centred_rank", "residualise",
           "residual_dof", "design_matrix", "design_by_block", "check_design", "block_labels"]

EPS = np.finfo(np.float64).eps
CohortValidationError = InputError


def rank_tolerance(s: np.ndarray, shape: tuple[int, int]) -> float:
    """Singular values at or below this are zero: ``max(shape) * eps * s_max``."""
    return float(max(shape) * EPS * (s[0] if s.size else 0.0))


def thin_svd(A: np.ndarray, rtol: float | None = None):
    """Thin SVD ``A = U diag(s) Vt`` without directions of (numerically) zero singular value.

    The rank cut is numpy's ``matrix_rank`` tolerance (``max(n, p) * eps * s_max``) unless
    ``rtol`` (relative to ``s_max``) is given.  Wide matrices are decomposed through their
    transpose (faster in LAPACK).  Returns ``U`` (n x r), ``s`` (r,), ``Vt`` (r x p).
    """
    A = np.asarray(A, dtype=np.float64)
    if A.shape[1] > A.shape[0]:
        V, s, Ut = np.linalg.svd(A.T, full_matrices=False)
        U, Vt = Ut.T, V.T
    else:
        U, s, Vt = np.linalg.svd(A, full_matrices=False)
    if s.size == 0 or s[0] <= 0:
        return U[:, :0], s[:0], Vt[:0]
    cut = rank_tolerance(s, A.shape) if rtol is None else rtol * s[0]
    r = int(np.sum(s > cut))
    return U[:, :r], s[:r], Vt[:r]


def matrix_rank(A: np.ndarray) -> int:
    """Numerical rank with the tolerance of :func:`thin_svd`."""
    A = np.asarray(A, dtype=np.float64)
    if A.size == 0:
        return 0
    s = np.linalg.svd(A, compute_uv=False)
    return int(np.sum(s > rank_tolerance(s, A.shape))) if s.size and s[0] > 0 else 0


def centred_rank(A: np.ndarray) -> int:
    """Rank of the column-centred block (what CCA can use: at most n - 1)."""
    A = np.asarray(A, dtype=np.float64)
    return matrix_rank(A - A.mean(axis=0))


def residualise(A: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Residuals of the columns of ``A`` after least-squares regression on ``Z``.

    Rank-aware: the projection uses an orthonormal basis of the column space of ``Z`` from
    :func:`thin_svd`, so a rank-deficient ``Z`` projects onto its span instead of failing.
    """
    A = np.asarray(A, dtype=np.float64)
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim == 1:
        Z = Z[:, None]
    if Z.shape[1] == 0:
        return A.copy()
    Q = thin_svd(Z)[0]
    return A - Q @ (Q.T @ A)


def residual_dof(Z: np.ndarray | None, n: int) -> int:
    """Residual degrees of freedom ``n - rank(Z)`` (``n`` when there is no design)."""
    if Z is None:
        return n
    return n - matrix_rank(np.asarray(Z, dtype=np.float64))


def block_labels(labels, index=None, n: int | None = None, *, centre: pd.Series | None = None,
                 what: str = "exchangeability_blocks") -> np.ndarray | None:
    """Labels (exchangeability blocks, groups, strata) as an array in the analysed row order.

    ``labels`` may be None (returned as None), the string ``"centre"`` (taken from
    ``centre``, a Series indexed by sample ID), a Series (aligned by sample ID to ``index``
    when ``index`` is given; its IDs must be unique and cover every analysed sample) or any
    1-D array-like (positional, one label per row).  ``index`` is the analysed samples' IDs
    (None for positional data); ``n`` their number when ``index`` is None.
    """
    if labels is None:
        return None
    if n is None:
        if index is None:
            raise TypeError("block_labels needs index or n")
        n = len(index)
    if isinstance(labels, str):
        if labels != "centre":
            raise InputError(f"{what} as a string must be 'centre', got {labels!r}")
        if centre is None:
            raise InputError(f"{what}='centre' needs a Cohort with a centre (or pass the labels)")
        labels = centre
    if isinstance(labels, pd.Series) and index is not None:
        if labels.index.duplicated().any():
            dup = labels.index[labels.index.duplicated()].unique()
            raise InputError(f"{what} has duplicated sample IDs ({listing(dup, 3)}); give one "
                             "label per sample")
        missing = pd.Index(index).difference(labels.index)
        if len(missing):
            raise InputError(
                f"{what} has no label for {len(missing)} analysed sample(s) (e.g. "
                f"{listing(missing, 3)}); give a Series indexed by sample ID covering them")
        return labels.reindex(index).to_numpy()
    arr = labels.to_numpy() if isinstance(labels, pd.Series) else np.asarray(labels)
    if arr.shape != (n,):
        raise InputError(
            f"{what} must have one label per analysed sample ({n}), got shape {arr.shape}; pass "
            "a Series indexed by sample ID to align it automatically")
    return arr


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
    return check_design(Z)


def check_design(Z: pd.DataFrame) -> pd.DataFrame:
    """Refuse a design with too few residual degrees of freedom or linearly dependent columns."""
    n, k = Z.shape[0], Z.shape[1] - 1
    if n - 2 - k < 1:
        raise CohortValidationError(
            f"n = {n} samples is too small for {k} covariate column(s): the residual degrees of "
            f"freedom n - 2 - k = {n - 2 - k} must be at least 1; use fewer covariates or more samples"
        )
    Zv = Z.to_numpy()
    norms = np.linalg.norm(Zv, axis=0)
    if (norms == 0).any():
        raise CohortValidationError(
            f"the covariate design has all-zero column(s) {Z.columns[norms == 0].tolist()} "
            "(a level or covariate absent from these samples); drop or merge it")
    rank = np.linalg.matrix_rank(Zv)
    if rank < Z.shape[1]:
        # the columns involved in the (last) exact linear dependence
        vt = np.linalg.svd(Zv / norms, full_matrices=False)[2]
        involved = Z.columns[np.abs(vt[-1]) > 1e-6].tolist()
        raise CohortValidationError(
            f"the covariate design ({', '.join(Z.columns[1:])}) is rank deficient "
            f"(rank {rank} < {Z.shape[1]} columns): {', '.join(involved)} are linearly dependent "
            "(a constant covariate, or one confounded with another such as centre with a "
            "covariate); drop one of them"
        )
    return Z


def design_by_block(Z: pd.DataFrame, blocks) -> pd.DataFrame:
    """Separate nuisance model per block: every column of ``Z`` times each block indicator.

    Columns are named ``"{column}:{block}"``; structural zeros and copies (a centre dummy
    times another centre, or times its own centre, which equals that centre's intercept) are
    left out, which does not change the span of the design.  Used by ``associate(..., covariates_by_block=True)``: with the hat
    matrix block diagonal, residuals of different blocks no longer mix, so within-block
    permutation stays valid when blocks differ in residual spread.
    """
    codes, labels = pd.factorize(pd.Series(np.asarray(blocks, dtype=object)), sort=True)
    cols = {}
    for b, lab in enumerate(labels):
        ind = (codes == b).astype(float)
        seen = []
        for c in Z.columns:
            v = Z[c].to_numpy() * ind
            if v.any() and not any(np.array_equal(v, w) for w in seen):
                cols[f"{c}:{lab}"] = v
                seen.append(v)
    out = pd.DataFrame(cols, index=Z.index)
    return check_design(out)


