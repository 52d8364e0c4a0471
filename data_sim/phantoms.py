r"""Synthetic cardiac short-axis phantoms whose myocardial texture carries a latent factor.

:func:`make_phantoms` writes one short-axis stack (3-D image, NRRD or NIfTI) and one label map
per subject, plus an optional AHA-style regional map, and returns a manifest that
:func:`radiogenomics.radiomics.extract` reads directly.  :func:`make_imaging_cohort` ties the
phantoms to a simulated multi-omics cohort: the phantoms' fibrosis is the cohort's shared
factor (by default ``F1``), the same factor that drives expression, so a pipeline that goes
from images to features to harmonisation to association can be checked against the truth.

Anatomy (per subject, base to apex over ``n_slices`` slices)
-----------------------------------------------------------
* LV cavity: a disc of radius ``r_k = r_0 (1 - 0.45 (k / (S-1))^{1.5})`` (``r_0`` in mm,
  :math:`N(24, 2^2)` clipped to [18, 30]), centre jittered by up to 3 mm;
* LV myocardium: the ring ``r_k < d <= r_k + t`` with wall thickness
  ``t = 8 + 1.5 * male + N(0, 0.8^2)`` mm (clipped to [5, 13]): ``sex`` is the biological
  covariate whose effect (on shape features) must survive harmonisation;
* RV cavity: a crescent, the part of an ellipse on the septal side that lies more than 2.5 mm
  outside the LV epicardium;
* background tissue with a smooth random bias field.

Signal (late-gadolinium-enhancement-like, arbitrary units)
----------------------------------------------------------
With ``f`` the subject's latent fibrosis score (standardised):

* healthy myocardium ``m_0 + diffuse * f`` (``m_0 = 60``), plus a fine random texture of SD
  ``texture_sd`` (biological micro-structure, smoothed over ~1 voxel);
* focal fibrosis: a fraction ``phi = expit(logit(base_fraction) + focal * f)`` of the
  myocardial voxels, chosen as the highest values of a smooth random field (patches), set to
  the scar intensity ``scar`` (``phi`` is reported in the truth);
* blood pools ``blood``/``rv_blood``, background ``tissue``.

Acquisition (per centre ``c``)
------------------------------
The noiseless image ``s`` is blurred by the point-spread function (Gaussian, ``psf_sigma``
voxels in-plane) and observed as the magnitude of a complex Gaussian (Rician noise):

.. math::

    y = \bigl|\,g_c (s + \varepsilon_1) + o_c + i\,g_c \varepsilon_2\bigr|,\qquad
    \varepsilon_{1,2} \sim N(0, \sigma_c^2),

with scanner gain :math:`\log g_c \sim N(0, \text{gain\_sd}^2)`, offset
:math:`o_c \sim N(0, \text{offset\_sd}^2)` (default 0: magnitude MR images have no baseline
offset) and noise SD :math:`\sigma_c \sim U(\text{noise\_sd})` (before the gain, so the gain
is a pure rescaling).  A gain multiplies every first-order feature by a power of ``g_c`` and
leaves shape and fixed-bin-count texture features unchanged, a per-feature location/scale
effect that ComBat models exactly; different noise levels change texture non-linearly; an
offset makes energy-type features (sums of squared intensities) non-affine in the gain, which a
per-feature location/scale model such as ComBat cannot fully remove.

Labels follow a named convention (``labels="acdc"``: RV 1, MYO 2, LV 3; ``"mnms"``: LV 1,
MYO 2, RV 3).  The regional map, when written, splits the LV myocardium into the 16 AHA
segments (basal/mid thirds into 6 sectors, the apical third into 4; sector 1 anterior,
counter-clockwise in image coordinates; it is a geometric approximation for testing, not a
clinical segmentation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ._utils import RngLike, as_generator, spawn

__all__ = ["make_phantoms", "make_imaging_cohort", "PhantomSet", "PHANTOM_PARAMS",
           "PHANTOM_LABELS"]

PHANTOM_LABELS = {
    "acdc": {"RV": 1, "MYO": 2, "LV": 3},
    "mnms": {"LV": 1, "MYO": 2, "RV": 3},
}

#: pyradiomics settings suited to the phantoms: original image, first-order, shape and the
#: three main texture classes, fixed bin *count* (32) so that discretisation follows each
#: ROI's range rather than the scanner's intensity scale.
PHANTOM_PARAMS: dict[str, Any] = {
    "setting": {"binCount": 32, "label": 2},
    "imageType": {"Original": {}},
    "featureClass": {"firstorder": [], "shape": [], "glcm": [], "glrlm": [], "glszm": []},
}


@dataclass
class PhantomSet:
    """Phantom files and their ground truth.

    Attributes
    ----------
    manifest : pandas.DataFrame
        One row per subject: ``sample_id``, ``image``, ``mask``, ``regions`` (path or NaN),
        ``centre``; ready for :func:`radiogenomics.radiomics.extract`.
    truth : pandas.DataFrame
        Per subject: ``fibrosis`` (the latent score), ``fibrosis_fraction`` (share of
        myocardial voxels that are scar), ``wall_thickness_mm``, ``cavity_radius_mm``, ``sex``,
        ``centre``, ``myocardial_voxels``.
    centre_effects : pandas.DataFrame
        Per centre: ``gain``, ``offset``, ``noise_sd``.
    labels : dict
        Label convention used in the masks (name -> value).
    params : dict
        Arguments of :func:`make_phantoms`.
    """

    manifest: pd.DataFrame
    truth: pd.DataFrame
    centre_effects: pd.DataFrame
    labels: dict
    params: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.manifest.join(self.truth.drop(columns="centre"), on="sample_id")

    def __repr__(self) -> str:
        n = len(self.manifest)
        c = self.manifest["centre"].nunique()
        return (f"PhantomSet({n} subjects, {c} centres, labels={self.labels}, "
                f"folder={str(Path(self.manifest['image'].iloc[0]).parent) if n else None!r})")


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _smooth_field(shape, sigma, rng):
    from scipy.ndimage import gaussian_filter
    f = gaussian_filter(rng.standard_normal(shape), sigma=sigma, mode="wrap")
    return (f - f.mean()) / (f.std() + 1e-12)


def _aha_segments(theta, slice_index, n_slices):
    """AHA-16 segment number for angles ``theta`` (radians) on slice ``slice_index``."""
    third = min(int(3 * slice_index / n_slices), 2)
    ang = np.mod(theta, 2 * np.pi)
    if third < 2:
        sector = np.floor(ang / (np.pi / 3)).astype(int)  # 6 sectors
        return 1 + 6 * third + sector
    sector = np.floor(np.mod(ang + np.pi / 4, 2 * np.pi) / (np.pi / 2)).astype(int)  # 4 sectors
    return 13 + sector


def _one_subject(f, male, rng, *, shape, n_slices, spacing, diffuse, focal, base_fraction,
                 texture_sd, scar, blood, rv_blood, tissue, myo_base, psf_sigma, gain, offset,
                 noise_sd, lab, with_regions):
    from scipy.ndimage import gaussian_filter

    ny, nx = shape
    dx = spacing[0]
    r0 = float(np.clip(rng.normal(24.0, 2.0), 18.0, 30.0))
    t = float(np.clip(8.0 + 1.5 * male + rng.normal(0.0, 0.8), 5.0, 13.0))
    cx = nx / 2 * dx + rng.uniform(-3, 3)
    cy = ny / 2 * dx + rng.uniform(-3, 3)
    yy, xx = np.meshgrid((np.arange(ny) + 0.5) * dx, (np.arange(nx) + 0.5) * dx, indexing="ij")
    d = np.hypot(xx - cx, yy - cy)
    theta = np.arctan2(-(yy - cy), xx - cx)  # anterior = up in the image
    rv_a, rv_b = r0 + t + 14.0, r0 + t + 6.0
    rv_cx = cx - (r0 + t) * 0.55

    img = np.empty((n_slices, ny, nx))
    mask = np.zeros((n_slices, ny, nx), dtype=np.uint8)
    regions = np.zeros((n_slices, ny, nx), dtype=np.uint8) if with_regions else None
    bias = 1.0 + 0.08 * _smooth_field((ny, nx), 12.0, rng)
    for k in range(n_slices):
        rk = r0 * (1.0 - 0.45 * (k / max(n_slices - 1, 1)) ** 1.5)
        lv = d <= rk
        myo = (d > rk) & (d <= rk + t)
        rv_ell = ((xx - rv_cx) / rv_a) ** 2 + ((yy - cy) / rv_b) ** 2 <= 1.0
        rv = rv_ell & (d > rk + t + 2.5) & (xx < cx) & (k < n_slices - 1)
        sl = np.full((ny, nx), tissue) * bias
        sl[lv] = blood
        sl[rv] = rv_blood
        sl[myo] = myo_base + diffuse * f
        img[k] = sl
        mask[k][rv] = lab["RV"]
        mask[k][myo] = lab["MYO"]
        mask[k][lv] = lab["LV"]
        if with_regions:
            regions[k][myo] = _aha_segments(theta[myo], k, n_slices)
    myo3 = mask == lab["MYO"]
    # myocardial micro-texture and focal scar (patches: top share of a smooth random field)
    tex = gaussian_filter(rng.standard_normal(img.shape), sigma=(0.0, 1.0, 1.0))
    tex /= tex.std() + 1e-12
    img[myo3] += texture_sd * tex[myo3]
    phi = float(_expit(np.log(base_fraction / (1 - base_fraction)) + focal * f))
    field_ = gaussian_filter(rng.standard_normal(img.shape), sigma=(0.7, 2.5, 2.5))
    vals = field_[myo3]
    n_scar = int(round(phi * vals.size))
    if n_scar > 0:
        cut = np.partition(vals, vals.size - n_scar)[vals.size - n_scar]
        scar_vox = myo3 & (field_ >= cut)
        img[scar_vox] = scar + 0.5 * texture_sd * tex[scar_vox]
    img = gaussian_filter(img, sigma=(0.0, psf_sigma, psf_sigma))
    re = gain * (img + rng.normal(0.0, noise_sd, img.shape)) + offset
    im = gain * rng.normal(0.0, noise_sd, img.shape)
    out = np.hypot(re, im).astype(np.float32)
    info = {"fibrosis_fraction": phi, "wall_thickness_mm": t, "cavity_radius_mm": r0,
            "myocardial_voxels": int(myo3.sum())}
    return out, mask, regions, info


def make_phantoms(
    out_dir,
    sample_ids: Sequence[Any] | None = None,
    fibrosis: Sequence[float] | pd.Series | None = None,
    centre: Sequence[Any] | pd.Series | None = None,
    sex: Sequence[Any] | pd.Series | None = None,
    *,
    n_samples: int | None = None,
    n_centres: int = 3,
    shape: tuple[int, int] = (80, 80),
    n_slices: int = 8,
    spacing: tuple[float, float, float] = (1.5, 1.5, 8.0),
    diffuse: float = 6.0,
    focal: float = 0.8,
    base_fraction: float = 0.08,
    texture_sd: float = 8.0,
    scar: float = 230.0,
    blood: float = 260.0,
    rv_blood: float = 240.0,
    tissue: float = 140.0,
    myo_base: float = 60.0,
    psf_sigma: float = 0.6,
    gain_sd: float = 0.3,
    offset_sd: float = 0.0,
    noise_sd: tuple[float, float] = (6.0, 16.0),
    labels: str | Mapping[str, int] = "acdc",
    regions: bool = False,
    file_format: str = "nrrd",
    rng: RngLike = None,
) -> PhantomSet:
    """Write synthetic cardiac short-axis phantoms and return their manifest and truth.

    Parameters
    ----------
    out_dir : path
        Folder for the files (created); files are ``<id>_image.<ext>``, ``<id>_label.<ext>``
        and, with ``regions=True``, ``<id>_aha.<ext>``.
    sample_ids, fibrosis, centre, sex : sequences or Series, optional
        Per-subject identifiers, latent fibrosis scores (any real numbers; standardised scores
        are intended), centre labels and sex (``"M"``/``"F"`` or 1/0 for male).  Series are
        aligned on ``sample_ids``.  Missing ones are drawn: ids ``P001``..., fibrosis
        ``N(0, 1)``, balanced centres ``C1..C{n_centres}``, sex with probability 1/2.
    n_samples : int, optional
        Number of subjects when ``sample_ids`` is not given.
    shape, n_slices, spacing :
        In-plane matrix (rows, columns), slices base to apex, voxel spacing (x, y, z) in mm.
    diffuse, focal, base_fraction :
        Fibrosis effects: healthy-myocardium intensity shift per unit ``f``; log-odds of the
        scar fraction per unit ``f``; scar fraction at ``f = 0``.
    texture_sd, scar, blood, rv_blood, tissue, myo_base, psf_sigma :
        Tissue intensities (arbitrary units) and in-plane point-spread SD (voxels).
    gain_sd, offset_sd, noise_sd :
        Centre effects: SD of the log gain, SD of the offset, range of the Rician noise SD.
    labels : "acdc", "mnms" or dict
        Label convention of the masks (names ``RV``, ``MYO``, ``LV``).
    regions : bool
        Also write an AHA-16 regional map of the LV myocardium.
    file_format : "nrrd" or "nifti"
    rng : int, SeedSequence, BitGenerator, Generator or None (SPEC 7)
        One seed for everything; subject ``i`` uses the ``i``-th spawned stream, so a subject's
        phantom does not depend on how many subjects are generated after it.

    Returns
    -------
    PhantomSet
    """
    import SimpleITK as sitk

    gen = as_generator(rng)
    params = {k: v for k, v in locals().items()
              if k not in ("sitk", "gen", "sample_ids", "fibrosis", "centre", "sex", "rng")}
    params["out_dir"] = str(out_dir)
    if isinstance(labels, str):
        if labels.lower() not in PHANTOM_LABELS:
            raise ValueError(f"unknown label convention {labels!r}; use one of "
                             f"{sorted(PHANTOM_LABELS)} or a dict with RV, MYO, LV")
        lab = dict(PHANTOM_LABELS[labels.lower()])
    else:
        lab = {k: int(v) for k, v in dict(labels).items()}
        if set(lab) != {"RV", "MYO", "LV"} or len(set(lab.values())) != 3 or min(lab.values()) < 1:
            raise ValueError("labels must map RV, MYO and LV to three distinct positive integers")
    ext = {"nrrd": ".nrrd", "nifti": ".nii.gz"}.get(file_format)
    if ext is None:
        raise ValueError(f"file_format must be 'nrrd' or 'nifti', got {file_format!r}")
    if len(shape) != 2 or min(shape) < 48:
        raise ValueError(f"shape must be two in-plane sizes of at least 48 voxels, got {shape!r}")
    if n_slices < 3:
        raise ValueError(f"n_slices must be at least 3 (base, mid, apex), got {n_slices}")
    if not 0 < base_fraction < 1:
        raise ValueError(f"base_fraction must lie in (0, 1), got {base_fraction}")

    if sample_ids is None:
        if n_samples is None:
            for s in (fibrosis, centre, sex):
                if s is not None:
                    n_samples = len(s)
                    break
        if n_samples is None or n_samples < 1:
            raise ValueError("give sample_ids or n_samples (a positive number of subjects)")
        width = max(3, len(str(n_samples)))
        ids = pd.Index([f"P{i + 1:0{width}d}" for i in range(n_samples)], name="sample_id")
    else:
        ids = pd.Index(list(sample_ids), name="sample_id")
        if ids.has_duplicates:
            raise ValueError(f"sample_ids repeat: {list(ids[ids.duplicated()].unique())[:5]}")
    n = len(ids)

    def per_subject(values, what):
        if values is None:
            return None
        if isinstance(values, pd.Series):
            missing = ids.difference(values.index)
            if len(missing):
                raise ValueError(f"{what} has no value for sample(s) {list(missing[:5])}")
            return values.reindex(ids).to_numpy()
        arr = np.asarray(values, dtype=object)
        if len(arr) != n:
            raise ValueError(f"{what} has {len(arr)} values for {n} samples")
        return arr

    f = per_subject(fibrosis, "fibrosis")
    f = gen.standard_normal(n) if f is None else np.asarray(f, dtype=float)
    if not np.all(np.isfinite(f)):
        raise ValueError("fibrosis contains NaN or inf; give a finite score per subject")
    cen = per_subject(centre, "centre")
    if cen is None:
        cen = np.array([f"C{1 + i % n_centres}" for i in gen.permutation(n)], dtype=object)
    sx = per_subject(sex, "sex")
    if sx is None:
        male = (gen.random(n) < 0.5).astype(float)
    else:
        male = np.array([1.0 if str(s).upper() in ("M", "MALE", "1", "1.0", "TRUE") else 0.0
                         for s in sx])
    centres = list(pd.unique(pd.Series(cen)))
    c_gen = spawn(gen, 1)[0]
    ce = pd.DataFrame({"gain": np.exp(c_gen.normal(0.0, gain_sd, len(centres))),
                       "offset": c_gen.normal(0.0, offset_sd, len(centres)),
                       "noise_sd": c_gen.uniform(noise_sd[0], noise_sd[1], len(centres))},
                      index=pd.Index(centres, name="centre"))

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    subj_gens = spawn(gen, n)
    rows, info_rows = [], []
    direction = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    for i, sid in enumerate(ids):
        c = cen[i]
        img, msk, reg, info = _one_subject(
            f[i], male[i], subj_gens[i], shape=tuple(shape), n_slices=n_slices,
            spacing=spacing, diffuse=diffuse, focal=focal, base_fraction=base_fraction,
            texture_sd=texture_sd, scar=scar, blood=blood, rv_blood=rv_blood, tissue=tissue,
            myo_base=myo_base, psf_sigma=psf_sigma, gain=ce.at[c, "gain"],
            offset=ce.at[c, "offset"], noise_sd=ce.at[c, "noise_sd"], lab=lab,
            with_regions=regions)
        paths = {}
        for key, arr, compress in (("image", img, False), ("mask", msk, True),
                                   ("regions", reg, True)):
            if arr is None:
                continue
            im = sitk.GetImageFromArray(arr)
            im.SetSpacing(tuple(float(s) for s in spacing))
            im.SetOrigin((0.0, 0.0, 0.0))
            im.SetDirection(direction)
            suffix = {"image": "image", "mask": "label", "regions": "aha"}[key]
            p = out / f"{sid}_{suffix}{ext}"
            sitk.WriteImage(im, str(p), compress)
            paths[key] = str(p.absolute())
        rows.append({"sample_id": sid, "image": paths["image"], "mask": paths["mask"],
                     "regions": paths.get("regions", np.nan), "centre": c})
        info_rows.append({"sample_id": sid, "fibrosis": float(f[i]), **info,
                          "sex": "M" if male[i] else "F", "centre": c})
    manifest = pd.DataFrame(rows)
    truth = pd.DataFrame(info_rows).set_index("sample_id")
    return PhantomSet(manifest=manifest, truth=truth, centre_effects=ce, labels=lab,
                      params=params)


def make_imaging_cohort(out_dir, n_samples: int = 120, *, factor: str = "F1",
                        phantom_kwargs: Mapping[str, Any] | None = None, rng: RngLike = None,
                        **cohort_kwargs):
    """A simulated multi-omics cohort plus cardiac phantoms driven by one of its shared factors.

    Calls :func:`data_sim.make_cohort` (``cohort_kwargs``; ``return_frames`` is not allowed)
    and then :func:`make_phantoms` for the subjects that have the radiomics assay, with the
    cohort's centres and sex, and ``fibrosis`` = the standardised shared factor ``factor``
    (``truth.shared_factors[factor]``), which also drives the cohort's expression.  The
    phantoms therefore stand in for the images behind the cohort's ``radiomics`` view.

    Returns
    -------
    (cohort, truth, phantoms) : (Cohort, GroundTruth, PhantomSet)
    """
    from .cohort import make_cohort

    if cohort_kwargs.get("return_frames"):
        raise ValueError("make_imaging_cohort returns a validated Cohort; drop return_frames")
    gen = as_generator(rng)
    g_cohort, g_img = spawn(gen, 2)
    cohort, truth = make_cohort(n_samples, rng=g_cohort, **cohort_kwargs)
    if factor not in truth.shared_factors.columns:
        raise ValueError(f"factor {factor!r} is not a shared factor of the cohort "
                         f"({list(truth.shared_factors.columns)})")
    ids = cohort["radiomics"].index if "radiomics" in cohort else truth.sample_ids
    z = truth.shared_factors[factor]
    z = (z - z.mean()) / z.std(ddof=0)
    phantoms = make_phantoms(out_dir, sample_ids=ids, fibrosis=z.reindex(ids),
                             centre=truth.centre.reindex(ids),
                             sex=truth.covariates["sex"].reindex(ids),
                             rng=g_img, **dict(phantom_kwargs or {}))
    return cohort, truth, phantoms
