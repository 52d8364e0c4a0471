"""Instrument strength, per-SNP r^2 and Steiger filtering (:mod:`radiogenomics.mr.instruments`)
against TwoSampleMR 0.7.9.

References (tests/data/mr/io/README.md): the refdata's ``tsmr_steiger_filtering.csv`` and
``tsmr_directionality_test.csv`` (TwoSampleMR ``steiger_filtering`` / ``directionality_test`` on
BMI -> CHD and ``syn_n30_outliers``), and TwoSampleMR's own ``R/add_rsq.r`` run in R 4.2.2
(``tsmr_get_r_from_pn.csv``, ``tsmr_get_r.csv``, ``tsmr_add_rsq_*.csv``).  Deterministic outputs
must agree to 1e-6 relative; measured agreement is stated per test (typically 1e-13).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _rframes import compare_frames, read_r_csv
from radiogenomics._checks import InputError
from radiogenomics.mr.instruments import (add_rsq, effective_n, get_p_from_r2n,
                                          get_population_allele_frequency, get_r_from_bsen,
                                          get_r_from_lor, get_r_from_pn, instrument_f,
                                          steiger_filtering)
from radiogenomics.mr.sensitivity import directionality_test

MR = Path(__file__).parent / "data" / "mr"
IO = MR / "io"
RTOL = 1e-10        # required 1e-6; they agree to ~1e-13


def _compare(got, ref, rtol=RTOL):
    compare_frames(got, ref, rtol=rtol)


# --------------------------------------------------------------------------- get_r_from_pn
def test_get_r_from_pn_equals_r_qf_over_tails_and_branches():
    """R's ``qf(p, 1, n - 1, lower.tail = FALSE)`` and TwoSampleMR's ``get_r_from_pn`` for p from
    0.5 to 1e-300 and n from 50 to 1e6, including both sides of R's switch to the chi-squared
    quantile at n - 1 > 4e5.  Tolerance 1e-10 relative (measured ~1e-13 with SciPy 1.17, ~1e-10
    with SciPy 1.11.1, the minimum supported version, whose ``t.isf`` alone was 50% off at
    p = 1e-300, df = 49 and needs the Newton polish in ``_upper_t``).  SciPy's ``f.isf``
    returns inf for most of these p, which is what the old fallback papered over."""
    tol = RTOL
    g = read_r_csv(IO / "tsmr_get_r_from_pn.csv")
    np.testing.assert_allclose(get_r_from_pn(g["p"], g["n"]), g["r"], rtol=tol)
    from radiogenomics.mr.instruments import _upper_f1
    np.testing.assert_allclose(_upper_f1(g["p"], g["n"] - 1), g["qf"], rtol=tol)
    # the n - 1 denominator df is TwoSampleMR's: n - 2 would miss by far more than 1e-10
    f2 = _upper_f1(g["p"], g["n"] - 2)
    r2 = np.sqrt(f2 / (g["n"] - 2 + f2))
    assert np.max(np.abs(r2 / g["r"] - 1)[g["n"] == 50]) > 1e-4


def test_get_r_from_pn_zero_and_inverse():
    with pytest.warns(UserWarning, match="p-value\\(s\\) of 0 cannot be converted"):
        r = get_r_from_pn([0.0, 1e-10], 1000)
    assert np.isnan(r[0]) and np.isfinite(r[1])
    # get_p_from_r2n inverts get_r_from_pn (TwoSampleMR's optim target)
    p = np.array([0.3, 1e-6, 1e-40, 1e-120])
    np.testing.assert_allclose(get_p_from_r2n(get_r_from_pn(p, 50000) ** 2, 50000), p, rtol=1e-8)


def test_get_r_bsen_lor_and_population_frequency_equal_twosamplemr():
    """``get_r_from_bsen``, ``get_r_from_lor`` (logit; probit with correction), the population
    allele frequency and effective n on five case-control SNPs: 1e-10 (measured ~1e-15)."""
    x = read_r_csv(IO / "tsmr_get_r.csv")
    np.testing.assert_allclose(get_r_from_bsen(x.beta, x.se, x.samplesize), x.r_bsen, rtol=RTOL)
    np.testing.assert_allclose(get_r_from_lor(x.beta, x.eaf, x.ncase, x.ncontrol, x.prevalence),
                               x.r_lor, rtol=RTOL)
    np.testing.assert_allclose(get_r_from_lor(x.beta, x.eaf, x.ncase, x.ncontrol, x.prevalence,
                                              model="probit", correction=True), x.r_lor_probit, rtol=RTOL)
    prop = x.ncase / (x.ncase + x.ncontrol)
    np.testing.assert_allclose(get_population_allele_frequency(x.eaf, prop, np.exp(x.beta), x.prevalence),
                               x.popaf, rtol=RTOL)
    np.testing.assert_allclose(effective_n(x.ncase, x.ncontrol), x.effective_n, rtol=RTOL)
    with pytest.raises(InputError, match="model must be"):
        get_r_from_lor(x.beta, x.eaf, x.ncase, x.ncontrol, x.prevalence, model="cloglog")


def _rsq_input(units, prev=True):
    x = read_r_csv(IO / "rsq_cases_input.csv")
    d = pd.DataFrame({"SNP": x.SNP, "beta.exposure": x.beta, "se.exposure": x.se, "eaf.exposure": x.eaf,
                      "pval.exposure": x.pval, "samplesize.exposure": x.samplesize,
                      "ncase.exposure": x.ncase, "ncontrol.exposure": x.ncontrol,
                      "id.exposure": "e1", "exposure": "trait", "units.exposure": units})
    if prev:
        d["prevalence.exposure"] = x.prevalence
    return d


@pytest.mark.parametrize("units, prev, ref", [("log odds", True, "logodds"), ("log odds", False, "logodds_noprev"),
                                              ("SD", True, "sd"), ("mmol/L", True, "other")])
def test_add_rsq_branches_equal_twosamplemr(units, prev, ref):
    """``add_rsq``'s three branches: log odds (liability r^2 via get_r_from_lor, effective n from
    cases/controls; prevalence 0.1 assumed with a warning when absent), SD units (2 b^2 f (1-f)),
    other units (get_r_from_bsen^2).  Columns and values as R's, 1e-10 (measured ~1e-15)."""
    d = _rsq_input(units, prev)
    if not prev:
        with pytest.warns(UserWarning, match="Assuming exposure prevalence of 0.1"):
            got = add_rsq(d)
    else:
        got = add_rsq(d)
    _compare(got, read_r_csv(IO / f"tsmr_add_rsq_{ref}.csv"))


def test_add_rsq_refuses_two_units_per_id():
    d = _rsq_input("SD")
    d.loc[0, "units.exposure"] = "mmol/L"
    with pytest.raises(InputError, match="several units"):
        add_rsq(d)


# --------------------------------------------------------------------------- Steiger
@pytest.mark.parametrize("dataset, folder", [("real_tsmr_bmi_chd", IO / "real_tsmr_bmi_chd"),
                                             ("syn_n30_outliers", IO / "syn_n30_outliers")])
def test_steiger_filtering_equals_twosamplemr(dataset, folder):
    """``steiger_filtering(dat)`` on TwoSampleMR's harmonised data: every column (units NA,
    rsq.*, effective_n.*, steiger_dir, steiger_pval) in TwoSampleMR's order; 1e-10 relative
    (measured: rsq 5e-15, steiger_pval 3e-13)."""
    dat = read_r_csv(MR / dataset / "input_harmonised.csv")
    got = steiger_filtering(dat)
    ref = read_r_csv(folder / "tsmr_steiger_filtering.csv")
    _compare(got, ref)


@pytest.mark.parametrize("dataset", ["real_tsmr_bmi_chd", "syn_n30_outliers"])
def test_directionality_test_with_fixed_r_equals_twosamplemr(dataset):
    """``directionality_test`` fed ``r.exposure``/``r.outcome`` from the fixed
    :func:`get_r_from_pn` equals ``tsmr_directionality_test.csv`` to 1e-6 relative (measured:
    r^2 sums 1e-13, Steiger p 1e-10; the previous n - 2 quantile was 2e-4..1.3e-3 off).
    sensitivity.directionality_test itself still uses its own get_r_from_pn until the lead
    switches it to this one."""
    dat = read_r_csv(MR / dataset / "input_harmonised.csv")
    for side in ("exposure", "outcome"):
        dat[f"r.{side}"] = get_r_from_pn(dat[f"pval.{side}"], dat[f"samplesize.{side}"])
    got = directionality_test(dat)
    ref = read_r_csv(MR / dataset / "tsmr_directionality_test.csv")
    for c in ("snp_r2.exposure", "snp_r2.outcome"):
        np.testing.assert_allclose(got[c], ref[c], rtol=1e-6)
    assert list(got["correct_causal_direction"]) == list(ref["correct_causal_direction"])
    if ref["steiger_pval"].iloc[0] > 0:
        np.testing.assert_allclose(got["steiger_pval"], ref["steiger_pval"], rtol=1e-6)
    else:
        assert got["steiger_pval"].iloc[0] == 0


def _sim_pairs(reps, n, r_x, r_y, seed):
    """Per replicate one SNP with true correlation r_x with X (sample 1) and r_y with Y
    (sample 2, independent); OLS b, se from the individual data."""
    g = np.random.default_rng(seed)
    out = {}
    for side, r in (("exposure", r_x), ("outcome", r_y)):
        geno = g.binomial(2, 0.3, size=(reps, n)).astype(float)
        gs = (geno - geno.mean(1, keepdims=True)) / geno.std(1, keepdims=True)
        y = r * gs + np.sqrt(1 - r * r) * g.standard_normal((reps, n))
        gc = geno - geno.mean(1, keepdims=True)
        yc = y - y.mean(1, keepdims=True)
        b = (gc * yc).sum(1) / (gc * gc).sum(1)
        resid = yc - b[:, None] * gc
        se = np.sqrt((resid ** 2).sum(1) / (n - 2) / (gc * gc).sum(1))
        out[f"beta.{side}"], out[f"se.{side}"] = b, se
        out[f"samplesize.{side}"] = np.full(reps, n)
        out[f"pval.{side}"] = np.full(reps, 0.5)
    d = pd.DataFrame(out)
    d["SNP"] = [f"rs{i}" for i in range(reps)]
    return d


def test_steiger_pval_type_one_error_under_equal_variance_explained():
    """Null simulation (r_X = r_Y = 0.1, n = 1000 each, 2000 SNPs): the per-SNP Steiger
    p-value rejects at 5 % within the binomial 99.9 % band; and with r_X = 0.2 it has power."""
    d = _sim_pairs(2000, 1000, 0.1, 0.1, seed=11)
    p = steiger_filtering(d)["steiger_pval"].to_numpy()
    rate = np.mean(p < 0.05)
    half = 3.29 * np.sqrt(0.05 * 0.95 / 2000)
    assert abs(rate - 0.05) < half, rate
    d1 = _sim_pairs(300, 1000, 0.2, 0.05, seed=12)
    s1 = steiger_filtering(d1)
    assert np.mean(s1["steiger_pval"] < 0.05) > 0.8 and s1["steiger_dir"].mean() > 0.95


# --------------------------------------------------------------------------- F statistics
def test_instrument_f_against_individual_level_first_stage():
    """Per-SNP F = (b/se)^2 equals the F of the single-SNP first-stage regression (t^2, exact);
    overall_F from summary data approximates the joint first-stage F on all K independent SNPs
    (Pierce et al. 2011), here within 5 %; mean_F is the mean per-SNP F."""
    g = np.random.default_rng(5)
    n, k = 4000, 8
    geno = g.binomial(2, g.uniform(0.1, 0.5, k), size=(n, k)).astype(float)
    x = geno @ g.uniform(0.05, 0.12, k) + g.standard_normal(n)
    rows, xc = [], x - x.mean()
    for j in range(k):
        gc = geno[:, j] - geno[:, j].mean()
        b = gc @ xc / (gc @ gc)
        se = np.sqrt(np.sum((xc - b * gc) ** 2) / (n - 2) / (gc @ gc))
        rows.append({"SNP": f"rs{j}", "beta.exposure": b, "se.exposure": se, "samplesize.exposure": n})
    d = pd.DataFrame(rows)
    # joint first-stage F from the individual data
    X = np.column_stack([np.ones(n), geno])
    coef, rss, *_ = np.linalg.lstsq(X, x, rcond=None)
    tss = np.sum(xc ** 2)
    f_joint = ((tss - rss[0]) / k) / (rss[0] / (n - k - 1))
    per = instrument_f(d, per_snp=True)
    for j in range(k):
        gc = geno[:, j] - geno[:, j].mean()
        b = gc @ xc / (gc @ gc)
        rss1 = np.sum((xc - b * gc) ** 2)
        f1 = (tss - rss1) / (rss1 / (n - 2))
        assert per["F"].iloc[j] == pytest.approx(f1, rel=1e-10)
    s = instrument_f(d).iloc[0]
    assert s["nsnp"] == k and s["mean_F"] == pytest.approx(per["F"].mean(), rel=1e-14)
    assert s["overall_F"] == pytest.approx(f_joint, rel=0.05)
    assert s["n_weak"] == int((per["F"] < 10).sum())


def test_instrument_f_reports_unusable_snps_and_uses_mr_keep():
    dat = read_r_csv(MR / "real_tsmr_bmi_chd" / "input_harmonised.csv")
    dat.loc[0, "se.exposure"] = 0.0
    s = instrument_f(dat).iloc[0]
    assert s["nsnp"] == int(dat["mr_keep"].sum()) - 1
    assert s["excluded"].startswith(f"{dat.SNP[0]}: se.exposure missing, <= 0 or infinite")
    per = instrument_f(dat, per_snp=True)
    assert np.isnan(per["F"].iloc[0]) and per["excluded"].iloc[0] != ""
    with pytest.raises(InputError, match="instrument_f needs columns"):
        instrument_f(dat.drop(columns="se.exposure"))
