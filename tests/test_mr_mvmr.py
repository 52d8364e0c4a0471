"""Multivariable MR against MendelianRandomization 0.10.0 and TwoSampleMR 0.7.9 (lipids -> CHD).

References (tests/data/mr/, copied from the project's shared refdata ``mr/expected/mv_lipids_chd``):
``mr_mvivw`` default / fixed / random and ``mr_mvegger`` orientate 1 / 2, and TwoSampleMR's
``mv_multiple`` (default threshold 5e-8 and ``pval_threshold = 1``), ``mv_ivw`` and ``mv_basic``
(``pval_threshold = 1``).  Tolerance 1e-6 relative (they agree to ~1e-12).  The refdata built
TwoSampleMR's ``mvdat`` by hand from the lipid vectors; its exposure p-values are
2 * Phi(-|b / se|): that reproduces ``mv_multiple_default``'s nsnp (7 / 10 / 10).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics.mr.mvmr import mr_mvegger, mr_mvivw, mv_basic, mv_ivw, mv_multiple

DATA = Path(__file__).parent / "data" / "mr"


@pytest.fixture(scope="module")
def lipids():
    d = pd.read_csv(DATA / "mv_lipids_chd_input.csv")
    return d[["ldl", "hdl", "tg"]], d["chdlodds"], d["chdloddsse"]


@pytest.fixture(scope="module")
def ref():
    return json.loads((DATA / "mv_lipids_chd_mrpkg.json").read_text())


@pytest.mark.parametrize("key, model", [("mvivw_default", "random"), ("mvivw_fixed", "fixed"),
                                        ("mvivw_random", "random")])
def test_mvivw_equals_mendelianrandomization(lipids, ref, key, model):
    out = mr_mvivw(*lipids, model=model)
    r = ref[key]
    np.testing.assert_allclose(out["b"], r["Estimate"], rtol=1e-6)
    np.testing.assert_allclose(out["se"], r["StdError"], rtol=1e-6)
    np.testing.assert_allclose(out["pval"], r["Pvalue"], rtol=1e-6)
    assert out.attrs["rse"] == pytest.approx(r["RSE"], rel=1e-6)
    assert [out.attrs["Q"], out.attrs["Q_pval"]] == pytest.approx(r["Heter.Stat"], rel=1e-6)
    assert (out["nsnp"] == r["SNPs"]).all()


@pytest.mark.parametrize("orientate", [1, 2])
def test_mvegger_equals_mendelianrandomization(lipids, ref, orientate):
    out = mr_mvegger(*lipids, orientate=orientate)
    r = ref[f"mvegger_orientate{orientate}"]
    est = out.iloc[:3]
    np.testing.assert_allclose(est["b"], r["Estimate"], rtol=1e-6)
    np.testing.assert_allclose(est["se"], r["StdError.Est"], rtol=1e-6)
    np.testing.assert_allclose(est["pval"], r["Pvalue.Est"], rtol=1e-6)
    icpt = out.iloc[3]
    assert icpt["exposure"] == "(intercept)"
    assert [icpt["b"], icpt["se"], icpt["pval"]] == pytest.approx(
        [r["Intercept"], r["StdError.Int"], r["Pvalue.Int"]], rel=1e-6)
    assert out.attrs["rse"] == pytest.approx(r["RSE"], rel=1e-6)


def test_mvivw_equals_twosamplemr_mv_multiple(lipids):
    tsmr = pd.DataFrame(json.loads((DATA / "mv_lipids_chd_tsmr.json").read_text())["mv_multiple_pval1"])
    out = mr_mvivw(*lipids, exposures=["LDL-c", "HDL-c", "Triglycerides"]).set_index("exposure")
    tsmr = tsmr.set_index("exposure").loc[out.index]
    np.testing.assert_allclose(out["b"], tsmr["b"], rtol=1e-6)
    np.testing.assert_allclose(out["se"], tsmr["se"], rtol=1e-6)
    np.testing.assert_allclose(out["pval"], tsmr["pval"], rtol=1e-6)


def test_mvmr_input_errors(lipids):
    bx, by, sy = lipids
    with pytest.raises(ValueError, match="one row per SNP"):
        mr_mvivw(bx, by[:-1], sy)
    with pytest.raises(ValueError, match=r"SNP-outcome SEs\) must be positive"):
        mr_mvivw(bx, by, sy * 0)
    # issue 14: one bad SNP is named (was one generic message), text and NaN through _checks
    from radiogenomics._checks import InputError

    sy1 = np.array(sy, dtype=float).copy()
    sy1[2] = 0.0
    with pytest.raises(InputError, match=r"'2' have se <= 0"):
        mr_mvivw(bx, by, sy1)
    bxn = pd.DataFrame(np.array(bx, dtype=float)).copy()
    bxn.iloc[4, 1] = np.nan
    with pytest.raises(InputError, match=r"NaN|missing"):
        mr_mvivw(bxn, by, sy)
    bxt = pd.DataFrame(np.array(bx, dtype=float)).astype(object)
    bxt.iloc[1, 0] = "abc"
    with pytest.raises(InputError):
        mr_mvivw(bxt, by, sy)
    with pytest.raises(ValueError, match="orientate must be between 1 and 3"):
        mr_mvegger(bx, by, sy, orientate=4)
    with pytest.raises(ValueError, match="model must be"):
        mr_mvivw(bx, by, sy, model="mixed")


NAMES = ["LDL-c", "HDL-c", "Triglycerides"]


@pytest.fixture(scope="module")
def tsmr():
    raw = json.loads((DATA / "mv_lipids_chd_tsmr.json").read_text())
    return {k: pd.DataFrame(v).set_index("exposure").loc[NAMES] for k, v in raw.items()}


@pytest.fixture(scope="module")
def lipid_se():
    d = pd.read_csv(DATA / "mv_lipids_chd_input.csv")
    return d[["se.ldl", "se.hdl", "se.tg"]]


def _check(out, ref):
    out = out.set_index("exposure")
    np.testing.assert_allclose(out["b"], ref["b"], rtol=1e-6)
    np.testing.assert_allclose(out["se"], ref["se"], rtol=1e-6)
    np.testing.assert_allclose(out["pval"], ref["pval"], rtol=1e-6)
    assert (out["nsnp"].to_numpy() == ref["nsnp"].to_numpy()).all()


@pytest.mark.parametrize("key, fn, threshold", [
    ("mv_multiple_pval1", mv_multiple, 1.0), ("mv_multiple_default", mv_multiple, 5e-8),
    ("mv_ivw_pval1", mv_ivw, 1.0)])
def test_tsmr_mv_functions_equal_twosamplemr(lipids, lipid_se, tsmr, key, fn, threshold):
    _check(fn(*lipids, exposures=NAMES, se_exposure=lipid_se, pval_threshold=threshold), tsmr[key])


def test_mv_basic_equals_twosamplemr(lipids, tsmr):
    bx, by, _ = lipids
    _check(mv_basic(bx, by, exposures=NAMES, pval_threshold=1.0), tsmr["mv_basic_pval1"])


def test_mvivw_equals_mv_multiple_only_when_rse_at_least_one(lipids):
    """mv_multiple's SE is lm's (fixed-effect SE x RSE, unfloored): it equals mr_mvivw's
    random-effects SE when RSE >= 1 (lipids: 1.43) and is SMALLER when RSE < 1 (outcome SEs
    tripled here: RSE 0.48), where mr_mvivw floors the SE at the fixed-effect one."""
    bx, by, sy = lipids
    ivw = mr_mvivw(bx, by, sy)
    assert ivw.attrs["rse"] > 1
    np.testing.assert_allclose(mv_multiple(bx, by, sy, pval_threshold=1)["se"], ivw["se"], rtol=1e-12)
    sy3 = sy * 3
    ivw3 = mr_mvivw(bx, by, sy3)
    fixed3 = mr_mvivw(bx, by, sy3, model="fixed")
    mvm3 = mv_multiple(bx, by, sy3, pval_threshold=1)
    rse3 = ivw3.attrs["rse"]
    assert rse3 < 1
    np.testing.assert_allclose(ivw3["se"], fixed3["se"], rtol=1e-12)        # floored
    np.testing.assert_allclose(mvm3["se"], fixed3["se"] * rse3, rtol=1e-12)  # not floored
    assert (mvm3["se"] < ivw3["se"]).all()
    np.testing.assert_allclose(mvm3["b"], ivw3["b"], rtol=1e-12)


def test_tsmr_mv_options(lipids, lipid_se):
    bx, by, sy = lipids
    spec = mv_multiple(bx, by, sy, se_exposure=lipid_se, instrument_specific=True)
    assert spec["nsnp"].tolist() == [7, 10, 10] and np.isfinite(spec["b"]).all()
    # instrument-specific fit of LDL-c uses its 7 instruments only
    p = 2 * __import__("scipy").stats.norm.sf(np.abs(np.asarray(bx) / np.asarray(lipid_se)))
    sel = p[:, 0] < 5e-8
    sub = mv_multiple(np.asarray(bx)[sel], np.asarray(by)[sel], np.asarray(sy)[sel], pval_threshold=1)
    assert spec["b"].iloc[0] == pytest.approx(sub["b"].iloc[0], rel=1e-12)
    icpt = mv_multiple(bx, by, sy, pval_threshold=1, intercept=True)
    egger_like = mr_mvegger(bx, by, sy)          # mr_mvegger orients SNPs first: differs
    assert np.isfinite(icpt["b"]).all() and not np.allclose(icpt["b"], egger_like["b"].iloc[:3])
    with pytest.raises(ValueError, match="pval_exposure"):
        mv_multiple(bx, by, sy)
