"""The main job and the command line, run for real (small cohorts to keep CI fast)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics import Cohort
from radiogenomics.cli import build_parser, main
from radiogenomics.demo import run_demo

SMALL = ["--n-samples", "100", "--n-radiomic", "40", "--n-genes", "200"]


def test_help_documents_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # noqa: SLF001
    assert set(commands) == {"demo", "run", "simulate", "summary", "associate"}
    for name in commands:
        assert name in out
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert "usage: radiogenomics " + name in capsys.readouterr().out


def test_demo_writes_report_tables_and_plots(tmp_path):
    res = run_demo(tmp_path, rng=3, n_samples=100, n_radiomic=40, n_genes=200)
    html = (tmp_path / "report.html").read_text()
    for section in ("1. Cohort", "2. Per-centre distributions", "3. Radiomics x expression",
                    "4. Imaging traits x expression module scores", "5. CCA: imaging traits",
                    "6. From images", "7. MOFA+ factor analysis of radiomics + expression",
                    "8. Prediction with leave-one-centre-out validation",
                    "9. Mendelian randomisation: M01_ECM_REMODELLING -&gt; lv_mass_index",
                    "10. Check against the ground truth"):
        assert section in html
    assert html.index("9. Mendelian") < html.index("10. Check against the ground truth")
    for png in ("cohort_overview.png", "centre_effects.png", "association_volcano.png",
                "phantoms.png", "association_image_volcano.png", "mofa_variance_explained.png",
                "mofa_factors_by_centre.png", "prediction_loco_by_centre.png",
                "prediction_calibration_outcome_binary.png", "mr_scatter_one_sample.png",
                "mr_scatter_two_sample.png", "mr_forest_two_sample.png"):
        assert (tmp_path / png).stat().st_size > 1000
        assert png in html
    views = pd.read_csv(tmp_path / "cohort_views.csv", index_col=0)
    assert views.loc["radiomics", "n_samples"] == res.cohort["radiomics"].shape[0]
    top = pd.read_csv(tmp_path / "association_radiomics_expression_top1000.csv")
    assert len(top) == min(1000, 40 * 200)
    assert top["p_parametric"].is_monotonic_increasing
    sig = pd.read_csv(tmp_path / "association_radiomics_expression_fdr.csv")
    assert (sig["q"] <= 0.05).all() and len(sig) == res.association.n_significant
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave nothing behind
    import os
    import stat
    umask = os.umask(0)
    os.umask(umask)
    for f in tmp_path.iterdir():  # shareable like any file the user writes
        if f.is_dir():
            continue
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~umask, f
    # the screen finds the planted shared signal
    assert res.association.n_significant > 0
    # from images: features recover the factor, ComBat removes the centre, hits are true genes
    img = res.images
    assert img["extraction"].cases["status"].eq("ok").all()
    assert img["latent_correlation"]["|r| after ComBat"].max() > 0.8
    eta = img["latent_correlation"]
    n_img = len(img["harmonised"])
    assert eta["centre eta2, raw"].max() > 0.3
    # after ComBat: typical between-centre share at or below its null expectation (G-1)/(n-1)
    assert eta["centre eta2 after ComBat"].median() < 2 / (n_img - 1)
    t = img["truth"]
    assert t["genes_hit"] > 0 and t["genes_hit_true"] >= 0.8 * t["genes_hit"], t
    _check_new_sections(res, tmp_path)


def _check_new_sections(res, out):
    """Sections 7-9 of the demo (small cohort, seed 3) against the simulation's truth."""
    truth, cohort = res.truth, res.cohort
    centres = set(cohort.centre.cat.categories)
    # MOFA+: the fit finds what dominates the views' variance: centre shifts (flagged by the
    # leakage check, eta2 > 0.5, centre predictable from the factor) and the age effect that
    # data_sim puts on every feature (|r| 0.87 here, 0.96 on the default cohort).  The sparse
    # shared factors (about 7% / 4% of the variance of radiomics / expression here, 3% / 2% on
    # the default cohort) are not among its factors: best |r| 0.19 / 0.25 here, <= 0.25 on the
    # default cohort whether fitted raw, after ComBat and covariate adjustment, with 15 factors
    # or on the noise-free latent blocks; the report says so.
    mofa = res.mofa
    leak = mofa["leakage"]
    flagged = leak[leak["flagged"]]
    assert len(flagged) >= 1 and flagged["eta2"].max() > 0.5
    assert (flagged["cv_accuracy"] > flagged["majority_rate"]).any()
    assert mofa["age_factor"][1] > 0.8
    fa = mofa["associations"].table
    age = fa[fa["covariate"] == "age"].set_index("factor")
    assert age.loc[mofa["age_factor"][0], "q"] <= 0.05
    R = mofa["truth_correlation"]
    assert list(R.columns) == list(truth.shared_factors.columns)
    assert R.shape[0] == mofa["model"].n_factors and ((R >= 0) & (R <= 1)).all().all()
    rows = res.truth_rows
    mrows = rows[(rows["analysis"] == "MOFA+") & rows["quantity"].str.contains("shared factor")]
    assert len(mrows) == R.shape[1]
    assert (mrows["agrees"] == (mrows["estimate"] >= 0.7).map({True: "yes", False: "no"})).all()
    html = (out / "report.html").read_text()
    if R.max().max() < 0.7:
        assert "not among the" in html
    assert (out / "mofa_leakage.csv").exists() and (out / "mofa_truth_correlation.csv").exists()

    # prediction: one row per held-out centre and target; the shared-factor-driven continuous
    # outcome is predicted in unseen centres, below the ceiling set by the true factors
    pred = res.prediction
    loco = pd.read_csv(out / "prediction_loco_by_centre.csv")
    assert len(loco) == len(pred["loco_by_centre"])
    for tgt, g in loco.groupby("target"):
        assert len(g) == len(centres) and set(g["centre"].astype(str)) == centres, tgt
    targets = set(loco["target"])
    assert {"outcome_continuous", "outcome_binary"} <= targets and len(targets) >= 3
    tab = pred["table"].set_index(["target", "cv"])
    r2_loco = tab.loc[("outcome_continuous", "leave-one-centre-out"), "estimate"]
    r2_kfold = tab.loc[("outcome_continuous", "5-fold"), "estimate"]
    ceiling = rows[(rows["analysis"] == "prediction")
                   & rows["quantity"].str.startswith("outcome_continuous")]["truth"].iloc[0]
    assert 0.1 < r2_loco < ceiling and 0.1 < r2_kfold < ceiling, (r2_loco, r2_kfold, ceiling)
    assert tab.loc[("outcome_binary", "leave-one-centre-out"), "auroc_within_centre"] > 0.55
    assert not any(t.startswith("outcome_binary") and cv == "5-fold" for t, cv in tab.index)

    # Mendelian randomisation: the large two-sample GWAS recover the causal effect; the cohort's
    # own weak instruments (F ~ 1.5) give the right sign and a CI covering the truth per unit
    # of module score
    mr = res.mr
    est = mr["estimates"]
    ivw = est[est["method"] == "Inverse variance weighted"].set_index("design")
    two = ivw.loc[[d for d in ivw.index if d.startswith("two-sample")][0]]
    assert two["lower"] <= truth.causal_effect <= two["upper"], two
    one = ivw.loc["one-sample, all samples"]
    assert one["b"] > 0
    cover = mr["truth"].set_index(["design", "method"])
    assert bool(cover.loc[("one-sample, all samples", "Inverse variance weighted"),
                          "CI covers truth"])
    strength = mr["instrument_strength"].set_index("design")
    assert strength.loc["one-sample, all samples", "mean_F"] < 10 < strength.loc[two.name, "mean_F"]
    assert set(mr["heterogeneity"]["design"]) == set(est["design"]) - {
        "observational (OLS, adjusted)"}
    for csv in ("mr_estimates.csv", "mr_heterogeneity.csv", "mr_pleiotropy.csv", "mr_truth.csv",
                "truth_check_sections.csv", "prediction_summary.csv"):
        assert (out / csv).exists(), csv
    assert set(rows["analysis"]) >= {"MOFA+", "prediction", "MR", "from images"}


def test_cli_demo_and_module_entry_point(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "radiogenomics", "demo", "--out", str(tmp_path / "d"), *SMALL,
         "--no-mofa", "--no-prediction", "--no-mr"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Report written to" in proc.stdout and str(tmp_path / "d") in proc.stdout
    html = (tmp_path / "d" / "report.html").read_text()
    assert "MOFA+" not in html and "Mendelian" not in html
    assert "7. Check against the ground truth" in html


def test_cli_simulate_then_summary_round_trip(tmp_path, capsys):
    assert main(["simulate", "--out", str(tmp_path), "--seed", "5", *SMALL]) == 0
    sig = pd.read_csv(tmp_path / "ground_truth_signal_features.csv")
    assert set(sig["view"]) == {"radiomics", "expression"} and sig["loads_on_shared_factor"].any()
    capsys.readouterr()
    views = [f"--view={p.stem[5:]}={p}" for p in sorted(tmp_path.glob("view_*.csv"))]
    rc = main(["summary", *views, "--covariates", str(tmp_path / "covariates.csv"),
               "--centre", str(tmp_path / "centre.csv"), "--outcomes", str(tmp_path / "outcomes.csv")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "Samples per centre and view" in out and "radiomics" in out
    assert main(["simulate", "--out", str(tmp_path / "m"), "--format", "h5mu", *SMALL]) == 0
    cohort = Cohort.from_mudata(tmp_path / "m" / "cohort.h5mu")
    assert "radiomics" in cohort and cohort.centre is not None


def test_cli_errors_are_clear(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"a": [1.0, float("nan"), 2.0]}, index=["s1", "s2", "s3"]).to_csv(bad)
    assert main(["summary", "--view", f"radiomics={bad}"]) == 2
    err = capsys.readouterr().err
    assert "NaN" in err and "--nan-policy" in err
    assert main(["summary", "--view", f"radiomics={bad}", "--nan-policy", "drop_samples"]) == 0
    cov = tmp_path / "cov.csv"
    pd.DataFrame({"age": [50.0, 60.0]}, index=["s1", "s3"]).to_csv(cov)
    args = ["summary", "--view", f"radiomics={bad}", "--nan-policy", "drop_samples", "--covariates", str(cov)]
    assert main(args[:]) == 0  # s2 was dropped for its NaN, s1/s3 have covariates
    pd.DataFrame({"age": [50.0]}, index=["s1"]).to_csv(cov)
    assert main(args) == 2 and "--missing-meta" in capsys.readouterr().err
    assert main(args + ["--missing-meta", "drop_samples"]) == 0
    assert main(["summary", "--view", str(bad)]) == 2
    assert main(["summary", "--view", f"radiomics={tmp_path / 'nope.csv'}"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_cli_associate_writes_table(tmp_path, capsys):
    assert main(["simulate", "--out", str(tmp_path / "c"), "--format", "h5mu", *SMALL]) == 0
    out = tmp_path / "assoc.csv"
    code = main(["associate", "--h5mu", str(tmp_path / "c" / "cohort.h5mu"), "--x", "radiomics",
                 "--y", "expression", "--permutations", "99", "--blocks", "centre",
                 "--correction", "maxT", "--top", "25", "--out", str(out), "--no-progress"])
    assert code == 0
    tab = pd.read_csv(out)
    assert len(tab) == 25 and tab["p_parametric"].is_monotonic_increasing
    assert (tab["p_permutation"] >= 1 / 100).all() and (tab["p_fwer"] >= tab["p_permutation"]).all()
    assert "99 Freedman-Lane permutations (within-block" in capsys.readouterr().out


def test_ctrl_c_during_permutations_leaves_no_output(tmp_path):
    """A real SIGINT while the permutations run: exit code 130, no table, no temporary file."""
    import os
    import signal
    import time

    assert main(["simulate", "--out", str(tmp_path / "c"), "--format", "h5mu", "--n-samples", "100",
                 "--n-radiomic", "200", "--n-genes", "3000"]) == 0
    out = tmp_path / "res" / "assoc.csv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "radiogenomics", "associate", "--h5mu",
         str(tmp_path / "c" / "cohort.h5mu"), "--x", "radiomics", "--y", "expression",
         "--permutations", "100000", "--backend", "numpy", "--out", str(out)],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        # a shell's background job inherits SIGINT ignored; give the child the default, as a
        # terminal user's process has it, so Python turns SIGINT into KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # wait until the progress bar reports permutations, then interrupt
        seen = ""
        deadline = time.time() + 120
        while "permutations" not in seen and time.time() < deadline:
            seen += proc.stderr.read(1)
        assert "permutations" in seen, seen
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=60)[1]
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert not out.exists()
    assert not list((tmp_path / "res").glob("*")) if (tmp_path / "res").exists() else True


# ------------------------------------------------------------------ radiogenomics run CONFIG.yaml

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _example_data(folder, **kw):
    """The example tables of examples/config.yaml, written by examples/make_example_data.py."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_example_data",
                                                  EXAMPLES / "make_example_data.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.make_example_data(folder, **{"n_samples": 90, "n_radiomic": 30, "n_genes": 120,
                                            **kw})


def _write_yaml(path, cfg):
    import yaml

    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def test_run_example_config_end_to_end(tmp_path, capsys):
    """The shipped examples/config.yaml on small generated data, lighter options, via the CLI."""
    import yaml

    _example_data(tmp_path / "example_data")
    cfg = yaml.safe_load((EXAMPLES / "config.yaml").read_text())
    cfg["permutations"] = 99
    a = cfg["analyses"]
    a["association"]["permutations"] = 99
    a["mofa"].update(factors=4, permutations=99)
    a["prediction"].update(cv=["loco"], bootstrap=100)
    a["prediction"]["targets"]["outcomes"] = ["outcome_continuous", "outcome_binary"]
    config = _write_yaml(tmp_path / "config.yaml", cfg)
    assert main(["run", str(config), "--out", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert "Report written to" in out
    html = (tmp_path / "report" / "report.html").read_text()
    for section in ("1. Cohort", "2. Per-centre distributions",
                    "3. radiomics x expression association screen",
                    "4. traits x modules association screen", "5. CCA: traits x modules",
                    "6. MOFA+ factor analysis of radiomics + expression",
                    "7. Prediction with leave-one-centre-out validation",
                    "8. Mendelian randomisation: M01_ECM_REMODELLING -&gt; lv_mass_index"):
        assert section in html, section
    # no ground truth outside the demo
    assert "Check against the ground truth" not in html and "From images" not in html
    assert not (tmp_path / "report" / "truth_check.csv").exists()
    assert not (tmp_path / "report" / "mr_truth.csv").exists()
    loco = pd.read_csv(tmp_path / "report" / "prediction_loco_by_centre.csv")
    cohort_centres = pd.read_csv(tmp_path / "example_data" / "covariates.csv")["centre"]
    for _, g in loco.groupby("target"):
        assert sorted(g["centre"]) == sorted(cohort_centres.unique())
    est = pd.read_csv(tmp_path / "report" / "mr_estimates.csv")
    assert {"one-sample, all samples", "one-sample, exposure and outcome in two halves"} <= \
        set(est["design"])
    two = est[est["design"].str.startswith("two-sample")
              & (est["method"] == "Inverse variance weighted")].iloc[0]
    assert two["lower"] <= 0.3 <= two["upper"]  # data_sim's causal effect in the GWAS units
    for f in ("association_radiomics_expression_top1000.csv", "cca_traits_modules.csv",
              "mofa_leakage.csv", "prediction_summary.csv", "mr_heterogeneity.csv"):
        assert (tmp_path / "report" / f).exists(), f


def test_run_defaults_skip_what_the_data_lack(tmp_path):
    """No 'analyses' key: everything that applies runs; sections needing absent views, or an
    exposure/outcome the config does not name, are skipped with a note."""
    from radiogenomics.demo import run_config

    files = _example_data(tmp_path / "d")
    cfg = {"output": "rep", "permutations": 99,
           "data": {"views": {"radiomics": "d/radiomics.csv", "expression": "d/expression.csv"},
                    "covariates": "d/covariates.csv", "centre": "centre"}}
    res = run_config(_write_yaml(tmp_path / "c.yaml", cfg))
    assert res.report_path == tmp_path / "rep" / "report.html"
    html = res.report_path.read_text()
    assert "3. radiomics x expression association screen" in html
    assert "4. MOFA+ factor analysis of radiomics + expression" in html
    skipped = dict(res.skipped)
    assert "view(s) traits, modules not in the data" in skipped["traits x modules association screen"]
    assert "not in the data" in skipped["CCA: traits x modules"]
    assert "outcomes not in the data" in skipped["Prediction with leave-one-centre-out validation"]
    assert "exposure and the outcome" in skipped["Mendelian randomisation"]
    for title in skipped:
        assert f"{title}: skipped (" in html
    assert "Not correlated" in html or "not correlated" in html  # MOFA: traits/outcomes absent
    assert set(res.results) >= {"cohort", "centre_effects", "association_radiomics_expression",
                                "mofa"}
    assert files["radiomics.csv"].exists()


def test_run_config_errors_are_clear(tmp_path, capsys):
    _example_data(tmp_path / "d", n_samples=40, n_radiomic=10, n_genes=30)
    good = {"data": {"views": {"radiomics": "d/radiomics.csv", "expression": "d/expression.csv"},
                     "covariates": "d/covariates.csv", "centre": "centre"},
            "analyses": {"cohort": True}}

    def err(cfg, name="c.yaml"):
        path = tmp_path / name
        if isinstance(cfg, str):
            path.write_text(cfg)
        else:
            _write_yaml(path, cfg)
        assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
        return capsys.readouterr().err

    import copy

    assert main(["run", str(_write_yaml(tmp_path / "ok.yaml", good)), "--out",
                 str(tmp_path / "ok")]) == 0
    capsys.readouterr()
    # missing file: the key, the name given and where it was looked for
    bad = copy.deepcopy(good)
    bad["data"]["views"]["radiomics"] = "d/nope.csv"
    e = err(bad)
    assert "data.views.radiomics" in e and "'d/nope.csv' not found" in e and str(tmp_path) in e
    bad = copy.deepcopy(good)
    bad["analyses"] = {"mr": {"exposure": "a", "outcome": "b", "exposure_gwas": "g.csv",
                              "outcome_gwas": "h.csv"}}
    assert "analyses.mr.exposure_gwas" in err(bad)
    assert main(["run", str(tmp_path / "absent.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    # unknown keys, with the closest valid one
    e = err({**good, "outptu": "x"})
    assert "unknown key outptu" in e and "did you mean 'output'" in e
    e = err({**good, "analyses": {"mofa": {"factor": 3}}})
    assert "unknown key analyses.mofa.factor" in e and "'factors'" in e
    e = err({**good, "analyses": {"pca": True}})
    assert "unknown key analyses.pca" in e and "allowed keys of analyses" in e
    bad = copy.deepcopy(good)
    bad["data"]["view"] = bad["data"].pop("views")
    assert "did you mean 'views'" in err(bad)
    # view names: not among data.views, or not usable
    e = err({**good, "analyses": {"association": {"pairs": [["radiomics", "expresion"]]}}})
    assert "analyses.association.pairs[0]: 'expresion' is not a view of data.views" in e
    assert "did you mean 'expression'" in e
    e = err({**good, "analyses": {"mofa": {"views": ["radiomics", "rna"]}}})
    assert "analyses.mofa.views: 'rna' is not a view" in e
    e = err({**good, "analyses": {"prediction": {"x": "radiomics",
                                                 "targets": {"outcome": ["y"]}}}})
    assert "analyses.prediction.targets: 'outcome' is not a view" in e
    bad = copy.deepcopy(good)
    bad["data"]["views"]["my view"] = "d/radiomics.csv"
    assert "bad view name 'my view'" in err(bad)
    bad = copy.deepcopy(good)
    bad["data"]["views"]["outcomes"] = "d/outcomes.csv"
    assert "reserved" in err(bad)
    # bad values and bad YAML
    assert "must be an integer" in err({**good, "seed": "zero"})
    assert "must be 'loco' or a number of folds" in err(
        {**good, "analyses": {"prediction": {"cv": ["lolo"]}}})
    assert "needs exposure and outcome" in err({**good, "analyses": {"mr": {"split": False}}})
    assert "not valid YAML" in err("data: [unclosed\n")
    assert "names no column of covariates" in err(
        {**good, "data": {**good["data"], "centre": "site"}})


def _cli_files(tmp_path):
    g = np.random.default_rng(0)
    ids = [f"S{i}" for i in range(12)]
    a = pd.DataFrame(g.normal(size=(12, 3)), index=pd.Index(ids, name="id"), columns=list("abc"))
    b = pd.DataFrame(g.normal(size=(12, 3)), index=pd.Index(ids, name="id"), columns=list("xyz"))
    a.to_csv(tmp_path / "a.csv")
    b.to_csv(tmp_path / "b.csv")
    b.set_axis([f"s{i:03d}" for i in range(12)]).rename_axis("id").to_csv(tmp_path / "b_other_ids.csv")
    an = a.copy()
    an.iloc[2, 1] = np.nan
    an.to_csv(tmp_path / "a_nan.csv")
    return tmp_path


@pytest.mark.parametrize("argv, pattern", [
    (["associate", "--view", "rad={d}/a.csv", "--view", "expr={d}/b.csv", "--x", "radiomics",
      "--y", "expr", "--out", "{d}/o.csv"], r"no view 'radiomics' in the cohort \(views: rad, expr\)"),
    (["summary", "--view", "rad={d}/a_nan.csv"],
     r"1 NaN .*'S2'.*--nan-policy drop_samples, drop_features or impute_median"),
    (["summary", "--view", "rad={d}/missing.csv"], r"missing\.csv"),
    (["associate", "--view", "rad={d}/a_nan.csv", "--view", "expr={d}/b.csv", "--x", "rad",
      "--y", "expr", "--out", "{d}/o.csv"], r"--nan-policy"),
])
def test_cli_errors_are_one_line_with_cli_flags(tmp_path, capsys, argv, pattern):
    """A misspelt view used to print a 16-line KeyError traceback; library messages named
    Python arguments (nan_policy='drop_samples') instead of the CLI flags."""
    import re

    d = _cli_files(tmp_path)
    code = main([a.format(d=d) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert re.search(pattern, err), err
    assert "nan_policy" not in err


def test_cli_bad_policy_value_is_a_usage_error(tmp_path, capsys):
    d = _cli_files(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["summary", "--view", f"rad={d}/a.csv", "--nan-policy", "drop"])
    assert exc.value.code == 2
    assert "--nan-policy" in capsys.readouterr().err


def test_cli_summary_warns_and_fails_when_views_share_no_sample(tmp_path, capsys):
    d = _cli_files(tmp_path)
    code = main(["summary", "--view", f"rad={d}/a.csv", "--view", f"expr={d}/b_other_ids.csv"])
    err = capsys.readouterr().err
    assert code == 1
    assert "share no sample ID" in err and "'S0'" in err and "'s000'" in err
    assert main(["summary", "--view", f"rad={d}/a.csv", "--view", f"expr={d}/b.csv"]) == 0
