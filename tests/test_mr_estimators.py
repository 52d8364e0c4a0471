"""Parity of :func:`radiogenomics.mr.estimators.mr` with TwoSampleMR 0.7.9 ``mr()``.

References (tests/data/mr/, copied from the project's shared refdata): ``tsmr_mr_all_methods.csv``
(``set.seed(20240917); mr(dat, method_list = m)`` per method), ``tsmr_mr_default.csv``,
``tsmr_mr_mode_all.csv`` and ``tsmr_mr_stochastic_5seeds_spread.csv`` (mean/sd/min/max of each
bootstrap quantity over R seeds 20240917..20240921), on the harmonised ``mr_keep`` rows of
``input_harmonised.csv``.

* Deterministic numbers (IVW variants, Egger b/se/p, Wald ratio, median and mode point
  estimates) must agree to 1e-6 relative (they agree to ~1e-14).
* Bootstrap numbers (median/mode SEs, Egger-bootstrap b and SE) cannot match R's RNG stream.
  Each Python SE (nboot = 1000, fixed seed) must lie within ``5 * max(sd_5, 0.03 * mean_5)`` of
  the 5-seed R mean, where ``sd_5`` is the 5-seed R standard deviation and the 3 % floor is the
  Monte-Carlo relative error of an SD/MAD estimated from 1000 draws (~1/sqrt(2000) = 2.2 % for
  an SD, ~3.5 % for a MAD) -- a 5-seed SD can itself be small by chance.  The Egger-bootstrap
  slope mean must lie within ``5 * max(b_sd_5, se / sqrt(1000))`` of the R mean.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics.mr import estimators
from radiogenomics.mr.estimators import DEFAULT_METHODS, METHODS, mr

DATA = Path(__file__).parent / "data" / "mr"
FULL = ["real_lipids_ldl_chd", "syn_n100_clean", "real_tsmr_bmi_chd", "syn_n10_clean_harm"]
EDGE = ["edge_real_lipids_ldl_chd_first2snp", "edge_real_lipids_ldl_chd_first3snp",
        "edge_syn_n10_clean_harm_first3snp"]
STOCHASTIC_SE = {"MR Egger (bootstrap)", "Simple median", "Weighted median",
                 "Penalised weighted median", "Simple mode", "Weighted mode",
                 "Simple mode (NOME)", "Weighted mode (NOME)"}


def _run(dataset, rng=20240917):
    d = DATA / dataset
    dat = pd.read_csv(d / "input_harmonised.csv")
    ref = pd.read_csv(d / "tsmr_mr_all_methods.csv")
    # the methods of radiogenomics.mr._tsmr_methods are checked in tests/test_mr_tsmr_methods.py
    keep = ref["method_obj"].isin(METHODS) & ~ref["method_obj"].isin(estimators._EXTRA)
    ref = ref[keep].reset_index(drop=True)
    got = mr(dat, method_list=list(ref["method_obj"]), rng=rng)
    return got, ref


@pytest.mark.parametrize("dataset", FULL + EDGE)
def test_deterministic_parity(dataset):
    got, ref = _run(dataset)
    assert list(got["method"]) == list(ref["method"])        # same names, same rows kept
    assert list(got["nsnp"]) == list(ref["nsnp"].astype(int))
    for c in ["id.exposure", "id.outcome", "outcome", "exposure"]:
        assert list(got[c]) == list(ref[c])
    boot_b = got["method"] == "MR Egger (bootstrap)"
    np.testing.assert_allclose(got.loc[~boot_b, "b"], ref.loc[~boot_b, "b"], rtol=1e-6)
    det = ~got["method"].isin(STOCHASTIC_SE)
    np.testing.assert_allclose(got.loc[det, "se"], ref.loc[det, "se"], rtol=1e-6)
    np.testing.assert_allclose(got.loc[det, "pval"], ref.loc[det, "pval"], rtol=1e-6)


@pytest.mark.parametrize("dataset", FULL)
def test_bootstrap_within_monte_carlo_error(dataset):
    got, _ = _run(dataset)
    spread = pd.read_csv(DATA / dataset / "tsmr_mr_stochastic_5seeds_spread.csv").set_index("method")
    got = got.set_index("method")
    for method in STOCHASTIC_SE:
        s = spread.loc[method]
        tol = 5 * max(s["se_sd"], 0.03 * s["se_mean"])
        assert abs(got.loc[method, "se"] - s["se_mean"]) <= tol, method
    s = spread.loc["MR Egger (bootstrap)"]
    tol = 5 * max(s["b_sd"], s["se_mean"] / np.sqrt(1000))   # MC error of a mean of 1000 slopes
    assert abs(got.loc["MR Egger (bootstrap)", "b"] - s["b_mean"]) <= tol


@pytest.mark.parametrize("dataset", ["real_lipids_ldl_chd", "syn_n100_clean"])
def test_penalised_mode(dataset):
    """The penalised mode (``mr_mode(..., "all")`` only): point estimate exact, SE in MC error."""
    dat = pd.read_csv(DATA / dataset / "input_harmonised.csv")
    ref = pd.read_csv(DATA / dataset / "tsmr_mr_mode_all.csv").set_index("method")
    spread = pd.read_csv(DATA / dataset / "tsmr_mr_stochastic_5seeds_spread.csv").set_index("method")
    cols = ["beta.exposure", "beta.outcome", "se.exposure", "se.outcome"]
    bx, by, sx, sy = (dat.loc[dat.mr_keep, c].to_numpy(float) for c in cols)
    res = estimators._Modes(bx, by, sx, sy, 1000, np.random.default_rng(5))
    for method in ref.index:
        assert res[method][0] == pytest.approx(ref.loc[method, "b"], rel=1e-6)
        s = spread.loc[method]
        assert abs(res[method][1] - s["se_mean"]) <= 5 * max(s["se_sd"], 0.03 * s["se_mean"])


def test_default_methods_and_wald_ratio():
    dat = pd.read_csv(DATA / "real_lipids_ldl_chd" / "input_harmonised.csv")
    got = mr(dat, rng=1)
    assert list(got["method"]) == ["MR Egger", "Weighted median", "Inverse variance weighted",
                                   "Simple mode", "Weighted mode"]
    assert DEFAULT_METHODS[0] == "mr_wald_ratio"
    one = pd.read_csv(DATA / "edge_real_lipids_ldl_chd_first1snp" / "input_harmonised.csv")
    ref = pd.read_csv(DATA / "edge_real_lipids_ldl_chd_first1snp" / "tsmr_mr_default.csv")
    got1 = mr(one, rng=1)
    assert list(got1["method"]) == ["Wald ratio"]
    np.testing.assert_allclose(got1[["b", "se", "pval"]].to_numpy(),
                               ref[["b", "se", "pval"]].to_numpy(), rtol=1e-10)


def test_same_rng_same_result_and_snake_case():
    dat = pd.read_csv(DATA / "syn_n10_clean_harm" / "input_harmonised.csv")
    methods = list(METHODS)
    a = mr(dat, method_list=methods, rng=3)
    b = mr(dat, method_list=methods, rng=np.random.default_rng(3))
    pd.testing.assert_frame_equal(a, b)
    c = mr(dat, method_list=methods, rng=4)
    assert not np.allclose(a["se"], c["se"])
    snake = dat.rename(columns=lambda s: s.replace(".", "_") if s != "mr_keep" else s)
    pd.testing.assert_frame_equal(mr(snake, method_list=methods, rng=3), a)


def test_only_mr_keep_rows_used():
    dat = pd.read_csv(DATA / "syn_n10_clean_harm" / "input_harmonised.csv")
    got = mr(dat, method_list=["mr_ivw"])
    assert got["nsnp"].iloc[0] == dat["mr_keep"].sum() == 7
    kept = mr(dat[dat.mr_keep].drop(columns="mr_keep"), method_list=["mr_ivw"])
    assert got["b"].iloc[0] == kept["b"].iloc[0]


def test_weighted_median_definition():
    # r = 1..4 with equal weights: p = (0.125, 0.375, 0.625, 0.875) -> midpoint 2.5
    assert estimators.weighted_median(np.array([4.0, 1, 3, 2]), np.ones(4)) == pytest.approx(2.5)


def test_errors():
    dat = pd.read_csv(DATA / "syn_n10_clean_harm" / "input_harmonised.csv")
    with pytest.raises(ValueError, match="unknown MR method"):
        mr(dat, method_list=["mr_nope"])
    with pytest.raises(ValueError, match="run harmonise"):
        mr(dat.drop(columns="se.outcome"))
    with pytest.raises(ValueError, match="nboot"):
        mr(dat, nboot=1)
