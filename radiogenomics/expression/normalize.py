"""Counts to normalised expression: edgeR's library-size normalisation, CPM and filterByExpr.

Samples are rows, genes columns (edgeR is genes x samples).  Each function reproduces edgeR
3.40 on a ``DGEList``; the tests compare with edgeR's output (``tests/data/expression/edger``).

* :func:`as_counts` validates a counts matrix (and turns a featureCounts-style genes x samples
  table around).
* :func:`calc_norm_factors` gives TMM (Robinson & Oshlack 2010, *Genome Biol* 11:R25), TMMwsp
  (TMM with singleton pairing, edgeR >= 3.32), RLE (Anders & Huber 2010, *Genome Biol* 11:R106)
  and upper-quartile (Bullard et al. 2010, *BMC Bioinformatics* 11:94) factors, scaled to
  multiply to one.
* :func:`cpm` gives counts per million of the effective library sizes, raw or log2 with
  edgeR's library-size-scaled prior count.
* :func:`filter_by_expr` keeps genes with enough reads in enough samples (Chen, Lun & Smyth
  2016, *F1000Research* 5:1438) and says which were removed and why (:class:`FilterResult`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from .._checks import InputError, as_matrix, as_vector, listing, numeric_frame

__all__ = ["as_counts", "calc_norm_factors", "cpm", "filter_by_expr", "FilterResult"]

_ORIENTATIONS = ("samples x genes", "genes x samples")
_METHODS = ("TMM", "TMMwsp", "RLE", "upperquartile", "none")


# --------------------------------------------------------------------------- validation
def _cells(mask: np.ndarray, samples, genes) -> str:
    """'N value(s) in k sample(s) (...) and m gene(s) (...)' for the True cells of ``mask``."""
    s = np.asarray(samples, dtype=object)[mask.any(axis=1)]
    g = np.asarray(genes, dtype=object)[mask.any(axis=0)]
    return (f"{int(mask.sum())} value(s) in {len(s)} sample(s) ({listing(s)}) and {len(g)} "
            f"gene(s) ({listing(g)})")


def _frame_from_array(arr, what: str) -> pd.DataFrame:
    try:
        a = np.asarray(arr)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{what} is not a rectangular array ({exc}); pass a 2-D array or "
                         "a DataFrame (samples x genes)") from None
    if a.ndim != 2:
        raise InputError(f"{what} must be 2-D (samples x genes), got shape {a.shape}")
    return pd.DataFrame(a, index=[f"sample_{i + 1}" for i in range(a.shape[0])],
                        columns=[f"gene_{j + 1}" for j in range(a.shape[1])])


def _text_columns_first(df: pd.DataFrame, what: str) -> None:
    """Refuse annotation columns of a genes x samples table (featureCounts' Chr, Start, ...)."""
    text = [c for c, dt in df.dtypes.items()
            if not pd.api.types.is_numeric_dtype(dt)
            and pd.to_numeric(df[c], errors="coerce").notna().mean() < 0.5]
    if text:
        raise InputError(
            f"{what} has {len(text)} text column(s): {listing(text)}; a genes x samples table "
            "holds one column per sample: make the gene IDs the index (df.set_index('Geneid')) "
            "and drop annotation columns such as Chr/Start/End/Strand/Length")


def as_counts(counts, *, what: str = "counts", orientation: str = "samples x genes",
              allow_fractional: bool = False) -> pd.DataFrame:
    """Validate a matrix of read counts; return it as a float64 samples x genes DataFrame.

    Parameters
    ----------
    counts : DataFrame or array-like
        Read counts.  A DataFrame keeps its labels (sample IDs become strings); an array gets
        IDs ``sample_1 ...`` and ``gene_1 ...``.
    what : str
        Name used in error messages.
    orientation : {"samples x genes", "genes x samples"}
        Layout of ``counts``.  Files from featureCounts, HTSeq or a GEO series matrix are
        genes x samples; they are transposed here.
    allow_fractional : bool
        Accept non-integer values (estimated counts from salmon, kallisto or RSEM).

    Returns
    -------
    DataFrame
        float64, samples x genes, index named ``sample_id``.

    Raises
    ------
    InputError
        Empty input, NaN/inf, negative or (unless ``allow_fractional``) non-integer values,
        duplicated sample or gene IDs, text columns, or samples whose counts are all zero;
        the message names the samples and genes and the fix.
    """
    if orientation not in _ORIENTATIONS:
        raise InputError(f"orientation must be one of {_ORIENTATIONS}, got {orientation!r}")
    df = counts if isinstance(counts, pd.DataFrame) else _frame_from_array(counts, what)
    if orientation == "genes x samples":
        if df.shape[0] and df.shape[1]:
            _text_columns_first(df, what)
        df = df.T
    check_gene_ids(df, what)
    df = numeric_frame(df, what)
    values = df.to_numpy(dtype=np.float64)
    _check_values(values, df.index, df.columns, what, allow_fractional)
    out = pd.DataFrame(values, index=df.index, columns=df.columns)
    out.index.name = "sample_id"
    return out


def check_gene_ids(df: pd.DataFrame, what: str, merge: str = "sum") -> None:
    """Refuse duplicated gene IDs (with 'gene' in the message) before the generic numeric
    checks; sample IDs are checked by ``numeric_frame``.  ``merge`` is the pandas reduction the
    message suggests for repeated genes ("sum" for counts, "mean" for log expression)."""
    cols = pd.Index(df.columns.astype(str)) if not isinstance(df.columns, pd.MultiIndex) else None
    if cols is not None:
        dup = cols[cols.duplicated()].unique()
        if len(dup):
            how = "sum" if merge == "sum" else "average"
            raise InputError(
                f"{what} has {len(dup)} duplicated gene ID(s): {listing(dup)}; make gene IDs "
                f"unique (e.g. {how} the rows of repeated genes: "
                f"df.T.groupby(level=0).{merge}().T, or use Ensembl IDs instead of symbols)")


def _check_values(values, samples, genes, what: str, allow_fractional: bool) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        raise InputError(f"{what} has NaN or infinite {_cells(bad, samples, genes)}; counts "
                         "cannot be missing: a gene with no reads has count 0 (fill with 0 if "
                         "that is what the gaps mean) or remove the samples/genes")
    neg = values < 0
    if neg.any():
        raise InputError(f"{what} has negative {_cells(neg, samples, genes)}; read counts are "
                         ">= 0: pass raw counts, not log-transformed or centred values")
    if not allow_fractional:
        frac = values != np.round(values)
        if frac.any():
            raise InputError(
                f"{what} has non-integer {_cells(frac, samples, genes)}; pass raw integer "
                "counts (not CPM/TPM/log values), or allow_fractional=True for estimated counts "
                "(salmon, kallisto, RSEM)")
    zero = values.sum(axis=1) == 0
    if zero.any():
        ids = np.asarray(samples, dtype=object)[zero]
        raise InputError(
            f"{what} has {len(ids)} sample(s) with no reads (library size 0): {listing(ids)}; "
            "remove them first (counts.loc[counts.sum(axis=1) > 0])")


def _number(name: str, val, ok, rule: str) -> None:
    """Refuse a parameter that is not a real number satisfying ``ok`` (``rule`` says which)."""
    real = isinstance(val, (int, float, np.integer, np.floating)) and not isinstance(val, bool)
    if not (real and np.isfinite(val) and ok(val)):
        raise InputError(f"{name} must be {rule}, got {val!r}")


def _one_per_sample(values, samples: pd.Index, what: str, one_column_fix: str):
    """``values`` as one entry per sample: a Series (or one-column frame) aligned by sample ID,
    anything else returned as is (taken in the counts' row order by the caller)."""
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise InputError(f"{what} must be one {one_column_fix}")
        values = values.iloc[:, 0]
    if not isinstance(values, pd.Series):
        return values
    s = values.copy()
    s.index = s.index.astype(str)
    missing = samples.difference(s.index)
    if s.index.has_duplicates or len(missing):
        raise InputError(
            f"{what} is a Series whose index does not hold each sample ID of the counts "
            f"once ({len(missing)} missing, e.g. {listing(missing, 3)}); index it by the "
            "counts' sample IDs, or pass a plain array in the counts' row order")
    return s.loc[samples]


def _per_sample(values, samples: pd.Index, what: str) -> np.ndarray:
    """A float vector aligned to ``samples``: a Series by sample ID, an array by position."""
    values = _one_per_sample(values, samples, what, "value per sample, got several columns")
    if isinstance(values, pd.Series):
        arr = as_vector(values, what)[0]
    else:
        arr = as_vector(np.atleast_1d(values), what)[0]
        if arr.shape[0] != len(samples):
            raise InputError(f"{what} has {arr.shape[0]} value(s) for {len(samples)} samples; "
                             "give one per sample, in the counts' row order")
    if (arr <= 0).any():
        raise InputError(f"{what} must be > 0; not for sample(s) {listing(samples[arr <= 0])}: "
                         "remove those samples or fix the values")
    return arr


def _effective_lib(counts: pd.DataFrame, lib_size, norm_factors) -> np.ndarray:
    lib = (counts.to_numpy().sum(axis=1) if lib_size is None
           else _per_sample(lib_size, counts.index, "lib_size"))
    if norm_factors is not None:
        lib = lib * _per_sample(norm_factors, counts.index, "norm_factors")
    return lib


# --------------------------------------------------------------------------- norm factors

def _tmm(obs, ref, n_obs, n_ref, logratio_trim, sum_trim, do_weighting, a_cutoff) -> float:
    """TMM of one sample against the reference (Robinson & Oshlack 2010, eqs. 1-4).

    M = log2((y_k/N)/(r_k/R)), A = (log2(y_k/N) + log2(r_k/R))/2, over genes with both
    counts > 0 and A > ``a_cutoff``; genes in the outer ``logratio_trim`` of M or the outer
    ``sum_trim`` of A (by average rank) are trimmed; the rest are averaged with inverse
    delta-method variances  v = (N - y)/(N y) + (R - r)/(R r).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, lr = np.log2(obs / n_obs), np.log2(ref / n_ref)
        m = np.log2((obs / n_obs) / (ref / n_ref))
        a = (lo + lr) / 2
        v = (n_obs - obs) / n_obs / obs + (n_ref - ref) / n_ref / ref
    fin = np.isfinite(m) & np.isfinite(a) & (a > a_cutoff)
    m, a, v = m[fin], a[fin], v[fin]
    if m.size == 0 or np.max(np.abs(m)) < 1e-6:
        return 1.0
    n = m.size
    lo_m, lo_a = math.floor(n * logratio_trim) + 1, math.floor(n * sum_trim) + 1
    rm, ra = rankdata(m), rankdata(a)
    keep = (rm >= lo_m) & (rm <= n + 1 - lo_m) & (ra >= lo_a) & (ra <= n + 1 - lo_a)
    ok = keep & ~np.isnan(v) if do_weighting else keep
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (np.nan if not ok.any() else np.sum(m[ok] / v[ok]) / np.sum(1 / v[ok])
             if do_weighting else np.mean(m[ok]))
    return float(2.0 ** (0.0 if np.isnan(f) else f))


def _pair_singletons(obs, ref):
    """TMMwsp's gene set: genes positive in both, then the genes positive in only one sample,
    paired largest with largest (as many pairs as the smaller of the two singleton sets)."""
    po, pr = obs > 1e-14, ref > 1e-14
    both = po & pr
    only_o, only_r = po & ~pr, pr & ~po
    k = int(min(only_o.sum(), only_r.sum()))
    single = only_o | only_r
    o_s = np.sort(obs[single])[::-1][:k]
    r_s = np.sort(ref[single])[::-1][:k]
    return np.concatenate([obs[both], o_s]), np.concatenate([ref[both], r_s])


def _middle(order: np.ndarray, trim: float) -> np.ndarray:
    """Mask of the elements between the ``trim`` shares at each end of the sort ``order``."""
    n, lo = order.size, int(order.size * trim)
    keep = np.zeros(n, bool)
    keep[order[lo:n - lo]] = True
    return keep


def _tmmwsp(obs, ref, n_obs, n_ref, logratio_trim, sum_trim, do_weighting) -> float:
    """TMM with singleton pairing (edgeR's TMMwsp, for sparse data).

    Zeros in one sample are paired off (see :func:`_pair_singletons`), M ties are broken by
    the M of counts + 0.5, trimming is by sort order rather than rank, and the precision
    weights are ``(1 + 1e-6)/(v + 1e-6)``, where v is the variance above written with
    proportions; A is not cut.
    """
    obs, ref = _pair_singletons(obs, ref)
    n = obs.size
    if n == 0:
        return 1.0
    po, pr = obs / n_obs, ref / n_ref
    m = np.log2(po / pr)
    a = 0.5 * np.log2(po * pr)
    if np.max(np.abs(m)) < 1e-6:
        return 1.0
    m_shrunk = np.log2(((obs + 0.5) / (n_obs + 0.5)) / ((ref + 0.5) / (n_ref + 0.5)))
    keep = (_middle(np.lexsort((np.arange(n), m_shrunk, m)), logratio_trim)
            & _middle(np.argsort(a, kind="stable"), sum_trim))
    if do_weighting:
        v = (1 - po[keep]) / po[keep] / n_obs + (1 - pr[keep]) / pr[keep] / n_ref
        w = (1 + 1e-6) / (v + 1e-6)
        f = np.sum(w * m[keep]) / np.sum(w)
    else:
        f = np.mean(m[keep])
    return float(2.0 ** f)


def _reference_sample(x: np.ndarray, lib: np.ndarray, method: str, ref_sample, ids) -> int:
    """edgeR's default reference: TMM takes the sample whose upper-quartile factor is nearest
    the mean (the largest sum of sqrt-counts if most upper quartiles are 0); TMMwsp always
    takes the largest sum of sqrt-counts."""
    if ref_sample is not None:
        if isinstance(ref_sample, (int, np.integer)) and not isinstance(ref_sample, bool):
            if not 0 <= ref_sample < len(ids):
                raise InputError(f"ref_sample position {ref_sample} is out of range for "
                                 f"{len(ids)} samples; pass a position or a sample ID")
            return int(ref_sample)
        if str(ref_sample) not in ids:
            raise InputError(f"ref_sample {ref_sample!r} is not a sample ID of the counts "
                             f"(they are {listing(ids, 5)}); pass one of them or a position")
        return int(ids.get_loc(str(ref_sample)))
    if method == "TMM":
        f75 = np.quantile(x, 0.75, axis=1) / lib  # R's type-7 quantile = numpy's "linear"
        if np.median(f75) >= 1e-20:
            return int(np.argmin(np.abs(f75 - np.mean(f75))))
    return int(np.argmax(np.sqrt(x).sum(axis=1)))


def _raw_factors(x, lib, method, ref, ids, p, trims) -> np.ndarray:
    if method == "RLE":
        with np.errstate(divide="ignore"):
            gm = np.exp(np.mean(np.log(x), axis=0))
        pos = gm > 0
        if not pos.any():
            raise InputError(
                "RLE needs genes with reads in every sample (the geometric mean is 0 for every "
                "gene here: edgeR returns NA); use method='TMMwsp' for sparse counts")
        return np.median(x[:, pos] / gm[pos], axis=1) / lib
    if method == "upperquartile":
        q = np.quantile(x, p, axis=1)
        if (q == 0).any():
            raise InputError(
                f"the {p:g} quantile of the counts is 0 in sample(s) {listing(ids[q == 0])} "
                "(edgeR gives Inf/NaN factors with a warning); filter low counts first "
                "(filter_by_expr), raise p, or use method='TMM' or 'TMMwsp'")
        return q / lib
    lt, st, dw, ac = trims
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        if method == "TMM":
            out[i] = _tmm(x[i], x[ref], lib[i], lib[ref], lt, st, dw, ac)
        else:
            out[i] = _tmmwsp(x[i], x[ref], lib[i], lib[ref], lt, st, dw)
    return out


def _check_factor_args(method, logratio_trim, sum_trim, a_cutoff, p) -> None:
    if method not in _METHODS:
        raise InputError(f"method must be one of {_METHODS}, got {method!r}")
    for name, val in (("logratio_trim", logratio_trim), ("sum_trim", sum_trim)):
        _number(name, val, lambda v: 0 <= v < 0.5, "in [0, 0.5) (the share trimmed at each end)")
    _number("p", p, lambda v: 0 <= v <= 1, "a quantile in [0, 1]")
    if not (isinstance(a_cutoff, (int, float, np.integer, np.floating)) and not np.isnan(a_cutoff)):
        raise InputError(f"a_cutoff must be a number (-inf allowed), got {a_cutoff!r}")


def calc_norm_factors(counts, method: str = "TMM", *, lib_size=None, ref_sample=None,
                      logratio_trim: float = 0.3, sum_trim: float = 0.05,
                      do_weighting: bool = True, a_cutoff: float = -1e10, p: float = 0.75,
                      allow_fractional: bool = False) -> pd.Series:
    """Normalisation factors for library sizes, as edgeR's ``calcNormFactors`` (3.40).

    The effective library size of sample i is ``lib_size_i * factor_i``; factors are scaled
    so that their product (geometric mean) is 1, as edgeR does.

    * ``"TMM"``: trimmed mean of M values of each sample against a reference sample (by
      default the one whose upper-quartile factor is nearest the mean; the one with the largest
      sum of sqrt-counts when the median upper quartile is 0), trimming ``logratio_trim`` of
      the log-ratios M and ``sum_trim`` of the average log-expressions A at each end, weighted
      by inverse asymptotic variances (Robinson & Oshlack 2010).
    * ``"TMMwsp"``: TMM "with singleton pairing" for sparse counts: genes with reads in only
      one of the two samples are paired off rather than discarded; the reference is the
      sample with the largest sum of sqrt-counts.
    * ``"RLE"``: median ratio of each sample to the genes' geometric means over genes with
      reads in every sample (DESeq's size factor), divided by the library size.
    * ``"upperquartile"``: the ``p`` quantile of each sample's counts over its library size.
    * ``"none"``: all 1.

    Genes with no reads in any sample are ignored (as in edgeR); with one sample or no such
    genes every factor is 1.

    Parameters
    ----------
    counts : DataFrame or array-like
        Counts, samples x genes (validated by :func:`as_counts`).
    method : {"TMM", "TMMwsp", "RLE", "upperquartile", "none"}
    lib_size : Series or array-like, optional
        Library sizes (default: the row sums).  A Series is matched by sample ID.
    ref_sample : str or int, optional
        Reference sample for TMM/TMMwsp: a sample ID or a 0-based position.
    logratio_trim, sum_trim, do_weighting, a_cutoff : float, float, bool, float
        TMM's trims, weighting and minimum A (``Acutoff``; TMMwsp ignores it as edgeR does).
    p : float
        Quantile for ``"upperquartile"``.
    allow_fractional : bool
        Accept non-integer (estimated) counts.

    Returns
    -------
    Series
        One factor per sample, indexed by sample ID, named ``norm_factors``.

    Raises
    ------
    InputError
        Bad counts (see :func:`as_counts`); an upper quartile of 0 in some sample, or RLE with
        no gene expressed in every sample.  edgeR returns Inf/NaN factors (with a warning) or
        NA here; an error naming the samples and the fix is raised instead.

    Notes
    -----
    Equal to edgeR to rounding (~1e-15 relative in the tests).  R's ``mean``/``rowMeans``
    accumulate in extended precision; if the difference ever broke an exact tie in the choice
    of TMM's reference sample or in the trimming ranks, the factors would differ more.
    """
    method = "TMMwsp" if method == "TMMwzp" else method  # edgeR's former name
    _check_factor_args(method, logratio_trim, sum_trim, a_cutoff, p)
    df = as_counts(counts, allow_fractional=allow_fractional)
    lib = _effective_lib(df, lib_size, None)
    x = df.to_numpy()
    x = x[:, (x > 0).any(axis=0)]
    if x.shape[1] == 0 or x.shape[0] == 1:
        method = "none"
    if method == "none":
        f = np.ones(x.shape[0])
    else:
        ref = (_reference_sample(x, lib, method, ref_sample, df.index)
               if method in ("TMM", "TMMwsp") else 0)
        f = _raw_factors(x, lib, method, ref, df.index, p,
                         (logratio_trim, sum_trim, do_weighting, a_cutoff))
    f = f / np.exp(np.mean(np.log(f)))
    return pd.Series(f, index=df.index, name="norm_factors")


# --------------------------------------------------------------------------- CPM
def cpm(counts, *, norm_factors=None, lib_size=None, log: bool = False,
        prior_count: float = 2.0, allow_fractional: bool = False) -> pd.DataFrame:
    """Counts per million, as edgeR's ``cpm`` on a DGEList (3.40).

    With effective library sizes ``L_i = lib_size_i * norm_factor_i``:

    * ``log=False``: ``y_ik * 1e6 / L_i``.
    * ``log=True``: ``log2((y_ik + c_i) / (L_i + 2 c_i) * 1e6)`` with the prior count scaled to
      the library size, ``c_i = prior_count * L_i / mean(L)`` (edgeR's ``addPriorCount``: the
      average prior is ``prior_count`` and each library grows by twice its prior).

    Parameters
    ----------
    counts : DataFrame or array-like
        Counts, samples x genes (validated by :func:`as_counts`).
    norm_factors : Series or array-like, optional
        From :func:`calc_norm_factors`; default 1 (no normalisation).
    lib_size : Series or array-like, optional
        Library sizes (default: the row sums).  Series are matched by sample ID.
    log : bool
        Return log2-CPM.
    prior_count : float
        Average count added before taking logs (>= 0).  With 0, zero counts give ``-inf``
        (as in edgeR).
    allow_fractional : bool
        Accept non-integer (estimated) counts.

    Returns
    -------
    DataFrame
        Same labels as the validated counts (samples x genes).

    Notes
    -----
    Equal to edgeR's compiled code in the order of operations (raw: ``y * (1e6 / L)``; log:
    ``(ln(y + c) - ln(L + 2c) + ln 1e6) / ln 2``), so agreement is to the last bit or ~1e-15.
    """
    df = as_counts(counts, allow_fractional=allow_fractional)
    lib = _effective_lib(df, lib_size, norm_factors)
    y = df.to_numpy()
    if not log:
        out = y * (1e6 / lib)[:, None]
    else:
        _number("prior_count", prior_count, lambda v: v >= 0, "a finite number >= 0")
        c = prior_count * lib / np.mean(lib)
        with np.errstate(divide="ignore"):
            out = ((np.log(y + c[:, None]) - np.log(lib + 2 * c)[:, None] + np.log(1e6))
                   / np.log(2))
    return pd.DataFrame(out, index=df.index, columns=df.columns)


# --------------------------------------------------------------------------- filterByExpr
@dataclass(repr=False)
class FilterResult:
    """Outcome of :func:`filter_by_expr`.

    Attributes
    ----------
    keep : Series
        bool, indexed by gene.
    removed : DataFrame
        One row per removed gene: ``gene``, ``reason``, ``n_samples_above`` (samples at or
        above the CPM cutoff) and ``total_count``.
    n_kept : int
    min_samples : float
        Samples that must reach the cutoff (edgeR's ``MinSampleSize``, possibly fractional).
    cpm_cutoff : float
        ``min_count / median(effective library size) * 1e6``.
    rule : str
        How ``min_samples`` was set (smallest group, design leverage or all samples).
    """

    keep: pd.Series
    removed: pd.DataFrame
    n_kept: int
    min_samples: float
    cpm_cutoff: float
    min_count: float = 10
    min_total_count: float = 15
    rule: str = ""
    n_samples_above: pd.Series = field(default=None)
    total_count: pd.Series = field(default=None)

    @property
    def n_genes(self) -> int:
        return int(self.keep.size)

    @property
    def samples_needed(self) -> int:
        """Whole samples needed: ``min_samples`` rounded up (edgeR compares with 1e-14 slack)."""
        return int(math.ceil(self.min_samples - 1e-14))

    def to_frame(self) -> pd.DataFrame:
        """One row per gene: ``keep``, ``n_samples_above``, ``total_count``, ``reason``."""
        out = pd.DataFrame({"keep": self.keep, "n_samples_above": self.n_samples_above,
                            "total_count": self.total_count})
        out["reason"] = self.removed.set_index("gene")["reason"].reindex(out.index).fillna("")
        out.index.name = "gene"
        return out

    def summary(self) -> str:
        """A few lines: the rule, how many genes were kept and why the others were removed."""
        both = self.removed["reason"].str.contains("; ").sum()
        low_cpm = self.removed["reason"].str.startswith("below CPM").sum()
        low_tot = self.removed["reason"].str.contains("total count").sum()
        return "\n".join([
            f"filter_by_expr (edgeR filterByExpr rule): kept {self.n_kept} of {self.n_genes} genes",
            f"  rule: CPM >= {self.cpm_cutoff:.4g} ({self.min_count:g} reads at the median "
            f"library size) in >= {self.min_samples:.4g} samples ({self.rule}), and >= "
            f"{self.min_total_count:g} reads in total",
            f"  removed {len(self.removed)}: {low_cpm} too few samples above the CPM cutoff, "
            f"{low_tot} total count too low ({both} both)"])

    def __repr__(self) -> str:
        return (f"FilterResult(kept {self.n_kept}/{self.n_genes} genes, removed "
                f"{len(self.removed)}; CPM >= {self.cpm_cutoff:.4g} in >= "
                f"{self.min_samples:.4g} samples, total >= {self.min_total_count:g})")

    def apply(self, counts, *, orientation: str = "samples x genes") -> pd.DataFrame:
        """The kept genes of ``counts`` (samples x genes, or genes x samples if told)."""
        if orientation not in _ORIENTATIONS:
            raise InputError(f"orientation must be one of {_ORIENTATIONS}, got {orientation!r}")
        sg = orientation == "samples x genes"
        if not isinstance(counts, pd.DataFrame):
            arr, k = np.asarray(counts), self.keep.to_numpy()
            if arr.ndim != 2 or arr.shape[1 if sg else 0] != self.n_genes:
                raise InputError(f"counts must be 2-D with {self.n_genes} genes (the filtered "
                                 f"set) in the {orientation} layout, got shape {arr.shape}")
            return arr[:, k] if sg else arr[k]
        df = counts if sg else counts.T
        genes = pd.Index(df.columns.astype(str))
        missing = self.keep.index.difference(genes)
        if len(missing):
            raise InputError(f"counts lack {len(missing)} gene(s) the filter was computed on: "
                             f"{listing(missing)}; apply the filter to the same genes")
        out = df.loc[:, genes.isin(self.keep.index[self.keep.to_numpy()])]
        return out if sg else out.T


def _design_min_samples(design, samples: pd.Index) -> float:
    """1 / max leverage of the design (with an intercept added, as R's ``hat`` does)."""
    if isinstance(design, (pd.DataFrame, pd.Series)):
        d = design.to_frame() if isinstance(design, pd.Series) else design
        d = d.copy()
        d.index = d.index.astype(str)
        if not d.index.sort_values().equals(samples.sort_values()):
            only = samples.difference(d.index)
            raise InputError(f"design rows do not match the counts' sample IDs ({len(only)} "
                             f"sample(s) without a row, e.g. {listing(only, 3)}); index the "
                             "design by sample ID, or pass an array in the counts' row order")
        X = as_matrix(d.loc[samples], "design",
                      nan_fix="give every sample a value (the design is a model matrix)")[0]
    else:
        X = as_matrix(design, "design")[0]
        if X.shape[0] != len(samples):
            raise InputError(f"design has {X.shape[0]} rows for {len(samples)} samples; give "
                             "one row per sample in the counts' row order")
    X1 = np.column_stack([np.ones(len(samples)), X])
    u, s, _ = np.linalg.svd(X1, full_matrices=False)
    rank = int(np.sum(s > 1e-7 * s[0]))
    return float(1.0 / np.max(np.sum(u[:, :rank] ** 2, axis=1)))


def _group_min_samples(group, samples: pd.Index) -> tuple[float, str]:
    g = _one_per_sample(group, samples, "group", "column (one label per sample); combine "
                        "factors first, e.g. df['a'].astype(str) + ':' + df['b'].astype(str)")
    if not isinstance(g, pd.Series):
        g = pd.Series(np.asarray(group, dtype=object).ravel())
        if len(g) != len(samples):
            raise InputError(f"group has {len(g)} labels for {len(samples)} samples; give one "
                             "per sample, in the counts' row order")
        g.index = samples
    if g.isna().any():
        raise InputError(f"group is missing for sample(s) {listing(samples[g.isna().to_numpy()])};"
                         " give every sample a group, or remove those samples")
    sizes = g.value_counts()
    sizes = sizes[sizes > 0]  # unused categories of a Categorical do not count (as tabulate)
    return float(sizes.min()), f"smallest group: {sizes.idxmin()!s}, {int(sizes.min())} samples"


def _min_samples(design, group, samples: pd.Index, large_n, min_prop) -> tuple[float, str]:
    """edgeR's MinSampleSize (smallest group, else 1 / max leverage, else n; then large.n)."""
    if group is not None:
        mss, rule = _group_min_samples(group, samples)
    elif design is not None:
        mss = _design_min_samples(design, samples)
        rule = f"design: 1 / max leverage = {mss:.4g}"
    else:
        mss, rule = float(len(samples)), f"all {len(samples)} samples as one group"
    if mss > large_n:
        mss = large_n + (mss - large_n) * min_prop
        rule += f"; above large_n = {large_n:g}, so {large_n:g} + {min_prop:g} x the excess"
    return mss, rule


def _reasons(n_above, total, keep_cpm, keep_tot, need, cutoff, min_count, min_total, n):
    out = []
    for a, t, kc, kt in zip(n_above, total, keep_cpm, keep_tot):
        parts = []
        if not kc:
            parts.append(f"below CPM {cutoff:.3g} ({min_count:g} counts at the median library "
                         f"size) in {n - a} of {n} samples: {a} reach it, {need} needed")
        if not kt:
            parts.append(f"total count {t:g} below {min_total:g}")
        out.append("; ".join(parts))
    return out


def filter_by_expr(counts, *, design=None, group=None, lib_size=None, norm_factors=None,
                   min_count: float = 10, min_total_count: float = 15, large_n: float = 10,
                   min_prop: float = 0.7, allow_fractional: bool = False) -> FilterResult:
    """Keep genes with enough reads in enough samples: edgeR's ``filterByExpr`` (3.40).

    A gene is kept when its CPM is at least ``min_count / median(L) * 1e6`` in at least
    ``m`` samples and its total count is at least ``min_total_count`` (Chen, Lun & Smyth
    2016).  ``L`` are the effective library sizes ``lib_size * norm_factors`` (edgeR's
    DGEList method uses ``lib.size * norm.factors`` both for the CPM and for the median).
    ``m`` is the size of the smallest group (``group``), else ``1 / max(h)`` with ``h`` the
    leverages of the design (R's ``hat``, which adds an intercept column), else the number of
    samples; above ``large_n`` it becomes ``large_n + (m - large_n) * min_prop``.  Both
    comparisons allow 1e-14 slack, as edgeR does.

    Parameters
    ----------
    counts : DataFrame or array-like
        Counts, samples x genes (validated by :func:`as_counts`).
    design : DataFrame or array-like, optional
        Model matrix, samples x columns (a DataFrame is matched by sample ID).
    group : Series or array-like, optional
        Group label per sample (a Series is matched by sample ID).  Takes precedence over
        ``design`` when both are given, as in edgeR.
    lib_size, norm_factors : Series or array-like, optional
        Library sizes (default the row sums) and normalisation factors (default 1).  To
        reproduce ``filterByExpr(calcNormFactors(y))`` pass
        ``norm_factors=calc_norm_factors(counts)``; the default reproduces
        ``filterByExpr(DGEList(counts))``.
    min_count, min_total_count, large_n, min_prop : float
        edgeR's ``min.count``, ``min.total.count``, ``large.n``, ``min.prop``.
    allow_fractional : bool
        Accept non-integer (estimated) counts.

    Returns
    -------
    FilterResult
        ``keep`` per gene, the removed genes with their reason, ``min_samples`` and
        ``cpm_cutoff``; ``.apply(counts)`` returns the kept genes.

    Notes
    -----
    With neither ``group`` nor ``design`` all samples form one group, as ``filterByExpr`` on a
    DGEList without groups.  Leverages come from an SVD (rank tolerance 1e-7) rather than R's
    pivoted QR; they agree to rounding for any full-rank design.
    """
    df = as_counts(counts, allow_fractional=allow_fractional)
    for name, val in (("min_count", min_count), ("min_total_count", min_total_count),
                      ("large_n", large_n), ("min_prop", min_prop)):
        _number(name, val, lambda v: v >= 0, "a finite number >= 0")
    lib = _effective_lib(df, lib_size, norm_factors)
    n = df.shape[0]
    mss, rule = _min_samples(design, group, df.index, large_n, min_prop)
    cutoff = min_count / np.median(lib) * 1e6
    y = df.to_numpy()
    n_above = (y * (1e6 / lib)[:, None] >= cutoff).sum(axis=0)
    total = y.sum(axis=0)
    keep_cpm = n_above >= mss - 1e-14
    keep_tot = total >= min_total_count - 1e-14
    keep = keep_cpm & keep_tot
    genes = df.columns
    drop = ~keep
    reasons = _reasons(n_above[drop], total[drop], keep_cpm[drop], keep_tot[drop],
                       int(math.ceil(mss - 1e-14)), cutoff, min_count, min_total_count, n)
    removed = pd.DataFrame({"gene": genes[drop], "reason": reasons,
                            "n_samples_above": n_above[drop], "total_count": total[drop]})
    return FilterResult(keep=pd.Series(keep, index=genes, name="keep"), removed=removed,
                        n_kept=int(keep.sum()), min_samples=float(mss), cpm_cutoff=float(cutoff),
                        min_count=min_count, min_total_count=min_total_count, rule=rule,
                        n_samples_above=pd.Series(n_above, index=genes, name="n_samples_above"),
                        total_count=pd.Series(total, index=genes, name="total_count"))
