"""Plotting: numbers drawn against independent references, public API only, no silent
averaging in the power plots."""

from __future__ import annotations

import ast
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from radiogenomics import plotting  # noqa: E402
from radiogenomics._checks import InputError  # noqa: E402


def test_plotting_uses_public_api_only():
    """No private module or name of another subpackage (cca._base, mr._core, ...): plotting
    must survive their refactoring.  The shared input layer _checks is the one exception."""
    tree = ast.parse((Path(plotting.__file__)).read_text())
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            parts = (node.module or "").split(".")
            if any(p.startswith("_") and p != "_checks" for p in parts):
                bad.append(node.module)
            bad += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    assert not bad, bad


def test_cross_loadings_are_pearson_correlations():
    from radiogenomics.cca import CCA

    rng = np.random.default_rng(0)
    ids = [f"s{i}" for i in range(80)]
    X = pd.DataFrame(rng.normal(size=(80, 6)), index=ids, columns=[f"x{j}" for j in range(6)])
    Y = pd.DataFrame(rng.normal(size=(80, 4)), index=ids, columns=[f"y{j}" for j in range(4)])
    Y["y0"] += X["x2"]
    fit = CCA(n_components=2).fit(X, Y)
    # Y given in another row order: plotted correlations must use rows matched by sample ID
    fig = plotting.plot_cca_cross_loadings(fit, X, Y.iloc[::-1], top=6)
    shown = np.asarray(fig.axes[0].images[0].get_array())
    _, ys = fit.transform(X, Y)
    ref = np.array([[np.corrcoef(X[c], ys[:, k])[0, 1] for k in range(2)] for c in X.columns])
    order = np.argsort(-np.abs(ref).max(axis=1))
    np.testing.assert_allclose(shown, ref[order], atol=1e-12)
    np.testing.assert_allclose(plotting._cross_correlations(np.c_[np.ones(5), np.arange(5.0)],
                                                            np.arange(5.0)[:, None]),
                               [[0.0], [1.0]], atol=1e-12)


class _Res:            # the two attributes the power plots read from a PowerResult
    def __init__(self, table, grid):
        self.table, self.grid_columns = table, grid


def test_power_plots_refuse_hidden_varying_parameters():
    t = pd.DataFrame([{"n": n, "r": r, "p": p, "rate": 0.1 * n / 10 + r, "rate_lower": 0.0,
                       "rate_upper": 1.0} for n in (10, 20) for r in (0.1, 0.3) for p in (4, 8)])
    res = _Res(t, ["n", "r", "p"])
    with pytest.raises(InputError, match=r"'p'.*where=\{'p': 4\}"):
        plotting.plot_power_heatmap(res, "n", "r")
    with pytest.raises(InputError, match="'p'"):
        plotting.plot_power_curve(res, "n", hue="r")
    fig = plotting.plot_power_heatmap(res, "n", "r", where={"p": 8})
    want = t[t.p == 8].pivot(index="r", columns="n", values="rate").to_numpy()
    np.testing.assert_allclose(np.asarray(fig.axes[0].images[0].get_array()), want)
    assert plotting.plot_power_curve(res, "n", hue="r", where={"p": 4}).axes[0].lines
    with pytest.raises(InputError, match="no cell has p = 5"):
        plotting.plot_power_curve(res, "n", hue="r", where={"p": 5})
    with pytest.raises(InputError, match="not a grid parameter"):
        plotting.plot_power_curve(res, "n", hue="r", where={"q": 5})


def test_validation_plot_draws_intervals_that_exclude_the_estimate():
    """A percentile bootstrap interval can exclude the estimate (the demo's LOCO run hit it):
    drawn as given, not a matplotlib 'negative xerr' error."""
    metrics = pd.DataFrame({"metric": ["r2"] * 3, "breakdown": ["all", "centre", "centre"],
                            "group": ["all", "C1", "C2"], "estimate": [0.2, 0.1, -0.3],
                            "lower": [0.1, 0.15, -0.2], "upper": [0.3, 0.4, 0.1]})

    class R:
        kind = "continuous"

    R.metrics = metrics
    fig = plotting.plot_validation_by_group(R())
    segs = fig.axes[0].collections[0].get_segments()
    assert [tuple(s[:, 0]) for s in segs] == [(0.1, 0.3), (0.15, 0.4), (-0.2, 0.1)]


# ----------------------------------------------------------------------------- centre colours

def _small_cohort(n=60, seed=0):
    from radiogenomics import Cohort

    rng = np.random.default_rng(seed)
    ids = [f"s{i}" for i in range(n)]
    rad = pd.DataFrame(rng.normal(size=(n, 4)), index=ids, columns=[f"f{j}" for j in range(4)])
    centre = pd.Series(np.repeat(["B", "A", "C"], n // 3), index=ids, name="centre")
    return Cohort({"radiomics": rad, "expression": rad.iloc[: n - 6] * 2 + 1},
                  centre=centre)


def _rgba(c):
    from matplotlib.colors import to_rgba

    return tuple(np.round(to_rgba(c), 4))[:3]     # colour, not transparency


COLS = {"A": "#111111", "B": "#22aa22", "C": "#aa2222", "D": "#0000ff"}


def test_cohort_overview_uses_given_colours_and_keeps_the_legend_off_the_bars():
    cohort = _small_cohort()
    fig = plotting.plot_cohort_overview(cohort.summary(), colours=COLS)
    ax = fig.axes[0]
    by_label = {}
    for cont in ax.containers:
        by_label[cont.get_label()] = {_rgba(p.get_facecolor()) for p in cont.patches}
    assert by_label == {c: {_rgba(COLS[c])} for c in "ABC"}
    fig.canvas.draw()
    leg = ax.get_legend().get_window_extent()
    axes_box = ax.get_window_extent()
    assert leg.x0 >= axes_box.x1 - 1, (leg, axes_box)      # legend right of the axes
    # default: the report's fixed palette, by sorted label, not by order of appearance
    fig2 = plotting.plot_cohort_overview(cohort.summary())
    want = plotting.centre_colours("ABC")
    got = {c.get_label(): _rgba(c.patches[0].get_facecolor()) for c in fig2.axes[0].containers}
    assert got == {k: _rgba(v) for k, v in want.items()}


def test_every_group_plot_draws_a_centre_in_the_same_colour():
    from radiogenomics.cca import CCA

    cohort = _small_cohort()
    fig = plotting.plot_centre_distributions(cohort, "radiomics", n_features=2, colours=COLS)
    boxes = [p for p in fig.axes[0].patches]
    assert [_rgba(p.get_facecolor()) for p in boxes] == [_rgba(COLS[c]) for c in "ABC"]

    X = cohort["radiomics"]
    Y = pd.DataFrame(np.random.default_rng(2).normal(size=(len(X), 3)), index=X.index)
    fit = CCA(n_components=1).fit(X, Y.add_prefix("y"))
    groups = cohort.centre.reindex(X.index).astype(str).to_numpy()
    ax = plotting.plot_cca_scores(fit, 1, groups=groups, colours=COLS).axes[0]
    got = {c.get_label(): _rgba(c.get_facecolor()[0]) for c in ax.collections}
    assert got == {c: _rgba(COLS[c]) for c in "ABC"}

    class Mofa:                     # the attribute plot_mofa_factors reads
        factors = pd.DataFrame(np.random.default_rng(1).normal(size=(len(X), 2)),
                               index=X.index, columns=["Factor1", "Factor2"])

    ax = plotting.plot_mofa_factors(Mofa(), color=cohort.centre.rename("centre"),
                                    colours=COLS).axes[0]
    got = {c.get_label(): _rgba(c.get_facecolor()[0]) for c in ax.collections}
    assert got == {c: _rgba(COLS[c]) for c in "ABC"}

    metrics = pd.DataFrame({"metric": ["r2"] * 3, "breakdown": ["all", "centre", "centre"],
                            "group": ["all", "C", "A"], "estimate": [0.2, 0.1, 0.3],
                            "lower": [0.1, 0.0, 0.2], "upper": [0.3, 0.2, 0.4]})

    class R:
        kind = "continuous"

    R.metrics = metrics
    ax = plotting.plot_validation_by_group(R(), colours=COLS).axes[0]
    seg_cols = [_rgba(c) for c in ax.collections[0].get_colors()]
    assert seg_cols == [_rgba("black"), _rgba(COLS["C"]), _rgba(COLS["A"])]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["pooled", "C", "A"]


def test_colours_missing_a_label_is_a_clear_error():
    cohort = _small_cohort()
    with pytest.raises(ValueError, match=r"no colour for 'C'.*centre_colours"):
        plotting.plot_cohort_overview(cohort.summary(), colours={"A": "red", "B": "blue"})


def test_group_plots_draw_without_layout_warnings():
    import warnings

    import matplotlib.pyplot as plt

    cohort = _small_cohort()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for fig in (plotting.plot_cohort_overview(cohort.summary()),
                    plotting.plot_centre_distributions(cohort, "radiomics")):
            fig.canvas.draw()
            plt.close(fig)
