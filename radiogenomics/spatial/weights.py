"""Spatial weights between spots: k-nearest-neighbour and distance-band graphs (spdep parity).

A :class:`SpatialWeights` holds the sparse ``(n, n)`` weights matrix ``W`` (row ``i`` = the
weights spot ``i`` gives its neighbours), its coding ``style`` and the spots without neighbours
(``islands``).  The builders reproduce R's **spdep** (1.2-7, without the optional dbscan
package, i.e. spdep's own C code):

* :func:`knn_weights` = ``nb2listw(knn2nb(knearneigh(coords, k)), style)``: the ``k`` nearest
  other spots of each spot (asymmetric: ``j`` may be a neighbour of ``i`` but not ``i`` of
  ``j``).  Distances are Euclidean, computed as ``hypot(dx, dy)`` like spdep's C code, and
  **ties are broken by spot order** (among spots at the same distance the earlier one wins),
  as spdep's insertion sort does.
* :func:`distance_weights` = ``nb2listw(dnearneigh(coords, lower, upper), style)``: every other
  spot with ``lower <= d <= upper`` (spdep's default ``bounds = c("GE", "LE")``; ``bounds``
  changes either end to strict).  Note that spdep *with* dbscan installed uses ``lower < d``.

Styles (spdep ``nb2listw``): ``"B"`` binary (``w_ij = 1``); ``"W"`` row-standardised
(``w_ij = 1 / |N(i)|``); ``"C"`` globally standardised (``w_ij = n_eff / sum(B)``, ``n_eff`` =
spots with neighbours).  The neighbour search uses :class:`scipy.spatial.cKDTree`, so 20,000+
spots take well under a second; exact distances and the tie rule are then applied to the
candidate set.

``sections=`` (one label per spot) builds the graph within each section and never links spots
of different sections: ``W`` is block diagonal after sorting spots by section.  Spots with no
neighbour (possible with a distance band, or a section of one spot) are refused unless
``allow_islands=True`` (spdep's ``zero.policy = TRUE``); they are listed in ``islands`` and
their rows are zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from .._checks import InputError, listing

__all__ = ["SpatialWeights", "knn_weights", "distance_weights", "STYLES"]

STYLES = ("W", "B", "C")


@dataclass(repr=False)
class SpatialWeights:
    """Sparse spatial weights with spdep's coding.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix, shape (n, n)
        ``W[i, j]`` = weight of neighbour ``j`` for spot ``i`` (zero diagonal).
    style : str
        ``"W"`` (row-standardised), ``"B"`` (binary), ``"C"`` (global) or ``"custom"``.
    kind : str
        ``"knn"``, ``"distance"`` or ``"custom"``.
    params : dict
        The builder's parameters (``k``; ``lower``, ``upper``, ``bounds``).
    islands : ndarray of int
        Indices of spots without neighbours (zero rows).
    neighbours : scipy.sparse.csr_matrix
        The binary neighbour structure the style was applied to.
    sections : ndarray or None
        Section label of each spot when built with ``sections=``.
    ids : pandas.Index or None
        Spot IDs (the index of a coordinates DataFrame), used to align data by ID.
    """

    matrix: sparse.csr_matrix
    style: str
    kind: str
    params: dict = field(default_factory=dict)
    islands: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    neighbours: sparse.csr_matrix | None = None
    sections: np.ndarray | None = None
    ids: pd.Index | None = None

    @property
    def n(self) -> int:
        """Number of spots."""
        return self.matrix.shape[0]

    @property
    def cardinalities(self) -> np.ndarray:
        """Number of neighbours of each spot (spdep ``card``)."""
        nb = self.neighbours if self.neighbours is not None else self.matrix
        return np.diff(nb.indptr)

    def constants(self, adjust_n: bool = True) -> dict:
        """spdep ``spweights.constants``: ``n, S0, S1, S2``.

        ``S0 = sum_ij w_ij``, ``S1 = 1/2 sum_ij (w_ij + w_ji)^2``,
        ``S2 = sum_i (w_i. + w_.i)^2``; ``n`` counts only spots with neighbours when
        ``adjust_n`` (spdep's default).
        """
        W = self.matrix
        rs = np.asarray(W.sum(axis=1)).ravel()
        cs = np.asarray(W.sum(axis=0)).ravel()
        S1 = float(W.multiply(W).sum() + W.multiply(W.T).sum())
        n = self.n - (len(self.islands) if adjust_n else 0)
        return {"n": float(n), "S0": float(rs.sum()), "S1": S1, "S2": float(((rs + cs) ** 2).sum())}

    def restyle(self, style: str) -> "SpatialWeights":
        """The same neighbours coded with another ``style`` ("W", "B" or "C")."""
        if self.neighbours is None:
            raise InputError("these weights have no binary neighbour structure to restyle; "
                             "build them with knn_weights or distance_weights")
        return SpatialWeights(_apply_style(self.neighbours, style, len(self.islands)), style,
                              self.kind, dict(self.params), self.islands.copy(), self.neighbours,
                              self.sections, self.ids)

    def to_frame(self) -> pd.DataFrame:
        """Edge list: one row per (spot ``i``, neighbour ``j``) with its weight."""
        coo = self.matrix.tocoo()
        names = self.ids if self.ids is not None else None
        df = pd.DataFrame({"i": coo.row, "j": coo.col, "weight": coo.data})
        if names is not None:
            df.insert(2, "id_i", np.asarray(names)[coo.row])
            df.insert(3, "id_j", np.asarray(names)[coo.col])
        return df.sort_values(["i", "j"], kind="stable").reset_index(drop=True)

    def __repr__(self) -> str:
        card = self.cardinalities
        par = ", ".join(f"{k}={v}" for k, v in self.params.items())
        sec = "" if self.sections is None else f", {len(np.unique(self.sections))} sections"
        return (f"SpatialWeights({self.kind}({par}), style={self.style!r}, n={self.n}{sec}, "
                f"links={self.matrix.nnz}, neighbours min/mean/max="
                f"{card.min()}/{card.mean():.2f}/{card.max()}, islands={len(self.islands)})")


def _apply_style(B: sparse.csr_matrix, style: str, n_islands: int) -> sparse.csr_matrix:
    """spdep ``nb2listw`` coding of a binary neighbour matrix."""
    if style not in STYLES:
        raise InputError(f"style must be one of {STYLES} (spdep nb2listw codes), got {style!r}")
    W = B.astype(np.float64, copy=True)
    if style == "W":
        card = np.diff(W.indptr)
        W.data = np.repeat(1.0 / np.maximum(card, 1), card)
    elif style == "C":
        W.data[:] = (B.shape[0] - n_islands) / float(B.nnz)
    return W


def _check_coords(coords, what: str = "coords") -> tuple[np.ndarray, pd.Index | None]:
    ids = coords.index if isinstance(coords, pd.DataFrame) else None
    try:
        xy = np.asarray(coords, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be numbers (an (n, 2) array of spot centres); convert "
                         "them with pd.to_numeric") from None
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise InputError(f"{what} must have shape (n, 2) (x, y of each spot centre), got "
                         f"{xy.shape}; pass the two coordinate columns only")
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        rows = ids[bad] if ids is not None else np.flatnonzero(bad)
        raise InputError(f"{what} has NaN/inf for {int(bad.sum())} spot(s) ({listing(rows)}); "
                         "drop those spots (and their data) first")
    return xy, ids


def _section_groups(sections, n: int) -> tuple[np.ndarray | None, list[np.ndarray]]:
    """Section labels (or None) and the spot indices of each section."""
    if sections is None:
        return None, [np.arange(n)]
    lab = np.asarray(sections, dtype=object).ravel()
    if lab.size != n:
        raise InputError(f"sections has {lab.size} labels for {n} spots; give one section "
                         "label per spot, in the order of coords")
    if pd.isna(lab).any():
        raise InputError(f"sections is missing for {int(pd.isna(lab).sum())} spot(s); give "
                         "every spot a section label")
    codes, uniq = pd.factorize(lab, sort=True)
    order = np.argsort(codes, kind="stable")
    splits = np.cumsum(np.bincount(codes, minlength=len(uniq)))[:-1]
    return lab, np.split(order, splits)


def _knn_section(xy: np.ndarray, k: int) -> np.ndarray:
    """(m, k) indices of the k nearest other spots, ties by spot order (spdep knearneigh)."""
    m = len(xy)
    tree = cKDTree(xy)
    out = np.empty((m, k), dtype=np.int64)
    todo = np.arange(m)
    kq = min(m, k + 5)
    while todo.size:
        tree_d, idx = tree.query(xy[todo], k=kq)
        idx = np.where(np.isfinite(tree_d), idx, todo[:, None])
        d = np.hypot(xy[todo, 0][:, None] - xy[idx, 0], xy[todo, 1][:, None] - xy[idx, 1])
        d[idx == todo[:, None]] = np.inf  # the spot itself (by index, as spdep)
        order = np.lexsort((idx, d), axis=-1)
        d_sorted = np.take_along_axis(d, order, axis=1)
        kth = d_sorted[:, k - 1]
        # every spot not returned lies at tree distance >= the last one returned: the k-th is
        # final when that is beyond the k-th (with a margin for the two distance roundings)
        done = (kq >= m) | (tree_d[:, -1] > kth * (1 + 1e-9) + 1e-300)
        out[todo[done]] = np.take_along_axis(idx, order, axis=1)[done, :k]
        todo = todo[~done]
        kq = min(m, 2 * kq)
    return out


def _binary_from_pairs(rows: np.ndarray, cols: np.ndarray, n: int) -> sparse.csr_matrix:
    B = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    B.sum_duplicates()
    B.sort_indices()
    return B


def _finish(B, style, kind, params, allow_islands, labels, ids) -> SpatialWeights:
    card = np.diff(B.indptr)
    islands = np.flatnonzero(card == 0)
    if len(islands) and not allow_islands:
        who = ids[islands] if ids is not None else islands
        raise InputError(
            f"{len(islands)} spot(s) have no neighbour with {kind}({params}): "
            f"{listing(who)}; widen the band (larger upper / more k), remove those spots, or "
            "pass allow_islands=True to keep them with zero weights (spdep zero.policy=TRUE)")
    if len(islands) == B.shape[0]:
        raise InputError(f"no spot has a neighbour with {kind}({params}); widen the band")
    W = _apply_style(B, style, len(islands))
    return SpatialWeights(W, style, kind, params, islands, B, labels, ids)


def knn_weights(coords, k: int = 6, style: str = "W", sections=None, *,
                allow_islands: bool = False) -> SpatialWeights:
    """k-nearest-neighbour weights, equal to spdep ``nb2listw(knn2nb(knearneigh(xy, k)))``.

    Parameters
    ----------
    coords : array or DataFrame, shape (n, 2)
        Spot centres (one unit); a DataFrame's index becomes ``ids``.
    k : int
        Neighbours per spot (asymmetric relation, as ``knn2nb(sym = FALSE)``).  Ties at the
        k-th distance go to the spot earlier in ``coords`` (spdep's C ``knearneigh``).
    style : {"W", "B", "C"}
        spdep coding (see module docstring).
    sections : array-like, optional
        Section label per spot; neighbours are searched within each section only.
    allow_islands : bool
        Only relevant for sections with a single spot.

    Returns
    -------
    SpatialWeights
    """
    xy, ids = _check_coords(coords)
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be a positive integer number of neighbours, got {k!r}")
    labels, groups = _section_groups(sections, len(xy))
    rows, cols = [], []
    for g in groups:
        if len(g) == 1 and allow_islands:
            continue
        if k >= len(g):
            sec = "" if labels is None else f" in section {labels[g[0]]!r}"
            raise InputError(f"knn_weights needs more than k={k} spots{sec}, got {len(g)}; use "
                             "a smaller k or drop that section")
        nn = _knn_section(xy[g], int(k))
        rows.append(np.repeat(g, k))
        cols.append(g[nn.ravel()])
    rows = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    cols = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    B = _binary_from_pairs(rows, cols, len(xy))
    return _finish(B, style, "knn", {"k": int(k)}, allow_islands, labels, ids)


def distance_weights(coords, upper: float, lower: float = 0.0, style: str = "W",
                     sections=None, *, bounds=("GE", "LE"),
                     allow_islands: bool = False) -> SpatialWeights:
    """Distance-band weights, equal to spdep ``nb2listw(dnearneigh(xy, lower, upper))``.

    Spot ``j != i`` is a neighbour of ``i`` when ``lower <= d_ij <= upper`` with
    ``d_ij = hypot(x_i - x_j, y_i - y_j)`` (spdep's C ``dnearneigh``, default
    ``bounds = c("GE", "LE")``; ``"GT"`` / ``"LT"`` make an end strict).  The relation is
    symmetric.  Spots with no neighbour in the band raise :class:`InputError` unless
    ``allow_islands=True``.
    """
    xy, ids = _check_coords(coords)
    try:
        upper, lower = float(upper), float(lower)
    except (TypeError, ValueError):
        raise InputError("upper and lower must be distances (numbers in the unit of coords)") from None
    if not (np.isfinite(upper) and np.isfinite(lower)) or upper <= 0 or lower < 0 or lower > upper:
        raise InputError(f"need 0 <= lower <= upper and upper > 0, got lower={lower}, "
                         f"upper={upper}; give the band in the unit of coords")
    if tuple(bounds)[0] not in ("GE", "GT") or tuple(bounds)[1] not in ("LE", "LT"):
        raise InputError(f"bounds must be (\"GE\" or \"GT\", \"LE\" or \"LT\") as in spdep "
                         f"dnearneigh, got {bounds!r}")
    labels, groups = _section_groups(sections, len(xy))
    rows, cols = [], []
    for g in groups:
        sub = xy[g]
        pairs = cKDTree(sub).query_pairs(upper * (1 + 1e-9) + 1e-300, output_type="ndarray")
        a, b = pairs[:, 0], pairs[:, 1]
        d = np.hypot(sub[a, 0] - sub[b, 0], sub[a, 1] - sub[b, 1])
        keep = (d >= lower if bounds[0] == "GE" else d > lower) & \
               (d <= upper if bounds[1] == "LE" else d < upper)
        a, b = g[a[keep]], g[b[keep]]
        rows += [a, b]
        cols += [b, a]
    rows = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    cols = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    B = _binary_from_pairs(rows, cols, len(xy))
    params = {"lower": lower, "upper": upper}
    if tuple(bounds) != ("GE", "LE"):
        params["bounds"] = tuple(bounds)
    return _finish(B, style, "distance", params, allow_islands, labels, ids)
