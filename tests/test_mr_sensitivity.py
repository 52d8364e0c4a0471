"""MR sensitivity analyses against TwoSampleMR 0.7.9 (refdata copied into tests/data/mr/).

Datasets: LDL-c -> CHD (MendelianRandomization lipids, 28 SNPs), BMI -> CHD (TwoSampleMR
vignette, 79 SNPs), a synthetic set with 3 pleiotropic outliers (30 SNPs) and the first 2/3 SNPs
of BMI -> CHD (edge cases).  Deterministic outputs agree to 1e-6 relative (measured: <1e-12).
The Steiger test's r comes from TwoSampleMR's ``qf(p, 1, n - 1, lower.tail = FALSE)``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics.mr.sensitivity import (
    directionality_test, get_r_from_bsen, get_r_from_pn, instrument_strength, isq_gx,
    mr_heterogeneity, mr_leaveoneout, mr_pleiotropy_test, mr_singlesnp,
)

DATA = Path(__file__).parent / "data" / "mr"
DATASETS = ["real_lipids_ldl_chd", "real_tsmr_bmi_chd", "syn_n30_outliers"]
RTOL = 1e-6


def _dat(ds):
    return pd.read_csv(DATA / ds / "input_harmonised.csv")


def _assert_frame(ours: pd.DataFrame, ref: pd.DataFrame):
    assert list(ours.columns) == list(ref.columns)
    assert len(ours) == len(ref)
    for c in ref.columns:
        if ref[c].dtype.kind in "fi" or ref[c].isna().all():
            np.testing.assert_allclose(ours[c].to_numpy(float), ref[c].to_numpy(float),
                                       rtol=RTOL, atol=0, equal_nan=True, err_msg=c)
        else:
            assert ours[c].astype(str).tolist() == ref[c].astype(str).tolist(), c


@pytest.mark.parametrize("ds", DATASETS + ["edge_real_tsmr_bmi_chd_first2snp",
                                           "edge_real_tsmr_bmi_chd_first3snp"])
def test_heterogeneity_and_pleiotropy_match_twosamplemr(ds):
    dat = _dat(ds)
    _assert_frame(mr_heterogeneity(dat), pd.read_csv(DATA / ds / "tsmr_heterogeneity_default.csv"))
    _assert_frame(mr_pleiotropy_test(dat), pd.read_csv(DATA / ds / "tsmr_pleiotropy_test.csv"))


@pytest.mark.parametrize("ds", DATASETS)
@pytest.mark.parametrize("method", ["ivw", "egger"])
def test_leaveoneout_matches_twosamplemr(ds, method):
    ref = pd.read_csv(DATA / ds / f"tsmr_leaveoneout_{method}.csv")
    out = mr_leaveoneout(_dat(ds), method=method)
    _assert_frame(out, ref)
    assert out["SNP"].iloc[-1] == "All"


@pytest.mark.parametrize("ds", DATASETS)
def test_singlesnp_matches_twosamplemr(ds):
    out = mr_singlesnp(_dat(ds))
    _assert_frame(out, pd.read_csv(DATA / ds / "tsmr_singlesnp.csv"))
    assert out["SNP"].iloc[-2:].tolist() == ["All - Inverse variance weighted", "All - MR Egger"]


@pytest.mark.parametrize("ds", DATASETS)
def test_isq_gx_matches_twosamplemr(ds):
    ref = json.loads((DATA / ds / "tsmr_isq_gx.json").read_text())
    dat = _dat(ds)
    assert isq_gx(dat) == pytest.approx(ref["Isq_abs_beta"], rel=RTOL)
    assert isq_gx(dat, absolute=False) == pytest.approx(ref["Isq_signed_beta"], rel=RTOL)
    d = dat[dat["mr_keep"]]
    assert isq_gx(bx=d["beta.exposure"], sx=d["se.exposure"]) == pytest.approx(ref["Isq_abs_beta"])
    assert np.isnan(isq_gx(bx=[0.1], sx=[0.01]))


@pytest.mark.parametrize("ds", ["real_tsmr_bmi_chd", "syn_n30_outliers"])
def test_directionality_test(ds):
    """Summed r^2 to 1e-6 relative (exposure p-values down to 1e-158), the p-value to 1e-6
    relative (on the log scale when it underflows towards 0).

    An earlier version used ``qf(p, 1, n - 2)`` and was 2e-4 to 1.3e-3 off; TwoSampleMR uses
    ``n - 1`` degrees of freedom in the quantile and ``n - 2`` in ``r^2 = F / (n - 2 + F)``.
    """
    ref = pd.read_csv(DATA / ds / "tsmr_directionality_test.csv")
    out = directionality_test(_dat(ds))
    assert list(out.columns) == list(ref.columns)
    assert out["correct_causal_direction"].tolist() == ref["correct_causal_direction"].tolist()
    np.testing.assert_allclose(out["snp_r2.outcome"], ref["snp_r2.outcome"], rtol=RTOL)
    np.testing.assert_allclose(out["snp_r2.exposure"], ref["snp_r2.exposure"], rtol=RTOL)
    p, pr = out["steiger_pval"].iloc[0], ref["steiger_pval"].iloc[0]
    if pr == 0:
        assert p < 1e-300
    else:
        assert p == pytest.approx(pr, rel=RTOL)


def test_directionality_outcome_r2_exact_on_bmi():
    ref = pd.read_csv(DATA / "real_tsmr_bmi_chd" / "tsmr_directionality_test.csv")
    out = directionality_test(_dat("real_tsmr_bmi_chd"))
    assert out["snp_r2.outcome"].iloc[0] == pytest.approx(ref["snp_r2.outcome"].iloc[0], rel=RTOL)


def test_directionality_uses_given_r():
    dat = _dat("real_tsmr_bmi_chd")
    r = dat.assign(**{"r.exposure": get_r_from_bsen(dat["beta.exposure"], dat["se.exposure"],
                                                    dat["samplesize.exposure"]),
                      "r.outcome": 0.001})
    out = directionality_test(r)
    assert out["snp_r2.outcome"].iloc[0] == pytest.approx(len(dat) * 1e-6)
    with pytest.raises(ValueError, match="samplesize.exposure"):
        directionality_test(dat.drop(columns=["samplesize.exposure"]))


def test_get_r_from_pn_inverts_f_test():
    from scipy import stats
    r = get_r_from_pn([1e-8, 0.5, 1e-320], [10000, 500, 300000])
    f = r**2 / (1 - r**2) * (np.array([10000, 500, 300000]) - 2)
    # TwoSampleMR: F = qf(p, 1, n - 1, lower.tail = FALSE), r^2 = F / (n - 2 + F)
    np.testing.assert_allclose(stats.f.sf(f[:2], 1, [9999, 499]), [1e-8, 0.5], rtol=1e-8)
    assert np.isfinite(r[2]) and 0 < r[2] < 1


def test_instrument_strength():
    dat = _dat("real_lipids_ldl_chd")
    out = instrument_strength(dat)
    f = (dat["beta.exposure"] / dat["se.exposure"]) ** 2
    np.testing.assert_allclose(out["F"].iloc[:-1], f, rtol=1e-12)
    assert out["SNP"].iloc[-1] == "Mean"
    assert out["F"].iloc[-1] == pytest.approx(f.mean())
    assert out.attrs["mean_F"][("LDL-c", "CHD (log odds)")] == pytest.approx(f.mean())
    assert out["weak"].iloc[:-1].tolist() == (f < 10).tolist()


def test_snake_case_and_mr_keep():
    dat = _dat("real_lipids_ldl_chd")
    snake = dat.rename(columns={"beta.exposure": "beta_exposure", "se.outcome": "se_outcome"})
    pd.testing.assert_frame_equal(mr_heterogeneity(snake), mr_heterogeneity(dat))
    dropped = dat.copy()
    dropped.loc[0, "mr_keep"] = False
    assert mr_leaveoneout(dropped).shape[0] == len(dat)   # 27 left-out rows + "All"
    pd.testing.assert_frame_equal(mr_pleiotropy_test(dropped), mr_pleiotropy_test(dat.iloc[1:]))


def test_errors_name_the_fix():
    dat = _dat("real_lipids_ldl_chd")
    with pytest.raises(ValueError, match="lacks column"):
        mr_heterogeneity(dat.drop(columns=["se.outcome"]))
    with pytest.raises(ValueError, match="method must be one of"):
        mr_leaveoneout(dat, method="median")
    with pytest.raises(TypeError, match="DataFrame"):
        mr_singlesnp(dat.to_numpy())
