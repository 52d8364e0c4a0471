"""Gene-set and module scores per sample: GSVA, ssGSEA, z-score, PLAGE, singscore, eigengenes.

Samples are rows and genes columns (the toolkit's orientation); the result is a samples x
gene-sets frame that can join a :class:`~radiogenomics.Cohort` as a view.

* :func:`read_gmt` / :func:`write_gmt` read and write gene sets in the GMT format of MSigDB
  (one set per line: name, description, genes, tab-separated).
* :func:`score_gene_sets` scores every set in every sample with one of six methods and
  returns a :class:`GeneSetScores` that says, per set, which genes were found, which were
  missing, and which sets were removed and why.

``"gsva"``, ``"ssgsea"``, ``"zscore"`` and ``"plage"`` reproduce GSVA 1.46 (``gsva()``, with
its ``min.sz``/``max.sz`` filter and its removal of constant genes); the tests compare them
with files written by GSVA itself (``tests/data/expression/gsva``).  ``"singscore"``
(Foroutan et al. 2018) and ``"eigengene"`` (WGCNA's module eigengene) follow the published
definitions; their R packages are not used here.
"""

from __future__ import annotations

import gzip
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from .._checks import InputError, check_rng, listing, nonfinite_message, numeric_frame
from . import _gsva
from .normalize import check_gene_ids

__all__ = ["read_gmt", "write_gmt", "score_gene_sets", "GeneSetScores", "METHODS"]

METHODS = ("gsva", "ssgsea", "zscore", "plage", "singscore", "eigengene")
_KCDFS = ("Gaussian", "Poisson", "none")
_RANK_BASED = ("ssgsea", "singscore")          # keep constant genes, accept any kcdf
_CONSTANT_SD = 1e-10                           # GSVA's .filterFeatures threshold


# --------------------------------------------------------------------------- GMT files
def _open_text(path, mode: str):
    p = os.fspath(path)
    return gzip.open(p, mode + "t", encoding="utf-8") if p.endswith(".gz") else open(
        p, mode, encoding="utf-8")


def read_gmt(path) -> dict[str, list[str]]:
    """Read gene sets from a GMT file (MSigDB / GSEA format).

    Each non-blank line is ``name<TAB>description<TAB>gene1<TAB>gene2...``.  Blank lines are
    skipped, empty fields (e.g. a trailing tab) are not genes, and spaces around names are
    stripped.  A file ending in ``.gz`` is read through gzip.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    dict of str -> list of str
        Set name -> genes, in file order (a gene repeated within a set is kept; the scoring
        functions count it once and say so in their coverage report).

    Raises
    ------
    InputError
        The file cannot be read (missing, a folder, not UTF-8 text), a line has no tab or no
        genes, or a set name appears twice (the lines are named).
    """
    try:
        with _open_text(path, "r") as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise InputError(f"cannot read the GMT file {os.fspath(path)!r} ({exc}); give the path "
                         "of a readable UTF-8 text file (tab-separated: name, description, "
                         "genes), gzip-compressed only if it ends in .gz") from None
    sets: dict[str, list[str]] = {}
    first_line: dict[str, int] = {}
    dups: dict[str, list[int]] = {}
    empty, no_tab = [], []
    for num, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) < 2:
            no_tab.append(num)
            continue
        name, genes = fields[0], [g for g in fields[2:] if g]
        if not name or not genes:
            empty.append(f"{name or '<no name>'} (line {num})")
            continue
        if name in sets:
            dups.setdefault(name, [first_line[name]]).append(num)
            continue
        sets[name], first_line[name] = genes, num
    where = f"GMT file {os.fspath(path)!r}"
    if no_tab:
        nums = ", ".join(map(str, no_tab[:10])) + (" ..." if len(no_tab) > 10 else "")
        raise InputError(f"{where}: line(s) {nums} are not tab-separated; each line must be "
                         "name<TAB>description<TAB>gene1<TAB>gene2... (tabs, not spaces)")
    if empty:
        raise InputError(f"{where} has {len(empty)} set(s) without a name or without genes: "
                         f"{listing(empty)}; remove those lines or add their genes")
    if dups:
        detail = [f"{k} (lines {', '.join(map(str, v))})" for k, v in dups.items()]
        raise InputError(f"{where} has {len(dups)} duplicated set name(s): {listing(detail)}; "
                         "give each set a unique name (or merge the lines)")
    if not sets:
        raise InputError(f"{where} holds no gene sets (only blank lines); check the path")
    return sets


def write_gmt(sets: Mapping[str, list[str]], path, *,
              descriptions: Mapping[str, str] | None = None) -> None:
    """Write gene sets to a GMT file (``.gz`` compresses); :func:`read_gmt` reads it back.

    Parameters
    ----------
    sets : mapping of str -> list of str
    path : str or path-like
    descriptions : mapping of str -> str, optional
        Second column per set; ``"na"`` (the MSigDB placeholder) when not given.
    """
    sets = _check_sets(sets)
    descriptions = dict(descriptions or {})
    bad = [s for s in [*sets, *(g for v in sets.values() for g in v),
                       *map(str, descriptions.values())] if any(c in s for c in "\t\r\n")]
    if bad:
        raise InputError(f"set names, genes and descriptions cannot contain tabs or line "
                         f"breaks: {listing(bad)}; rename them")
    if any(not v for v in sets.values()):
        raise InputError(f"sets without genes cannot be written to GMT: "
                         f"{listing([k for k, v in sets.items() if not v])}; drop them")
    lines = ["\t".join([name, str(descriptions.get(name, "na")), *genes])
             for name, genes in sets.items()]
    with _open_text(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def _check_sets(gene_sets) -> dict[str, list[str]]:
    """Gene sets as ``{str: [str, ...]}``; a path is read with :func:`read_gmt`."""
    if isinstance(gene_sets, (str, os.PathLike)):
        return read_gmt(gene_sets)
    if not isinstance(gene_sets, Mapping):
        raise InputError(f"gene_sets must be a dict of set name -> list of gene IDs (or the "
                         f"path of a GMT file), got {type(gene_sets).__name__}")
    if not gene_sets:
        raise InputError("gene_sets is empty; pass at least one set (e.g. read_gmt(path))")
    out: dict[str, list[str]] = {}
    for name, genes in gene_sets.items():
        if isinstance(genes, (str, bytes)) or not hasattr(genes, "__iter__"):
            raise InputError(f"gene set {name!r} is {type(genes).__name__}, not a list of gene "
                             f"IDs; pass e.g. {{{str(name)!r}: ['TP53', 'MDM2']}}")
        genes = list(genes)
        bad = [g for g in genes if g is None or (isinstance(g, float) and math.isnan(g))]
        if bad:
            raise InputError(f"gene set {name!r} holds {len(bad)} missing gene ID(s) "
                             "(None/NaN); remove them from the set")
        out[str(name)] = [str(g) for g in genes]
    return out


# --------------------------------------------------------------------------- result
@dataclass
class GeneSetScores:
    """Scores of gene sets per sample, with the coverage of each set.

    Attributes
    ----------
    scores : DataFrame
        Samples x scored sets (index ``sample_id``, columns in the order of the input sets).
    coverage : DataFrame
        One row per input set: ``n_genes`` (distinct genes listed), ``n_found`` (used for
        scoring), ``fraction`` (``n_found / n_genes``), ``missing`` (genes not in the data,
        comma-separated), ``excluded`` (genes in the data but removed as constant),
        ``n_duplicates`` (repeated entries counted once) and ``scored`` (bool).
    removed : DataFrame
        Sets not scored, indexed by set, with ``n_found`` and ``reason``.
    method : str
    params : dict
        The settings used (kcdf, tau, min/max size, ...).
    excluded_genes : DataFrame
        Genes of the data left out of the scoring (``gene``, ``reason``): constant genes for
        gsva / zscore / plage / eigengene, as GSVA's ``.filterFeatures`` does.
    variance_explained : Series or None
        For ``method="eigengene"``: the share of the set's standardised variance carried by
        its eigengene; None otherwise.
    """

    scores: pd.DataFrame
    coverage: pd.DataFrame
    removed: pd.DataFrame
    method: str
    params: dict = field(default_factory=dict)
    excluded_genes: pd.DataFrame = field(default=None)
    variance_explained: pd.Series | None = None

    def to_frame(self, prefix: str | None = None) -> pd.DataFrame:
        """A copy of :attr:`scores` (samples x sets), column names optionally prefixed."""
        out = self.scores.copy()
        if prefix:
            out.columns = pd.Index([f"{prefix}{c}" for c in out.columns], name=out.columns.name)
        return out

    def summary(self) -> str:
        """A few lines: method, sets scored and removed (with reasons), coverage."""
        cov = self.coverage[self.coverage["scored"]]
        lines = [f"{self.method} scores: {self.scores.shape[1]} of {len(self.coverage)} gene "
                 f"sets in {self.scores.shape[0]} samples"]
        if len(cov):
            lines.append(f"  genes found per scored set: {int(cov['n_found'].min())}-"
                         f"{int(cov['n_found'].max())}; coverage {cov['fraction'].min():.0%}-"
                         f"{cov['fraction'].max():.0%}")
            low = cov[cov["fraction"] < 1].sort_values("fraction")
            for name, row in low.head(5).iterrows():
                gaps = [f"{lab} {row[col][:80]}" for lab, col in
                        (("missing", "missing"), ("constant", "excluded")) if row[col]]
                lines.append(f"  {name}: {int(row['n_found'])}/{int(row['n_genes'])} genes "
                             f"used; {'; '.join(gaps)}")
        for name, row in self.removed.iterrows():
            lines.append(f"  removed {name}: {row['reason']}")
        if self.excluded_genes is not None and len(self.excluded_genes):
            g = self.excluded_genes["gene"]
            lines.append(f"  {len(g)} constant gene(s) left out: {listing(g)}")
        if self.variance_explained is not None and len(self.variance_explained):
            ve = self.variance_explained
            lines.append(f"  variance explained by the eigengenes: {ve.min():.0%}-{ve.max():.0%}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        cov = self.coverage.loc[self.coverage["scored"], "fraction"]
        span = f"; coverage {cov.min():.0%}-{cov.max():.0%}" if len(cov) else ""
        return (f"GeneSetScores(method={self.method!r}, {self.scores.shape[0]} samples x "
                f"{self.scores.shape[1]} sets; {len(self.removed)} set(s) removed{span})")


# --------------------------------------------------------------------------- validation
def _expression(expr, what: str = "expr") -> pd.DataFrame:
    """A validated samples x genes float frame (string IDs, unique genes, no NaN/inf)."""
    if not isinstance(expr, pd.DataFrame):
        arr = np.asarray(expr) if not isinstance(expr, pd.Series) else None
        if arr is None or arr.ndim != 2:
            raise InputError(f"{what} must be a 2-D samples x genes DataFrame or array, got "
                             f"{type(expr).__name__}" + ("" if arr is None else
                                                          f" with shape {arr.shape}"))
        expr = pd.DataFrame(arr, index=[f"sample_{i + 1}" for i in range(arr.shape[0])],
                            columns=[f"gene_{j + 1}" for j in range(arr.shape[1])])
    check_gene_ids(expr, what, merge="mean")
    df = numeric_frame(expr, what)
    values = df.to_numpy(dtype=np.float64)
    msg = nonfinite_message(values, df.index, df.columns, what)
    if msg:
        raise InputError(f"{msg}; gene-set scores need every value: impute them or drop those "
                         "genes (expr.dropna(axis=1)) or samples first")
    return pd.DataFrame(values, index=df.index, columns=df.columns)


def _check_options(method, kcdf, min_size, max_size, tau, n_samples, values):
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got {method!r}")
    if kcdf not in _KCDFS:
        raise InputError(f"kcdf must be one of {_KCDFS}, got {kcdf!r}")
    if kcdf != "Gaussian" and method in ("zscore", "plage", "eigengene"):
        raise InputError(f"kcdf={kcdf!r} does not apply to method={method!r}, which standardises "
                         "log-expression (GSVA refuses it too): log-transform counts first "
                         "(e.g. cpm(counts, log=True)) and leave kcdf='Gaussian'")
    if tau is not None:
        if method not in ("gsva", "ssgsea"):
            raise InputError(f"tau is a weight of the gsva and ssgsea random walks; "
                             f"method={method!r} does not use it: leave tau=None")
        if not (isinstance(tau, (int, float, np.number)) and np.isfinite(tau) and tau >= 0):
            raise InputError(f"tau must be a finite number >= 0, got {tau!r}")
    if not isinstance(min_size, (int, np.integer)) or isinstance(min_size, bool) or min_size < 0:
        raise InputError(f"min_size must be a whole number >= 0, got {min_size!r}")
    if max_size is not None and (not isinstance(max_size, (int, np.integer, float))
                                 or isinstance(max_size, bool) or max_size < max(1, min_size)):
        raise InputError(f"max_size must be None or a number >= min_size (and >= 1), got "
                         f"{max_size!r}")
    if method not in _RANK_BASED and n_samples < 2:
        raise InputError(f"method={method!r} compares each gene across samples and needs at "
                         f"least 2 samples, got {n_samples}; use 'ssgsea' or 'singscore' "
                         "(single-sample methods) for one sample")
    if method == "gsva" and kcdf == "Poisson":
        bad = (values < 0) | (values != np.round(values))
        if bad.any():
            raise InputError(f"kcdf='Poisson' expects raw counts (whole numbers >= 0) but "
                             f"{int(bad.sum())} value(s) are negative or fractional; pass the "
                             "counts, round estimated counts (np.round), or use "
                             "kcdf='Gaussian' on log-expression")


# --------------------------------------------------------------------------- gene matching
def _match(sets: dict[str, list[str]], genes: pd.Index, usable: np.ndarray, *, min_size: int,
           max_size, method: str):
    """Coverage table, kept sets (name -> column positions) and removed sets with reasons."""
    pos_of = pd.Series(np.arange(len(genes)), index=genes)
    constant = set(genes[~usable])
    n_usable = int(usable.sum())
    lo, hi = max(1, min_size), (math.inf if max_size is None else max_size)
    rows, kept, removed = [], {}, []
    for name, listed in sets.items():
        uniq = list(dict.fromkeys(listed))
        missing = [g for g in uniq if g not in pos_of.index]
        excluded = [g for g in uniq if g in constant]
        found = [g for g in uniq if g in pos_of.index and g not in constant]
        k = len(found)
        reason = ""
        if k == 0:
            reason = (f"none of its {len(uniq)} gene(s) is in the data" if not excluded else
                      f"its genes in the data are constant ({listing(excluded, 3)})")
        elif k < lo:
            reason = f"only {k} gene(s) found, fewer than min_size={lo}"
        elif k > hi:
            reason = f"{k} genes found, more than max_size={max_size}"
        elif k >= n_usable and method in ("gsva", "ssgsea", "singscore"):
            reason = (f"it holds all {n_usable} usable genes of the data; {method} compares a "
                      "set with the genes outside it")
        rows.append({"gene_set": name, "n_genes": len(uniq), "n_found": k,
                     "fraction": k / len(uniq) if uniq else 0.0,
                     "missing": ", ".join(missing), "excluded": ", ".join(excluded),
                     "n_duplicates": len(listed) - len(uniq), "scored": not reason})
        if reason:
            removed.append({"gene_set": name, "n_found": k, "reason": reason})
        else:
            kept[name] = found
    coverage = pd.DataFrame(rows).set_index("gene_set")
    removed = pd.DataFrame(removed, columns=["gene_set", "n_found", "reason"]).set_index(
        "gene_set")
    return coverage, kept, removed


def _no_sets_error(sets, genes: pd.Index, samples: pd.Index, removed: pd.DataFrame):
    listed = {g for v in sets.values() for g in v}
    if not listed & set(genes):
        hint = ("the set genes match the sample IDs: expr looks transposed; pass samples in "
                "rows and genes in columns (expr.T)" if listed & set(samples) else
                "use the same identifiers in both (gene symbols vs Ensembl/Entrez IDs, same "
                "case, no version suffixes such as '.12')")
        raise InputError(
            f"none of the genes in the {len(sets)} gene set(s) is a column of expr (set genes "
            f"e.g. {listing(sorted(listed), 3)}; expr genes e.g. {listing(genes, 3)}); {hint}")
    detail = "; ".join(f"{k}: {r}" for k, r in removed["reason"].head(10).items())
    raise InputError(f"no gene set is left to score ({detail}); lower min_size / raise "
                     "max_size, or check that the sets use the data's gene IDs")


# --------------------------------------------------------------------------- methods
def _standardise(X: np.ndarray) -> np.ndarray:
    """Each gene centred and divided by its SD (n - 1), as R's ``scale``."""
    Xc = X - X.mean(axis=0)
    return Xc / np.sqrt((Xc * Xc).sum(axis=0) / (X.shape[0] - 1))


def _zscore(Z: np.ndarray, idx: list[np.ndarray]) -> np.ndarray:
    """Lee et al. 2008 combined z-score: ``sum_g z_gj / sqrt(k)`` over the set's genes."""
    return np.column_stack([Z[:, i].sum(axis=1) / np.sqrt(len(i)) for i in idx])


def _plage(Z: np.ndarray, idx: list[np.ndarray]) -> np.ndarray:
    """Tomfohr et al. 2005: the first right singular vector of the set's genes x samples z."""
    out = []
    for i in idx:
        _, _, vt = np.linalg.svd(Z[:, i].T, full_matrices=False)
        out.append(vt[0])
    return np.column_stack(out)


def _eigengene(Z: np.ndarray, idx: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """WGCNA module eigengene: PLAGE's vector, signed to correlate positively with the mean z."""
    scores, share = [], []
    for i in idx:
        _, d, vt = np.linalg.svd(Z[:, i].T, full_matrices=False)
        v = vt[0]
        ave = Z[:, i].mean(axis=1)
        if np.dot(v - v.mean(), ave - ave.mean()) < 0:
            v = -v
        scores.append(v)
        share.append(d[0] ** 2 / np.sum(d ** 2))
    return np.column_stack(scores), np.asarray(share)


def _singscore(X: np.ndarray, idx: list[np.ndarray]) -> np.ndarray:
    """Foroutan et al. 2018 unidirectional score: mean rank scaled by its min/max, centred."""
    n = X.shape[1]
    R = rankdata(X, axis=1, method="min")           # singscore's rankGenes(tiesMethod="min")
    out = []
    for i in idx:
        k = len(i)
        lo, hi = (k + 1) / 2.0, (2 * n - k + 1) / 2.0
        out.append((R[:, i].mean(axis=1) - lo) / (hi - lo) - 0.5)
    return np.column_stack(out)


def _compute(method: str, X: np.ndarray, idx: list[np.ndarray], *, kcdf, tau, mx_diff,
             abs_ranking, ssgsea_norm):
    """Scores (samples x sets) and, for eigengenes, the variance explained."""
    if method == "gsva":
        pos = _gsva.rank_positions(_gsva.gene_density(X, kcdf))
        return _gsva.gsva_walk(pos, idx, tau=1.0 if tau is None else float(tau),
                               mx_diff=mx_diff, abs_ranking=abs_ranking), None
    if method == "ssgsea":
        return _gsva.ssgsea(X, idx, tau=0.25 if tau is None else float(tau),
                            normalize=ssgsea_norm), None
    if method == "singscore":
        return _singscore(X, idx), None
    Z = _standardise(X)
    if method == "zscore":
        return _zscore(Z, idx), None
    if method == "plage":
        return _plage(Z, idx), None
    return _eigengene(Z, idx)


def score_gene_sets(expr, gene_sets, method: str = "gsva", *, kcdf: str = "Gaussian",
                    min_size: int = 1, max_size: float | None = None, abs_ranking: bool = False,
                    mx_diff: bool = True, tau: float | None = None, ssgsea_norm: bool = True,
                    rng=None) -> GeneSetScores:
    """Score gene sets in every sample.

    Parameters
    ----------
    expr : DataFrame or ndarray
        Samples x genes: log-expression (microarray, log-CPM, ...), or raw counts with
        ``method="gsva", kcdf="Poisson"``.  No NaN/inf, unique gene IDs.
    gene_sets : dict of str -> list of str, or path of a GMT file
        Set name -> gene IDs, matched exactly (case-sensitive) to the columns of ``expr``.
    method : {"gsva", "ssgsea", "zscore", "plage", "singscore", "eigengene"}
        * ``"gsva"`` -- Hänzelmann, Castelo & Guinney 2013 (*BMC Bioinformatics* 14:7), as
          GSVA 1.46: per gene a kernel estimate of the CDF across samples (Gaussian with
          bandwidth sd/4, Poisson ``ppois(y, x + 0.5)`` for counts, or the empirical CDF),
          as log-odds; per sample genes ordered by it and scored ``|p - n/2|``; a
          Kolmogorov-Smirnov-like random walk stepping up by ``r^tau / sum r^tau`` at the
          set's genes and down by ``1/(n - k)`` elsewhere.  Score = max + min of the walk
          (``mx_diff=True``; max - min with ``abs_ranking=True``), or its largest deviation
          (``mx_diff=False``, bimodal).
        * ``"ssgsea"`` -- Barbie et al. 2009 (*Nature* 462:108) as GSVA 1.46: genes ranked in
          each sample, ``ES = sum over the walk of (F_in - F_out)`` with in-set steps weighted
          by ``rank^tau`` (tau 0.25); with ``ssgsea_norm`` all scores are divided by their
          range (max - min over every set and sample, so the scale depends on the sets
          scored together).
        * ``"zscore"`` -- Lee et al. 2008 (*PLoS Comput Biol* 4:e1000217): genes standardised
          across samples, ``sum_g z_gj / sqrt(k)``.
        * ``"plage"`` -- Tomfohr, Lu & Kepler 2005 (*BMC Bioinformatics* 6:225): first right
          singular vector of the set's standardised genes x samples matrix, with the sign
          LAPACK gives (GSVA 1.46 does not orient it).
        * ``"singscore"`` -- Foroutan et al. 2018 (*BMC Bioinformatics* 19:404),
          unidirectional: genes ranked in each sample (ties get the minimum rank, as
          singscore's ``rankGenes``), mean rank ``S`` of the set's ``k`` genes among ``n``,
          ``(S - (k+1)/2) / ((2n-k+1)/2 - (k+1)/2) - 0.5``, in ``[-0.5, 0.5]``.
        * ``"eigengene"`` -- WGCNA's module eigengene (Langfelder & Horvath 2007, *BMC Syst
          Biol* 1:54): the PLAGE vector (unit length, mean 0), signed to correlate
          positively with the set's mean standardised expression; the share of variance it
          explains is in ``variance_explained``.
    kcdf : {"Gaussian", "Poisson", "none"}
        GSVA's CDF estimate (``method="gsva"``).  ssGSEA and singscore use ranks and accept
        any; zscore, plage and eigengene need log-expression and refuse "Poisson"/"none".
    min_size, max_size : int, optional
        Sets with fewer / more genes found in the data are removed and listed in
        :attr:`GeneSetScores.removed` (GSVA's ``min.sz`` / ``max.sz``; ``min_size`` 0 acts
        as 1, as in GSVA).
    abs_ranking, mx_diff : bool
        GSVA's ``abs.ranking`` and ``mx.diff`` (``abs_ranking`` only acts with ``mx_diff``).
    tau : float, optional
        Random-walk weight exponent: 1 for gsva, 0.25 for ssgsea when None.
    ssgsea_norm : bool
        GSVA's ``ssgsea.norm``.
    rng : int or numpy Generator, optional
        Validated (SPEC 7) and otherwise unused: all six methods are deterministic.

    Returns
    -------
    GeneSetScores
        ``scores`` (samples x sets), ``coverage`` (per set: found / missing genes),
        ``removed`` (sets not scored, with the reason), ``excluded_genes``.

    Raises
    ------
    InputError
        NaN/inf or duplicated gene IDs in ``expr``, malformed gene sets, options that do not
        fit the method, non-count data with ``kcdf="Poisson"``, or no set left to score
        (e.g. no gene of any set in the data).

    Notes
    -----
    As in GSVA 1.46, genes constant across samples (SD < 1e-10) are left out before scoring by
    every method except ssgsea and singscore (they are listed in ``excluded_genes`` and in the
    ``excluded`` column of ``coverage``), and set sizes are counted after matching and that
    removal.  Differences from GSVA: a gene listed twice in a set is counted once (GSVA counts
    it twice in the set size and in the walk's normaliser); the GSVA kernel's Poisson CDF is
    scipy's, not R's ``ppois``, so genes whose estimates tie to the last bits may be ordered
    differently (such exact ties also arise with the Gaussian kernel only for genes with
    identical values, which both order alike); GSVA's integer arithmetic in ssGSEA overflows
    beyond 46,340 genes (NA in R), ours does not; and the sign of a PLAGE vector is LAPACK's
    and can flip with a different LAPACK build, as in R.

    Cost: GSVA's kernel estimate takes ``n_samples^2`` kernel evaluations per gene (compiled
    with Numba, genes in parallel): about 4 s for 200 samples x 20,000 genes x 50 sets on two
    cores with the Gaussian kernel, about 20 s with the Poisson kernel (an incomplete gamma
    per pair; each distinct count of a gene is evaluated once).  The other methods take
    well under a second at that size.
    """
    check_rng(rng)
    df = _expression(expr)
    X = df.to_numpy()
    _check_options(method, kcdf, min_size, max_size, tau, X.shape[0], X)
    sets = _check_sets(gene_sets)
    if method in _RANK_BASED:
        usable = np.ones(X.shape[1], dtype=bool)
    else:
        with np.errstate(invalid="ignore"):
            usable = np.nan_to_num(X.std(axis=0, ddof=1)) >= _CONSTANT_SD
    coverage, kept, removed = _match(sets, df.columns, usable, min_size=min_size,
                                     max_size=max_size, method=method)
    if not kept:
        _no_sets_error(sets, df.columns, df.index, removed)
    genes = df.columns[usable]
    if len(genes) < 2:
        raise InputError(f"fewer than 2 non-constant genes in expr ({len(genes)}); scoring "
                         "needs expression that varies across samples")
    col = pd.Series(np.arange(len(genes)), index=genes)
    idx = [col[g].to_numpy() for g in kept.values()]
    values, share = _compute(method, np.ascontiguousarray(X[:, usable]), idx, kcdf=kcdf,
                             tau=tau, mx_diff=bool(mx_diff), abs_ranking=bool(abs_ranking),
                             ssgsea_norm=bool(ssgsea_norm))
    scores = pd.DataFrame(values, index=df.index.copy(),
                          columns=pd.Index(list(kept), name="gene_set"))
    excluded = pd.DataFrame({"gene": df.columns[~usable],
                             "reason": "constant across samples (SD < 1e-10)"})
    params = {"kcdf": kcdf, "min_size": min_size, "max_size": max_size, "tau": tau,
              "mx_diff": mx_diff, "abs_ranking": abs_ranking, "ssgsea_norm": ssgsea_norm}
    ve = None if share is None else pd.Series(share, index=scores.columns,
                                              name="variance_explained")
    return GeneSetScores(scores=scores, coverage=coverage, removed=removed, method=method,
                         params=params, excluded_genes=excluded, variance_explained=ve)
