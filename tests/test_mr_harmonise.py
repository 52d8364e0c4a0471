"""Parity of :func:`radiogenomics.mr.harmonise.harmonise` with TwoSampleMR 0.7.9 ``harmonise_data``.

References (tests/data/mr/, copied from the project's shared refdata): TwoSampleMR's own allele
truth table ``inst/extdata/alleles.txt`` run through ``harmonise_data(action = 1, 2, 3)``, and the
synthetic ``syn_n10_clean_harm`` set (swap, strand flips, inferable and ambiguous palindromes, an
incompatible SNP) plus the vignette BMI -> CHD and ``syn_n100_clean`` sets.  Alleles, flags and
``mr_keep`` must be identical, numbers equal to 1e-12 relative.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics.mr.harmonise import harmonise

DATA = Path(__file__).parent / "data" / "mr"
COLS = ["SNP", "effect_allele.exposure", "other_allele.exposure", "effect_allele.outcome",
        "other_allele.outcome", "beta.exposure", "beta.outcome", "eaf.exposure", "eaf.outcome",
        "remove", "palindromic", "ambiguous", "se.exposure", "se.outcome", "action", "mr_keep"]


def _compare(got, exp):
    assert list(got["SNP"]) == list(exp["SNP"])
    for c in COLS:
        g, e = got[c].to_numpy(), exp[c].to_numpy()
        if e.dtype.kind == "f":
            np.testing.assert_allclose(g.astype(float), e, rtol=1e-12, err_msg=c)
        else:
            assert list(g) == list(e), c


def _alleles_frames():
    t = pd.read_csv(DATA / "harmonise_alleles_testcases" / "input_alleles_txt.csv")
    exp = pd.DataFrame({"SNP": t.test, "effect_allele.exposure": t.A1, "other_allele.exposure": t.A2,
                        "beta.exposure": t.betaA.astype(float), "se.exposure": 0.1,
                        "eaf.exposure": t.fA, "id.exposure": "A", "exposure": "A"})
    out = pd.DataFrame({"SNP": t.test, "effect_allele.outcome": t.B1, "other_allele.outcome": t.B2,
                        "beta.outcome": t.betaB.astype(float), "se.outcome": 0.1,
                        "eaf.outcome": t.fB, "id.outcome": "B", "outcome": "B"})
    return exp, out, t


@pytest.mark.parametrize("action", [1, 2, 3])
def test_alleles_truth_table(action):
    exp, out, _ = _alleles_frames()
    got = harmonise(exp, out, action=action)
    ref = pd.read_csv(DATA / "harmonise_alleles_testcases" / f"tsmr_harmonise_action{action}.csv")
    _compare(got, ref)


def test_alleles_truth_table_expected_signs_and_reasons():
    exp, out, t = _alleles_frames()
    got = harmonise(exp, out, action=2).set_index("SNP")
    keep = got["mr_keep"]
    assert sorted(got.index[~keep]) == ["c", "f", "g"]
    sign = np.sign(got.loc[keep, "beta.outcome"])
    expected = t.set_index("test").loc[keep[keep].index, "expected_betaB_sign"]
    assert (sign == expected).all()
    assert got.loc["c", "mr_keep_reason"] == "incompatible alleles"
    assert got.loc["f", "mr_keep_reason"] == "palindromic with intermediate allele frequency"
    assert (got.loc[keep, "mr_keep_reason"] == "").all()
    got3 = harmonise(exp, out, action=3).set_index("SNP")
    assert got3.loc["e", "mr_keep_reason"] == "palindromic (action = 3)"


@pytest.mark.parametrize("dataset", ["syn_n10_clean_harm", "real_tsmr_bmi_chd", "syn_n100_clean"])
@pytest.mark.parametrize("action", [1, 2, 3])
def test_datasets(dataset, action):
    d = DATA / dataset
    exp = pd.read_csv(d / "input_exposure_dat.csv")
    out = pd.read_csv(d / "input_outcome_dat.csv")
    got = harmonise(exp, out, action=action)
    name = "input_harmonised.csv" if action == 2 else f"tsmr_harmonise_action{action}.csv"
    _compare(got, pd.read_csv(d / name))


def test_syn_n10_counts_and_snake_case():
    d = DATA / "syn_n10_clean_harm"
    exp = pd.read_csv(d / "input_exposure_dat.csv")
    out = pd.read_csv(d / "input_outcome_dat.csv")
    snake = lambda df: df.rename(columns=lambda c: c.replace(".", "_"))  # noqa: E731
    got = harmonise(snake(exp), snake(out))
    assert got["mr_keep"].sum() == 7                       # TwoSampleMR log: total_variants_for_mr
    assert got["remove"].sum() == 1 and got["ambiguous"].sum() == 2
    _compare(got, pd.read_csv(d / "input_harmonised.csv"))


def test_errors():
    exp, out, _ = _alleles_frames()
    with pytest.raises(ValueError, match="action must be 1, 2 or 3"):
        harmonise(exp, out, action=4)
    with pytest.raises(ValueError, match="lack column"):
        harmonise(exp.drop(columns="other_allele.exposure"), out)
    with pytest.raises(ValueError, match="share no SNP"):
        harmonise(exp, out.assign(SNP="zz"))
