"""Single-cell counts to pseudo-bulk: sum of raw counts per (sample, cell type).

A single-cell or single-nucleus RNA-seq study measures thousands of cells per donor, but the
donor is the unit of replication: cells of one donor are not independent.  Pseudo-bulk
aggregation (Lun & Marioni 2017, *Biostatistics* 18:451; Crowell et al. 2020, *Nat Commun*
11:6077; Squair et al. 2021, *Nat Commun* 12:5692) sums the raw counts of the cells of each
(sample, cell type) and analyses the sums as bulk RNA-seq (edgeR / limma-voom), one count
matrix per cell type.  :func:`pseudobulk` does this for an :class:`anndata.AnnData` (cells x
genes, the scanpy / decoupler layout) and also returns the cell-type composition of each sample
(a ready samples x cell types view) and the sample-level metadata found in ``obs``.

It follows the conventions of decoupler's ``get_pseudobulk(mode="sum")`` (``sample_col``,
``groups_col``, ``min_cells``, ``min_counts``) and of edgeR's ``sumTechReps`` (sum of counts
over the columns sharing an ID), which is the R reference of the sum itself.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from .._checks import InputError, listing

__all__ = ["PseudobulkResult", "pseudobulk", "pseudobulk_from_h5ad"]

_CHUNK_VALUES = 20_000_000  # dense values converted to float64 at a time (160 MB)


class _NotCounts(Exception):
    """A matrix that is not raw counts; the message says what was found."""


# --------------------------------------------------------------------------- result
@dataclass(repr=False)
class PseudobulkResult:
    """Outcome of :func:`pseudobulk`.

    Attributes
    ----------
    counts : dict of str -> DataFrame
        Per cell type, the pseudo-bulk counts (int64), samples x genes, indexed by sample ID;
        only the (sample, cell type) units kept (see ``removed``).  A cell type none of whose
        units is kept is absent.
    n_cells : DataFrame
        Cells per sample (rows) and cell type (columns), all cells of ``obs``.
    proportions : DataFrame
        ``n_cells`` divided by each sample's number of cells: the cell-type composition
        (rows sum to 1), computed from every cell whatever ``cell_types``, ``min_cells`` and
        ``min_counts``.
    removed : DataFrame
        One row per (sample, cell type) unit not in ``counts``: ``sample``, ``cell_type``,
        ``n_cells``, ``total_counts``, ``reason``.
    sample_metadata : DataFrame
        The ``obs`` columns constant within every sample (e.g. centre, age), one row per sample.
    varying_columns : list of str
        The ``obs`` columns left out of ``sample_metadata`` because they vary within a sample.
    source : str
        Where the counts were read (``layers['counts']``, ``raw.X`` or ``X``).
    """

    counts: dict[str, pd.DataFrame]
    n_cells: pd.DataFrame
    proportions: pd.DataFrame
    removed: pd.DataFrame
    sample_metadata: pd.DataFrame
    varying_columns: list[str] = field(default_factory=list)
    source: str = "X"
    min_cells: int = 10
    min_counts: float = 0
    total_counts: pd.DataFrame | None = None

    @property
    def cell_types(self) -> list[str]:
        """Cell types with at least one kept unit (keys of ``counts``)."""
        return list(self.counts)

    @property
    def samples(self) -> pd.Index:
        """All sample IDs (rows of ``n_cells``)."""
        return self.n_cells.index

    def view(self, cell_type: str) -> pd.DataFrame:
        """The samples x genes pseudo-bulk counts of ``cell_type``."""
        if cell_type not in self.counts:
            gone = self.removed.loc[self.removed["cell_type"] == cell_type]
            why = (f"all its {len(gone)} unit(s) were removed (see .removed)" if len(gone)
                   else "it is not a cell type of this result")
            raise InputError(f"no pseudo-bulk counts for cell type {cell_type!r}: {why}; "
                             f"available: {listing(self.counts)}")
        return self.counts[cell_type]

    def to_frame(self, counts: bool = False) -> pd.DataFrame:
        """One row per (sample, cell type) unit with cells.

        Columns ``sample``, ``cell_type``, ``n_cells``, ``total_counts``, ``kept`` and
        ``reason`` (empty when kept).  With ``counts=True`` only the kept units, followed by one
        column per gene (the decoupler-style long pseudo-bulk table; genes absent from a cell
        type's frame cannot happen, all frames share the genes).
        """
        n = self.n_cells.stack().rename("n_cells")
        tot = (self.total_counts.stack().rename("total_counts") if self.total_counts is not None
               else pd.Series(np.nan, index=n.index, name="total_counts"))
        out = pd.concat([n, tot], axis=1).reset_index()
        out.columns = ["sample", "cell_type", "n_cells", "total_counts"]
        out = out.loc[out["n_cells"] > 0].reset_index(drop=True)
        why = self.removed.set_index(["sample", "cell_type"])["reason"]
        key = pd.MultiIndex.from_frame(out[["sample", "cell_type"]])
        out["reason"] = why.reindex(key).fillna("").to_numpy()
        out["kept"] = out["reason"] == ""
        out = out[["sample", "cell_type", "n_cells", "total_counts", "kept", "reason"]]
        if not counts:
            return out
        blocks = []
        for ct, df in self.counts.items():
            b = df.copy()
            b.insert(0, "cell_type", ct)
            b.insert(0, "sample", df.index)
            blocks.append(b.reset_index(drop=True))
        meta = out.loc[out["kept"], ["sample", "cell_type", "n_cells", "total_counts"]]
        return meta.merge(pd.concat(blocks, ignore_index=True), on=["sample", "cell_type"])

    def summary(self) -> str:
        """A few lines: source, samples, kept units per cell type and why others were removed."""
        lines = [f"pseudobulk: sum of {self.source} over {int(self.n_cells.to_numpy().sum())} "
                 f"cells, {len(self.samples)} samples x {self.n_cells.shape[1]} cell types "
                 f"(min_cells={self.min_cells}, min_counts={self.min_counts:g})"]
        for ct in self.n_cells.columns:
            kept = len(self.counts[ct]) if ct in self.counts else 0
            gone = int((self.removed["cell_type"] == ct).sum())
            if kept or gone:
                lines.append(f"  {ct}: {kept} sample(s) kept, {gone} removed")
        if len(self.removed):
            for reason, k in self.removed["reason"].value_counts().items():
                lines.append(f"  removed {k} unit(s): {reason}")
        meta = listing(self.sample_metadata.columns, 8) or "none"
        vary = listing(self.varying_columns, 8) or "none"
        lines.append(f"  sample metadata: {meta}; varying within sample (left out): {vary}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        kept = sum(len(df) for df in self.counts.values())
        genes = next(iter(self.counts.values())).shape[1] if self.counts else 0
        return (f"PseudobulkResult({len(self.samples)} samples x {len(self.counts)} cell types, "
                f"{genes} genes; {kept} units kept, {len(self.removed)} removed "
                f"(min_cells={self.min_cells}); counts from {self.source})")


# --------------------------------------------------------------------------- helpers
def _labels(obs: pd.DataFrame, col: str, what: str) -> tuple[np.ndarray, pd.Index]:
    """Integer codes and string labels of an obs column; NaN labels refused."""
    s = obs[col]
    bad = s.isna().to_numpy()
    if bad.any():
        cells = obs.index[bad]
        raise InputError(
            f"obs[{col!r}] ({what}) is missing for {int(bad.sum())} cell(s) ({listing(cells)}); "
            f"every cell needs a {what}: drop them (adata = adata[adata.obs[{col!r}].notna()]."
            f"copy()) or label them (e.g. 'unassigned')")
    if isinstance(s.dtype, pd.CategoricalDtype):
        used = s.cat.remove_unused_categories()
        cats = pd.Index(used.cat.categories.astype(str))
        if cats.has_duplicates:
            raise InputError(f"obs[{col!r}] has categories that are equal as text "
                             f"({listing(cats[cats.duplicated()])}); rename them")
        return used.cat.codes.to_numpy().astype(np.int64), cats
    codes, uniq = pd.factorize(s.astype(str), sort=True)
    return codes.astype(np.int64), pd.Index(uniq)


def _pick_matrix(adata, layer: str | None):
    """Candidate count matrices, in order: (matrix, gene names, description)."""
    if layer is not None:
        if layer not in adata.layers:
            raise InputError(f"adata has no layer {layer!r} (layers: "
                             f"{listing(adata.layers.keys()) or 'none'}); pass the name of the "
                             "layer that holds the raw counts, or layer=None to use raw.X / X")
        return [(adata.layers[layer], adata.var_names, f"layers[{layer!r}]")]
    cands = []
    if adata.raw is not None:
        cands.append((adata.raw.X, adata.raw.var_names, "raw.X"))
    cands.append((adata.X, adata.var_names, "X"))
    return cands


def _check_chunk(vals: np.ndarray) -> None:
    """Raise _NotCounts unless ``vals`` are finite non-negative whole numbers."""
    if vals.dtype.kind == "b":
        raise _NotCounts("holds booleans")
    if vals.dtype.kind not in "iuf":
        raise _NotCounts(f"has dtype {vals.dtype}")
    if vals.dtype.kind == "f":
        if not np.isfinite(vals).all():
            raise _NotCounts("holds NaN or infinite values")
        frac = vals != np.rint(vals)
        if frac.any():
            raise _NotCounts(f"holds non-integer values (e.g. {vals[frac][0]:.4g}; max "
                             f"{vals.max():.4g}), as after normalisation or log1p")
    if vals.size and vals.min() < 0:
        raise _NotCounts(f"holds negative values (min {vals.min():.4g}), as after scaling")


def _aggregate(M, unit: np.ndarray, n_units: int) -> np.ndarray:
    """Sum the rows of cells x genes ``M`` by ``unit`` code (-1 = skip): (n_units, genes) float64.

    Rows are processed in chunks: each chunk is checked to be counts and multiplied by a sparse
    indicator matrix (units x cells of the chunk), in float64 (exact for integers below 2**53),
    so neither a sparse nor a dense input is ever densified / copied whole.
    """
    if sparse.issparse(M):
        if M.format != "csr":  # row chunks of CSC/COO are slow: one conversion
            M = M.tocsr()
    elif not hasattr(M, "shape") or len(M.shape) != 2:
        raise _NotCounts(f"is not a 2-D matrix (type {type(M).__name__})")
    n_cells, n_genes = M.shape
    out = np.zeros((n_units, n_genes))
    step = max(1, _CHUNK_VALUES // max(n_genes, 1))
    for start in range(0, n_cells, step):
        stop = min(n_cells, start + step)
        u = unit[start:stop]
        keep = u >= 0
        chunk = M[start:stop]  # also reads a slice of a backed (on-disk) matrix
        if sparse.issparse(chunk):
            _check_chunk(np.asarray(chunk.data))
            chunk = sparse.csr_matrix(chunk, dtype=np.float64)
        else:
            chunk = np.asarray(chunk)
            _check_chunk(chunk)
            chunk = chunk.astype(np.float64, copy=False)
        if not keep.any():
            continue
        ind = sparse.csr_matrix((np.ones(int(keep.sum())), (u[keep], np.flatnonzero(keep))),
                                shape=(n_units, stop - start))
        prod = ind @ chunk
        out += prod.toarray() if sparse.issparse(prod) else np.asarray(prod)
    return out


def _sample_metadata(obs: pd.DataFrame, codes: np.ndarray, samples: pd.Index,
                     skip: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """obs columns constant within each sample (one row per sample) and those that vary."""
    cols = [c for c in obs.columns if c not in skip]
    const, varying = {}, []
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    for c in cols:
        s = obs[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object if s.isna().any() else s.cat.categories.dtype)
        nun = s.reset_index(drop=True).groupby(codes).nunique(dropna=False)
        if (nun.to_numpy() == 1).all():
            const[c] = s.iloc[first].to_numpy()
        else:
            varying.append(str(c))
    meta = pd.DataFrame(const, index=samples)
    meta.index.name = "sample_id"
    return meta, varying


# --------------------------------------------------------------------------- API
def pseudobulk(adata, *, sample_col: str = "sample_id", cell_type_col: str = "cell_type",
               groups_col: str | None = None, layer: str | None = None, min_cells: int = 10,
               min_counts: float = 0, cell_types: Sequence[str] | None = None) -> PseudobulkResult:
    r"""Pseudo-bulk counts: the sum of raw counts over the cells of each (sample, cell type).

    .. math::

        Y^{(k)}_{sg} = \sum_{c:\ \mathrm{sample}(c) = s,\ \mathrm{type}(c) = k} X_{cg}

    for cell type :math:`k`, sample :math:`s` and gene :math:`g`, computed as the product of a
    sparse 0/1 indicator matrix (units x cells) with the cell matrix, chunk by chunk (sparse
    input is never densified).  A unit with fewer than ``min_cells`` cells or fewer than
    ``min_counts`` counts over all genes is removed and listed in ``removed`` with its reason
    (decoupler's ``get_pseudobulk`` filters; Crowell et al. 2020 and Squair et al. 2021 for
    why pseudo-bulk, not per-cell, tests are valid).

    Parameters
    ----------
    adata : anndata.AnnData
        Cells x genes, with the sample and cell-type labels in ``obs``.
    sample_col : str
        ``obs`` column with the sample (donor / biopsy) ID; decoupler spells it the same.
    cell_type_col : str
        ``obs`` column with the cell type (``groups_col`` is accepted as decoupler's alias).
    groups_col : str, optional
        Alias of ``cell_type_col``.
    layer : str, optional
        Layer holding the raw counts.  Without it ``adata.raw.X`` is used when present and
        integer, else ``adata.X``.  Non-integer (normalised, log1p) or negative (scaled) data are
        refused: sums of such values are not counts.
    min_cells : int
        Fewest cells a kept unit has.
    min_counts : float
        Fewest total counts (all genes) a kept unit has.
    cell_types : sequence of str, optional
        Cell types to aggregate (default all).  ``n_cells`` and ``proportions`` always cover
        every cell type.

    Returns
    -------
    PseudobulkResult
        ``counts`` (cell type -> samples x genes int64 DataFrame), ``n_cells``,
        ``proportions``, ``removed``, ``sample_metadata``, ``varying_columns``.

    Raises
    ------
    InputError
        ``adata`` is not an AnnData; a named column is missing (the message lists the obs
        columns); a sample or cell-type label is missing; the counts are not counts; an unknown
        cell type is requested; or no unit is left.

    Notes
    -----
    Sample IDs and cell-type names are turned into strings (toolkit convention); a categorical
    column keeps its category order, other columns are sorted.  The sums are exact integers
    (float64 accumulation, exact below :math:`2^{53}`), so they equal edgeR's ``sumTechReps``
    (checked: identical on simulated data) and decoupler's ``mode="sum"`` on the same cells.
    Results can differ from decoupler's in which units are kept: its default ``min_counts`` is
    1000 (here 0, set it to match), and it can also drop genes by expression, which is left
    to :func:`~radiogenomics.expression.normalize.filter_by_expr` here.  ``adata`` may be
    backed (``read_h5ad(path, backed="r")``): the matrix is then read from disk chunk by
    chunk.
    """
    adata, sample_col, cell_type_col = _check_input(adata, sample_col, cell_type_col,
                                                    groups_col, min_cells, min_counts)
    s_codes, samples = _labels(adata.obs, sample_col, "sample ID")
    t_codes, types = _labels(adata.obs, cell_type_col, "cell type")
    S, K = len(samples), len(types)
    wanted = _wanted(types, cell_types, cell_type_col)
    unit = np.where(wanted[t_codes], s_codes * K + t_codes, -1)
    sums, genes, source = _sum_counts(adata, layer, unit, S * K)

    ncell = np.bincount(s_codes * K + t_codes, minlength=S * K).reshape(S, K)
    total = sums.sum(axis=1).reshape(S, K)
    samples = pd.Index(samples, name="sample_id")
    types_ix = pd.Index(types, name="cell_type")
    n_cells = pd.DataFrame(ncell, index=samples, columns=types_ix)
    counts, removed = _split_units(sums, ncell, total, wanted, samples, types, genes,
                                   min_cells, min_counts)
    if not counts:
        most = int(ncell[:, wanted].max())
        raise InputError(
            f"no pseudo-bulk unit left: all {int((ncell[:, wanted] > 0).sum())} (sample, cell "
            f"type) units have fewer than min_cells={min_cells} cells (largest: {most}) or fewer "
            f"than min_counts={min_counts:g} counts; lower min_cells / min_counts or check "
            f"sample_col={sample_col!r} and cell_type_col={cell_type_col!r}")
    meta, varying = _sample_metadata(adata.obs, s_codes, samples, (sample_col, cell_type_col))
    return PseudobulkResult(
        counts=counts, n_cells=n_cells, proportions=n_cells.div(n_cells.sum(axis=1), axis=0),
        removed=removed, sample_metadata=meta, varying_columns=varying, source=source,
        min_cells=min_cells, min_counts=min_counts,
        total_counts=pd.DataFrame(np.where(wanted[None, :], total, 0), index=samples,
                                  columns=types_ix))


def _check_input(adata, sample_col, cell_type_col, groups_col, min_cells, min_counts):
    """Refuse a non-AnnData, clashing aliases, bad thresholds and missing obs columns."""
    try:
        import anndata
    except ImportError as exc:  # pragma: no cover - anndata is a required dependency
        raise ImportError("pseudobulk needs anndata (pip install anndata)") from exc
    if not isinstance(adata, anndata.AnnData):
        raise InputError(f"adata must be an anndata.AnnData (cells x genes), got "
                         f"{type(adata).__name__}; build one with anndata.AnnData(X, obs=obs) "
                         "or read it with pseudobulk_from_h5ad(path)")
    if groups_col is not None:
        if cell_type_col not in ("cell_type", groups_col):
            raise InputError(f"cell_type_col={cell_type_col!r} and groups_col={groups_col!r} "
                             "name different columns; pass only one (groups_col is decoupler's "
                             "name for cell_type_col)")
        cell_type_col = groups_col
    for name, v in (("min_cells", min_cells), ("min_counts", min_counts)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number)) \
                or not v >= 0:
            raise InputError(f"{name} must be a non-negative number, got {v!r}")
    obs = adata.obs
    missing = [c for c in (sample_col, cell_type_col) if c not in obs.columns]
    if missing:
        raise InputError(
            f"adata.obs lacks column(s) {listing(missing)} (it has "
            f"{listing(obs.columns, 20) or 'no columns'}); pass sample_col= and cell_type_col= "
            "(or groups_col=) naming the columns with the sample ID and the cell type")
    if sample_col == cell_type_col:
        raise InputError(f"sample_col and cell_type_col are both {sample_col!r}; they must name "
                         "two different obs columns")
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise InputError(f"adata is empty ({adata.n_obs} cells x {adata.n_vars} genes); "
                         "supply cells and genes")
    return adata, sample_col, cell_type_col


def _wanted(types: pd.Index, cell_types, col: str) -> np.ndarray:
    """Boolean mask of the cell types to aggregate (all by default); unknown names refused."""
    if cell_types is None:
        return np.ones(len(types), bool)
    req = [cell_types] if isinstance(cell_types, str) else [str(c) for c in cell_types]
    unknown = [c for c in req if c not in types]
    if unknown or not req:
        raise InputError(f"cell_types {listing(unknown) or '(empty)'} not found in obs[{col!r}] "
                         f"(it has {listing(types, 20)}); pick cell types from that column")
    return np.asarray(types.isin(req))


def _sum_counts(adata, layer, unit, n_units):
    """Sums per unit from the first candidate matrix that holds counts; (sums, genes, source)."""
    errors = []
    for M, genes, desc in _pick_matrix(adata, layer):
        try:
            sums = _aggregate(M, unit, n_units)
        except _NotCounts as why:
            errors.append(f"{desc} {why}")
            continue
        source = desc + (f" ({'; '.join(errors)}: skipped)" if errors else "")
        return np.rint(sums).astype(np.int64), pd.Index(np.asarray(genes).astype(str)), source
    avail = listing(adata.layers.keys()) or "none"
    raise InputError(
        f"no raw counts found: {'; '.join(errors)}; pseudo-bulk sums raw counts, so pass the "
        f"layer that holds them, e.g. layer='counts' (layers: {avail}), or keep them before "
        "normalising (adata.layers['counts'] = adata.X.copy())")


def _split_units(sums, ncell, total, wanted, samples, types, genes, min_cells, min_counts):
    """Per cell type the frame of kept units, and the table of removed units with reasons."""
    S, K = ncell.shape
    counts, rows = {}, []
    for k, ct in enumerate(types):
        if not wanted[k]:
            continue
        keep = np.zeros(S, bool)
        for s in range(S):
            n, tot = int(ncell[s, k]), int(total[s, k])
            why = []
            if n == 0:
                why.append("no cells of this type in the sample")
            else:
                if n < min_cells:
                    why.append(f"fewer than min_cells={min_cells} cells")
                if tot < min_counts:
                    why.append(f"fewer than min_counts={min_counts:g} counts")
            if why:
                rows.append((samples[s], ct, n, tot, "; ".join(why)))
            else:
                keep[s] = True
        if keep.any():
            counts[ct] = pd.DataFrame(sums[np.flatnonzero(keep) * K + k], index=samples[keep],
                                      columns=genes)
    cols = ["sample", "cell_type", "n_cells", "total_counts", "reason"]
    return counts, pd.DataFrame(rows, columns=cols)


def pseudobulk_from_h5ad(path: str | os.PathLike, *, backed: bool = False,
                         **kw) -> PseudobulkResult:
    """Read an ``.h5ad`` file with :func:`anndata.read_h5ad` and run :func:`pseudobulk` on it.

    Parameters
    ----------
    path : str or path-like
        The ``.h5ad`` file.
    backed : bool
        Open the file read-only in backed mode (``read_h5ad(path, backed="r")``): the cell
        matrix stays on disk and is read chunk by chunk, for files larger than memory.  The file
        is closed before returning.
    **kw
        Keyword arguments of :func:`pseudobulk`.
    """
    import anndata

    if not os.path.isfile(path):
        raise InputError(f"no h5ad file at {os.fspath(path)!r}; check the path (relative "
                         f"paths start at {os.getcwd()!r})")
    adata = anndata.read_h5ad(path, backed="r" if backed else None)
    try:
        return pseudobulk(adata, **kw)
    finally:
        if backed:
            adata.file.close()
