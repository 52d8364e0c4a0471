r"""Cox proportional-hazards regression, equal to R's ``survival::coxph`` (survival 3.5-3).

Model and likelihood
--------------------
Hazard ``lambda(t | x) = lambda_0s(t) exp(x' beta)`` in stratum ``s``.  With distinct event
times ``t_j`` (per stratum), tie groups ``D_j`` (``d_j`` events, total case weight ``W_j``),
risk sets ``R_j = {i : t_i >= t_j}`` and ``r_i = w_i exp(x_i' beta)``, the log partial
likelihood is (Breslow 1974; Efron 1977, with ``omega_j = W_j / d_j`` and ``c_k = k / d_j``):

* Breslow: ``l = sum_j [sum_{D_j} w_i x_i' beta - W_j log S_j]``, ``S_j = sum_{R_j} r_i``;
* Efron:   ``l = sum_j [sum_{D_j} w_i x_i' beta - omega_j sum_{k<d_j} log(S_j - c_k T_j)]``,
  ``T_j = sum_{D_j} r_i``.

Score ``U = sum_j [sum_{D_j} w_i x_i - omega_j sum_k abar_jk]`` and information
``I = sum_j omega_j sum_k [C_jk / A_jk - abar_jk abar_jk']`` with ``A_jk = S_j - c_k T_j``,
``abar_jk = (a_j - c_k a2_j) / A_jk`` (``a`` the ``r``-weighted sums of ``x`` over ``R_j``,
``a2`` over ``D_j``; ``C`` the same for ``x x'``); Breslow is ``c_k = 0`` with one term of
weight ``W_j``.  All sums are accumulated in one backward pass over the sorted data (Numba,
``O(n p^2)``, no ``n x n`` matrix), in units of ``exp(-max eta)`` of the risk set so that no
``exp`` overflows (Therneau & Grambsch 2000, *Modeling Survival Data*, ch. 3).

Fitting (``coxfit6.c``): Newton-Raphson from ``init`` (default 0); a step that lowers the
log-likelihood is halved towards the last good point (``(new + h old) / (h + 1)``);
convergence when ``|1 - l_old / l_new| <= tol`` (R's ``eps = 1e-9``), the coefficients being
those of the last evaluation, so the iterates are R's own (Newton is affine invariant, R's
internal rescaling of ``X`` changes nothing).  Non-convergence and monotone likelihood
(``|U' V| > tol`` and ``> sqrt(tol) |beta|`` at convergence: "coefficient may be infinite")
raise a ``ConvergenceWarning`` and are reported in ``converged`` / ``n_iter``.

Tests: likelihood ratio ``2 (l(beta_hat) - l(init))``; Wald ``(b - init)' V^- (b - init)``
(``V`` the robust variance when robust, as coxph); score ``U(init)' I(init)^- U(init)``
(R's "Score (logrank) test": the log-rank test for one binary covariate without ties);
generalised inverses by R's ``cholesky2`` (pivots below ``toler_chol * max diag`` dropped).
All three on ``p`` df, as ``summary.coxph`` (also when a robust variance from ``<= p``
clusters is singular; that case is warned).

Robust variance (Lin & Wei 1989): ``V_r = D' D`` with ``D`` the dfbeta residuals
``w_i L_i V`` (score residuals ``L_i`` times the model variance), summed within clusters when
``cluster`` is given (cluster-robust, Lee, Wei & Amato 1992); the robust score test uses the
score residuals at ``init`` in the same way.  ``robust=None`` follows coxph: robust when
``cluster`` is given or any case weight is not an integer.  Few clusters make cluster-robust
Wald tests anti-conservative (the sandwich is biased down and its noise ignored; Kauermann &
Carroll 2001, JASA 96:1387): measured here at 5%, the 3-df Wald test rejects ~31% of null
data sets with 10 clusters (n = 60), the 2-df one ~8% with 40 clusters (n = 200), one
coefficient's z-test ~6.5%; the robust score test stays at ~5.5%.

Residuals (``residuals.coxph``): martingale ``M_i = delta_i - e^{eta_i} Lambda_i`` (Efron:
the tied events' own increment is down-weighted by ``1 - c_k``), deviance
``sign(M) sqrt(-2 (M + delta log(delta - M)))``, score ``L_i`` (Efron: ``coxscore2.c``),
Schoenfeld ``x_i - mean_k abar_jk`` for events, dfbeta ``w_i L_i V``.

Baseline hazard and predictions (``survfit.coxph``, ``agsurv``): increments
``W_j / S_j`` (Breslow) or ``omega_j sum_k 1 / A_jk`` (Efron, survival >= 3.0 for
``ties="efron"``), ``S(t | x) = exp(-Lambda_0s(t) exp(x' beta))``.  Centring: R centres each
column at its weighted mean except columns with values in {-1, 0, 1} only (``nocenter``);
``means`` holds R's centres, ``linear_predictor(centered=True)`` is ``fit$linear.predictors``
and ``baseline_hazard(centered=True)`` is ``basehaz(fit)``; ``centered=False`` (default for the
hazard) is the hazard at ``x = 0``, R's ``basehaz(fit, centered = FALSE)``.

Differences from R: times are used as given (R's ``timefix`` merges times that differ by
round-off only); a constant or collinear covariate is an error (R returns NA for it); the
robust score test is at ``init`` also without ``cluster`` (R uses 0 there whatever ``init``).

References: Cox (1972) JRSS-B 34:187; Breslow (1974) Biometrics 30:89; Efron (1977) JASA
72:557; Schoenfeld (1982) Biometrika 69:239; Therneau, Grambsch & Fleming (1990) Biometrika
77:147 (martingale/deviance residuals); Lin & Wei (1989) JASA 84:1074; Lee, Wei & Amato
(1992) in *Survival Analysis: State of the Art*, 237; Therneau & Grambsch (2000).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.exceptions import ConvergenceWarning

from .._checks import InputError, as_matrix, listing

__all__ = ["coxph", "CoxPHResult", "TestResult", "BaselineHazard", "breslow_baseline"]

from ._coxph_core import (BaselineHazard, _baseline, _convergence_warnings,  # noqa: F401
                          _Data, _ginv, _newton, _prepare, _quad_test, _r_means,
                          _resid_sorted, _robust, _unsort, breslow_baseline)


def coxph(X, y=None, *, time=None, event=None, ties: str = "efron", strata=None, weights=None,
          cluster=None, robust: bool | None = None, max_iter: int = 30, tol: float = 1e-9,
          init=None) -> "CoxPHResult":
    """Fit a Cox proportional-hazards model by Newton-Raphson, as ``survival::coxph``.

    Parameters
    ----------
    X : DataFrame or array (n, p)
        Covariates (no intercept); DataFrame column names name the coefficients.
    y : survival target, optional
        ``(time, event)`` in any layout :func:`~radiogenomics.survival.as_survival` takes;
        or give ``time=`` and ``event=``.
    ties : {"efron", "breslow"}
        Tie handling (coxph's default is Efron).
    strata : array (n,), optional
        Stratum labels: a separate baseline hazard per stratum (``strata()`` in R).
    weights : array (n,), optional
        Positive case weights.
    cluster : array (n,), optional
        Cluster labels (e.g. centre): cluster-robust sandwich variance (``cluster()`` in R).
    robust : bool, optional
        Robust (sandwich) variance; default as coxph: True with ``cluster`` or non-integer
        ``weights``, else False.  Wald tests and p-values then use the robust variance.
    max_iter, tol : int, float
        Newton iterations and convergence tolerance on ``|1 - l_old / l_new|``
        (R: ``coxph.control(iter.max = 20, eps = 1e-9)``).  ``max_iter=0`` evaluates the model
        at ``init`` (R's ``iter.max = 0``): ``score_test`` is then the score test at ``init``,
        e.g. the partial score test of added covariates at the restricted estimate.
    init : array (p,), optional
        Starting coefficients (default 0); the likelihood-ratio, Wald and score tests are
        of ``beta = init``.

    Returns
    -------
    CoxPHResult

    Raises
    ------
    InputError
        NaN/inf in ``X`` (rows named), constant or collinear columns, fewer events than
        covariates, mismatched lengths, bad times/events/weights.
    """
    dat = _prepare(X, y, time, event, ties, strata, weights, cluster)
    init = _check_options(init, max_iter, tol, dat.X.shape[1])
    if robust is None:
        robust = cluster is not None or bool(np.any(dat.weights != np.floor(dat.weights)))
    if cluster is not None and not robust:
        warnings.warn("cluster given with robust=False: the clusters are ignored (as coxph).",
                      UserWarning, stacklevel=2)
        dat = replace(dat, cluster=None)
    st = _newton(dat, init, int(max_iter), float(tol))
    var, sing = _ginv(st["imat"])
    eta = dat.sorted_eta(st["beta"])
    _convergence_warnings(st, var, dat.names, tol, max_iter, float(np.max(eta, initial=0)))
    if sing.any() and max_iter > 0:
        warnings.warn(f"information matrix singular for {listing(np.asarray(dat.names)[sing])}"
                      ": their variance is reported as 0.", ConvergenceWarning, stacklevel=2)
    return _assemble(dat, st, var, init, robust)


def _check_options(init, max_iter, tol, p):
    init = np.zeros(p) if init is None else np.asarray(init, dtype=np.float64).ravel()
    if init.shape != (p,) or not np.isfinite(init).all():
        raise InputError(f"init must hold {p} finite values (one per column of X); got "
                         f"{init.size} values, {int((~np.isfinite(init)).sum())} non-finite.")
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 0):
        raise InputError(f"max_iter must be an integer >= 0; got {max_iter!r}.")
    if not 0 < tol < 1:
        raise InputError(f"tol must be in (0, 1); got {tol!r}.")
    return init


def _assemble(dat, st, var, init, robust):
    p, names = len(init), dat.names
    rvar, rscore, n_cl = (None, None, None)
    if robust:
        rvar, rscore, n_cl = _robust(dat, st["beta"], var, init)
        if n_cl <= p:
            warnings.warn(f"only {n_cl} clusters for {p} coefficients: the cluster-robust "
                          "variance is singular (rank < clusters) and its Wald test is not "
                          "usable; use more clusters or model the centre (strata).",
                          UserWarning, stacklevel=3)
    # df = p as summary.coxph, also when a robust variance from <= p clusters is singular
    wald, _ = _quad_test(var if rvar is None else rvar, st["beta"] - init)

    def frame(v):
        return pd.DataFrame(v, index=names, columns=names)

    return CoxPHResult(
        coef=pd.Series(st["beta"], index=names, name="coef"), var=frame(var),
        robust_var=None if rvar is None else frame(rvar),
        loglik=(st["ll0"], st["ll"]),
        lr_test=TestResult("likelihood ratio", 2.0 * (st["ll"] - st["ll0"]), p),
        wald_test=TestResult("Wald" + (" (robust)" if robust else ""), wald, p),
        score_test=TestResult("score (log-rank)", st["score"], p),
        robust_score_test=None if rscore is None else TestResult("robust score", rscore, p),
        n=dat.cd.n, n_events=dat.cd.n_events, converged=st["converged"],
        n_iter=st["n_iter"], ties=dat.cd.ties, init=init,
        means=pd.Series(_r_means(dat.X, dat.weights), index=names, name="mean"),
        n_clusters=n_cl, strata=dat.cd.strata_levels, _data=dat)


# ------------------------------------------------------------------------------ results

@dataclass(frozen=True)
class TestResult:
    """A chi-squared test: ``statistic`` on ``df`` degrees of freedom, ``pvalue``."""

    name: str
    statistic: float
    df: int

    @property
    def pvalue(self) -> float:
        return float(stats.chi2.sf(self.statistic, self.df)) if self.df > 0 else float("nan")

    def __repr__(self) -> str:
        return (f"{self.name} test: chi2 = {self.statistic:.4g} on {self.df} df, "
                f"p = {self.pvalue:.3g}")


_RESIDUALS = ("martingale", "deviance", "score", "schoenfeld", "dfbeta")


@dataclass(frozen=True, eq=False)
class CoxPHResult:
    """A fitted Cox model (:func:`coxph`); numbers equal ``survival::coxph``'s.

    ``loglik`` is ``(l(init), l(beta_hat))`` (R's ``fit$loglik``; ``init`` defaults to 0, so
    the first is the null log partial likelihood).  ``var`` is the model-based variance
    (inverse information, R's ``naive.var`` when robust), ``robust_var`` the sandwich (R's
    ``var`` when robust).  ``se``/``z``/``pvalue``/``conf_int`` use the robust variance when
    the fit is robust, as ``summary(coxph)``.
    """

    coef: pd.Series
    var: pd.DataFrame
    robust_var: pd.DataFrame | None
    loglik: tuple
    lr_test: TestResult
    wald_test: TestResult
    score_test: TestResult
    robust_score_test: TestResult | None
    n: int
    n_events: int
    converged: bool
    n_iter: int
    ties: str
    init: np.ndarray
    means: pd.Series
    n_clusters: int | None
    strata: np.ndarray | None
    _data: _Data

    # -------------------------------------------------------------- coefficients
    @property
    def robust(self) -> bool:
        return self.robust_var is not None

    @property
    def se(self) -> pd.Series:
        """Model-based standard errors (R's ``se(coef)``)."""
        return pd.Series(np.sqrt(np.diag(self.var)), index=self.coef.index, name="se")

    @property
    def robust_se(self) -> pd.Series | None:
        if self.robust_var is None:
            return None
        return pd.Series(np.sqrt(np.diag(self.robust_var)), index=self.coef.index,
                         name="robust_se")

    @property
    def _se_used(self) -> pd.Series:
        return self.robust_se if self.robust else self.se

    @property
    def z(self) -> pd.Series:
        return (self.coef / self._se_used).rename("z")

    @property
    def pvalue(self) -> pd.Series:
        """Two-sided Wald p-values (robust SE when robust)."""
        return pd.Series(2 * stats.norm.sf(np.abs(self.z)), index=self.coef.index, name="p")

    @property
    def hazard_ratio(self) -> pd.Series:
        return np.exp(self.coef).rename("hazard_ratio")

    def conf_int(self, level: float = 0.95, exponentiate: bool = False) -> pd.DataFrame:
        """Wald intervals ``coef +- z_{(1+level)/2} se`` (hazard-ratio scale with
        ``exponentiate=True``, R's ``summary(fit)$conf.int``)."""
        if not 0 < level < 1:
            raise InputError(f"level must be in (0, 1); got {level!r}.")
        q = stats.norm.ppf(0.5 + level / 2)
        lo, hi = self.coef - q * self._se_used, self.coef + q * self._se_used
        out = pd.DataFrame({"lower": lo, "upper": hi})
        return np.exp(out) if exponentiate else out

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Coefficient table (``summary(coxph)``): coef, hazard_ratio, se, [robust_se], z, p,
        hr_lower, hr_upper."""
        out = pd.DataFrame({"coef": self.coef, "hazard_ratio": self.hazard_ratio,
                            "se": self.se})
        if self.robust:
            out["robust_se"] = self.robust_se
        ci = self.conf_int(level, exponentiate=True)
        out["z"], out["p"] = self.z, self.pvalue
        out["hr_lower"], out["hr_upper"] = ci["lower"], ci["upper"]
        return out

    def summary(self) -> str:
        head = (f"Cox proportional hazards (ties={self.ties}): n={self.n}, "
                f"events={self.n_events}")
        if self.strata is not None:
            head += f", {len(self.strata)} strata"
        if self.robust:
            head += f", robust SE ({self.n_clusters} clusters)"
        state = (f"converged in {self.n_iter} iterations" if self.converged else
                 "evaluated at init (max_iter=0)" if self.n_iter == 0 else
                 f"NOT converged after {self.n_iter} iterations")
        tests = [self.lr_test, self.wald_test, self.score_test]
        if self.robust_score_test is not None:
            tests.append(self.robust_score_test)
        return "\n".join([head, self.to_frame().to_string(float_format=lambda v: f"{v:.4g}"),
                          f"log partial likelihood {self.loglik[1]:.6g} (init "
                          f"{self.loglik[0]:.6g}); {state}", *map(repr, tests)])

    def __repr__(self) -> str:
        coefs = ", ".join(f"{k}={v:.4g}" for k, v in list(self.coef.items())[:6])
        more = ", ..." if len(self.coef) > 6 else ""
        return (f"CoxPHResult({coefs}{more}; n={self.n}, events={self.n_events}, "
                f"ties={self.ties!r}, loglik={self.loglik[1]:.6g}"
                f"{'' if self.converged else ', NOT converged'})")

    # -------------------------------------------------------------- prediction
    def _design(self, X_new) -> np.ndarray:
        names = list(self.coef.index)
        if isinstance(X_new, pd.DataFrame):
            miss = [c for c in names if c not in X_new.columns.astype(str)]
            if miss:
                raise InputError(f"X_new lacks column(s) {listing(miss)} used by the model.")
            X_new = X_new.set_axis(X_new.columns.astype(str), axis=1)[names]
        A, _, _ = as_matrix(X_new, "X_new")
        if A.shape[1] != len(names):
            raise InputError(f"X_new has {A.shape[1]} columns; the model has {len(names)} "
                             f"({listing(names)}).")
        return A

    def _index(self, X_new):
        return X_new.index if isinstance(X_new, (pd.DataFrame, pd.Series)) else None

    def linear_predictor(self, X_new=None, centered: bool = True) -> pd.Series:
        """``X beta`` (training data by default); ``centered=True`` subtracts
        ``sum(means * beta)`` as R's ``fit$linear.predictors`` / ``predict(type = "lp")``."""
        A = self._data.X if X_new is None else self._design(X_new)
        eta = A @ self.coef.to_numpy()
        if centered:
            eta = eta - float(self.means.to_numpy() @ self.coef.to_numpy())
        idx = self._data.index if X_new is None else self._index(X_new)
        return pd.Series(eta, index=idx, name="linear_predictor")

    def _baseline_obj(self, center) -> BaselineHazard:
        d = self._data
        return _baseline(d, (d.X[d.cd.order] - center) @ self.coef.to_numpy())

    def baseline_hazard(self, centered: bool = False) -> pd.DataFrame:
        """Baseline cumulative hazard per stratum at every distinct time (``survfit`` rows).

        ``centered=False``: at ``x = 0`` (R's ``basehaz(fit, centered = FALSE)``);
        ``centered=True``: at ``means`` (R's ``basehaz(fit)``).  Columns: [stratum], time,
        n_risk, n_event, n_censor, hazard (increment), cumhaz, surv (``exp(-cumhaz)``)."""
        center = self.means.to_numpy() if centered else np.zeros(len(self.coef))
        tab = self._baseline_obj(center).to_frame()
        tab["surv"] = np.exp(-tab["cumhaz"])
        return tab

    def predict_survival(self, X_new, times, strata=None) -> pd.DataFrame:
        """``S(t | x) = exp(-Lambda_0s(t) exp(x' beta))`` (R's ``survfit(fit, newdata)``):
        rows = new subjects, columns = ``times``; ``strata`` (one per row) when stratified."""
        A = self._design(X_new)
        d = self._data
        base = self._baseline_obj(d.wmeans)
        surv = base.survival((A - d.wmeans) @ self.coef.to_numpy(), times, strata)
        return pd.DataFrame(surv, index=self._index(X_new),
                            columns=pd.Index(np.atleast_1d(np.asarray(times, dtype=float)),
                                             name="time"))

    def predict_risk(self, X_new, horizon: float, strata=None) -> pd.Series:
        """Absolute risk ``1 - S(horizon | x)`` of an event by ``horizon``."""
        s = self.predict_survival(X_new, [float(horizon)], strata)
        return (1.0 - s.iloc[:, 0]).rename(f"risk_{horizon:g}")

    # -------------------------------------------------------------- residuals
    def residuals(self, type: str = "martingale", weighted: bool | None = None):
        """Residuals as ``residuals.coxph``: "martingale", "deviance" (Series), "score",
        "dfbeta" (n x p DataFrame), "schoenfeld" (events x p, in stratum-time order, with
        their ``time`` [and ``stratum``]).  ``weighted`` multiplies by the case weights
        (default: only for dfbeta, as R)."""
        if type not in _RESIDUALS:
            raise InputError(f"type must be one of {listing(_RESIDUALS)}; got {type!r}.")
        d = self._data
        weighted = (type == "dfbeta") if weighted is None else bool(weighted)
        wf = d.weights if weighted else np.ones(d.cd.n)
        mart_s, score_s, Mb = _resid_sorted(d, self.coef.to_numpy())
        if type in ("martingale", "deviance"):
            mart = _unsort(d, mart_s) * wf
            if type == "deviance":
                ev = d.event
                with np.errstate(divide="ignore", invalid="ignore"):
                    inner = mart + np.where(ev == 0, 0.0, ev * np.log(np.abs(ev - mart)))
                mart = np.sign(mart) * np.sqrt(np.maximum(-2.0 * inner, 0.0))
            return pd.Series(mart, index=d.index, name=type)
        if type in ("score", "dfbeta"):
            L = _unsort(d, score_s)
            if type == "dfbeta":
                L = L @ self.var.to_numpy()
            return pd.DataFrame(L * wf[:, None], index=d.index, columns=self.coef.index)
        return self._schoenfeld(Mb, wf)

    def _schoenfeld(self, Mb, wf):
        d = self._data
        cd = d.cd
        ev = np.flatnonzero(cd.status == 1)
        grp = np.searchsorted(cd.grp_start, ev, side="right") - 1
        rows = cd.order[ev]
        res = (d.Xs[ev] - Mb[grp]) * wf[rows][:, None]
        out = pd.DataFrame(res, index=d.index[rows], columns=self.coef.index)
        out.insert(0, "time", d.time[rows])
        if cd.strata_levels is not None:
            codes = np.repeat(np.arange(cd.n_strata), np.diff(cd.strata_start))
            out.insert(1, "stratum", cd.strata_levels[codes[ev]])
        return out
