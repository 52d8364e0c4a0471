"""Power studies on Dask: worker-count invariance, resume, summaries, the sample-size solver,
and the built-in analyses' validity (type-I error under the null)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radiogenomics.power import PowerError, required_sample_size, run_study, wilson_interval
from radiogenomics.studies import association_maxt_power, cca_power, mr_power


def _toy(params, rng):
    """Fast analysis with known power: one-sample z test of a N(effect, 1) mean."""
    n, eff = int(params["n"]), float(params["effect"])
    x = rng.normal(eff, 1.0, n)
    z = x.mean() * np.sqrt(n)
    lo, hi = x.mean() - 1.96 / np.sqrt(n), x.mean() + 1.96 / np.sqrt(n)
    return {"reject": float(abs(z) > 1.959963984540054), "estimate": x.mean(), "truth": eff,
            "lower": lo, "upper": hi}


GRID = {"n": [10, 30], "effect": [0.0, 0.5]}


def _binom_ok(k, n, p, level=0.998, upper_only=False):
    """k inside the exact Binomial(n, p) acceptance region (scipy), not the package's own
    interval."""
    from scipy import stats

    lo, hi = stats.binom.ppf([(1 - level) / 2, (1 + level) / 2], n, p)
    return k <= hi if upper_only else lo <= k <= hi


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
    """Every summary is checked against an independent reference: the z test's closed-form
    power, level, estimator SD and CI coverage (exact binomial / chi-square intervals from
    scipy), statsmodels' Wilson interval, and a direct recomputation from the replicates."""
    from scipy import stats
    from statsmodels.stats.proportion import proportion_confint

    R, n = 400, 25
    res = run_study(_toy, {"n": [n], "effect": [0.0, 0.4]}, n_replicates=R, rng=1,
                    client=client2)
    t = res.table.set_index("effect")
    theory = 1 - stats.norm.cdf(1.96 - 0.4 * 5) + stats.norm.cdf(-1.96 - 0.4 * 5)
    for eff, target in ((0.4, theory), (0.0, 0.05)):
        k = int(round(t.loc[eff, "rate"] * R))
        # the rejection count is Binomial(R, target): exact 99.9% acceptance region (scipy)
        assert stats.binom.ppf(0.0005, R, target) <= k <= stats.binom.ppf(0.9995, R, target)
        # the table's 95% interval is Wilson's, as statsmodels computes it
        lo, hi = proportion_confint(k, R, alpha=0.05, method="wilson")
        assert t.loc[eff, "rate_lower"] == pytest.approx(lo, abs=1e-12)
        assert t.loc[eff, "rate_upper"] == pytest.approx(hi, abs=1e-12)
    # bias: the mean of R means of N(0.4, 1/n) is N(0.4, 1/(nR)) - closed-form SE, not the table's
    se = 1 / np.sqrt(n * R)
    assert abs(t.loc[0.4, "bias"]) < 3.3 * se
    # the table's bias SE and RMSE: (R - 1) s^2 / sigma^2 ~ chi2(R - 1), R rmse^2 / sigma^2 ~ chi2(R)
    q = stats.chi2.ppf([0.0005, 0.9995], R - 1)
    assert np.sqrt(q[0] / (R - 1)) * se <= t.loc[0.4, "bias_se"] <= np.sqrt(q[1] / (R - 1)) * se
    q = stats.chi2.ppf([0.0005, 0.9995], R)
    assert np.sqrt(q[0] / R / n) <= t.loc[0.4, "rmse"] <= np.sqrt(q[1] / R / n)
    # coverage of the exact 95% CI: covered count ~ Binomial(R, 0.95)
    k = int(round(t.loc[0.4, "coverage"] * R))
    assert stats.binom.ppf(0.0005, R, 0.95) <= k <= stats.binom.ppf(0.9995, R, 0.95)
    lo, hi = proportion_confint(k, R, alpha=0.05, method="wilson")
    assert (t.loc[0.4, "coverage_lower"], t.loc[0.4, "coverage_upper"]) == pytest.approx((lo, hi))
    # the table against the replicates, recomputed here without the package's summariser
    g = res.replicates.query("effect == 0.4")
    err = g["estimate"] - 0.4
    assert t.loc[0.4, "bias"] == pytest.approx(err.mean())
    assert t.loc[0.4, "rmse"] == pytest.approx(np.sqrt((err ** 2).mean()))
    assert t.loc[0.4, "coverage"] == pytest.approx(((g["lower"] <= 0.4) & (g["upper"] >= 0.4)).mean())
    # Wilson at 5/20 and 0/20 against statsmodels (an edge: zero successes)
    for k in (5, 0, 20):
        assert wilson_interval(k, 20) == pytest.approx(
            proportion_confint(k, 20, alpha=0.05, method="wilson"), abs=1e-12)
    assert wilson_interval(5, 20, 0.99) == pytest.approx(
        proportion_confint(5, 20, alpha=0.01, method="wilson"), abs=1e-12)
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


def _draw(params, rng):
    """The first number of the replicate's stream (tells whether two cells share seeds)."""
    return {"u": rng.random(), "n_seen": float(params["n"])}


# Two cells whose 32-bit keys (sha256[:4] of the canonical JSON, store format 1) collided:
# one Parquet file name and the same replicate seeds for both.
COLLIDING = [{"n": 101372, "effect": 0.5}, {"n": 165800, "effect": 0.5}]


def test_cell_keys_are_128_bit_and_separate_the_old_collision(client2, tmp_path):
    from radiogenomics.power import cell_key

    keys = [cell_key(p) for p in COLLIDING]
    assert all(len(k) == 32 and int(k, 16) < 2**128 for k in keys)      # 128 bits, hex
    assert keys[0] != keys[1]
    assert cell_key({"n": 40, "effect": 0.5}) == cell_key({"effect": 0.5, "n": 40.0})
    # values keyed exactly: long arrays whose str() is identical, refused opaque objects
    a, b = np.zeros(2000), np.zeros(2000)
    b[1000] = 1
    assert str(a) == str(b) and cell_key({"w": a}) != cell_key({"w": b})
    with pytest.raises(PowerError, match="'model'.*numbers, strings"):
        cell_key({"model": object()})
    grid = pd.DataFrame(COLLIDING)
    res = run_study(_draw, grid, n_replicates=6, rng=3, client=client2, store=tmp_path)
    assert len(list(tmp_path.glob("cell_*.parquet"))) == 2             # one file each
    u = res.replicates.pivot(index="replicate", columns="n", values="u")
    assert not np.allclose(u[101372], u[165800])                       # distinct streams
    again = run_study(_draw, grid, n_replicates=6, rng=3, client=client2, store=tmp_path)
    assert again.loaded_cells == 2
    pd.testing.assert_frame_equal(again.replicates, res.replicates)
    assert (again.replicates["n_seen"] == again.replicates["n"]).all()


def test_stale_forged_or_foreign_cell_files_are_detected_and_recomputed(client2, tmp_path):
    from radiogenomics.power import StaleCellWarning, cell_key

    full = run_study(_toy, GRID, n_replicates=20, rng=3, client=client2, store=tmp_path)
    f = {(p["n"], p["effect"]): tmp_path / f"cell_{cell_key(p)}.parquet"
         for p in ({"n": n, "effect": e} for n in GRID["n"] for e in GRID["effect"])}
    assert all(x.is_file() for x in f.values())
    # (a) another cell's file copied over this one (same length: old code loaded it silently)
    f[(10, 0.5)].write_bytes(f[(30, 0.5)].read_bytes())
    # (b) a file without a parameter record (plain pandas), holding this cell's own rows
    full.replicates.query("n == 30 and effect == 0.0").to_parquet(f[(30, 0.0)], index=False)
    # (c) garbage bytes
    f[(10, 0.0)].write_bytes(b"not parquet")
    with pytest.warns(StaleCellWarning) as rec:
        again = run_study(_toy, GRID, n_replicates=20, rng=3, client=client2, store=tmp_path)
    msgs = sorted(str(w.message) for w in rec if issubclass(w.category, StaleCellWarning))
    assert len(msgs) == 3 and again.computed_cells == 3 and again.loaded_cells == 1
    assert any(f[(10, 0.5)].name in m and "parameters" in m and "differ" in m for m in msgs)
    assert any(f[(30, 0.0)].name in m and "no parameter record" in m for m in msgs)
    assert any(f[(10, 0.0)].name in m and "cannot be read" in m for m in msgs)
    pd.testing.assert_frame_equal(again.replicates, full.replicates)
    # (d) the same cell from another study (other seed) dropped into the store
    other = tmp_path / "other"
    run_study(_toy, GRID, n_replicates=20, rng=4, client=client2, store=other)
    f[(30, 0.5)].write_bytes((other / f[(30, 0.5)].name).read_bytes())
    with pytest.warns(StaleCellWarning, match="recorded study"):
        third = run_study(_toy, GRID, n_replicates=20, rng=3, client=client2, store=tmp_path)
    assert third.computed_cells == 1
    pd.testing.assert_frame_equal(third.replicates, full.replicates)
    # now every file checks out: nothing recomputed, no warning
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", StaleCellWarning)
        last = run_study(_toy, GRID, n_replicates=20, rng=3, client=client2, store=tmp_path)
    assert last.loaded_cells == 4


def test_study_json_is_written_atomically_and_old_stores_are_refused(tmp_path, monkeypatch):
    import json

    import radiogenomics.power as power

    def crash(obj, fh, **kw):                      # dies half-way through writing
        fh.write('{"format": 2, "analy')
        raise KeyboardInterrupt

    monkeypatch.setattr(power.json, "dump", crash)
    with pytest.raises(KeyboardInterrupt):
        run_study(_toy, GRID, n_replicates=2, rng=3, n_workers=1, processes=False,
                  store=tmp_path)
    monkeypatch.undo()
    assert not (tmp_path / "study.json").exists()     # no truncated study.json ...
    assert not list(tmp_path.glob(".*"))              # ... and no temporary file left
    # a store of format 1 (32-bit keys, unverifiable cells) is refused with the fix
    old = tmp_path / "old"
    old.mkdir()
    (old / "study.json").write_text(json.dumps({"analysis": "x", "rng_entropy": 3,
                                                "n_replicates": 2, "alpha": None,
                                                "seed_exclude": []}))
    with pytest.raises(PowerError, match="older version.*new folder"):
        run_study(_toy, GRID, n_replicates=2, rng=3, store=old)
    (old / "study.json").write_text('{"format": 2, "analy')        # truncated by old code
    with pytest.raises(PowerError, match="not valid JSON"):
        run_study(_toy, GRID, n_replicates=2, rng=3, store=old)


def test_rng_accepts_spec7_types(client2):
    """int and SeedSequence(int) give the same study; Generator, BitGenerator and None work;
    a Generator gives the same study as a fresh Generator with the same seed."""
    kw = dict(n_replicates=5, client=client2)
    grid = {"n": [10], "effect": [0.0]}
    base = run_study(_draw, grid, rng=11, **kw).replicates
    pd.testing.assert_frame_equal(base, run_study(_draw, grid, rng=np.random.SeedSequence(11),
                                                  **kw).replicates)
    g1 = run_study(_draw, grid, rng=np.random.default_rng(5), **kw).replicates
    g2 = run_study(_draw, grid, rng=np.random.Generator(np.random.PCG64(5)), **kw).replicates
    b = run_study(_draw, grid, rng=np.random.PCG64(5), **kw).replicates
    pd.testing.assert_frame_equal(g1, g2)
    pd.testing.assert_frame_equal(g1, b)
    assert run_study(_draw, grid, rng=None, **kw).replicates["u"].nunique() == 5
    with pytest.raises(TypeError):
        run_study(_draw, grid, rng=True, **kw)
    with pytest.raises(TypeError, match="RandomState"):
        run_study(_draw, grid, rng=np.random.RandomState(1), **kw)
    with pytest.raises(ValueError, match="non-negative"):
        run_study(_draw, grid, rng=-1, **kw)


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
    from statsmodels.multivariate.cancorr import CanCorr

    from radiogenomics.studies import simulate_cca_data

    t = res.table.set_index("r")
    print("\n" + res.summary())
    k0 = int(res.replicates.query("r == 0")["reject"].sum())
    assert _binom_ok(k0, 200, 0.05), k0                # level: exact binomial region (scipy)
    assert t.loc[0.6, "rate"] > 0.85
    assert t.loc[0.6, "bias"] > 0                      # in-sample r1 is optimistic
    assert (res.replicates["p_value"] >= 1 / 100).all()
    # the statistic is the first canonical correlation as statsmodels computes it
    params = {"n": 60, "p": 4, "q": 4, "r": 0.6, "n_permutations": 9}
    for seed in range(3):
        out = cca_power(params, np.random.default_rng(seed))
        X, Y = simulate_cca_data(60, 4, 4, 0.6, np.random.default_rng(seed))
        assert out["estimate"] == pytest.approx(CanCorr(Y, X).cancorr[0], abs=1e-10)


def test_association_and_mr_analyses(client2):
    res = run_study(association_maxt_power, {"n": [45], "p": [4], "q": [30],
                                             "effect": [0.0, 0.6], "n_permutations": [99]},
                    n_replicates=60, rng=6, client=client2, alpha=0.05)
    t = res.table.set_index("effect")
    # FWER must not exceed 5% (one-sided exact binomial bound; conservative is allowed)
    k = int(round(t.loc[0.0, "rate"] * 60))
    assert _binom_ok(k, 60, 0.05, upper_only=True), k
    assert t.loc[0.6, "rate"] > 0.5
    mr = run_study(mr_power, {"n": [5000], "causal_effect": [0.0, 0.3]}, n_replicates=60,
                   rng=7, client=client2, alpha=0.05)
    m = mr.table.set_index("causal_effect")
    assert _binom_ok(int(round(m.loc[0.0, "rate"] * 60)), 60, 0.05)
    assert m.loc[0.3, "rate"] > 0.8
    assert _binom_ok(int(round(m.loc[0.3, "coverage"] * 60)), 60, 0.95)


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


# ------------------------------------------------------------------------------ layering

def _imports(path):
    """(module imported, enclosing function or None) for every import in a file."""
    import ast

    tree = ast.parse(path.read_text())
    out = []

    def visit(node, func):
        for child in ast.iter_child_nodes(node):
            f = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else func
            if isinstance(child, ast.Import):
                out.extend((a.name, func) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                mod = "." * child.level + (child.module or "")
                out.extend((f"{mod}.{a.name}" if child.module is None else mod, func)
                           for a in child.names)
            visit(child, f)
    visit(tree, None)
    return out


def test_layering():
    """data_sim -> radiogenomics core only; power never imports data_sim or studies (except
    the lazy, deprecated re-export in its module __getattr__); no core module imports
    data_sim - only the layer above (studies, cli, demo, workflow)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    above = {"studies.py", "cli.py", "demo.py"}
    for f in (root / "radiogenomics").rglob("*.py"):
        for mod, func in _imports(f):
            if mod.split(".")[0] == "data_sim":
                assert f.name in above or f.parent.name == "workflow", \
                    f"{f.relative_to(root)} imports {mod}"
            if f.name == "power.py" and ("studies" in mod or "data_sim" in mod):
                assert func == "__getattr__", f"power.py imports {mod} in {func}"
    for f in (root / "data_sim").glob("*.py"):
        for mod, _ in _imports(f):
            assert not any(x in mod for x in ("power", "studies", "cli", "demo", "workflow")), \
                f"{f.relative_to(root)} imports {mod}"
    for first, banned in (("data_sim", ("radiogenomics.power", "radiogenomics.studies")),
                          ("radiogenomics.power", ("data_sim", "radiogenomics.studies"))):
        code = (f"import sys, {first}; bad = [m for m in sys.modules if m.split('.')[0] == "
                f"'data_sim' and 'data_sim' in {banned!r} or m in {banned!r}]; "
                "assert not bad, bad")
        subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def test_old_import_path_of_the_analyses_still_works_with_a_deprecation_warning():
    import radiogenomics.power as power
    from radiogenomics import studies

    with pytest.warns(DeprecationWarning, match="radiogenomics.studies.cca_power"):
        from radiogenomics.power import cca_power as old
    assert old is studies.cca_power
    with pytest.raises(AttributeError):
        power.not_a_name  # noqa: B018


def test_sample_size_solver_keeps_common_random_numbers_with_a_generator(client2):
    """A Generator rng is drawn from once: every n uses the same streams (same as an int)."""
    kw = dict(target_power=0.8, n_range=(5, 60), n_replicates=40, client=client2)
    ss = np.random.SeedSequence(123)
    a = required_sample_size(_draw_power, {"effect": 0.5}, rng=np.random.default_rng(ss), **kw)
    b = required_sample_size(_draw_power, {"effect": 0.5},
                             rng=np.random.default_rng(np.random.SeedSequence(123)), **kw)
    pd.testing.assert_frame_equal(a.trace, b.trace)
    assert a.n_required == b.n_required
    assert (a.trace.sort_values("n")["power"].diff().dropna() >= 0).all()   # nested rejections


def _draw_power(params, rng):
    """Rejects when the replicate's first uniform is below a power that rises with n: with
    common random numbers the rejections are nested in n, so power is monotone in n."""
    u = rng.random()
    return {"reject": float(u < min(1.0, params["n"] / 60))}
