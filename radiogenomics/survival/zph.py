r"""Test of proportional hazards for a Cox model, equal to ``survival::cox.zph`` (survival 3.x).

Grambsch & Therneau (1994, Biometrika 81:515) embed the model in
``beta_k(t) = beta_k + theta_k g(t)`` for a transform ``g`` of time and test ``theta = 0``.
survival 3.0 replaced their approximation (which used the average of the information
matrices) by the exact score test at ``(beta_hat, theta = 0)``: with the score
``U_theta = sum_j g(t_j) [sum_{D_j} w_i x_i - omega_j sum_k abar_jk]`` (per tie group of
events, Efron or Breslow as the fit) and the full information

    ``I = [[I_bb, I_bt], [I_bt, I_tt]]``,  ``I_bt = sum_j g_j I_j``,  ``I_tt = sum_j g_j^2 I_j``

(``I_j`` the information contributed by the events at ``t_j``, ``zph1.c``), the statistic
for a term ``T`` (columns ``J``) is ``u' A^{-1} u`` with ``u = (0, U_theta[J])`` and ``A`` the
rows/columns ``(all beta, theta_J)`` of ``I``: chi-squared on ``|J|`` df; GLOBAL uses all
``theta`` (``p`` df).  ``g(t) = f(t) - mean_{events} f`` with ``f`` one of

* ``"km"``: ``1 - S_KM(t-)``, the unweighted Kaplan-Meier of all subjects (strata pooled);
* ``"rank"``: the (average) rank of ``t`` among all follow-up times;
* ``"identity"``: ``t``; ``"log"``: ``log t``; or a callable.

Scaled Schoenfeld residuals (``y``, for plotting ``beta(t)`` against ``x = f(t)``):
``beta_hat + V~ r_i`` per event, ``r_i`` the Schoenfeld residual and ``V~ = (I_bb / m)^{-1}``
with ``m`` the number of events of the strata in which a covariate varies (R's ``used``
matrix); a covariate constant in a stratum gets NaN there.  A term of several columns
(``terms={"centre": ["centre_B", "centre_C"]}``) gets the combined residual
``r_i' beta_J`` scaled in the same way, plus 1, as R does for factors.

Edge case differing from R: a stratum in which every covariate is constant is skipped
consistently (R misaligns the rows of later strata).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import InputError, listing
from ._km import kaplan_meier
from ._coxph_core import _derivs
from .coxph import CoxPHResult

__all__ = ["cox_zph", "ZPHResult"]

TRANSFORMS = ("km", "rank", "identity", "log")


@dataclass(frozen=True, eq=False)
class ZPHResult:
    """:func:`cox_zph` output.

    ``table``: chisq, df, p per term (and GLOBAL); ``x``: transformed event times;
    ``time``: event times; ``y``: scaled Schoenfeld residuals (events x terms, in stratum-
    time order); ``strata``: stratum of each event (None if unstratified); ``var``: the
    matrix scaling the residuals (``solve(vmean)`` in R).
    """

    table: pd.DataFrame
    x: np.ndarray
    time: np.ndarray
    y: pd.DataFrame
    strata: np.ndarray | None
    transform: str
    var: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        return (f"Test of proportional hazards (cox.zph, transform={self.transform!r}, "
                f"{len(self.time)} events)\n"
                + self.table.to_string(float_format=lambda v: f"{v:.4g}"))

    def __repr__(self) -> str:
        if "GLOBAL" in self.table.index:
            g = self.table.loc["GLOBAL"]
            tail = f"GLOBAL chisq={g.chisq:.4g} on {int(g.df)} df, p={g.p:.3g}"
        else:
            tail = f"{len(self.table)} terms"
        return f"ZPHResult(transform={self.transform!r}, {tail})"


def _ttimes(result, transform):
    d = result._data
    t = d.time
    if callable(transform):
        out = np.asarray(transform(t), dtype=np.float64)
        if out.shape != t.shape or not np.isfinite(out).all():
            raise InputError("transform(time) must return one finite value per subject.")
        return out, getattr(transform, "__name__", "user")
    if transform not in TRANSFORMS:
        raise InputError(f"transform must be one of {listing(TRANSFORMS)} or a callable; got "
                         f"{transform!r}.")
    if transform == "km":
        out = 1.0 - kaplan_meier(t, d.event)(t, side="left")
    elif transform == "rank":
        out = stats.rankdata(t)
    elif transform == "log":
        out = np.log(t)
    else:
        out = t.copy()
    return out, transform


def _term_list(result, terms):
    names = list(result.coef.index)
    if isinstance(terms, Mapping):
        out, seen = [], []
        for name, cols in terms.items():
            cols = [cols] if isinstance(cols, str) else list(cols)
            bad = [c for c in cols if c not in names]
            if bad or not cols:
                raise InputError(f"term {name!r} names column(s) {listing(bad)} not in the "
                                 f"model ({listing(names)}).")
            out.append((str(name), [names.index(c) for c in cols]))
            seen += cols
        rest = [c for c in names if c not in seen]
        if len(set(seen)) != len(seen):
            raise InputError("a column appears in more than one term.")
        out += [(c, [names.index(c)]) for c in rest]
        return sorted(out, key=lambda term: min(term[1]))     # model column order, as R
    if not isinstance(terms, (bool, np.bool_)):
        raise InputError("terms must be True/False or a mapping {term: [columns]}.")
    return [(c, [j]) for j, c in enumerate(names)]


def _tests(imatr, u2, terms, p, global_test):
    rows = []
    for name, jj in terms:
        kk = np.r_[np.arange(p), np.asarray(jj) + p]
        u = np.r_[np.zeros(p), u2[jj]]
        rows.append((name, float(u @ np.linalg.solve(imatr[np.ix_(kk, kk)], u)), len(jj)))
    if global_test:
        u = np.r_[np.zeros(p), u2]
        rows.append(("GLOBAL", float(u @ np.linalg.solve(imatr, u)), p))
    tab = pd.DataFrame(rows, columns=["term", "chisq", "df"]).set_index("term")
    tab["p"] = stats.chi2.sf(tab["chisq"], tab["df"])
    return tab


def _used(d, p):
    """Events per stratum for covariates that vary within it (R's ``used``)."""
    cd = d.cd
    used = np.zeros((cd.n_strata, p), dtype=np.int64)
    for s in range(cd.n_strata):
        rows = cd.order[cd.strata_start[s]:cd.strata_start[s + 1]]
        varies = np.ptp(d.X[rows], axis=0) > 0
        used[s] = np.where(varies, int(d.event[rows].sum()), 0)
    return used


def _scaled(result, imat, terms, ev_strata):
    """Scaled Schoenfeld residuals and ``solve(vmean)`` as cox.zph."""
    d = result._data
    p = imat.shape[0]
    sch = result.residuals("schoenfeld")[list(result.coef.index)].to_numpy()
    used = _used(d, p)
    wtmat = sum(np.minimum.outer(u, u) for u in used)
    vmean = imat / np.where(wtmat == 0, 1, wtmat)
    beta = result.coef.to_numpy()
    multi = any(len(jj) > 1 for _, jj in terms)
    if multi:
        temp = np.zeros((p, len(terms)))
        for i, (_, jj) in enumerate(terms):
            temp[jj, i] = 1.0 if len(jj) == 1 else beta[jj]
        sch, vmean = sch @ temp, temp.T @ vmean @ temp
        used = used[:, [jj[0] for _, jj in terms]]
    out = np.full_like(sch, np.nan)
    for s in range(used.shape[0]):
        k = np.flatnonzero(used[s] > 0)
        rows = ev_strata == s
        if k.size:
            out[np.ix_(rows, k)] = np.linalg.solve(vmean[np.ix_(k, k)], sch[np.ix_(rows, k)].T).T
    shift = np.array([beta[jj[0]] if len(jj) == 1 else 1.0 for _, jj in terms])
    return out + shift, np.linalg.inv(vmean)


def cox_zph(result: CoxPHResult, transform="km", terms=True,
            global_test: bool = True) -> ZPHResult:
    """Score test of proportional hazards for each term and overall (``cox.zph``).

    Parameters
    ----------
    result : CoxPHResult
        A converged :func:`~radiogenomics.survival.coxph` fit.
    transform : {"km", "rank", "identity", "log"} or callable
        The time transform ``f`` (R's default "km").
    terms : bool or mapping
        Each column of ``X`` is a term (``True``/``False`` alike: a fit from a matrix has no
        multi-column terms); a mapping ``{term: [columns]}`` groups columns (e.g. the dummy
        columns of a factor) into one test with ``len(columns)`` df.
    global_test : bool
        Add the GLOBAL test of all ``theta = 0``.

    Returns
    -------
    ZPHResult
    """
    if not isinstance(result, CoxPHResult):
        raise InputError(f"cox_zph needs a CoxPHResult from coxph(); got {type(result).__name__}.")
    d = result._data
    cd = d.cd
    p = len(result.coef)
    tt, tname = _ttimes(result, transform)
    gtime = tt - tt[d.event == 1].mean()
    g = gtime[cd.order[cd.grp_start]]
    beta = result.coef.to_numpy()
    _, _, imat, u2, i12, i22 = _derivs(d, beta, gt=np.ascontiguousarray(g))
    imatr = np.block([[imat, i12], [i12.T, i22]])
    tl = _term_list(result, terms)
    tab = _tests(imatr, u2, tl, p, global_test)
    ev = np.flatnonzero(cd.status == 1)
    codes = np.repeat(np.arange(cd.n_strata), np.diff(cd.strata_start))[ev]
    y, var = _scaled(result, imat, tl, codes)
    tnames = [name for name, _ in tl]
    rows = cd.order[ev]
    return ZPHResult(table=tab, x=tt[rows], time=d.time[rows],
                     y=pd.DataFrame(y, index=d.index[rows], columns=tnames),
                     strata=None if cd.strata_levels is None else cd.strata_levels[codes],
                     transform=tname, var=pd.DataFrame(var, index=tnames, columns=tnames))
