"""Pair counting of :mod:`radiogenomics.survival.concordance`: two sweeps with Fenwick trees over
the risk ranks (O(n log n)), the tied pairs, the C statistic and its infinitesimal-jackknife
influence, and a Wald interval."""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy import stats

# --- pair counting: two sweeps with Fenwick trees over the risk ranks, O(n log n) --------------

@njit(cache=True)
def _fw_add(tree, i, val):
    i += 1
    while i < tree.size:
        tree[i] += val
        i += i & (-i)


@njit(cache=True)
def _fw_below(tree, i):
    """Sum over ranks < i."""
    s = 0.0
    while i > 0:
        s += tree[i]
        i -= i & (-i)
    return s


@njit(cache=True)
def _fw_clear(tree, i):
    i += 1
    while i < tree.size:
        tree[i] = 0.0
        i += i & (-i)


@njit(cache=True)
def _sweep(order, starts, time, event, rank, wt, n_rank, descending, out_lo, out_eq, out_hi):
    """One sweep over time within each stratum (``order`` sorts by stratum, then time).

    Descending (events as the shorter survivor): each event ``i`` gets the weight ``wt`` of the
    subjects comparable to it (``T_j > T_i``, or censored at ``T_i``) with lower / equal /
    higher risk rank.  Ascending (each subject as the longer survivor): subject ``j`` gets the
    ``wt`` of the events comparable to it.
    """
    tree = np.zeros(n_rank + 1)
    node = np.zeros(n_rank)
    for s in range(starts.size - 1):
        a, b = starts[s], starts[s + 1]
        total = 0.0
        g0 = b - 1 if descending else a
        while (g0 >= a) if descending else (g0 < b):
            g1 = g0                              # the tie group of time[order[g0]]
            step = -1 if descending else 1
            while a <= g1 + step < b and time[order[g1 + step]] == time[order[g0]]:
                g1 += step
            lo, hi = min(g0, g1), max(g0, g1) + 1
            for phase in range(3):
                for p in range(lo, hi):
                    k = order[p]
                    dead = event[k] == 1.0
                    # descending: insert censored, query events, insert events
                    # ascending: query events, insert events, query censored
                    query = (phase == 1 and dead) if descending else \
                        ((phase == 0 and dead) or (phase == 2 and not dead))
                    insert = ((phase == 0 and not dead) or (phase == 2 and dead)) if descending \
                        else (phase == 1 and dead)
                    if query:
                        r = rank[k]
                        below = _fw_below(tree, r)
                        out_lo[k] = below
                        out_eq[k] = node[r]
                        out_hi[k] = total - below - node[r]
                    elif insert and wt[k] != 0.0:
                        _fw_add(tree, rank[k], wt[k])
                        node[rank[k]] += wt[k]
                        total += wt[k]
            g0 = (lo - 1) if descending else hi
        for p in range(a, b):
            _fw_clear(tree, rank[order[p]])
            node[rank[order[p]]] = 0.0


def _timefix(t: np.ndarray) -> np.ndarray:
    """survival's ``aeqSurv``: times within ``sqrt(eps)`` (absolute or relative to the mean
    |time|) of the previous distinct time become equal to the first of their run."""
    u = np.unique(t)
    if u.size < 2:
        return t
    tol = np.sqrt(np.finfo(float).eps)
    dy = np.diff(u)
    tied = (dy <= tol) | (dy / np.mean(np.abs(u)) <= tol)
    if not tied.any():
        return t
    cuts = u[np.r_[True, ~tied]]
    return cuts[np.searchsorted(cuts, t, side="right") - 1]


def _prep(time, risk, codes):
    """Dense risk ranks, the (stratum, time) order and the strata's start positions in it."""
    rank = np.unique(risk, return_inverse=True)[1].ravel().astype(np.int64)
    order = np.lexsort((time, codes)).astype(np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(codes[order])) + 1, time.size].astype(np.int64)
    return rank, order, starts, int(rank.max()) + 1


def _pairs(time, event, risk, codes, w, v):
    """Weighted pair counts and per-subject influence sums.

    Pairs ``(i, j)`` (``i`` the event) weigh ``v_i w_i w_j``.  Returns the totals
    ``(concordant, discordant, tied_risk, tied_time_all, tied_both)`` and, per subject, the
    ``(conc, disc, tie)`` sums over its pairs divided by its own ``w`` (survival's influence
    matrix) and the event-side sums ``(lo, eq, hi)`` of each event.
    """
    n = time.size
    rank, order, starts, nr = _prep(time, risk, codes)
    d_lo, d_eq, d_hi, s_lo, s_eq, s_hi = (np.zeros(n) for _ in range(6))
    _sweep(order, starts, time, event, rank, w, nr, True, d_lo, d_eq, d_hi)
    _sweep(order, starts, time, event, rank, v * w * event, nr, False, s_lo, s_eq, s_hi)
    ev = v * event
    inf = np.column_stack([ev * d_lo + s_hi, ev * d_hi + s_lo, ev * d_eq + s_eq])
    totals = (ev * w) @ np.column_stack([d_lo, d_hi, d_eq])
    dead = event == 1
    tt, tb = _tied_pairs(codes[dead], time[dead], rank[dead], (v * w)[dead], w[dead])
    return (*totals, tt, tb), inf, np.column_stack([d_lo, d_eq, d_hi])


def _tied_pairs(code, time, rank, vw, w):
    """Over unordered pairs of events in one stratum with equal time (and equal time and
    risk): ``sum v w_i w_j`` (``v`` is constant within a time)."""
    if time.size < 2:
        return 0.0, 0.0
    o = np.lexsort((rank, time, code))
    code, time, rank, vw, w = code[o], time[o], rank[o], vw[o], w[o]
    new_t = np.r_[True, (np.diff(code) != 0) | (np.diff(time) != 0)]
    new_b = new_t | np.r_[True, np.diff(rank) != 0]
    out = []
    for new in (new_t, new_b):
        g = np.cumsum(new) - 1
        s1, s0 = np.bincount(g, weights=vw), np.bincount(g, weights=w)
        out.append(float(np.sum(s1 * s0 - np.bincount(g, weights=vw * w)) / 2.0))
    return out[0], out[1]


def _c_and_ij(totals, inf, w, theta):
    """C and its per-subject IJ derivatives ``w_k dC/dw_k``; ``theta`` = credit of a risk tie
    (1/2, or 0 with the ties dropped from the denominator)."""
    conc, disc, tie = totals[:3]
    den = conc + disc + (tie if theta > 0 else 0.0)
    if den <= 0:
        return np.nan, np.full(w.size, np.nan)
    c = (conc + theta * tie) / den
    inum = inf[:, 0] + theta * inf[:, 2]
    iden = inf[:, 0] + inf[:, 1] + (inf[:, 2] if theta > 0 else 0.0)
    return c, w * (inum - c * iden) / den


def _wald(est, se, confidence, null=0.5):
    est, se = np.asarray(est, float), np.asarray(se, float)
    z = stats.norm.ppf(0.5 + confidence / 2.0)
    ok = se > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.where(ok, np.clip(est - z * se, 0.0, 1.0), np.nan)
        hi = np.where(ok, np.clip(est + z * se, 0.0, 1.0), np.nan)
        p = np.where(ok, 2.0 * stats.norm.sf(np.abs(est - null) / se), np.nan)
    return lo, hi, p
