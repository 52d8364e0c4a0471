"""NRI and IDI at a horizon for censored outcomes (see :mod:`radiogenomics.survival.horizon`)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._checks import InputError, check_rng
from ._data import as_survival
from ._horizon_base import _BLOCK, _horizon, _km_at, _sorted, _vector, _zq

# ------------------------------------------------------------------------------- NRI / IDI
_NRI_STATS = ("nri", "nri_event", "nri_nonevent", "idi")


@dataclass(frozen=True)
class NRIIDIResult:
    """Result of :func:`nri_idi_at`.

    Attributes
    ----------
    horizon : float
    kind : {"continuous", "categorical"}
    cutoffs : tuple of float or None
    nri, nri_event, nri_nonevent, idi : float
        Point estimates (NRI = event NRI + non-event NRI; IDI as described in
        :func:`nri_idi_at`).
    p_up_event, p_down_event, p_up_nonevent, p_down_nonevent : float
        Kaplan-Meier based probabilities of moving up / down among events and non-events.
    n_up, n_down : int
    risk : float
        Kaplan-Meier risk :math:`1 - \\hat S(h)`.
    mean_new_event, mean_old_event, mean_new_nonevent, mean_old_nonevent : float
        Mean predicted risks among events / non-events by the horizon.
    ci : DataFrame
        ``estimate, lower, upper, p_value`` for the four statistics (bootstrap percentile).
    n_boot, n_boot_valid : int
    confidence : float
    """

    horizon: float
    kind: str
    cutoffs: tuple | None
    nri: float
    nri_event: float
    nri_nonevent: float
    idi: float
    p_up_event: float
    p_down_event: float
    p_up_nonevent: float
    p_down_nonevent: float
    n_up: int
    n_down: int
    risk: float
    mean_new_event: float
    mean_old_event: float
    mean_new_nonevent: float
    mean_old_nonevent: float
    ci: pd.DataFrame = field(repr=False)
    n_boot: int
    n_boot_valid: int
    confidence: float

    def to_frame(self) -> pd.DataFrame:
        return self.ci.copy()

    def summary(self) -> str:
        head = (f"{self.kind.capitalize()} NRI and IDI at horizon {self.horizon:g}"
                + (f" (cutoffs {self.cutoffs})" if self.cutoffs else "")
                + f"; KM risk {self.risk:.4f}; {self.n_up} moved up, {self.n_down} down")
        boot = (f"{100 * self.confidence:g}% bootstrap percentile CIs, p-values from "
                f"{self.n_boot_valid}/{self.n_boot} resamples")
        return "\n".join([head, self.ci.to_string(float_format=lambda v: f"{v:.4f}"), boot])

    def __repr__(self) -> str:
        return (f"NRIIDIResult(kind={self.kind!r}, horizon={self.horizon:g}, nri={self.nri:.4f}, "
                f"nri_event={self.nri_event:.4f}, nri_nonevent={self.nri_nonevent:.4f}, "
                f"idi={self.idi:.4f})")


def _nri_idi_rows(t, e, W, h, up, down, new, old, past):
    """NRI / IDI statistics for every row of case weights ``W`` (arrays sorted by time)."""
    S, _ = _km_at(t, e, W, h)
    Su, _ = _km_at(t, e, W * up, h)
    Sd, _ = _km_at(t, e, W * down, h)
    N, nu, nd, sn, so, sn0, so0, wp = (W @ np.column_stack(
        [np.ones_like(up), up, down, new, old, new * past, old * past, past])).T
    fu, fd = nu / N, nd / N
    with np.errstate(divide="ignore", invalid="ignore"):
        F = np.where((S > 0) & (S < 1), 1 - S, np.nan)
        pue, pde = (1 - Su) * fu / F, (1 - Sd) * fd / F
        pun, pdn = Su * fu / S, Sd * fd / S
        m0n, m0o = sn0 / wp, so0 / wp
        m1n = (sn / N - S * m0n) / F
        m1o = (so / N - S * m0o) / F
    return dict(nri=pue - pde + pdn - pun, nri_event=pue - pde, nri_nonevent=pdn - pun,
                idi=(m1n - m1o) - (m0n - m0o), p_up_event=pue, p_down_event=pde,
                p_up_nonevent=pun, p_down_nonevent=pdn, risk=1 - S, mean_new_event=m1n,
                mean_old_event=m1o, mean_new_nonevent=m0n, mean_old_nonevent=m0o)


def _bootstrap_stats(args, n, n_boot, rng):
    """(n_boot, 4) bootstrap replicates of the four statistics, drawn in blocks."""
    out = np.empty((n_boot, len(_NRI_STATS)))
    step = max(1, _BLOCK // n)
    for a in range(0, n_boot, step):
        b = min(step, n_boot - a)
        idx = rng.integers(0, n, size=(b, n)) + n * np.arange(b)[:, None]
        W = np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(float)
        rows = _nri_idi_rows(args[0], args[1], W, *args[2:])
        out[a:a + b] = np.column_stack([rows[k] for k in _NRI_STATS])
    return out


def nri_idi_at(y, risk_new, risk_old, horizon, cutoffs=None, *, n_boot=1000, confidence=0.95,
               rng=None) -> NRIIDIResult:
    r"""Net reclassification improvement and integrated discrimination improvement at a horizon.

    **NRI** for censored data (Pencina, Steyerberg & D'Agostino 2011, section 4; Steyerberg &
    Pencina 2010).  A subject moves *up* when the new model puts it in a higher risk category
    (``cutoffs``, categories :math:`[c_k, c_{k+1})`) or, for the continuous NRI
    (``cutoffs=None``), when :math:`\hat r_\text{new} > \hat r_\text{old}`.  Event status by
    :math:`h` is unknown for subjects censored earlier, so Bayes' rule is applied to
    Kaplan-Meier estimates:

    .. math::

        P(\text{up}\mid\text{event}) = \frac{\{1 - \hat S_\text{up}(h)\}\,n_\text{up}/n}
        {1 - \hat S(h)}, \qquad
        P(\text{up}\mid\text{non-event}) = \frac{\hat S_\text{up}(h)\,n_\text{up}/n}{\hat S(h)},

    likewise for *down*, where :math:`\hat S_\text{up}` is the KM among those moved up;
    :math:`\mathrm{NRI}_e = P(\text{up}|e) - P(\text{down}|e)`,
    :math:`\mathrm{NRI}_{ne} = P(\text{down}|ne) - P(\text{up}|ne)`, NRI their sum.

    **IDI** (Pencina et al. 2008) at :math:`h`: the change in the difference of mean predicted
    risk between events and non-events by :math:`h`.  The non-event means
    :math:`E[\hat r \mid T > h]` are averages over the subjects observed event-free beyond
    :math:`h` (unbiased under censoring independent of covariates); the event means follow
    from Bayes' rule with the KM, the same device as the NRI,
    :math:`E[\hat r \mid T \le h] = \{\bar{\hat r} - \hat S(h) E[\hat r \mid T > h]\}/\{1 -
    \hat S(h)\}` (a Kaplan-Meier rather than IPCW version; Chambless, Cummiskey & Cui 2011).

    Inference: nonparametric bootstrap of subjects (``n_boot`` resamples), percentile CIs and
    the two-sided percentile p-value :math:`\min(1, 2(1 + \min(\#\{\theta^* \le 0\},
    \#\{\theta^* \ge 0\}))/(B + 1))`.  Resamples without an event by :math:`h` or without
    anyone beyond it are left out (warning).  With few reclassified events the bootstrap
    underestimates the spread of the categorical NRI a little (simulation, n = 300, about 12
    reclassified events: 90-92% coverage of nominal 95%; n = 600: 93-96%).  Both models are taken as fixed; when they were fitted to
    the same data the NRI of a useless marker is biased upwards (Pepe et al. 2015): evaluate on
    independent or cross-validated predictions.  The NRI is not a proper scoring rule: report
    calibration and net benefit too (Kerr et al. 2014).

    Parameters
    ----------
    y : survival outcome
    risk_new, risk_old : array-like of shape (n,)
        Predicted risks by ``horizon`` of the new and the reference model, in [0, 1].
    horizon : float
    cutoffs : sequence of float, optional
        Strictly increasing risk-category cutoffs in (0, 1); None gives the continuous NRI.
    n_boot : int
        Bootstrap resamples (0 skips the bootstrap).
    confidence : float
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    NRIIDIResult

    References
    ----------
    Pencina MJ, D'Agostino RB Sr, D'Agostino RB Jr, Vasan RS (2008). *Stat Med* 27:157-172.
    Pencina MJ, D'Agostino RB Sr, Steyerberg EW (2011). Extensions of net reclassification
    improvement calculations to measure usefulness of new biomarkers. *Stat Med* 30:11-21.
    Chambless LE, Cummiskey CP, Cui G (2011). Several methods to assess improvement in risk
    prediction models: extension to survival analysis. *Stat Med* 30:22-38.
    Pepe MS, Fan J, Feng Z, Gerds T, Hilden J (2015). The net reclassification index (NRI): a
    misleading measure of prediction improvement even with independent test data sets.
    *Stat Biosci* 7:282-295.
    """
    t, e, index = as_survival(y, what="y")
    rn = _vector(risk_new, t.size, "risk_new", index)
    ro = _vector(risk_old, t.size, "risk_old", index)
    h = _horizon(horizon, t)
    z_lo, z_hi = (1 - confidence) / 2, (1 + confidence) / 2
    _zq(confidence)
    if int(n_boot) != n_boot or n_boot < 0:
        raise InputError(f"n_boot must be a non-negative integer; got {n_boot}.")
    if cutoffs is None:
        kind, cuts, cn, co = "continuous", None, rn, ro
    else:
        c = np.atleast_1d(np.asarray(cutoffs, dtype=np.float64))
        if c.ndim != 1 or np.any((c <= 0) | (c >= 1)) or np.any(np.diff(c) <= 0):
            raise InputError(f"cutoffs must be strictly increasing and strictly between 0 and 1;"
                             f" got {c.tolist()}.")
        kind, cuts = "categorical", tuple(float(v) for v in c)
        cn, co = np.searchsorted(c, rn, side="right"), np.searchsorted(c, ro, side="right")
    _, ts, es, rn, ro, up, down = _sorted(t, e, rn, ro, (cn > co).astype(float),
                                          (cn < co).astype(float))
    if not ((es == 1) & (ts <= h)).any():
        raise InputError(f"no event by the horizon {h:g}: NRI and IDI need events; choose a "
                         "later horizon.")
    past = (ts > h).astype(float)
    if not past.any():
        raise InputError(f"nobody is followed beyond the horizon {h:g}: the non-event risks are "
                         "not estimable; choose an earlier horizon.")
    args = (ts, es, h, up, down, rn, ro, past)
    est = {k: float(v[0]) for k, v in _nri_idi_rows(ts, es, np.ones((1, t.size)), *args[2:]).items()}
    boot = _bootstrap_stats(args, t.size, int(n_boot), check_rng(rng))
    ok = np.isfinite(boot).all(axis=1)
    bv = boot[ok]
    rows = []
    for j, k in enumerate(_NRI_STATS):
        if bv.shape[0] >= 2:
            lo, hi = np.quantile(bv[:, j], [z_lo, z_hi])
            m = min((bv[:, j] <= 0).sum(), (bv[:, j] >= 0).sum())
            p = min(1.0, 2 * (1 + m) / (bv.shape[0] + 1))
        else:
            lo = hi = p = np.nan
        rows.append((k, est[k], lo, hi, p))
    ci = pd.DataFrame(rows, columns=["statistic", "estimate", "lower", "upper", "p_value"]
                      ).set_index("statistic")
    if n_boot and bv.shape[0] < n_boot:
        warnings.warn(f"{n_boot - bv.shape[0]} of {n_boot} bootstrap resamples had no event by "
                      "the horizon or nobody beyond it and were left out.", UserWarning,
                      stacklevel=2)
    return NRIIDIResult(horizon=h, kind=kind, cutoffs=cuts, n_up=int(up.sum()),
                        n_down=int(down.sum()), ci=ci, n_boot=int(n_boot),
                        n_boot_valid=int(bv.shape[0]), confidence=confidence, **est)
