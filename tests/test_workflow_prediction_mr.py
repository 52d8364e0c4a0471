"""The ``prediction`` and ``mr`` workflow steps on a small simulated cohort: their numbers are
what the library gives directly with the same seed; absent inputs give a skip with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from data_sim import make_cohort
from radiogenomics._checks import InputError
from radiogenomics.plotting import centre_colours
from radiogenomics.workflow import StepContext, run_step, step_options
from radiogenomics.workflow._base import Figure, Table

N_BOOT = 20


@pytest.fixture(scope="module")
def sim():
    return make_cohort(n_samples=70, n_radiomic=15, n_genes=40, n_modules=4, rng=3)


def _ctx(sim, tmp_path, truth=None, cohort=None):
    c, _ = sim
    c = c if cohort is None else cohort
    cols = {} if c.centre is None else centre_colours(c.centre.unique())
    return StepContext(c, out_dir=Path(tmp_path), rng=np.random.default_rng(0), n_jobs=1,
                       truth=truth, centre_colours=cols)


def _check_fragment(res):
    json.dumps(res.record.to_dict())
    assert res.fragment.methods.strip()
    blocks = [b for b in res.fragment.blocks if isinstance(b, (Figure, Table))]
    assert blocks
    for b in blocks:
        assert len(b.caption) > 60, b.name


# ------------------------------------------------------------------------- prediction

def test_prediction_numbers_equal_library(sim, tmp_path):
    from radiogenomics.penalized import make_pipeline
    from radiogenomics.validation import cross_validate, design_matrix

    cohort, _ = sim
    res = run_step("prediction", _ctx(sim, tmp_path),
                   {"targets": {"outcomes": None}, "cv": ["loco", 5], "cv_binary": ["loco"],
                    "bootstrap": N_BOOT})
    assert res.ok
    _check_fragment(res)
    rec, seed = res.record, res.record.seed
    X, y = design_matrix(cohort, "radiomics", "outcome_continuous", covariates=("age", "sex"))
    for cv, name in ((5, "5-fold"), ("loco", "leave-one-centre-out")):
        pipe = make_pipeline(alpha=0.5, covariates=("age", "sex"), rng=seed, n_lambda=50)
        direct = cross_validate(pipe, X, y, cv, n_boot=N_BOOT, rng=seed, kind="continuous",
                                progress=False)
        got = rec.numbers["targets"]["outcome_continuous"][name]
        m = direct.metrics[(direct.metrics["breakdown"] == "all")
                           & (direct.metrics["metric"] == "r2")].iloc[0]
        assert got["estimate"] == pytest.approx(m["estimate"])
        assert (got["lower"], got["upper"]) == pytest.approx((m["lower"], m["upper"]))
        by = direct.metrics[(direct.metrics["breakdown"] == "centre")
                            & (direct.metrics["metric"] == "r2")]
        assert set(got["by_centre"]) == set(by["group"].astype(str))
        c0 = by.iloc[0]
        assert got["by_centre"][str(c0["group"])]["estimate"] == pytest.approx(c0["estimate"])
    # binary: LOCO only (cv_binary), with within-centre AUROC and calibration
    b = rec.numbers["targets"]["outcome_binary"]
    assert set(b) == {"source", "leave-one-centre-out"}
    bl = b["leave-one-centre-out"]
    assert bl["metric"] == "auroc" and 0 <= bl["auroc_within_centre"] <= 1
    assert np.isfinite(bl["calibration_slope"])
    table = res.result["table"]
    assert len(table) == 3 and set(table["cv"]) == {"5-fold", "leave-one-centre-out"}
    assert rec.samples_used["outcome_continuous"] == len(y)


def test_prediction_report_says_what_cis_condition_on(sim, tmp_path):
    res = run_step("prediction", _ctx(sim, tmp_path),
                   {"targets": {"outcomes": ["outcome_binary"]}, "cv": ["loco"],
                    "bootstrap": N_BOOT})
    frag = res.fragment
    assert "fixed out-of-fold predictions" in frag.methods
    assert "Friedman" in " ".join(frag.citations) and "Johnson" in " ".join(frag.citations)
    names = [b.name for b in frag.blocks if isinstance(b, Figure)]
    assert "prediction_loco_by_centre" in names
    # the calibration figure, or (plot_calibration failing on a bin whose Wilson lower bound
    # is 2.8e-17 above an observed rate of 0) the reason it is missing, in text and record
    drawn = any(n.startswith("prediction_calibration_") for n in names)
    missing = [w for w in res.record.warnings if "calibration plot of outcome_binary" in w]
    assert drawn != bool(missing)
    texts = " ".join(getattr(b, "text", "") for b in frag.blocks)
    assert "within-centre AUROC" in texts
    assert [f.kind for f in frag.findings].count("out-of-sample") == 1
    # every convergence message is in the record's warnings, named by target and fold
    n_conv = res.record.numbers["n_convergence_warnings"]
    assert sum(", fold " in w for w in res.record.warnings) == n_conv


def test_prediction_view_target_and_skips(sim, tmp_path):
    cohort, _ = sim
    ctx = _ctx(sim, tmp_path)
    res = run_step("prediction", ctx, {"x": "nope", "targets": {"outcomes": None}})
    assert res.record.status == "skipped" and "'nope'" not in res.record.reason
    assert "nope" in res.record.reason
    res = run_step("prediction", ctx, {"targets": {"proteins": None}})
    assert res.record.status == "skipped" and "proteins not in the data" in res.record.reason
    with pytest.raises(InputError, match="not columns of 'modules'"):
        run_step("prediction", ctx, {"targets": {"modules": ["M99"]}})
    with pytest.raises(InputError, match="covariates"):
        run_step("prediction", ctx, {"covariates": ["bmi"], "cv": [5]})
    with pytest.raises(ValidationError):
        step_options("prediction", {"cv": ["lodo"]})
    with pytest.raises(ValidationError):
        step_options("prediction", {"bootstrap": 10, "folds": 3})
    mod = cohort["modules"].columns[1]
    res = run_step("prediction", ctx, {"targets": {"modules": [mod]}, "cv": [5],
                                       "bootstrap": 0})
    assert res.ok and res.result["table"]["source"].tolist() == ["modules"]
    assert "No bootstrap CIs" in res.fragment.methods


def test_prediction_without_centre_drops_loco(sim, tmp_path):
    from radiogenomics import Cohort

    cohort, _ = sim
    one = Cohort({"radiomics": cohort["radiomics"]}, covariates=cohort.covariates,
                 outcomes=cohort.outcomes)
    assert one.centre is None
    res = run_step("prediction", _ctx(sim, tmp_path, cohort=one),
                   {"targets": {"outcomes": ["outcome_continuous"]}, "bootstrap": N_BOOT})
    assert res.ok and set(res.result["table"]["cv"]) == {"5-fold"}
    assert "leave-one-centre-out" not in res.record.numbers["targets"]["outcome_continuous"]


# ------------------------------------------------------------------------- MR

def test_mr_numbers_equal_library(sim, tmp_path):
    from radiogenomics import mr as M
    from radiogenomics.workflow.mr import observational

    cohort, truth = sim
    exp, out = truth.instrumented_module, truth.causal_trait
    res = run_step("mr", _ctx(sim, tmp_path, truth=truth), {"exposure": exp, "outcome": out})
    assert res.ok
    _check_fragment(res)
    est, seed = res.result["estimates"], res.record.seed
    d_all = M.mr_input_from_cohort(cohort, exp, out)
    d_split = M.mr_input_from_cohort(cohort, exp, out, split=True, rng=seed)
    h = M.harmonise(truth.mr.exposure, truth.mr.outcome)
    methods = ["mr_ivw", "mr_egger_regression", "mr_weighted_median"]
    for design, d in (("one-sample, all samples", d_all),
                      ("one-sample, exposure and outcome in two halves", d_split),
                      ("two-sample, large GWAS of the same instruments (simulated)", h)):
        direct = M.mr(d, method_list=methods, rng=seed, nboot=1000)
        got = est[est["design"] == design].set_index("method")
        assert len(got) == 3, design
        for r in direct.itertuples():
            assert got.at[r.method, "b"] == pytest.approx(r.b)
            assert got.at[r.method, "se"] == pytest.approx(r.se)
            assert got.at[r.method, "lower"] == pytest.approx(r.b - 1.959964 * r.se)
    obs = observational(cohort, exp, out)
    assert est.iloc[-1]["b"] == pytest.approx(obs["b"].iloc[0])
    nums = res.record.numbers
    assert len(nums["estimates"]) == len(est) and nums["exposure"] == exp
    q = M.mr_heterogeneity(d_all)
    assert nums["heterogeneity"][0]["Q"] == pytest.approx(q["Q"].iloc[0])
    names = [b.name for b in res.fragment.blocks if isinstance(b, Figure)]
    assert names.count("mr_forest") == 1 and "mr_scatter_two_sample" in names
    assert "Burgess" in " ".join(res.fragment.citations)
    # weak one-sample instruments are flagged as a failed check
    assert any(f.kind == "check" and f.ok is False for f in res.fragment.findings)


def test_mr_two_sample_from_files(sim, tmp_path):
    from radiogenomics import mr as M

    cohort, truth = sim
    e, o = tmp_path / "exposure.csv", tmp_path / "outcome.tsv"
    truth.mr.exposure.to_csv(e, index=False)
    snake = truth.mr.outcome.rename(columns=lambda c: c.replace(".", "_"))
    snake.to_csv(o, sep="\t", index=False)
    res = run_step("mr", _ctx(sim, tmp_path),
                   {"exposure": truth.instrumented_module, "outcome": truth.causal_trait,
                    "genotypes": "absent", "exposure_gwas": e, "outcome_gwas": o})
    assert res.ok
    est = res.result["estimates"]
    assert all(est["design"].str.startswith(("two-sample", "observational")))
    direct = M.mr(M.harmonise(truth.mr.exposure, truth.mr.outcome),
                  method_list=["mr_ivw"], rng=res.record.seed)
    ivw = est[est["method"] == "Inverse variance weighted"]
    assert ivw["b"].iloc[0] == pytest.approx(direct["b"].iloc[0])
    assert "exposure.csv" in ivw["design"].iloc[0]
    json.dumps(res.record.to_dict())


def test_mr_skips_and_errors(sim, tmp_path):
    from radiogenomics.workflow.mr import read_gwas

    cohort, truth = sim
    ctx = _ctx(sim, tmp_path)
    res = run_step("mr", ctx, {})
    assert res.record.status == "skipped" and "exposure" in res.record.reason
    res = run_step("mr", ctx, {"exposure": "a", "outcome": "b", "genotypes": "snps"})
    assert res.record.status == "skipped" and "'snps'" in res.record.reason
    with pytest.raises(ValidationError, match="both"):
        step_options("mr", {"exposure_gwas": tmp_path / "x.csv"})
    with pytest.raises(ValidationError, match="unknown MR method"):
        step_options("mr", {"methods": ["mr_ivw", "ivw"]})
    bad = tmp_path / "bad.csv"
    truth.mr.exposure.drop(columns="se.exposure").to_csv(bad, index=False)
    with pytest.raises(InputError, match=r"bad\.csv.*se\.exposure"):
        read_gwas(bad, "exposure")
    df = read_gwas(_write(truth, tmp_path), "exposure")
    assert pd.api.types.is_string_dtype(df["SNP"]) and len(df) == len(truth.mr.exposure)


def _write(truth, tmp_path):
    p = tmp_path / "ok.parquet"
    truth.mr.exposure.to_parquet(p, index=False)
    return p
