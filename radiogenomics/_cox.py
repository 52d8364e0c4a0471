r"""Cox partial likelihood for the coordinate-descent engine: log-likelihood, gradient, Hessian
diagonal, working response, deviance and ``lambda_max``, in glmnet's coxnet parameterisation.

Notation
--------
Observations ``i = 1..n`` with follow-up time ``t_i > 0``, event indicator ``delta_i`` (1 event,
0 censored), case weight ``w_i > 0`` (1 by default), linear predictor ``eta_i = x_i' beta`` and
(optional) stratum.  Within a stratum, the distinct event times ``t_(1) < ... < t_(K)`` define
tie groups ``D_j`` (the ``d_j`` events at ``t_(j)``, total weight ``W_j``) and risk sets
``R_j = {i : t_i >= t_(j)}`` (a subject censored at ``t_(j)`` is at risk at ``t_(j)``, the
``survival::coxph`` convention).  Write ``S_j = sum_{R_j} w_i e^{eta_i}`` and
``T_j = sum_{D_j} w_i e^{eta_i}``.

Log partial likelihood (``cox_loglik``)
    Breslow (1974):  ``l = sum_j [ sum_{D_j} w_i eta_i - W_j log S_j ]``.

    Efron (1977), with case weights as in ``survival`` (``coxfit6.c``: the mean weight
    ``omega_j = W_j / d_j`` of the tied events multiplies each of the ``d_j`` terms):
    ``l = sum_j [ sum_{D_j} w_i eta_i - omega_j sum_{k=0}^{d_j-1} log(S_j - (k/d_j) T_j) ]``.

    Breslow is Efron with every ``c_jk = k/d_j`` replaced by 0; both equal the exact partial
    likelihood without ties.  Strata add their log-likelihoods (risk sets never cross strata).

Gradient and Hessian diagonal (``cox_grad_hess``, ``cox_working``)
    With ``A_jk = S_j - c_jk T_j`` and ``m_ijk = 1`` for ``i`` in ``R_j`` but not ``D_j``,
    ``m_ijk = 1 - c_jk`` for ``i`` in ``D_j``:

    ``g_i = dl/deta_i = w_i delta_i - w_i e^{eta_i} E_i``,
    ``E_i = sum_{j: t_(j) <= t_i} omega_j sum_k m_ijk / A_jk``;

    ``h_i = -d2l/deta_i^2 = w_i e^{eta_i} E_i - (w_i e^{eta_i})^2 E2_i``,
    ``E2_i = sum_{j: t_(j) <= t_i} omega_j sum_k m_ijk^2 / A_jk^2``  (exact diagonal, Efron
    included).  For Breslow ``E_i = sum_j W_j / S_j`` and ``E2_i = sum_j W_j / S_j^2``: the
    martingale residual and the quantities of glmnet's ``coxgrad`` (R/coxgrad.R) and of the
    Fortran ``outer`` (src/coxnet5dpclean.f: ``w = e (b - e c)``, ``wr = d - e b``).

    glmnet's quadratic approximation (Simon, Friedman, Hastie & Tibshirani 2011, J Stat Softw
    39(5), sec. 2.1; ``cox.fit`` in R/coxpath.R) uses the diagonal only: working weights
    ``h_i`` and working response ``z_i = eta_i + g_i / h_i``; where ``h_i = 0`` (a subject
    censored before the first event of its stratum is in no risk set: ``g_i = h_i = 0``)
    ``z_i = eta_i`` (glmnet: ``z <- eta - ifelse(w != 0, -grad / w, 0)``) and the subject
    drops out of the weighted least-squares step.  ``h_i`` below ``16 eps w_i e^{eta_i} E_i``
    (round-off of the difference, reached only when ``i`` dominates every risk set it is in)
    is set to 0 as well.  The fixed point of the outer loop is the exact optimum whatever the
    weights, since the WLS gradient ``sum_i h_i x_ij (z_i - eta_i) = x_j' g``.
    **Scale**: ``g``, ``h`` and ``l`` are for the un-normalised likelihood; glmnet minimises
    ``-l / sum(w) + lambda P(beta)``, so its WLS weights are ``h / sum(w)`` (``1/n`` for unit
    weights, Fortran ``coxnet`` normalises ``w`` to sum 1).

Deviance (``cox_deviance``)
    ``D(eta) = 2 (l_sat - l(eta))`` with glmnet's saturated log-likelihood
    (``coxnet.deviance``): Breslow ``l_sat = -sum_j W_j log W_j`` (the supremum of each tie
    group's term).  glmnet has no Efron; its supremum here is
    ``l_sat = sum_j [-W_j log W_j + W_j log d_j - omega_j log(d_j!)]`` (``-sum_j log d_j!``
    with unit weights).  Weights enter as given (``coxnet.deviance(..., std.weights = FALSE)``,
    which is also what ``glmnet(..., weights=)`` reports as ``nulldev``); glmnet's default
    ``std.weights = TRUE`` first rescales them to sum ``n``.  The null deviance is
    ``D(0)``.

lambda_max (``cox_lambda_max``)
    With ``X`` standardised (mean 0, ``1/n`` SD 1; with case weights, weighted), glmnet's first
    lambda is ``max_j |x_j' g(0)| / (sum(w) vp_j) / max(alpha, 1e-3)`` (Fortran ``coxnet1``:
    ``ga = |x' wr|`` with weights normalised to sum 1, ``al0 = max(ga / vp) / max(alpha, 1e-3)``;
    ``glmnet()`` then reports ``lambda[1] = exp(2 log lambda[2] - log lambda[3])`` which is
    ``al0``; R ``get_cox_lambda_max`` for strata is the same formula).  ``vp`` are the penalty
    factors rescaled to sum ``p`` as glmnet does.

Ties, glmnet and times
    glmnet 4.1-6 implements Breslow only (Fortran ``coxnet``, R ``cox.path``/``coxgrad``/
    ``coxnet.deviance``; its vignette: "glmnet is not able to perform the Efron approximation");
    ``glmnet(..., family = "cox", ties = "efron")`` is silently ignored (the argument falls into
    ``...``).  glmnet separates censored from event times at a tie by adding
    ``100 * .Machine$double.eps`` to censored times, which only works for times below ~128
    (larger times absorb the shift and the Fortran sort may put a censored subject before the
    tied events, outside their risk set).  We always use the ``coxph`` convention above.

Times must be finite and > 0, as glmnet requires (``response.coxnet``: "Non-positive event
times encountered; not permitted for Cox family").  The partial likelihood depends on the order
of the times only, so this is no mathematical need; it is kept for parity (an input glmnet
rejects is rejected here) and because a zero or negative follow-up time is nearly always a
data error.

Cost: ``cox_prepare`` sorts once (``O(n log n)``); every evaluation is ``O(n)`` (reverse
cumulative sums over the sorted risk sets, one forward pass over the tie groups, Efron adds
``O(number of events)``), no ``n x n`` matrix.  Numerical stability: risk-set sums are
accumulated with a running maximum of ``eta`` (``S_j = e^{M_j} S~_j``, ``M_j = max_{R_j}
eta``), so no ``exp`` overflows or underflows to a zero risk set at any range of ``eta``.

References: Breslow (1974) Biometrics 30:89; Efron (1977) JASA 72:557; Therneau & Grambsch
(2000) *Modeling Survival Data*, Springer, ch. 3; Simon et al. (2011) J Stat Softw 39(5);
glmnet 4.1-6 sources (R/coxgrad.R, R/coxpath.R, R/coxnet.deviance.R, src/coxnet5dpclean.f).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit
from scipy.special import gammaln

from . import _cd
from ._checks import InputError, listing

__all__ = ["CoxData", "TIES", "cox_prepare", "cox_loglik", "cox_grad_hess", "cox_working",
           "cox_deviance", "cox_lambda_max"]

TIES = ("breslow", "efron")
#: relative round-off floor of the Hessian diagonal (see module docstring)
_HTOL = 16.0 * np.finfo(np.float64).eps


@dataclass(frozen=True, eq=False)
class CoxData:
    """Sorted survival data for repeated O(n) evaluations (built by :func:`cox_prepare`).

    Arrays indexed by *sorted position* (stratum, then time, events before censored at a tie)
    unless named ``grp_*`` (one entry per tie group of events, in sorted order).
    """

    n: int
    ties: str
    order: np.ndarray         # (n,) original row at each sorted position
    status: np.ndarray        # (n,) 0.0 / 1.0, sorted
    weights: np.ndarray       # (n,) case weights, sorted
    strata_start: np.ndarray  # (n_strata + 1,) first sorted position of each stratum, then n
    grp_start: np.ndarray     # (K,) first sorted position of each tie group
    grp_end: np.ndarray       # (K,) one past its last event
    grp_new: np.ndarray       # (K,) True for the first group of a stratum
    grp_weight: np.ndarray    # (K,) W_j, the total weight of the tied events
    last_grp: np.ndarray      # (n,) last group at or before the subject's time (-1: none)
    loglik_saturated: float
    n_events: int
    strata_levels: np.ndarray | None

    @property
    def n_strata(self) -> int:
        return len(self.strata_start) - 1

    @property
    def total_weight(self) -> float:
        """``sum(w)`` (``n`` for unit weights): glmnet's normaliser of the likelihood."""
        return float(self.weights.sum())


# ------------------------------------------------------------------------------ kernels

@njit(cache=True, nogil=True)
def _risk_sums(eta, w, strata_start, m_rev, s_rev):
    """Reverse cumulative risk-set sums per stratum with a running maximum:
    ``sum_{q >= p} w_q exp(eta_q) = exp(m_rev[p]) * s_rev[p]``."""
    for s in range(strata_start.shape[0] - 1):
        m = -np.inf
        acc = 0.0
        for p in range(strata_start[s + 1] - 1, strata_start[s] - 1, -1):
            e = eta[p]
            if e > m:
                acc *= math.exp(m - e)
                m = e
            acc += w[p] * math.exp(e - m)
            m_rev[p] = m
            s_rev[p] = acc


@njit(cache=True, nogil=True)
def _group_terms(eta, w, grp_start, grp_end, grp_weight, m_rev, s_rev, efron, terms):
    """Log-likelihood, and per tie group ``(a, b, a2, b2)`` in units of ``exp(-M_j)``:
    ``a = omega sum_k 1/A_k``, ``b = omega sum_k (1-c_k)/A_k`` and the squared versions."""
    ll = 0.0
    for j in range(grp_start.shape[0]):
        p0 = grp_start[j]
        p1 = grp_end[j]
        m = m_rev[p0]
        s = s_rev[p0]
        wj = grp_weight[j]
        tt = 0.0
        for p in range(p0, p1):
            tt += w[p] * math.exp(eta[p] - m)
            ll += w[p] * eta[p]
        d = p1 - p0
        if efron and d > 1:
            om = wj / d
            a = 0.0
            b = 0.0
            a2 = 0.0
            b2 = 0.0
            for k in range(d):
                c = k / d
                inv = 1.0 / (s - c * tt)
                ll -= om * (m - math.log(inv))
                a += inv
                b += (1.0 - c) * inv
                a2 += inv * inv
                b2 += ((1.0 - c) * inv) ** 2
            terms[j, 0] = om * a
            terms[j, 1] = om * b
            terms[j, 2] = om * a2
            terms[j, 3] = om * b2
        else:
            ll -= wj * (math.log(s) + m)
            terms[j, 0] = wj / s
            terms[j, 1] = wj / s
            terms[j, 2] = wj / (s * s)
            terms[j, 3] = wj / (s * s)
    return ll


@njit(cache=True, nogil=True)
def _derivatives(eta, w, status, grp_start, grp_new, last_grp, m_rev, terms, g, h):
    """Gradient ``g`` and negative Hessian diagonal ``h`` (sorted order), O(n)."""
    k = grp_start.shape[0]
    prev1 = np.empty(k)   # sum over earlier groups of the stratum, units exp(-M_j)
    cum1 = np.empty(k)    # ... including group j (subjects not among its events)
    prev2 = np.empty(k)
    cum2 = np.empty(k)
    m_old = 0.0
    for j in range(k):
        m = m_rev[grp_start[j]]
        if grp_new[j]:
            p1 = 0.0
            p2 = 0.0
        else:
            f = math.exp(m - m_old)          # <= 1: risk sets shrink, so does their maximum
            p1 = cum1[j - 1] * f
            p2 = cum2[j - 1] * f * f
        prev1[j] = p1
        prev2[j] = p2
        cum1[j] = p1 + terms[j, 0]
        cum2[j] = p2 + terms[j, 2]
        m_old = m
    for p in range(eta.shape[0]):
        j = last_grp[p]
        if j < 0:                             # censored before the stratum's first event
            g[p] = 0.0
            h[p] = 0.0
            continue
        r = w[p] * math.exp(eta[p] - m_rev[grp_start[j]])
        if status[p] > 0.0:                   # an event: its own group weighs 1 - c_k
            e1 = prev1[j] + terms[j, 1]
            e2 = prev2[j] + terms[j, 3]
        else:
            e1 = cum1[j]
            e2 = cum2[j]
        re = r * e1
        g[p] = w[p] * status[p] - re
        hp = re - r * r * e2
        h[p] = hp if hp > _HTOL * re else 0.0


# ------------------------------------------------------------------------------ preparation

def _rows(mask: np.ndarray) -> str:
    return "rows " + listing(np.flatnonzero(mask))


def _as_1d(values, name: str, n: int | None = None) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InputError(f"{name} must be a 1-D array (one value per subject); got shape "
                         f"{arr.shape}.")
    if n is not None and arr.size != n:
        raise InputError(f"{name} has {arr.size} values but time has {n}: pass one value per "
                         "subject, in the same order.")
    return arr


def _as_float(arr: np.ndarray, name: str, what: str) -> np.ndarray:
    try:
        out = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numeric ({what}); got dtype {arr.dtype}.") from None
    bad = ~np.isfinite(out)
    if bad.any():
        raise InputError(f"{name} has {int(bad.sum())} missing or non-finite values "
                         f"({_rows(bad)}): drop these subjects or fill in {what}.")
    return out


def _check_inputs(time, status, weights):
    t = _as_1d(time, "time")
    if t.size == 0:
        raise InputError("time is empty: the Cox model needs at least one subject.")
    n = t.size
    t = _as_float(t, "time", "their follow-up times")
    if (t <= 0).any():
        raise InputError(
            f"time has {int((t <= 0).sum())} values <= 0 ({_rows(t <= 0)}): follow-up times "
            "must be > 0 (glmnet's rule for family='cox'). Check for data-entry errors; if "
            "they are real, add one constant to all times (the partial likelihood depends "
            "only on their order).")
    d = _as_float(_as_1d(status, "status", n), "status", "the event indicator (1/0)")
    bad = (d != 0) & (d != 1)
    if bad.any():
        raise InputError(f"status must be 1 (event) or 0 (censored); {int(bad.sum())} values "
                         f"are not ({_rows(bad)}): recode them.")
    if d.sum() == 0:
        raise InputError("status has no events (all subjects censored): the partial "
                         "likelihood is constant; at least one event is needed.")
    if weights is None:
        w = np.ones(n)
    else:
        w = _as_float(_as_1d(weights, "weights", n), "weights", "the case weights")
        if (w <= 0).any():
            raise InputError(f"weights must be > 0; {int((w <= 0).sum())} are not "
                             f"({_rows(w <= 0)}): drop subjects with zero weight.")
    return t, d, w


def _strata_codes(strata, n: int):
    if strata is None:
        return np.zeros(n, dtype=np.int64), None
    s = _as_1d(strata, "strata", n)
    try:
        codes, levels = pd.factorize(s, sort=True)
    except TypeError:                              # labels of mixed, unorderable types
        codes, levels = pd.factorize(s, sort=False)
    if (codes < 0).any():
        raise InputError(f"strata has {int((codes < 0).sum())} missing values "
                         f"({_rows(codes < 0)}): assign these subjects a stratum or drop them.")
    return codes.astype(np.int64), np.asarray(levels)


def cox_prepare(time, status, ties: str = "breslow", strata=None, weights=None) -> CoxData:
    """Sort survival data once for O(n) likelihood evaluations.

    Parameters
    ----------
    time : array (n,)
        Follow-up times, finite and > 0 (glmnet's rule; see the module docstring).
    status : array (n,)
        1 (or True) for an event, 0 for censored; at least one event.
    ties : {"breslow", "efron"}
        Tie handling; glmnet implements Breslow only, ``survival::coxph`` defaults to Efron.
    strata : array (n,), optional
        Stratum labels: separate baseline hazards, risk sets within a stratum.
    weights : array (n,), optional
        Positive case weights (``survival``'s convention for Efron).

    Returns
    -------
    CoxData
    """
    if not isinstance(ties, str) or ties.lower() not in TIES:
        raise InputError(f"ties must be 'breslow' or 'efron'; got {ties!r}.")
    ties = ties.lower()
    t, d, w = _check_inputs(time, status, weights)
    n = t.size
    codes, levels = _strata_codes(strata, n)
    order = np.lexsort((-d, t, codes))            # stratum, time, events first
    ts, ds, ws, cs = t[order], d[order], w[order], codes[order]
    strata_start = np.searchsorted(cs, np.arange(cs[-1] + 2)).astype(np.int64)
    ev = np.flatnonzero(ds == 1)
    new = np.ones(ev.size, dtype=bool)
    new[1:] = (ts[ev[1:]] != ts[ev[:-1]]) | (cs[ev[1:]] != cs[ev[:-1]])
    grp_start = ev[new].astype(np.int64)
    grp_end = np.append(ev[np.flatnonzero(new)[1:] - 1] + 1, ev[-1] + 1).astype(np.int64)
    gid = np.cumsum(new) - 1
    grp_weight = np.bincount(gid, weights=ws[ev])
    grp_size = np.bincount(gid).astype(np.float64)
    grp_new = np.ones(grp_start.size, dtype=bool)
    grp_new[1:] = cs[grp_start[1:]] != cs[grp_start[:-1]]
    # groups at or before sorted position p are exactly those starting at or before p (events
    # precede censored subjects at a tie); one from an earlier stratum means none in p's
    last_grp = np.searchsorted(grp_start, np.arange(n), side="right").astype(np.int64) - 1
    own = np.zeros(n, dtype=bool)
    has = last_grp >= 0
    own[has] = cs[grp_start[last_grp[has]]] == cs[has]
    last_grp[~own] = -1
    lsat = -np.sum(grp_weight * np.log(grp_weight))
    if ties == "efron":
        lsat += np.sum(grp_weight * np.log(grp_size)
                       - grp_weight / grp_size * gammaln(grp_size + 1.0))
    return CoxData(n=n, ties=ties, order=order.astype(np.int64), status=ds, weights=ws,
                   strata_start=strata_start, grp_start=grp_start, grp_end=grp_end,
                   grp_new=grp_new, grp_weight=grp_weight, last_grp=last_grp,
                   loglik_saturated=float(lsat), n_events=int(ev.size), strata_levels=levels)


# ------------------------------------------------------------------------------ evaluation

def _evaluate(cd: CoxData, eta, derivatives: bool):
    eta = np.asarray(eta, dtype=np.float64)
    if eta.shape != (cd.n,):
        raise InputError(f"eta must have shape ({cd.n},) (one linear predictor per subject, "
                         f"original order); got {eta.shape}.")
    if not np.isfinite(eta).all():
        raise InputError("eta has non-finite values: the linear predictor must be finite.")
    es = np.ascontiguousarray(eta[cd.order])
    m_rev = np.empty(cd.n)
    s_rev = np.empty(cd.n)
    _risk_sums(es, cd.weights, cd.strata_start, m_rev, s_rev)
    terms = np.empty((cd.grp_start.size, 4))
    ll = _group_terms(es, cd.weights, cd.grp_start, cd.grp_end, cd.grp_weight, m_rev, s_rev,
                      cd.ties == "efron", terms)
    if not derivatives:
        return float(ll)
    gs = np.empty(cd.n)
    hs = np.empty(cd.n)
    _derivatives(es, cd.weights, cd.status, cd.grp_start, cd.grp_new, cd.last_grp, m_rev,
                 terms, gs, hs)
    g = np.empty(cd.n)
    h = np.empty(cd.n)
    g[cd.order] = gs
    h[cd.order] = hs
    return g, h, float(ll)


def cox_loglik(cd: CoxData, eta) -> float:
    """Log partial likelihood ``l(eta)`` (Breslow or Efron as prepared; strata summed)."""
    return _evaluate(cd, eta, derivatives=False)


def cox_grad_hess(cd: CoxData, eta):
    """``(g, h, loglik)``: gradient ``dl/deta`` and the diagonal of ``-d2l/deta2`` (original
    order, float64); ``h`` is exact under Efron too, floored to 0 at round-off level."""
    return _evaluate(cd, eta, derivatives=True)


def cox_working(cd: CoxData, eta):
    """``(w, z, loglik)``: glmnet's coxnet quadratic approximation at ``eta``.

    ``w = h`` (diagonal of the negative Hessian of the un-normalised log partial likelihood;
    divide by ``cd.total_weight`` for glmnet's WLS weights) and ``z = eta + g / w``, with
    ``z = eta`` where ``w = 0`` (glmnet's rule), all in the original sample order.
    """
    g, h, ll = _evaluate(cd, eta, derivatives=True)
    eta = np.asarray(eta, dtype=np.float64)
    pos = h > 0
    z = eta.copy()
    z[pos] += g[pos] / h[pos]
    return h, z, ll


def cox_deviance(cd: CoxData, eta) -> float:
    """``2 (l_sat - l(eta))``: glmnet's ``coxnet.deviance`` (Breslow; ``std.weights=FALSE``
    with case weights); ``cox_deviance(cd, np.zeros(n))`` is the null deviance."""
    return 2.0 * (cd.loglik_saturated - cox_loglik(cd, eta))


def cox_lambda_max(Xs, cd: CoxData, alpha: float, penalty_factor=None, eta=None) -> float:
    """glmnet's first lambda for ``family="cox"``.

    ``max_j |x_j' g(eta)| / (sum(w) vp_j) / max(alpha, 1e-3)`` over ``vp_j > 0``, with ``Xs``
    standardised (mean 0, ``1/n`` SD 1), ``g`` the gradient at ``eta`` (default 0; pass an
    offset or an unpenalised fit there) and ``vp`` the penalty factors rescaled to sum ``p``.
    """
    Xs = np.asarray(Xs, dtype=np.float64)
    if Xs.ndim != 2 or Xs.shape[0] != cd.n:
        raise InputError(f"Xs must be an ({cd.n}, p) matrix (rows = subjects); got shape "
                         f"{Xs.shape}.")
    if not np.isfinite(Xs).all():
        raise InputError("Xs has non-finite values: impute or drop them before fitting.")
    if not 0.0 <= float(alpha) <= 1.0:
        raise InputError(f"alpha must be in [0, 1]; got {alpha!r}.")
    g, _, _ = cox_grad_hess(cd, np.zeros(cd.n) if eta is None else eta)
    score = np.abs(Xs.T @ g) / cd.total_weight
    if penalty_factor is not None:
        vp = _as_float(_as_1d(penalty_factor, "penalty_factor"), "penalty_factor",
                       "one factor per column")
        if vp.size != Xs.shape[1] or (vp < 0).any() or vp.max() <= 0:
            raise InputError("penalty_factor needs one value >= 0 per column of Xs, at least "
                             "one > 0.")
        vp = vp * vp.size / vp.sum()
        score = np.where(vp > 0, score / np.where(vp > 0, vp, 1.0), 0.0)
    return float(score.max() / max(float(alpha), 1e-3)) if score.size else 0.0


# ------------------------------------------------------------------------------ path
#: after glmnet's criterion is met, IRLS steps go on until the KKT violation is below this
#: (the quadratic approximation uses the Hessian's diagonal, so convergence is linear)
COX_KKT_TOL = 1e-11
#: active sets up to this size get exact Newton steps (full information matrix) once they
#: stop changing: quadratic instead of linear convergence near the optimum
NEWTON_MAX = 400


def _cox_newton(Xs, cd, b, lam1, lam2, max_iter=50):
    """Newton steps on the active set of ``-l(Xs b) / sum(w) + lam1 |b|_1 + lam2 |b|^2 / 2``
    with the signs of ``b`` fixed (exact Hessian of the partial likelihood on the active
    columns, from the same risk-set pass as :func:`radiogenomics.survival.coxph`), Armijo
    backtracking on the objective, a step cut where a coefficient would cross zero (that
    coefficient is set to 0 and the coordinate solver takes over again).  Updates ``b`` in
    place; returns True when the active-set gradient is below COX_KKT_TOL.  Stops early when
    the gradient no longer halves (its rounding floor, ~1e-12 here) or a step fails."""
    from .survival._coxph_core import _pass

    act = np.flatnonzero(b)
    k = act.size
    srt = cd.order
    XA = np.ascontiguousarray(Xs[srt][:, act])
    s_grp = np.searchsorted(cd.grp_start, cd.strata_start).astype(np.int64)
    efron, tw = cd.ties == "efron", cd.total_weight
    empty2, empty3 = np.zeros((0, 2)), np.zeros((0, 2, k))

    def derivs(bA):
        u, imat = np.zeros(k), np.zeros((k, k))
        ll = _pass(XA, XA @ bA, cd.weights, cd.strata_start, s_grp, cd.grp_start, cd.grp_end,
                   efron, 1, np.zeros(1), u, imat, np.zeros(k), np.zeros((k, k)),
                   np.zeros((k, k)), np.zeros(0), empty2, empty3, np.zeros((0, k)))
        return ll, u, imat

    def objective(bA, ll):
        return -ll / tw + lam1 * np.abs(bA).sum() + 0.5 * lam2 * (bA @ bA)

    bA, sgn = b[act].copy(), np.sign(b[act])
    ll, u, imat = derivs(bA)
    f = objective(bA, ll)
    last = np.inf
    for _ in range(max_iter):
        grad = -u / tw + lam1 * sgn + lam2 * bA
        gmax = float(np.abs(grad).max())
        if gmax <= COX_KKT_TOL or gmax > 0.5 * last:
            break
        last = gmax
        try:
            d = -np.linalg.solve(imat / tw + lam2 * np.eye(k), grad)
        except np.linalg.LinAlgError:
            break
        cross = (bA + d) * sgn < 0
        t_max = float(np.min(-bA[cross] / d[cross])) if cross.any() else np.inf
        t, accepted = min(1.0, t_max), False
        for _ in range(40):
            bn = bA + t * d
            if t >= t_max:
                bn[cross & (np.abs(-bA / np.where(d == 0, 1, d) - t_max) <= 1e-12 * t_max)] = 0.0
                bn[(bn * sgn) < 0] = 0.0
            lln, un, imn = derivs(bn)
            fn = objective(bn, lln)
            if fn <= f + 1e-4 * t * (grad @ d):
                accepted = True
                break
            t *= 0.5
        if not accepted:
            break
        bA, ll, u, imat, f = bn, lln, un, imn, fn
        if (bA == 0).any():             # a coefficient reached zero: back to coordinate descent
            break
    b[act] = bA
    return bool(np.abs(-u / tw + lam1 * sgn + lam2 * bA).max() <= COX_KKT_TOL)


def cox_path(Xs, cd, lambdas, alpha, thresh=1e-14, max_pass=100_000, max_outer=200):
    """Penalised Cox path on the engine of :mod:`radiogenomics._cd` (BLAS on one thread)."""
    with _cd.one_blas_thread():
        return _cox_path(Xs, cd, lambdas, alpha, thresh, max_pass, max_outer)


def _cox_path(Xs, cd, lambdas, alpha, thresh, max_pass, max_outer):
    """Penalised Cox path (no intercept) on standardised ``Xs`` for the prepared survival data
    ``cd`` (:func:`radiogenomics._cox.cox_prepare`): the same strong rules and coordinate
    solver, with the partial likelihood's gradient and Hessian diagonal as working residual
    and weights (glmnet's coxnet).  Returns ``(B (L, p), passes (L,), kkt (L,))``."""
    n, p = Xs.shape
    L = len(lambdas)
    Bout = np.zeros((L, p))
    passes = np.zeros(L, dtype=np.int64)
    kkt = np.zeros(L)
    b = np.zeros(p)
    b0 = np.zeros(1)
    v = np.zeros(p)
    g = np.empty(p)
    in_strong = np.zeros(p, dtype=np.bool_)
    strong = np.empty(p, dtype=np.int64)
    buf = np.empty(p, dtype=np.int64)
    tw = cd.total_weight

    def working(eta):
        # weights h / sum(w) and residual w (z - eta) = g / sum(w): the exact score, also
        # where the Hessian diagonal was floored to 0
        gr, h, _ = cox_grad_hess(cd, eta)
        return (np.ascontiguousarray(np.asarray(h, dtype=np.float64) / tw),
                np.ascontiguousarray(np.asarray(gr, dtype=np.float64) / tw))

    w, r = working(np.zeros(n))
    scale = w.sum()
    _cd.gradient(Xs, r, g)
    gref, rref, xnorm = g.copy(), r.copy(), _cd._col_norms(Xs)
    lams = np.asarray(lambdas, dtype=np.float64)
    lam_prev = _cd._lambda_start(g, alpha)
    for k, lam in enumerate(lams):
        lam1, lam2, rule = _cd._penalties(lam, lam_prev, alpha)
        ns = _cd._strong_set(g, b, in_strong, rule, strong)
        total, ok, small, prev_act = 0, False, 0, None
        for _ in range(max_outer):
            idx = strong[:ns]
            v[idx] = (w[:, None] * Xs[:, idx] ** 2).sum(axis=0)
            bold = b.copy()
            total += _cd.wls_solve(Xs, w, r, b, b0, v, strong, ns, lam1, lam2, False,
                                   thresh * scale, max_pass - total, buf)
            step = float(np.max(v[idx] * (b[idx] - bold[idx]) ** 2, initial=0.0))
            w, r = working(Xs @ b)
            _cd.screened_gradient(Xs, r, g, gref, rref, xnorm, b,
                                  _cd._next_cutoff(lams, k, alpha))
            if total > max_pass:
                break
            act = b != 0
            if (prev_act is not None and np.array_equal(act, prev_act)
                    and 0 < act.sum() <= min(NEWTON_MAX, n - 1)):
                _cox_newton(Xs, cd, b, lam1, lam2)
                w, r = working(Xs @ b)
                _cd.screened_gradient(Xs, r, g, gref, rref, xnorm, b,
                                      _cd._next_cutoff(lams, k, alpha))
                if _cd._add_violators(g, in_strong, lam1) > 0:
                    ns = _cd._strong_set(g, b, in_strong, np.inf, strong)
                    prev_act = None
                    continue
                if _cd.kkt_violation(g, b, lam1, lam2) <= COX_KKT_TOL:
                    ok = True
                    break
                act = b != 0
            prev_act = act
            small = small + 1 if step < thresh * scale else 0
            if small >= 2:
                if _cd._add_violators(g, in_strong, lam1) > 0:
                    ns = _cd._strong_set(g, b, in_strong, np.inf, strong)
                    continue
                ok = True              # glmnet's criterion met; the diagonal-Hessian IRLS
                # converges linearly, so go on (cheaply) until the KKT violation is small
                if step == 0.0 or _cd.kkt_violation(g, b, lam1, lam2) <= COX_KKT_TOL:
                    break
        Bout[k] = b
        passes[k] = total if ok else max(total, max_pass + 1)
        kkt[k] = _cd.kkt_violation(g, b, lam1, lam2)
        lam_prev = lam
    return Bout, passes, kkt
