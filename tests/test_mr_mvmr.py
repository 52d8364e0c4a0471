"""Multivariable MR against MendelianRandomization 0.10.0 and TwoSampleMR 0.7.9 (lipids -> CHD).

References (tests/data/mr/, copied from the project's shared refdata ``mr/expected/mv_lipids_chd``):
``mr_mvivw`` default / fixed / random and ``mr_mvegger`` orientate 1 / 2, and TwoSampleMR's
``mv_multiple(pval_threshold=1)``.  Tolerance 1e-6 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics.mr.mvmr import mr_mvegger, mr_mvivw

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
