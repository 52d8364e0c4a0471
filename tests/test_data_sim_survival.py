"""Tests of the survival outcomes of the simulator (data_sim.survival).

Statistical checks compare the simulated data with the truth the generator records, with
tolerances from the sampling error (n = 3,000-5,000): Weibull shape and scale by a
parametric fit (lifelines' WeibullFitter), the marginal survival curve by Kaplan-Meier, the
hazard ratios by a stratified Cox fit (statsmodels' PHReg), the censored fraction by its
binomial spread and by Monte Carlo over seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_sim import make_cohort
from data_sim.survival import SurvivalOutcome, make_survival_cohort, simulate_survival
from radiogenomics.survival import kaplan_meier

SMALL = dict(n_samples=60, n_centres=3, n_radiomic=20, n_genes=30, n_snps=5)


@pytest.fixture(scope="module")
def big_truth():
    _, truth = make_cohort(5000, 4, 10, 10, n_snps=3, views=("traits",), rng=1,
                           return_frames=True)
    return truth


def phreg():
    return pytest.importorskip("statsmodels.duration.hazard_regression").PHReg


# ---------------------------------------------------------------------------- basics

def test_same_seed_same_outcome_and_cohort_unchanged():
    c1, t1 = make_survival_cohort(**SMALL, rng=3)
    c2, t2 = make_survival_cohort(**SMALL, rng=3)
    c3, _ = make_survival_cohort(**SMALL, rng=4)
    pd.testing.assert_frame_equal(c1.outcomes, c2.outcomes)
    assert not c1.outcomes["event_time"].equals(c3.outcomes["event_time"])
    assert {"event_time", "event", "outcome_binary"} <= set(c1.outcomes.columns)
    # the imaging/molecular data are those of make_cohort with the same seed, whatever the
    # survival arguments
    c0, _ = make_cohort(**SMALL, rng=3)
    c4, t4 = make_survival_cohort(**SMALL, rng=3, survival={"shape": 0.8, "null": True})
    for view in c0.view_names:
        pd.testing.assert_frame_equal(c0[view], c1[view])
        pd.testing.assert_frame_equal(c0[view], c4[view])
    assert t1.params["rng"] == 3
    o1, o2 = t1.extras["survival"], t2.extras["survival"]
    assert isinstance(o1, SurvivalOutcome)
    pd.testing.assert_series_equal(o1.true_time, o2.true_time)
    # simulate_survival directly: same seed same draws (Generator or int)
    a = simulate_survival(t1, rng=np.random.default_rng(9))
    b = simulate_survival(t1, rng=9)
    pd.testing.assert_series_equal(a.event_time, b.event_time)
    frames, _ = make_survival_cohort(**SMALL, rng=3, return_frames=True)
    pd.testing.assert_frame_equal(frames.outcomes, c1.outcomes)


def test_spec7_rng_types_give_the_same_outcome():
    _, truth = make_survival_cohort(**SMALL, rng=3)
    ref = simulate_survival(truth, rng=3).event_time
    for make in (lambda: np.random.SeedSequence(3), lambda: np.random.PCG64(3),
                 lambda: np.random.default_rng(3)):
        pd.testing.assert_series_equal(simulate_survival(truth, rng=make()).event_time, ref)
        c, _ = make_survival_cohort(**SMALL, rng=make())
        pd.testing.assert_series_equal(c.outcomes["event_time"],
                                       truth.extras["survival"].event_time)
    with pytest.raises(TypeError):
        simulate_survival(truth, rng=np.random.RandomState(3))


def test_records_truth_and_model_identities():
    _, truth = make_survival_cohort(**SMALL, rng=5, survival={"resolution": 0.25})
    o = truth.extras["survival"]
    z = truth.shared_factors.to_numpy()
    cov = truth.covariates
    lp = (z @ o.coefficients.to_numpy() + o.clinical_coefficients["age"] * (cov["age"] - 60)
          + o.clinical_coefficients["sex_M"] * (cov["sex"] == "M"))
    np.testing.assert_allclose(o.linear_predictor, lp, rtol=1e-12)
    off = o.centre_log_hazard.reindex(truth.centre.to_numpy()).to_numpy()
    np.testing.assert_allclose(o.log_hazard, lp + off, rtol=1e-12)
    # event_time = min(T, C) rounded up to the resolution; event = T <= C
    raw = np.minimum(o.true_time, o.censoring_time)
    np.testing.assert_allclose(o.event_time, np.ceil(raw / 0.25) * 0.25)
    np.testing.assert_array_equal(o.event, (o.true_time <= o.censoring_time).astype(int))
    assert (o.censoring_time <= 8.0).all() and o.admin_censoring == 8.0
    assert o.censored_fraction == pytest.approx(1 - o.event.mean())
    # the true survival function inverts the event-time draw: S_i(T_i) is uniform
    s_at_t = np.array([o.survival_function([t], [i]).iloc[0, 0]
                       for i, t in o.true_time.items()])
    assert np.all((s_at_t > 0) & (s_at_t <= 1))
    H = o.cumulative_hazard([1.0, 2.0])
    np.testing.assert_allclose(H[2.0] / H[1.0], 2.0 ** o.shape)
    text = o.summary()
    assert "Weibull" in text and "C1=" in text
    assert repr(o).startswith("SurvivalOutcome(n=60")
    assert list(o.to_frame().columns) == ["event_time", "event"]


# ---------------------------------------------------------------------------- distribution

def test_weibull_shape_and_scale_recovered(big_truth):
    """No covariate or centre effects: iid Weibull(1.5, 5) with censoring; the censored MLE
    is within 4 standard errors of the truth."""
    lifelines = pytest.importorskip("lifelines")
    o = simulate_survival(big_truth, coefficients=0.0, clinical_coefficients={"age": 0, "sex_M": 0},
                          centre_log_hazard=0.0, shape=1.5, scale=5.0, rng=2)
    wf = lifelines.WeibullFitter().fit(o.event_time, o.event)
    assert abs(wf.rho_ - 1.5) < 4 * wf.summary.loc["rho_", "se(coef)"]
    assert abs(wf.lambda_ - 5.0) < 4 * wf.summary.loc["lambda_", "se(coef)"]
    assert wf.summary.loc["rho_", "se(coef)"] < 0.05   # the check has power


def test_kaplan_meier_matches_true_marginal_survival(big_truth):
    """With strong centre effects and all covariates: sup |KM - mean_i S_i| < 0.03 at
    n = 5,000 (largest of 20 seeds: 0.019)."""
    o = simulate_survival(big_truth, centre_log_hazard=1.0, admin_censoring=20, rng=4)
    km = kaplan_meier(o.event_time.to_numpy(), o.event.to_numpy())
    truth_curve = o.marginal_survival(km.time).to_numpy()
    assert np.max(np.abs(km.surv - truth_curve)) < 0.03
    # a wrong shape would be far off
    wrong = simulate_survival(big_truth, centre_log_hazard=1.0, admin_censoring=20, rng=4,
                              shape=1.2)
    assert np.max(np.abs(km.surv - wrong.marginal_survival(km.time).to_numpy())) > 0.05


@pytest.mark.parametrize("censoring,admin", [("exponential", 8.0), ("uniform", 8.0),
                                             ("exponential", None), ("uniform", None)])
def test_censored_fraction_near_target(big_truth, censoring, admin):
    o = simulate_survival(big_truth, censoring=censoring, admin_censoring=admin,
                          censored_fraction=0.4, centre_log_hazard=[0.0, 1.0, -1.0, 0.5], rng=6)
    assert o.expected_censored_fraction == pytest.approx(0.4, abs=1e-9)
    assert o.target_censored_fraction == 0.4
    sd = np.sqrt(0.4 * 0.6 / 5000)
    assert abs(o.censored_fraction - 0.4) < 4 * sd


def test_expected_censored_fraction_by_monte_carlo(big_truth):
    """The solved rate gives the target on average over seeds (20 x 5,000 draws: SE 0.0016),
    including a given rate (its expected fraction is computed, not targeted)."""
    fr = [simulate_survival(big_truth, censoring="uniform", censored_fraction=0.5, shape=0.7,
                            rng=s).censored_fraction for s in range(20)]
    assert np.mean(fr) == pytest.approx(0.5, abs=0.006)
    given = [simulate_survival(big_truth, censoring_rate=0.2, rng=s)
             for s in range(10)]
    assert np.mean([g.censored_fraction for g in given]) == pytest.approx(
        given[0].expected_censored_fraction, abs=0.008)
    assert given[0].censoring_rate == 0.2 and given[0].target_censored_fraction is None


def test_no_random_censoring_and_admin_only(big_truth):
    o = simulate_survival(big_truth, censoring=None, rng=1)
    assert o.censoring_rate == 0.0
    assert set(np.unique(o.censoring_time)) == {8.0}
    assert abs(o.censored_fraction - o.expected_censored_fraction) < 4 * np.sqrt(0.25 / 5000)


# ---------------------------------------------------------------------------- hazard ratios

def test_hazard_ratios_recovered_by_cox(big_truth):
    """Stratified Cox (centre strata) on the shared factors and clinical covariates: every
    coefficient within 4 standard errors of the truth; centre offsets by an unstratified
    fit with centre dummies."""
    PHReg = phreg()
    offsets = {"C1": 0.0, "C2": 1.0, "C3": -0.8, "C4": 0.4}
    o = simulate_survival(big_truth, coefficients=[0.6, -0.4],
                          clinical_coefficients={"age": 0.02, "sex_M": 0.5},
                          centre_log_hazard=offsets, rng=8)
    z = big_truth.shared_factors.to_numpy()
    cov = big_truth.covariates
    clin = np.column_stack([cov["age"] - 60, cov["sex"] == "M"]).astype(float)
    truth = np.r_[0.6, -0.4, 0.02, 0.5]
    fit = PHReg(o.event_time.to_numpy(), np.column_stack([z, clin]), status=o.event.to_numpy(),
                strata=big_truth.centre.to_numpy()).fit()
    assert np.all(np.abs(fit.params - truth) < 4 * fit.bse), (fit.params, fit.bse)
    dummies = pd.get_dummies(big_truth.centre, dtype=float).iloc[:, 1:].to_numpy()
    fit2 = PHReg(o.event_time.to_numpy(), np.column_stack([z, clin, dummies]),
                 status=o.event.to_numpy()).fit()
    want = np.array([offsets[c] - offsets["C1"] for c in ("C2", "C3", "C4")])
    assert np.all(np.abs(fit2.params[4:] - want) < 4 * fit2.bse[4:])
    assert np.all(fit2.bse[4:] < 0.1)


def test_null_is_null(big_truth):
    """null=True: the linear predictor is the clinical part only (exactly), and a Cox fit
    adjusted for age, sex and centre finds no effect of the shared factors."""
    PHReg = phreg()
    o = simulate_survival(big_truth, null=True, coefficients=[2.0, 2.0], rng=10)
    assert o.null and (o.coefficients == 0).all()
    cov = big_truth.covariates
    clin = (0.03 * (cov["age"] - 60) + 0.3 * (cov["sex"] == "M")).to_numpy()
    np.testing.assert_allclose(o.linear_predictor, clin, rtol=1e-12, atol=1e-15)
    z = big_truth.shared_factors.to_numpy()
    X = np.column_stack([z, cov["age"] - 60, cov["sex"] == "M"]).astype(float)
    fit = PHReg(o.event_time.to_numpy(), X, status=o.event.to_numpy(),
                strata=big_truth.centre.to_numpy()).fit()
    # joint Wald test of the two shared factors
    b, V = fit.params[:2], fit.cov_params()[:2, :2]
    assert b @ np.linalg.solve(V, b) < 13.8          # chi2(2) 0.999 quantile
    alt = simulate_survival(big_truth, coefficients=[0.2, 0.0], rng=10)
    fit_alt = PHReg(alt.event_time.to_numpy(), X, status=alt.event.to_numpy(),
                    strata=big_truth.centre.to_numpy()).fit()
    b = fit_alt.params[:2]
    assert b @ np.linalg.solve(fit_alt.cov_params()[:2, :2], b) > 13.8  # the check has power


def test_truth_orders_risk():
    """The recorded log hazard is the true risk.  Without censoring, Harrell's C of the
    truth estimates ``mean_{i<j} exp(max(l_i, l_j)) / (exp(l_i) + exp(l_j))`` (the chance that
    the higher hazard fails first, whatever the baseline: proportional hazards); the realised
    C is within 0.025 of it (SE about 0.01 at n = 800) and a noisy risk score does worse."""
    _, truth = make_survival_cohort(800, 3, 10, 10, n_snps=3, views=("traits",), rng=2,
                                    survival={"censoring": None, "admin_censoring": None,
                                              "shape": 0.8})
    o = truth.extras["survival"]
    assert o.event.all()
    t, lh = o.event_time.to_numpy(), o.log_hazard.to_numpy()

    def harrell(risk):
        comparable = t[:, None] < t[None, :]
        conc = (risk[:, None] > risk[None, :]) + 0.5 * (risk[:, None] == risk[None, :])
        return (conc * comparable).sum() / comparable.sum()

    li, lj = lh[:, None], lh[None, :]
    pair = np.exp(np.maximum(li, lj)) / (np.exp(li) + np.exp(lj))
    expected = pair[np.triu_indices(lh.size, 1)].mean()
    c_true = harrell(lh)
    assert abs(c_true - expected) < 0.025, (c_true, expected)
    noisy = lh + np.random.default_rng(0).normal(0, 2 * lh.std(), lh.size)
    assert c_true > harrell(noisy) + 0.05


# ---------------------------------------------------------------------------- errors

def test_bad_arguments(big_truth):
    _, truth = make_survival_cohort(**SMALL, rng=1)
    with pytest.raises(ValueError, match="not attainable.*administrative"):
        simulate_survival(truth, censored_fraction=0.01, admin_censoring=1.0, rng=0)
    with pytest.raises(ValueError, match="coefficients"):
        simulate_survival(truth, coefficients=[1, 2, 3], rng=0)
    with pytest.raises(ValueError, match="not both"):
        simulate_survival(truth, censoring_rate=0.1, censored_fraction=0.3, rng=0)
    with pytest.raises(ValueError, match="need random censoring"):
        simulate_survival(truth, censoring=None, censored_fraction=0.3, rng=0)
    with pytest.raises(ValueError, match="unknown keys"):
        simulate_survival(truth, clinical_coefficients={"bmi": 0.1}, rng=0)
    with pytest.raises(ValueError, match="missing"):
        simulate_survival(truth, centre_log_hazard={"C1": 0.0}, rng=0)
    with pytest.raises(ValueError, match="3 offsets"):
        simulate_survival(truth, centre_log_hazard=[0.0, 1.0], rng=0)
    with pytest.raises(ValueError, match="censoring must be"):
        simulate_survival(truth, censoring="weibull", rng=0)
    with pytest.raises(ValueError, match="shape"):
        simulate_survival(truth, shape=-1, rng=0)
    with pytest.raises(ValueError, match=r"censored_fraction must be in \[0, 1\)"):
        simulate_survival(truth, censored_fraction=1.2, rng=0)
    with pytest.raises(TypeError, match="GroundTruth"):
        simulate_survival(pd.DataFrame(), rng=0)
    with pytest.raises(ValueError, match="rng to make_survival_cohort"):
        make_survival_cohort(**SMALL, survival={"rng": 1})
