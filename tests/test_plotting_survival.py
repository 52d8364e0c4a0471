"""Survival plots (radiogenomics.plotting.survival): what is drawn equals R's survfit,
summary.survfit, survdiff and plot.cox.zph (tests/data/survival/plotting/make_refs.R), the
log-rank test holds its level under the null, and wrong inputs are refused with a clear error."""

from __future__ import annotations

import ast
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from radiogenomics import plotting  # noqa: E402
from radiogenomics._checks import InputError  # noqa: E402
from radiogenomics.plotting import survival as ps  # noqa: E402
from radiogenomics.survival import (calibration_at, cox_zph, coxph, kaplan_meier,  # noqa: E402
                                    net_benefit_at)
from radiogenomics.survival.concordance import time_dependent_auc  # noqa: E402
from radiogenomics.validation import ValidationResult  # noqa: E402

REF = Path(__file__).parent / "data" / "survival" / "plotting"
TOL = 1e-10          # closed-form quantities: R and NumPy agree to rounding


def _csv(name):
    return pd.read_csv(REF / name, float_precision="round_trip")


@pytest.fixture(scope="module")
def dat():
    return _csv("data.csv").set_index("id")


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _y(dat):
    return dat[["time", "status"]].rename(columns={"status": "event"})


def test_survival_plots_use_public_api_only():
    """As tests/test_plotting.py for the package's __init__: no private module or name of
    another subpackage (the plotting package's own helpers are fine)."""
    tree = ast.parse(Path(ps.__file__).read_text())
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            parts = (node.module or "").split(".")
            if any(p.startswith("_") and p != "_checks" for p in parts):
                bad.append(node.module)
            if node.level == 2 or node.module:          # names of other subpackages
                bad += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    assert not bad, bad
    for name in ps.__all__[:8]:
        assert getattr(plotting, name) is getattr(ps, name)      # re-exported


# ------------------------------------------------------------------------------ Kaplan-Meier

def test_km_curves_and_bands_equal_survfit(dat):
    ref = _csv("km.csv")
    fig = plotting.plot_km(_y(dat), dat["group"], conf_type="log-log")
    ax = fig.axes[0]
    lines = {ln.get_label(): ln for ln in ax.lines if ln.get_gid() == "km"}
    assert sorted(lines) == ["a", "b", "c"]
    assert len([c for c in ax.collections if c.get_gid() == "km_ci"]) == 3
    for g, r in ref.groupby("group"):
        x, y = lines[g].get_xdata(), lines[g].get_ydata()
        assert x[0] == 0 and y[0] == 1                            # starts at (0, 1)
        np.testing.assert_allclose(x[1:-1], r["time"], atol=TOL)
        np.testing.assert_allclose(y[1:-1], r["surv"], atol=TOL)
        assert x[-1] == dat.loc[dat["group"] == g, "time"].max()   # to the last follow-up
        m = (dat["group"] == g).to_numpy()
        km = kaplan_meier(dat["time"].to_numpy()[m], dat["status"].to_numpy()[m])
        for ct, suffix in (("log-log", "loglog"), ("log", "log"), ("plain", "plain")):
            lo, hi = ps.km_confidence_band(km, 0.95, ct)
            np.testing.assert_allclose(lo, r[f"lower_{suffix}"], atol=TOL, equal_nan=True)
            np.testing.assert_allclose(hi, r[f"upper_{suffix}"], atol=TOL, equal_nan=True)


def test_numbers_at_risk_equal_summary_survfit_and_km_n_risk(dat):
    ref = _csv("at_risk.csv")
    times = sorted(ref["time"].unique())
    fig = plotting.plot_km(_y(dat), dat["group"].to_numpy(), times=times)
    tab = [a for a in fig.axes if a.get_label() == "at_risk"]
    assert len(tab) == 1
    tab = tab[0]
    row = {int(round(t.get_position()[1])): t.get_text() for t in tab.get_yticklabels()}
    assert [row[k] for k in sorted(row, reverse=True)] == ["a", "b", "c"]    # top row first
    shown = {(row[int(round(t.get_position()[1]))], t.get_position()[0]): int(t.get_text())
             for t in tab.texts if t.get_gid() == "at_risk"}
    assert len(shown) == len(ref)
    for r in ref.itertuples():
        assert shown[(r.group, r.time)] == r.n_risk, r
    np.testing.assert_allclose(fig.axes[0].get_xticks(), times)
    # at the KM's event times the table shows the KM's own n_risk
    m = (dat["group"] == "b").to_numpy()
    km = kaplan_meier(dat["time"].to_numpy()[m], dat["status"].to_numpy()[m])
    fig = plotting.plot_km(_y(dat)[m], times=km.time[:6], at_risk=True)
    tab = next(a for a in fig.axes if a.get_label() == "at_risk")
    got = sorted((t.get_position()[0], int(t.get_text())) for t in tab.texts)
    assert [c for _, c in got] == list(km.n_risk[:6].astype(int))


def test_km_into_given_axes_colours_and_no_table(dat):
    fig, ax = plt.subplots()
    cols = plotting.centre_colours(["S1", "S2"])
    out = plotting.plot_km(_y(dat), dat["stratum"], ax=ax, colours=cols, conf_int=False)
    assert out is fig
    km = [ln for ln in ax.lines if ln.get_gid() == "km"]
    assert [matplotlib.colors.to_hex(ln.get_color()) for ln in km] == [cols["S1"].lower(),
                                                                       cols["S2"].lower()]
    assert not [c for c in ax.collections if c.get_gid() == "km_ci"]
    assert [a.get_label() for a in ax.child_axes] == ["at_risk"]     # inset table
    fig = plotting.plot_km(_y(dat), at_risk=False, censor_marks=False)
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 1


def test_km_bad_inputs(dat):
    y = _y(dat)
    with pytest.raises(InputError, match="labels for 90 subjects"):
        plotting.plot_km(y, ["a", "b"])
    with pytest.raises(InputError, match="no label for sample"):
        plotting.plot_km(y, dat["group"].iloc[:50])
    g = dat["group"].copy()
    g.iloc[3] = None
    with pytest.raises(InputError, match="missing for 1 subject"):
        plotting.plot_km(y, g)
    with pytest.raises(InputError, match="values <= 0"):
        plotting.plot_km(y.assign(time=-1.0))
    with pytest.raises(InputError, match="conf_type"):
        plotting.plot_km(y, conf_type="logit")
    with pytest.raises(InputError, match="non-negative"):
        plotting.plot_km(y, times=[-1, 2])
    with pytest.raises(ValueError, match="no colour for 'c'"):
        plotting.plot_km(y, dat["group"], colours={"a": "red", "b": "blue"})


# ------------------------------------------------------------------------------ log-rank

def test_logrank_equals_survdiff_plain_and_stratified(dat):
    ref = _csv("logrank.csv")
    y = _y(dat)
    for test, strata in (("plain", None), ("stratified", dat["stratum"])):
        r = ref[ref["test"] == test].set_index("group")
        lr = plotting.logrank_test(y, dat["group"], strata=strata, order=["a", "b", "c"])
        assert lr.df == int(r["df"].iloc[0]) and lr.stratified == (strata is not None)
        np.testing.assert_allclose(lr.trend_z, r["trend_z"].iloc[0], rtol=1e-10)
        np.testing.assert_allclose(lr.trend_p, r["trend_p"].iloc[0], rtol=1e-8)
        np.testing.assert_allclose(lr.statistic, r["chisq"].iloc[0], rtol=1e-10)
        np.testing.assert_allclose(lr.p_value, r["p"].iloc[0], rtol=1e-8)
        np.testing.assert_allclose(lr.table["observed"], r["observed"], atol=TOL)
        np.testing.assert_allclose(lr.table["expected"], r["expected"], atol=TOL)
        np.testing.assert_allclose(lr.variance.to_numpy(),
                                   r[["var_a", "var_b", "var_c"]].to_numpy(), atol=TOL)
        assert list(lr.table["n"]) == list(dat["group"].value_counts().sort_index())
        assert "log-rank" in lr.summary() and "LogRankResult" in repr(lr)
    # time= / event= and an array of labels give the same test
    same = plotting.logrank_test(time=dat["time"].to_numpy(), event=dat["status"].to_numpy(),
                                 groups=dat["group"].to_numpy())
    assert same.statistic == pytest.approx(ref["chisq"].iloc[0], rel=1e-10)
    assert np.isnan(same.trend_p)                         # no order, no trend test
    flip = plotting.logrank_test(y, dat["group"], order=["c", "b", "a"])
    assert flip.trend_z == pytest.approx(-ref["trend_z"].iloc[0], rel=1e-10)


def test_logrank_bad_inputs(dat):
    y = _y(dat)
    with pytest.raises(InputError, match="at least two groups"):
        plotting.logrank_test(y, np.repeat("a", len(dat)))
    with pytest.raises(InputError, match="needs groups"):
        plotting.logrank_test(y)
    with pytest.raises(InputError, match="strata has 3 labels"):
        plotting.logrank_test(y, dat["group"], strata=["x", "y", "z"])
    with pytest.raises(InputError, match="order must list every group once"):
        plotting.logrank_test(y, dat["group"], order=["a", "b"])


def _null_rejections(n_sim, n, stratified, seed):
    g = np.random.default_rng(seed)
    p = np.empty((n_sim, 2))
    for i in range(n_sim):
        s = np.repeat(["A", "B"], n // 2)
        base = np.where(s == "A", 1.0, 3.0)                 # strata differ in hazard
        t = np.ceil(g.exponential(1 / base) * 10) / 10      # ties
        c = g.uniform(0.2, 2.0, n)
        grp = g.choice(["x", "y", "z"], n)
        y = np.column_stack([np.minimum(t, c), (t <= c).astype(float)])
        lr = plotting.logrank_test(y, grp, strata=s if stratified else None,
                                   order=["x", "y", "z"])
        p[i] = lr.p_value, lr.trend_p
    return p


@pytest.mark.slow
@pytest.mark.parametrize("stratified", [False, True])
def test_logrank_holds_its_level_under_the_null(stratified):
    """Groups independent of the outcome: the 5% omnibus and one-sided trend tests reject
    within the binomial 99% interval of 5% (800 data sets of 60 subjects with tied times and
    two strata differing in hazard)."""
    n_sim = 800
    p = _null_rejections(n_sim, 60, stratified, 11 if stratified else 12)
    lo, hi = stats.binom.ppf([0.005, 0.995], n_sim, 0.05)
    for j in range(2):
        assert lo <= (p[:, j] <= 0.05).sum() <= hi, (j, (p[:, j] <= 0.05).mean())
        assert stats.kstest(p[:, j], "uniform").pvalue > 0.001   # the whole null distribution


# ------------------------------------------------------------------------------ risk groups

def _validation_result(dat, cv="5-fold"):
    pred = pd.DataFrame({"fold": 0, "repeat": 0, "centre": dat["stratum"],
                         "time": dat["time"], "event": dat["status"].astype(float),
                         "pred": dat["x1"], "risk_2": 1 / (1 + np.exp(-dat["x1"]))},
                        index=dat.index)
    return ValidationResult(predictions=pred, metrics=pd.DataFrame(), folds=pd.DataFrame(),
                            kind="survival", cv=cv, horizons=[2.0])


def test_km_by_risk_group_cuts_tertiles_and_quotes_the_stratified_trend_test(dat):
    ref = _csv("risk_groups.csv").set_index("id")
    res = _validation_result(dat)
    fig = plotting.plot_km_by_risk_group(res)
    lr = fig.logrank
    assert lr.stratified                                 # two centres: within centres
    np.testing.assert_allclose(lr.statistic, ref["chisq"].iloc[0], rtol=1e-10)
    np.testing.assert_allclose(lr.trend_p, ref["trend_p"].iloc[0], rtol=1e-8)
    counts = ref["risk_group"].value_counts()
    for g in ("low", "intermediate", "high"):
        assert lr.table.loc[g, "n"] == counts[g]
    ax = fig.axes[0]
    km = [ln.get_label() for ln in ax.lines if ln.get_gid() == "km"]
    assert sorted(km) == ["high", "intermediate", "low"]
    leg = ax.get_legend()
    assert [t.get_text() for t in leg.get_texts()] == ["low", "intermediate", "high"]
    assert leg.get_title().get_text() == ("stratified log-rank trend,\none-sided p = "
                                          f"{ps._fmt_p(lr.trend_p)}")
    assert any(a.get_label() == "at_risk" for a in fig.axes)
    # the absolute risk at the horizon is a monotone transform of x1 here: same groups
    same = plotting.plot_km_by_risk_group(res, horizon=2, stratified=False).logrank
    assert not same.stratified and list(same.table["n"]) == list(lr.table["n"])
    quart = plotting.plot_km_by_risk_group(res, [0.25, 0.75], at_risk=False).logrank
    assert list(quart.table.index) == ["0-25%", "25-75%", "75-100%"]


def test_km_by_risk_group_refuses_wrong_inputs(dat):
    res = _validation_result(dat)
    with pytest.raises(InputError, match="survival ValidationResult"):
        plotting.plot_km_by_risk_group(dat)
    with pytest.raises(InputError, match="no column 'risk_5'"):
        plotting.plot_km_by_risk_group(res, horizon=5)
    with pytest.raises(InputError, match="n_groups must be >= 2"):
        plotting.plot_km_by_risk_group(res, 1)
    with pytest.raises(InputError, match="strictly between 0 and 1"):
        plotting.plot_km_by_risk_group(res, [0.5, 1.2])
    flat = _validation_result(dat.assign(x1=0.0))
    with pytest.raises(InputError, match="too few distinct values"):
        plotting.plot_km_by_risk_group(flat)


# ------------------------------------------------------------------------------ calibration

def test_survival_calibration_draws_the_table(dat):
    y = _y(dat)
    risk = 1 / (1 + np.exp(-(dat["x1"] - 0.5)))
    cal = calibration_at(y, risk.to_numpy(), 2.0, n_groups=4)
    fig = plotting.plot_survival_calibration(cal)
    ax = fig.axes[0]
    pts = np.vstack([ln.get_xydata() for ln in ax.lines if ln.get_gid() == "groups"])
    tab = cal.table
    np.testing.assert_allclose(np.sort(pts[:, 0]), np.sort(tab["mean_predicted"]), atol=TOL)
    np.testing.assert_allclose(pts[np.argsort(pts[:, 0]), 1],
                               tab.sort_values("mean_predicted")["observed"], atol=TOL)
    diag = next(ln for ln in ax.lines if ln.get_gid() == "diagonal")
    assert np.allclose(diag.get_xdata(), diag.get_ydata())
    assert f"O/E {cal.oe:.2f}" in ax.get_legend().get_texts()[0].get_text()
    with pytest.raises(InputError, match="SurvCalibration"):
        plotting.plot_survival_calibration(tab)


# ------------------------------------------------------------------------------ cox.zph

@pytest.mark.parametrize("transform", ["km", "identity"])
def test_zph_smooth_and_band_equal_plot_cox_zph(dat, transform):
    ref = _csv("zph_smooth.csv")
    fit = coxph(dat[["x1", "x2"]], _y(dat))
    zph = cox_zph(fit, transform=transform)
    fig = plotting.plot_zph(zph)
    assert len([a for a in fig.axes if a.get_visible()]) == 2
    for ax, term in zip(fig.axes, ["x1", "x2"]):
        r = ref[(ref["transform"] == transform) & (ref["term"] == term)]
        sm = next(ln for ln in ax.lines if ln.get_gid() == "smooth")
        np.testing.assert_allclose(sm.get_xdata(), r["x"], atol=1e-10)
        np.testing.assert_allclose(sm.get_ydata(), r["fit"], atol=1e-6)   # cox.zph: 1e-8 there
        _, fit_, se = ps.zph_smooth(zph, term)
        np.testing.assert_allclose(fit_ - 2 * se, r["lower"], atol=1e-6)
        np.testing.assert_allclose(fit_ + 2 * se, r["upper"], atol=1e-6)
        pts = next(c for c in ax.collections if c.get_gid() == "residuals").get_offsets()
        np.testing.assert_allclose(np.asarray(pts)[:, 1], zph.y[term], atol=TOL)
        assert f"cox.zph p = {ps._fmt_p(zph.table.loc[term, 'p'])}" in ax.get_title()


def test_zph_time_axis_labels_follow_plot_cox_zph(dat):
    ref = _csv("zph_axis.csv")
    zph = cox_zph(coxph(dat[["x1", "x2"]], _y(dat)))
    fig, ax = plt.subplots()
    plotting.plot_zph(zph, "x1", ax=ax)
    np.testing.assert_allclose(ax.get_xticks(), ref["position"], atol=1e-10)
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"{v:g}" for v in ref["time"]]


def test_zph_bad_inputs(dat):
    zph = cox_zph(coxph(dat[["x1", "x2"]], _y(dat)))
    with pytest.raises(InputError, match="ZPHResult"):
        plotting.plot_zph(zph.table)
    with pytest.raises(InputError, match="'x3' is not in the cox.zph result"):
        plotting.plot_zph(zph, "x3")
    _, ax = plt.subplots()
    with pytest.raises(InputError, match="name the term"):
        plotting.plot_zph(zph, ax=ax)


# ------------------------------------------------------------------------------ AUC(t), DCA

def test_time_auc_and_decision_curve_draw_their_tables(dat):
    y = _y(dat).to_numpy()
    a1 = time_dependent_auc(y, y, dat["x1"].to_numpy(), [0.5, 1, 2])
    a2 = time_dependent_auc(y, y, dat["x2"].to_numpy(), [0.5, 1, 2])
    fig = plotting.plot_time_auc({"x1": a1, "x2": a2})
    lines = [ln for ln in fig.axes[0].lines if ln.get_gid() == "auc"]
    assert len(lines) == 2
    np.testing.assert_allclose(lines[0].get_ydata(), a1.auc, atol=TOL)
    np.testing.assert_allclose(lines[1].get_xdata(), a2.times, atol=TOL)
    assert f"{a1.mean_auc:.2f}" in lines[0].get_label()
    one = plotting.plot_time_auc(time_dependent_auc(y, y, dat["x1"].to_numpy(), [1.0]))
    assert len([ln for ln in one.axes[0].lines if ln.get_gid() == "auc"]) == 1
    risk = 1 / (1 + np.exp(-(dat["x1"].to_numpy() - 0.5)))
    nb = net_benefit_at(y, risk, 2.0)
    fig = plotting.plot_survival_decision_curve(nb)
    ax = fig.axes[0]
    model = [ln for ln in ax.lines if ln.get_gid() == "model"]
    assert len(model) == 1
    np.testing.assert_allclose(model[0].get_ydata(), nb["net_benefit"], atol=TOL)
    assert any(ln.get_label() == "treat all" for ln in ax.lines)
    with pytest.raises(InputError, match="TimeAUCResult"):
        plotting.plot_time_auc({"x": nb})
    with pytest.raises(InputError, match="lacks column"):
        plotting.plot_survival_decision_curve(nb.drop(columns="treat_all"))
