"""GWAS summary-statistics input for MR (:mod:`radiogenomics.mr.io`): TwoSampleMR ``format_data``
parity, GWAS-VCF / GWAS-SSF readers and writers, genome-build and consistency checks.

References (tests/data/mr/io/README.md): TwoSampleMR 0.7.9's own ``R/read_data.R`` run in R 4.2.2 on
its ``inst/extdata`` files and on a crafted messy table (``tsmr_format_*.csv``); the project's
refdata ``input_exposure_dat.csv`` / ``input_outcome_dat.csv`` (TwoSampleMR ``format_data`` /
``extract_instruments`` outputs).  Text and ids compared exactly, numbers to 1e-12 relative.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _rframes import compare_frames, r_text, read_r_csv
from radiogenomics._checks import InputError
from radiogenomics.mr.harmonise import harmonise
from radiogenomics.mr.io import (check_builds, check_eaf_concordance, check_pvalues, format_data,
                                 normalise_build, read_gwas_ssf, read_gwas_vcf, report_table,
                                 write_gwas_ssf, write_gwas_vcf)

MR = Path(__file__).parent / "data" / "mr"
IO = MR / "io"


def _compare(got, ref, skip_ids=False, rtol=1e-12):
    compare_frames(got, ref, rtol=rtol, skip_ids=skip_ids)


def _read_ref(path):
    return read_r_csv(path)


def _same_partition(a, b):
    """Ids may differ (TwoSampleMR draws random ones) but must group rows the same way."""
    a, b = pd.Series(a).astype(str).to_numpy(), pd.Series(b).astype(str).to_numpy()
    pairs = set(zip(a, b))
    return len(pairs) == len(set(a)) == len(set(b))


# --------------------------------------------------------------------------- format_data parity
@pytest.mark.parametrize("name, type_", [("telomere_length", "exposure"), ("bmi", "exposure"),
                                          ("cardiogram", "outcome"), ("bladdercancer", "outcome")])
def test_read_data_files_equal_twosamplemr(name, type_):
    """``read_exposure_data`` / ``read_outcome_data`` on TwoSampleMR's extdata files: same
    columns in the same order, same values (p-values inferred where the file has none, units,
    gene, ``data_source = "textfile"``); ids only as a partition (R's are random)."""
    got = format_data(IO / f"tsmr_extdata_{name}.txt", type=type_)
    ref = _read_ref(IO / f"tsmr_format_{name}.csv")
    _compare(got, ref, skip_ids=True)
    assert _same_partition(got[f"id.{type_}"], ref[f"id.{type_}"])
    assert got.attrs["report"]["n_rows"] == len(ref)


def _cases():
    x = pd.read_csv(IO / "format_cases_input.csv", keep_default_na=False, na_values=["NA"])
    return x, dict(type="outcome", snp_col="rsid", phenotype_col="trait", beta_col="b",
                   se_col="stderr", eaf_col="freq", effect_allele_col="A1", other_allele_col="A2",
                   pval_col="p", samplesize_col="N", ncase_col="cases", ncontrol_col="controls",
                   units_col="unit", chr_col="chr", pos_col="bp")


def test_format_data_messy_input_equals_twosamplemr():
    """16 crafted rows: upper-case SNP id with a space, "NR" and out-of-range eaf (0, 1, 1.2),
    se 0 and < 0, infinite and text beta, p = 2 and p < min_pval, missing p inferred, invalid
    and missing alleles, I/D alleles, duplicated SNP per phenotype, missing SNP id, sample size
    from ncase + ncontrol, several units (appended to every phenotype as TwoSampleMR does)."""
    x, kw = _cases()
    got = format_data(x, **kw)
    ref = _read_ref(IO / "tsmr_format_cases.csv")
    _compare(got, ref, skip_ids=True)
    assert _same_partition(got["id.outcome"], ref["id.outcome"])
    # nothing silent: the dropped rows and every changed / excluded SNP are reported
    rep = report_table(got)
    dropped = rep[rep.action == "dropped"]
    assert len(dropped) == len(x) - len(got) == 2
    assert set(dropped.reason) == {"missing SNP identifier", "duplicated SNP in outcome 'T1' (first kept)"}
    flagged = set(rep.loc[rep.action == "flagged", "SNP"])
    assert set(got.loc[~got["mr_keep.outcome"], "SNP"]) <= flagged
    assert {"rs2", "rs4", "rs5", "rs6"} <= flagged          # eaf NR / 1.2 / 0 / 1 set to NA
    reasons = " | ".join(rep.reason)
    for text in ("'NR' is not a number", "se 0.0 <= 0", "p-value 2.0 not in [0, 1]",
                 "below min_pval", "'X' is not A/C/G/T", "other allele missing", "infinite beta"):
        assert text in reasons


@pytest.mark.parametrize("dataset, folder", [("syn_n10_clean_harm", MR / "syn_n10_clean_harm"),
                                             ("syn_n30_outliers", IO / "syn_n30_outliers")])
@pytest.mark.parametrize("type_", ["exposure", "outcome"])
def test_format_data_reproduces_reference_inputs(dataset, folder, type_):
    """The refdata's ``input_<type>_dat.csv`` were made by TwoSampleMR ``format_data`` from the
    synthetic tables: all columns equal, ids included (the reference ids are the phenotype
    names, which is what format_data gives here)."""
    raw = pd.read_csv(IO / f"{dataset}.csv", float_precision="round_trip")
    raw["Phenotype"] = f"{dataset}_{type_}"
    kw = {f"{f}_col": f"{f}.{type_}" for f in ("beta", "se", "eaf", "pval", "samplesize")}
    got = format_data(raw, type=type_, effect_allele_col=f"effect_allele.{type_}",
                      other_allele_col=f"other_allele.{type_}", **kw)
    _compare(got, _read_ref(folder / f"input_{type_}_dat.csv"))


def test_format_data_reproduces_extract_instruments_output():
    """``extract_instruments`` = ``format_data(d, phenotype_col = "phenotype", snp_col = "rsid",
    chr_col = "chr", pos_col = "position", effect_allele_col = "ea", other_allele_col = "nea",
    pval_col = "p", samplesize_col = "n", id_col = "id")`` on the OpenGWAS rows; the BMI
    instruments of the TwoSampleMR vignette renamed back to the API's names give the vignette
    frame again, column order included."""
    ref = _read_ref(MR / "real_tsmr_bmi_chd" / "input_exposure_dat.csv")
    back = {"pval.exposure": "p", "samplesize.exposure": "n", "chr.exposure": "chr",
            "se.exposure": "se", "beta.exposure": "beta", "pos.exposure": "position",
            "id.exposure": "id", "SNP": "rsid", "effect_allele.exposure": "ea",
            "other_allele.exposure": "nea", "eaf.exposure": "eaf", "exposure": "phenotype"}
    raw = ref.rename(columns=back).drop(columns=["mr_keep.exposure", "pval_origin.exposure",
                                                 "data_source.exposure"])
    got = format_data(raw, type="exposure", phenotype_col="phenotype", snp_col="rsid",
                      chr_col="chr", pos_col="position", effect_allele_col="ea",
                      other_allele_col="nea", pval_col="p", samplesize_col="n", id_col="id")
    got["data_source.exposure"] = "igd"
    _compare(got, ref)


def test_format_data_errors():
    with pytest.raises(InputError, match="SNP column 'SNP' not found"):
        format_data(pd.DataFrame({"beta": [0.1], "rsid": ["rs1"]}))
    with pytest.raises(InputError, match="none of the named columns"):
        format_data(pd.DataFrame({"b": [0.1]}))
    with pytest.raises(InputError, match="type must be"):
        format_data(pd.DataFrame({"SNP": ["rs1"]}), type="exp")
    with pytest.raises(InputError, match="none of the requested snps"):
        format_data(pd.DataFrame({"SNP": ["rs1"], "beta": [0.1]}), snps=["rs2"])


# --------------------------------------------------------------------------- round trips
def _bmi_chd():
    exp = format_data(_read_ref(MR / "real_tsmr_bmi_chd" / "input_exposure_dat.csv"),
                      type="exposure", beta_col="beta.exposure", se_col="se.exposure",
                      eaf_col="eaf.exposure", effect_allele_col="effect_allele.exposure",
                      other_allele_col="other_allele.exposure", pval_col="pval.exposure",
                      samplesize_col="samplesize.exposure", chr_col="chr.exposure",
                      pos_col="pos.exposure", id_col="id.exposure", phenotype_col="exposure",
                      build="GRCh37")
    out = format_data(_read_ref(MR / "real_tsmr_bmi_chd" / "input_outcome_dat.csv"),
                      type="outcome", beta_col="beta.outcome", se_col="se.outcome",
                      eaf_col="eaf.outcome", effect_allele_col="effect_allele.outcome",
                      other_allele_col="other_allele.outcome", pval_col="pval.outcome",
                      samplesize_col="samplesize.outcome", id_col="id.outcome",
                      phenotype_col="outcome", build="GRCh37")
    return exp, out


HCOLS = ["SNP", "effect_allele.exposure", "other_allele.exposure", "effect_allele.outcome",
         "other_allele.outcome", "beta.exposure", "beta.outcome", "eaf.exposure", "eaf.outcome",
         "se.exposure", "se.outcome", "pval.exposure", "pval.outcome", "samplesize.exposure",
         "samplesize.outcome", "remove", "palindromic", "ambiguous", "mr_keep", "mr_keep_reason"]


@pytest.mark.parametrize("fmt", ["vcf", "vcf.gz", "ssf", "tsv.gz"])
def test_write_read_round_trip_gives_same_harmonised_frame(tmp_path, fmt):
    """BMI -> CHD (79 SNPs, 4 palindromic) written as GWAS-VCF / GWAS-SSF (plain and gzip) and
    read back harmonise to the same frame as the originals: alleles and flags identical,
    numbers to 1e-12 (p-values pass through -log10 p in VCF), build GRCh37 kept; the harmonised
    frame equals TwoSampleMR's ``input_harmonised.csv`` as before."""
    exp, out = _bmi_chd()
    ref_h = harmonise(exp, out)
    if fmt.startswith("vcf"):
        write_gwas_vcf(exp, tmp_path / f"e.{fmt}")
        write_gwas_vcf(out, tmp_path / f"o.{fmt}", study="ieu-a-7")
        e2 = read_gwas_vcf(tmp_path / f"e.{fmt}", type="exposure")
        o2 = read_gwas_vcf(tmp_path / f"o.{fmt}", type="outcome")
        where = "##contig assembly"
    else:
        write_gwas_ssf(exp, tmp_path / f"e.{fmt}")
        write_gwas_ssf(out, tmp_path / f"o.{fmt}")
        e2 = read_gwas_ssf(tmp_path / f"e.{fmt}", type="exposure")
        o2 = read_gwas_ssf(tmp_path / f"o.{fmt}", type="outcome")
        where = "meta.yaml genome_assembly"
    assert e2.attrs["report"]["genome_build"] == "GRCh37" == o2.attrs["genome_build"]
    assert e2.attrs["report"]["build_source"] == where
    assert len(e2) == len(exp) and len(o2) == len(out) and report_table(e2).empty
    got_h = harmonise(e2, o2)
    assert got_h.attrs["genome_build"] == "GRCh37"
    for c in HCOLS:
        g, e = got_h[c].to_numpy(), ref_h[c].to_numpy()
        if e.dtype.kind == "f":
            np.testing.assert_allclose(g.astype(float), e, rtol=1e-12, err_msg=c)
        else:
            assert [r_text(x) for x in g] == [r_text(x) for x in e], c
    tsmr = _read_ref(MR / "real_tsmr_bmi_chd" / "input_harmonised.csv")
    np.testing.assert_allclose(got_h["beta.outcome"], tsmr["beta.outcome"], rtol=1e-12)
    assert list(got_h["mr_keep"]) == list(tsmr["mr_keep"])


VCF = """##fileformat=VCFv4.2
##FORMAT=<ID=ES,Number=A,Type=Float,Description="Effect size estimate relative to the alternative allele">
##FORMAT=<ID=SE,Number=A,Type=Float,Description="Standard error">
##FORMAT=<ID=LP,Number=A,Type=Float,Description="-log10 p-value">
##FORMAT=<ID=AF,Number=A,Type=Float,Description="Alternate allele frequency">
##FORMAT=<ID=SS,Number=A,Type=Float,Description="Sample size">
##FORMAT=<ID=NC,Number=A,Type=Float,Description="Number of cases">
##FORMAT=<ID=ID,Number=1,Type=String,Description="Study variant identifier">
##SAMPLE=<ID=ukb-x-1,StudyType=CaseControl>
##contig=<ID=1,length=248956422,assembly=HG38/GRCh38>
#CHROM	POS	ID	REF	ALT	QUAL	FILTER	INFO	FORMAT	ukb-x-1
1	1000	rs1	A	G	.	PASS	AF=0.3	ES:SE:LP:AF:SS:NC:ID	0.1:0.02:5:0.31:1000:200:rs1
1	2000	rs2	C	T,A	.	PASS	.	ES:SE:LP:AF:SS:NC:ID	0.2,-0.3:0.05,0.1:2,1:0.1,0.05:1000:200:rs2
1	3000	.	T	TA	.	PASS	AF=0.4	ES:SE:LP:SS:NC:ID	0.05:0.01:.:1000:200:1_3000_T_TA
1	4000	.	G	C	.	PASS	.	ES:SE:LP:AF:SS:NC:ID	.:0.01:1:0.2:1000:200:.
"""


def test_read_gwas_vcf_fields(tmp_path):
    """GWAS-VCF fields as the format defines them (Lyon et al. 2021): ALT = effect allele,
    p = 10^-LP, Number=A fields split per ALT of a multi-allelic record, INFO AF as the
    fall-back frequency, FORMAT ID when the ID column is '.', ncontrol = SS - NC, build from
    ##contig; a missing LP is inferred from ES/SE (format_data), a missing ES excludes."""
    p = tmp_path / "x.vcf"
    p.write_text(VCF)
    d = read_gwas_vcf(p, type="exposure").set_index("SNP")
    assert list(d.index) == ["rs1", "rs2", "1_3000_t_ta", "1:4000_g_c"]   # ids lower-cased
    rep = d.attrs["report"]
    assert rep["genome_build"] == "GRCh38" and rep["study"] == "ukb-x-1"
    assert rep["n_records"] == 4 and rep["n_multiallelic_rows"] == 1
    assert d.loc["rs1", "beta.exposure"] == 0.1 and d.loc["rs1", "eaf.exposure"] == 0.31
    assert d.loc["rs1", "pval.exposure"] == pytest.approx(1e-5, rel=1e-14)
    assert d.loc["rs1", "ncontrol.exposure"] == 800 and d.loc["rs1", "id.exposure"] == "ukb-x-1"
    # multi-allelic: two rows for rs2 -> the second is a duplicated SNP, dropped and reported
    assert d.loc["rs2", "effect_allele.exposure"] == "T" and d.loc["rs2", "se.exposure"] == 0.05
    assert any(r["SNP"] == "rs2" and "duplicated" in r["reason"] for r in rep["dropped"])
    row = d.loc["1_3000_t_ta"]
    assert row["effect_allele.exposure"] == "TA" and row["eaf.exposure"] == 0.4
    assert row["pval_origin.exposure"] == "inferred"
    assert row["pval.exposure"] == pytest.approx(2 * 2.866515718791939e-07, rel=1e-6)   # 2*Phi(-5)
    last = d.loc["1:4000_g_c"]
    assert np.isnan(last["beta.exposure"]) and not last["mr_keep.exposure"]
    with pytest.raises(InputError, match="says genome build GRCh38.*build='GRCh37'"):
        read_gwas_vcf(p, build="GRCh37")
    # BGZF (bgzip) files are a series of gzip members: split the text into two members
    import gzip
    half = VCF.index("1\t2000")
    bgz = tmp_path / "x.vcf.gz"
    bgz.write_bytes(gzip.compress(VCF[:half].encode()) + gzip.compress(VCF[half:].encode()))
    d2 = read_gwas_vcf(bgz, type="exposure").set_index("SNP")
    pd.testing.assert_frame_equal(d2, d)


def test_vcf_study_choice_and_errors(tmp_path):
    p = tmp_path / "two.vcf"
    p.write_text(VCF.replace("\tukb-x-1\n", "\tukb-x-1\tukb-x-2\n").replace(":rs1\n", ":rs1\t0.3:0.1:1:0.3:50:.:rs1\n"))
    with pytest.raises(InputError, match="several studies.*pass study="):
        read_gwas_vcf(p)
    d = read_gwas_vcf(p, study="ukb-x-2")
    assert d["SNP"].tolist() == ["rs1"] and d["beta.exposure"].iloc[0] == 0.3
    assert d["samplesize.exposure"].iloc[0] == 50 and d["id.exposure"].iloc[0] == "ukb-x-2"
    # the three records without a ukb-x-2 value are reported, not skipped silently
    gone = [r for r in d.attrs["report"]["dropped"] if "no value for study" in r["reason"]]
    assert [r["SNP"] for r in gone] == ["rs2", ".", "."]
    with pytest.raises(InputError, match="'nope' is not in"):
        read_gwas_vcf(p, study="nope")
    exp, _ = _bmi_chd()
    with pytest.raises(InputError, match="lack chr/pos"):
        write_gwas_vcf(exp.drop(columns=["chr.exposure"]), tmp_path / "y.vcf")
    no_oa = exp.copy()
    no_oa.loc[3, "other_allele.exposure"] = np.nan
    with pytest.raises(InputError, match="have no other allele"):
        write_gwas_vcf(no_oa, tmp_path / "y.vcf")


def test_read_gwas_ssf_odds_ratio_and_mandatory_columns(tmp_path):
    """GWAS-SSF with odds ratios: beta = log(OR), units "log odds" (recorded), X coded 23,
    neg_log_10_p_value, n; the build from the -meta.yaml.  Missing mandatory columns are named."""
    p = tmp_path / "g.tsv"
    p.write_text("chromosome\tbase_pair_location\teffect_allele\tother_allele\todds_ratio\t"
                 "standard_error\teffect_allele_frequency\tneg_log_10_p_value\trsid\tn\n"
                 "1\t100\tA\tG\t1.2\t0.05\t0.3\t3.5\trs1\t5000\n"
                 "23\t200\tT\tC\t0.8\t0.04\tNA\t2\tNA\t5000\n"
                 "2\t300\tC\tA\t-1\t0.04\t0.2\t2\trs3\t5000\n")
    (tmp_path / "g.tsv-meta.yaml").write_text("genome_assembly: GRCh37\ngwas_id: GCST1\n"
                                              "trait_description:\n  - asthma\n")
    d = read_gwas_ssf(p, type="outcome")
    rep = d.attrs["report"]
    assert rep["genome_build"] == "GRCh37" and rep["conversion"].startswith("beta = log(odds_ratio)")
    assert d["beta.outcome"].iloc[0] == pytest.approx(np.log(1.2), rel=1e-15)
    assert d["pval.outcome"].iloc[0] == pytest.approx(10 ** -3.5, rel=1e-14)
    assert d["chr.outcome"].iloc[1] == "X" and d["SNP"].iloc[1] == "x:200"
    assert (d["units.outcome"] == "log odds").all() and (d["id.outcome"] == "GCST1").all()
    assert d["outcome"].iloc[0] == "asthma"
    assert np.isnan(d["beta.outcome"].iloc[2]) and not d["mr_keep.outcome"].iloc[2]
    assert any("odds_ratio <= 0" in r for r in report_table(d).reason)
    bad = tmp_path / "bad.tsv"
    bad.write_text("chromosome\tbase_pair_location\teffect_allele\tother_allele\tbeta\n1\t1\tA\tG\t0.1\n")
    with pytest.raises(InputError, match=r"mandatory column\(s\) \['standard_error'"):
        read_gwas_ssf(bad)


# --------------------------------------------------------------------------- checks
def test_mismatched_builds_refused_by_harmonise(tmp_path):
    exp, out = _bmi_chd()
    out.attrs["genome_build"] = "hg38"
    with pytest.raises(InputError, match="exposure data are on genome build GRCh37 but the outcome data on GRCh38"):
        harmonise(exp, out)
    assert check_builds(exp, exp) == "GRCh37"
    out.attrs["genome_build"] = None
    assert check_builds(exp, out) is None
    assert normalise_build("HG19/GRCh37") == "GRCh37" and normalise_build("GRCh38.p13") == "GRCh38"
    with pytest.raises(InputError, match="unknown genome build"):
        normalise_build("mm10")
    d = format_data(pd.DataFrame({"SNP": ["rs1"], "beta": [0.1], "se": [0.01], "effect_allele": ["A"]}))
    assert d.attrs["report"]["build_source"].startswith("not stated")


def test_check_pvalues_and_eaf_concordance():
    """p-values 10-fold away from 2*Phi(-|b/se|) and se <= 0 are flagged; harmonised SNPs with
    effect-allele frequencies more than 0.2 apart are flagged (label swapped in one study)."""
    exp, out = _bmi_chd()
    assert check_pvalues(exp).empty            # OpenGWAS p-values agree with b/se
    bad = exp.copy()
    bad.loc[0, "pval.exposure"] = bad.loc[0, "pval.exposure"] * 1e3
    bad.loc[1, "se.exposure"] = 0.0
    flagged = check_pvalues(bad)
    assert list(flagged["SNP"]) == [bad.SNP[0], bad.SNP[1]]
    assert "fold from 2*Phi" in flagged["reason"].iloc[0] and flagged["reason"].iloc[1] == "se <= 0"
    h = harmonise(exp, out)
    conc = check_eaf_concordance(h)
    diff = np.abs(h["eaf.exposure"] - h["eaf.outcome"])
    assert list(conc["SNP"]) == list(h.loc[diff > 0.2, "SNP"])
    h2 = h.copy()
    h2.loc[0, "eaf.outcome"] = 1 - h2.loc[0, "eaf.outcome"]       # 0.337 -> 0.663 vs 0.225
    conc2 = check_eaf_concordance(h2)
    assert list(conc2["SNP"]) == [h2.loc[0, "SNP"]] + list(conc["SNP"])
    assert conc2["reason"].iloc[0].startswith("effect-allele frequencies differ by more than 0.2")


def test_ssf_written_without_build_reads_back_as_not_stated(tmp_path):
    """write_gwas_ssf without a build writes ``genome_assembly: unknown``; reading it back must
    give "no build stated" (None), not an error, and an explicit build= then applies."""
    from radiogenomics.mr.io import read_gwas_ssf, write_gwas_ssf
    import data_sim

    summ = data_sim.make_mr_summary(n_snps=5, rng=2)
    frame = summ.exposure.assign(chr="1", pos=1000 + 10 * np.arange(5))
    path = write_gwas_ssf(frame, tmp_path / "x.tsv")
    back = read_gwas_ssf(path, type="exposure")
    assert back.attrs["genome_build"] is None
    assert read_gwas_ssf(path, type="exposure", build="hg19").attrs["genome_build"] == "GRCh37"
