"""Reading and writing GWAS summary statistics for MR: TwoSampleMR's ``format_data``, the IEU
OpenGWAS GWAS-VCF format and the GWAS Catalog GWAS-SSF format.

Every reader returns a TwoSampleMR exposure/outcome frame (``SNP, beta.<type>, se.<type>,
effect_allele.<type>, other_allele.<type>, eaf.<type>, pval.<type>, samplesize.<type>,
chr.<type>, pos.<type>, <type>, id.<type>, mr_keep.<type>, pval_origin.<type>`` ...; ``type``
is ``"exposure"`` or ``"outcome"``), ready for :func:`radiogenomics.mr.harmonise`.  The frame
carries a report in ``frame.attrs["report"]`` (a plain dict: source, format, genome build and
where it came from, column mapping used, counts, and the lists ``dropped`` (rows removed, with
the reason) and ``flagged`` (rows kept but changed or marked ``mr_keep = False``, with the
reason)); :func:`report_table` turns both lists into one DataFrame.  The genome build is also in
``frame.attrs["genome_build"]``; :func:`check_builds` (called by ``harmonise``) refuses an
exposure and outcome on different builds.

Formats
-------
* TwoSampleMR ``format_data`` (0.7.9, ``R/read_data.R``; Hemani et al. 2018, eLife 7:e34408):
  see :func:`format_data` for the exact rules.
* GWAS-VCF (Lyon et al. 2021, Genome Biol 22:32; IEU OpenGWAS): VCF 4.2 with one sample column
  per study; the effect allele is ``ALT`` and the other allele ``REF``; ``FORMAT`` fields
  ``ES`` (effect), ``SE``, ``LP`` (-log10 p), ``AF`` (ALT frequency), ``SS`` (sample size),
  ``NC`` (cases), ``ID`` (study variant id), ``EZ``, ``SI`` (ignored here).  ``ncontrol = SS -
  NC`` as in gwasglue's ``gwasvcf_to_TwoSampleMR``.  Multi-allelic records (``ALT = A,T``) give
  one row per alternative allele.  The build comes from ``##contig=<...,assembly=...>`` or
  ``##reference=``.
* GWAS-SSF (GWAS Catalog summary-statistics format v1.0, Hayhurst et al. 2022, bioRxiv
  2022.07.15.500230): tab-separated, mandatory ``chromosome, base_pair_location,
  effect_allele, other_allele, beta|odds_ratio|hazard_ratio, standard_error,
  effect_allele_frequency, p_value|neg_log_10_p_value``, optional ``rsid``, ``n``,
  ``variant_id``; missing values ``NA``; chromosome 23/24/25 = X/Y/MT; the build in the
  companion ``<file>-meta.yaml`` (``genome_assembly``).  An odds or hazard ratio is converted to
  its logarithm (``beta = log(OR)``, ``units = "log odds"``, the SE being the SE of log(OR) as
  the format specifies) and the conversion is recorded in the report.
"""

from __future__ import annotations

import gzip
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import InputError, listing
from ._core import NA_TEXT, chrom_order

__all__ = ["format_data", "read_gwas_vcf", "read_gwas_ssf", "write_gwas_vcf", "write_gwas_ssf",
           "report_table", "check_builds", "check_pvalues", "check_eaf_concordance",
           "normalise_build"]

_TYPES = ("exposure", "outcome")
_ALLELE_RE = re.compile(r"^[ACTG]+$")

#: spellings of genome builds found in VCF/SSF headers -> canonical name
_BUILDS = {
    "grch37": "GRCh37", "hg19": "GRCh37", "b37": "GRCh37", "hs37d5": "GRCh37", "hg19/grch37": "GRCh37",
    "grch38": "GRCh38", "hg38": "GRCh38", "b38": "GRCh38", "hg38/grch38": "GRCh38",
    "ncbi36": "NCBI36", "hg18": "NCBI36", "b36": "NCBI36", "hg18/ncbi36": "NCBI36",
}


def normalise_build(build) -> str | None:
    """Canonical build name (``GRCh37``, ``GRCh38``, ``NCBI36``) from the usual spellings
    (hg19, b37, HG19/GRCh37, GRCh38.p13, ...); None for None and for "unknown" / "NR" / "NA" /
    "" (a file that states no build, e.g. a GWAS-SSF meta.yaml written without one);
    :class:`InputError` otherwise."""
    if build is None or (isinstance(build, float) and np.isnan(build)):
        return None
    key = str(build).strip().lower()
    if key in ("", "unknown", "nr", "na", "none", "not reported"):
        return None
    key = re.sub(r"\.p\d+$", "", key)
    if key in _BUILDS:
        return _BUILDS[key]
    for k, v in _BUILDS.items():
        if re.search(rf"(^|[^a-z0-9]){re.escape(k)}([^a-z0-9]|$)", key):
            return v
    raise InputError(f"unknown genome build {build!r}; give one of 'GRCh37' (hg19), 'GRCh38' (hg38) "
                     "or 'NCBI36' (hg18)")


def _resolve_build(found, given, where: str, report: dict) -> str | None:
    found_n = normalise_build(found) if found is not None else None
    given_n = normalise_build(given) if given is not None else None
    if found_n and given_n and found_n != given_n:
        raise InputError(f"the file says genome build {found_n} ({where}) but build={given!r} was given; "
                         "drop build= or lift the file over to the build you need")
    if found_n:
        report["genome_build"], report["build_source"] = found_n, where
    elif given_n:
        report["genome_build"], report["build_source"] = given_n, "assumed (build= argument)"
    else:
        report["genome_build"], report["build_source"] = None, "not stated (pass build= to record it)"
    return report["genome_build"]


# --------------------------------------------------------------------------- format_data
def _text_is_na(col: pd.Series) -> pd.Series:
    text = col.astype("string").str.strip().str.upper()
    return col.isna() | text.isin(NA_TEXT).fillna(True)


def _to_numeric(col: pd.Series, name: str, snps: pd.Series, flags: list) -> pd.Series:
    """R's ``as.numeric``: text that is not a number -> NaN (flagged with the SNP)."""
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return col.astype(float)
    na = _text_is_na(col)
    parsed = pd.to_numeric(col.astype("string").str.strip().where(~na), errors="coerce").astype(float)
    bad = parsed.isna() & ~na
    for s, v in zip(snps[bad], col[bad]):
        flags.append({"SNP": s, "column": name, "reason": f"text {v!r} is not a number: set to NA"})
    return parsed


def _read_table(path, sep):
    path = Path(path)
    if not path.exists():
        raise InputError(f"file {str(path)!r} does not exist; check the path")
    name = path.name.lower().removesuffix(".gz")
    if sep is None:
        sep = "," if name.endswith(".csv") else "\t" if name.endswith((".tsv", ".tab")) else r"\s+"
    elif sep == " ":
        sep = r"\s+"     # data.table::fread(sep = " ") treats runs of spaces as one separator
    # numbers become numbers where a whole column parses (as data.table::fread); NA and empty
    # cells are missing; other text (e.g. "NR" in eaf) is kept and handled column by column
    return pd.read_csv(path, sep=sep, keep_default_na=False, na_values=["NA", ""],
                       engine="python" if sep == r"\s+" else "c")


def format_data(dat, type: str = "exposure", snps=None, phenotype_col: str = "Phenotype",
                snp_col: str = "SNP", beta_col: str = "beta", se_col: str = "se",
                eaf_col: str = "eaf", effect_allele_col: str = "effect_allele",
                other_allele_col: str = "other_allele", pval_col: str = "pval",
                units_col: str = "units", ncase_col: str = "ncase", ncontrol_col: str = "ncontrol",
                samplesize_col: str = "samplesize", gene_col: str = "gene", id_col: str = "id",
                min_pval: float = 1e-200, z_col: str = "z", info_col: str = "info",
                chr_col: str = "chr", pos_col: str = "pos", log_pval: bool = False,
                sep: str | None = None, build=None) -> pd.DataFrame:
    """TwoSampleMR's ``format_data`` / ``read_exposure_data`` / ``read_outcome_data``.

    Parameters are TwoSampleMR's, with its defaults (the ``*_col`` names of the input columns).
    ``dat`` is a DataFrame or a path (read as text; ``sep`` default: whitespace, as
    ``read_exposure_data``'s ``sep = " "``, or ``,``/tab for .csv/.tsv files; then, as
    ``read_*_data``, ``data_source.<type> = "textfile"`` is added).  ``build`` records the genome
    build assumed for ``chr``/``pos`` (a path or frame carries none).

    Rules (TwoSampleMR 0.7.9 ``R/read_data.R``, in order):

    1. only the named columns are kept (in input order); the SNP column is required; SNP ids are
       lower-cased and stripped of white space; rows without a SNP id are **dropped**
       (reported); with ``snps`` only those SNPs are kept (the others are reported as dropped);
    2. ``<type>`` = the phenotype column (or ``type`` when absent); ``log_pval``: p = 10^-p;
    3. duplicated SNPs within a phenotype: the first is kept, the others **dropped** (reported);
    4. ``mr_keep.<type>`` = all of SNP, beta, se, effect allele columns present;
    5. beta: text -> NA, non-finite -> NA; se: text, non-finite or <= 0 -> NA; eaf: text (e.g.
       "NR"), non-finite, <= 0 or >= 1 -> NA (TwoSampleMR excludes both ends);
    6. alleles: logical ``T``/``F`` read as TRUE/FALSE -> "T"/"F"; upper-cased; anything that is
       not ``^[ACTG]+$`` or ``D``/``I`` (a missing other allele included) -> NA and
       ``mr_keep = False``;
    7. pval: text, non-finite or outside [0, 1] -> NA; below ``min_pval`` -> ``min_pval``;
       ``pval_origin = "reported"``; missing p-values (or no p-value column) are inferred as
       ``2 Phi(-|beta/se|)`` with ``pval_origin = "inferred"`` (the SE is never inferred);
    8. ncase, ncontrol, samplesize numeric; a missing samplesize = ncase + ncontrol;
    9. gene, info, z, chr, pos, units renamed with the ``.<type>`` suffix (plus TwoSampleMR's
       ``units.<type>_dat`` copy); several units in one phenotype append ``" (unit)"`` to it;
    10. ``id.<type>`` = the id column, else one id per phenotype.  TwoSampleMR draws random
        6-character ids; here the id is the phenotype name itself (deterministic; the only
        intended difference);
    11. ``mr_keep`` False where SNP, beta, se or effect allele is missing; absent MR columns are
        added as NA.

    No conversion of odds ratios (as TwoSampleMR: give log odds ratios as beta).

    Returns
    -------
    DataFrame
        TwoSampleMR's columns; ``attrs["report"]`` holds the column mapping used, counts and every
        dropped or flagged SNP with its reason (see :func:`report_table`); ``attrs["genome_build"]``.
    """
    if type not in _TYPES:
        raise InputError(f"type must be 'exposure' or 'outcome', got {type!r}")
    source = "data frame"
    from_file = not isinstance(dat, pd.DataFrame)
    if from_file:
        if not isinstance(dat, (str, os.PathLike)):
            raise TypeError(f"dat must be a DataFrame or a path, got {_type_name(dat)}")
        source = str(dat)
        dat = _read_table(dat, sep)
    report: dict = {"source": source, "format": "TwoSampleMR format_data", "type": type,
                    "n_input_rows": int(len(dat)), "dropped": [], "flagged": []}
    _resolve_build(None, build, "", report)
    dropped, flags = report["dropped"], report["flagged"]

    all_cols = [phenotype_col, snp_col, beta_col, se_col, eaf_col, effect_allele_col,
                other_allele_col, pval_col, units_col, ncase_col, ncontrol_col, samplesize_col,
                gene_col, id_col, z_col, info_col, chr_col, pos_col]
    keep_cols = [c for c in dat.columns if c in all_cols]
    if not keep_cols:
        raise InputError(f"none of the named columns is in the data (it has {listing(dat.columns, 8)}); "
                         "pass the column names, e.g. snp_col='rsid', beta_col='b'")
    if snp_col not in dat.columns:
        raise InputError(f"SNP column {snp_col!r} not found (columns: {listing(dat.columns, 8)}); "
                         "pass snp_col=")
    report["columns_used"] = {c: c for c in keep_cols}
    d = dat[keep_cols].copy().reset_index(drop=True)
    d = d.rename(columns={snp_col: "SNP"})
    snp_na = d["SNP"].isna()
    d["SNP"] = d["SNP"].astype("string").str.lower().str.replace(r"\s", "", regex=True)
    d.loc[snp_na, "SNP"] = pd.NA
    for i in np.flatnonzero(d["SNP"].isna().to_numpy()):
        dropped.append({"SNP": None, "row": int(i), "reason": "missing SNP identifier"})
    d = d[d["SNP"].notna()].copy()
    d["SNP"] = d["SNP"].astype(object)
    if snps is not None:
        wanted = {str(s) for s in snps}
        out = ~d["SNP"].isin(wanted)
        for s in d.loc[out, "SNP"]:
            dropped.append({"SNP": s, "reason": "not in snps"})
        d = d[~out]
        if d.empty:
            raise InputError("none of the requested snps is in the data; check the SNP ids")

    if phenotype_col not in d.columns:
        d[type] = type
    else:
        d[type] = d[phenotype_col]
        if phenotype_col != type:
            d = d.drop(columns=phenotype_col)
    if pval_col in d.columns and log_pval:
        lp = _to_numeric(d[pval_col], pval_col, d["SNP"], flags)
        d[pval_col] = 10.0 ** -lp

    parts = []
    for ph, x in d.groupby(type, sort=False, dropna=False):
        dup = x["SNP"].duplicated()
        for s in x.loc[dup, "SNP"]:
            dropped.append({"SNP": s, "reason": f"duplicated SNP in {type} {ph!r} (first kept)"})
        parts.append(x[~dup])
    d = pd.concat(parts, ignore_index=True) if parts else d.iloc[:0]

    mk = f"mr_keep.{type}"
    required = ["SNP", beta_col, se_col, effect_allele_col]
    missing_cols = [c for c in required if c not in d.columns]
    d[mk] = not missing_cols
    if missing_cols:
        warnings.warn(f"columns {missing_cols} required for MR are absent: every SNP gets "
                      f"mr_keep.{type} = False", UserWarning, stacklevel=2)
        report["missing_mr_columns"] = missing_cols
    snp = d["SNP"]

    def rename(col, new):
        if col in d.columns:
            i = list(d.columns).index(col)
            cols = list(d.columns)
            cols[i] = new
            d.columns = cols
            report["columns_used"][col] = new
            return True
        return False

    if rename(beta_col, f"beta.{type}"):
        v = _to_numeric(d[f"beta.{type}"], beta_col, snp, flags)
        bad = ~np.isfinite(v) & v.notna()
        for s in snp[bad]:
            flags.append({"SNP": s, "column": beta_col, "reason": "infinite beta: set to NA"})
        d[f"beta.{type}"] = v.where(np.isfinite(v))
    if rename(se_col, f"se.{type}"):
        v = _to_numeric(d[f"se.{type}"], se_col, snp, flags)
        bad = v.notna() & ~(np.isfinite(v) & (v > 0))
        for s, x in zip(snp[bad], v[bad]):
            flags.append({"SNP": s, "column": se_col, "reason": f"se {x!r} <= 0 or infinite: set to NA"})
        d[f"se.{type}"] = v.where(np.isfinite(v) & (v > 0))
    if rename(eaf_col, f"eaf.{type}"):
        v = _to_numeric(d[f"eaf.{type}"], eaf_col, snp, flags)
        bad = v.notna() & ~(np.isfinite(v) & (v > 0) & (v < 1))
        for s, x in zip(snp[bad], v[bad]):
            flags.append({"SNP": s, "column": eaf_col, "reason": f"eaf {x!r} not in (0, 1): set to NA"})
        d[f"eaf.{type}"] = v.where(np.isfinite(v) & (v > 0) & (v < 1))
    for col, new in ((effect_allele_col, f"effect_allele.{type}"),
                     (other_allele_col, f"other_allele.{type}")):
        if rename(col, new):
            a = d[new]
            if pd.api.types.is_bool_dtype(a):
                a = a.map({True: "T", False: "F"})
            a = a.astype(object).where(~_text_is_na(a), None)
            up = a.map(lambda x: None if x is None or (isinstance(x, float) and np.isnan(x))
                       else ("T" if x is True else "F" if x is False else str(x).upper()))
            ok = up.map(lambda x: x is not None and (bool(_ALLELE_RE.match(x)) or x in ("D", "I")))
            for s, x in zip(snp[~ok], up[~ok]):
                what = "missing" if x is None else f"{x!r} is not A/C/G/T, an indel of them or D/I"
                flags.append({"SNP": s, "column": col,
                              "reason": f"{new.split('.')[0].replace('_', ' ')} {what}: mr_keep.{type} = False"})
            d[new] = up.where(ok, np.nan)
            d.loc[~ok.to_numpy(), mk] = False
    pcol = f"pval.{type}"
    if rename(pval_col, pcol):
        v = _to_numeric(d[pcol], pval_col, snp, flags)
        bad = v.notna() & ~(np.isfinite(v) & (v >= 0) & (v <= 1))
        for s, x in zip(snp[bad], v[bad]):
            flags.append({"SNP": s, "column": pval_col, "reason": f"p-value {x!r} not in [0, 1]: set to NA"})
        v = v.where(np.isfinite(v) & (v >= 0) & (v <= 1))
        low = v < min_pval
        if low.any():
            report["n_pval_below_min_pval"] = int(low.sum())
            for s in snp[low]:
                flags.append({"SNP": s, "column": pval_col,
                              "reason": f"p-value below min_pval = {min_pval:g}: set to min_pval"})
        d[pcol] = v.where(~low, min_pval)
        d[f"pval_origin.{type}"] = "reported"
        miss = d[pcol].isna()
        if miss.any() and f"beta.{type}" in d.columns and f"se.{type}" in d.columns:
            z = np.abs(d.loc[miss, f"beta.{type}"]) / d.loc[miss, f"se.{type}"]
            d.loc[miss, pcol] = 2 * stats.norm.sf(z.to_numpy(dtype=float))
            d.loc[miss, f"pval_origin.{type}"] = "inferred"
    if f"beta.{type}" in d.columns and f"se.{type}" in d.columns and pcol not in d.columns:
        d[pcol] = 2 * stats.norm.sf((np.abs(d[f"beta.{type}"]) / d[f"se.{type}"]).to_numpy(float))
        d[f"pval_origin.{type}"] = "inferred"
        report["pval_inferred_for_all"] = True
    for col, new in ((ncase_col, f"ncase.{type}"), (ncontrol_col, f"ncontrol.{type}")):
        if rename(col, new):
            d[new] = _to_numeric(d[new], col, snp, flags)
    ss = f"samplesize.{type}"
    nc, nn = f"ncase.{type}", f"ncontrol.{type}"
    if rename(samplesize_col, ss):
        d[ss] = _to_numeric(d[ss], samplesize_col, snp, flags)
        if nc in d.columns and nn in d.columns:
            fill = d[ss].isna() & d[nc].notna() & d[nn].notna()
            d.loc[fill, ss] = d.loc[fill, nc] + d.loc[fill, nn]
    elif nc in d.columns and nn in d.columns:
        d[ss] = d[nc] + d[nn]
    for col, f in ((gene_col, "gene"), (info_col, "info"), (z_col, "z"), (chr_col, "chr"),
                   (pos_col, "pos")):
        rename(col, f"{f}.{type}")
    if rename(units_col, f"units.{type}"):
        u = d[f"units.{type}"]
        d[f"units.{type}_dat"] = u.astype(object).where(u.notna(), np.nan).map(
            lambda x: x if pd.isna(x) else str(x))
        multi = d.groupby(type, sort=False, dropna=False)[f"units.{type}"].nunique(dropna=False) > 1
        if multi.any():      # as TwoSampleMR: then every phenotype gets its unit appended
            report["units_appended_to_phenotype"] = [str(x) for x in multi.index[multi]]
            d[type] = d[type].astype(str) + " (" + u.astype(str) + ")"
    if rename(id_col, f"id.{type}"):
        d[f"id.{type}"] = d[f"id.{type}"].astype(str)
    else:
        d[f"id.{type}"] = d[type].astype(str)

    if d[mk].any():
        present = [c for c in ("SNP", f"beta.{type}", f"se.{type}", f"effect_allele.{type}") if c in d.columns]
        complete = d[present].notna().all(axis=1)
        for _, row in d.loc[d[mk] & ~complete, present].iterrows():
            gone = ", ".join(c for c in present if pd.isna(row[c]))
            flags.append({"SNP": row["SNP"], "column": gone,
                          "reason": f"missing {gone}: mr_keep.{type} = False"})
        d[mk] = d[mk] & complete
    if not d[mk].any():
        warnings.warn(f"none of the {len(d)} SNPs can be used for MR: they lack beta, se or "
                      "effect allele (see attrs['report'])", UserWarning, stacklevel=2)
    for c in ("SNP", f"beta.{type}", f"se.{type}", f"effect_allele.{type}", f"other_allele.{type}",
              f"eaf.{type}"):
        if c not in d.columns:
            d[c] = np.nan
    if from_file:
        d[f"data_source.{type}"] = "textfile"
    d = d.reset_index(drop=True)
    report["n_rows"] = int(len(d))
    report["n_mr_keep"] = int(d[mk].sum())
    d.attrs["report"] = report
    d.attrs["genome_build"] = report["genome_build"]
    return d


def _type_name(x) -> str:
    return x.__class__.__name__


def report_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The dropped and flagged SNPs of a reader's report as one DataFrame
    (``SNP, action ("dropped"/"flagged"), column, reason``)."""
    rep = frame.attrs.get("report") if isinstance(frame, pd.DataFrame) else frame
    if not isinstance(rep, dict):
        raise InputError("frame has no report (attrs['report']); it did not come from format_data, "
                         "read_gwas_vcf or read_gwas_ssf, or the attribute was lost in a pandas "
                         "operation: read the file again")
    rows = [{"SNP": r.get("SNP"), "action": "dropped", "column": r.get("column", ""),
             "reason": r["reason"]} for r in rep.get("dropped", [])]
    rows += [{"SNP": r.get("SNP"), "action": "flagged", "column": r.get("column", ""),
              "reason": r["reason"]} for r in rep.get("flagged", [])]
    return pd.DataFrame(rows, columns=["SNP", "action", "column", "reason"])


# --------------------------------------------------------------------------- checks
def _side(frame: pd.DataFrame, type: str | None) -> str:
    if type is not None:
        if type not in _TYPES:
            raise InputError(f"type must be 'exposure' or 'outcome', got {type!r}")
        return type
    has = [t for t in _TYPES if f"beta.{t}" in frame.columns]
    if len(has) != 1:
        raise InputError("cannot tell whether the frame is exposure or outcome data (it has "
                         f"{'both' if has else 'neither'} beta.exposure and beta.outcome); pass type=")
    return has[0]


def check_builds(exposure: pd.DataFrame, outcome: pd.DataFrame) -> str | None:
    """The common genome build of an exposure and an outcome frame (``attrs["genome_build"]``);
    :class:`InputError` when they differ (chr/pos and proxies would not line up).  None when
    either build is unknown."""
    bx = normalise_build(exposure.attrs.get("genome_build")) if hasattr(exposure, "attrs") else None
    by = normalise_build(outcome.attrs.get("genome_build")) if hasattr(outcome, "attrs") else None
    if bx and by and bx != by:
        raise InputError(f"the exposure data are on genome build {bx} but the outcome data on {by}; "
                         "lift one over (e.g. UCSC liftOver / CrossMap) so that both use the same "
                         "build before harmonising")
    return bx if bx == by else None


def check_pvalues(frame: pd.DataFrame, type: str | None = None,
                  max_log10_ratio: float = 1.0) -> pd.DataFrame:
    r"""SNPs whose reported p-value is grossly inconsistent with ``2 Phi(-|beta/se|)``.

    Flags ``|log10 p_reported - log10 p_wald| > max_log10_ratio`` (default: more than 10-fold
    apart), which points at a wrong SE column, SEs of OR instead of log OR, or p-values from a
    different test; also flags ``se <= 0``.  Rows with ``pval_origin = "inferred"`` are skipped.
    Returns ``SNP, pval, pval_wald, log10_ratio, reason``.
    """
    t = _side(frame, type)
    b = pd.to_numeric(frame[f"beta.{t}"], errors="coerce").to_numpy(float)
    se = pd.to_numeric(frame[f"se.{t}"], errors="coerce").to_numpy(float)
    p = pd.to_numeric(frame.get(f"pval.{t}", pd.Series(np.nan, index=frame.index)),
                      errors="coerce").to_numpy(float)
    with np.errstate(all="ignore"):
        logp_wald = (stats.norm.logsf(np.abs(b / se)) + np.log(2)) / np.log(10)
        ratio = np.log10(p) - logp_wald
    inferred = (frame[f"pval_origin.{t}"] == "inferred").to_numpy() if f"pval_origin.{t}" in frame else False
    reason = np.full(len(frame), "", dtype=object)
    bad_p = np.isfinite(ratio) & (np.abs(ratio) > max_log10_ratio) & ~inferred
    reason[bad_p] = [f"reported p differs {10 ** abs(r):.3g}-fold from 2*Phi(-|beta/se|)" for r in ratio[bad_p]]
    bad_se = ~np.isnan(se) & ~(se > 0)
    reason[bad_se] = "se <= 0"
    keep = reason != ""
    return pd.DataFrame({"SNP": frame["SNP"].to_numpy()[keep], "pval": p[keep],
                         "pval_wald": 10 ** logp_wald[keep], "log10_ratio": ratio[keep],
                         "reason": reason[keep]})


def check_eaf_concordance(dat: pd.DataFrame, max_diff: float = 0.2) -> pd.DataFrame:
    """Effect-allele orientation check on harmonised data: SNPs whose exposure and outcome
    effect-allele frequencies (after harmonisation, so referring to the same allele) differ by
    more than ``max_diff`` -- the mark of an effect/other allele label swapped in one study, or
    of different ancestries.  Returns ``SNP, eaf.exposure, eaf.outcome, diff, reason``."""
    for c in ("SNP", "eaf.exposure", "eaf.outcome"):
        if c not in dat.columns:
            raise InputError(f"check_eaf_concordance needs column {c!r}; run harmonise() on frames "
                             "with allele frequencies")
    fx = pd.to_numeric(dat["eaf.exposure"], errors="coerce").to_numpy(float)
    fy = pd.to_numeric(dat["eaf.outcome"], errors="coerce").to_numpy(float)
    diff = np.abs(fx - fy)
    bad = diff > max_diff
    return pd.DataFrame({"SNP": dat["SNP"].to_numpy()[bad], "eaf.exposure": fx[bad],
                         "eaf.outcome": fy[bad], "diff": diff[bad],
                         "reason": f"effect-allele frequencies differ by more than {max_diff}: "
                                   "effect allele possibly mislabelled in one study"})


# --------------------------------------------------------------------------- GWAS-VCF
def _open_text(path):
    path = Path(path)
    if not path.exists():
        raise InputError(f"file {str(path)!r} does not exist; check the path")
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":        # gzip or BGZF (a series of gzip members)
        return gzip.open(path, "rt")
    return open(path)


def _header_attrs(line: str) -> dict:
    inner = line[line.index("<") + 1: line.rindex(">")] if "<" in line else ""
    out, key, buf, quoted = {}, None, "", False
    for ch in inner + ",":
        if ch == '"':
            quoted = not quoted
        elif ch == "=" and key is None and not quoted:
            key, buf = buf, ""
        elif ch == "," and not quoted:
            if key is not None:
                out[key.strip()] = buf.strip()
            key, buf = None, ""
        else:
            buf += ch
    return out


def _vcf_float(x: str) -> float:
    if x in (".", "", "NA"):
        return np.nan
    try:
        return float(x)
    except ValueError:
        return np.nan


def read_gwas_vcf(path, type: str = "exposure", study: str | None = None, build=None,
                  phenotype: str | None = None, snps=None, min_pval: float = 1e-200) -> pd.DataFrame:
    """Read an IEU OpenGWAS GWAS-VCF file (plain, gzip or bgzip) into a TwoSampleMR frame.

    ``ALT`` is the effect allele, ``REF`` the other allele; ``FORMAT`` fields ``ES``, ``SE``,
    ``LP`` (p = 10^-LP), ``AF``, ``SS``, ``NC`` of the study column ``study`` (the only sample
    column when None) give beta, se, pval, eaf, samplesize, ncase (``ncontrol = SS - NC``);
    ``AF`` falls back to the ``INFO`` ``AF``.  The SNP id is the ``ID`` column, or the
    ``FORMAT`` ``ID``, or ``chr:pos_ref_alt`` when both are missing (``.``).  Multi-allelic
    records give one row per ``ALT``.  The genome build comes from ``##contig`` ``assembly=`` (or
    ``##reference``), else ``build`` (recorded as assumed); a file build that contradicts
    ``build`` is an error.  The rows then go through :func:`format_data` (same checks and
    report), with ``id.<type>`` = the study id and ``<type>`` = ``phenotype`` (default: study id).
    """
    report_extra: dict = {"format": "GWAS-VCF"}
    found_build, where = None, ""
    samples, header = None, None
    records, malformed = [], []
    n_records = 0
    with _open_text(path) as fh:
        for line in fh:
            if line.startswith("##"):
                low = line.lower()
                if low.startswith("##contig") and found_build is None:
                    a = _header_attrs(line)
                    if "assembly" in a:
                        found_build, where = a["assembly"], "##contig assembly"
                elif low.startswith("##reference") and found_build is None:
                    ref = line.split("=", 1)[1].strip()
                    try:
                        normalise_build(ref)
                        found_build, where = ref, "##reference"
                    except InputError:
                        pass
                continue
            if line.startswith("#CHROM"):
                header = line.rstrip("\n").lstrip("#").split("\t")
                if len(header) < 10:
                    raise InputError(f"{path}: the #CHROM line has no FORMAT and study columns; "
                                     "a GWAS-VCF has one sample column per study")
                samples = header[9:]
                if study is None:
                    if len(samples) > 1:
                        raise InputError(f"{path} holds several studies ({listing(samples, 5)}); "
                                         "pass study= to choose one")
                    study = samples[0]
                elif study not in samples:
                    raise InputError(f"study {study!r} is not in {path} (it has {listing(samples, 5)})")
                col = 9 + samples.index(study)
                continue
            if header is None:
                raise InputError(f"{path}: data before the #CHROM header line; not a VCF file")
            f = line.rstrip("\n").split("\t")
            n_records += 1
            if len(f) <= col:
                malformed.append({"SNP": f[2] if len(f) > 2 else None,
                                  "reason": f"VCF record with {len(f)} fields has no value for study {study!r}"})
                continue
            chrom, pos, vid, ref, alts, info, fmt, val = f[0], f[1], f[2], f[3], f[4], f[7], f[8], f[col]
            keys, vals = fmt.split(":"), val.split(":")
            fv = dict(zip(keys, vals))
            info_af = None
            for item in info.split(";"):
                if item.startswith("AF="):
                    info_af = item[3:].split(",")
            alt_list = alts.split(",")
            for k, alt in enumerate(alt_list):
                def per_alt(key, default=None):
                    v = fv.get(key)
                    if v is None:
                        return default
                    parts = v.split(",")
                    return parts[k] if k < len(parts) else parts[0]
                af = per_alt("AF")
                if af in (None, ".") and info_af is not None:
                    af = info_af[k] if k < len(info_af) else info_af[0]
                snp = vid if vid not in (".", "") else (fv.get("ID") if fv.get("ID") not in (None, ".", "") else
                                                        f"{chrom}:{pos}_{ref}_{alt}")
                ss, nc = _vcf_float(per_alt("SS", ".")), _vcf_float(per_alt("NC", "."))
                records.append({"SNP": snp, "chr": chrom, "pos": int(pos), "effect_allele": alt,
                                "other_allele": ref, "beta": _vcf_float(per_alt("ES", ".")),
                                "se": _vcf_float(per_alt("SE", ".")),
                                "lp": _vcf_float(per_alt("LP", ".")),
                                "eaf": _vcf_float(af if af is not None else "."), "samplesize": ss,
                                "ncase": nc, "ncontrol": ss - nc})
    if header is None:
        raise InputError(f"{path} has no #CHROM header line; not a VCF file")
    raw = pd.DataFrame.from_records(records, columns=["SNP", "chr", "pos", "effect_allele",
                                                      "other_allele", "beta", "se", "lp", "eaf",
                                                      "samplesize", "ncase", "ncontrol"])
    raw["pval"] = 10.0 ** -raw["lp"]
    raw = raw.drop(columns="lp")
    if raw["ncase"].isna().all():
        raw = raw.drop(columns=["ncase", "ncontrol"])
    raw["id"] = study
    raw["Phenotype"] = phenotype if phenotype is not None else study
    out = format_data(raw, type=type, snps=snps, min_pval=min_pval)
    rep = out.attrs["report"]
    rep["dropped"] = malformed + rep["dropped"]
    rep.update(report_extra)
    rep.update({"source": str(path), "study": study, "n_records": n_records,
                "n_input_rows": int(len(raw)),
                "n_multiallelic_rows": int(len(raw) - n_records + len(malformed))})
    rep["columns_used"] = {"ALT": f"effect_allele.{type}", "REF": f"other_allele.{type}",
                           "ES": f"beta.{type}", "SE": f"se.{type}", "LP": f"pval.{type} (10^-LP)",
                           "AF": f"eaf.{type}", "SS": f"samplesize.{type}", "NC": f"ncase.{type}",
                           "ID": "SNP", "CHROM": f"chr.{type}", "POS": f"pos.{type}"}
    _resolve_build(found_build, build, where, rep)
    out.attrs["genome_build"] = rep["genome_build"]
    return out


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)) or pd.isna(x):
        return "."
    if isinstance(x, (float, np.floating)):
        return repr(float(x))
    return str(x)


def _frame_values(frame: pd.DataFrame, type: str):
    t = type

    def col(name, default=np.nan):
        for c in (f"{name}.{t}", name):
            if c in frame.columns:
                return frame[c]
        return pd.Series(default, index=frame.index)
    return col


def _check_writable(frame, t, need_pos=True):
    for c in ("SNP", f"effect_allele.{t}", f"beta.{t}", f"se.{t}"):
        if c not in frame.columns:
            raise InputError(f"the frame lacks column {c!r}; give a TwoSampleMR {t} frame "
                             "(format_data output)")
    miss_oa = frame[f"other_allele.{t}"].isna() if f"other_allele.{t}" in frame.columns else \
        pd.Series(True, index=frame.index)
    if miss_oa.any():
        raise InputError(f"SNP(s) {listing(frame.loc[miss_oa, 'SNP'], 5)} have no other allele, which "
                         "GWAS-VCF/SSF need (REF / other_allele); drop them or fill in the other allele")


def write_gwas_vcf(frame: pd.DataFrame, path, type: str | None = None, study: str | None = None,
                   build=None) -> Path:
    """Write a TwoSampleMR exposure/outcome frame as a GWAS-VCF (gzip-compressed when ``path``
    ends in .gz; plain gzip, not BGZF: run ``bgzip`` on a plain file for tabix indexing).

    ``REF`` = other allele, ``ALT`` = effect allele, ``FORMAT`` ``ES:SE:LP:AF:SS[:NC]:ID``
    (LP = -log10 p, written to full double precision), one sample column named ``study``
    (default: the frame's ``id.<type>``).  Needs chr and pos columns (``chr.<type>``/``chr``) and
    both alleles; records are sorted by chromosome and position.  The build (``build`` or the
    frame's ``attrs["genome_build"]``) goes to every ``##contig`` line.
    """
    t = _side(frame, type)
    _check_writable(frame, t)
    col = _frame_values(frame, t)
    chrom, pos = col("chr"), col("pos")
    if chrom.isna().any() or pos.isna().any():
        bad = frame.loc[chrom.isna() | pos.isna(), "SNP"]
        raise InputError(f"SNP(s) {listing(bad, 5)} lack chr/pos, which a VCF needs; add chr.{t} and "
                         f"pos.{t} columns (or write GWAS-SSF)")
    build = normalise_build(build if build is not None else frame.attrs.get("genome_build"))
    study = study or (str(frame[f"id.{t}"].iloc[0]) if f"id.{t}" in frame.columns else t)
    pval = pd.to_numeric(col("pval"), errors="coerce").to_numpy(float)
    with np.errstate(divide="ignore"):
        lp = -np.log10(pval)
    have_nc = f"ncase.{t}" in frame.columns
    order = np.lexsort((pd.to_numeric(pos).to_numpy(np.int64), chrom_order(chrom.astype(str))))
    contigs = list(dict.fromkeys(chrom.astype(str).to_numpy()[order]))
    lines = ["##fileformat=VCFv4.2", '##FILTER=<ID=PASS,Description="All filters passed">',
             '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele Frequency">',
             '##FORMAT=<ID=ES,Number=A,Type=Float,Description="Effect size estimate relative to the '
             'alternative allele">',
             '##FORMAT=<ID=SE,Number=A,Type=Float,Description="Standard error of effect size estimate">',
             '##FORMAT=<ID=LP,Number=A,Type=Float,Description="-log10 p-value for effect estimate">',
             '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Alternate allele frequency in the association study">',
             '##FORMAT=<ID=SS,Number=A,Type=Float,Description="Sample size used to estimate genetic effect">',
             '##FORMAT=<ID=NC,Number=A,Type=Float,Description="Number of cases used to estimate genetic effect">',
             '##FORMAT=<ID=ID,Number=1,Type=String,Description="Study variant identifier">',
             f"##SAMPLE=<ID={study},TotalVariants={len(frame)}>", "##source=radiogenomics.mr.io"]
    lines += [f"##contig=<ID={c}" + (f",assembly={build}" if build else "") + ">" for c in contigs]
    lines.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", study]))
    fields = ["ES", "SE", "LP", "AF", "SS"] + (["NC"] if have_nc else []) + ["ID"]
    b, se, eaf, ss = col("beta"), col("se"), col("eaf"), col("samplesize")
    nc = col("ncase")
    for i in order:
        vals = [_fmt(b.iloc[i]), _fmt(se.iloc[i]), _fmt(lp[i]), _fmt(eaf.iloc[i]), _fmt(ss.iloc[i])]
        if have_nc:
            vals.append(_fmt(nc.iloc[i]))
        vals.append(str(frame["SNP"].iloc[i]))
        info = f"AF={_fmt(eaf.iloc[i])}" if not pd.isna(eaf.iloc[i]) else "."
        lines.append("\t".join([str(chrom.iloc[i]), str(int(pos.iloc[i])), str(frame["SNP"].iloc[i]),
                                str(frame[f"other_allele.{t}"].iloc[i]),
                                str(frame[f"effect_allele.{t}"].iloc[i]), ".", "PASS", info,
                                ":".join(fields), ":".join(vals)]))
    path = Path(path)
    text = "\n".join(lines) + "\n"
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


# --------------------------------------------------------------------------- GWAS-SSF
_SSF_CHROM = {"23": "X", "24": "Y", "25": "MT"}


def _ssf_meta_path(path: Path) -> Path:
    return path.with_name(path.name + "-meta.yaml")


def read_gwas_ssf(path, type: str = "exposure", build=None, phenotype: str | None = None,
                  study: str | None = None, meta=None, snps=None,
                  min_pval: float = 1e-200) -> pd.DataFrame:
    """Read a GWAS Catalog GWAS-SSF file (TSV, optionally gzipped) into a TwoSampleMR frame.

    Column mapping: ``rsid`` (else ``variant_id``, else ``chromosome:base_pair_location``) ->
    SNP; ``beta`` -> beta, or ``log(odds_ratio)`` / ``log(hazard_ratio)`` with ``units =
    "log odds"`` / ``"log hazard ratio"`` (recorded in the report); ``standard_error`` -> se;
    ``effect_allele_frequency`` -> eaf; ``p_value`` (else ``10^-neg_log_10_p_value``) -> pval;
    ``n`` -> samplesize; chromosome 23/24/25 -> X/Y/MT.  The metadata ``meta`` (a path, a
    dict, or by default ``<path>-meta.yaml`` when it exists) gives ``genome_assembly``,
    ``gwas_id`` (the id) and ``trait_description`` (the phenotype).  Missing mandatory columns
    are an error naming them.  The rows then go through :func:`format_data`.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"file {str(path)!r} does not exist; check the path")
    raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_values=["NA", "#NA", ""])
    mandatory = ["chromosome", "base_pair_location", "effect_allele", "other_allele", "standard_error",
                 "effect_allele_frequency"]
    missing = [c for c in mandatory if c not in raw.columns]
    eff = next((c for c in ("beta", "odds_ratio", "hazard_ratio") if c in raw.columns), None)
    pcol = next((c for c in ("p_value", "neg_log_10_p_value") if c in raw.columns), None)
    if eff is None:
        missing.append("beta|odds_ratio|hazard_ratio")
    if pcol is None:
        missing.append("p_value|neg_log_10_p_value")
    if missing:
        raise InputError(f"{path} lacks the GWAS-SSF mandatory column(s) {missing} (it has "
                         f"{listing(raw.columns, 10)}); for other layouts use format_data(path, ...)")
    if meta is None and _ssf_meta_path(path).exists():
        meta = _ssf_meta_path(path)
    meta_d: dict = {}
    if isinstance(meta, (str, os.PathLike)):
        import yaml
        with open(meta) as fh:
            meta_d = yaml.safe_load(fh) or {}
    elif isinstance(meta, dict):
        meta_d = meta
    chrom = raw["chromosome"].astype(str).map(lambda c: _SSF_CHROM.get(c, c))
    snp = pd.Series(np.nan, index=raw.index, dtype=object)
    for c in ("rsid", "variant_id"):
        if c in raw.columns:
            snp = snp.where(snp.notna(), raw[c])
    snp = snp.where(snp.notna(), chrom + ":" + raw["base_pair_location"].astype(str))
    flags: list = []
    e = _to_numeric(raw[eff], eff, snp, flags)
    units = None
    if eff != "beta":
        bad = e.notna() & ~(e > 0)
        for s in snp[bad]:
            flags.append({"SNP": s, "column": eff, "reason": f"{eff} <= 0 has no logarithm: beta set to NA"})
        with np.errstate(all="ignore"):
            e = np.log(e.where(e > 0))
        units = "log odds" if eff == "odds_ratio" else "log hazard ratio"
    p = _to_numeric(raw[pcol], pcol, snp, flags)
    if pcol == "neg_log_10_p_value":
        p = 10.0 ** -p
    study = study or meta_d.get("gwas_id") or path.name.split(".")[0]
    trait = phenotype or meta_d.get("trait_description") or study
    if isinstance(trait, list):
        trait = "; ".join(map(str, trait))
    df = pd.DataFrame({"SNP": snp, "chr": chrom, "pos": pd.to_numeric(raw["base_pair_location"], errors="coerce"),
                       "effect_allele": raw["effect_allele"], "other_allele": raw["other_allele"],
                       "beta": e, "se": raw["standard_error"], "eaf": raw["effect_allele_frequency"],
                       "pval": p})
    if "n" in raw.columns:
        df["samplesize"] = raw["n"]
    if units:
        df["units"] = units
    df["id"] = str(study)
    df["Phenotype"] = str(trait)
    out = format_data(df, type=type, snps=snps, min_pval=min_pval)
    rep = out.attrs["report"]
    rep["flagged"] = flags + rep["flagged"]
    rep.update({"format": "GWAS-SSF", "source": str(path), "study": str(study),
                "effect_column": eff, "pval_column": pcol,
                "meta": str(meta) if isinstance(meta, (str, os.PathLike)) else ("dict" if meta_d else None)})
    if eff != "beta":
        rep["conversion"] = f"beta = log({eff}); units.{type} = {units!r}"
    rep["columns_used"] = {"rsid": "SNP", eff: f"beta.{type}" + ("" if eff == "beta" else f" (log {eff})"),
                           "standard_error": f"se.{type}", "effect_allele_frequency": f"eaf.{type}",
                           pcol: f"pval.{type}", "effect_allele": f"effect_allele.{type}",
                           "other_allele": f"other_allele.{type}", "chromosome": f"chr.{type}",
                           "base_pair_location": f"pos.{type}", **({"n": f"samplesize.{type}"} if "n" in raw else {})}
    _resolve_build(meta_d.get("genome_assembly"), build, "meta.yaml genome_assembly", rep)
    out.attrs["genome_build"] = rep["genome_build"]
    return out


def write_gwas_ssf(frame: pd.DataFrame, path, type: str | None = None, build=None,
                   study: str | None = None, trait: str | None = None) -> Path:
    """Write a TwoSampleMR exposure/outcome frame as GWAS-SSF (tab-separated, gzip when ``path``
    ends in .gz) plus ``<path>-meta.yaml`` (``genome_assembly``, ``gwas_id``,
    ``trait_description``, ``file_type``).  Numbers are written to full double precision;
    missing values as ``NA``; X/Y/MT as 23/24/25 as the format requires."""
    t = _side(frame, type)
    _check_writable(frame, t)
    col = _frame_values(frame, t)
    chrom = col("chr").map(lambda c: {"X": "23", "Y": "24", "MT": "25", "M": "25"}.get(str(c), c)
                           if not pd.isna(c) else c)

    def fmt(s):
        return s.map(lambda x: "NA" if pd.isna(x)
                     else repr(float(x)) if isinstance(x, (float, np.floating)) else str(x))

    pos = col("pos").map(lambda x: "NA" if pd.isna(x) else str(int(float(x))))
    out = pd.DataFrame({"chromosome": fmt(chrom), "base_pair_location": pos,
                        "effect_allele": frame[f"effect_allele.{t}"].astype(str),
                        "other_allele": frame[f"other_allele.{t}"].astype(str),
                        "beta": fmt(col("beta").astype(float)), "standard_error": fmt(col("se").astype(float)),
                        "effect_allele_frequency": fmt(col("eaf").astype(float)),
                        "p_value": fmt(pd.to_numeric(col("pval"), errors="coerce").astype(float)),
                        "rsid": frame["SNP"].astype(str),
                        "n": fmt(pd.to_numeric(col("samplesize"), errors="coerce").astype(float))})
    path = Path(path)
    out.to_csv(path, sep="\t", index=False, compression="gzip" if path.name.endswith(".gz") else None)
    build = normalise_build(build if build is not None else frame.attrs.get("genome_build"))
    study = study or (str(frame[f"id.{t}"].iloc[0]) if f"id.{t}" in frame.columns else t)
    trait = trait or (str(frame[t].iloc[0]) if t in frame.columns else study)
    import yaml
    meta = {"file_type": "GWAS-SSF v1.0", "genome_assembly": build or "unknown", "gwas_id": study,
            "trait_description": [trait], "data_file_name": path.name}
    with open(_ssf_meta_path(path), "w") as fh:
        yaml.safe_dump(meta, fh, sort_keys=False)
    return path
