"""LD clumping and LD proxies on a local reference panel (PLINK 1.9 ``--clump``).

:func:`ld_clump` is TwoSampleMR's ``clump_data(dat, clump_kb = 10000, clump_r2 = 0.001,
clump_p1 = 1, bfile = , plink_bin = )`` (which calls ieugwasr ``ld_clump_local``, i.e.
``plink --bfile panel --clump file --clump-p1 p1 --clump-r2 r2 --clump-kb kb``) done in Python,
with PLINK 1.9's rule (``plink_ld.c: clump_reports``, PLINK v1.90b6.26; Purcell et al. 2007,
AJHG 81:559; Chang et al. 2015, GigaScience 4:7):

1. SNPs of ``dat`` absent from the panel are dropped (PLINK warns about those with
   ``p <= clump_p1``; TwoSampleMR keeps only SNPs named in the ``.clumped`` file); rows whose
   p-value is missing are skipped (PLINK skips lines whose P does not parse).
2. Candidate index SNPs are those with ``p <= clump_p1``, visited by increasing p, ties by
   panel (``.bim``) order.  A candidate already absorbed into a clump is skipped.
3. For an index SNP, every not-yet-clumped SNP of the association file on the same
   chromosome with ``|bp - bp_index| <= bp_radius``, ``bp_radius = int(1000 kb (1 + 2^-44)) - 1``
   (so strictly closer than ``clump_kb`` kb) and with ``|r^2| > clump_r2`` (strict) joins the
   clump and can no longer be an index SNP.  Its p-value does not matter for joining;
   ``clump_p2`` only decides which members PLINK *lists* in ``SP2`` (``p < clump_p2``) and the
   ``TOTAL, NSIG, S05, S01, S001, S0001`` counts by p-band.
4. r^2 is PLINK 1.9's two-locus maximum-likelihood (EM, phase-unknown) haplotype r^2 among the
   founders called at both SNPs (see :mod:`radiogenomics.mr._ld`): it is *not* the squared
   Pearson correlation of allele counts (the two differ, most at intermediate LD).

Alleles play no part in ``--clump``; when ``dat`` has allele columns, SNPs whose alleles do not
match the panel's (same or complementary strand) are listed in ``allele_mismatch`` (and
warned about) but clumped like the others, as PLINK does.

Proxies (:func:`find_proxies`, :func:`extract_with_proxies`) follow TwoSampleMR
``extract_outcome_data(proxies = TRUE, rsq = 0.8, align_alleles = 1)``: an instrument missing
from the outcome is replaced by the outcome row of its best proxy (highest r^2, then nearest)
with ``r^2 >= min_r2``, and the proxy's alleles are renamed to the target's.  OpenGWAS maps
alleles from phased haplotypes; a genotype panel is unphased, so the proxy allele carried with
the target's ``a1`` is taken from the sign of PLINK's EM estimate of ``D`` (``D > 0``: proxy
``a1`` travels with target ``a1``).

:func:`clump_mvmr` is TwoSampleMR's ``mv_extract_exposures_local`` instrument step.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._checks import InputError, listing
from ._core import normalise_columns
from ._ld import SMALL_EPSILON, LDPanel, load_panel, pair_r
from .harmonise import _COMPLEMENT, _palindromic   # alleles are upper-cased before use

__all__ = ["ld_clump", "ClumpResult", "find_proxies", "extract_with_proxies", "ProxyResult",
           "clump_mvmr", "MVClumpResult", "plink_bp_radius", "load_panel", "LDPanel"]


def plink_bp_radius(clump_kb: float) -> int:
    """PLINK 1.9's ``--clump-kb`` window half-width in bp: ``int(1000 kb (1 + 2^-44)) - 1``."""
    dxx = float(clump_kb) * 1000
    if dxx > 2147483647.0:
        return 0x7FFFFFFE
    return int(dxx * (1 + SMALL_EPSILON) - 1)


@dataclass
class ClumpResult:
    """Result of :func:`ld_clump`.

    Attributes
    ----------
    data : DataFrame
        The rows of ``dat`` kept (index SNPs), in their original order.
    clumped : DataFrame
        PLINK's ``.clumped`` table, one row per index SNP in PLINK's order: ``id, CHR, SNP, BP,
        P, TOTAL, NSIG, S05, S01, S001, S0001, SP2`` (SP2 = members with ``p < clump_p2``,
        comma-separated, ``NONE`` if none; without PLINK's ``(1)`` file suffixes).
    clumps : DataFrame
        One row per clump member: ``id, index_snp, SNP, r2`` (|r^2|), ``r2_signed`` (sign of D
        for the panel's a1 alleles), ``p``, ``in_sp2``.
    dropped : DataFrame
        Every SNP of ``dat`` not kept: ``id, SNP, p, reason, index_snp, r2``.
    allele_mismatch : DataFrame
        SNPs whose alleles in ``dat`` differ from the panel's (reported only; PLINK ignores them).
    """

    data: pd.DataFrame
    clumped: pd.DataFrame
    clumps: pd.DataFrame
    dropped: pd.DataFrame
    allele_mismatch: pd.DataFrame
    params: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """PLINK's ``.clumped`` table (one row per index SNP)."""
        return self.clumped.copy()

    def summary(self) -> pd.DataFrame:
        """SNPs kept and dropped per reason (one row per reason)."""
        reasons = self.dropped["reason"].str.split(":").str[0].value_counts()
        rows = [("kept (index SNPs)", len(self.data))] + list(reasons.items())
        return pd.DataFrame(rows, columns=["outcome", "n_snps"])

    def __repr__(self) -> str:
        p = self.params
        return (f"ClumpResult(kept={len(self.data)}, dropped={len(self.dropped)}, "
                f"allele_mismatch={len(self.allele_mismatch)}, clump_r2={p.get('clump_r2')}, "
                f"clump_kb={p.get('clump_kb')}, clump_p1={p.get('clump_p1')}, panel={p.get('panel')!r})")


def _pval_column(d: pd.DataFrame, pval_col: str | None) -> str | None:
    if pval_col is not None:
        if pval_col not in d.columns:
            raise InputError(f"dat has no p-value column {pval_col!r}; name an existing column")
        return pval_col
    for c in ("pval.exposure", "pval.outcome", "pval", "P", "p"):
        if c in d.columns:
            return c
    return None


def _check_params(clump_kb, clump_r2, clump_p1, clump_p2):
    if not (np.isfinite(clump_kb) and clump_kb >= 0.001):
        raise InputError(f"clump_kb must be a number >= 0.001 (PLINK's limit), got {clump_kb!r}")
    if not (0 <= clump_r2 < 1):
        raise InputError(f"clump_r2 must be in [0, 1), got {clump_r2!r}")
    for name, v in (("clump_p1", clump_p1), ("clump_p2", clump_p2)):
        if not (0 < v <= 1):
            raise InputError(f"{name} must be in (0, 1], got {v!r}")


def _allele_mismatch(d: pd.DataFrame, rows: np.ndarray, pan: LDPanel, snps) -> pd.DataFrame:
    cols = None
    for side in ("exposure", "outcome"):
        if f"effect_allele.{side}" in d.columns and f"other_allele.{side}" in d.columns:
            cols = (f"effect_allele.{side}", f"other_allele.{side}")
            break
    empty = pd.DataFrame(columns=["SNP", "effect_allele", "other_allele", "panel_a1", "panel_a2"])
    if cols is None or not len(rows) or not any(pan.a1):
        return empty
    ea = d[cols[0]].astype(str).str.upper().to_numpy()
    oa = d[cols[1]].astype(str).str.upper().to_numpy()
    p1 = np.array([str(a).upper() for a in pan.a1[rows]])
    p2 = np.array([str(a).upper() for a in pan.a2[rows]])
    bad = []
    for k in range(len(rows)):
        mine, theirs = {ea[k], oa[k]}, {p1[k], p2[k]}
        if mine != theirs and {a.translate(_COMPLEMENT) for a in mine} != theirs:
            bad.append(k)
    if not bad:
        return empty
    bad = np.array(bad)
    return pd.DataFrame({"SNP": np.asarray(snps)[bad], "effect_allele": ea[bad], "other_allele": oa[bad],
                         "panel_a1": p1[bad], "panel_a2": p2[bad]})


def _histo(p: float, h: list) -> None:
    # PLINK 1.9 update_clump_histo: NSIG, S05, S01, S001, S0001
    if p < 0.001:
        h[4 if p < 0.0001 else 3] += 1
    elif p < 0.01:
        h[2] += 1
    elif p < 0.05:
        h[1] += 1
    else:
        h[0] += 1


def _clump_one(snps: np.ndarray, p: np.ndarray, pan: LDPanel, bp_radius: int, clump_r2: float,
               clump_p1: float, clump_p2: float, gid):
    """PLINK's greedy clumping of one association file (SNPs already mapped to the panel)."""
    rows = pan.index.get_indexer(snps)
    m = len(pan.snp)
    in_file = np.zeros(m, bool)
    in_file[rows] = True
    p_row = np.full(m, np.nan)
    p_row[rows] = p
    clumped = np.zeros(m, bool)
    elig = rows[p <= clump_p1]
    order = elig[np.lexsort((elig, p_row[elig]))]
    out, members = [], []
    for i in order:
        if clumped[i]:
            continue
        lo, hi = pan.window(i, bp_radius)
        cand = lo + np.flatnonzero(in_file[lo:hi] & ~clumped[lo:hi])
        cand = cand[cand != i]
        r = pair_r(pan, int(i), cand.astype(np.int64)) if len(cand) else np.empty(0)
        join = np.abs(r) > clump_r2            # NaN (undefined r^2) never joins
        h = [0, 0, 0, 0, 0]
        sp2 = []
        for j, rj in zip(cand[join], r[join]):
            pj = p_row[j]
            _histo(pj, h)
            listed = bool(pj < clump_p2)
            if listed:
                sp2.append(pan.snp[j])
            members.append((gid, pan.snp[i], pan.snp[j], abs(rj), rj, pj, listed))
        clumped[cand[join]] = True
        out.append((gid, pan.chrom[i], pan.snp[i], int(pan.pos[i]), p_row[i], sum(h), *h,
                    ",".join(sp2) if sp2 else "NONE"))
    return out, members


def ld_clump(dat: pd.DataFrame, panel, clump_kb: float = 10000, clump_r2: float = 0.001,
             clump_p1: float = 1.0, clump_p2: float = 1.0, *, pval_col: str | None = None,
             id_col: str = "id.exposure", snp_info: pd.DataFrame | None = None) -> ClumpResult:
    """LD-clump summary statistics on a reference panel, identically to PLINK 1.9 ``--clump``.

    Parameters
    ----------
    dat : DataFrame
        One row per SNP with ``SNP`` and a p-value (``pval.exposure``, else ``pval.outcome``,
        ``pval``, ``P``; or ``pval_col``).  With no p-value column every SNP gets p = 0.99 and
        a warning, as TwoSampleMR ``clump_data`` does.  Rows are clumped separately per
        ``id_col`` value when that column exists (TwoSampleMR clumps per ``id.exposure``).
    panel : str or Path or LDPanel or Cohort or DataFrame
        PLINK fileset prefix (``.bed/.bim/.fam``, founders only are used), an :class:`LDPanel`,
        a Cohort (its genotype view) or a samples x SNPs 0/1/2 dosage frame with ``snp_info``
        (``SNP, chr, pos``).
    clump_kb, clump_r2, clump_p1, clump_p2 : float
        PLINK's ``--clump-kb/-r2/-p1/-p2``; defaults are TwoSampleMR ``clump_data``'s
        (10000 kb, 0.001, 1) and ``clump_p2 = 1`` (list every member).  The kept SNPs do not
        depend on ``clump_p2`` (see the module docstring).

    Returns
    -------
    ClumpResult
        Kept rows, PLINK's ``.clumped`` table, clump memberships with r^2 and the reason each
        other SNP was dropped.

    Notes
    -----
    ieugwasr passes an exposure with a single SNP through without calling PLINK (even if that
    SNP is absent from the panel); here every exposure goes through PLINK's rule.
    """
    if not isinstance(dat, pd.DataFrame):
        raise TypeError(f"dat must be a pandas DataFrame, got {type(dat).__name__}")
    if "SNP" not in dat.columns:
        raise InputError("dat has no 'SNP' column; name the SNP id column 'SNP'")
    _check_params(clump_kb, clump_r2, clump_p1, clump_p2)
    d = normalise_columns(dat).reset_index(drop=True)
    pc = _pval_column(d, pval_col)
    if pc is None:
        warnings.warn("dat has no p-value column (pval.exposure, pval.outcome, pval, P); every SNP "
                      "gets p = 0.99 as in TwoSampleMR clump_data: give a p-value column to clump "
                      "by significance", UserWarning, stacklevel=2)
        pvals = np.full(len(d), 0.99)
    else:
        pvals = pd.to_numeric(d[pc], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isnan(pvals) & ~((pvals >= 0) & (pvals <= 1))
    if bad.any():
        raise InputError(f"p-values outside [0, 1] for SNP(s) {listing(d['SNP'][bad], 5)}; PLINK refuses "
                         "them: give p-values, not -log10 p or z-scores")
    pan = load_panel(panel, snp_info)
    bp_radius = plink_bp_radius(clump_kb)
    gids = d[id_col].to_numpy() if id_col in d.columns else np.full(len(d), "exposure", dtype=object)
    snps = d["SNP"].astype(str).to_numpy()
    kept = np.zeros(len(d), bool)
    clumped_rows, member_rows, dropped, mismatch = [], [], [], []
    n_in_panel = 0
    for gid in pd.unique(gids):
        g = np.flatnonzero(gids == gid)
        dup = pd.Series(snps[g])[pd.Series(snps[g]).duplicated()]
        if len(dup):
            raise InputError(f"SNP(s) {listing(dup.unique(), 5)} appear more than once for {id_col} = "
                             f"{gid!r}; keep one row per SNP (e.g. the smallest p) before clumping")
        na = np.isnan(pvals[g])
        for k in g[na]:
            dropped.append((gid, snps[k], np.nan, "missing p-value (PLINK skips the line)", None, np.nan))
        g = g[~na]
        inpan = pan.index.get_indexer(snps[g]) >= 0
        for k in g[~inpan]:
            dropped.append((gid, snps[k], pvals[k], "absent from the LD reference panel (PLINK warns "
                            "and drops it)", None, np.nan))
        g = g[inpan]
        n_in_panel += len(g)
        mm = _allele_mismatch(d.iloc[g], pan.index.get_indexer(snps[g]), pan, snps[g])
        if len(mm):
            mismatch.append(mm.assign(id=gid))
        out, members = _clump_one(snps[g], pvals[g], pan, bp_radius, clump_r2, clump_p1, clump_p2, gid)
        clumped_rows += out
        member_rows += members
        idx = {o[2] for o in out}
        where = {mb[2]: mb for mb in members}
        for k in g:
            if snps[k] in idx:
                kept[k] = True
            elif snps[k] in where:
                mb = where[snps[k]]
                dropped.append((gid, snps[k], pvals[k], "in LD with a more significant index SNP "
                                "(clumped)", mb[1], mb[3]))
            else:
                dropped.append((gid, snps[k], pvals[k], "p-value above clump_p1 (cannot be an index "
                                "SNP) and in LD with no index SNP", None, np.nan))
    if len(d) and n_in_panel == 0:
        raise InputError(f"none of the {len(d)} SNPs of dat is in the LD reference panel "
                         f"({pan.source}; first SNPs {listing(snps[:3], 3)} vs panel "
                         f"{listing(pan.snp[:3], 3)}); use a panel with the same SNP ids "
                         "(e.g. rsids for both)")
    mism = (pd.concat(mismatch, ignore_index=True) if mismatch else
            pd.DataFrame(columns=["SNP", "effect_allele", "other_allele", "panel_a1", "panel_a2", "id"]))
    if len(mism):
        warnings.warn(f"{len(mism)} SNP(s) have alleles that differ from the panel's "
                      f"({listing(mism['SNP'], 5)}); PLINK --clump ignores alleles so they were "
                      "clumped anyway; check the SNP ids / panel build (see allele_mismatch)",
                      UserWarning, stacklevel=2)
    clumped = pd.DataFrame(clumped_rows, columns=["id", "CHR", "SNP", "BP", "P", "TOTAL", "NSIG", "S05",
                                                  "S01", "S001", "S0001", "SP2"])
    clumps = pd.DataFrame(member_rows, columns=["id", "index_snp", "SNP", "r2", "r2_signed", "p", "in_sp2"])
    drop = pd.DataFrame(dropped, columns=["id", "SNP", "p", "reason", "index_snp", "r2"])
    return ClumpResult(data=dat.iloc[np.flatnonzero(kept)].copy(), clumped=clumped, clumps=clumps,
                       dropped=drop, allele_mismatch=mism,
                       params=dict(clump_kb=clump_kb, clump_r2=clump_r2, clump_p1=clump_p1,
                                   clump_p2=clump_p2, bp_radius=bp_radius, panel=pan.source,
                                   n_founders=pan.n_samples, n_nonfounders_ignored=pan.n_nonfounders))


def find_proxies(snps, panel, r2: float = 0.8, kb: float = 500, *,
                 snp_info: pd.DataFrame | None = None) -> pd.DataFrame:
    """LD proxies of ``snps`` in a reference panel: every panel SNP within ``kb`` kb (PLINK's
    window rule) with ``r^2 >= r2`` (PLINK 1.9's EM two-locus r^2).

    Returns one row per (target, proxy), best first within a target (r^2 descending, then
    distance): ``target, proxy, r2, r2_signed, distance_bp, target_a1, target_a2, proxy_a1,
    proxy_a2``, where ``proxy_a1`` is the proxy allele on the same haplotype as ``target_a1``
    (sign of the EM ``D``; an unphased panel gives no other phase information; in the rare
    mirror-symmetric count tables whose likelihood has two equal maxima the sign is a tie
    broken towards the smaller haplotype-11 frequency, which never changes |r^2|).  Targets absent
    from the panel are warned about and listed in ``attrs["absent_from_panel"]``.
    """
    if not 0 < r2 <= 1:
        raise InputError(f"r2 must be in (0, 1], got {r2!r}")
    pan = load_panel(panel, snp_info)
    snps = pd.Index(pd.Series(list(snps), dtype=str)).unique()
    rows = pan.index.get_indexer(snps)
    absent = list(snps[rows < 0])
    if absent and len(absent) == len(snps):
        raise InputError(f"none of the target SNPs is in the LD reference panel ({listing(absent, 3)}); "
                         "use a panel with the same SNP ids")
    if absent:
        warnings.warn(f"{len(absent)} target SNP(s) are not in the LD reference panel and get no "
                      f"proxies: {listing(absent, 5)}", UserWarning, stacklevel=2)
    radius = plink_bp_radius(kb)
    out = []
    for t, i in zip(snps[rows >= 0], rows[rows >= 0]):
        lo, hi = pan.window(int(i), radius)
        cand = np.arange(lo, hi)
        cand = cand[cand != i]
        r = pair_r(pan, int(i), cand.astype(np.int64))
        ok = ~np.isnan(r) & (np.abs(r) >= r2)
        for j, rj in zip(cand[ok], r[ok]):
            pos = rj > 0
            out.append((t, pan.snp[j], abs(rj), rj, int(pan.pos[j] - pan.pos[i]), pan.a1[i], pan.a2[i],
                        pan.a1[j] if pos else pan.a2[j], pan.a2[j] if pos else pan.a1[j]))
    res = pd.DataFrame(out, columns=["target", "proxy", "r2", "r2_signed", "distance_bp", "target_a1",
                                     "target_a2", "proxy_a1", "proxy_a2"])
    res["_d"] = res["distance_bp"].abs()
    res = (res.sort_values(["target", "r2", "_d"], ascending=[True, False, True], kind="mergesort")
           .drop(columns="_d").reset_index(drop=True))
    res.attrs["absent_from_panel"] = absent
    return res


@dataclass
class ProxyResult:
    """Result of :func:`extract_with_proxies`: ``data`` (outcome rows for the instruments, proxies
    renamed to their targets) and ``report`` (one row per requested SNP: ``SNP, status, proxy,
    r2, reason``; status ``"direct"``, ``"proxy"`` or ``"missing"``)."""

    data: pd.DataFrame
    report: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.report.copy()

    def __repr__(self) -> str:
        counts = self.report["status"].value_counts().to_dict()
        return f"ProxyResult(rows={len(self.data)}, {', '.join(f'{k}={v}' for k, v in counts.items())})"


def extract_with_proxies(outcome: pd.DataFrame, exposure_snps, panel, min_r2: float = 0.8,
                         kb: float = 500, align_alleles: bool = True, palindromes: bool = True, *,
                         snp_info: pd.DataFrame | None = None) -> ProxyResult:
    """Outcome rows for the instruments, using LD proxies for those the outcome lacks.

    TwoSampleMR ``extract_outcome_data(proxies = TRUE, rsq = min_r2, align_alleles = 1,
    palindromes = 1)`` on a local panel: for each instrument absent from ``outcome`` the proxies
    (:func:`find_proxies`) are tried best first; the first one present in ``outcome`` whose
    outcome alleles match the panel's (same or complementary strand; a palindromic proxy only
    if ``palindromes``) is used.  Its row gets ``SNP`` = the target and, with
    ``align_alleles``, ``effect_allele.outcome / other_allele.outcome`` renamed to the target
    alleles on the same haplotypes (``beta, se, pval`` unchanged; ``eaf.outcome`` is the
    proxy's, as in TwoSampleMR).  Added columns as TwoSampleMR's: ``proxy.outcome,
    target_snp.outcome, proxy_snp.outcome, target_a1.outcome, target_a2.outcome,
    proxy_a1.outcome, proxy_a2.outcome`` and ``proxy_r2.outcome``.
    """
    if not isinstance(outcome, pd.DataFrame) or "SNP" not in outcome.columns:
        raise InputError("outcome must be a DataFrame with a 'SNP' column (TwoSampleMR outcome format)")
    o = normalise_columns(outcome)
    if o["SNP"].duplicated().any():
        raise InputError(f"outcome has duplicated SNP(s) {listing(o['SNP'][o['SNP'].duplicated()], 5)}; "
                         "keep one row per SNP")
    want = pd.Index(pd.Series(list(exposure_snps), dtype=str)).unique()
    osnp = o["SNP"].astype(str)
    have = set(osnp)
    direct = o[osnp.isin(want)].copy()
    direct["proxy.outcome"] = False
    need = [s for s in want if s not in have]
    report = [(s, "direct", None, np.nan, "") for s in want if s in have]
    rows = [direct]
    if need:
        pan = load_panel(panel, snp_info)
        inpan = [s for s in need if s in pan.index]
        for s in need:
            if s not in pan.index:
                report.append((s, "missing", None, np.nan, "absent from outcome and from the LD panel"))
        prox = (find_proxies(inpan, pan, r2=min_r2, kb=kb) if inpan else
                pd.DataFrame(columns=["target", "proxy"]))
        eac, oac = "effect_allele.outcome", "other_allele.outcome"
        for s in inpan:
            cands = prox[(prox["target"] == s) & prox["proxy"].isin(have)]
            why = "no proxy with r2 >= min_r2 in the outcome"
            hit = None
            for _, c in cands.iterrows():
                orow = o[osnp == c["proxy"]].iloc[0].copy()
                if align_alleles:
                    if eac not in o.columns or oac not in o.columns:
                        raise InputError("align_alleles needs effect_allele.outcome and other_allele.outcome")
                    ea, oa = str(orow[eac]).upper(), str(orow[oac]).upper()
                    pa1, pa2 = str(c["proxy_a1"]).upper(), str(c["proxy_a2"]).upper()
                    if _palindromic(pa1, pa2) and not palindromes:
                        why = "best proxies palindromic (palindromes=False)"
                        continue
                    if {ea, oa} != {pa1, pa2} and not _palindromic(pa1, pa2):
                        ea, oa = ea.translate(_COMPLEMENT), oa.translate(_COMPLEMENT)
                    if {ea, oa} != {pa1, pa2}:
                        why = "proxy alleles in the outcome do not match the panel's"
                        continue
                    ta = {pa1: c["target_a1"], pa2: c["target_a2"]}
                    orow[eac], orow[oac] = ta[ea], ta[oa]
                hit = (orow, c)
                break
            if hit is None:
                report.append((s, "missing", None, np.nan, why))
                continue
            orow, c = hit
            orow["SNP"] = s
            for k, v in {"proxy.outcome": True, "target_snp.outcome": s, "proxy_snp.outcome": c["proxy"],
                         "target_a1.outcome": c["target_a1"], "target_a2.outcome": c["target_a2"],
                         "proxy_a1.outcome": c["proxy_a1"], "proxy_a2.outcome": c["proxy_a2"],
                         "proxy_r2.outcome": c["r2"]}.items():
                orow[k] = v
            rows.append(orow.to_frame().T)
            report.append((s, "proxy", c["proxy"], c["r2"], ""))
    data = pd.concat(rows, ignore_index=True)
    rep = pd.DataFrame(report, columns=["SNP", "status", "proxy", "r2", "reason"])
    miss = rep[rep["status"] == "missing"]
    if len(miss):
        warnings.warn(f"{len(miss)} instrument(s) have no outcome row and no usable proxy: "
                      f"{listing(miss['SNP'], 5)} (see report)", UserWarning, stacklevel=2)
    return ProxyResult(data=data, report=rep)


@dataclass
class MVClumpResult:
    """Result of :func:`clump_mvmr`: the jointly clumped ``snps``; ``data`` = each exposure's rows
    at those SNPs (long, with ``id.exposure``); ``per_exposure`` / ``joint`` the
    :class:`ClumpResult` objects; ``dropped`` every instrument not selected, with the reason."""

    snps: list
    data: pd.DataFrame
    per_exposure: dict
    joint: ClumpResult
    dropped: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.data.copy()

    def __repr__(self) -> str:
        return (f"MVClumpResult(snps={len(self.snps)}, exposures={list(self.per_exposure)}, "
                f"dropped={len(self.dropped)})")


def clump_mvmr(exposure_frames, panel, pval_threshold: float = 5e-8, clump_r2: float = 0.001,
               clump_kb: float = 10000, *, clump_each: bool = True,
               snp_info: pd.DataFrame | None = None) -> MVClumpResult:
    """Multivariable-MR instruments clumped jointly (TwoSampleMR ``mv_extract_exposures_local``).

    For each exposure (dict name -> frame, or list of frames with ``id.exposure``): SNPs with
    ``p < pval_threshold``, first row per SNP, clumped on their own when ``clump_each`` (as
    TwoSampleMR does); the union of these instruments is then clumped once more with each SNP's
    p-value = its smallest over the exposures (``clump_p1 = pval_threshold``).  ``data`` holds
    every exposure's association with each selected SNP (from the full frames), so the MVMR
    design uses all exposures at all instruments; a selected SNP missing from some exposure is
    reported in ``dropped`` (TwoSampleMR later drops SNPs not present for every exposure).
    """
    if isinstance(exposure_frames, dict):
        items = list(exposure_frames.items())
    else:
        items = []
        for k, f in enumerate(exposure_frames):
            f2 = normalise_columns(f)
            name = (str(f2["id.exposure"].iloc[0]) if "id.exposure" in f2.columns and len(f2)
                    else f"exposure{k + 1}")
            items.append((name, f))
    if len(items) < 2:
        raise InputError("clump_mvmr needs at least two exposures; use ld_clump for one")
    full, per, insts, dropped = {}, {}, [], []
    for name, f in items:
        f = normalise_columns(f).copy()
        pc = "pval.exposure" if "pval.exposure" in f.columns else _pval_column(f, None)
        if pc is None or "SNP" not in f.columns:
            raise InputError(f"exposure {name!r} needs columns SNP and pval.exposure")
        f["id.exposure"] = name
        f["_p"] = pd.to_numeric(f[pc], errors="coerce")
        full[name] = f
        inst = f[f["_p"] < pval_threshold]
        dup = inst["SNP"].duplicated()
        for s in inst["SNP"][dup]:
            dropped.append((name, s, "duplicated row (first kept)"))
        inst = inst[~dup]
        if clump_each and len(inst):
            per[name] = ld_clump(inst, panel, clump_kb, clump_r2, pval_threshold, 1.0, pval_col="_p",
                                 id_col="id.exposure", snp_info=snp_info)
            for _, r in per[name].dropped.iterrows():
                dropped.append((name, r["SNP"], f"per-exposure clumping: {r['reason']}"))
            inst = per[name].data
        insts.append(inst[["SNP", "_p", "id.exposure"]])
    union = pd.concat(insts, ignore_index=True)
    if not len(union):
        raise InputError(f"no SNP has p < {pval_threshold} for any exposure; raise pval_threshold")
    best = union.sort_values("_p", kind="mergesort").drop_duplicates("SNP")
    best = best.assign(**{"id.exposure": "joint"})
    joint = ld_clump(best, panel, clump_kb, clump_r2, pval_threshold, 1.0, pval_col="_p",
                     id_col="id.exposure", snp_info=snp_info)
    sel = list(joint.data["SNP"].astype(str))
    for _, r in joint.dropped.iterrows():
        dropped.append(("joint", r["SNP"], f"joint clumping: {r['reason']}"))
    out = []
    for name, f in full.items():
        rows = f[f["SNP"].astype(str).isin(sel)].drop_duplicates("SNP")
        for s in sorted(set(sel) - set(rows["SNP"].astype(str))):
            dropped.append((name, s, "selected SNP absent from this exposure's data"))
        out.append(rows.drop(columns="_p"))
    data = pd.concat(out, ignore_index=True)
    return MVClumpResult(snps=sel, data=data, per_exposure=per, joint=joint,
                         dropped=pd.DataFrame(dropped, columns=["exposure", "SNP", "reason"]))
