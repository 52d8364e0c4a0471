"""Inference for the CCA family: permutation tests, out-of-sample correlation, bootstrap.

Permutation test (:func:`cca_permutation_test`)
    Step-down test of the canonical correlations, FWER-controlled over components by the
    cumulative maximum ``p_k = max(p_1, ..., p_k)``; ``p = (1 + #{null >= observed}) / (1 + B)``.
    For classical ``CCA`` it runs the method of Winkler AM, Renaud O, Smith SM, Nichols TE
    (2020), "Permutation inference for canonical correlation analysis", *NeuroImage*
    220:117065 (doi:10.1016/j.neuroimage.2020.117065) as published, in
    :mod:`radiogenomics.cca.stepdown` (Huh-Jhun projection to ``n - rank(Z)`` rows, the first
    ``k - 1`` canonical variates added to each side's nuisance at step ``k``, Roy's or Wilks'
    statistic; see that module for exchangeability blocks).  Its type-I error at the first
    null component (1, 2 or 3), with and without covariates and centre blocks, is measured by
    ``benchmarks/validity_cca_stepdown.py`` (figures in ``benchmarks/README.md``).  Naively
    comparing the k-th canonical correlation with the k-th of permuted data is invalid for
    k > 1.  Ridge and sparse CCA (which have no Huh-Jhun form: their statistic is not a
    function of the projected data's canonical correlations alone) use a Freedman-Lane
    variant: covariates and the first ``k - 1`` canonical variates (from the unpermuted fit)
    are regressed out of each block, the residual Y rows are permuted and re-residualised,
    and the statistic is the estimator's first canonical correlation of the residual blocks.
    Classical CCA is refused (:class:`DegenerateCCAError`) when ``rank(X) + rank(Y)`` exceeds
    ``n - rank(Z)`` (intercept and covariates), where correlations of 1 are forced.

    Classical and ridge CCA use the whitening trick: with the thin SVD ``X_c = U D V'`` and
    ``K_x = U diag(d / sqrt(d^2 / (n-1) + lambda_x))``, the first ridge canonical correlation
    (``CCA::rcc``'s criterion; classical CCA when lambda = 0) is the largest singular value of
    ``K_x' P K_y / (n-1)``.  Each block is whitened once; a permutation costs an r_x x r_y
    product and a small eigenvalue problem (batched over chunks).  Other estimators (sparse
    CCA) are refitted per permutation unless they provide ``_first_correlation_null``.

Out-of-sample correlation (:func:`cross_validated_correlation`)
    Weights learned on training folds (k-fold, or leave-one-group-out, e.g. leave-one-centre-out)
    are applied to the held-out rows; the statistic is the correlation of the pooled held-out x
    and y variates of the first pair (as ``CCA::loo``).  Its permutation null permutes Y rows
    and repeats the whole cross-validation with the same folds.

Bootstrap (:func:`bootstrap_cca`)
    Rows are resampled (optionally within strata such as centre), the estimator refitted, each
    bootstrap component matched to an original one (assignment on |correlation| of loadings)
    and its sign aligned; percentile intervals for weights and loadings, how often each
    feature has a non-zero weight (stability of sparse CCA), and intervals of the canonical
    correlations (:meth:`BootstrapCCAResult.correlation_intervals`; coverage measured by
    ``benchmarks/coverage_cca.py``).  A resample repeats rows, so it has only about 63% of the
    samples as distinct rows: classical CCA is refused when ``rank(X) + rank(Y)`` exceeds
    a resample's distinct rows - 1 (it would return canonical correlations of 1); use
    RegularizedCCA there.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone

from .._checks import InputError, check_rng
from .._linalg import block_labels, design_matrix, matrix_rank, residualise, thin_svd
from ..resampling import BootstrapScheme, PermutationScheme, iter_batches, permutation_pvalue
from ..resampling.indices import GivenPermutations
from ..resampling.backend import single_threaded_blas
from ._base import DegenerateCCAError, check_blocks

__all__ = ["cca_permutation_test", "CCAPermutationResult", "cross_validated_correlation",
           "CVCorrelationResult", "bootstrap_cca", "BootstrapCCAResult", "ridge_whiten"]


# ----------------------------------------------------------------------------- helpers

def ridge_whiten(A: np.ndarray, reg: float, tol: float | None = None, check_rank: bool = True) -> np.ndarray:
    """``K = U diag(d / sqrt(d^2/(n-1) + reg))`` from the thin SVD of the centred block ``A``.

    ``K' P K_y / (n-1)`` then has the ridge canonical correlations as singular values.
    Directions with ``d`` below the rank tolerance of :func:`radiogenomics._linalg.thin_svd`
    (or ``tol * d_max``) are dropped (they carry no variance).
    """
    n = A.shape[0]
    U, d, _ = thin_svd(A, tol)
    if check_rank and reg == 0 and A.shape[1] > d.size:
        raise InputError(
            f"the block has {A.shape[1]} features but rank {d.size} on {n} samples: "
            "classical CCA is not defined; use RegularizedCCA (reg > 0) or SparseCCA")
    return U * (d / np.sqrt(d * d / (n - 1) + reg))


def _first_cor_batch(Kx: np.ndarray, KyP: np.ndarray, n: int) -> np.ndarray:
    """Largest singular value of ``Kx' KyP[b] / (n-1)`` for a stack ``KyP`` (c, n, ry)."""
    M = np.matmul(Kx.T[None], KyP) / (n - 1)          # (c, rx, ry)
    if M.shape[1] <= M.shape[2]:
        G = np.matmul(M, M.transpose(0, 2, 1))
    else:
        G = np.matmul(M.transpose(0, 2, 1), M)
    return np.sqrt(np.maximum(np.linalg.eigvalsh(G)[:, -1], 0.0))


def _reg_of(est) -> tuple[float, float] | None:
    """(reg_x, reg_y) when the estimator is classical or ridge CCA, else None."""
    name = type(est).__name__
    if name == "CCA":
        return 0.0, 0.0
    if name == "RegularizedCCA":
        return float(est.reg_x), float(est.reg_y)
    return None


def _residualise(A: np.ndarray, S: np.ndarray) -> np.ndarray:
    """``A`` with the centred columns of ``S`` (earlier canonical variates) regressed out."""
    return A if S.shape[1] == 0 else residualise(A, S - S.mean(axis=0))


def _design(X, n: int, covariates) -> np.ndarray | None:
    """Design matrix (intercept + covariates, categoricals dummy coded) or None.

    A DataFrame of covariates is aligned to a DataFrame ``X`` by sample ID.
    """
    if covariates is None:
        return None
    if isinstance(covariates, pd.Series):
        covariates = covariates.to_frame()
    cov = covariates if isinstance(covariates, pd.DataFrame) else pd.DataFrame(np.asarray(covariates))
    if isinstance(X, pd.DataFrame) and isinstance(covariates, pd.DataFrame):
        missing = X.index.difference(cov.index)
        if len(missing):
            raise InputError(f"covariates lack {len(missing)} sample(s) of X, e.g. "
                             f"{list(missing[:3])}; give covariates for every sample")
        cov = cov.loc[X.index]
    if len(cov) != n:
        raise InputError(f"covariates have {len(cov)} rows but the blocks have {n}; give one "
                         "row per sample (a DataFrame indexed by sample ID is aligned)")
    return design_matrix(cov.reset_index(drop=True), pd.RangeIndex(n)).to_numpy()


def _labels(labels, X, n: int, what: str):
    """Blocks / groups / strata in the row order of ``X`` (aligned by sample ID for a Series)."""
    index = X.index if isinstance(X, pd.DataFrame) else None
    return block_labels(labels, index, n, what=what)


def _check_classical_room(estimator, Xa, Ya, Z, what: str) -> None:
    """Refuse classical CCA when ``n - rank(Z)`` leaves no room for ``rank X + rank Y``.

    After regression on the design ``Z`` (intercept + covariates) the blocks live in
    ``n - rank(Z)`` dimensions; if ``rank(X_res) + rank(Y_res)`` exceeds that, canonical
    correlations of 1 are forced whatever the data, and so is every permuted statistic.
    """
    if _reg_of(estimator) != (0.0, 0.0):
        return
    n = Xa.shape[0]
    rz = 1 if Z is None else matrix_rank(Z)
    Xr = residualise(Xa, np.ones((n, 1)) if Z is None else Z)
    Yr = residualise(Ya, np.ones((n, 1)) if Z is None else Z)
    rx, ry = matrix_rank(Xr), matrix_rank(Yr)
    room = n - rz
    if rx + ry > room:
        cov = "the intercept" if Z is None else f"the intercept and covariates (rank(Z) = {rz})"
        raise DegenerateCCAError(
            f"{what} with classical CCA is degenerate: after regressing out {cov}, n - rank(Z) = "
            f"{n} - {rz} = {room} dimensions remain, fewer than rank(X) + rank(Y) = {rx} + {ry} "
            f"= {rx + ry}, so the canonical correlation is 1 by construction for the data and "
            "for every permutation (p = 1 carries no information). Use RegularizedCCA (ridge) "
            "or SparseCCA, or fewer covariates/features (e.g. PCA) so that rank(X) + rank(Y) "
            "<= n - rank(Z)")


@contextlib.contextmanager
def _quiet_refits():
    """Record (not show) per-refit warnings inside resampling loops; see :func:`_report`."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def _report(caught, what: str, total: int) -> None:
    import warnings

    msgs = {}
    for w in caught:
        message, category = w if isinstance(w, tuple) else (str(w.message), w.category)
        msgs.setdefault(message.split(";")[0], [category, 0])[1] += 1
    for msg, (cat, count) in msgs.items():
        warnings.warn(f"{count} of {total} {what} refits warned: {msg}", cat, stacklevel=3)


# ----------------------------------------------------------------------------- permutation test

@dataclass
class CCAPermutationResult:
    """Step-down permutation test of the canonical correlations.

    Attributes
    ----------
    statistic : ndarray (k,)
        Observed first canonical correlation of the residual blocks for each component (for
        classical CCA equal to the k-th canonical correlation).
    pvalues : ndarray (k,)
        Step-down (monotone) permutation p-values, FWER-controlling over components.
    pvalues_raw : ndarray (k,)
        Per-step p-values before the monotonicity step.
    null_distribution : ndarray (B, k)
    n_permutations : int
    scheme : str
    estimator : str
    """

    statistic: np.ndarray
    pvalues: np.ndarray
    pvalues_raw: np.ndarray
    null_distribution: np.ndarray
    n_permutations: int
    scheme: str
    estimator: str
    alpha: float = 0.05
    method: str = "freedman-lane"

    def to_frame(self) -> pd.DataFrame:
        k = len(self.statistic)
        null = self.null_distribution
        return pd.DataFrame({
            "component": np.arange(1, k + 1),
            "canonical_correlation": self.statistic,
            "null_mean": null.mean(axis=0),
            "null_95": np.quantile(null, 0.95, axis=0),
            "p_step": self.pvalues_raw,
            "pvalue": self.pvalues,
        })

    def summary(self) -> str:
        sig = int(np.sum(self.pvalues <= self.alpha))
        return (f"CCA permutation test ({self.estimator}, {self.n_permutations} {self.scheme} "
                f"permutations, step-down, {self.method}): {sig} of {len(self.statistic)} components significant "
                f"at {self.alpha}; p = " + ", ".join(f"{p:.3g}" for p in self.pvalues))

    def __repr__(self) -> str:
        return "CCAPermutationResult\n" + self.summary()


def _ridge_parts(regs, Xk, Yk, step):
    """Whitened blocks of ridge CCA for one step (the observed statistic's ingredients)."""
    # after step 0 the blocks lose rank by construction (variates regressed out)
    return (ridge_whiten(Xk, regs[0], check_rank=step == 0),
            ridge_whiten(Yk, regs[1], check_rank=step == 0))


def _one_component(est):
    """A one-component clone of ``est`` for the refits of the permutation null."""
    one = clone(est).set_params(n_components=1)
    if "scale" in one.get_params():
        one.set_params(scale=False)  # the blocks are already centred and scaled
    return one


def _observed_statistic(est, Xk, Yk, n, step=0):
    """First canonical correlation of the residual blocks, and the warnings of its fit
    (``(message, category)`` pairs; none for ridge CCA, whose warnings are not recorded)."""
    regs = _reg_of(est)
    if regs is not None:
        Kx, Ky = _ridge_parts(regs, Xk, Yk, step)
        return float(_first_cor_batch(Kx, Ky[None], n)[0]), []
    one = _one_component(est)
    with _quiet_refits() as caught:
        obs = float(clone(one).fit(Xk, Yk).canonical_correlations_[0])
    return obs, [(str(w.message), w.category) for w in caught]


def _null_values(est, Xk, Yk, Qy, perms_iter, n, B, step=0):
    """Null first correlations for the ``B`` permutations of ``perms_iter``, and the refits'
    warnings (``(message, category)`` pairs).

    ``Qy`` (orthonormal, n x m) spans what was regressed out of Y (intercept, covariates,
    earlier y variates); permuted residuals are regressed on it again before the statistic is
    computed (they are no longer orthogonal to it), as Freedman-Lane does.  None: nothing
    beyond centring, which permutation preserves.
    """
    regs = _reg_of(est)
    null = np.empty(B)
    done = 0
    if regs is not None:
        Kx, Ky = _ridge_parts(regs, Xk, Yk, step)
        if Qy is not None:
            U, d, _ = thin_svd(Yk)
            UD = U * d
        with single_threaded_blas():
            for perms in perms_iter:
                if Qy is None:
                    KyP = Ky[perms]
                else:
                    M = UD[perms]
                    M = M - np.matmul(Qy[None], np.matmul(Qy.T[None], M))
                    U2, s2, _ = np.linalg.svd(M, full_matrices=False)
                    f = np.where(s2 > 1e-10 * s2[:, :1], s2 / np.sqrt(s2 * s2 / (n - 1) + regs[1]), 0.0)
                    KyP = U2 * f[:, None, :]
                null[done:done + len(perms)] = _first_cor_batch(Kx, KyP, n)
                done += len(perms)
        return null, []
    one = _one_component(est)
    fast = getattr(one, "_first_correlation_null", None) if Qy is None else None
    with _quiet_refits() as caught:
        for perms in perms_iter:
            if fast is not None:
                null[done:done + len(perms)] = fast(Xk, Yk, perms)
            else:
                for pi in perms:
                    Yp = Yk[pi] if Qy is None else Yk[pi] - Qy @ (Qy.T @ Yk[pi])
                    null[done] = clone(one).fit(Xk, Yp).canonical_correlations_[0]
                    done += 1
                continue
            done += len(perms)
    return null, [(str(w.message), w.category) for w in caught]


def _statistic_and_null(est, Xk, Yk, Qy, perms_iter, n, B, step=0):
    """Observed first correlation and its null for residual blocks ``Xk``, ``Yk`` (see
    :func:`_null_values`); the refits' warnings are reported once, counted."""
    obs, caught = _observed_statistic(est, Xk, Yk, n, step)
    null, more = _null_values(est, Xk, Yk, Qy, perms_iter, n, B, step)
    if _reg_of(est) is None:
        _report(caught + more, type(_one_component(est)).__name__, B + 1)
    return obs, null


def _step_blocks(Xc, Yc, fitted, Z, j, n):
    """Residual blocks of step ``j`` (earlier variates regressed out) and the basis ``Qy`` of
    what was regressed out of Y (None at step 0 without covariates)."""
    Xk = _residualise(Xc, fitted.x_scores_[:, :j])
    Yk = _residualise(Yc, fitted.y_scores_[:, :j])
    nuisance = [np.ones((n, 1))] + ([] if Z is None else [Z]) + [fitted.y_scores_[:, :j]]
    Qy = None if (Z is None and j == 0) else thin_svd(np.hstack(nuisance))[0]
    return Xk, Yk, Qy


def _null_task(item, one, blocks, n, batch, kind):
    """One Dask task: step ``j``'s null values for a chunk of whole batches of permutations
    (in order), with the refits' warnings."""
    j, _, perms = item
    Xk, Yk, Qy = blocks[j]
    perms_iter = iter_batches(GivenPermutations(perms, kind), len(perms), batch, 0)
    return _null_values(one, Xk, Yk, Qy, perms_iter, n, len(perms), j)


def _stepdown_null_dask(one, steps, scheme, B, batch, step_seed, n, client):
    """Observed statistics and null of every step with chunks of permutations as Dask tasks;
    the permutations are drawn here, as :func:`cca_permutation_test` draws them."""
    from ..distributed import client_context, map_ordered, n_worker_threads, scatter_shared
    from ..resampling.engine import _chunks_of_batches, _task_batches

    k = len(steps)
    stats_, nulls, caught = np.empty(k), np.empty((B, k)), []
    for j, (Xk, Yk, _) in enumerate(steps):
        stats_[j], w = _observed_statistic(one, Xk, Yk, n, j)
        caught += w
    with client_context(client) as cl:
        per_task = _task_batches(B * k, batch, n_worker_threads(cl))
        chunks = list(_chunks_of_batches(scheme, B, batch, np.random.default_rng(step_seed),
                                         per_task))
        items = [(j, start, perms) for j in range(k) for start, perms in chunks]
        shared = scatter_shared(cl, steps)

        def add(i, item, res):
            j, start, perms = item
            nulls[start:start + len(perms), j] = res[0]
            caught.extend(res[1])

        map_ordered(cl, _null_task, items, desc="CCA permutation null", progress=False,
                    args=(one, shared, n, batch, scheme.kind), on_result=add, keep=False)
    if _reg_of(one) is None:
        _report(caught, type(_one_component(one)).__name__, B + 1)
    return stats_, nulls


def cca_permutation_test(estimator, X, Y, *, n_components: int | None = None,
                         n_permutations: int = 999, covariates=None, exchangeability_blocks=None,
                         rng=None, batch: int = 256, alpha: float = 0.05,
                         method: str = "auto", client=None) -> CCAPermutationResult:
    """Step-down permutation test of canonical correlations.

    Parameters
    ----------
    estimator : CCA, RegularizedCCA or SparseCCA (unfitted or fitted; it is refitted on X, Y)
    X, Y : array-like (n x p), (n x q)
    n_components : int, optional
        Components to test (default: the estimator's ``n_components``, else 1).
    n_permutations : int
    covariates : DataFrame or array, optional
        Nuisance variables (e.g. age, sex, centre; categoricals dummy coded).  A DataFrame is
        aligned to a DataFrame ``X`` by sample ID.  Without it, association carried by centre
        differences is part of what is tested, unless permutations stay within centres.
    exchangeability_blocks : array-like or Series, optional
        Permute only within these blocks (e.g. centre).
    rng : int, Generator, BitGenerator, SeedSequence or None
    batch : int
        Permutations per chunk (memory ``batch * n * r_y`` doubles).
    method : {"auto", "winkler", "freedman-lane"}
        ``"winkler"``: the method of Winkler et al. (2020, *NeuroImage* 220:117065) as
        published, run by :func:`radiogenomics.cca.stepdown.cca_stepdown_test` (Huh-Jhun
        projection of the data to ``n - rank(Z)`` rows, earlier canonical variates added to
        each side's nuisance, Roy's statistic, cumulative-maximum FWER p-values; with
        exchangeability blocks the nuisance, intercept included, is fitted per block); only
        for classical ``CCA``.  ``"freedman-lane"``: covariates and the earlier variates are
        regressed out of both blocks, residual Y rows are permuted and re-residualised before
        the statistic (the first canonical correlation of the residual blocks, computed with
        the estimator: ridge or sparse CCA).  ``"auto"``: ``"winkler"`` for classical CCA,
        else ``"freedman-lane"``.
    client : None, "local", str, distributed.Client or Dask cluster
        Run the Freedman-Lane permutations (ridge and sparse CCA) as Dask tasks, each a
        chunk of whole ``batch``-es of one step (see :mod:`radiogenomics.distributed`); the
        permutations are drawn here from ``rng`` as without a client, so statistics, null and
        p-values are identical for any number of workers.  A smaller ``batch`` makes more,
        smaller tasks.  The Winkler test of classical CCA (milliseconds per thousand
        permutations) does not take a client: with ``method="winkler"`` (or ``"auto"`` and
        classical CCA) passing one raises an error.

    Returns
    -------
    CCAPermutationResult
        ``pvalues``: FWER-controlling step-down p-values (cumulative maximum of ``pvalues_raw``).
    """
    if method not in ("auto", "winkler", "freedman-lane"):
        raise InputError(f"method must be 'auto', 'winkler' or 'freedman-lane', got {method!r}")
    Xa, Ya, _, _ = check_blocks(X, Y)
    n = Xa.shape[0]
    Z = _design(X, n, covariates)
    _check_classical_room(estimator, Xa, Ya, Z, "cca_permutation_test")
    classical = _reg_of(estimator) == (0.0, 0.0)
    if method == "winkler" and not classical:
        raise InputError(f"method='winkler' tests classical CCA; {type(estimator).__name__} is "
                         "tested with method='freedman-lane' (or 'auto')")
    if classical and method in ("auto", "winkler"):
        from .stepdown import cca_stepdown_test

        if client is not None:
            raise InputError("client= distributes the Freedman-Lane test of RegularizedCCA / "
                             "SparseCCA; the Winkler step-down test of classical CCA runs in "
                             "this process (it is fast): leave client=None")

        k = n_components or getattr(estimator, "n_components", None) or min(Xa.shape[1], Ya.shape[1])
        cov = covariates
        if cov is not None and not isinstance(X, pd.DataFrame):
            cov = pd.DataFrame(np.asarray(cov)) if not isinstance(cov, (pd.DataFrame, pd.Series)) else cov
        res = cca_stepdown_test(X, Y, covariates=cov, exchangeability_blocks=exchangeability_blocks,
                                n_components=k, statistic="roy", n_permutations=n_permutations,
                                rng=rng, batch=batch, alpha=alpha)
        return CCAPermutationResult(
            statistic=res.statistic, pvalues=res.pvalues_fwer, pvalues_raw=res.pvalues,
            null_distribution=res.null_distribution, n_permutations=res.n_permutations,
            scheme="within-block" if res.within_blocks else "free", estimator="CCA",
            alpha=alpha, method="winkler")
    if Z is not None:
        Xa, Ya = residualise(Xa, Z), residualise(Ya, Z)
    k = n_components or getattr(estimator, "n_components", None) or min(Xa.shape[1], Ya.shape[1])
    fitted = clone(estimator).set_params(n_components=k).fit(Xa, Ya)
    Xc = (Xa - fitted.x_mean_) / fitted.x_std_
    Yc = (Ya - fitted.y_mean_) / fitted.y_std_
    scheme = PermutationScheme(n, _labels(exchangeability_blocks, X, n, "exchangeability_blocks"))
    n_permutations = scheme.resamples_for(n_permutations)   # all of them when few exist
    scheme.check_enough(n_permutations)
    # one seed drawn from rng; every step replays the same permutations
    step_seed = int(check_rng(rng).integers(0, 2**63))
    stats_ = np.empty(k)
    nulls = np.empty((n_permutations, k))
    one = clone(estimator).set_params(n_components=1)
    steps = [_step_blocks(Xc, Yc, fitted, Z, j, n) for j in range(k)]
    if client is not None:
        stats_, nulls = _stepdown_null_dask(one, steps, scheme, n_permutations, batch,
                                            step_seed, n, client)
    for j, (Xk, Yk, Qy) in enumerate(steps if client is None else []):
        perms_iter = iter_batches(scheme, n_permutations, batch, np.random.default_rng(step_seed))
        stats_[j], nulls[:, j] = _statistic_and_null(one, Xk, Yk, Qy, perms_iter, n,
                                                     n_permutations, j)
    raw = permutation_pvalue((nulls >= stats_ - 1e-12).sum(axis=0), n_permutations)
    stepdown = np.maximum.accumulate(raw)
    return CCAPermutationResult(statistic=stats_, pvalues=stepdown, pvalues_raw=raw,
                                null_distribution=nulls, n_permutations=n_permutations,
                                scheme=scheme.kind, estimator=type(one).__name__, alpha=alpha)


# ----------------------------------------------------------------------------- cross-validation

@dataclass
class CVCorrelationResult:
    """Out-of-sample canonical correlation of the first pair of variates.

    Attributes
    ----------
    correlation : float
        Correlation of the pooled held-out x and y variates (weights from training folds).
    fold_correlations : ndarray
        The same within each held-out fold (NaN for folds with fewer than 3 samples).
    in_sample : float
        First canonical correlation of the estimator fitted on all samples (optimistic).
    pvalue : float or None
        Permutation p-value of ``correlation`` (Y rows permuted, same folds); None without.
    null_distribution : ndarray or None
    """

    correlation: float
    fold_correlations: np.ndarray
    in_sample: float
    scheme: str
    pvalue: float | None = None
    null_distribution: np.ndarray | None = None
    n_permutations: int = 0

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"fold": np.arange(1, len(self.fold_correlations) + 1),
                             "held_out_correlation": self.fold_correlations})

    def summary(self) -> str:
        p = "" if self.pvalue is None else f"; permutation p = {self.pvalue:.3g} (B = {self.n_permutations})"
        return (f"Out-of-sample canonical correlation ({self.scheme}): {self.correlation:.3f} "
                f"(in-sample {self.in_sample:.3f}){p}")

    def __repr__(self) -> str:
        return "CVCorrelationResult\n" + self.summary()


def _folds(n, cv, groups, rng):
    from sklearn.model_selection import KFold, LeaveOneGroupOut

    if isinstance(cv, str):
        if cv.lower() not in ("loco", "leave-one-centre-out", "leave-one-group-out"):
            raise InputError(f"cv={cv!r} is not a validation scheme; give a number of folds, "
                             "'loco' (with groups=, the centre of each sample) or a splitter")
        if groups is None:
            raise InputError("cv='loco' needs groups= (the centre of each sample)")
    if groups is not None and len(np.unique(groups)) < 2:
        raise InputError("leave-one-group-out needs at least 2 groups (centres)")
    if groups is not None and isinstance(cv, (int, np.integer, str)):
        return list(LeaveOneGroupOut().split(np.zeros(n), groups=groups)), "leave-one-group-out"
    if isinstance(cv, (int, np.integer)):
        if cv < 2 or cv > n:
            raise InputError(f"cv must be between 2 and n = {n} folds, got {cv}")
        seed = int(check_rng(rng).integers(0, 2**31 - 1))
        return list(KFold(int(cv), shuffle=True, random_state=seed).split(np.zeros(n))), f"{cv}-fold"
    return list(cv.split(np.zeros(n), groups=groups)), type(cv).__name__


def _cv_statistic(est, X, Y, folds, Z=None):
    """Pooled held-out correlation; covariates ``Z`` are fitted on each training fold only."""
    xs = np.empty(X.shape[0])
    ys = np.empty(X.shape[0])
    per = []
    for train, test in folds:
        Xtr, Xte, Ytr, Yte = X[train], X[test], Y[train], Y[test]
        if Z is not None:
            coef = np.linalg.lstsq(Z[train], np.hstack([Xtr, Ytr]), rcond=None)[0]
            cx, cy = coef[:, :X.shape[1]], coef[:, X.shape[1]:]
            Xtr, Xte = Xtr - Z[train] @ cx, Xte - Z[test] @ cx
            Ytr, Yte = Ytr - Z[train] @ cy, Yte - Z[test] @ cy
        m = clone(est).fit(Xtr, Ytr)
        a, b = m.transform(Xte, Yte)
        xs[test], ys[test] = a[:, 0], b[:, 0]
        per.append(np.corrcoef(a[:, 0], b[:, 0])[0, 1] if len(test) >= 3 else np.nan)
    return float(np.corrcoef(xs, ys)[0, 1]), np.asarray(per)


def cross_validated_correlation(estimator, X, Y, *, cv=5, groups=None, n_permutations: int = 0,
                                covariates=None, exchangeability_blocks=None,
                                rng=None) -> CVCorrelationResult:
    """Out-of-sample correlation of the first canonical pair, with an optional permutation null.

    Parameters
    ----------
    estimator : a CCA-family estimator (refitted per fold)
    X, Y : array-like
    cv : int, "loco" or scikit-learn splitter
        k-fold (shuffled with ``rng``), ``"loco"`` (leave one centre out: needs ``groups``) or
        any splitter (given ``groups`` when it uses them, e.g. ``GroupKFold``).
    groups : array-like or Series, optional
        With an int ``cv``: leave one group out (e.g. ``groups=centre`` for
        leave-one-centre-out).  A Series is aligned by sample ID.
    n_permutations : int
        Permutations of Y rows (within ``exchangeability_blocks``) for the null of the
        out-of-sample correlation; each repeats the whole cross-validation with the same folds.
    covariates : DataFrame or array, optional
        Regressed out of both blocks within each fold: the regression is fitted on the
        training rows and applied to the held-out rows (fitting it on all samples would tie
        held-out to training residuals and inflate the held-out correlation under the null).
        The permutation null permutes the residuals of Y on the covariates and adds back the
        fitted values (Freedman-Lane).  Include centre with k-fold splits: otherwise centre
        differences shared by the two blocks are part of the held-out correlation.
    rng : int or Generator
    """
    Xa, Ya, _, _ = check_blocks(X, Y)
    n = Xa.shape[0]
    Z = _design(X, n, covariates)
    gen = check_rng(rng)
    folds, scheme_name = _folds(n, cv, _labels(groups, X, n, "groups"), gen)
    est1 = clone(estimator).set_params(n_components=1)
    obs, per = _cv_statistic(est1, Xa, Ya, folds, Z)
    if Z is None:
        in_sample = float(clone(est1).fit(Xa, Ya).score_correlations_[0])
    else:
        in_sample = float(clone(est1).fit(residualise(Xa, Z), residualise(Ya, Z)).score_correlations_[0])
    res = CVCorrelationResult(correlation=obs, fold_correlations=per, in_sample=in_sample,
                              scheme=scheme_name)
    if n_permutations:
        scheme = PermutationScheme(n, _labels(exchangeability_blocks, X, n, "exchangeability_blocks"))
        n_permutations = scheme.resamples_for(n_permutations)
        perms = scheme.generate(n_permutations, gen)
        if Z is None:
            fitted_y, resid_y = 0.0, Ya
        else:
            fitted_y = Z @ np.linalg.lstsq(Z, Ya, rcond=None)[0]
            resid_y = Ya - fitted_y
        with single_threaded_blas(), _quiet_refits() as caught:
            null = np.array([_cv_statistic(est1, Xa, fitted_y + resid_y[pi], folds, Z)[0]
                             for pi in perms])
        _report(caught, type(est1).__name__, n_permutations * len(folds))
        res.null_distribution = null
        res.n_permutations = n_permutations
        res.pvalue = float(permutation_pvalue((null >= obs - 1e-12).sum(), n_permutations))
    return res


# ----------------------------------------------------------------------------- bootstrap

@dataclass
class BootstrapCCAResult:
    """Bootstrap intervals of weights and loadings, aligned to the original fit.

    ``frames`` hold one row per feature and component: estimate, lower, upper, and
    ``nonzero`` (share of resamples with a non-zero weight; stability of sparse CCA) and
    ``sign_agreement`` (share of resamples whose weight has the original sign; a zero weight
    counts as disagreeing, so for sparse CCA it is at most ``nonzero``).
    """

    x: pd.DataFrame
    y: pd.DataFrame
    n_bootstraps: int
    ci: float
    scheme: str
    canonical_correlations: np.ndarray = field(default_factory=lambda: np.empty(0))
    estimate: np.ndarray = field(default_factory=lambda: np.empty(0))

    def correlation_intervals(self, method: str = "basic") -> pd.DataFrame:
        """Bootstrap intervals of the in-sample canonical correlations, per component.

        ``"percentile"``: quantiles of the bootstrap correlations.  The in-sample first
        canonical correlation is biased upwards (it is a maximum over directions), and a
        resample's is biased further, so percentile intervals sit too high and under-cover
        (see ``benchmarks/coverage_cca.py``).  ``"basic"`` (default): the reflected interval
        ``(2 r - q_hi, 2 r - q_lo)`` on Fisher's z scale, which subtracts the bootstrap
        estimate of that bias.
        """
        lo, hi = (1 - self.ci) / 2, 1 - (1 - self.ci) / 2
        r0, boot = self.estimate, self.canonical_correlations
        if method == "percentile":
            lower, upper = np.quantile(boot, lo, axis=0), np.quantile(boot, hi, axis=0)
        elif method == "basic":
            z0 = np.arctanh(np.clip(r0, 0, 1 - 1e-12))
            zb = np.arctanh(np.clip(boot, 0, 1 - 1e-12))
            lower = np.tanh(np.maximum(2 * z0 - np.quantile(zb, hi, axis=0), 0.0))
            upper = np.tanh(2 * z0 - np.quantile(zb, lo, axis=0))
        else:
            raise InputError(f"method must be 'percentile' or 'basic', got {method!r}")
        return pd.DataFrame({"component": np.arange(1, len(r0) + 1), "correlation": r0,
                             "lower": lower, "upper": upper, "method": method})

    def to_frame(self) -> pd.DataFrame:
        return pd.concat({"x": self.x, "y": self.y}, names=["block"]).reset_index(level=0)

    def stable_features(self, block: str = "x", component: int = 1, threshold: float = 0.9):
        """Features with a non-zero weight in at least ``threshold`` of the resamples."""
        tab = self.x if block == "x" else self.y
        sub = tab[tab["component"] == component]
        return sub[sub["nonzero"] >= threshold].sort_values("nonzero", ascending=False)

    def summary(self) -> str:
        return (f"Bootstrap of CCA weights/loadings: {self.n_bootstraps} {self.scheme} resamples, "
                f"{self.ci:.0%} percentile intervals, components aligned by loadings")

    def __repr__(self) -> str:
        return "BootstrapCCAResult\n" + self.summary()


def _align(ref_load, load):
    """Order and signs mapping bootstrap components onto the reference ones."""
    C = ref_load.T @ load  # cosine similarity of loading vectors
    norms = np.outer(np.linalg.norm(ref_load, axis=0), np.linalg.norm(load, axis=0))
    C = np.divide(C, norms, out=np.zeros_like(C), where=norms > 0)
    rows, cols = linear_sum_assignment(-np.abs(C))
    order = cols[np.argsort(rows)]
    signs = np.sign(C[np.sort(rows), order])
    signs[signs == 0] = 1.0
    return order, signs


def _check_bootstrap_room(Xa, Ya, idx) -> None:
    """Refuse the bootstrap of classical CCA when resamples force correlations of 1.

    A resample with ``m`` distinct rows spans at most ``m - 1`` dimensions after centring
    (repeated rows add none); when ``rank(X) + rank(Y)`` exceeds that, classical CCA of the
    resample has canonical correlations of 1 whatever the data (the old code returned
    r1 = 1.000000 on null data, n = 60, p = q = 20).  Weighting distinct rows does not help:
    the rank is that of the distinct rows.
    """
    n = Xa.shape[0]
    rx = matrix_rank(Xa - Xa.mean(axis=0))
    ry = matrix_rank(Ya - Ya.mean(axis=0))
    distinct = np.array([np.unique(rows).size for rows in idx])
    bad = distinct - 1 < rx + ry
    if bad.any():
        raise DegenerateCCAError(
            f"bootstrap_cca with classical CCA: {int(bad.sum())} of {len(idx)} resamples have too "
            f"few distinct samples (as few as {int(distinct.min())} of n = {n}; a resample keeps "
            f"about 63%) for rank(X) + rank(Y) = {rx} + {ry} = {rx + ry}: their centred blocks "
            f"span at most (distinct - 1) dimensions, so canonical correlations of 1 are forced "
            "whatever the data. Use RegularizedCCA (ridge; choose the penalties with "
            "RegularizedCCA.select_penalties) or SparseCCA for the bootstrap, or reduce the "
            f"features (e.g. PCA) so that rank(X) + rank(Y) stays well below 0.63 n - 1 = "
            f"{0.632 * n - 1:.0f}")


def bootstrap_cca(estimator, X, Y, *, n_bootstraps: int = 500, strata=None, ci: float = 0.95,
                  rng=None) -> BootstrapCCAResult:
    """Percentile bootstrap of weights and loadings with component/sign alignment.

    Each resample is refitted; its components are matched to the original ones by an
    assignment on the absolute cosine similarity of the x and y loadings (so component
    switching between close canonical correlations does not blur the intervals) and their
    signs flipped to agree.  ``strata`` (e.g. centre) keeps each centre's size.
    """
    Xa, Ya, xn, yn = check_blocks(X, Y)
    gen = check_rng(rng)
    ref = clone(estimator).fit(Xa, Ya)
    strata = _labels(strata, X, Xa.shape[0], "strata")
    k = ref.x_weights_.shape[1]
    ref_load = np.vstack([ref.x_loadings_, ref.y_loadings_])
    scheme = BootstrapScheme(Xa.shape[0], strata)
    idx = scheme.generate(n_bootstraps, gen)
    if _reg_of(estimator) == (0.0, 0.0):
        _check_bootstrap_room(Xa, Ya, idx)
    p, q = Xa.shape[1], Ya.shape[1]
    Wx = np.empty((n_bootstraps, p, k))
    Wy = np.empty((n_bootstraps, q, k))
    Lx = np.empty((n_bootstraps, p, k))
    Ly = np.empty((n_bootstraps, q, k))
    cors = np.empty((n_bootstraps, k))
    with single_threaded_blas(), _quiet_refits() as caught:
        for b, rows in enumerate(idx):
            try:
                m = clone(estimator).fit(Xa[rows], Ya[rows])
            except DegenerateCCAError as err:
                raise DegenerateCCAError(
                    f"bootstrap_cca: resample {b + 1} of {n_bootstraps} is degenerate for "
                    f"{type(estimator).__name__} ({err}). Use RegularizedCCA for the bootstrap"
                ) from err
            order, signs = _align(ref_load, np.vstack([m.x_loadings_, m.y_loadings_]))
            Wx[b] = m.x_weights_[:, order] * signs
            Wy[b] = m.y_weights_[:, order] * signs
            Lx[b] = m.x_loadings_[:, order] * signs
            Ly[b] = m.y_loadings_[:, order] * signs
            cors[b] = m.canonical_correlations_[order]
    _report(caught, type(ref).__name__, n_bootstraps)
    lo, hi = (1 - ci) / 2, 1 - (1 - ci) / 2

    def table(W, L, W0, L0, names):
        rows = []
        for c in range(k):
            rows.append(pd.DataFrame({
                "feature": names, "component": c + 1,
                "weight": W0[:, c], "weight_lower": np.quantile(W[:, :, c], lo, axis=0),
                "weight_upper": np.quantile(W[:, :, c], hi, axis=0),
                "loading": L0[:, c], "loading_lower": np.quantile(L[:, :, c], lo, axis=0),
                "loading_upper": np.quantile(L[:, :, c], hi, axis=0),
                "nonzero": (W[:, :, c] != 0).mean(axis=0),
                "sign_agreement": (np.sign(W[:, :, c]) == np.sign(W0[:, c])).mean(axis=0),
            }))
        return pd.concat(rows, ignore_index=True)

    return BootstrapCCAResult(
        x=table(Wx, Lx, ref.x_weights_, ref.x_loadings_, xn),
        y=table(Wy, Ly, ref.y_weights_, ref.y_loadings_, yn),
        n_bootstraps=n_bootstraps, ci=ci, scheme=scheme.kind, canonical_correlations=cors,
        estimate=np.asarray(ref.canonical_correlations_, dtype=float)[:k])
