"""The ``images`` and ``mofa`` workflow steps on a small simulated cohort."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from data_sim import make_cohort
from radiogenomics.plotting import centre_colours
from radiogenomics.workflow import StepContext, run_step, step_options
from radiogenomics.workflow._base import Figure, Table

ALPHA = 0.05


@pytest.fixture(scope="module")
def sim():
    return make_cohort(n_samples=60, n_radiomic=30, n_genes=80, n_modules=4, rng=3,
                       missing_rate={"expression": 0.1})


def _ctx(sim, tmp_path, truth=True, n_permutations=49):
    cohort, tr = sim
    return StepContext(cohort, out_dir=Path(tmp_path), rng=np.random.default_rng(0),
                       alpha=ALPHA, n_permutations=n_permutations, n_jobs=1,
                       truth=tr if truth else None,
                       centre_colours=centre_colours(cohort.centre.unique()))


def _check_fragment(res):
    """Record JSON-serialisable, every figure and table captioned, a methods paragraph."""
    json.dumps(res.record.to_dict())
    assert res.fragment.methods.strip()
    for b in res.fragment.blocks:
        if isinstance(b, (Figure, Table)):
            assert len(b.caption) > 40, b.name
    assert all("\n" not in getattr(b, "text", "") for b in res.fragment.blocks)


# ------------------------------------------------------------------------- images

def test_images_skipped_without_truth(sim, tmp_path):
    res = run_step("images", _ctx(sim, tmp_path, truth=False), {"n_patients": 20})
    assert res.record.status == "skipped"
    assert "truth" in res.record.reason
    assert res.fragment.skipped == res.record.reason
    json.dumps(res.record.to_dict())


def test_images_unknown_factor_is_skipped_with_reason(sim, tmp_path):
    res = run_step("images", _ctx(sim, tmp_path), {"factor": "F9", "n_patients": 20})
    assert res.record.status == "skipped" and "'F9'" in res.record.reason
    with pytest.raises(ValidationError):
        step_options("images", {"n_patient": 20})


def test_images_chain(sim, tmp_path):
    cohort, truth = sim
    ctx = _ctx(sim, tmp_path)
    res = run_step("images", ctx, {"n_patients": 20, "regions": False, "permutations": 19})
    assert res.ok
    _check_fragment(res)
    rec, out = res.record, res.result
    nums = rec.numbers
    assert rec.samples_used["phantoms"] == 20 and rec.seed is not None
    # the numbers are what the library gives directly
    Xh, assoc = out["harmonised"], out["association"]
    z = truth.shared_factors["F1"].reindex(Xh.index)
    assert nums["max_abs_r_with_factor"] == pytest.approx(Xh.corrwith(z).abs().max())
    assert nums["pairs_significant"] == int((assoc.adjusted.to_numpy() <= ALPHA).sum())
    assert nums["pairs_tested"] == Xh.shape[1] * cohort["expression"].shape[1]
    assert nums["genes_true"] == int((truth.loadings["expression"]["F1"] != 0).sum())
    assert nums["n_permutations"] == 19 and assoc.p_fwer is not None
    # redundancy: the removed features are not among the harmonised ones
    removed = rec.features_dropped.get("redundant", {}).get("ids", [])
    assert removed and not set(removed) & set(Xh.columns)
    assert rec.features_used["representatives"] == Xh.shape[1]
    # ComBat reduces the share of variance explained by centre
    assert nums["median_centre_eta2_combat"] < nums["median_centre_eta2_raw"]
    # the simulated fibrosis factor is visible in the harmonised features
    assert nums["max_abs_r_with_factor"] > 0.5
    assert rec.versions["pyradiomics"] == metadata.version("pyradiomics")
    assert metadata.version("pyradiomics") in res.fragment.methods
    assert any("van Griethuysen" in c for c in res.fragment.citations)
    assert any("Johnson" in c and "8:118" in c for c in res.fragment.citations)
    assert "Traceback" not in " ".join(getattr(b, "text", "") for b in res.fragment.blocks)


# ------------------------------------------------------------------------- MOFA+

@pytest.fixture(scope="module")
def mofa_run(sim, tmp_path_factory):
    ctx = _ctx(sim, tmp_path_factory.mktemp("mofa"), n_permutations=19)
    return ctx, run_step("mofa", ctx, {"factors": 3, "permutations": 99})


def test_mofa_record_and_fragment(mofa_run):
    ctx, res = mofa_run
    assert res.ok
    _check_fragment(res)
    rec, model = res.record, res.result["model"]
    # permutations capped at the study's number
    assert rec.numbers["n_permutations"] == 19
    assert res.result["associations"].n_permutations == 19
    # convergence reported in the record and in the prose
    assert rec.numbers["converged"] == bool(model.converged)
    assert rec.numbers["n_iter"] == model.n_iter
    prose = " ".join(getattr(b, "text", "") for b in res.fragment.blocks)
    assert f"after {model.n_iter} iterations" in prose
    assert any(f.kind == "check" and "converge" in f.text for f in res.fragment.findings)
    # variance explained shown once: one figure, no table of it
    names = [b.name for b in res.fragment.blocks if isinstance(b, (Figure, Table))]
    assert sum("variance" in n for n in names) == 1
    assert rec.versions["mofapy2"] == metadata.version("mofapy2")
    assert metadata.version("mofapy2") in res.fragment.methods
    assert any("Genome Biology 21:111" in c for c in res.fragment.citations)
    assert rec.samples_used["expression"] == int(ctx.cohort["expression"].shape[0])


def test_mofa_numbers_match_library(mofa_run):
    ctx, res = mofa_run
    model, fa = res.result["model"], res.result["associations"]
    nums = res.record.numbers
    Z = model.factors
    F = ctx.truth.shared_factors.reindex(Z.index)
    direct = [float(Z.corrwith(F[f]).abs().max()) for f in F.columns]
    assert nums["max_abs_r_with_true_factor"] == pytest.approx(direct)
    assert nums["true_factors"] == list(F.columns)
    assert nums["n_associations_q"] == int((fa.table["q"] <= ALPHA).sum())
    assert nums["r2_total_percent"] == pytest.approx(model.r2_total.iloc[:, 0].to_dict())
    lk = res.result["leakage"]
    assert nums["leakage_flagged"] == list(lk.index[lk["flagged"]])
    # the sex column (two text levels) and the outcomes are among the tested variables
    assert {"sex", "outcome_binary", "age"} <= set(fa.table["covariate"])


def test_mofa_without_truth_and_absent_sources(sim, tmp_path):
    ctx = _ctx(sim, tmp_path, truth=False, n_permutations=0)
    res = run_step("mofa", ctx, {"factors": 2, "correlate_with": ["covariates", "nope"]})
    assert res.ok and res.result["truth_correlation"] is None
    assert "max_abs_r_with_true_factor" not in res.record.numbers
    assert res.record.numbers["n_permutations"] == 0
    assert res.result["associations"].n_permutations == 0
    notes = [b.text for b in res.fragment.blocks if getattr(b, "note", False)]
    assert any("nope" in t for t in notes)
    json.dumps(res.record.to_dict())


def test_mofa_skipped_without_views(sim, tmp_path):
    res = run_step("mofa", _ctx(sim, tmp_path), {"views": ["proteomics"]})
    assert res.record.status == "skipped" and "proteomics" in res.record.reason
    with pytest.raises(ValidationError):
        step_options("mofa", {"convergence": "quick"})
