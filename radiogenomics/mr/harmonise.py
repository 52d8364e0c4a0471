"""Harmonise SNP-exposure and SNP-outcome effects to the same effect allele.

A port of TwoSampleMR's ``harmonise_data`` (0.7.9, ``R/harmonise.R``; Hemani et al. 2018,
eLife 7:e34408; the harmonisation rules follow Hartwig, Davey Smith & Bowden 2016, IJE
45:1717).  Exposure alleles ``A1/A2`` (effect/other), outcome alleles ``B1/B2``, outcome effect
``betaB`` and effect-allele frequencies ``fA``, ``fB``.  Each SNP falls in one of TwoSampleMR's
four allele cases, by which alleles are given:

**2-2** (both alleles on both sides, ``harmonise_22``):

0. *indels* (an exposure allele longer than one base, or coded ``D``/``I``;
   ``recode_indels_22``): a side coded ``I``/``D`` takes the other side's sequences, the
   longer sequence being the insertion (``I``), the shorter the deletion (``D``).  The SNP is
   removed when a side coded ``I``/``D`` meets equal-length sequence alleles longer than one
   base, or when a side's two alleles are identical;
1. *swap*: if ``A1 == B2`` and ``A2 == B1`` the outcome alleles are swapped,
   ``betaB -> -betaB`` and ``fB -> 1 - fB``;
2. *strand flip*: a non-palindromic SNP whose alleles still differ is complemented
   (A<->T, C<->G) and, if then swapped, swapped as in 1;
3. *incompatible*: a SNP whose alleles still differ gets ``remove = True``;
4. *palindromic* SNPs (A/T or C/G) cannot be strand-resolved from letters.  With
   ``action = 2`` the strand is inferred from allele frequencies: if ``fA`` and ``fB`` lie on
   opposite sides of 0.5 the outcome effect is flipped (``betaB -> -betaB``,
   ``fB -> 1 - fB``).  A palindromic SNP is *ambiguous* when either frequency lies in
   ``(0.5 - tolerance, 0.5 + tolerance) = (0.42, 0.58)`` (missing frequencies count as 0.5).

**2-1** (outcome other allele missing, ``harmonise_21``): palindromic exposure SNPs are
removed; ``I``/``D`` outcome alleles are recoded from the exposure's sequences
(``recode_indels_21``; removed when the exposure is itself ``I``/``D`` or has equal-length
sequences).  If ``B1 == A1`` the outcome other allele becomes ``A2``; the SNP is *ambiguous*
unless both frequencies lie on the same side of (0.42, 0.58).  If ``B1 == A2`` the outcome is
swapped (``betaB``, ``fB`` flipped) and the SNP is ambiguous unless the frequencies lie on
opposite sides.  If ``B1`` matches neither, it is strand-flipped, matched or swapped again,
and always ambiguous.

**1-2** (exposure other allele missing, ``harmonise_12``): the mirror image, except that, as in
TwoSampleMR, a match ``A1 == B2`` re-codes the *exposure* (``A1 -> B1``, ``betaA -> -betaA``,
``fA -> 1 - fA``), a strand-flipped match of ``A1`` with ``B2`` swaps the outcome.

**1-1** (only effect alleles, ``harmonise_11``): removed if ``A1 != B1``; otherwise ambiguous
unless both frequencies lie on the same side of (0.42, 0.58); never palindromic.

Before that, as TwoSampleMR's ``harmonise_cleanup_variables``: alleles are upper-cased, an
empty outcome other allele counts as missing, an ``eaf`` of ``"NR"`` or other text that is not
a number counts as missing (a :class:`UserWarning` names the SNPs whose text was read as
missing).  Text in ``beta``/``se`` is refused (not silently NA).

``mr_keep`` (the rows the estimators use) is then, as in TwoSampleMR:

* ``action = 1`` (all alleles assumed on the forward strand): ``not remove``;
* ``action = 2`` (infer palindromes from frequency): ``not (remove or ambiguous)``;
* ``action = 3`` (drop all palindromes): ``not (remove or palindromic or ambiguous)``;

and additionally False where any of ``beta.exposure, beta.outcome, se.exposure, se.outcome``
is missing (``NA`` text counts as missing), a beta is infinite or an SE is zero, negative or
infinite (an SE <= 0 would give an infinite or negative weight).  The extra column
``mr_keep_reason`` says why each excluded SNP was excluded ("incompatible alleles",
"palindromic with intermediate allele frequency", "palindromic (action = 3)", "missing
se.outcome", "se.exposure <= 0 or infinite", ...); it is empty for kept SNPs.

One deliberate difference: TwoSampleMR silently drops SNPs without an effect allele on
either side (they fall in none of the four cases); here they are kept with ``remove = True``
and the reason "missing effect allele", so that nothing disappears unreported.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._checks import InputError, listing
from ._core import NA_TEXT, coerce_numeric, invalid_reasons, normalise_columns
from .io import check_builds

__all__ = ["harmonise", "TOLERANCE"]

#: TwoSampleMR's default tolerance: palindromes with 0.42 < eaf < 0.58 are ambiguous.
TOLERANCE = 0.08

_COMPLEMENT = str.maketrans("ACGT", "TGCA")
_MR_COLS = ["beta.exposure", "beta.outcome", "se.exposure", "se.outcome"]

_WHY_MISMATCH = "incompatible alleles"
_WHY_INDEL = "indel alleles cannot be matched (I/D coding against equal-length or I/D alleles, or identical alleles)"
_WHY_PAL_ONE = "palindromic with only one allele given on one side"
_WHY_ONE_MISMATCH = "incompatible alleles (effect alleles differ, other alleles not given)"
_WHY_NO_EA = "missing effect allele (TwoSampleMR drops such SNPs)"
_WHY_AMB_PAL = "palindromic with intermediate allele frequency"
_WHY_AMB_ONE = "only one allele given on one side and allele frequencies do not confirm the match"


def _flip(a: np.ndarray) -> np.ndarray:
    return np.array([s.translate(_COMPLEMENT) for s in a], dtype=object)


def _nchar(a: np.ndarray) -> np.ndarray:
    return np.array([len(s) for s in a], dtype=int)


def _palindromic(a1: np.ndarray, a2: np.ndarray) -> np.ndarray:
    return (((a1 == "A") & (a2 == "T")) | ((a1 == "T") & (a2 == "A"))
            | ((a1 == "G") & (a2 == "C")) | ((a1 == "C") & (a2 == "G")))


def _alleles(col: pd.Series, blank_is_missing: bool) -> np.ndarray:
    """Upper-cased alleles as an object array with None for missing ones."""
    out = np.empty(len(col), dtype=object)
    for i, v in enumerate(col.to_numpy(dtype=object)):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            out[i] = None
        else:
            v = str(v).upper()
            out[i] = None if (blank_is_missing and v == "") else v
    return out


def _eaf(df: pd.DataFrame, col: str) -> pd.DataFrame:
    """eaf as float: "NR", NA text and any other text that is not a number -> NaN, the latter
    with a warning naming the SNPs (TwoSampleMR's ``as.numeric`` coercion)."""
    if col not in df.columns or (pd.api.types.is_numeric_dtype(df[col])
                                 and not pd.api.types.is_bool_dtype(df[col])):
        return df
    df = df.copy()
    text = df[col].astype("string").str.strip()
    na = df[col].isna() | text.str.upper().isin(NA_TEXT | {"NR"}).fillna(True)
    parsed = pd.to_numeric(text.where(~na), errors="coerce")
    bad = parsed.isna() & ~na
    if bad.any():
        warnings.warn(f"{col} holds text that is not a number for SNP(s) {listing(df.loc[bad, 'SNP'], 5)} "
                      f"(values {listing(df.loc[bad, col].unique(), 3)}); read as missing, as "
                      "TwoSampleMR does (palindromic SNPs then cannot be inferred)",
                      UserWarning, stacklevel=3)
    df[col] = parsed.astype(float)
    return df


def _check(df: pd.DataFrame, side: str) -> None:
    need = ["SNP", f"beta.{side}", f"se.{side}", f"effect_allele.{side}", f"other_allele.{side}"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(f"{side} data lack column(s) {missing}; give TwoSampleMR-style columns "
                         f"(dotted, e.g. 'beta.{side}', or snake_case, e.g. 'beta_{side}'; an "
                         f"unknown other allele as a column of NA)")


# ------------------------------------------------------------------- indel recoding (TwoSampleMR)
def _recode_indels_22(A1, A2, B1, B2):
    """``recode_indels_22``: I/D on one side from the other side's sequences; keep flags."""
    A1, A2, B1, B2 = (x.copy() for x in (A1, A2, B1, B2))
    nA1, nA2, nB1, nB2 = _nchar(A1), _nchar(A2), _nchar(B1), _nchar(B2)
    m = (nA1 > nA2) & (B1 == "I") & (B2 == "D"); B1[m], B2[m] = A1[m], A2[m]
    m = (nA1 < nA2) & (B1 == "I") & (B2 == "D"); B1[m], B2[m] = A2[m], A1[m]
    m = (nA1 > nA2) & (B1 == "D") & (B2 == "I"); B1[m], B2[m] = A2[m], A1[m]
    m = (nA1 < nA2) & (B1 == "D") & (B2 == "I"); B1[m], B2[m] = A1[m], A2[m]
    m = (nB1 > nB2) & (A1 == "I") & (A2 == "D"); A1[m], A2[m] = B1[m], B2[m]
    m = (nB1 < nB2) & (A1 == "I") & (A2 == "D"); A2[m], A1[m] = B1[m], B2[m]
    m = (nB1 > nB2) & (A1 == "D") & (A2 == "I"); A2[m], A1[m] = B1[m], B2[m]
    m = (nB1 < nB2) & (A1 == "D") & (A2 == "I"); A1[m], A2[m] = B1[m], B2[m]
    keep = np.ones(A1.size, bool)
    keep[(nA1 > 1) & (nA1 == nA2) & ((B1 == "D") | (B1 == "I"))] = False
    keep[(nB1 > 1) & (nB1 == nB2) & ((A1 == "D") | (A1 == "I"))] = False
    keep[A1 == A2] = False
    keep[B1 == B2] = False
    return A1, A2, B1, B2, keep


def _recode_indels_21(A1, A2, B1):
    """``recode_indels_21``: outcome effect allele I/D from the exposure's sequences."""
    A1, A2, B1 = (x.copy() for x in (A1, A2, B1))
    B2 = np.full(A1.size, None, dtype=object)
    nA1, nA2 = _nchar(A1), _nchar(A2)
    m = (nA1 > nA2) & (B1 == "I"); B1[m], B2[m] = A1[m], A2[m]
    m = (nA1 < nA2) & (B1 == "I"); B1[m], B2[m] = A2[m], A1[m]
    m = (nA1 > nA2) & (B1 == "D"); B1[m], B2[m] = A2[m], A1[m]
    m = (nA1 < nA2) & (B1 == "D"); B1[m], B2[m] = A1[m], A2[m]
    keep = np.ones(A1.size, bool)
    keep[(A1 == "I") & (A2 == "D")] = False
    keep[(A1 == "D") & (A2 == "I")] = False
    keep[(nA1 > 1) & (nA1 == nA2) & ((B1 == "D") | (B1 == "I"))] = False
    keep[A1 == A2] = False
    return A1, A2, B1, B2, keep


def _recode_indels_12(A1, B1, B2):
    """``recode_indels_12``: exposure effect allele I/D from the outcome's sequences."""
    A1, B1, B2 = (x.copy() for x in (A1, B1, B2))
    A2 = np.full(A1.size, None, dtype=object)
    nB1, nB2 = _nchar(B1), _nchar(B2)
    m = (nB1 > nB2) & (A1 == "I"); A1[m], A2[m] = B1[m], B2[m]
    m = (nB1 < nB2) & (A1 == "I"); A2[m], A1[m] = B1[m], B2[m]
    m = (nB1 > nB2) & (A1 == "D"); A2[m], A1[m] = B1[m], B2[m]
    m = (nB1 < nB2) & (A1 == "D"); A1[m], A2[m] = B1[m], B2[m]
    keep = np.ones(A1.size, bool)
    keep[(B1 == "I") & (B2 == "D")] = False
    keep[(B1 == "D") & (B2 == "I")] = False
    keep[(nB1 > 1) & (nB1 == nB2) & ((A1 == "D") | (A1 == "I"))] = False
    keep[B1 == B2] = False
    return A1, A2, B1, B2, keep


# ------------------------------------------------------------------- the four allele cases
def _freqs(fA, fB, tolerance):
    lo, hi = 0.5 - tolerance, 0.5 + tolerance
    ta = np.where(np.isnan(fA), 0.5, fA)
    tb = np.where(np.isnan(fB), 0.5, fB)
    same_side = ((ta < lo) & (tb < lo)) | ((ta > hi) & (tb > hi))
    opposite = ((ta < lo) & (tb > hi)) | ((ta > hi) & (tb < lo))
    return ta, tb, lo, hi, same_side, opposite


def _h22(A1, A2, B1, B2, bA, bB, fA, fB, tolerance, action):
    why = np.full(A1.size, "", dtype=object)
    indel = (_nchar(A1) > 1) | (_nchar(A2) > 1) | (A1 == "D") | (A1 == "I")
    keep_indel = np.ones(A1.size, bool)
    if indel.any():
        r = _recode_indels_22(A1[indel], A2[indel], B1[indel], B2[indel])
        A1[indel], A2[indel], B1[indel], B2[indel] = r[:4]
        keep_indel[indel] = r[4]

    def swap(mask):
        B1[mask], B2[mask] = B2[mask], B1[mask].copy()
        bB[mask] *= -1
        fB[mask] = 1 - fB[mask]

    swap((A1 == B2) & (A2 == B1))
    status = (A1 == B1) & (A2 == B2)
    palindromic = _palindromic(A1, A2)
    i = ~palindromic & ~status
    B1[i], B2[i] = _flip(B1[i]), _flip(B2[i])
    swap((A1 == B2) & (A2 == B1))
    remove = ~((A1 == B1) & (A2 == B2))
    why[remove] = _WHY_MISMATCH
    remove |= ~keep_indel
    why[~keep_indel] = _WHY_INDEL

    ta, tb, lo, hi, _, _ = _freqs(fA, fB, tolerance)
    ambiguous = (((ta > lo) & (ta < hi)) | ((tb > lo) & (tb < hi))) & palindromic
    if action == 2:
        to_swap = ((ta < 0.5) & (tb > 0.5) | (ta > 0.5) & (tb < 0.5)) & palindromic & ~remove
        bB[to_swap] *= -1
        fB[to_swap] = 1 - fB[to_swap]
    amb_why = np.where(ambiguous, _WHY_AMB_PAL, "")
    return A1, A2, B1, B2, bA, bB, fA, fB, remove, palindromic, ambiguous, why, amb_why


def _h21(A1, A2, B1, bA, bB, fA, fB, tolerance, action):
    n = A1.size
    B2 = np.full(n, None, dtype=object)
    ambiguous = np.zeros(n, bool)
    palindromic = _palindromic(A1, A2)
    remove = palindromic.copy()
    why = np.where(palindromic, _WHY_PAL_ONE, "").astype(object)
    indel = (_nchar(A1) > 1) | (_nchar(A2) > 1) | (A1 == "D") | (A1 == "I")
    if indel.any():
        r = _recode_indels_21(A1[indel], A2[indel], B1[indel])
        A1[indel], A2[indel], B1[indel], B2[indel] = r[:4]
        bad = np.flatnonzero(indel)[~r[4]]
        remove[bad] = True
        why[bad] = _WHY_INDEL
    _, _, _, _, same_side, opposite = _freqs(fA, fB, tolerance)
    status = A1 == B1
    ambiguous[status & ~same_side] = True
    B2[status] = A2[status]
    to_swap = A2 == B1
    ambiguous[to_swap & ~opposite] = True
    B2[to_swap] = B1[to_swap]
    B1[to_swap] = A1[to_swap]
    bB[to_swap] *= -1
    fB[to_swap] = 1 - fB[to_swap]
    to_flip = (A1 != B1) & (A2 != B1)
    ambiguous[to_flip] = True
    B1[to_flip] = _flip(B1[to_flip])
    status = A1 == B1
    B2[status] = A2[status]
    to_swap = A2 == B1
    B2[to_swap] = B1[to_swap]
    B1[to_swap] = A1[to_swap]
    bB[to_swap] *= -1
    fB[to_swap] = 1 - fB[to_swap]
    amb_why = np.where(ambiguous | palindromic, _WHY_AMB_ONE, "")
    return A1, A2, B1, B2, bA, bB, fA, fB, remove, palindromic, ambiguous | palindromic, why, amb_why


def _h12(A1, B1, B2, bA, bB, fA, fB, tolerance, action):
    # Mirror of _h21 with the exposure side holding one allele, except the last swap, which
    # (as TwoSampleMR's harmonise_12) swaps the outcome's alleles and beta, not the exposure's;
    # kept as a separate function so that each reads as the R function it reproduces.
    n = A1.size
    A2 = np.full(n, None, dtype=object)
    ambiguous = np.zeros(n, bool)
    palindromic = _palindromic(B1, B2)
    remove = palindromic.copy()
    why = np.where(palindromic, _WHY_PAL_ONE, "").astype(object)
    indel = (_nchar(B1) > 1) | (_nchar(B2) > 1) | (B1 == "D") | (B1 == "I")
    if indel.any():
        r = _recode_indels_12(A1[indel], B1[indel], B2[indel])
        A1[indel], A2[indel], B1[indel], B2[indel] = r[:4]
        bad = np.flatnonzero(indel)[~r[4]]
        remove[bad] = True
        why[bad] = _WHY_INDEL
    _, _, _, _, same_side, opposite = _freqs(fA, fB, tolerance)
    status = A1 == B1
    ambiguous[status & ~same_side] = True
    A2[status] = B2[status]
    to_swap = A1 == B2
    ambiguous[to_swap & ~opposite] = True
    A2[to_swap] = A1[to_swap]
    A1[to_swap] = B1[to_swap]
    bA[to_swap] *= -1
    fA[to_swap] = 1 - fA[to_swap]
    to_flip = (A1 != B1) & (A1 != B2)
    ambiguous[to_flip] = True
    A1[to_flip] = _flip(A1[to_flip])
    status = A1 == B1
    A2[status] = B2[status]
    to_swap = B2 == A1
    B2[to_swap] = B1[to_swap]
    B1[to_swap] = A1[to_swap]
    bB[to_swap] *= -1
    fB[to_swap] = 1 - fB[to_swap]
    amb_why = np.where(ambiguous | palindromic, _WHY_AMB_ONE, "")
    return A1, A2, B1, B2, bA, bB, fA, fB, remove, palindromic, ambiguous | palindromic, why, amb_why


def _h11(A1, B1, bA, bB, fA, fB, tolerance, action):
    n = A1.size
    status = A1 == B1
    remove = ~status
    why = np.where(remove, _WHY_ONE_MISMATCH, "").astype(object)
    _, _, _, _, same_side, _ = _freqs(fA, fB, tolerance)
    ambiguous = status & ~same_side
    none = np.full(n, None, dtype=object)
    amb_why = np.where(ambiguous, _WHY_AMB_ONE, "")
    return (A1, none, B1, none.copy(), bA, bB, fA, fB, remove, np.zeros(n, bool), ambiguous,
            why, amb_why)


def harmonise(exposure: pd.DataFrame, outcome: pd.DataFrame, action: int = 2,
              tolerance: float = TOLERANCE) -> pd.DataFrame:
    """Harmonise exposure and outcome summary statistics (TwoSampleMR ``harmonise_data``).

    Parameters
    ----------
    exposure, outcome : DataFrame
        TwoSampleMR-style frames (dotted ``beta.exposure`` or snake_case ``beta_exposure``
        names) with at least ``SNP``, ``beta``, ``se``, ``effect_allele``, ``other_allele`` for
        their side (an unknown other allele as NA: TwoSampleMR's 2-1, 1-2 and 1-1 cases);
        ``eaf`` is needed for ``action = 2`` to resolve palindromic SNPs (missing frequencies
        make every palindrome ambiguous).  Exposure and outcome are joined on ``SNP`` (inner
        join) and, if present, per ``id.exposure`` x ``id.outcome`` pair.
    action : {1, 2, 3}
        1: assume all alleles on the forward strand; 2: infer palindromic SNPs' strand from
        allele frequency (TwoSampleMR default); 3: drop all palindromic SNPs.  See the module
        docstring for the rules.
    tolerance : float
        Palindromes with an allele frequency in ``(0.5 - tolerance, 0.5 + tolerance)`` are
        ambiguous (TwoSampleMR's 0.08).

    Returns
    -------
    DataFrame
        Sorted by SNP, with TwoSampleMR's columns: harmonised alleles, ``beta.*``, ``eaf.*``,
        ``remove``, ``palindromic``, ``ambiguous``, the other input columns, ``action``,
        ``SNP_index``, ``mr_keep`` and ``mr_keep_reason`` (why an SNP is excluded; "" if kept).
        Outcome effects (and frequencies) refer to the exposure's effect allele.  SNPs in only
        one of the two frames are not in the result (inner join, as TwoSampleMR).  When both
        frames carry a genome build (``attrs["genome_build"]``, set by the readers of
        :mod:`radiogenomics.mr.io`) they must agree (:class:`InputError` otherwise), and the
        result carries it.
    """
    if action not in (1, 2, 3):
        raise InputError(f"action must be 1, 2 or 3 (TwoSampleMR's harmonise_data), got {action!r}")
    build = None
    if isinstance(exposure, pd.DataFrame) and isinstance(outcome, pd.DataFrame):
        build = check_builds(exposure, outcome)      # refuses different genome builds
    exp = normalise_columns(exposure)
    out = normalise_columns(outcome)
    _check(exp, "exposure")
    _check(out, "outcome")
    exp = _eaf(exp, "eaf.exposure")
    out = _eaf(out, "eaf.outcome")
    exp = coerce_numeric(exp, ["beta.exposure", "se.exposure"], "exposure")
    out = coerce_numeric(out, ["beta.outcome", "se.outcome"], "outcome")
    for df, side in ((exp, "exposure"), (out, "outcome")):
        keys = ["SNP"] + ([f"id.{side}"] if f"id.{side}" in df.columns else [])
        dup = df.duplicated(keys, keep=False)
        if dup.any():
            raise InputError(
                f"{side} data list SNP(s) {listing(df.loc[dup, 'SNP'].unique(), 5)} more than once"
                + (f" for the same id.{side}" if len(keys) > 1 else "")
                + "; keep one row per SNP (e.g. the one with the smallest p-value)")
    for df, side in ((exp, "exposure"), (out, "outcome")):
        if f"id.{side}" not in df.columns:
            df[f"id.{side}"] = side
        if f"eaf.{side}" not in df.columns:
            df[f"eaf.{side}"] = np.nan
    res = pd.merge(out, exp, on="SNP", how="inner")
    if res.empty:
        raise InputError("exposure and outcome share no SNP (column 'SNP'); check the identifiers")
    res["SNP_index"] = res.groupby(["SNP", "id.exposure", "id.outcome"]).cumcount() + 1

    n = len(res)
    a1 = _alleles(res["effect_allele.exposure"], False)
    a2 = _alleles(res["other_allele.exposure"], False)
    b1 = _alleles(res["effect_allele.outcome"], False)
    b2 = _alleles(res["other_allele.outcome"], True)
    beta_a = res["beta.exposure"].to_numpy(dtype=np.float64).copy()
    beta_b = res["beta.outcome"].to_numpy(dtype=np.float64).copy()
    f_a = res["eaf.exposure"].to_numpy(dtype=np.float64).copy()
    f_b = res["eaf.outcome"].to_numpy(dtype=np.float64).copy()

    has = [np.array([x is not None for x in v]) for v in (a1, a2, b1, b2)]
    i22 = has[0] & has[1] & has[2] & has[3]
    i21 = has[0] & has[1] & has[2] & ~has[3]
    i12 = has[0] & ~has[1] & has[2] & has[3]
    i11 = has[0] & ~has[1] & has[2] & ~has[3]
    none = ~(i22 | i21 | i12 | i11)

    A1, A2, B1, B2 = (v.copy() for v in (a1, a2, b1, b2))
    remove = np.zeros(n, bool)
    palindromic = np.zeros(n, bool)
    ambiguous = np.zeros(n, bool)
    why = np.full(n, "", dtype=object)
    amb_why = np.full(n, "", dtype=object)
    cases = ((i22, lambda m: _h22(A1[m], A2[m], B1[m], B2[m], beta_a[m], beta_b[m], f_a[m], f_b[m],
                                  tolerance, action)),
             (i21, lambda m: _h21(A1[m], A2[m], B1[m], beta_a[m], beta_b[m], f_a[m], f_b[m],
                                  tolerance, action)),
             (i12, lambda m: _h12(A1[m], B1[m], B2[m], beta_a[m], beta_b[m], f_a[m], f_b[m],
                                  tolerance, action)),
             (i11, lambda m: _h11(A1[m], B1[m], beta_a[m], beta_b[m], f_a[m], f_b[m],
                                  tolerance, action)))
    for mask, fn in cases:
        if mask.any():
            r = fn(mask)
            (A1[mask], A2[mask], B1[mask], B2[mask], beta_a[mask], beta_b[mask], f_a[mask],
             f_b[mask], remove[mask], palindromic[mask], ambiguous[mask], why[mask],
             amb_why[mask]) = r
    remove[none] = True
    why[none] = _WHY_NO_EA

    harm = pd.DataFrame({
        "SNP": res["SNP"].to_numpy(),
        "effect_allele.exposure": A1, "other_allele.exposure": A2,
        "effect_allele.outcome": B1, "other_allele.outcome": B2,
        "beta.exposure": beta_a, "beta.outcome": beta_b,
        "eaf.exposure": f_a, "eaf.outcome": f_b,
        "remove": remove, "palindromic": palindromic, "ambiguous": ambiguous,
    })
    for c in ("other_allele.exposure", "other_allele.outcome"):
        harm[c] = harm[c].where(harm[c].notna(), np.nan)
    rest = [c for c in res.columns if c not in harm.columns and c != "SNP_index"]
    out_df = pd.concat([harm, res[rest].reset_index(drop=True)], axis=1)
    out_df["action"] = action
    out_df["SNP_index"] = res["SNP_index"].to_numpy()

    reason = np.full(n, "", dtype=object)
    invalid = invalid_reasons(out_df)
    if action in (2, 3):
        reason[ambiguous] = amb_why[ambiguous]
    if action == 3:
        reason[palindromic] = "palindromic (action = 3)"
    reason[remove] = why[remove]
    fill = (invalid != "") & (reason == "")
    reason[fill] = invalid[fill]
    out_df["mr_keep"] = reason == ""
    out_df["mr_keep_reason"] = reason
    out_df = out_df.sort_values(["SNP", "id.exposure", "id.outcome"], kind="mergesort")
    out_df = out_df.reset_index(drop=True)
    if build is not None:
        out_df.attrs["genome_build"] = build
    return out_df
