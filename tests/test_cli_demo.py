"""The main job and the command line, run for real (small cohorts to keep CI fast)."""

from __future__ import annotations

import subprocess
import sys

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
    assert set(commands) == {"demo", "simulate", "summary", "associate"}
    for name in commands:
        assert name in out
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert "usage: radiogenomics " + name in capsys.readouterr().out


def test_demo_writes_report_tables_and_plots(tmp_path):
    res = run_demo(tmp_path, rng=3, n_samples=100, n_radiomic=40, n_genes=200)
    html = (tmp_path / "report.html").read_text()
    for section in ("1. Cohort", "2. Per-centre distributions", "3. Radiomics x expression",
                    "5. CCA: imaging traits", "6. From images", "7. Check against the ground truth"):
        assert section in html
    for png in ("cohort_overview.png", "centre_effects.png", "association_volcano.png",
                "phantoms.png", "association_image_volcano.png"):
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


def test_cli_demo_and_module_entry_point(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "radiogenomics", "demo", "--out", str(tmp_path / "d"), *SMALL],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Report written to" in proc.stdout and str(tmp_path / "d") in proc.stdout


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
    assert "NaN" in err and "nan_policy" in err
    assert main(["summary", "--view", f"radiomics={bad}", "--nan-policy", "drop_samples"]) == 0
    cov = tmp_path / "cov.csv"
    pd.DataFrame({"age": [50.0, 60.0]}, index=["s1", "s3"]).to_csv(cov)
    args = ["summary", "--view", f"radiomics={bad}", "--nan-policy", "drop_samples", "--covariates", str(cov)]
    assert main(args[:]) == 0  # s2 was dropped for its NaN, s1/s3 have covariates
    pd.DataFrame({"age": [50.0]}, index=["s1"]).to_csv(cov)
    assert main(args) == 2 and "missing_meta" in capsys.readouterr().err
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
