"""The :class:`Cohort`: named data views aligned by sample ID, with every drop reported.

A radiogenomic cohort is almost never fully paired: some patients have imaging but no
RNA-seq, some have genotypes only, centres differ in what they collected.  A
:class:`Cohort` therefore keeps each *view* (radiomic features, expression, genotypes,
imaging traits, ...) as its own :class:`pandas.DataFrame` indexed by sample ID, next to a
``covariates`` frame, a ``centre`` :class:`pandas.Series` and an optional ``outcomes``
frame that cover every sample.

Validation happens once, at construction, and is strict by default: duplicated sample or
feature IDs, non-numeric columns, non-finite values, constant features and samples without
covariates or centre raise :class:`CohortValidationError` with a message that names the
offending IDs and the fix.  The explicit policies (``nan_policy``, ``constant_policy``,
``missing_meta``) remove or impute instead, and every sample or feature touched is recorded
in :attr:`Cohort.report`.  :meth:`Cohort.paired` aligns views over their common samples and
records which samples were dropped from which view and why.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._checks import (InputError, by_sample_id, check_unique, listing, numeric_frame,
                      text_among_numbers)

__all__ = [
    "Cohort",
    "CohortValidationError",
    "PairedData",
    "ValidationReport",
    "CohortSummary",
    "read_table",
]

NAN_POLICIES = ("raise", "drop_samples", "drop_features", "impute_median", "keep")
CONSTANT_POLICIES = ("raise", "drop")
META_POLICIES = ("raise", "drop_samples")
_MAX_LISTED = 10


CohortValidationError = InputError  # the project's input error, under its first name
_listing = listing


# --------------------------------------------------------------------------- reports
@dataclass
class ValidationReport:
    """Everything validation removed or changed, one record per sample/feature and reason.

    Attributes
    ----------
    records : list of dict
        Keys ``view``, ``axis`` (``"sample"`` or ``"feature"``), ``id``, ``action``
        (``"dropped"`` or ``"imputed"``) and ``reason``.
    """

    records: list[dict[str, Any]] = field(default_factory=list)

    def add(self, view: str, axis: str, ids: Iterable[Any], action: str, reason: str) -> None:
        for i in ids:
            self.records.append(
                {"view": view, "axis": axis, "id": i, "action": action, "reason": reason}
            )

    def prepend(self, records: Iterable[dict[str, Any]]) -> None:
        """Put earlier records (e.g. of the cohort this one was derived from) first."""
        self.records[:0] = list(records)

    def to_frame(self) -> pd.DataFrame:
        """The records as a tidy DataFrame (empty with the right columns if nothing happened)."""
        return pd.DataFrame(self.records, columns=["view", "axis", "id", "action", "reason"])

    def __len__(self) -> int:
        return len(self.records)

    def __bool__(self) -> bool:  # an empty report is still a report
        return True

    def __repr__(self) -> str:
        if not self.records:
            return "ValidationReport(nothing removed or imputed)"
        df = self.to_frame()
        counts = df.groupby(["view", "axis", "action", "reason"]).size()
        lines = [f"ValidationReport({len(df)} records)"]
        for (view, axis, action, reason), k in counts.items():
            lines.append(f"  {view}: {k} {axis}(s) {action} - {reason}")
        return "\n".join(lines)


@dataclass
class PairedData:
    """Views aligned over the samples present in all of them.

    Attributes
    ----------
    views : dict of str -> DataFrame
        The requested views, restricted to :attr:`samples` in the same row order.
    samples : pandas.Index
        Sample IDs kept, in the order of the first requested view.
    covariates, centre, outcomes
        Metadata aligned to :attr:`samples` (``None`` where the cohort has none).
    dropped : DataFrame
        One row per (sample, view) removed, columns ``sample_id``, ``view`` (the view the
        sample was dropped from), ``reason``.
    imputed : dict of str -> DataFrame
        Per view, a boolean frame of the cells the Cohort imputed (see :meth:`imputed_mask`);
        NaN kept under ``nan_policy="keep"`` stay NaN in :attr:`views`.
    """

    views: dict[str, pd.DataFrame]
    samples: pd.Index
    covariates: pd.DataFrame | None
    centre: pd.Series | None
    outcomes: pd.DataFrame | None
    dropped: pd.DataFrame
    imputed: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __getitem__(self, view: str) -> pd.DataFrame:
        try:
            return self.views[view]
        except KeyError:
            raise KeyError(
                f"view {view!r} was not paired; paired views are {list(self.views)}"
            ) from None

    def imputed_mask(self, view: str) -> pd.DataFrame:
        """Boolean frame aligned to ``self[view]``: True where the Cohort imputed the value
        (``nan_policy="impute_median"``; see :meth:`Cohort.imputed_mask`)."""
        df = self[view]
        mask = self.imputed.get(view)
        if mask is None:
            return pd.DataFrame(False, index=df.index, columns=df.columns)
        return mask.reindex(index=df.index, columns=df.columns, fill_value=False).astype(bool)

    def __iter__(self):
        """Unpack the aligned frames in the requested order: ``X, Y = cohort.paired(a, b)``."""
        return iter(self.views.values())

    def __len__(self) -> int:
        return len(self.views)

    @property
    def n_samples(self) -> int:
        return len(self.samples)

    def to_numpy(self, view: str, dtype=np.float64) -> np.ndarray:
        """The aligned matrix of one view as a C-contiguous array."""
        return np.ascontiguousarray(self[view].to_numpy(dtype=dtype))

    def summary(self) -> pd.DataFrame:
        """Per view: samples before pairing, kept, dropped."""
        rows = []
        for name, df in self.views.items():
            n_drop = int((self.dropped["view"] == name).sum())
            rows.append(
                {
                    "view": name,
                    "n_features": df.shape[1],
                    "n_before": len(df) + n_drop,
                    "n_kept": len(df),
                    "n_dropped": n_drop,
                }
            )
        return pd.DataFrame(rows).set_index("view")

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {v.shape[0]}x{v.shape[1]}" for k, v in self.views.items())
        return (
            f"PairedData(n={self.n_samples}; {shapes}; "
            f"{len(self.dropped)} sample-view drops recorded in .dropped)"
        )


@dataclass
class CohortSummary:
    """Per-view, per-centre, overlap and missingness tables of a :class:`Cohort`."""

    views: pd.DataFrame
    centres: pd.DataFrame
    overlap: pd.DataFrame
    report: ValidationReport

    def to_frame(self) -> pd.DataFrame:
        """The per-view table."""
        return self.views

    def __repr__(self) -> str:
        parts = [
            "Cohort summary",
            "Views:",
            self.views.to_string(),
            "",
            "Samples per centre and view:",
            self.centres.to_string(),
            "",
            "Samples shared by each pair of views:",
            self.overlap.to_string(),
            "",
            repr(self.report),
        ]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return (
            "<h4>Views</h4>" + self.views.to_html()
            + "<h4>Samples per centre and view</h4>" + self.centres.to_html()
            + "<h4>Samples shared by each pair of views</h4>" + self.overlap.to_html()
            + "<h4>Validation</h4>" + self.report.to_frame().to_html(max_rows=20)
        )


# --------------------------------------------------------------------------- helpers
def table_format(path: str | Path) -> str:
    """The table format told by a file's suffix, compression suffixes aside: ``".csv"``,
    ``".tsv"``, ``".parquet"``, ... (``""`` without a suffix)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".xz", ".zip"):
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def read_table(path: str | Path, index_col: int | str = 0) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet file into a DataFrame indexed by its first (or named) column.

    The format follows the suffix: ``.csv`` (optionally ``.gz``), ``.tsv``/``.txt``,
    ``.parquet``/``.pq``.  Sample IDs are read as strings.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"cannot read {str(path)!r}: no such file")
    kind = table_format(path)
    if kind in (".parquet", ".pq"):
        df = pd.read_parquet(path)
        if isinstance(index_col, str) and index_col in df.columns:
            df = df.set_index(index_col)
        elif isinstance(index_col, int) and not isinstance(df.index, pd.RangeIndex):
            pass  # parquet written from an indexed frame keeps its index
        elif isinstance(index_col, int):
            df = df.set_index(df.columns[index_col])
    elif kind in (".csv", ".tsv", ".txt", ".tab"):
        sep = "," if kind == ".csv" else "\t"
        header = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str).iloc[0]
        names = header.iloc[1:] if index_col == 0 else header
        _check_unique(pd.Index(names.dropna()), f"file {str(path)!r}", "column")
        df = pd.read_csv(path, sep=sep, index_col=index_col, float_precision="round_trip",
                         dtype={0: str} if index_col == 0 else None)
    else:
        raise CohortValidationError(
            f"cannot tell the format of {str(path)!r}: use a .csv, .tsv or .parquet file "
            "(or read it yourself and pass a DataFrame)"
        )
    if df.index.hasnans:
        raise CohortValidationError(
            f"{str(path)!r} has rows without a sample ID (empty first column); give every row an ID"
        )
    df.index = df.index.astype(str)
    return df


def _as_frame(obj: Any, what: str) -> pd.DataFrame:
    if isinstance(obj, (str, Path)):
        return read_table(obj)
    if isinstance(obj, pd.Series):
        return obj.to_frame()
    if isinstance(obj, pd.DataFrame):
        return obj
    raise CohortValidationError(
        f"{what} must be a pandas DataFrame or a path to a CSV/TSV/Parquet file, "
        f"got {type(obj).__name__}"
    )


_check_unique = check_unique
_by_sample_id = by_sample_id
_text_among_numbers = text_among_numbers


def _policy(policy: str | Mapping[str, str], view: str, allowed: tuple[str, ...], name: str):
    value = policy.get(view, "raise") if isinstance(policy, Mapping) else policy
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed} (or a dict view -> policy), got {value!r}")
    return value


def _numeric_view(name: str, df: pd.DataFrame) -> pd.DataFrame:
    df = numeric_frame(df, f"view {name!r}")
    df.columns.name = "feature"
    return df


@contextlib.contextmanager
def _quiet_mudata(md):
    """Adopt mudata's future default (no pulling of modality obs on update) where supported.

    Views that share feature IDs (e.g. ``expression`` and ``expression_counts``) make the
    global ``var_names`` of a MuData non-unique; MuData allows this and every modality keeps
    its own names, so its warning about it is silenced here.
    """
    try:
        opts = md.set_options(pull_on_update=False)
    except (AttributeError, KeyError, ValueError, TypeError):  # option unknown in this version
        opts = contextlib.nullcontext()
    with opts, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="var_names are not unique", category=UserWarning)
        yield


# --------------------------------------------------------------------------- Cohort
class Cohort:
    """Named views of a radiogenomic cohort, aligned by sample ID and validated.

    Parameters
    ----------
    views : mapping of str -> DataFrame or path
        Numeric samples x features tables (e.g. ``"radiomics"``, ``"expression"``,
        ``"genotypes"``, ``"traits"``) indexed by sample ID.  Views may cover different
        samples.  Paths to CSV/TSV/Parquet files are read with :func:`read_table`.
    covariates : DataFrame or path, optional
        Per-sample covariates (numeric or categorical, e.g. age, sex).  When given, every
        sample of every view must have a row without missing values.
    centre : Series, str or path, optional
        Acquisition centre (site/scanner) of each sample.  A string that names a column of
        ``covariates`` moves that column here.  When given, every sample needs one.
    outcomes : DataFrame or path, optional
        Per-sample clinical outcomes (e.g. a binary event and a continuous score).  May be
        missing for some samples (NaN); their IDs must be cohort samples.
    nan_policy : {"raise", "drop_samples", "drop_features", "impute_median", "keep"} or dict
        What to do with NaN/inf in a view (one policy, or a dict view -> policy).  ``raise``
        (default) refuses; ``drop_samples``/``drop_features`` remove the affected samples or
        features; ``impute_median`` replaces non-finite values by the whole-cohort feature median
        (for exploration only: the imputed cells are marked, :meth:`imputed_mask`, and prediction
        refuses imputed *targets* - impute predictors inside CV folds instead); ``keep`` keeps
        scattered NaN as missing for methods that model it (MOFA+; inf is still refused: it is
        not a missing value).  Every change or kept cell is recorded in :attr:`report`.
    constant_policy : {"raise", "drop"} or dict
        Constant (zero-variance) features are refused by default; ``"drop"`` removes them
        and records them in :attr:`report`.
    missing_meta : {"raise", "drop_samples"}
        Samples lacking covariates or centre are refused by default; ``"drop_samples"``
        removes them from every view and records them.

    Attributes
    ----------
    views : dict of str -> DataFrame
        Validated views (float or integer dtype; index ``sample_id``).
    covariates, centre, outcomes
        Validated metadata, indexed by sample ID (``None`` if not given).
    report : ValidationReport
        Every sample or feature dropped or imputed during validation, with the reason.

    Examples
    --------
    >>> import pandas as pd
    >>> rad = pd.DataFrame({"f1": [1.0, 2.0, 3.0], "f2": [0.5, 0.1, 0.9]}, index=["a", "b", "c"])
    >>> expr = pd.DataFrame({"g1": [5.0, 6.0, 2.0]}, index=["b", "c", "d"])
    >>> cohort = Cohort({"radiomics": rad, "expression": expr})
    >>> cohort.paired("radiomics", "expression").n_samples
    2
    """

    def __init__(
        self,
        views: Mapping[str, pd.DataFrame | str | Path],
        covariates: pd.DataFrame | str | Path | None = None,
        centre: pd.Series | str | Path | None = None,
        outcomes: pd.DataFrame | str | Path | None = None,
        *,
        nan_policy: str | Mapping[str, str] = "raise",
        constant_policy: str | Mapping[str, str] = "raise",
        missing_meta: str = "raise",
    ) -> None:
        if not isinstance(views, Mapping) or len(views) == 0:
            raise CohortValidationError(
                "views must be a non-empty dict of name -> DataFrame, e.g. "
                "{'radiomics': df_rad, 'expression': df_expr}"
            )
        if missing_meta not in META_POLICIES:
            raise ValueError(f"missing_meta must be one of {META_POLICIES}, got {missing_meta!r}")
        self.report = ValidationReport()
        self._policies = {
            "nan_policy": nan_policy,
            "constant_policy": constant_policy,
            "missing_meta": missing_meta,
        }
        for name in views:
            if not isinstance(name, str) or not name:
                raise CohortValidationError(f"view names must be non-empty strings, got {name!r}")
        for arg, pol in (("nan_policy", nan_policy), ("constant_policy", constant_policy)):
            if isinstance(pol, Mapping):
                unknown = set(pol) - set(views)
                if unknown:
                    raise ValueError(f"{arg} names unknown view(s) {sorted(unknown)}; views are {list(views)}")

        self.views: dict[str, pd.DataFrame] = {}
        for name, obj in views.items():
            df = _numeric_view(name, _as_frame(obj, f"view {name!r}"))
            df = self._handle_nonfinite(name, df, _policy(nan_policy, name, NAN_POLICIES, "nan_policy"))
            df = self._handle_constant(
                name, df, _policy(constant_policy, name, CONSTANT_POLICIES, "constant_policy")
            )
            self.views[name] = df

        self.covariates = self._validate_covariates(covariates)
        if isinstance(centre, str) and self.covariates is not None and centre in self.covariates.columns:
            centre_series = self.covariates[centre]
            self.covariates = self.covariates.drop(columns=[centre])
            if self.covariates.shape[1] == 0:
                self.covariates = None
            centre = centre_series
        elif isinstance(centre, str) and not Path(centre).suffix:
            raise CohortValidationError(
                f"centre={centre!r} names no column of covariates; pass a Series of centres "
                "indexed by sample ID, or the name of a covariates column"
            )
        self.centre = self._validate_centre(centre)
        self.outcomes = self._validate_outcomes(outcomes)
        self._check_meta_coverage(missing_meta)

    # ------------------------------------------------------------------ validation
    def _handle_nonfinite(self, name: str, df: pd.DataFrame, policy: str) -> pd.DataFrame:
        values = df.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if not bad.any():
            return df
        n_nan = int(np.isnan(values).sum())
        n_inf = int(bad.sum()) - n_nan
        rows = df.index[bad.any(axis=1)]
        cols = df.columns[bad.any(axis=0)]
        if policy == "keep":
            if n_inf:
                inf = np.isinf(values)
                raise CohortValidationError(
                    f"view {name!r} has {n_inf} infinite value(s) in sample(s) "
                    f"{_listing(df.index[inf.any(axis=1)])} and feature(s) "
                    f"{_listing(df.columns[inf.any(axis=0)])}; nan_policy='keep' keeps NaN as "
                    "missing but inf is not a missing value: replace it by NaN or a finite value")
            nan = np.isnan(values)
            for j in np.flatnonzero(nan.any(axis=0)):
                self.report.records.append({
                    "view": name, "axis": "feature", "id": df.columns[j], "action": "kept",
                    "reason": f"{int(nan[:, j].sum())} missing value(s) kept as NaN "
                              "(nan_policy='keep')"})
            if nan.all(axis=0).any():
                raise CohortValidationError(
                    f"view {name!r}: feature(s) {_listing(df.columns[nan.all(axis=0)])} have no "
                    "observed value; drop them")
            return df
        if policy == "raise":
            raise CohortValidationError(
                f"view {name!r} has {n_nan} NaN and {n_inf} infinite value(s) in "
                f"{len(rows)} sample(s) ({_listing(rows)}) and {len(cols)} feature(s) "
                f"({_listing(cols)}); fix the data or choose nan_policy='drop_samples', "
                "'drop_features' or 'impute_median' (each change is recorded in cohort.report), "
                "or 'keep' for methods that model missing values (MOFA+)"
            )
        if policy == "drop_samples":
            self.report.add(name, "sample", rows, "dropped", "non-finite value(s) (nan_policy='drop_samples')")
            df = df.loc[~bad.any(axis=1)]
            if df.shape[0] == 0:
                raise CohortValidationError(
                    f"view {name!r}: nan_policy='drop_samples' removed every sample; "
                    "try 'drop_features' or 'impute_median'"
                )
            return df
        if policy == "drop_features":
            self.report.add(name, "feature", cols, "dropped", "non-finite value(s) (nan_policy='drop_features')")
            df = df.loc[:, ~bad.any(axis=0)]
            if df.shape[1] == 0:
                raise CohortValidationError(
                    f"view {name!r}: nan_policy='drop_features' removed every feature; "
                    "try 'drop_samples' or 'impute_median'"
                )
            return df
        # impute_median
        values = values.copy()
        values[bad] = np.nan
        with np.errstate(all="ignore"):
            med = np.nanmedian(values, axis=0)
        all_missing = df.columns[np.isnan(med)]
        if len(all_missing):
            raise CohortValidationError(
                f"view {name!r}: feature(s) {_listing(all_missing)} have no finite value to "
                "take a median from; drop them (nan_policy='drop_features')"
            )
        r, c = np.nonzero(bad)
        values[r, c] = med[c]
        for i, j in zip(r, c):
            self.report.records.append(
                {
                    "view": name,
                    "axis": "feature",
                    "id": df.columns[j],
                    "action": "imputed",
                    "reason": f"non-finite value for sample {df.index[i]!r} set to the feature median",
                }
            )
        return pd.DataFrame(values, index=df.index, columns=df.columns)

    def _handle_constant(self, name: str, df: pd.DataFrame, policy: str) -> pd.DataFrame:
        values = df.to_numpy(dtype=np.float64)
        if values.shape[0] < 2:
            const = np.ones(values.shape[1], dtype=bool)
        elif np.isnan(values).any():          # nan_policy="keep": constant over observed values
            with np.errstate(all="ignore"):
                const = ~(np.nanmax(values, axis=0) > np.nanmin(values, axis=0))
        else:
            const = np.all(values == values[0], axis=0)
        if not const.any():
            return df
        cols = df.columns[const]
        if policy == "raise":
            raise CohortValidationError(
                f"view {name!r} has {len(cols)} constant feature(s) (zero variance over "
                f"{values.shape[0]} samples): {_listing(cols)}; remove them or pass "
                "constant_policy='drop' (each is recorded in cohort.report)"
            )
        self.report.add(name, "feature", cols, "dropped", "constant (zero variance)")
        df = df.loc[:, ~const]
        if df.shape[1] == 0:
            raise CohortValidationError(f"view {name!r}: every feature is constant")
        return df

    def _validate_covariates(self, covariates) -> pd.DataFrame | None:
        if covariates is None:
            return None
        cov = _by_sample_id(_as_frame(covariates, "covariates"), "covariates")
        _check_unique(pd.Index(cov.columns.astype(str)), "covariates", "column")
        cov.columns = cov.columns.astype(str)
        for c in cov.columns:
            if cov[c].dtype == object:
                share, stray = _text_among_numbers(cov[c])
                if share >= 0.8 and stray:
                    raise CohortValidationError(
                        f"covariate {c!r} is numeric except for {_listing(stray, 3)}; as text it "
                        "would be dummy coded into one column per value. Convert it with "
                        f"pd.to_numeric(cov[{c!r}], errors='coerce') and handle the missing values"
                    )
            if pd.api.types.is_numeric_dtype(cov[c]):
                v = cov[c].to_numpy(dtype=np.float64, na_value=np.nan)
                if np.isinf(v).any():
                    raise CohortValidationError(
                        f"covariate {c!r} has infinite values for sample(s) "
                        f"{_listing(cov.index[np.isinf(v)])}; fix or remove them"
                    )
        return cov

    def _validate_centre(self, centre) -> pd.Series | None:
        if centre is None:
            return None
        if isinstance(centre, (str, Path)):
            df = read_table(centre)
            if df.shape[1] != 1:
                raise CohortValidationError(
                    f"centre file {str(centre)!r} must have one column besides the sample ID, "
                    f"found {df.shape[1]}"
                )
            centre = df.iloc[:, 0]
        if isinstance(centre, pd.DataFrame):
            if centre.shape[1] != 1:
                raise CohortValidationError("centre must be a Series (or a one-column DataFrame)")
            centre = centre.iloc[:, 0]
        if not isinstance(centre, pd.Series):
            raise CohortValidationError(
                "centre must be a pandas Series indexed by sample ID, a covariates column name "
                f"or a file path; got {type(centre).__name__}"
            )
        centre = _by_sample_id(centre, "centre").rename("centre")
        # samples without a centre are left out here and reported by _check_meta_coverage
        centre = centre.loc[centre.notna().to_numpy()]
        if pd.api.types.is_float_dtype(centre) and np.all(np.mod(centre.to_numpy(), 1) == 0):
            centre = centre.astype(np.int64)  # codes read as float because of a missing value
        return centre.map(str).astype("category")

    def _validate_outcomes(self, outcomes) -> pd.DataFrame | None:
        if outcomes is None:
            return None
        out = _by_sample_id(_as_frame(outcomes, "outcomes"), "outcomes")
        return self._restrict_to_samples(out, "outcomes")

    def _restrict_to_samples(self, meta, what: str):
        """Keep metadata rows of cohort samples; record the others (IDs in no view)."""
        samples = self.samples
        extra = meta.index[~meta.index.isin(samples)]
        if len(extra) == len(meta.index) and len(meta.index):
            raise CohortValidationError(
                f"none of the {len(meta.index)} sample IDs of {what} (e.g. {meta.index[0]!r}) is "
                f"in any view (e.g. {samples[0]!r}); check the IDs use the same format "
                "(case, zero padding, prefixes)"
            )
        if len(extra):
            self.report.add(what, "sample", extra, "dropped", "sample ID in no view")
            meta = meta.loc[meta.index.isin(samples)]
        return meta

    def _check_meta_coverage(self, policy: str) -> None:
        self.covariates = None if self.covariates is None else self._restrict_to_samples(self.covariates, "covariates")
        self.centre = None if self.centre is None else self._restrict_to_samples(self.centre, "centre")
        samples = self.samples
        problems: dict[str, list[str]] = {}
        if self.covariates is not None:
            absent = samples.difference(self.covariates.index)
            if len(absent):
                problems.setdefault("no covariates row", []).extend(absent)
            present = self.covariates.reindex(samples.intersection(self.covariates.index))
            na = present.index[present.isna().any(axis=1).to_numpy()]
            if len(na):
                problems.setdefault("missing covariate value(s)", []).extend(na)
        if self.centre is not None:
            absent = samples.difference(self.centre.index)
            if len(absent):
                problems.setdefault("no centre", []).extend(absent)
        if not problems:
            return
        if policy == "raise":
            msg = "; ".join(
                f"{len(ids)} sample(s) with {why}: {_listing(ids)}" for why, ids in problems.items()
            )
            raise CohortValidationError(
                f"metadata do not cover every sample: {msg}. Supply them, or pass "
                "missing_meta='drop_samples' to remove those samples (recorded in cohort.report)"
            )
        drop: set[str] = set()
        for why, ids in problems.items():
            drop.update(ids)
            for name, df in self.views.items():
                hit = df.index.intersection(pd.Index(ids))
                self.report.add(name, "sample", hit, "dropped", f"{why} (missing_meta='drop_samples')")
        for name in list(self.views):
            kept = self.views[name].loc[~self.views[name].index.isin(drop)]
            if kept.shape[0] == 0:
                raise CohortValidationError(
                    f"view {name!r} has no sample left after removing samples without metadata"
                )
            self.views[name] = kept
        if self.outcomes is not None:
            self.outcomes = self.outcomes.loc[~self.outcomes.index.isin(drop)]

    # ------------------------------------------------------------------ accessors
    @property
    def view_names(self) -> list[str]:
        return list(self.views)

    @property
    def samples(self) -> pd.Index:
        """Union of the sample IDs of all views, in order of first appearance."""
        seen: dict[str, None] = {}
        for df in self.views.values():
            seen.update(dict.fromkeys(df.index))
        return pd.Index(list(seen), name="sample_id")

    @property
    def n_samples(self) -> int:
        return len(self.samples)

    def __getitem__(self, view: str) -> pd.DataFrame:
        try:
            return self.views[view]
        except KeyError:
            raise KeyError(f"no view {view!r}; the cohort has {self.view_names}") from None

    def imputed_mask(self, view: str) -> pd.DataFrame:
        """Boolean frame (samples x features of ``view``): True where the value was imputed at
        validation (``nan_policy="impute_median"``), read from :attr:`report`, so it survives
        ``subset``, ``with_view`` and the ``.h5mu`` round trip.  Prediction uses it to refuse
        imputed targets (a median scored as an observed value flatters the model)."""
        import ast
        import re

        df = self[view]
        mask = pd.DataFrame(False, index=df.index, columns=df.columns)
        pat = re.compile(r"non-finite value for sample (.+) set to the feature median$")
        for r in self.report.records:
            if r.get("view") != view or r.get("action") != "imputed":
                continue
            m = pat.match(str(r.get("reason", "")))
            if not m:
                continue
            try:
                sid = str(ast.literal_eval(m.group(1)))
            except (ValueError, SyntaxError):
                sid = m.group(1).strip("'\"")
            if sid in mask.index and r["id"] in mask.columns:
                mask.loc[sid, r["id"]] = True
        return mask

    def __contains__(self, view: str) -> bool:
        return view in self.views

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {v.shape[0]}x{v.shape[1]}" for k, v in self.views.items())
        n_c = 0 if self.centre is None else self.centre.nunique()
        cov = "none" if self.covariates is None else ", ".join(self.covariates.columns)
        return (
            f"Cohort(n={self.n_samples} samples, {n_c} centres; views {shapes}; "
            f"covariates: {cov}; {len(self.report)} validation records)"
        )

    # ------------------------------------------------------------------ pairing
    def paired(self, *views: str, require_covariates: bool = False) -> PairedData:
        """Align the named views over the samples present in all of them.

        Parameters
        ----------
        *views : str
            View names (at least one).  With none given, all views are paired.
        require_covariates : bool
            Also require a covariates row (already guaranteed unless the cohort has none).

        Returns
        -------
        PairedData
            Aligned frames plus ``dropped``: one row per (sample, view) removed because the
            sample is absent from another requested view.
        """
        if not views:
            views = tuple(self.views)
        unknown = [v for v in views if v not in self.views]
        if unknown:
            raise KeyError(f"unknown view(s) {unknown}; the cohort has {self.view_names}")
        if len(set(views)) != len(views):
            raise ValueError(f"a view is named twice in {views}")
        if require_covariates and self.covariates is None:
            raise CohortValidationError("require_covariates=True but the cohort has no covariates")
        keep = self.views[views[0]].index
        for v in views[1:]:
            keep = keep[keep.isin(self.views[v].index)]
        if len(keep) == 0:
            raise CohortValidationError(
                f"views {list(views)} share no sample; check that their sample IDs use the same "
                f"format (e.g. {self.views[views[0]].index[0]!r} vs "
                f"{self.views[views[-1]].index[0]!r})"
            )
        records = []
        for v in views:
            for sid in self.views[v].index[~self.views[v].index.isin(keep)]:
                absent_from = [w for w in views if w != v and sid not in self.views[w].index]
                records.append(
                    {"sample_id": sid, "view": v, "reason": f"absent from {', '.join(map(repr, absent_from))}"}
                )
        aligned = {v: self.views[v].loc[keep] for v in views}
        keep = pd.Index(keep, name="sample_id")
        return PairedData(
            views=aligned,
            samples=keep,
            covariates=None if self.covariates is None else self.covariates.loc[keep],
            centre=None if self.centre is None else self.centre.loc[keep],
            outcomes=None if self.outcomes is None else self.outcomes.reindex(keep),
            dropped=pd.DataFrame(records, columns=["sample_id", "view", "reason"]),
            imputed={v: self.imputed_mask(v).loc[keep] for v in views},
        )

    def subset(self, samples: Iterable[str]) -> Cohort:
        """A new cohort restricted to ``samples`` (in every view and the metadata)."""
        samples = pd.Index([str(s) for s in samples])
        unknown = samples.difference(self.samples)
        if len(unknown):
            raise KeyError(f"{len(unknown)} unknown sample(s): {_listing(unknown)}")
        views = {k: v.loc[v.index.isin(samples)] for k, v in self.views.items()}
        empty = [k for k, v in views.items() if v.shape[0] == 0]
        views = {k: v for k, v in views.items() if v.shape[0]}
        if not views:
            raise CohortValidationError("the subset has no sample in any view")
        new = Cohort(
            views,
            covariates=None if self.covariates is None else self.covariates.loc[self.covariates.index.isin(samples)],
            centre=None if self.centre is None else self.centre.loc[self.centre.index.isin(samples)],
            outcomes=None if self.outcomes is None else self.outcomes.loc[self.outcomes.index.isin(samples)],
            constant_policy="drop",
        )
        new.report.prepend(self.report.records)
        for k in empty:
            new.report.add(k, "view", [k], "dropped", "view has no sample in the subset")
        return new

    def with_view(self, name: str, data: pd.DataFrame, **policies) -> Cohort:
        """A new cohort with view ``name`` added or replaced (validated like the others)."""
        views = dict(self.views)
        views[name] = data
        new = Cohort(views, covariates=self.covariates, centre=self.centre, outcomes=self.outcomes,
                     **policies)
        # records of a replaced view describe the old data (its imputed cells among them)
        new.report.prepend([r for r in self.report.records if r.get("view") != name])
        return new

    # ------------------------------------------------------------------ summary
    def summary(self) -> CohortSummary:
        """Per-view n, per-centre n, overlap counts and missingness.

        Returns
        -------
        CohortSummary
            ``views``: n_samples, n_features, pct_of_cohort (samples with the view),
            n_centres, features dropped / values imputed at validation;
            ``centres``: samples per centre (rows) and view (columns) plus a ``total``;
            ``overlap``: samples shared by each pair of views (diagonal: view size).
        """
        n_all = self.n_samples
        rep = self.report.to_frame()
        rows = []
        for name, df in self.views.items():
            r = rep[rep["view"] == name]
            rows.append(
                {
                    "view": name,
                    "n_samples": df.shape[0],
                    "n_features": df.shape[1],
                    "pct_of_cohort": round(100.0 * df.shape[0] / n_all, 1),
                    "n_missing_samples": n_all - df.shape[0],
                    "n_centres": (
                        np.nan if self.centre is None
                        else int(self.centre.reindex(df.index).nunique())
                    ),
                    "features_dropped": int(((r["axis"] == "feature") & (r["action"] == "dropped")).sum()),
                    "samples_dropped": int(((r["axis"] == "sample") & (r["action"] == "dropped")).sum()),
                    "values_imputed": int((r["action"] == "imputed").sum()),
                }
            )
        views = pd.DataFrame(rows).set_index("view")
        if self.centre is not None:
            cen = self.centre.reindex(self.samples)
            data = {
                name: cen.reindex(df.index).value_counts().reindex(self.centre.cat.categories, fill_value=0)
                for name, df in self.views.items()
            }
            centres = pd.DataFrame(data)
            centres["total"] = cen.value_counts().reindex(self.centre.cat.categories, fill_value=0)
            centres.index.name = "centre"
        else:
            centres = pd.DataFrame({name: [df.shape[0]] for name, df in self.views.items()}, index=["(no centre)"])
            centres["total"] = n_all
        names = self.view_names
        overlap = pd.DataFrame(
            [[len(self.views[a].index.intersection(self.views[b].index)) for b in names] for a in names],
            index=pd.Index(names, name="view"),
            columns=names,
        )
        return CohortSummary(views=views, centres=centres.astype(int), overlap=overlap, report=self.report)

    # ------------------------------------------------------------------ I/O
    @classmethod
    def from_files(
        cls,
        views: Mapping[str, str | Path],
        covariates: str | Path | None = None,
        centre: str | Path | None = None,
        outcomes: str | Path | None = None,
        **policies,
    ) -> Cohort:
        """Build a cohort from CSV/TSV/Parquet files (first column: sample ID).

        ``centre`` may be a file or the name of a column in the covariates file.
        """
        return cls(
            {k: read_table(v) for k, v in views.items()},
            covariates=None if covariates is None else read_table(covariates),
            centre=centre,
            outcomes=None if outcomes is None else read_table(outcomes),
            **policies,
        )

    def to_files(self, directory: str | Path, fmt: str = "csv") -> dict[str, Path]:
        """Write every view and the metadata as ``<name>.csv`` (or ``.parquet``/``.tsv``).

        Returns the paths written; :meth:`from_files` reads them back.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if fmt not in ("csv", "tsv", "parquet"):
            raise ValueError("fmt must be 'csv', 'tsv' or 'parquet'")
        tables: dict[str, pd.DataFrame] = {f"view_{k}": v for k, v in self.views.items()}
        if self.covariates is not None:
            tables["covariates"] = self.covariates
        if self.centre is not None:
            tables["centre"] = self.centre.astype(str).to_frame()
        if self.outcomes is not None:
            tables["outcomes"] = self.outcomes
        paths = {}
        for key, df in tables.items():
            p = directory / f"{key}.{fmt}"
            if fmt == "parquet":
                df.to_parquet(p)
            else:
                df.to_csv(p, sep="," if fmt == "csv" else "\t")
            paths[key] = p
        return paths

    def to_mudata(self):
        """Export to a :class:`mudata.MuData` (one AnnData modality per view).

        Covariates, centre (column ``centre``) and outcomes go to the global ``obs``; their
        column roles are kept in ``uns["radiogenomics"]`` so :meth:`from_mudata` restores
        them.  Samples absent from a view are simply absent from that modality.
        """
        import anndata as ad
        import mudata as md

        mods = {}
        for name, df in self.views.items():
            a = ad.AnnData(
                X=df.to_numpy(dtype=np.float64),
                obs=pd.DataFrame(index=pd.Index(df.index.astype(str), name=None)),
                var=pd.DataFrame(index=pd.Index(df.columns.astype(str), name=None)),
            )
            a.uns["dtype"] = str(df.dtypes.iloc[0]) if df.dtypes.nunique() == 1 else "float64"
            mods[name] = a
        with _quiet_mudata(md):
            mdata = md.MuData(mods)
        obs = pd.DataFrame(index=mdata.obs_names)
        roles: dict[str, list[str]] = {"covariates": [], "outcomes": [], "centre": []}
        if self.covariates is not None:
            for c in self.covariates.columns:
                obs[c] = self.covariates[c].reindex(obs.index).to_numpy()
                roles["covariates"].append(c)
        if self.centre is not None:
            obs["centre"] = self.centre.astype(str).reindex(obs.index).to_numpy()
            roles["centre"].append("centre")
        if self.outcomes is not None:
            for c in self.outcomes.columns:
                col = f"outcome:{c}"
                obs[col] = self.outcomes[c].reindex(obs.index).to_numpy()
                roles["outcomes"].append(col)
        for c in obs.columns:
            mdata.obs[c] = obs[c].to_numpy()
        mdata.uns["radiogenomics"] = {k: list(v) for k, v in roles.items()}
        if len(self.report):
            mdata.uns["radiogenomics_report"] = self.report.to_frame().astype(str)
        mdata.uns["radiogenomics_view_order"] = list(self.views)
        return mdata

    @classmethod
    def from_mudata(cls, mdata, covariates: list[str] | None = None, **policies) -> Cohort:
        """Build a cohort from a :class:`mudata.MuData` (or a path to an ``.h5mu`` file).

        Each modality becomes a view (``X`` densified).  Covariates, centre and outcomes are
        the global ``obs`` columns listed in ``uns["radiogenomics"]`` (written by
        :meth:`to_mudata`); for other files, covariates are only the ``obs`` columns named in
        ``covariates`` and a column named ``centre`` is used as the centre.  The validation
        records of the exported cohort are restored into :attr:`report`.
        """
        import mudata as md

        if isinstance(mdata, (str, Path)):
            with _quiet_mudata(md):
                mdata = md.read_h5mu(str(mdata))
        order = list(mdata.uns.get("radiogenomics_view_order", list(mdata.mod)))
        views = {}
        for name in order:
            a = mdata.mod[name]
            X = a.X.toarray() if hasattr(a.X, "toarray") else np.asarray(a.X)
            df = pd.DataFrame(X, index=pd.Index(a.obs_names.astype(str)), columns=a.var_names.astype(str))
            dtype = a.uns.get("dtype", "float64")
            if isinstance(dtype, str) and dtype.startswith("int") and np.all(np.isfinite(X)):
                df = df.astype(dtype)
            views[name] = df
        roles = mdata.uns.get("radiogenomics", None)
        obs = mdata.obs.copy()
        # mudata prefixes modality-level obs columns with "<mod>:"; keep only global ones
        obs = obs[[c for c in obs.columns if not any(c.startswith(f"{m}:") for m in mdata.mod)]]
        obs.index = obs.index.astype(str)

        def _list(key):
            if roles is None or key not in roles:
                return []
            val = roles[key]
            return [str(v) for v in np.atleast_1d(val)] if len(np.atleast_1d(val)) else []

        centre_cols = _list("centre") or (["centre"] if "centre" in obs.columns else [])
        outcome_cols = _list("outcomes")
        # without the roles written by to_mudata, obs columns (QC metrics, batch, ...) are not
        # assumed to be covariates: name them with covariates=[...]
        cov_cols = list(covariates) if covariates is not None else _list("covariates")
        covariates = obs[cov_cols] if cov_cols else None
        if covariates is not None:
            covariates = covariates.apply(
                lambda s: s.astype(str).where(s.notna(), None) if isinstance(s.dtype, pd.CategoricalDtype) else s
            )
        centre = obs[centre_cols[0]] if centre_cols else None
        outcomes = None
        if outcome_cols:
            outcomes = obs[outcome_cols].rename(columns=lambda c: c.split("outcome:", 1)[-1])
            outcomes = outcomes.loc[outcomes.notna().any(axis=1)]
        cohort = cls(views, covariates=covariates, centre=centre, outcomes=outcomes, **policies)
        earlier = mdata.uns.get("radiogenomics_report")
        if isinstance(earlier, pd.DataFrame) and len(earlier):
            cohort.report.prepend(earlier.to_dict("records"))
        return cohort

    def write_h5mu(self, path: str | Path) -> Path:
        """Write the cohort as an ``.h5mu`` file readable by muon / MuData users."""
        import mudata as md

        path = Path(path)
        mdata = self.to_mudata()
        with _quiet_mudata(md):
            mdata.write(str(path))
        return path

    def to_anndata(self, view: str):
        """One view as an :class:`anndata.AnnData` with covariates, centre and outcomes in ``obs``."""
        import anndata as ad

        df = self[view]
        obs = pd.DataFrame(index=pd.Index(df.index.astype(str), name=None))
        if self.covariates is not None:
            obs = obs.join(self.covariates)
        if self.centre is not None:
            obs["centre"] = self.centre.astype(str).reindex(obs.index).to_numpy()
        if self.outcomes is not None:
            obs = obs.join(self.outcomes.add_prefix("outcome:"))
        return ad.AnnData(
            X=df.to_numpy(dtype=np.float64),
            obs=obs,
            var=pd.DataFrame(index=pd.Index(df.columns.astype(str), name=None)),
        )

    @classmethod
    def from_anndata(cls, adata, view: str = "expression", centre: str | None = "centre",
                     covariates: list[str] | None = None, **policies) -> Cohort:
        """A one-view cohort from an AnnData.

        ``centre`` names the ``obs`` column of centres; ``covariates`` lists the ``obs`` columns
        to use as covariates (none by default: QC columns such as ``n_counts`` are not assumed
        to be covariates); ``outcome:*`` columns become outcomes.
        """
        X = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
        df = pd.DataFrame(X, index=adata.obs_names.astype(str), columns=adata.var_names.astype(str))
        obs = adata.obs.copy()
        obs.index = obs.index.astype(str)
        cen = obs[centre] if centre is not None and centre in obs.columns else None
        out_cols = [c for c in obs.columns if str(c).startswith("outcome:")]
        cov = obs[list(covariates)] if covariates else None
        outcomes = obs[out_cols].rename(columns=lambda c: c.split("outcome:", 1)[-1]) if out_cols else None
        return cls({view: df}, covariates=cov, centre=cen, outcomes=outcomes, **policies)
