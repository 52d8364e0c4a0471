"""Colocalisation of two traits by approximate Bayes factors, as R coloc's ``coloc.abf``.

References
----------
Giambartolomei C, Vukcevic D, Schadt EE, et al. (2014). Bayesian test for colocalisation
between pairs of genetic association studies using summary statistics. PLoS Genet
10:e1004383.  Wakefield J (2009). Bayes factors for genome-wide association studies:
comparison with P-values. Genet Epidemiol 33:79-86.  Wallace C (2020). Eliciting priors and
relaxing the single causal variant assumption in colocalisation analyses. PLoS Genet
16:e1008720.  R package coloc 6.0.1 (github.com/chr1swallace/coloc, ``R/claudia.R``,
``R/check.R``); the coloc 5.x ``coloc.abf`` computes the same numbers (6.0 added only the
optional ``prior_weights``).

Model (one causal variant per trait in the region)
--------------------------------------------------
Per SNP and dataset, Wakefield's approximate Bayes factor for association
(``approx.bf.estimates``), with ``z = beta / sqrt(V)``, ``V = varbeta`` and prior effect SD
``W = 0.15 sdY`` (``type="quant"``) or ``W = 0.2`` (``type="cc"``, log odds ratio):

.. math:: r = W^2 / (W^2 + V), \\qquad \\log ABF = \\tfrac12 [\\log(1 - r) + r z^2].

Without ``beta``/``varbeta`` (``approx.bf.p``): ``z = Phi^{-1}(1 - p/2)`` and
``V = 1 / (2 N f (1 - f))`` (quant; on the scale var(Y) = 1, ``sdY`` is not used, as in
coloc) or ``V = 1 / (2 N f (1 - f) s (1 - s))`` (cc, ``s`` the share of cases), ``f`` the MAF.
A quantitative trait without ``sdY`` gets coloc's ``sdY.est``: the no-intercept least-squares
slope ``c`` of ``2 N f (1 - f)`` on ``1 / varbeta`` over all SNPs of that dataset, ``sdY =
sqrt(c)`` (a warning is issued, as in coloc).

With ``l1``, ``l2`` the log ABFs of the SNPs common to both datasets and the per-SNP priors
``p1``, ``p2``, ``p12`` (``combine.abf``):

* H0: 0; H1: ``log p1 + logsum(l1)``; H2: ``log p2 + logsum(l2)``;
* H3: ``log p1 + log p2 + log sum_{i != j} exp(l1_i + l2_j)``;
* H4: ``log p12 + logsum(l1 + l2)``;
* ``PP.Hh = exp(lHh - logsum(lH0..lH4))``; per SNP ``SNP.PP.H4 = exp(l1 + l2 -
  logsum(l1 + l2))`` (the posterior that the SNP is the shared causal variant *if* H4 holds).

coloc computes the H3 sum as ``logdiff(logsum(l1) + logsum(l2), logsum(l1 + l2))``, which loses
digits (and can return exactly 0) when one SNP dominates both traits; here the same sum over
distinct pairs is formed directly, ``sum_i exp(l1_i) * sum_{j != i} exp(l2_j)`` with the
leave-one-out sums taken relative to the largest term, so it keeps full precision.  Where
coloc's subtraction is accurate the two agree to rounding (``tests/test_mr_coloc.py``).

As coloc: ``p1`` (``p2``) becomes ``1 / (n + 1)`` when ``n p1 >= 1`` with ``n`` the number of
SNPs in dataset 1 (2), and ``p12`` likewise with the number of SNPs in common (a warning says
so); only SNPs present in both datasets (same ``snp``, and the same ``position`` when both give
one) are used and the others are listed in ``ColocResult.excluded`` with the reason; results are
sorted by SNP name (coloc's ``merge``; R's order equals Python's for names in the C locale).

Optional variant-specific priors (coloc 6 ``prior_weights1/2``): with weights ``w`` over the
``Q`` common SNPs, ``p1_i = Q p1 w_i / sum(w)`` (likewise ``p2_i``), ``p12_i = p1_i p2_i p12 /
(p1 p2)`` and every sum above carries these per-SNP priors.  Weights here follow their SNPs; coloc
6.0.1 instead takes ``prior_weights1[df1$snp %in% merged$snp]`` in dataset order and applies
them to the SNP-sorted merged rows, so its weights land on other SNPs whenever the input is not
already sorted by name (e.g. ``s1 .. s500``); coloc's ``SNP.PP.H4`` ignores the weights, which
the extra column ``SNP.PP.H4.weighted`` takes into account.

Several signals per trait (coloc ``coloc.bf_bf`` / ``coloc.susie``, Wallace 2021 PLoS Genet
17:e1009440): :func:`coloc_bf_bf` applies the same model to every pair of signals given as
per-SNP log BFs (e.g. SuSiE's ``lbf_variable`` rows of the credible sets), and
:func:`coloc_susie` takes two SuSiE fits: :func:`radiogenomics.mr.susie.susie_rss` results
(tested end to end against coloc's ``coloc.susie`` in ``tests/test_mr_susie.py``) or fits
exported from susieR.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import InputError, listing

__all__ = ["coloc_abf", "ColocResult", "sdy_est", "abf_estimates", "abf_pvalues", "hypothesis_priors",
           "coloc_bf_bf", "coloc_susie", "ColocSignalsResult"]

#: prior SD of the effect: quant (in units of sdY) and case-control (log OR); coloc's
#: ``effect_priors``
EFFECT_PRIORS = {"quant": 0.15, "cc": 0.2}
_VECTORS = ("snp", "beta", "varbeta", "se", "pvalues", "MAF", "position")
_SCALARS = ("type", "N", "sdY", "s")


# --------------------------------------------------------------------------- numerics
def _logsum(x) -> float:
    """``log(sum(exp(x)))`` taking out the maximum (coloc ``logsum``); -inf for no mass."""
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x) if x.size else -np.inf
    if not np.isfinite(m):
        return float(m) if m == np.inf else -np.inf
    return float(m + np.log(np.sum(np.exp(x - m))))


def _logsum_distinct(a1, a2) -> float:
    """``log sum_{i != j} exp(a1_i + a2_j)`` without cancellation (-inf for one SNP)."""
    a1 = np.asarray(a1, dtype=np.float64)
    a2 = np.asarray(a2, dtype=np.float64)
    if a2.size < 2:
        return -np.inf
    k = int(np.argmax(a2))
    top = a2[k]
    if not np.isfinite(top):
        return -np.inf
    scaled = np.exp(a2 - top)
    total = scaled.sum()
    with np.errstate(divide="ignore"):
        # for i != k the remaining sum still holds the largest term (>= 1): no cancellation
        rest = top + np.log(total - scaled)
    rest[k] = _logsum(np.delete(a2, k))
    return _logsum(a1 + rest)


def sdy_est(varbeta, maf, n) -> float:
    """coloc's ``sdY.est``: trait SD from ``var(beta) = var(Y) / (n var(X))``.

    The no-intercept least-squares slope ``c`` of ``2 n f (1 - f)`` on ``1 / varbeta``
    (``lm(nvx ~ oneover - 1)``), returned as ``sqrt(c)``; refused when ``c < 0``.
    """
    vb = np.asarray(varbeta, dtype=np.float64)
    f = np.asarray(maf, dtype=np.float64)
    oneover = 1.0 / vb
    nvx = 2.0 * n * f * (1.0 - f)
    cf = float(np.sum(oneover * nvx) / np.sum(oneover * oneover))
    if not cf >= 0:
        raise InputError(
            "estimated sdY is negative (this can happen with small datasets or errors in "
            "varbeta/MAF/N); give the trait's standard deviation as sdY")
    return float(np.sqrt(cf))


def abf_estimates(z, V, type, sdY=1.0) -> pd.DataFrame:  # noqa: A002 - coloc's argument name
    """Columns ``V, z, r, lABF`` of coloc's ``approx.bf.estimates`` (see module docstring)."""
    sd_prior = EFFECT_PRIORS["quant"] * sdY if type == "quant" else EFFECT_PRIORS["cc"]
    V = np.asarray(V, dtype=np.float64)
    z = np.asarray(z, dtype=np.float64)
    r = sd_prior**2 / (sd_prior**2 + V)
    labf = 0.5 * (np.log(1.0 - r) + r * z**2)
    return pd.DataFrame({"V": V, "z": z, "r": r, "lABF": labf})


def abf_pvalues(p, f, type, N, s=None) -> pd.DataFrame:  # noqa: A002
    """Columns ``V, z, r, lABF`` of coloc's ``approx.bf.p`` (p-values and MAF; no sdY)."""
    f = np.asarray(f, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if type == "quant":
        sd_prior = EFFECT_PRIORS["quant"]
        V = 1.0 / (2.0 * N * f * (1.0 - f))
    else:
        sd_prior = EFFECT_PRIORS["cc"]
        V = 1.0 / (2.0 * N * f * (1.0 - f) * s * (1.0 - s))
    z = stats.norm.isf(0.5 * p)
    r = sd_prior**2 / (sd_prior**2 + V)
    labf = 0.5 * (np.log(1.0 - r) + r * z**2)
    return pd.DataFrame({"V": V, "z": z, "r": r, "lABF": labf})


def _adjust_prior(p: float, nsnps: int, name: str, what: str) -> float:
    """coloc's ``adjust_prior``: ``1 / (nsnps + 1)`` when ``nsnps * p >= 1`` (with a warning)."""
    if nsnps * p >= 1:
        new = 1.0 / (nsnps + 1)
        warnings.warn(f"{name} * number of SNPs ({what}: {nsnps}) >= 1, so {name} is set to "
                      f"1/(nsnps + 1) = {new:.4g} (as coloc); use a smaller {name} or a smaller "
                      "region", UserWarning, stacklevel=3)
        return new
    return p


# --------------------------------------------------------------------------- datasets
def _scalar(d: Mapping, key: str, label: str, from_frame: bool):
    v = d[key]
    if from_frame:
        vals = pd.unique(pd.Series(v))
        if len(vals) != 1:
            raise InputError(f"dataset {label}: column {key!r} must hold one value for every SNP "
                             f"(it is a per-dataset quantity in coloc), found {listing(vals, 3)}; "
                             "give a single value")
        v = vals[0]
    if isinstance(v, (list, tuple, np.ndarray, pd.Series)):
        arr = np.asarray(v).ravel()
        if arr.size != 1:
            raise InputError(f"dataset {label}: {key} must be a single value (coloc does not "
                             f"accommodate per-SNP {key}), got {arr.size} values; give one")
        v = arr[0]
    return v


def _as_float(v, key: str, label: str) -> np.ndarray:
    try:
        arr = np.asarray(v, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise InputError(f"dataset {label}: {key} must be numeric; found "
                         f"{listing(pd.unique(pd.Series(np.asarray(v, dtype=object).ravel()))[:3])}"
                         "; give numbers") from None
    return arr


def _check_dataset(d, label: str, MAF=None) -> dict:
    """Validate one coloc dataset (coloc's ``check_dataset``); return a normalised dict."""
    from_frame = isinstance(d, pd.DataFrame)
    if not (from_frame or isinstance(d, Mapping)):
        raise InputError(f"dataset {label} must be a dict (coloc's list) or a DataFrame, got "
                         f"{type(d).__name__}; give e.g. dict(snp=..., beta=..., varbeta=..., "
                         "type='quant', sdY=...)")
    keys = set(d.columns if from_frame else d.keys())
    out: dict = {}
    if "snp" not in keys:
        raise InputError(f"dataset {label}: missing 'snp' (SNP names, used to match the two "
                         "datasets); give one name per SNP")
    if "type" not in keys:
        raise InputError(f"dataset {label}: missing 'type'; give type='quant' (quantitative "
                         "trait) or type='cc' (case-control)")
    typ = _scalar(d, "type", label, from_frame)
    if typ not in ("quant", "cc"):
        raise InputError(f"dataset {label}: type must be 'quant' or 'cc', got {typ!r}")
    out["type"] = typ
    for k in ("N", "sdY", "s"):
        if k in keys:
            v = _scalar(d, k, label, from_frame)
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise InputError(f"dataset {label}: {k} must be a number, got {v!r}") from None
            if not np.isfinite(v):
                raise InputError(f"dataset {label}: {k} is missing or infinite; give a finite value")
            out[k] = v
    snp = np.asarray(d["snp"], dtype=object).ravel()
    if pd.isna(pd.Series(snp)).any():
        raise InputError(f"dataset {label}: snp contains missing names; name every SNP or drop "
                         "those rows")
    snp = np.array([str(s) for s in snp], dtype=object)
    n = snp.size
    if n == 0:
        raise InputError(f"dataset {label} has no SNPs; supply summary statistics")
    dup = pd.Series(snp)[pd.Series(snp).duplicated()].unique()
    if len(dup):
        raise InputError(f"dataset {label}: duplicated SNP name(s) {listing(dup)}; keep one row "
                         "per SNP")
    out["snp"] = snp
    vec = {}
    for k in ("beta", "varbeta", "se", "pvalues", "MAF"):
        if k in keys:
            vec[k] = _as_float(d[k], k, label)
    if "position" in keys:     # kept as given (integers stay integers); only matched on
        pos = np.asarray(d["position"]).ravel()
        vec["position"] = pos if pos.dtype.kind in "iuf" else _as_float(pos, "position", label)
    if "MAF" not in vec and MAF is not None:
        vec["MAF"] = _as_float(MAF, "MAF", label)
    if "varbeta" not in vec and "se" in vec:
        vec["varbeta"] = vec["se"] ** 2
    vec.pop("se", None)
    for k, v in vec.items():
        if v.size != n:
            raise InputError(f"dataset {label}: {k} has {v.size} values but there are {n} SNP "
                             "names; give one value per SNP")
        bad = np.asarray(pd.isna(v))
        if bad.any():
            raise InputError(f"dataset {label}: {k} is missing for SNP(s) {listing(snp[bad])}; "
                             "remove those SNPs from both datasets (coloc does not impute)")
    if "MAF" in vec:
        bad = ~((vec["MAF"] > 0) & (vec["MAF"] < 1))
        if bad.any():
            raise InputError(f"dataset {label}: MAF must lie strictly between 0 and 1; SNP(s) "
                             f"{listing(snp[bad])} do not; remove them or fix the frequencies")
    if "s" in out and not 0 < out["s"] < 1:
        raise InputError(f"dataset {label}: s (the share of cases) must lie strictly between 0 "
                         f"and 1, got {out['s']}; give cases / (cases + controls)")
    if "N" in out and out["N"] <= 0:
        raise InputError(f"dataset {label}: sample size N must be positive, got {out['N']}")
    has_beta = "beta" in vec and "varbeta" in vec
    if has_beta:
        vb, b = vec["varbeta"], vec["beta"]
        bad = ~np.isfinite(b) | ~np.isfinite(vb)
        if bad.any():
            raise InputError(f"dataset {label}: infinite beta and/or varbeta for SNP(s) "
                             f"{listing(snp[bad])}; remove or fix them")
        bad = vb <= 0
        if bad.any():
            raise InputError(f"dataset {label}: varbeta must be > 0 (it is the squared standard "
                             f"error); SNP(s) {listing(snp[bad])} have varbeta <= 0")
        p = 2 * stats.norm.sf(np.abs(b / np.sqrt(vb)))
    else:
        if "pvalues" not in vec or "MAF" not in vec:
            raise InputError(f"dataset {label}: give beta and varbeta (or se), or else pvalues "
                             "and MAF (with N, and s for type='cc')")
        pv = vec["pvalues"]
        bad = ~((pv > 0) & (pv <= 1))
        if bad.any():
            raise InputError(f"dataset {label}: pvalues must lie in (0, 1]; SNP(s) "
                             f"{listing(snp[bad])} do not (a p-value of exactly 0 cannot be "
                             "converted to a z score: give beta and varbeta instead)")
        if typ == "cc" and "s" not in out:
            raise InputError(f"dataset {label}: type 'cc' with p-values needs s, the share of "
                             "samples that are cases")
        if "N" not in out:
            raise InputError(f"dataset {label}: p-values need the sample size N; give N")
        p = pv
    if typ == "quant" and "sdY" not in out and has_beta and not ("MAF" in vec and "N" in out):
        raise InputError(f"dataset {label}: a quantitative trait needs sdY (the trait's standard "
                         "deviation) or, if it is unknown, MAF and N so that it can be estimated")
    if np.min(p) > 1e-6:
        warnings.warn(f"dataset {label}: minimum p value is {np.min(p):.3g}; if that is smaller "
                      "than you expected, check that varbeta is the variance (se^2), not the "
                      "standard error, of beta", UserWarning, stacklevel=3)
    out.update(vec)
    out["has_beta"] = has_beta
    return out


def _process(d: dict, suffix: str, label: str) -> tuple[pd.DataFrame, tuple | None]:
    """coloc's ``process.dataset``: per-SNP ``V, z, r, lABF`` (and the sdY used)."""
    sdy_info = None
    if d["has_beta"]:
        if d["type"] == "quant":
            if "sdY" in d:
                sdy, how = d["sdY"], "given"
            else:
                warnings.warn(f"dataset {label}: estimating sdY from MAF and varbeta (coloc's "
                              "sdY.est); give sdY directly if known", UserWarning, stacklevel=3)
                sdy, how = sdy_est(d["varbeta"], d["MAF"], d["N"]), "estimated (sdY.est)"
            sdy_info = (sdy, how)
        else:
            sdy = 1.0
        abf = abf_estimates(d["beta"] / np.sqrt(d["varbeta"]), d["varbeta"], d["type"], sdy)
        df = abf.add_suffix(f".{suffix}")
        df.insert(0, "snp", d["snp"])
    else:
        if d["type"] == "quant":
            sdy_info = (1.0, "not used (p-value ABFs assume var(Y) = 1)")
        abf = abf_pvalues(d["pvalues"], d["MAF"], d["type"], d["N"], d.get("s"))
        df = pd.DataFrame({"pvalues": d["pvalues"], "MAF": d["MAF"],
                           "N": np.full(d["snp"].size, d["N"])})
        df = pd.concat([df, abf], axis=1).add_suffix(f".{suffix}")
        df.insert(0, "snp", d["snp"])
    if "position" in d:
        df.insert(1, "position", d["position"])
    return df, sdy_info


def _weights(w, name: str, d: dict) -> pd.Series | None:
    if w is None:
        return None
    if isinstance(w, pd.Series) and not isinstance(w.index, pd.RangeIndex):
        w = w.copy()
        w.index = w.index.astype(str)
        missing = [s for s in d["snp"] if s not in w.index]
        if missing:
            raise InputError(f"{name} has no weight for SNP(s) {listing(missing)}; give one "
                             "weight per SNP of the dataset")
        w = w.loc[list(d["snp"])].to_numpy(dtype=np.float64)
    w = np.asarray(w, dtype=np.float64).ravel()
    if w.size != d["snp"].size:
        raise InputError(f"length of {name} ({w.size}) must match the size of its dataset "
                         f"({d['snp'].size}); give one weight per SNP (in dataset order, or a "
                         "Series indexed by SNP name)")
    if np.isnan(w).any() or (w < 0).any() or not np.isfinite(w).all():
        raise InputError(f"{name} must contain finite non-negative weights")
    return pd.Series(w, index=d["snp"])


# --------------------------------------------------------------------------- result
@dataclass
class ColocResult:
    """Result of :func:`coloc_abf` (coloc's ``coloc_abf`` list).

    Attributes
    ----------
    summary : Series
        ``nsnps, PP.H0.abf, PP.H1.abf, PP.H2.abf, PP.H3.abf, PP.H4.abf``.
    results : DataFrame
        One row per SNP used, sorted by SNP name: ``snp`` (``position``), ``V.df1, z.df1,
        r.df1, lABF.df1`` (plus ``pvalues.df1, MAF.df1, N.df1`` for p-value input), the same
        for ``df2``, ``internal.sum.lABF`` and ``SNP.PP.H4`` (and ``SNP.PP.H4.weighted`` with
        prior weights), as coloc's ``results``.
    priors : Series
        ``p1, p2, p12`` actually used (after coloc's adjustment for large regions).
    hypothesis_priors : Series
        Prior probabilities of H0..H4 for ``nsnps`` SNPs (coloc's ``prior.snp2hyp``:
        ``H1 = n p1, H2 = n p2, H3 = n (n - 1) p1 p2, H4 = n p12, H0 = 1 - sum``).
    excluded : DataFrame
        ``dataset, snp, reason`` for every SNP of either input not used.
    sdY : dict
        Per dataset ("1", "2"): ``(value, how)`` of the trait SD used for a quantitative trait.
    weights : dict
        Normalised prior weights over the SNPs used (empty without weights).
    """

    summary: pd.Series
    results: pd.DataFrame
    priors: pd.Series
    hypothesis_priors: pd.Series
    excluded: pd.DataFrame
    sdY: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row: ``nsnps``, the five posteriors and the priors used (stack over loci)."""
        row = pd.concat([self.summary, self.priors])
        return row.to_frame().T.astype({"nsnps": int})

    def credible_set(self, coverage: float = 0.95, column: str = "SNP.PP.H4") -> list[str]:
        """SNPs in decreasing ``SNP.PP.H4`` up to the first cumulative sum > ``coverage``
        (the coloc vignette's credible set for the shared variant, meaningful if H4 holds)."""
        if not 0 < coverage <= 1:
            raise InputError(f"coverage must lie in (0, 1], got {coverage}")
        o = self.results.sort_values(column, ascending=False, kind="stable")
        cs = np.cumsum(o[column].to_numpy())
        hit = np.flatnonzero(cs > coverage)
        w = hit[0] + 1 if hit.size else len(o)
        return o["snp"].iloc[:w].tolist()

    def __repr__(self) -> str:
        s = self.summary
        pr = self.priors
        n1 = int((self.excluded["dataset"] == "1").sum()) if len(self.excluded) else 0
        n2 = int((self.excluded["dataset"] == "2").sum()) if len(self.excluded) else 0
        lines = [
            f"coloc.abf: {int(s['nsnps'])} SNPs in both datasets ({n1} only in dataset 1, "
            f"{n2} only in dataset 2 excluded)",
            f"SNP priors: p1 = {pr['p1']:.4g}, p2 = {pr['p2']:.4g}, p12 = {pr['p12']:.4g}",
            "Hypothesis priors: " + ", ".join(f"{k} = {v:.6g}" for k, v in
                                              self.hypothesis_priors.items()),
            "Posterior: " + ", ".join(f"{k.replace('PP.', '').replace('.abf', '')} = {v:.4g}"
                                      for k, v in s.drop("nsnps").items()),
        ]
        if len(self.results):
            top = self.results.loc[self.results["SNP.PP.H4"].idxmax()]
            lines.append(f"Most likely shared variant if H4 is true: {top['snp']} "
                         f"(SNP.PP.H4 = {top['SNP.PP.H4']:.3g})")
        return "\n".join(lines)


def hypothesis_priors(nsnps: int, p1: float, p2: float, p12: float) -> pd.Series:
    """coloc's ``prior.snp2hyp``: prior probability of H0..H4 given the per-SNP priors."""
    h = np.array([nsnps * p1, nsnps * p2, nsnps * (nsnps - 1) * p1 * p2, nsnps * p12])
    return pd.Series(np.r_[1 - h.sum(), h], index=[f"H{i}" for i in range(5)])


# --------------------------------------------------------------------------- main
def _combine(l1, l2, lp1, lp2, lp12) -> np.ndarray:
    """PP.H0..H4 from per-SNP log BFs and log priors (coloc's ``combine.abf``, H3 exact)."""
    lh = np.array([
        0.0,
        _logsum(lp1 + l1),
        _logsum(lp2 + l2),
        _logsum_distinct(lp1 + l1, lp2 + l2),
        _logsum(lp12 + l1 + l2),
    ])
    return np.exp(lh - _logsum(lh))


def coloc_abf(dataset1, dataset2, MAF=None, p1: float = 1e-4, p2: float = 1e-4,
              p12: float = 1e-5, prior_weights1=None, prior_weights2=None) -> ColocResult:
    """Bayesian colocalisation under one causal variant per trait (R coloc ``coloc.abf``).

    Formulas, priors and the handling of SNPs are in the module docstring.

    Parameters
    ----------
    dataset1, dataset2 : dict or DataFrame
        coloc datasets.  Per-SNP vectors: ``snp`` (required), ``beta`` and ``varbeta`` (or
        ``se``, squared here), or else ``pvalues``; ``MAF``; ``position`` (optional).  Per
        dataset: ``type`` ("quant" or "cc", required), ``sdY`` (quant; estimated from
        ``varbeta``, ``MAF`` and ``N`` when absent), ``N``, ``s`` (share of cases, cc with
        p-values).  In a DataFrame the per-dataset items are columns holding one value.
    MAF : array-like, optional
        Minor allele frequencies used for a dataset that has none (coloc's shorthand).
    p1, p2 : float
        Prior probability that a SNP is causal for trait 1 / trait 2 (default 1e-4).
    p12 : float
        Prior probability that a SNP is causal for both (default 1e-5); must not exceed
        ``min(p1, p2)`` (Wallace 2020: a SNP causal for both traits is causal for each).
    prior_weights1, prior_weights2 : array-like or Series, optional
        Non-negative per-SNP prior weights (coloc 6), in dataset order or indexed by SNP.

    Returns
    -------
    ColocResult
        ``.summary`` (nsnps, PP.H0.abf .. PP.H4.abf), ``.results`` (per SNP), ``.priors``,
        ``.hypothesis_priors``, ``.excluded``; ``to_frame()``, ``credible_set()``.
    """
    for name, v in (("p1", p1), ("p2", p2), ("p12", p12)):
        if not (isinstance(v, (int, float, np.floating, np.integer)) and 0 < v < 1):
            raise InputError(f"{name} must be a probability strictly between 0 and 1, got {v!r}")
    if p12 > min(p1, p2):
        raise InputError(
            f"p12 = {p12:g} exceeds min(p1, p2) = {min(p1, p2):g}: a SNP causal for both traits "
            "is causal for each, so p12 <= min(p1, p2) (coloc's prior.snp2hyp rejects such "
            "priors); lower p12 (coloc's default is 1e-5 with p1 = p2 = 1e-4)")
    if p12 < p1 * p2:
        warnings.warn(f"p12 = {p12:g} < p1 * p2 = {p1 * p2:g}: a priori a shared variant is then "
                      "less likely than two independent ones at the same SNP (coloc's "
                      "prior.snp2hyp treats this as invalid); check the priors", UserWarning,
                      stacklevel=2)
    d1 = _check_dataset(dataset1, "1", MAF)
    d2 = _check_dataset(dataset2, "2", MAF)
    w1 = _weights(prior_weights1, "prior_weights1", d1)
    w2 = _weights(prior_weights2, "prior_weights2", d2)
    if w1 is not None and w2 is not None:
        warnings.warn("prior weights given for both traits: the two weight vectors should come "
                      "from independent sources of information", UserWarning, stacklevel=2)
    df1, sd1 = _process(d1, "df1", "1")
    df2, sd2 = _process(d2, "df2", "2")

    p1 = _adjust_prior(p1, len(df1), "p1", "dataset 1")
    p2 = _adjust_prior(p2, len(df2), "p2", "dataset 2")

    # SNPs in common (coloc's merge on the shared columns snp [, position]), sorted by name
    keys = ["snp"] + (["position"] if "position" in df1.columns and "position" in df2.columns
                      else [])
    merged = df1.merge(df2, on=keys, how="inner", sort=False)
    merged = merged.sort_values("snp", kind="stable").reset_index(drop=True)
    used = set(merged["snp"])
    excl = []
    for lab, this, other in (("1", df1, df2), ("2", df2, df1)):
        other_snps = set(other["snp"])
        for s in this["snp"]:
            if s not in used:
                excl.append((lab, s, f"not in dataset {'2' if lab == '1' else '1'}"
                             if s not in other_snps else "position differs between datasets"))
    excluded = pd.DataFrame(excl, columns=["dataset", "snp", "reason"])
    if merged.empty:
        raise InputError("dataset1 and dataset2 have no SNP in common (matched on snp"
                         f"{' and position' if len(keys) == 2 else ''}); use the same SNP names "
                         "in both datasets")
    if len(excluded):
        warnings.warn(f"{len(excluded)} SNP(s) are not in both datasets and are not used "
                      f"({listing(excluded['snp'], 5)}); see result.excluded", UserWarning,
                      stacklevel=2)
    q = len(merged)
    p12 = _adjust_prior(p12, q, "p12", "in common")

    l1 = merged["lABF.df1"].to_numpy()
    l2 = merged["lABF.df2"].to_numpy()
    lsum = l1 + l2
    merged["internal.sum.lABF"] = lsum
    merged["SNP.PP.H4"] = np.exp(lsum - _logsum(lsum))

    weights = {}
    if w1 is None and w2 is None:
        lp1 = np.full(q, np.log(p1))
        lp2 = np.full(q, np.log(p2))
        lp12 = np.full(q, np.log(p12))
    else:
        with np.errstate(divide="ignore"):
            vecs = []
            for w, p, name in ((w1, p1, "prior_weights1"), (w2, p2, "prior_weights2")):
                if w is None:
                    vecs.append(np.full(q, p))
                    continue
                ww = w.loc[merged["snp"]].to_numpy()
                if ww.sum() <= 0:
                    raise InputError(f"{name} are all zero on the SNPs in common; give positive "
                                     "weights to some of them")
                ww = ww / ww.sum()
                weights[name] = pd.Series(ww, index=merged["snp"].to_numpy())
                vecs.append(q * p * ww)
            p1v, p2v = vecs
            lp1, lp2 = np.log(p1v), np.log(p2v)
            lp12 = np.log(p1v * p2v * (p12 / (p1 * p2)))
        a = lp12 + lsum
        merged["SNP.PP.H4.weighted"] = np.exp(a - _logsum(a))
    pp = _combine(l1, l2, lp1, lp2, lp12)
    summary = pd.Series(np.r_[q, pp], index=["nsnps"] + [f"PP.H{i}.abf" for i in range(5)])
    priors = pd.Series({"p1": p1, "p2": p2, "p12": p12})
    return ColocResult(summary=summary, results=merged, priors=priors,
                       hypothesis_priors=hypothesis_priors(q, p1, p2, p12), excluded=excluded,
                       sdY={k: v for k, v in (("1", sd1), ("2", sd2)) if v is not None},
                       weights=weights)


# --------------------------------------------------------------------------- multiple signals
@dataclass
class ColocSignalsResult:
    """Result of :func:`coloc_bf_bf` / :func:`coloc_susie` (coloc's ``coloc.bf_bf`` list).

    Attributes
    ----------
    summary : DataFrame
        One row per colocalised pair of signals: ``nsnps, hit1, hit2, PP.H0.abf .. PP.H4.abf,
        idx1, idx2`` (``idx``: the signal labels, SuSiE's 1-based credible-set rows).
    results : DataFrame
        ``snp`` and, per row of ``summary``, ``SNP.PP.H4.row<k>`` (``SNP.PP.H4.abf`` for one pair).
    dropped : DataFrame
        ``idx1, idx2, prop1, prop2, reason`` for pairs not colocalised because the SNPs in
        common carry less than ``overlap_min`` of a signal's posterior.
    priors : Series
        ``p1, p2, p12`` (coloc.bf_bf does not adjust them for region size).
    """

    summary: pd.DataFrame
    results: pd.DataFrame
    dropped: pd.DataFrame
    priors: pd.Series

    def to_frame(self) -> pd.DataFrame:
        """The per-pair summary table (a copy)."""
        return self.summary.copy()

    def __repr__(self) -> str:
        lines = [f"coloc.bf_bf: {len(self.summary)} pair(s) of signals colocalised, "
                 f"{len(self.dropped)} dropped (too little posterior on the SNPs in common)",
                 f"SNP priors: p1 = {self.priors['p1']:.4g}, p2 = {self.priors['p2']:.4g}, "
                 f"p12 = {self.priors['p12']:.4g}"]
        if len(self.summary):
            lines.append(self.summary.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        return "\n".join(lines)


def _bf_frame(bf, name: str) -> pd.DataFrame:
    if isinstance(bf, pd.Series):
        bf = bf.to_frame().T
        bf.index = [1]
    if not isinstance(bf, pd.DataFrame):
        raise InputError(f"{name} must be a DataFrame of log Bayes factors (rows = signals, "
                         "columns = SNP names, optionally a 'null' column) or a Series (one "
                         f"signal), got {type(bf).__name__}")
    if bf.shape[0] == 0 or bf.shape[1] == 0:
        raise InputError(f"{name} is empty; give at least one signal and one SNP")
    bf = bf.copy()
    bf.columns = bf.columns.astype(str)
    if bf.columns.duplicated().any():
        raise InputError(f"{name} has duplicated SNP columns "
                         f"{listing(bf.columns[bf.columns.duplicated()])}; keep one per SNP")
    try:
        bf = bf.astype(np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must hold numbers (log Bayes factors)") from None
    if not np.isfinite(bf.to_numpy()).all():
        raise InputError(f"{name} holds NaN or infinite log Bayes factors; remove those SNPs")
    if "null" in bf.columns:
        bf = bf.sub(bf["null"], axis=0).drop(columns="null")
    return bf


def _share(bf: pd.DataFrame, snps) -> np.ndarray:
    """Per signal, the share of its posterior (equal SNP priors) carried by ``snps``."""
    a = bf.to_numpy()
    w = np.exp(a - a.max(axis=1, keepdims=True))
    return w[:, bf.columns.get_indexer(snps)].sum(axis=1) / w.sum(axis=1)


def coloc_bf_bf(bf1, bf2, p1: float = 1e-4, p2: float = 1e-4, p12: float = 5e-6,
                overlap_min: float = 0.5, trim_by_posterior: bool = True) -> ColocSignalsResult:
    """Colocalise every pair of signals given as log Bayes factors (coloc's ``coloc.bf_bf``).

    The engine of coloc's ``coloc.susie`` (Wallace 2021, PLoS Genet 17:e1009440): for signal
    ``i`` of trait 1 and ``j`` of trait 2, the single-variant model of :func:`coloc_abf` is
    applied to the log BFs ``bf1[i]`` and ``bf2[j]`` (e.g. SuSiE's ``lbf_variable`` rows of the
    credible sets) over the SNPs in both; priors are used as given (no region-size
    adjustment; coloc's default ``p12`` here is 5e-6).

    A pair is skipped (listed in ``.dropped``) when, for either signal, the SNPs in common carry
    less than ``overlap_min`` of its posterior, ``softmax(bf)`` over that signal's SNPs.  coloc
    computes this share with ``logbf_to_pp(..., last_is_null=TRUE)``, which, for a matrix
    without a "null" column (SuSiE's ``lbf_variable``), treats the last SNP as the null; here
    every SNP counts as a SNP.  The decisions agree on the reference cases of the tests.

    Parameters
    ----------
    bf1, bf2 : DataFrame or Series
        Log BFs, rows = signals (the index labels become ``idx1``/``idx2``), columns = SNP
        names; a "null" column, if present, is subtracted from each row and then dropped.
    p1, p2, p12 : float
        Per-SNP priors (``p12 <= min(p1, p2)``).
    overlap_min : float
        Minimum posterior share of each signal on the SNPs in common.
    trim_by_posterior : bool
        Skip pairs failing ``overlap_min`` (coloc's default True).
    """
    for name, v in (("p1", p1), ("p2", p2), ("p12", p12)):
        if not (isinstance(v, (int, float, np.floating, np.integer)) and 0 < v < 1):
            raise InputError(f"{name} must be a probability strictly between 0 and 1, got {v!r}")
    if p12 > min(p1, p2):
        raise InputError(f"p12 = {p12:g} exceeds min(p1, p2) = {min(p1, p2):g}; lower p12 "
                         "(p12 <= min(p1, p2): a SNP causal for both traits is causal for each)")
    b1 = _bf_frame(bf1, "bf1")
    b2 = _bf_frame(bf2, "bf2")
    snps = [s for s in b1.columns if s in set(b2.columns)]
    if not snps:
        raise InputError("bf1 and bf2 have no SNP column in common; name the SNP columns "
                         "identically in both")
    prop1 = _share(b1, snps)
    prop2 = _share(b2, snps)
    l1all = b1[snps].to_numpy()
    l2all = b2[snps].to_numpy()
    rows, pps, dropped = [], {}, []
    lp1 = np.full(len(snps), np.log(p1))
    lp2 = np.full(len(snps), np.log(p2))
    lp12 = np.full(len(snps), np.log(p12))
    for j in range(len(b2)):          # coloc's expand.grid order: i varies fastest
        for i in range(len(b1)):
            if trim_by_posterior and (prop1[i] < overlap_min or prop2[j] < overlap_min):
                dropped.append((b1.index[i], b2.index[j], prop1[i], prop2[j],
                                f"SNPs in common carry < {overlap_min:g} of a signal's "
                                "posterior"))
                continue
            l1, l2 = l1all[i], l2all[j]
            pp = _combine(l1, l2, lp1, lp2, lp12)
            ls = l1 + l2
            pps[len(rows)] = np.exp(ls - _logsum(ls))
            rows.append([len(snps), snps[int(np.argmax(l1))], snps[int(np.argmax(l2))], *pp,
                         b1.index[i], b2.index[j]])
    summary = pd.DataFrame(rows, columns=["nsnps", "hit1", "hit2", *[f"PP.H{h}.abf" for h in
                                                                      range(5)], "idx1", "idx2"])
    res = pd.DataFrame({"snp": snps})
    for k, v in pps.items():
        res["SNP.PP.H4.abf" if len(pps) == 1 else f"SNP.PP.H4.row{k + 1}"] = v
    dropped = pd.DataFrame(dropped, columns=["idx1", "idx2", "prop1", "prop2", "reason"])
    if len(dropped):
        warnings.warn(f"{len(dropped)} pair(s) of signals not colocalised: the SNPs in common "
                      f"carry less than {overlap_min:g} of a signal's posterior (see .dropped); "
                      "use datasets covering the same SNPs", UserWarning, stacklevel=2)
    return ColocSignalsResult(summary=summary, results=res, dropped=dropped,
                              priors=pd.Series({"p1": p1, "p2": p2, "p12": p12}))


def _susie_signals(fit, name: str) -> pd.DataFrame:
    """The credible-set rows of a SuSiE fit's ``lbf_variable`` as a DataFrame (index cs_index)."""
    if isinstance(fit, pd.DataFrame):
        return fit
    if not isinstance(fit, Mapping) or "lbf_variable" not in fit:
        raise InputError(f"{name} must be a mapping with 'lbf_variable' (L x p log BFs), 'snp' "
                         "(p SNP names) and 'cs_index' (1-based rows of the credible sets, as "
                         "susieR's fit$sets$cs_index), or a DataFrame of signal log BFs")
    lbf = fit["lbf_variable"]
    if not isinstance(lbf, pd.DataFrame):
        lbf = np.atleast_2d(np.asarray(lbf, dtype=np.float64))
        if "snp" not in fit:
            raise InputError(f"{name}: give 'snp', the SNP names of the lbf_variable columns")
        snp = [str(s) for s in fit["snp"]]
        if len(snp) not in (lbf.shape[1], lbf.shape[1] - 1):
            raise InputError(f"{name}: {len(snp)} SNP names for {lbf.shape[1]} lbf_variable "
                             "columns; give one name per column")
        cols = snp + (["null"] if len(snp) == lbf.shape[1] - 1 else [])
        lbf = pd.DataFrame(lbf, columns=cols, index=np.arange(1, lbf.shape[0] + 1))
    cs = fit.get("cs_index")
    if cs is None:
        raise InputError(f"{name}: give 'cs_index', the 1-based rows of lbf_variable that form "
                         "credible sets")
    cs = [int(c) for c in np.atleast_1d(cs)]
    bad = [c for c in cs if c not in lbf.index]
    if bad:
        raise InputError(f"{name}: cs_index {bad} are not rows of lbf_variable (1-based)")
    return lbf.loc[cs]


def coloc_susie(fit1, fit2, p1: float = 1e-4, p2: float = 1e-4, p12: float = 5e-6,
                overlap_min: float = 0.5, trim_by_posterior: bool = True) -> ColocSignalsResult:
    """coloc's ``coloc.susie`` on two fitted SuSiE models: :func:`coloc_bf_bf` on the log BFs
    (``lbf_variable``) of their credible-set signals.

    Fine-mapping itself is not done here: give each fit as a mapping with ``lbf_variable``
    (L x p, SuSiE's per-effect log BFs), ``snp`` (the p SNP names) and ``cs_index`` (1-based
    rows forming credible sets, susieR's ``fit$sets$cs_index``), e.g. from susieR's
    ``susie_rss`` (coloc's ``runsusie``) -- or directly a DataFrame of the signals' log BFs.
    A fit without credible sets gives an empty summary (with a warning), as in coloc.
    """
    s1 = _susie_signals(fit1, "fit1")
    s2 = _susie_signals(fit2, "fit2")
    if len(s1) == 0 or len(s2) == 0:
        warnings.warn("at least one fit has no credible sets, nothing to colocalise",
                      UserWarning, stacklevel=2)
        return ColocSignalsResult(
            summary=pd.DataFrame(columns=["nsnps", "hit1", "hit2", *[f"PP.H{h}.abf" for h in
                                                                     range(5)], "idx1", "idx2"]),
            results=pd.DataFrame(columns=["snp"]),
            dropped=pd.DataFrame(columns=["idx1", "idx2", "prop1", "prop2", "reason"]),
            priors=pd.Series({"p1": p1, "p2": p2, "p12": p12}))
    return coloc_bf_bf(s1, s2, p1=p1, p2=p2, p12=p12, overlap_min=overlap_min,
                       trim_by_posterior=trim_by_posterior)
