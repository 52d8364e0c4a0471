"""Every plot of the toolkit; each takes result objects (or a Cohort) and returns a Figure.

Functions accept an optional ``ax`` to draw into an existing Axes; they never call
``plt.show()``, so they work in notebooks and in the headless report alike.  The plots of
time-to-event outcomes (Kaplan-Meier with numbers at risk, risk groups with the log-rank test,
calibration at a horizon, ``cox.zph`` residuals, AUC(t), decision curves) live in
:mod:`radiogenomics.plotting.survival` and are re-exported here, as are the plots of spot data
(:mod:`radiogenomics.plotting.spatial`: maps at spots, registration, spatial nulls).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "centre_colours",
    "plot_cohort_overview",
    "plot_centre_distributions",
    "plot_centre_effects",
    "plot_volcano",
    "plot_top_pairs_heatmap",
    "plot_pvalue_histogram",
    "plot_null_max",
    "plot_cca_scree",
    "plot_cca_scores",
    "plot_cca_loadings",
    "plot_cca_cross_loadings",
    "plot_mr_scatter",
    "plot_mr_forest",
    "plot_mr_funnel",
    "plot_mr_leaveoneout",
    "plot_phantoms",
    "plot_mofa_variance_explained",
    "plot_mofa_factors",
    "plot_mofa_top_weights",
    "plot_calibration",
    "plot_decision_curve",
    "plot_validation_by_group",
    "plot_power_curve",
    "plot_power_heatmap",
    # time-to-event outcomes (radiogenomics.plotting.survival)
    "plot_km",
    "plot_km_by_risk_group",
    "plot_survival_calibration",
    "plot_zph",
    "plot_time_auc",
    "plot_survival_decision_curve",
    "logrank_test",
    "LogRankResult",
    # spot data and imaging maps (radiogenomics.plotting.spatial)
    "plot_spot_values",
    "plot_registration",
    "plot_colocalisation",
    "plot_spatial_nulls",
]


def _axes(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def plot_cohort_overview(summary, ax=None, colours: dict | None = None):
    """Stacked bars: samples per view, split by centre (from :meth:`Cohort.summary`).

    ``colours`` maps a centre label to its colour (default :func:`centre_colours` of the
    labels); the legend sits right of the axes so it never hides a bar."""
    fig, ax = _axes(ax, (6.5, 3.8))
    centres = summary.centres.drop(columns="total")
    bottom = np.zeros(centres.shape[1])
    cols = _group_colours(centres.index, colours)
    for name, row in centres.iterrows():
        ax.bar(centres.columns, row.to_numpy(), bottom=bottom, label=str(name),
               color=cols[str(name)])
        bottom += row.to_numpy()
    ax.set_ylabel("samples")
    ax.set_title("Samples per view and centre")
    ax.legend(title="centre", fontsize=9, frameon=False, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    ax.tick_params(axis="x", rotation=30)
    return fig


#: colour-blind-safe palette (Okabe & Ito 2008) for centres, in sorted order of their labels
CENTRE_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
                  "#000000")


def centre_colours(centres) -> dict:
    """One fixed colour per centre label: the labels are sorted and given the Okabe-Ito
    colours in turn (tab20 beyond eight), so every figure of a report that passes this
    mapping shows a centre in the same colour, also when it shows only some centres."""
    import matplotlib.pyplot as plt

    labels = sorted({str(c) for c in centres})
    if len(labels) <= len(CENTRE_PALETTE):
        cols = CENTRE_PALETTE
    else:
        cmap = plt.get_cmap("tab20")
        cols = [cmap(i % cmap.N) for i in range(len(labels))]
    return {c: cols[i] for i, c in enumerate(labels)}


def _group_colours(labels, colours: dict | None = None) -> dict:
    """``{str(label): colour}`` for ``labels``: from ``colours`` (a label -> colour mapping,
    e.g. a report's centre colours) or, when None, :func:`centre_colours` of the labels."""
    labels = [str(g) for g in labels]
    if colours is None:
        return centre_colours(labels)
    colours = {str(k): v for k, v in dict(colours).items()}
    missing = [g for g in dict.fromkeys(labels) if g not in colours]
    if missing:
        raise ValueError(f"colours has no colour for {', '.join(map(repr, missing))}; pass a "
                         "mapping with every label (e.g. centre_colours(all_labels)) or "
                         "colours=None")
    return {g: colours[g] for g in labels}


def _palette(k):
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab10" if k <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(k)]


def plot_centre_distributions(cohort, view: str, features=None, n_features: int = 6,
                              colours: dict | None = None):
    """Box plots per centre for a few features of one view (default: the first ones), each
    box in its centre's colour (``colours``: label -> colour, default
    :func:`centre_colours`)."""
    import matplotlib.pyplot as plt

    df = cohort[view]
    if cohort.centre is None:
        raise ValueError("the cohort has no centre; build it with centre= to plot per-centre distributions")
    if features is None:
        features = list(df.columns[:n_features])
    centre = cohort.centre.reindex(df.index).astype(str)
    levels = sorted(centre.unique())
    cols = _group_colours(levels, colours)
    ncol = min(3, len(features))
    nrow = int(np.ceil(len(features) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol, 2.6 * nrow), squeeze=False,
                             layout="constrained")
    for ax, feat in zip(axes.ravel(), features):
        data = [df.loc[centre == c, feat].to_numpy() for c in levels]
        box = ax.boxplot(data, patch_artist=True,
                         **{("tick_labels" if _has_tick_labels() else "labels"): levels})
        for patch, lev in zip(box["boxes"], levels):
            patch.set_facecolor(cols[lev])
            patch.set_alpha(0.75)
        ax.set_title(feat if len(feat) <= 38 else feat[:35] + "...", fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in axes.ravel()[len(features):]:
        ax.axis("off")
    fig.suptitle(f"{view}: distribution per centre", fontsize=10)
    return fig


def _has_tick_labels() -> bool:
    import matplotlib

    major, minor = (int(v) for v in matplotlib.__version__.split(".")[:2])
    return (major, minor) >= (3, 9)


def plot_centre_effects(anova: dict[str, pd.DataFrame], ax=None):
    """Histogram of per-feature variance explained by centre (eta squared), one line per view.

    ``anova`` maps a view name to the output of :func:`radiogenomics.qc.centre_anova`.
    """
    fig, ax = _axes(ax, (5.5, 3.5))
    bins = np.linspace(0, 1, 41)
    # views in greys and line styles: colours are reserved for centres in every figure
    styles = [("0.15", "-"), ("0.55", "--"), ("0.35", ":"), ("0.7", "-.")]
    for k, (name, tab) in enumerate(anova.items()):
        colour, ls = styles[k % len(styles)]
        ax.hist(tab["eta2"].dropna(), bins=bins, histtype="step", lw=1.8, label=name, color=colour,
                ls=ls,
                density=True)
    ax.set_xlabel("variance explained by centre (eta$^2$)")
    ax.set_ylabel("density of features")
    ax.set_title("Centre effects per feature")
    ax.legend(frameon=False, fontsize=8)
    return fig


_CORRECTION_LABEL = {"fdr_bh": "BH q", "maxT": "max-T p_fwer", "bonferroni": "Bonferroni p"}


def plot_volcano(result, ax=None, max_points: int = 200_000, rng=0, pvalue: str = "parametric"):
    """Partial correlation vs -log10 p for every pair; pairs passing the correction in red.

    ``pvalue`` picks the y axis: ``"parametric"`` or ``"permutation"`` (needs permutations).
    With permutations, the dashed lines mark the max-T |r| threshold at ``alpha``.
    A moderated (limma) screen is drawn as limma users know it: log2 fold change per unit of
    the imaging feature on the x axis (its max-T threshold is in |t|, so no line is drawn).
    Very large screens are thinned to ``max_points`` (all significant pairs are kept).
    """
    fig, ax = _axes(ax, (5.5, 4))
    moderated = getattr(result, "logfc", None) is not None
    r = (result.logfc if moderated else result.r).to_numpy().ravel()
    if pvalue == "permutation":
        if result.p_permutation is None:
            raise ValueError("no permutation p-values: run associate(..., n_permutations=B)")
        p = result.p_permutation.to_numpy().ravel()
    elif pvalue == "parametric":
        p = result.pvalues.to_numpy().ravel()
    else:
        raise ValueError(f"pvalue must be 'parametric' or 'permutation', got {pvalue!r}")
    sig = result.adjusted.to_numpy().ravel() <= result.alpha
    idx = np.arange(r.size)
    if r.size > max_points:
        gen = np.random.default_rng(rng)
        keep = gen.choice(np.flatnonzero(~sig), size=max(0, max_points - sig.sum()), replace=False)
        idx = np.concatenate([np.flatnonzero(sig), keep])
    lp = -np.log10(np.maximum(p[idx], 1e-300))
    ax.scatter(r[idx][~sig[idx]], lp[~sig[idx]], s=3, c="0.6", alpha=0.4, lw=0, rasterized=True)
    ax.scatter(r[idx][sig[idx]], lp[sig[idx]], s=5, c="tab:red", alpha=0.8, lw=0, rasterized=True,
               label=f"{_CORRECTION_LABEL.get(result.correction, result.correction)} <= "
                     f"{result.alpha} ({int(sig.sum()):,})")
    if not moderated and result.null_max is not None and np.isfinite(result.fwer_threshold()):
        thr = result.fwer_threshold()
        for v in (-thr, thr):
            ax.axvline(v, ls="--", lw=0.8, c="k")
    ax.set_xlabel("log2 fold change per unit (logFC)" if moderated else "partial correlation r")
    ax.set_ylabel(f"-log10 p ({pvalue})")
    names = (f"{result.x_name} x {result.y_name} " if (result.x_name, result.y_name)
             != ("x", "y") else "")
    ax.set_title(f"{names}({result.n_tests:,} pairs)")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    return fig


def plot_top_pairs_heatmap(result, top: int = 15, ax=None):
    """Partial correlations of the x and y features involved in the ``top`` pairs."""
    tab = result.to_frame(top=top)
    xs = list(dict.fromkeys(tab["feature_x"]))
    ys = list(dict.fromkeys(tab["feature_y"]))
    sub = result.r.loc[xs, ys]
    fig, ax = _axes(ax, (1.2 + 0.35 * len(ys), 1.5 + 0.3 * len(xs)))
    im = ax.imshow(sub.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(ys)), [str(s) for s in ys], rotation=90, fontsize=8)
    ax.set_yticks(range(len(xs)), [s if len(s) <= 40 else s[:37] + "..." for s in map(str, xs)], fontsize=8)
    fig.colorbar(im, ax=ax, label="partial r", shrink=0.8)
    ax.set_title(f"Top {top} pairs", fontsize=10)
    return fig


def plot_pvalue_histogram(result, ax=None):
    """Histogram of all parametric p-values (uniform under the global null)."""
    fig, ax = _axes(ax, (5, 3.2))
    ax.hist(result.pvalues.to_numpy().ravel(), bins=50, color="tab:blue", alpha=0.8)
    ax.set_xlabel("p (parametric)")
    ax.set_ylabel("pairs")
    ax.set_title("p-value distribution")
    return fig


def plot_null_max(result, ax=None, bins: int = 40):
    """The max-T null distribution (max |t| over all pairs per permutation) and the observed |t|.

    The dashed line is the family-wise threshold at ``alpha`` (as :meth:`fwer_threshold`);
    observed pairs beyond it are significant by max-T.  No line when B is too small for
    ``alpha``.
    """
    if result.null_max is None:
        raise ValueError("no permutations were run; call associate(..., n_permutations=B)")
    fig, ax = _axes(ax, (5, 3.2))
    null_t = result.null_max_t
    ax.hist(null_t, bins=bins, color="0.6", label=f"null max |t| (B = {result.n_permutations})")
    thr_r = result.fwer_threshold()
    if np.isfinite(thr_r):
        # a moderated screen's threshold is already in |t|
        thr = float(thr_r if getattr(result, "logfc", None) is not None else result.r_to_t(thr_r))
        ax.axvline(thr, ls="--", c="k", lw=1, label=f"FWER {result.alpha} threshold ({thr:.2f})")
    obs = np.abs(result.t.to_numpy()).max()
    ax.axvline(obs, c="tab:red", lw=1.5, label=f"observed max |t| ({obs:.2f})")
    ax.set_xlabel("|t|")
    ax.set_ylabel("permutations")
    ax.set_title(f"max-T null ({result.permutation_scheme} permutations)")
    ax.legend(frameon=False, fontsize=8)
    return fig


def plot_cca_scree(result, ax=None):
    """Canonical correlations per component against their permutation null (median, 95th pct).

    ``result`` is a :class:`~radiogenomics.cca.inference.CCAPermutationResult`; significant
    components (step-down p <= alpha) are filled.
    """
    fig, ax = _axes(ax, (5, 3.2))
    k = np.arange(1, len(result.statistic) + 1)
    null = result.null_distribution
    ax.fill_between(k, np.quantile(null, 0.05, axis=0), np.quantile(null, 0.95, axis=0),
                    color="0.85", label="permutation null 5-95%")
    ax.plot(k, np.median(null, axis=0), c="0.5", ls="--", label="null median")
    sig = result.pvalues <= result.alpha
    ax.plot(k, result.statistic, c="tab:blue", lw=1)
    ax.scatter(k[sig], result.statistic[sig], c="tab:blue", zorder=3, label=f"p <= {result.alpha}")
    ax.scatter(k[~sig], result.statistic[~sig], facecolors="white", edgecolors="tab:blue", zorder=3)
    ax.set_xticks(k)
    ax.set_xlabel("component")
    ax.set_ylabel("canonical correlation")
    ax.set_title(f"CCA scree ({result.estimator}, B = {result.n_permutations})")
    ax.legend(frameon=False, fontsize=8)
    return fig


def plot_cca_scores(estimator, component: int = 1, groups=None, ax=None,
                    colours: dict | None = None):
    """Scatter of the x and y canonical variates (training scores) of one component; with
    ``groups`` (one label per sample, e.g. centres) one colour per group (``colours``: label
    -> colour, default :func:`centre_colours`)."""
    fig, ax = _axes(ax, (4.2, 4))
    xs = estimator.x_scores_[:, component - 1]
    ys = estimator.y_scores_[:, component - 1]
    if groups is None:
        ax.scatter(xs, ys, s=14, c="tab:blue", alpha=0.8)
    else:
        groups = np.asarray(groups).astype(str)
        levels = sorted(pd.unique(groups))
        cols = _group_colours(levels, colours)
        for g in levels:
            m = groups == g
            ax.scatter(xs[m], ys[m], s=14, color=cols[g], alpha=0.8, label=g)
        ax.legend(frameon=False, fontsize=8, title="centre" if colours is not None else None)
    r = np.corrcoef(xs, ys)[0, 1]
    ax.set_xlabel(f"x variate {component}")
    ax.set_ylabel(f"y variate {component}")
    ax.set_title(f"Component {component}: in-sample r = {r:.2f}")
    return fig


def plot_cca_loadings(estimator, block: str = "x", component: int = 1, top: int = 20,
                      bootstrap=None, ax=None):
    """Bars of the largest structure correlations (loadings) of one component.

    With ``bootstrap`` (a :class:`~radiogenomics.cca.inference.BootstrapCCAResult`) the bars
    carry the percentile intervals.
    """
    load = estimator.loadings_frame(block).iloc[:, component - 1]
    sel = load.abs().sort_values(ascending=False).index[:top][::-1]
    fig, ax = _axes(ax, (5, 0.9 + 0.22 * len(sel)))
    vals = load.loc[sel].to_numpy()
    err = None
    if bootstrap is not None:
        tab = (bootstrap.x if block == "x" else bootstrap.y)
        tab = tab[tab["component"] == component].set_index("feature").loc[sel]
        err = np.maximum(0.0, np.vstack([vals - tab["loading_lower"].to_numpy(),
                                         tab["loading_upper"].to_numpy() - vals]))
    ax.barh(range(len(sel)), vals, xerr=err, color=np.where(vals >= 0, "tab:red", "tab:blue"),
            alpha=0.8, capsize=2)
    ax.set_yticks(range(len(sel)), [s if len(s) <= 40 else s[:37] + "..." for s in map(str, sel)],
                  fontsize=8)
    ax.axvline(0, c="k", lw=0.6)
    ax.set_xlabel("loading (structure correlation)")
    ax.set_title(f"{block} loadings, component {component}")
    return fig


def _cross_correlations(A: np.ndarray, S: np.ndarray) -> np.ndarray:
    """Pearson r between each column of A (n x a) and of S (n x k); 0 for a constant column
    (drawn as 'no association' rather than a blank cell)."""
    Ac, Sc = A - A.mean(axis=0), S - S.mean(axis=0)
    den = np.outer(np.linalg.norm(Ac, axis=0), np.linalg.norm(Sc, axis=0))
    return np.divide(Ac.T @ Sc, den, out=np.zeros(den.shape), where=den > 0)


def plot_cca_cross_loadings(estimator, X, Y, component_max: int | None = None, top: int = 15, ax=None):
    """Heatmap of cross-loadings: correlations of x features with the y variates.

    Rows are the ``top`` x features with the largest |cross-loading| on any shown component.
    """
    from .._checks import as_matrix

    _, ys = estimator.transform(X, Y)              # validates X, Y; rows of Y follow X's IDs
    Xa = as_matrix(X, "X")[0]
    k = ys.shape[1] if component_max is None else min(component_max, ys.shape[1])
    C = _cross_correlations(Xa, ys[:, :k])
    names = np.asarray(estimator.feature_names_x_)
    sel = np.argsort(-np.abs(C).max(axis=1))[:top]
    fig, ax = _axes(ax, (1.6 + 0.5 * k, 1.2 + 0.28 * len(sel)))
    im = ax.imshow(C[sel], cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(k), [f"y CV{c + 1}" for c in range(k)], fontsize=8)
    ax.set_yticks(range(len(sel)), [s if len(s) <= 40 else s[:37] + "..." for s in map(str, names[sel])],
                  fontsize=8)
    fig.colorbar(im, ax=ax, label="r(x feature, y variate)", shrink=0.8)
    ax.set_title("Cross-loadings", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- Mendelian randomisation

def _mr_keep(dat):
    from ..mr import prepare_harmonised

    d = prepare_harmonised(dat)
    if len(d[["id.exposure", "id.outcome"]].drop_duplicates()) > 1:
        raise ValueError("the data hold several exposure-outcome pairs; plot one pair at a time")
    return d


def plot_mr_scatter(dat, results=None, ax=None):
    """SNP-outcome against SNP-exposure effects (with SE bars) and the slope of each method.

    ``dat``: harmonised MR data (TwoSampleMR columns, dotted or snake_case); ``results``: a
    ``mr()`` table (method, b); MR-Egger's line gets its intercept when ``dat`` allows.
    SNPs are oriented to positive exposure effects, as TwoSampleMR's ``mr_scatter_plot``.
    """
    d = _mr_keep(dat)
    bx, by = d["beta.exposure"].to_numpy(), d["beta.outcome"].to_numpy()
    s = np.where(bx < 0, -1.0, 1.0)
    bx, by = bx * s, by * s
    fig, ax = _axes(ax, (5, 4))
    ax.errorbar(bx, by, xerr=d["se.exposure"], yerr=d["se.outcome"], fmt="o", ms=3, c="0.3",
                ecolor="0.7", lw=0.8)
    if results is not None:
        from ..mr import egger_fit

        xs = np.linspace(0, bx.max() * 1.05, 50)
        for (method, b), col in zip(results[["method", "b"]].itertuples(index=False),
                                    _palette(len(results))):
            icpt = 0.0
            if method == "MR Egger" and len(d) >= 3:
                icpt = egger_fit(d["beta.exposure"], d["beta.outcome"], d["se.outcome"]).intercept
            ax.plot(xs, icpt + b * xs, color=col, lw=1.2, label=method)
        ax.legend(frameon=False, fontsize=8)
    ax.axhline(0, c="k", lw=0.5)
    ax.set_xlabel("SNP effect on exposure")
    ax.set_ylabel("SNP effect on outcome")
    return fig


def plot_mr_forest(singlesnp, ax=None):
    """Forest plot of single-SNP (Wald ratio) estimates with 95% CIs, sorted by estimate.

    ``singlesnp``: a table with SNP, b, se (``mr_singlesnp``); rows whose SNP starts with
    "All" (the pooled estimates) are drawn in red at the bottom.
    """
    t = singlesnp.copy()
    pooled = t["SNP"].astype(str).str.startswith("All")
    t = pd.concat([t[~pooled].sort_values("b"), t[pooled]])
    fig, ax = _axes(ax, (5, 1 + 0.18 * len(t)))
    y = np.arange(len(t))
    cols = np.where(t["SNP"].astype(str).str.startswith("All"), "tab:red", "0.3")
    ax.errorbar(t["b"], y, xerr=1.96 * t["se"], fmt="none", ecolor=cols, lw=0.8)
    ax.scatter(t["b"], y, c=cols, s=10, zorder=3)
    ax.set_yticks(y, t["SNP"].astype(str), fontsize=8)
    ax.invert_yaxis()                  # first row at the top: the pooled rows at the bottom
    ax.axvline(0, c="k", lw=0.6)
    ax.set_xlabel("MR effect size (95% CI)")
    return fig


def plot_mr_funnel(singlesnp, ax=None):
    """Funnel plot: single-SNP estimates against their precision 1 / SE, pooled lines dashed."""
    t = singlesnp
    pooled = t["SNP"].astype(str).str.startswith("All")
    fig, ax = _axes(ax, (4.5, 4))
    ax.scatter(t.loc[~pooled, "b"], 1 / t.loc[~pooled, "se"], s=12, c="0.3")
    for (name, b), col in zip(t.loc[pooled, ["SNP", "b"]].itertuples(index=False),
                              _palette(max(1, int(pooled.sum())))):
        ax.axvline(b, ls="--", c=col, lw=1, label=name)
    if pooled.any():
        ax.legend(frameon=False, fontsize=8)
    ax.set_xlabel("single-SNP estimate")
    ax.set_ylabel("1 / SE")
    return fig


def plot_mr_leaveoneout(loo, ax=None):
    """Estimate with each SNP left out in turn (``mr_leaveoneout``), 95% CIs; "All" in red."""
    return plot_mr_forest(loo, ax=ax)


def plot_phantoms(phantoms, n: int = 4, slice_index: int | None = None, label: str = "MYO"):
    """Mid-ventricular slices of ``n`` phantoms (a :class:`data_sim.PhantomSet`) from the lowest
    to the highest latent fibrosis score, with the ``label`` contour (default myocardium)."""
    import matplotlib.pyplot as plt
    import SimpleITK as sitk

    t = phantoms.truth.sort_values("fibrosis")
    pick = t.index[np.unique(np.linspace(0, len(t) - 1, max(1, n)).round().astype(int))]
    man = phantoms.manifest.set_index("sample_id")
    fig, axes = plt.subplots(1, len(pick), figsize=(2.6 * len(pick), 3.2), squeeze=False,
                             layout="constrained")
    value = phantoms.labels[label]
    for ax, sid in zip(axes[0], pick):
        img = sitk.GetArrayFromImage(sitk.ReadImage(man.at[sid, "image"]))
        msk = sitk.GetArrayFromImage(sitk.ReadImage(man.at[sid, "mask"]))
        k = img.shape[0] // 2 if slice_index is None else int(slice_index)
        ax.imshow(img[k], cmap="gray")
        ax.contour(msk[k] == value, levels=[0.5], colors="tab:orange", linewidths=0.6)
        ax.set_title(f"{sid} ({man.at[sid, 'centre']})\nfibrosis {t.at[sid, 'fibrosis']:+.2f}, "
                     f"scar {100 * t.at[sid, 'fibrosis_fraction']:.0f}%", fontsize=8)
        ax.set_axis_off()
    return fig


def plot_mofa_variance_explained(result, group: str | None = None, min_r2: float = 0.0, ax=None):
    """Heatmap of variance explained (percent) per factor x view (MOFA2's
    ``plot_variance_explained``); one panel per group unless ``group`` is given."""
    import matplotlib.pyplot as plt

    groups = [group] if group is not None else list(result.groups)
    facs = result.active_factors(min_r2) if min_r2 else list(result.factors.columns)
    if ax is None:
        fig, axes = plt.subplots(1, len(groups), figsize=(2.2 + 1.4 * len(result.views) *
                                                          len(groups), 1.4 + 0.32 * len(facs)),
                                 squeeze=False, layout="constrained")
        axes = axes[0]
    else:
        fig, axes = ax.figure, [ax]
    vmax = max(float(result.r2["r2"].max()), 1e-9)
    for a, g in zip(axes, groups):
        tab = result.r2_table(group=g).loc[facs]
        im = a.imshow(tab.to_numpy(), cmap="Blues", vmin=0, vmax=vmax, aspect="auto")
        a.set_xticks(range(tab.shape[1]), tab.columns, rotation=45, ha="right", fontsize=8)
        a.set_yticks(range(tab.shape[0]), tab.index, fontsize=8)
        for i in range(tab.shape[0]):
            for j in range(tab.shape[1]):
                v = tab.iat[i, j]
                a.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=7,
                       color="white" if v > vmax / 2 else "black")
        a.set_title(g if len(groups) > 1 else "variance explained (%)", fontsize=9)
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="R2 (%)")
    return fig


def plot_mofa_factors(result, color=None, factors=(1, 2), ax=None, colours: dict | None = None):
    """Scatter of two factors, coloured by a covariate (a Series by sample ID: numeric ->
    colour scale, otherwise one colour per level; ``colours`` maps a level to its colour,
    default :func:`centre_colours` of the levels)."""
    names = [f"Factor{f}" if isinstance(f, (int, np.integer)) else str(f) for f in factors]
    Z = result.factors[names]
    fig, ax = _axes(ax, (4.5, 4))
    if color is None:
        ax.scatter(Z.iloc[:, 0], Z.iloc[:, 1], s=12, c="0.3")
    else:
        c = color.reindex(Z.index)
        if pd.api.types.is_numeric_dtype(c) and c.nunique() > 5:
            sc = ax.scatter(Z.iloc[:, 0], Z.iloc[:, 1], s=12, c=c, cmap="viridis")
            fig.colorbar(sc, ax=ax, label=color.name or "")
        else:
            lab = c.astype(object).where(c.notna(), None).map(lambda v: None if v is None
                                                                   else str(v))
            lev = sorted(v for v in pd.unique(lab) if v is not None)
            cols = _group_colours(lev, colours)
            for lv in lev:
                m = (lab == lv).to_numpy()
                ax.scatter(Z.iloc[m, 0], Z.iloc[m, 1], s=12, color=cols[lv], label=lv)
            if c.isna().any():
                m = c.isna().to_numpy()
                ax.scatter(Z.iloc[m, 0], Z.iloc[m, 1], s=10, c="0.8", label="missing")
            ax.legend(frameon=False, fontsize=7, title=color.name)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    return fig


def plot_mofa_top_weights(result, view: str, factor=1, n: int = 15, ax=None):
    """Top ``n`` weights of ``view`` on ``factor`` (scaled to max |w| = 1), sign by colour."""
    t = result.top_weights(view, factor, n=n).iloc[::-1]
    fig, ax = _axes(ax, (4.5, 0.8 + 0.22 * len(t)))
    ax.barh(range(len(t)), t["scaled"].abs(),
            color=["tab:red" if w > 0 else "tab:blue" for w in t["weight"]])
    ax.set_yticks(range(len(t)), t["feature"], fontsize=8)
    ax.set_xlabel("|weight| (scaled)")
    fname = f"Factor{factor}" if isinstance(factor, (int, np.integer)) else str(factor)
    ax.set_title(f"{view}: {fname} (red +, blue -)", fontsize=9)
    return fig


def plot_calibration(result, n_bins: int = 10, ax=None):
    """Calibration plot of a binary :class:`~radiogenomics.validation.ValidationResult`:
    observed event rate (Wilson 95% CI) against mean predicted risk per quantile bin, the
    diagonal, and the calibration intercept and slope in the legend."""
    cal = result.calibration(n_bins=n_bins)
    t = cal.table
    fig, ax = _axes(ax, (4.2, 4.2))
    ax.plot([0, 1], [0, 1], ls="--", c="0.6", lw=1)
    ax.errorbar(t["mean_predicted"], t["observed_rate"],
                yerr=[t["observed_rate"] - t["lower"], t["upper"] - t["observed_rate"]],
                fmt="o", ms=4, c="tab:blue", capsize=2,
                label=f"intercept {cal.intercept:+.2f}, slope {cal.slope:.2f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted risk")
    ax.set_ylabel("observed event rate")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.set_title(f"calibration ({result.cv})", fontsize=9)
    return fig


def plot_decision_curve(result, thresholds=None, ax=None):
    """Decision curve (net benefit against threshold probability): model, treat all, treat
    none (Vickers & Elkin 2006)."""
    dc = result.decision_curve(thresholds)
    fig, ax = _axes(ax, (4.8, 3.6))
    ax.plot(dc["threshold"], dc["net_benefit_model"], c="tab:blue", label="model")
    ax.plot(dc["threshold"], dc["net_benefit_treat_all"], c="0.5", ls="--", label="treat all")
    ax.axhline(0, c="0.2", lw=0.8, label="treat none")
    lo = min(-0.05, float(dc["net_benefit_model"].min()))
    ax.set_ylim(lo, max(0.05, float(dc[["net_benefit_model", "net_benefit_treat_all"]].max().max())
                        * 1.1))
    ax.set_xlabel("threshold probability")
    ax.set_ylabel("net benefit")
    ax.legend(frameon=False, fontsize=8)
    return fig


def plot_validation_by_group(result, metric: str | None = None, breakdown: str = "centre",
                             ax=None, colours: dict | None = None):
    """A metric with its bootstrap CI per group (e.g. centre) beside the pooled value.

    Each group is drawn in its colour (``colours``: label -> colour, default
    :func:`centre_colours` of the groups), the pooled value in black.  The interval is drawn
    from ``lower`` to ``upper`` as given: a percentile interval need not contain the estimate
    (a skewed bootstrap distribution), and the plot shows that rather than failing or
    clipping it."""
    metric = metric or ("auroc" if result.kind == "binary" else "r2")
    m = result.metrics
    rows = m[(m["metric"] == metric) & ((m["breakdown"] == breakdown) | (m["breakdown"] == "all"))]
    rows = rows[rows["group"].astype(str).ne("all") | rows["breakdown"].eq("all")]
    pooled = rows["breakdown"].eq("all").to_numpy()
    groups = rows["group"].astype(str).to_numpy()
    cols = _group_colours(groups[~pooled], colours)
    col = [("black" if p else cols[g]) for g, p in zip(groups, pooled)]
    fig, ax = _axes(ax, (5, 1.4 + 0.35 * len(rows)))
    y = np.arange(len(rows))[::-1]
    ax.hlines(y, rows["lower"].to_numpy(float), rows["upper"].to_numpy(float), colors=col,
              lw=1.4)
    ax.scatter(rows["estimate"].to_numpy(float), y, c=col, zorder=3, s=30)
    ax.set_yticks(y, [("pooled" if p else g) for g, p in zip(groups, pooled)])
    if metric.startswith("auroc"):
        ax.axvline(0.5, c="0.6", ls="--", lw=1)
    ax.set_xlabel({"r2": "R2", "auroc": "AUROC", "mae": "MAE", "brier": "Brier score"}.get(str(metric), str(metric)))
    return fig


def _power_table(result, shown, where):
    """The result's table restricted by ``where`` ({parameter: value}); refuses grid
    parameters that still vary but are not shown (their cells would be drawn on top of each
    other or averaged), naming them and the fix."""
    from .._checks import InputError, listing

    t = result.table
    grid = list(getattr(result, "grid_columns", []))
    for k, v in dict(where or {}).items():
        if k not in t.columns:
            raise InputError(f"where names {k!r}, not a grid parameter ({listing(grid)})")
        t = t[t[k] == v]
        if t.empty:
            raise InputError(f"no cell has {k} = {v!r}; values: {listing(result.table[k].unique())}")
    for c in shown:
        if c is not None and c not in t.columns:
            raise InputError(f"{c!r} is not a column of the power table; grid parameters: "
                             f"{listing(grid)}")
    varying = [c for c in grid if c not in shown and t[c].nunique(dropna=False) > 1]
    if varying:
        v0 = t[varying[0]].iloc[0]
        v0 = v0.item() if isinstance(v0, np.generic) else v0
        raise InputError(
            f"grid parameter(s) {listing(varying)} take several values but are not shown; "
            f"choose one value of each with where=, e.g. where={{{varying[0]!r}: {v0!r}}}")
    return t


def plot_power_curve(result, x: str = "n", hue: str | None = None, value: str = "rate",
                     target: float | None = None, ax=None, where=None):
    """Power (or type-I error) against ``x`` with Wilson 95% intervals, one line per level of
    ``hue``, from a :class:`~radiogenomics.power.PowerResult`.

    Every other grid parameter must take one value (select it with ``where={name: value}``);
    otherwise the error names them.
    """
    t = _power_table(result, (x, hue), where).sort_values(x)
    fig, ax = _axes(ax, (5, 3.8))
    groups = [(None, t)] if hue is None else list(t.groupby(hue, sort=True))
    for (lev, g), col in zip(groups, _palette(len(groups))):
        ax.plot(g[x], g[value], marker="o", ms=3, color=col,
                label=None if lev is None else f"{hue} = {lev}")
        if value == "rate" and "rate_lower" in g:
            ax.fill_between(g[x], g["rate_lower"], g["rate_upper"], color=col, alpha=0.2, lw=0)
    if target is not None:
        ax.axhline(target, ls="--", c="0.5", lw=1)
    ax.set_xlabel(x)
    ax.set_ylabel("power / rejection rate" if value == "rate" else value)
    if value == "rate":
        ax.set_ylim(0, 1)
    if hue is not None:
        ax.legend(frameon=False, fontsize=8)
    return fig


def plot_power_heatmap(result, x: str, y: str, value: str = "rate", ax=None, where=None):
    """Heatmap of ``value`` (default the rejection rate) over two grid axes.

    Every other grid parameter must take one value (select it with ``where={name: value}``);
    cells are never averaged over a parameter that is not shown.
    """
    t = _power_table(result, (x, y), where)
    tab = t.pivot(index=y, columns=x, values=value).sort_index().sort_index(axis=1)
    fig, ax = _axes(ax, (1.5 + 0.6 * tab.shape[1], 1.2 + 0.45 * tab.shape[0]))
    im = ax.imshow(tab.to_numpy(), cmap="viridis", vmin=0, vmax=1 if value == "rate" else None,
                   aspect="auto", origin="lower")
    ax.set_xticks(range(tab.shape[1]), [f"{v:g}" if isinstance(v, float) else str(v)
                                        for v in tab.columns], fontsize=8)
    ax.set_yticks(range(tab.shape[0]), [f"{v:g}" if isinstance(v, float) else str(v)
                                        for v in tab.index], fontsize=8)
    for i in range(tab.shape[0]):
        for j in range(tab.shape[1]):
            ax.text(j, i, f"{tab.iat[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if tab.iat[i, j] < 0.6 else "black")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    fig.colorbar(im, ax=ax, label=value)
    return fig


# the survival plots use _axes and _group_colours above: imported last
from .survival import (LogRankResult, logrank_test, plot_km, plot_km_by_risk_group,  # noqa: E402
                       plot_survival_calibration, plot_survival_decision_curve, plot_time_auc,
                       plot_zph)
from .spatial import (plot_colocalisation, plot_registration, plot_spatial_nulls,  # noqa: E402
                      plot_spot_values)
