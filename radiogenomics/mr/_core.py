"""Shared core of the MR module: column names and the two weighted regressions.

Column conventions
------------------
Functions accept TwoSampleMR's dotted names (``beta.exposure``, ``se.outcome``,
``effect_allele.exposure``, ``eaf.outcome``, ``id.exposure``, ``mr_keep``) and the snake_case
equivalents (``beta_exposure`` ...).  :func:`normalise_columns` maps either to the dotted form,
which is what every function of :mod:`radiogenomics.mr` returns (so tables line up with what
TwoSampleMR users know).

Regressions
-----------
With ``bx``, ``by`` the SNP-exposure and SNP-outcome effects and ``sy`` the outcome SEs
(first-order weights ``w = 1 / sy^2``):

* IVW (TwoSampleMR ``mr_ivw``): weighted regression of ``by`` on ``bx`` through the origin,
  ``b = sum(w bx by) / sum(w bx^2)``; fixed-effect SE ``1 / sqrt(sum(w bx^2))``; residual
  standard error ``sigma = sqrt(Q / (n - 1))`` with Cochran's ``Q = sum(w (by - b bx)^2)``;
  multiplicative random effects SE ``se_fixed * max(1, sigma)`` (TwoSampleMR divides the lm SE
  by ``min(1, sigma)``, the same thing).
* MR-Egger (TwoSampleMR ``mr_egger_regression``): SNPs oriented so that ``bx > 0`` (``by`` sign
  flipped with it), weighted regression of ``by`` on ``bx`` with intercept; SEs of slope and
  intercept from the lm divided by ``min(1, sigma)``; Rucker's ``Q' = sum(w residual^2)`` on
  n - 2 degrees of freedom.
"""

from __future__ import annotations

from dataclasses import dataclass

import warnings

import numpy as np
import pandas as pd

from .._checks import InputError, check_columns, listing

__all__ = ["normalise_columns", "prepare_harmonised", "spellings", "DOTTED", "ivw_fit", "egger_fit",
           "RegressionFit", "coerce_numeric", "invalid_reasons"]

#: text read as a missing value in a numeric MR column (R's NA, empty cells, ...)
NA_TEXT = {"", "NA", "NAN", "NULL", "NONE", "N/A", ".", "-"}

#: the columns every MR computation needs
NEEDED = ("beta.exposure", "beta.outcome", "se.exposure", "se.outcome")

#: snake_case -> TwoSampleMR dotted names
DOTTED = {}
for _side in ("exposure", "outcome"):
    for _f in ("beta", "se", "pval", "eaf", "effect_allele", "other_allele", "samplesize", "id",
               "ncase", "ncontrol", "units"):
        DOTTED[f"{_f}_{_side}"] = f"{_f}.{_side}"


def normalise_columns(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with snake_case MR columns renamed to TwoSampleMR's dotted names.

    Refuses a frame that has both spellings of the same column.
    """
    both = [c for c in DOTTED if c in df.columns and DOTTED[c] in df.columns]
    if both:
        raise InputError(f"columns given twice, as {both[0]!r} and {DOTTED[both[0]]!r}; keep one")
    return df.rename(columns={c: d for c, d in DOTTED.items() if c in df.columns})


def spellings(columns) -> str:
    """The fix for a missing MR column: the accepted spellings of each (dotted and snake_case)."""
    undotted = {d: c for c, d in DOTTED.items()}
    alts = [f"{c!r} or {undotted[c]!r}" if c in undotted else repr(c) for c in columns]
    return ("give " + ", ".join(alts) + " (TwoSampleMR's dotted names or snake_case); run "
            "harmonise() on the exposure and outcome tables first")


def _as_bool(col: pd.Series, name: str) -> np.ndarray:
    """A logical column as booleans: True/False, 1/0 or the strings TRUE/FALSE (R exports);
    missing values count as False (not kept)."""
    if col.dtype == bool:
        return col.to_numpy()
    text = col.astype("string").str.strip().str.upper()
    known = text.isin(["TRUE", "FALSE", "1", "0", "1.0", "0.0", "T", "F"]) | col.isna()
    if not known.all():
        raise InputError(f"{name} must be logical (True/False, or TRUE/FALSE text); found "
                         f"{col[~known].unique()[:3].tolist()}")
    return text.isin(["TRUE", "1", "1.0", "T"]).fillna(False).to_numpy(dtype=bool)


def coerce_numeric(df: pd.DataFrame, columns, what: str = "dat") -> pd.DataFrame:
    """``df`` with the numeric MR ``columns`` as float: R's ``NA`` and empty text become NaN;
    any other text raises :class:`InputError` naming the column, the SNPs and the values."""
    df = df.copy()
    for c in columns:
        if c not in df.columns or pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]):
            continue
        col = df[c]
        text = col.astype("string").str.strip()
        na = col.isna() | text.str.upper().isin(NA_TEXT).fillna(True)
        parsed = pd.to_numeric(text.where(~na), errors="coerce")
        bad = parsed.isna() & ~na
        if bad.any():
            snps = df.loc[bad, "SNP"] if "SNP" in df.columns else df.index[bad]
            raise InputError(
                f"{what} column {c!r} holds text that is not a number for SNP(s) "
                f"{listing(snps, 5)} (values {listing(col[bad].unique(), 3)}); give numbers, or "
                "NA for a missing value (that SNP is then excluded, mr_keep = False)")
        df[c] = parsed.astype(float)
    return df


def invalid_reasons(d: pd.DataFrame) -> np.ndarray:
    """Per row, why its effects cannot enter an MR estimate ("" when they can): a missing or
    non-finite beta, a missing se, or se <= 0 / infinite (TwoSampleMR sets ``mr_keep`` FALSE
    for missing beta/se; a zero or negative SE would give an infinite weight)."""
    reason = np.full(len(d), "", dtype=object)
    for side in ("outcome", "exposure"):
        se = d[f"se.{side}"].to_numpy(dtype=np.float64)
        beta = d[f"beta.{side}"].to_numpy(dtype=np.float64)
        bad_se = ~(np.isfinite(se) & (se > 0))
        reason[bad_se & np.isnan(se)] = f"missing se.{side}"
        reason[bad_se & ~np.isnan(se)] = f"se.{side} <= 0 or infinite"
        with np.errstate(over="ignore", divide="ignore"):
            tiny = ~bad_se & ~np.isfinite(1.0 / se**2)
        reason[tiny] = f"se.{side} too small (1/se^2 overflows)"
        reason[np.isnan(beta)] = f"missing beta.{side}"
        reason[~np.isnan(beta) & ~np.isfinite(beta)] = f"infinite beta.{side}"
    return reason


def prepare_harmonised(dat: pd.DataFrame, extra=(), mr_keep_only: bool = True) -> pd.DataFrame:
    """Normalised copy restricted to ``mr_keep`` rows, with identifier columns filled in.

    Refuses a non-DataFrame or missing columns with a message naming them and the fix.
    """
    if not isinstance(dat, pd.DataFrame):
        raise TypeError(f"dat must be a pandas DataFrame of harmonised SNPs, got {type(dat).__name__}")
    d = normalise_columns(dat)
    check_columns(d, (*NEEDED, *extra), "dat", hint=spellings((*NEEDED, *extra)))
    d = coerce_numeric(d, (*NEEDED, "eaf.exposure", "eaf.outcome"))
    reason = invalid_reasons(d)
    keep = (_as_bool(d["mr_keep"], "mr_keep") if "mr_keep" in d.columns
            else np.ones(len(d), bool))
    unusable = keep & (reason != "")
    if unusable.any():
        snps = d["SNP"].to_numpy()[unusable] if "SNP" in d.columns else np.flatnonzero(unusable)
        detail = "; ".join(f"{s}: {r}" for s, r in list(zip(snps, reason[unusable]))[:5])
        warnings.warn(
            f"{int(unusable.sum())} SNP(s) cannot enter an MR estimate and are excluded "
            f"({detail}{' ...' if unusable.sum() > 5 else ''}); harmonise() marks such SNPs "
            "mr_keep = False with the reason in mr_keep_reason", UserWarning, stacklevel=3)
    d = d.copy()
    d["mr_keep"] = keep & (reason == "")
    if mr_keep_only:
        d = d[d["mr_keep"].to_numpy()]
    d = d.copy()
    if "id.exposure" not in d.columns:
        d["id.exposure"] = d["exposure"] if "exposure" in d.columns else "exposure"
    if "id.outcome" not in d.columns:
        d["id.outcome"] = d["outcome"] if "outcome" in d.columns else "outcome"
    if "exposure" not in d.columns:
        d["exposure"] = d["id.exposure"]
    if "outcome" not in d.columns:
        d["outcome"] = d["id.outcome"]
    if "SNP" not in d.columns:
        d["SNP"] = [f"snp{i + 1}" for i in range(len(d))]
    return d


@dataclass
class RegressionFit:
    """Result of :func:`ivw_fit` / :func:`egger_fit` (intercept fields NaN for IVW)."""

    b: float
    se: float              # random-effects (multiplicative) SE
    se_fixed: float
    sigma: float           # residual standard error of the weighted regression
    q: float               # Cochran's Q (IVW) or Rucker's Q' (Egger)
    q_df: int
    nsnp: int
    intercept: float = np.nan
    intercept_se: float = np.nan


def chrom_order(chrom) -> np.ndarray:
    """Sort codes of chromosome names in PLINK's order: 1..22 numerically, then X, Y, XY, MT,
    then any others by name (a ``chr`` prefix, any case, is ignored)."""
    special = {"X": 23, "Y": 24, "XY": 25, "MT": 26, "M": 26}
    names = [str(c).upper().removeprefix("CHR") for c in chrom]
    others = sorted({c for c in names if not c.isdigit() and c not in special})
    return np.array([int(c) if c.isdigit() else special.get(c, 100 + others.index(c) if c in others else 0)
                     for c in names])


def weighted_lm(X, y, w):
    """``lm(y ~ 0 + X, weights = w)`` by the normal equations: ``(coef, cov_unscaled, q)`` with
    ``cov_unscaled = (X'WX)^-1`` (lm's covariance is ``q / (n - p)`` times it) and the weighted
    residual sum of squares ``q`` (Cochran's Q / Rucker's Q' when ``w = 1/sy^2``)."""
    XtW = X.T * w
    XtWX = XtW @ X
    coef = np.linalg.solve(XtWX, XtW @ y)
    resid = y - X @ coef
    return coef, np.linalg.inv(XtWX), float(np.sum(w * resid**2))


def ivw_fit(bx, by, sy) -> RegressionFit:
    """Inverse-variance weighted estimate (first-order weights); see the module docstring."""
    bx, by, sy = (np.asarray(v, dtype=np.float64) for v in (bx, by, sy))
    n = bx.size
    w = 1.0 / sy**2
    sxx = np.sum(w * bx * bx)
    b = np.sum(w * bx * by) / sxx
    se_fixed = 1.0 / np.sqrt(sxx)
    q = float(np.sum(w * (by - b * bx) ** 2))
    sigma = np.sqrt(q / (n - 1)) if n > 1 else np.nan
    se = se_fixed * max(1.0, sigma) if n > 1 else se_fixed
    return RegressionFit(b=float(b), se=float(se), se_fixed=float(se_fixed), sigma=float(sigma),
                         q=q, q_df=n - 1, nsnp=n)


def egger_fit(bx, by, sy) -> RegressionFit:
    """MR-Egger regression (SNPs oriented to positive ``bx``); see the module docstring."""
    bx, by, sy = (np.asarray(v, dtype=np.float64) for v in (bx, by, sy))
    n = bx.size
    if n < 3:
        raise InputError(f"MR-Egger needs at least 3 SNPs, got {n}")
    s = np.sign(bx)
    s[s == 0] = 1.0
    bx, by = bx * s, by * s
    w = 1.0 / sy**2
    coef, cov_fixed, q = weighted_lm(np.column_stack([np.ones(n), bx]), by, w)
    sigma = np.sqrt(q / (n - 2))             # lm's covariance is sigma^2 * cov_fixed
    se_lm = np.sqrt(np.diag(cov_fixed)) * sigma
    se = se_lm / min(1.0, sigma)
    return RegressionFit(b=float(coef[1]), se=float(se[1]), se_fixed=float(np.sqrt(cov_fixed[1, 1])),
                         sigma=float(sigma), q=q, q_df=n - 2, nsnp=n, intercept=float(coef[0]),
                         intercept_se=float(se[0]))
