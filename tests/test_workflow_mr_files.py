"""The workflow's ``mr`` step on real-format GWAS files: GWAS-VCF, GWAS-SSF, TwoSampleMR-style
and arbitrary tables, genome builds, p-value selection, LD clumping on a PLINK panel and outcome
proxies, with every dropped SNP reported.

The reference for every estimate is the same step run on TwoSampleMR-style CSV files of the
same data (the route the step had before, itself checked against the library in
tests/test_workflow_prediction_mr.py): the file formats only change how the numbers are
stored (VCF/SSF write floats with ``repr``, so beta, se and eaf round-trip exactly), so the
estimates must agree to 1e-12 relative.  No R output is involved, hence no tests/data files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from data_sim import make_cohort, make_mr_summary
from radiogenomics import mr as M
from radiogenomics._checks import InputError
from radiogenomics.workflow import StepContext, run_step, step_options
from radiogenomics.workflow._base import Table
from radiogenomics.workflow.mr import gwas_format, read_gwas_file

RTOL = 1e-12
N_SNPS = 12
N_PANEL = 400


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(n_samples=40, n_radiomic=6, n_genes=20, n_modules=2, rng=3)[0]


@pytest.fixture(scope="module")
def summ():
    s = make_mr_summary(n_snps=N_SNPS, n_exposure=3000, n_outcome=20000, rng=5)
    # SNPs 0 and 1 on chromosome 1 (in LD in the panel), the others one per chromosome
    where = pd.DataFrame({"SNP": s.exposure["SNP"],
                          "chr": ["1"] + [str(k) for k in range(1, N_SNPS)],
                          "pos": 1_000_000 + 50_000 * np.arange(N_SNPS)})
    exp, out = s.exposure.merge(where), s.outcome.merge(where)
    ea, oa = exp["effect_allele.exposure"], exp["other_allele.exposure"]
    pal = [{a, b} in ({"A", "T"}, {"C", "G"}) for a, b in zip(ea, oa)]
    target = next(k for k in range(2, N_SNPS) if not pal[k])   # the SNP given a proxy
    return exp, out, target


@pytest.fixture(scope="module")
def panel(summ, tmp_path_factory):
    """A PLINK panel: the 12 instruments (allele_1 = the exposure's effect allele), SNP 1 a
    noisy copy of SNP 0 (r2 about 0.9), and 'rsproxy' an exact copy of the target SNP 1 kb
    away (r2 = 1)."""
    from bed_reader import to_bed

    exp, _, target = summ
    rng = np.random.default_rng(11)
    eaf = exp["eaf.exposure"].to_numpy()
    g = rng.binomial(2, eaf, size=(N_PANEL, N_SNPS)).astype(float)
    redraw = rng.random(N_PANEL) < 0.03
    g[:, 1] = g[:, 0]
    g[redraw, 1] = rng.binomial(2, eaf[0], size=redraw.sum())
    k = target + 1                      # the proxy goes right after its target (sorted panel)
    g = np.insert(g, k, g[:, target], axis=1)

    def ins(values, extra):
        values = list(values)
        return values[:k] + [extra] + values[k:]

    snps = ins(exp["SNP"], "rsproxy")
    chrom = ins(exp["chr"], exp["chr"].iloc[target])
    pos = ins(exp["pos"], int(exp["pos"].iloc[target]) + 1000)
    a1 = ins(exp["effect_allele.exposure"], exp["effect_allele.exposure"].iloc[target])
    a2 = ins(exp["other_allele.exposure"], exp["other_allele.exposure"].iloc[target])
    path = tmp_path_factory.mktemp("panel") / "ref.bed"
    to_bed(path, g, properties={"sid": snps, "chromosome": chrom, "bp_position": pos,
                                "allele_1": a1, "allele_2": a2,
                                "iid": [f"i{k}" for k in range(N_PANEL)],
                                "father": ["0"] * N_PANEL, "mother": ["0"] * N_PANEL})
    return path


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _ctx(cohort, tmp_path):
    return StepContext(cohort, out_dir=Path(tmp_path), rng=np.random.default_rng(0), n_jobs=1)


def _run(cohort, tmp_path, e, o, **kw):
    return run_step("mr", _ctx(cohort, tmp_path),
                    {"exposure": "exposure", "outcome": "outcome", "genotypes": "absent",
                     "exposure_gwas": e, "outcome_gwas": o, **kw})


def _two(res) -> pd.DataFrame:
    est = res.result["estimates"]
    return est[est["design"].str.startswith("two-sample")].set_index("method")


def _same(a, b):
    assert list(a.index) == list(b.index) and len(a) == 3
    for c in ("nsnp", "b", "se", "pval", "lower", "upper"):
        np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=RTOL,
                                   atol=0, err_msg=c)


def _csv(tmp_path, exp, out, name="ref"):
    e, o = tmp_path / f"{name}_exposure.csv", tmp_path / f"{name}_outcome.csv"
    exp.to_csv(e, index=False)
    out.to_csv(o, index=False)
    return e, o


def _texts(res) -> str:
    return " ".join(getattr(b, "text", "") for b in res.fragment.blocks)


def _check_fragment(res):
    json.dumps(res.record.to_dict())
    for b in res.fragment.blocks:
        if isinstance(b, Table):
            assert len(b.caption) > 60, b.name


# ------------------------------------------------------------------------- formats

def test_formats_give_the_csv_estimates(cohort, summ, tmp_path):
    """GWAS-VCF, GWAS-SSF (and a VCF/SSF mix) give the estimates of the TwoSampleMR-style CSV
    route on the same data to 1e-12 relative; the report names the format and the build."""
    exp, out, _ = summ
    ref = _run(cohort, tmp_path, *_csv(tmp_path, exp, out))
    assert ref.ok and ref.result["gwas_inputs"]["format"].tolist() == [
        "TwoSampleMR-style table"] * 2
    M.write_gwas_vcf(exp, tmp_path / "e.vcf.gz", build="GRCh37")
    M.write_gwas_vcf(out, tmp_path / "o.vcf", build="hg19")
    M.write_gwas_ssf(exp, tmp_path / "e.tsv.gz", build="GRCh37")
    M.write_gwas_ssf(out, tmp_path / "o.tsv", build="GRCh37")
    for e, o, fmts in (("e.vcf.gz", "o.vcf", ["GWAS-VCF"] * 2),
                       ("e.tsv.gz", "o.tsv", ["GWAS-SSF"] * 2),
                       ("e.vcf.gz", "o.tsv", ["GWAS-VCF", "GWAS-SSF"])):
        res = _run(cohort, tmp_path, tmp_path / e, tmp_path / o)
        assert res.ok
        _check_fragment(res)
        _same(_two(res), _two(ref))
        inp = res.result["gwas_inputs"]
        assert inp["format"].tolist() == fmts
        assert inp["genome_build"].tolist() == ["GRCh37", "GRCh37"]
        assert not inp["build_source"].str.contains("assumed").any()
        text = _texts(res)
        for f in fmts:
            assert f"read as {f}" in text and f in res.fragment.methods
        assert "genome build GRCh37" in text and "GRCh37" in res.fragment.methods
        assert f"{N_SNPS} rows read" in text
        flow = res.result["snp_flow"]
        used = flow[flow["what"] == "used in the MR estimates"]["n_snps"].iloc[0]
        assert used == _two(res)["nsnp"].iloc[0] == N_SNPS
    # the SSF route is detected by its header alone, without the -meta.yaml (build assumed)
    (tmp_path / "o.tsv-meta.yaml").unlink()
    bare = tmp_path / "o_copy.txt"
    bare.write_text((tmp_path / "o.tsv").read_text())
    assert gwas_format(bare) == "ssf"
    res = _run(cohort, tmp_path, tmp_path / "e.vcf.gz", bare, gwas_build="hg19")
    _same(_two(res), _two(ref))
    src = res.result["gwas_inputs"].set_index("side")["build_source"]
    assert "assumed" in src["outcome"] and "assumed" not in src["exposure"]
    # an SSF written without a build (meta.yaml genome_assembly: unknown) reads as not stated
    M.write_gwas_ssf(out, tmp_path / "o_nobuild.tsv")
    df = read_gwas_file(tmp_path / "o_nobuild.tsv", "outcome")
    assert df.attrs["report"]["genome_build"] is None
    assert "not stated" in df.attrs["report"]["build_source"]
    res = _run(cohort, tmp_path, tmp_path / "e.vcf.gz", tmp_path / "o_nobuild.tsv",
               gwas_build="GRCh37")
    _same(_two(res), _two(ref))


def test_generic_table_goes_through_format_data(cohort, summ, tmp_path):
    """A table with other column names (rsid, b, A1, A2, freq, p, N; whitespace-separated) is
    read by format_data with the column mapping reported; estimates equal the CSV route."""
    exp, out, _ = summ
    ref = _run(cohort, tmp_path, *_csv(tmp_path, exp, out))
    plain = exp.rename(columns={"SNP": "rsid", "beta.exposure": "b", "se.exposure": "se",
                                "effect_allele.exposure": "A1", "other_allele.exposure": "A2",
                                "eaf.exposure": "freq", "pval.exposure": "p",
                                "samplesize.exposure": "N", "pos": "bp"})
    plain = plain[["rsid", "chr", "bp", "A1", "A2", "b", "se", "freq", "p", "N"]]
    e = tmp_path / "exposure_plain.txt"
    plain.to_csv(e, sep=" ", index=False, float_format="%.17g")
    o = tmp_path / "outcome_plain.csv"
    out.rename(columns=lambda c: c.removesuffix(".outcome")).to_csv(o, index=False)
    assert gwas_format(e) == gwas_format(o) == "table"
    res = _run(cohort, tmp_path, e, o, gwas_build="GRCh38")
    assert res.ok
    _same(_two(res), _two(ref))
    inp = res.result["gwas_inputs"].set_index("side")
    assert inp.at["exposure", "format"] == "GWAS table (format_data)"
    assert "rsid -> SNP" in inp.at["exposure", "columns_renamed"]
    assert "A1 -> effect_allele.exposure" in inp.at["exposure", "columns_renamed"]
    assert inp.at["exposure", "genome_build"] == "GRCh38"
    assert "assumed" in inp.at["exposure", "build_source"]
    text = _texts(res)
    assert "column mapping rsid -> SNP" in text and "GRCh38 (assumed" in text
    # a table without a recognisable beta column: the error names what is missing and the fix
    bad = tmp_path / "bad.tsv"
    plain.drop(columns="b").to_csv(bad, sep="\t", index=False)
    with pytest.raises(InputError, match=r"beta.*rename them"):
        read_gwas_file(bad, "exposure")


def test_build_mismatch_is_a_clear_error(cohort, summ, tmp_path):
    exp, out, _ = summ
    e = M.write_gwas_vcf(exp, tmp_path / "e37.vcf", build="GRCh37")
    o = M.write_gwas_ssf(out, tmp_path / "o38.tsv", build="GRCh38")
    with pytest.raises(InputError, match=r"e37\.vcf is on genome build GRCh37.*o38\.tsv on "
                                         r"GRCh38.*lift one over"):
        _run(cohort, tmp_path, e, o)
    # a file stating a build other than gwas_build
    o37 = M.write_gwas_ssf(out, tmp_path / "o37.tsv", build="GRCh37")
    with pytest.raises(InputError, match=r"says genome build GRCh37.*gwas_build is GRCh38.*"
                                         r"set gwas_build: GRCh37"):
        _run(cohort, tmp_path, e, o37, gwas_build="GRCh38")


# ------------------------------------------------------------------------- selection

def test_pval_threshold_selects_and_counts(cohort, summ, tmp_path):
    """pval_threshold keeps the exposure SNPs with p <= threshold: equal to the CSV route on
    those SNPs; the others are counted in snp_flow."""
    exp, out, _ = summ
    thr = float(np.median(exp["pval.exposure"]))
    keep = exp[exp["pval.exposure"] <= thr]
    assert 3 <= len(keep) < N_SNPS
    ref = _run(cohort, tmp_path, *_csv(tmp_path, keep, out, "sub"))
    e = M.write_gwas_vcf(exp, tmp_path / "e.vcf", build="GRCh37")
    o = M.write_gwas_vcf(out, tmp_path / "o.vcf", build="GRCh37")
    res = _run(cohort, tmp_path, e, o, pval_threshold=thr)
    _same(_two(res), _two(ref))
    flow = res.result["snp_flow"]
    row = flow[flow["what"].str.startswith("not instruments")]
    assert row["n_snps"].iloc[0] == N_SNPS - len(keep)
    with pytest.raises(InputError, match="raise pval_threshold"):
        _run(cohort, tmp_path, e, o, pval_threshold=1e-300)


def test_clumping_drops_the_tagged_snp_and_reports_it(cohort, summ, panel, tmp_path):
    """With ld_panel, SNPs 0 and 1 (r2 about 0.9 in the panel) are clumped: the less
    significant one is dropped and listed with its index SNP; the estimates equal the CSV
    route without it (1e-12)."""
    exp, out, _ = summ
    pan = M.load_panel(panel)
    r = M.find_proxies([exp["SNP"].iloc[0]], pan, r2=0.5)
    assert exp["SNP"].iloc[1] in set(r["proxy"])                 # the panel has the LD
    weaker = 1 if exp["pval.exposure"].iloc[1] > exp["pval.exposure"].iloc[0] else 0
    gone, index = exp["SNP"].iloc[weaker], exp["SNP"].iloc[1 - weaker]
    ref = _run(cohort, tmp_path, *_csv(tmp_path, exp[exp["SNP"] != gone], out, "clumped"))
    e = M.write_gwas_vcf(exp, tmp_path / "e.vcf.gz", build="GRCh37")
    o = M.write_gwas_ssf(out, tmp_path / "o.tsv.gz", build="GRCh37")
    res = _run(cohort, tmp_path, e, o, ld_panel=panel)
    assert res.ok
    _check_fragment(res)
    _same(_two(res), _two(ref))
    assert _two(res)["nsnp"].iloc[0] == N_SNPS - 1
    d = res.result["snps_dropped"]
    row = d[d["stage"] == "clumping"]
    assert row["SNP"].tolist() == [gone]
    assert row["reason"].iloc[0].startswith("in LD with a more significant index SNP")
    assert f"index SNP {index}" in row["detail"].iloc[0]
    assert res.result["clumped"]["SNP"].tolist().count(index) == 1
    assert len(res.result["clumped"]) == N_SNPS - 1
    key = ("two-sample SNPs, clumping: in LD with a more significant index SNP (clumped)")
    assert res.record.features_dropped[key]["ids"] == [gone]
    assert "1 clumped away" in res.fragment.findings[-1].text
    assert "PLINK 1.9's --clump rule" in res.fragment.methods
    assert "removed 1" in _texts(res)
    names = [b.name for b in res.fragment.blocks if isinstance(b, Table)]
    assert {"mr_gwas_inputs", "mr_snp_flow", "mr_snps_dropped", "mr_clumped"} <= set(names)


def test_missing_outcome_snp_replaced_by_proxy(cohort, summ, panel, tmp_path):
    """An instrument absent from the outcome file is replaced by its proxy (an exact copy in
    the panel whose outcome row carries the instrument's association): the estimates equal
    the run with the instrument present (1e-12) and the proxy is reported; without proxies
    the instrument is dropped and reported as absent from the outcome."""
    exp, out, target = summ
    t = exp["SNP"].iloc[target]
    full = M.write_gwas_vcf(out, tmp_path / "o_full.vcf", build="GRCh37")
    holed = out.copy()
    holed.loc[target, "SNP"] = "rsproxy"
    holed.loc[target, "pos"] += 1000
    o = M.write_gwas_vcf(holed, tmp_path / "o_proxy.vcf", build="GRCh37")
    e = M.write_gwas_vcf(exp, tmp_path / "e.vcf", build="GRCh37")
    ref = _run(cohort, tmp_path, e, full, ld_panel=panel)
    res = _run(cohort, tmp_path, e, o, ld_panel=panel)
    assert res.ok
    _check_fragment(res)
    _same(_two(res), _two(ref))
    px = res.result["proxies"]
    assert px["SNP"].tolist() == [t] and px["proxy"].tolist() == ["rsproxy"]
    assert px["r2"].iloc[0] == pytest.approx(1.0, abs=1e-9)
    assert "1 replaced by an LD proxy" in _texts(res)
    assert "1 replaced by a proxy" in res.fragment.findings[-1].text
    assert "mr_proxies" in [b.name for b in res.fragment.blocks if isinstance(b, Table)]
    flow = res.result["snp_flow"].set_index("what")["n_snps"]
    assert flow["replaced by an LD proxy"] == 1
    assert flow["outcome SNPs that are not instruments (unused)"] == 1   # the clumped SNP
    # proxies off: the instrument is dropped, and said to be
    res = _run(cohort, tmp_path, e, o, ld_panel=panel, proxies=False)
    d = res.result["snps_dropped"]
    row = d[d["stage"] == "outcome rows"]
    assert row["SNP"].tolist() == [t] and "absent from the outcome file" in row["reason"].iloc[0]
    assert _two(res)["nsnp"].iloc[0] == N_SNPS - 2
    assert "1 absent from it (dropped)" in _texts(res)


def test_reader_drops_are_listed(cohort, summ, tmp_path):
    """SNPs the reader removes (a duplicated SNP) or flags (se <= 0 -> excluded) reach the
    step's snps_dropped table with their reasons."""
    exp, out, _ = summ
    bad = pd.concat([exp, exp.iloc[[3]]], ignore_index=True)
    bad.loc[bad.index[-1], "pos"] += 7
    bad.loc[5, "se.exposure"] = -1.0
    e = M.write_gwas_ssf(bad, tmp_path / "e.tsv", build="GRCh37")
    o = M.write_gwas_ssf(out, tmp_path / "o.tsv", build="GRCh37")
    res = _run(cohort, tmp_path, e, o)
    d = res.result["snps_dropped"]
    dup = d[d["reason"].str.startswith("duplicated SNP")]
    assert dup["SNP"].tolist() == [exp["SNP"].iloc[3]] and dup["stage"].iloc[0].startswith("read")
    neg = d[d["SNP"] == exp["SNP"].iloc[5]]
    assert set(neg["stage"]) == {"read exposure file", "instruments"}
    assert _two(res)["nsnp"].iloc[0] == N_SNPS - 1
    assert res.result["gwas_inputs"].set_index("side").at["exposure", "dropped_by_reader"] == 1


def test_options_validation(tmp_path):
    with pytest.raises(ValidationError, match="proxies need an LD reference panel"):
        step_options("mr", {"proxies": True})
    with pytest.raises(ValidationError, match="unknown genome build"):
        step_options("mr", {"gwas_build": "hg42"})
    with pytest.raises(ValidationError, match="pval_threshold"):
        step_options("mr", {"pval_threshold": 0})
    with pytest.raises(ValidationError, match="clump_r2"):
        step_options("mr", {"clump_r2": 1.5})
    o = step_options("mr", {"gwas_build": "hg38", "ld_panel": tmp_path / "p.bed"})
    assert o.gwas_build == "GRCh38" and o.use_proxies
    assert not step_options("mr", {}).use_proxies
    with pytest.raises(InputError, match="does not exist"):
        gwas_format(tmp_path / "nope.vcf")
