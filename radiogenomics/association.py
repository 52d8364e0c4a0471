"""Mass-univariate imaging x expression association screen, parametric and by permutation.

For every pair (imaging feature ``x_j``, molecular feature ``y_k``) the screen tests
``H0: beta = 0`` in the linear model

    y_k = beta * x_j + Z gamma + e,

where ``Z`` holds an intercept and the covariates (categorical ones dummy coded).  By the
Frisch-Waugh-Lovell theorem the t statistic of ``beta`` equals

    t = r * sqrt(df / (1 - r^2)),   df = n - 2 - rank(Z without intercept),

with ``r`` the partial correlation, i.e. the Pearson correlation of the residuals of ``x_j``
and ``y_k`` after regression on ``Z``.  So one matrix product of residualised, standardised
blocks gives all p x q statistics, and the parametric p-values equal those of statsmodels
OLS ``y ~ x + covariates`` for each pair (``tests/test_association.py`` checks this to 1e-8
relative).  ``method="spearman"`` rank-transforms both blocks first (a rank-based partial
correlation; its t-based p-value is the usual large-sample approximation).

Permutation inference (``n_permutations > 0``) uses the Freedman-Lane scheme, the default of
PALM (Winkler et al. 2014, *NeuroImage* 92:381): the residuals of each ``y_k`` under the reduced
model ``y_k ~ Z`` are permuted (freely, within exchangeability blocks such as centre, or as
whole blocks), added back to the fitted values, and the full model is refitted.  The engine in
:mod:`radiogenomics.resampling` does this for all pairs and all permutations with chunked
matrix products (the p x q x B null is never stored), giving

* ``p_permutation = (1 + #{b: |t*_b| >= |t|}) / (1 + B)`` per pair (never 0), and
* ``p_fwer``, the max-T family-wise adjusted p-value (Westfall & Young 1993): the observed |t|
  against the distribution of the maximum |t*| over *all* pairs in each permutation.

Since every pair has the same degrees of freedom, |t| is monotone in |r| and the engine works on
partial correlations; ``null_max_t`` converts the max-|r| null back to |t|.

Multiple testing: ``correction`` chooses what ``adjusted`` (and ``n_significant``) means:
Benjamini-Hochberg q-values (``fdr_bh``), Bonferroni (both over all p x q pairs, equal to
statsmodels' ``multipletests``), or max-T (``maxT``, needs permutations).  The table always
has ``q``, the BH q-values of the permutation p-values when permutations were run (as in
PALM), else of the parametric ones (``fdr_on`` overrides).  Bonferroni always uses the
parametric p-values.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from ._checks import align_samples, check_finite, numeric_frame
from ._linalg import block_labels, design_by_block, design_matrix, residualise
from .cohort import Cohort, CohortValidationError
from .resampling import PermutationScheme, correlation_permutation_null, maxt_threshold

__all__ = ["associate", "AssociationResult", "adjust_pvalues", "design_matrix", "design_by_block",
           "residualise"]

CORRECTIONS = ("fdr_bh", "bonferroni", "maxT")
METHODS = ("pearson", "spearman", "limma")


def adjust_pvalues(p: np.ndarray, method: str = "fdr_bh") -> np.ndarray:
    """Multiple-testing adjusted p-values over all entries of ``p`` (any shape).

    ``fdr_bh``: Benjamini-Hochberg step-up q-values, q_(i) = min_{j >= i} m p_(j) / j, capped
    at 1; ``bonferroni``: min(1, m p).  Identical to
    :func:`statsmodels.stats.multitest.multipletests` (tested), about twice as fast on the
    tens of millions of pairs of a genome-wide screen.
    """
    flat = np.asarray(p, dtype=np.float64).ravel()
    m = flat.size
    if method == "bonferroni":
        return np.minimum(1.0, flat * m).reshape(np.shape(p))
    if method != "fdr_bh":
        raise ValueError(f"method must be 'fdr_bh' or 'bonferroni', got {method!r}")
    order = np.argsort(flat)
    ranked = flat[order] * (m / np.arange(1, m + 1))
    q_sorted = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    q = np.empty_like(flat)
    q[order] = q_sorted
    return q.reshape(np.shape(p))


def _residual_unit_columns(A: np.ndarray, Z: np.ndarray, name: str, columns,
                           policy: str) -> tuple[np.ndarray, np.ndarray]:
    """Residualise ``A`` on ``Z`` and scale each column to unit norm.

    A column whose residual norm is below 1e-10 of its norm has no variance left
    once the covariates are accounted for (constant on these samples, or a copy of a
    covariate): refused, or with ``policy="drop"`` removed.  Returns the unit columns and
    the boolean mask of columns kept.
    """
    R = residualise(A, Z)
    norm = np.sqrt(np.einsum("ij,ij->j", R, R))
    # relative to the column's own (uncentred) size: a constant column leaves only rounding
    # noise of that size, which would otherwise be scaled up to a unit vector
    scale = np.sqrt(np.einsum("ij,ij->j", A, A))
    bad = ~(norm > 1e-10 * np.maximum(scale, np.finfo(float).tiny))
    if bad.any() and policy == "raise":
        raise CohortValidationError(
            f"{name} feature(s) {list(np.asarray(columns)[bad][:5])} have no variance left on "
            f"these {A.shape[0]} samples after adjusting for the covariates (constant here, or a "
            "copy of a covariate); remove them or pass degenerate='drop' (listed in "
            "result.dropped_features)"
        )
    keep = ~bad
    return R[:, keep] / norm[keep], keep


_EMPTY_DROPPED = ("sample_id", "view", "reason")
_EMPTY_FEATURES = ("block", "feature", "reason")


@dataclass
class AssociationResult:
    """All-pairs association statistics between two blocks.

    Attributes
    ----------
    r : DataFrame
        Partial correlations, x features (rows) by y features (columns).
    t, pvalues : DataFrame
        t statistics and two-sided parametric p-values (equal to OLS ``y ~ x + covariates``).
    qvalues : DataFrame
        Benjamini-Hochberg q-values over all pairs, of the p-values named by ``fdr_on``
        (permutation p-values when permutations were run, else parametric).
    adjusted : DataFrame
        The p-values of the chosen ``correction`` (q-values, Bonferroni or max-T); pairs with
        ``adjusted <= alpha`` are the significant ones.
    p_permutation, p_fwer : DataFrame or None
        Freedman-Lane permutation p-values, per pair and max-T family-wise adjusted
        (None without permutations).
    null_max : ndarray or None
        Max |r| over all pairs in each permutation (the max-T null, length B);
        :attr:`null_max_t` gives it as |t|.
    df : int
        Residual degrees of freedom ``n - 2 - k``.
    n_samples, n_permutations : int
    method, correction, fdr_on : str
    permutation_scheme : str
        ``free``, ``within-block`` or ``whole-block`` (empty without permutations).
    exhaustive_permutations : bool
        True when the scheme had no more distinct permutations than requested + 1: all of them
        were enumerated (``n_permutations`` is then their number minus the identity) and the
        permutation p-values are exact.
    backend : str
        Backend of the permutation kernels.
    covariates : list of str
        Columns of the covariate design (excluding the intercept).
    dropped : DataFrame
        Samples removed by pairing (from :meth:`Cohort.paired`), empty for DataFrame input.
    dropped_features : DataFrame
        Features removed with ``degenerate="drop"`` (block, feature, reason).
    """

    r: pd.DataFrame
    t: pd.DataFrame
    pvalues: pd.DataFrame
    qvalues: pd.DataFrame
    adjusted: pd.DataFrame
    df: int
    n_samples: int
    method: str
    correction: str
    covariates: list[str]
    alpha: float = 0.05
    x_name: str = "x"
    y_name: str = "y"
    p_permutation: pd.DataFrame | None = None
    p_fwer: pd.DataFrame | None = None
    null_max: np.ndarray | None = None
    n_permutations: int = 0
    permutation_scheme: str = ""
    backend: str = ""
    exhaustive_permutations: bool = False
    fdr_on: str = "parametric"
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(_EMPTY_DROPPED)))
    dropped_features: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(_EMPTY_FEATURES)))

    @property
    def n_tests(self) -> int:
        return int(self.r.size)

    @property
    def n_significant(self) -> int:
        return int((self.adjusted.to_numpy() <= self.alpha).sum())

    @property
    def null_max_t(self) -> np.ndarray | None:
        """The max-T null distribution as |t| (``df`` degrees of freedom)."""
        return None if self.null_max is None else self.r_to_t(self.null_max)

    def fwer_threshold(self, alpha: float | None = None) -> float:
        """The |r| a pair must exceed to be significant by max-T at ``alpha``.

        Consistent with :attr:`p_fwer`: ``p_fwer <= alpha`` exactly for pairs with |r| above
        it (``inf`` when B is too small for any pair to reach ``alpha``, i.e. B + 1 < 1/alpha).
        """
        if self.null_max is None:
            raise ValueError("no permutations were run; call associate(..., n_permutations=B)")
        alpha = self.alpha if alpha is None else alpha
        return maxt_threshold(self.null_max, alpha, self.n_permutations)

    def r_to_t(self, r):
        """|t| of a partial correlation |r| with this screen's degrees of freedom."""
        r = np.minimum(np.abs(np.asarray(r, dtype=np.float64)), 1.0)
        with np.errstate(divide="ignore"):
            return r * np.sqrt(self.df / np.maximum(1.0 - r * r, np.finfo(float).tiny))

    def to_frame(self, top: int | None = None, significant_only: bool = False,
                 sort_by: str | None = None) -> pd.DataFrame:
        """Tidy table, most significant first.

        Columns: feature_x, feature_y, r, t, df, p_parametric, p_permutation, p_fwer (NaN
        without permutations), q (BH, of the p-values named by ``fdr_on``), and p_bonferroni
        with ``correction="bonferroni"``.

        Parameters
        ----------
        top : int, optional
            Keep the ``top`` first rows (recommended for large screens).
        significant_only : bool
            Keep pairs with ``adjusted <= alpha``.
        sort_by : {"p_permutation", "p_parametric"}, optional
            Default: the p-values behind ``adjusted``: ``p_permutation`` (ties broken by the
            parametric p-value, i.e. by |t|) for BH on permutation p-values, else
            ``p_parametric`` (for max-T the same order as ``p_fwer``).
        """
        p = self.pvalues.to_numpy()
        flat = p.ravel()
        if sort_by is None:
            sort_by = ("p_permutation" if self.correction == "fdr_bh" and self.fdr_on == "permutation"
                       else "p_parametric")
        if sort_by not in ("p_permutation", "p_parametric"):
            raise ValueError(f"sort_by must be 'p_permutation' or 'p_parametric', got {sort_by!r}")
        if sort_by == "p_permutation" and self.p_permutation is None:
            raise ValueError("no permutation p-values: run associate(..., n_permutations=B)")
        perm_flat = None if self.p_permutation is None else self.p_permutation.to_numpy().ravel()

        def order_of(ix):
            if sort_by == "p_parametric":
                return ix[np.argsort(flat[ix], kind="stable")]
            return ix[np.lexsort((flat[ix], perm_flat[ix]))]

        if significant_only:
            idx = order_of(np.flatnonzero(self.adjusted.to_numpy().ravel() <= self.alpha))
        elif top is not None and top < flat.size and sort_by == "p_parametric":
            idx = order_of(np.argpartition(flat, top)[:top])
        else:
            idx = order_of(np.arange(flat.size))
        if top is not None:
            idx = idx[:top]
        i, j = np.unravel_index(idx, p.shape)

        def pick(M):
            return np.full(len(idx), np.nan) if M is None else M.to_numpy()[i, j]

        out = pd.DataFrame(
            {
                "feature_x": self.r.index.to_numpy()[i],
                "feature_y": self.r.columns.to_numpy()[j],
                "r": self.r.to_numpy()[i, j],
                "t": self.t.to_numpy()[i, j],
                "df": self.df,
                "p_parametric": flat[idx],
                "p_permutation": pick(self.p_permutation),
                "p_fwer": pick(self.p_fwer),
                "q": self.qvalues.to_numpy()[i, j],
            }
        )
        if self.correction == "bonferroni":
            out["p_bonferroni"] = self.adjusted.to_numpy()[i, j]
        return out

    def to_csv(self, path, top: int | None = None, significant_only: bool = False):
        """Write :meth:`to_frame` to ``path`` atomically (an interrupted write leaves no file)."""
        from .report import atomic_write

        table = self.to_frame(top=top, significant_only=significant_only)
        return atomic_write(path, lambda tmp: table.to_csv(tmp, index=False))

    _r_label = "r"

    def _model_lines(self) -> list[str]:
        """The summary's lines describing the model (subclasses describe theirs)."""
        return [f"  n = {self.n_samples}, df = {self.df}, method = {self.method}, "
                f"covariates = {', '.join(self.covariates) or 'none'}"]

    def _threshold_text(self, thr: float) -> str:
        """The max-T threshold ``thr`` (from :meth:`fwer_threshold`) in words."""
        return (f"|r| > {thr:.3f} (|t| > {float(self.r_to_t(thr)):.2f})" if np.isfinite(thr)
                else f"none reachable (B + 1 < 1/{self.alpha}: raise B)")

    def summary(self) -> str:
        adj = self.adjusted.to_numpy() <= self.alpha
        lines = [
            f"Association screen: {self.x_name} ({self.r.shape[0]} features) x "
            f"{self.y_name} ({self.r.shape[1]} features)",
            *self._model_lines(),
        ]
        if self.n_permutations:
            thr_text = self._threshold_text(self.fwer_threshold())
            lines.append(
                f"  {self.n_permutations} Freedman-Lane permutations ({self.permutation_scheme}, "
                f"{'all distinct ones enumerated, exact p-values, ' if self.exhaustive_permutations else ''}"
                f"{self.backend}); smallest attainable p = 1/(1+B) = "
                f"{1 / (1 + self.n_permutations):.2g}; max-T significance at {self.alpha}: {thr_text}")
        if self.fdr_on == "permutation" and self.n_permutations:
            floor_q = self.n_tests / (1 + self.n_permutations)  # q of the smallest p at rank 1
            if floor_q > self.alpha:
                lines.append(
                    f"  note: BH on permutation p-values needs about {floor_q / self.alpha:.0f} pairs "
                    f"at p = 1/(1+B) to reject anything at q <= {self.alpha}; raise B or use maxT")
        basis = {"fdr_bh": f"BH q of the {self.fdr_on} p-values",
                 "bonferroni": f"Bonferroni of the {self.fdr_on} p-values",
                 "maxT": "max-T family-wise p-values"}[self.correction]
        lines += [
            f"  {self.n_tests} tests; {basis} <= {self.alpha}: {self.n_significant} pairs, "
            f"{int(adj.any(axis=1).sum())} {self.x_name} features, "
            f"{int(adj.any(axis=0).sum())} {self.y_name} features",
            f"  max |{self._r_label}| = {np.nanmax(np.abs(self.r.to_numpy())):.3f}; "
            f"samples dropped by pairing: {len(self.dropped)}; "
            f"features dropped: {len(self.dropped_features)}",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "AssociationResult\n" + self.summary()


def _blocks_for(blocks, index: pd.Index, centre: pd.Series | None) -> np.ndarray | None:
    """Exchangeability block labels aligned to ``index`` (sample IDs)."""
    return block_labels(blocks, index, centre=centre)


def _t_pvalues(t: np.ndarray, dof: int) -> np.ndarray:
    """Two-sided Student-t p-values ``2 * stdtr(dof, -|t|)`` (= ``2 * stats.t.sf(|t|, dof)``).

    The tail probability costs about 0.25 us per pair, seconds for a genome-wide screen, so
    large inputs are split over threads (the ufunc releases the GIL; results are identical).
    """
    flat = -np.abs(np.asarray(t, dtype=np.float64)).ravel()
    out = np.empty_like(flat)
    workers = min(os.cpu_count() or 1, flat.size // 250_000)
    if workers <= 1:
        special.stdtr(dof, flat, out=out)
    else:
        bounds = np.linspace(0, flat.size, workers + 1).astype(int)
        with ThreadPoolExecutor(workers) as ex:
            list(ex.map(lambda i: special.stdtr(dof, flat[bounds[i]:bounds[i + 1]],
                                                out=out[bounds[i]:bounds[i + 1]]), range(workers)))
    return (2.0 * out).reshape(np.shape(t))


def _prepare_block(A: pd.DataFrame, name: str) -> np.ndarray:
    """Values of a validated block; NaN/inf refused with samples and features named (the screen
    needs complete pairs: scattered missing values, e.g. from Cohort(nan_policy="keep"), must be
    imputed or dropped first)."""
    values = A.to_numpy(dtype=np.float64)
    check_finite(values, A.index, A.columns, name,
                 "the association screen needs complete data: drop or impute them first "
                 "(Cohort nan_policy='drop_samples', 'drop_features' or 'impute_median'; "
                 "nan_policy='keep' is for methods that model missing values, such as MOFA+)")
    return values


def associate(
    X: pd.DataFrame | Cohort,
    Y: pd.DataFrame | None = None,
    covariates: pd.DataFrame | None = None,
    *,
    x: str | None = None,
    y: str | None = None,
    adjust_centre: bool = True,
    method: str = "pearson",
    n_permutations: int = 0,
    exchangeability_blocks=None,
    whole_blocks: bool = False,
    covariates_by_block: bool = False,
    correction: str = "fdr_bh",
    fdr_on: str | None = None,
    alpha: float = 0.05,
    degenerate: str = "raise",
    rng=None,
    backend: str = "auto",
    batch: int | None = None,
    progress: bool | None = None,
    counts: str | bool = "auto",
    voom: bool | None = None,
    trend: bool | None = None,
    robust: bool = False,
    normalization: str = "TMM",
    prior_count: float = 3.0,
    client=None,
) -> AssociationResult:
    """Test every imaging feature against every molecular feature, adjusting for covariates.

    Parameters
    ----------
    X : DataFrame or Cohort
        Samples x imaging features, or a :class:`Cohort` (then give view names ``x``, ``y``).
    Y : DataFrame
        Samples x molecular features (same sample IDs as ``X``) when ``X`` is a DataFrame.
    covariates : DataFrame, optional
        Covariates to adjust for; with a Cohort, the cohort's covariates are used unless
        ``covariates`` is given.
    x, y : str
        View names when ``X`` is a Cohort.
    adjust_centre : bool
        With a Cohort that has a centre, add centre (dummy coded) to the covariates.
    method : {"pearson", "spearman", "limma"}
        ``"limma"``: limma's empirical-Bayes moderated t per gene (voom precision weights when
        the y view holds counts), equal to ``topTable(eBayes(lmFit(...)))`` for each imaging
        feature; returns a :class:`~radiogenomics.expression.ModeratedAssociationResult`
        (see :mod:`radiogenomics.expression.moderated`).  Permutations and max-T then work on
        the moderated t, the prior re-estimated in every permutation.
    n_permutations : int
        Freedman-Lane permutations B (0: parametric inference only).  1,000 resolves
        p-values down to 1/1001; use 10,000 for max-T at small alpha.
    exchangeability_blocks : "centre", Series or array-like, optional
        Permute only within these blocks (a Series is aligned by sample ID; ``"centre"`` uses
        the Cohort's centre).  Use it for multi-centre data whose residual spread differs by
        centre (free permutation then loses error control: max-T FWER 0.09-0.78 at alpha 0.05
        in the validity simulations), together with ``covariates_by_block=True``; keep centre
        among the covariates too (``adjust_centre``).
    whole_blocks : bool
        Permute blocks as whole units instead: blocks of equal size, each keeping the row order
        of its members in the data (so sort the rows consistently, e.g. by visit, when blocks
        are patients with repeated scans).
    covariates_by_block : bool
        Fit the covariates (intercept included) separately within each exchangeability block
        (:func:`design_by_block`).  Recommended whenever centres may differ in residual
        spread: with covariate slopes pooled across centres, residuals of a noisy centre leak
        into the others and within-centre permutation becomes liberal in small centres (max-T
        FWER 0.067 / 0.071 at alpha 0.05 with SD ratios 1.6 / 3 and 10 patients per centre);
        with per-centre slopes it was 0.052 / 0.046 (``benchmarks/validity_resampling.py``,
        2,000 datasets each; figures in ``benchmarks/README.md``).  Costs k degrees of freedom
        per extra block.  Needs ``exchangeability_blocks`` (not ``whole_blocks``).
    correction : {"fdr_bh", "bonferroni", "maxT"}
        What ``adjusted`` holds and ``n_significant`` counts: BH q-values or Bonferroni-adjusted
        p-values (both of the p-values named by ``fdr_on``: the permutation p-values when
        permutations are run), or max-T family-wise p-values (needs permutations).
    fdr_on : {"permutation", "parametric"}, optional
        Which p-values the BH q-values (column ``q``) and Bonferroni are computed from; default: the
        permutation p-values when permutations are run, else the parametric ones.  The
        parametric p-values assume normal, homoscedastic residuals: with centres that differ
        in residual spread they are anti-conservative (the validity simulations in
        ``tests/test_validity.py`` show BH's FDR far above its level there), while
        within-centre permutation p-values stay valid.  BH on permutation p-values can only
        reject pairs with ``p_permutation <= alpha k / m``; the smallest is ``1 / (1 + B)``, so
        a screen of m pairs needs B of the order of ``m / (alpha k)``; otherwise rely on max-T.
    alpha : float
        Level used by :attr:`AssociationResult.n_significant` and ``summary()``.
    degenerate : {"raise", "drop"}
        A feature with no variance left on the analysed samples after covariate adjustment
        (common with partially paired views: constant on the paired subset) is refused, or
        with ``"drop"`` removed and listed in ``result.dropped_features``.
    rng : int, Generator, BitGenerator, SeedSequence or None
        Seed of the permutations (SPEC 7); the same seed gives the same p-values on every
        backend, batch size and thread count.  When the scheme has no more than
        ``n_permutations + 1`` distinct permutations (e.g. n <= 6 free, or few small blocks)
        all of them are enumerated instead (``exhaustive_permutations``): the p-values are
        exact and do not depend on the seed.
    backend : {"auto", "numpy", "numba", "cupy"}
        Where the permutation kernels run (see :mod:`radiogenomics.resampling.backend`).
    batch : int, optional
        Permutations per chunk (memory is about ``batch * (p + k) * (q + 2 n) * 8`` bytes on
        NumPy/CuPy, ``batch * (p + k) * 2 n * 8`` with Numba, which works in cache-sized tiles
        of y features); default fills 128 MB on the CPU, 2 GB on a GPU.
    progress : bool, optional
        Progress bar over permutations (default: only for long runs).
    client : None, "local", str, distributed.Client or Dask cluster
        Run the permutations as Dask tasks on a cluster: ``"local"``, a scheduler address
        (``"tcp://host:8786"``), a Client (e.g. on a dask-jobqueue ``SLURMCluster``) or a
        cluster object (see :mod:`radiogenomics.distributed`).  The permutations are drawn
        here from ``rng`` exactly as without a client; each task reduces its chunk to
        exceedance counts and per-permutation maxima, so ``p_permutation``, ``p_fwer`` and
        ``null_max`` are identical to ``client=None`` for any number of workers.  Default:
        this process.

    counts, voom, trend, robust, normalization, prior_count
        Only with ``method="limma"``.  ``counts``: whether ``y`` holds RNA-seq counts
        (``"auto"``: all values non-negative whole numbers).  Counts are normalised
        (``normalization``: edgeR's ``"TMM"``, ``"TMMwsp"``, ``"RLE"``, ``"upperquartile"`` or
        ``"none"``) and analysed as log-CPM with voom weights (``voom``, default: with counts
        and without permutations) or, with permutations, as limma-trend on log-CPM with
        ``prior_count`` (default 3, limma's user guide).  ``trend``: the prior variance follows
        average expression (default: True for counts without voom).  ``robust``: robust
        empirical Bayes (outlier genes).  Filter lowly expressed genes first
        (:func:`radiogenomics.expression.filter_by_expr`).

    Returns
    -------
    AssociationResult

    Notes
    -----
    See the module docstring for the model.  ``p_parametric`` equals the OLS t-test p-value
    of ``x`` in ``y ~ x + covariates``.  Samples present in only one block are removed by
    :meth:`Cohort.paired` and listed in ``result.dropped``; DataFrames must already share
    their sample IDs (a mismatch raises an error naming the IDs).  Ctrl-C during the
    permutations stops the run cleanly (KeyboardInterrupt, nothing returned or written).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {CORRECTIONS}, got {correction!r}")
    if degenerate not in ("raise", "drop"):
        raise ValueError(f"degenerate must be 'raise' or 'drop', got {degenerate!r}")
    if fdr_on is None:
        fdr_on = "permutation" if n_permutations else "parametric"
    if fdr_on not in ("parametric", "permutation"):
        raise ValueError(f"fdr_on must be 'parametric' or 'permutation', got {fdr_on!r}")
    if (isinstance(n_permutations, (bool, np.bool_)) or not isinstance(n_permutations, (int, np.integer))
            or n_permutations < 0):
        raise ValueError(f"n_permutations must be a non-negative integer, got {n_permutations!r}")
    n_permutations = int(n_permutations)
    if n_permutations == 0 and correction == "maxT":
        raise ValueError("correction='maxT' needs permutations: pass n_permutations (e.g. 1000; "
                         "--permutations on the command line)")
    if n_permutations == 0 and fdr_on == "permutation":
        raise ValueError("fdr_on='permutation' needs permutations: pass n_permutations (e.g. 1000)")
    if covariates_by_block and (exchangeability_blocks is None or whole_blocks):
        raise ValueError("covariates_by_block=True needs exchangeability_blocks (within-block "
                         "permutation; not whole_blocks)")
    if n_permutations == 0 and (exchangeability_blocks is not None or whole_blocks):
        raise ValueError("exchangeability_blocks/whole_blocks only apply to permutations: "
                         "pass n_permutations (e.g. 1000)")
    centre = cohort_centre = None
    dropped = pd.DataFrame(columns=list(_EMPTY_DROPPED))
    x_name, y_name = "x", "y"
    if isinstance(X, Cohort):
        if x is None or y is None:
            raise ValueError("with a Cohort, name the two views: associate(cohort, x='radiomics', y='expression')")
        paired = X.paired(x, y)
        Xdf, Ydf = paired[x], paired[y]
        if covariates is None:
            covariates = paired.covariates
        cohort_centre = paired.centre
        if adjust_centre and paired.centre is not None and paired.centre.nunique() > 1:
            centre = paired.centre
        dropped = paired.dropped
        x_name, y_name = x, y
    else:
        if Y is None:
            raise ValueError("give Y (a DataFrame) or pass a Cohort with x= and y= view names")
        if not isinstance(X, pd.DataFrame) or not isinstance(Y, pd.DataFrame):
            raise CohortValidationError(
                "X and Y must be DataFrames indexed by sample ID (or pass a Cohort with x= and y=)")
        Xdf = numeric_frame(X, "X", string_ids=False)
        Ydf = numeric_frame(Y, "Y", string_ids=False)
        Ydf = align_samples(
            {"X": Xdf, "Y": Ydf},
            fix="align them or build a Cohort and use associate(cohort, x=..., y=...), which "
                "reports what it drops")["Y"]
        if covariates is not None:
            if isinstance(covariates, pd.Series):
                covariates = covariates.to_frame()
            if not isinstance(covariates, pd.DataFrame):
                raise CohortValidationError("covariates must be a DataFrame indexed by sample ID")
            if covariates.index.hasnans or covariates.index.duplicated().any():
                raise CohortValidationError(
                    "covariates have missing or duplicated sample IDs; give one row per sample")
    for name, df in (("X", Xdf), ("Y", Ydf)):
        if df.index.duplicated().any():
            raise CohortValidationError(f"{name} has duplicated sample IDs; de-duplicate them")
    Z = design_matrix(covariates, Xdf.index, centre)
    blocks = _blocks_for(exchangeability_blocks, Xdf.index, cohort_centre)
    if covariates_by_block:
        Z = design_by_block(Z, blocks)
    n = len(Xdf)
    k = Z.shape[1] - 1
    dof = n - 2 - k  # >= 1, checked by design_matrix
    cohort_input = isinstance(X, Cohort)
    if method == "limma":
        from .expression.moderated import moderated_association

        if client is not None and n_permutations:
            raise ValueError("client= runs the permutations of method='pearson'/'spearman' on "
                             "Dask; method='limma' permutes in this process: leave client=None")

        _prepare_block(Xdf, f"view {x_name!r} (x)" if cohort_input else "X")
        _prepare_block(Ydf, f"view {y_name!r} (y)" if cohort_input else "Y")
        return moderated_association(
            Xdf, Ydf, Z, counts=counts, voom=voom, trend=trend, robust=robust,
            normalization=normalization, prior_count=prior_count, n_permutations=n_permutations,
            blocks=blocks, whole_blocks=whole_blocks, rng=rng, progress=progress,
            correction=correction, fdr_on=fdr_on, alpha=alpha, degenerate=degenerate,
            x_name=x_name, y_name=y_name, dropped=dropped)
    if counts != "auto" or voom is not None or trend is not None or robust:
        raise ValueError("counts, voom, trend and robust apply to method='limma' only")
    A = _prepare_block(Xdf, f"view {x_name!r} (x)" if cohort_input else "X")
    B = _prepare_block(Ydf, f"view {y_name!r} (y)" if cohort_input else "Y")
    if method == "spearman":
        A = stats.rankdata(A, axis=0)
        B = stats.rankdata(B, axis=0)
    Zv = Z.to_numpy()
    Ra, keep_a = _residual_unit_columns(A, Zv, "X", Xdf.columns, degenerate)
    Rb, keep_b = _residual_unit_columns(B, Zv, "Y", Ydf.columns, degenerate)
    dropped_features = pd.DataFrame(
        [{"block": x_name, "feature": f, "reason": "no variance after covariate adjustment"}
         for f in Xdf.columns[~keep_a]]
        + [{"block": y_name, "feature": f, "reason": "no variance after covariate adjustment"}
           for f in Ydf.columns[~keep_b]],
        columns=list(_EMPTY_FEATURES),
    )
    Xdf, Ydf = Xdf.loc[:, keep_a], Ydf.loc[:, keep_b]
    r = np.clip(Ra.T @ Rb, -1.0, 1.0)
    with np.errstate(divide="ignore"):
        t = r * np.sqrt(dof / np.maximum(1.0 - r * r, np.finfo(float).tiny))
    p = _t_pvalues(t, dof)
    frame = lambda M: pd.DataFrame(M, index=Xdf.columns, columns=Ydf.columns)  # noqa: E731

    p_perm = p_fwer = null_max = None
    scheme_kind = backend_used = ""
    exhaustive = False
    if n_permutations:
        scheme = PermutationScheme(n, blocks, whole_blocks)
        Q, _ = np.linalg.qr(Zv)
        null = correlation_permutation_null(
            Ra, Rb, Q, r, n_resamples=n_permutations, scheme=scheme, rng=rng, backend=backend,
            batch=batch, progress=progress, client=client)
        exhaustive, n_permutations = null.exhaustive, null.n_resamples
        p_perm, p_fwer = null.pvalues, null.fwer_pvalues(np.abs(r))
        null_max, scheme_kind, backend_used = null.null_max, null.scheme, null.backend
    q = adjust_pvalues(p_perm if fdr_on == "permutation" else p, "fdr_bh")
    adjusted = {"fdr_bh": q, "maxT": p_fwer}.get(correction)
    if correction == "bonferroni":
        adjusted = adjust_pvalues(p_perm if fdr_on == "permutation" else p, "bonferroni")
    return AssociationResult(
        r=frame(r), t=frame(t), pvalues=frame(p), qvalues=frame(q), adjusted=frame(adjusted),
        df=int(dof), n_samples=n, method=method, correction=correction,
        covariates=list(Z.columns[1:]), alpha=alpha, x_name=x_name, y_name=y_name,
        p_permutation=None if p_perm is None else frame(p_perm),
        p_fwer=None if p_fwer is None else frame(p_fwer), null_max=null_max,
        n_permutations=n_permutations, permutation_scheme=scheme_kind, backend=backend_used,
        exhaustive_permutations=exhaustive, fdr_on=fdr_on, dropped=dropped, dropped_features=dropped_features,
    )
