"""Computational core of :mod:`radiogenomics.survival.coxph`: the Numba passes over the sorted
risk sets (score, information, residuals), R's generalised Cholesky, data preparation, the
Newton-Raphson loop and the baseline hazard (formulas in :mod:`radiogenomics.survival.coxph`)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit
from sklearn.exceptions import ConvergenceWarning

from .._checks import InputError, align_samples, as_matrix, listing
from .._cox import CoxData, cox_prepare
from ._data import as_survival

__all__ = ["BaselineHazard", "breslow_baseline"]

TOLER_CHOL = np.finfo(float).eps ** 0.75      # coxph.control()$toler.chol


# ------------------------------------------------------------------------------ kernels

@njit(cache=True, nogil=True)
def _rescale(f, a, C, full):
    for k in range(a.shape[0]):
        a[k] *= f
        if full:
            for l in range(k + 1):
                C[k, l] *= f


@njit(cache=True, nogil=True)
def _add_risk(X, q, r, a, C, full):
    for k in range(X.shape[1]):
        rx = r * X[q, k]
        a[k] += rx
        if full:
            for l in range(k + 1):
                C[k, l] += rx * X[q, l]


@njit(cache=True, nogil=True)
def _pass(X, eta, w, s_start, s_grp, g_start, g_end, efron, mode, gt, u, imat, u2, i12, i22,
          m_out, H, M, Mbar):
    """One backward pass over the sorted data, risk sets accumulated in units of
    ``exp(-m)``, ``m`` the running maximum of ``eta``; returns the log partial likelihood.

    ``mode`` 1: score ``u`` and information ``imat``; 2: also ``sum_j g_j U_j``,
    ``sum_j g_j I_j``, ``sum_j g_j^2 I_j`` (``cox.zph``'s blocks, ``zph1.c``); 0: per tie group
    ``m_j``, ``H[j] = omega sum_k (1, 1 - c_k) / A_k``, ``M[j] = omega sum_k (1, 1 - c_k)
    abar_k / A_k`` (units ``exp(-m_j)``) and ``Mbar[j] = mean_k abar_k`` for residuals and
    hazards."""
    p = X.shape[1]
    full = mode > 0
    a, a2, ab, gu = np.zeros(p), np.zeros(p), np.zeros(p), np.zeros(p)
    C, C2, gI = np.zeros((p, p)), np.zeros((p, p)), np.zeros((p, p))
    ll = 0.0
    for s in range(s_start.shape[0] - 1):
        m, S = -np.inf, 0.0
        a[:] = 0.0
        C[:, :] = 0.0
        q = s_start[s + 1]
        for j in range(s_grp[s + 1] - 1, s_grp[s] - 1, -1):
            g0, g1 = g_start[j], g_end[j]
            while q > g0:                     # everyone at or after t_j joins the risk set
                q -= 1
                if eta[q] > m:
                    f = math.exp(m - eta[q])
                    S *= f
                    _rescale(f, a, C, full)
                    m = eta[q]
                r = w[q] * math.exp(eta[q] - m)
                S += r
                _add_risk(X, q, r, a, C, full)
            d = g1 - g0
            nk = d if (efron and d > 1) else 1
            W, T = 0.0, 0.0
            gu[:] = 0.0
            gI[:, :] = 0.0
            a2[:] = 0.0
            C2[:, :] = 0.0
            for q2 in range(g0, g1):
                W += w[q2]
                ll += w[q2] * eta[q2]
                r = w[q2] * math.exp(eta[q2] - m)
                T += r
                for k in range(p):
                    gu[k] += w[q2] * X[q2, k]
                _add_risk(X, q2, r, a2, C2, full and nk > 1)
            om = W / nk
            if mode == 0:
                m_out[j] = m
                H[j, :] = 0.0
                M[j, :, :] = 0.0
                Mbar[j, :] = 0.0
            for kk in range(nk):
                c = kk / nk
                A = S - c * T
                ll -= om * (math.log(A) + m)
                for k in range(p):
                    ab[k] = (a[k] - c * a2[k]) / A
                    gu[k] -= om * ab[k]
                if mode == 0:
                    H[j, 0] += om / A
                    H[j, 1] += om * (1.0 - c) / A
                    for k in range(p):
                        M[j, 0, k] += om * ab[k] / A
                        M[j, 1, k] += om * (1.0 - c) * ab[k] / A
                        Mbar[j, k] += ab[k] / nk
                    continue
                for k in range(p):
                    for l in range(k + 1):
                        gI[k, l] += om * ((C[k, l] - c * C2[k, l]) / A - ab[k] * ab[l])
            for k in range(p):
                u[k] += gu[k]
                for l in range(k + 1):
                    imat[k, l] += gI[k, l]
            if mode == 2:
                gj = gt[j]
                for k in range(p):
                    u2[k] += gj * gu[k]
                    for l in range(k + 1):
                        i12[k, l] += gj * gI[k, l]
                        i22[k, l] += gj * gj * gI[k, l]
    for k in range(p):
        for l in range(k):
            imat[l, k] = imat[k, l]
            i12[l, k] = i12[k, l]
            i22[l, k] = i22[k, l]
    return ll


@njit(cache=True, nogil=True)
def _subject_kernel(X, eta, status, last_grp, g_new, m, H, M, Mbar, mart, score):
    """Martingale and score residuals (sorted order) from the group terms: cumulative sums
    over the tie groups of a stratum, rescaled to ``exp(-m_j)`` as the risk sets shrink."""
    K, p = H.shape[0], X.shape[1]
    prevH, cumH = np.zeros(K), np.zeros(K)
    prevM, cumM = np.zeros((K, p)), np.zeros((K, p))
    for j in range(K):
        if not g_new[j]:
            f = math.exp(m[j] - m[j - 1])       # <= 1
            prevH[j] = cumH[j - 1] * f
            for k in range(p):
                prevM[j, k] = cumM[j - 1, k] * f
        cumH[j] = prevH[j] + H[j, 0]
        for k in range(p):
            cumM[j, k] = prevM[j, k] + M[j, 0, k]
    for q in range(X.shape[0]):
        j = last_grp[q]
        if j < 0:
            mart[q] = 0.0
            score[q, :] = 0.0
            continue
        rho = math.exp(eta[q] - m[j])
        if status[q] > 0.0:
            e1 = prevH[j] + H[j, 1]
            mart[q] = 1.0 - rho * e1
            for k in range(p):
                score[q, k] = (X[q, k] - Mbar[j, k]) - rho * (
                    X[q, k] * e1 - prevM[j, k] - M[j, 1, k])
        else:
            mart[q] = -rho * cumH[j]
            for k in range(p):
                score[q, k] = -rho * (X[q, k] * cumH[j] - cumM[j, k])


@njit(cache=True, nogil=True)
def _gchol(A, toler):
    """R's ``cholesky2``: ``A = L D L'`` in place (``D`` on the diagonal), pivots below
    ``toler * max(diag)`` set to 0; returns the rank."""
    n = A.shape[0]
    eps = 0.0
    for i in range(n):
        eps = max(eps, A[i, i])
        for j in range(i + 1, n):
            A[j, i] = A[i, j]
    if eps == 0.0:
        for i in range(n):
            A[i, i] = 0.0
        return 0
    eps *= toler
    rank = 0
    for i in range(n):
        piv = A[i, i]
        if not np.isfinite(piv) or piv < eps:
            A[i, i] = 0.0
            continue
        rank += 1
        for j in range(i + 1, n):
            t = A[j, i] / piv
            A[j, i] = t
            A[j, j] -= t * t * piv
            for k in range(j + 1, n):
                A[k, j] -= t * A[k, i]
    return rank


@njit(cache=True, nogil=True)
def _gchol_solve(L, b):
    """R's ``chsolve2``: ``A^- b`` from :func:`_gchol` (dropped pivots give 0)."""
    n = L.shape[0]
    y = b.copy()
    for i in range(n):
        for j in range(i):
            y[i] -= y[j] * L[i, j]
    for i in range(n - 1, -1, -1):
        if L[i, i] == 0.0:
            y[i] = 0.0
        else:
            t = y[i] / L[i, i]
            for j in range(i + 1, n):
                t -= y[j] * L[j, i]
            y[i] = t
    return y


def _ginv(A, toler=TOLER_CHOL):
    """Generalised inverse (R's ``chinv2``) and the zero-pivot mask."""
    L = np.array(A, dtype=np.float64, order="C", copy=True)
    _gchol(L, toler)
    p = L.shape[0]
    inv = np.column_stack([_gchol_solve(L, e) for e in np.eye(p)]) if p else np.zeros((0, 0))
    sing = np.diag(L) == 0.0
    inv[sing, :] = 0.0
    inv[:, sing] = 0.0
    return inv, sing


def _quad_test(A, b, toler=TOLER_CHOL):
    """``b' A^- b`` and ``rank(A)`` as R's ``coxph.wtest``."""
    L = np.array(A, dtype=np.float64, order="C", copy=True)
    rank = _gchol(L, toler)
    return float(b @ _gchol_solve(L, np.asarray(b, dtype=np.float64))), int(rank)


# ------------------------------------------------------------------------------ data

@dataclass(frozen=True, eq=False)
class _Data:
    """Checked, sorted data of a fit (private; arrays sorted by stratum, time, events first)."""

    cd: CoxData
    X: np.ndarray          # (n, p) original order, as given
    Xs: np.ndarray         # (n, p) sorted, centred at the weighted means
    wmeans: np.ndarray     # weighted column means (the numerical centring)
    time: np.ndarray       # original order
    event: np.ndarray
    weights: np.ndarray    # original order
    s_grp: np.ndarray      # first tie group of each stratum, then K
    cluster: np.ndarray | None
    index: pd.Index
    names: list

    def sorted_eta(self, beta):
        return self.Xs @ beta


def _pandas_align(X, y, time, event, others):
    objs = {"X": X, "y": y, "time": time, "event": event, **others}
    pd_objs = {k: v for k, v in objs.items() if isinstance(v, (pd.DataFrame, pd.Series))}
    if len(pd_objs) > 1:
        pd_objs = align_samples(pd_objs)
    return {k: pd_objs.get(k, v) for k, v in objs.items()}


def _labels(values, name, n, what):
    if values is None:
        return None
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size != n:
        raise InputError(f"{name} must have one {what} per subject ({n}); got shape "
                         f"{arr.shape}.")
    miss = pd.isna(arr)
    if miss.any():
        raise InputError(f"{name} has {int(miss.sum())} missing values (rows "
                         f"{listing(np.flatnonzero(miss))}): give every subject a {what}.")
    return arr


def _check_design(X, names, w, codes):
    """Constant, stratum-constant and collinear columns are errors naming them."""
    const = [names[j] for j in range(X.shape[1]) if np.ptp(X[:, j]) == 0]
    if const:
        raise InputError(f"X column(s) {listing(const)} are constant: a constant has no effect "
                         "in a Cox model (the baseline hazard absorbs it); drop them.")
    Xc = X.copy()
    for s in np.unique(codes):
        rows = codes == s
        Xc[rows] -= np.average(X[rows], axis=0, weights=w[rows])
    within = [names[j] for j in range(X.shape[1]) if np.abs(Xc[:, j]).max() == 0]
    if within:
        raise InputError(f"X column(s) {listing(within)} are constant within every stratum: the "
                         "stratum baselines absorb them; drop them (or do not stratify).")
    G = (Xc * w[:, None]).T @ Xc                  # weighted within-stratum cross-products
    sd = np.sqrt(np.diag(G))
    G = np.ascontiguousarray(G / np.outer(sd, sd))
    _gchol(G, 1e-11)                              # pivot j = 1 - R^2 of column j on earlier
    bad = np.flatnonzero(np.diag(G) == 0.0)
    if bad.size:
        raise InputError(
            f"X column(s) {listing([names[j] for j in bad])} are (nearly) linear combinations "
            f"of the columns before them ({listing(names[:bad[0]])}"
            f"{', within strata' if codes.max() > 0 else ''}): the coefficients are not "
            "identifiable; drop them.")


def _prepare(X, y, time, event, ties, strata, weights, cluster):
    al = _pandas_align(X, y, time, event, {"strata": strata, "weights": weights,
                                           "cluster": cluster})
    A, index, names = as_matrix(al["X"], "X", nan_fix="drop these subjects or impute the "
                                "covariates before fitting")
    t, e, yidx = as_survival(al["y"], time=al["time"], event=al["event"])
    n, p = A.shape
    if t.size != n:
        raise InputError(f"X has {n} rows but the survival outcome has {t.size}: pass one "
                         "row per subject, in the same order.")
    if int(e.sum()) < p:
        raise InputError(f"{int(e.sum())} events for {p} covariates: the Cox model needs at "
                         "least as many events as covariates (10 per covariate is the usual "
                         "rule); drop covariates or use a penalised Cox model.")
    w = None
    if al["weights"] is not None:
        try:
            w = np.asarray(al["weights"], dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError("weights must be numbers (positive case weights).") from None
        if w.ndim != 1 or w.size != n:
            raise InputError(f"weights must have one value per subject ({n}); got shape "
                             f"{w.shape}.")
        bad = ~np.isfinite(w) | (w <= 0)
        if bad.any():
            raise InputError(f"weights must be finite and > 0; {int(bad.sum())} are not (rows "
                             f"{listing(np.flatnonzero(bad))}): drop those subjects.")
    st = _labels(al["strata"], "strata", n, "stratum")
    cl = _labels(al["cluster"], "cluster", n, "cluster label")
    if ties not in ("efron", "breslow"):
        raise InputError(f"ties must be 'efron' or 'breslow'; got {ties!r}.")
    cd = cox_prepare(t, e, ties, strata=st, weights=w)
    wv = np.ones(n) if w is None else w
    codes = np.empty(n, dtype=np.int64)
    codes[cd.order] = np.repeat(np.arange(cd.n_strata), np.diff(cd.strata_start))
    names = [str(c) for c in names]
    _check_design(A, names, wv, codes)
    wmeans = wv @ A / wv.sum()
    Xs = np.ascontiguousarray((A - wmeans)[cd.order])
    s_grp = np.searchsorted(cd.grp_start, cd.strata_start).astype(np.int64)
    idx = index if index is not None else (yidx if yidx is not None else pd.RangeIndex(n))
    return _Data(cd, A, Xs, wmeans, t, e, wv, s_grp, cl, idx, names)


def _derivs(dat, beta, gt=None):
    """``(loglik, u, imat)``; with ``gt`` (per tie group) also cox.zph's blocks."""
    cd, p = dat.cd, dat.Xs.shape[1]
    u, imat, u2 = np.zeros(p), np.zeros((p, p)), np.zeros(p)
    i12, i22 = np.zeros((p, p)), np.zeros((p, p))
    e0, e1 = np.zeros(0), np.zeros((0, 2))
    ll = _pass(dat.Xs, dat.sorted_eta(beta), cd.weights, cd.strata_start, dat.s_grp,
               cd.grp_start, cd.grp_end, cd.ties == "efron", 1 if gt is None else 2,
               np.zeros(1) if gt is None else gt, u, imat, u2, i12, i22, e0, e1,
               np.zeros((0, 2, p)), np.zeros((0, p)))
    return (ll, u, imat) if gt is None else (ll, u, imat, u2, i12, i22)


def _groups(dat, eta_sorted):
    cd, p = dat.cd, dat.Xs.shape[1]
    K = cd.grp_start.size
    m, H, M, Mb = np.empty(K), np.empty((K, 2)), np.empty((K, 2, p)), np.empty((K, p))
    _pass(dat.Xs, eta_sorted, cd.weights, cd.strata_start, dat.s_grp, cd.grp_start,
          cd.grp_end, cd.ties == "efron", 0, np.zeros(1), np.zeros(p), np.zeros((p, p)),
          np.zeros(p), np.zeros((p, p)), np.zeros((p, p)), m, H, M, Mb)
    return m, H, M, Mb


def _resid_sorted(dat, beta):
    """Martingale and score residuals in sorted order, and the Schoenfeld means by group."""
    cd = dat.cd
    eta = dat.sorted_eta(beta)
    m, H, M, Mb = _groups(dat, eta)
    mart, score = np.empty(cd.n), np.empty((cd.n, dat.Xs.shape[1]))
    _subject_kernel(dat.Xs, eta, cd.status, cd.last_grp, cd.grp_new, m, H, M, Mb, mart, score)
    return mart, score, Mb


def _unsort(dat, a):
    out = np.empty_like(a)
    out[dat.cd.order] = a
    return out


# ------------------------------------------------------------------------------ fitting

def _newton(dat, init, max_iter, tol):
    """coxfit6's Newton-Raphson with step halving; returns the fit state."""
    beta = init.copy()
    ll0, u, imat = _derivs(dat, beta)
    if not np.isfinite(ll0):
        raise InputError("init gives a non-finite log partial likelihood (exp overflow): use "
                         "smaller initial values.")
    score, _ = _quad_test(imat, u)
    state = dict(beta=beta, ll0=ll0, ll=ll0, u=u, imat=imat, score=score, n_iter=0,
                 converged=False, halving=False)
    if max_iter == 0:
        return state
    best, newbeta, halving = ll0, beta + _gsolve(imat, u), 0
    for it in range(1, max_iter + 1):
        ll, u, imat = _derivs(dat, newbeta)
        finite = np.isfinite(ll) and np.isfinite(u).all() and np.isfinite(imat).all()
        if finite and abs(1.0 - best / ll) <= tol:
            state.update(beta=newbeta, ll=ll, u=u, imat=imat, n_iter=it, converged=True,
                         halving=halving > 0)
            return state
        if not finite or ll < best:
            halving += 1
            newbeta = (newbeta + halving * beta) / (halving + 1.0)
        else:
            halving, best, beta = 0, ll, newbeta
            newbeta = newbeta + _gsolve(imat, u)
    ll, u, imat = _derivs(dat, beta)
    state.update(beta=beta, ll=ll, u=u, imat=imat, n_iter=max_iter)
    return state


def _gsolve(A, b):
    L = np.array(A, dtype=np.float64, order="C", copy=True)
    _gchol(L, TOLER_CHOL)
    return _gchol_solve(L, b)


def _convergence_warnings(state, var, names, tol, max_iter, max_eta):
    if max_iter == 0:
        return
    beta, u = state["beta"], state["u"]
    infs = np.abs(u @ var)
    if not state["converged"]:
        msg = (f"coxph did not converge in max_iter={max_iter} Newton iterations (relative "
               f"change of the log-likelihood still > tol={tol:g}); raise max_iter")
        if max_eta > 500 or not np.isfinite(infs).all():
            msg += "; one or more coefficients may be infinite"
        warnings.warn(msg + ".", ConvergenceWarning, stacklevel=3)
        return
    bad = ~np.isfinite(u) | ((infs > tol) & (infs > math.sqrt(tol) * np.abs(beta)))
    if bad.any():
        warnings.warn(
            f"Loglik converged before variable(s) {listing(np.asarray(names)[bad])}; "
            "coefficient may be infinite (monotone likelihood: a covariate separates the "
            "events, e.g. no events in one group). Use a penalised (Firth or ridge) Cox "
            "model or drop/merge that covariate.", ConvergenceWarning, stacklevel=3)


def _r_means(X, w):
    """coxph's ``means``: weighted column means, 0 for columns in {-1, 0, 1} (nocenter)."""
    zero_one = ((X == 0.0) | (X == 1.0) | (X == -1.0)).all(axis=0)
    return np.where(zero_one, 0.0, w @ X / w.sum())


def _robust(dat, beta, var, init):
    """Robust variance from (cluster-summed) dfbeta and the robust score test at ``init``."""
    _, L, _ = _resid_sorted(dat, beta)
    D = _unsort(dat, L) * dat.weights[:, None] @ var
    _, L0, _ = _resid_sorted(dat, init)
    S0 = _unsort(dat, L0) * dat.weights[:, None]
    if dat.cluster is not None:
        codes, levels = pd.factorize(dat.cluster)
        D = np.stack([np.bincount(codes, D[:, k], len(levels)) for k in range(D.shape[1])], 1)
        S0 = np.stack([np.bincount(codes, S0[:, k], len(levels))
                       for k in range(S0.shape[1])], 1)
    rscore, _ = _quad_test(S0.T @ S0, S0.sum(axis=0))
    return D.T @ D, rscore, D.shape[0]


@dataclass(frozen=True, eq=False)
class BaselineHazard:
    """Cumulative baseline hazard step functions, one per stratum (at ``eta = 0``).

    ``table``: one row per distinct time of each stratum (R's ``survfit`` rows): ``time``,
    weighted ``n_risk``, ``n_event``, ``n_censor``, the increment ``hazard`` and
    ``cumhaz``; a ``stratum`` column when stratified.
    """

    table: pd.DataFrame
    strata: np.ndarray | None

    def _codes(self, strata, n):
        if self.strata is None:
            if strata is not None:
                raise InputError("this baseline hazard has no strata; do not pass strata.")
            return np.zeros(n, dtype=np.int64)
        if strata is None:
            raise InputError(f"the model is stratified ({listing(self.strata)}): pass the "
                             "stratum of each new subject (strata=).")
        s = np.asarray(strata).ravel()
        if s.size != n:
            raise InputError(f"strata has {s.size} values for {n} new subjects.")
        codes = pd.Index(self.strata).get_indexer(s)
        if (codes < 0).any():
            raise InputError(f"strata {listing(pd.unique(s[codes < 0]))} were not in the fit "
                             f"(it has {listing(self.strata)}).")
        return codes.astype(np.int64)

    def cumulative_hazard(self, times, strata=None) -> np.ndarray:
        """``Lambda_0s(t)`` (right-continuous, 0 before the first time, constant after the
        last): ``(len(times),)`` without strata, ``(len(strata), len(times))`` with."""
        if strata is None:
            return self._cumhaz(times, self._codes(None, 1))[0]
        return self._cumhaz(times, self._codes(strata, np.asarray(strata).size))

    def _cumhaz(self, times, codes):
        t = np.atleast_1d(np.asarray(times, dtype=np.float64))
        if t.ndim != 1 or not np.isfinite(t).all():
            raise InputError("times must be a 1-D array of finite times.")
        tab = self.table
        out = np.empty((codes.size, t.size))
        keys = tab["stratum"].to_numpy() if self.strata is not None else None
        for c in np.unique(codes):
            sub = tab if keys is None else tab[keys == self.strata[c]]
            ch = np.concatenate([[0.0], sub["cumhaz"].to_numpy()])
            out[codes == c] = ch[np.searchsorted(sub["time"].to_numpy(), t, side="right")]
        return out

    def survival(self, eta, times, strata=None) -> np.ndarray:
        """``S(t | eta) = exp(-Lambda_0s(t) exp(eta))``: ``(len(eta), len(times))``; ``eta``
        on the scale the hazard was computed at (see :func:`breslow_baseline`)."""
        eta = np.atleast_1d(np.asarray(eta, dtype=np.float64))
        H = self._cumhaz(times, self._codes(strata, eta.size))
        return np.exp(-H * np.exp(eta)[:, None])

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:
        k = 1 if self.strata is None else len(self.strata)
        return f"BaselineHazard({len(self.table)} times, {k} strata)"


def _baseline(dat: _Data, eta_sorted) -> BaselineHazard:
    cd = dat.cd
    m, H, _, _ = _groups(dat, eta_sorted)
    ts = dat.time[cd.order]
    codes = np.repeat(np.arange(cd.n_strata), np.diff(cd.strata_start))
    new = np.ones(cd.n, dtype=bool)
    new[1:] = (ts[1:] != ts[:-1]) | (codes[1:] != codes[:-1])
    first = np.flatnonzero(new)
    ws, ds = cd.weights, cd.status
    n_event = np.add.reduceat(ws * ds, first)
    n_cens = np.add.reduceat(ws * (1 - ds), first)
    rcodes = codes[first]
    tot = np.add.reduceat(ws, first)
    n_risk = np.empty_like(tot)
    haz = np.zeros(first.size)
    row_of_grp = np.searchsorted(first, cd.grp_start, side="right") - 1
    haz[row_of_grp] = np.exp(np.log(H[:, 0]) - m)
    cumhaz = np.empty_like(haz)
    for s in range(cd.n_strata):
        r = rcodes == s
        n_risk[r] = np.cumsum(tot[r][::-1])[::-1]
        cumhaz[r] = np.cumsum(haz[r])
    tab = pd.DataFrame({"time": ts[first], "n_risk": n_risk, "n_event": n_event,
                        "n_censor": n_cens, "hazard": haz, "cumhaz": cumhaz})
    if cd.strata_levels is not None:
        tab.insert(0, "stratum", cd.strata_levels[rcodes])
    return BaselineHazard(tab, cd.strata_levels)


def breslow_baseline(time, event, eta, *, ties: str = "breslow", strata=None,
                     weights=None) -> BaselineHazard:
    """Breslow (or Efron-type) cumulative baseline hazard at given linear predictors.

    ``Lambda_0s(t) = sum_{t_j <= t} dLambda_j`` with ``dLambda_j = W_j / sum_{R_j} w_i
    exp(eta_i)`` (Breslow 1972) or, for ``ties="efron"``, ``(W_j / d_j) sum_{k<d_j} 1 /
    (S_j - (k / d_j) T_j)`` (survival >= 3.0's ``survfit.coxph``).  The hazard is that of a
    subject with ``eta = 0`` on the scale of the ``eta`` given: pass ``eta = X beta``
    (uncentred) and predict with ``S(t | x) = exp(-Lambda_0s(t) exp(x beta))``
    (:meth:`BaselineHazard.survival`).  R's ``basehaz(fit)`` (``centered = TRUE``) is this
    hazard times ``exp(sum(fit$means * beta))``; ``basehaz(fit, centered = FALSE)`` is it.
    Use it to turn any linear predictor (e.g. a penalised Cox model's) into absolute risks.

    Parameters
    ----------
    time, event : array (n,)
        Follow-up times (> 0) and event indicators (1/0) of the training data.
    eta : array (n,)
        Linear predictors of the training subjects (finite).
    ties : {"breslow", "efron"}
    strata, weights : array (n,), optional

    Returns
    -------
    BaselineHazard
    """
    t, e, _ = as_survival(time=time, event=event)
    eta = np.asarray(eta, dtype=np.float64).ravel()
    if eta.size != t.size or not np.isfinite(eta).all():
        raise InputError(f"eta must hold {t.size} finite linear predictors (one per "
                         "subject); got " + f"{eta.size} values" +
                         ("" if eta.size != t.size else " with NaN/inf"))
    if ties not in ("efron", "breslow"):
        raise InputError(f"ties must be 'efron' or 'breslow'; got {ties!r}.")
    st = _labels(strata, "strata", t.size, "stratum")
    cd = cox_prepare(t, e, ties, strata=st, weights=weights)
    w = np.empty(t.size)
    w[cd.order] = cd.weights
    s_grp = np.searchsorted(cd.grp_start, cd.strata_start).astype(np.int64)
    dat = _Data(cd, np.zeros((t.size, 0)), np.zeros((t.size, 0)), np.zeros(0), t, e, w, s_grp,
                None, pd.RangeIndex(t.size), [])
    return _baseline(dat, np.ascontiguousarray(eta[cd.order]))
