"""Tests of data_sim.spatial: Gaussian random fields, the Visium lattice, make_spatial_study."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.spatial import cKDTree

from conftest import require
from data_sim._grf import _spectrum, _synthesise
from data_sim.spatial import (GRF_KERNELS, gaussian_random_field,
                              grf_covariance, make_spatial_study, visium_layout)
from radiogenomics._checks import InputError

anndata = require("anndata")


@pytest.fixture(scope="module")
def study():
    return make_spatial_study(rng=11)


@pytest.fixture(scope="module")
def null_study():
    return make_spatial_study(rng=11, null=True)


# --------------------------------------------------------------------------- kernels / GRF
def test_kernels_match_their_formulas():
    d = np.linspace(0, 10, 41)
    ell = 2.5
    r = d / ell
    # Rasmussen & Williams (2006) eqs 4.9 and 4.17 (Matern nu = 1/2 and 3/2)
    np.testing.assert_allclose(grf_covariance(d, ell, "gaussian"), np.exp(-r ** 2 / 2))
    np.testing.assert_allclose(grf_covariance(d, ell, "exponential"), np.exp(-r))
    a = np.sqrt(3) * r
    np.testing.assert_allclose(grf_covariance(d, ell, "matern32"), (1 + a) * np.exp(-a))


def _operator_covariance(shape, ell, h, kernel, periodic):
    """Exact covariance of the synthesis operator: push every white-noise basis vector."""
    spec = _spectrum(shape, ell, h, kernel, periodic)
    n = spec.grid[0] * spec.grid[1]
    basis = np.eye(n).reshape(n, *spec.grid)
    A = _synthesise(spec, basis).reshape(n, -1)
    return A.T @ A


def _lags(shape):
    yy, xx = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    return (yy.ravel()[:, None] - yy.ravel()[None, :], xx.ravel()[:, None] - xx.ravel()[None, :])


@pytest.mark.parametrize("kernel", GRF_KERNELS)
def test_grf_window_covariance_is_the_stated_kernel(kernel):
    shape, ell, h = (7, 6), 1.7, 0.8
    C = _operator_covariance(shape, ell, h, kernel, periodic=False)
    dy, dx = _lags(shape)
    target = grf_covariance(h * np.hypot(dy, dx), ell, kernel)
    assert np.abs(C - target).max() < 3e-4  # the documented bound
    np.testing.assert_allclose(np.diag(C), 1.0, atol=1e-12)


@pytest.mark.parametrize("kernel", GRF_KERNELS)
def test_grf_periodic_covariance_is_the_periodised_kernel(kernel):
    """periodic=True: covariance = sum over periodic images, normalised to unit variance."""
    shape, ell, h = (9, 8), 1.3, 1.0
    C = _operator_covariance(shape, ell, h, kernel, periodic=True)
    dy, dx = _lags(shape)
    per = sum(grf_covariance(h * np.hypot(dy + a * shape[0], dx + b * shape[1]), ell, kernel)
              for a in range(-12, 13) for b in range(-12, 13))
    per0 = sum(grf_covariance(h * np.hypot(a * shape[0], b * shape[1]), ell, kernel)
               for a in range(-12, 13) for b in range(-12, 13))
    # exact up to the neglected images (C < 1e-4 beyond the cut-off, relative to per0)
    assert np.abs(C - per / per0).max() < 3e-4
    # a torus: the covariance depends on the lag modulo the grid (shift-invariant)
    wrap = np.isclose(C[0].reshape(shape)[0, 1], C[0].reshape(shape)[0, -1])
    assert wrap and np.isclose(C[0].reshape(shape)[1, 0], C[0].reshape(shape)[-1, 0])


@pytest.mark.parametrize("kernel", ["gaussian", "exponential"])
def test_grf_empirical_covariance_of_many_draws(kernel):
    ell, h, n = 3.0, 1.5, 300
    F = gaussian_random_field((36, 36), ell, rng=5, spacing=h, kernel=kernel, size=n)
    assert F.shape == (n, 36, 36)
    for lag in range(0, 7):
        for name, (a, b) in {"x": (F[:, :, : 36 - lag], F[:, :, lag:]),
                             "y": (F[:, : 36 - lag, :], F[:, lag:, :])}.items():
            per_draw = (a * b).mean(axis=(1, 2))
            est, se = per_draw.mean(), per_draw.std(ddof=1) / np.sqrt(n)
            target = float(grf_covariance(lag * h, ell, kernel))
            assert abs(est - target) < 4 * se + 1e-3, (kernel, name, lag, est, target, se)
    diag = (F[:, :-2, :-2] * F[:, 2:, 2:]).mean(axis=(1, 2))
    target = float(grf_covariance(2 * h * np.sqrt(2), ell, kernel))
    assert abs(diag.mean() - target) < 4 * diag.std(ddof=1) / np.sqrt(n) + 1e-3
    assert abs(F.mean()) < 0.05  # zero mean


def test_grf_periodic_field_wraps_around():
    """Opposite edges of a periodic field are neighbours; of a non-periodic one, far apart."""
    ell, n, size = 2.0, 32, 200
    P = gaussian_random_field((n, n), ell, rng=1, periodic=True, size=size)
    Q = gaussian_random_field((n, n), ell, rng=1, periodic=False, size=size)
    c1 = float(grf_covariance(1.0, ell))

    def edge_cov(F, axis):
        a = F.take(0, axis=axis)
        b = F.take(-1, axis=axis)
        per = (a * b).mean(axis=1)
        return per.mean(), per.std(ddof=1) / np.sqrt(size)

    for axis in (1, 2):
        est, se = edge_cov(P, axis)
        assert abs(est - c1) < 4 * se + 1e-3
        est, se = edge_cov(Q, axis)
        assert abs(est) < 4 * se + 1e-3  # C(31) is ~0
    # a circular shift of a periodic field is another draw of the same field: check the
    # lag-1 covariance across the seam equals the one inside
    rolled = np.roll(P, 5, axis=2)
    inside = (rolled[:, :, 4] * rolled[:, :, 5]).mean()
    assert abs(inside - c1) < 0.06


def test_grf_reproducible_and_seeded():
    a = gaussian_random_field((20, 30), 4.0, rng=3)
    b = gaussian_random_field((20, 30), 4.0, rng=np.random.default_rng(3))
    c = gaussian_random_field((20, 30), 4.0, rng=4)
    assert a.shape == (20, 30)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("kwargs, words", [
    ({"shape": (1, 10)}, "shape"),
    ({"shape": "ab"}, "shape"),
    ({"length_scale": 0.0}, "length_scale"),
    ({"spacing": -1.0}, "spacing"),
    ({"kernel": "cauchy"}, "kernel"),
    ({"size": 0}, "size"),
    ({"periodic": True, "length_scale": 5000.0}, "enlarge the grid"),
])
def test_grf_errors_name_problem_and_fix(kwargs, words):
    args = {"shape": (16, 16), "length_scale": 2.0}
    args.update(kwargs)
    with pytest.raises(InputError, match=words):
        gaussian_random_field(rng=0, **args)


# --------------------------------------------------------------------------- lattice
def test_visium_layout_hexagonal_lattice():
    lay = visium_layout(10, 12, spacing=80.0)
    assert len(lay) == 120 and set(lay["in_tissue"]) == {1}
    assert ((lay["array_row"] + lay["array_col"]) % 2 == 0).all()
    xy = lay[["x", "y"]].to_numpy()
    assert xy.min() > 0
    d, _ = cKDTree(xy).query(xy, k=7)
    np.testing.assert_allclose(d[:, 1], 80.0)  # nearest neighbour exactly one pitch away
    interior = (lay["array_row"].between(1, 8) & lay["array_col"].between(2, 21)).to_numpy()
    np.testing.assert_allclose(d[interior, 1:7], 80.0)  # six neighbours inside the lattice
    assert (d[:, 1:] > 80.0 - 1e-9).all()


def test_visium_layout_square_and_disc():
    sq = visium_layout(5, 7, spacing=2.0, hex=False, margin=0.0)
    np.testing.assert_array_equal(sq["x"], 2.0 * sq["array_col"])
    np.testing.assert_array_equal(sq["y"], 2.0 * sq["array_row"])
    disc = visium_layout(20, 20, tissue="disc")
    reg = disc.attrs["tissue"]
    r = np.hypot(disc["x"] - reg["centre"][0], disc["y"] - reg["centre"][1])
    assert ((r <= reg["radius"] + 1e-9) == (disc["in_tissue"] == 1)).all()
    assert 0.5 < disc["in_tissue"].mean() < 0.9


@pytest.mark.parametrize("args, words", [((1, 5), "n_rows >= 2"), ((5, 5, -1.0), "spacing"),
                                         ((5, 5, 100.0, True, "square"), "tissue")])
def test_visium_layout_errors(args, words):
    with pytest.raises(InputError, match=words):
        visium_layout(*args)


# --------------------------------------------------------------------------- study
def test_study_anndata_conventions(study):
    ad = study.adata
    assert isinstance(ad, anndata.AnnData)
    assert ad.obs_names.is_unique and ad.n_vars == 200
    assert list(ad.var_names[:2]) == ["GENE0001", "GENE0002"]
    for col in ("library_id", "array_row", "array_col", "in_tissue", "total_counts"):
        assert col in ad.obs
    assert list(ad.obs["library_id"].cat.categories) == study.sections == ["S1", "S2", "S3",
                                                                           "S4"]
    assert (ad.obs["in_tissue"] == 1).all()
    assert ad.obsm["spatial"].shape == (ad.n_obs, 2) and ad.obsm["spatial"].dtype == float
    for s in study.sections:
        n_s = (ad.obs["library_id"] == s).sum()
        assert 300 <= n_s <= 600
        entry = ad.uns["spatial"][s]
        sf = entry["scalefactors"]
        for key in ("spot_diameter_fullres", "tissue_hires_scalef", "tissue_lowres_scalef",
                    "fiducial_diameter_fullres"):
            assert key in sf and sf[key] > 0
        assert sf["spot_diameter_fullres"] == pytest.approx(0.55 * 100.0)
        hires = entry["images"]["hires"]
        assert hires.ndim == 3 and hires.shape[2] == 3 and 0 <= hires.min() <= hires.max() <= 1
        # squidpy/scanpy: spot pixel in hires = obsm["spatial"] * tissue_hires_scalef, on tissue
        px = np.round(ad.obsm["spatial"][(ad.obs["library_id"] == s).to_numpy()]
                      * sf["tissue_hires_scalef"]).astype(int)
        assert px.min() >= 0 and px.max() < min(hires.shape[:2])
        background = np.all(hires[px[:, 1], px[:, 0]] > 0.9, axis=1)
        assert not background.any()
    # scanpy conventions: integer counts; X = log1p(counts / total * 1e4)
    C = ad.layers["counts"]
    assert sparse.issparse(C) and C.dtype == np.int32
    total = np.asarray(C.sum(axis=1)).ravel()
    np.testing.assert_array_equal(total, ad.obs["total_counts"].to_numpy())
    expect = np.log1p(C.toarray() / total[:, None] * 1e4)
    np.testing.assert_allclose(ad.X.toarray(), expect, rtol=1e-6, atol=1e-6)
    assert {"kind", "colocalised", "field", "loading", "base_rate"} <= set(ad.var.columns)
    assert study.removed_spots["n_removed"].gt(0).all()
    assert (study.removed_spots["n_lattice"] - study.removed_spots["n_removed"]
            == ad.obs["library_id"].value_counts().reindex(study.sections).to_numpy()).all()
    text = repr(study)
    assert "4 sections" in text and "10 co-localised" in text


def test_study_truth_table(study):
    g = study.truth.genes
    assert g["kind"].value_counts().to_dict() == {"colocalised": 10, "spatial": 95, "noise": 95}
    assert study.truth.colocalised_genes == [f"GENE{i:04d}" for i in range(1, 11)]
    assert (g.loc[g["kind"] == "colocalised", "field"] == "shared").all()
    assert set(g.loc[g["kind"] == "spatial", "field"]) == {"gene_1", "gene_2"}
    np.testing.assert_allclose(g.loc[g["kind"] != "noise", "loading"].abs(), 0.5)
    assert (g.loc[g["kind"] == "noise", "loading"] == 0).all()
    assert g["base_rate"].sum() == pytest.approx(1.0)
    # +/- pairs of equal abundance: no first-order effect of any field on spot totals
    paired = g.iloc[:104]  # the 10 co-localised and 94 of the 95 spatial genes
    for name, sub in paired.groupby("field"):
        assert abs((sub["base_rate"] * sub["loading"]).sum()) < 1e-15, name
    F = study.truth.fields
    assert F.index.equals(study.adata.obs_names)
    assert F[["shared", "gene_1", "gene_2", "image_only"]].std().between(0.5, 1.5).all()


def _abs_corr(X, v):
    Xc = X - X.mean(axis=0)
    vc = v - v.mean()
    return (Xc.T @ vc) / (np.linalg.norm(Xc, axis=0) * np.linalg.norm(vc))


def test_colocalised_genes_follow_the_image(study, null_study):
    X = study.adata.X.toarray()
    g = study.truth.genes
    img = study.to_frame()["image"].to_numpy()
    r = _abs_corr(X, img)
    kind = g["kind"].to_numpy()
    co, noise = r[kind == "colocalised"], r[kind == "noise"]
    sign = np.sign(g["loading"].to_numpy()[kind == "colocalised"])
    assert (np.sign(co) == sign).all() and np.abs(co).min() > 0.25
    assert np.abs(noise).mean() < 0.05
    # spatial null genes follow their own field, not the image (beyond chance)
    for name in ("gene_1", "gene_2"):
        own = _abs_corr(X[:, g["field"].to_numpy() == name], study.truth.fields[name].to_numpy())
        assert np.abs(own).mean() > 0.3
    # null=True: identical genes and fields; the image is built from the independent decoy
    np.testing.assert_array_equal(null_study.adata.X.toarray(), X)
    assert not null_study.truth.genes["colocalised"].any()
    F0, F1 = null_study.truth.fields, study.truth.fields
    pd.testing.assert_frame_equal(F0.drop(columns="image_signal"), F1.drop(columns="image_signal"))
    rho = study.truth.image_share
    np.testing.assert_allclose(F0["image_signal"],
                               rho * F0["decoy"] + np.sqrt(1 - rho ** 2) * F0["image_only"])
    np.testing.assert_allclose(F1["image_signal"],
                               rho * F1["shared"] + np.sqrt(1 - rho ** 2) * F1["image_only"])
    lib = study.adata.obs["library_id"].to_numpy()

    def mean_r(F, st):
        img = st.to_frame()["image"].to_numpy()
        return np.mean([np.corrcoef(F["shared"][lib == s], img[lib == s])[0, 1]
                        for s in st.sections])

    # per section, two independent smooth fields correlate by chance with SD ~0.25
    assert mean_r(F1, study) > 0.6 and abs(mean_r(F0, null_study)) < 0.5


def test_image_rendered_through_the_true_transform(study):
    """Map sampled at spots = mean + sd * latent signal + (interpolated) pixel noise."""
    fr = study.to_frame()
    p = study.params
    for s in study.sections:
        sub = fr[fr["library_id"] == s]
        resid = sub["image"] - (p["image_mean"] + p["image_sd"] * sub["image_signal"])
        # bilinear interpolation averages up to 4 noisy pixels: SD in [0.5, 1] x noise SD
        assert abs(resid.mean()) < 0.005
        assert 0.4 * p["image_noise_sd"] < resid.std() < 1.1 * p["image_noise_sd"]
        # a wrong transform (the true one rotated by 90 degrees about the tissue) breaks it
        T = study.true_transform[s]
        c = sub[["x", "y"]].mean().to_numpy()
        R = np.array([[0, -1, c[0] + c[1]], [1, 0, c[1] - c[0]], [0, 0, 1.0]])
        wrong = study.image_at_spots(s, transform=R @ T)
        wrong_resid = wrong - (p["image_mean"] + p["image_sd"] * sub["image_signal"])
        assert wrong_resid.std() > 2 * resid.std()
        mask = study.image_masks[s]
        assert mask.shape == study.images[s].shape and 0.2 < mask.mean() < 1.0


def test_sitk_image_geometry(study):
    sitk = pytest.importorskip("SimpleITK", reason="SimpleITK is optional")
    s = "S2"
    img = study.sitk_image(s)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img), study.images[s])
    assert img.GetSpacing() == pytest.approx(study.image_spacing[s])
    ox, oy = study.image_origin[s]
    sx, sy = study.image_spacing[s]
    assert img.TransformIndexToPhysicalPoint((3, 5)) == pytest.approx((ox + 3 * sx, oy + 5 * sy))


def test_landmarks_map_within_their_noise():
    st = make_spatial_study(2, 5, n_colocalised=2, n_landmarks=1000, landmark_sd_um=10.0,
                            he_image=False, counts=False, rng=4)
    for s in st.sections:
        L = st.landmarks[s]
        T = st.true_transform[s]
        lin = T[:2, :2]
        scale = np.sqrt(np.linalg.det(lin))
        np.testing.assert_allclose(lin.T @ lin, scale ** 2 * np.eye(2), atol=1e-9)  # similarity
        assert 0.92 * 1000 <= scale <= 1.08 * 1000  # ~1000 px/mm at 100 px per 100 um
        pred = L[["x_image", "y_image"]].to_numpy() @ lin.T + T[:2, 2]
        res = pred - L[["x_spot", "y_spot"]].to_numpy()
        # each coordinate: spot noise 10 px + image noise 0.01 mm * scale px/mm
        var = 10.0 ** 2 + (0.01 * scale) ** 2
        ratio = (res ** 2).mean() / var
        assert 0.85 < ratio < 1.15  # 2000 squared normals: SD of the ratio ~0.032


def test_default_landmarks_recover_the_transform(study):
    """An affine fit to the 8 noisy landmarks predicts spot positions within its own error."""
    fr = study.to_frame()
    for s in study.sections:
        L = study.landmarks[s]
        assert len(L) >= 6
        A = np.c_[L[["x_image", "y_image"]].to_numpy(), np.ones(len(L))]
        coef, *_ = np.linalg.lstsq(A, L[["x_spot", "y_spot"]].to_numpy(), rcond=None)
        spots = fr.loc[fr["library_id"] == s, ["x", "y"]].to_numpy()
        T = study.true_transform[s]
        img_xy = (np.linalg.inv(T) @ np.c_[spots, np.ones(len(spots))].T)[:2].T
        B = np.c_[img_xy, np.ones(len(img_xy))]
        err = B @ coef - spots
        # least-squares prediction SD per coordinate: sigma^2 b^T (A^T A)^-1 b, with sigma^2 =
        # (10 px)^2 spot noise + (0.01 mm * ~1000 px/mm)^2 image noise
        sd = np.sqrt(200.0 * np.einsum("ij,jk,ik->i", B, np.linalg.inv(A.T @ A), B))
        z = np.abs(err) / sd[:, None]
        assert z.max() < 4.5, (s, z.max())


def test_reproducible_and_streams_split():
    a = make_spatial_study(2, 30, rng=9)
    b = make_spatial_study(2, 30, rng=9)
    c = make_spatial_study(2, 30, rng=10)
    d = make_spatial_study(2, 60, rng=9)
    assert (a.adata.X != b.adata.X).nnz == 0
    pd.testing.assert_frame_equal(a.adata.obs, b.adata.obs)
    for s in a.sections:
        np.testing.assert_array_equal(a.images[s], b.images[s])
        np.testing.assert_array_equal(a.images[s], d.images[s])  # n_genes: same images
        pd.testing.assert_frame_equal(a.landmarks[s], b.landmarks[s])
        assert not np.array_equal(a.images[s], c.images[s])
    pd.testing.assert_frame_equal(a.truth.fields, d.truth.fields)


def test_counts_false_dense_and_options():
    st = make_spatial_study(1, 40, counts=False, he_image=False, kernel="matern32",
                            length_scales=300.0, n_colocalised=4, n_spatial=6, rng=2)
    assert isinstance(st.adata.X, np.ndarray) and "counts" not in st.adata.layers
    assert np.isfinite(st.adata.X).all() and st.adata.X.min() >= 0
    assert st.truth.length_scales["gene_1"] == 300.0
    assert st.truth.genes["kind"].value_counts().to_dict() == {"noise": 30, "spatial": 6,
                                                              "colocalised": 4}
    assert "scalefactors" in st.adata.uns["spatial"]["S1"]
    dense = make_spatial_study(1, 20, sparse=False, hex=False, tissue="full", rng=2)
    assert isinstance(dense.adata.X, np.ndarray)
    assert np.issubdtype(dense.adata.layers["counts"].dtype, np.integer)
    assert dense.removed_spots["n_removed"].iloc[0] == 0


@pytest.mark.parametrize("kwargs, words", [
    ({"n_sections": 0}, "n_sections"),
    ({"n_genes": 2.5}, "n_genes"),
    ({"n_colocalised": 50, "n_genes": 20}, "n_colocalised"),
    ({"n_spatial": 500}, "n_spatial"),
    ({"length_scales": (300.0, -1.0)}, "length_scales"),
    ({"image_share": 1.5}, "image_share"),
    ({"noise_sd": -0.1}, "noise_sd"),
    ({"depth": 0.0}, "depth"),
    ({"n_landmarks": 2}, "n_landmarks"),
    ({"kernel": "rbf"}, "kernel"),
    ({"tissue": "heart"}, "tissue"),
    ({"effect": None}, "effect"),
    ({"length_scales": "long"}, "length_scales"),
    ({"n_spatial": -1}, "n_spatial"),
])
def test_study_errors(kwargs, words):
    with pytest.raises(InputError, match=words):
        make_spatial_study(**{"n_genes": 20, **kwargs, "rng": 0})


def test_unknown_section_is_named(study):
    with pytest.raises(InputError, match="sections are"):
        study.image_at_spots("S9")
