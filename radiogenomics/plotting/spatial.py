"""Plots of spot data and imaging maps: registration, maps at spots, spatial nulls.

Each function takes result objects of :mod:`radiogenomics.spatial` (or the arrays they hold),
draws into ``ax`` when given and returns the Figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plot_spot_values", "plot_registration", "plot_colocalisation",
           "plot_spatial_nulls"]


def _axes(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def _spot_size(coords: np.ndarray, ax) -> float:
    """Marker area (points^2) so that neighbouring spots nearly touch."""
    from scipy.spatial import cKDTree

    if len(coords) < 2:
        return 20.0
    d, _ = cKDTree(coords).query(coords, k=2)
    spacing = float(np.median(d[:, 1]))
    span = float(np.ptp(coords, axis=0).max()) or 1.0
    ax.figure.canvas.draw_idle()
    width_pt = ax.get_position().width * ax.figure.get_size_inches()[0] * 72
    return max(1.0, (0.8 * spacing / span * width_pt) ** 2)


def plot_spot_values(coords, values, *, ax=None, title: str | None = None,
                     cmap: str = "viridis", label: str | None = None, colorbar: bool = True):
    """Spots coloured by a value (image y axis down, as on the slide)."""
    coords = np.asarray(coords, dtype=float)
    vals = np.asarray(values, dtype=float)
    fig, ax = _axes(ax, (4.2, 3.8))
    sc = ax.scatter(coords[:, 0], coords[:, 1], c=vals, s=_spot_size(coords, ax), cmap=cmap,
                    linewidths=0)
    ax.set_aspect("equal")
    ax.invert_yaxis()
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    if colorbar:
        fig.colorbar(sc, ax=ax, shrink=0.8, label=label)
    return fig


def plot_registration(image, registration, coords, *, spacing=(1.0, 1.0), origin=(0.0, 0.0),
                      ax=None, title: str | None = None):
    """The imaging map drawn in spot coordinates through the fitted transform, the spots on
    top, and the landmarks (spot-space position: crosses; mapped image landmark: circles,
    joined by their residual).

    ``image`` is a 2-D array (row = y, column = x) with ``spacing`` / ``origin`` (x, y) in its
    physical units, or a SimpleITK image (its own spacing and origin; direction assumed
    identity for the drawing)."""
    import matplotlib.transforms as mtransforms

    try:
        import SimpleITK as sitk

        if isinstance(image, sitk.Image):
            spacing, origin = image.GetSpacing()[:2], image.GetOrigin()[:2]
            image = sitk.GetArrayFromImage(image)
    except ImportError:  # pragma: no cover
        pass
    img = np.asarray(image, dtype=float)
    fig, ax = _axes(ax, (4.6, 4.2))
    M = np.asarray(registration.matrix, dtype=float)
    to_phys = mtransforms.Affine2D(np.array([[spacing[0], 0, origin[0]],
                                             [0, spacing[1], origin[1]], [0, 0, 1.0]]))
    to_spots = mtransforms.Affine2D(M)
    h, w = img.shape
    ax.imshow(img, cmap="magma", origin="upper", extent=(-0.5, w - 0.5, h - 0.5, -0.5),
              transform=to_phys + to_spots + ax.transData, interpolation="nearest")
    coords = np.asarray(coords, dtype=float)
    ax.scatter(coords[:, 0], coords[:, 1], s=3, color="white", linewidths=0, alpha=0.8)
    res = getattr(registration, "residuals", None)
    if res is not None and {"fixed_x", "mapped_x"} <= set(res.columns):
        fixed = res[["fixed_x", "fixed_y"]].to_numpy(float)
        mapped = res[["mapped_x", "mapped_y"]].to_numpy(float)
        for a, b in zip(fixed, mapped):
            ax.plot([a[0], b[0]], [a[1], b[1]], color="cyan", lw=1.2)
        ax.scatter(fixed[:, 0], fixed[:, 1], marker="x", color="cyan", s=40, lw=1.5,
                   label="landmark (spot space)", zorder=3)
        ax.scatter(mapped[:, 0], mapped[:, 1], marker="o", facecolors="none",
                   edgecolors="cyan", s=40, lw=1.2, label="image landmark mapped", zorder=3)
        ax.legend(fontsize=7, loc="lower right", framealpha=0.8)
        coords = np.vstack([coords, fixed])
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    pad = 0.05 * (hi - lo).max()
    ax.set_xlim(lo[0] - pad, hi[0] + pad)
    ax.set_ylim(hi[1] + pad, lo[1] - pad)
    ax.set_aspect("equal")
    rmse = getattr(registration, "rmse", None)
    ax.set_title(title or ("registration" + (f" (landmark RMSE {rmse:.3g})"
                                             if rmse is not None else "")), fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def plot_colocalisation(coords, image_values, expression: pd.DataFrame, genes, *,
                        sections=None, section=None, image_label: str = "imaging map"):
    """The imaging map at the spots of one section beside the named genes."""
    import matplotlib.pyplot as plt

    genes = list(genes)
    coords = np.asarray(coords, dtype=float)
    keep = np.ones(len(coords), bool)
    if sections is not None and section is not None:
        keep = np.asarray(sections).astype(str) == str(section)
    fig, axes = plt.subplots(1, 1 + len(genes), figsize=(3.3 * (1 + len(genes)), 3.2),
                             layout="constrained")
    axes = np.atleast_1d(axes)
    plot_spot_values(coords[keep], np.asarray(image_values, dtype=float)[keep], ax=axes[0],
                     title=image_label + (f" ({section})" if section is not None else ""),
                     cmap="magma")
    for ax, g in zip(axes[1:], genes):
        plot_spot_values(coords[keep], expression[g].to_numpy()[keep], ax=ax, title=str(g))
    return fig


def plot_spatial_nulls(results: dict, pair: str | None = None, *, ax=None):
    """Null distributions of one pair's correlation under several nulls, side by side.

    ``results``: null name -> :class:`~radiogenomics.spatial.SpatialAssociationResult` (each
    keeps the surrogate correlations of its strongest pairs in ``null_r``); ``pair``: a column
    of ``null_r`` (default: the strongest pair of the first result).  The observed r is the
    dashed line; the naive null (free permutation) is visibly narrower than the spatial ones.
    """
    first = next(iter(results.values()))
    pair = pair or first.null_r.columns[0]
    fig, ax = _axes(ax, (1.4 + 1.2 * len(results), 3.4))
    data, labels = [], []
    for name, res in results.items():
        if pair in res.null_r:
            data.append(res.null_r[pair].to_numpy())
            labels.append(name)
    ax.violinplot(data, showextrema=True, widths=0.8)
    m, g = pair.split(" ~ ", 1)
    t = first.table
    r_obs = float(t.loc[(t["map"] == m) & (t["gene"] == g), "r"].iloc[0])
    ax.axhline(r_obs, ls="--", color="crimson", lw=1, label=f"observed r = {r_obs:.2f}")
    ax.set_xticks(range(1, len(labels) + 1), labels, rotation=30, fontsize=8)
    ax.set_ylabel("surrogate r")
    ax.set_title(pair, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    return fig
