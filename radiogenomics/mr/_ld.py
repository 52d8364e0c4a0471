"""LD reference panels and the two-locus haplotype r^2 of PLINK 1.9 ``--clump`` (private
helpers of :mod:`.clump`).

Which r^2
---------
PLINK 1.9 ``--clump`` (Chang et al. 2015, GigaScience 4:7; the program whose results we match)
does **not** use the Pearson correlation of allele counts but the r^2 of maximum-likelihood
two-locus haplotype frequencies (Hill 1974, Biometrics 30:489-498; closed-form cubic solution:
Gaunt, Rodriguez & Day 2007, BMC Bioinformatics 8:428).  Only founders called at both SNPs of
a pair enter (a sample missing at either SNP is left out of that pair).

The model, for genotype codes ``0 = 1/1``, ``1 = 1/2``, ``2 = 2/2`` at SNPs A and B with
3 x 3 counts ``n(a, b)``:

* haplotype counts known without phasing: ``k11 = 2 n(0,0) + n(0,1) + n(1,0)``,
  ``k12 = 2 n(0,2) + n(0,1) + n(1,2)``, ``k21 = 2 n(2,0) + n(1,0) + n(2,1)``,
  ``k22 = 2 n(2,2) + n(1,2) + n(2,1)``; ``h = n(1,1)`` double heterozygotes (phase unknown);
  ``N = k11 + k12 + k21 + k22 + 2 h`` haplotypes.
* ``x`` in ``[0, h]`` = the (expected) number of double heterozygotes carrying haplotypes
  11/22, so that the haplotype counts are ``m11 = k11 + x``, ``m22 = k22 + x``,
  ``m12 = k12 + h - x``, ``m21 = k21 + h - x`` and ``f_ij = m_ij / N`` (the allele frequencies
  ``p1 = (k11 + k12 + h) / N`` and ``p2 = (k11 + k21 + h) / N`` do not depend on ``x``).
* log-likelihood, up to a constant,
  ``L(x) = sum_ij k_ij log m_ij + h log(m11 m22 + m12 m21)``.

Differentiating, with ``P = m11 m22`` and ``Q = m12 m21``,
``L'(x) = (P (m12 + m21) + Q (m11 + m22)) F(x) / (P Q (P + Q))`` where
``F(x) = (h - x) m11 m22 - x m12 m21`` (the EM fixed-point condition ``x = h P / (P + Q)``), so
on ``(0, h)`` the sign of ``L'`` is the sign of the cubic ``F``, with ``F(0) = h k11 k22 >= 0``
and ``F(h) = -h k12 k21 <= 0``.  Expanded, ``F(x) = -2 x^3 + c2 x^2 + c1 x + c0`` with
``c2 = 3 h + k12 + k21 - k11 - k22``, ``c1 = h (k11 + k22) - k11 k22 - (k12 + h)(k21 + h)``,
``c0 = h k11 k22`` (integers, exact in double precision).  The candidates are the roots of
``F`` in ``[0, h]``: an end point where ``F`` is exactly 0 (``k11 k22 = 0`` or
``k12 k21 = 0``) and every sign change of ``F`` inside.  ``F`` is split into monotone pieces at
its turning points (quadratic formula on ``F'``), and each piece that changes sign is solved
by Newton's method kept inside the bracket (bisection when a step leaves it) to full
precision.

Choice among several candidates, as PLINK 1.9 behaves: the candidates are taken in increasing
order; the log-likelihood of the first (smallest) one is the yardstick, and every later
candidate whose log-likelihood exceeds that *first* value replaces the current choice, so the
last such candidate is kept (the yardstick is never raised to the value of a later choice).
Because local minima of ``L`` separate its local maxima, this is the maximum likelihood
solution.  Log-likelihoods within a relative ``TIE_RTOL`` count as equal, so an exact tie
between two maxima keeps the smallest ``x``.  Exact ties arise only for mirror-symmetric
tables (e.g. a SNP with allele frequency exactly 1/2), whose two solutions give the same
``|r^2|`` with opposite signs: PLINK's pick there depends on the rounding of its own
log-likelihood sums (it keeps either one), so such a tie can flip the *sign* of ``r^2``
relative to PLINK but never ``|r^2|``, hence never a clump (the sign only orients proxies).

Without double heterozygotes (``h = 0``) ``x = 0``: ``f11 = k11 / N`` directly.  In all
cases ``D = f11 - p1 p2 = (N x - E) / N^2`` with the integer ``E = (k12 + h)(k21 + h) - k11 k22``,
and the signed ``r^2 = |D| D / (p1 (1 - p1) p2 (1 - p2))`` (its sign that of ``D`` for
alleles ``a1``), 0 when ``|D| < SMALL_EPSILON = 2^-44`` (rounding noise of an exact linkage
equilibrium), and NaN (undefined: the pair is never clumped) when either SNP is monomorphic
among the pair's called founders or no founder is called at both.

Agreement with PLINK 1.9: on all 1.94 million pairs within 1 Mb of the test panel
(tests/data/mr/clump) the r^2 equal PLINK's to about 1e-15, except where the cubic has a
double root at an end of ``[0, h]``: there the roots found here are exact (checked with 50-digit
arithmetic) while PLINK's closed-form ones lose some precision, so ``r^2`` differ by up to
2e-9 (no pair crosses a clumping threshold).  Ties: see above (sign only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numba import njit, types
from numba.extending import intrinsic

from .._checks import InputError, listing
from ._core import chrom_order

__all__ = ["LDPanel", "load_panel", "pair_r", "SMALL_EPSILON"]

#: 2^-44: |D| below it is exact linkage equilibrium (r^2 = 0); also PLINK's kb -> bp rounding slack
SMALL_EPSILON = 2.0 ** -44
#: relative tolerance under which two log-likelihoods count as tied
TIE_RTOL = 1e-12


@dataclass
class LDPanel:
    """A reference panel: SNP annotation plus hard-called genotypes of its founders.

    ``codes`` is ``(n_snps, n_samples)`` int8 in PLINK's order: 0 = homozygous for ``a1``,
    1 = heterozygous, 2 = homozygous for ``a2``, 3 = missing.
    """

    snp: np.ndarray
    chrom: np.ndarray
    pos: np.ndarray
    a1: np.ndarray
    a2: np.ndarray
    codes: np.ndarray
    n_nonfounders: int = 0
    source: str = ""

    def __post_init__(self):
        self.index = pd.Index(self.snp)
        # chromosome blocks (contiguous, positions non-decreasing inside each)
        chrom = pd.Series(self.chrom)
        change = np.flatnonzero(chrom.to_numpy()[1:] != chrom.to_numpy()[:-1]) + 1
        starts = np.r_[0, change]
        ends = np.r_[change, len(chrom)]
        seen = chrom.iloc[starts]
        if seen.duplicated().any():
            raise InputError(f"panel {self.source}: chromosome {seen[seen.duplicated()].iloc[0]!r} is split "
                             "into several blocks; sort the panel by chromosome and position "
                             "(plink --make-bed sorts it)")
        for s, e in zip(starts, ends):
            if (np.diff(self.pos[s:e]) < 0).any():
                raise InputError(f"panel {self.source}: positions on chromosome {self.chrom[s]!r} are not "
                                 "sorted; sort the panel by chromosome and position "
                                 "(plink --make-bed sorts it)")
        self.block_start = np.empty(len(self.snp), np.int64)
        self.block_end = np.empty(len(self.snp), np.int64)
        for s, e in zip(starts, ends):
            self.block_start[s:e], self.block_end[s:e] = s, e

    @property
    def masks(self) -> np.ndarray:
        """Bit-packed genotype classes (:func:`pack_codes`), computed once."""
        if getattr(self, "_masks", None) is None:
            self._masks = pack_codes(self.codes)
        return self._masks

    @property
    def n_samples(self) -> int:
        return int(self.codes.shape[1])

    def window(self, i: int, bp_radius: int) -> tuple[int, int]:
        """Half-open range of panel rows on i's chromosome with ``|pos - pos_i| <= bp_radius``."""
        s, e = self.block_start[i], self.block_end[i]
        p = self.pos[s:e]
        lo = s + np.searchsorted(p, self.pos[i] - bp_radius, side="left")
        hi = s + np.searchsorted(p, self.pos[i] + bp_radius, side="right")
        return int(lo), int(hi)


def _codes_from_dosage(dos: np.ndarray, what: str, names) -> np.ndarray:
    """(n_samples, n_snps) dosages of a1 (0/1/2; NaN, or -127 from bed-reader int8, missing)
    -> (n_snps, n_samples) codes."""
    if dos.dtype == np.int8:
        lut = np.full(256, 3, dtype=np.int8)
        lut[[2, 1, 0]] = [0, 1, 2]
        return np.ascontiguousarray(lut[dos.T.view(np.uint8)])
    dos = np.asarray(dos, dtype=np.float64)
    ok = np.isnan(dos) | (dos == 0.0) | (dos == 1.0) | (dos == 2.0)
    if not ok.all():
        bad = np.flatnonzero(~ok.all(axis=0))
        raise InputError(f"{what}: SNP(s) {listing(np.asarray(names)[bad], 5)} hold dosages other than "
                         "0/1/2 (or missing); PLINK's r^2 needs hard calls: round imputed dosages "
                         "(or hard-call them with plink --hard-call-threshold) first")
    codes = np.full(dos.shape, 3, dtype=np.int8)
    codes[dos == 2.0] = 0
    codes[dos == 1.0] = 1
    codes[dos == 0.0] = 2
    return np.ascontiguousarray(codes.T)


def load_panel(panel, snp_info: pd.DataFrame | None = None, genotypes: str = "genotypes") -> LDPanel:
    """An :class:`LDPanel` from a PLINK fileset prefix (``.bed/.bim/.fam``), an ``LDPanel``, a
    :class:`~radiogenomics.cohort.Cohort` (its ``genotypes`` view) or a samples x SNPs dosage
    DataFrame; the last two need ``snp_info`` with columns ``SNP, chr, pos`` (and optionally
    ``a1, a2``; ``a1`` is the allele whose dosage is given)."""
    if isinstance(panel, LDPanel):
        return panel
    if isinstance(panel, (str, Path)):
        return _read_bfile(Path(panel))
    from ..cohort import Cohort

    if isinstance(panel, Cohort):
        if genotypes not in panel:
            raise InputError(f"the cohort has no {genotypes!r} view; name the genotype view with genotypes=")
        panel = panel[genotypes]
    if not isinstance(panel, pd.DataFrame):
        raise InputError(f"panel must be a PLINK fileset prefix (path to .bed/.bim/.fam), an LDPanel, a "
                         f"Cohort or a samples x SNPs dosage DataFrame; got {type(panel).__name__}")
    if snp_info is None:
        raise InputError("a dosage panel needs snp_info: a DataFrame with columns SNP, chr, pos (and "
                         "optionally a1, a2) giving each SNP's position")
    missing = [c for c in ("SNP", "chr", "pos") if c not in snp_info.columns]
    if missing:
        raise InputError(f"snp_info lacks column(s) {missing}; give SNP, chr, pos (optionally a1, a2)")
    info = snp_info
    _check_unique(info["SNP"].astype(str), "snp_info")
    cols = pd.Index(panel.columns.astype(str))
    absent = cols.difference(info["SNP"].astype(str))
    if len(absent):
        raise InputError(f"panel SNP(s) {listing(absent, 5)} are not in snp_info; give their chr and pos")
    info = info.set_index(info["SNP"].astype(str))
    info = info[info.index.isin(cols)]
    # (chromosome, position), SNPs at one position in snp_info's row order (PLINK's .bim order)
    order = np.lexsort((info["pos"].to_numpy(), chrom_order(info["chr"].to_numpy())))
    info = info.iloc[order]
    order = cols.get_indexer(info.index)
    codes = _codes_from_dosage(panel.to_numpy(dtype=np.float64)[:, order], "panel", info.index)
    a1 = info["a1"].astype(str).to_numpy() if "a1" in info else np.full(len(info), "", object)
    a2 = info["a2"].astype(str).to_numpy() if "a2" in info else np.full(len(info), "", object)
    return LDPanel(info.index.to_numpy(dtype=object), info["chr"].astype(str).to_numpy(),
                   info["pos"].to_numpy(dtype=np.int64), a1, a2, codes, 0, "dosage DataFrame")


def _check_unique(ids: pd.Series, what: str) -> None:
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(f"{what} has duplicated SNP id(s) {listing(dup.unique(), 5)}; PLINK cannot tell "
                         "them apart: keep one row per SNP (or rename, e.g. chr:pos:a1:a2)")


def _read_bfile(prefix: Path) -> LDPanel:
    if prefix.suffix in (".bed", ".bim", ".fam"):
        prefix = prefix.with_suffix("")
    paths = {ext: Path(f"{prefix}.{ext}") for ext in ("bed", "bim", "fam")}
    absent = [str(p) for p in paths.values() if not p.is_file()]
    if absent:
        raise InputError(f"LD reference panel file(s) {absent} not found; give the prefix of a PLINK "
                         "fileset (path/to/panel for panel.bed, panel.bim, panel.fam)")
    try:
        bim = pd.read_csv(paths["bim"], sep=r"\s+", header=None, dtype=str)
        fam = pd.read_csv(paths["fam"], sep=r"\s+", header=None, dtype=str)
        if bim.shape[1] != 6 or fam.shape[1] != 6:
            raise ValueError(".bim and .fam need 6 columns")
        from bed_reader import open_bed

        with open_bed(paths["bed"], iid_count=len(fam), sid_count=len(bim),
                      properties={"sid": bim[1].to_numpy(), "chromosome": bim[0].to_numpy(),
                                  "bp_position": bim[3].astype(np.int64).to_numpy(),
                                  "allele_1": bim[4].to_numpy(), "allele_2": bim[5].to_numpy()},
                      count_A1=True) as bed:
            founders = ((fam[2] == "0") & (fam[3] == "0")).to_numpy()
            dos = bed.read(index=np.s_[founders, :], dtype="int8")
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same fix
        raise InputError(f"cannot read the PLINK fileset {prefix}: {err}; check that the .bed/.bim/.fam "
                         "are complete, of the same fileset, and in PLINK 1 binary format") from err
    if not founders.any():
        raise InputError(f"panel {prefix} has no founders (PLINK --clump uses founders only); set the "
                         "parent columns of the .fam to 0 (plink --make-founders)")
    _check_unique(bim[1], f"panel {prefix}.bim")
    return LDPanel(bim[1].to_numpy(dtype=object), bim[0].astype(str).to_numpy(),
                   bim[3].astype(np.int64).to_numpy(), bim[4].to_numpy(dtype=object),
                   bim[5].to_numpy(dtype=object),
                   _codes_from_dosage(dos, f"panel {prefix}", bim[1].to_numpy()),
                   int((~founders).sum()), str(prefix))


@njit(cache=True)
def _cubic_real_roots(c2, c1, c0, h, out):
    """Roots in ``[0, h]`` of ``F(x) = -2 x^3 + c2 x^2 + c1 x + c0`` (``F(0) >= 0 >= F(h)``),
    written increasing into ``out``; returns how many (1 to 3).

    End points count when ``F`` is exactly 0 there; inside, ``[0, h]`` is cut at the turning
    points of ``F`` (roots of ``F'(x) = -6 x^2 + 2 c2 x + c1``) into monotone pieces and every
    piece whose end values have strictly opposite signs holds one root, found by Newton steps
    confined to the shrinking bracket (bisection when a step would leave it).  Tangential
    (double) roots without a sign change are not extrema of the likelihood and are skipped.
    """
    knots = np.empty(4)
    knots[0] = 0.0
    nk = 1
    disc = c2 * c2 + 6.0 * c1
    if disc > 0.0:
        s = math.sqrt(disc)
        for t in ((c2 - s) / 6.0, (c2 + s) / 6.0):
            if 0.0 < t < h:
                knots[nk] = t
                nk += 1
    knots[nk] = h
    nk += 1
    f0 = c0                                   # F(0), exact
    fh = ((-2.0 * h + c2) * h + c1) * h + c0  # F(h)
    n = 0
    if f0 == 0.0:
        out[n] = 0.0
        n += 1
    for q in range(nk - 1):
        lo, hi = knots[q], knots[q + 1]
        flo = f0 if q == 0 else ((-2.0 * lo + c2) * lo + c1) * lo + c0
        fhi = fh if q == nk - 2 else ((-2.0 * hi + c2) * hi + c1) * hi + c0
        if not ((flo > 0.0 and fhi < 0.0) or (flo < 0.0 and fhi > 0.0)):
            continue
        rising = fhi > 0.0
        x = 0.5 * (lo + hi)
        for _ in range(200):
            fx = ((-2.0 * x + c2) * x + c1) * x + c0
            if fx == 0.0:
                break
            if (fx > 0.0) == rising:
                hi = x
            else:
                lo = x
            d = (-6.0 * x + 2.0 * c2) * x + c1
            nxt = x - fx / d if d != 0.0 else 0.5 * (lo + hi)
            if not (lo < nxt < hi):
                nxt = 0.5 * (lo + hi)
            if nxt == x or not (lo < nxt < hi):
                break
            x = nxt
        out[n] = x
        n += 1
    if fh == 0.0 and h > 0.0:
        out[n] = h
        n += 1
    return n


@njit(cache=True)
def _lnlike(k11, k12, k21, k22, h, x):
    """Log-likelihood ``L(x) = sum k_ij log m_ij + h log(m11 m22 + m12 m21)`` (constant
    dropped; a term with ``k_ij = 0`` is 0)."""
    m11, m22 = k11 + x, k22 + x
    m12, m21 = k12 + h - x, k21 + h - x
    s = h * math.log(m11 * m22 + m12 * m21)
    if k11 > 0.0:
        s += k11 * math.log(m11)
    if k12 > 0.0:
        s += k12 * math.log(m12)
    if k21 > 0.0:
        s += k21 * math.log(m21)
    if k22 > 0.0:
        s += k22 * math.log(m22)
    return s


@njit(cache=True)
def _r_from_counts(c):
    """Signed haplotype r^2 (module docstring) from the 9 genotype counts ``c[3 a + b]``
    (``a``, ``b``: codes 0/1/2 at the two SNPs); NaN when a SNP is monomorphic among the pair's
    called founders."""
    k11 = float(2 * c[0] + c[1] + c[3])
    k12 = float(2 * c[2] + c[1] + c[5])
    k21 = float(2 * c[6] + c[3] + c[7])
    k22 = float(2 * c[8] + c[5] + c[7])
    h = float(c[4])
    big_n = k11 + k12 + k21 + k22 + 2.0 * h
    n1 = k11 + k12 + h
    n2 = k11 + k21 + h
    if n1 <= 0.0 or n1 >= big_n or n2 <= 0.0 or n2 >= big_n:
        return np.nan
    x = 0.0
    if h > 0.0:
        c2 = 3.0 * h + k12 + k21 - k11 - k22
        c1 = h * (k11 + k22) - k11 * k22 - (k12 + h) * (k21 + h)
        c0 = h * k11 * k22
        roots = np.empty(3)
        nr = _cubic_real_roots(c2, c1, c0, h, roots)
        x = roots[0]
        if nr > 1:
            first = _lnlike(k11, k12, k21, k22, h, roots[0])
            for t in range(1, nr):
                lt = _lnlike(k11, k12, k21, k22, h, roots[t])
                if lt - first > TIE_RTOL * max(abs(first), 1.0):
                    x = roots[t]
    e = (k12 + h) * (k21 + h) - k11 * k22
    d = (big_n * x - e) / (big_n * big_n)
    if abs(d) < SMALL_EPSILON:
        return 0.0
    return d * abs(d) / ((n1 / big_n) * (1.0 - n1 / big_n) * (n2 / big_n) * (1.0 - n2 / big_n))


@intrinsic
def _popcount(typingctx, x):
    """LLVM ctpop on a uint64 (POPCNT on x86-64)."""
    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])
    return types.uint64(types.uint64), codegen


def pack_codes(codes: np.ndarray) -> np.ndarray:
    """(n_snps, 3, words) uint64 bit masks of genotype classes 0/1/2 (PLINK keeps 2-bit codes and
    counts pair tables with popcounts; same counts)."""
    m, n = codes.shape
    words = (n + 63) // 64
    out = np.zeros((m, 3, words), np.uint64)
    for g in range(3):
        bits = np.packbits(codes == g, axis=1, bitorder="little")
        pad = np.zeros((m, words * 8), np.uint8)
        pad[:, :bits.shape[1]] = bits
        out[:, g, :] = pad.view("<u8")
    return out


@njit(cache=True)
def _pair_r_packed(masks, i, js):
    out = np.empty(js.size)
    c = np.zeros(9, np.int64)
    words = masks.shape[2]
    for t in range(js.size):
        j = js[t]
        for u in range(3):
            for v in range(3):
                acc = np.uint64(0)
                for w in range(words):
                    acc += _popcount(masks[i, u, w] & masks[j, v, w])
                c[3 * u + v] = acc
        out[t] = _r_from_counts(c)
    return out


def pair_r(panel_or_codes, i, js):
    """Signed r^2 (PLINK 1.9 clump) between panel row ``i`` and rows ``js`` (NaN = undefined);
    first argument an :class:`LDPanel` or its ``codes`` array."""
    masks = panel_or_codes.masks if isinstance(panel_or_codes, LDPanel) else pack_codes(panel_or_codes)
    return _pair_r_packed(masks, int(i), np.asarray(js, dtype=np.int64))
