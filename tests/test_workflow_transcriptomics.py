"""Workflow step ``transcriptomics``: counts -> filterByExpr -> TMM -> voom -> limma screen ->
gene-set scores as a view, and its YAML configuration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import data_sim
from radiogenomics.association import associate
from radiogenomics.expression import filter_by_expr, read_gmt, score_gene_sets, write_gmt
from radiogenomics.expression import calc_norm_factors, cpm
from radiogenomics.workflow import StepContext, run_step


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    cohort, truth = data_sim.make_cohort(n_samples=60, n_genes=400, n_radiomic=20,
                                         missing_rate={"expression": 0.1}, rng=3)
    folder = tmp_path_factory.mktemp("tx")
    gmt = folder / "modules.gmt"
    write_gmt(truth.modules, gmt)
    return cohort, truth, folder, gmt


def test_step_equals_the_calls_it_describes(simulated):
    cohort, truth, folder, gmt = simulated
    ctx = StepContext(cohort, out_dir=folder, rng=np.random.default_rng(0))
    res = run_step("transcriptomics", ctx, {"gene_sets": gmt, "x": "traits"})
    screen, flt, scores = res.result["screen"], res.result["filter"], res.result["scores"]
    counts = cohort["expression_counts"]
    centre = cohort.centre.reindex(counts.index)
    expected = filter_by_expr(counts, group=centre)
    pd.testing.assert_series_equal(flt.keep, expected.keep)
    kept = expected.apply(counts)
    direct = associate(cohort.with_view("expression_counts", kept), x="traits",
                       y="expression_counts", method="limma")
    np.testing.assert_allclose(screen.t.to_numpy(), direct.t.to_numpy(), rtol=1e-12)
    assert screen.weights == "voom"
    logcpm = cpm(kept, norm_factors=calc_norm_factors(kept), log=True, prior_count=2)
    direct_scores = score_gene_sets(logcpm, read_gmt(gmt), method="gsva", min_size=5)
    pd.testing.assert_frame_equal(scores.scores, direct_scores.scores)
    # the scores are a view for the steps after it
    assert "gene_set_scores" in ctx.cohort
    assert ctx.cohort["gene_set_scores"].shape == (len(kept), len(truth.modules))
    ctx.n_permutations = 19
    cca = run_step("cca", ctx, {"x": "traits", "y": "gene_set_scores", "components": 2,
                                "cv_folds": 3, "cv_permutations": 0})
    assert cca.record.numbers
    # report pieces: a table of the top pairs with limma's columns, the volcano, coverage
    tables = [b for b in res.fragment.blocks if type(b).__name__ == "Table"]
    assert {"logFC", "AveExpr", "t", "q"} <= set(tables[0].df.columns)
    assert any(type(b).__name__ == "Figure" for b in res.fragment.blocks)
    assert "voom" in res.fragment.methods and "filterByExpr" in res.fragment.methods
    assert res.record.numbers["n_genes_kept"] == kept.shape[1]


def test_filtered_genes_are_recorded(simulated):
    cohort, _, folder, gmt = simulated
    counts = cohort["expression_counts"].copy()
    rng = np.random.default_rng(1)
    counts.iloc[:, :7] = rng.integers(0, 2, size=(len(counts), 7))  # seven genes with few reads
    ctx = StepContext(cohort.with_view("expression_counts", counts), out_dir=folder,
                      rng=np.random.default_rng(0))
    res = run_step("transcriptomics", ctx, {"x": "traits"})
    dropped = res.record.features_dropped
    names = {i for entry in dropped.values() for i in entry["ids"]}
    assert set(counts.columns[:7]) <= names
    assert not set(counts.columns[:7]) & set(res.result["screen"].t.columns)
    assert res.result["scores"] is None
    assert "No gene sets" in " ".join(getattr(b, "text", "") for b in res.fragment.blocks)


def test_skipped_without_counts(simulated):
    cohort, _, folder, _ = simulated
    ctx = StepContext(cohort, out_dir=folder, rng=np.random.default_rng(0))
    res = run_step("transcriptomics", ctx, {"counts": "rnaseq", "x": "traits"})
    assert res.record.status == "skipped" and "rnaseq" in res.record.reason


def test_config_block(simulated, tmp_path):
    from radiogenomics.workflow.config import load_config

    cohort, _, _, gmt = simulated
    paths = cohort.to_files(tmp_path / "data")
    (tmp_path / "sets.gmt").write_text(gmt.read_text())
    rel = {k: p.relative_to(tmp_path) for k, p in paths.items()}
    views = "\n".join(f"    {v}: {rel['view_' + v]}" for v in ("traits", "expression_counts"))
    (tmp_path / "config.yaml").write_text(
        "data:\n  views:\n" + views + "\n"
        f"  covariates: {rel['covariates']}\n  centre: {rel['centre']}\n"
        "analyses:\n  transcriptomics:\n    counts: expression_counts\n    x: traits\n"
        "    gene_sets: sets.gmt\n  cca:\n    x: traits\n    y: gene_set_scores\n")
    cfg = load_config(tmp_path / "config.yaml")
    steps = [s for s, _ in cfg.plan]
    assert steps == ["transcriptomics", "cca"]
    assert cfg.plan[0][1].gene_sets == (tmp_path / "sets.gmt").resolve()


def test_permutations_keep_parametric_bh_and_say_so(simulated):
    cohort, _, folder, _ = simulated
    ctx = StepContext(cohort, out_dir=folder, rng=np.random.default_rng(0), n_permutations=19)
    res = run_step("transcriptomics", ctx, {"x": "traits", "permutations": 19})
    screen = res.result["screen"]
    assert screen.fdr_on == "parametric" and screen.p_fwer is not None and screen.trend
    assert "within each centre" in res.fragment.methods
    assert "parametric p-values" in res.fragment.methods
    assert "Intercept:" not in res.fragment.methods
    assert "n_fwer" in res.record.numbers
