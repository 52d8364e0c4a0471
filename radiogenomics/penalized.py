r"""Penalised prediction: glmnet-compatible elastic net, in-fold harmonisation, stability
selection and multi-modal fusion.

glmnet
------
The elastic-net paths, glmnet's lambda sequence and ``cv.glmnet`` live in
:mod:`radiogenomics.elasticnet` (on the Numba engine :mod:`radiogenomics._cd`); their names
are re-exported here.

Estimators
----------
* :class:`PenalizedModel`: scikit-learn estimator (regressor or classifier) with lambda chosen
  by inner K-fold CV on glmnet's sequence (``selection="min"`` or ``"1se"``), multi-output
  targets fitted column by column.
* :class:`ComBatTransformer`: ComBat inside a Pipeline.  The batch (centre) and covariate
  columns travel in ``X`` and are consumed by the step, so every cross-validation splitter
  fits harmonisation on training rows only; held-out centres are harmonised from their own
  features (``new_batches="estimate"``, label-free).
* :func:`make_pipeline`: in-fold median imputation of missing predictor cells -> ComBat ->
  variance filter -> PenalizedModel (targets are never imputed).
* :func:`stability_selection`: Meinshausen & Buhlmann (2010) selection probabilities with the
  per-family error bound.
* :class:`FusionModel`: early, late (stacked) and intermediate (CCA / MOFA+ scores) fusion of
  modalities with missing blocks, and each modality's contribution.
* :func:`predict_modules` (virtual transcriptomics: module scores from imaging),
  :func:`predict_traits` (imaging traits from expression), :func:`predict_view` (any view to
  any view): cross-validated metrics per target.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from ._checks import InputError, check_rng, listing
from .elasticnet import (DEFAULT_THRESH, GlmnetPath, PenalizedError, PenalizedInputError,
                         _as_xy, _check_family, cv_glmnet, glmnet_fit, glmnet_lambda_sequence)

__all__ = ["glmnet_lambda_sequence", "glmnet_fit", "GlmnetPath", "cv_glmnet", "PenalizedModel",
           "ComBatTransformer", "make_pipeline", "stability_selection", "StabilityResult",
           "FusionModel", "PenalizedError", "predict_view", "predict_modules", "predict_traits",
           "PredictionTaskResult", "PenalizedInputError", "InFoldImputer", "drop_imputed_target"]


# ------------------------------------------------------------------------------ estimator

def _as_survival(y):
    from .survival import as_survival
    try:
        return as_survival(y)
    except InputError as exc:
        raise PenalizedInputError(str(exc)) from None


def _survival_target(y):
    """A survival outcome (any layout :func:`radiogenomics.survival.as_survival` reads) as the
    ``(time, status)`` frame the engine takes, keeping a DataFrame's sample IDs."""
    t, e, index = _as_survival(y)
    if index is None:                    # arrays pair with X by position
        return np.column_stack([t, e])
    return pd.DataFrame({"time": t, "status": e}, index=index)


def _inner_folds(A, y, family, cv, rng, groups):
    """Inner folds for lambda: K-fold (stratified for binomial); with ``groups`` (e.g. centres
    under leave-one-centre-out) each group stays together (``GroupKFold``;
    ``StratifiedGroupKFold`` for binomial), so lambda is chosen for prediction in an unseen
    group, as the outer loop scores it.  Returns the folds and their description."""
    from sklearn.model_selection import (GroupKFold, KFold, StratifiedGroupKFold,
                                         StratifiedKFold)

    seed = int(check_rng(rng).integers(2**31 - 1))
    n_groups = 0 if groups is None else len(pd.unique(np.asarray(groups)))
    strat = family == "binomial"
    if groups is not None and n_groups >= 2:
        cv = min(cv, n_groups)
        splitter = (StratifiedGroupKFold(cv, shuffle=True, random_state=seed) if strat
                    else GroupKFold(cv))
        inner = f"{cv}-fold grouped ({n_groups} groups)"
    else:
        splitter = (StratifiedKFold(cv, shuffle=True, random_state=seed) if strat
                    else KFold(cv, shuffle=True, random_state=seed))
        inner = f"{cv}-fold" + (" (one group only: plain folds)" if groups is not None else "")
    folds = list(splitter.split(A, y if strat else None,
                                None if groups is None or n_groups < 2 else np.asarray(groups)))
    return folds, inner


class _FamilyEstimator(BaseEstimator):
    """A regressor for ``family="gaussian"``, a classifier for ``"binomial"`` (scikit-learn's
    ``is_classifier`` / ``is_regressor``, scorers and CV splitters follow ``family``); for
    ``"cox"`` neither (a survival model, as scikit-survival's: ``predict`` gives the risk
    score, ``score`` Harrell's C)."""

    @property
    def _estimator_type(self):
        return {"binomial": "classifier", "cox": None}.get(self.family, "regressor")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = self._estimator_type
        if self.family == "binomial":
            from sklearn.utils import ClassifierTags
            tags.classifier_tags = ClassifierTags()
        elif self.family != "cox":
            from sklearn.utils import RegressorTags
            tags.regressor_tags = RegressorTags()
        return tags

    # subclasses give decision_function: the linear predictor (log-odds for binomial, log
    # relative hazard for cox)
    def predict(self, X):
        eta = self.decision_function(X)
        if self.family == "binomial":
            return (eta > 0).astype(float)
        return eta

    def predict_proba(self, X):
        if self.family != "binomial":
            raise PenalizedError("predict_proba is for family='binomial'")
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])


class PenalizedModel(_FamilyEstimator):
    """Elastic net / lasso / ridge in glmnet's parameterisation, lambda by inner CV
    (``cv.glmnet`` on the project's engine, :func:`radiogenomics.elasticnet.cv_glmnet`).

    Parameters
    ----------
    family : {"gaussian", "binomial", "cox"}
        ``"cox"``: penalised Cox proportional hazards (glmnet's coxnet: Breslow ties by
        default, or ``ties="efron"``); ``y`` is the survival outcome, ``(time, event)`` as a
        two-column DataFrame / array or a structured array (scikit-survival's layout; see
        :func:`radiogenomics.survival.as_survival`).  ``predict`` gives the risk score (the
        linear predictor ``x' beta`` centred at its training mean, as R's
        ``predict.coxph``), ``score`` Harrell's C, and
        ``predict_survival`` / ``predict_risk`` absolute predictions from the Breslow
        baseline hazard of the training data.
    alpha : float
        glmnet's mixing parameter: 1 lasso, 0 ridge, in between elastic net.
    lambda_ : float or None
        Fixed penalty (glmnet's scale); None chooses it by ``cv``-fold CV on glmnet's default
        sequence of ``n_lambda`` values (``selection="min"``: ``lambda.min``, smallest mean CV
        error; ``"1se"``: ``lambda.1se``, the largest lambda within one ``cvsd`` of it).
    thresh : float
        glmnet's convergence threshold for every fit (the KKT violation is checked too).
    ties : {"breslow", "efron"}
        Cox only: tie handling of the partial likelihood (glmnet 4.1-6 has Breslow only).
    type_measure : {"default", "deviance", "C"}
        Cox only: the inner CV's criterion, cv.glmnet's ``type.measure`` (default the partial
        likelihood deviance; ``"C"`` Harrell's C).
    n_jobs : int or None
        Threads for the inner folds (None: one per core); the result does not depend on it.
    rng : int, Generator, BitGenerator, SeedSequence or None
        Seeds the inner folds (SPEC 7).

    Multi-output ``y`` (2-D, gaussian) is fitted column by column; ``coef_`` is then a
    features x targets DataFrame.

    ``fit(X, y, groups=...)`` makes the inner folds keep each group (e.g. centre) together;
    :func:`radiogenomics.validation.cross_validate` passes the training centres under
    leave-one-centre-out, so lambda is tuned for an unseen centre as the outer loop scores it.
    ``inner_cv_`` says which folds were used, ``cv_results_`` holds each target's
    :class:`~radiogenomics.elasticnet.CVGlmnetResult`, ``kkt_`` the KKT violation of each
    final fit and ``convergence_warnings_`` one line per fit that did not converge (empty when
    every fit converged).
    """

    def __init__(self, family: str = "gaussian", alpha: float = 1.0, lambda_: float | None = None,
                 n_lambda: int = 50, lambda_min_ratio: float | None = None, cv: int = 5,
                 selection: str = "min", thresh: float = DEFAULT_THRESH,
                 ties: str = "breslow", type_measure: str = "default",
                 n_jobs: int | None = None, rng=None):
        self.family = family
        self.ties = ties
        self.type_measure = type_measure
        self.alpha = alpha
        self.lambda_ = lambda_
        self.n_lambda = n_lambda
        self.lambda_min_ratio = lambda_min_ratio
        self.cv = cv
        self.selection = selection
        self.thresh = thresh
        self.n_jobs = n_jobs
        self.rng = rng

    def _check_fit_args(self, A, Y, groups):
        if groups is not None and len(groups) != A.shape[0]:
            raise PenalizedError(f"groups has {len(groups)} labels for {A.shape[0]} samples")
        if self.selection not in ("min", "1se"):
            raise PenalizedError(f"selection must be 'min' or '1se', got {self.selection!r}")
        if Y.ndim == 2 and Y.shape[1] > 1 and self.family == "binomial":
            raise PenalizedError("multi-output targets are supported for family='gaussian' only")
        if self.family == "cox" and self.ties not in ("breslow", "efron"):
            raise PenalizedError(f"ties must be 'breslow' or 'efron', got {self.ties!r}")
        if A.shape[0] < 2 * self.cv and self.lambda_ is None:
            raise PenalizedError(f"n = {A.shape[0]} is too small for {self.cv}-fold inner CV; "
                                 "lower cv or give lambda_")

    def _fit_one(self, A, yj, gen, groups, name, log):
        """lambda for one target (inner CV unless fixed), then the final fit down to it."""
        _check_family(self.family, yj)
        if self.lambda_ is None:
            seq = glmnet_lambda_sequence(A, yj, self.family, self.alpha, self.n_lambda,
                                         self.lambda_min_ratio, ties=self.ties)
            folds, self.inner_cv_ = _inner_folds(A, yj, self.family, self.cv, gen,
                                                 None if groups is None else np.asarray(groups))
            res = cv_glmnet(A, yj, folds, self.family, self.alpha, lambdas=seq,
                            thresh=self.thresh, n_jobs=self.n_jobs, ties=self.ties,
                            type_measure=self.type_measure)
            best = res.index_min if self.selection == "min" else res.index_1se
            self.cv_results_[name] = res
            self.cv_curves_[name] = pd.DataFrame({"lambda": seq, "cv_error": res.cvm,
                                                  "cv_se": res.cvsd})
            log.extend(f"{name}: inner CV {m}" for m in res.convergence_warnings)
            lams = seq[: best + 1]         # walk glmnet's sequence down (warm starts)
        else:
            lams = [float(self.lambda_)]
        path = glmnet_fit(A, yj, self.family, self.alpha, lambdas=lams, thresh=self.thresh,
                          ties=self.ties)
        log.extend(f"{name}: {m}" for m in path.convergence_warnings)
        row = path.coef.iloc[-1]
        return float(row.iloc[0]), row.iloc[1:].to_numpy(), float(lams[-1]), float(path.kkt[-1])

    def fit(self, X, y, groups=None):
        if self.family == "cox":
            y = _survival_target(y)
        Xf, A, Y = _as_xy(X, y)
        self._check_fit_args(A, Y, groups)
        if self.family == "cox":
            return self._fit_cox(Xf, A, Y, groups)
        multi = Y.ndim == 2 and Y.shape[1] > 1
        Ym = Y.reshape(len(Y), -1)
        targets = (list(y.columns) if isinstance(y, pd.DataFrame) else
                   [getattr(y, "name", None) or "y"] if not multi else
                   [f"y{j}" for j in range(Ym.shape[1])])
        gen = check_rng(self.rng)
        self.feature_names_in_ = np.array([str(c) for c in Xf.columns], dtype=object)
        self.inner_cv_ = None
        self.cv_curves_, self.cv_results_ = {}, {}
        log: list[str] = []
        fits = [self._fit_one(A, Ym[:, j], gen, groups, str(targets[j]), log)
                for j in range(Ym.shape[1])]
        intercepts, coefs, lams, kkts = (list(t) for t in zip(*fits))
        C = np.column_stack(coefs)
        self.targets_ = targets
        self.multi_output_ = multi
        self.coef_ = (pd.DataFrame(C, index=self.feature_names_in_, columns=targets) if multi
                      else pd.Series(C[:, 0], index=self.feature_names_in_, name="coef"))
        self.intercept_ = np.array(intercepts) if multi else intercepts[0]
        self.lambda_chosen_ = np.array(lams) if multi else lams[0]
        self.kkt_ = np.array(kkts) if multi else kkts[0]
        self.convergence_warnings_ = log
        if self.family == "binomial":
            self.classes_ = np.array([0.0, 1.0])
        return self

    def _fit_cox(self, Xf, A, Y, groups):
        """One survival target: lambda by inner CV, final fit, Breslow baseline hazard."""
        from .survival.coxph import breslow_baseline

        self.feature_names_in_ = np.array([str(c) for c in Xf.columns], dtype=object)
        self.inner_cv_ = None
        self.cv_curves_, self.cv_results_ = {}, {}
        log: list[str] = []
        _, coef, lam, kkt = self._fit_one(A, Y, check_rng(self.rng), groups, "survival", log)
        self.targets_, self.multi_output_ = ["survival"], False
        self.coef_ = pd.Series(coef, index=self.feature_names_in_, name="coef")
        self.intercept_ = 0.0
        self.lambda_chosen_, self.kkt_ = lam, kkt
        self.convergence_warnings_ = log
        eta = A @ coef
        # the linear predictor's origin is arbitrary (the baseline hazard absorbs it); centre
        # it at the training mean, as R's predict.coxph(type = "lp"), so risk scores of models
        # fitted on different folds are on one scale (pooled out-of-fold C-index)
        self.lp_offset_ = float(eta.mean())
        self.baseline_hazard_ = breslow_baseline(Y[:, 0], Y[:, 1], eta, ties=self.ties)
        return self

    def predict_survival(self, X, times) -> pd.DataFrame:
        """``S(t | x) = exp(-H0(t) exp(x' beta))`` at ``times`` (samples x times), with the
        Breslow (or Efron-type) baseline of the training data (``baseline_hazard_``)."""
        if self.family != "cox":
            raise PenalizedError("predict_survival is for family='cox'")
        times = np.atleast_1d(np.asarray(times, dtype=float))
        S = self.baseline_hazard_.survival(self.decision_function(X) + self.lp_offset_, times)
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(S, index=index, columns=times)

    def predict_risk(self, X, horizon: float) -> np.ndarray:
        """Absolute risk of an event by ``horizon``: ``1 - S(horizon | x)``."""
        return 1.0 - self.predict_survival(X, [horizon]).to_numpy()[:, 0]

    def decision_function(self, X):
        """Linear predictor (log-odds for binomial); for cox ``x' beta`` minus its mean over
        the training rows (``lp_offset_``), as R's ``predict.coxph(type = "lp")``."""
        A = X.to_numpy(dtype=float) if isinstance(X, pd.DataFrame) else np.asarray(X, float)
        C = self.coef_.to_numpy()
        if self.family == "cox":
            return A @ C - self.lp_offset_
        return A @ C + self.intercept_

    def score(self, X, y):
        from sklearn.metrics import r2_score, roc_auc_score
        if self.family == "cox":
            from .survival.concordance import _harrell_c_value
            t, e, _ = _as_survival(y)
            return _harrell_c_value(t, e, self.decision_function(X))
        if self.family == "binomial":
            return roc_auc_score(y, self.predict_proba(X)[:, 1])
        return r2_score(y, self.predict(X))

    @property
    def selected_features_(self) -> list[str]:
        c = self.coef_
        nz = (c != 0).any(axis=1) if isinstance(c, pd.DataFrame) else c != 0
        return list(c.index[nz.to_numpy()])


# ------------------------------------------------------------------------------ ComBat step

class ComBatTransformer(BaseEstimator, TransformerMixin):
    """ComBat as a Pipeline step; batch and covariates travel as columns of ``X``.

    ``X`` must be a DataFrame holding the feature columns plus ``batch`` (e.g. ``"centre"``)
    and the ``covariates`` columns; the step returns the harmonised feature columns only.
    Fitting happens on the rows the surrounding cross-validation gives it (training rows), so
    harmonisation never sees test rows; unseen batches at transform time (a held-out centre)
    are harmonised from their own features without any outcome (``new_batches="estimate"``).
    Text covariates with two levels are coded 0/1.  ``combat_kwargs`` go to
    :class:`~radiogenomics.harmonize.ComBat`.
    """

    def __init__(self, batch: str = "centre", covariates: Sequence[str] = (), enabled: bool = True,
                 new_batches: str = "estimate", combat_kwargs: Mapping | None = None):
        self.batch = batch
        self.covariates = covariates
        self.enabled = enabled
        self.new_batches = new_batches
        self.combat_kwargs = combat_kwargs

    def _split(self, X):
        if not isinstance(X, pd.DataFrame):
            raise PenalizedError("ComBatTransformer needs a DataFrame with the batch and "
                                 "covariate columns")
        meta = [self.batch, *self.covariates]
        missing = [c for c in meta if c not in X.columns]
        if missing:
            raise PenalizedError(f"X lacks column(s) {missing} needed by ComBatTransformer; add "
                                 "them (see radiogenomics.validation.design_matrix)")
        feats = X.drop(columns=meta)
        cov = None
        if self.covariates:
            cov = pd.DataFrame(index=X.index)
            for c in self.covariates:
                col = X[c]
                if pd.api.types.is_numeric_dtype(col):
                    cov[c] = col.astype(float)
                else:
                    lev = sorted(col.astype(str).unique())
                    if len(lev) > 2:
                        raise PenalizedError(f"covariate {c!r} has {len(lev)} levels; one-hot "
                                             "code it first")
                    cov[c] = (col.astype(str) == lev[-1]).astype(float)
        return feats.astype(float), X[self.batch].astype(str), cov

    def fit(self, X, y=None):
        from .harmonize import ComBat

        feats, batch, cov = self._split(X)
        self.feature_names_out_ = np.array(feats.columns, dtype=object)
        self.single_batch_ = None
        if self.enabled and batch.nunique() < 2:
            # one training centre (e.g. leave-one-centre-out with two centres): nothing to
            # harmonise among the training rows; other centres are mapped onto its per-feature
            # mean and SD (location/scale, no covariates, no shrinkage)
            self.single_batch_ = (batch.iloc[0], feats.mean(), feats.std(ddof=1).replace(0, 1.0))
            return self
        if self.enabled:
            kw = dict(self.combat_kwargs or {})
            kw.setdefault("new_batches", self.new_batches)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                self.combat_ = ComBat(**kw).fit(feats, batch, cov)
        return self

    def transform(self, X):
        feats, batch, cov = self._split(X)
        if not self.enabled:
            return feats
        if self.single_batch_ is not None:
            label, mu, sd = self.single_batch_
            out = feats.copy()
            for b in pd.unique(batch):
                if b == label:
                    continue
                rows = (batch == b).to_numpy()
                sub = feats.loc[rows]
                s_ = sub.std(ddof=1).replace(0, 1.0).fillna(1.0)
                out.loc[rows] = (sub - sub.mean()) / s_ * sd + mu
            return out
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return self.combat_.transform(feats, batch, cov)

    def get_feature_names_out(self, input_features=None):
        return self.feature_names_out_


class InFoldImputer(BaseEstimator, TransformerMixin):
    """Median imputation of missing predictor cells, learnt on the training rows only.

    The first step of :func:`make_pipeline`: inside cross-validation each fold's medians come
    from its training rows, so test rows never inform the values imputed (a whole-cohort
    median, as ``Cohort(nan_policy="impute_median")``, would leak).  Columns in ``exclude``
    (the batch / centre column) pass through untouched; infinite values are refused (impute
    NaN, never inf).  ``n_imputed_`` / ``imputed_fraction_``: cells imputed in the training rows;
    a feature with no observed training value is refused with its name.  Without NaN the step
    changes nothing.
    """

    def __init__(self, exclude: Sequence[str] = ()):
        self.exclude = exclude

    def _numeric(self, X):
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X, dtype=float))
        cols = [c for c in X.columns if c not in set(self.exclude)]
        feats = X[cols]
        num = [c for c in cols if pd.api.types.is_numeric_dtype(feats[c])]
        return X, num

    def fit(self, X, y=None):
        X, num = self._numeric(X)
        A = X[num].to_numpy(dtype=float)
        inf = np.isinf(A)
        if inf.any():
            raise PenalizedInputError(
                f"X has {int(inf.sum())} infinite value(s) in feature(s) "
                f"{listing(np.asarray(num, dtype=object)[inf.any(axis=0)])}; replace them by NaN "
                "(imputed in-fold) or finite values")
        miss = np.isnan(A)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="All-NaN slice encountered",
                                    category=RuntimeWarning)
            med = np.nanmedian(A, axis=0) if A.size else np.zeros(0)
        empty = np.asarray(num, dtype=object)[miss.any(axis=0) & np.isnan(med)]
        if len(empty):
            raise PenalizedInputError(
                f"feature(s) {listing(empty)} have no observed value in the training rows, so "
                "nothing to impute from; drop them (or use a Cohort nan_policy that drops "
                "features)")
        self.columns_ = list(num)
        self.medians_ = pd.Series(med, index=num, dtype=float)
        self.n_imputed_ = int(miss.sum())
        self.imputed_fraction_ = float(miss.mean()) if miss.size else 0.0
        return self

    def transform(self, X):
        X, _ = self._numeric(X)
        if not self.n_imputed_ and not X[self.columns_].isna().to_numpy().any():
            return X
        A = X[self.columns_].to_numpy(dtype=float)
        if np.isinf(A).any():
            raise PenalizedInputError("X has infinite values; replace them by NaN (imputed "
                                      "in-fold) or finite values")
        out = X.copy()
        out[self.columns_] = X[self.columns_].fillna(self.medians_)
        return out


class _DropConstant(BaseEstimator, TransformerMixin):
    """Drop features constant on the training rows (remembered, so test rows match).  A
    feature holding NaN is kept (the model then refuses it, naming it) rather than dropped
    silently as "not varying"."""

    def fit(self, X, y=None):
        A = np.asarray(X, dtype=float)
        with np.errstate(all="ignore"):
            self.keep_ = ~(np.nanmax(A, axis=0, initial=-np.inf) ==
                           np.nanmin(A, axis=0, initial=np.inf)) | np.isnan(A).any(axis=0)
        self.columns_ = list(X.columns[self.keep_]) if isinstance(X, pd.DataFrame) else None
        return self

    def transform(self, X):
        if isinstance(X, pd.DataFrame):
            return X.loc[:, self.keep_]
        return np.asarray(X)[:, self.keep_]


def make_pipeline(family: str = "gaussian", alpha: float = 0.5, harmonize: bool = True,
                  batch: str = "centre", covariates: Sequence[str] = (), selection: str = "min",
                  cv: int = 5, rng=None, combat_kwargs: Mapping | None = None,
                  n_lambda: int = 50, impute: bool = True):
    """In-fold median imputation -> ComBat (in-fold) -> drop constant features ->
    :class:`PenalizedModel`.

    Pass ``X`` as a DataFrame of features plus the ``batch`` and ``covariates`` columns (with
    ``harmonize=False`` those columns are still removed before the model, so the same ``X``
    works for both).  Every learnt step is fitted on training rows only, so any splitter
    (k-fold, leave-one-centre-out, nested) gives leakage-free estimates.  Missing predictor
    cells (``Cohort(nan_policy="keep")``) are imputed by :class:`InFoldImputer` with the
    training rows' medians (``impute=False`` refuses NaN instead); the target is never imputed.
    """
    from sklearn.pipeline import Pipeline

    steps = [("impute", InFoldImputer(exclude=(batch,)))] if impute else []
    return Pipeline(steps + [
        ("combat", ComBatTransformer(batch=batch, covariates=tuple(covariates), enabled=harmonize,
                                     combat_kwargs=combat_kwargs)),
        ("filter", _DropConstant()),
        ("model", PenalizedModel(family=family, alpha=alpha, selection=selection, cv=cv,
                                 n_lambda=n_lambda, rng=rng)),
    ])


# ------------------------------------------------------------------------------ stability

@dataclass
class StabilityResult:
    """Stability selection (Meinshausen & Buhlmann 2010).

    ``probabilities``: features x lambdas selection frequencies; ``max_probability``: per
    feature, the maximum over the lambda grid; ``selected``: features with
    ``max_probability >= threshold``; ``expected_false_selections``: the bound
    ``q^2 / ((2 threshold - 1) p)`` of Meinshausen & Buhlmann (2010, Theorem 1), with ``q`` the
    mean number of features selected per subsample by the *union over the lambda grid* (a
    feature counts once if it enters at any lambda, as the theorem's ``q_Lambda``), valid under
    the paper's exchangeability assumption and only for subsamples of half the data
    (``fraction = 0.5``); for other fractions the bound is None and ``bound_note`` says why.
    """

    probabilities: pd.DataFrame
    max_probability: pd.Series
    selected: list[str]
    threshold: float
    expected_false_selections: float | None
    mean_selected: float
    n_subsamples: int
    bound_note: str = ""
    #: indices of drawn subsamples skipped because they held one class only (binomial)
    skipped_one_class: list = field(default_factory=list)
    #: subsample paths that did not converge (glmnet's criterion within max_pass)
    n_unconverged: int = 0

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"max_probability": self.max_probability,
                             "selected": self.max_probability >= self.threshold}).sort_values(
            "max_probability", ascending=False)

    def summary(self) -> str:
        bound = (f"E[false selections] <= {self.expected_false_selections:.2f} (Meinshausen & "
                 "Buhlmann bound)" if self.expected_false_selections is not None
                 else f"no error bound ({self.bound_note})")
        extra = "".join([
            f"; {len(self.skipped_one_class)} subsample(s) with one class skipped"
            if self.skipped_one_class else "",
            f"; {self.n_unconverged} subsample path(s) not converged" if self.n_unconverged
            else ""])
        return (f"Stability selection: {len(self.selected)} of {len(self.max_probability)} "
                f"features with selection probability >= {self.threshold} over "
                f"{self.n_subsamples} subsamples; mean features selected per subsample over the "
                f"lambda grid {self.mean_selected:.1f}; {bound}{extra}")

    def __repr__(self) -> str:
        return (f"StabilityResult({len(self.selected)} selected of "
                f"{len(self.max_probability)}, threshold {self.threshold})")


def stability_selection(X, y, family: str = "gaussian", alpha: float = 1.0, lambdas=None,
                        n_lambda: int = 10, n_subsamples: int = 100, fraction: float = 0.5,
                        threshold: float = 0.6, strata=None, rng=None,
                        progress: bool | None = None, client=None) -> StabilityResult:
    """Selection probability of each feature over random subsamples of half the samples.

    Each subsample (``fraction`` of the rows, without replacement, within ``strata`` such as
    centres when given) is fitted along ``lambdas`` (default: the upper part of glmnet's
    sequence, from lambda_max to lambda_max/10, where few features enter); a feature counts as
    selected at a lambda when its coefficient is non-zero.

    The subsamples are drawn here from ``rng``; with ``client`` (a Dask Client, scheduler
    address or ``"local"``, :func:`radiogenomics.distributed.client_context`) their fits run as
    tasks, chunks of 8, with the same result as in one process.  Binomial subsamples holding one
    class only cannot be fitted: they are listed in ``skipped_one_class`` (not counted in
    ``n_subsamples``); ``n_unconverged`` counts subsample paths that did not converge.
    """
    from .distributed import client_context, map_ordered, scatter_shared

    Xf, A, yv = _as_xy(X, y)
    _check_family(family, yv)
    if not 0.5 < threshold <= 1:
        raise PenalizedError(f"threshold must be in (0.5, 1], got {threshold}")
    if not 0 < fraction < 1:
        raise PenalizedError(f"fraction must be in (0, 1), got {fraction}")
    if alpha == 0:
        raise PenalizedError("stability selection needs an L1 part (alpha > 0)")
    gen = check_rng(rng)
    if lambdas is None:
        lambdas = glmnet_lambda_sequence(A, yv, family, alpha, n_lambda, 0.1)
    lambdas = np.asarray(lambdas, float)
    n, p = A.shape
    if strata is None:
        groups = [np.arange(n)]
    else:
        lab = np.asarray(strata)
        groups = [np.flatnonzero(lab == g) for g in pd.unique(lab)]
    draws = [np.concatenate([gen.choice(g, max(1, int(round(fraction * len(g)))),
                                        replace=False) for g in groups])
             for _ in range(int(n_subsamples))]
    one_class = [i for i, rows in enumerate(draws)
                 if family == "binomial" and len(np.unique(yv[rows])) < 2]
    keep = [rows for i, rows in enumerate(draws) if i not in set(one_class)]
    chunks = [keep[i:i + 8] for i in range(0, len(keep), 8)]
    if client is None:
        parts = map_ordered(None, _stability_chunk, chunks, desc="stability selection",
                            progress=progress, args=(A, yv, family, alpha, lambdas))
    else:
        with client_context(client) as cl:
            shared = scatter_shared(cl, (A, yv))
            parts = map_ordered(cl, _stability_chunk_shared, chunks,
                                desc="stability selection", progress=progress,
                                args=(shared, family, alpha, lambdas))
    counts = np.zeros((p, len(lambdas)))
    n_sel, n_unconv = [], 0
    for c, sel, unconv in parts:
        counts += c
        n_sel.extend(sel)
        n_unconv += unconv
    B = len(n_sel)
    probs = pd.DataFrame(counts / max(B, 1), index=[str(c) for c in Xf.columns],
                         columns=pd.Index(lambdas, name="lambda"))
    maxp = probs.max(axis=1).rename("max_probability")
    q = float(np.mean(n_sel)) if n_sel else 0.0
    if abs(fraction - 0.5) < 1e-12:
        bound, note = q**2 / ((2 * threshold - 1) * p), ""
    else:
        bound, note = None, (f"the Meinshausen-Buhlmann bound holds for subsamples of half the "
                             f"data; fraction = {fraction}")
    return StabilityResult(probabilities=probs, max_probability=maxp,
                           selected=list(maxp.index[maxp >= threshold]), threshold=threshold,
                           expected_false_selections=bound, mean_selected=q, n_subsamples=B,
                           bound_note=note, skipped_one_class=one_class,
                           n_unconverged=n_unconv)


def _stability_chunk(chunk, A, yv, family, alpha, lambdas):
    """Selection counts (features x lambdas), per-subsample union sizes and the number of
    subsample paths that did not converge, for a chunk of subsamples."""
    counts = np.zeros((A.shape[1], len(lambdas)))
    sel, unconv = [], 0
    for rows in chunk:
        path = glmnet_fit(A[rows], yv[rows], family, alpha, lambdas=lambdas, thresh=1e-10)
        nz = path.coef.to_numpy()[:, 1:].T != 0
        counts += nz
        sel.append(int(nz.any(axis=1).sum()))      # union over the grid (q_Lambda)
        unconv += int(not path.converged.all())
    return counts, sel, unconv


def _stability_chunk_shared(chunk, shared, family, alpha, lambdas):
    return _stability_chunk(chunk, *shared, family, alpha, lambdas)


# ------------------------------------------------------------------------------ fusion

# ------------------------------------------------------------------------------ tasks

@dataclass
class PredictionTaskResult:
    """Cross-validated prediction of every target column of a view.

    ``table``: one row per target with the main metrics (continuous: r2, pearson_r, mae) and
    their bootstrap CIs (resampling the fixed out-of-fold predictions: conditional on the
    fitted fold models, without refitting variability), n, and the number of features the
    final model keeps (fitted on all samples); ``results``: target ->
    :class:`~radiogenomics.validation.ValidationResult`; ``models``: target -> the pipeline
    refitted on all samples; ``dropped_imputed``: target -> samples whose target value the Cohort had imputed (``nan_policy="impute_median"``), left out
    of training and scoring (a target is never imputed; ``n_imputed_target_dropped`` in
    ``table``; ``n_target_missing``: samples with the predictors but a missing target, e.g.
    under ``nan_policy="keep"``, also left out).  Missing *predictor* cells are imputed inside each training fold
    (:class:`InFoldImputer`).
    """

    table: pd.DataFrame
    results: dict = field(default_factory=dict, repr=False)
    x: str = ""
    y: str = ""
    cv: str = ""
    models: dict = field(default_factory=dict, repr=False)
    dropped_imputed: dict = field(default_factory=dict, repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        t = self.table
        best = t.sort_values("r2", ascending=False).head(5)
        lines = [f"Prediction of {self.y} from {self.x} ({self.cv}): {len(t)} targets; "
                 f"median CV R2 {t['r2'].median():.3f}"]
        for tgt, r in best.iterrows():
            lines.append(f"  {tgt}: R2 {r['r2']:.3f} [{r['r2_lower']:.3f}, {r['r2_upper']:.3f}], "
                         f"r {r['pearson_r']:.3f}, {int(r['n_features_selected'])} features")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"PredictionTaskResult({self.x} -> {self.y}, {len(self.table)} targets, "
                f"{self.cv})")


def drop_imputed_target(cohort, view: str, column: str, X: pd.DataFrame, y: pd.Series):
    """``(X, y, imputed)``: the rows whose target ``view[column]`` the Cohort had imputed
    (``nan_policy="impute_median"``) left out of a design, and their sample IDs - a target is
    never imputed, so those values are neither trained on nor scored."""
    imputed = [i for i in _imputed_target_samples(cohort, view, column) if i in y.index]
    if imputed:
        keep = ~y.index.isin(imputed)
        X, y = X.loc[keep], y.loc[keep]
    return X, y, imputed


def _imputed_target_samples(cohort, view: str, column: str) -> list:
    """Samples whose ``view[column]`` value was imputed when the Cohort was built
    (``nan_policy="impute_median"``): ``cohort.imputed_mask(view)`` when the Cohort offers it,
    else the validation report's ``"imputed"`` records (which name the feature and the sample)."""
    import ast
    import re

    mask_fn = getattr(cohort, "imputed_mask", None)
    if callable(mask_fn):
        mask = mask_fn(view)
        if isinstance(mask, pd.DataFrame):
            if column not in mask.columns:
                return []
            col = mask[column].fillna(False).astype(bool)
            return list(col.index[col.to_numpy()])
    report = getattr(cohort, "report", None)
    if report is None:
        return []
    rec = report.to_frame()
    rec = rec[(rec["action"] == "imputed") & (rec["view"] == view)
              & (rec["id"].astype(str) == str(column))]
    out = []
    for reason in rec["reason"]:
        m = re.search(r"sample (.+?) set to", str(reason))
        if m is None:
            raise PenalizedError(
                f"view {view!r}, column {column!r} has imputed values but the report does not "
                f"say which sample ({reason!r}); rebuild the Cohort with nan_policy='keep' or "
                "'drop_samples' for a target view")
        try:
            out.append(ast.literal_eval(m.group(1)))
        except (ValueError, SyntaxError):
            out.append(m.group(1))
    return out


def predict_view(cohort, x: str | list, y: str, targets: Sequence[str] | None = None, *,
                 cv=5, alpha: float = 0.5, harmonize: bool = True,
                 covariates: Sequence[str] = ("age", "sex"), n_boot: int = 500, rng=None,
                 progress: bool | None = None, n_lambda: int = 50, inner_cv: int = 5,
                 selection: str = "min") -> PredictionTaskResult:
    """Predict each column of view ``y`` (e.g. module scores) from view(s) ``x`` (e.g.
    radiomics) with :func:`make_pipeline` (in-fold ComBat with ``covariates`` preserved,
    elastic net with lambda by inner CV) and :func:`~radiogenomics.validation.cross_validate`
    (``cv``: k folds or ``"loco"``).  The same folds and seeds for every target.
    ``n_lambda``, ``inner_cv`` and ``selection`` go to :class:`PenalizedModel` (fewer lambdas
    or inner folds make every fit cheaper)."""
    from ._progress import progress as progress_bar

    from .validation import cross_validate, design_matrix

    cols = list(cohort[y].columns) if targets is None else list(targets)
    missing = [t for t in cols if t not in cohort[y].columns]
    if missing:
        raise PenalizedError(f"targets {missing[:5]} are not columns of view {y!r}")
    gen = check_rng(rng)
    seed = int(gen.integers(2**31 - 1))
    rows, results, models = {}, {}, {}
    disable = None if progress is None else not progress
    dropped_imputed = {}
    for t in progress_bar(cols, desc=f"{x} -> {y}", disable=disable):
        X, yy = design_matrix(cohort, x, t, target_view=y, covariates=covariates,
                              include_centre=cohort.centre is not None)
        n_missing = len(X.attrs.get("dropped", []))
        # never score (or train on) a target value the Cohort imputed: drop and record them
        X, yy, imputed = drop_imputed_target(cohort, y, t, X, yy)
        if imputed:
            dropped_imputed[t] = imputed
            warnings.warn(f"{y}[{t!r}]: {len(imputed)} imputed target value(s) (samples "
                          f"{listing(imputed)}) left out of training and scoring; a target is "
                          "never imputed", UserWarning, stacklevel=2)
        pipe = make_pipeline(alpha=alpha, harmonize=harmonize and cohort.centre is not None,
                             covariates=covariates, rng=seed, n_lambda=n_lambda, cv=inner_cv,
                             selection=selection)
        res = cross_validate(pipe, X, yy, cv, n_boot=n_boot, rng=seed)
        full = pipe.fit(X, yy)
        m = res.metrics[res.metrics["breakdown"] == "all"].set_index("metric")
        rows[t] = {"r2": m.at["r2", "estimate"], "r2_lower": m.at["r2", "lower"],
                   "r2_upper": m.at["r2", "upper"], "pearson_r": m.at["pearson_r", "estimate"],
                   "mae": m.at["mae", "estimate"], "n": len(yy),
                   "n_imputed_target_dropped": len(dropped_imputed.get(t, [])),
                   "n_target_missing": n_missing,
                   "n_features_selected": len(full.named_steps["model"].selected_features_)}
        results[t] = res
        models[t] = full
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "target"
    xname = x if isinstance(x, str) else "+".join(x)
    return PredictionTaskResult(table=table, results=results, x=xname, y=y,
                                cv=next(iter(results.values())).cv if results else str(cv),
                                models=models, dropped_imputed=dropped_imputed)


def predict_modules(cohort, x: str | list = "radiomics", modules: str = "modules",
                    **kwargs) -> PredictionTaskResult:
    """Virtual transcriptomics: expression-module / pathway scores from imaging features."""
    return predict_view(cohort, x, modules, **kwargs)


def predict_traits(cohort, x: str | list = "expression", traits: str = "traits",
                   **kwargs) -> PredictionTaskResult:
    """Imaging traits from expression (or any molecular view)."""
    return predict_view(cohort, x, traits, **kwargs)


from .fusion import FusionModel  # noqa: E402  (re-exported; fusion builds on PenalizedModel)
