r"""Synthetic spatial transcriptomics sections with registered imaging maps and ground truth.

:func:`make_spatial_study` simulates Visium-like sections (spots on a hexagonal lattice, raw
UMI counts and log-normalised expression in an :class:`anndata.AnnData` laid out as
``scanpy.read_visium`` / squidpy expect) together with one imaging map per section (an
ECV-like parametric map on its own, coarser pixel grid, related to the spots by a known
similarity transform and a set of noisy landmark pairs).  A few genes co-localise with the
image through a shared smooth latent field; others are smooth but unrelated to the image (the
hard null of naive spot-level tests, whose spots are not independent); the rest are noise.

Latent fields are stationary Gaussian random fields (:func:`gaussian_random_field`, spectral
synthesis on a regular grid), sampled at spots and image pixels by bilinear interpolation.
Sections are independent tissue slices: every field is drawn afresh per section, and gene
loadings are shared across sections.

Coordinates
-----------
* spot space: full-resolution pixels of the section's H&E, ``(x, y) = (column, row)`` as in
  ``adata.obsm["spatial"]``; spots are ``spacing`` pixels apart (Visium: 100 um, so one
  full-resolution pixel is ``100 / spacing`` um);
* image space: physical coordinates in mm, ``(x, y) = origin + spacing * (column, row)``
  (SimpleITK's convention with an identity direction);
* ``true_transform[s]`` is the 3 x 3 matrix ``T`` with ``[x_spot, y_spot, 1]^T = T @ [x_img,
  y_img, 1]^T`` (a similarity: rotation, isotropic scale, translation).

Every stochastic function takes ``rng`` (SPEC 7, :func:`radiogenomics._checks.check_rng`);
the same seed gives identical output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse as sps
from scipy.ndimage import map_coordinates

from radiogenomics._checks import InputError

from ._utils import RngLike, as_generator, spawn

__all__ = ["GRF_KERNELS", "SpatialStudy", "SpatialTruth", "gaussian_random_field",
           "grf_covariance", "make_spatial_study", "visium_layout"]

#: Covariance kernels of :func:`gaussian_random_field` (``r = d / length_scale``).
from ._grf import (GRF_KERNELS, _check_kernel, _number, gaussian_random_field,  # noqa: F401
                   grf_covariance)
_SQ3 = np.sqrt(3.0)
_HIRES_PX = 400  # longest side of the simulated "hires" H&E image


# --------------------------------------------------------------------------- spot lattice
def visium_layout(n_rows: int, n_cols: int, spacing: float = 100.0, hex: bool = True,
                  tissue: str = "full", *, margin: float | None = None) -> pd.DataFrame:
    r"""Spot centres of a Visium-type lattice, in full-resolution pixels.

    Hexagonal (10x Genomics Visium: 78 rows x 64 spots, array coordinates with
    ``array_row + array_col`` even): spot ``j`` of row ``r`` has ``array_col = 2 j + (r mod
    2)`` and centre :math:`(x, y) = (m + \text{array\_col}\, s / 2,\; m + \text{array\_row}\,
    s\sqrt3/2)`, so all six neighbours lie exactly ``spacing`` :math:`s` apart.  Square:
    ``array_col = j``, :math:`(x, y) = (m + j s, m + r s)` (e.g. the ST platform).  The
    margin :math:`m` (default ``spacing``) keeps coordinates positive.  Visium spots have a
    55 um diameter for a 100 um pitch: ``0.55 * spacing``.

    Parameters
    ----------
    n_rows, n_cols : int
        Rows and spots per row (each >= 2).
    spacing : float
        Centre-to-centre distance of neighbouring spots (full-resolution pixels).
    hex : bool
        Hexagonal (Visium) or square lattice.
    tissue : {"full", "disc"}
        ``"disc"``: only spots within a disc centred on the lattice, of radius half the
        smaller lattice extent, are ``in_tissue``; ``"full"``: every spot.

    Returns
    -------
    DataFrame
        ``array_row``, ``array_col``, ``x``, ``y``, ``in_tissue`` (0/1, as in
        ``tissue_positions_list.csv``); ``attrs["tissue"]`` describes the tissue region
        (``kind``, ``centre``, ``radius`` or ``bounds``), ``attrs["spacing"]`` the pitch.
    """
    try:
        n_rows, n_cols = int(n_rows), int(n_cols)
    except (TypeError, ValueError):
        raise InputError("n_rows and n_cols must be integers") from None
    if n_rows < 2 or n_cols < 2:
        raise InputError(f"a lattice needs n_rows >= 2 and n_cols >= 2, got {n_rows} x {n_cols}")
    spacing = _number("spacing", spacing, positive=True)
    if tissue not in ("full", "disc"):
        raise InputError(f"tissue must be 'full' or 'disc', got {tissue!r}")
    m = float(spacing) if margin is None else float(margin)
    row = np.repeat(np.arange(n_rows), n_cols)
    j = np.tile(np.arange(n_cols), n_rows)
    if hex:
        col = 2 * j + (row % 2)
        x, y = m + col * spacing / 2.0, m + row * spacing * _SQ3 / 2.0
    else:
        col = j
        x, y = m + col * spacing, m + row * spacing
    (x0, x1), (y0, y1) = (x.min(), x.max()), (y.min(), y.max())
    if tissue == "disc":
        centre = ((x0 + x1) / 2.0, (y0 + y1) / 2.0)
        radius = 0.5 * min(x1 - x0, y1 - y0)
        inside = np.hypot(x - centre[0], y - centre[1]) <= radius * (1 + 1e-12)
        region = {"kind": "disc", "centre": centre, "radius": radius}
    else:
        half = spacing / 2.0
        inside = np.ones(x.size, dtype=bool)
        region = {"kind": "full", "bounds": (x0 - half, x1 + half, y0 - half, y1 + half)}
    out = pd.DataFrame({"array_row": row, "array_col": col, "x": x, "y": y,
                        "in_tissue": inside.astype(int)})
    out.attrs["tissue"] = region
    out.attrs["spacing"] = spacing
    return out


def _in_region(x, y, region) -> np.ndarray:
    if region["kind"] == "disc":
        cx, cy = region["centre"]
        return np.hypot(x - cx, y - cy) <= region["radius"]
    x0, x1, y0, y1 = region["bounds"]
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


# --------------------------------------------------------------------------- results
@dataclass(repr=False)
class SpatialTruth:
    r"""What generated a :class:`SpatialStudy`.

    Attributes
    ----------
    genes : DataFrame
        Per gene: ``kind`` (``"colocalised"``, ``"spatial"``: smooth but unrelated to the
        image, ``"noise"``), ``colocalised`` (bool), ``field`` (latent field it loads on, ``""``
        for noise genes), ``loading`` (change of log expected expression per SD of the
        field), ``base_rate`` (share of a spot's UMIs at zero field).
    fields : DataFrame
        Per spot (index = ``adata.obs_names``): every latent field at the spot (``shared``,
        ``image_only``, ``decoy``, ``gene_1``, ...) and ``image_signal``, the image's
        standardised noiseless signal :math:`\rho F_{src} + \sqrt{1-\rho^2} F_{image\_only}`
        (``F_src`` = ``shared``, or ``decoy`` under the null).
    length_scales : dict
        Field name -> length scale (full-resolution pixels).
    kernel : str
        Covariance kernel of the fields.
    image_share : float
        :math:`\rho`.
    null : bool
        True when the image is independent of every gene field.
    """

    genes: pd.DataFrame
    fields: pd.DataFrame
    length_scales: dict
    kernel: str
    image_share: float
    null: bool

    @property
    def colocalised_genes(self) -> list[str]:
        return list(self.genes.index[self.genes["colocalised"]])

    def __repr__(self) -> str:
        k = self.genes["kind"].value_counts()
        return (f"SpatialTruth({len(self.genes)} genes: {k.get('colocalised', 0)} co-localised, "
                f"{k.get('spatial', 0)} spatial null, {k.get('noise', 0)} noise; fields "
                f"{self.length_scales}; rho={self.image_share:g}, null={self.null})")


@dataclass(repr=False)
class SpatialStudy:
    r"""A simulated spatial transcriptomics + imaging study (:func:`make_spatial_study`).

    Attributes
    ----------
    adata : anndata.AnnData
        Spots x genes.  ``obs``: ``library_id`` (section), ``array_row``, ``array_col``,
        ``in_tissue``, ``total_counts``; ``obsm["spatial"]``: ``(x, y)`` full-resolution
        pixels; ``layers["counts"]``: UMI counts (int32) and ``X`` =
        :math:`\log(1 + 10^4\,\text{counts} / \text{total})` (scanpy's ``normalize_total``
        + ``log1p``); ``uns["spatial"][library_id]``: ``images`` (``hires``/``lowres``
        H&E-like RGB), ``scalefactors`` (``spot_diameter_fullres``, ``tissue_hires_scalef``,
        ``tissue_lowres_scalef``, ``fiducial_diameter_fullres``), ``metadata``; ``var``:
        the truth columns of :attr:`SpatialTruth.genes`.
    images : dict
        Section -> imaging map (2-D float array, rows = y), ECV-like (fraction).
    image_spacing, image_origin : dict
        Section -> ``(sx, sy)`` and ``(ox, oy)`` in mm (physical = origin + spacing * index).
    image_masks : dict
        Section -> bool array: pixels whose centre maps into the tissue.
    landmarks : dict
        Section -> DataFrame of landmark pairs: ``x_image``, ``y_image`` (mm), ``x_spot``,
        ``y_spot`` (full-resolution pixels), each side with localisation noise.
    true_transform : dict
        Section -> 3 x 3 matrix mapping image physical to spot coordinates.
    truth : SpatialTruth
    removed_spots : DataFrame
        Per section: lattice spots not simulated (outside the tissue) and the reason.
    params : dict
        Arguments of the call.
    """

    adata: Any
    images: dict
    image_spacing: dict
    image_origin: dict
    image_masks: dict
    landmarks: dict
    true_transform: dict
    truth: SpatialTruth
    removed_spots: pd.DataFrame
    params: dict = field(default_factory=dict)

    @property
    def sections(self) -> list[str]:
        return list(self.images)

    def sitk_image(self, section: str):
        """The imaging map of ``section`` as a SimpleITK image (spacing and origin in mm)."""
        import SimpleITK as sitk

        self._check_section(section)
        img = sitk.GetImageFromArray(np.asarray(self.images[section], dtype=np.float64))
        img.SetSpacing(tuple(float(v) for v in self.image_spacing[section]))
        img.SetOrigin(tuple(float(v) for v in self.image_origin[section]))
        return img

    def image_at_spots(self, section: str, transform=None) -> pd.Series:
        """The map of ``section`` sampled (bilinearly) at its spots.

        ``transform`` (3 x 3, image physical -> spot coordinates; default the true one) is
        inverted to find each spot's position in the image; outside the image the nearest
        edge pixel is used.
        """
        self._check_section(section)
        T = self.true_transform[section] if transform is None else np.asarray(transform, float)
        mask = (self.adata.obs["library_id"] == section).to_numpy()
        xy = np.asarray(self.adata.obsm["spatial"], float)[mask]
        p = (np.linalg.inv(T) @ np.c_[xy, np.ones(len(xy))].T)[:2]
        (sx, sy), (ox, oy) = self.image_spacing[section], self.image_origin[section]
        vals = map_coordinates(self.images[section], [(p[1] - oy) / sy, (p[0] - ox) / sx],
                               order=1, mode="nearest")
        return pd.Series(vals, index=self.adata.obs_names[mask], name="image")

    def to_frame(self) -> pd.DataFrame:
        """One row per spot: section, array and pixel coordinates, image value, latent fields."""
        obs = self.adata.obs
        xy = np.asarray(self.adata.obsm["spatial"], float)
        img = pd.concat([self.image_at_spots(s) for s in self.sections])
        out = pd.DataFrame({"library_id": obs["library_id"], "array_row": obs["array_row"],
                            "array_col": obs["array_col"], "x": xy[:, 0], "y": xy[:, 1]},
                           index=obs.index)
        out["image"] = img.reindex(out.index)
        return out.join(self.truth.fields)

    def _check_section(self, section):
        if section not in self.images:
            raise InputError(f"no section {section!r}; sections are {self.sections}")

    def __repr__(self) -> str:
        n, q = self.adata.shape
        k = self.truth.genes["kind"].value_counts()
        shapes = ", ".join(f"{s}: {self.images[s].shape}" for s in self.sections[:4])
        return (f"SpatialStudy({len(self.sections)} sections, {n} spots x {q} genes "
                f"({k.get('colocalised', 0)} co-localised, {k.get('spatial', 0)} spatial null, "
                f"{k.get('noise', 0)} noise); images {shapes}; null={self.truth.null})")


# --------------------------------------------------------------------------- simulation
def _similarity(scale, theta, t) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[scale * c, -scale * s, t[0]], [scale * s, scale * c, t[1]], [0, 0, 1.0]])


def _apply(T, pts) -> np.ndarray:
    pts = np.asarray(pts, float)
    return pts @ T[:2, :2].T + T[:2, 2]


def _geometry(lattice, region, o, rng) -> dict:
    """Draw the similarity transform and lay out the image grid and the latent-field grid."""
    s = o["spacing"]
    tis = lattice[lattice["in_tissue"] == 1]
    lo = tis[["x", "y"]].to_numpy().min(axis=0) - s
    hi = tis[["x", "y"]].to_numpy().max(axis=0) + s
    px_per_mm = 10.0 * s  # spots are 100 um apart
    scale = px_per_mm * rng.uniform(0.92, 1.08)
    theta = np.deg2rad(rng.uniform(-o["max_rotation"], o["max_rotation"]))
    centre_img = rng.uniform(5.0, 15.0, 2)  # where the tissue centre sits in the image (mm)
    R = _similarity(scale, theta, (0.0, 0.0))
    T = _similarity(scale, theta, (lo + hi) / 2.0 - _apply(R, centre_img))
    Tinv = np.linalg.inv(T)
    corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [lo[0], hi[1]], [hi[0], hi[1]]])
    ci = _apply(Tinv, corners)
    h = o["image_spacing_mm"]
    origin = ci.min(axis=0) - h
    nxy = np.ceil((ci.max(axis=0) + h - origin) / h).astype(int) + 1
    rows, cols = np.meshgrid(np.arange(nxy[1]), np.arange(nxy[0]), indexing="ij")
    pix_img = np.c_[origin[0] + h * cols.ravel(), origin[1] + h * rows.ravel()]
    pix_spot = _apply(T, pix_img)
    g = o["grid_spacing"]
    glo = np.minimum(pix_spot.min(axis=0), lo) - 2 * g
    ghi = np.maximum(pix_spot.max(axis=0), hi) + 2 * g
    gshape = tuple(int(v) for v in np.ceil((ghi - glo) / g)[::-1] + 1)  # (rows, cols)
    return {"T": T, "origin": origin, "img_shape": (int(nxy[1]), int(nxy[0])),
            "pix_spot": pix_spot, "grid_origin": glo, "grid_shape": gshape,
            "mask": _in_region(pix_spot[:, 0], pix_spot[:, 1], region).reshape(
                int(nxy[1]), int(nxy[0]))}


def _sample(fieldmap, xy, geo, g) -> np.ndarray:
    x0, y0 = geo["grid_origin"]
    return map_coordinates(fieldmap, [(xy[:, 1] - y0) / g, (xy[:, 0] - x0) / g], order=1,
                           mode="nearest")


def _fields(geo, names_ls, kernel, g, rng) -> dict:
    return {name: gaussian_random_field(geo["grid_shape"], ls, rng, spacing=g, kernel=kernel)
            for name, ls in names_ls.items()}


def _landmarks(T, region, spots_xy, o, rng) -> pd.DataFrame:
    """Landmarks at random tissue spots (jittered), with localisation noise on both sides."""
    n = o["n_landmarks"]
    pick = rng.choice(len(spots_xy), size=n, replace=len(spots_xy) < n)
    true_spot = spots_xy[pick] + rng.uniform(-0.5, 0.5, (n, 2)) * o["spacing"]
    true_img = _apply(np.linalg.inv(T), true_spot)
    sd_px = o["landmark_sd_um"] * o["spacing"] / 100.0
    sd_mm = o["landmark_sd_um"] / 1000.0
    return pd.DataFrame({
        "x_image": true_img[:, 0] + rng.normal(0, sd_mm, n),
        "y_image": true_img[:, 1] + rng.normal(0, sd_mm, n),
        "x_spot": true_spot[:, 0] + rng.normal(0, sd_px, n),
        "y_spot": true_spot[:, 1] + rng.normal(0, sd_px, n)},
        index=pd.Index([f"L{i + 1}" for i in range(n)], name="landmark"))


def _he_images(shared_map, geo, region, lattice, o) -> tuple[dict, dict]:
    """H&E-like RGB (hires, lowres) whose stain density follows the shared field."""
    s = o["spacing"]
    extent = max(lattice["x"].max(), lattice["y"].max()) + s
    hf = _HIRES_PX / extent
    n = int(np.ceil(extent * hf))
    r, c = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    xy = np.c_[c.ravel() / hf, r.ravel() / hf]
    dens = np.tanh(0.5 * _sample(shared_map, xy, geo, o["grid_spacing"])).reshape(n, n)
    inside = _in_region(xy[:, 0], xy[:, 1], region).reshape(n, n)
    pink = np.array([0.85, 0.55, 0.72]) - 0.12 * dens[..., None]
    img = np.where(inside[..., None], pink, np.array([0.96, 0.95, 0.97])).astype(np.float32)
    images = {"hires": np.clip(img, 0, 1), "lowres": np.clip(img[::4, ::4], 0, 1)}
    scalef = {"spot_diameter_fullres": 0.55 * s, "fiducial_diameter_fullres": 0.65 * s,
              "tissue_hires_scalef": float(hf), "tissue_lowres_scalef": float(hf) / 4.0}
    return images, scalef


def _section(label, rng, o) -> dict:
    """Geometry, latent fields, imaging map and landmarks of one section."""
    r_geo, r_fields, r_img, r_land, r_expr = spawn(rng, 5)
    lattice = visium_layout(o["n_rows"], o["n_cols"], o["spacing"], o["hex"], o["tissue"])
    region = lattice.attrs["tissue"]
    geo = _geometry(lattice, region, o, r_geo)
    maps = _fields(geo, o["field_scales"], o["kernel"], o["grid_spacing"], r_fields)
    tis = lattice[lattice["in_tissue"] == 1].reset_index(drop=True)
    xy = tis[["x", "y"]].to_numpy()
    at_spots = pd.DataFrame({k: _sample(v, xy, geo, o["grid_spacing"]) for k, v in maps.items()})
    rho = o["image_share"]
    src = "decoy" if o["null"] else "shared"
    at_spots["image_signal"] = rho * at_spots[src] + np.sqrt(1 - rho ** 2) * at_spots["image_only"]
    pix = geo["pix_spot"]
    sig = (rho * _sample(maps[src], pix, geo, o["grid_spacing"])
           + np.sqrt(1 - rho ** 2) * _sample(maps["image_only"], pix, geo, o["grid_spacing"]))
    image = (o["image_mean"] + o["image_sd"] * sig.reshape(geo["img_shape"])
             + r_img.normal(0.0, o["image_noise_sd"], geo["img_shape"]))
    he = _he_images(maps["shared"], geo, region, lattice, o) if o["he_image"] else ({}, None)
    ids = [f"{label}_r{r:03d}c{c:03d}" for r, c in zip(tis["array_row"], tis["array_col"])]
    at_spots.index = pd.Index(ids, name="spot_id")
    return {"spots": tis, "ids": ids, "fields": at_spots, "image": image, "geo": geo,
            "landmarks": _landmarks(geo["T"], region, xy, o, r_land), "he": he,
            "n_off": int((lattice["in_tissue"] == 0).sum()), "rng": r_expr}


def _gene_table(n_genes, n_coloc, n_spatial, effect, spatial_effect, gene_fields, abundance_sd,
                null, rng) -> pd.DataFrame:
    """Per-gene truth; loaded genes come in +/- pairs of equal abundance on the same field."""
    width = max(4, len(str(n_genes)))
    names = [f"GENE{i:0{width}d}" for i in range(1, n_genes + 1)]
    n_noise = n_genes - n_coloc - n_spatial
    kind = np.array(["colocalised"] * n_coloc + ["spatial"] * n_spatial + ["noise"] * n_noise,
                    dtype=object)
    fld = np.array(["shared"] * n_coloc
                   + [gene_fields[(i // 2) % len(gene_fields)] for i in range(n_spatial)]
                   + [""] * n_noise, dtype=object)
    rate = np.exp(rng.normal(0.0, abundance_sd, n_genes))
    sign = np.zeros(n_genes)
    for start, size in ((0, n_coloc), (n_coloc, n_spatial)):
        first = np.arange(start, start + size, 2)
        sign[first] = rng.choice([-1.0, 1.0], first.size)
        second = first[first + 1 < start + size]
        sign[second + 1] = -sign[second]
        rate[second + 1] = rate[second]
    load = np.r_[np.full(n_coloc, effect), np.full(n_spatial, spatial_effect),
                 np.zeros(n_noise)] * sign
    if null:
        kind[:n_coloc] = "spatial"
    return pd.DataFrame({"kind": kind, "colocalised": kind == "colocalised", "field": fld,
                         "loading": load, "base_rate": rate / rate.sum()},
                        index=pd.Index(names, name="gene"))


def _expression(sec, genes, o):
    """Counts (CSR int32 or None) and X of one section, computed in gene blocks."""
    rng = sec["rng"]
    F = sec["fields"]
    n, q = len(F), len(genes)
    names = [c for c in F.columns if c != "image_signal"]
    L = np.zeros((len(names), q))
    for k, name in enumerate(names):
        L[k] = np.where(genes["field"].to_numpy() == name, genes["loading"].to_numpy(), 0.0)
    used = np.flatnonzero(np.abs(L).sum(axis=1) > 0)
    Fs, Ls = F[[names[k] for k in used]].to_numpy(), L[used]
    size = o["depth"] * np.exp(rng.normal(0.0, 0.2) + rng.normal(0.0, o["depth_sd"], n))
    logp = np.log(genes["base_rate"].to_numpy())
    step = max(1, 4_000_000 // max(n, 1))
    blocks = []
    for a in range(0, q, step):
        b = min(q, a + step)
        eta = Fs @ Ls[:, a:b] + logp[a:b] + rng.normal(0.0, o["noise_sd"], (n, b - a))
        if o["counts"]:
            lam = np.exp(eta + np.log(size)[:, None])
            blocks.append(sps.csr_matrix(rng.poisson(lam).astype(np.int32)))
        else:
            blocks.append(np.log1p(1e4 * np.exp(eta)).astype(np.float32))
    if not o["counts"]:
        return None, np.hstack(blocks)
    counts = sps.hstack(blocks, format="csr", dtype=np.int32)
    return counts, None


def _assemble(secs, labels, genes, o):
    import anndata

    counts, X = zip(*[_expression(s, genes, o) for s in secs])
    obs = pd.concat([s["spots"].assign(library_id=lab) for s, lab in zip(secs, labels)],
                    ignore_index=True)
    ids = pd.Index([i for s in secs for i in s["ids"]], name="spot_id")
    spatial = obs[["x", "y"]].to_numpy(dtype=float)
    obs = obs[["library_id", "array_row", "array_col", "in_tissue"]].set_index(ids)
    obs["library_id"] = pd.Categorical(obs["library_id"], categories=labels)
    if o["counts"]:
        C = sps.vstack(counts, format="csr", dtype=np.int32)
        total = np.asarray(C.sum(axis=1), dtype=float).ravel()
        obs["total_counts"] = total
        scale = np.divide(1e4, total, out=np.zeros_like(total), where=total > 0)
        Xn = sps.csr_matrix(C.multiply(scale[:, None]), dtype=np.float32)
        Xn.data = np.log1p(Xn.data)
        layers = {"counts": C if o["sparse"] else C.toarray()}
        Xm = Xn if o["sparse"] else Xn.toarray()
    else:
        Xm, layers = np.vstack(X), {}
    ad = anndata.AnnData(X=Xm, obs=obs, var=genes.copy(), layers=layers)
    ad.obsm["spatial"] = spatial
    ad.uns["spatial"] = {
        lab: {"images": s["he"][0], "scalefactors": s["he"][1] or {
            "spot_diameter_fullres": 0.55 * o["spacing"],
            "fiducial_diameter_fullres": 0.65 * o["spacing"],
            "tissue_hires_scalef": 1.0, "tissue_lowres_scalef": 1.0},
              "metadata": {"source": "data_sim.make_spatial_study", "simulated": True}}
        for s, lab in zip(secs, labels)}
    return ad




def _options(n_sections, n_genes, n_colocalised, n_spatial, length_scales, o) -> dict:
    """Validate the arguments of :func:`make_spatial_study`; return the option dict."""
    for name, v, least in (("n_sections", n_sections, 1), ("n_genes", n_genes, 1),
                           ("n_colocalised", n_colocalised, 0),
                           ("n_landmarks", o["n_landmarks"], 3),
                           ("n_spatial", 0 if n_spatial is None else n_spatial, 0)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < least:
            why = " (an affine fit needs 3)" if name == "n_landmarks" else ""
            raise InputError(f"{name} must be an integer >= {least}{why}, got {v!r}")
    if n_colocalised > n_genes:
        raise InputError(f"n_colocalised={n_colocalised} exceeds n_genes={n_genes}; lower it "
                         "or simulate more genes")
    n_spatial = (n_genes - n_colocalised) // 2 if n_spatial is None else int(n_spatial)
    if n_spatial > n_genes - n_colocalised:
        raise InputError(f"n_spatial={n_spatial} must lie in [0, n_genes - n_colocalised = "
                         f"{n_genes - n_colocalised}]; lower it or simulate more genes")
    try:
        ls = np.atleast_1d(np.asarray(length_scales, dtype=float))
    except (TypeError, ValueError):
        ls = np.array([np.nan])
    if ls.ndim != 1 or ls.size < 1 or not np.all(np.isfinite(ls) & (ls > 0)):
        raise InputError(f"length_scales must be one or more positive lengths (full-resolution "
                         f"pixels), got {length_scales!r}")
    for name in ("effect", "spatial_effect", "image_mean", "max_rotation"):
        o[name] = _number(name, o[name])
    o["image_share"] = _number("image_share", o["image_share"], low=0.0, high=1.0)
    for name in ("noise_sd", "depth_sd", "image_noise_sd", "landmark_sd_um", "abundance_sd"):
        o[name] = _number(name, o[name], low=0.0)
    for name in ("depth", "image_spacing_mm", "spacing", "image_sd"):
        o[name] = _number(name, o[name], positive=True)
    if o["tissue"] not in ("full", "disc"):
        raise InputError(f"tissue must be 'full' or 'disc', got {o['tissue']!r}")
    _check_kernel(o["kernel"])
    gene_ls = ls[1:] if ls.size > 1 else ls
    scales = {"shared": ls[0], "image_only": ls[0], "decoy": ls[0]}
    scales.update({f"gene_{k + 1}": v for k, v in enumerate(gene_ls)})
    o.update(n_spatial=n_spatial, field_scales={k: float(v) for k, v in scales.items()},
             grid_spacing=min(ls.min() / 6.0, o["spacing"] / 2.0))
    return o


def make_spatial_study(n_sections: int = 4, n_genes: int = 200, *, n_rows: int = 24,
                       n_cols: int = 24, spacing: float = 100.0, hex: bool = True,
                       tissue: str = "disc", length_scales=(400.0, 250.0, 600.0),
                       kernel: str = "gaussian", n_colocalised: int = 10,
                       n_spatial: int | None = None, effect: float = 0.5,
                       spatial_effect: float | None = None, noise_sd: float = 0.3,
                       abundance_sd: float = 1.0, depth: float = 5000.0, depth_sd: float = 0.3,
                       counts: bool = True, sparse: bool = True, image_share: float = 0.9,
                       image_mean: float = 0.28, image_sd: float = 0.05,
                       image_noise_sd: float = 0.02, image_spacing_mm: float = 0.05,
                       max_rotation: float = 30.0, n_landmarks: int = 8,
                       landmark_sd_um: float = 10.0, he_image: bool = True, null: bool = False,
                       rng: RngLike = None) -> SpatialStudy:
    r"""Simulate Visium-like sections with a registered imaging map and known co-localisation.

    Per section ``s`` (independent draws), on a grid of spacing
    ``min(min(length_scales) / 6, spacing / 2)`` covering the tissue and the image footprint,
    unit-variance Gaussian random fields (:func:`gaussian_random_field`, ``kernel``): ``shared``
    (length ``length_scales[0]``), ``image_only`` and ``decoy`` (same length), and
    ``gene_1, gene_2, ...`` with lengths ``length_scales[1:]`` (or ``length_scales[0]`` when
    only one is given); all are sampled at spots and image pixels by bilinear interpolation.

    Imaging map (ECV-like fraction) at pixel centre ``u`` (spot coordinates ``T u``):
    :math:`I(u) = \mu_I + \sigma_I\,[\rho F_{src}(Tu) + \sqrt{1-\rho^2} F_{image\_only}(Tu)]
    + \varepsilon_u`, :math:`\varepsilon_u \sim N(0, \text{image\_noise\_sd}^2)`,
    :math:`\rho` = ``image_share``, :math:`F_{src}` = ``shared`` (``decoy`` when ``null``:
    the image then is independent of every gene while both stay smooth).  ``T`` is a
    similarity (scale ``10 * spacing`` px/mm times U(0.92, 1.08), rotation U(+-max_rotation)
    degrees) placing the tissue centre at U(5, 15) mm in the image.

    Genes (loadings shared across sections): the first ``n_colocalised`` load on ``shared``
    with ``+-effect``; the next ``n_spatial`` (default half the rest) load on the gene fields
    (pairs in turn) with ``+-spatial_effect`` (default ``effect``): smooth, not related to the
    image; the rest are noise.  Loaded genes come in pairs of equal abundance and opposite
    sign on the same field, so a field moves a spot's total only at second order and the
    total-count normalisation of ``X`` does not pass the image signal on to noise genes (with
    unpaired signs it would: a compositional artefact).  UMI counts are Poisson-lognormal,

    .. math::

        y_{ij} \sim \mathrm{Poisson}(N_i\,p_j\,\exp(\beta_j F_{k(j)}(x_i) + e_{ij})),\quad
        e_{ij} \sim N(0, \text{noise\_sd}^2),

    with :math:`p_j \propto \exp(N(0, \text{abundance\_sd}^2))` (sum 1) and library sizes
    :math:`N_i = \text{depth}\,\exp(a_s + b_i)`, :math:`a_s \sim N(0, 0.2^2)` per section,
    :math:`b_i \sim N(0, \text{depth\_sd}^2)`.  ``X`` is scanpy's ``normalize_total(1e4)`` +
    ``log1p`` of the counts.  With ``counts=False`` no counts are drawn and ``X`` is the
    dense :math:`\log(1 + 10^4 p_j \exp(\beta_j F + e_{ij}))` (fast, for benchmarks).

    Landmarks: ``n_landmarks`` random tissue points (jittered +-spacing/2 around spots),
    mapped to the image by ``T^{-1}``, each side then perturbed by N(0, ``landmark_sd_um``^2)
    per coordinate (converted to mm and to pixels).

    Lattice spots outside the tissue (``tissue="disc"``) are not simulated (like
    ``read_visium``'s in-tissue filter) and counted in ``removed_spots``.  Random streams are
    split (sections; geometry, fields, image noise, landmarks, expression), so e.g. ``null``
    changes only the images and ``n_genes`` leaves the fields and images unchanged.

    Parameters
    ----------
    n_sections, n_genes : int
        Sections (labelled ``S1, S2, ...``) and genes (``GENE0001, ...``).
    n_rows, n_cols, spacing, hex, tissue
        Lattice of every section (:func:`visium_layout`; ``spacing`` in full-res pixels).
    length_scales : float or sequence of float
        Field length scales in full-resolution pixels (see above); ``kernel`` their
        covariance (:func:`grf_covariance`).
    n_colocalised, n_spatial, effect, spatial_effect
        Gene groups and their loadings (log scale, per SD of the field).
    noise_sd, abundance_sd, depth, depth_sd
        Spot-level log-normal noise, spread of gene abundances, mean and log-SD of UMIs/spot.
    counts, sparse : bool
        Draw counts (else the fast continuous ``X``); store CSR matrices (else dense).
    image_share, image_mean, image_sd, image_noise_sd, image_spacing_mm
        :math:`\rho`, :math:`\mu_I`, :math:`\sigma_I`, pixel noise SD, pixel size (mm).
    max_rotation, n_landmarks, landmark_sd_um
        Largest rotation (degrees), landmark pairs per section, their noise (um).
    he_image : bool
        Store H&E-like ``hires``/``lowres`` images (stain density follows ``shared``).
    null : bool
        Image independent of every gene field (for type-I error simulations).
    rng : int, Generator, ...
        Random source (SPEC 7).

    Returns
    -------
    SpatialStudy

    Examples
    --------
    >>> st = make_spatial_study(2, 50, rng=0)
    >>> st.adata.obs["library_id"].nunique(), st.adata.n_vars
    (2, 50)
    """
    o = dict(n_rows=n_rows, n_cols=n_cols, spacing=spacing, hex=bool(hex), tissue=tissue,
             kernel=kernel, effect=effect, noise_sd=noise_sd, abundance_sd=abundance_sd,
             spatial_effect=effect if spatial_effect is None else spatial_effect,
             depth=depth, depth_sd=depth_sd, counts=bool(counts), sparse=bool(sparse),
             image_share=image_share, image_mean=image_mean, image_sd=image_sd,
             image_noise_sd=image_noise_sd, image_spacing_mm=image_spacing_mm,
             max_rotation=max_rotation, n_landmarks=n_landmarks, landmark_sd_um=landmark_sd_um,
             he_image=bool(he_image), null=bool(null))
    params = dict(o, n_sections=n_sections, n_genes=n_genes, n_colocalised=n_colocalised,
                  n_spatial=n_spatial, length_scales=tuple(np.atleast_1d(length_scales)))
    o = _options(n_sections, n_genes, n_colocalised, n_spatial, length_scales, o)
    r_genes, *r_secs = spawn(as_generator(rng), 1 + int(n_sections))
    labels = [f"S{i + 1}" for i in range(int(n_sections))]
    secs = [_section(lab, r, o) for lab, r in zip(labels, r_secs)]
    gene_fields = [k for k in o["field_scales"] if k.startswith("gene_")]
    genes = _gene_table(int(n_genes), int(n_colocalised), o["n_spatial"], o["effect"],
                        float(o["spatial_effect"]), gene_fields, o["abundance_sd"], o["null"],
                        r_genes)
    adata = _assemble(secs, labels, genes, o)
    fields = pd.concat([s["fields"] for s in secs])
    truth = SpatialTruth(genes=genes, fields=fields, length_scales=dict(o["field_scales"]),
                         kernel=kernel, image_share=o["image_share"], null=bool(null))
    removed = pd.DataFrame({"library_id": labels, "n_lattice": [len(s["spots"]) + s["n_off"]
                                                                for s in secs],
                            "n_removed": [s["n_off"] for s in secs],
                            "reason": "outside the tissue region (in_tissue = 0)"})
    h = o["image_spacing_mm"]
    return SpatialStudy(
        adata=adata, images={lab: s["image"] for lab, s in zip(labels, secs)},
        image_spacing={lab: (h, h) for lab in labels},
        image_origin={lab: tuple(float(v) for v in s["geo"]["origin"])
                      for lab, s in zip(labels, secs)},
        image_masks={lab: s["geo"]["mask"] for lab, s in zip(labels, secs)},
        landmarks={lab: s["landmarks"] for lab, s in zip(labels, secs)},
        true_transform={lab: s["geo"]["T"] for lab, s in zip(labels, secs)},
        truth=truth, removed_spots=removed, params=params)
