"""Spatial association screen (radiogenomics.spatial.association).

Checks against brute force (surrogates redrawn with the same seed through
``spatial_surrogates`` and reduced by hand; exact enumeration of section orderings for the
pseudo-bulk test; scipy.stats.pearsonr; pandas ``corr``), the exchangeability blocks
(sections), seeding, backends, reporting of dropped spots/genes, errors, and a small validity
simulation on ``data_sim.make_spatial_study``: with an image independent of every (smooth)
gene the naive tests reject far too often while Moran spectral randomisation stays within
the binomial band; with planted co-localisation the co-localised genes are found at FWER 0.05.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from data_sim import make_spatial_study
from radiogenomics._checks import InputError
from radiogenomics.spatial import SpotData
from radiogenomics.spatial.association import (
    pseudobulk_association, spatial_association, spatial_surrogates)

ALPHA = 0.05


# ------------------------------------------------------------------------------ fixtures

def _square_sections(n_sections=2, side=8, n_genes=6, rng=0, ranges=False):
    """Square full lattices (torus-ready), smooth-ish map and genes; section s offset by 10 s."""
    g = np.random.default_rng(rng)
    r, c = np.divmod(np.arange(side * side), side)
    coords, grid, secs, maps, expr = [], [], [], [], []
    for s in range(n_sections):
        coords.append(np.column_stack([c, r]).astype(float) * 100.0)
        grid.append(np.column_stack([r, c]))
        secs += [f"S{s + 1}"] * (side * side)
        base = np.sin(r / 2.0 + g.uniform(0, 6)) + np.cos(c / 3.0 + g.uniform(0, 6))
        m = base + 0.3 * g.standard_normal(side * side)
        if ranges:  # distinct value ranges per section: section s in [10 s, 10 s + 1]
            m = 10.0 * s + (m - m.min()) / (m.max() - m.min())
        maps.append(m)
        expr.append(0.5 * base[:, None] * g.standard_normal(n_genes)
                    + g.standard_normal((side * side, n_genes)))
    ids = [f"spot{i}" for i in range(n_sections * side * side)]
    spots = SpotData.from_arrays(np.vstack(coords), pd.DataFrame(
        np.vstack(expr), index=ids, columns=[f"g{j}" for j in range(n_genes)]),
        sections=np.array(secs), spot_ids=ids, grid=np.vstack(grid))
    return spots, pd.Series(np.concatenate(maps), index=ids, name="map")


@pytest.fixture(scope="module")
def lattice():
    return _square_sections()


def _study(null, rng, **kw):
    opts = dict(n_sections=1, n_genes=12, n_rows=14, n_cols=14, n_colocalised=4,
                length_scales=(250.0, 250.0, 250.0), counts=False, he_image=False)
    opts.update(kw)
    st = make_spatial_study(null=null, rng=rng, **opts)
    spots = SpotData.from_anndata(st.adata)
    v = pd.concat([st.image_at_spots(s) for s in st.sections]).reindex(spots.spot_ids)
    return st, spots, v


def _brute_force(spots, v, null, B, rng, null_options=None):
    """Per-gene and max-T p-values recomputed from ``spatial_surrogates`` by hand."""
    sec = pd.Series(spots.sections, index=spots.spot_ids)
    X = spots.expression
    Xc = X - X.groupby(sec).transform("mean")
    vc = v - v.groupby(sec).transform("mean")
    r_obs = Xc.corrwith(vc).to_numpy()
    S = spatial_surrogates(v.to_numpy(), spots.coords, null=null, n_surrogates=B,
                           sections=spots.sections, grid=spots.grid, rng=rng,
                           null_options=null_options)[:, 0, :]
    Sc = S - pd.DataFrame(S.T).groupby(sec.to_numpy()).transform("mean").to_numpy().T
    Sc /= np.linalg.norm(Sc, axis=1, keepdims=True)
    U = Xc.to_numpy() / np.linalg.norm(Xc.to_numpy(), axis=0)
    R_null = np.abs(Sc @ U)                                   # (B, genes)
    tol = 1e-9
    count = (R_null >= np.abs(r_obs) - tol).sum(axis=0)
    mx = R_null.max(axis=1)
    fwer = np.array([(1 + (mx >= abs(r) - tol).sum()) / (1 + B) for r in r_obs])
    return r_obs, (1 + count) / (1 + B), fwer, mx


# ------------------------------------------------------------------------- exactness

@pytest.mark.parametrize("null", ["permutation", "torus", "spin", "msr", "variogram"])
def test_pvalues_equal_brute_force_from_surrogates(lattice, null):
    spots, v = lattice
    B = 49 if null == "variogram" else 99
    opts = {"max_outside": 1.0} if null == "spin" else None
    with pytest.warns(UserWarning) if null == "spin" else _nullcontext():
        res = spatial_association(spots, v, null=null, n_resamples=B, rng=11,
                                  null_options=opts, modified_ttest=False)
    with pytest.warns(UserWarning) if null == "spin" else _nullcontext():
        r_obs, p, fwer, mx = _brute_force(spots, v, null, B, 11, opts)
    t = res.table
    np.testing.assert_allclose(t["r"], r_obs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.sort(res.null_max), np.sort(mx), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(t["p_spatial"].to_numpy(), p)
    np.testing.assert_array_equal(t["p_fwer"].to_numpy(), fwer)
    assert (t["p_spatial"] >= 1 / (B + 1)).all() and (t["p_fwer"] >= t["p_spatial"]).all()
    assert res.n_resamples == B and res.null == null


def _nullcontext():
    import contextlib

    return contextlib.nullcontext()


def test_r_equals_pandas_corr_of_centred_values_and_naive_t(lattice):
    spots, v = lattice
    res = spatial_association(spots, v, null="permutation", n_resamples=19, rng=0,
                              modified_ttest=False)
    sec = pd.Series(spots.sections, index=spots.spot_ids)
    df = spots.expression.assign(map=v)
    dc = df - df.groupby(sec).transform("mean")
    want = dc.corr()["map"].drop("map")
    np.testing.assert_allclose(res.table["r"], want.to_numpy(), rtol=0, atol=1e-13)
    # naive t-test with n - S - 1 df (OLS slope test with section intercepts)
    import statsmodels.api as sm

    n, S = len(df), len(np.unique(spots.sections))
    D = pd.get_dummies(sec, dtype=float).to_numpy()
    for j, g in enumerate(spots.expression.columns[:3]):
        fit = sm.OLS(df[g].to_numpy(), np.column_stack([D, v.to_numpy()])).fit()
        assert fit.df_resid == n - S - 1
        assert res.table["p_naive"].iat[j] == pytest.approx(fit.pvalues[-1], rel=1e-9)


def test_backends_identical(lattice):
    spots, v = lattice
    out = {}
    for be in ("numpy", "numba"):
        out[be] = spatial_association(spots, v, null="msr", n_resamples=199, rng=3,
                                      backend=be, modified_ttest=False)
        assert out[be].backend == be
    a, b = out["numpy"], out["numba"]
    np.testing.assert_allclose(a.null_max, b.null_max, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(a.table["p_spatial"], b.table["p_spatial"])
    np.testing.assert_array_equal(a.table["p_fwer"], b.table["p_fwer"])


def test_cupy_backend(lattice):
    pytest.importorskip("cupy", reason="CuPy not installed (GPU backend is optional)")
    spots, v = lattice
    a = spatial_association(spots, v, null="msr", n_resamples=99, rng=3, backend="numpy",
                            modified_ttest=False)
    b = spatial_association(spots, v, null="msr", n_resamples=99, rng=3, backend="cupy",
                            modified_ttest=False)
    np.testing.assert_allclose(a.null_max, b.null_max, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(a.table["p_spatial"], b.table["p_spatial"])


def test_seeding(lattice):
    spots, v = lattice
    kw = dict(null="msr", n_resamples=99, modified_ttest=False)
    a = spatial_association(spots, v, rng=5, **kw)
    b = spatial_association(spots, v, rng=np.random.default_rng(5), **kw)
    c = spatial_association(spots, v, rng=6, **kw)
    np.testing.assert_array_equal(a.null_max, b.null_max)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert not np.array_equal(a.null_max, c.null_max)


# ----------------------------------------------------------------- exchangeability blocks

@pytest.mark.parametrize("null", ["permutation", "torus", "spin"])
def test_index_surrogates_stay_in_their_section(null):
    spots, v = _square_sections(n_sections=3, ranges=True)
    opts = {"max_outside": 1.0} if null == "spin" else None
    with pytest.warns(UserWarning) if null == "spin" else _nullcontext():
        S = spatial_surrogates(v.to_numpy(), spots.coords, null=null, n_surrogates=50,
                               sections=spots.sections, grid=spots.grid, rng=1,
                               null_options=opts)[:, 0, :]
    for s in np.unique(spots.sections):
        rows = spots.sections == s
        own = set(v.to_numpy()[rows])
        assert set(np.unique(S[:, rows])) <= own       # values from section s only
        lo = 10.0 * (int(s[1:]) - 1)
        assert S[:, rows].min() >= lo and S[:, rows].max() <= lo + 1


@pytest.mark.parametrize("null", ["permutation", "torus", "spin", "msr", "variogram"])
def test_sections_resampled_independently(null):
    """Changing section 2's values leaves section 1's surrogates unchanged (same seed)."""
    spots, v = _square_sections(n_sections=2, ranges=True)
    opts = {"max_outside": 1.0} if null == "spin" else None
    rows = spots.sections == "S1"
    w = v.to_numpy().copy()
    w[~rows] = np.random.default_rng(9).permutation(w[~rows]) * 3.0 + 1.0
    draws = []
    for x in (v.to_numpy(), w):
        with pytest.warns(UserWarning) if null == "spin" else _nullcontext():
            draws.append(spatial_surrogates(x, spots.coords, null=null, n_surrogates=20,
                                            sections=spots.sections, grid=spots.grid, rng=4,
                                            null_options=opts)[:, 0, :])
    np.testing.assert_array_equal(draws[0][:, rows], draws[1][:, rows])
    assert not np.allclose(draws[0][:, ~rows], draws[1][:, ~rows])
    if null == "msr":  # the section's mean is kept: nothing leaks between sections
        np.testing.assert_allclose(draws[0][:, ~rows].mean(axis=1), v[~rows].mean(), atol=1e-10)


# ------------------------------------------------------------------------- reporting

def test_dropped_spots_and_constant_genes_reported():
    spots, v = _square_sections(n_sections=2, n_genes=4)
    expr = spots.expression.copy()
    expr["flat"] = (spots.sections == "S2").astype(float)   # constant within every section
    spots2 = SpotData.from_arrays(spots.coords, expr, sections=spots.sections,
                                  spot_ids=spots.spot_ids, grid=spots.grid, constant="overall")
    v = v.copy()
    nan_ids = list(v.index[[3, 70, 100]])
    v[nan_ids] = np.nan
    res = spatial_association(spots2, v, null="msr", n_resamples=19, rng=0)
    d = res.dropped
    assert set(d.loc[d["kind"] == "spot", "id"]) == set(nan_ids)
    assert d.loc[d["kind"] == "spot", "reason"].str.contains("imaging value missing").all()
    assert list(d.loc[d["kind"] == "gene", "id"]) == ["flat"]
    assert "constant" in d.loc[d["kind"] == "gene", "reason"].iat[0]
    assert res.n_spots == len(v) - 3 and "flat" not in set(res.table["gene"])
    assert "left out" in res.summary() and "p_dutilleul" in res.table
    # the remaining spots give the same r as the analysis of the subset
    keep = ~v.index.isin(nan_ids)
    sub = spatial_association(spots.subset(keep), v[keep], null="msr", n_resamples=19, rng=0,
                              modified_ttest=False)
    np.testing.assert_allclose(res.table["r"], sub.table["r"], atol=1e-13)


def test_result_object(lattice):
    spots, v = lattice
    res = spatial_association(spots, v, null="msr", n_resamples=99, rng=0, modified_ttest=False)
    f = res.to_frame()
    assert list(f.columns[:7]) == ["map", "gene", "r", "p_naive", "q_naive", "p_spatial",
                                   "p_fwer"]
    assert "Moran spectral randomisation" in repr(res)
    assert res.null_r.shape == (99, 5)
    thr = res.fwer_threshold(0.05)
    np.testing.assert_array_equal(res.significant(0.05)["r"].abs() > thr,
                                  np.ones(len(res.significant(0.05)), bool))


# ------------------------------------------------------------------------- pseudo-bulk

def _pseudobulk_data(n_sections=5, rng=0):
    g = np.random.default_rng(rng)
    n_per = 12
    sec = np.repeat([f"S{i}" for i in range(n_sections)], n_per)
    coords = g.uniform(0, 1000, size=(sec.size, 2))
    shift = g.standard_normal(n_sections)
    v = np.repeat(shift, n_per) + g.standard_normal(sec.size)
    expr = pd.DataFrame(np.repeat(shift, n_per)[:, None] * [1.0, 0.3, 0.0]
                        + g.standard_normal((sec.size, 3)), columns=["a", "b", "c"])
    ids = [f"s{i}" for i in range(sec.size)]
    expr.index = ids
    return SpotData.from_arrays(coords, expr, sections=sec, spot_ids=ids), pd.Series(v, ids)


def test_pseudobulk_exact_and_ttest():
    spots, v = _pseudobulk_data()
    res = pseudobulk_association(spots, v, rng=0)
    sec = pd.Series(spots.sections, index=spots.spot_ids)
    xm = v.groupby(sec).mean().to_numpy()
    ym = spots.expression.groupby(sec).mean()
    for j, g in enumerate(ym.columns):
        pr = stats.pearsonr(xm, ym[g].to_numpy())
        assert res.table["r"].iat[j] == pytest.approx(pr.statistic, abs=1e-12)
        assert res.table["p"].iat[j] == pytest.approx(pr.pvalue, rel=1e-9)
        allr = [abs(np.corrcoef(xm[list(p)], ym[g].to_numpy())[0, 1])
                for p in itertools.permutations(range(len(xm)))]
        want = np.mean(np.array(allr) >= abs(pr.statistic) - 1e-9)
        assert res.table["p_exact"].iat[j] == pytest.approx(want, abs=1e-15)
    assert (res.table["p_exact"] >= 1 / 120).all()


def test_pseudobulk_random_orderings_seeded():
    spots, v = _pseudobulk_data(n_sections=9)
    a = pseudobulk_association(spots, v, n_resamples=999, rng=1)
    b = pseudobulk_association(spots, v, n_resamples=999, rng=1)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert (a.table["p_exact"] >= 1 / 1000).all()


# ------------------------------------------------------------------------------ errors

def test_errors(lattice):
    spots, v = lattice
    with pytest.raises(InputError, match="null must be one of"):
        spatial_association(spots, v, null="shuffle")
    with pytest.raises(InputError, match="n_resamples"):
        spatial_association(spots, v, n_resamples=0)
    with pytest.raises(InputError, match="constant"):
        spatial_association(spots, pd.Series(1.0, index=v.index), null="permutation",
                            n_resamples=9)
    few = v.copy()
    few.iloc[3:64] = np.nan   # 3 spots left in section S1
    with pytest.raises(InputError, match="too few"):
        spatial_association(spots, few, null="permutation", n_resamples=9)
    with pytest.raises(InputError, match="no entry"):
        spatial_association(spots, v.iloc[1:], n_resamples=9)
    _, disc, dv = _study(True, 0)
    with pytest.raises(InputError, match="complete lattice"):
        spatial_association(disc, dv, null="torus", n_resamples=9)
    pb_spots, pb_v = _pseudobulk_data(n_sections=3)
    with pytest.raises(InputError, match="at least 4 sections"):
        pseudobulk_association(pb_spots, pb_v)


# ----------------------------------------------------------------------------- validity

def _binomial_upper(n, p=ALPHA, level=0.999):
    """Largest rejection count compatible with level ``p`` (one-sided, ``level``)."""
    return int(stats.binom.ppf(level, n, p))


def test_validity_naive_inflated_msr_calibrated():
    """Independent smooth image and genes: naive tests reject far too often, MSR does not.

    One gene per independent smooth field (``shared``, ``gene_1``, ``gene_2``; the image
    loads on ``decoy``) over 40 replicates = 120 null tests at level 0.05.
    """
    B, reps = 99, 40
    rej = {"t-test": 0, "permutation": 0, "msr": 0}
    n = 0
    for rep in range(reps):
        st, spots, v = _study(True, 1000 + rep)
        genes = st.truth.genes
        pick = [genes.index[genes["field"] == f][0] for f in ("shared", "gene_1", "gene_2")]
        for null in ("permutation", "msr"):
            t = spatial_association(spots, v, null=null, n_resamples=B, rng=rep,
                                    modified_ttest=False).table.set_index("gene").loc[pick]
            rej[null] += int((t["p_spatial"] <= ALPHA).sum())
            if null == "permutation":
                rej["t-test"] += int((t["p_naive"] <= ALPHA).sum())
        n += len(pick)
    upper = _binomial_upper(n)
    assert rej["msr"] <= upper, rej
    assert rej["t-test"] > 2 * upper and rej["permutation"] > 2 * upper, rej


def test_power_planted_colocalisation():
    st, spots, v = _study(False, 7, n_sections=2, n_genes=30, n_colocalised=6, n_rows=16,
                          n_cols=16)
    genes = st.truth.genes
    for null in ("msr", "spin"):
        res = spatial_association(spots, v, null=null, n_resamples=199, rng=1,
                                  modified_ttest=False)
        hit = res.table.set_index("gene")["p_fwer"] <= ALPHA
        coloc = genes.index[genes["colocalised"]]
        noise = genes.index[genes["kind"] == "noise"]
        assert hit[coloc].mean() >= 0.5, (null, hit[coloc])
        assert not hit[noise].any(), (null, hit[noise])
        assert not hit[genes.index[~genes["colocalised"]]].any(), null   # FWER: none false


def test_pseudobulk_reports_dropped_and_refuses_flat_map():
    spots, v = _pseudobulk_data()
    expr = spots.expression.copy()
    expr["flat"] = 1.0
    expr.iloc[[0, 13], -1] = 5.0      # spots dropped below: then the same mean in every section
    spots2 = SpotData.from_arrays(spots.coords, expr, sections=spots.sections,
                                  spot_ids=spots.spot_ids, constant="overall")
    v = v.copy()
    v.iloc[[0, 13]] = np.nan
    res = pseudobulk_association(spots2, v)
    d = res.dropped
    assert set(d.loc[d["kind"] == "spot", "id"]) == {v.index[0], v.index[13]}
    assert list(d.loc[d["kind"] == "gene", "id"]) == ["flat"]
    assert "left out" in repr(res)
    flat_map = pd.Series(np.tile([0.0, 1.0], len(v) // 2), index=v.index)
    with pytest.raises(InputError, match="same mean in every section"):
        pseudobulk_association(spots, flat_map)


def test_surrogate_engine_equals_brute_force_for_several_maps_and_batches():
    """The engine's surrogate path (two maps, chunks of 1, 7 and all surrogates, NumPy and
    Numba): exceedance counts and per-surrogate maxima equal to |S_b' U| computed directly."""
    from radiogenomics.resampling import surrogate_correlation_null

    g = np.random.default_rng(3)
    n, q, B = 60, 45, 23
    U = g.standard_normal((n, q))
    U -= U.mean(axis=0)
    U /= np.linalg.norm(U, axis=0)
    S = g.standard_normal((B, 2, n))
    S -= S.mean(axis=-1, keepdims=True)
    S /= np.linalg.norm(S, axis=-1, keepdims=True)
    obs = np.abs(S[3] @ U) * 0.9 + 0.01
    R = np.abs(np.einsum("bpn,nq->bpq", S, U))
    for backend in ("numpy", "numba"):
        for batch in (1, 7, None):
            res = surrogate_correlation_null(S, U, obs, backend=backend, batch=batch)
            assert np.array_equal(res.counts, (R >= obs - 1e-12).sum(axis=0))
            np.testing.assert_allclose(res.null_max, R.max(axis=(1, 2)), rtol=0, atol=1e-14)
            assert res.n_resamples == B and res.scheme == "surrogate"


def test_variogram_sampled_option_caps_knn_per_section():
    """null_options={"method": "sampled"} (brainsmash Sampled) runs on sections smaller than
    its default 1,000 neighbours (knn and ns capped per section), and each section's
    surrogate values stay centred versions of its own map (de-meaned as brainsmash)."""
    st = make_spatial_study(n_sections=2, n_genes=12, counts=False, he_image=False, rng=4)
    spots = SpotData.from_anndata(st.adata)
    v = pd.concat([st.image_at_spots(s) for s in st.sections]).reindex(spots.spot_ids)
    S = spatial_surrogates(v.to_numpy(), spots.coords, null="variogram", n_surrogates=5,
                           sections=spots.sections, rng=0, null_options={"method": "sampled"})
    assert S.shape == (5, 1, len(v)) and np.isfinite(S).all()
    for sec in np.unique(spots.sections):
        rows = np.asarray(spots.sections) == sec
        np.testing.assert_allclose(S[:, 0, rows].mean(axis=1), 0.0, atol=1e-10)
    res = spatial_association(spots, v, null="variogram", n_resamples=19, rng=0,
                              null_options={"method": "sampled"}, modified_ttest=False)
    assert (res.table["p_spatial"] >= 1 / 20).all() and res.n_resamples == 19


def test_missing_section_label_is_refused():
    """A spot without a section label is refused (it used to become a section named 'nan')."""
    g = np.random.default_rng(0)
    coords = g.random((40, 2)) * 10
    sections = np.array(["A"] * 20 + ["B"] * 20, dtype=object)
    sections[3] = None
    with pytest.raises(ValueError, match="sections has missing labels at position"):
        spatial_surrogates(g.standard_normal(40), coords, null="permutation", n_surrogates=3,
                           sections=sections, rng=0)
