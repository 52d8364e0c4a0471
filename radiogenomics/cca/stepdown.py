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
2. *Step-down*.  CCA of the projected blocks gives canonical correlations ``r_1 >= r_2 ...``
   and, for each side, the canonical variates completed to a basis of its column space
   (``Y~ [A, null(A')]``, ``X~ [B, null(B')]``, as in the authors' published code,
   ``permcca.m``).  Step ``k`` removes the first ``k - 1`` canonical variates of each side (they
   join that side's nuisance) by keeping basis columns ``k, k+1, ...``; the statistic of step
   ``k`` is computed from the CCA of those columns: Roy's largest root (its first canonical
   correlation, which is ``r_k``; ``statistic="roy"``, the default) or Wilks' lambda
   ``prod_{j >= k} (1 - r_j^2)`` (``statistic="wilks"``; small is significant).  Its null
   distribution comes from permuting the projected rows of the Y side (the same permutations
   at every step).
3. *FWER*.  ``p_k = (1 + #{T*_k >= T_k}) / (1 + B)`` (never 0), made monotone by a cumulative
   maximum, ``p^FWER_k = max(p_1, ..., p_k)``, which controls the family-wise error over
   components (closed testing: component ``k`` is only declared once ``1..k-1`` are).

Exchangeability blocks (e.g. centres).  ``Q`` from the whole design mixes rows of different
blocks, so within-block permutation of ``Q' Y`` would not keep the blocks.  With blocks the
nuisance is fitted *per block* (every covariate and the intercept times each block indicator,
:func:`radiogenomics._linalg.design_by_block`), which makes ``R_Z`` block diagonal; ``Q`` is then built block by block, so each projected
row belongs to one block, and projected rows are permuted within their block.  Each block needs
more samples than its nuisance columns.  This is our construction for blocks (the paper's
simulations use free exchangeability); its validity is shown by the simulations of
``benchmarks/validity_cca_stepdown.py`` (recorded in ``benchmarks/README.md``), and a smaller
version runs in ``tests/test_cca_stepdown.py``.

Type-I error at the first null component (``benchmarks/validity_cca_stepdown.py``, n = 60,
P = Q = 4, B = 99, level 0.05; free permutation, covariates, and centre blocks with location and
scale shifts plus covariates; figures in ``benchmarks/README.md``): at component 1 the level is
exact in every scenario (10,000 datasets per cell: 0.046-0.052); at components 2 and 3 the test
is slightly liberal, 0.051-0.057 (up to 1.15 x nominal), because the step-down removes
*estimated* canonical variates, an approximation at small n.  The previous Freedman-Lane scheme
with centre blocks rejected 0.10 / 0.62 / 0.64 (it did not remove centre means), which is why
classical CCA now uses this test.

Only classical (unregularised) CCA is tested this way; it needs ``n - R' >= P + Q`` projected
rows (fewer force canonical correlations of 1): the function refuses otherwise and points to :func:`~radiogenomics.cca.cca_permutation_test` with
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

    # Huh-Jhun projection (block diagonal with blocks) of both sides to m = n - rank(Z) rows
    bases = _block_bases(Z, codes, n_blocks)
    Yt, lab = _project(Ya, bases)
    Xt, _ = _project(Xa, bases)
    m = Yt.shape[0]
    if m < P + Qn:
        raise InputError(
            f"the step-down test needs at least P + Q = {P + Qn} projected rows, but "
            f"n - rank(nuisance) = {m} ({n} samples, nuisance rank {n - m}"
            f"{', intercept and covariates fitted per block' if blocks is not None else ''}): "
            "canonical correlations would be 1 by construction; use fewer covariates/features, "
            "or cca_permutation_test with RegularizedCCA / SparseCCA")
    # CCA in the projected space; the full canonical bases [A, null(A')] of each side, so
    # that step k keeps canonical directions k.. (the earlier variates removed, as published)
    Uy = _orth(Yt, "Y", P)
    Ux = _orth(Xt, "X", Qn)
    A, cors, Bt = np.linalg.svd(Uy.T @ Ux, full_matrices=True)
    Cy = Uy @ A                        # (m, P): Y-side canonical variates, then the rest
    Cx = Ux @ Bt.T                     # (m, Q)
    cors = np.clip(cors, 0.0, 1.0)

    gen = check_rng(rng)
    B = int(n_permutations)
    scheme = PermutationScheme(m, None if codes is None else lab)
    if scheme.exhaustive_for(B):
        raise InputError(f"only {int(scheme.n_distinct)} distinct permutations of the "
                         f"{m} projected rows exist; use fewer permutations than that")
    # one seed: every step sees the same permutations (as in the published algorithm)
    step_seed = gen.integers(2**63)
    stats = np.empty(K)
    null = np.empty((B, K))
    n_rows = [int(m)] * K
    with single_threaded_blas():
        for k in range(K):
            Cyk, Cxk = Cy[:, k:], Cx[:, k:]
            stats[k] = _stats(Cxk, Cyk[None], statistic)[0]
            s = 0
            for perms in iter_batches(scheme, B, batch, np.random.default_rng(step_seed)):
                null[s:s + len(perms), k] = _stats(Cxk, Cyk[perms], statistic)
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
