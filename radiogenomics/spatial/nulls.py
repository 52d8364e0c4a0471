"""Spatially constrained null models: surrogate maps for one tissue section.

A permutation null that shuffles spots freely destroys spatial autocorrelation, so two smooth
maps (an imaging map and a gene's expression) look correlated far more often than the nominal
rate.  The generators here keep the autocorrelation of the map and randomise its placement:

* :func:`torus_shifts` - cyclic shifts of a complete square or Visium hexagonal lattice
  (toroidal shift; Fortin & Jacquez 2000).  Index maps.
* :func:`spin_permutations` - random rotations (and reflections) of a roughly circular
  section about its centre, the 2-D analogue of the spin test (Alexander-Bloch et al. 2018,
  *NeuroImage* 178:540), with nearest-spot or bijective (Hungarian; Vasa et al. 2018,
  *Cereb Cortex* 28:281) reassignment, as BrainSpace's ``spin_permutations``.  Index maps.
* :func:`msr_surrogates` - Moran spectral randomisation (Wagner & Dray 2015, *Methods Ecol
  Evol* 6:1169) exactly as BrainSpace 0.3.0 ``MoranRandomization``.  Values.
* :func:`variogram_surrogates` - variogram-matching surrogates (Burt et al. 2020,
  *NeuroImage* 220:117038) exactly as brainsmash 0.11 ``brainsmash.mapgen.Base``.  Values.

Index maps are int arrays ``(B, n)`` with ``surrogate_b = x[indices[b]]``; value surrogates
are float arrays ``(B, n)`` (or ``(B, n, p)``).  Every generator returns a
:class:`SpatialSurrogates` with per-surrogate diagnostics (``to_frame()``).  Spots are never
dropped: inputs with NaN are refused with the fix.  Sections are handled one at a time; the
caller gives each section its own child seed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from .._checks import InputError, as_matrix, check_rng

__all__ = [
    "SpatialSurrogates", "MoranEigenmaps", "torus_shifts", "spin_permutations",
    "moran_eigenmaps", "msr_surrogates", "variogram_surrogates", "smoothed_variogram",
]

_ANY_LAYOUT = ('msr_surrogates ("msr") or variogram_surrogates ("variogram"), which accept any '
               'spot layout')
_ALTERNATIVES = f'use spin_permutations ("spin", roughly circular sections), {_ANY_LAYOUT}'



@dataclass(repr=False)
class SpatialSurrogates:
    """Surrogate maps of one section.

    ``indices`` (B, n) int are index maps (torus, spin: surrogate ``b`` of ``x`` is
    ``x[indices[b]]``, see :meth:`apply`); ``values`` (B, n) or (B, n, p) are surrogate values
    (msr, variogram).  ``n_requested`` is what was asked for: ``torus_shifts`` returns every
    non-identity shift once when there are fewer (``exhaustive=True``).  ``diagnostics`` has
    one row per surrogate (angle, shift, chosen smoothing ...; :meth:`to_frame`), ``params``
    the settings and summary diagnostics, ``notes`` warnings worth keeping with the result.
    """

    method: str
    indices: np.ndarray | None
    values: np.ndarray | None
    n_requested: int
    exhaustive: bool = False
    diagnostics: pd.DataFrame = field(default_factory=pd.DataFrame)
    params: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def n_surrogates(self) -> int:
        arr = self.indices if self.indices is not None else self.values
        return int(arr.shape[0])

    @property
    def n_spots(self) -> int:
        arr = self.indices if self.indices is not None else self.values
        return int(arr.shape[1])

    def apply(self, x) -> np.ndarray:
        """Surrogates of ``x`` (n,) or (n, p) from the index maps: ``x[indices]``, (B, n[, p])."""
        if self.indices is None:
            raise InputError(f"{self.method} surrogates are values generated from one map, not "
                             "index maps; use .values (regenerate them for another map)")
        arr = np.asarray(x)
        if arr.shape[0] != self.n_spots:
            raise InputError(f"x has {arr.shape[0]} spots but the surrogates were built for "
                             f"{self.n_spots}; pass the map of the same section, in spot order")
        return arr[self.indices]

    def to_frame(self) -> pd.DataFrame:
        """Per-surrogate diagnostics (one row per surrogate)."""
        return self.diagnostics.copy()

    def __repr__(self) -> str:
        kind = "index maps" if self.indices is not None else "values"
        shown = {k: v for k, v in self.params.items() if np.isscalar(v) or v is None}
        lines = [f"SpatialSurrogates(method={self.method!r}, {self.n_surrogates} x "
                 f"{self.n_spots} {kind}, requested={self.n_requested}, "
                 f"exhaustive={self.exhaustive})",
                 "  " + ", ".join(f"{k}={v}" for k, v in shown.items())]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _n_surrogates(n_surrogates) -> int:
    if isinstance(n_surrogates, (bool, np.bool_)) \
            or not isinstance(n_surrogates, (int, np.integer)) or n_surrogates < 1:
        raise InputError(f"n_surrogates must be a positive integer, got {n_surrogates!r}; "
                         "e.g. n_surrogates=1000")
    return int(n_surrogates)


# ---------------------------------------------------------------------------------- torus
def _lattice(grid, even_hex: bool = True) -> tuple[np.ndarray, np.ndarray, int, int, str]:
    """Normalised (row, col) positions, lattice shape and kind ("square" / "hex")."""
    g = np.asarray(grid)
    if g.ndim != 2 or g.shape[1] != 2 or g.shape[0] < 2:
        raise InputError(f"grid must be an (n, 2) array of integer (row, col) positions, got "
                         f"shape {g.shape}; pass e.g. adata.obs[['array_row', 'array_col']]")
    if g.dtype.kind == "f" and np.all(np.isfinite(g)) and np.all(g == np.round(g)):
        g = g.astype(np.int64)
    if g.dtype.kind not in "iu":
        raise InputError("grid must hold integer (row, col) lattice positions (e.g. Visium "
                         f"array_row/array_col), got dtype {g.dtype}; for coordinates in pixels "
                         f"or mm {_ALTERNATIVES}")
    r = (g[:, 0] - g[:, 0].min()).astype(np.int64)
    c = (g[:, 1] - g[:, 1].min()).astype(np.int64)
    n_rows, n_cols = int(r.max()) + 1, int(c.max()) + 1
    code = r * n_cols + c
    if np.unique(code).size != code.size:
        raise InputError("grid has repeated (row, col) positions; give each spot its own lattice "
                         "position (one row per spot of one section)")
    n = r.size
    if n == n_rows * n_cols:
        return r, c, n_rows, n_cols, "square"
    par = (r + c) % 2
    if np.all(par == par[0]) and n_rows % 2 == 0 and n_cols % 2 == 0 and 2 * n == n_rows * n_cols:
        return r, c, n_rows, n_cols, "hex"
    if np.all(par == par[0]) and n_rows > 1 and n_cols > 1:
        full = (n_rows * n_cols + 1) // 2 if par[0] == 0 else n_rows * n_cols // 2
        if n == full and not even_hex:
            return r, c, n_rows, n_cols, "hex"
        if n == full:
            raise InputError(
                f"the hexagonal lattice has {n_rows} rows x {n_cols} columns; a torus shift keeps "
                "the hexagonal parity only with an even number of both; drop the last row or "
                f"column of spots, or {_ALTERNATIVES}")
        missing = full - n
        shape = "hexagonal"
    else:
        missing = n_rows * n_cols - n
        shape = "square"
    raise InputError(
        f"torus shifts need spots at every position of a complete lattice, but {missing} of the "
        f"{n + missing} positions of the {n_rows} x {n_cols} {shape} lattice spanned by the grid "
        f"have no spot (tissue rarely covers the whole capture area); {_ALTERNATIVES}")


def torus_shifts(grid, n_surrogates: int = 1000, rng=None, *, exhaustive: bool = True,
                 wrap: str = "reflect") -> SpatialSurrogates:
    """Toroidal shifts of a complete lattice, as index maps.

    The spots must fill a rectangular lattice of ``R x C`` positions: a square lattice, or the
    Visium hexagonal lattice in which only positions with ``array_row + array_col`` of one
    parity hold spots.  Shift ``(dr, dc)`` maps position ``(r, c)`` to ``(w_R(r + dr),
    w_C(c + dc))``; surrogate ``b`` of ``x`` is ``x[indices[b]]`` with ``indices[b, i]`` the
    spot at the shifted position of spot ``i``.  On the hexagonal lattice only shifts with
    ``dr + dc`` even are used (they keep the parity).  Toroidal shift test: Upton &
    Fingleton 1985, *Spatial Data Analysis by Example*; Fortin & Jacquez 2000, *Geogr Anal*
    32:35.

    ``wrap="periodic"``: ``w_R(i) = i mod R``, the lattice is a torus.  Translations on a torus
    preserve every neighbour relation, so each surrogate is a permutation with exactly the
    map's autocorrelation *if the map is periodic*.  A map of tissue is not: wrapping joins
    its opposite edges in a seam that breaks the autocorrelation, the surrogates are rougher
    than the map and the null too narrow (family-wise error 0.15-0.38 instead of 0.05 for
    non-periodic Gaussian fields of 1.5-6 spot spacings on 12 x 12 lattices:
    ``benchmarks/validity_spatial.py``).  ``wrap="reflect"`` (default): the map is first
    mirrored across its last row and column without repeating them (period ``2 (R - 1)`` by
    ``2 (C - 1)``, numpy's ``mode="reflect"``), so that the periodic extension is continuous
    and shifting it leaves no seam; ``w_R(i) = j`` or ``2 (R - 1) - j`` with
    ``j = i mod 2 (R - 1)``.  A surrogate is then not a permutation (mirrored copies of some
    spots replace others), but its local autocorrelation matches the map's.

    Parameters
    ----------
    grid : array (n, 2) of int
        ``(row, col)`` lattice positions of the spots (e.g. Visium ``array_row, array_col``).
    n_surrogates : int
        Shifts to draw, uniformly without replacement among the non-identity shifts.
    rng : int or numpy.random.Generator
        Seed or generator.
    exhaustive : bool
        When ``n_surrogates`` is at least the number of non-identity shifts, return each of
        them once (fewer surrogates than requested; ``result.exhaustive`` is True).  With
        ``exhaustive=False`` exactly ``n_surrogates`` shifts are then drawn with replacement.

    wrap : {"reflect", "periodic"}
        How the lattice is closed (above).

    Raises
    ------
    InputError
        When the positions do not fill a complete lattice (use spin, msr or variogram).
    """
    B = _n_surrogates(n_surrogates)
    if wrap not in ("reflect", "periodic"):
        raise InputError(f"wrap must be 'reflect' or 'periodic', got {wrap!r}")
    r, c, n_rows, n_cols, kind = _lattice(grid, even_hex=wrap == "periodic")
    rng = check_rng(rng)
    per_r = n_rows if wrap == "periodic" else max(2 * (n_rows - 1), 1)
    per_c = n_cols if wrap == "periodic" else max(2 * (n_cols - 1), 1)
    dr_all, dc_all = np.divmod(np.arange(per_r * per_c), per_c)
    keep = (dr_all + dc_all) % 2 == 0 if kind == "hex" else np.ones(dr_all.size, bool)
    keep[0] = False  # the identity
    dr_all, dc_all = dr_all[keep], dc_all[keep]
    n_shift = dr_all.size
    if n_shift == 0:
        raise InputError(f"a {n_rows} x {n_cols} lattice has no non-identity shift; "
                         f"{_ALTERNATIVES}")
    notes = []
    if B < n_shift:
        pick = np.sort(rng.choice(n_shift, size=B, replace=False))
    elif exhaustive:
        pick = np.arange(n_shift)
    else:
        pick = rng.choice(n_shift, size=B, replace=True)
        notes.append(f"only {n_shift} distinct shifts: {B} drawn with replacement")
    exhaustive = B >= n_shift and exhaustive
    dr, dc = dr_all[pick], dc_all[pick]
    lut = np.full((n_rows, n_cols), -1, dtype=np.int64)
    lut[r, c] = np.arange(r.size)
    rows = (r[None, :] + dr[:, None]) % per_r
    cols = (c[None, :] + dc[:, None]) % per_c
    if wrap == "reflect":
        rows = np.where(rows < n_rows, rows, per_r - rows)
        cols = np.where(cols < n_cols, cols, per_c - cols)
    idx = lut[rows, cols]
    diag = pd.DataFrame({"shift_row": dr, "shift_col": dc})
    return SpatialSurrogates(
        "torus", idx, None, B, exhaustive, diag,
        {"lattice": kind, "n_rows": n_rows, "n_cols": n_cols, "n_distinct_shifts": n_shift,
         "wrap": wrap}, notes)


# ----------------------------------------------------------------------------------- spin
def _spin_angles(rng, B: int, reflect: bool):
    angles = rng.uniform(0.0, 2.0 * np.pi, size=B)
    flips = rng.random(B) < 0.5 if reflect else np.zeros(B, dtype=bool)
    return angles, flips


def _rotate(q: np.ndarray, angle: float, flip: bool) -> np.ndarray:
    """Reflect (x -> -x) if ``flip``, then rotate counter-clockwise by ``angle``."""
    x = -q[:, 0] if flip else q[:, 0]
    ca, sa = np.cos(angle), np.sin(angle)
    return np.column_stack([ca * x - sa * q[:, 1], sa * x + ca * q[:, 1]])


def _spin_setup(coords, method: str, center):
    """Centred coordinates, centre, KD-tree and spot spacing (median nearest-neighbour distance)."""
    P, _, _ = as_matrix(coords, "coords", min_rows=3)
    if P.shape[1] != 2:
        raise InputError(f"coords must have 2 columns (x, y), got {P.shape[1]}; pass the spot "
                         "centres of one section")
    if method not in ("nearest", "hungarian"):
        raise InputError(f"method must be 'nearest' or 'hungarian', got {method!r}")
    if method == "hungarian" and P.shape[0] > 3000:
        raise InputError(f"method='hungarian' solves an n x n assignment per surrogate (O(n^3)); "
                         f"n = {P.shape[0]} is too large: use method='nearest'")
    ctr = P.mean(axis=0) if center is None else np.asarray(center, dtype=np.float64).reshape(2)
    Q = P - ctr
    tree = cKDTree(Q)
    spacing = float(np.median(tree.query(Q, k=2)[0][:, 1]))
    if not spacing > 0:
        raise InputError("coords hold repeated spot positions (median nearest-neighbour distance "
                         "0); give each spot its own centre")
    return Q, ctr, tree, spacing


def spin_permutations(coords, n_surrogates: int = 1000, rng=None, *, center=None,
                      method: str = "nearest", reflect: bool = False,
                      max_outside: float = 0.2) -> SpatialSurrogates:
    """Spin-test index maps for a roughly circular section (2-D spin test).

    Each surrogate rotates the spot coordinates about ``center`` by an angle drawn uniformly
    from [0, 2 pi) (after a reflection x -> -x with probability 1/2 when ``reflect``) and
    gives spot ``i`` the value of the spot nearest to its rotated position (Alexander-Bloch
    et al. 2018, *NeuroImage* 178:540; BrainSpace ``spin_permutations`` queries the original
    points at the rotated ones the same way).  ``method="nearest"`` can use one spot's value
    twice and skip others; ``method="hungarian"`` makes the reassignment a permutation by
    minimising the total distance between rotated and original positions with
    :func:`scipy.optimize.linear_sum_assignment` (Vasa et al. 2018, *Cereb Cortex* 28:281;
    BrainSpace ``unique=True``), O(n^3): small sections only.

    Only a disc is invariant under rotation.  A rotated spot farther than one spot spacing
    (median nearest-neighbour distance) from every spot has "left the section"; the mean
    fraction of such spots is reported (``params["outside_fraction"]`` and per surrogate) and
    a warning is given above 0.02; above ``max_outside`` the call is refused.

    Parameters
    ----------
    coords : array (n, 2)
        Spot centres (one unit).
    n_surrogates : int
    rng : int or numpy.random.Generator
    center : (2,) array, optional
        Rotation centre; default the centroid of the spots.
    method : {"nearest", "hungarian"}
    reflect : bool
        Also draw reflections (uniform over rotations and reflections).
    max_outside : float
        Largest accepted mean fraction of rotated spots outside the section.
    """
    B = _n_surrogates(n_surrogates)
    Q, ctr, tree, spacing = _spin_setup(coords, method, center)
    n = Q.shape[0]
    rng = check_rng(rng)
    angles, flips = _spin_angles(rng, B, reflect)
    idx = np.empty((B, n), dtype=np.int64)
    outside = np.empty(B)
    for b in range(B):
        rot = _rotate(Q, angles[b], flips[b])
        dist, near = tree.query(rot, k=1)
        outside[b] = np.mean(dist > spacing)
        if method == "nearest":
            idx[b] = near
        else:
            _, col = linear_sum_assignment(cdist(rot, Q))
            idx[b] = col
    frac = float(outside.mean())
    distinct = np.array([np.unique(row).size for row in idx]) / n
    diag = pd.DataFrame({"angle": angles, "reflected": flips, "outside_fraction": outside,
                         "distinct_fraction": distinct})
    params = {"method": method, "reflect": reflect, "outside_fraction": frac,
              "spacing": spacing, "center": tuple(ctr)}
    fix = (f"the section is far from a disc (on average {frac:.1%} of rotated spots fall more "
           "than one spot spacing from any spot)")
    if frac > max_outside:
        raise InputError(f"{fix}; crop the section to a disc, pass max_outside="
                         f"{np.ceil(frac * 100) / 100:.2f} to "
                         f"accept it, or use {_ANY_LAYOUT}")
    notes = []
    if frac > 0.02:
        notes.append(fix)
        warnings.warn(fix + "; spin surrogates then misplace values near the border", stacklevel=2)
    return SpatialSurrogates("spin", idx, None, B, False, diag, params, notes)


# ------------------------------------------------------------------------------------ MSR
@dataclass(repr=False)
class MoranEigenmaps:
    """Moran eigenvector maps of a weight matrix (BrainSpace ``compute_mem``).

    ``vectors`` (n, k) are eigenvectors of the doubly centred symmetrised weight matrix
    ``H W_s H`` (``W_s = (W + W') / 2``, ``H = I - 11'/n``), columns in decreasing order of
    ``values`` (k,).  ``n_zero`` eigenvalues had ``|lambda| < tol``.
    """

    vectors: np.ndarray
    values: np.ndarray
    spectrum: str
    tol: float
    n_zero: int
    symmetrised: bool

    def __repr__(self) -> str:
        return (f"MoranEigenmaps(n={self.vectors.shape[0]}, k={self.vectors.shape[1]}, "
                f"spectrum={self.spectrum!r}, n_zero={self.n_zero}, "
                f"lambda in [{self.values.min():.4g}, {self.values.max():.4g}], "
                f"symmetrised={self.symmetrised})")


def _dense_weights(weights) -> np.ndarray:
    W = getattr(weights, "matrix", weights)
    W = W.toarray() if sp.issparse(W) else np.asarray(W, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] < 3:
        raise InputError(f"weights must be a square (n, n) matrix with n >= 3, got shape "
                         f"{W.shape}; build them with knn_weights or distance_weights")
    if not np.all(np.isfinite(W)):
        raise InputError("weights hold NaN or infinite entries; rebuild the spatial weights")
    return W


def moran_eigenmaps(weights, spectrum: str = "nonzero", tol: float = 1e-10) -> MoranEigenmaps:
    """Moran eigenvector maps (MEM) of a spatial weight matrix, as BrainSpace ``compute_mem``.

    ``W`` is symmetrised, ``W_s = (W + W') / 2``, and doubly centred,
    ``Wc = W_s - 1 m' - m 1' + mean(W_s)`` with ``m`` the column means (= ``H W_s H``); its
    eigenvectors in decreasing eigenvalue order are the MEM (Dray, Legendre & Peres-Neto 2006,
    *Ecol Model* 196:483).  ``spectrum="nonzero"`` keeps those with ``|lambda| >= tol``;
    ``"all"`` keeps all but one: the zero eigenspace (which contains the constant vector) is
    replaced by an orthonormal basis of its part orthogonal to the constant.

    Differences from BrainSpace 0.3.0, on purpose: the decomposition is in float64 (BrainSpace
    uses float32, whose zero eigenvalues come out near 1e-7 > ``tol`` so that "nonzero" keeps
    the constant direction); and for ``"all"`` with several zero eigenvalues the dropped
    direction is the constant one (BrainSpace drops the first zero eigenvector after a QR step).
    """
    if spectrum not in ("nonzero", "all"):
        raise InputError(f"spectrum must be 'nonzero' or 'all', got {spectrum!r}")
    W = _dense_weights(weights)
    Ws = 0.5 * (W + W.T)
    symmetrised = not np.array_equal(Ws, W)
    m = Ws.mean(axis=0, keepdims=True)
    Wc = Ws - m - m.T + Ws.mean()
    ev, mem = np.linalg.eigh(Wc)
    ev, mem = ev[::-1].copy(), mem[:, ::-1].copy()
    zero = np.abs(ev) < tol
    n_zero = int(zero.sum())
    if spectrum == "nonzero":
        ev, mem = ev[~zero], mem[:, ~zero]
    else:
        if n_zero == 0:
            raise InputError("the doubly centred weight matrix has no zero eigenvalue (check "
                             "tol); spectrum='all' needs one, use spectrum='nonzero'")
        Z = mem[:, zero]
        Zc = Z - Z.mean(axis=0)  # project out the constant direction
        u, s, _ = np.linalg.svd(Zc, full_matrices=False)
        first = int(np.argmax(zero))
        keep = np.flatnonzero(~zero)
        basis = u[:, : n_zero - 1]
        mem = np.column_stack([mem[:, keep[keep < first]], basis, mem[:, keep[keep > first]]])
        ev = np.concatenate([ev[keep[keep < first]], np.zeros(n_zero - 1), ev[keep[keep > first]]])
    if mem.shape[1] == 0:
        raise InputError("the weight matrix has no non-zero Moran eigenvalue (no spot has a "
                         "neighbour?); rebuild the weights with more neighbours")
    return MoranEigenmaps(mem, ev, spectrum, float(tol), n_zero, symmetrised)


def _msr_correlations(X: np.ndarray, mem: np.ndarray) -> np.ndarray:
    """Correlations (k, p) of the MEM columns with the columns of X (cdist 'correlation')."""
    Ec = mem - mem.mean(axis=0)
    Xc = X - X.mean(axis=0)
    return (Ec.T @ Xc) / np.outer(np.linalg.norm(Ec, axis=0), np.linalg.norm(Xc, axis=0))


def _msr_draws(rng, B: int, k: int, n_cols: int, procedure: str) -> dict:
    """The random draws of B MSR surrogates (signs, or permutations/odd signs/angles)."""
    if procedure == "singleton":
        return {"signs": rng.choice(np.array([-1.0, 1.0]), size=(B, k, n_cols))}
    perms = np.argsort(rng.random((B, k)), axis=1)
    odd = rng.choice(np.array([-1.0, 1.0]), size=(B, n_cols))
    phis = rng.uniform(0.0, 2.0 * np.pi, size=(B, k // 2, n_cols))
    return {"perms": perms, "odd_signs": odd, "phis": phis}


def _msr_coefficients(rxv, procedure, joint, signs=None, perms=None, odd_signs=None, phis=None):
    """Randomised MEM coefficients (B, k, p), BrainSpace ``moran_randomization`` step 2."""
    if procedure == "singleton":
        return rxv[None, :, :] * signs
    B, k = perms.shape
    n_pairs = k // 2
    ia, ib = perms[:, :n_pairs], perms[:, n_pairs:2 * n_pairs]
    ra, rb = rxv[ia], rxv[ib]  # (B, n_pairs, p)
    rho = np.sqrt(ra ** 2 + rb ** 2)
    phi = phis + np.arctan2(ra, rb) if joint else phis
    out = np.empty((B, k, rxv.shape[1]))
    b = np.arange(B)[:, None]
    out[b, ia] = rho * np.cos(phi)
    out[b, ib] = rho * np.sin(phi)
    if 2 * n_pairs != k:  # odd number of MEM: the last one of the permutation gets a sign flip
        last = perms[:, -1]
        out[np.arange(B), last] = rxv[last] * odd_signs
    return out


def _msr_from_draws(X: np.ndarray, mem: np.ndarray, procedure: str, joint: bool,
                    **draws) -> np.ndarray:
    """MSR surrogates (B, n, p) of X (n, p) for given MEM and draws (BrainSpace formula).

    ``sim = mean(x) + MEM @ r* * sqrt(n - 1) * sd(x)``, ``r*`` the randomised correlations.
    """
    rxv = _msr_correlations(X, mem)
    scale = np.sqrt(X.shape[0] - 1) * X.std(axis=0, ddof=1)
    coef = _msr_coefficients(rxv, procedure, joint, **draws)  # (B, k, p)
    B, k, p = coef.shape
    sims = np.empty((B, X.shape[0], p))
    step = max(1, 2048 // p)
    for s in range(0, B, step):
        blk = coef[s:s + step]
        prod = mem @ blk.transpose(1, 0, 2).reshape(k, -1)
        sims[s:s + step] = prod.reshape(X.shape[0], -1, p).transpose(1, 0, 2)
    return X.mean(axis=0) + sims * scale


def msr_surrogates(X, weights, n_surrogates: int = 1000, rng=None, *,
                   procedure: str = "singleton", joint: bool = True, spectrum: str = "nonzero",
                   tol: float = 1e-10) -> SpatialSurrogates:
    """Moran spectral randomisation (Wagner & Dray 2015), as BrainSpace ``MoranRandomization``.

    With MEM ``e_1..e_k`` (:func:`moran_eigenmaps`) and ``r_kj = cor(e_k, x_j)``, a surrogate
    is ``x*_j = mean(x_j) + sqrt(n - 1) sd(x_j) sum_k r*_kj e_k`` where

    * ``procedure="singleton"``: ``r*_kj = s_k r_kj`` with random signs ``s_k = +-1``.  The
      surrogate keeps the mean, the variance and the Moran's I of ``x`` (for the symmetrised
      weights) exactly when ``x - mean`` lies in the span of the MEM (always for
      ``spectrum="all"``).
    * ``procedure="pair"``: the MEM are randomly paired and each pair's coefficients rotated
      by a uniform random angle (an odd one out gets a random sign); mean and variance are kept
      (same condition), Moran's I approximately.

    ``joint=True`` uses the same draws for every column of ``X`` (their cross-correlations are
    kept); BrainSpace's default is ``joint=False``.

    Parameters
    ----------
    X : array (n,) or (n, p)
    weights : SpatialWeights, scipy.sparse or dense (n, n), or MoranEigenmaps
        Spatial weights of the section (or their MEM, to reuse one decomposition).
    n_surrogates : int
    rng : int or numpy.random.Generator
    procedure : {"singleton", "pair"}
    joint : bool
    spectrum, tol :
        Passed to :func:`moran_eigenmaps` (ignored when ``weights`` is a MoranEigenmaps).

    Returns
    -------
    SpatialSurrogates
        ``values`` of shape (B, n) for 1-D ``X``, else (B, n, p).
    """
    B = _n_surrogates(n_surrogates)
    if procedure not in ("singleton", "pair"):
        raise InputError(f"procedure must be 'singleton' or 'pair', got {procedure!r}")
    one_d = np.ndim(X) == 1
    arr, _, names = as_matrix(X, "X", min_rows=3)
    sd = arr.std(axis=0)
    if np.any(sd == 0):
        raise InputError(f"X has constant column(s) {list(names[sd == 0])}; a constant map has "
                         "no spatial pattern to randomise, drop it")
    maps = (weights if isinstance(weights, MoranEigenmaps)
            else moran_eigenmaps(weights, spectrum, tol))
    mem = maps.vectors
    if mem.shape[0] != arr.shape[0]:
        raise InputError(f"X has {arr.shape[0]} spots but the weights {mem.shape[0]}; pass the "
                         "weights of the same section, spots in the same order")
    rng = check_rng(rng)
    n_cols = 1 if joint else arr.shape[1]
    draws = _msr_draws(rng, B, mem.shape[1], n_cols, procedure)
    vals = _msr_from_draws(arr, mem, procedure, joint, **draws)
    if one_d:
        vals = vals[:, :, 0]
    params = {"procedure": procedure, "joint": joint, "spectrum": maps.spectrum,
              "n_eigenvectors": mem.shape[1], "n_zero": maps.n_zero}
    diag = pd.DataFrame({"surrogate": np.arange(B)})
    return SpatialSurrogates("msr", None, vals, B, False, diag, params)


# the variogram-matched surrogates live in their own module (re-exported here)
from ._variogram import (_variogram_from_draws, smoothed_variogram,  # noqa: E402,F401
                         variogram_surrogates)
