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
        harmonise(exp, out.assign(SNP=[f"zz{i}" for i in range(len(out))]))
    with pytest.raises(ValueError, match=r"more than once.*keep one row per SNP"):
        harmonise(exp, out.assign(SNP="zz"))


# ---------------------------------------------------------- issue 14: unusable SEs and NA text
def _summary(k=12, seed=2):
    g = np.random.default_rng(seed)
    snps = [f"rs{i}" for i in range(k)]
    bx = g.normal(0.1, 0.02, k)
    exp = pd.DataFrame({"SNP": snps, "beta.exposure": bx, "se.exposure": g.uniform(0.005, 0.01, k),
                        "effect_allele.exposure": "A", "other_allele.exposure": "G",
                        "eaf.exposure": 0.3})
    out = pd.DataFrame({"SNP": snps, "beta.outcome": 0.3 * bx + g.normal(0, 0.01, k),
                        "se.outcome": g.uniform(0.005, 0.01, k),
                        "effect_allele.outcome": "A", "other_allele.outcome": "G",
                        "eaf.outcome": 0.3})
    return exp, out


@pytest.mark.parametrize("side, value, reason", [
    ("exposure", 0.0, "se.exposure <= 0 or infinite"),
    ("exposure", -0.01, "se.exposure <= 0 or infinite"),
    ("outcome", 0.0, "se.outcome <= 0 or infinite"),
    ("outcome", np.inf, "se.outcome <= 0 or infinite"),
    ("outcome", "NA", "missing se.outcome"),
    ("exposure", "", "missing se.exposure"),
    ("outcome", "NaN", "missing se.outcome"),
    ("exposure", "na", "missing se.exposure"),
    ("outcome", 1e-200, "se.outcome too small (1/se^2 overflows)"),   # was ZeroDivisionError
])
def test_unusable_se_gets_mr_keep_false_with_reason(side, value, reason):
    """se <= 0 used to give estimates silently (exposure), numpy's 'scale < 0' or a
    ZeroDivisionError (outcome); text "NA" crashed.  Now the SNP is excluded with its reason
    and the estimate equals the one without that SNP."""
    from radiogenomics.mr import mr

    exp, out = _summary()
    df = exp if side == "exposure" else out
    df[f"se.{side}"] = df[f"se.{side}"].astype(object)
    df.loc[3, f"se.{side}"] = value
    dat = harmonise(exp, out)
    row = dat.set_index("SNP").loc["rs3"]
    assert not row["mr_keep"] and row["mr_keep_reason"] == reason
    assert dat["mr_keep"].sum() == 11
    got = mr(dat, method_list=["mr_ivw", "mr_egger_regression"])
    e2, o2 = _summary()
    ref = mr(harmonise(e2.drop(index=3), o2.drop(index=3)), method_list=["mr_ivw", "mr_egger_regression"])
    np.testing.assert_allclose(got["b"], ref["b"], rtol=1e-12)
    np.testing.assert_allclose(got["se"], ref["se"], rtol=1e-12)
    assert (got["nsnp"] == 11).all()


def test_text_that_is_not_a_number_is_refused_naming_snp_and_column():
    exp, out = _summary()
    out["se.outcome"] = out["se.outcome"].astype(object)
    out.loc[5, "se.outcome"] = "0,01"
    with pytest.raises(ValueError, match=r"'se.outcome'.*'rs5'.*'0,01'"):
        harmonise(exp, out)


def test_unharmonised_frame_with_zero_se_warns_and_excludes():
    """mr() on a frame without mr_keep (not from harmonise) names the excluded SNP."""
    from radiogenomics.mr import mr

    exp, out = _summary()
    dat = exp.merge(out, on="SNP")
    dat.loc[2, "se.outcome"] = 0.0
    with pytest.warns(UserWarning, match=r"rs2: se.outcome <= 0"):
        res = mr(dat, method_list=["mr_ivw"])
    assert np.isfinite(res["b"]).all() and res["nsnp"].iloc[0] == 11


@pytest.mark.parametrize("func", ["mr", "mr_heterogeneity", "mr_pleiotropy_test", "mr_leaveoneout",
                                  "mr_singlesnp", "mr_presso"])
def test_missing_columns_named_with_accepted_spellings(func):
    """Every summary-level entry point goes through _checks.check_columns: the missing column
    is named with both accepted spellings (dotted and snake_case)."""
    import radiogenomics.mr as M
    from radiogenomics._checks import InputError

    exp, out = _summary()
    dat = harmonise(exp, out).drop(columns="se.outcome")
    with pytest.raises(InputError, match=r"lacks column\(s\) 'se.outcome'.*'se.outcome' or 'se_outcome'"):
        getattr(M, func)(dat)


def test_prepare_harmonised_is_public():
    from radiogenomics.mr import prepare_harmonised
    from radiogenomics.mr._core import prepare_harmonised as private

    assert prepare_harmonised is private


# ------------------------------------------- issue 19: indels, 2-1 / 1-2 / 1-1 cases, "NR" eaf
IO = DATA / "io"


def _cases_frames():
    t = pd.read_csv(IO / "harmonise_cases_input.csv", dtype={"fB": str}, keep_default_na=False,
                    na_values=["NA"])
    exp = pd.DataFrame({"SNP": t.SNP, "effect_allele.exposure": t.A1, "other_allele.exposure": t.A2,
                        "beta.exposure": t.betaA, "se.exposure": 0.01, "eaf.exposure": t.fA,
                        "id.exposure": "A", "exposure": "A"})
    out = pd.DataFrame({"SNP": t.SNP, "effect_allele.outcome": t.B1, "other_allele.outcome": t.B2,
                        "beta.outcome": t.betaB, "se.outcome": 0.02, "eaf.outcome": t.fB,
                        "id.outcome": "B", "outcome": "B"})
    return exp, out, t


def _same(g, e):
    norm = lambda v: "NA" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)  # noqa: E731
    return [norm(x) for x in g] == [norm(x) for x in e]


@pytest.mark.parametrize("action", [1, 2, 3])
def test_indels_and_one_allele_cases_equal_twosamplemr(action):
    """Indel recoding (``recode_indels_22/21/12``), the 2-1, 1-2 and 1-1 allele cases
    (``harmonise_21/12/11``) and "NR"/lower-case cleanup (``harmonise_cleanup_variables``).

    The reference ``tsmr_harmonise_cases_action{1,2,3}.csv`` is TwoSampleMR 0.7.9's own
    ``R/harmonise.R`` (sourced unchanged in R 4.2.2, see tests/data/mr/io/README.md) run on the
    37 crafted SNPs of ``harmonise_cases_input.csv`` (its ``note`` column says what each tests:
    I/D recoded from the other side's sequences, equal-length sequences against I/D removed,
    2-1 matches/swaps kept only when both frequencies are on the right side of (0.42, 0.58),
    palindromes removed when one allele is missing, the 1-2 case re-coding the exposure, 1-1
    mismatches removed, ...).  Alleles, flags and ``mr_keep`` identical; numbers to 1e-12."""
    exp, out, t = _cases_frames()
    assert set(t["case"]) == {"2-2", "2-1", "1-2", "1-1"}
    got = harmonise(exp, out, action=action)
    ref = pd.read_csv(IO / f"tsmr_harmonise_cases_action{action}.csv", keep_default_na=False,
                      na_values=["NA"])
    assert list(got["SNP"]) == list(ref["SNP"])
    for c in COLS[:12] + ["mr_keep"]:
        g, e = got[c].to_numpy(), ref[c].to_numpy()
        if e.dtype.kind == "f":
            np.testing.assert_allclose(g.astype(float), e, rtol=1e-12, equal_nan=True, err_msg=c)
        else:
            assert _same(g, e), (c, [(s, x, y) for s, x, y in zip(ref.SNP, g, e) if str(x) != str(y)])
    # every excluded SNP has a reason, kept ones none
    assert (got.loc[~got["mr_keep"], "mr_keep_reason"] != "").all()
    assert (got.loc[got["mr_keep"], "mr_keep_reason"] == "").all()


def test_one_allele_reasons():
    exp, out, _ = _cases_frames()
    got = harmonise(exp, out, action=2).set_index("SNP")
    assert got.loc["t06", "mr_keep_reason"] == "palindromic with only one allele given on one side"
    assert got.loc["t02", "mr_keep_reason"].startswith("only one allele given on one side")
    assert got.loc["i06", "mr_keep_reason"].startswith("indel alleles cannot be matched")
    assert got.loc["u03", "mr_keep_reason"].startswith("incompatible alleles")
    assert got.loc["n01", "mr_keep_reason"] == "palindromic with intermediate allele frequency"
    # the 1-2 case re-codes the exposure: o02 had effect allele G with beta 0.1
    assert got.loc["o02", "effect_allele.exposure"] == "A" and got.loc["o02", "beta.exposure"] == -0.1


def test_missing_effect_allele_is_kept_and_reported():
    """TwoSampleMR drops a SNP without an effect allele silently; here it stays, excluded."""
    exp, out = _summary(k=5)
    exp["effect_allele.exposure"] = exp["effect_allele.exposure"].astype(object)
    exp.loc[2, "effect_allele.exposure"] = np.nan
    got = harmonise(exp, out).set_index("SNP")
    assert len(got) == 5
    assert not got.loc["rs2", "mr_keep"] and got.loc["rs2", "remove"]
    assert got.loc["rs2", "mr_keep_reason"].startswith("missing effect allele")
    assert got["mr_keep"].sum() == 4


def test_eaf_text_read_as_missing_with_warning():
    """TwoSampleMR's ``as.numeric`` turns eaf text into NA; "NR" silently (its documented
    code for not reported), other text with a warning naming the SNP."""
    exp, out = _summary(k=5)
    out["eaf.outcome"] = out["eaf.outcome"].astype(object)
    out.loc[1, "eaf.outcome"] = "NR"
    with pytest.warns(UserWarning, match=r"eaf.exposure holds text.*'rs3'.*'about 0.3'"):
        exp["eaf.exposure"] = exp["eaf.exposure"].astype(object)
        exp.loc[3, "eaf.exposure"] = "about 0.3"
        got = harmonise(exp, out).set_index("SNP")
    assert np.isnan(got.loc["rs1", "eaf.outcome"]) and np.isnan(got.loc["rs3", "eaf.exposure"])
    assert got["mr_keep"].all()          # A/G SNPs: frequencies not needed
