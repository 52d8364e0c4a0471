"""Shared machinery of the CCA estimators: input checks, centring, sign convention, results.

Conventions (all estimators)
----------------------------
* ``fit(X, Y)`` takes arrays or DataFrames (samples x features, same number of rows; with two
  DataFrames the sample IDs must match).  Columns are centred; with ``scale=True`` also divided
  by their standard deviation (``ddof=1``, as R's ``scale``).
* ``x_weights_`` (p x k), ``y_weights_`` (q x k) map the centred (scaled) data to canonical
  variates; their normalisation is the estimator's own (documented there, chosen to match the R
  reference it reproduces).
* ``canonical_correlations_`` (k,): the estimator's canonical correlations (for ridge CCA the
  regularised criterion, as ``CCA::rcc``'s ``cor``); ``score_correlations_`` (k,): the plain
  in-sample Pearson correlation of the x and y scores.
* ``x_scores_``, ``y_scores_`` (n x k) on the training data; ``x_loadings_``, ``y_loadings_``
  (p x k, q x k): structure correlations, corr(feature, own variate).
* Sign: each pair (x weights, y weights) is flipped jointly so that the x loading of largest
  absolute value is positive (the sign of a canonical pair is otherwise arbitrary).
* ``transform(X, Y=None)`` returns x scores (and y scores when Y is given);
  ``score(X, Y)`` returns the held-out correlation of the first pair of variates, so
  ``cross_validate`` reports out-of-sample canonical correlation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._checks import InputError, align_samples, as_matrix, check_n_samples, listing, numeric_frame
from .._linalg import centred_rank, matrix_rank, thin_svd

__all__ = ["BaseCCA", "check_blocks", "fix_signs", "structure_correlations", "column_correlations",
           "thin_svd", "centred_rank", "matrix_rank", "shared_dimensions",
           "DegenerateCCAError", "InSampleCorrelationWarning"]


class DegenerateCCAError(InputError):
    """Classical CCA is degenerate on these blocks: correlations of 1 are forced by the ranks
    of the centred blocks (too few distinct samples for ``p + q`` features, duplicated rows as
    in a bootstrap resample, collinear columns or an exact linear relation between blocks)."""


class InSampleCorrelationWarning(UserWarning):
    """In-sample canonical correlations that say nothing about the data (``n`` too small for
    ``p + q``): the penalty, not the association, keeps them below 1.  Judge the association
    out of sample (``cross_validated_correlation``) or by a permutation test."""


def _as_frame(B, label: str):
    """A validated copy of an indexed block (text, duplicated IDs, MultiIndex refused)."""
    if isinstance(B, pd.Series):
        B = B.to_frame()
    if isinstance(B, pd.DataFrame):
        return numeric_frame(B, label, string_ids=False)
    return B


def check_blocks(X, Y, min_samples: int = 3):
    """Validate two blocks; return float arrays and feature names.

    Uses the shared input layer (:mod:`radiogenomics._checks`): text or non-numeric columns,
    duplicated sample or feature IDs, NaN/inf (named by sample and feature), different sample
    IDs in two DataFrames (rows are aligned by ID when the sets agree), different row counts,
    too few samples and constant columns are refused with a message that names them and the
    fix.  Feature names of arrays are ``x0, x1, ...`` and ``y0, y1, ...``.
    """
    frames = align_samples({"X": _as_frame(X, "X"), "Y": _as_frame(Y, "Y")})
    out = []
    for label in ("X", "Y"):
        A, index, names = as_matrix(frames[label], label)
        if not isinstance(frames[label], pd.DataFrame):
            names = np.array([f"{label.lower()}{j}" for j in range(A.shape[1])], dtype=object)
        out.append((A, index, np.asarray(names)))
    (X, _, xn), (Y, _, yn) = out
    check_n_samples(X.shape[0], min_samples, "CCA", "pair more samples")
    for label, B, nm in (("X", X, xn), ("Y", Y, yn)):
        sd = B.std(axis=0)
        const = sd <= 1e-12 * np.maximum(np.abs(B).max(axis=0), np.finfo(float).tiny)
        if const.any():
            raise InputError(
                f"{label} has {int(const.sum())} constant column(s) {listing(nm[const], 5)}; "
                "remove them (Cohort constant_policy='drop')")
    return X, Y, xn, yn


def shared_dimensions(Ux: np.ndarray, Uy: np.ndarray) -> tuple[int, int]:
    """Dimension of the intersection of two column spaces, and of their sum.

    ``Ux``, ``Uy``: orthonormal bases (from :func:`thin_svd` of the centred blocks).  The
    number of canonical correlations equal to 1 is ``rank Ux + rank Uy - rank [Ux Uy]``; the
    rank of ``[Ux Uy]`` is computed directly (its smallest singular values are accurate to
    rounding), not from ``1 - r``, which loses half the digits.
    """
    both = matrix_rank(np.hstack([Ux, Uy])) if Ux.size and Uy.size else Ux.shape[1] + Uy.shape[1]
    return Ux.shape[1] + Uy.shape[1] - both, both


def column_correlations(A: np.ndarray, S: np.ndarray) -> np.ndarray:
    """Pearson correlations between the columns of A (n x a) and of S (n x k): a x k."""
    Ac = A - A.mean(axis=0)
    Sc = S - S.mean(axis=0)
    num = Ac.T @ Sc
    den = np.outer(np.linalg.norm(Ac, axis=0), np.linalg.norm(Sc, axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, 0.0)


def structure_correlations(A: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Loadings: correlation of each column of A with each variate A @ W."""
    return column_correlations(A, A @ W)


def fix_signs(Wx: np.ndarray, Wy: np.ndarray, Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flip each pair jointly so that its x loading of largest |value| is positive."""
    Wx, Wy = Wx.copy(), Wy.copy()
    load = structure_correlations(Xc, Wx)
    for k in range(Wx.shape[1]):
        j = int(np.argmax(np.abs(load[:, k])))
        if load[j, k] < 0:
            Wx[:, k] *= -1
            Wy[:, k] *= -1
    return Wx, Wy


class BaseCCA(TransformerMixin, BaseEstimator):
    """Base class: subclasses implement ``_fit_weights(Xc, Yc) -> (Wx, Wy, cors)``."""

    def _preprocess_fit(self, X, Y):
        self._x_columns = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None
        self._y_columns = [str(c) for c in Y.columns] if isinstance(Y, pd.DataFrame) else None
        X, Y, xn, yn = check_blocks(X, Y)
        self.n_samples_ = X.shape[0]
        self.feature_names_x_, self.feature_names_y_ = xn, yn
        self.n_features_in_ = X.shape[1]
        self.x_mean_, self.y_mean_ = X.mean(axis=0), Y.mean(axis=0)
        if getattr(self, "scale", False):
            self.x_std_, self.y_std_ = X.std(axis=0, ddof=1), Y.std(axis=0, ddof=1)
        else:
            self.x_std_, self.y_std_ = np.ones(X.shape[1]), np.ones(Y.shape[1])
        return (X - self.x_mean_) / self.x_std_, (Y - self.y_mean_) / self.y_std_

    def _set_results(self, Xc, Yc, Wx, Wy, cors):
        Wx, Wy = fix_signs(Wx, Wy, Xc)
        self.x_weights_, self.y_weights_ = Wx, Wy
        self.canonical_correlations_ = np.asarray(cors, dtype=np.float64)
        self.x_scores_, self.y_scores_ = Xc @ Wx, Yc @ Wy
        self.score_correlations_ = np.array(
            [np.corrcoef(self.x_scores_[:, k], self.y_scores_[:, k])[0, 1] for k in range(Wx.shape[1])])
        self.x_loadings_ = structure_correlations(Xc, Wx)
        self.y_loadings_ = structure_correlations(Yc, Wy)
        return self

    def fit(self, X, Y):
        Xc, Yc = self._preprocess_fit(X, Y)
        Wx, Wy, cors = self._fit_weights(Xc, Yc)
        return self._set_results(Xc, Yc, Wx, Wy, cors)

    def _center(self, A, mean, std, label):
        fitted_cols = getattr(self, "_x_columns" if label == "X" else "_y_columns", None)
        cols = [str(c) for c in A.columns] if isinstance(A, pd.DataFrame) else None
        if cols is not None and fitted_cols is not None and cols != fitted_cols:
            missing = [c for c in fitted_cols if c not in set(cols)]
            raise InputError(
                f"{label} columns differ from those seen in fit (same names in the same order are "
                f"needed; e.g. {label}[model_columns]); "
                + (f"missing: {listing(missing, 5)}" if missing else "first difference near "
                   f"{next((c for c, d in zip(cols, fitted_cols) if c != d), cols[-1])!r}"))
        A = as_matrix(A, label)[0]
        if A.shape[1] != mean.shape[0]:
            raise InputError(f"{label} has {A.shape[1]} features but the model was fitted on "
                             f"{mean.shape[0]}; pass the same features as in fit")
        return (A - mean) / std

    def transform(self, X, Y=None):
        """Canonical variates of new data (centred/scaled with the training statistics).

        With two DataFrames the rows of ``Y`` are aligned to ``X`` by sample ID (different ID
        sets are refused)."""
        check_is_fitted(self, "x_weights_")
        if Y is not None:
            blocks = align_samples({"X": _as_frame(X, "X"), "Y": _as_frame(Y, "Y")})
            X, Y = blocks["X"], blocks["Y"]
        xs = self._center(X, self.x_mean_, self.x_std_, "X") @ self.x_weights_
        if Y is None:
            return xs
        return xs, self._center(Y, self.y_mean_, self.y_std_, "Y") @ self.y_weights_

    def fit_transform(self, X, Y=None, **fit_params):
        if Y is None:
            raise ValueError("CCA needs both blocks: fit_transform(X, Y)")
        return self.fit(X, Y).transform(X, Y)

    def score(self, X, Y):
        """Correlation of the first pair of variates on (held-out) data."""
        xs, ys = self.transform(X, Y)
        return float(np.corrcoef(xs[:, 0], ys[:, 0])[0, 1])

    def to_frame(self) -> pd.DataFrame:
        """One row per component: canonical and in-sample score correlations."""
        check_is_fitted(self, "x_weights_")
        k = self.x_weights_.shape[1]
        return pd.DataFrame({"component": np.arange(1, k + 1),
                             "canonical_correlation": self.canonical_correlations_,
                             "score_correlation": self.score_correlations_})

    def weights_frame(self, block: str = "x") -> pd.DataFrame:
        W = self.x_weights_ if block == "x" else self.y_weights_
        names = self.feature_names_x_ if block == "x" else self.feature_names_y_
        return pd.DataFrame(W, index=names, columns=[f"CV{k + 1}" for k in range(W.shape[1])])

    def loadings_frame(self, block: str = "x") -> pd.DataFrame:
        L = self.x_loadings_ if block == "x" else self.y_loadings_
        names = self.feature_names_x_ if block == "x" else self.feature_names_y_
        return pd.DataFrame(L, index=names, columns=[f"CV{k + 1}" for k in range(L.shape[1])])

    def summary(self) -> str:
        check_is_fitted(self, "x_weights_")
        fmt = lambda v: ", ".join(f"{c:.3f}" for c in v)  # noqa: E731
        text = (f"{type(self).__name__}: n = {self.n_samples_}, p = {self.x_weights_.shape[0]}, "
                f"q = {self.y_weights_.shape[0]}; canonical correlations: "
                f"{fmt(self.canonical_correlations_)}")
        if not np.allclose(self.canonical_correlations_, self.score_correlations_, atol=1e-6):
            text += (f" (the estimator's criterion); in-sample correlations of the variates: "
                     f"{fmt(self.score_correlations_)}")
        return text + ". In-sample values are optimistic in small samples: see " \
            "cross_validated_correlation."
