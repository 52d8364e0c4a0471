"""Tests of radiogenomics.metrics: agreement with scikit-learn / statsmodels, known cases, bootstrap."""

import inspect
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import special, stats
from sklearn import metrics as skm
from statsmodels.stats.proportion import proportion_confint

from radiogenomics import metrics as M
from radiogenomics.metrics import UndefinedMetricError


def _binary_data(seed, n, ties=True):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]                                   # both classes
    p = special.expit(0.8 * y + rng.normal(size=n))
    if ties:
        p = np.round(p, 1)                           # many tied predictions, across classes
    return y, p


# ------------------------------------------------------------------ agreement with scikit-learn

@pytest.mark.parametrize("seed", range(8))
def test_auroc_ap_brier_equal_sklearn_with_ties(seed):
    n = [7, 20, 53, 200, 31, 11, 500, 90][seed]
    y, p = _binary_data(seed, n, ties=seed % 2 == 0)
    if seed == 6:
        y = (np.arange(n) < 25).astype(int)          # imbalanced: 5% events
    assert M.auroc(y, p) == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert M.average_precision(y, p) == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
    assert M.brier_score(y, p) == pytest.approx(skm.brier_score_loss(y, p), abs=1e-12)


def test_auroc_ties_count_half_and_scores_allowed():
    # one event, one non-event, tied: AUROC 1/2; scores outside [0, 1] rank the same way
    assert M.auroc([0, 1], [0.3, 0.3]) == 0.5
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([-2.0, 0.5, 0.5, 3.0, 1.0, 7.0])
    # pairs (event, non-event): 0.5 vs {-2, 0.5, 1}: 1 + 1/2 + 0; 3 vs: 1+1+1; 7 vs: 1+1+1
    assert M.auroc(y, s) == pytest.approx(7.5 / 9)
    assert M.auroc(y.astype(bool), pd.Series(s)) == pytest.approx(7.5 / 9)


@pytest.mark.parametrize("seed", range(4))
def test_continuous_metrics_equal_sklearn_scipy(seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=40)
    pred = 0.6 * y + rng.normal(scale=0.8, size=40) + 0.3 * seed   # shifted: R2 != r^2
    assert M.r2_score(y, pred) == pytest.approx(skm.r2_score(y, pred), abs=1e-12)
    assert M.mae(y, pred) == pytest.approx(skm.mean_absolute_error(y, pred), abs=1e-12)
    assert M.pearson_r(y, pred) == pytest.approx(stats.pearsonr(y, pred)[0], abs=1e-12)


def test_r2_is_about_the_mean_of_y_and_can_be_negative():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([2.0, 3.0, 4.0, 5.0])            # shifted by 1: SS_res = 4, SS_tot = 5
    assert M.r2_score(y, pred) == pytest.approx(1 - 4 / 5)
    assert M.r2_score(y, y[::-1]) == pytest.approx(1 - 20 / 5)
    with pytest.raises(UndefinedMetricError, match="constant"):
        M.r2_score([2.0, 2.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(UndefinedMetricError, match="pred is constant"):
        M.pearson_r([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])


# ------------------------------------------------------------------------------ calibration

def _calib_sim(seed=11, n=20_000):
    rng = np.random.default_rng(seed)
    lp = rng.normal(-0.5, 1.5, size=n)
    p = special.expit(lp)
    y = rng.binomial(1, p)
    return y, p, lp


def test_calibration_perfect_overconfident_and_shifted():
    y, p, lp = _calib_sim()
    c = M.calibration(y, p)
    assert abs(c.intercept) < 3 * c.intercept_se
    assert abs(c.slope - 1) < 3 * c.slope_se
    assert c.n == y.size and c.n_events == y.sum()

    over = M.calibration(y, special.expit(2 * lp))          # too extreme: slope 1/2
    assert abs(over.slope - 0.5) < 3 * over.slope_se
    assert abs(over.slope - 1) > 20 * over.slope_se         # the check can tell 0.5 from 1

    shifted = M.calibration(y, special.expit(lp + 1))       # risks too high: intercept -1
    assert abs(shifted.intercept + 1) < 3 * shifted.intercept_se
    assert abs(shifted.slope - 1) < 3 * shifted.slope_se
    assert M.calibration_intercept(y, special.expit(lp + 1)) == pytest.approx(shifted.intercept)
    assert M.calibration_slope(y, special.expit(2 * lp)) == pytest.approx(over.slope)


def test_calibration_intercept_is_offset_model_fitted_by_hand():
    rng = np.random.default_rng(5)
    n = 400
    lp = rng.normal(size=n)
    y = rng.binomial(1, special.expit(0.3 + 0.5 * lp))
    p = special.expit(lp)
    c = M.calibration(y, p)
    fam = sm.families.Binomial()
    offset_fit = sm.GLM(y, np.ones((n, 1)), family=fam, offset=lp).fit()
    slope_fit = sm.GLM(y, sm.add_constant(lp), family=fam).fit()
    assert c.intercept == pytest.approx(offset_fit.params[0], abs=1e-8)
    assert c.intercept_se == pytest.approx(offset_fit.bse[0], rel=1e-6)
    assert c.slope == pytest.approx(slope_fit.params[1], abs=1e-8)
    assert c.slope_se == pytest.approx(slope_fit.bse[1], rel=1e-6)
    # with a slope far from 1 the offset intercept is not the slope model's intercept
    assert abs(c.intercept - slope_fit.params[0]) > 0.05


def test_calibration_clips_extreme_probabilities():
    y = np.array([0, 1, 0, 1, 1, 0, 0, 1])
    p = np.array([0.0, 1.0, 0.2, 0.7, 0.4, 0.5, 0.1, 0.3])
    c = M.calibration(y, p, n_bins=4)
    lp = special.logit(np.clip(p, 1e-12, 1 - 1e-12))
    ref = sm.GLM(y, np.ones((8, 1)), family=sm.families.Binomial(), offset=lp).fit()
    assert np.isfinite(c.intercept) and c.intercept == pytest.approx(ref.params[0], abs=1e-8)


def test_calibration_table_quantile_bins_and_wilson():
    y, p, _ = _calib_sim(seed=2, n=1000)
    t = M.calibration(y, p).table
    assert list(t.columns) == ["bin", "n", "n_events", "mean_predicted", "observed_rate",
                               "lower", "upper"]
    assert t["bin"].tolist() == list(range(1, 11)) and t["n"].tolist() == [100] * 10
    order = np.argsort(p)
    for k in range(10):
        sl = order[100 * k:100 * (k + 1)]
        assert t["mean_predicted"].iloc[k] == pytest.approx(p[sl].mean())
        assert t["observed_rate"].iloc[k] == pytest.approx(y[sl].mean())
    lo, hi = proportion_confint(t["n_events"], t["n"], alpha=0.05, method="wilson")
    np.testing.assert_allclose(t["lower"], lo, atol=1e-12)
    np.testing.assert_allclose(t["upper"], hi, atol=1e-12)
    assert M.calibration(y, p, n_bins=5).table.shape[0] == 5


def test_calibration_slope_undefined_under_separation():
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.8])
    with pytest.raises(UndefinedMetricError, match="separate"):
        M.calibration_slope(y, p)
    with pytest.warns(UserWarning, match="slope not estimable"):
        c = M.calibration(y, p)
    assert math.isnan(c.slope) and np.isfinite(c.intercept)
    with pytest.raises(UndefinedMetricError, match="both outcome classes"):
        M.calibration([1, 1, 1], [0.2, 0.5, 0.9])


# ------------------------------------------------------------------------------ net benefit

def test_net_benefit_hand_computed():
    y = np.array([1, 1, 0, 0, 1, 0])
    p = np.array([0.9, 0.4, 0.35, 0.1, 0.2, 0.6])
    nb = M.net_benefit(y, p, [0.3, 0.5, 0.6])
    assert list(nb.columns) == ["threshold", "net_benefit_model", "net_benefit_treat_all",
                                "net_benefit_treat_none"]
    # t=0.3: treated 0.9(1) 0.4(1) 0.35(0) 0.6(0): TP 2, FP 2
    # t=0.5: treated 0.9(1) 0.6(0); t=0.6: p >= t, so the same two (0.6 is treated)
    expected = [2 / 6 - 2 / 6 * 0.3 / 0.7, 1 / 6 - 1 / 6 * 1.0, 1 / 6 - 1 / 6 * 0.6 / 0.4]
    np.testing.assert_allclose(nb["net_benefit_model"], expected, atol=1e-12)
    np.testing.assert_allclose(nb["net_benefit_treat_all"],
                               [0.5 - 0.5 * t / (1 - t) for t in (0.3, 0.5, 0.6)], atol=1e-12)
    assert (nb["net_benefit_treat_none"] == 0).all()


def test_net_benefit_treat_all_formula_and_extremes():
    y, p = _binary_data(3, 300, ties=False)
    t = np.linspace(0.05, 0.95, 19)
    nb = M.net_benefit(y, p, t)
    prev = y.mean()
    np.testing.assert_allclose(nb["net_benefit_treat_all"], prev - (1 - prev) * t / (1 - t))
    # predicting 1 for everyone is the treat-all strategy at every threshold
    nb1 = M.net_benefit(y, np.ones_like(p), t)
    np.testing.assert_allclose(nb1["net_benefit_model"], nb1["net_benefit_treat_all"])
    assert M.net_benefit(y, p).shape[0] == 99
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        M.net_benefit(y, p, [0.0, 0.5])


# ---------------------------------------------------------------------------------------- NRI

# 5 events then 4 non-events; cutoffs 0.1 and 0.2 (a risk equal to a cutoff is in the upper
# category): events: up (0.05->0.15), up (0.15->0.25), tie (0.25->0.25), down (0.18->0.08),
# same category but higher (0.10->0.12); non-events: down (0.22->0.12), down (0.12->0.05),
# same category but higher (0.05->0.09), up (0.15->0.20)
NRI_Y = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0])
NRI_OLD = np.array([0.05, 0.15, 0.25, 0.18, 0.10, 0.22, 0.12, 0.05, 0.15])
NRI_NEW = np.array([0.15, 0.25, 0.25, 0.08, 0.12, 0.12, 0.05, 0.09, 0.20])


def test_nri_categorical_hand_computed():
    r = M.nri(NRI_Y, NRI_NEW, NRI_OLD, cutoffs=[0.1, 0.2])
    assert r.kind == "categorical"
    assert (r.events_up, r.events_down, r.nonevents_up, r.nonevents_down) == (2, 1, 1, 2)
    assert r.event == pytest.approx(1 / 5)
    assert r.nonevent == pytest.approx(1 / 4)
    assert r.total == pytest.approx(0.45)
    se = math.sqrt(3 / 5 / 5 + 3 / 4 / 4)
    assert r.se == pytest.approx(se)
    assert r.z == pytest.approx(0.45 / se)
    assert r.p_value == pytest.approx(2 * stats.norm.sf(0.45 / se))


def test_nri_continuous_hand_computed():
    r = M.nri(NRI_Y, NRI_NEW, NRI_OLD)
    assert r.kind == "continuous" and r.cutoffs is None
    # events: up 3 (ties count as neither), down 1; non-events: up 2, down 2
    assert (r.events_up, r.events_down, r.nonevents_up, r.nonevents_down) == (3, 1, 2, 2)
    assert r.event == pytest.approx(2 / 5) and r.nonevent == pytest.approx(0.0)
    assert r.total == pytest.approx(0.4)
    assert r.se == pytest.approx(math.sqrt(4 / 25 + 4 / 16))


def test_nri_zero_when_models_agree():
    y, p = _binary_data(4, 80)
    for cut in (None, [0.3, 0.6]):
        r = M.nri(y, p, p.copy(), cutoffs=cut)
        assert r.event == 0 and r.nonevent == 0 and r.total == 0 and r.se == 0
        assert math.isnan(r.z) and math.isnan(r.p_value)
    with pytest.raises(ValueError, match="strictly increasing"):
        M.nri(y, p, p, cutoffs=[0.5, 0.2])


# ---------------------------------------------------------------------------------- bootstrap

def test_bootstrap_auroc_ci_coverage_binormal():
    # events ~ N(d, 1), non-events ~ N(0, 1): population AUROC = Phi(d / sqrt(2))
    d, n1, n0 = 1.0, 50, 50
    true_auc = stats.norm.cdf(d / math.sqrt(2))
    rng = np.random.default_rng(2024)
    y = np.r_[np.ones(n1, int), np.zeros(n0, int)]
    covered = 0
    n_sets = 200
    for _ in range(n_sets):
        score = np.r_[rng.normal(d, 1, n1), rng.normal(0, 1, n0)]
        ci = M.bootstrap_ci(M.auroc, y, score, n_boot=300, rng=rng)
        covered += ci.lower <= true_auc <= ci.upper
    assert 0.90 <= covered / n_sets <= 0.99


def test_stratified_bootstrap_keeps_stratum_sizes():
    strata = np.array(["A"] * 12 + ["B"] * 5 + ["C"] * 3)
    codes = pd.factorize(strata, sort=True)[0]
    seen = []

    def composition(c):
        seen.append(np.bincount(c.astype(int), minlength=3))
        return 0.0

    ci = M.bootstrap_ci(composition, codes, n_boot=50, strata=strata, rng=0)
    assert ci.strata and ci.n_boot_valid == 50
    assert len(seen) == 51 and all((s == [12, 5, 3]).all() for s in seen)
    seen.clear()
    M.bootstrap_ci(composition, codes, n_boot=50, rng=0)      # unstratified: sizes vary
    assert any((s != [12, 5, 3]).any() for s in seen)


def test_same_rng_same_ci():
    y, p = _binary_data(8, 120)
    a = M.bootstrap_ci(M.auroc, y, p, n_boot=200, rng=7)
    b = M.bootstrap_ci(M.auroc, y, p, n_boot=200, rng=np.random.default_rng(7))
    c = M.bootstrap_ci(M.auroc, y, p, n_boot=200, rng=8)
    assert (a.lower, a.upper) == (b.lower, b.upper)
    assert (a.lower, a.upper) != (c.lower, c.upper)
    t1 = M.metric_table(y, p, "binary", groups=y, n_boot=30, rng=3)
    t2 = M.metric_table(y, p, "binary", groups=y, n_boot=30, rng=3)
    pd.testing.assert_frame_equal(t1, t2)


def test_bootstrap_methods_basic_and_bca():
    y, p = _binary_data(9, 150, ties=False)
    perc = M.bootstrap_ci(M.auroc, y, p, n_boot=400, rng=1)
    basic = M.bootstrap_ci(M.auroc, y, p, n_boot=400, rng=1, method="basic")
    assert basic.lower == pytest.approx(2 * perc.estimate - perc.upper)
    assert basic.upper == pytest.approx(2 * perc.estimate - perc.lower)
    # BCa against scipy on a skewed statistic, where it differs clearly from the percentile CI
    x = np.random.default_rng(3).lognormal(sigma=0.8, size=40)

    def var(a):
        return float(np.var(a, ddof=1))

    ours = M.bootstrap_ci(var, x, n_boot=5000, rng=1, method="bca")
    pct = M.bootstrap_ci(var, x, n_boot=5000, rng=1)
    # scipy >= 1.15 takes rng=, older releases (down to requirements-min.txt) random_state=
    key = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"
    ref = stats.bootstrap((x,), var, n_resamples=5000, method="BCa",
                          **{key: np.random.default_rng(2)}).confidence_interval
    width = ref.high - ref.low
    assert abs(ours.lower - ref.low) < 0.05 * width and abs(ours.upper - ref.high) < 0.05 * width
    assert abs(pct.upper - ref.high) > 0.1 * width


def test_bootstrap_skips_undefined_resamples_and_says_so():
    y = np.zeros(30, int)
    y[:2] = 1                                               # 2 events: many one-class resamples
    p = np.linspace(0.05, 0.95, 30)
    with pytest.warns(UserWarning, match=r"resamples skipped .*both outcome classes"):
        ci = M.bootstrap_ci(M.auroc, y, p, n_boot=200, rng=0)
    assert 0 < ci.n_skipped < 200 and ci.n_boot_valid == 200 - ci.n_skipped
    assert "both outcome classes" in ci.skip_reason
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # stratifying by y skips none
        ci_s = M.bootstrap_ci(M.auroc, y, p, n_boot=200, rng=0, strata=y)
    assert ci_s.n_skipped == 0
    with pytest.raises(UndefinedMetricError, match="full sample"):
        M.bootstrap_ci(M.auroc, np.zeros(5), np.linspace(0, 1, 5), n_boot=10, rng=0)


# ------------------------------------------------------------------------------- metric table

def test_metric_table_groups_binary_with_one_class_group():
    y, p = _binary_data(12, 150, ties=False)
    base = np.clip(p + np.random.default_rng(0).normal(0, 0.1, p.size), 0, 1)
    centre = np.array(["c1"] * 70 + ["c2"] * 70 + ["c3"] * 10)
    y[140:] = 0                                             # centre c3 has no events
    tab = M.metric_table(y, p, kind="binary", groups=pd.Series(centre), n_boot=50, rng=1,
                         baseline=base)
    names = ["auroc", "average_precision", "brier", "calibration_intercept",
             "calibration_slope", "nri_continuous"]
    assert tab["group"].tolist() == [g for g in ["all", "c1", "c2", "c3"] for _ in names]
    assert tab["metric"].tolist() == names * 4
    assert list(tab.columns) == ["group", "metric", "estimate", "lower", "upper", "n", "n_events",
                                 "n_boot_valid", "note"]
    whole = tab[tab.group == "all"].set_index("metric")
    assert whole.loc["auroc", "estimate"] == pytest.approx(skm.roc_auc_score(y, p))
    assert whole.loc["calibration_slope", "estimate"] == pytest.approx(M.calibration(y, p).slope)
    assert whole.loc["nri_continuous", "estimate"] == pytest.approx(M.nri(y, p, base).total)
    assert (whole["lower"] <= whole["estimate"]).all() and (whole["estimate"] <= whole["upper"]).all()
    c1 = tab[tab.group == "c1"].set_index("metric")
    assert c1.loc["auroc", "estimate"] == pytest.approx(skm.roc_auc_score(y[:70], p[:70]))
    c3 = tab[tab.group == "c3"].set_index("metric")
    assert c3.loc["auroc", ["estimate", "lower", "upper"]].isna().all()
    assert "only non-events" in c3.loc["auroc", "note"]
    assert c3.loc["brier", "estimate"] == pytest.approx(np.mean(p[140:] ** 2))   # still defined
    assert c3.loc["brier", "note"] == "" and (c3["n_events"] == 0).all()


def test_metric_table_continuous_matches_functions():
    rng = np.random.default_rng(4)
    y = rng.normal(size=60)
    pred = y + rng.normal(size=60)
    tab = M.metric_table(y, pred, n_boot=40, rng=0, strata=np.repeat([0, 1, 2], 20))
    assert tab["metric"].tolist() == ["r2", "mae", "pearson_r"]
    np.testing.assert_allclose(tab["estimate"], [skm.r2_score(y, pred),
                                                 skm.mean_absolute_error(y, pred),
                                                 stats.pearsonr(y, pred)[0]])
    assert (tab["group"] == "all").all() and (tab["n_boot_valid"] == 40).all()
    none = M.metric_table(y, pred, n_boot=0)
    assert none[["lower", "upper"]].isna().all().all() and none["estimate"].notna().all()


# ----------------------------------------------------------------------------- input checking

def test_input_errors_are_clear():
    y = np.array([0, 1, 0, 1])
    p = np.array([0.1, 0.8, 0.3, 0.6])
    with pytest.raises(ValueError, match=r"lengths differ \(y: 4, p: 3\)"):
        M.auroc(y, p[:3])
    with pytest.raises(ValueError, match=r"p contains 1 missing \(NaN\).*drop or impute"):
        M.brier_score(y, [0.1, np.nan, 0.3, 0.6])
    with pytest.raises(ValueError, match="pred contains 1 infinite"):
        M.r2_score([1.0, 2.0, 3.0], [1.0, np.inf, 2.0])
    with pytest.raises(ValueError, match=r"binary outcome coded 0/1.*\[2\.0\]"):
        M.auroc([0, 1, 2, 1], p)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*expit"):
        M.brier_score(y, [0.1, 1.2, 0.3, 0.6])
    with pytest.raises(ValueError, match="1-D"):
        M.mae(np.ones((4, 2)), np.ones((4, 2)))
    with pytest.raises(TypeError, match="numeric"):
        M.mae(["a", "b"], [1.0, 2.0])
    with pytest.raises(ValueError, match="different indexes"):
        M.auroc(pd.Series(y, index=[0, 1, 2, 3]), pd.Series(p, index=[3, 2, 1, 0]))
    with pytest.raises(UndefinedMetricError, match="only events"):
        M.auroc([1, 1, 1], [0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="method must be one of"):
        M.bootstrap_ci(M.auroc, y, p, method="student")
    with pytest.raises(ValueError, match="n_boot must be a positive integer"):
        M.bootstrap_ci(M.auroc, y, p, n_boot=0)
    with pytest.raises(ValueError, match="kind must be"):
        M.metric_table(y, p, kind="survival")
    with pytest.raises(ValueError, match="groups has missing labels"):
        M.metric_table(y, p, kind="binary", groups=["a", None, "b", "a"], n_boot=0)


def test_bootstrap_ci_coverage_of_fixed_model_metrics():
    """The CI version of benchmarks/coverage_metrics.py: percentile intervals of a fixed
    model's AUROC (binormal, truth Phi(1/sqrt 2)) and R2 (truth 0.48 in closed form) on fresh
    test sets cover the population value at the nominal 95%, within the exact binomial 99%
    region for the number of datasets (a too narrow or shifted interval falls outside)."""
    n_sets, n_boot = 160, 200
    lo, hi = stats.binom.ppf([0.005, 0.995], n_sets, 0.95) / n_sets
    truth_auc = stats.norm.cdf(1 / np.sqrt(2))
    seeds = np.random.SeedSequence(14).spawn(n_sets)
    hit_auc = hit_r2 = 0
    for s in seeds:
        g = np.random.default_rng(s)
        y = (g.random(200) < 0.4).astype(float)
        ci = M.bootstrap_ci(M.auroc, y, g.normal(size=200) + y, n_boot=n_boot, rng=g)
        hit_auc += ci.lower <= truth_auc <= ci.upper
        x = g.normal(size=100)
        ci = M.bootstrap_ci(M.r2_score, x + g.normal(size=100), 0.8 * x, n_boot=n_boot, rng=g)
        hit_r2 += ci.lower <= 0.48 <= ci.upper
    print(f"\ncoverage AUROC {hit_auc / n_sets:.3f}, R2 {hit_r2 / n_sets:.3f} "
          f"(region [{lo:.3f}, {hi:.3f}])")
    assert lo <= hit_auc / n_sets <= hi
    assert lo <= hit_r2 / n_sets <= hi


def test_wilson_interval_is_exact_at_zero_and_all_events():
    """k = 0 gave a lower bound of ~3e-17 (> the observed rate 0: a negative error bar that
    made plot_calibration raise); the bounds are exactly 0 and 1 there, and match the closed
    form elsewhere (k = 0: upper = z^2 / (n + z^2))."""
    from scipy import stats as st

    lo, hi = M.wilson_interval(np.array([0, 7, 7]), np.array([7, 7, 20]))
    z = st.norm.ppf(0.975)
    assert lo[0] == 0.0 and hi[1] == 1.0
    assert hi[0] == pytest.approx(z**2 / (7 + z**2)) and lo[1] == pytest.approx(7 / (7 + z**2))
    assert 0 < lo[2] < 7 / 20 < hi[2] < 1
