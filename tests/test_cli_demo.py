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
    assert set(commands) == {"demo", "run", "init", "simulate", "summary", "associate"}
    for name in commands:
        assert name in out
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert "usage: radiogenomics " + name in capsys.readouterr().out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One demo run (small cohort, seed 3, every step) shared by the demo tests."""
    out = tmp_path_factory.mktemp("demo")
    return run_demo(out, rng=3, n_samples=100, n_radiomic=40, n_genes=200, progress=False), out


STEPS = ["cohort", "centre_effects", "association:radiomics~expression",
         "association:traits~modules", "transcriptomics", "cca:traits~modules",
         "cca:traits~gene_set_scores", "images", "mofa", "prediction", "survival", "mr",
         "spatial", "truth"]


def test_demo_runs_every_step_and_writes_report_json_tables(demo):
    import json
    import os
    import stat

    res, out = demo
    assert [s.record.step for s in res.steps] == STEPS
    assert res.to_frame()["status"].eq("ok").all(), res.to_frame()
    html = (out / "report.html").read_text()
    # one self-contained file: every figure of every fragment embedded, none linked only
    figures = [b for s in res.steps for b in s.fragment.blocks if type(b).__name__ == "Figure"]
    assert html.count("data:image/png;base64,") == len(figures) >= 18
    for s in res.steps:
        assert s.fragment.title in html.replace("&gt;", ">")
        for b in s.fragment.blocks:
            if type(b).__name__ == "Table":
                assert (out / f"{b.name}.csv").exists(), b.name
            if type(b).__name__ == "Figure":
                assert (out / f"{b.name}.png").stat().st_size > 1000
    assert "Summary of findings" in html and "Methods" in html
    assert "<pre" not in html                    # no console dumps
    data = json.loads((out / "results.json").read_text())
    assert [r["step"] for r in data["steps"]] == STEPS and data["meta"]["seed"] == 3
    views = pd.read_csv(out / "cohort_views.csv", index_col=0)
    assert views.loc["radiomics", "samples"] == res.cohort["radiomics"].shape[0]
    assert not list(out.glob(".*.tmp"))          # atomic writes leave nothing behind
    umask = os.umask(0)
    os.umask(umask)
    for f in out.iterdir():                      # shareable like any file the user writes
        if f.is_file():
            assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~umask, f


def test_demo_report_passes_the_browser_checks(demo):
    """The real demo report in headless Chromium: images load, no text overflows, no empty
    section (tests/_browser.py; skipped without chromium)."""
    from _browser import browser_checks, find_chromium, problems

    if find_chromium() is None:
        pytest.skip("Chromium is not installed (Debian package 'chromium'; CI installs it)")

    checks = browser_checks(demo[1] / "report.html")
    assert problems(checks) == [], checks
    assert checks["images"] >= 18 and not checks["broken_images"]


def test_demo_finds_the_planted_signal(demo):
    """The analyses against the simulation's ground truth (small cohort, seed 3)."""
    res, out = demo
    truth = res.truth
    assoc = res["association:radiomics~expression"]
    assert assoc.record.numbers["n_fwer"] > 0
    # from images: features recover the factor, ComBat removes the centre, hits are true genes
    img = res["images"].result
    assert img["extraction"].cases["status"].eq("ok").all()
    n = res["images"].record.numbers
    assert n["max_abs_r_with_factor"] > 0.8
    assert img["latent_correlation"]["centre eta squared, raw"].max() > 0.3
    # after ComBat: typical between-centre share at or below its null expectation (G-1)/(n-1)
    assert n["median_centre_eta2_combat"] < 2 / (n["n_patients_screened"] - 1)
    assert n["genes_hit"] > 0 and n["genes_hit_true"] >= 0.8 * n["genes_hit"], n
    # MOFA+: centre shifts flagged by the leakage check; the age effect data_sim puts on every
    # feature is a factor (see the old note: the sparse shared factors are not among them)
    leak = res["mofa"].result["leakage"]
    flagged = leak[leak["flagged"]]
    assert len(flagged) >= 1 and flagged["eta2"].max() > 0.5
    assert res["mofa"].record.numbers["max_abs_r_with_age"] > 0.8
    # prediction: one row per held-out centre and target; the continuous outcome driven by the
    # shared factors is predicted in unseen centres
    pred = res["prediction"].result
    centres = set(res.cohort.centre.astype(str))
    loco = pd.read_csv(out / "prediction_by_centre.csv")
    loco = loco[loco["centre"].astype(str).isin(centres)]
    for tgt, g in loco.groupby("target"):
        assert set(g["centre"].astype(str)) == centres, tgt
    tab = pred["table"].set_index(["target", "cv"])
    assert 0.1 < tab.loc[("outcome_continuous", "leave-one-centre-out"), "estimate"] < 0.9
    assert not any(t == "outcome_binary" and cv == "5-fold" for t, cv in tab.index)
    # MR: the large two-sample GWAS recover the causal effect
    est = res["mr"].result["estimates"]
    ivw = est[est["method"] == "Inverse variance weighted"].set_index("design")
    two = ivw.loc[[d for d in ivw.index if d.startswith("two-sample")][0]]
    assert two["lower"] <= truth.causal_effect <= two["upper"], two
    # survival: the simulated outcome is in the outcomes, validated under both schemes beside
    # the clinical model; the truth step sets the C of the true linear predictor beside it
    surv = res["survival"]
    assert {"event_time", "event"} <= set(res.cohort.outcomes.columns)
    assert set(surv.result["table"]["cv"]) == {"leave-one-centre-out", "5-fold"}
    assert set(surv.result["table"]["model"]) == {"radiogenomic score", "clinical"}
    assert surv.record.numbers["n_events"] == int(res.cohort.outcomes["event"].sum())
    # spatial: the files written by the demo read back; under the MSR null (max-T) most of the
    # planted co-localised genes are found with at most one false positive, while the naive
    # t-test (spots as independent) declares many smooth but unrelated genes
    sp = res["spatial"].record.numbers
    assert sp["true_found"]["msr null, max-T"] >= 0.8 * sp["n_true"], sp
    assert sp["false_positives"]["msr null, max-T"] <= 1, sp
    assert sp["false_positives"]["naive t-test, BH q"] >= 10, sp
    # the truth step compares every other step with the truth
    rows = pd.DataFrame(res["truth"].record.numbers["rows"])
    assert set(rows["analysis"]) >= {"MOFA+", "MR", "from images", "survival"}
    true_c = rows.loc[rows["analysis"] == "survival", "truth"]
    assert len(true_c) == 2 and (true_c > 0.55).all()   # HR 2 per SD of the first factor


def test_cli_demo_and_module_entry_point(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "radiogenomics", "demo", "--out", str(tmp_path / "d"), *SMALL,
         "--no-images", "--no-mofa", "--no-prediction", "--no-mr", "--permutations", "99"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Report written to" in proc.stdout and str(tmp_path / "d") in proc.stdout
    html = (tmp_path / "d" / "report.html").read_text()
    assert "MOFA+" not in html and "Mendelian" not in html
    assert "Check against the ground truth" in html


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
    """The shipped examples/config.yaml on small generated data, lighter options, via the CLI
    (the config's error messages are tested in tests/test_config.py)."""
    import json

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
    assert main(["run", str(config), "--out", str(tmp_path / "report"), "--no-progress"]) == 0
    assert "Report written to" in capsys.readouterr().out
    html = (tmp_path / "report" / "report.html").read_text()
    steps = [r["step"] for r in json.loads((tmp_path / "report" / "results.json").read_text())
             ["steps"]]
    assert steps == ["cohort", "centre_effects", "association:radiomics~expression",
                     "association:traits~modules", "cca:traits~modules", "mofa", "prediction", "mr"]
    # no ground truth outside the demo
    assert "Check against the ground truth" not in html and "From images" not in html
    loco = pd.read_csv(tmp_path / "report" / "prediction_by_centre.csv")
    cohort_centres = set(pd.read_csv(tmp_path / "example_data" / "covariates.csv")["centre"])
    assert cohort_centres <= set(loco["centre"].astype(str))
    est = pd.read_csv(tmp_path / "report" / "mr_estimates.csv")
    two = est[est["design"].str.startswith("two-sample")
              & (est["method"] == "Inverse variance weighted")].iloc[0]
    assert two["lower"] <= 0.3 <= two["upper"]  # data_sim's causal effect in the GWAS units


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
