"""An unpenalised Cox model as a scikit-learn estimator (:class:`CoxPHModel`): the clinical
baseline of a radiogenomic risk score in :func:`radiogenomics.validation.cross_validate`, or
any Cox model inside a Pipeline."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from .._checks import InputError
from ._data import as_survival
from .coxph import coxph

__all__ = ["CoxPHModel"]


class CoxPHModel(BaseEstimator):
    """Cox proportional hazards (:func:`radiogenomics.survival.coxph`, equal to
    ``survival::coxph``) behind scikit-learn's ``fit`` / ``predict``.

    Parameters
    ----------
    columns : sequence of str, optional
        The columns of ``X`` to use (e.g. ``["age", "sex"]`` for a clinical model); default
        all.  Text (and categorical) columns are dummy coded against their first level (sorted)
        in the training rows; a level unseen in training is refused, named.
    ties : {"efron", "breslow"}

    After ``fit``: ``result_`` (the :class:`~radiogenomics.survival.CoxPHResult`), ``coef_``,
    ``converged_`` / ``n_iter_``.  ``predict`` gives the linear predictor ``x' beta``
    (higher = earlier event) centred at its training mean (as R's ``predict.coxph``; risk
    scores of models fitted on different folds are then on one scale), ``score`` Harrell's C,
    ``predict_survival`` / ``predict_risk`` the absolute predictions of
    ``survfit(fit, newdata)``.  Non-convergence is warned by ``coxph`` and kept in
    ``converged_``.
    """

    def __init__(self, columns: Sequence[str] | None = None, ties: str = "efron"):
        self.columns = columns
        self.ties = ties

    def _select(self, X) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X))
        if self.columns is None:
            return X
        missing = [c for c in self.columns if c not in X.columns]
        if missing:
            raise InputError(f"CoxPHModel: columns {missing} are not in X (it has "
                             f"{list(X.columns)[:8]}...); pass the clinical columns with X")
        return X[list(self.columns)]

    def _design(self, X) -> pd.DataFrame:
        """The selected columns, text ones dummy coded with the training levels."""
        A = self._select(X)
        parts = {}
        for c in A.columns:
            if c in self.levels_:
                lev, col = self.levels_[c], A[c].astype(str)
                unknown = sorted(set(col) - set(lev))
                if unknown:
                    raise InputError(f"CoxPHModel: {c} has level(s) {unknown} not seen in "
                                     f"training ({lev}); recode them")
                for v in lev[1:]:
                    parts[f"{c}_{v}"] = (col == v).astype(float)
            else:
                parts[c] = A[c]
        return pd.DataFrame(parts, index=A.index).reset_index(drop=True)

    def fit(self, X, y):
        t, e, _ = as_survival(y)
        A = self._select(X)
        self.levels_ = {c: sorted(A[c].astype(str).unique()) for c in A.columns
                        if not pd.api.types.is_numeric_dtype(A[c])}
        D = self._design(X)
        self.result_ = coxph(D, time=t, event=e, ties=self.ties)
        self.coef_ = self.result_.coef
        self.converged_, self.n_iter_ = self.result_.converged, self.result_.n_iter
        self.feature_names_in_ = np.array([str(c) for c in D.columns], dtype=object)
        self.lp_offset_ = float(self.result_.linear_predictor(D, centered=False).mean())
        return self

    def _new(self, X) -> pd.DataFrame:
        return self._design(X)

    def predict(self, X) -> np.ndarray:
        """``x' beta`` minus its training mean (``lp_offset_``)."""
        eta = self.result_.linear_predictor(self._new(X), centered=False).to_numpy()
        return eta - self.lp_offset_

    def predict_survival(self, X, times) -> pd.DataFrame:
        S = self.result_.predict_survival(self._new(X), times)
        S.index = X.index if isinstance(X, pd.DataFrame) else S.index
        return S

    def predict_risk(self, X, horizon: float) -> np.ndarray:
        return 1.0 - self.predict_survival(X, [horizon]).to_numpy()[:, 0]

    def score(self, X, y) -> float:
        from .concordance import _harrell_c_value
        t, e, _ = as_survival(y)
        return _harrell_c_value(t, e, self.predict(X))
