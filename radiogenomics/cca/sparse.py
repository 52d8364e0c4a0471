"""Sparse CCA by penalised matrix decomposition (PMD), as R's ``PMA::CCA`` and ``CCA.permute``.

Model (Witten, Tibshirani & Hastie 2009, *Biostatistics* 10:515, "A penalized matrix
decomposition, with applications to sparse principal components and canonical correlation
analysis", sections 3 and 4)
    With ``X`` (n x p) and ``Y`` (n x q) centred and (``scale=True``) standardised, and the
    within-block covariances replaced by the identity (the "diagonal penalised CCA" that makes
    high-dimensional CCA well posed), the first sparse canonical pair solves

        maximise_{u, v}  u' X'Y v
        subject to       ||u||_2 <= 1,  ||u||_1 <= c_x,   ||v||_2 <= 1,  ||v||_1 <= c_y,

    with the L1 bounds parameterised as in PMA: ``c_x = penalty_x * sqrt(p)``,
    ``c_y = penalty_y * sqrt(q)``, ``0 < penalty <= 1`` (1 = no sparsity, since
    ``||u||_1 <= sqrt(p) ||u||_2``).  The problem is biconvex; alternating the two exact
    block updates

        u <- S(X'Y v, delta_u) / ||S(X'Y v, delta_u)||_2,
        v <- S(Y'X u, delta_v) / ||S(Y'X u, delta_v)||_2,

    with the soft threshold ``S(a, delta) = sign(a) max(|a| - delta, 0)``, increases the
    criterion monotonically.  ``delta = 0`` if that already gives ``||u||_1 <= c``; otherwise
    ``delta > 0`` is found by bisection so that ``||u||_1 = c`` (Witten et al., Lemma 2.2).

PMA's exact conventions (PMA 1.2.4, reproduced here to about 1e-12)
    * Initial ``v`` = first right singular vector of ``X'Y`` (deterministic; ``PMA::CCA``'s
      ``v=NULL``); for component k the k-th one.
    * Bisection (PMA's ``BinarySearch``): bracket ``[0, max|a| - 1e-5]``, stop when the bracket
      is narrower than ``1e-6`` (absolute, on ``delta``), at most 149 halvings, return the
      midpoint; the L1 norm compared with ``c`` is that of the *normalised* thresholded vector.
    * Iterations: at most ``niter`` passes (PMA default 15; ``max_iter`` here); a pass is
      skipped once the L1 change of ``v`` between passes is ``<= 1e-6`` (``tol``).  PMA does
      not report convergence; this class stores ``n_iter_`` and ``converged_`` and warns
      (``ConvergenceWarning``) when the last pass still changed ``v`` by more than ``tol``.
      PMA is not always converged at its default 15 (nutrimouse genes vs lipids with
      penalties 0.3/0.5: r = 0.887 after 15 passes, 0.907 when converged), so raise
      ``max_iter`` for a converged solution.
    * ``d = u' X'Y v`` and the canonical correlation ``cor(X u, Y v)`` (PMA's ``cors``).
    * Components k > 1 by deflating the cross-product matrix: after component k,
      ``X'Y <- X'Y - d_k u_k v_k'`` (PMA appends ``sqrt(d_k) u_k'`` to X and
      ``-sqrt(d_k) v_k'`` to Y, which is the same); ``cors`` are always on the original data.
      Unlike classical CCA, sparse components are not constrained to be uncorrelated.
    * ``c < 1`` (``penalty < 1/sqrt(dim)``) is infeasible (``||u||_1 >= ||u||_2``); PMA's
      bisection then keeps only the largest |entry|, and so does this implementation.

Penalty selection (:func:`sparse_cca_permute`, ``SparseCCA.select_penalties``; PMA's
``CCA.permute``, Witten et al. 2009 section 4.2)
    For every penalty pair ``j`` the first sparse canonical correlation ``r_j`` is computed on the
    data and on ``B`` row permutations of ``Y`` (optionally within exchangeability blocks, e.g.
    centres), with ``max_iter=3`` passes as PMA.  With the Fisher transform ``f = atanh``

        z_j = (f(r_j) - mean_b f(r*_jb)) / (sd_b f(r*_jb) + 0.05)

    (PMA's statistic; the 0.05 keeps z finite when the null is very narrow) and the chosen pair
    is ``argmax_j z_j``.  The p-value is ``(1 + #{b: r*_jb >= r_j}) / (1 + B)`` (never 0);
    PMA reports ``mean(r*_jb >= r_j)``, given here as ``pvalue_pma``.  PMA's default grid is
    ``seq(.1, .7, len=10)`` for both blocks, taken as pairs (i, i), not as a product grid.

    Validity: PMA starts every permuted fit from the observed data's start vector; after 3
    passes this favours the observed fit and PMA's p-values are anti-conservative (rejections
    at the 5% level over 2,000 null datasets, B = 99, ``benchmarks/validity_sparse_cca.py``:
    n = 40, p = 30, q = 60: 7.6% and 11.1% for penalties 0.3 and 0.6; n = 60, p = 50,
    q = 500: 5.9% and 7.8%).  Here each permuted fit starts, like the observed one, from the
    SVD of its own cross-product (``null_init="permuted"``, the default), so the observed and
    permuted statistics are one function of exchangeable rows and the p-value of a fixed
    penalty pair is exact (same runs: 5.0%, 6.35% (4.4% and 4.75% with two other seeds),
    4.95%, 5.35%); ``null_init="observed"`` reproduces PMA.  The p-value of the pair *chosen*
    by ``z`` is optimistic (selection).

    Speed: permuting rows of Y changes only the cross-product ``X'PY``, which is never formed:
    each PMD pass needs ``X'(P Y v)`` and ``Y'P'(X u)``, computed for a whole chunk of
    permutations as two matrix products with a row gather (O(n (p + q)) per permutation and
    pass instead of O(n p q)); the soft-threshold bisections run in a compiled loop over the
    chunk, with BLAS limited to one thread (on a loaded 2-core machine multithreaded BLAS on
    such stacks is many times slower).  Permutation indices come from
    :class:`radiogenomics.resampling.PermutationScheme`, so ``rng`` fixes the result.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning

from .._checks import check_rng
from .._linalg import block_labels
from ..resampling import PermutationScheme, iter_batches
from ..resampling.backend import single_threaded_blas
from ._base import BaseCCA, check_blocks, thin_svd

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba is a hard dependency (setup.cfg)
    njit = None

__all__ = ["SparseCCA", "sparse_cca_permute", "SparseCCAPermutationResult", "PMA_PENALTY_GRID"]

#: PMA's default penalty grid of ``CCA.permute`` (``seq(.1, .7, len = 10)``), used for both blocks
PMA_PENALTY_GRID = np.linspace(0.1, 0.7, 10)

_BISECT_WIDTH = 1e-6      # PMA BinarySearch: stop when the bracket on delta is narrower
_BISECT_MAXITER = 150     # PMA: while(iter < 150), i.e. at most 149 halvings
_BISECT_TOP_OFFSET = 1e-5  # PMA: upper end of the bracket max|a| - 1e-5
_L2N_ZERO = 0.05          # PMA's l2n(): the norm of a zero vector is taken as 0.05


# ----------------------------------------------------------------------------- soft threshold

def _soft_normalise_rows_py(A, c, out):  # pragma: no cover - run compiled (numba) below
    m, d = A.shape
    fails = 0
    for r in range(m):
        a = A[r]
        s1 = 0.0
        s2 = 0.0
        amax = 0.0
        for i in range(d):
            t = abs(a[i])
            s1 += t
            s2 += t * t
            if t > amax:
                amax = t
        nrm = np.sqrt(s2)
        if nrm == 0.0:
            nrm = _L2N_ZERO
        lam = 0.0
        if s1 / nrm > c:
            lo = 0.0
            hi = amax - _BISECT_TOP_OFFSET
            it = 1
            done = False
            while it < _BISECT_MAXITER:
                mid = 0.5 * (lo + hi)
                t1 = 0.0
                t2 = 0.0
                for i in range(d):
                    t = abs(a[i]) - mid
                    if t > 0.0:
                        t1 += t
                        t2 += t * t
                nn = np.sqrt(t2)
                if nn == 0.0:
                    nn = _L2N_ZERO
                if t1 / nn < c:
                    hi = mid
                else:
                    lo = mid
                if hi - lo < _BISECT_WIDTH:
                    done = True
                    break
                it += 1
            if not done:
                fails += 1
            lam = 0.5 * (lo + hi)
        t2 = 0.0
        for i in range(d):
            t = abs(a[i]) - lam
            if t > 0.0:
                t2 += t * t
        nn = np.sqrt(t2)
        if nn == 0.0:
            nn = _L2N_ZERO
        for i in range(d):
            t = abs(a[i]) - lam
            if t > 0.0:
                out[r, i] = t / nn if a[i] > 0.0 else -t / nn
            else:
                out[r, i] = 0.0
    return fails


_soft_normalise_rows = (njit(cache=True, nogil=True)(_soft_normalise_rows_py) if njit is not None
                        else _soft_normalise_rows_py)


def soft_normalise(A: np.ndarray, c: float) -> np.ndarray:
    """Row-wise ``S(a, delta) / ||S(a, delta)||_2`` with ``||.||_1 <= c`` (PMA's update).

    ``delta = 0`` when the normalised row already satisfies the L1 bound, else the midpoint of
    PMA's bisection bracket (width ``< 1e-6``) for ``||S(a, delta)/||S(a, delta)||_2||_1 = c``.

    Parameters
    ----------
    A : (m, d) or (d,) array
    c : float
        L1 bound (``penalty * sqrt(d)``).
    """
    A = np.asarray(A, dtype=np.float64)
    one = A.ndim == 1
    A2 = np.ascontiguousarray(A[None] if one else A)
    out = np.empty_like(A2)
    fails = _soft_normalise_rows(A2, float(c), out)
    if fails:
        warnings.warn(f"the soft-threshold bisection did not reach width {_BISECT_WIDTH} in "
                      f"{_BISECT_MAXITER - 1} halvings for {fails} vector(s)", RuntimeWarning,
                      stacklevel=2)
    return out[0] if one else out


# ----------------------------------------------------------------------------- PMD engine

def _check_penalty(value, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in (0, 1], got {value!r}")
    value = float(value)
    if not np.isfinite(value) or not 0.0 < value <= 1.0:
        raise ValueError(
            f"{name} = {value!r} is outside (0, 1]: it is the L1 bound as a fraction of its "
            f"maximum sqrt(n_features) (PMA's parameterisation); use e.g. 0.1 (very sparse) to "
            f"1 (no sparsity)")
    return value


def svd_init(Xs: np.ndarray, Ys: np.ndarray, k: int = 1) -> np.ndarray:
    """First ``k`` right singular vectors of ``Xs'Ys`` (q x k): PMA's deterministic start.

    Computed through the thin SVD of ``Xs`` when ``p > n`` (as PMA's ``fastsvd``), so the
    p x q cross-product is never decomposed.  Signs are arbitrary (they flip the solution).
    """
    n, p = Xs.shape
    if p > n:
        Ux, sx, _ = thin_svd(Xs)
        C = (Ux * sx).T @ Ys            # (r, q): Xs'Ys = Wx C, same right singular vectors
    else:
        C = Xs.T @ Ys
    _, _, Vt = np.linalg.svd(C, full_matrices=False)
    if Vt.shape[0] < k:
        raise ValueError(f"X'Y has rank {Vt.shape[0]}, fewer than n_components = {k}")
    return Vt[:k].T.copy()


class _PMD:
    """PMD iterations for a stack of problems sharing the standardised blocks ``Xs``, ``Ys``.

    Row ``b`` of a stack solves the problem for ``X'P_b Y`` (``P_b`` the row permutation
    ``perms[b]``, identity when ``perms`` is None) deflated by earlier components
    ``(U_prev, V_prev, d_prev)`` (only without permutations).  The cross-product is never
    formed: ``X'PYv = X'(P (Y v))`` and ``Y'P'Xu = Y'(P^{-1} (X u))``.
    """

    def __init__(self, Xs: np.ndarray, Ys: np.ndarray):
        self.Xs = np.ascontiguousarray(Xs)
        self.Ys = np.ascontiguousarray(Ys)
        self.XsT = np.ascontiguousarray(Xs.T)
        self.YsT = np.ascontiguousarray(Ys.T)

    def _yv(self, V, perms):
        T = V @ self.YsT                             # (c, n): Y v_b
        return T if perms is None else np.take_along_axis(T, perms, axis=1)

    def _arg_u(self, V, perms, defl):
        A = self._yv(V, perms) @ self.Xs             # (c, p): (P Y v)' X
        if defl is not None:
            Up, Vp, dp = defl
            A -= ((V @ Vp) * dp) @ Up.T
        return A

    def _arg_v(self, U, inv, defl):
        W = U @ self.XsT                             # (c, n): X u_b
        if inv is not None:
            W = np.take_along_axis(W, inv, axis=1)   # P^{-1} X u
        A = W @ self.Ys                              # (c, q)
        if defl is not None:
            Up, Vp, dp = defl
            A -= ((U @ Up) * dp) @ Vp.T
        return A

    def run(self, V0, cx, cy, max_iter, tol, perms=None, inv=None, defl=None):
        """Alternate u/v updates; returns ``U (c, p), V (c, q), n_iter (c,), converged (c,)``."""
        V = np.array(V0, dtype=np.float64, copy=True, order="C")
        c = V.shape[0]
        U = np.zeros((c, self.Xs.shape[1]))
        change = np.full(c, np.inf)   # PMA starts from a random 'vold': the first pass always runs
        n_iter = np.zeros(c, dtype=np.intp)
        fails = 0
        for _ in range(max_iter):
            active = change > tol
            if not active.any():
                break
            if active.all():
                idx, P, Pi, Vi = None, perms, inv, V
            else:
                idx = np.flatnonzero(active)
                P = None if perms is None else perms[idx]
                Pi = None if inv is None else inv[idx]
                Vi = V[idx]
            A = np.ascontiguousarray(self._arg_u(Vi, P, defl))
            Ui = np.empty_like(A)
            fails += _soft_normalise_rows(A, cx, Ui)
            B = np.ascontiguousarray(self._arg_v(Ui, Pi, defl))
            Vn = np.empty_like(B)
            fails += _soft_normalise_rows(B, cy, Vn)
            if idx is None:
                change = np.abs(Vn - V).sum(axis=1)
                U, V = Ui, Vn
                n_iter += 1
            else:
                change[idx] = np.abs(Vn - Vi).sum(axis=1)
                U[idx], V[idx] = Ui, Vn
                n_iter[idx] += 1
        if fails:
            warnings.warn(f"the soft-threshold bisection did not converge for {fails} update(s)",
                          RuntimeWarning, stacklevel=3)
        return U, V, n_iter, change <= tol

    def scores(self, U, V, perms=None):
        """Centred x and y scores (c, n) of each row's pair, in the permuted row order."""
        xs = U @ self.XsT
        ys = self._yv(V, perms)
        return xs - xs.mean(axis=1, keepdims=True), ys - ys.mean(axis=1, keepdims=True)

    def correlations(self, U, V, perms=None):
        """``cor(X u_b, P_b Y v_b)`` per row; 0 when a weight vector is all zero (as PMA)."""
        xs, ys = self.scores(U, V, perms)
        den = np.sqrt((xs * xs).sum(axis=1) * (ys * ys).sum(axis=1))
        num = (xs * ys).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)

    def permuted_svd_init(self, perms):
        """First right singular vector of ``X'P_b Y`` for each permutation (c, q).

        With thin SVDs ``X = Ux Sx Wx'`` and ``Y = Uy Sy Wy'``: ``X'PY = Wx C Wy'`` with
        ``C = Sx Ux' P Uy Sy`` (rx x ry), so the vector is ``Wy z``, ``z`` the top right singular
        vector of ``C`` (from the smaller Gram matrix).
        """
        if not hasattr(self, "_svds"):
            Ux, sx, _ = thin_svd(self.Xs)
            Uy, sy, Wyt = thin_svd(self.Ys)
            self._svds = (np.ascontiguousarray((Ux * sx).T), Uy * sy, Wyt)
        Kx, Ky, Wyt = self._svds
        C = np.matmul(Kx[None], Ky[perms])                      # (c, rx, ry)
        if C.shape[1] < C.shape[2]:
            _, E = np.linalg.eigh(np.matmul(C, C.transpose(0, 2, 1)))
            z = np.matmul(E[:, :, -1][:, None, :], C)[:, 0]     # C' a
            z /= np.linalg.norm(z, axis=1, keepdims=True)
        else:
            _, E = np.linalg.eigh(np.matmul(C.transpose(0, 2, 1), C))
            z = E[:, :, -1]
        return z @ Wyt


def _standardise(X, Y, scale: bool):
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    if scale:
        X = X / X.std(axis=0, ddof=1)
        Y = Y / Y.std(axis=0, ddof=1)
    return X, Y


# ----------------------------------------------------------------------------- estimator

class SparseCCA(BaseCCA):
    """Sparse CCA by penalised matrix decomposition (Witten, Tibshirani & Hastie 2009).

    Reproduces ``PMA::CCA(x, z, typex="standard", typez="standard", penaltyx, penaltyz, K,
    niter, standardize=TRUE)`` (PMA 1.2.4): weights, ``d`` and correlations agree to about
    1e-12 on the reference data (``tests/test_cca_sparse.py``).  See the module docstring for
    the criterion, the updates and PMA's conventions.

    Parameters
    ----------
    n_components : int, default 1
        Number of sparse canonical pairs (PMA's ``K``), found by deflating ``X'Y``.
    penalty_x, penalty_y : float in (0, 1], default 0.3
        L1 bounds as fractions of their maximum: ``||u||_1 <= penalty_x sqrt(p)``,
        ``||v||_1 <= penalty_y sqrt(q)`` (PMA's ``penaltyx``, ``penaltyz``).  Smaller is sparser;
        below ``1/sqrt(dim)`` only one feature is kept.
    scale : bool, default True
        Standardise columns (``ddof=1``; PMA's ``standardize=TRUE``).  With False the columns
        are only centred (PMA with ``standardize=FALSE`` does not even centre).
    max_iter : int, default 15
        Maximum alternating passes per component (PMA's ``niter``, default 15).
    tol : float, default 1e-6
        A component has converged when a pass changes ``v`` by at most ``tol`` in L1 norm
        (PMA's criterion); later passes are skipped.
    v_init : "svd" or array (q,) or (q, n_components), default "svd"
        Start of ``v``: the leading right singular vectors of ``X'Y`` on the standardised data
        (PMA's default), or given vectors (PMA's ``v`` argument).

    Attributes
    ----------
    x_weights_, y_weights_ : (p, k), (q, k)
        ``u``, ``v``: unit L2 norm on the standardised (centred) data; exactly zero outside the
        selected features.
    canonical_correlations_ : (k,)
        ``cor(X u_k, Y v_k)`` on the training data (PMA's ``cors``; optimistic in-sample).
    d_ : (k,)
        ``u_k' X'Y v_k`` with ``X'Y`` deflated by the earlier components (PMA's ``d``).
    n_nonzero_x_, n_nonzero_y_ : (k,)
        Selected features per component.
    n_iter_ : (k,) int
        Passes run per component; ``converged_`` : bool, all components converged.
    v_init_ : (q, k)
        The starting vectors used.

    References
    ----------
    Witten DM, Tibshirani R, Hastie T (2009). A penalized matrix decomposition, with
    applications to sparse principal components and canonical correlation analysis.
    *Biostatistics* 10(3):515-534.  R package PMA 1.2.4 (``CCA``, ``CCA.permute``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal(60)
    >>> X = rng.standard_normal((60, 20)); X[:, :3] += z[:, None]
    >>> Y = rng.standard_normal((60, 50)); Y[:, :4] += z[:, None]
    >>> m = SparseCCA(penalty_x=0.3, penalty_y=0.3).fit(X, Y)
    >>> bool(np.all(np.flatnonzero(m.x_weights_[:, 0]) < 20)), m.canonical_correlations_.shape
    (True, (1,))
    """

    def __init__(self, n_components: int = 1, penalty_x: float = 0.3, penalty_y: float = 0.3,
                 scale: bool = True, max_iter: int = 15, tol: float = 1e-6, v_init="svd"):
        self.n_components = n_components
        self.penalty_x = penalty_x
        self.penalty_y = penalty_y
        self.scale = scale
        self.max_iter = max_iter
        self.tol = tol
        self.v_init = v_init

    # -- validation ----------------------------------------------------------------------
    def _check_params(self, p: int, q: int):
        px = _check_penalty(self.penalty_x, "penalty_x")
        py = _check_penalty(self.penalty_y, "penalty_y")
        k = self.n_components
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"n_components must be a positive integer, got {k!r}")
        if k > min(p, q):
            raise ValueError(f"n_components = {k} exceeds min(p, q) = {min(p, q)}; ask for fewer")
        it = self.max_iter
        if isinstance(it, (bool, np.bool_)) or not isinstance(it, numbers.Integral) or it < 1:
            raise ValueError(f"max_iter must be a positive integer (PMA's niter), got {it!r}")
        if not isinstance(self.tol, numbers.Real) or not self.tol >= 0:
            raise ValueError(f"tol must be a non-negative number, got {self.tol!r}")
        return px, py, int(k), int(it)

    def _v_start(self, Xs, Ys, k):
        q = Ys.shape[1]
        if isinstance(self.v_init, str):
            if self.v_init != "svd":
                raise ValueError(f"v_init must be 'svd' or an array of shape (q,) or (q, k), "
                                 f"got {self.v_init!r}")
            return svd_init(Xs, Ys, k)
        V = np.asarray(self.v_init, dtype=np.float64)
        if V.ndim == 1:
            V = V[:, None]
        if V.ndim != 2 or V.shape[0] != q or V.shape[1] < k:
            raise ValueError(f"v_init has shape {np.shape(self.v_init)}; it needs q = {q} rows and "
                             f"at least n_components = {k} column(s)")
        if not np.isfinite(V).all():
            raise ValueError("v_init contains NaN or inf")
        return V[:, :k].copy()

    # -- fitting --------------------------------------------------------------------------
    def _fit_weights(self, Xc, Yc):
        p, q = Xc.shape[1], Yc.shape[1]
        px, py, K, max_iter = self._check_params(p, q)
        cx, cy = px * np.sqrt(p), py * np.sqrt(q)
        V0 = self._v_start(Xc, Yc, K)
        eng = _PMD(Xc, Yc)
        U = np.zeros((p, K))
        V = np.zeros((q, K))
        d = np.zeros(K)
        cors = np.zeros(K)
        n_iter = np.zeros(K, dtype=np.intp)
        conv = np.zeros(K, dtype=bool)
        for k in range(K):
            defl = (U[:, :k], V[:, :k], d[:k]) if k else None
            u, v, it, ok = eng.run(V0[:, k][None], cx, cy, max_iter, float(self.tol), defl=defl)
            u, v = u[0], v[0]
            xs, ys = eng.scores(u[None], v[None])
            dk = float(xs[0] @ ys[0])
            if k:
                dk -= float(np.sum(d[:k] * (u @ U[:, :k]) * (V[:, :k].T @ v)))
            U[:, k], V[:, k], d[k] = u, v, dk
            cors[k] = eng.correlations(u[None], v[None])[0]
            n_iter[k], conv[k] = it[0], ok[0]
        self.d_ = d
        self.n_iter_ = n_iter
        self.converged_ = bool(conv.all())
        self.v_init_ = V0
        self.n_nonzero_x_ = (U != 0).sum(axis=0)
        self.n_nonzero_y_ = (V != 0).sum(axis=0)
        if not self.converged_:
            bad = [int(i) + 1 for i in np.flatnonzero(~conv)]
            warnings.warn(
                f"SparseCCA did not converge in max_iter = {max_iter} passes (component(s) {bad}: "
                f"v still changed by more than tol = {self.tol:g}); the result is PMA's with "
                f"niter = {max_iter}; raise max_iter for the converged solution", ConvergenceWarning,
                stacklevel=3)
        return U, V, cors

    # -- null distribution for radiogenomics.cca.inference ----------------------------------
    def _first_correlation_null(self, X, Y, perms) -> np.ndarray:
        """First canonical correlation of ``fit(X, Y[pi])`` for every row ``pi`` of ``perms``.

        The same statistic as refitting a clone per permutation (each permuted fit starts from
        the SVD of its own ``X'PY`` unless ``v_init`` is fixed), vectorised over the chunk.
        """
        X, Y, _, _ = check_blocks(X, Y)
        Xs, Ys = _standardise(X, Y, self.scale)
        p, q = Xs.shape[1], Ys.shape[1]
        px, py, _, max_iter = self._check_params(p, q)
        perms = np.asarray(perms, dtype=np.intp)
        eng = _PMD(Xs, Ys)
        with single_threaded_blas():
            if isinstance(self.v_init, str):
                self._v_start(Xs, Ys, 1)  # validates
                V0 = eng.permuted_svd_init(perms)
            else:
                V0 = np.repeat(self._v_start(Xs, Ys, 1).T, len(perms), axis=0)
            inv = np.argsort(perms, axis=1)
            U, V, _, _ = eng.run(V0, px * np.sqrt(p), py * np.sqrt(q), max_iter, float(self.tol),
                                 perms=perms, inv=inv)
            return eng.correlations(U, V, perms)

    # -- penalty selection -------------------------------------------------------------------
    def select_penalties(self, X, Y, penalties_x=None, penalties_y=None, n_permutations: int = 25,
                         exchangeability_blocks=None, rng=None, max_iter: int = 3,
                         null_init: str | None = None, batch: int = 128,
                         refit: bool = False) -> "SparseCCAPermutationResult":
        """Choose ``(penalty_x, penalty_y)`` by PMA's permutation z-statistic (``CCA.permute``).

        Uses this estimator's ``scale``, ``tol`` and ``v_init``; see :func:`sparse_cca_permute`
        for the parameters and the statistic.  With ``refit=True`` the chosen penalties are set
        on this estimator and it is fitted on ``X, Y`` (with its own ``max_iter``).

        Returns
        -------
        SparseCCAPermutationResult
        """
        res = sparse_cca_permute(X, Y, penalties_x=penalties_x, penalties_y=penalties_y,
                                 n_permutations=n_permutations,
                                 exchangeability_blocks=exchangeability_blocks, rng=rng,
                                 max_iter=max_iter, scale=self.scale, tol=self.tol,
                                 v_init=self.v_init, null_init=null_init, batch=batch)
        if refit:
            self.set_params(**res.best_params)
            self.fit(X, Y)
        return res


# ----------------------------------------------------------------------------- CCA.permute

@dataclass
class SparseCCAPermutationResult:
    """Result of :func:`sparse_cca_permute` (PMA's ``CCA.permute``).

    Attributes
    ----------
    table : DataFrame
        One row per penalty pair: ``penalty_x``, ``penalty_y``, ``cor`` (observed first sparse
        canonical correlation with ``max_iter`` passes), ``nonzero_x``, ``nonzero_y``,
        ``null_mean``, ``null_sd`` (of the permutation correlations), ``z`` (PMA's statistic on
        the Fisher scale), ``pvalue`` (``(1 + #{null >= cor}) / (1 + B)``), ``pvalue_pma``
        (``#{null >= cor} / B``), ``null_nonzero_x``, ``null_nonzero_y`` (mean over
        permutations).
    null_correlations : ndarray (n_pairs, B)
        Permutation correlations (PMA's ``corperms``).
    best_index : int
        Row of the largest z (first one on ties, as R's ``which.max``).
    n_permutations : int
    scheme : str
        ``free`` or ``within-block``.
    max_iter : int
    null_init : str
    v_init : ndarray (q,)
        Start vector of the observed fits (PMA's ``v.init``).
    """

    table: pd.DataFrame
    null_correlations: np.ndarray
    best_index: int
    n_permutations: int
    scheme: str
    max_iter: int
    null_init: str
    v_init: np.ndarray

    @property
    def best_penalty_x(self) -> float:
        return float(self.table["penalty_x"].iloc[self.best_index])

    @property
    def best_penalty_y(self) -> float:
        return float(self.table["penalty_y"].iloc[self.best_index])

    @property
    def best_params(self) -> dict:
        """``{"penalty_x": ..., "penalty_y": ...}`` for ``SparseCCA(**best_params)``."""
        return {"penalty_x": self.best_penalty_x, "penalty_y": self.best_penalty_y}

    def summary(self) -> str:
        row = self.table.iloc[self.best_index]
        return (f"Sparse CCA penalty selection ({len(self.table)} pairs, {self.n_permutations} "
                f"{self.scheme} permutations, max_iter = {self.max_iter}): best penalty_x = "
                f"{row.penalty_x:.3g}, penalty_y = {row.penalty_y:.3g} (z = {row.z:.2f}, "
                f"cor = {row.cor:.3f}, p = {row.pvalue:.3g}; {int(row.nonzero_x)} x and "
                f"{int(row.nonzero_y)} y features)")

    def __repr__(self) -> str:
        return "SparseCCAPermutationResult\n" + self.summary()


def _penalty_pairs(penalties_x, penalties_y):
    px = PMA_PENALTY_GRID if penalties_x is None else np.atleast_1d(np.asarray(penalties_x, float))
    py = PMA_PENALTY_GRID if penalties_y is None else np.atleast_1d(np.asarray(penalties_y, float))
    if px.ndim != 1 or py.ndim != 1:
        raise ValueError("penalties_x and penalties_y must be numbers or 1-D sequences")
    if len(px) == 1 and len(py) > 1:
        px = np.repeat(px, len(py))
    if len(py) == 1 and len(px) > 1:
        py = np.repeat(py, len(px))
    if len(px) != len(py):
        raise ValueError(
            f"penalties_x ({len(px)}) and penalties_y ({len(py)}) are taken as pairs (as PMA's "
            "CCA.permute) and must have the same length; for a product grid pass "
            "np.meshgrid(px, py) raveled")
    for name, arr in (("penalties_x", px), ("penalties_y", py)):
        for v in arr:
            _check_penalty(float(v), name)
    return px, py


def _align_blocks(blocks, X, n):
    """Exchangeability blocks in the analysed row order (:func:`radiogenomics._linalg.block_labels`):
    a Series is aligned on X's sample IDs when X is a DataFrame, otherwise taken positionally."""
    index = X.index if isinstance(X, (pd.DataFrame, pd.Series)) else None
    return block_labels(blocks, index=index, n=n, what="exchangeability_blocks")


def sparse_cca_permute(X, Y, penalties_x=None, penalties_y=None, n_permutations: int = 25, *,
                       exchangeability_blocks=None, rng=None, max_iter: int = 3,
                       scale: bool = True, tol: float = 1e-6, v_init="svd",
                       null_init: str | None = None, batch: int = 128) -> SparseCCAPermutationResult:
    """Permutation-based choice of the sparse CCA penalties (PMA's ``CCA.permute``).

    For each penalty pair ``j`` the first sparse canonical correlation ``r_j`` (``max_iter``
    PMD passes from ``v_init``) is compared with its values ``r*_jb`` on ``B`` row permutations
    of ``Y`` (the same permutations for every pair):

        z_j = (atanh r_j - mean_b atanh r*_jb) / (sd_b atanh r*_jb + 0.05),

    and the pair of largest ``z_j`` is chosen (Witten et al. 2009, section 4.2).  ``z`` measures
    how far the observed correlation stands out of what the penalty achieves on unrelated data
    (weak penalties fit noise, so their raw correlations are high under the null too).

    Parameters
    ----------
    X, Y : array-like (n x p), (n x q)
    penalties_x, penalties_y : float or sequence, optional
        Penalty pairs (equal lengths, or one scalar broadcast); default PMA's
        ``seq(.1, .7, len=10)`` for both, paired (i, i).
    n_permutations : int, default 25 (PMA's ``nperms``)
    exchangeability_blocks : array-like (n,), optional
        Permute Y rows only within these blocks (e.g. acquisition centre), so centre effects
        shared by X and Y are kept in the null.  A Series is aligned on X's sample IDs when X
        is a DataFrame (it must label every sample), else taken in row order.
    rng : None, int, SeedSequence, BitGenerator or numpy Generator
        Seeds the permutations (SPEC 7) (:class:`~radiogenomics.resampling.PermutationScheme`).  R's
        Mersenne-Twister stream is not reproduced, so the null, z and p-values agree with PMA
        only within Monte Carlo error; ``cor`` and the non-zero counts are deterministic and
        equal PMA's.
    max_iter : int, default 3
        PMD passes per fit (PMA's ``CCA.permute`` uses ``niter = 3``, not ``CCA``'s 15).
    scale, tol, v_init
        As :class:`SparseCCA`.
    null_init : {None, "permuted", "observed"}, default None
        Start of the permuted fits.  ``"permuted"`` (the default with ``v_init="svd"``): each
        starts from the leading right singular vector of its own ``X'PY``, as the observed fit
        does, so the null is exactly that of the observed statistic refitted on permuted data
        and the p-value of a fixed penalty pair is valid.  ``"observed"`` (PMA's
        ``CCA.permute``, and the default when ``v_init`` is a fixed vector, which every fit then
        shares): every permuted fit starts from the observed data's start vector.  With
        ``v_init="svd"`` that favours the observed fit (after 3 passes its correlation is
        closer to its optimum than the permuted ones), so PMA's p-values are anti-conservative:
        2,000 null datasets, n = 40, p = 30, q = 60, penalties 0.3 / 0.3, B = 99 gave
        P(p <= 0.05) = 0.076 and P(p <= 0.10) = 0.154 with ``"observed"``, 0.050 and 0.099
        with ``"permuted"`` (``benchmarks/validity_sparse_cca.py``).  Use ``"observed"`` only
        to reproduce PMA's null mean, sd and z.
    batch : int, default 128
        Permutations per chunk (memory about ``batch * (p + 3 q)`` doubles per array).

    Returns
    -------
    SparseCCAPermutationResult
        ``.table`` (one row per pair), ``.best_params``, ``.null_correlations``.

    Notes
    -----
    PMA's p-value ``mean(r* >= r)`` can be 0; here ``pvalue = (1 + #{r* >= r}) / (1 + B)``
    (Phipson & Smyth 2010) and PMA's is ``pvalue_pma``.  The p-values of the chosen pair are
    optimistic (the pair was selected on these permutations); use
    :func:`radiogenomics.cca.inference.cca_permutation_test` with fixed penalties for a test.
    """
    X_in = X
    X, Y, _, _ = check_blocks(X, Y)
    n, p = X.shape
    q = Y.shape[1]
    pxs, pys = _penalty_pairs(penalties_x, penalties_y)
    if isinstance(n_permutations, (bool, np.bool_)) or not isinstance(n_permutations, numbers.Integral) \
            or n_permutations < 2:
        raise ValueError(f"n_permutations must be an integer >= 2, got {n_permutations!r}")
    if null_init is None:
        null_init = "permuted" if isinstance(v_init, str) else "observed"
    if null_init not in ("observed", "permuted"):
        raise ValueError(f"null_init must be None, 'permuted' or 'observed' (PMA), got {null_init!r}")
    if isinstance(max_iter, (bool, np.bool_)) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    if isinstance(batch, (bool, np.bool_)) or not isinstance(batch, numbers.Integral) or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    B = int(n_permutations)
    blocks = _align_blocks(exchangeability_blocks, X_in, n)
    scheme = PermutationScheme(n, blocks)
    B = scheme.resamples_for(B)       # every distinct permutation when there are few
    scheme.check_enough(B)
    rng = check_rng(rng)

    est = SparseCCA(scale=scale, tol=tol, v_init=v_init, max_iter=int(max_iter))
    Xs, Ys = _standardise(X, Y, scale)
    v0 = est._v_start(Xs, Ys, 1)[:, 0]
    if null_init == "permuted" and not isinstance(v_init, str):
        raise ValueError("null_init='permuted' recomputes the SVD start per permutation; it needs "
                         "v_init='svd'")
    eng = _PMD(Xs, Ys)
    cx = pxs * np.sqrt(p)
    cy = pys * np.sqrt(q)
    J = len(pxs)

    # observed fits: every pair starts from v0 (PMA passes v.init to each CCA call)
    obs = np.empty(J)
    nzx = np.empty(J, dtype=np.intp)
    nzy = np.empty(J, dtype=np.intp)
    for j in range(J):
        U, V, _, _ = eng.run(v0[None], cx[j], cy[j], int(max_iter), float(tol))
        obs[j] = eng.correlations(U, V)[0]
        nzx[j], nzy[j] = (U[0] != 0).sum(), (V[0] != 0).sum()

    null = np.empty((J, B))
    null_nzx = np.zeros(J)
    null_nzy = np.zeros(J)
    done = 0
    with single_threaded_blas():
        for perms in iter_batches(scheme, B, int(batch), rng):
            perms = np.ascontiguousarray(perms, dtype=np.intp)
            c = len(perms)
            inv = np.argsort(perms, axis=1)
            if null_init == "permuted":
                V0 = eng.permuted_svd_init(perms)
            else:
                V0 = np.broadcast_to(v0, (c, q))
            for j in range(J):
                U, V, _, _ = eng.run(V0, cx[j], cy[j], int(max_iter), float(tol), perms=perms, inv=inv)
                null[j, done:done + c] = eng.correlations(U, V, perms)
                null_nzx[j] += (U != 0).sum()
                null_nzy[j] += (V != 0).sum()
            done += c

    lim = 1.0 - 1e-12   # atanh(+-1) is infinite; PMA would return Inf/NaN z there
    f_obs = np.arctanh(np.clip(obs, -lim, lim))
    f_null = np.arctanh(np.clip(null, -lim, lim))
    z = (f_obs - f_null.mean(axis=1)) / (f_null.std(axis=1, ddof=1) + 0.05)
    exceed = (null >= obs[:, None]).sum(axis=1)
    table = pd.DataFrame({
        "penalty_x": pxs, "penalty_y": pys, "cor": obs, "nonzero_x": nzx, "nonzero_y": nzy,
        "null_mean": null.mean(axis=1), "null_sd": null.std(axis=1, ddof=1), "z": z,
        "pvalue": (1.0 + exceed) / (1.0 + B), "pvalue_pma": exceed / B,
        "null_nonzero_x": null_nzx / B, "null_nonzero_y": null_nzy / B,
    })
    return SparseCCAPermutationResult(table=table, null_correlations=null,
                                      best_index=int(np.argmax(z)), n_permutations=B,
                                      scheme=scheme.kind, max_iter=int(max_iter),
                                      null_init=null_init, v_init=v0)
