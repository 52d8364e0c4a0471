"""Spot-level association of imaging maps with genes under spatially constrained nulls.

The question "which genes co-localise with this imaging signal?" on spot data (Visium-type
spatial transcriptomics registered to an imaging map) is a correlation screen across spots.
Neighbouring spots are correlated, in the map and in every smooth gene, so permuting spots
freely (or the t-test, which assumes independent spots) gives a null far too narrow: a smooth
gene and a smooth map that are independent correlate strongly by chance.  The spatial nulls
keep the map's autocorrelation in every resample:

==============  ====================================================================  =========
null            the surrogate map                                                      sections
==============  ====================================================================  =========
``torus``       shift of the map on a complete (square or Visium hex) lattice closed   full
                by reflection (:func:`~.nulls.torus_shifts`)                           lattice
``spin``        rotation of the section about its centre; each spot takes the value    circular
                of the nearest rotated spot (Alexander-Bloch et al. 2018, in 2D)
``msr``         Moran spectral randomisation: the map's coefficients on the Moran      any
                eigenvector maps randomised (Wagner & Dray 2015; BrainSpace)
``variogram``   permuted, smoothed and rescaled to the map's variogram                 any
                (Burt et al. 2020; brainsmash 0.11 ``Base``)
``permutation`` spots permuted freely within sections (the naive null: shown, not
                recommended)
==============  ====================================================================  =========

Validity (``benchmarks/validity_spatial.py``: independent smooth Gaussian fields of 1.5, 3
and 6 spot spacings, 200 null studies each, max-T over 12 genes at 0.05): free permutation
and the t-test reach a family-wise error of 0.59-0.88; ``spin`` stays within its binomial
interval at every length scale; ``variogram`` and ``torus`` (lattice closed by reflection,
:func:`~.nulls.torus_shifts`) up to 3 spacings, and are liberal (0.105, 95% CI 0.066-0.156)
when the length scale reaches half the section; ``msr`` is slightly liberal at the
intermediate scale (0.09, 95% CI 0.054-0.139; per test 0.075), as Markello & Misic (2021,
NeuroImage 236:118052) found for MSR with strong autocorrelation (its ``procedure="pair"``
is far worse: 0.27, ``validity_spatial.py --msr-variants``).
Prefer ``spin`` for roughly circular sections (short-axis slices), ``variogram`` or ``msr``
otherwise, and report more than one.

Each section is resampled on its own (sections are exchangeability blocks: no spot ever takes
a value from another section), with one independent seed per section drawn from ``rng``, and
the statistic is the Pearson correlation of the map and each gene after centring both within
sections (the section means are nuisance).  The surrogate maps go through the toolkit's
resampling engine (:func:`radiogenomics.resampling.surrogate_correlation_null`: NumPy, Numba
or CuPy; chunked; max over genes inside the chunk) for per-gene p-values
``(1 + #{|r*| >= |r|}) / (1 + B)`` and family-wise (max-T) p-values over all genes (Westfall &
Young 1993).  :func:`pseudobulk_association` is the conservative alternative at the section
level, and Dutilleul's modified t-test (:mod:`radiogenomics.spatial.dutilleul`) a fast
parametric check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._checks import InputError, check_rng, listing
from ..association import _t_pvalues, adjust_pvalues
from ..resampling import PermutationScheme, maxt_pvalues, surrogate_correlation_null
from ..resampling.indices import _block_codes

__all__ = ["NULLS", "SpatialAssociationResult", "spatial_association", "spatial_surrogates",
           "PseudobulkResult", "pseudobulk_association"]

#: the spatial nulls and the naive one
NULLS = ("msr", "spin", "torus", "variogram", "permutation")

_NULL_WORDS = {
    "msr": "Moran spectral randomisation",
    "spin": "spin rotations",
    "torus": "toroidal shifts",
    "variogram": "variogram-matched surrogates",
    "permutation": "free permutation of spots (naive)",
}


# ------------------------------------------------------------------------------ inputs

def _section_codes(sections, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Section names (sorted as text) and each spot's code, through the resampling engine's
    block coding (which refuses missing labels)."""
    if sections is None:
        return np.array(["section"]), np.zeros(n, dtype=np.intp)
    labels = np.asarray(sections, dtype=object)
    if labels.shape != (n,):
        raise InputError(f"sections has {labels.size} labels for {n} spots; give one per spot")
    codes, names = _block_codes(pd.array(labels, dtype="string"), n, "sections")
    return names.astype(str), codes


def _maps_frame(image_values, spot_index: pd.Index) -> pd.DataFrame:
    """The imaging map(s) as a spots x maps frame aligned to the spots."""
    if isinstance(image_values, pd.Series):
        frame = image_values.to_frame(image_values.name if image_values.name is not None
                                      else "imaging")
    elif isinstance(image_values, pd.DataFrame):
        frame = image_values
    else:
        arr = np.asarray(image_values, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.shape[0] != len(spot_index):
            raise InputError(f"the imaging values have {arr.shape[0]} rows for "
                             f"{len(spot_index)} spots; give one value per spot (or a Series "
                             "indexed by spot id)")
        return pd.DataFrame(arr, index=spot_index,
                            columns=["imaging"] if arr.shape[1] == 1 else
                            [f"imaging_{j}" for j in range(arr.shape[1])])
    missing = spot_index.difference(frame.index)
    if len(missing):
        raise InputError(f"the imaging values have no entry for spot(s) {listing(missing)}; "
                         "sample the map at every spot (sample_image_at_spots) or pass NaN "
                         "for spots to leave out")
    return frame.reindex(spot_index).astype(np.float64)


def _section_rows(codes: np.ndarray, n_sections: int):
    """Each section's rows: a slice when they are contiguous (spots stored section by section,
    as concatenated AnnData objects are), else their indices."""
    for s in range(n_sections):
        rows = np.flatnonzero(codes == s)
        if rows.size and rows[-1] - rows[0] + 1 == rows.size:
            yield slice(int(rows[0]), int(rows[-1]) + 1)
        else:
            yield rows


def _centre_unit(M: np.ndarray, codes: np.ndarray, n_sections: int, axis_last: bool = False):
    """Centre the columns (the last axis's series if ``axis_last``) within sections and scale
    them to unit norm, in one copy of ``M`` (section by section: no n x q temporaries).

    Returns the scaled array and the norms before scaling (0 for a constant column)."""
    X = np.array(M, dtype=np.float64, order="C", copy=True)
    if not axis_last:
        X2 = X.reshape(X.shape[0], -1)
        for rows in _section_rows(codes, n_sections):
            if isinstance(rows, slice):          # contiguous: centred in place
                X2[rows] -= X2[rows].mean(axis=0)
                continue
            block = X2[rows]
            block -= block.mean(axis=0)
            X2[rows] = block
        norms = np.sqrt(np.einsum("ij,ij->j", X2, X2))
        X2 /= np.where(norms > 0, norms, 1.0)
        return X, norms.reshape(X.shape[1:])
    X2 = X.reshape(-1, X.shape[-1])
    for cols in _section_rows(codes, n_sections):
        if isinstance(cols, slice):
            X2[:, cols] -= X2[:, cols].mean(axis=1, keepdims=True)
            continue
        block = X2[:, cols]
        block -= block.mean(axis=1, keepdims=True)
        X2[:, cols] = block
    norms = np.sqrt(np.einsum("ij,ij->i", X2, X2))
    X2 /= np.where(norms > 0, norms, 1.0)[:, None]
    return X, norms.reshape(X.shape[:-1])


# --------------------------------------------------------------------------- surrogates

def _child_generators(rng, k: int) -> list[np.random.Generator]:
    """``k`` independent generators from ``rng`` (numpy 1.24 has no ``Generator.spawn``)."""
    gen = check_rng(rng)
    seq = np.random.SeedSequence(gen.integers(0, 2 ** 63, size=4, dtype=np.int64).tolist())
    return [np.random.default_rng(s) for s in seq.spawn(k)]


def _section_surrogates(null: str, X: np.ndarray, coords: np.ndarray, grid, B: int, gen,
                        opts: dict) -> np.ndarray:
    """(B, p, n_s) surrogate maps of one section's maps ``X`` (n_s, p)."""
    from . import nulls

    n_s, p = X.shape
    if null == "permutation":
        idx = np.stack([gen.permutation(n_s) for _ in range(B)])
        return np.transpose(X[idx], (0, 2, 1))
    if null == "torus":
        if grid is None:
            raise InputError("null='torus' needs the spots' lattice positions (array_row / "
                             "array_col in the AnnData obs, SpotData.grid); without them use "
                             "null='msr', 'spin' or 'variogram'")
        idx = nulls.torus_shifts(grid, B, rng=gen, exhaustive=False).indices
        return np.transpose(X[idx], (0, 2, 1))
    if null == "spin":
        idx = nulls.spin_permutations(coords, B, rng=gen, **opts).indices
        return np.transpose(X[idx], (0, 2, 1))
    if null == "msr":
        from .weights import knn_weights

        w = opts.get("weights")
        if w is None:
            w = knn_weights(coords, k=opts.get("k", 6), style="W")
        extra = {k: v for k, v in opts.items() if k not in ("weights", "k")}
        S = np.asarray(nulls.msr_surrogates(X, w, B, rng=gen, **extra).values, dtype=np.float64)
        if S.ndim == 2:
            S = S[:, :, None]
        return np.transpose(S, (0, 2, 1))
    if null == "variogram":
        if opts.get("method") == "sampled":   # brainsmash Sampled: defaults capped per section
            opts = {"knn": min(1000, n_s - 1), "ns": min(500, n_s), **opts}
        out = np.empty((B, p, n_s))
        for j in range(p):
            out[:, j, :] = nulls.variogram_surrogates(X[:, j], coords, B, rng=gen, **opts).values
        return out
    raise InputError(f"null must be one of {NULLS}, got {null!r}")


def spatial_surrogates(values, coords, *, null: str = "msr", n_surrogates: int = 1000,
                       sections=None, grid=None, rng=None, null_options: dict | None = None
                       ) -> np.ndarray:
    """Surrogate maps of ``values`` under a spatial null, each section resampled on its own.

    Parameters
    ----------
    values : (n,) or (n, p) array
        The map(s) at the spots.
    coords : (n, 2) array
        Spot centres.
    null : {"msr", "spin", "torus", "variogram", "permutation"}
    n_surrogates : int
    sections : (n,) labels or None
        Exchangeability blocks: each section's surrogates come from that section only, with a
        seed of its own (spawned from ``rng`` in the order of the sorted section labels).
    grid : (n, 2) int array or None
        Lattice positions (``torus`` only).
    rng : int or numpy.random.Generator (SPEC 7)
    null_options : dict
        Passed to the section's generator (e.g. ``{"k": 6}`` or ``{"weights": W}`` for
        ``msr``; ``{"method": "hungarian"}`` for ``spin``; ``{"method": "sampled"}`` for
        ``variogram``: brainsmash's ``Sampled`` on k nearest neighbours, for large sections,
        with ``knn`` and ``ns`` capped at each section's size unless given).

    Returns
    -------
    ndarray (B, p, n)
    """
    X = np.asarray(values, dtype=np.float64)
    X = X[:, None] if X.ndim == 1 else X
    coords = np.asarray(coords, dtype=np.float64)
    n = X.shape[0]
    names, codes = _section_codes(sections, n)
    gens = _child_generators(rng, len(names))
    out = np.empty((n_surrogates, X.shape[1], n))
    for s in range(len(names)):
        rows = np.flatnonzero(codes == s)
        g = None if grid is None else np.asarray(grid)[rows]
        out[:, :, rows] = _section_surrogates(null, X[rows], coords[rows], g, n_surrogates,
                                              gens[s], dict(null_options or {}))
    return out


# ------------------------------------------------------------------------------ result

@dataclass
class SpatialAssociationResult:
    """Imaging map(s) x genes across spots, with a spatial null.

    Attributes
    ----------
    table : DataFrame
        One row per (map, gene): ``r`` (correlation after centring within sections),
        ``p_naive`` (t-test with n - S - 1 df, spots treated as independent),
        ``q_naive`` (its Benjamini-Hochberg q), ``p_spatial`` (per-gene surrogate p-value),
        ``p_fwer`` (max-T over all pairs under the spatial null), and where computed
        ``p_dutilleul`` / ``ess`` (modified t-test).
    null : str
        The spatial null used.
    n_resamples : int
    null_max : ndarray (B,)
        max |r*| over all pairs per surrogate (the max-T null).
    null_r : DataFrame
        Surrogate correlations (B rows) of the strongest pairs, for plots.
    dropped : DataFrame
        Spots and genes left out, with the reason.
    n_spots, n_sections : int
    backend : str
    """

    table: pd.DataFrame
    null: str
    n_resamples: int
    null_max: np.ndarray
    null_r: pd.DataFrame
    dropped: pd.DataFrame
    n_spots: int
    n_sections: int
    backend: str
    alpha: float = 0.05
    details: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def significant(self, alpha: float | None = None) -> pd.DataFrame:
        """Pairs with max-T p-value <= alpha, strongest first."""
        a = self.alpha if alpha is None else alpha
        return self.table[self.table["p_fwer"] <= a].sort_values("p_fwer")

    def fwer_threshold(self, alpha: float | None = None) -> float:
        from ..resampling import maxt_threshold

        return maxt_threshold(self.null_max, self.alpha if alpha is None else alpha,
                              self.n_resamples)

    def summary(self) -> str:
        t = self.table
        lines = [f"Spatial association: {t['map'].nunique()} map(s) x {t['gene'].nunique()} "
                 f"genes on {self.n_spots} spots in {self.n_sections} section(s)",
                 f"null: {_NULL_WORDS.get(self.null, self.null)}, B = {self.n_resamples} "
                 f"(backend {self.backend})",
                 f"significant at FWER {self.alpha}: {int((t['p_fwer'] <= self.alpha).sum())}"
                 f" pairs (naive t-test, BH q <= {self.alpha}: "
                 f"{int((t['q_naive'] <= self.alpha).sum())})"]
        if len(self.dropped):
            lines.append(f"left out: {len(self.dropped)} spot(s)/gene(s) (see .dropped)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<SpatialAssociationResult\n{self.summary()}>"


def _expression_of(spots):
    """(expression frame, coords, sections, grid, spot index) from a SpotData or a mapping."""
    expr = getattr(spots, "expression")
    if not isinstance(expr, pd.DataFrame):
        expr = pd.DataFrame(np.asarray(expr), index=getattr(spots, "spot_ids", None),
                            columns=getattr(spots, "genes", None))
    coords = np.asarray(spots.coords, dtype=np.float64)
    return expr, coords, getattr(spots, "sections", None), getattr(spots, "grid", None)


def _drop_spots(maps: pd.DataFrame, dropped: list) -> np.ndarray:
    keep = np.isfinite(maps.to_numpy()).all(axis=1)
    for sid in maps.index[~keep]:
        dropped.append(("spot", sid, "imaging value missing (outside the image or masked)"))
    return keep


def _observed(maps, expr, codes, n_sections, dropped):
    """Centred unit maps (n, p), unit genes (n, q), correlations (p, q), kept gene names."""
    A, a_norm = _centre_unit(maps.to_numpy(), codes, n_sections)
    if (a_norm == 0).any():
        bad = list(maps.columns[a_norm == 0])
        raise InputError(f"imaging map(s) {bad} are constant within every section; a constant "
                         "map has no correlation - check the registration and the sampling")
    values = expr.to_numpy()
    U, u_norm = _centre_unit(values, codes, n_sections)
    const = u_norm <= 1e-12 * max(1.0, abs(float(values.max())), abs(float(values.min())))
    for g in expr.columns[const]:
        dropped.append(("gene", g, "constant within every section"))
    if const.any():
        U = U[:, ~const]
    genes = expr.columns[~const]
    return A, np.ascontiguousarray(U), A.T @ U, genes


def _correlation_pvalues(R: np.ndarray, dof: int) -> np.ndarray:
    """Two-sided t-test p-values of correlations ``R`` with ``dof`` degrees of freedom."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = R * np.sqrt(dof / np.maximum(1.0 - R ** 2, 1e-300))
    return _t_pvalues(t, dof)


def _table(maps, genes, R, n, n_sections, null_res, alpha):
    p_naive = _correlation_pvalues(R, n - n_sections - 1)
    frame = pd.DataFrame({
        "map": np.repeat(maps.columns.astype(str), len(genes)),
        "gene": np.tile(genes.astype(str), len(maps.columns)),
        "r": R.ravel(), "p_naive": p_naive.ravel()})
    frame["q_naive"] = adjust_pvalues(frame["p_naive"].to_numpy())
    frame["p_spatial"] = null_res.pvalues.ravel()
    frame["p_fwer"] = maxt_pvalues(np.abs(R).ravel(), null_res.null_max, null_res.n_resamples)
    return frame


def spatial_association(spots, image_values, *, null: str = "msr", n_resamples: int = 1000,
                        rng=None, alpha: float = 0.05, backend: str = "auto",
                        null_options: dict | None = None, modified_ttest: bool = True,
                        n_null_pairs: int = 5, progress: bool | None = None
                        ) -> SpatialAssociationResult:
    """Correlate imaging map(s) with every gene across spots, with a spatially constrained null.

    Parameters
    ----------
    spots : SpotData
        Spot coordinates, sections, expression (see :class:`radiogenomics.spatial.SpotData`).
    image_values : Series, DataFrame or array
        The map(s) sampled at the spots (e.g. ``sample_image_at_spots(...)["value"]``), indexed
        by spot id; spots with NaN are left out and listed in ``dropped``.
    null : {"msr", "spin", "torus", "variogram", "permutation"}
        The null model (module docstring); ``"permutation"`` is the naive null.
    n_resamples : int
        Surrogates per section (B).
    rng : int or numpy.random.Generator (SPEC 7)
        Seeds the surrogates (one child seed per section); same seed, same answer on every
        backend.
    alpha : float
        Level for ``significant`` and the summary.
    backend : {"auto", "numpy", "numba", "cupy"}
        Where the surrogate correlations are reduced (the surrogates are drawn on the CPU).
    null_options : dict
        Options of the null's generator (:func:`spatial_surrogates`).
    modified_ttest : bool
        Add Dutilleul's modified t-test (``p_dutilleul``, ``ess``) per pair (its distance
        classes cost O(n^2 G): about a minute for 4,000 spots x 20,000 genes on two cores).
    n_null_pairs : int
        Keep the surrogate correlations of this many strongest pairs (``null_r``; plots).
    progress : bool or None

    Returns
    -------
    SpatialAssociationResult
    """
    if null not in NULLS:
        raise InputError(f"null must be one of {NULLS}, got {null!r}")
    if int(n_resamples) < 1:
        raise InputError(f"n_resamples must be >= 1, got {n_resamples}")
    expr, coords, sections, grid = _expression_of(spots)
    maps = _maps_frame(image_values, expr.index)
    dropped: list = []
    keep = _drop_spots(maps, dropped)
    expr, maps, coords = expr[keep], maps[keep], coords[keep]
    sections = None if sections is None else np.asarray(sections)[keep]
    grid = None if grid is None else np.asarray(grid)[keep]
    names, codes = _section_codes(sections, len(expr))
    per = np.bincount(codes, minlength=len(names))
    if len(expr) < 3 * len(names) + 2 or per.min() < 4:
        raise InputError(f"{len(expr)} spots with an imaging value in {len(names)} section(s) "
                         f"(fewest: {per.min()} in section {names[per.argmin()]!r}) are too "
                         "few for a spot-level test (each section needs at least 4); check the "
                         "registration (spots outside the image), set that section's values to "
                         "NaN to leave it out, or use pseudobulk_association")
    A, U, R, genes = _observed(maps, expr, codes, len(names), dropped)
    S = spatial_surrogates(maps.to_numpy(), coords, null=null, n_surrogates=int(n_resamples),
                           sections=sections, grid=grid, rng=rng, null_options=null_options)
    S, _ = _centre_unit(S, codes, len(names), axis_last=True)
    res = surrogate_correlation_null(S, U, R, kind=null, backend=backend, progress=progress)
    table = _table(maps, genes, R, len(expr), len(names), res, alpha)
    if modified_ttest:
        _add_modified_ttest(table, maps, expr[genes], coords, sections)
    top = np.argsort(-np.abs(R).ravel(), kind="stable")[:n_null_pairs]
    null_r = pd.DataFrame({f"{table['map'].iat[i]} ~ {table['gene'].iat[i]}":
                           S[:, i // len(genes), :] @ U[:, i % len(genes)] for i in top})
    return SpatialAssociationResult(
        table=table, null=null, n_resamples=res.n_resamples, null_max=res.null_max,
        null_r=null_r, dropped=pd.DataFrame(dropped, columns=["kind", "id", "reason"]),
        n_spots=len(expr), n_sections=len(names), backend=res.backend, alpha=alpha,
        details={"null_options": dict(null_options or {})})


def _add_modified_ttest(table, maps, expr, coords, sections) -> None:
    from .dutilleul import modified_ttest

    p_cols, e_cols = [], []
    for m in maps.columns:
        mt = modified_ttest(maps[m].to_numpy(), expr, coords, sections=sections).to_frame()
        p_cols.append(mt["pvalue"].to_numpy())
        e_cols.append(mt["ess"].to_numpy())
    table["p_dutilleul"] = np.concatenate(p_cols)
    table["ess"] = np.concatenate(e_cols)


# ------------------------------------------------------------------------- pseudo-bulk

@dataclass
class PseudobulkResult:
    """Section-level (pseudo-bulk) correlation of map means with gene means.

    ``table``: per (map, gene) ``r`` across sections, ``p`` (t-test, S - 2 df), ``p_exact``
    (exact permutation p over all S! orderings when S! - 1 <= ``n_resamples``, i.e. S <= 7 at
    the default, else ``B`` random orderings), ``q`` (BH of ``p``); ``dropped``: spots without
    an imaging value and genes whose section means are constant.  The sections, not the spots, are the units: valid whatever the spatial
    autocorrelation within sections, but with S points the power is low and the question is
    a different one (do sections with more signal have more expression?).
    """

    table: pd.DataFrame
    section_means: pd.DataFrame
    n_sections: int
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["kind", "id", "reason"]))

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:
        left = f"; left out {len(self.dropped)} spot(s)/gene(s)" if len(self.dropped) else ""
        return (f"<PseudobulkResult: {self.table['gene'].nunique()} genes over "
                f"{self.n_sections} sections; smallest p {self.table['p'].min():.3g}{left}>")


def pseudobulk_association(spots, image_values, *, n_resamples: int = 9999, rng=None
                           ) -> PseudobulkResult:
    """Correlate per-section means of the map(s) with per-section mean expression.

    Needs at least 4 sections.  Exact permutation p-values (all S! orderings of the sections'
    map means) when S! - 1 <= ``n_resamples`` (S <= 7 at the default), else ``n_resamples``
    random orderings (seeded by ``rng``), (1 + #exceed) / (1 + B); the t-test p-value is
    Pearson's with S - 2 degrees of freedom (``scipy.stats.pearsonr``).
    """
    expr, _, sections, _ = _expression_of(spots)
    maps = _maps_frame(image_values, expr.index)
    dropped: list = []
    keep = _drop_spots(maps, dropped)
    if sections is None:
        raise InputError("pseudobulk_association needs sections (several tissue sections, one "
                         "value per section); with one section use spatial_association")
    sec = pd.Series(np.asarray(sections)[keep].astype(str), index=expr.index[keep])
    xm = maps[keep].groupby(sec).mean()
    ym = expr[keep].groupby(sec).mean()
    S = len(xm)
    if S < 4:
        raise InputError(f"pseudobulk_association needs at least 4 sections, got {S}; use "
                         "spatial_association (spot level with a spatial null) instead")
    flat = ym.std(ddof=0) <= 0
    dropped += [("gene", g, "section means constant") for g in ym.columns[flat]]
    ym = ym.loc[:, ~flat]
    if (xm.std(ddof=0) <= 0).any():
        raise InputError(f"imaging map(s) {list(xm.columns[xm.std(ddof=0) <= 0])} have the same "
                         "mean in every section; a section-level correlation needs them to "
                         "differ - use spatial_association (within-section, spot level)")
    one = np.zeros(S, dtype=np.intp)           # the sections are the units: one block
    Yc, _ = _centre_unit(ym.to_numpy(), one, 1)
    Xc, _ = _centre_unit(xm.to_numpy(), one, 1)
    R = Xc.T @ Yc
    p = _correlation_pvalues(R, S - 2)
    import math

    if math.factorial(S) - 1 <= n_resamples:
        perms = PermutationScheme(S).enumerate()
        B = len(perms)
    else:
        perms = PermutationScheme(S).generate(n_resamples, check_rng(rng))
        B = n_resamples
    null = np.abs(np.einsum("bsp,sq->bpq", Xc[perms], Yc))
    from ..resampling.engine import exceedance_threshold

    exceed = (null >= exceedance_threshold(np.abs(R))[None]).sum(axis=0)
    table = pd.DataFrame({"map": np.repeat(xm.columns.astype(str), ym.shape[1]),
                          "gene": np.tile(ym.columns.astype(str), xm.shape[1]),
                          "r": R.ravel(), "p": p.ravel(),
                          "p_exact": ((1.0 + exceed) / (1.0 + B)).ravel()})
    table["q"] = adjust_pvalues(table["p"].to_numpy())
    return PseudobulkResult(table=table, section_means=pd.concat([xm, ym], axis=1),
                            n_sections=S,
                            dropped=pd.DataFrame(dropped, columns=["kind", "id", "reason"]))
