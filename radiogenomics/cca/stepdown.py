r"""Step-down permutation test of every canonical correlation (Winkler et al. 2020).

Winkler AM, Renaud O, Smith SM, Nichols TE (2020). Permutation inference for canonical
correlation analysis. *NeuroImage* 220:117065. doi:10.1016/j.neuroimage.2020.117065.

The method, as published (their Algorithm 1), for blocks ``Y`` (n x P) and ``X`` (n x Q) with
nuisance ``Z`` (n x R, an intercept plus covariates):

1. *Huh-Jhun projection*.  The residual-forming matrix ``R_Z = I - Z Z^+`` is written as
   ``R_Z = Q Q'`` with ``Q`` (n x (n - R')) semi-orthogonal, ``R' = rank(Z)``; the data are
   projected to ``Q' Y`` and ``Q' X``, which have ``n - R'`` rows.  Under the null the rows of the
   projected data are exchangeable (for i.i.d. errors), so they can be permuted without the
   bias that permuting residuals (Freedman-Lane) carries: the permuted and unpermuted data live
   in the same reduced space.
2. *Step-down*.  For component ``k = 1 .. K`` the canonical variates ``U_1..U_{k-1}`` of the
   Y side (and ``V_1..V_{k-1}`` of the X side) from the CCA of the covariate-adjusted data are
   added to the nuisance of their side, ``Z_k = [Z, U_{<k}]``, ``W_k = [Z, V_{<k}]``; each side
   is projected with its own Huh-Jhun basis (both have ``n - R' - (k - 1)`` rows), and the test
   statistic of step ``k`` is computed from the CCA of the two projected blocks: Roy's largest
   root (its first canonical correlation, ``statistic="roy"``, the default) or Wilks' lambda
   ``prod_j (1 - r_j^2)`` over all its canonical correlations (``statistic="wilks"``; small is
   significant).  Its null distribution comes from permuting the rows of the projected Y.
3. *FWER*.  ``p_k = (1 + #{T*_k >= T_k}) / (1 + B)`` (never 0), made monotone by a cumulative
   maximum, ``p^FWER_k = max(p_1, ..., p_k)``, which controls the family-wise error over
   components (closed testing: component ``k`` is only declared once ``1..k-1`` are).

Exchangeability blocks (e.g. centres).  ``Q`` from the whole design mixes rows of different
blocks, so within-block permutation of ``Q' Y`` would not keep the blocks.  With blocks the
nuisance is fitted *per block* (every covariate and the intercept times each block indicator,
:func:`radiogenomics._linalg.design_by_block`, and the earlier canonical variates per block as
well), which makes ``R_Z`` block diagonal; ``Q`` is then built block by block, so each projected
row belongs to one block, and projected rows are permuted within their block.  Each block needs
more samples than its nuisance columns.  This is our construction for blocks (the paper's
simulations use free exchangeability); its validity is shown by the simulations of
``benchmarks/validity_cca_stepdown.py`` (recorded in ``benchmarks/README.md``), and a smaller
version runs in ``tests/test_cca_stepdown.py``.

Only classical (unregularised) CCA is tested this way; it needs ``n - R' - (k - 1) > P + Q``
projected rows at every step (fewer would force canonical correlations of 1): the function
refuses otherwise and points to :func:`~radiogenomics.cca.cca_permutation_test` with
``RegularizedCCA`` / ``SparseCCA``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._checks import InputError, align_samples, as_matrix, check_rng
from .._linalg import block_labels, design_by_block, design_matrix, matrix_rank, thin_svd
from ..resampling import PermutationScheme, iter_batches
from ..resampling.backend import single_threaded_blas

__all__ = ["cca_stepdown_test", "StepdownResult", "huh_jhun_basis"]

STATISTICS = ("roy", "wilks")


def huh_jhun_basis(Z: np.ndarray) -> np.ndarray:
    """Semi-orthogonal ``Q`` (n x (n - rank Z)) with ``Q Q' = I - Z Z^+`` and ``Q' Z = 0``.

    Any orthonormal basis of the orthogonal complement of span(Z) satisfies Huh & Jhun's
    condition (the paper notes ``Q`` is not unique); here the left singular vectors of ``Z``
    beyond its rank.
    """
    Z = np.asarray(Z, dtype=np.float64)
    n = Z.shape[0]
    if Z.shape[1] == 0:
        return np.eye(n)
    U, s, _ = np.linalg.svd(Z, full_matrices=True)
    r = matrix_rank(Z)
    return U[:, r:]


def _block_bases(Z: np.ndarray, codes: np.ndarray | None, n_blocks: int):
    """Huh-Jhun bases, block diagonal when ``codes`` are given: list of (rows, Q_b)."""
    if codes is None:
        return [(np.arange(Z.shape[0]), huh_jhun_basis(Z))]
    out = []
    for b in range(n_blocks):
        rows = np.flatnonzero(codes == b)
        Zb = Z[rows]
        Zb = Zb[:, np.abs(Zb).sum(axis=0) > 0]
        out.append((rows, huh_jhun_basis(Zb)))
    return out


def _project(A: np.ndarray, bases) -> tuple[np.ndarray, np.ndarray]:
    """Stack ``Q_b' A[rows_b]``; also the block code of each projected row."""
    parts, labels = [], []
    for b, (rows, Q) in enumerate(bases):
        parts.append(Q.T @ A[rows])
        labels.append(np.full(Q.shape[1], b))
    return np.vstack(parts), np.concatenate(labels)


def _nuisance(Z: np.ndarray, extra: np.ndarray, codes: np.ndarray | None, n_blocks: int) -> np.ndarray:
    """``[Z, extra]``, with ``extra`` split per block when there are blocks."""
    if extra.shape[1] == 0:
        return Z
    if codes is None:
        return np.hstack([Z, extra])
    per_block = [extra * (codes == b)[:, None] for b in range(n_blocks)]
    return np.hstack([Z, *per_block])


def _orth(A: np.ndarray, what: str, needed: int) -> np.ndarray:
    U, s, _ = thin_svd(A)
    if U.shape[1] < A.shape[1]:
        raise InputError(
            f"{what} has rank {U.shape[1]} < {A.shape[1]} columns after the covariates (and "
            "earlier canonical variates) are projected out; remove redundant features or use "
            "cca_permutation_test with RegularizedCCA")
    return U


def _stats(Ux: np.ndarray, UyP: np.ndarray, statistic: str) -> np.ndarray:
    """Roy (first canonical correlation) or Wilks' lambda for a stack UyP (c, m, ry)."""
    M = np.matmul(Ux.T[None], UyP)                   # (c, rx, ry)
    s = np.linalg.svd(M, compute_uv=False)
    s = np.clip(s, 0.0, 1.0)
    if statistic == "roy":
        return s[:, 0]
    return np.prod(1.0 - s * s, axis=1)


@dataclass
class StepdownResult:
    """Result of :func:`cca_stepdown_test`.

    Attributes
    ----------
    canonical_correlations : ndarray
        Canonical correlations of the covariate-adjusted blocks (full CCA).
    statistic : ndarray
        Per step ``k``: Roy's largest root (first canonical correlation of the projected
        blocks of step k) or Wilks' lambda of those blocks.
    pvalues, pvalues_fwer : ndarray
        Per-step permutation p-values and their cumulative maximum (FWER over components).
    null_distribution : ndarray (B, K)
    n_rows : list of int
        Projected rows per step (``n - rank(nuisance)``).
    """

    canonical_correlations: np.ndarray
    statistic: np.ndarray
    pvalues: np.ndarray
    pvalues_fwer: np.ndarray
    null_distribution: np.ndarray
    statistic_name: str
    n_permutations: int
    n_rows: list
    within_blocks: bool
    alpha: float = 0.05

    def to_frame(self) -> pd.DataFrame:
        k = len(self.statistic)
        return pd.DataFrame({
            "component": np.arange(1, k + 1),
            "canonical_correlation": self.canonical_correlations[:k],
            self.statistic_name: self.statistic,
            "p_value": self.pvalues,
            "p_fwer": self.pvalues_fwer,
            "projected_rows": self.n_rows,
        }).set_index("component")

    @property
    def n_significant(self) -> int:
        return int(np.sum(self.pvalues_fwer <= self.alpha))

    def summary(self) -> str:
        return (f"Step-down CCA permutation test (Winkler et al. 2020, Huh-Jhun projection; "
                f"{self.statistic_name}; B = {self.n_permutations}"
                f"{', within blocks' if self.within_blocks else ''}): "
                f"{self.n_significant} component(s) with FWER p <= {self.alpha}\n"
                + self.to_frame().to_string(float_format=lambda v: f"{v:.4g}"))

    def __repr__(self) -> str:
        return "StepdownResult\n" + self.summary()


def cca_stepdown_test(X, Y, *, covariates=None, exchangeability_blocks=None,
                      n_components: int | None = None, statistic: str = "roy",
                      n_permutations: int = 999, rng=None, batch: int = 256,
                      alpha: float = 0.05) -> StepdownResult:
    """Step-down permutation test of the canonical correlations (Winkler et al. 2020).

    Parameters
    ----------
    X, Y : DataFrame or array (samples x features)
        DataFrames are aligned by sample ID.
    covariates : DataFrame or array, optional
        Nuisance regressors (an intercept is always included; text columns dummy coded).
    exchangeability_blocks : array-like or Series, optional
        Permute within these blocks (e.g. centre); the nuisance is then fitted per block (see
        the module docstring).
    n_components : int, optional
        Components to test (default: all, ``min(P, Q)``).
    statistic : {"roy", "wilks"}
    n_permutations : int
        ``B``; p-values are ``(1 + #exceed) / (1 + B)``.
    rng : int, Generator, BitGenerator, SeedSequence or None (SPEC 7)

    Returns
    -------
    StepdownResult
    """
    if statistic not in STATISTICS:
        raise InputError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    if int(n_permutations) < 1:
        raise InputError(f"n_permutations must be at least 1, got {n_permutations}")
    frames = align_samples({"X": X, "Y": Y, **({} if covariates is None or not isinstance(
        covariates, (pd.DataFrame, pd.Series)) else {"covariates": covariates})})
    X, Y = frames["X"], frames["Y"]
    Xa, index, _ = as_matrix(X, "X", min_rows=3)
    Ya, _, _ = as_matrix(Y, "Y", min_rows=3)
    n = Xa.shape[0]
    if Ya.shape[0] != n:
        raise InputError(f"X has {n} rows but Y has {Ya.shape[0]}; pair the samples first")
    idx = index if index is not None else pd.RangeIndex(n)
    if covariates is None:
        Zdf = pd.DataFrame({"Intercept": np.ones(n)}, index=idx)
    else:
        cov = frames.get("covariates", covariates)
        cov = cov.to_frame() if isinstance(cov, pd.Series) else cov
        cov = cov if isinstance(cov, pd.DataFrame) else pd.DataFrame(np.asarray(cov), index=idx)
        cov = cov.set_axis(idx, axis=0)
        Zdf = design_matrix(cov, idx)
    blocks = block_labels(exchangeability_blocks, idx if index is not None else None, n)
    codes, n_blocks = None, 1
    if blocks is not None:
        codes, labels = pd.factorize(pd.Series(blocks, dtype=object), sort=True)
        n_blocks = len(labels)
        Zdf = design_by_block(Zdf, blocks)
    Z = Zdf.to_numpy(dtype=np.float64)
    P, Qn = Ya.shape[1], Xa.shape[1]
    K = min(P, Qn) if n_components is None else int(n_components)
    if not 1 <= K <= min(P, Qn):
        raise InputError(f"n_components must be between 1 and {min(P, Qn)}, got {n_components}")

    # full CCA of the covariate-adjusted blocks: canonical correlations and variates
    bases0 = _block_bases(Z, codes, n_blocks)
    rows0 = sum(Q.shape[1] for _, Q in bases0)
    need = P + Qn + K - 1
    if rows0 - (K - 1) * n_blocks <= P + Qn:
        raise InputError(
            f"the step-down test of {K} component(s) needs more than P + Q = {P + Qn} projected "
            f"rows at every step, but n - rank(nuisance) = {rows0} ({n} samples, nuisance rank "
            f"{n - rows0}{' per-block' if blocks is not None else ''}), minus {n_blocks * (K - 1)} "
            f"for earlier variates, leaves {rows0 - (K - 1) * n_blocks}: canonical correlations "
            "would be 1 by construction; test fewer components, use fewer covariates/features, or "
            "use cca_permutation_test with RegularizedCCA / SparseCCA")
    del need
    Yr = np.zeros_like(Ya)
    Xr = np.zeros_like(Xa)
    for rows, Q in bases0:
        Yr[rows] = Q @ (Q.T @ Ya[rows])
        Xr[rows] = Q @ (Q.T @ Xa[rows])
    Uy = _orth(Yr, "Y", P)
    Ux = _orth(Xr, "X", Qn)
    A, cors, Bt = np.linalg.svd(Uy.T @ Ux, full_matrices=False)
    Uvar = Uy @ A                      # Y-side canonical variates (n x min)
    Vvar = Ux @ Bt.T                   # X-side canonical variates

    gen = check_rng(rng)
    B = int(n_permutations)
    stats = np.empty(K)
    null = np.empty((B, K))
    n_rows = []
    with single_threaded_blas():
        for k in range(K):
            Zy = _nuisance(Z, Uvar[:, :k], codes, n_blocks)
            Zx = _nuisance(Z, Vvar[:, :k], codes, n_blocks)
            Yt, lab = _project(Ya, _block_bases(Zy, codes, n_blocks))
            Xt, lab_x = _project(Xa, _block_bases(Zx, codes, n_blocks))
            if Yt.shape[0] != Xt.shape[0] or not np.array_equal(lab, lab_x):
                raise InputError("the two sides' nuisance matrices have different ranks; remove "
                                 "collinear covariates")
            m = Yt.shape[0]
            n_rows.append(int(m))
            # removing the earlier variates (combinations of each block's own columns) leaves
            # rank P - k and Q - k: the basis keeps what is left
            Uyk, Uxk = thin_svd(Yt)[0], thin_svd(Xt)[0]
            stats[k] = _stats(Uxk, Uyk[None], statistic)[0]
            scheme = PermutationScheme(m, None if codes is None else lab)
            if scheme.exhaustive_for(B):
                raise InputError(f"only {int(scheme.n_distinct)} distinct permutations of the "
                                 f"{m} projected rows exist; use fewer permutations than that")
            step_seed = gen.integers(2**63)
            s = 0
            for perms in iter_batches(scheme, B, batch, np.random.default_rng(step_seed)):
                null[s:s + len(perms), k] = _stats(Uxk, Uyk[perms], statistic)
                s += len(perms)
    tol = 1e-12
    if statistic == "roy":
        exceed = (null >= stats[None] - tol).sum(axis=0)
    else:
        exceed = (null <= stats[None] + tol).sum(axis=0)
    p = (1.0 + exceed) / (1.0 + B)
    return StepdownResult(canonical_correlations=cors, statistic=stats, pvalues=p,
                          pvalues_fwer=np.maximum.accumulate(p), null_distribution=null,
                          statistic_name=statistic, n_permutations=B, n_rows=n_rows,
                          within_blocks=blocks is not None, alpha=alpha)
