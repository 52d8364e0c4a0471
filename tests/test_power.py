"""Power studies on Dask: worker-count invariance, resume, summaries, the sample-size solver,
and the built-in analyses' validity (type-I error under the null)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radiogenomics.power import (PowerError, association_maxt_power, cca_power, mr_power,
                                 required_sample_size, run_study, wilson_interval)


def _toy(params, rng):
    """Fast analysis with known power: one-sample z test of a N(effect, 1) mean."""
    n, eff = int(params["n"]), float(params["effect"])
    x = rng.normal(eff, 1.0, n)
    z = x.mean() * np.sqrt(n)
    lo, hi = x.mean() - 1.96 / np.sqrt(n), x.mean() + 1.96 / np.sqrt(n)
    return {"reject": float(abs(z) > 1.959963984540054), "estimate": x.mean(), "truth": eff,
            "lower": lo, "upper": hi}


GRID = {"n": [10, 30], "effect": [0.0, 0.5]}


@pytest.fixture(scope="module")
def client2():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                           dashboard_address=None)
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_worker_count_and_chunking_do_not_change_results(client2):
    one = run_study(_toy, GRID, n_replicates=60, rng=7, n_workers=1, processes=False)
    two = run_study(_toy, GRID, n_replicates=60, rng=7, client=client2, chunk_size=7)
    pd.testing.assert_frame_equal(one.replicates, two.replicates)
    pd.testing.assert_frame_equal(one.table, two.table)
    assert one.n_workers == 1 and two.n_workers == 2
    # a cell's numbers do not depend on the rest of the grid or its order
    sub = run_study(_toy, {"effect": [0.5], "n": [30]}, n_replicates=60, rng=7, client=client2)
    a = one.replicates.query("n == 30 and effect == 0.5").reset_index(drop=True)
    b = sub.replicates[a.columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    other = run_study(_toy, GRID, n_replicates=60, rng=8, client=client2)
    assert not other.replicates["estimate"].equals(one.replicates["estimate"])


def test_summary_matches_theory_and_wilson_intervals(client2):
    res = run_study(_toy, {"n": [25], "effect": [0.0, 0.4]}, n_replicates=400, rng=1,
                    client=client2)
    t = res.table.set_index("effect")
    from scipy.stats import norm
    theory = 1 - norm.cdf(1.96 - 0.4 * 5) + norm.cdf(-1.96 - 0.4 * 5)
    # 99% Wilson intervals (the table's are 95%): power 0.52 and type-I error 0.05
    for eff, target in ((0.4, theory), (0.0, 0.05)):
        lo, hi = wilson_interval(t.loc[eff, "rate"] * 400, 400, 0.99)
        assert lo <= target <= hi, (eff, t.loc[eff, "rate"], target)
    assert abs(t.loc[0.4, "bias"]) < 3 * t.loc[0.4, "bias_se"]
    assert abs(t.loc[0.4, "coverage"] - 0.95) < 3 * np.sqrt(0.95 * 0.05 / 400)
    lo, hi = wilson_interval(5, 20)
    assert lo == pytest.approx(0.1119, abs=1e-4) and hi == pytest.approx(0.4687, abs=1e-4)
    assert "rate" in res.summary()


def test_interrupted_study_resumes_from_the_store(client2, tmp_path):
    full = run_study(_toy, GRID, n_replicates=40, rng=3, client=client2, store=tmp_path)
    assert full.computed_cells == 4 and full.loaded_cells == 0
    files = sorted(tmp_path.glob("cell_*.parquet"))
    assert len(files) == 4
    files[1].unlink()                                   # as if the study stopped before it
    again = run_study(_toy, GRID, n_replicates=40, rng=3, client=client2, store=tmp_path)
    assert again.computed_cells == 1 and again.loaded_cells == 3
    pd.testing.assert_frame_equal(again.replicates, full.replicates)
    with pytest.raises(PowerError, match="different study"):
        run_study(_toy, GRID, n_replicates=40, rng=4, client=client2, store=tmp_path)
    assert not list(tmp_path.glob(".*.tmp"))


def test_sample_size_solver_finds_the_theoretical_n(client2):
    # z test, effect 0.5, power 0.8: n = ((1.96 + 0.8416) / 0.5)^2 = 31.4
    res = required_sample_size(_toy, {"effect": 0.5}, target_power=0.8, n_range=(5, 120),
                               n_replicates=400, rng=2, client=client2)
    print("\n" + res.summary())
    assert 24 <= res.n_required <= 40
    t = res.trace
    assert (t["power"].diff().dropna() >= -0.05).all()
    none = required_sample_size(_toy, {"effect": 0.05}, target_power=0.9, n_range=(5, 20),
                                n_replicates=50, rng=2, client=client2)
    assert none.n_required is None


def test_cca_analysis_type_one_error_and_power(client2):
    res = run_study(cca_power, {"n": [60], "p": [4], "q": [4], "r": [0.0, 0.6],
                                "n_permutations": [99]},
                    n_replicates=200, rng=5, client=client2, alpha=0.05)
    t = res.table.set_index("r")
    print("\n" + res.summary())
    assert t.loc[0.0, "rate_lower"] <= 0.05 <= t.loc[0.0, "rate_upper"]
    assert t.loc[0.6, "rate"] > 0.85
    assert t.loc[0.6, "bias"] > 0                      # in-sample r1 is optimistic
    assert (res.replicates["p_value"] >= 1 / 100).all()


def test_association_and_mr_analyses(client2):
    res = run_study(association_maxt_power, {"n": [45], "p": [4], "q": [30],
                                             "effect": [0.0, 0.6], "n_permutations": [99]},
                    n_replicates=60, rng=6, client=client2, alpha=0.05)
    t = res.table.set_index("effect")
    assert t.loc[0.0, "rate_lower"] <= 0.05 <= t.loc[0.0, "rate_upper"] + 0.02   # FWER
    assert t.loc[0.6, "rate"] > 0.5
    mr = run_study(mr_power, {"n": [5000], "causal_effect": [0.0, 0.3]}, n_replicates=60,
                   rng=7, client=client2, alpha=0.05)
    m = mr.table.set_index("causal_effect")
    assert m.loc[0.0, "rate_lower"] <= 0.05 <= m.loc[0.0, "rate_upper"]
    assert m.loc[0.3, "rate"] > 0.8
    assert m.loc[0.3, "coverage_lower"] <= 0.95 <= m.loc[0.3, "coverage_upper"]


def test_bad_inputs():
    with pytest.raises(PowerError, match="grid"):
        run_study(_toy, {}, n_replicates=2)
    with pytest.raises(PowerError, match="duplicated"):
        run_study(_toy, pd.DataFrame({"n": [10, 10], "effect": [0, 0]}), n_replicates=2)
    with pytest.raises(PowerError, match="n_range"):
        required_sample_size(_toy, {"effect": 0.5}, n_range=(50, 10))


def test_power_plots(client2, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from radiogenomics import plotting

    res = run_study(_toy, {"n": [10, 20, 40], "effect": [0.2, 0.5]}, n_replicates=50, rng=1,
                    client=client2)
    for name, fig in (("curve", plotting.plot_power_curve(res, "n", hue="effect", target=0.8)),
                      ("heat", plotting.plot_power_heatmap(res, "n", "effect"))):
        fig.savefig(tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").stat().st_size > 5000
