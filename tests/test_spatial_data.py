"""Spot data (AnnData conventions), landmark registration and image sampling at spots."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.linalg import orthogonal_procrustes

from radiogenomics._checks import InputError
from radiogenomics.spatial.data import SpotData
from radiogenomics.spatial.registration import (Registration, register_landmarks,
                                                sample_image_at_spots)

DATA = Path(__file__).parent / "data" / "spatial" / "registration"


def _rot(theta):
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


def _hom(L, t):
    m = np.eye(3)
    m[:2, :2] = L
    m[:2, 2] = t
    return m


# ============================================================================ registration
@pytest.mark.parametrize("transform,L", [
    ("affine", np.array([[1.3, 0.4], [-0.25, 0.7]])),
    ("similarity", 2.5 * _rot(-1.1)),
    ("rigid", _rot(2.0)),
])
def test_registration_recovers_noiseless_transform(transform, L):
    rng = np.random.default_rng(1)
    X = rng.uniform(-300, 800, (7, 2))
    truth = _hom(L, [123.4, -56.7])
    Y = X @ L.T + truth[:2, 2]
    reg = register_landmarks(X, Y, transform=transform)
    assert np.abs(reg.matrix - truth).max() < 1e-10
    assert reg.rmse < 1e-9 and reg.max_error < 1e-9 and reg.loo_rmse < 1e-9
    pts = rng.uniform(0, 100, (5, 2))
    assert np.allclose(reg.inverse(reg.apply(pts)), pts, atol=1e-10)
    assert np.allclose(reg.apply(pts), pts @ L.T + truth[:2, 2], atol=1e-9)
    assert transform in repr(reg) and "rmse" in repr(reg)


def test_registration_rmse_matches_noise_level():
    # E[sum of squared residuals] = sigma^2 (2 n - p) for p = 6 affine parameters
    rng = np.random.default_rng(2)
    n, sigma = 400, 3.0
    X = rng.uniform(0, 5000, (n, 2))
    Y = X @ np.array([[0.9, 0.1], [0.05, 1.1]]).T + 10 + rng.normal(0, sigma, (n, 2))
    reg = register_landmarks(X, Y)
    expected = sigma * np.sqrt((2 * n - 6) / n)
    assert abs(reg.rmse / expected - 1) < 0.1
    # leave-one-out errors are not shrunk by the fit: slightly larger than the residuals
    assert reg.loo_rmse > reg.rmse
    assert abs(reg.loo_rmse / (sigma * np.sqrt(2)) - 1) < 0.1
    frame = reg.to_frame()
    assert list(frame.columns[-2:]) == ["error", "loo_error"] and len(frame) == n
    assert np.isclose(reg.max_error, frame["error"].max())


def _skimage_matrix(transform, target):
    ref = pd.read_csv(DATA / "skimage_matrices.csv", float_precision="round_trip")
    sub = ref[(ref["transform"] == transform) & (ref["target"] == target)]
    m = np.zeros((3, 3))
    m[sub["i"].to_numpy(), sub["j"].to_numpy()] = sub["value"].to_numpy()
    return m


def _landmarks(target):
    lm = pd.read_csv(DATA / "landmarks.csv", float_precision="round_trip")
    return (lm[["moving_x", "moving_y"]].to_numpy(),
            lm[[f"{target}_x", f"{target}_y"]].to_numpy())


@pytest.mark.parametrize("transform", ["similarity", "rigid"])
@pytest.mark.parametrize("target", ["fixed", "mirrored"])
def test_registration_equals_stored_skimage(transform, target):
    X, Y = _landmarks(target)
    if target == "mirrored" and transform == "similarity":
        with pytest.warns(UserWarning, match="mirrored fit"):
            reg = register_landmarks(X, Y, transform=transform)
    else:  # rigid: the scale (1.7) dominates the misfit, so mirroring does not help enough
        with _no_warning():
            reg = register_landmarks(X, Y, transform=transform)
    ref = _skimage_matrix(transform, target)
    assert np.abs(reg.matrix - ref).max() < 1e-9 * np.abs(ref).max()


@pytest.mark.parametrize("target", ["fixed", "mirrored"])
def test_affine_equals_stored_r_lm(target):
    X, Y = _landmarks(target)
    ref = pd.read_csv(DATA / "r_affine_lm.csv", float_precision="round_trip")
    ref = ref[ref["target"] == target].set_index("axis")
    m = np.eye(3)
    for i, ax in enumerate("xy"):
        m[i] = [ref.loc[ax, "moving_x"], ref.loc[ax, "moving_y"], ref.loc[ax, "intercept"]]
    with pytest.warns(UserWarning, match="mirrors") if target == "mirrored" else _no_warning():
        reg = register_landmarks(X, Y, transform="affine")
    assert np.abs(reg.matrix - m).max() < 1e-9 * np.abs(m).max()


class _no_warning:
    def __enter__(self):
        import warnings
        self._c = warnings.catch_warnings()
        self._c.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *a):
        self._c.__exit__(*a)


def test_registration_equals_live_skimage():
    tr = pytest.importorskip("skimage.transform", reason="scikit-image not installed "
                             "(the stored reference is checked in another test)")
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 100, (9, 2))
    Y = X @ (0.7 * _rot(0.3)).T + rng.normal(0, 2, (9, 2))
    t = tr.SimilarityTransform()
    t.estimate(X, Y)
    reg = register_landmarks(X, Y, transform="similarity")
    assert np.allclose(reg.matrix, t.params, rtol=0, atol=1e-10)


def test_similarity_and_rigid_equal_independent_solutions():
    # similarity in 2-D = complex-linear map z -> a z + b: plain complex least squares;
    # rigid rotation = scipy's orthogonal Procrustes on centred sets
    rng = np.random.default_rng(4)
    X = rng.uniform(0, 50, (10, 2))
    Y = X @ (1.3 * _rot(0.8)).T + 4 + rng.normal(0, 1.5, (10, 2))
    z, w = X[:, 0] + 1j * X[:, 1], Y[:, 0] + 1j * Y[:, 1]
    coef, *_ = np.linalg.lstsq(np.column_stack([z, np.ones_like(z)]), w, rcond=None)
    a, b = coef
    sim = register_landmarks(X, Y, transform="similarity")
    assert np.allclose(sim.matrix, _hom([[a.real, -a.imag], [a.imag, a.real]], [b.real, b.imag]),
                       atol=1e-10)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    R, _ = orthogonal_procrustes(Xc, Yc)  # Xc @ R ~ Yc
    rig = register_landmarks(X, Y, transform="rigid")
    assert np.allclose(rig.linear, R.T, atol=1e-12)
    assert np.allclose(rig.translation, Y.mean(0) - R.T @ X.mean(0), atol=1e-10)


def test_registration_reflection_and_quality_warnings():
    rng = np.random.default_rng(5)
    X = rng.uniform(0, 100, (6, 2))
    flip = np.diag([1.0, -1.0])
    Y = X @ (flip @ _rot(0.5)).T
    with pytest.warns(UserWarning, match="mirrored fit"):
        reg = register_landmarks(X, Y, transform="similarity")
    assert any("mirrored" in w for w in reg.warnings) and reg.rmse > 1
    with _no_warning():  # asked for: noted in .warnings, not emitted
        reg2 = register_landmarks(X, Y, transform="similarity", allow_reflection=True)
    assert reg2.rmse < 1e-10 and np.linalg.det(reg2.linear) < 0 and reg2.warnings
    Yn = X + rng.normal(0, 5, X.shape)
    with pytest.warns(UserWarning, match="spot diameter"):
        reg3 = register_landmarks(X, Yn, spot_diameter=4.0)
    assert reg3.rmse > 2.0 and "WARNING" in repr(reg3)


def test_registration_errors():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    with pytest.raises(InputError, match="collinear"):
        register_landmarks(X, X)
    with pytest.raises(InputError, match="at least 3"):
        register_landmarks(X[:2] + [[0, 1], [0, 0]], X[:2])
    with pytest.raises(InputError, match="at least 2"):
        register_landmarks(X[:1], X[:1], transform="rigid")
    with pytest.raises(InputError, match="coincide"):
        register_landmarks(np.zeros((3, 2)), X[:3], transform="similarity")
    tri = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(InputError, match="NaN"):
        register_landmarks(np.vstack([tri, [np.nan, 1]]), np.vstack([tri, [1, 1]]))
    with pytest.raises(InputError, match="same landmarks"):
        register_landmarks(tri, np.vstack([tri, [1, 1]]))
    with pytest.raises(InputError, match="transform must be"):
        register_landmarks(tri, tri, transform="projective")
    with pytest.raises(InputError, match="singular"):
        Registration.from_matrix([[1, 2, 0], [2, 4, 0], [0, 0, 1]])


# ============================================================================ sampling
def _brute_force(values, M, c, r):
    """Mean of every pixel whose centre maps within r of c (whole image, no stencil)."""
    rows, cols = values.shape
    jj, ii = np.meshgrid(np.arange(cols), np.arange(rows))
    p = np.column_stack([jj.ravel(), ii.ravel()]).astype(float) @ M[:2, :2].T + M[:2, 2]
    inside = ((p - c) ** 2).sum(1) <= (r * (1 + 1e-9)) ** 2
    v = values.ravel()[inside]
    v = v[np.isfinite(v)]
    return v.mean(), v.size, v.std(ddof=1)


def test_sampling_equals_brute_force_under_anisotropic_affine():
    rng = np.random.default_rng(6)
    img = rng.normal(size=(60, 80))
    img[10:20, 30:45] = np.nan  # a masked patch
    reg = Registration.from_matrix(_hom(np.array([[2.0, 0.6], [-0.3, 1.2]]), [15.0, -4.0]))
    P = _hom(np.diag([0.5, 0.8]), [3.0, 7.0])  # spacing / origin
    M = reg.matrix @ P
    corners = np.array([[0, 0], [79, 0], [0, 59], [79, 59]], float) @ M[:2, :2].T + M[:2, 2]
    lo, hi = corners.min(0), corners.max(0)
    centres = rng.uniform(lo, hi, (40, 2))
    out = sample_image_at_spots(img, centres, reg, radius=4.0, spacing=(0.5, 0.8),
                                origin=(3.0, 7.0)).table
    disc = out["method"] == "disc"
    assert disc.sum() > 20
    for k in np.flatnonzero(disc.to_numpy()):
        mean, n, sd = _brute_force(img, M, centres[k], 4.0)
        assert out["n_pixels"].iloc[k] == n
        assert abs(out["value"].iloc[k] - mean) < 1e-12
        assert abs(out["sd"].iloc[k] - sd) < 1e-12
    assert (out["n_nan"] > 0).any()


def test_sampling_ramp_exact_at_disc_centres_and_pixel_count():
    rows, cols = 200, 300
    jj, ii = np.meshgrid(np.arange(cols), np.arange(rows))
    a, b, c0 = 0.7, -1.9, 5.0
    img = c0 + a * jj + b * ii  # value = c0 + a * col + b * row
    L = 0.25 * _rot(0.35)  # similarity: image pixel -> spot units (pixel area 0.0625)
    reg = Registration.from_matrix(_hom(L, [40.0, 10.0]))
    pix = np.array([[50, 60], [150, 100], [220, 30], [100, 170]], float)  # (col, row)
    centres = reg.apply(pix)
    r = 3.0
    out = sample_image_at_spots(img, centres, reg, radius=r).table
    expect = c0 + a * pix[:, 0] + b * pix[:, 1]
    assert np.abs(out["value"].to_numpy() - expect).max() < 1e-9
    area = np.pi * r ** 2 / abs(np.linalg.det(L))  # ~452 pixels
    assert np.all(np.abs(out["n_pixels"] / area - 1) < 0.03)
    assert (out["method"] == "disc").all() and (out["coverage"] == 1).all()
    # sd of a linear ramp over the disc: sqrt((a^2 + b^2) * E[u^2]) with E[u^2] = R^2 / 4
    R = r / 0.25
    assert np.allclose(out["sd"], np.sqrt((a ** 2 + b ** 2) * R ** 2 / 4), rtol=0.02)


def test_sampling_small_disc_falls_back_to_bilinear():
    rows, cols = 40, 50
    jj, ii = np.meshgrid(np.arange(cols), np.arange(rows))
    img = 2.0 + 0.5 * jj - 0.25 * ii
    pts = np.array([[10.3, 7.6], [20.5, 30.25], [0.2, 0.1]])
    out = sample_image_at_spots(img, pts, radius=0.1).table
    assert (out["method"] == "bilinear").all()
    assert np.allclose(out["value"], 2.0 + 0.5 * pts[:, 0] - 0.25 * pts[:, 1], atol=1e-12)
    out0 = sample_image_at_spots(img, pts, radius=0.0).table  # radius 0 = interpolation
    assert np.allclose(out0["value"], out["value"])


def test_sampling_outside_and_masked_spots_reported():
    img = np.ones((30, 30))
    img[:10, :10] = np.nan
    pts = pd.DataFrame({"x": [15.0, 100.0, 4.0, -20.0], "y": [15.0, 5.0, 4.0, -20.0]},
                       index=["in", "far", "masked", "neg"])
    res = sample_image_at_spots(img, pts, radius=2.0)
    t = res.table
    assert t.loc["in", "value"] == 1.0 and t.loc["in", "n_pixels"] == 13  # r=2 disc: 13 px
    for k in ("far", "masked", "neg"):
        assert np.isnan(t.loc[k, "value"]) and t.loc[k, "n_pixels"] == 0
        assert t.loc[k, "method"] == "none"
    reasons = res.dropped.set_index("id")["reason"]
    assert reasons["far"] == "outside image" and reasons["neg"] == "outside image"
    assert "masked" in reasons["masked"] and "in" not in reasons.index
    assert "without value" in repr(res)
    # a disc over the edge averages the part inside
    edge = sample_image_at_spots(img, [[29.0, 20.0]], radius=3.0).table.iloc[0]
    assert edge["method"] == "disc" and 0.4 < edge["coverage"] < 0.7


def test_simpleitk_image_matches_numpy_path(tmp_path):
    sitk = pytest.importorskip("SimpleITK", reason="SimpleITK not installed")
    rng = np.random.default_rng(7)
    arr = rng.normal(size=(70, 90)).astype(np.float64)
    spacing, origin = (0.5, 0.8), (3.0, -7.0)
    th = 0.6
    D = _rot(th)
    reg = Registration.from_matrix(_hom(1.5 * _rot(-0.2), [10.0, 20.0]))
    centres = rng.uniform(5, 60, (50, 2))
    # identity direction: same as the numpy path with spacing / origin
    im = sitk.GetImageFromArray(arr)
    im.SetSpacing(spacing)
    im.SetOrigin(origin)
    a = sample_image_at_spots(im, centres, reg, radius=2.5).table
    b = sample_image_at_spots(arr, centres, reg, radius=2.5, spacing=spacing,
                              origin=origin).table
    pd.testing.assert_frame_equal(a, b)
    # a rotated direction equals the numpy path with the rotation folded into the registration
    im.SetDirection(tuple(D.ravel()))
    c = sample_image_at_spots(im, centres, reg, radius=2.5).table
    # physical = origin + D S idx; numpy path gives origin + S idx: compose D about origin
    fold = reg.matrix @ _hom(D, np.asarray(origin) - D @ np.asarray(origin))
    d = sample_image_at_spots(arr, centres, fold, radius=2.5, spacing=spacing,
                              origin=origin).table
    pd.testing.assert_frame_equal(c, d, rtol=1e-12)
    assert not np.allclose(c["value"], a["value"], equal_nan=True)
    # SimpleITK's own index -> point map agrees with the convention used
    p = im.TransformIndexToPhysicalPoint((7, 11))
    assert np.allclose(p, np.asarray(origin) + D @ (np.asarray(spacing) * [7, 11]))
    # a path is read with SimpleITK.ReadImage
    path = tmp_path / "map.nrrd"
    sitk.WriteImage(im, str(path))
    e = sample_image_at_spots(str(path), centres, reg, radius=2.5).table
    pd.testing.assert_frame_equal(c, e, rtol=1e-12)
    bad = tmp_path / "broken.nrrd"
    bad.write_text("not an image")
    with pytest.raises(InputError, match="cannot read image"):
        sample_image_at_spots(str(bad), centres, reg, radius=2.5)
    with pytest.raises(InputError, match="cannot read image"):
        sample_image_at_spots(str(tmp_path / "missing.nii.gz"), centres, reg, radius=2.5)


def test_sampling_sections_dict_and_spotdata_radius():
    rng = np.random.default_rng(8)
    coords = rng.uniform(5, 45, (30, 2))
    secs = np.repeat(["A", "B", "C"], 10)
    sd = SpotData.from_arrays(coords, rng.normal(size=(30, 3)), secs,
                              spot_diameter={"A": 4.0, "B": 6.0, "C": 4.0})
    imgA, imgB = np.full((50, 50), 1.0), np.full((50, 50), 2.0)
    shift = Registration.from_matrix(_hom(np.eye(2), [0.5, -0.5]))
    res = sample_image_at_spots({"A": imgA, "B": (imgB, shift)}, sd)
    t = res.table
    assert (t.loc[t["section"] == "A", "value"] == 1.0).all()
    assert (t.loc[t["section"] == "B", "value"] == 2.0).all()
    assert t.loc[t["section"] == "C", "value"].isna().all()
    assert (res.dropped["reason"] == "no image for section 'C'").sum() == 10
    # radius from the spot diameter: section B (r = 3) discs hold more pixels than A (r = 2)
    inner = t[(t["coverage"] == 1)]
    assert inner.loc[inner["section"] == "B", "n_pixels"].min() > \
        inner.loc[inner["section"] == "A", "n_pixels"].max()
    with pytest.raises(InputError, match="radius"):
        sample_image_at_spots(imgA, coords)
    with pytest.raises(InputError, match="registration"):
        sample_image_at_spots({"A": imgA}, sd, shift)


def test_sampling_median_and_input_errors():
    rng = np.random.default_rng(9)
    img = rng.normal(size=(40, 40))
    pts = np.array([[20.0, 20.0], [10.0, 30.0]])
    med = sample_image_at_spots(img, pts, radius=5.0, statistic="median").table
    jj, ii = np.meshgrid(np.arange(40), np.arange(40))
    for k, (x, y) in enumerate(pts):
        m = (jj - x) ** 2 + (ii - y) ** 2 <= 25 * (1 + 1e-9)
        assert med["value"].iloc[k] == np.median(img[m])
    with pytest.raises(InputError, match="empty"):
        sample_image_at_spots(np.zeros((0, 5)), pts, radius=1.0)
    with pytest.raises(InputError, match="2-D"):
        sample_image_at_spots(np.zeros((5, 5, 3)), pts, radius=1.0)
    with pytest.raises(InputError, match="statistic"):
        sample_image_at_spots(img, pts, radius=1.0, statistic="max")
    with pytest.raises(InputError, match="spacing"):
        sample_image_at_spots(img, pts, radius=1.0, spacing=(0.0, 1.0))


def test_sampling_speed_4000_spots_512():
    rng = np.random.default_rng(10)
    img = rng.normal(size=(512, 512))
    coords = rng.uniform(0, 512, (4000, 2))
    t0 = time.perf_counter()
    out = sample_image_at_spots(img, coords, radius=8.0).table
    elapsed = time.perf_counter() - t0
    assert out["value"].notna().all()
    assert elapsed < 5.0, f"sampling took {elapsed:.2f} s (target ~1 s on a free core)"


# ============================================================================ SpotData
def _visium_like(rng, n=40, genes=6, sparse_x=False):
    import anndata

    counts = rng.poisson(5.0, (n, genes)).astype(np.float64)
    counts[:, 2] = 0.0  # constant overall (zero stays zero after normalising)
    lib = np.repeat(["lib1", "lib2"], n // 2)
    counts[lib == "lib2", 4] = 0.0  # constant within lib2 only
    obs = pd.DataFrame({"library_id": pd.Categorical(lib),
                        "in_tissue": np.r_[[0, 0], np.ones(n - 2, int)],
                        "array_row": rng.integers(0, 78, n), "array_col": rng.integers(0, 128, n)},
                       index=[f"AAAC-{i}" for i in range(n)])
    X = sparse.csr_matrix(counts) if sparse_x else counts.copy()
    ad = anndata.AnnData(X=np.log1p(counts), obs=obs,
                         var=pd.DataFrame(index=[f"G{j}" for j in range(genes)]))
    ad.layers["counts"] = X
    ad.obsm["spatial"] = rng.uniform(0, 5000, (n, 2))
    ad.uns["spatial"] = {"lib1": {"scalefactors": {"spot_diameter_fullres": 89.5}},
                         "lib2": {"scalefactors": {"spot_diameter_fullres": 91.25}}}
    return ad, counts


@pytest.mark.parametrize("sparse_x", [False, True])
def test_from_anndata_conventions(sparse_x):
    pytest.importorskip("anndata", reason="anndata not installed")
    rng = np.random.default_rng(11)
    ad, counts = _visium_like(rng, sparse_x=sparse_x)
    sd = SpotData.from_anndata(ad, layer="counts", normalise="log1p_cpm")
    keep = ad.obs["in_tissue"].to_numpy() == 1
    assert sd.n_spots == keep.sum()
    assert list(sd.spot_ids) == list(ad.obs_names[keep])
    assert np.array_equal(sd.coords, ad.obsm["spatial"][keep])
    assert sd.spot_diameter == {"lib1": 89.5, "lib2": 91.25}
    assert np.array_equal(sd.grid, ad.obs[["array_row", "array_col"]].to_numpy()[keep])
    assert list(sd.genes) == ["G0", "G1", "G3", "G5"]
    # normalisation: log1p(counts / library size (all genes) * 1e4), computed directly
    lib = counts.sum(1, keepdims=True)
    ref = np.log1p(counts / lib * 1e4)[keep][:, [0, 1, 3, 5]]
    assert np.abs(sd.expression.to_numpy() - ref).max() < 1e-12
    assert "log1p" in sd.normalisation and "counts" in sd.source
    d = sd.dropped
    assert set(d.loc[d["kind"] == "spot", "id"]) == {"AAAC-0", "AAAC-1"}
    assert (d.loc[d["kind"] == "spot", "reason"].str.contains("in_tissue")).all()
    reasons = d[d["kind"] == "gene"].set_index("id")["reason"]
    assert "all spots" in reasons["G2"] and "'lib2'" in reasons["G4"]
    summ = sd.sections_summary()
    assert summ.loc["lib1", "n_dropped"] == 2 and summ.loc["lib2", "n_spots"] == 20
    assert summ.loc["lib2", "spot_diameter"] == 91.25 and (summ["spacing"] > 0).all()
    assert "2 section(s)" in repr(sd) and "dropped 2 spot(s), 2 gene(s)" in repr(sd)
    f = sd.to_frame(expression=True)
    assert list(f.columns[:5]) == ["section", "x", "y", "array_row", "array_col"]
    assert "G0" in f.columns and radii_ok(sd)
    # constant="overall" keeps the gene constant in one section only
    sd2 = SpotData.from_anndata(ad, layer="counts", constant="overall", genes=["G4", "G0"])
    assert list(sd2.genes) == ["G4", "G0"]
    assert np.array_equal(sd2.expression["G0"].to_numpy(), counts[keep, 0])


def radii_ok(sd):
    r = sd.radii()
    return np.allclose(r[sd.sections == "lib1"], 89.5 / 2)


def test_from_anndata_defaults_and_errors():
    import anndata

    rng = np.random.default_rng(12)
    ad, _ = _visium_like(rng)
    del ad.obs["library_id"]
    ad.uns["spatial"] = {"only": {"scalefactors": {"spot_diameter_fullres": 50.0}}}
    sd = SpotData.from_anndata(ad)  # X, one section named after the only library
    assert set(sd.sections) == {"only"} and sd.spot_diameter == {"only": 50.0}
    assert sd.normalisation.startswith("none")
    ad.obs["sample"] = np.repeat(["s1", "s2"], 20)
    assert set(SpotData.from_anndata(ad).sections) == {"s1", "s2"}
    with pytest.raises(InputError, match="obsm has no 'xy'"):
        SpotData.from_anndata(ad, spatial_key="xy")
    with pytest.raises(InputError, match="layers has no 'raw'"):
        SpotData.from_anndata(ad, layer="raw")
    with pytest.raises(InputError, match="no column 'slide'"):
        SpotData.from_anndata(ad, section_key="slide")
    with pytest.raises(InputError, match="not found: 'NOPE'"):
        SpotData.from_anndata(ad, genes=["G0", "NOPE"])
    with pytest.raises(InputError, match="AnnData"):
        SpotData.from_anndata(pd.DataFrame())
    dup = ad.copy()
    dup.obs_names = ["a"] * 39 + ["b"]
    with pytest.raises(InputError, match="duplicated spot ID"):
        SpotData.from_anndata(dup)
    nanad = ad.copy()
    nanad.X = np.asarray(nanad.X).copy()
    nanad.X[5, 3] = np.nan
    with pytest.raises(InputError, match=r"NaN/inf in 1 gene\(s\) \('G3'\).*'AAAC-5'"):
        SpotData.from_anndata(nanad)
    neg = ad.copy()
    neg.X = np.asarray(neg.X) - 10
    with pytest.raises(InputError, match="negative"):
        SpotData.from_anndata(neg, normalise="log1p_cpm")
    assert isinstance(ad, anndata.AnnData)


def test_from_arrays_validation_and_zero_library():
    rng = np.random.default_rng(13)
    coords = rng.uniform(0, 10, (8, 2))
    counts = rng.poisson(4, (8, 3)).astype(float)
    counts[3] = 0
    sd = SpotData.from_arrays(coords, counts, normalise="log1p_cpm", genes=["a", "b", "c"])
    assert sd.n_spots == 7 and "3" not in sd.spot_ids
    assert "library size 0" in sd.dropped.set_index("id").loc["3", "reason"]
    expr = pd.DataFrame(counts, index=[f"s{i}" for i in range(8)], columns=list("abc"))
    shuffled = expr.iloc[::-1]
    sd2 = SpotData.from_arrays(pd.DataFrame(coords, index=expr.index), shuffled)
    assert np.array_equal(sd2.expression.to_numpy(), counts)  # reordered to the spots
    with pytest.raises(InputError, match="9 rows for 8 spots|shape"):
        SpotData.from_arrays(coords, np.zeros((9, 3)))
    with pytest.raises(InputError, match="7 section labels for 8"):
        SpotData.from_arrays(coords, counts, ["a"] * 7)
    with pytest.raises(InputError, match="duplicated spot ID"):
        SpotData.from_arrays(coords, counts, spot_ids=list("aabcdefg"))
    with pytest.raises(InputError, match="shape"):
        SpotData.from_arrays(np.zeros((8, 3)), counts)
    bad = coords.copy()
    bad[2, 0] = np.inf
    with pytest.raises(InputError, match="NaN/inf coordinates"):
        SpotData.from_arrays(bad, counts)
    with pytest.raises(InputError, match="normalise"):
        SpotData.from_arrays(coords, counts, normalise="tpm")
    only = SpotData.from_arrays(coords)  # coordinates only
    assert only.expression.shape == (8, 0)
    with pytest.raises(InputError, match="no section 'zz'"):
        only.section("zz")
    assert only.section("section0").n_spots == 8


def test_log1p_cpm_equals_stored_scanpy():
    folder = Path(__file__).parent / "data" / "spatial" / "spotdata"
    counts = pd.read_csv(folder / "counts.csv", index_col=0, float_precision="round_trip")
    ref = pd.read_csv(folder / "scanpy_log1p.csv", index_col=0, float_precision="round_trip")
    coords = np.column_stack([np.arange(15.0), np.zeros(15)])
    sd = SpotData.from_arrays(pd.DataFrame(coords, index=counts.index), counts,
                              normalise="log1p_cpm")
    assert list(sd.dropped["id"]) == ["s3"]
    ref = ref.drop(index="s3")
    rel = np.abs(sd.expression.to_numpy() - ref.to_numpy()) / np.maximum(ref.abs().to_numpy(), 1)
    assert list(sd.genes) == list(ref.columns) and rel.max() < 1e-12
