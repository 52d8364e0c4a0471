r"""Time-to-event outcomes for simulated cohorts: Weibull proportional hazards with centres.

Model (Bender, Augustin & Blettner 2005, *Stat Med* 24:1713, "Generating survival times to
simulate Cox proportional hazards models"): subject ``i`` of centre ``c(i)`` has hazard

.. math::

    h_i(t) = h_0(t)\, \exp(\alpha_{c(i)} + \ell_i),\qquad
    h_0(t) = k\, \lambda^{-k}\, t^{k - 1},\qquad
    \ell_i = z_i^T \beta + \gamma_{age} (\mathrm{age}_i - 60) + \gamma_{sex} \mathrm{male}_i,

with Weibull shape :math:`k` (``shape``) and scale :math:`\lambda` (``scale``), per-centre
log-hazard offsets :math:`\alpha_c` (``centre_log_hazard``: a centre-specific baseline
:math:`h_{0c} = e^{\alpha_c} h_0`, i.e. Weibull scale :math:`\lambda e^{-\alpha_c / k}`),
the cohort's shared latent factors :math:`z` (``truth.shared_factors``, the factors that
drive the radiomic and expression views and the other outcomes) and its clinical
covariates.  Survival :math:`S_i(t) = \exp\{-(t/\lambda)^k e^{\alpha_{c(i)} + \ell_i}\}`, so by
inversion of a uniform :math:`U_i`

.. math::

    T_i = \lambda \left( \frac{-\log U_i}{\exp(\alpha_{c(i)} + \ell_i)} \right)^{1/k}.

Censoring: administrative at the end of follow-up :math:`A` (``admin_censoring``) and random
:math:`C_i`, exponential with rate :math:`r` or uniform on :math:`(0, 1/r)`, independent of
:math:`T`; observed ``event_time`` :math:`= \min(T_i, C_i, A)`, ``event``
:math:`= 1\{T_i \le \min(C_i, A)\}`.  Given a target censored fraction :math:`\pi`, the rate
solves :math:`\frac1n \sum_i P(T_i > \min(C_i, A) \mid \ell_i, c(i)) = \pi` (the expected
fraction given the simulated covariates, computed by quadrature; the realised fraction is
binomial around it), with

.. math::

    P(\text{event}_i) = \int_0^A f_i(t) G(t)\, dt = 1 - S_i(B) G(B) - \int_0^B S_i(t) g(t)\, dt,

:math:`G, g` the survival function and density of :math:`C`, :math:`B = \min(A, 1/r)` for
uniform censoring, :math:`B = A` for exponential.

``null=True`` sets :math:`\beta = 0`: the hazard then depends on the clinical covariates and
the centre only, so it is independent of the imaging and molecular data *given* age, sex and
centre (which do affect those views: a screen must adjust for them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from ._utils import RngLike, as_generator, per_factor, spawn
from .truth import GroundTruth

__all__ = ["SurvivalOutcome", "simulate_survival", "make_survival_cohort"]

#: default clinical log-hazard ratios: per year of age (centred at 60), male vs female
DEFAULT_CLINICAL = {"age": 0.03, "sex_M": 0.3}
CENSORING = ("exponential", "uniform", None)
#: target censored fraction when neither ``censored_fraction`` nor ``censoring_rate`` is given
DEFAULT_CENSORED = 0.3
#: points of the log-time grid used to compute expected censored fractions
_GRID = 4000


@dataclass(frozen=True, eq=False, repr=False)
class SurvivalOutcome:
    r"""A simulated time-to-event outcome and everything used to generate it.

    Attributes
    ----------
    event_time : Series
        Observed follow-up :math:`\min(T_i, C_i, A)` (rounded *up* to ``resolution`` when set).
    event : Series of int
        1 for an observed event, 0 for censored.
    true_time : Series
        Latent event time :math:`T_i` (before censoring and rounding).
    censoring_time : Series
        :math:`\min(C_i, A)` (``inf`` without any censoring).
    linear_predictor : Series
        True :math:`\ell_i = z_i^T\beta + \gamma^T c_i` (no centre offset).  Its C-index against
        the outcome within centres, or that of :attr:`log_hazard` overall, is the C-index of
        the truth.
    centre : Series
        Centre of every sample.
    coefficients : Series
        :math:`\beta` per shared factor (zeros when ``null``).
    clinical_coefficients : Series
        :math:`\gamma` for ``age`` (per year, centred at 60) and ``sex_M``.
    centre_log_hazard : Series
        :math:`\alpha_c` per centre.
    shape, scale : float
        Weibull :math:`k` and :math:`\lambda` of the reference baseline (:math:`\alpha = 0`).
    admin_censoring : float
        :math:`A` (``inf``: none).
    censoring : str or None
        ``"exponential"``, ``"uniform"`` or None (administrative only).
    censoring_rate : float
        :math:`r` (0 without random censoring).
    target_censored_fraction : float or None
        The fraction :math:`r` was solved for (None when ``censoring_rate`` was given).
    expected_censored_fraction : float
        :math:`\frac1n\sum_i P(\text{censored}_i)` at :math:`r`.
    censored_fraction : float
        Realised fraction censored.
    resolution : float or None
    null : bool
    params : dict
    """

    event_time: pd.Series
    event: pd.Series
    true_time: pd.Series
    censoring_time: pd.Series
    linear_predictor: pd.Series
    centre: pd.Series
    coefficients: pd.Series
    clinical_coefficients: pd.Series
    centre_log_hazard: pd.Series
    shape: float
    scale: float
    admin_censoring: float
    censoring: str | None
    censoring_rate: float
    target_censored_fraction: float | None
    expected_censored_fraction: float
    censored_fraction: float
    resolution: float | None
    null: bool
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def log_hazard(self) -> pd.Series:
        r""":math:`\alpha_{c(i)} + \ell_i`: the true log relative hazard of each sample."""
        off = self.centre_log_hazard.reindex(self.centre.to_numpy()).to_numpy()
        return pd.Series(self.linear_predictor.to_numpy() + off, index=self.linear_predictor.index,
                         name="log_hazard")

    def to_frame(self) -> pd.DataFrame:
        """``event_time`` and ``event`` per sample: the outcome columns of a cohort."""
        return pd.DataFrame({"event_time": self.event_time, "event": self.event})

    def cumulative_hazard(self, times, samples=None) -> pd.DataFrame:
        r"""True :math:`H_i(t) = (t/\lambda)^k e^{\alpha_{c(i)} + \ell_i}` (samples x times)."""
        t = np.atleast_1d(np.asarray(times, dtype=np.float64))
        if (t < 0).any() or not np.isfinite(t).all():
            raise ValueError("times must be finite and >= 0")
        lh = self.log_hazard if samples is None else self.log_hazard.loc[list(samples)]
        H = np.exp(lh.to_numpy())[:, None] * (t[None, :] / self.scale) ** self.shape
        return pd.DataFrame(H, index=lh.index, columns=pd.Index(t, name="time"))

    def survival_function(self, times, samples=None) -> pd.DataFrame:
        r"""True :math:`S_i(t) = \exp(-H_i(t))` (samples x times)."""
        return np.exp(-self.cumulative_hazard(times, samples))

    def marginal_survival(self, times) -> pd.Series:
        r"""Population-average :math:`\bar S(t) = \frac1n \sum_i S_i(t)` of these samples: what a
        Kaplan-Meier estimate of ``(event_time, event)`` estimates (censoring is independent)."""
        return self.survival_function(times).mean(axis=0).rename("survival")

    def summary(self) -> str:
        ev = int(self.event.sum())
        n = len(self.event)
        lines = [
            "Simulated survival outcome (Weibull proportional hazards)",
            f"  n = {n}, events = {ev}, censored = {self.censored_fraction:.3f} (expected "
            f"{self.expected_censored_fraction:.3f}"
            + (f", target {self.target_censored_fraction:.3f})" if self.target_censored_fraction
               is not None else ")"),
            f"  baseline: shape = {self.shape:g}, scale = {self.scale:g}; admin censoring at "
            f"{self.admin_censoring:g}; random censoring: {self.censoring or 'none'}"
            + (f" (rate {self.censoring_rate:.4g})" if self.censoring else ""),
            "  log-HR per shared factor: "
            + ", ".join(f"{k}={v:.3f}" for k, v in self.coefficients.items())
            + ("  (null)" if self.null else ""),
            "  clinical log-HR: "
            + ", ".join(f"{k}={v:.3f}" for k, v in self.clinical_coefficients.items()),
            "  centre log-hazard offsets: " + ", ".join(
                f"{k}={v:+.2f}" for k, v in self.centre_log_hazard.items()),
            f"  SD of the true linear predictor: {self.linear_predictor.std():.3f}",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"SurvivalOutcome(n={len(self.event)}, events={int(self.event.sum())}, "
                f"censored={self.censored_fraction:.2f}, shape={self.shape:g}, "
                f"scale={self.scale:g}, null={self.null})")


# ----------------------------------------------------------------------------- censoring

def _mean_survival_grid(log_hazard, shape, scale, t_hi):
    """Log-spaced grid ``t`` on ``(t_hi e^-40, t_hi]`` and the mean survival ``S_bar(t)``."""
    s = np.linspace(np.log(t_hi) - 40.0, np.log(t_hi), _GRID)
    t = np.exp(s)
    base = (t / scale) ** shape
    sbar = np.zeros(_GRID)
    r = np.exp(log_hazard)
    for lo in range(0, r.size, 256):   # chunks of samples: memory stays ~ 8 MB
        sbar += np.exp(-np.outer(r[lo:lo + 256], base)).sum(axis=0)
    return t, sbar / r.size


def _expected_censored(rate, kind, t, sbar, s_admin, admin):
    r"""Mean :math:`P(\text{censored}) = \bar S(B) G(B) + \int_0^B \bar S g` at censoring ``rate``.

    Integrals over the log-time grid by the trapezoidal rule (``dt = t ds``)."""
    if kind is None or rate == 0.0:
        return s_admin
    if kind == "exponential":
        g = rate * np.exp(-rate * t)
        G_B = np.exp(-rate * admin) if np.isfinite(admin) else 0.0
        return s_admin * G_B + np.trapezoid(sbar * g * t, np.log(t))
    upper = 1.0 / rate
    B = min(admin, upper)
    G_B = 1.0 - B / upper
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (sbar[1:] * t[1:] + sbar[:-1] * t[:-1])
                                           * np.diff(np.log(t)))])
    return s_admin * G_B + np.interp(np.log(B), np.log(t), cum, right=cum[-1]) / upper


def _censoring_setup(log_hazard, shape, scale, admin):
    """The grid, ``S_bar`` on it and ``S_bar(A)`` (0 without administrative censoring)."""
    t_all = scale * (40.0 / np.exp(log_hazard.min())) ** (1.0 / shape)  # all S_i < e^-40 beyond
    t, sbar = _mean_survival_grid(log_hazard, shape, scale, min(admin, t_all))
    s_admin = float(np.mean(np.exp(-np.exp(log_hazard) * (admin / scale) ** shape))) \
        if np.isfinite(admin) else 0.0
    return t, sbar, s_admin


def _solve_rate(log_hazard, shape, scale, admin, kind, target):
    """Censoring rate giving the expected censored fraction ``target``; also that fraction."""
    t, sbar, s_admin = _censoring_setup(log_hazard, shape, scale, admin)
    t_hi = t[-1]
    if target < s_admin - 1e-9:
        raise ValueError(
            f"censored_fraction={target:.3f} is not attainable: administrative censoring at "
            f"admin_censoring={admin:g} alone censors {s_admin:.3f} of the samples in "
            "expectation. Lower the target, extend admin_censoring or shorten the scale.")
    if target <= s_admin + 1e-9:
        return 0.0, s_admin

    def f(log_rate):
        return _expected_censored(np.exp(log_rate), kind, t, sbar, s_admin, admin) - target

    # from negligible censoring to a mean censoring time e^5 grid points above the grid's start
    lo, hi = np.log(1e-12 / t_hi), -5.0 - np.log(t[0])
    if f(hi) < 0:
        raise ValueError(f"censored_fraction={target:.3f} is not attainable (the largest "
                         "censoring rate tried censors less); choose a smaller target")
    log_rate = optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-12, maxiter=500)
    rate = float(np.exp(log_rate))
    return rate, float(_expected_censored(rate, kind, t, sbar, s_admin, admin))


# ----------------------------------------------------------------------------- arguments

def _centre_offsets(centre_log_hazard, levels, rng) -> np.ndarray:
    """Per-centre log-hazard offsets: drawn N(0, sd^2) for a float, else as given."""
    C = len(levels)
    if isinstance(centre_log_hazard, Mapping):
        unknown = set(map(str, centre_log_hazard)) - set(levels)
        missing = set(levels) - set(map(str, centre_log_hazard))
        if unknown or missing:
            raise ValueError(f"centre_log_hazard must give one offset per centre {levels}; "
                             f"unknown {sorted(unknown)}, missing {sorted(missing)}")
        out = np.array([float({str(k): v for k, v in centre_log_hazard.items()}[c])
                        for c in levels])
    elif np.ndim(centre_log_hazard) == 0:
        sd = float(centre_log_hazard)
        if not np.isfinite(sd) or sd < 0:
            raise ValueError(f"centre_log_hazard as a number is the SD of the per-centre "
                             f"log-hazard offsets and must be >= 0; got {centre_log_hazard!r}")
        out = rng.normal(0.0, sd, C) if sd > 0 else np.zeros(C)
    else:
        out = np.asarray(centre_log_hazard, dtype=float)
        if out.shape != (C,):
            raise ValueError(f"centre_log_hazard must be a number (SD), a mapping or {C} "
                             f"offsets (centres {levels}); got shape {out.shape}")
    if not np.isfinite(out).all():
        raise ValueError("centre_log_hazard offsets must be finite")
    return out


def _clinical(clinical_coefficients) -> pd.Series:
    cc = dict(DEFAULT_CLINICAL)
    if clinical_coefficients is not None:
        unknown = set(clinical_coefficients) - set(DEFAULT_CLINICAL)
        if unknown:
            raise ValueError(f"clinical_coefficients has unknown keys {sorted(unknown)}; valid: "
                             f"{sorted(DEFAULT_CLINICAL)} (age per year, male vs female)")
        cc.update({k: float(v) for k, v in clinical_coefficients.items()})
    out = pd.Series(cc, name="log_hr", dtype=float)
    if not np.isfinite(out).all():
        raise ValueError("clinical_coefficients must be finite")
    return out


def _check_positive(name, value, allow_inf=False):
    v = float(value)
    if not (v > 0) or (np.isinf(v) and not allow_inf) or np.isnan(v):
        raise ValueError(f"{name} must be a positive{'' if not allow_inf else ' (or inf)'} "
                         f"number, got {value!r}")
    return v


def _check_args(shape, scale, admin_censoring, censoring, censored_fraction, censoring_rate,
                resolution):
    """Validated ``(shape, scale, admin, target fraction or None, resolution)``."""
    shape = _check_positive("shape", shape)
    scale = _check_positive("scale", scale)
    admin = np.inf if admin_censoring is None else _check_positive(
        "admin_censoring", admin_censoring, allow_inf=True)
    if censoring not in CENSORING:
        raise ValueError(f"censoring must be 'exponential', 'uniform' or None, got {censoring!r}")
    if censoring is None and (censoring_rate is not None or censored_fraction is not None):
        raise ValueError("censoring_rate and censored_fraction need random censoring: "
                         "censoring='exponential' or 'uniform'")
    if censoring_rate is not None and censored_fraction is not None:
        raise ValueError("give either censored_fraction (a target, the rate is solved for) or "
                         "censoring_rate, not both")
    if censored_fraction is not None and not 0.0 <= float(censored_fraction) < 1.0:
        raise ValueError(f"censored_fraction must be in [0, 1), got {censored_fraction!r}")
    target = None
    if censoring is not None and censoring_rate is None:
        target = DEFAULT_CENSORED if censored_fraction is None else float(censored_fraction)
    if resolution is not None:
        resolution = _check_positive("resolution", resolution)
    return shape, scale, admin, target, resolution


def simulate_survival(
    truth: GroundTruth,
    *,
    coefficients: float | Sequence[float] | None = None,
    clinical_coefficients: Mapping[str, float] | None = None,
    shape: float = 1.5,
    scale: float = 5.0,
    centre_log_hazard: float | Sequence[float] | Mapping[str, float] = 0.5,
    admin_censoring: float | None = 8.0,
    censoring: str | None = "exponential",
    censored_fraction: float | None = None,
    censoring_rate: float | None = None,
    resolution: float | None = None,
    null: bool = False,
    rng: RngLike = None,
) -> SurvivalOutcome:
    r"""Simulate a Weibull proportional-hazards outcome driven by a cohort's shared factors.

    See the module docstring for the model.  Everything (the sample IDs, the shared factors
    :math:`z`, ``age``, ``sex`` and ``centre``) comes from ``truth``, the
    :class:`~data_sim.GroundTruth` of :func:`data_sim.make_cohort`, so the outcome belongs to
    every sample of the cohort; :func:`make_survival_cohort` does both steps.

    Parameters
    ----------
    truth : GroundTruth
    coefficients : float or sequence, optional
        Log-hazard ratios :math:`\beta` per shared factor (per SD: the factors are N(0, 1));
        default :math:`0.7 \cdot 2^{1-k}` (HR 2.0 for F1, 1.4 for F2).
    clinical_coefficients : mapping, optional
        ``{"age": per year, "sex_M": male vs female}``; defaults 0.03 and 0.3.
    shape, scale : float
        Weibull shape :math:`k` (> 1: hazard increasing with time) and scale :math:`\lambda`
        of the baseline at offset 0 (time units are arbitrary, e.g. years).
    centre_log_hazard : float, sequence or mapping
        A number: the SD of per-centre offsets :math:`\alpha_c \sim N(0, sd^2)` (drawn; 1.0 gives
        strong centre effects, hazard ratios of e^2 between centres are common); a sequence
        (in the order ``C1, C2, ...``) or a mapping ``{centre: offset}``: the offsets themselves.
    admin_censoring : float or None
        End of follow-up :math:`A` (None: no administrative censoring).
    censoring : {"exponential", "uniform", None}
        Random censoring: exponential with rate :math:`r`, uniform on :math:`(0, 1/r)`, or none.
    censored_fraction : float, optional
        Target expected censored fraction (administrative and random together; default 0.3
        unless ``censoring_rate`` is given); the rate is solved for it (ValueError if
        administrative censoring alone exceeds it).
    censoring_rate : float, optional
        Give :math:`r` directly instead of a target.
    resolution : float, optional
        Round observed times *up* to multiples of this (e.g. ``1/365.25`` for days): ties, as
        in real follow-up data.  Default: continuous times.
    null : bool
        :math:`\beta = 0`: no effect of the imaging/molecular latent factors (clinical and
        centre effects kept).
    rng : int, Generator, ... or None
        Random source (SPEC 7); same seed, same outcome.

    Returns
    -------
    SurvivalOutcome
    """
    if not isinstance(truth, GroundTruth):
        raise TypeError(f"truth must be the GroundTruth of data_sim.make_cohort, got "
                        f"{type(truth).__name__}")
    params = {k: v for k, v in locals().items() if k != "truth"}
    params["rng"] = rng if isinstance(rng, (int, np.integer)) else None
    shape, scale, admin, target, resolution = _check_args(
        shape, scale, admin_censoring, censoring, censored_fraction, censoring_rate, resolution)
    z = truth.shared_factors
    k = z.shape[1]
    beta = per_factor(0.7 * 0.5 ** np.arange(k) if coefficients is None else coefficients, k,
                      "coefficients")
    if not np.isfinite(beta).all():
        raise ValueError("coefficients must be finite")
    if null:
        beta = np.zeros(k)
    gamma = _clinical(clinical_coefficients)
    levels = [str(c) for c in truth.centre_effects["radiomics"]["additive"].index]
    r_centre, r_time, r_cens = spawn(as_generator(rng), 3)
    alpha = _centre_offsets(centre_log_hazard, levels, r_centre)

    ids = truth.sample_ids
    cov = truth.covariates.reindex(ids)
    age_c = cov["age"].to_numpy(float) - 60.0
    male = (cov["sex"] == "M").to_numpy(float)
    lp = z.reindex(ids).to_numpy(float) @ beta + gamma["age"] * age_c + gamma["sex_M"] * male
    centre = truth.centre.reindex(ids).astype(str)
    off = pd.Series(alpha, index=levels).reindex(centre.to_numpy()).to_numpy()
    log_haz = lp + off
    n = len(ids)

    u = 1.0 - r_time.random(n)                       # (0, 1]
    T = scale * (-np.log(u) / np.exp(log_haz)) ** (1.0 / shape)
    if censoring is None:
        rate, expected = 0.0, None
    elif censoring_rate is not None:
        rate, expected = _check_positive("censoring_rate", censoring_rate), None
    else:
        rate, expected = _solve_rate(log_haz, shape, scale, admin, censoring, target)
    if expected is None:
        expected = _expected_censored(rate, censoring, *_censoring_setup(log_haz, shape, scale,
                                                                         admin), admin)
    if censoring is None or rate == 0.0:
        C = np.full(n, np.inf)
    elif censoring == "exponential":
        C = r_cens.exponential(1.0 / rate, n)
    else:
        C = r_cens.uniform(0.0, 1.0 / rate, n)
    C = np.minimum(C, admin)
    event = (T <= C).astype(np.int64)
    obs = np.minimum(T, C)
    if not np.isfinite(obs).all():
        raise ValueError("some event times are infinite (no censoring and a zero hazard); give "
                         "admin_censoring or smaller negative log-hazards")
    if resolution is not None:
        obs = np.ceil(obs / resolution) * resolution
    fac = z.columns
    ser = lambda v, name: pd.Series(v, index=ids, name=name)  # noqa: E731
    return SurvivalOutcome(
        event_time=ser(obs, "event_time"), event=ser(event, "event"),
        true_time=ser(T, "true_time"), censoring_time=ser(C, "censoring_time"),
        linear_predictor=ser(lp, "linear_predictor"), centre=centre.rename("centre"),
        coefficients=pd.Series(beta, index=fac, name="log_hr"),
        clinical_coefficients=gamma,
        centre_log_hazard=pd.Series(alpha, index=pd.Index(levels, name="centre"),
                                    name="log_hazard_offset"),
        shape=shape, scale=scale, admin_censoring=float(admin), censoring=censoring,
        censoring_rate=float(rate), target_censored_fraction=target,
        expected_censored_fraction=float(expected), censored_fraction=float(1.0 - event.mean()),
        resolution=resolution, null=bool(null), params=params)


def make_survival_cohort(*args, survival: Mapping[str, Any] | None = None, **kwargs):
    """:func:`data_sim.make_cohort` plus a survival outcome (:func:`simulate_survival`).

    Parameters
    ----------
    *args, **kwargs
        Passed to :func:`~data_sim.make_cohort` (``rng`` included; ``return_frames`` too).
    survival : mapping, optional
        Keyword arguments of :func:`simulate_survival` (without ``rng``).

    Returns
    -------
    cohort : radiogenomics.Cohort or SimulatedFrames
        The cohort of ``make_cohort(*args, **kwargs)`` (identical views for the same ``rng``)
        with outcome columns ``event_time`` and ``event`` added to ``outcomes``.
    truth : GroundTruth
        The cohort's truth; ``truth.extras["survival"]`` is the :class:`SurvivalOutcome`
        (true linear predictor, coefficients, baseline and censoring parameters).

    Notes
    -----
    Random streams: the cohort is drawn from ``rng`` exactly as by ``make_cohort`` (its ten
    child streams), the survival outcome from the next child stream of the same seed, so
    changing ``survival`` never changes the imaging or molecular data.
    """
    from radiogenomics import Cohort

    from .cohort import make_cohort

    survival = dict(survival or {})
    if "rng" in survival:
        raise ValueError("give rng to make_survival_cohort itself (it seeds both parts), not "
                         "inside survival=")
    rng = kwargs.pop("rng", None)
    return_frames = kwargs.pop("return_frames", False)
    gen = as_generator(rng)
    frames, truth = make_cohort(*args, rng=gen, return_frames=True, **kwargs)
    truth.params["rng"] = rng if isinstance(rng, (int, np.integer)) else None
    outcome = simulate_survival(truth, rng=spawn(gen, 1)[0], **survival)
    clash = {"event_time", "event"} & set(frames.outcomes.columns)
    if clash:  # pragma: no cover - make_cohort has no such columns
        raise ValueError(f"outcomes already have columns {sorted(clash)}")
    outcomes = frames.outcomes.join(outcome.to_frame())
    truth.extras["survival"] = outcome
    frames = frames._replace(outcomes=outcomes)
    if return_frames:
        return frames, truth
    return Cohort(views=frames.views, covariates=frames.covariates, centre=frames.centre,
                  outcomes=outcomes), truth
