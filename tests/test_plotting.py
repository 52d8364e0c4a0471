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
