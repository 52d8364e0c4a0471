"""SuSiE fine-mapping from summary statistics, as R susieR 0.12.35's ``susie_rss``.

References
----------
Wang G, Sarkar A, Carbonetto P, Stephens M (2020). A simple new approach to variable selection
in regression, with application to genetic fine mapping. J R Stat Soc B 82:1273-1300 (the sum of
single effects model and its IBSS algorithm).  Zou Y, Carbonetto P, Wang G, Stephens M (2022).
Fine-mapping from summary data with the "Sum of Single Effects" model. PLoS Genet 18:e1010299
(``susie_rss``: the sufficient statistics from z-scores, LD and n).  R package susieR 0.12.35
(github.com/stephenslab/susieR; functions ``susie_rss``, ``susie_suff_stat``,
``update_each_effect_ss``, ``single_effect_regression_ss``, ``optimize_prior_variance``,
``get_objective_ss``, ``susie_get_cs``, ``get_purity``, ``susie_get_pip``).  Brent R (1973).
Algorithms for Minimization without Derivatives, ch. 5 (the bounded one-dimensional minimiser
``fmin`` used by R's ``optimize`` / ``optim(method = "Brent")``).

Model and algorithm (susieR's semantics)
----------------------------------------
``y = X b + e``, ``e ~ N(0, sigma2 I)``, ``b = sum_l b_l``; each single effect ``b_l`` has one
non-zero entry, at SNP ``j`` with prior probability ``pi_j`` and ``N(0, V_l)`` size.  Summary
statistics give the sufficient statistics ``X'X``, ``X'y``, ``y'y``:

* ``z`` with ``n``: ``z`` is first shrunk to the PVE-adjusted ``z sqrt((n-1)/(z^2+n-2))``;
  ``X'X = (n-1) R``, ``X'y = sqrt(n-1) z``, ``y'y = n-1`` (``var_y = 1``);
* ``bhat``, ``shat``, ``var_y`` with ``n``: ``z = bhat/shat`` adjusted as above with factor
  ``adj``, ``d_j = var_y adj / shat_j^2``, ``X'X = D^(1/2) R D^(1/2)``,
  ``X'y = z sqrt(adj) var_y / shat``, ``y'y = (n-1) var_y`` (without ``var_y`` as the z case);
* ``z`` without ``n`` (discouraged, as susieR warns): ``X'X = R``, ``X'y = z``, ``y'y = 1``,
  ``n = 2``, no standardisation, prior variance ``prior_variance`` (z scale, default 50).

With ``n`` the columns are standardised (``standardize=TRUE``: ``X'X_jk / (c_j c_k)``,
``c_j = sqrt(X'X_jj/(n-1))``) and the initial prior variance is ``scaled_prior_variance *
var(y)`` (default 0.2); ``sigma2`` starts at ``y'y/(n-1)``.  One IBSS sweep updates each effect
``l`` on the residual ``X'r = X'y - X'X sum_{k != l} alpha_k mu_k`` by a single-effect regression:
``bhat_j = X'r_j / d_j``, ``s2_j = sigma2 / d_j``, per-SNP log BF
``lbf_j = log N(bhat_j; 0, V + s2_j) - log N(bhat_j; 0, s2_j)``, ``alpha = softmax(lbf + log pi)``,
posterior ``mu_j = (X'r_j / sigma2) / (1/V + d_j/sigma2)``, ``mu2_j = 1/(1/V + d_j/sigma2) +
mu_j^2``, ``lbf_model = log sum_j pi_j exp(lbf_j)``.  The prior variance (``estimate_prior_method``):

* ``"optim"`` (default): ``log V`` maximising ``lbf_model`` by Brent's bounded minimiser on
  ``[-30, 15]`` with R's ``optim`` tolerance ``sqrt(2^-52)`` (reproduced step by step here: given the
  same function values it returns R's iterate bit for bit; R's and numpy's rounding of the
  log-likelihood differ by ulps, which can move the result within Brent's ~1e-7 stopping band);
  kept at the previous ``V`` if that is better;
* ``"EM"``: ``V = sum_j alpha_j mu2_j`` (after the posterior is formed with the old ``V``);
* ``"simple"``: ``V`` unchanged;

then ``V = 0`` whenever ``lbf_model(0) + check_null_threshold >= lbf_model(V)``.  The ELBO is
``-n/2 log(2 pi sigma2) - E||y - Xb||^2 / (2 sigma2) - sum_l KL_l`` with ``KL_l = -lbf_model_l -
(1/(2 sigma2)) (-2 sum_j Eb_j X'r_j + sum_j d_j Eb2_j)``; iterations stop when it increases by less
than ``tol`` (``converged``; otherwise a warning after ``max_iter`` sweeps, never silenced, and
``converged=False`` in the result).  With ``estimate_residual_variance`` ``sigma2 =
E||y - Xb||^2 / n`` after each unconverged sweep.

Credible sets (``susie_get_cs``): for each effect with ``V > 1e-9`` the smallest set of SNPs,
by decreasing ``alpha``, whose cumulative ``alpha`` reaches ``coverage``; duplicates dropped;
purity = min / mean / median absolute correlation among its SNPs (from ``cov2cor(X'X)``; a set of
more than ``n_purity`` SNPs is subsampled with ``rng`` -- R uses its own RNG there, so only such
large sets may differ from susieR); sets with min purity ``< min_abs_corr`` are dropped and the
rest sorted by decreasing purity.  ``PIP_j = 1 - prod_{l: V_l > prior_tol} (1 - alpha_lj)``.

Not implemented: susieR's ``refine``, ``null_weight``, ``maf`` filtering, ``z_ld_weight`` and
``s_init`` arguments.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._checks import InputError, check_rng

__all__ = ["susie_rss", "susie_suff_stat", "SusieResult"]

_LN_SQRT_2PI = 0.918938533204672741780329736406  # log(sqrt(2 pi)), as R's M_LN_SQRT_2PI
_SQRT_EPS = math.sqrt(np.finfo(float).eps)


# ----------------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------------
@dataclass(repr=False)
class SusieResult(Mapping):
    """A SuSiE fit (susieR's ``susie`` object).

    Attributes (``L`` effects, ``p`` SNPs): ``alpha``, ``mu``, ``mu2``, ``lbf_variable``
    (``L x p``; ``mu``/``mu2`` on the standardised scale, as susieR), ``V`` (prior variances),
    ``lbf`` (per-effect log BF), ``KL``, ``sigma2``, ``elbo`` (one value per sweep), ``niter``,
    ``converged``, ``pip``, ``snp`` (names), ``sets`` (``cs`` as 0-based index arrays, ``cs_index``
    1-based effect numbers as in R, ``coverage``, ``purity``), ``cs`` (per credible set: name
    ``L<l>``, SNP names, coverage and purity), ``X_column_scale_factors``.

    It is a read-only mapping with (at least) the keys ``lbf_variable``, ``snp`` and
    ``cs_index``, so :func:`radiogenomics.mr.coloc_susie` accepts it directly.
    """

    alpha: np.ndarray
    mu: np.ndarray
    mu2: np.ndarray
    lbf_variable: np.ndarray
    V: np.ndarray
    lbf: np.ndarray
    KL: np.ndarray
    sigma2: float
    elbo: np.ndarray
    niter: int
    converged: bool
    pip: np.ndarray
    snp: list
    sets: dict
    X_column_scale_factors: np.ndarray
    n: float | None = None
    settings: dict = field(default_factory=dict)

    # Mapping interface ----------------------------------------------------------------------
    _KEYS = ("alpha", "mu", "mu2", "lbf_variable", "V", "lbf", "KL", "sigma2", "elbo", "niter",
             "converged", "pip", "snp", "sets", "cs_index", "X_column_scale_factors")

    def __getitem__(self, key):
        if key == "cs_index":
            return list(self.sets["cs_index"])
        if key in self._KEYS:
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self):
        return iter(self._KEYS)

    def __len__(self):
        return len(self._KEYS)

    # convenience ----------------------------------------------------------------------------
    @property
    def cs_index(self) -> list:
        """1-based effect numbers of the credible sets (susieR's ``fit$sets$cs_index``)."""
        return list(self.sets["cs_index"])

    @property
    def cs(self) -> list:
        """Credible sets: dicts with ``name`` (``L<l>``), ``effect`` (l, 1-based), ``snps``,
        ``index`` (0-based), ``coverage``, ``min_abs_corr``, ``mean_abs_corr``,
        ``median_abs_corr``."""
        out = []
        for k, idx in enumerate(self.sets["cs"]):
            pur = self.sets["purity"][k]
            out.append({"name": f"L{self.sets['cs_index'][k]}", "effect": int(self.sets["cs_index"][k]),
                        "snps": [self.snp[j] for j in idx], "index": np.asarray(idx),
                        "coverage": float(self.sets["coverage"][k]), "min_abs_corr": float(pur[0]),
                        "mean_abs_corr": float(pur[1]), "median_abs_corr": float(pur[2])})
        return out

    @property
    def coef(self) -> np.ndarray:
        """Posterior mean effects on the input scale (susieR's ``coef`` without intercept):
        ``sum_{l: V_l > prior_tol} alpha_l mu_l / c``."""
        keep = self.V > self.settings.get("prior_tol", 1e-9)
        return (self.alpha * self.mu)[keep].sum(axis=0) / self.X_column_scale_factors

    def cs_frame(self) -> pd.DataFrame:
        """One row per credible set: name, effect, size, coverage, purity, SNPs (comma list)."""
        rows = [{"cs": c["name"], "effect": c["effect"], "size": len(c["snps"]),
                 "coverage": c["coverage"], "min_abs_corr": c["min_abs_corr"],
                 "mean_abs_corr": c["mean_abs_corr"], "median_abs_corr": c["median_abs_corr"],
                 "snps": ",".join(c["snps"])} for c in self.cs]
        return pd.DataFrame(rows, columns=["cs", "effect", "size", "coverage", "min_abs_corr",
                                           "mean_abs_corr", "median_abs_corr", "snps"])

    def to_frame(self) -> pd.DataFrame:
        """One row per SNP: ``snp``, ``pip``, ``cs`` (name of the credible set holding it, or
        empty), ``posterior_mean`` (:attr:`coef`), and ``alpha_L<l>`` / ``lbf_L<l>`` per effect."""
        df = pd.DataFrame({"snp": self.snp, "pip": self.pip, "cs": ""})
        for c in self.cs:
            cur = df.loc[c["index"], "cs"]
            df.loc[c["index"], "cs"] = np.where(cur == "", c["name"], cur + "," + c["name"])
        df["posterior_mean"] = self.coef
        for l in range(self.alpha.shape[0]):
            df[f"alpha_L{l + 1}"] = self.alpha[l]
        for l in range(self.alpha.shape[0]):
            df[f"lbf_L{l + 1}"] = self.lbf_variable[l]
        return df

    def __repr__(self) -> str:
        L, p = self.alpha.shape
        head = (f"SusieResult(p={p} SNPs, L={L} effects, {'converged' if self.converged else 'NOT converged'}"
                f" after {self.niter} iterations, ELBO={self.elbo[-1]:.6g}, sigma2={self.sigma2:.6g},"
                f" {len(self.sets['cs'])} credible set(s))")
        lines = [head]
        for c in self.cs:
            shown = ", ".join(c["snps"][:8]) + (", ..." if len(c["snps"]) > 8 else "")
            lines.append(f"  {c['name']}: {len(c['snps'])} SNP(s), coverage {c['coverage']:.4f}, "
                         f"min |r| {c['min_abs_corr']:.4f}: {shown}")
        top = np.argsort(-self.pip, kind="stable")[:5]
        lines.append("  top PIPs: " + ", ".join(f"{self.snp[j]}={self.pip[j]:.4g}" for j in top))
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# numerical pieces
# ----------------------------------------------------------------------------------------------
def _log_dnorm(x: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """log N(x; 0, sd^2) evaluated as R's ``dnorm(log=TRUE)``: -(log sqrt(2pi) + u^2/2 + log sd)."""
    u = x / sd
    return -(_LN_SQRT_2PI + 0.5 * u * u + np.log(sd))


def _ser_lbf(V: float, betahat: np.ndarray, shat2: np.ndarray) -> np.ndarray:
    """Per-SNP log Bayes factors of the single-effect regression (prior N(0, V))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lbf = _log_dnorm(betahat, np.sqrt(V + shat2)) - _log_dnorm(betahat, np.sqrt(shat2))
    lbf[np.isinf(shat2)] = 0.0
    return lbf


def _ser_loglik(V: float, betahat, shat2, prior_weights) -> float:
    """``log sum_j pi_j BF_j(V)`` (susieR's ``loglik``), stabilised by the largest log BF."""
    lbf = _ser_lbf(V, betahat, shat2)
    m = lbf.max()
    return float(math.log(np.sum(np.exp(lbf - m) * prior_weights)) + m)


def _brent_fmin(f, lower: float, upper: float, tol: float) -> float:
    """Brent's (1973) bounded minimiser of a unimodal ``f`` on ``[lower, upper]``.

    Golden-section steps combined with parabolic interpolation; stops when the bracket
    half-width around the current best ``x`` is within ``2 (sqrt(eps) |x| + tol/3)``.  This is the
    algorithm behind R's ``optimize`` and ``optim(method="Brent")`` (whose ``tol`` is
    ``reltol = sqrt(2^-52)``); it is re-implemented here step for step so that, given the same function
    values, the same sequence of trial points, hence the same minimiser, results.
    """
    golden = 0.5 * (3.0 - math.sqrt(5.0))  # squared inverse of the golden ratio
    a, b = lower, upper
    x = w = v = a + golden * (b - a)
    fx = fw = fv = f(x)
    d = e = 0.0
    tol3 = tol / 3.0
    while True:
        xm = 0.5 * (a + b)
        tol1 = _SQRT_EPS * abs(x) + tol3
        t2 = 2.0 * tol1
        if abs(x - xm) <= t2 - 0.5 * (b - a):
            return x
        p = q = r = 0.0
        if abs(e) > tol1:  # trial parabola through x, w, v
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = 2.0 * (q - r)
            if q > 0.0:
                p = -p
            else:
                q = -q
            r = e
            e = d
        if abs(p) >= abs(0.5 * q * r) or p <= q * (a - x) or p >= q * (b - x):
            e = (b - x) if x < xm else (a - x)  # golden-section step into the larger part
            d = golden * e
        else:  # parabolic step, kept away from the bracket ends
            d = p / q
            u = x + d
            if u - a < t2 or b - u < t2:
                d = tol1 if x < xm else -tol1
        if abs(d) >= tol1:
            u = x + d
        else:
            u = x + (tol1 if d > 0.0 else -tol1)
        fu = f(u)
        if fu <= fx:
            if u < x:
                b = x
            else:
                a = x
            v, fv = w, fw
            w, fw = x, fx
            x, fx = u, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv = w, fw
                w, fw = u, fu
            elif fu <= fv or v == x or v == w:
                v, fv = u, fu


def _optimize_prior_variance(method: str, betahat, shat2, prior_weights, V_init: float,
                             check_null_threshold: float, alpha=None, post_mean2=None) -> float:
    """susieR's ``optimize_prior_variance`` (methods ``optim``, ``EM``, ``simple``)."""
    V = V_init
    if method == "optim":
        def negll(lV):
            return -_ser_loglik(math.exp(lV), betahat, shat2, prior_weights)
        lV = _brent_fmin(negll, -30.0, 15.0, _SQRT_EPS)
        # keep the previous V when it is at least as good (R compares -loglik at log(V_init))
        if negll(lV) > -_ser_loglik(V_init, betahat, shat2, prior_weights):
            V = V_init
        else:
            V = math.exp(lV)
    elif method == "EM":
        V = float(np.sum(alpha * post_mean2))
    elif method != "simple":
        raise InputError(f"estimate_prior_method must be 'optim', 'EM' or 'simple', got {method!r}")
    if (_ser_loglik(0.0, betahat, shat2, prior_weights) + check_null_threshold
            >= _ser_loglik(V, betahat, shat2, prior_weights)):
        V = 0.0
    return V


def _single_effect_ss(XtR, d, V, sigma2, prior_weights, method, check_null_threshold):
    """One single-effect regression on sufficient statistics (``single_effect_regression_ss``)."""
    betahat = XtR / d
    shat2 = sigma2 / d
    if method not in ("none", "EM"):
        V = _optimize_prior_variance(method, betahat, shat2, prior_weights, V, check_null_threshold)
    lbf = _ser_lbf(V, betahat, shat2)
    maxlbf = lbf.max()
    w = np.exp(lbf - maxlbf) * prior_weights
    sw = w.sum()
    alpha = w / sw
    with np.errstate(divide="ignore"):
        post_var = 1.0 / (np.divide(1.0, np.float64(V)) + d / sigma2)
    post_mean = (1.0 / sigma2) * post_var * XtR
    post_mean2 = post_var + post_mean ** 2
    lbf_model = maxlbf + math.log(sw)
    if method == "EM":
        V = _optimize_prior_variance("EM", betahat, shat2, prior_weights, V, check_null_threshold,
                                     alpha=alpha, post_mean2=post_mean2)
    return alpha, post_mean, post_mean2, lbf, V, lbf_model


def _er2(XtX, Xty, alpha, mu, mu2, yty, d) -> float:
    """Expected residual sum of squares E||y - Xb||^2 (susieR's ``get_ER2_ss``)."""
    B = alpha * mu
    XB2 = float(np.sum((B @ XtX) * B))
    betabar = B.sum(axis=0)
    return float(yty - 2.0 * np.sum(betabar * Xty) + np.sum(betabar * (XtX @ betabar)) - XB2
                 + np.sum(d * (alpha * mu2)))


def _elbo(XtX, Xty, alpha, mu, mu2, KL, sigma2, yty, n, d) -> float:
    er2 = _er2(XtX, Xty, alpha, mu, mu2, yty, d)
    return -n / 2.0 * math.log(2.0 * math.pi * sigma2) - er2 / (2.0 * sigma2) - float(np.sum(KL))


def _in_cs(a: np.ndarray, coverage: float) -> np.ndarray:
    """0-based indices of the smallest top-alpha set reaching ``coverage`` (``in_CS_x``), sorted."""
    order = np.argsort(-a, kind="stable")
    k = int(np.sum(np.cumsum(a[order]) < coverage)) + 1
    return np.sort(order[:k])


def _get_cs(alpha, V, Xcorr, coverage, min_abs_corr, n_purity, rng) -> dict:
    """Credible sets with purity filtering (``susie_get_cs`` with ``Xcorr``, ``dedup=TRUE``)."""
    L = alpha.shape[0]
    cs_all = [_in_cs(alpha[l], coverage) for l in range(L)]
    claimed = [float(np.sum(alpha[l][cs_all[l]])) for l in range(L)]
    seen = []
    include = []
    for l in range(L):
        dup = any(len(s) == len(cs_all[l]) and np.array_equal(s, cs_all[l]) for s in seen)
        seen.append(cs_all[l])
        include.append(bool(V[l] > 1e-9) and len(cs_all[l]) > 0 and not dup)
    empty = {"cs": [], "cs_index": [], "coverage": [], "purity": [], "requested_coverage": coverage,
             "dropped": []}
    idx = [l for l in range(L) if include[l]]
    if not idx:
        return empty
    purity = []
    for l in idx:
        pos = cs_all[l]
        if len(pos) == 1:
            purity.append((1.0, 1.0, 1.0))
            continue
        if len(pos) > n_purity:
            pos = rng.choice(pos, size=n_purity, replace=False)
        sub = np.abs(Xcorr[np.ix_(pos, pos)])
        vals = sub[np.triu_indices(len(pos), k=1)]
        purity.append((float(vals.min()), float(np.sum(vals) / len(vals)), float(np.median(vals))))
    pure = [k for k in range(len(idx)) if purity[k][0] >= min_abs_corr]
    dropped = [{"effect": idx[k] + 1, "size": len(cs_all[idx[k]]), "min_abs_corr": purity[k][0],
                "reason": f"impure: min |r| {purity[k][0]:.4g} < min_abs_corr {min_abs_corr}"}
               for k in range(len(idx)) if purity[k][0] < min_abs_corr]
    if not pure:
        empty["dropped"] = dropped
        return empty
    order = sorted(pure, key=lambda k: -purity[k][0])  # stable: ties keep effect order, as R
    return {"cs": [cs_all[idx[k]] for k in order], "cs_index": [idx[k] + 1 for k in order],
            "coverage": [claimed[idx[k]] for k in order], "purity": [purity[k] for k in order],
            "requested_coverage": coverage, "dropped": dropped}


def _cov2cor(A: np.ndarray) -> np.ndarray:
    """R's ``cov2cor``: ``A_jk / sqrt(A_jj A_kk)`` with unit diagonal."""
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sqrt(1.0 / np.diag(A))
    C = s[:, None] * A * s[None, :]
    np.fill_diagonal(C, 1.0)
    return C


# ----------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------
def susie_suff_stat(XtX, Xty, yty: float, n: float, L: int = 10, scaled_prior_variance: float = 0.2,
                    residual_variance: float | None = None, estimate_residual_variance: bool = True,
                    estimate_prior_variance: bool = True, estimate_prior_method: str = "optim",
                    check_null_threshold: float = 0.0, prior_tol: float = 1e-9, prior_weights=None,
                    standardize: bool = True, max_iter: int = 100, coverage: float = 0.95,
                    min_abs_corr: float = 0.5, tol: float = 1e-3, n_purity: int = 100,
                    check_prior: bool = False, snp=None, rng=None) -> SusieResult:
    """SuSiE on sufficient statistics ``X'X``, ``X'y``, ``y'y``, ``n`` (susieR's
    ``susie_suff_stat``); see the module docstring for the model, the IBSS updates and the
    stopping rule.  Defaults are susieR 0.12.35's (note ``estimate_residual_variance=True`` here,
    as in susieR; :func:`susie_rss` sets it to False).

    ``rng`` (int or Generator) is used only to subsample credible sets larger than ``n_purity``
    when computing their purity (R's ``sample``; such purities cannot equal R's draw).
    """
    rng = check_rng(rng)
    XtX = np.array(XtX, dtype=np.float64, copy=True)
    Xty = np.array(Xty, dtype=np.float64, copy=True).ravel()
    if XtX.ndim != 2 or XtX.shape[0] != XtX.shape[1]:
        raise InputError(f"XtX must be a square p x p matrix, got shape {XtX.shape}; give X'X (or "
                         "the LD matrix) over the same SNPs as Xty")
    p = XtX.shape[0]
    if len(Xty) != p:
        raise InputError(f"XtX is {p} x {p} but Xty has {len(Xty)} entries; give both over the same SNPs "
                         "in the same order")
    if n is None or not np.isfinite(n) or n <= 1:
        raise InputError(f"n (sample size) must be a number greater than 1, got {n!r}")
    if np.isnan(XtX).any():
        raise InputError("XtX (or R) contains NaN; remove those SNPs or fill the LD from a reference panel")
    if np.isinf(Xty).any():
        raise InputError("Xty contains infinite values; check the summary statistics (shat = 0?)")
    if np.isnan(Xty).any():
        nbad = int(np.isnan(Xty).sum())
        warnings.warn(f"{nbad} NaN value(s) in Xty replaced by 0 (as susieR)", UserWarning, stacklevel=2)
        Xty[np.isnan(Xty)] = 0.0
    if not np.allclose(XtX, XtX.T, rtol=0, atol=100 * np.finfo(float).eps * max(1.0, np.abs(XtX).max())):
        warnings.warn("XtX is not symmetric; replaced by (XtX + XtX')/2 (as susieR)", UserWarning, stacklevel=2)
        XtX = (XtX + XtX.T) / 2.0
    if estimate_prior_method not in ("optim", "EM", "simple"):
        raise InputError(f"estimate_prior_method must be 'optim', 'EM' or 'simple', got {estimate_prior_method!r}")
    if not np.isscalar(scaled_prior_variance) or scaled_prior_variance < 0:
        raise InputError("scaled_prior_variance must be a non-negative number")
    if scaled_prior_variance > 1 and standardize:
        raise InputError("scaled_prior_variance must be <= 1 when standardize=True (it is a share of var(y))")
    if int(L) < 1:
        raise InputError(f"L (number of effects) must be >= 1, got {L}")
    if standardize:
        csd = np.sqrt(np.diag(XtX) / (n - 1.0))
        csd[csd == 0] = 1.0
        XtX = (XtX / csd[:, None]) / csd[None, :]
        Xty = Xty / csd
    else:
        csd = np.ones(p)
    d = np.diag(XtX).copy()
    varY = yty / (n - 1.0)
    sigma2 = float(varY if residual_variance is None else residual_variance)
    if not sigma2 > 0:
        raise InputError(f"residual variance must be positive, got {sigma2} (is var(y) zero?)")
    if prior_weights is None:
        pw = np.full(p, 1.0 / p)
    else:
        pw = np.asarray(prior_weights, dtype=np.float64).ravel()
        if len(pw) != p:
            raise InputError(f"prior_weights has {len(pw)} entries for {p} SNPs; give one per SNP")
        if np.any(pw < 0) or not np.any(pw > 0) or not np.all(np.isfinite(pw)):
            raise InputError("prior_weights must be finite, non-negative and not all zero")
        pw = pw / pw.sum()
    L = min(int(L), p)
    alpha = np.full((L, p), 1.0 / p)
    mu = np.zeros((L, p))
    mu2 = np.zeros((L, p))
    lbf_variable = np.full((L, p), np.nan)
    lbf_model = np.full(L, np.nan)
    KL = np.full(L, np.nan)
    V = np.full(L, scaled_prior_variance * varY, dtype=np.float64)
    XtXr = np.zeros(p)
    method = estimate_prior_method if estimate_prior_variance else "none"

    with np.errstate(divide="ignore", invalid="ignore"):
        zz = (Xty / d) / np.sqrt(sigma2 / d)
    zm = float(np.max(np.abs(zz[~np.isnan(zz)]))) if np.any(~np.isnan(zz)) else 0.0

    elbo = [-np.inf]
    converged = False
    it = 0
    for it in range(1, int(max_iter) + 1):
        for l in range(L):
            XtXr = XtXr - XtX @ (alpha[l] * mu[l])
            XtR = Xty - XtXr
            a_l, m_l, m2_l, lbf_l, V_l, lm = _single_effect_ss(XtR, d, V[l], sigma2, pw, method,
                                                               check_null_threshold)
            alpha[l], mu[l], mu2[l], lbf_variable[l], V[l], lbf_model[l] = a_l, m_l, m2_l, lbf_l, V_l, lm
            Eb, Eb2 = a_l * m_l, a_l * m2_l
            KL[l] = -lm + (-0.5 / sigma2) * (-2.0 * np.sum(Eb * XtR) + np.sum(d * Eb2))
            XtXr = XtXr + XtX @ (alpha[l] * mu[l])
        if check_prior and np.any(V > 100.0 * zm ** 2):
            raise InputError("the estimated prior variance is unreasonably large (> 100 max z^2); this "
                             "usually means the summary statistics and the LD matrix do not match "
                             "(different samples, allele coding or SNP order): check the input, or "
                             "pass check_prior=False to fit anyway")
        e = _elbo(XtX, Xty, alpha, mu, mu2, KL, sigma2, yty, n, d)
        if np.isinf(e):
            raise InputError("the ELBO became infinite; check the input (R, z, n)")
        elbo.append(e)
        if elbo[-1] - elbo[-2] < tol:
            converged = True
            break
        if estimate_residual_variance:
            s2 = _er2(XtX, Xty, alpha, mu, mu2, yty, d) / n
            if s2 < 0:
                raise InputError("estimating the residual variance gave a negative value; use "
                                 "estimate_residual_variance=False (R is probably not in-sample LD)")
            sigma2 = s2
    if not converged:
        warnings.warn(f"IBSS algorithm did not converge in {max_iter} iterations (ELBO change "
                      f"{elbo[-1] - elbo[-2]:.3g} >= tol {tol}); the result has converged=False. "
                      "Check that the summary statistics and the LD matrix are consistent, or raise "
                      "max_iter.", RuntimeWarning, stacklevel=2)
    Xcorr = XtX if np.all(np.isin(d, (0.0, 1.0))) else _cov2cor(XtX)
    sets = _get_cs(alpha, V, Xcorr, coverage, min_abs_corr, n_purity, rng)
    keep = V > prior_tol
    pip = 1.0 - np.prod(1.0 - alpha[keep], axis=0) if keep.any() else np.zeros(p)
    snp = [f"s{j + 1}" for j in range(p)] if snp is None else [str(s) for s in snp]
    return SusieResult(alpha=alpha, mu=mu, mu2=mu2, lbf_variable=lbf_variable, V=V, lbf=lbf_model, KL=KL,
                       sigma2=sigma2, elbo=np.asarray(elbo[1:]), niter=it, converged=converged, pip=pip,
                       snp=snp, sets=sets, X_column_scale_factors=csd, n=n,
                       settings={"L": L, "coverage": coverage, "min_abs_corr": min_abs_corr, "tol": tol,
                                 "max_iter": max_iter, "prior_tol": prior_tol,
                                 "estimate_prior_method": method,
                                 "estimate_residual_variance": estimate_residual_variance})


def _check_R(R, p: int, r_tol: float) -> np.ndarray:
    """Validate an LD (correlation) matrix: square p x p, finite, symmetric, unit diagonal, PSD-ish."""
    R = np.asarray(R, dtype=np.float64) if not isinstance(R, pd.DataFrame) else R.to_numpy(np.float64)
    if R.ndim != 2 or R.shape[0] != R.shape[1]:
        raise InputError(f"R must be a square LD (correlation) matrix, got shape {R.shape}")
    if R.shape[0] != p:
        raise InputError(f"R is {R.shape[0]} x {R.shape[1]} but there are {p} SNPs in z (or bhat); give "
                         "the LD matrix of exactly those SNPs, in the same order")
    if not np.all(np.isfinite(R)):
        raise InputError("R contains NaN or infinite values; drop those SNPs (from z and R) or take "
                         "their LD from a reference panel")
    if np.max(np.abs(R - R.T)) > 1e-8:
        raise InputError(f"R is not symmetric (max |R - R'| = {np.max(np.abs(R - R.T)):.3g}); give a "
                         "correlation matrix, e.g. (R + R.T) / 2 if the asymmetry is rounding")
    if np.max(np.abs(np.diag(R) - 1.0)) > 1e-6:
        raise InputError("R must be a correlation matrix with unit diagonal; convert a covariance "
                         "matrix with cov2cor (R_jk / sqrt(R_jj R_kk))")
    lam = np.linalg.eigvalsh((R + R.T) / 2.0)
    if lam[0] < -r_tol * max(1.0, lam[-1]):
        raise InputError(f"R is not positive semi-definite (smallest eigenvalue {lam[0]:.3g}); it "
                         "does not come from one sample of genotypes. Use an in-sample or consistent "
                         "reference LD, or regularise it (e.g. (1-s) R + s I), or raise r_tol")
    return R


def susie_rss(z=None, R=None, n: float | None = None, bhat=None, shat=None, var_y: float | None = None,
              *, snp=None, L: int = 10, prior_variance: float = 50.0, scaled_prior_variance: float = 0.2,
              residual_variance: float | None = None, estimate_residual_variance: bool = False,
              estimate_prior_variance: bool = True, estimate_prior_method: str = "optim",
              check_null_threshold: float = 0.0, prior_tol: float = 1e-9, prior_weights=None,
              max_iter: int = 100, tol: float = 1e-3, coverage: float = 0.95, min_abs_corr: float = 0.5,
              n_purity: int = 100, check_prior: bool = True, r_tol: float = 1e-3,
              rng=None) -> SusieResult:
    """SuSiE fine-mapping from z-scores (or ``bhat``/``shat``) and an LD matrix, as susieR
    0.12.35's ``susie_rss`` (Zou et al. 2022); formulas in the module docstring.

    Parameters
    ----------
    z : array of p z-scores (or a Series; its index gives the SNP names), or None with
        ``bhat`` and ``shat``.
    R : p x p LD correlation matrix of the same SNPs in the same order (DataFrame or array).
    n : GWAS sample size (strongly recommended; without it susieR's large-n approximation is used,
        with a warning, and ``prior_variance`` on the z scale).
    bhat, shat : effect estimates and standard errors (instead of ``z``); with ``var_y`` (the
        phenotype variance) the effects are on the original scale.
    snp : SNP names (default: the Series index of ``z``/``bhat``, else ``s1..sp``).
    L, scaled_prior_variance, residual_variance, estimate_residual_variance,
    estimate_prior_variance, estimate_prior_method, check_null_threshold, prior_tol,
    prior_weights, max_iter, tol, coverage, min_abs_corr, n_purity, check_prior :
        as susieR (``prior_variance`` applies only without ``n``; ``scaled_prior_variance`` only
        with ``n``, as in susieR where ``susie_rss`` forwards it to ``susie_suff_stat``).
    r_tol : R is refused when its smallest eigenvalue is below ``-r_tol * max(1, largest)``
        (susieR does not check; a clearly indefinite R means z and R are inconsistent).
    rng : int or Generator, only for the purity subsample of sets larger than ``n_purity``.

    Returns
    -------
    SusieResult (also a mapping accepted by :func:`radiogenomics.mr.coloc_susie`).
    Raises InputError for missing/inconsistent inputs (with the fix in the message).
    """
    if z is None and (bhat is None or shat is None):
        raise InputError("give either z, or both bhat and shat (with R and, ideally, n)")
    if z is not None and (bhat is not None or shat is not None):
        raise InputError("give either z or (bhat, shat), not both")
    if R is None:
        raise InputError("R is required: give the LD matrix (correlations) of the SNPs in z, in the same "
                         "order (in-sample, or from a matching reference panel)")
    src = z if z is not None else bhat
    if snp is None:
        if isinstance(src, pd.Series):
            snp = [str(s) for s in src.index]
        elif isinstance(R, pd.DataFrame):
            snp = [str(s) for s in R.columns]
    if z is not None:
        z = np.asarray(z, dtype=np.float64).ravel()
        p = len(z)
        if np.isnan(z).any():
            bad = np.flatnonzero(np.isnan(z))[:10].tolist()
            raise InputError(f"z has {int(np.isnan(z).sum())} NaN value(s) (0-based positions {bad}); "
                             "drop those SNPs from z and R (susieR would silently set them to 0)")
        if np.isinf(z).any():
            raise InputError("z has infinite values; check the summary statistics")
    else:
        bhat = np.asarray(bhat, dtype=np.float64).ravel()
        shat = np.asarray(shat, dtype=np.float64).ravel()
        if shat.size == 1:
            shat = np.full(bhat.size, shat[0])
        if bhat.size != shat.size:
            raise InputError(f"bhat has {bhat.size} values but shat {shat.size}; give one per SNP")
        if np.isnan(bhat).any() or np.isnan(shat).any():
            raise InputError("bhat/shat contain NaN; drop those SNPs from bhat, shat and R")
        if np.any(shat <= 0):
            raise InputError("shat must be positive; drop SNPs with zero or negative standard errors")
        p = bhat.size
        z = bhat / shat
    if snp is not None and len(snp) != p:
        raise InputError(f"{len(snp)} SNP names for {p} SNPs; give one name per SNP")
    R = _check_R(R, p, r_tol)
    if n is not None and not n > 1:
        raise InputError(f"n (sample size) must be greater than 1, got {n!r}")
    common = dict(L=L, estimate_residual_variance=estimate_residual_variance,
                  estimate_prior_variance=estimate_prior_variance,
                  estimate_prior_method=estimate_prior_method, check_null_threshold=check_null_threshold,
                  prior_tol=prior_tol, prior_weights=prior_weights, max_iter=max_iter, coverage=coverage,
                  min_abs_corr=min_abs_corr, tol=tol, n_purity=n_purity, check_prior=check_prior,
                  residual_variance=residual_variance, snp=snp, rng=rng)
    if n is None:
        warnings.warn("no sample size n given: the fit assumes n is large and effects small (susieR's "
                      "approximation); providing n, even roughly, is highly recommended",
                      UserWarning, stacklevel=2)
        return susie_suff_stat(R, z, yty=1.0, n=2.0, scaled_prior_variance=prior_variance,
                               standardize=False, **common)
    adj = (n - 1.0) / (z ** 2 + n - 2.0)
    z = np.sqrt(adj) * z
    if shat is not None and var_y is not None:
        dd = var_y * adj / shat ** 2
        sq = np.sqrt(dd)
        XtX = (R * sq[None, :]) * sq[:, None]
        XtX = (XtX + XtX.T) / 2.0
        Xty = z * np.sqrt(adj) * var_y / shat
    else:
        XtX = (n - 1.0) * R
        Xty = math.sqrt(n - 1.0) * z
        var_y = 1.0
    return susie_suff_stat(XtX, Xty, yty=(n - 1.0) * var_y, n=n,
                           scaled_prior_variance=scaled_prior_variance, standardize=True, **common)
