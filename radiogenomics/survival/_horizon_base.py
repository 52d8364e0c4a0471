"""Shared pieces of :mod:`radiogenomics.survival.horizon`: input checks, Kaplan-Meier at a
horizon."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import InputError, listing

_BLOCK = 2_000_000        # cells of a weight matrix handled at once


# ------------------------------------------------------------------------------- input checks
def _labels(index, n):
    return np.asarray(index, dtype=object) if index is not None else np.arange(n)


def _align(values, n, what, index):
    """``values`` in the order of the outcome's index when both carry sample IDs."""
    if isinstance(values, pd.DataFrame) and values.shape[1] == 1:
        values = values.iloc[:, 0]
    if isinstance(values, (pd.Series, pd.DataFrame)) and index is not None \
            and not values.index.equals(index):
        if len(values) != n or not values.index.isin(index).all():
            raise InputError(f"{what} and y have different sample IDs; pass them in the same "
                             "order or indexed by the same IDs.")
        values = values.loc[index]
    return values


def _vector(values, n, what, index):
    """A checked vector of predicted risks in [0, 1], one per subject of the outcome."""
    values = _align(values, n, what, index)
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be numeric (predicted risks in [0, 1]).") from None
    if arr.ndim != 1:
        raise InputError(f"{what} must be 1-D (one value per subject); got shape {arr.shape}.")
    if arr.size != n:
        raise InputError(f"{what} has {arr.size} values but y has {n} subjects: pass one "
                         "prediction per subject, in the same order.")
    rows = _labels(index, n)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(f"{what} has {int(bad.sum())} missing or non-finite values (rows "
                         f"{listing(rows[bad])}): predict for these subjects or drop them.")
    bad = (arr < 0) | (arr > 1)
    if bad.any():
        raise InputError(f"{what} must be a predicted risk in [0, 1]; {int(bad.sum())} values "
                         f"are outside (rows {listing(rows[bad])}). Pass 1 - S(h|x), not a "
                         "linear predictor or a hazard ratio.")
    return arr


def _horizon(h, t, what="horizon"):
    h = float(h)
    if not np.isfinite(h) or h <= 0:
        raise InputError(f"{what} must be a finite time > 0; got {h}.")
    if h > t.max():
        raise InputError(f"{what} {h:g} is beyond the last follow-up time ({t.max():g}): "
                         f"nothing is observed there. Choose a {what} <= {t.max():g}.")
    return h


def _labels_vector(by, n, index, what):
    arr = np.asarray(_align(by, n, what, index), dtype=object)
    if arr.ndim != 1 or arr.size != n:
        raise InputError(f"{what} must hold one label per subject ({n}); got shape {arr.shape}.")
    miss = pd.isna(arr)
    if miss.any():
        raise InputError(f"{what} has missing labels (rows {listing(_labels(index, n)[miss])}); "
                         "give every subject a label.")
    return arr


def _zq(confidence):
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be in (0, 1); got {confidence}.")
    return float(stats.norm.ppf(0.5 + confidence / 2))


# ------------------------------------------------------------------------------- Kaplan-Meier
def _km_at(t, d, W, h):
    """Kaplan-Meier ``S(h)`` and Greenwood's sum for every row of weights ``W`` (m, n).

    ``t`` ascending; ``d`` 1 for an event.  Rows with zero weight give ``S = 1``.  Only the
    distinct event times up to ``h`` are visited: at each, the at-risk weight is the total minus
    the weight of earlier times (one ``reduceat`` pass over ``W``).
    """
    W = np.atleast_2d(W)
    k = int(np.searchsorted(t, h, side="right"))
    ev = np.flatnonzero(d[:k] > 0)
    S = np.ones(W.shape[0])
    gw = np.zeros(W.shape[0])
    if ev.size == 0:
        return S, gw
    ut = np.unique(t[ev])
    first = np.searchsorted(t, ut, side="left")              # first subject at each event time
    ev_first = np.searchsorted(t[ev], ut, side="left")
    step = max(1, _BLOCK // max(W.shape[1], 1))
    for a in range(0, W.shape[0], step):
        w = W[a:a + step]
        seg = np.add.reduceat(w[:, :k], first, axis=1)       # weight in [u_j, u_{j+1})
        before = w[:, :first[0]].sum(axis=1)[:, None] + np.concatenate(
            [np.zeros((w.shape[0], 1)), np.cumsum(seg[:, :-1], axis=1)], axis=1)
        at_risk = w.sum(axis=1)[:, None] - before
        dw = np.add.reduceat(w[:, ev], ev_first, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            haz = np.where(at_risk > 0, dw / at_risk, 0.0)
            term = np.where(at_risk > dw, dw / (at_risk * (at_risk - dw)),
                            np.where(dw > 0, np.inf, 0.0))
        S[a:a + step] = np.prod(1.0 - haz, axis=1)
        gw[a:a + step] = term.sum(axis=1)
    return np.clip(S, 0.0, 1.0), gw


def _km_ci(S, gw, z, conf_type):
    """CI of ``S`` as ``survfit(conf.type=)`` ("log-log", "log", "plain"); ``gw`` Greenwood sum."""
    se = np.sqrt(gw)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "log-log":
            xx = np.where((S == 0) | (S == 1), np.nan, S)
            q = z * se / np.log(xx)
            lo, hi = np.exp(-np.exp(np.log(-np.log(xx)) - q)), np.exp(-np.exp(np.log(-np.log(xx)) + q))
        elif conf_type == "log":
            xx = np.where(S == 0, np.nan, S)
            lo, hi = xx * np.exp(-z * se), np.minimum(xx * np.exp(z * se), 1.0)
        elif conf_type == "plain":
            lo, hi = np.maximum(S - z * se * S, 0.0), np.minimum(S + z * se * S, 1.0)
        else:
            raise InputError(f"conf_type must be 'log-log', 'log' or 'plain'; got {conf_type!r}.")
    return lo, hi


def _sorted(t, e, *arrays):
    o = np.argsort(t, kind="stable")
    return (o, t[o], e[o]) + tuple(a[o] for a in arrays)


def _followed(t, member, S, h):
    """Whether each subset (rows of boolean ``member``) is followed to ``h`` (or has S = 0)."""
    last = np.where(member, t[None, :], -np.inf).max(axis=1)
    return (last >= h) | (S <= 0)

