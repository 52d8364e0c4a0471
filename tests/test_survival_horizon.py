"""Risk metrics at a horizon (radiogenomics.survival.horizon) against R and by simulation.

References in tests/data/survival/horizon/ come from make_refs.R (survival::survfit / coxph,
riskRegression::Score, pec::pec, and R code of the published NB / NRI / IDI formulas).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from radiogenomics._checks import InputError
from radiogenomics.survival.horizon import (BrierScore, IntegratedBrier, NRIIDIResult,
                                            SurvCalibration, brier_score,
                                            calibration_at, integrated_brier_score,
                                            net_benefit_at, nri_idi_at)

D = Path(__file__).parent / "data" / "survival" / "horizon"
H = 3.0
TOL = 1e-9          # measured differences against R are <= 1e-12 (see the report in README.md)


def _csv(name):
    return pd.read_csv(D / name, float_precision="round_trip")


@pytest.fixture(scope="module")
def ties():
    return _csv("data_ties.csv")


@pytest.fixture(scope="module")
def noties():
    return _csv("data_noties.csv")


@pytest.fixture(scope="module")
def times():
    return _csv("brier_times.csv")["time"].to_numpy()


def _S(d):
    return d[[f"s{k}" for k in range(1, 9)]].to_numpy()


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn(*a, **k)


def _binom_interval(p, n):
    return stats.binom.ppf(0.005, n, p) / n, stats.binom.ppf(0.995, n, p) / n


# ------------------------------------------------------------------------------- calibration
@pytest.mark.parametrize("g", [10, 5])
@pytest.mark.parametrize("conf_type", ["log-log", "log", "plain"])
def test_calibration_groups_match_survfit(ties, g, conf_type):
    ref = _csv(f"calib_groups_g{g}.csv")
    res = _quiet(calibration_at, ties[["time", "status"]], ties["risk_cal"], H, n_groups=g,
                 conf_type=conf_type)
    tab = res.table
    tag = conf_type.replace("-", "")
    assert len(tab) == len(ref)
    np.testing.assert_array_equal(tab["n"], ref["n"])
    np.testing.assert_array_equal(tab["events"], ref["events"])
    for col, rc in [("mean_predicted", "mean_predicted"), ("observed", "observed"), ("se", "se"),
                    ("lower", f"lower_{tag}"), ("upper", f"upper_{tag}"), ("n_eff", "n_eff")]:
        np.testing.assert_allclose(tab[col], ref[rc], rtol=0, atol=TOL, err_msg=col)


@pytest.mark.parametrize("g", [10, 5])
def test_hosmer_lemeshow_matches_r_formula(ties, g):
    ref = _csv(f"calib_groups_g{g}.csv")
    y = ties[["time", "status"]]
    for var, col in (("effective", "chi2_effective"), ("binomial", "chi2_binomial")):
        res = _quiet(calibration_at, y, ties["risk_cal"], H, n_groups=g, hl_variance=var)
        np.testing.assert_allclose(res.table["chi2"], ref[col], rtol=1e-12, atol=0)
        assert res.hl_chi2 == pytest.approx(ref[col].sum(), rel=1e-12)
        assert res.hl_df == g
        assert res.hl_p_value == pytest.approx(stats.chi2.sf(ref[col].sum(), g), rel=1e-9)
    res = _quiet(calibration_at, y, ties["risk_cal"], H, n_groups=g, hl_df=g - 1)
    assert res.hl_p_value == pytest.approx(stats.chi2.sf(ref["chi2_effective"].sum(), g - 1),
                                           rel=1e-9)


def test_calibration_custom_groups_and_by(ties):
    ref = _csv("calib_groups_centre.csv")
    y = ties[["time", "status"]]
    res = _quiet(calibration_at, y, ties["risk_cal"], H, groups=ties["centre"])
    assert list(res.table["group"]) == ["A", "B", "C"]
    np.testing.assert_allclose(res.table["observed"], ref["observed"], atol=TOL)
    np.testing.assert_allclose(res.table["upper"], ref["upper_loglog"], atol=TOL)
    # by=centre repeats the whole analysis within each centre
    res = _quiet(calibration_at, y, ties["risk_cal"], H, n_groups=4, by=ties["centre"])
    bt = res.by_table.set_index("by")
    for c in ("A", "B", "C"):
        m = (ties["centre"] == c).to_numpy()
        sub = _quiet(calibration_at, y[m], ties["risk_cal"][m], H, n_groups=4)
        for k in ("oe", "oe_lower", "slope", "slope_upper", "hl_chi2", "hl_p_value"):
            assert bt.loc[c, k] == pytest.approx(getattr(sub, k), rel=1e-12), k


def test_calibration_slope_matches_coxph(ties):
    ref = _csv("calib_slope.csv")
    y = ties[["time", "status"]]
    t, e = ties["time"].to_numpy(float), ties["status"].to_numpy(float)
    for _, row in ref.iterrows():
        trunc = bool(row["truncate"])
        res = _quiet(calibration_at, y, ties[row["risk"]], H, n_groups=5, ties=row["ties"],
                     censor_at_horizon=trunc)
        assert res.slope_converged
        assert res.slope == pytest.approx(row["slope"], abs=1e-8)
        assert res.slope_se == pytest.approx(row["se"], abs=1e-8)
        z = stats.norm.ppf(0.975)
        assert res.slope_lower == pytest.approx(row["slope"] - z * row["se"], abs=1e-8)
        assert res.slope_p_value == pytest.approx(
            2 * stats.norm.sf(abs(row["slope"] - 1) / row["se"]), rel=1e-6)
        tt, ee = (np.minimum(t, H), e * (t <= H)) if trunc else (t, e)
        r = ties[row["risk"]].to_numpy()
        from radiogenomics.survival import coxph
        ll0, ll = coxph(pd.DataFrame({"c": np.log(-np.log1p(-r))}), time=tt, event=ee,
                        ties=row["ties"]).loglik
        assert ll0 == pytest.approx(row["loglik0"], abs=1e-8)
        assert ll == pytest.approx(row["loglik"], abs=1e-8)


def test_calibration_slope_cross_checks_lifelines(ties):
    lifelines = pytest.importorskip("lifelines", reason="optional cross-check")
    d = pd.DataFrame({"t": np.minimum(ties["time"], H), "e": ties["status"] * (ties["time"] <= H),
                      "cll": np.log(-np.log1p(-ties["risk_true"]))})
    cph = lifelines.CoxPHFitter().fit(d, "t", "e")
    res = _quiet(calibration_at, ties[["time", "status"]], ties["risk_true"], H, n_groups=5)
    assert res.slope == pytest.approx(cph.params_["cll"], abs=1e-5)
    assert res.slope_se == pytest.approx(cph.standard_errors_["cll"], abs=1e-5)


@pytest.mark.parametrize("conf_type", ["log-log", "plain"])
def test_observed_expected_matches_survfit(ties, conf_type):
    ref = _csv("calib_oe.csv").set_index("conf_type").loc[conf_type]
    res = _quiet(calibration_at, ties[["time", "status"]], ties["risk_cal"], H, n_groups=5,
                 conf_type=conf_type)
    assert res.observed == pytest.approx(ref["observed"], abs=TOL)
    assert res.expected == pytest.approx(ref["expected"], abs=TOL)
    assert res.oe == pytest.approx(ref["oe"], abs=TOL)
    z = stats.norm.ppf(0.975)
    assert res.oe_lower == pytest.approx(ref["oe"] * np.exp(-z * ref["se_log_oe"]), abs=TOL)
    assert res.oe_upper == pytest.approx(ref["oe"] * np.exp(z * ref["se_log_oe"]), abs=TOL)
    assert res.n_events == int(((ties["status"] == 1) & (ties["time"] <= H)).sum())


def test_calibration_result_object(ties):
    res = _quiet(calibration_at, ties[["time", "status"]], ties["risk_cal"], H, n_groups=5)
    assert isinstance(res, SurvCalibration)
    fr = res.to_frame()
    assert fr.loc["slope", "estimate"] == res.slope and fr.loc["oe_ratio", "ideal"] == 1
    text = res.summary()
    assert "O/E" in text and "slope" in text and f"{res.hl_chi2:.3f}" in text
    assert "SurvCalibration(" in repr(res) and f"{res.oe:.3f}" in repr(res)
    with pytest.raises(AttributeError):
        res.slope = 1.0                                       # frozen


def test_series_inputs_are_aligned_by_index(ties):
    y = ties[["time", "status"]].set_axis([f"p{i}" for i in range(len(ties))])
    risk = pd.Series(ties["risk_cal"].to_numpy(), index=y.index)
    a = _quiet(calibration_at, y, risk, H, n_groups=5)
    b = _quiet(calibration_at, y, risk.iloc[::-1], H, n_groups=5)
    assert a.hl_chi2 == b.hl_chi2 and a.slope == b.slope
    with pytest.raises(InputError, match="different sample IDs"):
        calibration_at(y, risk.set_axis([f"q{i}" for i in range(len(risk))]), H)


def test_constant_risk_reports_no_slope(ties):
    """A constant predicted risk has no calibration slope: NaN, not converged, and a warning
    that names the reason (coxph refuses a constant covariate)."""
    y = ties[["time", "status"]]
    with pytest.warns(Warning) as rec:
        res = calibration_at(y, np.full(len(y), 0.4), H, groups=ties["centre"])
    assert not res.slope_converged and np.isnan(res.slope_se) and np.isnan(res.slope)
    assert any("cannot be estimated" in str(w.message) and "constant" in str(w.message)
               for w in rec)


# ------------------------------------------------------------------------------- net benefit
@pytest.mark.parametrize("inclusive", [True, False])
def test_net_benefit_matches_r_formula(ties, inclusive):
    ref = _csv(f"nb_{'inclusive' if inclusive else 'strict'}.csv")
    nb = _quiet(net_benefit_at, ties[["time", "status"]], ties["risk_cal"], H, ref["threshold"],
                inclusive=inclusive)
    np.testing.assert_array_equal(nb["n_treated"], ref["n_treated"])
    np.testing.assert_allclose(nb["net_benefit"], ref["net_benefit"], atol=TOL, rtol=0)
    np.testing.assert_allclose(nb["treat_all"], ref["treat_all"], atol=TOL, rtol=0)
    np.testing.assert_allclose(nb["risk_treated"], ref["risk_treated"], atol=TOL, rtol=0)
    known = ref["followed"].notna()
    np.testing.assert_array_equal(nb["followed_to_horizon"][known],
                                  ref["followed"][known].astype(bool))
    assert (nb["treat_none"] == 0).all()
    # nobody treated -> treat none; the default grid is k/100
    assert (nb.loc[nb["n_treated"] == 0, "net_benefit"] == 0).all()
    dflt = _quiet(net_benefit_at, ties[["time", "status"]], ties["risk_cal"], H)
    np.testing.assert_allclose(dflt["net_benefit"], ref["net_benefit"] if inclusive
                               else _csv("nb_inclusive.csv")["net_benefit"], atol=TOL)


def test_net_benefit_interventions_avoided(ties):
    nb = _quiet(net_benefit_at, ties[["time", "status"]], ties["risk_cal"], H, [0.2, 0.5])
    odds = nb["threshold"] / (1 - nb["threshold"])
    np.testing.assert_allclose(nb["net_interventions_avoided"],
                               100 * (nb["net_benefit"] - nb["treat_all"]) / odds)


# ------------------------------------------------------------------------------- Brier score
@pytest.mark.parametrize("dataset", ["ties", "noties"])
def test_brier_matches_riskregression_and_pec(request, times, dataset):
    d = request.getfixturevalue(dataset)
    ref = _csv(f"brier_{dataset}.csv")
    m = ref[ref["model"] == "model"].reset_index(drop=True)
    nm = ref[ref["model"] == "Null model"].reset_index(drop=True)
    res = brier_score(None, d[["time", "status"]], _S(d), times)
    t = res.table
    for mine, theirs in [(t["brier"], m["Brier"]), (t["se"], m["se"]), (t["null_brier"], nm["Brier"]),
                         (t["null_se"], nm["se"]), (t["ipa"], m["IPA"]), (t["ibs"], m["IBS"]),
                         (t["null_ibs"], nm["IBS"]), (t["brier"], m["pec"]),
                         (t["null_brier"], nm["pec"])]:
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=TOL)
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(t["lower"], np.maximum(m["Brier"] - z * m["se"], 0), atol=TOL)
    cons = brier_score(None, d[["time", "status"]], _S(d), times, conservative=True)
    np.testing.assert_allclose(cons.table["se"], m["se_conservative"], rtol=0, atol=TOL)
    ibs = integrated_brier_score(None, d[["time", "status"]], _S(d), times)
    assert ibs.ibs == pytest.approx(m["pec_ibs"].iloc[-1], abs=TOL)
    assert ibs.null_ibs == pytest.approx(nm["pec_ibs"].iloc[-1], abs=TOL)
    assert ibs.ipa == pytest.approx(1 - ibs.ibs / ibs.null_ibs)


def test_brier_matches_scikit_survival(noties, times):
    sk = pytest.importorskip("sksurv.metrics", reason="optional cross-check")
    from sksurv.util import Surv

    y = noties[["time", "status"]]
    ys = Surv.from_arrays(noties["status"].astype(bool), noties["time"])
    S, tm = _S(noties)[:, :-1], times[:-1]     # scikit-survival wants times < last follow-up
    for tr, te in ((slice(None), slice(None)), (slice(0, 200), slice(200, None))):
        _, ref = sk.brier_score(ys[tr], ys[te], S[te], tm)
        mine = brier_score(y.iloc[tr], y.iloc[te], S[te], tm)
        np.testing.assert_allclose(mine.brier, ref, rtol=0, atol=1e-12)
        ref_ibs = sk.integrated_brier_score(ys[tr], ys[te], S[te], tm)
        mine_ibs = integrated_brier_score(y.iloc[tr], y.iloc[te], S[te], tm, method="trapezoid")
        assert mine_ibs.ibs == pytest.approx(ref_ibs, abs=1e-12)
        # riskRegression's step rule differs from the trapezoid rule
        step = integrated_brier_score(y.iloc[tr], y.iloc[te], S[te], tm)
        assert abs(step.ibs - ref_ibs) > 1e-3


def test_brier_train_test_se_adds_training_variance(noties, times):
    y = noties[["time", "status"]]
    S = _S(noties)
    split = brier_score(y.iloc[:200], y.iloc[200:], S[200:, :5], times[:5])
    assert not split.same_data and split.n_train == 200 and split.n_test == 100
    cons = brier_score(y.iloc[:200], y.iloc[200:], S[200:, :5], times[:5], conservative=True)
    # the training censoring term only adds variance
    assert np.all(split.table["se"] >= cons.table["se"] - 1e-15)
    same = brier_score(y, y.copy(), S, times)       # identical outcomes = same data
    assert same.same_data


def test_brier_by_group_equals_subsets(ties, times):
    y = ties[["time", "status"]]
    res = brier_score(None, y, _S(ties), times, by=ties["centre"])
    for c in ("A", "B", "C"):
        m = (ties["centre"] == c).to_numpy()
        sub = brier_score(None, y[m], _S(ties)[m], times).table
        got = res.table[res.table["by"] == c].reset_index(drop=True)
        np.testing.assert_allclose(got[["brier", "se", "null_brier", "ipa"]],
                                   sub[["brier", "se", "null_brier", "ipa"]], rtol=1e-13)


def test_brier_result_object(ties, times):
    res = brier_score(None, ties[["time", "status"]], _S(ties), times)
    assert isinstance(res, BrierScore)
    assert list(res.to_frame()["time"]) == list(times)
    assert "IPCW Brier" in res.summary() and "BrierScore(" in repr(res)
    ib = integrated_brier_score(None, ties[["time", "status"]], _S(ties), times)
    assert isinstance(ib, IntegratedBrier) and ib.to_frame()["ibs"].iloc[0] == ib.ibs
    assert "step" in ib.summary() and "IntegratedBrier(" in repr(ib)


# ------------------------------------------------------------------------------- NRI / IDI
@pytest.mark.parametrize("kind", ["continuous", "categorical"])
def test_nri_idi_match_r_formula(ties, kind):
    ref = _csv("nri_idi.csv").set_index("kind").loc[kind]
    cut = None if kind == "continuous" else (0.2, 0.4)
    res = nri_idi_at(ties[["time", "status"]], ties["risk_true"], ties["risk_old"], H, cut,
                     n_boot=200, rng=1)
    assert res.n_up == ref["n_up"] and res.n_down == ref["n_down"] and res.kind == kind
    for k in ("p_up_event", "p_down_event", "p_up_nonevent", "p_down_nonevent", "nri_event",
              "nri_nonevent", "nri", "mean_new_event", "mean_old_event", "mean_new_nonevent",
              "mean_old_nonevent", "idi"):
        assert getattr(res, k) == pytest.approx(ref[k], abs=TOL), k
    assert res.risk == pytest.approx(1 - ref["surv"], abs=TOL)
    ci = res.to_frame()
    assert list(ci.index) == ["nri", "nri_event", "nri_nonevent", "idi"]
    assert (ci["lower"] <= ci["estimate"]).all() and (ci["estimate"] <= ci["upper"]).all()
    assert res.n_boot_valid == 200
    assert "bootstrap" in res.summary() and "NRIIDIResult(" in repr(res)


def test_nri_bootstrap_is_reproducible_and_detects_signal(ties):
    args = (ties[["time", "status"]], ties["risk_true"], ties["risk_old"], H)
    a = nri_idi_at(*args, n_boot=300, rng=7)
    b = nri_idi_at(*args, n_boot=300, rng=7)
    pd.testing.assert_frame_equal(a.ci, b.ci)
    # risk_true adds a real predictor (x2): the IDI and the NRI are clearly positive
    assert a.ci.loc["idi", "lower"] > 0 and a.ci.loc["idi", "p_value"] < 0.01
    assert a.ci.loc["nri", "lower"] > 0
    assert isinstance(a, NRIIDIResult)


# ------------------------------------------------------------------------------- errors
def test_bad_inputs_give_clear_errors(ties, times):
    y = ties[["time", "status"]]
    r = ties["risk_cal"].to_numpy().copy()
    bad = r.copy()
    bad[[3, 7]] = [1.2, -0.1]
    with pytest.raises(InputError, match=r"outside \(rows '3', '7'\)"):
        calibration_at(y, bad, H)
    nan = r.copy()
    nan[5] = np.nan
    with pytest.raises(InputError, match="missing.*rows '5'"):
        net_benefit_at(y, nan, H)
    with pytest.raises(InputError, match=r"beyond the last follow-up time \(8\)"):
        calibration_at(y, r, 10.0)
    with pytest.raises(InputError, match="has 399 values but y has 400"):
        nri_idi_at(y, r[:-1], r[:-1], H)
    one = pd.DataFrame({"time": np.arange(1.0, 41.0), "status": np.r_[1, np.zeros(39)]})
    with pytest.raises(InputError, match="only 1 of the 4 risk groups have an event"):
        calibration_at(one, np.linspace(0.1, 0.5, 40), 30.0, n_groups=4)
    with pytest.raises(InputError, match="surv_pred must have one row per test subject"):
        brier_score(None, y, _S(ties)[:, :3], times)
    with pytest.raises(InputError, match="strictly increasing"):
        brier_score(None, y, _S(ties), times[::-1])
    with pytest.raises(InputError, match=r"beyond the last follow-up time"):
        brier_score(None, y, _S(ties), times + 5)
    with pytest.raises(InputError, match="cutoffs must be strictly increasing"):
        nri_idi_at(y, r, r, H, cutoffs=(0.4, 0.2))
    with pytest.raises(InputError, match="no event by the horizon"):
        nri_idi_at(y, r, r, 0.01)
    short = pd.DataFrame({"time": np.linspace(0.01, 0.8, 50), "status": 0})   # G(0.8) = 0
    short.loc[0, "status"] = 1
    with pytest.raises(InputError, match="censoring survival G"):
        brier_score(short, y, _S(ties), times)


# ------------------------------------------------------------------------------- validity
def _sim(rng, n, beta=0.6, censor_before=True):
    """Exponential PH outcomes; the risk by h = 2 is the true one."""
    x = rng.normal(size=n)
    T = rng.exponential(1 / (0.2 * np.exp(beta * x)))
    C = rng.uniform(0, 6, n) if censor_before else rng.uniform(2, 6, n)
    return np.c_[np.minimum(T, C), T <= C], 1 - np.exp(-0.4 * np.exp(beta * x))


@pytest.mark.slow
def test_calibration_intervals_and_tests_are_valid_for_true_risks():
    rng = np.random.default_rng(20240518)
    n_sim = 400
    hits = np.zeros(5)
    group_cover = 0
    for _ in range(n_sim):
        y, r = _sim(rng, 400)
        c = _quiet(calibration_at, y, r, 2.0, n_groups=5)
        hits += [c.slope_lower <= 1 <= c.slope_upper, c.oe_lower <= 1 <= c.oe_upper,
                 c.slope_p_value < 0.05, c.oe_p_value < 0.05, c.hl_p_value < 0.05]
        # each group's KM interval covers the group's mean true risk
        grp = np.searchsorted(np.unique(np.quantile(r, [0.2, 0.4, 0.6, 0.8])), r, side="left")
        truth = np.array([r[grp == k].mean() for k in range(5)])
        group_cover += int(((c.table["lower"] <= truth) & (truth <= c.table["upper"])).sum())
    rate = hits / n_sim
    lo, hi = _binom_interval(0.95, n_sim)
    assert lo <= rate[0] <= hi and lo <= rate[1] <= hi, rate
    lo, hi = _binom_interval(0.05, n_sim)
    assert all(lo <= v <= hi for v in rate[2:]), rate
    lo, hi = _binom_interval(0.95, 5 * n_sim)
    assert lo <= group_cover / (5 * n_sim) <= hi


@pytest.mark.slow
def test_brier_interval_covers_the_true_brier_score():
    tm = np.array([1.0, 2.0, 3.0])
    x = np.random.default_rng(0).normal(size=1_000_000)
    s_true = np.exp(-0.2 * tm[None, :] * np.exp(0.6 * x[:, None]))
    truth = (s_true * (1 - s_true)).mean(axis=0)   # Brier score of the true model
    rng = np.random.default_rng(8)
    n_sim = 400
    hits = np.zeros((2, 3))

    def draw(n):
        xs = rng.normal(size=n)
        T = rng.exponential(1 / (0.2 * np.exp(0.6 * xs)))
        C = rng.uniform(0, 6, n)
        return np.c_[np.minimum(T, C), T <= C], np.exp(-0.2 * tm[None, :] * np.exp(0.6 * xs[:, None]))

    for _ in range(n_sim):
        y, S = draw(300)
        y_train, _ = draw(150)       # censoring KM from an independent training set
        for k, yt in enumerate((None, y_train)):
            b = brier_score(yt, y, S, tm).table
            hits[k] += ((b["lower"] <= truth) & (truth <= b["upper"])).to_numpy()
    lo, hi = _binom_interval(0.95, n_sim)
    assert np.all((hits / n_sim >= lo) & (hits / n_sim <= hi)), hits / n_sim


@pytest.mark.slow
def test_dagostino_nam_binomial_is_valid_without_early_censoring():
    rng = np.random.default_rng(11)
    n_sim = 400
    rej = 0
    for _ in range(n_sim):
        y, r = _sim(rng, 400, censor_before=False)
        res = _quiet(calibration_at, y, r, 2.0, n_groups=5, hl_variance="binomial")
        rej += res.hl_p_value < 0.05
    lo, hi = _binom_interval(0.05, n_sim)
    assert lo <= rej / n_sim <= hi


@pytest.mark.slow
def test_nri_idi_cover_zero_for_a_noise_marker():
    rng = np.random.default_rng(3)
    n_sim = 250
    cover = np.zeros(4)
    reject = np.zeros(4)
    for _ in range(n_sim):
        y, r = _sim(rng, 300)
        old = np.clip(r, 0.05, 0.95)
        new = old + rng.uniform(-0.05, 0.05, old.size)     # noise unrelated to the outcome
        ci = nri_idi_at(y, new, old, 2.0, n_boot=200, rng=rng).ci
        cover += ((ci["lower"] <= 0) & (ci["upper"] >= 0)).to_numpy()
        reject += (ci["p_value"] < 0.05).to_numpy()
    lo, hi = _binom_interval(0.95, n_sim)
    assert np.all((cover / n_sim >= lo) & (cover / n_sim <= hi)), cover / n_sim
    lo, hi = _binom_interval(0.05, n_sim)
    assert np.all((reject / n_sim >= lo) & (reject / n_sim <= hi)), reject / n_sim


@pytest.mark.slow
def test_categorical_nri_covers_zero_for_an_uninformative_model():
    # outcome independent of both models: every reclassification is noise (true NRI = IDI = 0)
    rng = np.random.default_rng(4)
    n, n_sim = 600, 250
    cover = np.zeros(4)
    for _ in range(n_sim):
        T, C = rng.exponential(5.0, n), rng.uniform(0, 6, n)
        old = rng.uniform(0.1, 0.5, n)
        new = old + rng.uniform(-0.05, 0.05, n)
        ci = nri_idi_at(np.c_[np.minimum(T, C), T <= C], new, old, 2.0, cutoffs=(0.2, 0.3),
                        n_boot=200, rng=rng).ci
        cover += ((ci["lower"] <= 0) & (ci["upper"] >= 0)).to_numpy()
    lo, hi = _binom_interval(0.95, n_sim)
    assert np.all((cover / n_sim >= lo) & (cover / n_sim <= hi)), cover / n_sim
