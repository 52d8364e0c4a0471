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
        The columns of ``X`` to use (e.g. ``["age", "sex_M"]`` for a clinical model); default
        all.  Text columns must be encoded first (``pd.get_dummies(..., drop_first=True)``).
    ties : {"efron", "breslow"}

    After ``fit``: ``result_`` (the :class:`~radiogenomics.survival.CoxPHResult`), ``coef_``.
    ``predict`` gives the linear predictor ``x' beta`` (higher = earlier event), ``score``
    Harrell's C, ``predict_survival`` / ``predict_risk`` the absolute predictions of
    ``survfit(fit, newdata)``.  Non-convergence is warned by ``coxph`` and kept in
    ``result_.converged``.
    """

    def __init__(self, columns: Sequence[str] | None = None, ties: str = "efron"):
        self.columns = columns
        self.ties = ties

    def _design(self, X) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X))
        if self.columns is None:
            return X
        missing = [c for c in self.columns if c not in X.columns]
        if missing:
            raise InputError(f"CoxPHModel: columns {missing} are not in X (it has "
                             f"{list(X.columns)[:8]}...); pass the clinical columns with X")
        return X[list(self.columns)]

    def fit(self, X, y):
        t, e, _ = as_survival(y)
        A = self._design(X)
        self.result_ = coxph(A.reset_index(drop=True), time=t, event=e, ties=self.ties)
        self.coef_ = self.result_.coef
        self.feature_names_in_ = np.array([str(c) for c in A.columns], dtype=object)
        return self

    def _new(self, X) -> pd.DataFrame:
        return self._design(X).reset_index(drop=True)

    def predict(self, X) -> np.ndarray:
        return self.result_.linear_predictor(self._new(X), centered=False).to_numpy()

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
