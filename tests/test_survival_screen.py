"""Tests of the survival association screen (radiogenomics.survival.screen).

References: R 4.2.2, survival 3.5-3 (``tests/data/survival/screen/make_refs.R``): the score test
``coxph(Surv(time, status) ~ Z + x + strata(centre), init = c(gamma_hat, 0), iter.max = 0)``
for 24 features, four model configurations, Breslow and Efron ties (18 distinct event times
for 103 events: heavy ties).  Cross-check: statsmodels' ``PHReg`` score and Hessian.
Permutation p-values are recomputed by brute force from the same permutation indices.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from radiogenomics._checks import InputError
from radiogenomics.resampling import permutation_indices
from radiogenomics.survival.screen import SurvivalScreenResult, survival_screen

DATA = Path(__file__).parent / "data" / "survival" / "screen"
CONFIGS = {"cov_strata": (["age", "sex"], True), "cov": (["age", "sex"], False),
           "strata": ([], True), "none": ([], False)}


@pytest.fixture(scope="module")
def ref_data():
    d = pd.read_csv(DATA / "data.csv.gz", float_precision="round_trip").set_index("id")
    refs = pd.read_csv(DATA / "score_refs.csv", float_precision="round_trip")
    nulls = pd.read_csv(DATA / "null_fits.csv", float_precision="round_trip")
    return d, refs, nulls


def run_config(d, cfg, ties, **kw):
    cov, strat = CONFIGS[cfg]
    return survival_screen(d.filter(regex="^x"), time=d["time"], event=d["status"],
                           covariates=d[cov] if cov else None,
                           strata=d["centre"] if strat else None, ties=ties, **kw)


def simulate_null(rng, n=120, p=20, common=0.6, hetero=True):
    """Null data: 3 centres with strong baseline differences (log-hazard -1.5 / 0 / 1.5), age
    and sex acting on the hazard and on the features, feature noise SD differing by centre
    (0.5 / 1 / 2), features correlated through a common factor; features independent of the
    outcome given age, sex and centre."""
    C = 3
    centre = rng.permutation(np.repeat(np.array(["A", "B", "C"]), -(-n // C))[:n])
    c = pd.factorize(centre, sort=True)[0]
    age = rng.normal(60 + 8 * (c - 1), 10)
    sex = np.where(rng.random(n) < 0.5, "F", "M")
    lp = 0.04 * (age - 60) + 0.5 * (sex == "M") + np.array([-1.5, 0.0, 1.5])[c]
    T = 5 * (rng.exponential(size=n) / np.exp(lp)) ** (1 / 1.5)
    cens = np.minimum(rng.exponential(12, n), 8)
    sd = np.array([0.5, 1.0, 2.0])[c] if hetero else np.ones(n)
    X = (0.08 * (age - 60)[:, None] + 0.7 * (sex == "M")[:, None]
         + np.array([-1.0, 0.0, 1.0])[c][:, None] + sd[:, None] * rng.standard_normal((n, p))
         + common * rng.standard_normal((n, 1)))
    ids = [f"S{i:04d}" for i in range(n)]
    return (pd.DataFrame(X, index=ids, columns=[f"f{j}" for j in range(p)]),
            pd.DataFrame({"time": np.minimum(T, cens), "event": (T <= cens).astype(int)},
                         index=ids),
            pd.DataFrame({"age": age, "sex": sex}, index=ids), pd.Series(centre, index=ids))


def binomial_interval(n, p=0.05, level=0.99):
    lo, hi = stats.binom.interval(level, n, p)
    return lo / n, hi / n


# ---------------------------------------------------------------------------- against R

@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("cfg", list(CONFIGS))
def test_score_test_equals_coxph(ref_data, cfg, ties):
    d, refs, nulls = ref_data
    res = run_config(d, cfg, ties)
    ref = refs[(refs.config == cfg) & (refs.ties == ties)].set_index("feature")
    assert list(res.features) == list(ref.index)
    np.testing.assert_allclose(res.z ** 2, ref["score_test"], rtol=1e-8, atol=0)
    np.testing.assert_allclose(res.score, ref["U"], rtol=1e-8, atol=0)
    np.testing.assert_allclose(res.information, ref["V"], rtol=1e-8, atol=0)
    np.testing.assert_allclose(res.pvalues, stats.chi2.sf(ref["score_test"], 1), rtol=1e-7)
    null = nulls[(nulls.config == cfg) & (nulls.ties == ties)]
    assert res.null_model.converged
    if len(null):
        assert list(res.null_model.coefficients.index) == ["age", "sex_M"]
        np.testing.assert_allclose(res.null_model.coefficients, null["coef"], rtol=1e-9)
        np.testing.assert_allclose(res.null_model.loglik, null["loglik"].iloc[0], rtol=1e-12)
    else:
        assert res.null_model.coefficients.empty and res.null_model.n_iter == 0


def test_cross_check_statsmodels_phreg(ref_data):
    """An independent Cox implementation: the full score test U' I^-1 U from PHReg's score
    and Hessian at (gamma_hat, 0), stratified, Efron."""
    phreg = pytest.importorskip("statsmodels.duration.hazard_regression").PHReg
    d, _, _ = ref_data
    res = run_config(d, "cov_strata", "efron")
    gamma = res.null_model.coefficients.to_numpy()
    for j, f in enumerate(res.features[:6]):
        exog = np.column_stack([d["age"], (d["sex"] == "M").astype(float), d[f]])
        mod = phreg(d["time"].to_numpy(), exog, status=d["status"].to_numpy(),
                    strata=d["centre"].to_numpy(), ties="efron")
        b = np.r_[gamma, 0.0]
        u = mod.score(b)
        stat = u @ np.linalg.solve(-mod.hessian(b), u)
        assert stat == pytest.approx(res.z[j] ** 2, rel=1e-7)
        assert u[2] == pytest.approx(res.score[j], rel=1e-9)


def test_one_step_estimate_and_hazard_ratios(ref_data):
    d, _, _ = ref_data
    res = run_config(d, "cov_strata", "breslow")
    tab = res.to_frame(sort_by="p")
    row = tab.set_index("feature").loc["x01"]
    j = list(res.features).index("x01")
    assert row["beta_score"] == pytest.approx(res.score[j] / res.information[j], rel=1e-12)
    assert row["hr_score_estimate"] == pytest.approx(np.exp(row["beta_score"]))
    assert row["hr_per_sd"] == pytest.approx(np.exp(row["beta_score"] * d["x01"].std()))
    # the one-step estimate is close to the maximum partial likelihood estimate here (the
    # information hardly changes between 0 and beta_hat): PHReg's fit within 15%
    phreg = pytest.importorskip("statsmodels.duration.hazard_regression").PHReg
    exog = np.column_stack([d["age"], (d["sex"] == "M").astype(float), d["x01"]])
    fit = phreg(d["time"].to_numpy(), exog, status=d["status"].to_numpy(),
                strata=d["centre"].to_numpy(), ties="breslow").fit()
    assert row["beta_score"] == pytest.approx(fit.params[2], rel=0.15)


def test_invariant_to_feature_shift_scale_and_covariate_copies(ref_data):
    d, _, _ = ref_data
    base = run_config(d, "cov_strata", "efron")
    d2 = d.copy()
    xs = d2.filter(regex="^x").columns
    d2[xs] = d2[xs] * 1000.0 + 5e4 + 3.0 * d2[["age"]].to_numpy()   # units, offset, age
    res = run_config(d2, "cov_strata", "efron")
    np.testing.assert_allclose(res.z, base.z, rtol=1e-7)
    np.testing.assert_allclose(res.beta * 1000.0, base.beta, rtol=1e-7)


# ---------------------------------------------------------------------------- permutations

def test_permutation_pvalues_brute_force(ref_data):
    """p_perm and p_fwer recomputed from the engine's permutation indices: the features'
    covariate residuals permuted within centre, partial correlation with the residuals."""
    d, _, _ = ref_data
    B, seed = 199, 11
    res = run_config(d, "cov_strata", "breslow", n_permutations=B, rng=seed, backend="numpy")
    X = d.filter(regex="^x").to_numpy()
    design = np.column_stack([pd.get_dummies(d["centre"]).to_numpy(float), d["age"],
                              (d["sex"] == "M").astype(float)])
    Q = np.linalg.qr(design)[0]
    R = X - Q @ (Q.T @ X)
    A = R / np.linalg.norm(R, axis=0)
    from radiogenomics._cox import cox_grad_hess, cox_prepare

    cd = cox_prepare(d["time"], d["status"], strata=d["centre"].to_numpy())
    Z = np.column_stack([d["age"], (d["sex"] == "M").astype(float)])
    g = cox_grad_hess(cd, (Z - Z.mean(0)) @ res.null_model.coefficients.to_numpy())[0]
    u = g / np.linalg.norm(g)                  # the null model's (martingale) residuals
    r_obs = res.r
    perms = permutation_indices(len(d), B, blocks=d["centre"].to_numpy(), rng=seed)
    np.testing.assert_allclose(A.T @ u, r_obs, rtol=1e-9, atol=1e-12)
    null = np.empty((B, A.shape[1]))
    for b, pi in enumerate(perms):
        Ap = A[pi]
        null[b] = (u @ Ap) / np.sqrt(1.0 - ((Q.T @ Ap) ** 2).sum(axis=0))
    thr = np.abs(r_obs) * (1 - 1e-13) - 1e-12
    p_perm = (1 + (np.abs(null) >= thr).sum(axis=0)) / (1 + B)
    mx = np.abs(null).max(axis=1)
    p_fwer = (1 + (mx[:, None] >= thr).sum(axis=0)) / (1 + B)
    np.testing.assert_array_equal(res.p_permutation, p_perm)
    np.testing.assert_array_equal(res.p_fwer, p_fwer)
    np.testing.assert_allclose(np.sort(res.null_max), np.sort(mx), rtol=1e-10)
    assert res.permutation_scheme == "within-block"


def test_same_seed_same_pvalues_on_numpy_and_numba(ref_data):
    d, _, _ = ref_data
    out = [run_config(d, "cov_strata", "efron", n_permutations=300, rng=3, backend=be,
                      correction="maxT") for be in ("numpy", "numba")]
    np.testing.assert_array_equal(out[0].p_permutation, out[1].p_permutation)
    np.testing.assert_array_equal(out[0].p_fwer, out[1].p_fwer)
    np.testing.assert_allclose(out[0].null_max, out[1].null_max, rtol=1e-12)
    assert out[1].backend == "numba"
    again = run_config(d, "cov_strata", "efron", n_permutations=300, rng=3, backend="numpy")
    np.testing.assert_array_equal(again.p_permutation, out[0].p_permutation)
    other = run_config(d, "cov_strata", "efron", n_permutations=300, rng=4, backend="numpy")
    assert not np.array_equal(other.null_max, out[0].null_max)


def test_free_permutation_without_strata_and_exhaustive_tiny():
    rng = np.random.default_rng(0)
    n = 6
    X = rng.standard_normal((n, 3))
    res = survival_screen(X, time=np.arange(1.0, n + 1), event=np.ones(n), n_permutations=1000,
                          rng=1)
    assert res.exhaustive_permutations and res.n_permutations == 719
    assert res.permutation_scheme == "free"
    k = np.round(res.p_permutation * 720)
    np.testing.assert_allclose(res.p_permutation * 720, k, atol=1e-9)  # multiples of 1/720
    # without covariates the permutation test is exact: the observed statistic ranks
    # against all 720 orderings, identical for any seed
    res2 = survival_screen(X, time=np.arange(1.0, n + 1), event=np.ones(n), n_permutations=1000,
                           rng=99)
    np.testing.assert_array_equal(res.p_permutation, res2.p_permutation)


# ---------------------------------------------------------------------------- results

def test_result_table_summary_and_ids(ref_data):
    d, _, _ = ref_data
    res = run_config(d, "cov_strata", "breslow", n_permutations=199, rng=2, correction="maxT")
    assert isinstance(res, SurvivalScreenResult)
    tab = res.to_frame()
    assert list(tab.columns) == ["feature", "score", "information", "beta_score",
                                 "hr_score_estimate", "hr_per_sd", "z", "p", "p_perm", "p_fwer",
                                 "q", "significant"]
    assert res.n_tests == 24 and len(tab) == 24
    assert tab["p_perm"].is_monotonic_increasing
    np.testing.assert_array_equal(tab["significant"], tab["p_fwer"] <= 0.05)
    assert tab["feature"].iloc[0] in {"x01", "x02", "x03"}
    assert res.to_frame(sort_by="p")["p"].is_monotonic_increasing
    assert len(res.to_frame(top=5)) == 5
    sig = res.to_frame(significant_only=True)
    assert len(sig) == res.n_significant >= 2
    assert list(res.samples) == list(d.index) and res.n_samples == 150
    assert res.n_events == int(d["status"].sum())
    assert list(res.strata) == ["A", "B", "C"]
    text = res.summary()
    assert "24 features" in text and "events = 103" in text and "max-T" in text
    assert repr(res).startswith("SurvivalScreenResult")
    assert "converged=True" in repr(res.null_model)
    thr = res.fwer_threshold()
    np.testing.assert_array_equal(np.abs(res.r) > thr, res.p_fwer <= 0.05)
    bonf = run_config(d, "cov_strata", "breslow", correction="bonferroni")
    np.testing.assert_allclose(bonf.to_frame(sort_by="p")["p_bonferroni"],
                               np.minimum(1, bonf.to_frame(sort_by="p")["p"] * 24))
    assert np.isnan(bonf.to_frame()["p_perm"]).all()
    with pytest.raises(ValueError, match="no permutation"):
        bonf.to_frame(sort_by="p_perm")


def test_outcome_and_covariates_aligned_by_sample_id(ref_data):
    d, _, _ = ref_data
    base = run_config(d, "cov_strata", "breslow")
    shuffled = d.sample(frac=1.0, random_state=1)
    y = shuffled[["time", "status"]]
    res = survival_screen(d.filter(regex="^x"), y, covariates=shuffled[["age", "sex"]],
                          strata=shuffled["centre"])
    np.testing.assert_allclose(res.z, base.z, rtol=1e-10)
    # strata given as a column name of covariates
    res2 = survival_screen(d.filter(regex="^x"), y, covariates=shuffled[["age", "sex", "centre"]],
                           strata="centre")
    np.testing.assert_allclose(res2.z, base.z, rtol=1e-10)
    # plain arrays: positional
    res3 = survival_screen(d.filter(regex="^x").to_numpy(), d[["time", "status"]].to_numpy(),
                           covariates=np.column_stack([d["age"], d["sex"] == "M"]),
                           strata=d["centre"].to_numpy())
    np.testing.assert_allclose(res3.z, base.z, rtol=1e-10)
    assert list(res3.features) == [f"x{j}" for j in range(24)]


# ---------------------------------------------------------------------------- bad input

def test_input_errors(ref_data):
    d, _, _ = ref_data
    X = d.filter(regex="^x").copy()
    y = d[["time", "status"]]
    bad = X.copy()
    bad["x05"] = bad["x05"].astype(object)
    bad.loc["P003", "x05"] = "n/a"
    with pytest.raises(InputError, match="x05"):
        survival_screen(bad, y)
    nan = X.copy()
    nan.iloc[4, 2] = np.nan
    with pytest.raises(InputError, match="x03"):
        survival_screen(nan, y)
    with pytest.raises(InputError, match="different sample IDs"):
        survival_screen(X, y.rename(index={"P001": "Q001"}))
    with pytest.raises(InputError, match="events"):
        survival_screen(X, time=y["time"], event=np.r_[1, 1, 1, np.zeros(147)],
                        covariates=d[["age", "sex"]])
    with pytest.raises(InputError, match="no events|events"):
        survival_screen(X, time=y["time"], event=pd.Series(0, index=d.index))
    strata = d["centre"].copy()
    strata.iloc[3] = None
    with pytest.raises(InputError, match="strata"):
        survival_screen(X, y, strata=strata)
    with pytest.raises(InputError, match="maxT"):
        survival_screen(X, y, correction="maxT")
    with pytest.raises(InputError, match="correction"):
        survival_screen(X, y, correction="holm")
    with pytest.raises(InputError, match="ties"):
        survival_screen(X, y, ties="exact")
    with pytest.raises(InputError, match="strata='site'"):
        survival_screen(X, y, covariates=d[["age"]], strata="site")
    conf = d[["age"]].assign(site_size=d["centre"].map({"A": 40.0, "B": 50.0, "C": 60.0}))
    with pytest.raises(InputError, match="rank deficient"):
        survival_screen(X, y, covariates=conf, strata=d["centre"])


def test_degenerate_features_named_or_dropped(ref_data):
    d, _, _ = ref_data
    X = d.filter(regex="^x").copy()
    X["const"] = 3.0
    X["by_centre"] = d["centre"].map({"A": 1.0, "B": 2.0, "C": 5.0})
    X["age_copy"] = 2 * d["age"] + 1
    y = d[["time", "status"]].copy()
    early = d.index[d["status"] == 0][:3]
    y.loc[early, "time"] = 0.1               # censored before any event: in no risk set
    X["outside"] = 0.0
    X.loc[early, "outside"] = [1.0, 2.0, 4.0]  # varies only among those three
    with pytest.raises(InputError, match="const.*by_centre.*age_copy"):
        survival_screen(X, y, covariates=d[["age"]], strata=d["centre"])
    res = survival_screen(X, y, covariates=d[["age"]], strata=d["centre"], degenerate="drop",
                          n_permutations=99, rng=0)
    assert res.n_tests == 24
    dropped = res.dropped_features.set_index("feature")["reason"]
    assert set(dropped.index) == {"const", "by_centre", "age_copy", "outside"}
    assert "no information" in dropped["outside"] and "no variation" in dropped["const"]
    assert np.isfinite(res.p_permutation).all()


def test_monotone_likelihood_reported():
    """A covariate that orders all events perfectly: coefficient runs to infinity; the null
    fit is reported as not converged, with a warning naming the covariate."""
    rng = np.random.default_rng(5)
    n = 40
    group = np.r_[np.ones(20), np.zeros(20)]
    time_ = np.r_[np.arange(1.0, 21.0), np.arange(30.0, 50.0)]
    event = np.r_[np.ones(20), rng.random(20) < 0.5].astype(float)
    X = rng.standard_normal((n, 3))
    cov = pd.DataFrame({"group": group, "noise": rng.standard_normal(n)})
    with pytest.warns(RuntimeWarning, match="did not converge.*'group'"):
        res = survival_screen(X, time=time_, event=event, covariates=cov)
    assert not res.null_model.converged
    assert res.null_model.coefficients["group"] > 10
    assert "NOT converged" in res.summary()


def test_speed_thousands_of_features():
    rng = np.random.default_rng(2)
    n, p = 400, 4000
    X = rng.standard_normal((n, p))
    t0 = time.perf_counter()
    res = survival_screen(X, time=rng.exponential(size=n), event=rng.random(n) < 0.7,
                          covariates=pd.DataFrame({"a": rng.standard_normal(n)}),
                          strata=rng.integers(0, 4, n), ties="efron", n_permutations=200, rng=1)
    elapsed = time.perf_counter() - t0
    assert res.n_tests == p and elapsed < 20


# ---------------------------------------------------------------------------- validity

@pytest.mark.slow
def test_fwer_maxT_under_null_with_centre_strata():
    """Max-T at alpha 0.05 over many null datasets with strong centre baseline differences,
    covariates acting on the hazard and on the features, centre-specific feature spread:
    the family-wise error rate is within the binomial 99% interval around 0.05 (B = 199,
    so the exact level is 10/200)."""
    rng = np.random.default_rng(2024)
    N = 400
    hits = 0
    for _ in range(N):
        X, y, cov, centre = simulate_null(rng, n=120, p=20)
        res = survival_screen(X, y, covariates=cov, strata=centre, n_permutations=199,
                              rng=rng, correction="maxT", backend="numpy")
        hits += res.n_significant > 0
    lo, hi = binomial_interval(N)
    assert lo <= hits / N <= hi, (hits / N, lo, hi)


@pytest.mark.slow
@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_parametric_score_test_type_one_error(ties):
    """Per-feature rejection rate of the score test at 0.05 under the null (independent
    features, 3 strata, 2 covariates, about 250 events per dataset; times rounded to a grid
    of 0.05 for ties): within the binomial 99% interval."""
    rng = np.random.default_rng(7 if ties == "breslow" else 8)
    N, p = 200, 30
    rejected = 0
    for _ in range(N):
        X, y, cov, centre = simulate_null(rng, n=400, p=p, common=0.0)
        y["time"] = np.ceil(y["time"] / 0.05) * 0.05
        res = survival_screen(X, y, covariates=cov, strata=centre, ties=ties)
        rejected += int((res.pvalues <= 0.05).sum())
    lo, hi = binomial_interval(N * p)
    assert lo <= rejected / (N * p) <= hi, (rejected / (N * p), lo, hi)


@pytest.mark.slow
def test_power_on_data_sim_signal_features():
    """Features that load on the outcome's shared factor are found: the survival outcome
    depends on F1 (log-HR 1.0 per SD, strong centre effects); every max-T discovery loads on
    F1 and every feature whose population correlation with F1 is above 0.5 is discovered
    (seed 17: 9 discoveries, population correlations 0.31-0.93, the 9 features above 0.3)."""
    from data_sim.survival import make_survival_cohort

    cohort, truth = make_survival_cohort(
        400, 3, 120, 40, n_snps=5, views=("radiomics",), rng=17,
        survival={"coefficients": [1.0, 0.0], "centre_log_hazard": 1.0})
    out = cohort.outcomes
    res = survival_screen(cohort["radiomics"], time=out["event_time"], event=out["event"],
                          covariates=cohort.covariates, strata=cohort.centre,
                          n_permutations=499, rng=1, correction="maxT")
    A = truth.loadings["radiomics"]
    sd = np.sqrt((A ** 2).sum(1) + (truth.specific_loadings["radiomics"] ** 2).sum(1)
                 + truth.noise_variance["radiomics"])
    rho = (A["F1"] / sd).abs()                       # population |corr(x_j, F1)|, latent layer
    found = res.to_frame(significant_only=True)["feature"]
    assert len(found) >= 4
    assert (A.loc[found, "F1"] != 0).all()
    assert set(rho.index[rho > 0.5]) <= set(found)
    # the null version of the same cohort: no imaging effect, few max-T discoveries
    cohort0, _ = make_survival_cohort(
        400, 3, 120, 40, n_snps=5, views=("radiomics",), rng=17,
        survival={"null": True, "centre_log_hazard": 1.0})
    out0 = cohort0.outcomes
    res0 = survival_screen(cohort0["radiomics"], time=out0["event_time"], event=out0["event"],
                           covariates=cohort0.covariates, strata=cohort0.centre,
                           n_permutations=499, rng=1, correction="maxT")
    assert res0.n_significant <= 1
