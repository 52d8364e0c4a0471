"""Survival outcomes in, checked: the one place every survival function reads ``(time, event)``.

A survival target is accepted as

* a two-column array or DataFrame ``(time, event)`` (glmnet's ``family="cox"`` layout; a
  DataFrame's columns may be named, see below);
* a DataFrame with columns named ``time`` / ``event`` (or ``status``; matched case-insensitively,
  also ``*_time`` / ``*_event`` such as ``mace_time``), in any order;
* a NumPy structured array with an event and a time field (scikit-survival's ``Surv`` layout,
  fields such as ``("event", "time")`` or ``("Status", "Survival_in_days")``);
* ``time=`` and ``event=`` given separately.

``event`` is 1 (or True) for an event, 0 (False) for censoring.  Times must be finite and > 0
(glmnet's rule; a zero or negative follow-up is nearly always a data-entry error).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .._checks import InputError, listing

__all__ = ["as_survival", "surv_frame"]

_TIME = re.compile(r"(^|_)(time|times|futime|survival.*|duration|t)$", re.I)
_EVENT = re.compile(r"(^|_)(event|events|status|dead|death|died|fustat|e|d)$", re.I)


def _rows(mask, index=None) -> str:
    """The offending subjects: sample IDs when the outcome came with them, else row numbers."""
    if index is not None:
        return "samples " + listing(np.asarray(index)[np.asarray(mask)])
    return "rows " + ", ".join(str(i) for i in np.flatnonzero(mask)[:10]) + (
        " ..." if np.count_nonzero(mask) > 10 else "")


def _named_pair(names) -> tuple[str, str] | None:
    names = [str(n) for n in names]
    t = [n for n in names if _TIME.search(n)]
    e = [n for n in names if _EVENT.search(n)]
    if len(t) == 1 and len(e) == 1 and t[0] != e[0]:
        return t[0], e[0]
    return None


def _split(y, what: str):
    """(time, event, index) from one survival target object."""
    index = None
    if isinstance(y, pd.DataFrame):
        index = y.index
        if y.shape[1] != 2:
            raise InputError(
                f"{what} must have two columns (time, event); got {y.shape[1]} "
                f"({listing(y.columns)}). Select the follow-up time and the event indicator, "
                "e.g. df[['time', 'event']].")
        pair = _named_pair(y.columns)
        if pair is not None:
            return y[pair[0]].to_numpy(), y[pair[1]].to_numpy(), index
        return y.iloc[:, 0].to_numpy(), y.iloc[:, 1].to_numpy(), index
    arr = np.asarray(y)
    if arr.dtype.names is not None:
        pair = _named_pair(arr.dtype.names)
        if pair is None or len(arr.dtype.names) != 2:
            raise InputError(
                f"{what} is a structured array with fields {arr.dtype.names}: expected one time "
                "and one event field (scikit-survival's Surv layout, e.g. ('event', 'time')).")
        return arr[pair[0]], arr[pair[1]], None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InputError(
            f"{what} must be a two-column array (time, event), a DataFrame with time and event "
            f"columns or a structured array; got shape {arr.shape}. Pass time= and event= "
            "separately if you hold them as two vectors.")
    return arr[:, 0], arr[:, 1], None


def as_survival(y=None, *, time=None, event=None, what: str = "y", min_events: int = 1):
    """Checked ``(time, event, index)``: float64 times > 0, event as float64 0/1, and the
    sample index when ``y`` was a DataFrame (else None).

    Raises :class:`~radiogenomics._checks.InputError` naming the rows and the fix for NaN/inf,
    times <= 0, event values other than 0/1, mismatched lengths and fewer than ``min_events``
    events.
    """
    if y is not None and (time is not None or event is not None):
        raise InputError(f"give either {what} (time and event together) or time= and event=, "
                         "not both.")
    index = None
    if y is None:
        if time is None or event is None:
            raise InputError("a survival outcome needs both follow-up times and event "
                             "indicators: pass y=(n, 2) or time= and event=.")
        if isinstance(time, pd.Series):
            index = time.index
        t_raw, e_raw = np.asarray(time), np.asarray(event)
    else:
        t_raw, e_raw, index = _split(y, what)
    if t_raw.ndim != 1 or e_raw.ndim != 1:
        raise InputError(f"time and event must be 1-D (one value per subject); got shapes "
                         f"{t_raw.shape} and {e_raw.shape}.")
    if t_raw.size != e_raw.size:
        raise InputError(f"time has {t_raw.size} values but event has {e_raw.size}: pass one "
                         "of each per subject, in the same order.")
    if t_raw.size == 0:
        raise InputError(f"{what} is empty: no subjects.")
    try:
        t = t_raw.astype(np.float64)
    except (TypeError, ValueError):
        raise InputError(f"time must be numeric (follow-up times); got dtype {t_raw.dtype}.") from None
    try:
        e = e_raw.astype(np.float64)
    except (TypeError, ValueError):
        raise InputError(f"event must be 1/0 or True/False; got dtype {e_raw.dtype}.") from None
    for arr, name in ((t, "time"), (e, "event")):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise InputError(f"{name} has {int(bad.sum())} missing or non-finite values "
                             f"({_rows(bad, index)}): drop these subjects or fill them in.")
    if (t <= 0).any():
        raise InputError(
            f"time has {int((t <= 0).sum())} values <= 0 ({_rows(t <= 0, index)}): follow-up times "
            "must be > 0. Check for data-entry errors (an event on the day of the scan can be "
            "coded as half a day).")
    bad = (e != 0) & (e != 1)
    if bad.any():
        raise InputError(f"event must be 1 (event) or 0 (censored); {int(bad.sum())} values are "
                         f"not ({_rows(bad, index)}): recode them.")
    if e.sum() < min_events:
        raise InputError(f"{what} has {int(e.sum())} events; at least {min_events} needed "
                         "(with no events every risk ordering fits equally well).")
    return t, e, index


def surv_frame(time, event, index=None) -> pd.DataFrame:
    """A checked two-column ``(time, event)`` DataFrame: the survival target the toolkit's
    estimators and cross-validation take as ``y``."""
    t, e, idx = as_survival(time=time, event=event)
    return pd.DataFrame({"time": t, "event": e.astype(np.int64)},
                        index=index if index is not None else idx)
