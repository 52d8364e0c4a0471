"""The YAML configuration of ``radiogenomics run`` and ``radiogenomics init`` (fast: no analyses).

A bad configuration must stop before any computation with ONE line naming the file, the YAML
line, the key, the problem and the fix."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiogenomics.cli import main
from radiogenomics.workflow.config import (ConfigError, load_config, plan_from_config,
                                           run_config)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def data(tmp_path):
    """Tiny tables: two views, covariates with a centre column, outcomes."""
    g = np.random.default_rng(0)
    ids = pd.Index([f"P{i:02d}" for i in range(30)], name="sample_id")
    d = tmp_path / "d"
    d.mkdir()
    pd.DataFrame(g.normal(size=(30, 4)), ids, [f"r{i}" for i in range(4)]).to_csv(d / "rad.csv")
    pd.DataFrame(g.normal(size=(30, 5)), ids, [f"g{i}" for i in range(5)]).to_csv(d / "expr.csv")
    pd.DataFrame({"age": g.normal(60, 5, 30), "sex": ["F", "M"] * 15,
                  "centre": ["A", "B", "C"] * 10}, ids).to_csv(d / "covariates.csv")
    pd.DataFrame({"y": g.normal(size=30)}, ids).to_csv(d / "outcomes.csv")
    return tmp_path


GOOD = """\
title: test
seed: 1
permutations: 19
data:
  views:
    radiomics: d/rad.csv
    expression: d/expr.csv
  covariates: d/covariates.csv
  centre: centre
analyses:
  cohort: true
  association:
    pairs:
      - [radiomics, expression]
      - [expression, radiomics]
    permutations: 9
  cca:
    x: radiomics
    y: expression
    components: 2
"""


def _write(folder, text, name="config.yaml"):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def _error(folder, text) -> str:
    with pytest.raises(ConfigError) as exc:
        load_config(_write(folder, text))
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_good_config_loads_with_resolved_paths(data):
    cfg = load_config(_write(data, GOOD))
    assert cfg.data.views["radiomics"] == data / "d" / "rad.csv"
    assert cfg.output == data / "config_report"  # default: <stem>_report beside the file
    assert (cfg.seed, cfg.permutations, cfg.title) == (1, 19, "test")
    assert cfg.requested == ["cohort", "association", "cca"]


def test_plan_expands_association_pairs(data):
    plan = plan_from_config(load_config(_write(data, GOOD)))
    assert [s for s, _ in plan] == ["cohort", "association", "association", "cca"]
    a1, a2 = plan[1][1], plan[2][1]
    assert (a1.x, a1.y, a2.x, a2.y) == ("radiomics", "expression", "expression", "radiomics")
    assert a1.permutations == a2.permutations == 9        # the block's keys apply to each pair
    assert a1.detail and not a2.detail                     # only the first is detailed
    assert plan[3][1].components == 2 and plan[3][1].cv_folds == 10   # step defaults kept


def test_pair_options_and_detail_override(data):
    text = GOOD.replace("      - [expression, radiomics]\n",
                        "      - {x: expression, y: radiomics, detail: true, top: 5}\n")
    plan = plan_from_config(load_config(_write(data, text)))
    assert plan[2][1].detail and plan[2][1].top == 5


def test_no_analyses_runs_what_applies(data):
    text = GOOD.split("analyses:")[0]
    plan = plan_from_config(load_config(_write(data, text)))
    steps = [s for s, _ in plan]
    assert steps[:3] == ["cohort", "centre_effects", "association"]
    assert "mr" not in steps and "prediction" not in steps   # no outcomes, no exposure named
    centre = dict(plan)["centre_effects"]
    assert centre.views == ["radiomics", "expression"]       # every view of data.views


def test_survival_analysis_defaults_and_checks(data):
    """With time/event columns in the outcomes the default plan runs the survival step after
    prediction, whose default targets then leave those columns out; a survival block naming a
    column the outcomes lack, or without outcomes, is one line naming the key."""
    out = pd.read_csv(data / "d" / "outcomes.csv", index_col=0)
    out.assign(event_time=np.linspace(1, 5, 30), event=[0, 1] * 15).to_csv(
        data / "d" / "outcomes.csv")
    base = GOOD.split("analyses:")[0].replace("  centre: centre\n",
                                              "  centre: centre\n  outcomes: d/outcomes.csv\n")
    plan = plan_from_config(load_config(_write(data, base)))
    steps = [s for s, _ in plan]
    assert steps.index("survival") == steps.index("prediction") + 1
    opts = dict(plan)
    assert opts["prediction"].targets == {"outcomes": ["y"]}
    assert opts["survival"].x == ["radiomics"]          # radiomics present, modules absent
    only = data / "d" / "only_surv.csv"
    out.assign(event_time=np.linspace(1, 5, 30), event=[0, 1] * 15)[["event_time", "event"]] \
        .to_csv(only)
    steps = [s for s, _ in plan_from_config(load_config(_write(
        data, base.replace("d/outcomes.csv", "d/only_surv.csv"))))]
    assert "survival" in steps and "prediction" not in steps   # nothing else to predict
    msg = _error(data, base + "analyses:\n  survival:\n    event: evnt\n")
    assert re.search(r"line \d+: analyses\.survival\.event: event column 'evnt' is not a "
                     r"column of the outcomes \(did you mean 'event'\?\)", msg), msg
    msg = _error(data, GOOD + "  survival: true\n")
    assert "analyses.survival: needs data.outcomes" in msg
    msg = _error(data, base + "analyses:\n  survival:\n    x: [rad]\n")
    assert "analyses.survival.x[0]: 'rad' is not a view of data.views" in msg


@pytest.mark.parametrize("old, new, line, pattern", [
    # unknown key, with the closest valid one
    ("    components: 2", "    componets: 2", 20,
     r"analyses\.cca\.componets: unknown key \(did you mean 'components'\?\)"),
    ("seed: 1", "sede: 1", 2, r"sede: unknown key \(did you mean 'seed'\?\); allowed keys"),
    ("  centre: centre", "  center: centre", 9,
     r"data\.center: unknown key \(did you mean 'centre'\?\)"),
    ("  cca:", "  ccaa:", 17, r"analyses\.ccaa: unknown analysis \(did you mean 'cca'\?\)"),
    ("    permutations: 9", "    permutation: 9", 16,
     r"analyses\.association\.permutation: unknown key \(did you mean 'permutations'\?\)"),
    # wrong type
    ("seed: 1", "seed: one", 2, r"seed: got 'one'; it should be a valid integer"),
    ("    components: 2", "    components: three", 20,
     r"analyses\.cca\.components: got 'three'; it should be a valid integer"),
    ("permutations: 19", "permutations: -1", 3, r"permutations: got -1; it should be greater"),
    ("  centre: centre", "  centre: centre\n  nan_policy: drop", 10,
     r"data\.nan_policy: got 'drop'; it should be 'raise', 'drop_samples'"),
    ("  cohort: true", "  cohort: 3", 11, r"analyses\.cohort: must be true, false or a mapping"),
    # missing file: the key, the name given, where it was looked for
    ("d/expr.csv", "d/nope.csv", 7,
     r"data\.views\.expression: file 'd/nope\.csv' not found \(looked for '.*/d/nope\.csv'\); "
     "relative paths are relative to the configuration file"),
    ("d/covariates.csv", "d/cov.csv", 8, r"data\.covariates: file 'd/cov\.csv' not found"),
    # view names not under data.views
    ("      - [expression, radiomics]", "      - [expresion, radiomics]", 15,
     r"analyses\.association\.pairs\[1\]\.x: 'expresion' is not a view of data\.views "
     r"\(radiomics, expression\) \(did you mean 'expression'\?\)"),
    ("    y: expression", "    y: rna", 19, r"analyses\.cca\.y: 'rna' is not a view"),
    # columns read from the headers
    ("  centre: centre", "  centre: site", 9, r"data\.centre: 'site' names no column of "
     r"covariates \(age, sex, centre\)"),
])
def test_bad_config_is_one_line_with_line_and_key(data, old, new, line, pattern):
    assert old in GOOD
    msg = _error(data, GOOD.replace(old, new, 1))
    assert msg.startswith(f"{data / 'config.yaml'} line {line}: "), msg
    assert re.search(pattern, msg), msg


def test_more_bad_configs(data):
    views = "data:\n  views:\n    radiomics: d/rad.csv\n"
    assert "data: required key is missing" in _error(data, "seed: 0\n")
    assert "data.views: must map view names to files" in _error(data, "data:\n  views: x.csv\n")
    assert "bad view name 'my view'" in _error(data, views + "    my view: d/rad.csv\n")
    assert "reserved" in _error(data, views + "    outcomes: d/outcomes.csv\n")
    msg = _error(data, views + "analyses:\n  images: true\n")
    assert "line 5: analyses.images: runs only in `radiogenomics demo`" in msg
    msg = _error(data, views + "analyses:\n  mofa:\n    views: [radiomics, rna]\n")
    assert "line 6: analyses.mofa.views[1]: 'rna' is not a view" in msg
    msg = _error(data, views + "analyses:\n  mofa:\n    convergence: quick\n")
    assert "analyses.mofa.convergence: got 'quick'" in msg and "'fast'" in msg
    msg = _error(data, "seed: 0\nseed: 1\n" + views)
    assert "line 2: seed: duplicate key (first on line 1)" in msg
    msg = _error(data, "data: [unclosed\n")
    assert "not valid YAML" in msg and "line 2" in msg
    msg = _error(data, views + "  centre: centre\n")
    assert "data.centre: 'centre' names a covariates column but data.covariates is not given" \
        in msg


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist; write one with `radiogenomics init"):
        load_config(tmp_path / "absent.yaml")


def test_cli_run_bad_config_exit_2_one_line(data, capsys):
    path = _write(data, GOOD.replace("    components: 2", "    componets: 2"))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("radiogenomics run: error: ") and "line 20" in err
    assert not (data / "config_report").exists()   # nothing ran


def test_example_config_is_valid():
    """examples/config.yaml (the documented example) loads and expands as documented."""
    cfg = load_config(EXAMPLES / "config.yaml")
    steps = [s for s, _ in cfg.plan]
    assert steps == ["cohort", "centre_effects", "association", "association", "cca", "mofa",
                     "prediction", "mr"]
    mr = dict(cfg.plan)["mr"]
    assert mr.exposure_gwas == EXAMPLES / "example_data" / "gwas_exposure.csv"


def test_init_writes_a_config_that_loads(tmp_path, capsys):
    out = tmp_path / "study.yaml"
    assert main(["init", str(EXAMPLES / "example_data"), "--out", str(out)]) == 0    # README form
    text = out.read_text()
    assert text.count("#") > 20                                # commented
    cfg = load_config(out)
    assert set(cfg.data.views) == {"radiomics", "expression", "modules", "traits", "genotypes"}
    assert cfg.data.centre == "centre" and cfg.data.covariates.name == "covariates.csv"
    assert cfg.data.outcomes.name == "outcomes.csv"
    assert "allele dosages 0/1/2" in text and "sample ID column 'sample_id'" in text
    assert "ground_truth.txt: not a table of samples" in text  # left out, and said so
    pairs = [(o.x, o.y) for s, o in cfg.plan if s == "association"]
    assert pairs == [("radiomics", "expression"), ("traits", "modules")]
    assert "genotypes" not in dict(cfg.plan)["centre_effects"].views
    assert "wrote" in capsys.readouterr().out
    # refuses to overwrite without --force
    assert main(["init", "--data", str(EXAMPLES / "example_data"), "--out", str(out)]) == 2
    assert "exists; choose another --out or add --force" in capsys.readouterr().err
    assert main(["init", "--data", str(EXAMPLES / "example_data"), "--out", str(out),
                 "--force"]) == 0


def test_init_on_own_files_without_names_it_knows(data):
    """Generic names: the first two views are paired; the centre column is found."""
    out = data / "c.yaml"
    from radiogenomics.workflow.init import init_config

    init_config(data / "d", out)
    cfg = load_config(out)
    assert set(cfg.data.views) == {"rad", "expr"} and cfg.data.centre == "centre"
    assert [(o.x, o.y) for s, o in cfg.plan if s == "association"] == [("expr", "rad")]


def test_run_config_tiny(data):
    """One tiny run: the plan reaches the workflow and the report is written."""
    text = GOOD.replace("  cca:\n    x: radiomics\n    y: expression\n    components: 2\n", "")
    res = run_config(_write(data, text), out_dir=data / "out", progress=False)
    assert [s.record.step for s in res.steps] == ["cohort", "association:radiomics~expression",
                                                  "association:expression~radiomics"]
    assert all(s.ok for s in res.steps)
    assert (data / "out" / "report.html").exists()


def test_init_takes_the_folder_once(tmp_path, capsys):
    """`radiogenomics init DATA` (the README's and Makefile's form) or `--data DATA`; neither
    or both is one line, exit 2."""
    assert main(["init", "--out", str(tmp_path / "c.yaml")]) == 2
    assert main(["init", str(EXAMPLES / "example_data"), "--data",
                 str(EXAMPLES / "example_data"), "--out", str(tmp_path / "c.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("give the folder of your tables once" in e for e in err)
    assert not (tmp_path / "c.yaml").exists()


def test_mr_ld_panel_may_be_a_plink_prefix(data):
    """analyses.mr.ld_panel names a PLINK fileset by its prefix (panel for panel.bed/.bim/.fam)
    or by its .bed; a prefix with no .bed beside it is an error naming the path looked for."""
    for ext in ("bed", "bim", "fam"):
        (data / "d" / f"panel.{ext}").write_bytes(b"")
    base = GOOD.split("analyses:")[0] + "analyses:\n  mr:\n    exposure: g0\n    outcome: r0\n"
    for given in ("d/panel", "d/panel.bed"):
        cfg = load_config(_write(data, base + f"    ld_panel: {given}\n"))
        plan = dict(plan_from_config(cfg))
        assert str(plan["mr"].ld_panel) == str(data / given)
    msg = _error(data, base + "    ld_panel: d/nopanel\n")
    assert "analyses.mr.ld_panel" in msg and "not found" in msg
