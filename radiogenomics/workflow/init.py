"""``radiogenomics init DIR``: a commented starter configuration from the user's files.

Every table in DIR (CSV, TSV or Parquet, sample ID in the first column) is read once and
given a role from its content and name: GWAS summary statistics (SNP / beta / se columns),
genotype dosages (every value 0, 1 or 2), outcomes (file named outcome / endpoint / event ...),
covariates (text columns, or a file named covariates / clinical / ...; the centre is its
column named centre / center / site / hospital / scanner ...), and otherwise a view of numeric
features.  Analyses are proposed for the views found (imaging-like names such as radiomics or
traits against molecular-like names such as expression or modules); the file is written with a
comment on every choice and checked with :func:`~radiogenomics.workflow.config.load_config`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .config import ConfigError, load_config

__all__ = ["init_config", "scan_tables", "TableInfo"]

_SUFFIXES = (".csv", ".tsv", ".txt", ".tab", ".parquet", ".pq")
_CENTRE = re.compile(r"^(centre|center|site|hospital|scanner|institution|batch|vendor)",
                     re.I)
_COVARIATES = re.compile(r"covariat|clinical|meta|pheno|demograph", re.I)
_OUTCOMES = re.compile(r"outcome|endpoint|event|surviv|response|label", re.I)
_IMAGING = re.compile(r"radiom|imag|trait|mri|pet|shape|textur|cmr|ecg|ct_|_ct", re.I)
_MOLECULAR = re.compile(r"expr|gene|rna|transcript|module|pathway|prot|methyl|metab|score",
                        re.I)


@dataclass
class TableInfo:
    """A table found in the data folder and the role given to it."""

    path: Path
    role: str                     # view, genotypes, covariates, outcomes, gwas_exposure, ...
    n_rows: int
    n_cols: int
    id_column: str
    name: str = ""                # view name
    centre: str | None = None     # covariates: the centre-like column
    note: str = ""
    ids: set = field(default_factory=set, repr=False)


def _view_name(stem: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", stem)
    if not name[:1].isalpha():
        name = "v_" + name
    return name + "_view" if name in ("covariates", "outcomes", "centre") else name


def _classify(path: Path, df: pd.DataFrame) -> TableInfo:
    cols = [str(c) for c in df.columns]
    low = [c.lower() for c in cols]
    info = TableInfo(path, "view", int(df.shape[0]), int(df.shape[1]),
                     str(df.index.name or "(first column)"), ids=set(map(str, df.index)))
    stem = path.name.split(".")[0]
    numeric = df.select_dtypes(include="number")
    if "snp" in [str(df.index.name).lower()] + low and any(c.startswith("beta") for c in low):
        info.role = ("gwas_exposure" if "exposure" in stem.lower() + " ".join(low) and
                     "outcome" not in stem.lower() else "gwas_outcome")
        return info
    centre = next((c for c in cols if _CENTRE.match(c)), None)
    text_cols = numeric.shape[1] < df.shape[1]
    vals = numeric.to_numpy(float)
    finite = vals[np.isfinite(vals)]
    if not text_cols and df.shape[1] >= 2 and finite.size and np.isin(finite, (0, 1, 2)).all() \
            and (finite == 2).any() and not _OUTCOMES.search(stem):
        info.role, info.name = "genotypes", _view_name(stem)
    elif _OUTCOMES.search(stem) and not centre:
        info.role = "outcomes"
    elif text_cols or centre or _COVARIATES.search(stem):
        info.role, info.centre = "covariates", centre
    else:
        info.name = _view_name(stem)
    return info


def scan_tables(folder: str | Path) -> tuple[list[TableInfo], list[str]]:
    """The tables of ``folder`` with their roles, and notes on files left out."""
    from ..cohort import read_table, table_format

    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{str(folder)!r} is not a folder; give the folder that holds "
                          "your tables (CSV, TSV or Parquet)")
    infos, notes = [], []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or table_format(p) not in _SUFFIXES:
            continue
        try:
            df = read_table(p)
        except Exception as exc:  # noqa: BLE001 - reported and left out, never silently
            notes.append(f"{p.name}: not read ({exc})")
            continue
        if df.shape[1] == 0 or df.shape[0] < 2:
            notes.append(f"{p.name}: not a table of samples (no columns after the first, or "
                         "under two rows)")
            continue
        infos.append(_classify(p, df))
    if not any(i.role in ("view", "genotypes") for i in infos):
        raise ConfigError(f"no table of numeric features found in {str(folder)!r} (looked "
                          "for .csv, .tsv and .parquet files, sample ID in the first column)")
    covs = [i for i in infos if i.role == "covariates"]
    if len(covs) > 1:  # one covariates file: the one with a centre column, else the first
        keep = next((c for c in covs if c.centre), covs[0])
        for c in covs:
            if c is not keep:
                c.role = "unused"
                notes.append(f"{c.path.name}: a second table with text columns; left out "
                             f"(covariates are read from {keep.path.name})")
    for role in ("outcomes", "gwas_exposure", "gwas_outcome"):
        found = [i for i in infos if i.role == role]
        for extra in found[1:]:
            extra.role = "unused"
            notes.append(f"{extra.path.name}: a second {role.replace('_', ' ')} table; left out")
    return infos, notes


# ================================================================================ proposal

def _y(value) -> str:
    """A value as YAML flow text."""
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text[:-4].strip() if text.endswith("\n...") else text


def _pairs(views: list[TableInfo]) -> list[tuple[str, str]]:
    """Imaging-like views against molecular-like ones, largest with largest."""
    imaging = [v for v in views if _IMAGING.search(v.name)]
    molecular = [v for v in views if v not in imaging and _MOLECULAR.search(v.name)]
    if not imaging or not molecular:
        return [(views[0].name, views[1].name)] if len(views) >= 2 else []
    by_size = lambda vs: sorted(vs, key=lambda v: -v.n_cols)  # noqa: E731
    return [(a.name, b.name) for a, b in zip(by_size(imaging), by_size(molecular))]


def _analyses(views, cov, outcomes, geno, gwas, rel) -> list[str]:
    """The commented ``analyses:`` block."""
    L = ["", "# The analyses to run (in this order in the report). Set one to false to skip it,",
         "# to true for its defaults; examples/config.yaml documents every option.",
         "analyses:", "  cohort: true                # per-view n, per-centre n, overlap"]
    if cov is not None and cov.centre:
        L += ["  centre_effects:             # variance explained by centre, per feature",
              f"    views: {_y([v.name for v in views])}"]
    pairs = _pairs(views)
    if pairs:
        L += ["  association:                # every x feature against every y feature",
              "    pairs:                    # (adjusted for covariates and centre; FDR, max-T)"]
        L += [f"      - {_y(list(p))}" for p in pairs]
    n = min(v.n_rows for v in views)
    small = [p for p in pairs if max(_ncols(views, p)) < n / 3]
    if small:
        x, y = small[-1]
        L += ["  cca:                        # canonical correlations (views with fewer",
              f"    x: {_y(x)}{' ' * max(1, 22 - len(_y(x)))}# features than samples)",
              f"    y: {_y(y)}", "    components: 3"]
    else:
        L += ["  # cca: needs two views with far fewer features than samples (none found)"]
    if pairs:
        a, b = pairs[0]
        extra = (["covariates"] if cov is not None else []) + \
            [v.name for v in views if v.name not in (a, b) and v.n_cols <= 20] + \
            (["outcomes"] if outcomes is not None else [])
        L += ["  mofa:                       # MOFA+ factors shared by the views",
              f"    views: {_y([a, b])}", f"    standardize: {_y([a])}",
              f"    correlate_with: {_y(extra or ['covariates'])}"]
    if outcomes is not None:
        x = pairs[0][0] if pairs else views[0].name
        L += ["  prediction:                 # elastic net, leave-one-centre-out validation",
              f"    x: {_y(x)}", "    targets:", "      outcomes: null            # null: "
              "every outcome column; or a list of columns"]
        if cov is None or not cov.centre:
            L += ["    cv: [5]                   # no centre column: 5-fold cross-validation"]
    if geno is not None:
        L += ["  # mr:                       # Mendelian randomisation: name the exposure and",
              "  #   exposure: FEATURE         # the outcome (columns of a view or of the outcomes)",
              "  #   outcome: FEATURE",
              f"  #   genotypes: {geno.name}"]
        for role, key in (("gwas_exposure", "exposure_gwas"), ("gwas_outcome", "outcome_gwas")):
            if role in gwas:
                L.append(f"  #   {key}: {_y(rel(gwas[role].path))}")
        L += ["  #   # GWAS files may be GWAS-VCF (.vcf.gz), GWAS-SSF (.tsv.gz + -meta.yaml) or any",
              "  #   # GWAS table; optional: gwas_build: GRCh37, pval_threshold: 5.0e-8,",
              "  #   # ld_panel: ref/EUR (PLINK prefix: clump + outcome proxies), clump_r2: 0.001"]
    return L


def _ncols(views, pair) -> list[int]:
    by = {v.name: v.n_cols for v in views}
    return [by[p] for p in pair]


def _text(folder: Path, out: Path, infos: list[TableInfo], notes: list[str]) -> str:
    """The configuration's text."""
    def rel(p: Path) -> str:  # relative to the config when the data lie below its folder
        r = os.path.relpath(p.resolve(), out.resolve().parent)
        return str(p.resolve()) if r.startswith("..") else r

    role = {r: next((i for i in infos if i.role == r), None) for r in
            ("covariates", "outcomes", "genotypes")}
    views = [i for i in infos if i.role == "view"]
    geno, cov, outcomes = role["genotypes"], role["covariates"], role["outcomes"]
    gwas = {i.role: i for i in infos if i.role.startswith("gwas_")}
    ids = set.union(*(i.ids for i in infos if not i.role.startswith("gwas_")))
    L = [f"# radiogenomics run: starter configuration written by `radiogenomics init "
         f"{folder}`.", "# Check every line; paths are relative to this file. Then:",
         f"#   radiogenomics run {out.name}", "#",
         f"# Found {len(infos)} table(s), {len(ids):,} distinct sample IDs in their first column."]
    L += [f"# Left out: {n}" for n in notes]
    L += ["", f"title: {_y('radiogenomics report: ' + folder.name)}",
          f"output: {_y(out.stem + '_report')}", "seed: 0", "alpha: 0.05",
          "permutations: 1000            # permutation tests (0: parametric p-values only)",
          "", "data:", "  views:                      # name: file (samples x numeric features)"]
    for v in views + ([geno] if geno else []):
        what = "allele dosages 0/1/2" if v is geno else "features"
        L.append(f"    {v.name}: {_y(rel(v.path))}    # {v.n_rows:,} samples x "
                 f"{v.n_cols:,} {what}; sample ID column {v.id_column!r}")
    if cov is not None:
        L.append(f"  covariates: {_y(rel(cov.path))}    # adjusted for everywhere "
                 f"({cov.n_cols} columns)")
        if cov.centre:
            L.append(f"  centre: {_y(cov.centre)}    # the covariates column naming the centre")
        else:
            L.append("  # centre: COLUMN             # no centre-like column found (centre, site, "
                     "hospital ...)")
    if outcomes is not None:
        L.append(f"  outcomes: {_y(rel(outcomes.path))}    # {outcomes.n_cols} outcome columns")
    L += ["  nan_policy: raise           # raise | drop_samples | drop_features | impute_median",
          "  constant_policy: raise      # raise | drop",
          "  missing_meta: raise         # raise | drop_samples"]
    L += _analyses(views, cov, outcomes, geno, gwas, rel)
    return "\n".join(L) + "\n"


def init_config(data: str | Path, out: str | Path = "config.yaml", force: bool = False) -> Path:
    """Write a commented starter configuration for the tables in ``data``.

    Parameters
    ----------
    data : path
        Folder holding the tables (CSV, TSV or Parquet; sample ID in the first column).
    out : path
        The configuration to write; refused if it exists, unless ``force``.
    force : bool
        Overwrite ``out``.

    Returns
    -------
    Path
        ``out``, checked with :func:`~radiogenomics.workflow.config.load_config`.
    """
    data, out = Path(data), Path(out)
    if out.exists() and not force:
        raise ConfigError(f"{str(out)!r} exists; choose another --out or add --force to "
                          "overwrite it")
    infos, notes = scan_tables(data)
    text = _text(data, out, infos, notes)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    try:
        load_config(out)
    except ConfigError as exc:
        raise ConfigError(f"the starter configuration does not load ({exc}); it was written "
                          f"to {str(out)!r}: fix that line, or report this as a bug") from None
    return out
