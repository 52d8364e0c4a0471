"""MOFA+ through radiogenomics.mofa: parity with mofapy2 on the CLL data, published findings,
I/O, downstream analyses, recovery on data_sim cohorts, and null calibration of the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require

require("mofapy2")

import data_sim  # noqa: E402
from radiogenomics.mofa import (MOFA, MOFAError, MOFAResult, factor_stability,  # noqa: E402
                                load_mofa)

DATA = Path(__file__).parent / "data" / "mofa"
REF = "cll_K15_fast_seed42"


def _read(name, **kw):
    return pd.read_csv(DATA / name, index_col=0, **kw)


@pytest.fixture(scope="module")
def cll():
    drugs = _read("drugs.csv.gz")
    muts = _read("mutations.csv.gz")
    model = MOFA(15, likelihoods=["gaussian", "bernoulli"], scale_views=False,
                 convergence="fast", rng=42)
    res = model.fit({"Drugs": drugs, "Mutations": muts})
    return res, drugs, muts


def _aligned(ours: pd.DataFrame, ref: pd.DataFrame) -> float:
    """Max |difference| after flipping each of our columns to the sign of the reference."""
    ref = ref.select_dtypes("number")
    o = ours.loc[ref.index, ref.columns].to_numpy()
    r = ref.to_numpy()
    sign = np.sign(np.sum(o * r, axis=0))
    sign[sign == 0] = 1
    return float(np.abs(o * sign - r).max())


# ------------------------------------------------------------------ CLL parity


def test_cll_factors_weights_r2_elbo_equal_mofapy2(cll):
    res, _, _ = cll
    assert _aligned(res.factors, _read(f"{REF}_Z.csv.gz")) < 1e-6
    assert _aligned(res.weights["Drugs"], _read(f"{REF}_W_Drugs.csv.gz")) < 1e-6
    assert _aligned(res.weights["Mutations"], _read(f"{REF}_W_Mutations.csv.gz")) < 1e-6
    ref_r2 = _read(f"{REF}_R2_per_factor.csv").drop(columns="group")
    ours = res.r2_table().T.loc[ref_r2.index, ref_r2.columns]
    assert np.abs(ours.to_numpy() - ref_r2.to_numpy()).max() < 1e-3       # percentage points
    tot = _read(f"{REF}_R2_total.csv")["group1"]
    assert np.abs(res.r2_total["group1"].loc[tot.index] - tot).max() < 1e-3
    elbo = _read(f"{REF}_elbo_trace.csv")["elbo"].dropna()
    ours_elbo = res.elbo.reindex(elbo.index)
    np.testing.assert_allclose(ours_elbo.to_numpy(), elbo.to_numpy(), rtol=1e-6)
    assert res.converged and res.elbo.index.max() <= res.n_iter < 1000
    assert res.likelihoods == {"Drugs": "gaussian", "Mutations": "bernoulli"}
    assert res.active_factors() == ["Factor1", "Factor2", "Factor3"]


def test_cll_published_findings_reproduce(cll):
    """Factor 1 ~ IGHV (r = 0.62) and a factor ~ trisomy 12 (r = -0.42), as in the MOFA paper;
    every factor-covariate r and p equal the reference table (all 15 factors, min_r2=0)."""
    res, _, muts = cll
    cov = _read("covariates.csv.gz")
    covs = pd.DataFrame({"IGHV": cov["IGHV"], "trisomy12": cov["trisomy12"],
                         "sex_f": (cov["Gender"] == "f").astype(float), "age": cov["age"],
                         "died_num": cov["died"].map({True: 1.0, False: 0.0, "True": 1.0,
                                                      "False": 0.0}),
                         "IGHV_mutview": muts["IGHV"], "trisomy12_mutview": muts["trisomy12"]})
    ref = pd.read_csv(DATA / f"{REF}_factor_covariate_assoc.csv")
    a = res.correlate(covs, min_r2=0)
    got = a.to_frame().set_index(["factor", "covariate"])
    ref = ref.set_index(["factor", "covariate"])
    both = ref.index.intersection(got.index)
    assert len(both) == len(ref)
    # factor signs are arbitrary up to the reference's: compare |r| and p.  Inactive factors
    # (R2 ~ 0) have nearly constant values, so their correlations amplify the 1e-8 agreement
    # of Z to about 1e-5; active ones agree to 1e-6
    act = [i for i in both if i[0] in res.active_factors()]
    np.testing.assert_allclose(got.loc[act, "r"].abs(), ref.loc[act, "pearson_r"].abs(), atol=1e-6)
    np.testing.assert_allclose(got.loc[both, "r"].abs(), ref.loc[both, "pearson_r"].abs(), atol=1e-4)
    np.testing.assert_allclose(got.loc[both, "p_parametric"], ref.loc[both, "p_value"], rtol=1e-3)
    assert (got.loc[both, "n"] == ref.loc[both, "n"]).all()
    assert got.loc[("Factor1", "IGHV"), "r"] == pytest.approx(0.624, abs=1e-3)
    assert got.loc[("Factor3", "trisomy12"), "r"] == pytest.approx(-0.419, abs=2e-3)
    # with permutations (active factors only, as recommended): IGHV and trisomy 12 significant
    ap = res.correlate(covs[["IGHV", "trisomy12", "sex_f", "age"]], n_permutations=499, rng=3)
    t = ap.to_frame().set_index(["factor", "covariate"])
    assert set(t.index.get_level_values("factor")) == {"Factor1", "Factor2", "Factor3"}
    assert ap.skipped_factors == [f"Factor{k}" for k in range(4, 16)]
    assert t.loc[("Factor1", "IGHV"), "p_permutation"] == pytest.approx(1 / 500)
    assert t.loc[("Factor3", "trisomy12"), "q"] <= 0.01
    assert (t["p_permutation"] > 0).all()
    # top drug weights of Factor 1 as in the reference (AZD7762, PF477736, dasatinib)
    top = res.top_weights("Drugs", 1, n=6)
    assert list(top["feature"]) == ["D_020_2", "D_020_3", "D_078_3", "D_050_2", "D_050_3",
                                    "D_020_4"]
    assert top["scaled"].abs().iloc[0] == pytest.approx(1.0)
    mt = res.top_weights("Mutations", 1, n=1)
    assert mt["feature"].iloc[0] == "IGHV"


def test_missing_views_are_reported_and_kept(cll):
    res, drugs, _ = cll
    missing = drugs.index[drugs.isna().all(axis=1)]
    assert len(missing) == 16
    pres = res.view_presence
    assert not pres.loc[missing, "Drugs"].any() and pres.loc[missing, "Mutations"].all()
    assert set(res.removed.loc[res.removed["what"] == "sample_view", "name"]) == set(missing)
    assert res.factors.index.equals(drugs.index)            # every sample has factor values
    assert "Mutations: 16" in res.summary()


def test_save_and_load_roundtrip_in_mofapy2_format(cll, tmp_path):
    import h5py

    res, _, _ = cll
    path = res.save(tmp_path / "model.hdf5")
    with h5py.File(path, "r") as f:                          # the layout MOFA2's load_model reads
        for key in ("data/Drugs/group1", "expectations/Z/group1", "expectations/W/Mutations",
                    "variance_explained/r2_per_factor/group1", "training_stats/elbo"):
            assert key in f
    back = load_mofa(path)
    pd.testing.assert_frame_equal(back.factors, res.factors)
    pd.testing.assert_frame_equal(back.weights["Drugs"], res.weights["Drugs"])
    pd.testing.assert_frame_equal(back.r2, res.r2)
    assert back.likelihoods == res.likelihoods
    with pytest.raises(MOFAError, match="does not exist"):
        load_mofa(tmp_path / "nope.hdf5")
    bad = tmp_path / "bad.hdf5"
    with h5py.File(bad, "w") as f:
        f["x"] = 1
    with pytest.raises(MOFAError, match="not a mofapy2 model"):
        load_mofa(bad)
    (tmp_path / "text.hdf5").write_text("not hdf5")
    with pytest.raises(MOFAError, match="cannot read"):
        load_mofa(tmp_path / "text.hdf5")


# ------------------------------------------------------------------ small synthetic data


def _lowrank(n=80, p=(40, 30), k=2, noise=0.5, rng=0, scale=(1.0, 50.0)):
    g = np.random.default_rng(rng)
    Z = g.standard_normal((n, k))
    ids = [f"s{i:03d}" for i in range(n)]
    views = {}
    for v, (pv, sc) in enumerate(zip(p, scale)):
        W = g.standard_normal((pv, k))
        W[np.arange(pv) % k != 0, 0] = 0.0     # each feature loads on one factor (identifiable)
        if k > 1:
            W[np.arange(pv) % k != 1, 1] = 0.0
        X = (Z @ W.T + noise * g.standard_normal((n, pv))) * sc + 10 * sc
        views[f"v{v + 1}"] = pd.DataFrame(X, index=ids, columns=[f"v{v + 1}_f{j}" for j in range(pv)])
    return views, pd.DataFrame(Z, index=ids, columns=["T1", "T2"][:k])


def test_same_seed_same_fit_and_impute_recovers_masked_cells():
    views, _ = _lowrank(noise=0.3)
    g = np.random.default_rng(1)
    masked = {v: df.copy() for v, df in views.items()}
    cells = {}
    for v, df in masked.items():
        m = g.random(df.shape) < 0.1
        cells[v] = m
        masked[v] = df.mask(m)
    a = MOFA(4, standardize=True, rng=7).fit(masked)
    b = MOFA(4, standardize=["v1", "v2"], rng=7).fit(masked)
    pd.testing.assert_frame_equal(a.factors, b.factors)
    imp = a.impute()
    for v, df in views.items():
        m = cells[v]
        got = imp[v].to_numpy()
        assert not np.isnan(got).any()
        np.testing.assert_array_equal(got[~m], masked[v].to_numpy()[~m])  # observed unchanged
        err = np.sqrt(np.mean((got[m] - df.to_numpy()[m]) ** 2))
        err_mean = np.sqrt(np.mean((masked[v].mean().to_numpy()[None, :].repeat(len(df), 0)[m]
                                    - df.to_numpy()[m]) ** 2))
        assert err < 0.5 * err_mean, (v, err, err_mean)        # on the input scale (x50 view)
    # scale_views without standardize also maps back to the input scale
    c = MOFA(4, rng=7).fit(masked)
    got = c.impute("v2").to_numpy()
    m = cells["v2"]
    err = np.sqrt(np.mean((got[m] - views["v2"].to_numpy()[m]) ** 2))
    assert err < 0.5 * np.nanstd(masked["v2"].to_numpy())
    with pytest.raises(MOFAError, match="fitted data"):
        MOFAResult.from_hdf5(a.save(Path(__import__("tempfile").mkdtemp()) / "m.hdf5")).impute()


def test_groups_and_gpu_flag():
    views, _ = _lowrank(n=90)
    grp = pd.Series(np.repeat(["A", "B", "C"], 30), index=views["v1"].index)
    res = MOFA(3, groups=grp, rng=2).fit(views)
    assert res.groups == ["A", "B", "C"]
    assert set(res.r2["group"]) == {"A", "B", "C"} and res.r2_total.shape == (2, 3)
    assert (res.groups_of_samples.reindex(grp.index) == grp).all()
    assert res.factors.index.equals(views["v1"].index)
    from radiogenomics.resampling.backend import cupy_available

    if cupy_available():
        r = MOFA(2, rng=2, gpu=True).fit(views)
        assert r.gpu_used is True
        cpu = MOFA(2, rng=2).fit(views)
        np.testing.assert_allclose(r.factors.to_numpy(), cpu.factors.to_numpy(), atol=1e-6)
    else:
        with pytest.warns(RuntimeWarning, match="CuPy cannot be imported"):
            r = MOFA(2, rng=2, gpu=True).fit(views)
        assert r.gpu_used is False


def test_bad_inputs_are_named():
    views, _ = _lowrank(n=30)
    v1 = views["v1"]
    inf = v1.copy()
    inf.iloc[3, 1] = np.inf
    with pytest.raises(MOFAError, match=rf"view 'a' has 1 infinite value\(s\) in sample\(s\) "
                                        rf"'{v1.index[3]}' and feature\(s\) '{v1.columns[1]}'.*NaN"):
        MOFA(2).fit({"a": inf})
    with pytest.raises(MOFAError, match="view 'a' has 1 duplicated sample ID"):
        MOFA(2).fit({"a": pd.concat([v1, v1.iloc[:1]])})
    with pytest.raises(MOFAError, match="view 'a' has 1 duplicated feature ID"):
        MOFA(2).fit({"a": v1.set_axis([*v1.columns[:-1], v1.columns[0]], axis=1)})
    with pytest.raises(MOFAError, match="non-numeric column.*'bad'"):
        MOFA(2).fit({"a": v1.astype(object).assign(bad="x")})
    txt = v1.astype(object)
    txt.iloc[:, 2] = [str(x) for x in v1.iloc[:, 2]]
    txt.iloc[4, 2] = "n/a"
    with pytest.raises(MOFAError, match=rf"stored as text.*'{v1.columns[2]}'.*'n/a'.*to_numeric"):
        MOFA(2).fit({"a": txt})
    with pytest.raises(MOFAError, match="empty"):
        MOFA(2).fit({"a": v1.iloc[:, :0]})
    # the error is the project's own input error type
    from radiogenomics._checks import InputError
    assert issubclass(MOFAError, InputError)
    # rng follows SPEC 7 (check_rng): bool / RandomState refused, the others accepted
    for bad in (True, np.random.RandomState(0), "1"):
        with pytest.raises(TypeError, match="rng"):
            MOFA(2, rng=bad).fit({"a": v1})
    with pytest.raises(ValueError, match="non-negative"):
        MOFA(2, rng=-1).fit({"a": v1})
    from radiogenomics.mofa import _seed_from
    ss = np.random.SeedSequence(3)
    assert _seed_from(7) == 7 and _seed_from(np.int64(7)) == 7       # mofapy2's seed as given
    assert (_seed_from(np.random.SeedSequence(3)) == _seed_from(np.random.PCG64(ss))
            == _seed_from(np.random.default_rng(ss)))
    with pytest.raises(MOFAError, match="not below the number of samples"):
        MOFA(30).fit({"a": v1})
    with pytest.raises(MOFAError, match="other than 0/1"):
        MOFA(2, likelihoods="bernoulli").fit({"a": v1})
    with pytest.raises(MOFAError, match="not in the cohort|not among"):
        MOFA(2).fit(views, views=["v9"])
    with pytest.raises(MOFAError, match="no value for"):
        MOFA(2, groups=pd.Series("A", index=v1.index[:10])).fit(views)
    with pytest.raises(MOFAError, match="convergence"):
        MOFA(2, convergence="quick").fit(views)
    # constant and empty features are removed and reported, not silently
    v = v1.assign(const=1.0, empty=np.nan)
    res = MOFA(2, rng=0).fit({"a": v, "b": views["v2"]})
    rem = res.removed.set_index("name")
    assert rem.loc["const", "reason"].startswith("constant")
    assert rem.loc["empty", "reason"].startswith("fewer than 2")
    assert "const" not in res.weights["a"].index


# ------------------------------------------------------------------ data_sim recovery

SIM = dict(n_radiomic=200, n_genes=500, loading_density=(0.5, 0.3), radiomic_signal=1000.0,
           expression_signal=1000.0, centre_concentration=None)


@pytest.fixture(scope="module")
def sim():
    cohort, truth = data_sim.make_cohort(200, rng=5, **SIM)
    res = MOFA(8, standardize=True, rng=1).fit(cohort, views=["radiomics", "expression"])
    return cohort, truth, res


def _abs_corr(res, truth):
    Z = res.factors
    F = truth.shared_factors.reindex(Z.index)
    return pd.DataFrame([[abs(np.corrcoef(Z[a], F[b])[0, 1]) for b in F] for a in Z],
                        index=Z.columns, columns=F.columns)


def test_shared_factors_recovered_and_centre_factor_flagged(sim):
    cohort, truth, res = sim
    R = _abs_corr(res, truth)
    print("\n|corr| of MOFA factors with the true shared factors (n = 200):\n" + R.round(3).to_string())
    assert R["F1"].max() > 0.85 and R["F2"].max() > 0.85
    leak = res.leakage(centre=cohort.centre, n_permutations=199, rng=4)
    print(leak.round(3).to_string())
    flagged = set(leak.index[leak["flagged"]])
    assert flagged                                          # centre shifts form their own factor
    assert R["F1"].idxmax() not in flagged and R["F2"].idxmax() not in flagged
    assert leak.loc[sorted(flagged), "eta2"].min() > 0.5
    assert (leak.loc[sorted(flagged), "cv_accuracy"] > 0.6).all()


def test_no_factor_flagged_without_centre_effects():
    cohort, truth = data_sim.make_cohort(200, rng=5, centre_effects=False, **SIM)
    res = MOFA(6, standardize=True, rng=1).fit(cohort, views=["radiomics", "expression"])
    leak = res.leakage(centre=cohort.centre, n_permutations=199, rng=4)
    assert not leak["flagged"].any(), leak


def test_factor_stability_over_seeds_and_subsamples():
    views, truth = _lowrank(n=80, noise=0.4)
    st = factor_stability(MOFA(3, rng=0), views, n_fits=3, subsample=0.8, rng=11)
    assert len(st.fits) == 3 and st.matches["refit"].nunique() == 2
    tab = st.to_frame()
    # the two true factors are found again in every refit
    R = np.abs(np.corrcoef(np.c_[st.fits[0].factors[tab.index].to_numpy(), truth.to_numpy()],
                           rowvar=False))[: len(tab), len(tab):]
    strong = tab.index[R.max(axis=1) > 0.9]
    assert len(strong) >= 2
    assert (tab.loc[strong, "min_abs_r"] > 0.9).all() and tab.loc[strong, "reproducible"].all()
    assert "reproducible" in st.summary()


# ------------------------------------------------------------------ enrichment and null calibration


def _result_from(Z: pd.DataFrame, weights: dict) -> MOFAResult:
    rows = [{"factor": f, "view": v, "group": "group1", "r2": 10.0} for f in Z for v in weights]
    return MOFAResult(factors=Z, weights=weights, r2=pd.DataFrame(rows),
                      r2_total=pd.DataFrame({"group1": [50.0] * len(weights)}, index=list(weights)),
                      elbo=pd.Series(dtype=float), n_iter=0, views=list(weights),
                      groups=["group1"])


def test_enrichment_finds_the_loaded_set_and_is_calibrated_under_the_null():
    g = np.random.default_rng(3)
    p = 400
    feats = [f"g{j}" for j in range(p)]
    w = g.standard_normal((p, 1)) * 0.3
    w[:20, 0] += 2.0                                      # set "hit" loads on Factor1
    Z = pd.DataFrame(g.standard_normal((50, 1)), columns=["Factor1"])
    res = _result_from(Z, {"rna": pd.DataFrame(w, index=feats, columns=["Factor1"])})
    sets = {"hit": feats[:20], "other": feats[100:130], "tiny": feats[200:202]}
    for test in ("parametric", "permutation"):
        e = res.enrichment("rna", sets, test=test, n_permutations=999, rng=1)
        t = e.to_frame().set_index("feature_set")
        assert t.loc["hit", "q"] < 0.01 and t.loc["other", "p"] > 0.05
        assert e.skipped_sets == {"tiny": 2}
        if test == "permutation":
            assert t["p"].min() >= 1 / 1000
    # null: weights unrelated to random sets; rejection rate at 0.05 within binomial bounds
    null = {f"s{i}": list(g.choice(feats, 25, replace=False)) for i in range(300)}
    wn = pd.DataFrame(g.standard_normal((p, 1)), index=feats, columns=["Factor1"])
    res0 = _result_from(Z, {"rna": wn})
    for test in ("parametric", "permutation"):
        e = res0.enrichment("rna", null, test=test, n_permutations=199, rng=2)
        rate = float((e.to_frame()["p"] <= 0.05).mean())
        # 300 correlated sets on one weight vector: loose bound around 0.05
        assert rate < 0.12, (test, rate)


def test_leakage_pvalue_is_calibrated_under_the_null():
    g = np.random.default_rng(8)
    pvals = []
    for _ in range(300):
        Z = pd.DataFrame(g.standard_normal((45, 1)), columns=["Factor1"],
                         index=[f"s{i}" for i in range(45)])
        res = _result_from(Z, {"a": pd.DataFrame(np.ones((3, 1)), columns=["Factor1"])})
        centre = pd.Series(np.repeat(["A", "B", "C"], 15), index=Z.index)
        pvals.append(res.leakage(centre=centre, n_permutations=99, cv=2, rng=g)
                     ["p_permutation"].iloc[0])
    pvals = np.array(pvals)
    rate = float(np.mean(pvals <= 0.05))
    lo, hi = 0.05 - 1.96 * np.sqrt(0.05 * 0.95 / 300), 0.05 + 1.96 * np.sqrt(0.05 * 0.95 / 300)
    print(f"\nleakage permutation test, null rejection rate at 0.05: {rate:.3f}")
    assert lo - 0.01 <= rate <= hi + 0.01
    assert pvals.min() >= 1 / 100


def test_plots_take_the_result(cll, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from radiogenomics import plotting

    res, _, _ = cll
    cov = _read("covariates.csv.gz")
    for name, fig in (
        ("ve", plotting.plot_mofa_variance_explained(res, min_r2=1.0)),
        ("sc", plotting.plot_mofa_factors(res, cov["IGHV"].map({0.0: "U-CLL", 1.0: "M-CLL"})
                                          .rename("IGHV"), factors=(1, 3))),
        ("scn", plotting.plot_mofa_factors(res, cov["age"])),
        ("tw", plotting.plot_mofa_top_weights(res, "Drugs", 1, n=10)),
    ):
        fig.savefig(tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").stat().st_size > 5000
    ax = fig.axes[0]
    assert len(ax.patches) == 10


def test_cohort_views_with_centre_groups_and_within_centre_permutations():
    cohort, _ = data_sim.make_cohort(90, n_radiomic=30, n_genes=60, rng=2,
                                     missing_rate={"expression": 0.2})
    res = MOFA(3, groups="centre", standardize=["radiomics"], rng=0).fit(
        cohort, views=["radiomics", "expression"])
    assert sorted(res.groups) == sorted(cohort.centre.unique())
    assert (res.groups_of_samples.reindex(cohort.centre.index) == cohort.centre.astype(str)).all()
    n_expr = cohort["expression"].shape[0]
    assert int(res.view_presence["expression"].sum()) == n_expr < len(res.factors)
    a = res.correlate(cohort.covariates[["age"]], min_r2=0, n_permutations=99,
                      exchangeability_blocks="group", rng=1)
    assert (a.to_frame()["p_permutation"] >= 0.01).all()
    with pytest.raises(MOFAError, match="Cohort with a centre"):
        MOFA(2, groups="centre").fit({"a": cohort["radiomics"]})


def test_factor_stability_with_centre_groups_and_subsamples():
    cohort, _ = data_sim.make_cohort(90, n_radiomic=30, n_genes=60, rng=3)
    st = factor_stability(MOFA(2, groups="centre", rng=0), cohort,
                          views=["radiomics", "expression"], n_fits=3, subsample=0.8, rng=1)
    assert len(st.fits) == 3 and st.matches["refit"].nunique() == 2
    assert all(len(f.groups) == cohort.centre.nunique() for f in st.fits)


def test_leakage_enumerates_every_relabelling_when_few_exist():
    """6 samples in 2 centres: 720 permutations <= B + 1, so all are used and p is exact:
    #(eta2* >= eta2) / 720 over every relabelling, computed here by brute force."""
    import itertools

    from radiogenomics.mofa import _eta2

    z = np.array([0.1, 0.4, -0.3, 2.0, 2.5, 1.7])
    idx = [f"s{i}" for i in range(6)]
    Z = pd.DataFrame(z[:, None], columns=["Factor1"], index=idx)
    res = _result_from(Z, {"a": pd.DataFrame(np.ones((3, 1)), columns=["Factor1"])})
    centre = pd.Series(list("AAABBB"), index=idx)
    codes = np.array([0, 0, 0, 1, 1, 1])
    eta = _eta2(z, codes, 2)
    exact = np.mean([_eta2(z, codes[list(p)], 2) >= eta - 1e-12
                     for p in itertools.permutations(range(6))])
    p1 = res.leakage(centre=centre, n_permutations=999, cv=2, rng=1)["p_permutation"].iloc[0]
    p2 = res.leakage(centre=centre, n_permutations=999, cv=2, rng=2)["p_permutation"].iloc[0]
    assert p1 == pytest.approx(exact, abs=1e-12) and p1 == p2      # exact, seed-independent
    assert exact == pytest.approx(2 * 36 / 720)    # the split {0,1,2}|{3,4,5} and its mirror
