"""Landmark registration of an imaging map to spot coordinates.

An imaging map (a radiomic feature map, a histology-derived map, a co-registered MR slice)
lives in its own *physical* space: for a NumPy array, ``(x, y) = origin + (col * spacing_x,
row * spacing_y)``; for a SimpleITK image, ``origin + direction @ (spacing * index)``.  The
spots live in *spot* space (``SpotData.coords``).  :func:`register_landmarks` fits the 2-D
transform that maps landmarks picked in the image (``moving``) onto the same landmarks in spot
space (``fixed``) by least squares:

* ``"affine"`` (6 parameters): ordinary linear least squares of ``[x, y, 1] A = [x', y']``;
* ``"similarity"`` (rotation, isotropic scale, translation) and ``"rigid"`` (rotation,
  translation): the closed form of Umeyama (1991), *IEEE TPAMI* 13:376, eq. 40-42: with the
  centred landmark sets, ``Sigma = Y_c^T X_c / n = U D V^T``, ``R = U S V^T``, ``c =
  tr(D S) / sigma_x^2`` (1 for rigid), ``t = mu_y - c R mu_x``, where ``S = diag(1, det(U)
  det(V))`` forbids a reflection (``allow_reflection=False``; the default: a mirrored section
  is usually a mistake worth knowing about: the fit warns when a reflection would fit much
  better) and ``S = I`` allows one.  scikit-image's ``SimilarityTransform.estimate`` uses the
  same estimator.

The result reports per-landmark residuals, RMSE, the largest error and a leave-one-out
landmark error (each landmark predicted by the transform fitted to the others: a
target-registration-error estimate that, unlike the residuals, is not shrunk by the fit).

:func:`sample_image_at_spots` then averages the map over each spot's disc (the pixels whose
centres map inside it), with a bilinear fallback for discs smaller than a pixel, and reports
spots outside the image or over masked (NaN) pixels only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._checks import InputError

__all__ = ["Registration", "register_landmarks", "TRANSFORMS", "SpotImageSample", "read_image",
           "sample_image_at_spots"]

TRANSFORMS = ("affine", "similarity", "rigid")
_MIN_LANDMARKS = {"affine": 3, "similarity": 2, "rigid": 2}
_LARGE_ERROR = 0.5  # warn when rmse > this many spot diameters


@dataclass(repr=False)
class Registration:
    """A fitted 2-D transform from image physical space to spot space.

    Attributes
    ----------
    matrix : ndarray (3, 3)
        Homogeneous matrix: ``[x', y', 1]^T = matrix @ [x, y, 1]^T``.
    transform : str
        ``"affine"``, ``"similarity"``, ``"rigid"`` or ``"given"`` (:meth:`from_matrix`).
    residuals : DataFrame
        Per landmark: moving and fixed coordinates, mapped coordinates, ``error`` (Euclidean
        distance in spot units) and ``loo_error`` (error when the landmark is left out of the
        fit; NaN when too few landmarks remain).
    rmse, max_error : float
        Root mean square and largest landmark error (spot units).
    loo_rmse : float
        Root mean square leave-one-out error: a target registration error estimate.
    scale : float
        ``sqrt(|det|)`` of the linear part: spot units per image unit.
    spot_diameter : float or None
        Spot diameter used to judge the errors.
    warnings : list of str
        Quality warnings (large error relative to the spot diameter, better mirrored fit).
    """

    matrix: np.ndarray
    transform: str = "given"
    residuals: pd.DataFrame = field(default_factory=pd.DataFrame)
    rmse: float = np.nan
    max_error: float = np.nan
    loo_rmse: float = np.nan
    spot_diameter: float | None = None
    warnings: list = field(default_factory=list)

    @classmethod
    def from_matrix(cls, matrix) -> "Registration":
        """A registration from a known 3x3 homogeneous (or 2x3) matrix; identity: ``np.eye(3)``."""
        m = np.asarray(matrix, dtype=np.float64)
        if m.shape == (2, 3):
            m = np.vstack([m, [0.0, 0.0, 1.0]])
        if m.shape != (3, 3) or not np.isfinite(m).all():
            raise InputError(f"matrix must be a finite 3x3 homogeneous (or 2x3) matrix, got "
                             f"shape {m.shape}")
        if not np.allclose(m[2], [0.0, 0.0, 1.0]):
            raise InputError("the last row of a 2-D affine matrix must be [0, 0, 1] (projective "
                             "transforms are not supported)")
        _check_invertible(m[:2, :2])
        return cls(m)

    @classmethod
    def identity(cls) -> "Registration":
        """Image physical space equals spot space."""
        return cls(np.eye(3))

    @property
    def linear(self) -> np.ndarray:
        return self.matrix[:2, :2]

    @property
    def translation(self) -> np.ndarray:
        return self.matrix[:2, 2]

    @property
    def scale(self) -> float:
        return float(np.sqrt(abs(np.linalg.det(self.linear))))

    def apply(self, points) -> np.ndarray:
        """Map image-space points (m, 2) into spot space."""
        p = _points(points, "points")
        return p @ self.linear.T + self.translation

    def inverse(self, points) -> np.ndarray:
        """Map spot-space points (m, 2) back into image physical space."""
        p = _points(points, "points")
        return (p - self.translation) @ np.linalg.inv(self.linear).T

    def to_frame(self) -> pd.DataFrame:
        return self.residuals.copy()

    def __repr__(self) -> str:
        a = self.matrix
        mat = "; ".join(" ".join(f"{v:.6g}" for v in row) for row in a[:2])
        if self.residuals.empty:
            q = "no landmarks"
        else:
            q = (f"{len(self.residuals)} landmarks, rmse={self.rmse:.4g}, max={self.max_error:.4g}"
                 f", leave-one-out rmse={self.loo_rmse:.4g}")
            if self.spot_diameter:
                q += f" (spot diameter {self.spot_diameter:.4g})"
        w = f"; WARNING: {' | '.join(self.warnings)}" if self.warnings else ""
        return f"Registration({self.transform}, [{mat}], scale={self.scale:.6g}; {q}{w})"


def _points(points, what, min_rows=1):
    if isinstance(points, pd.DataFrame):
        cols = [c for c in ("x", "y") if c in points.columns]
        points = points[cols].to_numpy() if len(cols) == 2 else points.to_numpy()
    try:
        p = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be numbers, shape (n, 2) (x, y)") from None
    if p.ndim == 1 and p.size == 2:
        p = p[None, :]
    if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] < min_rows:
        raise InputError(f"{what} must have shape (n, 2) with columns (x, y), got {p.shape}")
    if not np.isfinite(p).all():
        rows = np.flatnonzero(~np.isfinite(p).all(axis=1))
        raise InputError(f"{what} has NaN/inf in row(s) {rows[:10].tolist()}; remove those "
                         "landmarks or fix their coordinates")
    return p


def _check_invertible(L):
    s = np.linalg.svd(L, compute_uv=False)
    if not s[-1] > 1e-12 * max(s[0], np.finfo(float).tiny):
        raise InputError("the transform is singular (it collapses the plane onto a line or a "
                         "point): the landmarks are collinear or coincide in one space; pick "
                         "landmarks spread over the section")


def _collinear(p: np.ndarray) -> bool:
    c = p - p.mean(axis=0)
    s = np.linalg.svd(c, compute_uv=False)
    return not (len(s) == 2 and s[1] > 1e-9 * max(s[0], np.finfo(float).tiny))


def _fit_affine(X, Y):
    A = np.column_stack([X, np.ones(len(X))])
    coef, *_ = np.linalg.lstsq(A, Y, rcond=None)  # (3, 2): [x y 1] @ coef = [x' y']
    m = np.eye(3)
    m[:2, :] = coef.T
    return m


def _fit_umeyama(X, Y, with_scale, allow_reflection):
    """Umeyama (1991) least-squares similarity / rigid transform X -> Y (eq. 40-42)."""
    mx, my = X.mean(axis=0), Y.mean(axis=0)
    Xc, Yc = X - mx, Y - my
    var_x = float((Xc ** 2).sum()) / len(X)
    U, D, Vt = np.linalg.svd(Yc.T @ Xc / len(X))
    S = np.eye(2)
    if not allow_reflection and np.linalg.det(U) * np.linalg.det(Vt) < 0:
        S[1, 1] = -1.0
    R = U @ S @ Vt
    c = float(np.trace(np.diag(D) @ S)) / var_x if with_scale else 1.0
    m = np.eye(3)
    m[:2, :2] = c * R
    m[:2, 2] = my - c * R @ mx
    return m


def _fit(X, Y, transform, allow_reflection):
    if transform == "affine":
        return _fit_affine(X, Y)
    return _fit_umeyama(X, Y, transform == "similarity", allow_reflection)


def _errors(m, X, Y):
    mapped = X @ m[:2, :2].T + m[:2, 2]
    return mapped, np.sqrt(((mapped - Y) ** 2).sum(axis=1))


def _loo_errors(X, Y, transform, allow_reflection):
    """Error of each landmark under the transform fitted to the other landmarks."""
    n = len(X)
    out = np.full(n, np.nan)
    for i in range(n):
        keep = np.arange(n) != i
        Xi, Yi = X[keep], Y[keep]
        if len(Xi) < _MIN_LANDMARKS[transform] or _degenerate(Xi, transform):
            continue
        m = _fit(Xi, Yi, transform, allow_reflection)
        if np.linalg.svd(m[:2, :2], compute_uv=False)[-1] <= 1e-12:
            continue
        out[i] = _errors(m, X[i:i + 1], Y[i:i + 1])[1][0]
    return out


def _degenerate(X, transform):
    if transform == "affine":
        return _collinear(X)
    return bool(np.ptp(X, axis=0).max() <= 0)


def register_landmarks(moving, fixed, *, transform: str = "affine",
                       allow_reflection: bool = False, spot_diameter: float | None = None,
                       names=None) -> Registration:
    """Least-squares transform mapping image landmarks onto the same landmarks in spot space.

    Parameters
    ----------
    moving : array-like (n_l, 2) or DataFrame with columns x, y
        Landmark coordinates in the image's physical space (for a NumPy image with default
        spacing/origin: ``(col, row)``; for SimpleITK: ``image.TransformIndexToPhysicalPoint``).
    fixed : array-like (n_l, 2) or DataFrame
        The same landmarks in spot coordinates (``SpotData.coords`` units).
    transform : {"affine", "similarity", "rigid"}
        Affine: linear least squares (>= 3 non-collinear landmarks).  Similarity / rigid:
        Umeyama (1991) closed form (>= 2 distinct landmarks).
    allow_reflection : bool
        Similarity / rigid: allow a mirror image (Umeyama's ``S = I``).  Affine fits may
        always reflect; a reflection is then reported in ``warnings``.
    spot_diameter : float, optional
        Spot diameter in spot units: an RMSE above half of it gives a warning (also stored
        in ``Registration.warnings``).
    names : sequence, optional
        Landmark names (default: the DataFrame index, else ``L0, L1, ...``).

    Returns
    -------
    Registration
    """
    if transform not in TRANSFORMS:
        raise InputError(f"transform must be one of {TRANSFORMS}, got {transform!r}")
    if names is None and isinstance(moving, pd.DataFrame):
        names = moving.index
    X = _points(moving, "moving landmarks")
    Y = _points(fixed, "fixed landmarks")
    if X.shape != Y.shape:
        raise InputError(f"moving has {len(X)} landmarks and fixed has {len(Y)}; give the same "
                         "landmarks, in the same order, in both spaces")
    need = _MIN_LANDMARKS[transform]
    if len(X) < need:
        raise InputError(f"a {transform} fit needs at least {need} landmarks, got {len(X)}; add "
                         "landmarks (3-6 spread over the section is typical)")
    if transform == "affine" and (_collinear(X) or _collinear(Y)):
        raise InputError("the landmarks are collinear (or coincide), so an affine transform is "
                         "not determined; add a landmark off that line, or use "
                         "transform='similarity'")
    if _degenerate(X, transform) or _degenerate(Y, transform):
        raise InputError("the landmarks all coincide in one space; give at least two distinct "
                         "landmarks")
    m = _fit(X, Y, transform, allow_reflection)
    _check_invertible(m[:2, :2])
    mapped, err = _errors(m, X, Y)
    loo = _loo_errors(X, Y, transform, allow_reflection)
    names = [f"L{i}" for i in range(len(X))] if names is None else list(names)
    if len(names) != len(X):
        raise InputError(f"{len(names)} landmark names for {len(X)} landmarks")
    res = pd.DataFrame({"moving_x": X[:, 0], "moving_y": X[:, 1], "fixed_x": Y[:, 0],
                        "fixed_y": Y[:, 1], "mapped_x": mapped[:, 0], "mapped_y": mapped[:, 1],
                        "error": err, "loo_error": loo},
                       index=pd.Index([str(v) for v in names], name="landmark"))
    rmse = float(np.sqrt(np.mean(err ** 2)))
    loo_rmse = float(np.sqrt(np.mean(loo ** 2))) if np.isfinite(loo).all() else np.nan
    notes = _quality_notes(m, X, Y, transform, allow_reflection, rmse, spot_diameter)
    for w in notes:
        if not (allow_reflection and w.startswith("the fitted transform mirrors")):
            warnings.warn(w, UserWarning, stacklevel=2)
    return Registration(m, transform, res, rmse, float(err.max()), loo_rmse,
                        spot_diameter, notes)


def _quality_notes(m, X, Y, transform, allow_reflection, rmse, spot_diameter):
    notes = []
    if spot_diameter is not None and np.isfinite(spot_diameter) and \
            rmse > _LARGE_ERROR * spot_diameter:
        notes.append(f"landmark rmse {rmse:.4g} exceeds {_LARGE_ERROR} spot diameter "
                     f"({spot_diameter:.4g}): image values will be assigned to the wrong spots; "
                     "check the landmark pairs (order, x/y swapped, units) or use an affine fit")
    if np.linalg.det(m[:2, :2]) < 0:
        notes.append("the fitted transform mirrors the image (negative determinant); correct "
                     "if the image is flipped relative to the spots (e.g. y axis up vs down)")
    elif transform != "affine" and not allow_reflection and len(X) >= 3:
        mirrored = _fit_umeyama(X, Y, transform == "similarity", True)
        r2 = float(np.sqrt(np.mean(_errors(mirrored, X, Y)[1] ** 2)))
        if r2 < 0.5 * rmse:
            notes.append(f"a mirrored fit matches the landmarks much better (rmse {r2:.4g} vs "
                         f"{rmse:.4g}): the image may be flipped relative to the spots; pass "
                         "allow_reflection=True or flip the image")
    return notes


# ====================================================================== sampling an image
_STATISTICS = ("mean", "median")
_CHUNK_CELLS = 4_000_000  # spots x stencil pixels per chunk (memory bound ~100 MB)


@dataclass(repr=False)
class SpotImageSample:
    """An image map sampled at spots.

    Attributes
    ----------
    table : DataFrame
        Indexed by spot ID: ``section``, ``value`` (the statistic of the pixels inside the
        spot's disc), ``sd`` (their standard deviation, ddof=1), ``n_pixels`` (finite pixels
        used), ``n_nan`` (NaN / masked pixels inside the disc, ignored), ``coverage`` (share
        of the disc's pixel centres that lie in the image and are finite) and ``method``
        (``"disc"``; ``"bilinear"``: no pixel centre inside the disc, value interpolated at the
        spot centre; ``"none"``: no value).
    dropped : DataFrame
        Spots without a value: ``id``, ``section``, ``reason`` ("outside image", "only masked
        (NaN) pixels", "no image for section ...").
    statistic : str
    """

    table: pd.DataFrame
    dropped: pd.DataFrame
    statistic: str = "mean"

    @property
    def value(self) -> pd.Series:
        return self.table["value"]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:
        t = self.table
        counts = t["method"].value_counts().to_dict()
        npx = t.loc[t["n_pixels"] > 0, "n_pixels"]
        med = f"{npx.median():.4g}" if len(npx) else "-"
        return (f"SpotImageSample({len(t)} spots, statistic={self.statistic}; method counts "
                f"{counts}; median pixels per spot {med}; {len(self.dropped)} without value)")


def read_image(path):
    """A SimpleITK image from a file, or an InputError naming the file and the fix."""
    import SimpleITK as sitk

    try:
        return sitk.ReadImage(str(path))
    except RuntimeError as exc:
        raise InputError(f"cannot read image {str(path)!r} with SimpleITK.ReadImage "
                         f"({str(exc).strip().splitlines()[-1] if str(exc).strip() else exc})"
                         "; check the path and format (NIfTI, NRRD, TIFF, PNG, MHA ...)"
                         ) from None


def _image_array(image, spacing, origin):
    """(values (rows, cols) float, 3x3 matrix pixel index (col, row, 1) -> physical)."""
    if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__"):
        image = read_image(image)
    if type(image).__module__.startswith("SimpleITK"):
        return _sitk_array(image, spacing, origin)
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise InputError(f"image must be 2-D (rows = y, cols = x), got shape {arr.shape}; take "
                         "one channel or slice (e.g. img[..., 0] or a grayscale conversion)")
    if arr.size == 0:
        raise InputError(f"image is empty (shape {arr.shape}); pass the map to sample")
    if arr.dtype.kind not in "biuf":
        raise InputError(f"image has dtype {arr.dtype}; pass a numeric image")
    sx, sy = (1.0, 1.0) if spacing is None else _pair(spacing, "spacing", positive=True)
    ox, oy = (0.0, 0.0) if origin is None else _pair(origin, "origin")
    P = np.array([[sx, 0.0, ox], [0.0, sy, oy], [0.0, 0.0, 1.0]])
    return np.asarray(arr, dtype=np.float64), P


def _sitk_array(image, spacing, origin):
    import SimpleITK as sitk

    if spacing is not None or origin is not None:
        raise InputError("spacing/origin are taken from the SimpleITK image; do not pass them "
                         "(set them on the image with SetSpacing/SetOrigin instead)")
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError("the SimpleITK image has several components per pixel (RGB?); pass "
                         "one channel (sitk.VectorIndexSelectionCast(img, 0)) or a grayscale image")
    size = image.GetSize()
    if image.GetDimension() == 3 and size[2] == 1:
        image = image[:, :, 0]
    elif image.GetDimension() != 2:
        raise InputError(f"the SimpleITK image is {image.GetDimension()}-D (size {size}); "
                         "extract the 2-D slice matching the section (img[:, :, k])")
    arr = sitk.GetArrayFromImage(image)  # (rows = y index, cols = x index)
    if arr.size == 0:
        raise InputError("the SimpleITK image is empty; pass the map to sample")
    D = np.asarray(image.GetDirection(), dtype=np.float64).reshape(2, 2)
    P = np.eye(3)
    P[:2, :2] = D @ np.diag(image.GetSpacing())
    P[:2, 2] = image.GetOrigin()
    return np.asarray(arr, dtype=np.float64), P


def _pair(v, what, positive=False):
    try:
        a = np.asarray(v, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise InputError(f"{what} must be two numbers (x, y), got {v!r}") from None
    if a.size == 1:
        a = np.repeat(a, 2)
    if a.size != 2 or not np.isfinite(a).all() or (positive and not (a > 0).all()):
        raise InputError(f"{what} must be two finite{' positive' if positive else ''} numbers "
                         f"(x, y), got {v!r}")
    return float(a[0]), float(a[1])


def _spot_inputs(spots, radius, sections):
    """(coords, ids, sections, radii per spot) from a SpotData or a coordinate array."""
    from .data import SpotData

    if isinstance(spots, SpotData):
        coords, ids, secs = spots.coords, spots.spot_ids, np.asarray(spots.sections, object)
        default = spots.radii()
    else:
        index = spots.index if isinstance(spots, pd.DataFrame) else None
        coords = _points(spots, "spot coordinates")
        n = len(coords)
        ids = pd.Index(np.asarray(index if index is not None else np.arange(n)).astype(str),
                       name="spot_id")
        if ids.duplicated().any():
            raise InputError(f"duplicated spot IDs ({list(ids[ids.duplicated()][:5])}); give "
                             "unique IDs")
        secs = (np.full(n, "section0", dtype=object) if sections is None
                else np.asarray(sections, dtype=object).astype(str).astype(object))
        if secs.shape != (n,):
            raise InputError(f"{secs.size} section labels for {n} spots; give one per spot")
        default = np.full(n, np.nan)
    n = len(coords)
    if radius is None:
        r = default
    elif isinstance(radius, dict):
        r = np.array([radius.get(s, np.nan) for s in secs], dtype=float)
    else:
        r = np.broadcast_to(np.asarray(radius, dtype=float), (n,)).copy()
    bad = ~(r >= 0)
    if bad.any():
        raise InputError(f"{int(bad.sum())} spot(s) have no valid radius (e.g. section "
                         f"{secs[bad][0]!r}); pass radius= (spot diameter / 2 in spot units; "
                         "a number, section -> number, or one per spot) or set the SpotData's "
                         "spot_diameter")
    return coords, ids, secs, r


def _bilinear(values, cidx):
    """NaN-aware bilinear interpolation at continuous indices ``cidx`` (m, 2) = (col, row),
    clamped to the image; returns (value, number of finite neighbours with weight > 0)."""
    rows, cols = values.shape
    x = np.clip(cidx[:, 0], 0, cols - 1)
    y = np.clip(cidx[:, 1], 0, rows - 1)
    x0 = np.floor(x).astype(np.int64)
    y0 = np.floor(y).astype(np.int64)
    x1, y1 = np.minimum(x0 + 1, cols - 1), np.minimum(y0 + 1, rows - 1)
    fx, fy = x - x0, y - y0
    nb = [(y0, x0, (1 - fx) * (1 - fy)), (y0, x1, fx * (1 - fy)),
          (y1, x0, (1 - fx) * fy), (y1, x1, fx * fy)]
    num = np.zeros(len(x))
    den = np.zeros(len(x))
    cnt = np.zeros(len(x), dtype=np.int64)
    for yy, xx, w in nb:
        v = values[yy, xx]
        ok = np.isfinite(v) & (w > 0)
        num += np.where(ok, w * np.where(ok, v, 0.0), 0.0)
        den += np.where(ok, w, 0.0)
        cnt += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan), cnt


def _disc_stats(values, M, centres, radii, statistic):
    """Per-spot statistics of the pixels whose centres fall in the spot's disc.

    ``M`` maps pixel index ``(col, row, 1)`` to spot space.  A disc of radius r around c in
    spot space is an ellipse in index space; its bounding half-widths are ``r * ||Li[k, :]||``
    (``Li`` = inverse of the linear part), so one integer stencil covering the largest box is
    laid around every spot's nearest pixel and each stencil pixel tested with
    ``|L (p - c_idx)| <= r (1 + 1e-9)``.  Spots are processed in chunks (memory bound).
    """
    rows, cols = values.shape
    L = M[:2, :2]
    Li = np.linalg.inv(L)
    cidx = (centres - M[:2, 2]) @ Li.T  # continuous (col, row) index of each centre
    hw = radii[:, None] * np.sqrt((Li ** 2).sum(axis=1))[None, :]
    n = len(centres)
    out = {k: np.full(n, np.nan) for k in ("value", "sd", "coverage")}
    out.update(n_pixels=np.zeros(n, np.int64), n_nan=np.zeros(n, np.int64),
               n_disc=np.zeros(n, np.int64))
    hmax = np.ceil(hw.max(axis=0) + 0.5).astype(np.int64) if n else np.zeros(2, np.int64)
    K = int((2 * hmax[0] + 1) * (2 * hmax[1] + 1))
    step = max(1, _CHUNK_CELLS // K)
    for a in range(0, n, step):
        sl = slice(a, min(n, a + step))
        _disc_chunk(values, L, cidx[sl], radii[sl], hw[sl], statistic, out, sl)
    return out, cidx


def _disc_chunk(values, L, cidx, radii, hw, statistic, out, sl):
    rows, cols = values.shape
    h = np.ceil(hw.max(axis=0) + 0.5).astype(np.int64)
    ox, oy = np.meshgrid(np.arange(-h[0], h[0] + 1), np.arange(-h[1], h[1] + 1))
    off = np.column_stack([ox.ravel(), oy.ravel()])  # (K, 2) integer (col, row) offsets
    base = np.rint(cidx).astype(np.int64)
    delta = (base - cidx) @ L.T  # spot-space offset of the base pixel from the centre
    d = delta[:, None, :] + (off @ L.T)[None, :, :]
    inside = (d ** 2).sum(axis=2) <= (radii[:, None] * (1 + 1e-9)) ** 2
    px = base[:, None, 0] + off[None, :, 0]
    py = base[:, None, 1] + off[None, :, 1]
    inb = (px >= 0) & (px < cols) & (py >= 0) & (py < rows)
    v = values[np.clip(py, 0, rows - 1), np.clip(px, 0, cols - 1)]
    use = inside & inb
    fin = use & np.isfinite(v)
    npx = fin.sum(axis=1)
    vz = np.where(fin, v, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = vz.sum(axis=1) / npx
        ss = (np.where(fin, v - mean[:, None], 0.0) ** 2).sum(axis=1)
        sd = np.where(npx > 1, np.sqrt(ss / np.maximum(npx - 1, 1)), np.nan)
        if statistic == "median":
            mean = np.full(len(npx), np.nan)
            has = npx > 0
            if has.any():
                mean[has] = np.nanmedian(np.where(fin[has], v[has], np.nan), axis=1)
        ndisc = inside.sum(axis=1)
        out["value"][sl] = np.where(npx > 0, mean, np.nan)
        out["sd"][sl] = sd
        out["coverage"][sl] = np.where(ndisc > 0, npx / np.maximum(ndisc, 1), np.nan)
    out["n_pixels"][sl] = npx
    out["n_nan"][sl] = (use & ~np.isfinite(v)).sum(axis=1)
    out["n_disc"][sl] = use.sum(axis=1)


def _sample_section(values, M, centres, radii, statistic):
    """Table columns for one image: disc statistics, bilinear fallback, reasons."""
    st, cidx = _disc_stats(values, M, centres, radii, statistic)
    rows, cols = values.shape
    n = len(centres)
    method = np.where(st["n_pixels"] > 0, "disc", "none").astype(object)
    reason = np.full(n, None, dtype=object)
    in_extent = ((cidx[:, 0] >= -0.5) & (cidx[:, 0] <= cols - 0.5)
                 & (cidx[:, 1] >= -0.5) & (cidx[:, 1] <= rows - 0.5))
    masked = (st["n_pixels"] == 0) & (st["n_nan"] > 0)
    reason[masked] = "only masked (NaN) pixels in the spot"
    fall = (st["n_pixels"] == 0) & ~masked & in_extent
    if fall.any():
        val, cnt = _bilinear(values, cidx[fall])
        st["value"][fall] = val
        st["n_pixels"][fall] = cnt
        idx = np.flatnonzero(fall)
        ok = np.isfinite(val)
        method[idx[ok]] = "bilinear"
        reason[idx[~ok]] = "only masked (NaN) pixels around the spot centre"
    outside = (st["n_pixels"] == 0) & ~masked & ~in_extent & (st["n_disc"] == 0)
    reason[outside] = "outside image"
    st["value"][method == "none"] = np.nan
    st["n_pixels"][method == "none"] = 0
    return st, method, reason


def sample_image_at_spots(image, spots, registration=None, *, radius=None, spacing=None,
                          origin=None, statistic: str = "mean", sections=None
                          ) -> SpotImageSample:
    """Average an image map over each spot's disc.

    Axis convention: a NumPy ``image`` is indexed ``image[row, col]`` with **row = y** and
    **col = x**; the centre of pixel ``(row, col)`` lies at physical point ``(x, y) = origin +
    (col * spacing[0], row * spacing[1])`` (``spacing`` and ``origin`` in (x, y) order, as in
    SimpleITK; defaults 1 and 0, so physical = pixel coordinates, the convention of Visium's
    full-resolution ``obsm["spatial"]``).  A SimpleITK image (or a path read with
    ``SimpleITK.ReadImage``) carries its own spacing, origin and direction: the centre of
    index ``(i, j)`` is ``origin + direction @ (spacing * (i, j))``.  ``registration`` (a
    :class:`Registration` from :func:`register_landmarks`, a 3x3 matrix, or None = identity)
    maps physical points into spot space.

    Each spot's disc (centre ``c``, radius ``r`` = spot diameter / 2 in spot units) contains
    the pixels whose centres ``p`` satisfy ``|T(p) - c| <= r`` (an ellipse in the image when
    ``T`` scales anisotropically); the spot's ``value`` is their mean (or median), NaN pixels
    ignored.  If no pixel centre falls inside (disc smaller than a pixel) the value is the
    bilinear interpolation at the centre (``method="bilinear"``, ``n_pixels`` = neighbours
    used).  Spots beyond the image, or over masked (NaN) pixels only, get NaN, ``n_pixels``
    0 and a reason in ``dropped``.  A disc partly outside the image averages the part inside
    (``coverage < 1``).

    Parameters
    ----------
    image : 2-D ndarray, SimpleITK.Image, path, or dict
        The map; a dict ``section -> (image, registration)`` (or ``section -> image`` for the
        identity) samples several sections, each spot from its own section's image.
    spots : SpotData or array-like (n, 2) / DataFrame of spot centres
    registration : Registration, 3x3 array or None
        Image physical space -> spot space (must be None with a dict ``image``).
    radius : float, dict or array (n,), optional
        Disc radius in spot units (default: ``SpotData.spot_diameter / 2``); 0 gives plain
        bilinear interpolation at the centres.
    spacing, origin : pair of float, optional
        Pixel spacing and physical position of pixel (0, 0), (x, y) order (NumPy images only).
    statistic : {"mean", "median"}
    sections : array-like (n,), optional
        Section labels of coordinate-array spots (SpotData carries its own).

    Returns
    -------
    SpotImageSample
        ``table`` (spot ID index: ``section, value, sd, n_pixels, n_nan, coverage, method``)
        and ``dropped``.
    """
    if statistic not in _STATISTICS:
        raise InputError(f"statistic must be one of {_STATISTICS}, got {statistic!r}")
    coords, ids, secs, r = _spot_inputs(spots, radius, sections)
    jobs = _jobs(image, registration, secs)
    n = len(coords)
    cols = {k: np.full(n, np.nan) for k in ("value", "sd", "coverage")}
    cols.update(n_pixels=np.zeros(n, np.int64), n_nan=np.zeros(n, np.int64))
    method = np.full(n, "none", dtype=object)
    reason = np.full(n, None, dtype=object)
    for label, (img, reg) in jobs.items():
        m = np.ones(n, dtype=bool) if label is None else (secs == label)
        if not m.any():
            continue
        values, P = _image_array(img, spacing, origin)
        M = _as_registration(reg).matrix @ P
        _check_invertible(M[:2, :2])
        st, meth, why = _sample_section(values, M, coords[m], r[m], statistic)
        for k in cols:
            cols[k][m] = st[k]
        method[m], reason[m] = meth, why
    if not (None in jobs):
        nojob = ~np.isin(secs, list(jobs))
        reason[nojob] = [f"no image for section {s!r}" for s in secs[nojob]]
    table = pd.DataFrame({"section": secs, **{k: cols[k] for k in ("value", "sd", "n_pixels",
                                                                   "n_nan", "coverage")},
                          "method": method}, index=ids)
    bad = pd.notna(reason)
    dropped = pd.DataFrame({"id": ids[bad], "section": secs[bad], "reason": reason[bad]})
    return SpotImageSample(table, dropped.reset_index(drop=True), statistic)


def _as_registration(reg):
    if reg is None:
        return Registration.identity()
    if isinstance(reg, Registration):
        return reg
    return Registration.from_matrix(reg)


def _jobs(image, registration, secs):
    if not isinstance(image, dict):
        return {None: (image, registration)}
    if registration is not None:
        raise InputError("with a dict of images give each section's registration in the dict "
                         "(section -> (image, registration)), not registration=")
    if not image:
        raise InputError("the dict of images is empty; give section -> (image, registration)")
    jobs = {}
    for k, v in image.items():
        jobs[str(k)] = tuple(v) if isinstance(v, tuple) else (v, None)
        if len(jobs[str(k)]) != 2:
            raise InputError(f"image[{k!r}] must be (image, registration), got "
                             f"{len(jobs[str(k)])} items")
    unknown = set(jobs) - set(secs)
    if unknown:
        warnings.warn(f"images given for section(s) {sorted(unknown)} that have no spots "
                      "(check the section labels)", UserWarning, stacklevel=3)
    return jobs
