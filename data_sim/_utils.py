"""Small helpers: random-generator handling, Woodbury algebra, allocation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import linalg

from radiogenomics._checks import check_rng

RngLike = int | np.random.Generator | np.random.BitGenerator | np.random.SeedSequence | None

__all__ = [
    "allocate_counts",
    "as_generator",
    "lowrank_diag_solve",
    "omega_orthogonal_loadings",
    "per_factor",
    "spawn",
]


def as_generator(rng: RngLike) -> np.random.Generator:
    """Normalise ``rng`` to a Generator (Scientific Python SPEC 7), exactly as the toolkit does.

    Delegates to :func:`radiogenomics._checks.check_rng`: ``None`` (fresh OS entropy), a
    non-negative int, a ``SeedSequence``, a ``BitGenerator`` (wrapped, sharing its state) or a
    ``Generator`` (returned unchanged); a bool, a negative int or the legacy ``RandomState``
    is refused.
    """
    return check_rng(rng)


def spawn(rng: np.random.Generator, n: int) -> list[np.random.Generator]:
    """Return ``n`` independent child generators of ``rng`` (deterministic given ``rng``).

    Child streams make components of a simulation independent of each other's
    sizes: e.g. changing the number of genes does not change the radiomic draws.
    """
    try:
        return list(rng.spawn(n))
    except (TypeError, ValueError, AttributeError):  # bit generator without a seed sequence
        seeds = rng.integers(0, 2**63 - 1, size=(n, 4))
        return [np.random.default_rng(s) for s in seeds]


def per_factor(value, k: int, name: str) -> np.ndarray:
    """Broadcast a scalar or length-``k`` sequence to a float array of length ``k``."""
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.size == 1:
        arr = np.repeat(arr, k)
    if arr.shape != (k,):
        raise ValueError(f"{name} must be a scalar or have length {k}, got shape {arr.shape}")
    return arr


def lowrank_diag_solve(L: np.ndarray, d: np.ndarray, X: np.ndarray) -> np.ndarray:
    r"""Solve :math:`(L L^T + \mathrm{diag}(d)) Z = X` with the Woodbury identity.

    .. math::

        (D + L L^T)^{-1} = D^{-1} - D^{-1} L (I_r + L^T D^{-1} L)^{-1} L^T D^{-1}

    Cost is :math:`O(p r^2 + p r m)` for ``L`` of shape ``(p, r)`` and ``X``
    of shape ``(p, m)``; no ``p x p`` matrix is formed.

    Parameters
    ----------
    L : ndarray, shape (p, r)
        Low-rank factor (``r`` may be 0).
    d : ndarray, shape (p,)
        Positive diagonal.
    X : ndarray, shape (p, m)
        Right-hand sides.

    Returns
    -------
    ndarray, shape (p, m)
    """
    d = np.asarray(d, dtype=float)
    X = np.asarray(X, dtype=float)
    dinv_x = X / d[:, None]
    if L.shape[1] == 0:
        return dinv_x
    dinv_l = L / d[:, None]
    K = np.eye(L.shape[1]) + L.T @ dinv_l
    return dinv_x - dinv_l @ linalg.solve(K, L.T @ dinv_x, assume_a="pos")


def omega_orthogonal_loadings(A0: np.ndarray, L: np.ndarray, d: np.ndarray,
                              strength: np.ndarray) -> np.ndarray:
    r"""Make loading columns :math:`\Omega^{-1}`-orthogonal with prescribed strengths.

    With :math:`\Omega = L L^T + \mathrm{diag}(d)` and raw loadings
    :math:`A_0`, let :math:`G_0 = A_0^T \Omega^{-1} A_0 = R^T R` (Cholesky).
    The returned loadings are

    .. math::

        A = A_0 R^{-1} \mathrm{diag}(\sqrt{g}),

    so that :math:`A^T \Omega^{-1} A = \mathrm{diag}(g)` (generalised
    Gram-Schmidt). Then, by Woodbury,
    :math:`A^T (A A^T + \Omega)^{-1} A = \mathrm{diag}(g / (1 + g))`.

    Parameters
    ----------
    A0 : ndarray, shape (p, k)
        Raw loadings of full column rank.
    L, d : ndarray
        Low-rank + diagonal decomposition of :math:`\Omega`.
    strength : ndarray, shape (k,)
        Signal strengths :math:`g_k > 0`.

    Returns
    -------
    ndarray, shape (p, k)
    """
    G0 = A0.T @ lowrank_diag_solve(L, d, A0)
    G0 = 0.5 * (G0 + G0.T)
    R = linalg.cholesky(G0, lower=False)
    A1 = linalg.solve_triangular(R, A0.T, trans="T", lower=False).T  # A0 R^{-1}
    return A1 * np.sqrt(strength)[None, :]


def allocate_counts(n: int, weights: Sequence[float], minimum: int) -> np.ndarray:
    """Split ``n`` into integer counts proportional to ``weights`` (largest remainder), each >= ``minimum``."""
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    target = n * w
    counts = np.maximum(minimum, np.floor(target)).astype(int)
    while counts.sum() < n:
        counts[np.argmax(target - counts)] += 1
    while counts.sum() > n:
        excess = np.where(counts > minimum, counts - target, -np.inf)
        counts[np.argmax(excess)] -= 1
    return counts
