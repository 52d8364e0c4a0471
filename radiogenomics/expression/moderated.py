"""Moderated (limma) association screen: imaging features x genes, with permutation max-T.

For every imaging feature ``x_j`` and gene ``k`` the model is limma's

    E_k = beta_jk * x_j + Z gamma_jk + e,      Var(e_i) = sigma_jk^2 / w_ik,

with ``Z`` the intercept, covariates and centre, ``E`` log2 expression (voom's log-CPM with
precision weights ``w`` when the view holds counts, unit weights otherwise).  The residual
variances ``s_jk^2`` of one imaging feature's models are squeezed towards a prior fitted over
all genes (limma's ``squeezeVar``: Smyth 2004, *Stat Appl Genet Mol Biol* 3:3; ``trend=True``
lets the prior follow average expression, ``robust=True`` protects it from outlier genes,
Phipson et al. 2016, *Ann Appl Stat* 10:946), giving the moderated t

    t~_jk = beta_jk / (s~_jk * u_j),   s~^2 = (d0 s0^2 + d s^2) / (d0 + d),

on ``d0 + d`` degrees of freedom (capped at the pooled ``d * genes``, as limma does).  With
one imaging feature this is exactly ``topTable(eBayes(lmFit(v, design)), coef = "x")`` with
``design = [Z, x]``; with many, the prior is estimated separately for each imaging feature (each
is its own limma analysis).

**Permutations.**  Freedman-Lane (as :func:`radiogenomics.associate` does for the ordinary t):
the residuals of each gene under the reduced model ``E_k ~ Z`` are permuted (freely or within
centres), added back to the fitted values, and the *whole* moderated analysis is redone on the
permuted data, prior re-estimated, for every imaging feature.  That gives per-pair permutation
p-values ``(1 + #exceed) / (1 + B)`` and max-T family-wise p-values over all pairs: limma's
power with family-wise error control by permutation (Freedman-Lane is approximate with
nuisance covariates; its error rates under the null are in ``benchmarks/README.md``, from
``benchmarks/validity_moderated.py``).  Only unit weights are permuted: voom's
precision weights belong to the observed samples' fitted means, so with counts and
permutations the statistic (observed and permuted alike) is limma-trend on TMM log-CPM (Law et
al. 2014, *Genome Biol* 15:R29, find it close to voom when library sizes are comparable).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import InputError, check_rng, listing
from ..association import AssociationResult, _residual_unit_columns, adjust_pvalues
from ..resampling import PermutationScheme
from ..resampling.engine import exceedance_threshold, maxt_pvalues, maxt_threshold, permutation_pvalue
from ..resampling.indices import iter_batches

__all__ = ["ModeratedAssociationResult", "moderated_association", "looks_like_counts"]


def looks_like_counts(Y: pd.DataFrame) -> bool:
    """True when every value is a non-negative whole number (a counts matrix, not log expression)."""
    v = Y.to_numpy(dtype=np.float64)
    return bool(np.isfinite(v).all() and (v >= 0).all() and np.array_equal(v, np.round(v)))


@dataclass(repr=False)
class ModeratedAssociationResult(AssociationResult):
    """An :class:`~radiogenomics.association.AssociationResult` of limma's moderated t.

    ``t`` holds moderated t statistics, ``pvalues`` their p-values on ``df_total`` degrees of
    freedom; ``r`` is the ordinary partial correlation of each imaging feature with the
    (log-)expression, an effect size for plots and tables (it is not what is tested).
    ``null_max`` (with permutations) is the max |moderated t| over all pairs per permutation.

    Extra attributes
    ----------------
    logfc : DataFrame
        Change in log2 expression per unit of the imaging feature (limma's ``logFC``).
    ave_expr : Series
        Average log2 expression of each gene (``AveExpr``).
    df_total : DataFrame
        Degrees of freedom of each moderated t.
    s2_prior, df_prior : DataFrame
        Prior variance and degrees of freedom (imaging feature x gene; constant along a row
        unless ``trend`` / ``robust``).
    weights : str
        ``"voom"`` or ``"none"``.
    expression : str
        What was analysed (e.g. ``"counts: TMM log-CPM, voom weights"``).
    trend, robust : bool
    norm_factors : Series or None
        Library-size normalisation factors when the view held counts.
    """

    logfc: pd.DataFrame | None = None
    ave_expr: pd.Series | None = None
    df_total: pd.DataFrame | None = None
    s2_prior: pd.DataFrame | None = None
    df_prior: pd.DataFrame | None = None
    weights: str = "none"
    expression: str = "log-expression"
    trend: bool = False
    robust: bool = False
    norm_factors: pd.Series | None = None

    @property
    def null_max_t(self) -> np.ndarray | None:
        return self.null_max

    def r_to_t(self, r):
        """Identity on |t|: a moderated screen's null and thresholds are in |t| already."""
        return np.abs(np.asarray(r, dtype=np.float64))

    def fwer_threshold(self, alpha: float | None = None) -> float:
        """The |moderated t| a pair must exceed to be significant by max-T at ``alpha``."""
        if self.null_max is None:
            raise ValueError("no permutations were run; call associate(..., n_permutations=B)")
        return maxt_threshold(self.null_max, self.alpha if alpha is None else alpha, self.n_permutations)

    def to_frame(self, top: int | None = None, significant_only: bool = False,
                 sort_by: str | None = None) -> pd.DataFrame:
        """Tidy table as :meth:`AssociationResult.to_frame`, with limma's columns added.

        ``df`` is each pair's ``df_total``; ``logFC`` and ``AveExpr`` as in ``topTable``.
        """
        out = super().to_frame(top=top, significant_only=significant_only, sort_by=sort_by)
        i = self.r.index.get_indexer(out["feature_x"])
        j = self.r.columns.get_indexer(out["feature_y"])
        out["df"] = self.df_total.to_numpy()[i, j]
        out.insert(2, "logFC", self.logfc.to_numpy()[i, j])
        out.insert(3, "AveExpr", self.ave_expr.to_numpy()[j])
        return out

    _r_label = "partial r"

    def _model_lines(self) -> list[str]:
        return [f"  n = {self.n_samples}, residual df = {self.df}, limma moderated t "
                f"({self.expression}; eBayes{' trend' if self.trend else ''}"
                f"{' robust' if self.robust else ''}), covariates = "
                f"{', '.join(self.covariates) or 'none'}",
                f"  prior df d0 = {_span(self.df_prior.to_numpy())}, "
                f"total df = {_span(self.df_total.to_numpy())}"]

    def _threshold_text(self, thr: float) -> str:
        return f"|t~| > {thr:.2f}" if np.isfinite(thr) else "none reachable (raise B)"

    def __repr__(self) -> str:
        return "ModeratedAssociationResult\n" + self.summary()


def _span(v: np.ndarray) -> str:
    if v.size == 0:
        return "-"
    v = v[np.isfinite(v)] if np.isfinite(v).any() else v
    lo, hi = float(np.min(v)), float(np.max(v))
    return f"{lo:.3g}" if np.isclose(lo, hi) else f"{lo:.3g} to {hi:.3g}"


# --------------------------------------------------------------------------- statistics
@dataclass
class _Moderated:
    t: np.ndarray          # (p, q)
    logfc: np.ndarray
    s2_prior: np.ndarray   # (p, q)
    df_prior: np.ndarray   # (p, q)
    df_total: np.ndarray   # (p, q)


def _squeeze_rows(s2: np.ndarray, d: float, amean, trend: bool, robust: bool):
    """limma's squeezeVar for each row of ``s2`` (one imaging feature's genes): posterior,
    prior variance and prior df, each (p, q)."""
    from .limma import squeeze_var

    p, q = s2.shape
    post, prior, d0 = (np.empty((p, q)) for _ in range(3))
    for j in range(p):
        sq = squeeze_var(s2[j], d, covariate=amean if trend else None, robust=robust)
        post[j] = sq.var_post
        prior[j] = np.broadcast_to(np.asarray(sq.var_prior, dtype=np.float64), q)
        d0[j] = np.broadcast_to(np.asarray(sq.df_prior, dtype=np.float64), q)
    return post, prior, d0


def _moderated_unweighted(Xt: np.ndarray, S: np.ndarray, R: np.ndarray, d: int, amean,
                          trend: bool, robust: bool) -> _Moderated:
    """Moderated t of every imaging feature against every gene, unit weights.

    ``Xt`` (n, p): imaging features residualised on Z; ``S = ||Xt_j||^2``; ``R`` (n, q): gene
    expression residualised on Z.  By Frisch-Waugh-Lovell the coefficient of ``x_j`` is
    ``Xt_j' R_k / S_j``, its unscaled SD ``1/sqrt(S_j)`` and the residual sum of squares
    ``||R_k||^2 - (Xt_j' R_k)^2 / S_j``; the moderation then follows limma.
    """
    num = Xt.T @ R                                  # (p, q)
    ss = np.einsum("ij,ij->j", R, R)                # (q,)
    rss = np.maximum(ss[None, :] - num * num / S[:, None], 0.0)
    s2 = rss / d
    post, prior, d0 = _squeeze_rows(s2, d, amean, trend, robust)
    df_total = np.minimum(d + d0, d * R.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = num / np.sqrt(S[:, None] * post)
    return _Moderated(t=t, logfc=num / S[:, None], s2_prior=prior, df_prior=d0, df_total=df_total)


def _moderated_voom(Xdf: pd.DataFrame, counts: pd.DataFrame, Zv: np.ndarray, lib_size: np.ndarray,
                    trend: bool, robust: bool) -> tuple[_Moderated, np.ndarray]:
    """voom + lmFit + eBayes per imaging feature (each with design ``[Z, x_j]``); also returns
    limma's ``Amean`` (mean of voom's log-CPM per gene)."""
    from .limma import ebayes, lm_fit, voom

    p, q = Xdf.shape[1], counts.shape[1]
    out = {k: np.empty((p, q)) for k in ("t", "logfc", "s2_prior", "df_prior", "df_total")}
    amean = None
    for j, name in enumerate(Xdf.columns):
        design = np.column_stack([Zv, Xdf[name].to_numpy(dtype=np.float64)])
        v = voom(counts, design, lib_size=lib_size)
        eb = ebayes(lm_fit(v.E, design, weights=v.weights), trend=trend, robust=robust)
        last = eb.t.columns[-1]
        out["t"][j] = eb.t[last].to_numpy()
        out["logfc"][j] = eb.coefficients[last].to_numpy()
        out["s2_prior"][j] = np.broadcast_to(np.asarray(eb.s2_prior, dtype=np.float64), q)
        out["df_prior"][j] = np.broadcast_to(np.asarray(eb.df_prior, dtype=np.float64), q)
        out["df_total"][j] = np.broadcast_to(np.asarray(eb.df_total, dtype=np.float64), q)
        if amean is None:   # voom's log-CPM does not depend on the design
            amean = eb.amean.to_numpy(dtype=np.float64)
    return _Moderated(**out), amean


def _two_sided(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    return 2.0 * stats.t.sf(np.abs(t), df)


# --------------------------------------------------------------------------- permutations
def _permutation_null(Xt, S, E_res, Q, d, amean, trend, robust, observed, *, n_permutations,
                      scheme, rng, progress):
    """Freedman-Lane null of the moderated t: exceedance counts per pair and max |t~| per
    permutation.  ``E_res`` holds the reduced-model residuals (these are permuted)."""
    from ..resampling.engine import _progress_bar

    n, q = E_res.shape
    p = Xt.shape[1]
    thr = exceedance_threshold(np.abs(observed))
    counts = np.zeros(observed.shape, dtype=np.int64)
    # a chunk of permutations: b * n * q doubles for the permuted residuals (~64 MB)
    batch = int(max(1, min(256, 64e6 / (8.0 * n * q))))
    n_total = scheme.resamples_for(n_permutations)
    null_max = np.empty(n_total)
    done = 0
    caught: dict[str, type] = {}
    with _progress_bar(progress, n_total, 4.0 * n_total * (p + 2) * q * n,
                       "moderated-t permutations") as bar, warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        for perms in iter_batches(scheme, n_permutations, batch, rng=rng):
            for pi in perms:
                Ep = E_res[pi]
                R = Ep - Q @ (Q.T @ Ep)
                tb = _moderated_unweighted(Xt, S, R, d, amean, trend, robust).t
                a = np.abs(tb)
                counts += a >= thr
                null_max[done] = np.nanmax(a)
                done += 1
            bar.update(len(perms))
            for w in log:
                caught.setdefault(str(w.message), w.category)
            log.clear()
    for message, category in caught.items():  # each distinct warning once, not B times
        warnings.warn(f"in the permutations: {message}", category, stacklevel=3)
    return counts, null_max, done


# --------------------------------------------------------------------------- entry point
def _log_cpm_counts(counts: pd.DataFrame, normalization: str, prior_count: float):
    from .normalize import calc_norm_factors, cpm

    nf = calc_norm_factors(counts, method=normalization, allow_fractional=True)
    lib = counts.sum(axis=1).to_numpy(dtype=np.float64)
    E = cpm(counts, norm_factors=nf, log=True, prior_count=prior_count, allow_fractional=True)
    return E, nf, lib


def moderated_association(Xdf: pd.DataFrame, Ydf: pd.DataFrame, Z: pd.DataFrame, *,
                          counts="auto", voom=None, trend=None, robust=False,
                          normalization="TMM", prior_count=3.0, n_permutations=0,
                          blocks=None, whole_blocks=False, rng=None, progress=None,
                          correction="fdr_bh", fdr_on="parametric", alpha=0.05,
                          degenerate="raise", x_name="x", y_name="y",
                          dropped=None) -> ModeratedAssociationResult:
    """The moderated screen behind ``associate(..., method="limma")`` (see the module docstring).

    ``Xdf`` (samples x imaging features), ``Ydf`` (samples x genes: counts or log expression)
    and the covariate design ``Z`` (intercept first) are aligned already.
    """
    what = "Y" if y_name == "y" else f"view {y_name!r}"
    values = Ydf.to_numpy(dtype=np.float64)
    nonneg = bool((values >= 0).all())
    if counts == "auto":
        counts = looks_like_counts(Ydf)
        if not counts and nonneg and np.nanmax(values) > 100:
            warnings.warn(
                f"{what} holds non-negative, non-integer values up to {np.nanmax(values):.4g}: "
                "analysed as log expression; if these are estimated counts (salmon, kallisto, "
                "RSEM), pass counts=True", UserWarning, stacklevel=3)
    elif not isinstance(counts, (bool, np.bool_)):
        raise ValueError(f"counts must be 'auto', True or False, got {counts!r}")
    if counts and not nonneg:
        raise InputError(
            f"{what} was declared counts but holds negative values; counts (whole or "
            "estimated) are >= 0: check the input, or pass counts=False if it is log expression")
    if voom is None:
        voom = bool(counts) and n_permutations == 0
    if voom and not counts:
        raise InputError(f"voom needs counts; {what} holds log expression (pass voom=False, "
                         "or counts=True for estimated counts)")
    if voom and n_permutations:
        raise InputError(
            "permutations of the moderated t use unit weights (voom's precision weights belong to "
            "the observed samples' fitted means and do not permute with the residuals): pass "
            "voom=False for limma-trend on TMM log-CPM with permutations, or n_permutations=0")
    if trend is None:
        trend = bool(counts) and not voom
    Zv = Z.to_numpy(dtype=np.float64)
    n = len(Xdf)
    d = n - np.linalg.matrix_rank(Zv) - 1
    if d < 1:
        raise InputError(f"the moderated screen has no residual degrees of freedom (n = {n}, design "
                         f"rank {np.linalg.matrix_rank(Zv) + 1}); drop covariates or add samples")
    nf = lib = None
    if counts:
        lib_zero = Ydf.index[Ydf.sum(axis=1).to_numpy() <= 0]
        if len(lib_zero):
            raise InputError(f"samples {listing(lib_zero)} have no counts at all in {what}; "
                             "remove them")
        E, nf, lib = _log_cpm_counts(Ydf, normalization, prior_count)
        expression = f"counts: {normalization} log-CPM" + (", voom weights" if voom else "")
    else:
        E = Ydf.astype(np.float64)
        expression = "log-expression"
    Ev = E.to_numpy(dtype=np.float64)
    A = Xdf.to_numpy(dtype=np.float64)
    Ra, keep_a = _residual_unit_columns(A, Zv, "X", Xdf.columns, degenerate)
    reason = "no variance after covariate adjustment"
    dropped_features = pd.DataFrame(
        [{"block": x_name, "feature": f, "reason": reason} for f in Xdf.columns[~keep_a]],
        columns=["block", "feature", "reason"])
    # genes are all kept, as limma keeps them (all-zero genes included: they enter the prior
    # like any other; filter with filter_by_expr first, as limma's guide advises)
    Xdf, A = Xdf.loc[:, keep_a], A[:, keep_a]
    Q, _ = np.linalg.qr(Zv)
    Xt = A - Q @ (Q.T @ A)
    S = np.einsum("ij,ij->j", Xt, Xt)
    E_res = Ev - Q @ (Q.T @ Ev)
    amean = Ev.mean(axis=0)
    norm = np.sqrt(np.einsum("ij,ij->j", E_res, E_res))
    scale = np.sqrt(np.einsum("ij,ij->j", Ev, Ev))
    live = norm > 1e-10 * np.maximum(scale, np.finfo(float).tiny)
    Rb = np.where(live, E_res / np.where(live, norm, 1.0), 0.0)
    r = np.clip(Ra.T @ Rb, -1.0, 1.0)
    if voom:
        mod, amean_v = _moderated_voom(Xdf, Ydf, Zv, lib * nf.to_numpy(dtype=np.float64), trend, robust)
        amean_out = pd.Series(amean_v, index=Ydf.columns)
    else:
        mod = _moderated_unweighted(Xt, S, E_res, d, amean, trend, robust)
        amean_out = pd.Series(amean, index=Ydf.columns)
    p = _two_sided(mod.t, mod.df_total)
    p_perm = p_fwer = null_max = None
    scheme_kind, exhaustive = "", False
    if n_permutations:
        rng = check_rng(rng)
        scheme = PermutationScheme(n, blocks, whole_blocks)
        cnt, null_max, n_permutations = _permutation_null(
            Xt, S, E_res, Q, d, amean, trend, robust, mod.t, n_permutations=n_permutations,
            scheme=scheme, rng=rng, progress=progress)
        exhaustive = scheme.exhaustive_for(n_permutations)
        p_perm = permutation_pvalue(cnt, n_permutations)
        p_fwer = maxt_pvalues(np.abs(mod.t), null_max, n_permutations)
        scheme_kind = scheme.kind
    base = p_perm if fdr_on == "permutation" else p
    q = adjust_pvalues(base, "fdr_bh")
    adjusted = {"fdr_bh": q, "maxT": p_fwer, "bonferroni": adjust_pvalues(base, "bonferroni")}[correction]
    frame = lambda M: pd.DataFrame(M, index=Xdf.columns, columns=Ydf.columns)  # noqa: E731
    return ModeratedAssociationResult(
        r=frame(r), t=frame(mod.t), pvalues=frame(p), qvalues=frame(q), adjusted=frame(adjusted),
        df=int(d), n_samples=n, method="limma", correction=correction,
        covariates=list(Z.columns[1:]), alpha=alpha, x_name=x_name, y_name=y_name,
        p_permutation=None if p_perm is None else frame(p_perm),
        p_fwer=None if p_fwer is None else frame(p_fwer), null_max=null_max,
        n_permutations=n_permutations, permutation_scheme=scheme_kind, backend="numpy",
        exhaustive_permutations=exhaustive, fdr_on=fdr_on,
        dropped=dropped if dropped is not None else pd.DataFrame(columns=["sample_id", "view", "reason"]),
        dropped_features=dropped_features,
        logfc=frame(mod.logfc), ave_expr=amean_out, df_total=frame(mod.df_total),
        s2_prior=frame(mod.s2_prior), df_prior=frame(mod.df_prior),
        weights="voom" if voom else "none", expression=expression, trend=bool(trend),
        robust=bool(robust), norm_factors=nf,
    )

