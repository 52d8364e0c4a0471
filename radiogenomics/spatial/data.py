"""Spot-level spatial transcriptomics data: coordinates, sections and expression.

:class:`SpotData` holds what the spatial statistics need from a spatial transcriptomics
experiment (10x Visium, Slide-seq, ...): one row per spot with its centre in one coordinate
unit, its section (tissue slice) label, optional array grid position, and a spots x genes
expression table.  :meth:`SpotData.from_anndata` follows the scanpy / squidpy conventions:

* ``adata.obsm["spatial"]``: spot centres ``(x, y)`` = (column, row) in full-resolution pixels
  of the section's H&E image (Space Ranger's ``tissue_positions`` pixel columns, as
  ``scanpy.read_visium`` / ``squidpy.read.visium`` store them);
* ``adata.obs["library_id"]`` (squidpy) or ``obs["sample"]``: the section of each spot;
* ``adata.uns["spatial"][library_id]["scalefactors"]["spot_diameter_fullres"]``: the spot
  diameter in the same full-resolution pixels;
* ``adata.obs["array_row"]``, ``obs["array_col"]``: the spot's position on the array grid;
* ``adata.obs["in_tissue"]``: 1 for spots under tissue (0-spots are removed and reported).

Nothing is dropped silently: spots outside the tissue, spots with an empty library (when
normalising) and genes without variation are listed in :attr:`SpotData.dropped` with the
reason; NaN / inf expression, duplicated IDs and mismatched lengths raise
:class:`~radiogenomics._checks.InputError` naming what is wrong and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from .._checks import InputError, listing

__all__ = ["SpotData", "NORMALISATIONS"]

NORMALISATIONS = (None, "log1p_cpm")
_DROPPED_COLUMNS = ("kind", "id", "section", "reason")
_SECTION_KEYS = ("library_id", "sample")


def _empty_dropped() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in _DROPPED_COLUMNS})


@dataclass(repr=False)
class SpotData:
    """Spots of one or more sections: centres, section labels, expression.

    Attributes
    ----------
    coords : ndarray (n, 2)
        Spot centres ``(x, y)`` in one unit (e.g. full-resolution pixels, or mm).
    sections : ndarray (n,) of str
        Section (tissue slice) label of each spot.
    expression : DataFrame (n, genes)
        Expression, indexed by spot ID (``normalisation`` says what was done to it).
    spot_ids : Index
        Spot IDs (unique strings), in row order.
    grid : ndarray (n, 2) of int or None
        ``(array_row, array_col)`` grid positions when known.
    spot_diameter : dict
        Section -> spot diameter in coordinate units (NaN when unknown).
    dropped : DataFrame
        Removed spots and genes: ``kind`` ("spot"/"gene"), ``id``, ``section`` and ``reason``.
    normalisation : str
        What was done to the expression (e.g. ``"log1p(counts / library size * 10000)"``).
    source : str
        Where the data came from (e.g. ``"AnnData layer 'counts'"``).
    """

    coords: np.ndarray
    sections: np.ndarray
    expression: pd.DataFrame
    spot_ids: pd.Index
    grid: np.ndarray | None = None
    spot_diameter: dict = field(default_factory=dict)
    dropped: pd.DataFrame = field(default_factory=_empty_dropped)
    normalisation: str = "none (as given)"
    source: str = "arrays"

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(cls, coords, expression=None, sections=None, *, spot_ids=None, genes=None,
                    spot_diameter=None, grid=None, in_tissue=None, normalise=None,
                    target_sum: float = 1e4, constant: str = "section") -> "SpotData":
        """SpotData from plain arrays.

        Parameters
        ----------
        coords : array-like (n, 2) or DataFrame
            Spot centres ``(x, y)``; a DataFrame's index gives the spot IDs.
        expression : DataFrame, ndarray or scipy.sparse matrix (n, g), optional
            Spots x genes; a DataFrame's index must equal the spot IDs (it is reordered to
            match) and its columns name the genes.  None: no expression (coordinates only).
        sections : array-like (n,), optional
            Section label per spot (default: one section ``"section0"``).
        spot_ids : array-like (n,), optional
            Spot IDs (default: the index of ``coords`` / ``expression``, else ``"0".."n-1"``).
        genes : sequence of str, optional
            Gene names of an array ``expression`` (default ``g0, g1, ...``).
        spot_diameter : float or dict, optional
            Spot diameter in coordinate units, one value or section -> value.
        grid : array-like (n, 2) of int, optional
            ``(array_row, array_col)`` grid positions.
        in_tissue : array-like (n,) of 0/1, optional
            Spots with 0 are removed and reported in ``dropped``.
        normalise : {None, "log1p_cpm"}
            ``"log1p_cpm"``: ``log1p(counts / library_size * target_sum)`` (scanpy's
            ``normalize_total(target_sum=1e4)`` followed by ``log1p``), library sizes over
            all given genes.  Counts must be non-negative.
        target_sum : float
            Scale of the normalised library (default 1e4, scanpy's usual value).
        constant : {"section", "overall"}
            Remove genes constant within any section (default: per-section statistics and
            nulls would divide by zero) or only genes constant over all spots.
        """
        n, coords_arr, ids = _coords_and_ids(coords, spot_ids, expression)
        X, gene_names = _expression_matrix(expression, ids, n, genes)
        sec = _section_labels(sections, n)
        return _build(coords_arr, X, ids, gene_names, sec, grid, spot_diameter, in_tissue,
                      normalise, target_sum, constant, "arrays")

    @classmethod
    def from_anndata(cls, adata, *, section_key=None, layer=None, spatial_key="spatial",
                     genes=None, normalise=None, target_sum: float = 1e4,
                     spot_diameter=None, constant: str = "section") -> "SpotData":
        """SpotData from an :class:`anndata.AnnData` in scanpy / squidpy layout.

        Coordinates come from ``adata.obsm[spatial_key]``; sections from
        ``adata.obs[section_key]`` (default ``"library_id"`` when present, else ``"sample"``,
        else one section named after the only library in ``uns["spatial"]``, or
        ``"section0"``); expression from ``adata.X`` or ``adata.layers[layer]`` (dense or
        sparse); the spot diameter of each section from
        ``uns["spatial"][section]["scalefactors"]["spot_diameter_fullres"]`` unless
        ``spot_diameter`` is given; grid positions from ``obs["array_row"]`` /
        ``obs["array_col"]``; spots with ``obs["in_tissue"] == 0`` are removed and reported.
        ``genes`` selects genes (after library sizes are taken over all genes);
        ``normalise``, ``target_sum`` and ``constant`` are as in :meth:`from_arrays`.
        """
        adata = _check_anndata(adata)
        ids = pd.Index(np.asarray(adata.obs_names, dtype=object).astype(str), name="spot_id")
        _check_ids(ids)
        coords = _obsm_coords(adata, spatial_key)
        X, source = _anndata_matrix(adata, layer)
        gene_names = np.asarray(adata.var_names, dtype=object).astype(str)
        sec, key = _anndata_sections(adata, section_key)
        diam = spot_diameter if spot_diameter is not None else _anndata_diameters(adata, sec)
        obs = adata.obs
        grid = None
        if "array_row" in obs.columns and "array_col" in obs.columns:
            grid = np.column_stack([obs["array_row"].to_numpy(), obs["array_col"].to_numpy()])
        in_tissue = obs["in_tissue"].to_numpy() if "in_tissue" in obs.columns else None
        sel = _gene_selection(gene_names, genes)
        out = _build(coords, X, ids, gene_names, sec, grid, diam, in_tissue, normalise,
                     target_sum, constant, source, gene_selection=sel)
        out.source = f"{source}; sections from {key}; coordinates from obsm[{spatial_key!r}]"
        return out

    # ------------------------------------------------------------------ views
    @property
    def n_spots(self) -> int:
        return int(self.coords.shape[0])

    @property
    def genes(self) -> pd.Index:
        return self.expression.columns

    @property
    def section_labels(self) -> list:
        """Section labels in order of first appearance."""
        return list(pd.unique(self.sections))

    def radii(self) -> np.ndarray:
        """Per-spot radius (spot diameter / 2 of its section; NaN when unknown)."""
        d = np.array([self.spot_diameter.get(s, np.nan) for s in self.sections], dtype=float)
        return d / 2.0

    def subset(self, mask) -> "SpotData":
        """The spots where boolean ``mask`` is True (genes and ``dropped`` kept as they are)."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.n_spots,):
            raise InputError(f"mask has shape {mask.shape}; give one boolean per spot "
                             f"({self.n_spots})")
        secs = set(self.sections[mask])
        return SpotData(self.coords[mask], self.sections[mask], self.expression.iloc[mask],
                        self.spot_ids[mask], None if self.grid is None else self.grid[mask],
                        {k: v for k, v in self.spot_diameter.items() if k in secs},
                        self.dropped.copy(), self.normalisation, self.source)

    def section(self, label) -> "SpotData":
        """The spots of one section."""
        if label not in set(self.sections):
            raise InputError(f"no section {label!r}; the sections are "
                             f"{listing(self.section_labels)}")
        return self.subset(self.sections == label)

    def to_frame(self, expression: bool = False) -> pd.DataFrame:
        """One row per spot: ``section, x, y`` (+ ``array_row, array_col``; + genes)."""
        df = pd.DataFrame({"section": self.sections, "x": self.coords[:, 0],
                           "y": self.coords[:, 1]}, index=self.spot_ids)
        if self.grid is not None:
            df["array_row"] = self.grid[:, 0]
            df["array_col"] = self.grid[:, 1]
        if expression:
            df = pd.concat([df, self.expression], axis=1)
        return df

    def sections_summary(self) -> pd.DataFrame:
        """Per section: spots kept and dropped, spot diameter, extent, median spacing.

        ``spacing`` is the median distance from a spot to its nearest neighbour (scipy
        ``cKDTree``), the natural unit for registration errors and neighbourhood radii.
        """
        from scipy.spatial import cKDTree

        rows = []
        dropped_spots = self.dropped[self.dropped["kind"] == "spot"]
        for s in self.section_labels:
            m = self.sections == s
            xy = self.coords[m]
            spacing = np.nan
            if m.sum() >= 2:
                d, _ = cKDTree(xy).query(xy, k=2)
                spacing = float(np.median(d[:, 1]))
            rows.append({"section": s, "n_spots": int(m.sum()),
                         "n_dropped": int((dropped_spots["section"] == s).sum()),
                         "spot_diameter": float(self.spot_diameter.get(s, np.nan)),
                         "spacing": spacing,
                         "x_min": float(xy[:, 0].min()), "x_max": float(xy[:, 0].max()),
                         "y_min": float(xy[:, 1].min()), "y_max": float(xy[:, 1].max())})
        return pd.DataFrame(rows).set_index("section")

    def __repr__(self) -> str:
        secs = self.section_labels
        n_sp = int((self.dropped["kind"] == "spot").sum())
        n_g = int((self.dropped["kind"] == "gene").sum())
        diam = ", ".join(f"{s}: {self.spot_diameter.get(s, np.nan):.4g}" for s in secs[:4])
        more = " ..." if len(secs) > 4 else ""
        return (f"SpotData({self.n_spots} spots x {self.expression.shape[1]} genes, "
                f"{len(secs)} section(s) {listing(secs, 4)}; spot diameter {{{diam}{more}}}; "
                f"grid={'yes' if self.grid is not None else 'no'}; expression: "
                f"{self.normalisation}; dropped {n_sp} spot(s), {n_g} gene(s))")


# ---------------------------------------------------------------------- array helpers
def _coords_and_ids(coords, spot_ids, expression):
    """Validated (n, 2) coordinates and unique string spot IDs."""
    index = None
    if isinstance(coords, pd.DataFrame):
        index = coords.index
        coords = coords.to_numpy()
    try:
        arr = np.asarray(coords, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("coords must be numbers, shape (n_spots, 2) (x, y); convert them "
                         "with np.asarray(coords, dtype=float)") from None
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise InputError(f"coords must have shape (n_spots, 2) with columns (x, y), got "
                         f"{arr.shape}; pass one (x, y) row per spot (3-D coordinates: drop z)")
    n = arr.shape[0]
    if spot_ids is None:
        spot_ids = index if index is not None else (
            expression.index if isinstance(expression, pd.DataFrame) else np.arange(n))
    ids = pd.Index(np.asarray(spot_ids, dtype=object).astype(str), name="spot_id")
    if len(ids) != n:
        raise InputError(f"{len(ids)} spot IDs for {n} coordinate rows; give one ID per spot")
    _check_ids(ids)
    return n, arr, ids


def _check_ids(ids: pd.Index) -> None:
    dup = ids[ids.duplicated()].unique()
    if len(dup):
        raise InputError(f"{len(dup)} duplicated spot ID(s): {listing(dup)}; spot IDs must be "
                         "unique (for several sections prefix them by section, e.g. "
                         "adata.obs_names_make_unique() or f'{section}_{barcode}')")


def _expression_matrix(expression, ids, n, genes):
    """(matrix, gene names) from a DataFrame / array / sparse matrix, rows in ``ids`` order."""
    if expression is None:
        return np.zeros((n, 0)), np.array([], dtype=object)
    if isinstance(expression, pd.DataFrame):
        idx = pd.Index(expression.index.astype(str))
        if len(idx) != n:
            raise InputError(f"expression has {len(idx)} rows for {n} spots; give one row per "
                             "spot")
        if not idx.equals(ids):
            missing = ids.difference(idx)
            if len(missing) or idx.duplicated().any():
                raise InputError(f"expression index does not match the spot IDs ({len(missing)} "
                                 f"spot(s) without a row, e.g. {listing(missing, 3)}); index "
                                 "the expression by spot ID")
            expression = expression.set_axis(idx, axis=0).loc[ids]
        names = np.asarray(expression.columns, dtype=object).astype(str)
        try:
            X = expression.to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError("expression holds non-numeric values; pass numbers only "
                             "(pd.to_numeric)") from None
        return X, names
    X = expression if sparse.issparse(expression) else np.asarray(expression)
    if X.ndim != 2 or X.shape[0] != n:
        raise InputError(f"expression has shape {X.shape} for {n} spots; give spots x genes "
                         "(transpose a genes x spots matrix)")
    if not sparse.issparse(X) and X.dtype.kind not in "biuf":
        raise InputError(f"expression has dtype {X.dtype}; pass numbers only")
    names = (np.array([f"g{j}" for j in range(X.shape[1])], dtype=object) if genes is None
             else np.asarray(genes, dtype=object).astype(str))
    if len(names) != X.shape[1]:
        raise InputError(f"{len(names)} gene names for {X.shape[1]} expression columns; give "
                         "one name per column")
    return X, names


def _section_labels(sections, n):
    if sections is None:
        return np.full(n, "section0", dtype=object)
    sec = np.asarray(sections, dtype=object).ravel()
    if sec.size != n:
        raise InputError(f"{sec.size} section labels for {n} spots; give one label per spot")
    bad = pd.isna(sec)
    if bad.any():
        raise InputError(f"{int(bad.sum())} spot(s) have no section label (rows "
                         f"{listing(np.flatnonzero(bad))}); give every spot a section")
    return sec.astype(str).astype(object)


def _gene_selection(gene_names, genes):
    """Column positions of the requested genes (None: all)."""
    if genes is None:
        return None
    genes = [str(g) for g in (genes if not isinstance(genes, str) else [genes])]
    pos = pd.Index(gene_names)
    if pos.duplicated().any():
        raise InputError(f"gene names are duplicated ({listing(pos[pos.duplicated()].unique())})"
                         "; make them unique first (adata.var_names_make_unique())")
    missing = [g for g in genes if g not in pos]
    if missing:
        raise InputError(f"{len(missing)} requested gene(s) not found: {listing(missing)}; "
                         f"check the spelling (genes are e.g. {listing(pos[:5], 5)})")
    return pos.get_indexer(genes)


def _diameters(spot_diameter, labels):
    if spot_diameter is None:
        return {s: np.nan for s in labels}
    if isinstance(spot_diameter, dict):
        return {s: float(spot_diameter.get(s, np.nan)) for s in labels}
    d = float(spot_diameter)
    if not d > 0:
        raise InputError(f"spot_diameter must be positive, got {spot_diameter!r}")
    return {s: d for s in labels}


# ---------------------------------------------------------------------- the common builder
def _build(coords, X, ids, gene_names, sec, grid, spot_diameter, in_tissue, normalise,
           target_sum, constant, source, gene_selection=None) -> SpotData:
    """Validate, filter and normalise; every removal is recorded in ``dropped``."""
    n = coords.shape[0]
    if normalise not in NORMALISATIONS:
        raise InputError(f"normalise must be one of {NORMALISATIONS}, got {normalise!r}")
    if constant not in ("section", "overall"):
        raise InputError(f"constant must be 'section' or 'overall', got {constant!r}")
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        raise InputError(f"{int(bad.sum())} spot(s) have NaN/inf coordinates "
                         f"({listing(ids[bad])}); remove them or fix the coordinates")
    if grid is not None:
        grid = _grid(grid, n)
    drops = []
    keep = np.ones(n, dtype=bool)
    if in_tissue is not None:
        it = np.asarray(in_tissue).ravel()
        if it.size != n:
            raise InputError(f"in_tissue has {it.size} values for {n} spots; give one per spot")
        out = ~(pd.to_numeric(pd.Series(it), errors="coerce").fillna(1).to_numpy() != 0)
        drops += [("spot", i, s, "not in tissue (in_tissue == 0)")
                  for i, s in zip(ids[out], sec[out])]
        keep &= ~out
    X, norm_text, lib_zero = _normalise(X, normalise, target_sum, keep)
    if lib_zero.any():
        drops += [("spot", i, s, "library size 0 (no counts to normalise)")
                  for i, s in zip(ids[lib_zero], sec[lib_zero])]
        keep &= ~lib_zero
    if not keep.any():
        raise InputError(f"no spot left of {n}: all are outside the tissue or empty; check "
                         "obs['in_tissue'] and the counts")
    if gene_selection is not None:
        X = X[:, gene_selection]
        gene_names = gene_names[gene_selection]
    names = pd.Index(gene_names)
    if names.duplicated().any():
        raise InputError(f"gene names are duplicated ({listing(names[names.duplicated()].unique())}"
                         "); make them unique first (e.g. adata.var_names_make_unique())")
    X = X[keep]
    ids, sec, coords = ids[keep], sec[keep], coords[keep]
    grid = grid[keep] if grid is not None else None
    _check_finite_expression(X, ids, gene_names)
    const_reason = _constant_genes(X, sec, constant)
    for j, reason in const_reason.items():
        drops.append(("gene", gene_names[j], None, reason))
    kept_genes = np.array([j for j in range(X.shape[1]) if j not in const_reason], dtype=int)
    X = X[:, kept_genes]
    X = X.toarray() if sparse.issparse(X) else np.asarray(X, dtype=np.float64)
    expr = pd.DataFrame(np.asarray(X, dtype=np.float64), index=ids,
                        columns=pd.Index(gene_names[kept_genes], name="gene"))
    labels = list(pd.unique(sec))
    dropped = pd.DataFrame(drops, columns=list(_DROPPED_COLUMNS)) if drops else _empty_dropped()
    return SpotData(coords.copy(), np.asarray(sec, dtype=object), expr, ids, grid,
                    _diameters(spot_diameter, labels), dropped, norm_text, source)


def _grid(grid, n):
    g = np.asarray(grid, dtype=np.float64)
    if g.shape != (n, 2):
        raise InputError(f"grid has shape {g.shape}; give (array_row, array_col) per spot, "
                         f"shape ({n}, 2)")
    if not np.isfinite(g).all() or (g != np.round(g)).any():
        raise InputError("grid positions (array_row, array_col) must be finite integers; fix "
                         "or drop them (grid=None)")
    return g.astype(np.int64)


def _normalise(X, normalise, target_sum, keep):
    """log1p(counts / library size * target_sum) when asked; also the spots with library 0."""
    lib_zero = np.zeros(X.shape[0], dtype=bool)
    if normalise is None:
        return X, "none (as given)", lib_zero
    if not (isinstance(target_sum, (int, float, np.number)) and target_sum > 0):
        raise InputError(f"target_sum must be a positive number, got {target_sum!r}")
    data = X.data if sparse.issparse(X) else np.asarray(X)
    if data.size and (np.nanmin(data) < 0 if np.isfinite(data).any() else False):
        raise InputError("normalise='log1p_cpm' needs counts, but the expression has negative "
                         "values (scaled or centred data?); pass raw counts (e.g. layer='counts') "
                         "or normalise=None")
    lib = np.asarray(X.sum(axis=1), dtype=np.float64).ravel()
    lib_zero = (lib == 0) & keep
    scale = np.where(lib > 0, target_sum / np.where(lib > 0, lib, 1.0), 0.0)
    if sparse.issparse(X):
        Y = sparse.diags(scale) @ sparse.csr_matrix(X, dtype=np.float64)
        Y.data = np.log1p(Y.data)
    else:
        Y = np.log1p(np.asarray(X, dtype=np.float64) * scale[:, None])
    return Y, f"log1p(counts / library size * {target_sum:g})", lib_zero


def _check_finite_expression(X, ids, gene_names):
    if sparse.issparse(X):
        Xc = sparse.coo_matrix(X)
        bad = ~np.isfinite(Xc.data)
        if not bad.any():
            return
        rows, cols = np.unique(Xc.row[bad]), np.unique(Xc.col[bad])
    else:
        bad = ~np.isfinite(np.asarray(X, dtype=np.float64))
        if not bad.any():
            return
        rows, cols = np.flatnonzero(bad.any(axis=1)), np.flatnonzero(bad.any(axis=0))
    raise InputError(
        f"expression has NaN/inf in {len(cols)} gene(s) ({listing(gene_names[cols])}) at "
        f"{len(rows)} spot(s) ({listing(ids[rows])}); impute them, or drop those genes (genes=) "
        "or spots before building SpotData")


def _constant_genes(X, sec, constant):
    """{column: reason} of genes with no variation overall or (``constant='section'``) in a
    section; sparse matrices are checked without densifying (min/max include implicit 0s)."""
    def minmax(M):
        if sparse.issparse(M):
            M = sparse.csc_matrix(M)
            return (np.asarray(M.min(axis=0).todense()).ravel(),
                    np.asarray(M.max(axis=0).todense()).ravel())
        return M.min(axis=0), M.max(axis=0)

    out = {}
    lo, hi = minmax(X)
    for j in np.flatnonzero(hi == lo):
        out[int(j)] = f"constant over all spots (value {lo[j]:g})"
    if constant == "section":
        for s in pd.unique(sec):
            m = sec == s
            if m.sum() < 2:
                continue
            lo, hi = minmax(X[m])
            for j in np.flatnonzero(hi == lo):
                out.setdefault(int(j), f"constant within section {s!r} (value {lo[j]:g}); "
                                       "pass constant='overall' to keep it")
    return out


# ---------------------------------------------------------------------- AnnData helpers
def _check_anndata(adata):
    try:
        import anndata
    except ImportError as exc:  # pragma: no cover - anndata is a required dependency
        raise ImportError("SpotData.from_anndata needs anndata (pip install anndata)") from exc
    if not isinstance(adata, anndata.AnnData):
        raise InputError(f"adata must be an anndata.AnnData (spots x genes), got "
                         f"{type(adata).__name__}; read one with anndata.read_h5ad or "
                         "squidpy.read.visium, or use SpotData.from_arrays")
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise InputError(f"adata is empty ({adata.n_obs} spots x {adata.n_vars} genes)")
    return adata


def _obsm_coords(adata, key):
    if key not in adata.obsm:
        raise InputError(f"adata.obsm has no {key!r} (it has {listing(list(adata.obsm), 8)}); "
                         "store spot centres (x, y) there (squidpy/scanpy read_visium do) or "
                         "pass spatial_key=")
    xy = adata.obsm[key]
    xy = xy.to_numpy() if isinstance(xy, pd.DataFrame) else np.asarray(xy)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise InputError(f"adata.obsm[{key!r}] has shape {xy.shape}; it must be (n_spots, 2) "
                         "with columns (x, y) (for 3-D coordinates keep the first two)")
    try:
        return np.asarray(xy, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"adata.obsm[{key!r}] is not numeric; store float (x, y)") from None


def _anndata_matrix(adata, layer):
    if layer is None:
        return adata.X, "AnnData X"
    if layer not in adata.layers:
        raise InputError(f"adata.layers has no {layer!r} (it has "
                         f"{listing(list(adata.layers), 8)}); pass one of them or layer=None "
                         "for adata.X")
    return adata.layers[layer], f"AnnData layer {layer!r}"


def _anndata_sections(adata, section_key):
    obs = adata.obs
    if section_key is None:
        section_key = next((k for k in _SECTION_KEYS if k in obs.columns), None)
    elif section_key not in obs.columns:
        raise InputError(f"adata.obs has no column {section_key!r} (it has "
                         f"{listing(obs.columns, 8)}); pass section_key= naming the column "
                         "with each spot's section, or None for one section")
    if section_key is None:
        libs = list(adata.uns.get("spatial", {}) or {})
        name = libs[0] if len(libs) == 1 else "section0"
        return np.full(adata.n_obs, str(name), dtype=object), "one section"
    return _section_labels(obs[section_key].to_numpy(), adata.n_obs), f"obs[{section_key!r}]"


def _anndata_diameters(adata, sec):
    """section -> ``uns['spatial'][section]['scalefactors']['spot_diameter_fullres']``."""
    spatial = adata.uns.get("spatial", {}) or {}
    out = {}
    for s in pd.unique(sec):
        try:
            out[s] = float(spatial[s]["scalefactors"]["spot_diameter_fullres"])
        except (KeyError, TypeError, ValueError):
            out[s] = np.nan
    return out
