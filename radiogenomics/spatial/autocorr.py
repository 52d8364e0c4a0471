"""Global spatial autocorrelation of many variables at once: Moran's I, Geary's C, Lee's L.

Every statistic is computed for all columns of ``X`` (spots x genes or imaging maps) with
sparse-dense products ``W @ X``, never a Python loop over variables, and equals R's **spdep**
(1.2-7; ``tests/test_spatial_autocorr.py`` checks it to 1e-8 relative):

* Moran's I (Moran 1950; Cliff & Ord 1981, ch. 1-2), spdep ``moran.test``::

      I = (n / S0) * sum_ij w_ij z_i z_j / sum_i z_i^2,    z = x - mean(x),   E[I] = -1/(n-1)

  with variance under normality ``(n^2 S1 - n S2 + 3 S0^2) / (S0^2 (n^2 - 1)) - E[I]^2`` and
  under randomisation ``[n((n^2-3n+3) S1 - n S2 + 3 S0^2) - K((n^2-n) S1 - 2n S2 + 6 S0^2)]
  / ((n-1)(n-2)(n-3) S0^2) - E[I]^2`` with the sample kurtosis
  ``K = N sum z^4 / (sum z^2)^2``.
* Geary's C (Geary 1954), spdep ``geary.test``::

      C = (n - 1) / (2 S0) * sum_ij w_ij (x_i - x_j)^2 / sum_i z_i^2,     E[C] = 1,

  variance as in Cliff & Ord (1981) eq. 1.39 / 2.41 with spdep's mix of ``n`` (spots with
  neighbours) and ``N`` (all spots) when there are islands.  Small C = positive
  autocorrelation, so ``alternative="greater"`` (positive autocorrelation, spdep's
  "Expectation greater than statistic") uses ``z = (1 - C) / sqrt(Var C)``.
* Lee's L (Lee 2001, *J Geogr Syst* 3:369), spdep ``lee``::

      L = (N / sum_i (sum_j w_ij)^2) * sum_i (W z_x)_i (W z_y)_i / sqrt(sum z_x^2 sum z_y^2),

  local ``L_i = N (W z_x)_i (W z_y)_i / sqrt(sum z_x^2 sum z_y^2)``.  The analytic test is
  spdep ``lee.test``: L is Hubert's cross-product statistic ``sum_ij P_ij Q_ij`` with
  ``P = W'W / sum_i w_i.^2`` and ``Q = N a b'`` (``a, b`` = centred x, y of unit norm), whose
  randomisation mean is ``E[L] = r (tr P - (1 - tr P) / (N - 1))`` (``r`` = Pearson
  correlation of x and y) and whose variance spdep takes from Hubert's formula for
  *symmetric* matrices.  Q is not symmetric, so spdep's variance is too large (1.5-2.5 x the
  exact permutation variance in our checks) and its p-values are conservative (about 0.5 %
  rejections at a nominal two-sided 5 % under independence).  :func:`lees_l` reports spdep's
  ``variance, z, p`` for parity and the exact randomisation variance ``variance_exact``
  (checked against full enumeration of all permutations) with ``z_exact, p_exact``.

``S0 = sum w_ij``, ``S1 = 1/2 sum (w_ij + w_ji)^2``, ``S2 = sum_i (w_i. + w_.i)^2``; ``n`` counts
spots with neighbours (spdep ``adjust.n = TRUE``), ``N`` all spots.

Permutation p-values (``n_permutations = B > 0``) use one set of B permutations of the spots,
generated once from ``rng`` and shared by all variables (within sections when the weights were
built with ``sections=``).  ``pvalue_method="standard"`` (default) gives
``(1 + #{T* >= T}) / (B + 1)`` in the direction of the alternative (two-sided: twice the
smaller tail, capped at 1), which is exact under exchangeability.  ``pvalue_method="spdep"``
reproduces ``moran.mc`` / ``geary.mc`` / ``lee.mc`` exactly (see :func:`mc_pvalue`); note that
spdep's upper-tail p-value is ``max(#{T* > T} + #{T* = T}/2, 1) / (B + 1)``, which lacks the
``+1`` of the observed value and so rejects slightly too often.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse, stats

from .._checks import InputError, as_matrix, as_vector, check_rng, listing
from .weights import SpatialWeights

__all__ = ["AutocorrResult", "morans_i", "gearys_c", "lees_l", "mc_pvalue"]

ALTERNATIVES = ("greater", "less", "two.sided")
_PVALUE_METHODS = ("standard", "spdep")


@dataclass(repr=False)
class AutocorrResult:
    """Spatial autocorrelation of each variable (one row per variable in :meth:`to_frame`).

    Attributes
    ----------
    statistic : str
        ``"I"`` (Moran), ``"C"`` (Geary) or ``"L"`` (Lee).
    table : DataFrame
        Indexed by variable: the statistic, its expectation, variance, z and p-value under
        randomisation and normality (Moran, Geary), ``p_permutation`` when permutations were
        run, and ``note`` (why a row is NaN, e.g. a constant variable).
    alternative, pvalue_method : str
    n_spots, n_permutations : int
    weights : str
        Summary of the spatial weights used.
    null_distribution : ndarray (B, G) or None
        Permutation statistics (only with ``return_null=True``).
    local : DataFrame or None
        Local Lee's L (spots x variables), only from ``lees_l(..., local=True)``.
    """

    statistic: str
    table: pd.DataFrame
    alternative: str
    n_spots: int
    n_permutations: int = 0
    pvalue_method: str = "standard"
    weights: str = ""
    null_distribution: np.ndarray | None = None
    local: pd.DataFrame | None = None
    extra: dict = field(default_factory=dict)

    @property
    def values(self) -> pd.Series:
        """The statistic of each variable."""
        return self.table[self.statistic]

    @property
    def pvalues(self) -> pd.Series:
        """Permutation p-values when run, else the analytic randomisation ones."""
        for col in ("p_permutation", "p_randomisation", "p"):
            if col in self.table:
                return self.table[col]
        raise KeyError("no p-value column")  # pragma: no cover (every table has one)

    def to_frame(self) -> pd.DataFrame:
        """The per-variable table (a copy)."""
        return self.table.copy()

    def __repr__(self) -> str:
        name = {"I": "Moran's I", "C": "Geary's C", "L": "Lee's L"}[self.statistic]
        t = self.table
        n_nan = int(t[self.statistic].isna().sum())
        perm = f", {self.n_permutations} permutations ({self.pvalue_method})" if self.n_permutations else ""
        head = t.head(5).to_string(float_format=lambda v: f"{v:.4g}")
        return (f"AutocorrResult({name}, {len(t)} variable(s), n_spots={self.n_spots}, "
                f"alternative={self.alternative!r}{perm}, undefined={n_nan})\n"
                f"weights: {self.weights}\n{head}" + ("\n..." if len(t) > 5 else ""))


# ----------------------------------------------------------------------------- helpers
def _check_weights(weights) -> SpatialWeights:
    if not isinstance(weights, SpatialWeights):
        raise InputError(f"weights must be a SpatialWeights (from knn_weights or "
                         f"distance_weights), got {type(weights).__name__}")
    return weights


def _data(X, weights: SpatialWeights, what: str):
    """Validated (n, G) float array in the weights' spot order, and the variable names."""
    if isinstance(X, pd.DataFrame) and weights.ids is not None and not X.index.equals(weights.ids):
        idx = X.index.astype(str)
        ids = pd.Index(weights.ids).astype(str)
        if set(idx) != set(ids) or len(idx) != len(ids):
            raise InputError(
                f"{what} rows and the spots of the weights differ ({len(idx.difference(ids))} "
                f"only in {what}, e.g. {listing(idx.difference(ids), 3)}; "
                f"{len(ids.difference(idx))} only in the weights); build the weights from the "
                "coordinates of exactly these spots")
        X = X.set_axis(idx, axis=0).loc[ids]
    arr, _, names = as_matrix(X, what, min_rows=1,
                              nan_fix="impute or drop those spots (and rebuild the weights)")
    if arr.shape[0] != weights.n:
        raise InputError(f"{what} has {arr.shape[0]} spots but the weights have {weights.n}; "
                         "pass one row per spot, in the order of the coordinates")
    return arr, names


def _check_args(alternative, n_permutations, pvalue_method):
    if alternative not in ALTERNATIVES:
        raise InputError(f"alternative must be one of {ALTERNATIVES} (as in spdep), got {alternative!r}")
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, (int, np.integer)) \
            or n_permutations < 0:
        raise InputError(f"n_permutations must be a non-negative integer, got {n_permutations!r}")
    if pvalue_method not in _PVALUE_METHODS:
        raise InputError(f"pvalue_method must be one of {_PVALUE_METHODS}, got {pvalue_method!r}")


def _normal_p(z: np.ndarray, alternative: str) -> np.ndarray:
    if alternative == "greater":
        return stats.norm.sf(z)
    if alternative == "less":
        return stats.norm.cdf(z)
    return 2 * stats.norm.sf(np.abs(z))


def _permutations(rng, weights: SpatialWeights, n_permutations: int):
    """Yield B permutations of the spots (within sections when the weights have them)."""
    n = weights.n
    groups = None
    if weights.sections is not None:
        codes = pd.factorize(weights.sections, sort=True)[0]
        groups = [np.flatnonzero(codes == c) for c in range(codes.max() + 1)]
    for _ in range(n_permutations):
        if groups is None:
            yield rng.permutation(n)
        else:
            p = np.arange(n)
            for g in groups:
                p[g] = g[rng.permutation(len(g))]
            yield p


def _tail_counts(null: np.ndarray, observed: np.ndarray, tol: float):
    """#{T* > T}, #{T* = T} (within ``tol`` relative) and #{T* < T} per column."""
    eps = tol * np.maximum(np.abs(observed), 1e-300)
    gt = (null > observed + eps).sum(axis=0)
    lt = (null < observed - eps).sum(axis=0)
    return gt, null.shape[0] - gt - lt, lt


def mc_pvalue(null, observed, alternative: str = "greater", method: str = "standard",
              positive: str = "upper", tol: float = 0.0) -> np.ndarray:
    """Monte-Carlo p-value of ``observed`` (G,) against ``null`` (B, G) permutation statistics.

    ``positive`` says which tail is positive autocorrelation: ``"upper"`` (Moran's I, Lee's L)
    or ``"lower"`` (Geary's C); ``alternative="greater"`` tests positive autocorrelation.

    ``method="standard"``: with ``b_ge = #{T* >= T}`` and ``b_le = #{T* <= T}``, the upper-tail
    p is ``(1 + b_ge) / (B + 1)``, the lower-tail ``(1 + b_le) / (B + 1)``, two-sided twice the
    smaller, capped at 1 (Phipson & Smyth 2010).

    ``method="spdep"``: spdep's ``moran.mc`` / ``geary.mc`` / ``lee.mc`` rule.  With the mid-rank
    ``r = 1 + #{T* < T} + #{T* = T}/2`` of the observed value among the B + 1 values,
    ``a = (max(B - r, 0) + 1) / (B + 1)`` is the upper-tail p (the lower tail is ``1 - a``) and
    the two-sided p is ``1 - 2 |r - (B + 1)/2| / (B + 1)``.

    ``tol`` treats values within ``tol * |T|`` of ``T`` as ties (0 = exact, as R's ``rank``).
    """
    null = np.asarray(null, dtype=np.float64)
    observed = np.atleast_1d(np.asarray(observed, dtype=np.float64))
    if null.ndim == 1:
        null = null[:, None]
    _check_args(alternative, 0, method)
    if positive not in ("upper", "lower"):
        raise InputError(f"positive must be 'upper' or 'lower', got {positive!r}")
    counts = _tail_counts(null, observed, tol)
    return _p_from_counts(counts, null.shape[0], alternative, method, positive)


def _weights_summary(weights: SpatialWeights) -> str:
    return repr(weights)


def _finish_table(stat_name, stat, const, extra_cols: dict, names, note_extra=None):
    table = pd.DataFrame({stat_name: stat, **extra_cols}, index=pd.Index(names, name="variable"))
    note = np.where(const, "constant: no spatial variation to test", "")
    if note_extra is not None:
        note = np.where((note == "") & (note_extra != ""), note_extra, note)
    table.loc[const, :] = np.nan
    table["note"] = note
    return table


def _run_perms(stat_fn, arr, weights, n_permutations, rng, observed, batch, return_null):
    """Null statistics of every column: counts of >, =, < and (optionally) the null matrix.

    The B permutations are drawn once (so every column chunk sees the same ones); the
    columns are centred once per chunk and each permutation moves the weights instead of the
    data: ``z[p]' W z[p] = z' W_p z`` with ``W_p[p_i, p_j] = w_ij``.
    """
    gen = check_rng(rng)
    B, G = int(n_permutations), arr.shape[1]
    perms = np.array(list(_permutations(gen, weights, B)), dtype=np.intp).reshape(B, -1)
    null = np.empty((B, G)) if return_null else None
    counts = np.zeros((3, G), dtype=np.int64)
    W = weights.matrix.tocoo()
    means = arr.mean(axis=0)
    for s in range(0, G, batch):
        sl = slice(s, min(G, s + batch))
        Z = arr[:, sl] - means[sl]
        for b in range(B):
            p = perms[b]
            Wp = sparse.csr_matrix((W.data, (p[W.row], p[W.col])), shape=W.shape)
            t = stat_fn(Z, Wp, p, sl)
            gt, eq, lt = _tail_counts(t[None, :], observed[sl], 1e-12)
            counts[0, sl] += gt
            counts[1, sl] += eq
            counts[2, sl] += lt
            if return_null:
                null[b, sl] = t
    return counts, null


def _p_from_counts(counts, B, alternative, method, positive):
    """mc_pvalue from (gt, eq, lt) counts (same rules, without a stored null)."""
    gt, eq, lt = counts
    if positive == "lower":
        gt, lt = lt, gt
    if method == "standard":
        up, low = (1 + gt + eq) / (B + 1), (1 + lt + eq) / (B + 1)
        p = {"greater": up, "less": low}.get(alternative)
        return np.minimum(1.0, 2 * np.minimum(up, low)) if p is None else p
    if positive == "lower":  # spdep ranks the statistic itself: undo the swap
        gt, lt = lt, gt
    rank = 1 + lt + eq / 2
    upper = (np.maximum(B - rank, 0) + 1) / (B + 1)
    if alternative == "two.sided":
        return 1 - 2 * np.abs(rank - (B + 1) / 2) / (B + 1)
    return upper if (alternative == "greater") == (positive == "upper") else 1 - upper


def _setup(X, weights, alternative, n_permutations, pvalue_method, batch, what="X"):
    weights = _check_weights(weights)
    _check_args(alternative, n_permutations, pvalue_method)
    if not isinstance(batch, (int, np.integer)) or batch < 1:
        raise InputError(f"batch must be a positive integer number of variables, got {batch!r}")
    arr, names = _data(X, weights, what)
    c = weights.constants()
    if c["n"] < 4:
        raise InputError(f"only {int(c['n'])} spot(s) have neighbours; the moments of the "
                         "statistic need at least 4: use more spots or wider weights")
    return weights, arr, names, c


def _moments(arr: np.ndarray, W, rc: np.ndarray, batch: int) -> dict:
    """Per column: sum z^2, z'Wz, sum z^4 and sum_i (w_i. + w_.i) z_i^2 (z = centred)."""
    G = arr.shape[1]
    out = {k: np.empty(G) for k in ("zz", "zWz", "z4", "rcz2")}
    for s in range(0, G, batch):
        sl = slice(s, min(G, s + batch))
        Z = arr[:, sl] - arr[:, sl].mean(axis=0)
        Z2 = Z * Z
        out["zz"][sl] = Z2.sum(axis=0)
        out["zWz"][sl] = np.einsum("ij,ij->j", Z, W @ Z)
        out["z4"][sl] = np.einsum("ij,ij->j", Z2, Z2)
        out["rcz2"][sl] = rc @ Z2
    scale = np.abs(arr).max(axis=0)
    out["const"] = out["zz"] <= arr.shape[0] * (1e-13 * np.maximum(scale, np.finfo(float).tiny)) ** 2
    return out


def _perm_pvalues(res_stat, stat_of_perm, arr, weights, n_permutations, rng, batch,
                  return_null, alternative, pvalue_method, positive):
    with np.errstate(divide="ignore", invalid="ignore"):
        counts, null = _run_perms(stat_of_perm, arr, weights, n_permutations, rng, res_stat,
                                  batch, return_null)
    return _p_from_counts(counts, int(n_permutations), alternative, pvalue_method, positive), null


def morans_i(X, weights: SpatialWeights, *, alternative: str = "greater",
             n_permutations: int = 0, rng=None, pvalue_method: str = "standard",
             batch: int = 512, return_null: bool = False) -> AutocorrResult:
    """Moran's I of every column of ``X``, equal to spdep ``moran.test`` / ``moran.mc``.

    Parameters
    ----------
    X : array or DataFrame, shape (n_spots, G)
        Variables (genes, imaging maps) in the spot order of ``weights`` (a DataFrame indexed
        by the spot IDs of the coordinates is aligned by ID).  NaN/inf are refused.
    weights : SpatialWeights
    alternative : {"greater", "less", "two.sided"}
        ``"greater"`` = positive spatial autocorrelation (spdep's default).
    n_permutations : int
        B > 0 adds ``p_permutation`` (spdep ``moran.mc``), one permutation set for all columns.
    rng : int or numpy.random.Generator
    pvalue_method : {"standard", "spdep"}
        Permutation p rule (see :func:`mc_pvalue`).
    batch : int
        Columns per chunk (memory ~ 4 * n_spots * batch floats).
    return_null : bool
        Keep the (B, G) permutation statistics in ``null_distribution``.

    Returns
    -------
    AutocorrResult
        ``table`` columns ``I, expectation, variance_randomisation, z_randomisation,
        p_randomisation, variance_normality, z_normality, p_normality, kurtosis``
        (+ ``p_permutation``) and ``note``; constant columns are NaN with a note.
    """
    weights, arr, names, c = _setup(X, weights, alternative, n_permutations, pvalue_method, batch)
    N, W = arr.shape[0], weights.matrix
    n, S0, S1, S2 = c["n"], c["S0"], c["S1"], c["S2"]
    rc = np.asarray(W.sum(axis=1)).ravel() + np.asarray(W.sum(axis=0)).ravel()
    m = _moments(arr, W, rc, batch)
    S02, nn = S0 * S0, n * n
    EI = -1.0 / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        I = (n / S0) * m["zWz"] / m["zz"]
        K = N * m["z4"] / m["zz"] ** 2
        v_rand = (n * (S1 * (nn - 3 * n + 3) - n * S2 + 3 * S02)
                  - K * (S1 * (nn - n) - 2 * n * S2 + 6 * S02)) / ((n - 1) * (n - 2) * (n - 3) * S02)
        v_rand = v_rand - EI ** 2
        v_norm = (nn * S1 - n * S2 + 3 * S02) / (S02 * (nn - 1)) - EI ** 2
        z_rand = (I - EI) / np.sqrt(np.where(v_rand > 0, v_rand, np.nan))
        z_norm = (I - EI) / np.sqrt(v_norm if v_norm > 0 else np.nan)
    cols = {"expectation": np.full_like(I, EI), "variance_randomisation": v_rand,
            "z_randomisation": z_rand, "p_randomisation": _normal_p(z_rand, alternative),
            "variance_normality": np.full_like(I, v_norm), "z_normality": z_norm,
            "p_normality": _normal_p(z_norm, alternative), "kurtosis": K}
    null = None
    if n_permutations:
        def stat(Z, Wp, p, sl):  # Moran's I of Z[p] = z' W_p z
            return (n / S0) * np.einsum("ij,ij->j", Z, Wp @ Z) / m["zz"][sl]
        cols["p_permutation"], null = _perm_pvalues(I, stat, arr, weights, n_permutations, rng,
                                                    batch, return_null, alternative,
                                                    pvalue_method, "upper")
    note = np.where(v_rand <= 0, "negative variance under randomisation (kurtosis too high)", "")
    table = _finish_table("I", I, m["const"], cols, names, note)
    return AutocorrResult("I", table, alternative, N, int(n_permutations), pvalue_method,
                          _weights_summary(weights), null)


def gearys_c(X, weights: SpatialWeights, *, alternative: str = "greater",
             n_permutations: int = 0, rng=None, pvalue_method: str = "standard",
             batch: int = 512, return_null: bool = False) -> AutocorrResult:
    """Geary's C of every column of ``X``, equal to spdep ``geary.test`` / ``geary.mc``.

    ``C = (n - 1) / (2 S0) * sum_ij w_ij (x_i - x_j)^2 / sum_i (x_i - mean x)^2``, computed
    for all columns as ``sum_i (w_i. + w_.i) z_i^2 - 2 z'Wz``.  ``alternative="greater"`` is
    positive autocorrelation (C below its expectation 1; spdep's "Expectation greater than
    statistic"), with ``z = (1 - C) / sqrt(Var C)``.  Variances as spdep ``geary.test``:
    randomisation ``[(n-1) S1 (n^2 - 3N + 3 - K(n-1)) - (n-1) S2 (n^2 + 3N - 6 - K(n^2 - N + 2))/4
    + S0^2 (n^2 - 3 - K(n-1)^2)] / (N (n-2)(n-3) S0^2)`` with ``K = n sum z^4 / (sum z^2)^2``,
    normality ``((2 S1 + S2)(n - 1) - 4 S0^2) / (2 (N + 1) S0^2)`` (``n`` = spots with
    neighbours, ``N`` = all spots).  Other parameters and the result as :func:`morans_i`
    (column ``C``).
    """
    weights, arr, names, c = _setup(X, weights, alternative, n_permutations, pvalue_method, batch)
    N, W = arr.shape[0], weights.matrix
    n, S0, S1, S2 = c["n"], c["S0"], c["S1"], c["S2"]
    rc = np.asarray(W.sum(axis=1)).ravel() + np.asarray(W.sum(axis=0)).ravel()
    m = _moments(arr, W, rc, batch)
    S02, nn, n1 = S0 * S0, n * n, n - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        C = (n1 / (2 * S0)) * (m["rcz2"] - 2 * m["zWz"]) / m["zz"]
        K = n * m["z4"] / m["zz"] ** 2
        v_rand = (n1 * S1 * (nn - 3 * N + 3 - K * n1)
                  - 0.25 * n1 * S2 * (nn + 3 * N - 6 - K * (nn - N + 2))
                  + S02 * (nn - 3 - K * n1 ** 2)) / (N * (n - 2) * (n - 3) * S02)
        v_norm = ((2 * S1 + S2) * n1 - 4 * S02) / (2 * (N + 1) * S02)
        z_rand = (1.0 - C) / np.sqrt(np.where(v_rand > 0, v_rand, np.nan))
        z_norm = (1.0 - C) / np.sqrt(v_norm if v_norm > 0 else np.nan)
    cols = {"expectation": np.ones_like(C), "variance_randomisation": v_rand,
            "z_randomisation": z_rand, "p_randomisation": _normal_p(z_rand, alternative),
            "variance_normality": np.full_like(C, v_norm), "z_normality": z_norm,
            "p_normality": _normal_p(z_norm, alternative), "kurtosis": K}
    null = None
    if n_permutations:
        def stat(Z, Wp, p, sl):  # Geary's C of Z[p]
            rcp = np.empty_like(rc)
            rcp[p] = rc
            q = rcp @ (Z * Z) - 2 * np.einsum("ij,ij->j", Z, Wp @ Z)
            return (n1 / (2 * S0)) * q / m["zz"][sl]
        cols["p_permutation"], null = _perm_pvalues(C, stat, arr, weights, n_permutations, rng,
                                                    batch, return_null, alternative,
                                                    pvalue_method, "lower")
    note = np.where(v_rand <= 0, "negative variance under randomisation (kurtosis too high)", "")
    table = _finish_table("C", C, m["const"], cols, names, note)
    return AutocorrResult("C", table, alternative, N, int(n_permutations), pvalue_method,
                          _weights_summary(weights), null)


def _lee_p_quantities(W) -> dict:
    """spdep ``PQquant(Pmatrix(W))`` for ``P = W'W / 1'W'W1`` (scalars, from sparse products).

    ``Fon0 = tr P``, ``Foff0 = 1'P1 - tr P``, ``Fon1 = sum_i p_ii^2``,
    ``Foff1 = sum_ij p_ij^2 - Fon1``, ``Foff2 = sum_i ((P1)_i - p_ii)^2``,
    ``Fall2 = sum_i (P1)_i^2``.
    """
    rs = np.asarray(W.sum(axis=1)).ravel()
    S2L = float(rs @ rs)
    WtW = (W.T @ W).tocsr()
    diag = WtW.diagonal() / S2L
    P1 = (W.T @ rs) / S2L
    fon1 = float(diag @ diag)
    return {"S2L": S2L, "Fon0": float(diag.sum()), "Foff0": float(P1.sum() - diag.sum()),
            "Fon1": fon1, "Foff1": float((WtW.data ** 2).sum()) / S2L ** 2 - fon1,
            "Foff2": float(((P1 - diag) ** 2).sum()), "Fall2": float(P1 @ P1)}


def _lee_moments(P: dict, r: np.ndarray, s4: np.ndarray, n: int):
    """Randomisation mean and variance of Lee's L (spdep ``EGamma`` / ``VarGamma``).

    L is Hubert's cross-product statistic ``Gamma = sum_ij P_ij Q_ij`` with ``P`` from
    :func:`_lee_p_quantities` and ``Q = n a b'`` (``a, b`` = centred x, y scaled to unit norm,
    spdep ``Qmatrix``), whose quantities are ``Fon0 = n r``, ``Foff0 = -n r``,
    ``Fon1 = Foff2 = n^2 s4``, ``Foff1 = n^2 (1 - s4)``, ``Fall2 = 0`` with the correlation
    ``r = sum a_i b_i`` and ``s4 = sum a_i^2 b_i^2``.  Then, split into diagonal ("on") and
    off-diagonal parts,
    ``E_off = P.Foff0 Q.Foff0 / (n(n-1))``, ``E_on = P.Fon0 Q.Fon0 / n``,
    ``V_off = 2 P.Foff1 Q.Foff1 / n(2) + 4 (P.Foff2 - P.Foff1)(Q.Foff2 - Q.Foff1) / n(3)
    + (P.Foff0^2 + 2 P.Foff1 - 4 P.Foff2)(Q.Foff0^2 + 2 Q.Foff1 - 4 Q.Foff2) / n(4) - E_off^2``,
    ``V_on = P.Fon1 Q.Fon1 / n + (P.Fon0^2 - P.Fon1)(Q.Fon0^2 - Q.Fon1) / n(2) - E_on^2``,
    ``C = h_P h_Q / (2 n(2)) + (P.Fon0 P.Foff0 - h_P)(Q.Fon0 Q.Foff0 - h_Q) / n(3) - E_off E_on``
    with ``h = Fall2 - Fon1 - Foff2`` and ``n(k) = n (n-1) ... (n-k+1)``;
    ``E[L] = E_on + E_off``, ``Var L = V_on + V_off + 2 C``.
    """
    n2, n3, n4 = n * (n - 1.0), n * (n - 1.0) * (n - 2.0), n * (n - 1.0) * (n - 2.0) * (n - 3.0)
    Q = {"Fon0": n * r, "Foff0": -n * r, "Fon1": n * n * s4, "Foff1": n * n * (1.0 - s4),
         "Foff2": n * n * s4, "Fall2": np.zeros_like(r)}
    e_off = P["Foff0"] * Q["Foff0"] / n2
    e_on = P["Fon0"] * Q["Fon0"] / n
    v_off = (2 * P["Foff1"] * Q["Foff1"] / n2
             + 4 * (P["Foff2"] - P["Foff1"]) * (Q["Foff2"] - Q["Foff1"]) / n3
             + (P["Foff0"] ** 2 + 2 * P["Foff1"] - 4 * P["Foff2"])
             * (Q["Foff0"] ** 2 + 2 * Q["Foff1"] - 4 * Q["Foff2"]) / n4 - e_off ** 2)
    v_on = (P["Fon1"] * Q["Fon1"] / n
            + (P["Fon0"] ** 2 - P["Fon1"]) * (Q["Fon0"] ** 2 - Q["Fon1"]) / n2 - e_on ** 2)
    hP = P["Fall2"] - P["Fon1"] - P["Foff2"]
    hQ = Q["Fall2"] - Q["Fon1"] - Q["Foff2"]
    cov = (hP * hQ / (2 * n2) + (P["Fon0"] * P["Foff0"] - hP) * (Q["Fon0"] * Q["Foff0"] - hQ) / n3
           - e_off * e_on)
    # exact off-diagonal variance: Q is not symmetric, so sum Q_ij Q_ji = n^2 (r^2 - s4) differs
    # from sum Q_ij^2 and the three / four distinct-index sums split into row, column and
    # mixed patterns (see _lee_exact_off); spdep's VarGamma assumes a symmetric Q.
    v_off_exact = _lee_exact_off(P, r, s4, n) - e_off ** 2
    return e_on + e_off, v_on + v_off + 2 * cov, v_on + v_off_exact + 2 * cov


def _lee_exact_off(P: dict, r: np.ndarray, s4: np.ndarray, n: int) -> np.ndarray:
    """E[Gamma_off^2] under random permutation, for symmetric ``P`` and ``Q = n a b'``.

    Pairs of off-diagonal cells ``(i,j), (k,l)`` fall into the patterns: the same cell
    (``A = sum Q_ij^2``), the transposed cell (``A' = sum Q_ij Q_ji``), a shared row
    (``R``), a shared column (``C``), a chain ``k = j`` or ``l = i`` (``M`` each) and four
    distinct indices (``D = F0^2 - A - A' - R - C - 2M``), each sum over distinct indices.
    ``E[Gamma_off^2] = (A_P A_Q + A'_P A'_Q) / n(2) + (R_P R_Q + C_P C_Q + 2 M_P M_Q) / n(3)
    + D_P D_Q / n(4)`` (Hubert 1987, *Assignment methods in combinatorial data analysis*,
    ch. 3, without assuming symmetry).  For symmetric P: ``A = A' = Foff1``,
    ``R = C = M = Foff2 - Foff1``; for ``Q = n a b'``: ``A = n^2 (1 - s4)``,
    ``A' = n^2 (r^2 - s4)``, ``R = C = n^2 (2 s4 - 1)``, ``M = n^2 (2 s4 - r^2)``,
    ``D = n^2 (1 - 6 s4 + 2 r^2)``.
    """
    n2, n3, n4 = n * (n - 1.0), n * (n - 1.0) * (n - 2.0), n * (n - 1.0) * (n - 2.0) * (n - 3.0)
    A, R = P["Foff1"], P["Foff2"] - P["Foff1"]
    D = P["Foff0"] ** 2 + 2 * A - 4 * P["Foff2"]
    r2, nn = r * r, float(n) * n
    return (A * nn * (1.0 - s4 + r2 - s4) / n2
            + R * nn * (2 * (2 * s4 - 1.0) + 2 * (2 * s4 - r2)) / n3
            + D * nn * (1.0 - 6 * s4 + 2 * r2) / n4)


def _lee_column_sums(zx, u, Yarr, batch):
    """Per column of Y, centred in chunks of ``batch`` columns (no full centred copy):
    ``sum z_y^2``, ``u'z_y``, ``z_x'z_y``, ``(z_x^2)'(z_y^2)`` and whether it is constant."""
    G = Yarr.shape[1]
    zzy, cross, zxy, zx2y2 = (np.empty(G) for _ in range(4))
    const = np.empty(G, dtype=bool)
    zx2 = zx * zx
    for s in range(0, G, batch):
        sl = slice(s, min(G, s + batch))
        Z = Yarr[:, sl] - Yarr[:, sl].mean(axis=0)
        Z2 = Z * Z
        zzy[sl] = Z2.sum(axis=0)
        cross[sl], zxy[sl], zx2y2[sl] = u @ Z, zx @ Z, zx2 @ Z2
        scale = np.abs(Yarr[:, sl]).max(axis=0)
        const[sl] = zzy[sl] <= Z.shape[0] * (1e-13 * np.maximum(scale, np.finfo(float).tiny)) ** 2
    return zzy, cross, zxy, zx2y2, const


def _lee_perm_pvalues(zx, Zy, L, denom, weights, n_permutations, rng, alternative,
                      pvalue_method, return_null, S2L):
    """Permutation p of Lee's L (x and y permuted together; spdep ``lee.mc``)."""
    gen = check_rng(rng)
    W, N, B = weights.matrix, zx.size, int(n_permutations)
    counts = np.zeros((3, Zy.shape[1]), dtype=np.int64)
    null = np.empty((B, Zy.shape[1])) if return_null else None
    perms = _permutations(gen, weights, B)
    chunk = max(1, min(B, 64))
    for b0 in range(0, B, chunk):
        P = [next(perms) for _ in range(min(chunk, B - b0))]
        U = np.empty((len(P), N))
        for r, p in enumerate(P):
            U[r, p] = W.T @ (W @ zx[p])
        with np.errstate(divide="ignore", invalid="ignore"):
            T = (N / S2L) * (U @ Zy) / denom
        gt, eq, lt = _tail_counts(T, L, 1e-12)
        counts += np.vstack([gt, eq, lt])
        if return_null:
            null[b0:b0 + len(P)] = T
    return _p_from_counts(counts, B, alternative, pvalue_method, "upper"), null


def lees_l(x, Y, weights: SpatialWeights, *, alternative: str = "greater",
           n_permutations: int = 0, rng=None, pvalue_method: str = "standard",
           local: bool = False, batch: int = 512, return_null: bool = False) -> AutocorrResult:
    """Lee's bivariate L between one map ``x`` and every column of ``Y`` (spdep ``lee.test``).

    ``L = (N / sum_i w_i.^2) * sum_i (W z_x)_i (W z_y)_i / sqrt(sum z_x^2 sum z_y^2)``
    (Lee 2001, *J Geogr Syst* 3:369-385), spdep ``lee(x, y, listw, n = N)``.  The table also
    holds spdep ``lee.test``'s analytic test under randomisation (all N! joint permutations of
    the spots): ``expectation`` and ``variance`` of L (Hubert's cross-product moments, see
    :func:`_lee_moments`), ``z = (L - E[L]) / sqrt(Var L)`` and its normal p-value ``p``
    (``alternative`` as spdep).  ``E[L]`` is proportional to the Pearson correlation of x and
    y, so L (and z) measure spatial co-patterning beyond the aspatial correlation.  The
    moments need only the correlation ``r`` and ``sum a_i^2 b_i^2`` of each column (a few
    dense products; 20,000 genes x 4,000 spots take seconds).

    With ``local=True`` also the local ``L_i = N (W z_x)_i (W z_y)_i / sqrt(sum z_x^2 sum
    z_y^2)`` (``result.local``, spots x variables).  ``n_permutations > 0`` adds
    ``p_permutation``: the spots of x and y are permuted together (spdep ``lee.mc``), all
    columns share the permutations, and the null is one dense product ``U @ Z_y`` with
    ``u[p] = W'(W z_x[p])``.  ``alternative="greater"`` = positive L.

    The ``variance`` / ``z`` / ``p`` columns equal spdep ``lee.test`` (to ~1e-11 relative)
    but spdep's variance applies Hubert's symmetric-matrix formula to the asymmetric
    ``Q = N a b'`` and overstates the randomisation variance (conservative p).  The
    ``variance_exact`` / ``z_exact`` / ``p_exact`` columns use the exact variance of L over
    all permutations (:func:`_lee_exact_off`); prefer ``p_exact`` for inference.

    Returns
    -------
    AutocorrResult
        ``table`` columns ``L, expectation, variance, z, p, variance_exact, z_exact, p_exact``
        (+ ``p_permutation``) and ``note``.

    Notes
    -----
    With weights built per section the analytic moments still assume permutation over all
    spots (as spdep, which knows no sections); ``p_permutation`` permutes within sections.
    Constant columns of ``Y`` are NaN with a note; rows with ``Var L <= 0`` too.
    """
    weights, Yarr, names, _ = _setup(Y, weights, alternative, n_permutations, pvalue_method,
                                     batch, "Y")
    xv, _ = as_vector(x.reindex(weights.ids) if isinstance(x, pd.Series) and weights.ids is not None
                      and set(x.index) == set(weights.ids) else x, "x")
    N, W = Yarr.shape[0], weights.matrix
    if xv.size != N:
        raise InputError(f"x has {xv.size} spots but the weights have {N}; pass one value per spot")
    zx = xv - xv.mean()
    zzx = float(zx @ zx)
    if not zzx > N * (1e-13 * max(np.abs(xv).max(), np.finfo(float).tiny)) ** 2:
        raise InputError("x is constant: Lee's L needs a map that varies over the spots")
    P = _lee_p_quantities(W)
    lx = W @ zx
    zzy, cross, zxy, zx2y2, const = _lee_column_sums(zx, W.T @ lx, Yarr, batch)
    denom = np.sqrt(zzx) * np.sqrt(zzy)
    with np.errstate(divide="ignore", invalid="ignore"):
        L = (N / P["S2L"]) * cross / denom
        EL, VL, VX = _lee_moments(P, zxy / denom, zx2y2 / (zzx * zzy), N)
        z = (L - EL) / np.sqrt(np.where(VL > 0, VL, np.nan))
        zx_ = (L - EL) / np.sqrt(np.where(VX > 0, VX, np.nan))
    cols = {"expectation": EL, "variance": VL, "z": z, "p": _normal_p(z, alternative),
            "variance_exact": VX, "z_exact": zx_, "p_exact": _normal_p(zx_, alternative)}
    null = None
    Zy = Yarr - Yarr.mean(axis=0) if (n_permutations or local) else None
    if n_permutations:
        cols["p_permutation"], null = _lee_perm_pvalues(
            zx, Zy, L, denom, weights, n_permutations, rng, alternative, pvalue_method,
            return_null, P["S2L"])
    note = np.where(VL <= 0, "non-positive variance under randomisation", "")
    table = _finish_table("L", L, const, cols, names, note)
    res = AutocorrResult("L", table, alternative, N, int(n_permutations), pvalue_method,
                         _weights_summary(weights), null)
    if local:
        with np.errstate(divide="ignore", invalid="ignore"):
            loc = N * lx[:, None] * (W @ Zy) / denom
        loc[:, const] = np.nan
        res.local = pd.DataFrame(loc, index=weights.ids, columns=names)
    return res
