"""The one input-validation layer every public entry point uses.

Each check raises :class:`InputError` (a ``ValueError``) whose message names the offending
column, sample or SNP and says how to fix it, in the same words :class:`~radiogenomics.Cohort`
uses.  Modules call these helpers instead of writing their own copy, so a frame with text in a
numeric column, NaN/inf, duplicated IDs or misaligned indexes gets the same quality of
message wherever it enters the toolkit.

Every error the toolkit raises on purpose derives from :class:`RadiogenomicsError`; the
property-based tests (``tests/test_input_hypothesis.py``) assert that random bad input into a
public entry point gives either a result or that error type, never a raw numpy/pandas
exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "RadiogenomicsError",
    "InputError",
    "listing",
    "check_unique",
    "by_sample_id",
    "text_among_numbers",
    "numeric_frame",
    "nonfinite_message",
    "check_finite",
    "as_matrix",
    "as_vector",
    "align_samples",
    "check_columns",
    "check_rng",
    "check_n_samples",
    "group_labels",
]

_MAX_LISTED = 10


class RadiogenomicsError(ValueError):
    """Base class of every error the toolkit raises on purpose (a ``ValueError``)."""


class InputError(RadiogenomicsError):
    """Input data fail validation; the message names the problem and the fix.

    ``radiogenomics.CohortValidationError`` is the same class (kept under its first name).
    """


def listing(ids: Iterable[Any], limit: int = _MAX_LISTED) -> str:
    """``'a', 'b', 'c' ... and 7 more``: a short list of IDs for an error message."""
    ids = [str(i) for i in ids]
    head = ", ".join(repr(i) for i in ids[:limit])
    more = f" ... and {len(ids) - limit} more" if len(ids) > limit else ""
    return f"{head}{more}"


def check_unique(index: pd.Index, what: str, axis: str) -> None:
    """Refuse missing or duplicated IDs on one axis (``axis`` is "sample" or "feature")."""
    if index.hasnans:
        raise InputError(
            f"{what} has missing {axis} IDs (NaN in the index); give every {axis} an ID"
        )
    dup = index[index.duplicated()].unique()
    if len(dup):
        fix = (
            "de-duplicate them, or aggregate repeated measurements first "
            "(e.g. df.groupby(level=0).mean())"
            if axis == "sample"
            else "rename them so each feature ID is unique (e.g. prefix by source)"
        )
        raise InputError(f"{what} has {len(dup)} duplicated {axis} ID(s): {listing(dup)}; {fix}")


def by_sample_id(obj, what: str):
    """A copy of a frame/series with string sample IDs as index, refused if IDs repeat."""
    if isinstance(obj.index, pd.MultiIndex) or (
        isinstance(obj, pd.DataFrame) and isinstance(obj.columns, pd.MultiIndex)
    ):
        raise InputError(
            f"{what} has a MultiIndex; flatten it first (one sample ID per row, one name per column)"
        )
    if obj.index.hasnans:
        raise InputError(
            f"{what} has {int(obj.index.isna().sum())} missing sample ID(s) (NaN/None in the "
            "index); give every sample an ID or remove those rows"
        )
    obj = obj.copy()
    obj.index = pd.Index(obj.index.astype(str), name="sample_id")
    check_unique(obj.index, what, "sample")
    return obj


def text_among_numbers(col: pd.Series) -> tuple[float, list[str]]:
    """Share of a text column's values that parse as numbers, and the distinct ones that don't."""
    parsed = pd.to_numeric(col, errors="coerce")
    stray = col[parsed.isna() & col.notna()].astype(str).unique().tolist()
    return float(parsed.notna().mean()), stray


def numeric_frame(df: pd.DataFrame, what: str, *, string_ids: bool = True) -> pd.DataFrame:
    """Validate a samples x features frame of numbers; return it with float/numeric columns.

    Refuses an empty frame, a MultiIndex, missing or duplicated sample/feature IDs, complex
    columns, numbers stored as text (naming the column and the stray values) and other
    non-numeric columns.  Bool and nullable-integer columns become float (NA -> NaN).  With
    ``string_ids`` the sample IDs become strings (as in a Cohort).  NaN/inf are *not* checked
    here (see :func:`check_finite`): some methods model missing values.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise InputError(
            f"{what} is empty ({df.shape[0]} samples x {df.shape[1]} features); supply data"
        )
    if string_ids:
        df = by_sample_id(df, what)
    else:
        if isinstance(df.index, pd.MultiIndex) or isinstance(df.columns, pd.MultiIndex):
            raise InputError(f"{what} has a MultiIndex; flatten it first")
        check_unique(df.index, what, "sample")
    df = df.copy()
    df.columns = pd.Index(df.columns.astype(str), name=df.columns.name)
    check_unique(df.columns, what, "feature")
    if all(isinstance(dt, np.dtype) and dt.kind in "iuf" for dt in pd.unique(df.dtypes)):
        return df  # plain numeric columns: nothing to convert (fast for 20,000 genes)
    cplx = [c for c, dt in df.dtypes.items() if pd.api.types.is_complex_dtype(dt)]
    if cplx:
        raise InputError(
            f"{what} has complex-valued column(s) {listing(cplx)}; use real numbers (e.g. the magnitude)"
        )
    for c, dt in list(df.dtypes.items()):
        # an object column holding only numbers (e.g. after a concat) is numeric, not text
        if dt == object and not df[c].map(lambda v: isinstance(v, (str, bytes))).any():
            conv = pd.to_numeric(df[c], errors="coerce")
            if conv.notna().sum() == df[c].notna().sum():
                df[c] = conv
    bad = [c for c, dt in df.dtypes.items()
           if not pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_timedelta64_dtype(dt)]
    texty = {}
    for c in bad:
        share, stray = text_among_numbers(df[c].astype(object))
        if share >= 0.5:
            texty[c] = stray[:3]
    if texty:
        detail = "; ".join(f"{c!r} (e.g. {v})" if v else repr(c) for c, v in list(texty.items())[:5])
        raise InputError(
            f"{what} has number(s) stored as text in {len(texty)} column(s): {detail}; "
            "convert with pd.to_numeric(df[col], errors='coerce') (non-numbers become NaN, then "
            "impute or drop them)"
        )
    if bad:
        raise InputError(
            f"{what} has {len(bad)} non-numeric column(s): {listing(bad)}; this input holds "
            "numbers only: move labels such as sex or centre to the covariates/centre, or encode "
            "them numerically"
        )
    conv = {c: "float64" for c, dt in df.dtypes.items()
            if pd.api.types.is_bool_dtype(dt) or pd.api.types.is_extension_array_dtype(dt)}
    if conv:
        df = df.astype(conv)
    return df


def nonfinite_message(values: np.ndarray, rows: Sequence, cols: Sequence, what: str) -> str | None:
    """The message describing NaN/inf cells of ``values`` (None when all are finite)."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return None
    n_nan = int(np.isnan(values).sum())
    n_inf = int(bad.sum()) - n_nan
    r = np.asarray(rows, dtype=object)[bad.any(axis=1)] if values.ndim == 2 else np.asarray(rows, dtype=object)[bad]
    parts = f"{n_nan} NaN and {n_inf} infinite value(s) in {len(r)} sample(s) ({listing(r)})"
    if values.ndim == 2:
        c = np.asarray(cols, dtype=object)[bad.any(axis=0)]
        parts += f" and {len(c)} feature(s) ({listing(c)})"
    return f"{what} has {parts}"


def check_finite(values: np.ndarray, rows: Sequence, cols: Sequence, what: str,
                 fix: str = "impute or drop them first (e.g. Cohort nan_policy)") -> None:
    """Refuse NaN/inf, naming the samples and features that hold them and ``fix``."""
    msg = nonfinite_message(np.asarray(values, dtype=np.float64), rows, cols, what)
    if msg:
        raise InputError(f"{msg}; {fix}")


def as_matrix(X, what: str, *, allow_nan: bool = False, min_rows: int = 1,
              nan_fix: str = "impute or drop them first (e.g. Cohort nan_policy)",
              ) -> tuple[np.ndarray, pd.Index | None, np.ndarray]:
    """A validated float64 ``(n, p)`` array from a DataFrame, Series or array-like.

    Returns the array, the sample index (None for plain arrays) and the feature names
    (``x0, x1, ...`` for arrays).  Text, complex, ragged or >2-D input, duplicated IDs,
    NaN/inf (unless ``allow_nan``; inf is always refused) and fewer than ``min_rows`` samples
    raise :class:`InputError` naming the problem.
    """
    index = None
    if isinstance(X, pd.Series):
        X = X.to_frame()
    if isinstance(X, pd.DataFrame):
        df = numeric_frame(X, what, string_ids=False)
        index = df.index
        names = np.asarray(df.columns)
        arr = df.to_numpy(dtype=np.float64)
    else:
        try:
            arr = np.asarray(X)
        except (ValueError, TypeError) as exc:
            raise InputError(f"{what} is not a rectangular array ({exc}); pass a 2-D array or DataFrame") from None
        if arr.dtype.kind == "c":
            raise InputError(f"{what} is complex-valued; use real numbers (e.g. the magnitude)")
        if arr.dtype.kind not in "biuf":
            try:
                arr = arr.astype(np.float64)
            except (ValueError, TypeError):
                raise InputError(
                    f"{what} holds non-numeric values (dtype {arr.dtype}); convert them with "
                    "pd.to_numeric or pass numbers only") from None
        arr = np.asarray(arr, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise InputError(f"{what} must be 2-D (samples x features), got shape {arr.shape}")
        names = np.array([f"x{j}" for j in range(arr.shape[1])], dtype=object)
    if arr.shape[0] < min_rows or arr.shape[1] == 0:
        raise InputError(
            f"{what} has {arr.shape[0]} sample(s) x {arr.shape[1]} feature(s); at least "
            f"{min_rows} sample(s) and one feature are needed")
    rows = index if index is not None else np.arange(arr.shape[0])
    if allow_nan:
        inf = np.isinf(arr)
        if inf.any():
            check_finite(np.where(inf, np.inf, 0.0), rows, names, what,
                         "replace infinite values (np.inf) by finite values or NaN")
    else:
        check_finite(arr, rows, names, what, nan_fix)
    return arr, index, names


def as_vector(y, what: str, *, allow_nan: bool = False) -> tuple[np.ndarray, pd.Index | None]:
    """A validated float64 1-D array (and its index for a Series / one-column frame)."""
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise InputError(f"{what} must be one column, got {y.shape[1]}")
        y = y.iloc[:, 0]
    arr, index, _ = as_matrix(pd.Series(y).to_frame() if isinstance(y, pd.Series) else y,
                              what, allow_nan=allow_nan)
    if arr.shape[1] != 1:
        raise InputError(f"{what} must be 1-D, got shape {arr.shape}")
    return arr[:, 0], index


def align_samples(frames: Mapping[str, Any], *, reorder: bool = True,
                  fix: str = "pair them first (Cohort.paired, or .loc on the common IDs)"
                  ) -> dict[str, Any]:
    """Check that the indexed inputs in ``frames`` carry the same sample IDs; align their rows.

    Frames without an index (arrays) are only checked for their row count.  Differing ID sets
    raise :class:`InputError` naming how many and which samples are only in one input, with the
    fix (``fix``; by default: pair them with ``Cohort.paired`` or ``.loc``).  With ``reorder``
    every indexed input is put in the row order of the first one.
    """
    items = list(frames.items())
    indexed = [(k, v) for k, v in items if isinstance(v, (pd.DataFrame, pd.Series))]
    lengths = {k: (len(v) if hasattr(v, "__len__") else None) for k, v in items}
    out = dict(frames)
    if indexed:
        ref_name, ref = indexed[0]
        for name, obj in indexed[1:]:
            if obj.index.equals(ref.index):
                continue
            only_a = ref.index.difference(obj.index)
            only_b = obj.index.difference(ref.index)
            if len(only_a) or len(only_b) or len(obj) != len(ref):
                raise InputError(
                    f"{ref_name} and {name} have different sample IDs ({len(only_a)} only in "
                    f"{ref_name}, e.g. {listing(only_a, 3)}; {len(only_b)} only in {name}, e.g. "
                    f"{listing(only_b, 3)}); {fix}")
            if reorder:
                out[name] = obj.loc[ref.index]
    sizes = {k: n for k, n in lengths.items() if n is not None}
    if len(set(sizes.values())) > 1:
        detail = ", ".join(f"{k}: {n}" for k, n in sizes.items())
        raise InputError(f"inputs have different numbers of samples ({detail}); pass one row per "
                         "sample in each, in the same order (or DataFrames indexed by sample ID)")
    return out


def check_columns(df: pd.DataFrame, required: Iterable[str], what: str,
                  hint: str = "") -> None:
    """Refuse a frame that lacks ``required`` columns, naming them and the columns it has."""
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(
            f"{what} lacks column(s) {listing(missing)} (it has {listing(df.columns, 8)})"
            + (f"; {hint}" if hint else ""))


def check_n_samples(n: int, needed: int, method: str, fix: str = "") -> None:
    """Refuse ``n`` below what ``method`` needs, saying why and what to do."""
    if n < needed:
        raise InputError(f"{method} needs at least {needed} samples, got {n}" + (f"; {fix}" if fix else ""))


def check_rng(rng=None) -> np.random.Generator:
    """A ``numpy.random.Generator`` from ``rng`` (Scientific Python SPEC 7).

    Accepts ``None`` (fresh OS entropy), a non-negative int, a ``SeedSequence``, a
    ``BitGenerator`` (wrapped, sharing its state) or a ``Generator`` (used as is, and advanced).
    The legacy ``RandomState`` is refused because it cannot promise the same stream as the
    rest of the toolkit.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, np.random.BitGenerator):
        return np.random.Generator(rng)
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError(f"rng must be None, an int seed, a SeedSequence, a BitGenerator or a "
                        f"numpy.random.Generator, got {rng!r}")
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        if isinstance(rng, (int, np.integer)) and rng < 0:
            raise ValueError(f"rng seed must be non-negative, got {rng}")
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.RandomState):
        raise TypeError("rng must be an int or numpy.random.Generator (SPEC 7), not the legacy "
                        "RandomState; use numpy.random.default_rng(seed)")
    raise TypeError(f"rng must be None, an int, a SeedSequence, a BitGenerator or a "
                    f"numpy.random.Generator, got {type(rng).__name__}")


def group_labels(values, n: int, index, what: str) -> np.ndarray:
    """Group labels as strings, one per subject (a Series is matched to ``index`` by ID)."""
    if isinstance(values, pd.Series) and index is not None:
        missing = pd.Index(index).difference(values.index)
        if len(missing):
            raise InputError(f"{what} has no label for sample(s) {listing(missing)}; give one "
                             "label per subject of the outcome")
        values = values.reindex(index)
    arr = np.asarray(values, dtype=object).ravel()
    if arr.size != n:
        raise InputError(f"{what} has {arr.size} labels for {n} subjects; give one per subject, "
                         "in the outcome's order (or a Series indexed by sample ID)")
    bad = pd.isna(arr)
    if bad.any():
        raise InputError(f"{what} is missing for {int(bad.sum())} subject(s) (rows "
                         f"{listing(np.flatnonzero(bad))}); give every subject a label")
    return arr.astype(str)
