r"""glmnet in Python: elastic-net paths and cross-validation on the project's own engine.

glmnet's parameterisation
-------------------------
For ``family="gaussian"`` glmnet minimises, over standardised predictors (``1/n`` SDs),

.. math::

    \frac{1}{2n}\sum_i (y_i - \beta_0 - x_i^T\beta)^2
    + \lambda\Big[\frac{1-\alpha}{2}\lVert\beta\rVert_2^2 + \alpha\lVert\beta\rVert_1\Big],

and it standardises ``y`` internally too, so the problem is solved for ``y / s_y`` at
``lambda / s_y`` (``s_y`` the ``1/n`` SD of ``y``) and the coefficients multiplied back.  For
``family="binomial"`` the loss is :math:`-\frac1n \ell(\beta)`; for ``family="cox"`` it is
minus the log partial likelihood over n (Breslow or Efron ties, no intercept).  Coefficients
are returned on the original scale with the intercept first, as ``coef(glmnet_fit)``.
:func:`glmnet_lambda_sequence` reproduces glmnet's default sequence.

The solver is :mod:`radiogenomics._cd` (Numba coordinate descent with glmnet's strong rules,
active-set cycling and warm starts, plus an exact Newton solve on the active set); every fit
reports, per lambda, the passes it took, whether it converged by glmnet's criterion and the
largest KKT violation.  Parity with glmnet 4.1-6: ``tests/test_penalized.py`` (paths),
``tests/test_elasticnet.py`` (``cv.glmnet``'s ``cvm``, ``cvsd``, ``lambda.min``,
``lambda.1se`` on given folds).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import _cd
from ._checks import InputError, RadiogenomicsError, align_samples, as_matrix, as_vector

__all__ = ["glmnet_lambda_sequence", "glmnet_fit", "GlmnetPath", "cv_glmnet", "CVGlmnetResult",
           "PenalizedError", "PenalizedInputError"]

#: glmnet's default convergence threshold is 1e-7; ours is tighter (the engine's exact active
#: set solve makes it cheap): KKT violations about 1e-16 on well-posed problems
DEFAULT_THRESH = 1e-14
#: cv.glmnet's floor on predicted probabilities in the binomial deviance
CV_PROB_MIN = 1e-5


class PenalizedError(RadiogenomicsError):
    """Invalid input to a penalised model (names the problem and the fix)."""


class PenalizedInputError(PenalizedError, InputError):
    """Bad data given to a penalised model (text, NaN/inf, duplicated IDs, misaligned X/y):
    both a :class:`PenalizedError` and the project's :class:`~radiogenomics._checks.InputError`."""


def _as_xy(X, y, *, what_x: str = "X", what_y: str = "y"):
    """Validate ``X`` (samples x features) and ``y`` (one value, or one row, per sample) through
    the shared input layer: text columns, NaN/inf, duplicated sample IDs and X/y with different
    sample IDs are refused with the column / sample named; indexed inputs are aligned by ID."""
    try:
        if isinstance(X, pd.DataFrame) and isinstance(y, (pd.Series, pd.DataFrame)):
            y = align_samples({what_x: X, what_y: y})[what_y]
        A, index, names = as_matrix(
            X, what_x, nan_fix="impute them inside the cross-validation (make_pipeline imputes "
            "training medians in-fold) or drop those samples/features first")
        if (y.shape[1] > 1 if isinstance(y, pd.DataFrame) else
                (not isinstance(y, pd.Series) and np.ndim(y) == 2 and np.shape(y)[1] > 1)):
            yv, _, _ = as_matrix(y, what_y, nan_fix="drop those samples first (never impute a "
                                 "target)")
        else:
            yv, _ = as_vector(y, what_y)
    except InputError as exc:
        raise PenalizedInputError(str(exc)) from None
    except (ValueError, TypeError) as exc:       # e.g. y of a shape as_vector cannot read
        raise PenalizedInputError(f"{what_y} must be numbers, one per sample ({exc})") from None
    if yv.shape[0] != A.shape[0]:
        raise PenalizedInputError(f"{what_x} has {A.shape[0]} rows but {what_y} has "
                                  f"{yv.shape[0]} values; pass one target value per sample, in "
                                  "the same order (or pandas objects indexed by sample ID)")
    Xf = pd.DataFrame(A, index=index, columns=[str(c) for c in names])
    return Xf, A, yv


FAMILIES = ("gaussian", "binomial", "cox")


def _check_family(family, y):
    if family not in FAMILIES:
        raise PenalizedError(f"family must be one of {FAMILIES}, got {family!r}")
    if family == "binomial":
        u = np.unique(y)
        if not np.isin(u, (0.0, 1.0)).all() or len(u) != 2:
            raise PenalizedError(f"binomial y must be coded 0/1 with both classes present, got "
                                 f"values {u[:5]}")
    if family == "cox" and (np.ndim(y) != 2 or np.shape(y)[1] != 2):
        raise PenalizedError("family='cox' needs y with two columns, time and status (0 = "
                             "censored, 1 = event), e.g. a DataFrame [['time', 'status']]")


def _check_alpha(alpha):
    if not 0 <= alpha <= 1:
        raise PenalizedError(f"alpha (glmnet's mixing parameter) must be in [0, 1], got {alpha}")


def glmnet_lambda_sequence(X, y, family: str = "gaussian", alpha: float = 1.0,
                           n_lambda: int = 100, lambda_min_ratio: float | None = None,
                           ties: str = "breslow") -> np.ndarray:
    """glmnet's default lambda sequence (decreasing), on glmnet's scale.

    ``lambda_max = max_j |x_j' (y - ybar)| / (n max(alpha, 1e-3))`` with ``x_j`` standardised
    (``1/n`` SD); for gaussian models ``y`` is also divided by its ``1/n`` SD and the result
    multiplied back (glmnet's internal standardisation of y), so lambda is on y's scale; for
    Cox models ``y - ybar`` is replaced by the score of the partial likelihood at 0.
    ``lambda.min.ratio`` is glmnet's ``ifelse(nobs < nvars, 0.01, 1e-4)``.
    """
    _, A, yv = _as_xy(X, y)
    _check_family(family, yv)
    n, p = A.shape
    Xs, _, _ = _cd.standardize(A)
    a = max(float(alpha), 1e-3)
    if family == "cox":
        from ._cox import cox_lambda_max, cox_prepare

        lam_max = cox_lambda_max(Xs, cox_prepare(yv[:, 0], yv[:, 1], ties=ties), alpha)
    else:
        lam_max = np.max(np.abs(Xs.T @ (yv - yv.mean()))) / (n * a)
    if lambda_min_ratio is None:
        lambda_min_ratio = 1e-4 if n >= p else 1e-2
    return lam_max * np.exp(np.linspace(0.0, np.log(lambda_min_ratio), int(n_lambda)))


@dataclass
class GlmnetPath:
    """Coefficients along a lambda path, original scale, intercept first (``coef(fit)``).

    ``kkt``: largest KKT violation per lambda (standardised scale; for gaussian models also
    standardised y); ``n_passes``: coordinate passes per lambda; ``converged``: glmnet's
    criterion met within ``max_pass``; ``convergence_warnings``: one line per lambda that did
    not converge (empty when all did)."""

    coef: pd.DataFrame          # lambdas x ["(Intercept)", features]
    family: str
    alpha: float
    kkt: np.ndarray = None
    n_passes: np.ndarray = None
    converged: np.ndarray = None
    convergence_warnings: list = field(default_factory=list)

    @property
    def lambdas(self) -> np.ndarray:
        return self.coef.index.to_numpy(dtype=float)

    def predict(self, X, s: float | None = None, type: str = "response") -> np.ndarray:
        """Predictions at lambda ``s`` (default the last): the linear predictor, or for
        binomial with ``type="response"`` the probability (Cox: the relative risk exp(eta))."""
        row = self.coef.iloc[-1] if s is None else self.coef.iloc[
            int(np.argmin(np.abs(self.lambdas - s)))]
        eta = np.asarray(X, dtype=float) @ row.iloc[1:].to_numpy() + row.iloc[0]
        if type == "response" and self.family == "binomial":
            return 1.0 / (1.0 + np.exp(-eta))
        if type == "response" and self.family == "cox":
            return np.exp(eta)
        return eta

    def to_frame(self) -> pd.DataFrame:
        out = self.coef.copy()
        if self.kkt is not None:
            out.insert(0, "kkt_violation", self.kkt)
            out.insert(1, "converged", self.converged)
        return out

    def __repr__(self) -> str:
        bad = 0 if self.converged is None else int((~self.converged).sum())
        worst = np.max(self.kkt) if self.kkt is not None else float("nan")
        return (f"GlmnetPath(family={self.family!r}, alpha={self.alpha}, "
                f"{len(self.coef)} lambdas, {self.coef.shape[1] - 1} features, "
                f"max KKT violation {worst:.1e}"
                f"{f', {bad} not converged' if bad else ''})")


def _ridge_svd(Xs, z, lambdas):
    """Gaussian ridge (alpha = 0) in closed form for every lambda:
    ``V diag(d / (d^2 + n lam)) U'z``."""
    n = Xs.shape[0]
    U, d, Vt = np.linalg.svd(Xs, full_matrices=False)
    uz = U.T @ z
    B = np.array([Vt.T @ (d / (d**2 + n * lam) * uz) for lam in lambdas])
    return B


def _path_standardised(Xs, yv, family, alpha, lambdas, thresh, max_pass, ties="breslow"):
    """Path on standardised ``Xs`` (Fortran order) for decreasing ``lambdas``.

    Returns ``(B, b0, passes, kkt, y_scale, y_centre)``: coefficients on the standardised scale
    of X (and of y for gaussian), intercepts, diagnostics."""
    n = Xs.shape[0]
    if family == "gaussian":
        my, sy = yv.mean(), yv.std()
        if sy == 0:
            raise PenalizedError("y is constant: nothing to fit (remove this target)")
        z = (yv - my) / sy
        if alpha == 0:
            B = _ridge_svd(Xs, z, lambdas / sy)
            g = Xs.T @ (z[:, None] - Xs @ B.T) / n
            kkt = np.abs(g - (lambdas / sy)[None, :] * B.T).max(axis=0)
            passes = np.zeros(len(lambdas), dtype=np.int64)
        else:
            B, passes, kkt = _cd.gaussian_path(Xs, z, lambdas / sy, alpha, thresh, max_pass)
        return B, np.zeros(len(lambdas)), passes, kkt, sy, my
    if family == "binomial":
        B, B0, passes, kkt, _ = _cd.binomial_path(Xs, yv, lambdas, alpha, thresh, max_pass)
        return B, B0, passes, kkt, 1.0, 0.0
    from ._cox import cox_path, cox_prepare

    B, passes, kkt = cox_path(Xs, cox_prepare(yv[:, 0], yv[:, 1], ties=ties), lambdas,
                              alpha, thresh, max_pass)
    return B, np.zeros(len(lambdas)), passes, kkt, 1.0, 0.0


def _path_original(A, yv, family, alpha, lambdas, thresh, max_pass, ties):
    """Standardise ``A``, fit the path (decreasing ``lambdas``) and return it on the original
    scale: ``(intercepts, coefs (L, p), passes, kkt)``; Cox models have no intercept."""
    Xs, mx, sx = _cd.standardize(A)
    B, b0, passes, kkt, y_scale, y_centre = _path_standardised(Xs, yv, family, alpha, lambdas,
                                                               thresh, max_pass, ties)
    ok = sx > 0
    C = np.zeros_like(B)
    C[:, ok] = B[:, ok] * y_scale / sx[ok]
    icpt = (np.zeros(len(B)) if family == "cox"
            else y_centre + b0 * y_scale - C @ mx)
    return icpt, C, passes, kkt


def _diagnostics(lambdas, passes, max_pass):
    converged = passes <= max_pass
    warns = [f"lambda = {lam:.4g}: not converged after {int(ps)} coordinate passes (raise "
             "max_pass or thresh, or drop the smallest lambdas)"
             for lam, ps, ok in zip(lambdas, passes, converged) if not ok]
    return converged, warns


def glmnet_fit(X, y, family: str = "gaussian", alpha: float = 1.0, lambdas=None,
               n_lambda: int = 100, lambda_min_ratio: float | None = None,
               thresh: float = DEFAULT_THRESH, max_pass: int = 100_000,
               ties: str = "breslow") -> GlmnetPath:
    """Elastic-net path in glmnet's parameterisation (see the module docstring), with
    ``standardize=TRUE`` and an intercept (none for Cox).

    Parameters
    ----------
    family : {"gaussian", "binomial", "cox"}
        For ``"cox"``, ``y`` has two columns, time and status.
    lambdas : array, optional
        Any order (fitted in decreasing order, with warm starts); default glmnet's sequence.
    thresh : float
        glmnet's convergence threshold (a pass changing no ``v_j (Delta b_j)^2`` by more than
        ``thresh`` times the null deviance ends the loop); the KKT violation is reported too.
    ties : {"breslow", "efron"}
        Cox models only.
    """
    Xf, A, yv = _as_xy(X, y)
    _check_family(family, yv)
    _check_alpha(alpha)
    if lambdas is None:
        lambdas = glmnet_lambda_sequence(A, yv, family, alpha, n_lambda, lambda_min_ratio, ties)
    lambdas = np.asarray(lambdas, dtype=float).ravel()
    if len(lambdas) == 0 or np.any(~np.isfinite(lambdas)) or np.any(lambdas <= 0):
        raise PenalizedError("lambdas must be positive finite numbers")
    order = np.argsort(-lambdas, kind="stable")
    icpt, C, passes, kkt = _path_original(A, yv, family, alpha, lambdas[order], thresh,
                                          max_pass, ties)
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    rows = np.column_stack([icpt, C])[inv]
    converged, warns = _diagnostics(lambdas, passes[inv], max_pass)
    names = ["(Intercept)"] + [str(c) for c in Xf.columns]
    coef = pd.DataFrame(rows, index=pd.Index(lambdas, name="lambda"), columns=names)
    return GlmnetPath(coef=coef, family=family, alpha=float(alpha), kkt=kkt[inv],
                      n_passes=passes[inv], converged=converged, convergence_warnings=warns)


# ------------------------------------------------------------------------------ CV

@dataclass
class CVGlmnetResult:
    """``cv.glmnet``'s summary: per lambda the mean CV error ``cvm`` and its standard error
    ``cvsd`` (glmnet's formulas: fold errors weighted by fold size), ``lambda_min`` (smallest
    ``cvm``) and ``lambda_1se`` (largest lambda with ``cvm`` within one ``cvsd`` of it).

    ``fold_errors``: folds x lambdas; ``predictions``: held-out predictions (samples x
    lambdas; linear predictor); ``converged``: folds x lambdas."""

    lambdas: np.ndarray
    cvm: np.ndarray
    cvsd: np.ndarray
    lambda_min: float
    lambda_1se: float
    index_min: int
    index_1se: int
    measure: str
    fold_errors: np.ndarray
    predictions: np.ndarray
    converged: np.ndarray
    max_kkt: float
    convergence_warnings: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"lambda": self.lambdas, "cvm": self.cvm, "cvsd": self.cvsd,
                             "cvup": self.cvm + self.cvsd, "cvlo": self.cvm - self.cvsd})

    def summary(self) -> str:
        return (f"cv_glmnet: {self.fold_errors.shape[0]} folds, {len(self.lambdas)} lambdas, "
                f"measure {self.measure}; lambda.min {self.lambda_min:.4g} (cvm "
                f"{self.cvm[self.index_min]:.4g}), lambda.1se {self.lambda_1se:.4g} (cvm "
                f"{self.cvm[self.index_1se]:.4g}); max KKT violation {self.max_kkt:.1e}; "
                f"{len(self.convergence_warnings)} unconverged fits")

    def __repr__(self) -> str:
        return (f"CVGlmnetResult(lambda_min={self.lambda_min:.4g}, "
                f"lambda_1se={self.lambda_1se:.4g}, {self.fold_errors.shape[0]} folds)")


def _fold_fit(A, yv, tr, te, family, alpha, lambdas, thresh, max_pass, ties):
    """Fit one fold's path (decreasing lambdas) and predict its held-out rows."""
    icpt, C, passes, kkt = _path_original(A[tr], yv[tr], family, alpha, lambdas, thresh,
                                          max_pass, ties)
    eta = A[te] @ C.T + icpt
    eta_tr = A[tr] @ C.T + icpt if family == "cox" else None
    return eta, eta_tr, passes <= max_pass, float(np.max(kkt))


def _fold_errors(family, yv, folds, etas, etas_tr, ties, measure="deviance"):
    """Per-fold mean errors (folds x lambdas) and fold weights, as cv.glmnet's cvcompute
    (``measure="C"``: each fold's Harrell C, folds weighted by their size, as cv.coxnet)."""
    errs, weights = [], []
    for (tr, te), eta, eta_tr in zip(folds, etas, etas_tr):
        if measure == "C":
            errs.append(_fold_cindex(yv[te], eta))
            weights.append(len(te))
            continue
        if family == "gaussian":
            errs.append(((yv[te][:, None] - eta) ** 2).mean(axis=0))
        elif family == "binomial":
            p = np.clip(1.0 / (1.0 + np.exp(-eta)), CV_PROB_MIN, 1 - CV_PROB_MIN)
            y = yv[te][:, None]
            errs.append((-2 * (y * np.log(p) + (1 - y) * np.log(1 - p))).mean(axis=0))
        else:                       # glmnet: per event of the fold, folds weighted by events
            events = float(yv[te, 1].sum())
            errs.append(_cox_cv_deviance(yv, tr, te, eta, eta_tr, ties) / max(events, 1e-300))
            weights.append(events)
            continue
        weights.append(len(te))
    return np.array(errs), np.array(weights, dtype=float)


def _fold_cindex(y_fold, eta):
    """glmnet's ``Cindex`` per lambda: ``survival::concordance(y ~ -eta)`` on the fold's rows
    (higher linear predictor = higher risk; risk ties count 1/2).  NaN when the fold has no
    comparable pair (cv.glmnet then leaves the fold out of that lambda's mean)."""
    from .survival.concordance import _harrell_c_value

    out = np.full(eta.shape[1], np.nan)
    if y_fold[:, 1].sum() == 0:
        return out
    for k in range(eta.shape[1]):
        out[k] = _harrell_c_value(y_fold[:, 0], y_fold[:, 1], eta[:, k])
    return out


def _cox_cv_deviance(yv, tr, te, eta, eta_tr, ties):
    """cv.glmnet's grouped Cox deviance (Verweij & van Houwelingen 1993): the full-data
    partial likelihood deviance at the fold's coefficients minus the training rows' one (the
    caller divides by the fold's events and weights folds by events, as cv.glmnet does)."""
    from ._cox import cox_deviance, cox_prepare

    n = len(yv)
    full = cox_prepare(yv[:, 0], yv[:, 1], ties=ties)
    train = cox_prepare(yv[tr, 0], yv[tr, 1], ties=ties)
    out = np.empty(eta.shape[1])
    eta_all = np.empty(n)
    for k in range(eta.shape[1]):
        eta_all[te] = eta[:, k]
        eta_all[tr] = eta_tr[:, k]
        out[k] = cox_deviance(full, eta_all) - cox_deviance(train, eta_tr[:, k])
    return out


def _cv_summary(errs, weights, lambdas, larger_better=False):
    """glmnet's cvm, cvsd, lambda.min and lambda.1se (``cvstats``, ``getOptcv.glmnet``; a fold
    whose measure is undefined (NaN) is left out of that lambda's weighted mean, and N - 1
    counts the folds left; for the C-index the largest ``cvm`` is best)."""
    ok = np.isfinite(errs)
    w = np.where(ok, weights[:, None], 0.0)
    e = np.where(ok, errs, 0.0)
    cvm = (w * e).sum(axis=0) / w.sum(axis=0)
    n_ok = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cvsd = np.sqrt((w * (e - cvm) ** 2).sum(axis=0) / w.sum(axis=0) / (n_ok - 1))
    loss = -cvm if larger_better else cvm
    i_min = int(np.flatnonzero(loss <= np.nanmin(loss))[0])   # lambdas decrease: the largest
    i_1se = int(np.flatnonzero(loss <= loss[i_min] + cvsd[i_min])[0])
    return cvm, cvsd, i_min, i_1se


def cv_glmnet(X, y, folds, family: str = "gaussian", alpha: float = 1.0, lambdas=None,
              n_lambda: int = 100, lambda_min_ratio: float | None = None,
              thresh: float = DEFAULT_THRESH, max_pass: int = 100_000, ties: str = "breslow",
              n_jobs: int | None = None, type_measure: str = "default") -> CVGlmnetResult:
    """``cv.glmnet``: every fold's path on glmnet's full-data lambda sequence, folds fitted
    in parallel threads (the engine releases the GIL), then glmnet's ``cvm`` / ``cvsd`` /
    ``lambda.min`` / ``lambda.1se``.

    Parameters
    ----------
    folds : sequence of (train, test) index arrays, or an int array of fold IDs per sample
        (``foldid`` in cv.glmnet).
    n_jobs : int or None
        Threads (None: one per core, at most one per fold).  The result does not depend on it.

    type_measure : {"default", "deviance", "mse", "C"}
        The error measure is glmnet's default: mean squared error (gaussian), binomial deviance
        (probabilities floored at 1e-5 as cv.glmnet does), or the grouped partial-likelihood
        deviance per event (Cox; folds weighted by their events, as cv.glmnet does).
        ``"C"`` (Cox only, cv.glmnet's ``type.measure = "C"``): Harrell's C of each fold's
        held-out linear predictor (``survival::concordance``, risk ties 1/2), folds weighted by
        their size; ``lambda_min`` is then the lambda of the *largest* mean C and
        ``lambda_1se`` the largest lambda whose mean C is within one ``cvsd`` of it.
    """
    Xf, A, yv = _as_xy(X, y)
    _check_family(family, yv)
    measure = _check_measure(family, type_measure)
    _check_alpha(alpha)
    folds = _as_folds(folds, len(yv))
    if lambdas is None:
        lambdas = glmnet_lambda_sequence(A, yv, family, alpha, n_lambda, lambda_min_ratio, ties)
    lambdas = np.sort(np.asarray(lambdas, dtype=float).ravel())[::-1]
    run = [lambda f=f: _fold_fit(A, yv, f[0], f[1], family, alpha, lambdas, thresh, max_pass,
                                 ties) for f in folds]
    out = _run_threads(run, n_jobs)
    etas, etas_tr, conv, kkts = zip(*out)
    errs, weights = _fold_errors(family, yv, folds, etas, etas_tr, ties, measure)
    cvm, cvsd, i_min, i_1se = _cv_summary(errs, weights, lambdas, larger_better=measure == "C")
    pred = np.full((len(yv), len(lambdas)), np.nan)
    for (_, te), eta in zip(folds, etas):
        pred[te] = eta
    conv = np.array(conv)
    warns = [f"fold {f + 1}: {int((~c).sum())} lambda(s) not converged"
             for f, c in enumerate(conv) if not c.all()]
    return CVGlmnetResult(lambdas=lambdas, cvm=cvm, cvsd=cvsd, lambda_min=float(lambdas[i_min]),
                          lambda_1se=float(lambdas[i_1se]), index_min=i_min, index_1se=i_1se,
                          measure=measure,
                          fold_errors=errs, predictions=pred, converged=conv,
                          max_kkt=float(max(kkts)), convergence_warnings=warns)


def _check_measure(family, type_measure):
    default = {"gaussian": "mse", "binomial": "deviance", "cox": "deviance"}[family]
    allowed = {"gaussian": ("mse",), "binomial": ("deviance",), "cox": ("deviance", "C")}[family]
    measure = default if type_measure == "default" else type_measure
    if measure not in allowed:
        raise PenalizedError(f"type_measure {type_measure!r} is not available for family="
                             f"{family!r}; use one of {('default',) + allowed}")
    return measure


def _as_folds(folds, n):
    if isinstance(folds, (np.ndarray, pd.Series)) and np.ndim(folds) == 1 and len(folds) == n:
        ids = np.asarray(folds)
        folds = [(np.flatnonzero(ids != f), np.flatnonzero(ids == f)) for f in np.unique(ids)]
    folds = [(np.asarray(tr), np.asarray(te)) for tr, te in folds]
    if len(folds) < 2:
        raise PenalizedError(f"cross-validation needs at least 2 folds, got {len(folds)}")
    return folds


def _run_threads(tasks, n_jobs):
    """Run callables in threads with single-threaded BLAS; results in input order."""
    import os

    k = min(len(tasks), n_jobs or os.cpu_count() or 1)
    with _cd.one_blas_thread():     # the same BLAS (one thread) whatever k: same rounding
        if k <= 1:
            return [t() for t in tasks]
        with ThreadPoolExecutor(max_workers=k) as pool:
            return list(pool.map(lambda t: t(), tasks))
