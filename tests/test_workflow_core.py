"""The core workflow steps (cohort, centre effects, association, CCA, ground truth) on a small
simulated cohort: their numbers equal the library's when called directly with the same seed,
their report fragments are prose with captions (no console dumps), their records serialise."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import data_sim
from radiogenomics import Cohort
from radiogenomics.association import associate
from radiogenomics.plotting import centre_colours
from radiogenomics.qc import centre_anova
from radiogenomics.report.format import fmt_count
from radiogenomics.workflow import (Figure, StepContext, StepRecord, StepResult, Table, Text,
                                    run_step, run_workflow)

B = 49


@pytest.fixture(scope="module")
def sim():
    return data_sim.make_cohort(n_samples=70, n_radiomic=30, n_genes=100,
                                missing_rate={"expression": 0.15}, rng=1)


def _ctx(cohort, tmp_path, truth=None, rng=0, n_permutations=B):
    cols = {} if cohort.centre is None else centre_colours(cohort.centre.astype(str))
    return StepContext(cohort, out_dir=tmp_path, rng=np.random.default_rng(rng),
                       n_permutations=n_permutations, truth=truth, centre_colours=cols,
                       progress=False)


def _without(cohort, drop=(), centre=True):
    views = {k: v for k, v in cohort.views.items() if k not in drop}
    return Cohort(views, covariates=cohort.covariates,
                  centre=cohort.centre if centre else None, outcomes=cohort.outcomes)


_REPR = re.compile(r"<\w+[ >]|\w+Result\(|DataFrame|dtype:|Cohort\(|\n\s{2,}|:C\d|e\+0")


def _check_fragment(res: StepResult) -> None:
    """Prose, not dumps: no reprs, no internal codes, no 'e+0'; captions everywhere; the record
    serialises to JSON."""
    frag = res.fragment
    texts = [frag.methods] + [f.text for f in frag.findings]
    texts += [b.text for b in frag.blocks if isinstance(b, Text)]
    for t in texts:
        assert not _REPR.search(t), t
    for b in frag.blocks:
        if isinstance(b, (Figure, Table)):
            assert len(b.caption.split()) >= 8, (b.name, b.caption)
            for t in re.findall(r"\S+", b.caption):
                assert "e+0" not in t
    json.dumps(res.record.to_dict())
    assert res.record.seconds > 0
    assert res.record.versions["numpy"] == np.__version__


def _figures(res):
    return [b for b in res.fragment.blocks if isinstance(b, Figure)]


def test_cohort_step_counts_and_captions(sim, tmp_path):
    cohort, _ = sim
    res = run_step("cohort", _ctx(cohort, tmp_path))
    _check_fragment(res)
    rec = res.record
    assert rec.step == "cohort" and rec.status == "ok"
    assert rec.samples_used == {k: v.shape[0] for k, v in cohort.views.items()}
    assert rec.numbers["n_samples"] == 70 and rec.numbers["n_centres"] == 3
    per = cohort.centre.value_counts()
    assert rec.numbers["samples_per_centre"] == {str(k): int(v) for k, v in per.items()}
    assert rec.numbers["overlap"]["radiomics"]["expression"] == cohort["expression"].shape[0]
    assert len(_figures(res)) == 1
    text = " ".join(b.text for b in res.fragment.blocks if isinstance(b, Text))
    assert "70 patients from 3 centres" in text
    assert res.fragment.findings and res.fragment.findings[0].kind == "info"


def test_centre_step_equals_anova_and_skips_with_reason(sim, tmp_path):
    cohort, _ = sim
    res = run_step("centre_effects", _ctx(cohort, tmp_path), {"views": ["radiomics", "nope"]})
    _check_fragment(res)
    direct = centre_anova(cohort, "radiomics")
    pd.testing.assert_frame_equal(res.result["radiomics"], direct)
    nums = res.record.numbers["radiomics"]
    assert nums["median_eta2"] == pytest.approx(direct["eta2"].median())
    assert nums["n_p_le_alpha"] == int((direct["pvalue"] <= 0.05).sum())
    assert any("nope" in w for w in res.record.warnings)
    assert len(_figures(res)) == 2
    no_centre = run_step("centre_effects", _ctx(_without(cohort, centre=False), tmp_path))
    assert no_centre.record.status == "skipped" and "no centre" in no_centre.record.reason
    absent = run_step("centre_effects", _ctx(cohort, tmp_path), {"views": ["nope"]})
    assert absent.record.status == "skipped" and "nope" in absent.record.reason


def test_association_step_equals_associate_with_same_seed(sim, tmp_path):
    cohort, _ = sim
    ctx = _ctx(cohort, tmp_path)
    res = run_step("association", ctx, {"x": "radiomics", "y": "expression"})
    _check_fragment(res)
    rec = res.record
    assert rec.step == "association:radiomics~expression"
    assert rec.title == "Association: radiomics x expression"
    assert ctx.results[rec.step] is res
    direct = associate(cohort, x="radiomics", y="expression", n_permutations=B, rng=rec.seed,
                       fdr_on="parametric", exchangeability_blocks="centre",
                       covariates_by_block=True, degenerate="drop")
    n = rec.numbers
    assert n["n_tests"] == direct.n_tests == 3000
    assert n["n_bh"] == int((direct.qvalues.to_numpy() <= 0.05).sum())
    assert n["n_fwer"] == int((direct.p_fwer.to_numpy() <= 0.05).sum())
    assert n["fwer_threshold_r"] == pytest.approx(direct.fwer_threshold())
    np.testing.assert_allclose(res.result.p_fwer.to_numpy(), direct.p_fwer.to_numpy())
    assert n["n_bh"] > 0     # the simulated signal is found
    text = " ".join(b.text for b in res.fragment.blocks if isinstance(b, Text))
    assert "3,000 pairs tested" in text
    assert "age and sex, with intercept and slopes fitted within each centre" in text
    assert "parametric p-values" in text and "family-wise" in text   # why q and p_fwer differ
    assert rec.samples_used == {"radiomics and expression": cohort["expression"].shape[0]}
    assert rec.samples_dropped["radiomics / absent from 'expression'"]["n"] == 10
    assert len(_figures(res)) == 4
    assert res.fragment.findings[0].kind == "significant"
    assert fmt_count(n["n_fwer"]) in res.fragment.findings[0].text


def test_association_step_variants(sim, tmp_path):
    cohort, _ = sim
    ctx = _ctx(cohort, tmp_path)
    res = run_step("association", ctx, {"x": "traits", "y": "modules", "detail": False,
                                        "permutations": 0, "top": 5})
    _check_fragment(res)
    assert res.result.p_fwer is None and "n_fwer" not in res.record.numbers
    assert not _figures(res)
    tables = [b for b in res.fragment.blocks if isinstance(b, Table)]
    assert len(tables[0].df) == 5
    assert any("no family-wise" in b.text for b in res.fragment.blocks if isinstance(b, Text))
    absent = run_step("association", ctx, {"x": "radiomics", "y": "proteomics"})
    assert absent.record.status == "skipped" and "proteomics" in absent.record.reason
    assert absent.record.step == "association:radiomics~proteomics"
    free = run_step("association", _ctx(_without(cohort, centre=False), tmp_path),
                    {"x": "traits", "y": "modules"})
    _check_fragment(free)
    assert free.record.numbers["permutation_scheme"] == "free"
    text = " ".join(b.text for b in free.fragment.blocks if isinstance(b, Text))
    assert "adjusted for age and sex (" in text and "centre" not in text
    with pytest.raises(Exception, match="extra|forbidden|permutation"):
        run_step("association", ctx, {"x": "a", "y": "b", "permutation": 3})


def test_cca_step_equals_direct_test(sim, tmp_path):
    from radiogenomics.cca import CCA, cca_permutation_test, cross_validated_correlation

    cohort, _ = sim
    opts = {"x": "traits", "y": "modules", "components": 2, "cv_folds": 5,
            "cv_permutations": 19}
    res = run_step("cca", _ctx(cohort, tmp_path), opts)
    _check_fragment(res)
    rec = res.record
    p = cohort.paired("traits", "modules")
    adj = pd.concat([p.covariates, p.centre.rename("centre").to_frame()], axis=1)
    gen = np.random.default_rng(rec.seed)
    test = cca_permutation_test(CCA(n_components=2, scale=True), p["traits"], p["modules"],
                                n_permutations=B, covariates=adj,
                                exchangeability_blocks=p.centre, rng=gen)
    cv = cross_validated_correlation(CCA(n_components=1, scale=True), p["traits"],
                                     p["modules"], cv=5, covariates=adj, n_permutations=19,
                                     exchangeability_blocks=p.centre, rng=gen)
    np.testing.assert_allclose(rec.numbers["canonical_correlations"], test.statistic)
    np.testing.assert_allclose(rec.numbers["pvalues"], test.pvalues)
    assert rec.numbers["r1_cv"] == pytest.approx(cv.correlation)
    assert rec.numbers["p_cv"] == pytest.approx(cv.pvalue)
    kinds = {f.kind for f in res.fragment.findings}
    assert "out-of-sample" in kinds
    text = " ".join(b.text for b in res.fragment.blocks if isinstance(b, Text))
    assert "in sample but" in text and "out of sample" in text
    table = next(b for b in res.fragment.blocks if isinstance(b, Table))
    assert list(table.df["component"]) == [1, 2]
    none = run_step("cca", _ctx(cohort, tmp_path, n_permutations=0), opts)
    assert none.record.status == "skipped" and "permutations" in none.record.reason
    absent = run_step("cca", _ctx(_without(cohort, drop=("modules",)), tmp_path), opts)
    assert absent.record.status == "skipped" and "modules" in absent.record.reason


def _fake(step, result, params=None):
    from radiogenomics.workflow import Fragment

    return StepResult(result, Fragment(step), StepRecord(step, step, params=params or {}))


def test_truth_step_counts_hits_against_the_simulation(sim, tmp_path):
    cohort, truth = sim
    ctx = _ctx(cohort, tmp_path, truth=truth)
    assoc = run_step("association", ctx, {"x": "radiomics", "y": "expression"}).result
    run_step("association", ctx, {"x": "traits", "y": "modules", "detail": False})
    # an MR step's estimates (two-sample truth: truth.causal_effect) and a MOFA step whose
    # result lacks the factors
    t = truth.causal_effect
    # 2 of 3 CIs miss: more than the 1 miss that 95% CIs allow by chance (binomial 99%)
    est = pd.DataFrame({"design": ["two-sample"] * 3, "method": ["IVW", "Egger", "WM"],
                        "b": [t, t + 1, t + 1], "lower": [t - 0.1, t + 0.5, t + 0.5],
                        "upper": [t + 0.1, t + 2, t + 2]})
    ctx.results["mr"] = _fake("mr", {"estimates": est}, {"exposure": "none"})
    ctx.results["mofa"] = _fake("mofa", {"something": 1})
    res = run_step("truth", ctx)
    _check_fragment(res)
    assert list(res.result["rows"]["agrees"]) == ["yes", "no", "no"]     # MR rows only
    assert any(f.kind == "check" and f.ok is False and "MR" in f.text
               for f in res.fragment.findings)
    assert any(w.startswith("mofa:") for w in res.record.warnings)
    sig = assoc.qvalues.to_numpy() <= 0.05
    xs = truth.signal_features("radiomics").reindex(assoc.r.index).to_numpy(bool)
    ys = truth.signal_features("expression").reindex(assoc.r.columns).to_numpy(bool)
    both = np.outer(xs, ys)
    c = res.record.numbers["association:radiomics~expression"]
    assert c["bh"] == int(sig.sum()) and c["bh_true"] == int((sig & both).sum())
    assert c["pairs_true"] == int(both.sum())
    assert "association:traits~modules" not in res.record.numbers   # no truth for these views
    # MOFA factors = the true shared factors (|r| = 1), an image feature = 2 x factor 1, a
    # prediction table: each comparison is read from the step's result
    F = truth.shared_factors.loc[cohort["radiomics"].index]
    ctx.results["mofa"] = _fake("mofa", {"model": type("M", (), {"factors": F})()})
    ctx.results["images"] = _fake("images", {"harmonised": 2 * F.iloc[:, [0]]})
    pred = pd.DataFrame({"target": ["outcome_binary"], "cv": ["5-fold"], "estimate": [0.7]})
    ctx.results["prediction"] = _fake("prediction", {"table": pred})
    rows = run_step("truth", ctx).result["rows"].set_index("quantity")
    f1, f2 = F.columns
    assert rows.loc[f"best |r| of a factor with shared factor {f2}", "estimate"] == \
        pytest.approx(1.0)
    assert rows.loc[f"best |r| of a factor with shared factor {f1}", "agrees"] == "yes"
    assert rows.loc[f"largest |r| of a harmonised image feature with {f1}", "estimate"] == \
        pytest.approx(1.0)
    ceiling = rows.loc["outcome_binary AUROC (5-fold)", "truth"]
    assert 0.5 < ceiling <= 1 and rows.loc["outcome_binary AUROC (5-fold)", "estimate"] == 0.7
    skipped = run_step("truth", _ctx(cohort, tmp_path))
    assert skipped.record.status == "skipped" and "ground truth" in skipped.record.reason


def test_core_plan_runs_in_order(sim, tmp_path):
    cohort, truth = sim
    plan = [("cohort", None), ("centre_effects", None),
            ("association", {"x": "radiomics", "y": "expression", "detail": False}),
            ("cca", {"cv_folds": 5, "cv_permutations": 9}), ("truth", None)]
    out = run_workflow(cohort, plan, tmp_path, rng=3, n_permutations=19, truth=truth,
                       progress=False, render=False)
    assert [s.record.status for s in out.steps] == ["ok"] * 5
    assert "association:radiomics~expression" in out["truth"].record.numbers
    seeds = [s.record.seed for s in out.steps if s.record.seed is not None]
    assert len(seeds) == 2 and seeds[0] != seeds[1]
