"""GWAS summary-statistic files for the workflow's ``mr`` step: reading them in any supported
format (:func:`read_gwas_file`), selecting, LD-clumping and proxying the instruments with every
SNP's fate recorded (:func:`_prepare_two_sample`), and the tables, findings and methods text
that account for them in the report.  Split from :mod:`radiogenomics.workflow.mr`, which
re-exports the public names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._checks import InputError
from ..report.format import fmt_count
from ._base import Fragment
from .cohort import plural

if TYPE_CHECKING:     # the step's Options (defined in .mr, which imports this module)
    from .mr import Options


def read_gwas(path, side: str) -> pd.DataFrame:
    """GWAS summary statistics of one side (``"exposure"`` or ``"outcome"``) from a CSV, TSV
    or Parquet file with TwoSampleMR-style columns (dotted or snake_case); the error names the
    file and the missing columns."""
    from ..cohort import read_table
    from ..mr import normalise_columns

    df = normalise_columns(read_table(path, index_col=None).reset_index(drop=True))
    need = ["SNP", f"beta.{side}", f"se.{side}", f"effect_allele.{side}",
            f"other_allele.{side}"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(f"{str(path)!r} (the {side} GWAS) lacks column(s) "
                         f"{', '.join(missing)}; it has {', '.join(map(str, df.columns[:10]))}. "
                         f"Name them as TwoSampleMR does, e.g. 'beta.{side}' or "
                         f"'beta_{side}'")
    df["SNP"] = df["SNP"].astype(str)
    return df


#: header names of a generic GWAS table -> format_data's column arguments (case-insensitive,
#: first match wins); the mapping used is reported
_SYNONYMS = {
    "snp_col": ("SNP", "rsid", "rs_id", "rsID", "variant_id", "MarkerName", "SNPID", "ID",
                "snp_id", "marker"),
    "beta_col": ("beta", "b", "effect", "BETA", "Effect", "est", "estimate"),
    "se_col": ("se", "standard_error", "stderr", "SE", "StdErr", "sebeta", "se_beta"),
    "eaf_col": ("eaf", "effect_allele_frequency", "freq", "FRQ", "Freq1", "A1FREQ", "AF1",
                "af", "a1_freq", "freq1", "effect_allele_freq"),
    "effect_allele_col": ("effect_allele", "ea", "A1", "Allele1", "alt", "tested_allele",
                          "allele1"),
    "other_allele_col": ("other_allele", "oa", "nea", "A2", "Allele2", "ref",
                         "non_effect_allele", "allele0", "allele2"),
    "pval_col": ("pval", "p", "P", "p_value", "pvalue", "P-value", "P.value", "p.value",
                 "PVAL", "P_BOLT_LMM"),
    "samplesize_col": ("samplesize", "n", "N", "sample_size", "n_total", "N_total", "OBS_CT",
                       "Neff"),
    "ncase_col": ("ncase", "n_cases", "N_case", "Ncases", "n_case"),
    "ncontrol_col": ("ncontrol", "n_controls", "N_control", "Ncontrols", "n_control"),
    "chr_col": ("chr", "chromosome", "CHR", "#CHROM", "CHROM", "chrom"),
    "pos_col": ("pos", "bp", "BP", "base_pair_location", "position", "POS", "GENPOS"),
    "phenotype_col": ("Phenotype", "phenotype", "trait"),
    "units_col": ("units",),
    "id_col": ("id",),
    "gene_col": ("gene",),
    "info_col": ("info", "INFO"),
    "z_col": ("z", "Z", "zscore"),
}


#: GWAS-SSF's mandatory header columns that identify the format (with a p-value column)
_SSF_COLUMNS = ("chromosome", "base_pair_location", "effect_allele", "other_allele",
                "standard_error")


_VCF_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz")


_FORMAT_LABEL = {"vcf": "GWAS-VCF", "ssf": "GWAS-SSF", "twosamplemr": "TwoSampleMR-style table",
                 "table": "GWAS table (format_data)"}


_READER = {"vcf": "radiogenomics.mr.read_gwas_vcf", "ssf": "radiogenomics.mr.read_gwas_ssf",
           "twosamplemr": "radiogenomics.workflow.mr.read_gwas",
           "table": "radiogenomics.mr.format_data"}


def _header(path: Path) -> list[str]:
    """The column names of a text or Parquet table (first line; gzip read transparently)."""
    import gzip

    from ..cohort import table_format

    if table_format(path) in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    with (gzip.open(path, "rt") if gz else open(path)) as fh:
        line = fh.readline().rstrip("\r\n")
    sep = "\t" if "\t" in line else "," if "," in line else None
    return [c.strip().strip('"') for c in line.split(sep)]


def gwas_format(path) -> str:
    """The format of a GWAS file: ``"vcf"`` (suffix ``.vcf``, ``.vcf.gz`` or ``.vcf.bgz``),
    ``"ssf"`` (GWAS-SSF: a ``-meta.yaml`` beside a ``.tsv``/``.tsv.gz``, or the mandatory
    header columns ``chromosome, base_pair_location, effect_allele, other_allele,
    standard_error`` and ``p_value`` or ``neg_log_10_p_value``), ``"twosamplemr"`` (columns
    with the ``.exposure`` / ``.outcome`` suffix, dotted or snake_case) or ``"table"`` (any
    other table, for :func:`radiogenomics.mr.format_data`)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"GWAS file {str(path)!r} does not exist; check the path (in a "
                         "configuration file, relative to the file's folder)")
    name = path.name.lower()
    if name.endswith(_VCF_SUFFIXES):
        return "vcf"
    if (name.endswith((".tsv", ".tsv.gz"))
            and path.with_name(path.name + "-meta.yaml").is_file()):
        return "ssf"
    cols = _header(path)
    if (all(c in cols for c in _SSF_COLUMNS)
            and any(c in cols for c in ("p_value", "neg_log_10_p_value"))):
        return "ssf"
    suffixes = tuple(f"{sep}{side}" for sep in "._" for side in ("exposure", "outcome"))
    if any(str(c).endswith(suffixes) for c in cols):
        return "twosamplemr"
    return "table"


def _generic_columns(cols, path) -> dict:
    """format_data's ``*_col`` arguments for a generic table's header (see ``_SYNONYMS``)."""
    lower = {}
    for c in cols:
        lower.setdefault(str(c).lower(), c)
    args, used = {}, set()
    for arg, names in _SYNONYMS.items():
        for n in names:
            hit = n if n in cols else lower.get(n.lower())
            if hit is not None and hit not in used:
                args[arg], used = hit, used | {hit}
                break
    need = {"snp_col": "SNP", "beta_col": "beta", "se_col": "se",
            "effect_allele_col": "effect_allele"}
    missing = [v for k, v in need.items() if k not in args]
    if missing:
        raise InputError(f"{str(path)!r}: cannot find the {', '.join(missing)} column(s) among "
                         f"{', '.join(map(str, list(cols)[:12]))}; rename them to SNP, beta, se, "
                         "effect_allele, other_allele, eaf, pval, samplesize (or give "
                         "TwoSampleMR-style columns such as 'beta.exposure')")
    return args


def _read_generic(path: Path) -> pd.DataFrame:
    from ..cohort import table_format

    kind = table_format(path)
    if kind in (".parquet", ".pq"):
        return pd.read_parquet(path)
    sep = ("," if kind == ".csv" else "\t" if kind in (".tsv", ".tab") else None)
    if sep is None:
        with open(path, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        import gzip

        with (gzip.open(path, "rt") if gz else open(path)) as fh:
            line = fh.readline()
        sep = "\t" if "\t" in line else "," if "," in line else r"\s+"
    return pd.read_csv(path, sep=sep, float_precision="round_trip", keep_default_na=False,
                       na_values=["NA", "", "NaN", "nan", "."])


def _build_of(frame: pd.DataFrame, build: str | None, path: Path, side: str) -> None:
    """Set ``frame``'s genome build: the file's own, else ``build`` (recorded as assumed); a
    file stating a build other than ``build`` is an error."""
    from ..mr.io import normalise_build

    rep = frame.attrs.setdefault("report", {})
    found = normalise_build(rep.get("genome_build") or frame.attrs.get("genome_build"))
    if found and build and found != build:
        raise InputError(f"the {side} GWAS {path.name} says genome build {found} "
                         f"({rep.get('build_source', 'file header')}) but gwas_build is {build}; "
                         f"set gwas_build: {found} (or remove it), or lift the file over to "
                         f"{build} (UCSC liftOver / CrossMap)")
    if found:
        rep["genome_build"] = found
    elif build:
        rep["genome_build"], rep["build_source"] = build, "assumed, from the gwas_build option"
    else:
        rep["genome_build"] = None
        why = str(rep.get("build_source", ""))
        rep["build_source"] = (why[:-1] + "; set gwas_build to record it)"
                               if why.startswith("not stated (meta.yaml") else
                               "not stated (set gwas_build to record it)")
    frame.attrs["genome_build"] = rep["genome_build"]


def _ssf_meta(path: Path):
    """(metadata dict or None, the unusable genome_assembly or None): a ``-meta.yaml`` whose
    ``genome_assembly`` is not a build (e.g. ``unknown``, as written for a file without one)
    counts as not stating the build."""
    from ..mr.io import normalise_build

    mp = path.with_name(path.name + "-meta.yaml")
    if not mp.is_file():
        return None, None
    import yaml

    with open(mp) as fh:
        meta = yaml.safe_load(fh) or {}
    ga = meta.get("genome_assembly")
    try:
        normalise_build(ga)
    except InputError:
        return {k: v for k, v in meta.items() if k != "genome_assembly"}, ga
    return meta, None


def read_gwas_file(path, side: str, build: str | None = None,
                   study: str | None = None) -> pd.DataFrame:
    """GWAS summary statistics of one side (``"exposure"`` or ``"outcome"``) from a file in any
    supported format (:func:`gwas_format`).

    GWAS-VCF -> :func:`radiogenomics.mr.read_gwas_vcf` (``study``: the sample column);
    GWAS-SSF -> :func:`radiogenomics.mr.read_gwas_ssf`; TwoSampleMR-style columns ->
    :func:`read_gwas` (as read, nothing dropped); any other table ->
    :func:`radiogenomics.mr.format_data` with its columns found by name (``rsid``/``SNP``,
    ``b``/``beta``, ``A1``/``effect_allele``, ``p``/``pval``, ``N``/``samplesize`` ...).
    ``build`` (canonical name) is assumed where the file states none; a file stating another
    build is an error naming both and the fix.

    Returns
    -------
    DataFrame
        TwoSampleMR columns; ``attrs["report"]``: ``format``, ``reader``, ``source``,
        ``genome_build``, ``build_source``, ``columns_used``, ``n_input_rows``, ``dropped`` and
        ``flagged`` (every SNP removed or changed by the reader, with its reason; see
        :func:`radiogenomics.mr.report_table`).
    """
    from .. import mr as M

    if side not in ("exposure", "outcome"):
        raise InputError(f"side must be 'exposure' or 'outcome', got {side!r}")
    path = Path(path)
    fmt = gwas_format(path)
    if fmt == "vcf":
        df = M.read_gwas_vcf(path, type=side, study=study)
    elif fmt == "ssf":
        meta, unknown = _ssf_meta(path)
        df = M.read_gwas_ssf(path, type=side, meta=meta)
        if meta is not None:
            df.attrs["report"]["meta"] = str(path.with_name(path.name + "-meta.yaml"))
        if unknown is not None:
            df.attrs["report"]["build_source"] = (f"not stated (meta.yaml genome_assembly "
                                                  f"{unknown!r})")
    elif fmt == "twosamplemr":
        df = read_gwas(path, side)
        cols = [c for c in df.columns]
        df.attrs["report"] = {"source": str(path), "columns_used": {c: c for c in cols},
                              "n_input_rows": int(len(df)), "dropped": [], "flagged": []}
    else:
        raw = _read_generic(path)
        args = _generic_columns(list(raw.columns), path)
        df = M.format_data(raw, type=side, **args)
        df.attrs["report"]["source"] = str(path)
        used = df.attrs["report"].setdefault("columns_used", {})
        used[args["snp_col"]] = "SNP"           # format_data lists the SNP column as is
        if "phenotype_col" in args:
            used[args["phenotype_col"]] = side
    rep = df.attrs["report"]
    rep["format"], rep["reader"] = _FORMAT_LABEL[fmt], _READER[fmt]
    if study is not None and fmt != "vcf":
        rep["study_ignored"] = f"{side}_study applies to GWAS-VCF files only"
    _build_of(df, build, path, side)
    return df


_DROP_COLS = ["stage", "side", "SNP", "action", "reason", "detail"]


def _rows(stage, side, snps, action, reason, details=None) -> list[dict]:
    snps = list(snps)
    details = [""] * len(snps) if details is None else list(details)
    return [{"stage": stage, "side": side, "SNP": s, "action": action, "reason": r, "detail": d}
            for s, r, d in zip(snps, reason if isinstance(reason, (list, np.ndarray, pd.Series))
                               else [reason] * len(snps), details)]


def _collect_warnings(fn, *a, **kw):
    """``fn(*a, **kw)`` and the warnings it raised (re-emitted, so nothing is silenced)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*a, **kw)
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out, [str(w.message) for w in caught]


def _numeric(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns of numbers (left by row-wise proxy rows) back to numbers."""
    for c in df.columns:
        if df[c].dtype == object and c.split(".")[0] in (
                "beta", "se", "eaf", "pval", "samplesize", "ncase", "ncontrol", "pos",
                "proxy_r2"):
            conv = pd.to_numeric(df[c], errors="coerce")
            if conv.notna().sum() == df[c].notna().sum():
                df[c] = conv
    return df


def _reader_accounting(exp, out, reads):
    """(dropped rows, flow rows) of the two readers' reports."""
    from .. import mr as M

    dropped, flow = [], []
    if reads is not None:
        for side, rep in reads.items():
            frame = exp if side == "exposure" else out
            tab = M.report_table(rep)
            for r in tab.itertuples():
                dropped.append({"stage": f"read {side} file", "side": side, "SNP": r.SNP,
                                "action": r.action, "reason": r.reason,
                                "detail": f"column {r.column}" if r.column else ""})
            flow += [(f"read {side} file", "rows read", rep.get("n_input_rows", len(frame))),
                     (f"read {side} file", "dropped by the reader",
                      int((tab["action"] == "dropped").sum())),
                     (f"read {side} file", "flagged by the reader (kept, see reason)",
                      int((tab["action"] == "flagged").sum())),
                     (f"read {side} file", "SNPs in the table", len(frame))]
    return dropped, flow


def _select_instruments(e: pd.DataFrame, opts: Options, dropped: list, flow: list) -> pd.DataFrame:
    """Exposure rows usable for MR and (``pval_threshold``) below the threshold; appends the
    SNPs removed to ``dropped`` and the counts to ``flow``."""
    from scipy import stats

    if "mr_keep.exposure" in e.columns:
        bad = ~e["mr_keep.exposure"].astype(bool)
        dropped += _rows("instruments", "exposure", e.loc[bad, "SNP"], "dropped",
                         "unusable for MR (mr_keep.exposure False: missing beta, se or effect "
                         "allele, see the reader's flag)")
        flow.append(("instruments", "exposure SNPs unusable for MR", int(bad.sum())))
        e = e[~bad]
    if opts.pval_threshold is not None:
        if "pval.exposure" in e.columns:
            p = pd.to_numeric(e["pval.exposure"], errors="coerce")
        else:
            p = pd.Series(np.nan, index=e.index)
        miss = p.isna()
        if miss.any():      # inferred from beta / se as format_data does
            z = (pd.to_numeric(e.loc[miss, "beta.exposure"], errors="coerce")
                 / pd.to_numeric(e.loc[miss, "se.exposure"], errors="coerce")).abs()
            p[miss] = 2 * stats.norm.sf(z.to_numpy(float))
            flow.append(("instruments", "exposure p-values inferred from beta/se",
                         int(miss.sum())))
        above = ~(p <= opts.pval_threshold)
        flow.append(("instruments", f"not instruments: p > {opts.pval_threshold:g} (counted, "
                     "not listed)", int(above.sum())))
        e = e[~above]
        if e.empty:
            raise InputError(f"no exposure SNP has p <= pval_threshold = {opts.pval_threshold:g}; "
                             "raise pval_threshold (e.g. 5e-6) or leave it out to use every SNP")
    flow.append(("instruments", "candidate instruments", len(e)))
    return e


def _prepare_two_sample(exp: pd.DataFrame, out: pd.DataFrame, reads, opts: Options) -> dict:
    """Instruments and their outcome rows, each SNP's fate recorded: reader drops and flags,
    unusable exposure rows, p-value selection, clumping, outcome extraction (direct / proxy /
    missing).  Returns ``exposure``, ``outcome`` (for :func:`harmonise`), ``dropped`` (rows),
    ``flow`` (rows of stage, what, n_snps), ``proxies``, ``clumped``, ``clump``, ``warnings``."""
    from .. import mr as M

    dropped, flow = _reader_accounting(exp, out, reads)
    warn: list = []
    e = _select_instruments(exp.reset_index(drop=True), opts, dropped, flow)
    clump, clumped, pan = None, None, None
    if opts.ld_panel is not None:
        pan = M.load_panel(opts.ld_panel)
        clump, w = _collect_warnings(M.ld_clump, e, pan, clump_kb=opts.clump_kb,
                                     clump_r2=opts.clump_r2)
        warn += w
        d = clump.dropped
        dropped += _rows("clumping", "exposure", d["SNP"], "dropped", list(d["reason"]),
                         [f"index SNP {i}, r2 = {r:.4g}" if isinstance(i, str) else ""
                          for i, r in zip(d["index_snp"], d["r2"])])
        for reason, n in d["reason"].value_counts(sort=False).items():
            flow.append(("clumping", reason, int(n)))
        flow.append(("clumping", "kept (index SNPs)", len(clump.data)))
        e, clumped = clump.data, clump.clumped
    snps = pd.Index(e["SNP"].astype(str)).unique()
    o = out.reset_index(drop=True)
    osnp = o["SNP"].astype(str)
    proxies = pd.DataFrame(columns=["SNP", "proxy", "r2"])
    if opts.use_proxies and pan is not None:
        px, w = _collect_warnings(M.extract_with_proxies, o, snps, pan, min_r2=opts.proxy_r2)
        warn += w
        o2, rep = _numeric(px.data), px.report
        proxies = rep[rep["status"] == "proxy"][["SNP", "proxy", "r2"]].reset_index(drop=True)
        miss = rep[rep["status"] == "missing"]
        dropped += _rows("outcome rows", "outcome", miss["SNP"], "dropped",
                         ["absent from the outcome file; " + r for r in miss["reason"]])
        n_direct = int((rep["status"] == "direct").sum())
    else:
        o2 = o[osnp.isin(snps)]
        absent = [s for s in snps if s not in set(osnp)]
        dropped += _rows("outcome rows", "outcome", absent, "dropped",
                         "absent from the outcome file"
                         + ("" if opts.ld_panel is not None or reads is None else
                            " (give ld_panel to look for LD proxies)"))
        miss, n_direct = absent, len(snps) - len(absent)
    o2.attrs = {}
    flow += [("outcome rows", "instruments found in the outcome file", n_direct),
             ("outcome rows", "replaced by an LD proxy", len(proxies)),
             ("outcome rows", "absent from the outcome file (no proxy)", len(miss)),
             ("outcome rows", "outcome SNPs that are not instruments (unused)",
              int((~osnp.isin(snps)).sum()) - len(proxies))]
    return {"exposure": e, "outcome": o2, "dropped": dropped, "flow": flow, "proxies": proxies,
            "clumped": clumped, "clump": clump, "warnings": warn, "n_instruments": len(snps)}


def _read_sentence(side: str, path, rep: dict) -> str:
    n_drop = len(rep.get("dropped", []))
    n_flag = len(rep.get("flagged", []))
    build = rep.get("genome_build")
    cols = rep.get("columns_used") or {}
    mapping = ("" if rep.get("format", "").startswith(("GWAS-", "TwoSampleMR")) else
               " with the column mapping " + ", ".join(f"{k} -> {v}" for k, v in cols.items()))
    return (f"The {side} GWAS {Path(path).name} was read as {rep.get('format')} "
            f"({rep.get('reader')}){mapping}: genome build "
            + (f"{build} ({rep.get('build_source')})" if build else
               "not stated in the file (set gwas_build to record the one assumed)")
            + f"; {plural(int(rep.get('n_input_rows', 0)), 'row')} read, {fmt_count(n_drop)} "
              f"dropped and {fmt_count(n_flag)} flagged by the reader (listed with their reasons "
              "in mr_snps_dropped).")


def _files_methods(opts: Options, two: dict | None) -> str:
    """The two-sample inputs' part of the methods: readers, builds, selection, clumping,
    proxies."""
    if two is None:
        return ""
    out = []
    if two["inputs"] is not None:
        for r in two["inputs"].itertuples():
            out.append(f"the {r.side} GWAS read as {r.format} ({r.reader}; genome build "
                       + (f"{r.genome_build}, {r.build_source}" if r.genome_build else
                          "not stated") + ")")
    if opts.pval_threshold is not None:
        out.append(f"instruments selected as the exposure SNPs with p <= {opts.pval_threshold:g}")
    if two["clumped"] is not None:
        out.append(f"LD-clumped with PLINK 1.9's --clump rule (radiogenomics.mr.ld_clump; "
                   f"index SNPs by p, r2 > {opts.clump_r2:g} within {opts.clump_kb:g} kb, "
                   "two-locus EM haplotype r2 among the founders of the reference panel "
                   f"{Path(opts.ld_panel).name}; Purcell et al. 2007)")
    if opts.use_proxies and opts.ld_panel is not None:
        out.append("instruments absent from the outcome GWAS replaced by their best LD proxy in "
                   f"the panel (r2 >= {opts.proxy_r2:g}, within 500 kb, alleles aligned by the "
                   "sign of D; TwoSampleMR's extract_outcome_data)")
    return (": " + "; ".join(out) + "; the SNPs") if out else ""


def _renamed(used) -> str:
    """The reader's column mapping, only the columns it renamed ("as named" if none)."""
    pairs = [f"{k} -> {v}" for k, v in (used or {}).items() if str(k) != str(v)]
    return "; ".join(pairs) if pairs else "as named"


def _two_sample_report(frag: Fragment, two: dict) -> None:
    if two["inputs"] is not None:
        frag.table(two["inputs"], "mr_gwas_inputs",
                   "The two GWAS files: format and the reader used, genome build and where it "
                   "came from (the file's header, or assumed from gwas_build), rows read, rows "
                   "dropped and flagged by the reader, and the columns it renamed.",
                   index=False)
    frag.table(two["snp_flow"], "mr_snp_flow",
               "What happened to the SNPs between the files and the two-sample MR estimate, "
               "one row per stage and outcome (reading, instrument selection, LD clumping, "
               "outcome rows direct or by proxy, harmonisation) with the number of SNPs.",
               max_rows=40, index=False)
    frag.table(two["snps_dropped"], "mr_snps_dropped",
               "Every SNP dropped, excluded or flagged on the way to the two-sample estimate: "
               "the stage, the side (exposure / outcome), the SNP, the action (dropped: "
               "removed; excluded: kept in the harmonised data with mr_keep False; flagged: "
               "kept but changed) and the reason, with details (the clumping index SNP and "
               "r2). The CSV holds the full list.", index=False)
    if len(two["proxies"]):
        frag.table(two["proxies"], "mr_proxies",
                   "Instruments absent from the outcome GWAS and the LD proxy whose outcome "
                   "association stands in for them (r2: PLINK's EM haplotype r2 in the "
                   "reference panel; the proxy's alleles renamed to the instrument's).",
                   index=False)
    if two["clumped"] is not None:
        frag.table(two["clumped"], "mr_clumped",
                   "PLINK's .clumped table of the LD clumping: one row per index SNP kept "
                   "(chromosome, position, p-value), TOTAL the number of SNPs it absorbed and "
                   "SP2 their names.", index=False)


def _two_sample_finding(frag: Fragment, two: dict) -> None:
    flow = two["snp_flow"]

    def n(stage, what_start):
        return int(flow.loc[(flow["stage"] == stage)
                            & flow["what"].str.startswith(what_start), "n_snps"].sum())

    used = n("harmonise", "used in")
    read = ""
    if two["inputs"] is not None:
        read = "; ".join(f"{r.side} {Path(r.file).name}: {r.format}, "
                         + (f"{r.genome_build}" + (" (assumed)" if "assumed" in
                                                   str(r.build_source) else "")
                            if r.genome_build else "build not stated")
                         + f", {fmt_count(r.rows_read)} rows read"
                         for r in two["inputs"].itertuples()) + ". "
    dropped = two["snps_dropped"]
    removed = dropped[dropped["action"] != "flagged"]
    frag.finding(f"Two-sample MR inputs: {read}{fmt_count(used)} SNPs used; "
                 f"{fmt_count(n('clumping', 'in LD'))} clumped away, "
                 f"{fmt_count(len(two['proxies']))} replaced by a proxy, "
                 f"{fmt_count(len(removed))} dropped or excluded in all (see mr_snps_dropped).",
                 "info")


def _flow_sentence(prep: dict, h: pd.DataFrame, opts: Options) -> str:
    """What happened to the instruments between the files and the MR estimate."""
    flow = pd.DataFrame(prep["flow"], columns=["stage", "what", "n_snps"])

    def n(stage, what):
        v = flow.loc[(flow["stage"] == stage) & (flow["what"] == what), "n_snps"]
        return int(v.sum())

    parts = []
    if opts.pval_threshold is not None:
        parts.append(f"{fmt_count(n('instruments', 'candidate instruments'))} exposure SNPs "
                     f"with p <= {opts.pval_threshold:g}")
    if prep["clump"] is not None:
        c = prep["clump"]
        parts.append(f"LD clumping (r2 > {opts.clump_r2:g} within {opts.clump_kb:g} kb) kept "
                     f"{fmt_count(len(c.data))} index SNPs and removed "
                     f"{fmt_count(len(c.dropped))} ("
                     + "; ".join(f"{k.split(' (')[0]}: {fmt_count(v)}"
                                 for k, v in c.dropped["reason"].value_counts().items())
                     + ")" if len(c.dropped) else
                     f"LD clumping (r2 > {opts.clump_r2:g} within {opts.clump_kb:g} kb) kept "
                     f"all {fmt_count(len(c.data))} SNPs")
    parts.append(f"{fmt_count(n('outcome rows', 'instruments found in the outcome file'))} of "
                 f"{plural(prep['n_instruments'], 'instrument')} were in the outcome file, "
                 f"{fmt_count(len(prep['proxies']))} replaced by an LD proxy (r2 >= "
                 f"{opts.proxy_r2:g})" if opts.use_proxies and prep["clump"] is not None else
                 f"{fmt_count(n('outcome rows', 'instruments found in the outcome file'))} of "
                 f"{plural(prep['n_instruments'], 'instrument')} were in the outcome file")
    miss = n("outcome rows", "absent from the outcome file (no proxy)")
    if miss:
        parts.append(f"{fmt_count(miss)} absent from it (dropped)")
    keep = int(h["mr_keep"].astype(bool).sum())
    parts.append(f"{fmt_count(keep)} SNPs entered the MR estimates")
    return ("Instruments: " + "; ".join(parts) + ". Every dropped SNP is listed with its "
            "stage and reason in mr_snps_dropped, the counts per stage in mr_snp_flow.")


def _two_sample_tables(prep: dict, reads, opts: Options) -> dict:
    """The two-sample input accounting as tables: ``inputs`` (one row per file, None in the
    demo), ``snp_flow`` (stage, what, n_snps), ``snps_dropped`` (stage, side, SNP, action,
    reason, detail: every SNP removed, excluded or flagged), ``proxies`` (SNP, proxy, r2),
    ``clumped`` (PLINK's .clumped table, None without a panel) and ``warnings``."""
    inputs = None
    if reads is not None:
        inputs = pd.DataFrame([{
            "side": side, "file": str(getattr(opts, f"{side}_gwas")), "format": r.get("format"),
            "reader": r.get("reader"), "genome_build": r.get("genome_build"),
            "build_source": r.get("build_source"),
            "rows_read": int(r.get("n_input_rows", 0)),
            "dropped_by_reader": len(r.get("dropped", [])),
            "flagged_by_reader": len(r.get("flagged", [])),
            "columns_renamed": _renamed(r.get("columns_used"))}
            for side, r in reads.items()])
    return {"inputs": inputs,
            "snp_flow": pd.DataFrame(prep["flow"], columns=["stage", "what", "n_snps"]),
            "snps_dropped": pd.DataFrame(prep["dropped"], columns=_DROP_COLS),
            "proxies": prep["proxies"], "clumped": prep["clumped"],
            "warnings": list(prep["warnings"])}
