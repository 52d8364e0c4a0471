"""Harmonise SNP-exposure and SNP-outcome effects to the same effect allele.

A port of TwoSampleMR's ``harmonise_data`` (Hemani et al. 2018, eLife 7:e34408; the
harmonisation rules follow Hartwig, Davey Smith & Bowden 2016, IJE 45:1717) for SNPs with
both alleles given on each side (TwoSampleMR's "2-2" case).

For every SNP, with exposure alleles ``A1/A2`` (effect/other), outcome alleles ``B1/B2``,
outcome effect ``betaB`` and outcome effect-allele frequency ``fB``:

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

``mr_keep`` (the rows the estimators use) is then, as in TwoSampleMR:

* ``action = 1`` (all alleles assumed on the forward strand): ``not remove``;
* ``action = 2`` (infer palindromes from frequency): ``not (remove or ambiguous)``;
* ``action = 3`` (drop all palindromes): ``not (remove or palindromic)``;

and additionally False where any of ``beta.exposure, beta.outcome, se.exposure, se.outcome``
is missing (``NA`` text counts as missing), a beta is infinite or an SE is zero, negative or
infinite (an SE <= 0 would give an infinite or negative weight).  The extra column ``mr_keep_reason`` says why each excluded SNP was excluded
("incompatible alleles", "palindromic with intermediate allele frequency",
"palindromic (action = 3)", "missing se.outcome", "se.exposure <= 0 or infinite", ...); it is
empty for kept SNPs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._checks import InputError, listing
from ._core import coerce_numeric, invalid_reasons, normalise_columns

__all__ = ["harmonise", "TOLERANCE"]

#: TwoSampleMR's default tolerance: palindromes with 0.42 < eaf < 0.58 are ambiguous.
TOLERANCE = 0.08

_COMPLEMENT = str.maketrans("ACGT", "TGCA")
_ALLELE_COLS = ["effect_allele.exposure", "other_allele.exposure", "effect_allele.outcome",
                "other_allele.outcome"]
_MR_COLS = ["beta.exposure", "beta.outcome", "se.exposure", "se.outcome"]


def _flip(a: np.ndarray) -> np.ndarray:
    return np.array([s.translate(_COMPLEMENT) for s in a], dtype=object)


def _palindromic(a1: np.ndarray, a2: np.ndarray) -> np.ndarray:
    return (((a1 == "A") & (a2 == "T")) | ((a1 == "T") & (a2 == "A"))
            | ((a1 == "G") & (a2 == "C")) | ((a1 == "C") & (a2 == "G")))


def _check(df: pd.DataFrame, side: str) -> None:
    need = ["SNP", f"beta.{side}", f"se.{side}", f"effect_allele.{side}", f"other_allele.{side}"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(f"{side} data lack column(s) {missing}; give TwoSampleMR-style columns "
                         f"(dotted, e.g. 'beta.{side}', or snake_case, e.g. 'beta_{side}')")
    for c in (f"effect_allele.{side}", f"other_allele.{side}"):
        if df[c].isna().any():
            raise InputError(f"column {c!r} has missing alleles; only SNPs with both alleles on both "
                             f"sides can be harmonised here (TwoSampleMR's '2-2' case): drop or "
                             f"complete them first")


def harmonise(exposure: pd.DataFrame, outcome: pd.DataFrame, action: int = 2,
              tolerance: float = TOLERANCE) -> pd.DataFrame:
    """Harmonise exposure and outcome summary statistics (TwoSampleMR ``harmonise_data``).

    Parameters
    ----------
    exposure, outcome : DataFrame
        TwoSampleMR-style frames (dotted ``beta.exposure`` or snake_case ``beta_exposure``
        names) with at least ``SNP``, ``beta``, ``se``, ``effect_allele``, ``other_allele`` for
        their side; ``eaf`` is needed for ``action = 2`` to resolve palindromic SNPs (missing
        frequencies make every palindrome ambiguous).  Exposure and outcome are joined on
        ``SNP`` (inner join) and, if present, per ``id.exposure`` x ``id.outcome`` pair.
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
        Outcome effects (and frequencies) refer to the exposure's effect allele.
    """
    if action not in (1, 2, 3):
        raise InputError(f"action must be 1, 2 or 3 (TwoSampleMR's harmonise_data), got {action!r}")
    exp = normalise_columns(exposure)
    out = normalise_columns(outcome)
    _check(exp, "exposure")
    _check(out, "outcome")
    exp = coerce_numeric(exp, ["beta.exposure", "se.exposure", "eaf.exposure"], "exposure")
    out = coerce_numeric(out, ["beta.outcome", "se.outcome", "eaf.outcome"], "outcome")
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

    a1 = res["effect_allele.exposure"].astype(str).str.upper().to_numpy(dtype=object)
    a2 = res["other_allele.exposure"].astype(str).str.upper().to_numpy(dtype=object)
    b1 = res["effect_allele.outcome"].astype(str).str.upper().to_numpy(dtype=object)
    b2 = res["other_allele.outcome"].astype(str).str.upper().to_numpy(dtype=object)
    beta_b = res["beta.outcome"].to_numpy(dtype=np.float64).copy()
    f_a = res["eaf.exposure"].to_numpy(dtype=np.float64)
    f_b = res["eaf.outcome"].to_numpy(dtype=np.float64).copy()

    def swap(mask):
        nonlocal b1, b2
        b1, b2 = np.where(mask, b2, b1), np.where(mask, b1, b2)
        beta_b[mask] *= -1
        f_b[mask] = 1 - f_b[mask]

    swap((a1 == b2) & (a2 == b1))
    status = (a1 == b1) & (a2 == b2)
    palindromic = _palindromic(a1, a2)
    i = ~palindromic & ~status
    b1 = np.where(i, _flip(b1), b1)
    b2 = np.where(i, _flip(b2), b2)
    swap((a1 == b2) & (a2 == b1))
    remove = ~((a1 == b1) & (a2 == b2))

    lo, hi = 0.5 - tolerance, 0.5 + tolerance
    ta = np.where(np.isnan(f_a), 0.5, f_a)
    tb = np.where(np.isnan(f_b), 0.5, f_b)
    ambiguous = (((ta > lo) & (ta < hi)) | ((tb > lo) & (tb < hi))) & palindromic
    if action == 2:
        status2 = ((ta < 0.5) & (tb > 0.5) | (ta > 0.5) & (tb < 0.5)) & palindromic
        to_swap = status2 & ~remove
        beta_b[to_swap] *= -1
        f_b[to_swap] = 1 - f_b[to_swap]

    harm = pd.DataFrame({
        "SNP": res["SNP"].to_numpy(),
        "effect_allele.exposure": a1, "other_allele.exposure": a2,
        "effect_allele.outcome": b1, "other_allele.outcome": b2,
        "beta.exposure": res["beta.exposure"].to_numpy(dtype=np.float64), "beta.outcome": beta_b,
        "eaf.exposure": f_a, "eaf.outcome": f_b,
        "remove": remove, "palindromic": palindromic, "ambiguous": ambiguous,
    })
    rest = [c for c in res.columns if c not in harm.columns and c != "SNP_index"]
    out_df = pd.concat([harm, res[rest].reset_index(drop=True)], axis=1)
    out_df["action"] = action
    out_df["SNP_index"] = res["SNP_index"].to_numpy()

    reason = np.full(len(out_df), "", dtype=object)
    invalid = invalid_reasons(out_df)
    if action == 3:
        reason[palindromic] = "palindromic (action = 3)"
    elif action == 2:
        reason[ambiguous] = "palindromic with intermediate allele frequency"
    reason[remove] = "incompatible alleles"
    fill = (invalid != "") & (reason == "")
    reason[fill] = invalid[fill]
    out_df["mr_keep"] = reason == ""
    out_df["mr_keep_reason"] = reason
    out_df = out_df.sort_values(["SNP", "id.exposure", "id.outcome"], kind="mergesort")
    return out_df.reset_index(drop=True)
