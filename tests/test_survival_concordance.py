"""Harrell's / Uno's C and the time-dependent AUC (radiogenomics/survival/concordance.py).

References in tests/data/survival/concordance/ (R 4.2.2, survival 3.5-3, riskRegression
2022.11.28, Hmisc 4.8-0; calls in make_refs.R), scikit-survival and lifelines where they compute
the same estimator, brute-force O(n^2) versions and finite-difference derivatives for the
influence functions, and null / non-null coverage simulations for every interval.
"""

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from radiogenomics._checks import InputError
from radiogenomics.survival._km import kaplan_meier
from radiogenomics.survival.concordance import (_harrell_c_value, _pl_ij, c_within,
                                                harrell_c, time_dependent_auc, uno_c)

DATA = Path(__file__).parent / "data" / "survival" / "concordance"
TOL = 1e-9          # parity with R (references carry 17 digits); measured <= 5e-16


def _read(name):
    return pd.read_csv(DATA / name, float_precision="round_trip")


@pytest.fixture(scope="module")
def a():
    return _read("data_a.csv")


@pytest.fixture(scope="module")
def b():
    return _read("data_b.csv")


@pytest.fixture(scope="module")
def href():
    return _read("harrell_refs.csv").set_index("case")


def _sim(rng, n, beta=0.0, digits=None):
    """Exponential times with hazard exp(beta x), uniform(0.2, 3) censoring."""
    x = rng.normal(size=n)
    t = rng.exponential(np.exp(-beta * x))
    c = rng.uniform(0.2, 3.0, n)
    tt = np.minimum(t, c)
    if digits is not None:
        tt, x = np.round(tt, digits) + 10.0 ** -digits, np.round(x, 1)
    return np.column_stack([tt, (t <= c).astype(float)]), x


# ---------------------------------------------------------------------------------------------
# Harrell's C: parity with survival::concordance(reverse = TRUE)
# ---------------------------------------------------------------------------------------------

HARRELL_CASES = {
    "plain": dict(risk="risk"), "score": dict(risk="score"),
    "strata": dict(risk="risk", strata="centre"), "weights": dict(risk="risk", weights="w"),
    "strata_weights": dict(risk="risk", strata="centre", weights="w"),
    "strata12": dict(risk="risk", strata="centre12"),
    "strata12_weights": dict(risk="risk", strata="centre12", weights="w"),
    "no_timefix": dict(risk="risk", timefix=False),
}


@pytest.mark.parametrize("case", list(HARRELL_CASES))
def test_harrell_matches_survival(a, href, case):
    spec = dict(HARRELL_CASES[case])
    kw = {k: a[spec.pop(k)] for k in ("strata", "weights") if k in spec}
    res = harrell_c(a[["time", "status"]], a[spec.pop("risk")], **kw, **spec)
    ref = href.loc[case]
    assert res.c == pytest.approx(ref.c, abs=TOL)
    assert res.se == pytest.approx(ref.se, abs=TOL)
    got = [res.concordant, res.discordant, res.tied_risk, res.tied_time, res.tied_both]
    np.testing.assert_allclose(got, ref[["concordant", "discordant", "tied_x", "tied_y",
                                         "tied_xy"]].to_numpy(float), rtol=1e-10)


def test_harrell_matches_survival_data_b_and_fast_value(b, a, href):
    res = harrell_c(time=b.time, event=b.status, risk=b.risk)
    assert (res.c, res.se) == pytest.approx((href.loc["data_b", "c"], href.loc["data_b", "se"]),
                                            abs=TOL)
    # the variance-free path used inside cross-validation gives the same C
    for strata, case in ((None, "plain"), (a.centre, "strata"), (a.centre12, "strata12")):
        v = _harrell_c_value(a.time.to_numpy(), a.status.to_numpy(), a.risk.to_numpy(), strata)
        assert v == pytest.approx(href.loc[case, "c"], abs=1e-12)


def test_c_within_matches_per_centre_survival(a, href):
    res = c_within(a[["time", "status"]], a.risk, a.centre)
    assert (res.c, res.se) == pytest.approx((href.loc["strata", "c"], href.loc["strata", "se"]),
                                            abs=TOL)
    tab = res.by_stratum
    for s in "ABCD":
        assert tab.loc[s, "c"] == pytest.approx(href.loc[f"centre_{s}", "c"], abs=TOL)
        assert tab.loc[s, "se"] == pytest.approx(href.loc[f"centre_{s}", "se"], abs=TOL)
        assert tab.loc[s, "n"] == (a.centre == s).sum()
    assert tab.pairs.sum() == pytest.approx(res.n_pairs)


def test_constant_risk_matches_survival(a, href):
    ref = href.loc["constant"]
    with pytest.warns(UserWarning, match="every pair is tied"):
        res = harrell_c(a[["time", "status"]], np.full(len(a), 2.0))
    assert (res.c, res.se) == (0.5, 0.0) == (ref.c, ref.se)
    assert (res.tied_risk, res.tied_both) == (ref.tied_x, ref.tied_xy)
    assert np.isnan(res.lower) and np.isnan(res.p_value)
    with pytest.raises(InputError, match="tied in risk"):
        harrell_c(a[["time", "status"]], np.full(len(a), 2.0), ties="exclude")


def test_ties_exclude_matches_hmisc_rcorr_cens_outx(a, href):
    res = harrell_c(a[["time", "status"]], a.risk, ties="exclude", timefix=False)
    assert res.c == pytest.approx(href.loc["hmisc_outx", "c"], abs=TOL)
    assert res.c == pytest.approx(res.concordant / (res.concordant + res.discordant), abs=1e-14)


def _brute_harrell(t, e, x, w, codes, theta=0.5):
    """O(n^2) survival counts and IJ variance (Therneau's dfbeta); theta = 0: ties left out."""
    comp = (e[:, None] == 1) & ((t[None, :] > t[:, None]) | ((t[None, :] == t[:, None])
                                                            & (e[None, :] == 0)))
    comp &= codes[:, None] == codes[None, :]
    ww = w[:, None] * w[None, :] * comp
    kc, kd, kt = (x[:, None] > x[None, :]), (x[:, None] < x[None, :]), (x[:, None] == x[None, :])
    c, d, tx = (ww * kc).sum(), (ww * kd).sum(), (ww * kt).sum()
    per = [(ww * k).sum(1) + (ww * k).sum(0) for k in (kc, kd, kt)]
    keep = 1.0 if theta > 0 else 0.0
    den = c + d + keep * tx
    cc = (c + theta * tx) / den
    ij = (per[0] + theta * per[2] - cc * (per[0] + per[1] + keep * per[2])) / den
    return cc, np.sqrt(np.sum(ij ** 2)), (c, d, tx)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_harrell_matches_brute_force_with_ties_weights_strata(seed):
    rng = np.random.default_rng(seed)
    n = 150
    t = rng.integers(1, 15, n).astype(float)
    e = (rng.random(n) < 0.6).astype(float)
    x = rng.integers(0, 8, n).astype(float)
    w = rng.uniform(0.2, 3, n)
    codes = rng.integers(0, 3, n)
    res = harrell_c(time=t, event=e, risk=x, weights=w, strata=codes)
    c, se, counts = _brute_harrell(t, e, x, w, codes)
    assert (res.c, res.se) == pytest.approx((c, se), rel=1e-12)
    np.testing.assert_allclose([res.concordant, res.discordant, res.tied_risk], counts,
                               rtol=1e-12)
    res = harrell_c(time=t, event=e, risk=x, weights=w, strata=codes, ties="exclude")
    assert (res.c, res.se) == pytest.approx(_brute_harrell(t, e, x, w, codes, 0.0)[:2],
                                            rel=1e-12)


def test_harrell_matches_lifelines_and_sksurv(a, b):
    lifelines = pytest.importorskip("lifelines", reason="optional cross-check")
    sksurv_metrics = pytest.importorskip("sksurv.metrics", reason="optional cross-check")
    for d, timefix in ((a, False), (b, True)):
        res = harrell_c(d[["time", "status"]], d.score if "score" in d else d.risk,
                        timefix=timefix)
        risk = (d.score if "score" in d else d.risk).to_numpy()
        # lifelines scores predicted survival times: pass -risk; exact time ties, 1/2 risk ties
        ll = lifelines.utils.concordance_index(d.time, -risk, d.status)
        sk = sksurv_metrics.concordance_index_censored(d.status.astype(bool), d.time, risk)
        assert res.c == pytest.approx(ll, abs=1e-12)
        assert res.c == pytest.approx(sk[0], abs=1e-12)
        assert (res.concordant, res.discordant, res.tied_risk) == sk[1:4]


def test_harrell_is_fast_for_100k():
    rng = np.random.default_rng(3)
    y, x = _sim(rng, 100_000, beta=0.5)
    harrell_c(y, x)                                     # numba compile / cache load
    best = min(_timed(lambda: harrell_c(y, x)) for _ in range(3))
    assert best < 1.0, f"harrell_c took {best:.2f} s for n = 100,000"
    assert _timed(lambda: _harrell_c_value(y[:, 0], y[:, 1], x)) < 1.0


def _timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# Uno's C
# ---------------------------------------------------------------------------------------------

def test_uno_matches_survival_nG2(b):
    ref = _read("uno_refs.csv")
    y = b[["time", "status"]]
    for _, row in ref.iterrows():
        tau = None if np.isnan(row.tau) else row.tau
        res = uno_c(y, y, b.risk, tau)
        assert res.c == pytest.approx(row.c, abs=TOL), row.case
        assert res.tau == tau


def _sk(d):
    from sksurv.util import Surv

    return Surv.from_arrays(d.status.astype(bool), d.time)


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("tau", [None, 12.0, 20.0])
def test_uno_matches_sksurv(a, b, split, tau):
    sksurv_metrics = pytest.importorskip("sksurv.metrics", reason="optional cross-check")
    for d in (a, b):        # a: censoring tied with events, G(T_i) and G(T_i-) differ
        tr, te = (d.iloc[::2], d.iloc[1::2]) if split else (d, d)
        ref = sksurv_metrics.concordance_index_ipcw(_sk(tr), _sk(te), te.risk.to_numpy(),
                                                    tau=tau)
        res = uno_c(tr[["time", "status"]], te[["time", "status"]], te.risk.to_numpy(), tau)
        assert res.c == pytest.approx(ref[0], abs=1e-10)


def _uno_brute(tt, et, wt, ts, es, ws, x, tau):
    """Weighted Uno's C: censoring KM of (tt, et, wt), events leave first at ties."""
    cu = np.unique(tt[et == 0])
    y = np.array([wt[(tt > u) | ((tt == u) & (et == 0))].sum() for u in cu])
    c = np.array([wt[(tt == u) & (et == 0)].sum() for u in cu])
    g = np.r_[1.0, np.cumprod(1 - c / y)][np.searchsorted(cu, ts, side="right")]
    use = (es == 1) & (ts < tau)
    comp = use[:, None] & ((ts[None, :] > ts[:, None]) | ((ts[None, :] == ts[:, None])
                                                         & (es[None, :] == 0)))
    pw = np.where(use, ws / np.where(use, g, 1.0) ** 2, 0.0)[:, None] * ws[None, :] * comp
    k = (x[:, None] > x[None, :]) + 0.5 * (x[:, None] == x[None, :])
    return (pw * k).sum() / pw.sum()


@pytest.mark.parametrize("same", [True, False])
def test_uno_se_is_the_infinitesimal_jackknife(same):
    """SE^2 = sum of squared derivatives of C in every subject's weight (test pairs and G)."""
    rng = np.random.default_rng(11)
    y, x = _sim(rng, 45, beta=1.0, digits=1)
    ytr = y if same else _sim(rng, 35, digits=1)[0]
    tau = 1.6
    res = uno_c(ytr, y, x, tau)
    w_te, w_tr, h = np.ones(len(y)), np.ones(len(ytr)), 1e-6

    def c_at(wtr, wte):
        return _uno_brute(ytr[:, 0], ytr[:, 1], wtr, y[:, 0], y[:, 1], wte, x, tau)

    assert res.c == pytest.approx(c_at(w_tr, w_te), abs=1e-13)
    if same:
        d = [(c_at(w_te + h * ek, w_te + h * ek) - c_at(w_te - h * ek, w_te - h * ek)) / (2 * h)
             for ek in np.eye(len(y))]
    else:
        d = [(c_at(w_tr, w_te + h * ek) - c_at(w_tr, w_te - h * ek)) / (2 * h)
             for ek in np.eye(len(y))]
        d += [(c_at(w_tr + h * ek, w_te) - c_at(w_tr - h * ek, w_te)) / (2 * h)
              for ek in np.eye(len(ytr))]
    assert res.se == pytest.approx(np.sqrt(np.sum(np.square(d))), rel=1e-6)
    # the check has power: holding G fixed gives an SE 100x further off than the tolerance
    fixed = [(c_at(w_tr, w_te + h * ek) - c_at(w_tr, w_te - h * ek)) / (2 * h)
             for ek in np.eye(len(y))]
    assert abs(res.se / np.sqrt(np.sum(np.square(fixed))) - 1) > 1e-4


def test_product_limit_derivative_matches_weighted_km():
    """_pl_ij (exact) is minus the derivative of log S at the horizons (Kaplan-Meier)."""
    rng = np.random.default_rng(4)
    y, _ = _sim(rng, 30, digits=1)
    t, e = y[:, 0], y[:, 1]
    hz, coef = np.array([0.4, 0.9, 1.5]), np.array([0.3, -1.0, 2.0])
    got = _pl_ij(t, e, hz, coef, ties_at_risk=True, left=False, exact=True)
    h = 1e-6
    fd = [(coef @ np.log(kaplan_meier(t, e, 1 + h * ek)(hz))
           - coef @ np.log(kaplan_meier(t, e, 1 - h * ek)(hz))) / (2 * h) for ek in np.eye(30)]
    np.testing.assert_allclose(got, -np.asarray(fd), atol=1e-7)


# ---------------------------------------------------------------------------------------------
# time-dependent AUC
# ---------------------------------------------------------------------------------------------

def test_auc_matches_riskregression_score(a, b):
    ref = _read("auc_refs.csv")
    for case, g in ref.groupby("case", sort=False):
        d = a if case.startswith("a_") else b
        col = case.split("_", 1)[1]
        y = d[["time", "status"]]
        res = time_dependent_auc(y, y, d[col], g.time.to_numpy())
        for got, want in ((res.auc, g.auc), (res.se, g.se), (res.lower, g.lower),
                          (res.upper, g.upper)):
            np.testing.assert_allclose(got, want.to_numpy(), atol=TOL, err_msg=case)
        np.testing.assert_array_equal(res.times, g.time.to_numpy())


def test_auc_matches_sksurv_cumulative_dynamic_auc(b):
    sksurv_metrics = pytest.importorskip("sksurv.metrics", reason="optional cross-check")
    times = np.array([4.0, 9.0, 17.0, 30.0])
    # data b: no censoring time equals an event time, so G(T-) = G(T)
    for tr, te in ((b, b), (b.iloc[::2], b.iloc[1::2])):
        auc, mean = sksurv_metrics.cumulative_dynamic_auc(_sk(tr), _sk(te), te.risk.to_numpy(),
                                                          times)
        res = time_dependent_auc(tr[["time", "status"]], te[["time", "status"]], te.risk, times)
        np.testing.assert_allclose(res.auc, auc, atol=1e-12)
        assert res.mean_auc == pytest.approx(mean, abs=1e-12)
    # time-varying predictions: one column per horizon
    rng = np.random.default_rng(0)
    r2 = b.risk.to_numpy()[:, None] + rng.normal(scale=0.5, size=(len(b), times.size))
    auc, mean = sksurv_metrics.cumulative_dynamic_auc(_sk(b), _sk(b), r2, times)
    res = time_dependent_auc(None, b[["time", "status"]], r2, times)
    np.testing.assert_allclose(res.auc, auc, atol=1e-12)
    for j, tj in enumerate(times):
        one = time_dependent_auc(None, b[["time", "status"]], r2[:, j], [tj])
        assert (one.auc[0], one.se[0]) == pytest.approx((res.auc[j], res.se[j]), abs=1e-14)


def test_auc_sorts_horizons_with_their_columns(b):
    y = b[["time", "status"]]
    r2 = np.column_stack([b.risk, -b.risk])
    res = time_dependent_auc(y, y, r2, [20.0, 5.0])
    np.testing.assert_array_equal(res.times, [5.0, 20.0])
    assert res.auc[0] < 0.5 < res.auc[1]           # -risk at 5, risk at 20


# ---------------------------------------------------------------------------------------------
# results and errors
# ---------------------------------------------------------------------------------------------

def test_result_objects(a):
    res = harrell_c(a[["time", "status"]], a.risk, confidence=0.9)
    z = stats.norm.ppf(0.95)
    assert (res.lower, res.upper) == pytest.approx((res.c - z * res.se, res.c + z * res.se))
    assert res.p_value == pytest.approx(2 * stats.norm.sf((res.c - 0.5) / res.se))
    assert res.confidence_interval() == (res.lower, res.upper)
    z = stats.norm.ppf(0.975)
    assert res.confidence_interval(0.95) == pytest.approx((res.c - z * res.se, res.c + z * res.se))
    f = res.to_frame()
    assert f.loc["Harrell", "c"] == res.c and f.loc["Harrell", "n_events"] == a.status.sum()
    assert f"c={res.c:.4f}" in repr(res) and "90% CI" in res.summary()
    auc = time_dependent_auc(None, a[["time", "status"]], a.risk, [5, 10])
    f = auc.to_frame()
    np.testing.assert_array_equal(f.auc, auc.auc)
    assert list(f.index) == [5.0, 10.0] and (f.n_cases > 0).all()
    assert "integrated AUC" in auc.summary() and f"{auc.mean_auc:.4f}" in repr(auc)
    with pytest.raises(AttributeError):
        res.c = 0.7                                      # frozen


def test_inputs_aligned_by_sample_id(a):
    y = a[["time", "status"]].set_axis([f"s{i}" for i in range(len(a))])
    risk = pd.Series(a.risk.to_numpy(), index=y.index)
    ref = harrell_c(y, risk, strata=pd.Series(a.centre.to_numpy(), index=y.index))
    perm = np.random.default_rng(0).permutation(len(a))
    res = harrell_c(y, risk.iloc[perm], strata=pd.Series(a.centre.to_numpy(),
                                                         index=y.index).iloc[perm])
    assert (res.c, res.se) == (ref.c, ref.se)
    with pytest.raises(InputError, match="different sample IDs"):
        harrell_c(y, risk.set_axis([f"t{i}" for i in range(len(a))]))


def test_bad_input_errors(a):
    y = a[["time", "status"]].set_axis([f"s{i}" for i in range(len(a))])
    risk = pd.Series(a.risk.to_numpy(), index=y.index)
    with pytest.raises(InputError, match=r"non-finite.*'s3'"):
        harrell_c(y, risk.where(risk.index != "s3"))
    with pytest.raises(InputError, match="240 subjects"):
        harrell_c(y, a.risk.to_numpy()[:-1])
    with pytest.raises(InputError, match="risk is required"):
        harrell_c(y)
    with pytest.raises(InputError, match="no comparable pairs"):     # the only event is last
        harrell_c(time=[1, 2, 3], event=[0, 0, 1], risk=[1, 2, 3])
    with pytest.raises(InputError, match="no comparable pairs"):     # events tied in time
        harrell_c(time=[2, 2], event=[1, 1], risk=[1, 2])
    with pytest.raises(InputError, match="strata is missing"):
        harrell_c(y, risk, strata=a.centre.where(a.index != 5).to_numpy())
    with pytest.raises(InputError, match="weights must be >= 0"):
        harrell_c(y, risk, weights=-np.ones(len(a)))
    with pytest.raises(InputError, match="ties must be one of"):
        harrell_c(y, risk, ties="drop")
    with pytest.raises(InputError, match="needs centre="):
        c_within(y, risk)
    with pytest.raises(InputError, match="no cases .* or no controls"):
        time_dependent_auc(None, y, risk, [5, a.time.max() + 1])
    with pytest.raises(InputError, match="no cases"):
        time_dependent_auc(None, y, risk, [0.5])
    with pytest.raises(InputError, match="duplicated"):
        time_dependent_auc(None, y, risk, [5, 5])
    with pytest.raises(InputError, match="2 columns for 3 horizons"):
        time_dependent_auc(None, y, np.ones((len(a), 2)), [5, 10, 15])
    with pytest.raises(InputError, match="choose tau below"):     # training ends earlier
        short = a[a.time < 10]
        uno_c(short[["time", "status"]], y, risk, tau=30)
    with pytest.raises(InputError, match="tau must be"):
        uno_c(None, y, risk, tau=-1)
    with pytest.raises(InputError, match="earlier horizon"):
        uno_short = a[a.time < 10]
        time_dependent_auc(uno_short[["time", "status"]], y, risk, [20])


# ---------------------------------------------------------------------------------------------
# validity: interval coverage by simulation (binomial 99% acceptance band)
# ---------------------------------------------------------------------------------------------

def _band(n_rep, level=0.95):
    return stats.binom.ppf(0.005, n_rep, level), stats.binom.ppf(0.995, n_rep, level)


@pytest.mark.slow
def test_null_coverage_harrell_within_and_uno():
    """Risk independent of outcome: the 95% CIs of Harrell's, within-strata and Uno's C cover
    0.5 at the nominal rate (times and risk rounded: ties in both)."""
    rng = np.random.default_rng(2024)
    n_rep, hits, accept = 1500, np.zeros(3), np.zeros(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(n_rep):
            y, x = _sim(rng, 120, digits=2)
            res = (harrell_c(y, x), harrell_c(y, x, strata=rng.integers(0, 4, 120)),
                   uno_c(None, y, x, tau=1.5))
            hits += [r.lower <= 0.5 <= r.upper for r in res]
            accept += [r.p_value >= 0.05 for r in res]
    lo, hi = _band(n_rep)
    assert ((lo <= hits) & (hits <= hi)).all(), hits / n_rep
    np.testing.assert_array_equal(accept, hits)      # the test of C = 1/2 is the same Wald


@pytest.mark.slow
def test_null_coverage_time_dependent_auc():
    rng = np.random.default_rng(2025)
    n_rep, hits = 1500, np.zeros(3)
    for _ in range(n_rep):
        y, x = _sim(rng, 150, digits=2)
        res = time_dependent_auc(None, y, x, [0.4, 1.0])
        hits += [*((res.lower <= 0.5) & (0.5 <= res.upper)),
                 res.mean_auc_ci[0] <= 0.5 <= res.mean_auc_ci[1]]
    lo, hi = _band(n_rep)
    assert ((lo <= hits) & (hits <= hi)).all(), hits / n_rep


@pytest.mark.slow
def test_coverage_uno_and_auc_with_prognostic_risk():
    """A prognostic score (C about 0.7): Uno's C (same and independent training sample) and
    AUC(1) intervals cover the truth, computed from 400,000 uncensored subjects."""
    big = np.random.default_rng(99)
    xb = big.normal(size=400_000)
    yb = np.column_stack([big.exponential(np.exp(-0.8 * xb)), np.ones(xb.size)])
    truth = (uno_c(None, yb, xb, tau=1.5).c, time_dependent_auc(None, yb, xb, [1.0]).auc[0])
    rng = np.random.default_rng(7)
    n_rep, hits = 1000, np.zeros(3)
    for _ in range(n_rep):
        y, x = _sim(rng, 200, beta=0.8)
        ytr = _sim(rng, 200, beta=0.8)[0]
        r1, r2 = uno_c(None, y, x, tau=1.5), uno_c(ytr, y, x, tau=1.5)
        r3 = time_dependent_auc(None, y, x, [1.0])
        hits += [r1.lower <= truth[0] <= r1.upper, r2.lower <= truth[0] <= r2.upper,
                 r3.lower[0] <= truth[1] <= r3.upper[0]]
    lo, hi = _band(n_rep)
    assert ((lo <= hits) & (hits <= hi)).all(), hits / n_rep
