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

from ..cohort import CohortValidationError

__all__ = ["BaseCCA", "check_blocks", "fix_signs", "structure_correlations", "column_correlations",
           "thin_svd"]


def check_blocks(X, Y, min_samples: int = 3):
    """Validate two blocks; return float arrays and feature names.

    Refuses mismatched row counts or sample IDs, NaN/inf, constant columns and too few samples,
    each with a message that names the problem and the fix.
    """
    names = []
    arrays = []
    if isinstance(X, pd.DataFrame) and isinstance(Y, pd.DataFrame) and not X.index.equals(Y.index):
        only_x = X.index.difference(Y.index)
        only_y = Y.index.difference(X.index)
        if len(only_x) or len(only_y) or len(X) != len(Y):
            raise CohortValidationError(
                f"X and Y sample IDs differ ({len(only_x)} only in X, e.g. {list(only_x[:3])}; "
                f"{len(only_y)} only in Y, e.g. {list(only_y[:3])}); align them (Cohort.paired)")
        Y = Y.loc[X.index]
    for label, B in (("X", X), ("Y", Y)):
        if isinstance(B, pd.DataFrame):
            names.append(np.asarray(B.columns.astype(str)))
            B = B.to_numpy(dtype=np.float64)
        else:
            B = np.asarray(B, dtype=np.float64)
            if B.ndim == 1:
                B = B[:, None]
            names.append(np.array([f"{label.lower()}{j}" for j in range(B.shape[1])]))
        if B.ndim != 2:
            raise ValueError(f"{label} must be 2-D (samples x features), got shape {B.shape}")
        if not np.isfinite(B).all():
            raise CohortValidationError(
                f"{label} contains NaN or inf; impute or drop them first (Cohort nan_policy)")
        arrays.append(B)
    X, Y = arrays
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but Y has {Y.shape[0]}; pair the samples first")
    if X.shape[0] < min_samples:
        raise ValueError(f"CCA needs at least {min_samples} samples, got {X.shape[0]}")
    for label, B, nm in (("X", X, names[0]), ("Y", Y, names[1])):
        sd = B.std(axis=0)
        const = sd <= 1e-12 * np.maximum(np.abs(B).max(axis=0), np.finfo(float).tiny)
        if const.any():
            raise CohortValidationError(
                f"{label} has constant column(s) {list(nm[const][:5])}; remove them "
                "(Cohort constant_policy='drop')")
    return X, Y, names[0], names[1]


def thin_svd(A: np.ndarray, rtol: float = 1e-10):
    """Thin SVD ``A = U diag(s) Vt`` without directions of (numerically) zero singular value
    (``s <= rtol * s_max``)."""
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    keep = s > rtol * s[0] if s.size and s[0] > 0 else np.zeros(s.shape, bool)
    return U[:, keep], s[keep], Vt[keep]


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
        self._x_columns = list(X.columns) if isinstance(X, pd.DataFrame) else None
        self._y_columns = list(Y.columns) if isinstance(Y, pd.DataFrame) else None
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
        if isinstance(A, pd.DataFrame) and fitted_cols is not None and list(A.columns) != fitted_cols:
            raise ValueError(
                f"{label} columns differ from those seen in fit (same names in the same order are "
                f"needed; e.g. {label}[model_columns]); first difference near "
                f"{next((c for c, d in zip(A.columns, fitted_cols) if c != d), A.columns[-1])!r}")
        A = A.to_numpy(dtype=np.float64) if isinstance(A, pd.DataFrame) else np.asarray(A, np.float64)
        if A.ndim == 1:
            A = A[:, None]
        if A.shape[1] != mean.shape[0]:
            raise ValueError(f"{label} has {A.shape[1]} features but the model was fitted on {mean.shape[0]}")
        return (A - mean) / std

    def transform(self, X, Y=None):
        """Canonical variates of new data (centred/scaled with the training statistics)."""
        check_is_fitted(self, "x_weights_")
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
